"""Channel charts: quarterly revenue per channel, channel mix, margin and order value per channel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.plots import color_for, money_axis, new_ax, pct_axis


def revenue_by_quarter(
    pivot: pd.DataFrame, overtake: dict | None = None, currency: str = "USD", ax=None
):
    """One line per channel over quarters (``quarterly_pivot`` output); marks an overtake."""
    ax = new_ax(ax, figsize=(9, 4))
    x = np.arange(len(pivot))
    for ch in pivot.columns:
        ax.plot(x, pivot[ch], marker="o", ms=3, label=ch, color=color_for(ch))
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], list(pivot.index[::step]), rotation=45, ha="right")
    ax.set_xlabel("Quarter")
    ax.set_ylabel("Net revenue")
    money_axis(ax, currency=currency)
    ax.legend(ncol=min(4, len(pivot.columns)), fontsize=9)
    if overtake:
        i = list(pivot.index).index(overtake["quarter"])
        ax.axvline(i, color="grey", ls="--", lw=1)
        ax.set_title(
            f"{overtake['channel']} overtook {overtake['overtaken']} in {overtake['quarter']}"
        )
    else:
        ax.set_title("Revenue by channel and quarter: no channel overtook another")
    return ax


def channel_mix(pivot: pd.DataFrame, ax=None):
    """Stacked shares of revenue per quarter (quarters netting to zero or below left empty)."""
    ax = new_ax(ax, figsize=(9, 4))
    total = pivot.sum(axis=1)
    share = pivot.div(total.where(total > 0), axis=0)
    x = np.arange(len(share))
    ax.stackplot(
        x,
        share.fillna(0.0).T.to_numpy(),
        labels=list(share.columns),
        colors=[color_for(c) for c in share.columns],
        alpha=0.9,
    )
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], list(share.index[::step]), rotation=45, ha="right")
    pct_axis(ax)
    ax.set_ylim(0, 1)
    ax.set_xlabel("Quarter")
    ax.set_ylabel("Share of net revenue (%)")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    valid = share.dropna(how="all")
    if len(share.columns) == 1:
        title = f"All revenue came through {share.columns[0]}"
    elif len(valid) < 2:
        title = "Channel mix: too few quarters with positive net revenue to show a shift"
    else:
        first, last = valid.iloc[0].fillna(0.0), valid.iloc[-1].fillna(0.0)
        gainer = (last - first).idxmax()
        title = (
            f"Channel mix: {gainer} gained {last[gainer] - first[gainer]:+.0%} points of revenue "
            f"share ({valid.index[0]} to {valid.index[-1]})"
        )
    ax.set_title(title)
    return ax


def margin_and_aov(summary: pd.DataFrame, currency: str = "USD", ax=None):
    """Bars: average order value per channel, labelled with the margin %."""
    ax = new_ax(ax)
    s = summary.sort_values("aov", ascending=False)
    ax.bar(s["channel"], s["aov"], color=[color_for(c) for c in s["channel"]])
    for i, (v, m) in enumerate(zip(s["aov"], s["margin_pct"], strict=True)):
        if pd.notna(m):
            ax.text(i, v, f"margin {m:.0%}", ha="center", va="bottom", fontsize=9)
    ax.set_xlabel("Channel")
    ax.set_ylabel("Average order value")
    money_axis(ax, currency=currency)
    top = s["aov"].max()
    ax.set_title(
        f"{s['channel'].iloc[0]} brings the largest orders"
        if pd.notna(top) and top > 0
        else "Net order value is zero or negative in every channel (returns at or above sales)"
    )
    return ax


#: Display formats of the :func:`salesnb.metrics.channels.channel_summary` table.
SUMMARY_FORMAT = {
    "revenue": "{:,.0f}",
    "margin": "{:,.0f}",
    "margin_pct": "{:.1%}",
    "orders": "{:,.0f}",
    "customers": "{:,.0f}",
    "aov": "{:,.0f}",
    "share": "{:.1%}",
    "prior_revenue": "{:,.0f}",
    "growth": "{:+.1%}",
    "prior_share": "{:.1%}",
    "share_change": "{:+.1%}",
}
