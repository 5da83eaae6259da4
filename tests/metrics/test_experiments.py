"""Experiments: DiD on a hand-built panel, pilot test by hand, power against textbook values, truths."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest
from conftest import check_truths
from scipy import stats

from salesnb.metrics import experiments as em

MONTHS = pd.date_range("2025-01-01", periods=6, freq="MS")


def hand_panel(effect=0.10, pre_trend=0.0, noise=None):
    """4 reps x 6 months; reps a, b trained on 2025-04-01. log revenue = rep + month + effect x D."""
    rep_level = {"a": 9.0, "b": 9.5, "c": 10.0, "d": 8.8}
    rows = []
    for r, base in rep_level.items():
        for i, m in enumerate(MONTHS):
            trained = r in ("a", "b")
            log_rev = base + 0.05 * i + (effect if trained and i >= 3 else 0.0)
            log_rev += pre_trend * i if trained and i < 3 else 0.0
            if noise is not None:
                log_rev += noise[(r, i)]
            rows.append((r, m, math.exp(log_rev)))
    rm = pd.DataFrame(rows, columns=["rep_id", "month", "revenue"])
    tr = pd.DataFrame(
        {"rep_id": ["a", "b"], "program": "Coaching", "date": pd.to_datetime(["2025-04-01"] * 2)}
    )
    return em.did_panel(rm, tr)


def test_did_recovers_a_known_effect():
    panel = hand_panel(0.10)
    assert panel.attrs["program"] == "Coaching"
    assert panel["trained_after"].sum() == 6  # 2 reps x 3 months
    res = em.training_did(panel)
    assert res["coef"] == pytest.approx(0.10, abs=1e-9)
    assert res["uplift"] == pytest.approx(math.exp(0.10) - 1, abs=1e-9)
    assert res["trained_reps"] == 2 and res["control_reps"] == 2
    two = em.did_2x2(panel)  # balanced panel: the 2x2 equals the fixed-effects estimate
    assert two["coef"] == pytest.approx(0.10, abs=1e-9)


def test_did_interval_covers_the_effect_under_noise():
    rng = np.random.default_rng(3)
    reps = [f"r{i}" for i in range(40)]
    rows = []
    for k, r in enumerate(reps):
        for i, m in enumerate(pd.date_range("2024-01-01", periods=24, freq="MS")):
            d = 0.12 if (k < 20 and i >= 12) else 0.0
            rows.append((r, m, math.exp(10 + 0.01 * k + 0.02 * i + d + rng.normal(0, 0.1))))
    tr = pd.DataFrame({"rep_id": reps[:20], "program": "P", "date": pd.Timestamp("2025-01-01")})
    res = em.training_did(
        em.did_panel(pd.DataFrame(rows, columns=["rep_id", "month", "revenue"]), tr)
    )
    assert res["uplift_low"] < math.exp(0.12) - 1 < res["uplift_high"]
    assert res["uplift_high"] - res["uplift_low"] < 0.1


def test_training_mid_month_drops_the_partial_month():
    rm = pd.DataFrame(
        {"rep_id": ["a"] * 3 + ["b"] * 3, "month": list(MONTHS[:3]) * 2, "revenue": 100.0}
    )
    tr = pd.DataFrame({"rep_id": ["a"], "program": "P", "date": pd.to_datetime(["2025-02-15"])})
    p = em.did_panel(rm, tr)
    a = p[p["rep_id"] == "a"]
    assert a["month"].tolist() == [MONTHS[0], MONTHS[2]]
    assert a["trained_after"].tolist() == [False, True]


def test_parallel_trends_detects_a_pre_trend():
    # Seeded noise (Python's hash() of a str is salted per process: never use it for data).
    rng = np.random.default_rng(17)
    noise = {(r, i): rng.uniform(-0.01, 0.01) for r in "abcd" for i in range(6)}
    flat = em.parallel_trends(hand_panel(0.10, noise=noise))
    assert abs(flat["trend_diff"]) < 0.02
    drifting = em.parallel_trends(hand_panel(0.10, pre_trend=0.2, noise=noise))
    assert drifting["trend_diff"] == pytest.approx(0.2, abs=0.03)


def _noisy_panel(pre_trend: float, seed: int = 3):
    """40 reps x 24 months, half trained at month 12 (+12 %); trained reps drift before if asked."""
    rng = np.random.default_rng(seed)
    reps = [f"r{i}" for i in range(40)]
    rows = []
    for k, r in enumerate(reps):
        for i, m in enumerate(pd.date_range("2024-01-01", periods=24, freq="MS")):
            trained = k < 20
            d = 0.12 if (trained and i >= 12) else 0.0
            drift = pre_trend * (i - 12) if (trained and i < 12) else 0.0
            rows.append((r, m, math.exp(10 + 0.01 * k + 0.02 * i + d + drift + rng.normal(0, 0.1))))
    tr = pd.DataFrame({"rep_id": reps[:20], "program": "P", "date": pd.Timestamp("2025-01-01")})
    return em.did_panel(pd.DataFrame(rows, columns=["rep_id", "month", "revenue"]), tr)


def test_event_study_judges_the_pre_period_with_one_joint_test():
    flat = em.event_study(_noisy_panel(0.0))
    assert flat.attrs["pre_p_value"] > 0.05
    after = flat[flat["rel_period"] >= 0]["uplift"]
    assert np.allclose(after, math.exp(0.12) - 1, atol=0.05)
    drifting = em.event_study(_noisy_panel(0.02))
    assert drifting.attrs["pre_p_value"] < 0.001


@pytest.mark.filterwarnings(
    "ignore:invalid value encountered in sqrt"
)  # noise-free panel: zero variance
def test_event_study_reference_period_is_zero():
    es = em.event_study(hand_panel(0.10), bin_months=1, lo=-3, hi=2)
    assert es.loc[es["rel_period"] == -1, "coef"].item() == 0.0
    after = es[es["rel_period"] >= 0]["coef"]
    assert np.allclose(after, 0.10, atol=1e-8)


def test_pilot_by_hand():
    units = pd.DataFrame(
        {
            "unit_id": ["p1", "p2", "c1", "c2"],
            "closed": [50, 50, 50, 50],
            "won": [30, 30, 25, 25],
            "won_amount": [300.0, 310.0, 250.0, 240.0],
        }
    )
    assign = pd.DataFrame(
        {
            "unit_id": ["p1", "p2", "c1", "c2", "c3"],
            "group": ["pilot", "pilot", "control", "control", "control"],
        }
    )
    r = em.pilot_evaluation(units, assign, mde=0.05)
    assert r["uplift"] == pytest.approx(0.10)
    pooled = 110 / 200
    z = 0.10 / math.sqrt(pooled * (1 - pooled) * (1 / 100 + 1 / 100))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-6)
    se = math.sqrt(0.6 * 0.4 / 100 + 0.5 * 0.5 / 100)
    assert r["uplift_low"] == pytest.approx(0.10 - 1.959964 * se, abs=1e-5)
    assert r["control_units"] == 3  # a control unit with no deals still counts as a unit
    assert r["verdict"] == "keep testing"  # p ~ 0.16 and the interval still allows +5 points


def test_pilot_verdicts():
    big = pd.DataFrame(
        {
            "unit_id": [f"u{i}" for i in range(8)],
            "closed": 500,
            "won": [250, 260, 255, 245, 150, 160, 155, 145],
        }
    )
    assign = pd.DataFrame({"unit_id": big["unit_id"], "group": ["pilot"] * 4 + ["control"] * 4})
    assert em.pilot_evaluation(big, assign)["verdict"] == "roll out"
    flipped = assign.assign(group=["control"] * 4 + ["pilot"] * 4)
    assert em.pilot_evaluation(big, flipped)["verdict"] == "stop"


def test_power_against_textbook_values():
    # Cohen (1988) table 6.4.1: h = 0.20, alpha 0.05 two-sided, power 0.80 -> n = 392 per group
    from statsmodels.stats.power import NormalIndPower

    assert math.ceil(NormalIndPower().solve_power(0.2, alpha=0.05, power=0.8)) in (392, 393)
    # 50 % -> 60 %: Fleiss' normal-approximation formula gives 388 per group (no continuity correction)
    za, zb = stats.norm.ppf(0.975), stats.norm.ppf(0.8)
    fleiss = (za * math.sqrt(2 * 0.55 * 0.45) + zb * math.sqrt(0.5 * 0.5 + 0.6 * 0.4)) ** 2 / 0.1**2
    assert math.ceil(fleiss) == 388
    assert abs(em.pilot_sample_size(0.5, 0.10) - 388) <= 1
    assert (
        em.pilot_sample_size(0.5, 0.05) > 4 * em.pilot_sample_size(0.5, 0.10) - 20
    )  # n ~ 1 / mde^2
    curve = em.power_curve(0.5, 388, uplifts=[0.10])
    assert curve["power"].item() == pytest.approx(0.80, abs=0.01)


# --------------------------------------------------------------------------- boundaries: say "not testable", never raise

Z2 = stats.norm.ppf(0.975) ** 2


def test_did_panel_without_any_training_and_with_one_rep():
    rm = pd.DataFrame({"rep_id": ["a"] * 3, "month": MONTHS[:3], "revenue": 100.0})
    no_training = pd.DataFrame(
        {
            "rep_id": pd.Series([], dtype=str),
            "program": pd.Series([], dtype=str),
            "date": pd.Series([], dtype="datetime64[s]"),
        }
    )
    panel = em.did_panel(rm, no_training)  # raised "Cannot cast DatetimeArray" before
    assert panel["treat_month"].isna().all() and not panel["treated"].any()
    assert em.did_problem(panel) == "the trainings table lists no training for reps in this scope"
    trained = pd.DataFrame(
        {"rep_id": ["a"], "program": "P", "date": pd.to_datetime(["2025-02-01"])}
    )
    assert em.did_problem(em.did_panel(rm, trained)).startswith("only one rep in this scope")


def test_did_problem_needs_two_reps_per_group_and_months_before():
    panel = hand_panel(0.10)  # 2 trained, 2 untrained reps, 3 months before and after
    assert em.did_problem(panel) is None
    one_control = panel[panel["rep_id"] != "d"]
    assert em.did_problem(one_control).startswith("2 trained and 1 untrained rep(s)")
    everyone = panel[panel["treated"]]
    assert "no comparison group" in em.did_problem(everyone)
    no_before = panel[panel["month"] >= MONTHS[3]]
    assert em.did_problem(no_before) == "no months before the training to compare with"
    assert np.isnan(em.did_2x2(no_before)["uplift"])  # a missing cell: no figure, no KeyError


def test_parallel_trends_and_event_study_say_why_they_cannot_run():
    panel = hand_panel(0.10)
    short = panel[panel["month"] >= MONTHS[1]]  # 2 months before training
    t = em.parallel_trends(short)
    assert np.isnan(t["p_value"]) and t["problem"].startswith("2 month(s) of revenue before")
    assert em.describe_trends(t).startswith("**Pre-training trends not tested**")
    assert em.parallel_trends(hand_panel(0.10, noise=_small_noise()))["problem"] is None
    only_after = panel[~panel["treated"] | (panel["rel_month"] == -1)]
    es = em.event_study(only_after, bin_months=1)
    assert es.attrs["problem"] and es["rel_period"].tolist() == [-1]


def _small_noise():
    rng = np.random.default_rng(5)
    return {(r, i): rng.uniform(-0.01, 0.01) for r in "abcd" for i in range(6)}


def _pilot(pilot_won, pilot_closed, control_won, control_closed):
    units = pd.DataFrame(
        {
            "unit_id": ["p", "c"],
            "closed": [pilot_closed, control_closed],
            "won": [pilot_won, control_won],
        }
    )
    assign = pd.DataFrame({"unit_id": ["p", "c"], "group": ["pilot", "control"]})
    return em.pilot_evaluation(units, assign)


def test_pilot_at_100_or_0_percent_in_both_groups_is_not_testable():
    r = _pilot(10, 10, 8, 8)
    assert r["verdict"] == "not testable" and "was won" in r["reason"]
    assert r["p_value"] is None and r["p_value_clustered"] is None
    # Newcombe: [0 - (1 - 10/(10+z2)), 0 + (1 - 8/(8+z2))]
    assert r["uplift_low"] == pytest.approx(-(1 - 10 / (10 + Z2)), abs=1e-9)
    assert r["uplift_high"] == pytest.approx(1 - 8 / (8 + Z2), abs=1e-9)
    assert r["pilot_ci_high"] == 1.0 and r["control_ci_low"] == pytest.approx(8 / (8 + Z2))
    lost = _pilot(0, 10, 0, 8)
    assert lost["verdict"] == "not testable" and "was lost" in lost["reason"]
    text = em.describe_pilot(lost, "P", "rep", "2026-01-01")
    assert "nan" not in text and "not testable" in text


def test_pilot_with_one_group_at_100_percent_is_tested_with_a_score_interval():
    r = _pilot(10, 10, 5, 10)  # 100 % vs 50 %: pooled 75 %, the z-test works
    pooled = 15 / 20
    z = 0.5 / math.sqrt(pooled * (1 - pooled) * (1 / 10 + 1 / 10))
    assert r["p_value"] == pytest.approx(2 * stats.norm.sf(z), rel=1e-9)
    # Newcombe by hand: Wilson 10/10 = [0.722467, 1], 5/10 = [0.236593, 0.763407]
    w1_low = 10 / (10 + Z2)
    half = math.sqrt(Z2 * (0.25 / 10 + Z2 / 400)) / (1 + Z2 / 10)
    w2_low, w2_high = 0.5 - half, 0.5 + half
    assert r["uplift_low"] == pytest.approx(0.5 - math.hypot(1 - w1_low, w2_high - 0.5), abs=1e-9)
    assert r["uplift_high"] == pytest.approx(0.5 + (0.5 - w2_low), abs=1e-9)
    assert r["uplift_low"] == pytest.approx(0.11737, abs=1e-4)


def test_next_pilot_size_at_the_boundary():
    assert em.next_pilot_size(0.5, 0.10) == {"n_per_group": 388, "status": "ok", "reason": ""}
    for baseline, words in (
        (0.0, "win rate is 0 %"),
        (1.0, "win rate is 100 %"),
        (0.97, "cannot rise by 5% points"),
        (float("nan"), "no control win rate"),
    ):
        r = em.next_pilot_size(baseline, 0.05)
        assert r["status"] == "not testable" and r["n_per_group"] is None and words in r["reason"]
    assert "must be above 0" in em.next_pilot_size(0.3, 0.0)["reason"]
    with pytest.raises(
        ValueError
    ):  # the raw calculator still refuses; studies call next_pilot_size
        em.pilot_sample_size(1.0, 0.05)
    text = em.describe_next_pilot(em.next_pilot_size(1.0, 0.05), 1.0, 0.05)
    assert text.startswith("**Next pilot size: not testable**")
    actions = em.experiments_actions(sizing=em.next_pilot_size(0.0, 0.05))
    assert "Next pilot size: not testable" in actions


def test_pilot_rates_chart_at_100_percent():
    from salesnb.plots import experiments as ep

    ax = ep.pilot_rates(_pilot(10, 10, 8, 8))  # Wilson bars reach 100 %, none negative
    assert "not testable" in ax.get_title()


def test_experiments_truths_recovered_by_report(demo_report, demo_truths):
    found = check_truths(demo_report, demo_truths, "experiments")
    assert (
        found["training_uplift_low"] < found["training_uplift_pct"] < found["training_uplift_high"]
    )
    assert 0 <= found["parallel_trends_p"] <= 1
    assert found["pilot_verdict"] in ("roll out", "keep testing", "stop")
    assert found["next_pilot_n_per_group"] > 0
