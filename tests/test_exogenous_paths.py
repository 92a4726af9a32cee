"""The baseline's exogenous paths against the shipped data they come from."""

import csv
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).parent.parent
NOMINAL = ROOT / "tradesim" / "data" / "nominal_gdp.csv"
BASELINE = ROOT / "scenarios" / "baseline.yaml"
YEARS = (2016, 2017, 2018)


@pytest.fixture(scope="module")
def nominal():
    with NOMINAL.open(encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert all(r["source"].strip() for r in rows), "every row carries its source"
    return {(r["region"], int(r["year"]), r["currency"]): float(r["value"]) for r in rows}


@pytest.fixture(scope="module")
def baseline():
    data = yaml.safe_load(BASELINE.read_text(encoding="utf-8"))
    return {**data["economies"], **data["external_regions"]}, data["currencies"]


def test_demand_times_deflator_is_nominal_gdp_in_the_model_currency(nominal, baseline):
    regions, _currencies = baseline
    for name, spec in regions.items():
        currency = spec["currency"]
        for year in YEARS:
            index = nominal[(name, year, currency)] / nominal[(name, 2016, currency)]
            path = spec["demand"][year] * spec["deflator"][year]
            assert path == pytest.approx(index, abs=5e-4), (name, year)


def test_local_currency_gdp_at_the_baseline_rates_is_the_usd_figure(nominal, baseline):
    """The nominal series and the exchange-rate paths agree (annual averages)."""
    regions, currencies = baseline
    for name in ("CN", "RU", "EU"):
        currency = regions[name]["currency"]
        for year in YEARS:
            usd = nominal[(name, year, currency)] / currencies[currency]["per_usd"][year]
            assert usd == pytest.approx(nominal[(name, year, "USD")], rel=2e-3), (name, year)
