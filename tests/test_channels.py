"""Channel metrics on tiny hand-computed frames."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from salesnb.metrics import channels as cm


def test_channel_summary_shares_growth_aov_margin():
    now = pd.DataFrame(
        {
            "channel": ["Online", "Retail", None],
            "revenue": [600.0, 300.0, 100.0],
            "margin": [120.0, 90.0, 10.0],
            "orders": [6, 2, 1],
            "customers": [5, 2, 1],
        }
    )
    prior = pd.DataFrame({"channel": ["Online", "Retail"], "revenue": [400.0, 400.0]})
    s = cm.channel_summary(now, prior).set_index("channel")
    assert s.loc["Online", "share"] == pytest.approx(0.6)
    assert s.loc["Online", "growth"] == pytest.approx(0.5)
    assert s.loc["Retail", "growth"] == pytest.approx(-0.25)
    assert s.loc["Retail", "aov"] == pytest.approx(150.0)
    assert s.loc["Retail", "margin_pct"] == pytest.approx(0.3)
    assert s.loc["Online", "share_change"] == pytest.approx(0.6 - 0.5)
    assert "(no channel)" in s.index
    with pytest.raises(ValueError, match="orders"):
        cm.channel_summary(now.drop(columns="orders"))


def test_quarterly_pivot_and_overtake_first_quarter_it_stays_above():
    q = pd.to_datetime(["2024-01-01", "2024-04-01", "2024-07-01", "2024-10-01", "2025-01-01"])
    rows = []
    for qi, (on, re, pa) in zip(
        q, [(1, 5, 0.5), (6, 5, 2), (4, 5, 2.5), (6, 5, 3), (7, 4, 3)], strict=True
    ):
        rows += [(qi, "Online", on), (qi, "Retail", re), (qi, "Partner", pa)]
    pivot = cm.quarterly_pivot(pd.DataFrame(rows, columns=["quarter", "channel", "revenue"]))
    assert list(pivot.index) == ["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4", "2025-Q1"]
    o = cm.find_overtake(pivot)
    # Online was above Retail in Q2 but fell back in Q3: it stays above from 2024-Q4.
    # (Online is above Partner from the start, so that pair is no overtake.)
    assert (o["channel"], o["overtaken"], o["quarter"]) == ("Online", "Retail", "2024-Q4")
    assert o["final_gap"] == 3.0


def test_overtake_picks_largest_final_gap_and_none_when_no_crossing():
    p = pd.DataFrame(
        {"A": [1.0, 9.0], "B": [2.0, 1.0], "C": [5.0, 4.0]}, index=["2024-Q1", "2024-Q2"]
    )
    o = cm.find_overtake(p)  # A overtakes B (gap 8) and C (gap 5)
    assert (o["channel"], o["overtaken"]) == ("A", "B")
    assert (
        cm.find_overtake(pd.DataFrame({"A": [1.0, 2.0], "B": [3.0, 4.0]}, index=["q1", "q2"])) == {}
    )
    assert cm.find_overtake(p.iloc[:1]) == {}


def test_mix_shift_chi_square_by_hand():
    prior = pd.DataFrame({"channel": ["A", "B"], "orders": [50, 50]})
    now = pd.DataFrame({"channel": ["A", "B"], "orders": [80, 20]})
    r = cm.mix_shift_test(now, prior)
    # expected 65 / 35 in each row: chi2 = 2 x (15^2/65 + 15^2/35)
    assert r["chi2"] == pytest.approx(2 * (225 / 65 + 225 / 35))
    assert r["dof"] == 1
    assert r["cramers_v"] == pytest.approx(np.sqrt(r["chi2"] / 200))
    same = cm.mix_shift_test(prior, prior)
    assert same["chi2"] == pytest.approx(0.0) and same["p_value"] == pytest.approx(1.0)


def test_order_value_welch_anova_equals_welch_t_for_two_channels():
    a = [10.0, 11, 9, 10, 12, 8, 10]
    b = [12.0, 14, 9, 13, 15, 11]
    daily = pd.DataFrame(
        {"channel": ["A"] * len(a) + ["B"] * len(b), "revenue": a + b, "orders": 1}
    )
    r = cm.order_value_test(daily)
    t = stats.ttest_ind(a, b, equal_var=False)
    assert r["statistic"] == pytest.approx(t.statistic**2, rel=1e-6)
    assert r["p_value"] == pytest.approx(t.pvalue, rel=1e-6)
    assert r["aov"]["A"] == pytest.approx(np.mean(a))
    assert np.isnan(cm.order_value_test(daily[daily.channel == "A"])["p_value"])


def test_growth_leaders_by_share_change():
    s = pd.DataFrame(
        {
            "channel": ["Direct", "Online", "Retail", "Tiny"],
            "share": [0.5, 0.3, 0.19, 0.01],
            "prior_share": [0.5, 0.2, 0.29, 0.01],
            "growth": [0.15, 0.7, -0.2, 3.0],
        }
    )
    g = cm.growth_leaders(s, min_share=0.02)
    assert (g["growing_channel"], g["shrinking_channel"]) == ("Online", "Retail")
    assert g["growing_share_change"] == pytest.approx(0.1)


def test_channel_actions_name_the_channels():
    s = pd.DataFrame({"channel": ["Online", "Retail"], "margin_pct": [0.4, 0.2]})
    md = cm.channel_actions(
        s,
        {
            "growing_channel": "Online",
            "growing_share_change": 0.03,
            "shrinking_channel": "Retail",
            "shrinking_share_change": -0.03,
        },
        {"channel": "Online", "overtaken": "Retail", "quarter": "2025-Q2"},
        {"p_value": 0.5},
        {},
    )
    assert "toward Online" in md and "2025-Q2" in md and "does not differ" in md
