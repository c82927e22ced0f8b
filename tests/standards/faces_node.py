"""A real `fieldcat serve` for the standard faces' tests, seeded with canaries.

The samples of tests/archive_center (one mirrored from NPL, one embargoed) plus one
canary-carrying dataset per state that matters here (open, embargoed, private, withdrawn),
with release dates relative to the real clock, since a real process cannot be pinned to the
tests' NOW. Metadata canaries (`MCANARY<state>`) sit in the PI name and title, data canaries
in the rows only (tests/access/matrix_node.py).
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

from fastapi.testclient import TestClient

from archive_center.app import create_app
from tests.access.matrix_node import data_canary, header_file, meta_canary
from tests.archive_center.conftest import make_settings, seed
from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, wait_ready

CANARY_STATES = ("open", "embargoed", "private", "withdrawn")
HIDDEN_STATES = ("private", "withdrawn")
"""What anonymous may not see: their metadata canaries must never appear."""


@dataclass
class FacesNode:
    """The running node: its URL, process, root and what it holds."""

    url: str
    process: subprocess.Popen[bytes]
    root: Path
    ids: dict[str, str]
    """Sample name, `mirror`, or a canary state -> public id."""

    def stop(self) -> None:
        """Stop the node and wait for it."""
        self.process.terminate()
        try:
            self.process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def _register_canary(app: object, state: str, index: int, tmp: Path, now: datetime) -> str:
    import formats
    from catalog.access import AccessState
    from catalog.access_admin import AccessRequest, change_access
    from catalog.registration import register_datafile
    from catalog.schemas import Principal, Role
    from formats.timeparse import CampaignTime

    store = app.state.store  # type: ignore[attr-defined]
    campaign = CampaignTime(
        year=1999, start=datetime(1999, 1, 1, tzinfo=UTC), end=datetime(1999, 3, 31, tzinfo=UTC)
    )
    source = tmp / f"{state}.txt"
    source.write_text(header_file(state, index))
    datafile = formats.read(source, campaign=campaign, filename=source.name)
    staged = store.new_staging_path()
    staged.write_bytes(source.read_bytes())
    sha256, path = store.put_original(staged)
    stored = "open" if state == "withdrawn" else state
    release = now + timedelta(days=3650) if state == "embargoed" else None
    with app.state.session_factory() as session, session.begin():  # type: ignore[attr-defined]
        dataset = register_datafile(
            session,
            datafile=datafile,
            sha256=sha256,
            size=path.stat().st_size,
            original_name=source.name,
            center_code="JOSS",
            campaign_code="INDOEX",
            access_state=stored,
            release_at=release,
            now=now - timedelta(days=1),
        )
        if state == "withdrawn":
            staff = Principal(user_id=None, username="seed", role=Role.STAFF)
            request = AccessRequest(state=AccessState.WITHDRAWN, reason="faces seed")
            change_access(session, dataset.public_id, request, actor=staff, now=now)
        return str(dataset.public_id)


def seed_root(root: Path, files: Path, port: int, database_url: str | None) -> dict[str, str]:
    """Migrate and seed the center at `root` through its app (lifespan run), then close it."""
    settings = make_settings(root, database_url)
    settings.public_url = f"http://127.0.0.1:{port}"
    app = create_app(settings)
    now = datetime.now(UTC)
    with TestClient(app):
        ids = seed(app)
        for index, state in enumerate(CANARY_STATES):
            ids[state] = _register_canary(app, state, index, files, now)
    return ids


def serve_seeded(root: Path, files: Path, database_url: str | None, **env: str) -> FacesNode:
    """Seed `root` and serve it with `fieldcat serve --no-worker` on a free loopback port
    (SQLite in the root, or the PostgreSQL `database_url`)."""
    port = free_ports(1)
    ids = seed_root(root, files, port, database_url)
    if database_url:
        env = env | {"FIELDCAT_DATABASE_URL": database_url}
    settings = {
        "FIELDCAT_ROOT": str(root),
        "FIELDCAT_PORT": str(port),
        "FIELDCAT_CENTER_CODE": "JOSS",
        "FIELDCAT_CENTER_NAME": "UCAR/JOSS Boulder",
        "FIELDCAT_PUBLIC_URL": f"http://127.0.0.1:{port}",
        "FIELDCAT_CAMPAIGN__CODE": "INDOEX",
        "FIELDCAT_CAMPAIGN__START": "1999-01-01",
        "FIELDCAT_CAMPAIGN__END": "1999-03-31",
        "FIELDCAT_CAMPAIGN__INTENSIVE_END": "1999-03-31",
    }
    log = root / "serve.log"
    process = start_fieldcat("serve", "--no-worker", log=log, **(settings | env))
    url = f"http://127.0.0.1:{port}"
    wait_ready(f"{url}/api/v1/readyz", process, log)
    return FacesNode(url, process, root, ids)


__all__ = [
    "CANARY_STATES",
    "HIDDEN_STATES",
    "FacesNode",
    "data_canary",
    "meta_canary",
    "serve_seeded",
]
