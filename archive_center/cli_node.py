"""`fieldcat init`, `serve`, `worker`, `search` and `demo`: the node's commands."""

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

logger = logging.getLogger(__name__)

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        "-c",
        help="Center configuration (TOML); FIELDCAT_CONFIG names it when omitted.",
        dir_okay=False,
    ),
]


WORKER_GRACE_S = 5.0
"""How long a stopping process waits for the worker to finish the item it is on."""


class StopRequested(Exception):
    """SIGINT or SIGTERM arrived: shut down cleanly."""


def _raise_stop(signum: int, frame: FrameType | None) -> None:
    raise StopRequested(signal.Signals(signum).name)


def install_stop_handlers() -> None:
    """Turn SIGINT and SIGTERM into `StopRequested` in the main thread."""
    signal.signal(signal.SIGINT, _raise_stop)
    signal.signal(signal.SIGTERM, _raise_stop)


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
        url = _redacted(settings.effective_database_url)
        reason = str(getattr(err, "orig", None) or err).strip().splitlines()[0]
        raise fail(f"cannot prepare the database {url}: {reason}") from err


def init_command(
    config: ConfigOption = None,
    admin: Annotated[
        str | None,
        typer.Option(help="Create this first admin (asks for a password) if no admin exists."),
    ] = None,
    password_stdin: Annotated[
        bool, typer.Option("--password-stdin", help="Read the admin's password from stdin.")
    ] = False,
) -> None:
    """Create or migrate the database and the storage folders, and the first admin.

    Safe to run again: the schema is upgraded, missing folders made, and `--admin` does
    nothing once any admin exists.
    """
    from archive_center.cli_users import ensure_first_admin

    settings = load_config(config)
    prepare(settings)
    typer.echo(
        f"center {settings.center_code} ready: storage {settings.root.resolve()}, "
        f"database {_redacted(settings.effective_database_url)}"
    )
    ensure_first_admin(config, admin, password_stdin=password_stdin)


def _redacted(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


def join_worker(thread: threading.Thread | None) -> None:
    """Give the worker a moment to finish its item; a daemon thread left busy dies with us.

    Each derived file is made in its own transaction and written atomically, so an item cut
    short leaves nothing half done: it is rolled back and made again on the next start.
    """
    if thread is None:
        return
    thread.join(timeout=WORKER_GRACE_S)
    if thread.is_alive():
        logger.warning("worker still busy after %.0f s; stopping without it", WORKER_GRACE_S)


def start_worker_thread(settings: Settings, stop: threading.Event) -> threading.Thread:
    """The background worker in a daemon thread that ends when `stop` is set."""
    from archive_center.worker import run_worker

    thread = threading.Thread(
        target=run_worker, args=(settings, stop), name="fieldcat-worker", daemon=True
    )
    thread.start()
    return thread


def serve_command(
    config: ConfigOption = None,
    host: Annotated[str | None, typer.Option(help="Address to listen on.")] = None,
    port: Annotated[int | None, typer.Option(help="Port to listen on.")] = None,
    no_worker: Annotated[
        bool, typer.Option("--no-worker", help="Run the API only (a separate worker runs).")
    ] = False,
) -> None:
    """Run one node: the HTTP API and, unless --no-worker, the background worker."""
    import uvicorn

    from archive_center.app import create_app

    install_stop_handlers()  # from the start, so an early Ctrl-C is no traceback either
    # The options win over file and environment, and a public URL derived from host and
    # port follows them: the same path as a FIELDCAT_* variable.
    if host is not None:
        os.environ["FIELDCAT_HOST"] = host
    if port is not None:
        os.environ["FIELDCAT_PORT"] = str(port)
    from archive_center.listeners import PublicListener, start_public_listener

    stop = threading.Event()
    worker: threading.Thread | None = None
    public: PublicListener | None = None
    try:
        settings = load_config(config)
        configure_logging()
        prepare(settings)
        worker = None if no_worker else start_worker_thread(settings, stop)
        public = start_public_listener(settings)
        app = create_app(settings)
        config_ = uvicorn.Config(app, host=settings.host, port=settings.port, log_config=None)
        uvicorn.Server(config_).run()  # re-raises the signal it caught once it has shut down
    except (StopRequested, KeyboardInterrupt):
        pass
    finally:
        stop.set()
        if public is not None:
            public.stop()
        join_worker(worker)
    logger.info("stopped")


def worker_command(config: ConfigOption = None) -> None:
    """Run the background worker alone (beside `serve --no-worker` processes)."""
    install_stop_handlers()
    stop = threading.Event()
    thread: threading.Thread | None = None
    asked_to_stop = False
    try:
        settings = load_config(config)
        configure_logging()
        prepare(settings)
        thread = start_worker_thread(settings, stop)
        while thread.is_alive():
            thread.join(timeout=0.5)
    except (StopRequested, KeyboardInterrupt):
        asked_to_stop = True
    finally:
        stop.set()
        join_worker(thread)
    if not asked_to_stop:
        raise fail("the worker stopped unexpectedly", code=1)


def register(app: typer.Typer) -> None:
    """Add the node commands to the CLI."""
    from archive_center.cli_search import search_command
    from archive_center.demo.command import demo_command

    app.command("init")(init_command)
    app.command("serve")(serve_command)
    app.command("worker")(worker_command)
    app.command("search")(search_command)
    app.command("demo")(demo_command)


def configure_logging() -> None:
    """Logging for a long-running command: INFO lines with times on stderr."""
    logging.basicConfig(
        level=logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
        force=True,
    )
    logging.getLogger("alembic").setLevel(logging.WARNING)
