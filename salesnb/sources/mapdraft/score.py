"""Scoring a source column as a canonical column: by its header, its values and its type.

A header is compared with the canonical name and its usual words (same word, a header
that contains the word, or a near spelling by :class:`difflib.SequenceMatcher`); a value
set can speak for a column; the type must fit. Every score comes with its reason.
"""

from __future__ import annotations

import difflib
from dataclasses import dataclass

from salesnb.model.schema import TABLES
from salesnb.sources.mapdraft.sniff import ColumnProfile, _short
from salesnb.sources.mapdraft.words import _CJK, _VOCAB_COLUMNS, synonyms

MIN_SCORE = 0.5  # a column guess below this is not made


# Tables whose rows are things with an identity: their key should be unique in a file.
ENTITY_TABLES = {
    "customers",
    "products",
    "reps",
    "leads",
    "opportunities",
    "tickets",
    "surveys",
}


def _name_match(h: str, syn: str) -> tuple[float, str]:
    """How well header ``h`` (normalised) says ``syn``: score and the reason."""
    if not h or not syn:
        return 0.0, ""
    if h == syn:
        return 1.0, "same word"
    compact_h, compact_s = h.replace(" ", ""), syn.replace(" ", "")
    if compact_h == compact_s:
        return 0.95, "same word"
    if _CJK.search(syn) or _CJK.search(h):
        if syn in compact_h:
            return 0.5 + 0.4 * len(compact_s) / len(compact_h), f"contains '{syn}'"
        return 0.0, ""
    ht, st = h.split(), syn.split()
    if len(st) <= len(ht) and any(ht[i : i + len(st)] == st for i in range(len(ht))):
        return 0.5 + 0.4 * len(compact_s) / len(compact_h), f"contains '{syn}'"
    if min(len(compact_h), len(compact_s)) >= 5:
        r = difflib.SequenceMatcher(None, compact_h, compact_s).ratio()
        if r >= 0.85:
            return 0.75 * r, f"spelled like '{syn}'"
    return 0.0, ""


def _rest_is_other(h: str, syn: str, others: set[str]) -> bool:
    """Does the rest of a compound header name another column? (订单金额 minus 订单 = 金额)."""
    rest = (
        h.replace(syn, " ").strip()
        if _CJK.search(h)
        else " ".join(w for w in h.split() if w not in syn.split())
    )
    rest = rest.replace(" ", "") if _CJK.search(rest) else rest
    return bool(rest) and rest in others


_OTHER_WORDS: dict[tuple[str, str], set[str]] = {}


def _others(table: str, column: str) -> set[str]:
    key = (table, column)
    if key not in _OTHER_WORDS:
        words: set[str] = set()
        for c in TABLES[table].column_names:
            if c != column:
                words.update(
                    w.replace(" ", "") if _CJK.search(w) else w for w in synonyms(table, c)
                )
        words.update(
            {"name", "名称", "姓名", "date", "日期", "amount", "金额"}
            - set(synonyms(table, column))
        )
        _OTHER_WORDS[key] = words
    return _OTHER_WORDS[key]


def _type_fit(ctype: str, column: str, p: ColumnProfile) -> tuple[float, str]:
    """How well the values of ``p`` fit a column of type ``ctype`` (0..1), and why not."""
    if ctype in ("date", "datetime"):
        return _date_fit(p)
    if ctype in ("int", "float"):
        return _number_fit(ctype, p)
    if ctype == "bool":
        return _bool_fit(p)
    return _text_fit(column, p.kind)


def _date_fit(p: ColumnProfile) -> tuple[float, str]:
    """A date column takes dates (their formats said)."""
    if p.kind in ("date", "datetime"):
        return 1.0, "dates" + (f" ({', '.join(p.formats)})" if p.formats else "")
    return 0.1, "not dates"


def _number_fit(ctype: str, p: ColumnProfile) -> tuple[float, str]:
    """A number column takes numbers; an int column prefers whole ones, no leading zeros."""
    k = p.kind
    if k in ("int", "float"):
        if ctype == "int" and k == "float":
            return 0.3, "not whole numbers"
        return (0.6, "numbers with leading zeros") if p.zero_padded else (1.0, "numbers")
    if k == "bool" and ctype == "int":
        return 0.3, "true/false"
    return 0.1, "not numbers"


def _bool_fit(p: ColumnProfile) -> tuple[float, str]:
    """A true/false column takes yes/no values, or 0/1."""
    if p.kind == "bool":
        return 1.0, "yes/no values"
    if p.kind == "int" and p.values and set(p.values) <= {"0", "1"}:
        return 0.8, "0/1 values"
    return 0.2, "not yes/no values"


def _text_fit(column: str, k: str) -> tuple[float, str]:
    """A text column takes anything; ids no fractions or dates, others prefer words.

    >>> _text_fit("customer_id", "float"), _text_fit("region", "int"), _text_fit("name", "int")
    ((0.3, 'fractional numbers'), (0.5, 'numbers'), (1.0, ''))
    """
    if column.endswith("_id") or column in ("key", "unit_id"):
        if k == "float":
            return 0.3, "fractional numbers"
        if k in ("date", "datetime"):
            return 0.3, "dates"
        return 1.0, ""
    if k in ("int", "float") and column not in ("period", "name"):
        return 0.5, "numbers"
    if k in ("date", "datetime") and column != "period":
        return 0.4, "dates"
    return 1.0, ""


@dataclass
class Guess:
    """One canonical column of a draft source, and why."""

    column: str
    how: str  # columns, constants, derive
    value: object  # source column, constant, or expression
    score: float
    why: str

    @property
    def confidence(self) -> str:
        return "high" if self.score >= 0.85 else "medium" if self.score >= 0.65 else "low"


def score_column(table: str, column: str, p: ColumnProfile) -> tuple[float, str]:
    """Score (0..1) and reason for reading ``table.column`` from the source column ``p``."""
    if p.kind == "empty":
        return 0.0, ""
    t = TABLES[table]
    best, why = _header_score(table, column, p)
    # A few shapes of header that name a column without being a synonym.
    if column == "quantity" and p.norm.startswith("count ") and best <= 0.75:
        best, why = 0.75, "a count of things"
    if p.norm == "id" and table in ENTITY_TABLES and column == t.key[0] and best < 0.75:
        best, why = 0.75, "a column named ID is usually the key"
    # Values can speak for the column.
    if p.vocab and column in _VOCAB_COLUMNS.get(p.vocab, {}):
        best, why = _with_vocab(column, p, best, why)
    if best <= 0:
        return 0.0, ""
    fit, fwhy = _type_fit(t.column(column).type, column, p)
    best *= fit
    if fwhy:
        why = f"{why}; {fwhy}"
    return best, why


def _header_score(table: str, column: str, p: ColumnProfile) -> tuple[float, str]:
    """The best match of ``p``'s header with the column's usual words, and why."""
    best, why = 0.0, ""
    for i, syn in enumerate(synonyms(table, column)):
        s, reason = _name_match(p.norm, syn)
        if s <= 0:
            continue
        if reason.startswith("contains") and _rest_is_other(p.norm, syn, _others(table, column)):
            s *= 0.75
        if reason == "same word":
            reason = "same name" if i == 0 else f"'{p.name}' is a usual header for {column}"
        if s > best:
            best, why = s, reason
    return best, why


def _with_vocab(column: str, p: ColumnProfile, best: float, why: str) -> tuple[float, str]:
    """The score once ``p``'s value set speaks for ``column``: a bonus, or the set's own score."""
    vs = _VOCAB_COLUMNS[p.vocab][column]
    vwhy = f"values look like {p.vocab}: {', '.join(_short(v) for v in p.vocab_hits[:4])}"
    if best > 0:
        return min(1.0, max(best, vs) + 0.1), f"{why}; {vwhy}"
    return vs, vwhy
