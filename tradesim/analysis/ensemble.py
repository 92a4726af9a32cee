"""Monte Carlo ensembles: many runs of a scenario, on local processes or a Dask cluster,
written as they finish and resumable, with summaries and paired comparisons across runs.

How the runs are seeded, computed and stored (executors, the run store, resume) is in
`tradesim.analysis.runner`; this module starts them and summarizes what they wrote.
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import xarray as xr
from scipy.io import netcdf_file

from tradesim.analysis.arguments import (
    check_count,
    check_quantiles,
    check_scenario,
    check_scheduler,
)
from tradesim.analysis.horizons import align_horizons
from tradesim.analysis.progress import ProgressArg, progress_callback
from tradesim.analysis.runner import EXECUTORS, ExecutorName, RunStore
from tradesim.analysis.welfare import PAIRED_ATTRS, paired_metrics
from tradesim.errors import ComparisonError, SimulationError
from tradesim.io.bands import across_runs, bands_table, quantile_coord, quantile_levels
from tradesim.io.currency import Frequency, share_statistics
from tradesim.io.metadata import FLOW_VARIABLES, describe, global_attrs
from tradesim.io.outputs import FolderLock, atomic_write, output_name
from tradesim.io.results import SimulationResult, csv_writer, manifest
from tradesim.scenario import Scenario
from tradesim.scenario.focus import Route, added_shocks, shock_routes

if TYPE_CHECKING:
    from tradesim.analysis.uncertainty import ParameterEstimates

__all__ = [
    "Comparison",
    "EnsembleResult",
    "check_comparable",
    "compare",
    "run_ensemble",
    "single_pair_metrics",
    "summarize",
]

log = logging.getLogger(__name__)

#: Variables summarized across runs (money flows and stocks, counts, indices).
SUMMARY_VARIABLES = (
    "shipped_usd",
    "delivered_usd",
    "settled_usd",
    "frozen_usd",
    "financing_cost_usd",
    "switching_cost_usd",
    "in_transit_usd",
    "pending_usd",
    "frozen_stock_usd",
    "tariff_revenue_usd",
    "exports_usd",
    "relationships",
    "price_index",
)
DEFAULT_QUANTILES = (0.05, 0.95)
_SUMMARY_BUDGET_BYTES = 16 * 2**20  # per variable and chunk of years


# ----------------------------------------------------------------------------- results


@dataclass(frozen=True)
class EnsembleResult:
    """An ensemble on disk: its scenario, the run files and summaries across runs."""

    scenario: Scenario
    out: Path
    runs: int
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    computed: int = 0  # runs computed by this call (the rest were found on disk)
    timings: dict[str, float] = field(default_factory=dict)

    @property
    def run_paths(self) -> list[Path]:
        return [self.out / "runs" / f"run_{i:05d}.nc" for i in range(self.runs)]

    def run(self, index: int) -> xr.Dataset:
        """The full Dataset of run `index` (0 to runs - 1)."""
        if isinstance(index, bool) or not isinstance(index, int) or not 0 <= index < self.runs:
            raise IndexError(
                f"run {index!r} does not exist: this ensemble has runs 0 to {self.runs - 1}"
            )
        with xr.open_dataset(self.run_paths[index], engine="scipy") as ds:
            return ds.load()

    def summary(self, *, annual: bool = False) -> xr.Dataset:
        """Mean (NAME_mean) and quantiles (NAME, `quantile` dimension) across runs; see
        `summarize`."""
        return summarize(self.run_paths, quantiles=self.quantiles, annual=annual)

    def bilateral_bands(self) -> xr.Dataset:
        """Annual trade by origin and destination across runs (per-run totals, domestic
        sales included): `shipped_usd` by quantile and `shipped_usd_mean`. Computed once per
        result (the runs of a finished ensemble do not change); each call returns a copy."""
        return self._bands.copy(deep=True)

    def mean_flows(self, variable: str = "shipped_usd") -> xr.DataArray:
        """Monthly mean across runs of a variable (all its dimensions kept)."""
        summary = summarize(self.run_paths, quantiles=(), variables=[variable])
        return summary[f"{variable}_mean"]

    def to_frame(self, variable: str = "shipped_usd", *, annual: bool = True) -> Any:
        """A tidy pandas table of one variable across runs: a column per dimension, then
        `mean` and one column per quantile (q0.05, q0.5, q0.95)."""
        summary = summarize(
            self.run_paths, quantiles=self.quantiles, annual=annual, variables=[variable]
        )
        return bands_table(summary, variable)

    def plot(self, kind: str = "bilateral", **options: Any) -> Any:
        """A figure of the ensemble (matplotlib Figure): "bilateral" (annual trade with its
        band), "routes" or "currency" (mean flows across runs); see
        `tradesim.io.plot.ensemble_figure`."""
        from tradesim.io.plot import ensemble_figure

        return ensemble_figure(self, kind, **options)

    @cached_property
    def _bands(self) -> xr.Dataset:
        return summarize(
            self.run_paths,
            quantiles=self.quantiles,
            annual=True,
            variables=["shipped_usd"],
            sum_over=("sector", "currency"),
        )

    def _repr_html_(self) -> str:
        from tradesim.io.display import ensemble_html

        return ensemble_html(self, self._bands)

    def direction_currency_shares(
        self, *, freq: Frequency = "year", by_sector: bool = False
    ) -> xr.Dataset:
        """The currency shares by origin -> destination (and sector), annual or quarterly,
        across runs: `currency_share` by quantile and `currency_share_mean`; see
        `tradesim.io.currency.share_statistics`."""
        runs = (self._shipped(i) for i in range(self.runs))
        return share_statistics(runs, self.quantiles, freq=freq, by_sector=by_sector)

    def _shipped(self, index: int) -> xr.Dataset:
        """Run `index`'s `shipped_usd` alone (what the currency shares read), not the whole
        run: an eighth of the reading."""
        with xr.open_dataset(self.run_paths[index], engine="scipy") as ds:
            return ds[["shipped_usd"]].load()

    def write_outputs(
        self, sources: Sequence[str | Path] = (), *, overrides: Sequence[str] = ()
    ) -> list[str]:
        """Write the summaries, the bilateral bands table and manifest.json next to runs/
        (holding the folder's lock, so no other process writes it meanwhile)."""
        with FolderLock(self.out):
            return self._write_outputs(sources, overrides)

    def _write_outputs(self, sources: Sequence[str | Path], overrides: Sequence[str]) -> list[str]:
        written = []
        for name, annual in (("summary_monthly.nc", False), ("summary_annual.nc", True)):
            summary = self.summary(annual=annual)

            def write(path: Path, ds: xr.Dataset = summary) -> None:
                ds.to_netcdf(path, engine="scipy")

            atomic_write(self.out / name, write)
            written.append(name)
        bands = bands_table(self._bands, "shipped_usd")
        bands = bands[bands["origin"] != bands["destination"]]
        atomic_write(self.out / "annual_bilateral_bands.csv", csv_writer(bands))
        written.append("annual_bilateral_bands.csv")
        freqs: tuple[Frequency, ...] = ("year", "quarter")
        for freq in freqs:
            shares = self.direction_currency_shares(freq=freq)
            df = bands_table(shares, "currency_share")
            agents = list(self.scenario.economies)
            df = df[
                (df["origin"] != df["destination"])
                & (df["origin"].isin(agents) | df["destination"].isin(agents))
            ]
            name = f"currency_shares_by_direction_{freq}.csv"
            atomic_write(self.out / name, csv_writer(df))
            written.append(name)
        first = SimulationResult(scenario=self.scenario, seed=self.scenario.seed, data=self.run(0))
        info = manifest(first, sources, overrides=overrides)
        info.update(
            runs=self.runs,
            quantiles=list(self.quantiles),
            timings_seconds=self.timings,
            outputs=[*written, "runs/"],
        )
        text = json.dumps(info, indent=2) + "\n"
        atomic_write(self.out / "manifest.json", lambda p: p.write_text(text))
        return [*written, "manifest.json", "runs/"]


def _statistics(stack: np.ndarray[Any, Any], levels: Sequence[float]) -> np.ndarray[Any, Any]:
    """(1 + n_levels, ...): the mean, then the quantiles `levels`, over the leading run axis."""
    q = np.quantile(stack, list(levels), axis=0)
    return np.concatenate([stack.mean(axis=0)[None], q], axis=0)


def _read_slice(path: Path, name: str, lo: int, hi: int) -> np.ndarray[Any, Any]:
    """Months lo:hi of one variable of a run file, read through a memory map."""
    f = netcdf_file(path, "r", mmap=True)
    try:
        return np.array(f.variables[name].data[lo:hi], dtype=float)
    finally:
        f.variables.clear()  # drop the views into the map so that it can close
        f.close()


def summarize(
    paths: Sequence[Path],
    *,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    annual: bool = False,
    minus: Sequence[Path] | None = None,
    variables: Iterable[str] = SUMMARY_VARIABLES,
    sum_over: Sequence[str] = (),
) -> xr.Dataset:
    """Statistics across runs, monthly or annual: for each variable NAME, NAME with a
    `quantile` dimension (the median and `quantiles`) and NAME_mean (see `tradesim.io.bands`).

    With `minus`, statistics of the paired differences ``paths[i] - minus[i]`` (common random
    numbers make these much tighter than differences of means), month by month over the
    months both sets of runs cover (paired by date, never by position; SimulationError if
    they share none or their regions, sectors or currencies differ or are ordered
    differently). `sum_over` names dimensions
    to total within each run before the statistics (a band of totals is not the total of
    bands). Runs are read in chunks of whole years from memory-mapped files, so memory stays
    bounded whatever the number of runs.
    """
    if not paths:
        raise SimulationError("no runs to summarize")
    if minus is not None and len(minus) != len(paths):
        raise SimulationError("paired summaries need as many base runs as alternative runs")
    with xr.open_dataset(paths[0], engine="scipy") as first:
        template = first.load()
    _same_months(paths)
    lo_alt = lo_base = 0
    if minus is not None:
        _same_months(minus)
        template, lo_alt, lo_base = _paired_months(template, minus[0])
    months = template["month"].values
    years = template["month"].dt.year.values
    # One run has no band: its median is the run itself (as in `across_runs`).
    levels = quantile_levels(quantiles) if len(paths) > 1 else quantile_levels(())
    out: dict[str, xr.DataArray] = {}
    for name in variables:
        da = template[name]
        cell_bytes = 8 * int(np.prod(da.shape[1:])) * len(paths) * (2 if minus else 1)
        chunk_years = max(1, _SUMMARY_BUDGET_BYTES // max(1, cell_bytes * 12))
        unique_years = list(dict.fromkeys(years.tolist()))
        pieces = []
        for k in range(0, len(unique_years), chunk_years):
            chunk = unique_years[k : k + chunk_years]
            lo = int(np.searchsorted(years, chunk[0], side="left"))
            hi = int(np.searchsorted(years, chunk[-1], side="right"))
            stack = np.stack([_read_slice(p, name, lo + lo_alt, hi + lo_alt) for p in paths])
            if minus is not None:
                stack -= np.stack([_read_slice(p, name, lo + lo_base, hi + lo_base) for p in minus])
            summed = tuple(1 + da.dims.index(d) for d in sum_over if d in da.dims)
            if summed:
                stack = stack.sum(axis=summed)
            if annual:
                yr = years[lo:hi]
                agg = np.add.reduceat if name in FLOW_VARIABLES else _mean_reduceat
                starts = np.flatnonzero(np.r_[True, yr[1:] != yr[:-1]])
                stack = agg(stack, starts, axis=1)
            pieces.append(_statistics(stack, levels))
        values = np.concatenate(pieces, axis=1)
        time_dim = "year" if annual else "month"
        kept = [d for d in da.dims[1:] if d not in sum_over]
        coords: dict[Any, Any] = {d: template[d].values for d in kept}
        coords[time_dim] = np.array(unique_years) if annual else months
        dims = (time_dim, *kept)
        out[f"{name}_mean"] = xr.DataArray(values[0], dims=dims, coords=coords)
        coords["quantile"] = quantile_coord(levels)
        out[name] = xr.DataArray(values[1:], dims=("quantile", *dims), coords=coords)
    attrs = {
        k: v for k, v in template.attrs.items() if k not in ("run", "scenario_sha256", "history")
    }
    kind = "paired differences (alternative - base)" if minus is not None else "runs"
    attrs.update(
        title=f"tradesim summary across {len(paths)} {kind}, scenario {attrs.get('scenario')}",
        runs=len(paths),
        paired=int(minus is not None),
        quantiles=np.asarray(levels),
    )
    summary = describe(xr.Dataset(out, attrs=attrs))
    if minus is not None:
        for var in summary.data_vars.values():
            var.attrs["description"] = "alternative - base, run by run: " + var.attrs.get(
                "description", ""
            )
    return summary


def _raw_months(path: Path) -> tuple[Any, bytes]:
    """The month coordinate of a run file as stored (its units and encoded values): cheap
    to read, and equal for runs of the same months written the same way."""
    f = netcdf_file(path, "r", mmap=True)  # only the month coordinate is read
    try:
        units = getattr(f.variables["month"], "units", None)
        return units, np.array(f.variables["month"].data).tobytes()
    finally:
        f.variables.clear()  # drop the views into the map so that it can close
        f.close()


def _same_months(paths: Sequence[Path]) -> None:
    """Refuse runs of different months in one set: statistics across runs are month by
    month, and stacking files of different months would pair months by position."""
    first = _raw_months(paths[0])
    for path in paths[1:]:
        if _raw_months(path) != first:
            raise SimulationError(
                f"{path} does not cover the same months as {paths[0]}: runs summarized"
                " together must be runs of one horizon"
            )


def _paired_months(template: xr.Dataset, base_path: Path) -> tuple[xr.Dataset, int, int]:
    """The alternative's first run restricted to the months it shares with the base's, and
    where those months start in each (alternative, base): differences pair months by date."""
    with xr.open_dataset(base_path, engine="scipy") as base:
        base_index = base.indexes
        other = {
            d: base_index[d] for d in template.dims if d in base_index and d in template.indexes
        }
    alt_months, base_months = template.indexes["month"], other.pop("month")
    for dim, labels in other.items():
        mine = template.indexes[dim]
        if not mine.equals(labels):
            raise SimulationError(
                f"the alternative's and the base's runs differ in {dim}"
                f" ({', '.join(map(str, mine))} against {', '.join(map(str, labels))}):"
                " paired differences need the same labels in the same order"
            )
    common = alt_months.intersection(base_months)
    span = f"{alt_months[0]:%Y-%m} to {alt_months[-1]:%Y-%m}"
    base_span = f"{base_months[0]:%Y-%m} to {base_months[-1]:%Y-%m}"
    if len(common) == 0:
        raise SimulationError(
            f"the alternative's runs ({span}) and the base's ({base_span}) share no month"
        )
    lo_alt = alt_months.get_loc(common[0])
    lo_base = base_months.get_loc(common[0])
    n = len(common)
    if not (
        alt_months[lo_alt : lo_alt + n].equals(common)
        and base_months[lo_base : lo_base + n].equals(common)
    ):
        raise SimulationError(
            f"the months of the alternative's runs ({span}) and the base's ({base_span}) do"
            " not overlap in one unbroken stretch"
        )
    return template.isel(month=slice(lo_alt, lo_alt + n)), int(lo_alt), int(lo_base)


def _mean_reduceat(stack: np.ndarray[Any, Any], starts: np.ndarray[Any, Any], axis: int) -> Any:
    sums = np.add.reduceat(stack, starts, axis=axis)
    counts = np.diff(np.r_[starts, stack.shape[axis]])
    shape = [1] * stack.ndim
    shape[axis] = len(counts)
    return sums / counts.reshape(shape)


# ----------------------------------------------------------------------------- entry points


def run_ensemble(
    scenario: Scenario,
    *,
    runs: int,
    out: str | Path,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    progress: ProgressArg = True,
    check: bool = False,
    parameter_uncertainty: ParameterEstimates | str | Path | None = None,
) -> EnsembleResult:
    """Run `runs` simulations of `scenario`, writing each as it finishes into `out`/runs.

    Parameters
    ----------
    executor
        "serial" (in this process), "processes" (local processes, the default) or "dask"
        (a Dask cluster: `scheduler` is its address, or None to start a local cluster).
    workers
        Processes or local Dask workers; default: the number of cores.
    progress
        True (the default): a progress bar (tqdm.auto); False: none; a callable: called as
        progress(done, total) after each finished run.
    check
        Verify the accounting identities every month of every run (SimulationError if not).
    parameter_uncertainty
        The calibrated parameters' estimates and covariance (a `ParameterEstimates` or the
        path of a calibration report): each run draws its own parameters from them (see
        `tradesim.analysis.uncertainty`), so the bands hold parameter and model noise.

    Notes
    -----
    A second call with the same scenario and folder resumes: runs already on disk (and
    intact) are kept, missing ones computed.
    """
    scenario = check_scenario(scenario)
    runs = check_count(runs, "runs")
    workers = check_count(workers, "workers", optional=True)
    if executor not in EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose from {sorted(EXECUTORS)}")
    quantiles = check_quantiles(quantiles)
    scheduler = check_scheduler(scheduler)
    if not isinstance(out, (str, os.PathLike)):
        raise TypeError(f"out must be a folder path, got {type(out).__name__}")
    import time

    t0 = time.perf_counter()
    progress = progress_callback(progress, scenario.name)
    work: Any = scenario
    extra = ""
    if parameter_uncertainty is not None:
        from tradesim.analysis.uncertainty import ParameterDraws, ParameterEstimates, store_extra

        if not isinstance(parameter_uncertainty, ParameterEstimates):
            parameter_uncertainty = ParameterEstimates.from_report(parameter_uncertainty)
        work = ParameterDraws(scenario, parameter_uncertainty)
        extra = store_extra(parameter_uncertainty)
    store = RunStore(Path(out), scenario, extra)
    try:
        missing = [i for i in range(runs) if not store.is_done(i)]
        done = runs - len(missing)
        if done:
            log.info("resuming: %d of %d runs found in %s", done, runs, store.dir)
        if progress:
            progress(done, runs)
        if missing:
            for index, data in EXECUTORS[executor](
                work, missing, workers=workers, scheduler=scheduler, check=check, store=store
            ):
                if data is not None:  # else the worker wrote it
                    store.write(index, data)
                done += 1
                if progress:
                    progress(done, runs)
    finally:
        store.close()
    return EnsembleResult(
        scenario=scenario,
        out=Path(out),
        runs=runs,
        quantiles=tuple(quantiles),
        computed=len(missing),
        timings={"wall_seconds": time.perf_counter() - t0},
    )


@dataclass(frozen=True)
class Comparison:
    """Paired runs of a base and an alternative scenario (common random numbers).

    When their horizons differ, every paired figure covers the months both runs share
    (`note` says which; see `tradesim.analysis.horizons.align_horizons`)."""

    base: EnsembleResult
    alternative: EnsembleResult
    note: str | None = None  # how the horizons were paired, when they differ

    def differences(self, *, annual: bool = False) -> xr.Dataset:
        """Statistics of the run-by-run differences alternative - base, month by month over
        the months both cover (attribute `horizon_note` when the horizons differ)."""
        out = summarize(
            self.alternative.run_paths,
            minus=self.base.run_paths,
            quantiles=self.base.quantiles,
            annual=annual,
        )
        if self.note:
            out.attrs["horizon_note"] = self.note
        return out

    @property
    def routes(self) -> list[Route]:
        """The routes the alternative's own shocks touch (those the base does not have)."""
        alt, base = self.alternative.scenario, self.base.scenario
        return shock_routes(alt, added_shocks(alt, base))

    def metrics(self) -> xr.Dataset:
        """`paired_metrics` of each run pair (trade, shares, welfare), across pairs: NAME by
        `quantile` (the median and the band) and NAME_mean for each metric (see
        `tradesim.io.bands`). Computed once (it reads every run) and kept."""
        return self._metrics.copy()

    def to_frame(self, metric: str = "route_change_usd") -> Any:
        """A tidy pandas table of one metric of `metrics()`: a column per dimension, then
        `mean` and one column per quantile. The default, the change in annual trade on the
        routes the alternative's shocks touch; `bilateral_usd`, `welfare_usd` and the others
        are listed in `tradesim.io.results.comparison_metrics` and
        `tradesim.analysis.welfare.welfare`."""
        metrics = self._metrics
        if metric not in metrics:
            known = ", ".join(str(v) for v in metrics.data_vars if not str(v).endswith("_mean"))
            raise KeyError(f"no metric {metric!r}; known: {known}")
        drop = [
            c
            for c in ("route_origin", "route_destination", "route_sectors")
            if c in metrics[metric].coords
        ]
        table = bands_table(metrics, metric)
        if drop:
            coords = metrics[drop].to_dataframe().reset_index()
            table = table.merge(coords, on="route", how="left")
        return table

    def plot(self, kind: str = "change", **options: Any) -> Any:
        """A figure of the comparison (matplotlib Figure): "change", "routes", "currency" or
        "diversion"; see `tradesim.io.plot.comparison_plot`."""
        from tradesim.io.plot import comparison_plot

        return comparison_plot(self, kind, **options)

    def _repr_html_(self) -> str:
        from tradesim.io.display import comparison_html

        return comparison_html(self, self._metrics, self.routes)

    @cached_property
    def _metrics(self) -> xr.Dataset:
        scenario = self.alternative.scenario
        routes = self.routes
        per_run = [
            paired_metrics(self.base.run(i), self.alternative.run(i), scenario, routes)
            for i in range(self.base.runs)
        ]
        stacked = xr.concat(per_run, dim="run")
        summary = describe(across_runs(stacked, self.base.quantiles), PAIRED_ATTRS)
        return summary.assign_attrs(
            comparison_attrs(self.base.scenario, self.alternative.scenario, self.base.runs)
        )


def comparison_attrs(base: Scenario, alternative: Scenario, runs: int) -> dict[str, Any]:
    """Global attributes of a comparison's metrics."""
    return global_attrs(
        alternative.name,
        base.seed,
        title=f"tradesim comparison: {alternative.name} against {base.name}, paired runs",
        base_scenario=base.name,
        alternative_scenario=alternative.name,
        runs=runs,
    )


def single_pair_metrics(base: SimulationResult, alternative: SimulationResult) -> xr.Dataset:
    """`paired_metrics` of one pair of runs, in the form of `Comparison.metrics` (the
    median is the pair itself; no band)."""
    routes = shock_routes(alternative.scenario, added_shocks(alternative.scenario, base.scenario))
    pair = paired_metrics(base.data, alternative.data, alternative.scenario, routes)
    pair = pair.expand_dims(run=1)
    summary = describe(across_runs(pair, ()), PAIRED_ATTRS)
    return summary.assign_attrs(comparison_attrs(base.scenario, alternative.scenario, 1))


def check_comparable(
    base: Scenario, alternative: Scenario, *, labels: tuple[str, str] | None = None
) -> None:
    """Refuse to compare scenarios whose worlds differ (regions, sectors, currencies):
    a comparison over the common ones only would be silently partial.

    The same names in another order are refused too, saying so: runs are stored, summed
    and paired position by position along each of these dimensions (and the random
    numbers follow the positions), so the alternative must list them in the base's order.
    `labels` names the two in the message (the files, from the command line); by default
    the scenarios' names.
    """
    base_label, alt_label = labels or (repr(base.name), repr(alternative.name))
    for what in ("economies", "external_regions", "sectors", "currencies"):
        a, b = list(getattr(base, what)), list(getattr(alternative, what))
        if a == b:
            continue
        word = what.replace("_", " ")
        if sorted(a) == sorted(b):
            raise ComparisonError(
                f"cannot compare {alt_label} with {base_label}: {alt_label} lists its {word}"
                f" in another order ({', '.join(b)}) than {base_label} ({', '.join(a)});"
                " runs are stored and paired position by position, so list them in the"
                " base's order"
            )
        raise ComparisonError(
            f"cannot compare {alt_label} with {base_label}: their {word} differ"
            f" ({base_label}: {', '.join(a) or 'none'}; {alt_label}: {', '.join(b) or 'none'});"
            " a comparison needs the same world, with the difference in shocks, paths or"
            " parameters"
        )


def compare(
    base: Scenario,
    alternative: Scenario,
    *,
    runs: int,
    out: str | Path,
    extend_base: bool = False,
    **options: Any,
) -> Comparison:
    """Run both scenarios with the same per-run seeds and pair their runs.

    The alternative is run with the base's seed, so run i of each shares random numbers.
    Outputs go to `out`/base and `out`/<alternative name> (the name made safe as a folder
    name; an alternative named "base" goes to `out`/base_alternative).

    When the horizons differ, the pairs cover the months both share; with `extend_base`, a
    base that ends before the alternative is run to the alternative's end (its exogenous
    paths flat beyond their last point). `Comparison.note` says which, as the command line
    does (`tradesim.analysis.horizons.align_horizons`). ComparisonError if the worlds differ
    or the horizons share no month.
    """
    base = check_scenario(base, "base")
    alternative = check_scenario(alternative, "alternative")
    check_comparable(base, alternative)
    alternative = alternative.model_copy(update={"seed": base.seed})
    base, note = align_horizons(base, alternative, extend_base=extend_base)
    out = Path(out)
    first = run_ensemble(base, runs=runs, out=out / "base", **options)
    folder = output_name(alternative.name)
    folder = f"{folder}_alternative" if folder.lower() == "base" else folder
    second = run_ensemble(alternative, runs=runs, out=out / folder, **options)
    return Comparison(first, second, note)
