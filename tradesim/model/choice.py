"""Buyers' choices, one buyer at a time, compiled with numba: the model's hot path.

A month's renewals are a loop over the buyers whose relationship ends: each draws its
counter-based uniforms, races the origins, picks a firm by inverse CDF, draws a settlement
currency and a duration, and moves its budget on the books. In numpy this took about 40
array operations per (destination, sector) group and month, each allocating a temporary
the size of the renewing buyers (issue 16: `searchsorted`, `_book`, the uniforms and the
currency cumsum were half of a run at 1M agents). Compiled, a buyer costs a few hundred
nanoseconds and no temporaries. The arithmetic is that of the per-agent specification
(benchmarks/reference/per_agent.py; tests/test_reference.py checks it bit for bit):
sums run left to right and `log`/`log1p` are the C library's, so results do not depend on
the order in which buyers are taken, on chunking, or on numpy's SIMD paths.

Compilation is cached on disk (`cache=True`, in `__pycache__` or numba's user cache): the
first run after installation compiles (a few seconds, printed by
benchmarks/bench_engine.py), later processes load the cache.

Equations: the origin race and the firm draw are `market.draw_options`' (one logit over all
options, Anderson, de Palma and Thisse 1992); the currency draw is `draw_currencies` in
`settlement`; durations are geometric with the renewal hazard.
"""

# Compiled functions take numpy integer scalars where the annotations say int (numba types
# them alike); mypy would flag every call.
# mypy: disable-error-code="arg-type,return-value"

from __future__ import annotations

import numba as nb
import numpy as np
from numpy.typing import NDArray

__all__ = [
    "draw_currency_rows",
    "draw_option_rows",
    "guide_tables",
    "month_offset",
    "renew_buyers",
    "switch_buyers",
    "uniforms",
]

_MASK = (1 << 64) - 1
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)
_S30, _S27, _S31, _S11 = np.uint64(30), np.uint64(27), np.uint64(31), np.uint64(11)
_MONTH_STRIDE = 0xD1B54A32D192ED03
_TO_UNIT = 1.0 / (1 << 53)


def month_offset(key: int, month: int) -> np.uint64:
    """The per-(stream, month) offset of the counter-based uniforms."""
    return np.uint64((key + (month + (1 << 32)) * _MONTH_STRIDE) & _MASK)


@nb.njit(cache=True, inline="always")
def _mix(x: np.uint64) -> np.uint64:
    """SplitMix64 finalizer (Steele, Lea and Flood 2014)."""
    x ^= x >> _S30
    x *= _M1
    x ^= x >> _S27
    x *= _M2
    x ^= x >> _S31
    return x


@nb.njit(cache=True, inline="always")
def _uniform(offset: np.uint64, agent_id: np.int64) -> float:
    x = np.uint64(agent_id) * _GOLDEN + offset
    return float(_mix(_mix(x)) >> _S11) * _TO_UNIT


@nb.njit(cache=True)
def uniforms(offset: np.uint64, ids: NDArray[np.int64]) -> NDArray[np.float64]:
    """Uniforms in [0, 1), one per id, fixed by (stream key, month) -> offset and id."""
    out = np.empty(ids.size)
    for i in range(ids.size):
        out[i] = _uniform(offset, ids[i])
    return out


@nb.njit(cache=True, inline="always")
def _draw_currency(weights: NDArray[np.float64], blocked: NDArray[np.bool_], u: float) -> int:
    """Inverse CDF over the open currencies' weights (left-to-right sums); -1 if none open."""
    C = weights.size
    total = 0.0
    for c in range(C):
        if not blocked[c]:
            total += weights[c]
    if not total > 0.0:
        return -1
    target = u * total
    running, pick = 0.0, 0
    for c in range(C):
        if not blocked[c]:
            running += weights[c]
        if running <= target:
            pick = c + 1
    return min(pick, C - 1)


@nb.njit(cache=True)
def draw_currency_rows(
    weights: NDArray[np.float64], blocked: NDArray[np.bool_], u: NDArray[np.float64]
) -> NDArray[np.int8]:
    """`_draw_currency` for each row of (n, C) weights and blocks."""
    out = np.empty(weights.shape[0], dtype=np.int8)
    for i in range(weights.shape[0]):
        out[i] = _draw_currency(weights[i], blocked[i], u[i])
    return out


@nb.njit(cache=True, inline="always")
def _blocked(
    out: NDArray[np.bool_],
    rank: float,
    dest: int,
    firm_rank: float,
    origin: int,
    is_firm: bool,
    cutoff: NDArray[np.float64],
) -> None:
    """Currencies a (buyer, supplier) pair is cut off from (`kernels.blocked_currencies`)."""
    for c in range(out.size):
        out[c] = rank < cutoff[dest, c] or (is_firm and firm_rank < cutoff[origin, c])


@nb.njit(cache=True, inline="always")
def _book(
    sign: int,
    option: int,
    dest: int,
    sector: int,
    origin: int,
    currency: int,
    budget: np.int64,
    n_firms: int,
    firm_book: NDArray[np.int64],
    external_book: NDArray[np.int64],
    rel_count: NDArray[np.int64],
) -> None:
    """Add (+1) or remove (-1) one active relationship from the books."""
    R = rel_count.shape[0]
    if option < n_firms:
        firm_book[option, dest, currency] += sign * budget
    else:
        ext = option - n_firms  # = sector * R + region
        external_book[ext // R, ext % R, dest, currency] += sign * budget
    rel_count[origin, dest, sector, currency] += sign


# A lower bound on a uniform's clock -log(u) without the log: -log(1 - x) >= x + x^2 / 2 for
# x = 1 - u in [0, 1] (its Taylor series has no negative term); x is exact for u a multiple
# of 2^-53. Shrunk by 2^-40 so that it stays below the C library's rounded log (error < 1 ulp)
# and, divided by a weight, below the rounded score: skipping an origin whose bound already
# loses is exact, not approximate.
_BOUND_SHRINK = 1.0 - 2.0**-40


@nb.njit(cache=True, inline="always")
def _race(
    u: NDArray[np.float64], totals: NDArray[np.float64], barred: NDArray[np.float64], rank: float
) -> int:
    """The origin race: argmin over open origins o of -log(u[o]) / W_o, the first minimum.

    The heaviest open origin is scored first, so that the best score is small early;
    another origin's log is computed only when a cheap lower bound on its score
    (`_BOUND_SHRINK`) could beat the best score: about one or two logs a buyer instead of
    one per origin. Ties go to the lower origin index, as in a plain left-to-right argmin,
    so the winner is bit for bit the plain race's (benchmarks/reference/per_agent.py):
    same random numbers, same coupling of paired runs.
    """
    R = totals.size
    head, head_w = -1, 0.0
    for o in range(R):
        w = totals[o]
        if w > head_w and not rank < barred[o]:
            head, head_w = o, w
    if head < 0:
        return -1
    best, best_score = head, -np.log(u[head]) / head_w
    for o in range(R):
        w = totals[o]
        if o == head or not w > 0.0 or rank < barred[o]:
            continue
        x = 1.0 - u[o]  # exact
        if (x + 0.5 * x * x) * _BOUND_SHRINK / w > best_score:
            continue
        score = -np.log(u[o]) / w
        if score < best_score or (score == best_score and o < best):
            best, best_score = o, score
    return best


@nb.njit(cache=True)
def guide_tables(cum: NDArray[np.float64]) -> NDArray[np.int32]:
    """Guide tables for the inverse-CDF firm draw (Chen and Asau 1974), one row per group.

    For cumulative weights cum (G, per), guide[g, k] is the number of entries of cum[g]
    at most k / per of the group's total: where the search for a uniform u in [k / per,
    (k + 1) / per) starts. `_pick_option` then steps from there to the exact answer of a
    binary search (a step or two on average instead of log2(per) unpredictable branches),
    so a rounding in the table can cost a step, never a different firm.
    """
    G, per = cum.shape
    out = np.empty((G, per), dtype=np.int32)
    for g in range(G):
        total = cum[g, per - 1]
        j = 0
        for k in range(per):
            t = (k / per) * total
            while j < per and cum[g, j] <= t:
                j += 1
            out[g, k] = j
    return out


@nb.njit(cache=True, inline="always")
def _pick_option(
    u_origin: NDArray[np.float64],
    u_firm: float,
    s: np.int64,
    totals: NDArray[np.float64],
    cum: NDArray[np.float64],
    guide: NDArray[np.int32],
    n_firms: int,
    barred: NDArray[np.float64],
    rank: float,
) -> int:
    """A buyer's supplier option: firm index, n_firms + s * R + region, or -1 if none.

    The origin by an exponential race, argmin over o of -log(u_origin[o]) / W_o (the first
    minimum; P(o) = W_o / sum W, with W_o = totals[o]; `_race`), then a firm of the origin
    by inverse CDF over its firms' cumulative weights cum[o] (P(j | o) = w_j / W_o):
    together one logit over all options. A shock to one origin's weights changes only the
    choices of buyers who picked, or now pick, that origin. A partial embargo bars buyers
    one by one: an origin is not open to a buyer whose rank is below its barred share
    (barred, (R,)).
    """
    A, per = cum.shape
    R = totals.size
    best = _race(u_origin, totals, barred, rank)
    if best < 0:
        return -1
    if best >= A:
        return n_firms + s * R + best
    block = cum[best]
    target = u_firm * block[per - 1]
    # The number of entries <= target (searchsorted, side="right"), from the guide table's
    # start: the unique lo with block[lo - 1] <= target < block[lo] (block non-decreasing).
    lo = np.int64(guide[best, min(np.int64(u_firm * per), per - 1)])
    while lo > 0 and block[lo - 1] > target:
        lo -= 1
    while lo < per and block[lo] <= target:
        lo += 1
    return (s * A + best) * per + min(lo, per - 1)


@nb.njit(cache=True)
def draw_option_rows(
    u_origin: NDArray[np.float64],
    u_firm: NDArray[np.float64],
    s: int,
    totals: NDArray[np.float64],
    cum: NDArray[np.float64],
    guide: NDArray[np.int32],
    n_firms: int,
    barred: NDArray[np.float64],
    rank: NDArray[np.float32],
) -> NDArray[np.int32]:
    """`_pick_option` for buyers of one (destination, sector) group with given uniforms
    (n, R) and (n,), barred shares (R,) and ranks (n,)."""
    out = np.empty(u_firm.size, dtype=np.int32)
    for k in range(u_firm.size):
        out[k] = _pick_option(
            u_origin[k], u_firm[k], np.int64(s), totals, cum, guide, n_firms, barred, rank[k]
        )
    return out


@nb.njit(cache=True)
def renew_buyers(
    idx: NDArray[np.int64],
    offsets: NDArray[np.uint64],  # origin, firm, currency, duration streams this month
    month: int,
    dest: NDArray[np.int16],
    sector: NDArray[np.int16],
    budget: NDArray[np.int64],
    rank: NDArray[np.float32],
    option: NDArray[np.int32],
    origin: NDArray[np.int16],
    currency: NDArray[np.int8],
    end_month: NDArray[np.int32],
    firm_origin: NDArray[np.int16],
    firm_rank: NDArray[np.float32],
    barred: NDArray[np.float64],  # (D, S, O) share of buyers barred from each origin
    totals: NDArray[np.float64],  # (A, S, R) summed weight of each origin's options
    cum: NDArray[np.float64],  # (A, S, A, per) cumulative weights of each origin's firms
    guide: NDArray[np.int32],  # (A, S, A, per) their guide tables (`guide_tables`)
    cur_w: NDArray[np.float64],  # (O, D, S, C) currency-choice weights
    bonus: float,  # weight factor of the incumbent currency
    cutoff: NDArray[np.float64],  # (R, C)
    log_keep: NDArray[np.float64],  # (S,) log(1 - hazard); 0: relationships of one month
    firm_book: NDArray[np.int64],
    external_book: NDArray[np.int64],
    rel_count: NDArray[np.int64],
) -> None:
    """Buyers `idx` choose a supplier, a currency and a duration (`kernels.renew`)."""
    R = totals.shape[2]
    n_firms = firm_origin.size
    C = cur_w.shape[3]
    any_cutoff = (cutoff > 0.0).any()
    weights = np.empty(C)
    blocked = np.zeros(C, dtype=np.bool_)
    u_origin = np.empty(R)
    for i in idx:
        d, s = np.int64(dest[i]), np.int64(sector[i])
        had = option[i] >= 0
        old = np.int64(currency[i])
        if had:
            _book(-1, option[i], d, s, origin[i], old, budget[i], n_firms, firm_book,
                  external_book, rel_count)  # fmt: skip
        for o in range(R):  # closed origins do not race: their uniforms are not needed
            if totals[d, s, o] > 0.0:
                u_origin[o] = _uniform(offsets[0], i * R + o)
        u_firm = _uniform(offsets[1], i)
        opt = _pick_option(
            u_origin,
            u_firm,
            s,
            totals[d, s],
            cum[d, s],
            guide[d, s],
            n_firms,
            barred[d, s],
            rank[i],
        )
        if opt < 0:
            option[i], end_month[i] = -1, month + 1  # nothing open: choose again next month
            continue
        is_firm = opt < n_firms
        supplier_origin = np.int64(firm_origin[opt]) if is_firm else (opt - n_firms) % R
        # Settlement currency; keeping the current one saves the switching cost.
        for c in range(C):
            weights[c] = cur_w[supplier_origin, d, s, c]
        if had:
            weights[old] *= bonus
        if any_cutoff:
            f_rank = firm_rank[opt] if is_firm else 0.0
            _blocked(blocked, rank[i], d, f_rank, supplier_origin, is_firm, cutoff)
        c_new = _draw_currency(weights, blocked, _uniform(offsets[2], i))
        if c_new < 0:
            option[i], end_month[i] = -1, month + 1
            continue
        if log_keep[s] == 0.0:
            duration = 1
        else:  # geometric: the relationship ends each month with the renewal hazard
            duration = 1 + int(np.floor(np.log1p(-_uniform(offsets[3], i)) / log_keep[s]))
        option[i], origin[i], currency[i] = opt, supplier_origin, c_new
        end_month[i] = month + duration
        _book(1, opt, d, s, supplier_origin, c_new, budget[i], n_firms, firm_book,
              external_book, rel_count)  # fmt: skip


@nb.njit(cache=True)
def switch_buyers(
    idx: NDArray[np.int64],
    offset: np.uint64,  # the "switch" stream this month
    month: int,
    dest: NDArray[np.int16],
    sector: NDArray[np.int16],
    budget: NDArray[np.int64],
    rank: NDArray[np.float32],
    option: NDArray[np.int32],
    origin: NDArray[np.int16],
    currency: NDArray[np.int8],
    end_month: NDArray[np.int32],
    firm_rank: NDArray[np.float32],
    embargo: NDArray[np.bool_],  # (D, O, S)
    barred: NDArray[np.float64],  # (D, O, S) share of the route's buyers barred
    cur_w: NDArray[np.float64],
    cutoff: NDArray[np.float64],
    firm_book: NDArray[np.int64],
    external_book: NDArray[np.int64],
    rel_count: NDArray[np.int64],
    switched: NDArray[np.float64],  # (O, D, S, C) budgets that switched, by new currency
) -> None:
    """Active buyers `idx` whose relationship a policy made impossible: an embargo (or a
    partial one barring the buyer) ends it;
    a closed currency is switched to an open one, or the relationship ends
    (`kernels.switch_or_break`)."""
    n_firms = firm_rank.size
    C = cur_w.shape[3]
    any_cutoff = (cutoff > 0.0).any()
    weights = np.empty(C)
    blocked = np.zeros(C, dtype=np.bool_)
    for i in idx:
        d, s, o = np.int64(dest[i]), np.int64(sector[i]), np.int64(origin[i])
        c, opt = np.int64(currency[i]), np.int64(option[i])
        if embargo[d, o, s] or rank[i] < barred[d, o, s]:
            end_month[i] = month
            continue
        for k in range(C):
            weights[k] = cur_w[o, d, s, k]
        if any_cutoff:
            is_firm = opt < n_firms
            _blocked(blocked, rank[i], d, firm_rank[opt] if is_firm else 0.0, o, is_firm, cutoff)
        if not (blocked[c] or weights[c] <= 0.0):
            continue
        new = _draw_currency(weights, blocked, _uniform(offset, i))
        if new < 0:
            end_month[i] = month
            continue
        _book(-1, opt, d, s, o, c, budget[i], n_firms, firm_book, external_book, rel_count)
        currency[i] = new
        _book(1, opt, d, s, o, new, budget[i], n_firms, firm_book, external_book, rel_count)
        switched[o, d, s, new] += budget[i]
