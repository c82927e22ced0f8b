"""The serving process's heap, once it is ready: start-up's objects out of the cyclic
garbage collector's walks."""

from __future__ import annotations

import gc


def settle_heap() -> None:
    """Put what start-up made (modules, the application and its routes, the ORM's mappers)
    out of the cyclic garbage collector's walks, once the process is ready to serve.

    A full collection walks every tracked object and holds the GIL meanwhile: with a
    serving process's start-up heap in it, one took about 0.1 s, every few hundred
    thousand allocations (a hand-over's import, a large search page), stalling every
    thread. Frozen, those objects are still freed by their reference counts; only cycles
    among them (made once, at start-up) are never collected. Garbage is collected first.
    Only the `serve` and `worker` commands call it: a process that makes many applications
    (the tests) would keep each one's cycles for good.
    """
    from sqlalchemy.orm import configure_mappers

    configure_mappers()
    gc.collect()
    gc.freeze()
