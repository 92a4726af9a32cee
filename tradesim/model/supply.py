"""Supply response to closed markets: exporters' discounts and price caps.

Two mechanisms, both vectorized over (origin, sector):

* **Market-loss discount.** When embargoes (full or partial) or a price cap close part of
  an agent origin's base-year market, its exporters cut prices toward unit cost. The target
  price factor is

      g*_os = 1 - (1 - 1/mu) * c_os,      c_os = sum_d V_dos b_dos / sum_d V_dos,

  where V_dos = absorption_ds x origin_share_dos are base-year sales (domestic included) and
  b_dos the share of destination d's buyers barred from o. With every market closed the
  price falls to cost (g* = 1/mu); with none the factor is 1. The factor moves toward its
  target by partial adjustment, g(t+1) = g(t) + theta (g*(t) - g(t)), theta =
  `discount_speed`. Default 0.5 a month: the Urals discount to Brent widened from about
  $1.50 to more than $35/bbl within about two months of February 2022 (Princeton Policy
  Advisors blog, 2023-04-15; Reuters monitoring; /work data notes invoicing.md §6), and
  0.5 a month closes 75% of the gap in two months. Its later narrowing (half-life of about
  a year) is buyers re-routing, which the relationship renewals carry.

* **Price cap.** A coalition (the cap's imposer) allows its buyers -- and the share of
  third countries' trade that uses its services (shipping, insurance, finance) -- to buy an
  origin's commodity only at or below the cap, in USD per physical unit. In a month when
  the origin's unit price (world price at month 0 x its supplier price index) is above the
  cap, those buyers are barred from the origin; its exporters see the market close and
  discount, and once the price is under the cap the market reopens.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from tradesim.model.policy import Policy
from tradesim.model.world import World

__all__ = ["apply_price_caps", "closed_share", "discount_target", "update_discount"]

F64 = NDArray[np.float64]


def closed_share(world: World, policy: Policy) -> F64:
    """(O, S) share of each origin's base-year sales whose buyers are barred now."""
    base = world.absorption_usd[:, None, :] * world.origin_shares  # (D, O, S)
    barred = policy.embargo.astype(float)
    if policy.barred is not None:
        barred = np.maximum(barred, policy.barred)
    total = base.sum(axis=0)
    lost = (base * barred).sum(axis=0)
    return np.divide(lost, total, out=np.zeros_like(total), where=total > 0)


def discount_target(world: World, policy: Policy) -> F64:
    """(O, S) target price factor: 1 with no market closed, 1/markup with all closed."""
    return 1.0 - (1.0 - 1.0 / world.params.markup) * closed_share(world, policy)


def update_discount(discount: F64, target: F64, speed: float) -> F64:
    """Partial adjustment of the discount factor toward its target."""
    return discount + speed * (target - discount)


def apply_price_caps(world: World, policy: Policy, origin_unit_price: F64) -> Policy:
    """Bar the buyers bound by a price cap from origins priced above it this month.

    origin_unit_price is (O, S) in USD per unit (nan for sectors without a unit).
    """
    if policy.price_cap is None or policy.cap_share is None:
        return policy
    with np.errstate(invalid="ignore"):
        over = origin_unit_price > policy.price_cap  # (O, S); nan compares False
    if not over.any():
        return policy
    bound = policy.cap_share * over[None, :, :]  # (D, O, S)
    current = policy.barred if policy.barred is not None else np.zeros_like(bound)
    return replace(policy, barred=1.0 - (1.0 - current) * (1.0 - bound))
