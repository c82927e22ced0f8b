"""Federation benchmark on real nodes: publish-to-search convergence across a three-center
mesh, initial sync of many records from a peer against a local bulk insert of the same
records, and the cost of steady sync per change; the field catalog's product convergence and
hand-over throughput (`bench/parts/field_catalog.py`).

Usage: python bench/federation.py [--quick] [--records N] [--datasets N] [--handover-mb N]
                                  [--only handover]
The last line printed is one JSON object:
{"benchmark": "federation", "figures": ..., "ratios": ...}.
"""

from __future__ import annotations

import argparse
import json
import secrets
import statistics
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from sqlalchemy import Engine, insert, update

from archive_center.app import prepare_node
from bench.parts.field_catalog import handover, product_convergence
from catalog.dataset_writes import CHANGES, DATASETS, VARIABLES, VERSIONS
from catalog.facets import refresh_center_counts
from catalog.models import ChangeCounter, new_public_id
from federation.feed import FeedChange
from federation.mirror_rows import child_rows, dataset_row
from tests.archive_center.fieldcat_process import fieldcat
from tests.federation.cluster import Node, build_cluster, close_all, mesh, publish
from tests.polling import eventually

DEFAULTS = {"tick_s": 0.1, "poll_interval_s": 30.0, "backoff_base_s": 1.0, "backoff_max_s": 300.0}
BATCH = 2000


def record(origin: str, i: int, label: str) -> dict[str, Any]:
    """A synthetic record payload, shaped as the change log carries it."""
    start = datetime(1999, 1, 1, tzinfo=UTC) + timedelta(minutes=7 * i)
    now = datetime.now(UTC).isoformat()
    names = ("O3", "CO", "T", "RH")
    return {
        "public_id": new_public_id(), "did": f"{label}{i}", "campaign": "INDOEX",
        "title": f"{label} flight leg {i}", "summary": "synthetic benchmark record",
        "pi_name": f"PI {i % 37}", "platform": f"Platform {i % 11}",
        "instrument": f"Instrument {i % 23}", "location": "mobile", "project": "INDOEX",
        "category": "research", "start": start.isoformat(),
        "stop": (start + timedelta(hours=5)).isoformat(), "south": -5.0 + i % 10,
        "north": 5.0 + i % 10, "west": 60.0 + i % 20, "east": 70.0 + i % 20,
        "min_altitude": 0.0, "max_altitude": 7000.0, "feature_type": "trajectory",
        "data_version": "1", "access_state": "open", "release_at": None,
        "origin_center": origin, "origin_version": 1, "created": now, "updated": now,
        "variables": [{"name": n, "original_name": n, "unit": "1", "original_unit": "1"}
                      for n in names],
        "current_version": {"data_version": "1", "sha256": secrets.token_hex(32),
                            "size": 10_000 + i, "original_name": f"{label}{i}.txt",
                            "source_format": "header", "created_at": now},
    }  # fmt: skip


def bulk_insert(engine: Engine, payloads: list[dict[str, Any]]) -> float:
    """Insert the records, their variables, versions and change-log entries; seconds taken."""
    started = time.perf_counter()
    with engine.begin() as conn:
        campaign_id = 1  # the configured campaign, made by `prepare_node`
        for first in range(0, len(payloads), BATCH):
            part = payloads[first : first + BATCH]
            changes = [FeedChange(0, p["public_id"], p["origin_center"], 1, "upsert", p)
                       for p in part]  # fmt: skip
            rows = [dataset_row(c.payload, campaign_id, c) for c in changes]
            returning = insert(DATASETS).returning(DATASETS.c.id, sort_by_parameter_order=True)
            ids = [r.id for r in conn.execute(returning, rows)]
            variables: list[dict[str, Any]] = []
            versions: list[dict[str, Any]] = []
            for dataset_id, change in zip(ids, changes, strict=True):
                more_variables, more_versions = child_rows(dataset_id, change.payload)
                variables += more_variables
                versions += more_versions
            conn.execute(insert(VARIABLES), variables)
            conn.execute(insert(VERSIONS), versions)
            top = conn.execute(
                update(ChangeCounter).values(last_seq=ChangeCounter.last_seq + len(part))
                .returning(ChangeCounter.last_seq)
            ).scalar_one()  # fmt: skip
            now = datetime.now(UTC)
            conn.execute(insert(CHANGES), [
                {"seq": top - len(part) + 1 + i, "public_id": c.public_id,
                 "origin_center": c.origin_center, "origin_version": 1, "kind": "upsert",
                 "payload": c.payload, "created_at": now}
                for i, c in enumerate(changes)
            ])  # fmt: skip
    return time.perf_counter() - started


def peer(a: Node, b: Node) -> None:
    """Peer two running nodes with a fresh shared key, through the CLI at each."""
    key_id, secret = f"k-{secrets.token_hex(3)}", secrets.token_urlsafe(32)
    for here, there in ((a, b), (b, a)):
        args = ["peers", "add", there.code, there.url, "--key-id", key_id, "--secret", secret]
        result = fieldcat(*args, "--config", str(here.config))
        assert result.returncode == 0, result.stderr


def applied(node: Node, peer_code: str) -> int:
    """The node's checkpoint of `peer_code`, from its public status."""
    peers = node.get("/federation/status").json()["peers"]
    return next((p["last_seq_applied"] for p in peers if p["code"] == peer_code), 0)


def last_seq(node: Node) -> int:
    """The node's own log position."""
    return int(node.get("/federation/status").json()["last_seq"])


def sync_figures(tmp: Path, records: int, steady: int) -> dict[str, float]:
    """Initial sync of `records` from JOSS to NPL vs the bulk insert; steady per-change cost."""
    nodes = build_cluster(tmp, [], codes=("JOSS", "NPL"), **DEFAULTS)
    joss, npl = nodes["JOSS"], nodes["NPL"]
    try:
        prepare_node(joss.settings)
        payloads = [record("JOSS", i, "sync") for i in range(records)]
        bulk_s = bulk_insert(joss.engine, payloads)
        with joss.session() as session, session.begin():
            refresh_center_counts(session)
        print(f"bulk insert of {records} records: {bulk_s:.2f} s", flush=True)
        for node in nodes.values():
            node.launch()
        for node in nodes.values():
            node.wait()
        target = last_seq(joss)
        peer(joss, npl)
        started = time.perf_counter()
        eventually(lambda: applied(npl, "JOSS") >= target, timeout=3600, every=0.1)
        sync_s = time.perf_counter() - started
        print(f"initial sync of {records} records: {sync_s:.2f} s", flush=True)
        more = [record("JOSS", records + i, "steady") for i in range(steady)]
        bulk_insert(joss.engine, more)
        target = last_seq(joss)
        started = time.perf_counter()
        eventually(lambda: applied(npl, "JOSS") >= target, timeout=600, every=0.02)
        steady_s = time.perf_counter() - started
        print(f"steady sync of {steady} changes: {steady_s:.2f} s", flush=True)
    finally:
        close_all(nodes)
    return {
        "bulk_insert_s": bulk_s,
        "initial_sync_s": sync_s,
        "bulk_insert_per_record_ms": 1000 * bulk_s / records,
        "per_change_ms": 1000 * steady_s / steady,
    }


def percentile(values: list[float], q: float) -> float:
    """The q-quantile (nearest rank) of `values`."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(q * len(ordered) + 0.5) - 1))]


def convergence_figures(tmp: Path, datasets: int) -> dict[str, float]:
    """Seconds from a publish at JOSS until search at NPL and at LMD finds it."""
    nodes = build_cluster(tmp, mesh(), **DEFAULTS)
    joss, others = nodes["JOSS"], [nodes["NPL"], nodes["LMD"]]
    delays: list[float] = []
    try:
        for node in nodes.values():
            node.launch()
        for node in nodes.values():
            node.wait()
        publish(joss, label="warmup")
        time.sleep(2)
        for i in range(datasets):
            label = f"conv{i}x{secrets.token_hex(2)}"
            publish(joss, label=label)
            published = time.perf_counter()
            waiting = {n.code: n for n in others}
            while waiting:
                for code, node in list(waiting.items()):
                    page = node.get("/datasets", q=label, facets="false").json()
                    if page["items"]:
                        delays.append(time.perf_counter() - published)
                        del waiting[code]
                if time.perf_counter() - published > 60:
                    raise AssertionError(f"{label} not visible at {sorted(waiting)}")
                time.sleep(0.01)
    finally:
        close_all(nodes)
    return {
        "convergence_p50_s": statistics.median(delays),
        "convergence_p95_s": percentile(delays, 0.95),
        "convergence_max_s": max(delays),
    }


def main() -> None:
    """Run the measurements and print the summary line last."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small sizes (smoke run)")
    parser.add_argument("--records", type=int, help="records in the initial sync")
    parser.add_argument("--datasets", type=int, help="datasets timed for convergence")
    parser.add_argument("--handover-mb", type=int, help="MB of originals handed over")
    parser.add_argument("--only", choices=["handover"], help="run only this measurement")
    args = parser.parse_args()
    records = args.records or (2_000 if args.quick else 100_000)
    datasets = args.datasets or (10 if args.quick else 50)
    steady = 200 if args.quick else 2_000
    handover_mb = args.handover_mb or (16 if args.quick else 512)
    figures: dict[str, float] = {}
    ratios: dict[str, float] = {}
    with tempfile.TemporaryDirectory(prefix="fieldcat-bench-fed-") as tmp:
        if args.only is None:
            figures |= convergence_figures(Path(tmp) / "mesh", datasets)
            figures |= sync_figures(Path(tmp) / "sync", records, steady)
            figures |= product_convergence(Path(tmp) / "products", datasets, **DEFAULTS)
            figures["records"] = float(records)
            figures["datasets"] = float(datasets)
            ratios["initial_sync_vs_bulk_insert"] = (
                figures["initial_sync_s"] / figures["bulk_insert_s"]
            )
        figures |= handover(Path(tmp) / "handover", handover_mb, **DEFAULTS)
    ratios["handover_vs_copy"] = figures["handover_mb_s"] / figures["copy_mb_s"]
    for name, value in figures.items():
        print(f"{name:28} {value:10.3f}")
    print(json.dumps({"benchmark": "federation", "figures": figures, "ratios": ratios}))


if __name__ == "__main__":
    main()
