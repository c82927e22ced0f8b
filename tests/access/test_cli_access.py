"""`fieldcat users ...` and `fieldcat embargo ...` as real processes on a real node database."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select

from catalog.db import make_engine, make_session_factory
from catalog.models import AuditEvent, Dataset
from catalog.users import principal_for_token
from tests.access.matrix_node import header_file
from tests.archive_center.fieldcat_process import REPO, cli_env, fieldcat

pytestmark = pytest.mark.slow  # about a minute of CLI processes


def run(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    """`fieldcat ARGS` with `stdin` as its input."""
    return subprocess.run(
        [sys.executable, "-m", "archive_center", *args], input=stdin, capture_output=True,
        text=True, timeout=120, cwd=REPO, env=cli_env(),
    )  # fmt: skip


@pytest.fixture(scope="module")
def center(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, str]:
    """A node initialised by `fieldcat init`, holding one open dataset; (config, public id)."""
    import formats
    from catalog.registration import register_datafile
    from catalog.storage import ArchiveStore

    folder = tmp_path_factory.mktemp("cli")
    config = folder / "center.toml"
    config.write_text(f'root = "{folder / "root"}"\ncenter_code = "JOSS"\n')
    assert fieldcat("init", "--config", str(config)).returncode == 0
    source = folder / "one.txt"
    source.write_text(header_file("open", 0))
    store = ArchiveStore(folder / "root")
    staged = store.new_staging_path()
    staged.write_bytes(source.read_bytes())
    sha256, path = store.put_original(staged)
    engine = make_engine(f"sqlite:///{folder / 'root' / 'fieldcat.db'}")
    with make_session_factory(engine)() as session, session.begin():
        dataset = register_datafile(
            session, datafile=formats.read(source, filename="one.txt"), sha256=sha256,
            size=path.stat().st_size, original_name="one.txt", center_code="JOSS",
            campaign_code="INDOEX", now=datetime.now(UTC),
        )  # fmt: skip
        public_id = dataset.public_id
    engine.dispose()
    return config, public_id


def _dataset(config: Path, public_id: str) -> tuple[Dataset, list[AuditEvent]]:
    engine = make_engine(f"sqlite:///{config.parent / 'root' / 'fieldcat.db'}")
    try:
        with make_session_factory(engine)() as session:
            dataset = session.scalars(select(Dataset).where(Dataset.public_id == public_id)).one()
            events = list(session.scalars(select(AuditEvent).order_by(AuditEvent.id)))
            return dataset, events
    finally:
        engine.dispose()


def test_users_add_list_passwd_token(center: tuple[Path, str]) -> None:
    config = str(center[0])
    added = run("users", "add", "Alice", "--role", "staff", "--password-stdin", "-c", config,
                stdin="a long password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    assert "added staff alice" in added.stdout
    again = run("users", "add", "alice", "--password-stdin", "-c", config, stdin="another pw1\n")
    assert again.returncode == 1 and "exists" in again.stderr
    short = run("users", "add", "bob", "--password-stdin", "-c", config, stdin="short\n")
    assert short.returncode == 1 and "password" in short.stderr
    listed = run("users", "list", "-c", config)
    assert "alice\tstaff\tactive" in listed.stdout
    assert run("users", "passwd", "alice", "--password-stdin", "-c", config,
               stdin="a newer password\n").returncode == 0  # fmt: skip
    token = run("users", "token", "alice", "--name", "script", "-c", config).stdout.strip()
    engine = make_engine(f"sqlite:///{center[0].parent / 'root' / 'fieldcat.db'}")
    with make_session_factory(engine)() as session:
        principal = principal_for_token(session, token, datetime.now(UTC))
        assert principal is not None and principal.username == "alice"
    engine.dispose()
    assert "script" in run("users", "tokens", "alice", "-c", config).stdout


def test_embargo_set_extend_list_lift(center: tuple[Path, str]) -> None:
    config, pid = str(center[0]), center[1]
    # Ids are random and may start with "-": options first, then `--` before the id.
    missing_reason = run("embargo", "set", "--until", "2031-01-01", "-c", config, "--", pid)
    assert missing_reason.returncode == 2
    done = run(
        "embargo", "set", "--until", "2031-01-01", "--reason", "preliminary", "-c", config, "--",
        pid,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    dataset, _ = _dataset(center[0], pid)
    assert dataset.access_state == "embargoed"
    assert dataset.release_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert pid in run("embargo", "list", "-c", config).stdout
    shorter = run(
        "embargo", "extend", "--until", "2030-06-01", "-r", "oops", "-c", config, "--", pid
    )
    assert shorter.returncode == 1 and "later" in shorter.stderr
    longer = run(
        "embargo", "extend", "--until", "2032-01-01", "-r", "QC delay", "-c", config, "--", pid
    )
    assert longer.returncode == 0, longer.stderr
    lifted = run("embargo", "lift", "--reason", "published", "-c", config, "--", pid)
    assert lifted.returncode == 0, lifted.stderr
    dataset, events = _dataset(center[0], pid)
    assert dataset.access_state == "open" and dataset.release_at is None
    assert [e.reason for e in events[-3:]] == ["preliminary", "QC delay", "published"]
    assert all(e.actor.startswith("cli:") for e in events[-3:])
    assert pid not in run("embargo", "list", "-c", config).stdout


def test_users_add_with_email_and_embargo_set_campaign(center: tuple[Path, str]) -> None:
    from catalog.models import User

    config, pid = str(center[0]), center[1]
    added = run("users", "add", "carol", "--email", "carol@joss.test", "--password-stdin",
                "-c", config, stdin="a long password\n")  # fmt: skip
    assert added.returncode == 0, added.stderr
    bad = run("users", "add", "dave", "--email", "not an address", "--password-stdin",
              "-c", config, stdin="a long password\n")  # fmt: skip
    assert bad.returncode == 2 and "e-mail" in bad.stderr  # a usage error
    engine = make_engine(f"sqlite:///{center[0].parent / 'root' / 'fieldcat.db'}")
    with make_session_factory(engine)() as session:
        emails = {name: email for name, email in session.execute(select(User.username, User.email))}
    engine.dispose()
    assert emails["carol"] == "carol@joss.test" and "dave" not in emails
    both = run("embargo", "set", "--campaign", "--password-stdin", "--until", "2031-01-01",
               "-r", "x", "-c", config, "--", pid, stdin="secret pass\n")  # fmt: skip
    assert both.returncode != 0
    done = run("embargo", "set", "--campaign", "--until", "2031-01-01", "-r", "PIs first",
               "-c", config, "--", pid)  # fmt: skip
    assert done.returncode == 0, done.stderr
    dataset, events = _dataset(center[0], pid)
    assert dataset.access_state == "campaign"
    assert dataset.release_at == datetime(2031, 1, 1, tzinfo=UTC)
    assert events[-1].reason == "PIs first"
    lifted = run("embargo", "lift", "--reason", "done", "-c", config, "--", pid)
    assert lifted.returncode == 0, lifted.stderr
