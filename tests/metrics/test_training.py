"""Training needs (salesnb.metrics.training): skills, gaps, programme effects, the plan.

Unit tests work on frames small enough to check by hand; the report test reads the demo's
published ``training-plan.csv`` and recomputes its figures from the warehouse with SQL.
"""

from __future__ import annotations

import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import check_truths

from salesnb.metrics import experiments as em
from salesnb.metrics import training as tm
from salesnb.plots import training as tt

STAGES = ["Prospecting", "Proposal", "Closed"]


def _deals() -> pd.DataFrame:
    """Rep a: 4 closed deals; rep b: 2. Stages Prospecting -> Proposal -> Closed (won)."""
    day = pd.Timestamp("2026-07-01")
    return pd.DataFrame(
        {
            "rep_id": ["a", "a", "a", "a", "b", "b"],
            "status": ["won", "lost", "lost", "Won", "won", "lost"],
            "stage": ["Closed", "Prospecting", "Proposal", "Closed", "Closed", "Proposal"],
            "amount": [100.0, 50.0, 70.0, 300.0, 40.0, 10.0],
            "discount": [0.10, 0.20, 0.30, 0.00, 0.05, 0.15],
            "created_date": [day] * 6,
            "close_date": day + pd.to_timedelta([10, 20, 30, 40, 7, 9], unit="D"),
        }
    )


def test_deal_skills_by_hand():
    s = tm.deal_skills(_deals(), STAGES).set_index(["rep_id", "metric"])
    # rep a: 4 deals reached Prospecting, 3 went past it (2 won, 1 lost at Proposal);
    # 3 reached Proposal, 2 went past it. "Closed" (no deal lost there) is not a stage.
    assert s.loc[("a", "conversion:Prospecting"), "value"] == pytest.approx(3 / 4)
    assert s.loc[("a", "conversion:Proposal"), "value"] == pytest.approx(2 / 3)
    assert s.loc[("a", "conversion:Proposal"), "deals"] == 3
    assert ("a", "conversion:Closed") not in s.index
    # discount offered: every closed deal; deal size: won deals only ("Won" counts as won)
    assert s.loc[("a", "discount"), "value"] == pytest.approx((0.1 + 0.2 + 0.3 + 0.0) / 4)
    assert s.loc[("a", "deal_size"), "value"] == pytest.approx((100 + 300) / 2)
    assert s.loc[("a", "cycle_days"), "value"] == pytest.approx((10 + 20 + 30 + 40) / 4)
    assert s.loc[("b", "conversion:Proposal"), "value"] == pytest.approx(1 / 2)
    monthly = tm.deal_skills(_deals(), STAGES, monthly=True)
    assert set(monthly["month"]) == {pd.Timestamp("2026-07-01"), pd.Timestamp("2026-08-01")}


def test_deal_skills_without_deals_is_empty():
    empty = _deals().iloc[0:0]
    assert tm.deal_skills(empty, STAGES).empty
    assert list(tm.deal_skills(empty, STAGES, monthly=True).columns) == [
        "rep_id",
        "month",
        "metric",
        "value",
        "deals",
    ]


def test_skill_gaps_against_the_median_of_the_same_role():
    skills = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "m1", "m2", "m3", "r1", "r2", "r3", "r4"],
            "metric": ["discount"] * 6 + ["deal_size"] * 3 + ["discount"],
            "value": [0.03, 0.03, 0.04, 0.09, 0.09, 0.09, 100.0, 100.0, 80.0, 0.50],
            "deals": [10] * 9 + [2],  # r4: too few deals to judge
        }
    )
    reps = pd.DataFrame(
        {
            "rep_id": ["r1", "r2", "r3", "r4", "m1", "m2", "m3"],
            "role": ["rep"] * 4 + ["manager"] * 3,
        }
    )
    gaps = tm.skill_gaps(skills, reps)
    # r3 gives 0.04 against its role's median 0.03 (+33 %, lower is better) and sells
    # 80 against 100 (-20 %, higher is better); managers at 0.09 are not compared with reps
    assert gaps[["rep_id", "metric"]].values.tolist() == [["r3", "discount"], ["r3", "deal_size"]]
    assert gaps["gap"].tolist() == pytest.approx([1 / 3, 0.2])
    assert gaps["team_median"].tolist() == pytest.approx([0.03, 100.0])
    assert tm.skill_gaps(skills, reps, per_rep=1)["metric"].tolist() == ["discount"]
    assert tm.skill_gaps(skills, reps, threshold=0.25)["metric"].tolist() == ["discount"]
    # without roles every rep is compared with everyone: managers then look like big discounters
    assert "m1" in set(tm.skill_gaps(skills)["rep_id"])


def _panel(cut: float = 0.30, seed: int = 3) -> tuple[pd.DataFrame, pd.DataFrame]:
    """12 reps x 24 months of a discount and a deal size. Reps 0-5 take "Negotiation" on
    2025-01-01 (month 12): from then on their discount is multiplied by 1 - cut; reps 3-8
    take "Placebo" the same day, which changes nothing (half of its attendees took
    "Negotiation", as half of the reps it is compared with did)."""
    rng = np.random.default_rng(seed)
    months = pd.date_range("2024-01-01", periods=24, freq="MS")
    rows = []
    for r in range(12):
        base = 0.03 * (1 + r / 10)
        for i, m in enumerate(months):
            noise = math.exp(rng.normal(0, 0.05))
            after = r < 6 and i >= 12
            rows.append((f"R{r:02d}", m, "discount", base * (1 - cut if after else 1) * noise, 5))
            rows.append((f"R{r:02d}", m, "deal_size", 1000 * (1 + r) * noise, 5))
    panel = pd.DataFrame(rows, columns=["rep_id", "month", "metric", "value", "deals"])
    trainings = pd.DataFrame(
        {
            "rep_id": [f"R{r:02d}" for r in range(6)] + [f"R{r:02d}" for r in range(3, 9)],
            "program": ["Negotiation"] * 6 + ["Placebo"] * 6,
            "date": pd.Timestamp("2025-01-01"),
        }
    )
    return panel, trainings


def test_programme_effects_reuse_the_experiments_did_and_find_the_one_that_moved():
    panel, trainings = _panel()
    effects = tm.programme_effects(panel, trainings).set_index(["programme", "metric"])
    neg = effects.loc[("Negotiation", "discount")]
    assert neg["effect"] == pytest.approx(-0.30, abs=0.03)
    assert neg["effect_low"] < neg["effect"] < neg["effect_high"] < 0
    assert (neg["attendees"], neg["others"]) == (6, 6)
    assert effects["moved"].sum() == 1 and bool(neg["moved"])
    # the same numbers as the experiments study's own estimator on that skill's panel
    frame = panel.loc[panel["metric"] == "discount", ["rep_id", "month", "value"]]
    did = em.training_did(em.did_panel(frame, trainings, "Negotiation", revenue_col="value"))
    assert neg["effect"] == pytest.approx(did["uplift"])
    assert neg["p_value"] == pytest.approx(did["p_value"])
    # Holm: the adjusted p-value is never below the raw one
    assert (effects["p_holm"] >= effects["p_value"] - 1e-12).all()


def test_an_effect_the_wrong_way_does_not_count_as_moving_a_skill():
    panel, trainings = _panel(cut=-0.30)  # discounts 30 % higher after the programme
    effects = tm.programme_effects(panel, trainings).set_index(["programme", "metric"])
    assert effects.loc[("Negotiation", "discount"), "effect"] > 0.2
    assert not effects["moved"].any()


def test_a_programme_without_comparison_reps_says_why():
    panel, trainings = _panel()
    everyone = pd.DataFrame({"rep_id": sorted(panel["rep_id"].unique()), "program": "All"})
    everyone["date"] = pd.Timestamp("2025-01-01")
    effects = tm.programme_effects(panel, everyone)
    assert effects["effect"].isna().all() and not effects["moved"].any()
    assert (
        effects["problem"] == "every rep in this scope was trained: there is no comparison group"
    ).all()


def test_training_plan_maps_gaps_to_programmes_the_rep_has_not_taken():
    panel, trainings = _panel()
    effects = tm.programme_effects(panel, trainings)
    gaps = pd.DataFrame(
        {
            "rep_id": ["R07", "R02", "R09"],
            "metric": ["discount", "discount", "deal_size"],
            "value": [0.05, 0.05, 500.0],
            "team_median": [0.04, 0.04, 1000.0],
            "gap": [0.25, 0.25, 0.5],
        }
    )
    reps = pd.DataFrame({"rep_id": ["R07", "R02", "R09"], "name": ["Ann", "Bo", "Ann"]})
    plan = tm.training_plan(gaps, effects, trainings, reps)
    assert list(plan.columns) == tm.PLAN_COLUMNS
    rows = plan.set_index("rep_id")
    neg = effects.set_index(["programme", "metric"]).loc[("Negotiation", "discount"), "effect"]
    assert rows.loc["R07", "programme"] == "Negotiation"
    assert rows.loc["R07", "expected_effect"] == pytest.approx(neg, abs=1e-6)
    assert rows.loc["R07", "expected_value"] == pytest.approx(0.05 * (1 + neg), abs=1e-6)
    assert rows.loc["R02", "programme"] == ""  # took it already
    assert rows.loc["R09", "programme"] == ""  # nothing moved deal size
    assert rows.loc["R07", "rep"] == "Ann (R07)" and rows.loc["R02", "rep"] == "Bo"
    assert plan["rep_id"].iloc[0] == "R07"  # rows with a programme first
    figures = tm.plan_figures(plan, effects)
    assert figures == {
        "training_gaps": 3,
        "training_plan_reps": 1,
        "training_programme_discount": "Negotiation",
        "training_effect_discount": pytest.approx(neg),
    }
    actions = tm.training_actions(plan)
    assert actions.splitlines()[0].startswith("- Send 1 rep(s) to 'Negotiation'")
    assert "Ann (R07)" in actions and "training-plan.csv" in actions
    assert "2 skill gap(s) have no programme" in actions
    assert tm.training_actions(plan.iloc[0:0]) == ""
    html = tt.plan_table(plan, "USD").to_html()
    assert "Negotiation" in html and "none moved it" in html and "500 USD" in html
    assert "p &lt; 0.001" in tt.effects_table(effects).to_html()


def test_demo_report_recovers_the_negotiation_plant(demo_report, demo_truths, demo_warehouse):
    """The planted programme and its effect reach experiments.json, and training-plan.csv holds
    figures recomputed here from the warehouse: each rep's discount offered in the period,
    the median of the reps of the same role, and no rep sent to a programme taken already."""
    found = check_truths(demo_report, demo_truths, "experiments")
    assert found["training_programme_discount"] == "Negotiation"
    assert found["training_plan_reps"] > 0 and found["training_gaps"] >= found["training_plan_reps"]
    plan = pd.read_csv(
        demo_report / "training-plan.csv", encoding="utf-8-sig", keep_default_na=False
    )
    assert len(plan) == found["training_gaps"]
    sent = plan[plan["programme"] != ""]
    assert set(sent["programme"]) == {"Negotiation"} and set(sent["metric"]) == {"discount"}
    assert sent["rep_id"].nunique() == found["training_plan_reps"]
    con = duckdb.connect(str(demo_warehouse), read_only=True)
    try:
        took = set(
            con.execute("SELECT rep_id FROM trainings WHERE program = 'Negotiation'").df()["rep_id"]
        )
        by_rep = con.execute(
            """
            SELECT o.rep_id, r.role, avg(o.discount) AS discount, count(*) AS deals
            FROM opportunities o JOIN reps r USING (rep_id)
            WHERE o.status IN ('won', 'lost')
              AND o.close_date >= DATE '2026-07-01' AND o.close_date < DATE '2026-10-01'
            GROUP BY ALL"""
        ).df()
    finally:
        con.close()
    assert not took & set(sent["rep_id"])
    by_rep = by_rep[by_rep["deals"] >= 8]
    by_rep["median"] = by_rep.groupby("role")["discount"].transform("median")
    expected = by_rep.set_index("rep_id")
    discount_rows = plan[plan["metric"] == "discount"].set_index("rep_id")
    for rep_id, row in discount_rows.iterrows():
        assert row["value"] == pytest.approx(expected.loc[rep_id, "discount"], abs=1e-6)
        assert row["team_median"] == pytest.approx(expected.loc[rep_id, "median"], abs=1e-6)
        assert row["gap"] >= 0.10
    # every rep offering 10 % or more above the role's median has a discount row, and those
    # who never took Negotiation are sent to it
    above = expected[(expected["discount"] - expected["median"]) / expected["median"] >= 0.10]
    assert set(discount_rows.index) <= set(above.index)
    untrained = above.index.difference(sorted(took))
    assert set(sent["rep_id"]) <= set(untrained)
    actions = pd.read_csv(demo_report / "actions.csv", encoding="utf-8-sig")
    mine = actions[actions["action"].str.contains("to 'Negotiation'", regex=False)]
    assert len(mine) == 1 and "training-plan.csv" in mine["action"].iat[0]
    assert mine["people"].iat[0]  # the reps it names, by name
