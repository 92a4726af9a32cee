"""Route capacity: a physical limit on one route binds there, follows its dated path and
ramp, closes the route at 0, and is refused on a route that does not exist."""

import pytest

from tradesim import ScenarioError, load_scenario, scenario_from_dict, simulate

from .factories import small_dict

ROUTE = {"type": "route_capacity", "origin": "B", "destination": "A", "sector": "energy"}


def quantity(result, months, origin="B", destination="A"):
    q = result.data.quantity.sel(commodity="energy", origin=origin, destination=destination)
    return q.sel(month=slice(*months))


@pytest.fixture(scope="module")
def free():
    return simulate(scenario_from_dict(small_dict()))


def test_route_capacity_binds_at_the_route_and_nowhere_else(free):
    # B -> A energy carries about 50M bbl a month unconstrained; cap it at 300M bbl a year.
    capped = simulate(
        scenario_from_dict(small_dict(shocks=[{**ROUTE, "capacity": 300e6, "start": "2020-07"}]))
    )
    after = ("2020-07", "2021-12")
    assert float(quantity(free, after).min()) > 30e6
    assert float(quantity(capped, after).max()) <= 25e6 * (1 + 1e-9)
    assert float(quantity(capped, after).mean()) > 20e6  # binds, does not close
    # Buyers in A turn to others; B's other routes are not limited.
    x_to_a = lambda r: float(quantity(r, after, origin="X").sum())  # noqa: E731
    assert x_to_a(capped) > 1.05 * x_to_a(free)
    b_to_x = lambda r: float(quantity(r, after, destination="X").sum())  # noqa: E731
    assert b_to_x(capped) >= 0.99 * b_to_x(free)


def test_route_capacity_path_opens_a_closed_route_with_its_ramp(free):
    # Closed (0) until 2020-12, then 120M bbl a year, doubling to 240M from 2021-07.
    path = {"2020-11": 0, "2020-12": 120e6, "2021-06": 120e6, "2021-07": 240e6}
    shock = {**ROUTE, "path": path, "start": "2020-01"}
    r = simulate(scenario_from_dict(small_dict(shocks=[shock])))
    assert float(quantity(r, ("2020-02", "2020-11")).max()) == 0.0
    assert 0 < float(quantity(r, ("2021-01", "2021-06")).max()) <= 10e6 * (1 + 1e-9)
    assert float(quantity(r, ("2021-08", "2021-12")).mean()) > 12e6
    assert float(quantity(r, ("2021-08", "2021-12")).max()) <= 20e6 * (1 + 1e-9)


def test_route_capacity_on_a_route_that_does_not_exist_names_file_line_field(tmp_path):
    data = small_dict()
    text = (
        "extends: base.yaml\n"
        "name: closed\n"
        "shocks:\n"
        "  - type: route_capacity\n"
        "    origin: A\n"
        "    destination: B\n"
        "    sector: goods\n"
        "    capacity: 1000\n"
        "    start: 2020-03\n"
    )
    import yaml

    data["economies"]["B"]["origin_shares"]["goods"] = {"B": 0.8, "X": 0.2}
    (tmp_path / "base.yaml").write_text(yaml.safe_dump(data))
    (tmp_path / "s.yaml").write_text(text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(tmp_path / "s.yaml")
    messages = [str(p) for p in info.value.problems]
    assert any(
        m.startswith(f"{tmp_path / 's.yaml'}:5:") and "does not exist" in m for m in messages
    )
    assert any("shocks[0].sector" in m and "has no unit" in m for m in messages)
