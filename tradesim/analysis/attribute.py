"""Which shock did it: the effect of a scenario against its base, split over its shocks (or
named groups of them) by Shapley values.

For groups g = 1..n and an output v (any of `tradesim.analysis.outputs`), let v(S) be the
output of the base plus the shocks of the groups in S, minus that of the base, for the same
run index (common random numbers). The Shapley value of group g (Shapley 1953) is

    phi_g = sum over S not containing g of |S|! (n - |S| - 1)! / n! * (v(S + g) - v(S)),

its average marginal contribution over every order in which the groups could be added. The
contributions add up to the total effect v(all groups) exactly (efficiency), whatever the
interactions between shocks. Up to `EXACT_GROUPS` groups every one of the 2^n subsets is
simulated; beyond, `permutations` random orders are drawn (Castro, Gomez and Tejada 2009)
and each order's marginal contributions still add up to the total exactly. Bands are
quantiles of the per-run contributions.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

import numpy as np
import xarray as xr
import yaml

from tradesim.analysis.batch import Point, Progress, run_points
from tradesim.analysis.ensemble import DEFAULT_QUANTILES, check_comparable
from tradesim.analysis.outputs import Output, default_outputs, parse_outputs
from tradesim.analysis.runner import ExecutorName
from tradesim.errors import TradesimError
from tradesim.scenario import Scenario, load_scenario

__all__ = ["EXACT_GROUPS", "Attribution", "attribute", "base_scenario", "shock_groups"]

#: Exact Shapley values (2^n subsets) up to this many groups; sampled orders beyond.
EXACT_GROUPS = 8

GroupBy = Literal["name", "type", "shock"]
TOTAL = "total"  # the label of the attribution table's row of all shocks together


def own_shock_count(path: str | Path, scenario: Scenario, *, allow_outside: bool = False) -> int:
    """How many of the scenario's shocks are its own (not inherited through `extends:`,
    one parent or a list): a child's shocks come after the inherited ones it keeps, so the
    own shocks are those after the leading run of its parents' shocks. Counting the
    parents' shocks instead went wrong when a child removes one (`{id: ..., remove: true}`)
    or names its parents as a list."""
    path = Path(path)
    try:
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
    except (OSError, yaml.YAMLError, UnicodeDecodeError):
        return len(scenario.shocks)
    parents = data.get("extends") if isinstance(data, dict) else None
    if isinstance(parents, str):
        parents = [parents]
    if not parents or not isinstance(parents, list) or not all(isinstance(p, str) for p in parents):
        return len(scenario.shocks)
    inherited = [
        shock
        for parent in parents
        for shock in load_scenario(path.parent / parent, allow_outside=allow_outside).shocks
    ]
    kept = 0
    while kept < len(scenario.shocks) and scenario.shocks[kept] in inherited:
        kept += 1
    return len(scenario.shocks) - kept


def base_scenario(path: str | Path, scenario: Scenario, *, allow_outside: bool = False) -> Scenario:
    """The scenario with none of its own shocks (inherited ones kept), same horizon: the
    base a scenario's effect is measured against. `allow_outside` as for `load_scenario`."""
    own = own_shock_count(path, scenario, allow_outside=allow_outside)
    kept = list(scenario.shocks[: len(scenario.shocks) - own])
    return scenario.model_copy(update={"shocks": kept, "name": f"{scenario.name}_base"})


def shock_groups(
    shocks: Sequence[Any],
    *,
    by: GroupBy = "name",
    groups: Mapping[str, Sequence[int]] | None = None,
) -> dict[str, list[int]]:
    """Groups of shock positions (0-based, among `shocks`).

    `groups` names them explicitly (every shock in exactly one group); otherwise shocks are
    grouped by their `name` (unnamed shocks: by type and position), by `type`, or one group
    per shock ("shock").
    """
    n = len(shocks)
    if n == 0:
        raise TradesimError("the scenario has no shocks of its own to attribute its effect to")
    if groups:
        if TOTAL in groups:
            raise TradesimError(
                f"a group cannot be called {TOTAL!r}: that is the table's row of all shocks"
            )
        seen: dict[int, str] = {}
        for label, members in groups.items():
            for k in members:
                if not 0 <= k < n:
                    raise TradesimError(
                        f"group {label!r}: shock {k} does not exist (the scenario has {n} "
                        f"shocks of its own, numbered 0 to {n - 1})"
                    )
                if k in seen:
                    raise TradesimError(f"shock {k} is in groups {seen[k]!r} and {label!r}")
                seen[k] = label
        missing = [k for k in range(n) if k not in seen]
        if missing:
            raise TradesimError(
                f"shocks {missing} are in no group: every shock must be in one (--group)"
            )
        return {label: sorted(members) for label, members in groups.items()}
    out: dict[str, list[int]] = {}
    for k, shock in enumerate(shocks):
        if by == "type":
            label = shock.type
        elif by == "shock" or not shock.name:
            label = f"{k}: {shock.name or shock.type}"
        else:
            label = shock.name
        if label == TOTAL:  # the table's row of all shocks
            label = f"{k}: {label}"
        out.setdefault(label, []).append(k)
    return out


@dataclass(frozen=True)
class Attribution:
    """Shapley contributions of shock groups to a scenario's effect.

    `contributions` is (run, group, output); `total` (run, output) is the effect of all
    shocks together; they agree: contributions summed over groups equal the total.
    """

    scenario: Scenario
    groups: dict[str, list[int]]
    contributions: xr.DataArray
    total: xr.DataArray
    exact: bool
    permutations: int = 0
    quantiles: tuple[float, ...] = DEFAULT_QUANTILES
    timings: dict[str, float] = field(default_factory=dict)

    def table(self) -> Any:
        """A pandas DataFrame: one row per group (and the total), per output, with the mean
        and quantile band over runs and the share of the total effect."""
        import pandas as pd

        rows = []
        q = list(self.quantiles)
        for output in self.contributions["output"].values:
            tot = self.total.sel(output=output)
            tot_mean = float(tot.mean())
            series = [
                *((g, self.contributions.sel(group=g, output=output)) for g in self.groups),
                (TOTAL, tot),
            ]
            for label, da in series:
                values = da.values
                row = {"output": str(output), "group": label, "mean": float(values.mean())}
                for v, b in zip(q, np.quantile(values, q), strict=True):
                    row[f"q{v:g}"] = float(b)
                row["share_of_total"] = (
                    float(values.mean()) / tot_mean if tot_mean != 0 else float("nan")
                )
                rows.append(row)
        return pd.DataFrame(rows)

    def to_text(self) -> str:
        """The table as text, USD billion for money outputs and points for shares."""
        table = self.table()
        lo, hi = (f"q{v:g}" for v in (self.quantiles[0], self.quantiles[-1]))
        runs = self.contributions.sizes["run"]
        how = "exact" if self.exact else f"{self.permutations} sampled orders"
        lines = [
            f"Attribution of {self.scenario.name!r} to {len(self.groups)} groups of shocks "
            f"(Shapley values, {how}, {runs} run{'s' if runs > 1 else ''}, "
            f"common random numbers): mean [{lo}, {hi}]",
        ]
        width = max(12, *(len(g) for g in self.groups)) + 2
        for output, rows in table.groupby("output", sort=False):
            share = str(output).startswith("share:")
            unit, scale = ("points", 100.0) if share else ("USD billion", 1e-9)
            lines += ["", f"{output} ({unit})"]
            for _, r in rows.iterrows():
                pct = r["share_of_total"]
                pct_text = "" if not np.isfinite(pct) else f"  {pct:7.1%}"
                lines.append(
                    f"  {r['group']:<{width}}{r['mean'] * scale:>+12.3f} "
                    f"[{r[lo] * scale:+.3f}, {r[hi] * scale:+.3f}]{pct_text}"
                )
        gap = float(abs(self.contributions.sum("group") - self.total).max())
        lines += ["", f"Largest gap between the sum of contributions and the total: {gap:.3g}"]
        return "\n".join(lines)


def _subset_key(mask: int, n: int) -> str:
    return "s" + format(mask, f"0{n}b")


def _with_groups(
    base: Scenario, own: Sequence[Any], groups: list[list[int]], mask: int, name: str
) -> Scenario:
    members = sorted(k for g, ks in enumerate(groups) if mask >> g & 1 for k in ks)
    shocks = [*base.shocks, *(own[k] for k in members)]
    return base.model_copy(
        update={"shocks": shocks, "name": f"{name}_{_subset_key(mask, len(groups))}"}
    )


def _shapley_exact(values: Mapping[int, np.ndarray[Any, Any]], n: int) -> np.ndarray[Any, Any]:
    """(n, ...) Shapley values from v over every subset mask (v[0] = 0)."""
    out = np.zeros((n, *values[0].shape))
    fact = [math.factorial(k) for k in range(n + 1)]
    for mask in range(2**n):
        size = bin(mask).count("1")
        for g in range(n):
            if not mask >> g & 1:
                weight = fact[size] * fact[n - size - 1] / fact[n]
                out[g] += weight * (values[mask | 1 << g] - values[mask])
    return out


def attribute(
    scenario: Scenario,
    base: Scenario,
    *,
    groups: Mapping[str, Sequence[int]],
    outputs: Sequence[str] | None = None,
    runs: int = 1,
    out: str | Path,
    permutations: int = 64,
    executor: ExecutorName = "processes",
    workers: int | None = None,
    scheduler: str | None = None,
    quantiles: Sequence[float] = DEFAULT_QUANTILES,
    progress: Progress | None = None,
) -> Attribution:
    """Split the effect of `scenario` against `base` over groups of its own shocks.

    Parameters
    ----------
    scenario
        The scenario whose effect is explained.
    base
        What it is measured against; its shocks are kept in every subset. The scenario's own
        shocks are those after the base's (see `base_scenario`), or all of them when the
        base has none in common with it.
    groups
        Label -> positions among the scenario's own shocks (see `shock_groups`).
    outputs
        `KIND:TARGET` strings (`tradesim.analysis.outputs`); default: trade between the agent
        economies and welfare of every region and the world.
    runs
        Paired runs (run i of every subset shares random numbers with run i of the base).
    out
        Folder for the per-subset results; a second call resumes.
    permutations
        Random orders sampled when there are more than `EXACT_GROUPS` groups.
    """
    import time

    t0 = time.perf_counter()
    check_comparable(base, scenario)  # before any run: outputs name the same regions
    n_base = len(base.shocks)
    if list(scenario.shocks[:n_base]) != list(base.shocks):
        raise TradesimError(
            f"the base {base.name!r} is not the start of {scenario.name!r}: its shocks must be"
            " the scenario's first shocks (as with a scenario that extends it)"
        )
    own = list(scenario.shocks[n_base:])
    labels = list(groups)
    members = [list(groups[g]) for g in labels]
    n = len(labels)
    if n == 0:
        raise TradesimError("no groups of shocks to attribute the effect to")
    flat = sorted(k for ks in members for k in ks)
    if flat != list(range(len(own))):
        raise TradesimError(
            f"groups must cover the scenario's {len(own)} own shocks exactly once; got {flat}"
        )
    parsed: list[Output] = (
        parse_outputs(outputs, scenario, paired=True)
        if outputs
        else default_outputs(scenario, paired=True)
    )
    base = base.model_copy(update={"seed": scenario.seed})
    exact = n <= EXACT_GROUPS
    rng = np.random.default_rng(np.random.SeedSequence(scenario.seed, spawn_key=(2**31,)))
    orders: list[list[int]] = []
    if exact:
        masks = list(range(1, 2**n))
    else:
        orders = [list(rng.permutation(n)) for _ in range(permutations)]
        needed: set[int] = set()
        for order in orders:
            mask = 0
            for g in order:
                mask |= 1 << g
                needed.add(mask)
        masks = sorted(needed)
    points = [
        Point(_subset_key(m, n), _with_groups(base, own, members, m, scenario.name)) for m in masks
    ]
    results = run_points(
        points,
        runs=runs,
        outputs=parsed,
        out=out,
        base=base,
        spec={"kind": "attribute", "groups": dict(zip(labels, members, strict=True))},
        executor=executor,
        workers=workers,
        scheduler=scheduler,
        progress=progress,
    )
    names = [o.name for o in parsed]
    values: dict[int, np.ndarray[Any, Any]] = {0: np.zeros((runs, len(names)))}
    for m in masks:
        per_run = results[_subset_key(m, n)]
        values[m] = np.array([[r[k] for k in names] for r in per_run])
    full = 2**n - 1
    if exact:
        phi = _shapley_exact(values, n)
    else:
        phi = np.zeros((n, runs, len(names)))
        for order in orders:
            mask = 0
            for g in order:
                phi[g] += values[mask | 1 << g] - values[mask]
                mask |= 1 << g
        phi /= len(orders)
    coords = {"group": labels, "run": np.arange(runs), "output": names}
    contributions = xr.DataArray(phi, dims=("group", "run", "output"), coords=coords)
    total = xr.DataArray(
        values[full], dims=("run", "output"), coords={"run": coords["run"], "output": names}
    )
    return Attribution(
        scenario=scenario,
        groups=dict(zip(labels, members, strict=True)),
        contributions=contributions.transpose("run", "group", "output"),
        total=total,
        exact=exact,
        permutations=0 if exact else len(orders),
        quantiles=tuple(quantiles),
        timings={"wall_seconds": time.perf_counter() - t0},
    )
