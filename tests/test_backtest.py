"""Backtest: naive forecasts by hand, a fit/test fold and leave-one-out end to end."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import pytest

from tradesim import CalibrationError
from tradesim.analysis.backtest import backtest, naive_forecasts
from tradesim.analysis.calibrate import Observation, _moments, import_share_scale
from tradesim.cli.main import main
from tradesim.io.backtest_plot import plot_backtest

from .factories import small


def test_naive_forecasts_by_hand():
    f = naive_forecasts({2016: 100.0, 2017: 110.0}, 2018)
    assert f["flat"][0] == 110.0
    assert f["drift"][0] == pytest.approx(121.0)  # 110 * (110 / 100)
    assert f["trend"][0] == pytest.approx(121.0)  # two points: the same line
    assert math.isnan(f["trend"][1]) and math.isnan(f["drift"][1])  # no degrees of freedom
    lo, hi = f["flat"][1:]
    assert lo < 110 < hi and math.log(hi / 110) == pytest.approx(1.645 * math.log(1.1), 1e-3)
    g = naive_forecasts({2016: 100.0, 2017: 110.0, 2018: 121.0}, 2016 + 5)
    assert g["trend"][0] == pytest.approx(100 * 1.1**5)
    assert g["trend"][1] == pytest.approx(g["trend"][0])  # an exact trend: no residual
    back = naive_forecasts({2017: 110.0, 2018: 121.0}, 2016)  # backcast from the first year
    assert back["flat"][0] == 110.0 and back["drift"][0] == pytest.approx(100.0)


def _observed(scenario, years):
    keys = [(y, o, d) for y in years for o, d in (("A", "B"), ("B", "A"))]
    other = scenario.model_copy(update={"seed": scenario.seed + 99})
    mean = np.mean([_moments(other, i, keys) for i in range(2)], axis=0)
    # a 3% yearly drift the model does not have, so forecasts differ from the data
    return [
        Observation(y, o, d, float(v) * 1.03 ** (y - 2020))
        for (y, o, d), v in zip(keys, mean, strict=True)
    ]


FAST = dict(
    runs=3, replications=1, starts=1, max_evaluations=4, workers=1, executor="serial", bars=False
)


def test_backtest_fold_scores_model_and_naive_forecasts(tmp_path):
    scenario = small(end="2022-12")
    observed = _observed(scenario, (2020, 2021, 2022))
    result = backtest(
        scenario,
        fit=[2020, 2021],
        test=[2022],
        observed=observed,
        parameters=[import_share_scale("A", "B"), import_share_scale("B", "A")],
        **FAST,
    )
    (fold,) = result.folds
    assert fold.fit_years == [2020, 2021] and fold.test_years == [2022]
    # 2022 is held out of the fit (and reported out of sample)
    assert fold.report.holdout_years == [2022]
    assert sum(m["in_sample"] for m in fold.report.moments) == 4
    assert {m["year"] for m in fold.report.moments if not m["in_sample"]} == {2022}
    assert len(result.rows) == 2
    for row in result.rows:
        assert row["year"] == 2022
        assert row["model_lo_usd"] <= row["model_usd"] <= row["model_hi_usd"]
        obs = {(o.year, o.origin, o.destination): o.value_usd for o in observed}
        assert row["observed_usd"] == obs[(2022, row["origin"], row["destination"])]
        assert row["flat_usd"] == obs[(2021, row["origin"], row["destination"])]
        assert row["model_ape_pct"] == pytest.approx(
            100 * abs(row["model_usd"] / row["observed_usd"] - 1)
        )
    scores = result.scores()
    assert set(scores) == {"model", "trend", "flat", "drift"}
    assert math.isnan(scores["trend"]["coverage"]) and 0 <= scores["model"]["coverage"] <= 1
    text = result.to_text()
    assert "fit 2020-2021 -> test 2022" in text and "MAPE" in text
    written = result.write(tmp_path) + plot_backtest(result, tmp_path / "backtest")
    assert {p.name for p in written} == {
        "backtest.csv",
        "backtest.txt",
        "backtest.png",
        "backtest.svg",
    }
    assert (tmp_path / "backtest.csv").read_text().count("\n") == 3


def test_leave_one_out_makes_one_fold_per_year():
    scenario = small(end="2022-12")
    observed = _observed(scenario, (2020, 2021, 2022))
    one = [import_share_scale("A", "B")]
    result = backtest(scenario, leave_one_out=True, observed=observed, parameters=one, **FAST)
    assert [f.test_years for f in result.folds] == [[2020], [2021], [2022]]
    assert result.folds[0].fit_years == [2021, 2022]
    assert len(result.rows) == 6


def test_bad_windows_are_refused():
    scenario = small(end="2022-12")
    observed = _observed(scenario, (2020, 2021, 2022))
    with pytest.raises(CalibrationError, match="overlap"):
        backtest(scenario, fit=[2020, 2021], test=[2021], observed=observed, **FAST)
    with pytest.raises(CalibrationError, match="outside the scenario's horizon"):
        backtest(small(), fit=[2020, 2021], test=[2022], observed=observed, **FAST)
    with pytest.raises(CalibrationError, match=r"test years \[2025\] have no observed data"):
        backtest(scenario, fit=[2020], test=[2025], observed=observed, **FAST)


def test_backtest_command_errors_exit_2(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(Path(__file__).parent.parent)
    base = ["backtest", "scenarios/baseline.yaml", "--out", str(tmp_path / "o")]
    assert main([*base, "--fit", "2016-2017"]) == 2
    assert "--leave-one-out" in capsys.readouterr().err
    assert main([*base, "--fit", "2016-2017", "--test", "2019"]) == 2
    assert "test years [2019] have no observed data" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        main([*base, "--fit", "2017-2016", "--test", "2018"])
    assert exit_info.value.code == 2 and "expected years such as" in capsys.readouterr().err
    assert not (tmp_path / "o").exists()


def test_backtest_command_end_to_end_with_own_observed_file(tmp_path, capsys):
    from tradesim.io.observed import ObservedRecord, write_observed

    observed = _observed(small(end="2022-12"), (2020, 2021, 2022))
    records = [
        ObservedRecord(
            o.year,
            None,
            o.origin,
            o.destination,
            "export",
            "TOTAL",
            o.value_usd,
            None,
            "",
            "synthetic",
        )
        for o in observed
    ]
    write_observed(records, tmp_path / "obs.csv")
    out = tmp_path / "bt"
    args = [
        "backtest",
        str(Path(__file__).parent / "data" / "small.yaml"),
        "--set",
        "end=2022-12",
        "--fit",
        "2020-2021",
        "--test",
        "2022",
        "--observed",
        str(tmp_path / "obs.csv"),
        "--runs",
        "2",
        "--replications",
        "1",
        "--starts",
        "1",
        "--max-evaluations",
        "2",
        "--workers",
        "1",
        "--quiet",
        "--out",
        str(out),
    ]
    assert main(args) == 0
    text = capsys.readouterr().out
    assert "fit 2020-2021 -> test 2022" in text and "MAPE" in text
    names = {p.name for p in out.iterdir() if not p.name.startswith(".")}
    assert names == {"backtest.csv", "backtest.txt", "backtest.png", "backtest.svg"}
    assert main(args) == 2 and "--force" in capsys.readouterr().err
