"""Tickets and survey responses of one period, filtered by region/team through the customer.

These tables are small per period (thousands of rows), so the period's rows are fetched
with hour columns computed in the engine; the metrics aggregate them.
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.queries import _date
from salesnb.sources import Source


def _customers_in(src: Source, filters):
    """Customer ids matching the region/team filters, or None when no such filter applies."""
    if filters is None or not (filters.region or filters.team) or not src.has("customers"):
        return None
    c = src.table("customers")
    if filters.region and "region" in c.columns:
        c = c.filter(c.region == ibis.literal(str(filters.region)))
    if filters.team and src.has("reps") and "owner_rep_id" in c.columns:
        reps = src.table("reps")
        c = c.filter(
            c.owner_rep_id.isin(reps.filter(reps.team == ibis.literal(str(filters.team))).rep_id)
        )
    return c.customer_id


def period_tickets(src: Source, filters) -> pd.DataFrame:
    """Tickets opened in the period: ids, category, priority, csat and response/resolution hours."""
    t = src.table("tickets")
    if filters.start is not None:
        t = t.filter(t.opened_at >= _date(filters.start).cast("timestamp"))
    if filters.end is not None:
        t = t.filter(t.opened_at < _date(filters.end).cast("timestamp"))
    ids = _customers_in(src, filters)
    if ids is not None:
        t = t.filter(t.customer_id.isin(ids))

    def hours(col):
        if col not in t.columns:
            return ibis.null("float64")
        # a float64 literal: Spark reads a bare 3600.0 as a decimal (rounded to 6 places)
        hour = ibis.literal(3600.0, type="float64")
        return (t[col].epoch_seconds() - t.opened_at.epoch_seconds()) / hour

    cols = dict(
        ticket_id=t.ticket_id,
        category=t.category if "category" in t.columns else ibis.literal("(none)"),
        priority=t.priority if "priority" in t.columns else ibis.literal("(none)"),
        csat=t.csat.cast("float64") if "csat" in t.columns else ibis.null("float64"),
        opened_at=t.opened_at,
        first_response_hours=hours("first_response_at").cast("float64"),
        resolution_hours=hours("resolved_at").cast("float64"),
    )
    df = t.select(**cols).order_by("ticket_id").execute()
    for c in ("csat", "first_response_hours", "resolution_hours"):
        df[c] = df[c].astype("float64")
    return df


def period_surveys(src: Source, filters) -> pd.DataFrame:
    """Survey responses dated in the period (response_id, date, month, touchpoint, nps, csat, comment)."""
    s = src.table("surveys")
    if filters.start is not None:
        s = s.filter(s.date >= _date(filters.start))
    if filters.end is not None:
        s = s.filter(s.date < _date(filters.end))
    ids = _customers_in(src, filters)
    if ids is not None:
        s = s.filter(s.customer_id.isin(ids))
    keep = [
        c for c in ("response_id", "date", "touchpoint", "nps", "csat", "comment") if c in s.columns
    ]
    df = s.select(keep).order_by("response_id").execute()
    for c in ("nps", "csat"):
        if c in df:
            df[c] = df[c].astype("float64")
        else:
            df[c] = float("nan")
    if "comment" not in df:
        df["comment"] = None
    if "touchpoint" not in df:
        df["touchpoint"] = "(all)"
    df["month"] = pd.to_datetime(df["date"]).dt.to_period("M").astype(str)
    return df
