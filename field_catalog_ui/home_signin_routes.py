"""Sign in at your home center (pages): the home center vouches for its signed-in user to a
peer with an assertion posted in a form body (never in a URL); the peer exchanges it once for
a session cookie `fieldcat_vouched` (see federation.vouching and docs/access-federated.md).

Flow: the peer's sign-in page links each trusted center's `/signin/vouch?audience=PEER`; there,
a signed-in user confirms with one button, which posts the assertion to the peer's
`/signin/vouched`; the peer sets the cookie and returns to the page the user came from.
"""

# No `from __future__ import annotations`: FastAPI reads the `Annotated` parameters.

from datetime import timedelta
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from catalog import peer_records
from catalog.models import User
from catalog.vouched import start_vouched_session
from federation.errors import FederationError
from federation.vouching import Vouched, issue_assertion, verify_assertion
from field_catalog_ui.account_routes import safe_next
from field_catalog_ui.rendering import PRIVATE_HEADERS, PageDep
from web import auth
from web.deps import NowDep, SessionDep

router = APIRouter(include_in_schema=False)


def _vouched_for(user: User, code: str, campaign: str, expires: object) -> Vouched:
    return Vouched(
        center=code, username=user.username, display_name=user.display_name, email=user.email,
        campaigns=(campaign,), expires_at=expires,  # type: ignore[arg-type]
    )  # fmt: skip


@router.get("/signin/vouch", response_class=HTMLResponse)
def vouch_page(
    page: PageDep, session: SessionDep, now: NowDep, audience: str = "", next: str = "/"
) -> Response:
    """At the home center: the button that carries the assertion to the peer (signed-in
    local users; others sign in first and come back here, the query kept)."""
    if page.user.user_id is None or page.user.home_center is not None:
        here = quote(f"/signin/vouch?{page.request.url.query}", safe="")
        return RedirectResponse(f"/signin?next={here}", status_code=303, headers=PRIVATE_HEADERS)
    peer = peer_records.find_peer(session, audience) if audience else None
    user = session.get(User, page.user.user_id)
    if peer is None or not peer.enabled or user is None:
        return page.render(
            "error.html", {"title": "Not found", "message": "No such center."}, status=404
        )
    node = page.node
    expires = now + timedelta(seconds=node.access.vouched_lifetime_s)
    vouched = _vouched_for(user, node.center_code, node.campaign.code, expires)
    token = issue_assertion(
        session, issuer=node.center_code, audience=peer.code, user=vouched, now=now
    )
    context = {"title": f"Continue to {peer.name or peer.code}", "peer": peer, "assertion": token,
               "next": safe_next(next), "lifetime": node.access.vouched_lifetime_s}  # fmt: skip
    return page.render("vouch.html", context)


@router.post("/signin/vouched")
def vouched_signin(
    page: PageDep, request: Request, session: SessionDep, now: NowDep,
    assertion: Annotated[str, Form(max_length=8192)],
    next: Annotated[str, Form(max_length=2000)] = "/",
) -> Response:  # fmt: skip
    """At the peer: exchange the assertion (once) for a vouched session cookie."""
    factory = request.app.state.session_factory
    try:
        who = verify_assertion(session, factory, assertion, audience=page.node.center_code, now=now)
    except FederationError:
        refused = "Your home center's sign-in was refused here; try again."
        context = {"title": "Sign in", "next": safe_next(next), "username": "",
                   "error": refused, "homes": []}  # fmt: skip
        return page.render("signin.html", context, status=401, csrf=True)
    token = start_vouched_session(
        session, center=who.center, username=who.username, display_name=who.display_name,
        email=who.email, campaigns=who.campaigns, now=now, expires_at=who.expires_at,
    )  # fmt: skip
    response = RedirectResponse(safe_next(next), status_code=303)
    max_age = max(1, int((who.expires_at - now).total_seconds()))
    auth.set_cookie(response, request, page.node, auth.VOUCHED_COOKIE, token, max_age)
    return response
