"""Ensemble executors and memory.

1. Speedup of local processes over serial: 8 runs of the baseline economy at 100k agents
   over 120 months, 2 workers (target: at least 1.8x on 2 cores).
2. Overhead of a local Dask cluster (2 single-threaded worker processes) against local
   processes for the same 8 runs, with the cluster already started and warmed by one run
   per worker (target: at most 15%); start-up and warm-up are printed separately.
3. Peak memory (max RSS of a fresh process running the serial executor and the summaries)
   for 10 and 100 runs of the baseline at its bundled size.

    python benchmarks/bench_ensemble.py
"""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from bench_engine import sized

from tradesim import load_scenario
from tradesim.analysis.ensemble import run_ensemble

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"
RUNS = 8

_MEMORY_CHILD = """
import resource, sys, tempfile
from tradesim import load_scenario
from tradesim.analysis.ensemble import run_ensemble
scenario = load_scenario(sys.argv[1])
with tempfile.TemporaryDirectory() as out:
    result = run_ensemble(scenario, runs=int(sys.argv[2]), out=out, executor="serial")
    result.summary(); result.summary(annual=True)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def timed(label: str, **options: object) -> float:
    scenario = sized(100_000)
    with tempfile.TemporaryDirectory() as out:
        t0 = time.perf_counter()
        run_ensemble(scenario, runs=RUNS, out=out, **options)  # type: ignore[arg-type]
        seconds = time.perf_counter() - t0
    print(f"  {label:<34} {seconds:6.2f} s", flush=True)
    return seconds


def dask_steady_state() -> tuple[float, float]:
    from distributed import LocalCluster

    t0 = time.perf_counter()
    cluster = LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, dashboard_address=None
    )
    # A fresh worker's first run imports tradesim and touches new memory; a long-lived
    # cluster pays this once, so one warm-up run per worker is timed with the start-up.
    with tempfile.TemporaryDirectory() as out:
        run_ensemble(
            sized(100_000), runs=2, out=out, executor="dask", scheduler=cluster.scheduler_address
        )
    startup = time.perf_counter() - t0
    try:
        seconds = timed(
            "dask (running local cluster)", executor="dask", scheduler=cluster.scheduler_address
        )
    finally:
        cluster.close()
    return seconds, startup


def peak_memory_mb(runs: int) -> float:
    out = subprocess.run(
        [sys.executable, "-c", _MEMORY_CHILD, str(BASELINE), str(runs)],
        capture_output=True,
        text=True,
        check=True,
    )
    return float(out.stdout.strip().splitlines()[-1])


def main() -> None:
    print(f"tradesim ensemble benchmark: {RUNS} runs x 100k agents x 120 months")
    serial = timed("serial", executor="serial")
    processes = timed("processes, 2 workers", executor="processes", workers=2)
    dask, startup = dask_steady_state()
    print(f"  speedup of processes over serial:  {serial / processes:5.2f}x  (target >= 1.8x)")
    print(
        f"  dask overhead over processes:      {100 * (dask / processes - 1):5.1f}%"
        "  (target <= 15%)"
    )
    print(f"  local dask cluster start-up:       {startup:5.2f} s incl. warm-up runs (not above)")
    base = load_scenario(BASELINE)
    agents = 2 * 6 * (base.population.buyers_per_sector + base.population.firms_per_sector)
    print(f"peak memory, serial executor and summaries, baseline ({agents:,} agents, 60 months):")
    for runs in (10, 100):
        print(f"  {runs:>3} runs: {peak_memory_mb(runs):7.1f} MB max RSS", flush=True)


if __name__ == "__main__":
    main()
