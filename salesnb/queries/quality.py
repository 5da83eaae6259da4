"""Data-quality aggregations, evaluated in the engine (small frames out).

Everything here counts, on whichever canonical tables the warehouse holds (any subset):
rows per table; the quarantine of the last ingest (per table / column / reason, and its
first rows with file and line); date ranges and rows per month; foreign keys that resolve
(only between two tables both present); repeated keys; suspicious order lines; and
*impossible sequences* (a deal closed before it was created, a ticket resolved before it
was opened, a lead converted into a deal that does not exist, ...). A check whose tables or
columns are absent is not run and says why; it never counts as zero. The judgement (rates,
bounds, what to do) lives in :mod:`salesnb.metrics.quality`; ``salesnb validate`` reads
the same key and sequence counts, so the two never disagree.
"""

from __future__ import annotations

from dataclasses import dataclass

import ibis
import pandas as pd

from salesnb.model.schema import ROW_DATE, TABLES
from salesnb.sources import Source

# The date that places a row of each table in time (for date ranges).
EVENT_DATES = {
    t: ROW_DATE[t]
    for t in ("orders", "leads", "opportunities", "stage_history", "tickets", "surveys")
    + ("trainings", "pilots", "customers")
}
# Tables that record events month after month: a month without rows is a gap in the export.
# (Customers, trainings and pilots are dated too, but a quiet month there is normal.)
FLOW_TABLES = ("orders", "leads", "opportunities", "stage_history", "tickets", "surveys")


def _all_tables(src: Source) -> set[str]:
    return set(src.con.list_tables())


def _int(df: pd.DataFrame, cols) -> pd.DataFrame:
    for c in cols:
        df[c] = df[c].fillna(0).astype("int64")
    return df


def table_rows(src: Source) -> pd.DataFrame:
    """Rows per canonical table present: columns ``table, rows`` (model order; one query)."""
    if not src.tables:
        return pd.DataFrame({"table": pd.Series(dtype="str"), "rows": pd.Series(dtype="int64")})
    parts = [
        src.table(t).aggregate(table=ibis.literal(t), rows=ibis._.count(), pos=ibis.literal(i))
        for i, t in enumerate(src.tables)
    ]
    out = ibis.union(*parts).order_by("pos").execute()
    out["rows"] = out["rows"].astype("int64")
    return out[["table", "rows"]].reset_index(drop=True)


# ---- the quarantine of the last ingest ------------------------------------------------


def has_quarantine(src: Source) -> bool:
    """True when the warehouse keeps a ``quarantine`` table (built by ``salesnb ingest``)."""
    return "quarantine" in _all_tables(src)


def _quarantine(src: Source) -> ibis.Table:
    """The quarantine as ``table, source_file, line, column, reason, severity, raw`` whatever
    its layout: the ingest layout (``table_name``, ``column_name``, ``row_number``,
    ``severity``) or a plain one (``source_file``, ``column``); without a table column the
    table is the file's stem, without a severity every row is an ``error`` (not loaded).
    ``severity`` ``warning`` marks a row that *was* loaded with one value left empty."""
    q = src.table("quarantine")
    cols = set(q.columns)
    if "table_name" in cols:
        table = q.table_name.cast("string")
    elif "source_file" in cols:
        # orders_2024-05.csv -> orders: the file stem up to the first dot / underscore-digit
        table = q.source_file.cast("string").re_extract(r"([A-Za-z]+(?:_[A-Za-z]+)*)", 1)
    else:
        table = ibis.literal("?")
    column = next(
        (q[c].cast("string") for c in ("column_name", "column") if c in cols), ibis.literal("")
    )
    line = next(
        (q[c].cast("int64") for c in ("row_number", "row", "line") if c in cols),
        ibis.literal(None, "int64"),
    )
    severity = (
        q.severity.cast("string").lower().strip().fill_null("error")
        if "severity" in cols
        else ibis.literal("error")
    )
    return q.select(
        table=table,
        source_file=q.source_file.cast("string") if "source_file" in cols else ibis.literal(""),
        line=line,
        column=column.fill_null(""),
        reason=q.reason.cast("string") if "reason" in cols else ibis.literal("unknown"),
        severity=severity,
        raw=q.raw.cast("string") if "raw" in cols else ibis.literal(""),
    )


def quarantine_counts(src: Source) -> pd.DataFrame:
    """Quarantine lines grouped by ``table, column, reason, severity`` with ``rows`` and
    ``files`` (how many source files hold such rows); empty without a ``quarantine`` table.
    ``severity`` is ``error`` for rows not loaded and ``warning`` for rows loaded with a value
    left empty. Reasons are stripped of the offending value so kinds of problem count
    together. Lost lines of a mapping's lookup files have table ``lookup:<name>``."""
    cols = ["table", "column", "reason", "severity", "rows", "files"]
    if not has_quarantine(src):
        return pd.DataFrame(
            {c: pd.Series(dtype="int64" if c in ("rows", "files") else "str") for c in cols}
        )
    q = _quarantine(src)
    reason = q.reason.re_replace(r" \(got .*?\)", "").re_replace(r"'[^']*'", "'…'")
    out = (
        q.mutate(reason=reason)
        .group_by(["table", "column", "reason", "severity"])
        .aggregate(rows=ibis._.count(), files=ibis._.source_file.nunique())
        .order_by([ibis.desc("rows"), "table", "column", "reason", "severity"])
        .execute()
    )
    return _int(out, ["rows", "files"])[cols]


def quarantine_rows(src: Source, limit: int = 10) -> pd.DataFrame:
    """The first ``limit`` quarantine lines, rows not loaded (``error``) before rows loaded
    with a warning, then by table, file and line: ``table, source_file, line, column,
    reason, severity, raw`` (``raw`` is the source row as read)."""
    cols = ["table", "source_file", "line", "column", "reason", "severity", "raw"]
    if not has_quarantine(src):
        return pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    q = _quarantine(src)
    out = (
        q.order_by([(q.severity == "warning"), "table", "source_file", "line", "column"])
        .limit(int(limit))
        .execute()
    )
    out["line"] = out["line"].astype("Int64")
    return out[cols].reset_index(drop=True)


# ---- time coverage ----------------------------------------------------------------------


def date_ranges(src: Source) -> pd.DataFrame:
    """First and last event date per dated table present, and rows without a date:
    ``table, column, date_min, date_max, rows, undated``. ``date_min`` and ``date_max`` are
    NaT when no row of the table has a date. (:func:`time_coverage` gives it together with
    the rows per month, from the same query.)"""
    return time_coverage(src)[0]


def monthly_rows(src: Source, table: str = "orders", column: str | None = None) -> pd.DataFrame:
    """Rows per calendar month of ``table``'s event date: ``month`` (first day), ``rows``."""
    column = column or EVENT_DATES[table]
    x = src.table(table)
    month = x[column].cast("date").truncate("M")
    out = (
        x.filter(x[column].notnull())
        .select(month=month)
        .group_by("month")
        .aggregate(rows=ibis._.count())
        .order_by("month")
        .execute()
    )
    out["month"] = pd.to_datetime(out["month"])
    out["rows"] = out["rows"].astype("int64")
    return out


def monthly_rows_by_table(src: Source, tables=FLOW_TABLES) -> pd.DataFrame:
    """Rows per calendar month of each table of ``tables`` present with its event date:
    ``table, month, rows`` (months without rows are absent). (:func:`time_coverage` gives it
    together with the date ranges, from the same query.)"""
    return time_coverage(src, tables)[1]


def _months(src: Source) -> pd.DataFrame:
    """Rows, first and last event date per dated table present and calendar month of its
    event date (``month`` null for the rows without one): ``table, pos, month, rows,
    date_min, date_max``; one query, each table read once."""
    parts = []
    for t, col in EVENT_DATES.items():
        if not src.has_column(t, col):
            continue
        x = src.table(t)
        d = x[col].cast("timestamp")
        parts.append(
            x.group_by(month=x[col].cast("date").truncate("M"))
            .aggregate(rows=ibis._.count(), date_min=d.min(), date_max=d.max())
            .mutate(table=ibis.literal(t), pos=ibis.literal(len(parts)))
        )
    if not parts:
        return pd.DataFrame(columns=["table", "pos", "month", "rows", "date_min", "date_max"])
    return ibis.union(*parts).order_by(["pos", "month"]).execute()


def time_coverage(src: Source, tables=FLOW_TABLES) -> tuple[pd.DataFrame, pd.DataFrame]:
    """What :func:`date_ranges` and :func:`monthly_rows_by_table` (for ``tables``) return,
    from one query that reads each dated table once."""
    months = _months(src)
    present = [t for t, col in EVENT_DATES.items() if src.has_column(t, col)]
    return _date_ranges(months, present), _monthly_rows(months, [t for t in tables if t in present])


def _date_ranges(months: pd.DataFrame, present: list[str]) -> pd.DataFrame:
    """:func:`date_ranges` from :func:`_months` (``present``: the dated tables, in order)."""
    if not present:
        return pd.DataFrame(
            {
                "table": pd.Series(dtype="str"),
                "column": pd.Series(dtype="str"),
                "date_min": pd.Series(dtype="datetime64[us]"),
                "date_max": pd.Series(dtype="datetime64[us]"),
                "rows": pd.Series(dtype="int64"),
                "undated": pd.Series(dtype="int64"),
            }
        )
    g = months.groupby("pos", sort=True)
    undated = months["rows"].where(months["month"].isna(), 0).groupby(months["pos"]).sum()
    out = pd.DataFrame(
        {
            "date_min": g["date_min"].min(),
            "date_max": g["date_max"].max(),
            "rows": g["rows"].sum(),
            "undated": undated,
        }
    ).reindex(range(len(present)))  # a table without rows has no month: it still has a range
    out.insert(0, "table", pd.Series(present, index=out.index, dtype="str"))
    out.insert(
        1, "column", pd.Series([EVENT_DATES[t] for t in present], index=out.index, dtype="str")
    )
    for c in ("date_min", "date_max"):
        out[c] = pd.to_datetime(out[c])
    return _int(out, ["rows", "undated"]).reset_index(drop=True)


def _monthly_rows(months: pd.DataFrame, tables: list[str]) -> pd.DataFrame:
    """:func:`monthly_rows_by_table` from :func:`_months` (``tables``: those present, in order)."""
    if not tables:
        return pd.DataFrame(
            {
                "table": pd.Series(dtype="str"),
                "month": pd.Series(dtype="datetime64[us]"),
                "rows": pd.Series(dtype="int64"),
            }
        )
    m = months.loc[months["month"].notna() & months["table"].isin(tables)]
    m = m.assign(_order=m["table"].map({t: i for i, t in enumerate(tables)}))
    out = m.sort_values(["_order", "month"], kind="stable")[["table", "month", "rows"]]
    out = out.astype({"table": "str", "rows": "int64"})
    out["month"] = pd.to_datetime(out["month"])
    return out.reset_index(drop=True)


# ---- keys ---------------------------------------------------------------------------------


def _fk_pairs(src: Source):
    for child, spec in TABLES.items():
        for col, (parent, pcol) in spec.foreign_keys.items():
            if src.has_column(child, col) and src.has_column(parent, pcol):
                yield child, col, parent, pcol


def _fk_join(src: Source, child: str, col: str, parent: str, pcol: str) -> ibis.Table:
    c = src.table(child).select(_fk=ibis._[col].cast("string"))
    keys = src.table(parent).select(_key=ibis._[pcol].cast("string")).distinct()
    return c.left_join(keys, c._fk == keys._key)


def fk_coverage(src: Source) -> pd.DataFrame:
    """For every foreign key of the model whose two tables are present: ``table, column,
    parent, rows, filled`` (non-null values), ``resolved`` (values found in the parent) and
    ``unresolved_values`` (distinct values not found). One query: per key, the child's rows
    counted per value and each value looked up among the parent's keys, unioned."""
    cols = ["table", "column", "parent", "rows", "filled", "resolved", "unresolved_values"]
    parts = []
    for child, col, parent, pcol in _fk_pairs(src):
        # a key holds few values over many rows: look the values up, not the rows
        values = (
            src.table(child).group_by(_fk=ibis._[col].cast("string")).aggregate(_n=ibis._.count())
        )
        keys = src.table(parent)
        keys = keys.filter(keys[pcol].notnull())[pcol].cast("string")  # NULL IN (...) is unknown
        v = values.mutate(_filled=values._fk.notnull(), _found=values._fk.isin(keys))
        parts.append(
            v.aggregate(
                table=ibis.literal(child),
                column=ibis.literal(col),
                parent=ibis.literal(parent),
                rows=v._n.sum(),
                filled=v._n.sum(where=v._filled),
                resolved=v._n.sum(where=v._found),
                unresolved_values=(v._filled & ~v._found).sum(),
                pos=ibis.literal(len(parts)),
            )
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if i < 3 else "int64") for i, c in enumerate(cols)}
        )
    out = ibis.union(*parts).order_by("pos").execute()
    return _int(out, cols[3:])[cols].reset_index(drop=True)


def fk_orphans(src: Source, table: str, column: str, limit: int = 5) -> pd.DataFrame:
    """The most frequent values of ``table.column`` not found in its parent: ``value, rows``."""
    parent, pcol = TABLES[table].foreign_keys[column]
    j = _fk_join(src, table, column, parent, pcol)
    out = (
        j.filter(j._fk.notnull() & j._key.isnull())
        .group_by(value=j._fk)
        .aggregate(rows=ibis._.count())
        .order_by([ibis.desc("rows"), "value"])
        .limit(int(limit))
        .execute()
    )
    out["rows"] = out["rows"].astype("int64")
    return out.reset_index(drop=True)


def _key_groups(src: Source, table: str) -> ibis.Table:
    """One row per key value of ``table`` with ``_n`` (rows) and ``_empty`` (a required key
    part is null; an optional part such as a market's country may be null, and rows alike
    in every part, nulls included, are duplicates)."""
    t = TABLES[table]
    key = list(t.key)
    x = src.table(table)
    required = [k for k in key if t.column(k).required]
    empty = ibis.or_(*[x[k].isnull() for k in required]) if required else ibis.literal(False)
    return x.mutate(_empty=empty).group_by([*key, "_empty"]).aggregate(_n=ibis._.count())


def duplicate_keys(src: Source) -> pd.DataFrame:
    """Key uniqueness per table present whose key columns are all there: ``table, key, rows,
    repeated_keys`` (key values held by more than one row), ``duplicate_rows`` (rows beyond
    the first of each key) and ``empty_key_rows`` (a key part missing; not counted as
    duplicates). One query."""
    cols = ["table", "key", "rows", "repeated_keys", "duplicate_rows", "empty_key_rows"]
    parts = []
    for t in src.tables:
        if not all(src.has_column(t, k) for k in TABLES[t].key):
            continue
        g = _key_groups(src, t)
        filled = ~g._empty
        parts.append(
            g.aggregate(
                table=ibis.literal(t),
                key=ibis.literal(", ".join(TABLES[t].key)),
                rows=g._n.sum(),
                repeated_keys=(filled & (g._n > 1)).sum(),
                duplicate_rows=(g._n - 1).sum(where=filled),
                empty_key_rows=g._n.sum(where=g._empty),
                pos=ibis.literal(len(parts)),
            )
        )
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="str" if i < 2 else "int64") for i, c in enumerate(cols)}
        )
    out = ibis.union(*parts).order_by("pos").execute()
    return _int(out, cols[2:])[cols].reset_index(drop=True)


def duplicate_key_examples(src: Source, table: str, limit: int = 5) -> pd.DataFrame:
    """The most repeated key values of ``table``: its key columns and ``rows``."""
    key = list(TABLES[table].key)
    g = _key_groups(src, table)
    out = (
        g.filter(~g._empty & (g._n > 1))
        .select(*key, rows=g._n)
        .order_by([ibis.desc("rows"), *key])
        .limit(int(limit))
        .execute()
    )
    out["rows"] = out["rows"].astype("int64")
    return out.reset_index(drop=True)


# ---- impossible sequences ------------------------------------------------------------------


@dataclass(frozen=True)
class SequenceCheck:
    """A rule two dates (or a date and a key) of the model can never break."""

    name: str
    table: str  # whose rows are counted
    column: str  # the column of ``table`` that is wrong when the rule breaks
    needs: tuple[tuple[str, str], ...]  # (table, column) pairs the check reads
    rule: str  # what is impossible, in the words of the business


SEQUENCE_CHECKS: tuple[SequenceCheck, ...] = (
    SequenceCheck(
        "won_before_created",
        "opportunities",
        "close_date",
        (
            ("opportunities", "created_date"),
            ("opportunities", "close_date"),
            ("opportunities", "status"),
        ),
        "deal won before it was created (close_date before created_date)",
    ),
    SequenceCheck(
        "negative_cycle_time",
        "opportunities",
        "close_date",
        (
            ("opportunities", "created_date"),
            ("opportunities", "close_date"),
            ("opportunities", "status"),
        ),
        "negative cycle time: a lost or open deal whose close_date is before its created_date",
    ),
    SequenceCheck(
        "resolved_before_opened",
        "tickets",
        "resolved_at",
        (("tickets", "opened_at"), ("tickets", "resolved_at")),
        "ticket resolved before it was opened (resolved_at before opened_at)",
    ),
    SequenceCheck(
        "responded_before_opened",
        "tickets",
        "first_response_at",
        (("tickets", "opened_at"), ("tickets", "first_response_at")),
        "ticket answered before it was opened (first_response_at before opened_at)",
    ),
    SequenceCheck(
        "lead_converted_to_missing_deal",
        "leads",
        "converted_opportunity_id",
        (("leads", "converted_opportunity_id"), ("opportunities", "opportunity_id")),
        "lead converted to an opportunity that is not in opportunities",
    ),
    SequenceCheck(
        "stage_before_deal_created",
        "stage_history",
        "entered_date",
        (
            ("stage_history", "opportunity_id"),
            ("stage_history", "entered_date"),
            ("opportunities", "opportunity_id"),
            ("opportunities", "created_date"),
        ),
        "stage entered before its deal was created (entered_date before created_date)",
    ),
)
CHECKS_BY_NAME = {c.name: c for c in SEQUENCE_CHECKS}


def sequence_not_run(src: Source, check: SequenceCheck) -> str:
    """Why ``check`` cannot run on this warehouse ("" when it can): the first table or
    column it reads that is absent, as ``no tickets table`` / ``no tickets.resolved_at``."""
    for t, _c in check.needs:
        if not src.has(t):
            return f"no {t} table"
    for t, c in check.needs:
        if not src.has_column(t, c):
            return f"no {t}.{c} column"
    return ""


def _won(op: ibis.Table):
    from salesnb.queries import WON, deal_status

    return deal_status(op) == WON


def _sequence_rows(src: Source, name: str) -> ibis.Table:
    """The rows ``name`` reads, with its example columns, ``_checked`` (both sides of the rule
    are filled) and ``_bad`` (the rule is broken)."""
    if name in ("won_before_created", "negative_cycle_time"):
        op = src.table("opportunities")
        created, closed = op.created_date.cast("date"), op.close_date.cast("date")
        won = _won(op).fill_null(False)
        mine = won if name == "won_before_created" else ~won
        checked = mine & created.notnull() & closed.notnull()
        return op.select(
            opportunity_id=op.opportunity_id.cast("string"),
            status=op.status.cast("string"),
            created_date=created,
            close_date=closed,
            cycle_days=closed.delta(created, unit="day"),
            _checked=checked,
            _bad=checked & (closed < created),
        )
    if name in ("resolved_before_opened", "responded_before_opened"):
        tk = src.table("tickets")
        other = "resolved_at" if name == "resolved_before_opened" else "first_response_at"
        opened, then = tk.opened_at.cast("timestamp"), tk[other].cast("timestamp")
        checked = opened.notnull() & then.notnull()
        return tk.select(
            ticket_id=tk.ticket_id.cast("string"),
            opened_at=opened,
            **{other: then},
            _checked=checked,
            _bad=checked & (then < opened),
        )
    if name == "lead_converted_to_missing_deal":
        ld = src.table("leads")
        leads = ld.select(
            lead_id=ld.lead_id.cast("string"),
            created_date=ld.created_date.cast("date")
            if "created_date" in ld.columns
            else ibis.literal(None, "date"),
            converted_opportunity_id=ld.converted_opportunity_id.cast("string"),
        )
        deals = src.table("opportunities").select(_key=ibis._.opportunity_id.cast("string"))
        deals = deals.distinct()
        j = leads.left_join(deals, leads.converted_opportunity_id == deals._key)
        checked = j.converted_opportunity_id.notnull()
        return j.mutate(_checked=checked, _bad=checked & j._key.isnull()).drop("_key")
    if name == "stage_before_deal_created":
        sh = src.table("stage_history")
        op = src.table("opportunities")
        created = (
            op.select(_id=op.opportunity_id.cast("string"), _created=op.created_date.cast("date"))
            .group_by("_id")
            .aggregate(deal_created_date=ibis._._created.min())
        )
        stages = sh.select(
            opportunity_id=sh.opportunity_id.cast("string"),
            stage=sh.stage.cast("string") if "stage" in sh.columns else ibis.literal(""),
            entered_date=sh.entered_date.cast("date"),
        )
        j = stages.left_join(created, stages.opportunity_id == created._id).drop("_id")
        checked = j.entered_date.notnull() & j.deal_created_date.notnull()
        return j.mutate(_checked=checked, _bad=checked & (j.entered_date < j.deal_created_date))
    raise ValueError(f"unknown sequence check {name!r}; known: {', '.join(CHECKS_BY_NAME)}")


def impossible_sequences(src: Source) -> pd.DataFrame:
    """Every impossible-sequence check: ``check, table, rule, checked`` (rows on which the
    rule can be tested: both dates filled), ``violations`` and ``not_run`` (why the check did
    not run, "" when it ran). ``checked`` and ``violations`` are missing (``<NA>``) for a
    check not run, never zero. The checks that run are counted in one query."""
    rows, parts = [], []
    for c in SEQUENCE_CHECKS:
        why = sequence_not_run(src, c)
        rows.append({"check": c.name, "table": c.table, "rule": c.rule, "not_run": why})
        if why:
            continue
        x = _sequence_rows(src, c.name)
        parts.append(
            x.aggregate(
                check=ibis.literal(c.name),
                checked=x._checked.sum(),
                violations=x._bad.sum(),
            )
        )
    out = pd.DataFrame(rows)
    counts = ibis.union(*parts).execute() if parts else pd.DataFrame(columns=["check"])
    out = out.merge(counts, on="check", how="left")
    for c in ("checked", "violations"):
        if c not in out:
            out[c] = pd.NA
        ran = out["not_run"] == ""
        out[c] = out[c].where(~ran, out[c].fillna(0)).astype("Int64")
    return out[["check", "table", "rule", "checked", "violations", "not_run"]]


def sequence_examples(src: Source, check: str, limit: int = 5) -> pd.DataFrame:
    """The first ``limit`` rows breaking ``check`` (by their key), with the dates or key that
    break it. Raises ``ValueError`` for a check that cannot run on this warehouse."""
    c = CHECKS_BY_NAME.get(check)
    if c is None:
        raise ValueError(f"unknown sequence check {check!r}; known: {', '.join(CHECKS_BY_NAME)}")
    if why := sequence_not_run(src, c):
        raise ValueError(f"check {check} cannot run: {why}")
    x = _sequence_rows(src, check)
    shown = [col for col in x.columns if not col.startswith("_")]
    out = x.filter(x._bad).select(shown).order_by(shown[:2]).limit(int(limit)).execute()
    if "cycle_days" in out:
        out["cycle_days"] = out["cycle_days"].astype("Int64")
    return out.reset_index(drop=True)


# ---- order lines ---------------------------------------------------------------------------


def order_line_checks(src: Source, max_discount: float = 0.5) -> dict:
    """Counts of suspicious order lines and the net_amount quartiles (for the IQR rule):
    ``rows, negative_amount, negative_unflagged, discount_over, zero_price, q1, q3``.
    A negative line counts as flagged when ``is_return`` is true or, without that column,
    when its quantity is negative too. ``discount_over`` / ``zero_price`` are None without
    their column; ``q1`` / ``q3`` are None when no line has an amount."""
    o = src.table("orders")
    cols = set(o.columns)
    if "is_return" in cols:
        flagged = o.is_return.fill_null(False)
    elif "quantity" in cols:
        flagged = o.quantity < 0
    else:
        flagged = ibis.literal(False)
    negative = o.net_amount < 0
    aggs = {
        "rows": o.count(),
        "negative_amount": negative.sum(),
        "negative_unflagged": (negative & ~flagged).sum(),
        "quartiles": o.net_amount.quantile([0.25, 0.75]),  # one sort for both
    }
    if "discount" in cols:
        aggs["discount_over"] = (o.discount > ibis.literal(float(max_discount))).sum()
    if "unit_price" in cols:
        aggs["zero_price"] = (o.unit_price == 0).sum()
    r = o.aggregate(**aggs).execute().iloc[0]
    out = {}
    for k, v in r.items():
        if k == "quartiles":  # NULL (no amount at all) or [q1, q3]
            quartiles = list(v) if isinstance(v, (list, tuple)) else [None, None]
            for name, q in zip(("q1", "q3"), quartiles, strict=True):
                out[name] = None if q is None or pd.isna(q) else float(q)
        else:
            out[k] = 0 if pd.isna(v) else int(v)  # a sum over no rows is NULL: zero lines
    out.setdefault("discount_over", None)
    out.setdefault("zero_price", None)
    return out


def amount_outside(src: Source, low: float, high: float) -> int:
    """Order lines whose net_amount lies outside ``[low, high]``."""
    o = src.table("orders")
    n = o.filter(
        (o.net_amount < ibis.literal(float(low))) | (o.net_amount > ibis.literal(float(high)))
    )
    return int(n.count().execute())


def period_rows(src: Source, filters) -> int:
    """Order lines in the study's period and filters."""
    from salesnb.queries import filtered_orders

    return int(filtered_orders(src, filters).count().execute())
