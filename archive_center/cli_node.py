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
    from archive_center.settings import Settings

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

    Console(stderr=True).print(f"[bold red]error:[/] {message}", highlight=False, soft_wrap=True)
    return typer.Exit(code)


def load_config(config: Path | None) -> Settings:
    """Settings from the file and the environment, or a readable error."""
    from pydantic import ValidationError

    from archive_center.settings import load_settings

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


def init_command(config: ConfigOption = None) -> None:
    """Create or migrate the database and the storage folders (safe to run again)."""
    settings = load_config(config)
    prepare(settings)
    typer.echo(
        f"center {settings.center_code} ready: storage {settings.root.resolve()}, "
        f"database {_redacted(settings.effective_database_url)}"
    )


def _redacted(url: str) -> str:
    """A database URL without its password."""
    from sqlalchemy.engine import make_url

    return make_url(url).render_as_string(hide_password=True)


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
        if worker is not None:
            worker.join(timeout=30)
    logger.info("stopped")


def worker_command(config: ConfigOption = None) -> None:
    """Run the background worker alone (beside `serve --no-worker` processes)."""
    install_stop_handlers()
    stop = threading.Event()
    thread: threading.Thread | None = None
    try:
        settings = load_config(config)
        configure_logging()
        prepare(settings)
        thread = start_worker_thread(settings, stop)
        while thread.is_alive():
            thread.join(timeout=0.5)
    except (StopRequested, KeyboardInterrupt):
        stop.set()
    finally:
        if thread is not None:
            thread.join(timeout=30)
    if not stop.is_set():
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
