"""OAI-PMH 2.0 at `/oai` (GET and POST, as the protocol asks): `catalog.oai_verbs` answers.

Harvesters are anonymous: whoever asks, the repository lists what an anonymous caller may
see, so a signed-in harvest can never put private metadata into a public aggregator.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs

from fastapi import APIRouter, Request, Response

from catalog.datacite_records import DoiPlan
from catalog.oai import Repository
from catalog.oai_verbs import answer
from web.deps import NowDep, SessionDep, SettingsDep
from web.responses import cache_headers
from web.settings import Settings

router = APIRouter(tags=["oai-pmh"])
XML = "text/xml; charset=utf-8"
OAI_ANSWER: dict[int | str, dict[str, Any]] = {
    200: {"description": "An OAI-PMH document", "content": {"text/xml": {}}}
}


def repository(settings: Settings, request: Request) -> Repository:
    """This center as an OAI-PMH repository, its base URL as the caller reached it."""
    base = str(request.base_url).rstrip("/")
    return Repository(
        name=f"FieldCat {settings.center_name} ({settings.center_code})",
        base_url=f"{base}/oai",
        admin_email=settings.standards.oai_admin_email,
        center_code=settings.center_code,
        page_size=settings.standards.oai_page_size,
        plan=DoiPlan(settings.doi.prefix),
    )


def _respond(body: bytes) -> Response:
    return Response(body, media_type=XML, headers=cache_headers(False))


@router.get("/oai", response_class=Response, responses=OAI_ANSWER)
def oai_get(request: Request, session: SessionDep, settings: SettingsDep, now: NowDep) -> Response:
    """An OAI-PMH request in the query string (`verb=...`)."""
    args = parse_qs(request.url.query, keep_blank_values=True)
    return _respond(answer(session, repository(settings, request), args, now))


@router.post("/oai", response_class=Response, responses=OAI_ANSWER)
async def oai_post(request: Request, settings: SettingsDep, now: NowDep) -> Response:
    """An OAI-PMH request as a form (`application/x-www-form-urlencoded`)."""
    from starlette.concurrency import run_in_threadpool

    body = (await request.body()).decode("utf-8", errors="replace")
    args = parse_qs(body, keep_blank_values=True)
    repo = repository(settings, request)
    factory = request.app.state.session_factory

    def run() -> bytes:
        with factory() as session:
            return answer(session, repo, args, now)

    return _respond(await run_in_threadpool(run))
