"""Settlement currencies: the cost of each currency on a route, and the choice among them.

A relationship's currency is chosen at renewal by a logit over currencies c on route (o, d):

    U_c = -lambda * cost_c + beta * share_c,   available currencies only,
    cost_c = fee_c + fee_change + hedging_c * (number of parties whose home currency is not c)
             + sanction_loss * freeze_probability_c

share_c is the currency's value share on the route last month: the network term that makes a
dominant currency cheaper to keep and allows tipping from one currency to another.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tradesim.model.policy import Policy
from tradesim.model.world import World

__all__ = ["aggregate_currency_shares", "currency_weights", "draw_currencies"]

F64 = NDArray[np.float64]
Bool = NDArray[np.bool_]


def currency_weights(world: World, policy: Policy, network_share: F64) -> F64:
    """(O, D, C) exp(U) times availability on each route, before firm-level cut-offs."""
    R, C = world.n_regions, world.n_currencies
    home = world.region_currency
    is_home_o = home[:, None, None] == np.arange(C)[None, None, :]  # (O, 1, C)
    is_home_d = np.transpose(is_home_o, (1, 0, 2))  # (1, D, C)
    foreign_parties = 2 - is_home_o.astype(int) - is_home_d.astype(int)
    choice = world.params.currency_choice
    cost = (
        world.fee[None, None, :]
        + policy.fee_change
        + world.hedging_cost[None, None, :] * foreign_parties
        + choice.sanction_loss * policy.freeze
    )
    available = (world.international[None, None, :] | is_home_o | is_home_d) & np.ones(
        (R, R, C), dtype=bool
    )
    available |= policy.availability > 0
    available &= policy.availability >= 0
    domestic = np.eye(R, dtype=bool)[:, :, None]
    available = np.where(domestic, is_home_o & is_home_d, available)
    utility = -choice.cost_sensitivity * cost + choice.network_strength * network_share
    utility = np.where(available, utility, -np.inf)
    top = utility.max(axis=2, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    return np.exp(utility - top)


def draw_currencies(weights: F64, blocked: Bool, u: F64) -> NDArray[np.int8]:
    """Inverse-CDF draw of one currency per row of (n, C) weights; -1 where none is open."""
    w = np.where(blocked, 0.0, weights)
    cum = np.cumsum(w, axis=1)
    total = cum[:, -1]
    pick = (cum <= (u * total)[:, None]).sum(axis=1)
    pick = np.minimum(pick, w.shape[1] - 1)
    return np.where(total > 0.0, pick, -1).astype(np.int8)


def aggregate_currency_shares(world: World, policy: Policy, weights: F64) -> F64:
    """(O, D, C) expected currency shares of aggregate flows, allowing for cut-off shares."""
    open_share = (1.0 - policy.cutoff)[:, None, :] * (1.0 - policy.cutoff)[None, :, :]
    w = weights * open_share
    total = w.sum(axis=2, keepdims=True)
    return np.divide(w, total, out=np.zeros_like(w), where=total > 0)
