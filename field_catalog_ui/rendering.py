"""The Jinja2 environment (templates shipped in the package, autoescaped) and its filters."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from jinja2 import Environment, PackageLoader, select_autoescape
from starlette.requests import Request
from starlette.responses import HTMLResponse

from field_catalog_ui.deps import NodeInfo

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
    """Renders a page template with the node's name and the request in the context."""

    def __init__(self, env: Environment) -> None:
        self.env = env

    def page(
        self,
        request: Request,
        node: NodeInfo,
        template: str,
        context: dict[str, Any],
        *,
        status: int = 200,
    ) -> HTMLResponse:
        """An HTML response for `template`; never cached by shared caches."""
        body = self.env.get_template(template).render(
            request=request,
            center_code=node.center_code,
            center_name=node.center_name,
            **context,
        )
        return HTMLResponse(body, status_code=status, headers=PRIVATE_HEADERS)
