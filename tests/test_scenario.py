import datetime as dt
from pathlib import Path

import pytest

from tradesim import ScenarioError, load_scenario, scenario_from_dict
from tradesim.scenario import TariffShock

from .factories import small_dict

SCENARIOS = Path(__file__).parent.parent / "scenarios"


def write(tmp_path: Path, text: str, name: str = "s.yaml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def test_baseline_loads():
    s = load_scenario(SCENARIOS / "baseline.yaml")
    assert s.name == "baseline"
    assert s.n_months == 60  # 2014-01 to 2018-12: 2014-2015 run as settlement history
    assert s.regions == ["CN", "RU", "US", "EU", "BR", "SC", "ROW"]
    assert s.sectors["soybeans"].unit == "t" and s.sectors["soybeans"].hs_codes == ["1201"]
    assert s.currencies["RUB"].per_usd == {"2016": 67.03, "2017": 58.35, "2018": 62.71}


def test_extends_adds_shocks_and_overrides_fields():
    s = load_scenario(SCENARIOS / "soybean_tariff_2018.yaml")
    base = load_scenario(SCENARIOS / "baseline_calibrated.yaml")  # the library's parent
    assert s.name == "soybean_tariff_2018"
    assert s.economies == base.economies
    assert len(s.shocks) == len(base.shocks) + 1
    shock = s.shocks[-1]
    assert isinstance(shock, TariffShock)
    assert (shock.importer, shock.origin, shock.rate) == ("CN", "US", 0.25)
    assert shock.start == dt.date(2018, 7, 6)


def test_extends_cycle_is_reported(tmp_path):
    write(tmp_path, "extends: b.yaml\nname: a\n", "a.yaml")
    write(tmp_path, "extends: a.yaml\nname: b\n", "b.yaml")
    with pytest.raises(ScenarioError, match="cycle"):
        load_scenario(tmp_path / "a.yaml")


def test_extends_missing_parent(tmp_path):
    path = write(tmp_path, "extends: nowhere.yaml\nname: a\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:1:1: extends: .*does not exist"):
        load_scenario(path)


def test_error_in_child_points_at_child_file(tmp_path):
    text = (SCENARIOS / "soybean_tariff_2018.yaml").read_text()
    text = text.replace(
        "extends: baseline_calibrated.yaml", f"extends: {SCENARIOS / 'baseline_calibrated.yaml'}"
    )
    text = text.replace("rate: 0.25", "rate: 25")
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path, allow_outside=True)  # the parent lies outside tmp_path
    (problem,) = info.value.problems
    assert problem.file == str(path)
    assert problem.path == "shocks[0].rate"
    assert problem.line == text.splitlines().index("    rate: 25") + 1
    assert "less than or equal to 5" in problem.message and "25" in problem.message


def test_unknown_key_names_file_line_and_field(tmp_path):
    text = (SCENARIOS / "baseline.yaml").read_text().replace("  markup: 1.25", "  markupp: 1.25")
    path = write(tmp_path, text)
    with pytest.raises(ScenarioError) as info:
        load_scenario(path)
    (problem,) = info.value.problems
    assert problem.path == "parameters.markupp"
    assert problem.line == text.splitlines().index("  markupp: 1.25") + 1
    assert "unknown field" in problem.message
    assert str(problem).startswith(f"{path}:{problem.line}:3: parameters.markupp:")


def test_every_problem_is_reported_at_once():
    data = small_dict()
    data["parameters"] = {"markup": 0.5, "renewal_months": 0}
    data["seed"] = -1
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(data)
    paths = {p.path for p in info.value.problems}
    assert paths == {"parameters.markup", "parameters.renewal_months", "seed"}


@pytest.mark.parametrize(
    ("shock", "path", "fragment"),
    [
        (
            {"type": "tariff", "importer": "A", "origin": "Q", "rate": 0.1, "start": "2020-03"},
            "shocks[0].origin",
            "unknown region 'Q'",
        ),
        (
            {
                "type": "tariff",
                "importer": "A",
                "origin": "B",
                "rate": 0.1,
                "start": "2020-03",
                "sectors": ["steel"],
            },
            "shocks[0].sectors[0]",
            "unknown sector 'steel'",
        ),
        (
            {
                "type": "tariff",
                "importer": "A",
                "origin": "B",
                "rate": 0.1,
                "start": "2020-03",
                "end": "2020-02",
            },
            "shocks[0]",
            "is not after start",
        ),
        (
            {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.1, "start": "2030-01"},
            "shocks[0].start",
            "after the horizon ends",
        ),
        (
            {"type": "exchange_rate", "currency": "ZZZ", "change": 0.1, "start": "2020-03"},
            "shocks[0].currency",
            "unknown currency 'ZZZ'",
        ),
        (
            {"type": "blockade", "start": "2020-03"},
            "shocks[0]",
            "unknown shock type",
        ),
        (
            {"type": "demand", "region": "A", "start": "2020-03"},
            "shocks[0]",
            "exactly one of 'change' or 'path'",
        ),
        (
            {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.1, "start": "2020-13"},
            "shocks[0].start",
            "not a real date",
        ),
    ],
)
def test_bad_shocks_are_named(shock, path, fragment):
    with pytest.raises(ScenarioError) as info:
        scenario_from_dict(small_dict(shocks=[shock]))
    messages = [(p.path, p.message) for p in info.value.problems]
    assert any(p == path and fragment in m for p, m in messages), messages


def test_rates_accept_percent_strings():
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": "25%", "start": "2020-03"}
    s = scenario_from_dict(small_dict(shocks=[shock]))
    assert s.shocks[0].rate == pytest.approx(0.25)


def test_shares_must_sum_to_one():
    data = small_dict()
    data["economies"]["A"]["origin_shares"]["goods"]["A"] = 0.9
    with pytest.raises(
        ScenarioError, match=r"economies\.A\.origin_shares\.goods: origin shares must sum to 1"
    ):
        scenario_from_dict(data)


def test_yaml_syntax_error_has_line(tmp_path):
    path = write(tmp_path, "name: x\nstart: [2016-01\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:3:1: invalid YAML"):
        load_scenario(path)


def test_duplicate_key_is_an_error(tmp_path):
    path = write(tmp_path, "name: x\nname: y\n")
    with pytest.raises(ScenarioError, match=r"s\.yaml:2:1: name: duplicate key 'name'"):
        load_scenario(path)


@pytest.mark.parametrize("text", ["", "- a\n- b\n", "just text\n", "42\n"])
def test_non_mapping_documents_are_scenario_errors(tmp_path, text):
    with pytest.raises(ScenarioError):
        load_scenario(write(tmp_path, text))


def test_unreadable_file():
    with pytest.raises(ScenarioError, match="cannot read scenario"):
        load_scenario("/nonexistent/scenario.yaml")


def test_scenario_is_frozen():
    s = scenario_from_dict(small_dict())
    with pytest.raises(ValueError):
        s.name = "other"  # type: ignore[misc]
