"""Market charts: share trend, competitor shares, growth-share matrix, losses to competitors, demand curve."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.i18n import N_, _, language, period_label
from salesnb.plots import color_for, new_ax, pct_axis

# the groups a share trend is drawn by, named in its title
_GROUPS = (N_("segment"), N_("region"))


def _comma() -> str:
    return ", " if language() == "en" else "、"


def share_trend(table: pd.DataFrame, group_col: str | None = None, ax=None):
    """Our market share per period (``period, market_share`` [, group]); one line per group."""
    ax = new_ax(ax, figsize=(9, 4))
    periods = sorted(table["period"].unique())
    x = {p: i for i, p in enumerate(periods)}
    groups = [(None, table)] if group_col is None else list(table.groupby(group_col))
    for name, g in groups:
        g = g.sort_values("period")
        ax.plot(
            [x[p] for p in g["period"]],
            g["market_share"],
            marker="o",
            ms=3,
            label=str(name) if name is not None else _("total"),
            color=color_for(name or "total"),
        )
    step = max(1, len(periods) // 12)
    ticks = [period_label(str(p)) for p in periods[::step]]
    ax.set_xticks(range(0, len(periods), step), ticks, rotation=45, ha="right")
    pct_axis(ax)
    ax.set_xlabel(_("Period"))
    ax.set_ylabel(_("Our share of the market (%)"))
    ax.legend(fontsize=9)
    first = table[table["period"] == periods[0]]["market_share"].mean()
    last = table[table["period"] == periods[-1]]["market_share"].mean()
    where = _(" (mean over {group})").format(group=_(group_col)) if group_col else ""
    if len(periods) < 2 or pd.isna(first) or pd.isna(last):
        shown = f"{last:.1%}" if pd.notna(last) else _("unknown")
        ax.set_title(
            _("Our market share in {period}: {share}{where}").format(
                period=period_label(str(periods[-1])), share=shown, where=where
            )
        )
    else:
        title = (
            _("Our market share rose from {first} to {last}{where}")
            if last > first
            else _("Our market share fell from {first} to {last}{where}")
            if last < first
            else _("Our market share held from {first} to {last}{where}")
        )
        ax.set_title(title.format(first=f"{first:.1%}", last=f"{last:.1%}", where=where))
    return ax


def competitor_bars(shares: pd.DataFrame, our_share: float | None = None, ax=None):
    """Horizontal bars of market share per competitor (``competitor, share``), ours included."""
    s = shares[["competitor", "share"]].copy()
    if our_share is not None and not pd.isna(our_share):
        s = pd.concat([s, pd.DataFrame({"competitor": ["Us"], "share": [our_share]})])
    s = s.sort_values("share", na_position="first")
    ax = new_ax(ax, figsize=(8, 0.35 * len(s) + 1.5))
    names = [_("Us") if c == "Us" else str(c) for c in s["competitor"]]
    ax.barh(names, s["share"], color=[color_for(c) for c in s["competitor"]])
    pct_axis(ax, "x")
    ax.set_xlabel(_("Share of the market (%)"))
    leader = s.iloc[-1]
    ax.set_title(
        _("{competitor} holds the largest share ({share})").format(
            competitor=names[-1], share=f"{leader['share']:.0%}"
        )
        if pd.notna(leader["share"])
        else _("Competitors' shares of the market")
    )
    return ax


def growth_share_matrix(table: pd.DataFrame, key: str = "category", ax=None):
    """Scatter of share of our revenue (x) vs growth (y), bubble = revenue, quadrant lines."""
    ax = new_ax(ax, figsize=(7, 5))
    t = table.dropna(subset=["growth"])
    # a category netting below zero (returns above sales) still gets a visible dot
    top = t["revenue"].max() if len(t) and t["revenue"].max() > 0 else 1.0
    size = (2000 * t["revenue"] / top).clip(lower=20)
    ax.scatter(t["share"], t["growth"], s=size, alpha=0.6, color=[color_for(c) for c in t[key]])
    for r in t.itertuples():
        ax.annotate(
            f"{getattr(r, key)} ({_(r.quadrant)})", (r.share, r.growth), fontsize=9, ha="center"
        )
    if len(table):
        ax.axvline(1.0 / len(table), color="grey", ls="--", lw=1)
        ax.axhline(float(table["growth_threshold"].iloc[0]), color="grey", ls="--", lw=1)
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    ax.set_xlabel(_("Share of our revenue (%)"))
    ax.set_ylabel(_("Revenue growth vs a year earlier (%)"))
    stars = list(t.loc[t["quadrant"] == "star", key].astype(str))
    ax.set_title(
        _("Stars: {names}").format(names=_comma().join(stars))
        if stars
        else _("No category is both large and fast-growing")
    )
    return ax


def losses_by_competitor(losses: pd.DataFrame, dominant: dict | None = None, ax=None):
    """Stacked bars per segment: share of the losses to named competitors, by competitor."""
    ax = new_ax(ax)
    p = losses.pivot_table(
        index="segment", columns="competitor", values="share_of_named", fill_value=0.0
    )
    bottom = np.zeros(len(p))
    for comp in p.columns:
        ax.bar(p.index.astype(str), p[comp], bottom=bottom, label=str(comp), color=color_for(comp))
        bottom += p[comp].to_numpy()
    pct_axis(ax)
    ax.set_xlabel(_("Customer segment"))
    ax.set_ylabel(_("Share of deals lost to a competitor (%)"))
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0), fontsize=9)
    ax.set_title(
        _("{competitor} wins {share} of our {segment} losses").format(
            competitor=dominant["competitor"],
            share=f"{dominant['share']:.0%}",
            segment=dominant["segment"],
        )
        if dominant
        else _("Whom we lose deals to, by segment")
    )
    return ax


def demand_curve(cells: pd.DataFrame, fit: dict, ax=None, step: float = 0.05):
    """Units per line by discount (binned) with the fitted constant-elasticity curve."""
    ax = new_ax(ax)
    c = cells.copy()
    c["discount"] = 1 - np.exp(c["log_price_ratio"])
    c["bin"] = (c["discount"] / step).round() * step
    g = c.groupby("bin").agg(quantity=("quantity", "sum"), lines=("lines", "sum"))
    g = g[g["lines"] >= max(10, g["lines"].sum() * 0.002)]
    per_line = g["quantity"] / g["lines"]
    ax.scatter(
        g.index,
        per_line,
        s=20 + 200 * g["lines"] / g["lines"].max(),
        color=color_for("observed"),
        label=_("observed (size = lines)"),
    )
    if len(g):
        base = per_line.iloc[0] / (1 - g.index[0]) ** fit["elasticity"]
        xs = np.linspace(g.index.min(), g.index.max(), 50)
        ax.plot(
            xs,
            base * (1 - xs) ** fit["elasticity"],
            color="black",
            lw=1.5,
            label=_("fitted, elasticity {e}").format(e=f"{fit['elasticity']:.2f}"),
        )
    pct_axis(ax, "x")
    ax.set_xlabel(_("Discount off list price (%)"))
    ax.set_ylabel(_("Units per order line"))
    ax.legend(fontsize=9)
    ax.set_title(
        _("1 % lower price sells {units} % more units (95 % CI {lo} .. {hi})").format(
            units=f"{-fit['elasticity']:.2f}",
            lo=f"{-fit['ci_high']:.2f}",
            hi=f"{-fit['ci_low']:.2f}",
        )
    )
    return ax


#: Readable headers of the market study's tables on a page not in English (see
#: :func:`salesnb.plots.targets.localise`).
HEADERS = {
    "period": N_("Period"),
    "segment": N_("Segment"),
    "region": N_("Region"),
    "competitor": N_("Competitor"),
    "competitor_sales": N_("Competitor sales"),
    "market_size": N_("Market size"),
    "share": N_("Share"),
    "market_share": N_("Market share"),
    "category": N_("Category"),
    "revenue": N_("Revenue"),
    "prior_revenue": N_("Revenue a year earlier"),
    "growth": N_("Growth"),
    "quadrant": N_("Quadrant"),
    "growth_threshold": N_("Growth threshold"),
    "lost": N_("Deals lost"),
    "won": N_("Deals won"),
    "mean_discount": N_("Mean discount (lost)"),
    "mean_amount": N_("Mean amount (lost)"),
    "price_losses": N_("Lost on price"),
    "share_of_named": N_("Share of losses to named competitors"),
    "share_of_lost": N_("Share of all losses"),
    "price_loss_share": N_("Share lost on price"),
    "won_discount": N_("Mean discount (won)"),
    "discount_gap": N_("Discount gap"),
    "price_gap_pct": N_("Price gap"),
    "share_change": N_("Share change"),
    "win_rate": N_("Win rate"),
    "action": N_("Action"),
    "reason": N_("Reason"),
}


def table(styler):
    """A market table for the page: readable, translated headers and quadrant and action
    names on a page not in English (unchanged in English)."""
    from salesnb.plots.targets import localise

    return localise(styler, HEADERS, values=("quadrant", "action"))


def share_pivot(share_by_segment: pd.DataFrame, periods: int = 8):
    """Our market share per period (rows, the last ``periods``) and segment (columns)."""
    pv = share_by_segment.pivot(index="period", columns="segment", values="market_share").tail(
        periods
    )
    if language() != "en":
        pv.index = [period_label(str(p)) for p in pv.index]
        pv = pv.rename_axis(index=_("Period"), columns=_("Segment"))
    return pv.style.format("{:.1%}", na_rep="–")


#: Display formats of the market study's tables (amounts, shares, changes in points).
TABLE_FORMAT = {
    **dict.fromkeys(
        ("revenue", "prior_revenue", "market_size", "competitor_sales", "mean_amount", "lost"),
        "{:,.0f}",
    ),
    **dict.fromkeys(
        (
            "share",
            "market_share",
            "share_of_named",
            "share_of_lost",
            "price_loss_share",
            "mean_discount",
            "won_discount",
        ),
        "{:.1%}",
    ),
    **dict.fromkeys(
        ("growth", "growth_threshold", "share_change", "discount_gap", "price_gap_pct"),
        "{:+.1%}",
    ),
}
