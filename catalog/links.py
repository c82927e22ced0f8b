"""Where the API serves a resource, as the domain asks for it: a protocol the web layer fills.

Catalog and submissions never spell a URL path: views that carry links (a dataset's detail,
a submission, a product) take a `ResourceLinks` from their caller, and the web layer's
`web.links.API_LINKS` answers from the one API prefix the application mounts its routers
under. A domain caller that renders no URL (an access check, a count) passes none.
"""

from __future__ import annotations

from typing import Literal, Protocol

DatasetView = Literal["", "data", "plot"]
ProductView = Literal["file", "thumbnail"]


class ResourceLinks(Protocol):
    """Paths (no scheme or host) of the API's resources."""

    def dataset(self, public_id: str, view: DatasetView = "") -> str:
        """A dataset's record (`""`), its data or its quick-look plot."""
        ...

    def submission(self, submission_id: str) -> str:
        """A submission and its report."""
        ...

    def product(self, product_id: int, view: ProductView) -> str:
        """A product's file or thumbnail."""
        ...

    def certificate(self, calibration_id: int) -> str:
        """A calibration's certificate file."""
        ...
