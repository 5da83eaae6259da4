"""Moving a warehouse between engines: DuckDB file -> PostgreSQL, any source -> Parquet.

- :func:`to_postgres` copies the canonical tables of a DuckDB warehouse into a PostgreSQL
  database, all or nothing: the tables are replaced inside one transaction (a failure
  leaves the database as it was). DuckDB writes each table as CSV to a temporary file
  and PostgreSQL reads it with ``COPY``, so memory does not grow with the table. Floats
  are written in their shortest round-trip form: the copy holds the same values.
- :func:`to_parquet` writes each canonical table of any source (``salesnb export``) as
  ``<table>.parquet`` in a folder; ``--source spark:DIR`` reads such a folder on Spark
  (:func:`salesnb.sources.connection.connect`).

Example (a small demo copied to Parquet)::

    >>> import tempfile, pathlib
    >>> from salesnb.sources import demo
    >>> d = pathlib.Path(tempfile.mkdtemp())
    >>> _ = demo.build(d / "w.duckdb", orders=2000)
    >>> to_parquet(d / "w.duckdb", d / "pq")["orders"]
    2000
"""

from __future__ import annotations

import os
import shutil
import tempfile
from pathlib import Path

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.sources.connection import _first_line, connect, public_url

# How each logical column type is stored in a PostgreSQL warehouse.
POSTGRES_TYPES = {
    "str": "TEXT",
    "int": "BIGINT",
    "float": "DOUBLE PRECISION",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "bool": "BOOLEAN",
}


def is_postgres_url(target) -> bool:
    """``postgres://`` or ``postgresql://`` (any case)."""
    return str(target).lower().startswith(("postgres://", "postgresql://"))


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_sql(name: str) -> str:
    cols = ", ".join(f"{_q(c.name)} {POSTGRES_TYPES[c.type]}" for c in TABLES[name].columns)
    return f"CREATE TABLE {_q(name)} ({cols})"


def _pg_connect(url: str):
    import psycopg

    try:
        return psycopg.connect(url)
    except Exception as exc:  # psycopg.OperationalError, bad URL...
        raise InputError(f"{public_url(url)}: cannot connect ({_first_line(exc)})") from exc


# DuckDB column types -> PostgreSQL (canonical and helper tables alike: quarantine, ...)
_PG_FROM_DUCKDB = {
    "VARCHAR": "TEXT",
    "BIGINT": "BIGINT",
    "INTEGER": "INTEGER",
    "SMALLINT": "SMALLINT",
    "TINYINT": "SMALLINT",
    "UBIGINT": "NUMERIC",
    "HUGEINT": "NUMERIC",
    "DOUBLE": "DOUBLE PRECISION",
    "FLOAT": "REAL",
    "DATE": "DATE",
    "TIMESTAMP": "TIMESTAMP",
    "TIMESTAMP WITH TIME ZONE": "TIMESTAMPTZ",
    "BOOLEAN": "BOOLEAN",
}


def to_postgres(warehouse: Path | str, url: str) -> dict[str, int]:
    """Make the PostgreSQL database at ``url`` hold the tables of the DuckDB ``warehouse``
    file, in one transaction; return {table: rows copied}.

    Every table of the file is replaced (helper tables such as ``quarantine`` too), and
    the model's tables the file lacks are dropped, so the database then holds what the
    file holds; other tables of the database are left alone.
    """
    import duckdb

    warehouse = Path(warehouse)
    src = duckdb.connect(str(warehouse), read_only=True)
    rows: dict[str, int] = {}
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-pg-"))
    try:
        columns: dict[str, list[tuple[str, str]]] = {}
        for table, column, dtype in src.execute(
            "SELECT c.table_name, c.column_name, c.data_type FROM duckdb_columns() c "
            "JOIN duckdb_tables() t USING (database_name, schema_name, table_name) "
            "WHERE NOT t.internal AND t.schema_name = 'main' "
            "AND t.database_name = current_database() "
            "ORDER BY c.table_name, c.column_index"
        ).fetchall():
            columns.setdefault(table, []).append((column, _PG_FROM_DUCKDB.get(dtype, "TEXT")))
        order = [t for t in TABLES if t in columns] + sorted(t for t in columns if t not in TABLES)
        with _pg_connect(url) as pg, pg.transaction(), pg.cursor() as cur:
            for name in [t for t in TABLES if t not in columns]:
                cur.execute(f"DROP TABLE IF EXISTS {_q(name)}")
            for name in order:
                rows[name] = _copy_table(src, cur, name, columns[name], tmp / f"{name}.csv")
            cur.execute("ANALYZE")
    finally:
        src.close()
        shutil.rmtree(tmp, ignore_errors=True)
    return rows


def _copy_table(src, cur, name: str, columns: list[tuple[str, str]], csv: Path) -> int:
    """Replace table ``name`` on the PostgreSQL cursor ``cur`` with DuckDB's (through ``csv``)."""
    cur.execute(f"DROP TABLE IF EXISTS {_q(name)}")
    cur.execute(f"CREATE TABLE {_q(name)} ({', '.join(f'{_q(c)} {t}' for c, t in columns)})")
    cols = ", ".join(_q(c) for c, _ in columns)
    path = str(csv).replace("'", "''")
    src.execute(f"COPY (SELECT {cols} FROM {_q(name)}) TO '{path}' (FORMAT csv, HEADER false)")
    with (
        csv.open("rb") as f,
        cur.copy(f"COPY {_q(name)} ({cols}) FROM STDIN (FORMAT csv)") as copy,
    ):
        while chunk := f.read(1 << 20):
            copy.write(chunk)
    csv.unlink()
    cur.execute(f"SELECT count(*) FROM {_q(name)}")
    return cur.fetchone()[0]


def from_postgres(url: str, warehouse: Path | str) -> dict[str, int]:
    """Copy every table of the PostgreSQL database at ``url`` into a new DuckDB file
    ``warehouse`` (what ``ingest --append`` adds to); return {table: rows}."""
    import duckdb

    src = connect(url)
    con = duckdb.connect(str(warehouse))
    rows: dict[str, int] = {}
    try:
        for name in src.con.list_tables():
            reader = src.con.table(name).to_pyarrow_batches()  # noqa: F841 (read by DuckDB)
            con.execute(f"CREATE TABLE {_q(name)} AS SELECT * FROM reader")
            rows[name] = con.execute(f"SELECT count(*) FROM {_q(name)}").fetchone()[0]
        con.execute("CHECKPOINT")
    finally:
        con.close()
        src.close()
    return rows


def ingest_postgres(folder, url: str, mapping=None, append: bool = False):
    """``salesnb ingest DIR --into postgresql://...``: the same ingest, accounting and
    quarantine as for a DuckDB file (:func:`salesnb.sources.ingest.ingest`) into a
    temporary file, then :func:`to_postgres` in one transaction: all or nothing."""
    from salesnb.sources.ingest import ingest

    tmp = Path(tempfile.mkdtemp(prefix="salesnb-ingest-"))
    try:
        staged = tmp / "warehouse.duckdb"
        if append:
            from_postgres(url, staged)
        result = ingest(folder, into=staged, mapping=mapping, append=append)
        to_postgres(staged, url)
        result.into = public_url(url)
        return result
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def to_parquet(source, folder: Path | str) -> dict[str, int]:
    """Write every canonical table of ``source`` (path, URL or Source) as
    ``folder/<table>.parquet``; return {table: rows}. Each file is written beside its
    final name and moved into place, so a reader never sees half a file."""
    import pyarrow.parquet as pq

    src = connect(source)
    folder = Path(folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise InputError(
            f"{folder}: cannot write the Parquet files ({exc.strerror or exc})"
        ) from exc
    rows: dict[str, int] = {}
    for name in src.tables:
        table = src.table(name).select(*TABLES[name].column_names)
        final = folder / f"{name}.parquet"
        tmp = folder / f".{name}.parquet.{os.getpid()}.tmp"
        n = 0
        writer = None
        try:
            for batch in table.to_pyarrow_batches():
                if writer is None:
                    writer = pq.ParquetWriter(tmp, batch.schema)
                writer.write_batch(batch)
                n += batch.num_rows
            if writer is None:  # no rows: an empty file with the table's schema
                pq.write_table(table.schema().to_pyarrow().empty_table(), tmp)
        finally:
            if writer is not None:
                writer.close()
        os.replace(tmp, final)
        rows[name] = n
    return rows
