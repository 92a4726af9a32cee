"""The policy state: how each shock type changes the world, month by month.

Each shock has an intensity in [0, 1] per month (0 before its start and from its end, a
linear ramp in between, and a pro-rated first and last month for dates inside a month).
`compile_policy` folds every active shock into arrays. Folding is commutative (tariffs and
fees add, multipliers multiply, probabilities combine as independent events, blocks are
unions), so the order in which a scenario lists its shocks never matters.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
from numpy.typing import NDArray

from tradesim.model.payments import delay_financing
from tradesim.model.world import World, month_position
from tradesim.scenario import (
    CapacityShock,
    DemandShock,
    EmbargoShock,
    ExchangeRateShock,
    PriceCapShock,
    RouteCapacityShock,
    SanctionShock,
    SettlementPolicyShock,
    SettlementRiskShock,
    Shock,
    TariffShock,
    TradeCostShock,
    WorldPriceShock,
)

__all__ = [
    "Policy",
    "canonical_order",
    "compile_policy",
    "shock_change_months",
    "shock_intensity",
    "varies_by_month",
]

F64 = NDArray[np.float64]


@dataclass(frozen=True)
class Policy:
    """Policy arrays in force during one month. O, D index regions; S sectors; C currencies."""

    tariff: F64  # (D, O, S) ad valorem rate charged by importer D on origin O
    embargo: NDArray[np.bool_]  # (D, O, S) trade blocked
    secondary_cost: F64  # (O, D) extra cost fraction on the route
    trade_cost: F64  # (O, D, S) multiplier on delivered price
    capacity: F64  # (A, S) multiplier on agent firms' capacity
    per_usd: F64  # (C,) multiplier on the rate per USD
    demand: F64  # (R,) multiplier on real demand
    world_price: F64  # (S,) multiplier on world prices
    fee_change: F64  # (O, D, C) added to the currency fee
    availability: NDArray[np.int8]  # (O, D, C) +1 made available, -1 removed, 0 unchanged
    freeze: F64  # (O, D, C) probability that a payment is frozen
    cutoff: F64  # (R, C) share of a region's firms and buyers cut off from a currency
    risk: F64  # (O, D, S, C) perceived risk premium, a fraction of value (settlement_risk)
    payment_delay: F64  # (O, D, C) share of pairs cut off whose in-flight payments wait
    inflight_freeze: F64  # (O, D, C) share of pairs cut off whose in-flight payments freeze
    delay_months: int  # months a delayed payment waits before it is re-routed
    hold: F64  # (O, D, C) probability that a payment is held for delay_months (compliance)
    financing: F64  # (O, D, C) expected financing cost of held payments, a fraction of value
    barred: F64 | None = None  # (D, O, S) share of the route's buyers barred (embargo shocks)
    price_cap: F64 | None = None  # (O, S) USD per unit an origin's price may not exceed; inf
    cap_share: F64 | None = None  # (D, O, S) share of the route's buyers bound by the cap
    route_capacity: F64 | None = None  # (O, D, S) units a year a route carries; inf: no limit

    @property
    def blocks_relationships(self) -> bool:
        """Whether some existing relationships may have become impossible."""
        return bool(
            self.embargo.any()
            or (self.cutoff > 0).any()
            or (self.availability < 0).any()
            or (self.barred is not None and (self.barred > 0).any())
        )


def canonical_order(shocks: Sequence[Shock]) -> list[Shock]:
    """Shocks sorted by their content. Folding is commutative in exact arithmetic, but float
    sums and products of three or more terms depend on order in the last bit; folding in a
    canonical order makes results bit-identical however a file lists its shocks."""
    return sorted(shocks, key=lambda shock: shock.model_dump_json())


def shock_intensity(shock: Shock, world: World, month: int) -> float:
    """Share of `month` during which the shock applies, times its ramp factor."""
    lo = world.date_to_month(shock.start)
    hi = world.date_to_month(shock.end) if shock.end is not None else np.inf
    covered = max(0.0, min(month + 1.0, hi) - max(float(month), lo))
    if covered <= 0.0:
        return 0.0
    if shock.ramp_months > 0:
        ramp = min(1.0, (month - np.floor(lo) + 1.0) / shock.ramp_months)
        covered *= ramp
    return float(covered)


def varies_by_month(shock: Shock) -> bool:
    """Whether the shock's arrays at a fixed intensity change from month to month: a dated
    path (of changes or route capacities) of two points or more, a risk premium that
    decays, or held payments (financed at the month's rate). Otherwise `compile_policy`
    gives the same arrays in every month with the same intensities, so a run compiles
    them again only when an intensity moves (engine.py)."""
    path = getattr(shock, "path", None)
    if path is not None:
        return len(path) > 1  # one point: flat before and after it (np.interp)
    if isinstance(shock, SettlementRiskShock):
        return shock.half_life_months is not None
    return isinstance(shock, SanctionShock) and shock.financial.hold_probability > 0


def shock_change_months(shock: Shock, world: World) -> list[int]:
    """Months at which a shock's intensity can change, in order (for its simpy process)."""
    first = int(np.floor(world.date_to_month(shock.start)))
    points = set(range(first, first + shock.ramp_months + 2))
    if shock.end is not None:
        last = int(np.floor(world.date_to_month(shock.end)))
        points |= {last, last + 1}
    return sorted(m for m in points if -world.burn_in <= m < world.n_months)


def _change(
    shock: ExchangeRateShock | DemandShock | WorldPriceShock | TradeCostShock | CapacityShock,
    world: World,
    month: int,
) -> float:
    if shock.change is not None:
        return shock.change
    assert shock.path is not None
    xs = [month_position(k, world.start) for k in shock.path]
    return float(np.interp(month, xs, list(shock.path.values())))


def _sector_index(world: World, sectors: Sequence[str] | str) -> list[int]:
    if sectors == "all":
        return list(range(world.n_sectors))
    return [world.sectors.index(s) for s in sectors]


def _combine_prob(current: F64, p: float) -> F64:
    return 1.0 - (1.0 - current) * (1.0 - p)


def compile_policy(
    world: World, shocks: Sequence[Shock], intensity: Sequence[float] | F64, month: int
) -> Policy:
    """Fold the shocks, each at its intensity, into the policy arrays for `month`."""
    R, S, C = world.n_regions, world.n_sectors, world.n_currencies
    tariff = np.zeros((R, R, S))
    embargo = np.zeros((R, R, S), dtype=bool)
    secondary = np.ones((R, R))
    trade_cost = np.ones((R, R, S))
    capacity = np.ones((world.n_agent, S))
    per_usd = np.ones(C)
    demand = np.ones(R)
    world_price = np.ones(S)
    fee_change = np.zeros((R, R, C))
    add = np.zeros((R, R, C), dtype=bool)
    remove = np.zeros((R, R, C), dtype=bool)
    freeze = np.zeros((R, R, C))
    cutoff = np.zeros((R, C))
    risk = np.zeros((R, R, S, C))
    inflight_freeze = np.zeros((R, C))
    inflight_delay = np.zeros((R, C))
    hold = np.zeros((R, R, C))
    delay_months = 1
    barred = np.zeros((R, R, S))
    price_cap = np.full((R, S), np.inf)
    cap_share = np.zeros((R, R, S))
    route_capacity = np.full((R, R, S), np.inf)
    region = {r: i for i, r in enumerate(world.regions)}
    currency = {c: i for i, c in enumerate(world.currencies)}

    for shock, w in zip(shocks, intensity, strict=True):
        if w <= 0.0:
            continue
        if isinstance(shock, TariffShock):
            tariff[
                region[shock.importer], region[shock.origin], _sector_index(world, shock.sectors)
            ] += shock.rate * w
        elif isinstance(shock, SanctionShock):
            imp, tgt = region[shock.imposer], region[shock.target]
            secs = _sector_index(world, shock.trade.sectors)
            embargo[imp, tgt, secs] = True
            embargo[tgt, imp, secs] = True
            fin = shock.financial
            curs = [currency[c] for c in (fin.currencies or [])] or [world.region_currency[imp]]
            for c in curs:
                touches = np.zeros((R, R), dtype=bool)
                touches[tgt, :] = touches[:, tgt] = True
                freeze[:, :, c] = np.where(
                    touches,
                    _combine_prob(freeze[:, :, c], fin.freeze_probability * w),
                    freeze[:, :, c],
                )
                cutoff[tgt, c] = _combine_prob(cutoff[tgt, c], fin.cutoff_share * w)
                if fin.hold_probability > 0:
                    hold[:, :, c] = np.where(
                        touches,
                        _combine_prob(hold[:, :, c], fin.hold_probability * w),
                        hold[:, :, c],
                    )
                    delay_months = max(delay_months, fin.delay_months)
                if fin.in_flight == "freeze":
                    inflight_freeze[tgt, c] = _combine_prob(
                        inflight_freeze[tgt, c], fin.cutoff_share * w
                    )
                elif fin.in_flight == "delay":
                    inflight_delay[tgt, c] = _combine_prob(
                        inflight_delay[tgt, c], fin.cutoff_share * w
                    )
                    delay_months = max(delay_months, fin.delay_months)
            third = np.ones(R, dtype=bool)
            third[[imp, tgt]] = False
            factor = 1.0 + shock.secondary.cost * w
            secondary[tgt, third] *= factor
            secondary[third, tgt] *= factor
        elif isinstance(shock, SettlementPolicyShock):
            a, b = region[shock.route[0]], region[shock.route[1]]
            for name in shock.currencies:
                c = currency[name]
                for o, d in ((a, b), (b, a)):
                    fee_change[o, d, c] += shock.fee_change * w
                    if shock.available is True:
                        add[o, d, c] = True
                    elif shock.available is False:
                        remove[o, d, c] = True
        elif isinstance(shock, SettlementRiskShock):
            tgt = region[shock.target]
            premium = shock.premium * w * _decay(shock, world, month)
            secs = _sector_index(world, shock.sectors)
            touches = np.zeros((R, R), dtype=bool)
            touches[tgt, :] = touches[:, tgt] = True
            extra = np.where(touches, premium, 0.0)
            for name in shock.currencies:
                by_sector = risk[:, :, :, currency[name]].transpose(2, 0, 1)  # (S, O, D) view
                # Unbuffered: a sector listed twice gets the premium twice, in list order.
                np.add.at(by_sector, np.asarray(secs, dtype=np.intp), extra)
        elif isinstance(shock, ExchangeRateShock):
            per_usd[currency[shock.currency]] *= 1.0 + _change(shock, world, month) * w
        elif isinstance(shock, DemandShock):
            demand[region[shock.region]] *= 1.0 + _change(shock, world, month) * w
        elif isinstance(shock, WorldPriceShock):
            world_price[world.sectors.index(shock.sector)] *= 1.0 + _change(shock, world, month) * w
        elif isinstance(shock, TradeCostShock):
            o, d = region[shock.origin], region[shock.destination]
            trade_cost[o, d, _sector_index(world, shock.sectors)] *= (
                1.0 + _change(shock, world, month) * w
            )
        elif isinstance(shock, PriceCapShock):
            imp, o = region[shock.imposer], region[shock.origin]
            k = world.sectors.index(shock.sector)
            price_cap[o, k] = min(price_cap[o, k], shock.cap)
            third = np.ones(R, dtype=bool)
            third[[imp, o]] = False
            cap_share[imp, o, k] = _combine_prob(cap_share[imp, o, k], w)
            cap_share[third, o, k] = _combine_prob(cap_share[third, o, k], shock.services_share * w)
        elif isinstance(shock, RouteCapacityShock):
            o, d = region[shock.origin], region[shock.destination]
            k = world.sectors.index(shock.sector)
            if shock.capacity is not None:
                level = shock.capacity
            else:
                assert shock.path is not None
                xs = [month_position(key, world.start) for key in shock.path]
                level = float(np.interp(month, xs, list(shock.path.values())))
            # Several limits on one route: the tightest binds; a ramp phases the level in.
            route_capacity[o, d, k] = min(route_capacity[o, d, k], level * w)
        elif isinstance(shock, EmbargoShock):
            # Partial embargoes of several shocks combine as independent events; a full one
            # (share 1 at full intensity) bars every buyer.
            d, o = region[shock.importer], region[shock.origin]
            secs = _sector_index(world, shock.sectors)
            barred[d, o, secs] = _combine_prob(barred[d, o, secs], shock.share * w)
        elif isinstance(shock, CapacityShock):
            capacity[region[shock.origin], _sector_index(world, shock.sectors)] *= (
                1.0 + _change(shock, world, month) * w
            )
    availability = np.where(remove, -1, np.where(add, 1, 0)).astype(np.int8)
    # In-flight payments of cut-off parties: a pair is affected if either party is cut off.
    inflight_freeze_pair = _combine_pair(np.zeros((R, R, C)), inflight_freeze)
    payment_delay = _combine_pair(np.zeros((R, R, C)), inflight_delay)
    return Policy(
        tariff=tariff,
        embargo=embargo,
        secondary_cost=secondary - 1.0,
        trade_cost=trade_cost,
        capacity=capacity,
        per_usd=per_usd,
        demand=demand,
        world_price=world_price,
        fee_change=fee_change,
        availability=availability,
        freeze=freeze,
        cutoff=cutoff,
        risk=np.minimum(risk, 1.0),
        payment_delay=payment_delay,
        inflight_freeze=inflight_freeze_pair,
        delay_months=delay_months,
        hold=hold,
        financing=delay_financing(world, hold, delay_months, month + world.burn_in),
        barred=barred,
        price_cap=price_cap,
        cap_share=cap_share,
        route_capacity=route_capacity,
    )


def _combine_pair(current: F64, by_region: F64) -> F64:
    """(O, D, C): combine with the probability that either party of a pair is affected."""
    either = 1.0 - (1.0 - by_region)[:, None, :] * (1.0 - by_region)[None, :, :]
    return 1.0 - (1.0 - current) * (1.0 - either)


def _decay(shock: SettlementRiskShock, world: World, month: int) -> float:
    """2 ** (-(months since the start) / half-life); 1 without a half-life."""
    if shock.half_life_months is None:
        return 1.0
    since = max(0.0, month - world.date_to_month(shock.start))
    return float(0.5 ** (since / shock.half_life_months))
