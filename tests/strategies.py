"""Shared hypothesis strategies: valid scenarios with random regions, sectors, parameters
and shocks of every type, small enough that one simulation takes a few milliseconds."""

from __future__ import annotations

from typing import Any

from hypothesis import strategies as st

AGENT_NAMES = ["A", "B", "C"]
EXTERNAL_NAMES = ["X", "Y"]
SECTOR_NAMES = ["s0", "s1", "s2"]
YEAR = 2020


def _month(index: int) -> str:
    """Month `index` after 2020-01 as YYYY-MM."""
    return f"{YEAR + index // 12}-{index % 12 + 1:02d}"


@st.composite
def shares(draw: st.DrawFn, origins: list[str]) -> dict[str, float]:
    """Origin shares summing to 1 (some origins may be absent)."""
    raw = [draw(st.sampled_from([0.0, 0.05, 0.2, 0.5, 1.0, 3.0])) for _ in origins]
    if sum(raw) == 0:
        raw[0] = 1.0
    total = sum(raw)
    out = {o: r / total for o, r in zip(origins, raw, strict=True) if r > 0}
    first = next(iter(out))
    out[first] = 1.0 - sum(v for k, v in out.items() if k != first)
    return out


@st.composite
def worlds(draw: st.DrawFn) -> dict[str, Any]:
    """Regions, sectors, currencies and parameters: a valid scenario without shocks."""
    n_agent = draw(st.integers(1, 3))
    n_ext = draw(st.integers(0, 2))
    n_sec = draw(st.integers(1, 3))
    agents, externals = AGENT_NAMES[:n_agent], EXTERNAL_NAMES[:n_ext]
    regions = agents + externals
    sectors = SECTOR_NAMES[:n_sec]
    n_months = draw(st.integers(3, 15))
    currencies: dict[str, Any] = {"USD": {"international": True}}
    for r in regions:
        if draw(st.booleans()) or r in agents:
            currencies[f"{r}C"] = {
                "per_usd": draw(
                    st.one_of(
                        st.floats(0.5, 100.0),
                        st.fixed_dictionaries(
                            {"2020-01": st.floats(0.5, 100.0), "2021-06": st.floats(0.5, 100.0)}
                        ),
                    )
                ),
                "fee": draw(st.floats(0.0, 0.02)),
                "hedging_cost": draw(st.floats(0.0, 0.02)),
                "international": draw(st.booleans()),
            }

    def region(name: str) -> dict[str, Any]:
        own = f"{name}C"
        return {
            "currency": own if own in currencies else "USD",
            "demand": draw(
                st.one_of(
                    st.just(1.0),
                    st.fixed_dictionaries(
                        {"2020": st.floats(0.8, 1.2), "2021": st.floats(0.8, 1.2)}
                    ),
                )
            ),
            "absorption_usd_bn": {s: draw(st.floats(0.0, 500.0)) for s in sectors},
            "origin_shares": {s: draw(shares(regions)) for s in sectors},
        }

    return {
        "name": "generated",
        "start": "2020-01",
        "end": _month(n_months - 1),
        "burn_in_months": draw(st.integers(0, 4)),
        "seed": draw(st.integers(0, 2**32)),
        "population": {
            "buyers_per_sector": draw(st.integers(1, 60)),
            "firms_per_sector": draw(st.integers(1, 6)),
        },
        "currencies": currencies,
        "initial_currency_shares": draw(shares(list(currencies))),
        "sectors": {
            s: {
                "elasticity": (sigma := draw(st.floats(1.5, 8.0))),
                # A nested (ESUBD < ESUBM) or a flat nest; sometimes a commodity with a unit
                # and its own renewal, so every property also covers those paths.
                "elasticity_domestic": draw(st.one_of(st.none(), st.floats(1.1, sigma))),
                "unit": draw(st.sampled_from([None, "t"])),
                "renewal_months": draw(st.one_of(st.none(), st.floats(1.0, 12.0))),
                "demand_price_elasticity": draw(st.floats(0.0, 1.5)),
                "world_price_exposure": draw(st.floats(0.0, 1.0)),
                "world_price": draw(
                    st.one_of(
                        st.just(1.0),
                        st.fixed_dictionaries(
                            {"2020-01": st.floats(0.3, 3.0), "2020-09": st.floats(0.3, 3.0)}
                        ),
                    )
                ),
                "lead_time_months": draw(st.integers(0, 3)),
            }
            for s in sectors
        },
        "economies": {r: region(r) for r in agents},
        "external_regions": {r: region(r) for r in externals},
        "parameters": {
            "renewal_months": draw(st.floats(1.0, 24.0)),
            "markup": draw(st.floats(1.0, 2.0)),
            "pass_through": draw(st.floats(0.0, 1.0)),
            "productivity_dispersion": draw(st.floats(0.0, 1.0)),
            "budget_dispersion": draw(st.floats(0.0, 1.5)),
            "capacity_headroom": draw(st.one_of(st.none(), st.floats(1.01, 2.0))),
            "price_adjustment": draw(st.floats(0.0, 0.3)),
            "fx_budget_elasticity": draw(st.floats(0.0, 1.5)),
            "payment_lag_months": draw(st.integers(0, 3)),
            "currency_choice": {
                "cost_sensitivity": draw(st.floats(0.0, 1000.0)),
                "network_strength": draw(st.floats(0.0, 6.0)),
                "sanction_loss": draw(st.floats(0.0, 2.0)),
                "network_reach": draw(st.floats(0.0, 1.0)),
                "switching_cost": draw(st.floats(0.0, 0.02)),
                "invoicing": {
                    s: {
                        "dominant": draw(st.floats(-3.0, 3.0)),
                        "producer": draw(st.floats(-3.0, 3.0)),
                        "local": draw(st.floats(-3.0, 3.0)),
                    }
                    for s in sectors
                    if draw(st.booleans())
                },
            },
        },
        "shocks": [],
    }


def _sector_list(draw: st.DrawFn, sectors: list[str]) -> Any:
    return draw(st.one_of(st.just("all"), st.lists(st.sampled_from(sectors), unique=True)))


@st.composite
def shocks(draw: st.DrawFn, world: dict[str, Any], kind: str | None = None) -> dict[str, Any]:
    """One shock of `kind` (any type when None) with random dates inside the horizon."""
    regions = [*world["economies"], *world["external_regions"]]
    agents = list(world["economies"])
    sectors = list(world["sectors"])
    currencies = list(world["currencies"])
    n_months = int(world["end"][5:7]) + 12 * (int(world["end"][:4]) - YEAR)
    start = draw(st.integers(0, n_months - 1))
    day = draw(st.one_of(st.none(), st.integers(2, 28)))
    shock: dict[str, Any] = {"start": _month(start) + (f"-{day:02d}" if day else "")}
    if draw(st.booleans()):
        shock["end"] = _month(draw(st.integers(start + 1, n_months + 2)))
    shock["ramp_months"] = draw(st.sampled_from([0, 0, 1, 3]))
    kind = kind or draw(
        st.sampled_from(
            [
                "tariff",
                "sanction",
                "settlement_policy",
                "exchange_rate",
                "demand",
                "world_price",
                "trade_cost",
                "capacity",
                "settlement_risk",
            ]
        )
    )
    pair = st.lists(st.sampled_from(regions), min_size=2, max_size=2, unique=True)
    change = st.floats(-0.5, 1.0)
    if kind in ("tariff", "sanction", "settlement_policy", "trade_cost") and len(regions) < 2:
        kind = "demand"
    if kind == "exchange_rate" and len(currencies) < 2:
        kind = "world_price"
    if kind == "tariff":
        a, b = draw(pair)
        shock |= {
            "importer": a,
            "origin": b,
            "sectors": _sector_list(draw, sectors),
            "rate": draw(st.floats(0.0, 1.0)),
        }
    elif kind == "sanction":
        a, b = draw(pair)
        shock |= {
            "imposer": a,
            "target": b,
            "trade": {"sectors": _sector_list(draw, sectors)},
            "financial": {
                "freeze_probability": draw(st.floats(0.0, 0.5)),
                # Below 1: a cut-off of every agent from every usable currency is refused
                # (tests/property/test_settlement.py covers that input).
                "cutoff_share": draw(st.floats(0.0, 0.99)),
                "in_flight": draw(st.sampled_from(["delay", "freeze", "settle"])),
                "delay_months": draw(st.integers(1, 3)),
            },
            "secondary": {"cost": draw(st.floats(0.0, 0.2))},
        }
    elif kind == "settlement_policy":
        shock |= {
            "route": draw(pair),
            "currencies": draw(st.lists(st.sampled_from(currencies), min_size=1, unique=True)),
            "fee_change": draw(st.floats(-0.01, 0.01)),
            "available": draw(st.sampled_from([None, True, False])),
        }
    elif kind in ("exchange_rate", "demand", "world_price"):
        target = {
            "exchange_rate": ("currency", [c for c in currencies if c != "USD"]),
            "demand": ("region", regions),
            "world_price": ("sector", sectors),
        }[kind]
        shock[target[0]] = draw(st.sampled_from(target[1]))
        if draw(st.booleans()):
            shock["change"] = draw(change)
        else:
            shock["path"] = {_month(start): draw(change), _month(start + 2): draw(change)}
    elif kind == "trade_cost":
        a, b = draw(pair)
        shock |= {
            "origin": a,
            "destination": b,
            "sectors": _sector_list(draw, sectors),
            "change": draw(change),
        }
    elif kind == "settlement_risk":
        shock |= {
            "target": draw(st.sampled_from(regions)),
            "currencies": draw(st.lists(st.sampled_from(currencies), min_size=1, unique=True)),
            "premium": draw(st.floats(0.0001, 0.2)),
            "sectors": _sector_list(draw, sectors),
            "half_life_months": draw(st.one_of(st.none(), st.floats(0.5, 60.0))),
        }
    elif kind == "capacity":
        shock |= {
            "origin": draw(st.sampled_from(agents)),
            "sectors": _sector_list(draw, sectors),
            "change": draw(change),
        }
    return {"type": kind, **shock}


@st.composite
def scenarios(draw: st.DrawFn, max_shocks: int = 4) -> dict[str, Any]:
    """A valid scenario dict with up to `max_shocks` random shocks of any type."""
    world = draw(worlds())
    world["shocks"] = draw(st.lists(shocks(world), max_size=max_shocks))
    return world
