"""The month's kernels: functions of (world, state, policy, random keys) over all agents.

`market_month` is one month of the goods market for every agent at once: relationships
that a policy made impossible end, buyers whose relationship ends renew (supplier, then
settlement currency), firms and external regions place orders, capacity rations them and
moves prices, and the month's flows are returned as a `MonthOutcome`. Nothing here knows
about simpy; `tradesim.model.engine` schedules these functions, and they can be tested on
their own.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradesim.model import choice
from tradesim.model._sums import sum_last
from tradesim.model.agents import Firms
from tradesim.model.export_supply import capacity_factor, supply_alpha, withdrawn_price
from tradesim.model.market import (
    adjust_prices,
    choice_weights,
    fx_factor,
    preference_weights,
    price_level,
    route_wedge,
    supplier_prices,
)
from tradesim.model.orders import firm_demand
from tradesim.model.payments import switching_cost_usd
from tradesim.model.policy import Policy
from tradesim.model.routes import limit_route_weights, route_ratio, route_values
from tradesim.model.settlement import (
    aggregate_currency_shares,
    currency_weights,
    open_currencies,
    settlement_weight_factor,
)
from tradesim.model.state import MarketState
from tradesim.model.supply import apply_price_caps, discount_target, update_discount
from tradesim.model.world import World

__all__ = [
    "MonthOutcome",
    "in_flight_shares",
    "init_market",
    "market_month",
    "origin_price_index",
    "switch_or_break",
]

F64 = NDArray[np.float64]
RANDOM_STREAMS = ("origin", "firm", "currency", "duration", "switch")


@dataclass(frozen=True)
class MonthOutcome:
    """What one month of the market produced (O, D index regions)."""

    flows: F64  # (O, D, S, C) value shipped, USD
    exports: F64  # (O, S) sales abroad summed from suppliers' own sales
    price_index: F64  # (O, S) suppliers' USD price index relative to month 0
    buyer_price_index: F64  # (D, S) CES index of delivered prices
    switching_cost: F64 | None = None  # (O, D, S, C) USD paid by relationships forced to switch


# ---------------------------------------------------------------------- set-up


def init_market(world: World, state: MarketState, base: Policy) -> None:
    """Fix taste weights, the base price index, initial currency shares and capacities."""
    firm_price, external_price = supplier_prices(world, state.firms, world.burn_in, base)
    state.alpha = preference_weights(world, state.firms, firm_price, external_price)
    state.base_price_index = origin_price_index(world, state.firms, firm_price, external_price)
    state.discount = np.ones((world.n_regions, world.n_sectors))
    state.network_share = _initial_network_share(world, base)
    state.market_share = np.broadcast_to(
        world.initial_currency_shares, (world.n_regions, world.n_sectors, world.n_currencies)
    ).copy()
    state.base_settlement = settlement_weight_factor(world, base)
    _set_capacity(world, state, base, firm_price, external_price)


def _initial_network_share(world: World, policy: Policy) -> F64:
    open_ = open_currencies(world, policy)
    share = np.where(open_, world.initial_currency_shares[None, None, :], 0.0)
    total = share.sum(axis=2, keepdims=True)
    fallback = open_ / np.maximum(open_.sum(axis=2, keepdims=True), 1)
    return np.where(total > 0, share / np.where(total > 0, total, 1.0), fallback)


def settlement_prices(world: World, state: MarketState, policy: Policy) -> F64:
    """(O, D, S) multiplier on choice weights from settlement costs relative to the base:
    ((1 + k) / (1 + k_base)) ** (1 - sigma) in expectation over cut-offs (settlement.py)."""
    now = settlement_weight_factor(world, policy)
    base = state.base_settlement
    return np.divide(now, base, out=np.zeros_like(now), where=base > 0)


def apply_settlement_prices(
    world: World, firms: Firms, factor: F64, firm_w: F64, ext_w: F64
) -> tuple[F64, F64]:
    """Multiply supplier-choice weights (D, n_firms) and (D, O, S) by the settlement factor."""
    firm_w = firm_w * firms.by_origin_sector(factor.transpose(1, 0, 2))
    ext_w = ext_w * factor.transpose(1, 0, 2)
    return firm_w, ext_w


def in_flight_shares(policy: Policy, freeze_then: F64, delay_then: F64) -> tuple[F64, F64]:
    """(O, D, C) shares of a cohort's payment frozen and delayed at settlement.

    Sanction freezes apply to every payment; the payments of pairs cut off from the
    currency since the cohort shipped (they shipped in it, and cannot pay in it now) are
    frozen or delayed as the sanction's `in_flight` says; of what is left, the share
    `hold` is held for compliance checks (delayed too).
    """
    if not (
        policy.freeze.any()
        or policy.hold.any()
        or policy.inflight_freeze.any()
        or policy.payment_delay.any()
    ):  # no sanction on payments: zeros, what the formulas below give (+0.0), at less cost
        return np.zeros_like(policy.freeze), np.zeros_like(policy.freeze)
    clean = np.maximum(1.0 - freeze_then - delay_then, 1e-12)
    new_freeze = np.clip((policy.inflight_freeze - freeze_then) / clean, 0.0, 1.0)
    new_delay = np.clip((policy.payment_delay - delay_then) / clean, 0.0, 1.0)
    freeze = 1.0 - (1.0 - policy.freeze) * (1.0 - new_freeze)
    delay = 1.0 - (1.0 - new_delay) * (1.0 - policy.hold)
    return freeze, np.minimum(delay, 1.0 - new_freeze)


def _set_capacity(
    world: World, state: MarketState, policy: Policy, firm_price: F64, external_price: F64
) -> None:
    """Capacity = headroom x expected base-year sales in units (None: unlimited)."""
    headroom = world.params.capacity_headroom
    if headroom is None:
        return
    firm_w, ext_w = choice_weights(
        world, state.firms, state.alpha, policy, firm_price, external_price
    )
    spend = spend_factor(world, world.burn_in, policy)
    totals = _sector_totals(world, firm_w, ext_w)
    value = _firm_demand(world, state.firms, firm_w, totals, spend, range(world.n_regions))
    state.firms.base_capacity = headroom * value.sum(axis=1) / firm_price


# ---------------------------------------------------------------------- demand


def spend_factor(world: World, row: int, policy: Policy) -> F64:
    """(D, O, S) customs value per USD of base budget: real demand x home-currency deflator
    (nominal spending), its USD value at the exchange rate, sector prices, tariffs."""
    w = world
    budget = (
        (w.demand[row] * policy.demand * w.deflator[row])[:, None]
        * fx_factor(w, row, policy, w.params.fx_budget_elasticity)[:, None]
        * price_level(w, row, policy)[None, :] ** (1.0 - w.demand_price_elasticity)[None, :]
    )
    wedge = (1.0 + policy.tariff) * (1.0 + policy.secondary_cost.T[:, :, None])
    return budget[:, None, :] / wedge


def _sector_totals(world: World, firm_w: F64, ext_w: F64) -> F64:
    """(D, S) sum of choice weights over every option of the sector."""
    S = world.n_sectors
    return firm_w.reshape(firm_w.shape[0], S, -1).sum(axis=2) + ext_w.sum(axis=1)


def _firm_demand(
    world: World,
    firms: Firms,
    firm_w: F64,
    totals: F64,
    spend: F64,
    destinations: Iterable[int],
) -> F64:
    """(n_firms, len(destinations)) expected value bought from each firm by aggregate
    destinations: absorption x spend factor x logit share (totals: `_sector_totals`;
    compiled in `orders.firm_demand`, one pass over the firms)."""
    dest = np.fromiter(destinations, dtype=np.int64)
    out = np.empty((len(firms), dest.size))
    firm_demand(firm_w, totals, world.absorption_usd, spend, dest, firms.origin, firms.sector, out)
    return out


def origin_price_index(world: World, firms: Firms, firm_price: F64, external_price: F64) -> F64:
    """(O, S) CES price index of each origin's suppliers."""
    sigma = world.elasticity
    power = (
        (firm_price ** (1.0 - firms.by_sector(sigma)))
        .reshape(world.n_sectors, world.n_agent, -1)
        .mean(axis=2)
    )
    index = external_price.copy()
    index[: world.n_agent] = (power ** (1.0 / (1.0 - sigma[:, None]))).T
    return index


# ---------------------------------------------------------------------- relationships


def book(world: World, state: MarketState, idx: NDArray[np.intp], sign: int) -> None:
    """Add (sign=+1) or remove (-1) the relationships of buyers idx from the books."""
    b, w = state.buyers, world
    active = idx[b.option[idx] >= 0]
    if active.size == 0:
        return
    opt = b.option[active].astype(np.int64)
    d = b.destination[active].astype(np.int64)
    c = b.currency[active].astype(np.int64)
    budget = sign * b.budget[active]
    n_firms = len(state.firms)
    is_firm = opt < n_firms
    A, C = w.n_agent, w.n_currencies
    np.add.at(state.firm_book.reshape(-1), ((opt * A + d) * C + c)[is_firm], budget[is_firm])
    ext = opt[~is_firm] - n_firms  # = sector * R + region
    np.add.at(
        state.external_book.reshape(-1),
        (ext * A + d[~is_firm]) * C + c[~is_firm],
        budget[~is_firm],
    )
    sector = b.sector[active].astype(np.int64)
    key = ((b.origin[active].astype(np.int64) * w.n_regions + d) * w.n_sectors + sector) * C + c
    np.add.at(state.rel_count.reshape(-1), key, sign)


def blocked_currencies(
    world: World,
    state: MarketState,
    idx: NDArray[np.intp],
    origin: NDArray[np.int64],
    option: NDArray[np.int64],
    policy: Policy,
) -> NDArray[np.bool_]:
    """(n, C) currencies a buyer-supplier pair is cut off from by financial sanctions."""
    b, f = state.buyers, state.firms
    if not policy.cutoff.any():
        return np.zeros((idx.size, world.n_currencies), dtype=bool)
    blocked = b.cutoff_rank[idx, None] < policy.cutoff[b.destination[idx]]
    is_firm = option < len(f)
    firm = np.where(is_firm, option, 0)
    blocked |= is_firm[:, None] & (f.cutoff_rank[firm, None] < policy.cutoff[origin])
    return blocked


def switch_or_break(
    world: World, state: MarketState, month: int, policy: Policy, cur_w: F64, keys: dict[str, int]
) -> None:
    """Relationships that a policy made impossible: switch currency, or end.

    An embargoed relationship ends (the buyer chooses again). A relationship whose currency
    is closed to it (a party cut off, or the currency withdrawn from the route) keeps its
    supplier and re-draws its currency from the logit restricted to the currencies still
    open to both parties (common random numbers from the "switch" stream); its budget moves
    to the new currency on the books. It ends only when no currency is open to the pair.
    The loop over buyers is `choice.switch_buyers` (compiled); the budgets of relationships
    that switched are added to `state.switched` at their new currency (payments.py books
    their switching cost).
    """
    if not policy.blocks_relationships and not ((cur_w <= 0.0) & (state.rel_count > 0)).any():
        return  # no embargo or cut-off, and every currency in use still open: nobody switches
    b = state.buyers
    for idx in _buyer_chunks(b.option, lambda option: option >= 0):
        _switch_chunk(idx, world, state, month, policy, cur_w, keys)


def _switch_chunk(
    idx: NDArray[np.intp],
    world: World,
    state: MarketState,
    month: int,
    policy: Policy,
    cur_w: F64,
    keys: dict[str, int],
) -> None:
    b = state.buyers
    choice.switch_buyers(
        idx,
        choice.month_offset(keys["switch"], month),
        month,
        b.destination,
        b.sector,
        b.budget,
        b.cutoff_rank,
        b.option,
        b.origin,
        b.currency,
        b.end_month,
        state.firms.cutoff_rank,
        policy.embargo,
        _barred(world, policy),
        cur_w,
        policy.cutoff,
        state.firm_book,
        state.external_book,
        state.rel_count,
        state.switched,
    )


def renew(
    world: World,
    state: MarketState,
    keys: dict[str, int],
    month: int,
    firm_w: F64,
    ext_w: F64,
    cur_w: F64,
    policy: Policy,
) -> None:
    """Buyers whose relationship ends this month choose a supplier and a currency.

    What every buyer of a (destination, sector) group sees is summed here once (each
    origin's total weight W_o and its firms' cumulative weights); the loop over the
    renewing buyers is `choice.renew_buyers` (compiled), which allocates nothing per buyer,
    so the month when every buyer renews at once needs no more memory than another.
    """
    w, b, f = world, state.buyers, state.firms
    chunks = _buyer_chunks(b.end_month, lambda end_month: end_month == month)
    idx = next(chunks, None)
    if idx is None:
        return
    A, S, R = w.n_agent, w.n_sectors, w.n_regions
    firm_blocks = firm_w[:A].reshape(A, S, A, f.per_group)  # (D, S, O, firms of o and s)
    totals = np.empty((A, S, R))
    totals[:, :, :A] = firm_blocks.sum(axis=3)
    totals[:, :, A:] = ext_w[:A, A:, :].transpose(0, 2, 1)
    choice_params = w.params.currency_choice
    # log(1 - hazard) per sector (spot commodities renew often); 0: relationships of one month.
    log_keep = np.array([0.0 if h >= 1.0 else math.log1p(-h) for h in 1.0 / w.renewal_months])
    offsets = np.array([choice.month_offset(keys[k], month) for k in _RENEW_STREAMS])
    barred = np.ascontiguousarray(_barred(w, policy).transpose(0, 2, 1))  # (D, S, O)
    cum = np.cumsum(firm_blocks, axis=3)
    guide = choice.guide_tables(cum.reshape(-1, f.per_group)).reshape(cum.shape)
    # Incumbency: keeping the current currency saves the switching cost.
    bonus = math.exp(choice_params.cost_sensitivity * choice_params.switching_cost)
    while idx is not None:
        choice.renew_buyers(
            idx,
            offsets,
            month,
            b.destination,
            b.sector,
            b.budget,
            b.cutoff_rank,
            b.option,
            b.origin,
            b.currency,
            b.end_month,
            f.origin,
            f.cutoff_rank,
            barred,
            totals,
            cum,
            guide,
            cur_w,
            bonus,
            policy.cutoff,
            log_keep,
            state.firm_book,
            state.external_book,
            state.rel_count,
        )
        idx = next(chunks, None)


_RENEW_STREAMS = ("origin", "firm", "currency", "duration")

# Buyers are scanned in pieces of this many: the index of a piece's chosen buyers (8 bytes
# each) and its mask (1 byte each) then stay below 0.15 MB however large the population,
# instead of 9 bytes per buyer in the month when every buyer renews (the month-0 peak,
# issue 16). A full piece's work (about 2 ms) dwarfs a compiled call's overhead (~10 us).
_CHUNK = 1 << 14


def _buyer_chunks(
    values: NDArray[Any], select: Callable[[NDArray[Any]], NDArray[np.bool_]]
) -> Iterator[NDArray[np.intp]]:
    """Indices of the buyers whose `values` pass `select`, piece by piece (non-empty pieces
    only). A buyer's choices depend only on its own draws and the books are exact integer
    sums, so pieces give the same run as one call (tests/test_choice.py)."""
    for lo in range(0, values.size, _CHUNK):
        idx = np.flatnonzero(select(values[lo : lo + _CHUNK]))
        if idx.size:
            idx += lo
            yield idx


def _barred(world: World, policy: Policy) -> F64:
    """(D, O, S) share of each route's buyers barred by partial embargoes (zeros if none):
    a buyer whose rank is below it cannot trade on the route."""
    if policy.barred is None:
        return np.zeros((world.n_regions, world.n_regions, world.n_sectors))
    return np.asarray(policy.barred, dtype=np.float64)


# ---------------------------------------------------------------------- the month


def market_month(
    world: World,
    state: MarketState,
    policy: Policy,
    month: int,
    keys: dict[str, int],
    *,
    policy_changed: bool,
) -> MonthOutcome:
    """One month of the goods market; `policy_changed` says whether a shock moved."""
    w, f = world, state.firms
    row = month + w.burn_in
    A, R, S = w.n_agent, w.n_regions, w.n_sectors
    policy = withdrawn_price(w, policy)  # world prices of commodities barred from markets
    firm_price, external_price = supplier_prices(w, f, row, policy)
    price_index = origin_price_index(w, f, firm_price, external_price) / state.base_price_index
    policy = apply_price_caps(w, policy, price_index * w.unit_price[None, :])
    alpha = supply_alpha(w, row, state.alpha)  # export availability: seasons, production
    firm_w, ext_w = choice_weights(w, f, alpha, policy, firm_price, external_price)
    firm_w, ext_w = apply_settlement_prices(
        w, f, settlement_prices(w, state, policy), firm_w, ext_w
    )
    spend = spend_factor(w, row, policy)
    limits = policy.route_capacity is not None and bool(np.isfinite(policy.route_capacity).any())
    if limits:
        assert policy.route_capacity is not None
        unit_price = price_index * w.unit_price[None, :]  # (O, S) USD per unit
        cap_units = policy.route_capacity / 12.0  # units a month
        cap_value = cap_units * unit_price[:, None, :]
        firm_w, ext_w = limit_route_weights(w, f, firm_w, ext_w, spend, cap_value)
    cur_w = currency_weights(w, policy, state.network_share, state.market_share)
    state.switched = np.zeros((R, R, S, w.n_currencies))
    if policy.blocks_relationships or policy_changed:
        switch_or_break(w, state, month, policy, cur_w, keys)
    renew(w, state, keys, month, firm_w, ext_w, cur_w, policy)

    # Currency shares of aggregate flows, given that the flow settles: the share of pairs
    # that cannot settle at all is already out of the choice weights (settlement_prices).
    agg_share = aggregate_currency_shares(w, policy, cur_w)  # (O, D, S, C)
    settleable = agg_share.sum(axis=3, keepdims=True)
    agg_share = np.divide(agg_share, settleable, out=np.zeros_like(agg_share), where=settleable > 0)
    to_agents = state.firm_book * f.by_origin_sector(spend[:A]).T[:, :, None]
    totals = _sector_totals(w, firm_w, ext_w)  # of the month's final weights
    to_external = _firm_demand(w, f, firm_w, totals, spend, range(A, R))
    if limits:
        # Ration routes whose orders exceed what they carry: scaling the route's spend factor
        # keeps every flow and the exporter-side books consistent.
        ordered = route_values(
            w,
            f,
            to_agents,
            to_external,
            state.external_book,
            spend,
            _ext_value(w, ext_w, totals, spend),
        )
        with np.errstate(divide="ignore", invalid="ignore"):
            units = ordered / unit_price[:, None, :]
        ratio = route_ratio(units, cap_units)
        if (ratio < 1.0).any():
            spend = spend * ratio.transpose(1, 0, 2)
            to_agents = state.firm_book * f.by_origin_sector(spend[:A]).T[:, :, None]
            to_external = _firm_demand(w, f, firm_w, totals, spend, range(A, R))

    # Capacity: ration firms whose orders exceed what they can ship, then move prices.
    units = (sum_last(to_agents, 2) + sum_last(to_external)) / firm_price
    demand = np.broadcast_to(w.demand[row, :A, None], (A, S))
    capacity = f.base_capacity * f.by_origin_sector(demand) * f.by_origin_sector(policy.capacity)
    capacity = capacity * capacity_factor(w, f, row)
    ratio = np.divide(capacity, units, out=np.ones_like(units), where=units > capacity)
    if (ratio < 1.0).any():
        to_agents *= ratio[:, None, None]
        to_external *= ratio[:, None]
    if w.params.capacity_headroom is not None and w.params.price_adjustment > 0:
        use = np.divide(units * ratio, capacity, out=np.zeros_like(units), where=capacity > 0)
        f.price_adjustment = adjust_prices(
            f.price_adjustment,
            use,
            1.0 / w.params.capacity_headroom,
            w.params.price_adjustment,
            1.0 / w.params.markup,
        )

    if w.params.discount_speed > 0:
        # Exporters who lost markets to embargoes or a price cap cut prices toward cost.
        new = update_discount(state.discount, discount_target(w, policy), w.params.discount_speed)
        if not np.array_equal(new, state.discount):
            step = f.by_origin_sector(new / state.discount)
            f.price_adjustment = np.clip(
                f.price_adjustment * step, 1.0 / w.params.markup, w.params.markup
            )
            state.discount = new

    flows = np.zeros((R, R, S, w.n_currencies))
    per = f.per_group
    flows[:A, :A] = to_agents.reshape(S, A, per, A, -1).sum(axis=2).transpose(1, 2, 0, 3)
    flows[A:, :A] = (
        state.external_book[:, A:] * spend[:A].transpose(2, 1, 0)[:, A:, :, None]
    ).transpose(1, 2, 0, 3)
    ext_value = _ext_value(w, ext_w, totals, spend)
    if R > A:
        by_origin = to_external.reshape(S, A, per, R - A).sum(axis=2)  # (S, A, E)
        flows[:A, A:] = by_origin.transpose(1, 2, 0)[..., None] * agg_share[:A, A:]
        flows[A:, A:] = ext_value[A:, A:].transpose(1, 0, 2)[..., None] * agg_share[A:, A:]

    exports = _exporter_side_sales(w, state, to_agents, to_external, ext_value, spend)

    route_value = flows.sum(axis=2)
    total = route_value.sum(axis=2, keepdims=True)
    state.network_share = np.where(
        total > 0, route_value / np.where(total > 0, total, 1.0), state.network_share
    )
    imports = np.where(np.eye(R, dtype=bool)[:, :, None, None], 0.0, flows).sum(axis=0)
    market_total = imports.sum(axis=2, keepdims=True)  # (D, S, 1)
    state.market_share = np.where(
        market_total > 0,
        imports / np.where(market_total > 0, market_total, 1.0),
        state.market_share,
    )
    sigma = w.elasticity_domestic[None, :]  # the top of the nest: V_D + V_M ~ P^(1 - sigma_D)
    return MonthOutcome(
        flows=flows,
        exports=exports,
        price_index=price_index,
        buyer_price_index=np.where(totals > 0, totals, np.nan) ** (1.0 / (1.0 - sigma)),
        switching_cost=switching_cost_usd(w, state.switched * spend.transpose(1, 0, 2)[..., None]),
    )


def _ext_value(world: World, ext_w: F64, totals: F64, spend: F64) -> F64:
    """(D, O, S) expected value bought from external origins' supply (totals:
    `_sector_totals`)."""
    out = np.divide(
        ext_w, totals[:, None, :], out=np.zeros_like(ext_w), where=totals[:, None, :] > 0
    )
    out *= world.absorption_usd[:, None, :] * spend
    return out


def _exporter_side_sales(
    world: World,
    state: MarketState,
    to_agents: F64,
    to_external: F64,
    ext_value: F64,
    spend: F64,
) -> F64:
    """(O, S) sales abroad, summed from each supplier's own sales rather than from the
    route flows, so that exports = imports is a check of the flow bookkeeping."""
    w, f = world, state.firms
    A, S = w.n_agent, w.n_sectors
    out = np.zeros((w.n_regions, S))
    foreign = f.origin[:, None] != np.arange(A)[None, :]
    firm_sales = sum_last(sum_last(to_agents) * foreign) + sum_last(to_external)
    out[:A] = firm_sales.reshape(S, A, f.per_group).sum(axis=2).T
    if w.n_regions > A:
        to_buyers = state.external_book[:, A:] * spend[:A].transpose(2, 1, 0)[:, A:, :, None]
        abroad = ext_value[A:, A:].copy()  # (D_e, O_e, S)
        abroad[np.arange(w.n_regions - A), np.arange(w.n_regions - A)] = 0.0
        out[A:] = to_buyers.sum(axis=(2, 3)).T + abroad.sum(axis=0)
    return out


def route_records(policy: Policy, flows: F64) -> tuple[F64, F64, F64]:
    """(O, D, S) tariff rate, delivered-price wedge and tariff revenue of a month."""
    tariff_rate = policy.tariff.transpose(1, 0, 2)
    return tariff_rate, route_wedge(policy).transpose(1, 0, 2), flows.sum(axis=3) * tariff_rate
