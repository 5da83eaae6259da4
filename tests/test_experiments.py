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


def test_experiments_truths_recovered_by_report(demo_report, demo_truths):
    found = check_truths(demo_report, demo_truths, "experiments")
    assert (
        found["training_uplift_low"] < found["training_uplift_pct"] < found["training_uplift_high"]
    )
    assert 0 <= found["parallel_trends_p"] <= 1
    assert found["pilot_verdict"] in ("roll out", "keep testing", "stop")
    assert found["next_pilot_n_per_group"] > 0
