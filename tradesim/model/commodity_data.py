"""Shipped commodity supply data, read into arrays when a World is built.

Two files in tradesim/data, each row with its source:

* ``export_supply.csv``: an origin's export availability in a commodity sector, as
  ``seasonal_share`` rows (the share of a year's exports that arrive in each calendar month)
  and ``production_index`` rows (annual production relative to the base year 2016). The
  monthly availability index is 12 x seasonal share (mean 1 over a year) times the
  production index interpolated to months (mean-preserving, as every annual path).
* ``world_output_shares.csv``: an origin's share of world output of a commodity, for the
  world-price response to withdrawn supply (tradesim/model/export_supply.py).

Rows naming a region or a sector the scenario does not have are ignored: the files describe
the world, a scenario picks what it models.
"""

from __future__ import annotations

import csv
import datetime as dt
from pathlib import Path

import numpy as np
from numpy.typing import NDArray

__all__ = ["DATA", "export_supply_index", "world_output_shares"]

F64 = NDArray[np.float64]
DATA = Path(__file__).resolve().parent.parent / "data"


def _rows(name: str) -> list[dict[str, str]]:
    with open(DATA / name, newline="") as fh:
        return list(csv.DictReader(fh))


def export_supply_index(
    regions: tuple[str, ...],
    sectors: tuple[str, ...],
    start: dt.date,
    months: NDArray[np.int64],
    lead_months: NDArray[np.int64],
) -> F64:
    """(T, O, S) export availability index of each origin and sector, 1 where no data.

    months are the run's months (burn-in negative). Seasonal shares are shares of
    *arrivals* (customs record imports when they arrive), so the index of a shipment month
    is the share of the month it arrives in, lead_months (S,) later. Seasonality cycles with
    the calendar month in every row, burn-in included; the production index is flat before
    its first and after its last year, like every exogenous path.
    """
    from tradesim.model.world import path_values  # world imports this module

    out = np.ones((len(months), len(regions), len(sectors)))
    seasonal: dict[tuple[int, int], F64] = {}
    production: dict[tuple[int, int], dict[str, float]] = {}
    for row in _rows("export_supply.csv"):
        if row["origin"] not in regions or row["sector"] not in sectors:
            continue
        key = (regions.index(row["origin"]), sectors.index(row["sector"]))
        if row["kind"] == "seasonal_share":
            seasonal.setdefault(key, np.zeros(12))[int(row["period"]) - 1] = float(row["value"])
        elif row["kind"] == "production_index":
            production.setdefault(key, {})[row["period"]] = float(row["value"])
        else:
            raise ValueError(f"export_supply.csv: unknown kind {row['kind']!r}")
    for (o, k), shares in seasonal.items():
        arrival = (start.month - 1 + months + lead_months[k]) % 12  # calendar month (0-11)
        out[:, o, k] *= 12.0 * shares[arrival] / shares.sum()
    for (o, k), path in production.items():
        out[:, o, k] *= path_values(path, start, months)
    return out


def world_output_shares(regions: tuple[str, ...], sectors: tuple[str, ...]) -> F64:
    """(O, S) each origin's share of world output of a commodity sector, 0 where no data."""
    out = np.zeros((len(regions), len(sectors)))
    for row in _rows("world_output_shares.csv"):
        if row["origin"] in regions and row["sector"] in sectors:
            out[regions.index(row["origin"]), sectors.index(row["sector"])] = float(row["share"])
    return out
