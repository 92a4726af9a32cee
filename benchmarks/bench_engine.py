"""Engine throughput (wall and CPU), memory per agent, and the ratio to the Mesa reference.

Runs the bundled baseline economy (2 agent economies x 11 sectors, 5 external regions; 19
buyers per firm) with no burn-in, one process, at chosen agent counts, with relationships
of the baseline's mean length (12 months) and with every buyer renewing every month
(`renewal_months = 1`, the worst case: every agent draws a supplier and a currency every
month). For each case it prints

- *agent-months/s*: agents x months over the wall time of `run_engine` (set-up, the simpy
  loop and the result arrays; the median of the repeats, with min and max);
- *CPU s*: process CPU time of the same runs (median): on a shared machine wall time
  includes waiting for a core, CPU time does not;
- *B/agent month 0* and *B/agent steady*: peak traced memory (tracemalloc) during set-up
  and the first month (when every buyer chooses a supplier at once), and during the months
  after it, each divided by the number of agents; both include the agents' own arrays and
  the run's result arrays, so they are the peak a run needs, not increments;
- with `--mesa` and the optional `bench` extra installed (`pip install -e ".[bench]"`), the
  same case run by the per-agent Mesa 3 reference (benchmarks/reference/mesa_model.py) for
  fewer months (its rate is constant in months), and the ratio engine / Mesa.

    python benchmarks/bench_engine.py                     # 10k, 100k, 1M; 24 months; 5 repeats
    python benchmarks/bench_engine.py 100000 --months 120 --repeats 7
    python benchmarks/bench_engine.py --mesa               # with the Mesa reference
    TRADESIM_BENCH_SCENARIO=old.yaml python benchmarks/bench_engine.py 100000  # another economy

Targets (issue 16): at least 50x Mesa at 100k agents and 20x at 10k; at least 8 M
agent-months/s at 1M agents when every buyer renews monthly; month-0 peak at most 80 B/agent.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from pathlib import Path

import simpy

from tradesim import load_scenario
from tradesim.model import engine
from tradesim.model._random import Streams
from tradesim.model.world import build_world
from tradesim.scenario import Scenario

BASELINE = Path(
    os.environ.get(
        "TRADESIM_BENCH_SCENARIO",
        Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml",
    )
)
BUYERS_PER_FIRM = 19


def sized(n_agents: int, months: int = 120, renewal_months: float | None = None) -> Scenario:
    """The baseline economy with about `n_agents` agents, `months` months, no burn-in."""
    base = load_scenario(BASELINE)
    per_group = n_agents // (len(base.economies) * len(base.sectors))  # agent economies x sectors
    firms = max(1, per_group // (BUYERS_PER_FIRM + 1))
    start = base.start
    last = start.year * 12 + start.month - 1 + months - 1
    update: dict[str, object] = {
        "population": base.population.model_copy(
            update={"buyers_per_sector": per_group - firms, "firms_per_sector": firms}
        ),
        "end": start.replace(year=last // 12, month=last % 12 + 1),
        "burn_in_months": 0,
    }
    if renewal_months is not None:
        update["parameters"] = base.parameters.model_copy(update={"renewal_months": renewal_months})
    scenario = base.model_copy(update=update)
    assert scenario.n_months == months, (scenario.n_months, months)
    return scenario


@dataclass
class Timing:
    agents: int
    wall: list[float]
    cpu: list[float]

    def rate(self, months: int, which: str = "median") -> float:
        wall = {"median": statistics.median, "min": min, "max": max}[which](self.wall)
        return self.agents * months / wall


def timed(scenario: Scenario, repeats: int) -> Timing:
    wall, cpu, agents = [], [], 0
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        raw = engine.run_engine(scenario, 1)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
        agents = raw.n_agents
    return Timing(agents, wall, cpu)


def memory(scenario: Scenario) -> tuple[float, float]:
    """Peak traced bytes per agent during set-up and month 0, and during later months.

    The run is `run_engine`'s, stepped with simpy's `run(until=...)` so that the peak can be
    read after the first month and reset."""
    tracemalloc.start()
    try:
        world = build_world(scenario)
        run = engine._Run(scenario, world, Streams(1), False)
        env = simpy.Environment(initial_time=-world.burn_in)
        for i in range(len(run.shocks)):
            env.process(run.shock(env, i))
        env.process(run.market(env))
        env.process(run.recorder(env))
        env.run(until=-world.burn_in + 1)
        _, first = tracemalloc.get_traced_memory()
        tracemalloc.reset_peak()
        env.run(until=world.n_months)
        _, steady = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    agents = len(run.state.firms) + len(run.state.buyers)
    return first / agents, steady / agents


def mesa_rate(n: int, months: int, renewal: float | None, repeats: int) -> float | None:
    """Agent-months/s of the Mesa reference (median of `repeats` runs of `months` months),
    or None without Mesa."""
    sys.path.insert(0, str(Path(__file__).resolve().parent / "reference"))
    try:
        from mesa_model import run_mesa
    except ImportError as e:  # the optional `bench` extra is not installed
        print(f"  (Mesa reference skipped: {e}; pip install -e '.[bench]')", flush=True)
        return None
    scenario = sized(n, months, renewal)
    rates = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        agents, _ = run_mesa(scenario, seed=1)
        rates.append(agents * months / (time.perf_counter() - t0))
    return statistics.median(rates)


_FIRST_RUN = """
import sys, time
sys.path.insert(0, sys.argv[1])
from bench_engine import sized
from tradesim.model.engine import run_engine
scenario = sized(10_000, 2)
t0 = time.perf_counter(); run_engine(scenario, 1); t1 = time.perf_counter()
run_engine(scenario, 1); t2 = time.perf_counter()
print(t1 - t0, t2 - t1)
"""


def compile_seconds() -> tuple[float, float]:
    """Extra seconds of the first run in a fresh process: with an empty numba cache (the
    first run after installation compiles tradesim.model.choice and .orders), and with the cache
    written by it (every later process loads the compiled code)."""
    out = []
    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for _ in range(2):
            got = subprocess.run(
                [sys.executable, "-c", _FIRST_RUN, str(Path(__file__).resolve().parent)],
                capture_output=True,
                text=True,
                check=True,
                env=env,
            )
            first, second = (float(x) for x in got.stdout.split())
            out.append(first - second)
    return out[0], out[1]


def bundled_baseline(repeats: int) -> None:
    """One run of scenarios/baseline.yaml in process (`simulate`: engine and labelled
    result), after a warm-up run; target (issue 16) at most 0.4 s."""
    from tradesim import simulate

    scenario = load_scenario(BASELINE)
    simulate(scenario)
    wall, cpu = [], []
    for _ in range(repeats):
        w0, c0 = time.perf_counter(), time.process_time()
        simulate(scenario)
        wall.append(time.perf_counter() - w0)
        cpu.append(time.process_time() - c0)
    print(
        f"bundled baseline, one run in process (simulate): {statistics.median(wall):.3f} s"
        f" (min {min(wall):.3f}, max {max(wall):.3f}), CPU {statistics.median(cpu):.3f} s"
        "  (target <= 0.4 s)",
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[10_000, 100_000, 1_000_000])
    parser.add_argument("--months", type=int, default=24)
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--mesa", action="store_true", help="also run the Mesa reference")
    parser.add_argument("--no-compile", action="store_true", help="skip the compile timing")
    parser.add_argument(
        "--mesa-months", type=int, default=None, help="months of the Mesa runs (default: --months)"
    )
    parser.add_argument("--mesa-repeats", type=int, default=3)
    args = parser.parse_args()
    months = args.months
    if not args.no_compile:
        compiled, cached = compile_seconds()
        print(
            f"numba: first run compiles in {compiled:.2f} s (empty cache); a fresh process"
            f" loads the cached code in {cached:.2f} s"
        )
    print(f"load average {os.getloadavg()[0]:.1f} at start")
    bundled_baseline(args.repeats)
    print(f"tradesim engine benchmark: {months} months, one process, {args.repeats} repeats")
    head = (
        "case",
        "agents",
        "agent-months/s (min-max)",
        "wall s",
        "CPU s",
        "B/agent m0",
        "B/agent steady",
    )
    print("{:<16} {:>10} {:>26} {:>7} {:>7} {:>11} {:>15}".format(*head), flush=True)
    for n in args.sizes:
        for label, renewal in (("12-month", None), ("renew monthly", 1.0)):
            scenario = sized(n, months, renewal)
            engine.run_engine(scenario, 1)  # warm-up: first-touch of memory, caches
            t = timed(scenario, args.repeats)
            first, steady = memory(scenario)
            rate = (
                f"{t.rate(months) / 1e6:.2f} M ({t.rate(months, 'max') / 1e6:.2f}-"
                f"{t.rate(months, 'min') / 1e6:.2f})"
            )
            print(
                f"{label:<16} {t.agents:>10,} {rate:>26} {statistics.median(t.wall):>7.3f}"
                f" {statistics.median(t.cpu):>7.3f} {first:>11.0f} {steady:>15.0f}",
                flush=True,
            )
            if args.mesa:
                mesa_months = args.mesa_months or months
                m = mesa_rate(n, mesa_months, renewal, args.mesa_repeats)
                if m is not None:
                    if mesa_months != months:  # compare like with like: month 0 weighs more
                        t = timed(sized(n, mesa_months, renewal), args.repeats)
                    print(
                        f"{'  Mesa 3':<16} {t.agents:>10,} {m / 1e6:>24.3f} M"
                        f"   engine / Mesa = {t.rate(mesa_months) / m:.1f}x"
                        f" ({mesa_months} months, Mesa median of {args.mesa_repeats})",
                        flush=True,
                    )

    print(f"load average {os.getloadavg()[0]:.1f} at end")


if __name__ == "__main__":
    main()
