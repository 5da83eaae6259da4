"""The streaming ingest's checks: one table's rows judged in SQL, the failures quarantined.

The incoming table (:func:`salesnb.sources.ingest.engine.incoming`) holds the typed rows of
a table's files in file order (``rowid`` = place), with ``__cf`` (bits of the cells that do
not read) and ``__cw`` (bits of optional closed-set values left empty). Here, as in
:func:`salesnb.sources.ingest.accounting.account_table`: ids written as floats lose the
``.0``, rows whose cells do not read are quarantined, the others must pass the row rules,
keep their key unique (the first one stays) and find their parents; an optional link that
is not found is left empty with a warning. Only the failing rows leave DuckDB.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.formatting import value_text
from salesnb.model.schema import TABLES
from salesnb.model.validate import coerce_column
from salesnb.sources.ingest import engine_rows as R
from salesnb.sources.ingest import engine_sql as S
from salesnb.sources.ingest.accounting import _generic, _is_optional_link
from salesnb.sources.ingest.build import CLOSED_SETS, _is_id_column, _show
from salesnb.sources.ingest.write import add_missing_columns
from salesnb.sql import quote_ident

Items = list[tuple[str, str]]


def _inc(table: str) -> str:
    return quote_ident(f"__incoming_{table}")


def _ids_as_text(con, table: str, files, cols: list[str]) -> None:
    """Per file, an id column whose values are all numbers loses the ``.0`` of floats."""
    t = TABLES[table]
    ids = [c for c in cols if t.column(c).type == "str" and _is_id_column(t, c)]
    if not ids:
        return
    inc = _inc(table)
    for f in files:
        rows = f"rowid BETWEEN {f.start} AND {f.start + f.rows - 1}"
        dotted = con.execute(
            "SELECT "
            + ", ".join(f"bool_or(contains({quote_ident(c)}, '.'))" for c in ids)
            + f" FROM {inc} WHERE {rows}"
        ).fetchone()
        for c, dot in zip(ids, dotted, strict=True):
            q = quote_ident(c)
            if not dot:
                continue
            numeric = con.execute(
                f"SELECT bool_and(regexp_full_match({q}, '[+-]?\\d+(\\.\\d+)?')) FROM {inc} WHERE {rows}"
            ).fetchone()[0]
            if numeric:
                con.execute(
                    f"UPDATE {inc} SET {q} = regexp_replace({q}, '^([+-]?\\d+)\\.0+$', '\\1') WHERE {rows}"
                )


def _rows(con, sql: str) -> list[tuple]:
    return con.execute(sql).fetchall()


def _rule_failures(con, table: str, cols: list[str], problems: dict[int, Items]) -> None:
    """Rows (that read) breaking a row rule; the values quoted in the reasons."""
    rules = S.row_rules(table, cols)
    if not rules:
        return
    conds = [f"coalesce({sql}, false)" for _c, sql, _m in rules]
    blamed = list(dict.fromkeys(c for c, _s, _m in rules))
    got = _rows(
        con,
        f"SELECT rowid, [{', '.join(conds)}], {', '.join(quote_ident(c) for c in blamed)} "
        f"FROM {_inc(table)} WHERE __cf = 0 AND ({' OR '.join(conds)}) ORDER BY rowid",
    )
    for rowid, flags, *values in got:
        value = dict(zip(blamed, values, strict=True))
        for (c, _sql, msg), hit in zip(rules, flags, strict=True):
            if not hit:
                continue
            if msg == "is empty (required)":
                reason = f"{c} is empty (required)"
            elif msg.startswith("wide:"):
                reason = f"{msg[5:]} (got {c} = {value_text(value[c])})"
            else:
                reason = f"{c} {msg} (got {value_text(value[c])})"
            problems.setdefault(rowid, []).append((c, reason))


def _key_failures(
    con, table: str, cols: list[str], append: bool, present: bool, problems: dict[int, Items]
) -> None:
    """Duplicate keys (the first row keeps its key) and, appending, keys already loaded."""
    t = TABLES[table]
    if not all(k in cols for k in t.key):
        return
    keys = ", ".join(quote_ident(k) for k in t.key)
    key_txt = ", ".join(t.key)
    inc = _inc(table)
    dup = _rows(
        con,
        f"SELECT rowid, {keys} FROM {inc} WHERE __cf = 0 AND ({keys}) IN "
        f"(SELECT ({keys}) FROM {inc} WHERE __cf = 0 GROUP BY ALL HAVING count(*) > 1) ORDER BY rowid",
    )
    seen: set[tuple] = set()
    for rowid, *vals in dup:
        if tuple(vals) in seen:
            text = ", ".join(value_text(v) for v in vals)
            problems.setdefault(rowid, []).append(
                (t.key[0], f"duplicate key ({key_txt}) = ({text})")
            )
        seen.add(tuple(vals))
    if append and present and _has_columns(con, table, list(t.key)):
        match = " AND ".join(f"o.{quote_ident(k)} = i.{quote_ident(k)}" for k in t.key)
        old = _rows(
            con,
            f"SELECT i.rowid, {', '.join('i.' + quote_ident(k) for k in t.key)} FROM {inc} i "
            f"WHERE i.__cf = 0 AND EXISTS (SELECT 1 FROM {quote_ident(table)} o WHERE {match}) ORDER BY 1",
        )
        for rowid, *vals in old:
            text = ", ".join(value_text(v) for v in vals)
            problems.setdefault(rowid, []).append(
                (t.key[0], f"duplicate key ({key_txt}) = ({text}): already in the warehouse")
            )


def _has_columns(con, table: str, columns: list[str]) -> bool:
    have = {
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ?", [table]
        ).fetchall()
    }
    return bool(have) and all(c in have for c in columns)


def _link_failures(con, table: str, cols: list[str], problems: dict[int, Items]) -> None:
    """Foreign keys not found in their parent (as now in the warehouse being built)."""
    t = TABLES[table]
    for col, (parent, pcol) in t.foreign_keys.items():
        if col not in cols or not _has_columns(con, parent, [pcol]):
            continue
        q, p = quote_ident(col), quote_ident(pcol)
        got = _rows(
            con,
            f"SELECT rowid, {q} FROM {_inc(table)} WHERE __cf = 0 AND {q} IS NOT NULL AND {q} NOT IN "
            f"(SELECT CAST({p} AS VARCHAR) FROM {quote_ident(parent)} WHERE {p} IS NOT NULL) ORDER BY rowid",
        )
        for rowid, v in got:
            problems.setdefault(rowid, []).append(
                (col, f"{col} not found in {parent}.{pcol} (got {value_text(v)})")
            )


def _expected(ltype: str) -> str:
    return coerce_column(pd.Series(["?"], dtype=object), ltype).expected


def _cell_items(table: str, cols: list[str], bits: int, row: dict, f, closed_only=False) -> Items:
    """The reasons of the cells flagged in ``bits`` (reading failures or closed sets)."""
    t = TABLES[table]
    items: Items = []
    for i, c in enumerate(cols):
        if not bits >> i & 1:
            continue
        cell = (row or {}).get(f.columns.get(c, ""), None)
        allowed = CLOSED_SETS.get((table, c))
        if allowed is not None:
            text = str(cell).strip() if cell is not None else cell
            items.append((c, f"{c}: {text!r} is not one of {', '.join(allowed)}"))
        elif not closed_only:
            items.append((c, f"{c}: {_show(cell)} is not {_expected(t.column(c).type)}"))
    return items


def check_table(con, table, files, cols, append: bool, present: bool, quarantine, result) -> None:
    """Judge the incoming rows of ``table``, quarantine the failures, put the rest in place."""
    inc = _inc(table)
    _ids_as_text(con, table, files, cols)
    flagged = {
        r[0]: (r[1], r[2])
        for r in _rows(
            con, f"SELECT rowid, __cf, __cw FROM {inc} WHERE __cf <> 0 OR __cw <> 0 ORDER BY rowid"
        )
    }
    problems: dict[int, Items] = {}
    _rule_failures(con, table, cols, problems)
    _key_failures(con, table, cols, append, present, problems)
    _link_failures(con, table, cols, problems)
    wanted = sorted(set(flagged) | set(problems))
    files_of = _files_of(files)
    raw: dict[int, dict] = {}
    for f in files:
        mine = [r - f.start for r in wanted if files_of(r) is f]
        if mine:
            raw.update({p + f.start: row for p, row in R.raw_rows(f, mine).items()})
    for f in files:
        for number, reason, text in f.bad_lines:
            quarantine.append(R.line_qrow(table, f.label, number, reason, text))
            result.reasons[(table, _generic(reason))] += 1
    judged = _judge(table, cols, wanted, flagged, problems, raw, files_of, quarantine, result)
    errors, warned, blank = judged
    _apply(con, table, cols, errors, blank, append, present)
    bad = sum(len(f.bad_lines) for f in files)
    loaded = sum(f.rows for f in files)
    counts = {"rows_in": loaded + bad, "accepted": loaded - len(errors)}
    counts["quarantined"] = bad + len(errors)
    if warned:
        counts["warnings"] = len(warned)
    assert counts["rows_in"] == counts["accepted"] + counts["quarantined"], (table, counts)
    result.tables[table] = counts


def _files_of(files):
    """rowid -> the file it was read from (files are stacked in order)."""
    starts = np.asarray([f.start for f in files], dtype="int64")
    return lambda rowid: files[int(np.searchsorted(starts, rowid, side="right")) - 1]


def _judge(table, cols, wanted, flagged, problems, raw, files_of, quarantine, result):
    """Each row with a problem: quarantined (error) or loaded with links left empty (warning).

    Returns the rowids to remove, those loaded with a warning, and per column the rowids
    whose link is left empty."""
    t = TABLES[table]
    errors, warned, blank = [], [], {}
    for rowid in wanted:
        f = files_of(rowid)
        cf, cw = flagged.get(rowid, (0, 0))
        warn = _cell_items(table, cols, cw, raw.get(rowid), f, closed_only=True)
        if cf:
            fails = _cell_items(table, cols, cf, raw.get(rowid), f)
        else:
            fails = problems.get(rowid, [])
            links = [(c, r) for c, r in fails if _is_optional_link(t, c, r)]
            if links and len(links) == len(fails):
                for c, _r in links:
                    blank.setdefault(c, []).append(rowid)
                warn, fails = warn + links, []
        number = int(f.numbers([rowid - f.start])[0])
        if fails:
            errors.append(rowid)
            quarantine.append(R.qrow(table, f.label, number, raw.get(rowid), fails + warn, "error"))
            for _c, r in fails:
                result.reasons[(table, _generic(r))] += 1
        elif warn:
            warned.append(rowid)
            quarantine.append(R.qrow(table, f.label, number, raw.get(rowid), warn, "warning"))
            for _c, r in warn:
                result.warnings[(table, _generic(r))] += 1
    return errors, warned, blank


def _id_table(con, name: str, rowids) -> None:
    import pyarrow as pa

    con.register(name, pa.table({"rid": pa.array(np.asarray(rowids, dtype="int64"))}))


def _apply(con, table, cols, errors, blank, append: bool, present: bool) -> None:
    """Links left empty, failing rows removed, the rows moved into ``table``."""

    inc = _inc(table)
    for c, rowids in blank.items():
        _id_table(con, "__blank_ids", rowids)
        con.execute(
            f"UPDATE {inc} SET {quote_ident(c)} = NULL WHERE rowid IN (SELECT rid FROM __blank_ids)"
        )
        con.unregister("__blank_ids")
    if errors:
        _id_table(con, "__error_ids", errors)
        con.execute(f"DELETE FROM {inc} WHERE rowid IN (SELECT rid FROM __error_ids)")
        con.unregister("__error_ids")
    con.execute(f"ALTER TABLE {inc} DROP COLUMN __cf")
    con.execute(f"ALTER TABLE {inc} DROP COLUMN __cw")
    q = quote_ident(table)
    if append and present:
        add_missing_columns(con, table, cols)
        con.execute(f"INSERT INTO {q} BY NAME SELECT * FROM {inc}")
        con.execute(f"DROP TABLE {inc}")
    else:
        con.execute(f"DROP TABLE IF EXISTS {q}")
        con.execute(f"ALTER TABLE {inc} RENAME TO {q}")
