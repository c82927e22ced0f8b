"""Files written past the page cache: the bytes are exactly those given, whatever their
length or the buffer's alignment, and a file system without direct I/O is written the usual
way."""

from __future__ import annotations

import errno
import os
from pathlib import Path

import pytest

from catalog import direct_io
from catalog.direct_io import ALIGN, DirectFile, aligned_buffer

CHUNK = 64 * 1024


def write_in_chunks(path: Path, data: bytes, buffer: memoryview) -> DirectFile:
    """Write `data` as a transfer does: the buffer filled whole, then written, the last
    piece short."""
    with DirectFile(path) as out:
        for start in range(0, len(data), CHUNK):
            piece = data[start : start + CHUNK]
            buffer[: len(piece)] = piece
            out.write(buffer[: len(piece)])
        out.fsync()
    return out


@pytest.mark.parametrize(
    "size", [0, 1, ALIGN - 1, ALIGN, ALIGN + 1, CHUNK, 3 * CHUNK, 3 * CHUNK + 4097]
)
def test_every_length_is_written_exactly(tmp_path: Path, size: int) -> None:
    data = os.urandom(size)
    path = tmp_path / "file"
    write_in_chunks(path, data, aligned_buffer(CHUNK))
    assert path.read_bytes() == data


DISK_FILE_SYSTEMS = {"ext4", "xfs", "btrfs"}


def file_system(path: Path) -> str:
    """The type of the file system holding `path` (Linux: the longest mount point above it)."""
    mounts = [line.split()[1:3] for line in Path("/proc/mounts").read_text().splitlines()]
    above = [(point, kind) for point, kind in mounts if path.is_relative_to(point)]
    return max(above, key=lambda mount: len(mount[0]))[1]


def opened_direct(fd: int) -> bool:
    """Whether the kernel holds this descriptor open with O_DIRECT (its flags in fdinfo)."""
    flags = Path(f"/proc/self/fdinfo/{fd}").read_text().split("flags:")[1].split()[0]
    return bool(int(flags, 8) & os.O_DIRECT)


def test_whole_blocks_go_direct_until_the_tail(tmp_path: Path) -> None:
    """On a disk's file system the file is opened for direct writes and stays so through
    whole blocks; a tail turns it to buffered writes for good (the offset is no longer
    aligned)."""
    buffer = aligned_buffer(CHUNK)
    buffer[:] = os.urandom(CHUNK)
    with DirectFile(tmp_path / "probe") as probe:
        assert opened_direct(probe.fd) == probe.direct
        if file_system(tmp_path) in DISK_FILE_SYSTEMS:
            assert probe.direct
        probe.write(buffer)
        assert opened_direct(probe.fd) == probe.direct
        probe.write(buffer[:10])
        assert not probe.direct and not opened_direct(probe.fd)
        probe.write(buffer)  # after the tail, the usual way
    assert (tmp_path / "probe").read_bytes() == bytes(buffer) + bytes(buffer[:10]) + bytes(buffer)


def test_a_misaligned_buffer_is_written_the_usual_way(tmp_path: Path) -> None:
    """A buffer not starting on a page is refused by the kernel (EINVAL) for direct writes:
    the same bytes are written buffered, none twice or lost."""
    buffer = aligned_buffer(2 * CHUNK + ALIGN)
    data = os.urandom(2 * CHUNK)
    buffer[1 : 1 + len(data)] = data
    with DirectFile(tmp_path / "file") as out:
        out.write(buffer[1 : 1 + len(data)])
        out.write(buffer[1 : 1 + ALIGN])
    assert (tmp_path / "file").read_bytes() == data + data[:ALIGN]


def test_an_existing_file_is_refused(tmp_path: Path) -> None:
    (tmp_path / "there").write_bytes(b"kept")
    with pytest.raises(FileExistsError):
        DirectFile(tmp_path / "there")
    assert (tmp_path / "there").read_bytes() == b"kept"


def test_a_file_system_without_direct_io(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Opening with O_DIRECT refused (EINVAL, as on file systems without it): the file is
    opened and written the usual way."""
    real_open = os.open

    def refusing(path: str, flags: int, mode: int = 0o777) -> int:
        if flags & direct_io.O_DIRECT:
            raise OSError(errno.EINVAL, "Invalid argument")
        return real_open(path, flags, mode)

    monkeypatch.setattr(direct_io, "O_DIRECT", os.O_DIRECT)
    monkeypatch.setattr(os, "open", refusing)
    data = os.urandom(3 * CHUNK + 5)
    out = write_in_chunks(tmp_path / "file", data, aligned_buffer(CHUNK))
    assert not out.direct
    assert (tmp_path / "file").read_bytes() == data
