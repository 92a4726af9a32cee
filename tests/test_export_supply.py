"""Commodity supply drivers: export availability (seasons, production paths) and the world
price of withdrawn supply (tradesim/model/export_supply.py)."""

from dataclasses import replace
from pathlib import Path

import numpy as np

from tradesim import load_scenario
from tradesim.model.export_supply import supply_alpha, withdrawn_price
from tradesim.model.policy import compile_policy
from tradesim.model.supply import closed_share
from tradesim.model.world import build_world

BASELINE = Path(__file__).parent.parent / "scenarios" / "baseline_calibrated.yaml"


def world(*overrides):
    return build_world(load_scenario(BASELINE, overrides=list(overrides)))


def test_seasons_average_one_and_lead_arrivals_by_the_shipping_time():
    w = world()
    k, us, br = w.sectors.index("soybeans"), w.regions.index("US"), w.regions.index("BR")
    year = slice(w.burn_in + 48, w.burn_in + 60)  # 2018, January to December
    # The year's mean is the production index (USDA 4.54 / 4.31 bn bu; CONAB 119.3 / 95.434
    # Mt), the season only shapes the months (the product is mean-preserving to 0.2%).
    for o, production in ((us, 4.54 / 4.31), (br, 119.3 / 95.434)):
        assert np.isclose(w.export_supply[year, o, k].mean(), production, rtol=2e-3)
    # China customs: US arrivals peak in January (20.7% of 2017), Brazil's in July (15.0%);
    # shipments leave lead_time_months (2) earlier: November and May.
    season = w.export_supply[year] / w.export_supply[year].mean(axis=0)
    assert int(np.argmax(season[:, us, k])) == 10
    assert int(np.argmax(season[:, br, k])) == 4
    assert np.isclose(season[:, us, k].max(), 12 * 0.2067, rtol=0.01)


def test_russian_production_path_gives_the_annual_rosstat_ratios():
    w = world()
    k, ru = w.sectors.index("soybeans"), w.regions.index("RU")
    annual = w.export_supply[w.burn_in + 24 : w.burn_in + 60, ru, k].reshape(3, 12).mean(axis=1)
    assert np.allclose(annual, [1.0, 3.58 / 3.10, 3.93 / 3.10], atol=1e-3)  # 2016-2018


def test_availability_scales_import_weights_only_and_switches_off():
    w = world()
    row = w.burn_in + 50
    alpha = np.ones((w.n_regions, w.n_regions, w.n_sectors))
    scaled = supply_alpha(w, row, alpha)
    d = np.arange(w.n_regions)
    assert np.all(scaled[d, d, :] == 1.0)  # home sales are not exports
    k, us, cn = w.sectors.index("soybeans"), w.regions.index("US"), w.regions.index("CN")
    assert scaled[cn, us, k] == w.export_supply[row, us, k] != 1.0
    off = world("parameters.export_supply=false")
    assert np.all(off.export_supply == 1.0)
    assert supply_alpha(off, row, alpha) is alpha


def test_world_price_rises_by_the_withdrawn_share_over_the_elasticity():
    w = world()
    base = compile_policy(w, [], [], 0)
    assert withdrawn_price(w, base) is base  # nothing barred: exogenous prices untouched
    al, ru, us = w.sectors.index("aluminium"), w.regions.index("RU"), w.regions.index("US")
    embargo = base.embargo.copy()
    embargo[us, ru, al] = True
    barred = np.zeros_like(base.tariff)
    barred[w.regions.index("EU"), ru, al] = 0.5
    policy = replace(base, embargo=embargo, barred=barred)
    out = withdrawn_price(w, policy)
    c = closed_share(w, policy)[ru, al]
    assert 0 < c < 1
    expected = (1.0 - 0.0585 * c) ** (-1.0 / 0.3)  # Rusal's 5.85% of world output, eps 0.3
    assert np.isclose(out.world_price[al], expected)
    others = np.arange(w.n_sectors) != al
    assert np.all(out.world_price[others] == 1.0)
    off = build_world(load_scenario(BASELINE, overrides=["parameters.world_price_elasticity=null"]))
    assert withdrawn_price(off, policy) is policy
