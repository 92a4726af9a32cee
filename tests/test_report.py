"""The HTML report: one self-contained file with bands, the scenarios' routes, the overrides
and meaningful alt text, checked in a real headless browser (Debian's chromium)."""

import base64
import re
import shutil
import subprocess
import sys
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import ClassVar

import pytest

pytest.importorskip("matplotlib")
pytest.importorskip("jinja2")

BIN = Path(sys.executable).parent
DATA = Path(__file__).parent / "data"
PNG = b"\x89PNG\r\n\x1a\n"
CHROMIUM = next(
    (p for p in map(shutil.which, ("chromium", "chromium-browser", "google-chrome")) if p), None
)
needs_chromium = pytest.mark.skipif(
    CHROMIUM is None,
    reason="chromium is not installed (.ci/run installs Debian's chromium so that CI runs this)",
)


@pytest.fixture(scope="module")
def report(tmp_path_factory):
    out = tmp_path_factory.mktemp("report") / "report.html"
    args = [
        str(BIN / "tradesim"),
        "report",
        str(DATA / "small.yaml"),
        str(DATA / "higher_tariff.yaml"),
        "--runs",
        "3",
        "--executor",
        "serial",
        "--quiet",
        "--set",
        "population.buyers_per_sector=300",
        "--out",
        str(out),
    ]
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.returncode == 2 and "use --force" in again.stderr
    return out


def test_report_content(report):
    text = report.read_text()
    assert text.startswith("<!DOCTYPE html>") and text.rstrip().endswith("</html>")
    images = re.findall(
        r'<img class="figure" src="data:image/png;base64,([^"]+)" alt="([^"]+)"', text
    )
    # base: trade with bands, currency shares; alternative: change, routes, diversion, shares
    assert len(images) == 2 + 4
    assert all(base64.b64decode(data).startswith(PNG) for data, _ in images)
    alts = [alt for _, alt in images]
    assert len(set(alts)) == len(alts) and all(len(a) > 60 for a in alts)  # meaningful
    assert "B → A, goods: 2020" in alts[2] and "5–95% band of the paired runs" in alts[2]
    assert "3 paired runs per scenario" in text and "5–95% band across runs" in text
    assert "Routes its shocks touch: B → A, goods." in text
    assert "--set population.buyers_per_sector=300" in text  # overrides recorded
    assert text.count("&#34;overrides&#34;: [") == 2  # in each manifest (escaped JSON)
    assert re.search(r"\d+\.\d\d \[[-\d.]+, [-\d.]+\]", text)  # mean [band] cells
    assert 'src="http' not in text and "<link" not in text and "<script" not in text
    assert "default-src 'none'" in text  # the browser may fetch nothing


def test_report_escapes_what_scenarios_say(tmp_path):
    from tradesim.io.report import html_report

    from .factories import small

    evil = small(name="evil", description='<img src="http://x/y.png" onerror="alert(1)">')
    text = html_report(evil, [], runs=1, executor="serial", progress=False)
    assert '<img src="http://x' not in text and "&lt;img src=&#34;http://x" in text


class _Recorder(BaseHTTPRequestHandler):
    """A proxy that answers every request with 404 and remembers it."""

    seen: ClassVar[list[str]] = []

    def do_GET(self):
        self.seen.append(self.path)
        self.send_response(404)
        self.end_headers()

    do_CONNECT = do_POST = do_HEAD = do_GET

    def log_message(self, *args):
        pass


def _chromium(page: Path, profile: Path, proxy: int) -> subprocess.CompletedProcess[str]:
    args = [
        CHROMIUM,
        "--headless",
        "--disable-gpu",
        "--no-sandbox",
        "--no-first-run",
        # the browser's own traffic (updates, clock, safe browsing) is not the page's
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
        "--disable-default-apps",
        "--disable-client-side-phishing-detection",
        "--disable-features=OptimizationHints,MediaRouter,Translate,NetworkTimeServiceQuerying",
        "--no-default-browser-check",
        "--metrics-recording-only",
        f"--user-data-dir={profile}",
        f"--proxy-server=http://127.0.0.1:{proxy}",
        "--proxy-bypass-list=<-loopback>",
        "--enable-logging=stderr",
        "--v=0",
        "--virtual-time-budget=5000",
        "--dump-dom",
        page.as_uri(),
    ]
    return subprocess.run(args, capture_output=True, text=True, timeout=120)


def _browser_service(request: str) -> bool:
    """Chromium's own traffic that no flag fully stops in every version (the component
    updater): requests to its vendor's service hosts, never referenced by the report."""
    host = re.sub(r"^[a-z]+://", "", request).split("/")[0].split(":")[0]
    return host.endswith(("googleapis.com", "google.com", "gstatic.com", "gvt1.com"))


def _console(stderr: str) -> list[str]:
    return [line for line in stderr.splitlines() if "CONSOLE" in line]


@needs_chromium
def test_report_renders_in_a_real_browser(report, tmp_path):
    _Recorder.seen = []
    server = ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    port = server.server_address[1]
    try:
        # The report as written: it renders, logs nothing, requests nothing.
        proc = _chromium(report, tmp_path / "p1", port)
        assert "<h1>tradesim report: small and 1 alternative</h1>" in proc.stdout, proc.stderr
        assert proc.stdout.count('<img class="figure"') == 6
        assert _console(proc.stderr) == []
        # A probe copy: a script records whether every image decoded, and says hello on the
        # console (showing that console output would have been caught above).
        probe = tmp_path / "probe.html"
        script = (
            "<script>window.addEventListener('load', () => {"
            " const imgs = [...document.images];"
            " const ok = imgs.filter(i => i.complete && i.naturalWidth > 0).length;"
            " document.body.setAttribute('data-images', ok + '/' + imgs.length);"
            " console.log('tradesim-probe'); });</script></body>"
        )
        text = report.read_text().replace(
            "style-src 'unsafe-inline'", "style-src 'unsafe-inline'; script-src 'unsafe-inline'"
        )
        probe.write_text(text.replace("</body>", script))
        proc = _chromium(probe, tmp_path / "p2", port)
        loaded = re.search(r'data-images="(\d+)/(\d+)"', proc.stdout)
        assert loaded, proc.stdout[-2000:]
        assert loaded[1] == loaded[2] == "6"  # every image decoded
        assert any("tradesim-probe" in line for line in _console(proc.stderr)), proc.stderr
        from_page = [p for p in _Recorder.seen if not _browser_service(p)]
        assert from_page == [], from_page  # no network request from the report
        # Control: a page that does fetch is seen by the recording proxy.
        control = tmp_path / "control.html"
        control.write_text('<!DOCTYPE html><img src="http://tradesim.invalid/x.png">')
        _chromium(control, tmp_path / "p3", port)
        assert any("tradesim.invalid" in p for p in _Recorder.seen), _Recorder.seen
    finally:
        server.shutdown()


def test_report_shows_currency_shares_by_direction(report):
    """The base's shares by origin -> destination (annual with bands, quarterly, by sector)
    and, for the alternative, its shares with the change from the base in points.

    Catches: shares pooled over both directions, or tables missing from the page."""
    text = report.read_text()
    captions = re.findall(r'<caption class="table-caption">([^<]+)</caption>', text)
    annual = [c for c in captions if "by direction (origin → destination), annual" in c]
    quarterly = [c for c in captions if "by direction, quarterly" in c]
    sectors = [c for c in captions if "by direction and sector, annual" in c]
    assert len(annual) == len(quarterly) == len(sectors) == 2  # base and alternative
    assert "change from the base in percentage points" in annual[1]
    assert "<td>A → B</td>" in text and "<td>B → A</td>" in text
    assert "<th>2020-Q1</th>" not in text  # quarters are rows, directions x currencies columns
    assert "<td>2021-Q4</td>" in text and "<th>A → B USD</th>" in text
    assert re.search(r"<td>\d+\.\d \[\d+\.\d, \d+\.\d\]</td>", text)  # base: mean [band]
    assert re.search(r"<td>\d+\.\d \([-+]\d+\.\d\)</td>", text)  # alternative: (change)
    assert "<td>goods</td>" in text and "<td>energy</td>" in text


def test_report_pairs_an_alternative_of_another_horizon_over_the_common_months(tmp_path):
    """An alternative whose horizon differs from the base's is compared over the months
    both cover, as `compare` does, and the report says so (it used to crash after its runs
    with a KeyError on the years only one of them has)."""
    from tradesim import load_scenario
    from tradesim.io.report import html_report

    later = tmp_path / "later.yaml"
    later.write_text(
        f"extends: {DATA / 'small.yaml'}\nname: later\nstart: 2021-01\nend: 2022-06\n"
        "population: {buyers_per_sector: 200, firms_per_sector: 6}\n"
    )
    sizes = ["population.buyers_per_sector=200", "population.firms_per_sector=6"]
    base = load_scenario(DATA / "small.yaml", overrides=sizes)
    text = html_report(
        base,
        [load_scenario(later, allow_outside=True)],
        runs=2,
        executor="serial",
        progress=False,
        work_dir=tmp_path / "work",
    )
    assert "compared over the common horizon 2021-01 to 2021-12" in text
    assert "extend_base" not in text  # the report offers no extension
    section = text.split('id="alt-0"')[1]
    annual = section.split("Settlement-currency shares by direction (origin")[1].split("</table>")[
        0
    ]
    assert "<th>2021</th>" in annual
    assert "2020" not in annual and "2022" not in annual
