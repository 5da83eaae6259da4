"""Deal charts: calibration of win probabilities, drivers, forecast-call styles, stuck deals.

Tables on the page use :func:`salesnb.plots.funnel.table_view` (one formatting rule for
every study's tables: rates in %, a dash and a caption where a figure cannot be computed).
"""

from __future__ import annotations

import matplotlib.ticker as mticker
import numpy as np
import pandas as pd
from matplotlib.patches import Patch

from salesnb.i18n import _, plural
from salesnb.metrics.deal_calls import METHOD_LABELS
from salesnb.model.people import rep_labels
from salesnb.plots import PALETTE, money_axis, new_ax, pct_axis, short_money

#: one colour per forecast-call style, the same in every chart
STYLE_COLORS = {
    "sandbagger": PALETTE[0],
    "over-promiser": PALETTE[3],
    "accurate": PALETTE[9],
    "unknown": PALETTE[9],
}
METHOD_COLORS = {"Win model": PALETTE[0], "Stage baseline": PALETTE[1]}


def calibration_chart(calibration: pd.DataFrame, comparison: pd.DataFrame | None = None, ax=None):
    """Predicted against observed win rate per decile of the hold-out, one line per method.

    ``calibration``: ``method, predicted, observed`` (:func:`~salesnb.metrics.deals.calibration_both`);
    ``comparison`` (optional): ``method, auc`` to state the finding in the title.
    """
    ax = new_ax(ax, figsize=(6, 5))
    ax.plot([0, 1], [0, 1], ls="--", color=PALETTE[9], lw=1, label=_("perfect calibration"))
    for i, (method, g) in enumerate(calibration.groupby("method", sort=False)):
        ax.plot(
            g["predicted"],
            g["observed"],
            marker="o",
            color=METHOD_COLORS.get(method, PALETTE[i % len(PALETTE)]),
            label=_(method),
        )
    hi = float(np.nanmax(calibration[["predicted", "observed"]].to_numpy(float), initial=0.0))
    lim = min(1.0, max(0.1, hi * 1.1))
    ax.set_xlim(0, lim)
    ax.set_ylim(0, lim)
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    ax.set_xlabel(_("Predicted win probability (hold-out decile mean)"))
    ax.set_ylabel(_("Share of those deals won"))
    ax.legend(loc="upper left", fontsize=8)
    title = _("Hold-out: predicted against observed win rate")
    if comparison is not None and len(comparison) == 2 and comparison["auc"].notna().all():
        m, s = comparison["auc"].to_numpy(float)
        title = (
            _("The win model ranks deals better than fixed stage odds (AUC {model} vs {stage})")
            if m > s + 0.0005
            else _(
                "The win model ranks deals no better than fixed stage odds (AUC {model} vs {stage})"
            )
        ).format(model=f"{m:.3f}", stage=f"{s:.3f}")
    ax.set_title(title)
    return ax


def driver_chart(drivers: pd.DataFrame, ax=None):
    """Odds ratios with 95 % intervals of the largest drivers (log scale; 1 = no effect)."""
    d = drivers.iloc[::-1]
    ax = new_ax(ax, figsize=(8, 0.35 * len(d) + 1.5))
    y = np.arange(len(d))
    colours = [PALETTE[2] if v >= 1 else PALETTE[3] for v in d["odds_ratio"]]
    ax.errorbar(
        d["odds_ratio"],
        y,
        xerr=[
            (d["odds_ratio"] - d["or_low"]).clip(lower=0).to_numpy(float),
            (d["or_high"] - d["odds_ratio"]).clip(lower=0).to_numpy(float),
        ],
        fmt="none",
        ecolor=PALETTE[9],
        capsize=3,
    )
    ax.scatter(d["odds_ratio"], y, color=colours, zorder=3)
    ax.axvline(1.0, color=PALETTE[9], ls="--", lw=1)
    ax.set_xscale("log")
    ax.xaxis.set_major_locator(mticker.LogLocator(base=10, subs=(1.0, 2.0, 5.0)))
    ax.xaxis.set_major_formatter(mticker.FuncFormatter(lambda v, _pos: f"x{v:g}"))
    ax.xaxis.set_minor_formatter(mticker.NullFormatter())
    ax.set_yticks(y, d["driver"].astype(str))
    ax.set_xlabel(_("Odds of winning, multiplied by (95 % interval, log scale)"))
    if len(drivers):
        top = drivers.iloc[0]
        ax.set_title(
            _("Largest driver: {driver} (odds x{ratio})").format(
                driver=top["driver"], ratio=f"{top['odds_ratio']:.2f}"
            )
        )
    else:
        ax.set_title(_("Drivers of the win probability"))
    return ax


def call_bias_chart(board: pd.DataFrame, threshold: float = 0.10, ax=None):
    """Each rep's average error of commit against the outcome, coloured by call style."""
    b = board.sort_values("calls_bias", kind="stable")
    ax = new_ax(ax, figsize=(8, 0.16 * len(b) + 1.6))
    y = np.arange(len(b))
    ax.barh(y, b["calls_bias"], color=[STYLE_COLORS.get(s, PALETTE[9]) for s in b["style"]])
    for v in (-threshold, threshold):
        ax.axvline(v, color=PALETTE[9], ls="--", lw=1)
    ax.set_yticks(y, rep_labels(b.rename(columns={"rep": "name"})), fontsize=7)
    pct_axis(ax, "x")
    ax.set_xlabel(
        _("Average (commit - outcome) / outcome: below 0 = sandbagging, above = over-promising")
    )
    counts = b["style"].value_counts()
    sand, over = int(counts.get("sandbagger", 0)), int(counts.get("over-promiser", 0))
    handles = [
        Patch(color=STYLE_COLORS[s], label=_(s))
        for s in ("sandbagger", "accurate", "over-promiser")
    ]
    ax.legend(handles=handles, loc="lower right", fontsize=8)
    ax.set_title(
        _("{sandbaggers}, {over_promisers}; {n} call accurately").format(
            sandbaggers=plural(sand, "{n} rep sandbag", "{n} reps sandbag").format(n=sand),
            over_promisers=plural(over, "{n} over-promises", "{n} over-promise").format(n=over),
            n=int(counts.get("accurate", 0)),
        )
    )
    return ax


def forecast_error_chart(errors: pd.DataFrame, ax=None):
    """Mean absolute % error of each forecast method on the same calls."""
    names = {m: _(label) for m, label in METHOD_LABELS.items()}
    ax = new_ax(ax, figsize=(7, 3))
    e = errors.dropna(subset=["mape"])
    y = np.arange(len(e))
    ax.barh(y, e["mape"], color=[PALETTE[i] for i in range(len(e))])
    ax.set_yticks(y, [names.get(m, m) for m in e["method"]])
    for yi, v in zip(y, e["mape"], strict=True):
        ax.text(v, yi, f" {v:.0%}", va="center", fontsize=9)
    pct_axis(ax, "x")
    ax.set_xlabel(_("Mean absolute error against the period's won amount"))
    ax.invert_yaxis()
    ax.margins(x=0.15)
    if len(e):
        best = e.loc[e["mape"].idxmin()]
        ax.set_title(
            _("{method} missed least ({error})").format(
                method=names.get(best["method"], best["method"]), error=f"{best['mape']:.0%}"
            )
        )
    return ax


def stuck_chart(stuck: pd.DataFrame, thresholds: pd.DataFrame, currency: str = "USD", ax=None):
    """Amount of the stuck deals per stage, labelled with their count and the stage's threshold."""
    ax = new_ax(ax, figsize=(8, 3.5))
    g = stuck.groupby("stage").agg(deals=("opportunity_id", "size"), amount=("amount", "sum"))
    g = g.join(thresholds.set_index("stage")["p80_days"]).sort_values("amount", ascending=False)
    x = np.arange(len(g))
    ax.bar(x, g["amount"], color=PALETTE[3])
    for xi, (n, a, p) in enumerate(zip(g["deals"], g["amount"], g["p80_days"], strict=True)):
        label = _("{n} deals\n> {days} days").format(n=f"{n:,}", days=f"{p:.0f}")
        ax.text(xi, a, label, ha="center", va="bottom", fontsize=8)
    ax.set_xticks(x, g.index.astype(str))
    ax.set_xlabel(_("Stage the deal is stuck in"))
    ax.set_ylabel(_("Amount of stuck deals"))
    money_axis(ax, currency=currency)
    ax.margins(y=0.2)
    if len(g):
        ax.set_title(
            _("{n} deals stuck, {amount} {currency}; most in {stage}").format(
                n=f"{int(g['deals'].sum()):,}",
                amount=short_money(float(g["amount"].sum())),
                currency=currency,
                stage=g.index[0],
            )
        )
    return ax
