"""FieldCat formats: read, validate and convert field data files.

Importing this package is cheap: pandas, netCDF4 and matplotlib are imported only inside the
functions that need them, and format modules only when their format is used.
"""

from __future__ import annotations

from formats.limits import Limits
from formats.model import (
    QUALITY_MEANINGS,
    Column,
    ColumnKind,
    DataFile,
    Diagnostic,
    Extent,
    FeatureType,
    FormatError,
    Header,
    InvalidFileError,
    Quality,
    Severity,
    UnknownFormatError,
    UnsupportedFormatError,
    WriteError,
)
from formats.registry import (
    WRITER_FORMATS,
    ValidationReport,
    read,
    sniff,
    validate,
    write,
    write_to,
    writer_info,
)
from formats.subset import subset
from formats.timeparse import CampaignTime, campaign_time

__all__ = [
    "QUALITY_MEANINGS",
    "WRITER_FORMATS",
    "CampaignTime",
    "Column",
    "ColumnKind",
    "DataFile",
    "Diagnostic",
    "Extent",
    "FeatureType",
    "FormatError",
    "Header",
    "InvalidFileError",
    "Limits",
    "Quality",
    "Severity",
    "UnknownFormatError",
    "UnsupportedFormatError",
    "ValidationReport",
    "WriteError",
    "campaign_time",
    "read",
    "sniff",
    "subset",
    "validate",
    "write",
    "write_to",
    "writer_info",
]
