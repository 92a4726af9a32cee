"""Figures: what people look at instead of CSV files.

matplotlib is imported on first use, with the non-interactive Agg backend, so that importing
tradesim stays light and works without a display. Each function returns a Figure; `save`
writes it as PNG and SVG.
"""

from __future__ import annotations

import functools
import typing
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import xarray as xr

from tradesim.errors import TradesimError

if TYPE_CHECKING:  # pragma: no cover
    from matplotlib.figure import Figure

__all__ = [
    "bilateral_figure",
    "calibration_figure",
    "comparison_figure",
    "currency_shares_figure",
    "diversion_figure",
    "plot_result_dir",
    "save",
]

BILLION = 1e9


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
    """Write `fig` as path.png and path.svg; returns both paths."""
    from tradesim.io.results import atomic_write, writer

    plain_text(fig)
    base = Path(path).with_suffix("")
    out = []
    for fmt in ("png", "svg"):
        target = base.with_suffix(f".{fmt}")
        atomic_write(target, writer(fig, "savefig", format=fmt, dpi=120))
        out.append(target)
    _pyplot().close(fig)
    return out


@_plain
def bilateral_figure(
    annual: xr.DataArray,
    pairs: Sequence[tuple[str, str]],
    *,
    observed: Sequence[Any] = (),
    title: str = "Bilateral trade",
) -> Figure:
    """Annual trade by direction: a line per direction, the ensemble band where `annual` has
    a `statistic` dimension (mean and two quantiles), and observed points where given."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
    years = annual["year"].values
    for k, (o, d) in enumerate(pairs):
        color = f"C{k}"
        cell = annual.sel(origin=o, destination=d) / BILLION
        if "statistic" in cell.dims:
            stats = [str(s) for s in cell["statistic"].values]
            q = [s for s in stats if s.startswith("q")]
            ax.plot(years, cell.sel(statistic="mean"), color=color, label=f"{o} → {d}, mean")
            if len(q) >= 2:
                ax.fill_between(
                    years,
                    cell.sel(statistic=q[0]),
                    cell.sel(statistic=q[-1]),
                    color=color,
                    alpha=0.25,
                    label=f"{o} → {d}, {q[0][1:]}–{q[-1][1:]} band",
                )
        else:
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
    ax.set(xlabel="year", ylabel="USD billion", title=title, xticks=years)
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_plain
def currency_shares_figure(data: xr.Dataset, a: str, b: str) -> Figure:
    """Settlement-currency shares of the trade between a and b (both ways), monthly, stacked."""
    plt = _pyplot()
    from tradesim.io.results import settled_value, shares_of

    shares = shares_of(settled_value(data, [a, b], [a, b]), "currency")
    keep = [c for c in shares["currency"].values if float(shares.sel(currency=c).max()) > 0]
    fig, ax = plt.subplots(figsize=(7, 4))
    ax.stackplot(
        shares["month"].values, *[shares.sel(currency=c).values for c in keep], labels=keep
    )
    ax.set(ylim=(0, 1), ylabel="share of value", title=f"Settlement currencies, {a}–{b}")
    ax.legend(loc="lower left", fontsize=8)
    fig.tight_layout()
    return fig


@_plain
def diversion_figure(base: xr.Dataset, alt: xr.Dataset, importer: str, sector: str) -> Figure:
    """Monthly purchases of one sector by an importer, by origin, base (dashed) against the
    scenario (solid): where trade was diverted to."""
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(7, 4))
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
        ax.plot(base["month"].values, series[0], color=f"C{k}", ls="--", lw=1)
        ax.plot(base["month"].values, series[1], color=f"C{k}", label=str(origin))
    ax.set(
        ylabel="USD billion a month",
        title=f"{importer}'s {sector} imports by origin: base (dashed), scenario (solid)",
    )
    ax.legend(fontsize=8)
    ax.grid(alpha=0.3)
    fig.tight_layout()
    return fig


@_plain
def comparison_figure(metrics: xr.Dataset, pairs: Sequence[tuple[str, str]]) -> Figure:
    """Paired differences of annual bilateral trade (alternative - base) with their bands."""
    plt = _pyplot()
    diff = metrics["bilateral_usd"] / BILLION
    stats = [str(s) for s in diff["statistic"].values]
    q = [s for s in stats if s.startswith("q")]
    years = diff["year"].values
    fig, ax = plt.subplots(figsize=(7, 4))
    width = 0.8 / max(1, len(pairs))
    for k, (o, d) in enumerate(pairs):
        cell = diff.sel(origin=o, destination=d)
        mean = cell.sel(statistic="mean").values
        x = np.arange(len(years)) + (k - (len(pairs) - 1) / 2) * width
        err = None
        if len(q) >= 2:
            err = np.abs(
                np.stack(
                    [
                        mean - cell.sel(statistic=q[0]).values,
                        cell.sel(statistic=q[-1]).values - mean,
                    ]
                )
            )
        ax.bar(x, mean, width, yerr=err, capsize=3, label=f"{o} → {d}")
    ax.axhline(0, color="black", lw=0.8)
    ax.set(
        xticks=np.arange(len(years)),
        xticklabels=[str(y) for y in years],
        ylabel="USD billion",
        title="Change in bilateral trade (paired runs)",
    )
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


@_plain
def calibration_figure(report: Any) -> Figure:
    """Observed against fitted values, with residuals in percent."""
    plt = _pyplot()
    moments = report.moments if hasattr(report, "moments") else report["moments"]
    labels = [f"{m['year']}\n{m['origin']}→{m['destination']}" for m in moments]
    x = np.arange(len(moments))
    fig, (top, bottom) = plt.subplots(
        2, 1, figsize=(7, 5), sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    top.bar(x - 0.2, [m["observed_usd"] / BILLION for m in moments], 0.4, label="observed")
    top.bar(x + 0.2, [m["fitted_usd"] / BILLION for m in moments], 0.4, label="fitted")
    top.set(ylabel="USD billion", title="Calibration fit")
    top.legend(fontsize=8)
    colors = ["C2" if m["in_sample"] else "C3" for m in moments]
    bottom.bar(x, [m["residual_pct"] for m in moments], color=colors)
    bottom.axhline(0, color="black", lw=0.8)
    bottom.set(ylabel="residual, %", xticks=x)
    bottom.set_xticklabels(labels, fontsize=8)
    fig.tight_layout()
    return fig


FIGURE_NAMES = ("bilateral", "currency_shares", "comparison")


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

    written: list[Path] = []
    manifest = path / "manifest.json"
    info = json.loads(manifest.read_text()) if manifest.exists() else {}
    agents = list(info.get("scenario", {}).get("economies", {}))
    pairs = [(a, b) for a in agents for b in agents if a != b]
    observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
    if (path / "summary_annual.nc").exists():  # an ensemble
        from tradesim.analysis.ensemble import summarize

        runs = sorted((path / "runs").glob("run_*.nc"))
        bands = summarize(
            runs, annual=True, variables=["shipped_usd"], sum_over=("sector", "currency")
        )["shipped_usd"]
        written += save(
            bilateral_figure(
                bands, pairs, observed=observed, title=f"Bilateral trade, {len(runs)} runs"
            ),
            path / "bilateral",
        )
        with xr.open_dataset(runs[0], engine="scipy") as first:
            data = first.load()
    elif (path / "result.nc").exists():  # a single run
        with xr.open_dataset(path / "result.nc", engine="scipy") as ds:
            data = ds.load()
        foreign = data["shipped_usd"].where(data["origin"] != data["destination"], 0.0)
        annual = foreign.sum(["sector", "currency"]).groupby("month.year").sum()
        written += save(bilateral_figure(annual, pairs, observed=observed), path / "bilateral")
    elif (path / "comparison.nc").exists():
        with xr.open_dataset(path / "comparison.nc", engine="scipy") as ds:
            metrics = ds.load()
        names = [str(o) for o in metrics["origin"].values][:2]
        pairs = [(a, b) for a in names for b in names if a != b]
        return save(comparison_figure(metrics, pairs), path / "comparison")
    else:
        raise TradesimError(
            f"{path} holds no tradesim outputs (result.nc, summary_annual.nc or comparison.nc)"
        )
    if len(agents) >= 2:
        written += save(
            currency_shares_figure(data, agents[0], agents[1]), path / "currency_shares"
        )
    return written
