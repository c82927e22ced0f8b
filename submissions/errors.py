"""Typed errors of the intake; only `web/errors.py` turns them into HTTP."""

from __future__ import annotations


class SubmissionError(Exception):
    """Base of every error the submissions package raises."""


class UploadRefusedError(SubmissionError):
    """The upload itself is unacceptable (name, empty, cut off); the message says why."""


class UnsafeNameError(UploadRefusedError):
    """The file name carries a path, control characters or nothing usable."""


class UploadTooLargeError(UploadRefusedError):
    """The upload passed the size limit; it was refused while streaming."""

    def __init__(self, limit: int) -> None:
        super().__init__(f"the file is larger than this receiver's limit of {limit} bytes")
        self.limit = limit


class UploadIncompleteError(UploadRefusedError):
    """The upload stopped before its end (connection lost, malformed body)."""


class SubmissionForbiddenError(SubmissionError):
    """The submitter may not do this (another PI's DID, an option outside the policy)."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(message)
        self.code = code
