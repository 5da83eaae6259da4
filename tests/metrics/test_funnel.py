"""Funnel metrics and queries on tiny hand-computed data."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesnb.metrics import funnel as fm
from salesnb.model.filters import Filters
from salesnb.queries import funnel as fq
from salesnb.sources import connect

# --------------------------------------------------------------------------- metrics


def test_win_rate_table_wilson_interval_and_order():
    counts = pd.DataFrame(
        {"source": ["Event", "Web", "Tiny"], "won": [1, 8, 1], "closed": [4, 10, 1]}
    )
    t = fm.win_rate_table(counts, "source", min_closed=2)
    assert list(t.source) == ["Web", "Event"]  # Tiny dropped: 1 closed deal < 2
    web = t.iloc[0]
    assert web.win_rate == pytest.approx(0.8)
    # Wilson 95 % for 8/10 (textbook value: 0.4902 .. 0.9433)
    assert web.ci_low == pytest.approx(0.49016, abs=1e-4)
    assert web.ci_high == pytest.approx(0.94332, abs=1e-4)


def test_win_rate_table_names_missing_columns():
    with pytest.raises(ValueError, match="closed"):
        fm.win_rate_table(pd.DataFrame({"source": ["a"], "won": [1]}), "source")


def test_quantile_from_counts_matches_expanded_sample():
    values, counts = [3, 10, 45, 7], [2, 5, 1, 3]
    expanded = np.repeat(values, counts)
    for q in (0.1, 0.25, 0.5, 0.75, 0.9):
        assert fm.quantile_from_counts(values, counts, q) == pytest.approx(np.quantile(expanded, q))


def test_cycle_time_summary():
    s = fm.cycle_time_summary(pd.DataFrame({"cycle_days": [10, 20, 60], "deals": [2, 1, 1]}))
    assert s["deals"] == 4
    assert s["median"] == 15.0  # 10, 10, 20, 60
    assert s["mean"] == 25.0


def _flow():
    # 10 deals enter A: 7 move to B, 3 lost in A. Of the 7 in B: 2 lost in B, 1 still open in B,
    # 4 move to C. In C: 3 won (recorded as entering the terminal "Closed"), 1 lost.
    return pd.DataFrame(
        {
            "stage": ["A", "A", "A", "B", "B", "B", "B", "B", "C", "C", "Closed"],
            "next_stage": ["B", "B", None, "C", "C", None, None, None, "Closed", None, None],
            "status": [
                "won",
                "lost",
                "lost",
                "won",
                "lost",
                "lost",
                "open",
                "open",
                "won",
                "lost",
                "won",
            ],
            "deals": [3, 4, 3, 3, 1, 2, 1, 0, 3, 1, 3],
            "mean_rank": [0, 0, 0, 1, 1, 1, 1, 1, 2, 2, 3],
        }
    )


def test_stage_conversion_by_hand():
    dwell = pd.DataFrame({"stage": ["A", "B", "C"], "median_dwell_days": [4.0, 30.0, 9.0]})
    c = fm.stage_conversion(_flow(), dwell).set_index("stage")
    assert list(c.index) == ["A", "B", "C"]  # the terminal "Closed" marker is not a working stage
    assert c.loc["A", "entered"] == 10 and c.loc["A", "conversion"] == pytest.approx(0.7)
    # B: 4 advanced, 2 leaked, 1 still open (excluded) -> 4/6
    assert c.loc["B", "still_open"] == 1
    assert c.loc["B", "conversion"] == pytest.approx(4 / 6)
    assert c.loc["C", "conversion"] == pytest.approx(0.75)
    # win from stage: among resolved deals that entered B (6), 3 won
    assert c.loc["B", "win_from_stage"] == pytest.approx(3 / 6)
    b = fm.find_bottleneck(c.reset_index(), min_entered=1)
    assert b["stage"] == "B" and b["confirmed"] is True


def test_find_bottleneck_tie_break_by_dwell_and_min_entered():
    c = pd.DataFrame(
        {
            "stage": ["A", "B", "C", "D"],
            "entered": [100, 90, 80, 5],
            "conversion": [0.5, 0.502, 0.9, 0.1],
            "median_dwell_days": [5.0, 12.0, 3.0, 50.0],
        }
    )
    b = fm.find_bottleneck(c, min_entered=20)  # D ignored: too few deals
    assert b["stage"] == "B"  # A and B within half a point: longer dwell wins
    assert fm.find_bottleneck(c.assign(entered=1), min_entered=20) == {}


def test_velocity_forecast_coverage():
    assert fm.pipeline_velocity(100, 0.25, 4000.0, 50.0) == 2000.0
    assert np.isnan(fm.pipeline_velocity(100, 0.25, 4000.0, 0))
    pipe = fm.value_open_pipeline(
        pd.DataFrame(
            {"stage": ["A", "B"], "deals": [3, 2], "amount": [100.0, 0.0], "with_amount": [1, 0]}
        ),
        fallback_amount=50.0,
    )
    assert pipe.value.tolist() == [200.0, 100.0]
    f = fm.weighted_forecast(pipe, {"A": 0.5}, default_probability=0.2)
    assert f.expected.tolist() == [100.0, 20.0]
    assert fm.pipeline_coverage(300.0, 100.0) == 3.0
    assert np.isnan(fm.pipeline_coverage(300.0, 0.0))


def test_cohort_table_and_funnel_counts():
    c = fm.cohort_table(
        pd.DataFrame(
            {
                "cohort_month": ["2026-02", "2026-01"],
                "deals": [4, 10],
                "won": [0, 3],
                "lost": [0, 1],
            }
        )
    )
    assert list(c.cohort_month) == ["2026-01", "2026-02"]
    assert c.win_rate.iloc[0] == 0.75 and np.isnan(c.win_rate.iloc[1])
    steps = fm.funnel_counts(
        pd.DataFrame({"stage": ["A", "B"], "entered": [10, 5]}), leads=40, converted_leads=10, won=2
    )
    assert steps["count"].tolist() == [40, 10, 10, 5, 2]
    assert steps.step_conversion.iloc[1] == 0.25 and steps.step_conversion.iloc[3] == 0.5
    # no ratio across populations: leads -> stage flow -> won-in-period are different deal sets
    assert steps.step_conversion.isna().tolist() == [True, False, True, False, True]


def test_funnel_actions_mentions_bottleneck_and_low_coverage():
    md = fm.funnel_actions(
        {
            "bottleneck_stage": "Proposal",
            "bottleneck_conversion": 0.4,
            "bottleneck_median_dwell_days": 28.0,
            "pipeline_coverage": 1.5,
            "median_cycle_days": 33.0,
        }
    )
    assert "Proposal" in md and "40%" in md and "1.5x" in md


# --------------------------------------------------------------------------- queries on a tiny warehouse


@pytest.fixture
def tiny_crm(tmp_path):
    """6 deals with stage history: hand-checkable win rate, cycle days, conversion, open pipeline."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2", "D3", "D4", "D5", "D6"],
            "rep_id": ["R1", "R1", "R2", "R2", "R1", "R2"],
            "created_date": pd.to_datetime(
                ["2026-01-01", "2026-01-10", "2026-02-01", "2026-02-15", "2026-03-01", None]
            ),
            "close_date": pd.to_datetime(
                ["2026-02-10", "2026-03-01", "2026-03-15", "2026-01-20", None, None]
            ),
            "amount": [1000.0, 500.0, 2000.0, 700.0, 300.0, None],
            "stage": ["Closed", "Qualify", "Proposal", "Closed", "Proposal", "Qualify"],
            "status": ["won", "lost", "Lost", "won", "open", "open"],
            "source": ["Web", "Web", "Event", "Event", "Web", "Web"],
        }
    )
    hist = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D1", "D1", "D2", "D3", "D3", "D5", "D5"],
            "stage": [
                "Qualify",
                "Proposal",
                "Closed",
                "Qualify",
                "Qualify",
                "Proposal",
                "Qualify",
                "Proposal",
            ],
            "entered_date": pd.to_datetime(
                [
                    "2026-01-01",
                    "2026-01-05",
                    "2026-02-10",
                    "2026-01-10",
                    "2026-02-01",
                    "2026-02-11",
                    "2026-03-01",
                    "2026-03-04",
                ]
            ),
        }
    )
    reps = pd.DataFrame(
        {"rep_id": ["R1", "R2"], "name": ["Ann", "Bo"], "team": ["T", "T"], "region": ["N", "S"]}
    )
    path = tmp_path / "crm.duckdb"
    con = duckdb.connect(str(path))
    for name, df in (("opportunities", opps), ("stage_history", hist), ("reps", reps)):
        con.register("x", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM x")
        con.unregister("x")
    con.execute("ALTER TABLE opportunities ALTER created_date TYPE DATE")
    con.execute("ALTER TABLE opportunities ALTER close_date TYPE DATE")
    con.execute("ALTER TABLE stage_history ALTER entered_date TYPE DATE")
    con.close()
    src = connect(path)
    yield src
    src.close()


def test_closed_deal_counts_and_cycle(tiny_crm):
    q1 = Filters(date(2026, 1, 1), date(2026, 4, 1))
    c = fq.closed_deal_counts(tiny_crm, q1)
    # closed in Q1: D1 won 1000, D2 lost, D3 lost ("Lost" counts), D4 won 700
    assert (c.closed[0], c.won[0], c.won_amount[0]) == (4, 2, 1700.0)
    by_rep = fq.closed_deal_counts(tiny_crm, q1, by=["rep"]).set_index("rep")
    assert by_rep.loc["Ann", "won"] == 1 and by_rep.loc["Bo", "closed"] == 2
    hist = fq.cycle_day_histogram(tiny_crm, q1)
    # cycle days: D1 40, D2 50, D3 42; D4 closed before it was created (-26) still counts as data
    assert sorted(np.repeat(hist.cycle_days, hist.deals)) == [-26.0, 40.0, 42.0, 50.0]
    region_s = Filters(date(2026, 1, 1), date(2026, 4, 1), region="S")
    assert fq.closed_deal_counts(tiny_crm, region_s).closed[0] == 2  # R2's deals only


def test_open_pipeline_counts_deals_without_created_date(tiny_crm):
    p = fq.open_pipeline(tiny_crm, Filters(), as_of=date(2026, 3, 31)).set_index("stage")
    # D5 (in Proposal since 03-04) and D6 (no dates, open, current stage Qualify)
    assert p.deals.sum() == 2
    assert p.loc["Proposal", "amount"] == 300.0 and p.loc["Qualify", "with_amount"] == 0
    # on 2026-02-12 D2 (Qualify), D3 (Proposal since 02-11) and D6 are open; D1 closed 02-10
    p2 = fq.open_pipeline(tiny_crm, Filters(), as_of=date(2026, 2, 12)).set_index("stage")
    assert p2.deals.to_dict() == {"Proposal": 1, "Qualify": 2}


def test_the_open_deals_listed_are_the_open_pipeline(tiny_crm):
    """One rule for an open deal (queries.funnel.open_on): the team board's open deals
    (queries.pipeline_snapshot) are the deals the funnel's open pipeline counts, stage by stage."""
    from salesnb.queries import pipeline_snapshot

    for day in (date(2026, 1, 12), date(2026, 2, 12), date(2026, 3, 31)):
        listed = pipeline_snapshot(tiny_crm, day)
        counted = fq.open_pipeline(tiny_crm, Filters(), as_of=day).set_index("stage")
        assert listed.groupby("stage").size().to_dict() == counted["deals"].to_dict(), day
        assert listed["amount"].sum() == counted["amount"].sum(), day
    # D6 has no dates and is open: in the pipeline on any day, so in the list too
    on_march_31 = pipeline_snapshot(tiny_crm, date(2026, 3, 31))
    assert on_march_31["opportunity_id"].tolist() == ["D5", "D6"]
    assert pipeline_snapshot(tiny_crm, date(2026, 3, 31), Filters(region="S"))[
        "opportunity_id"
    ].tolist() == ["D6"]


def test_coverage_is_against_the_running_period_or_the_next():
    from salesnb.model.periods import parse_period

    q3 = parse_period("2026-Q3")
    period, running = fm.coverage_period(q3, date(2026, 8, 15))
    assert (period.label, running) == ("2026-Q3", True)
    period, running = fm.coverage_period(q3, date(2026, 9, 30))  # its last day: complete
    assert (period.label, running) == ("2026-Q4", False)
    month = parse_period("2026-08")
    assert fm.coverage_period(month, date(2026, 8, 31))[0].label == "2026-09"


def test_stage_flow_and_dwell(tiny_crm):
    flow = fq.stage_flow(tiny_crm, Filters(), end=date(2026, 4, 1))
    conv = fm.stage_conversion(flow).set_index("stage")
    # Qualify entered by D1, D2, D3, D5: D1, D3, D5 advance, D2 lost -> 3/4
    assert conv.loc["Qualify", "conversion"] == pytest.approx(0.75)
    # Proposal: D1 won (advanced to Closed), D3 lost, D5 still open -> 1/2
    assert conv.loc["Proposal", "conversion"] == pytest.approx(0.5)
    assert "Closed" not in conv.index
    dwell = fq.stage_dwell(tiny_crm, Filters(), end=date(2026, 4, 1)).set_index("stage")
    # Proposal: D1 36 days (01-05 -> 02-10), D3 32 days (02-11 -> lost 03-15); D5 open: no dwell yet
    assert dwell.loc["Proposal", "median_dwell_days"] == pytest.approx(34.0)


def test_closed_deal_scope_falls_back_to_all_history(tiny_crm):
    in_period = fq.closed_deal_scope(tiny_crm, Filters(date(2026, 1, 1), date(2026, 4, 1)))
    assert in_period["label"] == "period" and in_period["note"] == ""
    empty = fq.closed_deal_scope(tiny_crm, Filters(date(2030, 1, 1), date(2030, 4, 1)))
    assert empty["label"] == "all history"
    assert (empty["start"], empty["end"]) == (date(2026, 1, 20), date(2026, 3, 16))
    c = fq.closed_deal_counts(tiny_crm, None, start=empty["start"], end=empty["end"])
    assert c.closed[0] == 4


def test_creation_cohorts(tiny_crm):
    c = fq.creation_cohorts(tiny_crm, Filters(), end=date(2026, 3, 1)).set_index("cohort_month")
    # created before 03-01: Jan D1 (won 02-10), D2 (closed 03-01 = not yet by end -> open); Feb D3 open, D4 won
    assert c.loc["2026-01", ["deals", "won", "open"]].tolist() == [2, 1, 1]
    assert c.loc["2026-02", ["deals", "won", "open"]].tolist() == [2, 1, 1]


# --------------------------------------------------------------------------- boundaries: 0 %, 100 %, nothing closed

Z2 = 1.959963984540054**2  # z^2 of a 95 % interval


def test_win_rate_interval_all_won_all_lost_and_nothing_closed():
    # Wilson at k = n: lower = n / (n + z^2), upper = 1 exactly (never 0.9999999999999999)
    lo, hi = fm.win_rate_interval(10, 10)
    assert lo == pytest.approx(10 / (10 + Z2)) and hi == 1.0
    # Wilson at k = 0: lower = 0 exactly, upper = z^2 / (n + z^2)
    lo, hi = fm.win_rate_interval(0, 10)
    assert lo == 0.0 and hi == pytest.approx(Z2 / (10 + Z2))
    assert fm.win_rate_interval(0, 0) is None  # no closed deal: no rate, no interval
    # Jeffreys bounds at the edges are pulled onto the rate they must contain
    lo, hi = fm.win_rate_interval(10, 10, method="jeffreys")
    assert hi == 1.0 and 0.7 < lo < 1.0
    assert fm.win_rate_interval(0, 10, method="jeffreys")[0] == 0.0
    lo_all, hi_all = fm.win_rate_intervals([3, 0], [0, 0])
    assert np.isnan(lo_all).all() and np.isnan(hi_all).all()


def test_win_rate_table_error_bars_never_negative_at_the_edges():
    counts = pd.DataFrame(
        {"rep": ["All", "None", "Half"], "won": [30, 0, 5], "closed": [30, 12, 10]}
    )
    t = fm.win_rate_table(counts, "rep").set_index("rep")
    assert (t["ci_low"] <= t["win_rate"]).all() and (t["win_rate"] <= t["ci_high"]).all()
    assert t["ci_low"].min() >= 0.0 and t["ci_high"].max() <= 1.0
    assert t.loc["All", "ci_high"] == 1.0 and t.loc["None", "ci_low"] == 0.0
    assert t.loc["All", "ci_low"] == pytest.approx(30 / (30 + Z2))
    from salesnb.plots import funnel as fp

    ax = fp.win_rate_ci(t.reset_index(), "rep", overall=35 / 52)  # raised on negative xerr before
    assert ax.get_title().startswith("Win rate by rep")


def test_win_summary_says_what_is_missing():
    none = fm.win_summary(0, 0, 0.0, "EUR")
    assert "not computed" in none and "nan" not in none
    lost = fm.win_summary(0, 5, 0.0, "EUR")
    # 0 of 5: Wilson upper bound z^2 / (5 + z^2) = 43.4 %
    assert "**0.0%**" in lost and "0.0% to 43.4%" in lost and "no average won deal" in lost
    assert "nan" not in lost


def test_describe_cycle_without_closed_deals():
    empty = fm.cycle_time_summary(pd.DataFrame({"cycle_days": [], "deals": []}))
    assert empty["deals"] == 0 and np.isnan(empty["median"])
    assert fm.describe_cycle(empty).startswith("**Not computed: cycle time**")


def test_velocity_gap_names_the_missing_input():
    assert fm.velocity_gap(10, float("nan"), 5000.0, 30.0).startswith("no deal was won or lost")
    assert "average won deal" in fm.velocity_gap(10, 0.0, float("nan"), 30.0)
    assert "cycle time" in fm.velocity_gap(10, 0.2, 5000.0, float("nan"))
    assert "0 days" in fm.velocity_gap(10, 0.2, 5000.0, 0.0)
    assert fm.velocity_gap(10, 0.2, 5000.0, 50.0) is None
    assert fm.pipeline_velocity(10, 0.2, 5000.0, 50.0) == 200.0  # 10 x 0.2 x 5000 / 50
    text = fm.pipeline_lines(None, "no deal was won", fm.coverage_against(100.0, None, 0.0), "USD")
    assert "not computed — no deal was won" in text and "nan" not in text


def test_coverage_against_target_won_amount_and_nothing():
    by_target = fm.coverage_against(900.0, 400.0, 100.0, in_progress=True, target_label="2026-Q3")
    assert by_target["coverage"] == 3.0 and by_target["basis"] == "target 2026-Q3"  # 900 / 300
    met = fm.coverage_against(900.0, 400.0, 500.0, in_progress=True, target_label="2026-Q3")
    assert np.isnan(met["coverage"]) and met["gap"] == "the 2026-Q3 target is already met"
    nothing = fm.coverage_against(900.0, None, 0.0, target_label="2026-Q4")
    assert np.isnan(nothing["coverage"]) and "2026-Q4 target would fill it" in nothing["gap"]
    assert fm.coverage_against(900.0, None, 300.0)["coverage"] == 3.0


def test_no_bottleneck_when_nothing_leaks_or_too_few_deals():
    c = pd.DataFrame(
        {"stage": ["A", "B"], "entered": [40, 30], "conversion": [1.0, 1.0], "leaked": [0, 0]}
    )
    assert fm.find_bottleneck(c) == {}
    assert "no deal was lost" in fm.bottleneck_gap(c)
    assert "20 or more deals" in fm.bottleneck_gap(c.assign(entered=5))
    assert "stage history" in fm.bottleneck_gap(None)
    assert "no working stage" in fm.bottleneck_gap(c.iloc[0:0])
    assert fm.bottleneck_gap(c.assign(conversion=[0.5, 1.0])) is None


def test_open_pipeline_without_a_won_deal_is_not_valued_at_zero():
    open_stages = pd.DataFrame(
        {"stage": ["A", "B"], "deals": [3, 2], "amount": [100.0, 0.0], "with_amount": [1, 0]}
    )
    valued = fm.value_open_pipeline(open_stages, float("nan"))
    assert valued["value"].tolist() == [100.0, 0.0]  # known amounts only
    # (3 - 1) + (2 - 0) deals without an amount
    assert fm.unvalued_note(valued, float("nan")).startswith("4 open deals carry no amount")
    assert "average won deal (50)" in fm.unvalued_note(valued, 50.0)
    # nothing closed: no stage probability, no overall win rate -> no expected value at all
    f = fm.weighted_forecast(valued, None, default_probability=float("nan"))
    assert fm.expected_total(f) == (None, ["A", "B"])
    f = fm.weighted_forecast(valued, {"A": 0.5}, default_probability=float("nan"))
    assert fm.expected_total(f) == (50.0, ["B"])


def test_win_rate_table_gap():
    assert fm.win_rate_table_gap(0, None, "rep") == "no deal was won or lost in scope"
    assert fm.win_rate_table_gap(9, None, "source") == "the deals carry no source"
    empty = fm.win_rate_table(
        pd.DataFrame({"rep": ["a"], "won": [1], "closed": [2]}), "rep", min_closed=5
    )
    assert "5 or more closed deals" in fm.win_rate_table_gap(2, empty, "rep", 5)
    five = fm.win_rate_table(
        pd.DataFrame({"rep": ["a"], "won": [1], "closed": [5]}), "rep", min_closed=5
    )
    assert fm.win_rate_table_gap(5, five, "rep", 5) is None


def test_describe_scope_without_closed_deals():
    text = fm.describe_scope(
        {"label": "none", "start": None, "end": None, "note": "x"}, "2026-09-30"
    )
    assert "None" not in text and text.startswith("No deal in scope has closed")


def test_closed_deal_counts_names_every_group(tmp_path):
    """No reps table: the rep id names the rep; a deal without a source is '(no source)' on the page."""
    opps = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2", "D3"],
            "rep_id": ["R1", "R1", "R2"],
            "created_date": pd.to_datetime(["2026-01-01"] * 3),
            "close_date": pd.to_datetime(["2026-02-01"] * 3),
            "amount": [10.0, 20.0, 30.0],
            "stage": ["Won", "Lost", "Won"],
            "status": ["won", "lost", "won"],
            "source": ["Web", None, "Web"],
        }
    )
    path = tmp_path / "deals.duckdb"
    con = duckdb.connect(str(path))
    con.register("x", opps)
    con.execute("CREATE TABLE opportunities AS SELECT * FROM x")
    con.execute("ALTER TABLE opportunities ALTER created_date TYPE DATE")
    con.execute("ALTER TABLE opportunities ALTER close_date TYPE DATE")
    con.close()
    src = connect(path)
    try:
        q1 = Filters(date(2026, 1, 1), date(2026, 4, 1))
        by_rep = fq.closed_deal_counts(src, q1, by=["rep"]).set_index("rep")
        assert by_rep["closed"].to_dict() == {"R1": 2, "R2": 1}
        by_source = fm.win_rate_table(fq.closed_deal_counts(src, q1, by=["source"]), "source")
        assert by_source.set_index("source")["won"].to_dict() == {"Web": 2, "(no source)": 0}
    finally:
        src.close()
