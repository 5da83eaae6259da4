"""Commission plans: edge cases computed by hand, the published plans, the Monte Carlo."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesnb.errors import InputError
from salesnb.metrics import incentives as inc

PLAN = inc.Plan(
    "hand",
    base_rate=0.03,
    tiers=(inc.Tier(0.5, 0.05), inc.Tier(1.0, 0.08)),
    cap_attainment=2.0,
    clawback=True,
    spiffs=(
        inc.Spiff(per_unit=5.0, category="Software"),
        inc.Spiff(pct_of_revenue=0.02, product_id="P9"),
    ),
)


def lines(rows):
    cols = ["rep_id", "product_id", "category", "sales", "returns", "units_sold", "units_returned"]
    return pd.DataFrame(rows, columns=cols)


def targets(d):
    return pd.DataFrame({"rep_id": list(d), "target": [float(v) for v in d.values()]})


def test_tier_boundary_exactly_hit():
    # a = 1.0: base 3 % on the first 50k, 5 % on 50k..100k, nothing yet at the accelerator
    assert inc.tiered_commission(100_000, 100_000, PLAN) == pytest.approx(
        0.03 * 50_000 + 0.05 * 50_000
    )
    # a = 0.5 exactly: only the base band
    assert inc.tiered_commission(50_000, 100_000, PLAN) == pytest.approx(1_500.0)
    # one unit past the boundary earns the accelerator rate on that unit
    assert inc.tiered_commission(100_001, 100_000, PLAN) == pytest.approx(4_000.08)


def test_cap_on_attainment_and_on_amount():
    full = 0.03 * 50_000 + 0.05 * 50_000 + 0.08 * 100_000  # 12,000 at 200 %
    assert inc.tiered_commission(300_000, 100_000, PLAN) == pytest.approx(full)
    assert inc.tiered_commission(200_000, 100_000, PLAN) == pytest.approx(full)
    capped = inc.Plan("c", 0.03, PLAN.tiers, cap_attainment=2.0, cap_amount=5_000.0)
    st = inc.payout_statement(
        lines([["a", "P1", "X", 300_000.0, 0.0, 1.0, 0.0]]), targets({"a": 100_000}), capped
    )
    assert st.loc[0, "commission"] == pytest.approx(full)
    assert st.loc[0, "payout"] == pytest.approx(5_000.0)


def test_clawback_larger_than_commission_pays_zero_and_carries_forward():
    st = inc.payout_statement(
        lines([["a", "P1", "X", 10_000.0, 30_000.0, 10.0, 30.0]]), targets({"a": 100_000}), PLAN
    )
    row = st.iloc[0]
    assert row["commission"] == pytest.approx(300.0)  # 3 % of 10,000
    assert row["effective_rate"] == pytest.approx(0.03)
    assert row["clawback"] == pytest.approx(900.0)  # 30,000 returned at the 3 % earned
    assert row["payout"] == 0.0
    assert row["carry_forward"] == pytest.approx(-600.0)


def test_rep_with_no_target_earns_the_base_rate_flat():
    st = inc.payout_statement(lines([["a", "P1", "X", 80_000.0, 0.0, 1.0, 0.0]]), targets({}), PLAN)
    assert math.isnan(st.loc[0, "attainment"])
    assert st.loc[0, "commission"] == pytest.approx(2_400.0)
    assert st.loc[0, "payout"] == pytest.approx(2_400.0)


def test_statement_by_hand_and_payouts_sum_to_total():
    rows = [
        ["a", "P1", "Software", 70_000.0, 0.0, 10.0, 2.0],  # spiff 5 x 8 = 40
        ["a", "P9", "Hardware", 50_000.0, 6_000.0, 5.0, 1.0],  # spiff 2 % x 44,000 = 880
        ["b", "P2", "Hardware", 40_000.0, 0.0, 4.0, 0.0],
        ["c", "P1", "Software", 5_000.0, 20_000.0, 1.0, 4.0],  # net units negative: spiff 0
    ]
    reps = pd.DataFrame({"rep_id": ["a", "b", "c", "d"], "name": ["A", "B", "C", "D"]})
    st = inc.payout_statement(
        lines(rows), targets({"a": 100_000, "b": 100_000, "c": 50_000}), PLAN, reps
    )
    st = st.set_index("rep_id")
    # a: S=120k, a=1.2 -> 1,500 + 2,500 + 0.08 x 20,000 = 5,600; r = 5600/120000; K = r x 6,000 = 280
    assert st.loc["a", "commission"] == pytest.approx(5_600.0)
    assert st.loc["a", "clawback"] == pytest.approx(280.0)
    assert st.loc["a", "spiffs"] == pytest.approx(920.0)
    assert st.loc["a", "payout"] == pytest.approx(6_240.0)
    assert st.loc["b", "payout"] == pytest.approx(0.03 * 40_000)  # a = 0.4
    # c: C = 150, K = 0.03 x 20,000 = 600 -> due -450
    assert st.loc["c", "payout"] == 0.0 and st.loc["c", "carry_forward"] == pytest.approx(-450.0)
    assert st.loc["d", "payout"] == 0.0  # a rep with no sales still gets a row
    assert st["payout"].sum() == pytest.approx(6_240.0 + 1_200.0)
    assert (st["due"] == st["payout"] + st["carry_forward"]).all()


def test_published_plans_load_and_are_ordered():
    for name in ("standard", "accelerated"):
        p = inc.load_plan(name)
        starts = [lo for lo, _, _ in p.bands()]
        assert starts == sorted(starts) and starts[0] == 0.0
        assert any(t.start >= 1.0 for t in p.tiers), f"{name} has no accelerator above 100 %"
    with pytest.raises(InputError, match="known plans"):
        inc.load_plan("no-such-plan")


def test_bad_plan_names_the_field():
    with pytest.raises(InputError, match="commission plan 'x': base_rate: Field required"):
        inc.plan_from_dict({"name": "x", "tiers": []})
    with pytest.raises(InputError, match=r"commission plan 'x': tiers\[1\]\.from: .*increasing"):
        inc.plan_from_dict(
            {
                "name": "x",
                "base_rate": 0.1,
                "tiers": [{"from": 1.0, "rate": 0.1}, {"from": 0.5, "rate": 0.2}],
            }
        )


def test_gini_known_values():
    assert inc.gini([5, 5, 5, 5]) == pytest.approx(0.0)
    assert inc.gini([0, 0, 0, 10]) == pytest.approx(0.75)
    assert inc.gini([1, 2, 3]) == pytest.approx(2 / 9)


def test_attainment_spread_pooled_by_hand():
    h = pd.DataFrame({"rep_id": ["a", "a", "b", "b"], "attainment": np.exp([0.0, 0.2, -0.1, 0.1])})
    # deviations +-0.1 around each rep's mean; SS = 0.04 over 4 - 2 dof
    assert inc.attainment_spread(h, min_points=1) == pytest.approx(math.sqrt(0.02))
    assert inc.attainment_spread(h, default=0.3) == 0.3  # too little history


def _statement():
    rows = [
        ["a", "P1", "X", 120_000.0, 6_000.0, 1.0, 0.0],
        ["b", "P1", "X", 60_000.0, 0.0, 1.0, 0.0],
        ["c", "P1", "X", 30_000.0, 1_000.0, 1.0, 0.0],
    ]
    return inc.payout_statement(lines(rows), targets({"a": 100_000, "b": 100_000}), PLAN)


def test_monte_carlo_reproducible_with_its_seed():
    st = _statement()
    one = inc.simulate_payouts(st, PLAN, spread=0.2, n_sims=2_000, seed=42)
    two = inc.simulate_payouts(st, PLAN, spread=0.2, n_sims=2_000, seed=42)
    other = inc.simulate_payouts(st, PLAN, spread=0.2, n_sims=2_000, seed=7)
    np.testing.assert_array_equal(one["totals"], two["totals"])
    assert one["expected_payout"] == two["expected_payout"]
    assert one["expected_payout"] != other["expected_payout"]
    assert one["p90_payout"] > one["expected_payout"] > 0


def test_monte_carlo_without_spread_reproduces_the_statement():
    st = _statement()
    sim = inc.simulate_payouts(st, PLAN, spread=0.0, n_sims=50, seed=1)
    assert sim["expected_payout"] == pytest.approx(st["payout"].sum())
    assert sim["p90_payout"] == pytest.approx(st["payout"].sum())
    revenue = (st["sales"] - st["returns"]).sum()
    assert sim["cost_of_sales_pct"] == pytest.approx(st["payout"].sum() / revenue)
    assert sim["gini"] == pytest.approx(float(inc.gini(st["payout"])))


def test_steeper_plan_costs_more_for_over_achievers():
    st = _statement()
    steep = inc.Plan("steep", 0.03, (inc.Tier(0.5, 0.05), inc.Tier(1.0, 0.20)), cap_attainment=2.0)
    base = inc.simulate_payouts(st, PLAN, 0.15, 5_000, 42)
    alt = inc.simulate_payouts(
        inc.payout_statement(
            lines(
                [
                    ["a", "P1", "X", 120_000.0, 6_000.0, 1.0, 0.0],
                    ["b", "P1", "X", 60_000.0, 0.0, 1.0, 0.0],
                    ["c", "P1", "X", 30_000.0, 1_000.0, 1.0, 0.0],
                ]
            ),
            targets({"a": 100_000, "b": 100_000}),
            steep,
        ),
        steep,
        0.15,
        5_000,
        42,
    )
    table = inc.compare_plans([base, alt])
    assert list(table["plan"]) == ["hand", "steep"]
    assert table.loc[1, "expected_payout"] > table.loc[0, "expected_payout"]


def test_nothing_paid_and_no_revenue_are_not_computable_shares():
    assert math.isnan(float(inc.gini([0.0, 0.0, 0.0])))
    # returns larger than sales: nobody is paid, cost of sales and Gini have no base
    st = inc.payout_statement(
        lines([["a", "P1", "X", 0.0, 9_000.0, 0.0, 3.0], ["b", "P1", "X", 0.0, 1_000.0, 0.0, 1.0]]),
        targets({"a": 100_000, "b": 100_000}),
        PLAN,
    )
    assert st["payout"].sum() == 0.0 and st["carry_forward"].sum() == pytest.approx(-300.0)
    sim = inc.simulate_payouts(st, PLAN, spread=0.2, n_sims=200, seed=1)
    assert sim["expected_payout"] == 0.0
    assert math.isnan(sim["cost_of_sales_pct"]) and math.isnan(sim["gini"])
    text = inc.payout_markdown(PLAN, 0.0, -10_000.0)
    assert "not computable" in text and "nan" not in text
    assert inc.payout_markdown(PLAN, 300.0, 10_000.0).endswith("**3.00%** of net revenue.")
