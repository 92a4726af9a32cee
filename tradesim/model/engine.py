"""The simpy processes that drive a run; numpy kernels do the work for all agents at once.

Within month k (simulated time runs in months, burn-in months are negative):
- at k + 0.00 each shock process sets its intensity (start, ramp steps, end);
- at k + 0.50 the market process renews relationships, prices and ships orders, and starts
  one shipment process per distinct lead time, carrying the whole cohort array
  (origin x destination x sector x currency); shipments and payments land at k' + 0.50;
- at k + 0.75 the recorder takes the month's stocks.
simpy events therefore grow with months, shocks and lead times, never with agents.
"""

from __future__ import annotations

import math
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import simpy
from numpy.typing import NDArray

from tradesim.errors import SimulationError
from tradesim.model._random import Streams
from tradesim.model.agents import NO_SUPPLIER, Buyers, Firms, make_buyers, make_firms
from tradesim.model.market import (
    adjust_prices,
    choice_weights,
    draw_options,
    fx_factor,
    preference_weights,
    price_level,
    route_wedge,
    supplier_prices,
)
from tradesim.model.policy import (
    Policy,
    canonical_order,
    compile_policy,
    shock_change_months,
    shock_intensity,
)
from tradesim.model.settlement import aggregate_currency_shares, currency_weights, draw_currencies
from tradesim.model.world import World, build_world
from tradesim.scenario import Scenario

__all__ = ["RawRun", "run_engine"]

F64 = NDArray[np.float64]

FLOW_FIELDS = ("shipped", "delivered", "settled", "frozen")
STOCK_FIELDS = ("in_transit", "pending", "frozen_stock")
_MARKET_AT, _RECORD_AT = 0.5, 0.75


@dataclass
class RawRun:
    """Arrays of one run, one row per simulated month (burn-in rows included)."""

    world: World
    flows: dict[str, F64]  # (T, O, D, S, C) USD in the month
    stocks: dict[str, F64]  # (T, O, D, S, C) USD at month end
    relationships: NDArray[np.int64]  # (T, O, D, S, C) active relationships at month end
    tariff_revenue: F64  # (T, O, D, S)
    tariff_rate: F64  # (T, O, D, S)
    price_wedge: F64  # (T, O, D, S) trade cost x (1 + tariff) x (1 + secondary cost)
    exports: F64  # (T, O, S) sales abroad, summed over each origin's suppliers (exporter side)
    price_index: F64  # (T, O, S) suppliers' USD price index
    buyer_price_index: F64  # (T, D, S) CES index of delivered prices, 1 in the base year
    per_usd: F64  # (T, C)
    demand: F64  # (T, R)
    world_price: F64  # (T, S)
    timings: dict[str, float] = field(default_factory=dict)
    n_agents: int = 0


class _Run:
    """State and processes of one simulation."""

    def __init__(self, scenario: Scenario, world: World, streams: Streams, check: bool):
        self.world = w = world
        self.check = check
        self.shocks = canonical_order(scenario.shocks)
        self.intensity = np.zeros(len(self.shocks))
        self._last_intensity = self.intensity.copy()
        self.firms: Firms = make_firms(
            w, scenario.population.firms_per_sector, streams.generator("firms")
        )
        self.buyers: Buyers = make_buyers(
            w, scenario.population.buyers_per_sector, streams.generator("buyers")
        )
        self.keys = {name: streams.key(name) for name in ("origin", "firm", "currency", "duration")}
        R, S, C, A = w.n_regions, w.n_sectors, w.n_currencies, w.n_agent
        T = w.burn_in + w.n_months
        n_firms = len(self.firms)

        # Running budget books (exact integer sums) of active relationships.
        self.firm_book = np.zeros((n_firms, A, C), dtype=np.int64)
        self.external_book = np.zeros((S, R, A, C), dtype=np.int64)
        self.rel_count = np.zeros((R, R, S, C), dtype=np.int64)

        self.flows = {f: np.zeros((T, R, R, S, C)) for f in FLOW_FIELDS}
        self.stocks = {f: np.zeros((T, R, R, S, C)) for f in STOCK_FIELDS}
        # Cohorts on the way and awaiting payment, keyed by a serial number; stocks are their
        # sums, so they are never negative and never drift.
        self.in_transit: dict[int, F64] = {}
        self.pending: dict[int, F64] = {}
        self.frozen_total = np.zeros((R, R, S, C))
        self._next_cohort = 0
        self.relationships = np.zeros((T, R, R, S, C), dtype=np.int64)
        self.tariff_revenue = np.zeros((T, R, R, S))
        self.tariff_rate = np.zeros((T, R, R, S))
        self.price_wedge = np.zeros((T, R, R, S))
        self.exports = np.zeros((T, R, S))
        self.price_index = np.zeros((T, R, S))
        self.buyer_price_index = np.zeros((T, R, S))
        self.per_usd = np.zeros((T, C))

        self._policy_cache: tuple[int, Policy] | None = None
        base = compile_policy(w, [], [], 0)
        firm_price, external_price = supplier_prices(w, self.firms, w.burn_in, base)
        self.alpha = preference_weights(w, self.firms, firm_price, external_price)
        self.base_price_index = self._origin_price_index(firm_price, external_price)
        self.network_share = self._initial_network_share(base)
        self._set_capacity(base, firm_price, external_price)
        self.kernel_seconds = 0.0

    # ------------------------------------------------------------------ set-up helpers

    def _initial_network_share(self, policy: Policy) -> F64:
        w = self.world
        open_ = (
            currency_weights(w, policy, np.zeros((w.n_regions, w.n_regions, w.n_currencies))) > 0
        )
        share = np.where(open_, w.initial_currency_shares[None, None, :], 0.0)
        total = share.sum(axis=2, keepdims=True)
        fallback = open_ / np.maximum(open_.sum(axis=2, keepdims=True), 1)
        return np.where(total > 0, share / np.where(total > 0, total, 1.0), fallback)

    def _set_capacity(self, policy: Policy, firm_price: F64, external_price: F64) -> None:
        """Capacity = headroom x expected base-year sales in units (None: unlimited)."""
        headroom = self.world.params.capacity_headroom
        if headroom is None:
            return
        firm_w, ext_w = choice_weights(
            self.world, self.firms, self.alpha, policy, firm_price, external_price
        )
        spend = self._spend_factor(self.world.burn_in, policy)
        value = self._firm_demand(firm_w, ext_w, spend, range(self.world.n_regions))
        self.firms.base_capacity = headroom * value.sum(axis=1) / firm_price

    # ------------------------------------------------------------------ kernels

    def policy(self, month: int) -> Policy:
        if self._policy_cache is None or self._policy_cache[0] != month:
            self._policy_cache = (
                month,
                compile_policy(self.world, self.shocks, self.intensity, month),
            )
        return self._policy_cache[1]

    def _spend_factor(self, row: int, policy: Policy) -> F64:
        """(D, O, S) customs value per USD of base budget: demand, FX, prices, tariffs."""
        w = self.world
        budget = (
            (w.demand[row] * policy.demand)[:, None]
            * fx_factor(w, row, policy, w.params.fx_budget_elasticity)[:, None]
            * price_level(w, row, policy)[None, :] ** (1.0 - w.demand_price_elasticity)[None, :]
        )
        wedge = (1.0 + policy.tariff) * (1.0 + policy.secondary_cost.T[:, :, None])
        return budget[:, None, :] / wedge

    def _sector_totals(self, firm_w: F64, ext_w: F64) -> F64:
        """(D, S) sum of choice weights over every option of the sector."""
        S = self.world.n_sectors
        return firm_w.reshape(firm_w.shape[0], S, -1).sum(axis=2) + ext_w.sum(axis=1)

    def _firm_demand(self, firm_w: F64, ext_w: F64, spend: F64, destinations: Any) -> F64:
        """(n_firms, len(destinations)) expected value bought from each firm by aggregate
        destinations: absorption x spend factor x logit share."""
        w, f = self.world, self.firms
        totals = self._sector_totals(firm_w, ext_w)
        cols = []
        for d in destinations:
            share = np.divide(
                firm_w[d], totals[d, f.sector], out=np.zeros(len(f)), where=totals[d, f.sector] > 0
            )
            cols.append(w.absorption_usd[d, f.sector] * spend[d, f.origin, f.sector] * share)
        return np.stack(cols, axis=1) if cols else np.zeros((len(f), 0))

    def _origin_price_index(self, firm_price: F64, external_price: F64) -> F64:
        """(O, S) CES price index of each origin's suppliers."""
        w, f = self.world, self.firms
        sigma = w.elasticity
        power = (
            (firm_price ** (1.0 - sigma[f.sector])).reshape(w.n_sectors, w.n_agent, -1).mean(axis=2)
        )
        index = external_price.copy()
        index[: w.n_agent] = (power ** (1.0 / (1.0 - sigma[:, None]))).T
        return index

    def _book(self, idx: NDArray[np.intp], sign: int) -> None:
        """Add (sign=+1) or remove (-1) the relationships of buyers idx from the books."""
        b, w = self.buyers, self.world
        active = idx[b.option[idx] >= 0]
        if active.size == 0:
            return
        opt = b.option[active].astype(np.int64)
        d = b.destination[active].astype(np.int64)
        c = b.currency[active].astype(np.int64)
        budget = sign * b.budget[active]
        n_firms = len(self.firms)
        is_firm = opt < n_firms
        A, C = w.n_agent, w.n_currencies
        np.add.at(self.firm_book.reshape(-1), ((opt * A + d) * C + c)[is_firm], budget[is_firm])
        ext = opt[~is_firm] - n_firms  # = sector * R + region
        np.add.at(
            self.external_book.reshape(-1),
            (ext * A + d[~is_firm]) * C + c[~is_firm],
            budget[~is_firm],
        )
        sector = b.sector[active].astype(np.int64)
        key = ((b.origin[active].astype(np.int64) * w.n_regions + d) * w.n_sectors + sector) * C + c
        np.add.at(self.rel_count.reshape(-1), key, sign)

    def _blocked(
        self,
        idx: NDArray[np.intp],
        origin: NDArray[np.int64],
        option: NDArray[np.int64],
        policy: Policy,
    ) -> NDArray[np.bool_]:
        """(n, C) currencies a buyer-supplier pair is cut off from by financial sanctions."""
        b, f = self.buyers, self.firms
        if not policy.cutoff.any():
            return np.zeros((idx.size, self.world.n_currencies), dtype=bool)
        blocked = b.cutoff_rank[idx, None] < policy.cutoff[b.destination[idx]]
        is_firm = option < len(f)
        firm = np.where(is_firm, option, 0)
        blocked |= is_firm[:, None] & (f.cutoff_rank[firm, None] < policy.cutoff[origin])
        return blocked

    def _break_blocked(self, month: int, policy: Policy, cur_w: F64) -> None:
        """End relationships that an embargo, a currency cut-off or a currency that is no
        longer available has made impossible."""
        b = self.buyers
        idx = np.flatnonzero(b.option >= 0)
        o = b.origin[idx].astype(np.int64)
        d = b.destination[idx].astype(np.int64)
        c = b.currency[idx].astype(np.int64)
        broken = policy.embargo[d, o, b.sector[idx]] | (cur_w[o, d, c] <= 0.0)
        blocked = self._blocked(idx, o, b.option[idx].astype(np.int64), policy)
        broken |= blocked[np.arange(idx.size), c]
        b.end_month[idx[broken]] = month

    def _renew(self, month: int, firm_w: F64, ext_w: F64, cur_w: F64, policy: Policy) -> None:
        """Buyers whose relationship ends this month choose a supplier and a currency."""
        w, b, f = self.world, self.buyers, self.firms
        idx = np.flatnonzero(b.end_month == month)
        if idx.size == 0:
            return
        self._book(idx, -1)
        n_firms = len(f)
        per_sector = w.n_agent * f.per_group
        option = np.empty(idx.size, dtype=np.int32)
        R = w.n_regions
        u_firm = Streams.uniforms(self.keys["firm"], month, idx)
        bounds = np.searchsorted(idx, np.arange(w.n_agent * w.n_sectors + 1) * b.per_group)
        for g in range(w.n_agent * w.n_sectors):
            lo, hi = bounds[g], bounds[g + 1]
            if hi > lo:
                d, s = divmod(g, w.n_sectors)
                # One uniform per (buyer, origin) for the origin race, drawn per group to keep
                # temporaries small when every buyer renews (the first month).
                race_ids = (idx[lo:hi, None] * R + np.arange(R)[None, :]).ravel()
                u_origin = Streams.uniforms(self.keys["origin"], month, race_ids)
                option[lo:hi] = draw_options(
                    w, per_sector, firm_w, ext_w, d, s, u_origin.reshape(-1, R), u_firm[lo:hi]
                )
        valid = option >= 0
        opt = np.where(valid, option, 0).astype(np.int64)
        is_firm = opt < n_firms
        origin = np.where(
            is_firm, f.origin[np.minimum(opt, n_firms - 1)], (opt - n_firms) % w.n_regions
        )
        dest = b.destination[idx].astype(np.int64)
        weights = cur_w[origin, dest]
        blocked = self._blocked(idx, origin, opt, policy)
        currency = draw_currencies(
            weights, blocked, Streams.uniforms(self.keys["currency"], month, idx)
        )
        valid &= currency >= 0

        hazard = 1.0 / w.params.renewal_months
        if hazard >= 1.0:
            duration = np.ones(idx.size, dtype=np.int32)
        else:
            u_d = Streams.uniforms(self.keys["duration"], month, idx)
            duration = 1 + np.floor(np.log1p(-u_d) / math.log1p(-hazard)).astype(np.int32)
        b.option[idx] = np.where(valid, option, NO_SUPPLIER)
        b.origin[idx] = origin
        b.currency[idx] = np.maximum(currency, 0)
        b.end_month[idx] = np.where(valid, month + duration, month + 1)
        self._book(idx, +1)

    def step(self, month: int) -> F64:
        """One month of the market; returns shipped value (O, D, S, C) in USD."""
        w, f = self.world, self.firms
        row = month + w.burn_in
        A, R, S = w.n_agent, w.n_regions, w.n_sectors
        policy = self.policy(month)
        firm_price, external_price = supplier_prices(w, f, row, policy)
        firm_w, ext_w = choice_weights(w, f, self.alpha, policy, firm_price, external_price)
        cur_w = currency_weights(w, policy, self.network_share)
        if policy.blocks_relationships or not np.array_equal(self.intensity, self._last_intensity):
            self._break_blocked(month, policy, cur_w)
        self._last_intensity = self.intensity.copy()
        self._renew(month, firm_w, ext_w, cur_w, policy)

        spend = self._spend_factor(row, policy)
        agg_share = aggregate_currency_shares(w, policy, cur_w)  # (O, D, C)
        settleable = agg_share.sum(axis=2)  # (O, D): 0 where no currency is open
        to_agents = self.firm_book * spend[:A][:, f.origin, f.sector].T[:, :, None]
        to_external = self._firm_demand(firm_w, ext_w, spend, range(A, R))
        to_external *= settleable[f.origin][:, A:]

        # Capacity: ration firms whose orders exceed what they can ship, then move prices.
        units = (to_agents.sum(axis=(1, 2)) + to_external.sum(axis=1)) / firm_price
        capacity = f.base_capacity * w.demand[row, f.origin] * policy.capacity[f.origin, f.sector]
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

        flows = np.zeros((R, R, S, w.n_currencies))
        per = f.per_group
        flows[:A, :A] = to_agents.reshape(S, A, per, A, -1).sum(axis=2).transpose(1, 2, 0, 3)
        flows[A:, :A] = (
            self.external_book[:, A:] * spend[:A].transpose(2, 1, 0)[:, A:, :, None]
        ).transpose(1, 2, 0, 3)
        totals = self._sector_totals(firm_w, ext_w)
        ext_value = np.divide(
            ext_w, totals[:, None, :], out=np.zeros_like(ext_w), where=totals[:, None, :] > 0
        )
        ext_value *= w.absorption_usd[:, None, :] * spend  # (D, O, S), external origins only
        if R > A:
            by_origin = to_external.reshape(S, A, per, R - A).sum(axis=2)  # (S, A, E)
            flows[:A, A:] = by_origin.transpose(1, 2, 0)[..., None] * agg_share[:A, A:, None, :]
            flows[A:, A:] = (
                ext_value[A:, A:].transpose(1, 0, 2)[..., None] * agg_share[A:, A:, None, :]
            )

        self.exports[row] = self._exporter_side_sales(
            to_agents, to_external, ext_value, settleable, spend
        )

        route_value = flows.sum(axis=2)
        total = route_value.sum(axis=2, keepdims=True)
        self.network_share = np.where(
            total > 0, route_value / np.where(total > 0, total, 1.0), self.network_share
        )

        self.tariff_rate[row] = policy.tariff.transpose(1, 0, 2)
        self.price_wedge[row] = route_wedge(policy).transpose(1, 0, 2)
        self.tariff_revenue[row] = flows.sum(axis=3) * self.tariff_rate[row]
        self.price_index[row] = (
            self._origin_price_index(firm_price, external_price) / self.base_price_index
        )
        sigma = w.elasticity[None, :]
        self.buyer_price_index[row] = np.where(totals > 0, totals, np.nan) ** (1.0 / (1.0 - sigma))
        self.per_usd[row] = w.per_usd[row] * policy.per_usd
        self.flows["shipped"][row] = flows
        return flows

    def _exporter_side_sales(
        self, to_agents: F64, to_external: F64, ext_value: F64, settleable: F64, spend: F64
    ) -> F64:
        """(O, S) sales abroad, summed from each supplier's own sales rather than from the
        route flows, so that exports = imports is a check of the flow bookkeeping."""
        w, f = self.world, self.firms
        A, S = w.n_agent, w.n_sectors
        out = np.zeros((w.n_regions, S))
        foreign = f.origin[:, None] != np.arange(A)[None, :]
        firm_sales = (to_agents.sum(axis=2) * foreign).sum(axis=1) + to_external.sum(axis=1)
        out[:A] = firm_sales.reshape(S, A, f.per_group).sum(axis=2).T
        if w.n_regions > A:
            to_buyers = self.external_book[:, A:] * spend[:A].transpose(2, 1, 0)[:, A:, :, None]
            abroad = ext_value[A:, A:] * settleable[A:, A:].T[:, :, None]  # (D_e, O_e, S)
            abroad[np.arange(w.n_regions - A), np.arange(w.n_regions - A)] = 0.0
            out[A:] = to_buyers.sum(axis=(2, 3)).T + abroad.sum(axis=0)
        return out

    # ------------------------------------------------------------------ processes

    def market(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(_MARKET_AT)
        lead = self.world.lead_time
        leads = np.unique(lead)
        while True:
            t0 = time.perf_counter()
            month = math.floor(env.now)
            flows = self.step(month)
            for L in leads:
                cohort = flows * (lead == L)[..., None]
                if cohort.any():
                    self._next_cohort += 1
                    self.in_transit[self._next_cohort] = cohort
                    env.process(self.shipment(env, self._next_cohort, int(L)))
            self.kernel_seconds += time.perf_counter() - t0
            yield env.timeout(1)

    def shipment(
        self, env: simpy.Environment, cohort_id: int, lead: int
    ) -> Generator[simpy.Event, Any, None]:
        """A cohort travels `lead` months, then waits the payment lag to be paid or frozen."""
        if lead:
            yield env.timeout(lead)
        t0 = time.perf_counter()
        cohort = self.in_transit.pop(cohort_id)
        row = math.floor(env.now) + self.world.burn_in
        self.flows["delivered"][row] += cohort
        self.pending[cohort_id] = cohort
        self.kernel_seconds += time.perf_counter() - t0
        lag = self.world.params.payment_lag_months
        if lag:
            yield env.timeout(lag)
        t0 = time.perf_counter()
        month = math.floor(env.now)
        frozen = cohort * self.policy(month).freeze[:, :, None, :]
        row = month + self.world.burn_in
        self.flows["frozen"][row] += frozen
        self.flows["settled"][row] += cohort - frozen
        del self.pending[cohort_id]
        self.frozen_total += frozen
        self.kernel_seconds += time.perf_counter() - t0

    def shock(self, env: simpy.Environment, i: int) -> Generator[simpy.Event, Any, None]:
        """Wait for the shock's start, set its intensity as it ramps, and revert at its end."""
        shock = self.shocks[i]
        for month in shock_change_months(shock, self.world):
            yield env.timeout(month - env.now)
            self.intensity[i] = shock_intensity(shock, self.world, month)

    def recorder(self, env: simpy.Environment) -> Generator[simpy.Event, Any, None]:
        yield env.timeout(_RECORD_AT)
        while True:
            t0 = time.perf_counter()
            row = math.floor(env.now) + self.world.burn_in
            self.stocks["in_transit"][row] = sum(self.in_transit.values(), np.zeros(()))
            self.stocks["pending"][row] = sum(self.pending.values(), np.zeros(()))
            self.stocks["frozen_stock"][row] = self.frozen_total
            self.relationships[row] = self.rel_count
            if self.check:
                self._check_identities(row)
            self.kernel_seconds += time.perf_counter() - t0
            yield env.timeout(1)

    def _check_identities(self, row: int) -> None:
        """Raise SimulationError if a month breaks an accounting identity."""
        month = row - self.world.burn_in
        fl, st = self.flows, self.stocks

        def prev(name: str) -> F64:
            return st[name][row - 1] if row > 0 else np.zeros_like(st[name][row])

        identities = {
            "in_transit = previous + shipped - delivered": st["in_transit"][row]
            - (prev("in_transit") + fl["shipped"][row] - fl["delivered"][row]),
            "pending = previous + delivered - settled - frozen": st["pending"][row]
            - (prev("pending") + fl["delivered"][row] - fl["settled"][row] - fl["frozen"][row]),
            "frozen_stock = previous + frozen": st["frozen_stock"][row]
            - (prev("frozen_stock") + fl["frozen"][row]),
        }
        scale = max(1.0, float(np.abs(fl["shipped"][row]).sum()))
        for name, gap in identities.items():
            size = float(np.abs(gap).max())
            if not np.isfinite(size) or size > 1e-9 * scale:
                raise SimulationError(
                    f"month {month}: identity '{name}' violated by {size:.6g} USD"
                )
        for name, arr in {**fl, **st}.items():
            values = arr[row]
            if not np.isfinite(values).all() or (values < -1e-9 * scale).any():
                raise SimulationError(f"month {month}: {name} has a negative or non-finite value")


def run_engine(
    scenario: Scenario, seed: int | np.random.SeedSequence | None = None, *, check: bool = False
) -> RawRun:
    """Run one simulation of `scenario` and return its raw arrays."""
    world = build_world(scenario)
    streams = Streams(scenario.seed if seed is None else seed)
    t0 = time.perf_counter()
    run = _Run(scenario, world, streams, check)
    env = simpy.Environment(initial_time=-world.burn_in)
    for i in range(len(run.shocks)):
        env.process(run.shock(env, i))
    env.process(run.market(env))
    env.process(run.recorder(env))
    t1 = time.perf_counter()
    env.run(until=world.n_months)
    t2 = time.perf_counter()
    return RawRun(
        world=world,
        flows=run.flows,
        stocks=run.stocks,
        relationships=run.relationships,
        tariff_revenue=run.tariff_revenue,
        tariff_rate=run.tariff_rate,
        price_wedge=run.price_wedge,
        exports=run.exports,
        price_index=run.price_index,
        buyer_price_index=run.buyer_price_index,
        per_usd=run.per_usd,
        demand=world.demand,
        world_price=world.world_price,
        timings={
            "setup_seconds": t1 - t0,
            "run_seconds": t2 - t1,
            "kernel_seconds": run.kernel_seconds,
        },
        n_agents=len(run.firms) + len(run.buyers),
    )
