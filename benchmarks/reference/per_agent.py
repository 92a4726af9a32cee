"""The engine's monthly agent logic, one agent at a time, in plain Python.

This is the specification of what `tradesim.model.kernels` does for all buyers at once with
numpy: read it to see what one buyer does in a month. Aggregate quantities that are the same
for every buyer of a (destination, sector) group (the logit weights of supplier options, the
currency-choice weights, the policy in force) come from the engine's own functions; what
each agent decides, and the books those decisions keep, are computed here buyer by buyer,
with the same counter-based random numbers (`uniform` below re-implements
`tradesim.model._random.Streams.uniforms` for one id in pure Python integers).

`tests/test_reference.py` runs this loop beside the engine on tiny populations and checks
the buyers' choices and the books bit for bit, month by month. Tiny populations matter for
one reason: numpy adds 8 or more numbers in a pairwise order, so a plain running sum
reproduces numpy's sums exactly only for fewer than 8 terms (firms per origin and sector).

Agent order does not matter: a buyer's draws are a hash of (stream, month, buyer id), and
the books are exact integer sums, so any order (the Mesa reference shuffles) gives the same
state.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, field
from typing import Any

# ---------------------------------------------------------------- counter-based uniforms

_MASK = (1 << 64) - 1
_GOLDEN = 0x9E3779B97F4A7C15  # 2**64 / golden ratio, the SplitMix64 increment
_M1, _M2 = 0xBF58476D1CE4E5B9, 0x94D049BB133111EB
_MONTH_STRIDE = 0xD1B54A32D192ED03


def _mix(x: int) -> int:
    """SplitMix64 finalizer (Steele, Lea and Flood 2014) on a 64-bit integer."""
    x ^= x >> 30
    x = (x * _M1) & _MASK
    x ^= x >> 27
    x = (x * _M2) & _MASK
    return x ^ (x >> 31)


def uniform(key: int, month: int, agent_id: int) -> float:
    """The uniform in [0, 1) of stream `key` for `agent_id` in `month`."""
    offset = (key + (month + (1 << 32)) * _MONTH_STRIDE) & _MASK
    x = (agent_id * _GOLDEN + offset) & _MASK
    return (_mix(_mix(x)) >> 11) * (1.0 / (1 << 53))


def _log(x: float) -> float:
    # The C library's log and log1p, as the compiled engine (tradesim.model.choice) calls
    # them; numpy's own SIMD versions differ in the last bit for some arguments.
    return math.log(x)


def _log1p(x: float) -> float:
    return math.log1p(x)


# ---------------------------------------------------------------- agents and their books


@dataclass
class Buyer:
    """One buyer: fixed traits and its current relationship."""

    id: int
    destination: int
    sector: int
    budget: int  # USD a month at month-0 demand (integer: the books are exact sums)
    cutoff_rank: float  # cut off from currency c when below the cut-off share of c
    option: int = -1  # supplier: firm index, n_firms + sector * R + region, or -1 (none)
    origin: int = 0
    currency: int = 0
    end_month: int = 0  # the month the relationship ends and the buyer chooses again


@dataclass
class Firm:
    id: int
    origin: int
    sector: int
    cutoff_rank: float


@dataclass
class Books:
    """Running sums of active relationships' budgets, as `tradesim.model.state.MarketState`."""

    firm: dict[tuple[int, int, int], int] = field(default_factory=dict)  # (firm, d, c)
    external: dict[tuple[int, int, int, int], int] = field(default_factory=dict)  # (s, r, d, c)
    count: dict[tuple[int, int, int, int], int] = field(default_factory=dict)  # (o, d, s, c)

    def add(self, buyer: Buyer, n_firms: int, regions: int, sign: int) -> None:
        if buyer.option < 0:
            return
        d, c = buyer.destination, buyer.currency
        if buyer.option < n_firms:
            key = (buyer.option, d, c)
            self.firm[key] = self.firm.get(key, 0) + sign * buyer.budget
        else:
            s, r = divmod(buyer.option - n_firms, regions)
            ext = (s, r, d, c)
            self.external[ext] = self.external.get(ext, 0) + sign * buyer.budget
        rel = (buyer.origin, d, buyer.sector, c)
        self.count[rel] = self.count.get(rel, 0) + sign


@dataclass
class Market:
    """What every buyer sees in a month: the engine's aggregate weights and policy."""

    month: int
    keys: dict[str, int]  # stream name -> 64-bit key
    firm_w: Any  # (D, n_firms) logit weight of each firm for buyers in d
    ext_w: Any  # (D, R, S) logit weight of each external region's supply
    cur_w: Any  # (O, D, S, C) currency-choice weights
    cutoff: Any  # (R, C) share of each region's agents cut off from each currency
    embargo: Any  # (D, O, S)
    barred: Any  # (D, O, S) share of a route's buyers barred (partial embargo), or None
    firms: list[Firm]
    n_agent: int
    n_regions: int
    firms_per_group: int  # firms per (sector, origin)
    incumbency_bonus: float  # exp(cost sensitivity x switching cost)
    renewal_months: Any  # (S,) mean relationship length of each sector
    _totals: dict[tuple[int, int], list[float]] = field(default_factory=dict)
    _firms: dict[tuple[int, int, int], list[float]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.any_cutoff = bool((self.cutoff > 0).any())

    def firm_cumulative(self, d: int, s: int, o: int) -> list[float]:
        """Running sums of the logit weights of origin o's firms of sector s for buyers in d
        (as Python floats, computed once a month: the reference is a loop over agents, not
        over arrays); the last is W_o."""
        key = (d, s, o)
        if key not in self._firms:
            per = self.firms_per_group
            lo = (s * self.n_agent + o) * per  # firms are ordered by sector, origin, firm
            running, cumulative = 0.0, []
            for x in self.firm_w[d, lo : lo + per]:
                running += float(x)
                cumulative.append(running)
            self._firms[key] = cumulative
        return self._firms[key]

    def origin_totals(self, d: int, s: int) -> list[float]:
        """W_o: the summed logit weight of origin o's options for buyers of (d, s) (the
        same for every such buyer this month, so summed once)."""
        if (d, s) not in self._totals:
            self._totals[d, s] = [
                self.firm_cumulative(d, s, o)[-1]
                if o < self.n_agent
                else float(self.ext_w[d, o, s])
                for o in range(self.n_regions)
            ]
        return self._totals[d, s]


def market_of(
    world: Any,
    policy: Any,
    *,
    month: int,
    keys: dict[str, int],
    firm_w: Any,
    ext_w: Any,
    cur_w: Any,
    firms: list[Firm],
    firms_per_group: int,
) -> Market:
    """The month's Market from the engine's World and Policy and the month's weights."""
    choice = world.params.currency_choice
    return Market(
        month=month,
        keys=keys,
        firm_w=firm_w,
        ext_w=ext_w,
        cur_w=cur_w,
        cutoff=policy.cutoff,
        embargo=policy.embargo,
        barred=policy.barred,
        firms=firms,
        n_agent=world.n_agent,
        n_regions=world.n_regions,
        firms_per_group=firms_per_group,
        incumbency_bonus=math.exp(choice.cost_sensitivity * choice.switching_cost),
        renewal_months=world.renewal_months,
    )


# ---------------------------------------------------------------- one buyer's decisions


def blocked_currencies(buyer: Buyer, origin: int, option: int, m: Market) -> list[bool]:
    """Currencies the pair (buyer, supplier) is cut off from by financial sanctions."""
    C = m.cutoff.shape[1]
    if not m.any_cutoff:
        return [False] * C
    out = [buyer.cutoff_rank < m.cutoff[buyer.destination, c] for c in range(C)]
    if option < len(m.firms):
        firm = m.firms[option]
        out = [b or firm.cutoff_rank < m.cutoff[origin, c] for c, b in enumerate(out)]
    return out


def draw_currency(weights: list[float], blocked: list[bool], u: float) -> int:
    """Inverse CDF over the open currencies' weights; -1 when none is open."""
    cum, running = [], 0.0
    for w, b in zip(weights, blocked, strict=True):
        running += 0.0 if b else w
        cum.append(running)
    total = cum[-1]
    if not total > 0.0:
        return -1
    pick = sum(1 for x in cum if x <= u * total)
    return min(pick, len(weights) - 1)


def choose_supplier(buyer: Buyer, m: Market) -> int:
    """The supplier option: an exponential race between origins, then a firm of the winner.

    Origin o wins with probability W_o / sum W (W_o: the summed weight of o's options), the
    firm j of o with w_j / W_o: together one logit over all options (market.draw_options).
    """
    d, s, R, A = buyer.destination, buyer.sector, m.n_regions, m.n_agent
    per = m.firms_per_group
    totals = m.origin_totals(d, s)
    best, best_score = -1, math.inf
    for o in range(R):
        if totals[o] <= 0:
            continue
        if m.barred is not None and buyer.cutoff_rank < m.barred[d, o, s]:
            continue  # a partial embargo bars this buyer from the origin
        u = uniform(m.keys["origin"], m.month, buyer.id * R + o)
        score = -_log(u) / totals[o]
        if score < best_score:  # strict: the first of equal scores wins, as argmin
            best, best_score = o, score
    if best < 0:
        return -1
    if best >= A:
        return len(m.firms) + s * R + best
    target = uniform(m.keys["firm"], m.month, buyer.id) * totals[best]
    # Inverse CDF: the first firm whose running weight exceeds the target (a binary search,
    # as the engine's guide table and a Mesa modeller's bisect would do).
    j = bisect.bisect_right(m.firm_cumulative(d, s, best), target)
    return (s * A + best) * per + min(j, per - 1)


def renew(buyer: Buyer, m: Market, books: Books) -> None:
    """The buyer's relationship has ended: choose a supplier, a currency and a duration."""
    n_firms, R = len(m.firms), m.n_regions
    had, old_currency = buyer.option >= 0, buyer.currency
    books.add(buyer, n_firms, R, -1)
    option = choose_supplier(buyer, m)
    if option < 0:
        buyer.option, buyer.end_month = -1, m.month + 1  # nothing open: try next month
        return
    origin = m.firms[option].origin if option < n_firms else (option - n_firms) % R
    weights = [float(x) for x in m.cur_w[origin, buyer.destination, buyer.sector]]
    if had:  # keeping the current currency saves the switching cost
        weights[old_currency] *= m.incumbency_bonus
    blocked = blocked_currencies(buyer, origin, option, m)
    currency = draw_currency(weights, blocked, uniform(m.keys["currency"], m.month, buyer.id))
    if currency < 0:
        buyer.option, buyer.end_month = -1, m.month + 1
        return
    hazard = 1.0 / float(m.renewal_months[buyer.sector])  # ends each month with this chance
    if hazard >= 1.0:
        duration = 1
    else:
        u = uniform(m.keys["duration"], m.month, buyer.id)
        duration = 1 + math.floor(_log1p(-u) / math.log1p(-hazard))  # geometric
    buyer.option, buyer.origin, buyer.currency = option, origin, currency
    buyer.end_month = m.month + duration
    books.add(buyer, n_firms, R, +1)


def switch_or_break(buyer: Buyer, m: Market, books: Books) -> None:
    """A policy changed: an embargoed relationship ends; one whose currency closed keeps its
    supplier and draws a currency among those still open, or ends if none is."""
    if buyer.option < 0:
        return
    d, o, s, c = buyer.destination, buyer.origin, buyer.sector, buyer.currency
    barred = m.barred is not None and buyer.cutoff_rank < m.barred[d, o, s]
    if m.embargo[d, o, s] or barred:
        buyer.end_month = m.month
        return
    weights = [float(x) for x in m.cur_w[o, d, s]]
    blocked = blocked_currencies(buyer, o, buyer.option, m)
    if not (blocked[c] or weights[c] <= 0.0):
        return
    new = draw_currency(weights, blocked, uniform(m.keys["switch"], m.month, buyer.id))
    if new < 0:
        buyer.end_month = m.month
        return
    books.add(buyer, len(m.firms), m.n_regions, -1)
    buyer.currency = new
    books.add(buyer, len(m.firms), m.n_regions, +1)


def month(buyers: list[Buyer], m: Market, books: Books, *, policy_moved: bool) -> None:
    """The buyers' part of one month, in the engine's order: forced switches, renewals."""
    if policy_moved:
        for b in buyers:
            switch_or_break(b, m, books)
    for b in buyers:
        if b.end_month == m.month:
            renew(b, m, books)
