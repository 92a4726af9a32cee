"""Accounting invariants, on random valid scenarios with random shocks.

Each docstring names a deliberate bug the property catches (checked by planting it once).
"""

import numpy as np
import xarray as xr
from hypothesis import given

from tradesim import scenario_from_dict, simulate

from ..strategies import scenarios


def run(data):
    return simulate(scenario_from_dict(data)).data


@given(scenarios())
def test_exports_equal_imports(data):
    """Each origin's sales abroad, summed from its suppliers, equal what destinations record
    as imports from it, per sector and month, at one valuation (customs value, USD).

    Catches: swapping origin and destination when agent-to-agent flows are aggregated
    (`.transpose(2, 1, 0, 3)` for `.transpose(1, 2, 0, 3)` in the engine's step)."""
    d = run(data)
    imports = d.shipped_usd.where(d.origin != d.destination, 0.0).sum(["destination", "currency"])
    scale = max(1.0, float(d.shipped_usd.sum()))
    np.testing.assert_allclose(imports, d.exports_usd, rtol=1e-9, atol=1e-12 * scale)


@given(scenarios())
def test_shipments_and_payments_balance(data):
    """shipped = delivered + change in transit; delivered (now due) = settled + frozen +
    change in pending; the frozen stock is the sum of frozen payments.

    Catches: a payment process that pays a cohort without taking it out of `pending`."""
    d = run(data)
    first = {"month": 0}
    # Float rounding only: absolute tolerance scaled to the size of the flows.
    atol = 1e-12 * max(1.0, float(d.shipped_usd.sum()))
    transit = d.in_transit_usd.diff("month")
    expected = (d.shipped_usd - d.delivered_usd).isel(month=slice(1, None))
    xr.testing.assert_allclose(transit, expected, atol=atol)
    pending = d.pending_usd.diff("month")
    due = d.delivered_usd - d.settled_usd - d.frozen_usd
    xr.testing.assert_allclose(pending, due.isel(month=slice(1, None)), atol=atol)
    frozen = d.frozen_stock_usd - d.frozen_stock_usd.isel(first) + d.frozen_usd.isel(first)
    xr.testing.assert_allclose(frozen, d.frozen_usd.cumsum("month"), atol=atol)


@given(scenarios())
def test_tariff_revenue_is_rate_times_dutiable_value(data):
    """Catches: charging the origin's tariff on its own imports (rate[o, d] for rate[d, o])."""
    d = run(data)
    expected = d.tariff_rate * d.shipped_usd.sum("currency")
    xr.testing.assert_allclose(d.tariff_revenue_usd, expected)


@given(scenarios())
def test_no_negative_or_nonfinite_values(data):
    """No negative flow, stock, price or capacity; no NaN or infinity anywhere.

    Catches: a rationing ratio computed as min(1, capacity / units) without guarding firms
    that sold nothing (0 / 0 puts NaN into every flow of the firm)."""
    d = run(data)
    undefined = d.buyer_price_index.isnull()
    # The one undefined value: a buyer price index where every supplier is closed (a CES
    # index over no varieties). There, nothing is bought.
    bought = d.shipped_usd.sum(["origin", "currency"])
    assert (bought.where(undefined, 0.0) == 0.0).all()
    for name, da in d.drop_vars("buyer_price_index").data_vars.items():
        assert np.isfinite(da.values).all(), name
        assert (da.values >= 0).all(), name
    index = d.buyer_price_index.where(~undefined, 1.0)
    assert np.isfinite(index.values).all() and (index.values > 0).all()


@given(scenarios())
def test_currency_shares_lie_in_unit_interval_and_sum_to_one(data):
    """`currency_shares` on every route with trade, one way and both ways.

    Catches: dividing the two-way currency values by the one-way total."""
    result = simulate(scenario_from_dict(data))
    regions = list(result.data.origin.values)
    value = result.data.shipped_usd.groupby("month.year").sum().sum(["sector", "currency"])
    for o in regions:
        for d in regions:
            if o == d:
                continue
            for both in (False, True):
                share = result.currency_shares(o, d, both_ways=both)
                traded = value.sel(origin=o, destination=d) + both * value.sel(
                    origin=d, destination=o
                )
                assert ((share >= 0) & (share <= 1 + 1e-12)).all()
                total = share.sum("currency")
                np.testing.assert_allclose(total.where(traded > 0, 1.0), 1.0, rtol=1e-9)
                assert (total.where(traded == 0, 0.0) == 0).all()


@given(scenarios())
def test_origin_shares_lie_in_unit_interval_and_sum_to_one(data):
    """Catches: shares normalized over all destinations instead of the one asked for."""
    result = simulate(scenario_from_dict(data))
    for destination in result.data.destination.values:
        share = result.origin_shares(str(destination))
        bought = result.data.shipped_usd.sel(destination=destination).sum(["origin", "currency"])
        bought = bought.groupby("month.year").sum()
        assert ((share >= 0) & (share <= 1 + 1e-12)).all()
        total = share.sum("origin")
        np.testing.assert_allclose(total.where(bought > 0, 1.0), 1.0, rtol=1e-9)
        assert (total.where(bought == 0, 0.0) == 0).all()
