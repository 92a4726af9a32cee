"""Settlement properties: a cut-off switches currency instead of ending trade, a cheaper
currency never loses share, in-flight payments stay on the books, bad input is refused."""

import dataclasses

import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from tradesim import ScenarioError, scenario_from_dict, simulate
from tradesim.model import kernels
from tradesim.model._random import Streams
from tradesim.model.agents import make_buyers, make_firms
from tradesim.model.engine import run_engine
from tradesim.model.policy import compile_policy
from tradesim.model.settlement import (
    aggregate_currency_shares,
    currency_weights,
    draw_currencies,
)
from tradesim.model.state import MarketState
from tradesim.model.world import build_world

from ..factories import small_dict
from ..strategies import shocks, worlds


def _settled_market(data, months=8):
    """A world and a market state after a few months of the base policy."""
    world = build_world(scenario_from_dict(data))
    streams = Streams(data["seed"])
    firms = make_firms(world, data["population"]["firms_per_sector"], streams.generator("firms"))
    buyers = make_buyers(
        world, data["population"]["buyers_per_sector"], streams.generator("buyers")
    )
    state = MarketState.empty_books(world, firms, buyers)
    base = compile_policy(world, [], [], 0)
    kernels.init_market(world, state, base)
    keys = {name: streams.key(name) for name in kernels.RANDOM_STREAMS}
    for month in range(-world.burn_in, -world.burn_in + months):
        kernels.market_month(world, state, base, month, keys, policy_changed=False)
    return world, state, keys


def _books_from_scratch(world, state):
    """The books recomputed from every buyer: what `book` must keep up to date."""
    fresh = MarketState.empty_books(world, state.firms, state.buyers)
    kernels.book(world, fresh, np.arange(len(state.buyers)), +1)
    return fresh


@settings(max_examples=15, deadline=None)
@given(
    target=st.sampled_from(["A", "B"]),
    currency=st.sampled_from(["USD", "AAC", "BBC"]),
    share=st.floats(0.01, 0.99),
    imposer=st.sampled_from(["A", "B", "X"]),
)
def test_cutoff_with_another_currency_open_never_ends_a_relationship(
    target, currency, share, imposer
):
    """Catches: a cut-off that ends relationships (the buyer re-choosing its supplier from
    the whole market) instead of switching their currency, or books left in the old one."""
    home = {"A": "AAC", "B": "BBC"}[target]
    assume(imposer != target and currency != home)
    data = small_dict()
    world, state, keys = _settled_market(data)
    b = state.buyers
    before_option = b.option.copy()
    before_end = b.end_month.copy()
    shock = {
        "type": "sanction",
        "imposer": imposer,
        "target": target,
        "start": "2020-01",
        "financial": {"cutoff_share": share, "currencies": [currency]},
    }
    scenario = scenario_from_dict({**data, "shocks": [shock]})
    policy = compile_policy(world, scenario.shocks, [1.0], 0)
    cur_w = currency_weights(world, policy, state.network_share, state.market_share)
    kernels.switch_or_break(world, state, 0, policy, cur_w, keys)

    assert (b.option == before_option).all()  # every supplier kept
    assert (b.end_month == before_end).all()  # no relationship ended
    idx = np.flatnonzero(b.option >= 0)
    blocked = kernels.blocked_currencies(
        world, state, idx, b.origin[idx].astype(np.int64), b.option[idx].astype(np.int64), policy
    )
    assert not blocked[np.arange(idx.size), b.currency[idx]].any()  # all switched
    fresh = _books_from_scratch(world, state)
    assert (fresh.firm_book == state.firm_book).all()
    assert (fresh.external_book == state.external_book).all()
    assert (fresh.rel_count == state.rel_count).all()


@settings(max_examples=40, deadline=None)
@given(
    world=worlds(),
    cut=st.floats(0.0, 0.9),
    cheaper=st.floats(1e-4, 0.02),
    data=st.data(),
)
def test_lowering_a_currency_cost_never_lowers_its_share(world, cut, cheaper, data):
    """Paired, draw by draw: with the same uniforms, a cheaper currency keeps every buyer
    who chose it and its expected share on every route and sector does not fall.

    Catches: a cost entering the utility with the wrong sign, or a draw whose intervals
    move so that a cheaper currency loses a buyer it had."""
    w = build_world(scenario_from_dict(world))
    c = data.draw(st.integers(0, w.n_currencies - 1))
    target = data.draw(st.integers(0, w.n_regions - 1))
    rng = np.random.default_rng(data.draw(st.integers(0, 2**31)))
    net = rng.dirichlet(np.ones(w.n_currencies), size=(w.n_regions, w.n_regions))
    market = rng.dirichlet(np.ones(w.n_currencies), size=(w.n_regions, w.n_sectors))
    base = compile_policy(w, [], [], 0)
    cutoff = np.zeros_like(base.cutoff)
    cutoff[target, (c + 1) % w.n_currencies] = cut  # another currency partly cut off
    base = dataclasses.replace(base, cutoff=cutoff)
    low_fee = w.fee.copy()
    low_fee[c] = w.fee[c] - cheaper  # a negative fee is a subsidy: still a lower cost
    w_low = dataclasses.replace(w, fee=low_fee)

    before = currency_weights(w, base, net, market)
    after = currency_weights(w_low, base, net, market)
    share_before = aggregate_currency_shares(w, base, before)
    share_after = aggregate_currency_shares(w_low, base, after)
    assert (share_after[..., c] >= share_before[..., c] - 1e-12).all()

    u = rng.random(64)
    blocked = rng.random((64, w.n_currencies)) < 0.2
    for o, d, s in np.ndindex(w.n_regions, w.n_regions, w.n_sectors):
        old = draw_currencies(np.tile(before[o, d, s], (64, 1)), blocked, u)
        new = draw_currencies(np.tile(after[o, d, s], (64, 1)), blocked, u)
        assert (new[old == c] == c).all()


@settings(max_examples=20, deadline=None)
@given(world=worlds(), data=st.data())
def test_identities_hold_with_switching_and_payments_in_flight(world, data):
    """Every month's identities (checked by the engine) and, over the whole run, shipped =
    settled + frozen + still pending + still in transit: nothing switched, delayed or
    frozen by a cut-off leaves the books."""
    sanction = data.draw(shocks(world, "sanction"))
    assume(sanction["type"] == "sanction")
    sanction["financial"]["cutoff_share"] = data.draw(st.floats(0.05, 0.95))
    world["shocks"] = [sanction, *data.draw(st.lists(shocks(world), max_size=2))]
    scenario = scenario_from_dict(world)
    raw = run_engine(scenario, check=True)  # raises SimulationError on a broken identity
    shipped = raw.flows["shipped"].sum()
    out = raw.flows["settled"].sum() + raw.flows["frozen"].sum()
    left = raw.stocks["pending"][-1].sum() + raw.stocks["in_transit"][-1].sum()
    assert shipped == pytest.approx(out + left, rel=1e-9, abs=1e-3)


def test_delayed_payments_wait_in_pending_then_settle():
    """A cut-off with in_flight: delay keeps the cut-off pairs' payments pending for the
    delay, then settles them; with in_flight: freeze they are frozen instead."""
    data = small_dict()
    data["parameters"]["payment_lag_months"] = 2
    base = {
        "type": "sanction",
        "imposer": "X",
        "target": "B",
        "start": "2020-06",
        "financial": {"cutoff_share": 0.8, "currencies": ["USD"], "delay_months": 3},
    }
    runs = {}
    for mode in ("settle", "delay", "freeze"):
        shock = {**base, "financial": {**base["financial"], "in_flight": mode}}
        runs[mode] = simulate(scenario_from_dict({**data, "shocks": [shock]}), check=True).data
    usd = {"currency": "USD", "origin": ["A", "X"], "destination": "B"}
    june_to_sep = slice("2020-06", "2020-09")
    pending = {
        m: float(d.pending_usd.sel(**usd).sel(month=june_to_sep).sum()) for m, d in runs.items()
    }
    frozen = {m: float(d.frozen_usd.sel(**usd).sum()) for m, d in runs.items()}
    assert pending["delay"] > pending["settle"]
    assert frozen["freeze"] > 0.0 and frozen["delay"] == frozen["settle"] == 0.0
    total = {m: float(d.settled_usd.sum() + d.frozen_usd.sum()) for m, d in runs.items()}
    assert total["delay"] == pytest.approx(total["settle"], rel=1e-3)


def test_perceived_risk_decays_with_its_half_life():
    data = small_dict()
    shock = {
        "type": "settlement_risk",
        "target": "B",
        "currencies": ["USD"],
        "premium": 0.01,
        "half_life_months": 6,
        "start": "2020-03",
    }
    scenario = scenario_from_dict({**data, "shocks": [shock]})
    world = build_world(scenario)
    a, b, x = (world.regions.index(r) for r in ("A", "B", "X"))
    usd = world.currencies.index("USD")
    risk = [compile_policy(world, scenario.shocks, [1.0], m).risk for m in (2, 8, 14)]
    assert risk[0][a, b, :, usd] == pytest.approx(0.01)
    assert risk[1][x, b, :, usd] == pytest.approx(0.005)
    assert risk[2][b, a, :, usd] == pytest.approx(0.0025)
    assert (risk[0][a, x, :, usd] == 0.0).all()  # routes not touching the target untouched
    assert not compile_policy(world, scenario.shocks, [1.0], 8).freeze.any()


def test_a_cutoff_leaving_a_route_no_currency_is_refused():
    data = small_dict()
    data["currencies"]["BBC"]["international"] = False
    shock = {
        "type": "sanction",
        "imposer": "A",
        "target": "B",
        "start": "2020-03",
        "financial": {"cutoff_share": 1.0, "currencies": ["USD", "BBC"]},
    }
    with pytest.raises(ScenarioError, match=r"shocks\[0\]\.financial\.cutoff_share: .*with X"):
        scenario_from_dict({**data, "shocks": [shock]})
    shock["financial"]["cutoff_share"] = 0.99  # a partial cut-off is a documented outcome
    scenario_from_dict({**data, "shocks": [shock]})


@pytest.mark.parametrize("premium", [0.0, 0.25, -0.01, "30%"])
def test_a_risk_premium_out_of_range_is_refused(premium):
    shock = {
        "type": "settlement_risk",
        "target": "B",
        "currencies": ["USD"],
        "premium": premium,
        "start": "2020-03",
    }
    with pytest.raises(ScenarioError, match=r"shocks\[0\]\.premium"):
        scenario_from_dict({**small_dict(), "shocks": [shock]})
