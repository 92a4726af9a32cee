"""Calibration: fit a few parameters to observed bilateral trade by simulated method of moments.

Moments are annual trade values by direction. The simulated moment is the mean over R
replications whose seeds are fixed (common random numbers), so the objective changes with the
parameters, not with the draws. Residuals are relative, (simulated - observed) / observed,
and `scipy.optimize.least_squares` minimizes their sum of squares within bounds, from several
starts. Replications run in parallel on local processes.

Standard errors follow the simulated-method-of-moments sandwich with identity weights
(McFadden 1989; Pakes and Pollard 1989; Gourieroux and Monfort 1996, ch. 2):

    V = (1 + 1/R) (J'J)^-1 J' S J (J'J)^-1

where J is the Jacobian of the residuals in the parameters (central differences) and S the
covariance of one replication's relative moments: the observed figures are treated as one
draw of the model, and the simulated moments average R draws.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.optimize import least_squares

from tradesim.analysis.arguments import check_count, check_scenario
from tradesim.analysis.progress import ProgressArg, progress_callback
from tradesim.errors import CalibrationError
from tradesim.scenario import Scenario, scenario_from_dict

__all__ = [
    "CalibrationReport",
    "Observation",
    "Parameter",
    "calibrate",
    "default_parameters",
    "load_observed",
    "write_calibrated_scenario",
]

DATA_DIR = Path(__file__).parent.parent / "data"
OBSERVED_CN_RU = DATA_DIR / "cn_ru_trade.csv"


@dataclass(frozen=True)
class Observation:
    """One observed annual flow, USD."""

    year: int
    origin: str
    destination: str
    value_usd: float
    source: str = ""


def load_observed(path: str | Path = OBSERVED_CN_RU) -> list[Observation]:
    """Read observed annual flows: a file in the tidy format of `tradesim.io.observed`
    (its annual TOTAL rows), or the older CSV with columns year, origin, destination,
    value_usd_bn (and optionally source). Raises CalibrationError naming file and line."""
    from tradesim.io.observed import annual_totals, is_tidy, read_observed

    path = Path(path)
    if is_tidy(path):
        return [
            Observation(t.year, t.origin, t.destination, t.value_usd, t.source)
            for t in annual_totals(read_observed(path))
        ]
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read observed data: {exc}") from None
    rows = list(csv.DictReader(text.splitlines()))
    required = {"year", "origin", "destination", "value_usd_bn"}
    header = set(rows[0]) if rows else set()
    if not rows or not required <= header:
        missing = ", ".join(sorted(required - header)) or "rows"
        raise CalibrationError(
            f"{path}:1: observed data needs columns {sorted(required)}; missing {missing}"
        )
    out: list[Observation] = []
    seen: set[tuple[int, str, str]] = set()
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line}"
        if None in row or any(v is None for v in row.values()):
            raise CalibrationError(
                f"{where}: the row has {len([v for v in row.values() if v is not None])} fields"
                f" where the header has {len(header)}"
            )
        try:
            year = int(row["year"])
            value = float(row["value_usd_bn"])
        except (TypeError, ValueError):
            raise CalibrationError(
                f"{where}: year must be a whole number and value_usd_bn a number,"
                f" got {row['year']!r} and {row['value_usd_bn']!r}"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise CalibrationError(f"{where}: value_usd_bn must be positive, got {value}")
        key = (year, row["origin"].strip(), row["destination"].strip())
        if key in seen:
            raise CalibrationError(f"{where}: {key} appears twice")
        seen.add(key)
        out.append(Observation(*key, value * 1e9, (row.get("source") or "").strip()))
    return out


def _check_observed(observed: Sequence[Observation], scenario: Scenario) -> None:
    regions = set(scenario.regions)
    years = set(range(scenario.start.year, scenario.end.year + 1))
    for obs in observed:
        for name in (obs.origin, obs.destination):
            if name not in regions:
                raise CalibrationError(
                    f"observed flow {obs.origin}->{obs.destination} {obs.year}: unknown region"
                    f" {name!r}; the scenario has {sorted(regions)}"
                )
        if obs.year not in years:
            raise CalibrationError(
                f"observed year {obs.year} lies outside the scenario's horizon"
                f" {scenario.start:%Y-%m} to {scenario.end:%Y-%m}"
            )
    pairs = {(o.origin, o.destination) for o in observed}
    for origin, destination in pairs:
        have = {o.year for o in observed if (o.origin, o.destination) == (origin, destination)}
        if have != {o.year for o in observed}:
            missing = sorted({o.year for o in observed} - have)
            raise CalibrationError(f"observed {origin}->{destination} is missing years {missing}")


# ----------------------------------------------------------------------------- parameters

Apply = Callable[[dict[str, Any], float], None]


@dataclass(frozen=True)
class Parameter:
    """A free parameter: how a value changes the scenario, its bounds and starting value."""

    name: str
    description: str
    lower: float
    upper: float
    start: float
    apply: Apply = field(repr=False, compare=False)

    def __post_init__(self) -> None:
        if not self.lower <= self.start <= self.upper:
            raise ValueError(
                f"{self.name}: start {self.start} outside [{self.lower}, {self.upper}]"
            )


def import_share_scale(
    importer: str, origin: str, lower: float = 0.3, upper: float = 3.0
) -> Parameter:
    """Multiply `origin`'s base-year share in `importer`'s purchases (every sector) by the
    value; the importer's own (domestic) share absorbs the difference, and where it is too
    small (a sector with no domestic supply, such as LNG in China) the other origins do,
    in proportion to their shares."""

    def apply(data: dict[str, Any], value: float) -> None:
        region = {**data["economies"], **data.get("external_regions", {})}[importer]
        for shares in region["origin_shares"].values():
            base = shares.get(origin, 0.0)
            shares[origin] = base * value
            delta = base * (value - 1.0)
            own = shares.get(importer, 0.0)
            shares[importer] = max(own - delta, 0.0)
            rest = delta - (own - shares[importer])
            others = [k for k in shares if k not in (origin, importer)]
            pool = sum(shares[k] for k in others)
            if rest > 0 and pool <= rest:
                raise CalibrationError(f"{origin} share in {importer} exceeds 1 at scale {value}")
            for k in others if rest > 0 else []:
                shares[k] *= 1.0 - rest / pool

    return Parameter(
        f"import_share_scale.{origin}_in_{importer}",
        f"multiplier on {origin}'s base-year share of {importer}'s purchases",
        lower,
        upper,
        1.0,
        apply,
    )


def parameter_field(name: str, lower: float, upper: float, start: float) -> Parameter:
    def apply(data: dict[str, Any], value: float) -> None:
        data.setdefault("parameters", {})[name] = value

    return Parameter(f"parameters.{name}", name, lower, upper, start, apply)


FITTED_MARK = "(fitted)"


def shock_size(scenario: Scenario, name: str, lower: float = -0.5, upper: float = 0.5) -> Parameter:
    """The size of the shock called `name`: its `change`, or the last value of its `path`."""
    matches = [i for i, shock in enumerate(scenario.shocks) if shock.name == name]
    if len(matches) != 1:
        raise CalibrationError(f"expected one shock named {name!r}, found {len(matches)}")
    index = matches[0]
    shock: Any = scenario.shocks[index]
    if getattr(shock, "path", None):
        last = list(shock.path)[-1]
        start = shock.path[last]
    elif getattr(shock, "change", None) is not None:
        last, start = None, shock.change
    else:
        raise CalibrationError(f"shock {name!r} has no change or path to fit")

    def apply(data: dict[str, Any], value: float) -> None:
        target = data["shocks"][index]
        if last is None:
            target["change"] = value
        else:
            target["path"][last] = value

    return Parameter(
        f"shock_size.{name}",
        f"size of the shock {name!r}",
        lower,
        upper,
        min(max(start, lower), upper),
        apply,
    )


def default_parameters(scenario: Scenario) -> list[Parameter]:
    """The default free parameters (at most four): each direction's import-share level
    between the first two agent economies, the size of each shock whose name ends in
    "(fitted)", and, if room is left, the response of import budgets to the exchange rate.
    Everything else is fixed in the scenario, with its source there."""
    agents = list(scenario.economies)
    if len(agents) < 2:
        raise CalibrationError("the default calibration needs two agent economies")
    a, b = agents[:2]
    params = [import_share_scale(b, a), import_share_scale(a, b)]
    fitted = [s.name for s in scenario.shocks if s.name and s.name.endswith(FITTED_MARK)]
    if len(fitted) > 2:
        raise CalibrationError(f"at most two shocks can be fitted by default, found {fitted}")
    params += [shock_size(scenario, name) for name in fitted]
    if len(params) < 4:
        start = scenario.parameters.fx_budget_elasticity
        params.append(parameter_field("fx_budget_elasticity", 0.0, 2.0, start))
    return params


def _with_values(
    scenario: Scenario, params: Sequence[Parameter], values: Sequence[float]
) -> Scenario:
    data = scenario.model_dump(mode="json")
    for p, v in zip(params, values, strict=True):
        p.apply(data, float(v))
    return scenario_from_dict(data)


# ----------------------------------------------------------------------------- moments


def _moments(scenario: Scenario, index: int, keys: Sequence[tuple[int, str, str]]) -> np.ndarray:
    """One replication's annual flows for the observed (year, origin, destination)."""
    from tradesim.analysis.ensemble import run_seed
    from tradesim.model.engine import run_engine

    raw = run_engine(scenario, run_seed(scenario, index))
    w = raw.world
    shipped = raw.flows["shipped"][w.burn_in :].sum(axis=(3, 4))  # (month, O, D)
    years = w.start.year + (np.arange(w.n_months) + w.start.month - 1) // 12
    out = []
    for year, origin, destination in keys:
        o, d = w.regions.index(origin), w.regions.index(destination)
        out.append(shipped[years == year, o, d].sum())
    return np.array(out)


class _Simulator:
    """Simulated moments for parameter values, replications spread over a process pool."""

    def __init__(
        self,
        scenario: Scenario,
        params: Sequence[Parameter],
        keys: Sequence[tuple[int, str, str]],
        replications: int,
        pool: Executor | None,
    ):
        self.scenario, self.params, self.keys = scenario, params, list(keys)
        self.replications, self.pool = replications, pool
        self.evaluations = 0

    def draws(self, values: Any, replications: int | None = None) -> np.ndarray:
        """(R, K) moments of each replication."""
        scenario = _with_values(self.scenario, self.params, values)
        indices = range(replications or self.replications)
        self.evaluations += 1
        if self.pool is None:
            return np.array([_moments(scenario, i, self.keys) for i in indices])
        futures = [self.pool.submit(_moments, scenario, i, self.keys) for i in indices]
        return np.array([f.result() for f in futures])


# ----------------------------------------------------------------------------- report


@dataclass
class CalibrationReport:
    """Fit, parameter estimates with standard errors, identification and convergence."""

    parameters: list[dict[str, Any]]
    moments: list[dict[str, Any]]
    jacobian_rank: int
    jacobian_condition: float
    converged: bool
    status: str
    evaluations: int
    starts: int
    replications: int
    wall_seconds: float
    holdout_years: list[int]
    holdout_mean_abs_error_pct: float | None
    scenario: str
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    # The estimates' covariance V (sandwich above), rows and columns in `parameters` order:
    # what `run --parameter-uncertainty` draws from (tradesim.analysis.uncertainty).
    covariance: list[list[float]] | None = None

    @property
    def estimates(self) -> dict[str, float]:
        return {p["name"]: p["estimate"] for p in self.parameters}

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"# Calibration of `{self.scenario}`",
            "",
            f"- converged: **{'yes' if self.converged else 'NO'}** ({self.status})",
            f"- evaluations: {self.evaluations} ({self.starts} starts, {self.replications} "
            "replications each, common random numbers)",
            f"- Jacobian rank {self.jacobian_rank} of {len(self.parameters)}, condition number "
            f"{self.jacobian_condition:.3g}",
            f"- wall time: {self.wall_seconds:.1f} s",
            "",
            "| parameter | estimate | s.e. | bounds | start |",
            "|---|---:|---:|---|---:|",
        ]
        for p in self.parameters:
            lines.append(
                f"| {p['name']} | {p['estimate']:.4f} | {p['se']:.4f} | "
                f"[{p['lower']:g}, {p['upper']:g}] | {p['start']:g} |"
            )
        lines += [
            "",
            "| year | flow | observed, USD bn | fitted, USD bn | residual | used in fit |",
            "|---|---|---:|---:|---:|---|",
        ]
        for m in self.moments:
            lines.append(
                f"| {m['year']} | {m['origin']} -> {m['destination']} |"
                f" {m['observed_usd'] / 1e9:.2f} |"
                f" {m['fitted_usd'] / 1e9:.2f} | {m['residual_pct']:+.2f}% | "
                f"{'yes' if m['in_sample'] else 'no (holdout)'} |"
            )
        if self.holdout_mean_abs_error_pct is not None:
            lines += [
                "",
                f"Out of sample ({', '.join(map(str, self.holdout_years))}): mean absolute error "
                f"{self.holdout_mean_abs_error_pct:.2f}%.",
            ]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        return self.to_markdown().replace("**", "")


# ----------------------------------------------------------------------------- fit


def calibrate(
    scenario: Scenario,
    observed: Sequence[Observation] | None = None,
    *,
    parameters: Sequence[Parameter] | None = None,
    replications: int = 4,
    starts: int = 3,
    holdout: Sequence[int] = (),
    workers: int | None = None,
    max_evaluations: int = 60,
    progress: ProgressArg = True,
) -> tuple[Scenario, CalibrationReport]:
    """Fit `parameters` (default: `default_parameters`) so that simulated annual flows match
    `observed` (default: the shipped China-Russia figures), leaving `holdout` years out.

    Returns the calibrated scenario and a report. Non-convergence does not raise: the best
    point found is returned and `report.converged` is False. `progress`: True (default) shows
    a bar of model evaluations (at most `max_evaluations` x `starts`), False none, a callable
    is called as progress(done, at_most).
    """
    scenario = check_scenario(scenario)
    replications = check_count(replications, "replications")
    starts = check_count(starts, "starts")
    max_evaluations = check_count(max_evaluations, "max_evaluations")
    workers = check_count(workers, "workers", optional=True)
    if isinstance(holdout, (str, bytes)) or not isinstance(holdout, Sequence):
        raise TypeError(f"holdout must be a sequence of years, got {holdout!r}")
    t0 = time.perf_counter()
    progress = progress_callback(progress, f"calibrating {scenario.name}", unit="evaluation")
    observed = list(observed if observed is not None else load_observed())
    _check_observed(observed, scenario)
    params = list(parameters if parameters is not None else default_parameters(scenario))
    if not 1 <= len(params) <= 4:
        raise CalibrationError(f"calibrate fits 1 to 4 parameters, got {len(params)}")
    observed_years = sorted({o.year for o in observed})
    for year in holdout:
        if isinstance(year, bool) or not isinstance(year, int) or year not in observed_years:
            raise CalibrationError(
                f"holdout year {year!r} is not an observed year; observed: {observed_years}"
            )
    fit = [o for o in observed if o.year not in set(holdout)]
    if len(fit) < len(params):
        raise CalibrationError(
            f"{len(fit)} observed values cannot identify {len(params)} parameters"
        )
    keys = [(o.year, o.origin, o.destination) for o in observed]
    target = np.array([o.value_usd for o in observed])
    in_fit = np.array([o.year not in set(holdout) for o in observed])
    lower = np.array([p.lower for p in params])
    upper = np.array([p.upper for p in params])
    budget = max_evaluations * max(1, starts)

    pool = None
    if workers != 1 and replications > 1:
        from tradesim.analysis.ensemble import process_pool

        pool = process_pool(workers)
    try:
        sim = _Simulator(scenario, params, keys, replications, pool)

        def residuals(x: np.ndarray) -> np.ndarray:
            mean = sim.draws(x).mean(axis=0)
            if progress:
                progress(min(sim.evaluations, budget), budget)
            return (mean / target - 1.0)[in_fit]

        rng = np.random.default_rng(scenario.seed)
        x0s = [np.array([p.start for p in params])]
        for _ in range(max(0, starts - 1)):
            x0s.append(lower + rng.uniform(0.2, 0.8, len(params)) * (upper - lower))
        best = None
        for x0 in x0s:
            result = least_squares(
                residuals,
                x0,
                bounds=(lower, upper),
                diff_step=0.02,
                x_scale=upper - lower,
                max_nfev=max_evaluations,
                method="trf",
            )
            if best is None or result.cost < best.cost:
                best = result
        assert best is not None
        close = getattr(progress, "close", None)
        if close is not None:
            close()  # the budget is an upper bound: the bar may stop short of it

        # Diagnostics at the estimate: central-difference Jacobian and replication covariance.
        x = best.x
        h = 0.02 * (upper - lower)
        jac = np.empty((int(in_fit.sum()), len(params)))
        for k in range(len(params)):
            up, down = x.copy(), x.copy()
            up[k] = min(upper[k], x[k] + h[k])
            down[k] = max(lower[k], x[k] - h[k])
            jac[:, k] = (residuals(up) - residuals(down)) / (up[k] - down[k])
        draws = sim.draws(x, max(2 * replications, 8))
        relative = draws / target - 1.0
        fitted = draws[:replications].mean(axis=0)
        cov = np.atleast_2d(np.cov(relative[:, in_fit], rowvar=False))
    finally:
        if pool is not None:
            pool.shutdown()

    scaled = jac * (upper - lower)
    singular = np.linalg.svd(scaled, compute_uv=False)
    rank = int(np.linalg.matrix_rank(scaled, tol=singular.max() * 1e-6 if singular.size else 0))
    condition = float(singular.max() / singular.min()) if singular.min() > 0 else math.inf
    try:
        bread = np.linalg.inv(jac.T @ jac)
        variance = (1.0 + 1.0 / replications) * bread @ jac.T @ cov @ jac @ bread
        se = np.sqrt(np.clip(np.diag(variance), 0.0, None))
    except np.linalg.LinAlgError:
        se = np.full(len(params), math.inf)
        variance = None

    converged = bool(best.success) and rank == len(params)
    status = best.message if rank == len(params) else f"{best.message}; Jacobian rank deficient"
    moments: list[dict[str, Any]] = [
        {
            "year": o.year,
            "origin": o.origin,
            "destination": o.destination,
            "observed_usd": o.value_usd,
            "fitted_usd": float(fitted[i]),
            "residual_pct": float(100 * (fitted[i] / o.value_usd - 1)),
            "in_sample": bool(in_fit[i]),
        }
        for i, o in enumerate(observed)
    ]
    out_errors = [abs(float(m["residual_pct"])) for m in moments if not m["in_sample"]]
    report = CalibrationReport(
        parameters=[
            {
                "name": p.name,
                "description": p.description,
                "estimate": float(v),
                "se": float(s),
                "lower": p.lower,
                "upper": p.upper,
                "start": p.start,
            }
            for p, v, s in zip(params, x, se, strict=True)
        ],
        moments=moments,
        jacobian_rank=rank,
        jacobian_condition=condition,
        converged=converged,
        status=str(status),
        evaluations=sim.evaluations,
        starts=len(x0s),
        replications=replications,
        wall_seconds=time.perf_counter() - t0,
        holdout_years=sorted(set(holdout)),
        holdout_mean_abs_error_pct=float(np.mean(out_errors)) if out_errors else None,
        scenario=scenario.name,
        covariance=None if variance is None else [[float(v) for v in r] for r in variance],
    )
    return _with_values(scenario, params, x), report


def write_calibrated_scenario(
    calibrated: Scenario,
    original: Scenario,
    original_path: str | Path,
    out: str | Path,
    report: CalibrationReport,
) -> None:
    """Write a scenario file that extends the original and sets the fitted fields."""
    out = Path(out)
    changed = _diff(original.model_dump(mode="json"), calibrated.model_dump(mode="json"))
    changed["name"] = f"{original.name}_calibrated"
    changed["description"] = f"{original.name} with parameters fitted by tradesim calibrate"
    extends = Path(os.path.relpath(Path(original_path).resolve(), out.resolve().parent)).as_posix()
    header = [
        f"# {original.name}, calibrated: written by `tradesim calibrate` on {report.created}.",
        "#",
        f"# Converged: {'yes' if report.converged else 'NO'} ({report.status}).",
        f"# Fit: {len(report.moments)} observed values, {report.replications} replications per"
        " evaluation (common random numbers).",
    ]
    for p in report.parameters:
        header.append(f"#   {p['name']} = {p['estimate']:.4f} (s.e. {p['se']:.4f})")
    for m in report.moments:
        header.append(
            f"#   {m['year']} {m['origin']}->{m['destination']}:"
            f" observed {m['observed_usd'] / 1e9:.2f},"
            f" fitted {m['fitted_usd'] / 1e9:.2f} ({m['residual_pct']:+.2f}%)"
            + ("" if m["in_sample"] else " [holdout]")
        )
    header.append(
        "# Sources: the observed figures and their sources are in the CSV given to calibrate"
    )
    header.append("# (default tradesim/data/cn_ru_trade.csv: Chinese customs, GACC).")
    if "shocks" in changed:
        # A child's shocks are added to its parent's, so fitted shock sizes cannot be written
        # as an extension: write the whole calibrated scenario.
        header.append(f"# Self-contained: {original_path} with the fitted values in place.")
        full = calibrated.model_dump(mode="json")
        full.update(name=changed["name"], description=changed["description"])
        body = yaml.safe_dump(full, sort_keys=False)
    else:
        body = yaml.safe_dump({"extends": extends, **changed}, sort_keys=False)
    out.write_text("\n".join(header) + "\n" + body)


def _diff(before: Any, after: Any) -> Any:
    """The parts of `after` that differ from `before` (mappings compared key by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = {}
        for key, value in after.items():
            if key not in before:
                out[key] = value
            elif before[key] != value:
                out[key] = _diff(before[key], value)
        return out
    return after


# ----------------------------------------------------------------------------- currency shares

OBSERVED_CURRENCY_SHARES = DATA_DIR / "cn_ru_currency_shares.csv"


@dataclass(frozen=True)
class ShareObservation:
    """One observed settlement-currency share of a direction's trade, in percent.

    `period` is a year ("2017") or a quarter ("2018-Q1"); origin -> destination is the
    direction of the goods (RU -> CN: Russia's exports to China, paid from China).
    """

    period: str
    origin: str
    destination: str
    currency: str
    share_percent: float
    target: bool = True
    source: str = ""

    def months(self, start: dt.date, n_months: int) -> np.ndarray:
        """Indices of the reported months the period covers (empty if outside)."""
        year = int(self.period[:4])
        first, last = 1, 12
        if len(self.period) > 4:
            q = int(self.period[-1])
            first, last = 3 * q - 2, 3 * q
        idx = [(year - start.year) * 12 + m - start.month for m in range(first, last + 1)]
        return np.array([i for i in idx if 0 <= i < n_months], dtype=int)


def load_currency_shares(
    path: str | Path = OBSERVED_CURRENCY_SHARES, *, targets_only: bool = False
) -> list[ShareObservation]:
    """Read observed currency shares (columns period, origin, destination, currency,
    share_percent, target, source). Raises CalibrationError naming file and line."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read currency shares: {exc}") from None
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            period = row["period"].strip()
            if not (len(period) == 4 or (len(period) == 7 and period[4:6] == "-Q")):
                raise ValueError(f"period {period!r} is not YYYY or YYYY-Qn")
            share = float(row["share_percent"])
            if not 0.0 <= share <= 100.0:
                raise ValueError(f"share_percent {share} is not in [0, 100]")
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}:{line}: {exc}") from None
        obs = ShareObservation(
            period,
            row["origin"].strip(),
            row["destination"].strip(),
            row["currency"].strip(),
            share,
            (row.get("target") or "yes").strip().lower() in ("yes", "true", "1"),
            (row.get("source") or "").strip(),
        )
        if obs.target or not targets_only:
            out.append(obs)
    return out


def share_moments(
    shipped: np.ndarray,
    regions: Sequence[str],
    currencies: Sequence[str],
    start: dt.date,
    observed: Sequence[ShareObservation],
) -> np.ndarray:
    """Simulated shares (percent) for each observation from reported monthly shipped flows
    (month, O, D, S, C). "World" as a destination means every other region."""
    out = []
    for obs in observed:
        months = obs.months(start, shipped.shape[0])
        o = regions.index(obs.origin)
        if obs.destination == "World":
            dests = [d for d in range(len(regions)) if d != o]
        else:
            dests = [regions.index(obs.destination)]
        value = shipped[months][:, o, dests].sum(axis=(0, 1, 2))  # (C,)
        total = value.sum()
        c = currencies.index(obs.currency)
        out.append(100.0 * value[c] / total if total > 0 else np.nan)
    return np.array(out)


def _share_draw(scenario: Scenario, index: int, observed: Sequence[ShareObservation]) -> Any:
    from tradesim.analysis.ensemble import run_seed
    from tradesim.model.engine import run_engine

    raw = run_engine(scenario, run_seed(scenario, index))
    w = raw.world
    shipped = raw.flows["shipped"][w.burn_in :]
    return share_moments(shipped, w.regions, w.currencies, w.start, observed)


def simulated_currency_shares(
    scenario: Scenario,
    observed: Sequence[ShareObservation],
    *,
    replications: int = 20,
    pool: Executor | None = None,
) -> np.ndarray:
    """(replications, K) simulated shares, percent, for the observations (seeds fixed)."""
    if pool is None:
        return np.array([_share_draw(scenario, i, observed) for i in range(replications)])
    futures = [pool.submit(_share_draw, scenario, i, observed) for i in range(replications)]
    return np.array([f.result() for f in futures])
