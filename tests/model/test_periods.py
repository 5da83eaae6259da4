"""Periods as departments name them: ranges, halves, fiscal years, ``all``; and the default
period each study picks from its own tables, with the reason shown to the reader."""

from __future__ import annotations

from datetime import date

import duckdb
import pytest

from salesnb import studies
from salesnb.errors import ParameterError
from salesnb.model.periods import fiscal_year_start, parse_period, span_period
from salesnb.queries.warehouse import (
    check_filters,
    default_period_why,
    known_values,
    resolve_period,
)
from salesnb.sources import connect


@pytest.mark.parametrize(
    "label, start, end, months",
    [
        ("2026-Q3", date(2026, 7, 1), date(2026, 10, 1), 3),
        ("2026-09", date(2026, 9, 1), date(2026, 10, 1), 1),
        ("2026-H2", date(2026, 7, 1), date(2027, 1, 1), 6),
        ("2026", date(2026, 1, 1), date(2027, 1, 1), 12),
        ("2017-06..2018-12", date(2017, 6, 1), date(2019, 1, 1), 19),
        ("2025-Q3..2026-Q2", date(2025, 7, 1), date(2026, 7, 1), 12),
        ("2024..2025", date(2024, 1, 1), date(2026, 1, 1), 24),
        ("2026-Q1..2026-05", date(2026, 1, 1), date(2026, 6, 1), 5),
    ],
)
def test_calendar_periods_and_ranges(label, start, end, months):
    p = parse_period(label)
    assert (p.start, p.end, p.months) == (start, end, months)
    assert p.label == label


def test_a_range_steps_back_by_its_own_length_and_a_year():
    p = parse_period("2025-Q3..2026-Q2")
    assert p.previous().label == "2024-Q3..2025-Q2"
    assert p.shift_years(-1).label == "2024-Q3..2025-Q2"
    assert parse_period("2017-06..2018-12").previous().label == "2015-11..2017-05"
    assert parse_period("2024..2025").next().label == "2026..2027"


def test_bad_labels_name_the_grammar():
    for bad in ("Q3 2026", "2026-13", "2026-Q2..2025-Q1", "FY26"):
        with pytest.raises(ParameterError, match="period"):
            parse_period(bad)


def test_fiscal_year_from_the_environment(monkeypatch):
    monkeypatch.setenv("SALESNB_FISCAL_YEAR_START", "4")
    fy = parse_period("FY2026")
    assert (fy.start, fy.end) == (date(2025, 4, 1), date(2026, 4, 1))  # named by its end year
    q1 = parse_period("FY2026-Q1")
    assert (q1.start, q1.end) == (date(2025, 4, 1), date(2025, 7, 1))
    q4 = parse_period("FY2026-Q4")
    assert (q4.start, q4.end) == (date(2026, 1, 1), date(2026, 4, 1))
    assert parse_period("FY2026-H2").start == date(2025, 10, 1)
    assert q1.previous().label == "FY2025-Q4" and q4.next().label == "FY2027-Q1"
    assert q1.shift_years(-1).start == date(2024, 4, 1)
    r = parse_period("FY2025..FY2026")
    assert (r.start, r.end, r.months) == (date(2024, 4, 1), date(2026, 4, 1), 24)
    # a range of fiscal quarters steps like any range
    r = parse_period("FY2026-Q1..FY2026-Q4")
    assert (r.start, r.end) == (date(2025, 4, 1), date(2026, 4, 1))
    assert r.shift_years(-1).start == date(2024, 4, 1) and r.previous().end == date(2025, 4, 1)
    assert r.next().start == date(2026, 4, 1)


def test_fiscal_year_from_the_project_settings_file(monkeypatch, tmp_path):
    from salesnb.model import periods

    monkeypatch.delenv("SALESNB_FISCAL_YEAR_START", raising=False)
    (tmp_path / "salesnb.yaml").write_text("fiscal_year_start: 7\n")
    monkeypatch.chdir(tmp_path)
    periods._settings_start.cache_clear()
    assert fiscal_year_start() == 7
    assert parse_period("FY2026").start == date(2025, 7, 1)
    (tmp_path / "salesnb.yaml").write_text("fiscal_year_start: 13\n")
    periods._settings_start.cache_clear()
    with pytest.raises(ParameterError, match="salesnb.yaml: fiscal_year_start: '13'"):
        fiscal_year_start()
    periods._settings_start.cache_clear()


def test_a_calendar_fiscal_year_is_the_calendar_year(monkeypatch):
    monkeypatch.setenv("SALESNB_FISCAL_YEAR_START", "1")
    assert parse_period("FY2026").start == date(2026, 1, 1)
    assert parse_period("FY2026-Q3").label == "FY2026-Q3"
    assert parse_period("FY2026-Q3").start == date(2026, 7, 1)


def test_span_period_covers_whole_months():
    p = span_period("2016-10-20", "2017-12-31")
    assert (p.start, p.end, p.months) == (date(2016, 10, 1), date(2018, 1, 1), 15)
    assert p.kind == "all" and p.label == "2016-Q4..2017-Q4"
    assert parse_period(p.label).start == p.start  # the label parses like any range


@pytest.fixture()
def mixed(tmp_path):
    """Orders to 2026-09-30, leads only to 2026-05-10, opportunities to 2026-09-15;
    a channel that appears only in leads, a region only in customers."""
    path = tmp_path / "w.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders AS SELECT * FROM (VALUES "
        "('O1', 1, DATE '2025-11-03', 'C1', 'R1', 'Web', 'East', 10.0),"
        "('O2', 1, DATE '2026-09-30', 'C2', 'R1', 'Web', 'East', 20.0)) "
        "t(order_id, line_no, order_date, customer_id, rep_id, channel, region, net_amount)"
    )
    con.execute(
        "CREATE TABLE leads AS SELECT * FROM (VALUES "
        "('L1', DATE '2025-12-01', 'Ads', 'Webinar', NULL),"
        "('L2', DATE '2026-05-10', 'Ads', 'Webinar', 'P1')) "
        "t(lead_id, created_date, source, channel, converted_opportunity_id)"
    )
    con.execute(
        "CREATE TABLE opportunities AS SELECT * FROM (VALUES "
        "('P0', 'C1', 'R1', DATE '2026-01-15', DATE '2026-02-15', 50.0, 'Lost', 'lost'),"
        "('P1', 'C1', 'R1', DATE '2026-05-12', DATE '2026-09-15', 100.0, 'Won', 'won')) "
        "t(opportunity_id, customer_id, rep_id, created_date, close_date, amount, stage, status)"
    )
    con.execute(
        "CREATE TABLE customers AS SELECT * FROM (VALUES ('C1', 'West'), ('C2', 'East')) "
        "t(customer_id, region)"
    )
    con.close()
    return path


def test_the_default_period_holds_data_in_the_study_s_own_tables(mixed):
    src = connect(str(mixed))
    p, why = default_period_why(src, tables=studies.STUDIES["channels"].dated_tables)
    assert p.label == "2026-Q3" and "orders" in why and "2026-09-30" in why
    # the funnel reads leads too, which end in May: the last complete quarter with leads is Q1
    p, why = default_period_why(src, tables=studies.STUDIES["funnel"].dated_tables)
    assert p.label == "2026-Q1" and "leads" in why
    # a leads-only question gets the last quarter with leads
    assert default_period_why(src, tables=("leads",))[0].label == "2026-Q1"
    # as_of wins over the data
    assert default_period_why(src, as_of="2026-08-15")[0].label == "2026-Q2"


def test_no_complete_quarter_falls_back_to_the_whole_history(tmp_path):
    path = tmp_path / "short.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders AS SELECT 'O1' order_id, 1 line_no, DATE '2026-08-02' order_date, "
        "'C1' customer_id, 5.0 net_amount UNION ALL SELECT 'O2', 1, DATE '2026-08-20', 'C1', 7.0"
    )
    con.close()
    p, why = default_period_why(connect(str(path)), tables=("orders",))
    assert (p.kind, p.label, p.start, p.end) == (
        "all",
        "2026-08",
        date(2026, 8, 1),
        date(2026, 9, 1),
    )
    assert "no complete quarter" in why


def test_all_resolves_to_the_whole_history(mixed):
    src = connect(str(mixed))
    p = resolve_period(src, "all")
    assert (p.start, p.end) == (date(2025, 11, 1), date(2026, 10, 1))
    assert resolve_period(src, "ALL", tables=("leads",)).end == date(2026, 6, 1)


def test_filters_resolve_against_every_table_carrying_the_column(mixed):
    src = connect(str(mixed))
    known = known_values(src)
    assert known["channel"] == ["Web", "Webinar"]  # Webinar only in leads
    assert known["region"] == ["East", "West"]  # West only in customers
    assert known_values(src, where=True)["channel"]["Webinar"] == ["leads"]
    check_filters(src, channel="Webinar", region="West")
    with pytest.raises(ParameterError) as exc:
        check_filters(src, channel="Retail")
    assert "known values in orders, leads: Web, Webinar" in str(exc.value)


def test_the_report_gives_each_study_its_period_and_says_why(mixed):
    from salesnb import report

    plan = report.plan_report(source=str(mixed), only=["channels", "funnel"])
    got = {j.study.id: (j.period, j.period_reason) for j in plan.jobs}
    assert got["channels"][0] == "2026-Q3" and got["funnel"][0] == "2026-Q1"
    assert "leads" in got["funnel"][1]
    assert plan.jobs[0].parameters["period"] == "2026-Q3"
    # an explicit range applies to every study, with the reason "given"
    plan = report.plan_report(source=str(mixed), period="2025-Q4..2026-Q2", only=["funnel"])
    assert plan.period.label == "2025-Q4..2026-Q2" and plan.jobs[0].period_reason.startswith(
        "given"
    )
    # a period without rows in the study's tables is skipped with the data's own range
    plan = report.plan_report(source=str(mixed), period="2021", only=["channels"])
    assert plan.jobs[0].status == "skipped"
    assert plan.jobs[0].reason == "no rows of orders in 2021 (orders from 2025-11-03 to 2026-09-30)"
