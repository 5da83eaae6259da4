"""Channel metrics: revenue, margin, customers and order value per channel; mix shift; overtakes.

Pure functions over frames from :func:`salesnb.queries.revenue_by` (``channel`` plus a time
grain). Significance tests come from statsmodels: Welch's ANOVA
(``statsmodels.stats.oneway.anova_oneway``, unequal variances) for average order value
across channels, and the chi-square test of a contingency table
(``statsmodels.stats.contingency_tables.Table``) for a shift in the channel mix of orders.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from statsmodels.stats.contingency_tables import Table
from statsmodels.stats.oneway import anova_oneway

from salesnb.formatting import p_value, points
from salesnb.i18n import N_, _, language, period_label
from salesnb.metrics import require_columns
from salesnb.metrics.market import why_not_positive


def _pts(x: float) -> str:
    """A change of share in percentage points: ``+2.1% points``; ``+2.1 个百分点`` in Chinese."""
    return f"{x:+.1%} points" if language() == "en" else points(x)


def quarter_label(ts) -> str:
    ts = pd.Timestamp(ts)
    return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"


def channel_summary(
    current: pd.DataFrame,
    prior: pd.DataFrame | None = None,
    channel_col: str = "channel",
) -> pd.DataFrame:
    """One row per channel: revenue, margin, orders, customers, average order value, share, growth.

    ``current`` / ``prior``: ``channel, revenue, margin, orders, customers`` for the period and
    the same period a year earlier. Returns ``channel, revenue, margin, margin_pct, orders,
    customers, aov, share, prior_revenue, growth, prior_share, share_change`` sorted by revenue.

    >>> now = pd.DataFrame({"channel": ["A", "B"], "revenue": [300.0, 100.0], "margin": [30.0, 50.0],
    ...                     "orders": [3, 4], "customers": [2, 3]})
    >>> old = now.assign(revenue=[100.0, 100.0])
    >>> channel_summary(now, old)[["channel", "share", "growth"]].values.tolist()
    [['A', 0.75, 2.0], ['B', 0.25, 0.0]]
    """
    require_columns(current, [channel_col, "revenue", "orders", "customers"], "channel_summary")
    cur = current.rename(columns={channel_col: "channel"}).copy()
    cur["channel"] = (
        cur["channel"].astype(object).where(cur["channel"].notna(), "(no channel)").astype(str)
    )
    if "margin" not in cur:
        cur["margin"] = np.nan
    out = cur[["channel", "revenue", "margin", "orders", "customers"]].copy()
    # margin % and shares of a zero or negative net revenue (returns above sales) mean nothing
    out["margin_pct"] = out["margin"] / out["revenue"].where(out["revenue"] > 0)
    out["aov"] = out["revenue"] / out["orders"].where(out["orders"] > 0)
    total = out["revenue"].sum()
    out["share"] = out["revenue"] / total if total > 0 else np.nan
    if prior is not None and len(prior):
        require_columns(prior, [channel_col, "revenue"], "channel_summary(prior)")
        pr = prior.rename(columns={channel_col: "channel"})[["channel", "revenue"]].copy()
        pr["channel"] = (
            pr["channel"].astype(object).where(pr["channel"].notna(), "(no channel)").astype(str)
        )
        pr = pr.rename(columns={"revenue": "prior_revenue"})
        out = out.merge(pr, on="channel", how="outer")
        out["revenue"] = out["revenue"].fillna(0.0)
        ptotal = out["prior_revenue"].sum()
        out["growth"] = out["revenue"] / out["prior_revenue"].where(out["prior_revenue"] > 0) - 1
        out["prior_share"] = out["prior_revenue"].fillna(0.0) / ptotal if ptotal > 0 else np.nan
        total = out["revenue"].sum()
        out["share"] = out["revenue"] / total if total > 0 else np.nan
        out["share_change"] = out["share"] - out["prior_share"]
    else:
        out["prior_revenue"] = out["growth"] = out["prior_share"] = out["share_change"] = np.nan
    return out.sort_values("revenue", ascending=False).reset_index(drop=True)


def quarterly_pivot(
    rev: pd.DataFrame,
    value: str = "revenue",
    quarter_col: str = "quarter",
    channel_col: str = "channel",
) -> pd.DataFrame:
    """Quarters (rows, labelled ``2025-Q2``) x channels (columns) of ``value``; missing = 0.

    >>> r = pd.DataFrame({"quarter": pd.to_datetime(["2025-01-01", "2025-01-01", "2025-04-01"]),
    ...                   "channel": ["A", "B", "A"], "revenue": [1.0, 2.0, 3.0]})
    >>> quarterly_pivot(r).to_dict("index")
    {'2025-Q1': {'A': 1.0, 'B': 2.0}, '2025-Q2': {'A': 3.0, 'B': 0.0}}
    """
    require_columns(rev, [quarter_col, channel_col, value], "quarterly_pivot")
    p = rev.pivot_table(
        index=quarter_col, columns=channel_col, values=value, aggfunc="sum", fill_value=0.0
    )
    p = p.sort_index()
    p.index = [quarter_label(q) for q in p.index]
    p.columns = [str(c) for c in p.columns]
    p.columns.name = None
    return p.astype(float)


def find_overtake(pivot: pd.DataFrame) -> dict:
    """The channel that overtook another over the history of quarters.

    For pairs (a, b) with a < b in the first quarter and a > b in the last, the overtake
    quarter is the first quarter from which a stays above b to the end. With several such
    pairs, the one with the largest gap in the last quarter wins. Quarters whose channels net to
    zero or below are left out. Returns ``channel,
    overtaken, quarter, final_gap`` or ``{}`` when no channel overtook another.

    >>> p = pd.DataFrame({"Online": [1, 3, 2, 5], "Retail": [4, 2, 3, 3]},
    ...                  index=["2024-Q1", "2024-Q2", "2024-Q3", "2024-Q4"])
    >>> find_overtake(p)["quarter"]
    '2024-Q4'
    """
    # a quarter netting to zero or below (returns at or above sales) ranks no channel
    pivot = pivot[pivot.sum(axis=1) > 0]
    if len(pivot) < 2:
        return {}
    best = {}
    for a in pivot.columns:
        for b in pivot.columns:
            if a == b:
                continue
            sa, sb = pivot[a].to_numpy(float), pivot[b].to_numpy(float)
            if not (sa[0] < sb[0] and sa[-1] > sb[-1]):
                continue
            above = sa > sb
            # first index from which `above` holds to the end
            start = len(above) - int(np.argmin(above[::-1])) if not above.all() else 0
            gap = float(sa[-1] - sb[-1])
            if not best or gap > best["final_gap"]:
                best = {
                    "channel": a,
                    "overtaken": b,
                    "quarter": str(pivot.index[start]),
                    "final_gap": gap,
                }
    return best


def mix_shift_test(
    current: pd.DataFrame,
    prior: pd.DataFrame,
    count_col: str = "orders",
    channel_col: str = "channel",
) -> dict:
    """Chi-square test that the channel mix of orders changed between two periods.

    Returns ``chi2, dof, p_value, cramers_v`` (Cramér's V says how large the shift is; with many
    orders even a tiny shift is 'significant'), or ``{"not_testable": reason}`` when there is
    no mix to compare: a single channel, or no orders in one of the periods.

    >>> a = pd.DataFrame({"channel": ["A", "B"], "orders": [50, 50]})
    >>> b = pd.DataFrame({"channel": ["A", "B"], "orders": [80, 20]})
    >>> mix_shift_test(b, a)["p_value"] < 0.001
    True
    >>> mix_shift_test(b[:1], a[:1])
    {'not_testable': 'only one channel has orders'}
    """
    require_columns(current, [channel_col, count_col], "mix_shift_test")
    require_columns(prior, [channel_col, count_col], "mix_shift_test(prior)")
    t = pd.DataFrame(
        {
            "now": current.groupby(channel_col)[count_col].sum(),
            "before": prior.groupby(channel_col)[count_col].sum(),
        }
    ).fillna(0.0)
    t = t[(t.sum(axis=1) > 0)]
    if len(t) < 2:
        return {"not_testable": _("only one channel has orders")}
    if (t.sum(axis=0) == 0).any():
        return {"not_testable": _("one of the two periods has no orders")}
    res = Table(t.to_numpy(float).T).test_nominal_association()
    n = t.to_numpy().sum()
    v = float(np.sqrt(res.statistic / (n * (min(t.shape) - 1))))
    return {
        "chi2": float(res.statistic),
        "dof": int(res.df),
        "p_value": float(res.pvalue),
        "cramers_v": v,
    }


def order_value_test(
    daily: pd.DataFrame,
    channel_col: str = "channel",
    revenue_col: str = "revenue",
    orders_col: str = "orders",
    min_days: int = 5,
) -> dict:
    """Welch's ANOVA: does the average order value differ between channels?

    ``daily``: one row per channel and day with revenue and orders (from ``revenue_by(by=[
    "channel", "day"])``); each day's AOV is one observation per channel. Channels with fewer
    than ``min_days`` days, or whose daily AOV never varies, are left out. Returns ``statistic,
    p_value, channels, days`` and ``aov`` (mean daily AOV per channel), or
    ``{"not_testable": reason, "channels": n}`` when fewer than two channels are left.

    >>> d = pd.DataFrame({"channel": ["A"] * 6 + ["B"] * 6, "revenue": [10, 11, 9, 10, 12, 8] + [20, 22, 18, 21, 19, 20],
    ...                   "orders": [1] * 12})
    >>> order_value_test(d)["p_value"] < 0.001
    True
    >>> order_value_test(d[d.channel == "A"])["not_testable"]
    'only one channel has orders'
    """
    require_columns(daily, [channel_col, revenue_col, orders_col], "order_value_test")
    d = daily[daily[orders_col] > 0]
    aov = (d[revenue_col] / d[orders_col]).rename("aov")
    groups = {str(k): g.to_numpy(float) for k, g in aov.groupby(d[channel_col].astype(str))}
    long_enough = {k: v for k, v in groups.items() if len(v) >= min_days}
    varying = {k: v for k, v in long_enough.items() if np.var(v) > 0}
    if len(varying) < 2:
        if len(groups) < 2:
            why = _("only one channel has orders") if groups else _("no orders")
        elif len(long_enough) < 2:
            why = _("fewer than two channels have orders on {n} or more days").format(n=min_days)
        else:
            why = _("order value does not vary from day to day within the channels")
        return {"not_testable": why, "channels": len(varying)}
    res = anova_oneway(list(varying.values()), use_var="unequal", welch_correction=True)
    return {
        "statistic": float(res.statistic),
        "p_value": float(res.pvalue),
        "channels": len(varying),
        "days": int(sum(len(v) for v in varying.values())),
        "aov": {k: float(v.mean()) for k, v in varying.items()},
    }


def significance_summary(
    aov_test: dict, mix_test: dict | None, prior_label: str, prior_note=None
) -> str:
    """Markdown lines reporting both channel tests, or why a test could not be run.

    ``mix_test`` None: no comparable prior period (``prior_note`` says why).

    >>> print(significance_summary({"not_testable": "only one channel has orders"}, None, "2025-Q3",
    ...                            "no orders before 2026"))
    - Order value across channels: not testable (only one channel has orders).
    - Mix shift vs 2025-Q3: not testable (no comparable orders in 2025-Q3; see the note on last year above).
    """
    lines = []
    prior = period_label(str(prior_label))
    if "p_value" in aov_test:
        lines.append(
            _("- Order value across channels: Welch F = {f}, {p}").format(
                f=f"{aov_test['statistic']:.2f}", p=p_value(aov_test["p_value"])
            )
        )
    else:
        lines.append(
            _("- Order value across channels: not testable ({why}).").format(
                why=aov_test.get("not_testable")
            )
        )
    if mix_test and "p_value" in mix_test:
        lines.append(
            _("- Mix shift vs {prior}: {p}, Cramér's V = {v}").format(
                prior=prior, p=p_value(mix_test["p_value"]), v=f"{mix_test['cramers_v']:.3f}"
            )
        )
    else:
        why = (mix_test or {}).get("not_testable") or (
            _("no comparable orders in {prior}; see the note on last year above").format(
                prior=prior
            )
            if prior_note
            else _("no prior period")
        )
        lines.append(
            _("- Mix shift vs {prior}: not testable ({why}).").format(prior=prior, why=why)
        )
    return "\n".join(lines)


def growth_leaders(summary: pd.DataFrame, min_share: float = 0.02) -> dict:
    """The channel gaining the most share of revenue and the one losing the most (YoY).

    Channels below ``min_share`` of revenue in both periods are ignored (noise). Returns
    ``growing_channel, growing_share_change, shrinking_channel, shrinking_share_change`` (empty
    when there is no prior period).

    >>> s = pd.DataFrame({"channel": ["A", "B", "C"], "share": [0.5, 0.3, 0.2], "prior_share": [0.4, 0.4, 0.2],
    ...                   "growth": [0.4, -0.1, 0.1]})
    >>> growth_leaders(s)["growing_channel"], growth_leaders(s)["shrinking_channel"]
    ('A', 'B')
    """
    require_columns(summary, ["channel", "share", "prior_share"], "growth_leaders")
    s = summary.dropna(subset=["share", "prior_share"])
    s = s[(s["share"] >= min_share) | (s["prior_share"] >= min_share)]
    if len(s) < 2:
        return {}
    change = s["share"] - s["prior_share"]
    up, down = s.loc[change.idxmax()], s.loc[change.idxmin()]
    out = {
        "growing_channel": up["channel"],
        "growing_share_change": float(change.max()),
        "shrinking_channel": down["channel"],
        "shrinking_share_change": float(change.min()),
    }
    # growth of a channel without revenue a year ago cannot be computed: left out, not NaN
    for key, row in (("growing_growth", up), ("shrinking_growth", down)):
        if pd.notna(row.get("growth", np.nan)):
            out[key] = float(row["growth"])
    return out


MARGIN_NEEDS = N_("margin needs a cost column (orders.cost or products.unit_cost)")


def summary_notes(summary: pd.DataFrame) -> list[str]:
    """Why columns of :func:`channel_summary` are empty: no cost, no positive revenue.

    >>> s = pd.DataFrame({"channel": ["A"], "revenue": [-5.0], "margin": [np.nan], "share": [np.nan]})
    >>> summary_notes(s)[0]
    'Margin not shown: margin needs a cost column (orders.cost or products.unit_cost).'
    """
    notes = []
    if "margin" not in summary or summary["margin"].isna().all():
        notes.append(_("Margin not shown: {why}.").format(why=_(MARGIN_NEEDS)))
    total = summary["revenue"].sum() if len(summary) else 0.0
    if len(summary) and total <= 0:
        notes.append(
            _(
                "Shares of revenue and margin % not computed: net revenue in the period is "
                "{total} ({why})."
            ).format(total=f"{total:,.2f}", why=why_not_positive(total))
        )
    return notes


def channel_headline(
    summary: pd.DataFrame | None,
    pivot: pd.DataFrame | None,
    overtake: dict,
    aov_test: dict,
    mix_test: dict,
    leaders: dict,
    revenue_total: float,
) -> dict:
    """The study's headline figures; a figure that cannot be computed is left out (never NaN).

    >>> s = pd.DataFrame({"channel": ["A"], "revenue": [10.0], "margin": [np.nan], "share": [1.0]})
    >>> sorted(channel_headline(s, None, {}, {"not_testable": "x"}, {}, {}, 10.0))
    ['channels', 'revenue_total', 'top_channel', 'top_channel_share']
    """
    out = {"revenue_total": float(revenue_total)}
    if pivot is not None:
        out["revenue_history_total"] = float(pivot.to_numpy().sum())
    if summary is not None:
        out["channels"] = int(len(summary))
        if len(summary) and summary["revenue"].iloc[0] > 0:
            top = summary.iloc[0]
            out["top_channel"] = top["channel"]
            if pd.notna(top["share"]):
                out["top_channel_share"] = float(top["share"])
        if "margin" in summary and summary["margin"].notna().any():
            out["margin_total"] = float(summary["margin"].sum())
            if revenue_total > 0:
                out["margin_pct"] = out["margin_total"] / revenue_total
    for key, value in (("channel", "overtake_channel"), ("overtaken", "overtaken_channel")):
        if overtake.get(key):
            out[value] = overtake[key]
    if overtake.get("quarter"):
        out["overtake_quarter"] = overtake["quarter"]
    if "p_value" in aov_test:
        out["aov_p_value"] = aov_test["p_value"]
    if "p_value" in mix_test:
        out["mix_shift_p_value"] = mix_test["p_value"]
        out["mix_shift_cramers_v"] = mix_test["cramers_v"]
    out.update(leaders)
    return out


def channel_actions(
    summary: pd.DataFrame,
    leaders: dict,
    overtake: dict,
    aov_test: dict,
    mix_test: dict,
    alpha: float = 0.05,
) -> str:
    """'What to do' bullets (markdown) about where to move channel effort."""
    out = []
    if leaders:
        g, s = leaders["growing_channel"], leaders["shrinking_channel"]
        out.append(
            _(
                "**{g}** gains share ({gain} YoY) and **{s}** loses ({loss}): move effort and "
                "budget toward {g}."
            ).format(
                g=g,
                s=s,
                gain=_pts(leaders["growing_share_change"]),
                loss=_pts(leaders["shrinking_share_change"]),
            )
        )
    if overtake:
        out.append(
            _(
                "{channel} overtook {other} in {quarter} and stayed ahead: plan capacity and "
                "targets on the new order, not the old one."
            ).format(
                channel=overtake["channel"],
                other=overtake["overtaken"],
                quarter=period_label(str(overtake["quarter"])),
            )
        )
    m = summary.dropna(subset=["margin_pct"]) if "margin_pct" in summary else summary.iloc[0:0]
    if len(m) >= 2:
        best, worst = m.loc[m["margin_pct"].idxmax()], m.loc[m["margin_pct"].idxmin()]
        out.append(
            _(
                "Margin is highest in **{best}** ({best_pct}) and lowest in **{worst}** "
                "({worst_pct}): check discounts and costs there before pushing volume."
            ).format(
                best=best["channel"],
                best_pct=f"{best['margin_pct']:.1%}",
                worst=worst["channel"],
                worst_pct=f"{worst['margin_pct']:.1%}",
            )
        )
    out += _aov_actions(aov_test, alpha)
    pm = mix_test.get("p_value")
    if pm is not None and not pd.isna(pm):
        verdict = (
            _("a real shift")
            if pm < alpha and mix_test.get("cramers_v", 0) >= 0.05
            else (_("statistically detectable but small") if pm < alpha else _("not significant"))
        )
        out.append(
            _(
                "The channel mix of orders vs a year ago is {verdict} (chi-square {p}, "
                "Cramér's V = {v})."
            ).format(verdict=verdict, p=p_value(pm), v=f"{mix_test['cramers_v']:.2f}")
        )
    if not out:
        out.append(_("Only one channel or no history: nothing to compare yet."))
    return "\n".join(f"- {x}" for x in out)


def _aov_actions(aov_test: dict, alpha: float) -> list[str]:
    """The bullet on average order value across channels (none without a test)."""
    p = aov_test.get("p_value")
    if p is None or pd.isna(p):
        return []
    if p >= alpha:
        return [
            _(
                "Average order value does not differ significantly between channels ({p}): "
                "compete on volume, not basket size."
            ).format(p=p_value(p))
        ]
    aov = aov_test.get("aov", {})
    top = max(aov, key=aov.get) if aov else None
    top = top if top is not None and aov[top] > 0 else None
    if top:
        return [
            _(
                "Average order value differs between channels (Welch ANOVA {p}); {top} brings "
                "the largest orders: use it for upsell and bundles."
            ).format(p=p_value(p), top=top)
        ]
    return [
        _("Average order value differs between channels (Welch ANOVA {p}).").format(p=p_value(p))
    ]
