"""Risk & compliance metrics by hand, and the study against the demo's planted breaches."""

from __future__ import annotations

import json

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
