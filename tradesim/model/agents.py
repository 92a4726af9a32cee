"""Firm and buyer populations as struct-of-arrays: one numpy array per attribute.

Firms are ordered by (sector, origin economy, firm), so the firms of one sector form one
contiguous slice and those of one (sector, origin) a sub-slice. Buyers are ordered by
(destination economy, sector), one contiguous group each.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, fields
from typing import Any

import numpy as np
from numpy.typing import NDArray

from tradesim.model.world import World

__all__ = ["Buyers", "Firms", "make_buyers", "make_firms"]

NO_SUPPLIER = -1


def _check_equal_lengths(obj: object) -> int:
    """Struct-of-arrays invariant: every array attribute has the same length."""
    lengths = {
        f.name: len(v)
        for f in fields(obj)  # type: ignore[arg-type]
        if isinstance(v := getattr(obj, f.name), np.ndarray)
    }
    if len(set(lengths.values())) > 1:
        raise ValueError(f"{type(obj).__name__} arrays differ in length: {lengths}")
    return next(iter(lengths.values()), 0)


@dataclass
class Firms:
    """Exporting firms of the agent economies (mutable state: price_adjustment)."""

    origin: NDArray[np.int16]  # region index (an agent economy)
    sector: NDArray[np.int16]
    unit_cost: NDArray[np.float64]  # home-currency unit cost at month 0 (1 / productivity)
    base_capacity: NDArray[np.float64]  # units a month at month 0; inf when unlimited
    price_adjustment: NDArray[np.float64]  # multiplicative, moved by capacity use
    cutoff_rank: NDArray[np.float32]  # cut off from a currency when below the cut-off share
    per_group: int  # firms per (sector, origin)

    def __post_init__(self) -> None:
        n = _check_equal_lengths(self)
        if n and (self.unit_cost <= 0).any():
            raise ValueError("unit costs must be positive")
        if n:
            n_origins = int(self.origin.max()) + 1
            groups = np.arange(n) // self.per_group  # = sector * n_origins + origin
            if not (
                np.array_equal(self.origin, groups % n_origins)
                and np.array_equal(self.sector, groups // n_origins)
            ):
                raise ValueError("firms must be ordered by (sector, origin), per_group each")

    def __len__(self) -> int:
        return len(self.origin)

    def by_origin_sector(self, values: NDArray[Any]) -> NDArray[Any]:
        """`values[..., origin, sector]` of every firm, (..., n_firms): `values` ends in
        (origin, sector) axes, agent economies first.

        The firms are ordered by (sector, origin), so this repeats each (sector, origin)
        entry per_group times: the values of indexing with the firms' origin and sector
        arrays at a fraction of the cost (a month gathers about twenty such arrays), and
        their memory layout too (the firm axis outermost), so that sums over the result
        add in the same order and round alike."""
        n_sectors = values.shape[-1]
        n_origins = len(self) // (n_sectors * self.per_group)
        lead = values.ndim - 2
        groups = values[..., :n_origins, :].transpose(lead + 1, lead, *range(lead))  # (S, A, ...)
        flat = groups.reshape(n_sectors * n_origins, *values.shape[:lead])
        return np.repeat(flat, self.per_group, axis=0).transpose(*range(1, lead + 1), 0)

    def by_sector(self, values: NDArray[Any]) -> NDArray[Any]:
        """`values[..., sector]` of every firm, (..., n_firms), laid out as
        `by_origin_sector` says."""
        repeats = len(self) // values.shape[-1]
        if values.ndim == 1:
            return np.repeat(values, repeats)
        lead = values.ndim - 1
        by_sector = values.transpose(lead, *range(lead))
        return np.repeat(by_sector, repeats, axis=0).transpose(*range(1, lead + 1), 0)


@dataclass
class Buyers:
    """Buyers of the agent economies, each in at most one supplier relationship."""

    destination: NDArray[np.int16]
    sector: NDArray[np.int16]
    budget: NDArray[np.int64]  # USD a month at month-0 demand; integer so running sums are exact
    option: NDArray[np.int32]  # supplier: a firm index, n_firms + external option, or -1
    origin: NDArray[np.int16]  # region of the supplier (valid when option >= 0)
    currency: NDArray[np.int8]
    end_month: NDArray[np.int32]  # month in which the relationship is renewed
    cutoff_rank: NDArray[np.float32]
    per_group: tuple[int, ...]  # buyers per (destination, sector) group, by sector

    def __post_init__(self) -> None:
        n = _check_equal_lengths(self)
        if n and (self.budget < 0).any():
            raise ValueError("budgets must be non-negative")

    def __len__(self) -> int:
        return len(self.destination)


def make_firms(world: World, n_per_group: int, rng: np.random.Generator) -> Firms:
    """Draw firm productivities (log-normal, mean-one cost index) for every sector and origin."""
    A, S = world.n_agent, world.n_sectors
    n = A * S * n_per_group
    sigma = world.params.productivity_dispersion
    productivity = rng.lognormal(-0.5 * sigma**2, sigma, n)
    return Firms(
        origin=np.tile(np.repeat(np.arange(A, dtype=np.int16), n_per_group), S),
        sector=np.repeat(np.arange(S, dtype=np.int16), A * n_per_group),
        unit_cost=1.0 / productivity,
        base_capacity=np.full(n, np.inf),
        price_adjustment=np.ones(n),
        cutoff_rank=rng.random(n, dtype=np.float32),
        per_group=n_per_group,
    )


def make_buyers(world: World, n_per_group: int | Sequence[int], rng: np.random.Generator) -> Buyers:
    """Draw buyer budgets (log-normal) that add up to each group's base absorption.

    `n_per_group` is the buyers of each (destination, sector) group: one count, or one per
    sector (the same in every destination). The draws are one stream in buyer order, so a
    per-sector count equal in every sector draws exactly what the single count draws.
    """
    A, S = world.n_agent, world.n_sectors
    counts = np.broadcast_to(np.asarray(n_per_group, dtype=np.int64), (S,))
    sizes = np.tile(counts, A)  # buyers of each (destination, sector) group, in buyer order
    n = int(sizes.sum())
    sigma = world.params.budget_dispersion
    total = world.absorption_usd[:A].reshape(A * S)
    if (counts == counts[0]).all():
        per = int(counts[0])
        weight = rng.lognormal(0.0, sigma, (A * S, per))
        weight /= weight.sum(axis=1, keepdims=True)
        budget = np.rint(weight * total[:, None]).astype(np.int64).ravel()
    else:
        flat = rng.lognormal(0.0, sigma, n)
        group = np.repeat(np.arange(A * S), sizes)
        budget = np.rint(flat / np.bincount(group, flat)[group] * total[group]).astype(np.int64)
    return Buyers(
        destination=np.repeat(np.arange(A, dtype=np.int16), sizes.reshape(A, S).sum(axis=1)),
        sector=np.repeat(np.tile(np.arange(S, dtype=np.int16), A), sizes),
        budget=budget,
        option=np.full(n, NO_SUPPLIER, dtype=np.int32),
        origin=np.zeros(n, dtype=np.int16),
        currency=np.zeros(n, dtype=np.int8),
        end_month=np.full(n, -world.burn_in, dtype=np.int32),
        cutoff_rank=rng.random(n, dtype=np.float32),
        per_group=tuple(int(c) for c in counts),
    )
