"""Every shock type, run end to end: it moves the outcome it claims to, in the expected
direction, and leaves the months before its start untouched."""

import pytest
import xarray as xr

from tradesim import simulate
from tradesim.scenario import SHOCK_TYPES

from .factories import small

START = "2020-07"
AFTER = slice("2021-01", "2021-12")


def shipped(result, **sel):
    da = result.data.shipped_usd.sel(month=AFTER)
    return float(da.sel(**sel).sum())


def currency_value(result, origin, destination, currency):
    return shipped(result, origin=origin, destination=destination, currency=currency)


CASES = {
    "tariff": (
        {"importer": "A", "origin": "B", "sectors": ["goods"], "rate": 0.3},
        lambda r: shipped(r, origin="B", destination="A", sector="goods"),
        "down",
    ),
    "sanction": (
        {"imposer": "A", "target": "B", "trade": {"sectors": ["goods"]}},
        lambda r: shipped(r, origin="A", destination="B", sector="goods"),
        "zero",
    ),
    "settlement_policy": (
        {"route": ["A", "X"], "currencies": ["BBC"], "available": True, "fee_change": -0.004},
        lambda r: currency_value(r, "A", "X", "BBC"),
        "up",
    ),
    "settlement_risk": (
        {"target": "B", "currencies": ["USD"], "premium": 0.01, "half_life_months": 24},
        lambda r: currency_value(r, "A", "B", "USD"),
        "down",
    ),
    "exchange_rate": (
        {"currency": "BBC", "change": 0.3},
        lambda r: shipped(r, origin="A", destination="B"),
        "down",
    ),
    "demand": (
        {"region": "X", "path": {"2020-07": -0.1, "2021-06": -0.3}},
        lambda r: shipped(r, origin="A", destination="X"),
        "down",
    ),
    "world_price": (
        {"sector": "energy", "change": 0.5},
        lambda r: shipped(r, origin="B", destination="A", sector="energy"),
        "up",
    ),
    "trade_cost": (
        {"origin": "A", "destination": "B", "sectors": ["goods"], "change": 0.3},
        lambda r: shipped(r, origin="A", destination="B", sector="goods"),
        "down",
    ),
    "capacity": (
        {"origin": "A", "sectors": ["energy"], "change": -0.5},
        lambda r: shipped(r, origin="A", sector="energy"),
        "down",
    ),
    "price_cap": (
        {"imposer": "A", "origin": "B", "sector": "energy", "cap": 40.0, "services_share": 0.5},
        lambda r: shipped(r, origin="B", destination="A", sector="energy"),
        "down",
    ),
    "route_capacity": (
        {"origin": "B", "destination": "A", "sector": "energy", "capacity": 300e6},
        lambda r: shipped(r, origin="B", destination="A", sector="energy"),
        "down",
    ),
    "embargo": (
        {"importer": "A", "origin": "B", "sectors": ["goods"], "share": 0.5},
        lambda r: shipped(r, origin="B", destination="A", sector="goods"),
        "down",
    ),
}


def test_cases_cover_every_shock_type():
    assert set(CASES) == set(SHOCK_TYPES)


@pytest.fixture(scope="module")
def baseline():
    return simulate(small())


@pytest.mark.parametrize("kind", sorted(CASES))
def test_shock_moves_its_outcome(kind, baseline):
    fields, outcome, direction = CASES[kind]
    result = simulate(small(shocks=[{"type": kind, "start": START, **fields}]), check=True)
    before = slice("2020-01", "2020-06")
    xr.testing.assert_identical(baseline.data.sel(month=before), result.data.sel(month=before))
    base, alt = outcome(baseline), outcome(result)
    if direction == "down":
        assert alt < 0.97 * base
    elif direction == "up":
        assert alt > 1.03 * base + 1.0
    else:
        assert base > 0 and alt == 0.0


@pytest.mark.parametrize("kind", sorted(CASES))
def test_shock_reverts_at_its_end(kind, baseline):
    """After a temporary shock ends, the gap to the baseline shrinks."""
    fields, _, _ = CASES[kind]
    shock = {"type": kind, "start": START, "end": "2021-01", **fields}
    result = simulate(small(shocks=[shock]))

    def gap(months):
        diff = result.data.shipped_usd.sel(month=months) - baseline.data.shipped_usd.sel(
            month=months
        )
        return float(abs(diff).sum())

    during = gap(slice("2020-10", "2020-12"))
    late = gap(slice("2021-10", "2021-12"))
    assert during > 0
    assert late < during


def test_currency_withdrawn_at_policy_end_breaks_its_relationships():
    """Buyers in A settling imports from X in BBC (only possible under the policy) must
    move to another currency from the month the policy ends."""
    shock = {
        "type": "settlement_policy",
        "route": ["A", "X"],
        "currencies": ["BBC"],
        "available": True,
        "fee_change": -0.02,  # a subsidy large enough to win over USD's network advantage
        "start": "2020-03",
        "end": "2021-01",
    }
    r = simulate(small(shocks=[shock]), check=True)
    bbc = r.data.shipped_usd.sel(origin="X", destination="A", currency="BBC").sum("sector")
    assert float(bbc.sel(month=slice("2020-06", "2020-12")).sum()) > 0
    assert float(bbc.sel(month=slice("2021-01", None)).sum()) == 0.0


def test_embargo_is_one_way_partial_and_ramped(baseline):
    """An import ban by A on B's goods stops a share of B -> A only; A -> B goes on; with a
    ramp the share is phased in; a full share stops the route."""

    def run(**fields):
        shock = {"type": "embargo", "importer": "A", "origin": "B", "sectors": ["goods"]}
        return simulate(small(shocks=[{**shock, "start": START, **fields}]))

    def flow(result, origin, destination, months=("2021-01", "2021-12")):
        da = result.data.shipped_usd.sel(month=slice(*months), sector="goods")
        return float(da.sel(origin=origin, destination=destination).sum())

    base = flow(baseline, "B", "A")
    full, half = run(), run(share=0.5)
    assert flow(full, "B", "A") == 0.0
    assert 0.3 * base < flow(half, "B", "A") < 0.7 * base
    # One way: A's exports to B go on (a little lower: B's idle exporters cut prices at home).
    assert flow(full, "A", "B") > 0.85 * flow(baseline, "A", "B")
    ramped = run(ramp_months=12)
    early = ("2020-08", "2020-09")
    assert 0.0 < flow(ramped, "B", "A", early) < flow(baseline, "B", "A", early)


def test_price_cap_bars_buyers_above_the_cap_and_the_exporters_discount(baseline):
    """B's energy (50 USD/bbl) is capped at 48 by A, binding half of X's trade too. A's buyers
    leave B at once; B's exporters, having lost part of their market, cut prices toward cost
    (discount_speed) until B's price is at or under the cap and A's buyers can come back."""
    from tradesim import scenario_from_dict

    from .factories import small_dict

    cap = {"type": "price_cap", "imposer": "A", "origin": "B", "sector": "energy"}
    data = small_dict(shocks=[{**cap, "start": START, "cap": 48.0, "services_share": 0.5}])
    data["sectors"]["energy"]["world_price"] = 50.0  # flat: the cap is the only price news
    result = simulate(scenario_from_dict(data))
    energy = result.data.shipped_usd.sel(sector="energy", origin="B", destination="A")
    assert float(energy.sel(month="2020-07").sum()) == 0.0
    price = result.data.unit_price_usd.sel(commodity="energy", origin="B")
    assert float(price.sel(month="2020-06").mean()) > 48.0
    assert float(price.sel(month=slice("2021-01", "2021-12")).mean()) < 48.0 * 1.02
    assert float(energy.sel(month=slice("2021-01", "2021-12")).sum()) > 0.0


def test_price_cap_needs_a_sector_with_a_unit():
    from tradesim import ScenarioError, scenario_from_dict

    from .factories import small_dict

    shock = {"type": "price_cap", "imposer": "A", "origin": "B", "sector": "goods", "cap": 1.0}
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(small_dict(shocks=[{**shock, "start": START}]))
    (problem,) = info.value.problems
    assert problem.path == "shocks[0].sector" and "has no unit" in problem.message


def test_exporters_who_lose_a_market_discount_toward_cost(baseline):
    """An embargo by X on B's energy closes a share of B's market: B's energy price falls
    toward cost at discount_speed, and more of it goes to A; with discount_speed 0 it does not."""

    def run(speed):
        data = small_dict(
            shocks=[
                {
                    "type": "embargo",
                    "importer": "X",
                    "origin": "B",
                    "sectors": ["energy"],
                    "start": START,
                }
            ]
        )
        data["parameters"]["discount_speed"] = speed
        return simulate(scenario_from_dict(data)).data

    from tradesim import scenario_from_dict

    from .factories import small_dict

    fast, none = run(0.5), run(0.0)
    later = slice("2021-01", "2021-12")

    def price(d):
        return float(d.price_index.sel(origin="B", sector="energy", month=later).mean())

    def to_a(d):
        flow = d.shipped_usd.sel(origin="B", destination="A", sector="energy", month=later)
        return float(flow.sum())

    assert price(fast) < 0.97 * price(none)
    assert to_a(fast) > 1.02 * to_a(none)
