"""The Jinja2 environment (templates shipped in the package, autoescaped), its filters, and
`PageDep`: what every page handler renders through (the node, the caller, the request)."""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import datetime
from typing import Annotated, Any
from urllib.parse import quote

from fastapi import Depends, Request
from jinja2 import Environment, PackageLoader, select_autoescape
from markupsafe import Markup, escape
from starlette.responses import HTMLResponse, RedirectResponse, Response

from catalog.schemas import Principal, Role
from catalog.storage import ArchiveStore
from formats.units import readable
from web.auth import csrf_token
from web.deps import CallerDep, SettingsDep, require_role
from web.settings import Settings

STAFF_ROLES = (Role.STAFF, Role.ADMIN)
SUBMITTERS = (Role.PI, *STAFF_ROLES)

PRIVATE_HEADERS = {"Cache-Control": "no-store", "Vary": "Cookie, Authorization"}
"""Pages depend on who asks (an owner sees more), so no shared cache may keep them."""


def utc(value: datetime | None, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> str:
    """A datetime as UTC text ('' for None)."""
    return "" if value is None else value.strftime(fmt)


def time_tag(value: datetime, fmt: str = "%Y-%m-%d %H:%M:%S UTC") -> Markup:
    """A `<time>` element: the instant in ISO 8601 for machines, as UTC text for people.

    One filter rather than two expressions per instant: result rows show two each.
    """
    # Both parts are escaped here; `Markup.format` would escape them too, at twice the cost.
    html = f'<time datetime="{escape(value.isoformat())}">{escape(utc(value, fmt))}</time>'
    return Markup(html)  # noqa: S704


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
    env.filters["time_tag"] = time_tag
    env.filters["human_size"] = human_size
    env.filters["unit"] = readable
    return env


@functools.cache
def environment() -> Environment:
    """The process's template environment, made on first use (templates never change)."""
    return make_environment()


def render(
    request: Request,
    node: Settings,
    template: str,
    context: dict[str, Any],
    *,
    status: int = 200,
    user: Principal | None = None,
    csrf: bool = False,
) -> HTMLResponse:
    """An HTML response for `template`; never cached by shared caches.

    Signed-in callers (local, or vouched for by their home center; and pages with forms,
    `csrf`) get the CSRF token for their forms.
    """
    signed_in = user is not None and (user.user_id is not None or user.home_center is not None)
    body = (
        environment()
        .get_template(template)
        .render(
            request=request,
            center_code=node.center_code,
            center_name=node.center_name,
            user=user if signed_in else None,
            is_staff=user is not None and user.role in STAFF_ROLES,
            csrf_token=csrf_token(request) if signed_in or csrf else "",
            **context,
        )
    )
    return HTMLResponse(body, status_code=status, headers=PRIVATE_HEADERS)


@dataclass(frozen=True)
class Page:
    """One page request: the request, the node's settings and the caller."""

    request: Request
    node: Settings
    user: Principal

    @property
    def store(self) -> ArchiveStore:
        """The node's archive storage (derived plots, product thumbnails)."""
        store: ArchiveStore = self.request.app.state.store
        return store

    def render(
        self, template: str, context: dict[str, Any], *, status: int = 200, csrf: bool = False
    ) -> HTMLResponse:
        """`template` for this caller (see `render`)."""
        return render(
            self.request, self.node, template, context, status=status, user=self.user, csrf=csrf
        )


_STATE_USER = "fieldcat_page_user"


async def get_page(request: Request, node: SettingsDep, user: CallerDep) -> Page:
    """The page being answered (the caller resolved once, as the API resolves it).

    Handlers list it before a role dependency, so an error page still shows who is signed in.
    """
    setattr(request.state, _STATE_USER, user)
    return Page(request, node, user)


PageDep = Annotated[Page, Depends(get_page)]
StaffUser = Annotated[Principal, require_role(*STAFF_ROLES)]
"""Center staff (and admins): others get the sign-in page or a 403."""
AdminUser = Annotated[Principal, require_role(Role.ADMIN)]
Submitter = Annotated[Principal, require_role(*SUBMITTERS)]
"""Who may upload: PIs, staff and admins."""


def error_page(request: Request, status: int, title: str, detail: str | None) -> Response:
    """The HTML answer of the node's error path (`web.errors.install_error_handlers`).

    401 sends the browser to the sign-in page, back here afterwards; other statuses render
    `error.html` with the (path-free) message the error carries.
    """
    if status == 401:
        target = quote(request.url.path, safe="/")
        return RedirectResponse(f"/signin?next={target}", status_code=303, headers=PRIVATE_HEADERS)
    node: Settings = request.app.state.settings
    message = detail or MESSAGES.get(status, "Something went wrong.")
    context = {"title": MESSAGE_TITLES.get(status, title), "message": message}
    user = getattr(request.state, _STATE_USER, None)
    return render(request, node, "error.html", context, status=status, user=user)


MESSAGE_TITLES = {404: "Not found", 403: "Not allowed", 405: "Not allowed here"}
MESSAGES = {
    404: "There is no such page here.",
    403: "You may not do this.",
    405: "This address does not take that kind of request.",
    500: "Something went wrong on our side; it has been logged.",
}
