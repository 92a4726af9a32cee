"""What payment frictions cost: a late payment's financing cost and a forced currency
switch's fixed cost, as fractions of value (for choices) and in USD (for the books).

A payment that arrives `m` months late costs its receiver the interest on it meanwhile: the
exporter finances the gap (working capital, or a trade-finance line) at its home currency's
short rate `r`, so the expected cost of settling in currency c on route (o, d) is

    financing_odc = (share of payments delayed)_odc * m * r_o / 12,

which enters the currency cost of `settlement.currency_cost` beside fees, hedging and the
expected freeze loss, and through the logit's inclusive value the delivered price of supplier
choice. One rate per route (the receiver's), not each currency's own: the interest
differential between currencies is offset by expected depreciation (uncovered interest
parity), so pricing a delay at the invoice currency's rate would count as a cost of the ruble
what is compensated by its expected return. The shipped rates are the central banks' policy
rates (`tradesim/data/financing_rates.csv`), a lower bound of what firms pay.

A relationship forced off its currency (a party cut off) re-draws it and pays the switching
cost kappa (`currency_choice.switching_cost`, a fraction of value) on the value the
relationship is expected to carry until its next renewal: renewals are a Poisson process
with mean gap L (the sector's `renewal_months`), so the expected remaining life is L months
whatever its age, and the fixed cost is kappa * L * (monthly value). That is the cost the
incumbency term of the currency logit prices (a switch is worth it only if it saves more
than kappa per unit of value over the relationship). Only forced switches are booked: a
relationship that changes currency at renewal does so because the logit's idiosyncratic
term (or a cost it saves) is worth more than kappa to it, so counting kappa without that
gain would misstate welfare.
"""

from __future__ import annotations

import csv
import datetime as dt
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from numpy.typing import NDArray

if TYPE_CHECKING:
    from tradesim.model.world import World

__all__ = [
    "add_switches",
    "delay_financing",
    "rate_history",
    "receiver_rate",
    "step_rates",
    "switching_cost_usd",
]

F64 = NDArray[np.float64]
FINANCING_RATES = Path(__file__).parent.parent / "data" / "financing_rates.csv"


@lru_cache(maxsize=1)
def _history() -> dict[str, tuple[tuple[dt.date, float], ...]]:
    text = FINANCING_RATES.read_text("utf-8")
    out: dict[str, list[tuple[dt.date, float]]] = {}
    for row in csv.DictReader(text.splitlines()):
        day = dt.date.fromisoformat(row["from"])
        out.setdefault(row["currency"], []).append((day, float(row["rate_percent"]) / 100.0))
    return {c: tuple(sorted(v)) for c, v in out.items()}


def rate_history(code: str) -> tuple[tuple[dt.date, float], ...]:
    """The shipped policy-rate history of a currency: (date in force from, annual rate as a
    fraction), in date order; empty for a code not listed."""
    return _history().get(code, ())


def step_rates(history: tuple[tuple[dt.date, float], ...], days: list[dt.date]) -> F64:
    """The rate in force on each day (the last decision on or before it); before the first
    decision, the first rate; 0 without a history."""
    if not history:
        return np.zeros(len(days))
    starts = np.array([d.toordinal() for d, _ in history])
    rates = np.array([r for _, r in history])
    at = np.searchsorted(starts, [d.toordinal() for d in days], side="right") - 1
    return rates[np.maximum(at, 0)]


def receiver_rate(world: World, row: int) -> F64:
    """(O,) annual financing rate of each region's exporters in month row: the rate of its
    home currency."""
    row = min(max(row, 0), world.financing_rate.shape[0] - 1)
    return world.financing_rate[row, world.region_currency]


def delay_financing(world: World, delayed: F64, months: float, row: int) -> F64:
    """(O, D, C) expected financing cost, a fraction of value, of payments of which the share
    `delayed` (O, D, C) arrive `months` late, financed at the receiver's rate."""
    rate = receiver_rate(world, row)
    return delayed * months * rate[:, None, None] / 12.0


def switching_cost_usd(world: World, switched_value: F64) -> F64:
    """USD cost of switching relationships whose monthly value is `switched_value`
    (O, D, S, C): kappa * L_s * value, L_s the sector's mean relationship length (module
    docstring)."""
    kappa = world.params.currency_choice.switching_cost
    return kappa * world.renewal_months[None, None, :, None] * switched_value


def add_switches(
    switched: F64,
    origin: NDArray[np.int64],
    destination: NDArray[np.int64],
    sector: NDArray[np.int64],
    currency: NDArray[np.int64],
    budget: NDArray[np.int64],
) -> None:
    """Add the base budgets of relationships that changed currency to `switched` (O, D, S, C),
    at their route, sector and new currency."""
    np.add.at(switched, (origin, destination, sector, currency), budget)
