"""Funnel & sales-process metrics: win rates, stage conversion, dwell, velocity, coverage.

Pure functions over small frames produced by :mod:`salesnb.queries.funnel` (counts per
group, per stage, per cycle length), so the opportunity table never has to sit in pandas.

Confidence intervals for win rates use ``statsmodels.stats.proportion.proportion_confint``
(Wilson by default, Jeffreys on request), clipped to [0, 1] and widened to contain the rate
itself: at 0 % or 100 % the formulas return bounds a rounding error off the rate (an upper
bound of 0.9999999999999999 under a rate of 1), which would draw negative error bars. A group
with no closed deal has no rate and no interval. Quantiles of cycle time are computed from a histogram (``cycle_days`` x
``deals``) by :func:`quantile_from_counts`, a weighted quantile written here because numpy's
quantile takes no frequency weights and expanding the histogram would rebuild the fact table.

Stage conventions: a deal *advances* from a stage when its next recorded stage is later in
the stage order (or it was won from there); it *leaks* when it was lost there or moved to a
lost-like stage (``lost_stages``, default: any stage whose name contains "lost").
Deals still open in a stage are unresolved and left out of that stage's conversion.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np
import pandas as pd
from statsmodels.stats.proportion import proportion_confint

from salesnb.formatting import count, money, percent, ratio
from salesnb.i18n import N_, _, date_label, language, period_label
from salesnb.metrics import require_columns
from salesnb.model.periods import Period, is_running

WON, LOST, OPEN = "won", "lost", "open"

# the groups win rates are split by, named in sentences and table cells
DIMENSIONS = (N_("source"), N_("rep"))
# what the closed-deal figures cover (``closed_deal_scope``'s label), named on the page
SCOPE_LABELS = (N_("period"), N_("all history"), N_("none"))
# the funnel's own steps (stages are the data's names, shown as they are)
STEPS = (N_("Leads"), N_("Opportunities (from leads)"), N_("Won"))


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    if d is None or language() == "en":
        return str(d)
    return date_label(pd.Timestamp(d).date())


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _ratio(num, den) -> float:
    return float(num) / float(den) if den and not pd.isna(den) else float("nan")


def win_rate(won: float, closed: float) -> float:
    """Won deals over closed (won + lost) deals; NaN when nothing closed.

    >>> win_rate(3, 4)
    0.75
    """
    return _ratio(won, closed)


def win_rate_intervals(won, closed, alpha: float = 0.05, method: str = "wilson"):
    """Lower and upper bounds of win rates ``won / closed`` (arrays), valid at 0 % and 100 %.

    Bounds lie in [0, 1] and contain the rate; where ``closed`` is 0 both are NaN (no rate).
    ``method``: ``"wilson"`` or ``"jeffreys"`` (see ``proportion_confint``).

    >>> lo, hi = win_rate_intervals([10, 0, 0], [10, 10, 0])
    >>> lo.round(4).tolist(), hi.round(4).tolist()
    ([0.7225, 0.0, nan], [1.0, 0.2775, nan])
    """
    if method not in ("wilson", "jeffreys"):
        raise ValueError(f"interval method must be 'wilson' or 'jeffreys', not {method!r}")
    k = np.atleast_1d(np.asarray(won, dtype=float))
    n = np.atleast_1d(np.asarray(closed, dtype=float))
    ok = n > 0
    lo, hi = np.full(k.shape, np.nan), np.full(k.shape, np.nan)
    if ok.any():
        lo_ok, hi_ok = proportion_confint(k[ok], n[ok], alpha=alpha, method=method)
        rate = k[ok] / n[ok]
        lo[ok] = np.clip(np.minimum(np.asarray(lo_ok, float), rate), 0.0, 1.0)
        hi[ok] = np.clip(np.maximum(np.asarray(hi_ok, float), rate), 0.0, 1.0)
    return lo, hi


def win_rate_interval(
    won: float, closed: float, alpha: float = 0.05, method: str = "wilson"
) -> tuple[float, float] | None:
    """The confidence interval of one win rate; None when nothing closed (no rate, no interval).

    >>> [round(x, 4) for x in win_rate_interval(10, 10)]  # all won: the interval reaches 100 %
    [0.7225, 1.0]
    >>> [round(x, 4) for x in win_rate_interval(0, 10)]  # all lost: it starts at 0 %
    [0.0, 0.2775]
    >>> win_rate_interval(0, 0) is None
    True
    """
    if not closed or pd.isna(closed):
        return None
    lo, hi = win_rate_intervals([won], [closed], alpha=alpha, method=method)
    return float(lo[0]), float(hi[0])


def win_rate_table(
    counts: pd.DataFrame,
    by: str | Sequence[str],
    won_col: str = "won",
    closed_col: str = "closed",
    alpha: float = 0.05,
    min_closed: int = 1,
) -> pd.DataFrame:
    """Win rate with a Wilson confidence interval per group.

    ``counts`` has one row per group with won and closed deal counts. Returns ``*by, closed,
    won, win_rate, ci_low, ci_high`` for groups with at least ``min_closed`` closed deals,
    sorted by win rate (best first). Intervals come from :func:`win_rate_intervals`, so a
    group that won all or none of its deals still gets bounds around its rate. A group
    without a name (deals with no source, say) is labelled ``(no <column>)``.

    >>> t = win_rate_table(pd.DataFrame({"source": ["Web", "Event"], "won": [8, 1], "closed": [10, 4]}), "source")
    >>> list(t.source), round(float(t.win_rate.iloc[0]), 2)
    (['Web', 'Event'], 0.8)
    """
    by = [by] if isinstance(by, str) else list(by)
    require_columns(counts, by + [won_col, closed_col], "win_rate_table")
    out = counts[by].copy()
    for col in by:
        if out[col].isna().any():
            out[col] = (
                out[col]
                .astype(str)
                .where(out[col].notna(), _("(no {column})").format(column=_(col)))
            )
    out["closed"] = counts[closed_col].astype("int64")
    out["won"] = counts[won_col].astype("int64")
    out = out[out["closed"] >= max(min_closed, 1)].copy()
    out["win_rate"] = out["won"] / out["closed"]
    lo, hi = win_rate_intervals(out["won"].to_numpy(), out["closed"].to_numpy(), alpha=alpha)
    out["ci_low"], out["ci_high"] = lo, hi
    return out.sort_values(["win_rate", "closed"], ascending=[False, False]).reset_index(drop=True)


def win_rate_table_gap(
    closed: int, table: pd.DataFrame | None, dim: str, min_closed: int = 1
) -> str | None:
    """Why a :func:`win_rate_table` by ``dim`` has nothing to show (None when it has rows).

    ``table`` is None when the table could not be built (the deals carry no such column).

    >>> win_rate_table_gap(0, None, "source")
    'no deal was won or lost in scope'
    >>> win_rate_table_gap(12, pd.DataFrame({"source": []}), "source", 5)
    'no source has 5 or more closed deals in scope (parameter min_closed)'
    """
    if not closed:
        return _("no deal was won or lost in scope")
    if table is None:
        return _("the deals carry no {dimension}").format(dimension=_(dim))
    if table.empty:
        return _(
            "no {dimension} has {n} or more closed deals in scope (parameter min_closed)"
        ).format(dimension=_(dim), n=min_closed)
    return None


def quantile_from_counts(values, counts, q: float) -> float:
    """The ``q`` quantile of a histogram (values with frequency counts), as pandas' 'linear'.

    >>> quantile_from_counts([10, 20, 30], [1, 2, 1], 0.5)
    20.0
    """
    v = np.asarray(values, float)
    c = np.asarray(counts, float)
    keep = ~np.isnan(v) & (c > 0)
    v, c = v[keep], c[keep]
    if not len(v):
        return float("nan")
    order = np.argsort(v)
    v, c = v[order], c[order]
    n = c.sum()
    pos = q * (n - 1)  # 0-based position in the sorted expanded sample
    cum = np.cumsum(c)  # element k (0-based) is v[searchsorted(cum, k, 'right')]
    lo_i = int(np.searchsorted(cum, math.floor(pos), side="right"))
    hi_i = int(np.searchsorted(cum, math.ceil(pos), side="right"))
    frac = pos - math.floor(pos)
    return float(v[lo_i] + (v[hi_i] - v[lo_i]) * frac)


def cycle_time_summary(
    hist: pd.DataFrame, days_col: str = "cycle_days", count_col: str = "deals"
) -> dict:
    """Median, quartiles, p90 and mean of the created -> closed days, from a histogram.

    >>> cycle_time_summary(pd.DataFrame({"cycle_days": [10, 20, 30], "deals": [1, 2, 1]}))["median"]
    20.0
    """
    require_columns(hist, [days_col, count_col], "cycle_time_summary")
    v, c = hist[days_col].to_numpy(float), hist[count_col].to_numpy(float)
    n = float(c.sum())
    return {
        "deals": int(n),
        "mean": float((v * c).sum() / n) if n else float("nan"),
        "p25": quantile_from_counts(v, c, 0.25),
        "median": quantile_from_counts(v, c, 0.5),
        "p75": quantile_from_counts(v, c, 0.75),
        "p90": quantile_from_counts(v, c, 0.9),
    }


def _is_lost_stage(name, lost_stages) -> bool:
    if lost_stages is not None:
        return name in set(lost_stages)
    return "lost" in str(name).lower()


def _is_won_stage(name, won_stages) -> bool:
    if won_stages is not None:
        return name in set(won_stages)
    return "won" in str(name).lower()


def stage_order(flow: pd.DataFrame, stage_col: str = "stage", rank_col: str = "mean_rank") -> list:
    """Stages in the order deals pass through them (by their mean position in a deal's history)."""
    require_columns(flow, [stage_col, rank_col], "stage_order")
    ranks = flow.groupby(stage_col)[rank_col].mean().sort_values(kind="stable")
    return list(ranks.index)


def stage_conversion(
    flow: pd.DataFrame,
    dwell: pd.DataFrame | None = None,
    order: Sequence | None = None,
    lost_stages: Sequence | None = None,
    won_stages: Sequence | None = None,
) -> pd.DataFrame:
    """Stage-to-next conversion and dwell per working stage.

    ``flow``: one row per (stage, next_stage, status) with ``deals`` (and ``mean_rank`` unless
    ``order`` is given); ``next_stage`` is missing for a deal's last recorded stage and
    ``status`` is the deal's status (open / won / lost). ``dwell`` (optional): ``stage,
    median_dwell_days, mean_dwell_days``.
    Returns ``stage, entered, advanced, leaked, still_open, conversion, win_from_stage,
    median_dwell_days, mean_dwell_days`` in stage order (terminal won/lost stages excluded).

    >>> f = pd.DataFrame({"stage": ["A", "A", "B", "B"], "next_stage": ["B", None, None, None],
    ...                   "status": ["won", "lost", "won", "lost"], "deals": [6, 4, 3, 3],
    ...                   "mean_rank": [1, 1, 2, 2]})
    >>> stage_conversion(f)[["stage", "conversion"]].values.tolist()
    [['A', 0.6], ['B', 0.5]]
    """
    require_columns(flow, ["stage", "next_stage", "status", "deals"], "stage_conversion")
    order = list(order) if order is not None else stage_order(flow)
    pos = {s: i for i, s in enumerate(order)}
    # A stage that only ever ends a deal with one outcome (e.g. "Closed" for won deals) is a
    # terminal marker, not a working stage.
    ends = flow.assign(_st=flow["status"].astype(str).str.lower(), _last=flow["next_stage"].isna())
    terminal = {
        s
        for s, g in ends.groupby("stage")
        if g["_last"].all() and g["_st"].nunique() == 1 and g["_st"].iloc[0] in (WON, LOST)
    }
    rows = []
    for stage in order:
        if (
            stage in terminal
            or _is_lost_stage(stage, lost_stages)
            or _is_won_stage(stage, won_stages)
        ):
            continue
        part = flow[flow["stage"] == stage]
        entered = advanced = leaked = still_open = won_from = resolved = 0.0
        for nxt, status, n in zip(part["next_stage"], part["status"], part["deals"], strict=True):
            status = str(status).lower()
            entered += n
            if status in (WON, LOST):
                resolved += n
                won_from += n if status == WON else 0
            if pd.isna(nxt):
                if status == WON:
                    advanced += n
                elif status == LOST:
                    leaked += n
                else:
                    still_open += n
            elif _is_lost_stage(nxt, lost_stages):
                leaked += n
            elif _is_won_stage(nxt, won_stages) or pos.get(nxt, -1) > pos[stage]:
                advanced += n
            else:  # moved back to an earlier stage: not a conversion, not yet a loss
                still_open += n
        rows.append(
            dict(
                stage=stage,
                entered=int(entered),
                advanced=int(advanced),
                leaked=int(leaked),
                still_open=int(still_open),
                conversion=_ratio(advanced, advanced + leaked),
                win_from_stage=_ratio(won_from, resolved),
            )
        )
    out = pd.DataFrame(
        rows,
        columns=[
            "stage",
            "entered",
            "advanced",
            "leaked",
            "still_open",
            "conversion",
            "win_from_stage",
        ],
    )
    if dwell is not None and len(dwell):
        require_columns(dwell, ["stage", "median_dwell_days"], "stage_conversion(dwell)")
        cols = ["stage", "median_dwell_days"] + (
            ["mean_dwell_days"] if "mean_dwell_days" in dwell else []
        )
        out = out.merge(dwell[cols], on="stage", how="left")
    else:
        out["median_dwell_days"] = np.nan
    return out


def find_bottleneck(conversion: pd.DataFrame, min_entered: int = 20) -> dict:
    """The stage where deals leak most: lowest stage-to-next conversion.

    Ties (conversion within 0.5 point) are broken by the longest median dwell. ``confirmed``
    says whether that stage also has the longest median dwell of all stages. Stages entered by
    fewer than ``min_entered`` deals are ignored. Returns ``{}`` when no stage qualifies or
    when no stage loses any deal (every conversion 100 %): :func:`bottleneck_gap` says which.

    >>> c = pd.DataFrame({"stage": ["A", "B", "C"], "entered": [100, 80, 30],
    ...                   "conversion": [0.8, 0.4, 0.7], "median_dwell_days": [5, 20, 9]})
    >>> find_bottleneck(c)["stage"], find_bottleneck(c)["confirmed"]
    ('B', True)
    """
    require_columns(conversion, ["stage", "entered", "conversion"], "find_bottleneck")
    c = conversion[(conversion["entered"] >= min_entered) & conversion["conversion"].notna()].copy()
    if c.empty or c["conversion"].min() >= 1.0:
        return {}
    if "median_dwell_days" not in c:
        c["median_dwell_days"] = np.nan
    lowest = c["conversion"].min()
    tied = c[c["conversion"] <= lowest + 0.005]
    pick = tied.sort_values(
        ["median_dwell_days", "conversion"], ascending=[False, True], na_position="last"
    ).iloc[0]
    dwell = c["median_dwell_days"]
    confirmed = bool(dwell.notna().any() and pick["median_dwell_days"] >= dwell.max())
    return {
        "stage": pick["stage"],
        "conversion": float(pick["conversion"]),
        "median_dwell_days": float(pick["median_dwell_days"]),
        "confirmed": confirmed,
    }


def bottleneck_gap(conversion: pd.DataFrame | None, min_entered: int = 20) -> str | None:
    """Why :func:`find_bottleneck` names no stage (None when it names one).

    >>> c = pd.DataFrame({"stage": ["A", "B"], "entered": [30, 25], "conversion": [1.0, 1.0]})
    >>> bottleneck_gap(c)
    'no deal was lost at any stage yet (every stage with an outcome converts 100 %)'
    >>> bottleneck_gap(c.assign(entered=3))
    'no stage has 20 or more deals with one that moved on or was lost'
    """
    if conversion is None:
        return _("the stage history is needed to follow deals from stage to stage")
    if conversion.empty:
        return _("the stage history names no working stage (only won / lost markers)")
    if find_bottleneck(conversion, min_entered):
        return None
    c = conversion[(conversion["entered"] >= min_entered) & conversion["conversion"].notna()]
    if c.empty:
        return _("no stage has {n} or more deals with one that moved on or was lost").format(
            n=min_entered
        )
    return _("no deal was lost at any stage yet (every stage with an outcome converts 100 %)")


def pipeline_velocity(
    open_deals: float, win_rate_: float, avg_won_amount: float, cycle_days: float
) -> float:
    """Money the pipeline turns into per day: open deals x win rate x average won deal / cycle days.

    >>> pipeline_velocity(100, 0.25, 4000, 50)
    2000.0
    """
    if (
        not cycle_days
        or pd.isna(cycle_days)
        or any(pd.isna(x) for x in (open_deals, win_rate_, avg_won_amount))
    ):
        return float("nan")
    return float(open_deals) * float(win_rate_) * float(avg_won_amount) / float(cycle_days)


def velocity_gap(
    open_deals: float, win_rate_: float, avg_won_amount: float, cycle_days: float
) -> str | None:
    """What :func:`pipeline_velocity` lacks to be computed (None when it can be).

    >>> velocity_gap(10, 0.0, float("nan"), 30.0)
    'no deal was won in scope, so there is no average won deal'
    >>> velocity_gap(10, 0.2, 5000.0, 0.0)
    'closed deals closed the day they were created (average cycle 0 days): no per-day rate'
    >>> velocity_gap(10, 0.2, 5000.0, 30.0) is None
    True
    """
    if win_rate_ is None or pd.isna(win_rate_):
        return _("no deal was won or lost in scope, so there is no win rate")
    if avg_won_amount is None or pd.isna(avg_won_amount):
        return _("no deal was won in scope, so there is no average won deal")
    if cycle_days is None or pd.isna(cycle_days):
        return _("no closed deal in scope has a created date, so there is no cycle time")
    if cycle_days <= 0:
        return _(
            "closed deals closed the day they were created (average cycle 0 days): no per-day rate"
        )
    if open_deals is None or pd.isna(open_deals):
        return _("the open pipeline is unknown")
    return None


def value_open_pipeline(open_by_stage: pd.DataFrame, fallback_amount: float) -> pd.DataFrame:
    """Open deals per stage with their value, filling unknown amounts with ``fallback_amount``.

    ``open_by_stage``: ``stage, deals, amount, with_amount`` (amount sums only deals with one).
    Adds ``value`` = amount + (deals - with_amount) x fallback_amount. Without a fallback (NaN:
    no deal won yet) deals without an amount are left out of the value, not counted as 0:
    :func:`unvalued_note` says how many.

    >>> value_open_pipeline(pd.DataFrame({"stage": ["A"], "deals": [3], "amount": [100.0],
    ...                                   "with_amount": [1]}), 50.0).value.tolist()
    [200.0]
    """
    require_columns(
        open_by_stage, ["stage", "deals", "amount", "with_amount"], "value_open_pipeline"
    )
    out = open_by_stage.copy()
    fill = 0.0 if fallback_amount is None or pd.isna(fallback_amount) else float(fallback_amount)
    out["value"] = out["amount"].fillna(0.0) + (out["deals"] - out["with_amount"]) * fill
    return out


def unvalued_note(open_pipeline: pd.DataFrame, fallback_amount: float) -> str | None:
    """A sentence on open deals without an amount and how they were valued (None when all have one).

    >>> p = pd.DataFrame({"stage": ["A"], "deals": [3], "with_amount": [1]})
    >>> unvalued_note(p, float("nan"))
    '2 open deals carry no amount and no deal was won to value them at: left out of the value.'
    """
    require_columns(open_pipeline, ["deals", "with_amount"], "unvalued_note")
    n = int((open_pipeline["deals"] - open_pipeline["with_amount"]).sum())
    if n <= 0:
        return None
    if fallback_amount is None or pd.isna(fallback_amount):
        return _(
            "{n} open deals carry no amount and no deal was won to value them at: "
            "left out of the value."
        ).format(n=count(n))
    return _("{n} open deals carry no amount; valued at the average won deal ({amount}).").format(
        n=count(n), amount=count(fallback_amount)
    )


def weighted_forecast(
    open_pipeline: pd.DataFrame,
    stage_probability: dict | pd.Series | None,
    default_probability: float,
    value_col: str = "value",
) -> pd.DataFrame:
    """Expected won value of the open pipeline: each stage's value x its historical win probability.

    Stages without history use ``default_probability`` (the overall win rate). Returns the input
    with ``probability`` and ``expected`` columns; both stay empty (NaN) for a stage with no
    history when there is no overall win rate either (see :func:`expected_total`).

    >>> p = pd.DataFrame({"stage": ["A", "B"], "value": [100.0, 200.0]})
    >>> weighted_forecast(p, {"A": 0.5}, 0.1).expected.tolist()
    [50.0, 20.0]
    """
    require_columns(open_pipeline, ["stage", value_col], "weighted_forecast")
    probs = dict(stage_probability) if stage_probability is not None else {}
    out = open_pipeline.copy()
    out["probability"] = [
        probs.get(s)
        if probs.get(s) is not None and not pd.isna(probs.get(s))
        else default_probability
        for s in out["stage"]
    ]
    out["expected"] = out[value_col] * out["probability"]
    return out


def expected_total(forecast: pd.DataFrame) -> tuple[float | None, list]:
    """Sum of ``expected`` over stages that have a win probability, and the stages that have none.

    The total is None when no stage has one (nothing closed yet): not a forecast of zero.

    >>> f = pd.DataFrame({"stage": ["A", "B"], "expected": [50.0, float("nan")]})
    >>> expected_total(f)
    (50.0, ['B'])
    >>> expected_total(f.assign(expected=float("nan")))[0] is None
    True
    """
    require_columns(forecast, ["stage", "expected"], "expected_total")
    known = forecast["expected"].notna()
    unpriced = [str(s) for s in forecast.loc[~known, "stage"]]
    return (float(forecast.loc[known, "expected"].sum()) if known.any() else None), unpriced


def pipeline_coverage(open_value: float, remaining: float) -> float:
    """Open pipeline over what is still to win (remaining target, or a period's won amount).

    >>> pipeline_coverage(300.0, 100.0)
    3.0
    """
    if remaining is None or pd.isna(remaining) or remaining <= 0:
        return float("nan")
    return float(open_value) / float(remaining)


def coverage_period(period: Period, as_of) -> tuple[Period, bool]:
    """Which period's target the open pipeline covers, seen on ``as_of`` (the day from
    :func:`salesnb.model.periods.as_of_day`): while ``period`` runs on that day
    (:func:`salesnb.model.periods.is_running`), what is left of its own target (returns the
    period and True); once it is complete, the next period's target (the next period and
    False). The funnel study and the dashboards both ask this.

    >>> from datetime import date
    >>> from salesnb.model.periods import parse_period
    >>> q3 = parse_period("2026-Q3")
    >>> [(p.label, running) for p, running in (coverage_period(q3, date(2026, 8, 15)),
    ...                                        coverage_period(q3, date(2026, 9, 30)))]
    [('2026-Q3', True), ('2026-Q4', False)]
    """
    running = is_running(period, as_of)
    return (period if running else period.next()), running


def coverage_against(
    open_value: float,
    target: float | None,
    won_amount: float,
    in_progress: bool = False,
    target_label: str = "next period",
) -> dict:
    """Pipeline coverage against what is left to win, with its basis and why it is missing.

    The basis is the target of ``target_label`` (minus the won amount when that period is
    ``in_progress``), else the won amount in scope. Returns ``coverage`` (NaN when there is
    nothing to cover), ``basis`` and ``gap`` (None, or what is missing and what would fill it).

    >>> coverage_against(300.0, None, 100.0)["coverage"]
    3.0
    >>> coverage_against(300.0, None, 0.0, target_label="2026-Q4")["gap"]
    'no target for 2026-Q4 in the targets table and nothing won in scope to compare with (a 2026-Q4 target would fill it)'
    """
    label = period_label(str(target_label))
    if target:
        remaining = float(target) - float(won_amount) if in_progress else float(target)
        basis = f"target {target_label}"  # <study>.json records it in English
        basis_text = _("target {period}").format(period=label)
        gap = (
            None if remaining > 0 else _("the {period} target is already met").format(period=label)
        )
    else:
        remaining, basis = float(won_amount), "won amount in scope"
        basis_text = _("won amount in scope")
        gap = (
            None
            if remaining > 0
            else _(
                "no target for {period} in the targets table and nothing won in scope "
                "to compare with (a {period} target would fill it)"
            ).format(period=label)
        )
    return {
        "coverage": pipeline_coverage(open_value, remaining),
        "basis": basis,
        "basis_text": basis_text,
        "gap": gap,
    }


def cohort_table(cohorts: pd.DataFrame, month_col: str = "cohort_month") -> pd.DataFrame:
    """Creation-month cohorts: deals, won, lost, open, win rate so far, share still open.

    ``cohorts``: ``cohort_month, deals, won, lost`` (``open`` and ``won_amount`` optional).

    >>> cohort_table(pd.DataFrame({"cohort_month": ["2026-01"], "deals": [10], "won": [3], "lost": [1]})
    ...              )[["win_rate", "open_share"]].values.tolist()
    [[0.75, 0.6]]
    """
    require_columns(cohorts, [month_col, "deals", "won", "lost"], "cohort_table")
    out = cohorts.copy()
    if "open" not in out:
        out["open"] = out["deals"] - out["won"] - out["lost"]
    closed = out["won"] + out["lost"]
    out["win_rate"] = (out["won"] / closed.where(closed > 0)).astype(float)
    out["open_share"] = out["open"] / out["deals"].where(out["deals"] > 0)
    return out.sort_values(month_col).reset_index(drop=True)


def flow_won(flow: pd.DataFrame) -> int:
    """Deals of a :func:`~salesnb.queries.funnel.stage_flow` that are won (each counted once,
    at its last stage): the "Won" step of the same population as the stages."""
    last = flow[flow["next_stage"].isna() & flow["status"].eq("won")]
    return int(last["deals"].sum())


def funnel_counts(
    conversion: pd.DataFrame | None,
    leads: float | None = None,
    converted_leads: float | None = None,
    won: float | None = None,
    won_scope: str = "won",
) -> pd.DataFrame:
    """Lead -> opportunity -> stage by stage -> won counts, with the step conversion.

    Returns ``step, count, scope, step_conversion`` (count over the previous step's count).
    The parts may cover different populations — leads created in the period (``leads``),
    the stage flow of the deals in scope (``stages``), deals won in the period (``won``) — so
    ``step_conversion`` is left empty where the scope changes instead of dividing counts of
    different populations. ``won_scope="stages"`` says ``won`` counts the won deals of the
    stage flow itself (:func:`flow_won`): the last step then converts from the stages.

    >>> c = pd.DataFrame({"stage": ["A", "B"], "entered": [10, 5]})
    >>> out = funnel_counts(c, leads=40, converted_leads=10, won=2)
    >>> out["count"].tolist(), out["step_conversion"].round(2).tolist()
    ([40, 10, 10, 5, 2], [nan, 0.25, nan, 0.5, nan])
    >>> funnel_counts(c, won=2, won_scope="stages")["step_conversion"].round(2).tolist()
    [nan, 0.5, 0.4]
    """
    steps = []
    if leads is not None and not pd.isna(leads):
        steps.append(("Leads", leads, "leads"))
    if converted_leads is not None and not pd.isna(converted_leads):
        steps.append(("Opportunities (from leads)", converted_leads, "leads"))
    if conversion is not None:
        for s, n in zip(conversion["stage"], conversion["entered"], strict=True):
            steps.append((str(s), n, "stages"))
    if won is not None and not pd.isna(won):
        steps.append(("Won", won, won_scope))
    out = pd.DataFrame(steps, columns=["step", "count", "scope"])
    same = out["scope"].eq(out["scope"].shift(1))
    out["step_conversion"] = (out["count"] / out["count"].shift(1)).where(same)
    return out


def describe_scope(scope: dict, as_of) -> str:
    """Markdown: which close dates the closed-deal figures cover (see ``closed_deal_scope``).

    >>> print(describe_scope({"label": "none", "start": None, "end": None, "note": ""}, "2026-09-30"))
    No deal in scope has closed (won or lost, with a close date): win rate, cycle time, velocity and win rates by source and rep are left out until deals close. Open pipeline as of **2026-09-30**.
    """
    if scope.get("start") is None:
        return _(
            "No deal in scope has closed (won or lost, with a close date): win rate, cycle time, "
            "velocity and win rates by source and rep are left out until deals close. "
            "Open pipeline as of **{day}**."
        ).format(day=_day(as_of))
    text = _(
        "Closed-deal figures cover **{scope}**: close dates {start} .. "
        "{end} (end exclusive); open pipeline as of **{day}**."
    ).format(
        scope=_(scope["label"]), start=_day(scope["start"]), end=_day(scope["end"]), day=_day(as_of)
    )
    return f"{_scope_note(scope)}\n\n{text}" if scope.get("note") else text


def _scope_note(scope: dict) -> str:
    """``closed_deal_scope``'s note in the page's language (as it wrote it in English)."""
    if language() == "en":
        return scope["note"]
    if scope.get("start") is None:
        return _("No closed deals at all in this warehouse.")
    return _(
        "No deals closed in the report period; closed-deal figures cover **all closed deals** "
        "({first} .. {last})."
    ).format(first=_day(scope["start"]), last=_day(scope.get("as_of")))


def win_summary(
    won: int, closed: int, won_amount: float, currency: str = "", alpha: float = 0.05
) -> str:
    """Markdown bullets: closed deals, the win rate with its interval, the won amount.

    >>> print(win_summary(4, 4, 1000.0, "EUR"))
    - Closed deals: **4** (won 4, lost 0)
    - Win rate: **100.0%** (95 % Wilson interval 51.0% to 100.0%)
    - Won amount: **1,000 EUR** (average won deal 250)
    >>> print(win_summary(0, 0, 0.0, "EUR"))
    - Closed deals: **0**
    - Win rate: not computed — no deal was won or lost in scope (it needs deals closed as won or lost).
    """
    if not closed:
        return _(
            "- Closed deals: **0**\n- Win rate: not computed — no deal was won or lost in scope "
            "(it needs deals closed as won or lost)."
        )
    lo, hi = win_rate_interval(won, closed, alpha)
    lines = [
        _("- Closed deals: **{closed}** (won {won}, lost {lost})").format(
            closed=count(closed), won=count(won), lost=count(closed - won)
        ),
        _("- Win rate: **{rate}** ({level} % Wilson interval {low} to {high})").format(
            rate=percent(won / closed),
            level=f"{(1 - alpha) * 100:.0f}",
            low=percent(lo),
            high=percent(hi),
        ),
    ]
    if won:
        lines.append(
            _("- Won amount: **{amount}** (average won deal {average})").format(
                amount=money(won_amount, currency), average=count(won_amount / won)
            )
        )
    else:
        lines.append(_("- Won amount: none — no deal was won, so there is no average won deal."))
    return "\n".join(lines)


def describe_cycle(cycle: dict) -> str:
    """Markdown: the cycle-time summary of :func:`cycle_time_summary`, or what it lacks.

    >>> describe_cycle(cycle_time_summary(pd.DataFrame({"cycle_days": [10, 20, 30], "deals": [1, 2, 1]})))
    'Median **20** days (p25 17.5, p75 22.5, p90 27.0; mean 20.0) over 4 closed deals.'
    >>> describe_cycle(cycle_time_summary(pd.DataFrame({"cycle_days": [], "deals": []})))[:40]
    '**Not computed: cycle time** — no closed'
    """
    if not cycle.get("deals"):
        return _(
            "**Not computed: cycle time** — no closed deal in scope has a created date "
            "(cycle = close date − created date)."
        )
    return _(
        "Median **{median}** days (p25 {p25}, p75 {p75}, p90 {p90}; mean {mean}) "
        "over {deals} closed deals."
    ).format(
        median=count(cycle["median"]),
        p25=f"{cycle['p25']:,.1f}",
        p75=f"{cycle['p75']:,.1f}",
        p90=f"{cycle['p90']:,.1f}",
        mean=f"{cycle['mean']:,.1f}",
        deals=count(cycle["deals"]),
    )


def pipeline_lines(
    velocity: float, why_no_velocity: str | None, coverage: dict, currency: str
) -> str:
    """Markdown bullets for pipeline velocity and coverage; a missing one says what it lacks.

    ``coverage`` is a :func:`coverage_against` result.

    >>> print(pipeline_lines(2000.0, None, coverage_against(300.0, None, 100.0), "USD"))
    - Pipeline velocity: **2,000 USD per day**
    - Pipeline coverage: **3.00x** (won amount in scope)
    """
    if why_no_velocity is None and velocity is not None and not pd.isna(velocity):
        v = _("**{amount} per day**").format(amount=money(velocity, currency))
    else:
        v = _("not computed — {why}").format(why=why_no_velocity or _("an input is missing"))
    c = coverage["coverage"]
    if c is not None and not pd.isna(c):
        basis = coverage.get("basis_text", coverage["basis"])
        cov = _("**{coverage}** ({basis})").format(coverage=ratio(c, 2), basis=basis)
    else:
        cov = _("not computed — {why}").format(why=coverage["gap"] or _("nothing left to cover"))
    return _("- Pipeline velocity: {velocity}\n- Pipeline coverage: {coverage}").format(
        velocity=v, coverage=cov
    )


def funnel_actions(
    figures: dict,
    conversion: pd.DataFrame | None = None,
    by_source: pd.DataFrame | None = None,
    by_rep: pd.DataFrame | None = None,
    target_coverage: float = 3.0,
) -> str:
    """'What to do' bullets (markdown) from the funnel's numbers.

    ``target_coverage``: the pipeline coverage a team should hold (3x is the common rule).
    """
    out = []
    b = figures.get("bottleneck_stage")
    if b and b != "n/a":
        conv = figures.get("bottleneck_conversion")
        dwell = figures.get("bottleneck_median_dwell_days")
        sentence = (
            _(
                "Fix **{stage}** first: only {share} of deals move on from it and they sit there "
                "{days} days (median). Review the deals stuck there this week and tighten its "
                "exit criteria."
            )
            if dwell and not pd.isna(dwell)
            else _(
                "Fix **{stage}** first: only {share} of deals move on from it. Review the deals "
                "stuck there this week and tighten its exit criteria."
            )
        )
        days = count(dwell) if dwell and not pd.isna(dwell) else ""
        out.append(sentence.format(stage=b, share=percent(conv, 0), days=days))
    cov = figures.get("pipeline_coverage")
    if cov is not None and not pd.isna(cov):
        if cov < target_coverage:
            out.append(
                _(
                    "Pipeline coverage is {coverage}, below the {rule} rule: "
                    "generate more qualified pipeline before next period."
                ).format(coverage=ratio(cov), rule=ratio(target_coverage, 0))
            )
        else:
            out.append(
                _(
                    "Pipeline coverage is {coverage} (≥ {rule}): focus on conversion, not volume."
                ).format(coverage=ratio(cov), rule=ratio(target_coverage, 0))
            )
    if by_source is not None and len(by_source) >= 2:
        best, worst = by_source.iloc[0], by_source.iloc[-1]
        if best["ci_low"] > worst["ci_high"]:
            out.append(
                _(
                    "Source **{best}** wins {best_rate} vs {worst_rate} for **{worst}** "
                    "(confidence intervals do not overlap): shift lead budget toward it."
                ).format(
                    best=best.iloc[0],
                    best_rate=percent(best["win_rate"], 0),
                    worst_rate=percent(worst["win_rate"], 0),
                    worst=worst.iloc[0],
                )
            )
        else:
            out.append(
                _(
                    "Win rates by source overlap within their confidence intervals: "
                    "no source is proven better yet."
                )
            )
    if by_rep is not None and len(by_rep) >= 3:
        wr = figures.get("win_rate")
        low = (
            by_rep[by_rep["ci_high"] < wr]
            if wr is not None and not pd.isna(wr)
            else by_rep.iloc[0:0]
        )
        if len(low):
            names = _comma().join(str(x) for x in low.iloc[:, 0].head(5))
            out.append(
                _(
                    "Coach {names}: their win rate is below the team's even at the top of the "
                    "interval."
                ).format(names=names)
            )
    mc = figures.get("median_cycle_days")
    if mc is not None and not pd.isna(mc):
        out.append(
            _(
                "Median sales cycle is {days} days: forecast deals created now to close around then."
            ).format(days=count(mc))
        )
    if not out:
        out.append(_("Not enough closed deals to recommend anything yet."))
    return "\n".join(f"- {x}" for x in out)


def step_scopes(period: Period) -> dict:
    """What each population of the funnel chart counts (its legend), for ``period``.

    >>> from salesnb.model.periods import parse_period
    >>> step_scopes(parse_period("2026-Q3"))["stages"]
    'deals created before 2026-10-01, by stage reached'
    """
    label = period_label(period.label)
    return {
        "leads": _("leads created in {period}").format(period=label),
        "won": _("deals won in {period}").format(period=label),
        "stages": _("deals created before {day}, by stage reached").format(day=_day(period.end)),
    }


def unpriced_note(stages: Sequence[str]) -> str:
    """The note on open stages left out of the expected value (no win probability for them).

    >>> unpriced_note(["A", "B"])[:34]
    '**No win probability for A, B** — '
    """
    return _(
        "**No win probability for {stages}** — no deal has closed from there and no deal closed "
        "in scope for an overall win rate: left out of the expected value until deals close."
    ).format(stages=_comma().join(stages))


def no_open_pipeline_note(as_of) -> str:
    """The note of a day with no open deal."""
    return _("**Open pipeline: none** — no deal is open on {day}.").format(day=_day(as_of))
