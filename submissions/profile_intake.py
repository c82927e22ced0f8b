"""Raw instrument files through the intake: a folder stream's files are converted by its
instrument profile into header-format files, which the pipeline validates and registers
like any other. The archived original is that header-format file; the raw file goes to the
folder's done/ (or rejected/, with the profile's diagnostics, naming raw lines)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from pathlib import Path

from formats.model import Diagnostic
from formats.profile_rows import convert
from formats.profiles import Profile
from submissions.errors import UploadRefusedError
from submissions.intake import SubmissionResult
from submissions.receiver_base import ThreadReceiver
from submissions.watch_dir import DirectoryWatcher, PersonalFolders

Take = Callable[[Path, str], SubmissionResult]


class ProfileRefusedError(UploadRefusedError):
    """A raw file the profile could not read; `diagnostics` name its lines."""

    def __init__(self, name: str, diagnostics: list[Diagnostic]) -> None:
        super().__init__(f"{name}: {len(diagnostics)} line(s) the profile could not read")
        self.diagnostics = diagnostics


def profile_take(profile: Profile, take: Take, max_bytes: int) -> Take:
    """`take` for raw files: refuse a name the profile does not match or a file it cannot
    read; hand the rendered header-format file to the intake otherwise."""

    def take_raw(path: Path, name: str) -> SubmissionResult:
        if not profile.matches(name):
            raise UploadRefusedError(f"{name} matches none of profile {profile.name}'s patterns")
        if path.stat().st_size > max_bytes:
            raise UploadRefusedError(f"{name} is larger than {max_bytes} bytes")
        raw = path.read_bytes().decode("utf-8", "replace")
        text, diagnostics = convert(profile, raw, source=name)
        if text is None:
            raise ProfileRefusedError(name, diagnostics)
        rendered = path.with_name(f".{path.name}.fieldcat")
        rendered.write_text(text, encoding="utf-8")
        try:
            return take(rendered, name)
        finally:
            rendered.unlink(missing_ok=True)

    return take_raw


class FolderStreamReceiver(ThreadReceiver):
    """A watched folder with its own profile; files go to `<folder>/done` or `/rejected`."""

    kind = "folder"

    def __init__(
        self, name: str, folder: Path, take: Take, poll_s: float, polls: int,
        done_rejected: tuple[Path, Path] | None = None, personal: PersonalFolders | None = None,
    ) -> None:  # fmt: skip
        super().__init__(name)
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        done, rejected = done_rejected or (folder / "done", folder / "rejected")
        self.watcher = DirectoryWatcher(folder, done, rejected, take, polls, personal)
        self.poll_s = poll_s

    def serve(self, stop: threading.Event) -> None:
        self.watcher.run(stop, self.poll_s)

    def detail(self) -> str:
        return f"folder {self.folder}; {self.error}" if self.error else f"folder {self.folder}"
