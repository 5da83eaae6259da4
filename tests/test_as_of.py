"""As of a day, a study sees only what was known that day (issue 11, item 1).

The identity: the report run with ``--as-of D`` on the whole warehouse equals the report run
with ``--as-of D`` on a copy from which every row dated after D was deleted and every later
event undone — written here in plain SQL, independently of ``salesnb.sources.snapshot``.
Every study's ``<study>.json`` and every CSV it publishes must be identical, for a running
period and for an as-of date inside an earlier quarter.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil

import duckdb
import pytest

from salesnb import report
from salesnb.sources import connect

pytestmark = pytest.mark.xdist_group("as_of")


def truncate(path, day: str) -> None:
    """Delete what happened after ``day`` from the warehouse at ``path`` (the test's own rule)."""
    d = f"DATE '{day}'"
    next_day = f"TIMESTAMP '{dt.date.fromisoformat(day) + dt.timedelta(days=1)}'"
    con = duckdb.connect(str(path))
    tables = {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }
    sql = [
        f"DELETE FROM orders WHERE order_date > {d}",
        f"DELETE FROM customers WHERE created_date > {d}",
        f"DELETE FROM products WHERE launch_date > {d}",
        f"DELETE FROM reps WHERE hire_date > {d}",
        # conversions into deals not yet created, then the deals and their stages
        f"UPDATE leads SET converted_opportunity_id = NULL WHERE converted_opportunity_id IN "
        f"(SELECT opportunity_id FROM opportunities WHERE created_date > {d})",
        f"DELETE FROM leads WHERE created_date > {d}",
        f"DELETE FROM stage_history WHERE opportunity_id IN "
        f"(SELECT opportunity_id FROM opportunities WHERE created_date > {d})",
        f"DELETE FROM opportunities WHERE created_date > {d}",
        f"DELETE FROM stage_history WHERE entered_date > {d}",
        f"""UPDATE opportunities o SET
              stage = coalesce((SELECT h.stage FROM stage_history h
                                WHERE h.opportunity_id = o.opportunity_id
                                ORDER BY h.entered_date DESC, h.stage DESC LIMIT 1), o.stage),
              status = 'open', close_date = NULL, loss_reason = NULL
            WHERE close_date > {d}""",
        f"DELETE FROM tickets WHERE opened_at >= {next_day}",
        f"UPDATE tickets SET first_response_at = NULL WHERE first_response_at >= {next_day}",
        f"UPDATE tickets SET resolved_at = NULL, csat = NULL WHERE resolved_at >= {next_day}",
        f"DELETE FROM surveys WHERE date > {d}",
        f"DELETE FROM trainings WHERE date > {d}",
        f"DELETE FROM pilots WHERE start_date > {d}",
        f"UPDATE pilots SET end_date = NULL WHERE end_date > {d}",
        f"DELETE FROM forecast_calls WHERE as_of > {d}",
    ]
    for stmt in sql:
        table = stmt.split()[2] if stmt.startswith("DELETE") else stmt.split()[1]
        if table in tables:
            con.execute(stmt)
    con.close()


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
