"""Data quality: metrics on hand-computed frames, queries on tiny warehouses whose every
problem is planted by hand, and the published study, on warehouses of several shapes (any
subset of the tables), checked against plain SQL on the same warehouse."""

from __future__ import annotations

import json
import re

import duckdb
import ibis
import pandas as pd
import pytest
from shapes import NOT_A_NUMBER, build_shape, visible_text

from salesnb.metrics import quality as qm
from salesnb.queries import quality as qq
from salesnb.sources import Source, connect

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


def _memory(sql: str) -> Source:
    """A Source over an in-memory DuckDB built by ``sql``."""
    con = duckdb.connect()
    con.execute(sql)
    return Source(ibis.duckdb.from_connection(con), "memory")


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
          ('orders', 'orders.csv', 7, 'order_date', 'order_date: ''xyz'' is not a date', '{"order_date": "xyz"}'),
          ('orders', 'orders.csv', 3, 'order_date', 'order_date: ''abc'' is not a date', '{"order_date": "abc"}'),
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
            "severity": "error",
            "rows": 2,
            "files": 1,
        },
        {
            "table": "customers",
            "column": "customer_id",
            "reason": "customer_id is missing",
            "severity": "error",
            "rows": 1,
            "files": 1,
        },
    ]
    acc = qm.acceptance(qq.table_rows(src), q).set_index("table")
    assert acc.loc["orders", ["accepted", "quarantined", "rows_in"]].tolist() == [10, 2, 12]
    assert acc.loc["orders", "quarantined_pct"] == pytest.approx(2 / 12)
    assert acc.loc["reps", ["accepted", "quarantined"]].tolist() == [1, 0]


def test_first_quarantined_rows_name_file_and_line(src):
    rows = qq.quarantine_rows(src, limit=2)
    assert rows.columns.tolist() == [
        "table",
        "source_file",
        "line",
        "column",
        "reason",
        "severity",
        "raw",
    ]
    assert rows[["table", "source_file", "line", "column"]].values.tolist() == [
        ["customers", "customers.csv", 2, "customer_id"],
        ["orders", "orders.csv", 3, "order_date"],
    ]
    assert rows["raw"].iloc[1] == '{"order_date": "abc"}'
    assert "order_date: 'abc' is not a date" in rows["reason"].iloc[1]  # the value kept here


def test_warnings_are_loaded_rows_and_lookup_lines_are_not_a_table():
    # the ingest's layout: a row not loaded (error), a row loaded with a link blanked
    # (warning) and a lost line of a mapping's lookup file
    s = _memory("""
        CREATE TABLE leads AS SELECT * FROM (VALUES ('L1'), ('L2'), ('L3')) t(lead_id);
        CREATE TABLE quarantine AS SELECT * FROM (VALUES
          ('leads', 'leads.csv', 5, 'lead_id', 'lead_id is empty (required)', '{}', 'error'),
          ('leads', 'leads.csv', 2, 'converted_opportunity_id', 'not found in opportunities', '{}', 'warning'),
          ('leads', 'leads.csv', 3, 'converted_opportunity_id', 'not found in opportunities', '{}', 'WARNING'),
          ('lookup:returns', 'returns.csv', 9, NULL, 'lookup returns: malformed line', '{}', 'error'))
          t(table_name, source_file, row_number, column_name, reason, raw, severity)""")
    q = qq.quarantine_counts(s)
    assert q[["table", "severity", "rows"]].values.tolist() == [
        ["leads", "warning", 2],
        ["leads", "error", 1],
        ["lookup:returns", "error", 1],
    ]
    # errors first, then by table, file and line
    assert qq.quarantine_rows(s)[["table", "line", "severity"]].values.tolist() == [
        ["leads", 5, "error"],
        ["lookup:returns", 9, "error"],
        ["leads", 2, "warning"],
        ["leads", 3, "warning"],
    ]
    acc = qm.acceptance(qq.table_rows(s), q)
    assert acc.to_dict("records") == [
        {
            "table": "leads",
            "accepted": 3,  # the two warned rows were loaded
            "quarantined": 1,
            "rows_in": 4,
            "quarantined_pct": 0.25,
            "loaded_with_warning": 2,
        }
    ]
    fig = qm.headline_figures(
        acc, qq.date_ranges(s), None, qm.fk_rates(qq.fk_coverage(s)), None, None, []
    )
    assert (fig["quarantined_rows"], fig["rows_loaded_with_warning"]) == (1, 2)
    assert "**2 rows loaded with a value left empty**" in qm.quality_actions(fig)


def test_without_a_quarantine_what_was_rejected_is_unknown_not_zero():
    s = _memory("CREATE TABLE leads AS SELECT 'L1' AS lead_id, DATE '2024-01-01' AS created_date")
    assert not qq.has_quarantine(s)
    assert qq.quarantine_counts(s).empty and qq.quarantine_rows(s).empty
    acc = qm.acceptance(qq.table_rows(s), None)
    assert acc["accepted"].tolist() == [1] and acc["quarantined"].isna().all()
    fig = qm.headline_figures(
        acc, qq.date_ranges(s), None, qm.fk_rates(qq.fk_coverage(s)), None, None, []
    )
    assert "quarantined_rows" not in fig and "quarantined_pct" not in fig
    assert fig["rows_total"] == 1


def test_quarantine_in_the_plain_layout_names_the_table_from_the_file():
    s = _memory("""CREATE TABLE quarantine AS SELECT * FROM (VALUES
        ('orders_2024-05.csv', 4, 'net_amount', 'net_amount: ''x'' is not a number (got x)', 'raw'))
        t(source_file, row_number, "column", reason, raw);
        CREATE TABLE orders (order_id VARCHAR)""")
    assert qq.quarantine_counts(s).to_dict("records") == [
        {
            "table": "orders",
            "column": "net_amount",
            "reason": "net_amount: '…' is not a number",
            "severity": "error",
            "rows": 1,
            "files": 1,
        }
    ]
    assert qq.quarantine_rows(s)[["table", "line"]].values.tolist() == [["orders", 4]]


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


def test_coverage_by_table_counts_gaps_per_table(src):
    monthly = qq.monthly_rows_by_table(src)
    assert monthly["table"].unique().tolist() == ["orders"]  # the only flow table present
    cov = qm.coverage_by_table(monthly)
    assert cov.to_dict("records") == [
        {
            "table": "orders",
            "first_month": "2024-01",
            "last_month": "2024-04",
            "months": 4,
            "months_with_data": 3,
            "months_without_data": 1,
            "gaps": "2024-02",
        }
    ]


def test_time_coverage_reads_each_table_once_for_ranges_and_months():
    # one query gives both; undated rows, a table without rows, and months per table
    s = _memory("""
        CREATE TABLE orders AS SELECT * FROM (VALUES ('O1', 1, DATE '2024-01-05'),
          ('O2', 1, DATE '2024-03-02'), ('O3', 1, DATE '2024-03-09'), ('O4', 1, NULL))
          t(order_id, line_no, order_date);
        CREATE TABLE leads AS SELECT 'L1' AS lead_id, DATE '2024-01-01' AS created_date
          WHERE false;
        CREATE TABLE customers AS SELECT * FROM (VALUES ('C1', DATE '2020-06-30'))
          t(customer_id, created_date);
    """)
    dates, monthly = qq.time_coverage(s)
    assert dates[["table", "rows", "undated"]].values.tolist() == [
        ["orders", 4, 1],
        ["leads", 0, 0],
        ["customers", 1, 0],
    ]
    assert dates["date_min"].dt.strftime("%Y-%m-%d").tolist()[::2] == ["2024-01-05", "2020-06-30"]
    assert dates["date_max"].isna().tolist() == [False, True, False]
    # customers are dated but not a flow table: no months of theirs
    assert monthly[["table", "rows"]].values.tolist() == [["orders", 1], ["orders", 2]]
    assert monthly["month"].dt.strftime("%Y-%m").tolist() == ["2024-01", "2024-03"]
    pd.testing.assert_frame_equal(dates, qq.date_ranges(s))
    pd.testing.assert_frame_equal(monthly, qq.monthly_rows_by_table(s))
    only = qq.monthly_rows_by_table(s, tables=("customers",))
    assert only["table"].unique().tolist() == ["customers"] and only["rows"].sum() == 1


def test_foreign_key_resolution(src):
    fk = qm.fk_rates(qq.fk_coverage(src)).set_index(["table", "column"])
    assert fk.loc[("orders", "customer_id"), ["rows", "filled", "resolved"]].tolist() == [10, 10, 9]
    assert fk.loc[("orders", "customer_id"), "resolved_pct"] == pytest.approx(0.9)
    assert fk.loc[("orders", "rep_id"), ["filled", "resolved"]].tolist() == [9, 8]
    assert fk.loc[("orders", "rep_id"), "resolved_pct"] == pytest.approx(8 / 9)
    assert fk.loc[("orders", "rep_id"), "filled_pct"] == pytest.approx(0.9)
    assert fk.loc[("orders", "product_id"), "resolved_pct"] == 1.0
    assert fk.loc[("orders", "customer_id"), "unresolved_values"] == 1
    assert qq.fk_orphans(src, "orders", "rep_id").to_dict("records") == [{"value": "R9", "rows": 1}]


def test_a_key_with_no_value_filled_has_no_resolution_share():
    fk = qm.fk_rates(
        pd.DataFrame(
            {
                "table": ["leads"],
                "column": ["converted_opportunity_id"],
                "parent": ["opportunities"],
                "rows": [5],
                "filled": [0],
                "resolved": [0],
            }
        )
    )
    assert pd.isna(fk["resolved_pct"].iloc[0])  # not 100%: nothing was there to resolve
    assert fk["filled_pct"].iloc[0] == 0.0


def test_keys_are_checked_only_between_tables_both_present():
    s = _memory(
        "CREATE TABLE leads AS SELECT 'L1' AS lead_id, DATE '2024-01-01' AS created_date, "
        "'D1' AS converted_opportunity_id"
    )
    assert qq.fk_coverage(s).empty
    assert qm.fk_not_checked(s.tables)[["table", "parent", "reason"]].values.tolist() == [
        ["leads", "opportunities", "no opportunities table"]
    ]
    assert qm.fk_not_checked(["surveys", "customers", "reps"]).empty  # every parent present
    assert qm.fk_not_checked(["surveys", "customers"])["column"].tolist() == ["owner_rep_id"]


def test_duplicate_keys_and_empty_keys():
    s = _memory("""
        CREATE TABLE surveys AS SELECT * FROM (VALUES
          ('S1', DATE '2024-01-01'), ('S1', DATE '2024-01-02'), ('S1', DATE '2024-01-03'),
          ('S2', DATE '2024-01-01'), ('S3', DATE '2024-01-01'), ('S3', DATE '2024-01-01'),
          (NULL, DATE '2024-01-01')) t(response_id, date);
        -- a market key has optional parts: two rows alike, NULL country included, repeat a key
        CREATE TABLE market AS SELECT * FROM (VALUES
          ('2024', 'North', NULL, 'SMB', 'Acme', 10.0), ('2024', 'North', NULL, 'SMB', 'Acme', 12.0),
          ('2024', 'South', NULL, 'SMB', 'Acme', 5.0)) t(period, region, country, segment, competitor, market_size);
    """)
    dups = qq.duplicate_keys(s).set_index("table")
    # surveys: S1 x3 and S3 x2 -> 2 keys repeated, 2 + 1 rows beyond the first; one empty key
    assert dups.loc[
        "surveys", ["rows", "repeated_keys", "duplicate_rows", "empty_key_rows"]
    ].tolist() == [
        7,
        2,
        3,
        1,
    ]
    assert dups.loc["market", ["repeated_keys", "duplicate_rows", "empty_key_rows"]].tolist() == [
        1,
        1,
        0,
    ]
    assert qq.duplicate_key_examples(s, "surveys").to_dict("records") == [
        {"response_id": "S1", "rows": 3},
        {"response_id": "S3", "rows": 2},
    ]


# ---- impossible sequences, each on a tiny hand-made table --------------------------------

DEALS = """CREATE TABLE opportunities AS SELECT opportunity_id, stage, status,
      created_date::DATE AS created_date, close_date::DATE AS close_date FROM (VALUES
  ('D1', 'Won', 'won', '2024-01-10', '2024-01-05'),   -- won 5 days before it was created
  ('D2', 'Won', 'won', '2024-01-10', '2024-02-01'),
  ('D3', 'Lost', 'lost', '2024-03-01', '2024-02-20'), -- negative cycle time
  ('D4', 'Proposal', 'open', '2024-03-01', '2024-02-28'), -- expected close before creation
  ('D5', 'Won', ' Won', '2024-04-01', '2024-03-31'),  -- status compared lower-cased, trimmed
  ('D6', 'Lost', 'lost', NULL, '2024-01-01'),         -- no created date: cannot be checked
  ('D7', 'Proposal', 'open', '2024-05-01', NULL),     -- no close date: cannot be checked
  ('D8', 'Lost', 'lost', '2024-05-01', '2024-05-01')  -- closed the day it was created: fine
) t(opportunity_id, stage, status, created_date, close_date)"""

TICKETS = """CREATE TABLE tickets AS SELECT ticket_id, opened_at::TIMESTAMP AS opened_at,
      first_response_at::TIMESTAMP AS first_response_at, resolved_at::TIMESTAMP AS resolved_at FROM (VALUES
  ('T1', '2024-01-01 10:00', '2024-01-01 11:00', '2024-01-02 10:00'),
  ('T2', '2024-01-01 10:00', '2024-01-01 09:00', '2024-01-01 12:00'), -- answered before opened
  ('T3', '2024-01-01 10:00', '2024-01-01 10:30', '2024-01-01 09:59'), -- resolved before opened
  ('T4', '2024-01-01 10:00', NULL, NULL),                             -- nothing to check
  ('T5', '2024-01-02 08:00', '2024-01-02 07:00', '2024-01-02 07:30'), -- both
  ('T6', '2024-01-02 08:00', '2024-01-02 08:00', NULL)                -- answered at once: fine
) t(ticket_id, opened_at, first_response_at, resolved_at)"""

LEADS = """CREATE TABLE leads AS SELECT lead_id, created_date::DATE AS created_date,
      converted_opportunity_id FROM (VALUES
  ('L1', '2024-01-01', 'D1'), ('L2', '2024-01-01', NULL), ('L3', '2024-01-02', 'D99'),
  ('L4', '2024-01-03', 'D2'), ('L5', '2024-01-04', 'D98'), ('L6', '2024-01-05', 'D1')
) t(lead_id, created_date, converted_opportunity_id)"""

STAGES = """CREATE TABLE stage_history AS SELECT opportunity_id, stage,
      entered_date::DATE AS entered_date FROM (VALUES
  ('D2', 'Prospecting', '2024-01-10'),  -- the day the deal was created: fine
  ('D2', 'Proposal', '2024-01-09'),     -- a day before D2 was created
  ('D3', 'Prospecting', '2024-02-25'),  -- D3 was created 2024-03-01
  ('D6', 'Prospecting', '2023-12-01'),  -- D6 has no created date: cannot be checked
  ('D99', 'Prospecting', '2024-01-01'), -- no such deal: a key problem, not a sequence
  ('D8', 'Prospecting', '2024-05-02')
) t(opportunity_id, stage, entered_date)"""


@pytest.fixture(scope="module")
def story():
    return _memory(";\n".join([DEALS, TICKETS, LEADS, STAGES]))


def _counts(s: Source) -> dict:
    seq = qq.impossible_sequences(s).set_index("check")
    return {c: (seq.loc[c, "checked"], seq.loc[c, "violations"]) for c in seq.index}


def test_deal_won_before_it_was_created(story):
    assert _counts(story)["won_before_created"] == (3, 2)  # D1, D2, D5 checked; D1, D5 broken
    ex = qq.sequence_examples(story, "won_before_created")
    assert ex["opportunity_id"].tolist() == ["D1", "D5"]
    assert ex["cycle_days"].tolist() == [-5, -1]


def test_negative_cycle_time_of_the_other_deals(story):
    assert _counts(story)["negative_cycle_time"] == (3, 2)  # D3, D4, D8 checked; D3, D4 broken
    ex = qq.sequence_examples(story, "negative_cycle_time")
    assert ex[["opportunity_id", "status", "cycle_days"]].values.tolist() == [
        ["D3", "lost", -10],
        ["D4", "open", -2],
    ]


def test_ticket_resolved_before_it_was_opened(story):
    assert _counts(story)["resolved_before_opened"] == (4, 2)  # T1, T2, T3, T5; T3, T5
    assert qq.sequence_examples(story, "resolved_before_opened")["ticket_id"].tolist() == [
        "T3",
        "T5",
    ]


def test_ticket_answered_before_it_was_opened(story):
    assert _counts(story)["responded_before_opened"] == (5, 2)  # all but T4; T2, T5
    ex = qq.sequence_examples(story, "responded_before_opened")
    assert ex["ticket_id"].tolist() == ["T2", "T5"]
    assert ex.columns.tolist() == ["ticket_id", "opened_at", "first_response_at"]


def test_lead_converted_to_a_deal_that_does_not_exist(story):
    assert _counts(story)["lead_converted_to_missing_deal"] == (5, 2)  # L3 -> D99, L5 -> D98
    ex = qq.sequence_examples(story, "lead_converted_to_missing_deal")
    assert ex[["lead_id", "converted_opportunity_id"]].values.tolist() == [
        ["L3", "D99"],
        ["L5", "D98"],
    ]


def test_stage_entered_before_its_deal_was_created(story):
    assert _counts(story)["stage_before_deal_created"] == (4, 2)  # D2 x2, D3, D8; D2 Proposal, D3
    ex = qq.sequence_examples(story, "stage_before_deal_created")
    assert ex[["opportunity_id", "stage"]].values.tolist() == [
        ["D2", "Proposal"],
        ["D3", "Prospecting"],
    ]


def test_checks_whose_tables_are_absent_do_not_run_and_say_why():
    s = _memory(
        LEADS
        + ";\nCREATE TABLE tickets AS SELECT 'T1' AS ticket_id, TIMESTAMP '2024-01-01' AS opened_at"
    )
    seq = qq.impossible_sequences(s).set_index("check")
    assert seq["not_run"].to_dict() == {
        "won_before_created": "no opportunities table",
        "negative_cycle_time": "no opportunities table",
        "resolved_before_opened": "no tickets.resolved_at column",
        "responded_before_opened": "no tickets.first_response_at column",
        "lead_converted_to_missing_deal": "no opportunities table",
        "stage_before_deal_created": "no stage_history table",
    }
    assert seq["violations"].isna().all() and seq["checked"].isna().all()  # unknown, not 0
    with pytest.raises(ValueError, match="no opportunities table"):
        qq.sequence_examples(s, "lead_converted_to_missing_deal")
    res = qm.sequence_results(qq.impossible_sequences(s))
    assert res["result"].iloc[0] == "not run: no opportunities table"
    fig = qm.headline_figures(
        qm.acceptance(qq.table_rows(s), None),
        qq.date_ranges(s),
        None,
        qm.fk_rates(qq.fk_coverage(s)),
        None,
        None,
        [],
        sequences=qq.impossible_sequences(s),
    )
    assert fig["sequence_checks_run"] == 0
    assert "impossible_sequences" not in fig and "won_before_created" not in fig


def test_sequence_results_and_headline_sum(story):
    seq = qq.impossible_sequences(story)
    res = qm.sequence_results(seq).set_index("check")
    assert res.loc["won_before_created", "result"] == "2 of 3 rows (66.7%)"
    assert res.loc["won_before_created", "violations_pct"] == pytest.approx(2 / 3)
    fig = qm.headline_figures(
        qm.acceptance(qq.table_rows(story), None),
        qq.date_ranges(story),
        None,
        qm.fk_rates(qq.fk_coverage(story)),
        None,
        None,
        [],
        sequences=seq,
    )
    assert fig["impossible_sequences"] == 12 and fig["sequence_checks_run"] == 6
    assert fig["stage_before_deal_created"] == 2
    text = qm.quality_actions(fig)
    assert "**12 rows break an impossible sequence**" in text
    assert "2 won before created" in text


# ---- order lines, headline, actions -------------------------------------------------------


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
    assert fig["fk_unresolved_rows"] == 2 and fig["fk_keys_checked"] == 3
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


def test_without_orders_no_order_figure_is_written():
    s = _memory(DEALS)
    acc = qm.acceptance(qq.table_rows(s), None)
    fig = qm.headline_figures(
        acc,
        qq.date_ranges(s),
        None,
        qm.fk_rates(qq.fk_coverage(s)),
        None,
        None,
        ["orders"],
        coverage=qm.coverage_by_table(qq.monthly_rows_by_table(s)),
        dups=qq.duplicate_keys(s),
    )
    for key in (
        "orders_rows",
        "date_min",
        "months_without_orders",
        "zero_price",
        "fk_keys_checked",
    ):
        assert key not in fig, key
    assert fig["rows_total"] == 8 and fig["duplicate_key_rows"] == 0
    assert (fig["data_from"], fig["data_to"]) == ("2024-01-10", "2024-05-01")
    assert fig["months_without_data"] == 1  # deals created in Jan, Mar, Apr, May: Feb is a gap
    assert qm.suspicious_lines_text({"rows": 0}, None, None, None).endswith("not run")


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
    with pytest.raises(ValueError, match="violations"):
        qm.sequence_results(pd.DataFrame({"check": [], "checked": [], "not_run": []}))
    with pytest.raises(ValueError, match="month"):
        qm.coverage_by_table(pd.DataFrame({"table": [], "rows": []}))


# ---- the published study on warehouses of several shapes, against plain SQL -------------

DQ_DEMO_ORDERS = 30_000

# The demo with a problem of every kind planted, and the quarantine an ingest would leave.
DIRTY = [
    "UPDATE opportunities SET close_date = created_date - 3 WHERE opportunity_id IN "
    "(SELECT opportunity_id FROM opportunities WHERE status = 'won' ORDER BY 1 LIMIT 4)",
    "UPDATE opportunities SET close_date = created_date - 1 WHERE opportunity_id IN "
    "(SELECT opportunity_id FROM opportunities WHERE status = 'lost' ORDER BY 1 LIMIT 3)",
    "UPDATE tickets SET resolved_at = opened_at - INTERVAL 1 HOUR WHERE ticket_id IN "
    "(SELECT ticket_id FROM tickets WHERE resolved_at IS NOT NULL ORDER BY 1 LIMIT 5)",
    "UPDATE tickets SET first_response_at = opened_at - INTERVAL 2 HOUR WHERE ticket_id IN "
    "(SELECT ticket_id FROM tickets ORDER BY 1 DESC LIMIT 2)",
    "UPDATE leads SET converted_opportunity_id = 'GHOST-' || lead_id WHERE lead_id IN "
    "(SELECT lead_id FROM leads WHERE converted_opportunity_id IS NOT NULL ORDER BY 1 LIMIT 6)",
    "UPDATE stage_history SET entered_date = entered_date - 10 WHERE stage = 'Prospecting' AND "
    "opportunity_id IN (SELECT opportunity_id FROM opportunities ORDER BY 1 DESC LIMIT 3)",
    "INSERT INTO surveys SELECT * FROM surveys ORDER BY response_id LIMIT 2",
    "UPDATE orders SET customer_id = 'C-GHOST' WHERE order_id IN "
    "(SELECT order_id FROM orders ORDER BY 1 LIMIT 10)",
    "DELETE FROM leads WHERE created_date >= DATE '2025-02-01' AND created_date < DATE '2025-03-01'",
    "CREATE TABLE quarantine (table_name VARCHAR, source_file VARCHAR, row_number BIGINT, "
    "column_name VARCHAR, reason VARCHAR, raw VARCHAR)",
    "INSERT INTO quarantine VALUES "
    "('orders', 'orders.csv', 12, 'order_date', 'order_date is not a date (got ''31/02/2026'')', '{}'), "
    "('orders', 'orders.csv', 40, 'net_amount', 'net_amount is not a number (got ''n/a'')', '{}'), "
    "('leads', 'leads.xlsx', 7, 'lead_id', 'lead_id is empty (required)', '{}')",
]

SEQUENCE_SQL = {  # check -> (tables it needs, plain SQL count)
    "won_before_created": (
        ("opportunities",),
        "SELECT count(*) FROM opportunities WHERE lower(trim(status)) = 'won' "
        "AND close_date < created_date",
    ),
    "negative_cycle_time": (
        ("opportunities",),
        "SELECT count(*) FROM opportunities WHERE coalesce(lower(trim(status)), '') <> 'won' "
        "AND close_date < created_date",
    ),
    "resolved_before_opened": (
        ("tickets",),
        "SELECT count(*) FROM tickets WHERE resolved_at < opened_at",
    ),
    "responded_before_opened": (
        ("tickets",),
        "SELECT count(*) FROM tickets WHERE first_response_at < opened_at",
    ),
    "lead_converted_to_missing_deal": (
        ("leads", "opportunities"),
        "SELECT count(*) FROM leads WHERE converted_opportunity_id IS NOT NULL AND "
        "converted_opportunity_id NOT IN (SELECT opportunity_id FROM opportunities)",
    ),
    "stage_before_deal_created": (
        ("stage_history", "opportunities"),
        "SELECT count(*) FROM stage_history s JOIN opportunities o USING (opportunity_id) "
        "WHERE s.entered_date < o.created_date",
    ),
}
FLOW = {  # flow table -> its event date
    "orders": "order_date",
    "leads": "created_date",
    "opportunities": "created_date",
    "stage_history": "entered_date",
    "tickets": "opened_at",
    "surveys": "date",
}


@pytest.fixture(scope="session")
def dq_demo(shared_root):
    """A 30k-line demo company (the one ``tests/test_shapes.py`` builds, shared with it)."""
    from conftest import _locked

    from salesnb.sources import demo

    path = shared_root / "shape-demo" / "demo.duckdb"
    with _locked(path):
        if not (path.parent / "truths.json").exists():
            demo.build(out=path, seed=7, orders=DQ_DEMO_ORDERS)
    return path


def _dirty(demo_path, out):
    path = out / "dirty.duckdb"
    path.write_bytes(demo_path.read_bytes())
    con = duckdb.connect(str(path))
    for sql in DIRTY:
        con.execute(sql)
    con.execute("CHECKPOINT")
    con.close()
    return path, None


def _plain_sql_figures(path) -> dict:
    """The study's figures, counted independently with plain SQL on the warehouse."""
    con = duckdb.connect(str(path), read_only=True)
    try:
        present = {r[0] for r in con.execute("SHOW TABLES").fetchall()}
        tables = [t for t in qm.canonical_tables() if t in present]
        one = lambda sql: con.execute(sql).fetchone()[0]  # noqa: E731
        out = {
            "tables_present": sum(1 for t in tables if one(f"SELECT count(*) FROM {t}")),
            "rows_total": sum(one(f"SELECT count(*) FROM {t}") for t in tables),
        }
        if "quarantine" in present:
            out["quarantined_rows"] = one("SELECT count(*) FROM quarantine")
        if "orders" in tables:
            out["orders_rows"] = one("SELECT count(*) FROM orders")
            out["date_min"], out["date_max"] = (
                str(d)
                for d in con.execute(
                    "SELECT min(order_date), max(order_date) FROM orders"
                ).fetchone()
            )
        flow = [t for t in FLOW if t in tables]
        out["data_from"] = str(min(one(f"SELECT min({FLOW[t]})::DATE FROM {t}") for t in flow))
        out["data_to"] = str(max(one(f"SELECT max({FLOW[t]})::DATE FROM {t}") for t in flow))
        out["months_without_data"] = sum(
            one(
                f"WITH m AS (SELECT DISTINCT date_trunc('month', {FLOW[t]}) AS m FROM {t} "
                f"WHERE {FLOW[t]} IS NOT NULL) SELECT datediff('month', min(m), max(m)) + 1 - count(*) FROM m"
            )
            for t in flow
        )
        seq = {
            name: one(sql)
            for name, (needs, sql) in SEQUENCE_SQL.items()
            if all(t in tables for t in needs)
        }
        out.update(seq)
        if seq:
            out["impossible_sequences"] = sum(seq.values())
        out["sequence_checks_run"] = len(seq)
        fks = [
            (child, col, parent, pcol)
            for child in tables
            for col, (parent, pcol) in qm.TABLES[child].foreign_keys.items()
            if parent in tables
        ]
        if fks:
            out["fk_keys_checked"] = len(fks)
            out["fk_unresolved_rows"] = sum(
                one(
                    f"SELECT count(*) FROM {c} WHERE {col} IS NOT NULL AND {col} NOT IN "
                    f"(SELECT {pc} FROM {p})"
                )
                for c, col, p, pc in fks
            )
        if "orders" in tables and "customers" in tables:
            out["fk_orders_customers_pct"] = one(
                "SELECT avg((customer_id IN (SELECT customer_id FROM customers))::INT) FROM orders "
                "WHERE customer_id IS NOT NULL"
            )
        out["duplicate_key_rows"] = sum(
            one(
                f"SELECT coalesce(sum(n - 1), 0) FROM (SELECT count(*) AS n FROM {t} "
                f"GROUP BY {', '.join(qm.TABLES[t].key)})"
            )
            for t in tables
        )
    finally:
        con.close()
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    "shape,period",
    [
        ("dirty", None),
        ("leads_and_deals", None),
        ("service_only", None),
        ("surveys_only", "all"),
        ("crm_only", None),
    ],
)
def test_the_study_runs_on_any_subset_of_tables_and_matches_plain_sql(
    shape, period, dq_demo, tmp_path
):
    from salesnb import report

    if shape == "dirty":
        path, shape_period = _dirty(dq_demo, tmp_path)
    else:
        path, shape_period = build_shape(dq_demo, tmp_path, shape)
    out = tmp_path / "rep"
    code = report.run_report(
        source=str(path), period=period or shape_period, only=["data-quality"], out=out
    )
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    (entry,) = json.loads((folder / "manifest.json").read_text())["studies"]
    assert entry["status"] == "ok", entry["reason"]
    assert code == 0

    fig = json.loads((folder / "data-quality.json").read_text())
    want = _plain_sql_figures(path)
    for key, value in want.items():
        assert key in fig, (shape, key)
        if isinstance(value, float):
            assert fig[key] == pytest.approx(value, abs=1e-6), (shape, key)
        else:
            assert fig[key] == value, (shape, key, fig[key], value)
    # a figure that cannot be computed is absent, not 0
    for name in SEQUENCE_SQL:
        assert (name in fig) == (name in want), (shape, name)
    assert ("orders_rows" in fig) == ("orders_rows" in want)
    assert ("quarantined_pct" in fig) == ("quarantined_rows" in want)

    page = " ".join(
        visible_text((folder / "data-quality.html").read_text(encoding="utf-8")).split()
    )
    assert not NOT_A_NUMBER.findall(page), shape
    if "quarantined_rows" not in want:  # no quarantine kept: rejected rows unknown, not 0
        assert "No quarantine table" in page and "quarantined_pct" not in page
    if "orders_rows" not in want:
        assert "Skipped: Order-line checks" in page and "table orders not in this warehouse" in page
        assert "Order-line checks not run: no orders table." in page
    if "resolved_before_opened" not in want:
        assert "not run: no tickets table" in page
    if shape == "dirty":
        assert fig["impossible_sequences"] >= 4 + 3 + 5 + 2 + 6 + 3  # as planted
        assert fig["months_without_data"] == 1 and fig["months_without_orders"] == 0
        assert "orders.csv" in page and "leads.xlsx" in page  # the first quarantined rows
        assert re.search(r"First rows of\s+won_before_created", page) and "GHOST-L" in page
        assert re.search(r"3 of [\d,]{6,} rows \(\s*<\s*0\.1%\)", page)  # never rounded to 0.0%
        assert "rows break an impossible sequence" in page


def test_charts_state_the_finding_and_never_draw_an_unknown():
    import matplotlib

    matplotlib.use("Agg")
    from salesnb.plots import quality as qp

    monthly = pd.DataFrame(
        {
            "table": ["orders", "orders", "leads"],
            "month": pd.to_datetime(["2024-01-01", "2024-03-01", "2024-02-01"]),
            "rows": [3, 4, 5],
        }
    )
    assert qp.coverage_strips(monthly).get_title() == "Months without rows (red): orders (1)"
    acc = qm.acceptance(pd.DataFrame({"table": ["leads"], "rows": [7]}), None)
    assert qp.acceptance_bars(acc).get_title() == "7 rows in 1 table(s); no quarantine record"
    fk = qm.fk_rates(
        pd.DataFrame(
            {
                "table": ["leads", "orders"],
                "column": ["converted_opportunity_id", "customer_id"],
                "parent": ["opportunities", "customers"],
                "rows": [5, 10],
                "filled": [0, 10],
                "resolved": [0, 9],
            }
        )
    )
    ax = qp.fk_resolution(fk)  # the key with nothing filled has no bar
    assert [t.get_text() for t in ax.get_yticklabels()] == ["orders.customer_id → customers"]
    assert ax.get_title() == "1 key(s) resolve below 99%"
    styled = qp.styled(fk, pct=["resolved_pct"], missing={"resolved_pct": "no value filled"})
    html = styled.to_html()
    assert "no value filled" in html and "90.0%" in html and "nan" not in html.lower()


OPPORTUNITIES_CSV = """opportunity_id,stage,status,created_date,close_date,amount
D1,Won,won,2024-01-10,2024-01-05,100
D2,Won,won,2024-01-10,2024-02-01,200
D3,Lost,lost,2024-03-01,2024-02-20,50
D4,Proposal,pending,2024-03-01,,10
D5,Won,won,not a date,2024-03-31,5
D2,Won,won,2024-01-10,2024-02-01,200
"""
LEADS_CSV = """lead_id,created_date,source,converted_opportunity_id
L1,2024-01-01,web,D1
L2,2024-01-02,web,
L3,2024-01-03,fair,D99
L4,2024-02-30,web,
,2024-01-05,web,D2
"""


@pytest.mark.slow
def test_the_study_reads_the_quarantine_a_real_ingest_leaves(tmp_path):
    """A CRM export without orders, ingested by ``salesnb ingest``; every figure by hand."""
    import subprocess
    import sys

    from salesnb import report

    folder = tmp_path / "export"
    folder.mkdir()
    (folder / "opportunities.csv").write_text(OPPORTUNITIES_CSV)
    (folder / "leads.csv").write_text(LEADS_CSV)
    wh = tmp_path / "crm.duckdb"
    done = subprocess.run(
        [sys.executable, "-m", "salesnb.cli", "ingest", str(folder), "--into", str(wh)],
        capture_output=True,
        text=True,
    )
    assert done.returncode == 0, done.stderr
    out = tmp_path / "rep"
    assert report.run_report(source=str(wh), only=["data-quality"], out=out) == 0
    (folder_out,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    fig = json.loads((folder_out / "data-quality.json").read_text())
    # quarantined: D4 (status pending), D5 (created_date), the second D2 (duplicate key),
    # L4 (2024-02-30) and the lead without an id; L3 was loaded with D99 left empty (warning)
    assert (fig["quarantined_rows"], fig["rows_loaded_with_warning"]) == (5, 1)
    assert fig["quarantined_pct"] == pytest.approx(5 / 11, abs=1e-6)  # json keeps 6 decimals
    assert (fig["won_before_created"], fig["negative_cycle_time"]) == (1, 1)  # D1, D3
    assert fig["lead_converted_to_missing_deal"] == 0  # D99 was blanked at ingest
    assert fig["impossible_sequences"] == 2 and fig["sequence_checks_run"] == 3
    assert fig["months_without_data"] == 1  # deals created in January and March
    assert (fig["data_from"], fig["data_to"]) == ("2024-01-01", "2024-03-01")
    assert "orders_rows" not in fig and fig["tables_present"] == 2
    page = " ".join(visible_text((folder_out / "data-quality.html").read_text()).split())
    assert not NOT_A_NUMBER.findall(page)
    assert "leads.csv 6 lead_id lead_id is empty (required) error" in page  # file and line
    assert "D1 won 2024-01-10 2024-01-05 -5" in page  # the deal won before it was created
