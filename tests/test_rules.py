"""One definition per business rule, checked where it matters: the same warehouse with its
deal statuses spelled ``Won`` / ``LOST`` / `` Open`` gives the same figures in every study as
one spelling ``won`` / ``lost`` / ``open`` (salesnb.queries.deal_status)."""

from __future__ import annotations

import json
import shutil

import duckdb
import pytest

from salesnb import report

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
