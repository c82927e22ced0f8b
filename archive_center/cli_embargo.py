"""`fieldcat embargo set|extend|lift|list`: staff manage release dates from the shell.

Each change needs `--reason`; it is audited (actor `cli:<login>`) and sent to the peers,
exactly as `PUT /api/v1/datasets/{id}/access` does. Ids are random and may begin with `-`:
write `--` before such an id (`fieldcat embargo lift --reason why -- -Xy...`).
"""

from __future__ import annotations

import getpass
from datetime import UTC, date, datetime, time
from typing import TYPE_CHECKING, Annotated

import typer

from archive_center.cli_base import ConfigOption, fail
from archive_center.cli_users import PasswordStdin, admin_session, read_password

if TYPE_CHECKING:
    from catalog.models import Dataset
    from catalog.schemas import Principal

Reason = Annotated[str, typer.Option("--reason", "-r", help="Why (kept in the audit log).")]
Until = Annotated[
    str | None,
    typer.Option(help="Release instant (UTC): YYYY-MM-DD or ISO 8601; default: the campaign's."),
]


def parse_until(value: str | None) -> datetime | None:
    """A release instant from the command line (a bare date means its midnight UTC)."""
    if value is None:
        return None
    try:
        if len(value) == 10:
            return datetime.combine(date.fromisoformat(value), time(0), tzinfo=UTC)
        parsed = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError as err:
        raise fail(f"not a date or ISO 8601 instant: {value!r}") from err
    return parsed.replace(tzinfo=UTC) if parsed.tzinfo is None else parsed.astimezone(UTC)


def _cli_actor() -> tuple[Principal, str]:
    from catalog.schemas import Principal, Role

    return Principal(username="cli", role=Role.ADMIN), f"cli:{getpass.getuser()}"


def _describe(dataset: Dataset) -> str:
    release = dataset.release_at.isoformat() if dataset.release_at else "-"
    return f"{dataset.public_id}\t{dataset.access_state}\t{release}\t{dataset.title}"


def set_command(
    public_id: str,
    reason: Reason,
    until: Until = None,
    password: Annotated[
        bool, typer.Option("--password", help="Password-protect instead of embargo.")
    ] = False,
    password_stdin: PasswordStdin = False,
    campaign: Annotated[
        bool, typer.Option("--campaign", help="Open to the campaign's PIs until the date.")
    ] = False,
    config: ConfigOption = None,
) -> None:
    """Embargo (or password-protect) a dataset until a date; open data may be re-embargoed."""
    from catalog.access import AccessState
    from catalog.access_admin import AccessRequest, change_access

    secret = read_password(password_stdin) if password or password_stdin else None
    if secret is not None and campaign:
        raise typer.BadParameter("choose --password or --campaign, not both")
    state = AccessState.PASSWORD if secret is not None else AccessState.EMBARGOED
    state = AccessState.CAMPAIGN if campaign else state
    request = AccessRequest(state, reason, parse_until(until), secret)
    actor, label = _cli_actor()
    with admin_session(config) as session:
        now = datetime.now(UTC)
        dataset = change_access(
            session, public_id, request, actor=actor, now=now, actor_label=label
        )
        typer.echo(_describe(dataset))


def extend_command(
    public_id: str,
    reason: Reason,
    until: Annotated[str, typer.Option(help="The new, later release instant (UTC).")],
    config: ConfigOption = None,
) -> None:
    """Move an embargo's release date later."""
    from catalog.access_admin import extend_embargo

    when = parse_until(until)
    assert when is not None
    actor, label = _cli_actor()
    with admin_session(config) as session:
        now = datetime.now(UTC)
        dataset = extend_embargo(
            session, public_id, when, reason=reason, actor=actor, now=now, actor_label=label
        )
        typer.echo(_describe(dataset))


def lift_command(public_id: str, reason: Reason, config: ConfigOption = None) -> None:
    """Lift an embargo or password now: the data open."""
    from catalog.access import AccessState
    from catalog.access_admin import AccessRequest, change_access

    actor, label = _cli_actor()
    with admin_session(config) as session:
        request = AccessRequest(AccessState.OPEN, reason)
        now = datetime.now(UTC)
        dataset = change_access(
            session, public_id, request, actor=actor, now=now, actor_label=label
        )
        typer.echo(_describe(dataset))


def list_command(config: ConfigOption = None) -> None:
    """List this center's datasets whose data are not open now, by release date."""
    from catalog.access_admin import list_restricted

    with admin_session(config) as session:
        for dataset in list_restricted(session, datetime.now(UTC)):
            typer.echo(_describe(dataset))


def register(app: typer.Typer) -> None:
    """Add `fieldcat embargo ...` to the CLI."""
    embargo = typer.Typer(help="Manage embargoes and release dates (audited, sent to peers).")
    embargo.command("set")(set_command)
    embargo.command("extend")(extend_command)
    embargo.command("lift")(lift_command)
    embargo.command("list")(list_command)
    app.add_typer(embargo, name="embargo")
