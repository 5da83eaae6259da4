"""Charts of the after-sales service study (house style; each returns its Axes)."""

from __future__ import annotations

import pandas as pd

from salesnb.plots import PALETTE, new_ax, pct_axis


def breach_by(summary: pd.DataFrame, by: str, target: float = 0.05, ax=None):
    """Horizontal bars of SLA breach rate per ``by`` value, with the target line."""
    ax = new_ax(ax)
    d = summary.sort_values("breach_rate")
    colors = [PALETTE[3] if v > target else PALETTE[2] for v in d["breach_rate"]]
    ax.barh(d[by].astype(str), d["breach_rate"], color=colors)
    ax.axvline(target, color="black", linestyle="--", linewidth=1, label=f"target {target:.0%}")
    worst = d.iloc[-1]
    ax.set_title(f"{worst[by]} breaches the response SLA most ({worst['breach_rate']:.0%})")
    ax.set_xlabel("Tickets answered later than the SLA (%)")
    ax.set_ylabel(by.replace("_", " ").capitalize())
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
    trend = "rose" if last > first else "fell" if last < first else "held"
    ax.set_title(f"NPS {trend} from {first:.0f} to {last:.0f} over the period")
    ax.set_ylabel("NPS (points, -100..100)")
    ax.set_xlabel("Month")
    return ax


def resolution_hist(tickets: pd.DataFrame, ax=None):
    """Distribution of resolution time in days."""
    ax = new_ax(ax)
    days = tickets["resolution_hours"].dropna() / 24.0
    ax.hist(days, bins=30, color=PALETTE[4])
    med = float(days.median()) if len(days) else float("nan")
    ax.axvline(med, color="black", linestyle="--", linewidth=1)
    ax.set_title(f"Half of the tickets are resolved within {med:.1f} days")
    ax.set_xlabel("Time to resolve (days)")
    ax.set_ylabel("Tickets")
    return ax


#: Display formats of the service study's tables (rates, hours, scores).
TABLE_FORMAT = {
    **dict.fromkeys(
        ("breach_rate", "breach_low", "breach_high", "promoters_pct", "detractors_pct"), "{:.1%}"
    ),
    **dict.fromkeys(("median_first_response_hours", "median_resolution_hours"), "{:.1f}"),
    "csat_avg": "{:.2f}",
    **dict.fromkeys(("nps", "low", "high"), "{:.1f}"),
    **dict.fromkeys(("tickets", "open_tickets", "responses"), "{:,.0f}"),
}
