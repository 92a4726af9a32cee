"""Currency shares by direction in the API, the run outputs, compare and ensembles."""

import numpy as np
import pandas as pd
import pytest

from tradesim import compare, run_ensemble, simulate
from tradesim.io.results import comparison_metrics, write_outputs

from .factories import small


@pytest.fixture(scope="module")
def result():
    return simulate(small())


def test_direction_shares_are_shares_by_direction_annual_and_quarterly(result):
    annual = result.direction_currency_shares()
    quarterly = result.direction_currency_shares(freq="quarter", by_sector=True)
    assert list(annual.period.values) == ["2020", "2021"]
    assert quarterly.period.values[0] == "2020-Q1" and len(quarterly.period) == 8
    assert set(quarterly.dims) == {"period", "origin", "destination", "sector", "currency"}
    totals = annual.sum("currency")
    traded = result.data.shipped_usd.sum(["sector", "currency"]).groupby("month.year").sum()
    for o in annual.origin.values:
        for d in annual.destination.values:
            expect = 0.0 if o == d or float(traded.sel(origin=o, destination=d).sum()) == 0 else 1.0
            assert np.allclose(totals.sel(origin=o, destination=d), expect)
    # A direction's share is its own value, not pooled with the other direction.
    flow = result.data.shipped_usd.sel(origin="B", destination="A", month=slice("2021", "2021"))
    value = flow.sum(["month", "sector"])
    expected = value / value.sum()
    assert np.allclose(annual.sel(period="2021", origin="B", destination="A"), expected)


def test_run_outputs_write_the_direction_table(result, tmp_path):
    written = {p.name for p in write_outputs(result, tmp_path, formats=("csv",))}
    assert "currency_shares_by_direction.csv" in written
    table = pd.read_csv(tmp_path / "currency_shares_by_direction.csv")
    assert {"period", "origin", "destination", "sector", "currency", "currency_share"} <= set(
        table.columns
    )
    assert {"2020", "2020-Q1"} <= set(table["period"].astype(str))
    total = table[(table.sector == "all")].groupby(["period", "origin", "destination"])
    assert np.allclose(total["currency_share"].sum(), 1.0)


def test_compare_reports_the_change_in_direction_shares(tmp_path):
    base = small()
    shock = {
        "type": "settlement_risk",
        "target": "B",
        "currencies": ["USD"],
        "premium": 0.01,
        "start": "2020-03",
    }
    alt = small(name="risk", shocks=[shock])
    one = comparison_metrics(simulate(base).data, simulate(alt).data, ["A", "B"])
    change = one["currency_share_change"].sel(year=2021, origin="A", destination="B")
    assert float(change.sel(currency="USD")) < 0.0
    pair = compare(base, alt, runs=2, out=tmp_path, executor="serial")
    assert "currency_share_change" in pair.metrics()
    bands = pair.alternative.direction_currency_shares(freq="quarter")
    assert "currency_share_mean" in bands and 0.5 in bands["quantile"].values
    written = pair.base.write_outputs()
    assert "currency_shares_by_direction_quarter.csv" in written


def test_ensemble_direction_shares_band_the_runs(tmp_path):
    ens = run_ensemble(small(), runs=2, out=tmp_path, executor="serial")
    stats = ens.direction_currency_shares()
    runs = [ens.run(i) for i in range(2)]
    from tradesim.io.currency import direction_currency_shares

    each = [direction_currency_shares(r) for r in runs]
    assert np.allclose(stats["currency_share_mean"], (each[0] + each[1]) / 2)
