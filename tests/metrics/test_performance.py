"""Performance study: targets, scorecard, fair ranking, coaching, discount compliance, truths."""

from __future__ import annotations

import json
import math

import duckdb
import numpy as np
import pandas as pd
import pytest
from conftest import check_truths

from salesnb.metrics import incentives as inc
from salesnb.metrics import performance as pm
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries import performance as pq
from salesnb.sources import connect


def test_resolve_targets_exact_year_and_month():
    t = pd.DataFrame(
        {
            "period": ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4", "2026-Q3"],
            "level": ["rep"] * 4 + ["team"],
            "key": ["r1"] * 4 + ["T"],
            "target_amount": [100.0, 110.0, 120.0, 130.0, 999.0],
        }
    )
    q = pm.resolve_targets(t, "2026-Q3", "rep")
    assert q["target"].tolist() == [120.0] and q["target_basis"].iat[0] == "as set"
    assert pm.resolve_targets(t, "2026", "rep")["target"].item() == pytest.approx(460.0)
    assert pm.resolve_targets(t, "2026-08", "rep")["target"].item() == pytest.approx(40.0)
    assert pm.resolve_targets(t, "2026-Q3", "team")["target"].item() == 999.0
    assert pm.resolve_targets(t, "2027-Q1", "rep").empty


def test_rep_scorecard_by_hand():
    reps = pd.DataFrame(
        {"rep_id": ["a", "b"], "name": ["A", "B"], "team": ["T", "T"], "region": ["N", "S"]}
    )
    sales = pd.DataFrame(
        {"rep_id": ["a", "b"], "revenue": [90.0, 50.0], "avg_discount": [0.1, 0.2]}
    )
    prior = pd.DataFrame({"rep_id": ["a", "b"], "revenue": [60.0, 0.0]})
    tg = pd.DataFrame({"key": ["a"], "target": [120.0]})
    deals = pd.DataFrame(
        {"rep_id": ["a", "b"], "closed": [4, 0], "won": [3, 0], "cycle_days": [30.0, np.nan]}
    )
    card = pm.rep_scorecard(
        reps, sales, prior, tg, pd.DataFrame({"rep_id": ["a"], "new_customers": [2]}), deals
    )
    a, b = card.set_index("rep_id").loc["a"], card.set_index("rep_id").loc["b"]
    assert a["attainment"] == pytest.approx(0.75) and a["growth"] == pytest.approx(0.5)
    assert a["win_rate"] == pytest.approx(0.75) and a["new_customers"] == 2
    assert math.isnan(b["attainment"]) and math.isnan(b["growth"]) and math.isnan(b["win_rate"])
    team = pm.team_scorecard(card).iloc[0]
    assert team["revenue"] == 140.0 and team["target"] == 120.0
    assert team["avg_discount"] == pytest.approx((0.1 * 90 + 0.2 * 50) / 140)
    assert team["win_rate"] == pytest.approx(0.75)


def test_discount_breaches_by_role_with_override():
    d = pd.DataFrame(
        {
            "opportunity_id": ["o1", "o2", "o3", "o4", "o5"],
            "rep_id": "r",
            "role": ["rep", "rep", "senior", "intern", "manager"],
            "discount": [0.10, 0.13, 0.25, 0.15, np.nan],
        }
    )
    out = pm.discount_breaches(d)
    assert sorted(out["opportunity_id"]) == ["o2", "o3", "o4"]  # at the limit is compliant
    assert out["opportunity_id"].iat[-1] == "o2"  # largest excess first
    assert out.set_index("opportunity_id").loc["o4", "authority"] == 0.10  # unknown role: smallest
    assert (
        pm.discount_breaches(d, {"rep": 0.15, "senior": 0.30, "manager": 0.4})[
            "opportunity_id"
        ].tolist()
        == []
    )


def test_win_rate_funnel_flags_only_real_gaps():
    deals = pd.DataFrame(
        {
            "rep_id": ["big_low", "small_low", "ok1", "ok2", "ok3"],
            "closed": [200, 4, 200, 200, 200],
            "won": [40, 0, 90, 85, 95],
        }
    )
    f = pm.win_rate_funnel(deals).set_index("rep_id")
    p0 = 310 / 804
    assert f["pooled_rate"].iat[0] == pytest.approx(p0)
    assert f.loc["big_low", "status"] == "coach"  # 20 % on 200 deals vs ~39 %
    assert f.loc["small_low", "status"] == "within"  # 0 of 4 is noise
    assert f.loc["big_low", "lower998"] == pytest.approx(
        p0 - 3.0902 * math.sqrt(p0 * (1 - p0) / 200), abs=1e-4
    )


def test_territory_potential_and_fair_ranking():
    card = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "region": ["N", "N", "S"],
            "revenue": [80.0, 120.0, 50.0],
            "attainment": [0.8, 1.2, 0.5],
        }
    )
    market = pd.DataFrame(
        {
            "region": ["N", "N", "S"],
            "segment": ["SMB", "Ent", "SMB"],
            "market_size": [1000.0, 1000.0, 200.0],
        }
    )
    accounts = pd.DataFrame(
        {
            "rep_id": ["a", "b", "b", "c"],
            "segment": ["SMB", "SMB", "Ent", "SMB"],
            "accounts": [1, 3, 2, 5],
        }
    )
    pot = pm.territory_potential(card, market, accounts).set_index("rep_id")["potential"]
    assert pot.tolist() == pytest.approx([250.0, 750.0 + 1000.0, 200.0])
    r = pm.fair_ranking(card, pot.reset_index()).set_index("rep_id")
    # c: half of target but 25 % penetration vs the median 0.25 -> weak territory, not weak rep
    assert r.loc["c", "penetration"] == pytest.approx(0.25)
    assert r.loc["c", "reading"] == "weak territory, not a weak rep"
    assert r.loc["b", "reading"] == "on target, helped by a strong territory"
    even = pm.territory_potential(card).set_index("rep_id")[
        "potential"
    ]  # no market: region revenue per rep
    assert even.tolist() == pytest.approx([100.0, 100.0, 50.0])


@pytest.fixture()
def tiny_warehouse(tmp_path):
    path = tmp_path / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE reps AS SELECT * FROM (VALUES ('r1','A','T1','N','rep'), ('r2','B','T1','N','senior'))"
        " t(rep_id, name, team, region, role)"
    )
    con.execute(
        "CREATE TABLE products AS SELECT * FROM (VALUES ('p1','Software'), ('p2','Hardware')) t(product_id, category)"
    )
    con.execute("""CREATE TABLE orders AS SELECT order_id, line_no, CAST(order_date AS DATE) order_date, customer_id,
        rep_id, product_id, quantity, discount, net_amount, is_return FROM (VALUES
        ('o1', 1, '2026-07-05', 'c1', 'r1', 'p1', 10.0, 0.1, 60000.0, false),
        ('o1', 2, '2026-07-05', 'c1', 'r1', 'p2', 5.0, 0.0, 60000.0, false),
        ('o2', 1, '2026-08-01', 'c2', 'r1', 'p1', -2.0, 0.1, -6000.0, true),
        ('o3', 1, '2026-09-30', 'c3', 'r2', 'p2', 4.0, 0.2, 40000.0, false),
        ('o4', 1, '2026-10-01', 'c3', 'r2', 'p2', 4.0, 0.0, 99999.0, false),
        ('o5', 1, '2025-08-01', 'c2', 'r1', 'p2', 1.0, 0.0, 50000.0, false)
        ) t(order_id, line_no, order_date, customer_id, rep_id, product_id, quantity, discount, net_amount, is_return)""")
    con.execute("""CREATE TABLE opportunities AS SELECT opportunity_id, rep_id, CAST(created_date AS DATE) created_date,
        CAST(close_date AS DATE) close_date, amount, status, discount FROM (VALUES
        ('d1', 'r1', '2026-06-01', '2026-07-10', 100.0, 'won', 0.12),
        ('d2', 'r1', '2026-06-01', '2026-07-20', 100.0, 'lost', 0.30),
        ('d3', 'r2', '2026-06-01', '2026-08-01', 100.0, 'won', 0.20),
        ('d4', 'r2', '2026-06-01', '2026-10-02', 100.0, 'won', 0.50)
        ) t(opportunity_id, rep_id, created_date, close_date, amount, status, discount)""")
    con.close()
    return connect(str(path))


def test_payout_from_orders_by_hand(tiny_warehouse):
    p = parse_period("2026-Q3")
    f = Filters(p.start, p.end)
    lines = pq.commission_lines(tiny_warehouse, f)
    plan = inc.Plan(
        "p",
        0.03,
        (inc.Tier(0.5, 0.05), inc.Tier(1.0, 0.08)),
        cap_attainment=2.0,
        spiffs=(inc.Spiff(per_unit=5.0, category="Software"),),
    )
    st = inc.payout_statement(
        lines, pd.DataFrame({"rep_id": ["r1", "r2"], "target": [100_000.0, 100_000.0]}), plan
    ).set_index("rep_id")
    # r1: sales 120,000, returns 6,000 -> 5,600 - 280 + spiff 5 x (10 - 2) = 5,360
    assert st.loc["r1", "payout"] == pytest.approx(5_360.0)
    # r2: 40,000 in the quarter (the 1 October line is outside) -> 3 % x 40,000
    assert st.loc["r2", "payout"] == pytest.approx(1_200.0)
    sales = pq.rep_sales(tiny_warehouse, f).set_index("rep_id")
    assert sales.loc["r1", "revenue"] == pytest.approx(114_000.0)
    assert sales.loc["r1", "avg_discount"] == pytest.approx(0.1 * 60_000 / 120_000)
    new = pq.new_customers_by_rep(tiny_warehouse, f).set_index("rep_id")["new_customers"]
    assert new.to_dict() == {"r1": 1, "r2": 1}  # c2 bought in 2025, so only c1 and c3 are new


def test_breaches_and_deals_from_opportunities(tiny_warehouse):
    p = parse_period("2026-Q3")
    won = pq.won_deals_with_discount(tiny_warehouse, Filters(p.start, p.end))
    assert won["opportunity_id"].tolist() == ["d1", "d3"]  # d4 closes after the quarter
    assert pm.discount_breaches(won)["opportunity_id"].tolist() == [
        "d1"
    ]  # rep 12 % > 10 %; senior 20 % ok
    deals = pq.closed_deals_by_rep(tiny_warehouse, Filters(p.start, p.end)).set_index("rep_id")
    assert deals.loc["r1", ["closed", "won"]].tolist() == [2, 1]
    # cycle time of closed deals, won or lost: d1 39 days, d2 49 days
    assert deals.loc["r1", "cycle_days"] == pytest.approx((39 + 49) / 2)


def test_performance_truths_recovered_by_report(demo_report, demo_truths):
    check_truths(demo_report, demo_truths, "performance")


def test_performance_headlines_consistent(demo_report):
    found = json.loads((demo_report / "performance.json").read_text())
    assert found["attainment_company"] == pytest.approx(
        found["revenue_total"] / found["target_total"], rel=1e-4
    )
    assert found["cost_of_sales_pct"] == pytest.approx(
        found["payout_total"] / found["revenue_total"], rel=1e-4
    )
    payouts = pd.read_csv(demo_report / "performance-payouts.csv")
    assert payouts["payout"].sum() == pytest.approx(found["payout_total"], rel=1e-6)


# --------------------------------------------------------------------------- boundary cases
def test_ratios_and_growth_have_no_base_at_zero_or_below():
    assert pm.ratio(90.0, 120.0) == pytest.approx(0.75)
    assert pm.ratio(-60.0, 120.0) == pytest.approx(-0.5)  # returns above sales: a real figure
    assert pm.ratio(5.0, 0.0) is None and pm.ratio(5.0, -1.0) is None
    assert pm.ratio(float("nan"), 1.0) is None and pm.ratio(None, 1.0) is None
    assert pm.growth_rate(0.0, 100.0) == pytest.approx(-1.0)
    assert pm.growth_rate(100.0, 0.0) is None and pm.growth_rate(100.0, -50.0) is None


def test_a_partly_covered_last_year_is_flagged():
    p = parse_period("2025")
    assert pm.coverage_note(p, "2024-12-31", "2026-01-01") is None
    half = pm.coverage_note(p, "2025-07-01", "2026-09-30")
    assert "only partly in the data (50% of its days" in half and half.endswith("not compared")
    assert "has no data" in pm.coverage_note(p, "2026-02-01", "2026-09-30")
    end = pm.coverage_note(parse_period("2026-Q3"), "2020-01-01", "2026-08-31")
    assert "orders end on 2026-08-31" in end
    assert "no data" in pm.coverage_note(p, None, None)


def test_resolve_targets_for_all_and_a_range_and_a_partial_cover():
    from salesnb.model.periods import span_period

    t = pd.DataFrame(
        {
            "period": ["2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"],
            "level": "rep",
            "key": "r1",
            "target_amount": [10.0, 20.0, 30.0, 40.0],
        }
    )
    everything = span_period("2025-10-03", "2026-09-30")  # label "all": never parsed
    r = pm.resolve_targets(t, everything)
    assert r["target"].item() == 100.0 and r["target_basis"].item() == "sum of quarter targets"
    assert pm.resolve_targets(t, "2025-Q4..2026-Q2")["target"].item() == 60.0
    part = pm.resolve_targets(t, "2026-Q3..2027-Q2", whole_period=True)
    assert np.isnan(part["target"].item())
    assert pm.resolve_targets(t, "2026-Q3..2027-Q2")["target"].item() == 40.0  # old callers
    assert part["target_basis"].item().startswith("quarter targets cover 3 of the 12 months")
    # the reps' targets cover half the range: no target for the scope, not half of one
    reps = pd.DataFrame({"rep_id": ["r1"], "team": ["A"], "region": ["N"]})
    assert pm.scope_target(t, "2026-Q3..2027-Q2", reps=reps) is None
    # no company row: the reps' sum
    assert pm.scope_target(t, "2025-Q4..2026-Q2", reps=reps) == 60.0
    assert pm.targets_note(part).startswith("quarter targets cover 3")


def test_the_target_of_a_scope_by_hand():
    """metrics.performance.scope_target: the one rule the studies and the dashboards use."""
    from salesnb.model.filters import Filters

    t = pd.DataFrame(
        {
            "period": "2026-Q3",
            "level": ["company", "region", "team", "team", "rep", "rep", "rep"],
            "key": ["all", "N", "A", "B", "r1", "r2", "r3"],
            "target_amount": [1000.0, 600.0, 300.0, 200.0, 100.0, 150.0, 200.0],
        }
    )
    # team A spans regions N and S; team B lies in N
    reps = pd.DataFrame(
        {"rep_id": ["r1", "r2", "r3"], "team": ["A", "A", "B"], "region": ["N", "S", "N"]}
    )

    def target(**kw):
        return pm.scope_target(t, "2026-Q3", Filters(**kw), reps)

    assert target() == 1000.0 and target(region="N") == 600.0 and target(team="A") == 300.0
    assert target(region="S") == 150.0  # no S row: the sum of its reps' targets (r2)
    assert target(region="N", team="B") == 200.0  # the region leaves team B whole
    assert target(region="N", team="A") == 100.0  # it cuts team A: its reps in N (r1)
    assert pm.scope_target(t, "2026-Q3", Filters(region="N", team="A")) == 300.0  # no reps known
    assert target(channel="Online") is None and target(region="N", channel="Online") is None
    assert pm.no_target_reason(Filters(channel="Online")) == pm.NO_CHANNEL_TARGET
    assert pm.targets_note(None, Filters(channel="Online")) == pm.NO_CHANNEL_TARGET
    assert pm.scope_target(t, "2026-Q3..2026-Q4", None, reps) is None  # half the period planned
    assert pm.scope_target(None, "2026-Q3") is None


def test_scope_figures_at_zero_and_negative_totals():
    zero = pm.scope_figures(0.0, 100.0, 0.0)
    assert zero["attainment_company"] == 0.0 and zero["revenue_growth"] is None
    neg = pm.scope_figures(-300.0, 0.0, 200.0)
    assert (
        neg["attainment_company"] is None and neg["attainment_note"] == "the target is not positive"
    )
    assert neg["revenue_growth"] == pytest.approx(-2.5)
    partial = pm.scope_figures(
        50.0, float("nan"), 40.0, prior_note="last year only partly in the data"
    )
    assert partial["revenue_growth"] is None and partial["revenue_prior"] is None
    for f in (zero, neg, partial):
        text = pm.scope_markdown(f)
        assert "nan" not in text and "inf" not in text
    assert "growth not computable (last year only partly in the data)" in pm.scope_markdown(partial)


def test_fair_ranking_when_the_team_nets_zero_or_below():
    card = pd.DataFrame(
        {
            "rep_id": ["a", "b", "c"],
            "region": ["N", "N", "S"],
            "revenue": [-80.0, 0.0, -20.0],
            "attainment": [-0.8, 0.0, -0.2],
        }
    )
    pot = pm.territory_potential(card)  # region revenue per rep: negative, no base
    r = pm.fair_ranking(card, pot).set_index("rep_id")
    assert r["penetration"].isna().all() and r["potential_index"].isna().all()
    assert not np.isinf(r.select_dtypes("number").to_numpy()).any()
    assert (r["reading"] == "no net revenue across the team: not comparable").all()
    assert r.loc["b", "rank_attainment"] == 1.0  # ranking by attainment still holds


def test_performance_actions_without_computable_shares():
    card = pd.DataFrame({"rep_id": ["a"], "attainment": [np.nan]})
    plans = pd.DataFrame(
        {
            "plan": ["x", "y"],
            "expected_payout": [0.0, 0.0],
            "p90_payout": [0.0, 0.0],
            "cost_of_sales_pct": [np.nan, np.nan],
            "gini": [np.nan, np.nan],
        }
    )
    text = pm.performance_actions(card, plans=plans, attainment_company=None)
    assert "nan" not in text and "cost of sales not computable" in text


def test_performance_notebook_contract():
    import nbformat

    from salesnb import config

    nb = nbformat.read(config.NOTEBOOK_DIR / "06-performance.ipynb", as_version=4)
    assert sum("parameters" in c.metadata.get("tags", []) for c in nb.cells) == 1
    assert all(not c.get("outputs") for c in nb.cells if c.cell_type == "code")
