"""Commodity supply drivers: export availability and the world price of withdrawn supply.

* **Export availability.** An origin's offer of a commodity to import markets varies with
  its harvest season and its production: China's soybean imports come from the US mostly
  September to February (74% of the US total in 2017) and from Brazil March to August (71%),
  China customs; Russian soybean production grew from 3.10 Mt (2016) to 3.58 (2017) and
  3.93 Mt (2018), Rosstat. In a CES demand system an origin's expenditure share is
  proportional to the number (or mass) of varieties it offers times its price power
  (Feenstra 1994, "New product varieties and the measurement of international prices",
  AER 84(1)); the availability index a_os(t) (tradesim/model/commodity_data.py: 12 x the
  seasonal share of the month times the production index relative to 2016) therefore
  multiplies the origin's taste weight on import routes,

      alpha'_dos(t) = alpha_dos x a_os(t)      (d != o; home sales unchanged),

  before the nest is formed, so the domestic/import split responds through sigma_D and the
  split among origins through sigma_M. Its annual mean is the production index, so annual
  base flows are kept (up to the CES normalisation: a month where every origin is off-season
  loses imports to home supply). Agent firms' capacity moves with the same index, so a
  growing origin can ship what it offers.

* **World price of withdrawn supply.** When embargoes, partial embargoes or a price cap
  bar buyers from an origin, the share c_os of its sales that is barred (supply.closed_share)
  times its share w_os of world output is withdrawn from the markets it served. In the
  short run, before the metal or crude is re-routed, the world price rises to clear the
  rest of the market:

      ln p_s' - ln p_s = -ln(1 - sum_o w_os c_os) / (eps_d + eps_s),

  with eps_d and eps_s the short-run price elasticities of world demand and supply
  (`parameters.world_price_elasticity`, their sum; default 0.3, sourced in the comment
  below). The response is exactly 0 when nothing is barred, so the baseline is unchanged.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np
from numpy.typing import NDArray

from tradesim.model.agents import Firms
from tradesim.model.policy import Policy
from tradesim.model.supply import closed_share
from tradesim.model.world import World

__all__ = ["capacity_factor", "supply_alpha", "withdrawn_price"]

F64 = NDArray[np.float64]

# The default of parameters.world_price_elasticity (0.3) and its source. Short-run (monthly
# to one-year) world demand + supply price elasticity of a commodity.
# No direct estimate for primary aluminium was found (research/sources/aluminium_elasticity.csv:
# qualitative only -- Fally and Sayre 2018, "Commodity Trade Matters", CEPR DP13132, and
# Boer, Pescatori and Stuermer, IMF WP, find commodity demand and supply price-inelastic,
# minerals most; Blomberg and Soderholm 2009 estimate 0.21 for the annual supply of
# secondary aluminium). The best-measured commodity, crude oil, gives the range: Caldara,
# Cavallo and Iacoviello (2019, JME 103) about 0.08 (supply) + 0.08 (demand) = 0.16;
# Baumeister and Hamilton (2019, AER 109(5)) about 0.15 + 0.35 = 0.5. Default: 0.3, the
# middle of that range, chosen before the Rusal episode was measured and not fitted to it.


def supply_alpha(world: World, row: int, alpha: F64) -> F64:
    """(D, O, S) taste weights scaled by each origin's export availability this month."""
    index = world.export_supply[row]  # (O, S)
    if np.all(index == 1.0):
        return alpha
    factor = np.broadcast_to(index[None, :, :], alpha.shape).copy()
    d = np.arange(world.n_regions)
    factor[d, d, :] = 1.0  # home sales are not exports
    return alpha * factor


def capacity_factor(world: World, firms: Firms, row: int) -> F64:
    """(n_firms,) agent firms' capacity multiplier: their origin's availability index."""
    return firms.by_origin_sector(world.export_supply[row])


def withdrawn_price(world: World, policy: Policy) -> Policy:
    """Raise world prices by the supply the policy bars from markets (module docstring)."""
    eps = world.params.world_price_elasticity
    shares = world.world_output_share
    if eps is None or not shares.any():
        return policy
    barred = policy.embargo.any() or (policy.barred is not None and (policy.barred > 0).any())
    if not barred:
        return policy
    withdrawn = (shares * closed_share(world, policy)).sum(axis=0)  # (S,)
    if not (withdrawn > 0).any():
        return policy
    factor = np.exp(-np.log1p(-np.minimum(withdrawn, 0.99)) / eps)
    return replace(policy, world_price=policy.world_price * factor)
