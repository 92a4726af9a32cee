"""The adversarial findings of issue 15, one case each, tried as a hostile user would.

Every case goes through the real CLI entry point (`tradesim.cli.main`, in-process, so that
a failure can be injected) or the public API, on the small fixture scenario. Each failed
on the code before the fix: files lost to `--force`, files read or written outside their
folders, tracebacks on bad input, and silently wrong numbers. A few representative cases
that passed then are kept here so that they stay passing.
"""

from __future__ import annotations

import copy
import errno
import json
import os
import shutil
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest
import xarray as xr
import yaml

import tradesim
from tradesim import ScenarioError, TradesimError, scenario_from_dict
from tradesim.cli import main
from tradesim.scenario import load_scenario, scenario_from_yaml

from .factories import small, small_dict

DATA = Path(__file__).parent / "data"
BIN = Path(sys.executable).parent


# ----------------------------------------------------------------------------- helpers


@pytest.fixture
def here(tmp_path, monkeypatch):
    """A fresh working folder holding the small fixture as small.yaml."""
    monkeypatch.chdir(tmp_path)
    shutil.copy(DATA / "small.yaml", tmp_path / "small.yaml")
    return tmp_path


def cli(capsys, *args: str) -> tuple[int, str, str]:
    """Run `tradesim ARGS` in this process: exit code, stdout, stderr."""
    code = main([str(a) for a in args])
    out, err = capsys.readouterr()
    return code, out, err


def write_yaml(path: Path, data: Any) -> Path:
    path.write_text(yaml.safe_dump(data, sort_keys=False))
    return path


def variant(here: Path, file: str, **changes: Any) -> Path:
    """small.yaml with top-level fields changed, written as FILE.yaml."""
    data = yaml.safe_load((here / "small.yaml").read_text())
    data.update(changes)
    return write_yaml(here / f"{file}.yaml", data)


def tree(folder: Path) -> dict[str, bytes]:
    """Every file under `folder` with its bytes: to show that nothing changed."""
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def renamed(data: Any, old: str, new: str) -> Any:
    """`data` with every key and string value equal to `old` replaced by `new`."""
    if isinstance(data, dict):
        return {(new if k == old else k): renamed(v, old, new) for k, v in data.items()}
    if isinstance(data, list):
        return [renamed(v, old, new) for v in data]
    return new if data == old else data


# ----------------------------------------------------------------------------- data loss


def test_force_refuses_the_current_folder(here, capsys):
    (here / "notes.txt").write_text("mine")
    (here / "sub").mkdir()
    before = tree(here)
    code, _, err = cli(capsys, "run", "small.yaml", "--out", ".", "--force")
    assert code == 2 and "current folder" in err
    assert tree(here) == before


def test_force_refuses_a_folder_holding_the_input(here, capsys):
    (here / "inputs").mkdir()
    shutil.copy(here / "small.yaml", here / "inputs" / "s.yaml")
    code, _, err = cli(capsys, "run", "inputs/s.yaml", "--out", "inputs", "--force")
    assert code == 2 and "holds an input" in err
    assert (here / "inputs" / "s.yaml").read_bytes() == (here / "small.yaml").read_bytes()


def test_force_refuses_a_folder_tradesim_did_not_write(here, capsys):
    (here / "mine").mkdir()
    (here / "mine" / "thesis.tex").write_text("years of work")
    code, _, err = cli(capsys, "run", "small.yaml", "--out", "mine", "--force")
    assert code == 2 and "not a tradesim output folder" in err
    assert (here / "mine" / "thesis.tex").read_text() == "years of work"


def test_force_keeps_files_added_to_an_output_folder(here, capsys):
    pytest.importorskip("matplotlib")
    assert cli(capsys, "run", "small.yaml", "--out", "res", "--quiet")[0] == 0
    assert cli(capsys, "plot", "res")[0] == 0  # figures written later are tradesim's too
    assert cli(capsys, "run", "small.yaml", "--out", "res", "--force", "--quiet")[0] == 0
    (here / "res" / "my_notes.txt").write_text("mine")
    code, _, err = cli(capsys, "run", "small.yaml", "--out", "res", "--force")
    assert code == 2 and "my_notes.txt" in err and "did not write" in err
    assert (here / "res" / "my_notes.txt").read_text() == "mine"


def test_empty_name_is_refused_and_other_outputs_survive(here, capsys):
    assert cli(capsys, "run", "small.yaml", "--quiet")[0] == 0
    before = tree(here / "out")
    variant(here, "noname", name="")
    code, _, err = cli(capsys, "run", "noname.yaml", "--force")
    assert code == 2 and "cannot name an output folder" in err
    assert tree(here / "out") == before


def test_names_in_any_script_name_their_folder(here, capsys):
    variant(here, "ru_cn", name="Россия–中国 2018")
    assert cli(capsys, "run", "ru_cn.yaml", "--quiet")[0] == 0
    assert (here / "out" / "Россия_中国_2018" / "result.nc").is_file()
    variant(here, "ships", name="🚢 ⚓")  # no letter or digit left: refused, as an empty name
    code, _, err = cli(capsys, "run", "ships.yaml")
    assert code == 2 and "cannot name an output folder" in err


@pytest.mark.parametrize("failure", ["check", "disk full"])
def test_a_failed_forced_run_keeps_the_previous_output(here, capsys, monkeypatch, failure):
    assert cli(capsys, "run", "small.yaml", "--out", "res")[0] == 0
    before = tree(here / "res")
    if failure == "check":
        from tradesim.analysis import simulate as module

        def broken(*args: Any, **kw: Any) -> Any:
            raise tradesim.SimulationError("accounting identity broken in month 3")

        monkeypatch.setattr(module, "run_engine", broken)
    else:
        from tradesim.io import results

        real = results.atomic_write

        def full(path: Path, write: Any) -> None:
            if path.name == "flows.csv":
                raise OSError(errno.ENOSPC, "No space left on device")
            real(path, write)

        monkeypatch.setattr(results, "atomic_write", full)
    code, _, err = cli(capsys, "run", "small.yaml", "--out", "res", "--force", "--check")
    assert code == 2, err
    assert tree(here / "res") == before
    assert [p.name for p in here.iterdir() if p.name.startswith(".res")] == []


def test_two_scenarios_with_one_name_are_refused(here, capsys):
    shutil.copy(here / "small.yaml", here / "copy.yaml")
    code, _, err = cli(capsys, "run", "small.yaml", "copy.yaml", "--out", "both", "--force")
    assert code == 2 and "same output folder" in err
    assert not (here / "both").exists()


def test_interrupted_forced_ensemble_keeps_the_old_one(here, capsys, monkeypatch):
    from tradesim.analysis import runner

    args = ["run", "small.yaml", "--runs", "4", "--executor", "serial", "--quiet", "--out", "e"]
    assert cli(capsys, *args)[0] == 0
    before = tree(here / "e")
    real = runner._simulate_run
    calls: list[int] = []

    def interrupted(scenario: Any, index: int, check: bool = False) -> Any:
        calls.append(index)
        if len(calls) > 2:
            raise KeyboardInterrupt
        return real(scenario, index, check)

    monkeypatch.setattr(runner, "_simulate_run", interrupted)
    changed = [*args, "--force", "--set", "parameters.markup=1.3"]
    code, _, err = cli(capsys, *changed)
    assert code == 130 and "earlier outputs are unchanged" in err
    assert tree(here / "e") == before  # the old ensemble, untouched
    monkeypatch.setattr(runner, "_simulate_run", real)
    code, out, _ = cli(capsys, *changed)
    assert code == 0 and "2 runs were found" in out  # the new one resumed, then swapped in
    manifest = json.loads((here / "e" / "manifest.json").read_text())
    assert manifest["overrides"] == ["parameters.markup=1.3"]
    assert manifest["scenario"]["parameters"]["markup"] == 1.3
    assert not (here / ".e.partial").exists()


def test_schema_and_plot_do_not_overwrite_without_force(here, capsys):
    (here / "schema.json").write_text("mine")
    code, _, err = cli(capsys, "schema", "--out", "schema.json")
    assert code == 2 and "use --force" in err and (here / "schema.json").read_text() == "mine"
    assert cli(capsys, "schema", "--out", "schema.json", "--force")[0] == 0
    assert json.loads((here / "schema.json").read_text())["title"] == "Scenario"
    pytest.importorskip("matplotlib")
    assert cli(capsys, "run", "small.yaml", "--out", "res", "--quiet")[0] == 0
    (here / "res" / "bilateral.png").write_bytes(b"my figure")
    code, _, err = cli(capsys, "plot", "res")
    assert code == 2 and "use --force" in err
    assert (here / "res" / "bilateral.png").read_bytes() == b"my figure"


def test_outputs_get_the_users_umask_and_record_overrides(here, capsys):
    old = os.umask(0o022)
    try:
        code, _, _ = cli(capsys, "run", "small.yaml", "--out", "res", "--set", "seed=3")
    finally:
        os.umask(old)
    assert code == 0
    for path in [here / "res", *(here / "res").iterdir()]:
        mode = stat.S_IMODE(path.stat().st_mode)
        assert mode == (0o755 if path.is_dir() else 0o644), (path, oct(mode))
    assert json.loads((here / "res" / "manifest.json").read_text())["overrides"] == ["seed=3"]


def test_compare_writes_a_manifest_with_overrides(here, capsys):
    shutil.copy(DATA / "higher_tariff.yaml", here / "higher_tariff.yaml")
    code, _, err = cli(
        capsys, "compare", "small.yaml", "higher_tariff.yaml", "--out", "cmp", "--set", "seed=4"
    )
    assert code == 0, err
    info = json.loads((here / "cmp" / "higher_tariff" / "manifest.json").read_text())
    assert info["overrides"] == ["seed=4"] and info["seed"] == 4
    assert info["comparison"] == {"base": "small", "alternative": "higher_tariff"}
    assert {Path(f["path"]).name for f in info["data_files"]} == {
        "small.yaml",
        "higher_tariff.yaml",
    }


def test_forced_rerun_of_own_output_and_resume_still_work(here, capsys):
    """Passing before and after: --force replaces tradesim's own output; ensembles resume."""
    assert cli(capsys, "run", "small.yaml", "--out", "res")[0] == 0
    assert cli(capsys, "run", "small.yaml", "--out", "res", "--force")[0] == 0
    args = ["run", "small.yaml", "--runs", "2", "--executor", "serial", "--out", "e", "--quiet"]
    assert cli(capsys, *args)[0] == 0
    code, out, _ = cli(capsys, *args)
    assert code == 0 and "2 runs were found" in out


# ----------------------------------------------------------------------------- security


@pytest.mark.parametrize("name", ["../../victim", "/tmp/../victim", "a/../../victim", ".."])
def test_names_cannot_escape_the_output_folder(here, capsys, name):
    victim = here.parent / "victim"
    victim.mkdir(exist_ok=True)
    (victim / "keep.txt").write_text("mine")
    work = here / "w"
    work.mkdir()
    shutil.copy(here / "small.yaml", work / "small.yaml")
    os.chdir(work)
    variant(work, "evil", name=name)
    code, _, err = cli(capsys, "run", "evil.yaml", "--force", "--quiet")
    assert code in (0, 2), err
    assert (victim / "keep.txt").read_text() == "mine" and len(list(victim.iterdir())) == 1
    if code == 0:
        written = [p for p in (work / "out").iterdir()]
        assert len(written) == 1 and (written[0] / "result.nc").exists()
        assert written[0].parent == work / "out"


@pytest.mark.parametrize(
    "ref", ["/etc/passwd", "../../../../../../etc/passwd", "../outside/parent.yaml"]
)
def test_extends_is_confined_to_the_scenario_folder(here, capsys, ref):
    (here / "outside").mkdir()
    shutil.copy(here / "small.yaml", here / "outside" / "parent.yaml")
    (here / "mine").mkdir()
    child = here / "mine" / "child.yaml"
    child.write_text(f"extends: {ref}\nname: child\n")
    code, _, err = cli(capsys, "validate", child)
    assert code == 2 and "outside the scenario's folder" in err and "--allow-outside" in err
    with pytest.raises(ScenarioError, match="outside"):
        load_scenario(child)


def test_allow_outside_lets_a_trusted_parent_in(here, capsys):
    (here / "mine").mkdir()
    child = here / "mine" / "child.yaml"
    child.write_text("extends: ../small.yaml\nname: child\n")
    assert cli(capsys, "validate", child, "--allow-outside")[0] == 0
    assert load_scenario(child, allow_outside=True).name == "child"
    (here / "mine" / "deeper").mkdir()
    shutil.copy(here / "small.yaml", here / "mine" / "deeper" / "p.yaml")
    child.write_text("extends: deeper/p.yaml\nname: child\n")  # inside the tree: fine
    assert cli(capsys, "validate", child)[0] == 0


def test_csv_cells_cannot_run_as_formulas(tmp_path):
    data = small_dict()
    for old, new in (("X", "=HYPERLINK(1)"), ("goods", "+goods"), ("BBC", "@BBC")):
        data = renamed(data, old, new)
    data = renamed(data, "A", "-A")
    scenario = scenario_from_dict(data)
    tradesim.write_outputs(tradesim.simulate(scenario), tmp_path / "one")
    ens = tradesim.run_ensemble(scenario, runs=1, out=tmp_path / "many", executor="serial")
    ens.write_outputs()
    files = [*(tmp_path / "one").glob("*.csv"), *(tmp_path / "many").glob("*.csv")]
    # 5 tables of a run (flows, annual_bilateral, currency_shares, currency_shares_by_direction,
    # commodities), 3 of an ensemble (with currency shares)
    assert len(files) == 8
    for path in files:
        for line in path.read_text().splitlines()[1:]:
            for cell in line.split(","):
                assert not cell.startswith(("=", "+", "@", "-A")), (path.name, cell)
    assert "'-A" in (tmp_path / "one" / "annual_bilateral.csv").read_text()


def test_csv_neutralisation_keeps_every_kind_of_cell(tmp_path):
    """Cells of any kind go through: a dict (a sweep's year-path value), None, numbers, a
    categorical column; risky names are quoted wherever they are."""
    import pandas as pd

    from tradesim.io.outputs import neutralize_cells

    table = pd.DataFrame(
        {
            "value": [{"2020": 1.0}, "=cmd", None, 3],
            "region": pd.Categorical(["A", "+B", "A", "A"]),
            "safe": pd.Categorical(["A", "B", "A", "B"]),
            "name": ["A", "B", "@C", "A"],
        }
    )
    out = neutralize_cells(table)
    assert out["value"].tolist() == [{"2020": 1.0}, "'=cmd", None, 3]
    assert out["region"].tolist() == ["A", "'+B", "A", "A"]
    assert out["safe"].tolist() == ["A", "B", "A", "B"]
    assert out["name"].tolist() == ["A", "B", "'@C", "A"]
    assert table["name"].tolist() == ["A", "B", "@C", "A"]  # the caller's table is untouched


def test_a_sweep_over_year_paths_writes_its_table(tmp_path, capsys):
    from tradesim.analysis.sweep import sweep

    path = tmp_path / "small.yaml"
    path.write_text(yaml.safe_dump(small_dict()))
    paths = [{"2020": 1.0, "2021": 1.05}, {"2020": 1.0, "2021": 1.2}]
    table = sweep(
        path, {"economies.A.demand": paths}, runs=1, out=tmp_path / "sw", executor="serial"
    )
    assert len(table) == 2
    assert (tmp_path / "sw" / "sweep.csv").exists()
    vary = "economies.A.demand={2020: 1.0, 2021: 1.05},{2020: 1.0, 2021: 1.2}"
    code, out, err = cli(
        capsys, "sweep", path, "--vary", vary, "--runs", "1", "--executor", "serial",
        "--out", tmp_path / "cli", "--quiet",
    )  # fmt: skip
    assert code == 0, err
    assert "{2020: 1.0, 2021: 1.2}" in out and "Wrote sweep.csv (2 rows" in out


def billion_laughs(levels: int) -> str:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x]"]
    for i in range(1, levels + 1):
        lines.append(f"a{i}: &a{i} [" + ", ".join([f"*a{i - 1}"] * 9) + "]")
    return "\n".join(lines) + "\n"


@pytest.mark.parametrize("levels", [7, 9])
def test_billion_laughs_is_refused_quickly(levels):
    t0 = time.perf_counter()
    with pytest.raises(ScenarioError, match="expands to more than"):
        scenario_from_yaml(billion_laughs(levels))
    assert time.perf_counter() - t0 < 5


def test_too_many_aliases_and_a_huge_input_are_refused(here, capsys):
    text = "a: &a 1\nb: [" + ", ".join(["*a"] * 1500) + "]\n"
    with pytest.raises(ScenarioError, match="too many YAML aliases"):
        scenario_from_yaml(text)
    (here / "big.yaml").write_text("# " + "x" * (5 * 2**20) + "\n")
    code, _, err = cli(capsys, "validate", "big.yaml")
    assert code == 2 and "larger than" in err
    code, _, err = cli(capsys, "validate", "/dev/zero")
    assert code == 2 and "larger than" in err


def test_a_few_anchors_are_still_fine():
    data = small_dict()
    text = yaml.safe_dump(data)
    text = text.replace("  goods:\n    elasticity: 4.0", "  goods: &g\n    elasticity: 4.0", 1)
    assert scenario_from_yaml(text).name == "small"


@pytest.mark.parametrize(
    "text",
    [
        "name: !!python/object:os.system {}\n",
        "name: x\nparameters: !custom {markup: 2}\n",
        "name: !!binary aGVsbG8=\n",
        "name: x\nshocks: !!set {a}\n",
        "base: &b {seed: 1}\nname: x\nother:\n  <<: *b\n",
    ],
)
def test_yaml_tags_are_refused(text):
    with pytest.raises(ScenarioError, match="not allowed"):
        scenario_from_yaml(text)


def test_yaml_tags_are_refused_in_overrides(here, capsys):
    code, _, err = cli(capsys, "validate", "small.yaml", "--set", "parameters=!!python/object:x {}")
    assert code == 2 and "not allowed" in err


def test_report_escapes_names_and_mathtext(here, capsys):
    pytest.importorskip("matplotlib")
    variant(here, "evil", name="$\\undefined{x}$ <script>alert(1)</script>", description="<b>")
    shutil.copy(DATA / "higher_tariff.yaml", here / "higher_tariff.yaml")
    args = ["evil.yaml", "higher_tariff.yaml", "--out", "r.html"]  # the base names the figures
    code, _, err = cli(capsys, "report", *args)
    assert code == 0, err
    text = (here / "r.html").read_text()
    assert "<script>" not in text and "&lt;script&gt;" in text and "<b>" not in text


# ----------------------------------------------------------------------------- crashes


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--set", "start=2022-02-30"], "start: '2022-02-30' is not a real date"),
        (["--set", "end=2018-00-10"], "end: '2018-00-10' is not a real date"),
        (
            ["--set", "shocks.0.start=2021-02-30"],
            "shocks[0].start: '2021-02-30' is not a real date",
        ),
        (["--set", "end=9999-12"], "outside the years"),
        (["--set", "start=1000-01"], "outside the years"),
    ],
)
def test_impossible_dates_are_clear_errors(here, capsys, args, expected):
    code, _, err = cli(capsys, "validate", "small.yaml", *args)
    assert code == 2 and expected in err and "Traceback" not in err


def test_impossible_dates_in_a_file_and_in_the_api(here, capsys):
    text = (here / "small.yaml").read_text().replace("start: 2020-01", "start: 2022-02-30")
    (here / "bad.yaml").write_text(text)
    code, _, err = cli(capsys, "validate", "bad.yaml")
    assert code == 2 and "bad.yaml:3:1: start: '2022-02-30' is not a real date" in err
    with pytest.raises(ScenarioError, match="not a real date"):
        scenario_from_yaml(text)
    code, out, _ = cli(capsys, "validate", "small.yaml", "--set", "name=2018-02-30")
    assert code == 0 and "ok:" in out  # a name may look like a date


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["--quantiles", "0.1,0.1"], "distinct"),
        (["--scheduler", "tcp://127.0.0.1", "--executor", "dask"], "with the port"),
        (["--seed", str(10**32)], "below 2**63"),
    ],
)
def test_bad_run_options_are_usage_errors(here, capsys, args, expected):
    t0 = time.perf_counter()
    with pytest.raises(SystemExit) as exit_:
        main(["run", "small.yaml", "--runs", "2", *args])
    assert exit_.value.code == 2 and expected in capsys.readouterr().err
    assert time.perf_counter() - t0 < 5


def test_an_empty_run_file_with_a_matching_checksum_is_recomputed(tmp_path):
    import hashlib

    first = tradesim.run_ensemble(small(), runs=2, out=tmp_path, executor="serial")
    expected = first.run(1)
    path = first.run_paths[1]
    path.write_bytes(b"")
    Path(f"{path}.sha256").write_text(hashlib.sha256(b"").hexdigest() + "\n")
    again = tradesim.run_ensemble(small(), runs=2, out=tmp_path, executor="serial")
    assert again.computed == 1
    xr.testing.assert_identical(again.run(1), expected)


def test_plot_of_a_corrupt_result_is_a_clear_error(here, capsys):
    pytest.importorskip("matplotlib")
    assert cli(capsys, "run", "small.yaml", "--out", "res", "--quiet")[0] == 0
    (here / "res" / "result.nc").write_bytes(b"CDF\x01 garbage")
    code, _, err = cli(capsys, "plot", "res", "--force")
    assert code == 2 and "cannot make figures" in err and "Traceback" not in err


def test_calibrate_input_errors(here, capsys):
    (here / "obs.csv").write_text("year,origin,destination,value_usd_bn\n2020,A,B,10\n2021,A\n")
    code, _, err = cli(
        capsys, "calibrate", "small.yaml", "--observed", "obs.csv", "--out", "c.yaml"
    )
    assert code == 2 and "obs.csv:3: the row has 2 fields" in err
    (here / "obs.csv").write_text(
        "year,origin,destination,value_usd_bn\n2020,A,B,30\n2021,A,B,30\n"
    )
    args = ["calibrate", "small.yaml", "--observed", "obs.csv", "--out", "c.yaml"]
    code, _, err = cli(capsys, *args, "--holdout", "2030")
    assert code == 2 and "holdout year 2030 is not an observed year" in err
    code, _, err = cli(capsys, *args[:-1], "small.yaml", "--force")
    assert code == 2 and "is an input" in err


def test_memory_is_estimated_before_a_run(here, capsys, monkeypatch):
    from tradesim.analysis import memory

    huge = small(population={"buyers_per_sector": 10_000_000})
    assert memory.estimate_run_bytes(huge) > 4 * 2**30  # 40 million buyers
    monkeypatch.setattr(memory, "machine_bytes", lambda: 4 * 2**30)  # a 4 GiB machine
    population = "population.buyers_per_sector=10000000"
    t0 = time.perf_counter()
    code, _, err = cli(capsys, "run", "small.yaml", "--set", population, "--out", "big")
    assert code == 2 and "GiB of memory" in err and "--no-memory-check" in err
    assert time.perf_counter() - t0 < 5 and not (here / "big").exists()
    monkeypatch.setattr(memory, "machine_bytes", lambda: 1000)  # a tiny machine
    code, _, err = cli(capsys, "run", "small.yaml", "--out", "res")
    assert code == 2 and "GiB of memory" in err and not (here / "res").exists()
    code, _, err = cli(capsys, "run", "small.yaml", "--out", "res", "--no-memory-check")
    assert code == 0, err


def test_compare_of_different_worlds_is_refused(here, capsys):
    data = yaml.safe_load((here / "small.yaml").read_text())
    data = renamed(data, "goods", "machinery")
    data["name"] = "other"
    write_yaml(here / "other.yaml", data)
    code, _, err = cli(capsys, "compare", "small.yaml", "other.yaml", "--out", "cmp")
    assert code == 2 and "sectors differ" in err and not (here / "cmp").exists()
    with pytest.raises(ScenarioError, match="sectors differ"):
        tradesim.compare(small(), scenario_from_dict(data), runs=1, out=here / "api")


# ----------------------------------------------------------------------------- silently wrong


def _with(path: tuple[Any, ...], value: Any) -> dict[str, Any]:
    data = small_dict()
    node = data
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "expected"),
    [
        (("currencies", "BBC", "per_usd"), 0, "greater than 0"),
        (("currencies", "BBC", "per_usd"), -60, "greater than 0"),
        (("currencies", "BBC", "per_usd"), 1e300, "less than or equal"),
        (("sectors", "goods", "world_price"), 0, "greater than 0"),
        (("economies", "A", "demand"), -1, "greater than 0"),
        (("economies", "A", "absorption_usd_bn", "goods"), 1e308, "less than or equal"),
        (("currencies", "AAC", "per_usd"), {"2020": 5.0, "2020-03": 6.0}, "not both"),
        (("seed",), True, "valid integer"),
    ],
)
def test_impossible_values_are_refused(path, value, expected):
    with pytest.raises(ScenarioError, match=expected):
        scenario_from_dict(_with(path, value))


def test_mixed_path_keys_are_refused_through_extends_too(here, capsys):
    (here / "child.yaml").write_text(
        "extends: small.yaml\nname: child\ncurrencies:\n  AAC:\n    per_usd: {2020-03: 9.0}\n"
    )
    code, _, err = cli(capsys, "validate", "child.yaml")
    assert code == 2 and "currencies.AAC.per_usd" in err and "not both" in err


def test_monthly_keys_are_sorted_as_dates():
    """Passing before and after (keys of one kind sort as dates); kept as a guard."""
    data = _with(("currencies", "AAC", "per_usd"), {"2021-01": 6.0, "2020-03": 5.0})
    per_usd = scenario_from_dict(data).currencies["AAC"].per_usd
    assert isinstance(per_usd, dict) and list(per_usd) == ["2020-03", "2021-01"]


def test_shocks_before_the_horizon_and_stacked_tariffs_are_refused():
    early = {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.1}
    early.update(start="2018-01", end="2019-06")
    with pytest.raises(ScenarioError, match="before the horizon starts"):
        scenario_from_dict(small_dict(shocks=[early]))
    big = {"type": "tariff", "importer": "A", "origin": "B", "rate": 5, "start": "2020-06"}
    with pytest.raises(ScenarioError, match="add up to 10"):
        scenario_from_dict(small_dict(shocks=[big, big]))
    later = dict(big, start="2021-01")
    ok = dict(big, end="2021-01")
    assert len(scenario_from_dict(small_dict(shocks=[ok, later])).shocks) == 2  # in turn: fine


def test_resume_refuses_runs_of_another_scenario(tmp_path):
    tradesim.run_ensemble(small(), runs=2, out=tmp_path / "a", executor="serial")
    tradesim.run_ensemble(small(seed=8), runs=2, out=tmp_path / "b", executor="serial")
    for suffix in ("", ".sha256"):
        shutil.copy(
            tmp_path / "b" / "runs" / f"run_00001.nc{suffix}",
            tmp_path / "a" / "runs" / f"run_00001.nc{suffix}",
        )
    with pytest.raises(TradesimError, match="run of another scenario"):
        tradesim.run_ensemble(small(), runs=2, out=tmp_path / "a", executor="serial")


def test_an_ensemble_folder_has_one_owner(tmp_path):
    from tradesim.io.outputs import FolderLock

    with FolderLock(tmp_path / "e"):
        with pytest.raises(TradesimError, match="another tradesim process"):
            tradesim.run_ensemble(small(), runs=1, out=tmp_path / "e", executor="serial")
    assert tradesim.run_ensemble(small(), runs=1, out=tmp_path / "e", executor="serial").runs == 1


# ----------------------------------------------------------------------------- other


def test_api_arguments_are_checked_at_the_entry(tmp_path):
    for bad in ("file.yaml", Path("file.yaml"), {"name": "x"}, None):
        with pytest.raises(TypeError, match=r"scenario must be a tradesim\.Scenario"):
            tradesim.simulate(bad)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="seed"):
        tradesim.simulate(small(), seed=True)  # type: ignore[arg-type]
    appended = small()
    appended.shocks.append("a tariff")  # type: ignore[arg-type]
    with pytest.raises(ScenarioError, match=r"shocks\[0\]"):
        tradesim.simulate(appended)
    backwards = small().model_copy(update={"end": small().start.replace(year=2019)})
    with pytest.raises(ScenarioError, match="before start"):
        tradesim.simulate(backwards)
    with pytest.raises(ValueError, match="workers must be at least 1"):
        tradesim.run_ensemble(small(), runs=1, out=tmp_path, workers=0)
    with pytest.raises(TypeError, match="runs must be a whole number"):
        tradesim.run_ensemble(small(), runs=2.5, out=tmp_path)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="distinct"):
        tradesim.run_ensemble(small(), runs=2, out=tmp_path, quantiles=(0.1, 0.1))
    with pytest.raises(TypeError, match="path must be a file path"):
        load_scenario(None)  # type: ignore[arg-type]
    with pytest.raises(TypeError, match="scenario must be"):
        tradesim.calibrate("baseline.yaml")  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="replications must be at least 1"):
        tradesim.calibrate(small(), replications=0)
    with pytest.raises(TypeError, match="result must be a SimulationResult"):
        tradesim.write_outputs(small(), tmp_path / "w")  # type: ignore[arg-type]


def test_new_writes_a_template_that_validates_for_any_parent(here, capsys):
    code, _, err = cli(capsys, "new", "mine", "--extends", "small.yaml", "--dir", ".")
    assert code == 0, err
    assert 'importer: "A"' in (here / "mine.yaml").read_text()
    assert cli(capsys, "validate", "mine.yaml")[0] == 0
    code, _, err = cli(capsys, "new", "small", "--extends", "small.yaml", "--dir", ".", "--force")
    assert code == 2 and "is an input" in err


def _children(pid: int) -> list[int]:
    out = []
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                out.append(int(entry.name))
    return out


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return False
    return state != "Z"


@pytest.mark.skipif(sys.platform != "linux", reason="PR_SET_PDEATHSIG is Linux's")
def test_workers_end_with_a_killed_parent(tmp_path):
    args = ["run", str(DATA / "ensemble.yaml"), "--runs", "40", "--workers", "2", "--quiet"]
    victim = subprocess.Popen([str(BIN / "tradesim"), *args, "--out", str(tmp_path / "e")])
    deadline = time.monotonic() + 60
    workers: list[int] = []
    while len(workers) < 2 and time.monotonic() < deadline:
        time.sleep(0.1)
        workers = _children(victim.pid)
    assert len(workers) >= 2, "the ensemble should have started its workers"
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    deadline = time.monotonic() + 10
    while any(_alive(p) for p in workers) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not any(_alive(p) for p in workers)


def test_quiet_silences_dask(tmp_path):
    pytest.importorskip("distributed")
    args = ["run", str(DATA / "small.yaml"), "--runs", "2", "--executor", "dask", "--workers"]
    proc = subprocess.run(
        [str(BIN / "tradesim"), *args, "1", "--quiet", "--out", str(tmp_path / "d")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 0, proc.stderr
    assert proc.stderr == ""


def test_valid_scenarios_still_run(here, capsys):
    """Representative of the cases that passed: a valid file, quoted dates, percentages."""
    data = copy.deepcopy(yaml.safe_load((here / "small.yaml").read_text()))
    data["shocks"] = [
        {"type": "tariff", "importer": "A", "origin": "B", "rate": "25%", "start": "2020-07-15"}
    ]
    write_yaml(here / "ok.yaml", data)
    code, out, err = cli(capsys, "run", "ok.yaml", "--out", "res", "--quiet")
    assert code == 0, err and "A -> B" in out


def test_output_formats_that_cannot_be_honoured_are_refused_before_running(here, capsys):
    """--plot without result.nc, and a format an ensemble does not write, are refused before
    any run is computed (they were refused, or ignored, after)."""
    code, _, err = cli(capsys, "run", "small.yaml", "--format", "parquet", "--plot", "--out", "a")
    assert code == 2 and "add netcdf to --format" in err
    code, _, err = cli(
        capsys, "run", "small.yaml", "--runs", "2", "--format", "parquet", "--out", "b"
    )
    assert code == 2 and "applies to a single run" in err
    assert not (here / "a").exists() and not (here / "b").exists()
    code, _, err = cli(
        capsys, "run", "small.yaml", "--runs", "2", "--format", "csv,netcdf", "--executor",
        "serial", "--out", "c", "--quiet",
    )  # fmt: skip
    assert code == 0, err


def test_study_commands_keep_their_default_folder_inside_out(here, capsys):
    """sweep, attribute and sensitivity name their default folder from the scenario's name
    through `output_name`, like run: '../../escaped' wrote outside out/ (adversarial finding)."""
    (here / "esc.yaml").write_text('extends: small.yaml\nname: "../../escaped"\n')
    vary = ["--vary", "parameters.renewal_months=6,12", "--executor", "serial", "--quiet"]
    code, _, err = cli(capsys, "sweep", "esc.yaml", *vary)
    assert code == 0, err
    assert (here / "out" / "sweep" / "_.._escaped" / "sweep.csv").is_file()
    assert not (here.parent.parent / "escaped").exists()


def test_a_boolean_is_not_a_number(here, capsys):
    """YAML reads yes/no/on/off/true/false as booleans and pydantic's lax mode read True as
    1: `rate: yes` was a 100% tariff (adversarial finding). A number field refuses them,
    at its own location; a boolean field still takes them."""
    code, _, err = cli(capsys, "validate", "small.yaml", "--set", "shocks.0.rate=yes")
    assert code == 2 and "--set shocks.0.rate=yes: shocks[0].rate" in err and "boolean" in err
    data = small_dict()
    data["parameters"] = {**data.get("parameters", {}), "renewal_months": True}
    with pytest.raises(ScenarioError, match=r"parameters\.renewal_months.*boolean"):
        scenario_from_dict(data)
    code, _, err = cli(
        capsys, "validate", "small.yaml", "--set", "currencies.USD.international=yes"
    )
    assert code == 0, err
