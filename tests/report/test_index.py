"""The report's front page, read as a manager reads it: what to do first (ranked, each action
with its study, the people and accounts it names, the amount at stake and a link to the
evidence), then the alerts, then each study's headline figures under business names with
the change since the last period.

Checked on the demo's report (the shared ``demo_report``) and on a report of another shape
of company (``one_month``: a single month of history, so nothing to compare with), then on
the demo's index rewritten beside a previous period's report.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import duckdb
import pandas as pd
import pytest
from bs4 import BeautifulSoup
from shapes import NOT_A_NUMBER, build_shape

from salesnb import formatting, report
from salesnb.report import headlines
from salesnb.report.actions import PEOPLE_SEP
from salesnb.report.publish import TOP_ACTIONS, write_index

NETWORK_REF = re.compile(r"<(script|link|img)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)
RAW_LINK = re.compile(r"\.(json|csv|ipynb|xlsx)$")


def page(folder: Path) -> BeautifulSoup:
    return BeautifulSoup((folder / "index.html").read_text(encoding="utf-8"), "html.parser")


def visible_text(doc: BeautifulSoup) -> str:
    """What a reader sees, leaving out the links to raw data (``funnel.json``, CSVs)."""
    doc = BeautifulSoup(str(doc), "html.parser")
    for tag in doc(["style", "script", "title"]):
        tag.decompose()
    for a in doc("a", href=RAW_LINK):
        a.decompose()
    return doc.get_text(" ")


def load(folder: Path) -> dict:
    manifest = json.loads((folder / "manifest.json").read_text())
    alerts = json.loads((folder / "alerts.json").read_text())["alerts"]
    actions = pd.read_csv(folder / "actions.csv", encoding="utf-8-sig", dtype={"people": str})
    actions["people"] = actions["people"].fillna("")  # as collect_actions gives them
    return {"manifest": manifest, "alerts": alerts, "actions": actions}


def action_rows(doc: BeautifulSoup) -> list[dict]:
    rows = []
    for tr in doc.select("section#actions tr.action-row"):
        study = tr.select_one("td.source a.study")
        evidence = tr.select_one("td.source a.evidence")
        rows.append(
            {
                "rank": int(tr.select_one("td.rank").get_text(strip=True)),
                "action": tr.select_one("td.action").get_text(strip=True),
                "people": tr.select_one("td.people").get_text(strip=True),
                "amount": tr.select_one("td.amount").get_text(strip=True),
                "owner": tr.select_one("td.owner").get_text(strip=True),
                "due": tr.select_one("td.due").get_text(strip=True),
                "study": study.get_text(strip=True),
                "study_href": study["href"],
                "evidence_href": evidence["href"],
                "collapsed": tr.find_parent("details") is not None,
            }
        )
    return rows


def warehouse_names(path: Path) -> tuple[dict, set]:
    con = duckdb.connect(str(path), read_only=True)
    try:
        reps = dict(con.execute("SELECT rep_id, name FROM reps").fetchall())
        customers = dict(con.execute("SELECT customer_id, name FROM customers").fetchall())
    finally:
        con.close()
    return reps | customers, set(reps.values()) | set(customers.values())


def figure_rows(doc: BeautifulSoup) -> dict[str, list[dict]]:
    out = {}
    for tr in doc.select("section#studies tr.study-row"):
        out[tr["id"].removeprefix("study-")] = [
            {
                "name": li.select_one(".name").get_text(strip=True),
                "value": li.select_one(".value").get_text(strip=True),
                "arrow": (a.get_text(strip=True) if (a := li.select_one(".arrow")) else ""),
                "classes": li.select_one(".change")["class"],
                "change": li.select_one(".change").get_text(" ", strip=True),
            }
            for li in tr.select("li.figure")
        ]
    return out


def registered(sid: str, name: str, figures: dict, period: str) -> headlines.Figure:
    (f,) = [f for f in headlines.REGISTRY[sid] if headlines.figure_name(f, figures, period) == name]
    return f


# ---- checks shared by the demo and the other shape -------------------------------------


def check_order_and_actions(folder: Path) -> list[dict]:
    doc, run = page(folder), load(folder)
    m, actions = run["manifest"], run["actions"]
    sections = [s["id"] for s in doc.find_all("section")]
    assert sections[:3] == ["actions", "alerts", "studies"]
    assert doc.find("section")["id"] == "actions"

    rows = action_rows(doc)
    assert len(rows) == len(actions) > 0
    assert [r["rank"] for r in rows] == list(range(1, len(rows) + 1))
    assert [r["collapsed"] for r in rows] == [i >= TOP_ACTIONS for i in range(len(rows))]
    currency = m["parameters"]["common"]["currency"]
    titles = {s["id"]: s["title"] for s in m["studies"]}
    fired = {a["study"] for a in run["alerts"] if a["status"] == "alert"}
    csv_rows = actions.to_dict("records")
    for i, row in enumerate(csv_rows):
        row["order"] = i
    ranked = []
    for r in rows:  # each row of the page is a row of actions.csv, shown with its study
        match = next(c for c in csv_rows if c["action"] == r["action"] and "seen" not in c)
        match["seen"] = True
        ranked.append(match)
        assert r["study"] == titles[match["study"]]
        assert (r["owner"], r["due"]) == (match["owner"], match["due"])
        amount = match["amount_at_stake"]
        assert r["amount"] == (formatting.short_money(amount, currency) if amount > 0 else "—")
    # largest amount first; then the alerted studies' actions; then report order
    keys = [
        (
            pd.isna(c["amount_at_stake"]),
            -(c["amount_at_stake"] if c["amount_at_stake"] > 0 else 0),
            c["study"] not in fired,
        )
        for c in ranked
    ]
    assert keys == sorted(keys)
    for a, b in zip(ranked, ranked[1:], strict=False):
        if keys[ranked.index(a)] == keys[ranked.index(b)]:
            assert a["order"] < b["order"]
    return rows


def check_links(folder: Path, rows: list[dict]) -> None:
    files = {p.name for p in folder.iterdir()}
    for r in rows:
        assert r["study_href"] in files
        target, _, anchor = r["evidence_href"].partition("#")
        assert target in files, r
        named = [f for f in re.findall(r"[\w.-]+\.csv\b", r["action"]) if f in files]
        if named:  # the bullet names the list it comes from: the link opens it
            assert r["evidence_href"] == named[0]
        else:  # else the study page, at its "What to do" section
            assert target == r["study_href"] and anchor
            dest = BeautifulSoup((folder / target).read_text(encoding="utf-8"), "html.parser")
            assert "What to do" in dest.find(id=anchor).get_text()


def check_people(rows: list[dict], warehouse: Path) -> int:
    by_id, names = warehouse_names(warehouse)
    named = 0
    for r in rows:
        if r["people"] == "—":
            continue
        named += 1
        for p in r["people"].split(PEOPLE_SEP):
            m = re.fullmatch(r"(.+) \((\w+)\)", p)
            name, pid = (m[1], m[2]) if m else (p, None)
            assert name in names, f"{p!r} is no rep or customer of the warehouse"
            if pid:
                assert by_id[pid] == name and re.search(rf"\b{pid}\b", r["action"]), (p, r)
            else:
                assert name in r["action"], (p, r)
    return named


def check_figures(folder: Path) -> dict[str, list[dict]]:
    doc, run = page(folder), load(folder)
    text = visible_text(doc)
    assert not NOT_A_NUMBER.findall(text) and not re.search(r"\bNone\b", text)
    shown = figure_rows(doc)
    for s in run["manifest"]["studies"]:
        if s["status"] != "ok":
            continue
        figures = json.loads((folder / s["files"]["json"]).read_text())
        for key in figures:  # raw keys stay in the JSON, out of sight
            if "_" in key:
                assert not re.search(rf"\b{key}\b", text), f"{key} visible on the index"
        expected = [
            headlines.figure_name(f, figures, s["period"])
            for f in headlines.REGISTRY[s["id"]]
            if f.key in figures
        ]
        assert [f["name"] for f in shown[s["id"]]] == expected
    return shown


def check_arrows(folder: Path, shown: dict) -> int:
    """Every arrow matches the sign of the change it shows; returns how many there are."""
    run = load(folder)
    arrows = 0
    for s in run["manifest"]["studies"]:
        figures = json.loads((folder / s["files"]["json"]).read_text()) if s["files"] else {}
        for row in shown.get(s["id"], []):
            f = registered(s["id"], row["name"], figures, s["period"])
            if not row["arrow"]:
                assert not {"up", "down"} & set(row["classes"])
                continue
            arrows += 1
            change = re.search(r"[+-]\d[\d,.]*", row["change"])[0]
            sign = 1 if change.startswith("+") else -1
            assert row["arrow"] == ("▲" if sign > 0 else "▼"), row
            if isinstance(f.change, headlines.Change) and "vs same period" in row["change"]:
                assert sign * figures[f.change.key] > 0, row
            tone = "neutral" if f.good == 0 else ("good" if sign == f.good else "bad")
            assert tone in row["classes"], row
    return arrows


# ---- the demo --------------------------------------------------------------------------


def test_demo_index_opens_with_the_ranked_actions_linked_to_their_evidence(
    demo_report, demo_warehouse
):
    rows = check_order_and_actions(demo_report)
    check_links(demo_report, rows)
    assert check_people(rows, demo_warehouse) >= 3  # reps to coach, watch, review by name
    # the largest amount at stake leads, and it is the customers to call back
    assert rows[0]["amount"].endswith("USD") and rows[0]["evidence_href"].endswith(".csv")


def test_demo_index_shows_business_names_and_arrows_of_the_right_sign(demo_report):
    shown = check_figures(demo_report)
    assert [f["name"] for f in shown["funnel"]][:2] == ["Win rate", "Pipeline coverage"]
    assert shown["targets"][0]["name"].startswith("Proposed target for 20")
    assert shown["customers"][0]["name"] == "Customers at risk"
    # the changes the studies carry (vs the same period last year) have arrows
    assert check_arrows(demo_report, shown) >= 3
    # no previous report in this reports folder: the rest have no comparison
    funnel = shown["funnel"][0]
    assert funnel["arrow"] == "" and funnel["change"] == "—"


def test_demo_index_shows_the_fired_alerts_then_the_others_in_words(demo_report):
    doc, run = page(demo_report), load(demo_report)
    fired = [a for a in run["alerts"] if a["status"] == "alert"]
    section = doc.select_one("section#alerts")
    assert f"({len(fired)} fired)" in section.h2.get_text()
    top = section.find("table", recursive=False)
    messages = [tr.find_all("td")[1].get_text(strip=True) for tr in top.select("tr.alert-row")]
    assert messages == [a["message"] for a in fired]
    others = section.select("details tr.alert-row")
    assert len(others) == len(run["alerts"]) - len(fired)


def test_demo_index_keeps_the_period_files_and_is_readable_offline(demo_report):
    doc, run = page(demo_report), load(demo_report)
    html = (demo_report / "index.html").read_text(encoding="utf-8")
    assert not NETWORK_REF.findall(html) and "<script" not in html
    assert not doc.find("link", rel="stylesheet") and doc.style is not None
    m = run["manifest"]
    assert m["period"] in doc.h1.get_text() and m["period_reason"] in doc.header.get_text()
    hrefs = {a["href"] for a in doc.find_all("a")}
    assert {"actions.csv", "tables.xlsx", "manifest.json", "alerts.json"} <= hrefs
    assert {s["files"]["html"] for s in m["studies"]} <= hrefs
    assert set(m["artefacts"]) <= hrefs


# ---- the demo's index beside earlier reports ------------------------------------------


@pytest.fixture
def beside_previous(demo_report, tmp_path):
    """The demo report copied into a reports folder, and a fake report of the period before
    it whose every figure is 20% lower (so the changes are known)."""
    reports = tmp_path / "reports"
    now = reports / demo_report.name
    shutil.copytree(demo_report, now, ignore=shutil.ignore_patterns("*.ipynb", "index.html"))
    run = load(now)
    m = run["manifest"]
    before = json.loads(json.dumps(m))
    prev = {s["id"]: report_period_before(s["period"]) for s in m["studies"]}
    before["period"] = report_period_before(m["period"])
    for s in before["studies"]:
        s["period"] = prev[s["id"]]
    folder = reports / before["period"]
    folder.mkdir()
    for s in m["studies"]:
        figures = json.loads((now / s["files"]["json"]).read_text())
        lower = {
            k: v * 0.8 if isinstance(v, int | float) and not isinstance(v, bool) else v
            for k, v in figures.items()
        }
        (folder / s["files"]["json"]).write_text(json.dumps(lower))
    (folder / "manifest.json").write_text(json.dumps(before))
    return {"reports": reports, "now": now, "run": run, "before": before, "folder": folder}


def report_period_before(label: str) -> str:
    from salesnb.model.periods import parse_period

    return parse_period(label).previous().label


def test_figures_move_against_the_previous_periods_report(beside_previous):
    b = beside_previous
    run = b["run"]
    write_index(b["now"], run["manifest"], run["alerts"], run["actions"], b["reports"])
    shown = check_figures(b["now"])
    funnel = dict(zip([f.key for f in headlines.REGISTRY["funnel"]], shown["funnel"], strict=True))
    # win rate 20% higher than 0.8x: +x pp in points, green; the sales cycle longer: red
    win = funnel["win_rate"]
    assert win["arrow"] == "▲" and "good" in win["classes"]
    assert f"vs {b['before']['period']}" in win["change"] and "pp" in win["change"]
    cycle = funnel["median_cycle_days"]
    assert cycle["arrow"] == "▲" and "bad" in cycle["classes"] and "+25.0%" in cycle["change"]
    assert check_arrows(b["now"], shown) >= 20


def test_a_previous_report_of_another_scope_is_not_compared(beside_previous):
    b = beside_previous
    b["before"]["parameters"]["common"]["region"] = "North"
    (b["folder"] / "manifest.json").write_text(json.dumps(b["before"]))
    run = b["run"]
    write_index(b["now"], run["manifest"], run["alerts"], run["actions"], b["reports"])
    assert page(b["now"]).select_one("#study-funnel .change").get_text(strip=True) == "—"


def test_failed_and_skipped_studies_stay_visible_with_their_reason(beside_previous):
    b = beside_previous
    m = json.loads(json.dumps(b["run"]["manifest"]))
    failed, skipped = m["studies"][2], m["studies"][3]
    failed.update(status="failed", reason="ValueError: planted failure", headline={})
    skipped.update(status="skipped", reason="table tickets not in this warehouse", headline={})
    skipped["files"] = {}
    actions = b["run"]["actions"]
    actions = actions[~actions["study"].isin([failed["id"], skipped["id"]])]
    write_index(b["now"], m, b["run"]["alerts"], actions, b["reports"])
    doc = page(b["now"])
    for s, status in ((failed, "failed"), (skipped, "skipped")):
        row = doc.select_one(f"#study-{s['id']}")
        assert row.select_one(f".status.{status}") and s["reason"] in row.get_text()
        assert not row.select("li.figure")


# ---- another shape of company: one month of history -----------------------------------


@pytest.fixture(scope="module")
def one_month(shape_demo, tmp_path_factory):
    """The report of a company whose data starts on 2026-09-01, on 2026-09: no earlier
    period to compare with anywhere."""
    tmp = tmp_path_factory.mktemp("one-month")
    path, period = build_shape(shape_demo, tmp, "one_month")
    out = tmp / "reports"
    report.run_report(source=str(path), period=period, out=out, workers=2)
    (published,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return {"folder": published, "warehouse": path}


@pytest.mark.xdist_group("index-one-month")
def test_one_month_index_ranks_named_actions_and_shows_no_arrow(one_month):
    folder = one_month["folder"]
    rows = check_order_and_actions(folder)
    check_links(folder, rows)
    assert check_people(rows, one_month["warehouse"]) >= 1
    shown = check_figures(folder)
    changes = [f for figs in shown.values() for f in figs]
    assert changes and all(f["change"] == "—" and not f["arrow"] for f in changes)
    assert "▲" not in visible_text(page(folder)) and "▼" not in visible_text(page(folder))
