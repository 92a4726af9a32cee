"""The command line through its real entry point (the installed console script)."""

import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import xarray as xr

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"


def tradesim(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    exe = shutil.which("tradesim", path=str(Path(sys.executable).parent))
    assert exe, "the tradesim console script is not installed next to this python"
    return subprocess.run([exe, *args], capture_output=True, text=True, cwd=cwd, timeout=300)


def test_run_prints_table_and_writes_outputs(tmp_path):
    out = tmp_path / "res"
    proc = tradesim("run", str(DATA / "small.yaml"), "--out", str(out), "--seed", "3", "--check")
    assert proc.returncode == 0, proc.stderr
    assert "A -> B" in proc.stdout and "B -> A" in proc.stdout
    assert "Settlement-currency shares, A-B" in proc.stdout
    for name in ("result.nc", "flows.csv", "annual_bilateral.csv", "currency_shares.csv"):
        assert (out / name).stat().st_size > 0, name
    ds = xr.open_dataset(out / "result.nc", engine="scipy")
    assert ds.attrs["seed"] == "3"
    assert ds.attrs["Conventions"] == "CF-1.10" and ds.attrs["scenario"] == "small"
    assert ds["shipped_usd"].attrs["units"] == "USD"
    annual = (out / "annual_bilateral.csv").read_text().splitlines()
    assert annual[0] == "year,origin,destination,shipped_usd"


def test_manifest_records_what_produced_the_result(tmp_path):
    import hashlib
    import json

    runs = []
    for name in ("a", "b"):
        out = tmp_path / name
        proc = tradesim("run", str(DATA / "bad_rate_fixed.yaml"), "--out", str(out), "--seed", "5")
        assert proc.returncode == 0, proc.stderr
        runs.append(json.loads((out / "manifest.json").read_text()))
    m = runs[0]
    assert m["seed"] == 5 and m["scenario_name"] == "bad_rate_fixed"
    assert m["scenario_sha256"] == runs[1]["scenario_sha256"]
    assert set(m["versions"]) >= {"tradesim", "numpy", "scipy", "simpy", "python"}
    files = {Path(f["path"]).name: f["sha256"] for f in m["data_files"]}
    assert set(files) == {"bad_rate_fixed.yaml", "small.yaml"}  # the file and what it extends
    assert files["small.yaml"] == hashlib.sha256((DATA / "small.yaml").read_bytes()).hexdigest()
    assert m["shocks"][-1]["type"] == "tariff" and m["shocks"][-1]["start"] == "2020-07-01"
    assert m["scenario"]["parameters"]["renewal_months"] == 12
    assert set(m["outputs"]) == {
        "result.nc",
        "flows.csv",
        "annual_bilateral.csv",
        "currency_shares.csv",
        "currency_shares_by_direction.csv",
    }
    assert m["timings_seconds"]["run_seconds"] > 0


def test_run_is_reproducible_from_the_command_line(tmp_path):
    for name in ("a", "b"):
        assert (
            tradesim("run", str(DATA / "small.yaml"), "--out", str(tmp_path / name)).returncode == 0
        )
    assert (tmp_path / "a" / "flows.csv").read_text() == (tmp_path / "b" / "flows.csv").read_text()


ERROR_FIXTURES = [
    (
        "bad_rate.yaml",
        "bad_rate.yaml:14:5: shocks[0].rate: Input should be less than or equal to 5 (got 25)",
    ),
    ("unknown_key.yaml", "unknown_key.yaml:4:1: sead: unknown field; did you mean 'seed'?"),
    ("unknown_region.yaml", "unknown_region.yaml:11:5: shocks[0].origin: unknown region 'USA'"),
    (
        "unknown_sector.yaml",
        "unknown_sector.yaml:5:54: shocks[0].sectors[0]: unknown sector 'steel'",
    ),
    (
        "unknown_currency.yaml",
        "unknown_currency.yaml:5:27: shocks[0].currency: unknown currency 'CNY'",
    ),
    (
        "after_horizon.yaml",
        "after_horizon.yaml:5:45: shocks[0].start: starts 2022-03-01 after the horizon",
    ),
    (
        "end_before_start.yaml",
        "end_before_start.yaml:5:5: shocks[0]: end 2020-03-01 is not after start",
    ),
    ("bad_date.yaml", "bad_date.yaml:5:55: shocks[0].start: '2020-13' is not a real date"),
    ("syntax_error.yaml", "syntax_error.yaml:4:1: invalid YAML"),
    (
        "cycle_a.yaml",
        "extends: extends forms a cycle: cycle_a.yaml -> cycle_b.yaml -> cycle_a.yaml",
    ),
]


@pytest.mark.parametrize(("fixture", "expected"), ERROR_FIXTURES)
@pytest.mark.parametrize("command", ["run", "validate"])
def test_user_mistakes_give_a_clear_line_and_exit_2(command, fixture, expected):
    proc = tradesim(command, str(DATA / fixture))
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr
    if command == "run":
        assert proc.stdout == ""


def test_every_problem_in_a_file_is_reported_at_once():
    proc = tradesim("validate", str(DATA / "many_errors.yaml"))
    assert proc.returncode == 2
    lines = [line for line in proc.stderr.splitlines() if line.startswith("error: ")]
    assert len(lines) == 4, proc.stderr
    for fragment in (
        "5:3: parameters.markup: Input should be greater than or equal to 1 (got 0.5)",
        "6:3: parameters.renewal_month: unknown field; did you mean 'renewal_months'?",
        "8:33: shocks[0].origin: unknown region 'Q'",
        "9:41: shocks[1].change: Input should be greater than -1 (got -2)",
    ):
        assert fragment in proc.stderr


def test_validate_reports_each_file_and_fails_if_any_fails():
    ok = tradesim("validate", str(DATA / "small.yaml"), str(ROOT / "scenarios" / "baseline.yaml"))
    assert ok.returncode == 0 and ok.stdout.count("ok: ") == 2
    mixed = tradesim("validate", str(DATA / "small.yaml"), str(DATA / "bad_rate.yaml"))
    assert mixed.returncode == 2
    assert "ok: " in mixed.stdout and "1 of 2 files have problems" in mixed.stderr


def test_set_overrides_fields_and_is_validated(tmp_path):
    proc = tradesim(
        "run",
        str(DATA / "small.yaml"),
        "--out",
        str(tmp_path / "o"),
        "--set",
        "shocks.0.rate=30%",
        "--set",
        "population.buyers_per_sector=50",
    )
    assert proc.returncode == 0, proc.stderr
    import json

    resolved = json.loads((tmp_path / "o" / "manifest.json").read_text())["scenario"]
    assert resolved["shocks"][0]["rate"] == pytest.approx(0.3)
    assert resolved["population"]["buyers_per_sector"] == 50
    bad = tradesim("validate", str(DATA / "small.yaml"), "--set", "parameters.markupp=1.3")
    assert bad.returncode == 2
    assert (
        "--set parameters.markupp=1.3: parameters.markupp: unknown field; did you mean 'markup'?"
        in bad.stderr
    )
    missing = tradesim("validate", str(DATA / "small.yaml"), "--set", "shocks.5.rate=0.1")
    assert missing.returncode == 2 and "shocks[5] does not exist" in missing.stderr


def test_run_several_scenarios_and_output_formats(tmp_path):
    pytest.importorskip("pyarrow")
    import pandas as pd

    proc = tradesim(
        "run",
        str(DATA / "small.yaml"),
        str(DATA / "bad_rate_fixed.yaml"),
        "--out",
        str(tmp_path),
        "--format",
        "parquet",
    )
    assert proc.returncode == 0, proc.stderr
    for name in ("small", "bad_rate_fixed"):
        out = tmp_path / name
        assert not (out / "result.nc").exists() and not list(out.glob("*.csv"))
        table = pd.read_parquet(out / "annual_bilateral.parquet")
        assert list(table.columns) == ["year", "origin", "destination", "shipped_usd"]
        assert (out / "manifest.json").exists()
    bad = tradesim("run", str(DATA / "small.yaml"), "--format", "xlsx")
    assert bad.returncode == 2 and "choose from csv, parquet, netcdf" in bad.stderr


def test_existing_outputs_are_not_overwritten_without_force(tmp_path):
    out = str(tmp_path / "o")
    assert tradesim("run", str(DATA / "small.yaml"), "--out", out).returncode == 0
    again = tradesim("run", str(DATA / "small.yaml"), "--out", out)
    assert again.returncode == 2 and "use --force" in again.stderr
    assert tradesim("run", str(DATA / "small.yaml"), "--out", out, "--force").returncode == 0


def test_compare_reports_paired_differences(tmp_path):
    base = str(DATA / "small.yaml")
    alt = str(DATA / "higher_tariff.yaml")  # adds a second tariff on B's goods
    proc = tradesim("compare", base, alt, "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stderr
    out = proc.stdout
    for section in (
        "one paired run (common random numbers",
        "Bilateral trade, change in USD billion",
        "Imports by origin, change over the horizon",
        "creation: change in imports from abroad",
        "Settlement-currency shares",
        "Change in settlement-currency shares by direction, 2021, points (mean)",
        "Changes over the horizon, USD billion, by destination",
        "frozen payments",
        "Welfare over the horizon, USD billion",
        "world",
    ):
        assert section in out, section
    assert re.search(r"tariff revenue +\+", out), out
    assert re.search(r"B -> A +[-+]\d+\.\d\d +[-+]\d+\.\d\d", out), out  # by direction
    assert "nan" not in out.lower()
    ds = xr.open_dataset(tmp_path / "higher_tariff" / "comparison.nc", engine="scipy")
    before = ds["bilateral_usd_mean"].sel(year=2020)
    assert float(ds["tariff_revenue_usd_mean"].sel(destination="A").sum()) > 0
    assert float(before.sel(origin="B", destination="A")) < 0  # more tariff, fewer imports
    welfare = ds["welfare_usd_mean"].sum("year")
    assert float(welfare.sel(region="B")) < 0  # B's goods taxed by A: B's buyers gain nothing
    ensemble = tradesim(
        "compare",
        base,
        alt,
        "--out",
        str(tmp_path / "e"),
        "--runs",
        "3",
        "--executor",
        "serial",
        "--quiet",
    )
    assert ensemble.returncode == 0, ensemble.stderr
    assert "3 paired runs" in ensemble.stdout and "mean [5%, 95% quantiles]" in ensemble.stdout
    for text in (out, ensemble.stdout):  # aligned columns: no two cells run together
        assert not re.search(r"[\d%\]][+\-\[]", text), text
    csv = (tmp_path / "e" / "higher_tariff" / "bilateral_change.csv").read_text()
    assert csv.splitlines()[0] == "year,origin,destination,mean,q0.05,q0.5,q0.95"


def test_schema_command(tmp_path):
    import json

    proc = tradesim("schema")
    assert proc.returncode == 0
    schema = json.loads(proc.stdout)
    assert schema["title"] == "Scenario" and "shocks" in schema["properties"]
    assert tradesim("schema", "--out", str(tmp_path / "s.json")).returncode == 0
    assert json.loads((tmp_path / "s.json").read_text()) == schema


def test_shocks_command_lists_every_type_with_fields():
    from tradesim.scenario import SHOCK_TYPES

    proc = tradesim("shocks")
    assert proc.returncode == 0
    for kind in SHOCK_TYPES:
        assert f"\n{kind}: " in "\n" + proc.stdout
    assert "rate" in proc.stdout and "required" in proc.stdout and "default 0" in proc.stdout
    assert "Optional[" not in proc.stdout and "Union[" not in proc.stdout  # readable types
    assert '[fraction: 0.25 or "25%"]' in proc.stdout  # units
    assert "number, ≥ 0 and ≤ 5" in proc.stdout  # bounds from the JSON Schema
    for line in proc.stdout.splitlines():  # aligned: the description column starts together
        if line.startswith("  start "):
            assert "  required  " in line or "  required " in line


def test_new_writes_a_scenario_that_validates(tmp_path):
    args = ["--extends", str(ROOT / "scenarios" / "baseline.yaml"), "--dir", str(tmp_path)]
    proc = tradesim("new", "my_shock", *args)
    assert proc.returncode == 0, proc.stderr
    path = tmp_path / "my_shock.yaml"
    text = path.read_text()
    assert text.startswith("# my_shock:") and "extends:" in text
    assert "need --allow-outside" in proc.stdout  # its parent lies outside tmp_path
    assert tradesim("validate", str(path), "--allow-outside").returncode == 0
    again = tradesim("new", "my_shock", *args)
    assert again.returncode == 2 and "use --force" in again.stderr
    assert tradesim("new", "my shock!", *args).returncode == 2
    # By default in the current folder, never in scenarios/; the parent path is relative.
    here = tmp_path / "work"
    here.mkdir()
    parent = str(ROOT / "scenarios" / "baseline.yaml")
    proc = tradesim("new", "mine", "--extends", parent, cwd=here)
    assert proc.returncode == 0, proc.stderr
    assert (here / "mine.yaml").exists() and not (ROOT / "scenarios" / "mine.yaml").exists()
    from tradesim import load_scenario

    mine = load_scenario(here / "mine.yaml", allow_outside=True)  # extends resolves from there
    assert mine.name == "mine"


def test_set_accepts_brackets_and_dots():
    from tradesim import ScenarioError, load_scenario

    path = DATA / "small.yaml"
    for key in ("shocks[0].rate", "shocks.0.rate", "shocks[ 0 ].rate"):
        with pytest.raises(ScenarioError) as info:
            load_scenario(path, overrides=[f"{key}=7"])
        assert "shocks[0].rate: Input should be less than or equal to 5" in str(info.value), key
        assert "did you mean" not in str(info.value)
    assert load_scenario(path, overrides=["shocks[0].rate=50%"]).shocks[0].rate == 0.5
    with pytest.raises(ScenarioError, match="does not exist"):
        load_scenario(path, overrides=["shocks[9].rate=0.1"])
    for key in ("shocks[-1].rate", "shocks[0.5].rate"):  # blamed on the --set, not the file
        with pytest.raises(ScenarioError, match=r"--set .*whole number from 0"):
            load_scenario(path, overrides=[f"{key}=0.1"])
    proc = tradesim("validate", str(path), "--set", "shocks[0].rate=7")  # the command line too
    assert proc.returncode == 2 and "shocks[0].rate: Input should be" in proc.stderr


def test_missing_file_and_debug_traceback():
    proc = tradesim("run", "does-not-exist.yaml")
    assert proc.returncode == 2 and "cannot read scenario" in proc.stderr
    proc = tradesim("--debug", "run", "does-not-exist.yaml")
    assert proc.returncode != 0 and "Traceback" in proc.stderr


def test_unwritable_output_is_a_user_error(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    proc = tradesim("run", str(DATA / "small.yaml"), "--out", str(blocker / "sub"))
    assert proc.returncode == 2
    assert "cannot write outputs" in proc.stderr and "Traceback" not in proc.stderr


def test_help_and_usage_errors():
    assert tradesim("--help").returncode == 0
    assert "SCENARIO" in tradesim("run", "--help").stdout.upper()
    assert tradesim("frobnicate").returncode == 2
    for command in ("run", "validate", "compare", "schema", "shocks", "new"):
        assert tradesim(command, "--help").returncode == 0, command
    bad_seed = tradesim("run", str(DATA / "small.yaml"), "--seed", "-3")
    assert bad_seed.returncode == 2 and "must be 0 or more" in bad_seed.stderr


def test_compare_of_different_worlds_names_the_files(tmp_path):
    import yaml

    data = yaml.safe_load((DATA / "small.yaml").read_text())
    data["name"] = "nosector"
    data["sectors"].pop("energy")
    for region in (*data["economies"].values(), *data["external_regions"].values()):
        region["absorption_usd_bn"].pop("energy")
        region["origin_shares"].pop("energy")
    nosector = tmp_path / "nosector.yaml"
    nosector.write_text(yaml.safe_dump(data, sort_keys=False))
    base = DATA / "small.yaml"
    proc = tradesim("compare", str(base), str(nosector), "--out", str(tmp_path / "c"))
    assert proc.returncode == 2 and "Traceback" not in proc.stderr
    assert "<scenario>" not in proc.stderr
    assert f"cannot compare {nosector} with {base}" in proc.stderr
    assert f"sectors differ ({base}: energy, goods; {nosector}: goods)" in proc.stderr
    assert not (tmp_path / "c").exists()
