"""Open data are cached briefly and revalidated, so a re-embargo reaches shared caches within
the bound docs/access-caching.md states (SECURITY.md row 26)."""

from __future__ import annotations

import re

from sqlalchemy import update

from catalog.models import Dataset
from tests.archive_center.conftest import FUTURE, Node
from web.responses import OPEN_MAX_AGE_S

DOC = "docs/access-caching.md"


def test_open_data_are_cached_seconds_then_revalidated_through_the_check(node: Node) -> None:
    public_id = node.ids["sagar_kanya_sounding.txt"]
    url = f"/api/v1/datasets/{public_id}/data"
    first = node.client.get(url)
    assert first.status_code == 200
    directives = {d.strip() for d in first.headers["cache-control"].split(",")}
    assert directives == {"public", f"max-age={OPEN_MAX_AGE_S}", "must-revalidate"}
    assert OPEN_MAX_AGE_S <= 10
    etag = first.headers["etag"]
    assert node.client.get(url, headers={"If-None-Match": etag}).status_code == 304
    with node.app.state.session_factory() as session, session.begin():
        session.execute(
            update(Dataset)
            .where(Dataset.public_id == public_id)
            .values(access_state="embargoed", release_at=FUTURE)
        )
    # A cache revalidating its copy after the re-embargo is told no, never "not modified".
    again = node.client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 403
    assert again.headers["cache-control"] == "no-store"
    assert "etag" not in again.headers


def test_the_documented_bound_is_the_one_served() -> None:
    from tests.conftest import REPO

    text = (REPO / DOC).read_text()
    assert text.startswith("# Caching and re-embargo\n")
    assert f"max-age={OPEN_MAX_AGE_S}, must-revalidate" in text
    assert re.search(rf"at most \*\*{OPEN_MAX_AGE_S} seconds\*\*", text)
