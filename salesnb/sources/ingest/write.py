"""The warehouse side of an ingest: what is already in it, and the atomic write.

The new warehouse is built in a temporary copy next to it and swapped in with
``os.replace`` (:func:`salesnb.fileio.atomic_replace`) only when everything succeeded, so
a failed ingest leaves it byte-for-byte as it was.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pandas as pd

from salesnb.errors import InputError
from salesnb.fileio import atomic_replace
from salesnb.model.schema import DUCKDB_TYPES, TABLES
from salesnb.model.validate import coerce_column, quiet_connect
from salesnb.sql import quote_ident

QUARANTINE_COLUMNS = {
    "table_name": "VARCHAR",
    "source_file": "VARCHAR",
    "row_number": "BIGINT",
    "column_name": "VARCHAR",
    "reason": "VARCHAR",
    "raw": "VARCHAR",
    # error: the row (or lookup line) was not loaded; warning: the row was loaded with the
    # named value left empty (an unresolved link, a value outside a closed set).
    "severity": "VARCHAR",
}


def _existing(path: Path):
    """Read-only view of the warehouse being loaded into (None when new)."""

    if not path.exists():
        return None
    if Path(str(path) + ".wal").exists():
        raise InputError(
            f"{path}: the warehouse has an unfinished write (a .wal file); is another program writing to it?"
        )
    try:
        return quiet_connect(str(path), read_only=True)
    except Exception as exc:
        msg = str(exc).splitlines()[0]
        raise InputError(f"{path}: not a DuckDB warehouse ({msg})") from exc


def _existing_tables(con) -> set[str]:
    if con is None:
        return set()
    return {
        r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
    }


def _existing_keys(con, table: str, columns: list[str]):
    cols = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    if not all(c in cols for c in columns):
        return None
    df = con.execute(
        f"SELECT {', '.join(quote_ident(c) for c in columns)} FROM {quote_ident(table)}"
    ).df()
    t = TABLES[table]
    typed = pd.DataFrame({c: coerce_column(df[c], t.column(c).type).values for c in columns})
    if len(columns) == 1:
        return pd.Index(typed[columns[0]].dropna().unique())
    return pd.MultiIndex.from_frame(typed)


def write_warehouse(
    into: Path,
    accepted: dict[str, pd.DataFrame],
    table_cols: dict[str, list[str]],
    quarantine: list[dict],
    append: bool,
    replaced: list[str] | None = None,
    settings: dict[str, str] | None = None,
) -> None:
    """Build the new warehouse in a temporary copy and swap it in atomically.

    ``settings`` (the mapping's whole-export ``currency``) are kept in ``salesnb_settings``
    (key, value), where ``salesnb.queries.warehouse.default_currency`` finds them."""
    into.parent.mkdir(parents=True, exist_ok=True)
    try:
        with atomic_replace(into, tag="ingest", sidecars=(".wal",)) as tmp:
            if into.exists():
                shutil.copyfile(into, tmp)
            con = quiet_connect(str(tmp))
            try:
                _fill(con, accepted, table_cols, quarantine, append, replaced, settings)
            finally:
                con.close()
    except InputError:
        raise
    except Exception as exc:
        raise write_failed(into, exc) from exc


def _fill(
    con,
    accepted: dict[str, pd.DataFrame],
    table_cols: dict[str, list[str]],
    quarantine: list[dict],
    append: bool,
    replaced: list[str] | None,
    settings: dict[str, str] | None,
) -> None:
    """Write the accepted tables, the quarantine rows and the settings in one transaction."""
    import pyarrow as pa

    con.execute("BEGIN TRANSACTION")
    present = _existing_tables(con)
    for table, df in accepted.items():
        t = TABLES[table]
        cols = table_cols[table]
        # Arrow scans faster than pandas' own string columns.
        con.register("incoming", pa.Table.from_pandas(df, preserve_index=False))
        select = ", ".join(
            f"CAST({quote_ident(c)} AS {DUCKDB_TYPES[t.column(c).type]}) AS {quote_ident(c)}"
            for c in cols
        )
        if append and table in present:
            add_missing_columns(con, table, cols)
            con.execute(f"INSERT INTO {quote_ident(table)} BY NAME SELECT {select} FROM incoming")
        else:
            con.execute(f"DROP TABLE IF EXISTS {quote_ident(table)}")
            con.execute(f"CREATE TABLE {quote_ident(table)} AS SELECT {select} FROM incoming")
        con.unregister("incoming")
    ddl = ", ".join(f"{quote_ident(c)} {ty}" for c, ty in QUARANTINE_COLUMNS.items())
    con.execute(f"CREATE TABLE IF NOT EXISTS quarantine ({ddl})")
    have_q = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = 'quarantine'"
        ).fetchall()
    }
    if "severity" not in have_q:  # a warehouse from before severities: all errors
        con.execute("ALTER TABLE quarantine ADD COLUMN severity VARCHAR DEFAULT 'error'")
    replaced = list(accepted) if replaced is None else replaced
    if not append and replaced:
        con.execute(
            "DELETE FROM quarantine WHERE table_name IN (SELECT unnest(?))",
            [replaced],
        )
    if quarantine:
        qdf = pd.DataFrame(quarantine, columns=list(QUARANTINE_COLUMNS))
        qdf["row_number"] = qdf["row_number"].astype("Int64")
        con.register("incoming_q", qdf)
        con.execute("INSERT INTO quarantine BY NAME SELECT * FROM incoming_q")
        con.unregister("incoming_q")
    con.execute(
        "CREATE TABLE IF NOT EXISTS salesnb_settings (key VARCHAR PRIMARY KEY, value VARCHAR)"
    )
    for key, value in (settings or {}).items():
        con.execute("INSERT OR REPLACE INTO salesnb_settings VALUES (?, ?)", [key, value])
    con.execute("COMMIT")
    con.execute("CHECKPOINT")


def write_failed(into, exc: BaseException) -> InputError:
    """The one line a failed write of the warehouse ``into`` says (the file is unchanged)."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    return InputError(f"{into}: could not write the warehouse ({msg}); it was left unchanged")


def add_missing_columns(con, table: str, cols) -> None:
    """Give the warehouse's ``table`` the model's columns among ``cols`` it lacks (an
    optional column a later export brings), so that rows can be appended by name."""
    t = TABLES[table]
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    for c in cols:
        if c not in have:
            kind = DUCKDB_TYPES[t.column(c).type]
            con.execute(f"ALTER TABLE {quote_ident(table)} ADD COLUMN {quote_ident(c)} {kind}")
