"""What a download may ask for: light on purpose (no SQLAlchemy), so the `fieldcat` command
can name the formats in its help without importing the catalog."""

from __future__ import annotations

from typing import Literal, get_args

from formats.registry import WriterFormat

DownloadFormat = Literal["original", WriterFormat]
"""What a download may ask for: the original as archived, or any writer format."""
DOWNLOAD_FORMATS: tuple[str, ...] = get_args(DownloadFormat)
