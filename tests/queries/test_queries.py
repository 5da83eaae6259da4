"""The query layer on a tiny hand-written warehouse; every answer computed by hand."""

from __future__ import annotations

from datetime import date

import duckdb
import pandas as pd
import pytest

from salesnb import queries as q
from salesnb.errors import InputError, ModelError, ParameterError
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries.warehouse import check_filters
from salesnb.sources import connect

Q3 = parse_period("2026-Q3")


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    path = tmp_path_factory.mktemp("tiny") / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """create table orders as select * from (values
 ('o1',1,date '2026-07-05','c1','r1','p1','Online','East','US',2.0,10.0,0.0,20.0,'USD',12.0,false),
 ('o1',2,date '2026-07-05','c1','r1','p2','Online','East','US',1.0,50.0,0.1,45.0,'USD',30.0,false),
 ('o2',1,date '2026-08-01','c1','r2','p1','Retail','West','US',1.0,10.0,0.0,10.0,'USD',6.0,false),
 ('o3',1,date '2026-09-10','c2','r2','p1','Retail','West','US',3.0,10.0,0.0,30.0,'USD',18.0,false),
 ('o4',1,date '2026-09-20','c1','r1','p1','Online','East','US',-1.0,10.0,0.0,-10.0,'USD',-6.0,true),
 ('o5',1,date '2026-06-20','c3','r1','p1','Online','East','US',1.0,10.0,0.0,10.0,'USD',6.0,false)
) t(order_id,line_no,order_date,customer_id,rep_id,product_id,channel,region,country,quantity,
    unit_price,discount,net_amount,currency,cost,is_return)"""
    )
    con.execute(
        "create table reps as select * from (values ('r1','A','Alpha','East',null,date '2020-01-01','rep'),"
        "('r2','B','Beta','West',null,date '2020-01-01','senior')) "
        "t(rep_id,name,team,region,manager_id,hire_date,role)"
    )
    con.execute(
        """create table opportunities as select * from (values
 ('d1','c1','r1','p1',date '2026-07-01',date '2026-08-01',100.0,'Closed','won',null,null,'web',0.0),
 ('d2','c2','r2','p1',date '2026-07-03',null,200.0,'Proposal','open',null,null,'web',0.0))
 t(opportunity_id,customer_id,rep_id,product_id,created_date,close_date,amount,stage,status,
   loss_reason,competitor,source,discount)"""
    )
    con.execute(
        """create table stage_history as select * from (values ('d1','Prospecting',date '2026-07-01'),
 ('d1','Proposal',date '2026-07-10'),('d1','Closed',date '2026-08-01'),
 ('d2','Prospecting',date '2026-07-03'),('d2','Proposal',date '2026-09-01'))
 t(opportunity_id,stage,entered_date)"""
    )
    con.close()
    src = connect(path)
    yield src
    src.close()


def test_revenue_by_month_and_channel(tiny):
    df = q.revenue_by(tiny, Filters(Q3.start, Q3.end), by=["month", "channel"])
    # July Online: 20 + 45; September Online is the return line only.
    got = {(r.month.month, r.channel): (r.revenue, r.margin, r.orders) for r in df.itertuples()}
    assert got == {
        (7, "Online"): (65.0, 23.0, 1),
        (8, "Retail"): (10.0, 4.0, 1),
        (9, "Online"): (-10.0, -4.0, 1),
        (9, "Retail"): (30.0, 12.0, 1),
    }


def test_revenue_by_without_distinct_counts_keeps_the_amounts(tiny):
    full = q.revenue_by(tiny, Filters(Q3.start, Q3.end), by=["month", "channel"])
    lean = q.revenue_by(tiny, Filters(Q3.start, Q3.end), by=["month", "channel"], distinct=False)
    assert "orders" not in lean.columns and "customers" not in lean.columns
    shared = [c for c in full.columns if c not in ("orders", "customers")]
    pd.testing.assert_frame_equal(lean, full[shared])


def test_period_excludes_june_and_team_filter_joins_reps(tiny):
    total = q.total_revenue(tiny, Filters(Q3.start, Q3.end))
    assert total == 95.0  # the June order (10) is outside Q3
    alpha = q.revenue_by(tiny, Filters(Q3.start, Q3.end, team="Alpha"), by=["team"])
    assert alpha[["team", "revenue", "customers"]].to_dict("records") == [
        {"team": "Alpha", "revenue": 55.0, "customers": 1}
    ]


def test_unknown_dimension_is_named(tiny):
    with pytest.raises(ModelError, match="unknown dimension 'colour'"):
        q.revenue_by(tiny, Filters(Q3.start, Q3.end), by=["colour"])


def test_customer_summary_lifetimes_convention(tiny):
    df = q.customer_summary(tiny, Filters(Q3.start, Q3.end)).set_index("customer_id")
    c1 = df.loc["c1"]
    # c1 bought on 07-05 and 08-01 (the 09-20 line is a return); as_of = 2026-09-30.
    assert (c1["frequency"], c1["recency"], c1["T"], c1["recency_days"]) == (1, 27.0, 87.0, 60)
    assert c1.revenue == 65.0  # 20 + 45 + 10 - 10
    assert c1.monetary_value == 10.0  # the one repeat purchase day
    assert df.loc["c3"].first_date == pd.Timestamp("2026-06-20")  # history before the period counts
    assert df.loc["c2"].frequency == 0 and df.loc["c2"].monetary_value == 0.0


def test_pipeline_snapshot_stage_on_date(tiny):
    snap = q.pipeline_snapshot(tiny, "2026-08-15")
    # d1 closed on 08-01, d2 still open and (on 08-15) in Prospecting, not its current Proposal.
    assert snap[["opportunity_id", "stage", "age_days"]].to_dict("records") == [
        {"opportunity_id": "d2", "stage": "Prospecting", "age_days": 43}
    ]


def test_stage_transitions_dwell(tiny):
    st = q.stage_transitions(tiny, Filters(Q3.start, Q3.end))
    d1 = st[st.opportunity_id == "d1"]
    assert d1.dwell_days.tolist()[:2] == [9, 22]
    assert d1.next_stage.tolist()[:2] == ["Proposal", "Closed"]


def test_filters_validated_against_known_values(tiny):
    check_filters(tiny, region="East", team="Beta", channel="Retail")
    with pytest.raises(
        ParameterError, match="unknown region 'Atlantis'; known values in orders, reps: East, West"
    ):
        check_filters(tiny, region="Atlantis")
    hostile = "East'; DROP TABLE orders; --"
    with pytest.raises(ParameterError):
        check_filters(tiny, region=hostile)
    # a hostile value used directly as a filter is a literal, not SQL: it matches nothing
    assert q.total_revenue(tiny, Filters(region=hostile)) == 0.0
    assert q.total_revenue(tiny, Filters()) == 105.0


def test_connect_errors_are_one_line(tmp_path):
    with pytest.raises(InputError, match="no such warehouse"):
        connect(tmp_path / "nope.duckdb")
    bad = tmp_path / "bad.duckdb"
    bad.write_bytes(b"not a database at all" * 100)
    with pytest.raises(InputError) as err:
        connect(bad)
    assert "\n" not in str(err.value)


def test_period_parsing():
    assert (Q3.start, Q3.end) == (date(2026, 7, 1), date(2026, 10, 1))
    assert parse_period("2026-09").last_day == date(2026, 9, 30)
    assert Q3.shift_years(-1).label == "2025-Q3"
    with pytest.raises(ParameterError, match="expected a quarter"):
        parse_period("Q3 2026")
