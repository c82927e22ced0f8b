"""`fieldcat search`: query a center's catalog from the shell."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive_center.cli_base import fail
from catalog.sorting import SORT_KEYS
from web.links import API_PREFIX

if TYPE_CHECKING:
    import httpx
    from rich.table import Table

SEARCH_PATH = f"{API_PREFIX}/datasets"
TIMEOUT_S = 30.0


def build_query(bbox: str | None = None, **filters: str | int | None) -> dict[str, str]:
    """The query string of a search: only the filters that were given.

    The filters are read into the API's own `SearchParams` first (the one declaration of
    the search's parameters, `web.search_query`), so a wrong date or limit is reported here
    and every name sent is one the API takes. The box goes as given: the center parses it.
    """
    from pydantic import ValidationError

    from catalog.schemas import SearchParams
    from web.search_query import search_query

    try:
        params = SearchParams.model_validate({k: v for k, v in filters.items() if v is not None})
    except ValidationError as err:
        problems = "; ".join(f"--{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
        raise fail(problems) from err
    query = search_query(params)
    if bbox is not None:
        query["bbox"] = bbox
    return query


def problem_message(response: httpx.Response) -> str:
    """What an error answer says, from its RFC 9457 problem document when it has one."""
    try:
        problem = response.json()
    except ValueError:
        return f"HTTP {response.status_code}"
    if not isinstance(problem, dict):
        return f"HTTP {response.status_code}"
    parts = [str(problem.get("title") or f"HTTP {response.status_code}")]
    if problem.get("detail"):
        parts.append(str(problem["detail"]))
    for error in problem.get("errors") or []:
        if isinstance(error, dict):
            where = error.get("name") or error.get("loc") or error.get("pointer") or ""
            parts.append(f"{where}: {error.get('detail') or error.get('msg') or error}")
    return " - ".join(parts)


def fetch_page(center: str, query: dict[str, str]) -> dict[str, Any]:
    """GET the search page or raise a readable `typer.Exit`."""
    import httpx

    url = center.rstrip("/") + SEARCH_PATH
    try:
        response = httpx.get(url, params=query, timeout=TIMEOUT_S, follow_redirects=True)
    except httpx.InvalidURL as err:
        raise fail(f"not a usable center URL: {center!r}") from err
    except httpx.TransportError as err:
        raise fail(f"cannot reach {center}: {err.__class__.__name__}: {err}") from err
    if response.status_code >= 400:
        raise fail(f"{center} refused the search: {problem_message(response)}", code=1)
    try:
        page = response.json()
    except ValueError as err:
        raise fail(f"{center} did not answer with JSON; is it a FieldCat center?") from err
    if not isinstance(page, dict) or "items" not in page:
        raise fail(f"{center} answered something that is not a search page", code=1)
    return page


def _minute(value: Any) -> str:
    return str(value or "")[:16].replace("T", " ")


def _until(start: Any, stop: Any) -> str:
    """The stop time, without its date when that is the start's date."""
    first, last = _minute(start), _minute(stop)
    return last[11:] if first[:10] == last[:10] else last


def results_table(page: dict[str, Any], wide: bool = True) -> Table:
    """The page's datasets as a rich table (variables only when `wide`)."""
    from rich import box
    from rich.table import Table

    total = page.get("total")
    table = Table(
        title=f"{total if total is not None else len(page['items'])} datasets",
        title_justify="left",
        box=box.SIMPLE_HEAD,
        pad_edge=False,
    )
    for heading in ("id", "DID", "start (UTC)", "stop"):
        table.add_column(heading, no_wrap=True)
    table.add_column("platform", overflow="fold", min_width=8)
    table.add_column("PI", overflow="fold", min_width=10)
    if wide:
        table.add_column("variables", overflow="fold", min_width=12)
    table.add_column("access", no_wrap=True)
    table.add_column("center", no_wrap=True)
    for item in page["items"]:
        table.add_row(
            str(item.get("public_id", "")),
            str(item.get("did") or ""),
            _minute(item.get("start")),
            _until(item.get("start"), item.get("stop")),
            str(item.get("platform", "")),
            str(item.get("pi_name", "")),
            *([" ".join(item.get("variables") or [])] if wide else []),
            str(item.get("access_state", "")),
            str(item.get("origin_center", "")),
        )
    return table


def search_command(
    center: Annotated[str, typer.Option(help="Base URL of a center, e.g. http://127.0.0.1:8101")],
    q: Annotated[str | None, typer.Option("--q", help="Free text; every term must match.")] = None,
    start: Annotated[str | None, typer.Option(help="Overlapping from (ISO 8601, UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Overlapping until (ISO 8601, UTC).")] = None,
    bbox: Annotated[str | None, typer.Option(help="W,S,E,N in degrees.")] = None,
    platform: Annotated[str | None, typer.Option(help="Platform, e.g. C130.")] = None,
    instrument: Annotated[str | None, typer.Option(help="Instrument.")] = None,
    pi: Annotated[str | None, typer.Option(help="Principal investigator.")] = None,
    variable: Annotated[str | None, typer.Option(help="Variable name, e.g. O3.")] = None,
    project: Annotated[str | None, typer.Option(help="Project.")] = None,
    access: Annotated[
        str | None, typer.Option(help="Access state: open, embargoed, password...")
    ] = None,
    origin: Annotated[
        str | None, typer.Option("--origin", help="Only datasets of this center (code).")
    ] = None,
    sort: Annotated[str | None, typer.Option(help=f"Order: {', '.join(SORT_KEYS)}.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=1000, help="Results per page.")] = 50,
    cursor: Annotated[
        str | None, typer.Option(help="Next page: the cursor a search printed.")
    ] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the raw JSON page.")] = False,
) -> None:
    """Search a center's catalog and print the matching datasets."""
    from rich.console import Console

    query = build_query(
        q=q, start=start, end=end, bbox=bbox, platform=platform, instrument=instrument,
        pi=pi, variable=variable, project=project, center=origin, access=access, sort=sort,
        limit=limit, cursor=cursor,
    )  # fmt: skip
    page = fetch_page(center, query)
    if as_json:
        typer.echo(json.dumps(page, indent=2))
        return
    console = Console()
    if not console.is_terminal:  # piped: whole lines for grep and friends, not 80 columns
        console = Console(width=200)
    if not page["items"]:
        console.print("no datasets match")
        return
    console.print(results_table(page, wide=console.width >= 140))
    if page.get("next_cursor"):
        console.print(
            f"next page: --cursor {page['next_cursor']}",
            style="dim",
            highlight=False,
            soft_wrap=True,
        )
