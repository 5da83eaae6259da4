"""Mapping features of `salesnb ingest`, each on a tiny folder written by the test itself.

Row filters (``where:``), optional lookups, links that do not resolve, hints for tables
an expression names without declaring them, the accounting of lookup files, null markers
(``null_values:``), ids that stay text, and closed sets of values. Every expected count is
worked out by hand in the comments next to the data; every test checks that the rows read
are accounted for: rows in = accepted + quarantined (+ filtered by ``where:``).
"""

from __future__ import annotations

import hashlib
import json
import subprocess
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from ingested import quarantine, query

from salesnb.errors import InputError
from salesnb.sources.ingest import ingest, load_mapping

# ---- helpers -----------------------------------------------------------------------


def write(folder: Path, name: str, text: str) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    p = folder / name
    p.write_text(text, encoding="utf-8")
    return p


def closes(out: dict) -> dict:
    """Every table's rows are accounted for; lookups too. Returns ``out`` for chaining."""
    for table, c in out["tables"].items():
        assert c["rows_in"] == c["accepted"] + c["quarantined"] + c.get("filtered", 0), table
    for name, c in out.get("lookups", {}).items():
        assert c["rows_in"] == c["accepted"] + c["malformed"], name
    return out


def digests(folder: Path) -> dict:
    return {p.name: hashlib.sha256(p.read_bytes()).hexdigest() for p in folder.iterdir()}


def fails(capsys, folder: Path, db: Path, mapping: Path, *expect: str) -> str:
    """The CLI (in this process) stops with exit 2 and one line; nothing is written."""
    from salesnb.cli import main

    before = digests(folder)
    existed = db.exists()
    capsys.readouterr()
    code = main(["ingest", str(folder), "--into", str(db), "--mapping", str(mapping)])
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert code == 2, err
    assert len(lines) == 1 and "Traceback" not in err, err
    for e in expect:
        assert e in lines[0], lines[0]
    assert digests(folder) == before
    assert db.exists() == existed
    return lines[0]


SALES_HEADER = "Order,Line,Date,Client,Qty,Sales,Kind\n"


def sales_mapping(tmp_path: Path, extra: str = "", top: str = "") -> Path:
    mp = tmp_path / "shop.yaml"
    mp.write_text(
        f"""
name: shop
{top}
tables:
  orders:
    file: sales.csv
    columns: {{order_id: Order, order_date: Date, customer_id: Client, quantity: Qty, net_amount: Sales}}
    derive:
      line_no: 'row_number() OVER (PARTITION BY "Order" ORDER BY "Line")'
{extra}
"""
    )
    return mp


# ---- 1. where: row filters ---------------------------------------------------------


def test_where_skips_rows_counts_them_and_numbers_the_rest(tmp_path, capsys):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        SALES_HEADER
        + "A,1,2024-01-01,c1,1,100,test\n"  # line 2: filtered (a test order)
        + "A,2,2024-01-01,c1,2,50,sale\n"  # line 3: accepted, line_no 1 (A's only row left)
        + "B,1,2024-01-02,c2,1,30,sale\n"  # line 4: accepted
        + "C,1,2024-13-40,c3,1,10,sale\n"  # line 5: quarantined (not a date)
        + "D,1,2024-01-03,c4,1,20,TEST\n"  # line 6: filtered (lower() makes it 'test')
        + "E,1,2024-01-04,c5,1,5,\n"  # line 7: filtered (Kind empty: the condition is NULL)
        + "F,1,2024-01-05,c6\n",  # line 8: quarantined (truncated line)
    )
    mp = sales_mapping(tmp_path, "    where: lower(\"Kind\") <> 'test'")
    db = tmp_path / "w.duckdb"
    before = digests(src)
    result = ingest(src, into=db, mapping=str(mp))
    assert digests(src) == before  # input files are only read
    out = closes(result.as_json())
    # 7 data lines = 2 accepted + 2 quarantined + 3 filtered
    assert out["tables"]["orders"] == {
        "rows_in": 7,
        "accepted": 2,
        "quarantined": 2,
        "filtered": 3,
    }
    assert query(db, "SELECT order_id, line_no, net_amount FROM orders ORDER BY 1") == [
        ("A", 1, 50.0),
        ("B", 1, 30.0),
    ]
    assert quarantine(db).row_number.tolist() == [5, 8]
    summary = result.summary()
    assert "filtered" in summary.splitlines()[1]
    assert summary.splitlines()[2].split()[:5] == ["orders", "7", "2", "2", "3"]
    # Kind is read by the filter: it is not listed as an unused column.
    assert "Kind" not in summary
    # --json carries the same counts.
    from salesnb.cli import main

    capsys.readouterr()
    assert main(["ingest", str(src), "--into", str(db), "--mapping", str(mp), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["tables"]["orders"]["filtered"] == 3


def test_where_quarantines_a_cell_it_cannot_read_and_stops_on_a_bad_condition(tmp_path, capsys):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        SALES_HEADER
        + "A,1,2024-01-01,c1,1,100,sale\n"  # line 2: 100 > 40, accepted
        + "B,1,2024-01-02,c2,1,30,sale\n"  # line 3: 30 > 40 is false, filtered
        + "C,1,2024-01-03,c3,1,oops,sale\n"  # line 4: not a number: quarantined, not filtered
        + 'D,1,2024-01-04,c4,1,"1,000",sale\n',  # line 5: 1,000 is a number: accepted
    )
    mp = sales_mapping(tmp_path, "    where: '\"Sales\" > 40'")
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["tables"]["orders"] == {
        "rows_in": 4,
        "accepted": 2,
        "quarantined": 1,
        "filtered": 1,
    }
    q = quarantine(db)
    assert q.row_number.tolist() == [4]
    assert "'oops' is not a number (needed by where of orders)" in q.reason.iloc[0]
    # A condition naming a column the file does not have: one line, nothing written.
    mp = sales_mapping(tmp_path, "    where: '\"Salez\" > 40'")
    fails(capsys, src, tmp_path / "new.duckdb", mp, "sales.csv", "where of table orders", "Salez")
    # A where that is not a string is a mapping mistake.
    mp = sales_mapping(tmp_path, "    where: [1, 2]")
    with pytest.raises(
        InputError, match=r"shop.yaml, line 10: tables.orders.where: must be one SQL condition"
    ):
        load_mapping(mp)


# ---- 2. optional lookups -----------------------------------------------------------

RETURNS_MAPPING_EXTRA = """      returned: '"Order" IN (SELECT "Order" FROM returns)'
"""


def _returns_folder(tmp_path: Path, with_returns: bool) -> Path:
    src = tmp_path / ("with" if with_returns else "without")
    write(
        src,
        "sales.csv",
        SALES_HEADER + "A,1,2024-01-01,c1,1,100,sale\nB,1,2024-01-02,c2,1,30,sale\n",
    )
    if with_returns:
        write(src, "returns.csv", "Order\nB\n")
    return src


def test_optional_lookup_absent_leaves_its_columns_empty(tmp_path, capsys):
    mp = sales_mapping(
        tmp_path,
        RETURNS_MAPPING_EXTRA,
        top="lookups:\n  returns: {file: returns.csv, optional: true}",
    )
    # Absent: the rows load, returned is empty, and the summary says why.
    db = tmp_path / "w.duckdb"
    result = ingest(_returns_folder(tmp_path, False), into=db, mapping=str(mp))
    out = closes(result.as_json())
    assert out["tables"]["orders"] == {"rows_in": 2, "accepted": 2, "quarantined": 0}
    assert out["lookups"] == {
        "returns": {"rows_in": 0, "accepted": 0, "malformed": 0, "files": [], "missing": True}
    }
    assert query(db, "SELECT order_id, returned FROM orders ORDER BY 1") == [
        ("A", None),
        ("B", None),
    ]
    assert "returns.csv not found (optional): left empty: orders.returned" in result.summary()
    # Present: the lookup is read (1 row) and used.
    db2 = tmp_path / "w2.duckdb"
    out = closes(ingest(_returns_folder(tmp_path, True), into=db2, mapping=str(mp)).as_json())
    assert out["lookups"]["returns"] == {
        "rows_in": 1,
        "accepted": 1,
        "malformed": 0,
        "files": ["returns.csv"],
        "missing": False,
    }
    assert query(db2, "SELECT order_id, returned FROM orders ORDER BY 1") == [
        ("A", False),
        ("B", True),
    ]
    # Not optional and absent: one line that says how to make it optional.
    mp_required = sales_mapping(
        tmp_path, RETURNS_MAPPING_EXTRA, top="lookups:\n  returns: {file: returns.csv}"
    )
    fails(
        capsys,
        _returns_folder(tmp_path / "again", False),
        tmp_path / "new.duckdb",
        mp_required,
        "returns.csv",
        "lookup 'returns'",
        "optional: true",
    )


def test_absent_optional_lookup_cannot_feed_a_required_column_or_a_filter(tmp_path, capsys):
    top = "lookups:\n  codes: {file: codes.csv, optional: true}"
    src = _returns_folder(tmp_path, False)
    # customer_id is required: it cannot be left empty for every row.
    mp = tmp_path / "req.yaml"
    mp.write_text(
        f"""
{top}
tables:
  orders:
    file: sales.csv
    columns: {{order_id: Order, order_date: Date, quantity: Qty, net_amount: Sales}}
    constants: {{line_no: 1}}
    derive:
      customer_id: '(SELECT max(code) FROM codes WHERE codes.client = src."Client")'
"""
    )
    fails(capsys, src, tmp_path / "new.duckdb", mp, "sales.csv", "customer_id is required", "codes")
    mp = sales_mapping(tmp_path, "    where: '\"Client\" IN (SELECT client FROM codes)'", top=top)
    fails(capsys, src, tmp_path / "new.duckdb", mp, "sales.csv", "where", "codes", "absent")
    # An unknown key in a lookup is a mapping mistake.
    mp = sales_mapping(tmp_path, "", top="lookups:\n  codes: {file: codes.csv, optinal: true}")
    with pytest.raises(InputError, match=r"shop.yaml, line 4: lookups.codes.optinal: unknown key"):
        load_mapping(mp)


# ---- 3. links that do not resolve --------------------------------------------------

ORDERS_HEADER = "order_id,line_no,order_date,customer_id,rep_id,quantity,net_amount\n"


def test_unresolved_optional_foreign_key_is_blanked_and_warned(tmp_path):
    src = tmp_path / "canon"
    write(src, "reps.csv", "rep_id,name\nR1,Ann\n")
    write(src, "customers.csv", "customer_id,name\nC1,Acme\n")
    write(
        src,
        "orders.csv",
        ORDERS_HEADER
        + "O1,1,2024-01-01,C1,R1,1,10\n"  # line 2: resolves
        + "O2,1,2024-01-02,C1,R9,1,20\n"  # line 3: R9 not a rep: rep_id optional -> blank, warn
        + "O3,1,2024-01-03,C9,R1,1,30\n"  # line 4: C9 not a customer: required -> quarantined
        + "O4,1,2024-01-04,C9,R9,1,40\n",  # line 5: both: quarantined, both reasons
    )
    db = tmp_path / "w.duckdb"
    result = ingest(src, into=db)
    out = closes(result.as_json())
    assert out["tables"]["orders"] == {
        "rows_in": 4,
        "accepted": 2,
        "quarantined": 2,
        "warnings": 1,
    }
    assert query(db, "SELECT order_id, rep_id FROM orders ORDER BY 1") == [
        ("O1", "R1"),
        ("O2", None),
    ]
    q = quarantine(db)
    q = q[q.table_name == "orders"]
    assert q.row_number.tolist() == [3, 4, 5]
    assert q.severity.tolist() == ["warning", "error", "error"]
    assert q.column_name.iloc[0] == "rep_id"
    assert q.reason.iloc[0] == "rep_id not found in reps.rep_id (got 'R9')"
    assert "customer_id not found in customers.customer_id" in q.reason.iloc[1]
    assert "rep_id not found" in q.reason.iloc[2] and "customer_id not found" in q.reason.iloc[2]
    assert json.loads(q.raw.iloc[0])["rep_id"] == "R9"  # the raw row keeps the value
    assert "values left empty, rows loaded" in result.summary()
    assert "orders: rep_id not found in reps.rep_id (1 rows)" in result.summary()


def test_link_through_a_lookup_that_finds_nothing_is_blanked_and_warned(tmp_path):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        "Order,Date,Client,Qty,Sales,Region\n"
        "A,2024-01-01,c1,1,100,North\n"  # line 2: Ann
        "B,2024-01-02,c2,1,30,Mars\n"  # line 3: no such region: rep_id left empty (warning)
        "C,2024-01-03,c3,1,10,\n",  # line 4: no region at all: empty, no warning
    )
    write(src, "people.csv", "Region,Person\nNorth,Ann\n")
    mp = tmp_path / "m.yaml"
    mp.write_text(
        """
lookups:
  people: {file: people.csv}
tables:
  orders:
    file: sales.csv
    columns: {order_id: Order, order_date: Date, customer_id: Client, quantity: Qty, net_amount: Sales}
    constants: {line_no: 1}
    derive:
      rep_id: '(SELECT max(p."Person") FROM people p WHERE p."Region" = src."Region")'
"""
    )
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["tables"]["orders"] == {
        "rows_in": 3,
        "accepted": 3,
        "quarantined": 0,
        "warnings": 1,
    }
    assert query(db, "SELECT order_id, rep_id FROM orders ORDER BY 1") == [
        ("A", "Ann"),
        ("B", None),
        ("C", None),
    ]
    q = quarantine(db)
    assert q.row_number.tolist() == [3]
    assert q.severity.tolist() == ["warning"]
    assert q.reason.tolist() == ["rep_id: no match in lookup people"]


# ---- 4. an expression naming a table it was not given ------------------------------


def test_undeclared_table_gets_a_one_line_lookups_hint(tmp_path, capsys):
    src = _returns_folder(tmp_path, True)  # returns.csv is in the folder, not declared
    mp = sales_mapping(tmp_path, RETURNS_MAPPING_EXTRA)
    fails(
        capsys,
        src,
        tmp_path / "new.duckdb",
        mp,
        "sales.csv",
        "derive orders.returned",
        "'returns' is not declared",
        "declare it under lookups:",
        "returns: {file: returns.csv}",
    )
    # A quoted name with a space: the hint suggests a plain lookup name for the same file.
    write(src, "My Returns.csv", "Order\nB\n")
    mp = sales_mapping(
        tmp_path, """      returned: '"Order" IN (SELECT "Order" FROM "My Returns")'\n"""
    )
    fails(
        capsys,
        src,
        tmp_path / "new.duckdb",
        mp,
        "'My Returns' is not declared",
        "my_returns: {file: My Returns.csv}",
    )
    # Reading the file by its name is refused the same way, with the same hint.
    mp = sales_mapping(
        tmp_path, """      returned: '"Order" IN (SELECT "Order" FROM ''returns.csv'')'\n"""
    )
    fails(
        capsys,
        src,
        tmp_path / "new.duckdb",
        mp,
        "derive orders.returned",
        "expressions cannot read files",
        "declare returns.csv under lookups:",
    )
    # A filter naming an undeclared table: the same hint.
    mp = sales_mapping(tmp_path, '    where: \'"Order" NOT IN (SELECT "Order" FROM returns)\'')
    fails(
        capsys,
        src,
        tmp_path / "new.duckdb",
        mp,
        "where of table orders",
        "'returns' is not declared",
        "lookups:",
    )


# ---- 5. lookup files get the accounting of tables ----------------------------------


def test_malformed_lookup_lines_are_counted_quarantined_and_said_last(tmp_path, capsys):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        "Order,Date,Client,Qty,Sales,Region\n"
        "A,2024-01-01,c1,1,100,North\n"
        "B,2024-01-02,c2,1,30,South\n"  # South's line in people.csv is malformed: no rep
        "C,2024-01-03,c3,1,10,West\n",
    )
    write(
        src,
        "people.csv",
        "Region,Person\n"
        "North,Ann\n"  # line 2
        "South,Smith, Bob\n"  # line 3: an unquoted comma: 3 fields, the header has 2
        "West,Cy\n",  # line 4
    )
    mp = tmp_path / "m.yaml"
    mp.write_text(
        """
lookups:
  people: {file: people.csv}
tables:
  orders:
    file: sales.csv
    columns: {order_id: Order, order_date: Date, customer_id: Client, quantity: Qty, net_amount: Sales}
    constants: {line_no: 1}
    derive:
      rep_id: '(SELECT max(p."Person") FROM people p WHERE p."Region" = src."Region")'
"""
    )
    db = tmp_path / "w.duckdb"
    result = ingest(src, into=db, mapping=str(mp))
    out = closes(result.as_json())
    # people.csv: 3 data lines = 2 read + 1 malformed
    assert out["lookups"] == {
        "people": {
            "rows_in": 3,
            "accepted": 2,
            "malformed": 1,
            "files": ["people.csv"],
            "missing": False,
        }
    }
    assert out["tables"]["orders"] == {
        "rows_in": 3,
        "accepted": 3,
        "quarantined": 0,
        "warnings": 1,
    }
    q = quarantine(db)
    lk = q[q.table_name == "lookup:people"]
    assert lk.source_file.tolist() == ["people.csv"]
    assert lk.row_number.tolist() == [3]
    assert lk.severity.tolist() == ["error"]
    assert "line has 3 fields, the header has 2" in lk.reason.iloc[0]
    assert json.loads(lk.raw.iloc[0]) == {"line": "South,Smith, Bob"}
    last = result.summary().splitlines()[-1]
    assert "LOOKUP LINES LOST" in last and "people.csv line 3" in last
    # The CLI's --json has the lookups key; its summary ends with the same line.
    from salesnb.cli import main

    capsys.readouterr()
    assert main(["ingest", str(src), "--into", str(db), "--mapping", str(mp), "--json"]) == 0
    assert json.loads(capsys.readouterr().out)["lookups"]["people"]["malformed"] == 1
    assert main(["ingest", str(src), "--into", str(db), "--mapping", str(mp)]) == 0
    assert "LOOKUP LINES LOST" in capsys.readouterr().out.strip().splitlines()[-1]
    # Re-ingesting replaces the lookup's quarantine lines instead of piling them up.
    assert len(quarantine(db).query("table_name == 'lookup:people'")) == 1


def test_a_clean_ingest_has_no_lookup_loss_line(tmp_path):
    src = _returns_folder(tmp_path, True)
    mp = sales_mapping(
        tmp_path, RETURNS_MAPPING_EXTRA, top="lookups:\n  returns: {file: returns.csv}"
    )
    result = ingest(src, into=tmp_path / "w.duckdb", mapping=str(mp))
    assert "LOST" not in result.summary()


# ---- 6. null markers ---------------------------------------------------------------


def _profit_folder(tmp_path: Path) -> Path:
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        "Order,Date,Client,Qty,Sales,Profit,Region\n"
        "A,2024-01-01,c1,1,100,20,North\n"  # cost 80
        "B,2024-01-02,c2,2,50,NULL,N/A\n"  # cost unknown, region unknown
        "C,2024-01-03,c3,3,30,-,South\n"  # cost unknown
        "D,2024-01-04,c4,1,40,10,South\n"  # cost 30
        "E,2024-01-05,c5,1,25,5,West\n",  # cost 20
    )
    return src


PROFIT_EXTRA = """      cost: '"Sales" - "Profit"'
"""


def _profit_mapping(tmp_path: Path, top: str = "", source: str = "") -> Path:
    mp = tmp_path / "p.yaml"
    mp.write_text(
        f"""
{top}
tables:
  orders:
    file: sales.csv
    columns: {{order_id: Order, order_date: Date, customer_id: Client, quantity: Qty, net_amount: Sales, region: Region}}
    constants: {{line_no: 1}}
    derive:
{PROFIT_EXTRA}{source}
"""
    )
    return mp


def test_null_markers_become_empty_before_anything_else(tmp_path):
    src = _profit_folder(tmp_path)
    # Without markers: 'NULL' and '-' are not numbers, so their rows (B, C) are quarantined.
    db = tmp_path / "before.duckdb"
    out = closes(ingest(src, into=db, mapping=str(_profit_mapping(tmp_path))).as_json())
    assert out["tables"]["orders"] == {"rows_in": 5, "accepted": 3, "quarantined": 2}
    assert quarantine(db).row_number.tolist() == [3, 4]
    # With the mapping's markers: every row loads, the marked cells are empty.
    db = tmp_path / "after.duckdb"
    mp = _profit_mapping(tmp_path, top='null_values: ["NULL", "N/A", "-"]')
    assert load_mapping(mp).null_values == ["NULL", "N/A", "-"]
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["tables"]["orders"] == {"rows_in": 5, "accepted": 5, "quarantined": 0}
    assert query(db, "SELECT order_id, cost, region FROM orders ORDER BY 1") == [
        ("A", 80.0, "North"),
        ("B", None, None),
        ("C", None, "South"),
        ("D", 30.0, "South"),
        ("E", 20.0, "West"),
    ]
    # A source's own list replaces the mapping's: here only NULL is a marker.
    db = tmp_path / "source.duckdb"
    mp = _profit_mapping(
        tmp_path, top='null_values: ["N/A", "-"]', source='    null_values: ["null"]\n'
    )
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    # NULL matches (case does not matter); '-' is no longer a marker: C is quarantined.
    assert out["tables"]["orders"] == {"rows_in": 5, "accepted": 4, "quarantined": 1}
    assert query(db, "SELECT order_id, region FROM orders WHERE order_id < 'C' ORDER BY 1") == [
        ("A", "North"),
        ("B", "N/A"),
    ]
    assert quarantine(db).row_number.tolist() == [4]


def test_a_column_of_nothing_but_null_markers_no_longer_stops_the_ingest(tmp_path, capsys):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        "Order,Date,Client,Qty,Sales,Profit,Region\n"
        "A,2024-01-01,c1,1,100,NULL,North\n"
        "B,2024-01-02,c2,2,50,NULL,South\n",
    )
    fails(
        capsys,
        src,
        tmp_path / "new.duckdb",
        _profit_mapping(tmp_path),
        "sales.csv",
        "derive orders.cost",
    )
    db = tmp_path / "w.duckdb"
    # A bare NULL in a YAML list is YAML's null: it can only mean the text NULL.
    mp = _profit_mapping(tmp_path, top="null_values: [NULL]")
    assert load_mapping(mp).null_values == ["NULL"]
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["tables"]["orders"] == {"rows_in": 2, "accepted": 2, "quarantined": 0}
    assert query(db, "SELECT count(*), count(cost) FROM orders") == [(2, 0)]


def test_null_markers_apply_to_lookups(tmp_path):
    src = tmp_path / "shop"
    write(
        src,
        "sales.csv",
        SALES_HEADER + "A,1,2024-01-01,c1,1,100,sale\nB,1,2024-01-02,c2,1,30,sale\n",
    )
    # 'NULL' in the returns list would otherwise be an order id; '-' is not one either.
    write(src, "returns.csv", "Order\nB\nNULL\n")
    mp = sales_mapping(
        tmp_path,
        RETURNS_MAPPING_EXTRA.replace("IN (SELECT", "IN (SELECT").replace(
            "FROM returns)", 'FROM returns WHERE "Order" IS NOT NULL)'
        ),
        top='lookups:\n  returns: {file: returns.csv, null_values: ["NULL"]}',
    )
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["lookups"]["returns"]["accepted"] == 2
    assert query(db, "SELECT order_id, returned FROM orders ORDER BY 1") == [
        ("A", False),
        ("B", True),
    ]
    with pytest.raises(InputError, match=r"p.yaml, line 2: null_values: must be a list"):
        load_mapping(_profit_mapping(tmp_path, top="null_values: {a: b}"))
    # A bare NULL on its own is YAML's nothing: say how to write it.
    with pytest.raises(
        InputError, match=r"p.yaml, line 2: null_values: .*YAML reads a bare NULL as nothing"
    ):
        load_mapping(_profit_mapping(tmp_path, top="null_values: NULL"))


# ---- 7. ids stay text --------------------------------------------------------------


def test_ids_read_from_numbers_do_not_become_floats(tmp_path):
    src = tmp_path / "num"
    # A CSV written from a float column (how pandas writes ids next to a blank): 1.0, 2.0.
    write(src, "reps.csv", "rep_id,name\n1.0,Ann\n2.0,Bo\n")
    # Parquet with float ids and a missing one.
    pd.DataFrame({"customer_id": [7.0, 8.0, None], "name": ["x", "y", "z"]}).to_parquet(
        src / "customers.parquet"
    )
    write(
        src,
        "orders.csv",
        ORDERS_HEADER
        + "1001.0,1,2024-01-01,7.0,1,1,10\n"  # ids 1001, 7 and rep 1: all resolve
        + "1002.0,1,2024-01-02,8,2.0,1,20\n",
    )
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db).as_json())
    # customers: the row without an id is quarantined (customer_id is required).
    assert out["tables"] == {
        "orders": {"rows_in": 2, "accepted": 2, "quarantined": 0},
        "customers": {"rows_in": 3, "accepted": 2, "quarantined": 1},
        "reps": {"rows_in": 2, "accepted": 2, "quarantined": 0},
    }
    assert query(db, "SELECT rep_id FROM reps ORDER BY 1") == [("1",), ("2",)]
    assert query(db, "SELECT customer_id FROM customers ORDER BY 1") == [("7",), ("8",)]
    assert query(db, "SELECT order_id, customer_id, rep_id FROM orders ORDER BY 1") == [
        ("1001", "7", "1"),
        ("1002", "8", "2"),
    ]


def test_ids_built_by_expressions_from_numbers_have_no_dot_zero(tmp_path):
    src = tmp_path / "inv"
    write(
        src,
        "lines.csv",
        "Invoice,Line,Date,Client,Qty,Amount\n"
        "1001,1,2024-01-01,55,2,10.5\n"
        "1001,2,2024-01-01,55,1,4\n"
        "1002,1,2024-01-02,56,1,3.25\n",
    )
    mp = tmp_path / "inv.yaml"
    mp.write_text(
        """
tables:
  orders:
    file: lines.csv
    columns: {order_date: Date, quantity: Qty, net_amount: Amount}
    derive:
      order_id: '"Invoice" || ''-'' || "Line"'
      line_no: '"Line"'
      customer_id: 'CAST("Client" AS VARCHAR)'
      unit_price: '"Amount" / "Qty"'
"""
    )
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db, mapping=str(mp)).as_json())
    assert out["tables"]["orders"] == {"rows_in": 3, "accepted": 3, "quarantined": 0}
    assert query(db, "SELECT order_id, customer_id, unit_price FROM orders ORDER BY 1") == [
        ("1001-1", "55", 5.25),
        ("1001-2", "55", 4.0),
        ("1002-1", "56", 3.25),
    ]


# ---- 8. closed sets ----------------------------------------------------------------


def test_values_outside_a_closed_set_are_blanked_or_refused(tmp_path):
    src = tmp_path / "crm"
    write(
        src,
        "deals.csv",
        "Deal,Stage,Owner\n"
        "D1,Won,ann\n"  # line 2: won
        "D2,Lost,bo\n"  # line 3: lost
        "D3,Negotiation,ann\n"  # line 4: not covered by the map; status required: quarantined
        "D4,OPEN,bo\n",  # line 5: not in the map, but 'open' ignoring case: open
    )
    write(
        src,
        "owners.csv",
        "Owner,Title\n"
        "ann,Manager\n"  # manager (case fixed)
        "bo,Vice President\n"  # not a role: role optional -> left empty, warning
        "cy,senior\n",
    )
    mp = tmp_path / "crm.yaml"
    mp.write_text(
        """
tables:
  opportunities:
    file: deals.csv
    columns: {opportunity_id: Deal, stage: Stage, status: Stage, rep_id: Owner}
    values:
      status: {Won: won, Lost: lost}
  reps:
    file: owners.csv
    columns: {rep_id: Owner, role: Title}
"""
    )
    db = tmp_path / "w.duckdb"
    result = ingest(src, into=db, mapping=str(mp))
    out = closes(result.as_json())
    assert out["tables"] == {
        "reps": {"rows_in": 3, "accepted": 3, "quarantined": 0, "warnings": 1},
        "opportunities": {"rows_in": 4, "accepted": 3, "quarantined": 1},
    }
    assert query(db, "SELECT rep_id, role FROM reps ORDER BY 1") == [
        ("ann", "manager"),
        ("bo", None),
        ("cy", "senior"),
    ]
    assert query(db, "SELECT opportunity_id, status FROM opportunities ORDER BY 1") == [
        ("D1", "won"),
        ("D2", "lost"),
        ("D4", "open"),
    ]
    q = quarantine(db)
    deals = q[q.table_name == "opportunities"]
    assert deals.row_number.tolist() == [4] and deals.severity.tolist() == ["error"]
    assert deals.reason.iloc[0] == (
        "status: 'Negotiation' is not one of open, won, lost "
        "(not covered by values: status in the mapping)"
    )
    reps = q[q.table_name == "reps"]
    assert reps.row_number.tolist() == [3] and reps.severity.tolist() == ["warning"]
    assert reps.reason.iloc[0].startswith(
        "role: 'Vice President' is not one of rep, senior, manager, director"
    )


def test_closed_set_in_a_canonical_folder(tmp_path):
    src = tmp_path / "canon"
    write(src, "reps.csv", "rep_id,role\nR1,rep\nR2,vp\n")
    write(src, "orders.csv", ORDERS_HEADER + "O1,1,2024-01-01,C1,R2,1,10\n")
    db = tmp_path / "w.duckdb"
    out = closes(ingest(src, into=db).as_json())
    assert out["tables"]["reps"] == {
        "rows_in": 2,
        "accepted": 2,
        "quarantined": 0,
        "warnings": 1,
    }
    assert query(db, "SELECT rep_id, role FROM reps ORDER BY 1") == [("R1", "rep"), ("R2", None)]
    q = quarantine(db)
    assert q.reason.tolist() == ["role: 'vp' is not one of rep, senior, manager, director"]


# ---- the quarantine table of an older warehouse ------------------------------------


def test_append_to_a_warehouse_whose_quarantine_has_no_severity(tmp_path):
    src = tmp_path / "canon"
    write(src, "orders.csv", ORDERS_HEADER + "O1,1,2024-01-01,C1,R1,1,10\nO2,1,bad,C1,R1,1,10\n")
    db = tmp_path / "w.duckdb"
    ingest(src, into=db)
    con = duckdb.connect(str(db))
    con.execute("ALTER TABLE quarantine DROP COLUMN severity")
    con.close()
    month = tmp_path / "month"
    write(month, "orders.csv", ORDERS_HEADER + "O3,1,2024-02-01,C1,R1,1,10\nO4,1,worse,C1,R1,1,1\n")
    out = closes(ingest(month, into=db, append=True).as_json())
    assert out["tables"]["orders"] == {"rows_in": 2, "accepted": 1, "quarantined": 1}
    assert query(db, "SELECT row_number, severity FROM quarantine ORDER BY raw") == [
        (3, "error"),
        (3, "error"),
    ]


def test_shipped_mappings_still_parse():
    for name in ("maven-crm", "superstore", "cdnow"):
        m = load_mapping(name)
        assert m.sources and m.null_values == []
        assert all(s.where is None for s in m.sources)


def test_cli_subprocess_prints_one_line_for_a_hint(tmp_path):
    """The same hint through a real ``python -m salesnb.cli``: exit 2, no traceback."""
    import sys

    src = _returns_folder(tmp_path, True)
    mp = sales_mapping(tmp_path, RETURNS_MAPPING_EXTRA)
    r = subprocess.run(
        [sys.executable, "-m", "salesnb.cli", "ingest", src, "--into", tmp_path / "w.duckdb"]
        + ["--mapping", mp],
        capture_output=True,
        text=True,
        cwd=Path(__file__).resolve().parents[2],
    )
    assert r.returncode == 2
    assert len(r.stderr.strip().splitlines()) == 1 and "Traceback" not in r.stderr
    assert "declare it under lookups:" in r.stderr
