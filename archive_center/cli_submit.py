"""`fieldcat submit FILE... --center URL`: upload files with a progress bar, print each report."""

from __future__ import annotations

import io
import os
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, BinaryIO

import typer

if TYPE_CHECKING:
    import httpx
    from rich.console import Console

TOKEN_ENV = "FIELDCAT_TOKEN"  # noqa: S105 - the name of a variable, not a secret
PASSWORD_ENV = "FIELDCAT_PASSWORD"  # noqa: S105


class ProgressReader(io.RawIOBase):
    """A file whose reads advance a progress callback (httpx streams it in chunks)."""

    def __init__(self, handle: BinaryIO, advance: Callable[[int], None]) -> None:
        super().__init__()
        self._handle = handle
        self._advance = advance

    def readable(self) -> bool:
        """Readable, always."""
        return True

    def read(self, size: int = -1) -> bytes:
        """Read and report how much was read."""
        data = self._handle.read(size)
        self._advance(len(data))
        return data

    def seekable(self) -> bool:
        """Seekable like the file underneath (httpx measures the length)."""
        return True

    def seek(self, offset: int, whence: int = 0) -> int:
        """Seek the file underneath."""
        return self._handle.seek(offset, whence)

    def tell(self) -> int:
        """Position in the file underneath."""
        return self._handle.tell()


def sign_in(client: httpx.Client, center: str, user: str, password: str) -> dict[str, str]:
    """Headers for a signed-in session (cookie kept by the client, CSRF token as a header)."""
    resp = client.post(
        f"{center}/api/v1/auth/session", json={"username": user, "password": password}
    )
    if resp.status_code != 200:
        raise typer.BadParameter(f"sign-in failed: {problem_detail(resp)}", param_hint="--user")
    return {"X-CSRF-Token": str(resp.json().get("csrf_token", ""))}


def problem_detail(resp: httpx.Response) -> str:
    """The problem document's detail, or the status line."""
    try:
        body = resp.json()
    except ValueError:
        return f"HTTP {resp.status_code}"
    return str(body.get("detail") or body.get("title") or f"HTTP {resp.status_code}")


def upload_one(
    client: httpx.Client, url: str, path: Path, fields: dict[str, str], headers: dict[str, str],
    console: Console,
) -> httpx.Response:  # fmt: skip
    """POST one file with a progress bar."""
    from rich.progress import (
        BarColumn,
        DownloadColumn,
        Progress,
        TextColumn,
        TransferSpeedColumn,
    )

    size = path.stat().st_size
    columns = (TextColumn("{task.description}"), BarColumn(), DownloadColumn(),
               TransferSpeedColumn())  # fmt: skip
    with Progress(*columns, console=console, transient=True) as progress, path.open("rb") as fh:
        task = progress.add_task(path.name, total=size)
        reader = ProgressReader(fh, lambda n: progress.advance(task, n))
        files: Any = {"file": (path.name, reader, "application/octet-stream")}
        return client.post(url, files=files, data=fields, headers=headers)


def print_result(console: Console, path: Path, resp: httpx.Response, as_json: bool) -> bool:
    """Print the answer for one file; whether it was accepted."""
    import json

    if resp.status_code in (200, 201, 422):
        body = resp.json()
        submission = body.get("submission", body)
        if as_json:
            console.print_json(json.dumps(submission))
        else:
            console.print(submission.get("report_text", "").rstrip(), highlight=False)
            if submission.get("duplicate"):
                console.print("(the same bytes were submitted before; nothing changed)")
        return resp.status_code in (200, 201)
    console.print(f"[bold red]{path.name}:[/] {problem_detail(resp)}", highlight=False)
    return False


def submit_command(
    files: Annotated[list[Path], typer.Argument(exists=True, dir_okay=False, readable=True)],
    center: Annotated[str, typer.Option(help="Base URL of the archive center.")],
    token: Annotated[
        str | None, typer.Option(help=f"API token (or {TOKEN_ENV}).", envvar=TOKEN_ENV)
    ] = None,
    user: Annotated[str | None, typer.Option(help="Sign in as this user instead.")] = None,
    campaign: Annotated[str | None, typer.Option(help="Campaign code.")] = None,
    category: Annotated[str | None, typer.Option(help="research or operational.")] = None,
    access: Annotated[str | None, typer.Option(help="open, embargoed or private.")] = None,
    release_at: Annotated[str | None, typer.Option(help="Embargo end (ISO 8601).")] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print the JSON reports.")] = False,
) -> None:
    """Upload files to a center; print each validation report. Exit 1 if any was rejected."""
    import httpx
    from rich.console import Console

    console = Console()
    center = center.rstrip("/")
    fields = {k: v for k, v in {"campaign": campaign, "category": category, "access": access,
              "release_at": release_at}.items() if v}  # fmt: skip
    all_ok = True
    with httpx.Client(timeout=httpx.Timeout(60.0, write=None)) as client:
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        if user and not token:
            password = os.environ.get(PASSWORD_ENV) or typer.prompt("password", hide_input=True)
            headers = sign_in(client, center, user, password)
        for path in files:
            try:
                resp = upload_one(client, f"{center}/api/v1/submissions", path, fields, headers,
                                  console)  # fmt: skip
            except httpx.HTTPError as err:
                console.print(f"[bold red]{path.name}:[/] cannot reach {center}: {err}")
                raise typer.Exit(2) from err
            all_ok = print_result(console, path, resp, as_json) and all_ok
    if not all_ok:
        raise typer.Exit(1)


def register(app: typer.Typer) -> None:
    """Add `fieldcat submit`."""
    app.command("submit")(submit_command)
