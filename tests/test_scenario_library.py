"""Every bundled scenario validates, runs (small populations, short burn-in) and moves the
outcome its header claims, in the claimed direction, against the same scenario with only
the baseline's shocks (common random numbers: same seed, the origin race couples the two
runs). The commodity episodes are then held to their real records
(test_episode_*; the full-size figures are printed by benchmarks/episodes.py)."""

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
        "CN imports of US soybeans fall",
        flow("US", "CN", "soybeans"),
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
        "CN LNG imports from the US fall",
        flow("US", "CN", "lng"),
        "down",
        ("2018-10", None),
    ),
    "rusal_sanctions_2018.yaml": (
        "RU aluminium exports to the US stop",
        flow("RU", "US", "aluminium"),
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
        "RU pipeline gas to CN flows once Power of Siberia opens",
        flow("RU", "CN", "pipeline_gas"),
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


def parent_shocks(name, overrides):
    """The shocks of the file a bundled scenario extends (the calibrated baseline)."""
    import yaml

    parent = yaml.safe_load((SCENARIOS / name).read_text()).get("extends", name)
    return list(load_scenario(SCENARIOS / parent, overrides=overrides).shocks)


def own_shocks_removed(scenario, name):
    """The scenario with its parent's shocks only (those it overrides by id included)."""
    return scenario.model_copy(update={"shocks": parent_shocks(name, SMALL)})


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
    without = simulate(own_shocks_removed(scenario, name))
    period = slice(*months)
    alt = outcome(result.data.sel(month=period))
    base = outcome(without.data.sel(month=period))
    if direction == "down":
        assert alt < 0.99 * base, (claim, base, alt)
    elif direction == "up":
        assert alt > 1.01 * base + 1e-9, (claim, base, alt)
    else:
        assert base > 0 and alt == 0.0, (claim, base, alt)


# ---------------------------------------------------------------------- the episodes
# Figures of the record: China customs via Reuters, macauhub and Xinhua (soybeans), Reuters
# ship tracking (LNG cargoes), Reuters and Metal Bulletin (LME aluminium); rows and sources in
# tradesim/data/commodities.csv. The model's figures at full size: benchmarks/episodes.py.
EPISODE = [
    "population.buyers_per_sector=6000",
    "population.firms_per_sector=40",
    "burn_in_months=12",
]


def episode(name, seed=1):
    scenario = load_scenario(SCENARIOS / name, overrides=EPISODE)
    base = scenario.model_copy(update={"shocks": parent_shocks(name, EPISODE)})
    return simulate(scenario, seed=seed).data, simulate(base, seed=seed).data


def within(model, record, factor=1.5):
    """The model's figure has the record's sign and is within a factor of it."""
    return model * record > 0 and 1 / factor <= model / record <= factor


def test_episode_soybean_tariff_diverts_to_brazil_and_russia_as_recorded():
    """2017 -> 2018 (China customs): the US share of China's soybean imports fell 15.6
    points (34.4% -> 18.9%), imports from Brazil rose 15.2 Mt, from Russia 0.32 Mt.

    With the origins' harvest seasons (US arrivals mostly September-February, Brazil's
    March-August, China customs 2017) and their production paths (Rosstat for Russia, 3.10 ->
    3.58 -> 3.93 Mt; CONAB for Brazil, 95.4 -> 114.1 -> 119.3 Mt; USDA for the US, 4.31 ->
    4.39 -> 4.54 bn bu), the model at full size (benchmarks/episodes.py, 9 seeds) gives the
    fall of the US share 0.70 of the record, Brazil's gain 0.71 and Russia's 0.92, all within
    the factor 1.5 asked. Held here: all three within 1.5."""
    data, base = episode("soybean_tariff_2018.yaml")
    q = data.quantity.sel(commodity="soybeans", destination="CN")
    imports = q.where(q.origin != "CN", 0.0)

    def year(origin, y):
        return float(imports.sel(origin=origin, month=y).sum()) / 1e6

    def us_share(y):
        return year("US", y) / (float(imports.sel(month=y).sum()) / 1e6)

    fall = 100 * (us_share("2018") - us_share("2017"))
    assert within(fall, 100 * (16.6 / 88.03 - 32.9 / 95.54)), fall
    assert within(year("BR", "2018") - year("BR", "2017"), 66.1 - 50.9)
    assert within(year("RU", "2018") - year("RU", "2017"), 0.817 - 0.496)
    qb = base.quantity.sel(commodity="soybeans", destination="CN", origin="RU", month="2018")
    assert year("RU", "2018") > float(qb.sum()) / 1e6


def test_episode_lng_tariff_stops_us_lng_to_china_and_russia_gains():
    """Reuters: 14 US LNG cargoes to China in January-April 2018, none in March-April 2019.
    The claim: US LNG to China in March-April 2019 at most 30% of a year earlier, and
    Russian LNG to China up against the same months without the tariff."""
    data, base = episode("lng_tariffs_2018_2019.yaml")
    q = data.quantity.sel(commodity="lng", destination="CN")

    def spring(da, y):
        return float(da.sel(month=[f"{y}-03", f"{y}-04"]).sum())

    us = q.sel(origin="US")
    assert spring(us, 2019) <= 0.30 * spring(us, 2018)
    qb = base.quantity.sel(commodity="lng", destination="CN", origin="RU")
    assert spring(q.sel(origin="RU"), 2019) > spring(qb, 2019)


def test_episode_rusal_raises_the_aluminium_price_and_diverts_russian_metal_to_china():
    """April 2018: LME aluminium up about 20% within two weeks of the designation (Reuters);
    China's imports of Russian primary aluminium up from 1.2 kt in Q3 2018 to 56 kt in Q4
    (China customs). The claim: the sanctioning side pays more for aluminium (over
    April-June within a factor 1.5 of the LME's monthly-average rise), Russian aluminium
    goes to China more than it would have, and Rusal sells below the market. (Rusal's
    realised price rose with the LME in 2018, +7.3%, commodities.csv: its discount is against
    the market, not against its own price of 2017.)"""
    data, base = episode("rusal_sanctions_2018.yaml")
    months = slice("2018-05", "2018-12")

    def price(d, region):
        index = d.buyer_price_index.sel(sector="aluminium", destination=region, month=months)
        return float(index.mean())

    def ru_to_cn(d):
        q = d.quantity.sel(commodity="aluminium", origin="RU", destination="CN", month=months)
        return float(q.sum())

    def ru_price(d):
        # Relative to the rest of the world's metal: the world price itself rises.
        p = d.unit_price_usd.sel(commodity="aluminium", month=months)
        return float(p.sel(origin="RU").mean() / p.sel(origin="ROW").mean())

    for region in ("US", "SC", "EU"):
        assert price(data, region) > price(base, region), region
    # The world price of withdrawn supply: LME monthly averages April-June 2018 +9.4% over
    # March (World Bank Pink Sheet); the model's price paid in the US over the same months.
    spring = slice("2018-04", "2018-06")
    us = data.buyer_price_index.sel(sector="aluminium", destination="US", month=spring).mean()
    us_b = base.buyer_price_index.sel(sector="aluminium", destination="US", month=spring).mean()
    lme = 100 * ((2254.69 + 2299.67 + 2237.62) / 3 / 2069.24 - 1)
    assert within(100 * float(us / us_b - 1), lme)
    assert ru_to_cn(data) > 1.2 * ru_to_cn(base)
    assert ru_price(data) < ru_price(base)  # Rusal discounts against the market
