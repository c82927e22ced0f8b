"""Problem details never show a server path, but do show the API paths they point to."""

from __future__ import annotations

import pytest

from web.errors import safe_message


@pytest.mark.parametrize(
    ("message", "shown"),
    [
        ("cannot open /srv/fieldcat/archive/ab/cd.nc: denied", "cannot open <file>: denied"),
        ("C:\\data\\fieldcat\\x.txt failed", "<file> failed"),
        ("/etc/passwd", "<file>"),
        ("see /api/v1/reports/daily/grant", "see /api/v1/reports/daily/grant"),
        ("both /tmp/a/b and /api/v1/x/y", "both <file> and /api/v1/x/y"),
    ],
)
def test_safe_message_hides_server_paths_only(message: str, shown: str) -> None:
    assert safe_message(message) == shown
