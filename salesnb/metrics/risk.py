"""Risk & compliance: discount policy, returns, period-end loading, revenue concentration.

Pure functions over small per-rep / per-customer frames. Discount-policy breaches
reuse :func:`salesnb.metrics.performance.discount_breaches` and concentration reuses
:func:`salesnb.metrics.customers.pareto_curve`, so a breach or a top-10 share is the
same number in every study. Outlier flags use exact binomial tails (scipy) against
the peer rate, so a rep with few lines is not flagged on noise.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from salesnb.metrics import require_columns
from salesnb.metrics.customers import pareto_curve, top_n_share
from salesnb.metrics.performance import discount_breaches

__all__ = [
    "discount_breaches",
    "breaches_by_rep",
    "return_outliers",
    "period_end_loading",
    "concentration",
    "what_to_do",
    "top_n_share",
]


def breaches_by_rep(breaches: pd.DataFrame, amount_col: str = "amount") -> pd.DataFrame:
    """Breaching deals per rep: ``rep_id, breaches, amount, max_excess`` (most breaches first)."""
    require_columns(breaches, ["rep_id", "excess", amount_col], "breaches_by_rep")
    if breaches.empty:
        return pd.DataFrame(columns=["rep_id", "breaches", "amount", "max_excess"])
    g = (
        breaches.groupby("rep_id")
        .agg(breaches=("excess", "size"), amount=(amount_col, "sum"), max_excess=("excess", "max"))
        .reset_index()
    )
    return g.sort_values(
        ["breaches", "amount", "rep_id"], ascending=[False, False, True]
    ).reset_index(drop=True)


def return_outliers(
    returns: pd.DataFrame, key: str = "rep_id", alpha: float = 0.001
) -> pd.DataFrame:
    """Return rate per ``key`` against the pooled rate, flagged when improbably high.

    ``returns``: ``<key>, lines, return_lines``. Adds ``return_rate``, ``p_high`` (exact binomial
    P(X ≥ observed) at the pooled rate) and ``flag`` (p_high < alpha / number of groups: a
    Bonferroni bound, since every rep is tested at once). Sorted by p_high.

    >>> r = pd.DataFrame({"rep_id": ["a", "b"], "lines": [1000, 1000], "return_lines": [10, 60]})
    >>> return_outliers(r)["rep_id"].iloc[0]
    'b'
    """
    require_columns(returns, [key, "lines", "return_lines"], "return_outliers")
    d = returns.copy()
    total = d["lines"].sum()
    pooled = d["return_lines"].sum() / total if total else 0.0
    d["return_rate"] = np.where(
        d["lines"] > 0, d["return_lines"] / d["lines"].where(d["lines"] > 0), np.nan
    )
    d["p_high"] = stats.binom.sf(d["return_lines"] - 1, d["lines"], pooled) if pooled > 0 else 1.0
    d["flag"] = d["p_high"] < alpha / max(len(d), 1)
    return d.sort_values(["p_high", key]).reset_index(drop=True)


def period_end_loading(
    loading: pd.DataFrame,
    days: int,
    period_days: int,
    alpha: float = 0.001,
    min_revenue_share: float = 0.0,
) -> pd.DataFrame:
    """Reps who book an unusual share of the period's revenue in its last ``days`` days.

    ``loading``: ``rep_id, revenue, revenue_last_days``. The expected share is the company's
    own share (which already carries seasonality); a rep is flagged when their share is above the
    reps' median by more than a robust z-score (median and MAD) at ``alpha / number of reps``. Adds
    ``last_days_share``, ``z`` and ``flag``.
    """
    require_columns(loading, ["rep_id", "revenue", "revenue_last_days"], "period_end_loading")
    d = loading[loading["revenue"] > 0].copy()
    d["last_days_share"] = d["revenue_last_days"] / d["revenue"]
    med = d["last_days_share"].median()
    mad = (d["last_days_share"] - med).abs().median() * 1.4826
    d["z"] = (d["last_days_share"] - med) / mad if mad and mad > 0 else 0.0
    d["flag"] = d["z"] > stats.norm.isf(alpha / max(len(d), 1))
    d["calendar_share"] = days / period_days
    return d.sort_values(["z", "rep_id"], ascending=[False, True]).reset_index(drop=True)


def concentration(customer_revenue: pd.DataFrame) -> dict:
    """Revenue concentration across customers: top-1 / top-10 shares and the HHI (0..10,000).

    >>> concentration(pd.DataFrame({"customer_id": ["a", "b"], "revenue": [75.0, 25.0]}))["hhi"]
    6250.0
    """
    require_columns(customer_revenue, ["customer_id", "revenue"], "concentration")
    pos = customer_revenue[customer_revenue["revenue"] > 0]
    total = pos["revenue"].sum()
    if not total:
        return {
            "top1_share": float("nan"),
            "top10_share": float("nan"),
            "hhi": float("nan"),
            "customers": 0,
        }
    shares = pos["revenue"] / total
    curve = pareto_curve(pos)
    return {
        "top1_share": float(curve["revenue_share"].iloc[0]),
        "top10_share": top_n_share(pos, 10),
        "hhi": float(round((100 * shares).pow(2).sum(), 6)),
        "customers": int(len(pos)),
    }


def what_to_do(
    breaches: pd.DataFrame,
    by_rep: pd.DataFrame,
    returns: pd.DataFrame,
    loading: pd.DataFrame,
    conc: dict,
    hhi_limit: float = 1500.0,
) -> str:
    """Markdown bullets a sales-ops or compliance manager acts on."""
    lines = []
    if len(breaches):
        top = by_rep.iloc[0]
        lines.append(
            f"- **{len(breaches)}** won deals exceed their rep's discount authority; start with "
            f"**{top['rep_id']}** ({int(top['breaches'])} deal{'s' if top['breaches'] > 1 else ''}). Require approval before quoting above authority."
        )
    else:
        lines.append("- No won deal exceeds its rep's discount authority this period.")
    flagged = returns[returns["flag"]] if len(returns) else returns
    if len(flagged):
        names = ", ".join(f"**{r}**" for r in flagged.iloc[:5, 0])
        lines.append(
            f"- Return rates far above peers (exact binomial test): {names} — review those orders for "
            "mis-selling or pull-forward."
        )
    fl = loading[loading["flag"]] if len(loading) else loading
    if len(fl):
        names = ", ".join(f"**{r}**" for r in fl["rep_id"].head(5))
        lines.append(
            f"- Unusually period-end-loaded bookings: {names} — check for channel stuffing against next period's returns."
        )
    if conc.get("hhi", 0) and conc["hhi"] > hhi_limit:
        lines.append(
            f"- Customer concentration is high (HHI {conc['hhi']:.0f} > {hhi_limit:.0f}); "
            "diversify the book before a single loss hurts."
        )
    elif conc.get("top10_share") == conc.get("top10_share"):
        lines.append(
            f"- The top 10 customers make {conc['top10_share']:.1%} of revenue (HHI {conc['hhi']:.0f})."
        )
    return "\n".join(lines)
