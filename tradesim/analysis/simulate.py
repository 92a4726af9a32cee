"""`simulate`: one run of a scenario, as a labelled result."""

from __future__ import annotations

import numpy as np

from tradesim.analysis.arguments import check_scenario, check_seed
from tradesim.analysis.thin import warn_thin_routes
from tradesim.io.metadata import global_attrs
from tradesim.io.results import SimulationResult, to_dataset
from tradesim.model.engine import run_engine
from tradesim.scenario import Scenario

__all__ = ["simulate"]


def simulate(
    scenario: Scenario,
    *,
    seed: int | np.random.SeedSequence | None = None,
    check: bool = False,
    warn_thin: bool = False,
) -> SimulationResult:
    """Run `scenario` once.

    Parameters
    ----------
    scenario
        A validated scenario (see `load_scenario`).
    seed
        Overrides the scenario's seed. The same scenario and seed give bit-identical results.
    check
        Verify the accounting identities every month; raise SimulationError on a violation.
    warn_thin
        Warn (`ThinRouteWarning`) about flows carried by too few relationships to be read
        from one run, with the population that would carry them (`tradesim run` does).
    """
    scenario = check_scenario(scenario)
    seed = check_seed(seed)
    if not isinstance(check, bool):
        raise TypeError(f"check must be True or False, got {check!r}")
    raw = run_engine(scenario, seed, check=check)
    used = scenario.seed if seed is None else seed
    used_int = used if isinstance(used, int) else None
    result = SimulationResult(
        scenario=scenario,
        seed=used_int,
        data=to_dataset(raw, global_attrs(scenario.name, used_int)),
        timings=raw.timings,
    )
    if warn_thin:
        warn_thin_routes(result)
    return result
