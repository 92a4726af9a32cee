"""`tradesim run --runs N --parameter-uncertainty`: bands with parameter and model noise."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from tradesim.errors import CalibrationError

__all__ = ["ensemble_with_parameter_uncertainty", "estimates_for"]

AT_ESTIMATE = "at_estimate"


def estimates_for(scenario: Any, path: Path, args: argparse.Namespace) -> tuple[Any, str]:
    """The parameter estimates to draw from (--parameter-uncertainty REPORT, or the report
    next to the scenario file) and the ensemble folder's resume key. Read before any output
    folder is touched."""
    from tradesim.analysis.uncertainty import ParameterDraws, ParameterEstimates, ensemble_key

    if args.runs < 2:
        raise CalibrationError("--parameter-uncertainty needs an ensemble: --runs 2 or more")
    given = args.parameter_uncertainty
    if isinstance(given, Path):
        estimates = ParameterEstimates.from_report(given)
    else:
        estimates = ParameterEstimates.for_scenario_file(path)
    ParameterDraws(scenario, estimates)  # every parameter can be applied to this scenario
    return estimates, ensemble_key(scenario, estimates)


def ensemble_with_parameter_uncertainty(
    scenario: Any, estimates: Any, work: Path, args: argparse.Namespace
) -> tuple[Any, list[str]]:
    """Run the ensemble with parameters drawn per run into `work`, and the same seeds at the
    estimates into `work`/at_estimate; print which source of variance dominates and write
    variance_decomposition.csv. Returns the ensemble with drawn parameters and the names
    of the extra outputs."""
    import pandas as pd

    from tradesim.analysis.ensemble import run_ensemble
    from tradesim.analysis.uncertainty import format_decomposition, variance_decomposition
    from tradesim.cli.main import _Progress
    from tradesim.io.outputs import atomic_write, record_output
    from tradesim.io.results import csv_writer

    common = dict(
        runs=args.runs,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        quantiles=args.quantiles,
        check=getattr(args, "check", False),
    )
    drawn = run_ensemble(
        scenario,
        out=work,
        parameter_uncertainty=estimates,
        progress=_Progress(f"{scenario.name} (parameters drawn)", args.quiet),
        **common,
    )
    record_output(work / AT_ESTIMATE)  # ours: --force may replace it with the folder
    at_estimate = run_ensemble(
        scenario,
        out=work / AT_ESTIMATE,
        progress=_Progress(f"{scenario.name} (at the estimates)", args.quiet),
        **common,
    )
    rows = variance_decomposition(drawn.run_paths, at_estimate.run_paths)
    if not estimates.correlated:
        print(
            "note: the calibration report holds standard errors only; parameters are drawn"
            " independently (a diagonal covariance)\n"
        )
    print(format_decomposition(rows, list(scenario.economies)))
    atomic_write(work / "variance_decomposition.csv", csv_writer(pd.DataFrame(rows)))
    return drawn, ["variance_decomposition.csv", f"{AT_ESTIMATE}/"]
