"""Named scalar outputs of a run, or of a run against its base, for attribution, sweeps and
sensitivity analysis.

An output is written `KIND:TARGET` and is a total (or share) over the whole horizon:

- ``trade:CN-RU``: value shipped from CN to RU, USD (customs value);
- ``share:CNY``: CNY's share of the value shipped between the agent economies (both ways);
- ``welfare:RU``, ``welfare:world``: welfare change against the base, USD (see
  `tradesim.analysis.welfare`); ``consumer:``, ``producer:``, ``tariff_revenue:`` and
  ``frozen_loss:`` select one component of it;
- ``tariff_revenue:US``, ``frozen:RU`` without a base: levels, USD.

Against a base (attribution, or sweeps with a base) `trade` and `share` are changes
alternative - base of the same run index (common random numbers); `welfare` needs a base.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import xarray as xr

from tradesim.errors import TradesimError
from tradesim.io.results import settled_value, shares_of
from tradesim.scenario import Scenario

__all__ = ["Output", "default_outputs", "evaluate_outputs", "parse_outputs"]

_WELFARE_KINDS = {
    "welfare": "welfare_usd",
    "consumer": "consumer_usd",
    "producer": "producer_usd",
    "tariff_revenue": "tariff_revenue_usd",
    "frozen_loss": "frozen_loss_usd",
}
_LEVEL_KINDS = {"trade", "share", "tariff_revenue", "frozen"}


@dataclass(frozen=True)
class Output:
    """One scalar output: `kind` and `target` as in `KIND:TARGET`."""

    kind: str
    target: str

    @property
    def name(self) -> str:
        return f"{self.kind}:{self.target}"

    @property
    def units(self) -> str:
        return "1" if self.kind == "share" else "USD"


def parse_outputs(texts: Sequence[str], scenario: Scenario, *, paired: bool) -> list[Output]:
    """Parse `KIND:TARGET` strings, checking regions and currencies against the scenario.

    Raises TradesimError naming the output and what is wrong with it.
    """
    if isinstance(texts, (str, bytes)):
        raise TypeError(f"outputs must be a list of names such as ['trade:CN-RU'], got {texts!r}")
    regions = list(scenario.regions)
    out = []
    for text in texts:
        kind, sep, target = text.partition(":")
        kinds = sorted({*_LEVEL_KINDS, *(_WELFARE_KINDS if paired else ())})
        if not sep or kind not in kinds:
            raise TradesimError(
                f"output {text!r}: expected KIND:TARGET with KIND one of {', '.join(kinds)}"
                + ("" if paired else " (welfare outputs need a base)")
            )
        if kind == "trade":
            o, dash, d = target.partition("-")
            if not dash or o not in regions or d not in regions or o == d:
                raise TradesimError(
                    f"output {text!r}: expected trade:ORIGIN-DESTINATION with two different "
                    f"regions from {', '.join(regions)}"
                )
        elif kind == "share":
            if target not in scenario.currencies:
                raise TradesimError(
                    f"output {text!r}: unknown currency {target!r}; "
                    f"known: {', '.join(scenario.currencies)}"
                )
        elif target not in [*regions, "world"]:
            raise TradesimError(
                f"output {text!r}: unknown region {target!r}; known: {', '.join(regions)}, world"
            )
        out.append(Output(kind, target))
    if not out:
        raise TradesimError("no outputs chosen")
    return out


def default_outputs(scenario: Scenario, *, paired: bool) -> list[Output]:
    """Trade both ways between the agent economies, and (paired) welfare of every region and
    of the world; unpaired, the settlement share of each agent economy's currency."""
    agents = list(scenario.economies)
    texts = [f"trade:{o}-{d}" for o in agents for d in agents if o != d]
    if paired:
        texts += [f"welfare:{r}" for r in [*scenario.regions, "world"]]
    else:
        currencies = {scenario.economies[a].currency for a in agents}
        texts += [f"share:{c}" for c in scenario.currencies if c in currencies]
    return parse_outputs(texts, scenario, paired=paired)


def _level(data: xr.Dataset, output: Output, agents: Sequence[str]) -> float:
    if output.kind == "trade":
        o, d = output.target.split("-")
        return float(data["shipped_usd"].sel(origin=o, destination=d).sum())
    if output.kind == "share":
        value = settled_value(data, agents, agents).sum("month")
        return float(shares_of(value, "currency").sel(currency=output.target))
    name = "tariff_revenue_usd" if output.kind == "tariff_revenue" else "frozen_usd"
    da = data[name]
    dim = "origin" if output.kind == "frozen" else "destination"
    if output.target != "world":
        da = da.sel({dim: output.target})
    return float(da.sum())


def evaluate_outputs(
    outputs: Sequence[Output],
    data: xr.Dataset,
    scenario: Scenario,
    base: xr.Dataset | None = None,
) -> dict[str, float]:
    """Values of `outputs` for one run (`data`), against `base` (the same run index of the
    base scenario) when given. Only the months both runs share are used."""
    agents = list(scenario.economies)
    if base is not None:
        base, data = xr.align(base, data, join="inner")
    values: dict[str, float] = {}
    welfare_ds = None
    for output in outputs:
        if base is not None and output.kind in _WELFARE_KINDS and output.kind != "frozen":
            if welfare_ds is None:
                from tradesim.analysis.welfare import welfare

                welfare_ds = welfare(base, data, scenario).sum("year")
            da = welfare_ds[_WELFARE_KINDS[output.kind]]
            da = da.sum("region") if output.target == "world" else da.sel(region=output.target)
            values[output.name] = float(da)
        elif base is not None:
            values[output.name] = _level(data, output, agents) - _level(base, output, agents)
        else:
            values[output.name] = _level(data, output, agents)
    return values
