"""``salesnb report --per team``: each team's report in its own folder, with that team's
numbers only (checked against SQL on the warehouse, and by looking for any other team's reps
in every file of the folder)."""

from __future__ import annotations

import json
import re
import subprocess
import sys

import pytest

from salesnb import config
from salesnb.report.per_team import run_per_team, team_folder, team_folders
from salesnb.sources import connect

TEAMS = ["North A", "South B"]
STUDIES = ["channels", "performance"]


@pytest.fixture(scope="module")
def per_team(demo_warehouse, tmp_path_factory):
    out = tmp_path_factory.mktemp("per-team")
    code = run_per_team(
        "team", teams=TEAMS, source=str(demo_warehouse), out=out, only=STUDIES, workers=2
    )
    return out / "teams", code


@pytest.fixture(scope="module")
def reps(demo_warehouse):
    src = connect(demo_warehouse)
    try:
        return src.con.con.execute("select rep_id, name, team from reps").fetchall()
    finally:
        src.close()


def _period_folder(root, team):
    folders = [p for p in (root / team_folder(team)).iterdir() if not p.name.startswith(".")]
    assert len(folders) == 1, folders
    return folders[0]


def _revenue_by_sql(warehouse, team: str | None, start: str, end: str) -> float:
    src = connect(warehouse)
    try:
        (value,) = src.con.con.execute(
            "select sum(o.net_amount) from orders o join reps r using (rep_id) "
            "where (r.team = ? or ? is null) "
            "and o.order_date >= cast(? as date) and o.order_date < cast(? as date)",
            [team, team, start, end],
        ).fetchone()
    finally:
        src.close()
    return float(value)


def test_each_team_gets_its_own_folder(per_team):
    root, code = per_team
    assert code == 0
    listed = json.loads((root / "teams.json").read_text())["teams"]
    assert [(t["team"], t["folder"], t["exit_code"]) for t in listed] == [
        ("North A", "north-a", 0),
        ("South B", "south-b", 0),
    ]
    assert sorted(p.name for p in root.iterdir() if p.is_dir()) == ["north-a", "south-b"]
    for team in TEAMS:
        manifest = json.loads((_period_folder(root, team) / "manifest.json").read_text())
        assert manifest["parameters"]["common"]["team"] == team
        assert {s["id"]: s["status"] for s in manifest["studies"]} == dict.fromkeys(STUDIES, "ok")


@pytest.mark.parametrize("team", TEAMS)
def test_a_team_folder_has_its_team_numbers(per_team, demo_warehouse, team):
    root, _code = per_team
    folder = _period_folder(root, team)
    manifest = json.loads((folder / "manifest.json").read_text())
    want = _revenue_by_sql(
        demo_warehouse, team, manifest["period_start"], manifest["period_end_exclusive"]
    )
    company = _revenue_by_sql(
        demo_warehouse, None, manifest["period_start"], manifest["period_end_exclusive"]
    )
    assert 0 < want < company / 2  # one team of several
    for study in STUDIES:
        shown = json.loads((folder / f"{study}.json").read_text())["revenue_total"]
        assert shown == pytest.approx(want, rel=1e-9), study


@pytest.mark.parametrize("team", TEAMS)
def test_no_other_team_is_in_a_team_folder(per_team, reps, team):
    """Not a rep id, a rep name or a team name of another team, in any file of the folder."""
    root, _code = per_team
    others = {t for _r, _n, t in reps if t != team}
    words = {r for r, _n, t in reps if t != team} | {n for _r, n, t in reps if t != team and n}
    words |= others
    mine = {r for r, _n, t in reps if t == team}
    pattern = re.compile(r"\b(" + "|".join(re.escape(w) for w in sorted(words)) + r")\b")
    found_mine = False
    for path in (root / team_folder(team)).rglob("*"):
        if not path.is_file() or path.suffix not in (".html", ".csv", ".json", ".ipynb"):
            continue
        text = path.read_text(encoding="utf-8-sig", errors="replace")
        hit = pattern.search(text)
        assert hit is None, f"{path.name} shows {hit.group(0)!r} of another team"
        found_mine = found_mine or any(re.search(rf"\b{re.escape(r)}\b", text) for r in mine)
    assert found_mine  # the check above looked at files that do name the team's reps


def test_team_folders_never_collide():
    assert team_folders(["North A", "华北一组"]) == {"North A": "north-a", "华北一组": "华北一组"}
    with pytest.raises(Exception, match="would share the folder north-a"):
        team_folders(["North A", "north-a"])


def _salesnb(*args):
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *args],
        capture_output=True,
        text=True,
        cwd=str(config.PROJECT_ROOT),
        timeout=120,
    )


@pytest.mark.parametrize(
    "args, words",
    [
        (["--per", "region"], ["--per 'region'", "team"]),
        (["--per", "team", "-p", "team=North A"], ["leave out -p team="]),
    ],
)
def test_bad_per_options_are_one_line(demo_warehouse, tmp_path, args, words):
    r = _salesnb("report", "--source", str(demo_warehouse), "--out", str(tmp_path), *args)
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    for w in words:
        assert w in lines[0]
