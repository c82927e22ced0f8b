"""Sign-in and sign-out pages (the session itself is the node's: `UiDeps.sign_in`)."""

# No `from __future__ import annotations`: FastAPI must see the local `Annotated` aliases.

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog.errors import CatalogError, RateLimitedError
from catalog.schemas import Principal
from field_catalog_ui.deps import NodeInfo, UiDeps
from field_catalog_ui.rendering import Renderer


def safe_next(target: str | None) -> str:
    """A local path to return to after sign-in (never another site)."""
    if not target or not target.startswith("/") or target.startswith("//") or "\\" in target:
        return "/"
    return target


def add_account_routes(router: APIRouter, deps: UiDeps, render: Renderer) -> None:
    """`GET/POST /signin` and `POST /signout`."""
    PrincipalDep = Annotated[Principal, Depends(deps.principal)]
    NowDep = Annotated[Any, Depends(deps.now)]
    NodeDep = Annotated[NodeInfo, Depends(deps.settings)]

    @router.get("/signin", response_class=HTMLResponse)
    def signin_form(
        request: Request, principal: PrincipalDep, node: NodeDep, next: str | None = None
    ) -> HTMLResponse:
        context = {"title": "Sign in", "next": safe_next(next), "error": None, "username": ""}
        return render.page(request, node, "signin.html", context, user=principal, csrf=True)

    @router.post("/signin", response_class=HTMLResponse, dependencies=[Depends(deps.verify_csrf)])
    def signin(
        request: Request,
        node: NodeDep,
        now: NowDep,
        username: Annotated[str, Form(max_length=64)],
        password: Annotated[str, Form(max_length=1024)],
        next: Annotated[str, Form(max_length=2000)] = "/",
    ) -> Response:
        target = safe_next(next)
        response = RedirectResponse(target, status_code=303)
        try:
            deps.sign_in(request, response, username, password, now)
        except CatalogError as err:
            status = 429 if isinstance(err, RateLimitedError) else 401
            message = str(err) if status == 429 else "Wrong user name or password."
            context = {"title": "Sign in", "next": target, "error": message, "username": username}
            return render.page(request, node, "signin.html", context, status=status, csrf=True)
        return response

    @router.post("/signout", dependencies=[Depends(deps.verify_csrf)])
    def signout(request: Request) -> Response:
        response = RedirectResponse("/", status_code=303)
        deps.sign_out(request, response)
        return response
