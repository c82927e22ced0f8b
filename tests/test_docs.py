"""The documentation stays true: its tables are checked against the code they describe.

Each table lives in one place in `docs/`; each test below reads one of them and the code's
own list (the app's route table, the command tree, the settings model, the diagnostic codes,
the problem table) and fails on a difference in either direction, naming what to add or
remove. The README's and the docs' commands and configuration examples are checked too.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from pydantic import BaseModel

from tests.conftest import REPO

DOCS = REPO / "docs"
README = REPO / "README.md"
METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
ROUTE_CELL = re.compile(rf"`((?:{'|'.join(METHODS)}) /\S*)`")
PARAM = re.compile(r"\{[^}]*\}")
CODE_SPAN = re.compile(r"`([^`]+)`")


def _read(name: str) -> str:
    return (DOCS / name).read_text(encoding="utf-8")


def _cells(line: str) -> list[str]:
    """The cells of one Markdown table row."""
    parts = re.split(r"(?<!\\)\|", line.strip().strip("|"))
    return [part.strip().replace("\\|", "|") for part in parts]


def _table(text: str, header: str) -> list[list[str]]:
    """The body rows of the table whose header row starts with `header` (exactly one)."""
    lines = text.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(header)]
    assert len(starts) == 1, f"expected one table headed {header!r}, found {len(starts)}"
    rows = []
    for line in lines[starts[0] + 2 :]:
        if not line.startswith("|"):
            break
        rows.append(_cells(line))
    assert rows, f"the table headed {header!r} is empty"
    return rows


def _route_key(text: str) -> str:
    """`METHOD /path` with every path parameter written `{}` (names differ: `{id}`)."""
    return PARAM.sub("{}", text)


# ---------------------------------------------------------------------------- routes


def _app_routes(tmp_path: Path) -> set[str]:
    """Every "METHOD /path" the node's app answers (HEAD aside: it follows GET)."""
    from fastapi import routing

    from archive_center.app import create_app
    from web.settings import Settings

    app = create_app(Settings(root=tmp_path))
    walk = getattr(routing, "iter_route_contexts", None)
    routes = list(walk(app.routes)) if walk is not None else list(app.routes)
    keys: set[str] = set()
    for route in routes:
        path = getattr(route, "path", None)
        for method in getattr(route, "methods", None) or ():
            if path is not None and method != "HEAD":
                keys.add(_route_key(f"{method} {path}"))
    assert {"GET /api/v1/datasets", "GET /datasets/{}"} <= keys, "the route walk found too few"
    return keys


def _documented_routes() -> list[str]:
    """The routes named in the first cell of the route tables of `docs/api.md`."""
    found = []
    for line in _read("api.md").splitlines():
        if line.startswith("|"):
            found += [_route_key(m) for m in ROUTE_CELL.findall(_cells(line)[0])]
    return found


def test_every_route_of_the_app_is_in_the_api_page(tmp_path: Path) -> None:
    missing = _app_routes(tmp_path) - set(_documented_routes())
    assert not missing, f"docs/api.md has no row for: {sorted(missing)}"


def test_the_api_page_names_only_real_routes_each_once(tmp_path: Path) -> None:
    documented = _documented_routes()
    stale = set(documented) - _app_routes(tmp_path)
    assert not stale, f"docs/api.md lists routes the app does not have: {sorted(stale)}"
    twice = sorted({key for key in documented if documented.count(key) > 1})
    assert not twice, f"docs/api.md lists these routes more than once: {twice}"


def test_the_problem_table_matches_the_error_table() -> None:
    from web.errors import ERROR_TABLE

    expected = {slug: status for _, status, slug in ERROR_TABLE}
    # Answered by the request-validation and unknown-parameter handlers of the same module.
    expected |= {"invalid-request": 422, "unknown-parameter": 400}
    rows = _table(_read("api.md"), "| slug | status |")
    documented = {row[0].strip("`"): int(row[1]) for row in rows}
    assert documented == expected


# ---------------------------------------------------------------------------- commands


def _command_tree() -> dict[str, set[str]]:
    """Each leaf command ("users add") and its long options, from the Typer app itself."""
    import typer

    from archive_center.cli import build_cli

    commands: dict[str, set[str]] = {}

    def walk(command: Any, path: list[str]) -> None:
        subcommands = getattr(command, "commands", None)
        if subcommands:
            for name, sub in subcommands.items():
                walk(sub, [*path, name])
            return
        options = {
            opt
            for param in command.params
            for opt in getattr(param, "opts", [])
            if opt.startswith("--") and getattr(param, "param_type_name", "") == "option"
        }
        commands[" ".join(path)] = options - {"--help"}

    walk(typer.main.get_command(build_cli()), [])
    assert {"demo", "init", "serve", "worker", "search", "peers add"} <= set(commands)
    return commands


def _documented_commands() -> dict[str, str]:
    """The first cell of each row of the command table of `docs/cli.md`, by command."""
    rows: dict[str, str] = {}
    for row in _table(_read("cli.md"), "| command | does |"):
        cell = row[0]
        words = cell.strip("`").split()
        assert words[0] == "fieldcat", f"a command row must start with `fieldcat`: {cell}"
        name = []
        for word in words[1:]:
            if not re.fullmatch(r"[a-z][a-z-]*", word):
                break
            name.append(word)
        key = " ".join(name)
        assert key not in rows, f"docs/cli.md lists `fieldcat {key}` twice"
        rows[key] = cell
    return rows


def test_every_command_is_in_the_cli_page_with_its_options() -> None:
    documented = _documented_commands()
    tree = _command_tree()
    missing = sorted(set(tree) - set(documented))
    assert not missing, f"docs/cli.md has no row for: {['fieldcat ' + m for m in missing]}"
    stale = sorted(set(documented) - set(tree))
    assert not stale, f"docs/cli.md lists commands that do not exist: {stale}"
    for name, options in tree.items():
        shown = set(re.findall(r"--[a-z][a-z-]*", documented[name]))
        # `--config` is on every administration command; the page says so once.
        lacking = sorted(options - shown - {"--config"})
        assert not lacking, f"docs/cli.md: `fieldcat {name}` lacks {lacking}"
        unknown = sorted(shown - options)
        assert not unknown, f"docs/cli.md: `fieldcat {name}` has no option {unknown}"


def _prose_files() -> list[Path]:
    return [README, REPO / "CONTRIBUTING.md", *sorted(DOCS.glob("*.md"))]


def test_every_command_the_readme_and_docs_name_exists() -> None:
    tree = _command_tree()
    groups = {name.split()[0] for name in tree if " " in name}
    bad = []
    for path in _prose_files():
        text = path.read_text(encoding="utf-8")
        for first, second in re.findall(r"\bfieldcat ([a-z][a-z-]*)(?: ([a-z][a-z-]*))?", text):
            if first in groups:
                ok = not second or f"{first} {second}" in tree
            else:
                ok = first in tree
            if not ok:
                bad.append(f"{path.name}: fieldcat {first} {second}".strip())
    assert not bad, f"named but not a command: {sorted(set(bad))}"


# ---------------------------------------------------------------------------- settings


def _setting_keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    from web.settings import PeerSettings

    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _setting_keys(annotation, f"{prefix}{name}.")
        elif name == "peers":
            yield from _setting_keys(PeerSettings, f"{prefix}peers[].")
        else:
            yield f"{prefix}{name}"


def test_the_configuration_table_names_every_key_and_only_those() -> None:
    from web.settings import Settings

    rows = _table(_read("operations.md"), "| key | default |")
    documented = [key for row in rows for key in CODE_SPAN.findall(row[0])]
    known = set(_setting_keys(Settings))
    assert not known - set(documented), f"undocumented keys: {sorted(known - set(documented))}"
    assert not set(documented) - known, f"no such keys: {sorted(set(documented) - known)}"
    assert len(documented) == len(set(documented)), "a key is documented twice"


def _unknown_keys(data: dict[str, Any], model: type[BaseModel], at: str = "") -> list[str]:
    from web.settings import PeerSettings

    bad = []
    for key, value in data.items():
        field = model.model_fields.get(key)
        if field is None:
            bad.append(at + key)
            continue
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            bad += _unknown_keys(value, annotation, f"{at}{key}.")
        elif key == "peers":
            for peer in value:
                bad += _unknown_keys(peer, PeerSettings, f"{at}peers[].")
    return bad


def _toml_blocks() -> list[tuple[str, str]]:
    blocks = []
    for path in _prose_files():
        text = path.read_text(encoding="utf-8")
        blocks += [(path.name, b) for b in re.findall(r"```toml\n(.*?)```", text, re.S)]
    return blocks


@pytest.mark.parametrize(("name", "block"), _toml_blocks(), ids=lambda v: v[:20])
def test_each_configuration_example_loads_and_names_known_keys(
    name: str, block: str, tmp_path: Path
) -> None:
    from web.settings import Settings, load_settings

    assert not _unknown_keys(tomllib.loads(block), Settings), f"{name}: unknown keys"
    config = tmp_path / "center.toml"
    config.write_text(block, encoding="utf-8")
    load_settings(config)  # types and values validate


def test_the_first_configuration_example_is_a_whole_center(tmp_path: Path) -> None:
    from web.settings import load_settings

    _, block = next(b for b in _toml_blocks() if b[0] == "operations.md")
    config = tmp_path / "center.toml"
    config.write_text(block, encoding="utf-8")
    settings = load_settings(config)
    assert settings.center_code == "JOSS"
    assert settings.campaign.intensive_end.isoformat() == "1999-03-31"


# ---------------------------------------------------------------------------- codes


@pytest.mark.parametrize("header", ["### Validator codes", "### Intake codes"])
def test_the_code_tables_are_the_code_word_for_word(header: str) -> None:
    from formats.diagnostics import CODES
    from submissions.reports import SUB_CODES

    expected = CODES if header.startswith("### Validator") else SUB_CODES
    section = _read("header-format.md").split(header, 1)[1].split("\n#", 1)[0]
    rows = _table(section, "| code | severity |")
    documented = {row[0].strip("`"): row[2] for row in rows}
    assert sorted(documented) == sorted(expected), "codes differ from the code's table"
    for code, text in expected.items():
        assert documented[code] == text, f"{code}: the page says {documented[code]!r}"
    assert {row[1] for row in rows} <= {"error", "warning", "error, warning"}


# ---------------------------------------------------------------------------- links


def test_the_readme_links_only_to_pages_that_exist() -> None:
    text = README.read_text(encoding="utf-8")
    links = re.findall(r"\]\((docs/[^)#\s]+)", text)
    assert links, "the README links into docs/"
    missing = [link for link in links if not (REPO / link).is_file()]
    assert not missing, f"README links to missing pages: {missing}"


def test_every_page_is_in_the_site_navigation() -> None:
    config = (REPO / "mkdocs.yml").read_text(encoding="utf-8")
    pages = {p.name for p in DOCS.glob("*.md")}
    listed = set(re.findall(r":\s*([\w-]+\.md)\s*$", config, re.M))
    assert pages == listed, f"pages not in mkdocs.yml's nav: {sorted(pages - listed)}"


def test_the_samples_readme_names_every_sample_file() -> None:
    """Each file under tests/fixtures/samples has its row (the real ones: where they are from)."""
    from tests.conftest import SAMPLES

    text = (SAMPLES / "README.md").read_text(encoding="utf-8")
    named = {
        row[0]
        for line in text.splitlines()
        if line.startswith("| ") and not line.startswith("| file")
        for row in [_cells(line)]
    }
    files = {p.name for p in SAMPLES.glob("*/*") if p.is_file()}
    assert files == named, f"samples README differs: {sorted(files ^ named)}"
    real_rows = _table(text.split("## real/", 1)[1], "| file | format | from |")
    assert all(row[2] for row in real_rows), "every real sample says where it comes from"
