"""Settlement measurements of issue 10, on the calibrated baseline extended to 2020-12.

1. A pure 80% USD cut-off of Russian agents from 2020-01 (CNY, EUR and RUB open, no freeze,
   payments in flight delayed), 20 paired runs (common random numbers): the change in
   China-Russia trade by direction in 2020. It should be small: the cut-off only changes what
   settlement costs.
   With --hold P, the same cut-off plus compliance holds (probability P, two months) on the
   USD payments still made, priced as a financing cost at the receiver's policy rate, and the
   holds alone: what the financing cost does to trade and to currency shares.
2. Months for the USD share of Russia's exports to China (ensemble mean, monthly) to fall to
   half its March 2018 level after the US sanctions of 6 April 2018, and how that depends on
   the switching cost, the renewal rate and the perceived premium's half-life.

Usage: python benchmarks/bench_settlement.py [--runs 20]
"""

from __future__ import annotations

import argparse
import sys
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from tradesim import compare, run_ensemble
from tradesim.scenario import Scenario, load_scenario, scenario_from_dict

ROOT = Path(__file__).resolve().parent.parent
CALIBRATED = ROOT / "scenarios" / "baseline_calibrated.yaml"


def extended(scenario: Scenario, **changes: Any) -> Scenario:
    data = scenario.model_dump(mode="json")
    data["end"] = "2020-12"
    cc = data["parameters"]["currency_choice"]
    for key, value in changes.items():
        if key == "renewal_months":
            data["parameters"][key] = value
        elif key == "half_life_months":
            for shock in data["shocks"]:
                if shock["type"] == "settlement_risk":
                    shock[key] = value
        elif key == "premium_2018":
            for shock in data["shocks"]:
                if shock.get("name") == "US sanctions April 2018, dollar risk":
                    shock["premium"] = value
        else:
            cc[key] = value
    return scenario_from_dict(data)


def cutoff(base: Scenario, runs: int, hold: float = 0.0, share: float = 0.8) -> None:
    """A USD cut-off of Russian agents from 2020-01 (share `share`), and with `hold` the USD
    payments still made to or from Russia held for compliance checks two months with that
    probability (priced as a financing cost at the receiver's policy rate)."""
    data = base.model_dump(mode="json")
    data["name"] = "usd_cutoff_2020"
    financial: dict[str, Any] = {
        "cutoff_share": share,
        "currencies": ["USD"],
        "in_flight": "delay",
        "delay_months": 2,
        "hold_probability": hold,
    }
    data["shocks"].append(
        {
            "type": "sanction",
            "name": "USD cut-off of Russian agents",
            "imposer": "US",
            "target": "RU",
            "start": "2020-01",
            "financial": financial,
        }
    )
    alt = scenario_from_dict(data)
    year = dict(month=slice("2020-01", "2020-12"))
    with tempfile.TemporaryDirectory() as tmp:
        comp = compare(base, alt, runs=runs, out=tmp, workers=2)
        rows = []
        costs = []
        for i in range(runs):
            b, a = comp.base.run(i), comp.alternative.run(i)
            for o, d in (("CN", "RU"), ("RU", "CN")):
                sel = dict(origin=o, destination=d, **year)
                vb = float(b.shipped_usd.sel(**sel).sum())
                va = float(a.shipped_usd.sel(**sel).sum())
                rows.append((o, d, vb, va))
            costs.append(
                [
                    float(a[name].sel(**year).sum() - b[name].sel(**year).sum())
                    for name in ("financing_cost_usd", "switching_cost_usd", "frozen_usd")
                ]
            )
        shares = comp.alternative.direction_currency_shares()
        base_shares = comp.base.direction_currency_shares()
    what = f"{share:.0%} USD cut-off of Russian agents"
    if hold:
        what += f" and {hold:.0%} of the USD payments left held 2 months"
    print(f"1. {what}, from 2020-01, {runs} paired runs, 2020:")
    fin, switch, frozen = np.mean(costs, axis=0) / 1e9
    print(
        f"   costs booked in 2020 (all routes, mean): financing {fin:.3f}bn,"
        f" switching {switch:.3f}bn, frozen {frozen:.3f}bn"
    )
    for o, d in (("CN", "RU"), ("RU", "CN")):
        pairs = np.array([(vb, va) for oo, dd, vb, va in rows if (oo, dd) == (o, d)])
        diff = pairs[:, 1] - pairs[:, 0]
        rel = diff / pairs[:, 0]
        print(
            f"   {o}->{d}: base {pairs[:, 0].mean() / 1e9:.2f}bn, change {diff.mean() / 1e9:+.3f}bn"
            f" ({100 * rel.mean():+.2f}%; runs {100 * rel.min():+.2f}% to {100 * rel.max():+.2f}%)"
        )
        s = shares["currency_share_mean"].sel(period="2020", origin=o, destination=d)
        s0 = base_shares["currency_share_mean"].sel(period="2020", origin=o, destination=d)
        text = ", ".join(
            f"{c} {100 * float(s.sel(currency=c)):.1f}%"
            f" (base {100 * float(s0.sel(currency=c)):.1f}%)"
            for c in s.currency.values
        )
        print(f"   {o}->{d} currency shares 2020: {text}")


def halving(scenario: Scenario, runs: int, label: str) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        ens = run_ensemble(scenario, runs=runs, out=tmp, workers=2)
        usd = []
        for i in range(runs):
            flow = ens.run(i).shipped_usd.sel(origin="RU", destination="CN").sum("sector")
            usd.append((flow.sel(currency="USD") / flow.sum("currency")).values)
        months = ens.run(0).month.values
    mean = np.mean(usd, axis=0)
    labels = [str(m)[:7] for m in months]
    march = labels.index("2018-03")
    half = mean[march] / 2
    below = [k for k in range(march + 1, len(mean)) if mean[k] <= half]
    when = f"{below[0] - march} months ({labels[below[0]]})" if below else "not by 2020-12"
    dec18 = labels.index("2018-12")
    print(
        f"   {label}: USD share RU->CN {100 * mean[march]:.1f}% in 2018-03,"
        f" {100 * mean[dec18]:.1f}% in 2018-12, {100 * mean[-1]:.1f}% in 2020-12;"
        f" halves after {when}"
    )


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--skip-cutoff", action="store_true")
    ap.add_argument(
        "--hold",
        type=float,
        default=0.5,
        help="also run the cut-off with this compliance-hold probability on USD (0: skip)",
    )
    ap.add_argument("--skip-halving", action="store_true")
    ap.add_argument("--only-strong", action="store_true", help="only the 1%-premium variants")
    args = ap.parse_args()
    calibrated = load_scenario(CALIBRATED)
    base = extended(calibrated)
    if not args.skip_cutoff:
        cutoff(base, args.runs)
        if args.hold:
            cutoff(base, args.runs, hold=args.hold)
            cutoff(base, args.runs, hold=args.hold, share=0.0)
    if not args.skip_halving:
        cc = calibrated.parameters.currency_choice
        print(f"2. USD share of Russia's exports to China after 6 April 2018 ({args.runs} runs):")
        if not args.only_strong:
            halving(base, args.runs, f"calibrated (switching cost {cc.switching_cost})")
            halving(extended(calibrated, switching_cost=0.0), args.runs, "switching cost 0")
            halving(extended(calibrated, renewal_months=6.0), args.runs, "renewal every 6 months")
            halving(extended(calibrated, half_life_months=12.0), args.runs, "premium half-life 12")
        print("   with a 1% perceived premium in April 2018 (ten times the fitted one):")
        for label, extra in (
            ("switching cost 0.005", {}),
            ("switching cost 0", {"switching_cost": 0.0}),
            ("switching cost 0.01", {"switching_cost": 0.01}),
            ("renewal every 6 months", {"renewal_months": 6.0}),
            ("renewal every 24 months", {"renewal_months": 24.0}),
        ):
            halving(extended(calibrated, premium_2018=0.01, **extra), args.runs, label)
    return 0


if __name__ == "__main__":
    sys.exit(main())
