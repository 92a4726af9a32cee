"""Pricing, supplier choice and capacity: the vectorized kernels of the goods market.

Pure functions of arrays; no simpy here. The choice model is a two-level nested logit in log
delivered price (the GTAP Armington nest). A buyer in destination d and sector s chooses
between domestic supply and the import composite with elasticity sigma_D (ESUBD), then among
import origins, and among the firms of any origin, with sigma_M (ESUBM):

    w_dj  = alpha[d, o(j), s] * (p_j * tau * (1 + t) * (1 + x)) ** (1 - sigma_M)
    W_do  = sum of w_dj over o's options,   I_d = sum over import origins o != d of W_do
    V_D   = (1 - m) * (W_dd / (1 - m)) ** lam,   V_M = m * (I_d / m) ** lam,
    lam   = (sigma_D - 1) / (sigma_M - 1)
    P(j)  = V_D / (V_D + V_M) * w_dj / W_dd        (domestic j)
          = V_M / (V_D + V_M) * w_dj / I_d         (imported j)

with m the base-year import share. Over many buyers this gives nested-CES expenditure shares
(Anderson, de Palma and Thisse 1992; the GTAP source-substitution nest, Hertel 1997): the
Armington anchor. alpha is set once so that base-year prices reproduce the scenario's
origin shares; at base prices V_D = 1 - m and V_M = m. With sigma_D = sigma_M (lam = 1) the
nest is flat: one logit over all options.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tradesim.model import choice
from tradesim.model.agents import Firms
from tradesim.model.policy import Policy
from tradesim.model.world import World

__all__ = [
    "adjust_prices",
    "choice_weights",
    "draw_options",
    "fx_factor",
    "nest_factor",
    "origin_power",
    "preference_weights",
    "price_level",
    "route_wedge",
    "supplier_prices",
]

F64 = NDArray[np.float64]


def price_level(world: World, row: int, policy: Policy) -> F64:
    """(S,) cost index of each sector: the world-price-exposed share moves with world prices."""
    e = world.world_price_exposure
    return 1.0 - e + e * world.world_price[row] * policy.world_price


def fx_factor(world: World, row: int, policy: Policy, elasticity: float) -> F64:
    """(R,) (rate at month 0 / rate now) ** elasticity for each region's currency."""
    base = world.per_usd[world.burn_in, world.region_currency]
    now = world.per_usd[row, world.region_currency] * policy.per_usd[world.region_currency]
    return (base / now) ** elasticity


def supplier_prices(world: World, firms: Firms, row: int, policy: Policy) -> tuple[F64, F64]:
    """USD prices of agent firms (n_firms,) and of each region's own supply (R, S).

    The world-price-exposed share e_s of cost is priced in USD; the rest is home-currency cost
    converted with pass-through rho:

        p_j = markup * unit_cost_j * (e_s * wp_s + (1 - e_s) * fx_o ** rho) * adjustment_j
    """
    e = world.world_price_exposure
    wp = world.world_price[row] * policy.world_price
    fx = fx_factor(world, row, policy, world.params.pass_through)
    cost_index = e[None, :] * wp[None, :] + (1.0 - e)[None, :] * fx[:, None]  # (R, S)
    firm_price = (
        world.params.markup
        * firms.unit_cost
        * firms.by_origin_sector(cost_index)
        * firms.price_adjustment
    )
    return firm_price, cost_index


def route_wedge(policy: Policy) -> F64:
    """(D, O, S) delivered-price wedge: trade cost, tariff and secondary-sanction cost."""
    tau = np.transpose(policy.trade_cost, (1, 0, 2))  # to (D, O, S)
    sec = policy.secondary_cost.T[:, :, None]
    return tau * (1.0 + policy.tariff) * (1.0 + sec)


def preference_weights(world: World, firms: Firms, firm_price: F64, external_price: F64) -> F64:
    """(D, O, S) alpha: base-year origin shares divided by each origin's price aggregate."""
    power = firm_price ** (1.0 - world.elasticity[firms.sector])
    aggregate = origin_power(world, firms, power, external_price)
    return world.origin_shares / aggregate[None, :, :]


def choice_weights(
    world: World,
    firms: Firms,
    alpha: F64,
    policy: Policy,
    firm_price: F64,
    external_price: F64,
) -> tuple[F64, F64]:
    """Logit weights of every option for every destination.

    Returns firm weights (D, n_firms) and external-origin weights (D, O, S), zero for agent
    origins and for embargoed routes.
    """
    one_minus_sigma = 1.0 - world.elasticity
    route = alpha * route_wedge(policy) ** one_minus_sigma[None, None, :]
    route = np.where(policy.embargo, 0.0, route)
    if policy.barred is not None:
        # Partial embargoes: aggregate (external) destinations lose the barred share of the
        # route's weight; agent buyers are barred one by one in draw_options.
        route[world.n_agent :] *= 1.0 - policy.barred[world.n_agent :]
    firm_power = firm_price ** firms.by_sector(one_minus_sigma)
    route = route * nest_factor(
        world, route * origin_power(world, firms, firm_power, external_price)
    )
    firm_w = firms.by_origin_sector(route) * firm_power[None, :]
    ext_w = route * (external_price ** one_minus_sigma[None, :])[None, :, :]
    ext_w[:, : world.n_agent, :] = 0.0
    return firm_w, ext_w


def origin_power(world: World, firms: Firms, firm_power: F64, external_price: F64) -> F64:
    """(O, S) sum over each origin's options of price ** (1 - sigma_M)."""
    A, S = world.n_agent, world.n_sectors
    out = np.empty((world.n_regions, S))
    out[:A] = firm_power.reshape(S, A, firms.per_group).sum(axis=2).T
    out[A:] = (external_price ** (1.0 - world.elasticity[None, :]))[A:]
    return out


def nest_factor(world: World, origin_weight: F64) -> F64:
    """(D, O, S) factor that turns flat origin weights into nested-logit weights.

    origin_weight is W_do (D, O, S). The factor is V_D / W_dd on the domestic origin and
    V_M / I_d on import origins (module docstring), so that the weights, scaled by it, are
    proportional to the nested-logit choice probabilities. Sampling a supplier by one
    exponential race over the scaled origin weights is the two-level race -- domestic nest
    against import nest with the inclusive values V_D and V_M, then among import origins --
    in which the import nest's clock is I_d * min_o(E_o / W_do), itself Exp(1) and
    independent of which import origin wins. The common random numbers of paired runs are
    kept, and lam = 1 gives back the flat race exactly.
    """
    D, n_origins, S = origin_weight.shape
    lam = (world.elasticity_domestic - 1.0) / (world.elasticity - 1.0)  # (S,)
    if np.all(lam == 1.0):
        return np.ones_like(origin_weight)
    d = np.arange(D)
    own = origin_weight[d, d, :]  # (D, S) W_dd
    imports = origin_weight.sum(axis=1) - own  # (D, S) I_d
    m = 1.0 - world.origin_shares[d, d, :]  # (D, S) base-year import share
    nested = (m > 0) & (m < 1)
    with np.errstate(divide="ignore", invalid="ignore"):
        dom = np.where(nested & (own > 0), (own / (1.0 - m)) ** (lam - 1.0), 1.0)
        imp = np.where(nested & (imports > 0), (imports / m) ** (lam - 1.0), 1.0)
    factor = np.broadcast_to(imp[:, None, :], (D, n_origins, S)).copy()
    factor[d, d, :] = dom
    return factor


def draw_options(
    world: World,
    n_firms_per_sector: int,
    firm_w: F64,
    ext_w: F64,
    destination: int,
    sector: int,
    u_origin: F64,
    u_firm: F64,
    barred: F64 | None = None,
    rank: NDArray[np.float32] | None = None,
) -> NDArray[np.int32]:
    """Draw supplier options for buyers of one (destination, sector) group.

    Two stages with the same distribution as one logit over all options: the origin by an
    exponential race, argmin_o E_o / W_o with E_o = -log(u_origin[:, o]) and W_o the summed
    weight of o's options (P(o) = W_o / sum W); then a firm within the origin by inverse CDF
    over its firms' weights (P(j | o) = w_j / W_o). A shock to one origin's weights changes
    only the choices of buyers who picked, or now pick, that origin: every other buyer keeps
    its supplier, so paired runs differ only where the policy acts.

    A partial embargo bars buyers one by one: a buyer whose rank is below an origin's barred
    share (barred, (R,)) cannot choose that origin, so that share of buyers is shut out.

    u_origin is (n, R), u_firm (n,). Returns global option ids (firm index, or
    n_firms + sector * R + region), or -1 where no option has positive weight.
    """
    A = world.n_agent
    per_origin = n_firms_per_sector // A
    lo = sector * n_firms_per_sector
    firm_block = firm_w[destination, lo : lo + n_firms_per_sector].reshape(A, per_origin)
    totals = np.concatenate([firm_block.sum(axis=1), ext_w[destination, A:, sector]])
    n = len(u_firm)
    bar, ranks = np.zeros(len(totals)), np.zeros(n, np.float32)
    if barred is not None and rank is not None and (barred > 0).any():
        bar = np.ascontiguousarray(barred[: len(totals)], np.float64)
        ranks = np.ascontiguousarray(rank, np.float32)
    cum = np.cumsum(firm_block, axis=1)
    return choice.draw_option_rows(
        np.ascontiguousarray(u_origin[:, : len(totals)]),
        np.ascontiguousarray(u_firm),
        sector,
        totals,
        cum,
        choice.guide_tables(cum),
        firm_w.shape[1],
        bar,
        ranks,
    )


def adjust_prices(
    adjustment: F64, utilization: F64, target: float, speed: float, floor: float
) -> F64:
    """Move prices by exp(speed * (utilization - target)): idle capacity pushes them down.

    The floor keeps price at or above unit cost (adjustment >= 1 / markup).
    """
    out = adjustment * np.exp(speed * (utilization - target))
    return np.clip(out, floor, 1.0 / floor)
