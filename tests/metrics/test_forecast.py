"""The baseline forecaster: hand-computed models and scores, backtest choice, the distribution."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesnb.errors import FitError
from salesnb.metrics import forecast as F


def months(n: int, start: str = "2022-01-01") -> pd.DatetimeIndex:
    return pd.date_range(start, periods=n, freq="MS")


def test_monthly_series_fills_missing_months_with_zero_and_sums_duplicates():
    frame = pd.DataFrame(
        {"month": ["2024-01-15", "2024-01-20", "2024-04-01"], "revenue": [1.0, 2.0, 5.0]}
    )
    y = F.monthly_series(frame)
    assert list(y.index.strftime("%Y-%m")) == ["2024-01", "2024-02", "2024-03", "2024-04"]
    assert y.tolist() == [3.0, 0.0, 0.0, 5.0]
    with pytest.raises(ValueError, match="revenue"):
        F.monthly_series(frame.drop(columns="revenue"))


def test_seasonal_naive_repeats_last_year_by_hand():
    y = np.arange(1.0, 25.0)  # months 1..24
    assert F.snaive(y, 14).tolist() == [13, 14, 15, 16, 17, 18, 19, 20, 21, 22, 23, 24, 13, 14]
    assert F.snaive(np.array([5.0, 7.0]), 3).tolist() == [7.0, 7.0, 7.0]  # under a year: last value


def test_smape_by_hand():
    # |110-100| / 105 and |180-200| / 190, averaged
    assert F.smape([100, 200], [110, 180]) == pytest.approx((10 / 105 + 20 / 190) / 2)
    assert F.smape([0, 50], [0, 50]) == 0.0


def test_rolling_backtest_origins_and_totals_by_hand():
    y = pd.Series(np.arange(1.0, 31.0), months(30))
    bt = F.rolling_backtest(y, h=3, origins=3, models=("snaive",))
    assert bt["train_months"].tolist() == [27, 24, 21]
    first = bt.iloc[0]  # trained on 1..27, predicts 16, 17, 18 for actual 28, 29, 30
    assert first["actual_total"] == 28 + 29 + 30
    assert first["forecast_total"] == 16 + 17 + 18
    assert first["total_error_pct"] == pytest.approx(51 / 87 - 1)
    assert first["origin"] == pd.Timestamp("2024-04-01")


def test_backtest_picks_seasonal_naive_when_the_pattern_simply_repeats():
    pattern = np.random.default_rng(3).uniform(50, 150, 12)
    y = pd.Series(np.tile(pattern, 3), months(36))
    scores = F.score_backtest(F.rolling_backtest(y, h=3, origins=3))
    assert scores.set_index("model").loc["snaive", "smape"] == 0.0
    assert scores["model"].iloc[0] == "snaive"


def test_backtest_rejects_seasonal_naive_on_a_steady_trend():
    y = pd.Series(100 + 10 * np.arange(36.0), months(36))
    bt = F.rolling_backtest(y, h=3, origins=3)
    scores = F.score_backtest(bt).set_index("model")["smape"]
    assert scores.idxmax() == "snaive"  # a year behind the trend
    best = F.choose_model(bt)
    assert best != "snaive" and scores[best] < 0.01


def test_choose_model_lowest_error_and_ties_go_to_the_combination():
    bt = pd.DataFrame(
        {
            "model": ["ets", "theta", "combo", "ets", "theta", "combo"],
            "smape": [0.10, 0.05, 0.05, 0.10, 0.07, 0.07],
            "total_error_pct": [0.1, 0.05, 0.05, 0.1, 0.07, 0.07],
        }
    )
    assert F.choose_model(bt) == "combo"
    assert F.choose_model(bt[bt.model != "combo"]) == "theta"
    assert F.choose_model(bt.iloc[0:0], default="ets") == "ets"


def test_a_single_model_replaces_the_combination_only_when_clearly_better():
    def bt(single: float, combo: float) -> pd.DataFrame:
        return pd.DataFrame(
            {
                "model": ["ets", "combo"],
                "smape": [single, combo],
                "total_error_pct": [single, combo],
            }
        )

    assert F.choose_model(bt(0.06, 0.07)) == "combo"  # lower, but within noise
    assert F.choose_model(bt(0.03, 0.07)) == "ets"  # under half the combination's error
    assert F.choose_model(bt(0.03, 0.07), switch_margin=0.0) == "ets"
    assert F.choose_model(bt(0.06, 0.07), switch_margin=0.0) == "ets"


def test_prob_at_least_is_one_half_at_the_median_and_falls_as_the_target_rises():
    targets = np.linspace(50, 200, 40)
    probs = [F.prob_at_least(t, 100.0, 0.1) for t in targets]
    assert all(a > b for a, b in zip(probs, probs[1:], strict=False))
    assert F.prob_at_least(100.0, 100.0, 0.1) == pytest.approx(0.5)
    # one sigma above the median on the log scale: 1 - Phi(1)
    assert F.prob_at_least(100 * math.exp(0.1), 100.0, 0.1) == pytest.approx(0.158655, abs=1e-5)


def test_lognormal_interval_is_symmetric_in_logs():
    lo, hi = F.lognormal_interval(100.0, 0.1, level=0.8)
    assert lo < 100 < hi
    assert math.log(hi / 100) == pytest.approx(math.log(100 / lo))
    assert math.log(hi / 100) == pytest.approx(1.2815516 * 0.1, rel=1e-6)


def _seasonal_trend(n: int, seed: int = 0) -> pd.Series:
    idx = months(n, "2021-01-01")
    season = np.array([0.9, 0.85, 1.0, 1.0, 1.0, 1.05, 0.9, 0.9, 1.0, 1.1, 1.4, 1.2])
    noise = np.random.default_rng(seed).lognormal(0, 0.03, n)
    return pd.Series(1e5 * 1.01 ** np.arange(n) * season[idx.month - 1] * noise, idx)


def test_baseline_forecast_ignores_data_inside_the_period():
    y = _seasonal_trend(42)
    spoiled = y.copy()
    spoiled[spoiled.index >= "2024-04-01"] *= 1000  # the target period and after
    a = F.baseline_forecast(y, "2024-04-01", "2024-07-01", origins=2)
    b = F.baseline_forecast(spoiled, "2024-04-01", "2024-07-01", origins=2)
    assert a.total == pytest.approx(b.total) and a.best_model == b.best_model
    assert a.history.index.max() == pd.Timestamp("2024-03-01")
    assert list(a.period_months.strftime("%Y-%m")) == ["2024-04", "2024-05", "2024-06"]
    assert a.low < a.total < a.high
    assert a.prob_at_least(a.total) == pytest.approx(0.5)


def test_baseline_forecast_for_a_later_period_sums_only_its_months():
    y = _seasonal_trend(36)  # history to 2023-12
    fc = F.baseline_forecast(y, "2024-04-01", "2024-07-01", origins=2)
    assert len(fc.monthly) == 6  # Jan..Jun forecast, Apr..Jun summed
    assert fc.total == pytest.approx(fc.point.loc["2024-04-01":"2024-06-01"].sum())


def test_baseline_forecast_needs_some_history():
    y = pd.Series([1.0, 2.0], months(2))
    with pytest.raises(FitError, match="at least 3 months"):
        F.baseline_forecast(y, "2022-03-01", "2022-04-01")


def test_forecast_is_deterministic():
    y = _seasonal_trend(36)
    a = F.baseline_forecast(y, "2024-01-01", "2024-04-01", origins=2)
    b = F.baseline_forecast(y, "2024-01-01", "2024-04-01", origins=2)
    assert (a.total, a.sigma, a.best_model) == (b.total, b.sigma, b.best_model)


def test_forecast_next_continues_a_steady_trend():
    y = pd.Series(100 + 10 * np.arange(36.0), months(36))
    got = F.forecast_next(y, 3)
    assert got == pytest.approx([460.0, 470.0, 480.0], rel=0.01)


# --------------------------------------------------------------------------- short histories
def test_under_a_year_the_baseline_is_non_seasonal_and_backtested_from_three_months():
    y = pd.Series(10.0 + 2.0 * np.arange(8), months(8, "2026-02-01"))  # 10, 12, ..., 24
    fc = F.baseline_forecast(y, "2026-10-01", "2027-01-01")
    assert fc.method == "non-seasonal"
    assert list(fc.monthly.columns) == list(F.SHORT_MODELS)
    # by hand: drift continues +2 a month, the mean stays at 17
    assert fc.monthly["drift"].tolist() == pytest.approx([26.0, 28.0, 30.0])
    assert fc.monthly["mean"].tolist() == pytest.approx([17.0, 17.0, 17.0])
    assert fc.backtest["train_months"].unique().tolist() == [5]  # one origin: 5 months, test 3
    assert fc.sigma >= F.SHORT_MIN_SIGMA  # no forecast from under a year is within 15 %
    assert "snaive" not in fc.monthly  # nothing seasonal under a year


def test_naive_baseline_counts_days_not_months():
    # one day of orders (30 September) is a run rate of 300 a day, not a 300 month
    y = pd.Series([300.0], months(1, "2026-09-01"))
    fc = F.naive_forecast(y, "2026-10-01", "2027-01-01", first_day="2026-09-30")
    assert fc.total == pytest.approx(300.0 * 92)
    assert fc.monthly["naive"].tolist() == pytest.approx([300.0 * 31, 300.0 * 30, 300.0 * 31])
    assert not fc.has_interval and math.isnan(fc.low) and math.isnan(fc.prob_at_least(1.0))
    assert fc.backtest.empty and fc.model_totals()["chosen"].tolist() == [True]
    # a whole month observed: the month's revenue over its 30 days
    fc = F.naive_forecast(pd.Series([3000.0], months(1, "2026-09-01")), "2026-10-01", "2026-11-01")
    assert fc.total == pytest.approx(3100.0)


def test_baseline_or_note_picks_the_method_the_history_allows():
    y = _seasonal_trend(36)  # 2021-01 .. 2023-12
    fc, note = F.baseline_or_note(y, "2021-01-01", "2021-04-01")
    assert fc is None and note.startswith("**No baseline forecast**")
    fc, note = F.baseline_or_note(y, "2021-03-01", "2021-06-01")
    assert fc.method == "naive" and note.startswith("**Naive baseline")
    fc, note = F.baseline_or_note(y, "2021-09-01", "2021-12-01")
    assert fc.method == "non-seasonal" and note.startswith("**No seasonality**")
    fc, note = F.baseline_or_note(y, "2023-01-01", "2023-04-01", origins=1)
    assert fc.method == "models" and note is None


def test_a_forecast_at_or_below_zero_has_no_interval_or_odds():
    y = pd.Series([100.0, 90.0, -500.0, -600.0, -700.0], months(5))
    fc = F.baseline_forecast(y, "2022-06-01", "2022-09-01", models=("mean",))
    assert fc.total < 0
    assert not fc.has_interval and "not positive" in fc.interval_note
    assert math.isnan(fc.high) and math.isnan(fc.prob_at_least(10.0))


def test_backtest_has_no_error_ratio_on_months_without_revenue():
    y = pd.Series(np.r_[np.full(18, 100.0), np.zeros(3)], months(21))
    bt = F.rolling_backtest(y, h=3, origins=1, models=("snaive",))
    assert bt["actual_total"].iat[0] == 0.0 and math.isnan(bt["total_error_pct"].iat[0])


def test_backtest_note_says_what_is_missing():
    y = pd.Series(np.arange(1.0, 9.0), months(8))
    fc = F.baseline_forecast(y, "2022-09-01", "2023-03-01")  # 6-month horizon: 6 + 3 > 8
    assert fc.backtest.empty
    assert "needs the 6-month horizon plus 3 months" in F.backtest_note(fc)
    assert F.backtest_note(F.baseline_forecast(y, "2022-09-01", "2022-10-01")) is None
