"""The field catalog's part of the federation benchmark (issue 16):

- `product_convergence_p50_s`: from a product listed at JOSS until NPL's and LMD's product
  lists show it (goal under 1 s, as datasets);
- `handover_mb_s`: a hand-over from JOSS to NPL of originals of real size (each dataset with
  a few kB of derived files, not counted in the MB), from the accepted offer until NPL is
  done, beside a raw local copy of the same originals with the same fsyncs
  (`handover_vs_copy`, goal at least 0.5).
"""

from __future__ import annotations

import os
import secrets
import shutil
import statistics
import time
from datetime import UTC, datetime
from pathlib import Path

from sqlalchemy import select

from catalog.db import make_session_factory
from catalog.federation_models import Handover
from catalog.field_records import announce
from catalog.models import Product
from catalog.storage import ArchiveStore
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import Node, build_cluster, close_all, eventually, mesh, start_all
from tests.federation.test_handover_run import add_derived, publish_with_bytes, state_at

MB = 1024 * 1024


def list_product(node: Node, label: str) -> str:
    """A product listed at `node` as the intake lists one (row and change log); its public id."""
    now = datetime.now(UTC)
    with make_session_factory(node.engine)() as session, session.begin():
        product = Product(
            campaign_id=1, center_code=node.code, origin_version=1, filename=f"{label}.png",
            source="c130", product_time=now, product_name=label, ext="png",
            sha256=secrets.token_hex(32), size=1000, access_state="open", created_at=now,
        )  # fmt: skip
        session.add(product)
        announce(session, product, now)
        return product.public_id


def lists(node: Node, public_id: str) -> bool:
    """Whether the node's product list shows this product."""
    return any(p["public_id"] == public_id for p in node.get("/products").json()["items"])


def product_convergence(tmp: Path, count: int, **timings: float) -> dict[str, float]:
    """Seconds from a product listed at JOSS until both other centers list it."""
    nodes = build_cluster(tmp, mesh(), **timings)
    joss, others = nodes["JOSS"], [nodes["NPL"], nodes["LMD"]]
    delays: list[float] = []
    try:
        start_all(nodes)
        list_product(joss, "warmup")
        time.sleep(2)
        for i in range(count):
            public_id = list_product(joss, f"conv{i}x{secrets.token_hex(2)}")
            listed = time.perf_counter()
            for node in others:
                eventually(lambda n=node, p=public_id: lists(n, p), timeout=60, every=0.01)
            delays.append(time.perf_counter() - listed)
    finally:
        close_all(nodes)
    return {"product_convergence_p50_s": statistics.median(delays),
            "product_convergence_max_s": max(delays)}  # fmt: skip


def raw_copy(store: ArchiveStore, shas: list[str], target: Path) -> float:
    """Seconds to copy the originals to another folder, each fsynced (the baseline)."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for sha in shas:
        copied = target / sha
        shutil.copyfile(store.original_path(sha), copied)
        with copied.open("rb") as stream:
            os.fsync(stream.fileno())
    return time.perf_counter() - started


def handover_seconds(node: Node) -> float:
    """From the receiving center's acceptance of the offer to its end, as it recorded them."""
    with make_session_factory(node.engine)() as session:
        job = session.scalars(select(Handover)).one()
        assert job.finished_at is not None
        return (job.finished_at - job.started_at).total_seconds()


def handover(tmp: Path, total_mb: int, **timings: float) -> dict[str, float]:
    """MB/s of a hand-over JOSS -> NPL, and of a raw local copy of the same originals."""
    nodes = build_cluster(tmp, [("JOSS", "NPL")], codes=("JOSS", "NPL"),
                          accept_handover_from=["JOSS"], **timings)  # fmt: skip
    joss, npl = nodes["JOSS"], nodes["NPL"]
    size = 4 * MB
    try:
        start_all(nodes)
        originals = publish_with_bytes(joss, max(1, total_mb * MB // size), size)
        # A closing center's worker has made its derived files long before: small ones here
        # (a few kB a dataset, travelling with the originals), so neither node spends the
        # hand-over trying to derive from the synthetic originals.
        add_derived(joss, list(originals), damage_last=False)
        total = len(originals) * size
        copy_s = raw_copy(ArchiveStore(joss.root), list(originals.values()), tmp / "copy")
        started = fieldcat("handover", "--to", "NPL", "--config", str(joss.config))
        assert started.returncode == 0, started.stdout + started.stderr
        eventually(lambda: state_at(npl, "JOSS", "NPL") == "done", timeout=3600, every=0.05)
        handover_s = handover_seconds(npl)
    finally:
        close_all(nodes)
    return {"handover_mb_s": total / MB / handover_s, "copy_mb_s": total / MB / copy_s,
            "handover_mb": total / MB}  # fmt: skip
