"""Browser-test helpers: a seeded node in its own uvicorn process, and Debian's Chromium
driven by Playwright (never a downloaded browser)."""

from __future__ import annotations

import shutil
import signal
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.archive_center.fieldcat_process import free_ports, start_fieldcat, stop, wait_ready
from tests.conftest import REPO, SAMPLES, require

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
]  # fmt: skip
ARTIFACTS = REPO / "artifacts" / "ui"
EMBARGOED = "seed_example.txt"
PASSWORD = "browser test password"
SEEDED = ("c130_rf07_track.txt", "kco_surface_hourly.txt", "sagar_kanya_sounding.txt", EMBARGOED)


@dataclass
class RunningNode:
    """A node process serving on loopback, and what it was seeded with."""

    url: str
    root: Path
    ids: dict[str, str]
    """Sample file name -> public id."""


def node_config(root: Path, port: int, code: str = "JOSS", name: str = "UCAR/JOSS Boulder") -> Path:
    """A center configuration file for a node rooted at `root`."""
    path = root / "center.toml"
    path.write_text(
        f'center_code = "{code}"\ncenter_name = "{name}"\nroot = "{root}"\n'
        f'host = "127.0.0.1"\nport = {port}\n\n[campaign]\ncode = "INDOEX"\n'
        "start = 1999-01-01\nend = 1999-03-31\nintensive_end = 1999-03-31\n"
    )
    return path


def seed_node(config: Path, names: tuple[str, ...] = SEEDED) -> dict[str, str]:
    """Prepare the node's storage and database and register the sample files in it."""
    from archive_center.app import prepare_node
    from archive_center.demo.seeding import seed_center
    from web.settings import load_settings

    settings = load_settings(config)
    prepare_node(settings)
    files = []
    for name in names:
        copy = settings.root / "seed" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / "valid" / name, copy)
        files.append(copy)
    ids = seed_center(settings, files, embargoed={EMBARGOED})
    add_users(settings)
    return dict(zip(names, ids, strict=True))


def add_users(settings: Any) -> None:
    """A staff member and a PI, both with `PASSWORD`."""
    from catalog.db import make_engine, make_session_factory
    from catalog.schemas import Role
    from catalog.users import create_user

    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session, session.begin():
            create_user(session, username="staff", password=PASSWORD, role=Role.STAFF)
            create_user(session, username="pi", password=PASSWORD, role=Role.PI)
    finally:
        engine.dispose()


@contextmanager
def running_node(root: Path) -> Iterator[RunningNode]:
    """A seeded node in a `fieldcat serve` process on a free port; stopped afterwards."""
    port = free_ports(1)
    config = node_config(root, port)
    ids = seed_node(config)
    log = root / "serve.log"
    process = start_fieldcat("serve", "--config", str(config), "--no-worker", log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(f"{url}/api/v1/healthz", process, log)
        yield RunningNode(url, root, ids)
    finally:
        if process.poll() is None:
            stop(process, signal.SIGTERM)


@contextmanager
def chromium() -> Iterator[Any]:
    """A headless Chromium (Debian's) under Playwright; skips when it is not installed."""
    require(CHROMIUM.is_file(), f"Chromium not found at {CHROMIUM} (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            yield browser
        finally:
            browser.close()


def sign_in(page: Any, base: str, username: str, password: str = PASSWORD) -> None:
    """Sign in through the sign-in page."""
    page.goto(f"{base}/signin")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("form.signin-form button[type=submit]")
    page.wait_for_selector("header.site .who")


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot under artifacts/ui/ (kept by CI as a test artifact)."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
