"""Sweeps: a grid (every combination) or a list (i-th values together) of values of
scenario fields, in the `--set` syntax (``parameters.markup``, ``shocks.0.rate``), run on
the ensemble executors with common random numbers, as a tidy table: one row per point and
run, a column per varied field and per output (the batch_run table Mesa users know).

Each point's results are written as they finish (`tradesim.analysis.batch`), so an
interrupted sweep resumes where it stopped.
"""

from __future__ import annotations

import itertools
import json
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any, Literal

import yaml

from tradesim.analysis.batch import Point, Progress, run_points
from tradesim.analysis.ensemble import check_comparable
from tradesim.analysis.outputs import default_outputs, parse_outputs
from tradesim.analysis.runner import ExecutorName
from tradesim.errors import TradesimError
from tradesim.io.outputs import atomic_write, neutralize_cells
from tradesim.io.results import writer
from tradesim.scenario import Scenario, load_scenario
from tradesim.scenario.loading import field_path

__all__ = ["design_points", "sweep"]


def design_points(
    values: Mapping[str, Sequence[Any]], *, mode: Literal["grid", "list"] = "grid"
) -> list[dict[str, Any]]:
    """The points of a sweep: every combination (grid) or the i-th values together (list)."""
    if not values:
        raise TradesimError("nothing to sweep: no fields with values")
    for path, vals in values.items():
        if isinstance(vals, (str, bytes)) or not isinstance(vals, Sequence):
            raise TypeError(f"the values of {path!r} must be a list, got {vals!r}")
        if len(vals) == 0:
            raise TradesimError(f"--vary {path}: no values")
    names = list(values)
    if mode == "grid":
        return [
            dict(zip(names, combo, strict=True)) for combo in itertools.product(*values.values())
        ]
    lengths = {len(v) for v in values.values()}
    if len(lengths) != 1:
        raise TradesimError(
            "--mode list needs as many values for every field; got "
            + ", ".join(f"{p}: {len(v)}" for p, v in values.items())
        )
    return [dict(zip(names, combo, strict=True)) for combo in zip(*values.values(), strict=True)]


def _variant(
    path: Path, overrides: Sequence[str], point: Mapping[str, Any], allow_outside: bool
) -> Scenario:
    return load_scenario(
        path,
        overrides=[*overrides, *(f"{k}={_yaml_text(v)}" for k, v in point.items())],
        allow_outside=allow_outside,
    )


def _yaml_text(value: Any) -> str:
    """A value as `--set` reads it: text as given (read as YAML), anything else as its JSON
    form (valid YAML), so that None is null, not the text 'None'."""
    return value if isinstance(value, str) else json.dumps(value)


def check_fields_once(paths: Iterable[str], what: str) -> None:
    """Refuse a field given twice, in any spelling (``shocks[0].rate``, ``shocks.0.rate``):
    the later value would silently replace the earlier."""
    seen: dict[str, str] = {}
    for path in paths:
        canonical = field_path(path)
        if canonical in seen:
            also = f" (also as {seen[canonical]!r})" if seen[canonical] != path else ""
            raise TradesimError(f"{path!r} is {what} twice{also}: give each field once")
        seen[canonical] = path


def _of_shocks(path: str) -> bool:
    """Whether a field path is in the scenario's shocks (which a sweep's base does not take)."""
    canonical = field_path(path)
    return canonical == "shocks" or canonical.startswith("shocks.")


def sweep(
    path: str | Path,
    values: Mapping[str, Sequence[Any]],
    *,
    overrides: Sequence[str] = (),
    allow_outside: bool = False,
    mode: Literal["grid", "list"] = "grid",
    base: str | Path | None = None,
    outputs: Sequence[str] | None = None,
    runs: int = 1,
    out: str | Path,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> Any:
    """Run the scenario file at `path` at every point and return the tidy table (pandas).

    Parameters
    ----------
    values
        Field path (as in `--set`) -> values, each read as YAML like `--set` does.
    allow_outside
        Let `extends:` name files outside the scenario's folder tree (see `load_scenario`).
    base
        A base scenario file: every point is paired with run i of the base under the same
        overrides except those of shocks (so a parameter moves in both), over the point's
        horizon; outputs are then changes (welfare outputs allowed). Otherwise levels.
    out
        Folder: per-point results (resumable) and ``sweep.csv`` (and ``sweep.parquet`` when
        pyarrow is installed).
    """
    path = Path(path)
    check_fields_once(values, "varied")
    design = design_points(values, mode=mode)
    scenarios = [
        _variant(path, overrides, p, allow_outside) for p in design
    ]  # every point validated first
    first = scenarios[0]
    paired = base is not None
    parsed = (
        parse_outputs(outputs, first, paired=paired)
        if outputs
        else default_outputs(first, paired=paired)
    )
    bases: list[Scenario | None] = [None] * len(design)
    if base is not None:
        for k, (settings, scenario) in enumerate(zip(design, scenarios, strict=True)):
            kept = {p: v for p, v in settings.items() if not _of_shocks(p)}
            same = [o for o in overrides if not _of_shocks(o.partition("=")[0])]
            b = _variant(Path(base), same, kept, allow_outside)
            check_comparable(b, scenario)  # before any run, not in the outputs after them
            bases[k] = b.model_validate(
                {
                    **b.model_dump(),
                    "start": scenario.start,
                    "end": scenario.end,
                    "seed": scenario.seed,
                }
            )
    points = [Point(f"p{k:05d}", s, bases[k]) for k, s in enumerate(scenarios)]
    results = run_points(
        points,
        runs=runs,
        outputs=parsed,
        out=out,
        spec={"kind": "sweep", "values": {k: [str(v) for v in vs] for k, vs in values.items()}},
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    import pandas as pd

    rows = []
    for point, settings in zip(points, design, strict=True):
        for run, outs in enumerate(results[point.key]):
            shown = {k: yaml.safe_load(v) if isinstance(v, str) else v for k, v in settings.items()}
            rows.append({"point": point.key, **shown, "run": run, **outs})
    table = pd.DataFrame(rows)
    out = Path(out)
    safe = neutralize_cells(table)  # text cells cannot run as spreadsheet formulas
    atomic_write(out / "sweep.csv", writer(safe, "to_csv", index=False, float_format="%.10g"))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        pass
    else:
        atomic_write(
            out / "sweep.parquet", writer(table.astype({k: str for k in values}), "to_parquet")
        )
    return table
