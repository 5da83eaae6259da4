"""The canonical data model as executable rules, and ``salesnb validate``.

``salesnb.model.schema.TABLES`` says what the tables are; this module turns each table into a
pandera ``DataFrameSchema`` and runs it. The same rules serve two callers:

- **ingest** (``salesnb.sources.ingest``) coerces every source column to its logical type with
  :func:`coerce_column` (a value that does not parse becomes a per-row failure), then runs
  :func:`check_frame`, which returns the reason(s) each failing row is quarantined for.
- **validate** (:func:`salesnb.queries.validation.validate_warehouse`) re-checks a
  warehouse already built with the same rules, batch by batch, plus the whole-table rules
  counted in the engine by :mod:`salesnb.queries.quality`.

Rules (one place, so ingest and validate agree):

- every column has its logical type (``str``, ``int``, ``float``, ``date``, ``datetime``,
  ``bool``); required columns are never empty; dates parse and fall in 1900..2200;
- every number is finite (no ``inf``); ``discount`` is a fraction in [0, 1];
- ``orders.quantity`` > 0 unless the line is a return (``is_return``); a return line may be
  negative; ``orders.net_amount`` may only be negative on a return line;
- ``opportunities.status`` is open / won / lost; ``targets.level`` is company / region /
  team / rep; ``pilots.group`` is pilot / control; ``surveys.nps`` in 0..10, ``csat`` 1..5;
- keys are unique (the first row with a key is kept, later ones are duplicates);
- foreign keys resolve when the parent table is present (an order's ``rep_id`` exists in
  ``reps``); an empty foreign key is allowed (the column is optional);
- (validate only, across rows or tables) no impossible sequence: a deal closed before it was
  created, a ticket resolved or answered before it was opened, a lead converted into a deal
  that does not exist, a stage entered before its deal was created
  (``salesnb.queries.quality.SEQUENCE_CHECKS``). Every table is optional: a check whose
  tables are absent is not run.

Why pandera: it is a maintained, widely used validation library for pandas whose
``lazy=True`` mode collects *every* failure with the row index, column, check and failing
value in one frame. That frame is exactly what a quarantine needs (row, column, reason,
value), so we write the rules declaratively (``Column(nullable=False)``, ``Check``,
``unique=``) instead of a hand-rolled loop of masks, and the rules read like the model.
Type *parsing* (date formats, thousands separators, ``15%``) stays here in
:func:`coerce_column`, because pandera's own coercion reports a failed cast for the whole
column, not which row and why.
"""

from __future__ import annotations

import datetime as dt
import math
import warnings
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pandera.pandas as pa
from pandera import Check

from salesnb.errors import InputError
from salesnb.formatting import value_text
from salesnb.model.schema import (
    OPPORTUNITY_STATUSES,
    TABLES,
    TARGET_LEVELS,
    Table,
)

# Logical type -> pandas dtype of a coerced column (the DuckDB storage type: schema.DUCKDB_TYPES).
PANDAS_DTYPES = {
    "str": "str",
    "int": "Int64",
    "float": "float64",
    "date": "datetime64[us]",
    "datetime": "datetime64[us]",
    "bool": "boolean",
}

EARLIEST_DATE = pd.Timestamp("1900-01-01")
LATEST_DATE = pd.Timestamp("2200-12-31")

# Date formats tried when a mapping does not name one, in order of preference when several
# parse a column equally well (ISO first, then US month-first, then day-first).
from salesnb.model.values import (  # noqa: E402
    _CURRENCY_RE,
    _THOUSANDS_RE,
    DATE_FORMATS,
    FALSE_WORDS,
    NULL_WORDS,
    TRUE_WORDS,
)

# --------------------------------------------------------------------------------------
# Coercion: raw values (strings from CSV, Python objects from Excel, typed Parquet) to the
# column's logical type, with a reason for every value that does not parse.
# --------------------------------------------------------------------------------------


@dataclass
class Coerced:
    """A coerced column: ``values`` (logical dtype) and ``bad`` (row mask) with reasons."""

    values: pd.Series
    bad: pd.Series  # bool, True where a non-empty raw value did not parse
    expected: str  # what a good value looks like, for the quarantine reason


def _as_text(raw: pd.Series) -> pd.Series:
    """Raw values as stripped text; missing -> NA. Numbers written without a spurious .0."""
    if pd.api.types.is_string_dtype(raw.dtype) and raw.dtype != object:
        return raw.str.strip()
    if pd.api.types.is_float_dtype(raw.dtype):
        out = raw.map(_num_text, na_action="ignore")
        return out.astype("str")
    if pd.api.types.is_integer_dtype(raw.dtype) or pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("str")
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        return raw.dt.strftime("%Y-%m-%d %H:%M:%S").str.removesuffix(" 00:00:00").astype("str")

    def one(v):
        if v is None or (isinstance(v, float) and math.isnan(v)) or v is pd.NA or v is pd.NaT:
            return None
        if isinstance(v, float):
            return _num_text(v)
        if isinstance(v, (dt.datetime, pd.Timestamp)):
            s = v.strftime("%Y-%m-%d %H:%M:%S")
            return s.removesuffix(" 00:00:00")
        if isinstance(v, bytes):
            return v.decode("utf-8", "replace").strip()
        return str(v).strip()

    return raw.map(one).astype("str")


def _num_text(v: float) -> str:
    if math.isfinite(v) and v == int(v) and abs(v) < 1e15:
        return str(int(v))
    return repr(float(v))


def _null_mask(text: pd.Series) -> pd.Series:
    return text.isna() | text.str.lower().isin(NULL_WORDS)


_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"


def _parse_number(text: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Text -> float. Accepts thousands separators (1,234.50), currency marks ($12, 12 EUR),
    percentages (15% -> 0.15) and accounting negatives ((12.50) -> -12.5).

    Runs in Arrow compute kernels: a plain column costs one regex test and one cast; the
    clean-up only runs when some value is not a plain number.
    """
    import pyarrow as pa
    import pyarrow.compute as pc

    arr = pa.array(text.astype("str"), type=pa.string(), from_pandas=True)
    t = pc.utf8_trim_whitespace(arr)
    valid = pc.match_substring_regex(t, _NUMBER)
    pct = None
    if pc.sum(pc.invert(pc.fill_null(valid, True))).as_py():
        t = pc.replace_substring(pc.replace_substring(t, "\u00a0", ""), " ", "")
        t = pc.replace_substring_regex(t, _CURRENCY_RE, "")
        t = pc.replace_substring_regex(t, r"^\((.*)\)$", r"-\1")
        pct = pc.ends_with(t, "%")
        t = pc.replace_substring_regex(t, "%$", "")
        thousands = pc.match_substring_regex(t, _THOUSANDS_RE)
        t = pc.if_else(thousands, pc.replace_substring(t, ",", ""), t)
        valid = pc.match_substring_regex(t, _NUMBER)
    num = pc.cast(pc.if_else(valid, t, pa.scalar(None, pa.string())), pa.float64())
    if pct is not None:
        num = pc.if_else(pc.fill_null(pct, False), pc.divide(num, 100.0), num)
    out = pd.Series(num.to_numpy(zero_copy_only=False), index=text.index, dtype="float64")
    return out, out.isna()


def _parse_dates(text: pd.Series, formats) -> tuple[pd.Series, pd.Series]:
    """Text -> timestamps using the format that parses the most values of the column."""
    present = text.dropna()
    if present.empty:
        return pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]"), text.isna()
    sample = present if len(present) <= 2000 else present.sample(2000, random_state=0)
    ranked = []
    for i, fmt in enumerate(formats):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ok = pd.to_datetime(sample, format=fmt, errors="coerce").notna().sum()
        ranked.append((-ok, i, fmt))
    ranked.sort()
    out = pd.Series(pd.NaT, index=text.index, dtype="datetime64[us]")
    todo = text.notna()
    # The best format first, then the others for values it missed (a column mixing
    # "2024-01-05" and "2024-01-05 13:00:00" is common in exports).
    for neg_ok, _, fmt in ranked:
        if -neg_ok == 0 or not todo.any():
            break
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            parsed = pd.to_datetime(text[todo], format=fmt, errors="coerce")
        parsed = parsed.astype("datetime64[us]")
        got = parsed.notna()
        out.loc[got[got].index] = parsed[got]
        todo = todo & out.isna()
    if todo.any():
        # Last resort: any ISO 8601 stamp (fractional seconds, "T", a UTC offset -> UTC).
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            iso = pd.to_datetime(text[todo], format="ISO8601", errors="coerce", utc=True)
        iso = iso.dt.tz_localize(None).astype("datetime64[us]")
        got = iso.notna()
        out.loc[got[got].index] = iso[got]
    return out, out.isna()


def coerce_column(raw: pd.Series, logical_type: str, date_formats=None) -> Coerced:
    """Coerce one raw column to ``logical_type``; ``bad`` marks values that did not parse.

    Empty cells (and, outside text columns, words like ``NA`` / ``null``) become missing,
    which is not a parse failure: whether a column may be empty is a rule checked later.

    >>> c = coerce_column(pd.Series(["1,200.50", "", "abc"]), "float")
    >>> c.values.tolist()[0], c.bad.tolist()
    (1200.5, [False, False, True])
    """
    if logical_type == "str":
        return _coerce_text(raw)
    if logical_type in ("int", "float"):
        return _coerce_number(raw, logical_type)
    if logical_type in ("date", "datetime"):
        return _coerce_dates(raw, logical_type, date_formats)
    if logical_type == "bool":
        return _coerce_bool(raw)
    raise ValueError(f"unknown logical type {logical_type!r}")


def _coerce_text(raw: pd.Series) -> Coerced:
    """Text column: stripped text, an empty cell is missing; no value is ever bad."""
    text = _as_text(raw)
    text = text.where(~(text.isna() | (text == "")), None).astype("str")
    return Coerced(text, pd.Series(False, index=raw.index), "text")


def _parse_numeric(raw: pd.Series) -> tuple[pd.Series, pd.Series]:
    """Raw values -> float and the bad mask: numeric dtypes pass as-is, text is parsed."""
    if pd.api.types.is_numeric_dtype(raw.dtype) and not pd.api.types.is_bool_dtype(raw.dtype):
        return raw.astype("float64"), pd.Series(False, index=raw.index)
    text = _as_text(raw)
    empty = _null_mask(text)
    num, failed = _parse_number(text.where(~empty))
    return num, failed & ~empty


def _coerce_number(raw: pd.Series, logical_type: str) -> Coerced:
    """Number column; for ``int`` a fractional or infinite value is bad and becomes missing."""
    num, bad = _parse_numeric(raw)
    if logical_type != "int":
        return Coerced(num.astype("float64"), bad, "a number")
    frac = num.notna() & np.isfinite(num) & (num != np.round(num))
    bad = bad | frac
    num = num.where(~frac)
    vals = num.where(np.isfinite(num)).round().astype("Int64")
    bad = bad | (num.notna() & ~np.isfinite(num))
    return Coerced(vals, bad, "a whole number")


def _object_date_mask(raw: pd.Series) -> pd.Series:
    """Rows holding a date/datetime object (Excel) rather than text to parse (CSV)."""
    kind = pd.api.types.infer_dtype(raw, skipna=True) if raw.dtype == object else "string"
    if kind in ("datetime", "datetime64", "date"):
        return raw.notna()
    if kind in ("string", "empty", "integer", "floating", "mixed-integer-float"):
        return pd.Series(False, index=raw.index)
    return (
        raw.map(lambda v: isinstance(v, (dt.date, dt.datetime)), na_action="ignore")
        .fillna(False)
        .astype(bool)
    )


def _parse_raw_dates(raw: pd.Series, date_formats) -> tuple[pd.Series, pd.Series]:
    """Raw values -> timestamps and the bad mask: datetimes and date objects kept, text parsed."""
    index = raw.index
    if pd.api.types.is_datetime64_any_dtype(raw.dtype):
        vals = raw
        if getattr(vals.dt, "tz", None) is not None:
            vals = vals.dt.tz_localize(None)
        return vals.astype("datetime64[us]"), pd.Series(False, index=index)
    # Excel gives datetime objects, CSV gives text; parse the text, keep the objects.
    is_obj_date = _object_date_mask(raw)
    vals = pd.Series(pd.NaT, index=index, dtype="datetime64[us]")
    if is_obj_date.any():
        vals.loc[is_obj_date] = pd.to_datetime(raw[is_obj_date].astype(object)).astype(
            "datetime64[us]"
        )
    text = _as_text(raw.where(~is_obj_date))
    empty = _null_mask(text) | is_obj_date
    formats = list(date_formats) if date_formats else list(DATE_FORMATS)
    parsed, failed = _parse_dates(text.where(~empty), formats)
    vals = vals.where(is_obj_date, parsed)
    return vals, failed & ~empty


def _coerce_dates(raw: pd.Series, logical_type: str, date_formats) -> Coerced:
    """Date or datetime column; a value outside 1900..2200 is bad; a ``date`` drops the time."""
    vals, bad = _parse_raw_dates(raw, date_formats)
    out_of_range = vals.notna() & ((vals < EARLIEST_DATE) | (vals > LATEST_DATE))
    bad = bad | out_of_range
    vals = vals.where(~out_of_range)
    if logical_type == "date":
        vals = vals.dt.normalize()
    what = "a date" if logical_type == "date" else "a date and time"
    fmts = f" ({', '.join(date_formats)})" if date_formats else " (e.g. 2024-03-31)"
    return Coerced(vals.astype("datetime64[us]"), bad, what + fmts + " in 1900..2200")


def _coerce_bool(raw: pd.Series) -> Coerced:
    """Bool column: TRUE_WORDS / FALSE_WORDS (any case); any other non-empty value is bad."""
    index = raw.index
    if pd.api.types.is_bool_dtype(raw.dtype):
        return Coerced(raw.astype("boolean"), pd.Series(False, index=index), "true/false")
    text = _as_text(raw)
    empty = _null_mask(text) & ~text.fillna("").isin(["0"])
    low = text.str.lower()
    is_true = low.isin(TRUE_WORDS).fillna(False).astype(bool)
    is_false = low.isin(FALSE_WORDS).fillna(False).astype(bool)
    vals = pd.Series(pd.NA, index=index, dtype="boolean")
    vals[is_true] = True
    vals[is_false] = False
    bad = ~empty & ~is_true & ~is_false
    return Coerced(vals, bad, "true/false (yes/no, 1/0)")


# --------------------------------------------------------------------------------------
# The rules as pandera schemas.
# --------------------------------------------------------------------------------------

# Column-level value rules beyond the type: (table, column) -> [(check, reason)].
_RANGE_RULES: dict[tuple[str, str], list[tuple[Check, str]]] = {}


def _rule(table: str, column: str, check: Check) -> None:
    _RANGE_RULES.setdefault((table, column), []).append(check)


for _t in ("orders", "opportunities"):
    _rule(_t, "discount", Check(lambda s: s.between(0.0, 1.0), error="must be between 0 and 1"))
_rule(
    "opportunities",
    "status",
    Check(lambda s: s.isin(OPPORTUNITY_STATUSES), error="must be one of open, won, lost"),
)
_rule(
    "targets",
    "level",
    Check(lambda s: s.isin(TARGET_LEVELS), error="must be one of " + ", ".join(TARGET_LEVELS)),
)
_rule(
    "pilots",
    "group",
    Check(lambda s: s.isin(("pilot", "control")), error="must be pilot or control"),
)
_rule("surveys", "nps", Check(lambda s: s.between(0, 10), error="must be between 0 and 10"))
_rule("surveys", "csat", Check(lambda s: s.between(1, 5), error="must be between 1 and 5"))

_FINITE = "must be a finite number"


def _finite_check() -> Check:
    return Check(
        lambda s: pd.Series(np.isfinite(s.to_numpy(dtype="float64")), index=s.index), error=_FINITE
    )


def _is_return(df: pd.DataFrame) -> pd.Series:
    if "is_return" not in df.columns:
        return pd.Series(False, index=df.index)
    return df["is_return"].fillna(False).astype(bool)


# Row rules that read several columns: name -> (columns, column blamed, message, function).
_WIDE_RULES: dict[str, list[tuple[tuple[str, ...], str, str, object]]] = {
    "orders": [
        (
            ("quantity",),
            "quantity",
            "quantity must be > 0 unless the line is a return",
            lambda d: (d["quantity"] > 0) | _is_return(d) | d["quantity"].isna(),
        ),
        (
            ("net_amount",),
            "net_amount",
            "net_amount may be negative only on a return line",
            lambda d: (d["net_amount"] >= 0) | _is_return(d) | d["net_amount"].isna(),
        ),
    ],
}


def table_schema(
    table: str | Table,
    columns: list[str] | None = None,
    unique: bool = True,
    parent_keys: dict[str, pd.Index] | None = None,
    existing_keys: pd.Index | None = None,
) -> pa.DataFrameSchema:
    """The pandera schema of one canonical table.

    ``columns``: the columns present (default all); required columns are always included.
    ``unique``: check the key (first occurrence kept). ``parent_keys``: column -> the parent
    key values it must be found in (foreign keys). ``existing_keys``: keys already in the
    warehouse (``--append``), as an Index (MultiIndex for composite keys); a row repeating one
    is a duplicate.
    """
    t = TABLES[table] if isinstance(table, str) else table
    present = set(columns) if columns is not None else set(t.column_names)
    cols = {}
    for c in t.columns:
        if c.name not in present and not c.required:
            continue
        checks = []
        if c.type in ("int", "float"):
            checks.append(_finite_check())
        checks.extend(_RANGE_RULES.get((t.name, c.name), []))
        if parent_keys and c.name in parent_keys:
            parent_table, parent_col = t.foreign_keys[c.name]
            keys = parent_keys[c.name]
            checks.append(
                Check(
                    lambda s, keys=keys: s.isin(keys),
                    error=f"not found in {parent_table}.{parent_col}",
                    name=f"fk:{c.name}",
                )
            )
        cols[c.name] = pa.Column(
            PANDAS_DTYPES[c.type], nullable=not c.required, checks=checks, required=True
        )
    wide = []
    for needed, _blame, message, fn in _WIDE_RULES.get(t.name, []):
        if all(n in cols for n in needed):
            wide.append(Check(fn, error=message, name=message))
    if existing_keys is not None and len(existing_keys) and all(k in cols for k in t.key):
        key = list(t.key)

        def not_existing(d, key=key, existing=existing_keys):
            if len(key) == 1:
                return ~d[key[0]].isin(existing)
            return pd.Series(~pd.MultiIndex.from_frame(d[key]).isin(existing), index=d.index)

        wide.append(Check(not_existing, error="existing_key", name="existing_key"))
    return pa.DataFrameSchema(
        cols,
        checks=wide,
        unique=list(t.key) if unique and all(k in cols for k in t.key) else None,
        report_duplicates="exclude_first",
        strict=False,
        name=t.name,
    )


def check_frame(
    table: str,
    df: pd.DataFrame,
    unique: bool = True,
    parent_keys: dict[str, pd.Index] | None = None,
    existing_keys: pd.Index | None = None,
) -> dict[object, list[tuple[str, str]]]:
    """Run the table's rules on a coerced frame; return ``{row index: [(column, reason)]}``.

    Rows not in the result pass every rule. Frame-level failures that have no row (a wrong
    dtype, a missing column) raise :class:`InputError`, since no row can be blamed.
    """
    t = TABLES[table]
    schema = table_schema(t, list(df.columns), unique, parent_keys, existing_keys)
    try:
        schema.validate(df, lazy=True)
        return {}
    except pa.errors.SchemaErrors as exc:
        fc = exc.failure_cases
    blame = {message: col for _n, col, message, _f in _WIDE_RULES.get(table, [])}
    reasons: dict[object, list[tuple[str, str]]] = {}
    frameless = fc[fc["index"].isna()]
    if len(frameless):
        r = frameless.iloc[0]
        raise InputError(f"table {table}: column {r['column']}: {r['check']} ({r['failure_case']})")
    key_txt = ", ".join(t.key)
    seen: set[tuple[object, str]] = set()
    for ctx, col, check, case, idx in zip(
        fc["schema_context"],
        fc["column"],
        fc["check"],
        fc["failure_case"],
        fc["index"],
        strict=False,
    ):
        check = str(check)
        if "uniqueness" in check:
            col_out = t.key[0]
            vals = df.loc[idx, list(t.key)]
            vals = vals if isinstance(vals, pd.Series) else vals.iloc[0]
            reason = f"duplicate key ({key_txt}) = ({', '.join(value_text(v) for v in vals)})"
        elif check == "existing_key":
            col_out = t.key[0]
            vals = df.loc[idx, list(t.key)]
            reason = f"duplicate key ({key_txt}) = ({', '.join(value_text(v) for v in vals)}): already in the warehouse"
        elif check == "not_nullable":
            col_out, reason = col, f"{col} is empty (required)"
        elif ctx == "DataFrameSchema" and check in blame:
            col_out = blame[check]
            reason = f"{check} (got {col_out} = {value_text(df.loc[idx, col_out])})"
        elif ctx == "DataFrameSchema":
            continue
        else:
            col_out, reason = col, f"{col} {check} (got {value_text(case)})"
        if (idx, reason) in seen:
            continue
        seen.add((idx, reason))
        reasons.setdefault(idx, []).append((col_out, reason))
    return reasons


def quiet_connect(path: str, read_only: bool = False):
    """A DuckDB connection that never draws a progress bar (it would corrupt --json output)."""
    import duckdb

    con = duckdb.connect(path, read_only=read_only)
    try:
        con.execute("SET enable_progress_bar = false")
    except duckdb.Error:  # an old DuckDB without the option: nothing to silence
        pass
    return con
