"""A draft source: one file read as one table, the best source column for each column.

:func:`propose` assigns source columns greedily, best score first, adds the known reuses
(the stage column gives the status, an id column of names gives the name) and the order
extras (``line_no``, ``cost``), then scores how well the whole file fits the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from salesnb.model.schema import TABLES, Table
from salesnb.sources.mapdraft.score import (
    ENTITY_TABLES,
    MIN_SCORE,
    Guess,
    _name_match,
    score_column,
)
from salesnb.sources.mapdraft.sniff import SourceFile, _rows, _short
from salesnb.sources.mapdraft.words import (
    _LOST,
    _OPEN,
    _PROFIT,
    _ROW_ID,
    _TABLE_WORD_LISTS,
    _WON,
    norm_header,
)
from salesnb.sql import quote_ident


@dataclass
class Proposal:
    file: SourceFile
    table: str
    guesses: dict[str, Guess] = field(default_factory=dict)
    values: dict[str, dict[str, str]] = field(default_factory=dict)
    value_notes: dict[str, str] = field(default_factory=dict)
    dropped: dict[str, tuple[Guess, str]] = field(default_factory=dict)  # left out, and why
    notes: dict[str, str] = field(default_factory=dict)  # extra words on a guess
    todo_hints: dict[str, str] = field(default_factory=dict)
    score: float = 0.0
    why: list[str] = field(default_factory=list)
    runner_up: tuple[str, float] | None = None
    file_pattern: str | None = None  # a glob when several files are read as one

    @property
    def t(self) -> Table:
        return TABLES[self.table]

    def source_columns(self) -> set[str]:
        return {str(g.value) for g in self.guesses.values() if g.how == "columns"}

    def missing(self) -> list[str]:
        return [c for c in self.t.required_columns if c not in self.guesses]


def _status_map(values: list[str]) -> tuple[dict[str, str], list[str]]:
    out, guessed = {}, []
    for v in values:
        lv = v.strip().lower()
        if lv in _WON or lv.startswith("closed won"):
            out[v] = "won"
        elif lv in _LOST or lv.startswith("closed lost"):
            out[v] = "lost"
        else:
            out[v] = "open"
            if lv not in _OPEN:
                guessed.append(v)
    return out, guessed


def propose(sf: SourceFile, table: str) -> Proposal:
    """Read ``sf`` as ``table``: the best source column for each canonical column."""
    pr = Proposal(sf, table)
    used = _assign_greedily(pr, _candidates(sf, table))
    _only_date_left(pr, used)
    _check_key_unique(pr)
    # Reuses: the stage column gives the status, an id column of names gives the name.
    if table in ("opportunities",):
        _status_and_stage(pr)
    _name_from_key(pr)
    if sf.headerless and table == "orders":
        _positional_guesses(sf, pr, used)
    # Orders: line numbers and cost.
    if table == "orders":
        _orders_extras(sf, pr, used)
    if table in ("opportunities", "orders") and "discount" in pr.guesses:
        _discount_note(sf, pr)
    # Formats of text dates.
    _score_table(pr)
    return pr


def _candidates(sf: SourceFile, table: str) -> list[tuple]:
    """Every (canonical column, source column) pair scoring at least MIN_SCORE, best first.

    Ties go to required columns, then the table's column order, then the file's.
    """
    t = TABLES[table]
    cands = []
    for col in t.columns:
        for p in sf.profiles:
            s, why = score_column(table, col.name, p)
            if s >= MIN_SCORE:
                cands.append(
                    (
                        -s,
                        not col.required,
                        t.column_names.index(col.name),
                        p.position,
                        col.name,
                        p,
                        why,
                    )
                )
    cands.sort(key=lambda c: c[:4])
    return cands


def _assign_greedily(pr: Proposal, cands: list[tuple]) -> set[str]:
    """Each canonical column takes its best candidate not taken yet; the source columns used."""
    used: set[str] = set()
    for neg, _, _, _, col, p, why in cands:
        if col in pr.guesses or p.name in used:
            continue
        pr.guesses[col] = Guess(col, "columns", p.name, -neg, why)
        used.add(p.name)
    return used


def _only_date_left(pr: Proposal, used: set[str]) -> None:
    """A required date nothing was found for takes the one date column left, if one is."""
    t, sf, g = pr.t, pr.file, pr.guesses
    for col in t.required_columns:
        if col in g or t.column(col).type not in ("date", "datetime"):
            continue
        free = [p for p in sf.profiles if p.name not in used and p.kind in ("date", "datetime")]
        if len(free) == 1:
            g[col] = Guess(col, "columns", free[0].name, 0.5, "the only date column left")
            used.add(free[0].name)


def _check_key_unique(pr: Proposal) -> None:
    """An entity's key column: said unique when it is, scored down when its values repeat."""
    g, key = pr.guesses, pr.t.key[0]
    if pr.table not in ENTITY_TABLES or key not in g or g[key].how != "columns":
        return
    kp = pr.file.profile(str(g[key].value))
    if kp.unique:
        g[key].why += f"; unique in {_rows(kp.rows)} checked"
    else:
        g[key].score *= 0.6
        g[key].why += f"; repeats ({kp.distinct:,} distinct in {kp.rows:,} rows)"


def _status_and_stage(pr: Proposal) -> None:
    """Opportunities: the stage column read as the status, or the status values as stages."""
    sf, g = pr.file, pr.guesses
    if "stage" in g and "status" not in g:
        sp = sf.profile(str(g["stage"].value))
        if sp.vocab == "status":
            g["status"] = Guess(
                "status",
                "columns",
                sp.name,
                g["stage"].score * 0.95,
                "the stage column, read as open/won/lost",
            )
    if "status" in g and "stage" not in g:
        g["stage"] = Guess(
            "stage",
            "columns",
            g["status"].value,
            g["status"].score * 0.8,
            "no separate stage column: the status values are the stages",
        )
    if "status" in g:
        _status_values(pr)


def _status_values(pr: Proposal) -> None:
    """A value map to open/won/lost for a status column holding other words."""
    sp = pr.file.profile(str(pr.guesses["status"].value))
    if sp.values and not set(sp.values) <= {"open", "won", "lost"}:
        pr.values["status"], guessed = _status_map(sp.values)
        note = "won/lost words read as won/lost, the other stages as open"
        if guessed:
            note += f"; guessed open: {', '.join(_short(v) for v in guessed)}"
        pr.value_notes["status"] = note
    elif not sp.values:
        pr.todo_hints["status"] = f"{sp.name} has too many values for a value map"


def _name_from_key(pr: Proposal) -> None:
    """A table with a name but no name column: a key column whose values are names gives it."""
    t, g, key = pr.t, pr.guesses, pr.t.key[0]
    if "name" not in t.column_names or "name" in g or key not in g or g[key].how != "columns":
        return
    kp = pr.file.profile(str(g[key].value))
    if kp.name_like:
        g["name"] = Guess(
            "name",
            "columns",
            kp.name,
            0.7,
            f"no separate name column: the {key} values are names",
        )


def _positional_guesses(sf: SourceFile, pr: Proposal, used: set[str]) -> None:
    """A file without headers: guess the usual order columns from their values alone."""
    g = pr.guesses

    def take(col, pred, why):
        if col in g:
            return
        for p in sf.profiles:
            if p.name not in used and pred(p):
                g[col] = Guess(col, "columns", p.name, 0.45, f"by its values only: {why}")
                used.add(p.name)
                return

    take("order_date", lambda p: p.kind in ("date", "datetime"), "the first date column")
    take("net_amount", lambda p: p.kind == "float", "the first column of amounts with cents")
    take(
        "customer_id",
        lambda p: not p.unique and (p.zero_padded or p.kind == "text"),
        "the first code column whose values repeat",
    )
    take(
        "quantity",
        lambda p: p.kind == "int" and not p.zero_padded and (p.max or 0) <= 1000,
        "small whole numbers",
    )


def _orders_extras(sf: SourceFile, pr: Proposal, used: set[str]) -> None:
    g = pr.guesses
    if "order_id" in g and "line_no" not in g and g["order_id"].how == "columns":
        op = sf.profile(str(g["order_id"].value))
        if op.unique:
            g["line_no"] = Guess(
                "line_no",
                "constants",
                1,
                0.9,
                f"every {op.name} appears once in the rows read: one line per order",
            )
        else:
            rowid = [
                p
                for p in sf.profiles
                if p.norm in _ROW_ID and p.unique and p.kind == "int" and p.name not in used
            ]
            if rowid:
                order = quote_ident(rowid[0].name)
                why = f"numbers each order's lines in {rowid[0].name} order"
            else:
                srcs = [
                    str(g[c].value) for c in pr.t.column_names if c in g and g[c].how == "columns"
                ]
                order = ", ".join(quote_ident(s) for s in dict.fromkeys(srcs))
                why = "numbers each order's lines; ordered by every mapped column, so rows that tie are identical"
            expr = f"row_number() OVER (PARTITION BY {quote_ident(op.name)} ORDER BY {order})"
            g["line_no"] = Guess("line_no", "derive", expr, 0.8, why)
    elif "order_id" not in g and "line_no" not in g:
        pr.todo_hints["line_no"] = (
            "once order_id is set, e.g. derive: line_no: 'row_number() OVER "
            "(PARTITION BY <order column> ORDER BY <columns>)'"
        )
    if "order_id" not in g:
        hint = "no column looks like an order number"
        if "customer_id" in g and "order_date" in g:
            hint += (
                "; if an order is one customer on one day, derive it from customer and date "
                "(as salesnb/mappings/cdnow.yaml does)"
            )
        pr.todo_hints["order_id"] = hint
    if "quantity" not in g:
        pr.todo_hints["quantity"] = (
            "no quantity column; if each row is one unit: constants: {quantity: 1}"
        )
    if "cost" not in g and "net_amount" in g and g["net_amount"].how == "columns":
        profit = [
            p
            for p in sf.profiles
            if p.norm in _PROFIT and p.kind in ("int", "float") and p.name not in used
        ]
        if profit:
            expr = f"{quote_ident(g['net_amount'].value)} - {quote_ident(profit[0].name)}"
            g["cost"] = Guess(
                "cost",
                "derive",
                expr,
                0.7,
                f"{g['net_amount'].value} minus {profit[0].name}, so margin = {profit[0].name}",
            )


def _discount_note(sf: SourceFile, pr: Proposal) -> None:
    g = pr.guesses["discount"]
    if g.how != "columns":
        return
    p = sf.profile(str(g.value))
    if p.max is not None and 1 < p.max <= 100:
        pr.notes["discount"] = (
            f"values up to {p.max:g}: percentages? discount must be a fraction 0..1; "
            f"use derive: discount: '{quote_ident(p.name)} / 100'"
        )
    if "折" in p.name:
        pr.notes["discount"] = (
            pr.notes.get("discount", "")
            + ("; " if "discount" in pr.notes else "")
            + "check: 折扣 0.9 often means 'pay 90%' (a 10% discount): then derive: discount: "
            + f"'1 - {quote_ident(p.name)}'"
        )


def _score_table(pr: Proposal) -> None:
    t, sf, g = pr.t, pr.file, pr.guesses
    req = t.required_columns
    fit = sum(g[c].score * (0.8 if g[c].how != "columns" else 1.0) for c in req if c in g) / len(
        req
    )
    optional = [c for c in t.column_names if c not in req]
    opt = sum(g[c].score for c in optional if c in g) / max(len(optional), 1)
    used = {str(x.value) for x in g.values() if x.how == "columns"}
    used |= {
        p.name
        for p in sf.profiles
        if any(p.name in str(x.value) for x in g.values() if x.how == "derive")
    }
    filled = [p for p in sf.profiles if p.kind != "empty"] or sf.profiles
    used_share = len(used & {p.name for p in filled}) / max(len(filled), 1)
    name = _file_name_score(sf, pr.table)
    score = 0.45 * fit + 0.2 * used_share + 0.1 * min(1.0, 3 * opt) + 0.25 * name
    why = [f"{len([c for c in req if c in g])} of {len(req)} required columns found"]
    if name:
        why.insert(0, f"the name {sf.label!r} suggests {pr.table}")
    key = t.key[0]
    if pr.table in ENTITY_TABLES:
        if key not in g:
            score *= 0.4
            why.append(f"no {key}")
        elif g[key].how == "columns" and not sf.profile(str(g[key].value)).unique:
            score *= 0.5
            why.append(f"{key} repeats")
        elif not [c for c in g if c != key and not (c == "name" and g[c].value == g[key].value)]:
            score *= 0.5
            why.append(f"only {key} was found")
    pr.score = round(score, 3)
    pr.why = why


def _file_name_score(sf: SourceFile, table: str) -> float:
    best = 0.0
    for name in filter(None, [sf.path.stem, sf.sheet]):
        h = norm_header(name)
        for w in _TABLE_WORD_LISTS.get(table, ()):
            s, _ = _name_match(h, w)
            if s > 0:
                best = max(best, 0.8 + 0.2 * min(1.0, s))
    return min(best, 1.0)
