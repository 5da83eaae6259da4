"""Engine-side aggregates for the risk & compliance study."""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.queries import filtered_orders
from salesnb.queries.performance import _returns_flag
from salesnb.sources import Source


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
            return_lines=ret.sum(),
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


def discounted_lines(src: Source, filters, above: float) -> pd.DataFrame:
    """Sale lines of the period whose discount is above ``above``, with the rep's role.

    For discount compliance when there are no deals: ``above`` is the smallest discount
    authority, so no breach is left out while most compliant lines stay in the engine;
    :func:`salesnb.metrics.risk.line_breaches` applies the policy itself. Columns:
    ``order_id, line_no, order_date, rep_id, role, amount, discount`` (role null without the
    reps table or its role column). Returns excluded.
    """
    o = filtered_orders(src, filters)
    o = o.filter(~_returns_flag(o))
    o = o.filter(o.discount.cast("float64") > ibis.literal(float(above)))
    cols = {
        "order_id": o.order_id,
        "line_no": o.line_no if "line_no" in o.columns else ibis.literal(1),
        "order_date": o.order_date,
        "rep_id": o.rep_id.cast("string") if "rep_id" in o.columns else ibis.null("string"),
        "amount": o.net_amount.cast("float64"),
        "discount": o.discount.cast("float64"),
    }
    o = o.select(**cols)
    if src.has_column("reps", "role"):
        r = src.table("reps")
        r = r.select(__rid=r.rep_id.cast("string"), role=r.role.cast("string"))
        o = o.left_join(r, o.rep_id == r["__rid"]).drop("__rid")
    else:
        o = o.mutate(role=ibis.null("string"))
    df = o.execute()
    df["order_date"] = pd.to_datetime(df["order_date"])
    cols = ["order_id", "line_no", "order_date", "rep_id", "role", "amount", "discount"]
    return df[cols].sort_values(["order_id", "line_no"]).reset_index(drop=True)
