"""Observed data in the tidy format: loading, validation with file:line:column, totals."""

from __future__ import annotations

import codecs
from pathlib import Path

import pytest

from tradesim.analysis.calibrate import OBSERVED_CN_RU, load_observed
from tradesim.errors import CalibrationError
from tradesim.io.observed import (
    ObservedDataError,
    ObservedDataWarning,
    annual_totals,
    is_tidy,
    read_observed,
    write_observed,
)

HEADER = "period,reporter,partner,flow,sector,value,quantity,unit,source\n"


def test_shipped_file_is_tidy_and_round_trips(tmp_path):
    records = read_observed(OBSERVED_CN_RU)
    assert len(records) == 6 and {r.reporter for r in records} == {"CN"}
    assert all(r.sector == "TOTAL" and r.source.startswith("China General") for r in records)
    copy = tmp_path / "copy.csv"
    write_observed(records, copy)
    again = read_observed(copy)
    assert [(r.year, r.origin, r.destination, r.value_usd) for r in again] == [
        (r.year, r.origin, r.destination, r.value_usd) for r in records
    ]
    exports = {o.year: o.value_usd for o in load_observed() if o.origin == "CN"}
    assert exports == {2016: 37.297e9, 2017: 42.88e9, 2018: 47.98e9}


def test_legacy_format_still_loads(tmp_path):
    path = tmp_path / "old.csv"
    path.write_text("year,origin,destination,value_usd_bn,source\n2016,CN,RU,37.297,x\n")
    assert load_observed(path)[0].value_usd == pytest.approx(37.297e9)


@pytest.mark.parametrize(
    ("row", "where", "message"),
    [
        ("2016-13,CN,RU,export,TOTAL,1,,,s", ":2:1:", "period: expected YYYY or YYYY-MM"),
        ("2016,CN,CN,export,TOTAL,1,,,s", ":2:3:", "equals the reporter"),
        ("2016,CN,RU,exports,TOTAL,1,,,s", ":2:4:", "flow: expected export or import"),
        ("2016,CN,RU,export,TOTAL,-5,,,s", ":2:6:", "value: expected a positive number"),
        ("2016,CN,RU,export,TOTAL,1e9,abc,t,s", ":2:7:", "quantity: expected a number"),
        ("2016,CN,RU,export,2709,1e9,12,,s", ":2:8:", "a quantity needs its unit"),
        ("2016,CN,RU,export,TOTAL,1e9,,,", ":2:9:", "every figure needs its source"),
        ("2016,CN,RU,export,TOTAL,1e9,,", ":2:", "the row has 8 fields"),
    ],
)
def test_bad_cells_are_named_by_line_and_column(tmp_path, row, where, message):
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + row + "\n")
    with pytest.raises(ObservedDataError, match=message) as info:
        read_observed(path)
    assert f"{path}{where}" in str(info.value)


def test_bad_header_and_duplicates(tmp_path):
    path = tmp_path / "obs.csv"
    path.write_text("period,reporter,partner,flow,sector,value,colour,source\n")
    with pytest.raises(ObservedDataError, match=r":1:7: unknown column 'colour'"):
        read_observed(path)
    path.write_text("period,reporter,partner,flow,value,source\n")
    with pytest.raises(ObservedDataError, match=r"missing column.*sector"):
        read_observed(path)
    row = "2016,CN,RU,export,TOTAL,1e9,,,s\n"
    path.write_text(HEADER + row + row)
    with pytest.raises(ObservedDataError, match=r":3: the same flow as line 2"):
        read_observed(path)


def test_monthly_rows_sum_to_a_year_and_mirror_figures_are_refused(tmp_path):
    path = tmp_path / "obs.csv"
    months = "".join(f"2017-{m:02d},CN,RU,export,TOTAL,{m}e9,,,s\n" for m in range(1, 13))
    sectors = "2017,CN,RU,export,2709,5e9,1000,t,s\n"  # a product row: not a total
    path.write_text(HEADER + months + sectors)
    (total,) = annual_totals(read_observed(path))
    assert (total.year, total.origin, total.destination) == (2017, "CN", "RU")
    assert total.value_usd == pytest.approx(78e9)
    mirror = "2017,RU,CN,import,TOTAL,80e9,,,Russian customs\n"
    path.write_text(HEADER + months + mirror)
    with pytest.raises(ObservedDataError, match="reported more than once"):
        annual_totals(read_observed(path))
    path.write_text(HEADER + months[: months.index("2017-12")])  # eleven months
    with pytest.raises(ObservedDataError, match="11 of the 12 months; missing 2017-12"):
        annual_totals(read_observed(path))


def test_a_year_with_missing_months_is_an_error_not_dropped(tmp_path):
    # One complete annual year and one year of monthly rows missing March and December:
    # the incomplete year used to vanish, leaving a fit on 2016 alone without a word.
    path = tmp_path / "obs.csv"
    months = "".join(
        f"2017-{m:02d},CN,RU,import,TOTAL,4e9,,,s\n" for m in range(1, 13) if m not in (3, 12)
    )
    path.write_text(HEADER + "2016,CN,RU,import,TOTAL,40e9,,,s\n" + months)
    with pytest.raises(ObservedDataError) as info:
        annual_totals(read_observed(path))
    message = str(info.value)
    assert message.startswith(f"{path}:3: RU->CN 2017 (CN's imports)")
    assert "10 of the 12 months; missing 2017-03, 2017-12" in message


def test_a_byte_order_mark_is_read_as_the_tidy_layout(tmp_path):
    # Excel's "CSV UTF-8" starts the file with a byte-order mark.
    path = tmp_path / "obs.csv"
    body = HEADER + "2016,CN,RU,export,TOTAL,37e9,,,s\n2016,CN,RU,import,TOTAL,32e9,,,s\n"
    path.write_bytes(codecs.BOM_UTF8 + body.encode())
    assert is_tidy(path)
    assert [(o.origin, o.value_usd) for o in load_observed(path)] == [
        ("CN", 37e9),
        ("RU", 32e9),
    ]
    legacy = tmp_path / "old.csv"
    legacy.write_bytes(codecs.BOM_UTF8 + b"year,origin,destination,value_usd_bn\n2016,CN,RU,37\n")
    assert load_observed(legacy)[0].value_usd == pytest.approx(37e9)


def test_values_in_the_wrong_unit(tmp_path):
    path = tmp_path / "obs.csv"
    # Typed in billions in a column of dollars: kept (tiny real flows exist) but warned about.
    path.write_text(HEADER + "2016,CN,RU,export,TOTAL,37.3,,,s\n")
    with pytest.warns(ObservedDataWarning, match=r":2: CN->RU 2016 totals 37.3 US dollars"):
        (total,) = annual_totals(read_observed(path))
    assert total.value_usd == 37.3
    # More than world trade: no trade figure at all, refused in both layouts.
    path.write_text(HEADER + "2016,CN,RU,export,TOTAL,3.7e16,,,s\n")
    with pytest.raises(ObservedDataError, match=r":2:6: value: 3.7e\+16 US dollars exceeds"):
        read_observed(path)
    legacy = tmp_path / "old.csv"
    legacy.write_text("year,origin,destination,value_usd_bn\n2016,CN,RU,37.3e9\n")
    with pytest.raises(CalibrationError, match=r"old.csv:2: value_usd_bn 3.73e\+10 is"):
        load_observed(legacy)


def test_calibrate_command_refuses_missing_months_with_exit_2(tmp_path, capsys, monkeypatch):
    from tradesim.cli.main import main

    monkeypatch.chdir(Path(__file__).parent.parent)
    path = tmp_path / "obs.csv"
    months = "".join(f"2017-{m:02d},CN,RU,export,TOTAL,4e9,,,s\n" for m in range(1, 12))
    path.write_text(HEADER + "2016,CN,RU,export,TOTAL,40e9,,,s\n" + months)
    args = ["calibrate", "scenarios/baseline.yaml", "--observed", str(path)]
    assert main([*args, "--out", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:3: CN->RU 2017 (CN's exports)" in err and "missing 2017-12" in err
    assert "Traceback" not in err and not (tmp_path / "c.yaml").exists()


def test_calibrate_command_reports_bad_observed_file_with_exit_2(tmp_path, capsys, monkeypatch):
    from tradesim.cli.main import main

    monkeypatch.chdir(Path(__file__).parent.parent)
    path = tmp_path / "obs.csv"
    path.write_text(HEADER + "2016,CN,RU,sideways,TOTAL,1e9,,,s\n")
    args = ["calibrate", "scenarios/baseline.yaml", "--observed", str(path)]
    assert main([*args, "--out", str(tmp_path / "c.yaml")]) == 2
    err = capsys.readouterr().err
    assert f"{path}:2:4: flow: expected export or import" in err and "Traceback" not in err
    assert not (tmp_path / "c.yaml").exists()
