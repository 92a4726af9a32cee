"""Labelled results: an xarray Dataset per run, summaries and export.

Every value is in current US dollars unless its name or `units` attribute says otherwise.
Flows (`*_usd` without `stock`) are totals within a month; stocks are month-end values.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import platform
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import xarray as xr

from tradesim.errors import TradesimError
from tradesim.io.currency import Frequency, direction_currency_shares, direction_share_table
from tradesim.io.metadata import METRIC_ATTRS, describe
from tradesim.io.outputs import atomic_write, mark_output, neutralize_cells
from tradesim.io.routes import route_values
from tradesim.io.runfile import LabelledRun, label_run
from tradesim.model.engine import RawRun
from tradesim.scenario import Scenario
from tradesim.scenario.focus import Route

__all__ = [
    "SimulationResult",
    "annual_bilateral",
    "comparison_metrics",
    "csv_writer",
    "currency_shares",
    "format_summary",
    "in_currency",
    "manifest",
    "origin_shares",
    "scenario_manifest",
    "write_outputs",
    "writer",
]


@dataclass(frozen=True)
class SimulationResult:
    """One simulated run: the scenario, the seed and a labelled Dataset of monthly values."""

    scenario: Scenario
    seed: int | None
    data: xr.Dataset
    timings: dict[str, float] = field(default_factory=dict)

    def annual_bilateral(self, variable: str = "shipped_usd") -> xr.DataArray:
        """Annual totals by origin and destination; see `annual_bilateral`."""
        return annual_bilateral(self, variable)

    def origin_shares(self, destination: str) -> xr.DataArray:
        """Annual origin shares of a destination's purchases; see `origin_shares`."""
        return origin_shares(self, destination)

    def currency_shares(
        self, origin: str, destination: str, *, both_ways: bool = True
    ) -> xr.DataArray:
        """Annual settlement-currency shares on a route; see `currency_shares`."""
        return currency_shares(self, origin, destination, both_ways=both_ways)

    def direction_currency_shares(
        self, *, freq: Frequency = "year", by_sector: bool = False
    ) -> xr.DataArray:
        """Currency shares by origin -> destination (and sector), annual or quarterly;
        see `tradesim.io.currency.direction_currency_shares`."""
        return direction_currency_shares(self.data, freq=freq, by_sector=by_sector)

    def to_frame(
        self, variable: str = "shipped_usd", *, annual: bool = False, drop_zeros: bool = True
    ) -> Any:
        """One variable as a tidy pandas table: a column per dimension (month or, with
        `annual`, year; origin, destination, sector, currency where it has them) and a value
        column named after the variable; exact zeros (domestic cells, closed routes) left out
        unless `drop_zeros` is False. Annual values are sums of monthly flows and means of
        stocks and indices."""
        from tradesim.io.display import annual as annual_values
        from tradesim.io.display import tidy

        if variable not in self.data:
            known = ", ".join(str(v) for v in self.data.data_vars)
            raise KeyError(f"no variable {variable!r}; known: {known}")
        da = annual_values(self.data, variable) if annual else self.data[variable]
        return tidy(da.rename(variable), drop_zeros=drop_zeros)

    def plot(self, kind: str = "routes", **options: Any) -> Any:
        """A figure of this run (a matplotlib Figure; needs the `plot` extra).

        kind: "routes" (monthly trade on the routes the scenario's shocks touch, shock dates
        marked), "bilateral" (annual trade between the agent economies, observed points where
        known) or "currency" (settlement-currency shares between the first two agent
        economies). `options` go to the figure function in `tradesim.io.plot`.
        """
        from tradesim.io.plot import result_figure

        return result_figure(self, kind, **options)

    def _repr_html_(self) -> str:
        from tradesim.io.display import result_html

        return result_html(self)


def to_dataset(raw: RawRun, attrs: Mapping[str, Any] | None = None) -> xr.Dataset:
    """Label a raw run's arrays, dropping burn-in months; `attrs` are the global attributes
    (see `tradesim.io.metadata.global_attrs`)."""
    return labelled_dataset(label_run(raw, attrs))


def labelled_dataset(run: LabelledRun) -> xr.Dataset:
    """The xarray Dataset of a labelled run, with its variables' CF attributes."""
    return describe(xr.Dataset(run.data_vars, coords=run.coords, attrs=run.attrs))


def in_currency(data: xr.Dataset, currency: str) -> xr.Dataset:
    """Report every USD value in another currency at that month's rate.

    `shipped_usd` becomes `shipped_cny` for currency "CNY", and so on; values without a
    money unit are unchanged.
    """
    if "per_usd" not in data or "currency" not in data.coords:
        raise ValueError(
            "in_currency converts a run's Dataset at its exchange rates (per_usd); this one has"
            " none (a summary across runs: convert each run, then summarize)"
        )
    if currency not in data["currency"].values:
        raise ValueError(f"unknown currency {currency!r}; known: {list(data['currency'].values)}")
    if currency == "USD":
        return data.copy()
    rate = data["per_usd"].sel(currency=currency, drop=True)
    out = data.copy()
    for name in [n for n in data.data_vars if data[n].attrs.get("units") == "USD"]:
        new = str(name).removesuffix("_usd") + f"_{currency.lower()}"
        out[new] = (data[name] * rate).assign_attrs(data[name].attrs, units=currency)
        out = out.drop_vars([name])
    return out


def _foreign(da: xr.DataArray) -> xr.DataArray:
    same = da["origin"] == da["destination"]
    return da.where(~same, 0.0)


def annual_bilateral(result: SimulationResult, variable: str = "shipped_usd") -> xr.DataArray:
    """Annual totals (year x origin x destination) of a flow, domestic sales set to zero."""
    da = result.data[variable]
    da = da.sum([d for d in ("sector", "currency") if d in da.dims])
    out = _foreign(da).groupby("month.year").sum()
    out.attrs = dict(da.attrs)
    out.attrs["description"] = (
        f"annual total of {variable} by origin and destination, domestic sales excluded"
    )
    return out


def shares_of(values: xr.DataArray, dim: str) -> xr.DataArray:
    """Each entry's share of the total along `dim`; 0 where the total is 0."""
    total = values.sum(dim)
    return (values / total.where(total > 0)).fillna(0.0)


def settled_value(
    data: xr.Dataset, origins: Sequence[str], destinations: Sequence[str]
) -> xr.DataArray:
    """Monthly value shipped by currency from `origins` to `destinations`, domestic sales
    excluded: the basis of every settlement-currency share."""
    flow = data["shipped_usd"].sel(origin=list(origins), destination=list(destinations))
    flow = flow.where(flow["origin"] != flow["destination"], 0.0)
    return flow.sum(["origin", "destination", "sector"])


def currency_shares(
    result: SimulationResult, origin: str, destination: str, *, both_ways: bool = True
) -> xr.DataArray:
    """Annual share of each settlement currency in the value shipped on a route."""
    regions = [origin, destination]
    value = settled_value(
        result.data, regions if both_ways else [origin], regions if both_ways else [destination]
    )
    shares = shares_of(value.groupby("month.year").sum(), "currency").rename("currency_share")
    return _with_attrs(shares, "currency_share", f"route {origin}-{destination}")


def origin_shares(result: SimulationResult, destination: str) -> xr.DataArray:
    """Annual share of each origin (itself included) in a destination's purchases, by
    sector: where its buyers' spending goes, the lens for trade diversion."""
    da = result.data["shipped_usd"].sel(destination=destination, drop=True).sum("currency")
    shares = shares_of(da.groupby("month.year").sum(), "origin").rename("origin_share")
    return _with_attrs(shares, "origin_share", f"destination {destination}")


def _with_attrs(da: xr.DataArray, name: str, where: str) -> xr.DataArray:
    from tradesim.io.metadata import VARIABLE_ATTRS

    units, long_name, text = VARIABLE_ATTRS[name]
    return da.assign_attrs(units=units, long_name=long_name, description=f"{text}; {where}")


def comparison_metrics(
    base: xr.Dataset, alt: xr.Dataset, agents: Sequence[str], routes: Sequence[Route] = ()
) -> xr.Dataset:
    """Paired differences alternative - base of one run pair (same seed), in USD.

    - `bilateral_usd` (year, origin, destination): change in trade, domestic sales excluded;
    - `imports_by_origin_usd` (destination, sector, origin): change in each destination's
      purchases from each origin over the horizon (domestic included, so that substitution
      toward home supply shows);
    - `trade_creation_usd` (destination, sector): change in total imports from abroad;
      `trade_diversion_usd` (destination, sector): imports gained by the foreign origins
      whose sales rose — in the sense of WITS SMART, trade diverted to other suppliers
      (for a tariff cut on a partner: imports diverted *from* the others, with sign flipped);
    - `currency_share` (scenario, year, currency): settlement shares on the agent economies'
      routes, both ways, in base and alternative;
    - `currency_share_change` (year, origin, destination, currency): change in each
      direction's currency shares between the agent economies;
    - `tariff_revenue_usd`, `frozen_usd` (year, destination): changes;
    - with `routes` (see `tradesim.scenario.focus`): `route_change_usd` and `route_base_usd`
      (route, year), the change in the value shipped on each route (its sectors only) and its
      value in the base.

    Welfare by region is `tradesim.analysis.welfare.welfare` (`paired_metrics` gives both).
    """
    foreign = base["origin"] != base["destination"]
    d_ship = (alt["shipped_usd"] - base["shipped_usd"]).sum("currency")
    bilateral = d_ship.where(foreign, 0.0).sum("sector").groupby("month.year").sum()
    by_origin = (
        d_ship.sum("month").rename(destination="importer").transpose("importer", "sector", "origin")
    )
    abroad = by_origin.where(by_origin["origin"] != by_origin["importer"], 0.0)
    creation = abroad.sum("origin")
    diversion = abroad.where(abroad > 0, 0.0).sum("origin")

    shares = [
        shares_of(settled_value(data, agents, agents).groupby("month.year").sum(), "currency")
        for data in (base, alt)
    ]
    share = xr.concat(shares, dim=xr.DataArray(["base", "alternative"], dims="scenario"))
    by_direction = [direction_currency_shares(d, regions=agents) for d in (base, alt)]
    share_change = (by_direction[1] - by_direction[0]).rename(period="year")
    share_change["year"] = share_change["year"].astype(int)
    share_change.attrs = {}  # described by io.metadata (METRIC_ATTRS)

    def by_destination(name: str, data: xr.Dataset) -> xr.DataArray:
        da = data[name]
        da = da.sum([d for d in ("origin", "sector", "currency") if d in da.dims])
        return da.groupby("month.year").sum()

    d_revenue = by_destination("tariff_revenue_usd", alt) - by_destination(
        "tariff_revenue_usd", base
    )
    d_frozen = by_destination("frozen_usd", alt) - by_destination("frozen_usd", base)
    metrics = xr.Dataset(
        {
            "bilateral_usd": bilateral,
            "imports_by_origin_usd": by_origin,
            "trade_creation_usd": creation,
            "trade_diversion_usd": diversion,
            "currency_share": share,
            "currency_share_change": share_change,
            "tariff_revenue_usd": d_revenue,
            "frozen_usd": d_frozen,
        }
    )
    if routes:
        before = route_values(base, routes)
        metrics["route_change_usd"] = route_values(alt, routes) - before
        metrics["route_base_usd"] = before
    return describe(metrics, METRIC_ATTRS)


def _agent_pairs(result: SimulationResult) -> list[tuple[str, str]]:
    names = list(result.scenario.economies)
    return [(a, b) for a in names for b in names if a != b]


def format_summary(result: SimulationResult) -> str:
    """A short text table: annual bilateral trade of the agent economies, currency shares."""
    annual = annual_bilateral(result) / 1e9
    pairs = _agent_pairs(result)
    years = [int(y) for y in annual["year"].values]
    lines = [f"Scenario {result.scenario.name!r}, seed {result.seed}", ""]
    head = f"{'USD billion':<16}" + "".join(f"{y:>10}" for y in years)
    lines += ["Bilateral trade (shipped, customs value)", head]
    for o, d in pairs:
        row = annual.sel(origin=o, destination=d).values
        lines.append(f"{o + ' -> ' + d:<16}" + "".join(f"{v:>10.2f}" for v in row))
    if pairs:
        total = np.sum([annual.sel(origin=o, destination=d).values for o, d in pairs], axis=0)
        lines.append(f"{'total':<16}" + "".join(f"{v:>10.2f}" for v in total))
    done: set[frozenset[str]] = set()
    for o, d in pairs:
        if frozenset((o, d)) in done:
            continue
        done.add(frozenset((o, d)))
        shares = currency_shares(result, o, d)
        lines += ["", f"Settlement-currency shares, {o}-{d} (both ways)"]
        lines.append(f"{'share of value':<16}" + "".join(f"{y:>10}" for y in years))
        for cur in shares["currency"].values:
            row = shares.sel(currency=cur).values
            lines.append(f"{cur:<16}" + "".join(f"{v:>10.1%}" for v in row))
    return "\n".join(lines)


def writer(obj: Any, method: str, **options: Any) -> Callable[[Path], object]:
    """A function that writes `obj` to a path with its own method, for `atomic_write`."""
    return lambda path: getattr(obj, method)(path, **options)


def csv_writer(df: Any) -> Callable[[Path], object]:
    """Write a table as CSV (6 significant digits), text cells neutralised against formula
    injection: every CSV tradesim writes goes through here."""
    safe = neutralize_cells(df)
    return lambda path: safe.to_csv(path, index=False, float_format="%.6g")


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def manifest(
    result: SimulationResult,
    sources: Sequence[str | Path] = (),
    *,
    overrides: Sequence[str] = (),
) -> dict[str, Any]:
    """What produced a result: the resolved scenario and its hash, the seed, the versions
    of tradesim and its numerical stack, the input files with their hashes, the `--set`
    overrides applied on top of those files, and timings."""
    return scenario_manifest(
        result.scenario, result.seed, sources, overrides=overrides, timings=result.timings
    )


def scenario_manifest(
    scenario: Scenario,
    seed: int | None,
    sources: Sequence[str | Path] = (),
    *,
    overrides: Sequence[str] = (),
    timings: dict[str, float] | None = None,
) -> dict[str, Any]:
    """`manifest` from a scenario and seed (for outputs that are not one run's result)."""
    from importlib.metadata import PackageNotFoundError, version

    def installed(name: str) -> str | None:
        try:
            return version(name)
        except PackageNotFoundError:
            return None

    resolved = scenario.model_dump(mode="json")
    canonical = json.dumps(resolved, sort_keys=True, separators=(",", ":")).encode()
    return {
        "scenario_name": scenario.name,
        "scenario_sha256": _sha256(canonical),
        "seed": seed,
        "versions": {
            "tradesim": installed("tradesim"),
            "python": platform.python_version(),
            **{pkg: installed(pkg) for pkg in ("numpy", "scipy", "simpy", "xarray", "pydantic")},
        },
        "data_files": [{"path": str(p), "sha256": _sha256(Path(p).read_bytes())} for p in sources],
        "overrides": list(overrides),
        "shocks": [
            {
                "type": shock.type,
                "name": shock.name,
                "start": str(shock.start),
                "end": None if shock.end is None else str(shock.end),
            }
            for shock in scenario.shocks
        ],
        "timings_seconds": timings or {},
        "created": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "scenario": resolved,
    }


def _tables(result: SimulationResult) -> dict[str, Any]:
    """The result's tables as pandas DataFrames: monthly flows, annual bilateral trade and
    settlement-currency shares of the agent economies' routes."""
    import pandas as pd

    ds = result.data
    names = ["shipped_usd", "delivered_usd", "settled_usd", "frozen_usd"]
    names += [n for n in ("financing_cost_usd", "switching_cost_usd") if n in ds]
    flows = ds[names].to_dataframe()
    flows = flows[(flows != 0).any(axis=1)].reset_index()
    flows["month"] = flows["month"].dt.strftime("%Y-%m")
    annual = annual_bilateral(result).to_dataframe(name="shipped_usd").reset_index()
    tables = {"flows": flows, "annual_bilateral": annual[annual["shipped_usd"] != 0]}
    frames = []
    done: set[frozenset[str]] = set()
    for o, d in _agent_pairs(result):
        if frozenset((o, d)) not in done:
            done.add(frozenset((o, d)))
            df = currency_shares(result, o, d).to_dataframe().reset_index()
            df.insert(0, "route", f"{o}-{d}")
            frames.append(df)
    if frames:
        tables["currency_shares"] = pd.concat(frames)
    tables["currency_shares_by_direction"] = direction_share_table(
        ds, list(result.scenario.economies)
    )
    if "quantity" in ds:
        # Commodity sectors in physical units: quantity, unit price and value side by side.
        q = ds[["quantity", "unit_price_usd"]].to_dataframe().reset_index()
        q = q[q["quantity"] != 0]
        q["value_usd"] = q["quantity"] * q["unit_price_usd"]
        q["month"] = q["month"].dt.strftime("%Y-%m")
        tables["commodities"] = q
    return tables


def write_outputs(
    result: SimulationResult,
    out_dir: str | Path,
    *,
    sources: Sequence[str | Path] = (),
    formats: Sequence[str] = ("csv", "netcdf"),
    overrides: Sequence[str] = (),
) -> list[Path]:
    """Write the result and manifest.json; returns the paths written.

    formats: "netcdf" writes every variable to result.nc; "csv" and "parquet" write the
    tables (flows, annual_bilateral, currency_shares, and commodities: quantity, unit price
    and value of the commodity sectors). Each file is written to a temporary
    name and renamed, so a reader never sees half a file. `sources` are the scenario files
    the result came from, hashed into the manifest; `overrides` the `--set` assignments
    applied to them. Text cells of CSV tables are neutralised against spreadsheet formula
    injection (see `neutralize_cells`).
    """
    if not isinstance(result, SimulationResult):
        raise TypeError(f"result must be a SimulationResult, got {type(result).__name__}")
    if isinstance(formats, str):
        formats = [f.strip() for f in formats.split(",")]
    unknown = set(formats) - {"csv", "parquet", "netcdf"}
    if unknown:
        raise ValueError(f"unknown output formats {sorted(unknown)}")
    if "parquet" in formats:
        try:
            import pyarrow  # noqa: F401
        except ImportError:
            raise TradesimError("parquet output needs pyarrow: pip install pyarrow") from None
    out = Path(out_dir)
    fresh = not out.exists() or not any(out.iterdir())
    out.mkdir(parents=True, exist_ok=True)
    if fresh:  # a folder of tradesim's own: `--force` may replace it later
        mark_output(out, "run")
    written: list[Path] = []

    def save(name: str, write: Callable[[Path], object]) -> None:
        path = out / name
        atomic_write(path, write)
        written.append(path)

    if "netcdf" in formats:
        ds = result.data.assign_attrs(
            history=dt.datetime.now(dt.UTC).isoformat(timespec="seconds") + " written by tradesim"
        )
        save("result.nc", lambda p: ds.to_netcdf(p, engine="scipy"))
    for name, table in _tables(result).items():
        if "csv" in formats:
            save(f"{name}.csv", csv_writer(table))
        if "parquet" in formats:
            save(f"{name}.parquet", writer(table, "to_parquet", index=False))
    info = manifest(result, sources, overrides=overrides)
    info["outputs"] = [p.name for p in written]
    save("manifest.json", lambda p: p.write_text(json.dumps(info, indent=2) + "\n"))
    return written
