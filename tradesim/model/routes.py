"""Route capacity: a physical limit on what one route (origin, destination, sector) carries.

A pipeline, a port or a rail link limits the flow on a route, not the origin's output:
the ESPO spur to Daqing carried 15 Mt of crude a year until its second line doubled it on
2018-01-01 (Transneft; Xinhua); Power of Siberia started on 2019-12-02 with contract volumes
of 5, 10 and 15 bcm in 2020-2022 toward a 38 bcm design (Gazprom Export via TASS). A
`route_capacity` shock gives the limit in the sector's physical unit per year (a constant or
a dated path, ramped in with `ramp_months`). It binds in two ways, both vectorized:

* **Allocation.** Before buyers choose, the route's choice weight W is scaled by m so that
  the route's expected share x of the destination's spending E (absorption x spend factor)
  does not exceed the capacity's value C (units a month x the origin's unit price):
  m W / (T - W + m W) = x = C / E, i.e. m = x (T - W) / (W (1 - x)), capped at 1, where T
  is the sum of the destination's choice weights. Buyers who would have used the full
  route choose elsewhere, as they would for a sold-out pipeline (the nest factor is not
  recomputed for the scaled weight: a second-order approximation).
* **Rationing.** Relationships already on the route may still ask for more than it carries
  in a month; the route's orders are then scaled down pro rata, like a firm's.

A limit of 0 closes the route: a pipeline not yet built. The route must exist (a positive
base-year origin share), or the limit could never bind: checked when a scenario loads.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

from tradesim.model._sums import sum_last
from tradesim.model.agents import Firms
from tradesim.model.world import World

__all__ = ["limit_route_weights", "route_ratio", "route_values"]

F64 = NDArray[np.float64]


def limit_route_weights(
    world: World,
    firms: Firms,
    firm_w: F64,
    ext_w: F64,
    spend: F64,
    cap_value: F64,
) -> tuple[F64, F64]:
    """Scale the choice weights of capacity-bound routes (module docstring).

    cap_value is (O, D, S): USD a month each route can carry (inf: unlimited). Returns new
    firm weights (D, n_firms) and external weights (D, O, S).
    """
    limited = np.isfinite(cap_value)
    if not limited.any():
        return firm_w, ext_w
    R, S = world.n_regions, world.n_sectors
    A = world.n_agent
    per = firms.per_group
    origin_w = ext_w.copy()
    origin_w[:, :A, :] = firm_w.reshape(R, S, A, per).sum(axis=3).transpose(0, 2, 1)
    total = origin_w.sum(axis=1, keepdims=True)  # (D, 1, S)
    budget = world.absorption_usd[:, None, :] * spend  # (D, O, S) customs value at share 1
    cap = cap_value.transpose(1, 0, 2)  # (D, O, S)
    with np.errstate(divide="ignore", invalid="ignore"):
        x = np.where(budget > 0, cap / budget, np.inf)  # largest share the route may take
        m = x * (total - origin_w) / (origin_w * (1.0 - x))
    m = np.where((x >= 1.0) | (origin_w <= 0) | ~np.isfinite(m), 1.0, np.clip(m, 0.0, 1.0))
    if (m >= 1.0).all():
        return firm_w, ext_w
    firm_w = firm_w * firms.by_origin_sector(m)
    ext_w = ext_w * m
    return firm_w, ext_w


def route_ratio(units: F64, cap_units: F64) -> F64:
    """(O, D, S) share of each route's orders it can carry this month (1: not binding)."""
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(units > cap_units, cap_units / units, 1.0)


def route_values(
    world: World,
    firms: Firms,
    to_agents: F64,
    to_external: F64,
    external_book: NDArray[np.int64],
    spend: F64,
    ext_value: F64,
) -> F64:
    """(O, D, S) customs value ordered on each route this month, before any rationing."""
    R, S, A = world.n_regions, world.n_sectors, world.n_agent
    per = firms.per_group
    out = np.zeros((R, R, S))
    out[:A, :A] = sum_last(to_agents).reshape(S, A, per, A).sum(axis=2).transpose(1, 2, 0)
    if R > A:
        out[:A, A:] = to_external.reshape(S, A, per, R - A).sum(axis=2).transpose(1, 2, 0)
        books = external_book[:, A:].sum(axis=3)  # (S, E, A)
        out[A:, :A] = (books * spend[:A].transpose(2, 1, 0)[:, A:, :]).transpose(1, 2, 0)
        out[A:, A:] = ext_value[A:, A:].transpose(1, 0, 2)
    return out
