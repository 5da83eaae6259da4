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

from salesnb.i18n import N_, _, language, plural
from salesnb.metrics import require_columns
from salesnb.metrics.customers import pareto_curve, top_n_share
from salesnb.metrics.performance import discount_breaches
from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY

__all__ = [
    "discount_breaches",
    "line_breaches",
    "discount_check_gap",
    "breaches_by_rep",
    "return_test_gap",
    "loading_test_gap",
    "risk_headline",
    "return_outliers",
    "period_end_loading",
    "concentration",
    "what_to_do",
    "top_n_share",
    "unit_count",
    "breach_count_line",
]


# what the discount check needs (recorded in English in risk.json; shown translated)
DISCOUNT_NEEDS = N_("a discount column (opportunities.discount or orders.discount)")

# what the discount check counts, singular and plural ({n}: how many), by ``unit``
UNITS = {
    "won deals": (N_("{n} won deal"), N_("{n} won deals")),
    "order lines": (N_("{n} order line"), N_("{n} order lines")),
}


def unit_count(n: int, unit: str) -> str:
    """``n`` things of ``unit`` (``"won deals"``, ``"order lines"``) in the page's language.

    >>> unit_count(1, "won deals"), unit_count(3, "order lines")
    ('1 won deal', '3 order lines')
    """
    one, other = UNITS.get(unit, ("{n} " + unit[:-1], "{n} " + unit))
    return plural(int(n), one, other).format(n=n)


def discount_check_gap(
    has_opportunities: bool, deal_discount: bool, has_reps: bool, line_discount: bool
) -> tuple[str | None, str | None]:
    """Which discounts the compliance check reads, and a note when it is not the won deals.

    Won deals (opportunities with a discount, roles from reps) are checked when present;
    otherwise the order lines' own discount (so a warehouse without opportunities is still
    checked); otherwise nothing. Returns ``(source, note)``: source ``"deals"``, ``"lines"`` or
    None.

    >>> discount_check_gap(False, False, True, True)[0]
    'lines'
    >>> discount_check_gap(True, False, True, False)[1]
    'Discount compliance not checked: it needs a discount column (opportunities.discount or orders.discount).'
    """
    if has_opportunities and deal_discount and has_reps:
        return "deals", None
    if line_discount:
        why = (
            _("no opportunities table")
            if not has_opportunities
            else _("opportunities carry no discount")
            if not deal_discount
            else _("no reps table to give each deal's role")
        )
        note = _(
            "Discount compliance checked on order lines ({why}): each sale line's discount "
            "against the authority of its rep's role."
        ).format(why=why)
        if not has_reps:
            low = min(DEFAULT_DISCOUNT_AUTHORITY.values())
            note += _(
                " Without a reps table no role is known, so every line is held to the smallest "
                "authority ({low}); reps.role would apply each role's own limit."
            ).format(low=f"{low:.0%}")
        return "lines", note
    return None, _("Discount compliance not checked: it needs {what}.").format(
        what=_(DISCOUNT_NEEDS)
    )


def line_breaches(lines: pd.DataFrame, authority: dict | None = None) -> pd.DataFrame:
    """Order lines whose discount exceeds the authority of the rep's role.

    The same rule as deals (:func:`discount_breaches`: an unknown role gets the smallest
    authority) on ``order_id, line_no, rep_id, role, amount, discount``. Returns the breaching
    lines with ``authority`` and ``excess``, largest excess first.

    >>> lines = pd.DataFrame({"order_id": ["o1", "o1", "o2"], "line_no": [1, 2, 1], "rep_id": "r",
    ...                       "role": ["rep", "senior", None], "amount": 10.0, "discount": [0.15, 0.15, 0.12]})
    >>> line_breaches(lines)[["order_id", "line_no", "authority"]].values.tolist()
    [['o1', 1, 0.1], ['o2', 1, 0.1]]
    """
    require_columns(lines, ["order_id", "line_no", "role", "discount"], "order lines")
    key = lines["order_id"].astype(str) + "#" + lines["line_no"].astype(str)
    out = discount_breaches(lines.assign(opportunity_id=key), authority=authority)
    return out.drop(columns="opportunity_id").reset_index(drop=True)


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


def return_test_gap(returns: pd.DataFrame, key: str = "rep_id") -> str | None:
    """Why return rates cannot be tested against peers (one group, no spread), or None.

    >>> return_test_gap(pd.DataFrame({"rep_id": ["a"], "lines": [10], "return_lines": [1]}))
    'only one rep has order lines'
    >>> return_test_gap(pd.DataFrame({"rep_id": ["a", "b"], "lines": [10, 5], "return_lines": [0, 0]}))
    'no line was returned'
    """
    require_columns(returns, [key, "lines", "return_lines"], "return_test_gap")
    d = returns[returns["lines"] > 0]
    if len(d) < 2:
        if not len(d):
            return _("no order lines")
        if key == "rep_id":
            return _("only one rep has order lines")
        if key == "category":
            return _("only one product category has order lines")
        return _("only one {what} has order lines").format(what=key)
    pooled = d["return_lines"].sum() / d["lines"].sum()
    if pooled <= 0:
        return _("no line was returned")
    if pooled >= 1:
        return _("every line is a return")
    return None


def return_outliers(
    returns: pd.DataFrame, key: str = "rep_id", alpha: float = 0.001
) -> pd.DataFrame:
    """Return rate per ``key`` against the pooled rate, flagged when improbably high.

    ``returns``: ``<key>, lines, return_lines``. Adds ``return_rate`` with its 95 % Wilson
    interval ``rate_low, rate_high`` (in [0, 1], and not empty at 0 % or 100 %), ``p_high``
    (exact binomial P(X ≥ observed) at the pooled rate) and ``flag`` (p_high < alpha / number
    of groups: a Bonferroni bound, since every rep is tested at once). When the test cannot be
    run (:func:`return_test_gap`: one group, no returns, only returns), ``p_high`` is empty and
    nothing is flagged. Sorted by p_high.

    >>> r = pd.DataFrame({"rep_id": ["a", "b"], "lines": [1000, 1000], "return_lines": [10, 60]})
    >>> return_outliers(r)["rep_id"].iloc[0]
    'b'
    """
    from statsmodels.stats.proportion import proportion_confint

    require_columns(returns, [key, "lines", "return_lines"], "return_outliers")
    d = returns.copy()
    total = d["lines"].sum()
    pooled = d["return_lines"].sum() / total if total else 0.0
    n = d["lines"].where(d["lines"] > 0)
    d["return_rate"] = d["return_lines"] / n
    low, high = proportion_confint(d["return_lines"], n, alpha=0.05, method="wilson")
    d["rate_low"] = np.clip(np.asarray(low, float), 0.0, 1.0)
    d["rate_high"] = np.clip(np.asarray(high, float), 0.0, 1.0)
    if return_test_gap(returns, key) is None:
        d["p_high"] = stats.binom.sf(d["return_lines"] - 1, d["lines"], pooled)
        d["flag"] = d["p_high"] < alpha / max(len(d), 1)
    else:  # not testable: no p-value, no flag (empty, not False)
        d["p_high"] = np.nan
        d["flag"] = pd.array([pd.NA] * len(d), dtype="boolean")
    return d.sort_values(["p_high", key], na_position="last").reset_index(drop=True)


def loading_test_gap(loading: pd.DataFrame, days: int, period_days: int) -> str | None:
    """Why period-end loading cannot be tested (one rep, no spread, a short period), or None.

    ``loading``: :func:`period_end_loading` output.

    >>> loading_test_gap(pd.DataFrame({"rep_id": ["a"], "last_days_share": [0.3]}), 14, 92)
    'only one rep booked sales in the period'
    """
    require_columns(loading, ["rep_id", "last_days_share"], "loading_test_gap")
    if period_days <= days:
        return _(
            "the period ({period_days} days) is not longer than the last {days} days checked"
        ).format(period_days=period_days, days=days)
    if len(loading) < 2:
        return (
            _("only one rep booked sales in the period")
            if len(loading)
            else _("no sales in the period")
        )
    share = loading["last_days_share"]
    if (share - share.median()).abs().median() == 0:
        return _(
            "more than half of the reps book the same share of their revenue in the last days, "
            "so there is no spread to measure others against"
        )
    return None


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
    if loading_test_gap(d, days, period_days) is None:
        d["z"] = (d["last_days_share"] - med) / mad
        d["flag"] = d["z"] > stats.norm.isf(alpha / max(len(d), 1))
    else:  # not testable (loading_test_gap says why): no z-score, no flag (empty, not False)
        d["z"] = np.nan
        d["flag"] = pd.array([pd.NA] * len(d), dtype="boolean")
    d["calendar_share"] = days / period_days
    return d.sort_values(["z", "rep_id"], ascending=[False, True], na_position="last").reset_index(
        drop=True
    )


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
    breaches: pd.DataFrame | None,
    by_rep: pd.DataFrame,
    returns: pd.DataFrame,
    loading: pd.DataFrame,
    conc: dict,
    hhi_limit: float = 1500.0,
    unit: str = "won deals",
) -> str:
    """Markdown bullets a sales-ops or compliance manager acts on (in the page's language).

    ``breaches`` None: discounts were not checked (the study says why); ``unit`` names what
    was checked (``"won deals"`` or ``"order lines"``).

    >>> b = pd.DataFrame({"rep_id": ["R1"], "excess": [0.05], "amount": [10.0]})
    >>> what_to_do(b, breaches_by_rep(b), pd.DataFrame(), pd.DataFrame(), {})
    "- **1** won deals exceed their rep's discount authority; start with **R1** (1 won deal). Require approval before quoting above authority."
    """
    lines = []
    if breaches is not None:
        lines.append(_breach_line(breaches, by_rep, unit))
    sep = ", " if language() == "en" else "、"
    flagged = returns[returns["flag"].astype("boolean").fillna(False)] if len(returns) else returns
    if len(flagged):
        names = sep.join(f"**{r}**" for r in flagged.iloc[:5, 0])
        lines.append(
            _(
                "- Return rates far above peers (exact binomial test): {names} — review those "
                "orders for mis-selling or pull-forward."
            ).format(names=names)
        )
    fl = loading[loading["flag"].astype("boolean").fillna(False)] if len(loading) else loading
    if len(fl):
        names = sep.join(f"**{r}**" for r in fl["rep_id"].head(5))
        lines.append(
            _(
                "- Unusually period-end-loaded bookings: {names} — check for channel stuffing "
                "against next period's returns."
            ).format(names=names)
        )
    hhi = conc.get("hhi")
    if hhi is not None and pd.notna(hhi) and hhi > hhi_limit:
        lines.append(
            _(
                "- Customer concentration is high (HHI {hhi} > {limit}); diversify the book "
                "before a single loss hurts."
            ).format(hhi=f"{hhi:.0f}", limit=f"{hhi_limit:.0f}")
        )
    elif hhi is not None and pd.notna(hhi):
        lines.append(
            _("- The top 10 customers make {share} of revenue (HHI {hhi}).").format(
                share=f"{conc['top10_share']:.1%}", hhi=f"{hhi:.0f}"
            )
        )
    return "\n".join(lines) or _("- Nothing to act on from the data of this period.")


def _breach_line(breaches: pd.DataFrame, by_rep: pd.DataFrame, unit: str) -> str:
    """The bullet on discounts above authority (markdown; ``unit``: what was checked)."""
    if not len(breaches):
        if unit == "won deals":
            return _("- No won deal exceeds its rep's discount authority this period.")
        if unit == "order lines":
            return _("- No order line exceeds its rep's discount authority this period.")
        return f"- No {unit[:-1]} exceeds its rep's discount authority this period."
    start = ""
    if len(by_rep):
        top = by_rep.iloc[0]
        start = _("; start with **{rep}** ({count})").format(
            rep=top["rep_id"], count=unit_count(int(top["breaches"]), unit)
        )
    if unit == "order lines":
        text = _(
            "- **{n}** order lines exceed their rep's discount authority{start}. Require approval "
            "before quoting above authority."
        )
    elif unit == "won deals":
        text = _(
            "- **{n}** won deals exceed their rep's discount authority{start}. Require approval "
            "before quoting above authority."
        )
    else:
        text = (
            "- **{n}** " + unit + " exceed their rep's discount authority{start}. Require "
            "approval before quoting above authority."
        )
    return text.format(n=len(breaches), start=start)


def breach_count_line(n: int, unit: str, period) -> str:
    """How many ``unit`` (``"won deals"``, ``"order lines"``) are above authority in ``period``
    (markdown).

    >>> breach_count_line(1, "won deals", "2026-Q3")
    '**1** won deal above authority in 2026-Q3.'
    """
    from salesnb.i18n import period_label

    if unit == "order lines":
        text = plural(
            n,
            "**{n}** order line above authority in {period}.",
            "**{n}** order lines above authority in {period}.",
        )
    else:
        text = plural(
            n,
            "**{n}** won deal above authority in {period}.",
            "**{n}** won deals above authority in {period}.",
        )
    return text.format(n=n, period=period_label(str(period)))


def risk_headline(
    breaches: pd.DataFrame | None,
    returns: pd.DataFrame,
    returns_gap: str | None,
    loading: pd.DataFrame,
    loading_gap: str | None,
    conc: dict,
) -> dict:
    """The study's headline figures; a check that could not be run is left out, never 0 or NaN.

    >>> risk_headline(None, pd.DataFrame(), "no order lines", pd.DataFrame(), "x",
    ...               {"top1_share": float("nan"), "customers": 0})
    {}
    """
    out = {}
    if breaches is not None:
        out["discount_breaches"] = int(len(breaches))
        out["discount_breach_amount"] = float(breaches["amount"].sum()) if len(breaches) else 0.0
    if returns_gap is None and len(returns):
        out["reps_high_returns"] = int(returns["flag"].astype(bool).sum())
    if loading_gap is None and len(loading):
        out["reps_period_end_loaded"] = int(loading["flag"].astype(bool).sum())
    for key, name in (
        ("top1_share", "top1_customer_share"),
        ("top10_share", "top10_share"),
        ("hhi", "customer_hhi"),
    ):
        if pd.notna(conc.get(key, np.nan)):
            out[name] = float(conc[key])
    return out
