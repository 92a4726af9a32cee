"""Every bundled scenario validates, runs (small populations, short burn-in) and moves the
outcome its header claims, in the claimed direction, against the same scenario without its
shocks (common random numbers: same seed, the origin race couples the two runs)."""

from pathlib import Path

import pytest

from tradesim import load_scenario, simulate

SCENARIOS = Path(__file__).parent.parent / "scenarios"
SMALL = [
    "population.buyers_per_sector=1500",
    "population.firms_per_sector=30",
    "burn_in_months=12",
]


def flow(origin, destination, sector=None, currency=None):
    def select(ds):
        da = ds.shipped_usd.sel(origin=origin, destination=destination)
        if sector:
            da = da.sel(sector=sector)
        if currency:
            da = da.sel(currency=currency)
        return float(da.sum())

    return select


def share(currency, a="CN", b="RU"):
    def select(ds):
        both = ds.shipped_usd.sel(origin=[a, b], destination=[a, b]).sum(["sector", "month"])
        both = both.where(both.origin != both.destination, 0.0).sum(["origin", "destination"])
        return float(both.sel(currency=currency) / both.sum())

    return select


def frozen(ds):
    return float(ds.frozen_usd.sum())


# file -> (what it claims, outcome, direction, months the claim is about)
CLAIMS = {
    "baseline.yaml": ("runs", None, None, None),
    "baseline_calibrated.yaml": ("runs (the fit is checked in benchmarks)", None, None, None),
    "soybean_tariff_2018.yaml": (
        "CN imports of US agriculture fall",
        flow("US", "CN", "agriculture"),
        "down",
        ("2018-07", None),
    ),
    "us_china_tariff_rounds_2018_2019.yaml": (
        "US imports from CN fall",
        flow("CN", "US"),
        "down",
        ("2018-07", None),
    ),
    "lng_tariffs_2018_2019.yaml": (
        "CN energy imports from the US fall",
        flow("US", "CN", "energy"),
        "down",
        ("2018-10", None),
    ),
    "rusal_sanctions_2018.yaml": (
        "RU metals exports to the US stop",
        flow("RU", "US", "metals"),
        "zero",
        ("2018-05", "2018-12"),
    ),
    "national_currency_settlement.yaml": (
        "CNY share of CN-RU settlement rises",
        share("CNY"),
        "up",
        ("2018-01", None),
    ),
    "swift_cutoff.yaml": (
        "USD share of CN-RU settlement falls",
        share("USD"),
        "down",
        ("2018-03", None),
    ),
    "ruble_depreciation.yaml": (
        "CN exports to RU fall",
        flow("CN", "RU"),
        "down",
        ("2018-06", None),
    ),
    "oil_price_collapse.yaml": (
        "RU exports to CN fall in value",
        flow("RU", "CN"),
        "down",
        ("2018-12", None),
    ),
    "pipeline_capacity.yaml": (
        "RU energy exports to CN rise",
        flow("RU", "CN", "energy"),
        "up",
        ("2020-01", None),
    ),
    "us_sanctions_russia_2018.yaml": ("payments are frozen", frozen, "up", ("2018-05", None)),
}


def bundled() -> set[str]:
    """The scenario files that ship (tracked by git), not a user's own files beside them
    (`tradesim new --out scenarios` is allowed and must not break the suite)."""
    import subprocess

    try:
        proc = subprocess.run(
            ["git", "ls-files", "*.yaml"], cwd=SCENARIOS, capture_output=True, text=True
        )
    except OSError:
        proc = None
    if proc is None or proc.returncode != 0 or not proc.stdout.strip():
        return set(CLAIMS) & {p.name for p in SCENARIOS.glob("*.yaml")}  # no git: a tarball
    return {Path(line).name for line in proc.stdout.split()}


def test_every_bundled_scenario_has_a_claim():
    assert bundled() == set(CLAIMS)


@pytest.mark.parametrize("name", sorted(CLAIMS))
def test_scenario_moves_what_it_claims(name):
    claim, outcome, direction, months = CLAIMS[name]
    scenario = load_scenario(SCENARIOS / name, overrides=SMALL)
    assert scenario.description, "every scenario says what it models"
    text = (SCENARIOS / name).read_text()
    assert text.startswith("#") and "ource" in text.split("\nname:")[0], "header with sources"
    result = simulate(scenario, check=True)
    if outcome is None:
        assert float(result.data.shipped_usd.sum()) > 0
        return
    without = simulate(scenario.model_copy(update={"shocks": []}))
    period = slice(*months)
    alt = outcome(result.data.sel(month=period))
    base = outcome(without.data.sel(month=period))
    if direction == "down":
        assert alt < 0.99 * base, (claim, base, alt)
    elif direction == "up":
        assert alt > 1.01 * base + 1e-9, (claim, base, alt)
    else:
        assert base > 0 and alt == 0.0, (claim, base, alt)
