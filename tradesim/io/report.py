"""A self-contained HTML report of a base scenario and its alternatives.

Figures are embedded as base64 PNG, tables are HTML, and each run's manifest is included, so
the one file can be mailed or archived without its output folder.
"""

from __future__ import annotations

import base64
import html
import io
import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import xarray as xr

from tradesim.analysis.welfare import WELFARE_COMPONENTS, paired_metrics
from tradesim.io.results import SimulationResult, manifest
from tradesim.scenario import Scenario

__all__ = ["html_report"]

_STYLE = """
body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;padding:0 1em;color:#222}
table{border-collapse:collapse;margin:1em 0;font-size:0.9em}
th,td{border:1px solid #ccc;padding:0.25em 0.6em;text-align:right}
th:first-child,td:first-child{text-align:left}
img{max-width:100%} pre{background:#f6f6f6;padding:1em;overflow:auto;font-size:0.8em}
"""


def _png(fig: Any) -> str:
    from tradesim.io.plot import _pyplot, plain_text

    plain_text(fig)  # names are user input: no mathtext
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=100)
    _pyplot().close(fig)
    data = base64.b64encode(buffer.getvalue()).decode()
    return f'<img class="figure" alt="figure" src="data:image/png;base64,{data}">'


def _table(df: Any, caption: str) -> str:
    body = df.to_html(float_format=lambda v: f"{v:,.3f}", border=0, classes="table")
    return f'<h4 class="table-caption">{html.escape(caption)}</h4>\n{body}'


def _annual_table(result: SimulationResult, agents: Sequence[str]) -> Any:
    annual = result.annual_bilateral().sel(origin=list(agents), destination=list(agents)) / 1e9
    df = annual.to_dataframe(name="usd_bn").reset_index()
    df = df[df["origin"] != df["destination"]]
    df["flow"] = df["origin"] + " → " + df["destination"]
    return df.pivot(index="flow", columns="year", values="usd_bn")


def html_report(
    base: Scenario,
    alternatives: Sequence[Scenario],
    *,
    sources: dict[str, Sequence[str | Path]] | None = None,
) -> str:
    """Run the base and each alternative once with the base's seed and return the report."""
    from tradesim.analysis.calibrate import load_observed
    from tradesim.analysis.simulate import simulate
    from tradesim.io.plot import (
        bilateral_figure,
        comparison_figure,
        currency_shares_figure,
        diversion_figure,
    )

    sources = sources or {}
    agents = list(base.economies)
    pairs = [(a, b) for a in agents for b in agents if a != b]
    observed = [o for o in load_observed() if {o.origin, o.destination} <= set(agents)]
    base_result = simulate(base)
    parts = [
        f"<h1>tradesim report: {html.escape(base.name)} and {len(alternatives)} alternatives</h1>",
        f"<p>{html.escape(base.description)}. One paired run per scenario, seed {base.seed}"
        " (common random numbers).</p>",
        f"<h2>Base: {html.escape(base.name)}</h2>",
        _png(
            bilateral_figure(
                base_result.annual_bilateral(),
                pairs,
                observed=observed,
                title=f"Bilateral trade, {base.name}",
            )
        ),
        _table(_annual_table(base_result, agents), "Bilateral trade, USD billion"),
    ]
    if len(agents) >= 2:
        parts.append(_png(currency_shares_figure(base_result.data, agents[0], agents[1])))
    manifests = {base.name: manifest(base_result, sources.get(base.name, ()))}
    for alt in alternatives:
        alt = alt.model_copy(update={"seed": base.seed})
        result = simulate(alt)
        metrics = paired_metrics(base_result.data, result.data, alt)
        manifests[alt.name] = manifest(result, sources.get(alt.name, ()))
        parts += [
            f"<h2>{html.escape(alt.name)} against {html.escape(base.name)}</h2>",
            f"<p>{html.escape(alt.description)}</p>",
            _table(_annual_table(result, agents), f"Bilateral trade, USD billion, {alt.name}"),
            _png(comparison_figure(metrics.expand_dims(statistic=["mean"]), pairs)),
        ]
        moved = abs(metrics["imports_by_origin_usd"]).max("origin")
        moved = moved.where(moved["importer"].isin(agents), 0.0)
        cell = moved.argmax(dim=["importer", "sector"])
        importer = str(moved["importer"].values[int(cell["importer"])])
        sector = str(moved["sector"].values[int(cell["sector"])])
        parts.append(_png(diversion_figure(base_result.data, result.data, importer, sector)))
        by_origin = metrics["imports_by_origin_usd"].sel(importer=importer, sector=sector) / 1e9
        parts.append(
            _table(
                by_origin.to_dataframe(name="change_usd_bn")[["change_usd_bn"]],
                f"{importer} {sector} imports by origin, change, USD billion",
            )
        )
        names = [f"welfare_{c}" for c in WELFARE_COMPONENTS] + ["welfare_usd"]
        totals = xr.Dataset({name: metrics[name].sum("year") / 1e9 for name in names})
        parts.append(
            _table(totals.to_dataframe(), "Welfare over the horizon by region, USD billion")
        )
        if len(agents) >= 2:
            parts.append(_png(currency_shares_figure(result.data, agents[0], agents[1])))
    parts.append("<h2>Manifests</h2>")
    for name, info in manifests.items():
        text = json.dumps({k: v for k, v in info.items() if k != "scenario"}, indent=2)
        parts.append(f"<h3>{html.escape(name)}</h3><pre>{html.escape(text)}</pre>")
    body = "\n".join(parts)
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>tradesim report: {html.escape(base.name)}</title>"
        f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )
