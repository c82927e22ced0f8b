"""Commands that act on a center refuse to run without one (`--config` or FIELDCAT_CONFIG).

Before, `fieldcat users add alice` without `--config` quietly made `./fieldcat-data/`, a new
empty center in the current folder, and alice could sign in nowhere. Every command of the
tree is checked: those acting on a center refuse (exit 2, naming both ways, and the demo's
configurations when a `demo-data/` folder is near) before asking or touching anything.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
import typer
from typer.testing import CliRunner

from archive_center.cli import build_cli
from tests.archive_center.fieldcat_process import cli_env

# The commands that need no center: `init` makes one, `demo` makes its own, the others talk
# to a running center by URL or work on files only.
NO_CENTER = {"init", "demo", "validate", "convert", "search", "submit", "download"}


def _leaves(command: Any, path: list[str]) -> list[tuple[str, Any]]:
    subcommands = getattr(command, "commands", None)
    if not subcommands:
        return [(" ".join(path), command)]
    return [leaf for name, sub in subcommands.items() for leaf in _leaves(sub, [*path, name])]


LEAVES = dict(_leaves(typer.main.get_command(build_cli()), []))
NEEDS_CENTER = sorted(set(LEAVES) - NO_CENTER)


def _arguments(command: Any) -> list[str]:
    """Placeholder values for the command's required parameters (not `--config`)."""
    args: list[str] = []
    for param in command.params:
        if not param.required:
            continue
        value = "1" if param.type_descriptor.annotation is int else "x"
        args += [value] if param.param_type_name == "argument" else [param.opts[0], value]
    return args


def test_the_command_tree_is_split_as_expected() -> None:
    assert NO_CENTER <= set(LEAVES)
    assert {"serve", "worker", "users add", "embargo lift", "peers verify"} <= set(NEEDS_CENTER)
    for name in NEEDS_CENTER:
        assert "--config" in {o for p in LEAVES[name].params for o in p.opts}, name


@pytest.mark.parametrize("name", NEEDS_CENTER)
def test_a_command_acting_on_a_center_refuses_without_one(
    name: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    for key in ("FIELDCAT_CONFIG", "FIELDCAT_ROOT"):
        monkeypatch.delenv(key, raising=False)
    monkeypatch.chdir(tmp_path)
    args = [*name.split(), *_arguments(LEAVES[name])]
    result = CliRunner().invoke(build_cli(), args, input="secret-secret\nsecret-secret\n")
    assert result.exit_code == 2, f"{args}: {result.output}"
    assert "acts on a center" in result.output
    assert "--config" in result.output and "FIELDCAT_CONFIG" in result.output
    assert "Password" not in result.output  # refused before asking anything
    assert list(tmp_path.iterdir()) == []  # no ./fieldcat-data


@pytest.mark.parametrize("name", sorted(NO_CENTER - {"demo", "init"}))
def test_commands_without_a_center_do_not_ask_for_one(name: str) -> None:
    assert "--config" not in {o for p in LEAVES[name].params for o in p.opts}


def test_the_refusal_names_the_demos_centers_when_near(tmp_path: Path) -> None:
    """The reported case: `users add alice --role staff` run beside the demo's folder."""
    for code in ("JOSS", "LMD"):
        folder = tmp_path / "demo-data" / "centers" / code
        folder.mkdir(parents=True)
        (folder / "center.toml").write_text("")
    work = tmp_path / "notes"
    work.mkdir()
    result = subprocess.run(
        [sys.executable, "-m", "archive_center", "users", "add", "alice", "--role", "staff",
         "--password-stdin"],
        input="a-long-password\n", capture_output=True, text=True, cwd=work, env=cli_env(),
        timeout=60,
    )  # fmt: skip
    assert result.returncode == 2, result.stdout + result.stderr
    message = " ".join(result.stderr.split())
    assert "--config" in message and "FIELDCAT_CONFIG" in message
    assert "../demo-data/centers/JOSS/center.toml" in message
    assert "../demo-data/centers/LMD/center.toml" in message
    assert not (work / "fieldcat-data").exists()


def test_init_still_makes_a_center_without_a_config(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "archive_center", "init"],
        capture_output=True, text=True, cwd=tmp_path, env=cli_env(), timeout=120,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert (tmp_path / "fieldcat-data").is_dir()
