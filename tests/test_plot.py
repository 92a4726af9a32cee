"""Figures: each kind of output gets its figures, as real PNG and SVG files."""

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("matplotlib")

from tradesim import simulate
from tradesim.analysis.calibrate import load_observed
from tradesim.analysis.ensemble import single_pair_metrics
from tradesim.io.plot import (
    bilateral_figure,
    calibration_figure,
    currency_shares_figure,
    diversion_figure,
    save,
)

from .factories import small

BIN = Path(sys.executable).parent
DATA = Path(__file__).parent / "data"
PNG = b"\x89PNG\r\n\x1a\n"


def assert_figure_files(paths, minimum=5_000):
    assert {p.suffix for p in paths} == {".png", ".svg"}
    for p in paths:
        data = p.read_bytes()
        assert len(data) > minimum, p
        if p.suffix == ".png":
            assert data.startswith(PNG)
        else:
            assert b"<svg" in data[:2000]


def test_every_figure_function_writes_png_and_svg(tmp_path):
    base = simulate(small())
    alt = simulate(
        small(
            shocks=[
                {"type": "tariff", "importer": "A", "origin": "B", "rate": 0.3, "start": "2020-06"}
            ]
        )
    )
    annual = base.annual_bilateral()
    figures = {
        "bilateral": bilateral_figure(annual, [("A", "B"), ("B", "A")]),
        "currency": currency_shares_figure(base.data, "A", "B"),
        "diversion": diversion_figure(base.data, alt.data, "A", "goods"),
    }
    metrics = single_pair_metrics(base, alt)
    from tradesim.io.plot import comparison_figure

    figures["comparison"] = comparison_figure(metrics, [("A", "B"), ("B", "A")])
    report = {
        "moments": [
            {
                "year": 2016,
                "origin": "CN",
                "destination": "RU",
                "observed_usd": 37e9,
                "fitted_usd": 38e9,
                "residual_pct": 2.7,
                "in_sample": True,
            },
            {
                "year": 2018,
                "origin": "CN",
                "destination": "RU",
                "observed_usd": 48e9,
                "fitted_usd": 45e9,
                "residual_pct": -6.3,
                "in_sample": False,
            },
        ]
    }
    figures["calibration"] = calibration_figure(report)
    for name, fig in figures.items():
        assert_figure_files(save(fig, tmp_path / name))


def test_bilateral_figure_legend_names_what_is_drawn():
    obs = [o for o in load_observed() if o.origin == "CN"]
    fig = bilateral_figure(simulate(small()).annual_bilateral(), [("A", "B")], observed=obs)
    labels = [t.get_text() for t in fig.axes[0].get_legend().get_texts()]
    assert labels == ["A → B, simulated"]  # CN-RU observations do not belong to A-B


def test_plot_command_and_run_plot(tmp_path):
    out = tmp_path / "ens"
    args = [
        str(BIN / "tradesim"),
        "run",
        str(DATA / "small.yaml"),
        "--runs",
        "3",
        "--executor",
        "serial",
        "--quiet",
        "--out",
        str(out),
        "--plot",
    ]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert_figure_files([out / "bilateral.png", out / "bilateral.svg"])
    assert_figure_files([out / "currency_shares.png", out / "currency_shares.svg"])
    single = tmp_path / "single"
    shutil.copytree(out, single, ignore=shutil.ignore_patterns("*.png", "*.svg"))
    proc = subprocess.run(
        [str(BIN / "tradesim"), "plot", str(single)], capture_output=True, text=True
    )
    assert proc.returncode == 0, proc.stderr
    assert (single / "bilateral.png").exists()
    empty = subprocess.run(
        [str(BIN / "tradesim"), "plot", str(tmp_path / "nothing")], capture_output=True, text=True
    )
    assert empty.returncode == 2 and "not a folder" in empty.stderr
