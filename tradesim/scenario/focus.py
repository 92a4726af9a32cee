"""What a scenario is about: the routes and sectors its shocks touch.

Figures, reports and notebook summaries show these routes first, so that a tariff by China
on US farm goods is shown as US -> CN agriculture, not as the (unchanged) China-Russia
totals. The rules follow each shock type's channel:

- tariff, trade_cost: origin -> importer (destination), in the shock's sectors;
- sanction: target -> imposer and imposer -> target, in the embargoed sectors (every
  sector when only the financial or secondary channel is used);
- settlement_policy: both directions of its route, every sector;
- capacity: the origin's sales to each agent economy, in the shock's sectors;
- exchange_rate, demand, world_price: economy-wide; the routes between the agent
  economies (in the world-price sector for a world-price shock).
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from tradesim.scenario.schema import Scenario

__all__ = ["Route", "added_shocks", "shock_routes"]


@dataclass(frozen=True)
class Route:
    """A direction of trade and the sectors of interest on it (all sectors if empty)."""

    origin: str
    destination: str
    sectors: tuple[str, ...] = ()

    def label(self) -> str:
        if not self.sectors:
            what = "all sectors"
        elif len(self.sectors) <= 2:
            what = ", ".join(self.sectors)
        else:
            what = f"{len(self.sectors)} sectors"
        return f"{self.origin} → {self.destination}, {what}"


def _sectors(value: object, scenario: Scenario) -> tuple[str, ...]:
    if value == "all" or not value:
        return ()
    return tuple(str(s) for s in value if s in scenario.sectors)  # type: ignore[attr-defined]


def added_shocks(scenario: Scenario, base: Scenario | None) -> list[object]:
    """The shocks of `scenario` that `base` does not have (all of them without a base);
    see `_identity` for when two shocks are the same."""
    if base is None:
        return list(scenario.shocks)
    known = {_identity(s) for s in base.shocks}
    return [s for s in scenario.shocks if _identity(s) not in known]


def _identity(shock: object) -> str:
    """A named shock is the same shock in two scenarios when its type and name match (a
    calibrated copy of a baseline changes a fitted shock's values, not what it is about);
    an unnamed one when every field matches."""
    import json

    name = getattr(shock, "name", None)
    if name:
        return f"{getattr(shock, 'type', '')}:{name}"
    return json.dumps(shock.model_dump(mode="json"), sort_keys=True)  # type: ignore[attr-defined]


def shock_routes(
    scenario: Scenario, shocks: Iterable[object] | None = None, *, limit: int = 4
) -> list[Route]:
    """The routes `shocks` (default: all of the scenario's, latest first) touch, at most
    `limit`; the agent economies' routes when no shock names a route."""
    agents = list(scenario.economies)
    regions = set(scenario.regions)
    found: list[Route] = []

    def add(origin: str, destination: str, sectors: tuple[str, ...] = ()) -> None:
        if origin == destination or not {origin, destination} <= regions:
            return
        route = Route(origin, destination, sectors)
        for k, known in enumerate(found):
            if (known.origin, known.destination) == (origin, destination):
                merged = tuple(dict.fromkeys((*known.sectors, *sectors)))
                found[k] = Route(origin, destination, merged if known.sectors and sectors else ())
                return
        found.append(route)

    # A scenario that extends another lists its own shocks after its parent's: without an
    # explicit list, the latest shocks come first.
    chosen = list(reversed(scenario.shocks)) if shocks is None else list(shocks)
    for shock in chosen:
        kind = getattr(shock, "type", "")
        if kind == "tariff":
            add(shock.origin, shock.importer, _sectors(shock.sectors, scenario))  # type: ignore[attr-defined]
        elif kind == "trade_cost":
            add(shock.origin, shock.destination, _sectors(shock.sectors, scenario))  # type: ignore[attr-defined]
        elif kind == "sanction":
            sectors = _sectors(shock.trade.sectors, scenario)  # type: ignore[attr-defined]
            add(shock.target, shock.imposer, sectors)  # type: ignore[attr-defined]
            add(shock.imposer, shock.target, sectors)  # type: ignore[attr-defined]
            for other in agents:  # financial and secondary channels reach the target's partners
                add(shock.target, other)  # type: ignore[attr-defined]
        elif kind == "settlement_policy":
            a, b = shock.route  # type: ignore[attr-defined]
            add(a, b)
            add(b, a)
        elif kind == "capacity":
            for other in agents:
                add(shock.origin, other, _sectors(shock.sectors, scenario))  # type: ignore[attr-defined]
    if not found:
        sector: tuple[str, ...] = ()
        for shock in chosen:
            if getattr(shock, "type", "") == "world_price":
                sector = _sectors([shock.sector], scenario)  # type: ignore[attr-defined]
        for a in agents:
            for b in agents:
                add(a, b, sector)
    return found[:limit]
