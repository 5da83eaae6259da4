"""``salesnb ingest DIR --into WAREHOUSE``: load a folder of exports into the canonical model.

Reads CSV (UTF-8, UTF-8 with BOM, UTF-16, GB18030/GBK and other legacy encodings, detected
with charset-normalizer), Excel (``.xlsx`` via openpyxl, legacy ``.xls`` via xlrd) and
Parquet. Every row read is either **accepted** into its table, **quarantined** with a
reason in the ``quarantine`` table (``table_name, source_file, row_number, column_name,
reason, raw, severity``; ``raw`` is the source row as JSON text), or **filtered** out by
its source's ``where:``, so ``rows_in == accepted + quarantined + filtered`` for every
table (``filtered`` is reported for tables that have a ``where:``). Row rules live in
:mod:`salesnb.model.validate` (pandera). ``severity`` is ``error`` for a row (or lookup line)
that was not loaded and ``warning`` for a row that *was* loaded with one value left empty
(an optional link that does not resolve, a value outside a closed set; see below).

A file or mapping problem (a required column missing, an unknown table, an unparseable or
empty file, an empty folder) raises :class:`salesnb.errors.InputError` with one line naming
the file and column; nothing is written. The warehouse is built in a temporary copy next
to it and swapped in with ``os.replace`` only when everything succeeded, so a failed
ingest leaves it byte-for-byte as it was. Input files are only ever opened for reading.

By default the tables loaded are replaced; ``append=True`` adds rows (a key already in the
warehouse is quarantined as a duplicate), for monthly exports.

Large exports are streamed: a canonical folder of UTF-8 CSV files (32 MB or more, or
``engine="duckdb"`` / ``SALESNB_INGEST_ENGINE=duckdb``) is read, typed and checked inside
DuckDB in bounded chunks (:mod:`salesnb.sources.ingest.engine`), with the same rules,
accounting, quarantine and all-or-nothing swap, in memory that does not grow with the
file. Anything else (a mapping, Excel, Parquet, another encoding) is read in memory.

Two ways to describe a folder
-----------------------------
1. **Canonical folder, no mapping.** Files are named after canonical tables
   (``orders.csv``, ``reps.xlsx``, ``customers.parquet``; ``orders_2024-05.csv`` also
   counts as ``orders``; a workbook whose *sheets* are named after tables works too) and
   the headers are canonical column names (matched ignoring case, spaces, ``-`` and
   ``_``). Extra columns are ignored and listed in the summary. A data file whose name is
   not a table is an error (use a mapping).

2. **A YAML mapping** (``--mapping NAME`` for ``salesnb/mappings/NAME.yaml``, or a path).
   Everything source-specific is declared, never coded::

       name: my-crm                  # shown in the summary
       description: free text
       source_folder: my_crm         # documentation only (relative to the shared data
                                     # folder); ingest always reads the DIR it is given
       encoding: auto                # CSV text encoding: auto (default) or e.g. gb18030
       date_formats: ["%d/%m/%Y"]    # optional default formats for date columns
       currency: BRL                 # optional: the whole export's currency, used when
                                     # no table carries a currency column
       null_values: ["NULL", "N/A", "-"]   # texts that mean "no value", in every file
       lookups:                      # optional: other files/sheets that expressions
         returned:                   # may query by name (read only, never loaded)
           file: Orders.xls
           sheet: Returns
         cancelled:
           file: cancelled_*.csv
           optional: true            # absent file: the columns derived from it are empty
           null_values: ["none"]     # per lookup (replaces the mapping's list)
       tables:
         orders:                     # a canonical table: one source or a list of sources
           file: orders_*.csv        # file name or glob in DIR (each match is read)
           sheet: Orders             # Excel: the sheet (default: the first one)
           header_row: 1             # the row holding the headers (default 1)
           encoding: auto            # per-file override; also delimiter: ";" (or
                                     # "whitespace": runs of blanks separate fields)
           columns:                  # canonical column: source column
             order_id: Order ID
             order_date: Order Date
           constants:                # canonical column: fixed value
             currency: USD
           derive:                   # canonical column: SQL expression over the source
             cost: '"Sales" - "Profit"'        # columns (DuckDB dialect; the file is the
             line_no: 'row_number() OVER (PARTITION BY "Order ID" ORDER BY "Row ID")'
             returned: '"Order ID" IN (SELECT "Order ID" FROM returned)'
           values:                   # canonical column: {source value: canonical value}
             status: {Won: won, Lost: lost, Engaging: open}
           date_formats:             # canonical column: format (or list of formats)
             order_date: "%m/%d/%Y"
           distinct: true            # keep distinct rows only (a dimension taken from a
                                     # fact sheet); or a list of canonical columns
           optional: false           # true: a missing file is not an error
           where: '"Order Type" <> ''Test'''   # row filter: an SQL condition over the
                                     # source columns; rows where it is not true are skipped
           null_values: ["n.a."]     # per source (replaces the mapping's list)

   Expressions (``derive:`` and ``where:``) are evaluated by DuckDB over the source frame
   (named ``src``) in an in-memory database with file access disabled: they can compute,
   compare, call SQL functions and window functions and query the declared lookups, but
   cannot read or write files. Python's ``eval`` is never used. Source columns used by an
   expression that hold numbers written as text are read as numbers (a cell that is not
   one is quarantined); whole numbers are read as integers, so ``"Invoice" || '-' ||
   "Line"`` gives ``1001-2``, not ``1001.0-2.0``. An empty cell is ``NULL``. An expression
   that names a table or file that is not a declared lookup stops the ingest with a
   one-line hint naming the file: declare it under ``lookups:``. Value maps match exactly
   first, then ignoring case. YAML ``yes``/``no`` stay text (only ``true``/``false`` are
   booleans).

   **Null markers** (``null_values:`` for the whole mapping, a source or a lookup; a
   source's or lookup's list replaces the mapping's): cells whose text is one of the
   markers (ignoring case and surrounding blanks) become empty before anything else is
   done, so a ``NULL`` in a column an expression computes with is a missing value, not a
   quarantined row or a failed ingest. Quote the markers: YAML reads a bare ``NULL`` as
   nothing (inside a list it is taken as the text ``NULL``).

   **Row filter** (``where:``): null markers first, then the filter, then ``columns:``,
   ``constants:`` and ``derive:`` over the rows kept (a ``row_number()`` numbers the rows
   that are loaded). Rows where the condition is false or ``NULL`` are not loaded and are
   counted as ``filtered`` (write ``coalesce("Kind", '') <> 'test'`` to keep rows with no
   Kind). A row whose cell the condition needs is not a number is quarantined instead.

   **Lookups** get the accounting of tables: ``rows_in == accepted + malformed`` per
   lookup, in :meth:`IngestResult.as_json` under ``"lookups"``. Each malformed line (e.g.
   an unquoted comma giving too many fields) is in the quarantine table with its file and
   line number (``table_name`` is ``lookup:NAME``), and the last line of the summary says
   that lookup lines were lost. An ``optional: true`` lookup whose file is absent leaves
   the columns derived from it empty (an error if such a column is required, or if a
   ``where:`` reads it).

   **Links**: an optional foreign key that is not found in its parent table (an order's
   ``rep_id`` not in ``reps``), or an optional column derived through a lookup that finds
   no match for a row whose inputs are not empty, is left empty and the row loaded, with a
   ``warning`` in the quarantine table; a required one quarantines the row.

Values: empty cells are missing; numbers may carry thousands separators, currency marks,
``%`` or accounting brackets; dates are read in the mapping's formats or, by default, in
common formats (ISO first, then US month-first, then day-first), choosing per column the
format that fits the most values. Ids stay text: in a column whose name ends in ``_id``
or a text key column, numbers written as floats lose the ``.0`` (``2.0`` -> ``2``) when
every value of the column in that file is a number. Closed sets (``CLOSED_SETS``:
``opportunities.status``, ``targets.level``, ``pilots.group``, ``reps.role``): a value
matching a member ignoring case is written as the member; any other value quarantines the
row when the column is required, and is left empty with a ``warning`` when it is optional.
"""

from __future__ import annotations

import time
from pathlib import Path

import pandas as pd

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.sources.ingest import engine as streaming
from salesnb.sources.ingest.accounting import IngestResult, account_table, read_lookup
from salesnb.sources.ingest.build import (
    CLOSED_SETS,
    Piece,
    apply_null_values,
    build_piece,
    null_markers,
)
from salesnb.sources.ingest.expressions import _Context, _tables_named
from salesnb.sources.ingest.mapping import (
    Mapping,
    SourceSpec,
    available_mappings,
    load_mapping,
    resolve_mapping_path,
)
from salesnb.sources.ingest.plan import plan_canonical, plan_mapping
from salesnb.sources.ingest.readers import (
    CSV_EXTS,
    DATA_EXTS,
    EXCEL_EXTS,
    PARQUET_EXTS,
    RawFile,
    _close_workbooks,
    _norm,
    _Reader,
    detect_encoding,
    excel_sheets,
    read_csv,
    read_excel,
    read_parquet,
)
from salesnb.sources.ingest.write import (
    QUARANTINE_COLUMNS,
    _existing,
    _existing_tables,
    write_warehouse,
)

__all__ = [
    "CLOSED_SETS",
    "CSV_EXTS",
    "DATA_EXTS",
    "EXCEL_EXTS",
    "PARQUET_EXTS",
    "QUARANTINE_COLUMNS",
    "IngestResult",
    "Mapping",
    "RawFile",
    "SourceSpec",
    "apply_null_values",
    "available_mappings",
    "build_piece",
    "detect_encoding",
    "excel_sheets",
    "ingest",
    "load_mapping",
    "null_markers",
    "plan_canonical",
    "plan_mapping",
    "read_csv",
    "read_excel",
    "read_parquet",
    "resolve_mapping_path",
]


def ingest(
    folder, into, mapping=None, append: bool = False, engine: str | None = None
) -> IngestResult:
    """Load ``folder`` into the DuckDB warehouse ``into``; see the module docstring.

    ``mapping``: None (canonical file names), a named mapping or a YAML path.
    ``engine``: ``auto`` (default; or ``SALESNB_INGEST_ENGINE``), ``duckdb`` (stream
    canonical CSV files through DuckDB, :mod:`salesnb.sources.ingest.engine`) or
    ``pandas`` (read every file in memory).
    Returns an :class:`IngestResult`; raises InputError (nothing written) on a file or
    mapping problem.
    """
    try:
        return _ingest(folder, into, mapping, append, engine)
    finally:
        _close_workbooks()


def _ingest(folder, into, mapping, append: bool, engine: str | None = None) -> IngestResult:
    start = time.perf_counter()
    folder = Path(folder)
    into = Path(into)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder (expected a folder of CSV, Excel or Parquet files)"
        )
    m = load_mapping(mapping) if mapping else None
    plan, ignored_files = _plan(folder, m)

    def new_result() -> IngestResult:
        name = m.name if m else None
        return IngestResult(str(folder), str(into), name, append, ignored_files=ignored_files)

    settings = {"currency": m.currency} if m is not None and m.currency else {}
    if streaming.wanted(plan, m, engine):
        result = new_result()
        try:
            streaming.ingest_streaming(folder, into, plan, append, result, _table_order, settings)
            result.seconds = time.perf_counter() - start
            return result
        except streaming.Fallback:
            pass  # a file the streaming reader cannot read as the in-memory one does
    result = new_result()
    reader = _Reader(m)
    quarantine: list[dict] = []
    ctx = _Context(files=sorted(p.name for p in folder.iterdir() if p.is_file()))
    if m:
        _read_lookups(folder, m, reader, ctx, result, quarantine)
    raws = [(spec, reader.read(path, spec)) for path, spec in plan]
    table_cols = _table_columns(raws)
    pieces = _build_pieces(raws, m, ctx, table_cols, result)
    accepted = _account_tables(into, pieces, table_cols, append, quarantine, result)
    # Keep the JSON in model order whatever the processing order was.
    result.tables = {t: result.tables[t] for t in TABLES if t in result.tables}
    replaced = list(accepted) + [f"lookup:{name}" for name in result.lookups]
    write_warehouse(into, accepted, table_cols, quarantine, append, replaced, settings)
    result.seconds = time.perf_counter() - start
    return result


def _plan(folder: Path, m: Mapping | None) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    """The (file, source) pairs to read and the files not used; an error when nothing matches."""
    if m is None:
        plan, ignored_files = plan_canonical(folder)
        ignored_files = sorted(
            p.name
            for p in folder.iterdir()
            if p.is_file() and p.suffix.lower() not in DATA_EXTS and not p.name.startswith(".")
        )
    else:
        plan, ignored_files = plan_mapping(folder, m)
    if not plan:
        raise InputError(
            f"{folder}: no file matches {m.where() if m else 'a canonical table'} (nothing to load)"
        )
    return plan, ignored_files


def _read_lookups(
    folder: Path,
    m: Mapping,
    reader: _Reader,
    ctx: _Context,
    result: IngestResult,
    quarantine: list[dict],
) -> None:
    """Read every lookup into ``ctx``; note the columns an absent optional one leaves empty."""
    for lname, lspec in m.lookups.items():
        read_lookup(folder, lname, lspec, m, reader, ctx, result, quarantine)
    for name in ctx.absent:
        result.blanked_by_absent[name] = [
            f"{spec.table}.{col}"
            for spec in m.sources
            for col, expr in spec.derive.items()
            if name.lower() in _tables_named(expr)
        ]


def _table_columns(raws: list[tuple[SourceSpec, RawFile]]) -> dict[str, list[str]]:
    """Every column of a table that any of its sources provides, plus the required ones."""
    table_cols: dict[str, list[str]] = {}
    for spec, raw in raws:
        t = TABLES[spec.table]
        if spec.columns is None:
            have = {_norm(c) for c in raw.df.columns}
            provided = [c for c in t.column_names if c in have]
        else:
            provided = list(spec.columns) + list(spec.constants) + list(spec.derive)
        cur = set(table_cols.get(spec.table, [])) | set(provided) | set(t.required_columns)
        table_cols[spec.table] = [c for c in t.column_names if c in cur]
    return table_cols


def _build_pieces(
    raws: list[tuple[SourceSpec, RawFile]],
    m: Mapping | None,
    ctx: _Context,
    table_cols: dict[str, list[str]],
    result: IngestResult,
) -> dict[str, list[Piece]]:
    """Each source built as rows of its table, grouped by table; files and unused columns noted."""
    pieces: dict[str, list[Piece]] = {}
    for spec, raw in raws:
        piece = build_piece(spec, raw, m, ctx.lookups, table_cols[spec.table], ctx)
        pieces.setdefault(spec.table, []).append(piece)
        result.files.setdefault(spec.table, []).append(raw.label)
        # A column is unused only if no source reading this file uses it.
        before = result.ignored_columns.get(raw.label, piece.ignored_columns)
        result.ignored_columns[raw.label] = [c for c in before if c in piece.ignored_columns]
    return pieces


def _account_tables(
    into: Path,
    pieces: dict[str, list[Piece]],
    table_cols: dict[str, list[str]],
    append: bool,
    quarantine: list[dict],
    result: IngestResult,
) -> dict[str, pd.DataFrame]:
    """The rows accepted per table, parents first, checked against the warehouse ``into``."""
    con = _existing(into)
    try:
        present = _existing_tables(con)
        accepted: dict[str, pd.DataFrame] = {}
        for table in _table_order(pieces):
            account_table(
                table,
                pieces[table],
                table_cols[table],
                accepted,
                con=con,
                present=present,
                append=append,
                quarantine=quarantine,
                result=result,
            )
    finally:
        if con is not None:
            con.close()
    return accepted


def _table_order(tables) -> list[str]:
    """Parents before children, so foreign keys are checked against what was accepted."""
    order: list[str] = []
    pending = [t for t in TABLES if t in tables]
    while pending:
        for t in pending:
            parents = {p for p, _ in TABLES[t].foreign_keys.values() if p != t and p in pending}
            if not parents:
                order.append(t)
                pending.remove(t)
                break
        else:  # a cycle: keep model order
            order.extend(pending)
            break
    return order
