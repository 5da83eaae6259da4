"""Engine-side aggregations for the customers study (cohorts, category baskets, account owners).

Each function builds an Ibis expression over the warehouse and returns a small pandas frame;
order lines never come into pandas. Filters (region / team / channel) apply as in
:func:`salesnb.queries.filtered_orders`.
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.model.columns import require_columns
from salesnb.queries import (
    HISTORY_START,
    customer_day_aggregates,
    customer_days,
    filtered_orders,
    net_revenue,
    purchase_lines,
    summary_as_of,
    summary_frame,
    with_net_revenue,
)
from salesnb.sources import Source


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
    o = purchase_lines(filtered_orders(src, filters, start, end))
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
    Return lines are left out (a return is not a purchase). One query: the three counts are
    stacked as rows, told apart by which category columns they fill.
    """
    oc = _order_categories(src, filters, start, end)
    none = ibis.null("string")
    left = oc.select(oid="order_id", category_a="category")
    right = oc.select(__oid="order_id", category_b="category")
    j = left.inner_join(right, (left.oid == right["__oid"]) & (left.category_a < right.category_b))
    counts = ibis.union(
        oc.aggregate(category_a=none, category_b=none, orders=oc.order_id.nunique()),
        oc.group_by(category_a="category").aggregate(category_b=none, orders=oc.order_id.nunique()),
        j.group_by(["category_a", "category_b"]).aggregate(orders=j.oid.nunique()),
    ).execute()
    counts["orders"] = counts["orders"].fillna(0).astype("int64")
    total = counts["category_a"].isna()
    single = counts["category_a"].notna() & counts["category_b"].isna()
    cats = counts.loc[single, ["category_a", "orders"]].rename(columns={"category_a": "category"})
    pairs = counts.loc[counts["category_b"].notna(), ["category_a", "category_b", "orders"]]
    return {
        "orders": int(counts.loc[total, "orders"].sum()),
        "categories": cats.sort_values("category").reset_index(drop=True),
        "pairs": pairs.sort_values(["category_a", "category_b"]).reset_index(drop=True),
    }


def categories_bought(
    src: Source, filters=None, start=None, end=None, categories=None
) -> pd.DataFrame:
    """Which product categories each customer has bought (purchases only):
    ``customer_id, category``, one row per pair, sorted. ``categories``: only these (None:
    all; none at all: an empty frame, read from nowhere). The light form of
    :func:`customer_categories` for who owns what (no counts or amounts to compute)."""
    if categories is not None and not len(categories):
        return pd.DataFrame(
            {"customer_id": pd.Series(dtype="str"), "category": pd.Series(dtype="str")}
        )
    j = _purchase_lines_with_category(src, filters, start, end)
    if categories is not None:
        j = j.filter(j.category.isin([str(c) for c in categories]))
    df = j.select("customer_id", "category").distinct().execute()
    return df.sort_values(["customer_id", "category"]).reset_index(drop=True)


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


def rfm_frame(src: Source, filters=None, end=None, lookback_months: int = 12) -> pd.DataFrame:
    """RFM inputs as of the day before ``end`` (default: the filters' end).

    Recency and tenure come from all purchases before ``end``; orders and revenue from the
    ``lookback_months`` before it. Columns as :func:`rfm_input`. To have the customer summary
    and the inputs at several dates from one pass over the orders, use :func:`customer_history`.
    """
    end = _history_end(filters, end)
    _, inputs = customer_history(src, filters, [end], lookback_months=lookback_months, end=end)
    return inputs[end]


def _history_end(filters, end):
    end = end if end is not None else (filters.end if filters is not None else None)
    if end is None:
        raise ValueError("the customer history needs an end date (or filters with a period)")
    return end


def customer_history(
    src: Source, filters=None, rfm_ends=(), lookback_months: int = 12, end=None
) -> tuple[pd.DataFrame, dict]:
    """The customer summary to ``end`` (default: the filters' end) and the RFM inputs as of the
    day before each of ``rfm_ends``, from one pass over the orders.

    Returns ``(summary, {rfm_end: inputs})``: ``summary`` is
    :func:`salesnb.queries.customer_summary` (``end=end``), each ``inputs`` frame is
    :func:`rfm_frame` (``end=rfm_end``). An RFM end must not lie after ``end``: its recency,
    tenure and orders are read off the summary's purchase days before it, and only the
    net revenue of its look-back window is summed apart.
    """
    end = pd.Timestamp(_history_end(filters, end))
    days = customer_days(src, filters, end=end.date())
    aggs = customer_day_aggregates(days)
    windows = []
    # The added columns are filled in the engine (the counts say who bought): ibis' execute
    # brings a column holding a null into pandas value by value, as Python objects.
    for i, rfm_end in enumerate(rfm_ends):
        upto = pd.Timestamp(rfm_end)
        if upto > end:
            raise ValueError(f"RFM end {upto.date()} is after the history's end {end.date()}")
        start = (upto - pd.DateOffset(months=int(lookback_months))).date()
        before = days.d < ibis.literal(upto.date())
        inside = before & (days.d >= ibis.literal(start))
        aggs.update(
            {
                f"_days_{i}": days.count(where=before),
                f"_first_{i}": days.d.min(where=before).fill_null(HISTORY_START),
                f"_last_{i}": days.d.max(where=before).fill_null(HISTORY_START),
                f"_window_days_{i}": days.count(where=inside),
                f"_orders_{i}": days.day_orders.sum(where=inside).fill_null(0),
            }
        )
        windows.append((start, upto.date()))
    per = days.group_by("customer_id").aggregate(**aggs)
    expr = with_net_revenue(src, filters, per, end=end.date())
    for i, (start, upto) in enumerate(windows):
        net = net_revenue(src, filters, start=start, end=upto)
        net = net.rename(**{f"_cid_{i}": "customer_id", f"_net_{i}": "revenue"})
        expr = expr.left_join(net, expr.customer_id == net[f"_cid_{i}"]).drop(f"_cid_{i}")
        expr = expr.mutate(**{f"_revenue_{i}": expr[f"_net_{i}"].fill_null(0.0)}).drop(f"_net_{i}")
    df = expr.execute().sort_values("customer_id").reset_index(drop=True)
    rfm = {
        rfm_end: _rfm_inputs_at(df, i, pd.Timestamp(rfm_end)) for i, rfm_end in enumerate(rfm_ends)
    }
    summary = df.drop(columns=[c for c in df.columns if c.startswith("_")])
    return summary_frame(summary, summary_as_of(None, end, summary)), rfm


def _rfm_inputs_at(df: pd.DataFrame, i: int, upto: pd.Timestamp) -> pd.DataFrame:
    """The RFM inputs of ``customer_history``'s ``i``-th end from its per-customer columns:
    customers who bought before it; orders and revenue of those who bought in its window."""
    as_of = upto - pd.Timedelta(days=1)
    bought = df[df[f"_days_{i}"] > 0]
    first = pd.to_datetime(bought[f"_first_{i}"])
    last = pd.to_datetime(bought[f"_last_{i}"])
    history = pd.DataFrame(
        {
            "customer_id": bought["customer_id"],
            "last_date": last,
            "recency_days": (as_of - last).dt.days,
            "tenure_days": (as_of - first).dt.days,
        }
    ).reset_index(drop=True)
    window = df.loc[df[f"_window_days_{i}"] > 0, ["customer_id", f"_orders_{i}", f"_revenue_{i}"]]
    window = window.set_axis(["customer_id", "orders", "revenue"], axis=1)
    return rfm_input(history, window)
