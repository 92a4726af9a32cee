"""Backtest: fit on some years, forecast others, and score the model against naive forecasts.

A fit window's observed flows are given to `calibrate` (its default free parameters for the
scenario, whatever they are); the calibrated scenario then runs as an ensemble over its whole
horizon with the test years' exogenous paths (exchange rates, prices, demand, dated events)
as the scenario file gives them, and the test years' annual flows are compared with the
observed ones. The model must beat simple statistical forecasts that use only the fit years
(Hyndman and Athanasopoulos 2021, *Forecasting: principles and practice*, 3rd ed., ch. 5.2
and 9.4 for the naive, drift and trend methods and their prediction intervals):

- ``trend``: a log-linear trend, OLS of log value on year over the fit years; its 90%
  prediction interval uses Student's t with n - 2 degrees of freedom (none when n < 3).
- ``flat``: the last fit-year value before the test year held flat (a random walk without
  drift); interval ``log v ± 1.645 σ √h`` with σ² the mean squared annual log change.
- ``drift``: a random walk with drift, the mean annual log change over the fit years added
  h times to the last value; σ from the changes around the drift (none with one change).

For a test year before every fit year (leave-one-out on the first year) the same formulas
run backwards from the first fit year. Scores per method: the absolute percentage error of
each direction-year, their mean (MAPE) and the coverage of the 5-95% interval (the share of
observed values inside it; 90% is the nominal value).
"""

from __future__ import annotations

import math
import tempfile
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
from scipy import stats

from tradesim.analysis.calibrate import (
    CalibrationReport,
    Observation,
    Parameter,
    calibrate,
    load_observed,
)
from tradesim.analysis.moments import Moment
from tradesim.errors import CalibrationError
from tradesim.scenario import Scenario

if TYPE_CHECKING:
    from tradesim.analysis.runner import ExecutorName

__all__ = ["BacktestResult", "Fold", "backtest", "naive_forecasts"]

METHODS = ("model", "trend", "flat", "drift")
Z90 = float(stats.norm.ppf(0.95))  # two-sided 90% interval: the 5-95% band


def naive_forecasts(history: dict[int, float], year: int) -> dict[str, tuple[float, float, float]]:
    """The three naive forecasts of `year` from annual `history` (year -> value), each as
    (point, 5% bound, 95% bound); a bound is NaN when the history is too short for it."""
    years = np.array(sorted(history), dtype=float)
    logs = np.log([history[int(y)] for y in years])
    n = len(years)
    if n == 0:
        raise CalibrationError("naive forecasts need at least one fit year")
    nan = math.nan
    before = years[years < year]
    anchor = float(before.max()) if before.size else float(years.min())
    a = logs[years == anchor][0]
    h = year - anchor
    steps, gaps = np.diff(logs), np.diff(years)
    out: dict[str, tuple[float, float, float]] = {}

    # log-linear trend
    if n >= 2:
        slope, intercept = np.polyfit(years, logs, 1)
        point = intercept + slope * year
        if n >= 3:
            resid = logs - (intercept + slope * years)
            s = math.sqrt(float(resid @ resid) / (n - 2))
            sxx = float(((years - years.mean()) ** 2).sum())
            se = s * math.sqrt(1 + 1 / n + (year - years.mean()) ** 2 / sxx)
            q = float(stats.t.ppf(0.95, n - 2))
            out["trend"] = (math.exp(point), math.exp(point - q * se), math.exp(point + q * se))
        else:
            out["trend"] = (math.exp(point), nan, nan)
    else:
        out["trend"] = (math.exp(a), nan, nan)

    # last value held flat: random walk without drift
    if steps.size:
        sigma = math.sqrt(float((steps**2).sum() / gaps.sum()))
        w = Z90 * sigma * math.sqrt(abs(h))
        out["flat"] = (history[int(anchor)], math.exp(a - w), math.exp(a + w))
    else:
        out["flat"] = (history[int(anchor)], nan, nan)

    # random walk with drift
    if steps.size:
        drift = float(steps.sum() / gaps.sum())
        point = a + drift * h
        if steps.size >= 2:
            sigma = math.sqrt(float(((steps - drift * gaps) ** 2).sum() / (gaps.sum() - 1)))
            w = Z90 * sigma * math.sqrt(abs(h))
            out["drift"] = (math.exp(point), math.exp(point - w), math.exp(point + w))
        else:
            out["drift"] = (math.exp(point), nan, nan)
    else:
        out["drift"] = (math.exp(a), nan, nan)
    return out


@dataclass
class Fold:
    """One fit window and its test years: the calibration and the forecasts."""

    fit_years: list[int]
    test_years: list[int]
    report: CalibrationReport
    rows: list[dict[str, Any]]  # one per direction and test year


@dataclass
class BacktestResult:
    """Forecast rows of every fold and their scores."""

    scenario: str
    folds: list[Fold]
    runs: int
    quantiles: tuple[float, float] = (0.05, 0.95)
    notes: list[str] = field(default_factory=list)

    @property
    def rows(self) -> list[dict[str, Any]]:
        return [r for f in self.folds for r in f.rows]

    def scores(self) -> dict[str, dict[str, float]]:
        """Per method: MAPE (%) over every direction-year and 5-95% interval coverage
        (share of observed values inside; NaN when the method had no interval)."""
        out = {}
        for m in METHODS:
            ape = [r[f"{m}_ape_pct"] for r in self.rows]
            inside = [r[f"{m}_inside"] for r in self.rows if r[f"{m}_inside"] is not None]
            out[m] = {
                "mape_pct": float(np.mean(ape)),
                "coverage": float(np.mean(inside)) if inside else math.nan,
                "intervals": float(len(inside)),
            }
        return out

    def to_text(self) -> str:
        lines = [
            f"Backtest of {self.scenario}: {self.runs} runs per fold, 5-95% bands, USD bn",
            "",
        ]
        for f in self.folds:
            lines.append(
                f"fit {_span(f.fit_years)} -> test {_span(f.test_years)}"
                f" (calibration {'converged' if f.report.converged else 'NOT converged'},"
                f" {f.report.evaluations} evaluations)"
            )
        head = (
            f"{'year':>4} {'flow':<8} {'observed':>9} {'model':>8} {'5%':>7} {'95%':>7}"
            f" {'APE%':>6} {'in':>3} | {'trend':>7} {'APE%':>6} | {'flat':>7} {'APE%':>6}"
            f" | {'drift':>7} {'APE%':>6}"
        )
        lines += ["", head, "-" * len(head)]
        for r in self.rows:
            lines.append(
                f"{r['year']:>4} {r['origin'] + '->' + r['destination']:<8}"
                f" {r['observed_usd'] / 1e9:>9.2f} {r['model_usd'] / 1e9:>8.2f}"
                f" {r['model_lo_usd'] / 1e9:>7.2f} {r['model_hi_usd'] / 1e9:>7.2f}"
                f" {r['model_ape_pct']:>6.1f} {_yes(r['model_inside']):>3}"
                + "".join(
                    f" | {r[f'{m}_usd'] / 1e9:>7.2f} {r[f'{m}_ape_pct']:>6.1f}" for m in METHODS[1:]
                )
            )
        lines += ["", f"{'method':<7} {'MAPE %':>7} {'coverage':>9}"]
        for m, s in self.scores().items():
            cov = "n/a" if math.isnan(s["coverage"]) else f"{100 * s['coverage']:.0f}%"
            lines.append(f"{m:<7} {s['mape_pct']:>7.2f} {cov:>9}")
        lines += ["", *self.notes]
        return "\n".join(lines).rstrip() + "\n"

    def to_frame(self) -> Any:
        import pandas as pd

        return pd.DataFrame(self.rows)

    def write(self, out: str | Path) -> list[Path]:
        """Write backtest.csv and backtest.txt into folder `out` (the figure is
        `tradesim.io.backtest_plot.plot_backtest`)."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        written = [out / "backtest.csv", out / "backtest.txt"]
        from tradesim.io.outputs import atomic_write
        from tradesim.io.results import csv_writer

        atomic_write(written[0], csv_writer(self.to_frame()))
        text = self.to_text()
        atomic_write(written[1], lambda p: p.write_text(text))
        return written


def _yes(x: bool | None) -> str:
    return "-" if x is None else ("yes" if x else "no")


def _span(years: Sequence[int]) -> str:
    ys = sorted(years)
    if ys == list(range(ys[0], ys[-1] + 1)) and len(ys) > 1:
        return f"{ys[0]}-{ys[-1]}"
    return ",".join(map(str, ys))


def backtest(
    scenario: Scenario,
    *,
    fit: Sequence[int] | None = None,
    test: Sequence[int] | None = None,
    leave_one_out: bool = False,
    observed: Sequence[Observation] | None = None,
    parameters: Sequence[Parameter] | None = None,
    moments: Sequence[Moment] | None = None,
    runs: int = 20,
    replications: int = 4,
    starts: int = 3,
    max_evaluations: int = 60,
    workers: int | None = None,
    executor: ExecutorName = "processes",
    progress: Callable[[str], None] | None = None,
    bars: bool = True,
) -> BacktestResult:
    """Fit on `fit` years and forecast `test` years, or, with `leave_one_out`, fit on all
    observed years but one, for each year in turn.

    Calibration uses `calibrate` with `parameters` (default: its default parameters for the
    scenario); the forecast is an ensemble of `runs` runs of the calibrated scenario (bands:
    its 5% and 95% quantiles). `progress` receives a line at each stage; `bars` shows the
    calibration's and the ensemble's progress bars.
    """
    from tradesim.analysis.ensemble import run_ensemble

    observed = list(observed if observed is not None else load_observed())
    years = sorted({o.year for o in observed})
    if leave_one_out:
        if fit or test:
            raise CalibrationError("--leave-one-out chooses the windows itself: drop --fit/--test")
        if len(years) < 3:
            raise CalibrationError(f"leave-one-out needs 3 observed years or more, got {years}")
        windows = [([y for y in years if y != t], [t]) for t in years]
    else:
        if not fit or not test:
            raise CalibrationError("a backtest needs fit years and test years")
        windows = [(sorted(set(fit)), sorted(set(test)))]
    for fit_years, test_years in windows:
        for label, ys in (("fit", fit_years), ("test", test_years)):
            unknown = sorted(set(ys) - set(years))
            if unknown:
                raise CalibrationError(
                    f"{label} years {unknown} have no observed data; observed: {years}"
                )
        outside = [y for y in test_years if not scenario.start.year <= y <= scenario.end.year]
        if outside:
            raise CalibrationError(
                f"test years {outside} lie outside the scenario's horizon"
                f" {scenario.start:%Y-%m} to {scenario.end:%Y-%m}"
            )
        if set(fit_years) & set(test_years):
            raise CalibrationError(
                f"fit and test years overlap: {sorted(set(fit_years) & set(test_years))}"
            )

    folds = []
    for fit_years, test_years in windows:
        if progress:
            progress(f"fit {_span(fit_years)} -> test {_span(test_years)}: calibrating")
        in_fit = [o for o in observed if o.year in fit_years]
        # Every moment dated in an observed year outside the fit window is held out (the
        # composition, currency and episode moments too), so nothing of the test years
        # enters the fit; moments of years without observed totals (the 2014 currency
        # shares) stay in.
        calibrated, report = calibrate(
            scenario,
            observed,
            parameters=parameters,
            moments=moments,
            holdout=[y for y in years if y not in fit_years],
            replications=replications,
            starts=starts,
            max_evaluations=max_evaluations,
            workers=workers,
            progress=bars,
        )
        if progress:
            progress(f"fit {_span(fit_years)} -> test {_span(test_years)}: {runs} runs")
        with tempfile.TemporaryDirectory(prefix="tradesim-backtest-") as tmp:
            ensemble = run_ensemble(
                calibrated,
                runs=runs,
                out=tmp,
                executor=executor,
                workers=workers,
                progress=bars,
            )
            bands = ensemble.bilateral_bands().load()
        rows = []
        for o in sorted(
            (o for o in observed if o.year in test_years),
            key=lambda o: (o.year, o.origin, o.destination),
        ):
            cell = bands.sel(origin=o.origin, destination=o.destination, year=o.year)
            model = (
                float(cell["shipped_usd_mean"]),
                float(cell["shipped_usd"].sel(quantile=0.05, method="nearest")),
                float(cell["shipped_usd"].sel(quantile=0.95, method="nearest")),
            )
            history = {
                p.year: p.value_usd
                for p in in_fit
                if (p.origin, p.destination) == (o.origin, o.destination)
            }
            forecasts = {"model": model, **naive_forecasts(history, o.year)}
            row: dict[str, Any] = {
                "fit_years": _span(fit_years),
                "year": o.year,
                "origin": o.origin,
                "destination": o.destination,
                "observed_usd": o.value_usd,
            }
            for m in METHODS:
                point, lo, hi = forecasts[m]
                row[f"{m}_usd"] = point
                row[f"{m}_lo_usd"] = lo
                row[f"{m}_hi_usd"] = hi
                row[f"{m}_ape_pct"] = 100 * abs(point / o.value_usd - 1)
                row[f"{m}_inside"] = None if math.isnan(lo) else bool(lo <= o.value_usd <= hi)
            rows.append(row)
        folds.append(Fold(fit_years, test_years, report, rows))
    notes = [
        "APE: absolute percentage error of the point forecast (model: ensemble mean).",
        "Coverage: share of observed values inside the 5-95% interval (nominal 90%);"
        " n/a where the fit years are too few for a naive interval.",
    ]
    return BacktestResult(scenario.name, folds, runs, notes=notes)
