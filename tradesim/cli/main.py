"""The command line: run, validate, compare, schema, shocks, new.

User mistakes (a bad scenario, an existing output folder, an unreachable scheduler) print a
clear message on stderr and exit with code 2; a traceback is shown only with --debug.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from tradesim import __version__
from tradesim.cli import options
from tradesim.cli.reference import shock_reference
from tradesim.cli.tables import aligned
from tradesim.errors import ScenarioError, TradesimError

__all__ = ["aligned", "main", "shock_reference"]

EXIT_USER_ERROR = 2


# ----------------------------------------------------------------------------- parser


def _run_options(p: argparse.ArgumentParser) -> None:
    options.scenario_options(p)
    p.add_argument("--seed", type=options.seed, default=None, help="override the scenario seed")
    options.executor_options(p)
    options.quantile_option(p, "band quantiles for ensembles")
    options.force_option(
        p,
        "replace existing outputs (only folders tradesim wrote; the old ones stay until"
        " the new ones are complete)",
    )
    p.add_argument(
        "--no-memory-check",
        action="store_true",
        help="run even when the estimated memory exceeds the machine's",
    )


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradesim", description="Scenario simulation of bilateral trade."
    )
    parser.add_argument("--version", action="version", version=f"tradesim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    run = sub.add_parser("run", help="run scenarios (once, or as ensembles) and write outputs")
    run.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO", help="YAML files")
    _run_options(run)
    run.add_argument(
        "--out",
        type=Path,
        default=None,
        help="output folder (default out/NAME; with several scenarios, OUT/NAME each)",
    )
    run.add_argument("--check", action="store_true", help="verify accounting every month")
    run.add_argument(
        "--parameter-uncertainty",
        nargs="?",
        const=True,
        default=None,
        type=Path,
        metavar="REPORT",
        help="draw the calibrated parameters per run from their covariance (REPORT, default"
        " the scenario's NAME.report.json); also runs the estimates with the same seeds and"
        " reports whether parameter or model noise dominates",
    )
    run.add_argument("--plot", action="store_true", help="write figures next to the outputs")
    run.add_argument(
        "--format",
        type=options.formats,
        default=None,
        help="output formats of a single run, comma-separated from csv, parquet, netcdf"
        " (default csv,netcdf; an ensemble writes NetCDF and CSV)",
    )

    validate = sub.add_parser("validate", help="check scenario files without running them")
    validate.add_argument("scenarios", type=Path, nargs="+", metavar="SCENARIO")
    options.scenario_options(validate)

    compare = sub.add_parser(
        "compare", help="run alternatives against a base with common random numbers"
    )
    compare.add_argument("base", type=Path, metavar="BASE")
    compare.add_argument("alternatives", type=Path, nargs="+", metavar="ALT")
    _run_options(compare)
    compare.add_argument("--out", type=Path, default=Path("out/compare"), help="output folder")
    compare.add_argument(
        "--extend-base",
        action="store_true",
        help="run a base that ends earlier to the alternative's end (paths held flat)",
    )

    cal = sub.add_parser(
        "calibrate", help="fit parameters to observed trade (simulated method of moments)"
    )
    cal.add_argument("scenario", type=Path, metavar="SCENARIO")
    options.scenario_options(cal)
    cal.add_argument("--out", type=Path, required=True, help="calibrated scenario file to write")
    options.calibration_options(cal)
    cal.add_argument(
        "--holdout", type=int, action="append", default=[], help="a year left out of the fit"
    )
    options.force_option(cal, "overwrite an existing file")

    from tradesim.cli.backtest_command import add_parser as add_backtest

    add_backtest(sub)

    report = sub.add_parser(
        "report", help="one self-contained HTML report of a base and alternatives"
    )
    report.add_argument("base", type=Path, metavar="BASE")
    report.add_argument("alternatives", type=Path, nargs="+", metavar="ALT")
    options.scenario_options(report)
    report.add_argument("--out", type=Path, default=Path("report.html"), help="HTML file")
    options.executor_options(
        report, runs=10, runs_help="paired runs per scenario, for the bands", dask=False
    )
    options.quantile_option(report)
    options.force_option(report, "overwrite an existing file")

    plot = sub.add_parser(
        "plot", help="write figures next to a run's, ensemble's or comparison's outputs"
    )
    plot.add_argument("result_dir", type=Path, metavar="RESULT_DIR")
    plot.add_argument("--force", action="store_true", help="overwrite existing figures")

    shares = sub.add_parser(
        "shares",
        help="origin shares of agent economies from a bilateral trade extract (BACI, Comtrade)",
    )
    shares.add_argument("extract", type=Path, metavar="EXTRACT", help="CSV of trade flows")
    shares.add_argument("--year", type=int, required=True, help="the base year to read")
    shares.add_argument(
        "--scenario",
        type=Path,
        default=Path("scenarios/baseline.yaml"),
        help="scenario to extend (default scenarios/baseline.yaml)",
    )
    shares.add_argument(
        "--economies", nargs="+", default=None, help="agent economies (default: all of them)"
    )
    shares.add_argument("--out", type=Path, required=True, help="scenario file to write")
    shares.add_argument("--name", default=None, help="scenario name (default: the file's stem)")
    shares.add_argument(
        "--concordance", type=Path, default=None, help="CSV hs2,sector (default: shipped)"
    )
    shares.add_argument(
        "--keep-home",
        action="store_true",
        help="keep the scenario's home shares; take only the split of imports from the data",
    )
    shares.add_argument("--force", action="store_true", help="overwrite an existing file")

    schema = sub.add_parser("schema", help="write the JSON Schema of scenario files")
    schema.add_argument("--out", type=Path, default=None, help="file (default: standard output)")
    schema.add_argument("--force", action="store_true", help="overwrite an existing file")

    sub.add_parser("shocks", help="list the shock types with their fields, units and defaults")

    from tradesim.cli.analysis_commands import add_commands

    add_commands(sub)

    new = sub.add_parser(
        "new", help="write a commented scenario that extends the baseline, in this folder"
    )
    new.add_argument("name", help="scenario name (letters, digits, _ and -)")
    new.add_argument(
        "--extends", type=Path, default=Path("scenarios/baseline.yaml"), help="parent scenario"
    )
    new.add_argument(
        "--out",
        "--dir",
        dest="dir",
        type=Path,
        default=Path("."),
        help="folder to write NAME.yaml to (default: the current folder)",
    )
    new.add_argument("--force", action="store_true", help="overwrite an existing file")
    return parser


# ----------------------------------------------------------------------------- progress


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
        new = done - self.first_done
        elapsed = now - self.start
        rate = new / elapsed if elapsed > 0 and new else 0.0
        left = f", about {(total - done) / rate:.0f} s left" if rate and done < total else ""
        print(f"{self.label}: {done}/{total} runs, {rate:.2f} runs/s{left}", file=sys.stderr)


# ----------------------------------------------------------------------------- commands


def _load(path: Path, args: argparse.Namespace) -> Any:
    from tradesim.analysis.arguments import check_scenario
    from tradesim.scenario import load_scenario

    scenario = load_scenario(
        path, overrides=args.overrides, allow_outside=getattr(args, "allow_outside", False)
    )
    if getattr(args, "seed", None) is not None:
        scenario = check_scenario(scenario.model_copy(update={"seed": args.seed}))
    return scenario


def _check_memory(scenario: Any, args: argparse.Namespace) -> None:
    """Refuse, before it starts, a run that would need more memory than the machine has."""
    import os

    from tradesim.analysis.memory import check_memory

    if getattr(args, "no_memory_check", False):
        return
    runs = getattr(args, "runs", 1)
    executor = getattr(args, "executor", "serial")
    workers = (args.workers or os.cpu_count() or 1) if executor != "serial" and runs > 1 else 1
    check_memory(scenario, concurrent=min(runs, workers))


def _inputs(path: Path) -> list[Path]:
    from tradesim.scenario import scenario_files

    return [Path(p) for p in scenario_files(path)]


def _quiet_dask(args: argparse.Namespace) -> None:
    """--quiet also silences Dask: its scheduler and workers log INFO lines to stderr by
    default. Local workers are new processes that read the environment at start."""
    import os

    if getattr(args, "quiet", False) and getattr(args, "executor", None) == "dask":
        os.environ["DASK_LOGGING__DISTRIBUTED"] = "error"
        for name in ("distributed", "dask"):
            logging.getLogger(name).setLevel(logging.ERROR)


def _note_thin_routes(result: Any) -> None:
    """Say which flows are carried by too few relationships to be read from one run."""
    from tradesim.analysis.thin import thin_routes

    thin = thin_routes(result)
    if thin:
        need = max(r.buyers_needed for r in thin)
        print(
            f"\nnote: {len(thin)} routes carry fewer than 30 relationships on average; their "
            f"changes in one run are lotteries (thinnest: {thin[0]}). "
            f"population.buyers_per_sector >= {need:,} would carry every one.",
            file=sys.stderr,
        )


def _ensemble(scenario: Any, out: Path, args: argparse.Namespace) -> Any:
    from tradesim.analysis.ensemble import run_ensemble

    return run_ensemble(
        scenario,
        runs=args.runs,
        out=out,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        quantiles=args.quantiles,
        progress=_Progress(scenario.name, args.quiet),
        check=getattr(args, "check", False),
    )


def _cmd_run(args: argparse.Namespace) -> int:
    from tradesim.analysis.runner import scenario_hash
    from tradesim.analysis.simulate import simulate
    from tradesim.io.outputs import OutputFolder, unique_names, writing_to
    from tradesim.io.results import format_summary, write_outputs

    if getattr(args, "parameter_uncertainty", None) and args.runs < 2:
        raise TradesimError("--parameter-uncertainty needs an ensemble: --runs 2 or more")
    formats = args.format or ("csv", "netcdf")
    if args.runs > 1 and not set(formats) <= {"csv", "netcdf"}:
        raise TradesimError(
            f"--format {','.join(formats)}: an ensemble writes its runs and summaries as NetCDF"
            " and its tables as CSV; --format applies to a single run (--runs 1)"
        )
    if "parquet" in formats:
        import importlib.util

        if importlib.util.find_spec("pyarrow") is None:
            raise TradesimError("parquet output needs pyarrow: pip install pyarrow")
    if args.plot and args.runs == 1 and "netcdf" not in formats:
        raise TradesimError(
            "--plot draws its figures from result.nc: add netcdf to --format"
            f" (--format {','.join((*formats, 'netcdf'))})"
        )
    scenarios = [(path, _load(path, args)) for path in args.scenarios]  # validate all first
    folders = unique_names(s.name for _, s in scenarios)
    inputs = {path: _inputs(path) for path, _ in scenarios}
    all_inputs = [f for files in inputs.values() for f in files]
    for _, scenario in scenarios:
        _check_memory(scenario, args)
    _quiet_dask(args)
    for k, ((path, scenario), folder) in enumerate(zip(scenarios, folders, strict=True)):
        if args.out is None:
            out = Path("out") / folder
        else:
            out = args.out / folder if len(scenarios) > 1 else args.out
        sources = inputs[path]
        if k:
            print()
        key = scenario_hash(scenario) if args.runs > 1 else None
        if getattr(args, "parameter_uncertainty", None):
            from tradesim.cli import uncertainty_command as uc

            estimates, key = uc.estimates_for(scenario, path, args)
        target = OutputFolder(out, force=args.force, inputs=all_inputs, resume_key=key)
        with writing_to(out), target as work:
            if args.runs == 1:
                result = simulate(scenario, check=args.check)
                print(format_summary(result))
                _note_thin_routes(result)
                written = write_outputs(
                    result, work, sources=sources, formats=formats, overrides=args.overrides
                )
                names = [p.name for p in written]
            else:
                extra: list[str] = []
                if getattr(args, "parameter_uncertainty", None):
                    ensemble, extra = uc.ensemble_with_parameter_uncertainty(
                        scenario, estimates, work, args
                    )
                else:
                    ensemble = _ensemble(scenario, work, args)
                print(_format_bands(ensemble))
                if ensemble.computed < ensemble.runs:
                    reused = ensemble.runs - ensemble.computed
                    print(f"\n{reused} runs were found in {work}/runs and reused")
                names = ensemble.write_outputs(sources, overrides=args.overrides) + extra
            if args.plot:
                from tradesim.io.plot import plot_result_dir

                names += [p.name for p in plot_result_dir(work)]
        print(f"\nWrote {', '.join(names)} to {out}/")
    return 0


def _cmd_validate(args: argparse.Namespace) -> int:
    failed = 0
    for path in args.scenarios:
        try:
            scenario = _load(path, args)
        except ScenarioError as exc:
            failed += 1
            for problem in exc.problems:
                print(f"error: {problem}", file=sys.stderr)
            continue
        print(
            f"ok: {path} ({scenario.name}: {scenario.start:%Y-%m} to {scenario.end:%Y-%m}, "
            f"{len(scenario.regions)} regions, {len(scenario.sectors)} sectors, "
            f"{len(scenario.shocks)} shock{'' if len(scenario.shocks) == 1 else 's'})"
        )
    if failed:
        print(f"{failed} of {len(args.scenarios)} files have problems", file=sys.stderr)
        return EXIT_USER_ERROR
    return 0


def _cmd_compare(args: argparse.Namespace) -> int:
    import hashlib

    from tradesim.analysis.ensemble import check_comparable, compare, single_pair_metrics
    from tradesim.analysis.horizons import align_horizons
    from tradesim.analysis.runner import scenario_hash
    from tradesim.analysis.simulate import simulate
    from tradesim.io.outputs import OutputFolder, unique_names, writing_to

    first_base = _load(args.base, args)
    alternatives = [_load(path, args) for path in args.alternatives]
    folders = unique_names(alt.name for alt in alternatives)
    inputs = [f for p in (args.base, *args.alternatives) for f in _inputs(p)]
    for alt, path in zip(alternatives, args.alternatives, strict=True):
        check_comparable(first_base, alt, labels=(str(args.base), str(path)))
        _check_memory(alt, args)
    _check_memory(first_base, args)
    _quiet_dask(args)
    for k, (alt, folder) in enumerate(zip(alternatives, folders, strict=True)):
        alt = alt.model_copy(update={"seed": first_base.seed})
        base, note = align_horizons(
            first_base, alt, extend_base=args.extend_base, option="--extend-base"
        )
        out = args.out / folder
        key = None
        if args.runs > 1:
            pair = scenario_hash(base) + scenario_hash(alt)
            key = hashlib.sha256(pair.encode()).hexdigest()
        target = OutputFolder(
            out, force=args.force, inputs=inputs, kind="comparison", resume_key=key
        )
        with writing_to(out), target as work:
            if args.runs == 1:
                b, a = simulate(base), simulate(alt)
                metrics = single_pair_metrics(b, a)
            else:
                _claim_comparison(work, key)
                comparison = compare(
                    base,
                    alt,
                    runs=args.runs,
                    out=work / "runs",
                    executor=args.executor,
                    workers=args.workers,
                    scheduler=args.scheduler,
                    quantiles=args.quantiles,
                    progress=_Progress(f"{base.name} vs {alt.name}", args.quiet),
                )
                metrics = comparison.metrics()
            if k:
                print()
            if note:
                print(note + "\n")
            print(_format_comparison(base, alt, metrics, args.runs))
            _write_comparison(metrics, work)
            _write_comparison_manifest(work, base, alt, args, inputs)
        print(
            "\nWrote comparison.nc, bilateral_change.csv, imports_by_origin.csv,"
            f" currency_share_change.csv, manifest.json to {out}/"
        )
    return 0


def _claim_comparison(work: Path, key: str | None) -> None:
    """Record which pair of scenarios a resumable comparison folder holds."""
    meta = work / "ensemble.json"
    if key is not None and not meta.exists():
        from tradesim.io.outputs import atomic_write

        text = json.dumps({"scenario_sha256": key}) + "\n"
        atomic_write(meta, _text_writer(text))


def _write_comparison_manifest(
    work: Path, base: Any, alt: Any, args: argparse.Namespace, inputs: Sequence[Path]
) -> None:
    """manifest.json of a comparison: both scenarios with their hashes, the runs, the
    quantiles, the `--set` overrides and the input files."""
    from tradesim.analysis.runner import scenario_hash
    from tradesim.io.outputs import atomic_write
    from tradesim.io.results import scenario_manifest

    info: dict[str, Any] = {
        "comparison": {"base": base.name, "alternative": alt.name},
        "runs": args.runs,
        "quantiles": list(args.quantiles) if args.runs > 1 else [],
        "overrides": list(args.overrides),
        "base_scenario_sha256": scenario_hash(base),
        "alternative_scenario_sha256": scenario_hash(alt),
        "outputs": ["comparison.nc", "bilateral_change.csv", "imports_by_origin.csv"],
    }
    common = scenario_manifest(alt, base.seed, sorted(set(inputs)), overrides=args.overrides)
    for drop in ("scenario_name", "scenario_sha256", "timings_seconds"):
        common.pop(drop, None)
    info.update({k: v for k, v in common.items() if k not in info})
    info["base_scenario"] = base.model_dump(mode="json")
    atomic_write(work / "manifest.json", _text_writer(json.dumps(info, indent=2) + "\n"))


EXIT_NOT_CONVERGED = 3


def _cmd_calibrate(args: argparse.Namespace) -> int:
    from tradesim.analysis.calibrate import (
        calibrate,
        load_observed,
        parameter_from_spec,
        read_moment_files,
        start_values,
        write_calibrated_scenario,
    )
    from tradesim.io.outputs import atomic_write, check_file_target, writing_to

    scenario = _load(args.scenario, args)
    observed = load_observed(args.observed) if args.observed else None
    moments = read_moment_files(args.moments) if args.moments else None
    parameters = (
        [parameter_from_spec(scenario, spec) for spec in args.parameter] if args.parameter else None
    )
    stem = args.out.with_suffix("")
    extra_inputs = [p for p in [args.observed, *(args.moments or [])] if p and p.exists()]
    inputs = [*_inputs(args.scenario), *extra_inputs]
    for target in (args.out, Path(f"{stem}.report.json"), Path(f"{stem}.report.md")):
        check_file_target(target, force=args.force, inputs=inputs)
    calibrated, report = calibrate(
        scenario,
        observed,
        parameters=parameters,
        moments=moments,
        start=start_values(args.start) if args.start else None,
        replications=args.replications,
        starts=args.starts,
        holdout=args.holdout,
        workers=args.workers,
        max_evaluations=args.max_evaluations,
        progress=_Evaluations(scenario.name, args.quiet),
    )
    print(report.to_text())
    with writing_to(args.out.parent):
        args.out.parent.mkdir(parents=True, exist_ok=True)
        write_calibrated_scenario(calibrated, scenario, args.scenario, args.out, report)
        for suffix, text in (
            (".report.json", report.to_json()),
            (".report.md", report.to_markdown()),
        ):
            atomic_write(Path(f"{stem}{suffix}"), _text_writer(text))
    print(f"\nWrote {args.out}, {stem.name}.report.json and {stem.name}.report.md")
    if not report.converged:
        print(
            f"error: the calibration did not converge ({report.status}); the best point found"
            f" was written to {args.out}",
            file=sys.stderr,
        )
        return EXIT_NOT_CONVERGED
    return 0


def _text_writer(text: str) -> Callable[[Path], object]:
    return lambda path: path.write_text(text)


class _Evaluations(_Progress):
    """Progress of a calibration: model evaluations rather than runs."""

    def __call__(self, done: int, total: int) -> None:
        if self.quiet:
            return
        if sys.stderr.isatty():
            super().__call__(done, total)
            return
        now = time.monotonic()
        if now - self.last_line >= self.every:
            self.last_line = now
            print(f"{self.label}: {done} evaluations (at most {total})", file=sys.stderr)


def _cmd_report(args: argparse.Namespace) -> int:
    from tradesim.analysis.ensemble import check_comparable
    from tradesim.io.outputs import atomic_write, check_file_target, writing_to
    from tradesim.io.report import html_report
    from tradesim.scenario import scenario_files

    inputs = [f for p in (args.base, *args.alternatives) for f in _inputs(p)]
    check_file_target(args.out, force=args.force, inputs=inputs)
    base = _load(args.base, args)
    alternatives = [_load(path, args) for path in args.alternatives]
    for alt, path in zip(alternatives, args.alternatives, strict=True):
        check_comparable(base, alt, labels=(str(args.base), str(path)))
    named = [(base, args.base), *zip(alternatives, args.alternatives, strict=True)]
    sources: dict[str, Sequence[str | Path]] = {s.name: scenario_files(p) for s, p in named}
    text = html_report(
        base,
        alternatives,
        runs=args.runs,
        quantiles=args.quantiles,
        sources=sources,
        overrides=args.overrides,
        executor=args.executor,
        workers=args.workers,
        progress=_Progress("report", args.quiet),
    )
    with writing_to(args.out):
        atomic_write(args.out, _text_writer(text))
    print(f"Wrote {args.out} ({len(text) / 1e6:.1f} MB, self-contained)")
    return 0


def _cmd_plot(args: argparse.Namespace) -> int:
    from tradesim.io.outputs import writing_to
    from tradesim.io.plot import plot_result_dir

    if not args.result_dir.is_dir():
        raise TradesimError(f"{args.result_dir} is not a folder of tradesim outputs")
    with writing_to(args.result_dir):
        written = plot_result_dir(args.result_dir, force=args.force)
    print(f"Wrote {', '.join(p.name for p in written)} to {args.result_dir}/")
    return 0


def _cmd_schema(args: argparse.Namespace) -> int:
    from tradesim.scenario import Scenario

    text = json.dumps(Scenario.model_json_schema(), indent=2) + "\n"
    if args.out is None:
        sys.stdout.write(text)
    else:
        from tradesim.io.outputs import atomic_write, check_file_target, writing_to

        check_file_target(args.out, force=args.force)
        with writing_to(args.out):
            atomic_write(args.out, _text_writer(text))
        print(f"Wrote the scenario JSON Schema to {args.out}")
    return 0


def _cmd_shares(args: argparse.Namespace) -> int:
    import os

    from tradesim.io.outputs import atomic_write, check_file_target, writing_to
    from tradesim.io.trade_data import CONCORDANCE, origin_shares_from_trade, scenario_yaml
    from tradesim.scenario import load_scenario

    flows = args.out.with_suffix(".flows.csv")
    inputs = [*_inputs(args.scenario), args.extract]
    for target in (args.out, flows):
        check_file_target(target, force=args.force, inputs=inputs)
    scenario = load_scenario(args.scenario, allow_outside=True)  # named by the user: trusted
    economies = args.economies or list(scenario.economies)
    concordance = args.concordance or CONCORDANCE
    found = origin_shares_from_trade(
        args.extract,
        scenario,
        economies,
        args.year,
        concordance=concordance,
        keep_home=args.keep_home,
    )
    out_dir = args.out.parent if str(args.out.parent) else Path(".")
    parent = Path(os.path.relpath(args.scenario, out_dir)).as_posix()
    name = args.name or args.out.stem
    text = scenario_yaml(found, scenario, parent, name, concordance)

    def write_checked(tmp: Path) -> None:
        tmp.write_text(text)
        load_scenario(tmp, allow_outside=True)  # what is written must be a valid scenario

    with writing_to(args.out):
        out_dir.mkdir(parents=True, exist_ok=True)
        atomic_write(args.out, write_checked)
        atomic_write(flows, _text_writer(found.flows_csv()))
    rows = [["", "sector", *(o for o in scenario.regions)]]
    for d, by_sector in found.shares.items():
        for sector, row in by_sector.items():
            rows.append([d, sector, *(f"{row.get(o, 0.0):.2%}" for o in scenario.regions)])
    print(f"Origin shares in {args.year} ({found.rows_used} import rows of {args.extract}):")
    print("\n".join(aligned(rows, left=2)))
    print(f"\nWrote {args.out} (extends {parent}) and {flows.name}")
    if out_dir.resolve() not in args.scenario.resolve().parents:
        print(
            f"note: it extends {args.scenario}, outside its own folder: commands that read it"
            " need --allow-outside"
        )
    return 0


def _cmd_shocks(args: argparse.Namespace) -> int:
    print(shock_reference())
    return 0


NEW_TEMPLATE = """\
# {name}: describe here what this scenario models, and cite the source of every date, rate
# and amount you use (an official notice, a statistics table, a paper).
#
# It extends {parent}: every field there applies unless you override it here, and the
# shocks below are added to the parent's. Check it with `tradesim validate {path}`,
# run it with `tradesim run {path}` and set it against its parent with
# `tradesim compare {parent_path} {path}`. `tradesim shocks` lists every shock type.
extends: {extends}
name: {name}
description: TODO one line on what this scenario asks

# end: 2019-12            # extend the horizon (exogenous paths stay flat past their last point)
# parameters:
#   renewal_months: 12     # override any parameter of the parent

shocks:
  - type: tariff           # an ad valorem tariff by the importer on the origin's goods
    name: example tariff
    importer: {importer}
    origin: {origin}
    sectors: [{sector}] # or: all
    rate: 25%              # a fraction (0.25) or a percentage
    start: {start}      # YYYY-MM or YYYY-MM-DD (pro-rated in its first month)
    # end: 2019-01         # first date it no longer applies
    # ramp_months: 3       # linear phase-in
"""


def _cmd_new(args: argparse.Namespace) -> int:
    import os
    import re

    if not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]*", args.name):
        raise TradesimError(f"{args.name!r} is not a valid name: use letters, digits, _ and -")
    from tradesim.io.outputs import atomic_write, check_file_target, writing_to
    from tradesim.scenario import load_scenario

    if not args.extends.is_file():
        raise TradesimError(f"the scenario to extend does not exist: {args.extends}")
    parent = load_scenario(args.extends, allow_outside=True)  # named by the user: trusted
    path = args.dir / f"{args.name}.yaml"
    check_file_target(path, force=args.force, inputs=_inputs(args.extends))
    extends = Path(os.path.relpath(args.extends, args.dir)).as_posix()
    # The example shock uses the parent's own names: its first agent economy taxes the
    # first other region in its first sector, from the middle of the horizon.
    importer = next(iter(parent.economies))
    origin = next(r for r in parent.regions if r != importer) if len(parent.regions) > 1 else ""
    middle = parent.n_months // 2
    year, month = divmod(parent.start.year * 12 + parent.start.month - 1 + middle, 12)
    text = NEW_TEMPLATE.format(
        name=args.name,
        parent=args.extends.name,
        extends=json.dumps(extends),
        path=path,
        parent_path=args.extends,
        importer=json.dumps(importer),
        origin=json.dumps(origin),
        sector=json.dumps(next(iter(parent.sectors))),
        start=f"{year:04d}-{month + 1:02d}",
    )
    outside = args.dir.resolve() not in args.extends.resolve().parents

    def write_checked(tmp: Path) -> None:
        tmp.write_text(text)
        load_scenario(tmp, allow_outside=True)  # the template must validate as written

    with writing_to(path):
        args.dir.mkdir(parents=True, exist_ok=True)
        atomic_write(path, write_checked)
    print(f"Wrote {path}; edit it, then: tradesim validate {path}")
    if outside:
        print(
            f"note: it extends {args.extends}, outside its own folder: commands that read it"
            " need --allow-outside"
        )
    return 0


# ----------------------------------------------------------------------------- report text


def _format_bands(result: Any) -> str:
    from tradesim.io.bands import band

    bands = result.bilateral_bands()
    names = list(result.scenario.economies)
    years = [int(y) for y in bands["year"].values]
    limits = band(bands)
    title = "Bilateral trade, USD billion: mean"
    if limits:
        title += f" [{limits[0]:.0%}, {limits[1]:.0%} quantiles]"
    lines = [
        f"Scenario {result.scenario.name!r}: {result.runs} runs, seed {result.scenario.seed}",
        "",
        title,
        *_bilateral_rows(bands, "shipped_usd", names, years, signed=False),
    ]
    return "\n".join(lines)


def _cell(summary: Any, name: str, *, signed: bool = True, scale: float = 1e9, **at: Any) -> str:
    """'mean [lo, hi]' of one cell of a summary across runs (just the mean without a band)."""
    from tradesim.io.bands import band

    fmt = "+.3f" if signed else ".2f"
    mean = float(summary[f"{name}_mean"].sel(at)) / scale
    limits = band(summary)
    if limits is None:
        return f"{mean:{fmt}}"
    lo, hi = (float(summary[name].sel({**at, "quantile": q})) / scale for q in limits)
    return f"{mean:{fmt}} [{lo:{fmt}}, {hi:{fmt}}]"


def _two_line_rows(
    label: str, summary: Any, cells: Sequence[tuple[str, dict[str, Any]]]
) -> list[list[str]]:
    """One row of means and, when the summary has a band, a row of [lo, hi] beneath it:
    narrower than 'mean [lo, hi]' in every cell of a wide table."""
    from tradesim.io.bands import band

    limits = band(summary)
    means = [label]
    bands = [""]
    for name, at in cells:
        means.append(f"{float(summary[f'{name}_mean'].sel(at)) / 1e9:+.3f}")
        if limits:
            lo, hi = (float(summary[name].sel({**at, "quantile": q})) / 1e9 for q in limits)
            bands.append(f"[{lo:+.3f}, {hi:+.3f}]")
    return [means, bands] if limits else [means]


def _bilateral_rows(
    summary: Any, name: str, agents: Sequence[str], years: Sequence[int], *, signed: bool
) -> list[str]:
    """A header of years and one row per direction between the agent economies, aligned."""
    rows = [["", *(str(y) for y in years)]]
    for o in agents:
        for d in agents:
            if o != d:
                cells = [
                    _cell(summary, name, signed=signed, origin=o, destination=d, year=y)
                    for y in years
                ]
                rows.append([f"{o} -> {d}", *cells])
    return aligned(rows)


def _direction_share_rows(m: Any, agents: Sequence[str], year: int) -> list[str]:
    """Change in each direction's currency shares in `year`, percentage points (mean of
    the paired differences), for the currencies whose share moved."""
    change = m["currency_share_change_mean"].sel(year=year)
    rows = [["direction", *(str(c) for c in change["currency"].values)]]
    for o in agents:
        for d in agents:
            if o != d:
                cells = change.sel(origin=o, destination=d)
                rows.append([f"{o} -> {d}", *(f"{100 * float(v):+.2f}" for v in cells.values)])
    title = f"Change in settlement-currency shares by direction, {year}, points (mean)"
    return [title, *aligned(rows)]


def _format_comparison(base: Any, alt: Any, m: Any, runs: int) -> str:
    from tradesim.io.bands import band

    limits = band(m)
    agents = list(base.economies)
    years = [int(y) for y in m["year"].values]
    what = f"{runs} paired runs" if runs > 1 else "one paired run"
    title = "Bilateral trade, change in USD billion"
    if limits:
        title += f": mean [{limits[0]:.0%}, {limits[1]:.0%} quantiles]"
    lines = [
        f"Compare {alt.name!r} with {base.name!r}: {what}"
        f" (common random numbers, seed {base.seed})",
        "",
        title,
        *_bilateral_rows(m, "bilateral_usd", agents, years, signed=True),
    ]
    moved = abs(m["imports_by_origin_usd_mean"]).max("origin")
    top = moved.where(moved["importer"].isin(agents)).stack(cell=("importer", "sector"))
    top = top.dropna("cell").sortby(top.dropna("cell"), ascending=False)[:5]
    largest = float(top.max()) if top.size else 0.0
    rows: list[list[str]] = []
    origins = [str(o) for o in m["origin"].values]
    for importer, sector in top["cell"].values:
        if largest == 0 or float(moved.sel(importer=importer, sector=sector)) <= 0.01 * largest:
            continue  # negligible next to the largest move
        at = {"importer": importer, "sector": sector}
        cells = [("imports_by_origin_usd", {**at, "origin": o}) for o in origins]
        cells += [("trade_creation_usd", at), ("trade_diversion_usd", at)]
        rows += _two_line_rows(f"{importer} {sector}", m, cells)
    lines += ["", "Imports by origin, change over the horizon, USD billion (largest moves)"]
    if rows:
        lines += aligned([["importer, sector", *origins, "creation", "diversion"], *rows])
        lines.append("creation: change in imports from abroad;")
        lines.append("diversion: imports gained by the foreign origins whose sales rose")
    else:
        lines.append("none")
    last = years[-1]
    share = m["currency_share_mean"].sel(year=last)
    lines += [
        "",
        f"Settlement-currency shares between {', '.join(agents)}, {last} (mean)",
    ]
    share_rows = [["currency", "base", "alternative", "change, points"]]
    for c in share["currency"].values:
        b_, a_ = (float(share.sel(scenario=k, currency=c)) for k in ("base", "alternative"))
        if b_ or a_:
            share_rows.append([str(c), f"{b_:.1%}", f"{a_:.1%}", f"{100 * (a_ - b_):+.2f}"])
    lines += aligned(share_rows)
    if "currency_share_change_mean" in m:
        lines += ["", *_direction_share_rows(m, agents, last)]
    totals = m[[v for n in ("tariff_revenue_usd", "frozen_usd") for v in (n, f"{n}_mean")]].sum(
        "year"
    )
    destinations = [
        str(d)
        for d in totals["destination"].values
        if any(
            float(abs(totals[f"{n}_mean"].sel(destination=d))) >= 5e5  # shown: >= 0.0005
            for n in ("tariff_revenue_usd", "frozen_usd")
        )
    ]
    lines += ["", "Changes over the horizon, USD billion, by destination"]
    if destinations:
        table = [["", *destinations]]
        for name, label in (
            ("tariff_revenue_usd", "tariff revenue"),
            ("frozen_usd", "frozen payments"),
        ):
            cells = [(name, {"destination": d}) for d in destinations]
            table += _two_line_rows(label, totals, cells)
        lines += aligned(table)
    else:
        lines.append("none")
    from tradesim.cli.analysis_commands import format_welfare

    lines += ["", *format_welfare(m)]
    return "\n".join(lines)


def _write_comparison(metrics: Any, out: Path) -> None:
    from tradesim.io.bands import bands_table
    from tradesim.io.outputs import atomic_write
    from tradesim.io.results import csv_writer, writer

    atomic_write(out / "comparison.nc", writer(metrics, "to_netcdf", engine="scipy"))
    tables = {
        "bilateral_change.csv": "bilateral_usd",
        "imports_by_origin.csv": "imports_by_origin_usd",
        "currency_share_change.csv": "currency_share_change",
    }
    for file, name in tables.items():
        df = bands_table(metrics, name)
        atomic_write(out / file, csv_writer(df))


# ----------------------------------------------------------------------------- entry point

COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "run": _cmd_run,
    "validate": _cmd_validate,
    "compare": _cmd_compare,
    "calibrate": _cmd_calibrate,
    "backtest": lambda args: _backtest(args),
    "plot": _cmd_plot,
    "report": _cmd_report,
    "schema": _cmd_schema,
    "shares": _cmd_shares,
    "shocks": _cmd_shocks,
    "new": _cmd_new,
}


def _analysis_commands() -> dict[str, Callable[[argparse.Namespace], int]]:
    from tradesim.cli.analysis_commands import COMMANDS as ANALYSIS

    return ANALYSIS


def _backtest(args: argparse.Namespace) -> int:
    from tradesim.cli.backtest_command import cmd_backtest

    return cmd_backtest(args)


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `tradesim` console script."""
    args = _parser().parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s: %(message)s")
    try:
        return {**COMMANDS, **_analysis_commands()}[args.command](args)
    except TradesimError as exc:
        if args.debug:
            raise
        print(f"error: {exc}", file=sys.stderr)
        return EXIT_USER_ERROR
    except OSError as exc:
        if args.debug:
            raise
        print(f"error: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return EXIT_USER_ERROR
    except KeyboardInterrupt:
        print(
            "interrupted; earlier outputs are unchanged, and an ensemble's finished runs are"
            " kept: the same command resumes",
            file=sys.stderr,
        )
        return 130


if __name__ == "__main__":
    sys.exit(main())
