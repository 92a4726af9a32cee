"""The compiled choice loop (tradesim.model.choice): buyers taken in any order, or in
pieces, give bit-identical runs (each buyer's draws are its own and the books are exact
integer sums), which is what lets a run be split or parallelized without changing results."""

import numpy as np

from tradesim.model import choice
from tradesim.model.engine import run_engine

from .factories import assert_raw_equal, small
from .test_engine import SANCTION


def test_buyer_order_and_pieces_do_not_change_a_run(monkeypatch):
    scenario = small(shocks=[SANCTION])  # a cut-off forces currency switches mid-run
    whole = run_engine(scenario, 3)
    renew, switch = choice.renew_buyers, choice.switch_buyers
    calls = {"renew": 0, "switch": 0}

    def shuffled(real, name):
        def run(idx, *args):
            calls[name] += 1
            order = np.random.default_rng(len(idx)).permutation(idx)
            for piece in np.array_split(order, 3):
                real(np.ascontiguousarray(piece), *args)

        return run

    monkeypatch.setattr(choice, "renew_buyers", shuffled(renew, "renew"))
    monkeypatch.setattr(choice, "switch_buyers", shuffled(switch, "switch"))
    pieces = run_engine(scenario, 3)
    assert calls["renew"] > 10 and calls["switch"] > 0
    assert_raw_equal(pieces, whole)


def test_uniforms_are_the_streams_uniforms_for_any_shape():
    from tradesim.model._random import Streams

    ids = np.arange(12).reshape(3, 4)
    u = Streams.uniforms(99, 5, ids)
    assert u.shape == (3, 4)
    np.testing.assert_array_equal(
        u.ravel(), choice.uniforms(choice.month_offset(99, 5), ids.ravel())
    )


def test_buyers_taken_in_pieces_give_the_same_run(monkeypatch):
    """kernels takes renewing (and switching) buyers in pieces of `_CHUNK`; small pieces,
    not aligned with anything, give the run of one piece (the offsets of later pieces)."""
    from tradesim.model import kernels

    scenario = small(shocks=[SANCTION])
    whole = run_engine(scenario, 5)
    monkeypatch.setattr(kernels, "_CHUNK", 37)
    pieces = run_engine(scenario, 5)
    for name in whole.flows:
        np.testing.assert_array_equal(pieces.flows[name], whole.flows[name])
    np.testing.assert_array_equal(pieces.relationships, whole.relationships)
    np.testing.assert_array_equal(pieces.exports, whole.exports)


def test_skipping_the_switch_scan_when_nothing_blocks_changes_nothing(monkeypatch):
    """A policy change that blocks no relationship and closes no currency in use (a fee
    cut) skips the scan over active buyers (`kernels.switch_or_break`): the scan, run
    anyway, switches nobody, so the runs are bit-identical."""
    from tradesim.model import kernels

    fee_cut = {
        "type": "settlement_policy",
        "name": "cheaper BBC",
        "route": ["A", "B"],
        "currencies": ["BBC"],
        "fee_change": -0.002,
        "start": "2020-06",
    }
    scenario = small(shocks=[fee_cut, {**fee_cut, "name": "cheaper AAC", "start": "2021-02",
                                       "currencies": ["AAC"]}])  # fmt: skip
    skipped = run_engine(scenario, 4)
    scanned = []

    def scan_always(world, state, month, policy, cur_w, keys):
        for idx in kernels._buyer_chunks(state.buyers.option, lambda option: option >= 0):
            scanned.append(month)
            kernels._switch_chunk(idx, world, state, month, policy, cur_w, keys)

    monkeypatch.setattr(kernels, "switch_or_break", scan_always)
    full = run_engine(scenario, 4)
    assert scanned  # the policy changed, so the scan ran
    for name in full.flows:
        np.testing.assert_array_equal(skipped.flows[name], full.flows[name])
    np.testing.assert_array_equal(skipped.relationships, full.relationships)
