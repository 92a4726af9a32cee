"""Trade on the routes a scenario is about (see `tradesim.scenario.focus`), as labelled
arrays: monthly or annual value shipped on each route, summed over the route's sectors and
the settlement currencies."""

from __future__ import annotations

from collections.abc import Sequence

import xarray as xr

from tradesim.scenario.focus import Route

__all__ = ["route_coords", "route_values"]


def route_coords(routes: Sequence[Route]) -> dict[str, tuple[str, list[str]]]:
    """Coordinates of a `route` dimension: its label, origin, destination and sectors."""
    return {
        "route": ("route", [r.label() for r in routes]),
        "route_origin": ("route", [r.origin for r in routes]),
        "route_destination": ("route", [r.destination for r in routes]),
        "route_sectors": ("route", [",".join(r.sectors) or "all" for r in routes]),
    }


def route_values(
    data: xr.Dataset, routes: Sequence[Route], *, annual: bool = True, variable: str = "shipped_usd"
) -> xr.DataArray:
    """(route, year) or (route, month): value of `variable` shipped on each route."""
    pieces = []
    for r in routes:
        da = data[variable].sel(origin=r.origin, destination=r.destination, drop=True)
        if r.sectors:
            da = da.sel(sector=list(r.sectors))
        da = da.sum([d for d in ("sector", "currency") if d in da.dims])
        pieces.append(da.groupby("month.year").sum() if annual else da)
    out = xr.concat(pieces, dim="route").assign_coords(route_coords(routes))
    return out.assign_attrs(data[variable].attrs)
