"""Cross-field checks of a scenario that the schema alone cannot express.

Each check returns the YAML path of the offending field and a message, so the loader can
point at the file, line and column.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from tradesim.scenario.schema import (
    CapacityShock,
    DemandShock,
    EmbargoShock,
    ExchangeRateShock,
    PriceCapShock,
    RouteCapacityShock,
    SanctionShock,
    Scenario,
    Sectors,
    SettlementPolicyShock,
    SettlementRiskShock,
    TariffShock,
    TradeCostShock,
    WorldPriceShock,
)

__all__ = ["semantic_problems"]


def semantic_problems(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-field checks pydantic cannot express; each as (YAML path, message)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    regions = set(s.regions)
    sectors = set(s.sectors)
    currencies = set(s.currencies)

    def known(kind: str, value: str, pool: set[str], loc: tuple[Any, ...]) -> None:
        if value not in pool:
            out.append((loc, f"unknown {kind} {value!r}; known: {', '.join(sorted(pool))}"))

    def needs_unit(sector: str, loc: tuple[Any, ...], what: str, hint: str) -> None:
        """A shock in physical units on a sector without one."""
        if sector in s.sectors and s.sectors[sector].unit is None:
            out.append((loc, f"{what}, and sector {sector!r} has no unit: give the sector {hint}"))

    if s.end < s.start:
        out.append((("end",), f"end {s.end:%Y-%m} is before start {s.start:%Y-%m}"))
    if not s.economies:
        out.append((("economies",), "at least one agent economy is needed"))
    overlap = set(s.economies) & set(s.external_regions)
    for name in sorted(overlap):
        out.append((("external_regions", name), f"{name!r} is also an agent economy"))
    counts = s.population.buyers_per_sector
    if isinstance(counts, dict):
        where = ("population", "buyers_per_sector")
        for sec in counts:
            if sec != "default":
                known("sector", sec, sectors, (*where, sec))
        if "default" not in counts and (missing := sorted(sectors - set(counts))):
            out.append(
                (where, f"no count for sector(s) {', '.join(missing)}: add them or a 'default'")
            )
    if "USD" not in currencies:
        out.append((("currencies",), "USD must be defined: it is the reporting currency"))
    for kind, group in (("economies", s.economies), ("external_regions", s.external_regions)):
        for rname, r in group.items():
            base = (kind, rname)
            known("currency", r.currency, currencies, (*base, "currency"))
            for sec in sorted(sectors - set(r.absorption_usd_bn)):
                out.append(((*base, "absorption_usd_bn"), f"missing sector {sec!r}"))
            for sec in r.absorption_usd_bn:
                known("sector", sec, sectors, (*base, "absorption_usd_bn", sec))
            for sec in sorted(sectors - set(r.origin_shares)):
                out.append(((*base, "origin_shares"), f"missing sector {sec!r}"))
            for sec, shares in r.origin_shares.items():
                loc = (*base, "origin_shares", sec)
                known("sector", sec, sectors, loc)
                for origin in shares:
                    known("region", origin, regions, (*loc, origin))
                total = sum(shares.values())
                if abs(total - 1.0) > 1e-6:
                    out.append((loc, f"origin shares must sum to 1, they sum to {total:.6g}"))
    known(
        "currency",
        s.parameters.currency_choice.dominant_currency,
        currencies,
        ("parameters", "currency_choice", "dominant_currency"),
    )
    for sec in s.parameters.currency_choice.invoicing:
        known("sector", sec, sectors, ("parameters", "currency_choice", "invoicing", sec))
    for reg in s.parameters.currency_choice.importer_currency:
        known("region", reg, regions, ("parameters", "currency_choice", "importer_currency", reg))
    for cur in s.initial_currency_shares:
        known("currency", cur, currencies, ("initial_currency_shares", cur))
    if abs(sum(s.initial_currency_shares.values()) - 1.0) > 1e-6:
        out.append((("initial_currency_shares",), "shares must sum to 1"))

    seen_ids: dict[str, int] = {}
    for i, shock in enumerate(s.shocks):
        if shock.id is not None:
            if shock.id in seen_ids:
                out.append(
                    (("shocks", i, "id"), f"id {shock.id!r} is also shock {seen_ids[shock.id]}'s")
                )
            seen_ids.setdefault(shock.id, i)
    horizon_end = dt.date(s.end.year + (s.end.month == 12), s.end.month % 12 + 1, 1)
    for i, shock in enumerate(s.shocks):
        at: tuple[Any, ...] = ("shocks", i)
        if shock.start >= horizon_end:
            out.append(((*at, "start"), f"starts {shock.start} after the horizon ends"))
        if shock.end is not None and shock.end <= s.start:
            out.append(
                (
                    (*at, "end"),
                    f"ends {shock.end} before the horizon starts ({s.start:%Y-%m}): it would"
                    " change no reported month",
                )
            )
        sector_lists: list[tuple[str, Sectors]] = []
        if isinstance(shock, TariffShock):
            known("region", shock.importer, regions, (*at, "importer"))
            known("region", shock.origin, regions, (*at, "origin"))
            if shock.importer == shock.origin:
                out.append(((*at, "origin"), "a tariff needs two different regions"))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, SanctionShock):
            known("region", shock.imposer, regions, (*at, "imposer"))
            known("region", shock.target, regions, (*at, "target"))
            if shock.imposer == shock.target:
                out.append(((*at, "target"), "a sanction needs two different regions"))
            sector_lists.append(("trade", shock.trade.sectors))
            for cur in shock.financial.currencies or []:
                known("currency", cur, currencies, (*at, "financial", "currencies"))
            out.extend(_cutoff_leaves_nothing(s, shock, at))
        elif isinstance(shock, SettlementRiskShock):
            known("region", shock.target, regions, (*at, "target"))
            for j, name in enumerate(shock.currencies):
                known("currency", name, currencies, (*at, "currencies", j))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, SettlementPolicyShock):
            for j, name in enumerate(shock.route):
                known("region", name, regions, (*at, "route", j))
            for j, name in enumerate(shock.currencies):
                known("currency", name, currencies, (*at, "currencies", j))
        elif isinstance(shock, ExchangeRateShock):
            known("currency", shock.currency, currencies, (*at, "currency"))
            if shock.currency == "USD":
                out.append(((*at, "currency"), "USD is the numeraire; move other currencies"))
        elif isinstance(shock, DemandShock):
            known("region", shock.region, regions, (*at, "region"))
        elif isinstance(shock, WorldPriceShock):
            known("sector", shock.sector, sectors, (*at, "sector"))
        elif isinstance(shock, TradeCostShock):
            known("region", shock.origin, regions, (*at, "origin"))
            known("region", shock.destination, regions, (*at, "destination"))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, CapacityShock):
            known("agent economy", shock.origin, set(s.economies), (*at, "origin"))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, PriceCapShock):
            known("region", shock.imposer, regions, (*at, "imposer"))
            known("region", shock.origin, regions, (*at, "origin"))
            known("sector", shock.sector, sectors, (*at, "sector"))
            if shock.imposer == shock.origin:
                out.append(((*at, "origin"), "a price cap needs two different regions"))
            needs_unit(
                shock.sector,
                (*at, "sector"),
                "a price cap is in USD per physical unit",
                "a unit (t, bbl, MMBtu) and a world_price in USD per unit",
            )
        elif isinstance(shock, RouteCapacityShock):
            known("region", shock.origin, regions, (*at, "origin"))
            known("region", shock.destination, regions, (*at, "destination"))
            known("sector", shock.sector, sectors, (*at, "sector"))
            needs_unit(
                shock.sector,
                (*at, "sector"),
                "a route capacity is in physical units",
                "a unit (t, bbl, MMBtu)",
            )
            dest = {**s.economies, **s.external_regions}.get(shock.destination)
            if (
                dest is not None
                and shock.origin in regions
                and shock.sector in sectors
                and dest.origin_shares.get(shock.sector, {}).get(shock.origin, 0.0) <= 0.0
            ):
                out.append(
                    (
                        (*at, "origin"),
                        f"route {shock.origin} -> {shock.destination} ({shock.sector}) does not "
                        f"exist: {shock.origin} has no share in {shock.destination}'s "
                        f"origin_shares for {shock.sector}, so a capacity could never bind "
                        "(give the route a base-year share, e.g. latent demand held at 0 by "
                        "a capacity of 0 until it opens)",
                    )
                )
        elif isinstance(shock, EmbargoShock):
            known("region", shock.importer, regions, (*at, "importer"))
            known("region", shock.origin, regions, (*at, "origin"))
            if shock.importer == shock.origin:
                out.append(((*at, "origin"), "an embargo needs two different regions"))
            sector_lists.append(("sectors", shock.sectors))
        for field, secs in sector_lists:
            if secs != "all":
                path = (*at, field) if field == "sectors" else (*at, field, "sectors")
                for j, sec in enumerate(secs):
                    known("sector", sec, sectors, (*path, j))
    out += _stacked_tariffs(s)
    return out


#: Largest ad valorem tariff (500%), as the schema bounds one tariff shock. Tariffs on one
#: route and sector add up (policy.compile_policy), so the bound holds for their sum too.
MAX_TARIFF = 5.0


def _stacked_tariffs(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Tariffs active at once on one importer, origin and sector whose rates sum above
    MAX_TARIFF: each alone is valid, together they break the documented bound."""
    out: list[tuple[tuple[Any, ...], str]] = []
    tariffs = [(i, t) for i, t in enumerate(s.shocks) if isinstance(t, TariffShock)]
    reported: set[int] = set()
    for i, shock in tariffs:
        secs = set(s.sectors) if shock.sectors == "all" else set(shock.sectors)
        active = [
            (j, t)
            for j, t in tariffs
            if (t.importer, t.origin) == (shock.importer, shock.origin)
            and t.start <= shock.start
            and (t.end is None or t.end > shock.start)
            and secs & (set(s.sectors) if t.sectors == "all" else set(t.sectors))
        ]
        total = sum(t.rate for _, t in active)
        if total > MAX_TARIFF + 1e-12 and i not in reported:
            reported.add(i)
            out.append(
                (
                    ("shocks", i, "rate"),
                    f"tariffs of {shock.importer} on {shock.origin} in force together from"
                    f" {shock.start} add up to {total:g}, above the maximum {MAX_TARIFF:g}"
                    " (tariffs on one route and sector add up)",
                )
            )
    return out


def _cutoff_leaves_nothing(
    s: Scenario, shock: SanctionShock, at: tuple[Any, ...]
) -> list[tuple[tuple[Any, ...], str]]:
    """A cut-off of every one of the target's agents from every currency usable on one of
    its routes would end those relationships: an embargo in disguise. That is refused; an
    embargo is said with `trade.sectors`, a partial cut-off leaves the others trading."""
    fin = shock.financial
    regions = {**s.economies, **s.external_regions}
    if fin.cutoff_share < 1.0 or shock.target not in regions or shock.imposer not in regions:
        return []
    cut = set(fin.currencies or [regions[shock.imposer].currency])
    international = {c for c, spec in s.currencies.items() if spec.international}
    home = regions[shock.target].currency
    out = []
    for partner, spec in regions.items():
        if partner == shock.target:
            continue
        usable = international | {home, spec.currency}
        if usable <= cut:
            out.append(
                (
                    (*at, "financial", "cutoff_share"),
                    f"cuts every agent of {shock.target} off from every currency usable with"
                    f" {partner} ({', '.join(sorted(usable))}): trade on that route could not"
                    " be settled at all. Leave a currency open, lower cutoff_share below 1, or"
                    " say an embargo with trade.sectors",
                )
            )
            break
    return out
