"""The notebook summary of a scenario: horizon, economies, sectors and its shocks."""

from __future__ import annotations

from typing import Any

from tradesim._html import card, table
from tradesim.scenario.schema import Scenario

__all__ = ["scenario_html", "shock_summary"]

_COMMON = {"type", "name", "start", "end", "ramp_months"}


def shock_summary(shock: Any, width: int = 70) -> str:
    """One line on what a shock does: its own fields, defaults left out."""
    data = shock.model_dump(mode="json", exclude_defaults=True)
    parts = [f"{k}={v}" for k, v in data.items() if k not in _COMMON]
    text = ", ".join(parts).replace("'", "")
    return text if len(text) <= width else text[: width - 1] + "…"


def scenario_html(scenario: Scenario) -> str:
    """A compact HTML summary (a few kB)."""
    s = scenario
    facts = [
        ("description", s.description or "—"),
        ("horizon", f"{s.start:%Y-%m} to {s.end:%Y-%m} ({s.n_months} months)"),
        ("seed", s.seed),
        ("agent economies", ", ".join(s.economies)),
        ("external regions", ", ".join(s.external_regions) or "—"),
        ("sectors", ", ".join(s.sectors)),
        ("currencies", ", ".join(s.currencies)),
        (
            "agents",
            f"{s.population.firms_per_sector} firms and {_buyers(s)} buyers per sector and economy",
        ),
    ]
    rows = [
        (
            k,
            shock.type,
            shock.name or "",
            shock_summary(shock),
            f"{shock.start}",
            "" if shock.end is None else f"{shock.end}",
        )
        for k, shock in enumerate(s.shocks)
    ]
    header = ["#", "type", "name", "what", "start", "end"]
    tables = [table(header, rows, "Shocks", left=len(header))] if rows else []
    return card(f"Scenario {s.name}", facts, tables)


def _buyers(s: Scenario) -> str:
    """The buyer count, or the per-sector counts when they differ."""
    counts = s.population.buyers_per_sector
    if isinstance(counts, int):
        return str(counts)
    per = s.population.buyers(list(s.sectors))
    return ", ".join(f"{sec} {n}" for sec, n in zip(s.sectors, per, strict=True))
