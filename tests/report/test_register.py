"""The action register (issue 15 item 6): the report's actions kept in the warehouse, matched
run after run, closed when the data shows them done, listed and closed by hand with
``salesnb actions``.

The rules are checked on small hand-made registers; the whole loop on two consecutive real
report runs over a copy of the demo warehouse, with one stuck deal closed in between.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import shutil

import duckdb
import pandas as pd
import pytest

from salesnb import cli, report
from salesnb.model.periods import last_complete_quarter, parse_period
from salesnb.report import register
from salesnb.report import register_rules as rules

D1, D2 = dt.date(2026, 7, 3), dt.date(2026, 10, 2)


# ----------------------------------------------------------------------------- the rules
KNOWN = pd.DataFrame(
    {
        "kind": ["rep", "rep", "deal", "deal", "deal"],
        "id": ["R1", "R2", "OP1", "OP2", "OP3"],
        "name": ["Lena Baker", "Felix Quint", None, None, None],
        "namesakes": [1, 1, 0, 0, 0],
    }
)


def _actions(*rows) -> pd.DataFrame:
    return pd.DataFrame(
        [
            {"study": s, "action": a, "owner": "Sales manager", "amount_at_stake": m, "due": "d"}
            for s, a, m in rows
        ]
    )


def _raise(*rows, scope="") -> pd.DataFrame:
    return rules.entries(_actions(*rows), KNOWN, scope, "USD")


STUCK_1 = ("deals", "Review the 12 stuck deals (1.2M USD), biggest first (OP1, OP2, OP3).", 1.2e6)
STUCK_2 = ("deals", "Review the 9 stuck deals (0.9M USD), biggest first (OP2, OP3).", 0.9e6)
COACH = ("funnel", "Coach Lena Baker, Felix Quint: their win rate is below the team's.", None)
COVERAGE_1 = ("funnel", "Pipeline coverage is 5.0x (≥ 3x): focus on conversion.", None)
COVERAGE_2 = ("funnel", "Pipeline coverage is 4.2x (≥ 3x): focus on conversion.", None)


def test_an_action_gives_one_entry_per_subject_with_ids_that_ignore_the_numbers():
    first = _raise(STUCK_1, COACH, COVERAGE_1)
    assert list(first["subject"]) == ["deal:OP1", "deal:OP2", "deal:OP3", "rep:R1", "rep:R2", ""]
    assert list(first["people"][3:5]) == ["Lena Baker", "Felix Quint"]
    assert first["id"].is_unique
    # the next run's sentences carry other numbers and other deals: same ids where the subject
    # and the kind are the same
    again = _raise(STUCK_2, COVERAGE_2)
    assert set(again["id"]) == set(first["id"][[1, 2, 5]])
    # another scope (a region's report) is another entry
    east = _raise(COVERAGE_1, scope="region=East")
    assert east["id"][0] != first["id"][5]


def _run(period, day, studies=("deals", "funnel"), scope=""):
    return rules.Run(period, day, scope, frozenset(studies))


def _by_subject(table: pd.DataFrame, study: str) -> dict:
    return {r["subject"]: r for r in table.to_dict("records") if r["study"] == study}


def test_the_next_run_keeps_first_seen_and_closes_only_what_the_data_shows_cleared():
    one = rules.reconcile(None, _raise(STUCK_1, COACH, COVERAGE_1), _run("2026-Q2", D1), {})
    assert set(one["status"]) == {"open"} and set(one["first_seen"]) == {D1}
    # run 2: OP1 is lost, OP2/OP3 still stuck; no one to coach; coverage raised again
    raised = _raise(STUCK_2, COVERAGE_2)
    two = rules.reconcile(one, raised, _run("2026-Q3", D2), {"OP1": "lost", "OP2": "open"})
    deals, funnel = _by_subject(two, "deals"), _by_subject(two, "funnel")
    assert (deals["deal:OP1"]["status"], deals["deal:OP1"]["reason"]) == ("done", "deal-lost")
    assert deals["deal:OP1"]["closed_on"] == D2
    for s in ("deal:OP2", "deal:OP3"):
        assert deals[s]["status"] == "open"
        assert (deals[s]["first_seen"], deals[s]["last_seen"]) == (D1, D2)
        assert (deals[s]["period"], deals[s]["last_period"]) == ("2026-Q2", "2026-Q3")
        assert "9 stuck deals" in deals[s]["action"]  # the latest wording
    # the coaching rule no longer fires for anyone: both reps done
    assert {funnel[s]["reason"] for s in ("rep:R1", "rep:R2")} == {"not-raised"}
    assert (funnel[""]["status"], funnel[""]["first_seen"]) == ("open", D1)


def test_a_subject_left_out_of_a_list_the_study_still_raises_stays_open():
    one = rules.reconcile(None, _raise(COACH), _run("2026-Q2", D1), {})
    only_lena = ("funnel", "Coach Lena Baker: their win rate is below the team's.", None)
    two = rules.reconcile(one, _raise(only_lena), _run("2026-Q3", D2), {})
    assert _by_subject(two, "funnel")["rep:R2"]["status"] == "open"  # lists name the first few


@pytest.mark.parametrize(
    ("why", "run"),
    [
        ("the study did not run", _run("2026-Q3", D2, studies=("deals",))),
        ("another scope", _run("2026-Q3", D2, scope="region=East")),
        ("an earlier period", _run("2026-Q1", D2)),
    ],
)
def test_an_action_is_not_closed_by_a_run_that_cannot_judge_it(why, run):
    one = rules.reconcile(None, _raise(COACH), _run("2026-Q2", D1), {})
    two = rules.reconcile(one, _raise(), run, {})
    assert set(two["status"]) == {"open"}, why


def test_statuses_set_by_hand_stay_and_a_deal_reopened_by_the_data_is_open_again():
    one = rules.reconcile(None, _raise(STUCK_1, COACH), _run("2026-Q2", D1), {})
    one.loc[one["subject"] == "rep:R1", ["status", "reason"]] = ["dropped", "by-hand"]
    one.loc[one["subject"] == "deal:OP2", ["status", "reason"]] = ["done", "by-hand"]
    one.loc[one["subject"] == "deal:OP3", ["status", "reason"]] = ["done", "deal-won"]
    two = rules.reconcile(one, _raise(STUCK_1, COACH), _run("2026-Q3", D2), {})
    got = {r["subject"]: (r["status"], r["reason"]) for r in two.to_dict("records")}
    assert got["rep:R1"] == ("dropped", "by-hand")
    assert got["deal:OP2"] == ("done", "by-hand")
    assert got["deal:OP3"] == ("open", "raised-again")


def test_the_index_lists_the_open_entries_of_earlier_periods_oldest_first():
    one = rules.reconcile(None, _raise(STUCK_1), _run("2026-Q1", D1), {})
    two = rules.reconcile(one, _raise(COACH), _run("2026-Q2", D1, studies=("funnel",)), {})
    q3 = _run("2026-Q3", D2, studies=("deals",))
    three = rules.reconcile(two, _raise(STUCK_2), q3, {"OP1": "won"})
    listed = rules.still_open_earlier(three, q3, _raise(STUCK_2)["id"])
    got = [(e["subject"], e["period"], e["raised_again"]) for e in listed]
    assert set(got[:2]) == {("deal:OP2", "2026-Q1", True), ("deal:OP3", "2026-Q1", True)}
    assert set(got[2:]) == {("rep:R1", "2026-Q2", False), ("rep:R2", "2026-Q2", False)}


# ------------------------------------------------------- two real runs on the demo warehouse
def _register(path) -> pd.DataFrame:
    con = duckdb.connect(str(path), read_only=True)
    try:
        return con.sql("select * from actions").df()
    finally:
        con.close()


def _csv_actions(folder) -> pd.DataFrame:
    return pd.read_csv(folder / "actions.csv", encoding="utf-8-sig")


def _report(wh, out, period, day, monkeypatch) -> tuple[int, str]:
    monkeypatch.setattr(register, "_today", lambda: day)
    stream = io.StringIO()
    code = report.run_report(
        source=str(wh), period=period, only=["deals"], out=out, workers=1, stream=stream
    )
    return code, stream.getvalue()


@pytest.mark.slow
def test_two_consecutive_runs_follow_the_actions_up(demo_warehouse, tmp_path, monkeypatch, capsys):
    monkeypatch.delenv(register.ENV_VAR, raising=False)
    wh = tmp_path / "warehouse.duckdb"
    shutil.copy(demo_warehouse, wh)
    con = duckdb.connect(str(wh))
    con.execute("drop table if exists actions")  # what other tests' reports recorded there
    data_end = con.sql("select max(order_date) from orders").fetchone()[0]
    con.close()
    p2 = last_complete_quarter(data_end)
    p1 = parse_period(f"{(p2.start - dt.timedelta(days=1)).year}-Q{(p2.start.month - 2) // 3 + 1}")
    assert p1.end == p2.start

    # run 1: every action of actions.csv is in the register, open, first seen today
    code, log = _report(wh, tmp_path / "out", p1.label, D1, monkeypatch)
    assert code == 0, log
    assert "action register:" in log
    one, csv1 = _register(wh), _csv_actions(tmp_path / "out" / p1.label)
    assert set(one["action"]) == set(csv1["action"]) and len(csv1)
    assert set(one["status"]) == {"open"} and set(one["period"]) == {p1.label}
    assert one["id"].is_unique and set(one["first_seen"].dt.date) == {D1}
    # one entry per deal the stuck-deals bullet names (read from the sentence itself)
    stuck = next(a for a in csv1["action"] if "stuck deals" in a)
    named = re.findall(r"\bOP\d+\b", stuck)
    deal_rows = one[one["subject"].str.startswith("deal:")]
    assert sorted(deal_rows["subject"]) == sorted(f"deal:{d}" for d in named)

    # a named deal that is still open gets lost before run 2
    con = duckdb.connect(str(wh))
    still_open = [
        d
        for d in named
        if con.execute("select status from opportunities where opportunity_id = ?", [d]).fetchone()[
            0
        ]
        == "open"
    ]
    assert still_open, "no deal of run 1 is still open in the demo"
    closed = still_open[0]
    con.execute(
        "update opportunities set status = 'lost', close_date = ?, loss_reason = 'No decision' "
        "where opportunity_id = ?",
        [data_end, closed],
    )
    con.close()

    # run 2, the next period
    code, log = _report(wh, tmp_path / "out", p2.label, D2, monkeypatch)
    assert code == 0, log
    two, csv2 = _register(wh), _csv_actions(tmp_path / "out" / p2.label)
    two = two.set_index("id")
    gone = two.loc[two["subject"] == f"deal:{closed}"].iloc[0]
    assert (gone["status"], gone["reason"]) == ("done", "deal-lost")
    assert gone["closed_on"].date() == D2
    assert re.search(r"\b[1-9]\d* marked done", log), log
    # what run 2 raised again is open, first seen in run 1, last seen in run 2
    again = two[(two["last_seen"].dt.date == D2) & (two["first_seen"].dt.date == D1)]
    assert set(again["action"]) <= set(csv2["action"])
    assert set(again["status"]) == {"open"} and set(again["period"]) == {p1.label}
    assert set(again["last_period"]) == {p2.label}
    assert len(again), "run 2 raised none of run 1's actions again"
    # every action of run 2 is in the register
    assert set(csv2["action"]) <= set(two["action"])
    # nothing of run 1 was lost; the other run-1 entries are open or closed with a reason
    assert set(one["id"]) <= set(two.index)
    closed_now = two.loc[list(one["id"])].query("status != 'open'")
    assert set(closed_now["reason"]) <= {"deal-won", "deal-lost", "not-raised"}

    # the index lists the entries still open from run 1's period, and not the lost deal
    page = (tmp_path / "out" / p2.label / "index.html").read_text(encoding="utf-8")
    section = page.split('<section id="still-open">', 1)[1].split("</section>", 1)[0]
    listed = set(re.findall(r'id="action-([0-9a-f]{8})"', section))
    expected = set(two[(two["status"] == "open") & (two["period"] == p1.label)].index)
    assert expected and listed == expected and gone.name not in listed

    # salesnb actions lists them; --done / --drop close one by hand; an unknown id is one line
    capsys.readouterr()
    assert cli.main(["actions", "--source", str(wh)]) == 0
    shown = capsys.readouterr().out
    open_ids = list(two[two["status"] == "open"].index)
    assert all(i in shown for i in open_ids) and gone.name not in shown
    assert cli.main(["actions", "--source", str(wh), "--done", open_ids[0]]) == 0
    assert cli.main(["actions", "--source", str(wh), "--drop", open_ids[1].upper()]) == 0
    after = _register(wh).set_index("id")
    assert after.loc[open_ids[0], ["status", "reason"]].tolist() == ["done", "by-hand"]
    assert after.loc[open_ids[1], ["status", "reason"]].tolist() == ["dropped", "by-hand"]
    capsys.readouterr()
    assert cli.main(["actions", "--source", str(wh), "--done", "nosuchid"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "nosuchid" in err[0] and str(wh) in err[0]


def test_a_warehouse_that_cannot_be_written_leaves_the_report_alone(tmp_path, monkeypatch):
    """The register's failure is one line; nothing raises (a read-only or busy warehouse)."""
    reg = register.Register(source=str(tmp_path / "absent.duckdb"), run=_run("2026-Q3", D2))
    out = io.StringIO()
    assert reg.save(out) is None
    line = out.getvalue().strip().splitlines()
    assert len(line) == 1 and "absent.duckdb" in line[0]
