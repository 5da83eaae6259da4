"""The connection: one object over the warehouse, whatever engine holds it.

``connect(source)`` accepts a DuckDB file path (the default, embedded
warehouse), a PostgreSQL URL (``postgresql://user@host/db``), ``spark:DIR`` (the Parquet
files of ``salesnb export`` on Apache Spark, :mod:`salesnb.sources.spark`) or any other
connection URL Ibis understands (``duckdb://...``). Each engine's session is settled so
that the same data gives the same figures, run after run and engine to engine: DuckDB on
one thread, PostgreSQL with serial plans. Studies and dashboards only ever see a :class:`Source`;
aggregation is pushed into the engine through Ibis expressions (see
``salesnb.queries``), so the same code runs on a laptop file or a warehouse.

Ibis is used rather than hand-written SQL strings so that filter values are
always bound as literals in an expression tree, never pasted into SQL text.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import os
import warnings
from functools import cached_property
from pathlib import Path

import ibis
import pandas as pd

from salesnb import config
from salesnb.errors import InputError, ModelError
from salesnb.model.schema import TABLES
from salesnb.sources.snapshot import snapshot

# ibis 12 still calls duckdb's fetch_arrow_table(); the warning is theirs, not the user's.
warnings.filterwarnings(
    "ignore",
    message=r"(fetch_arrow_table|fetch_record_batch)\(\) is deprecated",
    category=DeprecationWarning,
)
warnings.filterwarnings("ignore", message="The 'future.infer_string' option is deprecated")


SPARK_PREFIX = "spark:"  # spark:DIR, the Parquet files of `salesnb export` (salesnb.sources.spark)


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def public_url(url: str) -> str:
    """``url`` with its password masked (what reports and messages show)."""
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(url)
    if not parts.password:
        return url
    netloc = parts.netloc.replace(f":{parts.password}@", ":***@", 1)
    return urlunsplit(parts._replace(netloc=netloc))


def _settle_postgres(con) -> None:
    """Serial plans on this session: a parallel aggregate adds floats in an order that
    varies from run to run (the last bits of a total, and a forecast fitted on it, moved),
    as DuckDB's threads did (one thread there, below). Reports run studies in parallel."""
    con.raw_sql("SET max_parallel_workers_per_gather = 0").close()


class Source:
    """A read connection to a warehouse holding the canonical tables."""

    def __init__(
        self,
        con: ibis.BaseBackend,
        description: str,
        path: Path | None = None,
        as_of: dt.date | None = None,
    ):
        self.con = con
        self.description = description
        self.path = path
        # the day the warehouse is seen as of (salesnb.sources.snapshot); None: all of it
        self.as_of = as_of
        # Each con.table() asks the engine for the schema (one round trip); a study asks for
        # the same few tables dozens of times over one read connection whose schema is fixed.
        self._tables: dict[str, ibis.Table] = {}

    def __repr__(self) -> str:
        at = f", as_of={self.as_of}" if self.as_of else ""
        return f"Source({self.description!r}, tables={self.tables}{at})"

    def at(self, day) -> Source:
        """This warehouse as it was known at the end of ``day`` (``None``: all of it): every
        table read through the view shows only what had happened by then — the rule is
        ``salesnb.sources.snapshot``. Same connection; the original is unchanged."""
        day = None if day in (None, "") else pd.Timestamp(day).date()
        if day == self.as_of:
            return self
        view = Source(self.con, self.description, self.path, as_of=day)
        view.__dict__["tables"] = self.tables
        return view

    @cached_property
    def tables(self) -> list[str]:
        """Canonical tables present (in model order), ignoring helper tables."""
        present = set(self.con.list_tables())
        return [t for t in TABLES if t in present]

    def has(self, *names: str) -> bool:
        return all(n in self.tables for n in names)

    def missing(self, names) -> list[str]:
        return [n for n in names if n not in self.tables]

    def table(self, name: str) -> ibis.Table:
        cached = self._tables.get(name)
        if cached is not None:
            return cached
        if name not in self.tables and name not in set(self.con.list_tables()):
            raise ModelError(f"{self.description}: table '{name}' is not in this warehouse")
        t = self.con.table(name)
        if self.as_of is not None and name in TABLES:
            t = snapshot(name, t, self.as_of, self._raw)
        self._tables[name] = t
        return t

    def _raw(self, name: str) -> ibis.Table | None:
        return self.con.table(name) if name in self.tables else None

    def columns(self, name: str) -> list[str]:
        return list(self.table(name).columns)

    def has_column(self, table: str, column: str) -> bool:
        return self.has(table) and column in self.columns(table)

    def fingerprint(self) -> str:
        """A short hash of table row counts and column sums: changes when data changes."""
        h = hashlib.sha256()
        for name in self.tables:
            t = self.table(name)
            h.update(name.encode())
            h.update(str(t.count().execute()).encode())
            for col in ("net_amount", "amount", "target_amount", "quantity"):
                if col in t.columns:
                    h.update(f"{col}={t[col].sum().execute()}".encode())
        return h.hexdigest()[:16]

    def close(self) -> None:
        try:
            self.con.disconnect()
        except Exception:  # closing is best effort
            pass


def connect(source: str | Path | None = None, read_only: bool = True) -> Source:
    """Open ``source`` (default: ``config.default_source()``): a DuckDB file path, a
    ``postgresql://`` URL, ``spark:DIR`` (the Parquet files of ``salesnb export`` read on
    Apache Spark) or any other connection URL Ibis understands."""
    if isinstance(source, Source):
        return source
    source = str(source) if source else config.default_source()
    if source.startswith(SPARK_PREFIX):
        from salesnb.sources.spark import connect_spark

        return Source(*connect_spark(source.removeprefix(SPARK_PREFIX)))
    if "://" in source and not source.startswith("duckdb://"):
        try:
            con = ibis.connect(source)
        except Exception as exc:
            raise InputError(f"cannot connect to {public_url(source)}: {_first_line(exc)}") from exc
        if con.name == "postgres":
            _settle_postgres(con)
        # the whole URL: the dashboards' kernels re-open the source from its description
        return Source(con, source)
    path = Path(source.removeprefix("duckdb://")).expanduser()
    if not path.exists():
        raise InputError(
            f"{path}: no such warehouse (build the demo with `salesnb demo` or load data with `salesnb ingest`)"
        )
    try:
        # One engine thread by default: DuckDB sums floating-point columns in parallel in a
        # varying order, so the last bits of a total (and a forecast fitted on it) changed
        # from run to run. Reports run studies in parallel instead. SALESNB_DUCKDB_THREADS
        # trades that determinism for speed on a big warehouse.
        threads = int(os.environ.get("SALESNB_DUCKDB_THREADS", "1"))
        con = ibis.duckdb.connect(str(path), read_only=read_only)
        # a SET, not a connect-time config: another connection to the same file in this
        # process (a test, an analyst's duckdb.connect) must not be refused as "differently configured"
        con.raw_sql(f"SET threads = {max(threads, 1):d}")
    except Exception as exc:
        raise InputError(
            f"{path}: not a readable DuckDB warehouse ({str(exc).splitlines()[0]})"
        ) from exc
    return Source(con, str(path), path)
