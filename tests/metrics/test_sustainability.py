"""Sustainability: green share, its change, the target path and emissions, by hand on a tiny
warehouse; the planted green riser recovered through the real report."""

from __future__ import annotations

import json

import duckdb
import pandas as pd
import pytest
from conftest import check_truths

from salesnb.metrics import sustainability as sm
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries import sustainability as sq
from salesnb.sources import connect
from salesnb.sources.demo import orders as demo_orders

# (order, date, region, rep, product, quantity, net_amount)
LINES = [
    ("o1", "2026-07-05", "West", "R1", "G1", 2.0, 100.0),
    ("o2", "2026-07-09", "West", "R1", "N1", 1.0, 300.0),
    ("o3", "2026-08-01", "East", "R2", "G1", 1.0, 50.0),
    ("o4", "2026-08-02", "East", "R2", "N1", 3.0, 150.0),
    ("o5", "2026-09-03", "East", "R3", "X9", 1.0, 40.0),  # a product not in products: not green
    ("o6", "2026-09-04", "West", "R1", "G1", -1.0, -20.0),  # a green return
    ("p1", "2025-07-05", "West", "R1", "G1", 1.0, 60.0),
    ("p2", "2025-07-06", "West", "R1", "N1", 1.0, 340.0),
    ("p3", "2025-08-06", "East", "R2", "N1", 1.0, 200.0),
]
PRODUCTS = [("G1", True, 1.5), ("N1", False, 10.0)]


def warehouse(tmp_path, co2: bool = True):
    path = tmp_path / ("w.duckdb" if co2 else "w-no-co2.duckdb")
    con = duckdb.connect(str(path))
    con.execute(
        "create table orders (order_id varchar, line_no int, order_date date, customer_id varchar,"
        " rep_id varchar, product_id varchar, region varchar, quantity double, net_amount double)"
    )
    for o, d, reg, rep, prod, q, amt in LINES:
        con.execute(
            "insert into orders values (?, 1, ?, 'C1', ?, ?, ?, ?, ?)",
            [o, d, rep, prod, reg, q, amt],
        )
    extra = ", co2_kg_per_unit double" if co2 else ""
    con.execute(f"create table products (product_id varchar, is_green boolean{extra})")
    for pid, green, kg in PRODUCTS:
        con.execute(
            f"insert into products values (?, ?{', ?' if co2 else ''})",
            [pid, green, kg] if co2 else [pid, green],
        )
    con.execute("create table reps (rep_id varchar, name varchar, team varchar)")
    con.execute("insert into reps values ('R1','Ann','W'), ('R2','Bo','E'), ('R3','Cy','E')")
    con.close()
    return connect(path)


def by_hand(period: str, region: str | None = None) -> tuple[float, float, float]:
    """Revenue, green revenue and kg CO2e of the period, straight from LINES and PRODUCTS."""
    p = parse_period(period)
    green = {pid for pid, g, _ in PRODUCTS if g}
    kg = {pid: k for pid, _, k in PRODUCTS}
    rows = [
        r
        for r in LINES
        if p.start <= pd.Timestamp(r[1]).date() < p.end and (region is None or r[2] == region)
    ]
    return (
        sum(r[6] for r in rows),
        sum(r[6] for r in rows if r[4] in green),
        sum(r[5] * kg.get(r[4], 0.0) for r in rows),
    )


def test_green_share_by_region_and_its_change_by_hand(tmp_path):
    src = warehouse(tmp_path)
    q3, q3_prior = parse_period("2026-Q3"), parse_period("2025-Q3")
    f, fp = Filters(q3.start, q3.end), Filters(q3_prior.start, q3_prior.end)
    total = sm.with_shares(sq.green_revenue_by(src, f, by=[])).iloc[0]
    rev, green, kg = by_hand("2026-Q3")
    assert total["green_share"] == pytest.approx(green / rev)  # (100 + 50 - 20) / 620
    assert total["emissions_intensity"] == pytest.approx(kg / rev * 1000)
    regions = sm.change_table(
        sq.green_revenue_by(src, f, by=["region"]),
        sq.green_revenue_by(src, fp, by=["region"]),
        "region",
    ).set_index("region")
    for reg in ("West", "East"):
        r, g, _ = by_hand("2026-Q3", reg)
        rp, gp, _ = by_hand("2025-Q3", reg)
        assert regions.loc[reg, "green_share"] == pytest.approx(g / r)
        assert regions.loc[reg, "green_share_change"] == pytest.approx(g / r - gp / rp)
    # West: 80/380 now against 60/400; East: 50/240 against 0/200 -> East rose most
    assert sm.riser(regions.reset_index())["region"] == "East"
    by_rep = sq.green_revenue_by(src, f, by=["team", "rep_id"]).set_index("rep_id")
    assert by_rep.loc["R3", "green_revenue"] == 0.0 and by_rep.loc["R1", "team"] == "W"
    src.close()


def test_without_co2_column_emissions_are_left_out(tmp_path):
    src = warehouse(tmp_path, co2=False)
    assert not sq.has_emissions(src)
    q3 = parse_period("2026-Q3")
    total = sm.with_shares(sq.green_revenue_by(src, Filters(q3.start, q3.end), by=[])).iloc[0]
    rev, green, _ = by_hand("2026-Q3")
    assert total["green_share"] == pytest.approx(green / rev)
    figures = sm.sustainability_headline(
        total, None, pd.DataFrame(columns=["region", "green_share_change"]), None
    )
    assert "emissions_intensity" not in figures and "green_share_change" not in figures
    src.close()


def test_target_path_is_a_straight_line_from_last_year():
    # 20 % a year ago, 25 % now, 40 % wanted three years on: the line rises 5 points a year over
    # four years (2025 -> 2029), so it is at 25 % now (no gap), and 5 points a year remain to go.
    p = sm.target_path(0.25, 0.20, parse_period("2026"), 0.40, parse_period("2029"))
    assert p["planned"] == pytest.approx(0.25, abs=1e-3)
    assert p["needed_per_year"] == pytest.approx(0.05, abs=1e-3)
    behind = sm.target_path(0.22, 0.20, parse_period("2026"), 0.40, parse_period("2029"))
    assert behind["gap"] == pytest.approx(-0.03, abs=1e-3)
    text = sm.what_to_do(0.22, behind, pd.DataFrame(columns=["region", "green_share_change"]))
    assert "3.0 points behind" in text and "40%" in text
    unknown = sm.target_path(0.22, None, parse_period("2026"), 0.40, parse_period("2029"))
    assert pd.isna(unknown["gap"]) and unknown["planned"] == 0.22


def test_no_positive_revenue_leaves_the_share_empty():
    f = pd.DataFrame({"revenue": [-10.0], "green_revenue": [5.0], "co2_kg": [1.0]})
    t = sm.with_shares(f).iloc[0]
    assert pd.isna(t["green_share"]) and pd.isna(t["emissions_intensity"])
    assert (
        sm.sustainability_headline(
            t, 0.1, pd.DataFrame(columns=["region", "green_share_change"]), None
        )
        == {}
    )


# --------------------------------------------------------------------------- planted truth


def test_demo_report_recovers_the_planted_green_riser(demo_report, demo_truths, demo_warehouse):
    # truths.json states them once salesnb.sources.demo.warehouse writes green_truths();
    # until then the plant's own statement of them is checked
    planted = [t for t in demo_truths if t["study"] == "sustainability"]
    truths = planted or demo_orders.green_truths()
    found = check_truths(demo_report, truths, "sustainability")
    # the headline figures, recomputed independently from the warehouse tables
    manifest = json.loads((demo_report / "manifest.json").read_text())
    p = parse_period(manifest["period"])
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    sql = (
        "select sum(net_amount), sum(case when p.is_green then net_amount else 0 end), "
        "sum(quantity * p.co2_kg_per_unit) "
        "from orders o left join products p using (product_id) "
        "where order_date >= ? and order_date < ?"
    )
    rev, green, kg = con.execute(sql, [p.start, p.end]).fetchone()
    prior = p.shift_years(-1)
    rev0, green0, _ = con.execute(sql, [prior.start, prior.end]).fetchone()
    con.close()
    assert found["green_share"] == pytest.approx(green / rev, abs=1e-6)
    assert found["green_share_change"] == pytest.approx(green / rev - green0 / rev0, abs=1e-6)
    assert found["emissions_intensity"] == pytest.approx(kg / rev * 1000, abs=1e-4)
