"""The scenario schema: typed, validated pydantic models of every field of a scenario file.

A scenario says which regions, sectors and currencies exist, the exogenous paths they follow,
the model's parameters and the shocks to apply. Every field is validated by pydantic; unknown
keys are errors; each problem is reported with the file, line, column and YAML path.
"""

from __future__ import annotations

import datetime as dt
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Literal, Union, get_args, get_origin

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)

__all__ = [
    "SHOCK_TYPES",
    "CapacityShock",
    "CurrencyChoice",
    "DemandShock",
    "EmbargoShock",
    "ExchangeRateShock",
    "InvoicingConvention",
    "PriceCapShock",
    "RouteCapacityShock",
    "SanctionShock",
    "Scenario",
    "SettlementPolicyShock",
    "SettlementRiskShock",
    "Shock",
    "TariffShock",
    "TradeCostShock",
    "WorldPriceShock",
]

_MONTH_RE = re.compile(r"^(\d{4})-(\d{2})(?:-(\d{2}))?$")

#: Years a date may fall in. Monthly labels are numpy datetime64[ns], which span the years
#: 1678 to 2261 (numpy docs, "Datetime units"); with up to 600 months of burn-in before the
#: start, 1900-2200 keeps every simulated month inside that range (a start in year 1000
#: used to be labelled 2169).
MIN_YEAR, MAX_YEAR = 1900, 2200


def _check_year(d: dt.date, value: Any) -> dt.date:
    if not MIN_YEAR <= d.year <= MAX_YEAR:
        raise ValueError(f"{value!s} is outside the years {MIN_YEAR} to {MAX_YEAR}")
    return d


def _parse_date(value: Any) -> dt.date:
    """Accept YYYY-MM (first of the month), YYYY-MM-DD, or a date object.

    Every date of a scenario is parsed here (the YAML loader keeps dates as text), so an
    impossible date is a validation error at its file, line and field.
    """
    if isinstance(value, dt.datetime):
        return _check_year(value.date(), value)
    if isinstance(value, dt.date):
        return _check_year(value, value)
    if isinstance(value, str):
        m = _MONTH_RE.match(value.strip())
        if m:
            year, month, day = int(m[1]), int(m[2]), int(m[3] or 1)
            try:
                d = dt.date(year, month, day)
            except ValueError as exc:
                raise ValueError(f"{value!r} is not a real date ({exc})") from None
            return _check_year(d, value)
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
    """A path is a constant or a mapping {year | YYYY-MM: value}; keys are normalized.

    The keys of one path are all years (annual averages, interpolated so that each year's
    months keep its mean) or all months (points interpolated linearly): mixing them would
    switch off mean preservation for the whole path and, read as text, misplace points,
    so a mix is refused. Keys are returned in date order.
    """
    if not isinstance(value, Mapping):
        return _parse_fraction(value)
    out: dict[str, Any] = {}
    for key, v in value.items():
        if isinstance(key, str) and key.strip().isdigit():
            key = int(key)
        if isinstance(key, int) and not isinstance(key, bool) and 1000 <= key <= 9999:
            if not MIN_YEAR <= key <= MAX_YEAR:
                raise ValueError(f"path key {key} is outside the years {MIN_YEAR} to {MAX_YEAR}")
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
    kinds = {len(k) for k in out}
    if len(kinds) > 1:
        raise ValueError(
            "a path's keys are all years (2016) or all months (2016-07), not both: "
            + ", ".join(out)
        )
    return dict(sorted(out.items(), key=lambda kv: (int(kv[0][:4]), kv[0][5:])))


#: Largest value of an exchange rate, demand index or world price path. The largest rate
#: per USD in use is in the tens of thousands (the Iranian rial, ~4e4 officially in 2024);
#: 1e9 leaves room for any unit while keeping products of paths far from overflow.
PATH_MAX = 1e9
_PathValue = Annotated[float, Field(gt=0, le=PATH_MAX, allow_inf_nan=False)]
PositivePath = Annotated[
    _PathValue | dict[str, _PathValue],
    BeforeValidator(_normalize_path),
]
#: An annual interest rate, a fraction from -10% to 200%: room for any policy rate of the
#: currencies modelled (the highest in tradesim/data/financing_rates.csv is 17%, Bank of
#: Russia, December 2014) while refusing a percent typed as a fraction (7.75 for 7.75%).
_RateValue = Annotated[float, Field(ge=-0.1, le=2, allow_inf_nan=False)]
RatePath = Annotated[_RateValue | dict[str, _RateValue], BeforeValidator(_normalize_path)]
ChangePath = Annotated[
    dict[str, Annotated[float, Field(gt=-1, le=100, allow_inf_nan=False)]],
    BeforeValidator(_normalize_path),
]


def _numeric(annotation: Any) -> bool:
    """Whether a field's type is a number, or a number or a path of numbers (a union of
    numbers and mappings)."""
    if get_origin(annotation) is Annotated:
        return _numeric(get_args(annotation)[0])
    if annotation in (int, float):
        return True
    if get_origin(annotation) in (Union, types.UnionType):
        args = get_args(annotation)
        numbers = [a for a in args if _numeric(a)]
        return bool(numbers) and all(_numeric(a) or get_origin(a) is dict for a in args)
    return False


class _YamlBoolean:
    """A boolean given where a number belongs: no number validator accepts it, and its repr
    says what happened."""

    def __init__(self, value: bool):
        self.value = value

    def __repr__(self) -> str:
        return f"{str(self.value).lower()}, a boolean: YAML reads yes, no, on, off, true, false so"


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True, allow_inf_nan=False)

    @model_validator(mode="before")
    @classmethod
    def _no_boolean_for_a_number(cls, data: Any) -> Any:
        """pydantic's lax mode reads True as 1 for a number, and YAML reads yes, no, on, off,
        true and false as booleans: `rate: yes` was a 100% tariff. A number field gets the
        boolean marked, so that its own validation refuses it at its own location. (A model
        validator: a field validator on every field would also touch the shocks'
        discriminator, which pydantic forbids.)"""
        if not isinstance(data, Mapping):
            return data
        marked = {
            name: _YamlBoolean(value)
            for name, value in data.items()
            if isinstance(value, bool)
            and isinstance(name, str)
            and name in cls.model_fields
            and _numeric(cls.model_fields[name].annotation)
        }
        return {**data, **marked} if marked else data


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
    # The rate at which an exporter whose home currency this is finances a payment that
    # arrives late (docs/model.md section 6). Default: the central bank's policy-rate history
    # shipped for the currency's code in tradesim/data/financing_rates.csv (Bank of Russia
    # key rate, federal funds target, ECB main refinancing rate, PBoC one-year lending rate);
    # 0 for a code not listed there.
    financing_rate: RatePath | None = Field(
        None,
        description="annual rate financing a late payment to a party whose home currency it is"
        " (path, fraction: 0.0775); null: the shipped policy-rate history for the code",
    )


class InvoicingConvention(_Model):
    """A sector's invoicing convention: utility (in the currency logit's units) of the
    dominant currency, of the producer's (origin's) and of the local (destination's) currency.

    Dominant-currency pricing fits homogeneous, reference-priced and exchange-traded goods
    (Goldberg and Tille 2008, J. Int. Econ. 76(2)); differentiated goods lean to producer-
    or local-currency pricing (Gopinath 2015, "The International Price System"). The
    defaults are neutral (0): a scenario states the convention of each sector under
    `parameters.currency_choice.invoicing`, with its calibration (scenarios/baseline.yaml)."""

    dominant: float = Field(0.0, ge=-20, le=20, description="utility of the dominant currency")
    producer: float = Field(0.0, ge=-20, le=20, description="utility of the origin's currency")
    local: float = Field(0.0, ge=-20, le=20, description="utility of the destination's currency")


class SectorSpec(_Model):
    """A traded sector: an aggregate (values only) or a commodity with a physical unit.

    Demand is a two-level Armington nest (GTAP): domestic supply against the import
    composite with `elasticity_domestic` (ESUBD), then among import origins, and among the
    firms of any origin, with `elasticity` (ESUBM). Without `elasticity_domestic` the nest is
    flat (ESUBD = ESUBM). The trade elasticity is sigma - 1.
    """

    elasticity: float = Field(
        4.0,
        gt=1,
        le=40,
        description="substitution elasticity among import origins and firms (ESUBM, sigma_M)",
    )
    elasticity_domestic: float | None = Field(
        None,
        gt=1,
        le=40,
        description="substitution elasticity between domestic supply and imports (ESUBD, "
        "sigma_D <= sigma_M); default: equal to elasticity (one flat nest)",
    )
    unit: str | None = Field(
        None,
        description="physical unit of a commodity sector (t, bbl, MMBtu); its world_price "
        "path is then in USD per unit and results report quantities",
    )
    hs_codes: list[str] = Field(
        default_factory=list, description="HS codes the sector stands for (documentation)"
    )
    demand_price_elasticity: float = Field(
        1.0, ge=0, le=5, description="elasticity of sector spending to its world price (1: fixed)"
    )
    world_price_exposure: float = Field(
        0.0, ge=0, le=1, description="share of unit cost that moves with the world price"
    )
    world_price: PositivePath = Field(1.0, description="world price path (any units)")
    lead_time_months: int = Field(1, ge=0, le=24, description="months from shipment to delivery")
    renewal_months: float | None = Field(
        None,
        ge=1,
        le=600,
        description="mean supplier-relationship duration in this sector (spot commodity "
        "trade is bought cargo by cargo); default: parameters.renewal_months",
    )

    @model_validator(mode="after")
    def _nest_is_consistent(self) -> SectorSpec:
        # A nested logit is a random-utility model only if the lower nest substitutes at
        # least as easily as the upper one (dissimilarity (sigma_D - 1)/(sigma_M - 1) <= 1).
        if self.elasticity_domestic is not None and self.elasticity_domestic > self.elasticity:
            raise ValueError(
                f"elasticity_domestic {self.elasticity_domestic} exceeds elasticity "
                f"{self.elasticity}: substitution among import origins must be at least as "
                "easy as between domestic supply and imports"
            )
        return self


class RegionSpec(_Model):
    """A region: an agent economy (firms and buyers) or an aggregate external region."""

    currency: str = Field(description="home currency (a key of currencies)")
    demand: PositivePath = Field(1.0, description="real demand index path")
    deflator: PositivePath = Field(
        1.0,
        description="price index of spending in home currency (GDP deflator): with demand it"
        " makes budgets nominal, converted to USD at the exchange rate",
    )
    absorption_usd_bn: dict[str, Annotated[float, Field(ge=0, le=1e6)]] = Field(
        description="base-year spending per sector, USD billion a year, all origins (at most"
        " 1e6: ten times world GDP, about USD 1e5 billion by the World Bank's WDI)"
    )
    origin_shares: dict[str, dict[str, Annotated[float, Field(ge=0, le=1)]]] = Field(
        description="base-year share of each origin (incl. itself) in spending, per sector"
    )


MAX_BUYERS_PER_SECTOR = 50_000_000


class Population(_Model):
    """Agent counts, per agent economy and sector.

    `buyers_per_sector` is one count for every sector, or a mapping sector -> count with an
    optional `default` for the sectors not named. Buyers carry the run-to-run noise of a
    route's flow (its relationships are a draw: benchmarks/noise.py measures it), so a
    mapping puts them where a small bilateral share makes the route thin and takes them from
    sectors that carry little bilateral trade, for about the same number of agents. Counts
    are the same in every agent economy. Firm counts are one number: firm draws carry almost
    none of the noise (benchmarks/noise.py).
    """

    buyers_per_sector: int | dict[str, int] = Field(
        2000,
        description="buyers per sector and agent economy: a count, or a mapping sector ->"
        " count with an optional 'default' for the sectors not named",
    )
    firms_per_sector: int = Field(100, ge=1, le=5_000_000)

    @field_validator("buyers_per_sector")
    @classmethod
    def _positive_counts(cls, v: int | dict[str, int]) -> int | dict[str, int]:
        counts = v.items() if isinstance(v, dict) else [("", v)]
        for key, n in counts:
            where = f" (sector {key!r})" if key else ""
            if not 1 <= n <= MAX_BUYERS_PER_SECTOR:
                raise ValueError(
                    f"buyer count{where} must be between 1 and {MAX_BUYERS_PER_SECTOR:,}, got {n}"
                )
        if isinstance(v, dict) and not v:
            raise ValueError("an empty mapping: give a count per sector or a 'default'")
        return v

    def buyers(self, sectors: Sequence[str]) -> list[int]:
        """Buyers per (agent economy, sector) for `sectors`, in their order."""
        v = self.buyers_per_sector
        if isinstance(v, int):
            return [v] * len(sectors)
        return [v.get(s, v.get("default", 0)) for s in sectors]


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
    # Reach 0 keeps the network on the route; 1 makes it the destination market's use of
    # the currency in the sector (Goldberg and Tille 2008's coalescing with competitors;
    # Crowley, Han and Son 2020, CEPR DP15493: firms use what competitors in the
    # destination use). Default 0.5, between the two (argued, no published value).
    network_reach: float = Field(
        0.5,
        ge=0,
        le=1,
        description="weight of the destination market's currency use (vs the route's)",
    )
    # A fixed cost of changing currency management (Crowley, Han and Son 2020) as a fraction
    # of value: the incumbent currency gets lambda * switching_cost of utility at renewal.
    # No published value exists (data/invoicing.md section 5); the default 0.005 (five times
    # the USD conversion fee) is calibrated in scenarios/baseline.yaml so that the
    # Russia->China EUR share moves over quarters, as it did in 2018-2019.
    switching_cost: float = Field(
        0.005, ge=0, le=0.2, description="cost of leaving the current currency, a fraction of value"
    )
    dominant_currency: str = Field(
        "USD", description="the vehicle currency of dominant-currency pricing (Gopinath 2015)"
    )
    invoicing: dict[str, InvoicingConvention] = Field(
        default_factory=dict,
        description="invoicing convention of each sector (by sector name); unlisted: neutral",
    )
    # Local-currency pricing set by the importing market: where the importer's market is
    # large and its currency international, exporters to it invoice in its currency more
    # than the sector conventions say (Kamps 2006, ECB WP 665: the euro's use in trade with
    # the euro area; Eurostat 2019: 35% of extra-EU goods imports invoiced in euro in 2018).
    # Default: none (no published utility; `tradesim calibrate` estimates the euro area's from
    # Eurostat's share, tradesim/data/cn_ru_currency_shares.csv).
    importer_currency: dict[str, Annotated[float, Field(ge=-20, le=20)]] = Field(
        default_factory=dict,
        description="utility of the destination's own currency on imports into each listed"
        " region (by region name); unlisted: 0",
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
    discount_speed: float = Field(
        0.5,
        ge=0,
        le=1,
        description="monthly partial adjustment of exporters' prices toward cost when "
        "embargoes or price caps close part of their market (Urals discount, 2022)",
    )
    fx_budget_elasticity: float = Field(
        1.0, ge=0, le=2, description="elasticity of USD import budgets to the home currency"
    )
    export_supply: bool = Field(
        True,
        description="apply the shipped export-availability index of commodity origins "
        "(harvest seasons, production paths; tradesim/data/export_supply.csv)",
    )
    world_price_elasticity: float | None = Field(
        # Short-run world demand + supply elasticity; source and range (0.16-0.5, crude oil
        # estimates) in tradesim/model/export_supply.py. null: world prices stay exogenous.
        0.3,
        gt=0,
        le=10,
        description="short-run world demand + supply price elasticity of commodities: world "
        "prices rise when embargoes withdraw an origin's share of world output "
        "(tradesim/data/world_output_shares.csv); null: off",
    )
    payment_lag_months: int = Field(1, ge=0, le=24)
    currency_choice: CurrencyChoice = CurrencyChoice()


# --------------------------------------------------------------------------- shocks


class _ShockBase(_Model):
    id: str | None = Field(
        None,
        description="a handle for composition: a scenario that extends this one overrides "
        "the shock's fields by giving a shock with the same id, or removes it with "
        "`remove: true`",
    )
    name: str | None = Field(None, description="a label for reports, figures and manifests")
    start: Date = Field(
        description="first date it applies, a mid-month date pro-rated [date: YYYY-MM or "
        "YYYY-MM-DD]"
    )
    end: Date | None = Field(
        None, description="first date it no longer applies; none: to the end [date]"
    )
    ramp_months: int = Field(0, ge=0, le=240, description="linear phase-in [months]")

    @model_validator(mode="after")
    def _end_after_start(self) -> _ShockBase:
        if self.end is not None and self.end <= self.start:
            raise ValueError(f"end {self.end} is not after start {self.start}")
        return self


Sectors = list[str] | Literal["all"]


class TariffShock(_ShockBase):
    """Ad valorem tariff by an importer on an origin's goods."""

    type: Literal["tariff"]
    importer: str = Field(description="region that levies the tariff [region]")
    origin: str = Field(description="region whose goods are taxed [region]")
    sectors: Sectors = Field("all", description="sectors taxed, or all [sector names]")
    rate: Annotated[Rate, Field(ge=0, le=5)] = Field(
        description='ad valorem rate on the customs value [fraction: 0.25 or "25%"]'
    )


class TradeChannel(_Model):
    """A sanction's trade channel: sectors embargoed both ways between imposer and target."""

    sectors: Sectors = Field(
        default_factory=list, description="embargoed both ways, or all [sector names]"
    )


class FinancialChannel(_Model):
    """A sanction's financial channel: payment freezes and cut-off from clearing."""

    freeze_probability: Annotated[Rate, Field(ge=0, le=1)] = Field(
        0.0,
        description="chance that a payment to the target in an affected currency is frozen "
        "[fraction per payment]",
    )
    cutoff_share: Annotated[Rate, Field(ge=0, le=1)] = Field(
        0.0,
        description="share of the target's firms and buyers cut off from the currency [fraction]",
    )
    currencies: list[str] | None = Field(
        None, description="currencies affected; default: the imposer's [currency codes]"
    )
    in_flight: Literal["delay", "freeze", "settle"] = Field(
        "delay",
        description="payments in flight of cut-off parties in a cut-off currency: delayed"
        " (re-routed after delay_months), frozen, or settled as usual",
    )
    delay_months: int = Field(
        2,
        ge=1,
        le=24,
        description="months a delayed in-flight payment waits to be re-routed, and a held"
        " payment to be released",
    )
    hold_probability: Annotated[Rate, Field(ge=0, le=1)] = Field(
        0.0,
        description="chance that a payment to or from the target in an affected currency is held"
        " for compliance checks and paid delay_months later [fraction per payment]",
    )


class SecondaryChannel(_Model):
    """A sanction's secondary channel: a cost on third countries' trade with the target."""

    cost: Annotated[Rate, Field(ge=0, le=5)] = Field(
        0.0,
        description="extra cost on routes between the target and third countries "
        "[fraction of the delivered price]",
    )


class SanctionShock(_ShockBase):
    """Sanctions by an imposer on a target, through three channels."""

    type: Literal["sanction"]
    imposer: str = Field(description="region that imposes the sanctions [region]")
    target: str = Field(description="region sanctioned [region]")
    trade: TradeChannel = Field(TradeChannel(), description="embargo: sectors")
    financial: FinancialChannel = Field(
        FinancialChannel(), description="payment freezes and clearing cut-off"
    )
    secondary: SecondaryChannel = Field(
        SecondaryChannel(), description="cost on third countries' trade with the target"
    )


class SettlementPolicyShock(_ShockBase):
    """A change to settlement on a route (both directions): fees and availability."""

    type: Literal["settlement_policy"]
    route: Annotated[list[str], Field(min_length=2, max_length=2)] = Field(
        description="the two regions, both directions [two regions]"
    )
    currencies: Annotated[list[str], Field(min_length=1)] = Field(
        description="currencies the policy applies to [currency codes]"
    )
    fee_change: float = Field(
        0.0, ge=-0.2, le=0.2, description="change in the cost of settling [fraction of value]"
    )
    available: bool | None = Field(
        None, description="true: made available, false: withdrawn, none: unchanged"
    )


class SettlementRiskShock(_ShockBase):
    """A perceived risk premium on currencies for a target's trade (every route touching
    it): it raises their cost in the currency choice, and decays with a half-life from the
    shock's start, without freezing any payment. Premiums of several shocks add."""

    type: Literal["settlement_risk"]
    target: str = Field(description="the region whose trade perceives the risk")
    currencies: Annotated[list[str], Field(min_length=1)]
    sectors: Sectors = Field("all", description="sectors whose trade perceives it")
    premium: Annotated[Rate, Field(gt=0, le=0.2)] = Field(
        description="perceived expected loss, a fraction of value (at most 20%)"
    )
    half_life_months: float | None = Field(
        None, gt=0, le=1200, description="months for the premium to halve; null: no decay"
    )


class _ChangeShock(_ShockBase):
    change: Annotated[Rate, Field(gt=-1, le=100)] | None = Field(
        None, description='relative change while active [fraction: 0.2 or "20%" = +20%]'
    )
    path: ChangePath | None = Field(
        None, description="dated relative changes, interpolated [YYYY-MM: fraction]"
    )

    @model_validator(mode="after")
    def _one_of_change_or_path(self) -> _ChangeShock:
        if (self.change is None) == (self.path is None):
            raise ValueError("give exactly one of 'change' or 'path'")
        return self


class ExchangeRateShock(_ChangeShock):
    """A currency's rate per USD moves (positive change = depreciation against the USD)."""

    type: Literal["exchange_rate"]
    currency: str = Field(description="currency whose rate per USD moves [currency code]")


class DemandShock(_ChangeShock):
    """A region's real demand moves."""

    type: Literal["demand"]
    region: str = Field(description="region whose real demand moves [region]")


class WorldPriceShock(_ChangeShock):
    """A sector's world price moves."""

    type: Literal["world_price"]
    sector: str = Field(description="sector whose world price moves [sector name]")


class TradeCostShock(_ChangeShock):
    """Trade costs on a route (one direction) change."""

    type: Literal["trade_cost"]
    origin: str = Field(description="exporting region [region]")
    destination: str = Field(description="importing region [region]")
    sectors: Sectors = Field("all", description="sectors affected, or all [sector names]")


class CapacityShock(_ChangeShock):
    """The productive capacity of an agent economy's firms in some sectors changes (a
    constant change or a dated path of changes)."""

    type: Literal["capacity"]
    origin: str = Field(description="agent economy whose firms' capacity changes [region]")
    sectors: Sectors = Field("all", description="sectors affected, or all [sector names]")


class EmbargoShock(_ShockBase):
    """A one-way embargo on a route: the importer bans imports from the origin (an import
    ban), or the origin bans exports to the importer (an export ban, `imposed_by: origin`)
    -- the effect on trade is the same; `imposed_by` is recorded for reports. A `share` below
    1 bars that share of the route's trade (a partial embargo: that share of buyers may no
    longer buy from the origin), ramped in with `ramp_months`."""

    type: Literal["embargo"]
    importer: str
    origin: str
    sectors: Sectors = "all"
    share: Annotated[Rate, Field(gt=0, le=1)] = Field(
        1.0, description="share of the route's buyers barred (1: a full embargo)"
    )
    imposed_by: Literal["importer", "origin"] = Field(
        "importer", description="importer: an import ban; origin: an export ban"
    )


class PriceCapShock(_ShockBase):
    """A price cap: the imposer's buyers, and the share of third countries' trade that uses
    the imposer's services (shipping, insurance, finance), may buy the origin's commodity
    only at or below `cap` USD per physical unit; the sector must have a unit."""

    type: Literal["price_cap"]
    imposer: str
    origin: str
    sector: str
    cap: float = Field(gt=0, description="USD per unit of the sector (e.g. USD/bbl)")
    services_share: Annotated[Rate, Field(ge=0, le=1)] = Field(
        0.0, description="share of third countries' trade with the origin bound by the cap"
    )


AbsolutePath = Annotated[
    dict[str, Annotated[float, Field(ge=0, allow_inf_nan=False)]],
    BeforeValidator(_normalize_path),
]


class RouteCapacityShock(_ShockBase):
    """A physical limit on one route (a pipeline, a port, a rail link): what the origin can
    ship to the destination in the sector, in the sector's unit per year (a constant or a
    dated path of levels); a limit of 0 closes the route. The sector must have a unit and
    the route a positive base-year share."""

    type: Literal["route_capacity"]
    origin: str
    destination: str
    sector: str
    capacity: float | None = Field(
        None, ge=0, description="units of the sector a year (e.g. bbl/yr)"
    )
    path: AbsolutePath | None = Field(
        None, description="dated capacity levels in units a year, interpolated; flat beyond"
    )

    @model_validator(mode="after")
    def _one_of_capacity_or_path(self) -> RouteCapacityShock:
        if (self.capacity is None) == (self.path is None):
            raise ValueError("give exactly one of 'capacity' or 'path'")
        return self


Shock = Annotated[
    TariffShock
    | SanctionShock
    | SettlementPolicyShock
    | SettlementRiskShock
    | ExchangeRateShock
    | DemandShock
    | WorldPriceShock
    | TradeCostShock
    | CapacityShock
    | EmbargoShock
    | PriceCapShock
    | RouteCapacityShock,
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
        SettlementRiskShock,
        EmbargoShock,
        PriceCapShock,
        RouteCapacityShock,
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
    seed: int = Field(0, ge=0, lt=2**63, strict=True, description="seed of every random draw")
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

    def _repr_html_(self) -> str:
        """A compact summary for notebooks: horizon, economies, sectors, shocks."""
        from tradesim.scenario.display import scenario_html

        return scenario_html(self)
