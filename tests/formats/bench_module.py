"""Load `bench/formats.py` as a module (its name would shadow the `formats` package)."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

BENCH = Path(__file__).resolve().parents[2] / "bench" / "formats.py"


def load_bench() -> ModuleType:
    """The benchmark script as a module, without running its `main`."""
    spec = importlib.util.spec_from_file_location("fieldcat_bench_formats", BENCH)
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module
