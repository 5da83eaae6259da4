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
    one = cm.order_value_test(daily[daily.channel == "A"])
    assert one == {"not_testable": "only one channel has orders", "channels": 1}


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


# --------------------------------------------------------------------------- boundary cases


def test_tests_on_one_channel_or_without_spread_say_not_testable():
    one = pd.DataFrame({"channel": ["Direct"], "orders": [40]})
    assert cm.mix_shift_test(one, one) == {"not_testable": "only one channel has orders"}
    two = pd.DataFrame({"channel": ["A", "B"], "orders": [30, 10]})
    none_before = pd.DataFrame({"channel": ["A", "B"], "orders": [0, 0]})
    assert cm.mix_shift_test(two, none_before)["not_testable"] == (
        "one of the two periods has no orders"
    )
    # every day's order value is the same within each channel: Welch's ANOVA divides by zero
    flat = pd.DataFrame({"channel": ["A"] * 5 + ["B"] * 5, "revenue": [10.0] * 5 + [20.0] * 5})
    r = cm.order_value_test(flat.assign(orders=1))
    assert "p_value" not in r and "does not vary" in r["not_testable"]
    # two channels, but one has orders on 3 days only (min_days=5)
    short = pd.DataFrame(
        {"channel": ["A"] * 6 + ["B"] * 3, "revenue": [1.0, 2, 3, 4, 5, 6, 1, 2, 3], "orders": 1}
    )
    assert "fewer than two channels" in cm.order_value_test(short)["not_testable"]
    text = cm.significance_summary(r, cm.mix_shift_test(one, one), "2025-Q3")
    assert "nan" not in text and text.count("not testable") == 2


def test_channel_summary_with_net_returns_leaves_shares_and_margin_pct_empty():
    # returns above sales: -100 net; a share of a negative total means nothing
    now = pd.DataFrame(
        {
            "channel": ["A", "B"],
            "revenue": [-150.0, 50.0],
            "margin": [-160.0, 20.0],
            "orders": [3, 1],
            "customers": [3, 1],
        }
    )
    s = cm.channel_summary(now).set_index("channel")
    assert s["share"].isna().all()
    assert np.isnan(s.loc["A", "margin_pct"])  # margin % of a negative revenue: not computed
    assert s.loc["B", "margin_pct"] == pytest.approx(0.4)
    assert s.loc["A", "aov"] == pytest.approx(-50.0)  # a computed net value per order
    notes = cm.summary_notes(s.reset_index())
    assert notes == [
        "Shares of revenue and margin % not computed: net revenue in the period is -100.00 "
        "(returns above sales)."
    ]


def test_headline_leaves_out_what_cannot_be_computed():
    # no cost column: margin is NaN, and its sum must not become a 0.0 margin
    s = cm.channel_summary(
        pd.DataFrame({"channel": ["A"], "revenue": [80.0], "orders": [2], "customers": [2]})
    )
    assert cm.summary_notes(s) == [
        "Margin not shown: margin needs a cost column (orders.cost or products.unit_cost)."
    ]
    h = cm.channel_headline(s, None, {}, {"not_testable": "x"}, {}, {}, 80.0)
    assert h == {"revenue_total": 80.0, "channels": 1, "top_channel": "A", "top_channel_share": 1.0}
    neg = s.assign(revenue=[-5.0], share=[np.nan])
    assert "top_channel" not in cm.channel_headline(neg, None, {}, {}, {}, {}, -5.0)


def test_overtake_ignores_quarters_netting_to_zero_or_below():
    # in 2025-Q1 returns exceed sales: B (-1) is "above" A (-9), which is no overtake
    p = pd.DataFrame(
        {"A": [5.0, 6.0, -9.0], "B": [3.0, 4.0, -1.0]}, index=["2024-Q3", "2024-Q4", "2025-Q1"]
    )
    assert cm.find_overtake(p) == {}
    assert cm.find_overtake(p.iloc[:2]) == {}


def test_growth_leaders_leave_out_the_growth_of_a_new_channel():
    s = pd.DataFrame(
        {
            "channel": ["A", "B"],
            "share": [0.5, 0.5],
            "prior_share": [1.0, 0.0],
            "growth": [0.0, np.nan],  # B sold nothing a year ago
        }
    )
    g = cm.growth_leaders(s)
    assert g["growing_channel"] == "B" and "growing_growth" not in g
    assert g["shrinking_growth"] == 0.0


def test_channel_charts_on_one_channel_and_a_net_loss_say_so_in_the_title():
    import matplotlib.pyplot as plt

    from salesnb.plots import channels as cp

    one = pd.DataFrame({"Direct": [5.0, 7.0]}, index=["2025-Q1", "2025-Q2"])
    assert cp.channel_mix(one).get_title() == "All revenue came through Direct"
    loss = pd.DataFrame({"A": [5.0, -9.0], "B": [3.0, -1.0]}, index=["2025-Q1", "2025-Q2"])
    assert "too few quarters" in cp.channel_mix(loss).get_title()
    s = cm.channel_summary(
        pd.DataFrame({"channel": ["A"], "revenue": [-9.0], "orders": [3], "customers": [3]})
    )
    assert "zero or negative" in cp.margin_and_aov(s).get_title()
    plt.close("all")
