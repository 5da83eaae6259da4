"""Country-level aggregates for the global-expansion study (engine-side)."""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.model.periods import Period, parse_period
from salesnb.sources import Source


def _months(period) -> set[tuple[int, int]]:
    """The calendar months (year, month) a period spans."""
    start = pd.Timestamp(period.start).to_period("M")
    end = pd.Timestamp(period.last_day).to_period("M")
    return {(p.year, p.month) for p in pd.period_range(start, end, freq="M")}


def market_weights(period: Period, labels) -> tuple[dict[str, float], float]:
    """How much of each market-table period counts in ``period``, and how much of it they cover.

    Returns ``({label: weight}, covered)``: weight = the label's months inside ``period`` / its
    months (a quarter counts whole in a year, a third in one of its months); ``covered`` = the
    share of ``period``'s months that some label holds. Labels that are no period are ignored.

    >>> market_weights(parse_period("2026-08"), ["2026-Q2", "2026-Q3"])
    ({'2026-Q3': 0.3333333333333333}, 1.0)
    >>> market_weights(parse_period("2026"), ["2026-Q3", "2026-Q4"])
    ({'2026-Q3': 1.0, '2026-Q4': 1.0}, 0.5)
    """
    want = _months(period)
    weights, held = {}, set()
    for label in sorted(set(map(str, labels))):
        try:
            span = _months(parse_period(label))
        except Exception:  # noqa: BLE001 - a label that is no period cannot be placed
            continue
        inside = span & want
        if inside:
            weights[label] = len(inside) / len(span)
            held |= inside
    return weights, len(held) / len(want) if want else 0.0


def market_by_country(src: Source, period: Period, region: str | None = None) -> pd.DataFrame:
    """Market size per country in the period: ``country, market_size``.

    The market table repeats a (period, region, country, segment) size on each competitor row,
    so each size is taken once before summing. Each market period counts with its weight from
    :func:`market_weights` (quarters are summed for a year; a month gets a third of its quarter).
    """
    m = src.table("market")
    if "country" not in m.columns:
        return pd.DataFrame(columns=["country", "market_size"])
    weights, _ = market_weights(period, market_periods(src))
    m = m.filter(m.period.isin([ibis.literal(x) for x in weights] or [ibis.literal("")]))
    if region and "region" in m.columns:
        m = m.filter(m.region == ibis.literal(str(region)))
    keys = [c for c in ("period", "region", "country", "segment") if c in m.columns]
    cells = m.group_by(keys).aggregate(size=m.market_size.max())
    df = cells.group_by(["period", "country"]).aggregate(size=cells.size.sum()).execute()
    df["market_size"] = df["size"].astype("float64") * df["period"].map(weights).astype("float64")
    df = df.groupby("country", as_index=False)["market_size"].sum()
    return df.sort_values("country").reset_index(drop=True)


def market_coverage(src: Source, period: Period) -> float:
    """Share of ``period``'s months for which the market table holds a size (0..1)."""
    return market_weights(period, market_periods(src))[1]


def market_periods(src: Source) -> list[str]:
    """Quarter labels present in the market table (sorted)."""
    vals = src.table("market").select("period").distinct()["period"].execute()
    return sorted(str(v) for v in vals.dropna())


__all__ = [
    "market_by_country",
    "market_coverage",
    "market_periods",
    "market_weights",
    "parse_period",
]
