"""Sums over short trailing axes, bit for bit numpy's, without numpy's per-row reduction loop.

The month sums (firms x destinations x currencies) arrays over their last axis, a handful
of terms each (currencies, external regions). numpy runs its reduction loop once per row
there, which made these sums about a tenth of a baseline run (issue 16). numpy adds a
contiguous run of fewer than 8 terms left to right, starting from 0.0 (pairwise summation
begins at 8 terms: numpy/_core/src/umath/loops_utils.h.src, `pairwise_sum`); `sum_last`
adds the same terms in the same order with one vectorized add per term, into one array the
size of the result (no more memory than numpy's). Same order, same rounding: results stay
bit-identical (tests/test_sums.py checks this against numpy for many shapes). Longer runs,
other layouts and other types are left to numpy.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray

__all__ = ["sum_last"]

F64 = NDArray[np.float64]

_PAIRWISE_FROM = 8  # numpy sums runs of this many terms or more pairwise


def sum_last(values: F64, axes: int = 1) -> F64:
    """`values.sum` over its last `axes` axes, bit for bit (module docstring)."""
    lead = values.shape[: values.ndim - axes]
    n_terms = int(np.prod(values.shape[values.ndim - axes :]))
    if (
        values.dtype != np.float64
        or not values.flags.c_contiguous
        or values.size == 0
        or n_terms >= _PAIRWISE_FROM
    ):
        return values.sum(axis=tuple(range(values.ndim - axes, values.ndim)))
    terms = values.reshape(-1, n_terms)
    out = terms[:, 0] + 0.0  # numpy's sum starts from 0.0 (so -0.0 sums to 0.0)
    for i in range(1, n_terms):
        out += terms[:, i]
    return out.reshape(lead)
