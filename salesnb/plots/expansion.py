"""Charts of the global-expansion study."""

from __future__ import annotations

import pandas as pd

from salesnb.i18n import N_, _
from salesnb.plots import PALETTE, new_ax, pct_axis


def opportunity_map(table: pd.DataFrame, top: str | None = None, ax=None):
    """Growth (y) against market share (x), bubble area = market size; ``top`` highlighted."""
    ax = new_ax(ax)
    d = table.dropna(subset=["growth"]).copy()
    size = d["market_size"].fillna(d["revenue"]).clip(lower=0)  # a net loss: smallest dot
    area = (2000 * size / size.max()).clip(lower=20) if len(size) and size.max() > 0 else 100
    x = d["market_share"].fillna(d["revenue_share"])
    colors = [PALETTE[3] if c == top else PALETTE[0] for c in d["country"]]
    ax.scatter(x, d["growth"], s=area, c=colors, alpha=0.6, edgecolor="white")
    for xi, yi, name in zip(x, d["growth"], d["country"], strict=True):
        ax.annotate(str(name), (xi, yi), textcoords="offset points", xytext=(6, 4), fontsize=9)
    ax.axhline(0, color="grey", linewidth=0.8)
    ax.set_title(
        _("{country} is the most attractive next market").format(country=top)
        if top
        else _("Growth and share by country")
    )
    label = (
        _("Our share of the market (%)")
        if d["market_share"].notna().any()
        else _("Share of our revenue (%)")
    )
    ax.set_xlabel(label)
    ax.set_ylabel(_("Revenue growth on last year (%)"))
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    ax.margins(0.15)
    return ax


__all__ = ["opportunity_map", "TABLE_FORMAT", "HEADERS", "table"]


#: Display formats of the expansion study's country table and ranking.
TABLE_FORMAT = {
    **dict.fromkeys(
        ("revenue", "revenue_prior", "avg_order_value", "market_size", "headroom"), "{:,.0f}"
    ),
    **dict.fromkeys(("orders", "customers"), "{:,.0f}"),
    "growth": "{:+.1%}",
    **dict.fromkeys(("revenue_share", "market_share"), "{:.1%}"),
    "score": "{:.3f}",
}

#: Readable headers of the study's tables, shown instead of the column names on a page
#: that is not in English (the English page keeps the column names).
HEADERS = {
    "rank": N_("Rank"),
    "country": N_("Country"),
    "score": N_("Score"),
    "revenue": N_("Revenue"),
    "revenue_prior": N_("Revenue a year earlier"),
    "growth": N_("Growth"),
    "customers": N_("Customers"),
    "orders": N_("Orders"),
    "avg_order_value": N_("Average order value"),
    "revenue_share": N_("Share of our revenue"),
    "market_size": N_("Market size"),
    "market_share": N_("Market share"),
    "headroom": N_("Headroom"),
}


def table(frame: pd.DataFrame, index: bool = True):
    """``frame`` as a page shows it: formatted (:data:`TABLE_FORMAT`), its empty columns left
    out, the index shown or not; on a page not in English, readable translated headers."""
    from salesnb.plots.targets import localise

    styler = frame.dropna(axis=1, how="all").style.format(TABLE_FORMAT, na_rep="–")
    return localise(styler if index else styler.hide(axis="index"), HEADERS)
