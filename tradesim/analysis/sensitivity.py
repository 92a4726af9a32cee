"""Global sensitivity of outputs to parameters or shock sizes over ranges: Sobol first- and
total-order indices (Saltelli 2002; Saltelli et al. 2010 estimators) or Morris elementary
effects (Morris 1991; Campolongo, Cariboni and Saltelli 2007 mu*), designed and analysed
with SALib (Herman and Usher 2017), run on the ensemble executors and resumable.

Each sample point is the scenario with `--set`-style overrides; its outputs are averaged
over `runs` runs with common random numbers (run i of every point shares seeds), so the
indices measure the response to the inputs rather than Monte Carlo noise. Confidence
intervals are SALib's bootstrap (95%).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tradesim.analysis.batch import Point, Progress, run_points
from tradesim.analysis.outputs import default_outputs, parse_outputs
from tradesim.analysis.runner import ExecutorName
from tradesim.analysis.sweep import check_fields_once
from tradesim.errors import TradesimError
from tradesim.io.outputs import atomic_write
from tradesim.io.results import csv_writer
from tradesim.scenario import load_scenario

__all__ = ["SensitivityResult", "sensitivity"]


def _salib() -> Any:
    try:
        import SALib
    except ImportError:
        raise TradesimError(
            "sensitivity analysis needs SALib: pip install 'tradesim[sensitivity]'"
        ) from None
    return SALib


@dataclass(frozen=True)
class SensitivityResult:
    """Indices by output and input: a pandas table with confidence intervals."""

    method: str
    ranges: dict[str, tuple[float, float]]
    indices: Any  # pandas DataFrame
    points: int
    runs: int
    timings: dict[str, float] = field(default_factory=dict)

    def to_text(self) -> str:
        df = self.indices
        w = max(12, *(len(str(n)) for n in df["input"])) + 2
        if self.method == "sobol":
            head = f"{'input':<{w}}{'S1':>9}{'+-':>9}{'ST':>9}{'+-':>9}"
            cols = ["S1", "S1_conf", "ST", "ST_conf"]
        else:
            head = f"{'input':<{w}}{'mu*':>12}{'+-':>11}{'sigma':>12}"
            cols = ["mu_star", "mu_star_conf", "sigma"]
        lines = [
            f"{'Sobol' if self.method == 'sobol' else 'Morris'} sensitivity: {self.points} "
            f"points x {self.runs} run{'s' if self.runs > 1 else ''} "
            f"({self.timings.get('wall_seconds', 0.0):.1f} s); 95% confidence intervals",
        ]
        for output, rows in df.groupby("output", sort=False):
            lines += ["", str(output), head]
            for _, r in rows.iterrows():
                if self.method == "sobol":
                    # a space before every cell: a wide interval (few samples) stays apart
                    cells = "".join(f" {r[c]:>8.3f}" for c in cols)
                else:
                    cells = "".join(
                        f"{r[c]:>12.4g}" if i != 1 else f"{r[c]:>11.3g}" for i, c in enumerate(cols)
                    )
                lines.append(f"{r['input']:<{w}}{cells}")
        return "\n".join(lines)

    def figure(self) -> Any:
        """Bar chart of the indices with their confidence intervals, one panel per output."""
        import matplotlib

        matplotlib.use("Agg")
        import matplotlib.pyplot as plt

        outputs = list(dict.fromkeys(self.indices["output"]))
        fig, axes = plt.subplots(1, len(outputs), figsize=(4.5 * len(outputs), 3.6), squeeze=False)
        for ax, output in zip(axes[0], outputs, strict=True):
            rows = self.indices[self.indices["output"] == output]
            y = np.arange(len(rows))
            if self.method == "sobol":
                ax.barh(y - 0.2, rows["S1"], 0.4, xerr=rows["S1_conf"], label="first order")
                ax.barh(y + 0.2, rows["ST"], 0.4, xerr=rows["ST_conf"], label="total")
                ax.set_xlabel("Sobol index")
            else:
                ax.barh(y, rows["mu_star"], 0.6, xerr=rows["mu_star_conf"], label="mu*")
                ax.set_xlabel("Morris mu*")
            ax.set_yticks(y, [str(v).split(".")[-1] for v in rows["input"]])
            ax.set_title(str(output), fontsize=10)
        handles, labels = axes[0][0].get_legend_handles_labels()
        fig.legend(handles, labels, loc="lower center", ncol=len(labels), fontsize=8)
        fig.tight_layout(rect=(0, 0.08, 1, 1))
        return fig

    def write(self, out: str | Path) -> list[Path]:
        """sensitivity.csv and, with matplotlib, sensitivity.png in `out`."""
        out = Path(out)
        written = [out / "sensitivity.csv"]
        atomic_write(written[0], csv_writer(self.indices))
        try:
            fig = self.figure()
        except ImportError:
            return written
        import matplotlib.pyplot as plt

        atomic_write(out / "sensitivity.png", lambda p: fig.savefig(p, dpi=110, format="png"))
        plt.close(fig)
        written.append(out / "sensitivity.png")
        return written


def sensitivity(
    path: str | Path,
    ranges: Mapping[str, tuple[float, float]],
    *,
    overrides: Sequence[str] = (),
    allow_outside: bool = False,
    method: Literal["sobol", "morris"] = "sobol",
    samples: int = 64,
    seed: int = 0,
    outputs: Sequence[str] | None = None,
    runs: int = 1,
    out: str | Path,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    progress: Progress | None = None,
) -> SensitivityResult:
    """Sobol or Morris indices of level outputs of the scenario file at `path`.

    Parameters
    ----------
    ranges
        Field path (as in `--set`) -> (low, high); sampled uniformly.
    samples
        Sobol: base sample size N (N (D + 2) points, D inputs; a power of 2 keeps the Sobol
        sequence balanced). Morris: trajectories (N (D + 1) points, 4 levels).
    outputs
        `KIND:TARGET` level outputs (`tradesim.analysis.outputs`); default: trade both ways
        between the agent economies and their currencies' settlement shares.
    """
    import time

    _salib()
    t0 = time.perf_counter()
    if not ranges:
        raise TradesimError("no ranges to vary")
    check_fields_once(ranges, "ranged")
    names = list(ranges)
    for name, (lo, hi) in ranges.items():
        if not lo < hi:
            raise TradesimError(f"range of {name}: low {lo} must be below high {hi}")
    problem = {"num_vars": len(names), "names": names, "bounds": [list(ranges[n]) for n in names]}
    if method == "sobol":
        from SALib.sample import sobol as sampler

        design = sampler.sample(problem, samples, calc_second_order=False, seed=seed)
    elif method == "morris":
        from SALib.sample import morris as sampler_m

        design = sampler_m.sample(problem, samples, num_levels=4, seed=seed)
    else:
        raise TradesimError(f"unknown method {method!r}; choose sobol or morris")
    path = Path(path)
    scenarios = [
        load_scenario(
            path,
            allow_outside=allow_outside,
            overrides=[*overrides, *(f"{n}={float(v)!r}" for n, v in zip(names, row, strict=True))],
        )
        for row in design
    ]
    parsed = (
        parse_outputs(outputs, scenarios[0], paired=False)
        if outputs
        else default_outputs(scenarios[0], paired=False)
    )
    points = [Point(f"x{k:05d}", s) for k, s in enumerate(scenarios)]
    results = run_points(
        points,
        runs=runs,
        outputs=parsed,
        out=out,
        spec={"kind": method, "problem": problem, "samples": samples, "seed": seed},
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    import pandas as pd

    rows = []
    for output in parsed:
        y = np.array([np.mean([r[output.name] for r in results[p.key]]) for p in points])
        if method == "sobol":
            from SALib.analyze import sobol as analyzer

            res = analyzer.analyze(problem, y, calc_second_order=False, seed=seed)
            for k, name in enumerate(names):
                rows.append(
                    {
                        "output": output.name,
                        "input": name,
                        "S1": float(res["S1"][k]),
                        "S1_conf": float(res["S1_conf"][k]),
                        "ST": float(res["ST"][k]),
                        "ST_conf": float(res["ST_conf"][k]),
                    }
                )
        else:
            from SALib.analyze import morris as analyzer_m

            res = analyzer_m.analyze(problem, design, y, num_levels=4, seed=seed)
            for k, name in enumerate(names):
                rows.append(
                    {
                        "output": output.name,
                        "input": name,
                        "mu_star": float(res["mu_star"][k]),
                        "mu_star_conf": float(res["mu_star_conf"][k]),
                        "sigma": float(res["sigma"][k]),
                    }
                )
    return SensitivityResult(
        method=method,
        ranges={n: (float(lo), float(hi)) for n, (lo, hi) in ranges.items()},
        indices=pd.DataFrame(rows),
        points=len(points),
        runs=runs,
        timings={"wall_seconds": time.perf_counter() - t0},
    )
