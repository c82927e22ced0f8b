"""Submission reports in text and JSON: validator diagnostics and the intake's own findings.

The intake's codes (SUB...) are stable like the validator's; each says what to do.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from formats.diagnostics import render_json, render_text
from formats.model import Diagnostic, Severity

SUB_CODES: dict[str, str] = {
    "SUB001": "This DID already belongs, in this campaign, to another PI. Use your own DID, "
    "or ask the center's staff to reassign it.",
    "SUB002": "A file with different bytes must carry a higher DATA VERSION than the "
    "archived one. Raise DATA VERSION (staff may override).",
    "SUB003": "Product files must be named product_source.YYMMDDHHmm.product_name.ext.",
    "SUB004": "A submission option is outside the campaign's policy; the message says which.",
    "SUB005": "The dataset of this DID was withdrawn; ask the center's staff.",
    "SUB006": "The upload was refused (size limit, empty or cut off); send the whole file again.",
    "SUB007": "The center restarted while taking this file in; send it again.",
    "SUB008": "The file cannot be registered (e.g. no time extent); the message says why.",
    "SUB009": "The image cannot be read; send a valid GIF, PNG, JPEG or TIFF.",
    "SUB010": "This DID's dataset has no owner. Claim it (POST datasets/{id}/claim in the API, "
    "with a reason); once staff approve, send the new version again.",
    "SUB011": "The personal folder's drop token is unknown or revoked; get a new drop address "
    "(POST me/drop-address in the API) and drop the file into its folder.",
}


@dataclass
class Report:
    """What a submission's report says: format, diagnostics and the intake's notes."""

    name: str
    format: str | None = None
    diagnostics: list[Diagnostic] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def refuse(self, code: str, message: str) -> Report:
        """Add an intake error (a whole-file finding) and return self."""
        self.diagnostics.append(Diagnostic(code=code, severity=Severity.ERROR, message=message))
        return self

    @property
    def errors(self) -> list[Diagnostic]:
        """The error findings."""
        return [d for d in self.diagnostics if d.severity is Severity.ERROR]

    @property
    def warnings(self) -> list[Diagnostic]:
        """The warning findings."""
        return [d for d in self.diagnostics if d.severity is Severity.WARNING]

    def as_text(self, state: str) -> str:
        """One finding a line, after a first line naming the file and its fate."""
        head = f"{self.name}: {state}"
        if self.format:
            head += f" ({self.format})"
        lines = [head, *self.notes]
        body = render_text(self.diagnostics, self.name)
        return "\n".join([*lines, body] if body else lines) + "\n"

    def as_json(self, state: str) -> dict[str, Any]:
        """The JSON form: the validator's fields plus the state, format and notes."""
        data = render_json(self.diagnostics, self.name)
        for item in data["diagnostics"]:
            if item["code"] in SUB_CODES:
                item["help"] = SUB_CODES[item["code"]]
        data.update(state=state, format=self.format, notes=list(self.notes))
        return data
