"""The two shipped mappings reproduce the published figures of their real datasets.

Figures come from each dataset's PROVENANCE.md (computed there with pandas from the raw
files): Maven CRM pipeline counts, won amount, win rate and won amount per regional office;
Superstore sales, profit, quantity and sales per region.
"""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import duckdb
import pytest

from salesnb.sources.ingest import ingest

ROOT = Path(__file__).resolve().parents[2]
pytestmark = [pytest.mark.realdata, pytest.mark.xdist_group("ingest_realdata")]


def _snapshot(folder: Path) -> dict:
    return {
        p.name: (p.stat().st_mtime_ns, hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.iterdir())
        if p.is_file()
    }


@pytest.fixture(scope="module")
def maven(shared_data, tmp_path_factory):
    folder = shared_data / "maven_crm"
    before = _snapshot(folder)
    db = tmp_path_factory.mktemp("maven") / "maven.duckdb"
    r = subprocess.run(
        [
            sys.executable,
            "-m",
            "salesnb.cli",
            "ingest",
            str(folder),
            "--into",
            str(db),
            "--mapping",
            "maven-crm",
            "--json",
        ],
        capture_output=True,
        text=True,
        cwd=ROOT,
    )
    assert r.returncode == 0, r.stderr
    assert _snapshot(folder) == before, "ingest must never write to its input"
    con = duckdb.connect(str(db), read_only=True)
    yield json.loads(r.stdout), con
    con.close()


@pytest.fixture(scope="module")
def superstore(shared_data, tmp_path_factory):
    folder = shared_data / "superstore"
    before = _snapshot(folder)
    db = tmp_path_factory.mktemp("superstore") / "superstore.duckdb"
    result = ingest(folder, into=db, mapping="superstore")
    assert _snapshot(folder) == before, "ingest must never write to its input"
    con = duckdb.connect(str(db), read_only=True)
    yield result, con
    con.close()


def one(con, sql):
    return con.execute(sql).fetchone()


def test_maven_counts_and_every_row_accounted_for(maven):
    out, _ = maven
    assert out["tables"]["opportunities"] == {"rows_in": 8800, "accepted": 8800, "quarantined": 0}
    assert out["tables"]["customers"]["accepted"] == 85
    assert out["tables"]["products"]["accepted"] == 7
    assert out["tables"]["reps"]["accepted"] == 35 + 6  # agents and their managers
    for c in out["tables"].values():
        assert c["rows_in"] == c["accepted"] + c["quarantined"]


def test_maven_pipeline_figures(maven):
    _, con = maven
    won, lost, open_ = one(
        con,
        "SELECT count(*) FILTER (status = 'won'), count(*) FILTER (status = 'lost'), "
        "count(*) FILTER (status = 'open') FROM opportunities",
    )
    assert (won, lost, open_) == (4238, 2473, 1589 + 500)
    assert round(100 * won / (won + lost), 2) == 63.15
    assert one(con, "SELECT sum(amount) FROM opportunities WHERE status = 'won'")[0] == 10_005_534
    by_office = dict(
        con.execute(
            "SELECT r.region, sum(o.amount) FROM opportunities o JOIN reps r USING (rep_id) "
            "WHERE o.status = 'won' GROUP BY 1"
        ).fetchall()
    )
    assert by_office == {"Central": 3_346_293, "East": 3_090_594, "West": 3_568_647}


def test_maven_quirks_are_resolved_by_the_mapping(maven):
    _, con = maven
    # GTXPro vs GTX Pro: every deal's product resolves, none dropped.
    assert (
        one(con, "SELECT count(*) FROM opportunities o JOIN products p USING (product_id)")[0]
        == 8800
    )
    assert one(con, "SELECT count(*) FROM opportunities WHERE product_id = 'GTX Pro'")[0] == 1480
    # The 'technolgy' typo is fixed.
    assert one(con, "SELECT count(*) FROM customers WHERE industry = 'technology'")[0] == 12
    assert one(con, "SELECT count(*) FROM customers WHERE industry = 'technolgy'")[0] == 0
    # Blank accounts stay empty (open deals), every named account resolves.
    assert one(con, "SELECT count(*) FROM opportunities WHERE customer_id IS NULL")[0] == 1425
    assert (
        one(
            con,
            "SELECT count(*) FROM opportunities o LEFT JOIN customers c USING (customer_id) "
            "WHERE o.customer_id IS NOT NULL AND c.customer_id IS NULL",
        )[0]
        == 0
    )
    # Every agent's manager is a rep too.
    assert (
        one(
            con,
            "SELECT count(*) FROM reps a LEFT JOIN reps m ON a.manager_id = m.rep_id "
            "WHERE a.manager_id IS NOT NULL AND m.rep_id IS NULL",
        )[0]
        == 0
    )


def test_superstore_published_totals(superstore):
    result, con = superstore
    sales, profit, qty, lines, orders = one(
        con,
        "SELECT sum(net_amount), sum(net_amount - cost), sum(quantity), count(*), "
        "count(DISTINCT order_id) FROM orders",
    )
    assert (lines, orders) == (9994, 5009)
    assert sales == pytest.approx(2_297_200.86, abs=0.01)
    assert profit == pytest.approx(286_397.02, abs=0.01)
    assert qty == 37_873
    by_region = dict(
        con.execute("SELECT region, sum(net_amount) FROM orders GROUP BY 1").fetchall()
    )
    expected = {"West": 725_457.82, "East": 678_781.24, "Central": 501_239.89, "South": 391_721.90}
    assert by_region.keys() == expected.keys()
    for region, value in expected.items():
        assert by_region[region] == pytest.approx(value, abs=0.01), region
    assert result.as_json()["tables"]["orders"] == {
        "rows_in": 9994,
        "accepted": 9994,
        "quarantined": 0,
    }


def test_superstore_derived_columns_and_dimensions(superstore):
    result, con = superstore
    # line_no numbers each order's lines 1..n; the key is unique.
    assert (
        one(
            con,
            "SELECT count(*) FROM (SELECT order_id FROM orders GROUP BY 1 "
            "HAVING max(line_no) <> count(*) OR min(line_no) <> 1)",
        )[0]
        == 0
    )
    # net = quantity x list unit price x (1 - discount) on every line.
    assert (
        one(
            con, "SELECT max(abs(quantity * unit_price * (1 - discount) - net_amount)) FROM orders"
        )[0]
        < 1e-6
    )
    # The 296 returned orders are flagged, and their amounts kept as booked.
    assert one(con, "SELECT count(DISTINCT order_id) FROM orders WHERE returned")[0] == 296
    assert one(con, "SELECT min(quantity) FROM orders WHERE returned")[0] > 0
    assert one(con, "SELECT count(*) FROM customers")[0] == 793
    assert one(con, "SELECT count(*) FROM products")[0] == 1862
    # The 32 product ids that carry a second name in the source are quarantined, not lost.
    assert result.as_json()["tables"]["products"] == {
        "rows_in": 1894,
        "accepted": 1862,
        "quarantined": 32,
    }
    assert (
        one(
            con,
            "SELECT count(*) FROM quarantine WHERE table_name = 'products' "
            "AND reason LIKE 'duplicate key (product_id)%'",
        )[0]
        == 32
    )
    # Each order's rep is its region's manager (People sheet), and resolves in reps.
    assert dict(
        con.execute("SELECT region, any_value(rep_id) FROM orders GROUP BY 1").fetchall()
    ) == dict(con.execute("SELECT region, rep_id FROM reps").fetchall())
