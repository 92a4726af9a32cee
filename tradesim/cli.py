"""The command line: `tradesim run SCENARIO [--seed N] [--out DIR]`.

User mistakes (a bad scenario, an unwritable output folder) print a clear message on stderr
and exit with code 2; a traceback is shown only with --debug.
"""

from __future__ import annotations

import argparse
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from tradesim import __version__
from tradesim.errors import TradesimError
from tradesim.results import format_summary, write_outputs
from tradesim.scenario import load_scenario, scenario_files
from tradesim.simulate import simulate

__all__ = ["main"]

EXIT_USER_ERROR = 2


def _seed(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a whole number: {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be 0 or more, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="tradesim", description="Scenario simulation of bilateral trade."
    )
    parser.add_argument("--version", action="version", version=f"tradesim {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="run a scenario and write its outputs")
    run.add_argument("scenario", type=Path, help="scenario YAML file")
    run.add_argument("--seed", type=_seed, default=None, help="override the scenario's seed")
    run.add_argument(
        "--out", type=Path, default=None, help="output folder (default: out/<scenario name>)"
    )
    run.add_argument("--check", action="store_true", help="verify accounting every month")
    return parser


def _run(args: argparse.Namespace) -> int:
    scenario = load_scenario(args.scenario)
    result = simulate(scenario, seed=args.seed, check=args.check)
    print(format_summary(result))
    out = args.out if args.out is not None else Path("out") / scenario.name
    try:
        written = write_outputs(result, out, sources=scenario_files(args.scenario))
    except OSError as exc:
        raise TradesimError(f"cannot write outputs to {out}: {exc.strerror or exc}") from exc
    print(f"\nWrote {', '.join(p.name for p in written)} to {out}/")
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


if __name__ == "__main__":
    sys.exit(main())
