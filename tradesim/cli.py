"""The command line: `tradesim run SCENARIO [--runs N] [--executor ...] [--seed N] [--out DIR]`.

User mistakes (a bad scenario, an unwritable output folder, an unreachable scheduler) print
a clear message on stderr and exit with code 2; a traceback is shown only with --debug.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from tradesim import __version__
from tradesim.ensemble import EnsembleResult, run_ensemble
from tradesim.errors import TradesimError
from tradesim.results import _atomic_write, format_summary, manifest, write_outputs
from tradesim.scenario import Scenario, load_scenario, scenario_files
from tradesim.simulate import simulate

__all__ = ["main"]

EXIT_USER_ERROR = 2


def _non_negative(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _positive(text: str) -> int:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _quantiles(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    if not all(0 < v < 1 for v in values):
        raise argparse.ArgumentTypeError(f"quantiles must lie strictly between 0 and 1: {text!r}")
    return values


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradesim", description="Scenario simulation of bilateral trade."
    )
    parser.add_argument("--version", action="version", version=f"tradesim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario (once, or as an ensemble) and write outputs")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument(
        "--seed", type=_non_negative, default=None, help="override the scenario's seed"
    )
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default: out/<scenario name>)"
    )
    run.add_argument("--check", action="store_true", help="verify accounting every month")
    run.add_argument(
        "--runs", type=_positive, default=1, help="Monte Carlo runs (default 1: a single run)"
    )
    run.add_argument(
        "--executor",
        choices=["serial", "processes", "dask"],
        default="processes",
        help="where ensemble runs execute (default: local processes)",
    )
    run.add_argument("--workers", type=_positive, default=None, help="processes or Dask workers")
    run.add_argument(
        "--scheduler", default=None, help="Dask scheduler address, e.g. tcp://10.0.0.5:8786"
    )
    run.add_argument(
        "--quantiles",
        type=_quantiles,
        default=(0.05, 0.95),
        help="band quantiles for ensembles (default 0.05,0.95)",
    )
    run.add_argument("--quiet", action="store_true", help="no progress output")
    return parser


class _Progress:
    """A progress bar on a terminal, plain periodic lines otherwise, nothing when quiet."""

    def __init__(self, label: str, quiet: bool, every_seconds: float = 5.0):
        self.label, self.quiet, self.every = label, quiet, every_seconds
        self.bar: Any = None
        self.start = time.monotonic()
        self.first_done: int | None = None
        self.last_line = -float("inf")

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if sys.stderr.isatty():
            if self.bar is None:
                from tqdm import tqdm

                self.bar = tqdm(total=total, initial=done, unit="run", desc=self.label)
            self.bar.update(done - self.bar.n)
            if done == total:
                self.bar.close()
            return
        now = time.monotonic()
        if self.first_done is None:
            self.first_done = done
        if done < total and now - self.last_line < self.every and done != self.first_done:
            return
        self.last_line = now
        elapsed = now - self.start
        new = done - self.first_done
        rate = new / elapsed if elapsed > 0 and new else 0.0
        left = f", about {(total - done) / rate:.0f} s left" if rate and done < total else ""
        print(f"{self.label}: {done}/{total} runs, {rate:.2f} runs/s{left}", file=sys.stderr)


def _format_bands(result: EnsembleResult) -> str:
    bands = _bilateral_bands(result)
    names = list(result.scenario.economies)
    years = [int(y) for y in bands["year"].values]
    lo, hi = (f"q{q:g}" for q in (result.quantiles[0], result.quantiles[-1]))
    lines = [
        f"Scenario {result.scenario.name!r}: {result.runs} runs, seed {result.scenario.seed}",
        "",
        f"Bilateral trade, USD billion: mean [{lo}, {hi}]",
        f"{'':<12}" + "".join(f"{y:>24}" for y in years),
    ]
    for o in names:
        for d in names:
            if o == d:
                continue
            cells = []
            for y in years:
                v = bands.sel(origin=o, destination=d, year=y) / 1e9
                cells.append(
                    f"{float(v.sel(statistic='mean')):.2f} [{float(v.sel(statistic=lo)):.2f},"
                    f" {float(v.sel(statistic=hi)):.2f}]"
                )
            lines.append(f"{o + ' -> ' + d:<12}" + "".join(f"{c:>24}" for c in cells))
    return "\n".join(lines)


def _bilateral_bands(result: EnsembleResult) -> Any:
    from tradesim.ensemble import summarize

    return summarize(
        result.run_paths,
        quantiles=result.quantiles,
        annual=True,
        variables=["shipped_usd"],
        sum_over=("sector", "currency"),
    )["shipped_usd"]


def _write_ensemble_outputs(result: EnsembleResult, sources: Sequence[Path]) -> list[str]:
    out = result.out
    written = []
    for name, annual in (("summary_monthly.nc", False), ("summary_annual.nc", True)):
        summary = result.summary(annual=annual)

        def write(path: Path, ds: Any = summary) -> None:
            ds.to_netcdf(path, engine="scipy")

        _atomic_write(out / name, write)
        written.append(name)
    bands = _bilateral_bands(result).to_dataset(dim="statistic").to_dataframe().reset_index()
    bands = bands[bands["origin"] != bands["destination"]]
    _atomic_write(
        out / "annual_bilateral_bands.csv",
        lambda p: bands.to_csv(p, index=False, float_format="%.6g"),
    )
    written.append("annual_bilateral_bands.csv")
    info = manifest(_first_run_as_result(result), sources)
    info.update(runs=result.runs, quantiles=list(result.quantiles), outputs=written)
    info["seed"] = result.scenario.seed
    info["timings_seconds"] = result.timings
    _atomic_write(out / "manifest.json", lambda p: p.write_text(json.dumps(info, indent=2) + "\n"))
    return [*written, "manifest.json", "runs/"]


def _first_run_as_result(result: EnsembleResult) -> Any:
    from tradesim.results import SimulationResult

    return SimulationResult(scenario=result.scenario, seed=result.scenario.seed, data=result.run(0))


def _with_seed(scenario: Scenario, seed: int | None) -> Scenario:
    return scenario if seed is None else scenario.model_copy(update={"seed": seed})


def _run(args: argparse.Namespace) -> int:
    scenario = _with_seed(load_scenario(args.scenario), args.seed)
    out = args.out if args.out is not None else Path("out") / scenario.name
    sources = scenario_files(args.scenario)
    try:
        if args.runs == 1:
            result = simulate(scenario, check=args.check)
            print(format_summary(result))
            names = [p.name for p in write_outputs(result, out, sources=sources)]
        else:
            ensemble = run_ensemble(
                scenario,
                runs=args.runs,
                out=out,
                executor=args.executor,
                workers=args.workers,
                scheduler=args.scheduler,
                quantiles=args.quantiles,
                progress=_Progress(scenario.name, args.quiet),
            )
            print(_format_bands(ensemble))
            if ensemble.computed < ensemble.runs:
                reused = ensemble.runs - ensemble.computed
                print(f"\n{reused} runs were found in {out}/runs and reused")
            names = _write_ensemble_outputs(ensemble, sources)
    except OSError as exc:
        raise TradesimError(f"cannot write outputs to {out}: {exc.strerror or exc}") from exc
    print(f"\nWrote {', '.join(names)} to {out}/")
    return 0


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tradesim` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return _run(args)
    except TradesimError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print("interrupted; finished runs are kept and the same command resumes", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
