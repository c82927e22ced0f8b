"""The demo's folder layout, the three centers' configs, and their `fieldcat serve` processes."""

from __future__ import annotations

import json
import logging
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import archive_center
from archive_center.demo.campaign import CENTERS, DemoCenter
from archive_center.lifecycle import die_with_parent

logger = logging.getLogger(__name__)

MARKER = "fieldcat-demo.json"
GENERATOR_VERSION = 1
READY_PATH = "/api/v1/readyz"


class DemoError(Exception):
    """The demo cannot go on; the message says why and what to do."""


@dataclass(frozen=True)
class DemoLayout:
    """Where the demo keeps its campaign files and each center's config and storage."""

    root: Path

    @property
    def campaign_dir(self) -> Path:
        """Generated campaign files, one folder per center."""
        return self.root / "campaign"

    @property
    def marker(self) -> Path:
        """The file that says this folder is a demo root, and how far it got."""
        return self.root / MARKER

    def center_root(self, code: str) -> Path:
        """A center's storage root (database, archive, staging...)."""
        return self.root / "centers" / code

    def config_path(self, code: str) -> Path:
        """A center's `center.toml`."""
        return self.center_root(code) / "center.toml"

    @property
    def peer_keys(self) -> Path:
        """The shared keys of each pair of centers, generated once (owner-only file)."""
        return self.root / "peer-keys.json"

    def log_path(self, code: str) -> Path:
        """Where a center's `fieldcat serve` output goes."""
        return self.center_root(code) / "serve.log"


@dataclass(frozen=True)
class RunningCenter:
    """A started `fieldcat serve` process."""

    center: DemoCenter
    url: str
    process: subprocess.Popen[bytes]


def read_marker(layout: DemoLayout) -> dict[str, object] | None:
    """The marker's contents, or None when the root is not (yet) a demo root."""
    try:
        data = json.loads(layout.marker.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def write_marker(layout: DemoLayout, seed: int, seeded: bool) -> None:
    """Record that the root is a demo root, its seed, and whether seeding finished."""
    layout.root.mkdir(parents=True, exist_ok=True)
    payload = {"generator": GENERATOR_VERSION, "seed": seed, "seeded": seeded}
    layout.marker.write_text(json.dumps(payload) + "\n", encoding="utf-8")


def prepare_root(layout: DemoLayout, seed: int, fresh: bool) -> bool:
    """Reuse a finished demo root (True) or make an empty one (False) to generate into.

    A folder that holds anything but a demo is never deleted.
    """
    marker = read_marker(layout)
    if marker is None:
        if layout.root.exists() and any(layout.root.iterdir()):
            raise DemoError(
                f"{layout.root} is not empty and is not a FieldCat demo folder; "
                "choose another --root or empty it"
            )
        layout.root.mkdir(parents=True, exist_ok=True)
        return False
    same = marker.get("generator") == GENERATOR_VERSION and marker.get("seed") == seed
    if same and marker.get("seeded") is True and not fresh:
        return True
    logger.info("recreating demo root %s", layout.root)
    shutil.rmtree(layout.root)
    layout.root.mkdir(parents=True)
    return False


def center_url(host: str, port: int) -> str:
    """The base URL a center is reached at."""
    return f"http://{host}:{port}"


def config_text(
    layout: DemoLayout,
    center: DemoCenter,
    host: str,
    port: int,
    peers: list[tuple[DemoCenter, str]],
    keys: dict[str, dict[str, str]] | None = None,
) -> str:
    """A center's TOML configuration (SQLite inside its storage root)."""
    lines = [
        "# Written by `fieldcat demo`; rewritten at each start.",
        f'center_code = "{center.code}"',
        f'center_name = "{center.name}"',
        f'public_url = "{center_url(host, port)}"',
        f"root = {json.dumps(str(layout.center_root(center.code).resolve()))}",
        f'host = "{host}"',
        f"port = {port}",
        "worker_interval_s = 5.0",
        "",
        "[campaign]",
        'code = "INDOEX"',
        'name = "Indian Ocean Experiment"',
        "start = 1999-01-01",
        "end = 1999-04-30",
        "intensive_end = 1999-03-31",
    ]
    for peer, url in peers:
        lines += [
            "",
            "[[peers]]",
            f'code = "{peer.code}"',
            f'name = "{peer.name}"',
            f'url = "{url}"',
        ]
        key = (keys or {}).get(pair_name(center.code, peer.code))
        if key:
            lines += [f'key_id = "{key["key_id"]}"', f'secret = "{key["secret"]}"']
    return "\n".join(lines) + "\n"


def pair_name(a: str, b: str) -> str:
    """The name of a pair of centers, the same from either side."""
    return "+".join(sorted((a, b)))


def peer_keys(layout: DemoLayout) -> dict[str, dict[str, str]]:
    """Each pair's key id and secret: read from the demo root, or generated and kept there."""
    import secrets

    try:
        keys: dict[str, dict[str, str]] = json.loads(layout.peer_keys.read_text("utf-8"))
    except (OSError, ValueError):
        keys = {}
    for i, a in enumerate(CENTERS):
        for b in CENTERS[i + 1 :]:
            name = pair_name(a.code, b.code)
            if name not in keys:
                keys[name] = {"key_id": f"demo-{secrets.token_hex(3)}",
                              "secret": secrets.token_urlsafe(32)}  # fmt: skip
    layout.root.mkdir(parents=True, exist_ok=True)
    layout.peer_keys.write_text(json.dumps(keys, indent=1) + "\n", encoding="utf-8")
    layout.peer_keys.chmod(0o600)
    return keys


def write_configs(layout: DemoLayout, host: str, base_port: int) -> dict[str, Path]:
    """Write the three centers' configs, each naming the other two as peers with shared keys."""
    urls = {c.code: center_url(host, base_port + i) for i, c in enumerate(CENTERS)}
    keys = peer_keys(layout)
    paths = {}
    for i, center in enumerate(CENTERS):
        peers = [(c, urls[c.code]) for c in CENTERS if c.code != center.code]
        path = layout.config_path(center.code)
        path.parent.mkdir(parents=True, exist_ok=True)
        text = config_text(layout, center, host, base_port + i, peers, keys)
        path.write_text(text, encoding="utf-8")
        path.chmod(0o600)  # it holds the peers' secrets
        paths[center.code] = path
    return paths


def check_ports_free(host: str, ports: list[int]) -> None:
    """Fail early, and readably, when another program holds one of the ports."""
    for port in ports:
        with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
            # As uvicorn binds: connections of a just-stopped run (TIME_WAIT) do not count.
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind((host, port))
            except OSError as err:
                raise DemoError(
                    f"port {port} on {host} is in use ({err.strerror}); "
                    "stop what holds it or pass another --base-port"
                ) from err


def start_center(layout: DemoLayout, center: DemoCenter, url: str) -> RunningCenter:
    """Start `fieldcat serve` for one center, its output going to its log file."""
    command = [
        sys.executable,
        "-m",
        "archive_center",
        "serve",
        "--config",
        str(layout.config_path(center.code)),
    ]
    log = layout.log_path(center.code).open("ab")
    # The demo's own config decides; a FIELDCAT_* variable meant for another center must not.
    env = {k: v for k, v in os.environ.items() if not k.startswith("FIELDCAT_")}
    # The children run the same code as this process, installed or not.
    code_root = str(Path(archive_center.__file__).parent.parent.absolute())
    env["PYTHONPATH"] = os.pathsep.join(p for p in (code_root, env.get("PYTHONPATH")) if p)
    try:
        process = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
            command, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, env=env,
            preexec_fn=die_with_parent,  # prctl only: safe between fork and exec
        )  # fmt: skip
    finally:
        log.close()
    return RunningCenter(center=center, url=url, process=process)


def log_tail(path: Path, lines: int = 15) -> str:
    """The last lines of a log, for an error message."""
    try:
        return "\n".join(path.read_text(encoding="utf-8", errors="replace").splitlines()[-lines:])
    except OSError:
        return "(no log)"


def wait_ready(layout: DemoLayout, running: list[RunningCenter], timeout_s: float = 90.0) -> None:
    """Wait until every center answers readyz, or say which one did not and why."""
    import httpx

    waiting = {r.center.code: r for r in running}
    deadline = time.monotonic() + timeout_s
    while waiting:
        for code, center in list(waiting.items()):
            if center.process.poll() is not None:
                log = layout.log_path(code)
                raise DemoError(
                    f"center {code} exited with code {center.process.returncode}; "
                    f"its log ({log}) ends with:\n{log_tail(log)}"
                )
            try:
                if httpx.get(center.url + READY_PATH, timeout=2.0).status_code == 200:
                    del waiting[code]
            except httpx.TransportError:
                pass
        if waiting and time.monotonic() > deadline:
            raise DemoError(f"centers {', '.join(waiting)} not ready after {timeout_s:.0f} s")
        if waiting:
            time.sleep(0.3)


def stop_all(running: list[RunningCenter], timeout_s: float = 30.0) -> None:
    """SIGTERM every center still running, wait for them, SIGKILL any that hang."""
    for center in running:
        if center.process.poll() is None:
            center.process.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + timeout_s
    for center in running:
        try:
            center.process.wait(timeout=max(deadline - time.monotonic(), 0.1))
        except subprocess.TimeoutExpired:
            logger.warning("center %s did not stop in time; killing it", center.center.code)
            center.process.kill()
            center.process.wait()
