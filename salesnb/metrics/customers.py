"""Customer metrics: RFM segments, cohort retention, lifetime value, churn risk, affinity, concentration.

Pure functions on the small frames that ``salesnb.queries`` / ``salesnb.queries.customers``
return (one row per customer, per cohort x month, per category pair). No I/O, no plotting;
inputs are never mutated. Business rules (segment cut-offs, risk thresholds, horizon, discount
rate) are arguments with documented defaults.

The lifetime-value models (BG/NBD + Gamma-Gamma) live in :mod:`salesnb.metrics.clv`, which explains why
they are written by hand with scipy; :func:`fit_clv` is re-exported here.

Time units: ``customer_summary`` is in days; :func:`clv_predictions` converts it to weeks before
fitting and turns ``clv_months`` into weeks (4.348 weeks a month).
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.formatting import money
from salesnb.i18n import N_, _, month_label, period_label, plural
from salesnb.metrics import require_columns
from salesnb.metrics.clv import (
    DAYS_PER_WEEK,
    WEEKS_PER_MONTH,
    ClvModel,
    fit_bgnbd,
    fit_clv,
    fit_gamma_gamma,
    summary_in_weeks,
)

# --------------------------------------------------------------------------- helpers


# --------------------------------------------------------------------------- RFM

#: Named RFM segments, checked in order (first match wins). Each rule maps a column of the
#: scored frame to an inclusive (low, high) range. Scores run 1 (worst) .. 5 (best);
#: ``fm_score`` is the mean of the frequency and monetary scores; ``tenure_days`` is days since
#: the first purchase. Pass your own list to :func:`rfm_segments` to change the cut-offs.
DEFAULT_SEGMENT_RULES: tuple[tuple[str, dict], ...] = (
    ("Champions", {"r_score": (4, 5), "fm_score": (4, 5)}),  # bought lately, often, a lot
    ("Loyal", {"r_score": (3, 5), "fm_score": (3, 5)}),  # steady good customers
    ("New", {"tenure_days": (0, 90)}),  # first purchase this quarter
    ("Promising", {"r_score": (4, 5), "fm_score": (1, 3)}),  # recent but small so far
    ("Needs attention", {"r_score": (3, 3), "fm_score": (1, 3)}),  # average, slipping
    ("At risk", {"r_score": (1, 2), "fm_score": (3, 5)}),  # were good, gone quiet
    ("Hibernating", {"r_score": (2, 2), "fm_score": (1, 3)}),  # small and quiet
    ("Lost", {"r_score": (1, 1), "fm_score": (1, 3)}),  # small and long gone
)
SEGMENT_ORDER = [name for name, _ in DEFAULT_SEGMENT_RULES] + ["Other"]
NOT_A_CUSTOMER = "(not yet a customer)"


def _score(values: pd.Series, n_bins: int, higher_is_better: bool) -> pd.Series:
    # Percentile rank with ties averaged: equal customers get equal scores, and the result
    # does not depend on row order (qcut on 'first' ranks would split ties arbitrarily).
    pct = (values if higher_is_better else -values).rank(pct=True, method="average")
    # the epsilon keeps 0.6 * 5 = 3.0000000000000004 in bin 3
    return np.ceil(pct * n_bins - 1e-9).clip(1, n_bins).astype("int64")


def rfm_scores(
    frame: pd.DataFrame,
    *,
    recency_col: str = "recency_days",
    frequency_col: str = "orders",
    monetary_col: str = "revenue",
    n_bins: int = 5,
) -> pd.DataFrame:
    """Quantile scores 1..``n_bins`` for recency (recent = high), frequency and monetary value.

    Adds ``r_score, f_score, m_score, fm_score`` (mean of f and m) to a copy of ``frame``.

    >>> f = pd.DataFrame({"recency_days": [1, 50, 300, 10, 5], "orders": [9, 2, 1, 4, 6],
    ...                   "revenue": [900., 80., 20., 300., 500.]})
    >>> rfm_scores(f)[["r_score", "f_score", "m_score"]].values.tolist()
    [[5, 5, 5], [2, 2, 2], [1, 1, 1], [3, 3, 3], [4, 4, 4]]
    """
    require_columns(frame, [recency_col, frequency_col, monetary_col], "customer frame")
    out = frame.copy()
    out["r_score"] = _score(out[recency_col].astype("float64"), n_bins, higher_is_better=False)
    out["f_score"] = _score(out[frequency_col].astype("float64"), n_bins, higher_is_better=True)
    out["m_score"] = _score(out[monetary_col].astype("float64"), n_bins, higher_is_better=True)
    out["fm_score"] = (out["f_score"] + out["m_score"]) / 2.0
    return out


def rfm_segments(
    scored: pd.DataFrame, rules: Sequence[tuple[str, dict]] | None = None
) -> pd.DataFrame:
    """Name each customer's segment from the first matching rule (``DEFAULT_SEGMENT_RULES``).

    ``rules``: ordered ``(name, {column: (low, high)})``, inclusive ranges. Customers no rule
    matches are ``"Other"``. Returns a copy with a ``segment`` column (ordered categorical).
    """
    rules = list(DEFAULT_SEGMENT_RULES if rules is None else rules)
    needed = sorted({c for _name, cond in rules for c in cond})
    require_columns(scored, needed, "scored customer frame")
    out = scored.copy()
    segment = pd.Series("Other", index=out.index, dtype="object")
    unassigned = pd.Series(True, index=out.index)
    for name, cond in rules:
        hit = unassigned.copy()
        for col, (lo, hi) in cond.items():
            hit &= out[col].between(lo, hi)
        segment[hit] = name
        unassigned &= ~hit
    order = [n for n, _ in rules] + ["Other"]
    out["segment"] = pd.Categorical(segment, categories=list(dict.fromkeys(order)), ordered=True)
    return out


def segment_summary(segmented: pd.DataFrame, revenue_col: str = "revenue") -> pd.DataFrame:
    """Size and revenue per segment: ``segment, customers, customers_share, revenue,
    revenue_share, avg_recency_days, avg_orders`` (segments in rule order, empty ones kept)."""
    require_columns(
        segmented, ["segment", revenue_col, "recency_days", "orders"], "segmented frame"
    )
    g = segmented.groupby("segment", observed=False)
    out = pd.DataFrame(
        {
            "customers": g.size(),
            "revenue": g[revenue_col].sum(),
            "avg_recency_days": g["recency_days"].mean(),
            "avg_orders": g["orders"].mean(),
        }
    )
    out["customers_share"] = out["customers"] / max(out["customers"].sum(), 1)
    total = out["revenue"].sum()
    out["revenue_share"] = out["revenue"] / total if total > 0 else np.nan  # none of a net loss
    out = out.reset_index()
    out["segment"] = out["segment"].astype("str")
    cols = [
        "segment",
        "customers",
        "customers_share",
        "revenue",
        "revenue_share",
        "avg_recency_days",
        "avg_orders",
    ]
    return out[cols]


def segment_movement(prior: pd.DataFrame, current: pd.DataFrame) -> pd.DataFrame:
    """Customers moving between segments: rows = prior segment, columns = current segment.

    Customers absent from ``prior`` (first purchase since) count in the row
    ``"(not yet a customer)"``. Both frames need ``customer_id, segment``.
    """
    require_columns(prior, ["customer_id", "segment"], "prior segments")
    require_columns(current, ["customer_id", "segment"], "current segments")
    m = current[["customer_id", "segment"]].merge(
        prior[["customer_id", "segment"]], on="customer_id", how="left", suffixes=("", "_prior")
    )
    m["segment_prior"] = m["segment_prior"].astype("object").fillna(NOT_A_CUSTOMER)
    m["segment"] = m["segment"].astype("object")
    table = pd.crosstab(m["segment_prior"], m["segment"])
    rows = [s for s in [*SEGMENT_ORDER, NOT_A_CUSTOMER] if s in table.index]
    rows += [s for s in table.index if s not in rows]
    cols = [s for s in SEGMENT_ORDER if s in table.columns] + [
        s for s in table.columns if s not in SEGMENT_ORDER
    ]
    table = table.loc[rows, cols]
    table.index.name, table.columns.name = "prior segment", "current segment"
    return table


def period_line(period: str, scope: str, previous: str, currency: str) -> str:
    """The page's first line (markdown): the period, the scope, the period movement is
    measured against and the currency.

    >>> period_line("2026-Q3", "region=EMEA", "2026-Q2", "USD")
    '**Period 2026-Q3** (region=EMEA); movement is measured against 2026-Q2; amounts in USD.'
    """
    from salesnb.metrics.targets import scope_text

    return _(
        "**Period {period}** ({scope}); movement is measured against {previous}; amounts in {currency}."
    ).format(
        period=period_label(period),
        scope=scope_text(scope),
        previous=period_label(previous),
        currency=currency,
    )


def no_orders_before(previous: str) -> str:
    """Why segment movement is not measured (a skipped section's reason).

    >>> no_orders_before("2026-Q2")
    'no orders before the end of 2026-Q2'
    """
    return _("no orders before the end of {previous}").format(previous=period_label(previous))


def clv_fit_line(model, clv_total: float, clv_months: int, currency: str) -> str:
    """What the lifetime-value model was fitted on and what it predicts for the base (markdown)."""
    return _(
        "Fitted on {n} customers ({repeat} repeat buyers); log-likelihood {loglik}. "
        "Predicted value of the base over {months} months: **{value} {currency}**."
    ).format(
        n=f"{model.n_customers:,}",
        repeat=f"{model.n_repeat:,}",
        loglik=f"{model.loglik:,.1f}",
        months=clv_months,
        value=f"{clv_total:,.0f}",
        currency=currency,
    )


def concentration_note(period: str, net_revenue: float, currency: str) -> str:
    """Why revenue concentration is not computed: net revenue is not positive (markdown).

    >>> concentration_note("2026-Q3", -5.0, "USD")[:60]
    '**Concentration not computed**: net revenue in 2026-Q3 is -5'
    """
    return _(
        "**Concentration not computed**: net revenue in {period} is {value} {currency} "
        "(returns at or above sales), so shares of it mean nothing."
    ).format(period=period_label(period), value=f"{net_revenue:,.2f}", currency=currency)


def history_notes(first_order, period_end, previous, lookback_months: int = 12) -> dict:
    """What a short order history does to the RFM scores and to segment movement.

    ``first_order``: the first order date in the warehouse; ``period_end``: the study period's
    end (exclusive); ``previous``: the period movement is measured against. Movement needs
    orders before ``previous`` ended; RFM scores resting on less than the look-back are flagged.
    Returns ``{"movement_measured": bool, "rfm": [notes], "movement": [notes]}``.

    >>> from datetime import date
    >>> from salesnb.model.periods import parse_period
    >>> history_notes(date(2026, 9, 1), date(2026, 10, 1), parse_period("2026-08"))["movement_measured"]
    False
    >>> history_notes(date(2023, 10, 1), date(2026, 10, 1), parse_period("2026-Q2"))
    {'movement_measured': True, 'rfm': [], 'movement': []}
    """
    first = pd.Timestamp(first_order)
    out = {"movement_measured": True, "rfm": [], "movement": []}
    lookback = pd.DateOffset(months=int(lookback_months))

    def span(end) -> str:
        days = (pd.Timestamp(end) - first).days
        if days < 61:
            return plural(days, "{n} day", "{n} days").format(n=days)
        return _("{n} months").format(n=f"{days / 30.4375:.0f}")

    if first > pd.Timestamp(period_end) - lookback:
        out["rfm"].append(
            _(
                "RFM scores rest on {span} of orders, not the {months}-month look-back: "
                "orders start on {first}."
            ).format(span=span(period_end), months=lookback_months, first=first.date())
        )
    if first >= pd.Timestamp(previous.end):
        out["movement_measured"] = False
        out["movement"].append(
            _(
                "Segment movement not measured: orders start on {first}, after {previous} ended, "
                "so nobody had a segment then; it needs orders before {end}."
            ).format(first=first.date(), previous=period_label(previous.label), end=previous.end)
        )
    elif first > pd.Timestamp(previous.end) - lookback:
        out["movement"].append(
            _(
                "Segments at the end of {previous} rest on {span} of orders: "
                "movement since then partly reflects the history filling in."
            ).format(previous=period_label(previous.label), span=span(previous.end))
        )
    return out


def segment_flows(movement: pd.DataFrame, segment: str = "Champions") -> dict:
    """Customers a segment kept, gained and lost between the two periods (from :func:`segment_movement`)."""
    kept = (
        int(movement.loc[segment, segment])
        if segment in movement.index and segment in movement.columns
        else 0
    )
    gained = int(movement[segment].sum()) - kept if segment in movement.columns else 0
    lost = int(movement.loc[segment].sum()) - kept if segment in movement.index else 0
    return {"kept": kept, "gained": gained, "lost": lost}


# --------------------------------------------------------------------------- cohorts


def cohort_matrix(
    activity: pd.DataFrame,
    value: str = "customers",
    max_months: int | None = None,
    last_cohorts: int | None = None,
) -> pd.DataFrame:
    """Retention by first-purchase month: rows = cohort, columns = months since first purchase.

    ``activity``: ``cohort, months_since, customers, revenue`` (from
    ``queries.customers.cohort_activity``). ``value="customers"``: share of the cohort active
    in that month; ``value="revenue"``: that month's revenue / the cohort's first-month revenue.
    Month 0 is 1.0 by construction; months not yet reached are NaN.

    >>> a = pd.DataFrame({"cohort": ["2026-01"] * 3, "months_since": [0, 1, 2],
    ...                   "customers": [10, 4, 2], "revenue": [100., 60., 30.]})
    >>> cohort_matrix(a).values.tolist()
    [[1.0, 0.4, 0.2]]
    """
    if value not in ("customers", "revenue"):
        raise ValueError("value must be 'customers' or 'revenue'")
    require_columns(activity, ["cohort", "months_since", value], "cohort activity")
    wide = activity.pivot_table(index="cohort", columns="months_since", values=value, aggfunc="sum")
    last = pd.to_datetime(activity["month"]).max() if "month" in activity.columns else None
    reached = None
    if last is not None:
        cohorts = pd.to_datetime(pd.Series(wide.index, index=wide.index))
        reached = (last.year - cohorts.dt.year) * 12 + last.month - cohorts.dt.month
    top = (
        int(reached.max())
        if reached is not None and len(reached)
        else int(activity["months_since"].max())
    )
    wide = wide.reindex(columns=range(0, max(top, int(activity["months_since"].max())) + 1))
    if 0 not in wide.columns or wide[0].isna().all():
        return wide * np.nan
    base = wide[0].where(wide[0] != 0)
    out = wide.div(base, axis=0)
    # A cohort with no activity in a month it has already lived through retained nothing then;
    # months after the data's end stay NaN.
    if reached is not None:
        lived = reached.to_numpy()[:, None] >= out.columns.to_numpy()[None, :]
        out = out.mask(lived & out.isna().to_numpy(), 0.0)
    if max_months is not None:
        out = out.loc[:, [c for c in out.columns if c <= max_months]]
    if last_cohorts is not None:
        out = out.iloc[-last_cohorts:]
    out.index.name, out.columns.name = "cohort", "months since first purchase"
    return out


def retention_curve(
    activity: pd.DataFrame,
    value: str = "customers",
    max_months: int | None = None,
    last_cohorts: int | None = None,
) -> pd.Series:
    """Average retention per month since first purchase, weighting cohorts by their size.

    Only cohorts that have lived through month k count for month k; ``last_cohorts`` keeps the
    most recent cohorts only (as in :func:`cohort_matrix`).

    >>> a = pd.DataFrame({"cohort": ["2026-01"] * 2 + ["2026-02"] * 2, "months_since": [0, 1] * 2,
    ...                   "customers": [10, 5, 30, 3], "revenue": [1.] * 4})
    >>> retention_curve(a).round(3).tolist()
    [1.0, 0.2]
    """
    matrix = cohort_matrix(activity, value=value, max_months=max_months, last_cohorts=last_cohorts)
    base = activity[activity["months_since"] == 0].set_index("cohort")[value].reindex(matrix.index)
    weights = matrix.notna().mul(base, axis=0)
    curve = (matrix.fillna(0) * weights).sum() / weights.sum().where(weights.sum() > 0)
    curve.name = f"{value}_retention"
    return curve


def retention_breaks(
    curve: pd.Series, top: int = 2, skip_first: bool = True, min_drop: float = 0.10
) -> pd.DataFrame:
    """The months since first purchase where retention falls most (relative to the month before).

    Month 1 is left out by default (``skip_first``): nearly every business loses most
    one-time buyers after the first month, which is reported separately. Returns
    ``month, retention_before, retention, drop_pct`` for the ``top`` sharpest falls of at least
    ``min_drop`` (a tenth fewer active customers than the month before, by default).
    """
    c = curve.dropna()
    prev = c.shift(1)
    drop = 1 - c / prev.where(prev > 0)
    out = pd.DataFrame(
        {
            "month": c.index,
            "retention_before": prev.values,
            "retention": c.values,
            "drop_pct": drop.values,
        }
    )
    if skip_first:
        out = out[out["month"] >= 2]
    out = out.dropna()
    out = out[out["drop_pct"] >= min_drop]
    out = out.sort_values(["drop_pct", "month"], ascending=[False, True]).head(top)
    return out.reset_index(drop=True)


def calendar_dips(activity: pd.DataFrame, threshold: float = 0.15) -> pd.DataFrame:
    """Calendar months in which returning customers fell sharply versus the month before.

    Returning = active customers of cohorts acquired before that month. Returns ``month,
    returning_customers, change_pct`` for months whose change is below ``-threshold``.
    """
    require_columns(activity, ["month", "months_since", "customers"], "cohort activity")
    ret = activity[activity["months_since"] > 0].groupby("month")["customers"].sum().sort_index()
    change = ret / ret.shift(1) - 1
    out = pd.DataFrame(
        {"month": ret.index, "returning_customers": ret.values, "change_pct": change.values}
    )
    return out[out["change_pct"] < -threshold].reset_index(drop=True)


def cohort_findings(
    curve_customers: pd.Series, curve_revenue: pd.Series, dips: pd.DataFrame
) -> str:
    """Markdown sentences naming where retention breaks (from the curves and calendar dips)."""
    lines = []
    if 1 in curve_customers.index and pd.notna(curve_customers.get(1)):
        lines.append(
            _(
                "- **{share}** of a cohort buys again in its second month "
                "(month 1); revenue retention that month is {revenue}."
            ).format(
                share=f"{curve_customers[1]:.0%}", revenue=f"{curve_revenue.get(1, np.nan):.0%}"
            )
        )
    breaks = retention_breaks(curve_customers)
    if breaks.empty and len(curve_customers.dropna()) > 2:
        lines.append(
            _(
                "- After month 1 retention declines gradually: no later month loses a tenth or more "
                "of the customers active the month before."
            )
        )
    for row in breaks.itertuples():
        lines.append(
            _(
                "- Retention breaks in **month {month}** after the first purchase: "
                "active share falls from {before} to {after} "
                "({drop} fewer customers than the month before)."
            ).format(
                month=int(row.month),
                before=f"{row.retention_before:.1%}",
                after=f"{row.retention:.1%}",
                drop=f"{row.drop_pct:.0%}",
            )
        )
    for row in dips.itertuples():
        lines.append(
            _(
                "- In **{month}** returning customers fell {drop} versus the month before, across cohorts."
            ).format(
                month=month_label(pd.Timestamp(row.month).date()), drop=f"{-row.change_pct:.0%}"
            )
        )
    return "\n".join(lines) or _("- Too little history to measure retention.")


# --------------------------------------------------------------------------- CLV


def clv_predictions(
    summary_days: pd.DataFrame,
    clv_months: int = 12,
    discount_rate: float = 0.10,
    penalizer: float = 0.0,
) -> tuple[ClvModel, pd.DataFrame]:
    """Fit BG/NBD + Gamma-Gamma to a customer summary in days and predict per customer.

    ``summary_days``: ``queries.customer_summary`` output (``frequency, recency, T,
    monetary_value`` in days). Recency and T are converted to weeks for the fit;
    ``clv_months`` is the horizon, ``discount_rate`` the annual rate. Returns the model and
    the summary with ``expected_purchases`` (in the horizon), ``probability_alive``,
    ``expected_value`` (per purchase) and ``clv`` (discounted value in the horizon, to the cent).
    Raises :class:`~salesnb.errors.FitError` when the data cannot carry the model.
    """
    weeks = summary_in_weeks(summary_days)
    # Amounts summed in parallel by the engine can differ in the last bits from run to run;
    # rounding to a millionth of a currency unit makes the fit's input, and so its output,
    # identical for identical data.
    weeks["monetary_value"] = weeks["monetary_value"].astype("float64").round(6)
    model = fit_clv(weeks, penalizer=penalizer)
    pred = model.predict(weeks, clv_months=clv_months, discount_rate=discount_rate)
    # money to the cent: keeps totals identical from run to run (see the rounding above)
    pred["clv"] = pred["clv"].round(2)
    pred["recency"] = summary_days["recency"].to_numpy()
    pred["T"] = summary_days["T"].to_numpy()
    return model, pred


# the time units a lifetime-value fit is measured in, named on the page
_TIME_UNITS = {"weeks": N_("weeks"), "days": N_("days"), "months": N_("months")}


def clv_params_table(model: ClvModel) -> pd.DataFrame:
    """The fitted parameters with what each means, for the report."""
    meaning = {
        "r": _("shape of purchase-rate spread (Gamma)"),
        "alpha": _("scale of purchase rate ({unit})").format(
            unit=_(_TIME_UNITS[model.time_unit])
            if model.time_unit in _TIME_UNITS
            else model.time_unit
        ),
        "a": _("dropout Beta a"),
        "b": _("dropout Beta b"),
        "p": _("spend per purchase shape"),
        "q": _("spend spread across customers (shape)"),
        "gamma": _("spend spread across customers (scale)"),
    }
    return pd.DataFrame(
        {
            "parameter": list(model.params),
            "value": list(model.params.values()),
            "meaning": [meaning[k] for k in model.params],
        }
    )


def churn_risk(
    predictions: pd.DataFrame,
    owners: pd.DataFrame | None = None,
    *,
    value_col: str = "revenue",
    value_quantile: float = 0.8,
    alive_threshold: float = 0.5,
) -> pd.DataFrame:
    """The call list: customers of high past value who have probably stopped buying.

    High value = ``value_col`` at or above its ``value_quantile`` quantile over customers who
    bought more than once; probably gone = ``probability_alive < alive_threshold``. (Under
    BG/NBD a one-time buyer cannot be judged: dropout happens only after a repeat purchase, so
    single-purchase customers never appear.) ``owners`` (``customer_id, customer_name,
    owner_rep_id, owner_rep``) adds who should call. Sorted by past value, largest first.
    Columns: ``customer_id, customer_name, owner_rep_id, owner_rep, last_purchase,
    recency_days, past_value, probability_alive, expected_purchases, clv``.
    """
    require_columns(
        predictions,
        [
            "customer_id",
            value_col,
            "probability_alive",
            "frequency",
            "last_date",
            "recency_days",
            "clv",
            "expected_purchases",
        ],
        "predictions",
    )
    repeat = predictions[predictions["frequency"] > 0]
    if repeat.empty:
        cut = np.inf
    else:
        cut = repeat[value_col].quantile(value_quantile)
    risk = repeat[
        (repeat[value_col] >= cut) & (repeat["probability_alive"] < alive_threshold)
    ].copy()
    risk = risk.rename(columns={value_col: "past_value", "last_date": "last_purchase"})
    risk["past_value"] = risk["past_value"].round(2)  # engine sums differ in the last bits
    if owners is not None and len(owners):
        risk = risk.merge(
            owners[
                [
                    c
                    for c in ("customer_id", "customer_name", "owner_rep_id", "owner_rep")
                    if c in owners.columns
                ]
            ],
            on="customer_id",
            how="left",
        )
    for c in ("customer_name", "owner_rep_id", "owner_rep"):
        if c not in risk.columns:
            risk[c] = None
    cols = [
        "customer_id",
        "customer_name",
        "owner_rep_id",
        "owner_rep",
        "last_purchase",
        "recency_days",
        "past_value",
        "probability_alive",
        "expected_purchases",
        "clv",
    ]
    risk = risk[cols].sort_values(["past_value", "customer_id"], ascending=[False, True])
    return risk.reset_index(drop=True)


def clv_by_rep(
    summary_days: pd.DataFrame,
    owners: pd.DataFrame,
    clv_months: int = 12,
    discount_rate: float = 0.10,
) -> pd.DataFrame:
    """Predicted customer value of each rep's book: ``rep_id, rep_name, customers, clv, weight``.

    Fits the CLV model to ``summary_days`` (``queries.customer_summary``, history before the
    target period) and sums each owner rep's customers — the weights of the ``clv`` target
    split (``salesnb.metrics.targets.allocate_target(..., method="clv")``).
    """
    _model, pred = clv_predictions(summary_days, clv_months=clv_months, discount_rate=discount_rate)
    return clv_weights_by_rep(pred, owners)


def clv_weights_by_rep(
    predictions: pd.DataFrame,
    owners: pd.DataFrame,
    *,
    clv_col: str = "clv",
    rep_col: str = "owner_rep_id",
) -> pd.DataFrame:
    """Each rep's share of the predicted customer value of their book (for CLV-based targets).

    ``predictions``: ``customer_id, clv``; ``owners``: ``customer_id, owner_rep_id`` (and
    ``owner_rep`` for the name). Customers without an owner are left out. Returns ``rep_id,
    rep_name, customers, clv, weight`` (weight sums to 1; sorted by rep_id) — the frame
    ``allocate_target(total, weights, method="clv")`` splits by.

    >>> p = pd.DataFrame({"customer_id": ["a", "b", "c"], "clv": [30.0, 10.0, 60.0]})
    >>> o = pd.DataFrame({"customer_id": ["a", "b", "c"], "owner_rep_id": ["r1", "r1", "r2"]})
    >>> clv_weights_by_rep(p, o)[["rep_id", "weight"]].values.tolist()
    [['r1', 0.4], ['r2', 0.6]]
    """
    require_columns(predictions, ["customer_id", clv_col], "predictions")
    require_columns(owners, ["customer_id", rep_col], "owners")
    name = (
        owners["owner_rep"]
        if "owner_rep" in owners.columns
        else pd.Series(None, index=owners.index)
    )
    own = pd.DataFrame(
        {"customer_id": owners["customer_id"], "rep_id": owners[rep_col], "rep_name": name}
    )
    m = predictions[["customer_id", clv_col]].merge(own, on="customer_id", how="inner")
    m = m[m["rep_id"].notna()]
    g = (
        m.groupby("rep_id", sort=True)
        .agg(
            rep_name=("rep_name", "first"), customers=("customer_id", "size"), clv=(clv_col, "sum")
        )
        .reset_index()
    )
    total = g["clv"].sum()
    g["weight"] = g["clv"] / total if total > 0 else np.nan
    return g[["rep_id", "rep_name", "customers", "clv", "weight"]]


# --------------------------------------------------------------------------- affinity


def category_affinity(pairs: dict, min_orders: int = 1) -> pd.DataFrame:
    """Support, confidence and lift of "bought A, also bought B" between categories (order level).

    ``pairs``: ``queries.customers.category_pairs`` output (``orders``, ``categories``,
    ``pairs``). Returns one row per direction: ``antecedent, consequent, orders_both, support,
    confidence, lift``; sorted by lift.

    support = orders with both / all orders; confidence = orders with both / orders with the
    antecedent; lift = confidence / share of orders with the consequent (1 = independent).
    """
    n = int(pairs["orders"])
    cats = pairs["categories"].set_index("category")["orders"]
    p = pairs["pairs"]
    require_columns(p, ["category_a", "category_b", "orders"], "category pairs")
    if n == 0 or p.empty:
        return pd.DataFrame(
            columns=["antecedent", "consequent", "orders_both", "support", "confidence", "lift"]
        )
    both = pd.concat(
        [
            pd.DataFrame(
                {
                    "antecedent": p["category_a"],
                    "consequent": p["category_b"],
                    "orders_both": p["orders"],
                }
            ),
            pd.DataFrame(
                {
                    "antecedent": p["category_b"],
                    "consequent": p["category_a"],
                    "orders_both": p["orders"],
                }
            ),
        ],
        ignore_index=True,
    )
    both = both[both["orders_both"] >= min_orders]
    both["support"] = both["orders_both"] / n
    both["confidence"] = both["orders_both"] / both["antecedent"].map(cats).to_numpy()
    both["lift"] = both["confidence"] / (both["consequent"].map(cats).to_numpy() / n)
    return both.sort_values(
        ["lift", "antecedent", "consequent"], ascending=[False, True, True]
    ).reset_index(drop=True)


def affinity_note(pairs: dict, affinity: pd.DataFrame, offers: pd.DataFrame) -> str | None:
    """Why no affinity-based offer is made (markdown), or None when there are offers.

    >>> affinity_note({"orders": 5, "categories": pd.DataFrame({"category": ["Tools"], "orders": [5]})},
    ...               pd.DataFrame(), pd.DataFrame())
    'Only one product category (Tools) is sold: affinity compares two or more.'
    """
    if len(offers):
        return None
    cats = pairs["categories"]
    if cats.empty:
        return _("No purchase in the period (returns only): no affinity to measure.")
    if len(cats) < 2:
        if len(cats):
            return _(
                "Only one product category ({category}) is sold: affinity compares two or more."
            ).format(category=cats["category"].iloc[0])
        return _("Only one product category is sold: affinity compares two or more.")
    if affinity.empty:
        return _("No order holds two product categories: no affinity to measure yet.")
    return _("No category pair sells together more often than chance: no affinity-based offer.")


def offer_rules(affinity: pd.DataFrame, min_lift: float = 1.0) -> pd.DataFrame:
    """The "bought A, offer B" rules worth an offer: :func:`category_affinity` rows with lift
    at or above ``min_lift`` (1 = bought together as often as chance).

    >>> aff = pd.DataFrame({"antecedent": ["A", "B"], "consequent": ["B", "A"], "lift": [1.3, 0.8]})
    >>> offer_rules(aff)["consequent"].tolist()
    ['B']
    """
    require_columns(affinity, ["antecedent", "consequent", "lift"], "category affinity")
    return affinity[affinity["lift"] >= min_lift]


def offer_categories(affinity: pd.DataFrame, min_lift: float = 1.0) -> list[str]:
    """The categories :func:`next_category_by_segment` looks at: those of its rules
    (:func:`offer_rules`), sorted; empty when no pair sells together more often than chance.

    >>> aff = pd.DataFrame({"antecedent": ["A", "B", "C"], "consequent": ["B", "A", "A"],
    ...                     "lift": [1.3, 1.3, 0.8]})
    >>> offer_categories(aff), offer_categories(aff, min_lift=2.0)
    (['A', 'B'], [])
    """
    rules = offer_rules(affinity, min_lift)
    return sorted(set(rules["antecedent"]) | set(rules["consequent"]))


def next_category_by_segment(
    owned: pd.DataFrame, segments: pd.DataFrame, affinity: pd.DataFrame, min_lift: float = 1.0
) -> pd.DataFrame:
    """A next-category offer per segment: the rule that would convert most of its customers.

    ``owned``: ``customer_id, category`` (categories each customer has bought; those of
    :func:`offer_categories` are enough); ``segments``: ``customer_id, segment``;
    ``affinity``: :func:`category_affinity`. For every rule A -> B of :func:`offer_rules`
    (lift >= ``min_lift``), the customers of the segment who buy A but not yet B are the
    audience and audience x confidence the expected takers; the rule with the most expected
    takers wins. Returns ``segment, offer_category, because_they_buy, audience, confidence,
    lift, expected_takers``.
    """
    require_columns(owned, ["customer_id", "category"], "customer categories")
    require_columns(segments, ["customer_id", "segment"], "segments")
    cols = [
        "segment",
        "offer_category",
        "because_they_buy",
        "audience",
        "confidence",
        "lift",
        "expected_takers",
    ]
    rules = offer_rules(affinity, min_lift)
    if rules.empty or owned.empty:
        return pd.DataFrame(columns=cols)
    flags = pd.crosstab(owned["customer_id"], owned["category"]).clip(upper=1).astype(bool)
    seg = segments.set_index("customer_id")["segment"].astype("object")
    flags = flags.join(seg, how="inner")
    rows = []
    for name, grp in flags.groupby("segment", sort=False):
        best = None
        for rule in rules.itertuples():
            if rule.antecedent not in grp.columns or rule.consequent not in grp.columns:
                continue
            audience = int((grp[rule.antecedent] & ~grp[rule.consequent]).sum())
            takers = audience * rule.confidence
            key = (takers, rule.lift)
            if audience and (best is None or key > best[0]):
                best = (key, rule, audience)
        if best is not None:
            (takers, _), rule, audience = best
            rows.append(
                (
                    name,
                    rule.consequent,
                    rule.antecedent,
                    audience,
                    rule.confidence,
                    rule.lift,
                    takers,
                )
            )
    out = pd.DataFrame(rows, columns=cols)
    order = {s: i for i, s in enumerate(SEGMENT_ORDER)}
    return out.sort_values("segment", key=lambda s: s.map(order).fillna(99)).reset_index(drop=True)


# --------------------------------------------------------------------------- concentration


def pareto_curve(customer_revenue: pd.DataFrame, revenue_col: str = "revenue") -> pd.DataFrame:
    """Cumulative share of revenue against cumulative share of customers (largest first).

    Returns ``rank, customer_id, revenue, customers_share, revenue_share`` (cumulative).
    Ties are broken by ``customer_id`` so the order is deterministic.
    """
    require_columns(customer_revenue, ["customer_id", revenue_col], "customer revenue")
    c = customer_revenue[["customer_id", revenue_col]].rename(columns={revenue_col: "revenue"})
    c = c.sort_values(["revenue", "customer_id"], ascending=[False, True]).reset_index(drop=True)
    total = c["revenue"].sum()
    c["rank"] = np.arange(1, len(c) + 1)
    c["customers_share"] = c["rank"] / max(len(c), 1)
    # shares of a zero or negative net revenue (returns at or above sales) mean nothing
    c["revenue_share"] = c["revenue"].cumsum() / total if total > 0 else np.nan
    return c[["rank", "customer_id", "revenue", "customers_share", "revenue_share"]]


def top_n_share(customer_revenue: pd.DataFrame, n: int = 10, revenue_col: str = "revenue") -> float:
    """Share of net revenue made by the ``n`` largest customers (NaN when net revenue is not positive).

    >>> top_n_share(pd.DataFrame({"customer_id": list("abcd"), "revenue": [50., 30., 15., 5.]}), n=2)
    0.8
    >>> top_n_share(pd.DataFrame({"customer_id": list("ab"), "revenue": [5., -9.]}), n=1)
    nan
    """
    curve = pareto_curve(customer_revenue, revenue_col)
    if curve.empty:
        return float("nan")
    return float(curve["revenue_share"].iloc[min(n, len(curve)) - 1])


def customers_for_share(curve: pd.DataFrame, share: float = 0.8) -> float:
    """The smallest share of customers that makes ``share`` of revenue (e.g. the 80/20 check)."""
    hit = curve[curve["revenue_share"] >= share - 1e-12]
    return float(hit["customers_share"].iloc[0]) if len(hit) else float("nan")


# --------------------------------------------------------------------------- what to do


def what_to_do(
    *,
    segments: pd.DataFrame | None = None,
    flows: dict | None = None,
    at_risk: pd.DataFrame | None = None,
    top10_share: float | None = None,
    month1_retention: float | None = None,
    offers: pd.DataFrame | None = None,
    clv_total: float | None = None,
    currency: str = "USD",
) -> str:
    """Markdown bullets of actions, computed from the study's numbers."""
    out = []
    if at_risk is not None and len(at_risk):
        value = at_risk["past_value"].sum()
        reps = at_risk["owner_rep"].dropna().nunique()
        who = _(" across {reps} account owners").format(reps=reps) if reps else ""
        out.append(
            _(
                "- **Call the {n} high-value customers who have gone quiet** "
                "(`customers-at-risk.csv`{who}); together they have bought {value} so far."
            ).format(n=len(at_risk), who=who, value=money(value, currency))
        )
    if segments is not None and len(segments):
        s = segments.set_index("segment")
        if "At risk" in s.index and s.loc["At risk", "customers"]:
            share = s.loc["At risk", "revenue_share"]
            of_revenue = (
                _(", {share} of last year's revenue").format(share=f"{share:.0%}")
                if pd.notna(share)
                else ""
            )
            out.append(
                _(
                    "- Win back the **At risk** segment ({n} customers{of_revenue}) before they lapse to Lost."
                ).format(n=int(s.loc["At risk", "customers"]), of_revenue=of_revenue)
            )
        if "New" in s.index and s.loc["New", "customers"]:
            out.append(
                _(
                    "- Onboard the {n} **New** customers: a second purchase in "
                    "the first months is where retention is decided."
                ).format(n=int(s.loc["New", "customers"]))
            )
    if flows:
        out.append(
            _(
                "- Champions: kept {kept}, gained {gained}, lost {lost} since the prior period"
            ).format(kept=flows["kept"], gained=flows["gained"], lost=flows["lost"])
            + (
                _(" — find out why the lost ones left.")
                if flows["lost"] > flows["gained"]
                else _(".")
            )
        )
    if month1_retention is not None and np.isfinite(month1_retention) and month1_retention < 0.3:
        out.append(
            _(
                "- Only {share} of new customers buy again the next month: schedule a "
                "follow-up call within 30 days of a first order."
            ).format(share=f"{month1_retention:.0%}")
        )
    if offers is not None and len(offers):
        top = offers.sort_values("expected_takers", ascending=False).iloc[0]
        out.append(
            _(
                "- Offer **{offer}** to {segment} customers who buy {bought} "
                "({n} customers, lift {lift})."
            ).format(
                offer=top.offer_category,
                segment=top.segment,
                bought=top.because_they_buy,
                n=int(top.audience),
                lift=f"{top.lift:.2f}",
            )
        )
    if top10_share is not None and np.isfinite(top10_share):
        if top10_share >= 0.2:
            out.append(
                _(
                    "- The top 10 customers make {share} of revenue: give each a named owner and "
                    "an account plan; losing one would show in the quarter."
                ).format(share=f"{top10_share:.0%}")
            )
        else:
            out.append(
                _(
                    "- Revenue is spread out (top 10 customers: {share}); no single account dominates."
                ).format(share=f"{top10_share:.0%}")
            )
    if clv_total is not None and np.isfinite(clv_total):
        out.append(
            _(
                "- The customer base is worth about {value} over the CLV horizon; "
                "use it to weight rep targets (`method='clv'`)."
            ).format(value=money(clv_total, currency))
        )
    return "\n".join(out) or _("- Nothing stands out in this period.")


__all__ = [
    "DEFAULT_SEGMENT_RULES",
    "SEGMENT_ORDER",
    "rfm_scores",
    "rfm_segments",
    "segment_summary",
    "segment_movement",
    "segment_flows",
    "cohort_matrix",
    "retention_curve",
    "retention_breaks",
    "calendar_dips",
    "cohort_findings",
    "fit_clv",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "ClvModel",
    "summary_in_weeks",
    "clv_predictions",
    "clv_params_table",
    "churn_risk",
    "clv_weights_by_rep",
    "category_affinity",
    "next_category_by_segment",
    "offer_rules",
    "offer_categories",
    "history_notes",
    "period_line",
    "no_orders_before",
    "clv_fit_line",
    "concentration_note",
    "affinity_note",
    "pareto_curve",
    "top_n_share",
    "customers_for_share",
    "what_to_do",
    "WEEKS_PER_MONTH",
    "DAYS_PER_WEEK",
]
