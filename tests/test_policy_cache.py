"""The engine compiles a month's policy again only when it can have changed (issue 16):
a shock that `varies_by_month` says is constant gives the same arrays in every month, and a
run with the cache is bit for bit a run that compiles every month."""

import numpy as np
import pytest

from tradesim.model import engine
from tradesim.model.engine import run_engine
from tradesim.model.policy import compile_policy, varies_by_month
from tradesim.model.world import build_world
from tradesim.scenario import SHOCK_TYPES

from .factories import assert_raw_equal, small
from .test_shock_contract import policy_arrays
from .test_shocks import CASES

# Every month-dependent form beside the constant one of CASES: a dated path, a decaying
# premium, held payments (financed at the month's rate).
MONTHLY = [
    {"type": "demand", "region": "X", "path": {"2020-07": -0.1, "2021-06": -0.3}},
    {
        "type": "route_capacity",
        "origin": "B",
        "destination": "A",
        "sector": "energy",
        "path": {"2020-07": 300e6, "2021-01": 100e6},
    },
    {
        "type": "settlement_risk",
        "target": "B",
        "currencies": ["USD"],
        "premium": 0.01,
        "half_life_months": 24,
    },
    {
        "type": "sanction",
        "imposer": "A",
        "target": "B",
        "financial": {"hold_probability": 0.2, "delay_months": 2},
    },
]


def _shock(spec):
    return small(shocks=[{"name": "s", "start": "2020-04", **spec}]).shocks[0]


# The shock types whose CASES form is constant in time (demand's is a path, the settlement
# risk's decays): compiled at any month, the same arrays.
CONSTANT = [k for k in SHOCK_TYPES if not varies_by_month(_shock({"type": k, **CASES[k][0]}))]


def test_only_the_month_dependent_cases_vary():
    assert sorted(set(SHOCK_TYPES) - set(CONSTANT)) == ["demand", "settlement_risk"]


@pytest.mark.parametrize("kind", CONSTANT)
def test_a_shock_said_constant_compiles_to_the_same_arrays_every_month(kind):
    spec = {"type": kind, **CASES[kind][0]}
    shock = _shock(spec)
    world = build_world(small(shocks=[{"name": "s", "start": "2020-04", **spec}]))
    first = policy_arrays(compile_policy(world, [shock], [0.7], 3))
    for month in (4, 9, 17):
        later = policy_arrays(compile_policy(world, [shock], [0.7], month))
        assert all(np.array_equal(first[k], later[k]) for k in first), month


@pytest.mark.parametrize("spec", MONTHLY, ids=[s["type"] for s in MONTHLY])
def test_month_dependent_shocks_are_said_to_vary(spec):
    shock = _shock(spec)
    assert varies_by_month(shock)
    world = build_world(small(shocks=[{"name": "s", "start": "2020-04", **spec}]))
    a = policy_arrays(compile_policy(world, [shock], [1.0], 0))
    b = policy_arrays(compile_policy(world, [shock], [1.0], 11))  # the USD rate fell between
    assert not all(np.array_equal(a[k], b[k]) for k in a)


def test_the_policy_cache_leaves_a_run_bit_identical(monkeypatch):
    shocks = [
        {"name": f"s{i}", "start": "2020-04", "end": "2021-03", "ramp_months": 2, **spec}
        for i, spec in enumerate([*MONTHLY, {"type": "tariff", **CASES["tariff"][0]}])
    ]
    scenario = small(shocks=shocks)
    calls = []
    real = engine.compile_policy

    def counting(*args):
        calls.append(args[-1])
        return real(*args)

    monkeypatch.setattr(engine, "compile_policy", counting)
    cached = run_engine(scenario, 2)
    n_cached = len(calls)

    def every_call(self, month):  # no cache: compile whenever asked
        return counting(self.world, self.shocks, self.intensity, month)

    monkeypatch.setattr(engine._Run, "policy", every_call)
    calls.clear()
    every = run_engine(scenario, 2)
    assert n_cached < len(calls) / 2  # the cache saved compilations
    assert_raw_equal(cached, every)
