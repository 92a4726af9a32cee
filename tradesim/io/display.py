"""Notebook displays (`_repr_html_`) and tidy tables (`to_frame`) of results: a compact
summary of what was run and its headline numbers, a few kB, never the whole Dataset."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import xarray as xr

from tradesim._html import card, table
from tradesim.io.bands import band, band_label
from tradesim.io.metadata import FLOW_VARIABLES
from tradesim.io.routes import route_values
from tradesim.scenario.focus import Route, shock_routes

__all__ = [
    "comparison_html",
    "ensemble_html",
    "result_html",
    "tidy",
]


def _pairs(agents: Sequence[str]) -> list[tuple[str, str]]:
    return [(a, b) for a in agents for b in agents if a != b]


def tidy(da: xr.DataArray, *, drop_zeros: bool = True) -> Any:
    """A DataArray as a tidy pandas table: one column per dimension, one value column named
    after the array, rows that are exactly zero left out when `drop_zeros`."""
    name = da.name or "value"
    df = da.to_dataframe(name=str(name))[[str(name)]].reset_index()
    if drop_zeros:
        df = df[df[str(name)] != 0]
    return df.reset_index(drop=True)


def annual(data: xr.Dataset, variable: str) -> xr.DataArray:
    """Annual values of a variable: totals of monthly flows, means of stocks and indices."""
    grouped = data[variable].groupby("month.year")
    out = grouped.sum() if variable in FLOW_VARIABLES else grouped.mean()
    return out.assign_attrs(data[variable].attrs)


def result_html(result: Any) -> str:
    """Summary of one run: what was run, annual trade between the agent economies and on
    the routes its shocks touch, settlement-currency shares."""
    s = result.scenario
    data: xr.Dataset = result.data
    agents = list(s.economies)
    years = [int(y) for y in sorted(set(data["month"].dt.year.values.tolist()))]
    facts = [
        ("description", s.description or "—"),
        ("seed", result.seed),
        ("months", f"{data.sizes['month']} ({s.start:%Y-%m} to {s.end:%Y-%m})"),
        ("variables", ", ".join(str(v) for v in data.data_vars)),
    ]
    if result.timings:
        facts.append(("wall time", f"{sum(result.timings.values()):.1f} s"))
    tables = []
    ann = result.annual_bilateral() / 1e9
    rows = [
        [f"{o} → {d}", *(f"{float(ann.sel(origin=o, destination=d, year=y)):.2f}" for y in years)]
        for o, d in _pairs(agents)
    ]
    tables.append(table(["USD billion", *map(str, years)], rows, "Bilateral trade"))
    routes = [
        r
        for r in shock_routes(s)
        if r.sectors or r.origin not in agents or r.destination not in agents
    ]
    if routes:
        values = route_values(data, routes) / 1e9
        rows = [
            [str(r), *(f"{float(values.sel(route=r, year=y)):.2f}" for y in years)]
            for r in values["route"].values
        ]
        tables.append(table(["USD billion", *map(str, years)], rows, "Routes its shocks touch"))
    if len(agents) >= 2:
        shares = result.currency_shares(agents[0], agents[1])
        rows = [
            [str(c), *(f"{float(shares.sel(currency=c, year=y)):.1%}" for y in years)]
            for c in shares["currency"].values
            if float(shares.sel(currency=c).max()) > 0
        ]
        caption = f"Settlement-currency shares, {agents[0]}–{agents[1]} (both ways)"
        tables.append(table(["currency", *map(str, years)], rows, caption))
    return card(f"SimulationResult: {s.name}", facts, tables)


def _mean_band(summary: xr.Dataset, name: str, at: dict[str, Any], scale: float = 1e9) -> str:
    mean = float(summary[f"{name}_mean"].sel(at)) / scale
    limits = band(summary)
    if not limits:
        return f"{mean:+.2f}" if name.endswith("change_usd") else f"{mean:.2f}"
    lo, hi = (float(summary[name].sel({**at, "quantile": q})) / scale for q in limits)
    return f"{mean:.2f} [{lo:.2f}, {hi:.2f}]"


def ensemble_html(ens: Any, bands: xr.Dataset) -> str:
    """Summary of an ensemble: runs, folder, the bands of annual trade."""
    s = ens.scenario
    agents = list(s.economies)
    years = [int(y) for y in bands["year"].values]
    limits = band(bands)
    facts = [
        ("runs", f"{ens.runs} ({ens.computed} computed by this call, the rest found on disk)"),
        ("folder", str(ens.out)),
        ("seed", s.seed),
        ("band", band_label(limits) if limits else "none (one run)"),
    ]
    rows = [
        [
            f"{o} → {d}",
            *(
                _mean_band(bands, "shipped_usd", {"origin": o, "destination": d, "year": y})
                for y in years
            ),
        ]
        for o, d in _pairs(agents)
    ]
    caption = "Bilateral trade, USD billion: mean" + (f" [{band_label(limits)}]" if limits else "")
    return card(f"EnsembleResult: {s.name}", facts, [table(["", *map(str, years)], rows, caption)])


def comparison_html(cmp: Any, metrics: xr.Dataset, routes: Sequence[Route]) -> str:
    """Summary of a comparison: what against what, and the change on its routes."""
    years = [int(y) for y in metrics["year"].values]
    limits = band(metrics)
    facts = [
        ("base", cmp.base.scenario.name),
        ("alternative", cmp.alternative.scenario.name),
        ("paired runs", f"{cmp.base.runs} (common random numbers, seed {cmp.base.scenario.seed})"),
        ("routes", "; ".join(r.label() for r in routes) or "—"),
    ]
    rows = []
    if "route" in metrics.dims:
        for r in metrics["route"].values:
            rows.append(
                [
                    str(r),
                    *(
                        _mean_band(metrics, "route_change_usd", {"route": r, "year": y})
                        for y in years
                    ),
                ]
            )
    caption = "Change in trade on its routes, USD billion: mean" + (
        f" [{band_label(limits)}]" if limits else ""
    )
    tables = [table(["", *map(str, years)], rows, caption)] if rows else []
    totals = metrics["welfare_usd_mean"].sum("year") / 1e9
    wrows = [[str(r), f"{float(totals.sel(region=r)):+.2f}"] for r in totals["region"].values]
    tables.append(table(["region", "USD billion"], wrows, "Welfare change over the horizon (mean)"))
    title = f"Comparison: {cmp.alternative.scenario.name} against {cmp.base.scenario.name}"
    return card(title, facts, tables)
