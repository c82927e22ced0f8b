"""The held-mail confirmation link: bound to its message, its user, its expiry and the
center's key; anything altered is refused."""

from __future__ import annotations

import dataclasses
from datetime import UTC, datetime, timedelta

import pytest

from catalog.errors import ConflictError, RoleRequiredError
from catalog.held_mail import check_confirmation, sign_confirmation

KEY = b"k" * 32
NOW = datetime(2026, 12, 6, tzinfo=UTC)


def test_the_link_confirms_only_its_message_for_its_user_until_it_expires() -> None:
    link = sign_confirmation(KEY, "held-1", 7, NOW + timedelta(days=7))
    check_confirmation(KEY, link, 7, NOW)  # as sent
    altered = [
        dataclasses.replace(link, held_id="held-2"),
        dataclasses.replace(link, user_id=8),
        dataclasses.replace(link, expires=link.expires + 1),
        dataclasses.replace(link, signature="0" * 64),
    ]
    for other in altered:
        with pytest.raises(RoleRequiredError):
            check_confirmation(KEY, other, other.user_id, NOW)
    with pytest.raises(RoleRequiredError, match="another user"):
        check_confirmation(KEY, link, 8, NOW)  # signed in as someone else
    with pytest.raises(RoleRequiredError):
        check_confirmation(b"x" * 32, link, 7, NOW)  # another center's key
    with pytest.raises(ConflictError, match="expired"):
        check_confirmation(KEY, link, 7, NOW + timedelta(days=8))
    assert link.query() == f"u=7&e={link.expires}&s={link.signature}"
