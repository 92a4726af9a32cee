"""End-to-end behaviour of a run: accounting, determinism, shocks and the CES anchor."""

import itertools

import numpy as np
import pytest
import xarray as xr

from tradesim import scenario_from_dict, simulate
from tradesim.model.world import build_world

from .factories import frictionless, small, small_dict

SANCTION = {
    "type": "sanction",
    "imposer": "X",
    "target": "B",
    "start": "2020-06-10",
    "end": "2021-03",
    "trade": {"sectors": ["energy"]},
    "financial": {"freeze_probability": 0.05, "cutoff_share": 0.3},
    "secondary": {"cost": 0.02},
}


@pytest.fixture(scope="module")
def sanctioned():
    return simulate(small(shocks=[SANCTION]), check=True)


def test_stocks_follow_flows(sanctioned):
    d = sanctioned.data
    shipped, delivered = d.shipped_usd, d.delivered_usd
    transit = d.in_transit_usd
    # in_transit[t] - in_transit[t-1] = shipped[t] - delivered[t]
    xr.testing.assert_allclose(
        transit.diff("month"), (shipped - delivered).isel(month=slice(1, None))
    )
    pending = d.pending_usd
    paid = d.settled_usd + d.frozen_usd
    xr.testing.assert_allclose(pending.diff("month"), (delivered - paid).isel(month=slice(1, None)))
    xr.testing.assert_allclose(
        d.frozen_stock_usd.diff("month"), d.frozen_usd.isel(month=slice(1, None))
    )


def test_frozen_payments_appear_only_under_the_financial_sanction(sanctioned):
    frozen = sanctioned.data.frozen_usd.sum(["origin", "destination", "sector", "currency"])
    assert float(frozen.sel(month=slice("2020-01", "2020-05")).sum()) == 0.0
    assert float(frozen.sel(month="2020-09").sum()) > 0.0
    # Only payments in X's currency (USD) on routes touching B are frozen.
    by_cur = sanctioned.data.frozen_usd.sum(["month", "sector"])
    assert float(by_cur.drop_sel(currency="USD").sum()) == 0.0
    touches_b = (by_cur.origin == "B") | (by_cur.destination == "B")
    assert float(by_cur.where(~touches_b, 0.0).sum()) == 0.0
    assert float(sanctioned.data.frozen_stock_usd.isel(month=-1).sum()) == pytest.approx(
        float(sanctioned.data.frozen_usd.sum())
    )


def test_embargo_gives_zero_flow_while_it_lasts(sanctioned):
    energy = sanctioned.data.shipped_usd.sel(sector="energy").sum("currency")
    during = energy.sel(month=slice("2020-06", "2021-02"))
    assert float(during.sel(origin="X", destination="B").sum()) == 0.0
    assert float(during.sel(origin="B", destination="X").sum()) == 0.0
    before = energy.sel(month=slice("2020-01", "2020-05"))
    assert float(before.sel(origin="B", destination="X").min()) > 0.0
    after = energy.sel(month="2021-12", origin="X", destination="B")
    assert float(after.sum()) > 0.0


def test_no_negative_or_missing_values(sanctioned):
    for name, da in sanctioned.data.data_vars.items():
        values = da.values
        assert np.isfinite(values).all(), name
        assert (values >= 0).all(), name


def test_currency_shares_sum_to_one(sanctioned):
    shares = sanctioned.currency_shares("A", "B")
    np.testing.assert_allclose(shares.sum("currency"), 1.0)
    assert ((shares >= 0) & (shares <= 1)).all()


def test_financial_sanction_moves_settlement_out_of_usd():
    base = simulate(small())
    hit = simulate(small(shocks=[{**SANCTION, "trade": {"sectors": []}, "end": None}]))
    usd_base = float(base.currency_shares("A", "B").sel(currency="USD", year=2021))
    usd_hit = float(hit.currency_shares("A", "B").sel(currency="USD", year=2021))
    assert usd_hit < usd_base - 0.05


def test_same_seed_same_result_and_seed_matters():
    a = simulate(small(), seed=11)
    b = simulate(small(), seed=11)
    c = simulate(small(), seed=12)
    xr.testing.assert_identical(a.data, b.data)
    assert not a.data.shipped_usd.equals(c.data.shipped_usd)


def test_identical_before_a_shock_starts():
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.3, "start": "2021-01"}
    base = simulate(small())
    alt = simulate(small(shocks=[shock]))
    before = slice("2020-01", "2020-12")
    xr.testing.assert_identical(base.data.sel(month=before), alt.data.sel(month=before))
    assert not base.data.sel(month="2021-06").equals(alt.data.sel(month="2021-06"))


def test_shock_order_does_not_matter():
    shocks = [
        {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.2, "start": "2020-04"},
        {
            "type": "exchange_rate",
            "currency": "BBC",
            "change": 0.3,
            "start": "2020-08",
            "ramp_months": 3,
        },
        SANCTION,
        {
            "type": "capacity",
            "origin": "A",
            "sectors": ["energy"],
            "change": 0.5,
            "start": "2020-10",
        },
    ]
    forward = simulate(small(shocks=shocks))
    backward = simulate(small(shocks=shocks[::-1]))
    xr.testing.assert_identical(forward.data, backward.data)


def test_higher_tariff_never_raises_imports_run_by_run():
    """With common random numbers and frictions off, imports from the tariffed origin fall
    month by month (inverse-CDF draws: a smaller weight shrinks the origin's interval)."""
    data = frictionless()
    data["parameters"]["renewal_months"] = 6
    results = []
    for rate in (0.0, 0.1, 0.3):
        shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": rate, "start": "2020-03"}
        results.append(simulate(scenario_from_dict({**data, "shocks": [shock]})))
    imports = [
        r.data.shipped_usd.sel(origin="B", destination="A").sum(["sector", "currency"])
        for r in results
    ]
    for low, high in itertools.pairwise(imports):
        assert (high <= low + 1e-6).all()
        assert float(high.sum()) < float(low.sum())


def test_ces_anchor_matches_closed_form():
    """Frictionless limit reproduces the Armington/CES comparative static.

    With budgets fixed (Cobb-Douglas upper tier) and a multinomial logit over suppliers in
    log delivered price, expected spending on origin o is E * s_o, with
    s_o = a_o p_o^(1-sigma) / sum_k a_k p_k^(1-sigma). A tariff t on o multiplies o's delivered
    price by (1+t); customs value is spending / (1+t). Hence

        X_o' / X_o = (1+t)^(-sigma) / (s_o (1+t)^(1-sigma) + 1 - s_o).

    Here s_o = 0.3 (B's share of A's energy), sigma = 5, t = 0.2: the ratio is 0.4787.
    """
    data = frictionless(start="2020-01", end="2020-12", burn_in_months=0)
    data["population"] = {"buyers_per_sector": 200_000, "firms_per_sector": 20}
    shock = {
        "type": "tariff",
        "importer": "A",
        "origin": "B",
        "rate": 0.2,
        "sectors": ["energy"],
        "start": "2020-07",
    }
    result = simulate(scenario_from_dict({**data, "shocks": [shock]}))
    flow = result.data.shipped_usd.sel(origin="B", destination="A", sector="energy").sum("currency")
    before = float(flow.sel(month=slice("2020-01", "2020-06")).mean())
    after = float(flow.sel(month=slice("2020-07", "2020-12")).mean())
    s, sigma, t = 0.3, 5.0, 0.2
    expected = (1 + t) ** -sigma / (s * (1 + t) ** (1 - sigma) + 1 - s)
    assert after / before == pytest.approx(expected, rel=0.02)
    # And the level: B's share of A's energy spending in the base months.
    assert before == pytest.approx(0.3 * 100e9 / 12, rel=0.02)


def test_nested_ces_anchor_matches_closed_form():
    """The two-level nest (GTAP Armington: domestic vs imports with sigma_D, then among import
    origins with sigma_M) reproduces the nested-CES comparative static in the CES limit.

    With base import share m, B's share s_B and a tariff t on B, the import composite's price
    term moves by r = 1 - s_B/m + (s_B/m)(1+t)^(1-sigma_M); with lam = (sigma_D-1)/(sigma_M-1)
    the top-level total is T = 1 - m + m r^lam. Customs value from B, from the other import
    origin X and domestic sales move by

        B: (1+t)^(-sigma_M) r^(lam-1) / T,   X: r^(lam-1) / T,   A: 1 / T.

    Here m = 0.4, s_B = 0.3, sigma_M = 5, sigma_D = 2.5, t = 0.2: B falls to 0.586 of its
    level, X rises 45.8% and domestic supply 7.2% -- what B loses goes mostly to the other
    import origin; in the flat nest (sigma_D = 5) B falls to 0.476 and X and domestic supply
    both rise 18.4%.
    """
    data = frictionless(start="2020-01", end="2020-12", burn_in_months=0)
    data["population"] = {"buyers_per_sector": 200_000, "firms_per_sector": 20}
    data["sectors"]["energy"]["elasticity_domestic"] = 2.5
    data["sectors"]["goods"] = {"elasticity": 4.0, "lead_time_months": 0}
    shock = {
        "type": "tariff",
        "importer": "A",
        "origin": "B",
        "rate": 0.2,
        "sectors": ["energy"],
        "start": "2020-07",
    }
    result = simulate(scenario_from_dict({**data, "shocks": [shock]}))
    energy = result.data.shipped_usd.sel(destination="A", sector="energy").sum("currency")
    m, s, sig_m, sig_d, t = 0.4, 0.3, 5.0, 2.5, 0.2
    lam = (sig_d - 1) / (sig_m - 1)
    r = 1 - s / m + (s / m) * (1 + t) ** (1 - sig_m)
    total = 1 - m + m * r**lam
    expected = {
        "B": (1 + t) ** -sig_m * r ** (lam - 1) / total,
        "X": r ** (lam - 1) / total,
        "A": 1 / total,
    }
    for origin, ratio in expected.items():
        flow = energy.sel(origin=origin)
        before = float(flow.sel(month=slice("2020-01", "2020-06")).mean())
        after = float(flow.sel(month=slice("2020-07", "2020-12")).mean())
        assert after / before == pytest.approx(ratio, rel=0.02), origin


def test_check_raises_on_broken_accounting(monkeypatch):
    from tradesim import SimulationError
    from tradesim.model import engine

    original = engine._Run.step

    def misrecorded(self, month):
        flows = original(self, month)
        self.flows["shipped"][month + self.world.burn_in] *= 1.01  # books disagree with cohorts
        return flows

    monkeypatch.setattr(engine._Run, "step", misrecorded)
    with pytest.raises(
        SimulationError, match="identity 'in_transit = previous \\+ shipped - delivered' violated"
    ):
        simulate(small(), check=True)


def test_annual_bilateral_excludes_domestic_sales():
    r = simulate(small())
    annual = r.annual_bilateral()
    assert float(annual.sel(origin="A", destination="A").sum()) == 0.0
    monthly = r.data.shipped_usd.sel(
        origin="A", destination="B", month=slice("2020-01", "2020-12")
    ).sum()
    assert float(annual.sel(origin="A", destination="B", year=2020)) == pytest.approx(
        float(monthly)
    )


def test_world_price_raises_energy_trade_value():
    flat = small_dict()
    flat["sectors"]["energy"]["world_price"] = 50.0
    r_flat = simulate(scenario_from_dict(flat))
    r_up = simulate(small())
    sel = dict(origin="B", destination="A", sector="energy", month=slice("2021-01", "2021-12"))
    assert float(r_up.data.shipped_usd.sel(**sel).sum()) > 1.05 * float(
        r_flat.data.shipped_usd.sel(**sel).sum()
    )


def test_three_tariffs_on_one_target_are_bit_identical_in_any_order():
    """(0.1 + 0.2) + 0.3 != (0.3 + 0.2) + 0.1 in floating point: shocks must be folded in a
    canonical order for results not to depend on the order a file lists them."""
    import itertools

    tariffs = [
        {"type": "tariff", "importer": "A", "origin": "B", "rate": r, "start": "2020-03"}
        for r in (0.1, 0.2, 0.3)
    ]
    results = [simulate(small(shocks=list(p))).data for p in itertools.permutations(tariffs)]
    for other in results[1:]:
        xr.testing.assert_identical(results[0], other)


def _imports_of_a(data: dict) -> xr.DataArray:
    """A's monthly shipped imports from B by sector."""
    shipped = simulate(scenario_from_dict(data)).data.shipped_usd
    return shipped.sel(origin="B", destination="A").sum("currency")


def test_deflator_makes_budgets_nominal():
    """In the CES limit (no capacity, monthly renewal) A's spending on each sector scales with
    its home-currency deflator month by month, and a constant deflator changes nothing."""
    base = frictionless()
    inflating = frictionless()
    inflating["economies"]["A"]["deflator"] = {"2020": 1.0, "2021": 1.1}
    constant = frictionless()
    constant["economies"]["A"]["deflator"] = 3.0
    flat, up = _imports_of_a(base), _imports_of_a(inflating)
    xr.testing.assert_identical(_imports_of_a(constant), flat)
    world = build_world(scenario_from_dict(inflating))
    deflator = world.deflator[world.burn_in :, 0]
    ratio = (up / flat).transpose("month", "sector").values  # shipped = ordered that month
    np.testing.assert_allclose(ratio, np.repeat(deflator[:, None], 2, axis=1), rtol=1e-9)
    assert deflator[-1] > 1.05


def test_deflator_that_tracks_the_currency_leaves_usd_budgets_flat():
    """fx_budget_elasticity = 1: budgets fixed in home currency. Prices rising as fast as the
    currency falls leave the USD value of A's imports where it was."""
    base = frictionless()
    moved = frictionless()
    moved["parameters"]["fx_budget_elasticity"] = 1.0
    moved["parameters"]["pass_through"] = 0.0
    base["parameters"]["pass_through"] = 0.0
    moved["currencies"]["AAC"]["per_usd"] = {"2020": 5.0, "2021": 6.0}
    moved["economies"]["A"]["deflator"] = {"2020": 5.0, "2021": 6.0}
    np.testing.assert_allclose(_imports_of_a(moved).values, _imports_of_a(base).values, rtol=1e-9)
