"""The watched directory (drops by Samba, rsync or scp): a file is taken once it stops growing.

A file directly in the directory whose size and modification time stayed the same over
`stable_polls` polls is handed to `take`, then moved to `done/` or `rejected/` with its report
beside it (`NAME.report.txt` and `NAME.report.json`). Dot files (rsync's and scp's temporary
names) are left alone, and so are sub-directories, except a user's personal folder: one named
by a drop token (`<incoming>/<token>/`, `PersonalFolders`), whose files are taken as that
user's; a file in the folder of an unknown or revoked token is refused (SUB011), not taken.
"""

from __future__ import annotations

import json
import logging
import os
import re
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

from catalog.downloads import safe_filename
from catalog.submission_models import SubmissionState
from submissions.errors import SubmissionError, UploadRefusedError
from submissions.intake import SubmissionResult
from submissions.reports import Report

logger = logging.getLogger(__name__)

Take = Callable[[Path, str], SubmissionResult]
TOKEN_FOLDER = re.compile(r"^[0-9a-f]{24}$")
"""The shape of a drop token (`catalog.drops`), which names a personal folder."""


@dataclass(frozen=True)
class PersonalFolders:
    """Sub-folders named by a user's drop token: files dropped there are that user's."""

    owner_of: Callable[[str], int | None]
    """The user whose live drop token names the folder, or None."""
    take: Callable[[Path, str, int], SubmissionResult]
    """Take a file in as that user's (path, name, user id)."""


class PersonalFolderRefusedError(UploadRefusedError):
    """A file in the personal folder of an unknown or revoked drop token (SUB011)."""


class DirectoryWatcher:
    """Polls `incoming` and takes each file in once its size has settled."""

    def __init__(
        self, incoming: Path, done: Path, rejected: Path, take: Take, stable_polls: int = 2,
        personal: PersonalFolders | None = None,
    ) -> None:  # fmt: skip
        self.incoming, self.done, self.rejected = incoming, done, rejected
        self.take = take
        self.personal = personal
        self.stable_polls = max(1, stable_polls)
        self._seen: dict[str, tuple[tuple[int, int], int]] = {}

    def _files(self) -> Iterator[tuple[str, Path]]:
        """(key, path) of every file to watch: the folder's own, then personal folders'."""
        folders = [("", self.incoming)]
        if self.personal is not None:
            folders += [
                (f"{sub.name}/", sub)
                for sub in sorted(self.incoming.iterdir())
                if TOKEN_FOLDER.match(sub.name) and sub.is_dir() and not sub.is_symlink()
            ]
        for prefix, folder in folders:
            for path in sorted(folder.iterdir()):
                if path.name.startswith(".") or not path.is_file() or path.is_symlink():
                    continue
                yield prefix + path.name, path

    def poll(self) -> list[SubmissionResult | None]:
        """One look at the directory; the results of the files taken in this time."""
        taken: list[SubmissionResult | None] = []
        present = set()
        for key, path in self._files():
            present.add(key)
            try:
                stat = path.stat()
            except FileNotFoundError:
                continue
            signature = (stat.st_size, stat.st_mtime_ns)
            previous, count = self._seen.get(key, (None, 0))
            count = count + 1 if previous == signature else 0
            self._seen[key] = (signature, count)
            if count >= self.stable_polls:
                del self._seen[key]
                taken.append(self._take_one(path))
        for gone in set(self._seen) - present:
            del self._seen[gone]
        return taken

    def _take(self, path: Path) -> SubmissionResult:
        """Take a file in: anonymously, or as the user whose personal folder holds it."""
        if path.parent == self.incoming or self.personal is None:
            return self.take(path, path.name)
        owner = self.personal.owner_of(path.parent.name)
        if owner is None:
            raise PersonalFolderRefusedError(
                f"{path.name}: the folder's drop token is unknown or revoked; not taken"
            )
        return self.personal.take(path, path.name, owner)

    def _take_one(self, path: Path) -> SubmissionResult | None:
        try:
            result: SubmissionResult | None = self._take(path)
        except SubmissionError as err:
            diagnostics = list(getattr(err, "diagnostics", []))
            code = "SUB011" if isinstance(err, PersonalFolderRefusedError) else "SUB006"
            report = Report(path.name, "profile", diagnostics) if diagnostics else (
                Report(path.name).refuse(code, str(err))
            )  # fmt: skip
            state = SubmissionState.REJECTED
            self._move(path, self.rejected, report.as_text(state), report.as_json(state))
            return None
        assert result is not None
        folder = self.done if result.accepted else self.rejected
        self._move(path, folder, result.report_text, result.report)
        return result

    def _move(self, path: Path, folder: Path, text: str, data: dict[str, object]) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        name = safe_filename(path.name, "upload")
        target = folder / name
        counter = 1
        while target.exists():
            counter += 1
            target = folder / f"{name}.{counter}"
        os.replace(path, target)
        target.with_name(target.name + ".report.txt").write_text(text, encoding="utf-8")
        target.with_name(target.name + ".report.json").write_text(
            json.dumps(data, indent=2), encoding="utf-8"
        )
        logger.info("watched directory: %s -> %s/%s", path.name, folder.name, target.name)

    def run(self, stop: threading.Event, interval_s: float) -> None:
        """Poll every `interval_s` seconds until `stop` is set."""
        while not stop.is_set():
            try:
                self.poll()
            except Exception:  # a task boundary: log, keep watching
                logger.exception("watched directory poll failed")
            stop.wait(interval_s)
