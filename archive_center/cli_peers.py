"""`fieldcat peers add|list|status|rotate-key|verify|disable|enable`: the federation's
administration."""

from __future__ import annotations

import json
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated, Any

import typer

from archive_center.cli_node import ConfigOption, fail, load_config, prepare

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

    from web.settings import Settings

peers_app = typer.Typer(help="Peer centers: keys, replication status, consistency.")
JsonOption = Annotated[bool, typer.Option("--json", help="Machine-readable output.")]


@contextmanager
def _session(settings: Settings) -> Iterator[Session]:
    from catalog.db import make_engine, make_session_factory

    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            yield session
    finally:
        engine.dispose()


def _ready(config: Any) -> Settings:
    settings = load_config(config)
    prepare(settings)
    return settings


def _print_key(code: str, key_id: str, secret: str, local: str, url: str) -> None:
    typer.echo(f"key id: {key_id}\nsecret: {secret}")
    typer.echo(
        f"give both to {code}'s administrator, who runs:\n"
        f"  fieldcat peers add {local} {url} --key-id {key_id} --secret <secret>"
    )


@peers_app.command("add")
def add_command(
    code: Annotated[str, typer.Argument(help="The peer center's code, e.g. NPL.")],
    url: Annotated[str, typer.Argument(help="The peer's base URL.")],
    name: Annotated[str, typer.Option(help="The peer's display name.")] = "",
    key_id: Annotated[str, typer.Option(help="Key id agreed with the peer.")] = "",
    secret: Annotated[str, typer.Option(help="Shared secret (generated when omitted).")] = "",
    config: ConfigOption = None,
) -> None:
    """Add (or update) a peer and a shared key; prints a generated secret once."""
    from federation.peers import add_key, ensure_peer

    settings = _ready(config)
    now = datetime.now(UTC)
    if not url.startswith(("http://", "https://")):
        raise fail("the URL must start with http:// or https://")
    with _session(settings) as session:
        ensure_peer(session, code, url, name, now)
        key = add_key(session, code, now, key_id=key_id or None, secret=secret or None)
    typer.echo(f"peer {key.peer_code} at {url.rstrip('/')}")
    if not secret:
        _print_key(key.peer_code, key.key_id, key.secret, settings.center_code, settings.public_url)
    else:
        typer.echo(f"key id: {key.key_id}")


@peers_app.command("list")
def list_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """The configured peers, their URLs and valid key ids (never the secrets)."""
    from federation.peers import list_peers, valid_keys

    settings = _ready(config)
    now = datetime.now(UTC)
    with _session(settings) as session:
        rows: list[dict[str, Any]] = [
            {
                "code": p.code, "name": p.name, "url": p.url, "enabled": p.enabled,
                "keys": [
                    {"key_id": k.key_id,
                     "expires_at": k.expires_at.isoformat() if k.expires_at else None}
                    for k in valid_keys(session, p.code, now)
                ],
            }
            for p in list_peers(session)
        ]  # fmt: skip
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for row in rows:
        keys = ", ".join(
            k["key_id"] + (f" (until {k['expires_at']})" if k["expires_at"] else "")
            for k in row["keys"]
        )
        state = "" if row["enabled"] else "  DISABLED"
        typer.echo(f"{row['code']:6} {row['url']:32} keys: {keys or 'none'}{state}")


def _switch(code: str, config: Any, enabled: bool) -> None:
    from federation.errors import UnknownPeerError
    from federation.peers import set_enabled

    settings = _ready(config)
    try:
        with _session(settings) as session:
            peer = set_enabled(session, code, enabled)
    except UnknownPeerError as err:
        raise fail(str(err), code=1) from err
    if enabled:
        typer.echo(f"peer {peer.code} enabled: pulled from and notified again")
    else:
        typer.echo(
            f"peer {peer.code} disabled: no longer pulled from or notified, and its requests "
            "are refused; records already mirrored stay (`fieldcat peers enable` resumes)"
        )


@peers_app.command("disable")
def disable_command(
    code: Annotated[str, typer.Argument(help="The peer center's code.")],
    config: ConfigOption = None,
) -> None:
    """Stop trusting a peer at once (a leaked key, a center leaving the campaign)."""
    _switch(code, config, enabled=False)


@peers_app.command("enable")
def enable_command(
    code: Annotated[str, typer.Argument(help="The peer center's code.")],
    config: ConfigOption = None,
) -> None:
    """Trust a disabled peer again, with the keys it had."""
    _switch(code, config, enabled=True)


@peers_app.command("status")
def status_command(config: ConfigOption = None, as_json: JsonOption = False) -> None:
    """Per peer: last seq applied, how far behind, last contact, last error."""
    from federation.status import federation_status

    settings = _ready(config)
    with _session(settings) as session:
        status = federation_status(session, settings.center_code)
    if as_json:
        typer.echo(status.model_dump_json(indent=2))
        return
    typer.echo(f"{status.center}: local log at seq {status.last_seq}")
    for p in status.peers:
        contact = p.last_contact.isoformat(timespec="seconds") if p.last_contact else "never"
        state = f"STALE: {p.last_error}" if p.stale else "ok"
        typer.echo(
            f"{p.code:6} applied {p.last_seq_applied} (behind {p.behind}), "
            f"{p.records} records, last contact {contact}, {state}"
        )


@peers_app.command("rotate-key")
def rotate_key_command(
    code: Annotated[str, typer.Argument(help="The peer center's code.")],
    key_id: Annotated[str, typer.Option(help="Key id of the new key.")] = "",
    secret: Annotated[str, typer.Option(help="New shared secret (generated when omitted).")] = "",
    grace_hours: Annotated[
        float, typer.Option(help="How long the old key(s) keep verifying.")
    ] = 24.0,
    retire_others: Annotated[
        bool, typer.Option("--retire-others", help="End every other key of the peer now.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Add a new key for a peer: it signs at once; old keys verify for the grace period."""
    from federation.errors import UnknownPeerError
    from federation.peers import add_key, retire_keys_except

    settings = _ready(config)
    now = datetime.now(UTC)
    try:
        with _session(settings) as session:
            key = add_key(
                session, code, now, key_id=key_id or None, secret=secret or None,
                grace=timedelta(hours=grace_hours),
            )  # fmt: skip
            ended = retire_keys_except(session, code, key.key_id, now) if retire_others else 0
    except UnknownPeerError as err:
        raise fail(str(err)) from err
    if secret:
        typer.echo(f"key id: {key.key_id}")
    else:
        _print_key(key.peer_code, key.key_id, key.secret, settings.center_code, settings.public_url)
    if ended:
        typer.echo(f"{ended} older key(s) ended now")


def register(app: typer.Typer) -> None:
    """Add `fieldcat peers ...` to the CLI."""
    from archive_center.cli_peers_verify import verify_command

    peers_app.command("verify")(verify_command)
    app.add_typer(peers_app, name="peers")
