"""`sum_last` is numpy's sum bit for bit (tradesim/model/_sums.py): the engine's results
must not change by a rounding when it replaces `values.sum(axis=...)`."""

import numpy as np
import pytest

from tradesim.model._sums import sum_last

LENGTHS = [*range(1, 40), 64, 127, 128, 129, 130, 136, 200, 256, 300, 1000]


@pytest.mark.parametrize("rows", [1, 2, 7, 100, 2200])
def test_sum_last_is_numpys_sum_bit_for_bit(rows):
    rng = np.random.default_rng(rows)
    for n in LENGTHS:
        values = rng.random((rows, n)) * rng.choice([1e-8, 1e-3, 1.0, 1e3, 1e9], (rows, n))
        values[rng.random((rows, n)) < 0.05] = 0.0
        np.testing.assert_array_equal(sum_last(values), values.sum(axis=1), strict=True)
        split = values.reshape(rows, 1, n)
        np.testing.assert_array_equal(sum_last(split, 2), split.sum(axis=(1, 2)), strict=True)


@pytest.mark.parametrize(
    ("shape", "axes"),
    [((2200, 2, 4), 1), ((2200, 2, 4), 2), ((2200, 5), 1), ((7, 7, 11, 4), 1), ((3, 4, 4), 2)],
)
def test_sum_last_on_the_engines_shapes(shape, axes):
    values = np.random.default_rng(0).random(shape)
    want = values.sum(axis=tuple(range(len(shape) - axes, len(shape))))
    np.testing.assert_array_equal(sum_last(values, axes), want, strict=True)


def test_sum_last_leaves_other_layouts_and_types_to_numpy():
    values = np.random.default_rng(1).random((30, 9))
    for other in (values.T, values[:, ::2], values.astype(np.float32), np.zeros((0, 4))):
        np.testing.assert_array_equal(sum_last(other), other.sum(axis=1), strict=True)
    assert not np.signbit(sum_last(np.array([[-0.0, -0.0]]))).any()  # as numpy: 0.0
    assert not np.signbit(np.array([[-0.0, -0.0]]).sum(axis=1)).any()
