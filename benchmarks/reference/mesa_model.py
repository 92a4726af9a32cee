"""The goods market of tradesim written per agent in Mesa 3: a readable specification and
the yardstick of the engine's speed (benchmarks/bench_engine.py --mesa).

Buyers and firms are `mesa.Agent`s; each month the model

1. sets the policy in force (shocks' intensities, `tradesim.model.policy`) and the month's
   aggregate quantities every agent sees: supplier prices, logit weights of the supplier
   options, currency-choice weights, spending factors (the engine's own functions: they
   are per (region, sector), not per agent);
2. if a policy moved: every buyer checks whether its relationship became impossible
   (`per_agent.switch_or_break`);
3. every buyer whose relationship ends chooses a supplier, a currency and a duration
   (`per_agent.renew`), in random order (`shuffle_do`: order does not matter, each
   buyer's draws are its own);
4. every buyer orders its budget times the month's spending factor from its supplier;
5. every firm adds the orders of the aggregate (external) destinations, rations them to its
   capacity and moves its price with capacity use;
6. route flows are summed from the firms' shipments and the buyers' orders from external
   suppliers, and next month's currency shares of each route and market are taken from them.

The agents are drawn as the engine draws them (same seed, same generators), and the choices
use the same counter-based uniforms, so the shipped flows equal the engine's up to the order
of floating-point sums (tests/test_reference.py compares them). Payments, lags and
settlement of shipments (the engine's ledger) are not modelled here: they are aggregate.

Needs the optional `bench` extra: pip install -e ".[bench]".
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

import mesa
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))

import per_agent as pa

from tradesim.model import kernels
from tradesim.model._random import Streams
from tradesim.model.agents import make_buyers, make_firms
from tradesim.model.market import adjust_prices, choice_weights, supplier_prices
from tradesim.model.policy import (
    canonical_order,
    compile_policy,
    shock_change_months,
    shock_intensity,
)
from tradesim.model.routes import limit_route_weights, route_ratio, route_values
from tradesim.model.settlement import aggregate_currency_shares, currency_weights
from tradesim.model.state import MarketState
from tradesim.model.supply import apply_price_caps, discount_target, update_discount
from tradesim.model.world import build_world
from tradesim.scenario import Scenario


class BuyerAgent(mesa.Agent):
    """A buyer of one destination and sector, with one supplier at a time."""

    def __init__(self, model: TradeModel, buyer: pa.Buyer):
        super().__init__(model)
        self.b = buyer

    def check_policy(self) -> None:
        pa.switch_or_break(self.b, self.model.market, self.model.books)

    def renew(self) -> None:
        if self.b.end_month == self.model.market.month:
            pa.renew(self.b, self.model.market, self.model.books)

    def order(self) -> None:
        """Order this month's spending from the supplier (customs value, USD)."""
        b, m = self.b, self.model
        if b.option < 0:
            return
        value = b.budget * m.spend[b.destination, b.origin, b.sector]
        if b.option < m.n_firms:
            firm = m.firm_agents[b.option]
            firm.orders[b.destination, b.currency] += value
        else:
            m.flows[b.origin, b.destination, b.sector, b.currency] += value


class FirmAgent(mesa.Agent):
    """A firm of one origin and sector; sells to buyers and to external regions."""

    def __init__(self, model: TradeModel, index: int):
        super().__init__(model)
        self.j = index
        self.orders = np.zeros((model.world.n_agent, model.world.n_currencies))

    def plan(self) -> None:
        """Orders of the external regions: their absorption x spending factor x logit share."""
        m, w, j = self.model, self.model.world, self.j
        f = m.state.firms
        o, s = int(f.origin[j]), int(f.sector[j])
        A, R = w.n_agent, w.n_regions
        self.external = np.zeros(R - A)
        for e in range(A, R):
            total = m.totals[e, s]
            if total > 0:
                self.external[e - A] = (
                    w.absorption_usd[e, s] * m.spend[e, o, s] * (m.firm_w[e, j] / total)
                )

    def ship(self) -> None:
        """Ration the orders to capacity, move the price with capacity use, and ship."""
        m, w, j = self.model, self.model.world, self.j
        f = m.state.firms
        o, s = int(f.origin[j]), int(f.sector[j])
        A = w.n_agent
        external = self.external
        price = m.firm_price[j]
        units = (self.orders.sum() + external.sum()) / price
        capacity = f.base_capacity[j] * w.demand[m.row, o] * m.policy.capacity[o, s]
        ratio = capacity / units if units > capacity else 1.0
        if w.params.capacity_headroom is not None and w.params.price_adjustment > 0:
            use = units * ratio / capacity if capacity > 0 else 0.0
            f.price_adjustment[j] = adjust_prices(
                np.array([f.price_adjustment[j]]),
                np.array([use]),
                1.0 / w.params.capacity_headroom,
                w.params.price_adjustment,
                1.0 / w.params.markup,
            )[0]
        m.flows[o, :A, s, :] += self.orders * ratio
        m.flows[o, A:, s, :] += (external * ratio)[:, None] * m.agg_share[o, A:, s, :]
        self.orders[:] = 0.0


class TradeModel(mesa.Model):
    """The agent economies' goods market, month by month."""

    def __init__(self, scenario: Scenario, seed: int):
        super().__init__(seed=seed)
        self.world = w = build_world(scenario)
        streams = Streams(seed)
        firms = make_firms(w, scenario.population.firms_per_sector, streams.generator("firms"))
        buyers = make_buyers(w, scenario.population.buyers(w.sectors), streams.generator("buyers"))
        self.keys = {name: streams.key(name) for name in kernels.RANDOM_STREAMS}
        # Aggregate state (taste weights, base prices, capacities, currency shares) is set
        # as the engine sets it; the agents' own state lives in the agents.
        self.state = MarketState.empty_books(w, firms, buyers)
        kernels.init_market(w, self.state, compile_policy(w, [], [], 0))
        self.shocks = canonical_order(scenario.shocks)
        self.intensity = np.zeros(len(self.shocks))
        self.changes = [set(shock_change_months(s, w)) for s in self.shocks]
        self.books = pa.Books()
        self.n_firms = len(firms)
        self.firm_agents = [FirmAgent(self, j) for j in range(len(firms))]
        self.firm_records = [
            pa.Firm(j, int(firms.origin[j]), int(firms.sector[j]), float(firms.cutoff_rank[j]))
            for j in range(len(firms))
        ]
        for i in range(len(buyers)):
            BuyerAgent(
                self,
                pa.Buyer(
                    id=i,
                    destination=int(buyers.destination[i]),
                    sector=int(buyers.sector[i]),
                    budget=int(buyers.budget[i]),
                    cutoff_rank=float(buyers.cutoff_rank[i]),
                    end_month=int(buyers.end_month[i]),
                ),
            )
        self.month = -w.burn_in
        R, S, C = w.n_regions, w.n_sectors, w.n_currencies
        self.shipped = np.zeros((w.burn_in + w.n_months, R, R, S, C))

    def step(self) -> None:
        w, st, month = self.world, self.state, self.month
        self.row = row = month + w.burn_in
        # 1. The policy in force and the month's aggregate quantities.
        before = self.intensity.copy()
        for i, shock in enumerate(self.shocks):
            if month in self.changes[i]:
                self.intensity[i] = shock_intensity(shock, w, month)
        moved = not np.array_equal(before, self.intensity)
        policy = compile_policy(w, self.shocks, self.intensity, month)
        firm_price, external_price = supplier_prices(w, st.firms, row, policy)
        price_index = (
            kernels.origin_price_index(w, st.firms, firm_price, external_price)
            / st.base_price_index
        )
        unit_price = price_index * w.unit_price[None, :]  # (O, S) USD per unit
        self.policy = policy = apply_price_caps(w, policy, unit_price)
        firm_w, ext_w = choice_weights(w, st.firms, st.alpha, policy, firm_price, external_price)
        firm_w, ext_w = kernels.apply_settlement_prices(
            w, st.firms, kernels.settlement_prices(w, st, policy), firm_w, ext_w
        )
        self.spend = kernels.spend_factor(w, row, policy)
        cap = policy.route_capacity
        limits = cap is not None and bool(np.isfinite(cap).any())
        if limits:  # routes with a capacity: fewer buyers choose them (routes.py)
            cap_units = cap / 12.0
            firm_w, ext_w = limit_route_weights(
                w, st.firms, firm_w, ext_w, self.spend, cap_units * unit_price[:, None, :]
            )
        cur_w = currency_weights(w, policy, st.network_share, st.market_share)
        self.market = pa.market_of(
            w,
            policy,
            month=month,
            keys=self.keys,
            firm_w=firm_w,
            ext_w=ext_w,
            cur_w=cur_w,
            firms=self.firm_records,
            firms_per_group=st.firms.per_group,
        )
        buyers = self.agents_by_type[BuyerAgent]
        # 2-3. Relationships: forced switches, then renewals.
        if policy.blocks_relationships or moved:
            buyers.shuffle_do("check_policy")
        buyers.shuffle_do("renew")
        # 4-5. Orders and shipments.
        share = aggregate_currency_shares(w, policy, cur_w)
        settleable = share.sum(axis=3, keepdims=True)
        self.agg_share = np.divide(
            share, settleable, out=np.zeros_like(share), where=settleable > 0
        )
        self.firm_price, self.firm_w = firm_price, firm_w
        self.totals = kernels._sector_totals(w, firm_w, ext_w)
        firms = self.agents_by_type[FirmAgent]
        self.flows = np.zeros_like(self.shipped[0])
        buyers.do("order")
        firms.do("plan")
        if limits:
            # A route that cannot carry what was ordered: every order on it is scaled down.
            to_agents = np.stack([a.orders for a in self.firm_agents])
            to_external = np.stack([a.external for a in self.firm_agents])
            ordered = route_values(
                w,
                st.firms,
                to_agents,
                to_external,
                self._external_book(),
                self.spend,
                kernels._ext_value(w, ext_w, self.totals, self.spend),
            )
            with np.errstate(divide="ignore", invalid="ignore"):
                ratio = route_ratio(ordered / unit_price[:, None, :], cap_units)
            if (ratio < 1.0).any():
                self.spend = self.spend * ratio.transpose(1, 0, 2)
                self.flows[:] = 0.0
                for a in self.firm_agents:
                    a.orders[:] = 0.0
                buyers.do("order")
                firms.do("plan")
        firms.do("ship")
        if w.params.discount_speed > 0:
            # Exporters who lost markets to embargoes or a price cap cut prices toward cost.
            new = update_discount(st.discount, discount_target(w, policy), w.params.discount_speed)
            if not np.array_equal(new, st.discount):
                step = (new / st.discount)[st.firms.origin, st.firms.sector]
                st.firms.price_adjustment = np.clip(
                    st.firms.price_adjustment * step, 1.0 / w.params.markup, w.params.markup
                )
                st.discount = new
        # 6. External regions' trade among themselves, then next month's currency shares.
        A = w.n_agent
        if w.n_regions > A:
            ext_value = np.divide(
                ext_w,
                self.totals[:, None, :],
                out=np.zeros_like(ext_w),
                where=self.totals[:, None, :] > 0,
            )
            ext_value *= w.absorption_usd[:, None, :] * self.spend
            self.flows[A:, A:] = (
                ext_value[A:, A:].transpose(1, 0, 2)[..., None] * self.agg_share[A:, A:]
            )
        flows = self.flows
        route_value = flows.sum(axis=2)
        total = route_value.sum(axis=2, keepdims=True)
        st.network_share = np.where(
            total > 0, route_value / np.where(total > 0, total, 1.0), st.network_share
        )
        R = w.n_regions
        imports = np.where(np.eye(R, dtype=bool)[:, :, None, None], 0.0, flows).sum(axis=0)
        market_total = imports.sum(axis=2, keepdims=True)
        st.market_share = np.where(
            market_total > 0,
            imports / np.where(market_total > 0, market_total, 1.0),
            st.market_share,
        )
        self.shipped[row] = flows
        self.month += 1

    def _external_book(self) -> Any:
        """(S, R, A, C) budgets with external suppliers, summed from the books."""
        w = self.world
        out = np.zeros((w.n_sectors, w.n_regions, w.n_agent, w.n_currencies), dtype=np.int64)
        for key, value in self.books.external.items():
            out[key] = value
        return out


def run_mesa(scenario: Scenario, seed: int = 1) -> tuple[int, Any]:
    """Run `scenario` (burn-in included) in the Mesa model; returns (agents, shipped flows
    (T, O, D, S, C))."""
    model = TradeModel(scenario, seed)
    for _ in range(model.world.burn_in + model.world.n_months):
        model.step()
    return len(model.agents), model.shipped
