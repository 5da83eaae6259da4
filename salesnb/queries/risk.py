"""Engine-side aggregates for the risk & compliance study."""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.queries import filtered_orders
from salesnb.queries.performance import _returns_flag
from salesnb.source import Source


def returns_by(src: Source, filters, by: str = "rep_id") -> pd.DataFrame:
    """Sale and return lines (and amounts) per ``by`` value in the period.

    Columns: ``<by>, lines, return_lines, sales, returns`` (returns as a positive amount).
    """
    o = filtered_orders(src, filters)
    if by == "category":
        p = src.table("products").select(__pid="product_id", category="category")
        o = o.left_join(p, o.product_id == p["__pid"]).drop("__pid")
    ret = _returns_flag(o)
    df = (
        o.group_by(by)
        .aggregate(
            lines=o.count(),
            return_lines=ret.cast("int64").sum(),
            sales=ibis.ifelse(ret, 0.0, o.net_amount).sum(),
            returns=ibis.ifelse(ret, -o.net_amount, 0.0).sum(),
        )
        .execute()
    )
    for c in ("lines", "return_lines"):
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("sales", "returns"):
        df[c] = df[c].astype("float64")
    return df[df[by].notna()].sort_values(by).reset_index(drop=True)


def period_end_loading(src: Source, filters, last_days: int = 14) -> pd.DataFrame:
    """Per rep: revenue in the period and in its last ``last_days`` days.

    Columns: ``rep_id, revenue, revenue_last_days``. Uses sale lines only (returns excluded).
    """
    o = filtered_orders(src, filters)
    o = o.filter(~_returns_flag(o))
    cutoff = ibis.literal((pd.Timestamp(filters.end) - pd.Timedelta(days=last_days)).date())
    df = (
        o.group_by("rep_id")
        .aggregate(
            revenue=o.net_amount.sum(),
            revenue_last_days=ibis.ifelse(o.order_date >= cutoff, o.net_amount, 0.0).sum(),
        )
        .execute()
    )
    for c in ("revenue", "revenue_last_days"):
        df[c] = df[c].astype("float64")
    return df[df["rep_id"].notna()].sort_values("rep_id").reset_index(drop=True)
