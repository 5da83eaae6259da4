"""After-sales service and customer feedback: SLA, resolution, CSAT, NPS.

Pure functions over small frames (tickets and survey responses of one period,
fetched by ``salesnb.queries.service``). Business rules are arguments:
``DEFAULT_SLA_HOURS`` sets the first-response promise per priority.

NPS is computed by hand (promoters 9-10 minus detractors 0-6, in points)
because it is a two-line definition no statistics library carries; its
confidence interval uses the standard multinomial variance.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd

from salesnb.i18n import N_, _
from salesnb.metrics import require_columns

# First-response promise, in hours, by ticket priority.
DEFAULT_SLA_HOURS = {"Urgent": 4.0, "High": 8.0, "Medium": 24.0, "Low": 48.0}
DEFAULT_SLA_FALLBACK_HOURS = 24.0


def sla_table(
    tickets: pd.DataFrame,
    sla_hours: dict | None = None,
    fallback_hours: float = DEFAULT_SLA_FALLBACK_HOURS,
) -> pd.DataFrame:
    """Per ticket: the SLA in hours and whether the first response breached it.

    Expects ``priority, first_response_hours`` (hours from opening to first response;
    NaN = no response yet). Returns a copy with ``sla_hours`` and ``breached`` added;
    a ticket with no response counts as breached.

    >>> t = pd.DataFrame({"priority": ["High", "Low"], "first_response_hours": [9.0, 3.0]})
    >>> sla_table(t)["breached"].tolist()
    [True, False]
    """
    require_columns(tickets, ["priority", "first_response_hours"], "sla_table")
    rules = DEFAULT_SLA_HOURS if sla_hours is None else sla_hours
    out = tickets.copy()
    out["sla_hours"] = out["priority"].map(rules).astype("float64").fillna(fallback_hours)
    frh = out["first_response_hours"].astype("float64")
    out["breached"] = frh.isna() | (frh > out["sla_hours"])
    return out


def service_summary(
    tickets: pd.DataFrame, by: str | None = None, sla_hours: dict | None = None
) -> pd.DataFrame:
    """Tickets, SLA breach rate, median response/resolution hours and mean CSAT (per ``by``).

    Expects ``priority, first_response_hours, resolution_hours, csat`` (+ ``by``).
    Columns returned: ``tickets, breach_rate, breach_low, breach_high`` (95 % Wilson interval,
    inside [0, 1] and not empty at 0 % or 100 %), ``median_first_response_hours,
    median_resolution_hours, csat_avg, open_tickets``.
    """
    from statsmodels.stats.proportion import proportion_confint

    require_columns(
        tickets, ["priority", "first_response_hours", "resolution_hours", "csat"], "service_summary"
    )
    t = sla_table(tickets, sla_hours)
    keys = [by] if by else (lambda _: 0)
    g = t.groupby(keys, dropna=False)
    out = pd.DataFrame(
        {
            "tickets": g.size(),
            "breach_rate": g["breached"].mean(),
            "median_first_response_hours": g["first_response_hours"].median(),
            "median_resolution_hours": g["resolution_hours"].median(),
            "csat_avg": g["csat"].mean(),
            "open_tickets": g["resolution_hours"].apply(lambda s: int(s.isna().sum())),
        }
    )
    low, high = proportion_confint(g["breached"].sum(), out["tickets"], alpha=0.05, method="wilson")
    out.insert(2, "breach_low", np.clip(np.asarray(low, float), 0.0, 1.0))
    out.insert(3, "breach_high", np.clip(np.asarray(high, float), 0.0, 1.0))
    out = out.reset_index(drop=by is None)
    return out.sort_values("breach_rate", ascending=False).reset_index(drop=True) if by else out


def nps(scores: pd.Series) -> dict:
    """Net Promoter Score in points (-100..100) with a 95% interval.

    The interval is the normal (multinomial) one, clipped to -100..100. When every response
    falls in one group (all promoters, all passives or all detractors) that interval has no
    width; the Wilson interval of the score rescaled to 0..1 is used instead, so 4 promoters
    out of 4 give 100 with a wide interval, not 100 .. 100.

    >>> nps(pd.Series([10, 9, 8, 7, 6, 0]))["nps"]
    0.0
    >>> round(nps(pd.Series([10, 10, 10, 9]))["low"], 1)
    2.0
    """
    from statsmodels.stats.proportion import proportion_confint

    s = pd.Series(scores, dtype="float64").dropna()
    n = len(s)
    if n == 0:
        return {
            "nps": float("nan"),
            "low": float("nan"),
            "high": float("nan"),
            "responses": 0,
            "promoters_pct": float("nan"),
            "detractors_pct": float("nan"),
        }
    p = float((s >= 9).mean())
    d = float((s <= 6).mean())
    score = 100.0 * (p - d)
    var = max(p + d - (p - d) ** 2, 0.0)
    if var > 0:
        se = 100.0 * math.sqrt(var / n)
        low, high = max(score - 1.96 * se, -100.0), min(score + 1.96 * se, 100.0)
    else:
        # one group only: Wilson on (score + 100) / 200, a share in 0..1, mapped back
        lo, hi = proportion_confint((score + 100.0) / 200.0 * n, n, alpha=0.05, method="wilson")
        low, high = 200.0 * max(float(lo), 0.0) - 100.0, 200.0 * min(float(hi), 1.0) - 100.0
    return {
        "nps": round(score, 6),
        "low": low,
        "high": high,
        "responses": n,
        "promoters_pct": p,
        "detractors_pct": d,
    }


def nps_by(surveys: pd.DataFrame, by: str) -> pd.DataFrame:
    """NPS, its interval and mean CSAT per value of ``by`` (e.g. touchpoint or month)."""
    require_columns(surveys, ["nps", by], "nps_by")
    rows = []
    for key, grp in surveys.groupby(by, dropna=False):
        r = nps(grp["nps"])
        r[by] = key
        r["csat_avg"] = float(grp["csat"].mean()) if "csat" in grp else float("nan")
        rows.append(r)
    cols = [by, "responses", "nps", "low", "high", "promoters_pct", "detractors_pct", "csat_avg"]
    return pd.DataFrame(rows, columns=cols).sort_values(by).reset_index(drop=True)


# the drivers by their model term; the labels are what a page shows (translated there)
CSAT_DRIVERS = {
    "resolution_days": N_("each extra day to resolve"),
    "breached": N_("a breached first response"),
}


def csat_driver_gaps(tickets: pd.DataFrame, min_tickets: int = 10) -> dict:
    """Why each CSAT driver cannot be estimated (``{driver label: reason}``, both in the page's
    language; empty: all can).

    A driver that never varies (every ticket breached, or none) has no effect to measure; with
    fewer than ``min_tickets`` rated and resolved tickets, or a CSAT that never varies, nothing
    can be estimated.

    >>> t = pd.DataFrame({"csat": [1.0, 5.0] * 6, "resolution_hours": range(12), "breached": True})
    >>> csat_driver_gaps(t)
    {'a breached first response': 'every ticket breached its first-response SLA'}
    """
    require_columns(tickets, ["csat", "resolution_hours", "breached"], "csat_driver_gaps")
    d = tickets.dropna(subset=["csat", "resolution_hours"])
    labels = [_(label) for label in CSAT_DRIVERS.values()]
    if len(d) < min_tickets:
        why = _(
            "only {n} tickets with both a CSAT score and a resolution time (needs {needed})"
        ).format(n=len(d), needed=min_tickets)
        return dict.fromkeys(labels, why)
    if d["csat"].nunique() < 2:
        return dict.fromkeys(labels, _("every rated ticket has the same CSAT score"))
    gaps = {}
    if d["resolution_hours"].nunique() < 2:
        gaps[_(CSAT_DRIVERS["resolution_days"])] = _("every ticket took the same time to resolve")
    breached = d["breached"].astype(bool)
    if breached.all() or not breached.any():
        gaps[_(CSAT_DRIVERS["breached"])] = (
            _("every ticket breached its first-response SLA")
            if breached.all()
            else _("no ticket breached its first-response SLA")
        )
    return gaps


def csat_drivers(tickets: pd.DataFrame, min_tickets: int = 10) -> pd.DataFrame:
    """How CSAT moves with resolution time and an SLA breach: OLS with 95% intervals.

    Expects ``csat, resolution_hours, breached`` (from :func:`sla_table`). Returns one row per
    driver that can be estimated: ``driver, effect, low, high, p_value`` (effect in CSAT points
    per day of resolution, and for a breached first response); :func:`csat_driver_gaps` says
    why a driver is missing.
    """
    import statsmodels.formula.api as smf

    require_columns(tickets, ["csat", "resolution_hours", "breached"], "csat_drivers")
    gaps = csat_driver_gaps(tickets, min_tickets)
    terms = [name for name, label in CSAT_DRIVERS.items() if _(label) not in gaps]
    if not terms:
        return pd.DataFrame(columns=["driver", "effect", "low", "high", "p_value"])
    d = tickets.dropna(subset=["csat", "resolution_hours"]).copy()
    d["resolution_days"] = d["resolution_hours"] / 24.0
    d["breached"] = d["breached"].astype(float)
    fit = smf.ols("csat ~ " + " + ".join(terms), data=d).fit()
    ci = fit.conf_int()
    rows = []
    for name in terms:
        rows.append(
            {
                "driver": CSAT_DRIVERS[name],
                "effect": fit.params[name],
                "low": ci.loc[name, 0],
                "high": ci.loc[name, 1],
                "p_value": fit.pvalues[name],
            }
        )
    return pd.DataFrame(rows)


def what_to_do(
    summary: pd.DataFrame,
    by_category: pd.DataFrame,
    nps_touch: pd.DataFrame,
    drivers: pd.DataFrame,
    breach_target: float = 0.05,
) -> str:
    """Markdown bullets: the actions a service manager would take, from the numbers (in the
    page's language).

    >>> s = pd.DataFrame({"breach_rate": [0.02]})
    >>> what_to_do(s, pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    '- SLA breaches are within target (2.0% ≤ 5%); keep staffing as is.'
    """
    lines = []
    if len(summary):
        br = float(summary["breach_rate"].iloc[0])
        rates = dict(rate=f"{br:.1%}", target=f"{breach_target:.0%}")
        if br > breach_target:
            lines.append(
                _(
                    "- First-response SLA is breached on **{rate}** of tickets (target ≤ {target}): "
                    "add cover on the priorities that breach most."
                ).format(**rates)
            )
        else:
            lines.append(
                _(
                    "- SLA breaches are within target ({rate} ≤ {target}); keep staffing as is."
                ).format(**rates)
            )
    if len(by_category):
        lines.append(_worst_category(by_category.iloc[0]))
    if "nps" in nps_touch and len(nps_touch.dropna(subset=["nps"])):
        lo = nps_touch.dropna(subset=["nps"]).sort_values("nps").iloc[0]
        lines.append(
            _(
                "- The weakest touchpoint is **{touchpoint}** (NPS {nps}); review its detractors' "
                "comments."
            ).format(touchpoint=lo.iloc[0], nps=f"{lo['nps']:.0f}")
        )
    if len(drivers):
        sig = drivers[drivers["p_value"] < 0.05]
        for r in sig.itertuples():
            lines.append(
                _("- CSAT moves by {effect} points with {driver} (95% CI {low} .. {high}).").format(
                    effect=f"{r.effect:+.2f}",
                    driver=_(r.driver),
                    low=f"{r.low:+.2f}",
                    high=f"{r.high:+.2f}",
                )
            )
    return "\n".join(lines) or _("- Not enough service data in this period to recommend anything.")


def _worst_category(worst: pd.Series) -> str:
    """The bullet naming the category of ticket to start with (markdown)."""
    resolved = worst.get("median_resolution_hours", float("nan"))
    values = dict(category=worst.iloc[0], rate=f"{worst['breach_rate']:.1%}")
    if pd.notna(resolved):
        return _(
            "- Start with **{category}** tickets: {rate} breach, median resolution {hours} h."
        ).format(hours=f"{resolved:.0f}", **values)
    return _("- Start with **{category}** tickets: {rate} breach, none resolved yet.").format(
        **values
    )


def nps_sentence(overall: dict) -> str:
    """The period's NPS with its interval and the responses it rests on (markdown).

    >>> nps_sentence({"nps": -13.2, "low": -19.4, "high": -7.1, "responses": 1649})
    'NPS **-13** (95 % interval -19 .. -7) from 1,649 responses.'
    """
    return _("NPS **{nps}** (95 % interval {low} .. {high}) from {n} responses.").format(
        nps=f"{overall['nps']:.0f}",
        low=f"{overall['low']:.0f}",
        high=f"{overall['high']:.0f}",
        n=f"{overall['responses']:,}",
    )


def service_headline(overall: pd.DataFrame | None, by_category, overall_nps: dict | None) -> dict:
    """The study's headline figures; figures that cannot be computed are left out (never NaN).

    >>> service_headline(None, None, nps(pd.Series([10, 0])))
    {'nps': 0.0, 'nps_low': -100.0, 'nps_high': 100.0, 'survey_responses': 2}
    """
    out = {}
    if overall is not None and len(overall) and overall["tickets"].iloc[0] > 0:
        row = overall.iloc[0]
        out.update(tickets=int(row["tickets"]), open_tickets=int(row["open_tickets"]))
        for key, col in (
            ("sla_breach_rate", "breach_rate"),
            ("sla_breach_low", "breach_low"),
            ("sla_breach_high", "breach_high"),
            ("median_first_response_hours", "median_first_response_hours"),
            ("median_resolution_hours", "median_resolution_hours"),
            ("ticket_csat", "csat_avg"),
        ):
            if pd.notna(row[col]):
                out[key] = float(row[col])
        if by_category is not None and len(by_category):
            out["worst_category"] = str(by_category.iloc[0]["category"])
    if overall_nps and overall_nps.get("responses"):
        out.update(
            nps=overall_nps["nps"],
            nps_low=overall_nps["low"],
            nps_high=overall_nps["high"],
            survey_responses=int(overall_nps["responses"]),
        )
    return out


def comment_themes(surveys: pd.DataFrame, top: int = 8) -> pd.DataFrame:
    """Most frequent non-empty comments with their responses' mean NPS."""
    require_columns(surveys, ["comment", "nps"], "comment_themes")
    c = surveys.dropna(subset=["comment"])
    c = c[c["comment"].astype(str).str.strip() != ""]
    if c.empty:
        return pd.DataFrame(columns=["comment", "responses", "nps_avg"])
    g = c.groupby("comment").agg(responses=("nps", "size"), nps_avg=("nps", "mean")).reset_index()
    return (
        g.sort_values(["responses", "comment"], ascending=[False, True])
        .head(top)
        .reset_index(drop=True)
    )


__all__ = [
    "DEFAULT_SLA_HOURS",
    "sla_table",
    "service_summary",
    "nps",
    "nps_by",
    "csat_drivers",
    "csat_driver_gaps",
    "service_headline",
    "comment_themes",
    "what_to_do",
    "nps_sentence",
]
