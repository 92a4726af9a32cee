"""Settlement-currency shares by direction: origin -> destination, by sector, annual or
quarterly. The numbers an analyst quotes ("79% of China's payments to Russia were in
dollars in 2017") are shares of one direction's value, so every table here keeps the
direction; `currency_shares` in `results` pools both ways of a route.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Literal

import numpy as np
import xarray as xr

__all__ = [
    "Frequency",
    "direction_currency_shares",
    "direction_share_table",
    "period_labels",
    "share_statistics",
]

Frequency = Literal["year", "quarter"]


def period_labels(months: Any, freq: Frequency) -> np.ndarray[Any, Any]:
    """'2017' or '2017-Q1' for each month."""
    index = xr.DataArray(months, dims="month")
    year = index.dt.year.values
    if freq == "year":
        return np.array([f"{y}" for y in year])
    if freq == "quarter":
        quarter = (index.dt.month.values - 1) // 3 + 1
        return np.array([f"{y}-Q{q}" for y, q in zip(year, quarter, strict=True)])
    raise ValueError(f"freq must be 'year' or 'quarter', got {freq!r}")


def direction_currency_shares(
    data: xr.Dataset,
    *,
    freq: Frequency = "year",
    by_sector: bool = False,
    regions: Sequence[str] | None = None,
) -> xr.DataArray:
    """Share of each settlement currency in the value shipped from origin to destination.

    Returns (period, origin, destination, [sector,] currency) shares in [0, 1] that sum to 1
    over currencies where the direction traded in the period, 0 where it did not; domestic
    sales are excluded. `regions` limits both ends (default: every region).
    """
    flow = data["shipped_usd"]
    if regions is not None:
        flow = flow.sel(origin=list(regions), destination=list(regions))
    flow = flow.where(flow["origin"] != flow["destination"], 0.0)
    if not by_sector:
        flow = flow.sum("sector")
    labels = xr.DataArray(period_labels(flow["month"].values, freq), dims="month", name="period")
    value = flow.groupby(labels).sum()
    total = value.sum("currency")
    share = (value / total.where(total > 0)).fillna(0.0)
    share.attrs = {
        "units": "1",
        "description": f"{freq}ly settlement-currency share of value shipped, by direction",
    }
    return share.rename("currency_share")


def direction_share_table(data: xr.Dataset, agents: Sequence[str]) -> Any:
    """A long pandas table of annual and quarterly shares by direction, total and by sector,
    for the directions that touch an agent economy; columns period, origin, destination,
    sector ('all' for the total), currency, currency_share, value_usd."""
    import pandas as pd

    frames = []
    for freq in ("year", "quarter"):
        for by_sector in (False, True):
            share = direction_currency_shares(data, freq=freq, by_sector=by_sector)
            flow = data["shipped_usd"]
            if not by_sector:
                flow = flow.sum("sector")
            labels = xr.DataArray(
                period_labels(flow["month"].values, freq), dims="month", name="period"
            )
            value = flow.groupby(labels).sum()
            df = xr.Dataset({"currency_share": share, "value_usd": value}).to_dataframe()
            df = df.reset_index()
            if not by_sector:
                df.insert(3, "sector", "all")
            frames.append(df)
    table = pd.concat(frames, ignore_index=True)
    touches = table["origin"].isin(agents) | table["destination"].isin(agents)
    keep = touches & (table["origin"] != table["destination"]) & (table["value_usd"] > 0)
    cols = ["period", "origin", "destination", "sector", "currency", "currency_share", "value_usd"]
    return table.loc[keep, cols]


def share_statistics(
    runs: Sequence[xr.Dataset] | Any,
    quantiles: Sequence[float],
    *,
    freq: Frequency = "year",
    by_sector: bool = False,
    regions: Sequence[str] | None = None,
) -> xr.Dataset:
    """Summary across runs of `direction_currency_shares`, in the form of every tradesim
    summary (`tradesim.io.bands.across_runs`): `currency_share` by `quantile` (the median and
    the band) and `currency_share_mean`. Each run's shares come first, then the statistics,
    so a band is a band of shares, not a share of summed bands."""
    from tradesim.io.bands import across_runs

    per_run = [
        direction_currency_shares(ds, freq=freq, by_sector=by_sector, regions=regions)
        for ds in runs
    ]
    return across_runs(xr.concat(per_run, dim="run").to_dataset(), quantiles)
