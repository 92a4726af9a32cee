"""The vectorized engine against the per-agent reference (benchmarks/reference/per_agent.py),
bit for bit: every buyer's supplier, currency and renewal month, and the books, every month.

The reference keeps its own buyers and books for the whole run, one agent at a time in plain
Python; only aggregate quantities (logit weights, currency weights, the policy in force) are
taken from the engine each month. Populations are tiny (fewer than 8 firms per origin and
sector, so that plain running sums equal numpy's) and the scenario has a trade sanction, a
currency cut-off, a tariff, a partial embargo and a route capacity, so forced switches,
barred buyers and broken relationships happen too.
"""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

from tradesim.model import kernels
from tradesim.model.engine import run_engine

from .factories import small
from .test_engine import SANCTION

_PATH = Path(__file__).resolve().parent.parent / "benchmarks" / "reference" / "per_agent.py"
_spec = importlib.util.spec_from_file_location("per_agent_reference", _PATH)
assert _spec is not None and _spec.loader is not None
ref = importlib.util.module_from_spec(_spec)
sys.modules[_spec.name] = ref  # dataclasses look their module up there
_spec.loader.exec_module(ref)

TARIFF = {
    "type": "tariff",
    "importer": "A",
    "origin": "B",
    "sectors": ["goods"],
    "rate": 0.25,
    "start": "2020-09",
    "ramp_months": 3,
}
# A partial embargo (half of A's goods buyers barred from B) and a binding route capacity.
PARTIAL = {
    "type": "embargo",
    "importer": "A",
    "origin": "B",
    "sectors": ["goods"],
    "share": 0.5,
    "start": "2021-02",
}
ROUTE = {
    "type": "route_capacity",
    "origin": "B",
    "destination": "A",
    "sector": "energy",
    "capacity": 300e6,
    "start": "2020-07",
}
SHOCKS = [SANCTION, TARIFF, PARTIAL, ROUTE]


def test_uniforms_match_the_engine_streams():
    from tradesim.model._random import Streams

    ids = np.array([0, 1, 2, 99, 12345, 2**40 + 3])
    for key, month in [(0, 0), (2**63 + 11, -6), (12345678901234567, 117)]:
        got = Streams.uniforms(key, month, ids)
        want = [ref.uniform(key, month, int(i)) for i in ids]
        assert got.tolist() == want


class _Referee:
    """Runs the reference beside the engine and compares after every month's renewals."""

    def __init__(self) -> None:
        self.buyers: list = []
        self.books = ref.Books()
        self.months_checked = 0
        self.switch_months = 0
        self.renewals = 0

    def market(self, world, state, month, policy, cur_w, keys, firm_w=None, ext_w=None):
        f = state.firms
        if not self.buyers:  # first call: the engine's agents, as the reference's own
            b = state.buyers
            self.buyers = [
                ref.Buyer(
                    id=i,
                    destination=int(b.destination[i]),
                    sector=int(b.sector[i]),
                    budget=int(b.budget[i]),
                    cutoff_rank=float(b.cutoff_rank[i]),
                    end_month=int(b.end_month[i]),
                )
                for i in range(len(b))
            ]
            self.firms = [
                ref.Firm(i, int(f.origin[i]), int(f.sector[i]), float(f.cutoff_rank[i]))
                for i in range(len(f))
            ]
        return ref.market_of(
            world,
            policy,
            month=month,
            keys=keys,
            firm_w=firm_w,
            ext_w=ext_w,
            cur_w=cur_w,
            firms=self.firms,
            firms_per_group=f.per_group,
        )

    def compare(self, world, state) -> None:
        b = state.buyers
        mine = self.buyers
        assert b.option.tolist() == [x.option for x in mine]
        assert b.end_month.tolist() == [x.end_month for x in mine]
        active = b.option >= 0
        assert b.origin[active].tolist() == [x.origin for x in mine if x.option >= 0]
        assert b.currency[active].tolist() == [x.currency for x in mine if x.option >= 0]
        firm_book = np.zeros_like(state.firm_book)
        for key, v in self.books.firm.items():
            firm_book[key] = v
        external_book = np.zeros_like(state.external_book)
        for key, v in self.books.external.items():
            external_book[key] = v
        rel_count = np.zeros_like(state.rel_count)
        for key, v in self.books.count.items():
            rel_count[key] = v
        np.testing.assert_array_equal(state.firm_book, firm_book)
        np.testing.assert_array_equal(state.external_book, external_book)
        np.testing.assert_array_equal(state.rel_count, rel_count)
        self.months_checked += 1


# One count for every sector, and per-sector counts (groups of unequal size).
@pytest.mark.parametrize("buyers", [60, {"default": 40, "energy": 90}])
def test_engine_matches_the_per_agent_reference_bit_for_bit(monkeypatch, buyers):
    scenario = small(shocks=SHOCKS)
    if isinstance(buyers, dict):
        assert "energy" in scenario.sectors
    scenario = scenario.model_copy(
        update={
            "population": scenario.population.model_copy(
                update={"buyers_per_sector": buyers, "firms_per_sector": 5}
            )
        }
    )
    referee = _Referee()
    real_switch, real_renew = kernels.switch_or_break, kernels.renew

    def switch(world, state, month, policy, cur_w, keys):
        m = referee.market(world, state, month, policy, cur_w, keys)
        for buyer in referee.buyers:
            ref.switch_or_break(buyer, m, referee.books)
        referee.switch_months += 1
        return real_switch(world, state, month, policy, cur_w, keys)

    def renew(world, state, keys, month, firm_w, ext_w, cur_w, policy):
        m = referee.market(world, state, month, policy, cur_w, keys, firm_w, ext_w)
        for buyer in referee.buyers:
            if buyer.end_month == month:
                ref.renew(buyer, m, referee.books)
                referee.renewals += 1
        real_renew(world, state, keys, month, firm_w, ext_w, cur_w, policy)
        referee.compare(world, state)

    monkeypatch.setattr(kernels, "switch_or_break", switch)
    monkeypatch.setattr(kernels, "renew", renew)
    raw = run_engine(scenario, 11)
    months = scenario.n_months + scenario.burn_in_months
    assert referee.months_checked == months
    assert referee.switch_months > 0  # the cut-off and the embargo forced switches
    assert referee.renewals > 2 * len(referee.buyers)
    assert raw.flows["shipped"].sum() > 0


@pytest.mark.parametrize("n_firms", [8, 9])
def test_the_reference_needs_tiny_groups(n_firms):
    """Why populations are tiny: from 8 terms numpy sums pairwise, a running sum does not
    (here a case where they differ, so the bit-for-bit test cannot pass by accident)."""
    rng = np.random.default_rng(0)
    differ = 0
    for _ in range(200):
        a = rng.random(n_firms) * 10 ** rng.uniform(-3, 3, n_firms)
        running = 0.0
        for x in a:
            running += x
        differ += running != a.sum()
    assert differ > 0


def test_mesa_reference_ships_what_the_engine_ships():
    """The Mesa 3 model (benchmarks/reference/mesa_model.py, optional `bench` extra): the
    same agents, choices and orders, so the same shipped flows up to the order of sums."""
    pytest.importorskip("mesa", minversion="3")
    spec = importlib.util.spec_from_file_location(
        "mesa_reference", _PATH.with_name("mesa_model.py")
    )
    assert spec is not None and spec.loader is not None
    mesa_model = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = mesa_model
    spec.loader.exec_module(mesa_model)
    scenario = small(shocks=SHOCKS)
    agents, shipped = mesa_model.run_mesa(scenario, seed=11)
    raw = run_engine(scenario, 11)
    assert agents == raw.n_agents
    np.testing.assert_allclose(shipped, raw.flows["shipped"], rtol=1e-9, atol=1e-6)
