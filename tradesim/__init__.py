"""tradesim: agent-based scenario simulation of bilateral trade.

Tariffs, sanctions and settlement-currency choice between agent economies (firms and buyers
as numpy arrays, time under simpy) and aggregate external regions.

The public names below are imported on first use (PEP 562 module `__getattr__`), so that
`import tradesim` stays cheap: xarray, pandas and scipy load only when a name that needs
them is used (issue 16: `import tradesim` at most 0.3 s; an ensemble worker or the CLI's
`--help` should not pay for calibration's optimizer).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from tradesim._version import __version__

if TYPE_CHECKING:  # the eager imports, for type checkers and IDEs only
    from tradesim.analysis.attribute import Attribution, attribute, base_scenario, shock_groups
    from tradesim.analysis.calibrate import CalibrationReport, calibrate
    from tradesim.analysis.ensemble import Comparison, EnsembleResult, compare, run_ensemble
    from tradesim.analysis.sensitivity import SensitivityResult, sensitivity
    from tradesim.analysis.simulate import simulate
    from tradesim.analysis.sweep import sweep
    from tradesim.analysis.thin import ThinRouteWarning, thin_routes
    from tradesim.analysis.welfare import paired_metrics, welfare
    from tradesim.errors import (
        CalibrationError,
        ComparisonError,
        ScenarioError,
        SimulationError,
        TradesimError,
    )
    from tradesim.io.results import (
        SimulationResult,
        annual_bilateral,
        currency_shares,
        in_currency,
        write_outputs,
    )
    from tradesim.scenario import Scenario, load_scenario, scenario_from_dict

# Public name -> the module that defines it.
_LAZY = {
    "Attribution": "tradesim.analysis.attribute",
    "attribute": "tradesim.analysis.attribute",
    "base_scenario": "tradesim.analysis.attribute",
    "shock_groups": "tradesim.analysis.attribute",
    "CalibrationReport": "tradesim.analysis.calibrate",
    "calibrate": "tradesim.analysis.calibrate",
    "Comparison": "tradesim.analysis.ensemble",
    "EnsembleResult": "tradesim.analysis.ensemble",
    "compare": "tradesim.analysis.ensemble",
    "run_ensemble": "tradesim.analysis.ensemble",
    "SensitivityResult": "tradesim.analysis.sensitivity",
    "sensitivity": "tradesim.analysis.sensitivity",
    "simulate": "tradesim.analysis.simulate",
    "sweep": "tradesim.analysis.sweep",
    "ThinRouteWarning": "tradesim.analysis.thin",
    "thin_routes": "tradesim.analysis.thin",
    "paired_metrics": "tradesim.analysis.welfare",
    "welfare": "tradesim.analysis.welfare",
    "CalibrationError": "tradesim.errors",
    "ComparisonError": "tradesim.errors",
    "ScenarioError": "tradesim.errors",
    "SimulationError": "tradesim.errors",
    "TradesimError": "tradesim.errors",
    "SimulationResult": "tradesim.io.results",
    "annual_bilateral": "tradesim.io.results",
    "currency_shares": "tradesim.io.results",
    "in_currency": "tradesim.io.results",
    "write_outputs": "tradesim.io.results",
    "Scenario": "tradesim.scenario",
    "load_scenario": "tradesim.scenario",
    "scenario_from_dict": "tradesim.scenario",
}

__all__ = [
    "Attribution",
    "CalibrationError",
    "CalibrationReport",
    "Comparison",
    "ComparisonError",
    "EnsembleResult",
    "Scenario",
    "ScenarioError",
    "SensitivityResult",
    "SimulationError",
    "SimulationResult",
    "ThinRouteWarning",
    "TradesimError",
    "__version__",
    "annual_bilateral",
    "attribute",
    "base_scenario",
    "calibrate",
    "compare",
    "currency_shares",
    "in_currency",
    "load_scenario",
    "paired_metrics",
    "run_ensemble",
    "scenario_from_dict",
    "sensitivity",
    "shock_groups",
    "simulate",
    "sweep",
    "thin_routes",
    "welfare",
    "write_outputs",
]


def __getattr__(name: str) -> Any:
    """Import a public name's module on first access and cache the name here."""
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'tradesim' has no attribute {name!r}")
    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))
