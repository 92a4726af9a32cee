"""Many scenario variants ("points") times many runs, on the ensemble executors, each
result written atomically as it finishes so that a rerun skips what is done.

The work unit is one run index with a chunk of points: the worker simulates the base run of
that index once (when points are paired with a base) and every point of the chunk, and
returns the chosen scalar outputs (`tradesim.analysis.outputs`). Run i of every point uses
the seed of run i of an ensemble (`run_seed`), so points share random numbers (common random
numbers): differences between points are not drowned in Monte Carlo noise.

Storage: ``OUT/spec.json`` (a hash of what is being computed: a folder never mixes two
studies) and ``OUT/points/KEY/run_NNNNN.json`` with the outputs of one point and run.
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradesim.analysis.arguments import check_count
from tradesim.analysis.outputs import Output, evaluate_outputs
from tradesim.analysis.runner import ExecutorName, dask_client, process_pool, run_seed
from tradesim.errors import TradesimError
from tradesim.io.outputs import (
    FolderLock,
    atomic_write,
    foreign_entries,
    is_output_folder,
    mark_output,
)
from tradesim.scenario import Scenario

__all__ = ["Point", "run_points"]

log = logging.getLogger(__name__)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class Point:
    """A scenario variant to run: `key` names its folder (letters, digits, _ and -).
    `base`, when given, is what this point is paired with (else the batch's base)."""

    key: str
    scenario: Scenario
    base: Scenario | None = None


def _hash(obj: Any) -> str:
    return hashlib.sha256(json.dumps(obj, sort_keys=True, default=str).encode()).hexdigest()


def _scenario_json(s: Scenario) -> Any:
    return s.model_dump(mode="json")


def _task(
    index: int,
    points: Sequence[Point],
    base: Scenario | None,
    outputs: Sequence[Output],
) -> tuple[int, list[tuple[str, dict[str, float]]]]:
    """Worker: run `index` of the base (once) and of each point; their outputs."""
    from tradesim.io.results import to_dataset
    from tradesim.model.engine import run_engine

    bases: dict[str, Any] = {}  # base runs of this index, by scenario hash
    results = []
    for point in points:
        pair = point.base or base
        base_data = None
        if pair is not None:
            digest = _hash(_scenario_json(pair))
            if digest not in bases:
                bases[digest] = to_dataset(run_engine(pair, run_seed(pair, index)))
            base_data = bases[digest]
        data = to_dataset(run_engine(point.scenario, run_seed(point.scenario, index)))
        results.append((point.key, evaluate_outputs(outputs, data, point.scenario, base_data)))
    return index, results


#: Points per work unit at most: a unit's results are written when it ends, so this bounds
#: the work an interruption loses, and the base run is shared by this many points.
CHUNK_POINTS = 8


def _chunks(items: list[Point], n: int) -> list[list[Point]]:
    """Consecutive chunks: about `n` of them, each of at most CHUNK_POINTS points."""
    size = max(1, min(CHUNK_POINTS, -(-len(items) // max(1, n))))
    return [items[k : k + size] for k in range(0, len(items), size)]


def _execute(
    tasks: list[tuple[int, list[Point]]],
    base: Scenario | None,
    outputs: Sequence[Output],
    executor: ExecutorName,
    workers: int | None,
    scheduler: str | None,
) -> Iterator[tuple[int, list[tuple[str, dict[str, float]]]]]:
    if executor == "serial":
        for index, chunk in tasks:
            yield _task(index, chunk, base, outputs)
    elif executor == "processes":
        from concurrent.futures import as_completed

        with process_pool(workers, len(tasks)) as pool:
            futures = [pool.submit(_task, i, chunk, base, outputs) for i, chunk in tasks]
            for future in as_completed(futures):
                yield future.result()
    elif executor == "dask":
        with dask_client(workers, scheduler, len(tasks)) as client:
            from distributed import as_completed as dask_completed

            futures = [
                client.submit(_task, i, chunk, base, outputs, pure=False) for i, chunk in tasks
            ]
            for future in dask_completed(futures, loop=client.loop):
                yield future.result()
                future.release()
    else:
        raise ValueError(f"unknown executor {executor!r}; choose from dask, processes, serial")


def _text_writer(text: str) -> Callable[[Path], object]:
    return lambda p: p.write_text(text)


def run_points(
    points: Sequence[Point],
    *,
    runs: int,
    outputs: Sequence[Output],
    out: str | Path,
    base: Scenario | None = None,
    spec: Any = None,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> dict[str, list[dict[str, float]]]:
    """Outputs of `runs` runs of every point (against run i of `base` when given).

    Results found in `out` from an earlier call with the same points, base, outputs and
    `spec` are reused; the others are computed and written as they finish. Returns, for
    each point key, the list of per-run output dictionaries (run 0 first).
    """
    runs = check_count(runs, "runs")
    workers = check_count(workers, "workers", optional=True)
    keys = [p.key for p in points]
    if len(set(keys)) != len(keys):
        raise ValueError("point keys must be unique")
    out = Path(out)
    if out.exists() and any(out.iterdir()) and not is_output_folder(out):
        raise TradesimError(
            f"{out} exists and was not written by tradesim; choose another output folder"
        )
    with FolderLock(out):
        mark_output(out, "study")
        return _run_points_locked(
            points, runs, outputs, out, base, spec, executor, workers, scheduler, progress
        )


def _run_points_locked(
    points: Sequence[Point],
    runs: int,
    outputs: Sequence[Output],
    out: Path,
    base: Scenario | None,
    spec: Any,
    executor: ExecutorName,
    workers: int | None,
    scheduler: str | None,
    progress: Progress | None,
) -> dict[str, list[dict[str, float]]]:
    """`run_points` once `out` is locked by this process and marked as tradesim's."""
    (out / "points").mkdir(parents=True, exist_ok=True)
    digest = _hash(
        {
            "points": {
                p.key: [_scenario_json(p.scenario), p.base and _scenario_json(p.base)]
                for p in points
            },
            "base": None if base is None else _scenario_json(base),
            "outputs": [o.name for o in outputs],
            "spec": spec,
        }
    )
    meta = out / "spec.json"
    try:
        known = json.loads(meta.read_text())["sha256"] if meta.exists() else None
    except (ValueError, KeyError, TypeError):
        known = None
    if known != digest:
        # Another study's spec is replaced only when it is tradesim's own and that study
        # stopped before its first result: nothing is lost.
        if meta.exists() and (
            any((out / "points").glob("*/run_*.json")) or meta.name in foreign_entries(out)
        ):
            raise TradesimError(
                f"{out} holds results of a different study (points, base, outputs or"
                " options differ); choose another output folder or remove it"
            )
        text = json.dumps({"sha256": digest, "spec": spec}, indent=2, default=str) + "\n"
        atomic_write(meta, lambda p: p.write_text(text))

    def path(key: str, index: int) -> Path:
        return out / "points" / key / f"run_{index:05d}.json"

    def done(key: str, index: int) -> dict[str, float] | None:
        try:
            values = json.loads(path(key, index).read_text())
        except (OSError, ValueError):
            return None
        if not isinstance(values, dict) or set(values) != {o.name for o in outputs}:
            return None
        return {k: float(v) for k, v in values.items()}

    results: dict[str, list[dict[str, float] | None]] = {
        p.key: [done(p.key, i) for i in range(runs)] for p in points
    }
    total = len(points) * runs
    finished = sum(v is not None for per in results.values() for v in per)
    if finished:
        log.info("resuming: %d of %d point runs found in %s", finished, total, out)
    if progress:
        progress(finished, total)
    n_chunks = 2 * (workers or os.cpu_count() or 1) if executor != "serial" else 1
    tasks: list[tuple[int, list[Point]]] = []
    for i in range(runs):
        todo = [p for p in points if results[p.key][i] is None]
        tasks += [(i, chunk) for chunk in _chunks(todo, max(1, n_chunks // runs))]
    tasks = [t for t in tasks if t[1]]
    for i, chunk in tasks:
        for p in chunk:
            path(p.key, i).parent.mkdir(parents=True, exist_ok=True)
    for run_index, batch in _execute(tasks, base, outputs, executor, workers, scheduler):
        for key, values in batch:
            atomic_write(path(key, run_index), _text_writer(json.dumps(values) + "\n"))
            results[key][run_index] = values
            finished += 1
            if progress:
                progress(finished, total)
    return {k: [v for v in per if v is not None] for k, per in results.items()}
