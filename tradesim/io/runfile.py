"""One run's labelled arrays, and its NetCDF-3 file written without building a Dataset.

`label_run` names the arrays of a raw run (dimensions, coordinates, units, descriptions);
`tradesim.io.results.to_dataset` turns that into an xarray Dataset and `write_run_file`
writes it straight to a NetCDF-3 file (scipy's `netcdf_file`), as xarray's "scipy" engine
would: the same variables, CF encodings (months as integer days since the first, labels as
UTF-8 character arrays, NaN fill values) and attributes, so `xarray.open_dataset` reads the
two alike (tests/test_runfile.py checks it).

Why not `Dataset.to_netcdf`: an ensemble writes one file per run, in its worker process. In
a fresh process the first Dataset xarray builds imports dask.array, and its first NetCDF
write imports distributed, whenever they are installed (xarray checks every array for a
dask array, and the writer for a dask scheduler): 0.8 s per worker, as long as two runs of
the bundled baseline, paid by every worker of every ensemble (issue 16). Writing the
labelled arrays directly costs none of that and is as fast as xarray's writer once warm.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import numpy as np
from scipy.io import netcdf_file

from tradesim.io.metadata import VARIABLE_ATTRS
from tradesim.model.engine import RawRun

__all__ = ["LabelledRun", "label_run", "write_run_file"]

Dims = tuple[str, ...]
_INT32 = np.iinfo(np.int32)


@dataclass(frozen=True)
class LabelledRun:
    """A run's arrays with their dimensions and coordinates, burn-in months dropped.

    `coords` holds the index coordinates (month, origin, ...) and the auxiliary coordinate
    `commodity_unit`; `data_vars` the values; `attrs` the global attributes. Plain numpy and
    picklable: what a worker process hands back or writes.
    """

    coords: dict[str, tuple[Dims, np.ndarray[Any, Any]]]
    data_vars: dict[str, tuple[Dims, np.ndarray[Any, Any]]]
    attrs: dict[str, Any]

    def with_attrs(self, **attrs: Any) -> LabelledRun:
        return replace(self, attrs={**self.attrs, **attrs})


def label_run(raw: RawRun, attrs: Mapping[str, Any] | None = None) -> LabelledRun:
    """Name a raw run's arrays, dropping burn-in months; `attrs` are the global attributes
    (see `tradesim.io.metadata.global_attrs`)."""
    w = raw.world
    keep = slice(w.burn_in, None)
    coords: dict[str, tuple[Dims, np.ndarray[Any, Any]]] = {
        "month": (("month",), w.month_labels()),
        "origin": (("origin",), np.array(w.regions)),
        "destination": (("destination",), np.array(w.regions)),
        "sector": (("sector",), np.array(w.sectors)),
        "currency": (("currency",), np.array(w.currencies)),
        "region": (("region",), np.array(w.regions)),
    }
    full = ("month", "origin", "destination", "sector", "currency")
    data: dict[str, tuple[Dims, np.ndarray[Any, Any]]] = {}
    for name, arr in raw.flows.items():
        data[f"{name}_usd"] = (full, arr[keep])
    for name, arr in raw.stocks.items():
        data[f"{name}_usd"] = (full, arr[keep])
    data["relationships"] = (full, raw.relationships[keep])
    data["tariff_revenue_usd"] = (full[:4], raw.tariff_revenue[keep])
    data["tariff_rate"] = (full[:4], raw.tariff_rate[keep])
    data["price_wedge"] = (full[:4], raw.price_wedge[keep])
    data["exports_usd"] = (("month", "origin", "sector"), raw.exports[keep])
    data["price_index"] = (("month", "origin", "sector"), raw.price_index[keep])
    data["buyer_price_index"] = (("month", "destination", "sector"), raw.buyer_price_index[keep])
    data["outlay_usd"] = (full[:4], raw.outlay[keep])
    data["per_usd"] = (("month", "currency"), raw.per_usd[keep])
    data["demand_index"] = (("month", "region"), raw.demand[keep])
    data["world_price_index"] = (("month", "sector"), raw.world_price[keep])
    commodities = [k for k, unit in enumerate(w.units) if unit is not None]
    if commodities:  # (a zero-length dimension would not survive a NetCDF-3 file)
        _add_quantities(raw, commodities, keep, coords, data)
    return LabelledRun(coords, data, dict(attrs or {}))


def _add_quantities(
    raw: RawRun,
    commodities: list[int],
    keep: slice,
    coords: dict[str, tuple[Dims, np.ndarray[Any, Any]]],
    data: dict[str, tuple[Dims, np.ndarray[Any, Any]]],
) -> None:
    """Physical quantities of commodity sectors: value over the origin's USD price per unit,
    the world price in its unit at month 0 moved by the origin's supplier price index."""
    w = raw.world
    unit_price = raw.price_index[keep][:, :, commodities] * w.unit_price[commodities]
    shipped = raw.flows["shipped"][keep][:, :, :, commodities].sum(axis=4)
    per_unit = unit_price[:, :, None, :]
    quantity = np.divide(shipped, per_unit, out=np.zeros_like(shipped), where=per_unit > 0)
    coords["commodity"] = (("commodity",), np.array([w.sectors[k] for k in commodities]))
    coords["commodity_unit"] = (("commodity",), np.array([str(w.units[k]) for k in commodities]))
    data["quantity"] = (("month", "origin", "destination", "commodity"), quantity)
    data["unit_price_usd"] = (("month", "origin", "commodity"), unit_price)


# ----------------------------------------------------------------------------- writing


def write_run_file(path: str | Path, run: LabelledRun) -> None:
    """Write `run` as a NetCDF-3 (64-bit offset) file at `path`, encoded as xarray would.

    Everything is encoded before the file is opened, so a run that NetCDF-3 cannot hold (an
    integer beyond 32 bits, an attribute of no NetCDF type) raises ValueError and writes
    nothing; the ensemble writes through `atomic_write`, so an interrupted write leaves no
    file either. Meant for what `label_run` makes: float64 and integer values, text labels,
    datetime months, and auxiliary coordinates carried by some data variable.
    """
    attrs = {key: _attr(key, value) for key, value in run.attrs.items()}
    variables = [
        _encode(name, dims, arr, _variable_attrs(name, dims, run.coords))
        for name, (dims, arr) in run.data_vars.items()
    ]
    variables += [_encode(name, dims, arr, {}) for name, (dims, arr) in run.coords.items()]
    sizes: dict[str, int] = {}
    for _, dims, arr, _ in variables:
        sizes.update(zip(dims, arr.shape, strict=True))
    with netcdf_file(path, "w", mmap=False, version=2) as f:
        for key, value in attrs.items():
            setattr(f, key, value)
        for dim, size in sizes.items():
            f.createDimension(dim, size)
        for name, dims, arr, var_attrs in variables:
            var = f.createVariable(name, arr.dtype, dims)
            for key, value in var_attrs.items():
                setattr(var, key, value)
            var[...] = arr


def _variable_attrs(
    name: str, dims: Dims, coords: Mapping[str, tuple[Dims, np.ndarray[Any, Any]]]
) -> dict[str, Any]:
    """CF attributes of a data variable (`tradesim.io.metadata.describe`'s, and the
    auxiliary coordinates it carries, as xarray lists them)."""
    attrs: dict[str, Any] = {}
    if name in VARIABLE_ATTRS:
        units, long_name, text = VARIABLE_ATTRS[name]
        attrs.update(units=units, long_name=long_name, description=text)
    aux = [c for c, (cdims, _) in coords.items() if c not in cdims and set(cdims) <= set(dims)]
    if aux:
        attrs["coordinates"] = " ".join(aux)
    return attrs


def _encode(
    name: str, dims: Dims, arr: np.ndarray[Any, Any], attrs: dict[str, Any]
) -> tuple[str, Dims, np.ndarray[Any, Any], dict[str, Any]]:
    """A variable as NetCDF-3 holds it: (name, dimensions, values, encoded attributes)."""
    if arr.dtype.kind == "M":  # months: integer days since the first, proleptic Gregorian
        first = arr[0].astype("datetime64[D]")
        days = (arr - first) / np.timedelta64(1, "D")
        if not np.array_equal(days, np.round(days)):
            raise ValueError(f"{name}: dates are not whole days apart")
        arr = days.astype(np.int32)
        attrs = {
            "units": f"days since {first} 00:00:00",
            "calendar": "proleptic_gregorian",
            **attrs,
        }
    elif arr.dtype.kind == "U":  # labels: UTF-8 bytes as a character array
        encoded = np.array([s.encode("utf-8") for s in arr.tolist()])
        width = max(encoded.dtype.itemsize, 1)
        arr = encoded.astype(f"S{width}").view("S1").reshape(*arr.shape, width)
        dims = (*dims, f"string{width}")
        attrs = {"_Encoding": "utf-8", **attrs}
    elif arr.dtype.kind in "iu":
        arr = _int32(name, arr)
    elif arr.dtype == np.float64:
        attrs = {**attrs, "_FillValue": np.float64(np.nan)}
    else:
        raise ValueError(f"{name}: no NetCDF-3 encoding here for values of type {arr.dtype}")
    return name, dims, arr, {key: _attr(f"{name}.{key}", value) for key, value in attrs.items()}


def _int32(name: str, values: np.ndarray[Any, Any]) -> np.ndarray[Any, Any]:
    """NetCDF-3 holds no 64-bit or unsigned integers: 32-bit, refused if they do not fit."""
    if values.size and (values.min() < _INT32.min or values.max() > _INT32.max):
        raise ValueError(f"{name}: values do not fit a 32-bit integer")
    return values.astype(np.int32)


def _attr(name: str, value: Any) -> Any:
    """An attribute value as xarray encodes it for NetCDF-3: text as UTF-8 bytes (a scenario
    may be named in any script), numbers as a 1-d array of float64, or of integers coerced
    to 32 bits (booleans to 8); anything else is refused."""
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("utf-8")
    values = np.atleast_1d(np.asarray(value))
    if values.ndim > 1:
        raise ValueError(f"attribute {name}: NetCDF attributes are 1-dimensional")
    if values.dtype.kind == "b":
        return values.astype(np.int8)
    if values.dtype.kind in "iu":
        return _int32(f"attribute {name}", values)
    if values.dtype.kind == "f" and values.dtype.itemsize in (4, 8):
        return values
    if values.size == 0:
        return values.astype(np.float64)
    raise ValueError(f"attribute {name}: {value!r} has no NetCDF-3 type")
