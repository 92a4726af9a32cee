"""Parameter uncertainty in ensemble bands: draw the calibrated parameters for each run.

`calibrate` estimates parameters with a covariance (the simulated-method-of-moments sandwich,
see `tradesim.analysis.calibrate`) and writes it to the report next to the calibrated
scenario (``NAME.report.json``, field ``covariance``; older reports hold only standard
errors, read as a diagonal covariance). With parameter uncertainty, run i of an ensemble uses
parameters drawn from the asymptotic normal distribution of the estimator,

    theta_i ~ N(theta_hat, V),  clipped to the parameter's bounds,

from the random stream "parameter_uncertainty" of run i's seed (`run_seed`), so every executor
and worker count draws the same theta_i, and the model's own draws (the other streams of the
same seed) are those of run i without parameter uncertainty: common random numbers. Bands
then hold both parameter and model noise (the "parametric bootstrap" of the predictive
distribution; Efron and Tibshirani 1993, ch. 6).

Which dominates is measured by pairing each run with the run of the same seed at theta_hat:
with X_i the run with drawn parameters and Y_i the run at the estimate,
Var(Y) is the model (within-draw) noise and Var(X - Y) the parameter (between-draw) part;
they add up to Var(X) when the two are independent and effects additive.
"""

from __future__ import annotations

import hashlib
import json
import math
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tradesim.analysis.calibrate import Parameter, _current, _with_values, parse_parameter
from tradesim.errors import CalibrationError
from tradesim.model._random import Streams
from tradesim.scenario import Scenario

__all__ = ["ParameterDraws", "ParameterEstimates", "ensemble_key", "variance_decomposition"]

STREAM = "parameter_uncertainty"


@dataclass(frozen=True)
class ParameterEstimates:
    """Point estimates, their covariance and bounds, by parameter name."""

    names: tuple[str, ...]
    estimates: tuple[float, ...]
    covariance: tuple[tuple[float, ...], ...]
    lower: tuple[float, ...]
    upper: tuple[float, ...]
    correlated: bool = True  # False: only standard errors were known (diagonal covariance)

    def __post_init__(self) -> None:
        k = len(self.names)
        cov = np.asarray(self.covariance, dtype=float)
        if cov.shape != (k, k) or len(self.estimates) != k:
            raise CalibrationError(
                f"parameter estimates: {k} names, {len(self.estimates)} estimates and a"
                f" covariance of shape {cov.shape}"
            )
        if not np.all(np.isfinite(cov)) or not np.allclose(cov, cov.T, rtol=1e-6, atol=0):
            raise CalibrationError("parameter covariance must be finite and symmetric")
        if np.linalg.eigvalsh(cov).min() < -1e-9 * max(1.0, float(np.abs(cov).max())):
            raise CalibrationError("parameter covariance is not positive semi-definite")

    @classmethod
    def from_report(cls, path: str | Path) -> ParameterEstimates:
        """Read a calibration report (``NAME.report.json``)."""
        path = Path(path)
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            params = data["parameters"]
            names = tuple(str(p["name"]) for p in params)
            est = tuple(float(p["estimate"]) for p in params)
            lower = tuple(float(p["lower"]) for p in params)
            upper = tuple(float(p["upper"]) for p in params)
            se = [float(p["se"]) for p in params]
        except OSError as exc:
            raise CalibrationError(f"{path}: cannot read the calibration report: {exc}") from None
        except (ValueError, KeyError, TypeError) as exc:
            raise CalibrationError(
                f"{path}: not a calibration report (parameters with name, estimate, se, lower,"
                f" upper): {exc!r}"
            ) from None
        cov = data.get("covariance")
        correlated = cov is not None
        if cov is None:
            if not all(math.isfinite(s) for s in se):
                raise CalibrationError(f"{path}: a standard error is not finite: {se}")
            cov = np.diag(np.square(se)).tolist()
        return cls(
            names,
            est,
            tuple(tuple(float(x) for x in row) for row in cov),
            lower,
            upper,
            correlated,
        )

    @classmethod
    def for_scenario_file(cls, scenario_path: str | Path) -> ParameterEstimates:
        """The estimates written next to a calibrated scenario file (STEM.report.json)."""
        stem = Path(scenario_path).with_suffix("")
        report = Path(f"{stem}.report.json")
        if not report.is_file():
            raise CalibrationError(
                f"{scenario_path}: parameter uncertainty needs the calibration report"
                f" {report} (written by `tradesim calibrate`) or a report given explicitly"
            )
        return cls.from_report(report)

    def factor(self) -> np.ndarray:
        """A matrix A with A A' = V (symmetric square root through eigh: V may be singular)."""
        w, v = np.linalg.eigh(np.asarray(self.covariance, dtype=float))
        return np.asarray(v * np.sqrt(np.clip(w, 0.0, None)))

    def fingerprint(self) -> str:
        text = json.dumps([self.names, self.estimates, self.covariance, self.lower, self.upper])
        return hashlib.sha256(text.encode()).hexdigest()


def store_extra(estimates: ParameterEstimates) -> str:
    """What the run store adds to the scenario's hash: runs with drawn parameters are never
    mixed with runs at the estimates, or with other distributions, on resume."""
    return "parameter_uncertainty:" + estimates.fingerprint()


def ensemble_key(scenario: Scenario, estimates: ParameterEstimates) -> str:
    """The hash an ensemble folder of `scenario` with parameter uncertainty records."""
    from tradesim.analysis.runner import scenario_hash

    return hashlib.sha256((scenario_hash(scenario) + store_extra(estimates)).encode()).hexdigest()


def _parameter(scenario: Scenario, name: str) -> tuple[Parameter, bool]:
    """The calibration parameter called `name` on the calibrated scenario, and whether its
    value is relative to the estimate (a multiplier already applied to the scenario).

    Every kind `calibrate` estimates (`tradesim.analysis.calibrate.parse_parameter`): scenario
    fields (``parameters.renewal_months``, ``sectors.crude.elasticity``,
    ``currencies.RUB.hedging_cost``, brace groups such as
    ``parameters.currency_choice.invoicing.{machinery,other}.producer``), constant fields of
    dated events (``shock[NAME|NAME].premium``), import-share levels
    (``import_share_scale.ORIGIN_in_IMPORTER``, relative) and, from older reports, shock
    sizes (``shock_size.NAME``)."""
    return parse_parameter(scenario, name)


@dataclass(frozen=True)
class ParameterDraws:
    """A calibrated scenario with its parameter distribution: run i's scenario is
    `for_run(i)`. Picklable, so it travels to process and Dask workers."""

    scenario: Scenario
    estimates: ParameterEstimates

    def __post_init__(self) -> None:
        """Fail early on an unknown parameter, and on a scenario that does not hold the
        estimates: the draws centre on the report's values, so a `--set` of an estimated
        parameter, or the report of another scenario, would be silently overridden."""
        for name, estimate in zip(self.estimates.names, self.estimates.estimates, strict=True):
            _, relative = _parameter(self.scenario, name)
            if relative:  # a multiplier already applied to the scenario: nothing to compare
                continue
            value = _current(self.scenario, name)
            if not math.isclose(value, estimate, rel_tol=1e-6, abs_tol=1e-12):
                raise CalibrationError(
                    f"{name} is {value:g} in scenario {self.scenario.name!r} but the"
                    f" calibration report estimates {estimate:g}: parameter uncertainty draws"
                    " around the report's estimates, so the scenario must hold them (a --set"
                    " of an estimated parameter, or the report of another scenario?)"
                )

    @property
    def seed(self) -> int:
        return int(self.scenario.seed)

    def values(self, index: int) -> np.ndarray:
        """Run `index`'s parameter values: theta_hat + A z, clipped to the bounds."""
        from tradesim.analysis.runner import run_seed

        est = np.asarray(self.estimates.estimates, dtype=float)
        z = Streams(run_seed(self.scenario, index)).generator(STREAM).standard_normal(len(est))
        theta = est + self.estimates.factor() @ z
        return np.clip(theta, self.estimates.lower, self.estimates.upper)

    def for_run(self, index: int) -> Scenario:
        values = self.values(index)
        params, applied = [], []
        for name, est, v in zip(
            self.estimates.names, self.estimates.estimates, values, strict=True
        ):
            p, relative = _parameter(self.scenario, name)
            if relative and est <= 0:
                raise CalibrationError(f"{name}: a multiplier estimate must be positive, got {est}")
            params.append(p)
            applied.append(v / est if relative else v)
        return _with_values(self.scenario, params, applied)


def _bilateral_runs(paths: Sequence[Path]) -> xr.DataArray:
    """(run, year, origin, destination) annual shipped values of each run file."""
    per_run = []
    for path in paths:
        with xr.open_dataset(path, engine="scipy") as ds:
            da = ds["shipped_usd"].load()
        da = da.sum([d for d in da.dims if d not in ("month", "origin", "destination")])
        per_run.append(da.groupby("month.year").sum())
    return xr.concat(per_run, dim="run")


def variance_decomposition(
    with_draws: Sequence[Path], at_estimate: Sequence[Path]
) -> list[dict[str, Any]]:
    """Per year and direction (origin != destination): standard deviations across runs of
    the total (runs with drawn parameters), the model noise (runs at the estimate) and the
    parameter part, the parameter share of variance and which dominates.

    The parameter part is the law of total variance, Var(X) - Var(X | theta_hat), clipped at
    0: Var(X) from the runs with drawn parameters, the model noise from the runs at the
    estimate. Paired differences (same seeds) would isolate the parameters only if a draw
    kept each run's random choices, and it does not: a new relationship duration re-times
    every renewal, so X - Y also carries both runs' noise."""
    if len(with_draws) != len(at_estimate) or len(with_draws) < 2:
        raise CalibrationError("the decomposition needs two or more paired runs")
    return decompose(_bilateral_runs(with_draws), _bilateral_runs(at_estimate))


def decompose(x: xr.DataArray, y: xr.DataArray) -> list[dict[str, Any]]:
    """The decomposition of `variance_decomposition` from annual flows (run, year, origin,
    destination) with drawn parameters (`x`) and at the estimate (`y`)."""
    total = x.var("run", ddof=1)
    model = y.var("run", ddof=1)
    rows = []
    for year in x["year"].values:
        for o in x["origin"].values:
            for d in x["destination"].values:
                if o == d:
                    continue
                cell = {"year": int(year), "origin": str(o), "destination": str(d)}
                t, m = (float(v.sel(year=year, origin=o, destination=d)) for v in (total, model))
                p = max(t - m, 0.0)
                share = p / t if t > 0 else math.nan
                rows.append(
                    {
                        **cell,
                        "mean_usd": float(x.sel(year=year, origin=o, destination=d).mean()),
                        "sd_total_usd": math.sqrt(t),
                        "sd_model_usd": math.sqrt(m),
                        "sd_parameters_usd": math.sqrt(p),
                        "parameter_share": share,
                        "dominant": "parameters" if share > 0.5 else "model noise",
                    }
                )
    return rows


def format_decomposition(rows: Sequence[dict[str, Any]], agents: Sequence[str] = ()) -> str:
    """The decomposition as a text table (only flows among `agents`, if given)."""
    lines = [
        "Variance of annual flows across runs, parameter uncertainty vs model noise (USD bn):",
        f"{'year':>4} {'flow':<8} {'mean':>8} {'sd total':>9} {'sd model':>9} {'sd param':>9}"
        f" {'param share':>11}  dominant",
    ]
    for r in rows:
        if agents and not {r["origin"], r["destination"]} <= set(agents):
            continue
        lines.append(
            f"{r['year']:>4} {r['origin'] + '->' + r['destination']:<8}"
            f" {r['mean_usd'] / 1e9:>8.2f} {r['sd_total_usd'] / 1e9:>9.3f}"
            f" {r['sd_model_usd'] / 1e9:>9.3f} {r['sd_parameters_usd'] / 1e9:>9.3f}"
            f" {100 * r['parameter_share']:>10.0f}%  {r['dominant']}"
        )
    return "\n".join(lines) + "\n"
