"""Tables of the training-needs section (experiments study): the plan and the effects.

A skill's figures are in its own unit (a discount or a conversion as a percentage, a cycle
in days, a deal size as an amount), so the value columns are written row by row.
"""

from __future__ import annotations

import pandas as pd

from salesnb import formatting
from salesnb.formatting import NOT_COMPUTABLE
from salesnb.i18n import N_, _
from salesnb.metrics.training import CONVERSION, skill_label

#: Readable headers of the tables (shown translated on a page not in English).
HEADERS = {
    "rep": N_("Rep"),
    "skill": N_("Skill"),
    "value": N_("This period"),
    "team_median": N_("Team median"),
    "gap": N_("Gap to the median"),
    "programme": N_("Programme"),
    "expected_effect": N_("Effect on past attendees (95% CI)"),
    "expected_value": N_("Expected after it"),
    "effect": N_("Effect (95% CI)"),
    "p_holm": N_("p (Holm)"),
    "moved": N_("Moved it"),
    "attendees": N_("Attendees"),
    "others": N_("Others"),
}


def skill_value(metric: str, value, currency: str = "") -> str:
    """One figure of ``metric`` in its unit; "n/a" when missing.

    >>> skill_value("discount", 0.0412), skill_value("cycle_days", 98.6)
    ('4.1%', '99 days')
    >>> skill_value("deal_size", 125000.4, "USD"), skill_value("conversion:Proposal", None)
    ('125,000 USD', 'n/a')
    """
    if metric == "discount" or metric.startswith(CONVERSION):
        return formatting.percent(value, missing=NOT_COMPUTABLE)
    if metric == "cycle_days":
        return formatting.days(value, missing=NOT_COMPUTABLE)
    return formatting.money(value, currency, missing=NOT_COMPUTABLE)


def _effect(effect, low, high) -> str:
    if pd.isna(effect):
        return NOT_COMPUTABLE
    return _("{effect} ({low} to {high})").format(
        effect=formatting.change(effect),
        low=formatting.change(low, missing=NOT_COMPUTABLE),
        high=formatting.change(high, missing=NOT_COMPUTABLE),
    )


def _styled(frame: pd.DataFrame):
    from salesnb.plots.targets import localise

    # the cells are text already written; escaped, so "p < 0.001" is not read as a tag
    return localise(frame.style.format(escape="html").hide(axis="index"), HEADERS)


def plan_table(plan: pd.DataFrame, currency: str = ""):
    """The training plan as the page shows it (a Styler): one row per rep and gap."""
    rows = pd.DataFrame(
        {
            "rep": plan["rep"],
            "skill": [skill_label(m) for m in plan["metric"]],
            "value": [
                skill_value(m, v, currency)
                for m, v in zip(plan["metric"], plan["value"], strict=True)
            ],
            "team_median": [
                skill_value(m, v, currency)
                for m, v in zip(plan["metric"], plan["team_median"], strict=True)
            ],
            "gap": [formatting.percent(g, 0) for g in plan["gap"]],
            "programme": [p or _("none moved it") for p in plan["programme"]],
            "expected_effect": [
                _effect(e, lo, hi)
                for e, lo, hi in zip(
                    plan["expected_effect"], plan["effect_low"], plan["effect_high"], strict=True
                )
            ],
            "expected_value": [
                skill_value(m, v, currency)
                for m, v in zip(plan["metric"], plan["expected_value"], strict=True)
            ],
        }
    )
    return _styled(rows)


def effects_table(effects: pd.DataFrame):
    """Each programme's effect on each skill it was tested on (a Styler), the ones that moved
    a skill first."""
    e = effects[effects["p_value"].notna()]
    e = e.sort_values(["moved", "p_holm", "programme"], ascending=[False, True, True])
    rows = pd.DataFrame(
        {
            "programme": e["programme"],
            "skill": [skill_label(m) for m in e["metric"]],
            "effect": [
                _effect(x, lo, hi)
                for x, lo, hi in zip(e["effect"], e["effect_low"], e["effect_high"], strict=True)
            ],
            "p_holm": [formatting.p_value(p, missing=NOT_COMPUTABLE) for p in e["p_holm"]],
            "moved": [_("yes") if m else _("no") for m in e["moved"]],
            "attendees": [formatting.count(n) for n in e["attendees"]],
            "others": [formatting.count(n) for n in e["others"]],
        }
    )
    return _styled(rows)


__all__ = ["HEADERS", "plan_table", "effects_table", "skill_value"]
