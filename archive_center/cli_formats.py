"""`fieldcat validate` and `fieldcat convert`: the formats package on the command line."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Annotated

import typer

from formats.registry import WRITER_FORMATS

logger = logging.getLogger(__name__)

_YEAR_HELP = "Campaign year, for times written without a year (MMDDHHMMSS) or with two digits."
_TO_HELP = f"{', '.join(WRITER_FORMATS[:-1])} or {WRITER_FORMATS[-1]}."


def _campaign(year: int | None) -> object:
    from formats import CampaignTime

    return CampaignTime(year=year) if year is not None else None


def validate_command(
    files: Annotated[list[Path], typer.Argument(help="Data files to check.")],
    year: Annotated[int | None, typer.Option("--year", help=_YEAR_HELP)] = None,
    as_json: Annotated[bool, typer.Option("--json", help="Print a JSON report.")] = False,
) -> None:
    """Check data files; print findings; exit 0 when every file is valid, 1 otherwise."""
    from formats import FormatError, validate
    from formats.diagnostics import render_json, render_text

    campaign = _campaign(year)
    all_valid = True
    reports = []
    for path in files:
        try:
            report = validate(path, campaign=campaign)  # type: ignore[arg-type]
        except FormatError as err:
            all_valid = False
            if as_json:
                reports.append({"path": str(path), "valid": False, "error": str(err)})
            else:
                typer.echo(f"{path}:0:0: error FMT003: {err}", err=True)
            continue
        all_valid &= report.valid
        if as_json:
            item = render_json(report.diagnostics, str(path))
            item["format"] = report.format
            reports.append(item)
            continue
        if report.diagnostics:
            typer.echo(render_text(report.diagnostics, str(path)))
        verdict = "valid" if report.valid else "INVALID"
        typer.echo(f"{path}: {verdict} ({report.format or 'unknown format'})")
    if as_json:
        typer.echo(json.dumps(reports if len(reports) != 1 else reports[0], indent=2))
    raise typer.Exit(0 if all_valid else 1)


def convert_command(
    file: Annotated[Path, typer.Argument(help="Data file to convert.")],
    to: Annotated[str, typer.Option("--to", help=_TO_HELP)],
    out: Annotated[Path | None, typer.Option("-o", "--out", help="Output file.")] = None,
    year: Annotated[int | None, typer.Option("--year", help=_YEAR_HELP)] = None,
) -> None:
    """Convert one data file to another format, written atomically."""
    from formats import WRITER_FORMATS, FormatError, InvalidFileError, read, write, writer_info
    from formats.diagnostics import render_text

    if to not in WRITER_FORMATS:
        typer.echo(f"error: --to must be one of {', '.join(WRITER_FORMATS)}", err=True)
        raise typer.Exit(2)
    target = out if out is not None else file.with_suffix(writer_info(to).extension)
    if target.resolve() == file.resolve():
        typer.echo(f"error: {target} is the input file; choose another name with -o", err=True)
        raise typer.Exit(2)
    try:
        datafile = read(file, campaign=_campaign(year))  # type: ignore[arg-type]
        write(datafile, to, target)
    except InvalidFileError as err:
        typer.echo(render_text(err.diagnostics, str(file)), err=True)
        typer.echo(f"{file}: INVALID, not converted", err=True)
        raise typer.Exit(1) from None
    except FormatError as err:
        typer.echo(f"error: {file}: {err}", err=True)
        raise typer.Exit(1) from None
    except OSError as err:
        typer.echo(f"error: cannot write {target}: {err.strerror}", err=True)
        raise typer.Exit(1) from None
    typer.echo(f"{file} -> {target} ({to})")


def register(app: typer.Typer) -> None:
    """Add the format commands to the CLI."""
    app.command("validate")(validate_command)
    app.command("convert")(convert_command)
