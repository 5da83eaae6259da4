"""One definition per business rule (issue 13), checked where it matters:

- deal status (``salesnb.queries.deal_status``): the same warehouse with its deal statuses
  spelled ``Won`` / ``LOST`` / `` Open`` gives the same figures in every study as one spelling
  ``won`` / ``lost`` / ``open``;
- the target of a scope (``salesnb.metrics.performance.scope_target``): the performance study
  and the executive board agree on every kind of scope, a channel having none;
- the day a running period is seen at (``salesnb.model.periods.as_of_day`` of
  ``salesnb.queries.warehouse.data_end``): the funnel study and the board measure the same
  open pipeline and coverage.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from salesnb import report
from salesnb.model.filters import Filters
from salesnb.model.periods import as_of_day, parse_period
from salesnb.queries.warehouse import data_end
from salesnb.sources import connect

pytestmark = pytest.mark.slow
DEAL_STUDIES = ["funnel", "performance", "market", "risk", "experiments", "deals"]


def _figures(path, out):
    code = report.run_report(source=str(path), only=DEAL_STUDIES, out=out, workers=2)
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert code == 0, [(s["id"], s["reason"]) for s in manifest["studies"]]
    return {
        s["id"]: json.loads((folder / f"{s['id']}.json").read_text())
        for s in manifest["studies"]
        if s["status"] == "ok"
    }


def test_deal_status_spelling_does_not_change_any_figure(shape_demo, tmp_path):
    spelled = tmp_path / "spelled.duckdb"
    shutil.copyfile(shape_demo, spelled)
    con = duckdb.connect(str(spelled))
    con.execute(
        "UPDATE opportunities SET status = CASE status WHEN 'won' THEN 'Won' "
        "WHEN 'lost' THEN 'LOST' ELSE ' Open' END"
    )
    assert con.execute("SELECT count(*) FROM opportunities WHERE status = 'won'").fetchone() == (0,)
    con.close()
    plain = _figures(shape_demo, tmp_path / "plain")
    other = _figures(spelled, tmp_path / "spelled")
    assert set(plain) == set(other) and len(plain) >= 5
    for study, figures in plain.items():
        assert other[study] == figures, study
    assert plain["funnel"]["won_deals"] > 0 and plain["funnel"]["win_rate"] > 0


# -- the target of a scope (metrics.performance.scope_target) -------------------------------------
def _one_study(path, out, study, period=None, **params):
    code = report.run_report(
        source=str(path),
        only=[study],
        period=period,
        out=out,
        params_kv=[f"{k}={v}" for k, v in params.items()],
        workers=1,
    )
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert code == 0, [(s["id"], s["reason"]) for s in manifest["studies"]]
    alerts = json.loads((folder / "alerts.json").read_text())["alerts"]
    fired = {a["key"] for a in alerts if a["status"] == "alert"}
    return manifest["period"], json.loads((folder / f"{study}.json").read_text()), fired


def _board_figures(path, filters, as_of=None):
    """The executive board's figures for ``filters`` by both readers (live queries, cubes)."""
    from salesnb import dashboards

    src = connect(path)
    try:
        live = dashboards.executive_figures(src, filters, as_of)
        cubes = dashboards.figures_from(dashboards.CubeReader(src), filters, as_of)
    finally:
        src.close()
    for key, value in live.items():
        assert cubes[key] == (pytest.approx(value) if isinstance(value, float) else value), key
    return live


def test_the_target_of_a_scope_is_one_rule_in_the_study_and_the_dashboards(shape_demo, tmp_path):
    """Targets are set per company, region, team and rep, never per channel: the performance
    study and the executive board give each scope the same target (or none), by hand here."""
    path = tmp_path / "targets.duckdb"
    shutil.copyfile(shape_demo, path)
    con = duckdb.connect(str(path))
    # no region target for West (the reps' sum stands in); one East A rep moved to North (a
    # region filter that cuts the team: the team's target is not the scope's)
    con.execute("DELETE FROM targets WHERE level = 'region' AND key = 'West'")
    (moved,) = con.execute("SELECT max(rep_id) FROM reps WHERE team = 'East A'").fetchone()
    con.execute("UPDATE reps SET region = 'North' WHERE rep_id = ?", [moved])
    (channel,) = con.execute("SELECT min(channel) FROM orders").fetchone()
    con.close()

    def rep_sum(period, where, args):
        sql = (
            "SELECT sum(target_amount) FROM targets WHERE level = 'rep' AND period = ? AND key IN "
            f"(SELECT rep_id FROM reps WHERE {where})"
        )
        with duckdb.connect(str(path), read_only=True) as c:
            return c.execute(sql, [period, *args]).fetchone()[0]

    def team_target(period, team):
        sql = "SELECT target_amount FROM targets WHERE level = 'team' AND period = ? AND key = ?"
        with duckdb.connect(str(path), read_only=True) as c:
            return c.execute(sql, [period, team]).fetchone()[0]

    views = {
        "rep sum": ({"region": "West"}, lambda p: rep_sum(p, "region = 'West'", [])),
        "team in its region": (
            {"region": "South", "team": "South A"},
            lambda p: team_target(p, "South A"),
        ),
        "team cut by the region": (
            {"region": "East", "team": "East A"},
            lambda p: rep_sum(p, "team = 'East A' AND region = 'East'", []),
        ),
        "moved rep": (
            {"region": "North", "team": "East A"},
            lambda p: rep_sum(p, "rep_id = ?", [moved]),
        ),
        "channel": ({"channel": channel}, lambda p: None),
    }
    for name, (params, expected) in views.items():
        label, perf, fired = _one_study(
            path, tmp_path / name.replace(" ", "-"), "performance", **params
        )
        period = parse_period(label)
        want = expected(label)
        board = _board_figures(path, Filters(period.start, period.end, **params))
        if want is None:  # a channel: no target, no attainment, no alert about it
            assert perf.get("target_total") is None and board["target"] is None, name
            assert perf.get("attainment_company") is None and board["attainment"] is None
            assert not perf.get("reps_below_70pct") and "attainment_company" not in fired
            continue
        assert perf["target_total"] == pytest.approx(want) == board["target"], name
        assert perf["attainment_company"] == pytest.approx(board["attainment"], abs=1e-6), name


# -- the day a running period is seen at (model.periods.as_of_day + queries.warehouse.data_end) ---
def test_a_running_period_is_seen_at_the_end_of_the_data_by_the_funnel_study_and_the_board(
    shape_demo, tmp_path
):
    """A warehouse ending mid-quarter: the funnel study and the executive board measure the
    open pipeline on the same day (the end of the data), against the same target."""
    from known import truncate

    from salesnb.dashboards import current_period

    src = connect(shape_demo)
    quarter = current_period(src)
    src.close()
    day = quarter.start + dt.timedelta(days=45)
    path = tmp_path / "running.duckdb"
    shutil.copyfile(shape_demo, path)
    truncate(path, day.isoformat())
    with duckdb.connect(str(path), read_only=True) as c:
        (channel,) = c.execute("SELECT min(channel) FROM orders").fetchone()
    for params in ({}, {"channel": channel}):
        out = tmp_path / ("channel" if params else "all")
        label, funnel, _ = _one_study(path, out, "funnel", period=quarter.label, **params)
        board = _board_figures(path, Filters(quarter.start, quarter.end, **params))
        assert label == quarter.label and board["as_of"] == day.isoformat()
        for key in ("open_pipeline", "pipeline_coverage", "win_rate", "won_amount"):
            assert funnel[key] == pytest.approx(board[key], rel=1e-9, abs=1e-6), (params, key)
        assert (funnel["won_deals"], funnel["closed_deals"]) == (
            board["deals_won"],
            board["closed_deals"],
        )
        # running: the quarter's own target still to win; a channel has none (the won amount)
        basis = "won amount in scope" if params else f"target {quarter.label}"
        assert funnel["coverage_basis"] == board["coverage_basis"] == basis


def test_the_end_of_the_data_is_the_last_event_recorded(tmp_path):
    path = tmp_path / "events.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        "CREATE TABLE orders AS SELECT * FROM (VALUES ('o1', DATE '2026-08-10', 10.0)) "
        "t(order_id, order_date, net_amount)"
    )
    # d1 closed (won) on 08-15, after the last order; d2's close date is only expected
    con.execute(
        """CREATE TABLE opportunities AS SELECT * FROM (VALUES
        ('d1', DATE '2026-07-01', DATE '2026-08-15', 'Won'),
        ('d2', DATE '2026-08-01', DATE '2026-12-01', 'open'))
        t(opportunity_id, created_date, close_date, status)"""
    )
    con.close()
    src = connect(path)
    assert data_end(src) == dt.date(2026, 8, 15)
    assert data_end(src.at("2026-08-12")) == dt.date(2026, 8, 10)  # d1 was still open then
    assert data_end(src.at("2026-07-15")) == dt.date(2026, 7, 1)
    q3 = parse_period("2026-Q3")
    assert as_of_day(q3, None, data_end(src)) == dt.date(2026, 8, 15)
    src.close()
