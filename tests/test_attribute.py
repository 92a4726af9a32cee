"""Attribution by Shapley values, sweeps, sensitivity and compare across horizons."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from tradesim import ScenarioError, TradesimError, load_scenario, simulate
from tradesim.analysis import attribute as attribute_module
from tradesim.analysis import batch
from tradesim.analysis.attribute import attribute, base_scenario, shock_groups
from tradesim.analysis.outputs import evaluate_outputs, parse_outputs
from tradesim.analysis.runner import run_seed
from tradesim.analysis.sweep import design_points, sweep

from .test_cli import DATA, tradesim

THREE = DATA / "three_shocks.yaml"
OUTPUTS = ["trade:A-B", "trade:B-A", "welfare:A", "welfare:B", "welfare:world", "share:BBC"]


@pytest.fixture(scope="module")
def three():
    scenario = load_scenario(THREE)
    return scenario, base_scenario(THREE, scenario)


def test_base_keeps_inherited_shocks_only(three):
    scenario, base = three
    assert len(scenario.shocks) == 4 and len(base.shocks) == 1
    assert base.shocks[0] == scenario.shocks[0]
    groups = shock_groups(scenario.shocks[1:])
    assert groups == {"tariff on B": [0], "BBC weaker": [1], "energy cheaper": [2]}
    assert shock_groups(scenario.shocks[1:], by="type") == {
        "tariff": [0],
        "exchange_rate": [1],
        "world_price": [2],
    }
    with pytest.raises(TradesimError, match="in no group"):
        shock_groups(scenario.shocks[1:], groups={"a": [0, 1]})
    with pytest.raises(TradesimError, match="does not exist"):
        shock_groups(scenario.shocks[1:], groups={"a": [0, 1, 2, 3]})


def test_shapley_contributions_sum_to_the_total_effect(three, tmp_path):
    scenario, base = three
    groups = shock_groups(scenario.shocks[1:])
    result = attribute(
        scenario, base, groups=groups, outputs=OUTPUTS, runs=2, out=tmp_path, executor="serial"
    )
    assert result.exact
    gap = abs(result.contributions.sum("group") - result.total)
    scale = abs(result.total).max("group" if "group" in result.total.dims else "run")
    assert float((gap / np.maximum(scale, 1.0)).max()) < 1e-9
    # The total is the paired effect of all shocks, computed directly for run 1.
    seeded = [simulate(s, seed=run_seed(s, 1)).data for s in (base, scenario)]
    direct = evaluate_outputs(
        parse_outputs(OUTPUTS, scenario, paired=True), seeded[1], scenario, seeded[0]
    )
    for name, value in direct.items():
        assert float(result.total.sel(run=1, output=name)) == pytest.approx(value, rel=1e-9)
    # Each shock acts where it should: only the tariff moves trade before September 2020,
    # and the tariff is the largest cause of the fall in B's sales to A.
    shares = result.contributions.mean("run").sel(output="trade:B-A")
    assert float(shares.sel(group="tariff on B")) < 0
    table = result.table()
    assert set(table["group"]) == {*groups, "total"}
    assert "Largest gap" in result.to_text()


def test_sampled_orders_beyond_the_exact_limit_still_add_up(three, tmp_path, monkeypatch):
    scenario, base = three
    monkeypatch.setattr(attribute_module, "EXACT_GROUPS", 2)
    groups = shock_groups(scenario.shocks[1:])
    result = attribute(
        scenario,
        base,
        groups=groups,
        outputs=["welfare:world", "trade:A-B"],
        out=tmp_path,
        permutations=3,
        executor="serial",
    )
    assert not result.exact and result.permutations == 3
    np.testing.assert_allclose(
        result.contributions.sum("group").values, result.total.values, rtol=1e-9, atol=1e-3
    )


def test_attribution_resumes_without_recomputing(three, tmp_path, monkeypatch):
    scenario, base = three
    groups = shock_groups(scenario.shocks[1:], groups={"trade": [0], "prices": [1, 2]})
    kwargs = dict(groups=groups, outputs=["trade:B-A"], out=tmp_path, executor="serial")
    first = attribute(scenario, base, **kwargs)
    calls = []
    original = batch._task
    monkeypatch.setattr(batch, "_task", lambda *a: calls.append(a) or original(*a))
    second = attribute(scenario, base, **kwargs)
    assert calls == []
    np.testing.assert_array_equal(first.contributions.values, second.contributions.values)
    # A lost result file is computed again, alone.
    next(tmp_path.glob("points/*/run_00000.json")).unlink()
    attribute(scenario, base, **kwargs)
    assert len(calls) == 1 and len(calls[0][1]) == 1
    with pytest.raises(TradesimError, match="different study"):
        attribute(scenario, base, **{**kwargs, "outputs": ["trade:A-B"]})


def test_sweep_grid_is_a_tidy_table_and_resumes(tmp_path):
    assert design_points({"a": [1, 2], "b": [3, 4, 5]}) == [
        {"a": a, "b": b} for a in (1, 2) for b in (3, 4, 5)
    ]
    assert design_points({"a": [1, 2], "b": [3, 4]}, mode="list") == [
        {"a": 1, "b": 3},
        {"a": 2, "b": 4},
    ]
    with pytest.raises(TradesimError, match="as many values"):
        design_points({"a": [1, 2], "b": [3]}, mode="list")
    values = {"shocks.1.rate": ["0.0", "0.3"], "parameters.renewal_months": ["3", "9"]}
    table = sweep(THREE, values, outputs=["trade:B-A"], runs=2, out=tmp_path, executor="serial")
    assert len(table) == 8
    assert list(table.columns) == [
        "point",
        "shocks.1.rate",
        "parameters.renewal_months",
        "run",
        "trade:B-A",
    ]
    mean = table.groupby(["parameters.renewal_months", "shocks.1.rate"])["trade:B-A"].mean()
    assert (mean.xs(0.3, level=1) < mean.xs(0.0, level=1)).all()  # a higher tariff, less trade
    assert pd.read_csv(tmp_path / "sweep.csv").shape == (8, 5)
    again = sweep(THREE, values, outputs=["trade:B-A"], runs=2, out=tmp_path, executor="serial")
    pd.testing.assert_frame_equal(table, again)


def test_sensitivity_sobol_and_morris(tmp_path):
    pytest.importorskip("SALib")
    from tradesim.analysis.sensitivity import sensitivity

    ranges = {"shocks.0.rate": (0.0, 0.4), "parameters.productivity_dispersion": (0.1, 0.3)}
    result = sensitivity(
        DATA / "small.yaml",
        ranges,
        method="sobol",
        samples=8,
        outputs=["trade:B-A"],
        out=tmp_path / "sobol",
        executor="serial",
    )
    df = result.indices
    assert list(df["input"]) == list(ranges)
    assert {"S1", "S1_conf", "ST", "ST_conf"} <= set(df.columns)
    total = df.set_index("input")["ST"]
    # The tariff drives B's sales to A far more than firms' productivity spread.
    assert total["shocks.0.rate"] > 0.5 > total["parameters.productivity_dispersion"]
    df.loc[df.index[0], "S1_conf"] = 294.914  # few samples: a wide interval, still its column
    rows = [line for line in result.to_text().splitlines() if line.startswith(tuple(ranges))]
    assert rows and all(len(line.split()) == 5 for line in rows), rows
    written = result.write(tmp_path / "sobol")
    assert {p.name for p in written} == {"sensitivity.csv", "sensitivity.png"}
    morris = sensitivity(
        DATA / "small.yaml",
        ranges,
        method="morris",
        samples=3,
        outputs=["trade:B-A"],
        out=tmp_path / "morris",
        executor="serial",
    )
    mu = morris.indices.set_index("input")["mu_star"]
    assert mu["shocks.0.rate"] > mu["parameters.productivity_dispersion"]


def test_cli_attribute_and_bad_input(tmp_path):
    proc = tradesim(
        "attribute", str(THREE), "--out", str(tmp_path / "a"), "--executor", "serial",
        "--output", "trade:B-A", "--group", "tariff=0", "--group", "prices=1,2",
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    assert "Shapley values, exact" in proc.stdout and "prices" in proc.stdout
    assert (tmp_path / "a" / "attribution.csv").exists()
    for args, message in (
        (["--output", "trade:A-Z"], "trade:A-Z"),
        (["--group", "x=0,7"], "shock 7 does not exist"),
        (["--group", "total=0", "--group", "x=1,2"], "cannot be called 'total'"),
        (["--group", "a=0", "--group", "a=1,2"], "given twice"),
        (["--output", "share:XYZ"], "unknown currency"),
    ):
        code, _, err = _main(["attribute", str(THREE), "--out", str(tmp_path / "b"), *args])
        assert code == 2 and message in err and "Traceback" not in err


def _main(argv):
    """The command line in this process (faster than a subprocess): code, stdout, stderr."""
    import contextlib
    import io
    import warnings

    from tradesim.cli.main import main

    out, err = io.StringIO(), io.StringIO()
    with (
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
        warnings.catch_warnings(),
    ):
        warnings.simplefilter("error", FutureWarning)
        try:
            code = main(argv)
        except SystemExit as exc:  # argparse errors
            code = int(exc.code or 0)
    return code, out.getvalue(), err.getvalue()


def test_cli_sweep_and_sensitivity(tmp_path):
    code, _, err = _main(
        ["sweep", str(THREE), "--vary", "shocks.1.rate=0:0.2:2", "--output", "trade:B-A",
         "--executor", "serial", "--out", str(tmp_path / "s")]
    )  # fmt: skip
    assert code == 0, err
    rows = pd.read_csv(tmp_path / "s" / "sweep.csv")
    assert list(rows["shocks.1.rate"]) == [0.0, 0.2]
    spec = json.loads((tmp_path / "s" / "spec.json").read_text())
    assert spec["spec"]["kind"] == "sweep"
    code, _, err = _main(["sweep", str(THREE), "--vary", "shocks.1.rate"])
    assert code == 2 and "PATH=V1,V2" in err
    code, _, err = _main(["sensitivity", str(THREE), "--range", "parameters.markup=2:1"])
    assert code == 2 and "LOW < HIGH" in err


def test_compare_across_horizons_restricts_or_extends(tmp_path):
    longer = tmp_path / "longer.yaml"
    longer.write_text(
        f"extends: {DATA / 'small.yaml'}\nname: longer\nend: 2022-06\nshocks:\n"
        "  - {type: tariff, importer: A, origin: X, rate: 0.1, start: 2022-01}\n"
    )
    base = str(DATA / "small.yaml")
    code, out, err = _main(
        ["compare", base, str(longer), "--out", str(tmp_path / "c"), "--allow-outside"]
    )
    assert code == 0, err
    assert "compared over the common horizon 2020-01 to 2021-12" in out
    assert "nan" not in out.lower()
    assert "2022" not in out.split("Compare ")[1].split("Welfare")[0]
    code, out, err = _main(
        [
            "compare",
            base,
            str(longer),
            "--out",
            str(tmp_path / "c"),
            "--extend-base",
            "--force",
            "--allow-outside",
        ]
    )
    assert code == 0, err
    assert "extended to 2022-06" in out
    assert "2022" in out and "nan" not in out.lower()


def test_studies_refuse_a_folder_tradesim_did_not_write(tmp_path):
    """A sweep (like every resumable study) writes only into an empty folder or one it
    marked as its own, and never touches files it did not write."""
    precious = tmp_path / "mine" / "notes.txt"
    precious.parent.mkdir()
    precious.write_text("keep me")
    values = {"shocks.1.rate": ["0.0"]}
    with pytest.raises(TradesimError, match="not written by tradesim"):
        sweep(THREE, values, outputs=["trade:B-A"], runs=1, out=precious.parent)
    assert precious.read_text() == "keep me"
    assert sorted(p.name for p in precious.parent.iterdir()) == ["notes.txt"]
    sweep(THREE, values, outputs=["trade:B-A"], runs=1, out=tmp_path / "ok", executor="serial")
    assert (tmp_path / "ok" / ".tradesim-output").is_file()


def test_sweep_on_a_local_dask_cluster_matches_serial(tmp_path):
    """The studies' Dask path: the same points and seeds give the same table as serial."""
    values = {"shocks.1.rate": ["0.0", "0.3"]}
    serial = sweep(
        THREE, values, outputs=["trade:B-A"], runs=2, out=tmp_path / "s", executor="serial"
    )
    dask = sweep(
        THREE, values, outputs=["trade:B-A"], runs=2, out=tmp_path / "d", executor="dask", workers=2
    )
    pd.testing.assert_frame_equal(serial, dask)


def test_a_field_is_one_field_in_any_spelling(tmp_path, capsys):
    """shocks[0].rate and shocks.0.rate are one field: varied twice is refused (the later
    value silently replaced the earlier), and a sweep's base leaves shocks out in either
    spelling, --set included (adversarial findings)."""
    with pytest.raises(TradesimError, match="varied twice"):
        sweep(THREE, {"shocks.0.rate": ["0.1"], "shocks[0].rate": ["0.2"]}, out=tmp_path / "x")
    from tradesim.analysis.sensitivity import sensitivity

    with pytest.raises(TradesimError, match="ranged twice"):
        sensitivity(THREE, {"shocks.0.rate": (0, 0.5), "shocks[0].rate": (0, 0.5)}, out=tmp_path)
    code, _, err = _main(
        ["sweep", str(THREE), "--vary", "shocks.0.rate=0,0.1", "--vary", "shocks[0].rate=0.2"]
    )
    assert code == 2 and "varied twice" in err
    small = DATA / "small.yaml"
    tables = [
        sweep(THREE, {key: ["0.0", "0.5"]}, base=small, outputs=["trade:B-A"],
              out=tmp_path / str(k), executor="serial")[["trade:B-A"]]
        for k, key in enumerate(["shocks.0.rate", "shocks[0].rate"])
    ]  # fmt: skip
    pd.testing.assert_frame_equal(*tables)
    # --set shocks.2... is the scenario's: the base (with one shock) does not get it.
    sweep(THREE, {"parameters.renewal_months": ["6"]}, overrides=["shocks.2.change=0.5"],
          base=small, outputs=["trade:B-A"], out=tmp_path / "set", executor="serial")  # fmt: skip


def test_a_base_of_another_world_is_refused_before_any_run(tmp_path):
    """A base with other regions crashed in the outputs after every run (attribute) or was
    refused only after them (sweep); a study folder left with no result does not block the
    corrected command (adversarial findings)."""
    other = tmp_path / "other.yaml"
    other.write_text((DATA / "small.yaml").read_text().replace(" X:", " Y:").replace("X", "Y"))
    three = load_scenario(THREE)
    with pytest.raises(ScenarioError, match="cannot compare"):
        attribute(three, load_scenario(other), groups={"g": [0]}, out=tmp_path / "a")
    with pytest.raises(ScenarioError, match="cannot compare"):
        sweep(THREE, {"shocks.0.rate": ["0"]}, base=other, out=tmp_path / "s", executor="serial")
    assert not (tmp_path / "a").exists() and not (tmp_path / "s").exists()
    # A folder holding only the spec of a study that stopped before its first result.
    study = tmp_path / "study"
    values = {"parameters.renewal_months": ["6"]}
    sweep(THREE, values, outputs=["trade:B-A"], runs=1, out=study, executor="serial")
    for run in study.glob("points/*/run_*.json"):
        run.unlink()
    table = sweep(THREE, values, outputs=["trade:A-B"], runs=1, out=study, executor="serial")
    assert list(table.columns)[-1] == "trade:A-B"


def test_own_shocks_after_a_removed_parent_shock_or_a_list_of_parents(tmp_path):
    """A child that removes a parent's shock, or names its parents as a list: its own shocks
    are the ones it adds (counting the parents' shocks gave 1 for 2, and 2 for 1)."""
    from tradesim.analysis.attribute import own_shock_count

    (tmp_path / "small.yaml").write_text((DATA / "small.yaml").read_text())
    fx = "{id: fx, type: exchange_rate, currency: BBC, change: 0.2, start: 2020-09}"
    (tmp_path / "parent.yaml").write_text(f"extends: small.yaml\nshocks:\n  - {fx}\n")
    cheaper = "{type: world_price, sector: energy, change: -0.3, start: 2021-01}"
    tariff = "{type: tariff, importer: B, origin: A, rate: 0.3, start: 2020-07}"
    cases = {
        "removes.yaml": ("parent.yaml", f"  - {{id: fx, remove: true}}\n  - {cheaper}\n", 1),
        "removes2.yaml": (
            "parent.yaml",
            f"  - {{id: fx, remove: true}}\n  - {cheaper}\n  - {tariff}\n",
            2,
        ),
        "list.yaml": ("[parent.yaml]", f"  - {cheaper}\n", 1),
    }
    for name, (parents, shocks, own) in cases.items():
        path = tmp_path / name
        path.write_text(f"extends: {parents}\nname: {name[:-5]}\nshocks:\n{shocks}")
        assert own_shock_count(path, load_scenario(path)) == own, name


def test_sweep_arguments_are_checked_at_the_entry(tmp_path):
    """Python API misuse gets an error naming the argument, not a crash deep inside or a
    silently different study (adversarial findings)."""
    out = tmp_path / "x"
    with pytest.raises(TypeError, match="must be a list"):
        sweep(THREE, {"shocks.0.rate": 0.5}, out=out)  # type: ignore[dict-item]
    with pytest.raises(TypeError, match="must be a list"):
        sweep(THREE, {"shocks.0.rate": "0.5"}, out=out)  # split into characters before
    with pytest.raises(TypeError, match="outputs must be a list"):
        sweep(THREE, {"shocks.0.rate": [0.5]}, outputs="trade:A-B", out=out)  # type: ignore[arg-type]
    for runs in (True, 2.5):
        with pytest.raises(TypeError, match="runs must be a whole number"):
            sweep(THREE, {"shocks.0.rate": [0.5]}, runs=runs, out=out)  # type: ignore[arg-type]
    from tradesim.analysis.sweep import _variant

    point = _variant(THREE, [], {"shocks.0.name": None}, allow_outside=False)
    assert point.shocks[0].name is None  # YAML null, not the text 'None'
