"""Calibration: estimate constant parameters by the simulated method of moments (SMM).

What is estimated: constants only -- import-share levels, behavioural parameters (relationship
duration, exchange-rate response of budgets, discount speed), elasticities within their
sourced ranges, currency-choice constants and the sizes of dated events (a sanction's
perceived risk premium, a swap line's fee cut). Time variation comes from the scenario's
exogenous paths (world prices, exchange rates, demand, capacities) and dated events, never
from a fitted path.

What is matched (`tradesim.analysis.moments`): annual trade by direction, the sector
composition of each direction, the settlement-currency shares and the 2018 soybean episode,
each with its observed value, tolerance and data standard deviation. The simulated moment is
the mean over R replications with fixed seeds (common random numbers), so the objective
moves with the parameters, not with the draws.

Weighting (Gourieroux and Monfort 1996, ch. 2; McFadden 1989; Pakes and Pollard 1989). With
g(theta) the residuals (relative for levels, points for shares) and

    Omega = D + S / R,

D the diagonal of the observed figures' variances and S the covariance of one replication's
moments, the objective is g' W g with W = diag(Omega_0)^-1 (Omega_0 measured at the starting
point: the inverse of each moment's variance, data precision plus simulation noise). At the
estimate, with G the Jacobian of g (one-sided differences, 3% of each range),

    V = (G'WG)^-1 G'W Omega W G (G'WG)^-1                       (sandwich)
    J = (Pg)' (P Omega P')^+ (Pg) ~ chi2(M - K),  P = I - G (G'WG)^-1 G'W

(Hansen 1982's over-identification test in its form for a fixed, not necessarily optimal,
weighting matrix: P Omega P' is the variance of the fitted residuals, of rank M - K, and its
pseudo-inverse keeps its M - K largest eigenvalues. At an exact optimum G'Wg = 0 and Pg = g;
an estimate stopped by the evaluation budget leaves a part of g that a step of the
parameters would remove, and P takes it out instead of letting the near-zero eigenvalues of
P Omega P' inflate it).
Weakly identified parameters are named from the Jacobian: a standard error above a quarter
of the parameter's range, a fit that moves less than one standard deviation over the whole
range, an estimate on a bound, or a large weight in the Jacobian's smallest singular
direction.

Estimation in blocks: parameters that act on settlement (currency choice, hedging costs,
sanction premiums, fee cuts) barely move trade values (benchmarks/README.md, Sobol section),
so the estimation is a documented two-step: the trade block minimizes the objective over all
moments with the currency constants at their starting values, then the currency block does
the same with the trade constants at their estimates. Both steps minimize the same
objective; the standard errors, the J test and the identification use the joint Jacobian at
the final point. Replications run in parallel on local processes.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import math
import os
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Executor
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from scipy.optimize import least_squares

from tradesim.analysis.arguments import check_count, check_scenario
from tradesim.analysis.moments import (
    DEFAULT_MOMENTS,
    Moment,
    MomentSet,
    applicable,
    currency_moments,
    load_moments,
    simulate_moments,
    trade_moments,
)
from tradesim.analysis.progress import ProgressArg, progress_callback
from tradesim.errors import CalibrationError
from tradesim.scenario import Scenario, scenario_from_dict

__all__ = [
    "CalibrationReport",
    "Observation",
    "Parameter",
    "calibrate",
    "default_moments",
    "default_parameters",
    "import_share_scale",
    "load_observed",
    "parameter_from_spec",
    "parse_parameter",
    "read_moment_files",
    "replications_needed",
    "scenario_field",
    "shock_field",
    "start_values",
    "write_calibrated_scenario",
]

DATA_DIR = Path(__file__).parent.parent / "data"
OBSERVED_CN_RU = DATA_DIR / "cn_ru_trade.csv"


@dataclass(frozen=True)
class Observation:
    """One observed annual flow, USD."""

    year: int
    origin: str
    destination: str
    value_usd: float
    source: str = ""


def load_observed(path: str | Path = OBSERVED_CN_RU) -> list[Observation]:
    """Read observed annual flows: a file in the tidy format of `tradesim.io.observed`
    (its annual TOTAL rows), or the older CSV with columns year, origin, destination,
    value_usd_bn (and optionally source). Raises CalibrationError naming file and line."""
    from tradesim.io.observed import (
        ENCODING,
        MAX_VALUE_USD,
        annual_totals,
        is_tidy,
        read_observed,
    )

    path = Path(path)
    if is_tidy(path):
        return [
            Observation(t.year, t.origin, t.destination, t.value_usd, t.source)
            for t in annual_totals(read_observed(path))
        ]
    try:  # a byte-order mark (Excel) is dropped
        text = path.read_text(encoding=ENCODING)
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read observed data: {exc}") from None
    rows = list(csv.DictReader(text.splitlines()))
    required = {"year", "origin", "destination", "value_usd_bn"}
    header = set(rows[0]) if rows else set()
    if not rows or not required <= header:
        missing = ", ".join(sorted(required - header)) or "rows"
        raise CalibrationError(
            f"{path}:1: observed data needs columns {sorted(required)}; missing {missing}"
        )
    out: list[Observation] = []
    seen: set[tuple[int, str, str]] = set()
    for line, row in enumerate(rows, start=2):
        where = f"{path}:{line}"
        if None in row or any(v is None for v in row.values()):
            raise CalibrationError(
                f"{where}: the row has {len([v for v in row.values() if v is not None])} fields"
                f" where the header has {len(header)}"
            )
        try:
            year = int(row["year"])
            value = float(row["value_usd_bn"])
        except (TypeError, ValueError):
            raise CalibrationError(
                f"{where}: year must be a whole number and value_usd_bn a number,"
                f" got {row['year']!r} and {row['value_usd_bn']!r}"
            ) from None
        if not math.isfinite(value) or value <= 0:
            raise CalibrationError(f"{where}: value_usd_bn must be positive, got {value}")
        if value * 1e9 > MAX_VALUE_USD:
            raise CalibrationError(
                f"{where}: value_usd_bn {value:g} is {value:.3g} billion US dollars, more than"
                " world trade; the column is in billions (37.3 for 37.3 billion)"
            )
        key = (year, row["origin"].strip(), row["destination"].strip())
        if key in seen:
            raise CalibrationError(f"{where}: {key} appears twice")
        seen.add(key)
        out.append(Observation(*key, value * 1e9, (row.get("source") or "").strip()))
    return out


def _check_observed(observed: Sequence[Observation], scenario: Scenario) -> None:
    regions = set(scenario.regions)
    years = set(range(scenario.start.year, scenario.end.year + 1))
    for obs in observed:
        for name in (obs.origin, obs.destination):
            if name not in regions:
                raise CalibrationError(
                    f"observed flow {obs.origin}->{obs.destination} {obs.year}: unknown region"
                    f" {name!r}; the scenario has {sorted(regions)}"
                )
        if obs.year not in years:
            raise CalibrationError(
                f"observed year {obs.year} lies outside the scenario's horizon"
                f" {scenario.start:%Y-%m} to {scenario.end:%Y-%m}"
            )
    pairs = {(o.origin, o.destination) for o in observed}
    for origin, destination in pairs:
        have = {o.year for o in observed if (o.origin, o.destination) == (origin, destination)}
        if have != {o.year for o in observed}:
            missing = sorted({o.year for o in observed} - have)
            raise CalibrationError(f"observed {origin}->{destination} is missing years {missing}")


# ----------------------------------------------------------------------------- parameters

Apply = Callable[[dict[str, Any], float], None]


@dataclass(frozen=True)
class Parameter:
    """A free constant: how a value changes the scenario, its bounds and starting value.

    `block` is "trade" or "currency" (the two steps of the estimation); `source` says where
    the bounds come from."""

    name: str
    description: str
    lower: float
    upper: float
    start: float
    apply: Apply = field(repr=False, compare=False)
    block: str = "trade"
    source: str = ""

    def __post_init__(self) -> None:
        if not self.lower <= self.start <= self.upper:
            raise ValueError(
                f"{self.name}: start {self.start} outside [{self.lower}, {self.upper}]"
            )


def import_share_scale(
    importer: str, origin: str, lower: float = 0.3, upper: float = 3.0
) -> Parameter:
    """Multiply `origin`'s base-year share in `importer`'s purchases (every sector) by the
    value; the importer's own (domestic) share absorbs the difference, and where it is too
    small (a sector with no domestic supply, such as LNG in China) the other origins do, in
    proportion to their shares."""

    def apply(data: dict[str, Any], value: float) -> None:
        region = {**data["economies"], **data.get("external_regions", {})}[importer]
        for shares in region["origin_shares"].values():
            base = shares.get(origin, 0.0)
            shares[origin] = base * value
            delta = base * (value - 1.0)
            own = shares.get(importer, 0.0)
            shares[importer] = max(own - delta, 0.0)
            rest = delta - (own - shares[importer])
            others = [k for k in shares if k not in (origin, importer)]
            pool = sum(shares[k] for k in others)
            if rest > 1e-12 and pool <= rest:
                raise CalibrationError(f"{origin} share in {importer} exceeds 1 at scale {value}")
            for k in others if rest > 1e-12 else []:
                shares[k] *= 1.0 - rest / pool

    return Parameter(
        f"import_share_scale.{origin}_in_{importer}",
        f"multiplier on {origin}'s base-year share of {importer}'s purchases (level)",
        lower,
        upper,
        1.0,
        apply,
        source="level: free within a factor of about 3 either way",
    )


def _expand(path: str) -> list[list[str]]:
    """'a.{b,c}.d' -> [['a','b','d'], ['a','c','d']] (one brace group at most per segment)."""
    out: list[list[str]] = [[]]
    for part in _split_path(path):
        if part.startswith("{") and part.endswith("}"):
            options = [x.strip() for x in part[1:-1].split(",") if x.strip()]
            out = [[*p, o] for p in out for o in options]
        else:
            out = [[*p, part] for p in out]
    return out


def _split_path(path: str) -> list[str]:
    parts, depth, cur = [], 0, ""
    for ch in path:
        if ch == "." and depth == 0:
            parts.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    parts.append(cur)
    if any(not p for p in parts):
        raise CalibrationError(f"parameter path {path!r} has an empty segment")
    return parts


FIELD_ROOTS = ("parameters", "sectors", "currencies", "economies", "external_regions")


def scenario_field(
    path: str,
    lower: float,
    upper: float,
    start: float,
    *,
    description: str = "",
    block: str | None = None,
    source: str = "",
) -> Parameter:
    """A constant at a dotted path of the scenario (``parameters.renewal_months``,
    ``sectors.crude.elasticity``, ``currencies.RUB.hedging_cost``); a brace group sets one
    value at several places (``parameters.currency_choice.invoicing.{machinery,other}.producer``).
    Missing mappings along the path are created (an unlisted sector's invoicing convention)."""
    root = _split_path(path)[0]
    if root not in FIELD_ROOTS:
        raise CalibrationError(
            f"parameter {path!r}: a scenario field starts with one of {list(FIELD_ROOTS)}"
        )
    targets = _expand(path)

    def apply(data: dict[str, Any], value: float) -> None:
        for keys in targets:
            node = data
            for key in keys[:-1]:
                nxt = node.get(key)
                if nxt is None:
                    nxt = node[key] = {}
                if not isinstance(nxt, dict):
                    raise CalibrationError(f"parameter {path!r}: {key!r} is not a mapping")
                node = nxt
            node[keys[-1]] = value

    if block is None:
        block = "currency" if ("currency_choice" in path or root == "currencies") else "trade"
    return Parameter(path, description or path, lower, upper, start, apply, block, source)


def parameter_field(name: str, lower: float, upper: float, start: float) -> Parameter:
    """A field of `parameters` (a dotted path below it, e.g. ``currency_choice.switching_cost``)."""
    return scenario_field(f"parameters.{name}", lower, upper, start, description=name)


def _shock_indices(scenario: Scenario, names: Sequence[str]) -> list[int]:
    out = []
    for name in names:
        matches = [i for i, shock in enumerate(scenario.shocks) if shock.name == name]
        if len(matches) != 1:
            raise CalibrationError(f"expected one shock named {name!r}, found {len(matches)}")
        out.append(matches[0])
    return out


def shock_field(
    scenario: Scenario,
    names: Sequence[str],
    field_name: str,
    lower: float,
    upper: float,
    *,
    start: float | None = None,
    block: str = "currency",
    source: str = "",
) -> Parameter:
    """A constant field (``premium``, ``fee_change``, ``change``, ``rate``) of the dated
    events called `names`, one value for all of them: the size of an event, not a path.
    Named ``shock[NAME|NAME2].FIELD``."""
    names = list(names)
    indices = _shock_indices(scenario, names)
    first: Any = scenario.shocks[indices[0]]
    current = getattr(first, field_name, None)
    if not isinstance(current, (int, float)) or isinstance(current, bool):
        raise CalibrationError(f"shock {names[0]!r} has no number {field_name!r} to fit")
    value0 = float(current) if start is None else start

    def apply(data: dict[str, Any], value: float) -> None:
        for i in indices:
            data["shocks"][i][field_name] = value

    return Parameter(
        f"shock[{'|'.join(names)}].{field_name}",
        f"{field_name} of {', '.join(repr(n) for n in names)}",
        lower,
        upper,
        min(max(value0, lower), upper),
        apply,
        block,
        source,
    )


def shock_size(scenario: Scenario, name: str, lower: float = -0.5, upper: float = 0.5) -> Parameter:
    """The size of the shock called `name`: its `change`, or the last value of its `path`.

    Kept for user specifications and old reports; the default calibration fits no path."""
    matches = [i for i, shock in enumerate(scenario.shocks) if shock.name == name]
    if len(matches) != 1:
        raise CalibrationError(f"expected one shock named {name!r}, found {len(matches)}")
    index = matches[0]
    shock: Any = scenario.shocks[index]
    if getattr(shock, "path", None):
        last = list(shock.path)[-1]
        start = shock.path[last]
    elif getattr(shock, "change", None) is not None:
        last, start = None, shock.change
    else:
        raise CalibrationError(f"shock {name!r} has no change or path to fit")

    def apply(data: dict[str, Any], value: float) -> None:
        target = data["shocks"][index]
        if last is None:
            target["change"] = value
        else:
            target["path"][last] = value

    return Parameter(
        f"shock_size.{name}",
        f"size of the shock {name!r}",
        lower,
        upper,
        min(max(start, lower), upper),
        apply,
    )


def parse_parameter(scenario: Scenario, name: str) -> tuple[Parameter, bool]:
    """The parameter called `name` (any kind `calibrate` estimates), with unbounded limits,
    and whether its value is relative to the estimate (a multiplier already applied to the
    scenario). Used to apply drawn values (`tradesim.analysis.uncertainty`)."""
    inf = math.inf
    if name.startswith("shock[") and "]." in name:
        inner, _, field_name = name[len("shock[") :].rpartition("].")
        return shock_field(scenario, inner.split("|"), field_name, -inf, inf), False
    kind, _, rest = name.partition(".")
    if kind == "shock_size" and rest:
        return shock_size(scenario, rest, -inf, inf), False
    if kind == "import_share_scale" and "_in_" in rest:
        origin, _, importer = rest.partition("_in_")
        return import_share_scale(importer, origin, 0.0, inf), True
    if kind in FIELD_ROOTS and rest:
        return scenario_field(name, -inf, inf, 0.0), False
    raise CalibrationError(
        f"cannot draw parameter {name!r}: tradesim knows parameters named"
        f" {'|'.join(FIELD_ROOTS)}.PATH (a scenario field; braces for groups),"
        " shock[NAME|...].FIELD, shock_size.NAME and import_share_scale.ORIGIN_in_IMPORTER"
    )


def parameter_from_spec(scenario: Scenario, spec: str) -> Parameter:
    """A parameter from ``NAME=LOWER:UPPER`` or ``NAME=LOWER:UPPER:START`` (the command
    line's ``--parameter``); the start defaults to the scenario's current value (1 for an
    import-share level), clipped to the bounds."""
    name, eq, bounds = spec.partition("=")
    parts = bounds.split(":")
    try:
        if not eq or len(parts) not in (2, 3):
            raise ValueError
        numbers = [float(v) for v in parts]
    except ValueError:
        raise CalibrationError(
            f"--parameter {spec!r}: expected NAME=LOWER:UPPER or NAME=LOWER:UPPER:START"
        ) from None
    lower, upper = numbers[0], numbers[1]
    if not (math.isfinite(lower) and math.isfinite(upper) and upper > lower):
        raise CalibrationError(f"--parameter {spec!r}: needs finite bounds with upper > lower")
    name = name.strip()
    template, relative = parse_parameter(scenario, name)
    if len(numbers) == 3:
        start = numbers[2]
    elif relative:
        start = 1.0
    else:
        start = _current(scenario, name)
    if not lower <= start <= upper:
        if len(numbers) == 3:
            raise CalibrationError(f"--parameter {spec!r}: start {start} outside the bounds")
        start = min(max(start, lower), upper)
    block = template.block
    if name.startswith("shock[") and not name.endswith((".premium", ".fee_change")):
        block = "trade"
    return Parameter(name, template.description, lower, upper, start, template.apply, block)


def _current(scenario: Scenario, name: str) -> float:
    """The scenario's value of a field or shock-field parameter (0 where it is unset)."""
    if name.startswith("shock["):
        inner, _, field_name = name[len("shock[") :].rpartition("].")
        index = _shock_indices(scenario, inner.split("|"))[0]
        return float(getattr(scenario.shocks[index], field_name, 0.0) or 0.0)
    if name.startswith("shock_size."):
        return shock_size(scenario, name.partition(".")[2]).start
    node: Any = scenario.model_dump(mode="json")
    for key in _expand(name)[0]:
        if not isinstance(node, dict) or key not in node:
            return 0.0
        node = node[key]
    if isinstance(node, bool) or not isinstance(node, (int, float)):
        raise CalibrationError(f"parameter {name!r}: the scenario's value {node!r} is not a number")
    return float(node)


# Sourced bounds of the default constants. Each entry: path, lower, upper, description, source.
ENERGY_SECTORS = ("energy", "crude", "pipeline_gas", "lng")
DIFFERENTIATED = ("machinery", "consumer_goods", "other")
_TRADE_CONSTANTS = (
    (
        "parameters.fx_budget_elasticity",
        0.0,
        1.0,
        "elasticity of USD import budgets to the home currency",
        "0: budgets fixed in dollars; 1: fixed in home currency (docs/model.md)",
    ),
    (
        "parameters.renewal_months",
        6.0,
        24.0,
        "mean duration of a supplier relationship, months",
        "annual contracts are the norm (12); half a year to two years covers the median"
        " durations of exporter-importer relationships in Monarch and Schmidt-Eisenlohr"
        " (2018, 'Longevity and the value of trade relationships')",
    ),
    (
        "parameters.price_adjustment",
        0.0,
        0.1,
        "monthly log price response to the utilization gap (discount speed)",
        "0: no response; 0.1 a month halves a 20% gap in about half a year, faster than"
        " the Urals discount's adjustment (research/sources/invoicing.md)",
    ),
)
# The perceived premium of the 2014 sectoral sanctions and the swap line's fee cut are not in
# the default set: estimated with the others on the integrated baseline (2026-11-29) both
# were weakly identified (standard errors over a quarter of their ranges: 0.0070 on [0, 0.02]
# and 0.0040 on [-0.008, 0]), so they keep the values of the scenario (benchmarks/README.md).
_CURRENCY_EVENTS = (
    # names, field, lower, upper, source
    (
        ("US sanctions April 2018, dollar risk",),
        "premium",
        1e-5,
        0.03,
        "perceived premium, fraction of value: up to 3%, ten times the USD fee and hedging",
    ),
)
# Sizes of dated capacity events (trade block): names, field, lower, upper, source.
_CAPACITY_EVENTS = (
    (
        ("ESPO second branch, capacity",),
        "change",
        0.0,
        1.0,
        "0 to +100%: the second branch doubled the ESPO spur's capacity to China, 15 to 30"
        " Mt a year from 2018-01-01 (Transneft; Xinhua via 4-traders, research/sources/crude.csv)",
    ),
)


def default_parameters(scenario: Scenario, moments: int | None = None) -> list[Parameter]:
    """The default constants of the scenario (no time path): the two import-share levels
    between the first two agent economies; relationship duration, budget response to the
    exchange rate and discount speed (trade block); and, where the scenario has them, the
    invoicing conventions of energy and differentiated goods, the ruble's hedging cost and the
    perceived premium of the 2018 sanctions (currency block); crude's ESUBM and the size of
    the ESPO capacity step where the scenario has them (trade block). Bounds and their
    sources are in `_TRADE_CONSTANTS`, `_CAPACITY_EVENTS` and `_CURRENCY_EVENTS`.

    With `moments` (the number of fitted moments), constants are dropped from the end of
    each block's list until one degree of freedom is left for the over-identification test
    (the levels stay)."""
    agents = list(scenario.economies)
    if len(agents) < 2:
        raise CalibrationError("the default calibration needs two agent economies")
    a, b = agents[:2]
    params = [import_share_scale(b, a), import_share_scale(a, b)]
    values = scenario.model_dump(mode="json")
    for path, lo, hi, text, source in _TRADE_CONSTANTS:
        start = values["parameters"][path.split(".")[1]]
        params.append(
            scenario_field(
                path,
                lo,
                hi,
                min(max(start, lo), hi),
                description=text,
                block="trade",
                source=source,
            )
        )
    crude = scenario.sectors.get("crude")
    inner = getattr(crude, "elasticity_domestic", None)
    if crude is not None and inner is not None and 2 * inner > inner:
        # ESUBM of crude between the flat nest (ESUBM = ESUBD) and GTAP's "rule of two"
        # (ESUBM = 2 x ESUBD, the value set in the baseline): tradesim/data/elasticities.csv.
        params.append(
            scenario_field(
                "sectors.crude.elasticity",
                float(inner),
                float(2 * inner),
                min(max(float(crude.elasticity), inner), 2 * inner),
                description="substitution elasticity among crude origins (ESUBM)",
                block="trade",
                source="between ESUBD (flat nest) and 2 x ESUBD (GTAP's rule of two);"
                " ESUBD 5.2 (IMF-ENV setting, GTAP-based; tradesim/data/elasticities.csv)",
            )
        )
    names = {s.name for s in scenario.shocks}
    for event_names, fname, lo, hi, source in _CAPACITY_EVENTS:
        if set(event_names) <= names:
            params.append(
                shock_field(scenario, event_names, fname, lo, hi, block="trade", source=source)
            )
    choice = scenario.parameters.currency_choice
    if choice.invoicing:
        present = [s for s in ENERGY_SECTORS if s in scenario.sectors]
        if present:
            cur = choice.invoicing.get(present[0])
            params.append(
                scenario_field(
                    f"parameters.currency_choice.invoicing.{{{','.join(present)}}}.dominant",
                    0.0,
                    8.0,
                    min(cur.dominant if cur else 0.0, 8.0),
                    description="utility of the dominant currency in energy (DCP)",
                    block="currency",
                    source="0 (neutral) to 8 (near-certain USD): Gopinath (2015), Goldberg and"
                    " Tille (2008) on dominant-currency pricing of reference-priced goods",
                )
            )
        diff = [s for s in DIFFERENTIATED if s in scenario.sectors]
        if diff:
            cur = choice.invoicing.get(diff[0])
            params.append(
                scenario_field(
                    f"parameters.currency_choice.invoicing.{{{','.join(diff)}}}.producer",
                    0.0,
                    8.0,
                    min(cur.producer if cur else 0.0, 8.0),
                    description="utility of the producer's currency in differentiated goods",
                    block="currency",
                    source="0 to 8: producer-currency pricing of differentiated goods"
                    " (Gopinath 2015)",
                )
            )
        if "RUB" in scenario.currencies:
            params.append(
                scenario_field(
                    "currencies.RUB.hedging_cost",
                    0.0005,
                    0.012,
                    min(max(scenario.currencies["RUB"].hedging_cost, 0.0005), 0.012),
                    description="the ruble's hedging cost, fraction of value",
                    block="currency",
                    source="no published value (research/sources/invoicing.md): between the"
                    " USD's 0.2% and twice the ruble's conversion fee",
                )
            )
        eu = {**scenario.economies, **scenario.external_regions}.get("EU")
        if eu is not None and eu.currency == "EUR":
            params.append(
                scenario_field(
                    "parameters.currency_choice.importer_currency.EU",
                    0.0,
                    4.0,
                    min(choice.importer_currency.get("EU", 0.0), 4.0),
                    description="utility of the euro in the euro area's imports (LCP)",
                    block="currency",
                    source="0 (sector conventions only) to 4: local-currency pricing set by the"
                    " importer's market (Kamps 2006); identified by Eurostat's euro share of"
                    " extra-EU imports, 35% in 2018 (tradesim/data/eu_invoicing.csv)",
                )
            )
        for event_names, fname, lo, hi, source in _CURRENCY_EVENTS:
            if set(event_names) <= names:
                params.append(shock_field(scenario, event_names, fname, lo, hi, source=source))
    if moments is not None:
        while len(params) > max(moments - 1, 2):
            trade = [i for i, p in enumerate(params[2:], start=2) if p.block == "trade"]
            params.pop(trade[-1] if trade else -1)
    return params


def _with_values(
    scenario: Scenario, params: Sequence[Parameter], values: Sequence[float]
) -> Scenario:
    data = scenario.model_dump(mode="json")
    for p, v in zip(params, values, strict=True):
        p.apply(data, float(v))
    return scenario_from_dict(data)


# ----------------------------------------------------------------------------- moments


def _moments(scenario: Scenario, index: int, keys: Sequence[tuple[int, str, str]]) -> np.ndarray:
    """One replication's annual flows for the observed (year, origin, destination)."""
    moments = [Moment("trade", str(y), (o,), (d,), 1.0) for y, o, d in keys]
    return _draw(scenario, index, moments)


def _draw(scenario: Scenario, index: int, moments: Sequence[Moment]) -> np.ndarray:
    """One replication's simulated moments (seed `index` of the scenario)."""
    from tradesim.analysis.runner import run_seed
    from tradesim.model.engine import run_engine

    return simulate_moments(run_engine(scenario, run_seed(scenario, index)), moments)


class _Simulator:
    """Simulated moments for parameter values, replications spread over a process pool."""

    def __init__(
        self,
        scenario: Scenario,
        params: Sequence[Parameter],
        moments: Sequence[Moment],
        replications: int,
        pool: Executor | None,
    ):
        self.scenario, self.params, self.moments = scenario, params, list(moments)
        self.replications, self.pool = replications, pool
        self.evaluations = 0
        self._cache: dict[tuple[float, ...], np.ndarray] = {}

    def draws(self, values: Any, replications: int | None = None) -> np.ndarray:
        """(R, M) moments of each replication (seeds 0..R-1: common random numbers)."""
        count = replications or self.replications
        key = (*(float(v) for v in values), float(count))
        if key in self._cache:
            return self._cache[key]
        scenario = _with_values(self.scenario, self.params, values)
        indices = range(count)
        self.evaluations += 1
        if self.pool is None:
            out = np.array([_draw(scenario, i, self.moments) for i in indices])
        else:
            futures = [self.pool.submit(_draw, scenario, i, self.moments) for i in indices]
            out = np.array([f.result() for f in futures])
        self._cache[key] = out
        return out


def default_moments(scenario: Scenario) -> MomentSet:
    """The shipped moments beyond the annual totals that `scenario` can produce: sector
    composition and the soybean episode (tradesim/data/cn_ru_moments.csv) and the currency
    shares (tradesim/data/cn_ru_currency_shares.csv); the others are listed as skipped."""
    shares = currency_moments(load_currency_shares())
    return applicable([*load_moments(DEFAULT_MOMENTS), *shares], scenario)


def start_values(report: str | Path) -> dict[str, float]:
    """The estimates of a calibration report (``NAME.report.json``), by parameter name."""
    path = Path(report)
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return {str(p["name"]): float(p["estimate"]) for p in data["parameters"]}
    except OSError as exc:
        raise CalibrationError(f"{path}: cannot read the calibration report: {exc}") from None
    except (ValueError, KeyError, TypeError) as exc:
        raise CalibrationError(f"{path}: not a calibration report: {exc!r}") from None


def read_moment_files(paths: Sequence[str | Path]) -> list[Moment]:
    """Moments from files: the layout of tradesim/data/cn_ru_moments.csv, or currency shares
    as tradesim/data/cn_ru_currency_shares.csv (told apart by the header). A path named
    ``none`` contributes nothing (the annual totals only)."""
    out: list[Moment] = []
    for path in map(Path, paths):
        if path.name.lower() == "none" and not path.exists():
            continue
        try:
            with path.open(encoding="utf-8") as handle:
                header = handle.readline()
        except (OSError, UnicodeDecodeError) as exc:
            raise CalibrationError(f"{path}: cannot read moments: {exc}") from None
        if "share_percent" in header.split(","):
            out += currency_moments(load_currency_shares(path))
        else:
            out += load_moments(path)
    return out


FIT_WINDOW_EVENTS = DATA_DIR / "fit_window_events.yaml"


def fit_window_events(scenario: Scenario, moments: Sequence[Moment]) -> list[dict[str, Any]]:
    """The dated events of tradesim/data/fit_window_events.yaml that the fit adds to
    `scenario`: those whose group has a moment in `moments`, whose regions and sectors the
    scenario has, and whose name it does not already carry."""
    data = yaml.safe_load(FIT_WINDOW_EVENTS.read_text(encoding="utf-8")) or {}
    groups = {m.group for m in moments}
    names = {s.name for s in scenario.shocks}
    regions = set(scenario.regions)
    out = []
    for shock in data.get("shocks", []):
        shock = dict(shock)
        group = shock.pop("group", None)
        if group not in groups or shock.get("name") in names:
            continue
        if not {shock.get("importer", ""), shock.get("origin", "")} - {""} <= regions:
            continue
        if not set(shock.get("sectors", [])) <= set(scenario.sectors):
            continue
        out.append(shock)
    return out


def _with_events(scenario: Scenario, events: Sequence[dict[str, Any]]) -> Scenario:
    if not events:
        return scenario
    data = scenario.model_dump(mode="json")
    data["shocks"] = [*data["shocks"], *events]
    return scenario_from_dict(data, source="<calibration events>")


# ----------------------------------------------------------------------------- report


@dataclass
class CalibrationReport:
    """Estimates with standard errors, every moment against its target, the weighting, the
    over-identification test, identification and simulation-noise diagnostics."""

    parameters: list[dict[str, Any]]
    moments: list[dict[str, Any]]
    jacobian_rank: int
    jacobian_condition: float
    converged: bool
    status: str
    evaluations: int
    starts: int
    replications: int
    wall_seconds: float
    holdout_years: list[int]
    holdout_mean_abs_error_pct: float | None
    scenario: str
    created: str = field(
        default_factory=lambda: dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
    )
    # The estimates' covariance V (sandwich above), rows and columns in `parameters` order:
    # what `run --parameter-uncertainty` draws from (tradesim.analysis.uncertainty).
    covariance: list[list[float]] | None = None
    # Hansen's J: statistic, degrees of freedom (fitted moments - parameters), p-value.
    j_statistic: float | None = None
    j_df: int = 0
    j_pvalue: float | None = None
    singular_values: list[float] = field(default_factory=list)
    weak_parameters: list[dict[str, str]] = field(default_factory=list)
    noise_replications: int = 0  # replications behind S, the simulation-noise covariance
    blocks: list[list[str]] = field(default_factory=list)
    events: list[str] = field(default_factory=list)  # dated events added while fitting
    skipped_moments: list[dict[str, str]] = field(default_factory=list)

    @property
    def estimates(self) -> dict[str, float]:
        return {p["name"]: p["estimate"] for p in self.parameters}

    @property
    def noise_ok(self) -> bool:
        """Every fitted moment's simulation noise at most a third of its tolerance."""
        return all(m["noise_ok"] for m in self.moments if m["in_sample"])

    def to_json(self) -> str:
        return json.dumps(asdict(self), indent=2, allow_nan=True) + "\n"

    def to_markdown(self) -> str:
        lines = [
            f"# Calibration of `{self.scenario}`",
            "",
            f"- converged: **{'yes' if self.converged else 'NO'}** ({self.status})",
            f"- evaluations: {self.evaluations} ({self.starts} optimizer starts over"
            f" {max(len(self.blocks), 1)} block(s), {self.replications} replications each,"
            " common random numbers)",
            f"- blocks: {'; then '.join(', '.join(b) for b in self.blocks) or 'one'}",
            f"- Jacobian rank {self.jacobian_rank} of {len(self.parameters)}, condition number "
            f"{self.jacobian_condition:.3g}",
            f"- wall time: {self.wall_seconds:.1f} s",
        ]
        if self.events:
            lines.append(f"- dated events added while fitting: {', '.join(self.events)}")
        if self.j_statistic is not None:
            lines.append(
                f"- over-identification (Hansen J): J = {self.j_statistic:.2f} on {self.j_df}"
                f" degrees of freedom, p = {self.j_pvalue:.3g}"
                + (" (the model is rejected at 5%)" if (self.j_pvalue or 0) < 0.05 else "")
            )
        fitted = [m for m in self.moments if m["in_sample"]]
        ok = sum(m["noise_ok"] for m in fitted)
        lines.append(
            f"- simulation noise below a third of the tolerance: {ok} of {len(fitted)} fitted"
            f" moments ({self.replications} replications; noise measured on"
            f" {self.noise_replications})"
        )
        noisy = [m for m in fitted if not m["noise_ok"]]
        feasible = [m["replications_needed"] for m in noisy if m["replications_needed"] is not None]
        infeasible = [m["label"] for m in noisy if m["replications_needed"] is None]
        if feasible:
            lines.append(
                f"- replications that would bring every fitted moment's noise below a third of"
                f" its tolerance: {max(feasible):,}"
            )
        if infeasible:
            lines.append(
                f"- no feasible number of replications (more than {MAX_REPLICATIONS_NEEDED:,})"
                f" for {', '.join(infeasible)}: the simulation noise dwarfs the tolerance;"
                " check the observed values' unit (US dollars in the tidy format)"
            )
        lines += [
            "",
            "| parameter | block | estimate | s.e. | bounds | start |",
            "|---|---|---:|---:|---|---:|",
        ]
        for p in self.parameters:
            lines.append(
                f"| {p['name']} | {p.get('block', '')} | {p['estimate']:.4g} | {p['se']:.3g} | "
                f"[{p['lower']:g}, {p['upper']:g}] | {p['start']:g} |"
            )
        if self.weak_parameters:
            lines += ["", "Weakly identified:", ""]
            lines += [f"- {w['name']}: {w['reason']}" for w in self.weak_parameters]
        lines += [
            "",
            "| group | moment | observed | fitted | residual | tolerance | noise | used |",
            "|---|---|---:|---:|---:|---:|---:|---|",
        ]
        for m in self.moments:
            lines.append(
                f"| {m['group']} | {m['label']} | {_fmt(m['observed'], m['unit'])} |"
                f" {_fmt(m['fitted'], m['unit'])} | {_res(m['residual'], m['relative'])} |"
                f" {_res(m['tolerance'], m['relative'], sign=False)} |"
                f" {_res(m['noise'], m['relative'], sign=False)}"
                f"{'' if m['noise_ok'] else ' (!)'} | {m['used']} |"
            )
        if self.holdout_mean_abs_error_pct is not None:
            lines += [
                "",
                f"Out of sample ({', '.join(map(str, self.holdout_years))}): mean absolute error "
                f"of the annual totals {self.holdout_mean_abs_error_pct:.2f}%.",
            ]
        if self.skipped_moments:
            lines += ["", "Moments the scenario cannot produce (not used):", ""]
            lines += [f"- {s['moment']}: {s['reason']}" for s in self.skipped_moments]
        lines += [
            "",
            "Residual: relative for levels, percentage points for shares. Noise: the standard"
            " deviation of the simulated moment (mean of the replications); (!) where it"
            " exceeds a third of the tolerance.",
        ]
        return "\n".join(lines) + "\n"

    def to_text(self) -> str:
        return self.to_markdown().replace("**", "")


def _fmt(value: float, unit: str) -> str:
    if not math.isfinite(value):
        return "n/a"
    if unit == "USD":
        return f"{value / 1e9:.2f}bn"
    if unit == "percent":
        return f"{value:.1f}%"
    if abs(value) >= 1e6:
        return f"{value / 1e6:.1f}M {unit}"
    return f"{value:.4g} {unit}"


def _res(value: float, relative: bool, sign: bool = True) -> str:
    if not math.isfinite(value):
        return "n/a"
    if relative:
        return f"{100 * value:+.2f}%" if sign else f"{100 * value:.2f}%"
    return f"{value:+.2f} pp" if sign else f"{value:.2f} pp"


# ----------------------------------------------------------------------------- fit

BLOCK_ORDER = ("trade", "currency")


class _BudgetSpent(Exception):
    """The optimizer used its model evaluations: stop it and keep the best point seen."""


def _blocks(params: Sequence[Parameter]) -> list[list[int]]:
    names = [b for b in BLOCK_ORDER if any(p.block == b for p in params)]
    names += sorted({p.block for p in params} - set(names))
    return [[i for i, p in enumerate(params) if p.block == b] for b in names]


# Above this many replications the report says no feasible number exists (null): with the
# default budget of 60 evaluations (`calibrate`'s max_evaluations) a million replications
# are 60 million model runs, beyond any machine this runs on (benchmarks/README.md gives
# the seconds per run). Noise that large against the tolerance usually means observed values
# in the wrong unit, not a noisy model.
MAX_REPLICATIONS_NEEDED = 1_000_000


def replications_needed(noise_sd: float, tolerance: float) -> int | None:
    """Replications R that bring the noise of the mean moment, noise_sd / sqrt(R), to at
    most a third of `tolerance`: R = ceil(9 noise_sd^2 / tolerance^2), at least 1.

    None when R would exceed `MAX_REPLICATIONS_NEEDED` or is not a number (an infinite or
    undefined noise, a tolerance of zero): computed on the ratio noise_sd / tolerance so
    that a huge ratio cannot overflow."""
    ratio = noise_sd / tolerance if tolerance > 0 else math.inf
    if not math.isfinite(ratio) or ratio > math.sqrt(MAX_REPLICATIONS_NEEDED / 9.0):
        return None
    return min(max(math.ceil(9.0 * ratio * ratio), 1), MAX_REPLICATIONS_NEEDED)


def _residuals(moments: Sequence[Moment], values: np.ndarray) -> np.ndarray:
    """Residuals of simulated `values` (..., M): relative for levels, points for shares;
    a share of nothing (no flow at all) counts as 0%."""
    values = np.nan_to_num(np.asarray(values, dtype=float), nan=0.0)
    out = np.empty_like(values)
    for k, m in enumerate(moments):
        out[..., k] = m.residual(values[..., k])
    return out


def calibrate(
    scenario: Scenario,
    observed: Sequence[Observation] | None = None,
    *,
    parameters: Sequence[Parameter] | None = None,
    moments: Sequence[Moment] | None = None,
    replications: int = 4,
    starts: int = 3,
    holdout: Sequence[int] = (),
    workers: int | None = None,
    max_evaluations: int = 60,
    progress: ProgressArg = True,
    events: Sequence[dict[str, Any]] | None = None,
    start: dict[str, float] | None = None,
) -> tuple[Scenario, CalibrationReport]:
    """Estimate `parameters` (default: `default_parameters`, constants only) so that the
    simulated moments match the observed ones, leaving `holdout` years out.

    Moments: the annual totals of `observed` (default: the shipped China-Russia figures) and
    `moments` (default: `default_moments(scenario)`, the shipped composition, soybean and
    currency-share targets the scenario can produce; ``()`` for the totals only). `events`:
    dated shocks added to the scenario while fitting (default: those of
    tradesim/data/fit_window_events.yaml that the fitted moments need); the returned
    scenario does not contain them. `start`: starting values by parameter name (a previous
    report's estimates: a warm start), clipped to the bounds; the others start where the
    scenario is.

    Returns the calibrated scenario and a report. Non-convergence does not raise: the best
    point found is returned and `report.converged` is False. `progress`: True (default)
    shows a bar of model evaluations, False none, a callable is called as
    progress(done, at_most).
    """
    scenario = check_scenario(scenario)
    replications = check_count(replications, "replications")
    starts = check_count(starts, "starts")
    max_evaluations = check_count(max_evaluations, "max_evaluations")
    workers = check_count(workers, "workers", optional=True)
    if isinstance(holdout, (str, bytes)) or not isinstance(holdout, Sequence):
        raise TypeError(f"holdout must be a sequence of years, got {holdout!r}")
    t0 = time.perf_counter()
    observed = list(observed if observed is not None else load_observed())
    _check_observed(observed, scenario)
    extra = (
        default_moments(scenario) if moments is None else applicable(moments, scenario, strict=True)
    )
    every = [*trade_moments(observed), *extra.moments]
    hold = set(holdout)
    in_fit = np.array([m.target and m.year not in hold for m in every])
    if parameters is None:
        params = default_parameters(scenario, int(in_fit.sum()))
    else:
        params = list(parameters)
    if not params:
        raise CalibrationError("calibrate needs at least one parameter")
    if start:
        unknown = sorted(set(start) - {p.name for p in params})
        if unknown:
            raise CalibrationError(f"starting values for parameters not estimated: {unknown}")
        params = [
            replace(p, start=min(max(float(start[p.name]), p.lower), p.upper))
            if p.name in start
            else p
            for p in params
        ]
    names = [p.name for p in params]
    if len(set(names)) != len(names):
        raise CalibrationError(f"a parameter is given twice: {names}")
    if any(not p.upper > p.lower for p in params):
        bad = [p.name for p in params if not p.upper > p.lower]
        raise CalibrationError(f"parameters need upper > lower bounds: {bad}")
    observed_years = sorted({o.year for o in observed})
    for year in holdout:
        if isinstance(year, bool) or not isinstance(year, int) or year not in observed_years:
            raise CalibrationError(
                f"holdout year {year!r} is not an observed year; observed: {observed_years}"
            )
    if int(in_fit.sum()) < len(params):
        raise CalibrationError(
            f"{int(in_fit.sum())} observed values cannot identify {len(params)} parameters"
        )
    fitted_moments = [m for m, f in zip(every, in_fit, strict=True) if f]
    added = fit_window_events(scenario, fitted_moments) if events is None else list(events)
    fit_scenario = _with_events(scenario, added)
    blocks = _blocks(params)
    lower = np.array([p.lower for p in params])
    upper = np.array([p.upper for p in params])
    span = upper - lower
    noise_replications = max(2 * replications, 8)
    budget = max_evaluations * starts * len(blocks) + len(params) + 3
    progress = progress_callback(progress, f"calibrating {scenario.name}", unit="evaluation")
    sd_data = np.array([m.sd for m in every])

    pool = None
    if workers != 1 and replications > 1:
        from tradesim.analysis.runner import process_pool

        pool = process_pool(workers, noise_replications)  # the most runs in flight at once
    try:
        sim = _Simulator(fit_scenario, params, every, replications, pool)

        def mean_residuals(x: np.ndarray) -> np.ndarray:
            out = _residuals(every, sim.draws(x).mean(axis=0))
            if progress:
                progress(min(sim.evaluations, budget), budget)
            return out

        # Weights: the inverse of each moment's variance at the start, data plus noise.
        x = np.array([p.start for p in params], dtype=float)
        pilot = _residuals(every, sim.draws(x))
        noise0 = pilot.std(axis=0, ddof=1) if replications > 1 else np.zeros(len(every))
        omega0 = sd_data**2 + noise0**2 / replications
        root_w = 1.0 / np.sqrt(omega0)

        rng = np.random.default_rng(scenario.seed)
        statuses, success, total_starts = [], True, 0
        for idx in blocks:
            seen: dict[str, Any] = {}

            def objective(u: np.ndarray, idx: list[int] = idx, seen: dict[str, Any] = seen) -> Any:
                if sim.evaluations >= seen["stop"]:
                    raise _BudgetSpent
                point = x.copy()
                point[idx] = lower[idx] + u * span[idx]
                out = (mean_residuals(point) * root_w)[in_fit]
                cost = float(out @ out) / 2
                if cost < seen.get("cost", math.inf):
                    seen.update(cost=cost, u=np.array(u, dtype=float))
                return out

            u0s = [(x[idx] - lower[idx]) / span[idx]]
            u0s += [rng.uniform(0.2, 0.8, len(idx)) for _ in range(starts - 1)]
            best_cost, best_u, message, ok = math.inf, u0s[0], "", False
            for u0 in u0s:
                # max_evaluations counts model evaluations, the optimizer's finite-difference
                # Jacobians included (least_squares' own max_nfev leaves those out).
                seen.clear()
                seen["stop"] = sim.evaluations + max_evaluations
                try:
                    result = least_squares(
                        objective,
                        np.clip(u0, 0.0, 1.0),
                        bounds=(0.0, 1.0),
                        diff_step=0.03,
                        method="trf",
                    )
                    cost, u, msg, good = result.cost, result.x, result.message, result.success
                except _BudgetSpent:
                    cost, u = seen.get("cost", math.inf), seen.get("u", u0)
                    msg, good = f"stopped after {max_evaluations} evaluations", False
                if cost < best_cost:
                    best_cost, best_u, message, ok = cost, u, msg, bool(good)
            total_starts += len(u0s)
            x[idx] = lower[idx] + np.asarray(best_u) * span[idx]
            success = success and ok
            statuses.append(f"{params[idx[0]].block}: {message}")

        # At the estimate: one-sided finite differences of the (unweighted) residuals, a
        # step of 3% of each range away from the nearer bound (K evaluations, not 2K: the
        # time budget), and the covariance of one replication's moments from more
        # replications.
        base = mean_residuals(x)
        g = base[in_fit]
        h = 0.03 * span
        jac = np.empty((int(in_fit.sum()), len(params)))
        for k in range(len(params)):
            step = h[k] if upper[k] - x[k] >= x[k] - lower[k] else -h[k]
            moved = x.copy()
            moved[k] = x[k] + step
            jac[:, k] = (mean_residuals(moved) - base)[in_fit] / step
        many = sim.draws(x, noise_replications)
        close = getattr(progress, "close", None)
        if close is not None:
            close()  # the budget is an upper bound: the bar may stop short of it
    finally:
        if pool is not None:
            pool.shutdown()

    per_rep = _residuals(every, many)
    fitted = np.nan_to_num(many[:replications].mean(axis=0), nan=0.0)
    noise = per_rep.std(axis=0, ddof=1) / math.sqrt(replications)
    cov_sim = np.atleast_2d(np.cov(per_rep[:, in_fit], rowvar=False))
    omega = np.diag(sd_data[in_fit] ** 2) + cov_sim / replications
    weight = np.diag(1.0 / omega0[in_fit])
    diag = _diagnostics(jac, g, weight, omega, span, x, lower, upper, params)

    noise_sd = per_rep.std(axis=0, ddof=1)
    rows: list[dict[str, Any]] = []
    for i, m in enumerate(every):
        used = "yes" if in_fit[i] else ("holdout" if m.year in hold else "reported")
        row: dict[str, Any] = {
            "group": m.group,
            "label": m.label,
            "period": m.period,
            "year": m.year,
            "origin": "+".join(m.origins),
            "destination": "+".join(m.destinations),
            "unit": m.unit,
            "relative": m.relative,
            "observed": m.observed,
            "fitted": float(fitted[i]),
            "residual": float(m.residual(fitted[i])),
            "tolerance": m.tolerance,
            "sd_data": m.sd,
            "noise": float(noise[i]),
            "noise_ok": bool(noise[i] <= m.tolerance / 3.0),
            "replications_needed": replications_needed(float(noise_sd[i]), m.tolerance),
            "in_sample": bool(in_fit[i]),
            "target": m.target,
            "used": used,
            "source": m.source,
        }
        if m.group == "trade":
            row.update(
                observed_usd=m.observed,
                fitted_usd=float(fitted[i]),
                residual_pct=float(100 * (fitted[i] / m.observed - 1)),
            )
        rows.append(row)
    out_errors = [
        abs(r["residual_pct"]) for r in rows if r["group"] == "trade" and r["used"] == "holdout"
    ]
    converged = success and diag["rank"] == len(params)
    status = "; ".join(statuses)
    if diag["rank"] < len(params):
        status += "; Jacobian rank deficient"
    report = CalibrationReport(
        parameters=[
            {
                "name": p.name,
                "description": p.description,
                "block": p.block,
                "estimate": float(v),
                "se": float(s),
                "lower": p.lower,
                "upper": p.upper,
                "start": p.start,
                "source": p.source,
            }
            for p, v, s in zip(params, x, diag["se"], strict=True)
        ],
        moments=rows,
        jacobian_rank=diag["rank"],
        jacobian_condition=diag["condition"],
        converged=converged,
        status=status,
        evaluations=sim.evaluations,
        starts=total_starts,
        replications=replications,
        wall_seconds=time.perf_counter() - t0,
        holdout_years=sorted(hold),
        holdout_mean_abs_error_pct=float(np.mean(out_errors)) if out_errors else None,
        scenario=scenario.name,
        covariance=diag["covariance"],
        j_statistic=diag["j"],
        j_df=diag["df"],
        j_pvalue=diag["p"],
        singular_values=diag["singular"],
        weak_parameters=diag["weak"],
        noise_replications=noise_replications,
        blocks=[[params[i].name for i in idx] for idx in blocks],
        events=[str(e.get("name", e.get("type"))) for e in added],
        skipped_moments=_skipped(extra, moments is None),
    )
    return _with_values(scenario, params, [float(v) for v in x]), report


def _skipped(extra: MomentSet, defaults: bool) -> list[dict[str, str]]:
    """Skipped moments worth listing: for the shipped defaults, those of another world (a
    region the scenario lacks) are counted in one line, not listed."""
    out, foreign = [], 0
    for m, why in extra.skipped:
        if defaults and why.startswith("unknown region"):
            foreign += 1
            continue
        out.append({"moment": m.label, "reason": why})
    if foreign:
        out.append(
            {
                "moment": f"{foreign} shipped moments",
                "reason": "their regions are not in the scenario",
            }
        )
    return out


def _diagnostics(
    jac: np.ndarray,
    g: np.ndarray,
    weight: np.ndarray,
    omega: np.ndarray,
    span: np.ndarray,
    x: np.ndarray,
    lower: np.ndarray,
    upper: np.ndarray,
    params: Sequence[Parameter],
) -> dict[str, Any]:
    """Sandwich covariance, Hansen's J, and identification (see the module docstring)."""
    from scipy import stats

    m, k = jac.shape
    scale = np.sqrt(np.diag(omega))
    standardized = jac * span / scale[:, None]  # fit change, in sds, over the whole range
    singular = np.linalg.svd(standardized, compute_uv=False)
    tol = singular.max() * 1e-6 if singular.size and singular.max() > 0 else 0.0
    rank = int(np.linalg.matrix_rank(standardized, tol=tol)) if singular.max() > 0 else 0
    condition = float(singular.max() / singular.min()) if singular.min() > 0 else math.inf
    covariance: list[list[float]] | None = None
    se = np.full(k, math.inf)
    j = p = None
    df = m - rank
    try:
        # A parameter that moves nothing makes G'WG singular: the pseudo-inverse estimates
        # the others, and its own standard error is infinite (it is named weak below).
        bread = np.linalg.pinv(jac.T @ weight @ jac, hermitian=True)
        variance = bread @ jac.T @ weight @ omega @ weight @ jac @ bread
        variance = (variance + variance.T) / 2
        se = np.sqrt(np.clip(np.diag(variance), 0.0, None))
        dead = np.linalg.norm(standardized, axis=0) <= tol
        se[dead] = math.inf
        # Stored for parameter draws with a dead parameter's row and column at 0: it is
        # held at its estimate (the data say nothing about it; the report names it).
        variance[dead, :] = 0.0
        variance[:, dead] = 0.0
        covariance = [[float(v) for v in row] for row in variance]
        if df > 0:
            proj = np.eye(m) - jac @ bread @ jac.T @ weight
            var_r = proj @ omega @ proj.T
            values, vectors = np.linalg.eigh((var_r + var_r.T) / 2)
            top = np.argsort(values)[::-1][:df]  # var_r has rank M - K: the rest is rounding
            resid = vectors[:, top].T @ (proj @ g)
            j = float(resid @ (resid / values[top]))
            p = float(stats.chi2.sf(j, df))
    except np.linalg.LinAlgError:
        pass
    weak: list[dict[str, str]] = []
    v_min = None
    if rank == k and condition > 30:
        _, _, vt = np.linalg.svd(standardized)
        v_min = vt[-1]
    for i, prm in enumerate(params):
        reasons = []
        if not math.isfinite(se[i]) or se[i] > 0.25 * span[i]:
            reasons.append(f"s.e. {se[i]:.3g} is over a quarter of its range {span[i]:.3g}")
        reach = float(np.linalg.norm(standardized[:, i]))
        if reach < 1.0:
            reasons.append(
                f"its whole range moves the fit by {reach:.2f} standard deviations (< 1)"
            )
        if min(x[i] - lower[i], upper[i] - x[i]) <= 1e-3 * span[i]:
            reasons.append("the estimate is on a bound")
        if v_min is not None and abs(v_min[i]) > 0.5:
            reasons.append(
                f"it carries {abs(v_min[i]):.2f} of the least identified direction"
                f" (singular value {singular[-1]:.3g}, condition {condition:.3g})"
            )
        if reasons:
            weak.append({"name": prm.name, "reason": "; ".join(reasons)})
    return {
        "se": se,
        "covariance": covariance,
        "j": j,
        "p": p,
        "df": df,
        "rank": rank,
        "condition": condition,
        "singular": [float(s) for s in singular],
        "weak": weak,
    }


def write_calibrated_scenario(
    calibrated: Scenario,
    original: Scenario,
    original_path: str | Path,
    out: str | Path,
    report: CalibrationReport,
) -> None:
    """Write a scenario file that extends the original and sets the fitted fields."""
    out = Path(out)
    changed = _diff(original.model_dump(mode="json"), calibrated.model_dump(mode="json"))
    changed["name"] = f"{original.name}_calibrated"
    changed["description"] = f"{original.name} with parameters fitted by tradesim calibrate"
    extends = Path(os.path.relpath(Path(original_path).resolve(), out.resolve().parent)).as_posix()
    header = [
        f"# {original.name}, calibrated: written by `tradesim calibrate` on {report.created}.",
        "#",
        f"# Converged: {'yes' if report.converged else 'NO'} ({report.status}).",
        f"# Fit: {sum(m['in_sample'] for m in report.moments)} moments, constant parameters"
        f" only, {report.replications} replications per evaluation (common random numbers).",
    ]
    if report.j_statistic is not None:
        header.append(
            f"# Hansen J = {report.j_statistic:.2f} on {report.j_df} degrees of freedom"
            f" (p = {report.j_pvalue:.3g})."
        )
    for p in report.parameters:
        header.append(f"#   {p['name']} = {p['estimate']:.5g} (s.e. {p['se']:.3g})")
    for m in report.moments:
        header.append(
            f"#   {m['label']}: observed {_fmt(m['observed'], m['unit'])},"
            f" fitted {_fmt(m['fitted'], m['unit'])} ({_res(m['residual'], m['relative'])})"
            + ("" if m["in_sample"] else f" [{m['used']}]")
        )
    header.append(
        "# Sources: the observed figures and their sources are in the files given to calibrate"
    )
    header.append(
        "# (default tradesim/data/cn_ru_trade.csv, cn_ru_moments.csv, cn_ru_currency_shares.csv);"
    )
    header.append(f"# the full report is {out.with_suffix('').name}.report.md.")
    if "shocks" in changed:
        # A child's shocks are added to its parent's, so fitted shock sizes cannot be written
        # as an extension: write the whole calibrated scenario.
        header.append(f"# Self-contained: {extends} with the estimates in place.")
        full = calibrated.model_dump(mode="json")
        full.update(name=changed["name"], description=changed["description"])
        body = yaml.safe_dump(full, sort_keys=False)
    else:
        body = yaml.safe_dump({"extends": extends, **changed}, sort_keys=False)
    out.write_text("\n".join(header) + "\n" + body)


def _diff(before: Any, after: Any) -> Any:
    """The parts of `after` that differ from `before` (mappings compared key by key)."""
    if isinstance(before, dict) and isinstance(after, dict):
        out = {}
        for key, value in after.items():
            if key not in before:
                out[key] = value
            elif before[key] != value:
                out[key] = _diff(before[key], value)
        return out
    return after


# ----------------------------------------------------------------------------- currency shares

OBSERVED_CURRENCY_SHARES = DATA_DIR / "cn_ru_currency_shares.csv"


@dataclass(frozen=True)
class ShareObservation:
    """One observed settlement-currency share of a direction's trade, in percent.

    `period` is a year ("2017") or a quarter ("2018-Q1"); origin -> destination is the
    direction of the goods (RU -> CN: Russia's exports to China, paid from China).
    """

    period: str
    origin: str
    destination: str
    currency: str
    share_percent: float
    target: bool = True
    source: str = ""


def load_currency_shares(
    path: str | Path = OBSERVED_CURRENCY_SHARES, *, targets_only: bool = False
) -> list[ShareObservation]:
    """Read observed currency shares (columns period, origin, destination, currency,
    share_percent, target, source). Raises CalibrationError naming file and line."""
    path = Path(path)
    try:
        rows = list(csv.DictReader(path.read_text(encoding="utf-8").splitlines()))
    except (OSError, UnicodeDecodeError) as exc:
        raise CalibrationError(f"{path}: cannot read currency shares: {exc}") from None
    out = []
    for line, row in enumerate(rows, start=2):
        try:
            period = row["period"].strip()
            if not (len(period) == 4 or (len(period) == 7 and period[4:6] == "-Q")):
                raise ValueError(f"period {period!r} is not YYYY or YYYY-Qn")
            share = float(row["share_percent"])
            if not 0.0 <= share <= 100.0:
                raise ValueError(f"share_percent {share} is not in [0, 100]")
        except (KeyError, TypeError, ValueError) as exc:
            raise CalibrationError(f"{path}:{line}: {exc}") from None
        obs = ShareObservation(
            period,
            row["origin"].strip(),
            row["destination"].strip(),
            row["currency"].strip(),
            share,
            (row.get("target") or "yes").strip().lower() in ("yes", "true", "1"),
            (row.get("source") or "").strip(),
        )
        if obs.target or not targets_only:
            out.append(obs)
    return out
