"""Base-year flows and origin shares of agent economies from a bilateral trade extract.

A scenario states, for each agent economy and sector, its base-year spending
(`absorption_usd_bn`) and where that spending goes (`origin_shares`, home included). Trade
statistics give the import side: this module reads a user's extract, maps HS codes to the
scenario's sectors (a concordance; `tradesim/data/hs_sectors.csv` by default) and countries
to its regions (`tradesim/data/regions.csv`; every other country is ROW), and sets each
economy's origin shares so that its base-year imports from each region equal the extract's:

    share[d, s, o] = imports[d, s, o] / absorption[d, s]        for each foreign origin o
    share[d, s, d] = 1 - sum over o of share[d, s, o]           (home supply)

with the absorption kept from the scenario (trade data do not measure home supply). With
`keep_home=True`, the scenario's home share is kept instead and only the split of imports
across origins comes from the data.

Extract layouts (CSV, one row per flow; detected from the header):

- tradesim: `year, exporter, importer, hs, value_usd` (ISO alpha-3 or region names);
- CEPII BACI: `t, i, j, k, v` (year, exporter and importer BACI codes, HS6 product, value
  in thousands of USD);
- UN Comtrade: `refYear` (or `period`), `reporterISO`, `partnerISO`, `flowCode`, `cmdCode`,
  `primaryValue`; import rows (flowCode M) as reported by the importer, partner `W00`
  (world) left out.
"""

from __future__ import annotations

import csv
import hashlib
import io
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tradesim.errors import TradesimError
from tradesim.scenario import Scenario

__all__ = [
    "CONCORDANCE",
    "REGIONS",
    "TradeShares",
    "origin_shares_from_trade",
    "read_extract",
]

DATA = Path(__file__).resolve().parent.parent / "data"
CONCORDANCE = DATA / "hs_sectors.csv"
REGIONS = DATA / "regions.csv"

_LAYOUTS: dict[str, dict[str, str]] = {
    "tradesim": {
        "year": "year",
        "exporter": "exporter",
        "importer": "importer",
        "hs": "hs",
        "value": "value_usd",
    },
    "baci": {"year": "t", "exporter": "i", "importer": "j", "hs": "k", "value": "v"},
    "comtrade": {
        "year": "refYear",
        "exporter": "partnerISO",
        "importer": "reporterISO",
        "hs": "cmdCode",
        "value": "primaryValue",
    },
}
_SCALE = {"tradesim": 1.0, "baci": 1e3, "comtrade": 1.0}  # BACI values: thousands of USD


@dataclass(frozen=True)
class Flow:
    year: int
    exporter: str
    importer: str
    hs: str
    value_usd: float


@dataclass(frozen=True)
class TradeShares:
    """What `origin_shares_from_trade` found: the flows by region and sector, and the origin
    shares to write into the scenario."""

    year: int
    economies: tuple[str, ...]
    flows: dict[tuple[str, str, str], float]  # (origin, destination, sector) -> USD
    shares: dict[str, dict[str, dict[str, float]]]  # economy -> sector -> origin -> share
    rows_used: int
    source: str
    source_sha256: str
    layout: str

    def flows_csv(self) -> str:
        """The base-year imports by origin region, destination and sector, as CSV."""
        out = io.StringIO()
        out.write("year,origin,destination,sector,value_usd\n")
        for (o, d, s), v in sorted(self.flows.items()):
            out.write(f"{self.year},{o},{d},{s},{v:.6g}\n")
        return out.getvalue()


def _open(path: Path) -> tuple[list[str], list[dict[str, str]]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except (OSError, UnicodeDecodeError) as exc:
        raise TradesimError(f"{path}: cannot read the trade extract: {exc}") from None
    reader = csv.DictReader(text.splitlines())
    return list(reader.fieldnames or []), list(reader)


def read_extract(path: str | Path) -> tuple[str, list[Flow]]:
    """The extract's layout and its flows (values in USD); errors name the file and line."""
    path = Path(path)
    header, rows = _open(path)
    layout = next((k for k, cols in _LAYOUTS.items() if set(cols.values()) <= set(header)), None)
    if layout is None and {"period", "reporterISO", "partnerISO", "cmdCode"} <= set(header):
        layout = "comtrade"
    if layout is None:
        expected = "; ".join(f"{k}: {', '.join(c.values())}" for k, c in _LAYOUTS.items())
        raise TradesimError(
            f"{path}:1: unknown layout (columns {', '.join(header) or 'none'}); expected {expected}"
        )
    cols = dict(_LAYOUTS[layout])
    if layout == "comtrade" and "refYear" not in header:
        cols["year"] = "period"
    flows = []
    for line, row in enumerate(rows, start=2):
        if layout == "comtrade":
            if row.get("flowCode", "M").strip() not in ("M", ""):
                continue
            if row[cols["exporter"]].strip() in ("W00", "WLD", "_X"):
                continue
        try:
            year = int(str(row[cols["year"]]).strip()[:4])
            value = float(row[cols["value"]]) * _SCALE[layout]
        except (TypeError, ValueError):
            raise TradesimError(
                f"{path}:{line}: {cols['year']}={row.get(cols['year'])!r},"
                f" {cols['value']}={row.get(cols['value'])!r}: not a year and a number"
            ) from None
        if value < 0:
            raise TradesimError(f"{path}:{line}: negative trade value {value}")
        hs = str(row[cols["hs"]]).strip()
        flows.append(
            Flow(year, row[cols["exporter"]].strip(), row[cols["importer"]].strip(), hs, value)
        )
    if not flows:
        raise TradesimError(f"{path}: no import flows found")
    return layout, flows


def _concordance(path: Path) -> dict[str, str]:
    header, rows = _open(path)
    if not {"hs2", "sector"} <= set(header):
        raise TradesimError(f"{path}:1: a concordance needs columns hs2, sector")
    return {f"{int(r['hs2']):02d}": r["sector"].strip() for r in rows}


def _country_regions(path: Path) -> dict[str, str]:
    """Every code a country may have (alpha-3, ISO numeric, BACI numeric) -> its region."""
    _, rows = _open(path)
    out: dict[str, str] = {}
    for r in rows:
        for key in ("iso3", "iso_numeric", "baci_code"):
            code = (r.get(key) or "").strip()
            if code:
                out[code.lstrip("0") if code.isdigit() else code.upper()] = r["region"]
    return out


def origin_shares_from_trade(
    extract: str | Path,
    scenario: Scenario,
    economies: Sequence[str],
    year: int,
    *,
    concordance: str | Path = CONCORDANCE,
    regions: str | Path = REGIONS,
    keep_home: bool = False,
) -> TradeShares:
    """Origin shares of `economies` in `scenario` from the imports of `year` in `extract`.

    Raises TradesimError (naming the file and line or the economy and sector) when the
    extract cannot be read, a code has no sector, an economy is not an agent economy of the
    scenario, or the extract's imports exceed the scenario's absorption.
    """
    extract = Path(extract)
    for e in economies:
        if e not in scenario.economies:
            raise TradesimError(
                f"{e!r} is not an agent economy of {scenario.name}; choose from"
                f" {', '.join(scenario.economies)}"
            )
    layout, flows = read_extract(extract)
    to_sector = _concordance(Path(concordance))
    unknown_sectors = sorted(set(to_sector.values()) - set(scenario.sectors))
    if unknown_sectors:
        raise TradesimError(
            f"{concordance}: sectors {unknown_sectors} are not sectors of {scenario.name}"
            f" ({', '.join(scenario.sectors)})"
        )
    to_region = _country_regions(Path(regions))
    known = set(scenario.regions)
    rest = "ROW" if "ROW" in known else None

    def region(code: str) -> str | None:
        key = code.lstrip("0") if code.isdigit() else code.upper()
        if code in known:
            return code
        found = to_region.get(key)
        if found in known:
            return found
        return rest

    imports: dict[tuple[str, str, str], float] = defaultdict(float)
    used = 0
    years = {f.year for f in flows}
    if year not in years:
        raise TradesimError(f"{extract}: no flows in {year} (years found: {sorted(years)})")
    for f in flows:
        if f.year != year:
            continue
        d, o = region(f.importer), region(f.exporter)
        if d is None or d not in economies or o is None or o == d:
            continue
        chapter = f.hs[:2].zfill(2) if f.hs[:2].isdigit() else ""
        if chapter not in to_sector:
            raise TradesimError(f"{extract}: HS code {f.hs!r} has no sector in {concordance}")
        imports[(o, d, to_sector[chapter])] += f.value_usd
        used += 1
    if not used:
        raise TradesimError(f"{extract}: no {year} imports of {', '.join(economies)}")
    shares: dict[str, dict[str, dict[str, float]]] = {}
    for d in economies:
        spec = scenario.economies[d]
        shares[d] = {}
        for s in scenario.sectors:
            absorption = spec.absorption_usd_bn.get(s, 0.0) * 1e9
            bought = {o: imports.get((o, d, s), 0.0) for o in scenario.regions if o != d}
            total = sum(bought.values())
            if total == 0:
                continue  # no data for this sector: the scenario's shares stay
            if keep_home:
                home = spec.origin_shares.get(s, {}).get(d, 0.0)
                row = {o: (1 - home) * v / total for o, v in bought.items()}
            else:
                if total > absorption:
                    raise TradesimError(
                        f"{d} {s}: imports of {total / 1e9:.3f} USD bn in {year} exceed the"
                        f" scenario's absorption_usd_bn of {absorption / 1e9:.3f}; raise it,"
                        " or keep the scenario's home shares (--keep-home)"
                    )
                row = {o: v / absorption for o, v in bought.items()}
                home = 1.0 - sum(row.values())
            shares[d][s] = {d: round(home, 6), **{o: round(v, 6) for o, v in row.items()}}
            # rounding must not break the sum-to-one check
            shares[d][s][d] = round(1.0 - sum(v for o, v in shares[d][s].items() if o != d), 6)
    digest = hashlib.sha256(extract.read_bytes()).hexdigest()
    return TradeShares(
        year=year,
        economies=tuple(economies),
        flows=dict(imports),
        shares=shares,
        rows_used=used,
        source=str(extract),
        source_sha256=digest,
        layout=layout,
    )


def scenario_yaml(
    found: TradeShares, scenario: Scenario, parent: str, name: str, concordance: str | Path
) -> str:
    """A scenario file that extends `parent` with the origin shares found."""
    import yaml

    body: dict[str, Any] = {
        "extends": parent,
        "name": name,
        "description": f"{scenario.name} with {', '.join(found.economies)} origin shares from"
        f" {Path(found.source).name} ({found.year})",
        "economies": {
            d: {"origin_shares": {s: dict(row) for s, row in by_sector.items()}}
            for d, by_sector in found.shares.items()
        },
    }
    header = [
        f"# {name}: origin shares of {', '.join(found.economies)} in {found.year} from a trade",
        "# extract, written by `tradesim shares`.",
        "#",
        f"# Source: {found.source} ({found.layout} layout, sha256 {found.source_sha256[:16]}…),",
        f"# {found.rows_used} import rows of {found.year}; HS chapters mapped to sectors by",
        f"# {Path(concordance).name}; countries to regions by tradesim/data/regions.csv (the",
        "# rest of the world: ROW). Foreign shares are the extract's imports over the",
        "# scenario's absorption_usd_bn; the home share is the rest. Sectors without imports in",
        "# the extract keep the parent's shares.",
    ]
    return "\n".join(header) + "\n" + yaml.safe_dump(body, sort_keys=False, allow_unicode=True)
