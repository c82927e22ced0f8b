"""`fieldcat demo`: generate the campaign, seed three centers, serve them until Ctrl-C."""

from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from archive_center.demo.campaign import CENTERS, DEFAULT_SEED, EMBARGOED
from archive_center.demo.launcher import (
    DemoError,
    DemoLayout,
    RunningCenter,
    center_url,
    check_ports_free,
    prepare_root,
    start_center,
    stop_all,
    wait_ready,
    write_configs,
    write_marker,
)

if TYPE_CHECKING:
    from rich.console import Console
    from rich.progress import Progress

logger = logging.getLogger(__name__)


def _progress(console: Console) -> Progress:
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn

    return Progress(
        TextColumn("{task.description}"), BarColumn(), MofNCompleteColumn(), console=console
    )


def generate_and_seed(layout: DemoLayout, seed: int, console: Console) -> None:
    """Write the campaign files, then initialise each center and submit its files to it."""
    from archive_center.cli_base import load_config, prepare
    from archive_center.demo.campaign import plan_campaign, write_campaign
    from archive_center.demo.seeding import seed_center

    progress = _progress(console)
    with progress:
        task = progress.add_task("generating the campaign", total=len(plan_campaign(seed)))
        written = write_campaign(
            layout.campaign_dir, seed, on_file=lambda _f: progress.advance(task)
        )
        data = [f for f in written if f.kind in ("data", "product")]  # products too
        seeding = progress.add_task("seeding the centers", total=len(data))
        for center in CENTERS:
            settings = load_config(layout.config_path(center.code))
            prepare(settings)
            files = [f.path for f in data if f.center == center.code]
            seed_center(
                settings, files, embargoed=EMBARGOED, on_file=lambda _p: progress.advance(seeding)
            )
    write_marker(layout, seed, seeded=True)


def ensure_users(layout: DemoLayout) -> None:
    """Each center's demo PI and staff user (a demo seeded by an older FieldCat has none)."""
    from datetime import UTC, datetime

    from archive_center.cli_base import load_config, prepare
    from archive_center.demo.seeding import ensure_demo_users
    from catalog.db import make_engine, make_session_factory

    for center in CENTERS:
        settings = load_config(layout.config_path(center.code))
        prepare(settings)
        engine = make_engine(settings.effective_database_url)
        try:
            with make_session_factory(engine)() as session, session.begin():
                ensure_demo_users(session, center.code, datetime.now(UTC))
        finally:
            engine.dispose()


def print_sign_in(console: Console, running: list[RunningCenter]) -> None:
    """The demo users of each center, with their password and where to sign in."""
    from archive_center.demo.seeding import DEMO_PASSWORD, demo_usernames

    console.print("\n[bold]Sign in[/] (each center's PI owns its datasets; staff manage them):")
    for center in running:
        pi, staff = demo_usernames(center.center.code)
        console.print(
            f"  sign in as {pi} / {DEMO_PASSWORD} (PI) or {staff} / {DEMO_PASSWORD} (staff): "
            f"{center.url}/signin",
            highlight=False,
        )


def drop_center_environment(console: Console) -> None:
    """Forget FIELDCAT_* variables: the demo configures its own centers, in-process and not."""
    ignored = sorted(key for key in os.environ if key.startswith("FIELDCAT_"))
    for key in ignored:
        del os.environ[key]
    if ignored:
        console.print(f"ignoring {', '.join(ignored)}: the demo configures its own centers")


def first_dataset(url: str, **filters: str) -> str | None:
    """The public id of the first dataset a center lists for `filters`, if any."""
    import httpx

    try:
        page = httpx.get(f"{url}/api/v1/datasets", params={**filters, "limit": "1"}).json()
        return str(page["items"][0]["public_id"])
    except (httpx.HTTPError, ValueError, KeyError, IndexError, TypeError):
        return None


def print_welcome(console: Console, layout: DemoLayout, running: list[RunningCenter]) -> None:
    """The three URLs and a few things to try."""
    console.print("\n[bold]Three FieldCat centers are running:[/]")
    for center in running:
        console.print(f"  {center.center.code:5} {center.center.name:20} {center.url}")
    print_sign_in(console, running)
    joss, lmd = running[0].url, running[-1].url
    api = "/api/v1/datasets"
    console.print("\n[bold]Try:[/]")
    console.print(f"  search:    {joss}{api}?platform=C130&bbox=65,0,80,15")
    console.print(f"  shell:     fieldcat search --center {joss} --variable O3")
    flight = first_dataset(joss, platform="C130") or "<id>"
    console.print(f"  download:  {joss}{api}/{flight}/data?format=netcdf&bbox=70,0,76,10")
    console.print(f"  plot:      {joss}{api}/{flight}/plot")
    embargoed = first_dataset(lmd, access="embargoed")
    if embargoed:
        console.print(f"  embargoed: {lmd}{api}/{embargoed} (metadata) vs {api}/{embargoed}/data")
    console.print(f"  API docs:  {joss}/docs")
    console.print(f"  products:  {layout.campaign_dir}/<CENTER>/*.png")
    console.print(
        "\nThe centers mirror each other: search any of them to find every shared dataset;"
        f"\nfederation status: {joss}/api/v1/federation/status"
        "\nPress Ctrl-C to stop all three."
    )


def run_until_stopped(running: list[RunningCenter]) -> None:
    """Sleep until a signal arrives; a center dying on its own is an error."""
    from archive_center.cli_base import check_stop

    while True:
        check_stop()
        for center in running:
            if center.process.poll() is not None:
                raise DemoError(
                    f"center {center.center.code} stopped unexpectedly "
                    f"(exit code {center.process.returncode})"
                )
        time.sleep(0.5)


def demo_command(
    root: Annotated[
        Path, typer.Option(help="Folder for the demo's data (reused if seeded).")
    ] = Path("demo-data"),
    base_port: Annotated[int, typer.Option(help="JOSS listens here, NPL +1, LMD +2.")] = 8101,
    host: Annotated[str, typer.Option(help="Loopback address to listen on.")] = "127.0.0.1",
    seed: Annotated[int, typer.Option(help="Seed of the synthetic campaign.")] = DEFAULT_SEED,
    fresh: Annotated[bool, typer.Option("--fresh", help="Regenerate even if seeded.")] = False,
) -> None:
    """Three centers on loopback with a synthetic INDOEX campaign; Ctrl-C stops all."""
    from rich.console import Console

    from archive_center.cli_base import StopRequested, fail, install_stop_handlers

    console = Console(soft_wrap=True)  # URLs stay whole, to be copied
    layout = DemoLayout(root)
    running: list[RunningCenter] = []
    install_stop_handlers()
    drop_center_environment(console)
    try:
        check_ports_free(host, [base_port + i for i in range(len(CENTERS))])
        reused = prepare_root(layout, seed, fresh)
        write_configs(layout, host, base_port)
        if reused:
            console.print(f"reusing the seeded demo in {root} (--fresh regenerates it)")
            ensure_users(layout)
        else:
            write_marker(layout, seed, seeded=False)
            generate_and_seed(layout, seed, console)
        for i, center in enumerate(CENTERS):
            running.append(start_center(layout, center, center_url(host, base_port + i)))
        with console.status("starting the centers"):
            wait_ready(layout, running)
        print_welcome(console, layout, running)
        run_until_stopped(running)
    except StopRequested:
        console.print("\nstopping the centers...")
    except DemoError as err:
        raise fail(str(err), code=1) from err
    finally:
        stop_all(running)
    console.print("all centers stopped")
