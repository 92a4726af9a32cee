"""The mutable state of one run, as plain objects the kernels take and return.

`MarketState` is what the goods market and currency choice carry from month to month
(agents, the running books of active relationships, last month's currency shares).
`Ledger` is what the run records: month-by-month flows and stocks, and the cohorts of
shipments and payments still open. Neither knows about simpy; the engine schedules the
kernels of `tradesim.model.kernels` that read and update them.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tradesim.model.agents import Buyers, Firms
from tradesim.model.world import World

__all__ = ["FLOW_FIELDS", "STOCK_FIELDS", "Ledger", "MarketState"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]

FLOW_FIELDS = ("shipped", "delivered", "settled", "frozen", "financing_cost", "switching_cost")
STOCK_FIELDS = ("in_transit", "pending", "frozen_stock")
# Stay zero unless a sanction freezes, delays or forces a switch of payments: allocated on
# first write (they were 16 of the 91 B/agent month-0 peak at 100k agents, issue 16).
LAZY_FIELDS = ("frozen", "financing_cost", "switching_cost", "frozen_stock")


def _zeros_until_written(shape: tuple[int, ...]) -> F64:
    """A read-only all-zero array that holds no memory (every stride 0); `Ledger.writable`
    swaps it for a real array before the first write, and a stray in-place write raises."""
    return np.broadcast_to(np.zeros(()), shape)


@dataclass
class MarketState:
    """Agents and the books of their active relationships.

    The books are exact integer sums of the base budgets of active relationships, kept
    up to date as relationships start and end, so a month's orders never need a pass over
    all buyers.
    """

    firms: Firms
    buyers: Buyers
    firm_book: I64  # (n_firms, A, C) budgets of buyers in d settling in c with firm j
    external_book: I64  # (S, R, A, C) budgets with external region r's supply
    rel_count: I64  # (R, R, S, C) active relationships by route, sector and currency
    network_share: F64  # (O, D, C) last month's currency value shares on each route
    market_share: F64  # (D, S, C) last month's currency shares of d's imports by sector
    base_settlement: F64  # (O, D, S) settlement weight factor under the base policy
    alpha: F64  # (D, O, S) taste weights fixed at base-year prices
    base_price_index: F64  # (O, S) each origin's supplier price index at month 0
    discount: F64 = field(default_factory=lambda: np.ones((0, 0)))  # (O, S) market-loss factor
    # (O, D, S, C) base budgets of relationships that changed currency this month
    switched: F64 = field(default_factory=lambda: np.zeros((0, 0, 0, 0)))

    @classmethod
    def empty_books(cls, world: World, firms: Firms, buyers: Buyers) -> MarketState:
        R, S, C, A = world.n_regions, world.n_sectors, world.n_currencies, world.n_agent
        return cls(
            firms=firms,
            buyers=buyers,
            firm_book=np.zeros((len(firms), A, C), dtype=np.int64),
            external_book=np.zeros((S, R, A, C), dtype=np.int64),
            rel_count=np.zeros((R, R, S, C), dtype=np.int64),
            network_share=np.zeros((R, R, C)),
            market_share=np.zeros((R, S, C)),
            base_settlement=np.ones((R, R, S)),
            alpha=np.zeros((R, R, S)),
            base_price_index=np.ones((R, S)),
        )


@dataclass
class Ledger:
    """Everything a run records, one row per simulated month (burn-in rows included).

    Shipments in transit and deliveries awaiting payment are cohorts keyed by a serial
    number; the stocks are their sums, so they are never negative and never drift.
    """

    flows: dict[str, F64]  # (T, O, D, S, C) USD in the month
    stocks: dict[str, F64]  # (T, O, D, S, C) USD at month end
    relationships: I64  # (T, O, D, S, C)
    tariff_revenue: F64  # (T, O, D, S)
    tariff_rate: F64  # (T, O, D, S)
    price_wedge: F64  # (T, O, D, S)
    exports: F64  # (T, O, S)
    price_index: F64  # (T, O, S)
    buyer_price_index: F64  # (T, D, S)
    outlay: F64  # (T, O, D, S) what buyers pay: customs value, tariff, secondary cost
    per_usd: F64  # (T, C)
    frozen_total: F64  # (O, D, S, C) frozen so far
    in_transit: dict[int, F64] = field(default_factory=dict)
    pending: dict[int, F64] = field(default_factory=dict)
    next_cohort: int = 0

    @classmethod
    def for_world(cls, world: World) -> Ledger:
        R, S, C = world.n_regions, world.n_sectors, world.n_currencies
        T = world.burn_in + world.n_months
        return cls(
            flows={
                f: _zeros_until_written((T, R, R, S, C))
                if f in LAZY_FIELDS
                else np.zeros((T, R, R, S, C))
                for f in FLOW_FIELDS
            },
            stocks={
                f: _zeros_until_written((T, R, R, S, C))
                if f in LAZY_FIELDS
                else np.zeros((T, R, R, S, C))
                for f in STOCK_FIELDS
            },
            relationships=np.zeros((T, R, R, S, C), dtype=np.int64),
            tariff_revenue=np.zeros((T, R, R, S)),
            tariff_rate=np.zeros((T, R, R, S)),
            price_wedge=np.zeros((T, R, R, S)),
            exports=np.zeros((T, R, S)),
            price_index=np.zeros((T, R, S)),
            buyer_price_index=np.zeros((T, R, S)),
            outlay=np.zeros((T, R, R, S)),
            per_usd=np.zeros((T, C)),
            frozen_total=np.zeros((R, R, S, C)),
        )

    def writable(self, name: str) -> F64:
        """The flow or stock array `name`, allocated (zeros) if it was not yet written."""
        table = self.flows if name in self.flows else self.stocks
        if not table[name].flags.writeable:
            table[name] = np.zeros(table[name].shape)
        return table[name]

    def open_cohort(self, cohort: F64) -> int:
        """Put a shipment cohort in transit; returns its id."""
        self.next_cohort += 1
        self.in_transit[self.next_cohort] = cohort
        return self.next_cohort

    def deliver(self, cohort_id: int, row: int) -> F64:
        """Move a cohort from transit to awaiting payment."""
        cohort = self.in_transit.pop(cohort_id)
        self.flows["delivered"][row] += cohort
        self.pending[cohort_id] = cohort
        return cohort

    def settle(
        self,
        cohort_id: int,
        row: int,
        freeze: F64,
        delay: F64 | None = None,
        wait_cost: F64 | None = None,
    ) -> int | None:
        """Pay a delivered cohort; the share `freeze` (O, D, C) of it is frozen instead, and
        the share `delay` of the rest stays pending as a new cohort (returned, or None):
        payments in flight of parties cut off from their currency wait to be re-routed, held
        payments wait to be released. `wait_cost` (O,) is what waiting costs the receiver
        per USD (months x its rate / 12), booked as `financing_cost` when the wait starts;
        it is a cost beside the payment, which stays whole on the books."""
        cohort = self.pending.pop(cohort_id)
        rest = cohort
        if freeze.any():  # else nothing is frozen: cohort - 0 * cohort is cohort, bit for bit
            frozen = cohort * freeze[:, :, None, :]
            rest = cohort - frozen
            self.writable("frozen")[row] += frozen
            self.frozen_total += frozen
        waiting_id = None
        if delay is not None and delay.any():
            waiting = rest * delay[:, :, None, :]
            rest = rest - waiting
            if waiting.any():
                if wait_cost is not None:
                    self.writable("financing_cost")[row] += waiting * wait_cost[:, None, None, None]
                self.next_cohort += 1
                waiting_id = self.next_cohort
                self.pending[waiting_id] = waiting
        self.flows["settled"][row] += rest
        return waiting_id

    def record_stocks(self, row: int, rel_count: I64) -> None:
        self.stocks["in_transit"][row] = sum(self.in_transit.values(), np.zeros(()))
        self.stocks["pending"][row] = sum(self.pending.values(), np.zeros(()))
        if self.frozen_total.any() or self.stocks["frozen_stock"].flags.writeable:
            self.writable("frozen_stock")[row] = self.frozen_total
        self.relationships[row] = rel_count
