"""Global expansion metrics, by hand."""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest

from salesnb.metrics import expansion as em
from salesnb.model.periods import parse_period, span_period
from salesnb.queries import expansion as eq
from salesnb.queries.expansion import market_by_country
from salesnb.sources import connect


def frames():
    cur = pd.DataFrame(
        {
            "country": ["US", "CA", "MX"],
            "revenue": [800.0, 150.0, 50.0],
            "orders": [80, 10, 5],
            "customers": [40, 6, 2],
        }
    )
    pri = pd.DataFrame(
        {
            "country": ["US", "CA", "MX"],
            "revenue": [700.0, 100.0, 60.0],
            "orders": [70, 8, 6],
            "customers": [35, 5, 3],
        }
    )
    mkt = pd.DataFrame({"country": ["US", "CA", "MX"], "market_size": [4000.0, 3000.0, 500.0]})
    return cur, pri, mkt


def test_country_table_by_hand():
    t = em.country_table(*frames()).set_index("country")
    assert t.loc["CA", "growth"] == pytest.approx(0.5)
    assert t.loc["MX", "growth"] == pytest.approx(50 / 60 - 1)
    assert t.loc["US", "revenue_share"] == pytest.approx(0.8)
    assert t.loc["CA", "market_share"] == pytest.approx(0.05)
    assert t.loc["CA", "headroom"] == 2850.0
    assert t.loc["US", "avg_order_value"] == 10.0
    assert em.home_country(em.country_table(*frames())) == "US"


def test_ranking_prefers_big_untapped_growing_markets():
    t = em.country_table(*frames())
    r = em.expansion_ranking(t, home="US")
    # CA: headroom 2850 > 450, growth +50% > -17%, share 5% < 10% -> first on every criterion.
    assert r["country"].tolist() == ["CA", "MX"]
    # percentile ranks over two countries are 0.5 (lower) and 1.0 (higher):
    # CA = 0.5*1.0 + 0.3*1.0 + 0.2*(1-0.5); MX = 0.5*0.5 + 0.3*0.5 + 0.2*(1-1.0)
    assert r.loc[0, "score"] == pytest.approx(0.9)
    assert r.loc[1, "score"] == pytest.approx(0.4)
    text = em.what_to_do(t, r, "US")
    assert (
        "**20.0%** of revenue comes from outside US" in text and "**CA**" in text and "MX" in text
    )


def test_country_table_names_missing_columns():
    cur, pri, _ = frames()
    with pytest.raises(ValueError, match="current lacks column"):
        em.country_table(cur.drop(columns="orders"), pri)


def test_market_size_counted_once_per_cell(tmp_path):
    path = tmp_path / "m.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""create table market as select * from (values
      ('2026-Q3','West','UK','SMB',100.0,'A',10.0), ('2026-Q3','West','UK','SMB',100.0,'B',20.0),
      ('2026-Q3','West','UK','Ent',50.0,'A',5.0), ('2026-Q2','West','UK','SMB',90.0,'A',9.0),
      ('2026-Q3','East','CN','SMB',30.0,'A',1.0))
      t(period,region,country,segment,market_size,competitor,competitor_sales)""")
    con.execute(
        "create table orders (order_id varchar, line_no int, order_date date, customer_id varchar,"
        " quantity double, net_amount double)"
    )
    con.close()
    src = connect(path)
    m = market_by_country(src, parse_period("2026-Q3")).set_index("country")["market_size"]
    assert m.to_dict() == {"CN": 30.0, "UK": 150.0}  # not 250: competitor rows repeat the size
    year = market_by_country(src, parse_period("2026")).set_index("country")["market_size"]
    assert year["UK"] == 240.0
    month = market_by_country(src, parse_period("2026-08"), region="West")
    assert month["market_size"].tolist() == [50.0]
    src.close()


# --------------------------------------------------------------------------- boundary cases


def test_country_table_without_a_comparable_year_and_with_net_returns():
    cur, _, mkt = frames()
    cur = cur.assign(revenue=[800.0, -50.0, 0.0])  # CA: returns above sales; MX: nothing net
    t = em.country_table(cur, None, mkt.assign(country=["US", "CA", "UK"])).set_index("country")
    assert t["growth"].isna().all() and t["revenue_prior"].isna().all()
    assert np.isnan(t.loc["CA", "market_share"])  # a negative net revenue holds no share
    assert t.loc["CA", "headroom"] == 3000.0  # ... and leaves the whole market open
    # UK: a market we sold nothing in -> zero revenue, orders, customers and share
    assert t.loc["UK", ["revenue", "orders", "customers", "market_share"]].tolist() == [0, 0, 0, 0]
    assert t.loc["UK", "revenue_share"] == 0.0
    neg = em.country_table(cur.assign(revenue=[-1.0, -2.0, 0.0]), None)
    assert neg["revenue_share"].isna().all()
    # no country with positive revenue: the home market is the one with the most orders
    assert em.home_country(neg) == "US"
    text = em.what_to_do(neg, em.expansion_ranking(neg, "US"), "US")
    assert "nan" not in text and "comes from outside" not in text
    assert "rests on nothing measured" in text
    h = em.expansion_headline(neg, em.expansion_ranking(neg, "US"), "US")
    assert "intl_revenue_share" not in h and "fastest_growing_country" not in h


def test_market_weights_for_every_kind_of_period():
    labels = ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2", "2026-Q3"]
    assert eq.market_weights(parse_period("2026-H1"), labels) == (
        {"2026-Q1": 1.0, "2026-Q2": 1.0},
        1.0,
    )
    w, covered = eq.market_weights(parse_period("2025-Q3..2026-Q2"), labels)
    assert sorted(w) == ["2025-Q3", "2025-Q4", "2026-Q1", "2026-Q2"] and covered == 1.0
    # a range of months cutting through quarters: 2 of 2025-Q4's months, 1 of 2026-Q1's
    w, covered = eq.market_weights(parse_period("2025-11..2026-01"), labels)
    assert w == pytest.approx({"2025-Q4": 2 / 3, "2026-Q1": 1 / 3}) and covered == 1.0
    # the whole history from 2025-01: the market table holds 15 of its 21 months
    p = span_period("2025-01-05", "2026-09-30")
    assert eq.market_weights(p, labels)[1] == pytest.approx(15 / 21)
    assert eq.market_weights(parse_period("2024"), labels) == ({}, 0.0)
