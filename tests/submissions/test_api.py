"""The REST intake: multipart uploads streamed to staging, states and reports, products."""

from __future__ import annotations

import hashlib
import io
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from archive_center.app import create_app
from catalog.schemas import Role
from catalog.storage import ArchiveStore
from tests.archive_center.conftest import database_url, make_settings  # noqa: F401
from tests.conftest import SAMPLES
from web.settings import Settings

NOW = datetime(2026, 1, 15, 12, 0, tzinfo=UTC)
PI, PI2, STAFF = "pi1", "pi2", "staff"
ANONYMOUS = "anonymous"
ROLES = {PI: Role.PI, PI2: Role.PI, STAFF: Role.STAFF}


@dataclass
class Api:
    client: TestClient
    store: ArchiveStore
    settings: Settings
    tokens: dict[str, str]

    def as_(self, who: str) -> Api:
        self.client.headers.pop("Authorization", None)
        if who in self.tokens:
            self.client.headers["Authorization"] = f"Bearer {self.tokens[who]}"
        return self

    def upload(self, name: str, content: bytes, **fields: str):  # type: ignore[no-untyped-def]
        files = {"file": (name, io.BytesIO(content), "text/plain")}
        return self.client.post("/api/v1/submissions", files=files, data=fields)


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory, database_url: str | None) -> Iterator[Api]:  # noqa: F811
    from catalog.users import create_user, issue_api_token

    settings = make_settings(tmp_path_factory.mktemp("node"), database_url)
    settings.max_upload_bytes = 2 << 20
    app = create_app(settings)
    app.state.clock = lambda: NOW
    tokens = {}
    with TestClient(app) as client:
        with app.state.session_factory() as session, session.begin():
            for name, role in ROLES.items():
                user = create_user(session, username=name, password="pw-" * 4, role=role, now=NOW)
                tokens[name] = issue_api_token(session, user, name="test", now=NOW)
        yield Api(client, app.state.store, settings, tokens)


def sample(name: str) -> bytes:
    return (SAMPLES / "valid" / name).read_bytes()


def with_version(content: bytes, version: str, did: str | None = None) -> bytes:
    lines = content.decode().splitlines(keepends=True)
    out = []
    for line in lines:
        if line.upper().startswith("DATA VERSION"):
            line = f"DATA VERSION = {version}\n"
        elif did is not None and line.upper().startswith("DID"):
            line = f"DID = {did}\n"
        out.append(line)
    return "".join(out).encode()


def test_upload_is_registered_and_readable_by_its_pi(api: Api) -> None:
    content = with_version(sample("c130_rf07_track.txt"), "1", did="9001")
    resp = api.as_(PI).upload("c130_rf07_track.txt", content)
    assert resp.status_code == 201, resp.text
    body = resp.json()
    assert body["state"] == "registered" and body["dataset"]
    assert body["sha256"] == hashlib.sha256(content).hexdigest()
    assert api.store.original_path(body["sha256"]).read_bytes() == content
    assert api.client.get(f"/api/v1/datasets/{body['dataset']}").status_code == 200
    got = api.client.get(f"/api/v1/submissions/{body['id']}")
    assert got.status_code == 200 and got.json()["state"] == "registered"
    assert api.as_(PI2).client.get(f"/api/v1/submissions/{body['id']}").status_code == 404
    assert api.as_(STAFF).client.get(f"/api/v1/submissions/{body['id']}").status_code == 200
    mine = api.as_(PI).client.get("/api/v1/submissions", params={"mine": 1}).json()["items"]
    assert body["id"] in [item["id"] for item in mine]
    assert api.as_(PI2).client.get("/api/v1/submissions").json()["items"] == []


def test_anonymous_may_not_submit(api: Api) -> None:
    resp = api.as_(ANONYMOUS).upload("x.txt", sample("seed_example.txt"))
    assert resp.status_code == 401
    assert resp.headers["content-type"].startswith("application/problem+json")


@pytest.mark.parametrize("name", sorted(p.name for p in (SAMPLES / "invalid").iterdir()))
def test_invalid_samples_get_a_422_report_and_change_nothing(api: Api, name: str) -> None:
    before = api.as_(PI).client.get("/api/v1/datasets").json()["total"]
    resp = api.upload(name, (SAMPLES / "invalid" / name).read_bytes())
    assert resp.status_code == 422, resp.text
    problem = resp.json()
    assert problem["submission"]["state"] == "rejected"
    assert problem["submission"]["report"]["diagnostics"]
    assert api.client.get("/api/v1/datasets").json()["total"] == before
    assert list(api.store.staging_dir.iterdir()) == []


def test_oversize_upload_is_refused_and_leaves_nothing(api: Api) -> None:
    resp = api.as_(PI).upload("big.txt", b"x" * (3 << 20))
    assert resp.status_code == 413
    assert list(api.store.staging_dir.iterdir()) == []


@pytest.mark.parametrize("name", ["../../evil.txt", "dir/evil.txt", "a\x01b.txt", ".hidden"])
def test_unsafe_names_are_refused(api: Api, name: str) -> None:
    resp = api.as_(PI).upload(name, sample("seed_example.txt"))
    assert resp.status_code == 400, resp.text
    assert list(api.store.staging_dir.iterdir()) == []


def test_cut_off_multipart_body_is_refused(api: Api) -> None:
    boundary = "XyZ"
    body = (
        f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="a.txt"\r\n'
        "Content-Type: text/plain\r\n\r\n"
    ).encode() + sample("seed_example.txt")[:200]
    resp = api.as_(PI).client.post(
        "/api/v1/submissions", content=body,
        headers={"content-type": f"multipart/form-data; boundary={boundary}"},
    )  # fmt: skip
    assert resp.status_code == 400 and "cut off" in resp.json()["detail"]
    assert list(api.store.staging_dir.iterdir()) == []


def test_many_tiny_parts_are_refused(api: Api) -> None:
    data = {f"f{i}": "x" for i in range(40)}
    resp = api.as_(PI).upload("a.txt", sample("seed_example.txt"), **data)
    assert resp.status_code == 400


def test_versions_and_identity(api: Api) -> None:
    base = sample("kco_surface_hourly.txt")
    v1 = with_version(base, "1", did="9100")
    first = api.as_(PI).upload("kco.txt", v1)
    assert first.status_code == 201, first.text
    again = api.upload("kco-copy.txt", v1)
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = api.as_(PI2).upload("kco.txt", with_version(base, "2", did="9100"))
    assert other.status_code == 422
    assert other.json()["submission"]["report"]["diagnostics"][-1]["code"] == "SUB001"
    same_version = api.as_(PI).upload("kco.txt", with_version(base + b"", "1", did="9100") + b"")
    assert same_version.status_code == 200  # identical bytes
    changed = v1.replace(b"Kaashidhoo", b"Kaashidhoo island", 1)
    refused = api.upload("kco.txt", changed)
    assert refused.status_code == 422
    assert refused.json()["submission"]["report"]["diagnostics"][-1]["code"] == "SUB002"
    v2 = api.upload("kco.txt", with_version(changed, "2"))
    assert v2.status_code == 201, v2.text
    assert v2.json()["dataset"] == first.json()["dataset"]
    detail = api.client.get(f"/api/v1/datasets/{v2.json()['dataset']}").json()
    assert [v["data_version"] for v in detail["versions"]] == ["1", "2"]
    assert api.store.original_path(first.json()["sha256"]).is_file(), "old version kept"
    forced = api.as_(STAFF).upload(
        "kco.txt", with_version(changed, "1").replace(b"island", b"isle"), override="1"
    )
    assert forced.status_code == 201, forced.text


def test_embargo_beyond_campaign_policy_is_refused_for_a_pi(api: Api) -> None:
    content = with_version(sample("sagar_kanya_sounding.txt"), "1", did="9200")
    late = api.as_(PI).upload("s.txt", content, access="embargoed", release_at="2030-01-01")
    assert late.status_code == 422
    assert late.json()["submission"]["report"]["diagnostics"][-1]["code"] == "SUB004"
    ok = api.as_(STAFF).upload("s.txt", content, access="embargoed", release_at="2030-01-01")
    assert ok.status_code == 201, ok.text
    detail = api.client.get(f"/api/v1/datasets/{ok.json()['dataset']}").json()
    assert detail["access_state"] == "embargoed"


def png_bytes() -> bytes:
    from PIL import Image

    buffer = io.BytesIO()
    Image.new("RGB", (640, 480), (10, 120, 200)).save(buffer, format="PNG")
    return buffer.getvalue()


def test_products_are_listed_with_thumbnails(api: Api) -> None:
    resp = api.as_(PI).upload("c130.9903070400.flight_track.png", png_bytes())
    assert resp.status_code == 201, resp.text
    items = api.client.get("/api/v1/products", params={"source": "c130"}).json()["items"]
    (item,) = [i for i in items if i["filename"] == "c130.9903070400.flight_track.png"]
    assert item["time"].startswith("1999-03-07T04:00")
    thumb = api.client.get(item["links"]["thumbnail"])
    assert thumb.status_code == 200 and thumb.headers["content-type"] == "image/png"
    from PIL import Image

    assert max(Image.open(io.BytesIO(thumb.content)).size) <= 256
    assert api.client.get(item["links"]["file"]).content == png_bytes()


def test_misnamed_product_is_rejected_with_the_pattern(api: Api) -> None:
    resp = api.as_(PI).upload("flight_track.png", png_bytes())
    assert resp.status_code == 422
    assert "product_source.YYMMDDHHmm.product_name.ext" in resp.json()["detail"]
    rejected: Path = api.store.rejected_dir / f"{resp.json()['submission']['id']}.bin"
    assert rejected.is_file()


def test_a_closing_center_refuses_new_files_saying_where_to_send_them(api: Api) -> None:
    """After `fieldcat handover --to NPL` at this center, an upload (a data file or a product)
    is refused with a report naming NPL, and no dataset or product is made here."""
    from sqlalchemy import delete, func, select

    from catalog.federation_models import Handover
    from catalog.handover import offer_handover
    from catalog.models import Dataset, Product

    sessions = api.client.app.state.session_factory  # type: ignore[attr-defined]
    with sessions() as session:
        before = (session.scalar(select(func.count(Dataset.id))),
                  session.scalar(select(func.count(Product.id))))  # fmt: skip
    with sessions() as session, session.begin():
        offer_handover(session, api.settings.center_code, "NPL", NOW)
    try:
        for name, content in (("moved.txt", sample("kco_surface_hourly.txt")),
                              ("c130.9903080400.flight_track.png", png_bytes())):  # fmt: skip
            resp = api.as_(PI).upload(name, content)
            assert resp.status_code == 422, resp.text
            report = resp.json()["submission"]["report"]
            assert report["diagnostics"][-1]["code"] == "SUB008"
            assert "handing its records over to NPL" in report["diagnostics"][-1]["message"]
    finally:
        with sessions() as session, session.begin():
            session.execute(delete(Handover))
    with sessions() as session:
        after = (session.scalar(select(func.count(Dataset.id))),
                 session.scalar(select(func.count(Product.id))))  # fmt: skip
    assert after == before
