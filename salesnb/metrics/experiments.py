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
uplift, otherwise *keep testing*.

Power
-----
:func:`pilot_sample_size` uses statsmodels ``NormalIndPower`` with Cohen's h
(``proportion_effectsize``) for the deals needed per group.
"""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from scipy import stats
from statsmodels.stats.power import NormalIndPower
from statsmodels.stats.proportion import proportion_effectsize, proportions_ztest

from salesnb.metrics import require_columns


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
    p["treat_month"] = p["rep_id"].map(first)
    p = p[~(p["month"] == p["rep_id"].map(partial))]
    p = p[p["revenue"] > 0].copy()
    p["treated"] = p["treat_month"].notna()
    p["post"] = p["treated"] & (p["month"] >= p["treat_month"])
    p["trained_after"] = p["post"]
    p["log_revenue"] = np.log(p["revenue"])
    m0 = p["month"].min()
    p["t"] = (p["month"].dt.year - m0.year) * 12 + p["month"].dt.month - m0.month
    tm = p["treat_month"]
    p["rel_month"] = np.where(
        p["treated"],
        (p["month"].dt.year - tm.dt.year) * 12 + p["month"].dt.month - tm.dt.month,
        np.nan,
    )
    p.attrs["program"] = program
    return p.sort_values(["rep_id", "month"]).reset_index(drop=True)


def did_problem(panel: pd.DataFrame) -> str | None:
    """Why the DiD cannot be estimated from this panel (None when it can)."""
    require_columns(panel, ["rep_id", "treated", "trained_after"], "DiD panel")
    if not panel["treated"].any():
        return "no trained rep has revenue in this scope"
    if panel["treated"].all():
        return "every rep in this scope was trained: there is no comparison group"
    if not panel["trained_after"].any():
        return "the period ends before the training took effect"
    if not (panel["treated"] & ~panel["trained_after"]).any():
        return "no months before the training to compare with"
    return None


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
    fit = smf.ols("log_revenue ~ D + C(rep_id) + C(month_s)", data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["rep_id"])[0]}
    )
    coef = float(fit.params["D"])
    low, high = (float(x) for x in fit.conf_int(alpha).loc["D"])
    return {
        "coef": coef,
        "se": float(fit.bse["D"]),
        "p_value": float(fit.pvalues["D"]),
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
    Returns the four cell means, ``coef`` and ``uplift`` (exp(coef) - 1).
    """
    require_columns(panel, ["month", "log_revenue", "treated", "treat_month"], "DiD panel")
    start = panel["treat_month"].min()
    after = np.where(
        panel["treated"], panel["month"] >= panel["treat_month"], panel["month"] >= start
    )
    g = panel.groupby([panel["treated"], after])["log_revenue"].mean()
    cells = {
        "trained_before": g[(True, False)],
        "trained_after": g[(True, True)],
        "control_before": g[(False, False)],
        "control_after": g[(False, True)],
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
    Returns trend_diff (log points per month), p_value, months.
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
    if pre["month"].nunique() < 3 or pre["treated"].nunique() < 2:
        return {
            "trend_diff": float("nan"),
            "p_value": float("nan"),
            "months": int(pre["month"].nunique()),
        }
    fit = smf.ols("log_revenue ~ tt + C(rep_id) + C(month_s)", data=pre).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(pre["rep_id"])[0]}
    )
    return {
        "trend_diff": float(fit.params["tt"]),
        "p_value": float(fit.pvalues["tt"]),
        "months": int(pre["month"].nunique()),
    }


def event_study(
    panel: pd.DataFrame, bin_months: int = 3, lo: int = -6, hi: int = 4, alpha: float = 0.05
) -> pd.DataFrame:
    """Effect per period relative to training (quarters by default), reference = the period before.

    Bins outside [lo, hi] are pooled into the end bins. Returns rel_period, coef, low, high,
    uplift (exp(coef) - 1); the reference period has coef 0. ``attrs["pre_p_value"]`` is the
    joint Wald test that every period before training has coef 0 (NaN without such periods).
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
    formula = "log_revenue ~ " + " + ".join(names.values()) + " + C(rep_id) + C(month_s)"
    fit = smf.ols(formula, data=d).fit(
        cov_type="cluster", cov_kwds={"groups": pd.factorize(d["rep_id"])[0]}
    )
    ci = fit.conf_int(alpha)
    rows = [{"rel_period": -1, "coef": 0.0, "low": 0.0, "high": 0.0}]
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
    closed deals count as 0 deals. Returns pilot_rate, control_rate, uplift (points, as a
    fraction), uplift_low, uplift_high, p_value (z-test), p_value_clustered (LPM with
    unit-clustered SE), revenue_uplift (difference in mean won amount per unit),
    revenue_p_value (Welch), deals and units per group, verdict, reason.
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
    _, p_z = proportions_ztest(k, n)
    se = math.sqrt(rates[0] * (1 - rates[0]) / n[0] + rates[1] * (1 - rates[1]) / n[1])
    z = stats.norm.ppf(1 - alpha / 2)
    low, high = diff - z * se, diff + z * se
    # unit-level check: deals of one rep are correlated, so cluster by unit (grouped LPM)
    uu = u[u["closed"] > 0].assign(
        rate=lambda x: x["won"] / x["closed"], is_pilot=lambda x: (x["group"] == "pilot") * 1.0
    )
    p_cl = float("nan")
    if uu["unit_id"].nunique() >= 4:
        fit = smf.wls("rate ~ is_pilot", data=uu, weights=uu["closed"]).fit(
            cov_type="cluster", cov_kwds={"groups": pd.factorize(uu["unit_id"])[0]}
        )
        p_cl = float(fit.pvalues["is_pilot"])
    wa_p = u.loc[u["group"] == "pilot", "won_amount"].astype(float)
    wa_c = u.loc[u["group"] == "control", "won_amount"].astype(float)
    rev_p = (
        float(stats.ttest_ind(wa_p, wa_c, equal_var=False).pvalue)
        if len(wa_p) > 1 and len(wa_c) > 1
        else float("nan")
    )
    p_decide = max(p_z, p_cl) if np.isfinite(p_cl) else p_z
    if p_decide < alpha and diff > 0:
        verdict, reason = (
            "roll out",
            f"win rate +{diff:.1%} points, significant (p = {p_decide:.2g})",
        )
    elif p_decide < alpha and diff < 0:
        verdict, reason = "stop", f"win rate {diff:+.1%} points, significantly worse"
    elif high < mde:
        verdict, reason = "stop", f"the interval rules out an uplift of {mde:.0%} points or more"
    else:
        verdict, reason = (
            "keep testing",
            f"uplift {diff:+.1%} points not yet distinguishable from noise (p = {p_decide:.2g})",
        )
    return {
        "pilot_rate": float(rates[0]),
        "control_rate": float(rates[1]),
        "uplift": float(diff),
        "uplift_low": float(low),
        "uplift_high": float(high),
        "p_value": float(p_z),
        "p_value_clustered": p_cl,
        "revenue_uplift": float(wa_p.mean() - wa_c.mean()),
        "revenue_p_value": rev_p,
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
        return f"no closed deals yet in the {' and '.join(empty)} group(s) in this scope"
    return None


def pilot_sample_size(
    baseline: float, mde: float, alpha: float = 0.05, power: float = 0.8, ratio: float = 1.0
) -> int:
    """Deals needed per group to detect a win-rate rise from ``baseline`` to ``baseline + mde``.

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


def power_curve(
    baseline: float, n_per_group: int, uplifts=None, alpha: float = 0.05
) -> pd.DataFrame:
    """Power to detect each uplift with ``n_per_group`` deals per group. Returns uplift, power."""
    uplifts = np.linspace(0.01, 0.15, 15) if uplifts is None else np.asarray(uplifts, dtype=float)
    uplifts = uplifts[baseline + uplifts < 1]
    h = np.abs(proportion_effectsize(baseline + uplifts, baseline))
    pw = NormalIndPower().power(effect_size=h, nobs1=n_per_group, alpha=alpha, ratio=1.0)
    return pd.DataFrame({"uplift": uplifts, "power": np.asarray(pw, dtype=float)})


def experiments_actions(
    did: dict | None = None,
    trends: dict | None = None,
    pilot: dict | None = None,
    next_n: int | None = None,
    mde: float = 0.05,
    program: str | None = None,
    pilot_name: str | None = None,
) -> str:
    """The "What to do" bullets, computed from the study's numbers (markdown)."""
    out = []
    if did is not None:
        sig = did["uplift_low"] > 0 or did["uplift_high"] < 0
        out.append(
            f"- Training '{program}': trained reps sell **{did['uplift']:+.1%}** vs their counterfactual "
            f"(95 % CI {did['uplift_low']:+.1%} to {did['uplift_high']:+.1%})"
            + (
                "; extend it to the untrained reps."
                if sig and did["uplift"] > 0
                else "; not distinguishable from zero — do not scale it on this evidence."
                if not sig
                else "; it hurts — stop it."
            )
        )
        if (
            trends is not None
            and np.isfinite(trends.get("p_value", np.nan))
            and trends["p_value"] < 0.05
        ):
            out.append(
                f"- Caution: trained reps were already on a different trend before training "
                f"(p = {trends['p_value']:.2g}); the DiD may be biased."
            )
    if pilot is not None:
        out.append(f"- Pilot '{pilot_name}': **{pilot['verdict']}** — {pilot['reason']}.")
    if next_n is not None:
        out.append(
            f"- To detect a {mde:.0%}-point win-rate uplift next time, plan for **{next_n:,}** closed "
            "deals per group (80 % power, 5 % two-sided)."
        )
    return "\n".join(out) or "- No experiment data in this warehouse."


__all__ = [
    "did_panel",
    "training_did",
    "did_2x2",
    "parallel_trends",
    "event_study",
    "trend_by_group",
    "pilot_evaluation",
    "pilot_sample_size",
    "power_curve",
    "experiments_actions",
]
