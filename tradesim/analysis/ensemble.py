"""Monte Carlo ensembles: many runs of a scenario, on local processes or a Dask cluster,
written as they finish and resumable, with summaries and paired comparisons across runs.

Run i of an ensemble is seeded with ``SeedSequence(scenario.seed, spawn_key=(i,))``: it does
not depend on the number of runs, the executor or the number of workers, so results are
identical everywhere, and run i of a baseline and run i of a counterfactual share their
random numbers (common random numbers).

Each finished run is written by the calling process to ``runs/run_NNNNN.nc`` (temporary
file, then rename) followed by a ``.sha256`` sidecar. A run counts as done only when its
sidecar matches its file, so a run interrupted at any point, or a corrupt file, is computed
again on the next call, and finished runs are never recomputed.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

import numpy as np
import xarray as xr
from scipy.io import netcdf_file

from tradesim.analysis.arguments import (
    check_count,
    check_quantiles,
    check_scenario,
    check_scheduler,
)
from tradesim.analysis.progress import ProgressArg, progress_callback
from tradesim.analysis.welfare import PAIRED_ATTRS, paired_metrics
from tradesim.errors import ScenarioError, SimulationError, TradesimError
from tradesim.io.bands import across_runs, bands_table, quantile_coord, quantile_levels
from tradesim.io.currency import Frequency, share_statistics
from tradesim.io.metadata import FLOW_VARIABLES, describe, global_attrs
from tradesim.io.outputs import FolderLock, mark_output, output_name
from tradesim.io.results import (
    SimulationResult,
    atomic_write,
    csv_writer,
    manifest,
)
from tradesim.io.runfile import LabelledRun, label_run, write_run_file
from tradesim.scenario import Scenario
from tradesim.scenario.focus import Route, added_shocks, shock_routes

if TYPE_CHECKING:
    from tradesim.analysis.uncertainty import ParameterEstimates

__all__ = [
    "Comparison",
    "EnsembleResult",
    "ExecutorName",
    "check_comparable",
    "compare",
    "process_pool",
    "run_ensemble",
    "run_seed",
    "scenario_hash",
    "single_pair_metrics",
    "summarize",
]

log = logging.getLogger(__name__)

ExecutorName = Literal["serial", "processes", "dask"]
Progress = Callable[[int, int], None]

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


def run_seed(scenario: Scenario, index: int) -> np.random.SeedSequence:
    """The seed of run `index`: the same for any ensemble size, executor or worker count."""
    return np.random.SeedSequence(scenario.seed, spawn_key=(index,))


def scenario_hash(scenario: Scenario) -> str:
    """SHA-256 of the resolved scenario: what a run file and an ensemble folder belong to."""
    text = json.dumps(scenario.model_dump(mode="json"), sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


_M_TRIM_THRESHOLD, _M_MMAP_THRESHOLD = -1, -3  # glibc mallopt parameters


def _prepare_worker() -> None:
    """Set up a worker process for simulation runs.

    - One BLAS thread: with default OpenBLAS threading, two processes on two cores ran
      slower than one here.
    - glibc malloc keeps freed memory for reuse (mmap threshold 32 MiB, trim threshold
      64 MiB). Dask's nanny starts workers with MALLOC_TRIM_THRESHOLD_=65536, which returns
      every freed block to the OS; the engine allocates month-sized temporaries, and a run
      took 25% longer in such a worker. Setting one threshold disables glibc's dynamic
      adjustment, so both are set.
    """
    for var in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS"):
        os.environ[var] = "1"
    from threadpoolctl import threadpool_limits

    threadpool_limits(1)
    if sys.platform == "linux":
        import ctypes
        import ctypes.util

        name = ctypes.util.find_library("c")
        if name:
            libc = ctypes.CDLL(name)
            if hasattr(libc, "mallopt"):
                libc.mallopt(_M_MMAP_THRESHOLD, 32 * 2**20)
                libc.mallopt(_M_TRIM_THRESHOLD, 64 * 2**20)


_PR_SET_PDEATHSIG = 1  # linux/prctl.h


def _end_with_parent(parent: int | None = None) -> None:
    """Make this worker process end when the process that started it ends.

    A killed CLI (SIGKILL, or a terminal closed) would otherwise leave its workers running,
    each holding a run's memory (about 150 MB). On Linux the kernel sends SIGTERM to the
    worker when its parent dies (prctl PR_SET_PDEATHSIG); a parent that died before this
    call is caught by comparing the parent pid.
    """
    if sys.platform != "linux":
        return
    import ctypes
    import ctypes.util
    import signal

    name = ctypes.util.find_library("c")
    if name:
        libc = ctypes.CDLL(name, use_errno=True)
        libc.prctl(_PR_SET_PDEATHSIG, int(signal.SIGTERM), 0, 0, 0)
    if parent is not None and os.getppid() != parent:
        os._exit(1)


def _prepare_local_worker(parent: int | None = None) -> None:
    """`_prepare_worker` for workers this process starts: they also end with it."""
    _end_with_parent(parent)
    _prepare_worker()


def _simulate_run(scenario: Scenario, index: int, check: bool = False) -> LabelledRun:
    """Work unit of every executor: run `index` of the ensemble, its arrays labelled.
    `scenario` may be a `ParameterDraws` (parameter uncertainty): run `index` then uses its
    own drawn parameters, with the same seed."""
    from tradesim.model.engine import run_engine

    if hasattr(scenario, "for_run"):
        scenario = scenario.for_run(index)

    raw = run_engine(scenario, run_seed(scenario, index), check=check)
    return label_run(raw, global_attrs(scenario.name, scenario.seed, run=index))


def _blas_threads_in_worker() -> list[int]:
    """For tests: the thread counts of the BLAS libraries in this process."""
    from threadpoolctl import threadpool_info

    return [int(info["num_threads"]) for info in threadpool_info() if info["user_api"] == "blas"]


# ----------------------------------------------------------------------------- storage


class _RunStore:
    """The runs/ folder of an ensemble output directory, owned by this process.

    The folder is locked (`FolderLock`) before ensemble.json is read or written, so two
    processes never write one ensemble (two scenarios started into one folder would mix
    their runs). Each run file carries the scenario's hash, checked on resume: a run of
    another scenario copied in is refused, never counted as finished.
    """

    def __init__(self, out: Path, scenario: Scenario, extra: str = ""):
        self.out = out
        self.dir = out / "runs"
        fresh = not out.exists() or not any(out.iterdir()) or (out / "ensemble.json").exists()
        self.lock = FolderLock(out).acquire()
        try:
            if fresh:  # a folder of tradesim's own (not one the caller filled with other files)
                mark_output(out, "ensemble")
            self.dir.mkdir(parents=True, exist_ok=True)
            self.scenario_sha256 = scenario_hash(scenario)
            if extra:  # e.g. the parameter distribution of runs with parameter uncertainty
                self.scenario_sha256 = hashlib.sha256(
                    (self.scenario_sha256 + extra).encode()
                ).hexdigest()
            meta = out / "ensemble.json"
            if meta.exists():
                try:
                    known = json.loads(meta.read_text())["scenario_sha256"]
                except (ValueError, KeyError, TypeError):
                    known = None
                if known != self.scenario_sha256:
                    raise TradesimError(
                        f"{out} holds runs of a different scenario (or an unreadable"
                        " ensemble.json); choose another output folder or remove it"
                    )
            else:
                text = json.dumps({"scenario_sha256": self.scenario_sha256}) + "\n"
                atomic_write(meta, lambda p: p.write_text(text))
        except BaseException:
            self.lock.release()
            raise

    def close(self) -> None:
        self.lock.release()

    def path(self, index: int) -> Path:
        return self.dir / f"run_{index:05d}.nc"

    def is_done(self, index: int) -> bool:
        """A run is done when its file exists, matches its checksum sidecar and is a run of
        this scenario. A file of another scenario is an error, not a run to redo silently."""
        path, sidecar = self.path(index), self.path(index).with_suffix(".nc.sha256")
        try:
            expected = sidecar.read_text().strip()
            actual = hashlib.sha256(path.read_bytes()).hexdigest()
        except OSError:
            return False
        if expected != actual:
            log.warning("run %d: %s does not match its checksum; computing it again", index, path)
            return False
        try:
            f = netcdf_file(path, "r", mmap=False)
            try:
                owner = f._attributes.get("scenario_sha256")
            finally:
                f.close()
        except Exception:  # an empty or unreadable file whose sidecar happens to match
            log.warning("run %d: %s is not a readable run file; computing it again", index, path)
            return False
        if isinstance(owner, bytes):
            owner = owner.decode()
        if owner != self.scenario_sha256:
            raise TradesimError(
                f"{path} is a run of another scenario (its scenario hash differs); remove it"
                " or choose another output folder"
            )
        return True

    def write(self, index: int, data: LabelledRun) -> None:
        _write_run_file(self.path(index), data, self.scenario_sha256)


def _write_run_file(path: Path, run: LabelledRun, scenario_sha256: str) -> None:
    """Write one run's file and its checksum sidecar (each atomically)."""
    run = run.with_attrs(scenario_sha256=scenario_sha256)
    atomic_write(path, lambda p: write_run_file(p, run))
    digest = hashlib.sha256(path.read_bytes()).hexdigest()
    atomic_write(path.with_suffix(".nc.sha256"), lambda p: p.write_text(digest + "\n"))


def _run_to_file(
    scenario: Scenario, index: int, check: bool, path: Path, scenario_sha256: str
) -> int:
    """Work unit of local worker processes: run `index` and write its file in the worker.

    Writing where the run was computed keeps the parent process idle: on 2 cores the parent
    unpickling each Dataset and encoding it to NetCDF took CPU from the workers, and the
    8-run ensemble of the bundled baseline was only 1.17x faster than serial (issue 16).
    The parent still owns the folder (its lock) and checks nothing more than the returned
    index; `_RunStore.is_done` verifies files and sidecars on resume as for any run."""
    _write_run_file(path, _simulate_run(scenario, index, check), scenario_sha256)
    return index


# ----------------------------------------------------------------------------- executors


def _serial(
    scenario: Scenario, indices: Sequence[int], *, check: bool, **_: Any
) -> Iterator[tuple[int, LabelledRun | None]]:
    for i in indices:
        yield i, _simulate_run(scenario, i, check)


def process_pool(workers: int | None) -> ProcessPoolExecutor:
    """Local worker processes with one BLAS thread each. On Linux they fork, sharing the
    parent's imported modules, so a worker costs no start-up imports."""
    method = "fork" if sys.platform == "linux" else "spawn"
    return ProcessPoolExecutor(
        workers or os.cpu_count() or 1,
        mp_context=multiprocessing.get_context(method),
        initializer=_prepare_local_worker,
        initargs=(os.getpid(),),
    )


def _processes(
    scenario: Scenario,
    indices: Sequence[int],
    *,
    workers: int | None,
    check: bool,
    store: _RunStore | None = None,
    **_: Any,
) -> Iterator[tuple[int, LabelledRun | None]]:
    """Local processes; with a `store`, each worker writes its runs' files itself (the
    run is then not sent back: None is yielded in its place)."""
    with process_pool(workers) as pool:
        futures: dict[Any, int]
        if store is None:
            futures = {pool.submit(_simulate_run, scenario, i, check): i for i in indices}
        else:
            sha = store.scenario_sha256
            futures = {
                pool.submit(_run_to_file, scenario, i, check, store.path(i), sha): i
                for i in indices
            }
        for future in as_completed(futures):
            result = future.result()
            yield futures[future], None if store is not None else result


def _dask(
    scenario: Scenario,
    indices: Sequence[int],
    *,
    workers: int | None,
    scheduler: str | None,
    check: bool,
    store: _RunStore | None = None,
    **_: Any,
) -> Iterator[tuple[int, LabelledRun | None]]:
    """A Dask cluster. Workers on this machine (a local cluster, or every worker on the
    loopback address) write their runs' files themselves, as local processes do: sending a
    run back and writing it here took a fifth of the time of a 100k-agent ensemble on 2
    cores. Workers elsewhere may not see this file system: they send their labelled runs
    back to be written here."""
    with dask_client(workers, scheduler) as client:
        from distributed import as_completed as dask_completed

        n = len(indices)
        if store is not None and _workers_are_local(client):
            futures = client.map(
                _run_to_file,
                [scenario] * n,
                list(indices),
                [check] * n,
                [store.path(i) for i in indices],
                [store.scenario_sha256] * n,
                pure=False,
            )
        else:
            store = None
            futures = client.map(
                _simulate_run, [scenario] * n, list(indices), [check] * n, pure=False
            )
        position = {f.key: i for f, i in zip(futures, indices, strict=True)}
        for future in dask_completed(futures, loop=client.loop):
            result = future.result()
            yield position[future.key], None if store is not None else result
            future.release()


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _workers_are_local(client: Any) -> bool:
    """Whether every worker of the cluster runs on this machine (loopback addresses only)."""
    hosts = {info.get("host") for info in client.scheduler_info()["workers"].values()}
    return bool(hosts) and hosts <= _LOOPBACK


@contextmanager
def dask_client(workers: int | None, scheduler: str | None) -> Iterator[Any]:
    """A Dask client on `scheduler`, or on a local cluster of `workers` processes started and
    closed here (its workers end with this process, like the process pool's)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise TradesimError(
            "the dask executor needs the optional extra: pip install 'tradesim[dask]'"
        ) from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,
        )
    try:
        # Not the process-wide default client: xarray would then take a distributed lock
        # (a scheduler round trip) for every NetCDF write in this process.
        with Client(scheduler or cluster, set_as_default=False) as client:
            client.run(_prepare_worker if cluster is None else _prepare_local_worker)
            yield client
    except OSError as exc:
        raise TradesimError(f"cannot reach the Dask scheduler {scheduler}: {exc}") from None
    finally:
        if cluster is not None:
            cluster.close()


_EXECUTORS: dict[str, Callable[..., Iterator[tuple[int, LabelledRun | None]]]] = {
    "serial": _serial,
    "processes": _processes,
    "dask": _dask,
}


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
        """The full Dataset of run `index`."""
        with xr.open_dataset(self.run_paths[index], engine="scipy") as ds:
            return ds.load()

    def summary(self, *, annual: bool = False) -> xr.Dataset:
        """Mean (NAME_mean) and quantiles (NAME, `quantile` dimension) across runs; see
        `summarize`."""
        return summarize(self.run_paths, quantiles=self.quantiles, annual=annual)

    def bilateral_bands(self) -> xr.Dataset:
        """Annual trade by origin and destination across runs (per-run totals, domestic
        sales included): `shipped_usd` by quantile and `shipped_usd_mean`."""
        return summarize(
            self.run_paths,
            quantiles=self.quantiles,
            annual=True,
            variables=["shipped_usd"],
            sum_over=("sector", "currency"),
        )

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
        return self.bilateral_bands()

    def _repr_html_(self) -> str:
        from tradesim.io.display import ensemble_html

        return ensemble_html(self, self._bands)

    def direction_currency_shares(
        self, *, freq: Frequency = "year", by_sector: bool = False
    ) -> xr.Dataset:
        """The currency shares by origin -> destination (and sector), annual or quarterly,
        across runs: `currency_share` by quantile and `currency_share_mean`; see
        `tradesim.io.currency.share_statistics`."""
        runs = (self.run(i) for i in range(self.runs))
        return share_statistics(runs, self.quantiles, freq=freq, by_sector=by_sector)

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
        bands = bands_table(self.bilateral_bands(), "shipped_usd")
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
    numbers make these much tighter than differences of means). `sum_over` names dimensions
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
            stack = np.stack([_read_slice(p, name, lo, hi) for p in paths])
            if minus is not None:
                stack -= np.stack([_read_slice(p, name, lo, hi) for p in minus])
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
    if executor not in _EXECUTORS:
        raise ValueError(f"unknown executor {executor!r}; choose from {sorted(_EXECUTORS)}")
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
    store = _RunStore(Path(out), scenario, extra)
    try:
        missing = [i for i in range(runs) if not store.is_done(i)]
        done = runs - len(missing)
        if done:
            log.info("resuming: %d of %d runs found in %s", done, runs, store.dir)
        if progress:
            progress(done, runs)
        if missing:
            for index, data in _EXECUTORS[executor](
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
    """Paired runs of a base and an alternative scenario (common random numbers)."""

    base: EnsembleResult
    alternative: EnsembleResult

    def differences(self, *, annual: bool = False) -> xr.Dataset:
        """Statistics of the run-by-run differences alternative - base."""
        return summarize(
            self.alternative.run_paths,
            minus=self.base.run_paths,
            quantiles=self.base.quantiles,
            annual=annual,
        )

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


def check_comparable(base: Scenario, alternative: Scenario) -> None:
    """Refuse to compare scenarios whose worlds differ (regions, sectors, currencies):
    a comparison over the common ones only would be silently partial."""
    for what in ("economies", "external_regions", "sectors", "currencies"):
        a, b = list(getattr(base, what)), list(getattr(alternative, what))
        if a != b:
            raise ScenarioError(
                f"cannot compare {alternative.name!r} with {base.name!r}: their {what}"
                f" differ ({', '.join(a)} against {', '.join(b)}); a comparison needs the same"
                " world, with the difference in shocks, paths or parameters"
            )


def compare(
    base: Scenario,
    alternative: Scenario,
    *,
    runs: int,
    out: str | Path,
    **options: Any,
) -> Comparison:
    """Run both scenarios with the same per-run seeds and pair their runs.

    The alternative is run with the base's seed, so run i of each shares random numbers.
    Outputs go to `out`/base and `out`/<alternative name> (the name made safe as a folder
    name; an alternative named "base" goes to `out`/base_alternative).
    """
    base = check_scenario(base, "base")
    alternative = check_scenario(alternative, "alternative")
    check_comparable(base, alternative)
    alternative = alternative.model_copy(update={"seed": base.seed})
    out = Path(out)
    first = run_ensemble(base, runs=runs, out=out / "base", **options)
    folder = output_name(alternative.name)
    folder = f"{folder}_alternative" if folder.lower() == "base" else folder
    second = run_ensemble(alternative, runs=runs, out=out / folder, **options)
    return Comparison(first, second)
