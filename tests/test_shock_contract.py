"""The contract every shock type keeps: it validates, changes the policy while active and
only then, reverts at its end, is recorded in the run manifest, and is documented."""

from pathlib import Path

import numpy as np
import pytest

from tradesim import simulate
from tradesim.io.results import manifest
from tradesim.model.policy import compile_policy, shock_intensity
from tradesim.model.world import build_world
from tradesim.scenario import SHOCK_TYPES

from .factories import small
from .test_shocks import CASES

MODEL_DOC = (Path(__file__).parent.parent / "docs" / "model.md").read_text()


def policy_arrays(policy):
    return {k: np.asarray(v) for k, v in vars(policy).items()}


@pytest.mark.parametrize("kind", SHOCK_TYPES)
def test_shock_contract(kind):
    fields = CASES[kind][0]
    shock_spec = {"type": kind, "name": f"a {kind}", "start": "2020-04", "end": "2020-09", **fields}
    scenario = small(shocks=[shock_spec])  # validates
    (shock,) = scenario.shocks
    world = build_world(scenario)
    base = policy_arrays(compile_policy(world, [], [], 0))

    def policy_at(month):
        return policy_arrays(
            compile_policy(world, [shock], [shock_intensity(shock, world, month)], month)
        )

    def same(a, b):
        return all(np.array_equal(a[k], b[k]) for k in a)

    assert same(policy_at(2), base)  # before the start
    assert not same(policy_at(5), base)  # applies while active
    assert same(policy_at(8), base)  # reverted from its end (2020-09 is month 8)

    result = simulate(scenario, check=True)
    recorded = manifest(result)["shocks"]
    assert recorded == [
        {"type": kind, "name": f"a {kind}", "start": "2020-04-01", "end": "2020-09-01"}
    ]

    assert f"| `{kind}` |" in MODEL_DOC  # a row in the model's shock table
    model = type(shock)
    assert model.__doc__ and model.__doc__.strip()
