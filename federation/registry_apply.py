"""A peer's registry entries (`catalog.registry_records`) as rows: every field coerced and
bounded as the origin's routes bound it; anything else is a protocol error, never a
half-written row. Deciding whether to apply is `federation.field_apply`'s, as for products.
"""

from __future__ import annotations

import math
from typing import Any

from catalog.models import fold
from catalog.registry_models import PLACE_KINDS
from federation.errors import PeerProtocolError
from federation.feed import FeedChange
from federation.mirror_rows import payload_time

MAX_PARTS = 1000
"""At most this many components, calibrations, deployments or QC versions per instrument."""


def _text(p: dict[str, Any], name: str, limit: int, *, empty: bool = True) -> str:
    value = p.get(name)
    if not isinstance(value, str) or len(value) > limit or (not empty and not value.strip()):
        raise PeerProtocolError(f"bad {name} in a registry record")
    return value


def _number(p: dict[str, Any], name: str) -> float | None:
    value = p.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise PeerProtocolError(f"bad {name} in a registry record")
    return float(value)


def _time(p: dict[str, Any], name: str, *, required: bool = True) -> Any:
    value = payload_time(p.get(name))
    if value is None and required:
        raise PeerProtocolError(f"a registry record lacks its {name}")
    return value


def _list(p: dict[str, Any], name: str) -> list[dict[str, Any]]:
    value = p.get(name) or []
    if not isinstance(value, list) or len(value) > MAX_PARTS:
        raise PeerProtocolError(f"bad {name} in a registry record")
    if not all(isinstance(item, dict) for item in value):
        raise PeerProtocolError(f"bad {name} in a registry record")
    return value


def _origin(change: FeedChange) -> dict[str, Any]:
    return {
        "public_id": change.public_id, "center_code": change.origin_center,
        "origin_version": change.origin_version,
    }  # fmt: skip


def place_values(change: FeedChange, campaign_id: int) -> dict[str, Any]:
    """The `places` row of a mirrored platform or station (`campaign_id` unused)."""
    p = change.payload
    kind, name = _text(p, "kind", 16), _text(p, "name", 200, empty=False)
    if kind not in PLACE_KINDS:
        raise PeerProtocolError(f"a place's kind must be one of {', '.join(PLACE_KINDS)}")
    return {
        **_origin(change), "kind": kind, "name": name, "key": fold(name) or "",
        "latitude": _number(p, "latitude"), "longitude": _number(p, "longitude"),
        "altitude": _number(p, "altitude"), "description": _text(p, "description", 4000),
        "created_at": _time(p, "created_at"),
    }  # fmt: skip


def instrument_values(change: FeedChange, campaign_id: int) -> dict[str, Any]:
    """The `instruments` row of a mirrored instrument, with its parts under `parts`."""
    p = change.payload
    name = _text(p, "name", 200, empty=False)
    parts = {
        "components": [
            {"name": _text(c, "name", 200), "serial": _text(c, "serial", 100)}
            for c in _list(p, "components")
        ],
        "calibrations": [_calibration(c) for c in _list(p, "calibrations")],
        "deployments": [
            {"place": _text(d, "place", 32), "start": _time(d, "start"),
             "stop": _time(d, "stop", required=False)}
            for d in _list(p, "deployments")
        ],
        "qc_configs": [_qc_config(q) for q in _list(p, "qc_configs")],
    }  # fmt: skip
    return {
        **_origin(change), "name": name, "key": fold(name) or "", "kind": _text(p, "kind", 100),
        "description": _text(p, "description", 4000), "created_at": _time(p, "created_at"),
        "parts": parts,
    }  # fmt: skip


def _calibration(c: dict[str, Any]) -> dict[str, Any]:
    parameters, sha = c.get("parameters") or {}, c.get("certificate_sha256")
    if not isinstance(parameters, dict) or len(parameters) > 100:
        raise PeerProtocolError("bad parameters of a calibration")
    if sha is not None and (not isinstance(sha, str) or len(sha) != 64):
        raise PeerProtocolError("bad certificate_sha256 of a calibration")
    ref = c.get("id")  # its id at the origin, where its certificate is fetched
    bad_ref = isinstance(ref, bool) or not isinstance(ref, int) or not 0 < ref < 2**31
    if ref is not None and bad_ref:
        raise PeerProtocolError("bad id of a calibration")
    return {
        "valid_from": _time(c, "valid_from"), "valid_to": _time(c, "valid_to", required=False),
        "parameters": parameters, "certificate_name": _text(c, "certificate_name", 255),
        "certificate_sha256": sha, "origin_ref": ref,
    }  # fmt: skip


def _qc_config(q: dict[str, Any]) -> dict[str, Any]:
    version, tests = q.get("version"), q.get("tests")
    if isinstance(version, bool) or not isinstance(version, int) or not 0 < version < 2**31:
        raise PeerProtocolError("bad version of a QC configuration")
    if not isinstance(tests, dict):
        raise PeerProtocolError("bad tests of a QC configuration")
    return {
        "variable_key": _text(q, "variable", 200, empty=False), "version": version,
        "tests": tests, "created_at": _time(q, "created_at"), "created_by": "",
    }  # fmt: skip
