"""Risk & compliance metrics by hand, and the study against the demo's planted breaches."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesnb.metrics import risk as rm


def test_breaches_by_rep_counts_and_orders():
    deals = pd.DataFrame(
        {
            "opportunity_id": list("abcde"),
            "rep_id": ["r1", "r1", "r2", "r3", "r3"],
            "role": ["rep", "rep", "senior", "manager", "rep"],
            "amount": [100.0, 50.0, 70.0, 10.0, 5.0],
            "discount": [0.15, 0.10, 0.25, 0.31, 0.02],
        }
    )
    b = rm.discount_breaches(deals)
    # rep authority 10% (exactly 10% is allowed), senior 20%, manager 30%
    assert sorted(b["opportunity_id"]) == ["a", "c", "d"]
    by = rm.breaches_by_rep(b)
    assert by["rep_id"].tolist() == [
        "r1",
        "r2",
        "r3",
    ]  # one each: larger amount first (100, 70, 10)
    assert by.set_index("rep_id").loc["r1", "max_excess"] == pytest.approx(0.05)


def test_return_outliers_exact_binomial():
    r = pd.DataFrame(
        {"rep_id": ["a", "b", "c"], "lines": [1000, 1000, 1000], "return_lines": [10, 10, 40]}
    )
    out = rm.return_outliers(r).set_index("rep_id")
    pooled = 60 / 3000
    assert out.loc["c", "p_high"] == pytest.approx(stats.binom.sf(39, 1000, pooled))
    assert bool(out.loc["c", "flag"]) and not bool(out.loc["a", "flag"])
    assert out.loc["c", "return_rate"] == 0.04


def test_period_end_loading_flags_the_stuffer():
    reps = [f"r{i}" for i in range(20)]
    share = [0.15 + 0.01 * ((i % 5) - 2) for i in range(20)]
    share[7] = 0.60  # books 60% of the quarter in its last two weeks
    d = pd.DataFrame(
        {"rep_id": reps, "revenue": 1000.0, "revenue_last_days": [1000 * s for s in share]}
    )
    out = rm.period_end_loading(d, days=14, period_days=92)
    assert out.loc[out["flag"], "rep_id"].tolist() == ["r7"]
    assert out.iloc[0]["last_days_share"] == pytest.approx(0.60)


def test_concentration_hhi_and_shares():
    c = rm.concentration(
        pd.DataFrame({"customer_id": ["a", "b", "c", "d"], "revenue": [40.0, 30.0, 20.0, -5.0]})
    )
    # negative (net return) customers do not count; shares 4/9, 3/9, 2/9
    assert c["customers"] == 3
    assert c["top1_share"] == pytest.approx(4 / 9)
    assert c["hhi"] == pytest.approx((400 / 9) ** 2 + (300 / 9) ** 2 + (200 / 9) ** 2)
    assert c["top10_share"] == pytest.approx(1.0)


def test_risk_study_finds_the_planted_breaches(demo_report, demo_truths):
    figures = json.loads((demo_report / "risk.json").read_text())
    truth = next(t for t in demo_truths if t["name"] == "discount_breaches")
    assert figures["discount_breaches"] == truth["value"]
    listed = pd.read_csv(demo_report / "risk-discount-breaches.csv")
    assert sorted(listed["opportunity_id"]) == sorted(truth["ids"])


# --------------------------------------------------------------------------- boundary cases


def test_return_tests_on_one_rep_or_without_spread_say_not_testable():
    one = pd.DataFrame({"rep_id": ["a"], "lines": [20], "return_lines": [3]})
    assert rm.return_test_gap(one) == "only one rep has order lines"
    out = rm.return_outliers(one)
    assert np.isnan(out["p_high"].iloc[0]) and pd.isna(out["flag"].iloc[0])
    none = pd.DataFrame({"rep_id": ["a", "b"], "lines": [20, 5], "return_lines": [0, 0]})
    assert rm.return_test_gap(none) == "no line was returned"
    every = none.assign(return_lines=[20, 5])
    assert rm.return_test_gap(every) == "every line is a return"
    cats = none.rename(columns={"rep_id": "category"}).iloc[:1]
    assert rm.return_test_gap(cats, key="category") == "only one product category has order lines"
    # Wilson intervals: not empty at 0 % (0 of 20) or 100 % (5 of 5), inside [0, 1]
    z = 1.959963984540054
    r = rm.return_outliers(every).set_index("rep_id")
    assert r.loc["b", "rate_high"] == 1.0 and r.loc["b", "rate_low"] == pytest.approx(
        5 / (5 + z**2)
    )
    r0 = rm.return_outliers(none).set_index("rep_id")
    assert r0.loc["a", "rate_low"] == 0.0 and r0.loc["a", "rate_high"] == pytest.approx(
        z**2 / (20 + z**2)
    )
    assert "Return rates far above peers" not in rm.what_to_do(None, pd.DataFrame(), r0, r0, {})


def test_period_end_loading_on_one_rep_or_no_spread_is_not_testable():
    one = rm.period_end_loading(
        pd.DataFrame({"rep_id": ["a"], "revenue": [100.0], "revenue_last_days": [90.0]}), 14, 92
    )
    assert rm.loading_test_gap(one, 14, 92) == "only one rep booked sales in the period"
    assert np.isnan(one["z"].iloc[0]) and pd.isna(one["flag"].iloc[0])  # not a z of 0.0
    # every rep books all of the period on its last day (a one-day history): no spread
    same = pd.DataFrame({"rep_id": list("abc"), "revenue": 50.0, "revenue_last_days": 50.0})
    out = rm.period_end_loading(same, 14, 92)
    assert "no spread" in rm.loading_test_gap(out, 14, 92) and out["z"].isna().all()
    assert "not longer than" in rm.loading_test_gap(out, 14, 14)
    h = rm.risk_headline(
        None,
        pd.DataFrame(),
        "x",
        out,
        "no spread",
        rm.concentration(same.rename(columns={"rep_id": "customer_id"})),
    )
    assert "reps_period_end_loaded" not in h and "discount_breaches" not in h
    assert h["top1_customer_share"] == pytest.approx(1 / 3)


def test_discount_check_falls_back_to_order_lines_without_deals():
    assert rm.discount_check_gap(True, True, True, True) == ("deals", None)
    source, note = rm.discount_check_gap(False, False, False, True)
    assert source == "lines" and "no opportunities table" in note and "smallest" in note
    source, note = rm.discount_check_gap(True, False, True, False)
    assert source is None and "opportunities.discount or orders.discount" in note
    lines = pd.DataFrame(
        {
            "order_id": ["o1", "o1", "o2", "o3"],
            "line_no": [1, 2, 1, 1],
            "rep_id": ["r1", "r2", "r3", None],
            "role": ["rep", "senior", "manager", None],
            "amount": [100.0, 50.0, 70.0, 10.0],
            "discount": [0.15, 0.15, 0.25, 0.11],
        }
    )
    b = rm.line_breaches(lines)
    # rep 10 %: o1/1 breaks it by 5 points; senior 20 % and manager 30 % are within; o3 has no
    # role, so it gets the smallest authority (10 %) and breaks it by 1 point
    assert b[["order_id", "line_no"]].values.tolist() == [["o1", 1], ["o3", 1]]
    assert b["excess"].tolist() == pytest.approx([0.05, 0.01])
    assert "opportunity_id" not in b.columns
    by = rm.breaches_by_rep(b)
    text = rm.what_to_do(b, by, pd.DataFrame(), pd.DataFrame(), {}, unit="order lines")
    assert "**2** order lines exceed" in text and "(1 order line)" in text
    assert rm.risk_headline(b, pd.DataFrame(), None, pd.DataFrame(), None, {}) == {
        "discount_breaches": 2,
        "discount_breach_amount": 110.0,
    }


def test_discounted_lines_query_without_reps(tmp_path):
    import duckdb

    from salesnb.model.filters import Filters
    from salesnb.queries import risk as rq
    from salesnb.sources import connect

    path = tmp_path / "o.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""create table orders as select * from (values
      ('o1', 1, date '2026-07-02', 'c1', 'r1', 100.0, 0.15, false),
      ('o1', 2, date '2026-07-02', 'c1', 'r1', 100.0, 0.05, false),
      ('o2', 1, date '2026-07-03', 'c2', 'r2', -40.0, 0.30, true),
      ('o3', 1, date '2026-06-30', 'c2', 'r2', 90.0, 0.50, false))
      t(order_id, line_no, order_date, customer_id, rep_id, net_amount, discount, is_return)""")
    con.close()
    src = connect(path)
    from datetime import date

    got = rq.discounted_lines(src, Filters(date(2026, 7, 1), date(2026, 10, 1)), above=0.10)
    src.close()
    # o1/2 is within 10 %, o2 is a return, o3 is outside the period
    assert got[["order_id", "line_no", "discount"]].values.tolist() == [["o1", 1, 0.15]]
    assert got["role"].isna().all()
    assert rm.line_breaches(got)["authority"].tolist() == [0.10]
