"""Charts of the experiments study (house style; each returns its Axes)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.formatting import p_value, points
from salesnb.i18n import N_, _, language
from salesnb.plots import PALETTE, new_ax, pct_axis

# the groups of the trends chart and the pilot chart (labels drawn translated)
_GROUPS = (N_("trained"), N_("not trained"), N_("control"), N_("pilot"))


def training_trends(trends: pd.DataFrame, treat_month=None, ax=None, uplift: float | None = None):
    """Mean log revenue per month, trained vs not trained reps, with the training month marked."""
    ax = new_ax(ax)
    for i, (grp, g) in enumerate(trends.groupby("group")):
        ax.plot(g["month"], g["log_revenue"], label=_(grp), color=PALETTE[i], lw=1.6)
    if treat_month is not None and not pd.isna(treat_month):
        ax.axvline(pd.Timestamp(treat_month), color="black", ls="--", lw=1)
    ax.set_title(
        _("Trained reps sell {uplift} after training").format(uplift=f"{uplift:+.0%}")
        if uplift is not None
        else _("Revenue of trained and untrained reps")
    )
    ax.set_xlabel(_("Month"))
    ax.set_ylabel(_("Mean log revenue per rep-month"))
    ax.legend(fontsize=8)
    return ax


def event_study_plot(es: pd.DataFrame, ax=None, unit: str = "quarter"):
    """Effect by period relative to training with 95 % intervals; flat before = parallel trends."""
    ax = new_ax(ax)
    y = np.expm1(es["coef"])
    err = np.vstack([y - np.expm1(es["low"]), np.expm1(es["high"]) - y])
    ax.errorbar(es["rel_period"], y, yerr=err, fmt="o", color=PALETTE[0], capsize=3)
    ax.axhline(0, color="black", lw=0.8)
    ax.axvline(-0.5, color="grey", ls="--", lw=1)
    p = es.attrs.get("pre_p_value")
    if p is None or np.isnan(p):  # no joint test: every interval before training must hold 0
        pre = es[es["rel_period"] < -1]
        flat = bool(((pre["low"] <= 0) & (pre["high"] >= 0)).all()) if len(pre) else True
        note = ""
    else:
        flat, note = p >= 0.05, _(" (joint test {p})").format(p=p_value(p))
    ax.set_title(
        _("No difference before training{note}, a lift after").format(note=note)
        if flat
        else _("Trained reps already differed before training{note}").format(note=note)
    )
    if unit == "quarter":
        ax.set_xlabel(_("Quarters relative to training (-1 = reference)"))
    elif unit == "month":
        ax.set_xlabel(_("Months relative to training (-1 = reference)"))
    else:
        ax.set_xlabel(f"{unit.capitalize()}s relative to training (-1 = reference)")
    ax.set_ylabel(_("Revenue vs untrained reps"))
    pct_axis(ax, "y")
    return ax


def pilot_rates(result: dict, ax=None):
    """Win rate of pilot vs control deals with their 95 % Wilson intervals (valid at 0 % and 100 %)."""
    ax = new_ax(ax, figsize=(5, 4))
    rates = np.array([result["control_rate"], result["pilot_rate"]])
    low = np.array([result["control_ci_low"], result["pilot_ci_low"]])
    high = np.array([result["control_ci_high"], result["pilot_ci_high"]])
    err = np.vstack([(rates - low).clip(min=0.0), (high - rates).clip(min=0.0)])
    bars = [_("control"), _("pilot")]
    ax.bar(bars, rates, yerr=err, color=[PALETTE[9], PALETTE[0]], capsize=4)
    uplift = result["uplift"]
    ax.set_title(
        _("Pilot and control win rates cannot differ yet: not testable")
        if result["verdict"] == "not testable"
        else _("Pilot wins {uplift}: {verdict}").format(
            uplift=f"{uplift:+.1%} points" if language() == "en" else points(uplift),
            verdict=_(result["verdict"]),
        )
    )
    ax.set_ylabel(_("Win rate (won / closed deals)"))
    pct_axis(ax, "y")
    return ax


def power_curve_plot(curve: pd.DataFrame, n_per_group: int, mde: float, ax=None):
    """Power to detect each uplift with the planned deals per group."""
    ax = new_ax(ax)
    ax.plot(curve["uplift"], curve["power"], color=PALETTE[0], lw=2)
    ax.axhline(0.8, color="grey", ls="--", lw=1)
    ax.axvline(mde, color=PALETTE[3], ls=":", lw=1)
    ax.set_title(
        _("{n} deals per group detect a {mde}-point uplift 80 % of the time").format(
            n=f"{n_per_group:,}", mde=f"{mde:.0%}" if language() == "en" else f"{mde * 100:.0f}"
        )
    )
    ax.set_xlabel(_("True win-rate uplift (points)"))
    ax.set_ylabel(_("Power"))
    pct_axis(ax, "x")
    pct_axis(ax, "y")
    return ax
