"""Every module is parsed and no part imports what DESIGN.md forbids it."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parent.parent
OURS = {
    "formats",
    "catalog",
    "submissions",
    "federation",
    "web",
    "archive_center",
    "field_catalog_ui",
}
ALLOWED: dict[str, set[str]] = {
    "formats": set(),
    "catalog": {"formats"},
    "submissions": {"formats", "catalog"},
    "federation": {"catalog"},
    # The HTTP toolkit beneath the API and the pages: it renders every domain error.
    "web": {"formats", "catalog", "submissions", "federation"},
    "field_catalog_ui": {"web", "catalog", "submissions", "federation", "formats"},
    "archive_center": OURS - {"archive_center"},
}
WEB_FRAMEWORKS = {"fastapi", "starlette", "uvicorn", "jinja2"}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name.split(".")[0] for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            found.add(node.module.split(".")[0])
    return found


def _modules(package: str) -> list[Path]:
    return sorted((REPO / package).rglob("*.py"))


@pytest.mark.parametrize("package", sorted(ALLOWED))
def test_package_imports_only_what_design_allows(package: str) -> None:
    bad = []
    for path in _modules(package):
        for name in _imports(path) & OURS - {package} - ALLOWED[package]:
            bad.append(f"{path.relative_to(REPO)} imports {name}")
    assert not bad, "forbidden imports:\n" + "\n".join(bad)


def test_formats_imports_no_web_framework() -> None:
    bad = [
        f"{p.relative_to(REPO)} imports {n}"
        for p in _modules("formats")
        for n in _imports(p) & WEB_FRAMEWORKS
    ]
    assert not bad, bad


def test_nothing_imports_the_composition_root() -> None:
    bad = [
        f"{p.relative_to(REPO)}"
        for pkg in OURS - {"archive_center"}
        for p in _modules(pkg)
        if "archive_center" in _imports(p)
    ]
    assert not bad, bad


def test_importing_formats_stays_cheap() -> None:
    import subprocess
    import sys

    code = (
        "import sys, formats, formats.model; "
        "print(sorted(m for m in ('pandas', 'netCDF4', 'matplotlib') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, cwd=REPO, check=True
    )
    assert out.stdout.strip() == "[]", out.stdout
