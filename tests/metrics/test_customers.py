"""Customers study: metrics on hand-computed tiny frames, engine queries on a tiny warehouse,
the CLV model on awkward data, and the planted truths through ``salesnb report``."""

from __future__ import annotations

import json
import math
from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import check_truths

from salesnb.errors import FitError
from salesnb.metrics import customers as mc
from salesnb.metrics.clv import bgnbd_loglik_terms, fit_bgnbd
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries import customers as qc
from salesnb.sources import connect

# --------------------------------------------------------------------------- RFM


def test_rfm_scores_rank_by_quantile_and_ties_share_a_score():
    f = pd.DataFrame(
        {
            "recency_days": [1, 50, 300, 10, 5, 10],
            "orders": [9, 2, 1, 4, 6, 4],
            "revenue": [900.0, 80.0, 20.0, 300.0, 500.0, 300.0],
        }
    )
    s = mc.rfm_scores(f)
    # recency ranks (most recent best): 1 -> 6/6, 5 -> 5/6, the two 10s share (3+4)/2/6, ...
    assert s["r_score"].tolist() == [5, 2, 1, 3, 5, 3]
    assert s["f_score"].tolist() == [5, 2, 1, 3, 5, 3]
    assert s["fm_score"].tolist() == [5.0, 2.0, 1.0, 3.0, 5.0, 3.0]
    assert "r_score" not in f.columns  # input untouched


def test_rfm_scores_name_missing_columns():
    with pytest.raises(ValueError, match="orders"):
        mc.rfm_scores(pd.DataFrame({"recency_days": [1], "revenue": [1.0]}))


def test_default_segments_follow_the_documented_rules():
    scored = pd.DataFrame(
        {
            "customer_id": list("abcdefgh"),
            "r_score": [5, 3, 5, 4, 3, 1, 2, 1],
            "fm_score": [4.5, 3.0, 1.0, 2.0, 1.5, 4.0, 2.0, 1.0],
            "tenure_days": [400, 400, 30, 400, 400, 400, 400, 400],
        }
    )
    seg = mc.rfm_segments(scored)["segment"].astype(str).tolist()
    assert seg == [
        "Champions",
        "Loyal",
        "New",
        "Promising",
        "Needs attention",
        "At risk",
        "Hibernating",
        "Lost",
    ]


def test_segment_cutoffs_are_an_argument():
    scored = pd.DataFrame({"customer_id": ["a", "b"], "r_score": [5, 2], "fm_score": [2.0, 2.0]})
    rules = [("Recent", {"r_score": (4, 5)}), ("Quiet", {"r_score": (1, 1)})]
    seg = mc.rfm_segments(scored, rules)["segment"].astype(str).tolist()
    assert seg == ["Recent", "Other"]


def test_segment_summary_sizes_and_revenue_shares():
    seg = pd.DataFrame(
        {
            "segment": pd.Categorical(
                ["Champions", "Champions", "Lost"], categories=mc.SEGMENT_ORDER
            ),
            "revenue": [600.0, 300.0, 100.0],
            "recency_days": [5, 15, 400],
            "orders": [6, 4, 1],
        }
    )
    s = mc.segment_summary(seg).set_index("segment")
    assert s.loc["Champions", "customers"] == 2 and s.loc["Lost", "customers"] == 1
    assert s.loc["Champions", "revenue_share"] == pytest.approx(0.9)
    assert s.loc["Champions", "avg_recency_days"] == 10
    assert s.loc["Loyal", "customers"] == 0  # empty segments are kept, in rule order
    assert list(s.index[:2]) == ["Champions", "Loyal"]


def test_segment_movement_between_periods():
    prior = pd.DataFrame(
        {"customer_id": ["a", "b", "c"], "segment": ["Champions", "Champions", "Lost"]}
    )
    current = pd.DataFrame(
        {"customer_id": ["a", "b", "c", "d"], "segment": ["Champions", "At risk", "Lost", "New"]}
    )
    m = mc.segment_movement(prior, current)
    assert m.loc["Champions", "Champions"] == 1 and m.loc["Champions", "At risk"] == 1
    assert m.loc["(not yet a customer)", "New"] == 1 and m.loc["Lost", "Lost"] == 1
    assert m.to_numpy().sum() == 4
    assert mc.segment_flows(m, "Champions") == {"kept": 1, "gained": 0, "lost": 1}


# --------------------------------------------------------------------------- cohorts

ACTIVITY = pd.DataFrame(
    {
        "cohort": pd.to_datetime(["2026-01-01"] * 2 + ["2026-02-01"] * 2 + ["2026-03-01"]),
        "month": pd.to_datetime(
            ["2026-01-01", "2026-02-01", "2026-02-01", "2026-03-01", "2026-03-01"]
        ),
        "months_since": [0, 1, 0, 1, 0],
        "customers": [10, 4, 20, 2, 5],
        "revenue": [1000.0, 800.0, 500.0, 100.0, 50.0],
    }
)


def test_cohort_matrix_customers_and_revenue():
    cust = mc.cohort_matrix(ACTIVITY, "customers")
    # January cohort: month 1 = 4/10; month 2 (March) reached but nobody bought -> 0
    assert cust.loc[pd.Timestamp("2026-01-01")].tolist() == [1.0, 0.4, 0.0]
    assert cust.loc[pd.Timestamp("2026-02-01"), 1] == pytest.approx(0.1)
    assert math.isnan(cust.loc[pd.Timestamp("2026-02-01"), 2])  # not reached yet
    rev = mc.cohort_matrix(ACTIVITY, "revenue")
    assert rev.loc[pd.Timestamp("2026-01-01"), 1] == pytest.approx(0.8)
    assert rev.loc[pd.Timestamp("2026-02-01"), 1] == pytest.approx(0.2)


def test_retention_curve_weights_cohorts_by_size_and_finds_breaks():
    curve = mc.retention_curve(ACTIVITY, "customers")
    # month 1: (4 + 2) / (10 + 20); month 2: only January has lived it: 0 / 10
    assert curve[1] == pytest.approx(0.2) and curve[2] == 0.0
    b = mc.retention_breaks(pd.Series([1.0, 0.5, 0.45, 0.2, 0.19], index=range(5)))
    assert b["month"].tolist() == [3]  # 0.45 -> 0.2; month 4's 5 % is not a break
    assert b["drop_pct"].iloc[0] == pytest.approx(1 - 0.2 / 0.45)
    text = mc.cohort_findings(
        pd.Series([1.0, 0.5, 0.45, 0.2, 0.19]),
        pd.Series([1.0, 0.6]),
        pd.DataFrame(
            {
                "month": [pd.Timestamp("2026-01-01")],
                "returning_customers": [5],
                "change_pct": [-0.3],
            }
        ),
    )
    assert "month 3" in text and "January 2026" in text and "50%" in text


def test_calendar_dips_flags_a_month_when_returning_customers_fall():
    act = pd.DataFrame(
        {
            "cohort": pd.to_datetime(["2025-01-01"] * 4),
            "month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01", "2025-04-01"]),
            "months_since": [0, 1, 2, 3],
            "customers": [100, 40, 20, 19],
            "revenue": [1.0] * 4,
        }
    )
    d = mc.calendar_dips(act, threshold=0.15)
    assert d["month"].tolist() == [pd.Timestamp("2025-03-01")]
    assert d["change_pct"].iloc[0] == pytest.approx(-0.5)


# --------------------------------------------------------------------------- affinity

PAIRS = {
    # orders: o1 {A,B}, o2 {A,B}, o3 {A}, o4 {C}
    "orders": 4,
    "categories": pd.DataFrame({"category": ["A", "B", "C"], "orders": [3, 2, 1]}),
    "pairs": pd.DataFrame({"category_a": ["A"], "category_b": ["B"], "orders": [2]}),
}


def test_category_affinity_support_confidence_lift():
    a = mc.category_affinity(PAIRS).set_index(["antecedent", "consequent"])
    assert a.loc[("A", "B"), "support"] == pytest.approx(0.5)
    assert a.loc[("A", "B"), "confidence"] == pytest.approx(2 / 3)
    assert a.loc[("A", "B"), "lift"] == pytest.approx((2 / 3) / (2 / 4))
    assert a.loc[("B", "A"), "confidence"] == pytest.approx(1.0)
    assert a.loc[("B", "A"), "lift"] == pytest.approx(1 / (3 / 4))


def test_next_category_offer_per_segment():
    aff = mc.category_affinity(PAIRS)
    owned = pd.DataFrame(
        {"customer_id": ["x", "y", "y", "z", "w"], "category": ["A", "A", "B", "A", "B"]}
    )
    segs = pd.DataFrame(
        {"customer_id": ["x", "y", "z", "w"], "segment": ["Loyal", "Loyal", "Loyal", "Lost"]}
    )
    offers = mc.next_category_by_segment(owned, segs, aff).set_index("segment")
    # Loyal: x and z buy A but not B -> offer B (confidence 2/3, 2 customers -> 1.33 takers)
    assert offers.loc["Loyal", "offer_category"] == "B"
    assert offers.loc["Loyal", "because_they_buy"] == "A"
    assert offers.loc["Loyal", "audience"] == 2
    assert offers.loc["Loyal", "expected_takers"] == pytest.approx(4 / 3)
    # Lost: w buys B not A -> offer A (confidence 1)
    assert offers.loc["Lost", "offer_category"] == "A"
    # the categories of the rules are all the offers look at
    assert mc.offer_categories(aff) == ["A", "B"]
    some = owned[owned["category"].isin(mc.offer_categories(aff))]
    pd.testing.assert_frame_equal(
        mc.next_category_by_segment(some, segs, aff), offers.reset_index()
    )
    assert mc.offer_categories(aff, min_lift=9.0) == []


# --------------------------------------------------------------------------- concentration


def test_pareto_and_top_share_break_ties_by_customer_id():
    rev = pd.DataFrame({"customer_id": ["d", "c", "b", "a"], "revenue": [10.0, 40.0, 10.0, 40.0]})
    curve = mc.pareto_curve(rev)
    assert curve["customer_id"].tolist() == ["a", "c", "b", "d"]
    assert curve["revenue_share"].tolist() == [0.4, 0.8, 0.9, 1.0]
    assert mc.top_n_share(rev, n=3) == pytest.approx(0.9)
    assert mc.top_n_share(rev, n=10) == pytest.approx(1.0)  # fewer customers than n
    assert mc.customers_for_share(curve, 0.8) == 0.5


def test_concentration_of_a_zero_or_negative_revenue_is_not_computed():
    # returns above sales: a top-10 share of a negative total would be a meaningless number
    neg = pd.DataFrame({"customer_id": ["a", "b"], "revenue": [5.0, -9.0]})
    assert mc.pareto_curve(neg)["revenue_share"].isna().all()
    assert math.isnan(mc.top_n_share(neg, n=10))
    assert math.isnan(mc.customers_for_share(mc.pareto_curve(neg), 0.8))
    zero = neg.assign(revenue=[0.0, 0.0])
    assert math.isnan(mc.top_n_share(zero, n=1))
    assert "top 10" not in mc.what_to_do(top10_share=float("nan"))


def test_history_notes_when_the_orders_start_late():
    q3 = parse_period("2026-Q3")
    # three years of history: nothing to flag
    full = mc.history_notes(date(2023, 10, 1), q3.end, q3.previous(), 12)
    assert full == {"movement_measured": True, "rfm": [], "movement": []}
    # orders from 2026-02-01: 8 months before the end of Q3, 5 before the end of Q2
    h = mc.history_notes(date(2026, 2, 1), q3.end, q3.previous(), 12)
    assert h["movement_measured"]
    assert h["rfm"][0].startswith("RFM scores rest on 8 months of orders")
    assert h["movement"][0].startswith("Segments at the end of 2026-Q2 rest on 5 months")
    # one month of orders: nobody had a segment at the end of August
    sep = parse_period("2026-09")
    h = mc.history_notes(date(2026, 9, 1), sep.end, sep.previous(), 12)
    assert not h["movement_measured"]
    assert h["rfm"][0].startswith("RFM scores rest on 30 days of orders")
    assert "Segment movement not measured" in h["movement"][0]


def test_affinity_note_names_what_is_missing():
    def pairs(cats):
        return {"orders": 3, "categories": pd.DataFrame({"category": cats, "orders": 1})}

    none = pd.DataFrame()
    assert "returns only" in mc.affinity_note(pairs([]), none, none)
    assert "Only one product category (A)" in mc.affinity_note(pairs(["A"]), none, none)
    assert "No order holds two" in mc.affinity_note(pairs(["A", "B"]), none, none)
    assert mc.affinity_note(pairs(["A", "B"]), none, pd.DataFrame({"segment": ["x"]})) is None


# --------------------------------------------------------------------------- churn & CLV weights

PRED = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d", "e"],
        "frequency": [5, 4, 3, 0, 2],
        "revenue": [1000.0, 900.0, 100.0, 5000.0, 50.0],
        "probability_alive": [0.2, 0.9, 0.1, 1.0, 0.3],
        "last_date": pd.to_datetime(
            ["2025-01-01", "2026-09-01", "2025-02-01", "2026-01-01", "2025-03-01"]
        ),
        "recency_days": [637, 29, 606, 272, 578],
        "clv": [50.0, 800.0, 5.0, 300.0, 2.0],
        "expected_purchases": [0.5, 4.0, 0.1, 1.0, 0.1],
    }
)
OWNERS = pd.DataFrame(
    {
        "customer_id": ["a", "b", "c", "d"],
        "customer_name": ["A Ltd", "B Ltd", "C Ltd", "D Ltd"],
        "owner_rep_id": ["r1", "r1", "r2", None],
        "owner_rep": ["Ann", "Ann", "Bob", None],
    }
)


def test_churn_risk_lists_valuable_quiet_customers_with_their_owner():
    # repeat buyers' revenue: 1000, 900, 100, 50 -> 50 % quantile = 500; a (1000, 0.2) is the one
    risk = mc.churn_risk(PRED, OWNERS, value_quantile=0.5, alive_threshold=0.5)
    assert risk["customer_id"].tolist() == ["a"]
    row = risk.iloc[0]
    assert row["owner_rep"] == "Ann" and row["customer_name"] == "A Ltd"
    assert row["last_purchase"] == pd.Timestamp("2025-01-01") and row["past_value"] == 1000.0
    # d (one purchase) is never on the list: BG/NBD cannot judge a one-time buyer
    wide = mc.churn_risk(PRED, OWNERS, value_quantile=0.0, alive_threshold=0.5)
    assert wide["customer_id"].tolist() == ["a", "c", "e"]


def test_clv_weights_by_rep_share_the_predicted_value_of_each_book():
    w = mc.clv_weights_by_rep(PRED, OWNERS)
    assert w["rep_id"].tolist() == ["r1", "r2"]
    assert w["clv"].tolist() == [850.0, 5.0]  # d has no owner, e no customer row: left out
    assert w["weight"].tolist() == pytest.approx([850 / 855, 5 / 855])
    assert w["rep_name"].tolist() == ["Ann", "Bob"]


def test_what_to_do_names_the_call_list_and_concentration():
    risk = mc.churn_risk(PRED, OWNERS, value_quantile=0.5)
    text = mc.what_to_do(at_risk=risk, top10_share=0.35, clv_total=1234.0)
    assert "1 high-value customers" in text and "35%" in text and "1,234" in text


# --------------------------------------------------------------------------- CLV model


def test_bgnbd_likelihood_by_hand():
    # x = 0: L = (alpha / (alpha + T))^r ; r = 1, alpha = 1, T = 1 -> ln 0.5
    assert bgnbd_loglik_terms((1.0, 1.0, 1.0, 1.0), [0], [0.0], [1.0])[0] == pytest.approx(
        math.log(0.5)
    )
    # x = 1, t_x = 1, T = 2, r = alpha = a = b = 1:
    # A1 = ln Gamma(2) - ln Gamma(1) + 0 = 0; A2 = ln Gamma(2) + ln Gamma(2) - ln Gamma(1) - ln Gamma(3) = -ln 2
    # A3 = (1 + 2)^-2 = 1/9; A4 = a / (b + x - 1) * (1 + 1)^-2 = 1/4 -> L = 0.5 * (1/9 + 1/4)
    got = bgnbd_loglik_terms((1.0, 1.0, 1.0, 1.0), [1], [1.0], [2.0])[0]
    assert got == pytest.approx(math.log(0.5 * (1 / 9 + 1 / 4)))


def test_fit_recovers_simulated_parameters():
    rng = np.random.default_rng(11)
    n, r, alpha, a, b = 4000, 0.8, 6.0, 1.0, 4.0
    lam = rng.gamma(r, 1 / alpha, n)
    drop = rng.beta(a, b, n)
    T = rng.uniform(20, 100, n)
    x, tx = np.zeros(n), np.zeros(n)
    for i in range(n):
        t = 0.0
        while True:
            t += rng.exponential(1 / lam[i])
            if t > T[i]:
                break
            x[i], tx[i] = x[i] + 1, t
            if rng.random() < drop[i]:
                break
    params, _ = fit_bgnbd(x, tx, T)
    assert params["r"] == pytest.approx(r, rel=0.15)
    assert params["alpha"] == pytest.approx(alpha, rel=0.2)
    assert params["b"] / (params["a"] + params["b"]) == pytest.approx(b / (a + b), abs=0.06)


def test_fit_fails_clearly_when_nobody_bought_twice():
    s = pd.DataFrame(
        {
            "frequency": [0, 0, 0],
            "recency": [0.0, 0.0, 0.0],
            "T": [10.0, 20.0, 30.0],
            "monetary_value": [0.0, 0.0, 0.0],
        }
    )
    with pytest.raises(FitError, match="repeat purchase"):
        mc.fit_clv(s)


HANDFUL = pd.DataFrame(
    {
        "frequency": [2, 1, 0, 0, 3],
        "recency": [30.4, 1.7, 0.0, 0.0, 20.0],
        "T": [38.9, 38.9, 38.9, 30.0, 35.0],
        "monetary_value": [22.4, 11.8, 0.0, 0.0, 30.0],
    }
)


def test_a_handful_of_customers_fails_clearly_or_fits_with_a_penalty():
    with pytest.raises(FitError, match="did not settle"):
        mc.fit_clv(HANDFUL)
    model = mc.fit_clv(HANDFUL, penalizer=0.001)
    pred = model.predict(HANDFUL, clv_months=12)
    assert all(math.isfinite(v) and v > 0 for v in model.params.values())
    assert pred["probability_alive"].between(0, 1).all()
    assert (pred["expected_purchases"] >= 0).all() and (pred["clv"] >= 0).all()
    # the customer who bought 3 times, lately, is worth more than the one who bought once long ago
    assert pred.loc[4, "clv"] > pred.loc[1, "clv"]


def test_fit_input_errors_name_the_column():
    with pytest.raises(ValueError, match="monetary_value"):
        mc.fit_clv(HANDFUL.drop(columns="monetary_value"))
    bad = HANDFUL.assign(recency=[50.0, 1.7, 0.0, 0.0, 20.0])  # recency beyond T
    with pytest.raises(FitError, match="recency"):
        mc.fit_clv(bad)


def test_clv_value_horizon_and_discounting():
    model = mc.fit_clv(HANDFUL, penalizer=0.001)
    x, tx, T, m = HANDFUL["frequency"], HANDFUL["recency"], HANDFUL["T"], HANDFUL["monetary_value"]
    assert np.allclose(model.customer_value(x, tx, T, m, clv_months=0), 0.0)
    undiscounted = model.customer_value(x, tx, T, m, clv_months=12, discount_rate=0.0)
    expected = model.conditional_expected_purchases(
        12 * mc.WEEKS_PER_MONTH, x, tx, T
    ) * model.expected_average_value(x, m)
    np.testing.assert_allclose(undiscounted, expected, rtol=1e-10)
    discounted = model.customer_value(x, tx, T, m, clv_months=12, discount_rate=0.10)
    assert (discounted < undiscounted).all() and (discounted > undiscounted / 1.1).all()


def test_clv_predictions_fit_in_weeks_from_a_summary_in_days():
    days = HANDFUL.assign(recency=HANDFUL["recency"] * 7, T=HANDFUL["T"] * 7)
    model, pred = mc.clv_predictions(days, clv_months=6, penalizer=0.001)
    direct = mc.fit_clv(HANDFUL, penalizer=0.001)
    assert model.params["alpha"] == pytest.approx(direct.params["alpha"], rel=1e-6)
    assert pred["T"].tolist() == days["T"].tolist()  # the caller's days are kept
    np.testing.assert_allclose(
        pred["clv"], direct.predict(HANDFUL, clv_months=6)["clv"], atol=0.005
    )  # cents


# --------------------------------------------------------------------------- engine queries


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("cust") / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""create table orders as select * from (values
 ('o1',1,date '2026-01-05','c1','r1','p1',20.0,false),
 ('o1',2,date '2026-01-05','c1','r1','p2',30.0,false),
 ('o2',1,date '2026-02-10','c1','r1','p1',10.0,false),
 ('o3',1,date '2026-02-11','c2','r2','p1',40.0,false),
 ('o4',1,date '2026-03-01','c2','r2','p3',5.0,false),
 ('o5',1,date '2026-03-02','c2','r2','p2',-30.0,true),
 ('o6',1,date '2026-03-20','c3','r2','p2',70.0,false)
) t(order_id,line_no,order_date,customer_id,rep_id,product_id,net_amount,is_return)""")
    con.execute("""create table products as select * from (values ('p1','x','A'),('p2','y','B'),('p3','z','C'))
 t(product_id,name,category)""")
    con.execute("""create table reps as select * from (values ('r1','Ann','T1'),('r2','Bob','T2'))
 t(rep_id,name,team)""")
    con.execute("""create table customers as select * from (values ('c1','One','r1'),('c2','Two','r2'),
 ('c3','Three',null)) t(customer_id,name,owner_rep_id)""")
    con.close()
    src = connect(path)
    yield src
    src.close()


Q1 = parse_period("2026-Q1")


def test_cohort_activity_query(tiny):
    a = qc.cohort_activity(tiny, Filters(Q1.start, Q1.end))
    rows = {
        (str(r.cohort.date()), r.months_since): (r.customers, r.revenue) for r in a.itertuples()
    }
    assert rows == {
        ("2026-01-01", 0): (1, 50.0),
        ("2026-01-01", 1): (1, 10.0),
        ("2026-02-01", 0): (1, 40.0),
        ("2026-02-01", 1): (1, -25.0),
        ("2026-03-01", 0): (1, 70.0),
    }


def test_category_pairs_query(tiny):
    p = qc.category_pairs(tiny, Filters(Q1.start, Q1.end))
    # orders with a category, returns left out: o1 {A,B}, o2 {A}, o3 {A}, o4 {C}, o6 {B}
    assert p["orders"] == 5
    assert dict(zip(p["categories"]["category"], p["categories"]["orders"], strict=True)) == {
        "A": 3,
        "B": 2,
        "C": 1,
    }
    assert p["pairs"].to_dict("records") == [{"category_a": "A", "category_b": "B", "orders": 1}]


def test_customer_owners_and_revenue_queries(tiny):
    o = qc.customer_owners(tiny).set_index("customer_id")
    assert o.loc["c1", "owner_rep"] == "Ann" and o.loc["c1", "customer_name"] == "One"
    assert pd.isna(o.loc["c3", "owner_rep"])
    r = qc.customer_revenue(tiny, Filters(Q1.start, Q1.end)).set_index("customer_id")["revenue"]
    assert r.to_dict() == {"c1": 60.0, "c2": 15.0, "c3": 70.0}


def test_rfm_frame_window_and_history(tiny):
    f = qc.rfm_frame(tiny, Filters(Q1.start, Q1.end), lookback_months=1).set_index("customer_id")
    # as of 2026-03-31; window = March: c1 none, c2 one purchase (o4) and a return, c3 one
    assert f.loc["c1", "orders"] == 0 and f.loc["c1", "revenue"] == 0.0
    assert f.loc["c1", "recency_days"] == (date(2026, 3, 31) - date(2026, 2, 10)).days
    assert f.loc["c2", "orders"] == 1 and f.loc["c2", "revenue"] == -25.0
    assert f.loc["c3", "tenure_days"] == 11


def test_customer_history_is_the_summary_and_the_rfm_inputs_in_one_pass(tiny):
    from salesnb.queries import customer_summary

    f = Filters(Q1.start, Q1.end)
    feb = date(2026, 3, 1)
    summary, rfm = qc.customer_history(tiny, f, rfm_ends=[Q1.end, feb], lookback_months=1)
    pd.testing.assert_frame_equal(summary, customer_summary(tiny, f), check_exact=True)
    for end in (Q1.end, feb):
        expect = qc.rfm_frame(tiny, f, end=end, lookback_months=1)
        pd.testing.assert_frame_equal(rfm[end], expect, check_exact=True)
    # as of 2026-02-28: c3 had not bought yet; February: c1 one order, c2 one order (o3)
    before = rfm[feb].set_index("customer_id")
    assert sorted(before.index) == ["c1", "c2"]
    assert before["orders"].to_dict() == {"c1": 1, "c2": 1}
    assert before.loc["c1", "revenue"] == 10.0 and before.loc["c1", "recency_days"] == 18
    with pytest.raises(ValueError, match="after the history's end"):
        qc.customer_history(tiny, Filters(Q1.start, feb), rfm_ends=[Q1.end])


def test_categories_bought_lists_each_customer_category_once(tiny):
    got = qc.categories_bought(tiny, Filters(Q1.start, Q1.end))
    # o5 (a return of p2 by c2) is not a purchase
    assert got.values.tolist() == [["c1", "A"], ["c1", "B"], ["c2", "A"], ["c2", "C"], ["c3", "B"]]
    full = qc.customer_categories(tiny, Filters(Q1.start, Q1.end))
    assert got.values.tolist() == full[["customer_id", "category"]].values.tolist()
    # only the categories of the offer rules; none: nothing to read
    some = qc.categories_bought(tiny, Filters(Q1.start, Q1.end), categories=["B", "C"])
    assert some.values.tolist() == [["c1", "B"], ["c2", "C"], ["c3", "B"]]
    none = qc.categories_bought(tiny, Filters(Q1.start, Q1.end), categories=[])
    assert none.empty and none.columns.tolist() == ["customer_id", "category"]


def test_category_pairs_of_a_period_without_purchases(tiny):
    p = qc.category_pairs(tiny, Filters(date(2025, 1, 1), date(2025, 4, 1)))
    assert p["orders"] == 0 and p["categories"].empty and p["pairs"].empty


# --------------------------------------------------------------------------- planted truths


def test_customers_planted_truths_recovered(demo_report, demo_truths):
    check_truths(demo_report, demo_truths, "customers")


def test_demo_report_publishes_the_call_list(demo_report):
    figures = json.loads((demo_report / "customers.json").read_text())
    calls = pd.read_csv(demo_report / "customers-at-risk.csv")
    assert len(calls) == figures["at_risk_customers"] > 0
    assert calls["owner_rep"].notna().all()  # every demo customer has an owner rep
    assert (calls["probability_alive"] < 0.5).all()
    assert figures["clv_total"] > 0 and figures["customers_active"] > 0


def test_segment_shares_of_a_net_loss_are_left_out():
    seg = pd.DataFrame(
        {
            "segment": pd.Categorical(["At risk", "Lost"], categories=mc.SEGMENT_ORDER),
            "revenue": [-50.0, 20.0],  # twelve months of returns above sales: -30 net
            "recency_days": [200, 400],
            "orders": [1, 1],
        }
    )
    s = mc.segment_summary(seg)
    assert s["revenue_share"].isna().all()
    assert s.set_index("segment").loc["At risk", "customers_share"] == 0.5
    text = mc.what_to_do(segments=s)
    assert "nan" not in text and "**At risk** segment (1 customers)" in text
