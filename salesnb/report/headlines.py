"""The index's headline figures: which two or three figures of each study a manager reads,
under which business name and unit, and how each moved since the last period.

Each study writes its raw figures to ``<study>.json`` under keys made for code
(``plan_target_total``, ``win_rate``); those keys stay there and in ``manifest.json``.
:data:`REGISTRY` is the one place that says which of them the index shows, per study, as a
:class:`Figure`: the key, the business name (``"Proposed target for {plan_period}"`` -- a
``{key}`` placeholder is filled from the same JSON, ``{period}`` with the study's period), the unit (:data:`UNITS`: how the value
is written, with :mod:`salesnb.formatting`), which way is good (``+1`` higher is better,
``-1`` lower is better, ``0`` neither), and where the change comes from:

- a :class:`Change`: a key of the same JSON that already holds the change against a
  comparable earlier value (``yoy_growth`` for the closed quarter's revenue), with its kind
  (a relative change, or a difference in percentage points) and what it compares with;
- :data:`PRIOR_REPORT`: the same key in the previous period's published report in the same
  reports folder (``reports/2026-Q2/funnel.json`` beside ``reports/2026-Q3/``), used only
  when that report covered the previous period with the same filters and currency.

A change that cannot be found is shown as :data:`salesnb.formatting.MISSING` with no arrow;
a change key that is missing or empty falls back to the previous report. A study that is
not in the registry (a notebook a user added) shows its first raw figures instead.
``tests/report/test_headlines.py`` checks that every key named here is in a real report's
JSON, so the registry cannot drift from the studies.

Every user-facing word of this module (figure names, the "vs ..." bases) is in
:data:`REGISTRY` and :data:`BASIS`, marked for the translation catalogs (``N_``) and shown
in the run's language (``_``); periods in names are written by
:func:`salesnb.i18n.period_label` (``2026-Q4``, ``2026年第4季度``).
"""

from __future__ import annotations

import json
import math
import numbers
import string
from dataclasses import dataclass
from pathlib import Path

from salesnb import formatting as fmt
from salesnb.errors import ParameterError
from salesnb.i18n import N_, _, period_label
from salesnb.metrics.names import FIGURE_NAMES as NAMES
from salesnb.model.periods import parse_period

UP, DOWN = "▲", "▼"


@dataclass(frozen=True)
class Change:
    """A change the study's JSON carries itself: ``key`` holds it, ``kind`` is ``"relative"``
    (a fraction: 0.15 is +15 %) or ``"points"`` (a difference of two shares), ``basis`` is a
    key of :data:`BASIS` saying what it compares with."""

    key: str
    kind: str = "relative"
    basis: str = "last_year"


PRIOR_REPORT = "prior report"  # compare with the previous period's published <study>.json


@dataclass(frozen=True)
class Figure:
    key: str
    name: str
    unit: str  # a key of UNITS
    good: int  # +1 higher is better, -1 lower is better, 0 neither
    change: Change | str = PRIOR_REPORT


# What each change compares with, as shown after it.
BASIS = {
    "last_year": N_("vs same period last year"),
    "prior_report": N_("vs {period}"),
}
# Words shown for a change that rounds to nothing.
NO_CHANGE = N_("no change")

YOY = Change("yoy_growth")
REVENUE_GROWTH = Change("revenue_growth")

REGISTRY: dict[str, list[Figure]] = {
    "data-quality": [
        Figure("rows_total", N_("Rows checked"), "count", 0),
        Figure("duplicate_key_rows", N_("Duplicate rows"), "count", -1),
        Figure("fk_unresolved_rows", N_("Rows pointing to an unknown record"), "count", -1),
    ],
    "targets": [
        Figure("plan_target_total", N_("Proposed target for {plan_period}"), "money", 0),
        Figure("forecast_total", N_("Forecast for {plan_period}"), "money", +1),
        Figure("review_total", N_("Revenue of {period}"), "money", +1, YOY),
    ],
    "market": [
        Figure(
            "market_share",
            N_("Market share"),
            "percent",
            +1,
            Change("market_share_change", "points"),
        ),
        Figure("market_size", N_("Market size"), "money", 0),
        Figure("revenue_total", NAMES["revenue_total"], "money", +1, REVENUE_GROWTH),
    ],
    "funnel": [
        Figure("win_rate", NAMES["win_rate"], "percent", +1),
        Figure("pipeline_coverage", NAMES["pipeline_coverage"], "ratio", +1),
        Figure("median_cycle_days", N_("Median sales cycle"), "days", -1),
    ],
    "channels": [
        Figure("revenue_total", NAMES["revenue_total"], "money", +1),
        Figure("margin_pct", N_("Gross margin"), "percent", +1),
        Figure(
            "top_channel_share", N_("Share of the largest channel ({top_channel})"), "percent", 0
        ),
    ],
    "customers": [
        Figure("at_risk_customers", N_("Customers at risk"), "count", -1),
        Figure("at_risk_value", N_("Past purchases of the customers at risk"), "money", -1),
        Figure("customers_active", N_("Active customers"), "count", +1),
    ],
    "performance": [
        Figure("attainment_company", NAMES["attainment_company"], "percent", +1),
        Figure("revenue_total", NAMES["revenue_total"], "money", +1, REVENUE_GROWTH),
        Figure("cost_of_sales_pct", N_("Commission cost, share of revenue"), "percent", -1),
    ],
    "experiments": [
        Figure("pilot_win_rate_uplift", N_("Win-rate uplift of the pilot ({pilot})"), "points", +1),
        Figure(
            "training_uplift_pct",
            N_("Sales uplift of the training ({training_program})"),
            "change",
            +1,
        ),
        Figure("training_plan_reps", N_("Reps with a training programme to take"), "count", 0),
    ],
    "service": [
        Figure("sla_breach_rate", N_("Tickets past the first-response target"), "percent", -1),
        Figure("median_resolution_hours", N_("Median time to resolve a ticket"), "hours", -1),
        Figure("nps", N_("Net Promoter Score"), "score", +1),
    ],
    "expansion": [
        Figure("intl_revenue_share", N_("Revenue from outside {home_country}"), "percent", +1),
        Figure("countries", N_("Countries sold to"), "count", +1),
    ],
    "risk": [
        Figure("discount_breaches", N_("Won deals above discount authority"), "count", -1),
        Figure("discount_breach_amount", N_("Amount of those deals"), "money", -1),
        Figure("top10_share", N_("Revenue from the top 10 customers"), "percent", -1),
    ],
    "deals": [
        Figure("open_pipeline", NAMES["open_pipeline"], "money", +1),
        Figure("expected_pipeline", N_("Expected from the open pipeline"), "money", +1),
        Figure("stuck_amount", N_("Amount in stuck deals"), "money", -1),
    ],
    "sustainability": [
        Figure(
            "green_share",
            N_("Share of revenue from green products"),
            "percent",
            +1,
            Change("green_share_change", "points"),
        ),
        Figure("emissions_intensity", N_("kg CO2e per 1,000 of revenue"), "score", -1),
    ],
}


def _finite(x) -> float | None:
    """``x`` as a finite float; None when it is missing, text, NaN or infinite."""
    if isinstance(x, bool) or not isinstance(x, numbers.Real):
        return None
    return float(x) if math.isfinite(x) else None


def _signed_number(d: float) -> str:
    return fmt.number(d, 1) if d < 0 else "+" + fmt.number(d, 1)


# unit -> (how the value is written, how a change against an earlier value is written:
# "relative" as a signed percentage, "points" in percentage points, "difference" as a
# signed number)
UNITS = {
    "money": (lambda v, cur: fmt.short_money(v, cur), "relative"),
    "count": (lambda v, cur: fmt.count(v), "relative"),
    "percent": (lambda v, cur: fmt.percent(v), "points"),
    "points": (lambda v, cur: fmt.points(v), "points"),
    "change": (lambda v, cur: fmt.change(v), "points"),
    "ratio": (lambda v, cur: fmt.ratio(v), "relative"),
    "days": (lambda v, cur: fmt.days(v), "relative"),
    "hours": (lambda v, cur: fmt.days(v / 24 if _finite(v) is not None else v, 1), "relative"),
    "score": (lambda v, cur: fmt.number(v, 1), "difference"),
}
_CHANGE_TEXT = {
    "relative": fmt.change,
    "points": fmt.points,
    "difference": _signed_number,
}


def value_text(unit: str, value, currency: str = "") -> str:
    """``value`` written in ``unit`` (a key of :data:`UNITS`); never ``nan`` or ``None``.

    >>> value_text("money", 992929920.12, "USD"), value_text("percent", 0.181726)
    ('993M USD', '18.2%')
    >>> value_text("hours", 66.1), value_text("ratio", None)
    ('2.8 days', '—')
    """
    return UNITS[unit][0](value, currency)


def figure_text(study: str, key: str, value, currency: str = "") -> str:
    """A study's figure written as the index writes it: in its registered unit, else by the
    name-based rule of :func:`salesnb.formatting.headline` (alerts on unregistered keys).

    >>> figure_text("service", "sla_breach_rate", 0.1788), figure_text("x", "rows", 48)
    ('17.9%', '48')
    """
    for f in REGISTRY.get(study, []):
        if f.key == key:
            return value_text(f.unit, value, currency)
    return fmt.headline(value, key)


class _Filled(dict):
    def __missing__(self, key):
        return fmt.MISSING


def figure_name(figure: Figure, figures: dict, period: str = "") -> str:
    """The figure's business name, its ``{key}`` placeholders filled from the same JSON and
    ``{period}`` with the study's period.

    >>> figure_name(REGISTRY["targets"][0], {"plan_period": "2026-Q4"})
    'Proposed target for 2026-Q4'
    """
    shown = _Filled(
        {"period": period_label(period) if period else fmt.MISSING}
        | {
            k: fmt.headline(v) if not isinstance(v, str) else _period(k, v)
            for k, v in figures.items()
        }
    )
    return string.Formatter().vformat(_(figure.name), (), shown)


def _period(key: str, value: str) -> str:
    """A text figure named in a figure's name: a period (``plan_period``) in the run's
    language, any other (a channel, a pilot) as the data spells it."""
    return period_label(value) if key.endswith("period") else value


def placeholders(figure: Figure) -> list[str]:
    """The JSON keys a figure's name needs (``{plan_period}`` -> ``plan_period``)."""
    return [name for _, name, _, _ in string.Formatter().parse(figure.name) if name]


def _movement(delta: float | None, text: str, good: int) -> dict:
    """Arrow and tone of a change: ``up`` / ``down`` / ``flat`` / ``none`` and
    ``good`` / ``bad`` / ``neutral``."""
    if delta is None or text == fmt.MISSING:
        return {"arrow": "", "direction": "none", "tone": "neutral", "text": fmt.MISSING}
    if delta == 0 or not any(c in "123456789" for c in text):
        return {"arrow": "", "direction": "flat", "tone": "neutral", "text": _(NO_CHANGE)}
    direction = 1 if delta > 0 else -1
    tone = "neutral" if good == 0 else ("good" if direction == good else "bad")
    arrow = UP if direction > 0 else DOWN
    return {
        "arrow": arrow,
        "direction": "up" if direction > 0 else "down",
        "tone": tone,
        "text": text,
    }


def _carried_change(figure: Figure, figures: dict) -> dict | None:
    if not isinstance(figure.change, Change):
        return None
    d = _finite(figures.get(figure.change.key))
    if d is None:
        return None
    text = _CHANGE_TEXT[figure.change.kind](d)
    return {**_movement(d, text, figure.good), "basis": _(BASIS[figure.change.basis])}


def _prior_change(figure: Figure, value, prior: dict | None) -> dict | None:
    if not prior:
        return None
    now, before = _finite(value), _finite(prior["figures"].get(figure.key))
    if now is None or before is None:
        return None
    kind = UNITS[figure.unit][1]
    delta = now - before
    currency = prior.get("currency", "")
    if kind == "relative" and before == 0:  # no base to grow from: the difference itself
        text = value_text(figure.unit, delta, currency)
        text = "+" + text if delta > 0 else text
    elif kind == "relative":
        text = fmt.change(delta / abs(before))
    else:
        text = _CHANGE_TEXT[kind](delta)
    was = f"{period_label(prior['period'])}: {value_text(figure.unit, before, currency)}"
    basis = _(BASIS["prior_report"]).format(period=period_label(prior["period"]))
    return {**_movement(delta, text, figure.good), "basis": basis, "was": was}


def study_figures(
    study: str, figures: dict, currency: str = "", prior: dict | None = None, period: str = ""
) -> list[dict] | None:
    """The figures the index shows for ``study``: one dict per registered figure present in
    ``figures`` (name, value, and the change: arrow, direction, tone, text, basis); ``None``
    when the study is not in the registry. ``prior``: the previous report's figures of the
    study, from :func:`previous_figures`; ``period``: the study's period.

    >>> [f["name"] + " " + f["value"] + " " + f["change"]["text"] for f in study_figures(
    ...     "targets", {"review_total": 698e6, "yoy_growth": 0.15}, "USD", period="2026-Q3")]
    ['Revenue of 2026-Q3 698M USD +15.0%']
    """
    if study not in REGISTRY:
        return None
    shown = []
    for f in REGISTRY[study]:
        if f.key not in figures:
            continue
        value = figures[f.key]
        change = _carried_change(f, figures) or _prior_change(f, value, prior)
        shown.append(
            {
                "key": f.key,
                "name": figure_name(f, figures, period),
                "value": value_text(f.unit, value, currency),
                "change": change or {**_movement(None, "", f.good), "basis": ""},
            }
        )
    return shown


def _read_json(path: Path) -> dict | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


_SAME = ("region", "team", "channel", "currency")


def previous_figures(reports: Path | None, manifest: dict, entry: dict) -> dict | None:
    """The figures of study ``entry`` (a ``manifest["studies"]`` item) in the report of the
    period before its own, published in the ``reports`` folder: ``{"period", "currency",
    "figures"}``; ``None`` when there is no such report, when it was run with other filters
    or another currency, or as of a day inside its period (partial figures)."""
    if reports is None or not entry.get("period"):
        return None
    try:
        before = parse_period(entry["period"]).previous()
        run_before = parse_period(manifest["period"]).previous().label
    except ParameterError:  # "all": a period we cannot step back from has no comparison
        return None
    common = manifest.get("parameters", {}).get("common", {})
    for folder in dict.fromkeys((before.label, run_before)):
        old = _read_json(Path(reports) / folder / "manifest.json")
        if not old:
            continue
        old_common = old.get("parameters", {}).get("common", {})
        if any((old_common.get(k) or "") != (common.get(k) or "") for k in _SAME):
            continue
        as_of = old_common.get("as_of") or ""
        if as_of and as_of < str(before.last_day):
            continue
        match = next((s for s in old.get("studies", []) if s.get("id") == entry["id"]), None)
        if not match or match.get("status") != "ok" or match.get("period") != before.label:
            continue
        figures = _read_json(Path(reports) / folder / (match.get("files", {}).get("json") or ""))
        if figures is not None:
            return {
                "period": before.label,
                "currency": common.get("currency") or "",
                "figures": figures,
            }
    return None
