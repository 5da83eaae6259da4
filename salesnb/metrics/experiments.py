"""Experiments: the training effect (difference-in-differences), pilot evaluation, power.

Training effect
---------------
:func:`did_panel` builds a rep x month panel of log revenue; a rep is
*treated* from the first full month after its training date (the month of
the training itself is dropped when training happened after the 1st).
:func:`training_did` fits, with statsmodels OLS,
``log(revenue) ~ trained_after + C(rep) + C(month)`` (two-way fixed effects)
with standard errors clustered by rep. The headline uplift is
``exp(coef) - 1``: trained reps' revenue relative to what they would have sold
without training (their counterfactual), and the interval is ``exp`` of the
coefficient's 95 % interval minus 1. Rep-months with no positive revenue
are left out (log of zero). :func:`parallel_trends` tests, on the months
before training only, whether trained reps were already on a different
linear trend (p-value of ``treated x month index`` with the same fixed
effects); :func:`event_study` gives the effect per quarter relative to the
training (reference: the quarter before).

Pilot
-----
:func:`pilot_evaluation` compares the win rate (won / closed) of deals
belonging to pilot vs control units with a two-proportion z-test
(statsmodels ``proportions_ztest``; Wald interval for the difference), and
checks it with a unit-clustered linear probability model, since deals of the
same rep are not independent. Revenue per unit is compared with Welch's
t-test. The verdict uses the more cautious of the two p-values:
*roll out* when the uplift is significant and positive, *stop* when it is
significantly negative or the interval rules out the minimum worthwhile
uplift, otherwise *keep testing*. When a group won all or none of its deals
the Wald interval collapses to a point, so the difference then gets
Newcombe's score interval (``confint_proportions_2indep``); when both groups
won all or none, the rates cannot differ and the verdict is *not testable*.

Power
-----
:func:`pilot_sample_size` uses statsmodels ``NormalIndPower`` with Cohen's h
(``proportion_effectsize``) for the deals needed per group;
:func:`next_pilot_size` says *not testable*, with the reason, for a baseline
of 0 % or 100 % (or one the uplift would push past 100 %).

Too little data never raises in a study: :func:`did_problem`,
:func:`pilot_problem` and the ``problem`` entries of :func:`parallel_trends`
and :func:`event_study` say what is missing instead.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import (
    confint_proportions_2indep,
    proportion_effectsize,
    proportions_ztest,
)

from salesnb.formatting import p_value as p_text
from salesnb.formatting import points
from salesnb.i18n import N_, _, date_label, language
from salesnb.metrics import require_columns
from salesnb.metrics.funnel import win_rate_intervals

# the verdicts of a pilot (values of the study's JSON; shown translated on the page)
VERDICTS = (N_("roll out"), N_("stop"), N_("keep testing"), N_("not testable"))
# the units a pilot assigns (named translated on the page)
UNIT_TYPES = (N_("rep"), N_("customer"), N_("region"))


def _pts(x: float, plus: bool = False) -> str:
    """A difference of win rates in points: ``+7.4% points`` (``+7.4 个百分点`` in Chinese);
    ``plus``: a sign only when positive, as ``+{x:.1%}`` writes it."""
    if language() == "en":
        return (f"+{x:.1%}" if plus else f"{x:+.1%}") + " points"
    return points(x)


def _whole_pts(x: float) -> str:
    """A whole number of points: ``5% points`` (``5 个百分点`` in Chinese)."""
    return f"{x:.0%} points" if language() == "en" else f"{x * 100:.0f} 个百分点"


def _month_start(d) -> pd.Timestamp:
    d = pd.Timestamp(d)
    return pd.Timestamp(d.year, d.month, 1)


def did_panel(
    rep_month: pd.DataFrame,
    trainings: pd.DataFrame,
    program: str | None = None,
    month_col: str = "month",
    revenue_col: str = "revenue",
) -> pd.DataFrame:
    """Rep x month panel for the DiD.

    ``rep_month``: rep_id, month (month start), revenue. ``trainings``: rep_id, program, date.
    ``program``: which program (default: the one with most reps). Returns rep_id, month,
    revenue, log_revenue, treated (rep ever trained), treat_month (first treated month; NaT
    for controls), post (month >= treat_month), trained_after (treated & post), t (month
    index), rel_month (months since treat_month; NaN for controls).

    >>> rm = pd.DataFrame({"rep_id": ["a", "a", "b", "b"], "month": pd.to_datetime(["2025-01-01", "2025-02-01"] * 2),
    ...                    "revenue": [100.0, 120.0, 100.0, 100.0]})
    >>> tr = pd.DataFrame({"rep_id": ["a"], "program": ["X"], "date": pd.to_datetime(["2025-02-01"])})
    >>> did_panel(rm, tr)["trained_after"].tolist()
    [False, True, False, False]
    """
    require_columns(rep_month, ["rep_id", month_col, revenue_col], "rep-month revenue")
    require_columns(trainings, ["rep_id", "program", "date"], "trainings")
    tr = trainings.copy()
    if program is None or program == "":
        program = tr["program"].value_counts().sort_index().idxmax() if len(tr) else None
    tr = tr[tr["program"] == program]
    dates = pd.to_datetime(tr.groupby("rep_id")["date"].min())
    # treated from the first full month after training; the training month itself is partial
    first = dates.map(
        lambda d: _month_start(d) if d.day == 1 else _month_start(d) + pd.DateOffset(months=1)
    )
    partial = dates.map(lambda d: _month_start(d) if d.day != 1 else pd.NaT)
    p = rep_month[["rep_id", month_col, revenue_col]].rename(
        columns={month_col: "month", revenue_col: "revenue"}
    )
    p = p.assign(month=pd.to_datetime(p["month"]).dt.to_period("M").dt.to_timestamp())
    p = p.groupby(["rep_id", "month"], as_index=False)["revenue"].sum()
    # map through dicts: an empty Series of dates (nobody trained) cannot be used as a mapper
    p["treat_month"] = pd.to_datetime(p["rep_id"].map(first.to_dict()))
    p = p[~(p["month"] == pd.to_datetime(p["rep_id"].map(partial.to_dict())))]
    p = p[p["revenue"] > 0].copy()
    p["treated"] = p["treat_month"].notna()
    p["post"] = p["treated"] & (p["month"] >= p["treat_month"])
    p["trained_after"] = p["post"]
    p["log_revenue"] = np.log(p["revenue"])
    m0 = p["month"].min() if len(p) else pd.Timestamp("2000-01-01")
    p["t"] = (p["month"].dt.year - m0.year) * 12 + p["month"].dt.month - m0.month
    tm = p["treat_month"]
    p["rel_month"] = np.where(
        p["treated"],
        (p["month"].dt.year - tm.dt.year) * 12 + p["month"].dt.month - tm.dt.month,
        np.nan,
    )
    p.attrs["program"] = program
    return p.sort_values(["rep_id", "month"]).reset_index(drop=True)


def did_problem(panel: pd.DataFrame, min_reps: int = 2) -> str | None:
    """Why the DiD cannot be estimated from this panel (None when it can).

    It needs trained and untrained reps (``min_reps`` of each at least: standard errors are
    clustered by rep), months before and after the training, and more rep-months than the
    model has rep and month effects.

    >>> rm = pd.DataFrame({"rep_id": ["a", "a"], "month": pd.to_datetime(["2025-01-01", "2025-02-01"]),
    ...                    "revenue": [100.0, 120.0]})
    >>> tr = pd.DataFrame({"rep_id": ["a"], "program": ["X"], "date": pd.to_datetime(["2025-02-01"])})
    >>> did_problem(did_panel(rm, tr))
    'only one rep in this scope: the DiD needs trained and untrained reps to compare'
    """
    require_columns(panel, ["rep_id", "treated", "trained_after"], "DiD panel")
    if panel.empty:
        return _("no rep has revenue in this scope")
    if panel.attrs.get("program", "") is None:
        return _("the trainings table lists no training for reps in this scope")
    if panel["rep_id"].nunique() < 2:
        return _("only one rep in this scope: the DiD needs trained and untrained reps to compare")
    if not panel["treated"].any():
        return _("no trained rep has revenue in this scope")
    if panel["treated"].all():
        return _("every rep in this scope was trained: there is no comparison group")
    if not panel["trained_after"].any():
        return _("the period ends before the training took effect")
    if not (panel["treated"] & ~panel["trained_after"]).any():
        return _("no months before the training to compare with")
    n_t = panel.loc[panel["treated"], "rep_id"].nunique()
    n_c = panel.loc[~panel["treated"], "rep_id"].nunique()
    if min(n_t, n_c) < min_reps:
        return _(
            "{trained} trained and {untrained} untrained rep(s): too few to estimate the effect "
            "with rep-clustered errors (it needs {n} or more in each group)"
        ).format(trained=n_t, untrained=n_c, n=min_reps)
    effects = panel["rep_id"].nunique() + panel["month"].nunique()
    if len(panel) <= effects:
        return _(
            "{n} rep-months are too few for {effects} rep and month effects (more months of "
            "revenue would fill it)"
        ).format(n=len(panel), effects=effects)
    return None


def _two_way_fe(d: pd.DataFrame, y: str, x: str):
    """OLS of ``y`` on ``x`` with rep and month fixed effects, SE clustered by rep: the model
    ``y ~ x + C(rep_id) + C(month_s)`` (coefficients: intercept, ``x``, then the effects),
    with its design built here instead of by patsy's formula parser, which cost ~0.1 s a fit
    (the training-needs section fits one per programme and skill). Same columns, same
    reference levels (the first, sorted), rows with a missing value dropped as patsy does."""
    from statsmodels.regression.linear_model import OLS

    d = d.dropna(subset=[y, x, "rep_id", "month_s"])
    fe = pd.get_dummies(d[["rep_id", "month_s"]].astype(str), drop_first=True, dtype=float)
    design = np.column_stack([np.ones(len(d)), d[x].to_numpy(dtype=float), fe.to_numpy()])
    return OLS(d[y].to_numpy(dtype=float), design).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["rep_id"])[0]}
    )


def training_did(panel: pd.DataFrame, alpha: float = 0.05) -> dict:
    """Two-way fixed-effects DiD on log revenue, SE clustered by rep (see module docstring).

    Returns coef, se, p_value, uplift (exp(coef) - 1), uplift_low, uplift_high, trained_reps,
    control_reps, observations.
    """
    require_columns(
        panel, ["rep_id", "month", "log_revenue", "trained_after", "treated"], "DiD panel"
    )
    d = panel.assign(
        D=panel["trained_after"].astype(float), month_s=panel["month"].dt.strftime("%Y-%m")
    )
    n_t = d.loc[d["treated"], "rep_id"].nunique()
    n_c = d.loc[~d["treated"], "rep_id"].nunique()
    if n_t == 0 or n_c == 0 or d["D"].sum() == 0:
        raise ValueError("the DiD needs trained and untrained reps, and months after the training")
    fit = _two_way_fe(d, "log_revenue", "D")
    coef = float(fit.params[1])
    low, high = (float(x) for x in fit.conf_int(alpha)[1])
    return {
        "coef": coef,
        "se": float(fit.bse[1]),
        "p_value": float(fit.pvalues[1]),
        "uplift": math.expm1(coef),
        "uplift_low": math.expm1(low),
        "uplift_high": math.expm1(high),
        "trained_reps": int(n_t),
        "control_reps": int(n_c),
        "observations": int(fit.nobs),
    }


def did_2x2(panel: pd.DataFrame) -> dict:
    """The plain 2x2 difference of mean log revenue (check on :func:`training_did`).

    "After" for control reps means months from the earliest training month on.
    Returns the four cell means, ``coef`` and ``uplift`` (exp(coef) - 1); ``coef`` and
    ``uplift`` are NaN when a cell has no rep-month (e.g. no control month before training).
    """
    require_columns(panel, ["month", "log_revenue", "treated", "treat_month"], "DiD panel")
    start = panel["treat_month"].min()
    after = np.where(
        panel["treated"], panel["month"] >= panel["treat_month"], panel["month"] >= start
    )
    g = panel.groupby([panel["treated"], after])["log_revenue"].mean()
    cells = {
        "trained_before": g.get((True, False), np.nan),
        "trained_after": g.get((True, True), np.nan),
        "control_before": g.get((False, False), np.nan),
        "control_after": g.get((False, True), np.nan),
    }
    coef = (cells["trained_after"] - cells["trained_before"]) - (
        cells["control_after"] - cells["control_before"]
    )
    return {
        **{k: float(v) for k, v in cells.items()},
        "coef": float(coef),
        "uplift": math.expm1(coef),
    }


def parallel_trends(panel: pd.DataFrame) -> dict:
    """Pre-period trend difference test: p-value of treated x month index before training.

    Uses months before each trained rep's treat month, and for controls months before the
    earliest treat month, with rep and month fixed effects and rep-clustered SE.
    Returns trend_diff (log points per month), p_value, months and problem: None, or why the
    test cannot be run (then trend_diff and p_value are NaN).
    """
    require_columns(
        panel, ["rep_id", "month", "log_revenue", "treated", "treat_month", "t"], "DiD panel"
    )
    start = panel["treat_month"].min()
    pre = panel[
        np.where(panel["treated"], panel["month"] < panel["treat_month"], panel["month"] < start)
    ]
    pre = pre.assign(
        tt=pre["t"] * pre["treated"].astype(float), month_s=pre["month"].dt.strftime("%Y-%m")
    )
    months = int(pre["month"].nunique())
    problem = None
    if months < 3:
        problem = _("{n} month(s) of revenue before the training: the test needs 3 or more").format(
            n=months
        )
    elif pre["treated"].nunique() < 2:
        problem = _("before the training only one group (trained or untrained) has revenue")
    elif min(pre.groupby("treated")["rep_id"].nunique()) < 2:
        problem = _("fewer than 2 reps in a group before the training")
    if problem is None:
        fit = smf.ols("log_revenue ~ tt + C(rep_id) + C(month_s)", data=pre).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(pre["rep_id"])[0]}
        )
        diff, p_value = float(fit.params["tt"]), float(fit.pvalues["tt"])
        if np.isfinite(p_value):
            return {"trend_diff": diff, "p_value": p_value, "months": months, "problem": None}
        problem = _(
            "the trend difference has no standard error (too little variation before training)"
        )
    return {
        "trend_diff": float("nan"),
        "p_value": float("nan"),
        "months": months,
        "problem": problem,
    }


def event_study(
    panel: pd.DataFrame, bin_months: int = 3, lo: int = -6, hi: int = 4, alpha: float = 0.05
) -> pd.DataFrame:
    """Effect per period relative to training (quarters by default), reference = the period before.

    Bins outside [lo, hi] are pooled into the end bins. Returns rel_period, coef, low, high,
    uplift (exp(coef) - 1); the reference period has coef 0. ``attrs["pre_p_value"]`` is the
    joint Wald test that every period before training has coef 0 (NaN without such periods);
    ``attrs["problem"]`` says why there is only the reference row, when the data is too thin.
    """
    require_columns(panel, ["rep_id", "month", "log_revenue", "treated", "rel_month"], "DiD panel")
    d = panel.assign(month_s=panel["month"].dt.strftime("%Y-%m"))
    rel = np.floor(d["rel_month"] / bin_months).clip(lo, hi)
    names = {}
    for k in range(lo, hi + 1):
        if k == -1:
            continue
        name = f"ev_m{-k}" if k < 0 else f"ev_p{k}"
        d[name] = ((rel == k) & d["treated"]).astype(float)
        if d[name].sum() > 0:
            names[k] = name
    rows = [{"rel_period": -1, "coef": 0.0, "low": 0.0, "high": 0.0}]
    if not names or len(d) <= len(names) + d["rep_id"].nunique() + d["month_s"].nunique():
        out = pd.DataFrame(rows).assign(uplift=0.0)
        out.attrs["pre_p_value"] = float("nan")
        out.attrs["problem"] = (
            _("no month of a trained rep lies outside the reference period")
            if not names
            else _("too few rep-months for an effect per period")
        )
        return out
    formula = "log_revenue ~ " + " + ".join(names.values()) + " + C(rep_id) + C(month_s)"
    fit = smf.ols(formula, data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["rep_id"])[0]}
    )
    ci = fit.conf_int(alpha)
    for k, name in names.items():
        rows.append(
            {
                "rel_period": k,
                "coef": float(fit.params[name]),
                "low": float(ci.loc[name, 0]),
                "high": float(ci.loc[name, 1]),
            }
        )
    out = pd.DataFrame(rows).sort_values("rel_period").reset_index(drop=True)
    out["uplift"] = np.expm1(out["coef"])
    # One joint test for "no difference before training": with several pre-periods, one of
    # them missing zero at 95 % happens by chance alone, so single intervals do not decide.
    pre = [name for k, name in names.items() if k < -1]
    out.attrs["pre_p_value"] = (
        float(fit.wald_test(", ".join(f"{n} = 0" for n in pre), scalar=True).pvalue)
        if pre
        else float("nan")
    )
    out.attrs["problem"] = None
    return out


def trend_by_group(panel: pd.DataFrame) -> pd.DataFrame:
    """Mean log revenue per month for trained and untrained reps (for the trends chart)."""
    require_columns(panel, ["month", "treated", "log_revenue"], "DiD panel")
    g = panel.groupby(["month", "treated"], as_index=False)["log_revenue"].mean()
    g["group"] = np.where(g["treated"], "trained", "not trained")
    return g


def pilot_evaluation(
    units: pd.DataFrame, assignment: pd.DataFrame, alpha: float = 0.05, mde: float = 0.05
) -> dict:
    """Pilot vs control on win rate (and won amount per unit).

    ``units``: unit_id, closed, won, won_amount (deals of each unit since the pilot start);
    ``assignment``: unit_id, group ('pilot' / 'control'). Units in the assignment with no
    closed deals count as 0 deals. Returns pilot_rate, control_rate (each with a Wilson
    interval: pilot_ci_low/high, control_ci_low/high), uplift (points, as a fraction),
    uplift_low, uplift_high, p_value (z-test), p_value_clustered (LPM with unit-clustered SE),
    revenue_uplift (difference in mean won amount per unit), revenue_p_value (Welch), deals
    and units per group, verdict, reason. A p-value that cannot be computed (fewer than 4
    units for the clustered check, fewer than 2 per group for Welch, both groups at 0 % or
    100 %) is None, and the verdict is then *not testable* when the z-test itself has none.

    >>> u = pd.DataFrame({"unit_id": ["p", "c"], "closed": [10, 8], "won": [10, 8]})
    >>> a = pd.DataFrame({"unit_id": ["p", "c"], "group": ["pilot", "control"]})
    >>> r = pilot_evaluation(u, a)
    >>> r["verdict"], r["p_value"], round(r["uplift_high"], 3)
    ('not testable', None, 0.324)
    """
    require_columns(units, ["unit_id", "closed", "won"], "pilot deals")
    require_columns(assignment, ["unit_id", "group"], "pilot assignment")
    a = assignment[["unit_id", "group"]].astype({"unit_id": "str"}).drop_duplicates("unit_id")
    u = a.merge(units.astype({"unit_id": "str"}), on="unit_id", how="left")
    for c in ("closed", "won", "won_amount"):
        if c not in u.columns:
            u[c] = 0.0
        u[c] = u[c].fillna(0)
    grp = u.groupby("group")[["closed", "won"]].sum()
    if not {"pilot", "control"} <= set(grp.index) or (grp["closed"] == 0).any():
        raise ValueError("the pilot needs closed deals in both the pilot and the control group")
    k = grp.loc[["pilot", "control"], "won"].to_numpy(dtype="float64")
    n = grp.loc[["pilot", "control"], "closed"].to_numpy(dtype="float64")
    rates = k / n
    diff = rates[0] - rates[1]
    pooled = k.sum() / n.sum()
    # both groups all won or all lost: no variance, the z statistic is 0 / 0
    p_z = float(proportions_ztest(k, n)[1]) if 0 < pooled < 1 else float("nan")
    if ((rates > 0) & (rates < 1)).all():
        se = math.sqrt(rates[0] * (1 - rates[0]) / n[0] + rates[1] * (1 - rates[1]) / n[1])
        z = stats.norm.ppf(1 - alpha / 2)
        low, high = diff - z * se, diff + z * se
    else:  # a group at 0 % or 100 %: the Wald interval would collapse to a point
        low, high = (
            float(x)
            for x in confint_proportions_2indep(
                k[0], n[0], k[1], n[1], method="newcomb", compare="diff", alpha=alpha
            )
        )
    ci_low, ci_high = win_rate_intervals(k, n, alpha=alpha)
    # unit-level check: deals of one rep are correlated, so cluster by unit (grouped LPM)
    uu = u[u["closed"] > 0].assign(
        rate=lambda x: x["won"] / x["closed"], is_pilot=lambda x: (x["group"] == "pilot") * 1.0
    )
    p_cl = float("nan")
    if uu["unit_id"].nunique() >= 4 and uu["is_pilot"].nunique() == 2 and uu["rate"].std() > 0:
        fit = smf.wls("rate ~ is_pilot", data=uu, weights=uu["closed"]).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(uu["unit_id"])[0]}
        )
        p_cl = float(fit.pvalues["is_pilot"])
    wa_p = u.loc[u["group"] == "pilot", "won_amount"].astype(float)
    wa_c = u.loc[u["group"] == "control", "won_amount"].astype(float)
    rev_p = float("nan")
    if len(wa_p) > 1 and len(wa_c) > 1 and (wa_p.std() > 0 or wa_c.std() > 0):
        rev_p = float(stats.ttest_ind(wa_p, wa_c, equal_var=False).pvalue)
    p_decide = max(p_z, p_cl) if np.isfinite(p_cl) else p_z
    if not np.isfinite(p_decide):
        verdict, reason = (
            "not testable",
            _(
                "every closed deal of both groups was won, so their win rates cannot differ "
                "yet; deals with the other outcome would make it testable"
            )
            if pooled == 1
            else _(
                "every closed deal of both groups was lost, so their win rates cannot differ "
                "yet; deals with the other outcome would make it testable"
            ),
        )
    elif p_decide < alpha and diff > 0:
        verdict, reason = (
            "roll out",
            _("win rate {uplift}, significant ({p})").format(
                uplift=_pts(diff, plus=True), p=p_text(p_decide)
            ),
        )
    elif p_decide < alpha and diff < 0:
        verdict = "stop"
        reason = _("win rate {uplift}, significantly worse").format(uplift=_pts(diff))
    elif high < mde:
        verdict = "stop"
        reason = _("the interval rules out an uplift of {mde} or more").format(mde=_whole_pts(mde))
    else:
        verdict, reason = (
            "keep testing",
            _("uplift {uplift} not yet distinguishable from noise ({p})").format(
                uplift=_pts(diff), p=p_text(p_decide)
            ),
        )

    def _p(x: float) -> float | None:
        return float(x) if np.isfinite(x) else None

    return {
        "pilot_rate": float(rates[0]),
        "control_rate": float(rates[1]),
        "pilot_ci_low": float(ci_low[0]),
        "pilot_ci_high": float(ci_high[0]),
        "control_ci_low": float(ci_low[1]),
        "control_ci_high": float(ci_high[1]),
        "uplift": float(diff),
        "uplift_low": float(low),
        "uplift_high": float(high),
        "p_value": _p(p_z),
        "p_value_clustered": _p(p_cl),
        "revenue_uplift": float(wa_p.mean() - wa_c.mean()),
        "revenue_p_value": _p(rev_p),
        "pilot_deals": int(n[0]),
        "control_deals": int(n[1]),
        "pilot_units": int((u["group"] == "pilot").sum()),
        "control_units": int((u["group"] == "control").sum()),
        "verdict": verdict,
        "reason": reason,
    }


def pilot_problem(units: pd.DataFrame, assignment: pd.DataFrame) -> str | None:
    """Why a pilot cannot be evaluated yet (None when it can): a group without closed deals."""
    require_columns(units, ["unit_id", "closed"], "pilot deals")
    require_columns(assignment, ["unit_id", "group"], "pilot assignment")
    closed = assignment.astype({"unit_id": "str"}).merge(
        units.astype({"unit_id": "str"}), on="unit_id", how="left"
    )
    per_group = closed.groupby("group")["closed"].sum()
    empty = [g for g in ("pilot", "control") if per_group.get(g, 0) == 0]
    if empty:
        if len(empty) == 2:
            return _("no closed deals yet in the pilot and control group(s) in this scope")
        if empty == ["pilot"]:
            return _("no closed deals yet in the pilot group(s) in this scope")
        return _("no closed deals yet in the control group(s) in this scope")
    return None


def pilot_sample_size(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> int:
    """Deals needed per group to detect a win-rate rise from ``baseline`` to ``baseline + mde``.

    Raises ``ValueError`` outside (0, 1); in a study use :func:`next_pilot_size`, which says
    *not testable* there instead.

    >>> pilot_sample_size(0.5, 0.1)  # Cohen's h = 0.201; normal approximation
    388
    """
    if not 0 < baseline < 1 or not 0 < baseline + mde < 1:
        raise ValueError(
            f"baseline {baseline} and baseline + mde {baseline + mde} must lie in (0, 1)"
        )
    h = abs(proportion_effectsize(baseline + mde, baseline))
    n = NormalIndPower().solve_power(
        effect_size=h, alpha=alpha, power=power, ratio=ratio, alternative="two-sided"
    )
    return int(math.ceil(n))


def next_pilot_size(baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8) -> dict:
    """Deals per group for the next pilot, or *not testable* with the reason.

    Returns ``n_per_group`` (None when not testable), ``status`` ("ok" / "not testable") and
    ``reason``. A baseline of 0 % or 100 % is not testable: it is what a group looks like
    before its first won (or lost) deal, not a win rate to plan from; nor is an uplift that
    would take the win rate to 100 % or beyond.

    >>> next_pilot_size(0.5, 0.1)["n_per_group"]
    388
    >>> r = next_pilot_size(1.0, 0.05)
    >>> r["status"], r["n_per_group"], r["reason"]
    ('not testable', None, 'the control win rate is 100 %: every closed control deal was won, so there is no room for an uplift to detect')
    """
    if mde is None or pd.isna(mde) or mde <= 0:
        reason = _("the uplift to detect (mde = {mde}) must be above 0").format(mde=mde)
    elif baseline is None or pd.isna(baseline):
        reason = _("there is no control win rate to start from (no closed control deal)")
    elif baseline <= 0:
        reason = _(
            "the control win rate is 0 %: no control deal was won yet, so there is no win rate "
            "to plan from (won control deals would give one)"
        )
    elif baseline >= 1:
        reason = _(
            "the control win rate is 100 %: every closed control deal was won, so there is no "
            "room for an uplift to detect"
        )
    elif baseline + mde >= 1:
        reason = _("a {rate} win rate cannot rise by {mde} (it would reach 100 %)").format(
            rate=f"{baseline:.0%}", mde=_whole_pts(mde)
        )
    else:
        n = pilot_sample_size(baseline, mde, alpha=alpha, power=power)
        return {"n_per_group": n, "status": "ok", "reason": ""}
    return {"n_per_group": None, "status": "not testable", "reason": reason}


def power_curve(
    baseline: float, n_per_group: int, uplifts=None, alpha: float = 0.05
) -> pd.DataFrame:
    """Power to detect each uplift with ``n_per_group`` deals per group. Returns uplift, power."""
    uplifts = np.linspace(0.01, 0.15, 15) if uplifts is None else np.asarray(uplifts, dtype=float)
    uplifts = uplifts[baseline + uplifts < 1]
    h = np.abs(proportion_effectsize(baseline + uplifts, baseline))
    pw = NormalIndPower().power(effect_size=h, nobs1=n_per_group, alpha=alpha, ratio=1.0)
    return pd.DataFrame({"uplift": uplifts, "power": np.asarray(pw, dtype=float)})


def _finite(x) -> bool:
    return x is not None and not pd.isna(x) and bool(np.isfinite(x))


def describe_did(did: dict, program: str, two_by_two: dict | None = None) -> str:
    """Markdown: the training effect with its interval (and the plain 2x2 check when it exists).

    >>> d = {"trained_reps": 2, "control_reps": 2, "uplift": 0.1, "uplift_low": float("nan"),
    ...      "uplift_high": float("nan")}
    >>> describe_did(d, "Coaching")
    '**Coaching**: 2 trained vs 2 untrained reps — uplift **+10.0%** (no interval: the rep-clustered standard error cannot be computed).'
    """
    text = _(
        "**{program}**: {trained} trained vs {untrained} untrained reps — uplift **{uplift}**"
    ).format(
        program=program,
        trained=did["trained_reps"],
        untrained=did["control_reps"],
        uplift=f"{did['uplift']:+.1%}",
    )
    if _finite(did["uplift_low"]) and _finite(did["uplift_high"]):
        text += _(" (95 % CI {low} to {high})").format(
            low=f"{did['uplift_low']:+.1%}", high=f"{did['uplift_high']:+.1%}"
        )
    else:
        text += _(" (no interval: the rep-clustered standard error cannot be computed)")
    if two_by_two is not None and _finite(two_by_two.get("uplift")):
        text += _("; plain 2×2: {uplift}").format(uplift=f"{two_by_two['uplift']:+.1%}")
    return text + _(".")


def describe_trends(trends: dict) -> str:
    """Markdown: the pre-training trend test of :func:`parallel_trends`, or why it was not run.

    >>> describe_trends({"trend_diff": float("nan"), "p_value": float("nan"), "months": 1,
    ...                  "problem": "1 month(s) of revenue before the training: the test needs 3 or more"})
    '**Pre-training trends not tested** — 1 month(s) of revenue before the training: the test needs 3 or more.'
    """
    if trends.get("problem") or not _finite(trends.get("p_value")):
        why = trends.get("problem") or _("the test could not be computed")
        return _("**Pre-training trends not tested** — {why}.").format(why=why)
    return _(
        "Pre-training trend difference {diff} log points/month, **{p}** ({months} months)."
    ).format(
        diff=f"{trends['trend_diff']:+.4f}", p=p_text(trends["p_value"]), months=trends["months"]
    )


def describe_pilot(result: dict, name: str, unit_type: str, start) -> str:
    """Markdown: the pilot's win rates, uplift, tests and verdict; a test that cannot be run
    is named with what it needs instead of a p-value."""
    r = result
    day = pd.Timestamp(start)
    text = _(
        "**{name}** ({unit_type} units from {start}): win rate {pilot} vs {control} → "
        "**{uplift}** (95 % CI {low} to {high})"
    ).format(
        name=name,
        unit_type=_(unit_type),
        start=f"{day:%Y-%m-%d}" if language() == "en" else date_label(day.date()),
        pilot=f"{r['pilot_rate']:.1%}",
        control=f"{r['control_rate']:.1%}",
        uplift=_pts(r["uplift"]),
        low=f"{r['uplift_low']:+.1%}",
        high=f"{r['uplift_high']:+.1%}",
    )
    if _finite(r["p_value"]):
        text += _(", {p}").format(p=p_text(r["p_value"]))
        text += (
            _(" (clustered {p})").format(p=p_text(r["p_value_clustered"]))
            if _finite(r["p_value_clustered"])
            else _(
                " (no clustered check: it needs 4 or more units with closed deals and differing "
                "win rates)"
            )
        )
    text += _("; won amount per unit {amount}").format(amount=f"{r['revenue_uplift']:+,.0f}")
    text += (
        _(" (Welch {p})").format(p=p_text(r["revenue_p_value"]))
        if _finite(r["revenue_p_value"])
        else _(" (no Welch test: it needs 2 or more units per group and differing amounts)")
    )
    return text + _(". Verdict: **{verdict}** — {reason}.").format(
        verdict=_(r["verdict"]), reason=r["reason"]
    )


def describe_next_pilot(sizing: dict, baseline: float, mde: float) -> str:
    """Markdown: the deals per group of :func:`next_pilot_size`, or why it is not testable.

    >>> describe_next_pilot(next_pilot_size(0.5, 0.1), 0.5, 0.1)
    'From a 50.0% win rate, detecting +10% points takes **388** closed deals per group.'
    """
    if sizing["n_per_group"] is None:
        return _("**Next pilot size: not testable** — {why}.").format(why=sizing["reason"])
    return _(
        "From a {rate} win rate, detecting +{mde} takes **{n}** closed deals per group."
    ).format(rate=f"{baseline:.1%}", mde=_whole_pts(mde), n=f"{sizing['n_per_group']:,}")


def experiments_actions(
    did: dict | None = None,
    trends: dict | None = None,
    pilot: dict | None = None,
    next_n: int | None = None,
    mde: float = 0.05,
    program: str | None = None,
    pilot_name: str | None = None,
    sizing: dict | None = None,
) -> str:
    """The "What to do" bullets, computed from the study's numbers (markdown).

    ``sizing``: a :func:`next_pilot_size` result; when it is *not testable* its reason is a bullet.
    """
    out = []
    if did is not None:
        out.append(_training_bullet(did, program))
        if trends is not None and _finite(trends.get("p_value")) and trends["p_value"] < 0.05:
            out.append(
                _(
                    "- Caution: trained reps were already on a different trend before training "
                    "({p}); the DiD may be biased."
                ).format(p=p_text(trends["p_value"]))
            )
    if pilot is not None:
        out.append(
            _("- Pilot '{pilot}': **{verdict}** — {reason}.").format(
                pilot=pilot_name, verdict=_(pilot["verdict"]), reason=pilot["reason"]
            )
        )
    if next_n is not None:
        out.append(
            _(
                "- To detect a {mde}-point win-rate uplift next time, plan for **{n}** closed "
                "deals per group (80 % power, 5 % two-sided)."
            ).format(
                mde=f"{mde:.0%}" if language() == "en" else f"{mde * 100:.0f}", n=f"{next_n:,}"
            )
        )
    elif sizing is not None and sizing.get("n_per_group") is None:
        out.append(_("- Next pilot size: not testable — {why}.").format(why=sizing["reason"]))
    return "\n".join(out) or _("- No experiment could be evaluated with the data in this scope.")


def _training_bullet(did: dict, program: str | None) -> str:
    """The training's effect with its interval and what to do about it (markdown bullet)."""
    sig = _finite(did["uplift_low"]) and (did["uplift_low"] > 0 or did["uplift_high"] < 0)
    if sig and did["uplift"] > 0:
        template = _(
            "- Training '{program}': trained reps sell **{uplift}** vs their counterfactual "
            "(95 % CI {low} to {high}); extend it to the untrained reps."
        )
    elif not sig:
        template = _(
            "- Training '{program}': trained reps sell **{uplift}** vs their counterfactual "
            "(95 % CI {low} to {high}); not distinguishable from zero — do not scale it on this "
            "evidence."
        )
    else:
        template = _(
            "- Training '{program}': trained reps sell **{uplift}** vs their counterfactual "
            "(95 % CI {low} to {high}); it hurts — stop it."
        )
    return template.format(
        program=program,
        uplift=f"{did['uplift']:+.1%}",
        low=f"{did['uplift_low']:+.1%}",
        high=f"{did['uplift_high']:+.1%}",
    )


__all__ = [
    "did_panel",
    "training_did",
    "did_2x2",
    "parallel_trends",
    "event_study",
    "trend_by_group",
    "pilot_evaluation",
    "pilot_sample_size",
    "next_pilot_size",
    "power_curve",
    "experiments_actions",
]
