"""Two real federated nodes (JOSS and NPL) seeded with sample files, for the portal's browser
tests: each center's own datasets, and the other's mirrored once the change log has run."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.conftest import SAMPLES
from tests.federation.cluster import Node, build_cluster, close_all, start_all
from tests.polling import eventually

Held = dict[str, tuple[str, ...]]
"""center code -> sample file names registered there."""


def seed(node: Node, names: tuple[str, ...], embargoed: frozenset[str]) -> dict[str, str]:
    """Register the sample files at `node` (before it starts), as its demo PI; their ids."""
    from archive_center.app import prepare_node
    from archive_center.demo.seeding import seed_center

    prepare_node(node.settings)
    files = []
    for name in names:
        copy = node.root / "seed" / name
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(SAMPLES / "valid" / name, copy)
        files.append(copy)
    return dict(zip(names, seed_center(node.settings, files, embargoed=embargoed), strict=True))


@contextmanager
def portal_pair(
    tmp: Path, held: Held, embargoed: frozenset[str] = frozenset()
) -> Iterator[tuple[dict[str, Node], dict[str, str]]]:
    """The running pair and the ids of every sample, once JOSS lists them all."""
    nodes = build_cluster(tmp, [("JOSS", "NPL")], ("JOSS", "NPL"))
    try:
        ids: dict[str, str] = {}
        for code, names in held.items():
            ids |= seed(nodes[code], names, embargoed)
        start_all(nodes)
        everything = set(ids.values())
        eventually(lambda: nodes["JOSS"].search_ids(limit=50) >= everything or None, timeout=60)
        yield nodes, ids
    finally:
        close_all(nodes)
