"""Charts of the target-setting study: forecast, seasonality, target vs baseline, the split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.i18n import N_, _, language, period_label
from salesnb.metrics.forecast import MODEL_LABELS
from salesnb.plots import PALETTE, color_for, money_axis, new_ax, short_money, use_house_style
from salesnb.plots.performance import format_table

#: Readable headers of the study's tables, shown instead of the column names on a page
#: that is not in English (the English page keeps the column names, as the CSVs do).
HEADERS = {
    "model": N_("Model"),
    "forecast_total": N_("Forecast total"),
    "smape": N_("sMAPE"),
    "total_abs_error_pct": N_("Abs. error of the total"),
    "origins": N_("Origins"),
    "chosen": N_("Chosen"),
    "origin": N_("Origin"),
    "driver": N_("Driver"),
    "last_year": N_("Last year"),
    "needed": N_("Needed"),
    "change_pct": N_("Change"),
    "rep_id": N_("Rep ID"),
    "name": N_("Name"),
    "region": N_("Region"),
    "team": N_("Team"),
    "target_amount": N_("Target"),
    "target_cents": N_("Target (cents)"),
    "last_year_revenue": N_("Same period last year"),
    "gap_vs_last_year": N_("Gap to last year"),
    "growth_vs_last_year": N_("Growth vs last year"),
    "existing_quota": N_("Existing quota"),
    "proposed_vs_quota": N_("Proposed vs quota"),
    "region_target": N_("Region target"),
    "team_target": N_("Team target"),
    "method": N_("Method"),
    "remainder": N_("Expected remainder"),
    "landing": N_("Landing"),
    "weight": N_("Weight"),
}


def localise(styler, headers: dict | None = None, values=()):
    """``styler`` (a table for the page) with readable headers in the page's language
    (:data:`HEADERS`, or ``headers``: a column without one keeps its name) and, on a page not
    in English, the text of the ``values`` columns translated."""
    headers = HEADERS if headers is None else headers
    cols = list(styler.data.columns)
    if language() != "en":
        for c in values:
            if c in cols:
                styler = styler.format(
                    lambda v: _(v) if isinstance(v, str) else v, subset=[c], na_rep="–"
                )
        if "chosen" in cols:
            styler = styler.format(lambda v: _("yes") if v is True else "", subset=["chosen"])
    labels = [_(headers[c]) if c in headers else c for c in cols]
    return styler.relabel_index(labels, axis="columns")


# the levels a split is drawn by, named in chart titles
_LEVELS = (N_("region"), N_("team"))


def _model(code: str) -> str:
    """A forecast model by its code in English (``combo``), by its name otherwise."""
    return code if language() == "en" else _(MODEL_LABELS.get(code, code))


def _short(x: float) -> str:
    return short_money(x)


def forecast_chart(
    history: pd.Series,
    monthly: pd.DataFrame,
    best_model: str,
    actuals: pd.Series | None = None,
    ax=None,
    currency: str = "USD",
    months_shown: int = 24,
):
    """Monthly history, each model's forecast (thin) and the chosen one (thick); actuals as dots."""
    use_house_style()
    ax = new_ax(ax, figsize=(9, 4))
    hist = history.iloc[-months_shown:]
    ax.plot(hist.index, hist.to_numpy(), color="0.25", lw=1.8, label=_("history"))
    for m in monthly.columns:
        if m == best_model:
            continue
        ax.plot(monthly.index, monthly[m].to_numpy(), lw=0.9, alpha=0.6, ls="--", label=_model(m))
    ax.plot(
        monthly.index,
        monthly[best_model].to_numpy(),
        lw=2.6,
        color=PALETTE[3],
        label=_("{model} (chosen)").format(model=_model(best_model)),
    )
    if actuals is not None and len(actuals):
        ax.scatter(
            actuals.index, actuals.to_numpy(), color="black", zorder=5, s=28, label=_("actual")
        )
    total = monthly[best_model].sum()
    what = (
        _("Naive baseline (run rate)")
        if best_model == "naive"
        else _("Baseline forecast ({model})").format(model=_model(best_model))
    )
    ax.set_title(
        _("{what}: {total} {currency} over the next {n} month(s)").format(
            what=what, total=_short(total), currency=currency, n=len(monthly)
        )
    )
    ax.set_xlabel(_("Month"))
    ax.set_ylabel(_("Revenue per month"))
    money_axis(ax, currency=currency)
    ax.legend(fontsize=8, ncol=3, loc="upper left")
    return ax


def seasonal_index_chart(index: pd.DataFrame, ax=None):
    """Bars of the monthly seasonal index (1 = an average month); the peak highlighted."""
    use_house_style()
    ax = new_ax(ax, figsize=(8, 3.5))
    peak = index.loc[index["seasonal_index"].idxmax()]
    colors = [
        PALETTE[3] if m == peak["month_of_year"] else PALETTE[0] for m in index["month_of_year"]
    ]
    names = [_(n) for n in index["month_name"]]
    ax.bar(names, index["seasonal_index"], color=colors)
    ax.axhline(1.0, color="0.3", lw=1)
    ax.set_title(
        _("Revenue peaks in {month} ({change} vs an average month)").format(
            month=_(peak["month_name"]), change=f"{peak['seasonal_index'] - 1:+.0%}"
        )
    )
    ax.set_xlabel(_("Month of year"))
    ax.set_ylabel(_("Seasonal index (1 = average month)"))
    return ax


def _finite(x) -> bool:
    return x is not None and bool(np.isfinite(x))


def target_vs_baseline_chart(summary: dict, ax=None, currency: str = "USD"):
    """Bars: last year, baseline forecast (with its interval), proposed target, existing quota,
    actual. Figures that cannot be computed (or are not positive) are left out."""
    use_house_style()
    ax = new_ax(ax, figsize=(8, 4))
    items = [
        (N_("Last\nyear"), summary.get("last_year_total"), PALETTE[9]),
        (N_("Baseline\nforecast"), summary.get("forecast_total"), PALETTE[0]),
        (N_("Proposed\ntarget"), summary.get("target_total"), PALETTE[3]),
        (N_("Existing\nquota"), summary.get("existing_quota_total"), PALETTE[1]),
        (N_("Actual"), summary.get("actual_total"), PALETTE[2]),
    ]
    items = [(n, v, c) for n, v, c in items if _finite(v) and v > 0]
    names = [n for n, _v, _c in items]
    vals = [v for _n, v, _c in items]
    bars = ax.bar([_(n) for n in names], vals, color=[c for _n, _v, c in items])
    lo, hi = summary.get("forecast_low"), summary.get("forecast_high")
    if "Baseline\nforecast" in names and _finite(lo) and _finite(hi):
        i = names.index("Baseline\nforecast")
        ax.errorbar(
            [i], [vals[i]], yerr=[[vals[i] - lo], [hi - vals[i]]], color="black", capsize=6, lw=1.5
        )
    for b, v in zip(bars, vals, strict=True):
        # inside the bar, so the value never collides with the interval whisker
        ax.text(
            b.get_x() + b.get_width() / 2,
            v * 0.5,
            _short(v),
            ha="center",
            va="center",
            fontsize=10,
            color="white",
            fontweight="bold",
        )
    target, ly, p = (
        summary.get("target_total"),
        summary.get("last_year_total"),
        summary.get("prob_achieve"),
    )
    odds = _(": {p} chance under the baseline forecast").format(p=f"{p:.0%}") if _finite(p) else ""
    if _finite(target) and _finite(ly) and ly > 0:
        title = _("Target {change} on last year{odds}").format(
            change=f"{target / ly - 1:+.0%}", odds=odds
        )
    elif _finite(target) and _finite(summary.get("forecast_total")):
        title = _("Target set at the baseline forecast (no comparable last year){odds}").format(
            odds=odds
        )
    elif _finite(target):
        title = _("Proposed target (no baseline to compare with)")
    else:
        title = _("No target proposed for the period")
    ax.set_title(title)
    period = summary.get("period")
    ax.set_ylabel(
        _("Revenue in {period}").format(period=period_label(str(period)))
        if period
        else _("Revenue in the period")
    )
    money_axis(ax, currency=currency)
    return ax


def achievement_curve_chart(curve: pd.DataFrame, target: float, ax=None, currency: str = "USD"):
    """Probability of reaching each possible target (columns ``target, probability``)."""
    from salesnb.plots import pct_axis

    use_house_style()
    ax = new_ax(ax, figsize=(8, 3.5))
    ax.plot(curve["target"], curve["probability"], color=PALETTE[0], lw=2)
    p = float(np.interp(target, curve["target"], curve["probability"]))
    ax.axvline(target, color=PALETTE[3], ls="--")
    ax.scatter([target], [p], color=PALETTE[3], zorder=5)
    median = float(np.interp(0.5, curve["probability"][::-1], curve["target"][::-1]))
    ax.axvline(median, color="0.5", ls=":", lw=1)
    ax.set_title(
        _("A 50/50 target is {median} {currency}; the proposed {target} has a {p} chance").format(
            median=_short(median), currency=currency, target=_short(target), p=f"{p:.0%}"
        )
    )
    ax.set_xlabel(_("Target for the period"))
    ax.set_ylabel(_("Probability of reaching it"))
    money_axis(ax, axis="x", currency=currency)
    pct_axis(ax)
    return ax


def allocation_chart(
    allocation: pd.DataFrame, level: str = "region", ax=None, currency: str = "USD"
):
    """Proposed target vs last year's revenue per region (or team)."""
    use_house_style()
    g = (
        allocation.groupby(level)[["target_amount", "last_year_revenue"]]
        .sum()
        .sort_values("target_amount")
    )
    ax = new_ax(ax, figsize=(8, max(2.5, 0.45 * len(g) + 1)))
    y = np.arange(len(g))
    ax.barh(
        y + 0.2,
        g["target_amount"],
        height=0.4,
        color=[color_for(n) for n in g.index],
        label=_("target"),
    )
    ax.barh(
        y - 0.2, g["last_year_revenue"], height=0.4, color="0.75", label=_("same period last year")
    )
    ax.set_yticks(y, g.index)
    step = g["target_amount"] / g["last_year_revenue"].where(g["last_year_revenue"] > 0) - 1
    if step.notna().any():
        top = step.idxmax()
        ax.set_title(
            _("Split by {level}: {top} is asked for the largest step up ({change})").format(
                level=_(level), top=top, change=f"{step[top]:+.0%}"
            )
        )
    else:
        ax.set_title(
            _("Split by {level}: {top} carries the largest target").format(
                level=_(level), top=g.index[-1]
            )
        )
    ax.set_xlabel(_("Revenue — coloured: proposed target, grey: same period last year"))
    money_axis(ax, axis="x", currency=currency)
    return ax


def landing_chart(
    landing, target: float | None = None, ax=None, currency: str = "USD", target_label="target"
):
    """Period-to-date (grey) plus each method's remainder, and the combined landing with its
    interval; the target as a dashed line. ``landing`` is a :class:`salesnb.metrics.landing.Landing`."""
    use_house_style()
    ax = new_ax(ax, figsize=(8, 4.2))
    table = landing.table()
    names = [_(n) for n in (N_("Run rate"), N_("Pipeline"), N_("Statistical"), N_("Combined"))]
    ptd = landing.period_to_date
    shown = table["remainder"].fillna(0.0).to_numpy()
    colors = [PALETTE[0], PALETTE[1], PALETTE[4], PALETTE[3]]
    ax.bar(names, [ptd] * len(names), color="0.78", label=_("to date"))
    ax.bar(names, shown, bottom=ptd, color=colors, label=_("expected remainder (by method)"))
    for i, (v, w, r) in enumerate(zip(table["landing"], table["weight"], shown, strict=True)):
        text = _short(v) if _finite(v) else _("n/a")
        if i < 3:
            text += "\n" + _("weight {w}").format(w=f"{w:.0%}")
        ax.text(
            i,
            ptd + r / 2 if r > 0 else ptd / 2,
            text,
            ha="center",
            va="center",
            fontsize=9,
            color="white" if r > 0 else "black",
            fontweight="bold",
        )
    lo, hi = landing.low, landing.high
    ax.errorbar(
        [3],
        [landing.total],
        yerr=[[landing.total - lo], [hi - landing.total]],
        color="black",
        capsize=6,
        lw=1.5,
    )
    period = period_label(landing.period.label)
    title = _("{period} lands at {total} {currency}").format(
        period=period, total=_short(landing.total), currency=currency
    )
    if _finite(target) and target > 0:
        ax.axhline(target, color="0.2", ls="--", lw=1.2, label=_(target_label))
        gap = landing.total - target
        vs = _(", {gap} short of the {target}") if gap < 0 else _(", {gap} above the {target}")
        title += vs.format(gap=_short(abs(gap)), target=_(target_label))
    ax.set_title(title)
    ax.set_ylabel(_("Revenue in {period}").format(period=period))
    money_axis(ax, currency=currency)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return ax


def landing_table(landing):
    """The three methods and the combination side by side (remainder, landing, weight)."""
    return localise(
        format_table(
            landing.table(),
            money=["remainder", "landing"],
            pct=["weight"],
            note=_("n/a: the method cannot say (see the note above)."),
        )
    )


def landing_backtest_tables(combo):
    """Two tables: the combined landing error per quarter and checkpoint day, and the mean
    absolute error of each method and of the combination per checkpoint day."""
    from salesnb.metrics.landing import backtest_pivot

    pivot = backtest_pivot(combo)
    errors = combo.method_errors()
    return (
        format_table(
            pivot,
            signed_pct=[c for c in pivot.columns if c != _("quarter")],
            note=_("n/a: no positive actual total to measure an error against."),
        ),
        format_table(
            errors,
            pct=[c for c in errors.columns if c not in (_("as of"), _("points"))],
            counts=[_("points")],
            note=_("n/a: the method could not forecast at those points."),
        ),
    )


def model_table(fc):
    """Period total per model with its backtest errors (n/a: no backtest origin)."""
    totals = fc.model_totals()
    if language() != "en":  # the models by name rather than by code
        totals["model"] = totals["model"].map(lambda m: _(MODEL_LABELS.get(m, m)))
    return localise(
        format_table(
            totals,
            money=["forecast_total"],
            pct=["smape", "total_abs_error_pct"],
            counts=["origins"],
            note=_("n/a: no backtest — too little history before the period for a rolling origin."),
        )
    )


def backtest_table(fc):
    """Period-total error per backtest origin and model (forecast / actual - 1)."""
    pivot = fc.backtest.pivot(index="origin", columns="model", values="total_error_pct")
    pivot.index = pd.to_datetime(pivot.index).strftime("%Y-%m")
    if language() != "en":  # the models by name rather than by code
        pivot.columns = [_(MODEL_LABELS.get(m, m)) for m in pivot.columns]
    return localise(
        format_table(
            pivot.reset_index(),
            signed_pct=list(pivot.columns),
            note=_("n/a: no revenue in the months tested, so no error ratio."),
        )
    )


def allocation_table(frame: pd.DataFrame):
    """A split (rolled up or per rep) with money to the cent; n/a where last year has no revenue."""
    money = ["target_amount", "last_year_revenue", "gap_vs_last_year", "existing_quota"]
    return localise(
        format_table(
            frame,
            decimals={c: 2 for c in [*money, "proposed_vs_quota", "region_target", "team_target"]},
            signed_pct=["growth_vs_last_year"],
            counts=["target_cents"],
            note=_(
                "n/a: no revenue in the same period last year (or no comparable one), or no quota."
            ),
        )
    )


__all__ = [
    "HEADERS",
    "localise",
    "allocation_table",
    "landing_backtest_tables",
    "landing_chart",
    "landing_table",
    "backtest_table",
    "model_table",
    "achievement_curve_chart",
    "allocation_chart",
    "forecast_chart",
    "seasonal_index_chart",
    "target_vs_baseline_chart",
]
