"""Sign-in and sign-out pages (the session itself is `web.sign_in`'s, as the API's is)."""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from typing import Annotated

from fastapi import APIRouter, Form
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.errors import CatalogError, RateLimitedError
from catalog.peer_records import list_peers
from field_catalog_ui.rendering import PageDep
from web.deps import CsrfDep, NowDep, SessionDep
from web.sign_in import sign_in, sign_out

router = APIRouter(include_in_schema=False)


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


@router.get("/signin", response_class=HTMLResponse)
def signin_form(page: PageDep, session: SessionDep, next: str | None = None) -> HTMLResponse:
    """The sign-in form, and the trusted centers to sign in at instead."""
    homes = list_peers(session, enabled_only=True)
    context = {"title": "Sign in", "next": safe_next(next), "error": None, "username": "",
               "homes": homes}  # fmt: skip
    return page.render("signin.html", context, csrf=True)


@router.post("/signin", response_class=HTMLResponse)
def signin(
    _: CsrfDep,
    page: PageDep,
    now: NowDep,
    username: Annotated[str, Form(max_length=64)],
    password: Annotated[str, Form(max_length=1024)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:
    """Open a session and go back where the caller came from; the form again when refused."""
    target = safe_next(next)
    response = RedirectResponse(target, status_code=303)
    try:
        sign_in(page.request, response, username, password, now)
    except CatalogError as err:
        status = 429 if isinstance(err, RateLimitedError) else 401
        message = str(err) if status == 429 else "Wrong user name or password."
        context = {"title": "Sign in", "next": target, "error": message, "username": username}
        return page.render("signin.html", context, status=status, csrf=True)
    return response


@router.post("/signout")
def signout(_: CsrfDep, page: PageDep) -> Response:
    """End the session (a local one, or one vouched for by the home center)."""
    response = RedirectResponse("/", status_code=303)
    sign_out(page.request, response)
    return response
