"""`salesnb ingest` on tiny folders: canonical files, mappings, and every kind of bad input.

Hand-computed answers come from tests/data/ingest/canonical (see its README.md): 4 order
lines, net_amount 240, quantity 5, one return line. Malformed variants are written into
tmp_path by the tests themselves (the GBK and binary files too), so each test shows the
exact bytes it feeds in.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from ingested import quarantine, query

from salesnb.errors import InputError
from salesnb.sources.ingest import ingest, load_mapping

ROOT = Path(__file__).resolve().parents[2]
CANONICAL = ROOT / "tests" / "data" / "ingest" / "canonical"
ORDERS_HEADER = (
    "order_id,line_no,order_date,customer_id,rep_id,product_id,channel,region,country,"
    "quantity,unit_price,discount,net_amount,currency,is_return,notes\n"
)


def cli(*args, cwd=ROOT):
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *map(str, args)],
        capture_output=True,
        text=True,
        cwd=cwd,
    )


def cli_inprocess(capsys, *args):
    """The CLI's own main() without a new interpreter: same exit code and stderr line."""
    from salesnb.cli import main

    capsys.readouterr()
    code = main([str(a) for a in args])
    out = capsys.readouterr()
    return subprocess.CompletedProcess(args, code, out.out, out.err)


def digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def snapshot(folder: Path) -> dict:
    return {
        p.name: (p.stat().st_mtime_ns, digest(p)) for p in sorted(folder.iterdir()) if p.is_file()
    }


@pytest.fixture
def folder(tmp_path) -> Path:
    """A writable copy of the canonical sample folder."""
    dst = tmp_path / "export"
    shutil.copytree(CANONICAL, dst)
    return dst


def assert_counts_add_up(result_json: dict):
    for table, c in result_json["tables"].items():
        assert set(c) == {"rows_in", "accepted", "quarantined"}, table
        assert c["rows_in"] == c["accepted"] + c["quarantined"], table


def write_orders(folder: Path, *lines: str, encoding="utf-8"):
    (folder / "orders.csv").write_bytes(
        (ORDERS_HEADER + "".join(line + "\n" for line in lines)).encode(encoding)
    )


GOOD_LINE = "O1,1,2024-01-05,C1,R1,P1,online,North,DE,2,50,0.1,90,EUR,false,"


# ---- the happy path ----------------------------------------------------------------


def test_canonical_folder_loads_with_hand_computed_totals(folder, tmp_path):
    before = snapshot(folder)
    db = tmp_path / "w.duckdb"
    result = ingest(folder, into=db)
    assert result.as_json() == {
        "tables": {
            "orders": {"rows_in": 4, "accepted": 4, "quarantined": 0},
            "customers": {"rows_in": 2, "accepted": 2, "quarantined": 0},
            "products": {"rows_in": 2, "accepted": 2, "quarantined": 0},
            "reps": {"rows_in": 2, "accepted": 2, "quarantined": 0},
        }
    }
    assert query(db, "SELECT sum(net_amount), sum(quantity), sum(is_return::INT) FROM orders") == [
        (240.0, 5.0, 1)
    ]
    # "1,000.00" is a number; dates are DATEs; headers like "Rep ID" match rep_id.
    assert query(db, "SELECT unit_price FROM orders WHERE order_id = 'O1' AND line_no = 2") == [
        (1000.0,)
    ]
    assert query(db, "SELECT typeof(order_date), typeof(line_no) FROM orders LIMIT 1") == [
        ("DATE", "BIGINT")
    ]
    assert query(db, "SELECT rep_id, role FROM reps ORDER BY 1") == [
        ("R1", "rep"),
        ("R2", "senior"),
    ]
    # The unknown column is ignored and said so; the input is untouched.
    assert "notes" not in [r[0] for r in query(db, "DESCRIBE orders")]
    assert "columns not used in orders.csv: notes" in result.summary()
    assert snapshot(folder) == before


def test_cli_json_is_exactly_the_counts(folder, tmp_path):
    db = tmp_path / "w.duckdb"
    r = cli("ingest", folder, "--into", db, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert list(out) == ["tables"]
    assert out["tables"]["orders"] == {"rows_in": 4, "accepted": 4, "quarantined": 0}
    assert_counts_add_up(out)


def test_excel_parquet_bom_and_semicolons(tmp_path):
    src = tmp_path / "mixed"
    src.mkdir()
    pd.DataFrame({"customer_id": ["C1", "C2"], "name": ["Ä GmbH", "B"]}).to_excel(
        src / "customers.xlsx", index=False
    )
    pd.DataFrame({"product_id": ["P1"], "list_price": [9.5]}).to_parquet(src / "products.parquet")
    (src / "reps.csv").write_bytes("\ufeffrep_id;name;hire_date\nR1;Zoë;01/02/2023\n".encode())
    (src / "orders.csv").write_text(
        "order_id,line_no,order_date,customer_id,quantity,net_amount\nO1,1,2024-01-01,C1,1,9.5\n"
    )
    db = tmp_path / "w.duckdb"
    out = ingest(src, into=db).as_json()
    assert_counts_add_up(out)
    assert {t: c["accepted"] for t, c in out["tables"].items()} == {
        "orders": 1,
        "customers": 2,
        "products": 1,
        "reps": 1,
    }
    assert query(db, "SELECT name FROM customers ORDER BY 1") == [("B",), ("Ä GmbH",)]
    assert query(db, "SELECT name, hire_date::VARCHAR FROM reps") == [("Zoë", "2023-01-02")]


# ---- malformed input: rows are quarantined with a reason ----------------------------


def test_bad_date_negative_quantity_and_duplicate_key_are_quarantined(folder, tmp_path):
    write_orders(
        folder,
        GOOD_LINE,  # row 2 ok
        "O2,1,2024-31-12,C1,R1,P1,online,North,DE,1,50,0,50,EUR,,",  # row 3 bad date
        "O3,1,2024-01-07,C2,R2,P1,retail,South,FR,-4,50,0,-200,EUR,,",  # row 4 negative, no return
        "O1,1,2024-01-08,C2,R2,P2,retail,South,FR,1,10,0,10,EUR,,",  # row 5 duplicate key
        "O4,1,2024-01-09,C2,R2,P2,retail,South,FR,-1,10,0,-10,EUR,yes,",  # row 6 a return: accepted
    )
    db = tmp_path / "w.duckdb"
    r = cli("ingest", folder, "--into", db, "--json")
    assert r.returncode == 0, r.stderr
    out = json.loads(r.stdout)
    assert out["tables"]["orders"] == {"rows_in": 5, "accepted": 2, "quarantined": 3}
    assert_counts_add_up(out)
    q = quarantine(db)
    q = q[q.table_name == "orders"]
    assert q.row_number.tolist() == [3, 4, 5]
    assert q.source_file.unique().tolist() == ["orders.csv"]
    assert q.column_name.tolist() == ["order_date", "quantity, net_amount", "order_id"]
    assert "'2024-31-12' is not a date" in q.reason.iloc[0]
    assert "quantity must be > 0 unless the line is a return" in q.reason.iloc[1]
    assert "duplicate key (order_id, line_no) = ('O1', 1)" in q.reason.iloc[2]
    raw = json.loads(q.raw.iloc[0])
    assert raw["order_date"] == "2024-31-12" and raw["order_id"] == "O2"
    assert query(db, "SELECT order_id FROM orders ORDER BY 1") == [("O1",), ("O4",)]


def test_truncated_line_is_quarantined_not_fatal(folder, tmp_path):
    write_orders(folder, GOOD_LINE, "O2,1,2024-01-06,C1,R1")  # cut off mid-row, no newline issue
    out = ingest(folder, into=tmp_path / "w.duckdb").as_json()
    assert out["tables"]["orders"] == {"rows_in": 2, "accepted": 1, "quarantined": 1}
    q = quarantine(tmp_path / "w.duckdb")
    row = q[q.table_name == "orders"].iloc[0]
    assert row.row_number == 3 and "truncated" in row.reason
    assert json.loads(row.raw) == {"line": "O2,1,2024-01-06,C1,R1"}


def test_gbk_file_keeps_chinese_names(tmp_path):
    src = tmp_path / "cn"
    src.mkdir()
    (src / "customers.csv").write_bytes(
        "customer_id,name,region\nC1,北京贸易有限公司,华北\nC2,上海电子,华东\nC3,广州五金,华南\n".encode(
            "gbk"
        )
    )
    (src / "orders.csv").write_bytes(
        "order_id,line_no,order_date,customer_id,region,quantity,net_amount\n"
        "D1,1,2024-03-01,C1,华北,2,100\nD2,1,2024-03-02,C2,华东,1,50\n".encode("gbk")
    )
    db = tmp_path / "w.duckdb"
    out = ingest(src, into=db).as_json()
    assert out["tables"]["customers"] == {"rows_in": 3, "accepted": 3, "quarantined": 0}
    assert query(db, "SELECT name, region FROM customers ORDER BY customer_id") == [
        ("北京贸易有限公司", "华北"),
        ("上海电子", "华东"),
        ("广州五金", "华南"),
    ]
    assert query(db, "SELECT region, sum(net_amount) FROM orders GROUP BY 1 ORDER BY 1") == [
        ("华东", 50.0),
        ("华北", 100.0),
    ]


def test_orphan_foreign_key_is_quarantined_when_parent_is_present(folder, tmp_path):
    write_orders(folder, GOOD_LINE, "O2,1,2024-01-06,C1,R9,P1,online,North,DE,1,50,0,50,EUR,,")
    db = tmp_path / "w.duckdb"
    ingest(folder, into=db)
    q = quarantine(db)
    assert q.reason.tolist() == ["rep_id not found in reps.rep_id (got 'R9')"]


# ---- malformed input: the ingest stops, one line, exit 2, warehouse unchanged --------


@pytest.fixture
def loaded(folder, tmp_path):
    """A warehouse already holding the canonical sample, and its checksum."""
    db = tmp_path / "w.duckdb"
    ingest(CANONICAL, into=db)
    return db, digest(db)


def _fails(folder, db, *expect, extra=(), capsys=None):
    """Run the ingest expecting exit 2 and one line; check nothing changed on disk.

    With ``capsys`` the CLI's main() runs in this process (faster); without, a real
    ``python -m salesnb.cli`` subprocess.
    """
    before_inputs = snapshot(folder)
    before = digest(db) if db.exists() else None
    args = ("ingest", folder, "--into", db, *extra)
    r = cli_inprocess(capsys, *args) if capsys is not None else cli(*args)
    assert r.returncode == 2, (r.stdout, r.stderr)
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in r.stderr, r.stderr
    for e in expect:
        assert e in lines[0], lines[0]
    assert (digest(db) if db.exists() else None) == before
    assert snapshot(folder) == before_inputs
    assert not [p for p in db.parent.iterdir() if ".ingest.tmp" in p.name]
    return lines[0]


def test_missing_required_column_stops(folder, loaded):
    (folder / "orders.csv").write_text(
        "order_id,line_no,customer_id,quantity,net_amount\nO1,1,C1,1,5\n"
    )
    _fails(folder, loaded[0], "orders.csv", "order_date", "required")


def test_header_only_file_stops(folder, loaded):
    write_orders(folder)
    _fails(folder, loaded[0], "orders.csv", "no data rows")


def test_binary_file_named_csv_stops(folder, loaded):
    (folder / "customers.csv").write_bytes(b"PK\x03\x04" + bytes(range(256)) * 8)
    _fails(folder, loaded[0], "customers.csv", "binary")


def test_empty_file_empty_folder_and_unknown_table_stop(folder, loaded, tmp_path, capsys):
    (folder / "reps.csv").write_bytes(b"")
    _fails(folder, loaded[0], "reps.csv", "empty", capsys=capsys)
    (folder / "reps.csv").unlink()
    (folder / "widgets.csv").write_text("a,b\n1,2\n")
    _fails(folder, loaded[0], "widgets.csv", "unknown table", capsys=capsys)
    empty = tmp_path / "empty"
    empty.mkdir()
    _fails(empty, loaded[0], "no CSV, Excel or Parquet files", capsys=capsys)


def test_failed_ingest_into_new_warehouse_creates_nothing(folder, tmp_path, capsys):
    write_orders(folder)
    _fails(folder, tmp_path / "new.duckdb", "no data rows", capsys=capsys)
    assert not (tmp_path / "new.duckdb").exists()


# ---- replace and append --------------------------------------------------------------


def test_replace_by_default_append_on_request(folder, tmp_path):
    db = tmp_path / "w.duckdb"
    ingest(CANONICAL, into=db)
    month = tmp_path / "may"
    month.mkdir()
    (month / "orders.csv").write_text(
        ORDERS_HEADER
        + "O9,1,2024-05-01,C1,R1,P1,online,North,DE,1,50,0,50,EUR,,\n"  # new
        + GOOD_LINE
        + "\n"  # O1/1 already loaded
    )
    out = ingest(month, into=db, append=True).as_json()
    assert out["tables"] == {"orders": {"rows_in": 2, "accepted": 1, "quarantined": 1}}
    assert query(db, "SELECT count(*), sum(net_amount) FROM orders") == [(5, 290.0)]
    assert query(db, "SELECT count(*) FROM customers") == [(2,)]  # untouched tables stay
    q = quarantine(db)
    assert "already in the warehouse" in q.reason.iloc[0]
    # Without --append the table is replaced by the month's rows.
    out = ingest(month, into=db).as_json()
    assert out["tables"]["orders"] == {"rows_in": 2, "accepted": 2, "quarantined": 0}
    assert query(db, "SELECT count(*), sum(net_amount) FROM orders") == [(2, 140.0)]
    assert query(db, "SELECT count(*) FROM quarantine WHERE table_name = 'orders'") == [(0,)]


# ---- mappings ------------------------------------------------------------------------

CRM_MAPPING = """
name: tiny-crm
tables:
  opportunities:
    file: deals_*.csv
    columns:
      opportunity_id: Deal ID
      rep_id: Owner
      stage: Stage
      status: Stage
      amount: Value
      created_date: Created
    values:
      status: {Closed Won: won, Closed Lost: lost, Demo: open, Yes: won}
    date_formats: {created_date: "%d/%m/%Y"}
    derive:
      discount: '("List" - "Value") / NULLIF("List", 0)'
  reps:
    file: owners.csv
    columns: {rep_id: Owner}
    constants: {role: rep}
"""


def _crm(tmp_path, mapping_text=CRM_MAPPING):
    src = tmp_path / "crm"
    src.mkdir()
    (src / "deals_2024-01.csv").write_text(
        "Deal ID,Owner,Stage,Value,List,Created,Extra\n"
        'D1,ann,Closed Won,"1,200",1500,31/01/2024,x\n'
        "D2,bo,closed lost,0,100,15/01/2024,y\n"
        "D3,ann,Demo,,,20/01/2024,z\n"
    )
    (src / "deals_2024-02.csv").write_text(
        "Deal ID,Owner,Stage,Value,List,Created,Extra\nD4,bo,Yes,300,300,01/02/2024,\n"
    )
    (src / "owners.csv").write_text("Owner\nann\nbo\n")
    mp = tmp_path / "tiny.yaml"
    mp.write_text(mapping_text)
    return src, mp


def test_mapping_renames_maps_values_derives_and_reads_every_matching_file(tmp_path):
    src, mp = _crm(tmp_path)
    db = tmp_path / "w.duckdb"
    out = ingest(src, into=db, mapping=str(mp)).as_json()
    assert out["tables"]["opportunities"] == {"rows_in": 4, "accepted": 4, "quarantined": 0}
    rows = query(
        db,
        "SELECT opportunity_id, status, stage, amount, created_date::VARCHAR, discount "
        "FROM opportunities ORDER BY 1",
    )
    assert rows == [
        ("D1", "won", "Closed Won", 1200.0, "2024-01-31", 0.2),  # "1,200" is 1200
        ("D2", "lost", "closed lost", 0.0, "2024-01-15", 1.0),  # value map ignores case
        ("D3", "open", "Demo", None, "2024-01-20", None),
        ("D4", "won", "Yes", 300.0, "2024-02-01", 0.0),  # declared day-first; YAML Yes stays text
    ]
    assert query(db, "SELECT rep_id, role FROM reps ORDER BY 1") == [("ann", "rep"), ("bo", "rep")]


def test_mapping_errors_name_file_and_column(tmp_path, capsys):
    src, mp = _crm(
        tmp_path,
        CRM_MAPPING.replace("rep_id: Owner\n      stage", "rep_id: Salesperson\n      stage"),
    )
    line = _fails(
        src, tmp_path / "w.duckdb", "deals_2024-01.csv", "Salesperson", extra=("--mapping", mp)
    )
    assert "opportunities.rep_id" in line
    mp.write_text(CRM_MAPPING.replace("  reps:", "  gizmos:"))
    _fails(
        src, tmp_path / "w.duckdb", "unknown table 'gizmos'", extra=("--mapping", mp), capsys=capsys
    )
    mp.write_text(CRM_MAPPING.replace("      stage: Stage\n", ""))
    _fails(
        src,
        tmp_path / "w.duckdb",
        "required column 'stage'",
        extra=("--mapping", mp),
        capsys=capsys,
    )
    _fails(
        src,
        tmp_path / "w.duckdb",
        "no such named mapping",
        extra=("--mapping", "nope"),
        capsys=capsys,
    )


def test_expressions_cannot_touch_files(tmp_path, capsys):
    evil = CRM_MAPPING.replace(
        """discount: '("List" - "Value") / NULLIF("List", 0)'""",
        """discount: "(SELECT count(*) FROM read_text('/etc/hostname'))" """,
    )
    src, mp = _crm(tmp_path, evil)
    _fails(
        src,
        tmp_path / "w.duckdb",
        "derive opportunities.discount",
        extra=("--mapping", mp),
        capsys=capsys,
    )


def test_named_mappings_resolve_and_parse():
    for name in ("maven-crm", "superstore"):
        m = load_mapping(name)
        assert m.name == name and m.path.name == f"{name}.yaml"
        assert m.sources
    with pytest.raises(InputError, match="no such named mapping"):
        load_mapping("does-not-exist")


def test_text_numbers_used_by_an_expression_quarantine_bad_cells(tmp_path):
    src = tmp_path / "shop"
    src.mkdir()
    (src / "sales.csv").write_text(
        "Order,Date,Client,Qty,Sales,Profit\n"
        "A,2024-01-01,c1,1,100,20\n"
        "B,2024-01-02,c2,2,50,oops\n"
        'C,2024-01-03,c3,3,"1,000",100\n'
    )
    mp = tmp_path / "shop.yaml"
    mp.write_text("""
tables:
  orders:
    file: sales.csv
    columns: {order_id: Order, order_date: Date, customer_id: Client, quantity: Qty, net_amount: Sales}
    constants: {line_no: 1}
    derive: {cost: '"Sales" - "Profit"'}
""")
    db = tmp_path / "w.duckdb"
    out = ingest(src, into=db, mapping=str(mp)).as_json()
    assert out["tables"]["orders"] == {"rows_in": 3, "accepted": 2, "quarantined": 1}
    assert query(db, "SELECT order_id, cost FROM orders ORDER BY 1") == [("A", 80.0), ("C", 900.0)]
    q = quarantine(db)
    assert q.row_number.tolist() == [3] and "'oops' is not a number" in q.reason.iloc[0]


def test_input_files_are_opened_read_only(folder, tmp_path):
    for p in folder.iterdir():
        os.chmod(p, 0o444)
    out = ingest(folder, into=tmp_path / "w.duckdb").as_json()
    assert out["tables"]["orders"]["accepted"] == 4


def test_demo_company_round_trips_through_csv_and_parquet(demo_warehouse, tmp_path):
    """Every canonical table exported as files and ingested back: same rows, same sums."""
    from salesnb.model.schema import TABLES

    export = tmp_path / "export"
    export.mkdir()
    src = duckdb.connect(str(demo_warehouse), read_only=True)
    present = [
        t
        for t in TABLES
        if src.execute(
            "SELECT count(*) FROM information_schema.tables WHERE table_name = ?", [t]
        ).fetchone()[0]
    ]
    for t in present:
        fmt = "(FORMAT parquet)" if t == "orders" else "(HEADER)"
        ext = "parquet" if t == "orders" else "csv"
        src.execute(f"COPY {t} TO '{export / f'{t}.{ext}'}' {fmt}")
    db = tmp_path / "w.duckdb"
    out = ingest(export, into=db).as_json()
    assert list(out["tables"]) == present
    for t in present:
        n = src.execute(f"SELECT count(*) FROM {t}").fetchone()[0]
        assert out["tables"][t] == {"rows_in": n, "accepted": n, "quarantined": 0}, t
    totals = (
        "SELECT round(sum(net_amount), 2), sum(quantity), sum(is_return::INT), "
        "count(DISTINCT customer_id), min(order_date), max(order_date) FROM orders"
    )
    assert query(db, totals) == src.execute(totals).fetchall()
    tickets = "SELECT min(opened_at), max(resolved_at), round(sum(csat), 2) FROM tickets"
    if "tickets" in present:
        assert query(db, tickets) == src.execute(tickets).fetchall()
    src.close()


def test_whitespace_separated_text_with_a_mapping(tmp_path):
    src = tmp_path / "txt"
    src.mkdir()
    (src / "tx.txt").write_text(
        " cust  date   cds  dollars\r\n 00001 19970101  1   11.77\r\n 00002 19970112  2\r\n"
        " 00002 19970112  1   12.00\r\n"
    )
    mp = tmp_path / "tx.yaml"
    mp.write_text("""
tables:
  orders:
    file: tx.txt
    delimiter: whitespace
    columns: {customer_id: cust, order_date: date, quantity: cds, net_amount: dollars}
    derive:
      order_id: 'CAST(CAST(cust AS BIGINT) AS VARCHAR)'
      line_no: 'row_number() OVER (PARTITION BY cust ORDER BY dollars)'
    date_formats: {order_date: "%Y%m%d"}
""")
    db = tmp_path / "w.duckdb"
    out = ingest(src, into=db, mapping=str(mp)).as_json()
    assert out["tables"]["orders"] == {"rows_in": 3, "accepted": 2, "quarantined": 1}
    assert query(
        db, "SELECT customer_id, order_id, order_date::VARCHAR, net_amount FROM orders ORDER BY 1"
    ) == [
        ("00001", "1", "1997-01-01", 11.77),
        ("00002", "2", "1997-01-12", 12.0),
    ]
    assert quarantine(db).row_number.tolist() == [3]
