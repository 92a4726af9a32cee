"""A self-contained HTML report of a base scenario and its alternatives, with bands.

Each alternative is run against the base as paired ensembles (`tradesim.compare`, common
random numbers); figures and tables show the mean across runs with its band. The page is
rendered by jinja2 with autoescaping; figures are embedded as base64 PNG data URIs and a
Content-Security-Policy forbids fetching anything, so the one file can be mailed or archived
and opened offline. Every figure has alt text that states what it shows, with its numbers.
"""

from __future__ import annotations

import base64
import datetime as dt
import io
import json
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import xarray as xr

from tradesim._version import __version__
from tradesim.io.bands import band, band_label
from tradesim.io.currency import Frequency
from tradesim.scenario import Scenario

__all__ = ["DEFAULT_RUNS", "html_report"]

#: Paired runs per scenario by default: with 10 runs the mean of the paired differences in
#: the bundled scenarios moves by well under the band's width from one seed to the next,
#: and one run differed from the 10-run mean by 15-20% in the bundled scenarios.
DEFAULT_RUNS = 10
#: PNG resolution in the report: 200 dpi, sharp on high-density screens and in print at the
#: page width, at about a third of the bytes of 300 dpi.
REPORT_DPI = 200
BILLION = 1e9


@dataclass
class _Figure:
    png: str
    alt: str
    caption: str
    width: int
    height: int


@dataclass
class _Table:
    caption: str
    header: list[str]
    rows: list[list[str]]
    text: bool = False  # left-aligned columns (words, not numbers)


@dataclass
class _Section:
    name: str
    anchor: str
    description: str
    routes: list[str]
    shocks: _Table
    figures: list[_Figure] = field(default_factory=list)
    tables: list[_Table] = field(default_factory=list)
    horizon: str = ""  # how the horizons were paired, when they differ


def _embed(fig: Any, alt: str, caption: str) -> _Figure:
    from tradesim.io.plot import _pyplot, plain_text

    plain_text(fig)  # names are user input: no mathtext
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=REPORT_DPI)
    width, height = (int(v * REPORT_DPI) for v in fig.get_size_inches())
    _pyplot().close(fig)
    data = base64.b64encode(buffer.getvalue()).decode("ascii")
    return _Figure(data, alt, caption, width, height)


def _num(value: float, signed: bool = False) -> str:
    return f"{value:+,.2f}" if signed else f"{value:,.2f}"


def _mean_band(summary: xr.Dataset, name: str, at: dict[str, Any], signed: bool) -> str:
    mean = float(summary[f"{name}_mean"].sel(at)) / BILLION
    limits = band(summary)
    if not limits:
        return _num(mean, signed)
    lo, hi = (float(summary[name].sel({**at, "quantile": q})) / BILLION for q in limits)
    return f"{_num(mean, signed)} [{_num(lo, signed)}, {_num(hi, signed)}]"


def _years(da: xr.DataArray | xr.Dataset) -> list[int]:
    return [int(y) for y in da["year"].values]


# ----------------------------------------------------------------------------- alt texts


def _bilateral_alt(name: str, bands: xr.Dataset, pairs: Sequence[tuple[str, str]]) -> str:
    years = _years(bands)
    parts = []
    for o, d in pairs:
        cell = bands["shipped_usd_mean"].sel(origin=o, destination=d) / BILLION
        parts.append(
            f"{o} to {d} from {float(cell.isel(year=0)):.1f} in {years[0]} "
            f"to {float(cell.isel(year=-1)):.1f} in {years[-1]}"
        )
    limits = band(bands)
    extra = f"; shaded: the {band_label(limits)} across runs" if limits else ""
    return (
        f"Line chart of annual bilateral trade in {name}, USD billion: "
        + "; ".join(parts)
        + extra
        + "; crosses: observed values where known."
    )


def _change_alt(base: str, alt: str, metrics: xr.Dataset) -> str:
    parts = []
    if "route" in metrics.dims:
        for r in metrics["route"].values:
            cells = []
            for y in _years(metrics):
                v = float(metrics["route_change_usd_mean"].sel(route=r, year=y)) / BILLION
                b = float(metrics["route_base_usd_mean"].sel(route=r, year=y)) / BILLION
                if abs(v) >= 0.005:
                    pct = f" ({100 * v / b:+.0f}%)" if b > 0 else ""
                    cells.append(f"{y} {v:+.2f}{pct}")
            parts.append(f"{r}: " + (", ".join(cells) or "no change"))
    limits = band(metrics)
    extra = f"; whiskers: the {band_label(limits)} of the paired runs" if limits else ""
    return (
        f"Bar chart of the change in annual trade, {alt} against {base}, USD billion: "
        + "; ".join(parts)
        + extra
        + "."
    )


def _routes_alt(base: str, alt: str, routes: Sequence[Any], shocks: Sequence[Any]) -> str:
    marks = ", ".join(f"{s.start} ({s.name or s.type})" for s in shocks[:4])
    more = f" and {len(shocks) - 4} more" if len(shocks) > 4 else ""
    return (
        f"Line chart of monthly trade, USD billion, on {'; '.join(r.label() for r in routes)}:"
        f" {base} dashed, {alt} solid; dotted lines at the shocks' start dates: {marks}{more}."
    )


def _diversion_alt(base: str, alt: str, importer: str, sector: str, change: xr.DataArray) -> str:
    parts = [
        f"from {o} {float(change.sel(origin=o)) / BILLION:+.2f}"
        for o in change["origin"].values
        if o != importer and abs(float(change.sel(origin=o))) >= 5e6
    ]
    return (
        f"Line chart of {importer}'s monthly imports of {sector} by origin, {base} dashed and"
        f" {alt} solid; change over the horizon, USD billion: " + (", ".join(parts) or "none") + "."
    )


def _currency_alt(name: str, a: str, b: str, flows: Sequence[xr.Dataset]) -> str:
    from tradesim.io.results import settled_value, shares_of

    shares = [shares_of(settled_value(d, [a, b], [a, b]), "currency") for d in flows]
    parts = []
    for c in shares[0]["currency"].values:
        first, last = (float(shares[0].sel(currency=c).isel(month=k)) for k in (0, -1))
        if max(first, last) < 0.005:
            continue
        text = f"{c} {first:.1%} at the start, {last:.1%} at the end"
        if len(shares) > 1:
            text += f" ({float(shares[1].sel(currency=c).isel(month=-1)):.1%} in the alternative)"
        parts.append(text)
    return (
        f"Line charts, one per currency, of the settlement-currency shares of {a}–{b} trade in"
        f" {name}: " + "; ".join(parts) + "."
    )


# ----------------------------------------------------------------------------- tables


def _bilateral_table(name: str, bands: xr.Dataset, pairs: Sequence[tuple[str, str]]) -> _Table:
    years = _years(bands)
    rows = [
        [
            f"{o} → {d}",
            *(
                _mean_band(bands, "shipped_usd", {"origin": o, "destination": d, "year": y}, False)
                for y in years
            ),
        ]
        for o, d in pairs
    ]
    limits = band(bands)
    what = f"mean [{band_label(limits)}]" if limits else "one run"
    return _Table(f"Bilateral trade, {name}, USD billion: {what}", ["", *map(str, years)], rows)


def _shocks_table(alt: Scenario, shocks: Sequence[Any]) -> _Table:
    from tradesim.scenario.display import shock_summary

    rows = [
        [
            s.type,
            s.name or "",
            shock_summary(s, 90),
            str(s.start),
            "" if s.end is None else str(s.end),
        ]
        for s in shocks
    ]
    return _Table(
        f"Shocks of {alt.name} that the base does not have",
        ["type", "name", "what", "start", "end"],
        rows,
        text=True,
    )


def _route_table(alt: str, metrics: xr.Dataset) -> _Table:
    years = _years(metrics)
    rows = []
    for r in metrics["route"].values:
        cells = []
        for y in years:
            at = {"route": r, "year": y}
            text = _mean_band(metrics, "route_change_usd", at, True)
            b = float(metrics["route_base_usd_mean"].sel(at))
            v = float(metrics["route_change_usd_mean"].sel(at))
            if b > 0:
                text += f" ({100 * v / b:+.1f}%)"
            cells.append(text)
        rows.append([str(r), *cells])
    limits = band(metrics)
    what = f"mean [{band_label(limits)}]" if limits else "one paired run"
    return _Table(
        f"Change in trade on the routes {alt} is about, USD billion (percent of base): {what}",
        ["route", *map(str, years)],
        rows,
    )


def _totals_table(alt: str, metrics: xr.Dataset) -> _Table:
    names = {"tariff_revenue_usd": "tariff revenue", "frozen_usd": "frozen payments"}
    totals = metrics[[v for n in names for v in (n, f"{n}_mean")]].sum("year")
    destinations = [str(d) for d in totals["destination"].values]
    rows = [
        [label, *(_mean_band(totals, n, {"destination": d}, True) for d in destinations)]
        for n, label in names.items()
    ]
    return _Table(
        f"Changes over the horizon by destination, {alt}, USD billion",
        ["", *destinations],
        rows,
    )


def _welfare_table(alt: str, metrics: xr.Dataset) -> _Table:
    """Welfare over the horizon by region and for the world: components (means across the
    paired runs) and the total with the band of each run's total."""
    from tradesim.analysis.welfare import WELFARE_COMPONENTS, horizon_rows

    cols = [*(f"welfare_{c}" for c in WELFARE_COMPONENTS), "welfare_usd"]
    heads = ["consumer", "producer", "tariff revenue", "frozen", "settlement", "total"]
    limits = band(metrics)
    rows = []
    for region, values, bounds in horizon_rows(metrics, cols, limits):
        cells = [region, *(_num(v, True) for v in values)]
        if bounds:
            cells.append(f"[{_num(bounds[0], True)}, {_num(bounds[1], True)}]")
        rows.append(cells)
    extra = [band_label(limits) + " of total"] if limits else []
    return _Table(
        f"Welfare over the horizon by region, {alt}, USD billion: exact CES consumer surplus,"
        " producer price effects (terms of trade), tariff revenue, frozen payments and"
        " settlement costs (model documentation, section 11)",
        ["", *heads, *extra],
        rows,
    )


# ----------------------------------------------------------------------------- currency shares


#: Currencies whose share stays below this in every period of a table are left out of it.
SHARE_SHOWN = 0.0005


def _share_stats(
    ensemble: Any,
    agents: Sequence[str],
    freq: Frequency,
    by_sector: bool,
    months: slice | None = None,
) -> xr.Dataset:
    """Currency shares by direction across runs, between the agent economies only (over
    `months` alone if given)."""
    from tradesim.io.currency import share_statistics

    runs = (ensemble.run(i) for i in range(ensemble.runs))
    if months is not None:
        runs = (run.sel(month=months) for run in runs)
    return share_statistics(
        runs,
        ensemble.quantiles,
        freq=freq,
        by_sector=by_sector,
        regions=agents,
    )


def _pct(value: float) -> str:
    return f"{100 * value:.1f}"


def _share_cell(
    stats: xr.Dataset, at: dict[str, Any], base: xr.Dataset | None, with_band: bool = True
) -> str:
    """'mean [lo, hi]' in percent (just the mean without `with_band`), or with a base:
    'mean (change in points)'."""
    mean = float(stats["currency_share_mean"].sel(at))
    if base is not None:
        change = mean - float(base["currency_share_mean"].sel(at))
        return f"{_pct(mean)} ({100 * change:+.1f})"
    limits = band(stats)
    if not limits or not with_band:
        return _pct(mean)
    lo, hi = (float(stats["currency_share"].sel({**at, "quantile": q})) for q in limits)
    return f"{_pct(mean)} [{_pct(lo)}, {_pct(hi)}]"


def _shown(stats: xr.Dataset, base: xr.Dataset | None, **at: Any) -> list[str]:
    """Currencies with a share of at least SHARE_SHOWN in some period, here or in the base."""
    top = stats["currency_share_mean"].sel(at).max("period")
    if base is not None:
        top = xr.concat([top, base["currency_share_mean"].sel(at).max("period")], "k").max("k")
    return [str(c) for c in top["currency"].values if float(top.sel(currency=c)) >= SHARE_SHOWN]


def _directions(agents: Sequence[str]) -> list[tuple[str, str]]:
    return [(o, d) for o in agents for d in agents if o != d]


def _what(stats: xr.Dataset, base: xr.Dataset | None, name: str) -> str:
    if base is not None:
        return f"{name}: mean across runs (change from the base in percentage points)"
    limits = band(stats)
    return f"{name}: mean" + (f" [{band_label(limits)}] across runs" if limits else "")


def currency_share_tables(
    ensemble: Any, agents: Sequence[str], *, base: Any = None, name: str = ""
) -> list[_Table]:
    """Settlement-currency shares by direction (origin -> destination) between the agent
    economies, in percent: annual with the band across runs, quarterly, and annual by
    sector. With `base` (an ensemble paired with `ensemble`), each cell also gives the
    change from the base in percentage points (the mean of the paired differences), both
    over the months the two cover (their common horizon, when the horizons differ)."""
    tables = []
    pairs = _directions(agents)
    stats = {}
    months = None
    if base is not None:
        from tradesim.analysis.horizons import common_horizon

        start, end = common_horizon(base.scenario, ensemble.scenario)
        months = slice(f"{start:%Y-%m}", f"{end:%Y-%m}")
    kinds: tuple[tuple[Frequency, bool], ...] = (
        ("year", False),
        ("quarter", False),
        ("year", True),
    )
    for freq, by_sector in kinds:
        here = _share_stats(ensemble, agents, freq, by_sector, months)
        there = None if base is None else _share_stats(base, agents, freq, by_sector, months)
        stats[(freq, by_sector)] = (here, there)

    here, there = stats[("year", False)]
    periods = [str(p) for p in here["period"].values]
    rows = []
    for o, d in pairs:
        for c in _shown(here, there, origin=o, destination=d):
            at = {"origin": o, "destination": d, "currency": c}
            rows.append(
                [f"{o} → {d}", c, *(_share_cell(here, {**at, "period": p}, there) for p in periods)]
            )
    tables.append(
        _Table(
            "Settlement-currency shares by direction (origin → destination), annual, percent of"
            f" the value shipped, {_what(here, there, name)}",
            ["direction", "currency", *periods],
            rows,
        )
    )

    here, there = stats[("quarter", False)]
    columns = [(o, d, c) for o, d in pairs for c in _shown(here, there, origin=o, destination=d)]
    rows = []
    for p in here["period"].values:
        cells = [
            _share_cell(
                here,
                {"origin": o, "destination": d, "currency": c, "period": p},
                there,
                with_band=False,
            )
            for o, d, c in columns
        ]
        rows.append([str(p), *cells])
    tables.append(
        _Table(
            "Settlement-currency shares by direction, quarterly, percent: mean across runs"
            + (" (change from the base in points)" if there is not None else ""),
            ["quarter", *(f"{o} → {d} {c}" for o, d, c in columns)],
            rows,
        )
    )

    here, there = stats[("year", True)]
    periods = [str(p) for p in here["period"].values]
    rows = []
    for o, d in pairs:
        for sec in here["sector"].values:
            for c in _shown(here, there, origin=o, destination=d, sector=sec):
                at = {"origin": o, "destination": d, "sector": sec, "currency": c}
                cells = [
                    _share_cell(here, {**at, "period": p}, there, with_band=False) for p in periods
                ]
                rows.append([f"{o} → {d}", str(sec), c, *cells])
    tables.append(
        _Table(
            "Settlement-currency shares by direction and sector, annual, percent: mean across"
            " runs" + (" (change from the base in points)" if there is not None else ""),
            ["direction", "sector", "currency", *periods],
            rows,
        )
    )
    return tables


# ----------------------------------------------------------------------------- report


def _manifest_text(info: dict[str, Any], overrides: Sequence[str]) -> str:
    shown = {k: v for k, v in info.items() if k != "scenario"}
    shown["overrides"] = list(overrides)
    return json.dumps(shown, indent=2)


def html_report(
    base: Scenario,
    alternatives: Sequence[Scenario],
    *,
    runs: int = DEFAULT_RUNS,
    quantiles: Sequence[float] = (0.05, 0.95),
    sources: dict[str, Sequence[str | Path]] | None = None,
    overrides: Sequence[str] = (),
    work_dir: str | Path | None = None,
    executor: str = "processes",
    workers: int | None = None,
    progress: Any = True,
) -> str:
    """Run each alternative against the base as `runs` paired runs and return the report.

    Parameters
    ----------
    runs
        Paired runs per scenario (default `DEFAULT_RUNS`); bands need at least 2.
    quantiles
        The band's quantiles across runs.
    sources
        Scenario files by scenario name, hashed into the manifests.
    overrides
        The `--set` assignments applied to every scenario, recorded in the report.
    work_dir
        Where the runs are written (and resumed from); a temporary folder by default.
    """
    from tradesim.analysis.calibrate import load_observed
    from tradesim.analysis.ensemble import compare
    from tradesim.io.plot import (
        bilateral_figure,
        comparison_figure,
        currency_shares_figure,
        diversion_figure,
        routes_figure,
        source_note,
    )
    from tradesim.io.results import SimulationResult, manifest
    from tradesim.scenario.focus import added_shocks

    sources = sources or {}
    agents = list(base.economies)
    pairs = [(a, b) for a in agents for b in agents if a != b]
    observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
    with tempfile.TemporaryDirectory(prefix="tradesim-report-") as tmp:
        root = Path(work_dir) if work_dir is not None else Path(tmp)
        comparisons = [
            compare(
                base,
                alt,
                runs=runs,
                out=root,
                executor=executor,
                workers=workers,
                quantiles=quantiles,
                progress=progress,
            )
            for alt in alternatives
        ]
        if comparisons:
            base_ens = comparisons[0].base
        else:
            from tradesim.analysis.ensemble import run_ensemble

            base_ens = run_ensemble(
                base,
                runs=runs,
                out=root / "base",
                executor=executor,  # type: ignore[arg-type]
                workers=workers,
                quantiles=quantiles,
                progress=progress,
            )
        bands = base_ens.bilateral_bands()
        base_flows = xr.Dataset({"shipped_usd": base_ens.mean_flows()})
        note = source_note([base.name], seed=base.seed, runs=runs, observed=bool(observed))
        base_figures = [
            _embed(
                bilateral_figure(
                    bands,
                    pairs,
                    observed=observed,
                    title=f"Bilateral trade, {base.name}",
                    note=note,
                    shocks=list(base.shocks),
                ),
                _bilateral_alt(base.name, bands, pairs),
                f"Annual bilateral trade between {', '.join(agents)} in {base.name}.",
            )
        ]
        if len(agents) >= 2:
            base_figures.append(
                _embed(
                    currency_shares_figure(
                        base_flows,
                        agents[0],
                        agents[1],
                        title=f"Settlement-currency shares of {agents[0]}–{agents[1]} trade,"
                        f" {base.name}",
                        note=source_note([base.name], seed=base.seed, runs=runs)
                        + " Shares of the mean flows across runs.",
                        shocks=list(base.shocks),
                    ),
                    _currency_alt(base.name, agents[0], agents[1], [base_flows]),
                    "Settlement-currency shares, one panel per currency, each with its own scale.",
                )
            )
        first = SimulationResult(scenario=base, seed=base.seed, data=base_ens.run(0))
        manifests = {
            base.name: _manifest_text(
                {**manifest(first, sources.get(base.name, ())), "runs": runs}, overrides
            )
        }
        sections = []
        for k, cmp in enumerate(comparisons):
            alt = cmp.alternative.scenario
            metrics = cmp.metrics()
            routes = cmp.routes
            new = added_shocks(alt, base)
            alt_flows = xr.Dataset({"shipped_usd": cmp.alternative.mean_flows()})
            names = (base.name, alt.name)
            note = source_note(list(names), seed=base.seed, runs=runs, paired=True)
            section = _Section(
                name=alt.name,
                anchor=f"alt-{k}",
                description=alt.description,
                routes=[r.label() for r in routes],
                shocks=_shocks_table(alt, new),
                horizon=_horizon_text(base, alt),
            )
            section.figures.append(
                _embed(
                    comparison_figure(metrics, pairs, note=note),
                    _change_alt(base.name, alt.name, metrics),
                    "Change in annual trade on the routes the alternative's shocks touch.",
                )
            )
            if routes:
                section.figures.append(
                    _embed(
                        routes_figure(
                            base_flows,
                            routes,
                            alt=alt_flows,
                            names=names,
                            shocks=new,
                            title=f"{alt.name} against {base.name}: monthly trade on its routes",
                            note=note + " Mean flows across runs.",
                        ),
                        _routes_alt(base.name, alt.name, routes, new),
                        "Monthly trade on the alternative's routes, base and alternative.",
                    )
                )
                importer = routes[0].destination
                moved = abs(metrics["imports_by_origin_usd_mean"].sel(importer=importer))
                sector = (
                    routes[0].sectors[0]
                    if routes[0].sectors
                    else str(moved.max("origin").idxmax("sector").values)
                )
                change = metrics["imports_by_origin_usd_mean"].sel(importer=importer, sector=sector)
                section.figures.append(
                    _embed(
                        diversion_figure(
                            base_flows,
                            alt_flows,
                            importer,
                            sector,
                            names=names,
                            shocks=new,
                            note=note + " Mean flows across runs.",
                        ),
                        _diversion_alt(base.name, alt.name, importer, sector, change),
                        f"Where {importer}'s purchases of {sector} went: trade diversion.",
                    )
                )
                section.tables.append(_route_table(alt.name, metrics))
            section.tables.append(_totals_table(alt.name, metrics))
            section.tables.append(_welfare_table(alt.name, metrics))
            if len(agents) >= 2:
                section.figures.append(
                    _embed(
                        currency_shares_figure(
                            base_flows,
                            agents[0],
                            agents[1],
                            alt=alt_flows,
                            names=names,
                            shocks=new,
                            note=note + " Shares of the mean flows across runs.",
                        ),
                        _currency_alt(
                            f"{base.name} and {alt.name}",
                            agents[0],
                            agents[1],
                            [base_flows, alt_flows],
                        ),
                        "Settlement-currency shares, base dashed, alternative solid.",
                    )
                )
            if len(agents) >= 2:
                section.tables += currency_share_tables(
                    cmp.alternative, agents, base=cmp.base, name=alt.name
                )
            sections.append(section)
            alt_first = SimulationResult(scenario=alt, seed=base.seed, data=cmp.alternative.run(0))
            manifests[alt.name] = _manifest_text(
                {**manifest(alt_first, sources.get(alt.name, ())), "runs": runs}, overrides
            )
        limits = band(bands)
        base_tables = [_bilateral_table(base.name, bands, pairs)]
        if len(agents) >= 2:
            base_tables += currency_share_tables(base_ens, agents, name=base.name)
    return _render(
        base=base,
        alternatives=list(alternatives),
        runs=runs,
        band=band_label(limits) if limits else "",
        overrides=list(overrides),
        version=__version__,
        created=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M UTC"),
        base_figures=base_figures,
        base_tables=base_tables,
        sections=sections,
        manifests=manifests,
    )


def _horizon_text(base: Scenario, alt: Scenario) -> str:
    """How a comparison pairs horizons that differ, as a sentence of the report (the paired
    tables and the change figure cover the months both scenarios share); empty if they do
    not differ."""
    from tradesim.analysis.horizons import align_horizons

    _, note = align_horizons(base, alt, extend_base=False, option=None)
    if not note:
        return ""
    lines = [line.removeprefix("note: ") for line in note.splitlines()]
    text = "; ".join(line[:1].upper() + line[1:] for line in lines)
    return (
        f"{text}. Changes, welfare and currency-share changes cover those months; the"
        " monthly figures show each scenario's whole horizon."
    )


def _render(**context: Any) -> str:
    try:
        import jinja2
    except ImportError:
        from tradesim.errors import TradesimError

        raise TradesimError("the report needs jinja2: pip install 'tradesim[plot]'") from None
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
        autoescape=True,  # every value from a scenario file is text, never markup
        undefined=jinja2.StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
    )
    return env.get_template("report.html.j2").render(**context)
