"""Web and REST intake: a multipart body streamed straight into staging.

The file part goes to a `Stager` as it arrives (size limit enforced while streaming, SHA-256
on the way); nothing is spooled elsewhere first. Small text fields are collected with caps on
their number and size, so a body of many tiny parts is refused early.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING
from urllib.parse import unquote

import anyio.to_thread
from python_multipart.exceptions import FormParserError
from python_multipart.multipart import MultipartParser, parse_options_header

from catalog.storage import ArchiveStore
from submissions.errors import UploadIncompleteError, UploadRefusedError
from submissions.names import sanitise_name
from submissions.staging import StagedFile, Stager

if TYPE_CHECKING:
    from python_multipart.multipart import MultipartCallbacks

FILE_FIELD = "file"
MAX_FIELDS = 16
MAX_FIELD_BYTES = 4096
FLUSH_BYTES = 2 << 20


@dataclass
class Upload:
    """What a multipart body held: the staged file, its given name and the text fields."""

    staged: StagedFile
    filename: str
    fields: dict[str, str] = field(default_factory=dict)

    def discard(self) -> None:
        """Remove the staged file (when the submission is not taken further)."""
        self.staged.path.unlink(missing_ok=True)


class _Collector:
    """Parser callbacks: headers, one file part to the stager, small fields to memory."""

    def __init__(
        self, stager: Stager, before_file: Callable[[dict[str, str]], None] | None = None
    ) -> None:
        self.stager = stager
        self.before_file = before_file
        self.refusal: Exception | None = None
        self.fields: dict[str, str] = {}
        self.filename: str | None = None
        self.pending = bytearray()
        self.ended = False
        self._header_name = b""
        self._header_value = b""
        self._disposition = b""
        self._in_file = False
        self._field_name = ""
        self._field = bytearray()
        self._parts = 0

    def on_part_begin(self) -> None:
        self._parts += 1
        if self._parts > MAX_FIELDS + 1:
            raise UploadRefusedError(f"too many parts in the form (at most {MAX_FIELDS + 1})")
        self._disposition, self._field = b"", bytearray()

    def on_header_field(self, data: bytes, start: int, end: int) -> None:
        self._header_name += data[start:end]

    def on_header_value(self, data: bytes, start: int, end: int) -> None:
        self._header_value += data[start:end]
        if len(self._header_value) > MAX_FIELD_BYTES:
            raise UploadRefusedError("a part header is too long")

    def on_header_end(self) -> None:
        if self._header_name.lower() == b"content-disposition":
            self._disposition = self._header_value
        self._header_name, self._header_value = b"", b""

    def on_headers_finished(self) -> None:
        _, options = parse_options_header(self._disposition)
        name = options.get(b"name", b"").decode("utf-8", "replace")
        self._in_file = name == FILE_FIELD
        self._field_name = name
        if self._in_file:
            if self.filename is not None:
                raise UploadRefusedError("send one file per submission")
            given = options.get(b"filename", b"").decode("utf-8", "replace")
            # Clients percent-encode what a header cannot carry (RFC 7578 4.2): decode it,
            # so an encoded "../" or control character is judged like a plain one.
            self.filename = sanitise_name(unquote(given))
            if self.before_file is not None:
                try:
                    self.before_file(dict(self.fields))
                except Exception as err:
                    self.refusal = err
                    raise

    def on_part_data(self, data: bytes, start: int, end: int) -> None:
        if self._in_file:
            self.pending += memoryview(data)[start:end]  # one copy, not a slice and a copy
            return
        self._field += data[start:end]
        if len(self._field) > MAX_FIELD_BYTES:
            raise UploadRefusedError(f"form field {self._field_name!r} is too long")

    def on_part_end(self) -> None:
        if not self._in_file:
            self.fields[self._field_name] = self._field.decode("utf-8", "replace")
        self._in_file = False

    def on_end(self) -> None:
        self.ended = True


async def receive_upload(
    chunks: AsyncIterator[bytes],
    content_type: str,
    store: ArchiveStore,
    limit: int,
    *,
    before_file: Callable[[dict[str, str]], None] | None = None,
) -> Upload:
    """Stream a multipart body: the `file` part into staging, the rest as text fields.

    Raises `UnsafeNameError`, `UploadTooLargeError` (as soon as the limit is passed) or
    `UploadIncompleteError` (body cut off or malformed); the partial file is then gone.
    `before_file` sees the fields sent before the file part, before any byte of the file is
    staged; whatever it raises (a web form's CSRF check) ends the upload unchanged.
    """
    kind, params = parse_options_header(content_type)
    if kind != b"multipart/form-data" or b"boundary" not in params:
        raise UploadRefusedError("send the file as multipart/form-data in a part named 'file'")
    with Stager(store, limit) as stager:
        collector = _Collector(stager, before_file)
        parser = MultipartParser(params[b"boundary"], callbacks=_callbacks(collector))
        writing: asyncio.Future[None] | None = None
        try:
            async for chunk in chunks:
                parser.write(chunk)
                if len(collector.pending) >= FLUSH_BYTES:
                    # Double-buffered: the previous megabyte is hashed and written in a
                    # thread while the next one arrives.
                    if writing is not None:
                        await writing
                    writing = _start_flush(collector)
            if writing is not None:
                await writing
            parser.finalize()
        except BaseException as err:
            if writing is not None and not writing.done():
                with contextlib.suppress(Exception):  # let the thread finish before cleanup
                    await writing
            if err is collector.refusal:
                raise
            if isinstance(err, FormParserError):
                raise UploadIncompleteError("the multipart body is malformed") from err
            if isinstance(err, UploadRefusedError | OSError) or not isinstance(err, Exception):
                raise
            # the client went away mid-body
            raise UploadIncompleteError("the upload was cut off before its end") from err
        await _flush(collector)
        if not collector.ended:
            raise UploadIncompleteError("the upload was cut off before its end")
        if collector.filename is None:
            raise UploadRefusedError("the form has no part named 'file'")
        staged = await anyio.to_thread.run_sync(stager.finish)
    return Upload(staged, collector.filename, collector.fields)


def _start_flush(collector: _Collector) -> asyncio.Future[None]:
    """Hash and write the pending bytes in two threads at once (both release the GIL)."""
    data, collector.pending = collector.pending, bytearray()  # handed over, not copied
    stager = collector.stager
    stager.admit(len(data))
    loop = asyncio.get_running_loop()
    hashing = loop.run_in_executor(None, stager.hash_chunk, data)
    writing = loop.run_in_executor(None, stager.write_chunk, data)
    return asyncio.ensure_future(_both(hashing, writing))


async def _both(first: asyncio.Future[None], second: asyncio.Future[None]) -> None:
    await asyncio.gather(first, second)


async def _flush(collector: _Collector) -> None:
    if collector.pending:
        await _start_flush(collector)


def _callbacks(c: _Collector) -> MultipartCallbacks:
    return {
        "on_part_begin": c.on_part_begin,
        "on_part_data": c.on_part_data,
        "on_part_end": c.on_part_end,
        "on_header_field": c.on_header_field,
        "on_header_value": c.on_header_value,
        "on_header_end": c.on_header_end,
        "on_headers_finished": c.on_headers_finished,
        "on_end": c.on_end,
    }
