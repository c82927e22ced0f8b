"""Typed errors of the federation; only `web/errors.py` turns them into HTTP."""

from __future__ import annotations


class FederationError(Exception):
    """Base of every error the federation package raises."""


class SignatureError(FederationError):
    """A peer request's signature is missing, malformed, stale, replayed or wrong."""


class UnknownPeerError(FederationError):
    """No peer with that code is configured here."""


class PeerUnreachableError(FederationError):
    """A peer could not be reached (connection refused, timeout): a transport failure."""


class PeerProtocolError(FederationError):
    """A peer answered, but not as the protocol says (status, body, a gap in its log)."""
