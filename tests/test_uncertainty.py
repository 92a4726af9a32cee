"""Parameter uncertainty: covariance in the report, per-run draws that every executor
agrees on, bands that widen, and the variance decomposition, end to end on a tiny scenario."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tradesim import CalibrationError
from tradesim.analysis.calibrate import calibrate, import_share_scale
from tradesim.analysis.ensemble import run_ensemble
from tradesim.analysis.uncertainty import (
    ParameterDraws,
    ParameterEstimates,
    decompose,
    variance_decomposition,
)
from tradesim.cli.main import main

from .factories import small

DATA = Path(__file__).parent / "data"


def _shipped(path: Path) -> np.ndarray:
    with xr.open_dataset(path, engine="scipy") as ds:
        return ds["shipped_usd"].values.copy()


@pytest.fixture(scope="module")
def fitted(tmp_path_factory):
    """A quick calibration of the small scenario to its own (other-seed) output."""
    from .test_calibrate import synthetic

    scenario = small()
    params = [import_share_scale("A", "B"), import_share_scale("B", "A")]
    _, report = calibrate(
        scenario,
        synthetic(scenario, replications=2),
        parameters=params,
        replications=2,
        starts=1,
        workers=1,
        max_evaluations=6,
    )
    path = tmp_path_factory.mktemp("report") / "small_calibrated.report.json"
    path.write_text(report.to_json())
    return report, path


def test_report_stores_the_covariance(fitted):
    report, path = fitted
    cov = np.array(json.loads(path.read_text())["covariance"])
    assert cov.shape == (2, 2) and np.allclose(cov, cov.T)
    se = [p["se"] for p in report.parameters]
    assert np.allclose(np.sqrt(np.diag(cov)), se)
    est = ParameterEstimates.from_report(path)
    assert est.correlated and est.names == tuple(p["name"] for p in report.parameters)


def test_draws_are_per_run_seeded_and_clipped():
    est = ParameterEstimates(
        ("import_share_scale.B_in_A", "parameters.budget_dispersion"),
        (1.0, 0.5),
        ((0.01, 0.0), (0.0, 4.0)),
        (0.5, 0.45),
        (2.0, 0.55),
    )
    draws = ParameterDraws(small(), est)
    values = np.array([draws.values(i) for i in range(6)])
    assert np.array_equal(values, [draws.values(i) for i in range(6)])  # reproducible
    assert len({tuple(v) for v in values}) == 6
    assert values[:, 1].min() >= 0.45 and values[:, 1].max() <= 0.55  # clipped
    assert np.isin(values[:, 1], [0.45, 0.55]).sum() >= 4  # sd 2 against a 0.05 band
    run3 = draws.for_run(3)
    share = run3.economies["A"].origin_shares["energy"]["B"]
    assert share == pytest.approx(0.3 * values[3, 0])
    assert run3.parameters.budget_dispersion == pytest.approx(values[3, 1])
    assert run3.seed == small().seed
    with pytest.raises(CalibrationError, match=r"cannot draw parameter 'elasticity\.x'"):
        ParameterDraws(
            small(), ParameterEstimates(("elasticity.x",), (1.0,), ((1.0,),), (0,), (2,))
        )


def test_ensemble_with_parameter_uncertainty_end_to_end(fitted, tmp_path):
    _, report_path = fitted
    scenario = small()
    a = run_ensemble(
        scenario,
        runs=4,
        out=tmp_path / "serial",
        executor="serial",
        parameter_uncertainty=report_path,
    )
    b = run_ensemble(
        scenario,
        runs=4,
        out=tmp_path / "processes",
        executor="processes",
        workers=2,
        parameter_uncertainty=report_path,
    )
    plain = run_ensemble(scenario, runs=4, out=tmp_path / "plain", executor="serial")
    for pa, pb in zip(a.run_paths, b.run_paths, strict=True):
        assert np.array_equal(_shipped(pa), _shipped(pb))  # executors agree bit for bit
    assert not np.array_equal(_shipped(a.run_paths[0]), _shipped(plain.run_paths[0]))
    with pytest.raises(Exception, match="different scenario"):  # never mixed on resume
        run_ensemble(scenario, runs=4, out=tmp_path / "plain", parameter_uncertainty=report_path)
    rows = variance_decomposition(a.run_paths, plain.run_paths)
    ab = next(r for r in rows if (r["year"], r["origin"], r["destination"]) == (2021, "B", "A"))
    assert ab["sd_parameters_usd"] >= 0 and ab["sd_model_usd"] > 0
    assert 0 <= ab["parameter_share"] <= 1
    assert ab["dominant"] in {"parameters", "model noise"}


def test_run_command_parameter_uncertainty(tmp_path, capsys):
    scenario = tmp_path / "small.yaml"
    shutil.copy(DATA / "small.yaml", scenario)
    report = {
        "parameters": [
            {
                "name": "import_share_scale.B_in_A",
                "estimate": 1.0,
                "se": 0.2,
                "lower": 0.3,
                "upper": 3.0,
            },
        ],
    }
    out = tmp_path / "out"
    args = ["run", str(scenario), "--runs", "3", "--executor", "serial", "--out", str(out)]
    assert main([*args, "--quiet", "--parameter-uncertainty"]) == 2
    assert "small.report.json" in capsys.readouterr().err
    (tmp_path / "small.report.json").write_text(json.dumps(report))
    assert main([*args[:2], "--runs", "1", "--parameter-uncertainty"]) == 2
    assert "--runs 2 or more" in capsys.readouterr().err
    assert not out.exists()  # refused before any output folder was made
    assert main([*args, "--quiet", "--parameter-uncertainty"]) == 0
    text = capsys.readouterr().out
    assert "diagonal covariance" in text and "param share" in text
    assert (out / "variance_decomposition.csv").is_file()
    assert len(list((out / "at_estimate" / "runs").glob("run_*.nc"))) == 3
    assert main([*args, "--quiet", "--parameter-uncertainty", "--force"]) == 0  # replaceable


def test_decomposition_is_the_law_of_total_variance():
    """Model noise that a parameter draw does not keep (independent across the paired runs)
    must not be counted as parameter uncertainty: 4,000 runs, known variances."""
    rng = np.random.default_rng(0)
    shape = (4000, 1, 2, 2)
    coords = {"year": [2018], "origin": ["A", "B"], "destination": ["A", "B"]}
    dims = ("run", "year", "origin", "destination")
    noise_sd, param_sd = 3.0, 1.0
    at_estimate = xr.DataArray(100 + noise_sd * rng.standard_normal(shape), coords, dims)
    drawn = xr.DataArray(
        100 + param_sd * rng.standard_normal(shape) + noise_sd * rng.standard_normal(shape),
        coords,
        dims,
    )
    row = next(
        r for r in decompose(drawn, at_estimate) if r["origin"] == "A" and r["destination"] == "B"
    )
    assert row["sd_parameters_usd"] == pytest.approx(param_sd, rel=0.25)
    assert row["parameter_share"] == pytest.approx(0.1, abs=0.04)
    assert row["dominant"] == "model noise"


def test_draws_refuse_a_scenario_that_does_not_hold_the_estimates(tmp_path, capsys):
    """The draws centre on the report's estimates: a scenario holding another value (a --set
    of an estimated parameter, another scenario's report) is refused, not overridden."""
    from tradesim.scenario import load_scenario

    est = ParameterEstimates(("parameters.budget_dispersion",), (0.5,), ((0.01,),), (0.4,), (0.6,))
    ParameterDraws(small(), est)  # the small scenario holds 0.5
    moved = load_scenario(DATA / "small.yaml", overrides=["parameters.budget_dispersion=0.45"])
    with pytest.raises(CalibrationError, match=r"budget_dispersion is 0\.45 .* estimates 0\.5"):
        ParameterDraws(moved, est)
    scenario = tmp_path / "small.yaml"
    shutil.copy(DATA / "small.yaml", scenario)
    entry = {"name": "parameters.budget_dispersion", "estimate": 0.5, "se": 0.1}
    report = {"parameters": [{**entry, "lower": 0.4, "upper": 0.6}]}
    (tmp_path / "small.report.json").write_text(json.dumps(report))
    out = tmp_path / "out"
    args = ["run", str(scenario), "--runs", "2", "--executor", "serial", "--out", str(out)]
    extra = ["--quiet", "--parameter-uncertainty", "--set", "parameters.budget_dispersion=0.45"]
    assert main([*args, *extra]) == 2
    assert "estimates 0.5" in capsys.readouterr().err
    assert not out.exists()  # refused before any run
