"""Where the run-to-run noise of the annual China-Russia totals comes from (issue 12, part 3).

The calibration matches moments averaged over R = 8 replications (seeds 0..7 of the scenario,
common random numbers); the noise of a moment is the standard deviation of that mean,
sd(one run) / sqrt(R). The annual totals have a 3% tolerance, so their noise should be below
1%. This script measures, for scenarios/baseline_calibrated.yaml (or SCENARIO):

1. the noise of each annual CN->RU and RU->CN total and of each currency-share moment of the
   calibration (all random streams varying with the replication);
2. the variance of each annual total attributed to a source of randomness: the replication
   varies the seed of one group of named streams (tradesim/model/_random.py) and holds the
   others at the scenario's own seed:
     buyers         budgets and cut-off ranks of buyers ("buyers")
     firms          productivities and cut-off ranks of firms ("firms")
     origin         which origin a renewing buyer chooses ("origin")
     renewal        renewal dates, supplier within the origin, forced switches
                    ("duration", "firm", "switch")
     currency       settlement-currency choices ("currency")
   (shares of the all-varying variance; they add to about 1 when the sources act additively);
3. the variance of each annual total attributed to sectors: cov(sector flow, total) /
   var(total) from the all-varying runs (adds up to 1 exactly).

Usage: python benchmarks/noise.py [SCENARIO] [--runs 12] [--replications 8]
       [--set population.buyers_per_sector=...]
The default (12 runs for each of the 6 designs, 72 runs) takes about a minute on a quiet core.
"""

from __future__ import annotations

import argparse
import math
import time
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from tradesim.analysis.calibrate import load_currency_shares
from tradesim.analysis.moments import currency_moments, simulate_moments
from tradesim.analysis.runner import run_seed
from tradesim.model._random import Streams
from tradesim.model.engine import run_engine
from tradesim.scenario import Scenario, load_scenario

ROOT = Path(__file__).resolve().parent.parent
CALIBRATED = ROOT / "scenarios" / "baseline_calibrated.yaml"
PAIRS = (("CN", "RU"), ("RU", "CN"))
SOURCES: dict[str, tuple[str, ...]] = {
    "buyers": ("buyers",),
    "firms": ("firms",),
    "origin": ("origin",),
    "renewal": ("duration", "firm", "switch"),
    "currency": ("currency",),
}


class MixedStreams(Streams):
    """Streams whose names in `varied` come from the root `other`, the rest from `root`."""

    def __init__(
        self, root: np.random.SeedSequence, other: np.random.SeedSequence, varied: Sequence[str]
    ):
        super().__init__(root)
        self.other, self.varied = Streams(other), frozenset(varied)

    def _child(self, name: str) -> np.random.SeedSequence:
        return self.other._child(name) if name in self.varied else super()._child(name)


def annual_by_sector(
    scenario: Scenario, seed: np.random.SeedSequence | Streams
) -> tuple[np.ndarray, np.ndarray]:
    """(years, pairs, sectors) annual shipped value and the raw run's currency moments."""
    raw = run_engine(scenario, seed)
    w = raw.world
    shipped = np.asarray(raw.flows["shipped"][w.burn_in :]).sum(axis=4)  # (T, O, D, S)
    regions = list(w.regions)
    years = shipped.shape[0] // 12
    out = np.empty((years, len(PAIRS), w.n_sectors))
    for k, (o, d) in enumerate(PAIRS):
        flow = shipped[: years * 12, regions.index(o), regions.index(d)]
        out[:, k] = flow.reshape(years, 12, -1).sum(axis=1)
    return out, simulate_moments(raw, CURRENCY)


CURRENCY = currency_moments(load_currency_shares())


def main(argv: Sequence[str] | None = None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("scenario", nargs="?", default=str(CALIBRATED))
    ap.add_argument("--runs", type=int, default=12, help="replications per design")
    ap.add_argument("--replications", type=int, default=8, help="R of the calibration's mean")
    ap.add_argument("--set", action="append", default=[], dest="overrides")
    ap.add_argument("--no-sources", action="store_true", help="only the all-varying runs")
    args = ap.parse_args(argv)
    scenario = load_scenario(args.scenario, overrides=args.overrides)
    pop = scenario.population
    print(
        f"{scenario.name}: buyers_per_sector={pop.buyers_per_sector},"
        f" firms_per_sector={pop.firms_per_sector}; {args.runs} runs a design"
    )
    t0 = time.perf_counter()
    designs = {"all": None, **({} if args.no_sources else SOURCES)}
    base = np.random.SeedSequence(scenario.seed)
    results: dict[str, np.ndarray] = {}
    shares: list[np.ndarray] = []
    for name, streams in designs.items():
        runs = []
        for i in range(args.runs):
            seed = (
                run_seed(scenario, i)
                if streams is None
                else MixedStreams(base, run_seed(scenario, i), streams)
            )
            flows, cur = annual_by_sector(scenario, seed)
            runs.append(flows)
            if streams is None:
                shares.append(cur)
        results[name] = np.array(runs)  # (runs, years, pairs, sectors)
    seconds = time.perf_counter() - t0
    first = scenario.start.year
    sectors = list(scenario.sectors)
    all_runs = results["all"]
    totals = all_runs.sum(axis=3)  # (runs, years, pairs)
    R = args.replications

    print(
        f"\nNoise of the {R}-replication mean (sd of one run / sqrt({R})), % of the mean;"
        " target < 1% (a third of the 3% tolerance)"
    )
    header = f"{'total':<16}{'mean bn':>9}{'noise %':>9}{'runs for 1%':>13}"
    header += "".join(f"{s:>14}" for s in designs if s != "all")
    print(header)
    rows = []
    for y in range(totals.shape[1]):
        for k, (o, d) in enumerate(PAIRS):
            x = totals[:, y, k]
            mean, sd = x.mean(), x.std(ddof=1)
            noise = 100 * sd / mean / math.sqrt(R)
            need = math.ceil((100 * sd / mean) ** 2)
            line = f"{first + y} {o}->{d}".ljust(16) + f"{mean / 1e9:9.2f}{noise:9.2f}{need:13d}"
            for s in designs:
                if s != "all":
                    v = results[s][:, y, k].sum(axis=1).var(ddof=1)
                    line += f"{v / sd**2:14.2f}"
            print(line)
            rows.append((y, k))
    if not args.no_sources:
        print(
            "(source columns: variance with only that source varying / variance with all varying)"
        )

    print(
        "\nShare of each annual total's variance carried by each sector:"
        " cov(sector, total) / var(total)"
    )
    print(f"{'total':<16}" + "".join(f"{s[:11]:>12}" for s in sectors))
    for y, k in rows:
        tot = totals[:, y, k]
        var = tot.var(ddof=1)
        cov = [np.cov(all_runs[:, y, k, j], tot)[0, 1] / var for j in range(len(sectors))]
        o, d = PAIRS[k]
        print(f"{first + y} {o}->{d}".ljust(16) + "".join(f"{c:12.2f}" for c in cov))

    sh = np.array(shares)
    print(
        f"\nCurrency-share moments: noise of the {R}-replication mean, percentage points"
        " (tolerance 5 pp; target < 1.67)"
    )
    for m, col in zip(CURRENCY, sh.T, strict=True):
        col = col[np.isfinite(col)]
        if col.size > 1:
            print(f"  {m.label:<32}{col.mean():8.2f}%{col.std(ddof=1) / math.sqrt(R):8.2f}")
    print(f"\n{sum(len(v) for v in results.values())} runs in {seconds:.0f} s")


if __name__ == "__main__":
    main()
