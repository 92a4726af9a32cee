"""Payment frictions: a held payment's financing cost reaches the currency cost and the books,
a forced currency switch pays its switching cost, and the identities still hold."""

import datetime as dt

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tradesim import ScenarioError, scenario_from_dict, simulate
from tradesim.analysis.welfare import welfare
from tradesim.model.engine import run_engine
from tradesim.model.payments import rate_history, step_rates
from tradesim.model.policy import compile_policy
from tradesim.model.settlement import aggregate_currency_shares, currency_weights, draw_currencies
from tradesim.model.world import build_world

from ..factories import small_dict
from ..strategies import shocks, worlds


def _hold(target="B", p=0.5, months=3, currencies=("USD",), start="2020-06", cutoff=0.0):
    return {
        "type": "sanction",
        "imposer": "X",
        "target": target,
        "start": start,
        "financial": {
            "hold_probability": p,
            "delay_months": months,
            "currencies": list(currencies),
            "cutoff_share": cutoff,
        },
    }


def test_shipped_rates_are_the_decisions_in_force():
    """Catches: a rate read off by one decision, or in percent instead of a fraction."""
    rub = rate_history("RUB")
    days = [dt.date(2014, 12, 15), dt.date(2014, 12, 16), dt.date(2018, 6, 15), dt.date(2010, 1, 1)]
    assert step_rates(rub, days).tolist() == pytest.approx([0.105, 0.17, 0.0725, 0.055])
    assert rate_history("XYZ") == () and step_rates((), days).tolist() == [0.0] * 4


def test_a_held_payment_costs_its_financing_in_the_currency_cost():
    """financing = hold x delay months x receiver's rate / 12, on routes touching the target,
    in the held currency only, and it is part of what the currency costs."""
    data = small_dict()
    for code, rate in (("USD", 0.02), ("AAC", 0.06), ("BBC", 0.12)):
        data["currencies"][code]["financing_rate"] = rate
    scenario = scenario_from_dict({**data, "shocks": [_hold(p=0.5, months=3)]})
    world = build_world(scenario)
    a, b, x = (world.regions.index(r) for r in ("A", "B", "X"))
    usd = world.currencies.index("USD")
    policy = compile_policy(world, scenario.shocks, [1.0], 6)
    assert policy.financing[b, a, usd] == pytest.approx(0.5 * 3 * 0.12 / 12)  # B's rate
    assert policy.financing[a, b, usd] == pytest.approx(0.5 * 3 * 0.06 / 12)  # A's rate
    assert policy.financing[a, x, usd] == 0.0  # not touching the target
    assert (policy.financing[..., :usd] == 0).all() and (
        policy.financing[..., usd + 1 :] == 0
    ).all()
    base = compile_policy(world, [], [], 6)
    assert not base.financing.any()


@settings(max_examples=30, deadline=None)
@given(world=worlds(), hold=st.floats(0.05, 1.0), months=st.integers(1, 12), data=st.data())
def test_a_costlier_payment_never_gains_share(world, hold, months, data):
    """Paired: holding a currency's payments (a financing cost) never raises its expected
    share on any route, and with the same uniforms no draw moves to it.

    Catches: the financing cost entering the utility with the wrong sign or not at all."""
    w0 = build_world(scenario_from_dict(world))
    assume(w0.n_regions >= 2)
    c = data.draw(st.integers(0, w0.n_currencies - 1))
    imposer, target = data.draw(
        st.lists(st.sampled_from(list(w0.regions)), min_size=2, max_size=2, unique=True)
    )
    for spec in world["currencies"].values():
        spec["financing_rate"] = data.draw(st.floats(0.01, 0.3))
    shock = {
        "type": "sanction",
        "imposer": imposer,
        "target": target,
        "start": world["start"],
        "financial": {
            "hold_probability": hold,
            "delay_months": months,
            "currencies": [w0.currencies[c]],
        },
    }
    scenario = scenario_from_dict({**world, "shocks": [shock]})
    w = build_world(scenario)
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    net = rng.dirichlet(np.ones(w.n_currencies), size=(w.n_regions, w.n_regions))
    market = rng.dirichlet(np.ones(w.n_currencies), size=(w.n_regions, w.n_sectors))
    base = compile_policy(w, [], [], 0)
    held = compile_policy(w, scenario.shocks, [1.0], 0)
    assume(held.financing.any())
    before, after = (currency_weights(w, p, net, market) for p in (base, held))
    share_before = aggregate_currency_shares(w, base, before)
    share_after = aggregate_currency_shares(w, held, after)
    assert (share_after[..., c] <= share_before[..., c] + 1e-12).all()
    u = rng.random(64)
    blocked = np.zeros((64, w.n_currencies), dtype=bool)
    for o, d, s in np.ndindex(w.n_regions, w.n_regions, w.n_sectors):
        old = draw_currencies(np.tile(before[o, d, s], (64, 1)), blocked, u)
        new = draw_currencies(np.tile(after[o, d, s], (64, 1)), blocked, u)
        assert (old[new == c] == c).all()


def test_held_payments_are_booked_with_their_financing_cost():
    """With choices blind to cost (cost_sensitivity 0, so flows are paired exactly), a hold
    of share p for m months keeps p of each payment pending m months and books
    p x m x rate / 12 of it as financing cost; everything is paid in the end.

    Catches: a financing cost booked on the wrong value, month or party, or held payments
    lost from the books."""
    data = small_dict()
    data["parameters"]["currency_choice"] = {"cost_sensitivity": 0.0}
    for code in data["currencies"]:
        data["currencies"][code]["financing_rate"] = 0.12
    plain = simulate(scenario_from_dict(data), check=True).data
    held = simulate(scenario_from_dict({**data, "shocks": [_hold(p=0.4, months=2)]}), check=True)
    h = held.data
    xr_close = np.testing.assert_allclose
    xr_close(h.shipped_usd.values, plain.shipped_usd.values, rtol=1e-12)
    usd = {"currency": "USD"}
    touching = (h.origin == "B") | (h.destination == "B")
    foreign = h.origin != h.destination
    due = plain.settled_usd.sel(**usd).where(touching & foreign, 0.0)
    months = h.month >= np.datetime64("2020-06-01")
    expected = (0.4 * 2 * 0.01 * due).where(months, 0.0)
    xr_close(h.financing_cost_usd.sel(**usd).values, expected.values, rtol=1e-9, atol=1e-3)
    assert float(h.financing_cost_usd.drop_sel(**usd).sum()) == 0.0
    total = float(h.settled_usd.sum() + h.pending_usd.isel(month=-1).sum())
    assert total == pytest.approx(
        float(plain.settled_usd.sum() + plain.pending_usd.isel(month=-1).sum()), rel=1e-9
    )
    assert float(h.pending_usd.sum()) > float(plain.pending_usd.sum())
    # welfare: the receivers bear the financing cost in their settlement cost
    wf = welfare(plain, h, held.scenario)
    fin = h.financing_cost_usd.where(foreign, 0.0).sum(["destination", "sector", "currency"])
    by_region = fin.groupby("month.year").sum().rename(origin="region")
    np.testing.assert_allclose(
        wf.settlement_cost_usd.transpose("year", "region").values,
        -by_region.transpose("year", "region").values,
        rtol=1e-9,
        atol=1e-3,
    )


def test_a_forced_switch_pays_the_switching_cost_once():
    """A cut-off with another currency open books switching_cost x renewal_months x monthly
    value in the month it strikes, on the routes touching the target, and nothing before or
    in the months after; without a switching cost nothing is booked.

    Catches: switching costs booked every month, on the wrong routes, or not at all."""
    data = small_dict()
    shock = _hold(p=0.0, cutoff=0.6, start="2020-06")
    runs = {}
    for kappa in (0.0, 0.004):
        d = small_dict()
        d["parameters"]["currency_choice"] = {"switching_cost": kappa}
        runs[kappa] = simulate(scenario_from_dict({**d, "shocks": [shock]}), check=True).data
    assert float(runs[0.0].switching_cost_usd.sum()) == 0.0
    cost = runs[0.004].switching_cost_usd
    by_month = cost.sum(["origin", "destination", "sector", "currency"])
    june = by_month.sel(month="2020-06").item()
    assert june > 0.0
    assert float(by_month.sum()) == pytest.approx(june)  # only the month it strikes
    touching = (cost.origin == "B") | (cost.destination == "B")
    assert float(cost.where(~touching, 0.0).sum()) == 0.0
    assert float(cost.sel(currency="USD").sum()) == 0.0  # booked at the new currency
    # at most kappa x L x the month's value on the target's routes in other currencies
    shipped = runs[0.004].shipped_usd.sel(month="2020-06").where(touching, 0.0)
    bound = (
        0.004 * data["parameters"]["renewal_months"] * float(shipped.drop_sel(currency="USD").sum())
    )
    assert june <= bound


@settings(max_examples=15, deadline=None)
@given(world=worlds(), data=st.data())
def test_identities_hold_with_holds_switching_costs_and_delays(world, data):
    """The engine's monthly identities and shipped = settled + frozen + pending + in transit
    with holds, cut-offs and in-flight delays; frictions' costs are finite and non-negative
    and never move a payment."""
    sanction = data.draw(shocks(world, "sanction"))
    assume(sanction["type"] == "sanction")
    sanction["financial"]["cutoff_share"] = data.draw(st.floats(0.0, 0.95))
    sanction["financial"]["hold_probability"] = data.draw(st.floats(0.0, 1.0))
    world["shocks"] = [sanction, *data.draw(st.lists(shocks(world), max_size=2))]
    try:
        scenario = scenario_from_dict(world)
    except ScenarioError:
        assume(False)
    raw = run_engine(scenario, check=True)
    shipped = raw.flows["shipped"].sum()
    out = raw.flows["settled"].sum() + raw.flows["frozen"].sum()
    left = raw.stocks["pending"][-1].sum() + raw.stocks["in_transit"][-1].sum()
    assert shipped == pytest.approx(out + left, rel=1e-9, abs=1e-3)
    for name in ("financing_cost", "switching_cost"):
        assert np.isfinite(raw.flows[name]).all() and (raw.flows[name] >= 0).all()


@pytest.mark.parametrize("rate", [2.5, -0.2, "750%"])
def test_a_financing_rate_out_of_range_is_refused(rate):
    data = small_dict()
    data["currencies"]["BBC"]["financing_rate"] = rate
    with pytest.raises(ScenarioError, match=r"currencies\.BBC\.financing_rate"):
        scenario_from_dict(data)
