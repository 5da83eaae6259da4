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

from salesnb.i18n import _, language, period_label

DEFAULT_WEIGHTS = {"headroom": 0.5, "growth": 0.3, "share": 0.2}


def country_table(
    current: pd.DataFrame, prior: pd.DataFrame | None, market: pd.DataFrame | None = None
) -> pd.DataFrame:
    """One row per country: revenue, prior revenue, growth, customers, AOV, market size, share.

    ``current``/``prior``: ``country, revenue, orders, customers``; ``market``: ``country, market_size``.
    ``prior`` None: no comparable year-earlier period (prior revenue and growth left empty);
    revenue shares are left empty when net revenue is zero or negative.
    Returns ``country, revenue, revenue_prior, growth, customers, orders, avg_order_value,
    revenue_share, market_size, market_share, headroom`` sorted by revenue (largest first).

    >>> cur = pd.DataFrame({"country": ["A", "B"], "revenue": [80.0, 20.0], "orders": [8, 2], "customers": [4, 1]})
    >>> pri = pd.DataFrame({"country": ["A"], "revenue": [40.0], "orders": [4], "customers": [2]})
    >>> country_table(cur, pri)[["country", "growth", "revenue_share"]].values.tolist()
    [['A', 1.0, 0.8], ['B', nan, 0.2]]
    """
    if prior is None:
        prior = pd.DataFrame(
            {c: pd.Series(dtype=float) for c in ("revenue", "orders", "customers")}
        ).assign(country=pd.Series(dtype=object))
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
    t["revenue_share"] = t["revenue"] / total if total > 0 else np.nan
    if market is not None and len(market):
        t = t.merge(market[["country", "market_size"]], on="country", how="outer")
        # a market we sold nothing in: zero revenue, orders and customers, a real 0 % share
        t[["revenue", "orders", "customers"]] = t[["revenue", "orders", "customers"]].fillna(0)
        if total > 0:
            t["revenue_share"] = t["revenue_share"].fillna(0.0)
        # a negative net revenue (returns above sales) holds no share and leaves all the headroom
        held = t["revenue"].where(t["revenue"] >= 0)
        t["market_share"] = held / t["market_size"].where(t["market_size"] > 0)
        t["headroom"] = (t["market_size"] - t["revenue"].clip(lower=0)).clip(lower=0)
    else:
        t["market_size"] = np.nan
        t["market_share"] = np.nan
        t["headroom"] = np.nan
    t = t.sort_values(["revenue", "country"], ascending=[False, True]).reset_index(drop=True)
    return t


def prorated_note(weights: dict, label: str) -> str | None:
    """A note when the period's market size takes part of a market-table period, or None.

    ``weights``: ``salesnb.queries.expansion.market_weights`` (label -> share counted).

    >>> prorated_note({"2026-Q3": 1 / 3}, "2026-09")
    "Market size of 2026-09 is pro-rated from the market table: 33% of 2026-Q3's (a size is taken as spread evenly over its months)."
    """
    parts = [
        _("{share} of {period}'s").format(share=f"{w:.0%}", period=period_label(lab))
        for lab, w in sorted(weights.items())
        if w < 1
    ]
    if not parts:
        return None
    return _(
        "Market size of {period} is pro-rated from the market table: {parts} "
        "(a size is taken as spread evenly over its months)."
    ).format(period=period_label(label), parts=(", " if language() == "en" else "、").join(parts))


def home_country(table: pd.DataFrame) -> str | None:
    """The home market: the country with the most revenue, or with the most orders when no
    country has positive net revenue (a quarter of returns ranks nobody by revenue).

    >>> t = pd.DataFrame({"country": ["A", "B"], "revenue": [0.0, -5.0], "orders": [2, 9]})
    >>> home_country(t)
    'B'
    """
    if table.empty:
        return None
    if table["revenue"].max() > 0:
        return str(
            table.sort_values(["revenue", "country"], ascending=[False, True]).iloc[0]["country"]
        )
    return str(table.sort_values(["orders", "country"], ascending=[False, True]).iloc[0]["country"])


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
    """Markdown bullets for the expansion decision (in the page's language).

    >>> t = pd.DataFrame({"country": ["A"], "revenue_share": [1.0]})
    >>> what_to_do(t, pd.DataFrame(), "A")
    '- **0.0%** of revenue comes from outside A.'
    """
    lines = []
    if home is not None and len(table):
        home_share = table.loc[table["country"] == home, "revenue_share"]
        if len(home_share) and pd.notna(home_share.iloc[0]):
            intl = 1 - float(home_share.iloc[0])
            lines.append(
                _("- **{share}** of revenue comes from outside {home}.").format(
                    share=f"{intl:.1%}", home=home
                )
            )
    if len(ranking):
        lines.append(_top_country(ranking.iloc[0]))
        shrinking = ranking[ranking["growth"] < 0]
        for r in shrinking.itertuples():
            lines.append(
                _(
                    "- Revenue in **{country}** fell {growth} on last year: review coverage there "
                    "before adding more."
                ).format(country=r.country, growth=f"{r.growth:.1%}")
            )
    return "\n".join(lines) or _("- Only one country has sales; no expansion ranking possible yet.")


def _top_country(top: pd.Series) -> str:
    """The bullet naming the country to put the next expansion effort into (markdown)."""
    if pd.isna(top["growth"]) and pd.isna(top["market_share"]):
        return _(
            "- **{country}** ranks first, but without last year's revenue or market sizes the "
            "ranking rests on nothing measured: add them before deciding."
        ).format(country=top["country"])
    g = _("n/a") if pd.isna(top["growth"]) else f"{top['growth']:+.1%}"
    share = (
        ""
        if pd.isna(top["market_share"])
        else _(", our market share {share}").format(share=f"{top['market_share']:.1%}")
    )
    return _("- Put the next expansion effort into **{country}** (growth {growth}{share}).").format(
        country=top["country"], growth=g, share=share
    )


def expansion_headline(table: pd.DataFrame, ranking: pd.DataFrame, home: str | None) -> dict:
    """The study's headline figures; figures that cannot be computed are left out (never NaN).

    >>> cur = pd.DataFrame({"country": ["A", "B"], "revenue": [80.0, 20.0], "orders": [8, 2], "customers": [4, 1]})
    >>> t = country_table(cur, None)
    >>> expansion_headline(t, expansion_ranking(t, "A"), "A")
    {'countries': 2, 'home_country': 'A', 'revenue_total': 100.0, 'top_expansion_country': 'B', 'intl_revenue_share': 0.2}
    """
    if table.empty:
        return {}
    out = {"countries": int(len(table)), "home_country": home}
    total = float(table["revenue"].sum())
    out["revenue_total"] = total
    if len(ranking):
        out["top_expansion_country"] = str(ranking["country"].iloc[0])
    if total > 0:
        out["intl_revenue_share"] = (
            float(table.loc[table["country"] != home, "revenue"].sum()) / total
        )
    grown = table.dropna(subset=["growth"])
    if len(grown):
        out["fastest_growing_country"] = str(grown.sort_values("growth").iloc[-1]["country"])
    return out
