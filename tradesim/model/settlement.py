"""Settlement currencies: the cost of each currency on a route, the choice among them, and
what that choice costs the trade it settles.

A relationship on route (o, d) in sector s chooses currency c at renewal by a logit:

    U_odsc = -lambda * cost_odsc + beta * N_odsc + g_sc + incumbency_c,    open currencies only

    cost_odsc = fee_c + fee_change_odc + hedging_c * (parties whose home currency is not c)
                + sanction_loss * freeze_probability_odc + financing_odc + risk_premium_odsc
    financing_odc = hold_probability_odc * delay_months * r_o / 12   (payments.py: a held
               payment's financing cost at the receiving exporter's rate)
    N_odsc   = (1 - reach) * share of c on the route last month
               + reach * share of c in d's imports of sector s from all origins last month
    g_sc     = the sector's invoicing convention: a utility for the dominant currency
               (Gopinath 2015; Goldberg and Tille 2008: homogeneous, reference-priced goods
               herd on the vehicle currency), for the producer's currency and for the
               destination's (local) currency; plus, on imports into a region listed in
               `importer_currency`, a utility for its own currency (the euro area)
    incumbency_c = lambda * switching_cost if c is the relationship's current currency

N is the network term (Goldberg and Tille's coalescing; Crowley, Han and Son 2020: firms
choose what their competitors in the destination use); its reach says how far the network
extends beyond the route. The incumbency term is the fixed cost of changing currency
management (Crowley, Han and Son 2020), which makes shares move over years, not months.

A party cut off from a currency does not end its relationship: the pair re-draws its
currency from the same logit restricted to the currencies still open to both parties
(`draw_currencies`). Only when none is open does the relationship end.

What settlement costs reaches prices through the inclusive value of the logit (McFadden
1978; Train 2009, ch. 3): the expected settlement cost of a route is

    k_ods = -(1 / lambda) * log sum_{c open} exp(-lambda * cost_odc + g_sc),

taken in expectation over which parties are cut off; supplier choice multiplies the
delivered price by (1 + k_ods) / (1 + k_ods at base policy). A financial sanction thus
diverts trade only by what it costs to settle in what is left.
"""

from __future__ import annotations

import functools
from collections.abc import Callable
from typing import Any, TypeVar

import numpy as np
from numpy.typing import NDArray

from tradesim.model import choice
from tradesim.model.policy import Policy
from tradesim.model.world import World

__all__ = [
    "aggregate_currency_shares",
    "currency_cost",
    "currency_weights",
    "cutoff_configurations",
    "draw_currencies",
    "open_currencies",
    "settlement_weight_factor",
]

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]
_Array = TypeVar("_Array", bound=NDArray[Any])


def _same_as_last(fn: Callable[..., _Array]) -> Callable[..., _Array]:
    """Keep `fn`'s value for the last arguments it saw, compared by identity, read-only.

    World and Policy objects are not changed once built; a month asks for a policy's costs
    and open currencies twice (supplier choice's settlement factor, then the currency
    choice), and every month for the world's conventions. The memo holds its arguments,
    so their ids cannot be reused by other objects meanwhile."""
    last: tuple[tuple[Any, ...], _Array] | None = None

    @functools.wraps(fn)
    def memo(*args: Any) -> _Array:
        nonlocal last
        seen = last
        if seen is not None and all(a is b for a, b in zip(seen[0], args, strict=True)):
            return seen[1]
        value = fn(*args)
        value.setflags(write=False)
        last = (args, value)
        return value

    return memo


@_same_as_last
def open_currencies(world: World, policy: Policy) -> Bool:
    """(O, D, C) currencies usable on each route before firm-level cut-offs.

    International currencies anywhere, a national currency on routes touching its issuer,
    changed by `settlement_policy` availability; domestic sales in the home currency only.
    """
    R, C = world.n_regions, world.n_currencies
    home = world.region_currency
    is_home_o = home[:, None, None] == np.arange(C)[None, None, :]  # (O, 1, C)
    is_home_d = np.transpose(is_home_o, (1, 0, 2))  # (1, D, C)
    available = (world.international[None, None, :] | is_home_o | is_home_d) & np.ones(
        (R, R, C), dtype=bool
    )
    available |= policy.availability > 0
    available &= policy.availability >= 0
    domestic = np.eye(R, dtype=bool)[:, :, None]
    return np.where(domestic, is_home_o & is_home_d, available)


@_same_as_last
def currency_cost(world: World, policy: Policy) -> F64:
    """(O, D, S, C) cost of settling in each currency, a fraction of value."""
    C = world.n_currencies
    home = world.region_currency
    is_home_o = home[:, None, None] == np.arange(C)[None, None, :]
    is_home_d = np.transpose(is_home_o, (1, 0, 2))
    foreign_parties = 2 - is_home_o.astype(int) - is_home_d.astype(int)
    choice = world.params.currency_choice
    route = (
        world.fee[None, None, :]
        + policy.fee_change
        + world.hedging_cost[None, None, :] * foreign_parties
        + choice.sanction_loss * policy.freeze
        + policy.financing
    )
    return route[:, :, None, :] + policy.risk


@_same_as_last
def convention_utility(world: World) -> F64:
    """(O, D, S, C) utility of each sector's invoicing convention on each route."""
    R, C = world.n_regions, world.n_currencies
    home = world.region_currency
    cur = np.arange(C)
    is_home_o = (home[:, None] == cur[None, :])[:, None, None, :]  # (O, 1, 1, C)
    is_home_d = (home[:, None] == cur[None, :])[None, :, None, :]  # (1, D, 1, C)
    dominant = (cur == world.dominant_currency)[None, None, None, :]
    conv = world.invoicing  # (S, 3): dominant, producer, local
    out = (
        conv[None, None, :, 0, None] * dominant
        + conv[None, None, :, 1, None] * is_home_o
        + conv[None, None, :, 2, None] * is_home_d
    )
    if world.importer_currency.any():  # local-currency pricing set by the importer's market
        out = out + world.importer_currency[None, :, None, None] * is_home_d
    return np.broadcast_to(out, (R, R, world.n_sectors, C)).copy()


def currency_weights(world: World, policy: Policy, network_share: F64, market_share: F64) -> F64:
    """(O, D, S, C) exp(U) on each route and sector, zero where a currency is not open,
    before firm-level cut-offs and incumbency.

    network_share is (O, D, C), last month's currency shares on each route; market_share is
    (D, S, C), last month's currency shares of each destination's imports by sector.
    """
    choice = world.params.currency_choice
    reach = choice.network_reach
    network = (1.0 - reach) * network_share[:, :, None, :] + reach * market_share[None, :, :, :]
    utility = (
        -choice.cost_sensitivity * currency_cost(world, policy)
        + choice.network_strength * network
        + convention_utility(world)
    )
    utility = np.where(open_currencies(world, policy)[:, :, None, :], utility, -np.inf)
    top = utility.max(axis=3, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.exp(utility - top)


def draw_currencies(weights: F64, blocked: Bool, u: F64) -> NDArray[np.int8]:
    """Inverse-CDF draw of one currency per row of (n, C) weights; -1 where none is open.

    With the same uniform, raising one currency's weight can only move a row to it: its
    interval [cum_{c-1}/W, cum_c/W] grows on both sides, every other interval shrinks.
    """
    return choice.draw_currency_rows(
        np.ascontiguousarray(weights, dtype=np.float64),
        np.ascontiguousarray(blocked, dtype=np.bool_),
        np.ascontiguousarray(u, dtype=np.float64),
    )


def cutoff_configurations(cutoff: F64) -> tuple[Bool, F64]:
    """Which currencies an agent of each region is cut off from, as a distribution.

    Every agent has one fixed rank r in [0, 1) and is cut off from currency c when
    r < cutoff[region, c]; the sets are nested. Returns (R, K, C) blocked masks of the K = C+1
    rank intervals and (R, K) their probabilities (interval lengths; padded with zeros).
    """
    R, C = cutoff.shape
    K = C + 1
    edges = np.sort(np.concatenate([np.zeros((R, 1)), cutoff, np.ones((R, 1))], axis=1), axis=1)
    lo, hi = edges[:, :-1], edges[:, 1:]  # (R, K)
    mid = 0.5 * (lo + hi)
    blocked = mid[:, :, None] < cutoff[:, None, :]
    assert blocked.shape == (R, K, C)
    return blocked, hi - lo


def _pair_configurations(policy: Policy) -> tuple[Bool, F64]:
    """(O, D, Ko*Kd, C) currencies blocked to a pair, and (O, D, Ko*Kd) probabilities."""
    blocked, prob = cutoff_configurations(policy.cutoff)
    R, K, C = blocked.shape
    pair = blocked[:, None, :, None, :] | blocked[None, :, None, :, :]  # (O, D, Ko, Kd, C)
    p = prob[:, None, :, None] * prob[None, :, None, :]
    return pair.reshape(R, R, K * K, C), p.reshape(R, R, K * K)


def aggregate_currency_shares(world: World, policy: Policy, weights: F64) -> F64:
    """(O, D, S, C) expected currency shares of aggregate flows with cut-offs: pairs cut
    off from a currency choose among what is left; the shares sum to the share of pairs
    that can settle at all (below 1 only when a cut-off leaves some pairs nothing)."""
    if not (policy.cutoff > 0).any():
        total = weights.sum(axis=3, keepdims=True)
        return np.divide(weights, total, out=np.zeros_like(weights), where=total > 0)
    blocked, prob = _pair_configurations(policy)
    w = np.where(blocked[:, :, :, None, :], 0.0, weights[:, :, None, :, :])  # (O,D,K,S,C)
    total = w.sum(axis=4, keepdims=True)
    share = np.divide(w, total, out=np.zeros_like(w), where=total > 0)
    return np.einsum("odk,odksc->odsc", prob, share)


def settlement_weight_factor(world: World, policy: Policy) -> F64:
    """(O, D, S) expected (1 + k)^(1 - sigma) of settling on each route, k the inclusive
    settlement cost; pairs left with no open currency contribute 0 (they cannot trade)."""
    lam = world.params.currency_choice.cost_sensitivity
    value = -lam * currency_cost(world, policy) + convention_utility(world)
    value = np.where(open_currencies(world, policy)[:, :, None, :], value, -np.inf)
    one_minus_sigma = (1.0 - world.elasticity)[None, None, :]
    if (policy.cutoff > 0).any():
        blocked, prob = _pair_configurations(policy)
        value = np.where(blocked[:, :, :, None, :], -np.inf, value[:, :, None, :, :])
        factor = _factor(value, lam, one_minus_sigma[:, :, None, :])
        return np.einsum("odk,odks->ods", prob, factor)
    return _factor(value, lam, one_minus_sigma)


def _factor(value: F64, lam: float, one_minus_sigma: F64) -> F64:
    """(1 + k)^(1 - sigma) from logit values, k = -logsum / lambda; 0 where nothing is open.

    With a (numerically) zero cost sensitivity the cost does not enter choices, k = 0. The
    conventions can make k negative; it is kept above -0.9 so the factor stays finite."""
    top = value.max(axis=-1)
    ok = np.isfinite(top)
    if lam < 1e-9:
        return np.where(ok, 1.0, 0.0) * np.ones_like(one_minus_sigma)
    safe_top = np.where(ok, top, 0.0)
    with np.errstate(divide="ignore", over="ignore"):
        logsum = safe_top + np.log(np.exp(value - safe_top[..., None]).sum(axis=-1))
        k = np.clip(np.where(ok, -logsum / lam, 0.0), -0.9, 1e6)
    return np.where(ok, (1.0 + k) ** one_minus_sigma, 0.0)
