"""Every module is parsed and no part imports what DESIGN.md forbids it."""

from __future__ import annotations

import ast
import re
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


# --- Import cycles -------------------------------------------------------------------------
# The rule: an edge A -> B exists when module A imports module B at run time anywhere in its
# text: at module level, inside `if`/`try`, and inside functions alike. A late import does not
# break a circle, it only hides it, so it counts. The one exception is a block under
# `if TYPE_CHECKING:`, which never runs. Late imports are kept only to keep heavy third-party
# libraries (NumPy, pandas, netCDF4, matplotlib, SQLAlchemy, FastAPI, httpx, rich) out of
# start-up; those libraries are not our modules, so they are never part of the graph and need
# no exemption. `from pkg import name` is an edge to `pkg.name` when that is a module, else to
# `pkg`; importing `pkg.mod` is not counted as importing `pkg/__init__` as well (Python runs
# the package's `__init__` first, but a package re-exporting its own modules would then be a
# circle with each of them).


def _module_names() -> dict[str, Path]:
    names: dict[str, Path] = {}
    for package in sorted(OURS):
        for path in _modules(package):
            parts = path.relative_to(REPO).with_suffix("").parts
            if parts[-1] == "__init__":
                parts = parts[:-1]
            names[".".join(parts)] = path
    return names


def _type_checking_nodes(tree: ast.AST) -> set[int]:
    hidden: set[int] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.If) and "TYPE_CHECKING" in ast.unparse(node.test):
            for child in node.body:
                hidden.update(id(inner) for inner in ast.walk(child))
    return hidden


def _targets(
    module: str, path: Path, node: ast.Import | ast.ImportFrom, known: set[str]
) -> set[str]:
    if isinstance(node, ast.Import):
        return {alias.name for alias in node.names} & known
    base = node.module or ""
    if node.level:
        package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
        package = package[: len(package) - (node.level - 1)]
        base = ".".join([*package, *([node.module] if node.module else [])])
    submodules = {f"{base}.{alias.name}" for alias in node.names} & known
    found = set(submodules)
    if len(submodules) < len(node.names):
        found.add(base)
    return found & known


def import_graph() -> dict[str, dict[str, int]]:
    """module -> {imported module: line of the first such import}, over all our modules."""
    names = _module_names()
    known = set(names)
    graph: dict[str, dict[str, int]] = {}
    for module, path in names.items():
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        hidden = _type_checking_nodes(tree)
        edges: dict[str, int] = {}
        for node in ast.walk(tree):
            if isinstance(node, ast.Import | ast.ImportFrom) and id(node) not in hidden:
                for target in _targets(module, path, node, known) - {module}:
                    edges.setdefault(target, node.lineno)
        graph[module] = edges
    return graph


def import_cycles(graph: dict[str, dict[str, int]]) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    on_stack: set[str] = set()
    cycles: list[list[str]] = []
    counter = 0
    for root in sorted(graph):
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    work.append((child, iter(sorted(graph[child]))))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    cycles.append(sorted(component))
    return cycles


def _describe(cycle: list[str], graph: dict[str, dict[str, int]]) -> str:
    edges = [
        f"  {a} -> {b} (line {graph[a][b]})" for a in cycle for b in sorted(graph[a]) if b in cycle
    ]
    return "circle of " + ", ".join(cycle) + ":\n" + "\n".join(edges)


def test_no_import_cycle_between_modules() -> None:
    graph = import_graph()
    cycles = import_cycles(graph)
    assert not cycles, "\n".join(_describe(c, graph) for c in cycles)


def test_the_cycle_check_finds_a_circle_through_a_late_import() -> None:
    # The same rule over a made-up graph: a function-level import closing a circle is found,
    # and so is a longer circle; a chain is not a circle.
    source = {
        "a": "import b\n",
        "b": "def f():\n    import a\n",
        "c": "from typing import TYPE_CHECKING\nif TYPE_CHECKING:\n    import a\n",
    }
    graph: dict[str, dict[str, int]] = {}
    for name, text in source.items():
        tree = ast.parse(text)
        hidden = _type_checking_nodes(tree)
        graph[name] = {
            alias.name: node.lineno
            for node in ast.walk(tree)
            if isinstance(node, ast.Import) and id(node) not in hidden
            for alias in node.names
        }
    assert import_cycles(graph) == [["a", "b"]]
    assert import_cycles({"x": {"y": 1}, "y": {"z": 1}, "z": {"x": 1}}) == [["x", "y", "z"]]
    assert import_cycles({"x": {"y": 1}, "y": {"z": 1}, "z": {}}) == []


# --- API paths -----------------------------------------------------------------------------
# The API prefix is written once, in `web/links.py`; the web/API layer (web, archive_center,
# field_catalog_ui and its templates) may spell paths, nothing beneath it may: catalog and
# submissions take the links from their caller, the federation client from the composition root.
API_LAYER = {"web", "archive_center", "field_catalog_ui"}


def test_no_api_path_literal_outside_the_web_layer() -> None:
    bad = []
    for package in sorted(OURS - API_LAYER):
        for path in _modules(package):
            tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
            for node in ast.walk(tree):
                if isinstance(node, ast.Constant) and isinstance(node.value, str):
                    if "/api/v1" in node.value:
                        bad.append(f"{path.relative_to(REPO)}:{node.lineno}")
    assert not bad, "'/api/v1' written outside the web layer:\n" + "\n".join(bad)


def test_api_links_name_routes_the_application_serves() -> None:
    import re

    from archive_center.app import create_app
    from web.links import API_LINKS, FEDERATION_API
    from web.settings import Settings

    app = create_app(Settings(center_code="ARCH", root=Path("/nonexistent-fieldcat-root")))
    # The OpenAPI document lists every API route (tests/archive_center checks it against the
    # routers), with `{name}` for each path parameter.
    patterns = [
        re.compile("^" + re.sub(r"\\\{[^/]+?\\\}", "[^/]+", re.escape(path)) + "$")
        for path in app.openapi()["paths"]
    ]
    paths = [
        API_LINKS.dataset("abc"),
        API_LINKS.dataset("abc", "data"),
        API_LINKS.dataset("abc", "plot"),
        API_LINKS.submission("abc"),
        API_LINKS.product(7, "file"),
        API_LINKS.product(7, "thumbnail"),
        f"{FEDERATION_API}/changes",
        f"{FEDERATION_API}/notify",
        f"{FEDERATION_API}/digests",
    ]
    unserved = [p for p in paths if not any(regex.match(p) for regex in patterns)]
    assert not unserved, unserved


# --- Queries live in catalog ---------------------------------------------------------------
SQL_BUILDERS = {"select", "insert", "update", "delete", "bindparam", "text", "Table"}


def test_federation_builds_no_sql_of_its_own() -> None:
    # Reads and writes of catalog tables go through catalog functions (`dataset_writes`,
    # `peer_records`, `changes`): federation decides, the catalog writes.
    bad = []
    for path in _modules("federation"):
        tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
        for node in ast.walk(tree):
            if isinstance(node, ast.ImportFrom) and (node.module or "").startswith("sqlalchemy"):
                used = {alias.name for alias in node.names} & SQL_BUILDERS
                bad += [f"{path.relative_to(REPO)}:{node.lineno} imports {n}" for n in used]
            elif isinstance(node, ast.Attribute) and node.attr in {"execute", "scalars", "get"}:
                if isinstance(node.value, ast.Name) and node.value.id == "session":
                    bad.append(f"{path.relative_to(REPO)}:{node.lineno} session.{node.attr}")
    assert not bad, "federation queries the catalog's tables itself:\n" + "\n".join(bad)


SHARED_REFERENCE = re.compile(r"""\.\./shared|["']shared["']\s*/|/\s*["']shared["']""")


def test_nothing_reads_outside_the_repository() -> None:
    """A clone with no shared folder beside it must pass: fixtures live under tests/fixtures."""
    files = [*REPO.glob("*.md"), REPO / "Makefile", REPO / ".ci" / "run"]
    for folder in (*sorted(OURS), "tests", "bench", "docs", "docker"):
        files += [p for p in (REPO / folder).rglob("*") if p.suffix in {".py", ".md", ".toml"}]
    found = [
        f"{path.relative_to(REPO)}:{number}"
        for path in files
        if path.is_file()
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1)
        if SHARED_REFERENCE.search(line) and path != Path(__file__).resolve()
    ]
    assert not found, "reads the shared folder beside the repository:\n" + "\n".join(found)


CLIENT = REPO / "client" / "fieldcat_client"
"""The Python client: its own distribution (client/pyproject.toml). It talks to a center over
HTTP only, so it imports none of the server's packages, and nothing of the server (the
`fieldcat download` command included) imports it: each can be installed without the other."""


def test_the_client_imports_no_server_package_and_none_imports_it() -> None:
    client_modules = sorted(CLIENT.rglob("*.py"))
    assert client_modules, "the client package is missing"
    bad = [f"{p.relative_to(REPO)} imports {n}" for p in client_modules for n in _imports(p) & OURS]
    bad += [
        f"{p.relative_to(REPO)} imports fieldcat_client"
        for pkg in OURS
        for p in _modules(pkg)
        if "fieldcat_client" in _imports(p)
    ]
    assert not bad, bad
    allowed = {"httpx", "pandas", "xarray", "fieldcat_client", "__future__"}
    stdlib = set(__import__("sys").stdlib_module_names)
    third = {n for p in client_modules for n in _imports(p)} - stdlib - allowed
    assert not third, f"the client depends on more than httpx (pandas, xarray extras): {third}"
