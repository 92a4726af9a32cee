"""Local-currency pricing set by the importing market (`currency_choice.importer_currency`)."""

import numpy as np
import pytest

from tradesim import ScenarioError, scenario_from_dict
from tradesim.model.policy import compile_policy
from tradesim.model.settlement import aggregate_currency_shares, currency_weights
from tradesim.model.world import build_world

from ..factories import small_dict


def _shares(data):
    world = build_world(scenario_from_dict(data))
    R, S, C = world.n_regions, world.n_sectors, world.n_currencies
    net = np.full((R, R, C), 1.0 / C)
    market = np.full((R, S, C), 1.0 / C)
    policy = compile_policy(world, [], [], 0)
    return world, aggregate_currency_shares(
        world, policy, currency_weights(world, policy, net, market)
    )


def test_an_importer_convention_raises_its_currency_on_its_imports_only():
    """Catches: the utility applied to the exporter's currency, or to routes not ending in
    the listed region."""
    world, before = _shares(small_dict())
    data = small_dict()
    data["parameters"]["currency_choice"] = {"importer_currency": {"B": 2.0}}
    _, after = _shares(data)
    b = world.regions.index("B")
    bbc = world.currencies.index("BBC")
    into_b = np.zeros(world.n_regions, dtype=bool)
    into_b[b] = True
    foreign = ~np.eye(world.n_regions, dtype=bool)
    assert (after[foreign[:, b], b, :, bbc] > before[foreign[:, b], b, :, bbc]).all()
    others = ~into_b[None, :] & np.ones((world.n_regions, 1), dtype=bool)
    np.testing.assert_allclose(after[others], before[others], rtol=1e-12)


def test_an_unknown_importer_region_is_refused():
    data = small_dict()
    data["parameters"]["currency_choice"] = {"importer_currency": {"EU": 1.0}}
    with pytest.raises(ScenarioError, match=r"importer_currency\.EU: unknown region 'EU'"):
        scenario_from_dict(data)
