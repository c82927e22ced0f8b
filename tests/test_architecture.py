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


ROUTE_DECORATORS = {"get", "post", "put", "patch", "delete", "head", "options", "api_route"}
MAX_HANDLER_LINES = 25
"""A page handler parses, calls a service, renders: about a dozen lines, never a screenful."""


def _is_route(node: ast.FunctionDef | ast.AsyncFunctionDef) -> bool:
    for decorator in node.decorator_list:
        call = decorator.func if isinstance(decorator, ast.Call) else decorator
        if isinstance(call, ast.Attribute) and call.attr in ROUTE_DECORATORS:
            return True
    return False


def _functions(tree: ast.AST) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    return [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]


def test_page_handlers_are_module_level_routes_not_closures() -> None:
    nested, routes = [], 0
    for path in _modules("field_catalog_ui"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        top_level = {id(n) for n in tree.body}
        for outer in _functions(tree):
            if _is_route(outer):
                routes += 1
                if id(outer) not in top_level:
                    nested.append(f"{path.relative_to(REPO)}:{outer.lineno} {outer.name}")
            for inner in _functions(outer):
                if inner is not outer:
                    nested.append(
                        f"{path.relative_to(REPO)}:{inner.lineno} {inner.name} in {outer.name}"
                    )
    assert routes >= 20, f"only {routes} page routes found: did the decorators change?"
    assert not nested, "closures or nested routes in field_catalog_ui:\n" + "\n".join(nested)


def test_page_handlers_are_short() -> None:
    long = []
    for path in _modules("field_catalog_ui"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in _functions(tree):
            if _is_route(node):
                length = (node.end_lineno or node.lineno) - node.lineno + 1
                if length > MAX_HANDLER_LINES:
                    long.append(f"{path.relative_to(REPO)}:{node.lineno} {node.name} {length}")
    assert not long, "page handlers longer than a screenful:\n" + "\n".join(long)


def test_no_ui_dependency_bundle_remains() -> None:
    assert not (REPO / "field_catalog_ui" / "deps.py").exists()
    assert not (REPO / "archive_center" / "ui_mount.py").exists()
