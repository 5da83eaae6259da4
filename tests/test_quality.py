"""Data quality: metrics on hand-computed frames, queries on a 10-line warehouse whose every
problem is planted by hand, and the published study checked against plain SQL on the demo."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest

from salesnb.metrics import quality as qm
from salesnb.queries import quality as qq
from salesnb.source import connect

# order_id, order_date, customer, rep, product, quantity, unit_price, discount, net_amount, is_return
LINES = [
    ("O1", "2024-01-05", "C1", "R1", "P1", 1, 10, 0.0, 10, False),
    ("O2", "2024-01-20", "C2", "R1", "P2", 2, 10, 0.1, 18, False),
    ("O3", "2024-03-02", "C9", "R1", "P1", 1, 10, 0.0, 10, False),  # unknown customer
    ("O4", "2024-03-15", "C1", "R9", "P1", 1, 10, 0.6, 4, False),  # unknown rep, discount > 0.5
    ("O5", "2024-04-01", "C1", "R1", "P1", -1, 10, 0.0, -10, True),  # a flagged return
    ("O6", "2024-04-02", "C2", "R1", "P2", 1, 10, 0.0, -12, False),  # negative, not flagged
    ("O7", "2024-04-03", "C2", None, "P2", 1, 0, 0.0, 0, False),  # zero price, no rep
    ("O8", "2024-04-04", "C1", "R1", "P1", 1, 10, 0.0, 12, False),
    ("O9", "2024-04-05", "C1", "R1", "P1", 1, 10, 0.0, 14, False),
    ("O10", "2024-04-06", "C1", "R1", "P1", 100, 10, 0.0, 1000, False),  # the outlier
]


@pytest.fixture(scope="module")
def src(tmp_path_factory):
    path = tmp_path_factory.mktemp("dq") / "dq.duckdb"
    con = duckdb.connect(str(path))
    orders = pd.DataFrame(
        LINES,
        columns=[
            "order_id",
            "order_date",
            "customer_id",
            "rep_id",
            "product_id",
            "quantity",
            "unit_price",
            "discount",
            "net_amount",
            "is_return",
        ],
    )
    orders["order_date"] = pd.to_datetime(orders["order_date"]).dt.date
    orders["line_no"] = 1
    con.register("o", orders)
    con.execute("""
        CREATE TABLE orders AS SELECT order_id, line_no, order_date, customer_id, rep_id, product_id,
          quantity::DOUBLE AS quantity, unit_price::DOUBLE AS unit_price, discount, net_amount::DOUBLE AS net_amount,
          is_return FROM o;
        CREATE TABLE customers AS SELECT * FROM (VALUES ('C1'), ('C2')) t(customer_id);
        CREATE TABLE products AS SELECT * FROM (VALUES ('P1'), ('P2')) t(product_id);
        CREATE TABLE reps AS SELECT * FROM (VALUES ('R1')) t(rep_id);
        CREATE TABLE quarantine AS SELECT * FROM (VALUES
          ('orders', 'orders.csv', 3, 'order_date', 'order_date: ''abc'' is not a date', '{}'),
          ('orders', 'orders.csv', 7, 'order_date', 'order_date: ''xyz'' is not a date', '{}'),
          ('customers', 'customers.csv', 2, 'customer_id', 'customer_id is missing', '{}'))
          t(table_name, source_file, row_number, column_name, reason, raw);
    """)
    con.close()
    s = connect(path)
    yield s
    s.close()


def test_acceptance_and_quarantine_reasons(src):
    q = qq.quarantine_counts(src)
    assert q.to_dict("records") == [
        {
            "table": "orders",
            "column": "order_date",
            "reason": "order_date: '…' is not a date",
            "rows": 2,
        },
        {
            "table": "customers",
            "column": "customer_id",
            "reason": "customer_id is missing",
            "rows": 1,
        },
    ]
    acc = qm.acceptance(qq.table_rows(src), q).set_index("table")
    assert acc.loc["orders", ["accepted", "quarantined", "rows_in"]].tolist() == [10, 2, 12]
    assert acc.loc["orders", "quarantined_pct"] == pytest.approx(2 / 12)
    assert acc.loc["reps", ["accepted", "quarantined"]].tolist() == [1, 0]


def test_quarantine_in_the_plain_layout_names_the_table_from_the_file():
    con = duckdb.connect()
    con.execute("""CREATE TABLE quarantine AS SELECT * FROM (VALUES
        ('orders_2024-05.csv', 4, 'net_amount', 'net_amount: ''x'' is not a number (got x)', 'raw'))
        t(source_file, row_number, "column", reason, raw)""")
    con.execute("CREATE TABLE orders (order_id VARCHAR)")
    import ibis

    from salesnb.source import Source

    s = Source(ibis.duckdb.from_connection(con), "memory")
    assert qq.quarantine_counts(s).to_dict("records") == [
        {
            "table": "orders",
            "column": "net_amount",
            "reason": "net_amount: '…' is not a number",
            "rows": 1,
        }
    ]


def test_months_without_orders(src):
    monthly = qq.monthly_rows(src, "orders")
    assert monthly["rows"].tolist() == [2, 2, 6]
    assert qm.months_without_data(monthly) == ["2024-02"]
    assert qm.months_without_data(monthly, start="2023-12-01", end="2024-05-31") == [
        "2023-12",
        "2024-02",
        "2024-05",
    ]
    dates = qq.date_ranges(src).set_index("table")
    assert str(dates.loc["orders", "date_min"].date()) == "2024-01-05"
    assert str(dates.loc["orders", "date_max"].date()) == "2024-04-06"


def test_foreign_key_resolution(src):
    fk = qm.fk_rates(qq.fk_coverage(src)).set_index(["table", "column"])
    assert fk.loc[("orders", "customer_id"), ["rows", "filled", "resolved"]].tolist() == [10, 10, 9]
    assert fk.loc[("orders", "customer_id"), "resolved_pct"] == pytest.approx(0.9)
    assert fk.loc[("orders", "rep_id"), ["filled", "resolved"]].tolist() == [9, 8]
    assert fk.loc[("orders", "rep_id"), "resolved_pct"] == pytest.approx(8 / 9)
    assert fk.loc[("orders", "rep_id"), "filled_pct"] == pytest.approx(0.9)
    assert fk.loc[("orders", "product_id"), "resolved_pct"] == 1.0


def test_suspicious_lines(src):
    checks = qq.order_line_checks(src, max_discount=0.5)
    assert {
        k: checks[k]
        for k in ("rows", "negative_amount", "negative_unflagged", "discount_over", "zero_price")
    } == {
        "rows": 10,
        "negative_amount": 2,
        "negative_unflagged": 1,
        "discount_over": 1,
        "zero_price": 1,
    }
    # sorted net amounts -12 -10 0 4 10 10 12 14 18 1000: linear quartiles 1.0 and 13.5
    assert (checks["q1"], checks["q3"]) == pytest.approx((1.0, 13.5))
    low, high = qm.iqr_bounds(checks["q1"], checks["q3"])
    assert (low, high) == pytest.approx((-17.75, 32.25))
    assert qq.amount_outside(src, low, high) == 1


def test_headline_and_actions(src):
    q = qq.quarantine_counts(src)
    acc = qm.acceptance(qq.table_rows(src), q)
    fk = qm.fk_rates(qq.fk_coverage(src))
    checks = qq.order_line_checks(src)
    fig = qm.headline_figures(acc, qq.date_ranges(src), ["2024-02"], fk, checks, 1, ["leads"])
    assert fig["tables_present"] == 4 and fig["orders_rows"] == 10 and fig["quarantined_rows"] == 3
    assert fig["quarantined_pct"] == pytest.approx(3 / 18)  # 12 + 3 + 2 + 1 rows in
    assert fig["fk_orders_customers_pct"] == pytest.approx(0.9)
    assert (fig["date_min"], fig["date_max"], fig["months_without_orders"]) == (
        "2024-01-05",
        "2024-04-06",
        1,
    )
    assert (fig["negative_unflagged"], fig["discount_over_limit"], fig["zero_price"]) == (1, 1, 1)
    assert fig["net_amount_outliers_pct"] == pytest.approx(0.1)
    text = qm.quality_actions(fig)
    assert "3 rows (16.7%) were quarantined" in text
    assert "Only **90.0%** of orders → customers keys resolve" in text
    assert "1 month(s) without orders" in text
    clean = {"quarantined_pct": 0.0, "fk_orders_customers_pct": 1.0, "months_without_orders": 0}
    assert qm.quality_actions(clean).startswith("- No data problem needs action")


def test_metrics_name_missing_columns_and_do_not_mutate():
    rows = pd.DataFrame({"table": ["orders"], "rows": [3]})
    before = rows.copy()
    qm.acceptance(rows, pd.DataFrame({"table": [], "rows": []}))
    pd.testing.assert_frame_equal(rows, before)
    with pytest.raises(ValueError, match="missing column.*rows"):
        qm.acceptance(pd.DataFrame({"table": ["orders"]}), rows)
    with pytest.raises(ValueError, match="resolved"):
        qm.fk_rates(
            pd.DataFrame({"table": [], "column": [], "parent": [], "rows": [], "filled": []})
        )


@pytest.mark.slow
def test_published_data_quality_matches_plain_sql_on_the_demo(demo_report, demo_warehouse):
    fig = json.loads((demo_report / "data-quality.json").read_text())
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        n, dmin, dmax = con.execute(
            "SELECT count(*), min(order_date), max(order_date) FROM orders"
        ).fetchone()
        resolved = con.execute(
            "SELECT avg((customer_id IN (SELECT customer_id FROM customers))::INT) FROM orders "
            "WHERE customer_id IS NOT NULL"
        ).fetchone()[0]
        tables = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
    finally:
        con.close()
    assert fig["orders_rows"] == n
    assert (fig["date_min"], fig["date_max"]) == (str(dmin), str(dmax))
    assert fig["fk_orders_customers_pct"] == pytest.approx(resolved, abs=1e-6)
    assert fig["tables_present"] == len(tables & set(qm.optional_tables() + ["orders"]))
