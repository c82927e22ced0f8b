"""Submitted file names: checked and kept for display, never used as paths; product names."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import UTC, datetime

from submissions.errors import UnsafeNameError

MAX_NAME = 255
PRODUCT_PATTERN = "product_source.YYMMDDHHmm.product_name.ext"
PRODUCT_EXTENSIONS = (
    "gif", "png", "jpg", "jpeg", "tif", "tiff", "pdf", "ps", "eps", "txt", "html", "htm",
)  # fmt: skip
IMAGE_EXTENSIONS = ("gif", "png", "jpg", "jpeg", "tif", "tiff")
PRODUCT_ONLY_EXTENSIONS = tuple(e for e in PRODUCT_EXTENSIONS if e != "txt")
"""Extensions that can only be a product (a `.txt` may be a data file)."""
_PRODUCT = re.compile(r"^([A-Za-z0-9_-]+)\.(\d{10})\.([A-Za-z0-9_-]+)\.([A-Za-z]+)$")
_PRODUCT_MAGIC = (b"GIF8", b"\x89PNG", b"\xff\xd8\xff", b"%PDF", b"%!PS", b"II*\x00", b"MM\x00*")


def sanitise_name(name: str) -> str:
    """The name as given, checked: no directories, no control characters, not empty.

    Refused rather than repaired, so the PI sees what the server will show.
    """
    name = unicodedata.normalize("NFC", name or "").strip()
    if not name:
        raise UnsafeNameError("the file has no name")
    if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in name):
        raise UnsafeNameError("the file name contains control characters")
    if "/" in name or "\\" in name or name in (".", "..") or name.startswith("."):
        raise UnsafeNameError(
            "the file name must be a plain name, without directories or a leading dot"
        )
    if len(name) > MAX_NAME:
        raise UnsafeNameError(f"the file name is longer than {MAX_NAME} characters")
    return name


@dataclass(frozen=True)
class ProductName:
    """The parts of `source.YYMMDDHHmm.name.ext`, the time placed in the campaign's century."""

    source: str
    moment: datetime
    product_name: str
    ext: str


def extension(name: str) -> str:
    """The lower-case extension without the dot ('' when none)."""
    return name.rsplit(".", 1)[1].lower() if "." in name else ""


def looks_like_product(name: str, head: bytes) -> bool:
    """Whether a file is meant as a product: its name's shape, its extension or its bytes."""
    if _PRODUCT.match(name) and extension(name) in PRODUCT_EXTENSIONS:
        return True
    if extension(name) in PRODUCT_ONLY_EXTENSIONS:
        return True
    start = head.lstrip()[:64].lower()
    return head.startswith(_PRODUCT_MAGIC) or start.startswith((b"<!doctype html", b"<html"))


def parse_product_name(name: str, reference_year: int) -> ProductName:
    """Split a product file name; UnsafeNameError with the expected pattern when it is not one."""
    match = _PRODUCT.match(name)
    expected = (
        f"product files are named {PRODUCT_PATTERN} (e.g. c130.9903070400.flight_track.gif): "
        "source and name without dots, time as two-digit year, month, day, hour, minute, "
        f"extension one of {', '.join(PRODUCT_EXTENSIONS)}"
    )
    if match is None or match.group(4).lower() not in PRODUCT_EXTENSIONS:
        raise UnsafeNameError(f"{name!r} is not a product name; {expected}")
    source, stamp, product, ext = match.groups()
    century = reference_year - reference_year % 100
    year = century + int(stamp[:2])
    if year > reference_year + 50:
        year -= 100
    elif year < reference_year - 50:
        year += 100
    try:
        moment = datetime(
            year, int(stamp[2:4]), int(stamp[4:6]), int(stamp[6:8]), int(stamp[8:10]), tzinfo=UTC
        )
    except ValueError as err:
        raise UnsafeNameError(f"{name!r}: the time {stamp} is not a real date; {expected}") from err
    return ProductName(source, moment, product, ext.lower())
