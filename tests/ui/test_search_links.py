"""The search page's links: each field encoded once (`SearchLinks`), yet each link exactly
what `urlencode` of the whole changed query gives, and read back as that query."""

from __future__ import annotations

from urllib.parse import parse_qsl, urlencode

from hypothesis import given
from hypothesis import strategies as st

from field_catalog_ui.forms import SearchLinks, search_url

NAMES = st.sampled_from(["q", "start", "end", "west", "platform", "pi", "cursor", "page", "a b"])
TEXT = st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=8)


def reference(values: dict[str, str], changes: dict[str, str | None]) -> str:
    merged = {k: v for k, v in values.items() if v}
    for name, value in changes.items():
        if value:
            merged[name] = value
        else:
            merged.pop(name, None)
    return "/search" + ("?" + urlencode(merged) if merged else "")


@given(st.dictionaries(NAMES, TEXT), st.dictionaries(NAMES, st.none() | TEXT))
def test_links_are_the_urlencoded_query(values: dict[str, str], changes: dict) -> None:
    links = SearchLinks(values)
    url = links.url(**changes)
    assert url == reference(values, changes) == search_url(values, **changes)
    expected = {k: v for k, v in (values | changes).items() if v}
    assert dict(parse_qsl(url.partition("?")[2], keep_blank_values=True)) == expected
    assert links.url() == reference(values, {})  # a variant leaves the others alone
