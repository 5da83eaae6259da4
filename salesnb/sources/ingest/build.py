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
from salesnb.schema import DEFAULT_DISCOUNT_AUTHORITY, OPPORTUNITY_STATUSES, TABLES, TARGET_LEVELS
from salesnb.sources.ingest.expressions import _Context, _evaluate, _filter_rows, _uses
from salesnb.sources.ingest.mapping import Mapping, SourceSpec
from salesnb.sources.ingest.readers import RawFile, _norm
from salesnb.validate import PANDAS_DTYPES, coerce_column

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
