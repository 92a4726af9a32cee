"""Small scenarios built in code, so tests run in a fraction of a second."""

from __future__ import annotations

import copy
import dataclasses
from typing import Any

import numpy as np

from tradesim import Scenario, scenario_from_dict
from tradesim.model.engine import RawRun

_SMALL: dict[str, Any] = {
    "name": "small",
    "start": "2020-01",
    "end": "2021-12",
    "burn_in_months": 6,
    "seed": 7,
    "population": {"buyers_per_sector": 400, "firms_per_sector": 10},
    "currencies": {
        "USD": {"international": True, "fee": 0.001, "hedging_cost": 0.002},
        "AAC": {"per_usd": {"2020": 5.0, "2021": 5.5}, "fee": 0.004},
        "BBC": {"per_usd": 60.0, "fee": 0.006, "hedging_cost": 0.008},
    },
    "initial_currency_shares": {"USD": 0.9, "AAC": 0.05, "BBC": 0.05},
    "sectors": {
        "energy": {
            "unit": "bbl",
            "elasticity": 5.0,
            "world_price_exposure": 0.8,
            "demand_price_elasticity": 0.3,
            "world_price": {"2020": 50.0, "2021": 60.0},
        },
        "goods": {"elasticity": 4.0, "lead_time_months": 2},
    },
    "economies": {
        "A": {
            "currency": "AAC",
            "demand": {"2020": 1.0, "2021": 1.05},
            "absorption_usd_bn": {"energy": 100.0, "goods": 300.0},
            "origin_shares": {
                "energy": {"A": 0.6, "B": 0.3, "X": 0.1},
                "goods": {"A": 0.7, "B": 0.1, "X": 0.2},
            },
        },
        "B": {
            "currency": "BBC",
            "absorption_usd_bn": {"energy": 50.0, "goods": 100.0},
            "origin_shares": {
                "energy": {"B": 0.9, "A": 0.02, "X": 0.08},
                "goods": {"B": 0.5, "A": 0.3, "X": 0.2},
            },
        },
    },
    "external_regions": {
        "X": {
            "currency": "USD",
            "absorption_usd_bn": {"energy": 500.0, "goods": 2000.0},
            "origin_shares": {
                "energy": {"X": 0.9, "A": 0.02, "B": 0.08},
                "goods": {"X": 0.85, "A": 0.1, "B": 0.05},
            },
        }
    },
    "parameters": {"renewal_months": 6, "capacity_headroom": 1.3, "budget_dispersion": 0.5},
    "shocks": [],
}


def small_dict(**overrides: Any) -> dict[str, Any]:
    """A fresh copy of the small scenario as a dict, with top-level overrides."""
    data = copy.deepcopy(_SMALL)
    data.update(copy.deepcopy(overrides))
    return data


def small(**overrides: Any) -> Scenario:
    """The small scenario, validated."""
    return scenario_from_dict(small_dict(**overrides))


def frictionless(**overrides: Any) -> dict[str, Any]:
    """Renewal every month, no capacity limits, no price moves, flat exogenous paths, USD
    only: the CES limit, where aggregate flows follow the closed-form Armington result."""
    data = small_dict(**overrides)
    data["currencies"]["AAC"]["per_usd"] = 5.0
    data["economies"]["A"]["demand"] = 1.0
    data["sectors"]["energy"]["world_price"] = 50.0
    data["parameters"] = {
        "renewal_months": 1,
        "capacity_headroom": None,
        "price_adjustment": 0.0,
        "budget_dispersion": 0.3,
    }
    data["initial_currency_shares"] = {"USD": 1.0}
    return data


def assert_raw_equal(a: RawRun, b: RawRun) -> None:
    """Two raw runs hold the same arrays, bit for bit (every flow, stock and month record)."""
    assert a.n_agents == b.n_agents
    for field in dataclasses.fields(RawRun):
        x, y = getattr(a, field.name), getattr(b, field.name)
        if isinstance(x, dict) and field.name != "timings":
            assert x.keys() == y.keys(), field.name
            for key in x:
                np.testing.assert_array_equal(x[key], y[key], err_msg=f"{field.name}[{key}]")
        elif isinstance(x, np.ndarray):
            np.testing.assert_array_equal(x, y, err_msg=field.name)
