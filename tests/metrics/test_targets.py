"""Target setting: the split to the cent, split methods by hand, seasonality, advice, planted truths."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from conftest import check_truths

from salesnb.metrics import forecast as F
from salesnb.metrics import targets as tm
from salesnb.model.periods import parse_period


def reps3(**cols) -> pd.DataFrame:
    return pd.DataFrame({"key": ["a", "b", "c"], **cols})


# --------------------------------------------------------------------------- allocation
def test_awkward_total_over_three_reps_sums_exactly_to_the_cent():
    out = tm.allocate_target(1000000.01, reps3(history_revenue=[1.0, 1.0, 1.0]))
    assert out["target_cents"].tolist() == [33333334, 33333334, 33333333]
    assert int(out["target_cents"].sum()) == 100000001
    assert out["target_amount"].tolist() == [333333.34, 333333.34, 333333.33]


def test_historical_split_by_hand_with_the_leftover_cent_to_the_largest_remainder():
    # 10001 cents in 50:30:20 -> 5000.5, 3000.3, 2000.2: the spare cent goes to the .5
    out = tm.allocate_target(100.01, reps3(history_revenue=[50.0, 30.0, 20.0]), method="historical")
    assert out["target_cents"].tolist() == [5001, 3000, 2000]
    assert out["share"].tolist() == pytest.approx([0.5, 0.3, 0.2])


def test_equal_split_ignores_history():
    out = tm.allocate_target(900.0, reps3(history_revenue=[800.0, 100.0, 0.0]), method="equal")
    assert out["target_amount"].tolist() == [300.0, 300.0, 300.0]


def test_capacity_split_weights_reps_by_their_ramp():
    # tenure 3, 6, 24 months with a 12-month ramp -> capacity 0.25, 0.5, 1 -> 1/7, 2/7, 4/7
    out = tm.allocate_target(700.0, reps3(tenure_months=[3.0, 6.0, 24.0]), method="capacity")
    assert out["target_amount"].tolist() == [100.0, 200.0, 400.0]
    assert tm.capacity_from_tenure([-1, 6, 30], ramp_months=6).tolist() == [0.0, 1.0, 1.0]


def test_forecast_split_and_caller_supplied_weights():
    out = tm.allocate_target(10.0, reps3(forecast_revenue=[1.0, 0.0, 3.0]), method="forecast")
    assert out["target_amount"].tolist() == [2.5, 0.0, 7.5]
    # another study brings its own weights (e.g. customer lifetime value) under its own name
    out = tm.allocate_target(10.0, reps3(clv=[1.0, 1.0, 2.0]), method="clv")
    assert out["target_amount"].tolist() == [2.5, 2.5, 5.0]


def test_allocation_errors_name_the_problem_and_input_is_untouched():
    w = reps3(history_revenue=[1.0, 2.0, 3.0])
    before = w.copy()
    tm.allocate_target(5.0, w)
    pd.testing.assert_frame_equal(w, before)
    with pytest.raises(ValueError, match="unknown split method 'magic'"):
        tm.allocate_target(5.0, w, method="magic")
    with pytest.raises(ValueError, match="forecast_revenue"):
        tm.allocate_target(5.0, w, method="forecast")
    with pytest.raises(ValueError, match="not all zero"):
        tm.allocate_target(5.0, reps3(history_revenue=[0.0, -1.0, 0.0]))


def test_top_down_split_adds_up_at_every_level():
    units = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4", "r5"],
            "region": ["North", "North", "North", "South", "South"],
            "team": ["N1", "N1", "N2", "S1", "S1"],
            "history_revenue": [10.0, 20.0, 30.0, 25.0, 15.0],
        }
    )
    out = tm.allocate_hierarchy(1000.03, units, method="equal")
    # equal per rep: North has 3 of 5 reps
    assert out.groupby("region")["region_target"].first().to_dict() == {
        "North": 600.02,
        "South": 400.01,
    }
    assert int(out["target_cents"].sum()) == 100003
    for lv in ("region", "team"):
        sums = out.groupby(lv)["target_cents"].sum() / 100
        assert (sums - out.groupby(lv)[f"{lv}_target"].first()).abs().max() < 1e-9
    hist = tm.allocate_hierarchy(1000.0, units, method="historical")
    assert hist.set_index("rep_id")["target_amount"].to_dict() == {
        "r1": 100.0,
        "r2": 200.0,
        "r3": 300.0,
        "r4": 250.0,
        "r5": 150.0,
    }
    assert tm.rollup(hist, "team").set_index("team")["target_amount"].to_dict() == {
        "N1": 300.0,
        "N2": 300.0,
        "S1": 400.0,
    }


def test_rep_weights_and_gap_to_last_year_by_hand():
    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2"], "hire_date": pd.to_datetime(["2020-01-01", "2024-01-01"])}
    )
    rows = []
    for m in pd.date_range("2023-07-01", "2025-06-01", freq="MS"):
        rows.append(("r1", m, 10.0 if m < pd.Timestamp("2024-07-01") else 20.0))
        if m >= pd.Timestamp("2024-07-01"):
            rows.append(("r2", m, 5.0))
    rep_month = pd.DataFrame(rows, columns=["rep_id", "month", "revenue"])
    rep_month.loc[len(rep_month)] = (
        "r1",
        pd.Timestamp("2025-07-01"),
        1e9,
    )  # inside the period: ignored
    p = parse_period("2025-Q3")
    prior = p.shift_years(-1)
    w = tm.rep_weights(reps, rep_month, p.start, prior.start, prior.end).set_index("rep_id")
    assert w.loc["r1", "history_revenue"] == 240.0 and w.loc["r1", "previous_12m_revenue"] == 120.0
    assert w.loc["r1", "last_year_revenue"] == 60.0  # Jul-Sep 2024 at 20
    assert w.loc["r1", "forecast_revenue"] == 120.0  # 60 x growth 240/120 = 2.0 (at the clip)
    assert w.loc["r2", "forecast_revenue"] == 15.0  # no earlier year: growth 1
    assert w.loc["r1", "capacity"] == 1.0
    assert w.loc["r2", "tenure_months"] == 18.0 and w.loc["r2", "capacity"] == 1.0
    alloc = tm.gap_to_last_year(
        pd.DataFrame({"target_amount": [36.0, 0.0], "last_year_revenue": [30.0, 0.0]})
    )
    assert alloc["gap_vs_last_year"].tolist() == [6.0, 0.0]
    assert alloc["growth_vs_last_year"].iloc[0] == pytest.approx(0.2)
    assert np.isnan(alloc["growth_vs_last_year"].iloc[1])


def test_compare_with_existing_quota():
    alloc = pd.DataFrame({"rep_id": ["r1", "r2"], "target_amount": [100.0, 50.0]})
    quotas = pd.DataFrame(
        {
            "level": ["rep", "rep", "company"],
            "key": ["r1", "r9", "all"],
            "target_amount": [90.0, 10.0, 500.0],
        }
    )
    out = tm.compare_with_quota(alloc, quotas)
    assert out["existing_quota"].iloc[0] == 90.0 and np.isnan(out["existing_quota"].iloc[1])
    assert out["proposed_vs_quota"].iloc[0] == 10.0


# --------------------------------------------------------------------------- seasonality, target
def _trend_season(n: int, peak: int = 11) -> pd.Series:
    idx = pd.date_range("2022-01-01", periods=n, freq="MS")
    season = np.where(idx.month == peak, 1.4, 1.0)
    return pd.Series(1000 * 1.02 ** np.arange(n) * season, idx)


def test_seasonal_index_finds_the_peak_despite_a_strong_trend():
    # a 2 %/month trend makes December the largest month of each year; November is the peak
    s = tm.seasonal_index(_trend_season(36))
    assert tm.peak_month(s) == 11
    assert s["seasonal_index"].mean() == pytest.approx(1.0)
    assert s.set_index("month_of_year").loc[11, "seasonal_index"] == pytest.approx(
        1.4 / (12.4 / 12), rel=0.01
    )
    assert (
        tm.peak_month(tm.seasonal_index(_trend_season(18, peak=3))) == 3
    )  # short history fallback
    with pytest.raises(ValueError, match="12 months"):
        tm.seasonal_index(_trend_season(8))


def test_proposed_target_and_growth():
    assert tm.proposed_target(1000.0, 0.2) == 1200.0
    assert tm.proposed_target(1000.0, 0.2, target_amount=1500.555) == 1500.56
    assert tm.growth(115.0, 100.0) == pytest.approx(0.15)
    assert np.isnan(tm.growth(1.0, 0.0))
    with pytest.raises(ValueError, match="target_amount"):
        tm.proposed_target(0.0, 0.2)


def test_driver_requirements_by_hand():
    d = tm.driver_requirements(1200.0, {"revenue": 1000.0, "orders": 10, "customers": 4}).set_index(
        "driver"
    )
    assert d.loc["orders (at last year's average order value)", "needed"] == pytest.approx(12.0)
    assert d.loc["average order value (at last year's orders)", "needed"] == pytest.approx(120.0)
    assert d.loc["revenue per customer (at last year's customers)", "needed"] == pytest.approx(
        300.0
    )
    assert d["change_pct"].tolist() == pytest.approx([0.2] * 4)


def _summary_for(target: float):
    y = _trend_season(36)
    fc = F.baseline_forecast(y, "2024-10-01", "2025-01-01", origins=2)
    p = parse_period("2024-Q4")
    return fc, tm.target_summary(
        period=p,
        scope="all",
        target_total=target,
        last_year={"revenue": 3000.0, "orders": 30, "customers": 10},
        actual=None,
        forecast=fc,
        seasonal=tm.seasonal_index(y[y.index < "2024-10-01"]),
        monthly=y,
        existing_quota_total=None,
    )


def test_prob_achieve_falls_as_the_target_rises_and_advice_follows_it():
    fc, _ = _summary_for(1.0)
    probs = [
        tm.target_summary(
            period=parse_period("2024-Q4"),
            scope="all",
            target_total=t,
            last_year={"revenue": 3000.0},
            actual=None,
            forecast=fc,
            seasonal=tm.seasonal_index(fc.history),
            monthly=fc.history,
        )["prob_achieve"]
        for t in np.linspace(0.95, 1.05, 11) * fc.total
    ]
    assert all(a > b for a, b in zip(probs, probs[1:], strict=False))
    _, hard = _summary_for(fc.total * 1.5)
    _, easy = _summary_for(fc.total * 0.5)
    assert "stretch" in tm.what_to_do(hard) and "soft" in tm.what_to_do(easy)
    assert hard["peak_month"] == 11 and "Nov" in tm.what_to_do(hard)
    figures = tm.headline_figures(hard)
    assert {
        "forecast_total",
        "forecast_low",
        "forecast_high",
        "target_total",
        "prob_achieve",
        "best_model",
        "peak_month",
        "last_year_total",
    } <= set(figures)
    assert "yoy_growth" not in figures  # no actuals for the period: left out, not NaN


# --------------------------------------------------------------------------- notebook & truths
def test_notebook_parameters_cell_follows_the_contract():
    import nbformat

    from salesnb import config
    from salesnb.studies import COMMON_PARAMETERS

    nb = nbformat.read(config.NOTEBOOK_DIR / "01-targets.ipynb", as_version=4)
    tagged = [c for c in nb.cells if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1
    names = [line.split(":")[0] for line in tagged[0].source.splitlines() if line.strip()]
    assert names[: len(COMMON_PARAMETERS)] == list(COMMON_PARAMETERS)
    assert {"target_growth", "target_amount", "split_method"} <= set(names)
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
    assert 'study.open("targets"' in "".join(c.source for c in nb.cells)


@pytest.mark.slow
def test_targets_study_recovers_the_planted_truths(demo_report, demo_truths):
    check_truths(demo_report, demo_truths, "targets")


@pytest.mark.slow
def test_targets_report_publishes_a_cent_exact_allocation(demo_report):
    found = json.loads((demo_report / "targets.json").read_text())
    alloc = pd.read_csv(demo_report / "targets-allocation.csv")
    assert int(alloc["target_cents"].sum()) == round(found["target_total"] * 100)
    assert found["forecast_low"] < found["forecast_total"] < found["forecast_high"]
    assert 0 <= found["prob_achieve"] <= 1


def test_existing_quota_for_the_scope_studied():
    """The targets study's quota is the scope's target by the one rule (scope_target)."""
    targets = pd.DataFrame(
        {
            "period": "2026-Q3",
            "level": ["company", "region", "region", "team"],
            "key": ["all", "North", "South", "N1"],
            "target_amount": [100.0, 60.0, 40.0, 25.0],
        }
    )
    assert tm.existing_quota_total(targets, "2026-Q3") == 100.0
    assert tm.existing_quota_total(targets, "2026-Q3", region="South") == 40.0
    assert tm.existing_quota_total(targets, "2026-Q3", team="N1") == 25.0
    assert tm.existing_quota_total(targets, "2026-Q3", region="West") is None
    assert tm.existing_quota_total(targets, "2026-Q3", channel="Online") is None
    assert tm.existing_quota_total(targets, "2026-Q4") is None
    # a month is its share of the quarter, as attainment and coverage read it
    assert tm.existing_quota_total(targets, "2026-09") == pytest.approx(100.0 / 3)


@pytest.mark.slow
def test_clv_split_follows_each_reps_book(demo_warehouse, tmp_path):
    """split_method=clv: targets follow the predicted value of the customers each rep owns."""
    import duckdb

    from salesnb import report

    code = report.run_report(
        source=str(demo_warehouse),
        only=["targets"],
        params_kv=["split_method=clv"],
        out=tmp_path,
        workers=1,
    )
    assert code == 0
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    alloc = pd.read_csv(folder / "targets-allocation.csv")
    figures = json.loads((folder / "targets.json").read_text())
    assert figures["split_method"] == "clv"
    assert round(alloc["target_amount"].sum(), 2) == round(figures["target_total"], 2)
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    owners = {r for (r,) in con.execute("select distinct owner_rep_id from customers").fetchall()}
    con.close()
    no_book = alloc[~alloc["rep_id"].isin(owners)]
    assert len(no_book) and (no_book["target_amount"] == 0).all()  # managers own no accounts
    with_book = alloc[alloc["rep_id"].isin(owners)]
    assert (with_book["target_amount"] > 0).all()


# --------------------------------------------------------------------------- boundary cases
def test_target_period_is_the_next_one_once_the_period_is_complete():
    q3 = parse_period("2026-Q3")
    assert tm.choose_target_period(q3, "2026-09-30")[0].label == "2026-Q4"
    assert tm.choose_target_period(q3, "2026-08-15")[0] == q3  # still running: target it
    assert tm.choose_target_period(parse_period("2026-09"), "2026-09-30")[0].label == "2026-10"
    rng, why = tm.choose_target_period(parse_period("2025-Q3..2026-Q2"), "2026-09-30")
    assert (rng.label, rng.months) == ("2026-Q3..2027-Q2", 12) and "next 12 month(s)" in why
    from salesnb.model.periods import span_period

    nxt = tm.choose_target_period(span_period("2023-10-01", "2026-09-30"), "2026-09-30")[0]
    assert (nxt.start.isoformat(), nxt.months) == ("2026-10-01", 36)


def test_no_seasonality_under_a_year_and_months_at_or_below_zero_left_out():
    season, note = tm.seasonality(_trend_season(8))
    assert season is None and "8 month(s)" in note and "12" in note
    # a returns-heavy quarter (net below zero) must not move the November peak
    y = _trend_season(30)
    y.iloc[-3:] = -3 * y.iloc[-3:]
    season, note = tm.seasonality(y)
    assert note is None and tm.peak_month(season) == 11
    assert season.loc[season["month_of_year"] == 11, "seasonal_index"].item() > 1.2
    zero = pd.Series(0.0, _trend_season(14).index)
    assert tm.seasonality(zero)[0] is None  # nothing above zero: no season at all


def test_target_proposal_by_hand_and_a_partial_last_year_is_not_used():
    assert tm.target_proposal(1000.0, None, 1100.0, 0.2) == (
        1200.0,
        "the same period last year +20%",
    )
    total, basis = tm.target_proposal(400.0, "last year is only partly in the data", 1100.0)
    assert total == 1100.0 and basis.startswith("the baseline forecast, a 50/50 target")
    assert tm.target_proposal(0.0, None, 0.0)[0] is None
    assert tm.target_proposal(0.0, None, None, target_amount=50.0) == (
        50.0,
        "set by hand (target_amount)",
    )


def test_quotas_for_a_range_sum_quarters_and_a_partial_cover_is_not_compared():
    t = pd.DataFrame(
        {
            "period": ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2025-Q3"],
            "level": ["company"] * 4 + ["region"],
            "key": ["all"] * 4 + ["North"],
            "target_amount": [10.0, 20.0, 30.0, 40.0, 6.0],
        }
    )
    years = parse_period("2025-Q3..2026-Q2")
    quotas, note = tm.quotas_for_period(t, years)
    assert note is None and tm.existing_quota_total(t, years) == 100.0
    # the region has a quarter of the range only: left out, not a quarter passed off as a year
    assert tm.existing_quota_total(t, years, region="North") is None
    quotas, note = tm.quotas_for_period(t, parse_period("2026-Q2..2026-Q3"))
    assert quotas.empty and "cover 3 of the 6 months" in note
    assert tm.quotas_for_period(t, parse_period("2027-Q1"))[1].endswith(
        "no targets set for 2027-Q1"
    )


def test_split_notes_instead_of_failing():
    units = pd.DataFrame({"rep_id": ["a", "b"], "history_revenue": [0.0, -5.0]})
    alloc, note = tm.allocate_or_note(100.0, units)
    assert alloc is None and "`historical` method is zero" in note
    assert tm.allocate_or_note(None, units)[1].startswith("**No split**: there is no positive")
    alloc, note = tm.allocate_or_note(100.01, units, method="equal")
    assert note is None and alloc["target_cents"].tolist() == [5001, 5000]


def test_no_comparable_last_year_is_nan_not_zero_through_the_split():
    reps = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["T", "T"]})
    rep_month = pd.DataFrame(
        {
            "rep_id": ["r1", "r2"],
            "month": pd.to_datetime(["2026-09-01"] * 2),
            "revenue": [30.0, 10.0],
        }
    )
    p = parse_period("2026-Q4")
    w = tm.rep_weights(
        reps, rep_month, p.start, "2025-10-01", "2026-01-01", last_year_comparable=False
    )
    assert w["last_year_revenue"].isna().all() and w["history_revenue"].tolist() == [30.0, 10.0]
    alloc = tm.gap_to_last_year(tm.allocate_hierarchy(100.0, w, levels=("team",)))
    assert alloc["target_amount"].tolist() == [75.0, 25.0]
    assert alloc["growth_vs_last_year"].isna().all()
    rolled = tm.rollup(alloc, "team", ["target_amount", "last_year_revenue"])
    assert rolled["target_amount"].item() == 100.0 and np.isnan(rolled["last_year_revenue"].item())


def _short_summary(fc, target, last_year_note=None, review=None):
    return tm.target_summary(
        period=parse_period("2026-Q4"),
        scope="all",
        target_total=target,
        last_year={"revenue": 0.0, "orders": 0, "customers": 0},
        actual=None,
        forecast=fc,
        seasonal=None,
        monthly=fc.history
        if fc is not None
        else F.monthly_series(pd.DataFrame(columns=["month", "revenue"])),
        target_basis="basis",
        last_year_note=last_year_note,
        forecast_note="note",
        review=review,
    )


def _no_nan_text(*texts):
    import re

    for t in texts:
        assert not re.search(r"\b(nan|inf)\b|nan%", t, re.I), t


def test_naive_and_missing_baselines_leave_figures_out_and_say_why():
    y = pd.Series([300.0], pd.date_range("2026-09-01", periods=1, freq="MS"))
    naive = F.naive_forecast(y, "2026-10-01", "2027-01-01", first_day="2026-09-30")
    review = tm.review_figures(
        parse_period("2026-Q3"), {"revenue": 300.0}, {"revenue": 0.0}, "no data last year"
    )
    s = _short_summary(naive, naive.total, "no data last year", review)
    figures = tm.headline_figures(s)
    assert figures["forecast_total"] == pytest.approx(27600.0)
    assert {
        "prob_achieve",
        "forecast_low",
        "peak_month",
        "yoy_growth",
        "last_year_total",
    }.isdisjoint(figures)
    assert figures["review_total"] == 300.0 and figures["forecast_method"] == "naive"
    smart = tm.smart_markdown(tm.smart_target(s))
    todo = tm.what_to_do(s)
    _no_nan_text(smart, todo, tm.target_markdown(s), tm.review_markdown(review))
    assert "not computable" in smart and "no seasonality" in smart
    assert "not computable" in todo and tm.odds_note(s).startswith("**No odds for the target**")
    # no forecast and no target at all
    s = _short_summary(None, None)
    # last year is covered and truly had no revenue: 0.0 is a figure, not a stand-in
    assert tm.headline_figures(s) == {
        "target_period": "2026-Q4",
        "plan_period": "2026-Q4",
        "forecast_method": "none",
        "last_year_total": 0.0,
    }
    _no_nan_text(tm.smart_markdown(tm.smart_target(s)), tm.what_to_do(s))
    assert tm.what_to_do(s).startswith("- **No target proposed**")


def test_review_error_is_the_backtest_on_the_reviewed_period():
    y = _trend_season(36)  # to 2024-12
    fc = F.baseline_forecast(y, "2025-01-01", "2025-04-01", origins=2)
    review = tm.review_figures(parse_period("2024-Q4"), {"revenue": 1.0}, {"revenue": 1.0})
    s = _short_summary(fc, 1.0, review=review)
    row = fc.backtest[(fc.backtest["model"] == fc.best_model)].iloc[0]
    assert row["origin"] == pd.Timestamp("2024-10-01")
    assert s["review_forecast_error_pct"] == pytest.approx(
        row["forecast_total"] / row["actual_total"] - 1
    )


def test_driver_requirements_need_a_comparable_last_year():
    frame, note = tm.drivers_or_note(1200.0, {"revenue": 1000.0, "orders": 10, "customers": 4})
    assert note is None and len(frame) == 4
    assert tm.drivers_or_note(1200.0, {"revenue": 1000.0}, "partly covered")[1] == (
        "**No driver requirements**: partly covered."
    )
    assert tm.drivers_or_note(None, {"revenue": 1000.0})[0] is None


# --------------------------------------------------------------------------- plan and review
def test_plan_period_parameter_and_the_default_rule():
    q3 = parse_period("2026-Q3")
    assert tm.choose_plan_period(q3, "2026-09-30")[0].label == "2026-Q4"  # closed: the next
    assert tm.choose_plan_period(q3, "2026-09-30", as_of="2026-08-15")[0] == q3  # running
    plan, why = tm.choose_plan_period(q3, "2026-09-30", plan_period=" 2027-Q1 ")
    assert plan.label == "2027-Q1" and "plan_period" in why
    # the closed report period is reviewed (second half of the page); a running one is not
    assert tm.reviewed_period(q3, plan, "2026-09-30") == q3
    assert tm.reviewed_period(q3, q3, "2026-08-15") is None
    assert tm.reviewed_period(q3, plan, "2026-08-15") is None  # still running: nothing to review


def test_plan_headline_keys_follow_the_summary():
    fc, _ = _summary_for(1.0)
    _, s = _summary_for(round(fc.total * 1.05, 2))
    figures = tm.headline_figures(s)
    assert figures["plan_period"] == figures["target_period"] == s["period"]
    assert figures["plan_target_total"] == figures["target_total"] == round(fc.total * 1.05, 2)
    assert figures["plan_prob_achieve"] == figures["prob_achieve"]
    assert 0 < figures["plan_prob_achieve"] < 1


def test_review_against_the_target_it_would_have_had_by_hand():
    q3 = parse_period("2026-Q3")
    # last year covered: 100 -> the rule's target 100 x 1.2 = 120; the period closed at 114
    r = tm.review_figures(q3, {"revenue": 114.0}, {"revenue": 100.0})
    f = tm.review_against_target(r, target_growth=0.20, quota_total=150.0)
    assert f["review_target_total"] == pytest.approx(120.0)
    assert f["review_target_basis"] == "the same period last year +20%"
    assert f["review_vs_target_pct"] == pytest.approx(114 / 120 - 1)
    assert f["review_vs_quota_pct"] == pytest.approx(114 / 150 - 1)
    text = tm.review_target_markdown(f, "2026-Q3", "EUR")
    assert "-5.0%" in text and "-24.0%" in text
    # last year not covered and no backtest of the period: nothing to reconstruct, said so
    r = tm.review_figures(
        q3, {"revenue": 114.0}, {"revenue": 0.0}, "last year is only partly in the data"
    )
    f = tm.review_against_target(r)
    assert np.isnan(f["review_target_total"]) and np.isnan(f["review_quota_total"])
    text = tm.review_target_markdown(f, "2026-Q3")
    _no_nan_text(text)
    assert text.startswith("No target can be reconstructed for 2026-Q3")
    assert tm.review_against_target(None) == {} and tm.review_target_markdown({}, "x") == ""


def test_review_target_falls_back_to_the_baseline_backtest_of_the_period():
    y = _trend_season(36)  # to 2024-12
    fc = F.baseline_forecast(y, "2025-01-01", "2025-04-01", origins=1)
    q4 = parse_period("2024-Q4")
    actual = float(y["2024-10-01":"2024-12-01"].sum())
    r = tm.review_figures(q4, {"revenue": actual}, {"revenue": 0.0}, "not covered")
    f = tm.review_against_target(r, fc)
    row = fc.backtest[(fc.backtest["model"] == fc.best_model)].iloc[0]
    assert f["review_target_total"] == pytest.approx(round(row["forecast_total"], 2))
    assert f["review_target_basis"].startswith("the baseline forecast")
    assert f["review_vs_target_pct"] == pytest.approx(actual / f["review_target_total"] - 1)
