"""Per-sector buyer counts: population.buyers_per_sector as a count or a mapping."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from tradesim import ScenarioError, load_scenario, scenario_from_dict, simulate, thin_routes
from tradesim.model._random import Streams
from tradesim.model.agents import make_buyers
from tradesim.model.engine import run_engine
from tradesim.model.world import build_world

from .factories import small, small_dict

# sha256 of the small scenario's buyer budgets and cut-off ranks, drawn with one count for
# every sector by the code before per-sector counts existed (an int must stay bit-identical).
SMALL_BUYERS_SHA256 = "c03770901ab1e89416a917c57d2a93f38f489f4aace6bf1a730e7b4639404d89"


def _buyers_digest(scenario) -> str:
    world = build_world(scenario)
    counts = scenario.population.buyers(world.sectors)
    b = make_buyers(world, counts, Streams(scenario.seed).generator("buyers"))
    return hashlib.sha256(b.budget.tobytes() + b.cutoff_rank.tobytes()).hexdigest()


def test_an_int_draws_what_it_drew_before():
    assert _buyers_digest(small()) == SMALL_BUYERS_SHA256


def test_a_mapping_with_equal_counts_is_bit_identical_to_the_int():
    n = small().population.buyers_per_sector
    sectors = small_dict()["sectors"]
    as_int = run_engine(small())
    for counts in ({"default": n}, dict.fromkeys(sectors, n)):
        mapped = run_engine(small(population={"buyers_per_sector": counts, "firms_per_sector": 10}))
        for name, values in as_int.flows.items():
            np.testing.assert_array_equal(mapped.flows[name], values, err_msg=name)


def test_per_sector_counts_run_end_to_end():
    sectors = list(small_dict()["sectors"])
    first, rest = sectors[0], sectors[1:]
    counts = {first: 900, "default": 150}
    scenario = small(population={"buyers_per_sector": counts, "firms_per_sector": 10})
    assert scenario.population.buyers(sectors) == [900] + [150] * len(rest)
    raw = run_engine(scenario, check=True)  # accounting identities checked every month
    n_agent = len(scenario.economies)
    assert raw.n_agents == n_agent * (900 + 150 * len(rest)) + n_agent * len(sectors) * 10
    # Budgets still add up to each group's base absorption: the same totals as the int.
    world = build_world(scenario)
    b = make_buyers(world, scenario.population.buyers(sectors), Streams(1).generator("buyers"))
    group = b.destination.astype(int) * len(sectors) + b.sector
    totals = np.bincount(group, b.budget.astype(float))
    np.testing.assert_allclose(totals, world.absorption_usd[:n_agent].ravel(), atol=len(b))
    assert np.bincount(group).tolist() == [900] + [150] * len(rest) + [900] + [150] * len(rest)
    result = simulate(scenario)
    assert float(result.data.shipped_usd.sum()) > 0
    thin = thin_routes(result)  # thin routes name the sector's own count
    assert thin
    for route in thin:
        assert f"population.buyers_per_sector.{route.sector} >=" in str(route)


@pytest.mark.parametrize(
    ("counts", "fragment"),
    [
        ({"nonsense": 10, "default": 5}, "unknown sector 'nonsense'"),
        ({"default": 0}, "between 1 and"),
        ({"default": 5, "SECTOR": -3}, "(sector 'SECTOR') must be between 1"),
        (0, "between 1 and"),
        ({}, "empty mapping"),
        ({"SECTOR": 5}, "add them or a 'default'"),
    ],
)
def test_bad_counts_are_named(counts, fragment):
    first = next(iter(small_dict()["sectors"]))
    if isinstance(counts, dict):
        counts = {first if k == "SECTOR" else k: v for k, v in counts.items()}
        fragment = fragment.replace("SECTOR", first)
    data = small_dict(population={"buyers_per_sector": counts, "firms_per_sector": 10})
    if len(data["sectors"]) == 1 and "add them" in fragment:
        pytest.skip("one sector: naming it covers every sector")
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    problems = info.value.problems
    assert any(p.path.startswith("population.buyers_per_sector") for p in problems), problems
    assert any(fragment in p.message for p in problems), [p.message for p in problems]


def test_a_bad_count_in_a_file_points_at_its_line(tmp_path: Path):
    text = (Path(__file__).parent.parent / "scenarios" / "baseline.yaml").read_text()
    start = text.index("  buyers_per_sector:")
    end = text.index("\n", start)
    line = "  buyers_per_sector: {default: 1000, crude: 2000, tin: 50}"
    path = tmp_path / "s.yaml"
    path.write_text(text[:start] + line + text[end:])
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.path == "population.buyers_per_sector.tin"
    assert "unknown sector 'tin'" in problem.message
    assert problem.line == (text[:start] + line).count("\n") + 1
