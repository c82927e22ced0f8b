"""`fieldcat init`, `serve`, `worker`, `search` and `demo`: the node's commands."""

from __future__ import annotations

import logging
import os
import threading
from typing import TYPE_CHECKING, Annotated

import typer

from archive_center.cli_base import (
    ConfigOption,
    InitConfigOption,
    StopRequested,
    check_stop,
    configure_logging,
    fail,
    install_stop_handlers,
    load_config,
    prepare,
    redacted,
)
from archive_center.cli_streams import checked_profiles
from archive_center.heap import settle_heap

if TYPE_CHECKING:
    from web.settings import Settings

logger = logging.getLogger(__name__)

WORKER_GRACE_S = 5.0
"""How long a stopping process waits for the worker to finish the item it is on."""


def init_command(
    config: InitConfigOption = None,
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
        f"database {redacted(settings.effective_database_url)}"
    )
    ensure_first_admin(config, admin, password_stdin=password_stdin)


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
    from archive_center.listeners import PublicListener, start_public_listener, uvicorn_options

    stop = threading.Event()
    worker: threading.Thread | None = None
    public: PublicListener | None = None
    try:
        settings = load_config(config)
        configure_logging()
        prepare(settings)
        checked_profiles(settings)
        worker = None if no_worker else start_worker_thread(settings, stop)
        public = start_public_listener(settings)
        app = create_app(settings)
        config_ = uvicorn.Config(app, host=settings.host, port=settings.port, **uvicorn_options())
        settle_heap()
        check_stop()  # a signal lost during the start (uvicorn's own handlers take over now)
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
        checked_profiles(settings)
        thread = start_worker_thread(settings, stop)
        settle_heap()
        while thread.is_alive():
            check_stop()
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
