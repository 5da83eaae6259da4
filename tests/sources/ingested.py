"""Reading back what an ingest wrote, for the ingest tests."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd


def query(db: Path, sql: str):
    """Rows of ``sql`` on the warehouse ``db`` (read-only)."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(sql).fetchall()
    finally:
        con.close()


def quarantine(db: Path) -> pd.DataFrame:
    """The quarantine table, in table, file and line order."""
    con = duckdb.connect(str(db), read_only=True)
    try:
        return con.execute(
            "SELECT * FROM quarantine ORDER BY table_name, source_file, row_number"
        ).df()
    finally:
        con.close()
