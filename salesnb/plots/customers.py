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

from salesnb.plots import PALETTE, money_axis, new_ax, pct_axis


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
    ax.barh(s["segment"], s["revenue"], color=PALETTE[0])
    ax.invert_yaxis()
    for y, (rev, n, share) in enumerate(
        zip(s["revenue"], s["customers"], s["revenue_share"], strict=True)
    ):
        label = f"  {n:,} customers" + (f", {share:.0%}" if pd.notna(share) else "")
        ax.text(rev, y, label, va="center", fontsize=9)
    if len(s) and s["revenue_share"].notna().any():
        top = s.sort_values("revenue", ascending=False).iloc[0]
        ax.set_title(f"{top['segment']} bring {top['revenue_share']:.0%} of last year's revenue")
    elif len(s):
        ax.set_title("Revenue by segment: returns at or above sales over the last 12 months")
    ax.set_xlabel("Revenue, last 12 months")
    money_axis(ax, axis="x", currency=currency)
    ax.set_ylabel("")
    return ax


def movement_heatmap(movement: pd.DataFrame, ax=None):
    """Customers moving from their prior segment (rows) to their current one (columns)."""
    ax = new_ax(ax, figsize=(9, 5))
    _heatmap(movement, ax, annot=True, fmt="d", cmap="Blues", cbar=False, linewidths=0.5)
    ax.grid(False)  # the house grid would cut through the cells
    stay = sum(movement.loc[s, s] for s in movement.index if s in movement.columns)
    total = movement.to_numpy().sum()
    ax.set_title(
        f"{stay / total:.0%} of customers stayed in their segment" if total else "Segment movement"
    )
    ax.set_ylabel("Prior period segment")
    ax.set_xlabel("Current segment (customers)")
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
        cbar_kws={"label": f"share of month-0 {what}"},
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
            title = f"About {avg:.0%} of each cohort's {what} come back the next month"
    ax.set_title(title or "Cohort retention")
    ax.set_xlabel("Months since first purchase")
    ax.set_ylabel("First-purchase month")
    return ax


def retention_curves(customers: pd.Series, revenue: pd.Series, ax=None):
    """Average customer and revenue retention per month since first purchase."""
    ax = new_ax(ax)
    ax.plot(customers.index, customers.values, marker="o", color=PALETTE[0], label="customers")
    ax.plot(revenue.index, revenue.values, marker="o", color=PALETTE[1], label="revenue")
    pct_axis(ax)
    ax.set_xlabel("Months since first purchase")
    ax.set_ylabel("Retention (share of month 0)")
    if len(customers) > 1 and pd.notna(customers.iloc[1]):
        ax.set_title(f"{customers.iloc[1]:.0%} of customers buy again in month 1")
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
        ax.set_title(f"{share_gone:.0%} of repeat customers have probably stopped buying")
    else:
        ax.set_title("No repeat customer yet: nobody can be judged gone")
    ax.set_xlabel(f"Past revenue ({currency}, log scale)")
    ax.set_ylabel("Probability still active")
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
        title = f"{x:.0%} of customers make 80% of revenue"
        if top_share is not None:
            title += f"; the top 10 make {top_share:.0%}"
        ax.set_title(title)
    ax.set_xlabel("Customers, largest first (cumulative share)")
    ax.set_ylabel("Net revenue (cumulative share)")
    return ax


def lift_heatmap(affinity: pd.DataFrame, ax=None):
    """Lift between product categories (1 = bought together as often as chance)."""
    ax = new_ax(ax, figsize=(7, 5))
    if affinity.empty:
        ax.set_title("No orders with two categories")
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
        cbar_kws={"label": "lift"},
    )
    ax.grid(False)  # the house grid would cut through the cells
    top = affinity.iloc[0]
    if top["lift"] >= 1.05:
        ax.set_title(
            f"{top['antecedent']} buyers take {top['consequent']} {top['lift']:.1f}x as often as average"
        )
    else:
        ax.set_title("No two categories sell together more often than chance")
    ax.set_xlabel("... also bought (category)")
    ax.set_ylabel("Bought (category)")
    return ax
