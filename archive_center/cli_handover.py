"""`fieldcat handover --to CENTER`: a closing center hands every record it originated over."""

from __future__ import annotations

import asyncio
import time
from datetime import UTC, datetime
from typing import Annotated

import typer

from archive_center.cli_base import ConfigOption, fail, load_config, prepare


def handover_command(
    to: Annotated[str, typer.Option("--to", help="The center taking the records over.")],
    wait: Annotated[
        float, typer.Option(help="Seconds to wait for the other center to finish (0: do not).")
    ] = 0.0,
    config: ConfigOption = None,
) -> None:
    """Hand every record this center originated (data, products, reports) over to a peer.

    The peer must have agreed (`federation.accept_handover_from`) and share a valid key with
    this center; it then pulls and verifies everything, and becomes the records' origin.
    Running it again is safe: it resumes.
    """
    from catalog.audit import record_event
    from catalog.db import make_engine, make_session_factory
    from catalog.handover import DONE, find_handover, offer_handover
    from catalog.schemas import Principal, Role
    from federation.errors import FederationError
    from federation.handover import credentials_for, offer
    from web.links import FEDERATION_API

    settings = load_config(config)
    prepare(settings)
    target, local, now = to.upper(), settings.center_code, datetime.now(UTC)
    if target == local:
        raise fail("a center cannot hand its records over to itself")
    engine = make_engine(settings.effective_database_url)
    factory = make_session_factory(engine)
    try:
        with factory() as session, session.begin():
            creds = credentials_for(session, local, target, FEDERATION_API, now)
            offer_handover(session, local, target, now)
            record_event(
                session, actor=Principal(role=Role.ADMIN), action="center.handover-offer",
                now=now, reason=f"every record of {local} offered to {target}",
                actor_label="cli",
            )  # fmt: skip
        answer = asyncio.run(offer(creds, settings.federation.timeout_s))
        typer.echo(f"{target} accepted the hand-over ({answer.get('state')}); it pulls now")
        deadline = time.monotonic() + wait
        while wait and time.monotonic() < deadline:
            with factory() as session:
                job = find_handover(session, local, target)
                if job is not None and job.state == DONE:
                    typer.echo(f"done: {job.records} record(s) now held at {target}")
                    return
            time.sleep(0.5)
        if wait:
            raise fail(f"{target} has not finished yet; run this again to see", code=1)
    except FederationError as err:
        raise fail(str(err), code=1) from err
    finally:
        engine.dispose()


def register(app: typer.Typer) -> None:
    """Add `fieldcat handover` to the CLI."""
    app.command("handover")(handover_command)
