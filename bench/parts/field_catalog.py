"""The field catalog's part of the federation benchmark (issue 16):

- `product_convergence_p50_s`: from a product listed at JOSS until NPL's and LMD's product
  lists show it (goal under 1 s, as datasets);
- `handover_mb_s`: a hand-over from JOSS to NPL of a few hundred originals of field-campaign
  sizes (`campaign_sizes`: 32 kB soundings to 8 MB flights), each dataset with a few kB of
  derived files, from the accepted offer until NPL is done, beside a raw local copy of the
  same bytes (originals and derived files), each file fsynced, in the same run: the median
  of three copies, one before the hand-over and two after (`handover_vs_copy`, goal at
  least 0.5).

Not a script of its own: `bench/federation.py` runs it and prints its figures and ratios in
its JSON line."""

from __future__ import annotations

import math
import os
import random
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
from tests.federation.cluster import Node, build_cluster, close_all, mesh, start_all
from tests.federation.test_handover_run import add_derived, publish_with_bytes, state_at
from tests.polling import eventually

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


def campaign_sizes(total: int, seed: int = 16) -> list[int]:
    """File sizes as a campaign's originals come (log-uniform from a 32 kB sounding or hourly
    series to an 8 MB flight), summing to `total` bytes: about 1.4 MB on average."""
    rng, sizes = random.Random(seed), []
    low, high = math.log(32 * 1024), math.log(8 * MB)
    while (left := total - sum(sizes)) > 0:
        sizes.append(min(left, int(math.exp(rng.uniform(low, high)))))
    return sizes


def settled(store: ArchiveStore) -> list[Path]:
    """The derived files, once the worker has stopped adding any (the same list twice, a
    second apart)."""
    before: list[Path] = []
    while True:
        now = sorted(p for p in store.derived_dir.rglob("*") if p.is_file())
        if now and now == before:
            return now
        before = now
        time.sleep(1.0)


def raw_copy(sources: list[Path], target: Path) -> float:
    """Seconds to copy these files to another folder, each fsynced (the baseline)."""
    target.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    for i, source in enumerate(sources):
        copied = target / f"{i}"
        shutil.copyfile(source, copied)
        with copied.open("rb") as stream:
            os.fsync(stream.fileno())
    return time.perf_counter() - started


def handover_seconds(node: Node) -> float:
    """From the receiving center's acceptance of the offer to its end, as it recorded them."""
    with make_session_factory(node.engine)() as session:
        job = session.scalars(select(Handover)).one()
        assert job.finished_at is not None
        return (job.finished_at - job.started_at).total_seconds()


COPIES = 3
"""Raw copies measured (one before the hand-over, the rest after it): the baseline is their
median. One copy alone swung from 170 to 580 MB/s between runs on this disk, more than the
hand-over ever moved, so a single copy made the ratio a measure of the disk's mood."""


def handover(tmp: Path, total_mb: int, **timings: float) -> dict[str, float]:
    """MB/s of a hand-over JOSS -> NPL, and of a raw local copy of the same bytes (the median
    of `COPIES` copies, with the slowest and fastest)."""
    nodes = build_cluster(tmp, [("JOSS", "NPL")], codes=("JOSS", "NPL"),
                          accept_handover_from=["JOSS"], **timings)  # fmt: skip
    joss, npl = nodes["JOSS"], nodes["NPL"]
    try:
        start_all(nodes)
        originals = publish_with_bytes(joss, campaign_sizes(total_mb * MB))
        # A closing center's worker has made its derived files long before: small ones here
        # (a few kB a dataset, travelling with the originals), so neither node spends the
        # hand-over trying to derive from the synthetic originals.
        add_derived(joss, list(originals), damage_last=False)
        store = ArchiveStore(joss.root)
        derived = settled(store)  # JOSS's worker has run QC: it does nothing during the run
        files = [store.original_path(sha) for sha in originals.values()] + derived
        total = sum(p.stat().st_size for p in files)
        os.sync()  # each measurement starts with nothing dirty: no write-back of the last
        copies = [raw_copy(files, tmp / "copy-before")]
        os.sync()
        started = fieldcat("handover", "--to", "NPL", "--config", str(joss.config))
        assert started.returncode == 0, started.stdout + started.stderr
        # Seldom: the time is NPL's own record of the run (`handover_seconds`), and each look
        # is a query of NPL's database taking CPU from the two nodes (at 20 looks a second,
        # a seventh of a core of this script's beside them, on two cores).
        eventually(lambda: state_at(npl, "JOSS", "NPL") == "done", timeout=3600, every=0.5)
        handover_s = handover_seconds(npl)
        for i in range(COPIES - 1):
            os.sync()
            copies.append(raw_copy(files, tmp / f"copy-after-{i}"))
    finally:
        close_all(nodes)
    speeds = sorted(total / MB / s for s in copies)
    return {"handover_mb_s": total / MB / handover_s, "copy_mb_s": statistics.median(speeds),
            "copy_mb_s_min": speeds[0], "copy_mb_s_max": speeds[-1],
            "handover_mb": total / MB, "handover_files": float(len(files))}  # fmt: skip
