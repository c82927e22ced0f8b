"""Typed errors of the catalog; only `web/errors.py` turns them into HTTP."""

from __future__ import annotations

from datetime import datetime


class CatalogError(Exception):
    """Base of every error the catalog package raises."""


class NotFoundError(CatalogError):
    """The object does not exist, or the caller may not know that it exists."""


class InvalidQueryError(CatalogError):
    """A search or request parameter is malformed; the message says which and why."""


class ConflictError(CatalogError):
    """The request conflicts with the current state (e.g. a withdrawn dataset)."""


class PermissionDeniedError(CatalogError):
    """The metadata is visible but the caller may not read the data (yet)."""

    def __init__(self, message: str, release_at: datetime | None = None) -> None:
        super().__init__(message)
        self.release_at = release_at


class RegistrationError(CatalogError):
    """A data file lacks what a catalog entry needs (e.g. its time extent)."""


class AuthenticationRequiredError(CatalogError):
    """The action needs a signed-in caller (or the credentials given are not valid).

    `basic` asks for HTTP Basic credentials (user name, API token as the password) as well
    as a Bearer token: what DAP clients (netCDF-C, pydap) send from `.netrc`."""

    def __init__(self, message: str, *, basic: bool = False) -> None:
        super().__init__(message)
        self.basic = basic


class RoleRequiredError(CatalogError):
    """The caller is signed in but their role does not allow the action."""


class InvalidCredentialsError(CatalogError):
    """A password, token or CSRF token given does not match."""


class RateLimitedError(CatalogError):
    """Too many attempts from this client; `retry_after_s` says when to try again."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class ReadOnlyListenerError(CatalogError):
    """A write arrived on the read-only public listener."""


class IllegalTransitionError(RuntimeError):
    """A submission was asked to make a move its state machine does not have.

    A programming error, never the client's: no CatalogError, so it is answered as a 500.
    """


class BusyError(CatalogError):
    """The node is doing as much of this work as it may at once (e.g. conversions);
    `retry_after_s` says when to ask again. The work was not started."""

    def __init__(self, message: str, retry_after_s: int) -> None:
        super().__init__(message)
        self.retry_after_s = retry_after_s


class DoiNotConfiguredError(CatalogError):
    """DOI minting asked of a center without DataCite credentials (`[doi]` settings)."""


class DoiServiceError(CatalogError):
    """DataCite refused or did not answer a mint or update."""
