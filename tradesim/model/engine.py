"""The simpy processes that drive a run: a thin layer that schedules the kernels.

State lives in plain objects (`state.MarketState`, `state.Ledger`); the month's work is done
by the pure numpy functions of `kernels`, for all agents at once.

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
from tradesim.model import kernels
from tradesim.model._random import Streams
from tradesim.model.agents import make_buyers, make_firms
from tradesim.model.payments import receiver_rate
from tradesim.model.policy import (
    Policy,
    canonical_order,
    compile_policy,
    shock_change_months,
    shock_intensity,
    varies_by_month,
)
from tradesim.model.state import FLOW_FIELDS, STOCK_FIELDS, Ledger, MarketState
from tradesim.model.world import World, build_world
from tradesim.scenario import Scenario

__all__ = ["FLOW_FIELDS", "STOCK_FIELDS", "RawRun", "run_engine"]

F64 = NDArray[np.float64]

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
    outlay: F64  # (T, O, D, S) buyers' outlay: customs value x (1 + tariff) x (1 + secondary)
    per_usd: F64  # (T, C)
    demand: F64  # (T, R)
    world_price: F64  # (T, S)
    timings: dict[str, float] = field(default_factory=dict)
    n_agents: int = 0


class _Run:
    """The simpy side of one simulation: processes that schedule the kernels.

    State lives in `MarketState` (agents and books) and `Ledger` (what is recorded); the
    work of each month is `kernels.market_month`. The processes only decide when.
    """

    def __init__(self, scenario: Scenario, world: World, streams: Streams, check: bool):
        self.world = w = world
        self.check = check
        self.shocks = canonical_order(scenario.shocks)
        self.intensity = np.zeros(len(self.shocks))
        self._last_intensity = self.intensity.copy()
        firms = make_firms(w, scenario.population.firms_per_sector, streams.generator("firms"))
        buyers = make_buyers(w, scenario.population.buyers(w.sectors), streams.generator("buyers"))
        self.keys = {name: streams.key(name) for name in kernels.RANDOM_STREAMS}
        self.state = MarketState.empty_books(w, firms, buyers)
        self.ledger = Ledger.for_world(w)
        self.flows, self.stocks = self.ledger.flows, self.ledger.stocks
        self._monthly = [varies_by_month(shock) for shock in self.shocks]
        self._policy_cache: tuple[tuple[object, ...], Policy] | None = None
        self._policy_month: int | None = None  # the month _policy_cache was last checked in
        # Cut-off shares in force when each cohort shipped: only parties cut off later
        # have payments in flight in a currency they lost.
        self._cut_at_ship: dict[int, tuple[F64, F64]] = {}
        kernels.init_market(w, self.state, compile_policy(w, [], [], 0))
        self.kernel_seconds = 0.0

    def policy(self, month: int) -> Policy:
        """The policy in force in `month`, compiled again only when it can have changed: an
        intensity moved, or an active shock varies by month (`varies_by_month`).
        Intensities move at whole months only, before anything else in the month asks."""
        if self._policy_month == month and self._policy_cache is not None:
            return self._policy_cache[1]
        self._policy_month = month
        active = self.intensity > 0.0
        monthly = any(m for m, on in zip(self._monthly, active, strict=True) if on)
        key = (*self.intensity.tolist(), month if monthly else None)
        if self._policy_cache is None or self._policy_cache[0] != key:
            self._policy_cache = (
                key,
                compile_policy(self.world, self.shocks, self.intensity, month),
            )
        return self._policy_cache[1]

    def step(self, month: int) -> F64:
        """One month of the market, recorded; returns shipped value (O, D, S, C) in USD."""
        w, led = self.world, self.ledger
        row = month + w.burn_in
        policy = self.policy(month)
        changed = not np.array_equal(self.intensity, self._last_intensity)
        self._last_intensity = self.intensity.copy()
        out = kernels.market_month(w, self.state, policy, month, self.keys, policy_changed=changed)
        led.tariff_rate[row], led.price_wedge[row], led.tariff_revenue[row] = kernels.route_records(
            policy, out.flows
        )
        led.exports[row] = out.exports
        led.price_index[row] = out.price_index
        led.buyer_price_index[row] = out.buyer_price_index
        paid = (1.0 + policy.tariff) * (1.0 + policy.secondary_cost.T[:, :, None])  # (D, O, S)
        led.outlay[row] = out.flows.sum(axis=3) * paid.transpose(1, 0, 2)
        led.per_usd[row] = w.per_usd[row] * policy.per_usd
        led.flows["shipped"][row] = out.flows
        if out.switching_cost is not None and (
            out.switching_cost.any() or led.flows["switching_cost"].flags.writeable
        ):  # an array of zeros until the first switching cost (Ledger.writable)
            led.writable("switching_cost")[row] = out.switching_cost
        return out.flows

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
                    cohort_id = self.ledger.open_cohort(cohort)
                    pol = self.policy(month)
                    self._cut_at_ship[cohort_id] = (pol.inflight_freeze, pol.payment_delay)
                    env.process(self.shipment(env, cohort_id, int(L)))
            self.kernel_seconds += time.perf_counter() - t0
            yield env.timeout(1)

    def shipment(
        self, env: simpy.Environment, cohort_id: int, lead: int
    ) -> Generator[simpy.Event, Any, None]:
        """A cohort travels `lead` months, then waits the payment lag to be paid or frozen."""
        if lead:
            yield env.timeout(lead)
        t0 = time.perf_counter()
        self.ledger.deliver(cohort_id, math.floor(env.now) + self.world.burn_in)
        self.kernel_seconds += time.perf_counter() - t0
        lag = self.world.params.payment_lag_months
        if lag:
            yield env.timeout(lag)
        t0 = time.perf_counter()
        month = math.floor(env.now)
        policy = self.policy(month)
        freeze, delay = kernels.in_flight_shares(policy, *self._cut_at_ship.pop(cohort_id))
        row = month + self.world.burn_in
        wait_cost = policy.delay_months * receiver_rate(self.world, row) / 12.0
        waiting = self.ledger.settle(cohort_id, row, freeze, delay, wait_cost)
        self.kernel_seconds += time.perf_counter() - t0
        if waiting is not None:
            env.process(self.rerouted(env, waiting, policy.delay_months))

    def rerouted(
        self, env: simpy.Environment, cohort_id: int, delay: int
    ) -> Generator[simpy.Event, Any, None]:
        """A payment delayed by a cut-off is re-routed through an open currency and paid
        `delay` months later; it stays in `pending` meanwhile."""
        yield env.timeout(delay)
        month = math.floor(env.now)
        zero = np.zeros_like(self.policy(month).freeze)
        self.ledger.settle(cohort_id, month + self.world.burn_in, zero)

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
            self.ledger.record_stocks(row, self.state.rel_count)
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
    scenario: Scenario,
    seed: int | np.random.SeedSequence | Streams | None = None,
    *,
    check: bool = False,
) -> RawRun:
    """Run one simulation of `scenario` and return its raw arrays.

    `seed` may be a ready `Streams` (benchmarks/noise.py passes one whose streams have
    different seeds, to attribute run-to-run variance to one source of randomness)."""
    world = build_world(scenario)
    if isinstance(seed, Streams):
        streams = seed
    else:
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
    led = run.ledger
    return RawRun(
        world=world,
        flows=led.flows,
        stocks=led.stocks,
        relationships=led.relationships,
        tariff_revenue=led.tariff_revenue,
        tariff_rate=led.tariff_rate,
        price_wedge=led.price_wedge,
        exports=led.exports,
        price_index=led.price_index,
        buyer_price_index=led.buyer_price_index,
        outlay=led.outlay,
        per_usd=led.per_usd,
        demand=world.demand,
        world_price=world.world_price,
        timings={
            "setup_seconds": t1 - t0,
            "run_seconds": t2 - t1,
            "kernel_seconds": run.kernel_seconds,
        },
        n_agents=len(run.state.firms) + len(run.state.buyers),
    )
