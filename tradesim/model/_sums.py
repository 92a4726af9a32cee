"""Sums over short trailing axes, bit for bit numpy's, without numpy's per-row reduction loop.

The month sums many (firms x destinations x currencies) arrays over their last one or two
axes, a handful of terms each. numpy runs its reduction loop once per row there, which made
these sums about a tenth of a baseline run (issue 16). `sum_last` adds the same terms in
numpy's order with one vectorized add per term: numpy adds a contiguous run of n terms by
pairwise summation (numpy/_core/src/umath/loops_utils.h.src, `pairwise_sum`): left to
right from 0.0 below 8 terms; up to 128, eight interleaved partial sums combined as
((r0 + r1) + (r2 + r3)) + ((r4 + r5) + (r6 + r7)), then the remainder left to right; above,
the two halves (the first a multiple of 8) summed so and added. Same order, same rounding:
results stay bit-identical (tests/test_sums.py checks this against numpy for many shapes).
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["sum_last"]

F64 = NDArray[np.float64]


def sum_last(values: F64, axes: int = 1) -> F64:
    """`values.sum` over its last `axes` axes, bit for bit (module docstring).

    Arrays that are not C-contiguous float64 (numpy then iterates them in another order)
    and empty ones are left to numpy."""
    lead = values.shape[: values.ndim - axes]
    if values.dtype != np.float64 or not values.flags.c_contiguous or values.size == 0:
        return values.sum(axis=tuple(range(values.ndim - axes, values.ndim)))
    columns = values.reshape(int(np.prod(lead)), -1)
    return _pairwise(columns, 0, columns.shape[1]).reshape(lead)


def _pairwise(columns: F64, lo: int, n: int) -> F64:
    """numpy's pairwise sum of columns lo .. lo + n - 1 of a 2-d array, for every row."""
    if n < 8:
        out = columns[:, lo] + 0.0  # numpy's sum starts from 0.0 (so -0.0 sums to 0.0)
        for i in range(lo + 1, lo + n):
            out += columns[:, i]
        return out
    if n <= 128:
        partial = [columns[:, lo + j].copy() for j in range(8)]
        stop = lo + n - n % 8
        for i in range(lo + 8, stop, 8):
            for j in range(8):
                partial[j] += columns[:, i + j]
        r = partial
        out = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
        for i in range(stop, lo + n):
            out += columns[:, i]
        return out
    half = n // 2
    half -= half % 8
    return _pairwise(columns, lo, half) + _pairwise(columns, lo + half, n - half)
