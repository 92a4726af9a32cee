"""Summaries across runs: a numeric `quantile` dimension plus a mean.

Every summary across runs (an ensemble's, a comparison's paired differences) holds, for each
variable NAME, the variable NAME with a leading `quantile` dimension (the median, 0.5, and
the band quantiles, ascending; selected as ``.sel(quantile=0.05)``) and NAME_mean, the mean
across runs. A summary of a single run holds the median (the run itself) and no band.
"""

from __future__ import annotations

from collections.abc import Hashable, Iterable, Sequence
from typing import Any

import numpy as np
import xarray as xr

__all__ = [
    "MEDIAN",
    "across_runs",
    "band",
    "band_label",
    "bands_table",
    "quantile_levels",
]

MEDIAN = 0.5


def quantile_levels(quantiles: Iterable[float]) -> list[float]:
    """The quantiles a summary holds: the median and the band quantiles, ascending."""
    return sorted({MEDIAN, *(float(q) for q in quantiles)})


def quantile_coord(levels: Sequence[float]) -> xr.DataArray:
    """The `quantile` coordinate, with its CF-style attributes."""
    return xr.DataArray(
        np.asarray(levels, dtype=float),
        dims="quantile",
        attrs={"long_name": "quantile across runs", "units": "1"},
    )


def across_runs(stacked: xr.Dataset, quantiles: Sequence[float], dim: str = "run") -> xr.Dataset:
    """Mean and quantiles along `dim` of every variable of `stacked` (see the module notes).

    NaN is kept, not skipped: a quantity undefined in one run is undefined in the summary.
    """
    levels = quantile_levels(quantiles) if stacked.sizes[dim] > 1 else [MEDIAN]
    q = stacked.quantile(levels, dim=dim, skipna=False).assign_coords(
        quantile=quantile_coord(levels)
    )
    mean = stacked.mean(dim, keep_attrs=True)
    out = xr.Dataset(attrs=dict(stacked.attrs))
    for name in stacked.data_vars:
        out[name] = q[name].assign_attrs(stacked[name].attrs)
        out[f"{name}_mean"] = mean[name].assign_attrs(stacked[name].attrs)
    return out


def band(data: xr.Dataset | xr.DataArray) -> tuple[float, float] | None:
    """The lowest and highest quantile of a summary, or None if it has no band."""
    if "quantile" not in data.coords:
        return None
    levels = [float(v) for v in np.atleast_1d(data["quantile"].values)]
    lo, hi = min(levels), max(levels)
    return (lo, hi) if lo < hi else None


def band_label(limits: tuple[float, float]) -> str:
    """'5–95% band' for (0.05, 0.95)."""
    lo, hi = limits
    return f"{lo * 100:g}–{hi * 100:g}% band"


def bands_table(summary: xr.Dataset, name: str, *, drop: Sequence[Hashable] = ()) -> Any:
    """A tidy table of one summarized variable: its dimensions, then `mean` and one column
    per quantile (q0.05, q0.5, ...), as a pandas DataFrame."""
    table = summary[f"{name}_mean"].to_dataframe(name="mean")[["mean"]]
    for level in np.atleast_1d(summary["quantile"].values):
        column = summary[name].sel(quantile=level, drop=True).to_dataframe(name=f"q{level:g}")
        table = table.join(column[[f"q{level:g}"]])
    return table.reset_index().drop(columns=list(drop), errors="ignore")
