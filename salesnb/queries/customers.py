"""Engine-side aggregations for the customers study (cohorts, category baskets, account owners).

Each function builds an Ibis expression over the warehouse and returns a small pandas frame;
order lines never come into pandas. Filters (region / team / channel) apply as in
:func:`salesnb.queries.filtered_orders`.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from salesnb.model.columns import require_columns
from salesnb.queries import filtered_orders
from salesnb.sources import Source

HISTORY_START = date(1900, 1, 1)


def cohort_activity(src: Source, filters=None, end=None) -> pd.DataFrame:
    """Customers and net revenue per first-purchase month (cohort) x calendar month.

    A customer's cohort is the month of their first purchase in all history before ``end``
    (default: the filters' end) within the filters' region / team / channel. Columns:
    ``cohort`` (month start), ``month`` (month start), ``months_since`` (0 = cohort month),
    ``customers`` (distinct customers active that month), ``revenue`` (net, returns included).
    """
    o = filtered_orders(src, filters, start=HISTORY_START, end=end)
    o = o.mutate(month=o.order_date.cast("date").truncate("M"))
    first = o.group_by("customer_id").aggregate(cohort=o.month.min())
    first = first.rename(__cid="customer_id")
    joined = o.inner_join(first, o.customer_id == first["__cid"])
    expr = joined.group_by(["cohort", "month"]).aggregate(
        customers=joined.customer_id.nunique(), revenue=joined.net_amount.sum()
    )
    df = expr.execute()
    df["cohort"] = pd.to_datetime(df["cohort"])
    df["month"] = pd.to_datetime(df["month"])
    df["customers"] = df["customers"].astype("int64")
    df["revenue"] = df["revenue"].astype("float64")
    df["months_since"] = (
        (df["month"].dt.year - df["cohort"].dt.year) * 12
        + df["month"].dt.month
        - df["cohort"].dt.month
    ).astype("int64")
    cols = ["cohort", "month", "months_since", "customers", "revenue"]
    return df[cols].sort_values(["cohort", "month"]).reset_index(drop=True)


def _purchase_lines_with_category(src: Source, filters=None, start=None, end=None) -> ibis.Table:
    """Sale lines (returns left out) joined to their product's category."""
    o = filtered_orders(src, filters, start, end)
    if "is_return" in o.columns:
        o = o.filter(~o.is_return.fill_null(False))
    else:
        o = o.filter(o.net_amount > 0)
    p = src.table("products").select(__pid="product_id", category="category")
    j = o.inner_join(p, o.product_id == p["__pid"])
    return j.filter(j.category.notnull())


def _order_categories(src: Source, filters=None, start=None, end=None) -> ibis.Table:
    j = _purchase_lines_with_category(src, filters, start, end)
    return j.select("order_id", "customer_id", "category").distinct()


def category_pairs(
    src: Source, filters=None, start=None, end=None
) -> dict[str, pd.DataFrame | int]:
    """Order-level co-purchase counts between product categories, computed in the engine.

    Returns ``{"orders": n_orders_with_a_category, "categories": frame(category, orders),
    "pairs": frame(category_a, category_b, orders)}`` with ``category_a < category_b``.
    Return lines are left out (a return is not a purchase).
    """
    oc = _order_categories(src, filters, start, end)
    n_orders = int(oc.order_id.nunique().execute() or 0)
    cats = oc.group_by("category").aggregate(orders=oc.order_id.nunique()).execute()
    left = oc.select(oid="order_id", category_a="category")
    right = oc.select(__oid="order_id", category_b="category")
    j = left.inner_join(right, (left.oid == right["__oid"]) & (left.category_a < right.category_b))
    pairs = j.group_by(["category_a", "category_b"]).aggregate(orders=j.oid.nunique()).execute()
    for f in (cats, pairs):
        f["orders"] = f["orders"].astype("int64")
    return {
        "orders": n_orders,
        "categories": cats.sort_values("category").reset_index(drop=True),
        "pairs": pairs.sort_values(["category_a", "category_b"]).reset_index(drop=True),
    }


def customer_categories(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Per customer and product category: orders and net revenue (purchases only).

    Columns ``customer_id, category, orders, revenue``; one row per pair that occurred.
    """
    j = _purchase_lines_with_category(src, filters, start, end)
    df = (
        j.group_by(["customer_id", "category"])
        .aggregate(orders=j.order_id.nunique(), revenue=j.net_amount.sum())
        .execute()
    )
    df["orders"] = df["orders"].astype("int64")
    df["revenue"] = df["revenue"].astype("float64")
    return df.sort_values(["customer_id", "category"]).reset_index(drop=True)


def customer_owners(src: Source) -> pd.DataFrame:
    """Account name, segment and owner rep (id and name) per customer, when the tables exist.

    Columns: ``customer_id, customer_name, segment, owner_rep_id, owner_rep`` (missing
    information is null). Empty frame with those columns when there is no customers table.
    """
    cols = ["customer_id", "customer_name", "segment", "owner_rep_id", "owner_rep"]
    if not src.has("customers"):
        return pd.DataFrame({c: pd.Series(dtype="str") for c in cols})
    c = src.table("customers")
    sel = {"customer_id": c.customer_id}
    for out, col in (
        ("customer_name", "name"),
        ("segment", "segment"),
        ("owner_rep_id", "owner_rep_id"),
    ):
        sel[out] = c[col] if col in c.columns else ibis.null("string")
    c = c.select(**sel)
    if (
        src.has("reps")
        and "owner_rep_id" in src.columns("customers")
        and "name" in src.columns("reps")
    ):
        r = src.table("reps").select(__rid="rep_id", owner_rep="name")
        c = c.left_join(r, c.owner_rep_id == r["__rid"]).drop("__rid")
    else:
        c = c.mutate(owner_rep=ibis.null("string"))
    df = c.execute()
    return df[cols].sort_values("customer_id").reset_index(drop=True)


def customer_revenue(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Net revenue (returns included) per customer in the period: ``customer_id, revenue``."""
    o = filtered_orders(src, filters, start, end)
    df = o.group_by("customer_id").aggregate(revenue=o.net_amount.sum()).execute()
    df["revenue"] = df["revenue"].astype("float64")
    return df.sort_values("customer_id").reset_index(drop=True)


def rfm_input(history: pd.DataFrame, window: pd.DataFrame) -> pd.DataFrame:
    """Combine an all-history and a look-back customer summary into the RFM inputs.

    ``history``: ``customer_id, last_date, recency_days, tenure_days`` (all purchases up to the
    as-of date). ``window``: ``customer_id, orders, revenue`` over the look-back window (e.g.
    the last 12 months). Returns ``customer_id, last_date, recency_days, tenure_days, orders,
    revenue`` with 0 orders / revenue for customers who did not buy in the window.
    """
    require_columns(
        history, ["customer_id", "last_date", "recency_days", "tenure_days"], "history summary"
    )
    require_columns(window, ["customer_id", "orders", "revenue"], "window summary")
    out = history[["customer_id", "last_date", "recency_days", "tenure_days"]].merge(
        window[["customer_id", "orders", "revenue"]], on="customer_id", how="left"
    )
    out["orders"] = out["orders"].fillna(0).astype("int64")
    out["revenue"] = out["revenue"].fillna(0.0).astype("float64")
    return out


def rfm_frame(
    src: Source, filters=None, end=None, lookback_months: int = 12, history=None
) -> pd.DataFrame:
    """RFM inputs as of the day before ``end`` (default: the filters' end).

    Recency and tenure come from all purchases before ``end``; orders and revenue from the
    ``lookback_months`` before it. Columns as :func:`rfm_input`.
    ``history``: ``customer_summary(src, filters, end=end)`` when the caller already has it
    (it is the all-history half of the inputs; passing it saves scanning the orders again).
    """
    from salesnb.queries import customer_summary

    end = end if end is not None else (filters.end if filters is not None else None)
    if end is None:
        raise ValueError("rfm_frame needs an end date (or filters with a period)")
    end = pd.Timestamp(end)
    as_of = end - pd.Timedelta(days=1)
    if history is None:
        history = customer_summary(src, filters, as_of=as_of, start=HISTORY_START, end=end.date())
    window_start = (end - pd.DateOffset(months=int(lookback_months))).date()
    window = customer_summary(src, filters, as_of=as_of, start=window_start, end=end.date())
    return rfm_input(history, window)
