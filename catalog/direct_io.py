"""New files written past the page cache (O_DIRECT), for bulk transfers.

A hand-over moves a whole center's archive (hundreds of GB in a real campaign): written
through the page cache, every byte is copied once more in the kernel and the transfer pushes
the running center's hot pages (its database, its recent files) out of memory, bytes nobody
will read soon. `DirectFile` writes whole aligned blocks straight from an aligned buffer
(`aligned_buffer`) to the disk and only a file's unaligned tail through the page cache. The
caller still fsyncs before it trusts the file: O_DIRECT skips the cache, not the disk's own
write cache or the file's metadata.

Where the system or the file system does not allow it (no `O_DIRECT` on macOS, `EINVAL` on
some file systems, a buffer not aligned), the file is written the usual way: correct
everywhere, faster where it can be.
"""

from __future__ import annotations

import errno
import fcntl
import mmap
import os
from pathlib import Path
from types import TracebackType

ALIGN = 4096
"""The alignment of direct writes (address, length and offset): a page, which is a whole
number of logical blocks on every disk in use (512 or 4096 bytes)."""
O_DIRECT: int = getattr(os, "O_DIRECT", 0)


def aligned_buffer(size: int) -> memoryview:
    """A writable buffer of `size` bytes starting on a page (anonymous memory, so aligned)."""
    return memoryview(mmap.mmap(-1, size))


class DirectFile:
    """A new file (refused if it exists), written with `write` and closed by `close` or
    `with`: whole `ALIGN` blocks from an aligned buffer go past the page cache, anything
    else (a tail, a misaligned buffer) through it, from then on."""

    def __init__(self, path: Path) -> None:
        flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_CLOEXEC", 0)
        self.direct = bool(O_DIRECT)
        try:
            self.fd = os.open(path, flags | O_DIRECT, 0o644)
        except OSError as err:
            if not O_DIRECT or err.errno != errno.EINVAL:
                raise
            self.fd = os.open(path, flags, 0o644)  # a file system without direct I/O
            self.direct = False

    def write(self, data: memoryview) -> None:
        """Write all of `data` at the end of the file."""
        while data:
            if not self.direct:
                count = os.write(self.fd, data)
            elif (whole := len(data) - len(data) % ALIGN) == 0:
                self._buffered()  # a tail: the file's offset will no longer be aligned
                continue
            else:
                try:
                    count = os.write(self.fd, data[:whole])
                except OSError as err:
                    if err.errno != errno.EINVAL:
                        raise
                    self._buffered()  # refused (a misaligned buffer): nothing was written
                    continue
                if count % ALIGN:
                    self._buffered()
            data = data[count:]

    def _buffered(self) -> None:
        fcntl.fcntl(self.fd, fcntl.F_SETFL, fcntl.fcntl(self.fd, fcntl.F_GETFL) & ~O_DIRECT)
        self.direct = False

    def fsync(self) -> None:
        """Make the file's bytes and size durable."""
        os.fsync(self.fd)

    def close(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1

    def __enter__(self) -> DirectFile:
        return self

    def __exit__(self, kind: type[BaseException] | None, value: BaseException | None,
                 traceback: TracebackType | None) -> None:  # fmt: skip
        self.close()
