"""Engine-side reads for the deals study (opportunities, stage_history, forecast_calls).

The win-probability model learns from deals one by one, so unlike the funnel queries these
return one row per deal (the opportunities table: tens of thousands of rows, never the order
lines) and one row per stage entry. Everything is cut at ``as_of`` inside the engine, so the
frames carry nothing a sales manager could not have seen that evening:

- deals created after ``as_of`` are left out;
- a deal closed after ``as_of`` comes back ``open`` with no close date and no stage (its
  recorded stage is where it ended, not where it stood);
- stage entries after ``as_of`` are left out, and so are forecast calls made after it.

Status values are compared lower-cased, like the funnel queries; dates are bound as Ibis
literals, never pasted into SQL.
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.queries import _date, deal_status, filtered_opportunities
from salesnb.sources import Source

DEAL_COLUMNS = [
    "opportunity_id",
    "rep_id",
    "customer_id",
    "created_date",
    "close_date",
    "amount",
    "stage",
    "status",
    "source",
    "discount",
    "competitor",
    "segment",
    "product_group",
]


def _str_or_null(t: ibis.Table, col: str):
    return t[col].cast("string") if col in t.columns else ibis.literal(None, "string")


def deal_table(src: Source, filters=None, as_of=None) -> pd.DataFrame:
    """One row per deal created on or before ``as_of``, as it stood at the end of that day.

    Returns ``opportunity_id, rep_id, customer_id, created_date, close_date, amount, stage,
    status, source, discount, competitor, segment, product_group``. ``status`` is ``won`` or
    ``lost`` for deals closed on or before ``as_of`` (``close_date`` set), ``open`` otherwise,
    and ``undated`` for a deal marked won or lost without a close date (it cannot be placed
    in time). ``segment`` comes from customers, ``product_group`` from the product's
    category (else the product id); absent columns come back empty.
    """
    day = _date(as_of)
    op = filtered_opportunities(src, filters)
    if "created_date" in op.columns:
        op = op.filter(op.created_date.isnull() | (op.created_date <= day))
    st = deal_status(op)
    has_close = "close_date" in op.columns
    close = op.close_date.cast("date") if has_close else ibis.literal(None, "date")
    closed_then = st.isin(["won", "lost"]) & close.notnull() & (close <= day)
    status = ibis.cases(
        (closed_then, st),
        (st.isin(["won", "lost"]) & close.isnull(), ibis.literal("undated")),
        else_=ibis.literal("open"),
    )
    # a deal that closed later shows the stage it ended in: unknown on as_of
    later = st.isin(["won", "lost"]) & close.notnull() & (close > day)
    stage = ibis.ifelse(later, ibis.literal(None, "string"), op.stage.cast("string"))
    num = {
        c: (op[c].cast("float64") if c in op.columns else ibis.literal(None, "float64"))
        for c in ("amount", "discount")
    }
    deals = op.select(
        opportunity_id=op.opportunity_id.cast("string"),
        rep_id=_str_or_null(op, "rep_id"),
        customer_id=_str_or_null(op, "customer_id"),
        product_id=_str_or_null(op, "product_id"),
        created_date=(
            op.created_date.cast("date")
            if "created_date" in op.columns
            else ibis.literal(None, "date")
        ),
        close_date=ibis.ifelse(closed_then, close, ibis.literal(None, "date")),
        amount=num["amount"],
        stage=stage,
        status=status,
        source=_str_or_null(op, "source"),
        discount=num["discount"],
        competitor=_str_or_null(op, "competitor"),
    )
    if src.has_column("customers", "segment"):
        c = src.table("customers")
        c = c.select(__cid=c.customer_id.cast("string"), segment=c.segment.cast("string"))
        deals = deals.left_join(c, deals.customer_id == c["__cid"]).drop("__cid")
    else:
        deals = deals.mutate(segment=ibis.literal(None, "string"))
    if src.has_column("products", "category"):
        p = src.table("products")
        p = p.select(__pid=p.product_id.cast("string"), __cat=p.category.cast("string"))
        deals = deals.left_join(p, deals.product_id == p["__pid"]).drop("__pid")
        deals = deals.mutate(product_group=deals["__cat"].fill_null(deals.product_id)).drop("__cat")
    else:
        deals = deals.mutate(product_group=deals.product_id)
    df = deals.execute()
    for c in ("created_date", "close_date"):
        df[c] = pd.to_datetime(df[c])
    for c in ("amount", "discount"):
        df[c] = df[c].astype("float64")
    for c in DEAL_COLUMNS:
        if c not in ("created_date", "close_date", "amount", "discount"):
            df[c] = df[c].astype(object).where(df[c].notna(), None)
    return df[DEAL_COLUMNS].sort_values("opportunity_id").reset_index(drop=True)


def stage_entries(src: Source, filters=None, as_of=None) -> pd.DataFrame:
    """Stage entries on or before ``as_of`` of the deals in scope: ``opportunity_id, stage,
    entered_date`` (sorted by deal and date). Empty when the warehouse has no stage history."""
    cols = ["opportunity_id", "stage", "entered_date"]
    if not src.has("stage_history"):
        return pd.DataFrame(columns=cols)
    day = _date(as_of)
    op = filtered_opportunities(src, filters)
    sh = src.table("stage_history")
    sh = sh.filter(sh.entered_date.notnull() & (sh.entered_date <= day))
    sh = sh.filter(sh.opportunity_id.isin(op.opportunity_id))
    df = sh.select(
        opportunity_id=sh.opportunity_id.cast("string"),
        stage=sh.stage.cast("string"),
        entered_date=sh.entered_date.cast("date"),
    ).execute()
    df["entered_date"] = pd.to_datetime(df["entered_date"])
    return df.sort_values(["opportunity_id", "entered_date", "stage"]).reset_index(drop=True)


def forecast_calls(src: Source, filters=None, as_of=None) -> pd.DataFrame:
    """Forecast calls made on or before ``as_of`` by the reps in scope.

    Returns ``rep_id, period, as_of, commit, best_case`` (``best_case`` empty when the export
    has none); empty when the warehouse has no forecast_calls table.
    """
    cols = ["rep_id", "period", "as_of", "commit", "best_case"]
    if not src.has("forecast_calls"):
        return pd.DataFrame(columns=cols)
    t = src.table("forecast_calls")
    if as_of is not None:
        t = t.filter(t.as_of <= _date(as_of))
    f = filters
    if f is not None and (f.region or f.team) and src.has("reps"):
        reps = src.table("reps")
        if f.region and "region" in reps.columns:
            reps = reps.filter(reps.region == ibis.literal(str(f.region)))
        if f.team and "team" in reps.columns:
            reps = reps.filter(reps.team == ibis.literal(str(f.team)))
        t = t.filter(t.rep_id.isin(reps.rep_id))
    df = t.select(
        rep_id=t.rep_id.cast("string"),
        period=t.period.cast("string"),
        as_of=t.as_of.cast("date"),
        commit=t.commit.cast("float64"),
        best_case=(
            t.best_case.cast("float64")
            if "best_case" in t.columns
            else ibis.literal(None, "float64")
        ),
    ).execute()
    df["as_of"] = pd.to_datetime(df["as_of"])
    return df.sort_values(["rep_id", "period", "as_of"]).reset_index(drop=True)


def rep_labels(src: Source) -> pd.DataFrame:
    """``rep_id, rep, team`` for every rep (the id stands in for a missing name)."""
    if not src.has("reps"):
        return pd.DataFrame(columns=["rep_id", "rep", "team"])
    r = src.table("reps")
    df = r.select(
        rep_id=r.rep_id.cast("string"),
        rep=_str_or_null(r, "name"),
        team=_str_or_null(r, "team"),
    ).execute()
    df["rep"] = df["rep"].where(df["rep"].notna(), df["rep_id"])
    return df.sort_values("rep_id").reset_index(drop=True)
