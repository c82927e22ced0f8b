"""A continuous stream's rolling dataset: one DID per stream and UTC day, a new version at
most every `every_s` seconds, through the ordinary intake (`take`).

Each accepted line is appended (and fsynced) to `<folder>/<YYYY-MM-DD>.rows` before it is
acknowledged, so a receiver that crashes and restarts loses no acknowledged line and resumes
the day where it stopped. A line identical to the day's last one is a sender's resend and is
dropped, so a line sent again after a lost acknowledgement is never doubled. A refused line
is logged and kept in `<YYYY-MM-DD>.refused.txt` with its diagnostic; it is never appended.
`publish` renders the day's rows as a header-format file and hands it to the intake: a new
version of the day's dataset (DATA VERSION `<profile's>.<rows>`, so versions only grow).
When the first line of a new day arrives the old day is published one last time and closed.

Versions of all the streams of a process take turns (`TURNS`, first come first served)
rather than all entering the catalog at once: they would only queue in the database (SQLite
has one writer and makes the others sleep and retry; registrations in one campaign are
serialised on PostgreSQL too), and a stream reads its rows when its turn comes, so a stream
that waited publishes everything that arrived meanwhile in one version (the cadence adapts
to the load, and the queue never holds more than one version per stream).
"""

from __future__ import annotations

import logging
import os
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

from formats.model import Diagnostic
from formats.profile_rows import Row, RowReader, render
from formats.profiles import Profile
from submissions.intake import SubmissionResult

logger = logging.getLogger(__name__)

Take = Callable[[Path, str], SubmissionResult]


class Turnstile:
    """A lock taken in the order it was asked for (`threading.Lock` promises no order)."""

    def __init__(self) -> None:
        self._changed = threading.Condition()
        self._issued = 0
        self._serving = 0

    def queued(self) -> int:
        """How many callers hold or wait for a turn."""
        with self._changed:
            return self._issued - self._serving

    @contextmanager
    def turn(self) -> Iterator[None]:
        """Wait for every earlier caller to finish, then hold the turn."""
        with self._changed:
            ticket, self._issued = self._issued, self._issued + 1
            self._changed.wait_for(lambda: self._serving == ticket)
        try:
            yield
        finally:
            with self._changed:
                self._serving += 1
                self._changed.notify_all()


TURNS = Turnstile()
"""The process's streams publish one version at a time, in the order they became due."""


@dataclass
class _Day:
    day: date
    rows: list[Row]
    published: int


def day_did(base: int, day: date) -> int:
    """The DID of one stream's day: the stream's DID followed by the date (YYYYMMDD)."""
    return int(f"{base}{day:%Y%m%d}")


def _parse_row(number: int, text: str) -> Row:
    """A row as the day file holds it (`render`'s data line)."""
    stamp, _, values = text.partition(" ")
    return Row(
        number, datetime.fromisoformat(stamp.replace("Z", "+00:00")), tuple(values.split(" "))
    )


class DayStream:
    """Appends a stream's lines to its day's rows and publishes them as versions."""

    def __init__(
        self, name: str, profile: Profile, folder: Path, take: Take, *, did: int, every_s: float
    ) -> None:
        self.name, self.profile, self.folder, self.take = name, profile, folder, take
        self.did, self.every_s = did, every_s
        self.folder.mkdir(parents=True, exist_ok=True)
        self._lock = threading.Lock()
        self._publishing = threading.Lock()
        self._current = self._resume()
        self._unfinished = self._older_unpublished()
        self._reader = RowReader(profile, self._last_time())
        self._last_publish = 0.0
        self.lines_accepted = 0
        self.lines_refused = 0

    def _resume(self) -> _Day | None:
        days = sorted(self.folder.glob("*.rows"))
        if not days:
            return None
        latest = days[-1]
        day = date.fromisoformat(latest.stem)
        lines = latest.read_text("utf-8").splitlines()
        rows = [_parse_row(number, text) for number, text in enumerate(lines, 1)]
        published = self._published_count(day)
        return _Day(day, rows, published)

    def _older_unpublished(self) -> list[_Day]:
        """Days before the latest whose last lines were never published (a stop at midnight)."""
        found = []
        for path in sorted(self.folder.glob("*.rows"))[:-1]:
            day = date.fromisoformat(path.stem)
            rows = [
                _parse_row(n, text)
                for n, text in enumerate(path.read_text("utf-8").splitlines(), 1)
            ]
            if self._published_count(day) < len(rows):
                found.append(_Day(day, rows, self._published_count(day)))
        return found

    def _last_time(self) -> datetime | None:
        return self._current.rows[-1].time if self._current and self._current.rows else None

    def _published_count(self, day: date) -> int:
        marker = self.folder / f"{day.isoformat()}.published"
        return int(marker.read_text().strip() or 0) if marker.exists() else 0

    def append(self, text: str) -> Diagnostic | None:
        """Take one raw line: None when it was appended (or was a resend of the last line),
        the diagnostic when it was refused."""
        text = text.rstrip("\r\n")
        if not text.strip() or not self._reader.is_data(self.profile.skip_lines + 1, text):
            return None
        with self._lock:
            current = self._current
            number = (len(current.rows) if current else 0) + 1
            found = self._reader.read(number, text)
            if isinstance(found, Diagnostic):
                self._refuse(found, text)
                return found
            if current and current.rows and found.text() == current.rows[-1].text():
                return None  # a resend of the last line
            self._add(found)
        return None

    def _refuse(self, found: Diagnostic, text: str) -> None:
        self.lines_refused += 1
        logger.warning("stream %s refused a line: %s %s", self.name, found.code, found.message)
        day = datetime.now(UTC).date().isoformat()
        with (self.folder / f"{day}.refused.txt").open("a", encoding="utf-8") as out:
            out.write(f"line {found.line}: error {found.code}: {found.message}\n")

    def _add(self, row: Row) -> None:
        day = row.time.astimezone(UTC).date()
        if self._current is None or self._current.day != day:
            closing = self._current
            self._current = _Day(day, [], 0)
            if closing is not None and closing.rows:
                threading.Thread(target=self._publish_day, args=(closing,), daemon=True).start()
        with (self.folder / f"{day.isoformat()}.rows").open("a", encoding="utf-8") as out:
            out.write(row.text() + "\n")
            out.flush()
            os.fsync(out.fileno())
        self._current.rows.append(row)
        self.lines_accepted += 1

    def publish_due(self) -> SubmissionResult | None:
        """Publish the current day if it has new rows and `every_s` has passed."""
        while self._unfinished:
            self._publish_day(self._unfinished.pop())
        if time.monotonic() - self._last_publish < self.every_s:
            return None
        with self._lock:
            current = self._current
        if current is None or current.published >= len(current.rows):
            return None
        self._last_publish = time.monotonic()
        return self._publish_day(current)

    def _publish_day(self, day: _Day) -> SubmissionResult | None:
        with self._publishing, TURNS.turn():
            with self._lock:
                rows = list(day.rows)
            if day.published >= len(rows):
                return None
            version = f"{self.profile.header['data_version']}.{len(rows)}"
            did = day_did(self.did, day.day)
            name = f"{self.name}_{day.day:%Y%m%d}.txt"
            text = render(self.profile, rows, did=did, data_version=version, source=self.name)
            path = self.folder / f".{name}.{len(rows)}"
            path.write_text(text, encoding="utf-8")
            try:
                result = self.take(path, name)
            finally:
                path.unlink(missing_ok=True)
            if result.accepted:
                day.published = len(rows)
                (self.folder / f"{day.day.isoformat()}.published").write_text(str(len(rows)))
            else:
                logger.error("stream %s: version of %s refused:\n%s", self.name, name,
                             result.report_text)  # fmt: skip
            return result
