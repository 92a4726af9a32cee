"""What every variable and every dataset says about itself: units, names, global attributes.

Variable attributes follow the CF conventions (version 1.10, https://cfconventions.org):
`units` is a UDUNITS string, "1" for dimensionless quantities (shares, indices, rates and
counts); `long_name` is a short human-readable name (used by xarray for axis labels);
`description` says how the value was computed. Global attributes name the scenario, the
seed and the tradesim version, so a file found on its own still says what produced it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import xarray as xr

from tradesim._version import __version__

__all__ = [
    "CONVENTIONS",
    "FLOW_VARIABLES",
    "METRIC_ATTRS",
    "VARIABLE_ATTRS",
    "describe",
    "global_attrs",
]

#: The CF version the attributes follow.
CONVENTIONS = "CF-1.10"

#: Variables that are totals within a month (their annual value is a sum of months; the
#: others, stocks and indices, are averaged).
FLOW_VARIABLES = frozenset(
    {
        "shipped_usd",
        "delivered_usd",
        "settled_usd",
        "frozen_usd",
        "financing_cost_usd",
        "switching_cost_usd",
        "tariff_revenue_usd",
        "exports_usd",
        "outlay_usd",
    }
)

#: (units, long_name, description) of each variable of a run.
VARIABLE_ATTRS: dict[str, tuple[str, str, str]] = {
    "shipped_usd": (
        "USD",
        "value shipped",
        "value shipped in the month (customs value, before tariff)",
    ),
    "delivered_usd": ("USD", "value delivered", "value delivered in the month"),
    "settled_usd": ("USD", "payments settled", "payments settled in the month"),
    "frozen_usd": (
        "USD",
        "payments frozen",
        "payments frozen by financial sanctions in the month",
    ),
    "financing_cost_usd": (
        "USD",
        "financing cost of late payments",
        "interest the receiving exporters lose on payments delayed or held in the month (a"
        " cut-off's payments in flight, compliance holds): value x months late x home rate / 12",
    ),
    "switching_cost_usd": (
        "USD",
        "currency switching cost",
        "fixed cost paid by relationships forced off their settlement currency in the month (a"
        " party cut off, or the currency withdrawn): switching_cost x renewal_months x monthly"
        " value, at the new currency",
    ),
    "in_transit_usd": (
        "USD",
        "value in transit",
        "value shipped and not yet delivered, at month end",
    ),
    "pending_usd": (
        "USD",
        "payments pending",
        "value delivered and not yet paid or frozen, at month end",
    ),
    "frozen_stock_usd": (
        "USD",
        "frozen payments, stock",
        "value frozen so far (never lost from the books), at month end",
    ),
    "relationships": (
        "1",
        "buyer-supplier relationships",
        "active buyer-supplier relationships at month end (a count)",
    ),
    "tariff_revenue_usd": (
        "USD",
        "tariff revenue",
        "tariff revenue collected by the destination in the month",
    ),
    "tariff_rate": (
        "1",
        "tariff rate",
        "ad valorem tariff of the destination on the origin (fraction)",
    ),
    "exports_usd": (
        "USD",
        "exports",
        "sales abroad summed over the origin's suppliers (exporter side)",
    ),
    "price_wedge": (
        "1",
        "delivered over supplier price",
        "trade cost x (1 + tariff) x (1 + secondary-sanction cost)",
    ),
    "price_index": (
        "1",
        "supplier price index",
        "CES index of the origin's supplier prices in USD, 1 at month 0",
    ),
    "buyer_price_index": (
        "1",
        "buyer price index",
        "CES index of delivered prices faced by buyers, 1 in the base; NaN (undefined) when "
        "every supplier of the sector is closed to the destination",
    ),
    "outlay_usd": (
        "USD",
        "buyers' outlay",
        "what buyers pay in the month: customs value plus tariff and secondary-sanction cost",
    ),
    "per_usd": ("currency per USD", "exchange rate", "units of the currency per US dollar"),
    "demand_index": ("1", "demand index", "real demand index (baseline path), 1 at month 0"),
    "world_price_index": (
        "1",
        "world price index",
        "world price index (baseline path), 1 at month 0",
    ),
    "quantity": (
        "see commodity_unit",
        "physical quantity shipped",
        "physical quantity shipped in the month, in the commodity's own unit (the coordinate "
        "commodity_unit: t, bbl, MMBtu): shipped value / unit_price_usd",
    ),
    "unit_price_usd": (
        "USD",
        "supplier price per physical unit",
        "USD per unit of the commodity (commodity_unit): the world price at month 0 x the "
        "origin's supplier price index",
    ),
    "currency_share": (
        "1",
        "settlement-currency share",
        "share of each settlement currency in the value shipped (fraction)",
    ),
    "origin_share": (
        "1",
        "origin share",
        "share of each origin (home included) in the destination's purchases (fraction)",
    ),
}

#: (units, long_name, description) of each paired-comparison metric (alternative - base).
METRIC_ATTRS: dict[str, tuple[str, str, str]] = {
    "bilateral_usd": (
        "USD",
        "change in bilateral trade",
        "alternative minus base: annual value shipped by origin and destination, domestic "
        "sales excluded",
    ),
    "imports_by_origin_usd": (
        "USD",
        "change in imports by origin",
        "alternative minus base: each importer's purchases by origin and sector over the "
        "horizon, home supply included",
    ),
    "trade_creation_usd": (
        "USD",
        "trade creation",
        "alternative minus base: total imports from abroad by importer and sector (WITS SMART)",
    ),
    "trade_diversion_usd": (
        "USD",
        "trade diversion",
        "imports gained by the foreign origins whose sales rose, by importer and sector "
        "(WITS SMART)",
    ),
    "currency_share": (
        "1",
        "settlement-currency share",
        "share of each settlement currency in the value shipped between the agent economies "
        "(both ways), in the base and in the alternative (fraction)",
    ),
    "currency_share_change": (
        "1",
        "change in currency shares by direction",
        "alternative minus base: annual share of each settlement currency in the value shipped "
        "from origin to destination, between the agent economies (fraction)",
    ),
    "tariff_revenue_usd": (
        "USD",
        "change in tariff revenue",
        "alternative minus base: annual tariff revenue collected by the destination",
    ),
    "frozen_usd": (
        "USD",
        "change in frozen payments",
        "alternative minus base: annual payments to the destination's suppliers frozen by "
        "financial sanctions",
    ),
    "route_change_usd": (
        "USD",
        "change in trade on the scenario's routes",
        "alternative minus base: annual value shipped on each route its shocks touch, in the "
        "route's sectors",
    ),
    "route_base_usd": (
        "USD",
        "trade on the scenario's routes, base",
        "annual value shipped on each route in the base, in the route's sectors",
    ),
}


def describe(
    data: xr.Dataset, table: Mapping[str, tuple[str, str, str]] = VARIABLE_ATTRS
) -> xr.Dataset:
    """Set `units`, `long_name` and `description` on every variable of `data` that `table`
    knows, also on summaries across runs (NAME by quantile, NAME_mean); returns `data`
    (changed in place)."""
    for name in data.data_vars:
        key = str(name).removesuffix("_mean")
        if key in table:
            units, long_name, text = table[key]
            if str(name).endswith("_mean"):
                long_name, text = f"{long_name}, mean across runs", f"mean across runs of: {text}"
            elif "quantile" in data[name].dims:
                long_name = f"{long_name}, quantiles across runs"
                text = f"quantiles across runs of: {text}"
            data[name].attrs.update(units=units, long_name=long_name, description=text)
    return data


def global_attrs(
    scenario: str, seed: int | None, *, title: str | None = None, **extra: Any
) -> dict[str, Any]:
    """Global attributes of every dataset tradesim makes: scenario, seed, version, CF
    conventions and, in `extra`, what is particular to it (runs, quantiles, base scenario).

    The seed is a string: NetCDF-3 attributes hold no None and no 64-bit integers.
    """
    attrs: dict[str, Any] = {
        "title": title or f"tradesim simulation of scenario {scenario}",
        "scenario": scenario,
        "seed": "none" if seed is None else str(seed),
        "tradesim_version": __version__,
        "source": f"tradesim {__version__}, agent-based simulation of bilateral trade",
        "Conventions": CONVENTIONS,
    }
    attrs.update({k: v for k, v in extra.items() if v is not None})
    return attrs
