"""Country-level aggregates for the global-expansion study (engine-side)."""

from __future__ import annotations

import ibis
import pandas as pd

from salesnb.periods import Period, parse_period
from salesnb.source import Source


def _quarters(period: Period) -> tuple[list[str], float]:
    """Quarter labels covering the period, and the fraction of them the period spans."""
    if period.kind == "quarter":
        return [period.label], 1.0
    if period.kind == "year":
        return [f"{period.start.year}-Q{q}" for q in range(1, 5)], 1.0
    q = (period.start.month - 1) // 3 + 1
    return [f"{period.start.year}-Q{q}"], 1 / 3


def market_by_country(src: Source, period: Period, region: str | None = None) -> pd.DataFrame:
    """Market size per country in the period: ``country, market_size``.

    The market table repeats a (period, region, country, segment) size on each competitor row,
    so each size is taken once before summing. Quarters are summed for a year; a month gets a
    third of its quarter.
    """
    m = src.table("market")
    if "country" not in m.columns:
        return pd.DataFrame(columns=["country", "market_size"])
    labels, fraction = _quarters(period)
    m = m.filter(m.period.isin([ibis.literal(x) for x in labels]))
    if region and "region" in m.columns:
        m = m.filter(m.region == ibis.literal(str(region)))
    keys = [c for c in ("period", "region", "country", "segment") if c in m.columns]
    cells = m.group_by(keys).aggregate(size=m.market_size.max())
    df = cells.group_by("country").aggregate(market_size=cells.size.sum()).execute()
    df["market_size"] = df["market_size"].astype("float64") * fraction
    return df.sort_values("country").reset_index(drop=True)


def market_periods(src: Source) -> list[str]:
    """Quarter labels present in the market table (sorted)."""
    vals = src.table("market").select("period").distinct()["period"].execute()
    return sorted(str(v) for v in vals.dropna())


__all__ = ["market_by_country", "market_periods", "parse_period"]
