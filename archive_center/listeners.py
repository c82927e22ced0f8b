"""The read-only public listener beside the main (LAN) one, in the same process.

The main listener (`host`, `port`) serves the full node; with `access.public_host` set, a
second one serves `create_app(settings, public_face=True)`: every caller anonymous, every
write refused. The split rests on which socket a request arrived at, never on a header.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import uvicorn

    from web.settings import Settings

logger = logging.getLogger(__name__)
STARTUP_TIMEOUT_S = 120.0


@dataclass
class PublicListener:
    """A running public listener: its server and thread."""

    server: uvicorn.Server
    thread: threading.Thread

    def stop(self, timeout: float = 10.0) -> None:
        """Ask the server to finish and wait for its thread."""
        self.server.should_exit = True
        self.thread.join(timeout=timeout)


def public_port(settings: Settings) -> int:
    """The public listener's port (the main port + 1 unless configured)."""
    configured = settings.access.public_port
    return configured if configured is not None else settings.port + 1


def start_public_listener(settings: Settings) -> PublicListener | None:
    """Start the public face in a thread when `access.public_host` is set, else None."""
    if settings.access.public_host is None:
        return None
    import uvicorn

    from archive_center.app import create_app

    app = create_app(settings, public_face=True)
    host, port = settings.access.public_host, public_port(settings)
    config = uvicorn.Config(app, host=host, port=port, log_config=None)
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="fieldcat-public", daemon=True)
    thread.start()
    # Wait for its start-up (migration check included) before the main listener starts its
    # own: Alembic's context is process-global, so two start-ups must not overlap.
    deadline = time.monotonic() + STARTUP_TIMEOUT_S
    while not server.started and thread.is_alive() and time.monotonic() < deadline:
        time.sleep(0.05)
    if not server.started:
        from archive_center.cli_node import fail

        server.should_exit = True
        raise fail(f"the public listener on {host}:{port} did not start (see the log above)")
    logger.info("read-only public face on http://%s:%d", host, port)
    return PublicListener(server, thread)
