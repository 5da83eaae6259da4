"""The model's rules (salesnb.model.validate) on tiny hand-written frames, and `salesnb validate`."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesnb.model.schema import TABLES
from salesnb.model.validate import check_frame, coerce_column, table_schema
from salesnb.queries.validation import validate_warehouse

ROOT = Path(__file__).resolve().parents[2]


# ---- coercion: what a raw export value becomes --------------------------------------


def test_numbers_accept_thousands_currency_percent_and_brackets():
    raw = pd.Series(["1,234.50", "$12", "15%", "(3.5)", "", "NA", "abc", "7"], dtype="str")
    c = coerce_column(raw, "float")
    assert c.values.tolist()[:4] == [1234.5, 12.0, 0.15, -3.5]
    assert c.values.iloc[7] == 7.0
    assert c.values.iloc[4:7].isna().all()  # empty, NA and a non-number are all missing...
    assert c.bad.tolist() == [
        False,
        False,
        False,
        False,
        False,
        False,
        True,
        False,
    ]  # ...but only abc failed


def test_whole_numbers_reject_fractions():
    c = coerce_column(pd.Series(["1", "2.0", "2.5", "x", None], dtype="str"), "int")
    assert c.values.iloc[:2].tolist() == [1, 2]
    assert c.bad.tolist() == [False, False, True, True, False]
    assert str(c.values.dtype) == "Int64"


def test_dates_in_common_formats_and_out_of_range_years():
    iso = coerce_column(
        pd.Series(["2024-01-05", "2024-01-31 13:00:00", "2024-13-01", "0202-01-01", ""]), "date"
    )
    assert iso.values.iloc[0] == pd.Timestamp("2024-01-05")
    assert iso.values.iloc[1] == pd.Timestamp("2024-01-31")  # a date keeps the day only
    assert iso.bad.tolist() == [False, False, True, True, False]
    german = coerce_column(pd.Series(["31.12.2024", "01.02.2024"]), "date")
    assert german.values.tolist() == [pd.Timestamp("2024-12-31"), pd.Timestamp("2024-02-01")]
    stamps = coerce_column(
        pd.Series(["2024-01-05T10:00:00.5Z", "2024-01-05 10:00:00+02:00"]), "datetime"
    )
    assert stamps.values.tolist() == [
        pd.Timestamp("2024-01-05 10:00:00.5"),
        pd.Timestamp("2024-01-05 08:00"),
    ]
    declared = coerce_column(pd.Series(["05/01/2024"]), "date", ["%d/%m/%Y"])
    assert declared.values.iloc[0] == pd.Timestamp("2024-01-05")


def test_excel_date_objects_and_text_mix():
    import datetime as dt

    c = coerce_column(
        pd.Series([dt.datetime(2024, 1, 2, 10, 30), "2024-02-03", None], dtype=object), "date"
    )
    assert c.values.tolist()[:2] == [pd.Timestamp("2024-01-02"), pd.Timestamp("2024-02-03")]
    assert not c.bad.any()


def test_booleans_and_text():
    b = coerce_column(pd.Series(["Yes", "no", "TRUE", "0", "", "maybe"], dtype="str"), "bool")
    assert b.values.iloc[:4].tolist() == [True, False, True, False]
    assert b.bad.tolist() == [False, False, False, False, False, True]
    # Excel gives numbers for zip codes and ids: no spurious ".0" in text columns.
    s = coerce_column(pd.Series([42420.0, " x ", "", None], dtype=object), "str")
    assert s.values.iloc[:2].tolist() == ["42420", "x"]
    assert s.values.iloc[2:].isna().all()


# ---- row rules ---------------------------------------------------------------------


def _orders(rows):
    cols = [
        "order_id",
        "line_no",
        "order_date",
        "customer_id",
        "rep_id",
        "quantity",
        "discount",
        "net_amount",
        "is_return",
    ]
    df = pd.DataFrame(rows, columns=cols)
    return df.astype(
        {
            "order_id": "str",
            "line_no": "Int64",
            "order_date": "datetime64[us]",
            "customer_id": "str",
            "rep_id": "str",
            "quantity": "float64",
            "discount": "float64",
            "net_amount": "float64",
            "is_return": "boolean",
        }
    )


D = pd.Timestamp("2024-01-01")


def test_order_rules_give_one_reason_per_broken_rule():
    df = _orders(
        [
            ("O1", 1, D, "C1", "R1", 2, 0.1, 90.0, False),  # 0 fine
            ("O1", 1, D, "C1", "R1", 1, 0.0, 10.0, False),  # 1 duplicate key of row 0
            ("O2", 1, D, "C1", "R1", -2, 0.0, 20.0, False),  # 2 negative quantity, not a return
            ("O3", 1, D, "C1", "R1", -1, 0.0, -50.0, True),  # 3 a return: negative is fine
            ("O4", 1, D, "C1", "R1", 1, 1.5, 10.0, False),  # 4 discount above 1
            ("O5", 1, D, "C1", "R1", 1, 0.0, np.inf, False),  # 5 amount not finite
            ("O6", 1, D, None, "R1", 1, 0.0, 10.0, False),  # 6 required customer_id empty
            ("O7", 1, D, "C1", "R9", 1, 0.0, 10.0, False),  # 7 rep not in reps
            ("O8", 1, D, "C1", None, 1, None, 10.0, None),  # 8 optional columns empty: fine
            ("O9", 1, D, "C1", "R1", 0, 0.0, 0.0, False),  # 9 zero quantity
        ]
    )
    problems = check_frame("orders", df, parent_keys={"rep_id": pd.Index(["R1"])})
    assert sorted(problems) == [1, 2, 4, 5, 6, 7, 9]
    text = {i: " | ".join(r for _, r in v) for i, v in problems.items()}
    assert "duplicate key (order_id, line_no) = ('O1', 1)" in text[1]
    assert "quantity must be > 0 unless the line is a return" in text[2]
    assert "discount must be between 0 and 1 (got 1.5)" in text[4]
    assert "net_amount must be a finite number" in text[5]
    assert text[6] == "customer_id is empty (required)"
    assert "rep_id not found in reps.rep_id (got 'R9')" in text[7]
    assert problems[2][0][0] == "quantity"  # the column blamed


def test_append_quarantines_keys_already_in_the_warehouse():
    df = _orders(
        [("O1", 1, D, "C1", "R1", 1, 0, 5.0, False), ("O1", 2, D, "C1", "R1", 1, 0, 5.0, False)]
    )
    existing = pd.MultiIndex.from_tuples([("O1", 2)], names=["order_id", "line_no"])
    problems = check_frame("orders", df, existing_keys=existing)
    assert list(problems) == [1]
    assert "already in the warehouse" in problems[1][0][1]


def test_opportunity_status_must_be_open_won_or_lost():
    df = pd.DataFrame(
        {
            "opportunity_id": ["A", "B", "C"],
            "stage": ["x", "y", "z"],
            "status": ["won", "Won", "pending"],
        }
    ).astype("str")
    problems = check_frame("opportunities", df)
    assert sorted(problems) == [1, 2]


def test_every_table_has_a_schema_with_its_key_and_required_columns():
    for name, t in TABLES.items():
        schema = table_schema(name)
        assert set(schema.columns) == set(t.column_names), name
        for c in t.columns:
            assert schema.columns[c.name].nullable is (not c.required), (name, c.name)
        assert schema.unique == list(t.key), name


# ---- salesnb validate --------------------------------------------------------------


def _warehouse(path: Path, bad: bool) -> Path:
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE reps (rep_id VARCHAR, name VARCHAR)")
    con.execute("INSERT INTO reps VALUES ('R1', 'Ann'), ('R2', 'Bo')")
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, line_no BIGINT, order_date DATE, customer_id VARCHAR, "
        "rep_id VARCHAR, quantity DOUBLE, discount DOUBLE, net_amount DOUBLE)"
    )
    rows = [
        ("O1", 1, "2024-01-01", "C1", "R1", 1.0, 0.1, 10.0),
        ("O2", 1, "2024-01-02", "C2", "R2", 2.0, 0.0, 20.0),
    ]
    if bad:
        rows += [
            ("O2", 1, "2024-01-02", "C2", "R2", 2.0, 0.0, 20.0),  # duplicate key
            ("O3", 1, "2024-01-03", "C3", "R7", 1.0, 0.0, 5.0),  # unknown rep
            ("O4", 1, "2024-01-04", "C4", "R1", -3.0, 2.0, 5.0),  # negative qty, discount 2
        ]
    con.executemany("INSERT INTO orders VALUES (?, ?, ?, ?, ?, ?, ?, ?)", rows)
    con.close()
    return path


def test_validate_finds_each_problem_with_counts(tmp_path):
    report = validate_warehouse(_warehouse(tmp_path / "bad.duckdb", bad=True))
    by = {(p["table"], p["check"], p["column"]): p for p in report.problems}
    assert by[("orders", "unique_key", "order_id,line_no")]["rows"] == 1
    assert by[("orders", "foreign_key", "rep_id")]["rows"] == 1
    assert by[("orders", "foreign_key", "rep_id")]["examples"] == ["R7"]
    assert by[("orders", "row_rule", "quantity")]["rows"] == 1
    assert by[("orders", "row_rule", "discount")]["rows"] == 1
    assert len(report.problems) == 4
    js = report.as_json()
    assert js["ok"] is False and js["tables"]["orders"] == {"rows": 5, "problems": 4}
    assert "4 problem(s) found" in report.summary()


def test_validate_cli_exit_codes(tmp_path):
    good = _warehouse(tmp_path / "good.duckdb", bad=False)
    bad = _warehouse(tmp_path / "bad.duckdb", bad=True)
    run = [sys.executable, "-m", "salesnb.cli", "validate"]
    ok = subprocess.run(run + [str(good), "--json"], capture_output=True, text=True, cwd=ROOT)
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["ok"] is True
    ko = subprocess.run(run + [str(bad)], capture_output=True, text=True, cwd=ROOT)
    assert ko.returncode == 1
    assert "rep_id not found in reps.rep_id" in ko.stdout
    missing = subprocess.run(
        run + [str(tmp_path / "nope.duckdb")], capture_output=True, text=True, cwd=ROOT
    )
    assert missing.returncode == 2
    assert len(missing.stderr.strip().splitlines()) == 1 and "nope.duckdb" in missing.stderr


def test_validate_reports_a_missing_required_column(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders (order_id VARCHAR, line_no BIGINT, customer_id VARCHAR, quantity DOUBLE, net_amount DOUBLE)"
    )
    con.execute("INSERT INTO orders VALUES ('O1', 1, 'C1', 1, 1)")
    con.close()
    report = validate_warehouse(path)
    assert [(p["column"], p["check"]) for p in report.problems] == [
        ("order_date", "required_column")
    ]


@pytest.mark.parametrize("rows", [1, 7])
def test_validate_batches_see_every_row(tmp_path, rows):
    # The row rules run batch by batch: a bad row in any batch is found and counted once.
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders AS SELECT 'O' || i AS order_id, 1::BIGINT AS line_no, DATE '2024-01-01' AS order_date, "
        "'C' AS customer_id, CASE WHEN i % 5 = 4 THEN -1.0 ELSE 1.0 END AS quantity, 1.0 AS net_amount "
        "FROM range(20) t(i)"
    )
    con.close()
    report = validate_warehouse(path, batch_rows=rows)
    (p,) = report.problems
    assert p["column"] == "quantity" and p["rows"] == 4


def test_validate_needs_no_orders_and_reports_impossible_sequences(tmp_path):
    # a CRM export: deals and leads, no orders. Two deals close before they were created, one
    # lead converts into a deal that does not exist (a key problem, reported once).
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE opportunities AS SELECT * FROM (VALUES "
        "('D1', 'Won', 'won', DATE '2024-01-10', DATE '2024-01-05'), "
        "('D2', 'Lost', 'lost', DATE '2024-02-01', DATE '2024-01-31'), "
        "('D3', 'Won', 'won', DATE '2024-02-01', DATE '2024-03-01')) "
        "t(opportunity_id, stage, status, created_date, close_date)"
    )
    con.execute(
        "CREATE TABLE leads AS SELECT * FROM (VALUES "
        "('L1', DATE '2024-01-01', 'D3'), ('L2', DATE '2024-01-02', 'D9'), ('L3', DATE '2024-01-03', NULL)) "
        "t(lead_id, created_date, converted_opportunity_id)"
    )
    con.close()
    report = validate_warehouse(path)
    by = {(p["table"], p["check"], p["column"]): p for p in report.problems}
    assert set(by) == {
        ("opportunities", "sequence", "close_date"),
        ("leads", "foreign_key", "converted_opportunity_id"),
    }
    won, lost = (
        p for p in report.problems if p["check"] == "sequence"
    )  # won before created, then a negative cycle time
    assert (won["rows"], lost["rows"]) == (1, 1)
    assert "won_before_created" in won["message"] and "negative_cycle_time" in lost["message"]
    assert won["examples"] == [
        "D1: status=won created_date=2024-01-10 close_date=2024-01-05 cycle_days=-5"
    ]
    assert by[("leads", "foreign_key", "converted_opportunity_id")]["examples"] == ["D9"]
    assert any("orders is absent" in n for n in report.notes)


def test_validate_without_any_canonical_table(tmp_path):
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE notes (x INT)")
    con.close()
    (p,) = validate_warehouse(path).problems
    assert p["check"] == "tables" and "expected at least one of orders, customers" in p["message"]
