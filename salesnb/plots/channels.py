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
    """Stacked shares of revenue per quarter."""
    ax = new_ax(ax, figsize=(9, 4))
    share = pivot.div(pivot.sum(axis=1).replace(0, np.nan), axis=0).fillna(0.0)
    x = np.arange(len(share))
    ax.stackplot(
        x,
        share.T.to_numpy(),
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
    first, last = share.iloc[0], share.iloc[-1]
    gainer = (last - first).idxmax() if len(share) > 1 else share.columns[0]
    ax.set_title(
        f"Channel mix: {gainer} gained {last[gainer] - first[gainer]:+.0%} points of revenue share"
    )
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
    ax.set_title(f"{s['channel'].iloc[0]} brings the largest orders")
    return ax
