"""Observed trade data in one tidy format, validated with errors that point at the cell.

One row is one reported flow (the layout of customs releases and UN Comtrade extracts):

============  ==========================================================================
column        meaning
============  ==========================================================================
period        ``YYYY`` (a year) or ``YYYY-MM`` (a month)
reporter      the reporting economy, as a region code of the scenario (``CN``)
partner       the partner economy (``RU``)
flow          ``export`` (reporter -> partner) or ``import`` (partner -> reporter)
sector        ``TOTAL``, a sector name of the scenario, or an HS code (digits)
value         trade value in US dollars (not thousands or billions), > 0
quantity      optional (may be empty): physical quantity, >= 0
unit          the unit of `quantity` (``kg``, ``t``, ...); empty when quantity is empty
source        where the figure comes from (required, non-empty)
============  ==========================================================================

Why this layout: it keeps the reporter (Chinese and Russian customs disagree on the same
flow, the "mirror" gap of CIF against FOB valuation and timing), the sector or product
(composition moments) and monthly figures, so that the same file can feed moments beyond
annual totals. The calibration moments are built from it by `annual_totals`.

Errors are `ObservedDataError` (a `CalibrationError`, so the command line exits with code 2)
and name ``file:line:column`` of the offending cell.
"""

from __future__ import annotations

import csv
import io
import math
import re
import warnings
from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path

from tradesim.errors import CalibrationError

__all__ = [
    "COLUMNS",
    "ObservedDataError",
    "ObservedDataWarning",
    "ObservedRecord",
    "annual_totals",
    "is_tidy",
    "read_observed",
    "write_observed",
]

COLUMNS = (
    "period",
    "reporter",
    "partner",
    "flow",
    "sector",
    "value",
    "quantity",
    "unit",
    "source",
)
REQUIRED = ("period", "reporter", "partner", "flow", "sector", "value", "source")
FLOWS = ("export", "import")
TOTAL = "TOTAL"
_PERIOD = re.compile(r"^(\d{4})(?:-(0[1-9]|1[0-2]))?$")
_CODE = re.compile(r"^[A-Za-z][A-Za-z0-9_]*$")
# No flow exceeds world merchandise exports, about 24.9 trillion US dollars in 2022 (WTO,
# World Trade Statistical Review 2023); a value four times that is no trade
# figure at all (dollars typed into a column of billions, or cents). An error: it cannot
# reject real data.
MAX_VALUE_USD = 1e14
# A bilateral all-product annual total below a million dollars: in a column of US dollars
# this is nearly always a figure typed in billions (China-Russia: about 100 "dollars"). Only
# a warning: tiny real flows between small economies exist (UN Comtrade lists bilateral
# totals of a few thousand dollars), so refusing them could reject real data.
SMALL_ANNUAL_TOTAL_USD = 1e6
_SECTOR = re.compile(r"^(?:[A-Za-z][A-Za-z0-9_ ]*|\d{2,10})$")


class ObservedDataError(CalibrationError):
    """A problem in an observed-data file, with its place (file:line:column)."""


class ObservedDataWarning(UserWarning):
    """An observed figure that is valid but implausible (an annual total in billions?)."""


@dataclass(frozen=True)
class ObservedRecord:
    """One row of an observed-data file, with where it came from."""

    year: int
    month: int | None  # None for an annual figure
    reporter: str
    partner: str
    flow: str
    sector: str
    value_usd: float
    quantity: float | None
    unit: str
    source: str
    file: str = ""
    line: int = 0

    @property
    def origin(self) -> str:
        return self.reporter if self.flow == "export" else self.partner

    @property
    def destination(self) -> str:
        return self.partner if self.flow == "export" else self.reporter

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


# "utf-8-sig": UTF-8 that drops a leading byte-order mark, which Excel writes when it saves
# "CSV UTF-8"; read as plain UTF-8 the mark sticks to the first column's name.
ENCODING = "utf-8-sig"


def _header(path: Path) -> list[str]:
    try:
        with path.open(encoding=ENCODING, newline="") as f:
            return [h.strip() for h in next(csv.reader(f), [])]
    except (OSError, UnicodeDecodeError) as exc:
        raise ObservedDataError(f"{path}: cannot read observed data: {exc}") from None


def is_tidy(path: str | Path) -> bool:
    """Whether the file's header is the tidy format's (it has a `period` column)."""
    return "period" in _header(Path(path))


def read_observed(path: str | Path) -> list[ObservedRecord]:
    """Read and validate an observed-data file in the tidy format (see the module doc).

    Every cell is checked; the first problem raises `ObservedDataError` naming
    ``file:line:column`` and the column's name. Duplicate rows (same period, reporter,
    partner, flow and sector) are refused, never summed silently.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding=ENCODING)
    except (OSError, UnicodeDecodeError) as exc:
        raise ObservedDataError(f"{path}: cannot read observed data: {exc}") from None
    reader = csv.reader(io.StringIO(text, newline=""))
    try:
        header = [h.strip() for h in next(reader)]
    except StopIteration:
        raise ObservedDataError(f"{path}:1:1: the file is empty; expected a header") from None
    except csv.Error as exc:
        raise ObservedDataError(f"{path}:1: not CSV: {exc}") from None
    for name in header:
        if name not in COLUMNS:
            col = header.index(name) + 1
            raise ObservedDataError(
                f"{path}:1:{col}: unknown column {name!r}; the format has {', '.join(COLUMNS)}"
            )
        if header.count(name) > 1:
            raise ObservedDataError(f"{path}:1: column {name!r} appears twice")
    missing = [c for c in REQUIRED if c not in header]
    if missing:
        raise ObservedDataError(
            f"{path}:1: missing column(s) {', '.join(missing)}; required: {', '.join(REQUIRED)}"
        )
    index = {name: i for i, name in enumerate(header)}
    out: list[ObservedRecord] = []
    seen: dict[tuple[object, ...], int] = {}
    start = 2
    try:
        for row in reader:
            line = start
            start = reader.line_num + 1
            if not row or all(not cell.strip() for cell in row):
                continue
            if len(row) != len(header):
                raise ObservedDataError(
                    f"{path}:{line}: the row has {len(row)} fields where the header has"
                    f" {len(header)}"
                )
            record = _record(path, line, row, index)
            key = (
                record.year,
                record.month,
                record.reporter,
                record.partner,
                record.flow,
                record.sector,
            )
            if key in seen:
                raise ObservedDataError(
                    f"{path}:{line}: the same flow as line {seen[key]} (period, reporter,"
                    " partner, flow and sector all equal)"
                )
            seen[key] = line
            out.append(record)
    except csv.Error as exc:
        raise ObservedDataError(f"{path}:{reader.line_num}: not CSV: {exc}") from None
    if not out:
        raise ObservedDataError(f"{path}:2: no data rows after the header")
    return out


def _record(path: Path, line: int, row: list[str], index: dict[str, int]) -> ObservedRecord:
    def cell(name: str) -> str:
        return row[index[name]].strip() if name in index else ""

    def fail(name: str, message: str) -> ObservedDataError:
        return ObservedDataError(f"{path}:{line}:{index[name] + 1}: {name}: {message}")

    period = _PERIOD.match(cell("period"))
    if not period:
        raise fail("period", f"expected YYYY or YYYY-MM, got {cell('period')!r}")
    year, month = int(period.group(1)), (int(period.group(2)) if period.group(2) else None)
    for name in ("reporter", "partner"):
        if not _CODE.match(cell(name)):
            raise fail(name, f"expected a region code such as CN, got {cell(name)!r}")
    if cell("reporter") == cell("partner"):
        raise fail("partner", f"equals the reporter {cell('reporter')!r}")
    flow = cell("flow").lower()
    if flow not in FLOWS:
        raise fail("flow", f"expected export or import, got {cell('flow')!r}")
    sector = cell("sector")
    if not _SECTOR.match(sector):
        raise fail("sector", f"expected TOTAL, a sector name or an HS code, got {sector!r}")
    value = _number(cell("value"))
    if value is None or value <= 0:
        raise fail("value", f"expected a positive number of US dollars, got {cell('value')!r}")
    if value > MAX_VALUE_USD:
        raise fail(
            "value",
            f"{value:.3g} US dollars exceeds world trade (about 2.5e13 a year); the column is"
            " in US dollars (not cents)",
        )
    quantity = None
    if cell("quantity"):
        quantity = _number(cell("quantity"))
        if quantity is None or quantity < 0:
            raise fail("quantity", f"expected a number >= 0 or empty, got {cell('quantity')!r}")
        if not cell("unit"):
            raise fail("unit", "a quantity needs its unit (kg, t, ...)")
    elif cell("unit"):
        raise fail("unit", f"{cell('unit')!r} given without a quantity")
    if not cell("source"):
        raise fail("source", "every figure needs its source")
    return ObservedRecord(
        year=year,
        month=month,
        reporter=cell("reporter"),
        partner=cell("partner"),
        flow=flow,
        sector=sector,
        value_usd=value,
        quantity=quantity,
        unit=cell("unit"),
        source=cell("source"),
        file=str(path),
        line=line,
    )


def _number(text: str) -> float | None:
    try:
        x = float(text)
    except ValueError:
        return None
    return x if math.isfinite(x) else None


@dataclass(frozen=True)
class AnnualTotal:
    """An annual trade value by direction, all products, from one reporter."""

    year: int
    origin: str
    destination: str
    value_usd: float
    source: str


def annual_totals(records: Iterable[ObservedRecord]) -> list[AnnualTotal]:
    """Annual all-product values by direction: rows with sector TOTAL, annual ones as they
    are, monthly ones summed over the twelve months of their year.

    A year with some but not all monthly TOTAL rows of a direction is refused, naming the
    missing months: dropping it would fit on fewer years without a word, and summing it
    would compare part of a year with the model's whole year.
    A direction reported twice (by both sides, or as a year and as months) is refused: the
    mirror figures differ (CIF against FOB, timing) and which to use is the user's choice,
    made by dropping the other rows.
    """
    annual: dict[tuple[int, str, str], list[ObservedRecord]] = defaultdict(list)
    monthly: dict[tuple[int, str, str, str], list[ObservedRecord]] = defaultdict(list)
    for r in records:
        if r.sector.upper() != TOTAL:
            continue
        if r.month is None:
            annual[(r.year, r.origin, r.destination)].append(r)
        else:
            monthly[(r.year, r.origin, r.destination, r.reporter)].append(r)
    for (year, origin, destination, _), rows in monthly.items():
        months = sorted(r.month for r in rows if r.month is not None)
        if months != list(range(1, 13)):
            missing = ", ".join(f"{year}-{m:02d}" for m in range(1, 13) if m not in months)
            first = min(rows, key=lambda r: r.line)
            if not missing:  # records from more than one file: a month given twice
                raise ObservedDataError(
                    f"{first.where}: {origin}->{destination} {year} has a month given twice"
                )
            raise ObservedDataError(
                f"{first.where}: {origin}->{destination} {year} ({first.reporter}'s"
                f" {first.flow}s) has monthly TOTAL rows for {len(months)} of the 12 months;"
                f" missing {missing}. Give all twelve months, or one annual row for {year}, or"
                " drop that year's monthly TOTAL rows"
            )
        annual[(year, origin, destination)].append(
            ObservedRecord(
                year,
                None,
                rows[0].reporter,
                rows[0].partner,
                rows[0].flow,
                TOTAL,
                sum(r.value_usd for r in rows),
                None,
                "",
                "; ".join(dict.fromkeys(r.source for r in rows)),
                rows[0].file,
                rows[0].line,
            )
        )
    out = []
    for (year, origin, destination), rows in sorted(annual.items()):
        if len(rows) > 1:
            places = ", ".join(r.where for r in rows)
            raise ObservedDataError(
                f"{origin}->{destination} {year} is reported more than once ({places});"
                " keep one reporter's figure"
            )
        r = rows[0]
        if r.value_usd < SMALL_ANNUAL_TOTAL_USD:
            warnings.warn(
                f"{r.where}: {origin}->{destination} {year} totals {r.value_usd:,.6g} US"
                " dollars, under a million: the value column is in US dollars, not billions"
                " or millions (a tiny real flow is kept as it is)",
                ObservedDataWarning,
                stacklevel=2,
            )
        out.append(AnnualTotal(year, origin, destination, r.value_usd, r.source))
    if not out:
        raise ObservedDataError(
            "no annual totals: the file needs rows with sector TOTAL and a year (or all 12"
            " months of a year)"
        )
    return out


def write_observed(records: Sequence[ObservedRecord], path: str | Path) -> None:
    """Write records in the tidy format (the inverse of `read_observed`)."""
    with Path(path).open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f, lineterminator="\n")
        w.writerow(COLUMNS)
        for r in records:
            period = f"{r.year}" if r.month is None else f"{r.year}-{r.month:02d}"
            quantity = "" if r.quantity is None else f"{r.quantity:g}"
            value = f"{r.value_usd:.0f}" if r.value_usd == round(r.value_usd) else repr(r.value_usd)
            w.writerow(
                [period, r.reporter, r.partner, r.flow, r.sector, value, quantity, r.unit, r.source]
            )
