"""Channel charts: quarterly revenue per channel, channel mix, margin and order value per channel."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.formatting import points
from salesnb.i18n import N_, _, language, period_label
from salesnb.plots import color_for, money_axis, new_ax, pct_axis


def _ticks(labels) -> list[str]:
    return [period_label(str(q)) for q in labels]


def revenue_by_quarter(
    pivot: pd.DataFrame, overtake: dict | None = None, currency: str = "USD", ax=None
):
    """One line per channel over quarters (``quarterly_pivot`` output); marks an overtake."""
    ax = new_ax(ax, figsize=(9, 4))
    x = np.arange(len(pivot))
    for ch in pivot.columns:
        ax.plot(x, pivot[ch], marker="o", ms=3, label=ch, color=color_for(ch))
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], _ticks(pivot.index[::step]), rotation=45, ha="right")
    ax.set_xlabel(_("Quarter"))
    ax.set_ylabel(_("Net revenue"))
    money_axis(ax, currency=currency)
    ax.legend(ncol=min(4, len(pivot.columns)), fontsize=9)
    if overtake:
        i = list(pivot.index).index(overtake["quarter"])
        ax.axvline(i, color="grey", ls="--", lw=1)
        ax.set_title(
            _("{channel} overtook {other} in {quarter}").format(
                channel=overtake["channel"],
                other=overtake["overtaken"],
                quarter=period_label(str(overtake["quarter"])),
            )
        )
    else:
        ax.set_title(_("Revenue by channel and quarter: no channel overtook another"))
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
    ax.set_xticks(x[::step], _ticks(share.index[::step]), rotation=45, ha="right")
    pct_axis(ax)
    ax.set_ylim(0, 1)
    ax.set_xlabel(_("Quarter"))
    ax.set_ylabel(_("Share of net revenue (%)"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    valid = share.dropna(how="all")
    if len(share.columns) == 1:
        title = _("All revenue came through {channel}").format(channel=share.columns[0])
    elif len(valid) < 2:
        title = _("Channel mix: too few quarters with positive net revenue to show a shift")
    else:
        first, last = valid.iloc[0].fillna(0.0), valid.iloc[-1].fillna(0.0)
        gainer = (last - first).idxmax()
        gain = last[gainer] - first[gainer]
        title = _(
            "Channel mix: {channel} gained {gain} of revenue share ({first} to {last})"
        ).format(
            channel=gainer,
            gain=f"{gain:+.0%} points" if language() == "en" else points(gain, 0),
            first=period_label(str(valid.index[0])),
            last=period_label(str(valid.index[-1])),
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
            label = _("margin {pct}").format(pct=f"{m:.0%}")
            ax.text(i, v, label, ha="center", va="bottom", fontsize=9)
    ax.set_xlabel(_("Channel"))
    ax.set_ylabel(_("Average order value"))
    money_axis(ax, currency=currency)
    top = s["aov"].max()
    ax.set_title(
        _("{channel} brings the largest orders").format(channel=s["channel"].iloc[0])
        if pd.notna(top) and top > 0
        else _("Net order value is zero or negative in every channel (returns at or above sales)")
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


#: Readable headers of the channel tables (shown translated on a page not in English).
HEADERS = {
    "channel": N_("Channel"),
    "revenue": N_("Revenue"),
    "margin": N_("Margin"),
    "margin_pct": N_("Margin %"),
    "orders": N_("Orders"),
    "customers": N_("Customers"),
    "aov": N_("Average order value"),
    "share": N_("Share"),
    "prior_revenue": N_("Revenue a year earlier"),
    "growth": N_("Growth"),
    "prior_share": N_("Share a year earlier"),
    "share_change": N_("Share change"),
}


def summary_table(summary: pd.DataFrame):
    """The channel summary for the page: empty columns left out, formatted; readable,
    translated headers on a page not in English (unchanged in English)."""
    from salesnb.plots.targets import localise

    shown = summary.dropna(axis=1, how="all")
    return localise(shown.style.format(SUMMARY_FORMAT, na_rep="–"), HEADERS)


def quarter_table(pivot: pd.DataFrame, quarters: int = 8):
    """Revenue per quarter (rows, the last ``quarters``) and channel (columns) for the page."""
    pv = pivot.tail(quarters)
    if language() != "en":
        pv = pv.copy()
        pv.index = _ticks(pv.index)
        pv = pv.rename_axis(index=_("Quarter"))
    return pv.style.format("{:,.0f}")
