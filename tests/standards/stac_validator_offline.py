"""`stac-api-validator` without the network: its JSON schemas from pystac's copies.

stac-validator fetches the STAC JSON schemas from schemas.stacspec.org; tests run offline,
so this runs the validator's own command with its schema fetch answered from the schemas
pystac ships (`pystac.validation.local_validator`, STAC 1.1.0). Anything else it would fetch
fails as it would offline. Usage: python -m tests.standards.stac_validator_offline ARGS...
"""

from __future__ import annotations

import sys
from typing import Any

import stac_validator.utilities as utilities
from pystac.validation.local_validator import get_local_schema_cache
from stac_api_validator.__main__ import main

LOCAL = get_local_schema_cache()


def _local_schema(path: str) -> dict[str, Any]:
    if path in LOCAL:
        return LOCAL[path]
    raise ConnectionError(f"offline: no local copy of {path}")


if __name__ == "__main__":
    utilities._schema_cache = _local_schema
    sys.exit(main(sys.argv[1:]))
