"""Figures for a brief: titled with the scenario names, with a source note, shock dates
marked, bands labelled, shares on percent axes, 300 dpi PNG beside SVG.

matplotlib is imported on first use, with the non-interactive Agg backend, so that importing
tradesim stays light and works without a display. Each function returns a Figure; `save`
writes it as PNG and SVG. The routes a figure shows default to those its scenario's shocks
touch (`tradesim.scenario.focus`).
"""

from __future__ import annotations

import datetime as dt
import functools
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import xarray as xr

from tradesim._version import __version__
from tradesim.errors import TradesimError
from tradesim.io.bands import band, band_label
from tradesim.io.routes import route_values
from tradesim.scenario.focus import Route

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

__all__ = [
    "bilateral_figure",
    "calibration_figure",
    "comparison_figure",
    "comparison_plot",
    "currency_shares_figure",
    "diversion_figure",
    "ensemble_figure",
    "plain_text",
    "plot_result_dir",
    "result_figure",
    "routes_figure",
    "save",
    "source_note",
]

BILLION = 1e9
#: PNG resolution: 300 dpi, the usual minimum for print (e.g. the Chicago Manual of Style's
#: guidance for halftones), so a figure pasted into a brief stays sharp.
DPI = 300
FIGSIZE = (7.5, 4.4)
#: Currencies whose share never reaches this are left out of share figures (and said so).
MIN_SHARE = 0.005
OBSERVED_SOURCE = "observed: China customs (GACC)"


def _pyplot() -> Any:
    try:
        import matplotlib
    except ImportError:
        raise TradesimError("figures need matplotlib: pip install 'tradesim[plot]'") from None
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    return plt


_F = TypeVar("_F", bound=Callable[..., Any])


def _plain(function: _F) -> _F:
    """Build a figure with mathtext off (see `plain_text`): a figure function lays out its
    text (tight_layout) before returning, so the switch must hold while it runs."""

    @functools.wraps(function)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        import matplotlib

        _pyplot()
        with matplotlib.rc_context({"text.parse_math": False}):
            return function(*args, **kwargs)

    return typing.cast(_F, wrapper)


def plain_text(fig: Figure) -> Figure:
    """Show every text of `fig` as written: no mathtext.

    Labels and titles carry scenario, region and sector names, which are user input; a
    name such as ``$\\undefined{x}$`` would otherwise be parsed as mathtext and fail (or
    render as something else) when the figure is drawn. tradesim's own labels use no
    mathtext, so it is switched off for every text before rendering.
    """
    from matplotlib.text import Text

    for text in fig.findobj(Text):
        text.set_parse_math(False)
    return fig


def save(fig: Figure, path: str | Path) -> list[Path]:
    """Write `fig` as path.png (300 dpi) and path.svg; returns both paths."""
    from tradesim.io.outputs import atomic_write
    from tradesim.io.results import writer

    plain_text(fig)
    base = Path(path).with_suffix("")
    out = []
    for fmt in ("png", "svg"):
        target = base.with_suffix(f".{fmt}")
        atomic_write(target, writer(fig, "savefig", format=fmt, dpi=DPI))
        out.append(target)
    _pyplot().close(fig)
    return out


def source_note(
    scenarios: Sequence[str],
    *,
    seed: int | str | None = None,
    runs: int = 1,
    paired: bool = False,
    observed: bool = False,
) -> str:
    """'Source: tradesim 0.1.0 simulation, scenario X, seed S, 10 runs; observed: ...'."""
    names = ", ".join(scenarios)
    plural = "s" if len(scenarios) > 1 else ""
    text = f"Source: tradesim {__version__} simulation, scenario{plural} {names}"
    if seed is not None:
        text += f", seed {seed}"
    if runs > 1:
        text += f", {runs} {'paired ' if paired else ''}runs"
    elif paired:
        text += ", one paired run"
    if observed:
        text += f"; {OBSERVED_SOURCE}"
    return text + "."


def _finish(fig: Figure, title: str, note: str) -> None:
    """Title at the top left and source note at the bottom left, both wrapped to the
    figure's width, with room kept for them."""
    import textwrap

    width, height = fig.get_size_inches()
    heading = textwrap.wrap(title, int(width * 10)) or [
        ""
    ]  # about 10 bold 11 pt characters an inch
    fig.suptitle(
        "\n".join(heading),
        x=0.01,
        y=1 - 0.08 / height,
        ha="left",
        va="top",
        fontsize=11,
        fontweight="bold",
    )
    lines = textwrap.wrap(note, int(width * 20)) if note else []
    if lines:
        fig.text(
            0.01,
            0.04 / height,
            "\n".join(lines),
            fontsize=7,
            color="0.3",
            ha="left",
            va="bottom",
            linespacing=1.3,
        )
    bottom = (0.08 + 0.135 * len(lines)) / height if lines else 0
    top = 1 - (0.3 + 0.2 * (len(heading) - 1)) / height
    fig.tight_layout(rect=(0, bottom, 1, top), pad=0.4, h_pad=0.4)


def _shock_label(shock: Any) -> str:
    text = shock.name or f"{shock.type} {shock.start}"
    return text if len(text) <= 38 else text[:37] + "…"


def _as_datetime(day: dt.date) -> np.datetime64:
    return np.datetime64(day.isoformat(), "D")


def _mark_shocks(
    ax: Axes,
    shocks: Sequence[Any],
    *,
    annual: bool = False,
    numbered: bool = False,
    label: bool = True,
) -> list[str]:
    """A dotted line at each shock's start within the axis range. Shocks within two months
    of each other share one mark, so that labels never overlap. Labels are written along
    the line, or, with `numbered` (for short panels), as numbers above the axis whose key
    is returned ('1: name (date)') for the source note."""
    if not shocks:
        return []
    lo, hi = ax.get_xlim()
    groups: list[tuple[float, list[Any]]] = []
    for shock in sorted(shocks, key=lambda s: s.start):
        if annual:
            x = shock.start.year + (shock.start.timetuple().tm_yday - 1) / 365.0
            near = 2 / 12
        else:
            import matplotlib.dates as mdates

            x = float(mdates.date2num(shock.start))
            near = 61.0
        if not lo <= x <= hi:
            continue
        if groups and x - groups[-1][0] < near:
            groups[-1][1].append(shock)
        else:
            groups.append((x, [shock]))
    key = []
    for k, (x, group) in enumerate(groups, start=1):
        ax.axvline(x, color="0.35", ls=":", lw=1, zorder=1)
        names = list(dict.fromkeys(_shock_label(s) for s in group))
        text = names[0] if len(names) == 1 else f"{names[0]} (+{len(names) - 1})"
        full = dict.fromkeys(s.name or f"{s.type} {s.start}" for s in group)
        key.append(f"{k} ({group[0].start}): {', '.join(full)}")
        if not label:
            continue
        if numbered:
            ax.annotate(
                str(k),
                xy=(x, 1.0),
                xycoords=("data", "axes fraction"),
                xytext=(0, 2),
                textcoords="offset points",
                fontsize=7,
                color="0.25",
                ha="center",
                va="bottom",
            )
            continue
        ax.annotate(
            text,
            xy=(x, 0.98),
            xycoords=("data", "axes fraction"),
            xytext=(-3, 0),
            textcoords="offset points",
            rotation=90,
            fontsize=7,
            color="0.25",
            ha="right",
            va="top",
            bbox={"boxstyle": "square,pad=0.1", "fc": "white", "ec": "none", "alpha": 0.75},
        )
    ax.set_xlim(lo, hi)
    return key


def _legend_below(ax: Axes, handles: Any = None, labels: Any = None, ncol: int = 3) -> None:
    """The legend under the axes, where it cannot hide data."""
    args = () if handles is None else (handles, labels)
    ax.legend(
        *args, fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.14), ncol=ncol, frameon=False
    )


def _date_axis(ax: Axes) -> None:
    """Horizontal, concise month labels (no rotation, so the legend below has room)."""
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(minticks=4, maxticks=10)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _percent_axis(ax: Axes) -> None:
    from matplotlib.ticker import PercentFormatter

    low, high = ax.get_ylim()
    ax.yaxis.set_major_formatter(PercentFormatter(1.0, decimals=1 if high - low < 0.1 else 0))


# ----------------------------------------------------------------------------- figures


@_plain
def bilateral_figure(
    annual: xr.DataArray | xr.Dataset,
    pairs: Sequence[tuple[str, str]],
    *,
    observed: Sequence[Any] = (),
    title: str = "Bilateral trade",
    note: str = "",
    shocks: Sequence[Any] = (),
    variable: str = "shipped_usd",
) -> Figure:
    """Annual trade by direction: a line per direction (one run's values, or the mean of a
    summary across runs with its labelled band), observed points where given, shock dates
    marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    years = annual["year"].values
    limits = band(annual) if isinstance(annual, xr.Dataset) else None
    runs = int(annual.attrs.get("runs", 0)) if isinstance(annual, xr.Dataset) else 0
    for k, (o, d) in enumerate(pairs):
        color = f"C{k}"
        if isinstance(annual, xr.Dataset):
            cell = annual[f"{variable}_mean"].sel(origin=o, destination=d) / BILLION
            ax.plot(years, cell, color=color, marker="o", label=f"{o} → {d}, mean of runs")
            if limits:
                q = annual[variable].sel(origin=o, destination=d) / BILLION
                across = f" across {runs} runs" if runs else ""
                ax.fill_between(
                    years,
                    q.sel(quantile=limits[0]),
                    q.sel(quantile=limits[1]),
                    color=color,
                    alpha=0.2,
                    label=f"{o} → {d}, {band_label(limits)}{across}",
                )
        else:
            cell = annual.sel(origin=o, destination=d) / BILLION
            ax.plot(years, cell, color=color, marker="o", label=f"{o} → {d}, simulated")
        points = [
            (ob.year, ob.value_usd / BILLION)
            for ob in observed
            if (ob.origin, ob.destination) == (o, d)
        ]
        if points:
            xs, ys = zip(*points, strict=True)
            ax.scatter(
                xs, ys, color=color, marker="x", s=60, zorder=3, label=f"{o} → {d}, observed"
            )
    ax.set(ylabel="USD billion a year", xticks=years)
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlim(years[0] - 0.3, years[-1] + 0.3)
    key = _mark_shocks(ax, shocks, annual=True, numbered=True)
    if key:
        note = f"{note} Dotted lines: {'; '.join(key)}.".strip()
    _legend_below(ax, ncol=2)
    ax.grid(alpha=0.3)
    _finish(fig, title, note)
    return fig


@_plain
def routes_figure(
    data: xr.Dataset,
    routes: Sequence[Route],
    *,
    alt: xr.Dataset | None = None,
    names: tuple[str, str] = ("base", "alternative"),
    shocks: Sequence[Any] = (),
    title: str = "Trade on the routes the scenario's shocks touch",
    note: str = "",
    variable: str = "shipped_usd",
) -> Figure:
    """Monthly value shipped on each route (its sectors only); with `alt`, the base dashed
    and the alternative solid. Shock dates are marked."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=FIGSIZE)
    base = route_values(data, routes, annual=False, variable=variable) / BILLION
    other = None if alt is None else route_values(alt, routes, annual=False, variable=variable)
    months = base["month"].values
    for k, label in enumerate(base["route"].values):
        color = f"C{k}"
        if other is None:
            ax.plot(months, base.sel(route=label), color=color, label=str(label))
        else:
            ax.plot(months, base.sel(route=label), color=color, ls="--", lw=1)
            series = other.sel(route=label) / BILLION
            ax.plot(series["month"].values, series, color=color, label=str(label))
    if other is not None:
        from matplotlib.lines import Line2D

        handles, labels = ax.get_legend_handles_labels()
        handles += [Line2D([], [], color="0.3", ls="--", lw=1), Line2D([], [], color="0.3")]
        labels += [names[0], names[1]]
        _legend_below(ax, handles, labels, ncol=2)
    else:
        _legend_below(ax, ncol=2)
    ax.set(ylabel="USD billion a month")
    ax.set_ylim(bottom=0)
    _mark_shocks(ax, shocks)
    ax.grid(alpha=0.3)
    for one in fig.axes:
        _date_axis(one)
    _finish(fig, title, note)
    return fig


@_plain
def currency_shares_figure(
    data: xr.Dataset,
    a: str,
    b: str,
    *,
    alt: xr.Dataset | None = None,
    names: tuple[str, str] = ("base", "alternative"),
    shocks: Sequence[Any] = (),
    title: str | None = None,
    note: str = "",
) -> Figure:
    """Settlement-currency shares of the trade between a and b (both ways), monthly: one
    panel per currency with its own zoomed percent axis, so that a move of a fraction of a
    point in a share near 95% is as visible as one in a share near 3%. With `alt`, the base
    dashed and the alternative solid."""
    plt = _pyplot()
    from tradesim.io.results import settled_value, shares_of

    series = [
        shares_of(settled_value(d, [a, b], [a, b]), "currency")
        for d in (data, alt)
        if d is not None
    ]
    currencies = [str(c) for c in series[0]["currency"].values]
    peak = {c: max(float(one.sel(currency=c).max()) for one in series) for c in currencies}
    keep = [c for c in currencies if peak[c] >= MIN_SHARE]
    dropped = [c for c in currencies if c not in keep]
    fig, axes = plt.subplots(
        len(keep), 1, figsize=(FIGSIZE[0], 1.5 + 1.3 * len(keep)), sharex=True, squeeze=False
    )
    key: list[str] = []
    for ax, cur, k in zip(axes[:, 0], keep, range(len(keep)), strict=True):
        for j, one in enumerate(series):
            style = {"ls": "--", "lw": 1} if j == 0 and len(series) == 2 else {}
            ax.plot(
                one["month"].values,
                one.sel(currency=cur),
                color=f"C{k}",
                label=names[j] if len(series) == 2 else None,
                **style,
            )
        ax.set_ylabel(cur, rotation=0, ha="right", va="center", fontsize=9)
        ax.margins(y=0.25)
        _percent_axis(ax)
        ax.grid(alpha=0.3)
        key = _mark_shocks(ax, shocks, numbered=True, label=k == 0)
    if len(series) == 2:
        axes[-1, 0].legend(
            fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.35), ncol=2, frameon=False
        )
    for one in fig.axes:
        _date_axis(one)
    if key:
        note = f"{note} Dotted lines: {'; '.join(key)}.".strip()
    if dropped:
        note = f"{note} Not shown (share below {MIN_SHARE:.1%}): {', '.join(dropped)}.".strip()
    if title is None:
        title = f"Settlement-currency shares of {a}–{b} trade (both ways)"
        if alt is not None:
            title += f": {names[1]} against {names[0]}"
        elif data.attrs.get("scenario"):
            title += f", {data.attrs['scenario']}"
    _finish(fig, title, note)
    return fig


@_plain
def diversion_figure(
    base: xr.Dataset,
    alt: xr.Dataset,
    importer: str,
    sector: str,
    *,
    names: tuple[str, str] = ("base", "alternative"),
    shocks: Sequence[Any] = (),
    title: str | None = None,
    note: str = "",
) -> Figure:
    """Monthly purchases of one sector by an importer, by origin, base (dashed) against the
    alternative (solid): where trade was diverted to. Origins with no trade are left out."""
    plt = _pyplot()
    from matplotlib.lines import Line2D

    fig, ax = plt.subplots(figsize=FIGSIZE)
    for k, origin in enumerate(base["origin"].values):
        if origin == importer:
            continue
        series = [
            d["shipped_usd"].sel(origin=origin, destination=importer, sector=sector).sum("currency")
            / BILLION
            for d in (base, alt)
        ]
        if float(series[0].max()) == 0 and float(series[1].max()) == 0:
            continue
        ax.plot(series[0]["month"].values, series[0], color=f"C{k}", ls="--", lw=1)
        ax.plot(series[1]["month"].values, series[1], color=f"C{k}", label=f"from {origin}")
    handles, labels = ax.get_legend_handles_labels()
    handles += [Line2D([], [], color="0.3", ls="--", lw=1), Line2D([], [], color="0.3")]
    labels += names
    _legend_below(ax, handles, labels, ncol=3)
    ax.set(ylabel="USD billion a month")
    ax.set_ylim(bottom=0)
    _mark_shocks(ax, shocks)
    ax.grid(alpha=0.3)
    for one in fig.axes:
        _date_axis(one)
    if title is None:
        title = f"{importer}'s imports of {sector} by origin: {names[1]} against {names[0]}"
    _finish(fig, title, note)
    return fig


@_plain
def comparison_figure(
    metrics: xr.Dataset,
    pairs: Sequence[tuple[str, str]] = (),
    *,
    title: str | None = None,
    note: str = "",
) -> Figure:
    """Change in annual trade (alternative - base, paired runs) on the routes the
    alternative's shocks touch (`route_change_usd`), or between `pairs` of economies, with
    the band of the paired differences as labelled whiskers and the change in percent of the
    base at the foot of each bar. Years with no change on any route are left out."""
    plt = _pyplot()
    limits = band(metrics)
    if "route_change_usd" in metrics and metrics.sizes.get("route", 0):
        mean = metrics["route_change_usd_mean"] / BILLION
        quant = metrics["route_change_usd"] / BILLION
        base = metrics["route_base_usd_mean"] / BILLION
        labels = [str(r) for r in metrics["route"].values]
        cells = [{"route": r} for r in metrics["route"].values]
    else:
        mean = metrics["bilateral_usd_mean"] / BILLION
        quant = metrics["bilateral_usd"] / BILLION
        base = None
        labels = [f"{o} → {d}" for o, d in pairs]
        cells = [{"origin": o, "destination": d} for o, d in pairs]
    all_years = [int(y) for y in metrics["year"].values]
    size = np.nan_to_num(
        np.array([[abs(float(mean.sel(c).sel(year=y))) for y in all_years] for c in cells])
    )
    largest = float(size.max()) if size.size else 0.0
    years = [y for k, y in enumerate(all_years) if largest and size[:, k].max() > 1e-3 * largest]
    years = years or all_years
    fig, ax = plt.subplots(figsize=FIGSIZE)
    width = min(0.8 / max(1, len(cells)), 0.3)
    runs = int(metrics.attrs.get("runs", 1))
    for k, (label, cell) in enumerate(zip(labels, cells, strict=True)):
        values = np.array([float(mean.sel(cell).sel(year=y)) for y in years])
        x = np.arange(len(years)) + (k - (len(cells) - 1) / 2) * width
        ax.bar(x, values, width, color=f"C{k}", label=label)
        if limits:
            lo, hi = (
                np.array([float(quant.sel(cell).sel(year=y, quantile=q)) for y in years])
                for q in limits
            )
            ax.errorbar(
                x,
                values,
                yerr=np.abs(np.stack([values - lo, hi - values])),
                fmt="none",
                ecolor="0.2",
                capsize=3,
                lw=1,
                label=f"{band_label(limits)} of {runs} paired runs" if k == 0 else None,
            )
        if base is not None and len(cells) <= 3:
            for xi, v, y in zip(x, values, years, strict=True):
                b = float(base.sel(cell).sel(year=y))
                if b > 0 and np.isfinite(v) and abs(v) > 1e-3 * largest:
                    # at the zero line, on the other side from the bar and its whisker
                    ax.annotate(
                        f"{100 * v / b:+.0f}%",
                        xy=(xi, 0),
                        xytext=(0, -3 if v >= 0 else 3),
                        textcoords="offset points",
                        ha="center",
                        va="top" if v >= 0 else "bottom",
                        fontsize=7,
                    )
    ax.axhline(0, color="black", lw=0.8)
    ax.set(
        xticks=np.arange(len(years)),
        ylabel="change, USD billion a year",
    )
    ax.set_xticklabels([str(y) for y in years])
    ax.set_xlim(-0.6, len(years) - 0.4)
    ax.margins(y=0.15)
    ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(0, -0.09), ncol=2, frameon=False)
    ax.grid(alpha=0.3, axis="y")
    if title is None:
        alt_name = metrics.attrs.get("alternative_scenario", "alternative")
        base_name = metrics.attrs.get("base_scenario", "base")
        title = f"{alt_name} against {base_name}: change in trade"
    _finish(fig, title, note)
    return fig


@_plain
def calibration_figure(report: Any, *, note: str = "") -> Figure:
    """Observed against fitted values, with residuals in percent; out-of-sample years in
    red. One tick per moment, labels set apart so that they never overlap."""
    plt = _pyplot()
    moments = report.moments if hasattr(report, "moments") else report["moments"]
    # the annual totals (a report also holds composition, currency and episode moments)
    moments = [m for m in moments if "observed_usd" in m]
    labels = [f"{m['year']}\n{m['origin']}→{m['destination']}" for m in moments]
    x = np.arange(len(moments))
    fig, (top, bottom) = plt.subplots(
        2,
        1,
        figsize=(max(FIGSIZE[0], 0.75 * len(moments)), 5.2),
        sharex=True,
        gridspec_kw={"height_ratios": [3, 1.2]},
    )
    top.bar(x - 0.2, [m["observed_usd"] / BILLION for m in moments], 0.4, label="observed")
    top.bar(x + 0.2, [m["fitted_usd"] / BILLION for m in moments], 0.4, label="fitted")
    top.set(ylabel="USD billion a year")
    top.legend(fontsize=8)
    colors = ["C2" if m["in_sample"] else "C3" for m in moments]
    bottom.bar(x, [m["residual_pct"] for m in moments], color=colors)
    bottom.axhline(0, color="black", lw=0.8)
    bottom.set(ylabel="residual, %", xticks=x)
    bottom.set_xticklabels(labels, fontsize=7 if len(moments) > 8 else 8)
    _finish(
        fig,
        "Calibration fit: observed and fitted annual trade",
        note
        or f"Source: tradesim {__version__} calibration; {OBSERVED_SOURCE}."
        " Red residuals: years held out of the fit.",
    )
    return fig


# ----------------------------------------------------------------------------- objects


def result_figure(result: Any, kind: str = "routes", **options: Any) -> Figure:
    """The figure `SimulationResult.plot` draws."""
    from tradesim.analysis.calibrate import load_observed
    from tradesim.scenario.focus import shock_routes

    s = result.scenario
    agents = list(s.economies)
    observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
    options.setdefault("shocks", list(s.shocks))
    if kind == "routes":
        options.setdefault("note", source_note([s.name], seed=result.seed))
        options.setdefault("title", f"Trade on the routes {s.name} is about")
        return routes_figure(result.data, shock_routes(s), **options)
    if kind == "bilateral":
        options.setdefault("note", source_note([s.name], seed=result.seed, observed=bool(observed)))
        options.setdefault("title", f"Bilateral trade, {s.name}")
        pairs = [(a, b) for a in agents for b in agents if a != b]
        return bilateral_figure(result.annual_bilateral(), pairs, observed=observed, **options)
    if kind == "currency":
        options.setdefault("note", source_note([s.name], seed=result.seed))
        return currency_shares_figure(result.data, agents[0], agents[1], **options)
    raise ValueError(f"unknown kind {kind!r}; choose from routes, bilateral, currency")


def ensemble_figure(ens: Any, kind: str = "bilateral", **options: Any) -> Figure:
    """The figure `EnsembleResult.plot` draws: "bilateral" (annual trade with its band),
    "routes" or "currency" (of the mean monthly flows across runs)."""
    from tradesim.analysis.calibrate import load_observed
    from tradesim.scenario.focus import shock_routes

    s = ens.scenario
    agents = list(s.economies)
    options.setdefault("shocks", list(s.shocks))
    if kind == "bilateral":
        observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
        options.setdefault(
            "note", source_note([s.name], seed=s.seed, runs=ens.runs, observed=bool(observed))
        )
        options.setdefault("title", f"Bilateral trade, {s.name}")
        pairs = [(a, b) for a in agents for b in agents if a != b]
        return bilateral_figure(ens.bilateral_bands(), pairs, observed=observed, **options)
    data = xr.Dataset({"shipped_usd": ens.mean_flows()}, attrs={"scenario": s.name})
    options.setdefault(
        "note", source_note([s.name], seed=s.seed, runs=ens.runs) + " Mean across runs."
    )
    if kind == "routes":
        options.setdefault("title", f"Trade on the routes {s.name} is about")
        return routes_figure(data, shock_routes(s), **options)
    if kind == "currency":
        return currency_shares_figure(data, agents[0], agents[1], **options)
    raise ValueError(f"unknown kind {kind!r}; choose from bilateral, routes, currency")


def comparison_plot(cmp: Any, kind: str = "change", **options: Any) -> Figure:
    """The figure `Comparison.plot` draws: "change" (annual change on the alternative's
    routes with its band), "routes" (monthly trade on those routes, base and alternative),
    "currency" (settlement-currency shares, base and alternative) or "diversion" (the first
    route's importer's purchases of its first sector by origin). Monthly figures show mean
    flows across runs."""
    base, alt = cmp.base.scenario, cmp.alternative.scenario
    names = (base.name, alt.name)
    options.setdefault(
        "note", source_note(list(names), seed=base.seed, runs=cmp.base.runs, paired=True)
    )
    if kind == "change":
        return comparison_figure(cmp.metrics(), **options)
    routes = cmp.routes
    from tradesim.scenario.focus import added_shocks

    options.setdefault("shocks", added_shocks(alt, base))
    b = xr.Dataset({"shipped_usd": cmp.base.mean_flows()})
    a = xr.Dataset({"shipped_usd": cmp.alternative.mean_flows()})
    if kind == "routes":
        options.setdefault("title", f"{alt.name} against {base.name}: trade on its routes")
        return routes_figure(b, routes, alt=a, names=names, **options)
    if kind == "currency":
        agents = list(base.economies)
        return currency_shares_figure(b, agents[0], agents[1], alt=a, names=names, **options)
    if kind == "diversion":
        route = routes[0]
        sector = route.sectors[0] if route.sectors else str(b["sector"].values[0])
        return diversion_figure(b, a, route.destination, sector, names=names, **options)
    raise ValueError(f"unknown kind {kind!r}; choose from change, routes, currency, diversion")


# ----------------------------------------------------------------------------- folders


def _scenario_from_manifest(info: dict[str, Any]) -> Any:
    from tradesim.scenario import scenario_from_dict

    try:
        return scenario_from_dict(info["scenario"])
    except Exception:  # an old or hand-edited manifest: figures without shock marks
        return None


FIGURE_NAMES = ("bilateral", "routes", "currency_shares", "comparison")


def plot_result_dir(path: str | Path, *, force: bool = True) -> list[Path]:
    """Write the figures that fit the outputs in `path` (a run, an ensemble or a comparison)
    next to them; returns the files written. With `force=False`, existing figures are an
    error, not overwritten; unreadable outputs are a TradesimError naming the file."""
    path = Path(path)
    if not force:
        present = [
            path / f"{name}.{fmt}"
            for name in FIGURE_NAMES
            for fmt in ("png", "svg")
            if (path / f"{name}.{fmt}").exists()
        ]
        if present:
            raise TradesimError(f"{present[0]} exists; use --force to overwrite the figures")
    try:
        return _plot_result_dir(path)
    except (OSError, ValueError, KeyError, TypeError, IndexError) as exc:
        if isinstance(exc, TradesimError):
            raise
        raise TradesimError(
            f"{path}: cannot make figures from the outputs ({type(exc).__name__}: {exc}); run the"
            " scenario again to rewrite them"
        ) from exc


def _plot_result_dir(path: Path) -> list[Path]:
    import json

    from tradesim.analysis.calibrate import load_observed
    from tradesim.scenario.focus import shock_routes

    written: list[Path] = []
    manifest = path / "manifest.json"
    info = json.loads(manifest.read_text()) if manifest.exists() else {}
    scenario = _scenario_from_manifest(info) if info else None
    name = info.get("scenario_name", path.name)
    seed = info.get("seed")
    agents = list(info.get("scenario", {}).get("economies", {}))
    pairs = [(a, b) for a in agents for b in agents if a != b]
    shocks = list(scenario.shocks) if scenario else []
    routes = shock_routes(scenario) if scenario else []
    observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
    if (path / "summary_annual.nc").exists():  # an ensemble
        from tradesim.analysis.ensemble import summarize

        runs = sorted((path / "runs").glob("run_*.nc"))
        quantiles = info.get("quantiles", (0.05, 0.95))
        bands = summarize(
            runs,
            annual=True,
            variables=["shipped_usd"],
            sum_over=("sector", "currency"),
            quantiles=quantiles,
        )
        note = source_note([name], seed=seed, runs=len(runs), observed=bool(observed))
        written += save(
            bilateral_figure(
                bands,
                pairs,
                observed=observed,
                title=f"Bilateral trade, {name}",
                note=note,
                shocks=shocks,
            ),
            path / "bilateral",
        )
        with xr.open_dataset(path / "summary_monthly.nc", engine="scipy") as ds:
            data = xr.Dataset({"shipped_usd": ds["shipped_usd_mean"].load()})
        note = source_note([name], seed=seed, runs=len(runs)) + " Mean across runs."
    elif (path / "result.nc").exists():  # a single run
        with xr.open_dataset(path / "result.nc", engine="scipy") as ds:
            data = ds.load()
        foreign = data["shipped_usd"].where(data["origin"] != data["destination"], 0.0)
        annual = foreign.sum(["sector", "currency"]).groupby("month.year").sum()
        note = source_note([name], seed=seed)
        written += save(
            bilateral_figure(
                annual,
                pairs,
                observed=observed,
                title=f"Bilateral trade, {name}",
                note=source_note([name], seed=seed, observed=bool(observed)),
                shocks=shocks,
            ),
            path / "bilateral",
        )
    elif (path / "comparison.nc").exists():
        with xr.open_dataset(path / "comparison.nc", engine="scipy") as ds:
            metrics = ds.load()
        names = [str(o) for o in metrics["origin"].values][:2]
        pairs = [(a, b) for a in names for b in names if a != b]
        alt, base = metrics.attrs.get("alternative_scenario"), metrics.attrs.get("base_scenario")
        note = source_note(
            [str(base), str(alt)],
            seed=metrics.attrs.get("seed"),
            runs=int(metrics.attrs.get("runs", 1)),
            paired=True,
        )
        return save(comparison_figure(metrics, pairs, note=note), path / "comparison")
    else:
        raise TradesimError(
            f"{path} holds no tradesim outputs (result.nc, summary_annual.nc or comparison.nc)"
        )
    if routes:
        written += save(
            routes_figure(
                data, routes, shocks=shocks, title=f"Trade on the routes {name} is about", note=note
            ),
            path / "routes",
        )
    if len(agents) >= 2:
        written += save(
            currency_shares_figure(data, agents[0], agents[1], shocks=shocks, note=note),
            path / "currency_shares",
        )
    return written
