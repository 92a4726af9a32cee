"""`tradesim backtest`: fit on some years, forecast others, score against naive forecasts."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from tradesim.cli import options
from tradesim.errors import CalibrationError

__all__ = ["add_parser", "cmd_backtest"]


def _years(text: str) -> list[int]:
    """YEARS: 2016-2017, 2016,2017 or 2018."""
    out: list[int] = []
    try:
        for part in text.split(","):
            lo, _, hi = part.strip().partition("-")
            a, b = int(lo), int(hi or lo)
            if b < a:
                raise ValueError
            out += range(a, b + 1)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"expected years such as 2016-2017 or 2016,2018, got {text!r}"
        ) from None
    return out


def add_parser(sub: Any) -> None:
    """Register the command with the shared scenario and calibration options."""
    p = sub.add_parser(
        "backtest",
        help="fit on some years, forecast others, score against naive forecasts",
        description="Calibrate SCENARIO on the --fit years, run the --test years as an"
        " ensemble, and compare the model's mean and 5-95% band with the observed values"
        " and with three naive forecasts (log-linear trend, last value, random walk with"
        " drift): per direction and year, MAPE and interval coverage.",
    )
    p.add_argument("scenario", type=Path, metavar="SCENARIO")
    options.scenario_options(p)
    p.add_argument("--fit", type=_years, default=None, metavar="YEARS", help="e.g. 2016-2017")
    p.add_argument("--test", type=_years, default=None, metavar="YEARS", help="e.g. 2018")
    p.add_argument(
        "--leave-one-out",
        action="store_true",
        help="fit on all observed years but one, forecast that one, for each year in turn",
    )
    p.add_argument("--out", type=Path, default=Path("out/backtest"), help="output folder")
    p.add_argument(
        "--runs", type=options.positive, default=20, help="ensemble runs per fold (default 20)"
    )
    options.calibration_options(p)
    options.force_option(p, "replace an existing output folder")


def cmd_backtest(args: argparse.Namespace) -> int:
    from tradesim.analysis.backtest import backtest
    from tradesim.analysis.calibrate import load_observed, parameter_from_spec, read_moment_files
    from tradesim.cli.main import _inputs, _load
    from tradesim.io.backtest_plot import plot_backtest
    from tradesim.io.outputs import OutputFolder, writing_to

    if args.runs < 2:
        raise CalibrationError("--runs must be 2 or more for a band")
    if not args.leave_one_out and (args.fit is None or args.test is None):
        raise CalibrationError("give --fit YEARS and --test YEARS, or --leave-one-out")
    if args.start is not None:
        raise CalibrationError(
            "--start is for calibrate: a backtest's fit must not start from estimates that"
            " saw the test years; it starts from the scenario's values"
        )
    scenario = _load(args.scenario, args)
    observed = load_observed(args.observed) if args.observed else None
    moments = read_moment_files(args.moments) if args.moments else None
    parameters = (
        [parameter_from_spec(scenario, spec) for spec in args.parameter] if args.parameter else None
    )

    def say(text: str) -> None:
        if not args.quiet:
            print(f"{scenario.name}: {text}", file=sys.stderr)

    inputs = [*_inputs(args.scenario), *([args.observed] if args.observed else [])]
    target = OutputFolder(args.out, force=args.force, inputs=inputs, kind="backtest")
    with writing_to(args.out), target as work:
        result = backtest(
            scenario,
            fit=args.fit,
            test=args.test,
            leave_one_out=args.leave_one_out,
            observed=observed,
            moments=moments,
            parameters=parameters,
            runs=args.runs,
            replications=args.replications,
            starts=args.starts,
            max_evaluations=args.max_evaluations,
            workers=args.workers,
            progress=say,
            bars=not args.quiet,
        )
        print(result.to_text())
        written = result.write(work) + plot_backtest(result, Path(work) / "backtest")
    print(f"Wrote {', '.join(p.name for p in written)} to {args.out}/")
    return 0
