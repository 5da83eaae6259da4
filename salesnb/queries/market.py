"""Engine-side aggregations for the market & competitors study.

- :func:`price_cells`: order lines aggregated to (product, discount bucket) cells for the
  price-elasticity model (sum of quantity, number of lines, mean log price ratio).
- :func:`competitor_loss_counts`: lost deals per segment x competitor and won deals per segment.
- :func:`market_sizes` / :func:`competitor_sales`: the ``market`` table summed to period x
  region x segment (its ``market_size`` repeats on every competitor row of a cell, so it is
  de-duplicated per cell before summing).
"""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.queries import deal_status, filtered_opportunities, filtered_orders, in_order
from salesnb.sources import Source


def price_cells(
    src: Source, filters=None, start=None, end=None, bucket: float = 0.01, max_discount: float = 0.9
) -> pd.DataFrame:
    """Sales lines per (product, discount bucket): ``product_id, bucket, quantity, lines, log_price_ratio``.

    ``bucket`` is the discount off list rounded to ``bucket`` (0.2 = 20 % off).

    The price ratio (net unit price / list price) is ``1 - discount`` when orders carry a
    discount (the schema defines it as a fraction of list); otherwise net unit price
    (net_amount / quantity) over ``products.list_price``. Return lines, zero quantities and
    discounts above ``max_discount`` (giveaways, not prices) are left out.
    """
    o = filtered_orders(src, filters, start, end)
    o = o.filter(o.quantity > 0)
    if "is_return" in o.columns:
        o = o.filter(~o.is_return.fill_null(False))
    if "discount" in o.columns:
        d = o.discount.cast("float64").fill_null(0.0)
        o = o.filter((d >= 0) & (d <= max_discount)).mutate(__ratio=1.0 - d)
    else:
        if not src.has_column("products", "list_price") or "product_id" not in o.columns:
            return pd.DataFrame(
                columns=["product_id", "bucket", "quantity", "lines", "log_price_ratio"]
            )
        p = src.table("products").select(__pid="product_id", __list="list_price")
        o = o.inner_join(p, o.product_id == p["__pid"]).drop("__pid")
        o = o.filter(o["__list"] > 0).mutate(__ratio=o.net_amount / o.quantity / o["__list"])
        o = o.filter((o["__ratio"] > 1 - max_discount) & (o["__ratio"] <= 1.5))
    # bucket = discount off list, rounded to ``bucket`` (0.01: whole percentage points)
    o = o.mutate(
        bucket=((1.0 - o["__ratio"]) / bucket).round().cast("int64"), __x=o["__ratio"].ln()
    )
    df = (
        o.group_by(["product_id", "bucket"])
        .aggregate(quantity=o.quantity.sum(), lines=o.count(), log_price_ratio=o["__x"].mean())
        .execute()
    )
    df["quantity"] = df["quantity"].astype("float64")
    df["lines"] = df["lines"].astype("int64")
    df["log_price_ratio"] = df["log_price_ratio"].astype("float64")
    df["bucket"] = df["bucket"].astype("float64") * bucket
    return df.sort_values(["product_id", "bucket"]).reset_index(drop=True)


def competitor_loss_counts(
    src: Source, filters=None, start=None, end=None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Deals closed in ``[start, end)``: lost per segment x competitor, and won per segment.

    Lost frame: ``segment, competitor, lost, mean_discount, mean_amount, price_losses``.
    Won frame: ``segment, won, mean_discount, mean_amount``. ``segment`` comes from customers
    (``(unknown)`` without it).
    """
    op = filtered_opportunities(src, filters, date_col="close_date", start=start, end=end)
    op = op.mutate(__st=deal_status(op))
    if src.has_column("customers", "segment") and "customer_id" in op.columns:
        c = src.table("customers").select(
            __cid="customer_id", segment=src.table("customers").segment.cast("string")
        )
        op = op.left_join(c, op.customer_id == c["__cid"]).drop("__cid")
    else:
        op = op.mutate(segment=ibis.literal(None, "string"))
    op = op.mutate(segment=op.segment.fill_null("(unknown)"))
    disc = (
        op.discount.cast("float64") if "discount" in op.columns else ibis.literal(None, "float64")
    )
    amt = op.amount.cast("float64") if "amount" in op.columns else ibis.literal(None, "float64")
    comp = (
        op.competitor.cast("string") if "competitor" in op.columns else ibis.literal(None, "string")
    )
    reason = (
        op.loss_reason.cast("string").lower()
        if "loss_reason" in op.columns
        else ibis.literal("", "string")
    )
    op = op.mutate(
        __disc=disc, __amt=amt, competitor=comp, __price=reason.fill_null("").contains("price")
    )
    lost = op.filter(op["__st"] == "lost")
    lost = (
        lost.group_by(["segment", "competitor"])
        .aggregate(
            lost=lost.count(),
            mean_discount=lost["__disc"].mean(),
            mean_amount=lost["__amt"].mean(),
            price_losses=lost["__price"].sum(),
        )
        .execute()
    )
    won = op.filter(op["__st"] == "won")
    won = (
        won.group_by("segment")
        .aggregate(
            won=won.count(), mean_discount=won["__disc"].mean(), mean_amount=won["__amt"].mean()
        )
        .execute()
    )
    for df, n in ((lost, "lost"), (won, "won")):
        df[n] = df[n].astype("int64")
        for c in ("mean_discount", "mean_amount"):
            df[c] = df[c].astype("float64")
    lost["price_losses"] = lost["price_losses"].fillna(0).astype("int64")
    lost["competitor"] = lost["competitor"].astype(object).where(lost["competitor"].notna(), None)
    lost = in_order(lost, ["segment", "lost", "competitor"], ascending=[True, False, True])
    return lost, in_order(won, ["segment"])


def _market(src: Source, filters=None):
    m = src.table("market")
    if filters is not None and filters.region and "region" in m.columns:
        m = m.filter(m.region == ibis.literal(str(filters.region)))
    for col in ("region", "country", "segment"):
        if col not in m.columns:
            m = m.mutate(**{col: ibis.literal(None, "string")})
    return m.mutate(period=m.period.cast("string"))


def market_sizes(src: Source, filters=None) -> pd.DataFrame:
    """Market size per ``period, region, segment`` (summed over countries)."""
    m = _market(src, filters)
    cell = m.group_by(["period", "region", "country", "segment"]).aggregate(
        market_size=m.market_size.max()
    )
    df = (
        cell.group_by(["period", "region", "segment"])
        .aggregate(market_size=cell.market_size.sum())
        .execute()
    )
    df["market_size"] = df["market_size"].astype("float64")
    return df.sort_values(["period", "region", "segment"]).reset_index(drop=True)


def competitor_sales(src: Source, filters=None) -> pd.DataFrame:
    """Competitors' sales per ``period, region, segment, competitor``."""
    m = _market(src, filters)
    if "competitor" not in m.columns or "competitor_sales" not in m.columns:
        return pd.DataFrame(
            columns=["period", "region", "segment", "competitor", "competitor_sales"]
        )
    m = m.filter(m.competitor.notnull())
    df = (
        m.group_by(["period", "region", "segment", "competitor"])
        .aggregate(competitor_sales=m.competitor_sales.sum())
        .execute()
    )
    df["competitor_sales"] = df["competitor_sales"].astype("float64")
    return df.sort_values(["period", "region", "segment", "competitor"]).reset_index(drop=True)


def history_start(end, years: int = 0, months: int = 0):
    """The date ``years`` years and ``months`` months before ``end`` (start of a trailing window)."""
    return (pd.Timestamp(end) - pd.DateOffset(years=years, months=months)).date()
