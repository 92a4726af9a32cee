"""Welfare of a counterfactual by region, in USD: exact consumer welfare from the CES/logit
log-sum, producer surplus and terms of trade, tariff revenue and frozen payments, with a
SMART-style partial-equilibrium decomposition beside it.

All measures compare two runs month by month (a base and an alternative, ideally paired with
common random numbers) and are summed into years. Equations and their sources are in
docs/model.md, section 11 "Welfare"; in short, for region r:

- consumer (buyers of r, each sector s): the logit log-sum of a buyer who chooses by log
  delivered price is the log of the CES price index P (Anderson, de Palma and Thisse 1992),
  and with an upper tier whose spending E has a constant price elasticity the consumer
  surplus of a move from P0 to P1 is exactly

      CS = -integral E dlnP = -L(E0, E1) * ln(P1 / P0),     L the logarithmic mean,

  which with fixed spending is -E ln(P1/P0), the equivalent variation under quasi-linear
  preferences (Small and Rosen 1981). When every supplier of a sector is closed (P1
  undefined), the purchases lost are counted at their cost, -E0, a lower bound.
- producer (sellers of r, every destination, domestic included): revenue minus resource cost
  valued at base prices, q1 (p1 - p0) + (1 - 1/mu) p0 (q1 - q0), with quantities
  q = value / price index. The first term is the price effect on every unit sold: on home
  sales it offsets the buyers' gain or loss (a transfer within r), on exports it is r's
  export terms of trade. The second is the profit margin on units gained or lost (mu the
  markup; external regions supply at cost, mu = 1).
- tariff revenue collected by r, and payments due to r's exporters that are frozen (a loss).

A currency depreciation lowers the USD price of everything r sells: its buyers' gain on home
goods is its producers' loss, and its exports fetch less, so it is not counted as a gain. A
fall in the world price of what r exports is a loss on its net exports for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from tradesim.errors import SimulationError
from tradesim.io.results import comparison_metrics
from tradesim.model.world import build_world
from tradesim.scenario import Scenario

__all__ = ["WELFARE_COMPONENTS", "paired_metrics", "welfare"]

#: Components that add up to `welfare_usd`, in the order they are reported.
WELFARE_COMPONENTS = (
    "consumer_usd",
    "producer_usd",
    "tariff_revenue_usd",
    "frozen_loss_usd",
    "settlement_cost_usd",
)

_NEEDED = (
    "shipped_usd",
    "outlay_usd",
    "buyer_price_index",
    "price_index",
    "price_wedge",
    "tariff_revenue_usd",
    "frozen_usd",
)

_DESCRIPTIONS = {
    "consumer_usd": (
        "buyers' consumer surplus at their realized allocation over origins (exact CES), change"
    ),
    "producer_usd": "sellers' (and their resources') gain from the prices they get, change",
    "profit_shift_usd": (
        "memo, not in welfare_usd: agent firms' profits on units gained or lost at base "
        "prices, a gain only if the resources drawn in were idle"
    ),
    "tariff_revenue_usd": "tariff revenue collected, change",
    "frozen_loss_usd": "minus the change in payments due to the region's exporters frozen",
    "settlement_cost_usd": (
        "minus the change in conversion fees (payer) and hedging costs (each party whose home "
        "currency is not the settlement currency) on trade between regions"
    ),
    "welfare_usd": "sum of the consumer, producer, tariff revenue, frozen and settlement terms",
    "consumer_index_usd": (
        "memo: consumer surplus from the CES price index of free choice (buyer_price_index), "
        "the log-sum of the logit, as if every buyer could choose again at once"
    ),
    "terms_of_trade_usd": (
        "memo (already inside producer and consumer): export price change x export "
        "quantities - import price change x import quantities"
    ),
    "smart_trade_creation_usd": "SMART: change in imports from abroad (customs value)",
    "smart_trade_diversion_usd": "SMART: imports gained by the foreign origins whose sales rose",
    "smart_revenue_usd": "SMART: tariff revenue effect",
    "smart_consumer_surplus_usd": (
        "SMART: -(M0 + dM/2) x dln(delivered price) over foreign origins (Harberger trapezoid)"
    ),
    "smart_welfare_usd": "SMART: revenue effect + consumer surplus",
}


def _log_mean(a: xr.DataArray, b: xr.DataArray) -> xr.DataArray:
    """Logarithmic mean (a - b) / (ln a - ln b), with L(a, a) = a and L(a, 0) = 0."""

    def kernel(x: np.ndarray[Any, Any], y: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
        x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
        out = np.zeros(x.shape)
        pos = (x > 0) & (y > 0)
        near = pos & np.isclose(x, y, rtol=1e-9, atol=0.0)
        far = pos & ~near
        out[near] = 0.5 * (x[near] + y[near])
        out[far] = (x[far] - y[far]) / (np.log(x[far]) - np.log(y[far]))
        return out

    return xr.apply_ufunc(kernel, a, b)


def _log_ratio(new: xr.DataArray, old: xr.DataArray) -> xr.DataArray:
    """ln(new / old) where both are positive and finite, else 0."""
    ok = np.isfinite(new) & np.isfinite(old) & (new > 0) & (old > 0)
    ratio: xr.DataArray = new.where(ok, 1.0) / old.where(ok, 1.0)
    return xr.apply_ufunc(np.log, ratio)


def _aligned(base: xr.Dataset, alt: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    missing = [n for n in _NEEDED if n not in base or n not in alt]
    if missing:
        raise SimulationError(
            f"welfare needs {', '.join(missing)} in both runs (runs written by an older "
            "tradesim lack them: run them again)"
        )
    b, a = xr.align(base[list(_NEEDED)], alt[list(_NEEDED)], join="inner")
    b, a = b.drop_vars("region", errors="ignore"), a.drop_vars("region", errors="ignore")
    if b.sizes["month"] == 0:
        raise SimulationError("the two runs share no month: welfare cannot be compared")
    return b, a


def realized_price_index(data: xr.Dataset, scenario: Scenario) -> xr.DataArray:
    """(month, destination, sector) money-metric price index of buyers' realized allocation.

    With taste weights a_o (the base-year origin shares), origin delivered-price indices
    c_o (supplier price index x route wedge, 1 in the base year) and realized outlay shares
    s_o, CES utility per USD spent is

        1 / P_r = ( sum_o a_o^(1/sigma) (s_o / c_o)^((sigma-1)/sigma) )^(sigma/(sigma-1)),

    which equals the CES index P = (sum_o a_o c_o^(1-sigma))^(1/(1-sigma)) when the shares
    are the optimal (logit) ones and is higher otherwise: buyers locked into a supplier whose
    price rose, or pushed off their choice by a currency cut-off, are worse off than free
    choice would leave them. NaN where nothing is bought.
    """
    world = build_world(scenario)
    sigma = xr.DataArray(world.elasticity, dims="sector", coords={"sector": list(world.sectors)})
    taste = xr.DataArray(
        world.origin_shares.transpose(1, 0, 2),
        dims=("origin", "destination", "sector"),
        coords={
            "origin": list(world.regions),
            "destination": list(world.regions),
            "sector": list(world.sectors),
        },
    )
    outlay = data["outlay_usd"]
    total = outlay.sum("origin")
    share = outlay / total.where(total > 0)
    cost = data["price_index"] * data["price_wedge"]
    rho = (sigma - 1.0) / sigma
    used = (share > 0) & (cost > 0) & (taste > 0)
    terms = (taste ** (1.0 / sigma) * (share / cost.where(used, 1.0)) ** rho).where(used, 0.0)
    utility = terms.sum("origin") ** (1.0 / rho)
    return (1.0 / utility.where(utility > 0)).where(total > 0)


def consumer_surplus(
    base: xr.Dataset, alt: xr.Dataset, scenario: Scenario, *, realized: bool = True
) -> xr.DataArray:
    """(month, destination, sector) consumer surplus change, USD: -L(E0, E1) ln(P1/P0).

    `realized` uses `realized_price_index`; otherwise the recorded CES index of free choice
    (`buyer_price_index`). Where P1 is undefined (nothing can be or is bought), the
    purchases lost are counted at their cost, -E0 (a lower bound).
    """
    if realized:
        p0, p1 = realized_price_index(base, scenario), realized_price_index(alt, scenario)
    else:
        p0, p1 = base["buyer_price_index"], alt["buyer_price_index"]
    e0, e1 = base["outlay_usd"].sum("origin"), alt["outlay_usd"].sum("origin")
    ok0, ok1 = np.isfinite(p0) & (p0 > 0), np.isfinite(p1) & (p1 > 0)
    both = -_log_mean(e0, e1) * _log_ratio(p1, p0)
    out = xr.where(ok0 & ok1, both, 0.0)
    out = xr.where(ok0 & ~ok1, -e0, out)
    return xr.where(~ok0 & ok1, e1, out)


def producer_surplus(base: xr.Dataset, alt: xr.Dataset) -> xr.DataArray:
    """(month, origin, destination, sector) change in what sellers and the resources they
    employ earn from the prices they get, integrated along the move from p0 to p1 like the
    buyers' side (exact for constant-elasticity sales, as the buyers' log-mean):

        dPS = integral q dp = L(V0, V1) ln(p1 / p0),   V value sold, p price index.

    On home sales it offsets the buyers' gain or loss from home prices (a transfer within
    the region); on exports it is the export side of the terms of trade. The volume part of
    the revenue change is not a gain at base prices: the resources that make the extra
    units come from the rest of the economy, where they earned as much (fixed resources,
    one markup everywhere; see `profit_shift`)."""
    v0 = base["shipped_usd"].sum("currency")
    v1 = alt["shipped_usd"].sum("currency")
    return _log_mean(v0, v1) * _log_ratio(alt["price_index"], base["price_index"])


def profit_shift(
    base: xr.Dataset, alt: xr.Dataset, agents: Sequence[str], markup: float
) -> xr.DataArray:
    """(month, origin, destination, sector) memo: agent firms' profits on the units gained
    or lost, at base prices, m p0 (q1 - q0) with m = 1 - 1/markup (external regions supply
    at cost). It is a national gain only if the resources drawn in were idle: with
    resources fixed, the rest of the economy loses as much, so it is not in `welfare_usd`
    (counting it would score import substitution forced by a cut-off as a gain)."""
    v0 = base["shipped_usd"].sum("currency")
    v1 = alt["shipped_usd"].sum("currency")
    p0, p1 = base["price_index"], alt["price_index"]
    margin = xr.DataArray(
        [1.0 - 1.0 / markup if str(o) in agents else 0.0 for o in base["origin"].values],
        dims="origin",
        coords={"origin": base["origin"].values},
    )
    return margin * ((v1 / p1 * p0).where(p1 > 0, 0.0) - v0)


def settlement_costs(data: xr.Dataset, scenario: Scenario) -> xr.DataArray:
    """(month, region) fees and hedging costs paid on trade between regions, USD.

    The costs of the currency choice (docs/model.md, section 6) at the scenario's fees: the
    payer (destination) pays the conversion fee f_c, and each party whose home currency is
    not c pays the hedging cost h_c. Fee changes by settlement-policy shocks are not
    included.
    """
    world = build_world(scenario)
    value = data["shipped_usd"].sum("sector")
    value = value.where(value["origin"] != value["destination"], 0.0)
    cur = xr.DataArray(list(world.currencies), dims="currency")
    fee = xr.DataArray(world.fee, dims="currency", coords={"currency": cur.values})
    hedge = xr.DataArray(world.hedging_cost, dims="currency", coords={"currency": cur.values})
    home = [world.currencies[k] for k in world.region_currency]
    foreign_cur = xr.DataArray(
        np.array([[h != c for c in world.currencies] for h in home], dtype=float),
        dims=("region", "currency"),
        coords={"region": list(world.regions), "currency": list(world.currencies)},
    )
    paid_by_importer = (value * (fee + hedge * foreign_cur.rename(region="destination"))).sum(
        ["origin", "currency"]
    )
    paid_by_exporter = (value * hedge * foreign_cur.rename(region="origin")).sum(
        ["destination", "currency"]
    )
    return paid_by_importer.rename(destination="region") + paid_by_exporter.rename(origin="region")


def welfare(
    base: xr.Dataset,
    alt: xr.Dataset,
    scenario: Scenario,
    *,
    annual: bool = True,
) -> xr.Dataset:
    """Welfare change alternative - base by region, USD (see the module docstring).

    Parameters
    ----------
    base, alt
        Datasets of one run each (`SimulationResult.data`, or a run of an ensemble), ideally
        with the same seed. Only their common months are compared.
    scenario
        The scenario of the runs (for its agent economies, markup, elasticities and base-year
        origin shares); the base must share its regions and sectors.
    annual
        Sum months into years (dimension `year`); otherwise keep `month`.

    Returns
    -------
    Dataset with dimensions (year or month, region): the components in
    `WELFARE_COMPONENTS`, their sum `welfare_usd`, the memo item `terms_of_trade_usd`, and
    the SMART decomposition `smart_trade_creation_usd`, `smart_trade_diversion_usd`,
    `smart_revenue_usd`, `smart_consumer_surplus_usd`, `smart_welfare_usd`.
    """
    b, a = _aligned(base, alt)
    agents = list(scenario.economies)
    regions = list(b["origin"].values)
    as_region = {"destination": "region"}
    consumer = consumer_surplus(b, a, scenario).sum("sector").rename(as_region)
    consumer_index = consumer_surplus(b, a, scenario, realized=False).sum("sector")
    producer = producer_surplus(b, a).sum(["destination", "sector"]).rename(origin="region")
    profit = (
        profit_shift(b, a, agents, scenario.parameters.markup)
        .sum(["destination", "sector"])
        .rename(origin="region")
    )
    revenue = (
        (a["tariff_revenue_usd"] - b["tariff_revenue_usd"])
        .sum(["origin", "sector"])
        .rename(as_region)
    )
    frozen = (
        -(a["frozen_usd"] - b["frozen_usd"])
        .sum(["destination", "sector", "currency"])
        .rename(origin="region")
    )

    # Terms of trade (memo): export price change x export quantities, less the same for
    # imports, at border (supplier) prices, in the producer side's form.
    foreign = b["origin"] != b["destination"]
    cells = producer_surplus(b, a).where(foreign, 0.0).sum("sector")
    tot = cells.sum("destination").rename(origin="region") - cells.sum("origin").rename(as_region)

    # SMART-style decomposition over foreign origins (customs values, delivered prices).
    m0 = b["shipped_usd"].sum("currency").where(foreign, 0.0)
    m1 = a["shipped_usd"].sum("currency").where(foreign, 0.0)
    dm = m1 - m0
    creation = dm.sum(["origin", "sector"]).rename(as_region)
    diversion = dm.where(dm > 0, 0.0).sum(["origin", "sector"]).rename(as_region)
    dlog = _log_ratio(a["price_index"] * a["price_wedge"], b["price_index"] * b["price_wedge"])
    smart_cs = -((m0 + 0.5 * dm) * dlog).sum(["origin", "sector"]).rename(as_region)

    parts = {
        "consumer_usd": consumer,
        "producer_usd": producer,
        "tariff_revenue_usd": revenue,
        "frozen_loss_usd": frozen,
        "settlement_cost_usd": -(settlement_costs(a, scenario) - settlement_costs(b, scenario)),
    }
    out = {name: da.reindex(region=regions, fill_value=0.0) for name, da in parts.items()}
    out["welfare_usd"] = sum((out[k] for k in WELFARE_COMPONENTS), xr.zeros_like(consumer))
    out["consumer_index_usd"] = consumer_index.rename(as_region)
    out["profit_shift_usd"] = profit
    out["terms_of_trade_usd"] = tot
    out["smart_trade_creation_usd"] = creation
    out["smart_trade_diversion_usd"] = diversion
    out["smart_revenue_usd"] = revenue
    out["smart_consumer_surplus_usd"] = smart_cs
    out["smart_welfare_usd"] = revenue + smart_cs
    ds = xr.Dataset({k: v.transpose("month", "region") for k, v in out.items()})
    if annual:
        ds = ds.groupby("month.year").sum()
    for name, text in _DESCRIPTIONS.items():
        ds[name].attrs.update(units="USD", description=text)
    return ds


def paired_metrics(base: xr.Dataset, alt: xr.Dataset, scenario: Scenario) -> xr.Dataset:
    """`comparison_metrics` of one run pair with the welfare measures of `welfare` beside
    them, over the months the two runs share (`welfare_*` variables by region)."""
    b, a = xr.align(base, alt, join="inner")
    metrics = comparison_metrics(b, a, list(scenario.economies))
    w = welfare(b, a, scenario)
    w = w.rename({name: f"welfare_{name}" for name in WELFARE_COMPONENTS})
    return xr.merge([metrics, w], compat="override", join="outer")
