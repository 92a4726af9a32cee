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
        """Uniforms in [0, 1), one per id, fixed by (key, month, id).

        The hash is `tradesim.model.choice`'s (compiled; the engine draws there per buyer)."""
        from tradesim.model import choice

        ids64 = np.ascontiguousarray(ids, dtype=np.int64).ravel()
        return choice.uniforms(choice.month_offset(key, month), ids64).reshape(np.shape(ids))
