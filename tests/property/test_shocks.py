"""What shocks guarantee: embargoes close routes, tariffs never raise imports, a zero shock
changes nothing, the past before a shock is untouched, and temporary shocks fade."""

import copy

import numpy as np
import xarray as xr
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tradesim import scenario_from_dict, simulate
from tradesim.model.world import build_world

from ..factories import small_dict
from ..strategies import shocks, worlds


def run(data, seed=None):
    return simulate(scenario_from_dict(data), seed=seed).data


def frictionless(world):
    """No capacity limits and no price moves: the CES limit, any renewal hazard."""
    world = copy.deepcopy(world)
    world["parameters"]["capacity_headroom"] = None
    world["parameters"]["price_adjustment"] = 0.0
    return world


def with_shocks(world, *items):
    return {**world, "shocks": list(items)}


@st.composite
def world_and_shock(draw, kind=None, **fields):
    world = draw(worlds())
    shock = draw(shocks(world, kind))
    shock.update(fields)
    return world, shock


@given(world_and_shock("sanction"))
def test_full_embargo_gives_zero_flow_while_it_lasts(case):
    """Catches: an embargo that blocks new choices but leaves existing relationships alive
    (dropping the forced renewal of embargoed relationships in `kernels.switch_or_break`)."""
    world, shock = case
    assume(shock["type"] == "sanction")
    shock["trade"] = {"sectors": "all"}
    d = run(with_shocks(world, shock))
    scenario = scenario_from_dict(with_shocks(world, shock))
    w, s = build_world(scenario), scenario.shocks[0]
    first = int(np.floor(w.date_to_month(s.start)))
    last = w.n_months if s.end is None else min(w.n_months, int(np.ceil(w.date_to_month(s.end))))
    months = d.month[first:last]
    a, b = shock["imposer"], shock["target"]
    both_ways = d.shipped_usd.sel(month=months, origin=[a, b], destination=[b, a])
    assert float(both_ways.sel(origin=a, destination=b).sum()) == 0.0
    assert float(both_ways.sel(origin=b, destination=a).sum()) == 0.0


@given(world_and_shock("tariff"), st.floats(0.01, 1.0))
def test_higher_tariff_never_raises_imports_run_by_run(case, extra):
    """With common random numbers and frictions off, raising a tariff lowers (or keeps)
    imports from the origin in every month of every run.

    Catches: a delivered-price wedge that enters the choice weights the wrong way round
    (a tariff acting as a discount)."""
    world, shock = case
    assume(shock["type"] == "tariff")
    world = frictionless(world)
    low = run(with_shocks(world, shock))
    high = run(with_shocks(world, {**shock, "rate": shock["rate"] + extra}))
    sel = dict(origin=shock["origin"], destination=shock["importer"])
    before = low.shipped_usd.sel(**sel).sum("currency")
    after = high.shipped_usd.sel(**sel).sum("currency")
    assert (after <= before * (1 + 1e-9) + 1e-6).all()


@settings(max_examples=5)
@given(st.floats(0.05, 0.3), st.floats(0.05, 0.5))
def test_higher_tariff_lowers_imports_in_expectation_with_frictions(rate, extra):
    """With capacity limits, price adjustment and currency frictions on, the property holds
    for the ensemble mean (8 runs with paired seeds), not run by run."""
    base = small_dict()
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": rate, "start": "2020-04"}
    means = []
    for r in (rate, rate + extra):
        totals = [
            float(
                run({**base, "shocks": [{**shock, "rate": r}]}, seed)
                .shipped_usd.sel(origin="B", destination="A")
                .sum()
            )
            for seed in range(8)
        ]
        means.append(np.mean(totals))
    assert means[1] < means[0]


ZERO_SHOCKS = {
    "tariff": {"rate": 0.0},
    "sanction": {
        "trade": {"sectors": []},
        "financial": {"freeze_probability": 0.0, "cutoff_share": 0.0},
        "secondary": {"cost": 0.0},
    },
    "settlement_policy": {"fee_change": 0.0, "available": None},
    "exchange_rate": {"change": 0.0},
    "demand": {"change": 0.0},
    "world_price": {"change": 0.0},
    "trade_cost": {"change": 0.0},
    "capacity": {"change": 0.0},
}


@given(st.data())
def test_zero_size_shock_reproduces_the_baseline_bit_for_bit(data):
    """Catches: applying a shock's side effects (here: forced renewals) whether or not it
    changes any policy value."""
    world = data.draw(worlds())
    kind = data.draw(st.sampled_from(sorted(ZERO_SHOCKS)))
    shock = data.draw(shocks(world, kind))
    shock.pop("path", None)
    shock.update(ZERO_SHOCKS[shock["type"]])
    base = run(world)
    xr.testing.assert_identical(base, run(with_shocks(world, shock)))


@given(world_and_shock())
def test_runs_are_identical_before_a_shock_starts(case):
    """Catches: a shock process that applies itself at the start of the run."""
    world, shock = case
    scenario = scenario_from_dict(with_shocks(world, shock))
    first = int(np.floor(build_world(scenario).date_to_month(scenario.shocks[0].start)))
    base, alt = run(world), run(with_shocks(world, shock))
    xr.testing.assert_identical(base.isel(month=slice(0, first)), alt.isel(month=slice(0, first)))


@given(world_and_shock(), st.sampled_from(["tariff", "trade_cost", "demand", "world_price"]))
def test_gap_to_baseline_shrinks_after_a_temporary_shock(case, kind):
    """In the CES limit, after a shock ends the gap to the baseline shrinks as relationships
    renew. (With currency network effects on, a shock can tip settlement for good; that
    hysteresis is a feature, so currency frictions are off here.)

    Catches: a shock process that never reverts at its end."""
    world, _ = case
    world = frictionless(world)
    world["end"] = "2021-12"
    world["parameters"]["currency_choice"]["network_strength"] = 0.0
    world["parameters"]["renewal_months"] = min(world["parameters"]["renewal_months"], 4.0)
    for sector in world["sectors"].values():  # relationships renew at the parameter's pace
        sector["renewal_months"] = None
    shock = dict(
        {
            "tariff": {"rate": 0.5},
            "trade_cost": {"change": 0.5, "sectors": "all"},
            "demand": {"change": -0.3},
            "world_price": {"change": 0.8},
        }[kind],
        type=kind,
        start="2020-02",
        end="2020-06",
    )
    regions = [*world["economies"], *world["external_regions"]]
    if kind in ("tariff", "trade_cost"):
        assume(len(regions) >= 2)
        key = ("importer", "origin") if kind == "tariff" else ("destination", "origin")
        shock |= dict(zip(key, regions[:2], strict=True))
    elif kind == "demand":
        shock["region"] = regions[0]
    else:
        shock["sector"] = next(iter(world["sectors"]))
    base, alt = run(world), run(with_shocks(world, shock))
    gap = abs(alt.shipped_usd - base.shipped_usd).sum(
        ["origin", "destination", "sector", "currency"]
    )
    during = float(gap.sel(month="2020-05").sum())
    late = float(gap.isel(month=-1))
    assume(during > 1e-6 * float(base.shipped_usd.sel(month="2020-05").sum()))
    assert late < during
