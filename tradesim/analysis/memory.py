"""Memory a run needs, estimated before it starts, with a clear refusal above the machine's.

Without it a scenario with 10 million buyers per sector ran for 45 s and then died out of
memory. The estimate is linear in the agent counts and the size of the result arrays:

    bytes per run = BYTES_PER_BUYER * buyers + BYTES_PER_FIRM * firms
                    + RESULT_ARRAYS * 8 * months * regions**2 * sectors * currencies

The coefficients were measured with tracemalloc (peak of `run_engine`) on the small test
scenario at 400 to 80,000 buyers and 10 to 20,000 firms per sector: about 185 bytes per
buyer and 225 per firm; `benchmarks/bench_memory.py` prints the estimate next to the
measured peak. They are rounded up, so the estimate errs on the safe side.
"""

from __future__ import annotations

import os

from tradesim.errors import SimulationError
from tradesim.scenario import Scenario

__all__ = ["check_memory", "estimate_run_bytes", "machine_bytes"]

BYTES_PER_BUYER = 200  # measured ~185 (module docstring)
BYTES_PER_FIRM = 250  # measured ~225
RESULT_ARRAYS = 12  # monthly (O, D, S, C) arrays held by a run and its labelled copy


def estimate_run_bytes(scenario: Scenario) -> int:
    """Peak memory of one run of `scenario`, in bytes (an estimate, rounded up)."""
    n_agent = len(scenario.economies)
    n_sectors = len(scenario.sectors)
    buyers = sum(scenario.population.buyers(list(scenario.sectors))) * n_agent
    firms = scenario.population.firms_per_sector * n_sectors * n_agent
    months = scenario.n_months + scenario.burn_in_months
    regions = len(scenario.regions)
    cells = months * regions**2 * n_sectors * len(scenario.currencies)
    return BYTES_PER_BUYER * buyers + BYTES_PER_FIRM * firms + RESULT_ARRAYS * 8 * cells


def machine_bytes() -> int | None:
    """Physical memory of this machine in bytes, or None where the OS does not say."""
    try:
        return int(os.sysconf("SC_PAGE_SIZE")) * int(os.sysconf("SC_PHYS_PAGES"))
    except (AttributeError, ValueError, OSError):
        return None


def check_memory(scenario: Scenario, *, concurrent: int = 1) -> int:
    """Refuse a run (or `concurrent` runs at once) that would need more memory than the
    machine has; returns the estimate in bytes."""
    need = estimate_run_bytes(scenario) * max(1, concurrent)
    have = machine_bytes()
    if have is not None and need > have:
        runs = f"{concurrent} runs at once" if concurrent > 1 else "one run"
        raise SimulationError(
            f"{scenario.name}: {runs} would need about {need / 2**30:.1f} GiB of memory, more"
            f" than this machine's {have / 2**30:.1f} GiB; reduce population.buyers_per_sector"
            " or firms_per_sector, use fewer --workers, or pass --no-memory-check to try anyway"
        )
    return need
