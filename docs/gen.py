"""Generate the documentation pages that come from the code, run before `mkdocs build`.

- docs/generated/scenario-reference.md: every scenario field from the schema;
- docs/generated/cli.md: the real --help of every command;
- docs/generated/shocks.md: a how-to per shock type, its YAML (validated and run here) and a
  figure of its effect on the small example economy;
- docs/generated/worked-example.md figures: the 2016-2018 story.

    python docs/gen.py
"""

from __future__ import annotations

import io
import subprocess
import sys
import typing
from contextlib import redirect_stdout
from pathlib import Path
from typing import Any

import yaml

ROOT = Path(__file__).resolve().parent.parent
OUT = ROOT / "docs" / "generated"
sys.path.insert(0, str(ROOT))

from tests.factories import small_dict  # noqa: E402
from tradesim import load_scenario, scenario_from_dict, simulate  # noqa: E402
from tradesim.cli.main import _parser, shock_reference  # noqa: E402
from tradesim.io.plot import (  # noqa: E402
    bilateral_figure,
    calibration_figure,
    currency_shares_figure,
    diversion_figure,
    save,
)
from tradesim.scenario import _SHOCK_MODELS, Scenario  # noqa: E402

# One example per shock type on the small economy (regions A, B, X; sectors energy, goods),
# with the outcome its figure shows.
EXAMPLES: dict[str, tuple[dict[str, Any], str, tuple[str, str], str]] = {
    "tariff": ({"importer": "A", "origin": "B", "sectors": ["goods"], "rate": "25%"},
               "diversion", ("A", "goods"), "A's goods imports by origin"),
    "sanction": ({"imposer": "X", "target": "B", "trade": {"sectors": ["energy"]},
                  "financial": {"freeze_probability": 0.02, "cutoff_share": 0.3},
                  "secondary": {"cost": 0.01}},
                 "currency", ("A", "B"), "settlement currencies between A and B"),
    "settlement_policy": ({"route": ["A", "B"], "currencies": ["AAC", "BBC"],
                           "fee_change": -0.004, "available": True},
                          "currency", ("A", "B"), "settlement currencies between A and B"),
    "settlement_risk": ({"target": "B", "currencies": ["USD"], "premium": 0.005,
                         "half_life_months": 12},
                        "currency", ("A", "B"), "settlement currencies between A and B"),
    "exchange_rate": ({"currency": "BBC", "change": 0.3, "ramp_months": 3},
                      "diversion", ("B", "goods"), "B's goods imports by origin"),
    "demand": ({"region": "X", "path": {"2020-07": -0.05, "2021-03": -0.2}},
               "diversion", ("X", "goods"), "X's goods imports by origin"),
    "world_price": ({"sector": "energy", "change": 0.5},
                    "diversion", ("A", "energy"), "A's energy imports by origin"),
    "trade_cost": ({"origin": "B", "destination": "A", "sectors": ["energy"], "change": -0.1},
                   "diversion", ("A", "energy"), "A's energy imports by origin"),
    "capacity": ({"origin": "B", "sectors": ["energy"], "change": -0.4},
                 "diversion", ("A", "energy"), "A's energy imports by origin"),
    "embargo": ({"importer": "A", "origin": "B", "sectors": ["energy"], "share": 0.5,
                 "ramp_months": 3},
                "diversion", ("A", "energy"), "A's energy imports by origin"),
    "price_cap": ({"imposer": "A", "origin": "B", "sector": "energy", "cap": 45.0,
                   "services_share": 0.5},
                  "diversion", ("X", "energy"), "X's energy imports by origin"),
    "route_capacity": ({"origin": "B", "destination": "A", "sector": "energy",
                        "path": {"2020-07": 300e6, "2021-01": 450e6}},
                       "diversion", ("A", "energy"), "A's energy imports by origin"),
}


def _type(annotation: Any) -> str:
    """A short, readable rendering of a type annotation."""
    import types

    origin, args = typing.get_origin(annotation), typing.get_args(annotation)
    if origin is typing.Annotated:
        return _type(args[0])
    if origin in (typing.Union, types.UnionType):
        return " or ".join(_type(a) for a in args)
    if origin is typing.Literal:
        return " or ".join(f"`{a!r}`" for a in args)
    if origin is list:
        return f"list of {_type(args[0])}"
    if origin is dict:
        return f"mapping of {_type(args[0])} to {_type(args[1])}"
    if annotation is type(None):
        return "null"
    if isinstance(annotation, type):
        return {"str": "text", "float": "number", "int": "whole number", "bool": "true/false",
                "date": "date"}.get(annotation.__name__, annotation.__name__)
    return str(annotation).replace("typing.", "")


def scenario_reference() -> str:
    lines = ["# Scenario-file reference", "",
             "Generated from the schema (`tradesim schema` writes it as JSON Schema). Unknown "
             "keys are errors. Dates are `YYYY-MM` or `YYYY-MM-DD`; rates and changes are "
             "fractions (`0.25`) or percentages (`\"25%\"`).", ""]
    from pydantic import BaseModel

    seen: set[type] = set()

    def model_table(model: type[BaseModel], title: str) -> None:
        if model in seen:
            return
        seen.add(model)
        summary = ((model.__doc__ or "").strip().splitlines() or [""])[0]
        lines.extend([f"## {title}", "", summary, "",
                      "| field | type | default | meaning |", "|---|---|---|---|"])
        nested = []
        for name, info in model.model_fields.items():
            value = None if info.is_required() else info.get_default(call_default_factory=True)
            if info.is_required():
                default = "required"
            elif isinstance(value, BaseModel):
                default = "see below"
            else:
                default = f"`{value!r}`"
            lines.append(f"| `{name}` | {_type(info.annotation)} | {default} | {info.description or ''} |")
            for arg in typing.get_args(info.annotation) + (info.annotation,):
                if isinstance(arg, type) and issubclass(arg, BaseModel):
                    nested.append((arg, f"`{name}`: {arg.__name__}"))
        lines.append("")
        for sub, sub_title in nested:
            model_table(sub, sub_title)

    model_table(Scenario, "Scenario")
    from tradesim.scenario import CurrencySpec, RegionSpec, SectorSpec

    model_table(CurrencySpec, "`currencies.<name>`: CurrencySpec")
    model_table(SectorSpec, "`sectors.<name>`: SectorSpec")
    model_table(RegionSpec, "`economies.<name>` and `external_regions.<name>`: RegionSpec")
    for kind, model in _SHOCK_MODELS.items():
        model_table(model, f"Shock `{kind}`")
    return "\n".join(lines) + "\n"


def cli_reference() -> str:
    parser = _parser()
    lines = ["# Command-line reference", "",
             "The help of each command, as the installed `tradesim` prints it.", ""]
    commands = ["run", "validate", "compare", "attribute", "sweep", "sensitivity", "calibrate",
                "backtest", "report", "plot", "schema", "shocks", "new"]
    for command in commands:
        buffer = io.StringIO()
        with redirect_stdout(buffer):
            try:
                parser.parse_args([command, "--help"])
            except SystemExit:
                pass
        lines += [f"## tradesim {command}", "", "```text", buffer.getvalue().rstrip(), "```", ""]
    lines += ["## tradesim shocks (output)", "", "```text", shock_reference(), "```", ""]
    return "\n".join(lines)


def shocks_page() -> str:
    base_data = small_dict()
    base_data["shocks"] = []
    base = simulate(scenario_from_dict(base_data))
    lines = ["# Shocks, one by one", "",
             "Each section shows a shock of one type as it is written in a scenario file, "
             "and its effect on the small example economy used by the tests (agent "
             "economies A and B, external region X; sectors energy and goods), against the same "
             "economy without the shock and with the same seed. The YAML below is validated "
             "and run when the documentation is built.", ""]
    for kind, (fields, figure, (a, b), what) in EXAMPLES.items():
        shock = {"type": kind, "name": f"example {kind}", "start": "2020-07", **fields}
        data = {**base_data, "shocks": [shock]}
        result = simulate(scenario_from_dict(data), check=True)
        if figure == "diversion":
            fig = diversion_figure(base.data, result.data, a, b)
        else:
            fig = currency_shares_figure(result.data, a, b)
        save(fig, OUT / "img" / f"shock-{kind}")
        doc = (_SHOCK_MODELS[kind].__doc__ or "").strip()
        snippet = yaml.safe_dump({"shocks": [shock]}, sort_keys=False).rstrip()
        lines += [f"## `{kind}`", "", doc, "", "```yaml", snippet, "```", "",
                  f"![{what}](img/shock-{kind}.svg)", "", f"*{what}.*", ""]
    return "\n".join(lines)


def worked_example_figures() -> None:
    from tradesim.analysis.calibrate import load_observed
    from tradesim.io.plot import source_note
    from tradesim.scenario.focus import added_shocks

    observed = load_observed()
    pairs = [("CN", "RU"), ("RU", "CN")]
    cal_scenario = load_scenario(ROOT / "scenarios" / "baseline_calibrated.yaml")
    cal = simulate(cal_scenario)
    save(bilateral_figure(cal.annual_bilateral(), pairs, observed=observed,
                          title="Calibrated baseline against Chinese customs",
                          note=source_note([cal_scenario.name], seed=cal.seed, observed=True),
                          shocks=list(cal_scenario.shocks)),
         OUT / "img" / "worked-baseline")
    import json

    report = json.loads((ROOT / "scenarios" / "baseline_calibrated.report.json").read_text())
    save(calibration_figure(report), OUT / "img" / "worked-calibration")
    base_scenario = load_scenario(ROOT / "scenarios" / "baseline.yaml")
    base = simulate(base_scenario)
    for name, figure in (("soybean_tariff_2018", "soy"), ("us_sanctions_russia_2018", "sanctions")):
        alt_scenario = load_scenario(ROOT / "scenarios" / f"{name}.yaml")
        alt = simulate(alt_scenario)
        names = (base_scenario.name, alt_scenario.name)
        note = source_note(list(names), seed=base.seed, paired=True)
        shocks = added_shocks(alt_scenario, base_scenario)
        if figure == "soy":
            fig = diversion_figure(base.data, alt.data, "CN", "soybeans", names=names,
                                   shocks=shocks, note=note)
        else:
            fig = currency_shares_figure(base.data, "CN", "RU", alt=alt.data, names=names,
                                         shocks=shocks, note=note)
        save(fig, OUT / "img" / f"worked-{figure}")


def offline_mathjax() -> None:
    """Copy MathJax (SVG output, fonts inside the one script) from the django-static-mathjax
    package into the site, so that equations render without a network."""
    import importlib.util
    import shutil

    spec = importlib.util.find_spec("mathjax")
    if spec is None or not spec.submodule_search_locations:
        raise SystemExit("docs need MathJax: pip install -e '.[docs]' (django-static-mathjax)")
    source = Path(next(iter(spec.submodule_search_locations))) / "static/mathjax/es5/tex-svg.js"
    (OUT / "javascripts").mkdir(parents=True, exist_ok=True)
    shutil.copyfile(source, OUT / "javascripts" / "tex-svg.js")


def notebook_figures() -> None:
    """The figures of notebook.md, drawn by the same calls the page makes (it is doctested)."""
    import tempfile

    from tradesim import compare

    quick = ["population.buyers_per_sector=500", "population.firms_per_sector=20",
             "burn_in_months=12"]
    base = load_scenario(ROOT / "scenarios" / "baseline.yaml", overrides=quick)
    soy = load_scenario(ROOT / "scenarios" / "soybean_tariff_2018.yaml", overrides=quick)
    save(simulate(soy).plot(), OUT / "img" / "notebook-routes")
    with tempfile.TemporaryDirectory() as work:
        cmp = compare(base, soy, runs=4, out=work, progress=False)
        save(cmp.plot(), OUT / "img" / "notebook-change")
        save(cmp.plot("diversion"), OUT / "img" / "notebook-diversion")


def main() -> None:
    (OUT / "img").mkdir(parents=True, exist_ok=True)
    offline_mathjax()
    (OUT / "scenario-reference.md").write_text(scenario_reference())
    (OUT / "cli.md").write_text(cli_reference())
    (OUT / "shocks.md").write_text(shocks_page())
    worked_example_figures()
    notebook_figures()
    subprocess.run([sys.executable, "-c", "import tradesim"], check=True)
    print(f"generated {sorted(p.name for p in OUT.iterdir())}")


if __name__ == "__main__":
    main()
