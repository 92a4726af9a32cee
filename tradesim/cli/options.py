"""Argument types and option groups shared by the commands, declared once.

Every command that runs an ensemble takes the same `--runs/--executor/--workers/--scheduler`
group, every command that reads a scenario the same `--set/--allow-outside`, every command
that calibrates the same optimizer options; each group is one function here so that a check
(a scheduler address, a positive count) cannot drift between commands.
"""

from __future__ import annotations

import argparse
from pathlib import Path

__all__ = [
    "FORMATS",
    "calibration_options",
    "executor_options",
    "force_option",
    "formats",
    "non_negative",
    "positive",
    "quantile_option",
    "quantiles",
    "scenario_options",
    "scheduler",
    "seed",
]

FORMATS = ("csv", "parquet", "netcdf")
_EXECUTORS = ("serial", "processes", "dask")


# ----------------------------------------------------------------------------- argument types


def _at_least(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"must be {minimum} or more, got {value}")
    return value


def non_negative(text: str) -> int:
    return _at_least(text, 0)


def positive(text: str) -> int:
    return _at_least(text, 1)


def quantiles(text: str) -> tuple[float, ...]:
    try:
        values = tuple(float(v) for v in text.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"not a comma-separated list of numbers: {text!r}"
        ) from None
    from tradesim.analysis.arguments import check_quantiles

    try:
        return check_quantiles(values)
    except (TypeError, ValueError) as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def seed(text: str) -> int:
    value = non_negative(text)
    if value >= 2**63:
        raise argparse.ArgumentTypeError(f"must be below 2**63, got {value}")
    return value


def scheduler(text: str) -> str:
    from tradesim.analysis.arguments import check_scheduler

    try:
        return str(check_scheduler(text, "the scheduler"))
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def formats(text: str) -> tuple[str, ...]:
    values = tuple(v.strip() for v in text.split(",") if v.strip())
    unknown = [v for v in values if v not in FORMATS]
    if unknown or not values:
        raise argparse.ArgumentTypeError(f"choose from {', '.join(FORMATS)} (comma-separated)")
    return values


# ----------------------------------------------------------------------------- option groups


def scenario_options(p: argparse.ArgumentParser) -> None:
    """`--set` overrides and `--allow-outside`: every command that loads a scenario."""
    p.add_argument(
        "--set",
        dest="overrides",
        action="append",
        default=[],
        metavar="PATH=VALUE",
        help="override a field, e.g. --set 'shocks[0].rate=50%%' or --set"
        " parameters.renewal_months=6 (repeatable)",
    )
    p.add_argument(
        "--allow-outside",
        action="store_true",
        help="let `extends:` name files outside the scenario's folder tree (trusted files only)",
    )


def executor_options(
    p: argparse.ArgumentParser,
    *,
    runs: int = 1,
    runs_help: str = "Monte Carlo runs",
    dask: bool = True,
) -> None:
    """Where and how many runs execute: `--runs --executor --workers [--scheduler] --quiet`."""
    p.add_argument("--runs", type=positive, default=runs, help=f"{runs_help} (default {runs})")
    choices = _EXECUTORS if dask else _EXECUTORS[:2]
    p.add_argument(
        "--executor",
        choices=choices,
        default="processes",
        help="where runs execute (default: local processes)",
    )
    p.add_argument(
        "--workers",
        type=positive,
        default=None,
        help="processes or Dask workers" if dask else "processes",
    )
    if dask:
        p.add_argument(
            "--scheduler",
            type=scheduler,
            default=None,
            help="Dask scheduler address (tcp://HOST:PORT)",
        )
    p.add_argument("--quiet", action="store_true", help="no progress output")


def quantile_option(p: argparse.ArgumentParser, what: str = "band quantiles") -> None:
    p.add_argument(
        "--quantiles",
        type=quantiles,
        default=(0.05, 0.95),
        help=f"{what} (default 0.05,0.95)",
    )


def force_option(p: argparse.ArgumentParser, what: str = "replace an existing output") -> None:
    p.add_argument("--force", action="store_true", help=what)


def calibration_options(p: argparse.ArgumentParser) -> None:
    """The simulated-method-of-moments search: `calibrate` and `backtest`."""
    p.add_argument(
        "--observed",
        type=Path,
        default=None,
        help="observed flows (tidy CSV, see docs; default: the shipped CN-RU figures)",
    )
    p.add_argument(
        "--moments",
        type=Path,
        action="append",
        default=None,
        metavar="FILE",
        help="moments beyond the annual totals (CSV as tradesim/data/cn_ru_moments.csv or"
        " cn_ru_currency_shares.csv; repeatable; replaces the shipped ones; 'none': totals only)",
    )
    p.add_argument(
        "--parameter",
        action="append",
        default=None,
        metavar="NAME=LO:HI[:START]",
        help="a constant to estimate (repeatable; replaces the default set), e.g."
        " parameters.renewal_months=6:24 or 'shock[NAME].premium=0:0.02'",
    )
    p.add_argument(
        "--start",
        type=Path,
        default=None,
        metavar="REPORT",
        help="start from the estimates of a calibration report (NAME.report.json)",
    )
    p.add_argument(
        "--replications", type=positive, default=4, help="runs per evaluation (default 4)"
    )
    p.add_argument(
        "--starts", type=positive, default=3, help="optimizer starting points (default 3)"
    )
    p.add_argument("--max-evaluations", type=positive, default=60, help="per start (default 60)")
    p.add_argument("--workers", type=positive, default=None, help="local processes")
    p.add_argument("--quiet", action="store_true", help="no progress output")
