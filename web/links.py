"""The API's paths: the prefix the application mounts its routers under, and the links built
from it. The one place `/api/v1` is written; `catalog.links.ResourceLinks` is what the domain
asks for, and `API_LINKS` answers it.
"""

from __future__ import annotations

from catalog.links import DatasetView, ProductView

API_PREFIX = "/api/v1"
OPENDAP_PREFIX = "/opendap"
"""Where a node serves OPeNDAP (DAP2): `{OPENDAP_PREFIX}/{id}` is what a DAP client opens."""
FEDERATION_API = f"{API_PREFIX}/federation"
"""Where a node serves the federation protocol (a peer's client signs requests to it)."""


class ApiLinks:
    """`ResourceLinks` of this API (the routers in `archive_center/routers` serve the paths)."""

    def dataset(self, public_id: str, view: DatasetView = "") -> str:
        """A dataset's record (`""`), its data or its quick-look plot."""
        own = f"{API_PREFIX}/datasets/{public_id}"
        return f"{own}/{view}" if view else own

    def submission(self, submission_id: str) -> str:
        """A submission and its report."""
        return f"{API_PREFIX}/submissions/{submission_id}"

    def product(self, product_id: int, view: ProductView) -> str:
        """A product's file or thumbnail."""
        return f"{API_PREFIX}/products/{product_id}/{view}"

    def certificate(self, calibration_id: int) -> str:
        """A calibration's certificate file."""
        return f"{API_PREFIX}/calibrations/{calibration_id}/certificate"

    def orders(self) -> str:
        """Where orders are placed."""
        return f"{API_PREFIX}/orders"

    def order(self, order_id: str, view: str = "") -> str:
        """An order's status (`""`), its zip (`zip`) or its curl script (`script`)."""
        own = f"{API_PREFIX}/orders/{order_id}"
        return f"{own}/{view}" if view else own


API_LINKS = ApiLinks()
