"""`fieldcat users add|list|passwd|token|revoke-token|disable|enable|role`: user administration.

Passwords are read from a hidden prompt, or from standard input with `--password-stdin`
(one line), never from the command line where `ps` would show them.
"""

from __future__ import annotations

import sys
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Annotated

import typer

from archive_center.cli_base import ConfigOption, fail, load_config, prepare

if TYPE_CHECKING:
    from sqlalchemy.orm import Session

PasswordStdin = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from standard input.")
]


@contextmanager
def admin_session(config: ConfigOption) -> Iterator[Session]:
    """A committed-on-success database session of the configured node (migrated first)."""
    from catalog.db import make_engine, make_session_factory
    from catalog.errors import CatalogError

    settings = load_config(config)
    prepare(settings)
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            yield session
    except CatalogError as err:
        raise fail(str(err), code=1) from err
    finally:
        engine.dispose()


def read_password(from_stdin: bool, *, confirm: bool = True) -> str:
    """A new password from stdin or a hidden, confirmed prompt."""
    if from_stdin:
        return sys.stdin.readline().rstrip("\r\n")
    password: str = typer.prompt("Password", hide_input=True, confirmation_prompt=confirm)
    return password


def add_command(
    username: str,
    role: Annotated[str, typer.Option(help="pi, staff or admin.")] = "pi",
    display_name: Annotated[str | None, typer.Option(help="Name shown in the UI.")] = None,
    email: Annotated[str, typer.Option(help="Where the center's notices go.")] = "",
    password_stdin: PasswordStdin = False,
    config: ConfigOption = None,
) -> None:
    """Add a user with a password."""
    from catalog.schemas import Role
    from catalog.users import create_user

    if role not in ("pi", "staff", "admin"):
        raise fail("the role is pi, staff or admin")
    if email and ("@" not in email or any(c in email for c in " \r\n,;<>")):
        raise fail("the e-mail address is not valid")
    password = read_password(password_stdin)
    with admin_session(config) as session:
        user = create_user(
            session, username=username, password=password, role=Role(role),
            display_name=display_name,
        )  # fmt: skip
        user.email = email
        typer.echo(f"added {user.role} {user.username}")


def ensure_first_admin(config: ConfigOption, username: str | None, *, password_stdin: bool) -> None:
    """`fieldcat init --admin NAME`: add NAME as admin unless an active admin exists."""
    from catalog.schemas import Role
    from catalog.users import create_user, list_users

    with admin_session(config) as session:
        admins = [u.username for u in list_users(session) if u.role == "admin" and u.active]
        if admins:
            typer.echo(f"admin: {', '.join(admins)}")
            if username is not None and username not in admins:
                typer.echo(
                    f"not adding {username}: an admin exists; "
                    f"use `fieldcat users add {username} --role admin`"
                )
            return
        if username is None:
            typer.echo(
                "no admin yet: run `fieldcat init --admin NAME` "
                "(or `fieldcat users add NAME --role admin`)"
            )
            return
        password = read_password(password_stdin)
        user = create_user(session, username=username, password=password, role=Role.ADMIN)
        typer.echo(f"added admin {user.username}")


def list_command(config: ConfigOption = None) -> None:
    """List users: name, role, active, display name."""
    from catalog.users import list_users

    with admin_session(config) as session:
        for user in list_users(session):
            state = "active" if user.active else "disabled"
            typer.echo(f"{user.username}\t{user.role}\t{state}\t{user.display_name}")


def passwd_command(
    username: str, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """Set a user's password (ends their web sessions)."""
    from catalog.users import get_user, set_password

    password = read_password(password_stdin)
    with admin_session(config) as session:
        set_password(session, get_user(session, username), password)
        typer.echo(f"password of {username} changed")


def token_command(
    username: str,
    name: Annotated[str, typer.Option(help="What the token is for.")] = "cli",
    days: Annotated[int | None, typer.Option(help="Expires after this many days.")] = None,
    config: ConfigOption = None,
) -> None:
    """Issue an API token; it is printed once and stored only hashed."""
    from catalog.users import get_user, issue_api_token

    now = datetime.now(UTC)
    expires = now + timedelta(days=days) if days else None
    with admin_session(config) as session:
        user = get_user(session, username)
        token = issue_api_token(session, user, name=name, now=now, expires_at=expires)
    typer.echo(token)


def tokens_command(username: str, config: ConfigOption = None) -> None:
    """List a user's API tokens (id, name, created, expires, revoked)."""
    from catalog.users import get_user, list_api_tokens

    with admin_session(config) as session:
        for token in list_api_tokens(session, get_user(session, username)):
            expires = token.expires_at.isoformat() if token.expires_at else "never"
            flag = "revoked" if token.revoked else "valid"
            typer.echo(
                f"{token.id}\t{token.name}\t{token.created_at.isoformat()}\t{expires}\t{flag}"
            )


def revoke_token_command(username: str, token_id: int, config: ConfigOption = None) -> None:
    """Revoke one API token of a user."""
    from catalog.users import get_user, revoke_api_token

    with admin_session(config) as session:
        revoke_api_token(session, get_user(session, username), token_id)
        typer.echo(f"token {token_id} revoked")


def disable_command(username: str, config: ConfigOption = None) -> None:
    """Disable a user (their sessions end; tokens stop working)."""
    from catalog.users import get_user, set_active

    with admin_session(config) as session:
        set_active(session, get_user(session, username), False)
        typer.echo(f"{username} disabled")


def enable_command(username: str, config: ConfigOption = None) -> None:
    """Enable a disabled user."""
    from catalog.users import get_user, set_active

    with admin_session(config) as session:
        set_active(session, get_user(session, username), True)
        typer.echo(f"{username} enabled")


def form_password_command(
    form_key: str, password_stdin: PasswordStdin = False, config: ConfigOption = None
) -> None:
    """Set a status-report form's password (revokes the grants given with the old one)."""
    from catalog.grants import set_form_password

    password = read_password(password_stdin)
    with admin_session(config) as session:
        set_form_password(session, form_key, password, datetime.now(UTC))
        typer.echo(f"password of form {form_key} set")


def register(app: typer.Typer) -> None:
    """Add `fieldcat users ...` to the CLI."""
    users = typer.Typer(help="Manage users (PI, staff, admin) and their API tokens.")
    users.command("add")(add_command)
    users.command("list")(list_command)
    users.command("passwd")(passwd_command)
    users.command("token")(token_command)
    users.command("tokens")(tokens_command)
    users.command("revoke-token")(revoke_token_command)
    users.command("disable")(disable_command)
    users.command("enable")(enable_command)
    users.command("form-password")(form_password_command)
    app.add_typer(users, name="users")
