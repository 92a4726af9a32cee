"""The command line through its real entry point (the installed console script)."""

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
    }
    assert m["timings_seconds"]["run_seconds"] > 0


def test_run_is_reproducible_from_the_command_line(tmp_path):
    for name in ("a", "b"):
        assert (
            tradesim("run", str(DATA / "small.yaml"), "--out", str(tmp_path / name)).returncode == 0
        )
    assert (tmp_path / "a" / "flows.csv").read_text() == (tmp_path / "b" / "flows.csv").read_text()


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "bad_rate.yaml",
            "bad_rate.yaml:14:5: shocks[0].rate: Input should be less than or equal to 5",
        ),
        ("unknown_key.yaml", "unknown_key.yaml:4:1: sead: unknown field"),
        ("unknown_region.yaml", "unknown_region.yaml:11:5: shocks[0].origin: unknown region 'USA'"),
        ("syntax_error.yaml", "syntax_error.yaml:4:1: invalid YAML"),
    ],
)
def test_user_mistakes_give_a_clear_line_and_exit_2(fixture, expected):
    proc = tradesim("run", str(DATA / fixture))
    assert proc.returncode == 2
    assert expected in proc.stderr
    assert proc.stderr.startswith("error: ")
    assert "Traceback" not in proc.stderr
    assert proc.stdout == ""


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
    bad_seed = tradesim("run", str(DATA / "small.yaml"), "--seed", "-3")
    assert bad_seed.returncode == 2 and "must be 0 or more" in bad_seed.stderr
