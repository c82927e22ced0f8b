"""`fieldcat peers verify PEER`: compare the records both centers hold, by content hash."""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime
from typing import Annotated, Any

import typer

from archive_center.cli_base import ConfigOption, fail, load_config, prepare


def compare_digests(
    here: dict[str, dict[str, Any]], there: dict[str, dict[str, Any]], peer: str, local: str
) -> dict[str, list[Any]]:
    """Differences between two record maps: differing content, and records one side lacks.

    Only records both sides should hold count as missing: the two centers' own records
    (a record of a third center may legitimately not have travelled yet via every path).
    """
    differ = [
        {"public_id": pid, "here": here[pid], "there": there[pid]}
        for pid in sorted(here.keys() & there.keys())
        if here[pid]["hash"] != there[pid]["hash"]
    ]
    ours = {local, peer}
    missing_here = sorted(
        pid for pid, rec in there.items() if pid not in here and rec["origin_center"] in ours
    )
    missing_there = sorted(
        pid for pid, rec in here.items() if pid not in there and rec["origin_center"] in ours
    )
    return {"differ": differ, "missing_here": missing_here, "missing_there": missing_there}


def _kind(record: dict[str, Any]) -> str:
    """A record's type before its id (a peer of an older release names none)."""
    return f"{record['record_type']} " if isinstance(record.get("record_type"), str) else ""


async def _remote_digests(credentials: Any) -> dict[str, dict[str, Any]]:
    import httpx

    from federation.client import PeerClient

    async with httpx.AsyncClient(timeout=120, trust_env=False) as http:
        return await PeerClient(http, credentials).digests()


def verify_command(
    code: Annotated[str, typer.Argument(help="The peer center's code.")],
    config: ConfigOption = None,
    as_json: Annotated[bool, typer.Option("--json", help="Machine-readable output.")] = False,
) -> None:
    """Compare the records this center and PEER both hold; exit 1 when they differ."""
    from catalog.db import make_engine, make_session_factory
    from federation.client import PeerCredentials
    from federation.errors import FederationError
    from federation.feed import record_digests
    from federation.peers import get_peer, signing_key
    from web.links import FEDERATION_API

    settings = load_config(config)
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            peer = get_peer(session, code)
            key = signing_key(session, peer.code, datetime.now(UTC))
            if key is None:
                raise fail(f"no valid key for {peer.code}; run `fieldcat peers rotate-key`")
            creds = PeerCredentials(settings.center_code, peer.code, peer.url, key.key_id,
                                    key.secret, FEDERATION_API)  # fmt: skip
            here = record_digests(session)
        there = asyncio.run(_remote_digests(creds))
    except FederationError as err:
        raise fail(str(err)) from err
    finally:
        engine.dispose()
    report = compare_digests(here, there, creds.peer_code, settings.center_code)
    both = len(here.keys() & there.keys())
    if as_json:
        typer.echo(json.dumps({"compared": both, **report}, indent=2))
    else:
        typer.echo(f"{both} records held by both compared")
        for item in report["differ"]:
            typer.echo(f"differs: {_kind(item['here'])}{item['public_id']} here "
                       f"v{item['here']['origin_version']} "
                       f"there v{item['there']['origin_version']}")  # fmt: skip
        for pid in report["missing_here"]:
            typer.echo(f"missing here: {_kind(there[pid])}{pid}")
        for pid in report["missing_there"]:
            typer.echo(f"missing at {creds.peer_code}: {_kind(here[pid])}{pid}")
    if any(report.values()):
        raise typer.Exit(1)
    if not as_json:
        typer.echo("consistent")
