"""A center whose instrument profile is broken does not start, and says where: the file,
the key and its line; a stream naming no known profile is refused the same way."""

from __future__ import annotations

from pathlib import Path

from tests.archive_center.fieldcat_process import fieldcat

PROFILES = Path(__file__).resolve().parents[1] / "fixtures" / "profiles"


def _center(tmp_path: Path, profile: str) -> Path:
    profiles = tmp_path / "profiles"
    profiles.mkdir()
    text = (PROFILES / "campbell_met.toml").read_text("utf-8")
    (profiles / "met.toml").write_text(text.replace("did = 710", "did = -3"), encoding="utf-8")
    config = tmp_path / "center.toml"
    config.write_text(
        f'root = "{tmp_path / "root"}"\nprofiles_dir = "{profiles}"\n\n'
        f'[[streams]]\nname = "met"\nkind = "serial"\nprofile = "{profile}"\n'
        'device = "/dev/ttyS9"\n',
        encoding="utf-8",
    )
    return config


def test_serve_and_streams_list_name_the_profile_fault(tmp_path: Path) -> None:
    config = _center(tmp_path, "kco_cr1000_met")
    for args in (("streams", "list"), ("serve", "--port", "0")):
        done = fieldcat(*args, "--config", str(config))
        assert done.returncode == 2, done.stderr
        assert f"{tmp_path / 'profiles' / 'met.toml'}:16: header.did: must be a positive" in (
            done.stderr.replace("\n", "")
        )


def test_a_stream_naming_an_unknown_profile_is_refused(tmp_path: Path) -> None:
    config = _center(tmp_path, "no_such_profile")
    (tmp_path / "profiles" / "met.toml").write_text(
        (PROFILES / "campbell_met.toml").read_text("utf-8"), encoding="utf-8"
    )
    done = fieldcat("streams", "list", "--config", str(config))
    assert done.returncode == 2
    assert "stream met: no profile 'no_such_profile'; known: kco_cr1000_met" in done.stderr
