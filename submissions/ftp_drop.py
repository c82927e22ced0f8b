"""The FTP drop: anonymous users may only write new files into one directory.

No listing, no download, no overwrite, no resume, no directories, no climbing out; a cap per
file (enforced while the bytes arrive) and a quota per day. A file is handed to `take` as
soon as its upload completes, on a small thread pool so the FTP loop never waits on it.

An upload counts as complete only when its data connection ends in an orderly close (FIN):
one that ends in an error (reset, time-out, ABOR) is discarded, with no dataset and no
staging file left. When the client declared a size (`ALLO n` before `STOR`), the bytes that
arrived must match it. `SIZE name` answers the bytes this session stored under that name, so
a client can check its own upload. What FTP cannot tell: a client that closes the data
connection cleanly in the middle of a file (stream mode has no end-of-file marker) is
indistinguishable from a complete upload unless it declared the size with `ALLO`.
"""

from __future__ import annotations

import errno
import logging
import os
import socket
import sys
import threading
import warnings
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, ClassVar

from pyftpdlib.authorizers import AuthenticationFailed, DummyAuthorizer
from pyftpdlib.filesystems import AbstractedFS
from pyftpdlib.handlers import DTPHandler, FTPHandler
from pyftpdlib.ioloop import _ERRNOS_DISCONNECTED, _RetryError
from pyftpdlib.servers import FTPServer

logger = logging.getLogger(__name__)

OVER_LIMIT = "552 Over the drop's limit (per file, or today's quota left); transfer aborted."
ANONYMOUS_PERM = "w"
"""Store only: no `e` (CWD), `l` (LIST, SIZE...), `r` (RETR), `a` (APPE), `d`, `f`, `m`."""
DROP_USER = "drop"
"""The login of a personal drop: its password is the user's drop token (`catalog.drops`)."""


def owner_folder(directory: Path, user_id: int) -> Path:
    """Where a user's personal FTP uploads land (a file there is that user's)."""
    return directory / f"u{user_id}"


def owner_of_upload(directory: Path, path: Path) -> int | None:
    """The user a finished upload belongs to (its personal folder), None for an anonymous one."""
    parent = path.parent
    if parent.parent == directory and parent.name[:1] == "u" and parent.name[1:].isdigit():
        return int(parent.name[1:])
    return None


class _DropAuthorizer(DummyAuthorizer):  # type: ignore[misc]
    """Anonymous, or `drop` with a user's live drop token as the password."""

    def validate_authentication(self, username: str, password: str, handler: Any) -> None:
        if username != DROP_USER:
            super().validate_authentication(username, password, handler)
            return
        owner = handler.drop.owner_of(password) if handler.drop.owner_of else None
        if owner is None:
            raise AuthenticationFailed("Authentication failed.")
        handler.drop_owner = owner


@dataclass(frozen=True)
class FtpDropConfig:
    """Where the drop listens, where files land, and its limits."""

    directory: Path
    host: str = "127.0.0.1"
    port: int = 2121
    max_file_bytes: int = 256 * 1024**2
    daily_quota_bytes: int = 2 * 1024**3
    passive_ports: tuple[int, int] | None = None
    workers: int = 2


def part_path(path: str) -> str:
    """Where an upload's bytes arrive until it is complete (a dot name, never taken)."""
    head, name = os.path.split(path)
    return os.path.join(head, f".{name}.part")


def complete_path(part: Path) -> Path:
    """The own name of a finished upload held at its part path."""
    return part.with_name(part.name[1 : -len(".part")])


class _CappedFile:
    """A file being written that refuses bytes past its cap (EFBIG aborts the transfer)."""

    def __init__(self, handle: Any, cap: int) -> None:
        self._handle = handle
        self._cap = cap
        self._written = 0
        self.name: str = handle.name

    @property
    def closed(self) -> bool:
        return bool(self._handle.closed)

    def write(self, chunk: bytes) -> int:
        self._written += len(chunk)
        if self._written > self._cap:
            raise OSError(errno.EFBIG, os.strerror(errno.EFBIG))
        return int(self._handle.write(chunk))

    def close(self) -> None:
        if not self._handle.closed:
            self._handle.flush()
            os.fsync(self._handle.fileno())
        self._handle.close()


class _DropDTP(DTPHandler):  # type: ignore[misc]
    """Completes an upload only on an orderly close of the data connection (and, when the
    client declared a size with ALLO, only with exactly that many bytes); says why an upload
    past the cap was cut off (pyftpdlib's own reply loses the errno)."""

    def recv(self, buffer_size: int) -> bytes:
        """Read from the data connection; a reset or other error discards the upload.

        pyftpdlib treats ECONNRESET like an orderly close and answers 226; here it aborts
        the transfer, so a cut-off file never becomes a dataset.
        """
        try:
            data: bytes = self.socket.recv(buffer_size)
        except OSError as err:
            if err.errno in _ERRNOS_DISCONNECTED:
                self._discard("426 Data connection reset by the client; upload discarded.")
                return b""
            if err.errno in (errno.EAGAIN, errno.EWOULDBLOCK, errno.EINTR):
                raise _RetryError from err
            raise
        if not data:
            self.handle_close()
        return data

    def _discard(self, reply: str) -> None:
        """End the transfer as incomplete: the part file is removed, `reply` goes out."""
        self.transfer_finished = False
        self._resp = (reply, logger.info)
        self.close()

    def handle_close(self) -> None:
        """An orderly close completes the upload, unless the connection carries an error
        (a reset the poller reported before any read) or the size declared with ALLO was
        not met."""
        if self.receive and not self._closed:
            if self._socket_error():
                self._discard("426 Data connection ended in an error; upload discarded.")
                return
            declared = self.cmd_channel.declared_size
            got = int(self.get_transmitted_bytes())
            if declared is not None and got != declared:
                logger.info("FTP upload of %d bytes, ALLO declared %d: discarded", got, declared)
                self._discard(
                    f"451 Received {got} bytes but ALLO declared {declared}; upload discarded."
                )
                return
        super().handle_close()

    def _socket_error(self) -> int:
        try:
            return int(self.socket.getsockopt(socket.SOL_SOCKET, socket.SO_ERROR))
        except OSError as err:
            return err.errno or errno.EBADF

    def handle_error(self) -> None:
        """A write past the cap aborts with 552 and a readable reason."""
        cause = getattr(sys.exc_info()[1], "__cause__", None)
        if isinstance(cause, OSError) and cause.errno == errno.EFBIG:
            self._resp = (OVER_LIMIT, logger.info)
            self.close()
            return
        super().handle_error()


class _DropFS(AbstractedFS):  # type: ignore[misc]
    """A file system that only creates new files directly in the drop directory."""

    def open(self, filename: str, mode: str) -> Any:
        """Open for writing a file that must not exist yet; nothing may be read."""
        if "w" not in mode or "+" in mode:
            raise OSError(errno.EACCES, "only new uploads are allowed here")
        handler = self.cmd_channel
        cap = handler.drop.upload_cap()
        if cap <= 0:
            raise OSError(errno.EDQUOT, "the drop's daily quota is used up")
        # "x": never overwrite a file that is there (another upload of the same name). The
        # bytes arrive under a dot name and get their own name once complete.
        return _CappedFile(open(part_path(filename), "xb"), cap)


class _DropHandler(FTPHandler):  # type: ignore[misc]
    """Refuses everything but STOR of a plain name; hands finished files over."""

    drop: FtpDrop
    abstracted_fs = _DropFS
    dtp_handler = _DropDTP
    permit_foreign_addresses = False
    banner = "FieldCat FTP drop: put files here (anonymous, write-only)."

    declared_size: int | None = None
    """The size declared with ALLO for the upload in progress (None: not declared)."""
    _allo: int | None = None
    """The size declared with ALLO for the next STOR."""
    stored_sizes: dict[str, int]
    """Bytes of each upload this session completed, by name (for SIZE)."""
    proto_cmds: ClassVar[dict[str, Any]] = {
        **FTPHandler.proto_cmds,
        "SIZE": {**FTPHandler.proto_cmds["SIZE"], "perm": None},
    }
    """SIZE needs no listing right here: it only answers for this session's own uploads."""

    drop_owner: int | None = None
    """The user of a personal login (`drop` with their token); None when anonymous."""

    def handle_auth_success(self, home: str, password: str, msg_login: str) -> None:
        """A personal login writes into its user's own folder (never seen by others)."""
        if self.drop_owner is not None:
            folder = owner_folder(self.drop.directory, self.drop_owner)
            folder.mkdir(exist_ok=True)
            home = str(folder)
        super().handle_auth_success(home, "", msg_login)

    def pre_process_command(self, line: str, cmd: str, arg: str) -> Any:
        """Refuse a path in a store command as given, before it is mapped into the drop."""
        if cmd.upper() in ("STOR", "APPE", "STOU") and ("/" in arg or "\\" in arg):
            self.respond("553 Only plain file names are allowed; no directories.")
            return None
        return super().pre_process_command(line, cmd, arg)

    def ftp_STOR(self, file: str, mode: str = "w") -> Any:
        """Store a new file; plain names in the drop directory only."""
        if os.path.dirname(os.path.realpath(file)) != os.path.realpath(self.fs.root):
            self.respond("553 Only plain file names in the drop directory are allowed.")
            return None
        name = os.path.basename(file)
        if name.startswith(".") or any(ord(ch) < 32 or ord(ch) == 127 for ch in name):
            self.respond("553 File name not allowed.")
            return None
        if self.drop.upload_cap() <= 0:
            self.respond("552 The drop's daily quota is used up; try again tomorrow.")
            return None
        if os.path.lexists(file) or os.path.lexists(part_path(file)):
            self.respond("550 A file of that name is waiting to be taken in; no overwrite.")
            return None
        declared, self._allo = self._allo, None
        if declared is not None and declared > self.drop.upload_cap():
            self.respond(OVER_LIMIT)
            return None
        self.declared_size = declared
        return super().ftp_STOR(file, mode)

    def ftp_ALLO(self, line: str) -> None:
        """Note the size of the next upload (`ALLO n`, or `ALLO n R m`): it must match."""
        first = line.split()[0] if line.split() else ""
        if not (first.isascii() and first.isdigit() and len(first) <= 18):
            self.respond("501 Syntax: ALLO <SP> bytes.")
            return
        size = int(first)
        if size > self.drop.upload_cap():
            self.respond(OVER_LIMIT)
            return
        self._allo = size
        self.respond(f"200 The next upload must hold exactly {size} bytes.")

    def ftp_SIZE(self, path: str) -> None:
        """The size of an upload this session completed; nothing else is disclosed."""
        size = self._stored().get(os.path.basename(path))
        if size is None:
            self.respond("550 Only the size of your own completed uploads can be asked.")
            return
        self.respond(f"213 {size}")

    def _stored(self) -> dict[str, int]:
        if not hasattr(self, "stored_sizes"):
            self.stored_sizes = {}
        return self.stored_sizes

    def ftp_REST(self, line: str) -> None:
        """Resuming is refused: a file is taken in whole or not at all."""
        self.respond("502 Resuming uploads is not allowed here.")

    def ftp_STOU(self, line: str) -> None:
        """Refused: name the file."""
        self.respond("502 STOU is not allowed here; use STOR with a file name.")

    def on_file_received(self, file: str) -> None:
        """Give the complete upload its name, then hand it over (outside the FTP loop).

        The rename happens before the client's 226 goes out, so a file the client saw
        accepted is complete under its own name even if the node dies right after.
        """
        self.declared_size = None
        final = complete_path(Path(file))
        self._stored()[final.name] = Path(file).stat().st_size
        os.replace(file, final)
        self.drop.received(final)

    def on_incomplete_file_received(self, file: str) -> None:
        """A cut-off, reset, mismatched or over-size upload: its bytes vanish."""
        self.declared_size = None
        Path(file).unlink(missing_ok=True)
        logger.info("FTP upload %s incomplete; removed", os.path.basename(file))


class FtpDrop:
    """The FTP server of the drop, run in its own thread until `stop()`."""

    def __init__(
        self,
        config: FtpDropConfig,
        take: Callable[[Path], object],
        bytes_today: Callable[[], int],
        owner_of: Callable[[str], int | None] | None = None,
    ) -> None:
        self.config = config
        self.directory = config.directory.resolve()
        self.take = take
        self.bytes_today = bytes_today
        self.owner_of = owner_of
        """The user whose drop token a `drop` login gives (None: personal logins are off)."""
        self._pool = ThreadPoolExecutor(config.workers, thread_name_prefix="fieldcat-ftp-take")
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self.directory.mkdir(parents=True, exist_ok=True)
        authorizer = _DropAuthorizer()
        with warnings.catch_warnings():  # write-only on purpose: the drop's whole point
            warnings.simplefilter("ignore", RuntimeWarning)
            authorizer.add_anonymous(str(self.directory), perm=ANONYMOUS_PERM)
            # its password is checked by `_DropAuthorizer` against the drop tokens, never this
            authorizer.add_user(DROP_USER, os.urandom(16).hex(), str(self.directory),
                                perm=ANONYMOUS_PERM)  # fmt: skip
        attrs: dict[str, Any] = {"drop": self, "authorizer": authorizer}
        if config.passive_ports:
            attrs["passive_ports"] = range(config.passive_ports[0], config.passive_ports[1] + 1)
        handler = type("FieldCatDropHandler", (_DropHandler,), attrs)
        self.server = FTPServer((config.host, config.port), handler)

    @property
    def address(self) -> tuple[str, int]:
        """The (host, port) the server listens on (port 0 in the config picks a free one)."""
        host, port = self.server.socket.getsockname()[:2]
        return str(host), int(port)

    def upload_cap(self) -> int:
        """Bytes one new upload may hold now: the per-file cap within today's quota left."""
        left = self.config.daily_quota_bytes - self.bytes_today()
        return min(self.config.max_file_bytes, left)

    def received(self, path: Path) -> None:
        """Queue a finished upload for intake."""
        self._pool.submit(self._take, path)

    def _take(self, path: Path) -> None:
        try:
            self.take(path)
        except Exception:  # a task boundary: log, keep serving
            logger.exception("FTP drop could not take in %s", path.name)
        finally:
            path.unlink(missing_ok=True)

    def take_leftovers(self) -> None:
        """Take in complete uploads a stop left behind; remove partial ones."""
        folders = [p for p in self.directory.iterdir() if p.is_dir() and not p.is_symlink()]
        for path in sorted([*self.directory.iterdir(), *(f for d in folders for f in d.iterdir())]):
            if not path.is_file():
                continue
            if path.name.startswith("."):
                path.unlink(missing_ok=True)
                logger.info("removed partial FTP upload %s", path.name)
            else:
                self.received(path)

    def start(self) -> None:
        """Serve in a background thread."""
        self._thread = threading.Thread(target=self._serve, name="fieldcat-ftp", daemon=True)
        self._thread.start()
        logger.info("FTP drop listening on %s:%d", *self.address)

    def serving(self) -> bool:
        """Whether the server's thread is running (it ends on `stop()` or a crash)."""
        return self._thread is not None and self._thread.is_alive()

    def _serve(self) -> None:
        try:
            while not self._stop.is_set():
                self.server.ioloop.loop(timeout=0.2, blocking=False)
        except Exception:  # the thread ends; the supervisor starts a fresh drop
            logger.exception("FTP drop crashed")
        finally:
            self.server.close_all()

    def stop(self) -> None:
        """Stop serving; wait for queued intakes to finish."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self._pool.shutdown(wait=True)
