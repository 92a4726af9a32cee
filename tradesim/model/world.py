"""The world a run takes place in: regions, sectors, currencies and exogenous monthly paths.

`build_world` turns a validated Scenario into plain frozen arrays, so the model kernels never
touch pydantic objects. Months are integers: 0 is the scenario's first reported month and the
burn-in occupies negative months, during which exogenous paths stay at their month-0 values.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass, field

import numpy as np
from numpy.typing import NDArray

from tradesim.model.commodity_data import export_supply_index, world_output_shares
from tradesim.model.payments import rate_history, step_rates
from tradesim.scenario import Parameters, Scenario

__all__ = ["World", "build_world", "month_position", "path_values"]

F64 = NDArray[np.float64]
I64 = NDArray[np.int64]


def month_position(key: str, start: dt.date) -> float:
    """Position of a path key in months after `start`.

    A year ("2016") is an annual average and sits at the middle of that year (month 5.5 of
    it); a month ("2016-07") sits at that month.
    """
    year = int(key[:4])
    offset = (year - start.year) * 12 - (start.month - 1)
    if len(key) == 4:
        return offset + 5.5
    return offset + int(key[5:7]) - 1


def path_values(path: float | Mapping[str, float], start: dt.date, months: I64) -> F64:
    """Interpolate a dated path to integer months; flat beyond its first and last point.

    Monthly values are interpolated linearly. A path of annual values only is a list of
    annual averages: the mid-year anchors are solved for so that each year's twelve monthly
    values average exactly to its stated value (mean-preserving linear interpolation), so
    annual totals built from the months agree with the annual data.
    """
    if not isinstance(path, Mapping):
        return np.full(months.shape, float(path))
    xs = np.array([month_position(k, start) for k in path])
    ys = np.array(list(path.values()), dtype=float)
    if all(len(k) == 4 for k in path) and len(ys) > 1:
        ys = _mean_preserving_anchors(xs, ys)
    return np.interp(np.maximum(months, 0).astype(float), xs, ys)


def _mean_preserving_anchors(xs: F64, means: F64) -> F64:
    """Anchor values at mid-years whose linear interpolation (flat outside) has the given
    mean over each year's twelve months: one small linear system."""
    grid = np.concatenate([x - 5.5 + np.arange(12) for x in xs])  # each year's months
    basis = np.stack([np.interp(grid, xs, np.eye(len(xs))[k]) for k in range(len(xs))], axis=1)
    averaging = np.kron(np.eye(len(xs)), np.full((1, 12), 1 / 12))
    return np.linalg.solve(averaging @ basis, means)


@dataclass(frozen=True)
class World:
    """Everything about a run that is not agent state or policy, as arrays.

    Regions are ordered agent economies first, then external regions. Month arrays have one
    row per simulated month, burn-in included (row = month + burn_in).
    """

    regions: tuple[str, ...]
    n_agent: int
    region_currency: I64  # (R,) index into currencies
    sectors: tuple[str, ...]
    elasticity: F64  # (S,) sigma_M (ESUBM): among import origins and among firms
    demand_price_elasticity: F64  # (S,)
    world_price_exposure: F64  # (S,)
    lead_time: I64  # (O, D, S) months; domestic deliveries take none
    currencies: tuple[str, ...]
    fee: F64  # (C,)
    hedging_cost: F64  # (C,)
    international: NDArray[np.bool_]  # (C,)
    start: dt.date
    n_months: int
    burn_in: int
    per_usd: F64  # (T, C) units of currency per USD
    demand: F64  # (T, R) real demand index, 1 at month 0
    deflator: F64  # (T, R) home-currency price index of spending, 1 at month 0
    world_price: F64  # (T, S) world price index, 1 at month 0
    absorption_usd: F64  # (R, S) base spending per month, USD
    origin_shares: F64  # (D, O, S) base-year origin shares, sum over O is 1
    initial_currency_shares: F64  # (C,)
    params: Parameters
    dominant_currency: int = 0  # index of the vehicle currency of dominant-currency pricing
    invoicing: F64 = field(
        default_factory=lambda: np.zeros((0, 3))
    )  # (S, 3) convention utility: dominant, producer, local
    elasticity_domestic: F64 = field(
        default_factory=lambda: np.zeros(0)
    )  # (S,) sigma_D (ESUBD): domestic vs imports
    units: tuple[str | None, ...] = ()  # (S,) physical unit of commodity sectors
    # (S,) USD per unit at month 0; nan for aggregate sectors
    unit_price: F64 = field(default_factory=lambda: np.zeros(0))
    renewal_months: F64 = field(default_factory=lambda: np.zeros(0))  # (S,) mean duration
    # (T, C) annual rate financing a late payment to a party whose home currency it is
    financing_rate: F64 = field(default_factory=lambda: np.zeros((0, 0)))
    importer_currency: F64 = field(default_factory=lambda: np.zeros(0))  # (R,) utility
    # (T, O, S) export availability index (harvest season x production path), 1: none
    export_supply: F64 = field(default_factory=lambda: np.ones((0, 0, 0)))
    # (O, S) share of world output of each commodity, for the withdrawn-supply price response
    world_output_share: F64 = field(default_factory=lambda: np.zeros((0, 0)))

    @property
    def n_regions(self) -> int:
        return len(self.regions)

    @property
    def n_sectors(self) -> int:
        return len(self.sectors)

    @property
    def n_currencies(self) -> int:
        return len(self.currencies)

    def month_labels(self) -> NDArray[np.datetime64]:
        """First day of each reported month."""
        first = np.datetime64(f"{self.start:%Y-%m}", "M")
        return (first + np.arange(self.n_months)).astype("datetime64[ns]")

    def date_to_month(self, date: dt.date) -> float:
        """Fractional month of a date: 2018-07-16 is month-of-July + 15/31."""
        whole = (date.year - self.start.year) * 12 + date.month - self.start.month
        days = _days_in_month(date.year, date.month)
        return whole + (date.day - 1) / days


def _days_in_month(year: int, month: int) -> int:
    nxt = dt.date(year + (month == 12), month % 12 + 1, 1)
    return (nxt - dt.date(year, month, 1)).days


def _invoicing(s: Scenario, sectors: tuple[str, ...]) -> F64:
    conv = s.parameters.currency_choice.invoicing
    rows = [
        [conv[k].dominant, conv[k].producer, conv[k].local] if k in conv else [0.0, 0.0, 0.0]
        for k in sectors
    ]
    return np.array(rows, dtype=float).reshape(len(sectors), 3)


def build_world(scenario: Scenario) -> World:
    """Compile a validated scenario into a World."""
    s = scenario
    regions_spec = {**s.economies, **s.external_regions}
    regions = tuple(regions_spec)
    sectors = tuple(s.sectors)
    currencies = tuple(s.currencies)
    months = np.arange(-s.burn_in_months, s.n_months, dtype=np.int64)
    cur_index = {c: i for i, c in enumerate(currencies)}

    per_usd = np.stack([path_values(c.per_usd, s.start, months) for c in s.currencies.values()], 1)
    demand = np.stack([path_values(r.demand, s.start, months) for r in regions_spec.values()], 1)
    demand = demand / demand[s.burn_in_months]
    deflator = np.stack(
        [path_values(r.deflator, s.start, months) for r in regions_spec.values()], 1
    )
    deflator = deflator / deflator[s.burn_in_months]
    world_price = np.stack(
        [path_values(sec.world_price, s.start, months) for sec in s.sectors.values()], 1
    )
    unit_price = np.array(
        [
            world_price[s.burn_in_months, k] if sec.unit is not None else np.nan
            for k, sec in enumerate(s.sectors.values())
        ]
    )
    world_price = world_price / world_price[s.burn_in_months]

    absorption = np.array(
        [[r.absorption_usd_bn[sec] * 1e9 / 12.0 for sec in sectors] for r in regions_spec.values()]
    )
    shares = np.zeros((len(regions), len(regions), len(sectors)))
    for d, r in enumerate(regions_spec.values()):
        for k, sec in enumerate(sectors):
            for origin, share in r.origin_shares[sec].items():
                shares[d, regions.index(origin), k] = share

    lead = np.broadcast_to(
        np.array([sec.lead_time_months for sec in s.sectors.values()]),
        (len(regions), len(regions), len(sectors)),
    ).copy()
    lead[np.arange(len(regions)), np.arange(len(regions)), :] = 0

    init = np.array([s.initial_currency_shares.get(c, 0.0) for c in currencies])
    financing = np.stack(
        [_financing_rate(k, c.financing_rate, s.start, months) for k, c in s.currencies.items()], 1
    )
    if s.parameters.export_supply:
        sector_lead = np.array([sec.lead_time_months for sec in s.sectors.values()])
        export_supply = export_supply_index(regions, sectors, s.start, months, sector_lead)
    else:
        export_supply = np.ones((len(months), len(regions), len(sectors)))
    return World(
        regions=regions,
        n_agent=len(s.economies),
        region_currency=np.array([cur_index[r.currency] for r in regions_spec.values()]),
        sectors=sectors,
        elasticity=np.array([sec.elasticity for sec in s.sectors.values()]),
        demand_price_elasticity=np.array(
            [sec.demand_price_elasticity for sec in s.sectors.values()]
        ),
        world_price_exposure=np.array([sec.world_price_exposure for sec in s.sectors.values()]),
        lead_time=lead,
        currencies=currencies,
        fee=np.array([c.fee for c in s.currencies.values()]),
        hedging_cost=np.array([c.hedging_cost for c in s.currencies.values()]),
        international=np.array([c.international for c in s.currencies.values()]),
        start=s.start,
        n_months=s.n_months,
        burn_in=s.burn_in_months,
        per_usd=per_usd,
        demand=demand,
        deflator=deflator,
        world_price=world_price,
        absorption_usd=absorption,
        origin_shares=shares,
        initial_currency_shares=init / init.sum(),
        params=s.parameters,
        dominant_currency=cur_index[s.parameters.currency_choice.dominant_currency],
        invoicing=_invoicing(s, sectors),
        elasticity_domestic=np.array(
            [
                sec.elasticity if sec.elasticity_domestic is None else sec.elasticity_domestic
                for sec in s.sectors.values()
            ]
        ),
        units=tuple(sec.unit for sec in s.sectors.values()),
        unit_price=unit_price,
        renewal_months=np.array(
            [
                s.parameters.renewal_months if sec.renewal_months is None else sec.renewal_months
                for sec in s.sectors.values()
            ]
        ),
        financing_rate=financing,
        importer_currency=np.array(
            [s.parameters.currency_choice.importer_currency.get(r, 0.0) for r in regions]
        ),
        export_supply=export_supply,
        world_output_share=world_output_shares(regions, sectors),
    )


def _financing_rate(
    code: str, path: float | Mapping[str, float] | None, start: dt.date, months: I64
) -> F64:
    """(T,) a currency's financing rate by month: the scenario's path, or the shipped
    policy-rate history of its code in force mid-month (held at month 0 during burn-in, as
    every exogenous path)."""
    if path is not None:
        return path_values(path, start, months)
    first = start.year * 12 + start.month - 1
    days = [
        dt.date((first + m) // 12, (first + m) % 12 + 1, 15) for m in np.maximum(months, 0).tolist()
    ]
    return step_rates(rate_history(code), days)
