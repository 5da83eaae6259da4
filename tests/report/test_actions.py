"""The actions of a report: who a bullet names (the warehouse's reps and customers, by name),
how the index ranks them, and which file or section is their evidence.

Hand-made frames and a five-row warehouse whose every name is known; then the demo report's
``actions.csv``, checked against the demo warehouse's own names.
"""

from __future__ import annotations

import re

import duckdb
import nbformat
import pandas as pd
import pytest

from salesnb import studies
from salesnb.report.actions import (
    COLUMNS,
    PEOPLE_SEP,
    collect_actions,
    named_file,
    people_in,
    rank_actions,
    warehouse_people,
    what_to_do_anchor,
)
from salesnb.report.plan import Job

KNOWN = pd.DataFrame(
    {
        "kind": ["rep", "rep", "rep", "rep", "customer", "customer"],
        "id": ["R1", "R2", "R3", "R10", "C7", "C8"],
        "name": ["Lena Baker", "Ann Li", "Ann Li", "Lena", "金桥贸易有限公司", "North Line Co"],
        "namesakes": [1, 2, 2, 1, 1, 1],
    }
)


@pytest.mark.parametrize(
    ("text", "people"),
    [
        # by name, in the order of the bullet
        ("Coach Lena Baker and North Line Co", ["Lena Baker", "North Line Co"]),
        # by id: the name, with the id the bullet used
        ("Watch R10 next period", ["Lena (R10)"]),
        # R1 is not inside R10; a name inside a longer name is not repeated
        ("Lena Baker (R1) is not R10's manager", ["Lena Baker", "Lena (R10)"]),
        # two reps share a name: the id says which one; the bare name is not repeated
        ("Ann Li (R3) over-promises", ["Ann Li (R3)"]),
        ("Ann Li over-promises", ["Ann Li"]),
        # Chinese names have no spaces around them
        ("先给金桥贸易有限公司打电话", ["金桥贸易有限公司"]),
        # a name inside a longer word, or a similar name, is not a match
        ("Anne Lindqvist, R100 and Northern Line Co", []),
    ],
)
def test_people_in_names_who_the_bullet_names(text, people):
    assert people_in(text, KNOWN) == people


@pytest.fixture
def small_wh(tmp_path):
    """Three reps (two namesakes), three customers (one unnamed, one numeric-looking id)."""
    path = tmp_path / "wh.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""
        CREATE TABLE reps AS SELECT * FROM (VALUES
          ('R001', 'Maya Evans'), ('R002', 'Paul Zhang'), ('R003', 'Paul Zhang')) t(rep_id, name);
        CREATE TABLE customers AS SELECT * FROM (VALUES
          ('C001', '上海云海贸易'), ('C002', NULL), ('12', 'Iron Ridge Corp')) t(customer_id, name);
    """)
    con.close()
    return path


def test_warehouse_people_finds_the_named_reps_and_customers_in_the_engine(small_wh):
    texts = [
        "Coach Maya Evans and R003",
        "Call 上海云海贸易 and C002; 12 deals for Iron Ridge Corp",
    ]
    known = warehouse_people(small_wh, texts)
    assert list(known.columns) == ["kind", "id", "name", "namesakes"]
    got = {
        (r.kind, r.id, r.name if isinstance(r.name, str) else None, r.namesakes)
        for r in known.itertuples()
    }
    assert got == {
        ("rep", "R001", "Maya Evans", 1),
        ("rep", "R003", "Paul Zhang", 2),
        ("customer", "C001", "上海云海贸易", 1),
        ("customer", "C002", None, 0),
        ("customer", "12", "Iron Ridge Corp", 1),
    }
    assert people_in(texts[0], known) == ["Maya Evans", "Paul Zhang (R003)"]
    # an unnamed account is shown by its id; an id of digits only is never matched alone
    assert people_in(texts[1], known) == ["上海云海贸易", "C002", "Iron Ridge Corp"]
    assert people_in("12 deals", known) == []


def test_warehouse_people_without_the_tables_finds_nobody(tmp_path):
    path = tmp_path / "orders.duckdb"
    con = duckdb.connect(str(path))
    con.execute("CREATE TABLE orders AS SELECT 'O1' AS order_id")
    con.close()
    assert warehouse_people(path, ["Coach Maya Evans"]).empty


def _md(text: str):
    return nbformat.v4.new_output(
        "display_data", data={"text/markdown": text, "text/plain": "<Markdown>"}
    )


def test_collect_actions_writes_who_each_bullet_names(small_wh, tmp_path):
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell("## What to do"),
            nbformat.v4.new_code_cell(
                "x",
                outputs=[_md("- Coach **Maya Evans** (1,200 USD short)\n- Review R002 and R003")],
            ),
        ]
    )
    nbformat.write(nb, str(tmp_path / "s.ipynb"))
    job = Job(studies.STUDIES["funnel"], parameters={"currency": "USD"}, status="ok")
    job.files = {"notebook": "s.ipynb"}
    actions = collect_actions([job], tmp_path, "2026-10-01", source=small_wh)
    assert tuple(actions.columns) == COLUMNS
    assert actions["people"].tolist() == [
        "Maya Evans",
        PEOPLE_SEP.join(["Paul Zhang (R002)", "Paul Zhang (R003)"]),
    ]
    assert actions["amount_at_stake"].tolist()[0] == 1200.0
    # without a warehouse the column is there, empty
    assert collect_actions([job], tmp_path, "2026-10-01")["people"].tolist() == ["", ""]


def test_rank_actions_largest_amount_first_then_alerted_studies_then_report_order():
    a = pd.DataFrame(
        {
            "study": ["data-quality", "funnel", "service", "customers", "funnel", "service"],
            "action": ["dq", "f1", "s1", "c1", "f2", "s2"],
            "amount_at_stake": [None, 5.0, None, 900.0, None, 5.0],
        }
    )
    ranked = rank_actions(a, alerted={"service"})
    # at equal amounts, and without an amount, the alerted study's come first
    assert ranked["action"].tolist() == ["c1", "s2", "f1", "s1", "dq", "f2"]
    assert rank_actions(a)["action"].tolist() == ["c1", "f1", "s2", "dq", "s1", "f2"]
    assert rank_actions(a.iloc[:0]).empty


def test_evidence_is_the_file_the_bullet_names_or_the_what_to_do_heading(tmp_path):
    files = ["customers-at-risk.csv", "tables.xlsx"]
    assert named_file("Call them (customers-at-risk.csv, 51 owners).", files) == (
        "customers-at-risk.csv"
    )
    assert named_file("Every table is in tables.xlsx", files) == "tables.xlsx"
    assert named_file("Call them (deals-stuck.csv)", files) is None  # not written this run
    page = tmp_path / "s.html"
    page.write_text(
        '<h2 id="Pipeline">Pipeline</h2><h2 id="What-to-do">What to do<a href="#">¶</a>'
    )
    assert what_to_do_anchor(page) == "What-to-do"
    page.write_text("<h2 id='x'>Pipeline</h2>")
    assert what_to_do_anchor(page) is None
    assert what_to_do_anchor(tmp_path / "missing.html") is None


def test_demo_actions_csv_names_the_reps_and_customers_of_the_warehouse(
    demo_report, demo_warehouse
):
    actions = pd.read_csv(demo_report / "actions.csv", encoding="utf-8-sig", keep_default_na=False)
    assert tuple(actions.columns) == COLUMNS
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        reps = dict(con.execute("SELECT rep_id, name FROM reps").fetchall())
        customers = {n for (n,) in con.execute("SELECT DISTINCT name FROM customers").fetchall()}
    finally:
        con.close()
    named = 0
    for text, people in zip(actions["action"], actions["people"], strict=True):
        shown = [p for p in people.split(PEOPLE_SEP) if p]
        for p in shown:
            m = re.fullmatch(r"(.+) \((\w+)\)", p)
            name, rid = (m[1], m[2]) if m else (p, None)
            assert name in set(reps.values()) | customers, (p, text)
            assert (rid and rid in text and reps.get(rid) == name) or name in text, (p, text)
        # every rep the bullet names by name is listed (none is missed)
        for name in set(reps.values()):
            if re.search(rf"(?<![A-Za-z]){re.escape(name)}(?![A-Za-z])", text):
                assert any(p == name or p.startswith(name + " (") for p in shown), (name, text)
        named += bool(shown)
    assert named >= 3, "the demo's studies name reps to coach, watch and review"
