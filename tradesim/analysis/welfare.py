"""Welfare of a counterfactual by region, in USD: exact CES consumer surplus (the logit
log-sum), sellers' price effects and the terms of trade, tariff revenue, frozen payments and
settlement costs, with a SMART-style partial-equilibrium decomposition beside it.

Two runs (a base and an alternative, paired with common random numbers) are compared month
by month over the months they share and summed into years. The equations, their sources and
the measured values for the bundled scenarios are in docs/model.md, section 11; in short,
for region r:

- consumer (buyers of r, each sector): CS = -L(E0, E1) ln(P1 / P0), L the logarithmic mean
  of spending, exact along a constant-elasticity spending path; with fixed spending it is
  -E ln(P1/P0), the logit log-sum (Small and Rosen 1981). P is the CES price index of the
  buyers' realized allocation over origins (the free-choice index `buyer_price_index` gives
  the memo item `consumer_index_usd`).
- producer (sellers of r, every destination, home included): PS = L(V0, V1) ln(p1 / p0),
  the price effect on what they sell; on home sales it offsets the buyers' side, on exports
  it is r's export terms of trade. Volume changes are not a gain with fixed resources
  (`profit_shift_usd` reports the profits they would add if resources were idle).
- tariff revenue collected by r; minus payments due to r's exporters that are frozen; minus
  the conversion fees, hedging, late-payment financing and currency switching costs r's
  traders pay.

A currency depreciation lowers the USD price of everything r sells: its buyers' gain on home
goods is its sellers' loss, and its exports fetch less, so it is not counted as a gain. A
fall in the world price of what r exports is a loss on its net exports for the same reason.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import xarray as xr

from tradesim.errors import SimulationError
from tradesim.io.metadata import METRIC_ATTRS, describe
from tradesim.io.results import comparison_metrics
from tradesim.model.world import build_world
from tradesim.scenario import Scenario
from tradesim.scenario.focus import Route

__all__ = ["WELFARE_COMPONENTS", "horizon_rows", "paired_metrics", "welfare"]

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

#: Costs of payment frictions, read when both runs have them.
_FRICTIONS = ("financing_cost_usd", "switching_cost_usd")

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
        "minus the change in conversion fees (payer), hedging costs (each party whose home "
        "currency is not the settlement currency), financing costs of late payments (receiver) "
        "and currency switching costs (half each party) on trade between regions"
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


def _paired_name(name: str) -> str:
    return f"welfare_{name}" if name in WELFARE_COMPONENTS else name


#: (units, long_name, description) of every variable of `paired_metrics`: the comparison's
#: trade and share metrics and the welfare measures (components prefixed with welfare_).
PAIRED_ATTRS: dict[str, tuple[str, str, str]] = {
    **METRIC_ATTRS,
    **{
        _paired_name(name): ("USD", f"welfare: {name.removesuffix('_usd').replace('_', ' ')}", text)
        for name, text in _DESCRIPTIONS.items()
    },
    "welfare_horizon_usd": (
        "USD",
        "welfare over the horizon",
        "welfare_usd summed over the years both runs share, by region",
    ),
    "welfare_world_horizon_usd": (
        "USD",
        "world welfare over the horizon",
        "welfare_usd summed over the years both runs share and over every region",
    ),
}

F = np.ndarray[Any, Any]


def _log_mean(x: F, y: F) -> F:
    """Logarithmic mean (x - y) / (ln x - ln y), with L(x, x) = x and L(x, 0) = 0."""
    x, y = np.broadcast_arrays(np.asarray(x, float), np.asarray(y, float))
    out = np.zeros(x.shape)
    pos = (x > 0) & (y > 0)
    near = pos & np.isclose(x, y, rtol=1e-9, atol=0.0)
    far = pos & ~near
    out[near] = 0.5 * (x[near] + y[near])
    out[far] = (x[far] - y[far]) / (np.log(x[far]) - np.log(y[far]))
    return out


def _log_ratio(new: F, old: F) -> F:
    """ln(new / old) where both are positive and finite, else 0."""
    ok = np.isfinite(new) & np.isfinite(old) & (new > 0) & (old > 0)
    return np.log(np.where(ok, new, 1.0) / np.where(ok, old, 1.0))


class _Run:
    """The arrays of one run that welfare reads, in a fixed dimension order."""

    def __init__(self, data: xr.Dataset):
        def arr(name: str, *dims: str) -> F:
            return np.asarray(data[name].transpose(*dims).values, dtype=float)

        full = ("month", "origin", "destination", "sector")
        shipped = arr("shipped_usd", *full, "currency")
        self.value = shipped.sum(axis=4)  # (M, O, D, S) customs value
        self.by_currency = shipped.sum(axis=3)  # (M, O, D, C)
        self.outlay = arr("outlay_usd", *full)
        self.wedge = arr("price_wedge", *full)
        self.revenue = arr("tariff_revenue_usd", *full)
        self.frozen = arr("frozen_usd", *full, "currency").sum(axis=(2, 3, 4))  # (M, O)
        self.price = arr("price_index", "month", "origin", "sector")  # (M, O, S)
        self.index = arr("buyer_price_index", "month", "destination", "sector")  # (M, D, S)
        # Payment frictions (absent from runs of older versions: then zero).
        fdims = ("month", "origin", "destination", "sector", "currency")
        zero = np.zeros(self.value.shape[:3])
        self.financing = (
            arr("financing_cost_usd", *fdims).sum(axis=(3, 4))
            if "financing_cost_usd" in data
            else zero
        )  # (M, O, D)
        self.switching = (
            arr("switching_cost_usd", *fdims).sum(axis=(3, 4))
            if "switching_cost_usd" in data
            else zero
        )  # (M, O, D)


def _aligned(base: xr.Dataset, alt: xr.Dataset) -> tuple[xr.Dataset, xr.Dataset]:
    missing = [n for n in _NEEDED if n not in base or n not in alt]
    if missing:
        raise SimulationError(
            f"welfare needs {', '.join(missing)} in both runs (runs written by an older "
            "tradesim lack them: run them again)"
        )
    extra = [n for n in _FRICTIONS if n in base and n in alt]
    b, a = xr.align(base[[*_NEEDED, *extra]], alt[[*_NEEDED, *extra]], join="inner")
    if b.sizes["month"] == 0:
        raise SimulationError("the two runs share no month: welfare cannot be compared")
    return b, a


def _realized_index(run: _Run, taste: F, sigma: F) -> F:
    """(M, D, S) money-metric price index of buyers' realized allocation over origins.

    With taste weights a_o (the base-year origin shares), origin delivered-price indices
    c_o (supplier price index x route wedge, 1 in the base year) and realized outlay shares
    s_o, CES utility per USD spent is

        1 / P_r = ( sum_o a_o^(1/sigma) (s_o / c_o)^((sigma-1)/sigma) )^(sigma/(sigma-1)),

    which equals the CES index P = (sum_o a_o c_o^(1-sigma))^(1/(1-sigma)) when the shares
    are the optimal (logit) ones and is higher otherwise: buyers locked into a supplier whose
    price rose, or pushed off their choice by a currency cut-off, are worse off than free
    choice would leave them. NaN where nothing is bought.
    """
    total = run.outlay.sum(axis=1)  # (M, D, S)
    share = np.divide(
        run.outlay, total[:, None], out=np.zeros_like(run.outlay), where=total[:, None] > 0
    )
    cost = run.price[:, :, None, :] * run.wedge  # (M, O, D, S)
    rho = (sigma - 1.0) / sigma
    used = (share > 0) & (cost > 0) & (taste[None] > 0)
    ratio = np.where(used, share / np.where(used, cost, 1.0), 0.0)
    terms = np.where(used, taste[None] ** (1.0 / sigma) * ratio**rho, 0.0)
    utility = terms.sum(axis=1) ** (1.0 / rho)
    with np.errstate(divide="ignore"):
        return np.where(
            (total > 0) & (utility > 0), 1.0 / np.where(utility > 0, utility, 1.0), np.nan
        )


def _consumer(b: _Run, a: _Run, p0: F, p1: F) -> F:
    """(M, D, S) consumer surplus change -L(E0, E1) ln(P1/P0); where P1 is undefined
    (nothing can be or is bought) the purchases lost count at their cost, -E0."""
    e0, e1 = b.outlay.sum(axis=1), a.outlay.sum(axis=1)
    ok0, ok1 = np.isfinite(p0) & (p0 > 0), np.isfinite(p1) & (p1 > 0)
    out = np.where(ok0 & ok1, -_log_mean(e0, e1) * _log_ratio(p1, p0), 0.0)
    out = np.where(ok0 & ~ok1, -e0, out)
    return np.where(~ok0 & ok1, e1, out)


def _producer(b: _Run, a: _Run) -> F:
    """(M, O, D, S) change in what sellers and the resources they employ earn from the prices
    they get, integrated along the move from p0 to p1 like the buyers' side:

        dPS = integral q dp = L(V0, V1) ln(p1 / p0),   V value sold, p price index.

    On home sales it offsets the buyers' gain or loss from home prices (a transfer within
    the region); on exports it is the export side of the terms of trade. The volume part of
    the revenue change is not a gain at base prices: the resources that make the extra
    units come from the rest of the economy, where they earned as much (fixed resources,
    one markup everywhere; see `_profit_shift`)."""
    return _log_mean(b.value, a.value) * _log_ratio(a.price, b.price)[:, :, None, :]


def _profit_shift(b: _Run, a: _Run, margin: F) -> F:
    """(M, O, D, S) memo: agent firms' profits on the units gained or lost, at base prices,
    m p0 (q1 - q0), m = 1 - 1/markup (external regions supply at cost, m = 0). It is a
    national gain only if the resources drawn in were idle: with resources fixed, the rest
    of the economy loses as much, so it is not in `welfare_usd` (counting it would score
    import substitution forced by a cut-off as a gain)."""
    p0, p1 = b.price[:, :, None, :], a.price[:, :, None, :]
    q1_at_p0 = np.divide(a.value * p0, p1, out=np.zeros_like(a.value), where=p1 > 0)
    return margin[None, :, None, None] * (q1_at_p0 - b.value)


def _settlement(run: _Run, fee: F, hedge: F, foreign_currency: F) -> F:
    """(M, R) fees, hedging, financing and switching costs paid on trade between regions, USD.

    The costs of the currency choice (docs/model.md, section 6) at the scenario's fees: the
    payer (destination) pays the conversion fee f_c, and each party whose home currency is
    not c pays the hedging cost h_c. Fee changes by settlement-policy shocks are left out.
    The receiving exporter bears the financing cost of late payments; a currency switch's
    fixed cost is shared equally by the two parties (both change their currency management).
    """
    value = run.by_currency.copy()  # (M, O, D, C)
    R = value.shape[1]
    value[:, np.arange(R), np.arange(R), :] = 0.0
    by_importer = value.sum(axis=1)  # (M, D, C)
    by_exporter = value.sum(axis=2)  # (M, O, C)
    importer = (by_importer * (fee + hedge * foreign_currency)[None]).sum(axis=2)
    exporter = (by_exporter * (hedge * foreign_currency)[None]).sum(axis=2)
    frictions = run.financing.sum(axis=2) + 0.5 * (
        run.switching.sum(axis=2) + run.switching.sum(axis=1)
    )
    return importer + exporter + frictions


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
        The scenario of the runs (for its agent economies, markup, elasticities, fees and
        base-year origin shares); the base must share its regions, sectors and currencies.
    annual
        Sum months into years (dimension `year`); otherwise keep `month`.

    Returns
    -------
    Dataset with dimensions (year or month, region), USD: the components in
    `WELFARE_COMPONENTS` and their sum `welfare_usd`; memo items `consumer_index_usd`,
    `profit_shift_usd`, `terms_of_trade_usd`; the SMART decomposition
    `smart_trade_creation_usd`, `smart_trade_diversion_usd`, `smart_revenue_usd`,
    `smart_consumer_surplus_usd`, `smart_welfare_usd`.
    """
    bd, ad = _aligned(base, alt)
    world = build_world(scenario)
    regions = [str(r) for r in bd["origin"].values]
    if regions != list(world.regions) or [str(c) for c in bd["currency"].values] != list(
        world.currencies
    ):
        raise SimulationError(
            f"the runs' regions or currencies differ from scenario {scenario.name!r}'s"
        )
    b, a = _Run(bd), _Run(ad)
    sigma = world.elasticity[None, None, :]  # over (O, D, S)
    taste = world.origin_shares.transpose(1, 0, 2)  # (O, D, S)
    consumer = _consumer(b, a, _realized_index(b, taste, sigma), _realized_index(a, taste, sigma))
    consumer_index = _consumer(b, a, b.index, a.index)
    producer = _producer(b, a)  # (M, O, D, S)
    margin = np.array(
        [
            1.0 - 1.0 / scenario.parameters.markup if r in scenario.economies else 0.0
            for r in regions
        ]
    )
    profit = _profit_shift(b, a, margin)
    home = [world.currencies[k] for k in world.region_currency]
    foreign_currency = np.array([[h != c for c in world.currencies] for h in home], dtype=float)
    settlement = _settlement(a, world.fee, world.hedging_cost, foreign_currency) - _settlement(
        b, world.fee, world.hedging_cost, foreign_currency
    )

    R = len(regions)
    foreign = ~np.eye(R, dtype=bool)[None, :, :, None]  # (1, O, D, 1)
    cells = np.where(foreign, producer, 0.0).sum(axis=3)  # (M, O, D)
    m0, m1 = np.where(foreign, b.value, 0.0), np.where(foreign, a.value, 0.0)
    dm = m1 - m0
    delivered0 = b.price[:, :, None, :] * b.wedge
    delivered1 = a.price[:, :, None, :] * a.wedge
    revenue = (a.revenue - b.revenue).sum(axis=(1, 3))  # (M, D)
    smart_cs = -((m0 + 0.5 * dm) * _log_ratio(delivered1, delivered0)).sum(axis=(1, 3))
    parts = {
        "consumer_usd": consumer.sum(axis=2),
        "producer_usd": producer.sum(axis=(2, 3)),
        "tariff_revenue_usd": revenue,
        "frozen_loss_usd": -(a.frozen - b.frozen),
        "settlement_cost_usd": -settlement,
    }
    parts["welfare_usd"] = sum((parts[k] for k in WELFARE_COMPONENTS), np.zeros_like(revenue))
    parts.update(
        {
            "consumer_index_usd": consumer_index.sum(axis=2),
            "profit_shift_usd": profit.sum(axis=(2, 3)),
            "terms_of_trade_usd": cells.sum(axis=2) - cells.sum(axis=1),
            "smart_trade_creation_usd": dm.sum(axis=(1, 3)),
            "smart_trade_diversion_usd": np.where(dm > 0, dm, 0.0).sum(axis=(1, 3)),
            "smart_revenue_usd": revenue,
            "smart_consumer_surplus_usd": smart_cs,
            "smart_welfare_usd": revenue + smart_cs,
        }
    )
    coords = {"month": bd["month"].values, "region": regions}
    ds = xr.Dataset({k: (("month", "region"), v) for k, v in parts.items()}, coords=coords)
    if annual:
        ds = ds.groupby("month.year").sum()
    for name, text in _DESCRIPTIONS.items():
        ds[name].attrs.update(units="USD", description=text)
    return ds


def paired_metrics(
    base: xr.Dataset, alt: xr.Dataset, scenario: Scenario, routes: Sequence[Route] = ()
) -> xr.Dataset:
    """`comparison_metrics` of one run pair (with the changes on `routes`) and the welfare
    measures of `welfare` beside them, over the months the two runs share (`welfare_*`
    variables by region)."""
    b, a = xr.align(base, alt, join="inner")
    metrics = comparison_metrics(b, a, list(scenario.economies), routes)
    w = welfare(b, a, scenario)
    w = w.rename({name: f"welfare_{name}" for name in WELFARE_COMPONENTS})
    # Totals over the horizon, per run, so that their bands across runs are bands of totals.
    horizon = w["welfare_usd"].sum("year") if "year" in w.dims else w["welfare_usd"].sum("month")
    w["welfare_horizon_usd"] = horizon
    w["welfare_world_horizon_usd"] = horizon.sum("region")
    return describe(xr.merge([metrics, w], compat="override", join="outer"), PAIRED_ATTRS)


def horizon_rows(
    metrics: xr.Dataset, columns: Sequence[str], limits: tuple[float, float] | None
) -> list[tuple[str, list[float], tuple[float, float] | None]]:
    """Welfare over the horizon, USD billion, by region and then for the world: each of
    `columns` (means across the paired runs, summed over years) and, with `limits`, the band
    of each run's total over the horizon. What the CLI and the report tables print."""
    billion = 1e9
    means = xr.Dataset({c: metrics[f"{c}_mean"].sum("year") / billion for c in columns})
    out = []
    for region in [*(str(r) for r in means["region"].values), "world"]:
        if region == "world":
            row, total = means.sum("region"), metrics["welfare_world_horizon_usd"]
        else:
            row = means.sel(region=region)
            total = metrics["welfare_horizon_usd"].sel(region=region)
        values = [float(row[c]) for c in columns]
        bounds = None
        if limits:
            lo, hi = (float(total.sel(quantile=q)) / billion for q in limits)
            bounds = (lo, hi)
        out.append((region, values, bounds))
    return out
