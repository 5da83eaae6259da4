"""Mapping expressions (``derive:`` and ``where:``), evaluated by DuckDB in a sandbox.

The source frame is registered as ``src`` beside the declared lookups in an in-memory
database with file access switched off; Python's ``eval`` is never used. Source columns
an expression uses that hold numbers written as text are read as numbers (a cell that is
not one is a failure of its row), whole numbers as integers.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.model.validate import _parse_number, coerce_column, quiet_connect
from salesnb.sources.ingest.mapping import Mapping, SourceSpec
from salesnb.sources.ingest.readers import RawFile, _norm
from salesnb.sql import quote_ident


@dataclass
class _Context:
    """What expressions may see besides the source: the lookups read, the absent ones."""

    lookups: dict[str, pd.DataFrame] = field(default_factory=dict)
    absent: set[str] = field(default_factory=set)  # optional lookups whose file is absent
    files: list[str] = field(default_factory=list)  # file names in the folder, for hints


def _uses(expr: str, column: str) -> bool:
    if quote_ident(column) in expr:
        return True
    return re.search(r"(?<![\w\"])" + re.escape(column) + r"(?![\w\"])", expr) is not None


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
        s = _one_type(df[c])
        if c in numeric_cols and pd.api.types.is_string_dtype(s.dtype):
            s = _text_numbers(s, c, failures, purpose, pos_of)
        out[c] = s.reset_index(drop=True) if hasattr(s, "reset_index") else s
    frame = pd.DataFrame(out)
    frame["__pos"] = pos_of.astype("int64")
    return frame


def _one_type(s: pd.Series) -> pd.Series:
    """A column with one type DuckDB can scan: numbers, timestamps, booleans or text."""
    if s.dtype == object:
        kind = pd.api.types.infer_dtype(s, skipna=True)
        if kind in ("integer", "floating", "mixed-integer-float", "decimal"):
            return _as_numbers(s)
        if kind in ("datetime", "datetime64", "date"):
            return pd.to_datetime(s)
        if kind == "boolean":
            return s.astype("boolean")
        return coerce_column(s, "str").values
    if pd.api.types.is_float_dtype(s.dtype):
        return _as_numbers(s)
    if pd.api.types.is_string_dtype(s.dtype):
        return coerce_column(s, "str").values  # an empty cell is NULL, as in object columns
    return s


def _text_numbers(
    s: pd.Series, c: str, failures: dict | None, purpose: str, pos_of: np.ndarray
) -> pd.Series:
    """A text column an expression uses, read as numbers when most of its cells are numbers.

    Each cell that is not a number is a failure of its row (keyed by ``pos_of``); a column
    where more than half are not numbers stays text.
    """
    text = s.str.strip()
    empty = text.isna() | (text == "")
    num, failed = _parse_number(text.where(~empty))
    bad = failed & ~empty
    if not (~empty).sum():
        return num  # nothing but empty cells: an empty number column
    if bad.sum() > 0.5 * (~empty).sum():
        return s
    if failures is not None:
        for i in np.flatnonzero(bad.to_numpy()):
            failures.setdefault(int(pos_of[i]), []).append(
                (c, f"{c}: {s.iloc[i]!r} is not a number (needed by {purpose})")
            )
    return _as_numbers(num)


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
            select = ", ".join(f"({expr}) AS {quote_ident(col)}" for col, expr in live.items())
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
