"""Where a running period lands (salesnb.metrics.landing) and how far off the landing has been.

By hand: the three methods on a tiny warehouse built here (flat orders, a handful of deals),
the combination rules on a two-quarter backtest. On the test demo: the targets study run for
2026-Q3 as of 2026-08-15 (period-to-date against an independent SQL sum, the interval around
the landing, the backtest table) and the landing error of the default report.
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pytest
from known import create_table
from scipy import stats

from salesnb import report
from salesnb.metrics import landing as ld
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries import targets as qt
from salesnb.sources import connect

#: Landing error (mean absolute % error of the combined landing over the backtest's 24 points,
#: each combined with weights from the other quarters only) of the default report on the
#: 200k-line test demo: quarters 2024-Q4 .. 2026-Q3. Measured 1.5 % (0.6 % on the 1M-line
#: default demo), the run rate alone the same. Why this bound: the demo's revenue is a smooth
#: seasonal trend with 5 % noise per rep and month, and a quarter forecast on its 15th day
#: still has 85 % of it to come, so 1-2 % is what a run rate with the right season makes.
#: The same backtest with the season removed, the months weighed flat, or the period-to-date
#: one day short scores 2.7-2.9 % (2.0-2.2 % on the 1M demo; the run rate alone 3.7-4.2 %):
#: the bound sits between what is right and what such a slip gives.
DEMO_LANDING_MAPE = 0.025
#: ... as of 2026-08-15 the quarters are 2024-Q3 .. 2026-Q2, the first of them with only 9
#: months of history before it (no season yet: 6-7 % off). Measured 2.2 % (1.1 % on the 1M
#: demo); the slips above score 3.0-3.3 %.
DEMO_LANDING_MAPE_MID_Q3 = 0.035
#: ... and more than this: a landing that knew the quarter's total would score about 0
DEMO_LANDING_MAPE_FLOOR = 0.002


# --------------------------------------------------------------------------- a tiny warehouse
AS_OF = "2026-07-10"


def build_tiny(path: Path) -> Path:
    """One order line a day: 100 from 2026-05-01 to 06-30, 120 from 07-01 to 07-10, 500 after
    (not yet known on 2026-07-10); seven deals (see test_landing_methods_by_hand)."""
    days = pd.date_range("2026-05-01", "2026-07-31", freq="D")
    amount = [
        100.0 if d < pd.Timestamp("2026-07-01") else 120.0 if d <= pd.Timestamp(AS_OF) else 500.0
        for d in days
    ]
    orders = pd.DataFrame(
        {
            "order_id": [f"S{i:04d}" for i in range(len(days))],
            "line_no": 1,
            "order_date": days.date,
            "customer_id": "C1",
            "rep_id": "R1",
            "product_id": "P1",
            "channel": "Direct",
            "region": "North",
            "country": "DE",
            "quantity": 1,
            "unit_price": amount,
            "discount": 0.0,
            "net_amount": amount,
            "currency": "EUR",
        }
    )
    deals = [  # id, created, close, status, amount
        ("L0", "2025-07-11", "2025-07-11", "lost", 50.0),  # the first deal: a year of history
        ("W1", "2026-05-10", "2026-05-10", "won", 500.0),
        ("W2", "2026-06-10", "2026-06-10", "won", 230.0),
        ("L1", "2026-06-12", "2026-06-12", "lost", 70.0),
        ("O1", "2026-06-15", None, "open", 1000.0),
        ("O2", "2026-06-20", "2026-07-20", "won", 600.0),  # won after as_of: open on it
        ("O3", "2026-07-15", None, "open", 9999.0),  # created after as_of: not seen
    ]
    opps = pd.DataFrame(
        {
            "opportunity_id": [d[0] for d in deals],
            "customer_id": "C1",
            "rep_id": "R1",
            "created_date": pd.to_datetime([d[1] for d in deals]).date,
            "close_date": [pd.Timestamp(d[2]).date() if d[2] else None for d in deals],
            "amount": [d[4] for d in deals],
            "stage": ["Proposal"] * len(deals),
            "status": [d[3] for d in deals],
        }
    )
    con = duckdb.connect(str(path))
    try:
        create_table(con, "orders", orders)
        create_table(con, "opportunities", opps)
    finally:
        con.close()
    return path


def test_landing_methods_by_hand(tmp_path):
    src = connect(str(build_tiny(tmp_path / "tiny.duckdb")))
    try:
        first, last = qt.data_span(src)
        known = ld.known_to(last, AS_OF)
        q3 = parse_period("2026-Q3")
        monthly = qt.complete_months(
            ld.fcm.monthly_series(qt.monthly_revenue(src, Filters())), known
        )
        inputs = ld.LandingInputs(
            qt.daily_revenue(src, Filters(), first, known),
            monthly,
            first,
            *qt.pipeline_frames(src, Filters(), known),
        )
        study = ld.landing_study(q3, known, inputs)
    finally:
        src.close()
    assert study.running and study.combination is None  # no quarter covered from its first day
    p = study.landing.point
    # 10 days gone (2026-07-01..10 at 120), 82 left (21 in July, 31 in August, 30 in September)
    assert (p["day_of_period"], p["days_left"], p["period_to_date"]) == (10, 82, 1200.0)
    # run rate: no season under a year, every weekday alike -> 1200 x 82 / 10
    assert p["remainder_run_rate"] == pytest.approx(9840.0)
    # statistical: two complete months (May 3100, June 3000) -> the naive run rate, 6100 / 61 =
    # 100 a day: the 21 days left of July 2100 + August 3100 + September 3000
    assert p["statistical_method"] == "naive"
    assert p["remainder_statistical"] == pytest.approx(8200.0)
    # pipeline: open on 07-10 are O1 (1000) and O2 (600, won later); under 30 closed deals no
    # model, so the company's win rate before 07-01: 2 won of 4 closed = 0.5; no deal was open
    # on a snapshot before, so every open deal counts whole: 0.5 x 1600 = 800. New deals: the
    # year's won deals (cycle 0 days) x 82 days left / 365 = 730 x 82 / 365 = 164. Revenue per
    # won amount over the year: (61 x 100 + 10 x 120) / (500 + 230) = 10. So 10 x (800 + 164)
    assert p["open_deals"] == 2
    assert p["expected_open_won"] == pytest.approx(800.0)
    assert p["remainder_pipeline"] == pytest.approx(9640.0)
    assert "win rate" in p["win_basis"]
    # no backtest: the mean of the three, spread by the default 15 % on the remainder
    landing = study.landing
    remainder = (9840.0 + 9640.0 + 8200.0) / 3
    assert landing.total == pytest.approx(1200.0 + remainder)
    z = stats.norm.ppf(0.9)
    assert landing.low == pytest.approx(1200.0 + remainder * math.exp(-z * 0.15))
    assert landing.high == pytest.approx(1200.0 + remainder * math.exp(z * 0.15))
    figures = ld.headline_figures(study, quota=None, proposed=10000.0)
    assert figures["landing_method"] == "mean of the methods"
    assert figures["gap_to_target"] == pytest.approx(1200.0 + remainder - 10000.0)
    assert figures["landing_target_basis"] == "proposed target"
    assert "landing_mape" not in figures  # no backtest: left out, not NaN


def test_combination_rules_by_hand_leave_one_quarter_out():
    # two quarters, one checkpoint; 10 to date, 110 in the end (100 to come)
    bt = pd.DataFrame(
        {
            "quarter": ["Q1", "Q2"],
            "checkpoint": [15, 15],
            "period_to_date": [10.0, 10.0],
            "actual_total": [110.0, 110.0],
            "remainder_run_rate": [100.0, 90.0],  # Q1 exact, Q2 -10
            "remainder_pipeline": [120.0, 100.0],  # Q1 +20, Q2 exact
            "remainder_statistical": [np.nan, np.nan],
        }
    )
    for m in ld.METHODS:
        bt[f"landing_{m}"] = bt["period_to_date"] + bt[f"remainder_{m}"]
    combo = ld.combine(bt)
    # best (and inverse error: a method never wrong takes all) picks, for each quarter, the
    # method exact on the other one: Q1 gets the pipeline (+20), Q2 the run rate (-10)
    assert combo.rule_mape["best"] == pytest.approx((20 + 10) / 110 / 2)
    assert combo.rule_mape["inverse_error"] == pytest.approx((20 + 10) / 110 / 2)
    # the mean: Q1 (100 + 120) / 2 = 110 (+10 on 110), Q2 95 (-5)
    assert combo.rule_mape["equal"] == pytest.approx((10 + 5) / 110 / 2)
    assert combo.rule == "equal" and combo.mape == pytest.approx(15 / 220)
    assert combo.backtest["landing_combined"].tolist() == [120.0, 105.0]
    assert combo.sigmas == {15: ld.DEFAULT_SIGMA, 45: ld.DEFAULT_SIGMA, 75: ld.DEFAULT_SIGMA}


def test_landing_without_pipeline_or_history_says_why():
    days = pd.date_range("2026-09-01", "2026-09-15", freq="D")
    inputs = ld.LandingInputs(
        pd.Series(10.0, days), pd.Series(dtype="float64", index=pd.DatetimeIndex([])), days[0]
    )
    study = ld.landing_study(parse_period("2026-09"), "2026-09-15", inputs)
    p = study.landing.point
    assert p["remainder_run_rate"] == pytest.approx(150.0)  # 15 days at 10, 15 to go
    assert np.isnan(p["remainder_pipeline"]) and np.isnan(p["remainder_statistical"])
    assert study.landing.total == pytest.approx(300.0)
    text = ld.landing_markdown(study, "EUR")
    assert "opportunities table" in text and "statistical forecast is not computable" in text
    assert "nan" not in text.lower().replace("nanc", "")


def test_no_running_period_has_no_landing_keys():
    days = pd.date_range("2026-09-01", "2026-09-30", freq="D")
    inputs = ld.LandingInputs(
        pd.Series(10.0, days), pd.Series(dtype="float64", index=pd.DatetimeIndex([])), days[0]
    )
    study = ld.landing_study(parse_period("2026-10"), "2026-09-30", inputs)
    assert study.landing is None and not study.running
    assert ld.headline_figures(study, 100.0) == {}
    assert "No period running on 2026-09-30" in ld.landing_markdown(study)


def test_running_day_and_backtest_quarters():
    q3 = parse_period("2026-Q3")
    assert ld.running_day(q3, "2026-07-01") == pd.Timestamp("2026-07-01")
    assert ld.running_day(q3, "2026-09-30") is None  # the last day: complete
    qs = ld.backtest_quarters("2026-08-15", "2023-10-01")
    assert [q.label for q in qs] == [
        f"{y}-Q{n}"
        for y, n in [
            (2024, 3),
            (2024, 4),
            (2025, 1),
            (2025, 2),
            (2025, 3),
            (2025, 4),
            (2026, 1),
            (2026, 2),
        ]
    ]
    assert [str(d.date()) for d in ld.checkpoint_days("2026-04-01")] == [
        "2026-04-15",
        "2026-05-15",
        "2026-06-14",
    ]


# --------------------------------------------------------------------------- on the demo
@pytest.mark.slow
def test_targets_study_as_of_mid_quarter_lands_the_running_quarter(demo_warehouse, tmp_path):
    code = report.run_report(
        source=str(demo_warehouse),
        period="2026-Q3",
        only=["targets"],
        params_kv=["as_of=2026-08-15"],
        out=tmp_path,
        workers=1,
    )
    assert code == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    found = json.loads((folder / "targets.json").read_text())
    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        (ptd,) = con.execute(
            "SELECT sum(net_amount) FROM orders "
            "WHERE order_date BETWEEN DATE '2026-07-01' AND DATE '2026-08-15'"
        ).fetchone()
    assert found["landing_period"] == found["plan_period"] == "2026-Q3"
    assert found["period_to_date"] == pytest.approx(ptd, rel=1e-9)
    assert found["landing_low"] <= found["landing_forecast"] <= found["landing_high"]
    assert found["landing_forecast"] > ptd
    assert found["landing_method"] and "gap_to_target" in found
    assert DEMO_LANDING_MAPE_FLOOR < found["landing_mape"] < DEMO_LANDING_MAPE_MID_Q3
    bt = pd.read_csv(folder / "targets-landing-backtest.csv")
    assert len(bt) == 24 and bt["quarter"].iloc[-1] == "2026-Q2"  # the last quarter complete
    assert (pd.to_datetime(bt["as_of"]) <= "2026-08-15").all()


@pytest.mark.slow
def test_demo_landing_backtest_error_within_tolerance(demo_report):
    found = json.loads((demo_report / "targets.json").read_text())
    # the default run reviews 2026-Q3 (closed) and plans 2026-Q4 (not started): no landing,
    # but the backtest over 2024-Q4 .. 2026-Q3
    assert found["plan_period"] == "2026-Q4"
    assert "period_to_date" not in found and "landing_forecast" not in found
    assert DEMO_LANDING_MAPE_FLOOR < found["landing_mape"] < DEMO_LANDING_MAPE
    bt = pd.read_csv(demo_report / "targets-landing-backtest.csv")
    assert len(bt) == 24
    errors = bt["error_pct"].abs()
    assert errors.mean() == pytest.approx(found["landing_mape"], abs=1e-6)  # json: 6 decimals
    run_rate = (bt["landing_run_rate"] / bt["actual_total"] - 1).abs().mean()
    assert run_rate < DEMO_LANDING_MAPE  # the method itself, not only the best of three
    by_day = errors.groupby(bt["checkpoint"]).mean()
    assert by_day[75] < by_day[15]  # the later in the quarter, the closer the landing
