"""As of a day, a study sees only what was known that day (issue 11, item 1).

The identity: the report run with ``--as-of D`` on the whole warehouse equals the report run
with ``--as-of D`` on a copy from which every row dated after D was deleted and every later
event undone — by the tests' own SQL (``tests/known.py``), independently of
``salesnb.sources.snapshot``.
Every study's ``<study>.json`` and every CSV it publishes must be identical, for a running
period and for an as-of date inside an earlier quarter.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import pytest
from known import truncate

from salesnb import report
from salesnb.sources import connect

pytestmark = pytest.mark.xdist_group("as_of")


def _outputs(folder) -> dict[str, object]:
    out = {}
    for p in sorted(folder.iterdir()):
        if p.suffix == ".json" and p.name not in ("manifest.json", "index.json"):
            out[p.name] = json.loads(p.read_text(encoding="utf-8"))
        elif p.suffix == ".csv":
            out[p.name] = p.read_bytes()
    return out


@pytest.mark.slow
@pytest.mark.parametrize(
    ("period", "as_of"),
    [("2026-Q3", "2026-08-15"), ("2025-Q4", "2025-11-03")],
    ids=["running-2026-Q3", "inside-2025-Q4"],
)
def test_a_study_as_of_a_day_equals_it_on_the_data_known_that_day(
    shape_demo, tmp_path, period, as_of
):
    cut = tmp_path / "known.duckdb"
    shutil.copy(shape_demo, cut)
    truncate(cut, as_of)
    whole = connect(shape_demo)
    try:  # the copy lost rows: the identity is not vacuous
        known = connect(cut)
        assert known.table("orders").count().execute() < whole.table("orders").count().execute()
        assert (
            known.table("opportunities")
            .status.value_counts()
            .execute()
            .set_index("status")
            .loc["open"]
            .iloc[0]
            > 0
        )
        known.close()
    finally:
        whole.close()

    runs = {}
    for name, source in (("whole", shape_demo), ("known", cut)):
        out = tmp_path / name
        code = report.run_report(
            source=str(source), period=period, params_kv=[f"as_of={as_of}"], out=out, workers=2
        )
        assert code == 0, name
        runs[name] = _outputs(out / period)
    whole_out, known_out = runs["whole"], runs["known"]
    assert set(whole_out) == set(known_out)
    studies_ran = [k for k in whole_out if k.endswith(".json")]
    assert len(studies_ran) >= 10, studies_ran
    for name in sorted(whole_out):
        assert whole_out[name] == known_out[name], f"{name} differs as of {as_of}"


def test_the_view_as_of_a_day_undoes_later_events(shape_demo):
    """A deal closed after the day is open on it, in the stage it had; later rows are gone."""
    src = connect(shape_demo)
    try:
        day = dt.date(2026, 8, 15)
        view = src.at(day)
        ops = src.table("opportunities").execute()
        later = ops[(ops.close_date.notna()) & (ops.close_date.dt.date > day)]
        later = later[later.created_date.dt.date <= day]
        assert len(later) > 0
        seen = view.table("opportunities").execute().set_index("opportunity_id")
        row = seen.loc[later.opportunity_id.iloc[0]]
        assert row.status == "open" and row.close_date is None or str(row.close_date) == "NaT"
        assert view.table("orders").order_date.max().execute().date() <= day
        assert view.table("stage_history").entered_date.max().execute().date() <= day
        # the original connection is unchanged
        assert src.table("orders").order_date.max().execute().date() > day
        assert src.at(None).as_of is None
    finally:
        src.close()
