"""Settings: defaults, a TOML file, and `FIELDCAT_*` variables over it."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from web.settings import Settings, load_settings


def test_defaults_put_sqlite_inside_the_root(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("FIELDCAT_CONFIG", raising=False)
    settings = Settings(root=tmp_path)
    assert settings.center_code == "JOSS"
    assert settings.campaign.code == "INDOEX"
    assert settings.effective_database_url == f"sqlite:///{tmp_path.resolve() / 'fieldcat.db'}"
    assert settings.public_url == "http://127.0.0.1:8000"


def test_toml_file_then_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "center.toml"
    config.write_text(
        f"""
center_code = "NPL"
center_name = "NPL New Delhi"
root = "{tmp_path / "npl"}"
port = 8101
public_url = "http://npl.example:8101/"

[campaign]
code = "INDOEX"
start = 1999-01-01
end = 1999-03-31

[[peers]]
code = "JOSS"
url = "http://127.0.0.1:8100"
""",
        encoding="utf-8",
    )
    monkeypatch.setenv("FIELDCAT_PORT", "9000")
    monkeypatch.setenv("FIELDCAT_CAMPAIGN__NAME", "Indian Ocean Experiment 1999")
    settings = load_settings(config)
    assert type(settings) is Settings
    assert settings.center_code == "NPL"
    assert settings.port == 9000
    assert settings.public_url == "http://npl.example:8101"
    assert settings.campaign.start == date(1999, 1, 1)
    assert settings.campaign.name == "Indian Ocean Experiment 1999"
    assert settings.peers[0].code == "JOSS"
    assert settings.root == tmp_path / "npl"


def test_config_named_by_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "c.toml"
    config.write_text('center_code = "LMD"\n', encoding="utf-8")
    monkeypatch.setenv("FIELDCAT_CONFIG", str(config))
    assert load_settings().center_code == "LMD"


def test_missing_config_file_is_an_error(tmp_path: Path) -> None:
    with pytest.raises(FileNotFoundError):
        load_settings(tmp_path / "absent.toml")
