"""Excel-friendly files: CSVs in UTF-8 with a byte-order mark (Excel on a Chinese Windows reads
them right), and ``tables.xlsx`` with one formatted sheet per CSV, read back with openpyxl."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import openpyxl
import pandas as pd
import pytest

from salesnb.report.workbook import write_workbook
from salesnb.study import StudyContext

BOM = b"\xef\xbb\xbf"


def _ctx(folder: Path) -> StudyContext:
    return StudyContext("customers", None, None, None, None, "CNY", folder)


def test_write_csv_starts_with_the_bom_and_reads_back_the_chinese_text(tmp_path):
    df = pd.DataFrame({"客户": ["上海云海贸易", "北京 Zoë & Co"], "金额": [1234.5, 88.0]})
    path = _ctx(tmp_path).write_csv(df, "customers-at-risk.csv")
    assert path == tmp_path / "customers-at-risk.csv"
    raw = path.read_bytes()
    assert raw.startswith(BOM) and raw.count(BOM) == 1
    assert raw[len(BOM) :].decode("utf-8").splitlines()[0] == "客户,金额"
    back = pd.read_csv(path, encoding="utf-8-sig")
    pd.testing.assert_frame_equal(back, df)
    # the same frame gives the same bytes
    assert _ctx(tmp_path).write_csv(df, "again.csv").read_bytes() == raw


@pytest.fixture
def tables(tmp_path) -> Path:
    ctx = _ctx(tmp_path)
    ctx.write_csv(
        pd.DataFrame(
            {
                "rep_id": ["007", "012"],
                "客户": ["上海云海贸易", "=1+2"],
                "close_date": ["2026-07-20", "2026-09-01"],
                "amount": [1234567.891, 88.5],
                "deals": [12, 3400],
                "win_rate": [0.25, 0.6],
                "probability": [0.5, None],
            }
        ),
        "deals-scored.csv",
    )
    long = "a-very-long-table-name-that-excel-cannot-hold"
    ctx.write_csv(pd.DataFrame({"share_pct": [35.5]}), f"{long}-1.csv")
    ctx.write_csv(pd.DataFrame({"x": [1]}), f"{long}-2.csv")
    (tmp_path / "plain.csv").write_text("customer_id\nC1\n")  # a study's own file, no BOM
    return tmp_path


def test_one_sheet_per_csv_with_bold_frozen_header_widths_and_number_formats(tables):
    path = write_workbook(tables)
    assert path == tables / "tables.xlsx"
    wb = openpyxl.load_workbook(path)
    assert wb.sheetnames == [
        "a-very-long-table-name-that-exc",
        "a-very-long-table-name-that-e~2",
        "deals-scored",
        "plain",
    ]
    assert all(len(n) <= 31 for n in wb.sheetnames)
    ws = wb["deals-scored"]
    assert ws.freeze_panes == "A2"
    header = [c.value for c in ws[1]]
    assert header == ["rep_id", "客户", "close_date", "amount", "deals", "win_rate", "probability"]
    assert all(c.font.b for c in ws[1])
    rep, customer, day, amount, deals, rate, prob = ws[2]
    assert (rep.value, rep.data_type) == ("007", "s")  # an id keeps its leading zero
    assert customer.value == "上海云海贸易"
    assert ws["B3"].value == "=1+2" and ws["B3"].data_type == "s"  # text, never a formula
    assert day.value == dt.datetime(2026, 7, 20) and day.number_format == "yyyy-mm-dd"
    assert amount.value == pytest.approx(1234567.891) and amount.number_format == "#,##0.00"
    assert deals.value == 12 and deals.number_format == "#,##0"
    assert rate.value == 0.25 and rate.number_format == "0.0%"
    assert prob.number_format == "0.0%" and ws["G3"].value is None
    # widths from content: the Chinese names (two columns a character) and the amounts
    widths = {k: ws.column_dimensions[k].width for k in "ABD"}
    assert widths["B"] >= 12 and widths["D"] >= len("1,234,567.89")
    assert widths["A"] < widths["B"]
    assert ws.auto_filter.ref == "A1:G3"
    # a share given in percent units (35.5) is not a fraction: shown as a number
    assert wb["a-very-long-table-name-that-exc"]["A2"].number_format == "#,##0.00"
    assert wb["plain"]["A2"].value == "C1"


def test_the_same_csvs_give_the_same_workbook_bytes(tables):
    first = write_workbook(tables).read_bytes()
    assert write_workbook(tables).read_bytes() == first


def test_no_csv_no_workbook(tmp_path):
    assert write_workbook(tmp_path) is None
    assert not (tmp_path / "tables.xlsx").exists()


@pytest.mark.slow
def test_the_demo_report_csvs_open_in_excel_and_each_has_its_sheet(demo_report):
    csvs = sorted(demo_report.glob("*.csv"))
    names = {p.name for p in csvs}
    assert {"actions.csv", "customers-at-risk.csv", "deals-scored.csv"} <= names
    for p in csvs:
        assert p.read_bytes().startswith(BOM), f"{p.name} has no byte-order mark"
    wb = openpyxl.load_workbook(demo_report / "tables.xlsx", read_only=True)
    assert wb.sheetnames == [p.stem for p in csvs]  # all demo names fit in 31 characters
    actions = pd.read_csv(demo_report / "actions.csv", encoding="utf-8-sig")
    assert list(actions.columns) == ["study", "action", "owner", "amount_at_stake", "due", "people"]
    assert {"funnel", "customers", "deals"} <= set(actions["study"])
    assert (
        actions["action"].str.len().min() > 10 and not actions["action"].str.contains(r"\*\*").any()
    )
