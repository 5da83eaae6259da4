"""Data-quality charts: rows accepted vs quarantined, orders per month, key resolution."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.plots import PALETTE, new_ax, pct_axis

ACCEPTED, QUARANTINED, GAP = PALETTE[0], PALETTE[3], PALETTE[3]


def acceptance_bars(acc: pd.DataFrame, ax=None):
    """Accepted and quarantined rows per table (``metrics.quality.acceptance`` output), log scale."""
    ax = new_ax(ax, figsize=(8, 0.45 * max(len(acc), 3) + 1))
    y = np.arange(len(acc))
    has_q = acc["quarantined"] > 0
    ax.barh(
        y - 0.2 * has_q.any(),
        acc["accepted"].clip(lower=1),
        height=0.4,
        color=ACCEPTED,
        label="accepted",
    )
    if (
        has_q.any()
    ):  # a zero has no place on a log axis: only tables with quarantined rows get a bar
        ax.barh(
            y[has_q] + 0.2,
            acc.loc[has_q, "quarantined"],
            height=0.4,
            color=QUARANTINED,
            label="quarantined",
        )
    ax.set_yticks(y, acc["table"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left=0.8)
    ax.set_xlabel("Rows (log scale)")
    ax.legend(loc="lower right", fontsize=9)
    q = int(acc["quarantined"].sum())
    ax.set_title(
        f"{q:,} rows quarantined across {int((acc['quarantined'] > 0).sum())} table(s)"
        if q
        else f"Every loaded row of {len(acc)} tables was accepted"
    )
    return ax


def monthly_coverage(monthly: pd.DataFrame, gaps: list[str], ax=None):
    """Order lines per month (``queries.quality.monthly_rows``); months without data marked."""
    ax = new_ax(ax, figsize=(9, 3.5))
    months = (
        pd.period_range(
            pd.Period(monthly["month"].min(), "M"), pd.Period(monthly["month"].max(), "M"), freq="M"
        )
        if len(monthly)
        else pd.PeriodIndex([], freq="M")
    )
    counts = monthly.assign(p=pd.to_datetime(monthly["month"]).dt.to_period("M")).set_index("p")[
        "rows"
    ]
    values = counts.reindex(months, fill_value=0)
    x = np.arange(len(months))
    ax.bar(x, values.to_numpy(), color=ACCEPTED, width=0.85)
    for i, m in enumerate(months):
        if str(m) in set(gaps):
            ax.axvspan(i - 0.5, i + 0.5, color=GAP, alpha=0.25)
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [str(m) for m in months[::step]], rotation=45, ha="right")
    ax.set_xlabel("Month")
    ax.set_ylabel("Order lines")
    ax.set_title(
        f"{len(gaps)} month(s) without orders (shaded)"
        if gaps
        else f"Orders cover every month from {months[0]} to {months[-1]}"
        if len(months)
        else "No dated orders"
    )
    return ax


def fk_resolution(fk: pd.DataFrame, min_resolved: float = 0.99, ax=None):
    """Share of each foreign key's values that resolve (``metrics.quality.fk_rates`` output)."""
    ax = new_ax(ax, figsize=(8, 0.45 * max(len(fk), 3) + 1))
    labels = [
        f"{t}.{c} → {p}" for t, c, p in zip(fk["table"], fk["column"], fk["parent"], strict=True)
    ]
    colors = [ACCEPTED if v >= min_resolved else QUARANTINED for v in fk["resolved_pct"]]
    y = np.arange(len(fk))
    ax.barh(y, fk["resolved_pct"], color=colors)
    ax.axvline(min_resolved, color="grey", ls="--", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel("Values found in the parent table (%)")
    pct_axis(ax, "x")
    weak = int((fk["resolved_pct"] < min_resolved).sum())
    ax.set_title(
        f"{weak} key(s) resolve below {min_resolved:.0%}"
        if weak
        else f"All {len(fk)} keys resolve at {min_resolved:.0%} or better"
    )
    return ax
