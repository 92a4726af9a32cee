"""Composition: `extends:` a list of parents, shocks overridden or removed by id, and the
errors of bad composition (a cycle among parents, a removal of nothing)."""

import pytest
import yaml

from tradesim import ScenarioError, load_scenario
from tradesim.analysis.thin import ThinRouteWarning, thin_routes
from tradesim.scenario import TariffShock

from .factories import small_dict


def write(path, data):
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False))
    return path


@pytest.fixture
def family(tmp_path):
    base = small_dict()
    base["shocks"] = [
        {
            "type": "tariff",
            "id": "t1",
            "importer": "A",
            "origin": "B",
            "rate": 0.1,
            "start": "2020-03",
        },
        {"type": "demand", "id": "d1", "region": "X", "change": -0.1, "start": "2020-05"},
    ]
    write(tmp_path / "base.yaml", base)
    write(
        tmp_path / "rounds.yaml",
        "extends: base.yaml\nname: rounds\nseed: 11\nshocks:\n"
        "  - {type: tariff, id: t2, importer: B, origin: A, rate: 0.2, start: 2020-06}\n",
    )
    write(
        tmp_path / "sanctions.yaml",
        "extends: base.yaml\nname: sanctions\nseed: 12\nburn_in_months: 3\nshocks:\n"
        "  - {type: sanction, id: s1, imposer: X, target: B, start: 2020-09,"
        " trade: {sectors: [goods]}}\n",
    )
    return tmp_path


def test_extends_a_list_merges_parents_in_order_later_wins(family):
    write(
        family / "both.yaml",
        "extends: [rounds.yaml, sanctions.yaml]\nname: both\nshocks:\n"
        "  - {id: t1, rate: 0.3}\n"
        "  - {id: d1, remove: true}\n",
    )
    s = load_scenario(family / "both.yaml")
    assert s.name == "both" and s.seed == 12 and s.burn_in_months == 3  # later parent wins
    ids = [shock.id for shock in s.shocks]
    assert ids == ["t1", "t2", "s1"]  # base's shocks once, each parent's own, d1 removed
    t1 = s.shocks[0]
    assert isinstance(t1, TariffShock) and t1.rate == 0.3 and t1.importer == "A"


def test_an_override_error_points_at_the_child_file(family):
    write(family / "bad.yaml", "extends: rounds.yaml\nname: bad\nshocks:\n  - {id: t1, rate: -1}\n")
    with pytest.raises(ScenarioError) as info:
        load_scenario(family / "bad.yaml")
    (problem,) = info.value.problems
    assert str(problem).startswith(f"{family / 'bad.yaml'}:4:") and "rate" in problem.path


def test_removing_an_unknown_id_is_an_error(family):
    write(
        family / "bad.yaml", "extends: base.yaml\nname: bad\nshocks:\n  - {id: zz, remove: true}\n"
    )
    with pytest.raises(
        ScenarioError, match=r"bad\.yaml:4:\d+: shocks\[0\]\.remove: removes shock id 'zz'"
    ):
        load_scenario(family / "bad.yaml")


def test_a_cycle_in_a_parent_list_names_file_line_and_field(family):
    write(family / "a.yaml", "extends: [base.yaml, b.yaml]\nname: a\n")
    write(family / "b.yaml", "extends: a.yaml\nname: b\n")
    with pytest.raises(ScenarioError, match=r"b\.yaml:1:\d+: extends: extends forms a cycle"):
        load_scenario(family / "a.yaml")


def test_duplicate_ids_are_an_error(family):
    write(
        family / "dup.yaml",
        "extends: base.yaml\nname: dup\nshocks:\n"
        "  - {type: demand, id: d2, region: X, change: 0.1, start: 2020-05}\n"
        "  - {type: demand, id: d2, region: A, change: 0.1, start: 2020-05}\n",
    )
    with pytest.raises(ScenarioError, match=r"dup\.yaml:5:\d+: shocks\[1\]\.id: id 'd2'"):
        load_scenario(family / "dup.yaml")


def test_thin_routes_are_named_with_the_population_that_fixes_them():
    from tradesim import scenario_from_dict, simulate

    data = small_dict()
    data["economies"]["A"]["origin_shares"]["goods"] = {"A": 0.795, "B": 0.005, "X": 0.2}
    result = simulate(scenario_from_dict(data))
    thin = {(r.origin, r.destination, r.sector): r for r in thin_routes(result)}
    route = thin[("B", "A", "goods")]
    assert route.relationships < 30
    assert route.buyers_needed >= 400 * 30 / max(route.relationships, 0.5) - 1
    with pytest.warns(ThinRouteWarning, match=r"B->A goods: .* relationships"):
        simulate(scenario_from_dict(data), warn_thin=True)
    # The suggested population does carry it.
    data["population"]["buyers_per_sector"] = route.buyers_needed
    bigger = simulate(scenario_from_dict(data))
    assert ("B", "A", "goods") not in {
        (r.origin, r.destination, r.sector) for r in thin_routes(bigger)
    }
