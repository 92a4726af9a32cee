"""Self-describing data: units, names and global attributes on every dataset, in memory and
on disk, and summaries with a numeric quantile dimension."""

import numpy as np
import xarray as xr

import tradesim
from tradesim.analysis.ensemble import single_pair_metrics
from tradesim.io.metadata import METRIC_ATTRS, VARIABLE_ATTRS

from .factories import small

GLOBAL = ("title", "scenario", "seed", "tradesim_version", "Conventions", "source")


def assert_described(ds: xr.Dataset) -> None:
    for name, var in ds.data_vars.items():
        for key in ("units", "long_name", "description"):
            assert var.attrs.get(key), (name, key)
    for key in GLOBAL:
        assert key in ds.attrs, key
    assert ds.attrs["Conventions"] == "CF-1.10"
    assert ds.attrs["tradesim_version"] == tradesim.__version__


def test_every_variable_of_a_run_has_units_and_names():
    result = tradesim.simulate(small(), seed=5)
    assert_described(result.data)
    assert result.data.attrs["scenario"] == "small" and result.data.attrs["seed"] == "5"
    assert result.data["tariff_rate"].attrs["units"] == "1"
    for da in (result.currency_shares("A", "B"), result.origin_shares("A")):
        assert da.attrs["units"] == "1" and "share" in da.attrs["long_name"]
    assert result.annual_bilateral().attrs["units"] == "USD"


def test_comparison_metrics_describe_themselves(tmp_path):
    base = tradesim.simulate(small())
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.2, "start": "2021-01"}
    alt = tradesim.simulate(small(shocks=[shock], name="tariff"))
    metrics = single_pair_metrics(base, alt)
    assert_described(metrics)
    assert metrics.attrs["base_scenario"] == "small"
    assert metrics["currency_share"].attrs["units"] == "1"
    assert "consumer, producer, tariff revenue" in metrics["welfare_usd"].attrs["description"]
    assert metrics["welfare_consumer_usd"].attrs["units"] == "USD"
    assert "tariff revenue" != metrics["welfare_usd"].attrs["long_name"]
    assert metrics["quantile"].values.tolist() == [0.5]  # one pair: no band
    metrics.to_netcdf(tmp_path / "m.nc", engine="scipy")
    with xr.open_dataset(tmp_path / "m.nc", engine="scipy") as back:
        assert_described(back)
    assert set(METRIC_ATTRS) <= {str(n) for n in metrics.data_vars}


def test_ensemble_summaries_have_a_numeric_quantile_and_a_mean(tmp_path):
    ens = tradesim.run_ensemble(small(), runs=3, out=tmp_path, executor="serial")
    assert_described(ens.run(0))
    summary = ens.summary(annual=True)
    assert_described(summary)
    assert summary["quantile"].dtype == np.float64
    assert summary["quantile"].values.tolist() == [0.05, 0.5, 0.95]
    assert "statistic" not in summary.dims
    assert summary["shipped_usd_mean"].dims == (
        "year",
        "origin",
        "destination",
        "sector",
        "currency",
    )
    ens.write_outputs()
    for name in ("summary_annual.nc", "summary_monthly.nc"):
        with xr.open_dataset(tmp_path / name, engine="scipy") as back:
            assert_described(back)
            assert back.attrs["runs"] == 3
    assert {k for k in VARIABLE_ATTRS if k in summary} <= set(summary.data_vars)
