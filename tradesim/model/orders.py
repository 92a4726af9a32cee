"""Aggregate destinations' orders to each firm, compiled with numba.

An external region buys from agent firm j of origin o and sector s, each month,

    value_jd = absorption_ds x spend_dos x w_dj / W_ds    (0 where W_ds = 0),

its spending in the sector at this month's prices, times the logit share of the firm
(`kernels._firm_demand`; W_ds is the sum of the destination's choice weights over every
option of the sector). In numpy this took a dozen array operations per destination and
month, each a pass over the firms (issue 16); compiled, it is one pass. Every value is one
product and one quotient of the same numbers in the same order as the numpy code computed
them, so results are bit-identical (no sums are reordered, no multiply-adds fused: numba
compiles without fast-math). Compilation is cached on disk as in `choice`.
"""

# Compiled functions take numpy integer scalars where the annotations say int.
# mypy: disable-error-code="arg-type"

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

__all__ = ["firm_demand"]


@nb.njit(cache=True)
def firm_demand(
    firm_w: NDArray[np.float64],  # (D, n_firms) choice weights
    totals: NDArray[np.float64],  # (D, S) summed weights of each sector's options
    absorption: NDArray[np.float64],  # (D, S) base spending, USD a month
    spend: NDArray[np.float64],  # (D, O, S) customs value per USD of base budget
    destinations: NDArray[np.int64],
    origin: NDArray[np.int16],  # (n_firms,)
    sector: NDArray[np.int16],  # (n_firms,)
    out: NDArray[np.float64],  # (n_firms, len(destinations)), written
) -> None:
    """out[j, k] = absorption[d, s] * spend[d, o, s] * (firm_w[d, j] / totals[d, s]), d the
    k-th destination and o, s firm j's origin and sector; 0 share where totals[d, s] <= 0."""
    for k in range(destinations.size):
        d = destinations[k]
        for j in range(origin.size):
            o, s = origin[j], sector[j]
            total = totals[d, s]
            share = firm_w[d, j] / total if total > 0.0 else 0.0
            out[j, k] = (absorption[d, s] * spend[d, o, s]) * share
