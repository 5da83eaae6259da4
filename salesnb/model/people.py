"""How a page names people: one rule for every table, chart, sentence and action.

A rep is shown by name. Where two reps share a name, both get their id beside it
(``Quinn Patel (R005)``), so a manager can tell them apart; a rep without a name (or whose
"name" is only the id again) is shown by the id. CSV files keep the ids: they are read by
other tools, and joined back to the warehouse.
"""

from __future__ import annotations

import pandas as pd


def rep_names(reps: pd.DataFrame | None) -> dict:
    """rep_id -> how a page names the rep: the name, with the id only where two reps share
    a name; reps without a name are left out (a page shows their id).

    ``reps``: ``rep_id`` and ``name`` (the reps table, a scorecard) or ``rep``
    (:func:`salesnb.queries.deals.rep_labels`).

    >>> rep_names(pd.DataFrame({"rep_id": ["R1", "R2", "R3", "R4"], "name": ["Ann", "Bo", "Ann", None]}))
    {'R1': 'Ann (R1)', 'R2': 'Bo', 'R3': 'Ann (R3)'}
    >>> rep_names(pd.DataFrame({"rep_id": ["R1"], "rep": ["R1"]}))  # an id standing in for a name
    {}
    """
    if reps is None or "rep_id" not in reps:
        return {}
    col = "name" if "name" in reps else "rep" if "rep" in reps else None
    if col is None:
        return {}
    r = reps[["rep_id", col]].dropna().drop_duplicates("rep_id")
    ids, names = r["rep_id"].astype(str), r[col].astype(str).str.strip()
    keep = (names != "") & (names != ids)
    ids, names = ids[keep], names[keep]
    twin = names.duplicated(keep=False)
    return {i: f"{n} ({i})" if t else n for i, n, t in zip(ids, names, twin, strict=True)}


def rep_label(rep_id, names: dict) -> str:
    """One rep as a page names it (``names``: :func:`rep_names`)."""
    return names.get(str(rep_id), str(rep_id))


def rep_labels(card: pd.DataFrame, names: dict | None = None) -> pd.Series:
    """The page's name of each row's rep (``card``: ``rep_id`` and, optionally, ``name``;
    ``names``: :func:`rep_names` of all reps when the frame is a subset of them).

    >>> rep_labels(pd.DataFrame({"rep_id": ["R1", "R2"], "name": ["Ann", None]})).tolist()
    ['Ann', 'R2']
    """
    names = rep_names(card) if names is None else names
    return pd.Series(
        [rep_label(i, names) for i in card["rep_id"]], index=card.index, dtype=object
    ).astype(str)


def named_reps(frame: pd.DataFrame, reps: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` as a page shows it: its ``rep_id`` column replaced by ``rep``, the rep's name
    (:func:`rep_names` of ``reps``; the id where the rep has no name), and a ``name``
    column it may have dropped (the name is in ``rep``).

    >>> f = pd.DataFrame({"opportunity_id": ["o1"], "rep_id": ["R2"], "amount": [5.0]})
    >>> named_reps(f, pd.DataFrame({"rep_id": ["R2"], "rep": ["Bo"]})).columns.tolist()
    ['opportunity_id', 'rep', 'amount']
    """
    if "rep_id" not in frame.columns:
        return frame
    shown = rep_labels(frame, rep_names(reps)).tolist()
    out = frame.drop(columns=[c for c in ("rep", "name") if c in frame.columns])
    out.insert(list(out.columns).index("rep_id"), "rep", shown)
    return out.drop(columns=["rep_id"])
