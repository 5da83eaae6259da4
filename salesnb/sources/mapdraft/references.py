"""Cross-checking foreign keys between the drafted files.

A value that matches a parent key only when case, spaces and punctuation are ignored
gets a value map; an optional reference whose values mostly resolve nowhere is left out
with a comment; other unresolved values get a warning on their line.
"""

from __future__ import annotations

import re

import pandas as pd

from salesnb.sources.mapdraft.propose import Proposal
from salesnb.sources.mapdraft.sniff import _short


def _text_values(pr: Proposal, column: str) -> pd.Series | None:
    g = pr.guesses.get(column)
    if g is None or g.how != "columns":
        return None
    s = pr.file.profile(str(g.value)).text.dropna()
    vm = pr.values.get(column)
    return s.map(lambda v: vm.get(v, v)) if vm else s


def _squash(v: str) -> str:
    return re.sub(r"[\W_]+", "", str(v).lower())


# References the model implies without declaring them as foreign keys (ingest does not
# check them, so the draft only warns).
_IMPLIED_REFERENCES = {"reps": {"manager_id": ("reps", "rep_id")}}


def _check_references(active: list[Proposal]) -> None:
    """Foreign keys across the drafted files: value maps for near misses, warnings otherwise."""
    for child in active:
        implied = _IMPLIED_REFERENCES.get(child.table, {})
        for col, (ptable, pcol) in {**child.t.foreign_keys, **implied}.items():
            vals = _text_values(child, col)
            if vals is None or vals.empty:
                continue
            keys = _parent_values(active, ptable, pcol)
            if not keys:
                continue
            counts = vals.value_counts()
            missing = [v for v in counts.index if v not in keys]
            if not missing:
                continue
            fixes = _near_misses(missing, keys)
            if fixes:
                child.values.setdefault(col, {}).update(fixes)
                rows = int(counts[list(fixes)].sum())
                child.value_notes[col] = (
                    f"{len(fixes)} value(s) written differently from {ptable}.{pcol} "
                    f"({rows:,} rows read): mapped so the references resolve"
                )
            still = [m for m in missing if m not in fixes]
            if still:
                _unresolved(child, col, (ptable, pcol), still, counts, col in implied)


def _parent_values(active: list[Proposal], ptable: str, pcol: str) -> set[str]:
    """The values of ``ptable.pcol`` in every drafted source of the parent table."""
    keys: set[str] = set()
    for parent in (p for p in active if p.table == ptable):
        pv = _text_values(parent, pcol)
        if pv is not None:
            keys |= set(pv)
    return keys


def _near_misses(missing: list[str], keys: set[str]) -> dict[str, str]:
    """Values that match exactly one key when case, spaces and punctuation are ignored.

    >>> _near_misses(["GTXPro", "Nope"], {"GTX Pro", "MG Special"})
    {'GTXPro': 'GTX Pro'}
    """
    squashed: dict[str, list[str]] = {}
    for k in keys:
        squashed.setdefault(_squash(k), []).append(k)
    fixes = {}
    for m in missing:
        near = squashed.get(_squash(m), [])
        if len(near) == 1:
            fixes[m] = near[0]
    return fixes


def _unresolved(
    child: Proposal,
    col: str,
    parent: tuple[str, str],
    still: list[str],
    counts: pd.Series,
    implied: bool,
) -> None:
    """Values found nowhere in the parent: a note, or the optional reference left out."""
    ptable, pcol = parent
    bad_rows = int(counts[still].sum())
    share = bad_rows / max(int(counts.sum()), 1)
    g = child.guesses[col]
    where = f"{ptable}.{pcol}"
    if implied:
        child.notes[col] = (
            f"{len(still):,} of its {len(counts):,} values are not {where} values "
            f"(e.g. {_short(still[0])}): add them as rows of {ptable} or leave this out"
        )
    elif share >= 0.5 and not child.t.column(col).required:
        del child.guesses[col]
        child.dropped[col] = (
            g,
            f"{len(still):,} of its {len(counts):,} values are not {where} values "
            f"(e.g. {_short(still[0])}): the reference would not resolve",
        )
    else:
        child.notes[col] = ((child.notes.get(col, "") + "; ") if col in child.notes else "") + (
            f"warning: {bad_rows:,} rows read have a value missing from {where} "
            f"(e.g. {_short(still[0])}); ingest lists them in the quarantine table"
        )
