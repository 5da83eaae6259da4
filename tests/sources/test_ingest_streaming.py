"""The streaming ingest (DuckDB reads and checks the files) against the in-memory one.

Each folder is ingested twice, ``engine="pandas"`` (every file read in memory, the path
the other ingest tests cover) and ``engine="duckdb"`` (salesnb.sources.ingest.engine):
the counts, the tables loaded and the quarantine must be the same row for row. The dirty
folder plants one row per rule, each with the reason it must be quarantined for. Speed and
memory are measured by benchmarks/scale.py, not here.
"""

from __future__ import annotations

import csv
import hashlib
import os
import shutil
from pathlib import Path

import duckdb
import pytest
from ingested import quarantine, query

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.sources.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "tests" / "data" / "ingest" / "canonical"

ORDERS = """order_id,line_no,order_date,customer_id,rep_id,product_id,channel,quantity,unit_price,discount,net_amount,is_return,notes
O1,1,2024-01-05,C1,R1,P1,online,2,50,0.1,90,false,ok
O1,2,2024-01-05,C1,R1,P2,online,1,"1,000.00",0,"$1,000.00",no,thousands and currency
O2,1,2024-01-06,C1,R1,P1,  retail  ,3,50,15%,127.5,N,percent discount and blanks
O3,1,2024-01-07,C1,R1,P1,online,-1,50,0,(50.00),yes,accounting negative on a return
O4,1,2024-01-08,C1,R9,P1,online,1,50,0,50,false,unknown rep: left empty
O5,1,2024-01-09,C9,R1,P1,online,1,50,0,50,false,unknown customer: quarantined
O6,1,2024-01-10,C1,R1,P1,online,oops,50,0,50,false,quantity not a number
O7,1,1850-01-01,C1,R1,P1,online,1,50,0,50,false,date out of range
O8,2.5,2024-01-11,C1,R1,P1,online,1,50,0,50,false,fractional line
O8,3.0,2024-01-11,C1,R1,P1,online,1,50,0,50,false,whole line written as float
O1,1,2024-01-12,C1,R1,P1,online,1,50,0,50,false,duplicate key
O9,1,2024-01-13,C1,R1,P1,online,-2,50,0,50,false,negative quantity not a return
O10,1,2024-01-14,C1,R1,P1,online,1,50,1.5,50,false,discount over 1
O11,1,2024-01-15,C1,R1,P1,online,1,50,0,50,maybe,not a boolean
O12,1,NA,C1,R1,P1,online,1,50,0,50,false,date missing (required)
O13,1,2024-01-16,C1,R1,P1,online,1,50,0,50,false,extra,field
O14,1,2024-01-17,,R1,P1,online,1,50,0,50,false,customer missing
O15,1,2024-01-18,C1,R1,P1,online,1,50,0,NA,false,net_amount missing
O16,1,2024-01-19,C1,R1,P1,online,1,-,0,50,false,unit price missing word
O17,1,2024-01-20 10:30:00,C1,R1,P1,online,1,50,0,50,false,date with a time
O18,1,2024-01-21,C1,R1,P1,online,1,50,0,50,false,truncated
"""

REPS = """rep_id,name,team,region,role
R1,Ann Lee,North A,North,rep
R2,Bo Chen,South A,South,Emperor
2.0,Numeric Id,South A,South,SENIOR
"""

CUSTOMERS = """customer_id,name,created_date
C1,Alpha,2023-06-01
C2,Beta,06/15/2023
"""

OPPORTUNITIES = """opportunity_id,customer_id,rep_id,stage,status,amount,close_date
D1,C1,R1,won,WON,100,2024-02-01
D2,C1,R1,lost,pending,100,2024-02-01
D3,C1,R1,open, open ,abc,2024-02-01
"""


def both(folder: Path, tmp_path: Path, streamed: bool = True, **kw) -> tuple:
    """The folder ingested by each path into its own warehouse; their JSON summaries.

    ``streamed``: the DuckDB path must read the folder itself (the in-memory path's
    table accounting is then switched off for that run)."""
    import salesnb.sources.ingest as ingest_pkg

    out = []
    for engine in ("pandas", "duckdb"):
        db = tmp_path / f"{engine}.duckdb"
        keep = ingest_pkg.account_table
        if engine == "duckdb" and streamed:
            ingest_pkg.account_table = _not_in_memory
        try:
            out.append((db, ingest(folder, into=db, engine=engine, **kw).as_json()))
        finally:
            ingest_pkg.account_table = keep
    (a, ja), (b, jb) = out
    return a, b, ja, jb


def _not_in_memory(*_a, **_k):
    raise AssertionError("the streaming path handed this folder to the in-memory one")


def tables_of(db: Path) -> dict[str, list]:
    con = duckdb.connect(str(db), read_only=True)
    try:
        names = [
            r[0]
            for r in con.execute(
                "SELECT table_name FROM information_schema.tables ORDER BY 1"
            ).fetchall()
        ]
        out = {}
        for t in names:
            if t == "quarantine":  # compared by same_quarantine
                continue
            cols = [r[0] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            types = [r[1] for r in con.execute(f'DESCRIBE "{t}"').fetchall()]
            rows = con.execute(f'SELECT * FROM "{t}" ORDER BY ALL').fetchall()
            out[t] = (cols, types, rows)
        return out
    finally:
        con.close()


def same_quarantine(a: Path, b: Path) -> None:
    qa, qb = quarantine(a), quarantine(b)
    key = ["table_name", "source_file", "row_number", "severity", "column_name", "raw"]
    assert qa[key].values.tolist() == qb[key].values.tolist()
    # The reasons of a row with several problems may come in another order.
    for ra, rb in zip(qa.reason, qb.reason, strict=True):
        assert sorted(ra.split("; ")) == sorted(rb.split("; "))


@pytest.fixture
def dirty(tmp_path) -> Path:
    src = tmp_path / "dirty"
    src.mkdir()
    text = ORDERS.replace(
        "O18,1,2024-01-21,C1,R1,P1,online,1,50,0,50,false,truncated\n",
        "O18,1,2024-01-21,C1\n",
    )
    (src / "orders.csv").write_text(text)
    (src / "reps.csv").write_text(REPS)
    (src / "customers.csv").write_text(CUSTOMERS)
    (src / "opportunities.csv").write_text(OPPORTUNITIES)
    shutil.copy(CANONICAL / "products.csv", src / "products.csv")
    return src


def test_dirty_folder_same_rows_and_quarantine_on_both_paths(dirty, tmp_path):
    a, b, ja, jb = both(dirty, tmp_path)
    assert ja == jb
    assert tables_of(a) == tables_of(b)
    same_quarantine(a, b)
    orders = jb["tables"]["orders"]
    assert orders["rows_in"] == ORDERS.count("\n") - 1
    assert orders["rows_in"] == orders["accepted"] + orders["quarantined"]


def test_dirty_folder_each_planted_problem_has_its_reason(dirty, tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(dirty, into=db, engine="duckdb")
    q = quarantine(db)
    orders = q[q.table_name == "orders"]

    def reason(line: int) -> str:
        got = orders[orders.row_number == line]
        assert len(got) == 1, line
        return got.reason.iloc[0]

    lines = {
        note: n + 1
        for n, line in enumerate(ORDERS.splitlines())
        for note in [line.rsplit(",", 1)[-1]]
    }
    assert "customer_id not found in customers.customer_id" in reason(
        lines["unknown customer: quarantined"]
    )
    assert "'oops' is not a number" in reason(lines["quantity not a number"])
    assert "in 1900..2200" in reason(lines["date out of range"])
    assert "'2.5' is not a whole number" in reason(lines["fractional line"])
    assert "duplicate key (order_id, line_no) = ('O1', 1)" in reason(lines["duplicate key"])
    assert "quantity must be > 0 unless the line is a return" in reason(
        lines["negative quantity not a return"]
    )
    assert "discount must be between 0 and 1 (got 1.5)" in reason(lines["discount over 1"])
    assert "'maybe' is not true/false" in reason(lines["not a boolean"])
    assert "order_date is empty (required)" in reason(lines["date missing (required)"])
    assert "line has" in reason(lines["field"])  # the line with an extra field
    assert "customer_id is empty (required)" in reason(lines["customer missing"])
    assert "net_amount is empty (required)" in reason(lines["net_amount missing"])
    assert "truncated line?" in reason(lines["truncated"])
    warned = orders[orders.severity == "warning"]
    assert warned.row_number.tolist() == [lines["unknown rep: left empty"]]
    # What was loaded, computed from the planted rows.
    got = dict(query(db, "SELECT order_id || '/' || line_no, net_amount FROM orders"))
    assert got["O1/2"] == 1000.0 and got["O3/1"] == -50.0 and got["O8/3"] == 50.0
    assert query(db, "SELECT discount, channel FROM orders WHERE order_id = 'O2'") == [
        (0.15, "retail")
    ]
    assert query(db, "SELECT rep_id FROM orders WHERE order_id = 'O4'") == [(None,)]
    assert query(db, "SELECT unit_price FROM orders WHERE order_id = 'O16'") == [(None,)]
    assert query(db, "SELECT order_date::VARCHAR FROM orders WHERE order_id = 'O17'") == [
        ("2024-01-20",)
    ]


def test_closed_sets(dirty, tmp_path):
    db = tmp_path / "w.duckdb"
    out = ingest(dirty, into=db, engine="duckdb").as_json()
    # Not every rep_id is a number, so the one written as a float stays as written.
    assert sorted(r[0] for r in query(db, "SELECT rep_id FROM reps")) == ["2.0", "R1", "R2"]
    assert query(db, "SELECT role FROM reps WHERE rep_id = 'R2'") == [(None,)]
    assert query(db, "SELECT role FROM reps WHERE rep_id = '2.0'") == [("senior",)]
    assert out["tables"]["reps"]["warnings"] == 1
    assert sorted(query(db, "SELECT opportunity_id, status FROM opportunities")) == [("D1", "won")]
    q = quarantine(db)
    opp = q[q.table_name == "opportunities"]
    assert opp.row_number.tolist() == [3, 4]
    assert "'pending' is not one of open, won, lost" in opp.reason.iloc[0]
    assert "'abc' is not a number" in opp.reason.iloc[1]
    assert query(db, "SELECT created_date::VARCHAR FROM customers ORDER BY 1") == [
        ("2023-06-01",),
        ("2023-06-15",),
    ]


def test_append_refuses_keys_already_loaded_on_both_paths(dirty, tmp_path):
    a, b, _ja, _jb = both(dirty, tmp_path)
    again = tmp_path / "again"
    again.mkdir()
    (again / "orders.csv").write_text(
        ORDERS.splitlines()[0] + "\nO1,1,2024-02-01,C1,R1,P1,online,1,50,0,50,false,again\n"
        "O30,1,2024-02-02,C1,R1,P1,online,1,50,0,50,false,new\n"
    )
    ja = ingest(again, into=a, engine="pandas", append=True).as_json()
    jb = ingest(again, into=b, engine="duckdb", append=True).as_json()
    assert ja == jb == {"tables": {"orders": {"rows_in": 2, "accepted": 1, "quarantined": 1}}}
    assert tables_of(a) == tables_of(b)
    q = quarantine(b)
    assert q.reason.str.contains("already in the warehouse").sum() == 1


def test_demo_export_round_trips_on_the_streaming_path(demo_warehouse, tmp_path):
    """Every canonical table of the demo as CSV, streamed back: the same rows as the demo."""
    export = tmp_path / "export"
    export.mkdir()
    src = duckdb.connect(str(demo_warehouse), read_only=True)
    have = {
        r[0] for r in src.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    present = [t for t in TABLES if t in have]
    for t in present:
        src.execute(f"COPY {t} TO '{export / f'{t}.csv'}' (HEADER)")
    db = tmp_path / "w.duckdb"
    out = ingest(export, into=db, engine="duckdb").as_json()
    for t in present:
        n = src.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        assert out["tables"][t] == {"rows_in": n, "accepted": n, "quarantined": 0}, t
        cols = ", ".join(f'"{c}"' for c in TABLES[t].column_names if c in _columns(src, t))
        assert (
            query(db, f"SELECT {cols} FROM {t} ORDER BY ALL")
            == src.execute(f"SELECT {cols} FROM {t} ORDER BY ALL").fetchall()
        ), t
    src.close()


def _columns(con, table: str) -> set[str]:
    return {r[0] for r in con.execute(f'DESCRIBE "{table}"').fetchall()}


def test_a_bad_file_leaves_the_warehouse_unchanged(dirty, tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(CANONICAL, into=db, engine="duckdb")
    before = hashlib.sha256(db.read_bytes()).hexdigest()
    (dirty / "tickets.csv").write_text("ticket_id,customer_id\nT1,C1\n")
    with pytest.raises(InputError) as err:
        ingest(dirty, into=db, engine="duckdb")
    msg = str(err.value)
    assert "\n" not in msg and "tickets.csv" in msg and "opened_at" in msg
    assert hashlib.sha256(db.read_bytes()).hexdigest() == before
    assert sorted(p.name for p in tmp_path.iterdir() if p.name.startswith(".")) == []


def test_input_files_are_not_modified(dirty, tmp_path):
    for p in dirty.iterdir():
        os.chmod(p, 0o444)
    before = {p.name: p.read_bytes() for p in dirty.iterdir()}
    ingest(dirty, into=tmp_path / "w.duckdb", engine="duckdb")
    assert {p.name: p.read_bytes() for p in dirty.iterdir()} == before


def test_several_files_of_a_table_stack_in_file_order(tmp_path):
    """Monthly files, the second without two optional columns: one table, in file order."""
    src = tmp_path / "monthly"
    src.mkdir()
    head, *rows = ORDERS.splitlines()[:4]
    (src / "orders_2024-01.csv").write_text("\n".join([head, *rows[:2]]) + "\n")
    drop = [head.split(",").index(c) for c in ("unit_price", "is_return")]

    def cut(line: str) -> str:
        return ",".join(v for i, v in enumerate(next(csv.reader([line]))) if i not in drop)

    (src / "orders_2024-02.csv").write_text("\n".join(map(cut, [head, rows[2], rows[0]])) + "\n")
    a, b, ja, jb = both(src, tmp_path)
    assert ja == jb
    assert jb["tables"]["orders"] == {"rows_in": 4, "accepted": 3, "quarantined": 1}
    assert tables_of(a) == tables_of(b)
    same_quarantine(a, b)
    q = quarantine(b)
    assert q.source_file.tolist() == ["orders_2024-02.csv"] and q.row_number.tolist() == [3]
    assert "duplicate key" in q.reason.iloc[0]


def test_another_encoding_goes_the_in_memory_way(tmp_path):
    """A cp1252 file is not read by DuckDB's reader: the whole folder is read in memory."""
    src = tmp_path / "legacy"
    src.mkdir()
    (src / "customers.csv").write_bytes("customer_id,name\nC1,Müller\n".encode("cp1252"))
    a, b, ja, jb = both(src, tmp_path, streamed=False)
    assert ja == jb
    assert tables_of(a) == tables_of(b)
    assert query(b, "SELECT name FROM customers") == [("Müller",)]


def test_ids_written_as_floats_lose_the_point_when_all_are_numbers(tmp_path):
    src = tmp_path / "ids"
    src.mkdir()
    (src / "products.csv").write_text("product_id,name\n1.0,A\n2.0,B\n3,C\n")
    a, b, ja, jb = both(src, tmp_path)
    assert ja == jb
    assert sorted(query(b, "SELECT product_id FROM products")) == [("1",), ("2",), ("3",)]
    assert tables_of(a) == tables_of(b)


def test_export_dialects_read_alike(tmp_path):
    """BOM, semicolons, CRLF, a blank line, quoted commas and line breaks, day-first dates,
    words for booleans, thousands separators: the same rows on both paths."""
    src = tmp_path / "dialect"
    src.mkdir()
    (src / "products.csv").write_bytes(
        b"\xef\xbb\xbfproduct_id;name;list_price;launch_date;is_green\r\n"
        b"P1;A;10;05/01/2024;Ja\r\n\r\n"
        b'P2;"B; with semicolon";"1,234.5";13/01/2024;nein\r\n'
        b'P3; C ;30;2024-01-02 10:00;1\r\nP4;"multi\nline";40;31.12.2024;\r\n'
        b"P5;E;x;2024-13-45;vielleicht\r\n"
    )
    a, b, ja, jb = both(src, tmp_path)
    assert ja == jb == {"tables": {"products": {"rows_in": 5, "accepted": 4, "quarantined": 1}}}
    assert tables_of(a) == tables_of(b)
    same_quarantine(a, b)
    assert query(b, "SELECT launch_date::VARCHAR, list_price FROM products ORDER BY 1") == [
        ("2024-01-02", 30.0),
        ("2024-01-05", 10.0),
        ("2024-01-13", 1234.5),
        ("2024-12-31", 40.0),
    ]
