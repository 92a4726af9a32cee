"""The notebook API: HTML displays, tidy tables, .plot(), progress bars, and the figures'
brief-ready furniture (titles, source notes, 300 dpi, the scenario's own routes)."""

from pathlib import Path

import pytest

import tradesim
from tradesim.scenario.focus import added_shocks, shock_routes

from .factories import small

pytest.importorskip("matplotlib")

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
SHOCK = {"type": "tariff", "name": "tariff on B", "importer": "A", "origin": "B",
         "sectors": ["goods"], "rate": 0.3, "start": "2021-03"}  # fmt: skip


@pytest.fixture(scope="module")
def comparison(tmp_path_factory):
    out = tmp_path_factory.mktemp("cmp")
    alt = small(shocks=[SHOCK], name="tariffed")
    return tradesim.compare(small(), alt, runs=3, out=out, executor="serial", progress=False)


def texts(fig):
    found = [t.get_text() for t in fig.texts]
    for ax in fig.axes:
        found += [t.get_text() for t in ax.texts]
        legend = ax.get_legend()
        if legend:
            found += [t.get_text() for t in legend.get_texts()]
    return found


def test_every_object_has_a_compact_html_display(comparison):
    result = tradesim.simulate(small(shocks=[SHOCK]))
    shown = {
        "scenario": (small(shocks=[SHOCK])._repr_html_(), ["Scenario small", "tariff on B"]),
        "result": (result._repr_html_(), ["SimulationResult: small", "Bilateral trade", "B → A"]),
        "ensemble": (comparison.base._repr_html_(), ["EnsembleResult: small", "5–95% band"]),
        "comparison": (
            comparison._repr_html_(),
            ["tariffed against small", "B → A, goods", "Welfare change"],
        ),
    }
    for what, (html, needles) in shown.items():
        assert html.startswith("<style>") and html.endswith("</div>"), what
        assert len(html) < 8_000, (what, len(html))  # a summary, not the whole Dataset
        for needle in needles:
            assert needle in html, (what, needle)
    evil = small(name="x", description="<script>alert(1)</script>")._repr_html_()
    assert "<script>" not in evil and "&lt;script&gt;" in evil


def test_tidy_tables(comparison):
    result = tradesim.simulate(small())
    flows = result.to_frame()
    assert list(flows.columns) == ["month", "origin", "destination", "sector", "currency",
                                   "shipped_usd"]  # fmt: skip
    assert (flows["shipped_usd"] != 0).all()
    total = float(result.data["shipped_usd"].sum())
    assert flows["shipped_usd"].sum() == pytest.approx(total)
    annual = result.to_frame("tariff_rate", annual=True, drop_zeros=False)
    assert set(annual["year"]) == {2020, 2021}
    with pytest.raises(KeyError, match="known"):
        result.to_frame("nonsense")
    bands = comparison.base.to_frame()
    assert {"mean", "q0.05", "q0.5", "q0.95"} <= set(bands.columns)
    change = comparison.to_frame()
    assert set(change["route"]) == {"B → A, goods"}
    assert change.loc[change["year"] == 2021, "mean"].iloc[0] < 0
    assert {"route_origin", "route_destination", "route_sectors"} <= set(change.columns)


def test_plot_methods_draw_brief_ready_figures(comparison, tmp_path):
    from tradesim.io.plot import save

    result = tradesim.simulate(small(shocks=[SHOCK]))
    figures = {
        "result": result.plot(),
        "result_bilateral": result.plot("bilateral"),
        "result_currency": result.plot("currency"),
        "ensemble": comparison.base.plot(),
        "change": comparison.plot(),
        "routes": comparison.plot("routes"),
        "currency": comparison.plot("currency"),
        "diversion": comparison.plot("diversion"),
    }
    for name, fig in figures.items():
        title = fig._suptitle.get_text()
        assert "small" in title or "tariffed" in title or "A–B" in title, (name, title)
        words = " ".join(texts(fig))
        assert "Source: tradesim" in words, name
    change = texts(figures["change"])
    assert "5–95% band of 3 paired runs" in change  # whiskers labelled
    # No empty year groups: the shock starts in 2021, so 2020 is not drawn.
    ticks = [t.get_text() for t in figures["change"].axes[0].get_xticklabels()]
    assert ticks == ["2021"]
    assert any("tariff on B" in t for t in texts(figures["routes"]))  # shock date marked
    share_axes = figures["currency"].axes
    assert all("%" in ax.yaxis.get_major_formatter()(0.5, 0) for ax in share_axes)
    png, svg = save(figures["change"], tmp_path / "change")
    from matplotlib.image import imread

    assert imread(png).shape[1] == 7.5 * 300  # 300 dpi
    assert svg.read_bytes().count(b"<svg") == 1
    with pytest.raises(ValueError, match="choose from"):
        result.plot("pie")


def test_figures_show_the_routes_the_shocks_touch():
    base = tradesim.load_scenario(ROOT / "scenarios" / "baseline.yaml")
    soy = tradesim.load_scenario(ROOT / "scenarios" / "soybean_tariff_2018.yaml")
    routes = shock_routes(soy, added_shocks(soy, base))
    assert [(r.origin, r.destination, r.sectors) for r in routes] == [
        ("US", "CN", ("soybeans", "agriculture"))
    ]
    rusal = tradesim.load_scenario(ROOT / "scenarios" / "rusal_sanctions_2018.yaml")
    first = shock_routes(rusal, added_shocks(rusal, base))[0]
    assert (first.origin, first.destination, first.sectors) == ("RU", "US", ("aluminium",))


def test_progress_is_shown_by_default_and_can_be_switched_off(tmp_path, capsys):
    tradesim.run_ensemble(small(), runs=2, out=tmp_path / "a", executor="serial")
    assert "2/2" in capsys.readouterr().err
    tradesim.run_ensemble(small(), runs=2, out=tmp_path / "b", executor="serial", progress=False)
    assert capsys.readouterr().err == ""
    calls = []
    tradesim.run_ensemble(
        small(),
        runs=2,
        out=tmp_path / "c",
        executor="serial",
        progress=lambda d, t: calls.append((d, t)),
    )
    assert calls[-1] == (2, 2)
