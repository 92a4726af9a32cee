"""tradesim: agent-based scenario simulation of bilateral trade.

Tariffs, sanctions and settlement-currency choice between agent economies (firms and buyers
as numpy arrays, time under simpy) and aggregate external regions.
"""

from tradesim._version import __version__
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

__all__ = [
    "Attribution",
    "CalibrationError",
    "CalibrationReport",
    "Comparison",
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
