"""Estimation (issue 12): moments beyond totals, weighting, the J test, identification,
noise, constant-parameter kinds and their draws, on the small two-economy scenario."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from tradesim import CalibrationError, scenario_from_dict
from tradesim.analysis.calibrate import (
    Observation,
    _draw,
    _with_values,
    calibrate,
    default_moments,
    default_parameters,
    import_share_scale,
    parameter_from_spec,
    parse_parameter,
    scenario_field,
)
from tradesim.analysis.moments import (
    DEFAULT_MOMENTS,
    Moment,
    applicable,
    load_moments,
    simulate_moments,
)
from tradesim.analysis.uncertainty import ParameterDraws, ParameterEstimates
from tradesim.model.engine import run_engine

from .factories import small

BIN = Path(sys.executable).parent
DATA = Path(__file__).parent / "data"


def test_shipped_moments_load_with_sources():
    moments = load_moments(DEFAULT_MOMENTS)
    assert {m.group for m in moments} == {"composition", "soybean episode"}
    assert all(m.source and m.tolerance > 0 and m.sd == m.tolerance / 2 for m in moments)
    crude = [m for m in moments if m.sectors == ("crude",)]
    assert [m.year for m in crude] == [2016, 2017, 2018] and crude[0].measure == "quantity"
    assert any(not m.target for m in moments)  # Brazil 2018: reported, not fitted


HEADER = (
    "group,period,origin,destination,sectors,measure,statistic,denominator,observed,unit,"
    "tolerance,target,source\n"
)


@pytest.mark.parametrize(
    ("row", "where"),
    [
        ("g,2018,A,B,energy,value,median,,5,percent,2,yes,src", ":2:statistic:"),
        ("g,2018,A,B,energy,value,share,,5,percent,2,yes,src", ":2:denominator:"),
        ("g,2018,A,B,energy,value,share,all_sectors,150,percent,2,yes,src", ":2:observed:"),
        ("g,2018,A,B,energy,value,level,,5,USD,0.1,yes,", ":2:source:"),
        ("g,18,A,B,energy,value,level,,5,USD,0.1,yes,src", ":2:period:"),
        ("g,2018,A,B,energy,weight,level,,5,USD,0.1,yes,src", ":2:measure:"),
        ("g,2018,A,B,energy,value,level,,5,USD,-1,yes,src", ":2:tolerance:"),
    ],
)
def test_bad_moment_files_name_the_cell(tmp_path, row, where):
    path = tmp_path / "moments.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(CalibrationError, match=where) as info:
        load_moments(path)
    assert str(path) in str(info.value)


def test_simulated_moments_against_the_flows_by_hand():
    scenario = small()
    raw = run_engine(scenario, 3)
    w = raw.world
    shipped = raw.flows["shipped"][w.burn_in :]
    first = shipped[:12]  # 2020
    a, b, x = (w.regions.index(r) for r in ("A", "B", "X"))
    energy = w.sectors.index("energy")
    moments = [
        Moment("t", "2020", ("A",), ("B",), 1.0),
        Moment("t", "2020", ("A",), ("B",), 1.0, "share", sectors=("energy",),
               denominator="all_sectors", unit="percent", tolerance=2.0),
        Moment("t", "2020", ("A",), ("B",), 1.0, "share", sectors=("energy",),
               denominator="all_origins", unit="percent", tolerance=2.0),
        Moment("t", "2020-Q2", ("A",), ("B",), 1.0, "share", currency="USD",
               denominator="all_currencies", unit="percent", tolerance=5.0),
        Moment("t", "2020", ("A",), ("World",), 1.0),
        Moment("t", "2020", ("World",), ("B",), 1.0, "share", currency="USD",
               denominator="all_currencies", unit="percent", tolerance=5.0),
    ]  # fmt: skip
    sim = simulate_moments(raw, moments)
    ab = first[:, a, b].sum()
    assert sim[0] == pytest.approx(ab)
    assert sim[1] == pytest.approx(100 * first[:, a, b, energy].sum() / ab)
    imports = first[:, [a, x], b, energy].sum()
    assert sim[2] == pytest.approx(100 * first[:, a, b, energy].sum() / imports)
    q2 = shipped[3:6, a, b].sum(axis=(0, 1))
    assert sim[3] == pytest.approx(100 * q2[w.currencies.index("USD")] / q2.sum())
    assert sim[4] == pytest.approx(first[:, a, [b, x]].sum())
    into_b = first[:, [a, x], b].sum(axis=(0, 1, 2))  # B's imports from every other region
    assert sim[5] == pytest.approx(100 * into_b[w.currencies.index("USD")] / into_b.sum())
    quantity = Moment("t", "2020", ("A",), ("B",), 1.0, measure="quantity", sectors=("energy",))
    price = raw.price_index[w.burn_in :][:12, a, energy] * w.unit_price[energy]  # USD/bbl
    expected = (first[:, a, b, energy].sum(axis=-1) / price).sum()
    assert simulate_moments(raw, [quantity])[0] == pytest.approx(expected)


def test_moments_a_scenario_cannot_produce_are_skipped_or_refused():
    scenario = small()
    moments = [
        Moment("t", "2020", ("A",), ("Q",), 1.0),
        Moment("t", "2030", ("A",), ("B",), 1.0),
        Moment("t", "2020", ("A",), ("B",), 1.0, sectors=("soybeans",)),
        Moment("t", "2020", ("A",), ("B",), 1.0, sectors=("soybeans", "energy")),
        Moment("t", "2020", ("A",), ("B",), 1.0, measure="quantity", sectors=("goods",)),
        Moment("t", "2020", ("World",), ("World",), 1.0),
    ]
    result = applicable(moments, scenario)
    assert [m.sectors for m in result.moments] == [("energy",)]  # the group keeps energy
    reasons = [why for _, why in result.skipped]
    assert "unknown region 'Q'" in reasons[0] and "outside the horizon" in reasons[1]
    assert "no sector" in reasons[2] and "no physical unit" in reasons[3]
    assert "both ends" in reasons[4]
    with pytest.raises(CalibrationError, match="unknown region"):
        applicable(moments, scenario, strict=True)
    assert default_moments(scenario).moments == ()  # the shipped ones are China-Russia's


TRUTH = {"B_in_A": 1.2, "A_in_B": 0.9}


def _truth_scenario():
    params = [import_share_scale("A", "B"), import_share_scale("B", "A")]
    return _with_values(small(), params, [TRUTH["B_in_A"], TRUTH["A_in_B"]])


def _generated(moments, seed_offset=1000, replications=6):
    """Observed values from the model at the truth, on seeds the fit does not use."""
    truth = _truth_scenario()
    other = truth.model_copy(update={"seed": truth.seed + seed_offset})
    return np.mean([_draw(other, i, moments) for i in range(replications)], axis=0)


SHARE_MOMENTS = [
    Moment("composition", str(y), (o,), (d,), 1.0, "share", sectors=("energy",),
           denominator="all_sectors", unit="percent", tolerance=3.0)
    for y in (2020, 2021) for o, d in (("A", "B"), ("B", "A"))
]  # fmt: skip


@pytest.fixture(scope="module")
def estimated():
    """Two levels (trade block) and a constant that moves nothing (currency block), on
    four totals and four composition shares generated by the model at known values."""
    totals = [Moment("trade", str(y), (o,), (d,), 1.0) for y, o, d in _keys()]
    values = _generated([*totals, *SHARE_MOMENTS])
    observed = [
        Observation(y, o, d, float(v)) for (y, o, d), v in zip(_keys(), values[:4], strict=True)
    ]
    shares = [
        Moment(**{**m.__dict__, "observed": float(v)})
        for m, v in zip(SHARE_MOMENTS, values[4:], strict=True)
    ]
    params = [
        import_share_scale("A", "B"),
        import_share_scale("B", "A"),
        scenario_field("parameters.currency_choice.sanction_loss", 0.0, 1.0, 0.5),
    ]
    _, report = calibrate(
        small(),
        observed,
        parameters=params,
        moments=shares,
        replications=3,
        starts=1,
        workers=1,
        max_evaluations=12,
        progress=False,
    )
    return report


def _keys():
    return [(y, o, d) for y in (2020, 2021) for o, d in (("A", "B"), ("B", "A"))]


def test_estimation_reports_j_test_blocks_noise_and_identification(estimated):
    report = estimated
    assert report.blocks == [
        ["import_share_scale.B_in_A", "import_share_scale.A_in_B"],
        ["parameters.currency_choice.sanction_loss"],
    ]
    fitted = [m for m in report.moments if m["in_sample"]]
    # sanction_loss moves nothing: rank 2, and the J test has 8 - 2 degrees of freedom
    assert report.jacobian_rank == 2 and not report.converged
    assert len(fitted) == 8 and report.j_df == 8 - 2
    assert report.j_statistic is not None and report.j_statistic >= 0
    assert 0.0 <= report.j_pvalue <= 1.0
    assert report.j_pvalue > 0.001  # data from the model itself: no rejection
    est = {p["name"].split(".")[-1]: p for p in report.parameters}
    for name, value in TRUTH.items():
        assert abs(est[name]["estimate"] - value) <= 3 * est[name]["se"] + 0.02, est[name]
    # sanction_loss only matters when payments freeze: named weakly identified
    weak = {w["name"]: w["reason"] for w in report.weak_parameters}
    assert "parameters.currency_choice.sanction_loss" in weak
    assert "moves the fit by" in weak["parameters.currency_choice.sanction_loss"]
    assert not any(n.startswith("import_share_scale") for n in weak)
    for m in fitted:
        assert m["noise"] > 0 and m["replications_needed"] >= 1
        assert m["noise_ok"] == (m["noise"] <= m["tolerance"] / 3)
    assert len(report.singular_values) == 3 and report.noise_replications == 8
    text = report.to_markdown()
    assert "Hansen J" in text and "Weakly identified" in text and "pp" in text
    data = json.loads(report.to_json())
    assert data["j_df"] == 6
    se = {p["name"]: p["se"] for p in data["parameters"]}
    assert se["parameters.currency_choice.sanction_loss"] == float("inf")
    assert data["covariance"][2] == [0.0, 0.0, 0.0]  # held at its estimate in draws


def test_a_moment_the_model_cannot_reach_rejects_it():
    """Totals from the model but one share 30 points off: the J test rejects."""
    totals = [Moment("trade", str(y), (o,), (d,), 1.0) for y, o, d in _keys()]
    values = _generated([*totals, *SHARE_MOMENTS])
    observed = [
        Observation(y, o, d, float(v)) for (y, o, d), v in zip(_keys(), values[:4], strict=True)
    ]
    shares = [
        Moment(**{**m.__dict__, "observed": float(min(v + (30 if i == 0 else 0), 99))})
        for i, (m, v) in enumerate(zip(SHARE_MOMENTS, values[4:], strict=True))
    ]
    _, report = calibrate(
        small(),
        observed,
        parameters=[import_share_scale("B", "A")],
        moments=shares,
        replications=2,
        starts=1,
        workers=1,
        max_evaluations=6,
        progress=False,
    )
    assert report.j_pvalue is not None and report.j_pvalue < 0.01


def test_every_parameter_kind_parses_applies_and_is_drawn():
    data = small().model_dump(mode="json")
    data["shocks"] = [
        {"type": "tariff", "name": "goods tariff", "importer": "A", "origin": "B",
         "rate": 0.2, "start": "2020-07", "sectors": ["goods"]}
    ]  # fmt: skip
    scenario = scenario_from_dict(data)
    names = [
        "sectors.energy.elasticity",
        "parameters.currency_choice.invoicing.{energy,goods}.dominant",
        "currencies.BBC.hedging_cost",
        "shock[goods tariff].rate",
        "import_share_scale.B_in_A",
        "parameters.renewal_months",
    ]
    for name in names:
        parse_parameter(scenario, name)
    est = ParameterEstimates(
        tuple(names),
        (6.0, 2.0, 0.01, 0.15, 1.1, 9.0),
        tuple(tuple(0.0 if i != j else 1e-6 for j in range(6)) for i in range(6)),
        (2.0, 0.0, 0.001, 0.0, 0.5, 6.0),
        (10.0, 8.0, 0.02, 0.5, 2.0, 24.0),
    )
    # A calibrated scenario holds its estimates (the draws refuse one that does not).
    held = [(n, v) for n, v in zip(names, est.estimates, strict=True) if "scale" not in n]
    params = [parse_parameter(scenario, n)[0] for n, _ in held]
    scenario = _with_values(scenario, params, [v for _, v in held])
    run = ParameterDraws(scenario, est).for_run(0)
    values = ParameterDraws(scenario, est).values(0)
    assert run.sectors["energy"].elasticity == pytest.approx(values[0])
    choice = run.parameters.currency_choice.invoicing
    assert choice["energy"].dominant == choice["goods"].dominant == pytest.approx(values[1])
    assert run.currencies["BBC"].hedging_cost == pytest.approx(values[2])
    assert run.shocks[0].rate == pytest.approx(values[3])
    share = scenario.economies["A"].origin_shares["energy"]["B"]
    assert run.economies["A"].origin_shares["energy"]["B"] == pytest.approx(share * values[4] / 1.1)
    assert run.parameters.renewal_months == pytest.approx(values[5])
    with pytest.raises(CalibrationError, match="cannot draw parameter"):
        parse_parameter(scenario, "nonsense.x")
    with pytest.raises(CalibrationError, match="expected one shock"):
        parse_parameter(scenario, "shock[no such].rate")


def test_parameters_from_the_command_line_spec():
    scenario = small()
    p = parameter_from_spec(scenario, "parameters.renewal_months=3:12")
    assert (p.lower, p.upper, p.start, p.block) == (3.0, 12.0, 6.0, "trade")
    q = parameter_from_spec(scenario, "currencies.BBC.hedging_cost=0.001:0.02:0.01")
    assert q.start == 0.01 and q.block == "currency"
    assert parameter_from_spec(scenario, "import_share_scale.B_in_A=0.5:2").start == 1.0
    for bad in ("parameters.renewal_months", "parameters.renewal_months=5:1", "x=1:2"):
        with pytest.raises(CalibrationError):
            parameter_from_spec(scenario, bad)


def test_default_parameters_are_constants_and_leave_a_degree_of_freedom():
    params = default_parameters(small(), moments=4)
    assert [p.name for p in params] == [
        "import_share_scale.A_in_B",
        "import_share_scale.B_in_A",
        "parameters.fx_budget_elasticity",
    ]
    everything = default_parameters(small())
    assert {p.name for p in everything} >= {
        "parameters.renewal_months",
        "parameters.price_adjustment",
    }
    assert not any(p.name.startswith("shock_size") for p in everything)  # no fitted path


def test_calibrate_command_with_own_parameters_and_moments(tmp_path):
    scenario_path = tmp_path / "small.yaml"
    shutil.copy(DATA / "small.yaml", scenario_path)
    rows = ["year,origin,destination,value_usd_bn,source"]
    rows += [f"{y},{o},{d},{30 if o == 'A' else 50},synthetic" for y, o, d in _keys()]
    (tmp_path / "obs.csv").write_text("\n".join(rows) + "\n")
    (tmp_path / "moments.csv").write_text(
        HEADER + "composition,2020,A,B,energy,value,share,all_sectors,10,percent,5,yes,made up\n"
    )
    out = tmp_path / "fit.yaml"
    args = [
        str(BIN / "tradesim"),
        "calibrate",
        str(scenario_path),
        "--out",
        str(out),
        "--observed",
        str(tmp_path / "obs.csv"),
        "--moments",
        str(tmp_path / "moments.csv"),
        "--parameter",
        "import_share_scale.A_in_B=0.5:2",
        "--parameter",
        "parameters.renewal_months=3:12",
        "--replications",
        "2",
        "--starts",
        "1",
        "--max-evaluations",
        "3",
        "--workers",
        "1",
        "--quiet",
    ]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode in (0, 3), proc.stderr
    assert "Hansen J" in proc.stdout and "2020 A->B energy share of all sectors" in proc.stdout
    report = json.loads((tmp_path / "fit.report.json").read_text())
    assert [p["name"] for p in report["parameters"]] == [
        "import_share_scale.A_in_B",
        "parameters.renewal_months",
    ]
    assert report["j_df"] == 5 - 2
    bad = subprocess.run(
        [*args[:-1], "--force", "--parameter", "renewal=1"], capture_output=True, text=True
    )
    assert bad.returncode == 2 and "NAME=LOWER:UPPER" in bad.stderr


def test_warm_start_from_a_report(tmp_path, estimated):
    from tradesim.analysis.calibrate import start_values

    path = tmp_path / "fit.report.json"
    path.write_text(estimated.to_json())
    values = start_values(path)
    assert values == {p["name"]: p["estimate"] for p in estimated.parameters}
    with pytest.raises(CalibrationError, match="not estimated"):
        calibrate(
            small(),
            [Observation(2020, "A", "B", 1e10)],
            start={"parameters.nothing": 1.0},
            replications=1,
            workers=1,
        )
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(CalibrationError, match="not a calibration report"):
        start_values(tmp_path / "bad.json")


def test_j_ignores_what_a_parameter_step_would_remove():
    """An estimate stopped by its budget leaves residuals a Gauss-Newton step would remove:
    J must be that of the projected residuals, not inflated by P Omega P's null space."""
    from tradesim.analysis.calibrate import _diagnostics

    rng = np.random.default_rng(3)
    m, k = 9, 3
    jac = rng.standard_normal((m, k))
    omega = np.diag(rng.uniform(0.5, 2.0, m))
    weight = np.diag(1 / np.diag(omega))
    g = rng.standard_normal(m)
    params = default_parameters(small())[:k]
    span, x = np.ones(k), np.full(k, 0.5)
    args = (weight, omega, span, x, np.zeros(k), np.ones(k), params)
    at_optimum = g - jac @ np.linalg.solve(jac.T @ weight @ jac, jac.T @ weight @ g)
    j_opt = _diagnostics(jac, at_optimum, *args)["j"]
    j_stopped = _diagnostics(jac, at_optimum + jac @ np.array([0.3, -0.2, 0.5]), *args)["j"]
    assert j_stopped == pytest.approx(j_opt, rel=1e-9)
    # with the efficient weighting (W = Omega^-1) J is g' W g at the optimum (Hansen 1982)
    assert j_opt == pytest.approx(float(at_optimum @ weight @ at_optimum), rel=1e-9)
