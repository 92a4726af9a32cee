"""Random streams: one seed, named streams, and counter-based draws per agent and month.

Heterogeneity drawn once (productivity, budgets) comes from numpy Generators seeded by
named children of one SeedSequence. Draws made during a run (renewal choices) are
counter-based: a uniform is a hash of (stream key, month, agent id). A buyer therefore gets
the same random numbers in a month whatever other agents did, which gives common random
numbers between a baseline and a counterfactual even when a shock changes who renews.
"""

from __future__ import annotations

import zlib

import numpy as np
from numpy.typing import NDArray

__all__ = ["Streams"]

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_MONTH_STRIDE = 0xD1B54A32D192ED03


def _mix(x: NDArray[np.uint64]) -> NDArray[np.uint64]:
    """SplitMix64 finalizer (Steele, Lea and Flood 2014), in place on a uint64 array."""
    x ^= x >> np.uint64(30)
    x *= _M1
    x ^= x >> np.uint64(27)
    x *= _M2
    x ^= x >> np.uint64(31)
    return x


class Streams:
    """Named random streams derived from one SeedSequence."""

    def __init__(self, seed: int | np.random.SeedSequence):
        self.root = (
            seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        )

    def _child(self, name: str) -> np.random.SeedSequence:
        key = (*self.root.spawn_key, zlib.crc32(name.encode()))
        return np.random.SeedSequence(self.root.entropy, spawn_key=key)

    def generator(self, name: str) -> np.random.Generator:
        """A numpy Generator for stream `name`."""
        return np.random.Generator(np.random.PCG64(self._child(name)))

    def key(self, name: str) -> int:
        """A 64-bit key for counter-based draws of stream `name`."""
        return int(self._child(name).generate_state(1, np.uint64)[0])

    @staticmethod
    def uniforms(key: int, month: int, ids: NDArray[np.integer]) -> NDArray[np.float64]:
        """Uniforms in [0, 1), one per id, fixed by (key, month, id)."""
        offset = np.uint64((key + (month + (1 << 32)) * _MONTH_STRIDE) & _MASK)
        x = ids.astype(np.uint64) * _GOLDEN
        x += offset
        x = _mix(_mix(x))
        return (x >> np.uint64(11)).astype(np.float64) * (1.0 / (1 << 53))
