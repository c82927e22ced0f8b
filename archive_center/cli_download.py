"""`fieldcat download`: fetch the data of a list of ids, or of a search, from the shell."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from archive_center.cli_base import fail
from archive_center.cli_search import build_query, fetch_page
from archive_center.cli_submit import TOKEN_ENV
from archive_center.download_jobs import (
    MAX_PARALLEL,
    DataRequest,
    Fetched,
    Plan,
    curl_script,
    fetch_all,
    write_manifest,
)
from catalog.download_formats import DOWNLOAD_FORMATS

PAGE = 1000


def search_ids(center: str, filters: dict[str, str | None]) -> list[str]:
    """Every id a search matches, page after page (the center's cursor), each once."""
    query = build_query(limit=PAGE, facets="false", **filters)
    ids: dict[str, None] = {}
    while True:
        page = fetch_page(center, query)
        ids.update((str(item["public_id"]), None) for item in page["items"])
        if not page.get("next_cursor"):
            return list(ids)
        query["cursor"] = str(page["next_cursor"])


def _report(fetched: list[Fetched], manifest: Path) -> int:
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, highlight=False, soft_wrap=True)
    got = [f for f in fetched if f.status != "refused"]
    refused = [f for f in fetched if f.status == "refused"]
    size = sum(f.size for f in got)
    console.print(f"{len(got)} file(s), {size} bytes; manifest: {manifest}")
    if refused:
        console.print(f"[bold]{len(refused)} refused:[/]")
        for each in refused:
            console.print(f"  {each.public_id}: {escape(each.reason)}")
    return 1 if refused else 0


def download_command(
    ids: Annotated[
        list[str] | None, typer.Argument(help="Dataset ids; none: the search's.")
    ] = None,
    center: Annotated[str, typer.Option(help="Base URL of a center.")] = "",
    q: Annotated[str | None, typer.Option("--q", help="Search: free text.")] = None,
    start: Annotated[str | None, typer.Option(help="Search: overlapping from (UTC).")] = None,
    end: Annotated[str | None, typer.Option(help="Search: overlapping until (UTC).")] = None,
    bbox: Annotated[str | None, typer.Option(help="Search: W,S,E,N in degrees.")] = None,
    platform: Annotated[str | None, typer.Option(help="Search: platform.")] = None,
    instrument: Annotated[str | None, typer.Option(help="Search: instrument.")] = None,
    pi: Annotated[str | None, typer.Option(help="Search: principal investigator.")] = None,
    variable: Annotated[str | None, typer.Option(help="Search: variable name.")] = None,
    project: Annotated[str | None, typer.Option(help="Search: project.")] = None,
    origin: Annotated[str | None, typer.Option(help="Search: only this center's (code).")] = None,
    format: Annotated[
        str, typer.Option("--format", help=f"One of {', '.join(DOWNLOAD_FORMATS)}.")
    ] = "original",
    subset: Annotated[
        bool, typer.Option(help="Also cut each file to --start, --end and --bbox.")
    ] = False,
    variables: Annotated[
        str | None, typer.Option(help="Only these variables (comma-separated).")
    ] = None,
    out: Annotated[Path, typer.Option("--out", "-o", help="Folder to write into.")] = Path("."),
    parallel: Annotated[
        int, typer.Option(min=1, max=MAX_PARALLEL, help="Files fetched at once.")
    ] = 4,
    manifest: Annotated[
        Path | None,
        typer.Option(help="Manifest path, .json or .csv (default OUT/fieldcat-manifest.json)."),
    ] = None,
    token: Annotated[
        str | None, typer.Option(help=f"API token (or {TOKEN_ENV}).", envvar=TOKEN_ENV)
    ] = None,
    script: Annotated[
        bool, typer.Option("--script", help="Print an equivalent curl script instead.")
    ] = False,
) -> None:
    """Download the data of datasets, by id or by search: parallel, resumable, verified."""
    if format not in DOWNLOAD_FORMATS:
        raise fail(f"--format must be one of {', '.join(DOWNLOAD_FORMATS)}")
    filters = {
        "q": q, "start": start, "end": end, "bbox": bbox, "platform": platform,
        "instrument": instrument, "pi": pi, "variable": variable, "project": project,
        "center": origin,
    }  # fmt: skip
    chosen = list(dict.fromkeys(ids)) if ids else search_ids(center, filters)
    request = DataRequest(
        format=format, variables=variables,
        **({"start": start, "end": end, "bbox": bbox} if subset else {}),
    )  # fmt: skip
    if script:
        typer.echo(curl_script(center, chosen, request), nl=False)
        return
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    fetched = _with_progress(center, chosen, request, out, parallel, headers)
    path = manifest or out / "fieldcat-manifest.json"
    write_manifest(path, fetched)
    raise typer.Exit(_report(fetched, path))


def _with_progress(
    center: str,
    ids: list[str],
    request: DataRequest,
    out: Path,
    parallel: int,
    headers: dict[str, str],
) -> list[Fetched]:
    from rich.progress import BarColumn, DownloadColumn, Progress, TextColumn

    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn())
    with Progress(*columns, transient=True) as progress:
        files = progress.add_task(f"0/{len(ids)} files", total=len(ids))
        data = progress.add_task("bytes", total=None)
        done: list[Fetched] = []

        def finished(each: Fetched) -> None:
            done.append(each)
            progress.update(files, advance=1, description=f"{len(done)}/{len(ids)} files")

        plan = Plan(
            out, parallel,
            on_bytes=lambda n: progress.update(data, advance=n),
            on_done=finished,
        )  # fmt: skip
        return fetch_all(center, ids, request, plan, headers)


def register(app: typer.Typer) -> None:
    """Add `fieldcat download`."""
    app.command("download")(download_command)
