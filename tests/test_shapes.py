"""Every study on every shape: the whole report on warehouses a real department exports.

Each shape of ``tests/shapes.py`` (a subset of tables, all deals won or lost, one rep,
one month or one day of history, a period without rows, returns larger than sales,
optional columns absent, a range and the whole history) is derived from a small demo and
run through ``salesnb report``. On valid data no study may end ``failed``; a ``skipped``
study says why (the missing tables, or the period without rows), and no page shows
``nan`` or ``inf`` for a figure that cannot be computed.
"""

from __future__ import annotations

import json

import pytest
from shapes import NOT_A_NUMBER, SHAPES, build_shape, visible_text

from salesnb import report

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("shape", list(SHAPES))
def test_every_study_runs_or_says_why_on_every_shape(shape, shape_demo, tmp_path):
    path, period = build_shape(shape_demo, tmp_path, shape)
    out = tmp_path / "reports"
    code = report.run_report(source=str(path), period=period, out=out, workers=2)
    (published,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    manifest = json.loads((published / "manifest.json").read_text())
    failed = {s["id"]: s["reason"] for s in manifest["studies"] if s["status"] == "failed"}
    assert not failed, f"{shape}: studies failed on valid data: {failed}"
    assert code == 0
    for s in manifest["studies"]:
        if s["status"] == "skipped":
            assert s["reason"] and (
                "in this warehouse" in s["reason"]
                or s["reason"].startswith("no rows of")
                or s["reason"].startswith("no dated rows in")
            ), (shape, s["id"], s["reason"])
        else:
            assert s["period"] and s["period_reason"], (shape, s["id"])
            page = visible_text((published / s["files"]["html"]).read_text(encoding="utf-8"))
            bad = sorted(set(NOT_A_NUMBER.findall(page)))
            assert not bad, f"{shape}: {s['id']} page shows {bad}"
            figures = json.loads((published / f"{s['id']}.json").read_text())
            assert all(v == v for v in figures.values() if isinstance(v, float))
    ran = [s for s in manifest["studies"] if s["status"] == "ok"]
    assert ran or shape == "empty_period", f"{shape}: no study ran"
