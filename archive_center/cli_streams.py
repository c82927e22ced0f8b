"""`fieldcat streams list|status|start|stop|restart NAME`: staff run a node's receivers.

The command writes staff's wish into the center's database (audited, actor `cli:<login>`);
the worker's supervisor polls the wishes a few times a second and acts, then writes what it
sees, which `status` prints. So the command works from any machine that reaches the
database, and needs no port of the node's own (docs/streams.md#control).
"""

from __future__ import annotations

import getpass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated

import typer

from archive_center.cli_base import ConfigOption, fail, load_config
from archive_center.cli_users import admin_session

if TYPE_CHECKING:
    from web.settings import Settings

Name = Annotated[str, typer.Argument(help="The receiver: a stream's name, ftp or watch.")]
Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the audit log).")]


def receiver_names(settings: Settings) -> list[str]:
    """The receivers a node with these settings runs (configured, enabled or not)."""
    from archive_center.receivers import FTP_RECEIVER, WATCH_RECEIVER

    names = [FTP_RECEIVER] if settings.submissions.ftp.enabled else []
    names += [WATCH_RECEIVER] if settings.submissions.watch.enabled else []
    return names + [stream.name for stream in settings.streams]


def checked_profiles(settings: Settings) -> None:
    """Check the instrument profiles and the streams naming them; exit 2 naming the fault."""
    from archive_center.receivers import load_center_profiles
    from formats.profiles import ProfileError

    try:
        load_center_profiles(settings)
    except ProfileError as err:
        raise fail(f"instrument profile: {err}") from err
    except (ValueError, OSError) as err:
        raise fail(str(err)) from err


def list_command(config: ConfigOption = None) -> None:
    """The configured receivers: name, kind, started at boot, profile and where."""
    settings = load_config(config)
    checked_profiles(settings)
    for name in receiver_names(settings)[: -len(settings.streams) or None]:
        typer.echo(f"{name}\t{name}\tyes\t-\t-")
    for stream in settings.streams:
        where = stream.device if stream.kind == "serial" else f"{stream.host}:{stream.port}"
        where = str(stream.folder or "-") if stream.kind == "folder" else where
        enabled = "yes" if stream.enabled else "no"
        typer.echo(f"{stream.name}\t{stream.kind}\t{enabled}\t{stream.profile}\t{where}")


def status_command(config: ConfigOption = None) -> None:
    """What the supervisor last saw: state, restarts, since when, detail."""
    from catalog.receiver_control import seen_all, wishes

    with admin_session(config) as session:
        wished = wishes(session)
        for seen in seen_all(session):
            wish = wished.get(seen.name)
            since = seen.started_at.isoformat() if seen.started_at else "-"
            wanted = wish.desired if wish else "configured"
            typer.echo(f"{seen.name}\t{seen.kind}\t{seen.state}\trestarts={seen.restarts}\t"
                       f"wanted={wanted}\tsince={since}\t{seen.detail}")  # fmt: skip


def _act(action: str, name: str, reason: str, config: ConfigOption) -> None:
    from catalog.receiver_control import control
    from catalog.schemas import Principal, Role

    settings = load_config(config)
    if name not in receiver_names(settings):
        known = ", ".join(receiver_names(settings)) or "none"
        raise fail(f"no receiver {name!r} on this node; known: {known}")
    actor = Principal(username="cli", role=Role.ADMIN)
    label = f"cli:{getpass.getuser()}"
    with admin_session(config) as session:
        now = datetime.now(UTC)
        wish = control(session, name, action, actor=actor, label=label, now=now, reason=reason)
    typer.echo(f"{name}: {wish.desired} (asked; the worker acts within a second)")


def start_command(name: Name, reason: Reason = "", config: ConfigOption = None) -> None:
    """Start a receiver (also one with enabled = false)."""
    _act("start", name, reason, config)


def stop_command(name: Name, reason: Reason = "", config: ConfigOption = None) -> None:
    """Stop a receiver; it stays stopped across restarts of the node until started."""
    _act("stop", name, reason, config)


def restart_command(name: Name, reason: Reason = "", config: ConfigOption = None) -> None:
    """Stop and start a receiver."""
    _act("restart", name, reason, config)


def register(app: typer.Typer) -> None:
    """Add `fieldcat streams ...` to the CLI."""
    streams = typer.Typer(help="Run a node's receivers: list, status, start, stop, restart.")
    streams.command("list")(list_command)
    streams.command("status")(status_command)
    streams.command("start")(start_command)
    streams.command("stop")(stop_command)
    streams.command("restart")(restart_command)
    app.add_typer(streams, name="streams")
