"""Streaming ingest: a canonical folder of CSV files loaded and checked inside DuckDB.

The in-memory ingest holds every file as a pandas frame (about 850 MB per million order
lines), so a large export cannot be loaded. This path reads each file with DuckDB's own CSV
reader, types it and flags the cells that do not read in the same statement, writing the
table straight into the temporary copy of the warehouse; the rules that need several rows
(unique keys, foreign keys) and the row rules then run as SQL over that table. DuckDB works
in bounded chunks under ``memory_limit`` (spilling to a temporary folder next to the
warehouse), so memory does not grow with the file. The few rows that fail are read back
from the file (:mod:`salesnb.sources.ingest.engine_rows`) for the quarantine.

The accounting, the reasons and the all-or-nothing swap are those of the in-memory ingest:
``rows_in == accepted + quarantined`` per table, a quarantine row per row not loaded with
its file and line, a file problem raises :class:`~salesnb.errors.InputError` and leaves the
warehouse as it was, input files are only opened for reading.

Used for a canonical folder (no mapping) whose data files are all CSV in UTF-8, when the
files are large (``AUTO_MIN_BYTES``) or when asked (``SALESNB_INGEST_ENGINE=duckdb``);
``pandas`` forces the in-memory path. Anything it does not read (another encoding, a
mapping, Excel or Parquet) goes the in-memory way. ``SALESNB_INGEST_MEMORY`` sets DuckDB's
``memory_limit`` (default ``768MB``).

Differences from the in-memory path: the date formats of a column are ranked on its first
2,000 values (not a random sample), and leading and trailing blanks are those of ASCII and
the no-break space.
"""

from __future__ import annotations

import codecs
import csv
import io
import os
import shutil
from collections import Counter
from pathlib import Path

from salesnb.errors import InputError
from salesnb.fileio import atomic_replace
from salesnb.model.schema import TABLES
from salesnb.model.validate import quiet_connect
from salesnb.sources.ingest import engine_sql as S
from salesnb.sources.ingest.checks import check_table
from salesnb.sources.ingest.engine_rows import SourceFile, scan_bad_lines
from salesnb.sources.ingest.readers import CSV_EXTS, _norm, _sniff_delimiter
from salesnb.sources.ingest.write import _existing, _existing_tables, _fill, write_failed
from salesnb.sql import quote_ident

ENGINE_ENV = "SALESNB_INGEST_ENGINE"  # auto (default) | duckdb | pandas
MEMORY_ENV = "SALESNB_INGEST_MEMORY"
AUTO_MIN_BYTES = 32 << 20


class Fallback(Exception):
    """The streaming path cannot read this folder as the in-memory path would: use that."""


def wanted(plan, mapping, choice: str | None = None) -> bool:
    """Whether to stream: canonical CSV files only, large enough or asked for."""
    choice = (choice or os.environ.get(ENGINE_ENV) or "auto").lower()
    if choice == "pandas" or mapping is not None:
        return False
    if any(p.suffix.lower() not in CSV_EXTS or spec.sheet for p, spec in plan):
        return False
    if choice == "duckdb":
        return True
    return sum(p.stat().st_size for p, _s in plan) >= AUTO_MIN_BYTES


def _header(path: Path) -> tuple[list[str], str]:
    """The header names and the delimiter; Fallback when the file is not plain UTF-8."""
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head.strip():
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)) or b"\x00" in head:
        raise Fallback(path.name)
    try:
        text = codecs.getincrementaldecoder("utf-8")("strict").decode(head)
    except UnicodeDecodeError:
        raise Fallback(path.name) from None
    text = text.lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    delim = "\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(lines[0])
    header = next(csv.reader(io.StringIO(text.lstrip("\r\n")), delimiter=delim))
    header = [str(c).replace("\ufeff", "").strip() for c in header]
    dupes = [n for n, k in Counter(header).items() if k > 1]
    if dupes:
        raise InputError(f"{path.name}: column '{dupes[0]}' appears more than once in the header")
    return header, delim


def _source_files(plan) -> dict[str, list[SourceFile]]:
    """Each file's header matched to its table's columns; a required column missing is an error."""
    by_table: dict[str, list[SourceFile]] = {}
    for path, spec in plan:
        header, delim = _header(path)
        t = TABLES[spec.table]
        f = SourceFile(path, spec.table, header, delim, header_row=spec.header_row)
        for h in header:
            if _norm(h) in t.column_names:
                f.columns.setdefault(_norm(h), h)
        missing = [c for c in t.required_columns if c not in f.columns]
        if missing:
            raise InputError(
                f"{f.label}: required column '{missing[0]}' of table {t.name} is missing "
                f"(found: {', '.join(header)})"
            )
        by_table.setdefault(spec.table, []).append(f)
    return by_table


def _configure(con, spill: Path) -> None:
    con.execute(f"SET memory_limit = {S.lit(os.environ.get(MEMORY_ENV) or '768MB')}")
    con.execute(f"SET temp_directory = {S.lit(str(spill))}")
    # Rows keep the file's order, so a row's position in the table is its place in the file.
    con.execute("SET preserve_insertion_order = true")
    for m in S.macros():
        con.execute(m)


def ingest_streaming(folder: Path, into: Path, plan, append: bool, result, order, settings):
    """Load ``plan`` (canonical CSV files) into ``into``; fills ``result``. See the module."""
    by_table = _source_files(plan)
    old = _existing(into)
    present = _existing_tables(old)
    if old is not None:
        old.close()
    into.parent.mkdir(parents=True, exist_ok=True)
    with atomic_replace(into, tag="ingest", sidecars=(".wal",)) as tmp:
        spill = Path(str(tmp) + ".spill")
        if into.exists():
            shutil.copyfile(into, tmp)
        con = quiet_connect(str(tmp))
        try:
            _configure(con, spill)
            quarantine: list[dict] = []
            for table in order(by_table):
                files = by_table[table]
                cols = _table_columns(table, files)
                _load(con, table, files, cols)
                check_table(con, table, files, cols, append, table in present, quarantine, result)
                result.files[table] = [f.label for f in files]
                for f in files:
                    t = TABLES[table]
                    result.ignored_columns[f.label] = [
                        h for h in f.header if _norm(h) not in t.column_names
                    ]
            result.tables = {t: result.tables[t] for t in TABLES if t in result.tables}
            _fill(con, {}, {}, quarantine, append, list(by_table), settings)
        except (InputError, Fallback):
            raise
        except Exception as exc:
            raise write_failed(into, exc) from exc
        finally:
            con.close()
            shutil.rmtree(spill, ignore_errors=True)


def _table_columns(table: str, files: list[SourceFile]) -> list[str]:
    t = TABLES[table]
    have = set(t.required_columns)
    for f in files:
        have |= set(f.columns)
    return [c for c in t.column_names if c in have]


def _reader(f: SourceFile, ignore_errors: bool) -> str:
    spec = ", ".join(f"{S.lit(f'c{i}')}: 'VARCHAR'" for i in range(len(f.header)))
    return (
        f"read_csv({S.lit(str(f.path))}, columns = {{{spec}}}, header = true, "
        f"auto_detect = false, delim = {S.lit(f.delimiter)}, quote = '\"', escape = '\"', "
        f"skip = {f.header_row - 1}, strict_mode = true, null_padding = false, "
        f"ignore_errors = {'true' if ignore_errors else 'false'})"
    )


def _raw_ident(f: SourceFile, column: str) -> str | None:
    if column not in f.columns:
        return None
    return f"c{f.header.index(f.columns[column])}"


def _date_formats(con, f: SourceFile, column: str) -> list[str]:
    """The formats of a date column, ranked on its first 2,000 values."""
    raw = _raw_ident(f, column)
    if raw is None:
        return []
    sample = f"SELECT {raw} FROM {_reader(f, True)} WHERE NOT sn_missing(sn_trim({raw})) LIMIT 2000"
    counts = con.execute(f"SELECT {S.format_probe(raw)} FROM ({sample})").fetchone()
    return S.rank_formats(list(counts))


def _query(con, f: SourceFile, cols: list[str], ignore_errors: bool) -> tuple[str, dict]:
    """The file read as the table, and the slow readings left to do (column -> (bit, Typed)).

    Columns: the typed ones; ``__cf`` bits of the cells that do not read (or, in a required
    closed set, are not members); ``__cw`` bits of optional closed-set values left empty;
    ``__r``, for the rows where the fast reading left a cell unread, the text of every
    cell that may need the slow one (a JSON list; read by :func:`_read_slowly`).
    Three steps, so each cell is cast once."""
    t = TABLES[f.table]
    if len(cols) > 62:
        raise Fallback(f"{f.table}: too many columns for the streaming path")
    middles, parts, fails, warns, kept, slow = [], [], [], [], [], {}
    for i, c in enumerate(cols):
        ltype = t.column(c).type
        formats = _date_formats(con, f, c) if ltype in ("date", "datetime") else []
        raw = _raw_ident(f, c)
        ty = S.typed(f.table, c, raw, formats, f"m{i}")
        if ty.middle is not None:
            middles.append(f"{ty.middle} AS m{i}")
        parts.append(f"{ty.value} AS {quote_ident(c)}")
        if ty.unread is not None:
            parts.append(f"{ty.unread} AS u{i}")
            kept.append((i, raw))
            slow[c] = (i, len(kept), ty)
        if ty.outside is not None:
            bits = fails if t.column(c).required else warns
            bits.append(f"CASE WHEN {ty.outside} THEN {1 << i} ELSE 0 END")
    parts.append(f"{' + '.join(fails) or '0'} AS __cc")
    parts.append(f"CAST({' + '.join(warns) or '0'} AS BIGINT) AS __cw")
    raws = [r for _i, r in kept]
    parts += [f"{r} AS __{r}" for r in dict.fromkeys(raws)]
    first = f"SELECT *{''.join(', ' + m for m in middles)} FROM {_reader(f, ignore_errors)}"
    second = f"SELECT {', '.join(parts)} FROM ({first})"
    unread = " + ".join(f"CASE WHEN u{i} THEN {1 << i} ELSE 0 END" for i, _r in kept) or "0"
    texts = ", ".join(f"__{r}" for r in raws)
    third = f"SELECT *, CAST(__cc + {unread} AS BIGINT) AS __cf FROM ({second})"
    keep = f"CASE WHEN __cf <> __cc THEN to_json([{texts}]) END" if raws else "CAST(NULL AS JSON)"
    out = ", ".join(quote_ident(c) for c in cols)
    return f"SELECT {out}, __cf, __cw, {keep} AS __r FROM ({third})", slow


def _read_slowly(con, table: str, slow: dict, first: int, last: int) -> None:
    """Cells the fast reading left, in rows ``first..last`` (one file), read again with the
    whole rules (few: rare shapes such as ``1,234.50`` or ``15%``)."""
    inc = incoming(table)
    for c, (i, k, ty) in slow.items():
        r = f"json_extract_string(__r, '$[{k - 1}]')"
        value = ty.slow.replace("{r}", r)
        still = ty.slow_unread.replace("{r}", r)
        bit = 1 << i
        con.execute(
            f"UPDATE {inc} SET {quote_ident(c)} = {value}, "
            f"__cf = CASE WHEN {still} THEN __cf ELSE __cf - {bit} END "
            f"WHERE __r IS NOT NULL AND (__cf & {bit}) <> 0 AND rowid BETWEEN {first} AND {last}"
        )


def incoming(table: str) -> str:
    return quote_ident(f"__incoming_{table}")


def _load(con, table: str, files: list[SourceFile], cols: list[str]) -> None:
    """Every file of ``table`` typed into its incoming table, in file order."""
    inc = incoming(table)
    con.execute(f"DROP TABLE IF EXISTS {inc}")
    total = 0
    for k, f in enumerate(files):
        verb = f"CREATE TABLE {inc} AS" if k == 0 else f"INSERT INTO {inc}"
        f.start = total
        query, slow = _query(con, f, cols, False)
        try:
            con.execute(f"{verb} {query}")
        except Exception as exc:
            if "unicode" in str(exc).lower() or "utf" in str(exc).lower():
                raise Fallback(f.label) from None
            good, f.bad_lines = scan_bad_lines(f)
            if not f.bad_lines:
                msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise InputError(f"{f.label}: cannot be read as CSV ({msg})") from None
            con.execute(f"{verb} {_query(con, f, cols, True)[0]}")
            loaded = con.execute(f"SELECT count(*) FROM {inc}").fetchone()[0] - total
            if loaded != good:  # the two readers disagree on a line: read it in memory
                raise Fallback(f.label) from None
        now = con.execute(f"SELECT count(*) FROM {inc}").fetchone()[0]
        f.rows = now - total
        total = now
        if f.rows == 0 and not f.bad_lines:
            raise InputError(f"{f.label}: has a header but no data rows (nothing to load)")
        _read_slowly(con, table, slow, f.start, total - 1)
    con.execute(f"ALTER TABLE {inc} DROP COLUMN __r")
