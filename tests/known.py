"""The warehouse as known on a day, by the tests' own SQL (independent of
``salesnb.sources.snapshot``): used by the as-of identity tests of the studies, the deals
model and the dashboards."""

from __future__ import annotations

import datetime as dt
import shutil
from pathlib import Path

import duckdb
import pandas as pd

from salesnb.model.schema import DUCKDB_TYPES, TABLES


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
              status = 'open', close_date = NULL, loss_reason = NULL, competitor = NULL
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


def truncated_copy(src: Path, dst: Path, day: str) -> Path:
    """A copy of the warehouse at ``src`` as known at the end of ``day``."""
    shutil.copyfile(src, dst)
    truncate(dst, day)
    return dst


def create_table(con, table: str, rows) -> None:
    """Create canonical ``table`` in ``con`` (its schema's types) and insert ``rows`` (a dict
    of columns or records); columns the rows lack are NULL. For the tests' tiny warehouses."""
    t = TABLES[table]
    cols = ", ".join(f'"{c.name}" {DUCKDB_TYPES[c.type]}' for c in t.columns)
    con.execute(f'CREATE TABLE "{table}" ({cols})')
    df = pd.DataFrame(rows)
    con.register("_rows", df)
    select = ", ".join(f'"{c}"' if c in df.columns else "NULL" for c in t.column_names)
    con.execute(f'INSERT INTO "{table}" SELECT {select} FROM _rows')
    con.unregister("_rows")
