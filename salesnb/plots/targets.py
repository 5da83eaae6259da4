"""Charts of the target-setting study: forecast, seasonality, target vs baseline, the split."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.plots import PALETTE, color_for, money_axis, new_ax, short_money, use_house_style
from salesnb.plots.performance import format_table


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
    ax.plot(hist.index, hist.to_numpy(), color="0.25", lw=1.8, label="history")
    for m in monthly.columns:
        if m == best_model:
            continue
        ax.plot(monthly.index, monthly[m].to_numpy(), lw=0.9, alpha=0.6, ls="--", label=m)
    ax.plot(
        monthly.index,
        monthly[best_model].to_numpy(),
        lw=2.6,
        color=PALETTE[3],
        label=f"{best_model} (chosen)",
    )
    if actuals is not None and len(actuals):
        ax.scatter(actuals.index, actuals.to_numpy(), color="black", zorder=5, s=28, label="actual")
    total = monthly[best_model].sum()
    what = (
        "Naive baseline (run rate)"
        if best_model == "naive"
        else f"Baseline forecast ({best_model})"
    )
    ax.set_title(f"{what}: {_short(total)} {currency} over the next {len(monthly)} month(s)")
    ax.set_xlabel("Month")
    ax.set_ylabel("Revenue per month")
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
    ax.bar(index["month_name"], index["seasonal_index"], color=colors)
    ax.axhline(1.0, color="0.3", lw=1)
    ax.set_title(
        f"Revenue peaks in {peak['month_name']} ({peak['seasonal_index'] - 1:+.0%} vs an average month)"
    )
    ax.set_xlabel("Month of year")
    ax.set_ylabel("Seasonal index (1 = average month)")
    return ax


def _finite(x) -> bool:
    return x is not None and bool(np.isfinite(x))


def target_vs_baseline_chart(summary: dict, ax=None, currency: str = "USD"):
    """Bars: last year, baseline forecast (with its interval), proposed target, existing quota,
    actual. Figures that cannot be computed (or are not positive) are left out."""
    use_house_style()
    ax = new_ax(ax, figsize=(8, 4))
    items = [
        ("Last\nyear", summary.get("last_year_total"), PALETTE[9]),
        ("Baseline\nforecast", summary.get("forecast_total"), PALETTE[0]),
        ("Proposed\ntarget", summary.get("target_total"), PALETTE[3]),
        ("Existing\nquota", summary.get("existing_quota_total"), PALETTE[1]),
        ("Actual", summary.get("actual_total"), PALETTE[2]),
    ]
    items = [(n, v, c) for n, v, c in items if _finite(v) and v > 0]
    names = [n for n, _, _ in items]
    vals = [v for _, v, _ in items]
    bars = ax.bar(names, vals, color=[c for _, _, c in items])
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
    odds = f": {p:.0%} chance under the baseline forecast" if _finite(p) else ""
    if _finite(target) and _finite(ly) and ly > 0:
        title = f"Target {target / ly - 1:+.0%} on last year{odds}"
    elif _finite(target) and _finite(summary.get("forecast_total")):
        title = f"Target set at the baseline forecast (no comparable last year){odds}"
    elif _finite(target):
        title = "Proposed target (no baseline to compare with)"
    else:
        title = "No target proposed for the period"
    ax.set_title(title)
    ax.set_ylabel(f"Revenue in {summary.get('period', 'the period')}")
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
        f"A 50/50 target is {_short(median)} {currency}; the proposed {_short(target)} "
        f"has a {p:.0%} chance"
    )
    ax.set_xlabel("Target for the period")
    ax.set_ylabel("Probability of reaching it")
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
        label="target",
    )
    ax.barh(
        y - 0.2, g["last_year_revenue"], height=0.4, color="0.75", label="same period last year"
    )
    ax.set_yticks(y, g.index)
    step = g["target_amount"] / g["last_year_revenue"].where(g["last_year_revenue"] > 0) - 1
    if step.notna().any():
        top = step.idxmax()
        ax.set_title(f"Split by {level}: {top} is asked for the largest step up ({step[top]:+.0%})")
    else:
        ax.set_title(f"Split by {level}: {g.index[-1]} carries the largest target")
    ax.set_xlabel("Revenue — coloured: proposed target, grey: same period last year")
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
    names = ["Run rate", "Pipeline", "Statistical", "Combined"]
    ptd = landing.period_to_date
    shown = table["remainder"].fillna(0.0).to_numpy()
    colors = [PALETTE[0], PALETTE[1], PALETTE[4], PALETTE[3]]
    ax.bar(names, [ptd] * len(names), color="0.78", label="to date")
    ax.bar(names, shown, bottom=ptd, color=colors, label="expected remainder (by method)")
    for i, (v, w, r) in enumerate(zip(table["landing"], table["weight"], shown, strict=True)):
        text = _short(v) if _finite(v) else "n/a"
        if i < 3:
            text += f"\nweight {w:.0%}"
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
    title = f"{landing.period.label} lands at {_short(landing.total)} {currency}"
    if _finite(target) and target > 0:
        ax.axhline(target, color="0.2", ls="--", lw=1.2, label=target_label)
        gap = landing.total - target
        title += f", {_short(abs(gap))} {'short of' if gap < 0 else 'above'} the {target_label}"
    ax.set_title(title)
    ax.set_ylabel(f"Revenue in {landing.period.label}")
    money_axis(ax, currency=currency)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=3, frameon=False)
    return ax


def landing_table(landing):
    """The three methods and the combination side by side (remainder, landing, weight)."""
    return format_table(
        landing.table(),
        money=["remainder", "landing"],
        pct=["weight"],
        note="n/a: the method cannot say (see the note above).",
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
            signed_pct=[c for c in pivot.columns if c != "quarter"],
            note="n/a: no positive actual total to measure an error against.",
        ),
        format_table(
            errors,
            pct=[c for c in errors.columns if c not in ("as of", "points")],
            counts=["points"],
            note="n/a: the method could not forecast at those points.",
        ),
    )


def model_table(fc):
    """Period total per model with its backtest errors (n/a: no backtest origin)."""
    return format_table(
        fc.model_totals(),
        money=["forecast_total"],
        pct=["smape", "total_abs_error_pct"],
        counts=["origins"],
        note="n/a: no backtest — too little history before the period for a rolling origin.",
    )


def backtest_table(fc):
    """Period-total error per backtest origin and model (forecast / actual - 1)."""
    pivot = fc.backtest.pivot(index="origin", columns="model", values="total_error_pct")
    pivot.index = pd.to_datetime(pivot.index).strftime("%Y-%m")
    return format_table(
        pivot.reset_index(),
        signed_pct=list(pivot.columns),
        note="n/a: no revenue in the months tested, so no error ratio.",
    )


def allocation_table(frame: pd.DataFrame):
    """A split (rolled up or per rep) with money to the cent; n/a where last year has no revenue."""
    money = ["target_amount", "last_year_revenue", "gap_vs_last_year", "existing_quota"]
    return format_table(
        frame,
        decimals={c: 2 for c in [*money, "proposed_vs_quota", "region_target", "team_target"]},
        signed_pct=["growth_vs_last_year"],
        counts=["target_cents"],
        note="n/a: no revenue in the same period last year (or no comparable one), or no quota.",
    )


__all__ = [
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
