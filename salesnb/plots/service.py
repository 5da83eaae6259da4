"""Charts of the after-sales service study (house style; each returns its Axes)."""

from __future__ import annotations

import pandas as pd

from salesnb.formatting import p_value
from salesnb.i18n import N_, _
from salesnb.plots import PALETTE, new_ax, pct_axis

# the splits a breach chart is drawn by, named on its axis
_SPLITS = {"priority": N_("Priority"), "category": N_("Category")}


def breach_by(summary: pd.DataFrame, by: str, target: float = 0.05, ax=None):
    """Horizontal bars of SLA breach rate per ``by`` value, with the target line."""
    ax = new_ax(ax)
    d = summary.sort_values("breach_rate")
    colors = [PALETTE[3] if v > target else PALETTE[2] for v in d["breach_rate"]]
    ax.barh(d[by].astype(str), d["breach_rate"], color=colors)
    ax.axvline(
        target,
        color="black",
        linestyle="--",
        linewidth=1,
        label=_("target {target}").format(target=f"{target:.0%}"),
    )
    worst = d.iloc[-1]
    ax.set_title(
        _("{worst} breaches the response SLA most ({rate})").format(
            worst=worst[by], rate=f"{worst['breach_rate']:.0%}"
        )
    )
    ax.set_xlabel(_("Tickets answered later than the SLA (%)"))
    ax.set_ylabel(_(_SPLITS[by]) if by in _SPLITS else by.replace("_", " ").capitalize())
    pct_axis(ax, "x")
    ax.legend(loc="lower right")
    return ax


def nps_trend(by_month: pd.DataFrame, ax=None):
    """NPS per month with its 95% interval."""
    ax = new_ax(ax)
    x = by_month["month"].astype(str)
    ax.plot(x, by_month["nps"], marker="o", color=PALETTE[0])
    ax.fill_between(x, by_month["low"], by_month["high"], color=PALETTE[0], alpha=0.15)
    ax.axhline(0, color="grey", linewidth=0.8)
    first, last = by_month["nps"].iloc[0], by_month["nps"].iloc[-1]
    if last > first:
        title = _("NPS rose from {first} to {last} over the period")
    elif last < first:
        title = _("NPS fell from {first} to {last} over the period")
    else:
        title = _("NPS held from {first} to {last} over the period")
    ax.set_title(title.format(first=f"{first:.0f}", last=f"{last:.0f}"))
    ax.set_ylabel(_("NPS (points, -100..100)"))
    ax.set_xlabel(_("Month"))
    return ax


def resolution_hist(tickets: pd.DataFrame, ax=None):
    """Distribution of resolution time in days."""
    ax = new_ax(ax)
    days = tickets["resolution_hours"].dropna() / 24.0
    ax.hist(days, bins=30, color=PALETTE[4])
    med = float(days.median()) if len(days) else float("nan")
    ax.axvline(med, color="black", linestyle="--", linewidth=1)
    ax.set_title(_("Half of the tickets are resolved within {days} days").format(days=f"{med:.1f}"))
    ax.set_xlabel(_("Time to resolve (days)"))
    ax.set_ylabel(_("Tickets"))
    return ax


#: Display formats of the service study's tables (rates, hours, scores; p-values as
#: ``p < 0.001``, never in scientific notation).
TABLE_FORMAT = {
    **dict.fromkeys(
        ("breach_rate", "breach_low", "breach_high", "promoters_pct", "detractors_pct"), "{:.1%}"
    ),
    **dict.fromkeys(("median_first_response_hours", "median_resolution_hours"), "{:.1f}"),
    "csat_avg": "{:.2f}",
    **dict.fromkeys(("nps", "low", "high"), "{:.1f}"),
    **dict.fromkeys(("tickets", "open_tickets", "responses"), "{:,.0f}"),
    "nps_avg": "{:.1f}",
}

#: Display formats of the CSAT drivers' table (effects and their interval in CSAT points).
DRIVER_FORMAT = {
    **dict.fromkeys(("effect", "low", "high"), "{:+.2f}"),
    "p_value": p_value,
}

#: Readable headers of the study's tables, shown instead of the column names on a page
#: that is not in English (the English page keeps the column names).
HEADERS = {
    "priority": N_("Priority"),
    "category": N_("Category"),
    "touchpoint": N_("Touchpoint"),
    "tickets": N_("Tickets"),
    "breach_rate": N_("SLA breach rate"),
    "breach_low": N_("Breach rate, 95% low"),
    "breach_high": N_("Breach rate, 95% high"),
    "median_first_response_hours": N_("Median first response (h)"),
    "median_resolution_hours": N_("Median resolution (h)"),
    "csat_avg": N_("Mean CSAT"),
    "open_tickets": N_("Open tickets"),
    "driver": N_("Driver"),
    "effect": N_("Effect on CSAT"),
    "low": N_("95% low"),
    "high": N_("95% high"),
    "p_value": N_("p-value"),
    "responses": N_("Responses"),
    "nps": N_("NPS"),
    "promoters_pct": N_("Promoters"),
    "detractors_pct": N_("Detractors"),
    "comment": N_("Comment"),
    "nps_avg": N_("Mean NPS"),
}


def table(styler, formats: dict | None = None):
    """A service table for the page: formatted (:data:`TABLE_FORMAT`, or ``formats``), the
    index hidden, and on a page not in English readable translated headers and drivers."""
    from salesnb.plots.targets import localise

    cols = set(styler.data.columns)
    fmt = {k: v for k, v in (TABLE_FORMAT if formats is None else formats).items() if k in cols}
    styler = styler.format(fmt, na_rep="–").hide(axis="index")
    return localise(styler, HEADERS, values=("driver",))
