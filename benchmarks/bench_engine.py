"""Engine throughput, simpy scheduling share and memory per agent.

Runs the bundled baseline economy (2 agent economies x 11 sectors, 5 external regions) for
120 months with no burn-in at 10k, 100k and 1M agents (19 buyers per firm), one process.
Prints agent-months per second (agents x months / wall time of the simulation loop), the
share of that wall time spent outside the model's kernels (simpy scheduling and process
switching), and peak traced memory per agent.

    python benchmarks/bench_engine.py            # all sizes
    python benchmarks/bench_engine.py 100000     # chosen sizes
    TRADESIM_BENCH_SCENARIO=old.yaml python benchmarks/bench_engine.py 100000  # another economy
"""

from __future__ import annotations

import os
import sys
import time
import tracemalloc
from pathlib import Path

from tradesim import load_scenario
from tradesim.model.engine import run_engine
from tradesim.scenario import Scenario

BASELINE = Path(
    os.environ.get(
        "TRADESIM_BENCH_SCENARIO",
        Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml",
    )
)
MONTHS = 120


def sized(n_agents: int) -> Scenario:
    base = load_scenario(BASELINE)
    per_group = n_agents // (len(base.economies) * len(base.sectors))  # agent economies x sectors
    firms = max(1, per_group // 20)
    return base.model_copy(
        update={
            "population": base.population.model_copy(
                update={"buyers_per_sector": per_group - firms, "firms_per_sector": firms}
            ),
            "end": base.start.replace(year=base.start.year + MONTHS // 12 - 1, month=12),
            "burn_in_months": 0,
        }
    )


def measure(n_agents: int, repeats: int = 3) -> dict[str, float]:
    scenario = sized(n_agents)
    assert scenario.n_months == MONTHS
    best = None
    for _ in range(repeats):
        raw = run_engine(scenario, 1)
        if best is None or raw.timings["run_seconds"] < best.timings["run_seconds"]:
            best = raw
    assert best is not None
    t = best.timings
    tracemalloc.start()
    raw = run_engine(scenario, 1)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return {
        "agents": raw.n_agents,
        "setup_s": t["setup_seconds"],
        "run_s": t["run_seconds"],
        "rate": raw.n_agents * MONTHS / t["run_seconds"],
        "simpy_share": (t["run_seconds"] - t["kernel_seconds"]) / t["run_seconds"],
        "bytes_per_agent": peak / raw.n_agents,
    }


def main(sizes: list[int]) -> None:
    print(f"tradesim engine benchmark: {MONTHS} months, one process")
    head = ("agents", "setup s", "run s", "agent-months/s", "simpy %", "bytes/agent")
    print("{:>10} {:>8} {:>8} {:>16} {:>8} {:>12}".format(*head))
    for n in sizes:
        t0 = time.perf_counter()
        r = measure(n, repeats=3 if n < 1_000_000 else 2)
        rate = f"{r['rate'] / 1e6:.1f} M"
        share = f"{100 * r['simpy_share']:.2f}%"
        print(
            f"{r['agents']:>10,.0f} {r['setup_s']:>8.2f} {r['run_s']:>8.2f} {rate:>16}"
            f" {share:>8} {r['bytes_per_agent']:>12.0f}   ({time.perf_counter() - t0:.0f} s)",
            flush=True,
        )


if __name__ == "__main__":
    main([int(a) for a in sys.argv[1:]] or [10_000, 100_000, 1_000_000])
