"""Funnel charts: step counts, stage conversion vs dwell, cycle-time histogram, win rates with CIs.

Also :func:`table_view`, the study's tables as shown on the page (rates in %, a dash and a
caption where a figure cannot be computed, never "nan").
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from salesnb.formatting import money
from salesnb.plots import PALETTE, money_axis, new_ax, pct_axis


def funnel_steps(
    steps: pd.DataFrame, ax=None, title: str | None = None, scopes: dict | None = None
):
    """Horizontal bars of ``step, count`` (top = first step), labelled with step conversion.

    Each population (``scope``: leads, the stage flow, deals won in the period) has its own
    colour and legend entry, named by ``scopes`` ({scope: description}), so bars of different
    populations are never read as one funnel.
    """
    ax = new_ax(ax, figsize=(8, 0.5 * len(steps) + 1.5))
    y = np.arange(len(steps))[::-1]
    scope = steps["scope"] if "scope" in steps.columns else pd.Series(["all"] * len(steps))
    order = list(dict.fromkeys(scope))
    colour = {s: PALETTE[i % len(PALETTE)] for i, s in enumerate(order)}
    names = {"leads": "leads", "stages": "deals by stage reached", "won": "deals won"}
    names.update(scopes or {})
    for s in order:
        mask = (scope == s).to_numpy()
        ax.barh(y[mask], steps["count"][mask], color=colour[s], label=names.get(s, s))
    if len(order) > 1:
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, steps["step"])
    for yi, n, conv in zip(
        y, steps["count"], steps.get("step_conversion", [np.nan] * len(steps)), strict=True
    ):
        label = f"{n:,.0f}" + (f"  ({conv:.0%} of previous)" if pd.notna(conv) else "")
        ax.text(n, yi, " " + label, va="center", fontsize=9)
    ax.set_xlabel("Leads / deals")
    if title is None:
        title = "From lead to won, step by step"
        stages = steps[scope.eq("stages").to_numpy()]
        if len(stages) > 1 and stages["step"].iloc[-1] == "Won" and stages["count"].iloc[0] > 0:
            share = stages["count"].iloc[-1] / stages["count"].iloc[0]
            title = f"{share:.0%} of deals entering {stages['step'].iloc[0]} end up won"
    ax.set_title(title)
    ax.margins(x=0.3)
    return ax


def table_view(
    frame: pd.DataFrame,
    pct=(),
    money=(),
    days=(),
    missing: str = "not computable from the data in scope",
):
    """``frame`` formatted for the page: ``pct`` columns in %, ``money`` with thousands
    separators, ``days`` to one decimal; an empty cell shows a dash, and a caption says what a
    dash stands for (``missing``) when the table has one. Returns a pandas Styler."""
    fmt = {c: "{:.1%}" for c in pct if c in frame.columns}
    fmt.update({c: "{:,.0f}" for c in money if c in frame.columns})
    fmt.update({c: "{:,.1f}" for c in days if c in frame.columns})
    # a fixed id (from the columns) instead of pandas' random one: the same data, the same page
    uuid = hashlib.md5("|".join(map(str, frame.columns)).encode()).hexdigest()[:8]
    view = frame.style.set_uuid(uuid).format(na_rep="–", precision=2).format(fmt, na_rep="–")
    view = view.hide(axis="index")
    if frame.isna().to_numpy().any():
        view = view.set_caption(f"– : {missing}")
    return view


def stage_conversion_dwell(conversion: pd.DataFrame, bottleneck: str | None = None, ax=None):
    """Bars: stage-to-next conversion; labels: median dwell days. The bottleneck is highlighted."""
    ax = new_ax(ax)
    colors = [PALETTE[3] if s == bottleneck else PALETTE[0] for s in conversion["stage"]]
    ax.bar(conversion["stage"].astype(str), conversion["conversion"], color=colors)
    for i, (c, d) in enumerate(
        zip(conversion["conversion"], conversion["median_dwell_days"], strict=True)
    ):
        if pd.isna(c):  # no deal moved on from or was lost at this stage yet
            label = "no outcome yet"
        else:
            label = f"{c:.0%}" + (f"\n{d:.0f} d median" if pd.notna(d) else "")
        ax.text(i, 0.0 if pd.isna(c) else c, label, ha="center", va="bottom", fontsize=9)
    pct_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel("Moved on to a later stage (%)")
    ax.set_xlabel("Stage")
    ax.set_title(
        f"Deals stall and leak at {bottleneck}" if bottleneck else "Stage-to-next conversion"
    )
    return ax


def cycle_histogram(hist: pd.DataFrame, median_days: float | None = None, ax=None):
    """Histogram (``cycle_days, deals``, optionally split by ``status``) of days from created to closed."""
    ax = new_ax(ax)
    h = hist.groupby("cycle_days", as_index=False)["deals"].sum()
    if len(h):
        width = max(1.0, float(np.ceil((h["cycle_days"].max() - h["cycle_days"].min() + 1) / 40)))
        bins = (h["cycle_days"] // width) * width
        g = h.groupby(bins)["deals"].sum()
        ax.bar(g.index, g.values, width=width * 0.9, align="edge", color=PALETTE[0])
    if median_days is not None and pd.notna(median_days):
        ax.axvline(median_days, color=PALETTE[3], ls="--")
        ax.set_title(f"Half of the closed deals take {median_days:.0f} days or less")
    else:
        ax.set_title("Sales cycle length of closed deals")
    ax.set_xlabel("Days from created to closed")
    ax.set_ylabel("Closed deals")
    return ax


def win_rate_ci(
    table: pd.DataFrame, label_col: str, overall: float | None = None, ax=None, top: int = 25
):
    """Dots with Wilson intervals per group (``win_rate, ci_low, ci_high``); dashed line = overall.

    An interval a rounding error short of its rate (at 0 % or 100 %) is drawn as reaching it.
    """
    t = table.head(top).iloc[::-1]
    ax = new_ax(ax, figsize=(8, 0.3 * len(t) + 1.5))
    y = np.arange(len(t))
    below = (t["win_rate"] - t["ci_low"]).clip(lower=0.0)
    above = (t["ci_high"] - t["win_rate"]).clip(lower=0.0)
    ax.errorbar(
        t["win_rate"],
        y,
        xerr=[below.to_numpy(float), above.to_numpy(float)],
        fmt="o",
        color=PALETTE[0],
        ecolor=PALETTE[9],
        capsize=3,
    )
    ax.set_yticks(y, t[label_col].astype(str))
    if overall is not None and pd.notna(overall):
        ax.axvline(overall, color=PALETTE[3], ls="--", label=f"overall {overall:.0%}")
        ax.legend(loc="lower right")
    pct_axis(ax, "x")
    ax.set_xlabel("Win rate, won ÷ closed (95 % Wilson interval)")
    spread = (t["ci_low"] > (overall or 0)).sum() if overall is not None else 0
    ax.set_title(
        f"Win rate by {label_col}: {spread} clearly above overall"
        if overall is not None
        else f"Win rate by {label_col}"
    )
    return ax


def cohort_win_rates(cohorts: pd.DataFrame, ax=None):
    """Deals created per month (bars) and their win rate so far (line)."""
    ax = new_ax(ax)
    x = np.arange(len(cohorts))
    ax.bar(x, cohorts["deals"], color=PALETTE[9], label="deals created")
    ax.set_ylabel("Deals created")
    ax2 = ax.twinx()
    ax2.plot(x, cohorts["win_rate"], color=PALETTE[0], marker="o", label="win rate so far")
    pct_axis(ax2)
    ax2.set_ylabel("Win rate so far")
    step = max(1, len(x) // 12)
    ax.set_xticks(
        x[::step], cohorts["cohort_month"].astype(str).iloc[::step], rotation=45, ha="right"
    )
    ax.set_xlabel("Creation month")
    ax.set_title("Deal cohorts by creation month")
    return ax


def forecast_by_stage(forecast: pd.DataFrame, currency: str = "USD", ax=None):
    """Open pipeline value per stage and its stage-weighted expected value."""
    ax = new_ax(ax)
    x = np.arange(len(forecast))
    ax.bar(x - 0.2, forecast["value"], width=0.4, color=PALETTE[9], label="open pipeline")
    if forecast["expected"].notna().any():  # a stage without a win probability gets no bar
        ax.bar(x + 0.2, forecast["expected"], width=0.4, color=PALETTE[0], label="expected to win")
    ax.set_xticks(x, forecast["stage"].astype(str))
    ax.set_xlabel("Stage")
    ax.set_ylabel("Value")
    money_axis(ax, currency=currency)
    ax.legend()
    if forecast["expected"].isna().all():
        ax.set_title(
            f"Open pipeline: {money(forecast['value'].sum(), currency)} (no win probabilities yet)"
        )
    else:
        ax.set_title(
            f"Stage-weighted forecast: {money(forecast['expected'].sum(), currency)} "
            "expected from the pipeline"
        )
    return ax
