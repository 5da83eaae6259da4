"""Data-quality aggregations, evaluated in the engine (small frames out).

Everything here counts: rows per table, quarantined rows per table / column / reason,
date ranges and rows per month, foreign keys that resolve, and suspicious order lines.
The judgement (rates, bounds, what to do) lives in :mod:`salesnb.metrics.quality`.
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.schema import TABLES
from salesnb.source import Source

# The date that places a row of each table in time (for coverage and gaps).
EVENT_DATES = {
    "orders": "order_date",
    "leads": "created_date",
    "opportunities": "created_date",
    "stage_history": "entered_date",
    "tickets": "opened_at",
    "surveys": "date",
    "trainings": "date",
    "customers": "created_date",
}


def _all_tables(src: Source) -> set[str]:
    return set(src.con.list_tables())


def table_rows(src: Source) -> pd.DataFrame:
    """Rows per canonical table present: columns ``table, rows`` (model order; one query)."""
    if not src.tables:
        return pd.DataFrame(columns=["table", "rows"])
    parts = [
        src.table(t).aggregate(table=ibis.literal(t), rows=ibis._.count(), pos=ibis.literal(i))
        for i, t in enumerate(src.tables)
    ]
    out = ibis.union(*parts).order_by("pos").execute()
    out["rows"] = out["rows"].astype("int64")
    return out[["table", "rows"]].reset_index(drop=True)


def quarantine_counts(src: Source) -> pd.DataFrame:
    """Quarantined rows grouped by ``table, column, reason`` with ``rows`` (empty without a
    ``quarantine`` table). Reasons are stripped of the offending value so kinds of problem count
    together. Accepts the ingest layout (``table_name``, ``column_name``) or the plain one
    (``source_file``, ``column``); without a table column the table is the file's stem."""
    cols = ["table", "column", "reason", "rows"]
    if "quarantine" not in _all_tables(src):
        return pd.DataFrame(columns=cols)
    q = src.table("quarantine")
    if "table_name" in q.columns:
        table = q.table_name.cast("string")
    elif "source_file" in q.columns:
        # orders_2024-05.csv -> orders: the file stem up to the first dot / underscore-digit
        table = q.source_file.cast("string").re_extract(r"([A-Za-z]+(?:_[A-Za-z]+)*)", 1)
    else:
        table = ibis.literal("?")
    column = next(
        (q[c].cast("string") for c in ("column_name", "column") if c in q.columns), ibis.literal("")
    )
    reason = q.reason.cast("string") if "reason" in q.columns else ibis.literal("unknown")
    reason = reason.re_replace(r" \(got .*?\)", "").re_replace(r"'[^']*'", "'…'")
    out = (
        q.select(table=table, column=column.fill_null(""), reason=reason)
        .group_by(["table", "column", "reason"])
        .aggregate(rows=ibis._.count())
        .order_by([ibis.desc("rows"), "table", "column", "reason"])
        .execute()
    )
    out["rows"] = out["rows"].astype("int64")
    return out[cols]


def date_ranges(src: Source) -> pd.DataFrame:
    """First and last event date per table, and rows without a date:
    ``table, column, date_min, date_max, rows, undated`` (one query)."""
    cols = ["table", "column", "date_min", "date_max", "rows", "undated"]
    parts = []
    for t, col in EVENT_DATES.items():
        if not src.has_column(t, col):
            continue
        x = src.table(t)
        d = x[col].cast("timestamp")
        parts.append(
            x.aggregate(
                table=ibis.literal(t),
                column=ibis.literal(col),
                date_min=d.min(),
                date_max=d.max(),
                rows=x.count(),
                undated=d.isnull().sum().cast("int64"),
                pos=ibis.literal(len(parts)),
            )
        )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = ibis.union(*parts).order_by("pos").execute()
    for c in ("date_min", "date_max"):
        out[c] = pd.to_datetime(out[c])
    for c in ("rows", "undated"):
        out[c] = out[c].fillna(0).astype("int64")
    return out[cols].reset_index(drop=True)


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


def fk_coverage(src: Source) -> pd.DataFrame:
    """For every foreign key of the model whose two tables are present: ``table, column,
    parent, rows, filled`` (non-null values) and ``resolved`` (values found in the parent).
    One query: a left join per key against the parent's distinct keys, unioned."""
    cols = ["table", "column", "parent", "rows", "filled", "resolved"]
    parts = []
    for child, spec in TABLES.items():
        for col, (parent, pcol) in spec.foreign_keys.items():
            if not (src.has_column(child, col) and src.has_column(parent, pcol)):
                continue
            c = src.table(child).select(_fk=ibis._[col].cast("string"))
            keys = src.table(parent).select(_key=ibis._[pcol].cast("string")).distinct()
            j = c.left_join(keys, c._fk == keys._key)
            parts.append(
                j.aggregate(
                    table=ibis.literal(child),
                    column=ibis.literal(col),
                    parent=ibis.literal(parent),
                    rows=j.count(),
                    filled=j._fk.notnull().sum().cast("int64"),
                    resolved=j._key.notnull().sum().cast("int64"),
                    pos=ibis.literal(len(parts)),
                )
            )
    if not parts:
        return pd.DataFrame(columns=cols)
    out = ibis.union(*parts).order_by("pos").execute()
    for c in ("rows", "filled", "resolved"):
        out[c] = out[c].fillna(0).astype("int64")
    return out[cols].reset_index(drop=True)


def order_line_checks(src: Source, max_discount: float = 0.5) -> dict:
    """Counts of suspicious order lines and the net_amount quartiles (for the IQR rule):
    ``rows, negative_amount, negative_unflagged, discount_over, zero_price, q1, q3``.
    A negative line counts as flagged when ``is_return`` is true or, without that column,
    when its quantity is negative too."""
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
        "q1": o.net_amount.quantile(0.25),
        "q3": o.net_amount.quantile(0.75),
    }
    if "discount" in cols:
        aggs["discount_over"] = (o.discount > ibis.literal(float(max_discount))).sum()
    if "unit_price" in cols:
        aggs["zero_price"] = (o.unit_price == 0).sum()
    r = o.aggregate(**aggs).execute().iloc[0]
    out = {
        k: (None if pd.isna(v) else float(v) if k in ("q1", "q3") else int(v)) for k, v in r.items()
    }
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
