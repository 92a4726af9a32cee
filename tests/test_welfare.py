"""Welfare by region: the CES closed form, signs of the classic cases, accounting."""

from __future__ import annotations

import math

import numpy as np
import pytest

from tradesim import scenario_from_dict, simulate
from tradesim.analysis.welfare import WELFARE_COMPONENTS, paired_metrics, welfare

from .factories import frictionless, small_dict


def _pair(data, shocks):
    base = scenario_from_dict({**data, "shocks": []})
    alt = scenario_from_dict({**data, "shocks": shocks})
    return simulate(base).data, simulate(alt).data, alt


def test_tariff_matches_the_ces_closed_form():
    """CES limit (renewal every month, unlimited capacity, fixed prices): a tariff t on an
    origin with share s raises the destination's CES price index by
    P1/P0 = (s (1+t)^(1-sigma) + 1 - s)^(1/(1-sigma)); with spending E fixed the buyers'
    equivalent variation is -E ln(P1/P0) a month, and the importer's welfare adds the
    tariff revenue t/(1+t) E s', s' = s (1+t)^(1-sigma) / (s (1+t)^(1-sigma) + 1 - s)."""
    data = frictionless(start="2020-01", end="2020-12", burn_in_months=0)
    data["population"] = {"buyers_per_sector": 50_000, "firms_per_sector": 20}
    shock = {
        "type": "tariff",
        "importer": "A",
        "origin": "B",
        "rate": 0.2,
        "sectors": ["energy"],
        "start": "2020-07",
    }
    base, alt, scenario = _pair(data, [shock])
    w = welfare(base, alt, scenario, annual=False).sel(region="A")
    s, sigma, t, spending = 0.3, 5.0, 0.2, 100e9 / 12
    x = s * (1 + t) ** (1 - sigma) + 1 - s
    ev = -spending * math.log(x ** (1 / (1 - sigma)))
    revenue = t / (1 + t) * spending * s * (1 + t) ** (1 - sigma) / x
    after = slice("2020-07", "2020-12")
    # The index form is the logit log-sum itself: exact.
    index = w["consumer_index_usd"].sel(month=after).values
    np.testing.assert_allclose(index, ev, rtol=1e-6)
    # The realized allocation of 50,000 buyers renewing every month: within 1%.
    assert float(w["consumer_usd"].sel(month=after).mean()) == pytest.approx(ev, rel=0.01)
    harberger = w["consumer_usd"] + w["tariff_revenue_usd"]
    assert float(harberger.sel(month=after).mean()) == pytest.approx(ev + revenue, rel=0.02)
    # The rest is fees and hedging saved on imports from B that stopped: small.
    total = float(w["welfare_usd"].sel(month=after).mean())
    assert total == pytest.approx(ev + revenue, rel=0.05)
    assert total < 0  # no terms-of-trade gain with fixed prices: a pure Harberger loss
    assert float(abs(w["welfare_usd"].sel(month=slice("2020-01", "2020-06"))).max()) < 1e-6


def _small_pair(shocks, **params):
    data = small_dict(start="2020-01", end="2020-12", burn_in_months=3)
    data["population"] = {"buyers_per_sector": 2000, "firms_per_sector": 10}
    data["parameters"] = {**data["parameters"], **params}
    return _pair(data, shocks)


def test_a_depreciation_is_not_a_gain():
    """B's currency 30% weaker: its goods are cheaper in USD at home and abroad. Its buyers'
    gain on home goods is its producers' loss; its exports fetch less."""
    shock = {"type": "exchange_rate", "currency": "BBC", "change": 0.3, "start": "2020-04"}
    base, alt, scenario = _small_pair([shock])
    w = welfare(base, alt, scenario).sum("year")
    assert float(w["welfare_usd"].sel(region="B")) < 0
    assert float(w["terms_of_trade_usd"].sel(region="B")) < 0
    assert float(w["consumer_usd"].sel(region="B")) > 0  # home goods cheaper in USD ...
    assert float(w["producer_usd"].sel(region="B")) < -float(w["consumer_usd"].sel(region="B"))


def test_a_fall_in_the_price_of_what_a_region_exports_is_a_loss_for_it():
    """Energy's world price halves. B exports energy (to A and X) and imports little: it
    loses; X imports it on net and gains; the world's gain is second order."""
    shock = {"type": "world_price", "sector": "energy", "change": -0.5, "start": "2020-04"}
    base, alt, scenario = _small_pair([shock])
    w = welfare(base, alt, scenario).sum("year")
    assert float(w["welfare_usd"].sel(region="B")) < 0
    assert float(w["welfare_usd"].sel(region="X")) > 0
    world = float(w["welfare_usd"].sum())
    gross = float(w["consumer_usd"].sum())
    assert abs(world) < 0.05 * gross
    assert float(w["terms_of_trade_usd"].sum()) == pytest.approx(0.0, abs=1e-6 * gross)


def test_an_embargo_and_a_cutoff_are_losses():
    embargo = {
        "type": "sanction",
        "imposer": "A",
        "target": "B",
        "start": "2020-04",
        "trade": {"sectors": "all"},
    }
    base, alt, scenario = _small_pair([embargo])
    w = welfare(base, alt, scenario).sum("year")
    assert float(w["welfare_usd"].sel(region="A")) < 0
    assert float(w["welfare_usd"].sel(region="B")) < 0
    assert float(w["consumer_index_usd"].sel(region="A")) < 0
    cutoff = {
        "type": "sanction",
        "imposer": "X",
        "target": "B",
        "start": "2020-04",
        "financial": {"cutoff_share": 0.6, "freeze_probability": 0.05},
    }
    base, alt, scenario = _small_pair([cutoff])
    w = welfare(base, alt, scenario).sum("year")
    assert float(w["frozen_loss_usd"].sel(region="B")) < 0
    assert float(w["welfare_usd"].sel(region="B")) < 0


def test_components_add_up_and_paired_metrics_carry_them():
    shock = {"type": "tariff", "importer": "A", "origin": "X", "rate": 0.25, "start": "2020-03"}
    base, alt, scenario = _small_pair([shock])
    w = welfare(base, alt, scenario)
    total = sum(w[c] for c in WELFARE_COMPONENTS)
    np.testing.assert_allclose(w["welfare_usd"].values, total.values, rtol=1e-12)
    assert float(w["smart_revenue_usd"].sel(region="A").sum()) > 0
    assert float(w["smart_consumer_surplus_usd"].sel(region="A").sum()) < 0
    m = paired_metrics(base, alt, scenario)
    for name in ("welfare_usd", "welfare_consumer_usd", "bilateral_usd", "currency_share"):
        assert name in m
    assert np.isfinite(m["welfare_usd"]).all()
