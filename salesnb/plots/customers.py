"""Charts for the customers study: segments, movement, cohorts, lifetime value, concentration.

Each function takes the frame a ``salesnb.metrics.customers`` function returns, ``ax=None``,
and returns the Axes; titles state the finding, axes carry units.
"""

from __future__ import annotations

from contextlib import contextmanager

import numpy as np
import pandas as pd
import seaborn as sns
from matplotlib.backends.backend_agg import FigureCanvasAgg

from salesnb.i18n import N_, _, language
from salesnb.plots import PALETTE, money_axis, new_ax, pct_axis

# what a cohort chart measures, in its colour bar and title
_SHARE_OF_MONTH0 = {
    "customers": N_("share of month-0 customers"),
    "revenue": N_("share of month-0 revenue"),
}
_COME_BACK = {
    "customers": N_("About {share} of each cohort's customers come back the next month"),
    "revenue": N_("About {share} of each cohort's revenue come back the next month"),
}


#: The RFM segments' names (``metrics.customers.SEGMENT_ORDER``), translated where shown.
SEGMENT_LABELS = (
    N_("Champions"),
    N_("Loyal"),
    N_("New"),
    N_("Promising"),
    N_("Needs attention"),
    N_("At risk"),
    N_("Hibernating"),
    N_("Lost"),
    N_("Other"),
)

#: Readable headers of the study's tables, shown instead of the column names on a page
#: that is not in English (the English page keeps the column names).
HEADERS = {
    "segment": N_("Segment"),
    "customers": N_("Customers"),
    "customers_share": N_("Share of customers"),
    "revenue": N_("Revenue"),
    "revenue_share": N_("Share of revenue"),
    "avg_recency_days": N_("Days since last order (mean)"),
    "avg_orders": N_("Orders (mean)"),
    "parameter": N_("Parameter"),
    "value": N_("Value"),
    "meaning": N_("Meaning"),
    "customer_id": N_("Customer ID"),
    "customer_name": N_("Customer"),
    "owner_rep_id": N_("Owner ID"),
    "owner_rep": N_("Owner"),
    "last_purchase": N_("Last purchase"),
    "recency_days": N_("Days since last purchase"),
    "past_value": N_("Past value"),
    "probability_alive": N_("Probability still active"),
    "expected_purchases": N_("Expected purchases"),
    "clv": N_("Lifetime value"),
    "rank": N_("Rank"),
    "rep_id": N_("Rep ID"),
    "rep_name": N_("Rep"),
    "weight": N_("Weight"),
    "offer_category": N_("Category to offer"),
    "because_they_buy": N_("Because they buy"),
    "audience": N_("Audience"),
    "confidence": N_("Confidence"),
    "lift": N_("Lift"),
    "expected_takers": N_("Expected takers"),
}


def table(styler):
    """A customers table for the page: on a page not in English, readable translated headers
    and segment names; unchanged in English."""
    from salesnb.plots.targets import localise

    return localise(styler, HEADERS, values=("segment",))


def significant(x, digits: int = 4) -> str:
    """``x`` to ``digits`` significant digits, never in scientific notation.

    >>> significant(85987.3), significant(0.59912), significant(3.0601), significant(0.000123456)
    ('85990', '0.5991', '3.06', '0.0001235')
    """
    v = float(x)
    if not np.isfinite(v):
        return "-"
    if v == 0:
        return "0"
    places = digits - 1 - int(np.floor(np.log10(abs(v))))
    if places < 0:
        return f"{float(f'{v:.{digits}g}'):.0f}"
    text = f"{v:.{places}f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def _segments(names) -> list:
    """Segment names as the page shows them (translated on a page not in English)."""
    return [_(n) if isinstance(n, str) else n for n in names]


class _LayoutCanvas(FigureCanvasAgg):
    """A canvas whose ``draw()`` lays the figure out (text sizes, tick positions) without
    rendering a pixel."""

    def draw(self):
        self.figure.draw_without_rendering()


@contextmanager
def _layout_only_draws(fig):
    """seaborn's heatmap draws the whole figure once, only to see whether tick labels overlap
    (and turn them if so). A layout answers that alike (same renderer metrics, same positions)
    at a fraction of the cost; the chart itself is drawn once, when it is shown."""
    canvas = fig.canvas
    _LayoutCanvas(fig)
    try:
        yield
    finally:
        fig.set_canvas(canvas)


def _heatmap(data, ax, **kw):
    with _layout_only_draws(ax.figure):
        sns.heatmap(data, ax=ax, **kw)


def segment_bars(summary: pd.DataFrame, ax=None, currency: str = "USD"):
    """Customers (bars) and revenue share (labels) per RFM segment."""
    ax = new_ax(ax, figsize=(9, 4))
    s = summary[summary["customers"] > 0]
    ax.barh(
        s["segment"] if language() == "en" else _segments(s["segment"]),
        s["revenue"],
        color=PALETTE[0],
    )
    ax.invert_yaxis()
    for y, (rev, n, share) in enumerate(
        zip(s["revenue"], s["customers"], s["revenue_share"], strict=True)
    ):
        label = (
            "  "
            + _("{n} customers").format(n=f"{n:,}")
            + (f", {share:.0%}" if pd.notna(share) else "")
        )
        ax.text(rev, y, label, va="center", fontsize=9)
    if len(s) and s["revenue_share"].notna().any():
        top = s.sort_values("revenue", ascending=False).iloc[0]
        ax.set_title(
            _("{segment} bring {share} of last year's revenue").format(
                segment=_segments([top["segment"]])[0], share=f"{top['revenue_share']:.0%}"
            )
        )
    elif len(s):
        ax.set_title(_("Revenue by segment: returns at or above sales over the last 12 months"))
    ax.set_xlabel(_("Revenue, last 12 months"))
    money_axis(ax, axis="x", currency=currency)
    ax.set_ylabel("")
    return ax


def movement_heatmap(movement: pd.DataFrame, ax=None):
    """Customers moving from their prior segment (rows) to their current one (columns)."""
    ax = new_ax(ax, figsize=(9, 5))
    shown = movement
    if language() != "en":
        shown = movement.set_axis(_segments(movement.index), axis=0).set_axis(
            _segments(movement.columns), axis=1
        )
    _heatmap(shown, ax, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5)
    ax.grid(False)  # the house grid would cut through the cells
    stay = sum(movement.loc[s, s] for s in movement.index if s in movement.columns)
    total = movement.to_numpy().sum()
    ax.set_title(
        _("{share} of customers stayed in their segment").format(share=f"{stay / total:.0%}")
        if total
        else _("Segment movement")
    )
    ax.set_ylabel(_("Prior period segment"))
    ax.set_xlabel(_("Current segment (customers)"))
    return ax


def cohort_heatmap(
    matrix: pd.DataFrame,
    ax=None,
    title: str | None = None,
    what: str = "customers",
    curve: pd.Series | None = None,
):
    """Retention by cohort (rows: first-purchase month) and months since first purchase.

    ``curve`` (from ``retention_curve``, same cohorts) puts the size-weighted month-1 figure
    in the title, so the chart and the text quote the same number.
    """
    ax = new_ax(ax, figsize=(10, max(3, 0.3 * len(matrix) + 1)))
    m = matrix.copy()
    m.index = [pd.Timestamp(i).strftime("%Y-%m") for i in m.index]
    later = m.iloc[:, 1:].to_numpy(dtype="float64") if m.shape[1] > 1 else np.array([np.nan])
    # month 0 is 100 % by construction; scale the colours on the later months so they show
    vmax = float(np.nanpercentile(later, 95)) if np.isfinite(later).any() else 1.0
    _heatmap(
        m,
        ax,
        cmap="viridis",
        vmin=0,
        vmax=max(vmax, 0.01),
        cbar_kws={
            "label": _(_SHARE_OF_MONTH0[what])
            if what in _SHARE_OF_MONTH0
            else f"share of month-0 {what}"
        },
    )
    ax.grid(False)  # the house grid would cut through the cells
    if title is None and m.shape[1] > 1:
        col = m.iloc[:, 1].to_numpy(dtype="float64")
        avg = (
            curve.get(1)
            if curve is not None
            else (np.nanmean(col) if np.isfinite(col).any() else None)
        )
        if avg is not None and np.isfinite(avg):
            title = (
                _(_COME_BACK[what]).format(share=f"{avg:.0%}")
                if what in _COME_BACK
                else f"About {avg:.0%} of each cohort's {what} come back the next month"
            )
    ax.set_title(title or _("Cohort retention"))
    ax.set_xlabel(_("Months since first purchase"))
    ax.set_ylabel(_("First-purchase month"))
    return ax


def retention_curves(customers: pd.Series, revenue: pd.Series, ax=None):
    """Average customer and revenue retention per month since first purchase."""
    ax = new_ax(ax)
    ax.plot(customers.index, customers.values, marker="o", color=PALETTE[0], label=_("customers"))
    ax.plot(revenue.index, revenue.values, marker="o", color=PALETTE[1], label=_("revenue"))
    pct_axis(ax)
    ax.set_xlabel(_("Months since first purchase"))
    ax.set_ylabel(_("Retention (share of month 0)"))
    if len(customers) > 1 and pd.notna(customers.iloc[1]):
        ax.set_title(
            _("{share} of customers buy again in month 1").format(share=f"{customers.iloc[1]:.0%}")
        )
    ax.legend()
    return ax


def clv_scatter(predictions: pd.DataFrame, ax=None, currency: str = "USD", threshold: float = 0.5):
    """Probability alive against past value; the at-risk corner is shaded."""
    ax = new_ax(ax)
    p = predictions[predictions["frequency"] > 0]
    shown = p[p["revenue"] > 0]  # a log axis has no place for customers whose returns cancel out
    ax.scatter(
        shown["revenue"],
        shown["probability_alive"],
        s=6,
        alpha=0.4,
        color=PALETTE[0],
        rasterized=True,  # thousands of customers: one embedded image, not one SVG element each
    )
    ax.set_xscale("log")
    ax.axhline(threshold, color=PALETTE[3], ls="--", lw=1)
    if len(p):
        share_gone = float((p["probability_alive"] < threshold).mean())
        ax.set_title(
            _("{share} of repeat customers have probably stopped buying").format(
                share=f"{share_gone:.0%}"
            )
        )
    else:
        ax.set_title(_("No repeat customer yet: nobody can be judged gone"))
    ax.set_xlabel(_("Past revenue ({currency}, log scale)").format(currency=currency))
    ax.set_ylabel(_("Probability still active"))
    pct_axis(ax)
    return ax


def pareto(curve: pd.DataFrame, ax=None, top_share: float | None = None):
    """Cumulative revenue share against cumulative customer share."""
    ax = new_ax(ax)
    ax.plot(curve["customers_share"], curve["revenue_share"], color=PALETTE[0])
    ax.plot([0, 1], [0, 1], color="grey", ls=":", lw=1)
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    hit = curve[curve["revenue_share"] >= 0.8]
    if len(hit):
        x = float(hit["customers_share"].iloc[0])
        ax.axvline(x, color=PALETTE[3], ls="--", lw=1)
        title = _("{share} of customers make 80% of revenue").format(share=f"{x:.0%}")
        if top_share is not None:
            title += _("; the top 10 make {share}").format(share=f"{top_share:.0%}")
        ax.set_title(title)
    ax.set_xlabel(_("Customers, largest first (cumulative share)"))
    ax.set_ylabel(_("Net revenue (cumulative share)"))
    return ax


def lift_heatmap(affinity: pd.DataFrame, ax=None):
    """Lift between product categories (1 = bought together as often as chance)."""
    ax = new_ax(ax, figsize=(7, 5))
    if affinity.empty:
        ax.set_title(_("No orders with two categories"))
        return ax
    m = affinity.pivot_table(index="antecedent", columns="consequent", values="lift")
    # symmetric colour range around 1 (independence) so "red" always means "sold together"
    spread = max(float(np.nanmax(np.abs(m.to_numpy() - 1.0))), 0.05)
    _heatmap(
        m,
        ax,
        annot=True,
        fmt=".2f",
        cmap="RdBu_r",
        vmin=1 - spread,
        vmax=1 + spread,
        cbar_kws={"label": _("lift")},
    )
    ax.grid(False)  # the house grid would cut through the cells
    top = affinity.iloc[0]
    if top["lift"] >= 1.05:
        ax.set_title(
            _("{bought} buyers take {offer} {lift}x as often as average").format(
                bought=top["antecedent"], offer=top["consequent"], lift=f"{top['lift']:.1f}"
            )
        )
    else:
        ax.set_title(_("No two categories sell together more often than chance"))
    ax.set_xlabel(_("... also bought (category)"))
    ax.set_ylabel(_("Bought (category)"))
    return ax
