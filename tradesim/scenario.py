"""Scenario files: a typed, validated model of a scenario and its YAML loader.

A scenario says which regions, sectors and currencies exist, the exogenous paths they follow,
the model's parameters and the shocks to apply. Every field is validated by pydantic; unknown
keys are errors; each problem is reported with the file, line, column and YAML path.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    field_validator,
    model_validator,
)

from tradesim.errors import Problem, ScenarioError

__all__ = [
    "CapacityShock",
    "DemandShock",
    "ExchangeRateShock",
    "SanctionShock",
    "Scenario",
    "SettlementPolicyShock",
    "Shock",
    "TariffShock",
    "TradeCostShock",
    "WorldPriceShock",
    "dump_scenario",
    "load_scenario",
    "scenario_files",
    "scenario_from_dict",
    "scenario_from_yaml",
]

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")


def _parse_date(value: Any) -> dt.date:
    """Accept YYYY-MM (first of the month), YYYY-MM-DD, or a YAML date."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        m = _MONTH_RE.match(value.strip())
        if m:
            year, month, day = int(m[1]), int(m[2]), int(m[3] or 1)
            try:
                return dt.date(year, month, day)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a real date ({exc})") from None
    raise ValueError(f"expected a date as YYYY-MM or YYYY-MM-DD, got {value!r}")


def _parse_fraction(value: Any) -> Any:
    """Accept 0.25 or the string "25%"; anything else is left for pydantic to reject."""
    if isinstance(value, str) and value.strip().endswith("%"):
        try:
            return float(value.strip()[:-1]) / 100.0
        except ValueError:
            raise ValueError(f"{value!r} is not a percentage") from None
    return value


Date = Annotated[dt.date, BeforeValidator(_parse_date)]
Rate = Annotated[float, BeforeValidator(_parse_fraction)]
PathKey = int | str | dt.date


def _normalize_path(value: Any) -> Any:
    """A path is a constant or a mapping {year | YYYY-MM: value}; keys are normalized."""
    if not isinstance(value, Mapping):
        return value
    out: dict[str, Any] = {}
    for key, v in value.items():
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool) and 1000 <= key <= 9999:
            norm = f"{key:04d}"
        else:
            try:
                d = _parse_date(key)
            except ValueError:
                raise ValueError(
                    f"path key {key!r} is not a year (2016) or a month (2016-07)"
                ) from None
            norm = f"{d.year:04d}-{d.month:02d}"
        if norm in out:
            raise ValueError(f"path key {key!r} given twice")
        out[norm] = _parse_fraction(v)
    if not out:
        raise ValueError("a path needs at least one dated value")
    return dict(sorted(out.items()))


PositivePath = Annotated[
    float | dict[str, Annotated[float, Field(gt=0, allow_inf_nan=False)]],
    BeforeValidator(_normalize_path),
]
ChangePath = Annotated[
    dict[str, Annotated[float, Field(gt=-1, le=100, allow_inf_nan=False)]],
    BeforeValidator(_normalize_path),
]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)


# --------------------------------------------------------------------------- world


class CurrencySpec(_Model):
    """A settlement currency."""

    per_usd: PositivePath = Field(1.0, description="units of the currency per USD (path)")
    fee: float = Field(
        0.002, ge=0, le=0.2, description="conversion fee and spread, a fraction of value"
    )
    hedging_cost: float = Field(
        0.003, ge=0, le=0.2, description="cost to a party whose home currency it is not"
    )
    international: bool = Field(
        False, description="usable on any route; otherwise only on routes touching its issuer"
    )


class SectorSpec(_Model):
    """A traded sector."""

    elasticity: float = Field(
        4.0, gt=1, le=30, description="substitution elasticity between suppliers (sigma)"
    )
    demand_price_elasticity: float = Field(
        1.0, ge=0, le=5, description="elasticity of sector spending to its world price (1: fixed)"
    )
    world_price_exposure: float = Field(
        0.0, ge=0, le=1, description="share of unit cost that moves with the world price"
    )
    world_price: PositivePath = Field(1.0, description="world price path (any units)")
    lead_time_months: int = Field(1, ge=0, le=24, description="months from shipment to delivery")


class RegionSpec(_Model):
    """A region: an agent economy (firms and buyers) or an aggregate external region."""

    currency: str = Field(description="home currency (a key of currencies)")
    demand: PositivePath = Field(1.0, description="real demand index path")
    absorption_usd_bn: dict[str, Annotated[float, Field(ge=0)]] = Field(
        description="base-year spending per sector, USD billion a year, all origins"
    )
    origin_shares: dict[str, dict[str, Annotated[float, Field(ge=0, le=1)]]] = Field(
        description="base-year share of each origin (incl. itself) in spending, per sector"
    )


class Population(_Model):
    """Agent counts, per agent economy and sector."""

    buyers_per_sector: int = Field(2000, ge=1, le=50_000_000)
    firms_per_sector: int = Field(100, ge=1, le=5_000_000)


class CurrencyChoice(_Model):
    """Logit over settlement currencies (see docs/model.md, currency choice)."""

    cost_sensitivity: float = Field(
        400.0, ge=0, description="utility per unit of cost (fraction of value)"
    )
    network_strength: float = Field(
        3.0, ge=0, description="utility of a currency's full share on the route"
    )
    sanction_loss: float = Field(
        1.0, ge=0, description="share of a frozen payment counted as lost when choosing"
    )


class Parameters(_Model):
    """Behavioural parameters; each default is documented in docs/model.md."""

    renewal_months: float = Field(
        12.0, ge=1, le=600, description="mean duration of a supplier relationship"
    )
    markup: float = Field(1.25, ge=1, le=10, description="price over unit cost at target use")
    pass_through: float = Field(
        0.7, ge=0, le=1, description="exchange-rate pass-through to USD export prices"
    )
    productivity_dispersion: float = Field(
        0.3, ge=0, le=3, description="sd of log productivity across firms"
    )
    budget_dispersion: float = Field(1.0, ge=0, le=3, description="sd of log budget across buyers")
    capacity_headroom: float | None = Field(
        1.2, gt=1, description="capacity over base-year expected sales; null: unlimited"
    )
    price_adjustment: float = Field(
        0.05, ge=0, le=1, description="monthly log price response to utilization gap"
    )
    fx_budget_elasticity: float = Field(
        1.0, ge=0, le=2, description="elasticity of USD import budgets to the home currency"
    )
    payment_lag_months: int = Field(1, ge=0, le=24)
    currency_choice: CurrencyChoice = CurrencyChoice()


# --------------------------------------------------------------------------- shocks


class _ShockBase(_Model):
    name: str | None = Field(None, description="a label for reports and manifests")
    start: Date = Field(description="first date it applies (a mid-month date is pro-rated)")
    end: Date | None = Field(None, description="first date the shock no longer applies")
    ramp_months: int = Field(0, ge=0, le=240, description="months of linear phase-in")

    @model_validator(mode="after")
    def _end_after_start(self) -> _ShockBase:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


Sectors = list[str] | Literal["all"]


class TariffShock(_ShockBase):
    """Ad valorem tariff by an importer on an origin's goods."""

    type: Literal["tariff"]
    importer: str
    origin: str
    sectors: Sectors = "all"
    rate: Annotated[Rate, Field(ge=0, le=5)]


class TradeChannel(_Model):
    """A sanction's trade channel: sectors embargoed both ways between imposer and target."""

    sectors: Sectors = Field(default_factory=list, description="embargoed both ways")


class FinancialChannel(_Model):
    """A sanction's financial channel: payment freezes and cut-off from clearing."""

    freeze_probability: Annotated[Rate, Field(ge=0, le=1)] = 0.0
    cutoff_share: Annotated[Rate, Field(ge=0, le=1)] = Field(
        0.0, description="share of the target's firms and buyers cut off from the currency"
    )
    currencies: list[str] | None = Field(
        None, description="currencies affected; default: the imposer's currency"
    )


class SecondaryChannel(_Model):
    """A sanction's secondary channel: a cost on third countries' trade with the target."""

    cost: Annotated[Rate, Field(ge=0, le=5)] = Field(
        0.0, description="extra cost on routes between the target and third countries"
    )


class SanctionShock(_ShockBase):
    """Sanctions by an imposer on a target, through three channels."""

    type: Literal["sanction"]
    imposer: str
    target: str
    trade: TradeChannel = TradeChannel()
    financial: FinancialChannel = FinancialChannel()
    secondary: SecondaryChannel = SecondaryChannel()


class SettlementPolicyShock(_ShockBase):
    """A change to settlement on a route (both directions): fees and availability."""

    type: Literal["settlement_policy"]
    route: Annotated[list[str], Field(min_length=2, max_length=2)]
    currencies: Annotated[list[str], Field(min_length=1)]
    fee_change: float = Field(0.0, ge=-0.2, le=0.2)
    available: bool | None = None


class _ChangeShock(_ShockBase):
    change: Annotated[Rate, Field(gt=-1, le=100)] | None = Field(
        None, description="relative change while active (0.2 = +20%)"
    )
    path: ChangePath | None = Field(None, description="dated relative changes, interpolated")

    @model_validator(mode="after")
    def _one_of_change_or_path(self) -> _ChangeShock:
        if (self.change is None) == (self.path is None):
            raise ValueError("give exactly one of 'change' or 'path'")
        return self


class ExchangeRateShock(_ChangeShock):
    """A currency's rate per USD moves (positive change = depreciation against the USD)."""

    type: Literal["exchange_rate"]
    currency: str


class DemandShock(_ChangeShock):
    """A region's real demand moves."""

    type: Literal["demand"]
    region: str


class WorldPriceShock(_ChangeShock):
    """A sector's world price moves."""

    type: Literal["world_price"]
    sector: str


class TradeCostShock(_ChangeShock):
    """Trade costs on a route (one direction) change."""

    type: Literal["trade_cost"]
    origin: str
    destination: str
    sectors: Sectors = "all"


class CapacityShock(_ShockBase):
    """The productive capacity of an agent economy's firms in some sectors changes."""

    type: Literal["capacity"]
    origin: str
    sectors: Sectors = "all"
    change: Annotated[Rate, Field(gt=-1, le=100)]


Shock = Annotated[
    TariffShock
    | SanctionShock
    | SettlementPolicyShock
    | ExchangeRateShock
    | DemandShock
    | WorldPriceShock
    | TradeCostShock
    | CapacityShock,
    Field(discriminator="type"),
]


_SHOCK_MODELS: dict[str, type[BaseModel]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        TariffShock,
        SanctionShock,
        SettlementPolicyShock,
        ExchangeRateShock,
        DemandShock,
        WorldPriceShock,
        TradeCostShock,
        CapacityShock,
    )
}
SHOCK_TYPES: tuple[str, ...] = tuple(_SHOCK_MODELS)

# --------------------------------------------------------------------------- scenario


class Scenario(_Model):
    """A whole scenario. Build it with `load_scenario` or `scenario_from_dict`."""

    name: str = Field(description="short identifier, used for output folders")
    description: str = Field("", description="one line on what the scenario asks")
    start: Date = Field(description="first reported month (YYYY-MM)")
    end: Date = Field(description="last reported month (inclusive)")
    burn_in_months: int = Field(
        24, ge=0, le=600, description="months simulated before start so relationships settle"
    )
    seed: int = Field(0, ge=0, lt=2**63, description="seed of every random draw")
    population: Population = Field(Population(), description="agent counts")
    currencies: dict[str, CurrencySpec]
    sectors: dict[str, SectorSpec]
    economies: dict[str, RegionSpec] = Field(description="agent economies")
    external_regions: dict[str, RegionSpec] = Field(default_factory=dict)
    initial_currency_shares: dict[str, Annotated[float, Field(ge=0, le=1)]] = Field(
        default_factory=lambda: {"USD": 1.0}
    )
    parameters: Parameters = Field(Parameters(), description="behavioural parameters")
    shocks: list[Shock] = Field(default_factory=list, description="policies and events")

    @field_validator("start", "end")
    @classmethod
    def _first_of_month(cls, v: dt.date) -> dt.date:
        if v.day != 1:
            raise ValueError("the horizon is in whole months: write YYYY-MM")
        return v

    @property
    def regions(self) -> list[str]:
        return [*self.economies, *self.external_regions]

    @property
    def n_months(self) -> int:
        return (self.end.year - self.start.year) * 12 + self.end.month - self.start.month + 1


# --------------------------------------------------------------------------- semantics


def _semantic_problems(s: Scenario) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-field checks pydantic cannot express; each as (YAML path, message)."""
    out: list[tuple[tuple[Any, ...], str]] = []
    regions = set(s.regions)
    sectors = set(s.sectors)
    currencies = set(s.currencies)

    def known(kind: str, value: str, pool: set[str], loc: tuple[Any, ...]) -> None:
        if value not in pool:
            out.append((loc, f"unknown {kind} {value!r}; known: {', '.join(sorted(pool))}"))

    if s.end < s.start:
        out.append((("end",), f"end {s.end:%Y-%m} is before start {s.start:%Y-%m}"))
    if not s.economies:
        out.append((("economies",), "at least one agent economy is needed"))
    overlap = set(s.economies) & set(s.external_regions)
    for name in sorted(overlap):
        out.append((("external_regions", name), f"{name!r} is also an agent economy"))
    if "USD" not in currencies:
        out.append((("currencies",), "USD must be defined: it is the reporting currency"))
    for kind, group in (("economies", s.economies), ("external_regions", s.external_regions)):
        for rname, r in group.items():
            base = (kind, rname)
            known("currency", r.currency, currencies, (*base, "currency"))
            for sec in sorted(sectors - set(r.absorption_usd_bn)):
                out.append(((*base, "absorption_usd_bn"), f"missing sector {sec!r}"))
            for sec in r.absorption_usd_bn:
                known("sector", sec, sectors, (*base, "absorption_usd_bn", sec))
            for sec in sorted(sectors - set(r.origin_shares)):
                out.append(((*base, "origin_shares"), f"missing sector {sec!r}"))
            for sec, shares in r.origin_shares.items():
                loc = (*base, "origin_shares", sec)
                known("sector", sec, sectors, loc)
                for origin in shares:
                    known("region", origin, regions, (*loc, origin))
                total = sum(shares.values())
                if abs(total - 1.0) > 1e-6:
                    out.append((loc, f"origin shares must sum to 1, they sum to {total:.6g}"))
    for cur in s.initial_currency_shares:
        known("currency", cur, currencies, ("initial_currency_shares", cur))
    if abs(sum(s.initial_currency_shares.values()) - 1.0) > 1e-6:
        out.append((("initial_currency_shares",), "shares must sum to 1"))

    horizon_end = dt.date(s.end.year + (s.end.month == 12), s.end.month % 12 + 1, 1)
    for i, shock in enumerate(s.shocks):
        at: tuple[Any, ...] = ("shocks", i)
        if shock.start >= horizon_end:
            out.append(((*at, "start"), f"starts {shock.start} after the horizon ends"))
        sector_lists: list[tuple[str, Sectors]] = []
        if isinstance(shock, TariffShock):
            known("region", shock.importer, regions, (*at, "importer"))
            known("region", shock.origin, regions, (*at, "origin"))
            if shock.importer == shock.origin:
                out.append(((*at, "origin"), "a tariff needs two different regions"))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, SanctionShock):
            known("region", shock.imposer, regions, (*at, "imposer"))
            known("region", shock.target, regions, (*at, "target"))
            if shock.imposer == shock.target:
                out.append(((*at, "target"), "a sanction needs two different regions"))
            sector_lists.append(("trade", shock.trade.sectors))
            for cur in shock.financial.currencies or []:
                known("currency", cur, currencies, (*at, "financial", "currencies"))
        elif isinstance(shock, SettlementPolicyShock):
            for j, name in enumerate(shock.route):
                known("region", name, regions, (*at, "route", j))
            for j, name in enumerate(shock.currencies):
                known("currency", name, currencies, (*at, "currencies", j))
        elif isinstance(shock, ExchangeRateShock):
            known("currency", shock.currency, currencies, (*at, "currency"))
            if shock.currency == "USD":
                out.append(((*at, "currency"), "USD is the numeraire; move other currencies"))
        elif isinstance(shock, DemandShock):
            known("region", shock.region, regions, (*at, "region"))
        elif isinstance(shock, WorldPriceShock):
            known("sector", shock.sector, sectors, (*at, "sector"))
        elif isinstance(shock, TradeCostShock):
            known("region", shock.origin, regions, (*at, "origin"))
            known("region", shock.destination, regions, (*at, "destination"))
            sector_lists.append(("sectors", shock.sectors))
        elif isinstance(shock, CapacityShock):
            known("agent economy", shock.origin, set(s.economies), (*at, "origin"))
            sector_lists.append(("sectors", shock.sectors))
        for field, secs in sector_lists:
            if secs != "all":
                path = (*at, field) if field == "sectors" else (*at, field, "sectors")
                for j, sec in enumerate(secs):
                    known("sector", sec, sectors, (*path, j))
    return out


# --------------------------------------------------------------------------- YAML loading


_TYPE_SEGMENT = re.compile(r"^(float|int|str|bool|dict|list|none)$|[\[\-]")


def _is_type_segment(part: Any) -> bool:
    """pydantic puts union branches ('float', 'dict[str,float]') and tags into error paths."""
    return isinstance(part, str) and bool(_TYPE_SEGMENT.search(part))


class _Marks:
    """Line and column of every node in a YAML document, keyed by its path."""

    def __init__(self) -> None:
        self.at: dict[tuple[Any, ...], tuple[str, int, int]] = {}
        # Merged shock index -> index in the file that wrote it (scenarios that extend others).
        self.shock_index_in_file: dict[int, int] = {}

    def locate(self, loc: Sequence[Any]) -> tuple[str | None, int | None, int | None, str]:
        """The file position of the deepest node along `loc`, and the readable path of `loc`.

        pydantic error paths also hold union branches ('float', 'dict[str,float]') and the
        shock-type tag after a shock's index; neither is part of the document's path.
        """
        clean = [p for p in loc if not _is_type_segment(p)]
        if (
            len(clean) >= 3
            and clean[0] == "shocks"
            and isinstance(clean[1], int)
            and clean[2] in SHOCK_TYPES
        ):
            clean = clean[:2] + clean[3:]
        found: tuple[Any, ...] = ()
        for part in clean:
            if (*found, part) not in self.at:
                break
            found = (*found, part)
        file, line, col = self.at.get(found, (None, None, None))
        line, col = (line or None), (col or None)
        if len(clean) >= 2 and clean[0] == "shocks" and clean[1] in self.shock_index_in_file:
            clean = ["shocks", self.shock_index_in_file[clean[1]], *clean[2:]]
        return file, line, col, _join_path([str(p) for p in clean])


def _join_path(names: list[str]) -> str:
    """('shocks', '0', 'rate') -> 'shocks[0].rate'."""
    out: list[str] = []
    for n in names:
        if n.isdigit() and out:
            out[-1] = f"{out[-1]}[{n}]"
        else:
            out.append(n)
    return ".".join(out)


def _construct(
    node: yaml.Node, loader: yaml.SafeLoader, marks: _Marks, path: tuple[Any, ...], file: str
) -> Any:
    marks.at[path] = (file, node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        out: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node, deep=True)
            if not isinstance(key, (str, int, dt.date)) or isinstance(key, bool):
                raise ScenarioError([_problem_at(file, key_node, path, f"unsupported key {key!r}")])
            if key in out:
                raise ScenarioError(
                    [_problem_at(file, key_node, (*path, key), f"duplicate key {key!r}")]
                )
            out[key] = _construct(value_node, loader, marks, (*path, key), file)
            marks.at[(*path, key)] = (
                file,
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
        return out
    if isinstance(node, yaml.SequenceNode):
        return [
            _construct(child, loader, marks, (*path, i), file) for i, child in enumerate(node.value)
        ]
    return loader.construct_object(node, deep=True)


def _problem_at(file: str, node: yaml.Node, path: tuple[Any, ...], msg: str) -> Problem:
    return Problem(
        msg,
        _join_path([str(p) for p in path]),
        file,
        node.start_mark.line + 1,
        node.start_mark.column + 1,
    )


def _parse_yaml(text: str, file: str) -> tuple[Any, _Marks]:
    """Parse YAML into plain data, recording where each node is; errors are ScenarioErrors."""
    marks = _Marks()
    loader = None
    try:
        loader = yaml.SafeLoader(text)  # the reader rejects control characters here
        node = loader.get_single_node()
        if node is None:
            raise ScenarioError([Problem("the file is empty", "", file, 1, 1)])
        data = _construct(node, loader, marks, (), file)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else None
        col = mark.column + 1 if mark else None
        raise ScenarioError(
            [Problem(f"invalid YAML: {exc.problem}", "", file, line, col)]
        ) from None
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(f"invalid YAML: {exc}", "", file)]) from None
    except RecursionError:
        raise ScenarioError([Problem("the document is nested too deeply", "", file)]) from None
    finally:
        if loader is not None:
            loader.dispose()
    return data, marks


def _model_at(loc: Sequence[Any]) -> type[BaseModel] | None:
    """The model class that holds the last key of `loc` (following the schema)."""
    current: Any = Scenario
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, BaseModel):
            if part in current.model_fields:
                current = current.model_fields[part].annotation
            elif part in SHOCK_TYPES:
                current = _SHOCK_MODELS[part]
            else:
                return None
            continue
        current = _unwrap(current, part)
        if current is None:
            return None
    return current if isinstance(current, type) and issubclass(current, BaseModel) else None


def _unwrap(annotation: Any, part: Any) -> Any:
    """Step from a container annotation (list, dict, Optional, Annotated) to its item."""
    import typing

    origin = typing.get_origin(annotation)
    args = typing.get_args(annotation)
    if origin is typing.Annotated:
        return _unwrap(args[0], part)
    if origin in (list, dict) and args:
        return args[-1] if origin is dict else args[0]
    if args:  # a union: the first member that is a model or container
        for arg in args:
            if arg is not type(None):
                return arg if _is_model(arg) or typing.get_origin(arg) else _unwrap(arg, part)
    return None


def _is_model(tp: Any) -> bool:
    return isinstance(tp, type) and issubclass(tp, BaseModel)


def _did_you_mean(loc: Sequence[Any]) -> str:
    import difflib

    model = _model_at([p for p in loc if not _is_type_segment(p)])
    if model is None or not isinstance(loc[-1], str):
        return ""
    fields = [f for f in model.model_fields if f != "type"]
    close = difflib.get_close_matches(loc[-1], fields, n=1, cutoff=0.6)
    return f"; did you mean {close[0]!r}?" if close else f"; allowed: {', '.join(fields)}"


def _describe(err: Mapping[str, Any]) -> str:
    msg = str(err["msg"]).removeprefix("Value error, ")
    if err["type"] == "extra_forbidden":
        return "unknown field" + _did_you_mean(err["loc"])
    elif err["type"] == "missing":
        msg = "required field is missing"
    elif err["type"] == "union_tag_invalid":
        msg = f"unknown shock type; {msg.split('expected ', 1)[-1]}"
    value = err.get("input")
    shown = err["type"] in ("missing", "union_tag_invalid") or isinstance(value, (dict, list))
    if not shown and repr(value) not in msg:
        msg += f" (got {value!r})"
    return msg


_TYPE_MISMATCH = {"float_type", "float_parsing", "dict_type", "list_type", "int_type", "bool_type"}


def _useful(exc: ValidationError) -> list[Any]:
    """Drop a union branch's type mismatch when another branch says what is really wrong."""
    errors = exc.errors()

    def stem(e: Any) -> tuple[Any, ...]:
        loc = e["loc"]
        for i, part in enumerate(loc):
            if _is_type_segment(part):
                return tuple(loc[:i])
        return tuple(loc)

    informative = {stem(e) for e in errors if e["type"] not in _TYPE_MISMATCH}
    kept = [
        e
        for e in errors
        if not (
            e["type"] in _TYPE_MISMATCH
            and any(_is_type_segment(p) for p in e["loc"])
            and stem(e) in informative
        )
    ]
    return kept or errors


def scenario_from_dict(
    data: Any, *, source: str | None = None, marks: _Marks | None = None
) -> Scenario:
    """Validate a plain mapping into a Scenario, raising ScenarioError with every problem."""
    marks = marks or _Marks()
    if not isinstance(data, Mapping):
        raise ScenarioError(
            [Problem(f"a scenario is a mapping of fields, got {type(data).__name__}", "", source)]
        )

    def problem(loc: Sequence[Any], msg: str) -> Problem:
        file, line, col, path = marks.locate(loc)
        return Problem(msg, path, file or source, line, col)

    try:
        scenario = Scenario.model_validate(data)
    except ValidationError as exc:
        errors = _useful(exc)
        problems = [problem(e["loc"], _describe(e)) for e in errors]
        seen = {(p.path, p.message) for p in problems}
        for loc, msg in _semantic_problems_despite(data, errors):
            extra = problem(loc, msg)
            if (extra.path, extra.message) not in seen and not any(
                extra.path.startswith(p.path) for p in problems if p.path
            ):
                problems.append(extra)
        raise ScenarioError(problems) from None
    semantic = _semantic_problems(scenario)
    if semantic:
        raise ScenarioError([problem(loc, msg) for loc, msg in semantic])
    return scenario


def _semantic_problems_despite(
    data: Mapping[str, Any], errors: Sequence[Any]
) -> list[tuple[tuple[Any, ...], str]]:
    """Cross-field problems of a document that also breaks the schema, so that every problem
    is reported at once: shocks with schema errors are set aside, other offending keys are
    removed (their defaults apply), and what is left is validated and checked."""
    import copy

    repaired = copy.deepcopy(dict(data))
    bad_shocks: set[int] = set()
    for err in errors:
        loc = [p for p in err["loc"] if not _is_type_segment(p)]
        if len(loc) >= 2 and loc[0] == "shocks" and isinstance(loc[1], int):
            bad_shocks.add(loc[1])
            continue
        node: Any = repaired
        for part in loc[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, dict) and loc:
            node.pop(loc[-1], None)
    shocks = repaired.get("shocks")
    original: list[int] = []
    if isinstance(shocks, list):
        original = [i for i in range(len(shocks)) if i not in bad_shocks]
        repaired["shocks"] = [shocks[i] for i in original]
    try:
        scenario = Scenario.model_validate(repaired)
    except ValidationError:
        return []  # the schema errors hide too much; report those alone
    out: list[tuple[tuple[Any, ...], str]] = []
    for at, msg in _semantic_problems(scenario):
        if len(at) >= 2 and at[0] == "shocks":
            at = ("shocks", original[at[1]], *at[2:])
        out.append((at, msg))
    return out


def _merge(
    parent: dict[str, Any], child: dict[str, Any], marks: _Marks, child_marks: _Marks
) -> dict[str, Any]:
    """Child fields override the parent's (mappings merge key by key); shocks are appended."""
    n_parent_shocks = len(parent.get("shocks") or [])

    def shift(path: tuple[Any, ...]) -> tuple[Any, ...]:
        if len(path) >= 2 and path[0] == "shocks" and isinstance(path[1], int):
            return ("shocks", path[1] + n_parent_shocks, *path[2:])
        return path

    def merge(a: Any, b: Any) -> Any:
        if isinstance(a, dict) and isinstance(b, dict):
            out = dict(a)
            for k, v in b.items():
                out[k] = merge(a[k], v) if k in a else v
            return out
        return b

    merged = merge(parent, {k: v for k, v in child.items() if k != "shocks"})
    if isinstance(parent.get("shocks"), list) and isinstance(child.get("shocks"), list):
        merged["shocks"] = parent["shocks"] + child["shocks"]
    elif "shocks" in child:
        merged["shocks"] = child["shocks"]
    for path, mark in child_marks.at.items():
        marks.at[shift(path)] = mark
    for i in range(len(child.get("shocks") or [])):
        marks.shock_index_in_file[i + n_parent_shocks] = child_marks.shock_index_in_file.get(i, i)
    return merged


def _load_data(path: Path, chain: tuple[Path, ...]) -> tuple[Any, _Marks]:
    """Read a scenario file, resolving `extends:` (relative to the file) recursively."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ScenarioError([Problem(f"cannot read scenario: {exc}", "", str(path))]) from None
    data, marks = _parse_yaml(text, str(path))
    if not (isinstance(data, dict) and "extends" in data):
        return data, marks
    parent_ref = data.pop("extends")
    file, line, col = marks.at[("extends",)]
    if not isinstance(parent_ref, str):
        raise ScenarioError([Problem("extends must be a file path", "extends", file, line, col)])
    parent_path = (path.parent / parent_ref).resolve()
    if parent_path in chain:
        cycle = " -> ".join(p.name for p in (*chain, parent_path))
        raise ScenarioError(
            [Problem(f"extends forms a cycle: {cycle}", "extends", file, line, col)]
        )
    if not parent_path.is_file():
        raise ScenarioError(
            [
                Problem(
                    f"extends a file that does not exist: {parent_ref}", "extends", file, line, col
                )
            ]
        )
    parent, parent_marks = _load_data(parent_path, (*chain, parent_path))
    if not isinstance(parent, dict):
        raise ScenarioError(
            [Problem("the extended file is not a scenario mapping", "", str(parent_path))]
        )
    merged = _merge(parent, data, parent_marks, marks)
    return merged, parent_marks


def scenario_files(path: str | Path) -> list[Path]:
    """The file and every file it extends, in order: the inputs of a scenario."""
    files = [Path(path)]
    while True:
        try:
            data = yaml.safe_load(files[-1].read_text(encoding="utf-8"))
        except (OSError, yaml.YAMLError, UnicodeDecodeError):
            return files
        parent = data.get("extends") if isinstance(data, dict) else None
        if not isinstance(parent, str):
            return files
        nxt = Path(os.path.normpath(files[-1].parent / parent))
        if nxt.resolve() in [f.resolve() for f in files]:
            return files
        files.append(nxt)


def _apply_override(data: Any, marks: _Marks, assignment: str) -> None:
    """Apply one `path.to.field=value` (value read as YAML) to the scenario data."""
    where = f"--set {assignment}"
    key, sep, text = assignment.partition("=")
    if not sep or not key.strip():
        raise ScenarioError([Problem("expected path.to.field=value", "", where)])
    try:
        value = yaml.safe_load(text) if text.strip() else ""
    except yaml.YAMLError as exc:
        raise ScenarioError([Problem(f"the value is not valid YAML: {exc}", key, where)]) from None
    parts: list[Any] = [int(p) if p.isdigit() else p for p in key.strip().split(".")]
    node = data
    for i, part in enumerate(parts[:-1]):
        child = node[part] if _has(node, part) else None
        if child is None:
            if isinstance(node, dict):
                child = node[part] = {}
            else:
                at = _join_path([str(p) for p in parts[: i + 1]])
                raise ScenarioError([Problem(f"{at} does not exist", key, where)])
        node = child
    last = parts[-1]
    if isinstance(node, dict):
        node[last] = value
    elif isinstance(node, list) and isinstance(last, int) and last < len(node):
        node[last] = value
    else:
        raise ScenarioError([Problem(f"{key} does not exist", key, where)])
    marks.at[tuple(parts)] = (where, 0, 0)  # 0: no line or column to show
    for i in range(1, len(parts)):  # nested problems under an override point at it too
        marks.at.setdefault(tuple(parts[:i]), (where, 0, 0))


def _has(node: Any, part: Any) -> bool:
    if isinstance(node, dict):
        return part in node
    return isinstance(node, list) and isinstance(part, int) and 0 <= part < len(node)


def load_scenario(path: str | Path, *, overrides: Sequence[str] = ()) -> Scenario:
    """Read and validate a scenario file, resolving `extends:`.

    `overrides` are `path.to.field=value` assignments (the value read as YAML), applied to the
    resolved file and validated like it, e.g. ``parameters.markup=1.3`` or
    ``shocks.0.rate=25%``.

    Raises
    ------
    ScenarioError
        If the file cannot be read or parsed, or any field is invalid; the message lists every
        problem with file, line, column and YAML path.
    """
    path = Path(path)
    data, marks = _load_data(path, (path.resolve(),))
    if not isinstance(data, dict) and overrides:
        raise ScenarioError([Problem("overrides need a scenario mapping", "", str(path))])
    for assignment in overrides:
        _apply_override(data, marks, assignment)
    return scenario_from_dict(data, source=str(path), marks=marks)


def scenario_from_yaml(text: str, *, source: str = "<string>") -> Scenario:
    """Validate a scenario given as YAML text (no `extends:`, which needs a file)."""
    data, marks = _parse_yaml(text, source)
    return scenario_from_dict(data, source=source, marks=marks)


def dump_scenario(scenario: Scenario) -> str:
    """The scenario as YAML text; `scenario_from_yaml(dump_scenario(s)) == s`."""
    data = scenario.model_dump(mode="json")
    return yaml.safe_dump(data, sort_keys=False, allow_unicode=True)
