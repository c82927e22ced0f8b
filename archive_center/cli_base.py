"""What every `fieldcat` command module builds on: the `--config` option, loading the settings
and preparing the node with readable errors, clean stops on signals, and logging set-up.

Command modules import this module, never each other, so `cli_node` may register commands
from `cli_search` and `demo.command` while they use `fail` and `load_config` from here.
Libraries are imported inside the functions (rich, pydantic, SQLAlchemy, the app): `fieldcat
--help` and the small commands start without them.
"""

from __future__ import annotations

import logging
import os
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

if TYPE_CHECKING:
    from web.settings import Settings

CENTER_ENV = ("FIELDCAT_CONFIG", "FIELDCAT_ROOT")
"""Either names the center without `--config`: the file, or a center set up by environment
variables alone (the Docker image sets FIELDCAT_ROOT and the rest)."""


def demo_configs(start: Path) -> list[Path]:
    """The `center.toml` files of a `demo-data/` folder in `start` or one of its parents."""
    for folder in (start, *start.parents):
        found = sorted((folder / "demo-data" / "centers").glob("*/center.toml"))
        if found:
            return found
    return []


def no_center_message(start: Path) -> str:
    """Why a command refused to run without a center, and how to name one."""
    message = (
        "this command acts on a center: name its configuration with --config center.toml "
        "or the environment variable FIELDCAT_CONFIG (nothing is created in the current folder)"
    )
    configs = demo_configs(start)
    if configs:
        paths = ", ".join(str(os.path.relpath(p, start)) for p in configs)
        message += f"; the demo's centers: {paths}"
    return message


def require_center(value: Path | None) -> Path | None:
    """The `--config` callback: refuse (exit 2) when no center is named at all.

    Without it the settings would fall back to `./fieldcat-data/` and quietly make a new,
    empty center there (a user added to it could not sign in anywhere). Runs while the
    command line is parsed, so nothing is asked (a password) or touched before the refusal.
    `fieldcat init` (it makes centers) and `fieldcat demo` (its own) do not use it.
    """
    if value is None and not any(os.environ.get(name) for name in CENTER_ENV):
        raise fail(no_center_message(Path.cwd()))
    return value


ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Center configuration (TOML); FIELDCAT_CONFIG names it when omitted (required).",
        dir_okay=False,
        callback=require_center,
    ),
]
"""A command that acts on a center's database or storage: refuses without one."""
InitConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Center configuration (TOML); FIELDCAT_CONFIG names it when omitted "
        "(default: ./fieldcat-data).",
        dir_okay=False,
    ),
]
"""`fieldcat init` may make a center with the defaults in the current folder."""


class StopRequested(BaseException):
    """SIGINT or SIGTERM arrived: shut down cleanly.

    A BaseException, as KeyboardInterrupt is: it can be raised inside any code the main
    thread runs, and there an `except Exception` must not take it for that code's own
    failure (SQLAlchemy wrapped it in a StatementError when it landed in a statement's
    preparation, and the start reported "cannot prepare the database" with exit code 2)."""


_requested = threading.Event()
"""Set by the first SIGINT or SIGTERM, and never cleared: `check_stop` reads it."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    _requested.set()
    raise StopRequested(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Turn SIGINT and SIGTERM into `StopRequested` in the main thread.

    The exception interrupts whatever the main thread is doing, but Python drops an
    exception raised where it cannot propagate (a weakref callback or `__del__` the garbage
    collector runs at that moment: "Exception ignored in ..."). So the handler also records
    the request, and every loop that waits for a signal calls `check_stop`: a stop that was
    swallowed is still obeyed within one turn of the loop (a worker once ran on for 30 s
    after SIGTERM this way)."""
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)
    sys.unraisablehook = _unraisable


def _unraisable(unraisable: sys.UnraisableHookArgs) -> None:
    """A `StopRequested` Python had to drop is not an error to print (it is recorded, and
    `check_stop` obeys it); anything else goes to Python's own hook."""
    if isinstance(unraisable.exc_value, StopRequested):
        return
    sys.__unraisablehook__(unraisable)


def check_stop() -> None:
    """Raise `StopRequested` if a signal asked to stop (even if its exception was lost)."""
    if _requested.is_set():
        raise StopRequested("a stop signal arrived")


def fail(message: str, code: int = 2) -> typer.Exit:
    """Print a readable error (no traceback) and return the exit to raise."""
    from rich.console import Console
    from rich.markup import escape

    console = Console(stderr=True, soft_wrap=True, highlight=False)
    console.print(f"[bold red]error:[/] {escape(message)}")
    return typer.Exit(code)


def load_config(config: Path | None) -> Settings:
    """Settings from the file and the environment, or a readable error."""
    from pydantic import ValidationError

    from web.settings import load_settings

    try:
        return load_settings(config)
    except FileNotFoundError as err:
        raise fail(str(err)) from err
    except ValidationError as err:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc']) or 'file'}: {e['msg']}" for e in err.errors()
        )
        raise fail(f"invalid configuration: {problems}") from err
    except ValueError as err:  # a TOML syntax error
        raise fail(f"cannot read configuration {config}: {err}") from err


def prepare(settings: Settings) -> None:
    """Storage folders, database schema, local center and campaign; readable errors."""
    from sqlalchemy.exc import SQLAlchemyError

    from archive_center.app import prepare_node

    try:
        prepare_node(settings)
    except OSError as err:
        raise fail(f"cannot prepare storage under {settings.root}: {err}") from err
    except SQLAlchemyError as err:
        url = redacted(settings.effective_database_url)
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise fail(f"cannot prepare the database {url}: {reason}") from err


def redacted(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def configure_logging() -> None:
    """Logging for a long-running command: INFO lines with times on stderr."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
