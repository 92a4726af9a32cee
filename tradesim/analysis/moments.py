"""Moments for estimation: what the calibration matches, beyond six annual totals.

A moment is one statistic of the simulated monthly flows (month, origin, destination,
sector, currency) that has an observed counterpart with a source:

- ``level``: the sum of a flow over a period, in value (USD) or in physical quantity (the
  sector's unit: value over the origin's unit price, as `tradesim.io.results` reports it);
  residual relative, ``sim / observed - 1``;
- ``share``: a part of a flow as a percentage of a whole -- of every sector of the same
  direction (the sector composition of a direction), of every foreign origin of the same
  destination and sectors (an origin's share of a country's imports, e.g. the soybean
  episode), or of every currency (the settlement-currency shares of the settlement issue);
  residual in percentage points, ``sim - observed``.

Every moment carries a *tolerance* (what the issue accepts: 3% for the annual totals, 5
points for currency shares, ...) and the *standard deviation of the observed figure*. The
figures are secondary reports of customs and central-bank data, rounded and sometimes a
year away from the target; we read the tolerance as a two-standard-deviation band of that
figure's precision, ``sd = tolerance / 2``, unless the data file gives ``sd``. The moment's
variance in the estimation is that data variance plus the simulation noise of the mean of R
replications (Gourieroux and Monfort 1996, ch. 2; `tradesim.analysis.calibrate`).

The shipped targets beyond the totals are in ``tradesim/data/cn_ru_moments.csv``
(composition and the 2018 soybean episode) and ``tradesim/data/cn_ru_currency_shares.csv``,
each row with its source.
"""

from __future__ import annotations

import csv
import math
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Literal

import numpy as np

from tradesim.errors import CalibrationError

__all__ = [
    "DEFAULT_MOMENTS",
    "Moment",
    "MomentSet",
    "applicable",
    "currency_moments",
    "load_moments",
    "simulate_moments",
    "trade_moments",
]

DATA_DIR = Path(__file__).parent.parent / "data"
DEFAULT_MOMENTS = DATA_DIR / "cn_ru_moments.csv"

Statistic = Literal["level", "share"]
Measure = Literal["value", "quantity"]
Denominator = Literal["", "all_sectors", "all_origins", "all_currencies"]
WORLD = "World"  # every region but the other end of the flow


@dataclass(frozen=True)
class Moment:
    """One observed statistic and how to compute it from a run.

    `origins`/`destinations` select directions (``World`` as the destination: every region
    but the origin; as the origin: every region but the destination); `sectors` the sectors
    summed (empty: every sector); `currency` the settlement currency of a currency share.
    `period` is ``YYYY`` or ``YYYY-Qn``.
    """

    group: str
    period: str
    origins: tuple[str, ...]
    destinations: tuple[str, ...]
    observed: float
    statistic: Statistic = "level"
    measure: Measure = "value"
    sectors: tuple[str, ...] = ()
    denominator: Denominator = ""
    currency: str = ""
    unit: str = "USD"
    tolerance: float = 0.03
    sd: float = math.nan
    target: bool = True
    source: str = ""
    note: str = ""

    def __post_init__(self) -> None:
        if math.isnan(self.sd):
            object.__setattr__(self, "sd", self.tolerance / 2.0)
        if self.statistic == "share" and not self.denominator:
            raise CalibrationError(f"{self.label}: a share needs a denominator")
        if not (self.tolerance > 0 and self.sd > 0):
            raise CalibrationError(f"{self.label}: tolerance and sd must be positive")

    @property
    def year(self) -> int:
        return int(self.period[:4])

    @property
    def label(self) -> str:
        flow = f"{'+'.join(self.origins)}->{'+'.join(self.destinations)}"
        what = " ".join(self.sectors) if self.sectors else "total"
        if self.currency:
            what = f"{self.currency} share"
        elif self.statistic == "share":
            what = f"{what} share of {self.denominator.replace('all_', 'all ')}"
        elif self.measure == "quantity":
            what = f"{what} quantity"
        return f"{self.period} {flow} {what}"

    @property
    def relative(self) -> bool:
        """Residual relative to the observed value (levels) or in points (shares)."""
        return self.statistic == "level"

    def residual(self, simulated: Any) -> Any:
        """(simulated - observed) / observed for a level, simulated - observed for a share."""
        if self.relative:
            return np.asarray(simulated) / self.observed - 1.0
        return np.asarray(simulated) - self.observed

    def months(self, start_year: int, start_month: int, n_months: int) -> np.ndarray:
        """Indices of the reported months the period covers (empty if outside)."""
        year = self.year
        first, last = 1, 12
        if len(self.period) > 4:
            q = int(self.period[-1])
            first, last = 3 * q - 2, 3 * q
        idx = [(year - start_year) * 12 + m - start_month for m in range(first, last + 1)]
        return np.array([i for i in idx if 0 <= i < n_months], dtype=int)


@dataclass(frozen=True)
class MomentSet:
    """The moments of an estimation and the ones left out, with the reason."""

    moments: tuple[Moment, ...]
    skipped: tuple[tuple[Moment, str], ...] = ()


def trade_moments(observed: Sequence[Any], tolerance: float = 0.03) -> list[Moment]:
    """Annual totals by direction (`Observation`s) as level moments. Tolerance 3%: the
    settlement issue's "2016-2018 trade by direction within 3%"."""
    return [
        Moment(
            "trade",
            str(o.year),
            (o.origin,),
            (o.destination,),
            float(o.value_usd),
            tolerance=tolerance,
            source=o.source,
        )
        for o in observed
    ]


def currency_moments(shares: Sequence[Any], tolerance: float = 5.0) -> list[Moment]:
    """Currency shares (`ShareObservation`s), percent of the direction's shipped value.
    Tolerance 5 points: the settlement issue's "within 5 percentage points"."""
    return [
        Moment(
            "currency",
            s.period,
            (s.origin,),
            (s.destination,),
            float(s.share_percent),
            statistic="share",
            denominator="all_currencies",
            currency=s.currency,
            unit="percent",
            tolerance=tolerance,
            target=bool(s.target),
            source=s.source,
        )
        for s in shares
    ]


_COLUMNS = (
    "group",
    "period",
    "origin",
    "destination",
    "sectors",
    "measure",
    "statistic",
    "denominator",
    "observed",
    "unit",
    "tolerance",
    "target",
    "source",
)


def load_moments(path: str | Path = DEFAULT_MOMENTS) -> list[Moment]:
    """Read moments from a CSV (columns: group, period, origin, destination, sectors
    (space-separated; empty for every sector), measure (value or quantity), statistic (level
    or share), denominator (all_sectors or all_origins, for a share), observed (USD, the
    sector's unit, or percent), unit, tolerance (relative for a level, points for a share),
    target (yes/no), source; optional sd and note). Errors name file:line:column."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read moments: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or [])]
    if missing:
        raise CalibrationError(f"{path}:1: moments file lacks columns {missing}")
    out = []
    for line, row in enumerate(reader, start=2):

        def cell(name: str, row: dict[str, str] = row) -> str:
            return (row.get(name) or "").strip()

        def bad(name: str, why: str, line: int = line) -> CalibrationError:
            return CalibrationError(f"{path}:{line}:{name}: {why}")

        period = cell("period")
        if not (
            (len(period) == 4 and period.isdigit())
            or (len(period) == 7 and period[4:6] == "-Q" and period[6] in "1234")
        ):
            raise bad("period", f"expected YYYY or YYYY-Qn, got {period!r}")
        statistic, measure, denominator = cell("statistic"), cell("measure"), cell("denominator")
        if statistic not in ("level", "share"):
            raise bad("statistic", f"expected level or share, got {statistic!r}")
        if measure not in ("value", "quantity"):
            raise bad("measure", f"expected value or quantity, got {measure!r}")
        if statistic == "share" and denominator not in ("all_sectors", "all_origins"):
            raise bad(
                "denominator", f"a share needs all_sectors or all_origins, got {denominator!r}"
            )
        if statistic == "level" and denominator:
            raise bad("denominator", "a level has no denominator")
        numbers = {}
        for name in ("observed", "tolerance", "sd"):
            raw = cell(name)
            if name == "sd" and not raw:
                numbers[name] = math.nan
                continue
            try:
                numbers[name] = float(raw)
            except ValueError:
                raise bad(name, f"expected a number, got {raw!r}") from None
            if not (math.isfinite(numbers[name]) and numbers[name] > 0):
                raise bad(name, f"must be positive, got {raw!r}")
        if statistic == "share" and numbers["observed"] > 100:
            raise bad("observed", f"a share is a percentage, got {numbers['observed']}")
        target = cell("target").lower()
        if target not in ("yes", "no"):
            raise bad("target", f"expected yes or no, got {target!r}")
        if not cell("source"):
            raise bad("source", "every moment needs its source")
        for name in ("origin", "destination", "group"):
            if not cell(name):
                raise bad(name, "empty")
        out.append(
            Moment(
                cell("group"),
                period,
                (cell("origin"),),
                (cell("destination"),),
                numbers["observed"],
                statistic=statistic,  # type: ignore[arg-type]
                measure=measure,  # type: ignore[arg-type]
                sectors=tuple(cell("sectors").split()),
                denominator=denominator,  # type: ignore[arg-type]
                unit=cell("unit") or ("percent" if statistic == "share" else "USD"),
                tolerance=numbers["tolerance"],
                sd=numbers["sd"],
                target=target == "yes",
                source=cell("source"),
                note=cell("note"),
            )
        )
    return out


def applicable(moments: Sequence[Moment], scenario: Any, *, strict: bool = False) -> MomentSet:
    """The moments `scenario` can produce: regions known, period inside the horizon, and
    sectors present (a moment listing several sectors -- an HS group such as energy =
    energy + crude + pipeline_gas + lng -- keeps those the scenario has). A quantity needs
    sectors with a physical unit. `strict`: raise instead of skipping."""
    regions = set(scenario.regions)
    sectors = scenario.sectors
    first, last = scenario.start.year, scenario.end.year
    keep: list[Moment] = []
    skipped: list[tuple[Moment, str]] = []

    def skip(m: Moment, why: str) -> None:
        if strict:
            raise CalibrationError(f"moment {m.label}: {why}")
        skipped.append((m, why))

    for m in moments:
        unknown = [r for r in (*m.origins, *m.destinations) if r not in regions and r != WORLD]
        if unknown:
            skip(m, f"unknown region {unknown[0]!r}; the scenario has {sorted(regions)}")
            continue
        if WORLD in m.origins and WORLD in m.destinations:
            skip(m, f"{WORLD!r} at both ends of a flow")
            continue
        if not first <= m.year <= last:
            skip(m, f"period {m.period} outside the horizon {first}-{last}")
            continue
        if m.sectors:
            present = tuple(s for s in m.sectors if s in sectors)
            if not present:
                skip(m, f"no sector of {list(m.sectors)} in the scenario")
                continue
            if m.measure == "quantity":
                unitless = [s for s in present if getattr(sectors[s], "unit", None) is None]
                if unitless:
                    skip(m, f"sector {unitless[0]!r} has no physical unit")
                    continue
            m = replace(m, sectors=present)
        elif m.measure == "quantity":
            skip(m, "a quantity needs sectors with a unit")
            continue
        keep.append(m)
    return MomentSet(tuple(keep), tuple(skipped))


def _unit_prices(raw: Any, keep: slice) -> np.ndarray | None:
    """(month, origin, sector) USD per physical unit, or None without commodity sectors."""
    w = raw.world
    unit_price = getattr(w, "unit_price", None)
    index = getattr(raw, "price_index", None)
    if unit_price is None or index is None:
        return None
    return np.asarray(index[keep]) * np.asarray(unit_price, dtype=float)[None, None, :]


def simulate_moments(raw: Any, moments: Sequence[Moment]) -> np.ndarray:
    """The moments' simulated values (USD, units or percent) from one engine run."""
    w = raw.world
    keep = slice(w.burn_in, None)
    shipped = np.asarray(raw.flows["shipped"][keep])  # (month, O, D, S, C)
    regions, sectors, currencies = list(w.regions), list(w.sectors), list(w.currencies)
    prices = None
    if any(m.measure == "quantity" for m in moments):
        prices = _unit_prices(raw, keep)
        if prices is None:
            raise CalibrationError("quantity moments need an engine with commodity units")
    out = np.empty(len(moments))
    n = shipped.shape[0]
    for k, m in enumerate(moments):
        months = m.months(w.start.year, w.start.month, n)
        if m.origins == (WORLD,):
            d = [regions.index(r) for r in m.destinations]
            o = [j for j in range(len(regions)) if j not in d]
        else:
            o = [regions.index(r) for r in m.origins]
            d = (
                [j for j in range(len(regions)) if j not in o]
                if m.destinations == (WORLD,)
                else [regions.index(r) for r in m.destinations]
            )
        s = [sectors.index(x) for x in m.sectors] if m.sectors else list(range(len(sectors)))
        block = shipped[months].sum(axis=4)  # (month, O, D, S)
        if m.measure == "quantity":
            assert prices is not None
            per = prices[months][:, :, None, :]
            block = np.divide(block, per, out=np.zeros_like(block), where=per > 0)

        def total(oo: list[int], dd: list[int], ss: list[int], block: np.ndarray = block) -> float:
            return float(block[:, oo][:, :, dd][:, :, :, ss].sum())

        if m.statistic == "level":
            out[k] = total(o, d, s)
        elif m.denominator == "all_currencies":
            c = currencies.index(m.currency)
            value = shipped[months][:, o][:, :, d][:, :, :, s].sum(axis=(0, 1, 2, 3))
            whole = float(value.sum())
            out[k] = 100.0 * value[c] / whole if whole > 0 else math.nan
        else:
            if m.denominator == "all_sectors":
                whole = total(o, d, list(range(len(sectors))))
            else:  # all_origins: every origin but the destination itself
                others = [j for j in range(len(regions)) if j not in d]
                whole = total(others, d, s)
            out[k] = 100.0 * total(o, d, s) / whole if whole > 0 else math.nan
    return out
