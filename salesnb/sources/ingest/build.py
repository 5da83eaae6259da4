"""Building a canonical table from one source: the rows of a file as typed canonical rows.

:func:`build_piece` applies, in order: null markers, the ``where:`` row filter,
``columns:``, ``constants:`` and ``derive:``, ``values:`` maps, ``distinct:``, then the
coercion of every column to the table's type (dates in the mapping's formats, ids kept as
text, closed sets). Each row that fails is noted with its reasons; nothing is dropped
silently (the accounting is in :mod:`salesnb.sources.ingest.accounting`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from salesnb.errors import InputError
from salesnb.model.schema import (
    DEFAULT_DISCOUNT_AUTHORITY,
    OPPORTUNITY_STATUSES,
    TABLES,
    TARGET_LEVELS,
)
from salesnb.model.validate import PANDAS_DTYPES, coerce_column
from salesnb.sources.ingest.expressions import _Context, _evaluate, _filter_rows, _uses
from salesnb.sources.ingest.mapping import Mapping, SourceSpec
from salesnb.sources.ingest.readers import RawFile, _norm

# Canonical columns whose values come from a closed set (salesnb.model.validate checks the first
# three; reps.role is the set of roles that carry a discount authority in salesnb.model.schema).
# A value outside the set is blanked with a warning when the column is optional, and
# quarantines the row when it is required; a value matching a member ignoring case and
# blanks is written as the member.
CLOSED_SETS: dict[tuple[str, str], tuple[str, ...]] = {
    ("opportunities", "status"): tuple(OPPORTUNITY_STATUSES),
    ("targets", "level"): tuple(TARGET_LEVELS),
    ("pilots", "group"): ("pilot", "control"),
    ("reps", "role"): tuple(DEFAULT_DISCOUNT_AUTHORITY),
}


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


def _find_column(raw: RawFile, name: str) -> str | None:
    if name in raw.df.columns:
        return name
    target = _norm(name)
    for c in raw.df.columns:
        if _norm(c) == target:
            return c
    return None


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
    """The rows of ``raw`` read as ``spec.table``: typed columns and the failures of each row."""
    t = TABLES[spec.table]
    ctx = ctx or _Context(lookups=lookups)
    failures: dict[int, list[tuple[str, str]]] = {}
    warns: dict[int, list[tuple[str, str]]] = {}
    filtered = 0
    if spec.columns is None:
        positions = np.arange(len(raw.df), dtype="int64")
        cols, ignored = _canonical_columns(raw, t)
    else:
        df, positions, filtered = _rows_kept(spec, raw, m, ctx, failures)
        cols = _mapped_columns(spec, raw, m, t, df)
        cols.update(_derived_columns(spec, raw, df, positions, m, ctx, failures, warns))
        ignored = _ignored_by_mapping(spec, raw)
    _apply_value_maps(cols, spec)
    frame = pd.DataFrame({c: s.reset_index(drop=True) for c, s in cols.items()})
    frame["__pos"] = positions
    if spec.distinct:
        frame = _distinct_rows(frame, spec, cols)
    typed = _typed_frame(frame, t, spec, m, table_columns, failures, warns)
    # Failures from expressions may name rows dropped as duplicates: keep only live rows.
    failures, warns = _live_only(typed, failures, warns)
    _blank_warned(typed, warns)
    return Piece(raw, typed, failures, ignored, filtered, bool(spec.where), warns)


def _canonical_columns(raw: RawFile, t) -> tuple[dict[str, pd.Series], list[str]]:
    """Canonical folder: the table's columns found by header name, and the headers ignored."""
    by_norm = {}
    for c in raw.df.columns:
        by_norm.setdefault(_norm(c), c)
    cols = {c: raw.df[by_norm[c]] for c in t.column_names if c in by_norm}
    missing = [c for c in t.required_columns if c not in cols]
    if missing:
        raise InputError(
            f"{raw.label}: required column '{missing[0]}' of table {t.name} is missing "
            f"(found: {', '.join(map(str, raw.df.columns))})"
        )
    ignored = [c for c in raw.df.columns if _norm(c) not in t.column_names]
    return cols, ignored


def _rows_kept(
    spec: SourceSpec, raw: RawFile, m: Mapping | None, ctx: _Context, failures: dict
) -> tuple[pd.DataFrame, np.ndarray, int]:
    """The source rows after null markers and ``where:``, their positions, the count filtered.

    Null markers first, then the row filter; columns, constants and expressions are read
    over the rows kept (so window functions number the rows that are loaded).
    """
    df = apply_null_values(raw.df, null_markers(spec, m))
    positions = np.arange(len(df), dtype="int64")
    filtered = 0
    if spec.where:
        positions = _filter_rows(spec, raw, df, m, ctx, failures)
        filtered = len(df) - len(positions)
        df = df.iloc[positions].reset_index(drop=True)
    return df, positions, filtered


def _mapped_columns(
    spec: SourceSpec, raw: RawFile, m: Mapping | None, t, df: pd.DataFrame
) -> dict[str, pd.Series]:
    """The ``columns:`` read from ``df`` and the ``constants:``, by canonical name."""
    cols: dict[str, pd.Series] = {}
    for canon, src in spec.columns.items():
        found = _find_column(raw, src)
        if found is None:
            raise InputError(
                f"{raw.label}: column '{src}' is missing ({m.where() if m else 'mapping'} reads "
                f"{t.name}.{canon} from it; found: {', '.join(map(str, raw.df.columns))})"
            )
        cols[canon] = df[found]
    for canon, value in spec.constants.items():
        cols[canon] = pd.Series([value] * len(df), dtype=object)
    return cols


def _derived_columns(
    spec: SourceSpec,
    raw: RawFile,
    df: pd.DataFrame,
    positions: np.ndarray,
    m: Mapping | None,
    ctx: _Context,
    failures: dict,
    warns: dict,
) -> dict[str, pd.Series]:
    """The ``derive:`` columns; a lookup that finds nothing fails or warns its row."""
    if not spec.derive:
        return {}
    t = TABLES[spec.table]
    cols: dict[str, pd.Series] = {}
    derived, reads = _evaluate(spec, raw, df, positions, m, ctx, failures)
    for canon, expr in spec.derive.items():
        s = derived[canon]
        if _is_id_column(t, canon) and pd.api.types.is_string_dtype(s.dtype):
            s = _ids_as_text(coerce_column(s, "str").values)
        cols[canon] = s
        if not reads.get(canon):
            continue
        target = failures if t.column(canon).required else warns
        reason = f"{canon}: no match in lookup {', '.join(sorted(reads[canon]))}"
        for i in np.flatnonzero(_unresolved(s, df, expr)):
            target.setdefault(int(positions[i]), []).append((canon, reason))
    return cols


def _unresolved(s: pd.Series, df: pd.DataFrame, expr: str) -> np.ndarray:
    """True where a link through a lookup found nothing for a row that had its inputs."""
    unresolved = np.array(s.isna(), dtype=bool)
    for c in df.columns:
        if _uses(expr, c):
            unresolved &= _present(df[c])
    return unresolved


def _ignored_by_mapping(spec: SourceSpec, raw: RawFile) -> list[str]:
    """Source columns no ``columns:`` entry reads and no expression uses."""
    used_src = {_find_column(raw, s) for s in spec.columns.values()}
    exprs = list(spec.derive.values()) + ([spec.where] if spec.where else [])
    return [c for c in raw.df.columns if c not in used_src and not any(_uses(e, c) for e in exprs)]


def _apply_value_maps(cols: dict[str, pd.Series], spec: SourceSpec) -> None:
    """The ``values:`` maps applied, in place, to the columns that are read."""
    for canon, vmap in spec.values.items():
        if canon in cols:
            cols[canon] = _apply_values(cols[canon], vmap)


def _distinct_rows(frame: pd.DataFrame, spec: SourceSpec, cols) -> pd.DataFrame:
    """The first of each run of rows equal on ``distinct:`` (a list, or every column)."""
    subset = list(spec.distinct) if isinstance(spec.distinct, list) else [c for c in cols]
    keyed = frame[subset].astype(object).where(frame[subset].notna(), None)
    return frame[~keyed.duplicated(keep="first").to_numpy()]


def _typed_frame(
    frame: pd.DataFrame,
    t,
    spec: SourceSpec,
    m: Mapping | None,
    table_columns: list[str],
    failures: dict,
    warns: dict,
) -> pd.DataFrame:
    """Every column of the table coerced to its type (empty when the source lacks it)."""
    out = {}
    for c in table_columns:
        ltype = t.column(c).type
        if c in frame.columns:
            out[c] = _typed_column(frame, t, c, spec, m, failures, warns)
        else:
            out[c] = pd.Series(pd.array([None] * len(frame), dtype=PANDAS_DTYPES[ltype]))
    typed = pd.DataFrame(out)
    typed["__pos"] = frame["__pos"].to_numpy()
    return typed


def _typed_column(
    frame: pd.DataFrame, t, c: str, spec: SourceSpec, m: Mapping | None, failures, warns
) -> pd.Series:
    """Column ``c`` coerced to its type, ids as text, closed sets checked; failures noted."""
    ltype = t.column(c).type
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
    return values


def _live_only(typed: pd.DataFrame, failures: dict, warns: dict) -> tuple[dict, dict]:
    """The failures and warnings of rows still in ``typed`` (not dropped as duplicates)."""
    live = set(typed["__pos"].tolist()) if (failures or warns) else set()
    return (
        {p: r for p, r in failures.items() if p in live},
        {p: r for p, r in warns.items() if p in live},
    )


def _blank_warned(typed: pd.DataFrame, warns: dict) -> None:
    """A warned value is left empty in the row that is loaded (in place)."""
    if not warns:
        return
    where_pos = pd.Index(typed["__pos"])
    for pos, items in warns.items():
        i = where_pos.get_loc(pos)
        for c, _r in items:
            if c in typed.columns:
                typed.loc[typed.index[i], c] = None


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
