"""Funnel charts: step counts, stage conversion vs dwell, cycle-time histogram, win rates with CIs.

Also :func:`table_view`, the study's tables as shown on the page (rates in %, a dash and a
caption where a figure cannot be computed, never "nan").
"""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd

from salesnb.formatting import money
from salesnb.i18n import N_, _, language, period_label
from salesnb.metrics.funnel import STEPS
from salesnb.plots import PALETTE, money_axis, new_ax, pct_axis

#: readable headers of the funnel's and the deals study's tables on a page not in English
#: (in English the tables keep their column names, as in the CSVs)
HEADERS = {
    "stage": N_("Stage"),
    "entered": N_("Entered"),
    "advanced": N_("Moved on"),
    "leaked": N_("Lost"),
    "still_open": N_("Still open"),
    "conversion": N_("Conversion"),
    "win_from_stage": N_("Win rate from stage"),
    "median_dwell_days": N_("Median days in stage"),
    "mean_dwell_days": N_("Mean days in stage"),
    "source": N_("Lead source"),
    "leads": N_("Leads"),
    "converted": N_("Converted"),
    "deals": N_("Deals"),
    "amount": N_("Amount"),
    "with_amount": N_("Deals with an amount"),
    "value": N_("Pipeline value"),
    "probability": N_("Win probability"),
    "expected": N_("Expected to win"),
    "rep": N_("Rep"),
    "closed": N_("Closed"),
    "won": N_("Won"),
    "lost": N_("Lost"),
    "open": N_("Open"),
    "win_rate": N_("Win rate"),
    "ci_low": N_("Interval low"),
    "ci_high": N_("Interval high"),
    "cohort_month": N_("Creation month"),
    "won_amount": N_("Won amount"),
    "open_share": N_("Share still open"),
    "method": N_("Method"),
    "auc": N_("AUC"),
    "brier": N_("Brier score"),
    "driver": N_("Driver"),
    "coefficient": N_("Coefficient"),
    "odds_ratio": N_("Odds ratio"),
    "or_low": N_("Odds ratio low"),
    "or_high": N_("Odds ratio high"),
    "opportunity_id": N_("Deal"),
    "customer_id": N_("Customer"),
    "days_in_stage": N_("Days in stage"),
    "win_probability": N_("Win probability"),
    "expected_close_date": N_("Expected close date"),
    "team": N_("Team"),
    "calls": N_("Calls"),
    "periods": N_("Periods"),
    "calls_mape": N_("Calls: mean absolute error"),
    "calls_bias": N_("Calls: mean error"),
    "median_error": N_("Median error"),
    "style": N_("Call style"),
    "calls_mape_holdout": N_("Calls: error since the cut"),
    "stage_weighted_mape_holdout": N_("Stage-weighted pipeline: error since the cut"),
    "model_mape_holdout": N_("Win-model pipeline: error since the cut"),
    "mape": N_("Mean absolute error"),
    "bias": N_("Mean error"),
    "p80_days": N_("Usual days in stage (threshold)"),
}
#: columns whose text values are the product's words (translated on the page), not the data's
TRANSLATED_VALUES = ("method", "style")
NOT_COMPUTABLE = N_("not computable from the data in scope")


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
    names = {"leads": _("leads"), "stages": _("deals by stage reached"), "won": _("deals won")}
    names.update(scopes or {})
    for s in order:
        mask = (scope == s).to_numpy()
        ax.barh(y[mask], steps["count"][mask], color=colour[s], label=names.get(s, s))
    if len(order) > 1:
        ax.legend(loc="lower right", fontsize=8)
    ax.set_yticks(y, [_(s) if s in STEPS else s for s in steps["step"]])
    for yi, n, conv in zip(
        y, steps["count"], steps.get("step_conversion", [np.nan] * len(steps)), strict=True
    ):
        label = f"{n:,.0f}" + (
            _("  ({share} of previous)").format(share=f"{conv:.0%}") if pd.notna(conv) else ""
        )
        ax.text(n, yi, " " + label, va="center", fontsize=9)
    ax.set_xlabel(_("Leads / deals"))
    if title is None:
        title = _("From lead to won, step by step")
        stages = steps[scope.eq("stages").to_numpy()]
        if len(stages) > 1 and stages["step"].iloc[-1] == "Won" and stages["count"].iloc[0] > 0:
            share = stages["count"].iloc[-1] / stages["count"].iloc[0]
            title = _("{share} of deals entering {stage} end up won").format(
                share=f"{share:.0%}", stage=stages["step"].iloc[0]
            )
    ax.set_title(title)
    ax.margins(x=0.3)
    return ax


def table_view(
    frame: pd.DataFrame,
    pct=(),
    money=(),
    days=(),
    missing: str = NOT_COMPUTABLE,
):
    """``frame`` formatted for the page: ``pct`` columns in %, ``money`` with thousands
    separators, ``days`` to one decimal; an empty cell shows a dash, and a caption says what a
    dash stands for (``missing``, ``N_``-marked) when the table has one. Returns a pandas
    Styler. On a page not in English the headers are readable words (:data:`HEADERS`) and the
    product's words in the cells (methods, call styles) are translated."""
    fmt = {c: "{:.1%}" for c in pct if c in frame.columns}
    fmt.update({c: "{:,.0f}" for c in money if c in frame.columns})
    fmt.update({c: "{:,.1f}" for c in days if c in frame.columns})
    # a fixed id (from the columns) instead of pandas' random one: the same data, the same page
    uuid = hashlib.md5("|".join(map(str, frame.columns)).encode()).hexdigest()[:8]
    frame = _product_words(frame)
    view = frame.style.set_uuid(uuid).format(na_rep="–", precision=2).format(fmt, na_rep="–")
    view = view.hide(axis="index")
    if frame.isna().to_numpy().any():
        view = view.set_caption(f"– : {_(missing)}")
    return _localised(view, list(frame.columns))


def _product_words(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with the product's words in its cells (:data:`TRANSLATED_VALUES`) in the
    page's language (the same frame in English)."""
    cols = [c for c in TRANSLATED_VALUES if c in frame.columns]
    if language() == "en" or not cols:
        return frame
    return frame.assign(**{c: [_(v) if isinstance(v, str) else v for v in frame[c]] for c in cols})


def _localised(view, cols: list):
    """``view`` with readable headers in the page's language."""
    labels = [_(HEADERS[c]) if c in HEADERS else str(c) for c in cols]
    return view.relabel_index(labels, axis="columns")


def stage_conversion_dwell(conversion: pd.DataFrame, bottleneck: str | None = None, ax=None):
    """Bars: stage-to-next conversion; labels: median dwell days. The bottleneck is highlighted."""
    ax = new_ax(ax)
    colors = [PALETTE[3] if s == bottleneck else PALETTE[0] for s in conversion["stage"]]
    ax.bar(conversion["stage"].astype(str), conversion["conversion"], color=colors)
    for i, (c, d) in enumerate(
        zip(conversion["conversion"], conversion["median_dwell_days"], strict=True)
    ):
        if pd.isna(c):  # no deal moved on from or was lost at this stage yet
            label = _("no outcome yet")
        else:
            label = f"{c:.0%}" + (
                "\n" + _("{days} d median").format(days=f"{d:.0f}") if pd.notna(d) else ""
            )
        ax.text(i, 0.0 if pd.isna(c) else c, label, ha="center", va="bottom", fontsize=9)
    pct_axis(ax)
    ax.set_ylim(0, 1.15)
    ax.set_ylabel(_("Moved on to a later stage (%)"))
    ax.set_xlabel(_("Stage"))
    ax.set_title(
        _("Deals stall and leak at {stage}").format(stage=bottleneck)
        if bottleneck
        else _("Stage-to-next conversion")
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
        ax.set_title(
            _("Half of the closed deals take {days} days or less").format(days=f"{median_days:.0f}")
        )
    else:
        ax.set_title(_("Sales cycle length of closed deals"))
    ax.set_xlabel(_("Days from created to closed"))
    ax.set_ylabel(_("Closed deals"))
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
        ax.axvline(
            overall,
            color=PALETTE[3],
            ls="--",
            label=_("overall {rate}").format(rate=f"{overall:.0%}"),
        )
        ax.legend(loc="lower right")
    pct_axis(ax, "x")
    ax.set_xlabel(_("Win rate, won ÷ closed (95 % Wilson interval)"))
    spread = (t["ci_low"] > (overall or 0)).sum() if overall is not None else 0
    ax.set_title(
        _("Win rate by {dimension}: {n} clearly above overall").format(
            dimension=_(label_col), n=spread
        )
        if overall is not None
        else _("Win rate by {dimension}").format(dimension=_(label_col))
    )
    return ax


def cohort_win_rates(cohorts: pd.DataFrame, ax=None):
    """Deals created per month (bars) and their win rate so far (line)."""
    ax = new_ax(ax)
    x = np.arange(len(cohorts))
    ax.bar(x, cohorts["deals"], color=PALETTE[9], label=_("deals created"))
    ax.set_ylabel(_("Deals created"))
    ax2 = ax.twinx()
    ax2.plot(x, cohorts["win_rate"], color=PALETTE[0], marker="o", label=_("win rate so far"))
    pct_axis(ax2)
    ax2.set_ylabel(_("Win rate so far"))
    step = max(1, len(x) // 12)
    months = [period_label(m) for m in cohorts["cohort_month"].astype(str).iloc[::step]]
    ax.set_xticks(x[::step], months, rotation=45, ha="right")
    ax.set_xlabel(_("Creation month"))
    ax.set_title(_("Deal cohorts by creation month"))
    return ax


def forecast_by_stage(forecast: pd.DataFrame, currency: str = "USD", ax=None):
    """Open pipeline value per stage and its stage-weighted expected value."""
    ax = new_ax(ax)
    x = np.arange(len(forecast))
    ax.bar(x - 0.2, forecast["value"], width=0.4, color=PALETTE[9], label=_("open pipeline"))
    if forecast["expected"].notna().any():  # a stage without a win probability gets no bar
        ax.bar(
            x + 0.2, forecast["expected"], width=0.4, color=PALETTE[0], label=_("expected to win")
        )
    ax.set_xticks(x, forecast["stage"].astype(str))
    ax.set_xlabel(_("Stage"))
    ax.set_ylabel(_("Value"))
    money_axis(ax, currency=currency)
    ax.legend()
    if forecast["expected"].isna().all():
        ax.set_title(
            _("Open pipeline: {amount} (no win probabilities yet)").format(
                amount=money(forecast["value"].sum(), currency)
            )
        )
    else:
        ax.set_title(
            _("Stage-weighted forecast: {amount} expected from the pipeline").format(
                amount=money(forecast["expected"].sum(), currency)
            )
        )
    return ax
