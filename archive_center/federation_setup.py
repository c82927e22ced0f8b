"""The node's settings turned into the replicator's configuration, and its start in the worker."""

from __future__ import annotations

import threading
from typing import TYPE_CHECKING

from web.links import FEDERATION_API
from web.settings import Settings

if TYPE_CHECKING:
    from sqlalchemy.engine import Engine

    from federation.replicator import ReplicatorConfig


def replicator_config(settings: Settings) -> ReplicatorConfig:
    """What the replicator needs of the settings: who we are, timings, configured peers."""
    from federation.peers import ConfiguredPeer
    from federation.replicator import ReplicatorConfig

    fed = settings.federation
    peers = tuple(
        ConfiguredPeer(code=p.code.upper(), url=p.url, name=p.name, key_id=p.key_id,
                       secret=p.secret)
        for p in settings.peers
    )  # fmt: skip
    return ReplicatorConfig(
        center_code=settings.center_code, api_path=FEDERATION_API, tick_s=fed.tick_s,
        poll_interval_s=fed.poll_interval_s, backoff_base_s=fed.backoff_base_s,
        backoff_max_s=fed.backoff_max_s, page_size=fed.page_size, timeout_s=fed.timeout_s,
        peers=peers,
    )  # fmt: skip


def start_federation(
    settings: Settings, engine: Engine, stop: threading.Event
) -> threading.Thread | None:
    """Start the replicator thread unless federation is disabled."""
    from federation.replicator import start_replicator_thread

    if not settings.federation.enabled:
        return None
    return start_replicator_thread(engine, replicator_config(settings), stop)


def start_handovers(settings: Settings, engine: Engine, stop: threading.Event) -> threading.Thread:
    """Start the thread that pulls (and resumes) hand-overs to this center."""
    from catalog.db import make_session_factory
    from catalog.storage import ArchiveStore
    from federation.handover import handover_loop

    args = (make_session_factory(engine), ArchiveStore(settings.root), settings.center_code,
            FEDERATION_API, settings.federation.timeout_s, settings.federation.tick_s,
            stop)  # fmt: skip
    thread = threading.Thread(target=handover_loop, args=args, name="fieldcat-handover",
                              daemon=True)  # fmt: skip
    thread.start()
    return thread
