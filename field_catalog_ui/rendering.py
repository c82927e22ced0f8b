"""The Jinja2 environment (templates shipped in the package, autoescaped) and its filters."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from catalog.schemas import Principal, Role
from field_catalog_ui.deps import NodeInfo

STAFF_ROLES = (Role.STAFF, Role.ADMIN)

PRIVATE_HEADERS = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
"""Pages depend on who asks (an owner sees more), so no shared cache may keep them."""


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """A datetime as UTC text ('' for None)."""
    return "" if value is None else value.strftime(fmt)


def human_size(size: int | None) -> str:
    """Bytes as a short human-readable size."""
    if size is None:
        return ""
    value = float(size)
    for unit in ("B", "kB", "MB", "GB"):
        if value < 1000 or unit == "GB":
            return f"{value:.0f} {unit}" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1000
    return f"{value:.1f} GB"


def make_environment() -> Environment:
    """A fresh template environment (autoescape on for every template)."""
    env = Environment(
        loader=PackageLoader("field_catalog_ui", "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
        auto_reload=False,
    )
    env.filters["utc"] = utc
    env.filters["human_size"] = human_size
    return env


class Renderer:
    """Renders a page template with the node's name, the caller and the request."""

    def __init__(self, env: Environment, csrf_token: Callable[[Request], str]) -> None:
        self.env = env
        self.csrf_token = csrf_token

    def page(
        self,
        request: Request,
        node: NodeInfo,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
        user: Principal | None = None,
        csrf: bool = False,
    ) -> HTMLResponse:
        """An HTML response for `template`; never cached by shared caches.

        Signed-in callers (and pages with forms, `csrf`) get the CSRF token for their forms.
        """
        signed_in = user is not None and user.user_id is not None
        body = self.env.get_template(template).render(
            request=request,
            center_code=node.center_code,
            center_name=node.center_name,
            user=user if signed_in else None,
            is_staff=user is not None and user.role in STAFF_ROLES,
            csrf_token=self.csrf_token(request) if signed_in or csrf else "",
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=PRIVATE_HEADERS)
