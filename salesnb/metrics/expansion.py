"""Global expansion: where to grow next, country by country.

Pure functions over per-country frames: revenue this period and the same period
last year (``salesnb.queries.revenue_by(by=["country"])``) and market size
(``salesnb.queries.expansion.market_by_country``). The attractiveness score is a
documented, overridable weighting of headroom, market growth and our momentum —
a planning heuristic, not a statistical model, so it is written here in a few
lines rather than borrowed.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

DEFAULT_WEIGHTS = {"headroom": 0.5, "growth": 0.3, "share": 0.2}


def country_table(
    current: pd.DataFrame, prior: pd.DataFrame, market: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per country: revenue, prior revenue, growth, customers, AOV, market size, share.

    ``current``/``prior``: ``country, revenue, orders, customers``; ``market``: ``country, market_size``.
    Returns ``country, revenue, revenue_prior, growth, customers, orders, avg_order_value,
    revenue_share, market_size, market_share, headroom`` sorted by revenue (largest first).

    >>> cur = pd.DataFrame({"country": ["A", "B"], "revenue": [80.0, 20.0], "orders": [8, 2], "customers": [4, 1]})
    >>> pri = pd.DataFrame({"country": ["A"], "revenue": [40.0], "orders": [4], "customers": [2]})
    >>> country_table(cur, pri)[["country", "growth", "revenue_share"]].values.tolist()
    [['A', 1.0, 0.8], ['B', nan, 0.2]]
    """
    for name, df in (("current", current), ("prior", prior)):
        missing = [c for c in ("country", "revenue", "orders", "customers") if c not in df.columns]
        if missing:
            raise ValueError(f"country_table: {name} lacks column(s) {', '.join(missing)}")
    t = current[["country", "revenue", "orders", "customers"]].merge(
        prior[["country", "revenue"]].rename(columns={"revenue": "revenue_prior"}),
        on="country",
        how="outer",
    )
    t[["revenue", "orders", "customers"]] = t[["revenue", "orders", "customers"]].fillna(0)
    t["growth"] = np.where(t["revenue_prior"] > 0, t["revenue"] / t["revenue_prior"] - 1, np.nan)
    t["avg_order_value"] = np.where(
        t["orders"] > 0, t["revenue"] / t["orders"].where(t["orders"] > 0), np.nan
    )
    total = t["revenue"].sum()
    t["revenue_share"] = t["revenue"] / total if total else np.nan
    if market is not None and len(market):
        t = t.merge(market[["country", "market_size"]], on="country", how="outer")
        t["revenue"] = t["revenue"].fillna(0.0)
        t["market_share"] = np.where(t["market_size"] > 0, t["revenue"] / t["market_size"], np.nan)
        t["headroom"] = (t["market_size"] - t["revenue"]).clip(lower=0)
    else:
        t["market_size"] = np.nan
        t["market_share"] = np.nan
        t["headroom"] = np.nan
    t = t.sort_values(["revenue", "country"], ascending=[False, True]).reset_index(drop=True)
    return t


def home_country(table: pd.DataFrame) -> str | None:
    """The country with the most revenue (the home market)."""
    return None if table.empty else str(table.iloc[0]["country"])


def expansion_ranking(
    table: pd.DataFrame, home: str | None = None, weights: dict | None = None
) -> pd.DataFrame:
    """Score countries other than ``home`` for expansion effort.

    Score = w_headroom × rank-pct(headroom) + w_growth × rank-pct(growth) + w_share × (1 − rank-pct(market_share)),
    so a large untapped, fast-growing market where we are still small ranks first. Missing
    inputs count as the median rank (0.5). Returns the table with ``score`` and ``rank``.
    """
    w = {**DEFAULT_WEIGHTS, **(weights or {})}
    t = table[table["country"] != home].copy() if home else table.copy()
    if t.empty:
        return t.assign(score=pd.Series(dtype=float), rank=pd.Series(dtype=int))

    def pct(s):
        return s.rank(pct=True).fillna(0.5)

    t["score"] = (
        w["headroom"] * pct(t["headroom"])
        + w["growth"] * pct(t["growth"])
        + w["share"] * (1 - pct(t["market_share"]))
    )
    t = t.sort_values(["score", "country"], ascending=[False, True]).reset_index(drop=True)
    t["rank"] = np.arange(1, len(t) + 1)
    return t


def what_to_do(table: pd.DataFrame, ranking: pd.DataFrame, home: str | None) -> str:
    """Markdown bullets for the expansion decision."""
    lines = []
    if home is not None and len(table):
        intl = 1 - float(table.loc[table["country"] == home, "revenue_share"].iloc[0])
        lines.append(f"- **{intl:.1%}** of revenue comes from outside {home}.")
    if len(ranking):
        top = ranking.iloc[0]
        g = "n/a" if pd.isna(top["growth"]) else f"{top['growth']:+.1%}"
        share = (
            "" if pd.isna(top["market_share"]) else f", our market share {top['market_share']:.1%}"
        )
        lines.append(
            f"- Put the next expansion effort into **{top['country']}** (growth {g}{share})."
        )
        shrinking = ranking[ranking["growth"] < 0]
        for r in shrinking.itertuples():
            lines.append(
                f"- Revenue in **{r.country}** fell {r.growth:.1%} on last year: review coverage there before adding more."
            )
    return "\n".join(lines) or "- Only one country has sales; no expansion ranking possible yet."
