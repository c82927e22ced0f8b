"""The README stays true: its commands exist, its config loads, its API table is complete."""

from __future__ import annotations

import re
from pathlib import Path

from tests.archive_center.fieldcat_process import REPO, fieldcat


def test_every_command_the_readme_names_exists() -> None:
    readme = (REPO / "README.md").read_text(encoding="utf-8")
    named = set(re.findall(r"fieldcat ([a-z][a-z-]*)", readme))
    assert {"demo", "init", "serve", "worker", "search"} <= named
    for command in sorted(named):
        result = fieldcat(command, "--help")
        assert result.returncode == 0, f"README names `fieldcat {command}`: {result.stderr}"


def test_the_readme_config_example_loads(tmp_path: Path) -> None:
    from web.settings import load_settings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    block = re.search(r"```toml\n(.*?)```", readme, re.S)
    assert block is not None
    config = tmp_path / "center.toml"
    config.write_text(block.group(1), encoding="utf-8")
    settings = load_settings(config)
    assert settings.center_code == "JOSS"
    assert settings.campaign.intensive_end.isoformat() == "1999-03-31"


def test_the_readme_api_table_lists_every_route(tmp_path: Path) -> None:
    from archive_center.app import create_app
    from web.settings import Settings

    readme = (REPO / "README.md").read_text(encoding="utf-8")
    table = readme.split("## HTTP API", 1)[1]
    spec = create_app(Settings(root=tmp_path)).openapi()
    for path, operations in spec["paths"].items():
        shown = re.sub(r"\{[a-z_]+\}", "{id}", path.removeprefix("/api/v1"))
        for method in operations:
            assert f"{method.upper()} {shown}" in table, f"README misses {method.upper()} {path}"
