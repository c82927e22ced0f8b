"""SECURITY.md's access matrix: every route x every caller x every state, with canaries.

The routes come from the app's own route table (API, federation and web pages): a route
without a row in `ACCESS_MATRIX` fails `test_every_route_has_a_row`. To add a route, add one
row: the key is "METHOD /path" as FastAPI lists it, the value says which expectation applies.
HEAD, OPTIONS and byte ranges are checked on every dataset route as well (SECURITY.md #13).
"""

from __future__ import annotations

import io
import json
import re
import struct
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass

import httpx
import pytest
from fastapi.testclient import TestClient
from starlette.routing import BaseRoute, Mount

from archive_center.app import create_app
from tests.access.matrix_node import (
    CALLERS,
    DATASET_PASSWORD,
    NO_LOCAL_USER,
    NOW,
    READS,
    SEES,
    STAFF_LIKE,
    STATES,
    MatrixNode,
    data_canary,
    meta_canary,
    seed_matrix,
    vouched_assertion,
)
from tests.archive_center.conftest import database_url, make_settings  # noqa: F401
from web.auth import READ_ONLY_POSTS


@dataclass(frozen=True)
class Row:
    """What a route promises. `kind` picks the check:

    public     no dataset involved; any caller gets a non-5xx answer and no canary
    listing    a page or list of datasets: 200, and only what the caller may see
    search     the API search: exactly the datasets the caller may see (ids and canaries)
    metadata   200 when the caller may see the dataset, else exactly the missing-dataset 404
    data       200 when the caller may read, 403 when only see, else the missing 404
    dap        OPeNDAP: as data, but 401 (a Basic challenge) for a caller without a user who
               may only see; every answer (DAP2 DDS, DAS, data, text; DAP4 DMR, data) is
               checked for canaries
    bundle     a zip of the dataset when readable, else 404; the zip holds no other canary
    grant      password exchange: a wrong password is 403 on a visible password dataset, else 404
    staff      API, staff/admin only: 401 without a user, 403 other roles (before any lookup)
    staff_page a staff page: sign-in redirect without a user, 403 other roles, 200 staff
    user_page  a page for signed-in users: sign-in redirect without a user, else 200
    person_page a page for signed-in users and those vouched for by a peer: the same
    form       a form post: 403 without its CSRF token, whoever asks, before any lookup
    peer       federation: 200 for a signed peer only (401 for users), never data, and
               metadata only of what an anonymous caller may see
    session    sign-in plumbing, covered by tests/access/test_identity.py
    curate     the dataset's PI or staff curate it (QC overrides, level releases): 401 without a
               user, 404 exactly as a missing id when hidden, 403 for a PI who does not own it,
               else 409 (the matrix asks what cannot be done: no QC result, level 0 again, a
               deployment that does not exist)
    claim      a PI asks to own a dataset: 401 without a user, 403 staff (they approve instead),
               for a PI 404 exactly as a missing id when hidden, else 409 (every seeded
               dataset has an owner: the "PI claiming someone else's DID" caller gets nothing)
    handover   a hand-over between two centers: 401 for users, 403 for a signed peer when no
               hand-over was agreed between the two centers (none is at the matrix node)
    manage     named readers: 401 without a person, 404 when hidden, 403 unless the owner or
               staff, else 200
    request    an access request: 401 without a person, 404 when hidden, 409 when the caller
               reads it already, else 201
    follow     following a release: 401 without a person, 404 when hidden, else 200
    submission a PI's own uploads, covered by tests/submissions/test_api.py and the upload pages'
               tests; here: nothing of the seeded datasets leaks

    `path` gives a concrete path for a route whose template has no dataset id in it.
    """

    kind: str
    body: dict[str, object] | None = None
    query: str = ""
    path: str | None = None


MERGE_BODY: dict[str, object] = {
    "platform": "C130",
    "start": "1999-02-21T13:00:00Z",
    "stop": "1999-02-21T14:00:00Z",
    "variables": ["AAAAAAAAAAAAAAAA:O3"],
}
ACCESS_MATRIX: dict[str, Row] = {
    "GET /openapi.json": Row("public"),
    "GET /docs": Row("public"),
    "GET /docs/oauth2-redirect": Row("public"),
    "GET /redoc": Row("public"),
    "GET /api/v1/healthz": Row("public"),
    "GET /api/v1/readyz": Row("public"),
    "GET /api/v1/datasets": Row("search"),
    "GET /api/v1/suggestions": Row("listing", query="field=pi&prefix=pi"),
    "GET /api/v1/datasets/{public_id}": Row("metadata"),
    "GET /api/v1/datasets/{public_id}/data": Row("data", query="format=original"),
    "GET /api/v1/datasets/{public_id}/plot": Row("data", query="format=svg"),
    "GET /api/v1/datasets/{public_id}/track": Row("data"),
    "GET /api/v1/datasets/{public_id}/citation": Row("metadata", query="format=datacite-json"),
    "GET /opendap/{public_id}.{answer}": Row("dap", path="/opendap/{public_id}.ascii"),
    "POST /api/v1/bundles": Row("bundle"),
    "POST /api/v1/orders": Row("public", body={"datasets": ["unknown"]}),
    "GET /api/v1/orders/{order_id}": Row("public", path="/api/v1/orders/unknown"),
    "GET /api/v1/orders/{order_id}/zip": Row("public", path="/api/v1/orders/unknown/zip"),
    "GET /api/v1/orders/{order_id}/script": Row("public", path="/api/v1/orders/unknown/script"),
    "POST /api/v1/auth/session": Row("session"),
    "DELETE /api/v1/auth/session": Row("session"),
    "GET /api/v1/auth/me": Row("session"),
    "POST /api/v1/datasets/{public_id}/grant": Row("grant", {"password": "not the one!"}),
    "PUT /api/v1/datasets/{public_id}/access": Row(
        "staff", {"state": "embargoed", "reason": "matrix"}
    ),
    "DELETE /api/v1/datasets/{public_id}": Row("staff", query="reason=matrix"),
    "GET /api/v1/datasets/{public_id}/audit": Row("staff"),
    "POST /api/v1/datasets/{public_id}/claim": Row("claim", {"reason": "matrix takeover"}),
    # Approval is a staff write: its staff cells live in tests/submissions/test_claims.py.
    "POST /api/v1/datasets/{public_id}/claim/approve": Row(
        "staff", {"username": "other", "reason": "matrix"}
    ),
    # The QC report is data (it counts and locates flagged values) but holds no value.
    "GET /api/v1/datasets/{public_id}/qc": Row("data"),
    "POST /api/v1/datasets/{public_id}/qc/overrides": Row(
        "curate", {"variable": "x", "first": 0, "last": 0, "flag": 4, "reason": "matrix"}
    ),
    "PUT /api/v1/datasets/{public_id}/level": Row("curate", {"level": 0, "note": "matrix"}),
    "PUT /api/v1/datasets/{public_id}/level-access": Row(
        "curate", {"level": 0, "state": "inherit", "reason": "matrix"}
    ),
    "PUT /api/v1/datasets/{public_id}/deployment": Row("curate", {"deployment_id": 999999}),
    # Jobs are a PI's or staff's own (tests/quality/test_jobs_run.py); nothing seeded leaks.
    "GET /api/v1/jobs": Row("submission"),
    "POST /api/v1/jobs": Row("submission", {"name": "m", "kind": "rerun-qc", "period": "daily"}),
    "GET /api/v1/transfers": Row("staff"),
    "POST /api/v1/transfers": Row(
        "staff",
        {
            "name": "m",
            "url": "http://x.example",
            "auth": "token",
            "secret": "s" * 16,
            "owner_user_id": 1,
            "campaign": "INDOEX",
        },
    ),
    "GET /api/v1/instruments": Row("public"),
    "GET /api/v1/platforms": Row("public"),
    "GET /api/v1/stations": Row("public"),
    "POST /api/v1/instruments": Row("staff", {"name": "matrix"}),
    "POST /api/v1/places": Row("staff", {"kind": "station", "name": "matrix"}),
    "POST /api/v1/instruments/{instrument_id}/calibrations": Row(
        "staff", {"valid_from": "1999-01-01T00:00:00Z"}, path="/api/v1/instruments/1/calibrations"
    ),
    "POST /api/v1/instruments/{instrument_id}/deployments": Row(
        "staff",
        {"place_id": 1, "start": "1999-01-01T00:00:00Z"},
        path="/api/v1/instruments/1/deployments",
    ),
    "PUT /api/v1/instruments/{instrument_id}": Row(
        "staff", {"name": "matrix"}, path="/api/v1/instruments/1"
    ),
    "DELETE /api/v1/instruments/{instrument_id}": Row("staff", path="/api/v1/instruments/1"),
    "DELETE /api/v1/places/{place_id}": Row("staff", path="/api/v1/places/1"),
    "PUT /api/v1/places/{place_id}": Row(
        "staff", {"kind": "station", "name": "matrix"}, path="/api/v1/places/1"
    ),
    "DELETE /api/v1/instruments/{instrument_id}/calibrations/{calibration_id}": Row(
        "staff", path="/api/v1/instruments/1/calibrations/1"
    ),
    "DELETE /api/v1/instruments/{instrument_id}/deployments/{deployment_id}": Row(
        "staff", path="/api/v1/instruments/1/deployments/1"
    ),
    # A certificate is registry metadata: public to read, staff to upload.
    "GET /api/v1/calibrations/{calibration_id}/certificate": Row(
        "public", path="/api/v1/calibrations/1/certificate"
    ),
    "PUT /api/v1/calibrations/{calibration_id}/certificate": Row(
        "staff", path="/api/v1/calibrations/1/certificate"
    ),
    "PUT /api/v1/instruments/{instrument_id}/qc/{variable}": Row(
        "staff",
        {"tests": {"gross_range": {"fail_span": [0, 1]}}},
        path="/api/v1/instruments/1/qc/x",
    ),
    "POST /api/v1/auth/assertions": Row("session"),
    "POST /api/v1/auth/vouched": Row("session"),
    "GET /api/v1/datasets/{public_id}/readers": Row("manage"),
    "PUT /api/v1/datasets/{public_id}/readers/{center}/{username}": Row(
        "manage", {"reason": "matrix"}, path="/api/v1/datasets/{public_id}/readers/JOSS/nobody"
    ),
    "DELETE /api/v1/datasets/{public_id}/readers/{center}/{username}": Row(
        "manage", query="reason=matrix", path="/api/v1/datasets/{public_id}/readers/JOSS/nobody"
    ),
    "POST /api/v1/datasets/{public_id}/access-requests": Row("request", {"reason": "matrix"}),
    "GET /api/v1/access-requests": Row("public"),
    # Real decisions are in tests/access/test_federated_access_run.py; here: no leak, no 5xx.
    "POST /api/v1/access-requests/{request_id}/approve": Row(
        "public", {"note": "matrix"}, path="/api/v1/access-requests/999999/approve"
    ),
    "POST /api/v1/access-requests/{request_id}/decline": Row(
        "public", {"note": "matrix"}, path="/api/v1/access-requests/999999/decline"
    ),
    "PUT /api/v1/datasets/{public_id}/follow": Row("follow"),
    "DELETE /api/v1/datasets/{public_id}/follow": Row("follow"),
    "GET /api/v1/claims": Row("staff"),
    # A staff write: its staff cells are in tests/access/test_shared_access.py.
    "POST /api/v1/datasets/{public_id}/claim/decline": Row(
        "staff", {"username": "other", "reason": "matrix"}
    ),
    "POST /api/v1/submissions": Row("submission"),
    "GET /api/v1/submissions": Row("submission"),
    "GET /api/v1/submissions/{submission_id}": Row("submission", path="/api/v1/submissions/1"),
    "GET /api/v1/products": Row("public"),
    "GET /api/v1/products/{product_id}/file": Row("public", path="/api/v1/products/1/file"),
    "GET /api/v1/products/{product_id}/thumbnail": Row(
        "public", path="/api/v1/products/1/thumbnail"
    ),
    "GET /api/v1/reports": Row("listing"),
    # Withdrawing a product or report of this center (tests/federation/test_field_records_run.py).
    "DELETE /api/v1/products/{product_id}": Row(
        "staff", query="reason=withdrawn", path="/api/v1/products/999999"
    ),
    # Structured summaries, systems and their status (tests/federation/test_field_records_run.py).
    "GET /api/v1/reports/export": Row("listing"),
    "GET /api/v1/systems": Row("public"),
    "POST /api/v1/systems": Row(
        "staff", {"code": "lidar", "name": "Lidar", "password": "matrix-password"}
    ),
    "GET /api/v1/systems/{code}/status": Row("public", path="/api/v1/systems/lidar/status"),
    "POST /api/v1/systems/{code}/grant": Row(
        "public", {"password": "not the one!"}, path="/api/v1/systems/lidar/grant"
    ),
    "GET /api/v1/expected": Row("public"),
    "POST /api/v1/expected": Row("staff", {"pi_name": "matrix", "did": "m-1"}),
    # Personal drops and the held-mail queue (tests/submissions/test_mail_intake_run.py).
    "POST /api/v1/me/drop-address": Row("submission"),
    "DELETE /api/v1/me/drop-address": Row("submission"),
    "GET /api/v1/mail/held": Row("staff"),
    # Held-mail decisions (tests/submissions/test_held_mail_run.py): a sender's signed link,
    # staff release and discard.
    "POST /api/v1/mail/held/{held_id}/confirm": Row(
        "submission",
        {"user": 1, "expires": 0, "signature": "0" * 64},
        path="/api/v1/mail/held/unknown/confirm",
    ),
    "POST /api/v1/mail/held/{held_id}/release": Row(
        "staff", {"username": "other"}, path="/api/v1/mail/held/unknown/release"
    ),
    "POST /api/v1/mail/held/{held_id}/discard": Row(
        "staff", {"reason": "matrix"}, path="/api/v1/mail/held/unknown/discard"
    ),
    "PATCH /api/v1/expected/{expected_id}": Row(
        "staff", {"due": "2000-01-01"}, path="/api/v1/expected/unknown"
    ),
    "DELETE /api/v1/expected/{expected_id}": Row(
        "staff", query="reason=matrix", path="/api/v1/expected/unknown"
    ),
    "DELETE /api/v1/reports/{report_id}": Row(
        "staff", query="reason=withdrawn", path="/api/v1/reports/999999"
    ),
    # Staff post reports; a report form's grant also opens it (tests/access/test_report_api.py).
    "POST /api/v1/reports": Row(
        "staff", {"kind": "daily", "report_date": "1999-02-20", "title": "matrix"}
    ),
    "POST /api/v1/reports/{kind}/grant": Row(
        "public", {"password": "not the one!"}, path="/api/v1/reports/status/grant"
    ),
    "GET /api/v1/federation/changes": Row("peer", query="since=0&limit=1000"),
    "GET /api/v1/federation/digests": Row("peer"),
    "POST /api/v1/federation/notify": Row("peer", {"last_seq": 0}),
    "GET /api/v1/federation/status": Row("public"),
    # CIDS (docs/cids.md): listings show only what the caller may see; collocation and the
    # overlay read data under the download's checks (tests/cids/test_api_cids.py covers the
    # 200/403/404 cells on a mobile dataset; here: no canary leaks, no 5xx).
    "GET /api/v1/navigation": Row("listing"),
    "POST /api/v1/navigation": Row("public", {"platform": "C130", "instrument": "matrix nav"}),
    "GET /api/v1/collocate": Row("public", query="dataset=AAAAAAAAAAAAAAAA&dt=60&dx=10"),
    "GET /api/v1/merges": Row("listing"),
    "POST /api/v1/merges": Row("public", MERGE_BODY),
    # The standard faces (docs/standards.md): the same search and policy as the JSON API.
    "GET /api/v1/datasets/{public_id}/datacite": Row("metadata", query="version=1&format=xml"),
    "POST /api/v1/datasets/{public_id}/doi": Row("staff", {"event": "publish"}),
    "GET /api/v1/saved-searches": Row("submission"),
    "POST /api/v1/saved-searches": Row(
        "submission", {"query": {"platform": "C130"}, "email": "m@example.org"}
    ),
    "DELETE /api/v1/saved-searches/{search_id}": Row("submission", path="/api/v1/saved-searches/1"),
    "GET /stac": Row("listing"),
    "GET /stac/api": Row("public"),
    "GET /stac/conformance": Row("public"),
    "GET /stac/collections": Row("listing"),
    "GET /stac/collections/{collection_id}": Row(
        "listing", path="/stac/collections/campaign-indoex"
    ),
    "GET /stac/collections/{collection_id}/items": Row(
        "listing", query="limit=1000", path="/stac/collections/campaign-indoex/items"
    ),
    "GET /stac/collections/{collection_id}/items/{public_id}": Row(
        "metadata", path="/stac/collections/campaign-indoex/items/{public_id}"
    ),
    "GET /stac/search": Row("listing", query="limit=1000"),
    "POST /stac/search": Row("listing", {"limit": 1000}),
    "GET /oai": Row("listing", query="verb=ListRecords&metadataPrefix=iso19115-3"),
    "POST /oai": Row("listing"),
    "GET /search.atom": Row("listing"),
    "GET /centers/{code}.atom": Row("listing", path="/centers/JOSS.atom"),
    # The hand-over (tests/federation/test_handover_run.py): none is agreed at the matrix node.
    "POST /api/v1/federation/handover/offer": Row("handover", {}),
    "GET /api/v1/federation/handover/manifest": Row("handover"),
    "GET /api/v1/federation/handover/blobs/{sha256}": Row(
        "handover", path="/api/v1/federation/handover/blobs/" + "0" * 64
    ),
    "POST /api/v1/federation/handover/bundle": Row("handover", {"files": []}),
    "POST /api/v1/federation/handover/complete": Row("handover", {"products": {}}),
    # The web pages (field_catalog_ui): the same policy through the same dependencies.
    "GET /static/{name:path}": Row("public", path="/static/ui.css"),
    "GET /": Row("listing"),
    "GET /search": Row("listing", query="q=&limit=100"),
    "GET /datasets/{public_id}": Row("metadata"),
    "GET /datasets/{public_id}/download": Row("data", query="format=original"),
    "GET /datasets/{public_id}/qc": Row("data"),
    "POST /datasets/{public_id}/access": Row("form", {"state": "open", "reason": "matrix"}),
    "GET /federation": Row("public"),
    "GET /registry": Row("public"),
    # The registry's staff forms (tests/quality/test_registry_edits.py); station 1 is seeded.
    "GET /registry/places/{place_id}/edit": Row("staff_page", path="/registry/places/1/edit"),
    "POST /registry/places/{place_id}": Row(
        "form", {"kind": "station", "name": "matrix"}, path="/registry/places/1"
    ),
    "POST /registry/instruments/{instrument_id}/calibrations/{calibration_id}/delete": Row(
        "form", path="/registry/instruments/1/calibrations/1/delete"
    ),
    "POST /registry/instruments/{instrument_id}/deployments/{deployment_id}/delete": Row(
        "form", path="/registry/instruments/1/deployments/1/delete"
    ),
    "POST /registry/calibrations/{calibration_id}/certificate": Row(
        "form", path="/registry/calibrations/1/certificate"
    ),
    "GET /overlay": Row("public", query="d=AAAAAAAAAAAAAAAA:O3"),
    "GET /collocate": Row("public", query="dataset=AAAAAAAAAAAAAAAA"),
    "GET /signin": Row("public"),
    "POST /signin": Row("form", {"username": "admin", "password": "correct horse battery"}),
    # Sign in at your home center: the home's button page, the peer's exchange (a cross-site
    # form post carrying a one-time assertion; tests/access/test_federated_access_run.py).
    "GET /signin/vouch": Row("user_page", query="audience=NPL"),
    "GET /account": Row("person_page"),
    "POST /account/email": Row("form", {"email": "x@example.org"}),
    "POST /datasets/{public_id}/ask-access": Row("form", {"reason": "matrix"}),
    "POST /access-requests/{request_id}/decide": Row(
        "form", {"decision": "approve"}, path="/access-requests/1/decide"
    ),
    "POST /signin/vouched": Row("session"),
    "POST /signout": Row("form"),
    "GET /staff/embargoes": Row("staff_page"),
    "GET /staff/rejected": Row("staff_page"),
    "GET /staff/users": Row("staff_page"),
    "GET /staff/streams": Row("staff_page"),
    "POST /staff/streams/{name}": Row("form", {"action": "stop"}, path="/staff/streams/met"),
    "POST /staff/users": Row("form", {"username": "intruder", "role": "admin"}),
    "POST /staff/users/{username}": Row("form", {"role": "admin"}, path="/staff/users/other"),
    "GET /upload": Row("user_page"),
    "POST /upload": Row("form"),
    "GET /products": Row("listing"),
    "GET /submissions": Row("submission"),
    "GET /jobs": Row("submission"),
    # Job and transfer source forms (tests/quality/test_job_forms.py): a PI's own jobs, staff's
    # sources; a source's edit page is a 404 here (the matrix node has none), never a leak.
    "GET /jobs/new": Row("submission"),
    "POST /jobs": Row("form", {"name": "m", "kind": "daily-digest", "period": "daily"}),
    "GET /jobs/{job_id}/edit": Row("submission", path="/jobs/1/edit"),
    "POST /jobs/{job_id}": Row("form", {"name": "m", "kind": "daily-digest"}, path="/jobs/1"),
    "POST /jobs/{job_id}/action": Row("form", {"action": "delete"}, path="/jobs/1/action"),
    "GET /transfers": Row("staff_page"),
    "GET /transfers/new": Row("staff_page"),
    "GET /transfers/{source_id}/edit": Row("submission", path="/transfers/1/edit"),
    "POST /transfers": Row("form", {"name": "m", "url": "http://x.example", "auth": "token"}),
    "POST /transfers/{source_id}": Row("form", {"name": "m"}, path="/transfers/1"),
    "POST /transfers/{source_id}/delete": Row("form", path="/transfers/1/delete"),
    "GET /submissions/{submission_id}": Row("submission", path="/submissions/1"),
    "GET /reports": Row("listing"),
    "GET /calendar": Row("listing", query="month=1999-03"),
    "GET /expected": Row("public"),
    # Staff forms of the expected deliveries page (tests/quality/test_expected_forms.py).
    "GET /expected/{expected_id}/edit": Row("submission", path="/expected/unknown/edit"),
    "POST /expected": Row("form", {"pi_name": "matrix", "did": "m-2"}),
    "POST /expected/{expected_id}": Row("form", {"due": "2000-01-01"}, path="/expected/unknown"),
    "POST /expected/{expected_id}/withdraw": Row(
        "form", {"reason": "matrix"}, path="/expected/unknown/withdraw"
    ),
    "GET /staff/mail": Row("staff_page"),
    "POST /staff/mail/{held_id}/release": Row(
        "form", {"username": "other"}, path="/staff/mail/unknown/release"
    ),
    "POST /staff/mail/{held_id}/discard": Row(
        "form", {"reason": "matrix"}, path="/staff/mail/unknown/discard"
    ),
    "GET /mail/confirm/{held_id}": Row("user_page", path="/mail/confirm/unknown"),
    "POST /mail/confirm/{held_id}": Row(
        "form", {"u": "1", "e": "0", "s": "0"}, path="/mail/confirm/unknown"
    ),
    "GET /reports/{kind}/new": Row("public", path="/reports/status/new"),
    "POST /reports/{kind}/password": Row(
        "form", {"password": "x"}, path="/reports/status/password"
    ),
    "POST /reports/{kind}": Row("form", {"title": "x", "body": "y"}, path="/reports/daily"),
    "POST /reports/{kind}/form-password": Row(
        "form", {"password": "x"}, path="/reports/status/form-password"
    ),
}
MISSING_ID = "AAAAAAAAAAAAAAAA"
# Routes every node must list: if the route walk below ever finds fewer (a framework change
# in how routers are included), the matrix would check nothing, so it fails instead.
SENTINELS = {"GET /api/v1/datasets", "GET /datasets/{public_id}", "GET /api/v1/federation/changes"}


def _flat_routes(app: object) -> list[BaseRoute]:
    """The app's routes with included routers expanded (FastAPI >= 0.165 keeps them lazy)."""
    from fastapi import routing

    routes = app.routes  # type: ignore[attr-defined]
    walk = getattr(routing, "iter_route_contexts", None)
    return list(walk(routes)) if walk is not None else list(routes)


def route_keys(app: object) -> set[str]:
    """ "METHOD /path" of every route and mount of the app (HEAD is checked separately)."""
    keys: set[str] = set()
    for route in _flat_routes(app):
        if isinstance(getattr(route, "original_route", route), Mount):
            keys.add(f"MOUNT {route.path}")  # type: ignore[attr-defined]
        elif getattr(route, "path", None) is not None:
            methods = getattr(route, "methods", None) or ()
            keys.update(f"{m} {route.path}" for m in methods if m != "HEAD")  # type: ignore[attr-defined]
    return keys


@pytest.fixture(scope="module")
def matrix(
    tmp_path_factory: pytest.TempPathFactory,
    database_url: str | None,  # noqa: F811
) -> Iterator[MatrixNode]:
    """The seeded node, a client of its public face, and a grant for the `holder` caller."""

    settings = make_settings(tmp_path_factory.mktemp("matrix"), database_url)
    settings.access.password_attempts = 10_000
    app = create_app(settings)
    public_app = create_app(settings, public_face=True)
    for each in (app, public_app):
        each.state.clock = lambda: NOW
    with (
        TestClient(app, follow_redirects=False) as client,
        TestClient(public_app, follow_redirects=False) as public_client,
    ):
        ids, headers = seed_matrix(app, tmp_path_factory.mktemp("files"))
        grant = client.post(
            f"/api/v1/datasets/{ids['password']}/grant", json={"password": DATASET_PASSWORD}
        )
        assert grant.status_code == 200, grant.text
        client.cookies.clear()
        headers["holder"] = {"X-FieldCat-Grant": grant.json()["holder"]}
        vouched = client.post("/api/v1/auth/vouched", json={"assertion": vouched_assertion()})
        assert vouched.status_code == 200, vouched.text
        headers["vouched"] = {"Authorization": f"Bearer {vouched.json()['token']}"}
        asked = client.post(
            f"/api/v1/datasets/{ids['embargoed']}/access-requests",
            json={"reason": "matrix"}, headers=headers["requester"],
        )  # fmt: skip
        assert asked.status_code == 201, asked.text
        yield MatrixNode(app, client, public_client, ids, headers)


def test_every_route_has_a_row(matrix: MatrixNode) -> None:
    keys = route_keys(matrix.app)
    assert keys >= SENTINELS, f"the route walk missed routes: {sorted(SENTINELS - keys)}"
    missing = keys - set(ACCESS_MATRIX)
    assert not missing, f"routes without a row in ACCESS_MATRIX: {sorted(missing)}"
    stale = set(ACCESS_MATRIX) - keys
    assert not stale, f"rows for routes that no longer exist: {sorted(stale)}"


def _path(key: str, public_id: str | None) -> tuple[str, str]:
    method, path = key.split(" ", 1)
    row = ACCESS_MATRIX[key]
    if row.path is not None:
        path = row.path
    if public_id is not None:
        path = path.replace("{public_id}", public_id)
    return method, path


def _send(
    matrix: MatrixNode,
    caller: str,
    key: str,
    public_id: str | None,
    *,
    method: str | None = None,
    extra: dict[str, str] | None = None,
) -> httpx.Response:
    row = ACCESS_MATRIX[key]
    verb, path = _path(key, public_id)
    body = row.body
    if row.kind == "bundle":
        body = {"datasets": [public_id], "format": "csv"}
    content = json.dumps(body).encode() if body is not None else b""
    if verb == "GET" or method in ("HEAD", "OPTIONS"):
        content = b""
    return matrix.request(caller, method or verb, path, row.query, body=content, extra=extra)


_CSRF = re.compile(r'name="csrf_token" value="[^"]*"')


def _text(response: httpx.Response) -> str:
    parts = [response.text if response.content else ""]
    parts += [f"{k}: {v}" for k, v in response.headers.items()]
    if response.headers.get("content-type") == "application/zip" and response.status_code == 200:
        with zipfile.ZipFile(io.BytesIO(response.content)) as archive:
            parts += [archive.read(n).decode("utf-8", "replace") for n in archive.namelist()]
    return "\n".join(parts)


def _assert_no_canaries(text: str, caller: str, where: str) -> None:
    for index, state in enumerate(STATES):
        if caller not in SEES[state]:
            assert meta_canary(state) not in text, f"{where}: metadata of {state} leaked"
        if caller not in READS[state]:
            assert data_canary(index) not in text, f"{where}: data of {state} leaked"


def _comparable_headers(response: httpx.Response) -> dict[str, str]:
    ignore = {"content-length", "date", "set-cookie"}
    return {k: v for k, v in response.headers.items() if k not in ignore}


def _same_as_missing(
    matrix: MatrixNode, caller: str, key: str, got: httpx.Response, pid: str, **how: object
) -> None:
    missing = _send(matrix, caller, key, MISSING_ID, **how)  # type: ignore[arg-type]
    assert got.status_code == missing.status_code
    # Anonymous pages carry a fresh CSRF token each time; everything else must be identical.
    same = _CSRF.sub("", got.text.replace(pid, MISSING_ID)) == _CSRF.sub("", missing.text)
    assert same, f"{key} as {caller}: a hidden dataset's answer differs from a missing one's"
    assert _comparable_headers(got) == _comparable_headers(missing)
    assert ("set-cookie" in got.headers) == ("set-cookie" in missing.headers)


PEOPLE_NOT_OWNER = ("other", "reader", "expired_reader", "requester")
"""Local users who are neither the seeded datasets' owner nor staff."""


def _expected_status(kind: str, caller: str, state: str) -> int | None:
    sees, reads = caller in SEES[state], caller in READS[state]
    if kind == "metadata":
        return 200 if sees else 404
    if kind == "data":
        return 200 if reads else 403 if sees else 404
    if kind == "dap":
        without_user = caller in ("anonymous", "holder", "peer", "outsider")
        return 200 if reads else (401 if without_user else 403) if sees else 404
    if kind == "bundle":
        return 200 if reads else 404
    if kind == "grant":
        return 403 if state == "password" and sees else 404
    if kind == "staff":
        return 401 if caller in NO_LOCAL_USER else 403
    if kind in ("manage", "request", "follow"):
        return _person_status(kind, caller, sees, reads)
    if kind == "form":
        return 403
    if kind == "curate":  # the dataset's PI or staff; a vouched user is no local user
        if caller in NO_LOCAL_USER:
            return 401
        return 404 if not sees else 403 if caller in PEOPLE_NOT_OWNER else 409
    if kind == "claim":
        if caller in NO_LOCAL_USER:
            return 401
        return 403 if caller in STAFF_LIKE else 409 if sees else 404
    return None


def _person_status(kind: str, caller: str, sees: bool, reads: bool) -> int:
    if caller in ("anonymous", "holder", "peer", "outsider"):
        return 401
    if not sees:
        return 404
    if kind == "manage":
        return 200 if caller in ("owner", *STAFF_LIKE) else 403
    if kind == "request":
        return 409 if reads else 201
    return 200


def _public_face_refuses(caller: str, key: str) -> bool:
    method, path = key.split(" ", 1)
    return caller == "outsider" and method not in ("GET", "HEAD") and path not in READ_ONLY_POSTS


DATASET_KEYS = sorted(
    k for k, r in ACCESS_MATRIX.items() if "{public_id}" in k or r.kind == "bundle"
)
# Staff writes change state, so their staff/admin cells live in test_access_admin.py.
DATASET_CASES = [
    (caller, key)
    for key in DATASET_KEYS
    for caller in CALLERS
    if not (ACCESS_MATRIX[key].kind == "staff" and caller in STAFF_LIKE)
]
GET_DATASET_KEYS = [k for k in DATASET_KEYS if k.startswith("GET ")]
# The data routes that serve file bytes (the API's /data and the pages' /download); a plot is
# made per request and a track is a small document: neither has byte ranges, nor has the QC
# report.
DATA_KEYS = [
    k
    for k in DATASET_KEYS
    if ACCESS_MATRIX[k].kind == "data" and not k.endswith(("/plot", "/track", "/qc"))
]


def _private_answer(caller: str, response: httpx.Response) -> bool:
    """Whether this answer must not be stored by a cache."""
    return caller not in ("anonymous", "outsider", "peer") or response.status_code >= 400


@pytest.mark.parametrize(("caller", "key"), DATASET_CASES)
def test_dataset_routes(matrix: MatrixNode, caller: str, key: str) -> None:
    row = ACCESS_MATRIX[key]
    for state in STATES:
        pid = matrix.ids[state]
        response = _send(matrix, caller, key, pid)
        where = f"{key} as {caller} on {state}"
        expected = _expected_status(row.kind, caller, state)
        if _public_face_refuses(caller, key):
            expected = 403  # the public listener refuses every write
        assert response.status_code == expected, f"{where}: {response.status_code} {response.text}"
        _assert_no_canaries(_text(response), caller, where)
        if expected == 404:
            _same_as_missing(matrix, caller, key, response, pid)
        if response.status_code == 200 and row.kind in ("data", "bundle", "dap"):
            # pictures, paths and QC reports, not the values
            no_values = key.endswith(("plot", "track", "/qc"))
            assert data_canary(STATES.index(state)) in _text(response) or no_values
        if _private_answer(caller, response):
            assert response.headers.get("cache-control") == "no-store", where
        assert "Authorization" in response.headers.get("vary", ""), where
        assert "etag" not in response.headers or response.status_code == 200, where


DAP_KEY = "GET /opendap/{public_id}.{answer}"


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("answer", ["dds", "das", "dods", "dmr", "dap"])
def test_every_dap_answer_keeps_the_canaries(matrix: MatrixNode, caller: str, answer: str) -> None:
    for index, state in enumerate(STATES):
        path = f"/opendap/{matrix.ids[state]}.{answer}"
        response = matrix.request(caller, "GET", path)
        where = f"{path} as {caller} on {state}"
        expected = _expected_status("dap", caller, state)
        assert response.status_code == expected, f"{where}: {response.status_code}"
        _assert_no_canaries(_text_or_bytes(response), caller, where)
        if expected == 401:
            assert response.headers["www-authenticate"].startswith("Basic "), where
        if expected == 200 and answer in ("dods", "dap"):
            order = ">d" if answer == "dods" else "<d"  # DAP2 is big-endian, DAP4 ours little
            assert struct.pack(order, float(data_canary(index))) in response.content, where


def _text_or_bytes(response: httpx.Response) -> str:
    """The answer as text, binary data decoded byte for byte (canaries are ASCII)."""
    return response.content.decode("latin-1") + str(dict(response.headers))


@pytest.mark.parametrize("caller", CALLERS)
def test_head_answers_exactly_as_get_without_a_body(matrix: MatrixNode, caller: str) -> None:
    for key in GET_DATASET_KEYS:
        for state in STATES:
            pid = matrix.ids[state]
            where = f"HEAD {key} as {caller} on {state}"
            get = _send(matrix, caller, key, pid)
            head = _send(matrix, caller, key, pid, method="HEAD")
            assert head.status_code == get.status_code, where
            assert head.content == b"", where
            assert _comparable_headers(head) == _comparable_headers(get), where
            _assert_no_canaries(_text(head), caller, where)
            if head.status_code == 404:
                _same_as_missing(matrix, caller, key, head, pid, method="HEAD")


@pytest.mark.parametrize("caller", CALLERS)
def test_options_tells_nothing_about_a_dataset(matrix: MatrixNode, caller: str) -> None:
    for key in DATASET_KEYS:
        for state in STATES:
            pid = matrix.ids[state]
            where = f"OPTIONS {key} as {caller} on {state}"
            response = _send(matrix, caller, key, pid, method="OPTIONS")
            assert response.status_code == 405, where  # no CORS: nothing is offered
            _assert_no_canaries(_text(response), caller, where)
            _same_as_missing(matrix, caller, key, response, pid, method="OPTIONS")


@pytest.mark.parametrize("caller", CALLERS)
def test_byte_ranges_only_after_the_check(matrix: MatrixNode, caller: str) -> None:
    for key in DATA_KEYS:
        for state in STATES:
            pid = matrix.ids[state]
            where = f"ranged {key} as {caller} on {state}"
            ranged = {"Range": "bytes=0-9"}
            response = _send(matrix, caller, key, pid, extra=ranged)
            expected = _expected_status("data", caller, state)
            if expected == 200:
                assert response.status_code == 206, where
                assert response.headers["content-range"].startswith("bytes 0-9/"), where
                assert response.content == f"DID = 9{STATES.index(state):02d}\n".encode()
            else:
                assert response.status_code == expected, where
                assert "content-range" not in response.headers, where
                assert "accept-ranges" not in response.headers, where
            _assert_no_canaries(_text(response), caller, where)
            if expected == 404:
                _same_as_missing(matrix, caller, key, response, pid, extra=ranged)


@pytest.mark.parametrize("caller", CALLERS)
def test_search_lists_exactly_what_the_caller_may_see(matrix: MatrixNode, caller: str) -> None:
    response = matrix.request(caller, "GET", "/api/v1/datasets", "limit=1000")
    assert response.status_code == 200
    listed = {item["public_id"] for item in response.json()["items"]}
    expected = {matrix.ids[s] for s in STATES if caller in SEES[s]}
    assert listed & set(matrix.ids.values()) == expected
    _assert_no_canaries(_text(response), caller, f"search as {caller}")
    for state in STATES:  # a free-text probe for a hidden canary finds nothing
        if caller not in SEES[state]:
            probe = matrix.request(caller, "GET", "/api/v1/datasets", f"q={meta_canary(state)}")
            assert probe.json()["items"] == [] and probe.json().get("total") in (0, None)


@pytest.mark.parametrize("caller", CALLERS)
@pytest.mark.parametrize("field", ["pi", "platform"])
def test_suggestions_offer_exactly_what_the_caller_may_see(
    matrix: MatrixNode, caller: str, field: str
) -> None:
    response = matrix.request(caller, "GET", "/api/v1/suggestions", f"field={field}&limit=20")
    assert response.status_code == 200
    offered = " ".join(s["value"] for s in response.json())
    for state in STATES:  # what may be seen is offered, and nothing else
        assert (meta_canary(state) in offered) == (caller in SEES[state]), (caller, state)
    hidden = [s for s in STATES if caller not in SEES[s]]
    for state in hidden:  # typing a hidden value's own word offers nothing
        probe = matrix.request(
            caller, "GET", "/api/v1/suggestions", f"field={field}&prefix={meta_canary(state)}"
        )
        assert probe.json() == [], (caller, state)


@pytest.mark.parametrize("caller", CALLERS)
def test_an_order_of_every_state_holds_only_what_the_caller_may_read(
    matrix: MatrixNode, caller: str
) -> None:
    from catalog.order_build import build_due_orders
    from web.links import API_LINKS

    wanted = [matrix.ids[s] for s in STATES] + [MISSING_ID]
    body = json.dumps({"datasets": wanted}).encode()
    posted = matrix.request(caller, "POST", "/api/v1/orders", "", body=body)
    if caller == "outsider":  # the public listener takes no orders (they are stored jobs)
        assert posted.status_code == 403
        return
    assert posted.status_code == 202, posted.text
    order = posted.json()["order"]
    state = matrix.app.state
    build_due_orders(state.engine, state.store, API_LINKS, lambda: NOW)
    status = matrix.request(caller, "GET", f"/api/v1/orders/{order}", "").json()
    got = matrix.request(caller, "GET", f"/api/v1/orders/{order}/zip", "")
    script = matrix.request(caller, "GET", f"/api/v1/orders/{order}/script", "")
    for where, answer in (("status", status), ("zip", got), ("script", script)):
        text = json.dumps(answer) if isinstance(answer, dict) else _text(answer)
        _assert_no_canaries(text, caller, f"order {where} as {caller}")
    reasons = {item["dataset"]: item["reason"] for item in status["left_out"]}
    # An order is built later with the orderer's account: a password typed in a session (the
    # holder's grant) does not travel with it, so that dataset is left out, and said so.
    reads = {name for name in STATES if caller in READS[name]}
    if caller == "vouched":  # no account here: built with anonymous rights (docs/search.md)
        reads = {name for name in STATES if "anonymous" in READS[name]}
    if caller == "holder":
        reads.discard("password")
        assert "password" in reasons[matrix.ids["password"]]
    for name in STATES:
        pid = matrix.ids[name]
        if name in reads:
            assert pid not in reasons, (caller, name)
        elif caller not in SEES[name]:  # told exactly what a missing id is told
            assert reasons[pid] == reasons[MISSING_ID], (caller, name)
    assert status["included"] == len(reads)


def _non_dataset_keys(*kinds: str) -> list[str]:
    return [k for k, r in ACCESS_MATRIX.items() if r.kind in kinds and k not in DATASET_KEYS]


@pytest.mark.parametrize("caller", CALLERS)
def test_pages_and_lists_show_only_what_the_caller_may_see(matrix: MatrixNode, caller: str) -> None:
    for key in _non_dataset_keys("public", "listing", "submission", "session"):
        response = _send(matrix, caller, key, None)
        assert response.status_code < 500, key
        if ACCESS_MATRIX[key].kind == "listing":
            assert response.status_code == 200, f"{key} as {caller}: {response.status_code}"
        _assert_no_canaries(_text(response), caller, f"{key} as {caller}")
    home = matrix.request(caller, "GET", "/search", "limit=100")
    for state in STATES:  # what may be seen is listed, not only what may not is hidden
        assert (meta_canary(state) in home.text) == (caller in SEES[state]), (caller, state)


@pytest.mark.parametrize("caller", CALLERS)
def test_staff_and_user_pages_turn_away_who_may_not(matrix: MatrixNode, caller: str) -> None:
    signed_in = caller in (
        "other",
        "owner",
        "staff",
        "admin",
        "reader",
        "expired_reader",
        "requester",
    )
    for key in _non_dataset_keys("staff_page", "user_page", "person_page"):
        response = _send(matrix, caller, key, None)
        where = f"{key} as {caller}"
        person = ACCESS_MATRIX[key].kind == "person_page" and caller == "vouched"
        if not (signed_in or person):
            assert response.status_code == 303, where
            assert response.headers["location"].startswith("/signin?next="), where
        elif ACCESS_MATRIX[key].kind == "staff_page" and caller not in STAFF_LIKE:
            assert response.status_code == 403, where
        else:
            assert response.status_code == 200, where
        _assert_no_canaries(_text(response), caller, where)


@pytest.mark.parametrize("caller", sorted(set(CALLERS) - STAFF_LIKE))
def test_staff_routes_refuse_everyone_else(matrix: MatrixNode, caller: str) -> None:
    for key in _non_dataset_keys("staff"):
        response = _send(matrix, caller, key, None)
        where = f"{key} as {caller}"
        expected = (
            403 if _public_face_refuses(caller, key) else _expected_status("staff", caller, "open")
        )
        assert response.status_code == expected, f"{where}: {response.status_code} {response.text}"
        _assert_no_canaries(_text(response), caller, where)


@pytest.mark.parametrize("caller", CALLERS)
def test_form_posts_need_their_csrf_token(matrix: MatrixNode, caller: str) -> None:
    for key in _non_dataset_keys("form"):
        response = _send(matrix, caller, key, None)
        where = f"{key} as {caller}"
        assert response.status_code == 403, f"{where}: {response.status_code} {response.text}"
        slug = "read-only-listener" if caller == "outsider" else "csrf-failed"
        assert response.json()["type"].endswith(slug), where
        _assert_no_canaries(_text(response), caller, where)
    users = matrix.request("admin", "GET", "/api/v1/auth/me")
    assert users.json()["role"] == "admin"  # no form post above changed anyone's role


@pytest.mark.parametrize("caller", CALLERS)
def test_federation_routes_answer_signed_peers_only(matrix: MatrixNode, caller: str) -> None:
    for key in _non_dataset_keys("peer"):
        response = _send(matrix, caller, key, None)
        where = f"{key} as {caller}"
        if caller == "peer":
            assert response.status_code in (200, 202), f"{where}: {response.text}"
        elif _public_face_refuses(caller, key):
            assert response.status_code == 403, where
        else:
            assert response.status_code == 401, where
            assert response.headers["content-type"].startswith("application/problem+json")
        text = _text(response)
        _assert_no_canaries(text, "anonymous", where)  # a peer learns what anyone may see
        for index in range(len(STATES)):  # and mirrors never hold data
            assert data_canary(index) not in text, f"{where}: data in the federation feed"
    feed = matrix.request("peer", "GET", "/api/v1/federation/changes", "since=0&limit=1000")
    # Only dataset records: the registry (instruments, places) is public and travels too.
    changes = feed.json()["changes"]
    shared = {c["public_id"] for c in changes if c["kind"] == "upsert" and _is_dataset(c)}
    assert shared == {matrix.ids[s] for s in STATES if s not in ("private", "withdrawn")}


def _is_dataset(change: dict[str, object]) -> bool:
    return change.get("record_type", "dataset") == "dataset"


@pytest.mark.parametrize("caller", CALLERS)
def test_handover_routes_answer_only_an_agreed_peer(matrix: MatrixNode, caller: str) -> None:
    for key in _non_dataset_keys("handover"):
        response = _send(matrix, caller, key, None)
        where = f"{key} as {caller}"
        if caller == "peer":
            assert response.status_code == 403, f"{where}: {response.text}"
        elif _public_face_refuses(caller, key):
            assert response.status_code == 403, where
        else:
            assert response.status_code == 401, where
        _assert_no_canaries(_text(response), "anonymous", where)


def test_public_listener_refuses_every_write(matrix: MatrixNode) -> None:
    for key in sorted(route_keys(matrix.public_client.app)):
        method, path = _path(key, matrix.ids["open"])
        if method in ("GET", "HEAD", "OPTIONS", "MOUNT") or path in READ_ONLY_POSTS:
            continue
        response = matrix.public_client.request(
            method, path, headers=matrix.headers["admin"], json={}
        )
        assert response.status_code == 403, key
        assert response.json()["type"].endswith("read-only-listener")


def test_public_listener_treats_credentials_as_anonymous(matrix: MatrixNode) -> None:
    me = matrix.public_client.get("/api/v1/auth/me", headers=matrix.headers["admin"])
    assert me.json()["role"] == "anonymous"


def test_a_pi_claiming_someone_elses_did_takes_nothing(matrix: MatrixNode) -> None:
    """Every claim of `other` on `owner`'s datasets is refused; no claim is stored."""
    from sqlalchemy import func, select

    from catalog.auth_models import DatasetClaim
    from catalog.models import Dataset

    for state, pid in matrix.ids.items():
        response = _send(matrix, "other", "POST /api/v1/datasets/{public_id}/claim", pid)
        assert response.status_code in (404, 409), f"{state}: {response.text}"
    with matrix.app.state.session_factory() as session:
        assert session.scalar(select(func.count()).select_from(DatasetClaim)) == 0
        owners = set(session.scalars(select(Dataset.owner_user_id)))
    assert len(owners) == 1 and None not in owners


def test_a_vouched_session_past_its_lifetime_gets_nothing(matrix: MatrixNode) -> None:
    """A user their home center disabled is vouched no more: once the session's lifetime ends,
    every dataset route answers 401 and nothing restricted leaks."""
    from datetime import timedelta

    late = NOW + timedelta(seconds=121)
    for each in (matrix.app, matrix.client.app):
        each.state.clock = lambda: late
    try:
        for key in DATASET_KEYS:
            for state in STATES:
                response = _send(matrix, "vouched", key, matrix.ids[state])
                where = f"{key} as a lapsed vouched user on {state}"
                method, path = key.split(" ", 1)
                machine = path.startswith(("/api/", "/opendap/", "/stac", "/oai"))
                page = method == "GET" and not (machine or path.endswith(".atom"))
                expected = 303 if page else 401  # 303: a page sends the browser to sign in
                if ACCESS_MATRIX[key].kind == "grant":  # a password exchange reads no credential
                    expected = _expected_status("grant", "anonymous", state) or 0
                assert response.status_code == expected, where
                _assert_no_canaries(_text(response), "anonymous", where)
    finally:
        for each in (matrix.app, matrix.client.app):
            each.state.clock = lambda: NOW


def test_forged_and_replayed_assertions_are_refused(matrix: MatrixNode) -> None:
    token = vouched_assertion()
    first = matrix.request("anonymous", "POST", "/api/v1/auth/vouched",
                           body=json.dumps({"assertion": token}).encode())  # fmt: skip
    assert first.status_code == 200
    again = matrix.request("anonymous", "POST", "/api/v1/auth/vouched",
                           body=json.dumps({"assertion": token}).encode())  # fmt: skip
    assert again.status_code == 401
    other = vouched_assertion(audience="LMD")
    wrong = matrix.request("anonymous", "POST", "/api/v1/auth/vouched",
                           body=json.dumps({"assertion": other}).encode())  # fmt: skip
    assert wrong.status_code == 401
