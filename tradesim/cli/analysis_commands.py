"""Command-line analyses: attribute (Shapley over shocks), sweep (grids over parameters and
shock sizes), sensitivity (Sobol and Morris), and the welfare table `compare` prints.

Registered from tradesim/cli/main.py by `add_commands`; every command turns user mistakes
into a TradesimError (one line, exit code 2).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from pathlib import Path
from typing import Any

from tradesim.cli import options
from tradesim.errors import TradesimError
from tradesim.io.outputs import output_name

__all__ = ["COMMANDS", "add_commands", "format_welfare"]


# ----------------------------------------------------------------------------- compare helpers


def format_welfare(metrics: Any) -> list[str]:
    """Welfare over the horizon by region and for the world, USD billion: the components,
    the total, and the SMART partial-equilibrium measure beside it (means across paired
    runs; with a band, the band of each run's total over the horizon)."""
    from tradesim.analysis.welfare import WELFARE_COMPONENTS, horizon_rows
    from tradesim.cli.tables import aligned
    from tradesim.io.bands import band, band_label

    cols = [*(f"welfare_{c}" for c in WELFARE_COMPONENTS), "welfare_usd", "smart_welfare_usd"]
    heads = ["consumer", "producer", "tariff rev.", "frozen", "settlement", "total", "SMART"]
    limits = band(metrics)
    header = ["", *heads] + ([band_label(limits) + " of total"] if limits else [])
    rows = [header]
    for region, values, bounds in horizon_rows(metrics, cols, limits):
        cells = [region, *(f"{v:+.3f}" for v in values)]
        if bounds:
            cells.append(f"[{bounds[0]:+.3f}, {bounds[1]:+.3f}]")
        rows.append(cells)
    return [
        "Welfare over the horizon, USD billion (exact CES consumer surplus, producer price "
        "effects, tariff revenue, frozen payments, settlement costs; docs/model.md section 11)",
        *aligned(rows),
    ]


# ----------------------------------------------------------------------------- parsing helpers


def _group(text: str) -> tuple[str, list[int]]:
    label, sep, members = text.partition("=")
    try:
        indices = [int(v) for v in members.split(",") if v.strip()]
    except ValueError:
        indices = []
    if not sep or not label.strip() or not indices:
        raise argparse.ArgumentTypeError(
            f"expected NAME=I,J,... (positions among the scenario's own shocks): {text!r}"
        )
    return label.strip(), indices


def _values(text: str) -> tuple[str, list[str]]:
    """PATH=V1,V2,... or PATH=LO:HI:N (N evenly spaced values) for sweeps."""
    path, sep, rest = text.partition("=")
    if not sep or not path.strip() or not rest.strip():
        raise argparse.ArgumentTypeError(f"expected PATH=V1,V2,... or PATH=LO:HI:N: {text!r}")
    if rest.count(":") == 2 and "," not in rest:
        try:
            lo, hi, n = rest.split(":")
            count = int(n)
            a, b = float(lo), float(hi)
        except ValueError:
            raise argparse.ArgumentTypeError(
                f"expected PATH=LO:HI:N with numbers: {text!r}"
            ) from None
        if count < 1:
            raise argparse.ArgumentTypeError(f"N must be at least 1: {text!r}")
        step = (b - a) / (count - 1) if count > 1 else 0.0
        return path.strip(), [repr(a + k * step) for k in range(count)]
    return path.strip(), [v.strip() for v in _top_level_split(rest) if v.strip()]


def _top_level_split(text: str) -> list[str]:
    """Split at commas outside brackets, braces and quotes: a value may be a YAML mapping
    or list, such as a year path {2020: 1.0, 2021: 1.3}."""
    parts, depth, quote, start = [], 0, "", 0
    for i, ch in enumerate(text):
        if quote:
            quote = "" if ch == quote else quote
        elif ch in "'\"":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth = max(0, depth - 1)
        elif ch == "," and depth == 0:
            parts.append(text[start:i])
            start = i + 1
    return [*parts, text[start:]]


def _range(text: str) -> tuple[str, float, float]:
    path, sep, rest = text.partition("=")
    try:
        lo, hi = (float(v) for v in rest.split(":"))
    except ValueError:
        lo = hi = float("nan")
    if not sep or not path.strip() or not lo < hi:
        raise argparse.ArgumentTypeError(f"expected PATH=LOW:HIGH with LOW < HIGH: {text!r}")
    return path.strip(), lo, hi


def _outputs(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--output",
        dest="outputs",
        action="append",
        default=[],
        metavar="KIND:TARGET",
        help="an output: trade:CN-RU, share:CNY, welfare:RU, welfare:world, consumer:US, "
        "tariff_revenue:US, frozen:RU (repeatable; default: trade both ways between the agent "
        "economies, and welfare or currency shares)",
    )


def _study(sub: Any, name: str, help: str) -> argparse.ArgumentParser:
    """A study's parser with what every study takes: SCENARIO and its options, --out,
    --output and where its runs execute."""
    p: argparse.ArgumentParser = sub.add_parser(name, help=help)
    p.add_argument("scenario", type=Path, metavar="SCENARIO")
    options.scenario_options(p)
    p.add_argument("--out", type=Path, default=None, help=f"folder (default out/{name}/NAME)")
    _outputs(p)
    options.executor_options(p, runs_help="runs per point")
    return p


def add_commands(sub: Any) -> None:
    """Add attribute, sweep and sensitivity to the `tradesim` sub-command parsers."""
    att = _study(sub, "attribute", "split a scenario's effect over its shocks (Shapley values)")
    att.add_argument(
        "--base",
        type=Path,
        default=None,
        help="base scenario file (default: the scenario without its own shocks)",
    )
    att.add_argument(
        "--group",
        dest="groups",
        type=_group,
        action="append",
        default=[],
        metavar="NAME=I,J",
        help="a named group of the scenario's own shocks, by position from 0 (repeatable)",
    )
    att.add_argument(
        "--by",
        choices=["name", "type", "shock"],
        default="name",
        help="without --group: one group per shock name (default), type, or shock",
    )
    att.add_argument(
        "--permutations", type=options.positive, default=64, help="sampled orders beyond 8 groups"
    )
    options.quantile_option(att, "band quantiles over runs")

    sweep = _study(
        sub, "sweep", "run a grid (or list) of parameter and shock-size values: a tidy table"
    )
    sweep.add_argument(
        "--vary",
        dest="vary",
        type=_values,
        action="append",
        default=[],
        metavar="PATH=V1,V2|LO:HI:N",
        help="values of a field in --set syntax, e.g. parameters.markup=1.1,1.25,1.4, "
        "shocks.0.rate=0:0.3:4 or a year path per value, economies.CN.demand="
        "'{2017: 1.0, 2018: 1.1},{2017: 1.0, 2018: 1.2}' (repeatable)",
    )
    sweep.add_argument(
        "--mode",
        choices=["grid", "list"],
        default="grid",
        help="grid: every combination; list: the i-th values together (same lengths)",
    )
    sweep.add_argument(
        "--base",
        type=Path,
        default=None,
        help="pair every point with this base (then outputs are changes; welfare allowed)",
    )

    sens = _study(
        sub, "sensitivity", "global sensitivity: Sobol or Morris indices of outputs (SALib)"
    )
    sens.add_argument(
        "--range",
        dest="ranges",
        type=_range,
        action="append",
        default=[],
        metavar="PATH=LOW:HIGH",
        help="a field and its range, e.g. parameters.renewal_months=6:18 (repeatable)",
    )
    sens.add_argument("--method", choices=["sobol", "morris"], default="sobol")
    sens.add_argument(
        "--samples",
        type=options.positive,
        default=64,
        help="Sobol base samples N (N(D+2) points, D ranges; a power of 2) or Morris trajectories",
    )
    sens.add_argument("--seed", type=int, default=0, help="seed of the sample design")


# ----------------------------------------------------------------------------- commands


def _progress(label: str, quiet: bool) -> Any:
    from tradesim.cli.main import _Progress

    return _Progress(label, quiet)


def _load(path: Path, args: argparse.Namespace) -> Any:
    from tradesim.scenario import load_scenario

    return load_scenario(path, overrides=args.overrides, allow_outside=args.allow_outside)


def _same_horizon(base: Any, scenario: Any) -> Any:
    """The base over the scenario's horizon (exogenous paths flat beyond their last point),
    so that every month of the scenario has a paired base month."""
    if (base.start, base.end) == (scenario.start, scenario.end):
        return base
    return base.model_validate({**base.model_dump(), "start": scenario.start, "end": scenario.end})


def _cmd_attribute(args: argparse.Namespace) -> int:
    from tradesim.analysis.attribute import attribute, base_scenario, shock_groups

    scenario = _load(args.scenario, args)
    if args.base is None:
        base = base_scenario(args.scenario, scenario, allow_outside=args.allow_outside)
    else:
        base = _same_horizon(_load(args.base, args), scenario)
    own = scenario.shocks[len(base.shocks) :]
    labels = [label for label, _ in args.groups]
    twice = sorted({label for label in labels if labels.count(label) > 1})
    if twice:
        raise TradesimError(f"--group {twice[0]!r} given twice: give each group once")
    groups = shock_groups(own, by=args.by, groups=dict(args.groups) or None)
    out = args.out or Path("out") / "attribute" / output_name(scenario.name)
    result = attribute(
        scenario,
        base,
        groups=groups,
        outputs=args.outputs or None,
        runs=args.runs,
        out=out,
        permutations=args.permutations,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        quantiles=args.quantiles,
        progress=_progress(f"attribute {scenario.name}", args.quiet),
    )
    print(result.to_text())
    table = result.table()
    from tradesim.io.outputs import atomic_write
    from tradesim.io.results import csv_writer

    atomic_write(out / "attribution.csv", csv_writer(table))
    print(f"\nWrote attribution.csv to {out}/ ({result.timings['wall_seconds']:.1f} s)")
    return 0


def _cmd_sweep(args: argparse.Namespace) -> int:
    from tradesim.analysis.sweep import check_fields_once, sweep

    scenario = _load(args.scenario, args)
    if not args.vary:
        raise TradesimError("nothing to sweep: give at least one --vary PATH=VALUES")
    out = args.out or Path("out") / "sweep" / output_name(scenario.name)
    check_fields_once([p for p, _ in args.vary], "varied")  # before dict() drops a repeat
    table = sweep(
        args.scenario,
        dict(args.vary),
        overrides=args.overrides,
        allow_outside=args.allow_outside,
        mode=args.mode,
        base=args.base,
        outputs=args.outputs or None,
        runs=args.runs,
        out=out,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=_progress(f"sweep {scenario.name}", args.quiet),
    )
    import pandas as pd

    # One line per point: its values (any kind: a year path is a dict), then output means.
    varied = [c for c in table.columns if c in dict(args.vary)]
    points = table.groupby("point", sort=False)
    means = points.mean(numeric_only=True).drop(columns=["run", *varied], errors="ignore")
    with pd.option_context("display.width", 160, "display.max_columns", 20):
        print(
            pd.concat([points[varied].first(), means], axis=1)
            .set_index(varied)
            .to_string(float_format=lambda v: f"{v:.6g}")
        )
    print(f"\nWrote sweep.csv ({len(table)} rows, one per point and run) to {out}/")
    return 0


def _cmd_sensitivity(args: argparse.Namespace) -> int:
    from tradesim.analysis.sensitivity import sensitivity
    from tradesim.analysis.sweep import check_fields_once

    scenario = _load(args.scenario, args)
    if not args.ranges:
        raise TradesimError("no ranges: give at least one --range PATH=LOW:HIGH")
    out = args.out or Path("out") / "sensitivity" / output_name(scenario.name)
    check_fields_once([p for p, _, _ in args.ranges], "ranged")  # before the dict drops one
    result = sensitivity(
        args.scenario,
        {p: (lo, hi) for p, lo, hi in args.ranges},
        overrides=args.overrides,
        allow_outside=args.allow_outside,
        method=args.method,
        samples=args.samples,
        seed=args.seed,
        outputs=args.outputs or None,
        runs=args.runs,
        out=out,
        executor=args.executor,
        workers=args.workers,
        scheduler=args.scheduler,
        progress=_progress(f"sensitivity {scenario.name}", args.quiet),
    )
    print(result.to_text())
    written = result.write(out)
    print(f"\nWrote {', '.join(p.name for p in written)} to {out}/")
    return 0


COMMANDS: dict[str, Callable[[argparse.Namespace], int]] = {
    "attribute": _cmd_attribute,
    "sweep": _cmd_sweep,
    "sensitivity": _cmd_sensitivity,
}
