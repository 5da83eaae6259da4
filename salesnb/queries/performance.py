"""Engine-side aggregations for the performance, incentives and experiments studies.

Every function returns a small pandas frame (one row per rep, rep x month,
rep x product or unit); the order lines never leave the engine. Filters
(region / team / channel) are applied exactly as in :mod:`salesnb.queries`.
"""

from __future__ import annotations

from datetime import date

import ibis
import pandas as pd

from salesnb.queries import (
    CLOSED_STATUSES,
    WON,
    _date,
    deal_status,
    filtered_opportunities,
    filtered_orders,
    in_order,
)
from salesnb.queries.targets import data_span
from salesnb.sources import Source

__all__ = [
    "accounts_by_rep_segment",
    "closed_deals_by_rep",
    "commission_lines",
    "data_span",
    "market_by_region_segment",
    "new_customers_by_rep",
    "pilot_deals_by_unit",
    "pilot_units",
    "rep_period_revenue",
    "rep_sales",
    "rep_segment_revenue",
    "reps_frame",
    "survey_scores_by_rep",
    "targets_frame",
    "won_deals_with_discount",
]

EPOCH = date(1900, 1, 1)


def _returns_flag(o: ibis.Table):
    """Boolean expression: is this order line a return."""
    if "is_return" in o.columns:
        return o.is_return.fill_null(False)
    return o.net_amount < 0


def reps_frame(src: Source, filters=None) -> pd.DataFrame:
    """The reps table (restricted to the team / region filters), as pandas: rep_id, name, team, region, role."""
    reps = src.table("reps")
    if filters is not None and filters.team and "team" in reps.columns:
        reps = reps.filter(reps.team == ibis.literal(str(filters.team)))
    if filters is not None and filters.region and "region" in reps.columns:
        reps = reps.filter(reps.region == ibis.literal(str(filters.region)))
    cols = [
        c for c in ("rep_id", "name", "team", "region", "role", "hire_date") if c in reps.columns
    ]
    df = reps.select(cols).execute()
    for c in ("name", "team", "region", "role"):
        if c not in df.columns:
            df[c] = pd.NA
    return df.sort_values("rep_id").reset_index(drop=True)


def rep_sales(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Per rep in the period: revenue (net of returns), sales, returns (positive), lines,
    customers, weighted discount.

    Columns: ``rep_id, revenue, sales, returns, orders, customers, avg_discount``.
    ``avg_discount`` is the revenue-weighted mean of ``orders.discount`` over sale lines
    (NaN when orders carry no discount).
    """
    o = filtered_orders(src, filters, start, end)
    ret = _returns_flag(o)
    has_disc = "discount" in o.columns
    aggs = dict(
        revenue=o.net_amount.sum(),
        sales=ibis.ifelse(ret, 0.0, o.net_amount).sum(),
        returns=ibis.ifelse(ret, -o.net_amount, 0.0).sum(),
        orders=o.order_id.nunique(),
        customers=o.customer_id.nunique(),
    )
    if has_disc:
        aggs["disc_weighted"] = ibis.ifelse(ret, 0.0, o.discount.fill_null(0) * o.net_amount).sum()
    df = o.group_by("rep_id").aggregate(**aggs).execute()
    for c in ("revenue", "sales", "returns"):
        df[c] = df[c].astype("float64")
    if has_disc:
        df["avg_discount"] = df["disc_weighted"].astype("float64") / df["sales"].where(
            df["sales"] > 0
        )
        df = df.drop(columns="disc_weighted")
    else:
        df["avg_discount"] = float("nan")
    df = df[df["rep_id"].notna()]
    return df.sort_values("rep_id").reset_index(drop=True)


def new_customers_by_rep(src: Source, filters=None) -> pd.DataFrame:
    """Customers whose first purchase ever (under the dimension filters) falls in the period,
    credited to the rep of that first purchase. Columns: ``rep_id, new_customers``."""
    o = filtered_orders(src, filters, start=EPOCH, end=filters.end if filters else None)
    o = o.filter(~_returns_flag(o))
    first = o.group_by("customer_id").aggregate(
        first_date=o.order_date.min(), first_rep=o.rep_id.argmin(o.order_date)
    )
    first = first.filter(first.first_date >= _date(filters.start))
    df = first.group_by(rep_id=first.first_rep).aggregate(new_customers=first.count()).execute()
    df["new_customers"] = df["new_customers"].astype("int64")
    return in_order(df, ["rep_id"])


def closed_deals_by_rep(src: Source, filters=None) -> pd.DataFrame:
    """Opportunities closed in the period, per rep.

    Columns: ``rep_id, closed, won, lost, won_amount, cycle_days`` (mean days created ->
    close of closed deals, won or lost: the funnel study's cycle time) and ``deal_discount`` (mean discount of won deals, when present).
    """
    op = filtered_opportunities(src, filters, date_col="close_date")
    st = deal_status(op)
    op = op.filter(st.isin(CLOSED_STATUSES))
    won = deal_status(op) == WON
    aggs = dict(
        closed=op.count(),
        won=won.sum(),
        won_amount=ibis.ifelse(won, op.amount, 0.0).sum(),
        # the one cycle-time rule (queries.funnel.cycle_day_histogram): created -> close of
        # every closed deal, won or lost
        cycle_days=op.close_date.cast("date")
        .delta(op.created_date.cast("date"), unit="day")
        .mean(),
    )
    if "discount" in op.columns:
        aggs["deal_discount"] = ibis.ifelse(won, op.discount, ibis.null()).mean()
    df = op.group_by("rep_id").aggregate(**aggs).execute()
    df["closed"] = df["closed"].astype("int64")
    df["won"] = df["won"].fillna(0).astype("int64")
    df["lost"] = df["closed"] - df["won"]
    for c in ("won_amount", "cycle_days"):
        df[c] = df[c].astype("float64")
    return df[df["rep_id"].notna()].sort_values("rep_id").reset_index(drop=True)


def won_deals_with_discount(src: Source, filters=None) -> pd.DataFrame:
    """Won opportunities closed in the period with their discount and the rep's role.

    Columns: ``opportunity_id, rep_id, role, close_date, amount, discount``.
    """
    op = filtered_opportunities(src, filters, date_col="close_date")
    op = op.filter(deal_status(op) == WON)
    op = op.select("opportunity_id", "rep_id", "close_date", "amount", "discount")
    reps = src.table("reps")
    role = reps.role if "role" in reps.columns else ibis.null("string")
    reps = reps.select(__rid=reps.rep_id, role=role)
    df = op.left_join(reps, op.rep_id == reps["__rid"]).drop("__rid").execute()
    df["discount"] = df["discount"].astype("float64")
    df["amount"] = df["amount"].astype("float64")
    return df.sort_values("opportunity_id").reset_index(drop=True)


def survey_scores_by_rep(src: Source, filters=None) -> pd.DataFrame:
    """Survey responses in the period credited to the customer's owner rep.

    Columns: ``rep_id, responses, nps`` (percent promoters 9-10 minus detractors 0-6, in
    points -100..100) and ``csat`` (mean).
    """
    s = src.table("surveys")
    s = s.filter((s.date >= _date(filters.start)) & (s.date < _date(filters.end)))
    c = src.table("customers").select(__cid="customer_id", rep_id="owner_rep_id")
    j = s.inner_join(c, s.customer_id == c["__cid"])
    aggs = dict(responses=j.count())
    if "nps" in j.columns:
        answered = j.nps.notnull().sum()
        aggs["nps_n"] = answered
        aggs["promoters"] = (j.nps >= 9).sum()
        aggs["detractors"] = (j.nps <= 6).sum()
    if "csat" in j.columns:
        aggs["csat"] = j.csat.mean()
    df = j.group_by("rep_id").aggregate(**aggs).execute()
    if "nps_n" in df.columns:
        n = df["nps_n"].astype("float64").where(df["nps_n"] > 0)
        df["nps"] = (
            100.0 * (df["promoters"].astype("float64") - df["detractors"].astype("float64")) / n
        )
        df = df.drop(columns=["nps_n", "promoters", "detractors"])
    return in_order(df[df["rep_id"].notna()], ["rep_id"])


def targets_frame(src: Source, levels=("company", "region", "team", "rep")) -> pd.DataFrame:
    """The targets table rows of the given levels (small): period, level, key, target_amount."""
    t = src.table("targets")
    t = t.filter(t.level.isin(list(levels)))
    df = t.select("period", "level", "key", "target_amount").execute()
    df["target_amount"] = df["target_amount"].astype("float64")
    df["period"] = df["period"].astype(str)
    df["key"] = df["key"].astype(str)
    return in_order(df, ["period", "level", "key", "target_amount"])


def rep_period_revenue(
    src: Source, filters=None, grain: str = "month", start=None, end=None
) -> pd.DataFrame:
    """Net revenue per rep and month/quarter between ``start`` and ``end``.

    Columns: ``rep_id, <grain>`` (period start timestamp), ``revenue``, ``lines``.
    """
    o = filtered_orders(src, filters, start=start if start is not None else EPOCH, end=end)
    unit = {"month": "M", "quarter": "Q"}[grain]
    o = o.mutate(**{grain: o.order_date.cast("date").truncate(unit)})
    df = (
        o.group_by(["rep_id", grain])
        .aggregate(revenue=o.net_amount.sum(), lines=o.count())
        .execute()
    )
    df[grain] = pd.to_datetime(df[grain])
    df["revenue"] = df["revenue"].astype("float64")
    df["lines"] = df["lines"].astype("int64")
    df = df[df["rep_id"].notna()]
    return df.sort_values(["rep_id", grain]).reset_index(drop=True)


def commission_lines(src: Source, filters=None) -> pd.DataFrame:
    """What a commission plan needs, per rep x product in the period.

    Columns: ``rep_id, product_id, category, sales, returns, units_sold, units_returned``
    (returns and units_returned positive). ``category`` is null without a products table.
    """
    o = filtered_orders(src, filters)
    ret = _returns_flag(o)
    pid = o.product_id if "product_id" in o.columns else ibis.null("string")
    o = o.mutate(__ret=ret, product_id=pid)
    df = (
        o.group_by(["rep_id", "product_id"])
        .aggregate(
            sales=ibis.ifelse(o["__ret"], 0.0, o.net_amount).sum(),
            returns=ibis.ifelse(o["__ret"], -o.net_amount, 0.0).sum(),
            units_sold=ibis.ifelse(o["__ret"], 0.0, o.quantity.cast("float64")).sum(),
            units_returned=ibis.ifelse(o["__ret"], -o.quantity.cast("float64"), 0.0).sum(),
        )
        .execute()
    )
    if src.has_column("products", "category"):
        cats = src.table("products").select("product_id", "category").execute()
        df = df.merge(cats, on="product_id", how="left")
    else:
        df["category"] = pd.NA
    for c in ("sales", "returns", "units_sold", "units_returned"):
        df[c] = df[c].astype("float64")
    df = df[df["rep_id"].notna()]
    return df.sort_values(["rep_id", "product_id"]).reset_index(drop=True)


def market_by_region_segment(src: Source, period=None) -> pd.DataFrame:
    """Market size per region x segment for the market period covering the start of ``period``
    (a :class:`~salesnb.model.periods.Period`; else the latest market period starting before its end,
    else the latest of all). ``market_size`` repeats on each competitor row, so it is taken
    once per (region, country, segment).

    Columns: ``period, region, segment, market_size``.
    """
    from salesnb.model.periods import parse_period

    empty = pd.DataFrame(columns=["period", "region", "segment", "market_size"])
    m = src.table("market")
    if not {"region", "market_size", "period"} <= set(m.columns):
        return empty
    seg = m.segment if "segment" in m.columns else ibis.literal("all")
    country = m.country if "country" in m.columns else ibis.literal("")
    m = m.mutate(
        segment=seg.cast("string").fill_null("all"), country=country.cast("string").fill_null("")
    )
    labels = []
    for lab in m.select("period").distinct().execute()["period"].astype(str):
        try:
            labels.append((parse_period(lab), lab))
        except Exception:  # a label validation flags; it cannot be placed in time
            continue
    if not labels:
        return empty
    labels.sort(key=lambda x: (x[0].start, x[0].end))
    chosen = labels[-1][1]
    if period is not None:
        covering = [lab for p, lab in labels if p.start <= period.start < p.end]
        before = [lab for p, lab in labels if p.start < period.end]
        chosen = covering[-1] if covering else (before[-1] if before else chosen)
    m = m.filter(m.period == ibis.literal(chosen))
    per = m.group_by(["region", "country", "segment"]).aggregate(size=m.market_size.max())
    df = per.group_by(["region", "segment"]).aggregate(market_size=per.size.sum()).execute()
    df["market_size"] = df["market_size"].astype("float64")
    df.insert(0, "period", chosen)
    return df.sort_values(["region", "segment"]).reset_index(drop=True)


def rep_segment_revenue(src: Source, filters=None) -> pd.DataFrame:
    """Net revenue per rep x customer segment in the period. Columns: rep_id, segment, revenue."""
    o = filtered_orders(src, filters)
    c = src.table("customers").select(__cid="customer_id", segment="segment")
    j = o.left_join(c, o.customer_id == c["__cid"])
    df = j.group_by(["rep_id", "segment"]).aggregate(revenue=j.net_amount.sum()).execute()
    df["revenue"] = df["revenue"].astype("float64")
    return in_order(df[df["rep_id"].notna()], ["rep_id", "segment"])


def pilot_units(src: Source) -> pd.DataFrame:
    """The pilots table as pandas (small)."""
    df = src.table("pilots").execute()
    for c in ("start_date", "end_date"):
        if c in df.columns:
            df[c] = pd.to_datetime(df[c])
    df["unit_id"] = df["unit_id"].astype(str)
    return in_order(df, [c for c in ("pilot", "unit_type", "unit_id", "start_date") if c in df])


def pilot_deals_by_unit(
    src: Source, unit_type: str, start, end=None, closed_before=None, filters=None
) -> pd.DataFrame:
    """Deals created in ``[start, end)`` and closed (won/lost) before ``closed_before``,
    per pilot unit (rep_id, customer_id or region).

    Columns: ``unit_id, closed, won, won_amount``.
    """
    op = filtered_opportunities(src, filters)
    op = op.filter(op.created_date >= _date(start))
    if end is not None and not pd.isna(end):
        op = op.filter(op.created_date < _date(end))
    op = op.filter(deal_status(op).isin(CLOSED_STATUSES))
    if closed_before is not None:
        op = op.filter(op.close_date < _date(closed_before))
    if unit_type == "rep":
        op = op.mutate(unit_id=op.rep_id)
    elif unit_type == "customer":
        op = op.mutate(unit_id=op.customer_id)
    elif unit_type == "region":
        if src.has_column("customers", "region"):
            c = src.table("customers").select(__cid="customer_id", unit_id="region")
            op = op.left_join(c, op.customer_id == c["__cid"]).drop("__cid")
        else:
            r = src.table("reps").select(__rid="rep_id", unit_id="region")
            op = op.left_join(r, op.rep_id == r["__rid"]).drop("__rid")
    else:
        raise ValueError(f"pilots.unit_type must be rep, customer or region, not {unit_type!r}")
    won = deal_status(op) == WON
    df = (
        op.group_by("unit_id")
        .aggregate(
            closed=op.count(),
            won=won.sum(),
            won_amount=ibis.ifelse(won, op.amount, 0.0).sum(),
        )
        .execute()
    )
    df["unit_id"] = df["unit_id"].astype(str)
    df["closed"] = df["closed"].astype("int64")
    df["won"] = df["won"].astype("int64")
    df["won_amount"] = df["won_amount"].astype("float64")
    return in_order(df, ["unit_id"])


def accounts_by_rep_segment(src: Source) -> pd.DataFrame:
    """Accounts owned per rep x segment (customers.owner_rep_id). Columns: rep_id, segment, accounts."""
    c = src.table("customers")
    seg = (
        c.segment.cast("string").fill_null("all") if "segment" in c.columns else ibis.literal("all")
    )
    c = c.mutate(segment=seg)
    df = (
        c.group_by(rep_id=c.owner_rep_id, segment=c.segment).aggregate(accounts=c.count()).execute()
    )
    df["accounts"] = df["accounts"].astype("int64")
    return in_order(df[df["rep_id"].notna()], ["rep_id", "segment"])


def pilot_data(src: Source, filters=None, pilot: str | None = None, closed_before=None) -> dict:
    """One pilot's assignment and deals, restricted to the filters' scope.

    ``pilot``: its name (default: the latest started). Returns a dict with ``name``,
    ``unit_type``, ``start``, ``problem`` (why nothing can be evaluated, when the pilots table
    holds no pilot), ``assignment`` (unit_id, group; rep units outside the team /
    region filters are dropped) and ``deals`` (see :func:`pilot_deals_by_unit`).
    """
    units = pilot_units(src)
    if units.empty and not pilot:  # the table is there, no pilot started yet (or as of a day)
        empty = pd.DataFrame({"unit_id": [], "group": [], "closed": []})
        return {
            "name": None,
            "unit_type": None,
            "start": None,
            "assignment": empty,
            "deals": empty,
            "problem": "no pilot in the pilots table",
        }
    name = pilot or units.sort_values(["start_date", "pilot"])["pilot"].iloc[-1]
    assign = units[units["pilot"] == name]
    if assign.empty:
        known = ", ".join(sorted(units["pilot"].astype(str).unique()))
        raise ValueError(f"pilot {name!r} is not in the pilots table; known pilots: {known}")
    unit_type = str(assign["unit_type"].iloc[0])
    if unit_type == "rep" and filters is not None and (filters.team or filters.region):
        assign = assign[assign["unit_id"].isin(reps_frame(src, filters)["rep_id"].astype(str))]
    start = assign["start_date"].min()
    end = assign["end_date"].max() if "end_date" in assign.columns else None
    deals = pilot_deals_by_unit(src, unit_type, start, end, closed_before, filters)
    return {
        "name": name,
        "unit_type": unit_type,
        "start": start,
        "assignment": assign,
        "deals": deals,
    }
