"""Thin routes: flows carried by too few buyer-supplier relationships to be more than a
lottery.

Into an agent economy, a route's flow is the sum of the budgets of the relationships on it.
A route whose expected share of a sector's buyers is s holds about N s relationships with
N buyers per sector; with a handful, one buyer switching moves the flow by a large step,
and a small gain from a policy is a draw, not a result. `thin_routes` finds the routes
with positive flow and fewer relationships than `minimum` on average, and says what
population would give them that many; `simulate` warns about them.
"""

from __future__ import annotations

import math
import warnings
from dataclasses import dataclass

import numpy as np

from tradesim.io.results import SimulationResult

__all__ = ["ThinRoute", "ThinRouteWarning", "thin_routes", "warn_thin_routes"]

MINIMUM_RELATIONSHIPS = 30  # a flow's relative standard error is about 1/sqrt(n): ~18% at 30


class ThinRouteWarning(UserWarning):
    """Some flows are carried by too few relationships to be read one run at a time."""


@dataclass(frozen=True)
class ThinRoute:
    origin: str
    destination: str
    sector: str
    relationships: float  # mean active relationships over the reported months
    value_usd: float  # total value shipped over the reported months
    buyers_needed: int  # buyers_per_sector that would give `minimum` relationships
    per_sector: bool = False  # the population gives buyers per sector (a mapping)

    def __str__(self) -> str:
        field = "population.buyers_per_sector" + (f".{self.sector}" if self.per_sector else "")
        return (
            f"{self.origin}->{self.destination} {self.sector}: {self.relationships:.1f} "
            f"relationships on average ({field} >= {self.buyers_needed:,} would carry it)"
        )


def thin_routes(result: SimulationResult, minimum: int = MINIMUM_RELATIONSHIPS) -> list[ThinRoute]:
    """Foreign routes into agent economies with positive flow and fewer than `minimum`
    relationships on average, thinnest first."""
    data = result.data
    agents = list(result.scenario.economies)
    per_sector = isinstance(result.scenario.population.buyers_per_sector, dict)
    counts = dict(
        zip(
            data.sector.values,
            result.scenario.population.buyers(list(map(str, data.sector.values))),
            strict=True,
        )
    )
    regions = {**result.scenario.economies, **result.scenario.external_regions}
    rel = data.relationships.sum("currency").sel(destination=agents).mean("month")
    value = data.shipped_usd.sum("currency").sel(destination=agents).sum("month")
    out = []
    for o in data.origin.values:
        for d in agents:
            if o == d:
                continue
            for s in data.sector.values:
                n = float(rel.sel(origin=o, destination=d, sector=s))
                v = float(value.sel(origin=o, destination=d, sector=s))
                if v > 0 and n < minimum:
                    # The count itself is a draw: scale from the smaller of it and the
                    # base-year expectation (buyers x share), with a 20% margin.
                    buyers = counts[s]
                    share = regions[d].origin_shares.get(str(s), {}).get(str(o), 0.0)
                    expected = buyers * share if share > 0 else n
                    need = math.ceil(1.2 * buyers * minimum / max(min(n, expected), 0.5))
                    out.append(ThinRoute(str(o), d, str(s), n, v, need, per_sector))
    return sorted(out, key=lambda r: (r.relationships, -r.value_usd))


def warn_thin_routes(result: SimulationResult, minimum: int = MINIMUM_RELATIONSHIPS) -> None:
    """Warn (ThinRouteWarning) about thin routes, naming the thinnest and the population
    that would carry all of them."""
    thin = thin_routes(result, minimum)
    if not thin:
        return
    worst = "; ".join(str(r) for r in thin[:3])
    need = max(r.buyers_needed for r in thin)
    share = sum(r.value_usd for r in thin) / max(float(np.sum(result.data.shipped_usd)), 1.0)
    warnings.warn(
        f"{len(thin)} routes are carried by fewer than {minimum} relationships on average "
        f"({100 * share:.2g}% of value), so their changes in one run are lotteries: {worst}. "
        f"population.buyers_per_sector >= {need:,} would carry every one; or read them from "
        "an ensemble mean.",
        ThinRouteWarning,
        stacklevel=3,
    )
