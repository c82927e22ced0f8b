"""One table of every reader and writer, content sniffing, and atomic writing.

Entries name their functions lazily (`"module:function"`), so `import formats` stays cheap:
a format's module (and pandas, netCDF4...) is imported only when that format is used.
Reader: `(data: bytes, campaign: CampaignTime | None) -> (DataFile | None, diagnostics)`;
a reader registered with `takes_limits` also takes `limits=` (a `formats.Limits`).
Writer: `(datafile: DataFile, stream: BinaryIO) -> None`.
Sniffer: `(head: bytes) -> int`, 0 when the content is not this format, higher is surer.
"""

from __future__ import annotations

import contextlib
import importlib
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, BinaryIO, Literal, get_args

from formats.diagnostics import group
from formats.header_text import BOM, check_text, looks_binary
from formats.limits import DEFAULT_LIMITS, Limits, long_line
from formats.model import (
    DataFile,
    Diagnostic,
    FormatError,
    InvalidFileError,
    Severity,
    UnknownFormatError,
    UnsupportedFormatError,
    WriteError,
)
from formats.timeparse import CampaignTime

logger = logging.getLogger(__name__)

SNIFF_BYTES = 4096
"""How much of the head a sniffer sees."""
_HEAD_BYTES = 8192 + len(BOM)
"""What is read before the whole file: enough to sniff and to tell binary from text."""


@dataclass(frozen=True)
class ReaderInfo:
    """A registered reader: its sniffer and reader functions and usual file extensions."""

    name: str
    reader: str
    sniffer: str
    extensions: tuple[str, ...] = ()
    takes_path: bool = False
    """The reader also accepts `path=` (the file holding exactly `data`) to read it faster."""
    takes_limits: bool = False
    """The reader also accepts `limits=` and checks its format's header, column and remarks
    caps (the line-length cap is checked here, before any reader runs)."""


@dataclass(frozen=True)
class WriterInfo:
    """A registered writer: its function, file extension and media type."""

    name: str
    writer: str
    extension: str
    media_type: str
    options: dict[str, str] = field(default_factory=dict)


# The one table. Each format's helper adds its own lines here.
READERS: dict[str, ReaderInfo] = {
    "header": ReaderInfo(
        "header",
        "formats.header_format:read_header",
        "formats.header_format:sniff_header",
        (".txt", ".dat", ".hdr"),
        takes_path=True,
        takes_limits=True,
    ),
    "icartt": ReaderInfo(
        "icartt",
        "formats.icartt:read_icartt",
        "formats.icartt:sniff_icartt",
        (".ict",),
        takes_limits=True,
    ),
    "nasa_ames": ReaderInfo(
        "nasa_ames",
        "formats.nasa_ames:read_nasa_ames",
        "formats.nasa_ames:sniff_nasa_ames",
        (".na", ".nas"),
        takes_limits=True,
    ),
}

WRITERS: dict[str, WriterInfo] = {
    "netcdf": WriterInfo("netcdf", "formats.netcdf:write_netcdf", ".nc", "application/x-netcdf"),
    "csv": WriterInfo("csv", "formats.csv_format:write_csv", ".csv", "text/csv"),
    "header": WriterInfo(
        "header", "formats.header_format:write_header", ".txt", "text/plain; charset=utf-8"
    ),
    "icartt": WriterInfo(
        "icartt", "formats.icartt:write_icartt", ".ict", "text/plain; charset=utf-8"
    ),
}

WriterFormat = Literal["netcdf", "csv", "header", "icartt"]
"""The formats a data file can be written in: the one declaration of their names."""
WRITER_FORMATS: tuple[str, ...] = get_args(WriterFormat)

_NETCDF_MAGIC = (b"CDF\x01", b"CDF\x02", b"CDF\x05", b"\x89HDF\r\n\x1a\n")


@dataclass
class ValidationReport:
    """What `validate` found: the format, the parsed file when valid, grouped diagnostics."""

    format: str | None
    datafile: DataFile | None
    diagnostics: list[Diagnostic]

    @property
    def valid(self) -> bool:
        """True when no finding is an error."""
        return not any(d.severity is Severity.ERROR for d in self.diagnostics)

    @property
    def errors(self) -> list[Diagnostic]:
        """The error-severity findings."""
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The warning-severity findings."""
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]


def _load(spec: str) -> Callable[..., Any]:
    module_name, _, func_name = spec.partition(":")
    module = importlib.import_module(module_name)
    func: Callable[..., Any] = getattr(module, func_name)
    return func


def available_readers() -> list[str]:
    """Names of registered readers whose module is present."""
    found = []
    for name, info in READERS.items():
        try:
            _load(info.reader)
        except (ImportError, AttributeError):
            continue
        found.append(name)
    return found


def available_writers() -> list[str]:
    """Names of registered writers whose module is present."""
    found = []
    for name, info in WRITERS.items():
        try:
            _load(info.writer)
        except (ImportError, AttributeError):
            continue
        found.append(name)
    return found


def sniff(head: bytes, filename: str | None = None) -> str:
    """The reader name for content starting with `head`; the extension only breaks ties."""
    head = head[:SNIFF_BYTES]
    if head.startswith(_NETCDF_MAGIC):
        return "netcdf"
    scores: dict[str, int] = {}
    for name, info in READERS.items():
        try:
            sniffer = _load(info.sniffer)
        except (ImportError, AttributeError):
            continue
        try:
            score = int(sniffer(head))
        except Exception:  # a sniffer must never break sniffing of the others
            logger.exception("sniffer %s failed", name)
            score = 0
        if score > 0:
            scores[name] = score
    if not scores:
        raise UnknownFormatError("the content is not a format FieldCat reads")
    best = max(scores.values())
    tied = [name for name, score in scores.items() if score == best]
    if len(tied) > 1 and filename:
        suffix = Path(filename).suffix.lower()
        by_ext = [name for name in tied if suffix in READERS[name].extensions]
        if by_ext:
            return by_ext[0]
    return tied[0]


def _as_bytes(source: Path | bytes) -> bytes:
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source)
    try:
        return Path(source).read_bytes()
    except OSError as err:
        raise FormatError(f"cannot read {Path(source).name}: {err.strerror}") from err


def _head(source: Path | bytes) -> bytes:
    """The first `_HEAD_BYTES` of the content (all of it when shorter)."""
    if isinstance(source, bytes | bytearray | memoryview):
        return bytes(source[:_HEAD_BYTES])
    try:
        with Path(source).open("rb") as stream:
            return stream.read(_HEAD_BYTES)
    except OSError as err:
        raise FormatError(f"cannot read {Path(source).name}: {err.strerror}") from err


def _filename(source: Path | bytes, filename: str | None) -> str | None:
    if filename is not None:
        return filename
    return None if isinstance(source, bytes | bytearray | memoryview) else Path(source).name


def _finding(code: str, message: str) -> Diagnostic:
    return Diagnostic(code=code, severity=Severity.ERROR, message=message)


class _Digest:
    """SHA-256 of the source, computed in a thread while the reader parses (hashlib
    releases the GIL, so on two cores the 100 MB hash costs no wall time)."""

    def __init__(self, data: bytes) -> None:
        import hashlib
        import threading

        self._hash = hashlib.sha256()
        self._thread = threading.Thread(target=self._hash.update, args=(data,), daemon=True)
        self._thread.start()

    def hexdigest(self) -> str:
        """The hex digest, once the thread is done."""
        self._thread.join()
        return self._hash.hexdigest()


def validate(
    source: Path | bytes,
    *,
    campaign: CampaignTime | None = None,
    filename: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> ValidationReport:
    """Read and check a file; never raises for bad content, the report says what is wrong.

    `limits` caps lines, header, columns and remarks; a line over the cap stops the reading
    before any reader sees the file (every reader then stays within the caps).
    """
    name = _filename(source, filename)
    head = _head(source)
    try:
        fmt = sniff(head[:SNIFF_BYTES], name)
    except UnknownFormatError:
        # The campaign's own format is the default, so its checks tell the PI what is wrong
        # (empty, binary, no header...) rather than a bare "unknown format".
        fmt = "header"
    if fmt not in READERS:
        diag = _finding("FMT002", f"{fmt} files are recognised but cannot be read here")
        return ValidationReport(fmt, None, [diag])
    try:
        reader = _load(READERS[fmt].reader)
    except (ImportError, AttributeError):
        diag = _finding("FMT002", f"the {fmt} reader is not available in this installation")
        return ValidationReport(fmt, None, [diag])
    if fmt == "header":
        # Binary content is told from its head: a gigabyte of random bytes is never read.
        check = check_text(head)
        if check.fatal and any(d.code == "TXT002" for d in check.diagnostics):
            return ValidationReport(fmt, None, group(check.diagnostics))
    data = head if len(head) < _HEAD_BYTES else _as_bytes(source)
    # A binary file is the reader's to report (TXT002), not as one very long line.
    too_long = None if looks_binary(data) else long_line(data, limits)
    if too_long is not None:
        return ValidationReport(fmt, None, [too_long])
    digest = _Digest(data)
    options: dict[str, Any] = {"limits": limits} if READERS[fmt].takes_limits else {}
    if READERS[fmt].takes_path and not isinstance(source, bytes | bytearray | memoryview):
        options["path"] = Path(source)
    try:
        datafile, diagnostics = reader(data, campaign, **options)
    except FormatError as err:
        diagnostics = list(getattr(err, "diagnostics", [])) or [_finding("FMT003", str(err))]
        datafile = None
    except Exception:  # a reader bug must not take the caller down; the log keeps it
        logger.exception("the %s reader failed on %s", fmt, name or "<bytes>")
        diag = _finding("FMT003", f"the file could not be read as {fmt}")
        return ValidationReport(fmt, None, [diag])
    diagnostics = group(diagnostics)
    if datafile is not None:
        datafile.source_name = Path(name).name if name else ""
        datafile.source_sha256 = digest.hexdigest()
    report = ValidationReport(fmt, datafile, diagnostics)
    if not report.valid:
        report.datafile = None
    return report


def read(
    source: Path | bytes,
    *,
    campaign: CampaignTime | None = None,
    filename: str | None = None,
    limits: Limits = DEFAULT_LIMITS,
) -> DataFile:
    """Read a file into a `DataFile`; raises `InvalidFileError` (with diagnostics) if invalid."""
    report = validate(source, campaign=campaign, filename=filename, limits=limits)
    if not report.valid or report.datafile is None:
        first = report.errors[0].message if report.errors else "no data"
        raise InvalidFileError(f"invalid file: {first}", report.diagnostics)
    return report.datafile


def writer_info(fmt: str) -> WriterInfo:
    """The registered writer for `fmt` (`UnsupportedFormatError` if there is none)."""
    try:
        return WRITERS[fmt]
    except KeyError:
        known = ", ".join(WRITER_FORMATS)
        raise UnsupportedFormatError(f"no writer for {fmt!r}; choose one of {known}") from None


def write_to(datafile: DataFile, fmt: str, stream: BinaryIO, **options: Any) -> None:
    """Write `datafile` in format `fmt` to an open binary stream; `options` go to the
    writer (NetCDF: `attributes`, `compress`)."""
    info = writer_info(fmt)
    try:
        writer = _load(info.writer)
    except (ImportError, AttributeError) as err:
        raise UnsupportedFormatError(f"the {fmt} writer is not available") from err
    try:
        writer(datafile, stream, **options)
    except FormatError:
        raise
    except (
        ValueError,
        TypeError,
        KeyError,
        IndexError,
        OverflowError,
        RuntimeError,
        AttributeError,
    ) as err:
        # A writer bug or a library's refusal (netCDF4, HDF5) reaches the caller as a
        # FormatError with a message, never as a traceback; the log keeps the details.
        logger.exception("the %s writer failed", fmt)
        raise WriteError(f"the file cannot be written as {fmt}: {type(err).__name__}") from err


def write(datafile: DataFile, fmt: str, out: Path, **options: Any) -> None:
    """Write atomically: a temp file in the same directory, fsync, then rename onto `out`;
    `options` as in `write_to`."""
    out = Path(out)
    writer_info(fmt)  # fail before creating anything
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".part", dir=out.parent)
    tmp = Path(tmp_name)
    try:
        with os.fdopen(fd, "wb") as stream:
            write_to(datafile, fmt, stream, **options)
            stream.flush()
            os.fsync(stream.fileno())
        os.chmod(tmp, 0o644)
        os.replace(tmp, out)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
