"""`fieldcat init`, `serve`, `worker` and `search` run as real processes."""

from __future__ import annotations

import json
import re
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from sqlalchemy import Dialect, String, TypeDecorator, create_engine, inspect, literal, select

from archive_center.cli_base import StopRequested
from tests.archive_center.fieldcat_process import (
    cli_env,
    fieldcat,
    free_ports,
    start_fieldcat,
    stop,
    wait_ready,
)
from tests.conftest import postgres_schema, schema_engine, schema_url

pytestmark = pytest.mark.slow  # about a minute of node processes

NODE_COMMANDS = ("init", "serve", "worker", "search", "demo")


def write_config(folder: Path, port: int = 8000, **extra: str) -> Path:
    """A minimal center.toml with its storage inside `folder`."""
    lines = [
        'center_code = "NPL"',
        'center_name = "NPL New Delhi"',
        f"root = {json.dumps(str(folder / 'data'))}",
        f"port = {port}",
    ]
    lines += [f"{key} = {json.dumps(value)}" for key, value in extra.items()]
    path = folder / "center.toml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_help_lists_the_node_commands() -> None:
    result = fieldcat("--help")
    assert result.returncode == 0, result.stderr
    for command in NODE_COMMANDS:
        assert re.search(rf"\b{command}\b", result.stdout), command


def test_init_creates_storage_and_database_and_can_run_again(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    for _ in range(2):
        result = fieldcat("init", "--config", str(config))
        assert result.returncode == 0, result.stderr
        assert "center NPL ready" in result.stdout
    data = tmp_path / "data"
    for folder in ("archive/originals", "archive/derived", "staging", "incoming", "rejected"):
        assert (data / folder).is_dir(), folder
    tables = inspect(create_engine(f"sqlite:///{data / 'fieldcat.db'}")).get_table_names()
    assert {"datasets", "centers", "campaigns", "alembic_version"} <= set(tables)


def test_init_creates_the_first_admin_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    from tests.archive_center.fieldcat_process import REPO, cli_env

    config = str(write_config(tmp_path))

    def init(*args: str, password: str = "") -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "archive_center", "init", "--config", config, *args],
            input=password, capture_output=True, text=True, timeout=120, cwd=REPO, env=cli_env(),
        )  # fmt: skip

    hint = init()
    assert hint.returncode == 0, hint.stderr
    assert "no admin yet: run `fieldcat init --admin NAME`" in hint.stdout
    made = init("--admin", "boss", "--password-stdin", password="a long enough secret\n")
    assert made.returncode == 0, made.stderr
    assert "added admin boss" in made.stdout
    again = init("--admin", "other", "--password-stdin", password="another long secret\n")
    assert again.returncode == 0, again.stderr
    assert "admin: boss" in again.stdout and "not adding other" in again.stdout
    users = subprocess.run(
        [sys.executable, "-m", "archive_center", "users", "list", "--config", config],
        capture_output=True, text=True, timeout=120, cwd=REPO, env=cli_env(),
    )  # fmt: skip
    assert [line.split("\t")[:2] for line in users.stdout.splitlines()] == [["boss", "admin"]]
    # The password works: the admin can sign in through the API.
    from catalog.db import make_engine, make_session_factory
    from catalog.users import authenticate
    from web.settings import load_settings

    settings = load_settings(Path(config))
    engine = make_engine(settings.effective_database_url)
    try:
        with make_session_factory(engine)() as session:
            assert authenticate(session, "boss", "a long enough secret").role == "admin"
    finally:
        engine.dispose()


@pytest.mark.postgres
def test_init_migrates_postgresql(tmp_path: Path) -> None:
    with postgres_schema("t_cli") as schema:
        config = write_config(tmp_path, database_url=schema_url(schema))
        for _ in range(2):
            result = fieldcat("init", "--config", str(config))
            assert result.returncode == 0, result.stderr
        assert "secret" not in result.stdout
        engine = schema_engine(schema)
        try:
            tables = inspect(engine).get_table_names(schema=schema)
        finally:
            engine.dispose()
        assert {"datasets", "centers", "alembic_version"} <= set(tables)


def test_init_with_a_missing_config_says_so_without_a_traceback(tmp_path: Path) -> None:
    result = fieldcat("init", "--config", str(tmp_path / "nowhere.toml"))
    assert result.returncode == 2
    assert "not found" in result.stderr
    assert "Traceback" not in result.stderr + result.stdout


def test_init_with_a_bad_value_names_the_key(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    config.write_text(config.read_text() + 'max_upload_bytes = "lots"\n', encoding="utf-8")
    result = fieldcat("init", "--config", str(config))
    assert result.returncode == 2
    assert "max_upload_bytes" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_with_broken_toml_points_at_the_line(tmp_path: Path) -> None:
    config = tmp_path / "center.toml"
    config.write_text('center_code = "JOSS\nport = [/x]\n', encoding="utf-8")
    result = fieldcat("init", "--config", str(config))
    assert result.returncode == 2
    assert "cannot read configuration" in result.stderr and "line 1" in result.stderr
    assert "Traceback" not in result.stderr


def test_init_with_an_unreachable_database_says_so(tmp_path: Path) -> None:
    port = free_ports(1)
    url = f"postgresql+psycopg://fieldcat:hunter2@127.0.0.1:{port}/fieldcat"
    result = fieldcat("init", "--config", str(write_config(tmp_path, database_url=url)))
    assert result.returncode == 2
    assert "cannot prepare the database" in result.stderr
    assert "hunter2" not in result.stderr, "the password is never printed"
    assert "Traceback" not in result.stderr


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_serve_answers_and_stops_cleanly(tmp_path: Path, sig: int) -> None:
    port = free_ports(1)
    config = write_config(tmp_path, port=port)
    log = tmp_path / "serve.log"
    process = start_fieldcat("serve", "--config", str(config), log=log)
    try:
        url = f"http://127.0.0.1:{port}"
        wait_ready(url + "/api/v1/readyz", process, log)
        assert httpx.get(url + "/api/v1/healthz").json()["center"] == "NPL"
    finally:
        code = stop(process, sig)
    assert code == 0, log.read_text()
    assert "Traceback" not in log.read_text()


def test_serve_options_override_the_config(tmp_path: Path) -> None:
    port = free_ports(1)
    config = write_config(tmp_path, port=1)  # would fail if the option did not win
    log = tmp_path / "serve.log"
    process = start_fieldcat(
        "serve", "--config", str(config), "--no-worker", "--host", "127.0.0.1",
        "--port", str(port), log=log,
    )  # fmt: skip
    try:
        wait_ready(f"http://127.0.0.1:{port}/api/v1/readyz", process, log)
    finally:
        assert stop(process, signal.SIGTERM) == 0


SWALLOWED_STOP = """
import signal, sys, time
from archive_center.cli_base import StopRequested, check_stop, install_stop_handlers

install_stop_handlers()


class Collected:
    def __del__(self):  # the signal lands while the garbage collector runs this
        signal.raise_signal(signal.SIGTERM)


Collected()
print("ending", flush=True)  # the exception did not interrupt this
try:
    for _ in range(100):
        check_stop()
        time.sleep(0.05)
except StopRequested:
    print("stopped")
    sys.exit(0)
sys.exit(3)
"""


def test_a_stop_signal_whose_exception_was_swallowed_is_still_obeyed() -> None:
    """Python drops an exception raised inside `__del__` or a weakref callback, so a
    SIGTERM arriving there once left a worker running: the request is recorded too."""
    done = subprocess.run([sys.executable, "-c", SWALLOWED_STOP], env=cli_env(),
                          capture_output=True, text=True, timeout=60)  # fmt: skip
    assert done.stdout == "ending\nstopped\n", done.stderr  # the exception was lost...
    assert done.returncode == 0, done.stderr  # ...not the stop
    assert "Traceback" not in done.stderr, done.stderr  # nor printed as an error


def test_a_stop_landing_in_a_database_statement_is_still_a_stop() -> None:
    """A signal's exception raised while SQLAlchemy prepares a statement reaches the
    command as a stop, not as the statement's error ("cannot prepare the database", exit
    code 2, as a node once answered a SIGTERM during its start)."""

    class Interrupted(TypeDecorator[str]):
        impl = String
        cache_ok = True

        def process_bind_param(self, value: str | None, dialect: Dialect) -> str | None:
            raise StopRequested("SIGTERM")  # where the handler ran

    engine = create_engine("sqlite://")
    with pytest.raises(StopRequested), engine.connect() as connection:
        connection.execute(select(literal("x", Interrupted())))
    engine.dispose()


def test_worker_runs_until_told_to_stop(tmp_path: Path) -> None:
    config = write_config(tmp_path)
    log = tmp_path / "worker.log"
    process = start_fieldcat("worker", "--config", str(config), log=log)
    deadline = time.monotonic() + 60
    while not (tmp_path / "data" / "fieldcat.db").exists() and time.monotonic() < deadline:
        assert process.poll() is None, log.read_text()
        time.sleep(0.2)
    time.sleep(1.0)
    assert process.poll() is None, log.read_text()
    assert stop(process, signal.SIGTERM) == 0, log.read_text()
    assert "Traceback" not in log.read_text()


@pytest.fixture(scope="module")
def empty_center(tmp_path_factory: pytest.TempPathFactory) -> str:
    """A served center with nothing in it; its base URL."""
    folder = tmp_path_factory.mktemp("center")
    port = free_ports(1)
    config = write_config(folder, port=port)
    log = folder / "serve.log"
    process = start_fieldcat("serve", "--config", str(config), "--no-worker", log=log)
    url = f"http://127.0.0.1:{port}"
    try:
        wait_ready(url + "/api/v1/readyz", process, log)
        yield url
    finally:
        stop(process, signal.SIGTERM)


def test_search_an_empty_center(empty_center: str) -> None:
    result = fieldcat("search", "--center", empty_center, "--platform", "C130")
    assert result.returncode == 0, result.stderr
    assert "no datasets match" in result.stdout
    as_json = fieldcat("search", "--center", empty_center, "--json")
    assert json.loads(as_json.stdout)["items"] == []


def test_search_a_bad_query_prints_the_problem(empty_center: str) -> None:
    result = fieldcat("search", "--center", empty_center, "--bbox", "1,2")
    assert result.returncode == 1
    assert "bbox" in result.stderr
    assert "Traceback" not in result.stderr


def test_search_an_unreachable_center_says_so() -> None:
    port = free_ports(1)
    result = fieldcat("search", "--center", f"http://127.0.0.1:{port}")
    assert result.returncode == 2
    assert "cannot reach" in result.stderr
    assert "Traceback" not in result.stderr
