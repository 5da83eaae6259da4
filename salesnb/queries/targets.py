"""Queries for target setting: monthly history, per-rep history, existing quotas.

All aggregation runs in the engine through :mod:`salesnb.queries`; results are small frames.
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.model.periods import Period
from salesnb.queries import in_order, revenue_by, total_revenue
from salesnb.sources import Source


def data_span(src: Source) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """First and last order date of the whole warehouse (no filters): what the export covers.

    Whether a comparison period is covered by data is a question about the export, not about
    whether one region happened to sell on its first day, so the dimension filters do not apply.
    """
    o = src.table("orders")
    row = o.aggregate(lo=o.order_date.min(), hi=o.order_date.max()).execute()
    lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
    if pd.isna(lo) or pd.isna(hi):
        return None, None
    return pd.Timestamp(lo), pd.Timestamp(hi)


def monthly_revenue(src: Source, filters, end=None) -> pd.DataFrame:
    """Revenue and units per month over all history before ``end`` (exclusive)."""
    f = filters.without_period()
    return revenue_by(src, f, by=["month"], end=end, distinct=False)


def complete_months(monthly: pd.Series, last_date) -> pd.Series:
    """Drop a trailing month the data does not fully cover (``last_date`` before its last day)."""
    if last_date is None or monthly.empty:
        return monthly
    last = pd.Timestamp(last_date)
    month_end = last + pd.offsets.MonthEnd(0)
    if last.normalize() < month_end.normalize():
        return monthly[monthly.index < last.to_period("M").to_timestamp()]
    return monthly


def daily_revenue(src: Source, filters, first, last) -> pd.Series:
    """Net revenue per day from ``first`` to ``last`` inclusive (every day present, 0 where
    nothing was sold): the landing forecast's period-to-date and run rate (a row a day)."""
    end = (pd.Timestamp(last) + pd.Timedelta(days=1)).date()
    df = revenue_by(src, filters.without_period(), by=["day"], start=first, end=end, distinct=False)
    days = pd.date_range(pd.Timestamp(first).normalize(), pd.Timestamp(last).normalize(), freq="D")
    s = pd.Series(df["revenue"].to_numpy(dtype="float64"), index=pd.DatetimeIndex(df["day"]))
    return s.groupby(level=0).sum().reindex(days, fill_value=0.0).rename("revenue")


def pipeline_frames(src: Source, filters, as_of) -> tuple[pd.DataFrame, pd.DataFrame] | None:
    """Deals and stage entries as known at the end of ``as_of`` (the deals study's frames,
    :func:`salesnb.queries.deals.deal_table` and ``stage_entries``); None without opportunities."""
    if not src.has("opportunities"):
        return None
    from salesnb.queries import deals as dq

    return dq.deal_table(src, filters, as_of), dq.stage_entries(src, filters, as_of)


def period_totals(src: Source, filters, period: Period) -> dict:
    """Revenue, orders and customers in ``period`` (zeros when there are none)."""
    df = revenue_by(src, filters.with_period(period), by=[])
    if df.empty or pd.isna(df["revenue"].iloc[0]):
        return dict(revenue=0.0, orders=0, customers=0)
    r = df.iloc[0]
    return dict(revenue=float(r["revenue"]), orders=int(r["orders"]), customers=int(r["customers"]))


def rep_month_revenue(src: Source, filters, period: Period, months_back: int = 24) -> pd.DataFrame:
    """Revenue per rep and month over ``months_back`` months before the period starts."""
    start = (pd.Timestamp(period.start) - pd.DateOffset(months=months_back)).date()
    return revenue_by(
        src,
        filters.without_period(),
        by=["rep_id", "month"],
        start=start,
        end=period.start,
        distinct=False,
    )


def reps_frame(src: Source, filters=None) -> pd.DataFrame:
    """The reps table (only the columns target setting uses), narrowed by region/team filters."""
    reps = src.table("reps")
    if filters is not None:
        if filters.region and "region" in reps.columns:
            reps = reps.filter(reps.region == ibis.literal(str(filters.region)))
        if filters.team and "team" in reps.columns:
            reps = reps.filter(reps.team == ibis.literal(str(filters.team)))
    cols = [
        c for c in ("rep_id", "name", "region", "team", "hire_date", "role") if c in reps.columns
    ]
    df = reps.select(cols).execute()
    return df.sort_values("rep_id").reset_index(drop=True)


def existing_quotas(src: Source, period: Period) -> pd.DataFrame:
    """Rows of the ``targets`` table for the period (``level, key, target_amount``)."""
    t = src.table("targets")
    t = t.filter(t.period.cast("string") == ibis.literal(period.label))
    df = t.select("level", "key", "target_amount").execute()
    df["target_amount"] = df["target_amount"].astype("float64")
    return in_order(df, ["level", "key", "target_amount"])


__all__ = [
    "complete_months",
    "daily_revenue",
    "data_span",
    "existing_quotas",
    "monthly_revenue",
    "period_totals",
    "pipeline_frames",
    "rep_month_revenue",
    "reps_frame",
    "total_revenue",
]
