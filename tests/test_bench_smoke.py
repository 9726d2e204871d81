"""The benchmarks' own code paths still run (no timing asserted: figures live in docs/performance.md)."""
from bench.engine import engine_overhead


def test_the_engine_overhead_benchmark_drives_the_bare_machine():
    # A shared machine fired on an in-memory claim with no database session at all: the
    # engine must not need one for guards that read nothing (bench/engine.py relies on it).
    assert engine_overhead(iterations=50) > 0
