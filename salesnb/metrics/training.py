"""Training needs: each rep's weakest skills, and the programmes that moved them.

Skills
------
:func:`deal_skills` measures, per rep (and per rep-month for the effects), on the deals
closed in the window (won or lost):

- ``conversion:<stage>`` (higher is better): of the closed deals that reached the stage,
  the share that went past it (a won deal went past every stage; a lost deal stopped at
  the stage it was lost in). The stages are the funnel's working stages in the funnel's
  order; a stage no deal was lost in (``Closed``) is not one;
- ``discount`` (lower is better): the mean discount offered on closed deals, won or lost
  (the performance study shows won deals' only; a rep closes six or seven deals for every
  one won, so a handful of won deals, or one deal above authority, does not decide it);
- ``cycle_days`` (lower is better): the mean days from creation to close of closed deals
  (the one cycle-time rule of the funnel and performance studies);
- ``deal_size`` (higher is better): the mean amount of won deals.

Gaps
----
:func:`skill_gaps` compares each rep with the team median: the median of the reps in scope
(the whole sales team, or one team with the ``team`` filter) who hold the same role (a
manager's discount authority is three times a rep's, so a manager is compared with
managers), on every skill measured on at least ``min_deals`` deals. The gap is the shortfall relative to the median, in the skill's bad
direction: ``(median - value) / median`` when higher is better, ``(value - median) /
median`` when lower is better. A gap of ``threshold`` (10 %) or more counts; each rep keeps
its ``per_rep`` largest.

Programme effects
-----------------
:func:`programme_effects` estimates what each programme of ``trainings`` did to each skill
with the experiments study's own estimator, not a second one: the rep x month panel of the
skill goes through :func:`salesnb.metrics.experiments.did_panel` and
:func:`~salesnb.metrics.experiments.training_did` (two-way fixed effects on the log of the
monthly value, attendees from the first full month after the programme against
non-attendees, standard errors clustered by rep), so an effect is relative: -0.30 is 30 %
less discount than the attendees would have given without it. A programme *moved* a skill
when its effect points the good way and its p-value, Holm-adjusted over every programme and
skill tested, is below ``alpha`` (so one of a dozen tests does not pass by chance). Each
programme is measured against every rep who did not take it, as the experiments study
does: when the attendees of two programmes overlap unevenly (most of one's attendees took
the other, few of the rest did), one programme's effect shows in the other's estimate.

Plan
----
:func:`training_plan`: for each gap, the programme that moved that skill most (one the rep
did not attend already), with its expected effect and interval, and what the rep's figure
would become; a gap no programme moved keeps an empty programme (a need without a course).
"""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
from statsmodels.stats.multitest import multipletests

from salesnb import formatting as fmt
from salesnb.formatting import p_value as p_text
from salesnb.i18n import N_, _, language
from salesnb.metrics import experiments as em
from salesnb.metrics import require_columns
from salesnb.model.people import rep_label, rep_names

# the skills measured on every deal set (conversion at each stage comes on top)
SKILLS = {
    "discount": (N_("Discount offered"), -1),
    "cycle_days": (N_("Sales cycle (days)"), -1),
    "deal_size": (N_("Deal size"), +1),
}
CONVERSION = "conversion:"
_CONVERSION_LABEL = N_("Conversion at {stage}")
PLAN_NAME = "training-plan.csv"
PLAN_COLUMNS = [
    "rep_id",
    "rep",
    "metric",
    "skill",
    "value",
    "team_median",
    "gap",
    "programme",
    "expected_effect",
    "effect_low",
    "effect_high",
    "expected_value",
]


def direction(metric: str) -> int:
    """+1 when a higher value of ``metric`` is better, -1 when lower is.

    >>> direction("discount"), direction("conversion:Proposal")
    (-1, 1)
    """
    if metric.startswith(CONVERSION):
        return +1
    return SKILLS[metric][1]


def skill_label(metric: str) -> str:
    """``metric`` as a page names it, in the page's language (stage names as in the data).

    >>> skill_label("conversion:Proposal"), skill_label("deal_size")
    ('Conversion at Proposal', 'Deal size')
    """
    if metric.startswith(CONVERSION):
        return _(_CONVERSION_LABEL).format(stage=metric[len(CONVERSION) :])
    return _(SKILLS[metric][0])


def metric_key(metric: str) -> str:
    """``metric`` as part of a headline key: ``conversion:Proposal`` -> ``conversion_proposal``.

    >>> metric_key("conversion:Proposal"), metric_key("discount")
    ('conversion_proposal', 'discount')
    """
    return re.sub(r"[^0-9a-z]+", "_", metric.lower()).strip("_")


def _working_stages(deals: pd.DataFrame, stages) -> list[str]:
    """The stages deals can be lost in, in the funnel's order (``stages``)."""
    lost_in = set(deals.loc[deals["status"] == "lost", "stage"].dropna().astype(str))
    return [s for s in stages if s in lost_in]


def deal_skills(deals: pd.DataFrame, stages=(), monthly: bool = False) -> pd.DataFrame:
    """The skills of the module docstring per rep (per rep and close month with ``monthly``).

    ``deals``: closed deals, ``rep_id, created_date, close_date, status`` (won / lost),
    ``stage``, ``amount``, ``discount`` (:func:`salesnb.queries.training.closed_deal_rows`);
    ``stages``: the funnel's stage order (no conversion without it). Returns a long frame:
    ``rep_id`` (``month``), ``metric``, ``value``, ``deals`` (the deals behind the value).

    >>> d = pd.DataFrame({"rep_id": ["a"] * 4, "status": ["won", "lost", "lost", "won"],
    ...     "stage": ["Closed", "A", "B", "Closed"], "amount": [10.0, 5, 5, 30],
    ...     "discount": [0.1, 0.0, 0.0, 0.2], "created_date": pd.to_datetime(["2025-01-01"] * 4),
    ...     "close_date": pd.to_datetime(["2025-01-11"] * 4)})
    >>> deal_skills(d, ["A", "B", "Closed"]).set_index("metric")["value"].round(3).to_dict()
    {'conversion:A': 0.75, 'conversion:B': 0.667, 'cycle_days': 10.0, 'deal_size': 20.0, 'discount': 0.075}
    """
    require_columns(deals, ["rep_id", "created_date", "close_date", "status"], "closed deals")
    d = deals.assign(status=deals["status"].astype(str).str.lower())
    keys = ["rep_id"]
    if monthly:
        d = d.assign(month=pd.to_datetime(d["close_date"]).dt.to_period("M").dt.to_timestamp())
        keys.append("month")
    d = d.assign(
        cycle=(pd.to_datetime(d["close_date"]) - pd.to_datetime(d["created_date"])).dt.days
    )
    won = d[d["status"] == "won"]
    parts = [
        _mean(d, keys, "cycle", "cycle_days"),
        _mean(won, keys, "amount", "deal_size") if "amount" in d else None,
        _mean(d, keys, "discount", "discount") if "discount" in d else None,
    ]
    working = _working_stages(d, stages) if "stage" in d else []
    if working:
        pos = {s: i for i, s in enumerate(working)}
        reached = np.where(
            d["status"] == "won", len(working), d["stage"].astype(str).map(pos).astype(float)
        )
        known = ~np.isnan(reached)
        for i, stage in enumerate(working):
            entered = known & (reached >= i)
            g = (
                d.assign(_adv=reached > i)[entered]
                .groupby(keys)["_adv"]
                .agg(value="mean", deals="size")
                .reset_index()
            )
            parts.append(g.assign(metric=CONVERSION + stage))
    parts = [p for p in parts if p is not None and len(p)]
    if not parts:
        return pd.DataFrame(
            {c: pd.Series(dtype="float64" if c == "value" else object) for c in keys}
            | {"metric": pd.Series(dtype=object), "value": pd.Series(dtype="float64")}
            | {"deals": pd.Series(dtype="int64")}
        )
    out = pd.concat(parts, ignore_index=True).dropna(subset=["value"])
    out["deals"] = out["deals"].astype("int64")
    return out[[*keys, "metric", "value", "deals"]].sort_values(
        [*keys, "metric"], kind="stable", ignore_index=True
    )


def _signs(metrics: pd.Series) -> np.ndarray:
    """:func:`direction` of each metric, as numbers (also for an empty column)."""
    return np.array([direction(str(m)) for m in metrics], dtype="float64")


def _mean(d: pd.DataFrame, keys: list, col: str, metric: str) -> pd.DataFrame:
    g = d.dropna(subset=[col]).groupby(keys)[col].agg(value="mean", deals="size").reset_index()
    return g.assign(metric=metric, value=g["value"].astype("float64"))


def skill_gaps(
    skills: pd.DataFrame,
    reps: pd.DataFrame | None = None,
    min_deals: int = 8,
    threshold: float = 0.10,
    per_rep: int = 2,
) -> pd.DataFrame:
    """Each rep's weakest skills against the team median (the rule of the module docstring;
    ``reps``: rep_id and role, when roles are known). Returns ``rep_id, metric, value,
    team_median, gap, deals``, the largest gaps first.

    >>> s = pd.DataFrame({"rep_id": list("abc"), "metric": "discount",
    ...                   "value": [0.05, 0.05, 0.08], "deals": 10})
    >>> skill_gaps(s)[["rep_id", "gap"]].round(2).values.tolist()
    [['c', 0.6]]
    """
    require_columns(skills, ["rep_id", "metric", "value", "deals"], "skills")
    s = skills[skills["deals"] >= min_deals].copy()
    s["_role"] = ""
    if reps is not None and "role" in reps.columns:
        role = reps.drop_duplicates("rep_id").set_index("rep_id")["role"]
        s["_role"] = s["rep_id"].map(role).fillna("").astype(str)
    s["team_median"] = s.groupby(["metric", "_role"])["value"].transform("median")
    sign = s["metric"].map(direction)
    base = s["team_median"].where(s["team_median"] > 0)
    s["gap"] = sign * (s["team_median"] - s["value"]) / base
    s = s[s["gap"] >= threshold]
    s = s.sort_values(["rep_id", "gap", "metric"], ascending=[True, False, True], kind="stable")
    s = s.groupby("rep_id", sort=False).head(per_rep)
    cols = ["rep_id", "metric", "value", "team_median", "gap", "deals"]
    return s.sort_values(["gap", "rep_id"], ascending=[False, True], kind="stable")[
        cols
    ].reset_index(drop=True)


def programme_effects(
    panel: pd.DataFrame, trainings: pd.DataFrame, alpha: float = 0.05, metrics=None
) -> pd.DataFrame:
    """The effect of every programme on every skill (module docstring).

    ``panel``: :func:`deal_skills` with ``monthly=True``; ``trainings``: rep_id, program, date.
    Returns ``programme, metric, effect, effect_low, effect_high, p_value, p_holm, moved,
    attendees, others, problem`` (``problem``: why the effect was not estimated, the
    experiments study's reason; the figures are NaN then).
    """
    require_columns(panel, ["rep_id", "month", "metric", "value"], "skill panel")
    require_columns(trainings, ["rep_id", "program", "date"], "trainings")
    programmes = sorted(trainings["program"].dropna().astype(str).unique())
    metrics = sorted(panel["metric"].unique()) if metrics is None else list(metrics)
    rows = []
    for programme in programmes:
        for metric in metrics:
            frame = panel.loc[panel["metric"] == metric, ["rep_id", "month", "value"]]
            did_panel = em.did_panel(frame, trainings, programme, revenue_col="value")
            problem = em.did_problem(did_panel)
            row = {"programme": programme, "metric": metric, "problem": problem}
            if problem is None:
                did = em.training_did(did_panel, alpha=alpha)
                row.update(
                    effect=did["uplift"],
                    effect_low=did["uplift_low"],
                    effect_high=did["uplift_high"],
                    p_value=did["p_value"],
                    attendees=did["trained_reps"],
                    others=did["control_reps"],
                )
            rows.append(row)
    cols = [
        "programme",
        "metric",
        "effect",
        "effect_low",
        "effect_high",
        "p_value",
        "p_holm",
        "moved",
        "attendees",
        "others",
        "problem",
    ]
    out = pd.DataFrame(rows).reindex(columns=cols)
    tested = out["p_value"].notna()
    out["p_holm"] = np.nan
    if tested.any():
        out.loc[tested, "p_holm"] = multipletests(out.loc[tested, "p_value"], method="holm")[1]
    good = _signs(out["metric"]) * out["effect"].astype("float64") > 0
    out["moved"] = (out["p_holm"] < alpha) & good
    return out


def training_plan(
    gaps: pd.DataFrame, effects: pd.DataFrame, trainings: pd.DataFrame, reps=None
) -> pd.DataFrame:
    """One row per gap with the programme that moved its skill most (module docstring):
    :data:`PLAN_COLUMNS`, the gaps with a programme first, then the largest gaps.

    ``reps``: rep_id and name, so the ``rep`` column names each rep as the pages do.
    """
    require_columns(gaps, ["rep_id", "metric", "value", "team_median", "gap"], "skill gaps")
    moved = effects[effects["moved"]].copy()
    moved["_strength"] = _signs(moved["metric"]) * moved["effect"].astype("float64")
    moved = moved.sort_values(["_strength", "programme"], ascending=[False, True])
    attended = set(
        zip(trainings["rep_id"].astype(str), trainings["program"].astype(str), strict=True)
    )
    names = rep_names(reps) if reps is not None else {}
    rows = []
    for g in gaps.itertuples(index=False):
        options = moved[moved["metric"] == g.metric]
        best = next(
            (o for o in options.itertuples() if (str(g.rep_id), o.programme) not in attended),
            None,
        )
        row = {
            "rep_id": g.rep_id,
            "rep": rep_label(g.rep_id, names),
            "metric": g.metric,
            "skill": skill_label(g.metric),
            "value": g.value,
            "team_median": g.team_median,
            "gap": g.gap,
            "programme": best.programme if best is not None else "",
            "expected_effect": best.effect if best is not None else np.nan,
            "effect_low": best.effect_low if best is not None else np.nan,
            "effect_high": best.effect_high if best is not None else np.nan,
        }
        row["expected_value"] = g.value * (1 + row["expected_effect"])
        rows.append(row)
    plan = pd.DataFrame(rows, columns=PLAN_COLUMNS)
    figures = ["value", "team_median", "gap", "expected_effect", "effect_low", "effect_high"]
    plan[[*figures, "expected_value"]] = plan[[*figures, "expected_value"]].astype("float64")
    plan[[*figures, "expected_value"]] = plan[[*figures, "expected_value"]].round(6)
    order = plan.assign(_none=plan["programme"] == "")
    order = order.sort_values(["_none", "gap", "rep_id"], ascending=[True, False, True])
    return plan.loc[order.index].reset_index(drop=True)


def plan_figures(plan: pd.DataFrame, effects: pd.DataFrame) -> dict:
    """The headline figures: ``training_gaps`` (gaps found), ``training_plan_reps`` (reps with
    a programme to take), and per skill a programme moved, ``training_programme_<skill>`` and
    ``training_effect_<skill>`` (the strongest one and its effect)."""
    out = {
        "training_gaps": len(plan),
        "training_plan_reps": int(plan.loc[plan["programme"] != "", "rep_id"].nunique()),
    }
    moved = effects[effects["moved"]].copy()
    moved["_strength"] = _signs(moved["metric"]) * moved["effect"].astype("float64")
    for metric, g in moved.groupby("metric", sort=True):
        best = g.sort_values(["_strength", "programme"], ascending=[False, True]).iloc[0]
        out[f"training_programme_{metric_key(metric)}"] = best["programme"]
        out[f"training_effect_{metric_key(metric)}"] = float(best["effect"])
    return out


def _in_sentence(metric: str) -> str:
    """The skill's name inside a sentence: first letter lower-cased in English
    (``conversion at Proposal``: the stage keeps its name)."""
    label = skill_label(metric)
    return label[:1].lower() + label[1:] if language() == "en" else label


def describe_effects(effects: pd.DataFrame) -> str:
    """Markdown: which programme moved which skill, or that none did."""
    moved = effects[effects["moved"]]
    tested = int(effects["p_value"].notna().sum())
    if tested == 0:
        why = effects["problem"].dropna()
        return _("No programme's effect could be estimated: {why}.").format(
            why=why.iat[0] if len(why) else _("the trainings table lists no programme")
        )
    if moved.empty:
        return _(
            "No programme moved a skill measurably: {n} programme-skill effects tested, none "
            "significant after the Holm correction."
        ).format(n=tested)
    lines = [
        _("- **{programme}** moved {skill} by **{effect}** (95 % CI {low} to {high}, {p}).").format(
            programme=r.programme,
            skill=_in_sentence(r.metric),
            effect=fmt.change(r.effect),
            low=fmt.change(r.effect_low),
            high=fmt.change(r.effect_high),
            p=p_text(r.p_holm),
        )
        for r in moved.itertuples()
    ]
    return "\n".join(lines)


def describe_plan(plan: pd.DataFrame, threshold: float = 0.10) -> str:
    """Markdown: how many gaps the plan holds and for how many reps ("" when it holds none
    would be misleading: then it says no rep is that far behind)."""
    if plan.empty:
        return _(
            "No rep is {threshold} or more behind the team median on a skill this period."
        ).format(threshold=fmt.percent(threshold, 0))
    return _(
        "**{gaps}** skill gap(s) of **{reps}** rep(s); **{sent}** rep(s) have a programme that "
        "moved the skill for past attendees."
    ).format(
        gaps=len(plan),
        reps=plan["rep_id"].nunique(),
        sent=plan.loc[plan["programme"] != "", "rep_id"].nunique(),
    )


def training_actions(plan: pd.DataFrame, max_names: int = 4) -> str:
    """The "What to do" bullets of the plan: one per programme and skill (who to send, what
    it did for past attendees), pointing at :data:`PLAN_NAME`, and one for the gaps no
    programme moved; ``""`` without gaps."""
    if plan.empty:
        return ""
    out = []
    sep = ", " if language() == "en" else "、"
    with_programme = plan[plan["programme"] != ""]
    for (programme, metric), g in with_programme.groupby(["programme", "metric"], sort=True):
        reps = list(dict.fromkeys(g["rep"]))
        shown = sep.join(reps[:max_names])
        if len(reps) > max_names:
            shown += _(" and {n} more").format(n=len(reps) - max_names)
        out.append(
            _(
                "- Send {n} rep(s) to '{programme}' for their {skill} ({names}): it moved past "
                "attendees' {skill} by {effect}; the plan is in {file}."
            ).format(
                n=len(reps),
                programme=programme,
                skill=_in_sentence(metric),
                names=shown,
                effect=fmt.change(float(g["expected_effect"].iloc[0])),
                file=PLAN_NAME,
            )
        )
    unmatched = plan[plan["programme"] == ""]
    if len(unmatched):
        out.append(
            _(
                "- {n} skill gap(s) have no programme that moved them ({skills}): coach them "
                "directly or find a course ({file})."
            ).format(
                n=len(unmatched),
                skills=sep.join(_in_sentence(m) for m in dict.fromkeys(unmatched["metric"])),
                file=PLAN_NAME,
            )
        )
    return "\n".join(out)


__all__ = [
    "SKILLS",
    "PLAN_NAME",
    "PLAN_COLUMNS",
    "deal_skills",
    "skill_gaps",
    "programme_effects",
    "training_plan",
    "plan_figures",
    "describe_effects",
    "describe_plan",
    "training_actions",
    "skill_label",
    "direction",
    "metric_key",
]
