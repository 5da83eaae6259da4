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

import pandas as pd

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
    Columns returned: ``tickets, breach_rate, median_first_response_hours,
    median_resolution_hours, csat_avg, open_tickets``.
    """
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
    out = out.reset_index(drop=by is None)
    return out.sort_values("breach_rate", ascending=False).reset_index(drop=True) if by else out


def nps(scores: pd.Series) -> dict:
    """Net Promoter Score in points (-100..100) with a 95% interval.

    >>> nps(pd.Series([10, 9, 8, 7, 6, 0]))["nps"]
    0.0
    """
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
    se = 100.0 * math.sqrt(max(p + d - (p - d) ** 2, 0.0) / n)
    return {
        "nps": round(score, 6),
        "low": score - 1.96 * se,
        "high": score + 1.96 * se,
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


def csat_drivers(tickets: pd.DataFrame) -> pd.DataFrame:
    """How CSAT moves with resolution time and an SLA breach: OLS with 95% intervals.

    Expects ``csat, resolution_hours, breached`` (from :func:`sla_table`). Returns one row per
    driver: ``driver, effect, low, high, p_value`` (effect in CSAT points per day of resolution,
    and for a breached first response).
    """
    import statsmodels.formula.api as smf

    require_columns(tickets, ["csat", "resolution_hours", "breached"], "csat_drivers")
    d = tickets.dropna(subset=["csat", "resolution_hours"]).copy()
    if len(d) < 10 or d["csat"].nunique() < 2:
        return pd.DataFrame(columns=["driver", "effect", "low", "high", "p_value"])
    d["resolution_days"] = d["resolution_hours"] / 24.0
    d["breached"] = d["breached"].astype(float)
    fit = smf.ols("csat ~ resolution_days + breached", data=d).fit()
    ci = fit.conf_int()
    rows = []
    for name, label in (
        ("resolution_days", "each extra day to resolve"),
        ("breached", "a breached first response"),
    ):
        rows.append(
            {
                "driver": label,
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
    """Markdown bullets: the actions a service manager would take, from the numbers."""
    lines = []
    if len(summary):
        br = float(summary["breach_rate"].iloc[0])
        if br > breach_target:
            lines.append(
                f"- First-response SLA is breached on **{br:.1%}** of tickets (target ≤ {breach_target:.0%}): "
                "add cover on the priorities that breach most."
            )
        else:
            lines.append(
                f"- SLA breaches are within target ({br:.1%} ≤ {breach_target:.0%}); keep staffing as is."
            )
    if len(by_category):
        worst = by_category.iloc[0]
        lines.append(
            f"- Start with **{worst.iloc[0]}** tickets: {worst['breach_rate']:.1%} breach, "
            f"median resolution {worst['median_resolution_hours']:.0f} h."
        )
    if len(nps_touch.dropna(subset=["nps"])):
        lo = nps_touch.dropna(subset=["nps"]).sort_values("nps").iloc[0]
        lines.append(
            f"- The weakest touchpoint is **{lo.iloc[0]}** (NPS {lo['nps']:.0f}); review its detractors' comments."
        )
    if len(drivers):
        sig = drivers[drivers["p_value"] < 0.05]
        for r in sig.itertuples():
            lines.append(
                f"- CSAT moves by {r.effect:+.2f} points with {r.driver} (95% CI {r.low:+.2f} .. {r.high:+.2f})."
            )
    return "\n".join(lines) or "- Not enough service data in this period to recommend anything."


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
    "comment_themes",
    "what_to_do",
]
