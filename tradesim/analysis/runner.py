"""Running an ensemble's runs: seeds, worker processes, the run store and the executors.

Run i of an ensemble is seeded with ``SeedSequence(scenario.seed, spawn_key=(i,))``: it does
not depend on the number of runs, the executor or the number of workers, so results are
identical everywhere, and run i of a baseline and run i of a counterfactual share their
random numbers (common random numbers).

Each finished run is written to ``runs/run_NNNNN.nc`` (temporary file, then rename), by the
worker that computed it when the worker shares this file system, followed by a ``.sha256``
sidecar. A run counts as done only when its sidecar matches its file, so a run interrupted
at any point, or a corrupt file, is computed again on the next call, and finished runs are
never recomputed.

This module needs neither xarray nor pandas: it is what a worker process imports (a spawned
process, a Dask worker) to compute and write runs. Summaries across runs are in
`tradesim.analysis.ensemble`.
"""

from __future__ import annotations

import hashlib
import json
import logging
import multiprocessing
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import ProcessPoolExecutor, as_completed
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import numpy as np
from scipy.io import netcdf_file

from tradesim.errors import TradesimError
from tradesim.io.metadata import global_attrs
from tradesim.io.outputs import FolderLock, atomic_write, mark_output
from tradesim.io.runfile import LabelledRun, label_run, write_run_file
from tradesim.scenario import Scenario

__all__ = [
    "EXECUTORS",
    "ExecutorName",
    "RunStore",
    "dask_client",
    "process_pool",
    "run_seed",
    "scenario_hash",
]

log = logging.getLogger(__name__)

ExecutorName = Literal["serial", "processes", "dask"]


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


class RunStore:
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
    index; `RunStore.is_done` verifies files and sidecars on resume as for any run."""
    _write_run_file(path, _simulate_run(scenario, index, check), scenario_sha256)
    return index


# ----------------------------------------------------------------------------- executors


def _serial(
    scenario: Scenario, indices: Sequence[int], *, check: bool, **_: Any
) -> Iterator[tuple[int, LabelledRun | None]]:
    for i in indices:
        yield i, _simulate_run(scenario, i, check)


def worker_count(workers: int | None, tasks: int | None = None) -> int:
    """Workers to start: `workers` (default: the cores), never more than there are tasks. A
    pool starts all its processes at once, each holding a run's memory: `--workers 999999`
    for 2 runs must not start 999,999 processes."""
    count = workers or os.cpu_count() or 1
    return max(1, min(count, tasks)) if tasks is not None else count


def process_pool(workers: int | None, tasks: int | None = None) -> ProcessPoolExecutor:
    """Local worker processes with one BLAS thread each, at most one per task. On Linux they
    fork, sharing the parent's imported modules, so a worker costs no start-up imports."""
    method = "fork" if sys.platform == "linux" else "spawn"
    return ProcessPoolExecutor(
        worker_count(workers, tasks),
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
    store: RunStore | None = None,
    **_: Any,
) -> Iterator[tuple[int, LabelledRun | None]]:
    """Local processes; with a `store`, each worker writes its runs' files itself (the
    run is then not sent back: None is yielded in its place)."""
    with process_pool(workers, len(indices)) as pool:
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
    store: RunStore | None = None,
    **_: Any,
) -> Iterator[tuple[int, LabelledRun | None]]:
    """A Dask cluster. Workers on this machine (a local cluster, or every worker on the
    loopback address) write their runs' files themselves, as local processes do: sending a
    run back and writing it here took a fifth of the time of a 100k-agent ensemble on 2
    cores. Workers elsewhere may not see this file system: they send their labelled runs
    back to be written here."""
    with dask_client(workers, scheduler, len(indices)) as client:
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
def dask_client(
    workers: int | None, scheduler: str | None, tasks: int | None = None
) -> Iterator[Any]:
    """A Dask client on `scheduler`, or on a local cluster of `workers` processes (at most
    one per task) started and closed here (its workers end with this process, like the
    process pool's)."""
    try:
        from distributed import Client, LocalCluster
    except ImportError:
        raise TradesimError(
            "the dask executor needs the optional extra: pip install 'tradesim[dask]'"
        ) from None
    cluster = None
    if scheduler is None:
        cluster = LocalCluster(
            n_workers=worker_count(workers, tasks),
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


EXECUTORS: dict[str, Callable[..., Iterator[tuple[int, LabelledRun | None]]]] = {
    "serial": _serial,
    "processes": _processes,
    "dask": _dask,
}
