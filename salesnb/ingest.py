"""``salesnb ingest DIR --into WAREHOUSE``: load a folder of exports into the canonical model.

Reads CSV (UTF-8, UTF-8 with BOM, UTF-16, GB18030/GBK and other legacy encodings, detected
with charset-normalizer), Excel (``.xlsx`` via openpyxl, legacy ``.xls`` via xlrd) and
Parquet. Every row read is either **accepted** into its table, **quarantined** with a
reason in the ``quarantine`` table (``table_name, source_file, row_number, column_name,
reason, raw, severity``; ``raw`` is the source row as JSON text), or **filtered** out by
its source's ``where:``, so ``rows_in == accepted + quarantined + filtered`` for every
table (``filtered`` is reported for tables that have a ``where:``). Row rules live in
:mod:`salesnb.validate` (pandera). ``severity`` is ``error`` for a row (or lookup line)
that was not loaded and ``warning`` for a row that *was* loaded with one value left empty
(an optional link that does not resolve, a value outside a closed set; see below).

A file or mapping problem (a required column missing, an unknown table, an unparseable or
empty file, an empty folder) raises :class:`salesnb.errors.InputError` with one line naming
the file and column; nothing is written. The warehouse is built in a temporary copy next
to it and swapped in with ``os.replace`` only when everything succeeded, so a failed
ingest leaves it byte-for-byte as it was. Input files are only ever opened for reading.

By default the tables loaded are replaced; ``append=True`` adds rows (a key already in the
warehouse is quarantined as a duplicate), for monthly exports.

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

import codecs
import fnmatch
import json
import os
import re
import shutil
import time
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd
import yaml

from salesnb import config
from salesnb.errors import InputError
from salesnb.schema import (
    DEFAULT_DISCOUNT_AUTHORITY,
    DUCKDB_TYPES,
    OPPORTUNITY_STATUSES,
    TABLES,
    TARGET_LEVELS,
)
from salesnb.validate import (
    PANDAS_DTYPES,
    _parse_number,
    check_frame,
    coerce_column,
    quiet_connect,
)

CSV_EXTS = {".csv", ".tsv"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTS = {".parquet", ".pq"}
DATA_EXTS = CSV_EXTS | EXCEL_EXTS | PARQUET_EXTS

MAPPING_KEYS = {
    "name",
    "description",
    "source_folder",
    "encoding",
    "delimiter",
    "date_formats",
    "null_values",
    "currency",
    "lookups",
    "tables",
}
SOURCE_KEYS = {
    "file",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "columns",
    "constants",
    "derive",
    "values",
    "date_formats",
    "distinct",
    "optional",
    "where",
    "null_values",
    "description",
    "notes",
}
LOOKUP_KEYS = {
    "file",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "optional",
    "null_values",
    "description",
    "notes",
}
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

# Canonical columns whose values come from a closed set (salesnb.validate checks the first
# three; reps.role is the set of roles that carry a discount authority in salesnb.schema).
# A value outside the set is blanked with a warning when the column is optional, and
# quarantines the row when it is required; a value matching a member ignoring case and
# blanks is written as the member.
CLOSED_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("opportunities", "status"): tuple(OPPORTUNITY_STATUSES),
    ("targets", "level"): tuple(TARGET_LEVELS),
    ("pilots", "group"): ("pilot", "control"),
    ("reps", "role"): tuple(DEFAULT_DISCOUNT_AUTHORITY),
}


# --------------------------------------------------------------------------------------
# Mappings
# --------------------------------------------------------------------------------------


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 surprise that ``Yes``/``No``/``On`` are booleans."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class SourceSpec:
    """One file (or sheet) feeding one canonical table."""

    table: str
    file: str
    sheet: str | None = None
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] | None = None  # None: canonical headers, matched automatically
    constants: dict = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    date_formats: dict[str, list[str]] = field(default_factory=dict)
    distinct: bool | list[str] = False
    optional: bool = False
    where: str | None = None  # SQL boolean expression: rows for which it is not true are skipped
    null_values: list[str] | None = None  # None: the mapping's list


@dataclass
class Mapping:
    name: str
    path: Path | None
    sources: list[SourceSpec]
    description: str = ""
    source_folder: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    date_formats: list[str] | None = None
    null_values: list[str] = field(default_factory=list)
    lookups: dict[str, SourceSpec] = field(default_factory=dict)
    currency: str | None = None  # the whole export's currency when no column carries one

    def where(self) -> str:
        return f"mapping {self.name}" + (f" ({self.path})" if self.path else "")


def available_mappings() -> list[str]:
    return sorted(p.stem for p in config.MAPPINGS_DIR.glob("*.yaml"))


def resolve_mapping_path(spec: str | Path) -> Path:
    """``maven-crm`` -> salesnb/mappings/maven-crm.yaml; a path is taken as it is."""
    p = Path(spec)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists() or "/" in str(spec):
        if not p.is_file():
            raise InputError(f"{p}: mapping file not found")
        return p
    named = config.MAPPINGS_DIR / f"{spec}.yaml"
    if not named.is_file():
        raise InputError(
            f"mapping '{spec}': no such named mapping (available: {', '.join(available_mappings())}; "
            "or give a path to a YAML file)"
        )
    return named


def _as_formats(v, where: str) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise InputError(
        f"{where}: date_formats must be a format string or a list of them (e.g. '%Y-%m-%d')"
    )


def _as_null_values(v, where: str) -> list[str] | None:
    """``null_values:`` as a list of markers (text; numbers allowed, e.g. -999)."""
    if v is None:
        raise InputError(
            f"{where}: null_values: write the markers as a list of quoted texts, e.g. "
            'null_values: ["NULL", "N/A", "-"] (YAML reads a bare NULL as nothing)'
        )
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        v = [v]
    # In a list, YAML's null (a bare NULL, null or ~) can only mean the text NULL.
    v = ["NULL" if x is None else x for x in v] if isinstance(v, list) else v
    if not isinstance(v, list) or not all(
        isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v
    ):
        raise InputError(
            f"{where}: null_values must be a list of texts that mean 'no value' "
            '(e.g. ["NULL", "N/A", "-"])'
        )
    return [str(x).strip() for x in v]


def _as_bool(v, where: str) -> bool:
    if isinstance(v, bool):
        return v
    raise InputError(f"{where} must be true or false (got {v!r})")


def _as_currency(v, where: str) -> str | None:
    if v is None:
        return None
    code = str(v).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InputError(f"{where}: currency: {str(v)[:20]!r} is not a 3-letter code like BRL")
    return code


def load_mapping(spec: str | Path) -> Mapping:
    """Read and check a mapping (named or a file). Raises InputError on any mistake."""
    path = resolve_mapping_path(spec)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable YAML mapping ({first})") from exc
    name = (doc or {}).get("name") if isinstance(doc, dict) else None
    where = f"mapping {name or path.stem} ({path})"
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), dict) or not doc["tables"]:
        raise InputError(f"{where}: expected a 'tables:' section mapping canonical tables to files")
    unknown = set(doc) - MAPPING_KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key '{sorted(unknown)[0]}' (expected {', '.join(sorted(MAPPING_KEYS))})"
        )
    m = Mapping(
        name=str(name or path.stem),
        path=path,
        sources=[],
        description=str(doc.get("description") or ""),
        source_folder=doc.get("source_folder"),
        encoding=doc.get("encoding"),
        delimiter=doc.get("delimiter"),
        date_formats=_as_formats(doc["date_formats"], where) if doc.get("date_formats") else None,
        null_values=_as_null_values(doc["null_values"], where) if "null_values" in doc else [],
        currency=_as_currency(doc.get("currency"), where),
    )
    lookups = doc.get("lookups") or {}
    if not isinstance(lookups, dict):
        raise InputError(
            f"{where}: lookups: must map names to files (e.g. returns: {{file: r.csv}})"
        )
    for lname, lspec in lookups.items():
        if not isinstance(lspec, dict) or "file" not in lspec:
            raise InputError(f"{where}: lookup '{lname}' needs a 'file:'")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(lname)) or lname == "src":
            raise InputError(
                f"{where}: lookup name '{lname}' must be a plain identifier other than src"
            )
        unknown = set(lspec) - LOOKUP_KEYS
        if unknown:
            raise InputError(
                f"{where}: lookup {lname}: unknown key '{sorted(unknown)[0]}' "
                f"(expected {', '.join(sorted(LOOKUP_KEYS))})"
            )
        m.lookups[str(lname)] = SourceSpec(
            table="",
            file=str(lspec["file"]),
            sheet=lspec.get("sheet"),
            header_row=int(lspec.get("header_row", 1)),
            encoding=lspec.get("encoding"),
            delimiter=lspec.get("delimiter"),
            optional=_as_bool(lspec.get("optional", False), f"{where}: lookup {lname}: optional"),
            null_values=_as_null_values(lspec["null_values"], f"{where}: lookup {lname}")
            if "null_values" in lspec
            else None,
        )
    for table, specs in doc["tables"].items():
        if table not in TABLES:
            raise InputError(
                f"{where}: unknown table '{table}' (canonical tables: {', '.join(TABLES)})"
            )
        for i, s in enumerate(specs if isinstance(specs, list) else [specs]):
            m.sources.append(
                _parse_source(
                    table,
                    s,
                    f"{where}: table {table}"
                    + (f" source {i + 1}" if isinstance(specs, list) else ""),
                )
            )
    return m


def _parse_source(table: str, s, where: str) -> SourceSpec:
    if not isinstance(s, dict) or "file" not in s:
        raise InputError(
            f"{where}: each source needs 'file:' (a file name or pattern in the folder)"
        )
    unknown = set(s) - SOURCE_KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key '{sorted(unknown)[0]}' (expected {', '.join(sorted(SOURCE_KEYS))})"
        )
    t = TABLES[table]
    columns = {str(k): str(v) for k, v in (s.get("columns") or {}).items()}
    constants = dict(s.get("constants") or {})
    derive = {str(k): str(v) for k, v in (s.get("derive") or {}).items()}
    values = s.get("values") or {}
    for section, cols in (
        ("columns", columns),
        ("constants", constants),
        ("derive", derive),
        ("values", values),
    ):
        for c in cols:
            if c not in t.column_names:
                raise InputError(
                    f"{where}: {section}: '{c}' is not a column of {table} (columns: {', '.join(t.column_names)})"
                )
    for c in columns:
        if c in constants or c in derive:
            raise InputError(f"{where}: column '{c}' is given twice (columns and constants/derive)")
    for c in constants:
        if c in derive:
            raise InputError(f"{where}: column '{c}' is given twice (constants and derive)")
    for c, e in derive.items():
        if ";" in e.replace("';'", ""):
            raise InputError(f"{where}: derive {c}: one expression only (no ';')")
    row_filter = s.get("where")
    if row_filter is not None:
        if not isinstance(row_filter, str) or not row_filter.strip():
            raise InputError(
                f"{where}: where: must be one SQL condition over the source columns "
                """(e.g. where: '"Region" <> ''Test'' ')"""
            )
        if ";" in row_filter.replace("';'", ""):
            raise InputError(f"{where}: where: one expression only (no ';')")
    supplied = set(columns) | set(constants) | set(derive)
    for c in t.required_columns:
        if c not in supplied:
            raise InputError(
                f"{where}: required column '{c}' of {table} is not mapped (add it under columns:, constants: or derive:)"
            )
    for c, vm in values.items():
        if not isinstance(vm, dict):
            raise InputError(f"{where}: values: '{c}' must map source values to canonical values")
    dfmt = s.get("date_formats") or {}
    if isinstance(dfmt, (str, list)):
        fmts = _as_formats(dfmt, where)
        dfmt = {c.name: fmts for c in t.columns if c.type in ("date", "datetime")}
    elif isinstance(dfmt, dict):
        dfmt = {str(k): _as_formats(v, where) for k, v in dfmt.items()}
    else:
        raise InputError(f"{where}: date_formats must be a format, a list or a column: format map")
    distinct = s.get("distinct", False)
    if isinstance(distinct, list):
        bad = [c for c in distinct if c not in supplied]
        if bad:
            raise InputError(f"{where}: distinct: '{bad[0]}' is not a mapped column")
    return SourceSpec(
        table=table,
        file=str(s["file"]),
        sheet=None if s.get("sheet") is None else str(s["sheet"]),
        header_row=int(s.get("header_row", 1)),
        encoding=s.get("encoding"),
        delimiter=s.get("delimiter"),
        columns=columns,
        constants=constants,
        derive=derive,
        values={str(k): {str(a): b for a, b in v.items()} for k, v in values.items()},
        date_formats=dfmt,
        distinct=distinct,
        optional=bool(s.get("optional", False)),
        where=row_filter.strip() if row_filter else None,
        null_values=_as_null_values(s["null_values"], where) if "null_values" in s else None,
    )


# --------------------------------------------------------------------------------------
# Reading files
# --------------------------------------------------------------------------------------


@dataclass
class RawFile:
    """A file (or sheet) as read: source columns, row numbers, and lines that did not parse."""

    label: str  # file name (+ [sheet]) shown in messages and the quarantine
    df: pd.DataFrame  # source columns, positional index
    row_numbers: np.ndarray  # the row as a spreadsheet shows it (header row = 1)
    bad_lines: list[tuple[int | None, str, str]] = field(
        default_factory=list
    )  # (row, reason, text)
    encoding: str | None = None


def _norm(name) -> str:
    return re.sub(r"[\s_\-.]+", "_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """The text encoding of a CSV file (``declared`` wins unless it is ``auto``)."""
    if declared and str(declared).lower() != "auto":
        try:
            codecs.lookup(declared)
        except LookupError:
            raise InputError(f"{path.name}: unknown encoding '{declared}' in the mapping") from None
        return str(declared)
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head.strip():
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise InputError(
            f"{path.name}: not a text CSV file (it contains binary data; expected comma-separated text)"
        )
    if _decodes(path, "utf-8"):
        return "utf-8"
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(head))
    if not matches:
        raise InputError(
            f"{path.name}: not a text CSV file (cannot recognise its text encoding; set encoding: in a mapping)"
        )
    best = min(m.chaos for m in matches)
    tied = [m.encoding for m in matches if m.chaos <= best + 0.01]
    # Short Chinese samples are often also valid Korean/Japanese; GBK exports are the case
    # we are asked to handle, and GB18030 is its superset. Western text: prefer cp1252.
    preferred = [e for e in ("gb18030", "gbk", "gb2312", "cp1252") if e in tied]
    candidates = (
        (["gb18030"] if preferred and preferred[0].startswith("gb") else preferred)
        + tied
        + [m.encoding for m in matches]
    )
    for enc in dict.fromkeys(candidates):
        if _decodes(path, enc):
            return enc
    raise InputError(
        f"{path.name}: cannot decode the text (tried {', '.join(dict.fromkeys(candidates))}); set encoding: in a mapping"
    )


def _decodes(path: Path, encoding: str) -> bool:
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    d = max(counts, key=counts.get)
    return d if counts[d] else ","


def read_csv(path: Path, encoding=None, delimiter=None, header_row: int = 1) -> RawFile:
    """Every column as text; lines with the wrong number of fields are kept aside."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    enc = detect_encoding(path, encoding)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode(enc, errors="ignore").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    skip = max(header_row - 1, 0)
    if len(lines) <= skip:
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    delim = delimiter or ("\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(lines[skip]))
    if delim == "whitespace":
        return _read_whitespace(path, enc, header_row)
    bad: list[tuple[int | None, str, str]] = []

    def on_bad(row):
        bad.append(
            (
                row.number,
                f"line has {row.actual_columns} fields, the header has {row.expected_columns}"
                + (" (truncated line?)" if row.actual_columns < row.expected_columns else ""),
                row.text,
            )
        )
        return "skip"

    pyenc = "utf8" if enc in ("utf-8", "utf-8-sig") else enc
    ropts = dict(use_threads=False, encoding=pyenc, skip_rows=skip, block_size=1 << 24)
    popts = pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=on_bad)
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(**ropts), parse_options=popts)
        names = list(reader.schema.names)
        reader.close() if hasattr(reader, "close") else None
        dupes = [n for n, k in Counter(names).items() if k > 1]
        if dupes:
            raise InputError(
                f"{path.name}: column '{dupes[0]}' appears more than once in the header"
            )
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        bad.clear()
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(**ropts),
            parse_options=popts,
            convert_options=convert,
        )
    except InputError:
        raise
    except Exception as exc:  # pyarrow's own message says which line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path.name}: cannot be read as CSV ({msg})") from exc
    df = table.to_pandas()
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    if len(df) == 0 and not bad:
        raise InputError(f"{path.name}: has a header but no data rows (nothing to load)")
    # Rows are numbered as in a spreadsheet: header row, then data rows. pyarrow numbers the
    # lines it rejects the same way, so the good rows take the numbers in between.
    bad_numbers = np.asarray(sorted({b[0] for b in bad if b[0] is not None}), dtype="int64")
    candidates = np.arange(
        header_row + 1, header_row + 1 + len(df) + len(bad_numbers), dtype="int64"
    )
    numbers = candidates[~np.isin(candidates, bad_numbers)][: len(df)]
    return RawFile(path.name, df, np.asarray(numbers, dtype="int64"), bad, enc)


def _read_whitespace(path: Path, enc: str, header_row: int) -> RawFile:
    """Fields separated by runs of blanks (``delimiter: whitespace``), e.g. CDNOW_master.txt."""
    with open(path, encoding=enc, newline="") as fh:
        lines = fh.read().lstrip("\ufeff").splitlines()
    header = None
    rows, numbers, bad = [], [], []
    for number, line in enumerate(lines, start=1):
        if number < header_row or not line.strip():
            continue
        fields = line.split()
        if header is None:
            header = fields
            continue
        if len(fields) != len(header):
            reason = f"line has {len(fields)} fields, the header has {len(header)}"
            bad.append(
                (number, reason + (" (truncated line?)" if len(fields) < len(header) else ""), line)
            )
            continue
        rows.append(fields)
        numbers.append(number)
    if header is None:
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    dupes = [n for n, k in Counter(header).items() if k > 1]
    if dupes:
        raise InputError(f"{path.name}: column '{dupes[0]}' appears more than once in the header")
    if not rows and not bad:
        raise InputError(f"{path.name}: has a header but no data rows (nothing to load)")
    df = (
        pd.DataFrame(rows, columns=header, dtype="str")
        if rows
        else pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    )
    return RawFile(path.name, df, np.asarray(numbers, dtype="int64"), bad, enc)


_WORKBOOKS: dict[str, pd.ExcelFile] = {}


def _workbook(path: Path) -> pd.ExcelFile:
    """An open workbook, parsed once per ingest (xlrd parses every sheet on opening)."""
    key = str(path.resolve())
    if key not in _WORKBOOKS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _WORKBOOKS[key] = pd.ExcelFile(path)
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{path.name}: not a readable Excel workbook ({msg})") from exc
    return _WORKBOOKS[key]


def _close_workbooks() -> None:
    for wb in _WORKBOOKS.values():
        try:
            wb.close()
        except Exception:  # closing a read-only file is best effort
            pass
    _WORKBOOKS.clear()


def excel_sheets(path: Path) -> list[str]:
    return [str(s) for s in _workbook(path).sheet_names]


def read_excel(path: Path, sheet: str | None = None, header_row: int = 1) -> RawFile:
    sheets = excel_sheets(path)
    if not sheets:
        raise InputError(f"{path.name}: the workbook has no sheets")
    if sheet is None:
        use = sheets[0]
    else:
        match = [s for s in sheets if s == sheet] or [s for s in sheets if _norm(s) == _norm(sheet)]
        if not match:
            raise InputError(f"{path.name}: no sheet named '{sheet}' (sheets: {', '.join(sheets)})")
        use = match[0]
    label = f"{path.name}[{use}]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = _workbook(path).parse(sheet_name=use, dtype=object, header=header_row - 1)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{label}: cannot read the sheet ({msg})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    numbers = np.arange(len(df), dtype="int64") + header_row + 1
    keep = ~df.isna().all(axis=1).to_numpy()
    df = df[keep].reset_index(drop=True)
    numbers = numbers[keep]
    if df.shape[1] == 0 or all(c.startswith("Unnamed:") for c in df.columns):
        raise InputError(f"{label}: the sheet is empty (expected a header row and data rows)")
    if len(df) == 0:
        raise InputError(f"{label}: has a header but no data rows (nothing to load)")
    return RawFile(label, df, numbers)


def read_parquet(path: Path) -> RawFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path.name}: not a readable Parquet file ({msg})") from exc
    df = table.to_pandas(date_as_object=False)
    if len(df) == 0:
        raise InputError(f"{path.name}: has columns but no rows (nothing to load)")
    return RawFile(path.name, df, np.arange(1, len(df) + 1, dtype="int64"))


class _Reader:
    """Reads each (file, sheet) once, however many sources use it."""

    def __init__(self, mapping: Mapping | None):
        self.mapping = mapping
        self.cache: dict[tuple, RawFile] = {}

    def read(self, path: Path, spec: SourceSpec) -> RawFile:
        m = self.mapping
        enc = spec.encoding or (m.encoding if m else None)
        delim = spec.delimiter or (m.delimiter if m else None)
        key = (str(path), spec.sheet, spec.header_row, enc, delim)
        if key not in self.cache:
            ext = path.suffix.lower()
            if ext in EXCEL_EXTS:
                self.cache[key] = read_excel(path, spec.sheet, spec.header_row)
            elif ext in PARQUET_EXTS:
                self.cache[key] = read_parquet(path)
            else:
                self.cache[key] = read_csv(path, enc, delim, spec.header_row)
        return self.cache[key]


# --------------------------------------------------------------------------------------
# Planning: which files feed which tables
# --------------------------------------------------------------------------------------


def _data_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in DATA_EXTS
    )


def _table_for_stem(stem: str) -> str | None:
    s = _norm(stem)
    for t in sorted(TABLES, key=len, reverse=True):
        if s == t or s.startswith(t + "_"):
            return t
    return None


def plan_canonical(folder: Path) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    """Sources of a folder whose files are named after canonical tables."""
    plan: list[tuple[Path, SourceSpec]] = []
    files = _data_files(folder)
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to load)")
    for p in files:
        table = _table_for_stem(p.stem)
        if p.suffix.lower() in EXCEL_EXTS:
            sheets = excel_sheets(p)
            if table is not None:
                named = [s for s in sheets if _norm(s) == table]
                plan.append((p, SourceSpec(table, p.name, sheet=named[0] if named else sheets[0])))
                continue
            per_sheet = [(s, _table_for_stem(s)) for s in sheets]
            per_sheet = [(s, t) for s, t in per_sheet if t]
            if per_sheet:
                plan.extend((p, SourceSpec(t, p.name, sheet=s)) for s, t in per_sheet)
                continue
        if table is None:
            raise InputError(
                f"{p.name}: unknown table '{p.stem}' (name files after a canonical table: "
                f"{', '.join(TABLES)}; or pass --mapping)"
            )
        plan.append((p, SourceSpec(table, p.name)))
    return plan, []


def plan_mapping(folder: Path, m: Mapping) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    plan = []
    used: set[Path] = set()
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for spec in m.sources:
        paths = _match(folder, spec.file, names)
        if not paths:
            if spec.optional:
                continue
            raise InputError(
                f"{folder / spec.file}: file not found ({m.where()} reads table {spec.table} from it; "
                f"files here: {', '.join(names) or 'none'})"
            )
        for p in paths:
            plan.append((p, spec))
            used.add(p)
    for spec in m.lookups.values():
        used.update(_match(folder, spec.file, names))
    ignored = [n for n in names if folder / n not in used and not n.startswith(".")]
    return plan, ignored


def _match(folder: Path, pattern: str, names: list[str]) -> list[Path]:
    hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not hits:
        hits = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
    return [folder / n for n in sorted(hits)]


# --------------------------------------------------------------------------------------
# Turning a raw file into canonical rows
# --------------------------------------------------------------------------------------


@dataclass
class Piece:
    """Rows of one source, coerced to the table's types, with the failures found so far."""

    raw: RawFile
    frame: pd.DataFrame  # canonical columns + __pos (position in raw.df)
    failures: dict[int, list[tuple[str, str]]]  # __pos -> [(column, reason)]
    ignored_columns: list[str]
    filtered: int = 0  # rows skipped by the source's where:
    row_filter: bool = False  # the source has a where:
    # __pos -> [(column, reason)]: a value left empty, the row still loaded
    warnings: dict[int, list[tuple[str, str]]] = field(default_factory=dict)


@dataclass
class _Context:
    """What expressions may see besides the source: the lookups read, the absent ones."""

    lookups: dict[str, pd.DataFrame] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)  # optional lookups whose file is absent
    files: list[str] = field(default_factory=list)  # file names in the folder, for hints


def _q(name: str) -> str:
    return '"' + str(name).replace('"', '""') + '"'


def _find_column(raw: RawFile, name: str) -> str | None:
    if name in raw.df.columns:
        return name
    target = _norm(name)
    for c in raw.df.columns:
        if _norm(c) == target:
            return c
    return None


def _uses(expr: str, column: str) -> bool:
    if _q(column) in expr:
        return True
    return re.search(r"(?<![\w\"])" + re.escape(column) + r"(?![\w\"])", expr) is not None


def null_markers(spec: SourceSpec, m: Mapping | None) -> list[str]:
    """The source's ``null_values:``, else the mapping's (a source's list replaces it)."""
    if spec.null_values is not None:
        return spec.null_values
    return list(m.null_values) if m else []


def apply_null_values(df: pd.DataFrame, markers: list[str]) -> pd.DataFrame:
    """Cells whose text is one of ``markers`` (ignoring case and blanks) become missing."""
    if not markers or df.empty:
        return df
    low = {str(x).strip().lower() for x in markers}
    out = {}
    for c in df.columns:
        s = df[c]
        text = coerce_column(s, "str").values
        hit = text.str.lower().isin(low).fillna(False).to_numpy(dtype=bool)
        out[c] = s.where(~hit) if hit.any() else s
    return pd.DataFrame(out, index=df.index)


def _as_numbers(s: pd.Series) -> pd.Series:
    """Numbers for DuckDB: whole numbers as BIGINT, others as DOUBLE.

    A column of whole numbers stays whole in expressions, so an id built from it reads
    ``1001-2``, not ``1001.0-2.0`` (DuckDB writes a DOUBLE 2 as ``2.0``).
    """
    f = pd.Series(s, copy=False).astype("float64")
    v = f.to_numpy()
    fin = np.isfinite(v)
    if fin.any() and not np.isinf(v).any():
        w = v[fin]
        if np.all(w == np.round(w)) and np.abs(w).max() < 2**53:
            return f.astype("Int64")
    return f


def _duck_frame(
    df: pd.DataFrame,
    numeric_cols: set[str],
    failures=None,
    label="",
    purpose="",
    positions: np.ndarray | None = None,
) -> pd.DataFrame:
    """A frame DuckDB can scan: one type per column; text numbers used by expressions -> numbers.

    ``positions``: the ``__pos`` of each row (default 0..n-1); failures are keyed by it.
    """
    pos_of = np.arange(len(df), dtype="int64") if positions is None else np.asarray(positions)
    out = {}
    for c in df.columns:
        s = df[c]
        if s.dtype == object:
            kind = pd.api.types.infer_dtype(s, skipna=True)
            if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
                s = _as_numbers(s)
            elif kind in ("datetime", "datetime64", "date"):
                s = pd.to_datetime(s)
            elif kind == "boolean":
                s = s.astype("boolean")
            else:
                s = coerce_column(s, "str").values
        elif pd.api.types.is_float_dtype(s.dtype):
            s = _as_numbers(s)
        elif pd.api.types.is_string_dtype(s.dtype):
            s = coerce_column(s, "str").values  # an empty cell is NULL, as in object columns
        if c in numeric_cols and pd.api.types.is_string_dtype(s.dtype):
            text = s.str.strip()
            empty = text.isna() | (text == "")
            num, failed = _parse_number(text.where(~empty))
            bad = failed & ~empty
            if not (~empty).sum():
                s = num  # nothing but empty cells: an empty number column
            elif bad.sum() <= 0.5 * (~empty).sum():
                if failures is not None:
                    for i in np.flatnonzero(bad.to_numpy()):
                        failures.setdefault(int(pos_of[i]), []).append(
                            (c, f"{c}: {s.iloc[i]!r} is not a number (needed by {purpose})")
                        )
                s = _as_numbers(num)
        out[c] = s.reset_index(drop=True) if hasattr(s, "reset_index") else s
    frame = pd.DataFrame(out)
    frame["__pos"] = pos_of.astype("int64")
    return frame


def _tables_named(expr: str) -> set[str]:
    """Tables an expression reads (parsed by DuckDB, lower case); empty if it does not parse."""
    con = quiet_connect(":memory:")
    try:
        return {str(n).lower() for n in con.get_table_names(f"SELECT ({expr}) FROM src")}
    except Exception:  # the evaluation reports the mistake
        return set()
    finally:
        con.close()


def _expr_connection(frame: pd.DataFrame, exprs, ctx: _Context):
    """In-memory DuckDB with ``src`` and the lookups registered, file access switched off."""
    con = quiet_connect(":memory:")
    con.register("src", frame)
    for name, lf in ctx.lookups.items():
        lused = {c for c in lf.columns for e in exprs if _uses(e, c)}
        con.register(name, _duck_frame(lf, lused))
    con.execute("SET enable_external_access = false")
    con.execute("SET lock_configuration = true")
    return con


def _expr_error(exc, what: str, expr: str, raw: RawFile, m: Mapping, ctx: _Context) -> str:
    """One line for an expression DuckDB rejected, with a hint when it names a file/table."""
    msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
    line = f"{raw.label}: {what} = {expr!r} failed ({msg})"
    table = re.search(r"Table with name (.+?)!? does not exist", msg)
    path = re.search(r'Cannot access file "([^"]+)"', msg)
    if table or path:
        name = table.group(1).strip('"') if table else Path(path.group(1)).name
        stem = _norm(Path(name).stem) or "lookup"
        match = [f for f in ctx.files if f == name] or [
            f for f in ctx.files if _norm(Path(f).stem) == _norm(Path(name).stem)
        ]
        file = match[0] if match else (name if path else f"{name}.csv")
        if table:
            line += (
                f": '{name}' is not declared; declare it under lookups: ({stem}: {{file: {file}}})"
            )
        else:
            line += (
                f": expressions cannot read files; declare {file} under lookups: "
                f"({stem}: {{file: {file}}}) and query it as {stem}"
            )
    return f"{line} [{m.where()}]"


def _filter_rows(
    spec: SourceSpec, raw: RawFile, df: pd.DataFrame, m: Mapping, ctx: _Context, failures: dict
) -> np.ndarray:
    """Positions of the rows ``where:`` keeps (true; false and NULL are skipped).

    A row whose cell the condition needs is not a number is kept, to be quarantined.
    """
    expr = spec.where
    absent = _tables_named(expr) & {a.lower() for a in ctx.absent}
    if absent:
        raise InputError(
            f"{raw.label}: where of table {spec.table} reads lookup '{sorted(absent)[0]}', whose "
            f"file is absent (optional); cannot tell which rows to keep [{m.where()}]"
        )
    used = {c for c in df.columns if _uses(expr, c)}
    frame = _duck_frame(df, used, failures, raw.label, f"where of {spec.table}")
    con = _expr_connection(frame, [expr], ctx)
    try:
        kept = con.sql(f"SELECT __pos FROM src WHERE ({expr}) ORDER BY __pos").fetchnumpy()
    except Exception as exc:
        raise InputError(
            _expr_error(exc, f"where of table {spec.table}", expr, raw, m, ctx)
        ) from None
    finally:
        con.close()
    keep = np.asarray(kept["__pos"], dtype="int64")
    return np.union1d(keep, np.asarray(sorted(failures), dtype="int64"))


def _evaluate(
    spec: SourceSpec,
    raw: RawFile,
    df: pd.DataFrame,
    positions: np.ndarray,
    m: Mapping,
    ctx: _Context,
    failures: dict,
) -> tuple[pd.DataFrame, dict[str, set[str]]]:
    """The derived columns of ``spec``, computed by DuckDB with file access switched off.

    ``df``: the source rows kept (null markers applied, ``where:`` done), at ``positions``
    of the file. Returns the derived frame and, per column, the lookups its expression reads.
    A column whose expression reads an optional lookup that is absent is empty.
    """
    t = TABLES[spec.table]
    reads = {
        col: _tables_named(e) & set(map(str.lower, ctx.lookups)) for col, e in spec.derive.items()
    }
    absent_low = {a.lower() for a in ctx.absent}
    empty = {}
    for col, expr in spec.derive.items():
        missing = _tables_named(expr) & absent_low
        if not missing:
            continue
        if t.column(col).required:
            raise InputError(
                f"{raw.label}: derive {spec.table}.{col} reads lookup '{sorted(missing)[0]}', "
                f"whose file is absent (optional), but {col} is required [{m.where()}]"
            )
        empty[col] = sorted(missing)
    live = {c: e for c, e in spec.derive.items() if c not in empty}
    out = pd.DataFrame(index=pd.RangeIndex(len(df)))
    if live:
        used = {c for c in df.columns for e in live.values() if _uses(e, c)}
        purpose = "derive " + ", ".join(live)
        frame = _duck_frame(df, used, failures, raw.label, purpose, positions)
        con = _expr_connection(frame, list(live.values()), ctx)
        try:
            select = ", ".join(f"({expr}) AS {_q(col)}" for col, expr in live.items())
            try:
                got = con.sql(f"SELECT __pos, {select} FROM src ORDER BY __pos").df()
            except Exception:
                # Say which expression failed, one at a time.
                for col, expr in live.items():
                    try:
                        con.sql(f"SELECT ({expr}) AS v FROM src LIMIT 1").fetchall()
                    except Exception as exc:
                        raise InputError(
                            _expr_error(exc, f"derive {spec.table}.{col}", expr, raw, m, ctx)
                        ) from None
                raise
        finally:
            con.close()
        for col in live:
            out[col] = got[col].reset_index(drop=True)
    for col in empty:
        out[col] = pd.Series([None] * len(df), dtype=object)
    return out[list(spec.derive)], reads


def _apply_values(s: pd.Series, vmap: dict) -> pd.Series:
    text = coerce_column(s, "str").values
    exact = text.map(vmap)
    lower = {str(k).strip().lower(): v for k, v in vmap.items()}
    rest = text.str.lower().map(lower)
    mapped = exact.where(exact.notna(), rest)
    out = s.astype(object).copy()
    hit = mapped.notna().to_numpy()
    out[hit] = mapped[hit].to_numpy()
    return out


def _is_id_column(t, c: str) -> bool:
    return c.endswith("_id") or (c in t.key and t.column(c).type == "str")


def _ids_as_text(values: pd.Series) -> pd.Series:
    """An id column whose values are all numbers: integers written as floats lose the .0."""
    present = values.dropna()
    if present.empty or not present.str.contains(".", regex=False).any():
        return values  # nothing written as a float
    if not present.str.fullmatch(r"[+-]?\d+(\.\d+)?").all():
        return values
    return values.str.replace(r"^([+-]?\d+)\.0+$", r"\1", regex=True)


def _present(s: pd.Series) -> np.ndarray:
    """True where a source cell holds something (not missing, not blank)."""
    return coerce_column(s, "str").values.notna().to_numpy(dtype=bool)


def build_piece(
    spec: SourceSpec,
    raw: RawFile,
    m: Mapping | None,
    lookups: dict[str, pd.DataFrame],
    table_columns: list[str],
    ctx: _Context | None = None,
) -> Piece:
    t = TABLES[spec.table]
    ctx = ctx or _Context(lookups=lookups)
    failures: dict[int, list[tuple[str, str]]] = {}
    warns: dict[int, list[tuple[str, str]]] = {}
    cols: dict[str, pd.Series] = {}
    filtered = 0
    if spec.columns is None:
        n = len(raw.df)
        positions = np.arange(n, dtype="int64")
        # Canonical folder: headers are the canonical names.
        by_norm = {}
        for c in raw.df.columns:
            by_norm.setdefault(_norm(c), c)
        for c in t.column_names:
            if c in by_norm:
                cols[c] = raw.df[by_norm[c]]
        missing = [c for c in t.required_columns if c not in cols]
        if missing:
            raise InputError(
                f"{raw.label}: required column '{missing[0]}' of table {t.name} is missing "
                f"(found: {', '.join(map(str, raw.df.columns))})"
            )
        ignored = [c for c in raw.df.columns if _norm(c) not in t.column_names]
    else:
        # Null markers first, then the row filter, then columns, constants and expressions
        # over the rows kept (so window functions number the rows that are loaded).
        df = apply_null_values(raw.df, null_markers(spec, m))
        positions = np.arange(len(df), dtype="int64")
        if spec.where:
            positions = _filter_rows(spec, raw, df, m, ctx, failures)
            filtered = len(df) - len(positions)
            df = df.iloc[positions].reset_index(drop=True)
        n = len(df)
        for canon, src in spec.columns.items():
            found = _find_column(raw, src)
            if found is None:
                raise InputError(
                    f"{raw.label}: column '{src}' is missing ({m.where() if m else 'mapping'} reads "
                    f"{t.name}.{canon} from it; found: {', '.join(map(str, raw.df.columns))})"
                )
            cols[canon] = df[found]
        for canon, value in spec.constants.items():
            cols[canon] = pd.Series([value] * n, dtype=object)
        if spec.derive:
            derived, reads = _evaluate(spec, raw, df, positions, m, ctx, failures)
            for canon, expr in spec.derive.items():
                s = derived[canon]
                if _is_id_column(t, canon) and pd.api.types.is_string_dtype(s.dtype):
                    s = _ids_as_text(coerce_column(s, "str").values)
                cols[canon] = s
                if not reads.get(canon):
                    continue
                # A link through a lookup that found nothing, for a row that had its inputs.
                inputs = [c for c in df.columns if _uses(expr, c)]
                unresolved = np.array(s.isna(), dtype=bool)
                for c in inputs:
                    unresolved &= _present(df[c])
                names = ", ".join(sorted(reads[canon]))
                for i in np.flatnonzero(unresolved):
                    pos = int(positions[i])
                    if t.column(canon).required:
                        failures.setdefault(pos, []).append(
                            (canon, f"{canon}: no match in lookup {names}")
                        )
                    else:
                        warns.setdefault(pos, []).append(
                            (canon, f"{canon}: no match in lookup {names}")
                        )
        used_src = {_find_column(raw, s) for s in spec.columns.values()}
        exprs = list(spec.derive.values()) + ([spec.where] if spec.where else [])
        ignored = [
            c for c in raw.df.columns if c not in used_src and not any(_uses(e, c) for e in exprs)
        ]
    for canon, vmap in spec.values.items():
        if canon in cols:
            cols[canon] = _apply_values(cols[canon], vmap)
    frame = pd.DataFrame({c: s.reset_index(drop=True) for c, s in cols.items()})
    frame["__pos"] = positions
    if spec.distinct:
        subset = list(spec.distinct) if isinstance(spec.distinct, list) else [c for c in cols]
        keyed = frame[subset].astype(object).where(frame[subset].notna(), None)
        frame = frame[~keyed.duplicated(keep="first").to_numpy()]
    # Coerce to the table's types; every column of the table present in any source.
    out = {}
    for c in table_columns:
        ltype = t.column(c).type
        if c in frame.columns:
            formats = spec.date_formats.get(c) or (m.date_formats if m else None)
            co = coerce_column(frame[c].reset_index(drop=True), ltype, formats)
            for i in np.flatnonzero(co.bad.to_numpy()):
                pos = int(frame["__pos"].iloc[i])
                failures.setdefault(pos, []).append(
                    (c, f"{c}: {_show(frame[c].iloc[i])} is not {co.expected}")
                )
            values = co.values
            if ltype == "str" and _is_id_column(t, c):
                values = _ids_as_text(values)
            if (t.name, c) in CLOSED_SETS:
                values = _closed_set(t, c, values, frame, spec, m, failures, warns)
            out[c] = values
        else:
            out[c] = pd.Series(pd.array([None] * len(frame), dtype=PANDAS_DTYPES[ltype]))
    typed = pd.DataFrame(out)
    typed["__pos"] = frame["__pos"].to_numpy()
    # Failures from expressions may name rows dropped as duplicates: keep only live rows.
    live = set(typed["__pos"].tolist()) if (failures or warns) else set()
    failures = {p: r for p, r in failures.items() if p in live}
    warns = {p: r for p, r in warns.items() if p in live}
    # A warned value is left empty in the row that is loaded.
    if warns:
        where_pos = pd.Index(typed["__pos"])
        for pos, items in warns.items():
            i = where_pos.get_loc(pos)
            for c, _r in items:
                if c in typed.columns:
                    typed.loc[typed.index[i], c] = None
    return Piece(raw, typed, failures, ignored, filtered, bool(spec.where), warns)


def _closed_set(t, c, values, frame, spec, m, failures, warns) -> pd.Series:
    """Values of a closed-set column: members kept (case fixed), others blanked or refused."""
    allowed = CLOSED_SETS[(t.name, c)]
    canon = {a.lower(): a for a in allowed}
    fixed = values.str.strip().str.lower().map(canon)
    outside = (values.notna() & fixed.isna()).to_numpy(dtype=bool)
    if m is None:
        hint = ""
    elif spec.values.get(c):
        hint = f" (not covered by values: {c} in the mapping)"
    else:
        hint = f" (map it under values: {c} in the mapping)"
    required = t.column(c).required
    for i in np.flatnonzero(outside):
        pos = int(frame["__pos"].iloc[i])
        reason = f"{c}: {values.iloc[i]!r} is not one of {', '.join(allowed)}{hint}"
        if required:
            failures.setdefault(pos, []).append((c, reason))
        else:
            warns.setdefault(pos, []).append((c, reason))
    return fixed.astype(values.dtype)


def _show(v) -> str:
    if isinstance(v, str):
        return repr(v)
    if v is None or (isinstance(v, float) and np.isnan(v)):
        return "empty"
    return repr(str(v))


def _raw_json(raw: RawFile, pos: int) -> str:
    row = raw.df.iloc[pos]
    d = {}
    for k, v in row.items():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA:
            d[str(k)] = None
        elif isinstance(v, (np.integer,)):
            d[str(k)] = int(v)
        elif isinstance(v, (np.floating, float)):
            d[str(k)] = float(v)
        elif isinstance(v, (int, bool, str)):
            d[str(k)] = v
        else:
            d[str(k)] = str(v)
    return json.dumps(d, ensure_ascii=False, default=str)


# --------------------------------------------------------------------------------------
# The ingest
# --------------------------------------------------------------------------------------


@dataclass
class IngestResult:
    """What an ingest did: per-table counts, files read and ignored, quarantine reasons.

    ``tables``: per table ``rows_in``, ``accepted``, ``quarantined``; ``filtered`` (rows
    skipped by ``where:``) for tables with a row filter; ``warnings`` (rows loaded with a
    value left empty) when there are some. ``lookups``: per lookup ``rows_in``,
    ``accepted``, ``malformed`` (lines that did not parse), ``files``, ``missing``.
    """

    folder: str
    into: str
    mapping: str | None
    append: bool
    tables: dict[str, dict] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # table -> file labels
    ignored_files: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # (table, reason) -> rows
    warnings: Counter = field(default_factory=Counter)  # (table, reason) -> rows kept
    lookups: dict[str, dict] = field(default_factory=dict)
    lost_lookup_lines: list[tuple[str, str, int | None]] = field(default_factory=list)
    blanked_by_absent: dict[str, list[str]] = field(default_factory=dict)  # lookup -> table.col
    seconds: float = 0.0

    def as_json(self) -> dict:
        out: dict = {"tables": {}}
        for t, c in self.tables.items():
            row = {k: c[k] for k in ("rows_in", "accepted", "quarantined")}
            for k in ("filtered", "warnings"):
                if k in c:
                    row[k] = c[k]
            out["tables"][t] = row
        if self.lookups:
            out["lookups"] = {
                name: {k: c[k] for k in ("rows_in", "accepted", "malformed", "files", "missing")}
                for name, c in self.lookups.items()
            }
        return out

    def summary(self) -> str:
        mode = "appended to" if self.append else "loaded into"
        how = f"mapping {self.mapping}" if self.mapping else "canonical file names"
        lines = [f"{self.folder} {mode} {self.into} ({how}, {self.seconds:.1f}s)"]
        has_filter = any("filtered" in c for c in self.tables.values())
        fcol = f" {'filtered':>10}" if has_filter else ""
        lines.append(
            f"  {'table':<14} {'rows in':>10} {'accepted':>10} {'quarantined':>12}{fcol}  files"
        )
        for t, c in self.tables.items():
            fval = f" {c.get('filtered', 0):>10,}" if has_filter else ""
            lines.append(
                f"  {t:<14} {c['rows_in']:>10,} {c['accepted']:>10,} {c['quarantined']:>12,}{fval}  "
                + ", ".join(dict.fromkeys(self.files.get(t, [])))
            )
        if self.reasons:
            lines.append("  quarantined rows (see table quarantine):")
            for (t, r), k in self.reasons.most_common(10):
                lines.append(f"    {t}: {r} ({k:,} rows)")
            if len(self.reasons) > 10:
                lines.append(f"    ... and {len(self.reasons) - 10} more kinds of problem")
        if self.warnings:
            lines.append(
                "  values left empty, rows loaded (see table quarantine, severity warning):"
            )
            for (t, r), k in self.warnings.most_common(10):
                lines.append(f"    {t}: {r} ({k:,} rows)")
            if len(self.warnings) > 10:
                lines.append(f"    ... and {len(self.warnings) - 10} more kinds of warning")
        if self.lookups:
            lines.append("  lookups (read by expressions, not loaded):")
            for name, c in self.lookups.items():
                if c["missing"]:
                    cols = self.blanked_by_absent.get(name) or []
                    lines.append(
                        f"    {name:<12} {c['file']} not found (optional)"
                        + (f": left empty: {', '.join(cols)}" if cols else "")
                    )
                    continue
                k = c["malformed"]
                bad = f", {k:,} malformed line{'s' if k != 1 else ''}" if k else ""
                lines.append(
                    f"    {name:<12} {c['rows_in']:,} rows in, {c['accepted']:,} read{bad}  "
                    + ", ".join(c["files"])
                )
        if self.ignored_files:
            lines.append(f"  files not used: {', '.join(self.ignored_files)}")
        for f, cols in self.ignored_columns.items():
            if cols:
                lines.append(f"  columns not used in {f}: {', '.join(map(str, cols))}")
        if self.lost_lookup_lines:
            # Always the last line: lookup lines are lost silently otherwise.
            where = [f"{label} line {n}" for _l, label, n in self.lost_lookup_lines[:5]]
            more = len(self.lost_lookup_lines) - len(where)
            k = len(self.lost_lookup_lines)
            lines.append(
                f"  LOOKUP LINES LOST: {k:,} malformed line{'s' if k != 1 else ''} of lookup files "
                f"{'were' if k != 1 else 'was'} not read ({', '.join(where)}"
                + (f" and {more:,} more" if more else "")
                + "); expressions did not see them: fix the file (see table quarantine)"
            )
        return "\n".join(lines)


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


def _generic(reason: str) -> str:
    """A quarantine reason without the row's own value, for counting kinds of problem."""
    r = re.sub(r" \(got .*?\)", "", reason)
    r = re.sub(r"= \(.*?\)", "", r)
    r = re.sub(r"^(\w+): .*? is not ", r"\1 is not ", r)
    r = re.sub(r"line has \d+ fields, the header has (\d+)", r"line does not have \1 fields", r)
    return r.strip()


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
    df = con.execute(f"SELECT {', '.join(_q(c) for c in columns)} FROM {_q(table)}").df()
    t = TABLES[table]
    typed = pd.DataFrame({c: coerce_column(df[c], t.column(c).type).values for c in columns})
    if len(columns) == 1:
        return pd.Index(typed[columns[0]].dropna().unique())
    return pd.MultiIndex.from_frame(typed)


def ingest(folder, into, mapping=None, append: bool = False) -> IngestResult:
    """Load ``folder`` into the DuckDB warehouse ``into``; see the module docstring.

    ``mapping``: None (canonical file names), a named mapping or a YAML path.
    Returns an :class:`IngestResult`; raises InputError (nothing written) on a file or
    mapping problem.
    """
    try:
        return _ingest(folder, into, mapping, append)
    finally:
        _close_workbooks()


def _ingest(folder, into, mapping, append: bool) -> IngestResult:
    start = time.perf_counter()
    folder = Path(folder)
    into = Path(into)
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder (expected a folder of CSV, Excel or Parquet files)"
        )
    m = load_mapping(mapping) if mapping else None
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
    result = IngestResult(
        str(folder), str(into), m.name if m else None, append, ignored_files=ignored_files
    )

    reader = _Reader(m)
    quarantine: list[dict] = []
    ctx = _Context(files=sorted(p.name for p in folder.iterdir() if p.is_file()))
    if m:
        for lname, lspec in m.lookups.items():
            _read_lookup(folder, lname, lspec, m, reader, ctx, result, quarantine)
        for name in ctx.absent:
            result.blanked_by_absent[name] = [
                f"{spec.table}.{col}"
                for spec in m.sources
                for col, expr in spec.derive.items()
                if name.lower() in _tables_named(expr)
            ]
    lookups = ctx.lookups

    # Every column of a table that any of its sources provides.
    table_cols: dict[str, list[str]] = {}
    raws: list[tuple[SourceSpec, RawFile]] = []
    for path, spec in plan:
        raw = reader.read(path, spec)
        raws.append((spec, raw))
    for spec, raw in raws:
        t = TABLES[spec.table]
        if spec.columns is None:
            have = {_norm(c) for c in raw.df.columns}
            provided = [c for c in t.column_names if c in have]
        else:
            provided = list(spec.columns) + list(spec.constants) + list(spec.derive)
        cur = set(table_cols.get(spec.table, [])) | set(provided) | set(t.required_columns)
        table_cols[spec.table] = [c for c in t.column_names if c in cur]

    pieces: dict[str, list[Piece]] = {}
    for spec, raw in raws:
        piece = build_piece(spec, raw, m, lookups, table_cols[spec.table], ctx)
        pieces.setdefault(spec.table, []).append(piece)
        result.files.setdefault(spec.table, []).append(raw.label)
        # A column is unused only if no source reading this file uses it.
        before = result.ignored_columns.get(raw.label, piece.ignored_columns)
        result.ignored_columns[raw.label] = [c for c in before if c in piece.ignored_columns]

    con = _existing(into)
    try:
        present = _existing_tables(con)
        accepted: dict[str, pd.DataFrame] = {}
        for table in _table_order(pieces):
            t = TABLES[table]
            parts = pieces[table]
            frames = []
            for k, p in enumerate(parts):
                f = p.frame[~p.frame["__pos"].isin(list(p.failures))] if p.failures else p.frame
                frames.append(f.assign(__piece=k))
            frame = (
                pd.concat(frames, ignore_index=True)
                if len(frames) > 1
                else frames[0].assign(__piece=0).reset_index(drop=True)
            )
            for c in table_cols[table]:
                frame[c] = frame[c].astype(PANDAS_DTYPES[t.column(c).type])
            parent_keys = {}
            for col, (parent, pcol) in t.foreign_keys.items():
                if col not in table_cols[table]:
                    continue
                keys = None
                if parent in accepted:
                    keys = pd.Index(accepted[parent][pcol].dropna().unique())
                    if append and parent in present:
                        old = _existing_keys(con, parent, [pcol])
                        if old is not None:
                            keys = keys.append(old).unique()
                elif parent in present:
                    keys = _existing_keys(con, parent, [pcol])
                if keys is not None:
                    parent_keys[col] = keys
            existing = (
                _existing_keys(con, table, list(t.key)) if append and table in present else None
            )
            data = frame[table_cols[table]]
            problems = check_frame(
                table, data, unique=True, parent_keys=parent_keys, existing_keys=existing
            )
            # An optional foreign key that does not resolve is left empty and the row loaded
            # (a warning); any other problem quarantines the row.
            link_warnings: dict[int, list[tuple[str, str]]] = {}
            for idx in list(problems):
                items = problems[idx]
                links = [(c, r) for c, r in items if _is_optional_link(t, c, r)]
                if links and len(links) == len(items):
                    for c, _r in links:
                        frame.loc[frame.index[idx], c] = None
                    link_warnings[idx] = links
                    del problems[idx]
            bad_idx = np.array(sorted(problems), dtype="int64")
            ok = np.ones(len(frame), dtype=bool)
            if len(bad_idx):
                ok[bad_idx] = False
            accepted[table] = frame.loc[ok, table_cols[table]].reset_index(drop=True)
            # Quarantine: lines that did not parse, values that did not coerce, rule failures.
            rows_in = 0
            q_count = 0
            filtered = 0
            for p in parts:
                rows_in += len(p.frame) + len(p.raw.bad_lines) + p.filtered
                filtered += p.filtered
                for number, reason, text in p.raw.bad_lines:
                    quarantine.append(
                        dict(
                            table_name=table,
                            source_file=p.raw.label,
                            row_number=number,
                            column_name=None,
                            reason=reason,
                            raw=json.dumps({"line": text}, ensure_ascii=False),
                            severity="error",
                        )
                    )
                    result.reasons[(table, _generic(reason))] += 1
                    q_count += 1
                for pos, items in sorted(p.failures.items()):
                    quarantine.append(_qrow(table, p, pos, items + p.warnings.get(pos, [])))
                    for _c, r in items:
                        result.reasons[(table, _generic(r))] += 1
                    q_count += 1
            warned = 0
            failed = {(int(frame["__piece"].iat[i]), int(frame["__pos"].iat[i])) for i in bad_idx}
            for idx in bad_idx:
                k = int(frame["__piece"].iat[idx])
                pos = int(frame["__pos"].iat[idx])
                items = problems[idx] + parts[k].warnings.get(pos, [])
                quarantine.append(_qrow(table, parts[k], pos, items))
                for _c, r in problems[idx]:
                    result.reasons[(table, _generic(r))] += 1
                q_count += 1
            # Warnings of rows that were loaded: one quarantine line each, severity warning.
            kept_warnings: dict[tuple[int, int], list[tuple[str, str]]] = {}
            for k, p in enumerate(parts):
                for pos, items in p.warnings.items():
                    if pos not in p.failures and (k, pos) not in failed:
                        kept_warnings.setdefault((k, pos), []).extend(items)
            for idx, items in link_warnings.items():
                key = (int(frame["__piece"].iat[idx]), int(frame["__pos"].iat[idx]))
                kept_warnings.setdefault(key, []).extend(items)
            for (k, pos), items in sorted(kept_warnings.items()):  # file order
                quarantine.append(_qrow(table, parts[k], pos, items, severity="warning"))
                for _c, r in items:
                    result.warnings[(table, _generic(r))] += 1
                warned += 1
            counts = {
                "rows_in": rows_in,
                "accepted": len(accepted[table]),
                "quarantined": q_count,
            }
            if any(p.row_filter for p in parts):
                counts["filtered"] = filtered
            if warned:
                counts["warnings"] = warned
            result.tables[table] = counts
            assert rows_in == len(accepted[table]) + q_count + filtered, (
                table,
                rows_in,
                len(accepted[table]),
                q_count,
                filtered,
            )
    finally:
        if con is not None:
            con.close()
    # Keep the JSON in model order whatever the processing order was.
    result.tables = {t: result.tables[t] for t in TABLES if t in result.tables}
    replaced = list(accepted) + [f"lookup:{name}" for name in result.lookups]
    settings = {"currency": m.currency} if m is not None and m.currency else {}
    _write(into, accepted, table_cols, quarantine, append, replaced, settings)
    result.seconds = time.perf_counter() - start
    return result


def _qrow(
    table: str, p: Piece, pos: int, items: list[tuple[str, str]], severity: str = "error"
) -> dict:
    columns = list(dict.fromkeys(c for c, _ in items))
    return dict(
        table_name=table,
        source_file=p.raw.label,
        row_number=int(p.raw.row_numbers[pos]),
        column_name=", ".join(columns),
        reason="; ".join(dict.fromkeys(r for _, r in items)),
        raw=_raw_json(p.raw, pos),
        severity=severity,
    )


def _is_optional_link(t, column: str, reason: str) -> bool:
    """A foreign-key failure on an optional column (the value can be left empty)."""
    if column not in t.foreign_keys or t.column(column).required:
        return False
    parent, pcol = t.foreign_keys[column]
    return reason.startswith(f"{column} not found in {parent}.{pcol}")


def _read_lookup(
    folder: Path,
    name: str,
    spec: SourceSpec,
    m: Mapping,
    reader: _Reader,
    ctx: _Context,
    result: IngestResult,
    quarantine: list[dict],
) -> None:
    """Read one lookup, with the accounting of a table: rows in = read + malformed lines."""
    paths = _match(folder, spec.file, ctx.files)
    entry = dict(file=spec.file, files=[], rows_in=0, accepted=0, malformed=0, missing=not paths)
    result.lookups[name] = entry
    if not paths:
        if spec.optional:
            ctx.absent.add(name)
            return
        raise InputError(
            f"{folder / spec.file}: file not found ({m.where()} uses it as lookup '{name}'; "
            "add optional: true to the lookup if the file may be absent)"
        )
    frames = []
    for path in paths:
        raw = reader.read(path, spec)
        entry["files"].append(raw.label)
        frames.append(apply_null_values(raw.df, null_markers(spec, m)))
        entry["accepted"] += len(raw.df)
        entry["malformed"] += len(raw.bad_lines)
        entry["rows_in"] += len(raw.df) + len(raw.bad_lines)
        for number, reason, text in raw.bad_lines:
            quarantine.append(
                dict(
                    table_name=f"lookup:{name}",
                    source_file=raw.label,
                    row_number=number,
                    column_name=None,
                    reason=f"lookup {name}: {reason}",
                    raw=json.dumps({"line": text}, ensure_ascii=False),
                    severity="error",
                )
            )
            result.lost_lookup_lines.append((name, raw.label, number))
    assert entry["rows_in"] == entry["accepted"] + entry["malformed"], (name, entry)
    ctx.lookups[name] = pd.concat(frames, ignore_index=True)


def _write(
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
    (key, value), where ``salesnb.study.default_currency`` finds them."""
    import pyarrow as pa

    into.parent.mkdir(parents=True, exist_ok=True)
    tmp = into.with_name(f".{into.name}.{os.getpid()}.ingest.tmp")
    for leftover in (tmp, Path(str(tmp) + ".wal")):
        leftover.unlink(missing_ok=True)
    try:
        if into.exists():
            shutil.copyfile(into, tmp)
        con = quiet_connect(str(tmp))
        try:
            con.execute("BEGIN TRANSACTION")
            present = _existing_tables(con)
            for table, df in accepted.items():
                t = TABLES[table]
                cols = table_cols[table]
                # Arrow scans faster than pandas' own string columns.
                con.register("incoming", pa.Table.from_pandas(df, preserve_index=False))
                select = ", ".join(
                    f"CAST({_q(c)} AS {DUCKDB_TYPES[t.column(c).type]}) AS {_q(c)}" for c in cols
                )
                if append and table in present:
                    have = {
                        r[0]
                        for r in con.execute(
                            "SELECT column_name FROM information_schema.columns WHERE table_name = ?",
                            [table],
                        ).fetchall()
                    }
                    for c in cols:
                        if c not in have:
                            con.execute(
                                f"ALTER TABLE {_q(table)} ADD COLUMN {_q(c)} {DUCKDB_TYPES[t.column(c).type]}"
                            )
                    con.execute(f"INSERT INTO {_q(table)} BY NAME SELECT {select} FROM incoming")
                else:
                    con.execute(f"DROP TABLE IF EXISTS {_q(table)}")
                    con.execute(f"CREATE TABLE {_q(table)} AS SELECT {select} FROM incoming")
                con.unregister("incoming")
            ddl = ", ".join(f"{_q(c)} {ty}" for c, ty in QUARANTINE_COLUMNS.items())
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
        finally:
            con.close()
        os.replace(tmp, into)
    except InputError:
        raise
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(
            f"{into}: could not write the warehouse ({msg}); it was left unchanged"
        ) from exc
    finally:
        for leftover in (tmp, Path(str(tmp) + ".wal")):
            leftover.unlink(missing_ok=True)
