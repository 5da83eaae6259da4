"""Revenue from green products and the emissions sold, for the sustainability study (engine-side).

One grouped pass over the order lines joined to ``products`` (``is_green`` and, when the
warehouse has it, ``co2_kg_per_unit``) per call: the engine sums, pandas gets a few rows.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from salesnb.queries import TIME_GRAINS, _with_dims, filtered_orders, in_order
from salesnb.sources import Source

CO2_COLUMN = "co2_kg_per_unit"


def has_emissions(src: Source) -> bool:
    """True when products carry emissions per unit (``products.co2_kg_per_unit``)."""
    return src.has("products") and src.has_column("products", CO2_COLUMN)


def green_revenue_by(
    src: Source, filters=None, by: Sequence[str] = ("region",), start=None, end=None
) -> pd.DataFrame:
    """Revenue, revenue from green products and emissions per combination of ``by``.

    ``by``: any dimension :func:`salesnb.queries.revenue_by` takes (``region``, ``team``,
    ``rep_id``, ``month``, ``quarter`` ...). Returns ``*by, revenue, green_revenue, co2_kg``:
    a line whose product is unknown or not flagged green counts as not green; ``co2_kg`` is
    the sum of quantity x ``co2_kg_per_unit`` (returns subtract), NaN without that column.
    """
    by = list(by)
    o = _with_dims(src, filtered_orders(src, filters, start, end), by)
    p = src.table("products")
    co2 = has_emissions(src)
    keep = {"__pid": p.product_id, "__green": p.is_green.fill_null(False)}
    if co2:
        keep["__co2"] = p[CO2_COLUMN].cast("float64")
    p = p.select(**keep)
    j = o.left_join(p, o.product_id == p.__pid)
    green = j.__green.fill_null(False)
    aggs = dict(
        revenue=j.net_amount.sum(),
        green_revenue=green.ifelse(j.net_amount, 0.0).sum(),
        co2_kg=(j.quantity * j.__co2).sum() if co2 else ibis.null("float64"),
    )
    expr = j.group_by(by).aggregate(**aggs) if by else j.aggregate(**aggs)
    df = expr.execute()
    for c in ("revenue", "green_revenue", "co2_kg"):
        df[c] = df[c].astype("float64")
    df[["revenue", "green_revenue"]] = df[["revenue", "green_revenue"]].fillna(0.0)
    for dim in by:
        if dim in TIME_GRAINS:
            df[dim] = pd.to_datetime(df[dim])
    df = df[by + ["revenue", "green_revenue", "co2_kg"]]
    return in_order(df, by) if by else df


__all__ = ["CO2_COLUMN", "green_revenue_by", "has_emissions"]
