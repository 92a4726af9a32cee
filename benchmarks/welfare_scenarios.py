"""Welfare by region of bundled scenarios against their base (the scenario without its own
shocks), one paired run each: the figures quoted in benchmarks/README.md.

Run: python benchmarks/welfare_scenarios.py [SCENARIO ...]
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from tradesim import load_scenario, simulate
from tradesim.analysis.attribute import base_scenario
from tradesim.analysis.welfare import WELFARE_COMPONENTS, welfare

SCENARIOS = [
    "ruble_depreciation",
    "oil_price_collapse",
    "us_china_tariff_rounds_2018_2019",
    "rusal_sanctions_2018",
    "swift_cutoff",
]


def main(names: list[str]) -> None:
    root = Path(__file__).resolve().parent.parent / "scenarios"
    cols = [
        *WELFARE_COMPONENTS,
        "welfare_usd",
        "consumer_index_usd",
        "terms_of_trade_usd",
        "smart_welfare_usd",
    ]
    print(
        f"{'scenario':<34}{'region':<7}"
        + "".join(f"{c.removesuffix('_usd')[:13]:>14}" for c in cols)
    )
    for name in names:
        t0 = time.perf_counter()
        path = root / f"{name}.yaml"
        scenario = load_scenario(path)
        base = base_scenario(path, scenario)
        b, a = simulate(base), simulate(scenario)
        w = welfare(b.data, a.data, scenario).sum("year") / 1e9
        for region in ["US", "CN", "RU", "world"]:
            row = w.sum("region") if region == "world" else w.sel(region=region)
            cells = "".join(f"{float(row[c]):>14.2f}" for c in cols)
            print(f"{name:<34}{region:<7}{cells}")
        print(f"{'':<34}({time.perf_counter() - t0:.1f} s, USD billion over the horizon)")


if __name__ == "__main__":
    main(sys.argv[1:] or SCENARIOS)
