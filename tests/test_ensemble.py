"""Ensembles: identical results on every executor and worker count, nothing lost when
interrupted, corrupt runs recomputed, correct summaries and paired comparisons."""

from __future__ import annotations

import dataclasses
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
import xarray as xr

from tradesim import TradesimError, scenario_from_dict
from tradesim.analysis.ensemble import compare, run_ensemble, summarize
from tradesim.analysis.runner import _blas_threads_in_worker, process_pool, run_seed

from .factories import small

DATA = Path(__file__).parent / "data"
BIN = Path(sys.executable).parent


def assert_same_runs(a, b, runs):
    for i in range(runs):
        xr.testing.assert_identical(a.run(i), b.run(i))


@pytest.fixture(scope="module")
def serial(tmp_path_factory):
    return run_ensemble(small(), runs=4, out=tmp_path_factory.mktemp("serial"), executor="serial")


@pytest.mark.parametrize("workers", [1, 2])
def test_processes_match_serial_for_any_worker_count(serial, tmp_path, workers):
    result = run_ensemble(small(), runs=4, out=tmp_path, executor="processes", workers=workers)
    assert result.computed == 4
    assert_same_runs(serial, result, 4)


def test_run_seeds_do_not_depend_on_the_ensemble_size(serial, tmp_path):
    fewer = run_ensemble(small(), runs=2, out=tmp_path, executor="serial")
    assert_same_runs(serial, fewer, 2)
    assert run_seed(small(), 3).spawn_key == (3,)
    assert not serial.run(0).shipped_usd.equals(serial.run(1).shipped_usd)


def test_workers_use_one_blas_thread():
    with process_pool(2) as pool:
        counts = [pool.submit(_blas_threads_in_worker).result() for _ in range(4)]
    assert all(c and set(c) == {1} for c in counts), counts


def test_no_more_worker_processes_than_tasks(tmp_path):
    """A pool starts all its processes at once: --workers 999999 for 2 runs started thousands
    of processes and filled the machine's memory (adversarial finding)."""
    from tradesim.analysis.runner import worker_count

    assert worker_count(999_999, 2) == 2 and worker_count(1, 8) == 1 and worker_count(3) == 3
    with process_pool(999_999, 2) as pool:
        assert pool._max_workers == 2
    result = run_ensemble(small(), runs=2, out=tmp_path, executor="processes", workers=999_999)
    assert result.computed == 2


def test_a_spawned_worker_computes_and_writes_a_run_without_xarray(serial, tmp_path):
    """What a worker needs (the runner) loads neither xarray nor pandas: a spawned process
    (macOS, Windows) or a Dask worker does not pay for them before its first run."""
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    from tradesim.analysis import runner

    store = runner.RunStore(tmp_path, small())
    try:
        spawn = multiprocessing.get_context("spawn")
        with ProcessPoolExecutor(1, mp_context=spawn) as pool:
            args = (small(), 1, False, store.path(1), store.scenario_sha256)
            assert pool.submit(runner._run_to_file, *args).result() == 1
            heavy = "sorted(m for m in ('xarray', 'pandas') if m in __import__('sys').modules)"
            assert pool.submit(eval, heavy).result() == []
        assert store.is_done(1)
    finally:
        store.close()
    xr.testing.assert_identical(
        xr.open_dataset(store.path(1), engine="scipy").load(), serial.run(1)
    )


def test_runs_are_numbered_from_0_and_summaries_have_no_exchange_rates(serial):
    from tradesim import in_currency

    for index in (-1, 4, 1.0):
        with pytest.raises(IndexError, match="runs 0 to 3"):
            serial.run(index)
    with pytest.raises(ValueError, match="exchange rates"):
        in_currency(serial.summary(annual=True), "USD")


def test_summary_statistics_match_the_runs(serial):
    stacked = xr.concat([serial.run(i).shipped_usd for i in range(4)], dim="run")
    summary = serial.summary()
    assert summary["quantile"].values.tolist() == [0.05, 0.5, 0.95]
    xr.testing.assert_allclose(
        summary["shipped_usd_mean"], stacked.mean("run"), check_dim_order=False
    )
    xr.testing.assert_allclose(
        summary["shipped_usd"].sel(quantile=0.05, drop=True),
        stacked.quantile(0.05, dim="run").drop_vars("quantile"),
    )
    annual = serial.summary(annual=True)["shipped_usd"].sel(quantile=0.5, drop=True)
    direct = stacked.groupby("month.year").sum().median("run")
    xr.testing.assert_allclose(annual, direct)


def test_band_of_totals_is_computed_per_run(serial):
    totals = summarize(
        serial.run_paths, annual=True, variables=["shipped_usd"], sum_over=("sector", "currency")
    )["shipped_usd"]
    per_run = [
        serial.run(i).shipped_usd.sum(["sector", "currency"]).groupby("month.year").sum()
        for i in range(4)
    ]
    expected = xr.concat(per_run, dim="run").quantile(0.95, dim="run").drop_vars("quantile")
    xr.testing.assert_allclose(totals.sel(quantile=0.95, drop=True), expected)


def test_bilateral_bands_are_computed_once_and_handed_out_as_copies(serial, monkeypatch):
    import tradesim.analysis.ensemble as ensemble_module

    result = dataclasses.replace(serial)  # a fresh result: nothing cached yet
    calls = []
    real = ensemble_module.summarize
    monkeypatch.setattr(
        ensemble_module, "summarize", lambda *a, **k: calls.append(k) or real(*a, **k)
    )
    first = result.bilateral_bands()
    first["shipped_usd_mean"].values[:] = -1.0  # a caller's edit stays with the caller
    second = result.bilateral_bands()
    assert len(calls) == 1
    expected = real(
        serial.run_paths, annual=True, variables=["shipped_usd"], sum_over=("sector", "currency")
    )
    xr.testing.assert_identical(second, expected)


def test_paired_comparison_uses_common_random_numbers(tmp_path):
    base = small()
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.2, "start": "2021-01"}
    alt = small(shocks=[shock], name="tariff", seed=999)  # compare() pairs seeds anyway
    comparison = compare(base, alt, runs=4, out=tmp_path, executor="serial")
    diff = comparison.differences()["shipped_usd_mean"]
    # Identical before the shock in every run: paired differences are exactly zero.
    before = diff.sel(month=slice("2020-01", "2020-12"))
    assert float(abs(before).max()) == 0.0
    direct = xr.concat(
        [
            comparison.alternative.run(i).shipped_usd - comparison.base.run(i).shipped_usd
            for i in range(4)
        ],
        dim="run",
    ).mean("run")
    xr.testing.assert_allclose(diff, direct)
    hit = diff.sel(origin="B", destination="A", month="2021-06").sum()
    assert float(hit) < 0


def test_corrupt_or_unconfirmed_runs_are_recomputed(tmp_path):
    first = run_ensemble(small(), runs=3, out=tmp_path, executor="serial")
    original = first.run(1)
    path = first.run_paths[1]
    path.write_bytes(path.read_bytes()[:-100])  # truncated
    Path(str(first.run_paths[2]) + ".sha256").unlink()  # written but never confirmed
    again = run_ensemble(small(), runs=3, out=tmp_path, executor="serial")
    assert again.computed == 2
    xr.testing.assert_identical(again.run(1), original)


def test_a_folder_of_another_scenario_is_refused(tmp_path):
    run_ensemble(small(), runs=1, out=tmp_path, executor="serial")
    with pytest.raises(TradesimError, match="different scenario"):
        run_ensemble(small(seed=8), runs=1, out=tmp_path, executor="serial")


def test_bad_arguments():
    with pytest.raises(ValueError, match="runs"):
        run_ensemble(small(), runs=0, out="unused")
    with pytest.raises(ValueError, match="executor"):
        run_ensemble(small(), runs=1, out="unused", executor="threads")  # type: ignore[arg-type]
    # Band columns are labelled q{level:g}: levels equal to 6 digits would collide.
    for close in [(0.05, 0.050000001), (0.5000001,)]:
        with pytest.raises(ValueError, match="6 significant digits"):
            run_ensemble(small(), runs=2, out="unused", quantiles=close)


def _cli(*args, **kw):
    return subprocess.run([str(BIN / "tradesim"), *args], capture_output=True, text=True, **kw)


def test_sigkilled_ensemble_resumes_to_the_uninterrupted_result(tmp_path):
    args = ["run", str(DATA / "ensemble.yaml"), "--runs", "16", "--executor", "serial", "--quiet"]
    victim = subprocess.Popen([str(BIN / "tradesim"), *args, "--out", str(tmp_path / "killed")])
    runs_dir = tmp_path / "killed" / "runs"
    deadline = time.monotonic() + 120
    while len(list(runs_dir.glob("*.sha256"))) < 3 and time.monotonic() < deadline:
        time.sleep(0.01)
    victim.send_signal(signal.SIGKILL)
    victim.wait()
    finished = len(list(runs_dir.glob("*.sha256")))
    assert 3 <= finished < 16, "the ensemble should have been killed midway"

    resumed = _cli(*args, "--out", str(tmp_path / "killed"))
    assert resumed.returncode == 0, resumed.stderr
    assert f"{finished} runs were found" in resumed.stdout
    clean = _cli(*args, "--out", str(tmp_path / "clean"))
    assert clean.returncode == 0, clean.stderr
    for i in range(16):
        name = f"run_{i:05d}.nc"
        with (
            xr.open_dataset(tmp_path / "killed" / "runs" / name, engine="scipy") as a,
            xr.open_dataset(tmp_path / "clean" / "runs" / name, engine="scipy") as b,
        ):
            xr.testing.assert_identical(a.load(), b.load())
    for name in ("summary_annual.nc", "summary_monthly.nc"):
        with (
            xr.open_dataset(tmp_path / "killed" / name, engine="scipy") as a,
            xr.open_dataset(tmp_path / "clean" / name, engine="scipy") as b,
        ):
            xr.testing.assert_equal(a.load(), b.load())
    assert (tmp_path / "killed" / "annual_bilateral_bands.csv").read_text() == (
        tmp_path / "clean" / "annual_bilateral_bands.csv"
    ).read_text()


def test_progress_lines_when_not_a_terminal(tmp_path):
    proc = _cli(
        "run",
        str(DATA / "small.yaml"),
        "--runs",
        "3",
        "--executor",
        "serial",
        "--out",
        str(tmp_path / "p"),
    )
    assert proc.returncode == 0, proc.stderr
    assert "small: 3/3 runs" in proc.stderr
    assert "mean [5%, 95% quantiles]" in proc.stdout and "A -> B" in proc.stdout
    quiet = _cli(
        "run",
        str(DATA / "small.yaml"),
        "--runs",
        "3",
        "--executor",
        "serial",
        "--out",
        str(tmp_path / "q"),
        "--quiet",
    )
    assert quiet.returncode == 0 and quiet.stderr == ""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_dask_cluster_from_the_command_line_matches_serial(tmp_path, serial, monkeypatch):
    """A real `dask scheduler` and two `dask worker` processes on 127.0.0.1: they write
    their runs' files themselves; workers elsewhere (as if) send their runs back."""
    from tradesim.analysis import runner

    pytest.importorskip("distributed")
    dask = shutil.which("dask", path=str(BIN))
    assert dask, "the dask command comes with the [dask] extra"
    port = _free_port()
    address = f"tcp://127.0.0.1:{port}"
    logs = tmp_path / "logs"
    logs.mkdir()
    procs = [
        subprocess.Popen(
            [dask, "scheduler", "--host", "127.0.0.1", "--port", str(port), "--no-dashboard"],
            stdout=subprocess.DEVNULL,
            stderr=open(logs / "scheduler", "w"),
        )
    ]
    try:
        for k in range(2):
            procs.append(
                subprocess.Popen(
                    [
                        dask,
                        "worker",
                        address,
                        "--nworkers",
                        "1",
                        "--nthreads",
                        "1",
                        "--no-dashboard",
                        "--host",
                        "127.0.0.1",
                    ],
                    stdout=subprocess.DEVNULL,
                    stderr=open(logs / f"worker{k}", "w"),
                )
            )
        from distributed import Client

        with Client(address, timeout=60) as client:
            client.wait_for_workers(2, timeout=60)
            assert runner._workers_are_local(client)
        result = run_ensemble(
            small(), runs=4, out=tmp_path / "dask", executor="dask", scheduler=address
        )
        assert result.computed == 4
        assert_same_runs(serial, result, 4)
        for name in ("shipped_usd", "frozen_usd"):
            np.testing.assert_array_equal(
                result.summary()[name].values, serial.summary()[name].values
            )
        monkeypatch.setattr(runner, "_workers_are_local", lambda client: False)
        sent_back = run_ensemble(
            small(), runs=4, out=tmp_path / "sent", executor="dask", scheduler=address
        )
        assert sent_back.computed == 4
        assert_same_runs(serial, sent_back, 4)
    finally:
        for p in reversed(procs):
            p.terminate()
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                p.kill()


def test_unreachable_scheduler_is_a_clear_error(tmp_path):
    pytest.importorskip("distributed")
    import os

    env = {**os.environ, "DASK_DISTRIBUTED__COMM__TIMEOUTS__CONNECT": "3s"}
    proc = _cli(
        "run",
        str(DATA / "small.yaml"),
        "--runs",
        "2",
        "--executor",
        "dask",
        "--scheduler",
        f"tcp://127.0.0.1:{_free_port()}",
        "--out",
        str(tmp_path),
        "--quiet",
        timeout=120,
        env=env,
    )
    assert proc.returncode == 2, proc.stderr
    assert "Dask scheduler" in proc.stderr and "Traceback" not in proc.stderr


def test_dask_without_a_scheduler_starts_a_local_cluster(tmp_path):
    pytest.importorskip("distributed")
    from tradesim import load_scenario

    args = ["--runs", "4", "--executor", "dask", "--workers", "2", "--quiet"]
    proc = _cli("run", str(DATA / "small.yaml"), *args, "--out", str(tmp_path / "dask"))
    assert proc.returncode == 0, proc.stderr
    scenario = load_scenario(DATA / "small.yaml")
    serial = run_ensemble(scenario, runs=4, out=tmp_path / "serial", executor="serial")
    for i in range(4):
        path = tmp_path / "dask" / "runs" / f"run_{i:05d}.nc"
        with xr.open_dataset(path, engine="scipy") as ds:
            xr.testing.assert_identical(ds.load(), serial.run(i))


def test_check_runs_in_every_ensemble_run(tmp_path, monkeypatch):
    """`check=True` reaches the runs: a planted bookkeeping error raises SimulationError."""
    from tradesim import SimulationError
    from tradesim.model import engine

    original = engine._Run.step

    def misrecorded(self, month):
        flows = original(self, month)
        self.flows["shipped"][month + self.world.burn_in] *= 1.01
        return flows

    monkeypatch.setattr(engine._Run, "step", misrecorded)
    assert run_ensemble(small(), runs=1, out=tmp_path / "a", executor="serial").computed == 1
    with pytest.raises(SimulationError, match="identity"):
        run_ensemble(small(), runs=1, out=tmp_path / "b", executor="serial", check=True)


def _tiny(**overrides):
    return small(population={"buyers_per_sector": 200, "firms_per_sector": 6}, **overrides)


def test_differences_pair_months_by_date_when_horizons_differ(tmp_path):
    """compare() pairs runs of different horizons over the months they share, as the
    command line does: differences() subtracts the base's month from the alternative's same
    month (never by position) and agrees with metrics()."""
    base = _tiny()
    shock = {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.3, "start": "2021-03"}
    later = _tiny(name="later", start="2021-01", end="2022-06", shocks=[shock])
    cmp = compare(base, later, runs=2, out=tmp_path / "later", executor="serial", progress=False)
    assert "compared over the common horizon 2021-01 to 2021-12" in cmp.note
    monthly = cmp.differences()
    assert monthly.attrs["horizon_note"] == cmp.note
    labels = monthly["month"].dt.strftime("%Y-%m").values
    assert (labels[0], labels[-1], len(labels)) == ("2021-01", "2021-12", 12)
    direct = xr.concat(
        [cmp.alternative.run(i).shipped_usd - cmp.base.run(i).shipped_usd for i in range(2)],
        dim="run",
    ).mean("run")  # xarray pairs by month label
    xr.testing.assert_allclose(monthly["shipped_usd_mean"], direct)
    annual = cmp.differences(annual=True)
    assert list(annual["year"].values) == [2021]
    route = annual["shipped_usd_mean"].sum(["sector", "currency"]).sel(origin="B", destination="A")
    bilateral = cmp.metrics()["bilateral_usd_mean"].sel(origin="B", destination="A")
    np.testing.assert_allclose(route.values, bilateral.sel(year=[2021]).values, rtol=1e-9)
    assert float(route.sum()) < 0  # the tariff cuts B's sales to A

    longer = _tiny(name="longer", end="2022-06")  # used to raise a broadcast ValueError
    cmp = compare(base, longer, runs=2, out=tmp_path / "longer", executor="serial", progress=False)
    assert list(cmp.differences(annual=True)["year"].values) == [2020, 2021]
    extended = compare(
        base,
        longer,
        runs=2,
        out=tmp_path / "ext",
        executor="serial",
        progress=False,
        extend_base=True,
    )
    assert "extended to 2022-06" in extended.note
    assert list(extended.differences(annual=True)["year"].values) == [2020, 2021, 2022]
    # Runs of different horizons are never stacked as one set (months by position).
    with pytest.raises(TradesimError, match="same months"):
        summarize([cmp.base.run_paths[0], cmp.alternative.run_paths[0]])


def test_check_comparable_names_both_and_tells_order_from_difference():
    from tradesim.analysis.ensemble import check_comparable

    from .factories import small_dict

    base = small()
    data = small_dict(name="nosector")
    data["sectors"].pop("energy")
    for region in (*data["economies"].values(), *data["external_regions"].values()):
        region["absorption_usd_bn"].pop("energy")
        region["origin_shares"].pop("energy")
    nosector = scenario_from_dict(data)
    with pytest.raises(TradesimError) as err:
        check_comparable(base, nosector, labels=("small.yaml", "nosector.yaml"))
    text = str(err.value)
    assert "<scenario>" not in text
    assert "sectors differ (small.yaml: energy, goods; nosector.yaml: goods)" in text
    data = small_dict(name="reordered")
    data["sectors"] = dict(reversed(list(data["sectors"].items())))
    reordered = scenario_from_dict(data)
    assert list(reordered.sectors) == ["goods", "energy"]
    with pytest.raises(TradesimError) as err:
        check_comparable(base, reordered)
    text = str(err.value)
    assert "'reordered' lists its sectors in another order (goods, energy)" in text
    assert "'small' (energy, goods)" in text and "<scenario>" not in text
