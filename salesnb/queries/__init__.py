"""Backend-agnostic aggregations over the fact tables (layer 3 of DESIGN.md).

Every function takes a :class:`~salesnb.source.Source` and
:class:`~salesnb.model.filters.Filters`, builds an Ibis expression that the engine
(DuckDB by default, Postgres or Spark through the same Source) evaluates, and
returns a small pandas DataFrame. Nothing here pulls a whole fact table into
pandas. Filter values enter expressions as literals in the Ibis tree, never as
SQL text.

Dimensions accepted by :func:`revenue_by`: any orders column; ``month``,
``quarter``, ``year``, ``week``, ``day`` (from ``order_date``); ``team``,
``rep_role`` (from reps); ``segment``, ``industry`` (from customers);
``category`` (from products).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

import ibis
import pandas as pd

from salesnb.errors import ModelError
from salesnb.sources import Source

# The start that reads as "all history" (orders have no earlier date).
HISTORY_START = date(1900, 1, 1)
TIME_GRAINS = {"day": "D", "week": "W", "month": "M", "quarter": "Q", "year": "Y"}
JOINED_DIMS = {
    "team": ("reps", "rep_id", "rep_id", "team"),
    "rep_role": ("reps", "rep_id", "rep_id", "role"),
    "rep_region": ("reps", "rep_id", "rep_id", "region"),
    "segment": ("customers", "customer_id", "customer_id", "segment"),
    "industry": ("customers", "customer_id", "customer_id", "industry"),
    "category": ("products", "product_id", "product_id", "category"),
}


def in_order(df: pd.DataFrame, by, ascending=True) -> pd.DataFrame:
    """``df`` sorted by ``by`` (stable, missing values last) with a fresh index.

    Engines return a group-by's rows in any order (DuckDB by thread, PostgreSQL by hash,
    Spark by partition), so every query result is put in a defined order, in pandas rather
    than by the engine's ORDER BY, whose string collation depends on the database.
    """
    return df.sort_values(by, ascending=ascending, kind="stable", na_position="last").reset_index(
        drop=True
    )


def _date(d):
    return ibis.literal(pd.Timestamp(d).date()) if d is not None else None


def _reps_in_team(src: Source, team: str):
    reps = src.table("reps")
    return reps.filter(reps.team == ibis.literal(str(team))).select("rep_id")


def filtered_orders(src: Source, filters=None, start=None, end=None) -> ibis.Table:
    """Orders restricted to the filters' period (or ``start``/``end``) and dimensions."""
    o = src.table("orders")
    f = filters
    s = start if start is not None else (f.start if f else None)
    e = end if end is not None else (f.end if f else None)
    if s is not None:
        o = o.filter(o.order_date >= _date(s))
    if e is not None:
        o = o.filter(o.order_date < _date(e))
    if f is not None:
        if f.region and "region" in o.columns:
            o = o.filter(o.region == ibis.literal(str(f.region)))
        if f.channel and "channel" in o.columns:
            o = o.filter(o.channel == ibis.literal(str(f.channel)))
        if f.team:
            if not src.has("reps") or "rep_id" not in o.columns:
                raise ModelError("a team filter needs the reps table and orders.rep_id")
            o = o.filter(o.rep_id.isin(_reps_in_team(src, f.team).rep_id))
    return o


def _with_dims(src: Source, o: ibis.Table, by: Sequence[str]) -> ibis.Table:
    cols = {}
    for dim in by:
        if dim in TIME_GRAINS:
            cols[dim] = o.order_date.cast("date").truncate(TIME_GRAINS[dim])
    if cols:
        o = o.mutate(**cols)
    for dim in by:
        if dim in TIME_GRAINS or dim in o.columns:
            continue
        if dim not in JOINED_DIMS:
            raise ModelError(f"unknown dimension '{dim}' for orders")
        table, left, right, col = JOINED_DIMS[dim]
        if not src.has(table):
            raise ModelError(f"dimension '{dim}' needs the {table} table, which is absent")
        other = src.table(table).select(**{f"__{right}": right, dim: col})
        o = o.left_join(other, o[left] == other[f"__{right}"]).drop(f"__{right}")
    return o


def revenue_by(
    src: Source,
    filters=None,
    by: Sequence[str] = ("month",),
    start=None,
    end=None,
    distinct: bool = True,
) -> pd.DataFrame:
    """Revenue, margin, orders, customers and units per combination of ``by``.

    Returns columns ``*by, revenue, cost, margin, orders, lines, customers, quantity``
    (cost and margin are NaN when orders carry no ``cost``), sorted by ``by``.
    ``distinct=False`` leaves out ``orders`` and ``customers``: distinct counts are two
    thirds of the engine's work on a long history, wasted when only amounts are used.
    """
    by = list(by)
    o = _with_dims(src, filtered_orders(src, filters, start, end), by)
    has_cost = "cost" in o.columns
    aggs = dict(
        revenue=o.net_amount.sum(),
        cost=o.cost.sum() if has_cost else ibis.null("float64"),
        lines=o.count(),
        quantity=o.quantity.sum(),
    )
    counts = ("orders", "lines", "customers") if distinct else ("lines",)
    if distinct:
        aggs.update(orders=o.order_id.nunique(), customers=o.customer_id.nunique())
    expr = o.group_by(by).aggregate(**aggs) if by else o.aggregate(**aggs)
    df = expr.execute()
    for c in ("revenue", "cost", "quantity"):
        df[c] = df[c].astype("float64")
    for c in counts:
        df[c] = df[c].fillna(0).astype("int64")
    df["margin"] = df["revenue"] - df["cost"]
    for dim in by:
        if dim in TIME_GRAINS:
            df[dim] = pd.to_datetime(df[dim])
    cols = ["revenue", "cost", "margin", "orders", "lines", "customers", "quantity"]
    df = df[by + [c for c in cols if c in df.columns]]
    return df.sort_values(by).reset_index(drop=True) if by else df


def total_revenue(src: Source, filters=None, start=None, end=None) -> float:
    """Net revenue in the filters' period (0.0 when there is none)."""
    v = filtered_orders(src, filters, start, end).net_amount.sum().execute()
    return float(v) if v is not None and pd.notna(v) else 0.0


def customer_summary(src: Source, filters=None, as_of=None, start=None, end=None) -> pd.DataFrame:
    """One row per customer with purchases up to ``as_of`` (default: the filters' end).

    Columns: ``customer_id, first_date, last_date, orders, purchase_days, revenue,
    recency_days`` (as_of - last purchase), ``tenure_days`` (as_of - first purchase),
    and the lifetimes convention in days: ``frequency`` (repeat purchase days),
    ``recency`` (last - first), ``T`` (as_of - first), ``monetary_value`` (mean revenue per
    repeat purchase day, 0 when frequency is 0). Return lines count in revenue but not
    as purchases.
    """
    end = end if end is not None else (filters.end if filters else None)
    days = customer_days(src, filters, start=start, end=end)
    per = days.group_by("customer_id").aggregate(**customer_day_aggregates(days))
    df = with_net_revenue(src, filters, per, start=start, end=end).execute()
    return summary_frame(df, summary_as_of(as_of, end, df))


# The parts of customer_summary, for queries that add their own columns to the same pass over
# the orders (salesnb.queries.customers.customer_history): one rule, one place.


def purchase_lines(o: ibis.Table) -> ibis.Table:
    """The purchases among order lines: ``is_return`` false or missing, or, without that
    column, a positive net amount. Return lines count in revenue, never as purchases."""
    if "is_return" in o.columns:
        return o.filter(~o.is_return.fill_null(False))
    return o.filter(o.net_amount > 0)


def customer_days(src: Source, filters=None, start=None, end=None) -> ibis.Table:
    """One row per customer and purchase day in ``[start, end)`` (start: all history):
    ``customer_id, d, day_revenue, day_orders`` (distinct orders bought that day)."""
    o = filtered_orders(src, filters, start=HISTORY_START if start is None else start, end=end)
    purchases = purchase_lines(o)
    return purchases.group_by(
        ["customer_id", purchases.order_date.cast("date").name("d")]
    ).aggregate(day_revenue=purchases.net_amount.sum(), day_orders=purchases.order_id.nunique())


def customer_day_aggregates(days: ibis.Table) -> dict:
    """The per-customer aggregates of :func:`customer_summary` over :func:`customer_days`."""
    return dict(
        first_date=days.d.min(),
        last_date=days.d.max(),
        purchase_days=days.count(),
        orders=days.day_orders.sum(),
        first_day_revenue=days.day_revenue.argmin(days.d),
        purchase_revenue=days.day_revenue.sum(),
    )


def net_revenue(src: Source, filters=None, start=None, end=None) -> ibis.Table:
    """Net revenue (returns included) per customer in ``[start, end)``: ``customer_id, revenue``
    (start: all history)."""
    o = filtered_orders(src, filters, start=HISTORY_START if start is None else start, end=end)
    return o.group_by("customer_id").aggregate(revenue=o.net_amount.sum())


def with_net_revenue(src: Source, filters, per: ibis.Table, start=None, end=None) -> ibis.Table:
    """``per`` (one row per customer) with the customer's net ``revenue`` in ``[start, end)``."""
    net = net_revenue(src, filters, start=start, end=end)
    return per.left_join(net, per.customer_id == net.customer_id).drop("customer_id_right")


def summary_as_of(as_of, end, df: pd.DataFrame) -> pd.Timestamp:
    """The day recency and tenure are counted to: ``as_of``, else the day before ``end``,
    else the last purchase."""
    if as_of is None and end is not None:
        as_of = pd.Timestamp(end) - pd.Timedelta(days=1)
    if as_of is None:
        as_of = df["last_date"].max()
    return pd.Timestamp(as_of)


def summary_frame(df: pd.DataFrame, as_of: pd.Timestamp) -> pd.DataFrame:
    """:func:`customer_summary`'s frame from the engine's per-customer aggregates."""
    df["first_date"] = pd.to_datetime(df["first_date"])
    df["last_date"] = pd.to_datetime(df["last_date"])
    df["orders"] = df["orders"].astype("int64")
    df["purchase_days"] = df["purchase_days"].astype("int64")
    for c in ("revenue", "purchase_revenue", "first_day_revenue"):
        df[c] = df[c].astype("float64")
    df["recency_days"] = (as_of - df["last_date"]).dt.days
    df["tenure_days"] = (as_of - df["first_date"]).dt.days
    df["frequency"] = df["purchase_days"] - 1
    df["recency"] = (df["last_date"] - df["first_date"]).dt.days.astype("float64")
    df["T"] = df["tenure_days"].astype("float64")
    repeat_rev = df["purchase_revenue"] - df["first_day_revenue"]
    df["monetary_value"] = (repeat_rev / df["frequency"].where(df["frequency"] > 0)).fillna(0.0)
    df = df.drop(columns=["purchase_revenue", "first_day_revenue"])
    return df.sort_values("customer_id").reset_index(drop=True)


WON, LOST, OPEN = "won", "lost", "open"
CLOSED_STATUSES = (WON, LOST)


def deal_status(op):
    """The one rule for a deal's status, as an engine expression: the ``status`` column as
    text, lower-cased and trimmed, so ``Won``, ``WON`` and `` won `` are all ``won``.

    Every query that counts won, lost or open deals goes through it (funnel, performance,
    market, deals, the dashboards' cube); a warehouse spelling ``Won``/``LOST`` gives the
    same numbers as one spelling ``won``/``lost`` (tests/queries/test_rules.py).
    """
    return op.status.cast("string").lower().strip()


def filtered_opportunities(
    src: Source, filters=None, date_col: str | None = None, start=None, end=None
):
    """Opportunities filtered by region/team (through the owning rep) and optionally a date range.

    A mapping that gives opportunities their own ``region`` or ``channel`` column filters on
    it directly.

    ``date_col`` picks which date the period applies to (``created_date`` or ``close_date``);
    None means no date filter.
    """
    op = src.table("opportunities")
    f = filters
    if date_col is not None:
        s = start if start is not None else (f.start if f else None)
        e = end if end is not None else (f.end if f else None)
        if s is not None:
            op = op.filter(op[date_col] >= _date(s))
        if e is not None:
            op = op.filter(op[date_col] < _date(e))
    if f is not None and f.channel and "channel" in op.columns:
        op = op.filter(op.channel == ibis.literal(str(f.channel)))
    region_on_rep = f is not None and f.region and "region" not in op.columns
    if f is not None and f.region and "region" in op.columns:
        op = op.filter(op.region == ibis.literal(str(f.region)))
    if f is not None and (region_on_rep or f.team) and src.has("reps") and "rep_id" in op.columns:
        reps = src.table("reps")
        if region_on_rep and "region" in reps.columns:
            reps = reps.filter(reps.region == ibis.literal(str(f.region)))
        if f.team and "team" in reps.columns:
            reps = reps.filter(reps.team == ibis.literal(str(f.team)))
        op = op.filter(op.rep_id.isin(reps.rep_id))
    return op


def pipeline_snapshot(src: Source, as_of, filters=None) -> pd.DataFrame:
    """Deals open on ``as_of``, one row each (the team dashboard's open deals of a rep).

    Open is the funnel's one rule, :func:`salesnb.queries.funnel.open_on` (the open pipeline
    of the funnel study and the executive dashboard). Columns: ``opportunity_id, rep_id,
    customer_id, created_date, amount, stage, age_days``. ``stage`` is the stage the deal was
    in on ``as_of`` when stage_history exists, otherwise its current stage.
    """
    from salesnb.queries.funnel import open_on  # the funnel module imports this one

    day = _date(as_of)
    op = filtered_opportunities(src, filters)
    op = op.filter(open_on(op, day))
    cols = [
        c
        for c in ("opportunity_id", "rep_id", "customer_id", "created_date", "amount", "stage")
        if c in op.columns
    ]
    op = op.select(cols)
    if src.has("stage_history"):
        sh = src.table("stage_history")
        sh = sh.filter(sh.entered_date <= day)
        last = sh.group_by("opportunity_id").aggregate(
            stage_on_date=sh.stage.argmax(sh.entered_date)
        )
        op = op.left_join(last, op.opportunity_id == last.opportunity_id).drop(
            "opportunity_id_right"
        )
    df = op.execute()
    if "stage_on_date" in df.columns:
        df["stage"] = df["stage_on_date"].fillna(df.get("stage"))
        df = df.drop(columns="stage_on_date")
    df["created_date"] = pd.to_datetime(df["created_date"])
    df["age_days"] = (pd.Timestamp(as_of) - df["created_date"]).dt.days
    if "amount" in df.columns:
        df["amount"] = df["amount"].astype("float64")
    return df.sort_values("opportunity_id").reset_index(drop=True)


def stage_transitions(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Per deal and stage: when it entered, when it left (next stage entered), dwell days.

    Deals are those created in ``[start, end)`` (default: the filters' period; pass
    ``start=date(1900,1,1)`` for all history). Columns: ``opportunity_id, stage, entered_date,
    left_date, dwell_days, next_stage, status``. The stage order is the order deals enter them.
    """
    op = filtered_opportunities(src, filters, date_col="created_date", start=start, end=end)
    sh = src.table("stage_history")
    sh = sh.filter(sh.opportunity_id.isin(op.opportunity_id))
    w = ibis.window(group_by=sh.opportunity_id, order_by=[sh.entered_date])
    sh = sh.mutate(left_date=sh.entered_date.lead().over(w), next_stage=sh.stage.lead().over(w))
    status = op.select(__oid="opportunity_id", status=deal_status(op))
    sh = sh.left_join(status, sh.opportunity_id == status["__oid"]).drop("__oid")
    df = sh.execute()
    for c in ("entered_date", "left_date"):
        df[c] = pd.to_datetime(df[c])
    df["dwell_days"] = (df["left_date"] - df["entered_date"]).dt.days
    return df.sort_values(["opportunity_id", "entered_date"]).reset_index(drop=True)


def distinct_values(src: Source, table: str, column: str) -> list[str]:
    """Sorted distinct non-null values of a column (for widgets and validation)."""
    if not src.has_column(table, column):
        return []
    vals = src.table(table).select(column).distinct()[column].execute()
    return sorted(str(v) for v in vals.dropna())
