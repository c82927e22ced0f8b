"""The alternative to an order's zip: a shell script that fetches each dataset with curl.

One line per dataset the orderer may read (from this center, or from its origin center for
a mirrored record), and a comment with the reason for each one left out. Closed data the
orderer may read need their token: the script passes `$FIELDCAT_TOKEN` when it is set.
"""

from __future__ import annotations

import shlex
from collections.abc import Iterator
from datetime import datetime

from sqlalchemy.orm import Session

from catalog.downloads import base_filename
from catalog.links import ResourceLinks
from catalog.order_items import HeldElsewhere, LeftOut, classify
from catalog.order_models import Order
from catalog.orders import ordered_ids, orderer

AUTH = '${FIELDCAT_TOKEN:+-H "Authorization: Bearer $FIELDCAT_TOKEN"}'


def order_script(
    session: Session, order: Order, links: ResourceLinks, base_url: str, now: datetime
) -> Iterator[str]:
    """The script's lines (each ends with a newline), streamed dataset by dataset."""
    principal = orderer(session, order, now)
    fmt = order.spec.get("format", "original")
    yield "#!/bin/sh\n"
    yield f"# FieldCat order {order.public_id}: fetch each dataset with curl.\n"
    yield "# Set FIELDCAT_TOKEN to your API token to fetch data that is not open.\n"
    yield "set -eu\n"
    for index, public_id in enumerate(ordered_ids(session, order, principal, now), 1):
        found = classify(session, public_id, principal, now)
        if isinstance(found, LeftOut):
            yield f"# left out {public_id}: {found.reason}\n"
            continue
        origin = found.origin_url if isinstance(found, HeldElsewhere) else base_url.rstrip("/")
        url = f"{origin}{links.dataset(public_id, 'data')}?format={fmt}"
        version = found.dataset.current_version
        name = base_filename(found.dataset, version) if version else public_id
        target = f"{index:05d}_{name}"
        yield f"curl -fL {AUTH} -o {shlex.quote(target)} {shlex.quote(url)}\n"
        session.expunge_all()
