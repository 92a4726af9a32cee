"""The ledger's sanction-only arrays (issue 16's month-0 peak): allocated on first write,
yet every run writes the same variables, with zeros where nothing happened."""

import numpy as np
import pytest
import xarray as xr

from tradesim import simulate
from tradesim.io.results import write_outputs
from tradesim.model import engine
from tradesim.model.state import LAZY_FIELDS, Ledger
from tradesim.model.world import build_world

from .factories import small
from .test_engine import SANCTION


def _ledger_tables(raw: engine.RawRun) -> dict[str, np.ndarray]:
    return {**raw.flows, **raw.stocks}


def test_a_run_without_sanctions_allocates_no_sanction_arrays_yet_writes_them(tmp_path):
    scenario = small()
    raw = engine.run_engine(scenario, 3, check=True)
    tables = _ledger_tables(raw)
    for name in LAZY_FIELDS:
        arr = tables[name]
        assert arr.strides == (0,) * arr.ndim, name  # no memory behind it
        assert not arr.flags.writeable, name
    for name in set(tables) - set(LAZY_FIELDS):
        assert tables[name].flags.owndata and tables[name].flags.writeable, name

    result = simulate(scenario, seed=3)
    written = write_outputs(result, tmp_path / "run", formats=["netcdf", "csv"])
    assert (tmp_path / "run" / "result.nc") in written
    with xr.open_dataset(tmp_path / "run" / "result.nc", engine="scipy") as back:
        for name in LAZY_FIELDS:
            var = back[f"{name}_usd"]
            assert var.dims == ("month", "origin", "destination", "sector", "currency")
            assert var.shape == back["shipped_usd"].shape
            assert float(np.abs(var).sum()) == 0.0
        assert set(back.data_vars) == set(result.data.data_vars)
    header = (tmp_path / "run" / "flows.csv").read_text().splitlines()[0]
    for column in ("frozen_usd", "financing_cost_usd", "switching_cost_usd"):
        assert column in header


def test_a_sanction_allocates_the_arrays_it_writes():
    scenario = small(shocks=[SANCTION])
    raw = engine.run_engine(scenario, 3, check=True)
    tables = _ledger_tables(raw)
    for name in ("frozen", "frozen_stock"):
        assert tables[name].flags.writeable and tables[name].flags.owndata, name
        assert tables[name].sum() > 0, name
    # frozen_stock is the running sum of frozen, row for row, including the zero rows
    # before the first freeze (written before the array existed)
    np.testing.assert_array_equal(
        tables["frozen_stock"].sum(axis=(1, 2, 3, 4)) > 0,
        np.cumsum(tables["frozen"].sum(axis=(1, 2, 3, 4))) > 0,
    )


def test_a_stray_write_to_an_unallocated_array_fails_loudly():
    ledger = Ledger.for_world(build_world(small()))
    with pytest.raises(ValueError, match="read-only"):
        ledger.flows["frozen"][0] += 1.0
    ledger.writable("frozen")[0] += 1.0
    assert ledger.flows["frozen"][0].sum() == pytest.approx(1.0 * ledger.flows["frozen"][0].size)
    assert ledger.flows["frozen"][1:].sum() == 0.0
    assert not ledger.stocks["frozen_stock"].flags.writeable
