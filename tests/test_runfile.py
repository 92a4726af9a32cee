"""The run file written without xarray reads back as xarray's own file of the same run."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import xarray as xr
from scipy.io import netcdf_file

from tests.factories import small
from tradesim import load_scenario
from tradesim.io.metadata import global_attrs
from tradesim.io.results import labelled_dataset
from tradesim.io.runfile import LabelledRun, label_run, write_run_file
from tradesim.model.engine import run_engine

BASELINE = Path(__file__).resolve().parent.parent / "scenarios" / "baseline.yaml"


def _raw_contents(path: Path) -> tuple[dict[str, Any], dict[str, tuple[Any, ...]]]:
    """Global attributes and, per variable: dimensions, type code, attributes, values."""
    f = netcdf_file(path, "r", mmap=False)
    try:
        variables = {
            name: (v.dimensions, v.typecode(), dict(v._attributes), v.data.copy())
            for name, v in f.variables.items()
        }
        return dict(f._attributes), variables
    finally:
        f.close()


@pytest.fixture(scope="module", params=["small", "baseline"])
def labelled(request: pytest.FixtureRequest) -> LabelledRun:
    """A short run of a scenario without commodities (small) and one with them."""
    if request.param == "small":  # named in three scripts: attributes are UTF-8 text
        scenario = small(name="Россия–中国 é")
    else:  # commodities (quantities, units), five external regions, shocks
        scenario = load_scenario(BASELINE)
    raw = run_engine(scenario, np.random.SeedSequence(7))
    return label_run(raw, global_attrs(scenario.name, scenario.seed, run=3, flag=True))


def test_direct_file_equals_xarrays_file(labelled: LabelledRun, tmp_path: Path) -> None:
    ours, theirs = tmp_path / "ours.nc", tmp_path / "xarray.nc"
    write_run_file(ours, labelled)
    labelled_dataset(labelled).to_netcdf(theirs, engine="scipy")

    attrs, variables = _raw_contents(ours)
    their_attrs, their_variables = _raw_contents(theirs)
    assert attrs == their_attrs
    assert variables.keys() == their_variables.keys()
    for name, (dims, code, var_attrs, values) in their_variables.items():
        o_dims, o_code, o_attrs, o_values = variables[name]
        assert (o_dims, o_code) == (dims, code), name
        assert o_attrs.keys() == var_attrs.keys(), name
        for key, value in var_attrs.items():
            np.testing.assert_equal(o_attrs[key], value, err_msg=f"{name}.{key}")
        np.testing.assert_array_equal(o_values, values, err_msg=name)

    with xr.open_dataset(ours) as a, xr.open_dataset(theirs) as b:
        xr.testing.assert_identical(a.load(), b.load())
        xr.testing.assert_identical(a.load(), labelled_dataset(labelled).astype(a.dtypes))


def test_attributes_are_encoded_as_xarray_encodes_them(
    labelled: LabelledRun, tmp_path: Path
) -> None:
    odd = labelled.with_attrs(
        tenth=0.1, huge=1e300, levels=[0.05, 0.95], counts=np.array([1, 2]), none_yet=[]
    )
    ours, theirs = tmp_path / "ours.nc", tmp_path / "xarray.nc"
    write_run_file(ours, odd)
    labelled_dataset(odd).to_netcdf(theirs, engine="scipy")
    attrs, their_attrs = _raw_contents(ours)[0], _raw_contents(theirs)[0]
    for key in ("tenth", "huge", "levels", "counts", "none_yet"):
        np.testing.assert_array_equal(attrs[key], their_attrs[key], err_msg=key)
        assert np.asarray(attrs[key]).dtype == np.asarray(their_attrs[key]).dtype, key
    assert attrs["huge"] == 1e300  # float64, not float32 (which would hold inf)


def test_values_netcdf3_cannot_hold_are_refused_and_nothing_is_written(
    labelled: LabelledRun, tmp_path: Path
) -> None:
    big = dict(labelled.data_vars)
    dims, counts = big["relationships"]
    big["relationships"] = (dims, counts + 2**31)
    path = tmp_path / "big.nc"
    with pytest.raises(ValueError, match="relationships: values do not fit a 32-bit integer"):
        write_run_file(path, LabelledRun(labelled.coords, big, labelled.attrs))
    assert not path.exists()  # not a readable file with a variable missing
    with pytest.raises(ValueError, match="attribute seed: values do not fit a 32-bit integer"):
        write_run_file(tmp_path / "seed.nc", labelled.with_attrs(seed=2**40))
    for bad in (None, ["a", "b"], 1 + 2j):
        with pytest.raises(ValueError, match=r"attribute note: .* has no NetCDF-3 type"):
            write_run_file(tmp_path / "note.nc", labelled.with_attrs(note=bad))
    assert not (tmp_path / "seed.nc").exists() and not (tmp_path / "note.nc").exists()
