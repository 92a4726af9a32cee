"""The memory estimate (tradesim.analysis.memory) against the measured peak of a run.

    .venv/bin/python benchmarks/bench_memory.py

Prints, for the small test scenario at several agent counts, the estimated bytes and the
peak traced by tracemalloc while `run_engine` runs. The estimate should be above the peak.
"""

from __future__ import annotations

import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.factories import small_dict
from tradesim import scenario_from_dict
from tradesim.analysis.memory import estimate_run_bytes
from tradesim.model.engine import run_engine


def main() -> None:
    print(f"{'buyers/sector':>14} {'firms/sector':>13} {'estimate MB':>12} {'peak MB':>9}")
    for buyers, firms in [(400, 10), (20_000, 10), (80_000, 10), (400, 20_000), (40_000, 5_000)]:
        data = small_dict()
        data["population"] = {"buyers_per_sector": buyers, "firms_per_sector": firms}
        scenario = scenario_from_dict(data)
        tracemalloc.start()
        run_engine(scenario, None)
        _, peak = tracemalloc.get_traced_memory()
        tracemalloc.stop()
        estimate = estimate_run_bytes(scenario)
        print(f"{buyers:>14} {firms:>13} {estimate / 1e6:>12.1f} {peak / 1e6:>9.1f}")


if __name__ == "__main__":
    main()
