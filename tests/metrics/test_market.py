"""Market metrics and queries on tiny hand-computed data."""

from __future__ import annotations

from datetime import date

import duckdb
import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from salesnb.errors import FitError
from salesnb.metrics import market as mm
from salesnb.model.filters import Filters
from salesnb.queries import market as qm
from salesnb.sources import connect


def test_market_share_table_and_period_labels():
    months = pd.Series(pd.to_datetime(["2026-07-01", "2026-08-01", "2026-10-01", "2025-01-01"]))
    labels = mm.label_dates(months, ["2026-Q3", "2026-Q4"])
    assert labels.tolist()[:3] == ["2026-Q3", "2026-Q3", "2026-Q4"] and pd.isna(labels.iloc[3])
    ours = pd.DataFrame(
        {"period": labels, "segment": ["E", "S", "E", "E"], "revenue": [10.0, 5.0, 20.0, 99.0]}
    )
    market = pd.DataFrame(
        {
            "period": ["2026-Q3", "2026-Q3", "2026-Q4"],
            "segment": ["E", "S", "E"],
            "market_size": [100.0, 50.0, 100.0],
        }
    )
    t = mm.market_share_table(ours, market, by=["period"])
    assert t.market_share.tolist() == [pytest.approx(15 / 150), pytest.approx(0.2)]
    assert mm.labels_within(
        ["2026-Q2", "2026-Q3", "2026-Q4", "2026"], date(2026, 7, 1), date(2027, 1, 1)
    ) == ["2026-Q3", "2026-Q4"]
    seg = mm.market_share_table(ours, market, by=["period", "segment"])
    assert mm.share_change(seg, ["2026-Q4"], ["2026-Q3"])["E"] == pytest.approx(0.1)


def test_competitor_shares():
    comp = pd.DataFrame({"competitor": ["N", "N", "G"], "competitor_sales": [20.0, 10.0, 10.0]})
    s = mm.competitor_shares(comp, pd.DataFrame({"market_size": [60.0, 40.0]}))
    assert s.competitor.tolist() == ["N", "G"] and s.share.tolist() == [0.3, 0.1]


def test_growth_share_quadrants():
    now = pd.DataFrame(
        {"category": ["A", "B", "C", "D", "E"], "revenue": [50.0, 30.0, 12.0, 5.0, 3.0]}
    )
    old = pd.DataFrame({"category": ["A", "B", "C", "D"], "revenue": [40.0, 32.0, 8.0, 6.0]})
    g = mm.growth_share(now, old).set_index("category")
    # company growth 100/86 - 1 = 16.3 %; large = share above 1/5
    assert g.loc["A", "growth"] == pytest.approx(0.25)
    assert g.quadrant.to_dict() == {
        "A": "star",
        "B": "cash cow",
        "C": "question mark",
        "D": "dog",
        "E": "new",
    }


def test_competitor_losses_and_dominant_competitor():
    lost = pd.DataFrame(
        {
            "segment": ["Ent", "Ent", "Ent", "SMB", "SMB"],
            "competitor": ["Northwind", "Globex", None, "Globex", "Northwind"],
            "lost": [30, 10, 10, 12, 8],
            "mean_discount": [0.05, 0.10, 0.10, 0.02, 0.02],
            "mean_amount": [1.0] * 5,
            "price_losses": [15, 2, 0, 0, 0],
        }
    )
    won = pd.DataFrame({"segment": ["Ent", "SMB"], "won": [20, 20], "mean_discount": [0.15, 0.02]})
    t = mm.competitor_losses(lost, won)
    ent = t[t.segment == "Ent"].set_index("competitor")
    assert ent.loc["Northwind", "share_of_named"] == pytest.approx(0.75)  # 30 of 40 named losses
    assert ent.loc["Northwind", "share_of_lost"] == pytest.approx(0.6)  # 30 of 50 losses
    assert ent.loc["Northwind", "price_loss_share"] == pytest.approx(0.5)
    # we won Enterprise deals at 15 % off, lost to Northwind at 5 % off: our price was 0.95/0.85 - 1 higher
    assert ent.loc["Northwind", "price_gap_pct"] == pytest.approx(0.95 / 0.85 - 1)
    d = mm.dominant_competitor(t, min_lost=20)
    assert (d["competitor"], d["segment"], d["share"]) == ("Northwind", "Ent", 0.75)
    # SMB (20 named losses) alone qualifies at min_lost=20 only with its Globex share 0.6 < 0.75
    assert mm.dominant_competitor(t, min_lost=100) == {}


def _cells(elasticity, noise_seed=None):
    rng = np.random.default_rng(noise_seed or 0)
    rows = []
    for p, base in (("p1", 2.0), ("p2", 5.0), ("p3", 1.0)):
        for disc in (0.0, 0.1, 0.2, 0.3):
            lines = 400
            mean = lines * base * (1 - disc) ** elasticity
            q = rng.poisson(mean) if noise_seed is not None else mean
            rows.append((p, np.log(1 - disc), lines, float(q)))
    rows.append(("p4", 0.0, 100, 300.0))  # one price only: no information on the slope
    return pd.DataFrame(rows, columns=["product_id", "log_price_ratio", "lines", "quantity"])


def test_price_elasticity_exact_on_noiseless_cells():
    r = mm.price_elasticity(_cells(-1.5))
    assert r["elasticity"] == pytest.approx(-1.5, abs=1e-8)
    assert r["products"] == 3 and r["cells"] == 12  # p4 dropped


def test_price_elasticity_equals_statsmodels_glm_with_product_dummies():
    cells = _cells(-1.2, noise_seed=3)
    r = mm.price_elasticity(cells)
    c = cells[cells.product_id != "p4"]
    exog = pd.concat([c[["log_price_ratio"]], pd.get_dummies(c.product_id, dtype=float)], axis=1)
    ref = sm.GLM(c.quantity, exog, family=sm.families.Poisson(), offset=np.log(c.lines)).fit(
        scale="X2"
    )
    lo, hi = ref.conf_int().loc["log_price_ratio"]
    assert r["elasticity"] == pytest.approx(ref.params["log_price_ratio"], abs=1e-7)
    assert r["ci_low"] == pytest.approx(lo, abs=1e-6) and r["ci_high"] == pytest.approx(
        hi, abs=1e-6
    )
    assert r["ci_low"] < -1.2 < r["ci_high"]


def test_price_elasticity_without_price_variation_raises_fit_error():
    with pytest.raises(FitError, match="more than one discount"):
        mm.price_elasticity(
            pd.DataFrame(
                {"product_id": ["a"], "log_price_ratio": [0.0], "lines": [3], "quantity": [5.0]}
            )
        )
    with pytest.raises(ValueError, match="lines"):
        mm.price_elasticity(
            pd.DataFrame({"product_id": ["a"], "log_price_ratio": [0.0], "quantity": [5.0]})
        )


def test_segment_strategy_rules():
    seg = pd.DataFrame(
        {
            "segment": ["Ent", "Mid", "SMB", "Gov"],
            "revenue": [50.0, 30.0, 20.0, 10.0],
            "growth": [0.05, 0.40, 0.10, 0.30],
            "share_change": [0.01, 0.02, 0.0, -0.01],
        }
    )
    threats = pd.DataFrame(
        {
            "segment": ["Ent", "Mid"],
            "competitor": ["Northwind", "Globex"],
            "share_of_named": [0.62, 0.3],
        }
    )
    s = mm.segment_strategy(seg, threats, threat_share=0.4).set_index("segment")
    assert s.action.to_dict() == {
        "Ent": "defend",
        "Gov": "defend",
        "Mid": "push",
        "SMB": "maintain",
    }
    assert "Northwind" in s.loc["Ent", "reason"]
    md = mm.market_actions(
        {
            "dominant_competitor": "Northwind",
            "dominant_competitor_segment": "Ent",
            "dominant_competitor_share": 0.62,
            "price_elasticity": -1.5,
            "price_elasticity_low": -1.6,
            "price_elasticity_high": -1.4,
        },
        s.reset_index(),
    )
    assert "Push: **Mid**" in md and "Northwind" in md and "price-elastic" in md


# --------------------------------------------------------------------------- queries on a tiny warehouse


@pytest.fixture
def tiny_shop(tmp_path):
    orders = pd.DataFrame(
        {
            "order_id": ["O1", "O1", "O2", "O3", "O4", "O5"],
            "line_no": [1, 2, 1, 1, 1, 1],
            "order_date": pd.to_datetime(
                ["2026-07-02", "2026-07-02", "2026-08-01", "2026-08-05", "2026-09-01", "2026-09-02"]
            ).date,
            "customer_id": ["C1", "C1", "C2", "C1", "C2", "C2"],
            "product_id": ["P1", "P1", "P1", "P2", "P1", "P1"],
            "quantity": [2.0, 4.0, 3.0, 1.0, 5.0, -1.0],
            "unit_price": [10.0] * 6,
            "discount": [0.0, 0.0, 0.2, 0.1, 0.204, 0.0],
            "net_amount": [20.0, 40.0, 24.0, 9.0, 39.8, -10.0],
            "is_return": [False, False, False, False, False, True],
        }
    )
    customers = pd.DataFrame({"customer_id": ["C1", "C2"], "segment": ["Enterprise", "SMB"]})
    opps = pd.DataFrame(
        {
            "opportunity_id": ["D1", "D2", "D3", "D4"],
            "customer_id": ["C1", "C1", "C2", "C1"],
            "close_date": pd.to_datetime(
                ["2026-07-10", "2026-08-10", "2026-08-11", "2026-09-01"]
            ).date,
            "status": ["lost", "lost", "lost", "won"],
            "competitor": ["Northwind", None, "Globex", None],
            "loss_reason": ["Price too high", "Timing", "Competitor", None],
            "discount": [0.05, 0.1, 0.0, 0.2],
            "amount": [100.0, 200.0, 50.0, 400.0],
        }
    )
    path = tmp_path / "shop.duckdb"
    con = duckdb.connect(str(path))
    for name, df in (("orders", orders), ("customers", customers), ("opportunities", opps)):
        con.register("x", df)
        con.execute(f"CREATE TABLE {name} AS SELECT * FROM x")
        con.unregister("x")
    con.close()
    src = connect(path)
    yield src
    src.close()


def test_price_cells_buckets_and_returns(tiny_shop):
    cells = qm.price_cells(tiny_shop, Filters(date(2026, 7, 1), date(2026, 10, 1))).set_index(
        ["product_id", "bucket"]
    )
    # P1 at 0 % off: lines O1/1, O1/2 (2 + 4 units); the return line is left out
    assert cells.loc[("P1", 0.0), ["quantity", "lines"]].tolist() == [6.0, 2]
    # 20 % and 20.4 % share the 0.20 bucket; the ratio is the lines' mean log(1 - discount)
    c = cells.loc[("P1", 0.2)]
    assert (c["quantity"], c["lines"]) == (8.0, 2)
    assert c["log_price_ratio"] == pytest.approx((np.log(0.8) + np.log(0.796)) / 2)
    assert len(cells) == 3


def test_competitor_loss_counts(tiny_shop):
    lost, won = qm.competitor_loss_counts(tiny_shop, Filters(date(2026, 7, 1), date(2026, 10, 1)))
    ent = lost[lost.segment == "Enterprise"].set_index(
        lost[lost.segment == "Enterprise"].competitor.fillna("-")
    )
    assert ent.loc["Northwind", "lost"] == 1 and ent.loc["Northwind", "price_losses"] == 1
    assert ent.loc["-", "lost"] == 1
    assert won.set_index("segment").loc["Enterprise", "mean_discount"] == pytest.approx(0.2)
    t = mm.competitor_losses(lost, won)
    assert t.set_index("competitor").loc["Northwind", "share_of_lost"] == pytest.approx(0.5)
    only_july = qm.competitor_loss_counts(tiny_shop, Filters(date(2026, 7, 1), date(2026, 8, 1)))[0]
    assert only_july.lost.sum() == 1


# --------------------------------------------------------------------------- boundary cases


def test_prior_year_coverage_and_the_note_when_it_is_partial():
    from salesnb.model.periods import parse_period

    q = parse_period("2025-Q3")  # 92 days
    full = (date(2023, 10, 1), date(2026, 9, 30))
    assert mm.period_coverage(q, *full) == 1.0 and mm.prior_gap(q, full) is None
    # data from 2025-08-01: August and September, 31 + 30 = 61 of 92 days
    late = (date(2025, 8, 1), date(2026, 9, 30))
    assert mm.period_coverage(q, *late) == pytest.approx(61 / 92)
    assert "only 66% covered" in mm.prior_gap(q, late)
    assert "needs orders from 2025-07-01" in mm.prior_gap(q, late)
    young = (date(2026, 2, 1), date(2026, 9, 30))
    assert mm.period_coverage(q, *young) == 0.0
    assert "has no data" in mm.prior_gap(q, young)
    # the whole history as the period: its year-earlier period is two-thirds covered
    prior = parse_period("2022-Q4..2025-Q3")
    assert mm.period_coverage(prior, *full) == pytest.approx(731 / 1096)
    assert mm.prior_gap(prior, None) == "Not compared with last year: no dated orders."
    assert mm.growth_rate(110.0, 100.0) == pytest.approx(0.1)
    assert mm.growth_rate(110.0, 0.0) is None and mm.growth_rate(-5.0, None) is None


def test_market_share_figures_flag_partial_or_negative_coverage():
    from salesnb.model.periods import parse_period

    t = pd.DataFrame(
        {
            "period": ["2025-Q3", "2026-Q2", "2026-Q3"],
            "revenue": [9.0, 10.0, 12.0],
            "market_size": [100.0, 100.0, 100.0],
        }
    )
    now, prior = parse_period("2026-Q3"), parse_period("2025-Q3")
    figures, notes = mm.share_figures(t, now, prior)
    assert figures["market_share"] == pytest.approx(0.12)
    assert figures["market_share_change"] == pytest.approx(0.03) and notes == []
    # a prior year that cannot be compared: no change, and the study already said why
    figures, notes = mm.share_figures(t, now, prior, prior_note="no orders a year earlier")
    assert "market_share_change" not in figures and notes == []
    # a half year of which the market table holds one quarter: share flagged, change left out
    h2, h2_prior = parse_period("2026-H1"), parse_period("2025-H1")
    figures, notes = mm.share_figures(t, h2, h2_prior)
    assert figures["market_share"] == pytest.approx(0.10)
    assert "measured on 2026-Q2 only (50% of the period)" in notes[0]
    assert "cover no market period inside 2025-H1" in notes[1]
    # returns above sales: a negative net revenue holds no share of the market
    neg = t.assign(revenue=[9.0, 10.0, -4.0])
    figures, notes = mm.share_figures(neg, now, prior)
    assert figures == {} and "-4.00 (returns above sales)" in notes[0]
    tbl = mm.market_share_table(
        pd.DataFrame({"period": ["q"], "revenue": [-4.0]}),
        pd.DataFrame({"period": ["q"], "market_size": [100.0]}),
    )
    assert np.isnan(tbl["market_share"].iloc[0])
    assert mm.labels_covered(["2025-Q4", "2026-Q1"], (date(2025, 11, 1), date(2026, 3, 31))) == [
        "2026-Q1"
    ]


def test_growth_share_needs_two_categories_and_positive_revenue():
    one = pd.DataFrame({"category": ["Tools"], "revenue": [5.0]})
    assert "only one product category (Tools)" in mm.growth_share_gap(one)
    neg = pd.DataFrame({"category": ["A", "B"], "revenue": [5.0, -9.0]})
    assert "-4.00 (returns above sales)" in mm.growth_share_gap(neg)
    assert "(no net sales)" in mm.growth_share_gap(neg.assign(revenue=[0.0, 0.0]))
    assert mm.growth_share_gap(neg.assign(revenue=[5.0, 1.0])) is None


def test_segment_strategy_without_last_year_pushes_nothing():
    seg = mm.segment_growth(pd.DataFrame({"segment": ["E", "S"], "revenue": [5.0, 3.0]}), None)
    assert seg["growth"].isna().all() and seg["prior_revenue"].isna().all()
    threats = pd.DataFrame({"segment": ["E"], "competitor": ["N"], "share_of_named": [0.5]})
    s = mm.segment_strategy(seg, threats).set_index("segment")
    assert s.action.to_dict() == {"E": "defend", "S": "maintain"}
    assert "growth unknown" in s.loc["S", "reason"]


def test_losses_note_says_what_would_name_the_competitors():
    lost = pd.DataFrame({"segment": ["E"], "competitor": [None], "lost": [1200]})
    assert "1,200 lost deals" in mm.losses_note(lost, 12, has_competitor=False)
    assert "names a competitor" in mm.losses_note(lost, 12, has_competitor=True)
    assert "No deal was lost" in mm.losses_note(lost.iloc[0:0], 6)


def test_market_charts_on_one_period_or_unknown_shares_print_no_nan():
    import matplotlib.pyplot as plt

    from salesnb.plots import market as mp

    one = pd.DataFrame({"period": ["2026-Q3"], "market_share": [0.125]})
    assert mp.share_trend(one).get_title() == "Our market share in 2026-Q3: 12.5%"
    unknown = pd.DataFrame({"competitor": ["N", "G"], "share": [np.nan, np.nan]})
    assert "nan" not in mp.competitor_bars(unknown).get_title()
    plt.close("all")
