"""Origin shares from a bilateral trade extract (tradesim shares), on the shipped synthetic
BACI-layout extract and small Comtrade-layout files."""

import subprocess
import sys
from pathlib import Path

import pytest

from tradesim import load_scenario
from tradesim.errors import TradesimError
from tradesim.io.trade_data import origin_shares_from_trade, read_extract

ROOT = Path(__file__).parent.parent
DATA = Path(__file__).parent / "data"
EXTRACT = DATA / "baci_extract.csv"
BASE = ROOT / "scenarios" / "baseline.yaml"


@pytest.fixture(scope="module")
def base():
    return load_scenario(BASE)


def test_shares_are_imports_over_absorption(base):
    found = origin_shares_from_trade(EXTRACT, base, ["CN", "RU"], 2017)
    # Russia's machinery imports from China: phones 5.1 + laptops 2.9 (USD bn, HS 85, 84)
    assert found.flows[("CN", "RU", "machinery")] == pytest.approx(8.0e9)
    absorption = base.economies["RU"].absorption_usd_bn["machinery"] * 1e9
    row = found.shares["RU"]["machinery"]
    assert row["CN"] == pytest.approx(8.0e9 / absorption, abs=1e-6)
    assert row["EU"] == pytest.approx((3.4e9) / absorption, abs=1e-6)  # German cars
    assert sum(row.values()) == pytest.approx(1.0, abs=1e-9)
    # Brazil and Australia are ROW; soybeans (HS 12) are agriculture; 2016 rows are left out
    assert found.flows[("ROW", "CN", "agriculture")] == pytest.approx(20.9e9)
    assert found.flows[("RU", "CN", "energy")] == pytest.approx(24.9e9)
    assert found.rows_used == 26 and found.layout == "baci"
    kept = origin_shares_from_trade(EXTRACT, base, ["RU"], 2017, keep_home=True)
    home = base.economies["RU"].origin_shares["machinery"]["RU"]
    assert kept.shares["RU"]["machinery"]["RU"] == pytest.approx(home, abs=1e-6)
    assert "consumer_goods" not in found.shares["CN"]  # no data: the parent's shares stay


def test_comtrade_layout_and_clear_errors(tmp_path, base):
    comtrade = tmp_path / "comtrade.csv"
    comtrade.write_text(
        "refYear,reporterISO,partnerISO,flowCode,cmdCode,primaryValue\n"
        "2017,RUS,CHN,M,8517,5100000000\n"
        "2017,RUS,W00,M,8517,9000000000\n"  # world total: left out
        "2017,RUS,CHN,X,8517,1\n"  # exports: left out
        "2017,RUS,DEU,M,87,3400000000\n"
    )
    found = origin_shares_from_trade(comtrade, base, ["RU"], 2017)
    assert found.layout == "comtrade"
    assert found.flows == {("CN", "RU", "machinery"): 5.1e9, ("EU", "RU", "machinery"): 3.4e9}
    bad = tmp_path / "bad.csv"
    bad.write_text("a,b\n1,2\n")
    with pytest.raises(TradesimError, match=r"bad.csv:1: unknown layout"):
        read_extract(bad)
    broken = tmp_path / "broken.csv"
    broken.write_text("t,i,j,k,v\n2017,643,156,270900,lots\n")
    with pytest.raises(TradesimError, match=r"broken.csv:2: .*not a year and a number"):
        read_extract(broken)
    huge = tmp_path / "huge.csv"
    huge.write_text("t,i,j,k,v\n2017,156,643,851712,999000000000\n")
    with pytest.raises(TradesimError, match=r"RU machinery: imports of .* exceed"):
        origin_shares_from_trade(huge, base, ["RU"], 2017)
    with pytest.raises(TradesimError, match="not an agent economy"):
        origin_shares_from_trade(EXTRACT, base, ["US"], 2017)
    with pytest.raises(TradesimError, match=r"no flows in 2019"):
        origin_shares_from_trade(EXTRACT, base, ["RU"], 2019)


def test_shares_command_writes_a_scenario_that_runs(tmp_path):
    exe = str(Path(sys.executable).parent / "tradesim")
    out = tmp_path / "pair" / "cn_ru_2017.yaml"
    args = [exe, "shares", str(EXTRACT), "--year", "2017", "--scenario", str(BASE),
            "--out", str(out)]  # fmt: skip
    proc = subprocess.run(args, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "RU  machinery" in proc.stdout and "6.67%" in proc.stdout
    text = out.read_text()
    assert text.startswith("# cn_ru_2017:") and "sha256" in text and "extends:" in text
    flows = (out.parent / "cn_ru_2017.flows.csv").read_text().splitlines()
    assert flows[0] == "year,origin,destination,sector,value_usd" and len(flows) > 10
    scenario = load_scenario(out, allow_outside=True, overrides=["population.buyers_per_sector=300",
                                             "population.firms_per_sector=10",
                                             "burn_in_months=3"])  # fmt: skip
    assert scenario.economies["RU"].origin_shares["machinery"]["CN"] == pytest.approx(
        8.0 / 120, abs=1e-6
    )
    from tradesim import simulate

    result = simulate(scenario, check=True)
    assert float(result.data["shipped_usd"].sum()) > 0
    again = subprocess.run(args, capture_output=True, text=True)
    assert again.returncode == 2 and "use --force" in again.stderr
