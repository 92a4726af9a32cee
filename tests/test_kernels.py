"""Unit tests of the pure kernels: paths, shock intensity, policy folding, random streams,
supplier and currency choice."""

import datetime as dt

import numpy as np
import pytest
from scipy import stats

from tradesim.model._random import Streams
from tradesim.model.market import adjust_prices, draw_options
from tradesim.model.policy import compile_policy, shock_change_months, shock_intensity
from tradesim.model.settlement import currency_weights, draw_currencies
from tradesim.model.world import build_world, path_values

from .factories import small


@pytest.fixture(scope="module")
def world():
    return build_world(small())


# ------------------------------------------------------------------ world


def test_annual_values_are_averages_and_paths_extend_flat():
    """Annual values are annual averages: the monthly path averages exactly to each year's
    value (mean-preserving interpolation); before and after the data the path is flat."""
    months = np.arange(-3, 48)
    values = path_values({"2020": 1.0, "2021": 2.0, "2022": 1.5}, dt.date(2020, 1, 1), months)
    by_year = values[(months >= 0) & (months < 36)].reshape(3, 12).mean(axis=1)
    np.testing.assert_allclose(by_year, [1.0, 2.0, 1.5])
    assert values[months == -3][0] == values[months == 0][0]  # burn-in: month-0 value
    assert values[months == 40][0] == values[months == 47][0]  # flat after the last point
    monthly = path_values({"2020-03": 10.0, "2020-05": 20.0}, dt.date(2020, 1, 1), np.arange(6))
    np.testing.assert_allclose(monthly, [10, 10, 10, 15, 20, 20])  # monthly points: linear


def test_world_indices_start_at_one(world):
    row0 = world.burn_in
    np.testing.assert_allclose(world.demand[row0], 1.0)
    np.testing.assert_allclose(world.world_price[row0], 1.0)
    np.testing.assert_allclose(world.origin_shares.sum(axis=1), 1.0)
    assert world.lead_time[0, 0].tolist() == [0, 0]  # domestic deliveries are immediate


# ------------------------------------------------------------------ policy


def test_intensity_is_prorated_ramped_and_ends(world):
    s = small(
        shocks=[
            {
                "type": "demand",
                "region": "A",
                "change": -0.1,
                "start": "2020-03-16",
                "end": "2020-09",
                "ramp_months": 2,
            }
        ]
    ).shocks[0]
    got = [shock_intensity(s, world, m) for m in range(0, 10)]
    # March: 16 of 31 days, ramp 1/2; April: ramp 2/2; until the end in September.
    assert got[:2] == [0.0, 0.0]
    assert got[2] == pytest.approx(16 / 31 * 0.5)
    assert got[3:8] == [1.0] * 5
    assert got[8:] == [0.0, 0.0]
    months = shock_change_months(s, world)
    assert {2, 3, 8} <= set(months)


def test_policy_folding_is_commutative(world):
    shocks = small(
        shocks=[
            {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.1, "start": "2020-02"},
            {
                "type": "tariff",
                "importer": "A",
                "origin": "B",
                "rate": 0.15,
                "sectors": ["goods"],
                "start": "2020-02",
            },
            {
                "type": "sanction",
                "imposer": "X",
                "target": "B",
                "start": "2020-02",
                "financial": {"freeze_probability": 0.1, "cutoff_share": 0.2},
            },
            {
                "type": "sanction",
                "imposer": "A",
                "target": "B",
                "start": "2020-02",
                "financial": {"freeze_probability": 0.3, "currencies": ["USD"]},
            },
        ]
    ).shocks
    a = compile_policy(world, shocks, [1.0] * 4, 3)
    b = compile_policy(world, shocks[::-1], [1.0] * 4, 3)
    for field in ("tariff", "freeze", "cutoff", "secondary_cost"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))
    A, B = world.regions.index("A"), world.regions.index("B")
    goods = world.sectors.index("goods")
    assert a.tariff[A, B, goods] == pytest.approx(0.25)  # two tariffs on one target add up
    usd = world.currencies.index("USD")
    assert a.freeze[A, B, usd] == pytest.approx(1 - 0.9 * 0.7)
    assert a.freeze[A, A, usd] == 0.0  # routes not touching the target are untouched
    assert a.cutoff[B, usd] == pytest.approx(0.2)


def test_zero_intensity_is_no_policy(world):
    shocks = small(
        shocks=[{"type": "tariff", "importer": "A", "origin": "B", "rate": 0.5, "start": "2020-02"}]
    ).shocks
    assert not compile_policy(world, shocks, [0.0], 3).tariff.any()


# ------------------------------------------------------------------ random streams


def test_counter_uniforms_are_reproducible_uniform_and_local():
    key = Streams(5).key("origin")
    ids = np.arange(200_000)
    u = Streams.uniforms(key, 3, ids)
    assert ((u >= 0) & (u < 1)).all()
    assert stats.kstest(u, "uniform").pvalue > 1e-4
    # An agent's draw does not depend on which other agents draw.
    np.testing.assert_array_equal(Streams.uniforms(key, 3, ids[::7]), u[::7])
    # Months and streams are independent of each other.
    v = Streams.uniforms(key, 4, ids)
    assert abs(np.corrcoef(u, v)[0, 1]) < 0.01
    assert not np.array_equal(Streams.uniforms(Streams(5).key("currency"), 3, ids), u)
    assert Streams(5).key("origin") == key != Streams(6).key("origin")


# ------------------------------------------------------------------ choice kernels


class _TwoOrigins:
    """Just enough of a World for draw_options: agent origins A0, A1 and one external E."""

    n_agent = 2
    n_regions = 3


def _draw(firm_weights, ext_weight, n=120_000, key=1):
    """One destination, one sector: 2 agent origins x 2 firms, then the external region."""
    firm_w = np.asarray(firm_weights, float)[None, :]
    ext_w = np.zeros((1, 3, 1))
    ext_w[0, 2, 0] = ext_weight
    ids = np.arange(n)
    u_origin = Streams.uniforms(key, 0, (ids[:, None] * 3 + np.arange(3)).ravel()).reshape(n, 3)
    u_firm = Streams.uniforms(key + 1, 0, ids)
    return draw_options(_TwoOrigins, 4, firm_w, ext_w, 0, 0, u_origin, u_firm)


def test_draw_options_follows_weights_and_skips_zero_weight():
    opt = _draw([1.0, 0.0, 2.0, 1.0], 2.0)
    counts = np.bincount(opt, minlength=5 + 2 * 3)
    assert counts[1] == 0  # zero-weight firm never chosen
    external = 4 + 0 * 3 + 2  # n_firms + sector * R + region
    shares = counts[[0, 2, 3, external]] / len(opt)
    np.testing.assert_allclose(shares, [1 / 6, 2 / 6, 1 / 6, 2 / 6], atol=0.01)


def test_lowering_one_origin_changes_only_its_buyers():
    """The origin race couples paired draws: every buyer who did not pick the origin whose
    weight fell keeps its supplier; some of its buyers leave, none arrive."""
    before = _draw([1.0, 2.0, 3.0, 1.0], 2.0)
    after = _draw([1.0, 2.0, 1.5, 0.5], 2.0)  # origin A1's firms both halve
    a1 = (before == 2) | (before == 3)
    assert np.array_equal(before[~a1], after[~a1])
    assert np.all(a1[(after == 2) | (after == 3)])
    assert ((after == 2) | (after == 3)).sum() < a1.sum()


def test_race_skips_logs_exactly():
    """The race scores the heaviest origin first and skips an origin's log when a lower bound
    on its score already loses; the winner must be a plain left-to-right argmin's, bit for
    bit, also for uniforms next to 1 (where the bound is tightest) and for exact ties."""
    import math

    from tradesim.model import choice

    rng = np.random.default_rng(3)
    n, R = 4000, 7
    u = rng.random((n, R))
    near_one = rng.random((n, R)) < 0.3
    u[near_one] = 1.0 - rng.integers(1, 64, near_one.sum()) * 2.0**-53
    u[::5, 2] = u[::5, 4]  # equal clocks and equal weights below: a tie
    totals = rng.choice([0.0, 0.5, 1.0, 1.0, 3.0, 1e-9], R)
    totals[[2, 4]] = 1.0
    bar = np.zeros(R)
    bar[5] = 0.5
    rank = rng.random(n).astype(np.float32)
    cum = np.ones((1, 1))  # one agent origin with one firm: origin 0 is option 0
    guide = choice.guide_tables(cum)
    got = choice.draw_option_rows(u, np.zeros(n), 0, totals, cum, guide, 1, bar, rank)
    for k in range(n):
        best, best_score = -1, math.inf
        for o in range(R):
            if not totals[o] > 0.0 or rank[k] < bar[o]:
                continue
            score = -math.log(u[k, o]) / totals[o]
            if score < best_score:
                best, best_score = o, score
        assert got[k] == (best if best < 1 else 1 + best), k


def test_guided_firm_draw_is_the_binary_search():
    """The firm draw starts from a guide table and steps to the exact answer: the firm is
    searchsorted's (side="right") for every uniform, with zero weights (flat stretches of
    the cumulative weights), uniforms at bucket edges and a skewed group."""
    from tradesim.model import choice

    rng = np.random.default_rng(5)
    per = 37
    w = rng.pareto(1.0, (3, per))
    w[0, 5:20] = 0.0
    w[1, :] = 0.0
    w[1, 7] = 1.0
    w[2, 3] = 1e6
    cum = np.cumsum(w, axis=1)
    guide = choice.guide_tables(cum)
    totals = np.array([1.0, 0.0])  # origin 0 (agent, firms) wins; origin 1 closed
    bar = np.zeros(2)
    for g in range(3):
        u = np.concatenate([rng.random(3000), np.arange(per) / per, [1.0 - 2.0**-53]])
        n = u.size
        got = choice.draw_option_rows(
            np.full((n, 2), 0.5), u, 0, totals, cum[g : g + 1], guide[g : g + 1], 1, bar,
            np.zeros(n, np.float32),
        )  # fmt: skip
        want = np.minimum(np.searchsorted(cum[g], u * cum[g, -1], side="right"), per - 1)
        np.testing.assert_array_equal(got, want)


def test_no_option_means_no_supplier():
    assert (_draw([0.0, 0.0, 0.0, 0.0], 0.0, n=10) == -1).all()


def test_prices_fall_with_idle_capacity_and_rise_when_full():
    adj = np.ones(3)
    out = adjust_prices(adj, np.array([0.2, 0.8, 1.0]), target=0.8, speed=0.1, floor=0.5)
    assert out[0] < 1.0 and out[1] == 1.0 and out[2] > 1.0
    low = adjust_prices(np.full(1, 0.51), np.zeros(1), target=0.8, speed=1.0, floor=0.5)
    assert low[0] == 0.5


def test_currency_availability_and_sanction_cost(world):
    base = compile_policy(world, [], [], 0)
    share = np.zeros((world.n_regions, world.n_regions, world.n_currencies))
    market = np.zeros((world.n_regions, world.n_sectors, world.n_currencies))
    w = currency_weights(world, base, share, market)[:, :, 0]  # first sector
    A, B, X = (world.regions.index(r) for r in ("A", "B", "X"))
    aac, bbc, usd = (world.currencies.index(c) for c in ("AAC", "BBC", "USD"))
    assert w[A, X, bbc] == 0.0  # B's currency is not usable between A and X
    assert w[A, B, bbc] > 0.0 and w[A, B, aac] > 0.0
    assert (w[A, A] > 0).tolist() == [c == aac for c in range(world.n_currencies)]
    shocks = small(
        shocks=[
            {
                "type": "sanction",
                "imposer": "X",
                "target": "B",
                "start": "2020-02",
                "financial": {"freeze_probability": 0.01},
            }
        ]
    ).shocks
    hit = currency_weights(world, compile_policy(world, shocks, [1.0], 3), share, market)[:, :, 0]
    p = lambda x: x[A, B] / x[A, B].sum()  # noqa: E731
    assert p(hit)[usd] < p(w)[usd]


def test_draw_currencies_respects_blocks():
    weights = np.tile([1.0, 1.0, 2.0], (4, 1))
    blocked = np.array([[False] * 3, [True, False, False], [True, True, False], [True] * 3])
    got = draw_currencies(weights, blocked, np.array([0.1, 0.1, 0.1, 0.1]))
    assert got.tolist() == [0, 1, 2, -1]


# ------------------------------------------------------------------ the month, without simpy


def test_market_month_runs_without_simpy_and_keeps_its_books(world):
    """The month's kernel is a pure function of (world, state, policy, keys): called directly,
    every buyer is in a relationship after the first month, the relationship count equals
    the number of buyers, and the integer books hold exactly the budgets of active buyers."""
    from tradesim.model import kernels
    from tradesim.model.agents import make_buyers, make_firms
    from tradesim.model.state import MarketState

    streams = Streams(3)
    firms = make_firms(world, 10, streams.generator("firms"))
    buyers = make_buyers(world, 400, streams.generator("buyers"))
    state = MarketState.empty_books(world, firms, buyers)
    policy = compile_policy(world, [], [], 0)
    kernels.init_market(world, state, policy)
    keys = {name: streams.key(name) for name in kernels.RANDOM_STREAMS}
    for month in range(-world.burn_in, -world.burn_in + 3):
        out = kernels.market_month(world, state, policy, month, keys, policy_changed=False)
        assert (out.flows >= 0).all() and np.isfinite(out.flows).all()
    assert (state.buyers.option >= 0).all()
    assert state.rel_count.sum() == len(buyers)
    assert state.firm_book.sum() + state.external_book.sum() == state.buyers.budget.sum()


def test_firm_gathers_are_indexing_by_origin_and_sector(world):
    """`Firms.by_origin_sector` and `by_sector` give the values of indexing with the firms'
    origin and sector arrays and the same memory layout (sums over them round alike)."""
    import dataclasses

    from tradesim.model.agents import make_firms

    firms = make_firms(world, 7, Streams(1).generator("firms"))
    R, S = world.n_regions, world.n_sectors
    values = np.random.default_rng(0).random((R, R, S))
    for got, want in [
        (firms.by_origin_sector(values), values[:, firms.origin, firms.sector]),
        (firms.by_origin_sector(values[0]), values[0][firms.origin, firms.sector]),
        (
            firms.by_origin_sector(values.transpose(1, 0, 2)),
            values[firms.origin, :, firms.sector].T,
        ),
        (firms.by_sector(values[0, 0]), values[0, 0][firms.sector]),
        (firms.by_sector(values[0]), values[0][:, firms.sector]),
    ]:
        np.testing.assert_array_equal(got, want)
        assert got.strides == want.strides
    with pytest.raises(ValueError, match="ordered by"):
        dataclasses.replace(firms, origin=firms.origin[::-1].copy())
