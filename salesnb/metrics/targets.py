"""Target setting: seasonality, growth, the SMART target, its top-down split to regions, teams and reps.

Pure functions (pandas in, pandas/number out). The baseline forecast itself lives in
:mod:`salesnb.metrics.forecast`; this module turns it into a target and splits the target.

Which period the target is for (:func:`choose_target_period`): a period the data covers
to its last day is reviewed, and the target is proposed for the next period of the same
length (``period.next()``: 2026-Q3 -> 2026-Q4, a month -> the next month, a 12-month range
-> the next 12 months, ``all`` -> as many months again); a period still in progress (or in
the future) is itself the target period. The proposal (:func:`target_proposal`) grows the
same period last year when the data covers it entirely; otherwise it is the baseline
forecast, and the page says why. Figures that cannot be computed (no season under a year of
history, no odds without an interval, no growth over no revenue) are NaN in the summary,
"not computable" with the reason in the text, and left out of the headline figures.

Hand-written pieces and why:
- the split uses largest-remainder rounding in integer cents, so the parts add up to
  the company target to the cent at every level (no library does this);
- the seasonal index falls back to month-of-year means over a 12-month centred
  moving average when the history is shorter than two years, where statsmodels'
  ``seasonal_decompose`` (used otherwise) refuses to run.

Example::

    >>> w = pd.DataFrame({"key": ["a", "b", "c"], "history_revenue": [1.0, 1.0, 1.0]})
    >>> allocate_target(1000000.01, w)["target_cents"].tolist()
    [33333334, 33333334, 33333333]
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.formatting import short_money
from salesnb.i18n import N_, _, date_label, language, period_label
from salesnb.metrics import require_columns
from salesnb.metrics.performance import resolve_targets, scope_target
from salesnb.model.filters import Filters
from salesnb.model.periods import Period

#: weight column each split method reads from the weights frame
METHOD_COLUMNS = {
    "historical": "history_revenue",  # trailing 12 months of revenue before the period
    "forecast": "forecast_revenue",  # each unit's own simple forecast for the period
    "capacity": "capacity",  # tenure ramp: min(tenure_months / ramp_months, 1)
    "equal": None,
    "clv": "clv",  # predicted customer value of the rep's book (salesnb.metrics.customers.clv_by_rep)
}
SPLIT_METHODS = tuple(METHOD_COLUMNS)
DEFAULT_RAMP_MONTHS = 12.0  # months until a new rep carries a full quota
MONTH_NAMES = [
    N_("Jan"), N_("Feb"), N_("Mar"), N_("Apr"), N_("May"), N_("Jun"),
    N_("Jul"), N_("Aug"), N_("Sep"), N_("Oct"), N_("Nov"), N_("Dec"),
]  # fmt: skip
SEASON_MONTHS = 12  # months of history before a seasonal month can be told from a trend


# --------------------------------------------------------------------------- seasonality & growth
def seasonal_index(monthly: pd.Series) -> pd.DataFrame:
    """Multiplicative seasonal index per month of year (mean 1), robust to the trend.

    ``monthly`` is a month-start indexed revenue series. With two years or more the index
    comes from statsmodels ``seasonal_decompose`` (ratio to a centred 12-month moving
    average); with less (or with months at zero or below, which are left out), from the ratio
    of each month to the mean of the months around it.
    Returns columns ``month_of_year`` (1-12), ``month_name``, ``seasonal_index``, ``months``
    (how many observations fed it).

    >>> idx = pd.date_range("2024-01-01", periods=24, freq="MS")
    >>> y = pd.Series([100 * (1.4 if d.month == 11 else 1.0) for d in idx], idx)
    >>> int(seasonal_index(y).sort_values("seasonal_index").month_of_year.iloc[-1])
    11
    """
    y = pd.Series(monthly, dtype="float64")
    if not isinstance(y.index, pd.DatetimeIndex):
        raise ValueError("seasonal_index: expected a month-start DatetimeIndex")
    if len(y) < 12:
        raise ValueError(f"seasonal_index: need at least 12 months of history, got {len(y)}")
    if len(y) >= 24 and (y > 0).all():
        from statsmodels.tsa.seasonal import seasonal_decompose

        dec = seasonal_decompose(y.to_numpy(), model="multiplicative", period=12)
        ratio = pd.Series(y.to_numpy() / dec.trend, index=y.index)
    else:
        # short history: ratio to the mean of a window of up to 12 neighbouring months. Months
        # at zero or below (returns exceeding sales) carry no multiplicative season: they are
        # left out, as observations and from their neighbours' windows
        y = y.where(y > 0)
        trend = y.rolling(12, center=True, min_periods=6).mean()
        ratio = y / trend
    frame = pd.DataFrame({"month_of_year": y.index.month, "ratio": ratio.to_numpy()}).dropna()
    g = frame.groupby("month_of_year")["ratio"]
    out = pd.DataFrame({"seasonal_index": g.mean(), "months": g.size()}).reindex(range(1, 13))
    mean = out["seasonal_index"].mean()
    out["seasonal_index"] = out["seasonal_index"] / mean if mean > 0 else np.nan
    out = out.reset_index().rename(columns={"index": "month_of_year"})
    out["months"] = out["months"].fillna(0).astype("int64")
    out.insert(1, "month_name", [MONTH_NAMES[m - 1] for m in out["month_of_year"]])
    return out


def seasonality(
    monthly: pd.Series, min_months: int = SEASON_MONTHS
) -> tuple[pd.DataFrame | None, str | None]:
    """The seasonal index when the history allows one, else None and a one-line note.

    Under ``min_months`` complete months no season can be told from a trend; a history whose
    level is at zero or below (returns exceed sales) has no multiplicative season either.

    >>> idx = pd.date_range("2026-02-01", periods=8, freq="MS")
    >>> season, note = seasonality(pd.Series(100.0, idx))
    >>> season is None, note.split(":")[0]
    (True, '**No seasonality**')
    """
    n = len(monthly)
    if n < min_months:
        return None, _(
            "**No seasonality**: {n} month(s) of history, under the {needed} needed to tell a "
            "seasonal month from a trend. A full year of orders would show which months are "
            "strong; until then the baseline is non-seasonal."
        ).format(n=n, needed=min_months)
    index = seasonal_index(monthly)
    if not index["seasonal_index"].notna().any():
        return None, _(
            "**No seasonality**: the revenue around every month is at zero or below (returns "
            "exceed sales), so no month can be compared with its neighbours."
        )
    return index, None


def peak_month(index: pd.DataFrame) -> int:
    """Month of year (1-12) with the highest seasonal index (months without one ignored)."""
    require_columns(index, ["month_of_year", "seasonal_index"], "peak_month")
    return int(index.loc[index["seasonal_index"].idxmax(), "month_of_year"])


def choose_target_period(period: Period, data_last, as_of=None) -> tuple[Period, str]:
    """The period the target is for, and why (rule in the module docstring).

    ``data_last`` is the last order date; with ``as_of`` the data is taken as known up to that
    day only (a study run "as of" mid-quarter sets the target for that quarter).

    >>> from salesnb.model.periods import parse_period
    >>> choose_target_period(parse_period("2026-Q3"), "2026-09-30")[0].label
    '2026-Q4'
    >>> choose_target_period(parse_period("2026-Q4"), "2026-11-15")[0].label
    '2026-Q4'
    >>> choose_target_period(parse_period("2025-Q3..2026-Q2"), "2026-09-30")[0].label
    '2026-Q3..2027-Q2'
    >>> choose_target_period(parse_period("2026-Q3"), "2026-09-30", as_of="2026-08-15")[0].label
    '2026-Q3'
    """
    if as_of is not None and data_last is not None:
        data_last = min(pd.Timestamp(data_last), pd.Timestamp(as_of))
    complete = data_last is not None and pd.Timestamp(data_last).date() >= period.last_day
    if complete or period.kind == "all":
        nxt = period.next()
        what = _("the whole history") if period.kind == "all" else period_label(period.label)
        return nxt, _(
            "{what} is complete in the data (orders to {day}), so it is reviewed and the target "
            "is for the next {n} month(s): {next}"
        ).format(what=what, day=_day(data_last), n=period.months, next=period_label(nxt.label))
    to = (
        _("orders to {day}").format(day=_day(data_last))
        if data_last is not None
        else _("no orders")
    )
    return period, _(
        "{period} is not complete in the data ({orders}): the target is for it"
    ).format(period=period_label(period.label), orders=to)


ALL_SCOPE = "all regions, teams and channels"  # Filters.describe() without a filter


def scope_text(scope: str) -> str:
    """The scope studied (``Filters.describe()``) in the page's language.

    >>> scope_text("all regions, teams and channels"), scope_text("region=EMEA")
    ('all regions, teams and channels', 'region=EMEA')
    """
    return _("all regions, teams and channels") if scope == ALL_SCOPE else scope


def plan_line(period: Period, why: str, scope: str, currency: str) -> str:
    """The page's first line: the period planned, its dates, why it is the one, the scope and
    the currency (markdown).

    >>> from salesnb.model.periods import parse_period
    >>> plan_line(parse_period("2026-Q4"), "set by hand", "region=EMEA", "USD")
    '**Plan period 2026-Q4** (2026-10-01 – 2026-12-31) · set by hand · region=EMEA · currency USD'
    """
    return _(
        "**Plan period {period}** ({start} – {end}) · {why} · {scope} · currency {currency}"
    ).format(
        period=period_label(str(period)),
        start=_day(period.start),
        end=_day(period.last_day),
        why=why,
        scope=scope_text(scope),
        currency=currency,
    )


def choose_plan_period(
    period: Period, data_last, as_of=None, plan_period: str = ""
) -> tuple[Period, str]:
    """The period planned: ``plan_period`` when given, else :func:`choose_target_period`'s rule.

    >>> from salesnb.model.periods import parse_period
    >>> choose_plan_period(parse_period("2026-Q3"), "2026-09-30")[0].label
    '2026-Q4'
    >>> choose_plan_period(parse_period("2026-Q3"), "2026-09-30", plan_period="2027-Q1")[0].label
    '2027-Q1'
    """
    from salesnb.model.periods import parse_period

    if plan_period and plan_period.strip():
        chosen = parse_period(plan_period.strip())
        return chosen, _("the period planned is set by the plan_period parameter: {period}").format(
            period=period_label(chosen.label)
        )
    return choose_target_period(period, data_last, as_of)


def reviewed_period(period: Period, plan: Period, data_last, as_of=None) -> Period | None:
    """The report period when it is complete in the data and is not the one planned (its
    review is the second half of the page), else None.

    >>> from salesnb.model.periods import parse_period
    >>> q3 = parse_period("2026-Q3")
    >>> reviewed_period(q3, q3.next(), "2026-09-30").label, reviewed_period(q3, q3, "2026-08-15")
    ('2026-Q3', None)
    """
    if period == plan or choose_target_period(period, data_last, as_of)[0] == period:
        return None
    return period


def scope_quota(targets: pd.DataFrame | None, period, region=None, team=None, channel=None):
    """The quotas set for a period (:func:`quotas_for_period`), the note when none cover it,
    and their total for the scope studied (:func:`existing_quota_total`); all None without a
    targets table."""
    if targets is None:
        return None, None, None
    quota, note = quotas_for_period(targets, period)
    return quota, note, existing_quota_total(targets, period, region, team, channel)


def growth(current: float, previous: float) -> float:
    """current / previous - 1 (NaN when there is no previous revenue)."""
    if previous is None or not np.isfinite(previous) or previous <= 0:
        return float("nan")
    return float(current) / float(previous) - 1.0


def target_proposal(
    last_year_total: float,
    last_year_note: str | None,
    forecast_total: float | None,
    target_growth: float = 0.20,
    target_amount: float = 0.0,
) -> tuple[float | None, str]:
    """The proposed target and its basis in words: ``target_amount`` when given; else the same
    period last year x (1 + ``target_growth``) when the data covers it (``last_year_note`` None)
    and it had positive revenue; else the baseline forecast (a 50/50 target); else None.

    >>> target_proposal(100.0, None, 130.0)
    (120.0, 'the same period last year +20%')
    >>> target_proposal(100.0, "last year is only partly in the data", 130.0)[0]
    130.0
    >>> target_proposal(0.0, None, -5.0)
    (None, 'no target proposed: no revenue in the same period last year and no positive baseline forecast; set target_amount')
    """
    if target_amount and target_amount > 0:
        return proposed_target(0.0, target_growth, target_amount), _("set by hand (target_amount)")
    usable = last_year_note is None and np.isfinite(last_year_total) and last_year_total > 0
    if usable:
        total = proposed_target(last_year_total, target_growth)
        return total, _("the same period last year {growth}").format(growth=f"{target_growth:+.0%}")
    why = last_year_note or _("no revenue in the same period last year")
    if forecast_total is not None and np.isfinite(forecast_total) and forecast_total > 0:
        basis = _("the same period last year is not comparable") if last_year_note else why
        return round(float(forecast_total), 2), _(
            "the baseline forecast, a 50/50 target, as {why} (set target_amount to choose another)"
        ).format(why=basis)
    return None, _(
        "no target proposed: {why} and no positive baseline forecast; set target_amount"
    ).format(why=why)


def proposed_target(
    last_year_total: float, target_growth: float = 0.20, target_amount: float = 0.0
) -> float:
    """The company target: ``target_amount`` when given (> 0), else last year x (1 + growth).

    >>> proposed_target(100.0, 0.2), proposed_target(100.0, 0.2, target_amount=150.0)
    (120.0, 150.0)
    """
    if target_amount and target_amount > 0:
        return round(float(target_amount), 2)
    if not np.isfinite(last_year_total) or last_year_total <= 0:
        raise ValueError("no revenue in the same period last year: give an explicit target_amount")
    return round(float(last_year_total) * (1.0 + float(target_growth)), 2)  # quotas are in cents


# --------------------------------------------------------------------------- allocation
def split_cents(total_cents: int, weights: Sequence[float]) -> np.ndarray:
    """Split an integer number of cents in proportion to ``weights`` (largest remainder).

    Each part gets the floor of its exact share; the cents left over go one each to the
    parts with the largest fractional remainders (ties: the earlier part). The parts sum
    to ``total_cents`` exactly.

    >>> split_cents(100, [1, 1, 1]).tolist()
    [34, 33, 33]
    """
    w = np.clip(np.asarray(weights, dtype="float64"), 0, None)
    if len(w) == 0:
        raise ValueError("split_cents: nothing to split the target over")
    if total_cents < 0:
        raise ValueError("split_cents: the target must not be negative")
    if not np.isfinite(w).all() or w.sum() <= 0:
        raise ValueError("split_cents: weights must be finite and not all zero")
    exact = total_cents * (w / w.sum())
    base = np.floor(exact).astype("int64")
    left = int(total_cents - base.sum())
    order = np.argsort(-(exact - base), kind="stable")
    base[order[:left]] += 1
    return base


def _weights(
    frame: pd.DataFrame, method: str, weight_col: str | None, ramp_months: float
) -> pd.Series:
    if weight_col is not None:
        require_columns(frame, [weight_col], "allocate_target")
        return frame[weight_col].astype("float64").fillna(0.0)
    if method == "equal":
        return pd.Series(1.0, index=frame.index)
    if method == "capacity" and "capacity" not in frame.columns:
        require_columns(frame, ["tenure_months"], "allocate_target(method='capacity')")
        return capacity_from_tenure(frame["tenure_months"], ramp_months)
    col = METHOD_COLUMNS.get(method)
    if col is None:
        # any other method names a weight column the caller supplies (e.g. "clv")
        if method in frame.columns:
            col = method
        elif f"{method}_weight" in frame.columns:
            col = f"{method}_weight"
        else:
            raise ValueError(
                f"unknown split method '{method}': use one of {', '.join(SPLIT_METHODS)} "
                f"or pass a weights frame with a '{method}' column"
            )
    require_columns(frame, [col], f"allocate_target(method='{method}')")
    return frame[col].astype("float64").fillna(0.0)


def capacity_from_tenure(tenure_months, ramp_months: float = DEFAULT_RAMP_MONTHS) -> pd.Series:
    """Share of a full quota a rep can carry: tenure / ramp, capped at 1 (0 before the start)."""
    t = pd.Series(tenure_months, dtype="float64")
    return (t / float(ramp_months)).clip(lower=0.0, upper=1.0).fillna(0.0)


def allocate_target(
    total: float,
    weights_frame: pd.DataFrame,
    method: str = "historical",
    key_col: str = "key",
    weight_col: str | None = None,
    ramp_months: float = DEFAULT_RAMP_MONTHS,
) -> pd.DataFrame:
    """Split ``total`` over the rows of ``weights_frame`` so the parts sum to it to the cent.

    ``method`` picks the weight: ``historical`` (column ``history_revenue``), ``forecast``
    (``forecast_revenue``), ``capacity`` (``capacity``, or derived from ``tenure_months`` with
    ``ramp_months``), ``equal``; any other name uses the column of that name (or
    ``<name>_weight``) so callers can bring their own weights (e.g. ``method="clv"`` with a
    ``clv`` column). ``weight_col`` overrides all of this. Negative weights count as 0.

    Returns the input columns plus ``weight, share, target_cents`` (int) and
    ``target_amount`` (= cents / 100). The input is not modified.
    """
    require_columns(weights_frame, [key_col], "allocate_target")
    out = weights_frame.copy()
    w = _weights(out, method, weight_col, ramp_months).clip(lower=0.0)
    total_cents = int(round(float(total) * 100))
    cents = split_cents(total_cents, w.to_numpy())
    out["weight"] = w.to_numpy()
    out["share"] = out["weight"] / out["weight"].sum()
    out["target_cents"] = cents
    out["target_amount"] = cents / 100.0
    return out


def allocate_hierarchy(
    total: float,
    units: pd.DataFrame,
    levels: Sequence[str] = ("region", "team"),
    method: str = "historical",
    key_col: str = "rep_id",
    ramp_months: float = DEFAULT_RAMP_MONTHS,
) -> pd.DataFrame:
    """Top-down split: company -> each of ``levels`` in turn -> the units (reps).

    A group's weight is the sum of its members' weights, so each level adds up exactly
    (to the cent) to the level above. Levels missing from ``units`` are skipped.
    Returns one row per unit: its columns plus ``weight, share, target_cents,
    target_amount`` and ``<level>_target`` for each level used.
    """
    require_columns(units, [key_col], "allocate_hierarchy")
    levels = [lv for lv in levels if lv in units.columns]
    frame = units.copy()
    for lv in levels:
        frame[lv] = frame[lv].astype("object").where(frame[lv].notna(), "(none)")
    frame["weight"] = _weights(frame, method, None, ramp_months).clip(lower=0.0).to_numpy()
    if frame["weight"].sum() <= 0:
        raise ValueError(f"split method '{method}': every weight is zero, choose another method")
    frame["target_cents"] = 0
    total_cents = int(round(float(total) * 100))

    def split(rows: pd.Index, cents: int, depth: int) -> None:
        if depth == len(levels):
            sub = frame.loc[rows]
            if sub["weight"].sum() > 0:
                frame.loc[rows, "target_cents"] = split_cents(cents, sub["weight"].to_numpy())
            return
        lv = levels[depth]
        groups = frame.loc[rows].groupby(lv, sort=True)["weight"].sum()
        if groups.sum() <= 0:
            return
        parts = split_cents(cents, groups.to_numpy())
        for name, part in zip(groups.index, parts, strict=True):
            members = frame.loc[rows].index[frame.loc[rows, lv] == name]
            frame.loc[members, f"{lv}_target"] = part / 100.0
            split(members, int(part), depth + 1)

    split(frame.index, total_cents, 0)
    frame["target_cents"] = frame["target_cents"].astype("int64")
    frame["share"] = frame["weight"] / frame["weight"].sum()
    frame["target_amount"] = frame["target_cents"] / 100.0
    return frame


def allocate_or_note(
    total: float | None,
    units: pd.DataFrame,
    method: str = "historical",
    levels: Sequence[str] = ("region", "team"),
    key_col: str = "rep_id",
    ramp_months: float = DEFAULT_RAMP_MONTHS,
) -> tuple[pd.DataFrame | None, str | None]:
    """:func:`allocate_hierarchy`, or None and a one-line note when there is nothing to split
    (no positive target, no reps, or every rep's weight under ``method`` at zero).

    >>> units = pd.DataFrame({"rep_id": ["a", "b"], "history_revenue": [0.0, -5.0]})
    >>> allocate_or_note(100.0, units)[1].split(":")[0]
    '**No split**'
    >>> allocate_or_note(100.0, units, method="equal")[0]["target_amount"].tolist()
    [50.0, 50.0]
    """
    if total is None or not np.isfinite(total) or total <= 0:
        return None, _("**No split**: there is no positive target to split (see the target above).")
    if units.empty:
        return None, _("**No split**: no reps in scope; a reps table with the team would fill it.")
    weights = _weights(units, method, None, ramp_months).clip(lower=0.0)
    if not weights.sum() > 0:
        return None, _(
            "**No split**: every rep's weight under the `{method}` method is zero (no positive "
            "revenue or value to split by). The `equal` or `capacity` split method would fill it."
        ).format(method=method)
    return allocate_hierarchy(total, units, levels, method, key_col, ramp_months), None


def rollup(
    allocation: pd.DataFrame, level: str, value_cols: Sequence[str] = ("target_amount",)
) -> pd.DataFrame:
    """Sum an allocation to one level (region, team) — cents-exact for ``target_cents``."""
    require_columns(allocation, [level, *value_cols], "rollup")
    cols = list(
        dict.fromkeys([*value_cols, *(["target_cents"] if "target_cents" in allocation else [])])
    )
    # a column that cannot be computed for a whole group (no comparable last year) stays NaN
    out = allocation.groupby(level, sort=True)[cols].sum(min_count=1).reset_index()
    if "target_cents" in out:
        out["target_amount"] = out["target_cents"] / 100.0
    return out


# --------------------------------------------------------------------------- rep weights
def rep_weights(
    reps: pd.DataFrame,
    rep_month: pd.DataFrame,
    period_start,
    prior_start,
    prior_end,
    ramp_months: float = DEFAULT_RAMP_MONTHS,
    growth_clip: tuple[float, float] = (0.5, 2.0),
    rep_col: str = "rep_id",
    month_col: str = "month",
    revenue_col: str = "revenue",
    hire_col: str = "hire_date",
    last_year_comparable: bool = True,
) -> pd.DataFrame:
    """Per rep the weights every split method needs, from the reps table and rep x month revenue.

    With ``last_year_comparable`` False (the data covers the same period last year only in
    part), ``last_year_revenue`` and ``forecast_revenue`` are NaN: not computable, not zero.

    ``rep_month`` holds revenue per rep and month before ``period_start`` (24 months are
    enough). Returns the reps columns plus
    ``history_revenue`` (last 12 months before the period), ``previous_12m_revenue``
    (the 12 months before those), ``last_year_revenue`` (same period last year,
    ``[prior_start, prior_end)``), ``forecast_revenue`` (last year's period revenue x the
    rep's own 12-month growth clipped to ``growth_clip`` — a seasonal naive with drift,
    1x when the rep has no earlier year), ``tenure_months`` and ``capacity``.
    """
    require_columns(reps, [rep_col], "rep_weights (reps)")
    require_columns(rep_month, [rep_col, month_col, revenue_col], "rep_weights (rep_month)")
    start = pd.Timestamp(period_start)
    m = rep_month.assign(_month=pd.to_datetime(rep_month[month_col]))
    m = m[m["_month"] < start]

    def window(s, e):
        sel = m[(m["_month"] >= pd.Timestamp(s)) & (m["_month"] < pd.Timestamp(e))]
        return sel.groupby(rep_col)[revenue_col].sum()

    last12 = window(start - pd.DateOffset(months=12), start)
    prev12 = window(start - pd.DateOffset(months=24), start - pd.DateOffset(months=12))
    last_year = window(prior_start, prior_end)
    out = reps.copy()
    keys = out[rep_col]
    out["history_revenue"] = keys.map(last12).fillna(0.0).to_numpy()
    out["previous_12m_revenue"] = keys.map(prev12).fillna(0.0).to_numpy()
    out["last_year_revenue"] = keys.map(last_year).fillna(0.0).to_numpy()
    g = out["history_revenue"] / out["previous_12m_revenue"].where(out["previous_12m_revenue"] > 0)
    g = g.clip(*growth_clip).fillna(1.0)
    out["forecast_revenue"] = (out["last_year_revenue"] * g).clip(lower=0.0)
    if not last_year_comparable:
        out[["last_year_revenue", "forecast_revenue"]] = np.nan
    if hire_col in out.columns:
        hired = pd.to_datetime(out[hire_col])
        tenure = (
            (start.year - hired.dt.year) * 12
            + (start.month - hired.dt.month)
            + (start.day - hired.dt.day) / 30.0
        )
        out["tenure_months"] = tenure.clip(lower=0).fillna(0.0).astype("float64").to_numpy()
    else:
        out["tenure_months"] = float(ramp_months)  # unknown hire date: assume fully ramped
    out["capacity"] = capacity_from_tenure(out["tenure_months"], ramp_months).to_numpy()
    return out


def gap_to_last_year(
    allocation: pd.DataFrame, last_year_col: str = "last_year_revenue"
) -> pd.DataFrame:
    """Add ``gap_vs_last_year`` (target - last year) and ``growth_vs_last_year`` (target / last year - 1)."""
    require_columns(allocation, ["target_amount", last_year_col], "gap_to_last_year")
    out = allocation.copy()
    ly = out[last_year_col].astype("float64")
    out["gap_vs_last_year"] = out["target_amount"] - ly
    out["growth_vs_last_year"] = (out["target_amount"] / ly.where(ly > 0)) - 1.0
    return out


def compare_with_quota(
    allocation: pd.DataFrame, quotas: pd.DataFrame, level: str = "rep", key_col: str = "rep_id"
) -> pd.DataFrame:
    """Join the existing quota (``targets`` rows of one ``level``) as ``existing_quota`` and the difference."""
    require_columns(quotas, ["level", "key", "target_amount"], "compare_with_quota (targets)")
    q = quotas[quotas["level"].astype(str) == level].groupby("key")["target_amount"].sum()
    out = allocation.copy()
    out["existing_quota"] = out[key_col].astype(str).map(q).astype("float64").to_numpy()
    out["proposed_vs_quota"] = out["target_amount"] - out["existing_quota"]
    return out


def quotas_for_period(targets: pd.DataFrame, period) -> tuple[pd.DataFrame, str | None]:
    """The ``targets`` rows for a period at every level (``level, key, target_amount``), set
    or summed/prorated by months (:func:`salesnb.metrics.performance.resolve_targets`), and a
    note when none cover it (a range running past the last quarter planned is not compared).

    >>> t = pd.DataFrame({"period": ["2026-Q3", "2026-Q4"], "level": "company", "key": "all",
    ...                   "target_amount": [10.0, 20.0]})
    >>> quotas_for_period(t, "2026-H2")[0]["target_amount"].tolist()
    [30.0]
    >>> quotas_for_period(t, "2026-Q4..2027-Q1")[1]
    'no existing quota to compare: quarter targets cover 3 of the 6 months of 2026-Q4..2027-Q1: not computable'
    """
    frames, notes = [], []
    for level in ("company", "region", "team", "rep"):
        r = resolve_targets(targets, period, level, whole_period=True)
        if r.empty:
            continue
        if r["target"].isna().all():
            notes.append(str(r["target_basis"].iat[0]))
            continue
        frames.append(pd.DataFrame({"level": level, "key": r["key"], "target_amount": r["target"]}))
    cols = ["level", "key", "target_amount"]
    out = pd.concat(frames, ignore_index=True) if frames else pd.DataFrame(columns=cols)
    out["target_amount"] = out["target_amount"].astype("float64")
    if frames:
        return out, None
    label = period.label if isinstance(period, Period) else str(period)
    why = notes[0] if notes else _("no targets set for {period}").format(period=period_label(label))
    return out, _("no existing quota to compare: {why}").format(why=why)


def existing_quota_total(
    targets: pd.DataFrame,
    period,
    region: str | None = None,
    team: str | None = None,
    channel: str | None = None,
) -> float | None:
    """The existing quota for the scope studied: the target of that scope by the one rule,
    :func:`salesnb.metrics.performance.scope_target` (none for a channel; a team within a
    region; the reps' sum when the scope has no row of its own), None when none is set."""
    scope = Filters(region=region or None, team=team or None, channel=channel or None)
    total = scope_target(targets, period, scope)
    return total if total is not None and np.isfinite(total) and total > 0 else None


# --------------------------------------------------------------------------- SMART & advice
def driver_requirements(target: float, last_year: dict) -> pd.DataFrame:
    """What the target asks of the revenue drivers, against the same period last year.

    ``last_year`` holds ``revenue, orders, customers``. Revenue = orders x average order value
    = customers x revenue per customer; each row says how much one driver must grow when the
    other stays at last year's level. Columns: ``driver, last_year, needed, change_pct``.
    """
    rev = float(last_year.get("revenue", np.nan))
    rows = []
    if target is None or not np.isfinite(target):
        return pd.DataFrame(rows, columns=["driver", "last_year", "needed", "change_pct"])
    for driver, count_key, value_name in (
        (N_("orders"), "orders", N_("average order value")),
        (N_("customers"), "customers", N_("revenue per customer")),
    ):
        n = float(last_year.get(count_key, np.nan) or np.nan)
        if not (np.isfinite(n) and n > 0 and np.isfinite(rev) and rev > 0):
            continue
        value = rev / n
        rows.append(
            dict(
                driver=_("{driver} (at last year's {value})").format(
                    driver=_(driver), value=_(value_name)
                ),
                last_year=n,
                needed=target / value,
                change_pct=target / rev - 1,
            )
        )
        rows.append(
            dict(
                driver=_("{driver} (at last year's {value})").format(
                    driver=_(value_name), value=_(driver)
                ),
                last_year=value,
                needed=target / n,
                change_pct=target / rev - 1,
            )
        )
    return pd.DataFrame(rows, columns=["driver", "last_year", "needed", "change_pct"])


def drivers_or_note(
    target: float | None, last_year: dict, last_year_note: str | None = None
) -> tuple[pd.DataFrame | None, str | None]:
    """:func:`driver_requirements`, or None and a one-line note when they cannot be computed.

    >>> drivers_or_note(120.0, {"revenue": 0.0, "orders": 0, "customers": 0})[1]
    '**No driver requirements**: no orders or revenue in the same period last year to scale from.'
    """
    if target is None or not np.isfinite(target):
        return None, _("**No driver requirements**: there is no target.")
    if last_year_note:
        return None, _("**No driver requirements**: {why}.").format(why=last_year_note)
    drivers = driver_requirements(target, last_year)
    if drivers.empty:
        return None, _(
            "**No driver requirements**: no orders or revenue in the same period last year to "
            "scale from."
        )
    return drivers, None


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


def _money(x: float, currency: str) -> str:
    return short_money(x, currency, missing=_("not computable"))


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def _period(label) -> str:
    """A period's label in prose (``2026年第3季度`` in Chinese)."""
    return period_label(str(label))


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _sentence(note: str) -> str:
    """A note as a sentence: its first letter capitalised, a full stop (。 in Chinese)."""
    if language() == "en":
        return f"{note[0].upper()}{note[1:]}."
    return f"{note}。"


def _pct(x: float, signed: bool = True) -> str:
    if not _finite(x):
        return _("not computable")
    x = 0.0 if abs(x) < 5e-4 else x  # no "-0.0%" for a rounding difference
    return f"{x:+.1%}" if signed else f"{x:.0%}"


def smart_target(summary: dict, currency: str = "USD") -> pd.DataFrame:
    """The target stated in SMART terms, one row per criterion (``criterion, statement``).

    ``summary`` is :func:`target_summary`'s dict. A figure that cannot be computed is stated
    as such, with the reason (no interval from a naive baseline, no season under a year of
    history, no comparable same period last year).
    """
    s = summary
    lvl = s.get("interval_level", 0.8)
    no_target = not _finite(s.get("target_total"))
    rows = [
        (
            _("Specific"),
            _(
                "Net revenue (order lines after discounts, returns netted) for {scope} in "
                "{period}: "
            ).format(scope=scope_text(s["scope"]), period=_period(s["period"]))
            + (
                _("no target proposed ({basis}).").format(basis=s.get("target_basis"))
                if no_target
                else _("**{target}** ({basis}).").format(
                    target=_money(s["target_total"], currency), basis=s.get("target_basis", "")
                )
            ),
        )
    ]
    rows.append((_("Measurable"), _measurable(s, lvl, currency)))
    if no_target:
        achievable = _("not computable: there is no target.")
    elif _finite(s.get("prob_achieve")):
        achievable = _(
            "Probability of reaching the target under the forecast distribution: **{p}**; the "
            "target is {vs} vs the baseline forecast."
        ).format(p=_pct(s["prob_achieve"], signed=False), vs=_pct(s.get("target_vs_forecast_pct")))
    else:
        why = s.get("interval_note") or s.get("forecast_note") or _("no baseline forecast")
        achievable = _("Probability of reaching the target not computable ({why}).").format(why=why)
    rows.append((_("Achievable"), achievable))
    rows.append((_("Relevant (drivers)"), _relevant(s)))
    rows.append(
        (
            _("Time-bound"),
            _(
                "{period}: {start} to {end} inclusive; tracked monthly against the forecast months."
            ).format(
                period=_period(s["period"]),
                start=_day(s["period_start"]),
                end=_day(s["period_end"]),
            ),
        )
    )
    return pd.DataFrame(rows, columns=["criterion", "statement"])


def _measurable(s: dict, lvl: float, currency: str) -> str:
    """The SMART target's Measurable statement: last year's baseline and the forecast."""
    if _finite(s.get("last_year_total")):
        baseline = _("Baseline: {amount} in the same period last year").format(
            amount=_money(s["last_year_total"], currency)
        )
    else:
        baseline = _("No same-period-last-year baseline ({why})").format(
            why=s.get("last_year_note") or _("no revenue then")
        )
    if not _finite(s.get("forecast_total")):
        fc = _("no baseline forecast ({why})").format(
            why=s.get("forecast_note") or _("no history before the period")
        )
    else:
        interval = (
            _("{level} interval {low} – {high}").format(
                level=f"{lvl:.0%}",
                low=_money(s["forecast_low"], currency),
                high=_money(s["forecast_high"], currency),
            )
            if _finite(s.get("forecast_low"))
            else _("no interval: {why}").format(why=s.get("interval_note"))
        )
        err = s.get("backtest_error_pct")
        bt = (
            _("backtest error of the period total ±{error}").format(error=f"{abs(err):.1%}")
            if _finite(err)
            else _("no backtest: too little history before the period")
        )
        model = s.get("model_label", s.get("best_model"))
        fc = _("the baseline forecast is {amount} ({interval}, model: {model}, {backtest})").format(
            amount=_money(s["forecast_total"], currency),
            interval=interval,
            model=_(model) if isinstance(model, str) else model,
            backtest=bt,
        )
    return _("{baseline}; {forecast}.").format(baseline=baseline, forecast=fc)


def _relevant(s: dict) -> str:
    """The SMART target's Relevant statement: the trend, the season and the volume it rests on."""
    trend = (
        _("the trend (last 12 months {growth} vs the 12 before)").format(
            growth=_pct(s["trailing_growth"])
        )
        if _finite(s.get("trailing_growth"))
        else _("no measured trend (it needs 24 months of history)")
    )
    if s.get("peak_month") is not None and _finite(s.get("period_seasonal_index")):
        season = _("the season (period index {index}, peak month {month})").format(
            index=f"{s['period_seasonal_index']:.2f}",
            month=_(MONTH_NAMES[int(s["peak_month"]) - 1]),
        )
    else:
        season = _("no seasonality (under a year of history)")
    volume = (
        _("on volume: at last year's average order value it needs {change} orders").format(
            change=_pct(s["orders_change_pct"])
        )
        if _finite(s.get("orders_change_pct"))
        else _("on volume: no comparable same period last year to measure it against")
    )
    return _("It rests on {trend}, {season} and {volume}.").format(
        trend=trend, season=season, volume=volume
    )


def smart_markdown(smart: pd.DataFrame) -> str:
    """The SMART table as markdown bullets (``criterion, statement`` columns)."""
    require_columns(smart, ["criterion", "statement"], "smart_markdown")
    return "\n".join(f"- **{r.criterion}** — {r.statement}" for r in smart.itertuples())


def what_to_do(
    summary: dict,
    allocation: pd.DataFrame | None = None,
    currency: str = "USD",
    stretch_below: float = 0.35,
    soft_above: float = 0.85,
    quota_tolerance: float = 0.05,
) -> str:
    """Markdown bullets with the actions the numbers call for.

    Rules (arguments): a target with probability below ``stretch_below`` is a stretch, above
    ``soft_above`` is soft; an existing quota more than ``quota_tolerance`` away from the
    proposal is flagged. A figure that cannot be computed leaves its bullet out or says why.
    """
    out = [
        *_review_bullets(summary, currency),
        _target_odds_bullet(summary, currency, stretch_below, soft_above),
        *_quota_bullets(summary, currency, quota_tolerance),
        *_peak_month_bullets(summary),
        *_actuals_bullets(summary, currency),
        *_allocation_bullets(allocation),
    ]
    return "\n".join(out)


def _review_bullets(s: dict, currency: str) -> list[str]:
    """How the reviewed period closed vs last year and the baseline, when its total is known."""
    review_total = s.get("review_total")
    if not _finite(review_total):
        return []
    yoy = s.get("yoy_growth")
    vs = (
        _("{change} vs the same period last year").format(change=_pct(yoy))
        if _finite(yoy)
        else _("not compared with last year: {why}").format(
            why=s.get("review_last_year_note") or _("no revenue then")
        )
    )
    err = s.get("review_forecast_error_pct")
    bt = (
        _("; the baseline would have been {error} off").format(error=_pct(err))
        if _finite(err)
        else ""
    )
    return [
        _("- {period} closed at {amount} ({vs}{backtest}).").format(
            period=_period(s.get("review_period")),
            amount=_money(review_total, currency),
            vs=vs,
            backtest=bt,
        )
    ]


def _target_odds_bullet(s: dict, currency: str, stretch_below: float, soft_above: float) -> str:
    """The target read by its odds: stretch below ``stretch_below``, soft above ``soft_above``."""
    p = s.get("prob_achieve")
    if not _finite(s.get("target_total")):
        return _("- **No target proposed**: {why}.").format(why=s.get("target_basis"))
    if not _finite(p):
        why = s.get("interval_note") or s.get("forecast_note") or _("no baseline forecast")
        return _(
            "- **The odds of the target are not computable** ({why}). Treat {target} as "
            "provisional and revisit it once more history is in."
        ).format(why=why, target=_money(s["target_total"], currency))
    if p < stretch_below:
        # the target that has a 50 % chance is the forecast median itself
        return _(
            "- **The target is a stretch**: only {p} chance of reaching {target}. Either back it "
            "with named initiatives worth {above} above the baseline, or set it nearer the "
            "forecast ({forecast} is a 50/50 target)."
        ).format(
            p=f"{p:.0%}",
            target=_money(s["target_total"], currency),
            above=_money(s["target_total"] - s["forecast_total"], currency),
            forecast=_money(s["forecast_total"], currency),
        )
    if p > soft_above:
        return _(
            "- **The target is soft**: {p} chance of reaching it on the baseline alone. Consider "
            "raising it toward the upper forecast bound ({high})."
        ).format(p=f"{p:.0%}", high=_money(s["forecast_high"], currency))
    return _(
        "- **The target is achievable with effort**: {p} chance under the baseline forecast. "
        "Keep it and track it monthly against the forecast months."
    ).format(p=f"{p:.0%}")


def _quota_bullets(s: dict, currency: str, quota_tolerance: float) -> list[str]:
    """An existing quota more than ``quota_tolerance`` off the proposal is flagged; else the note."""
    quota = s.get("existing_quota_total")
    if not (_finite(quota) and quota > 0 and _finite(s.get("target_total"))):
        if s.get("quota_note"):
            return [f"- {_sentence(s['quota_note'])}"]
        return []
    diff = quota / s["target_total"] - 1
    odds = s.get("prob_quota")
    chance = (
        _("its chance under the forecast is {p}").format(p=f"{odds:.0%}")
        if _finite(odds)
        else _("its chance is not computable")
    )
    if abs(diff) > quota_tolerance:
        return [
            _(
                "- The existing quota ({quota}) is {diff} vs this proposal; {chance}. Reconcile "
                "before the quota letters go out."
            ).format(quota=_money(quota, currency), diff=_pct(diff), chance=chance)
        ]
    return [
        _("- The existing quota ({quota}) agrees with this proposal within {tolerance}.").format(
            quota=_money(quota, currency), tolerance=f"{quota_tolerance:.0%}"
        )
    ]


def _peak_month_bullets(s: dict) -> list[str]:
    """Capacity planning for the seasonal peak month, when there is one."""
    if s.get("peak_month") is None:
        return []
    pm_ = int(s["peak_month"])
    return [
        _(
            "- Plan capacity for **{month}**, the seasonal peak (index {index}): stock, staffing "
            "and campaigns a month ahead."
        ).format(month=_(MONTH_NAMES[pm_ - 1]), index=f"{s['peak_index']:.2f}")
    ]


def _actuals_bullets(s: dict, currency: str) -> list[str]:
    """Positive actuals for the period against the target (and the baseline's error, if known)."""
    actual = s.get("actual_total")
    if not (_finite(actual) and actual > 0 and _finite(s.get("target_total"))):
        return []
    err = s.get("forecast_error_pct")
    baseline = _("; the baseline was {error} off").format(error=_pct(err)) if _finite(err) else ""
    return [
        _("- Actuals for the period are in: {actual} ({vs} vs target{baseline}).").format(
            actual=_money(actual, currency),
            vs=_pct(actual / s["target_total"] - 1),
            baseline=baseline,
        )
    ]


def _allocation_bullets(allocation: pd.DataFrame | None) -> list[str]:
    """The 3 largest step-ups vs last year to review, and reps the split leaves at zero."""
    if allocation is None or not len(allocation) or "growth_vs_last_year" not in allocation:
        return []
    out = []
    g = allocation.dropna(subset=["growth_vs_last_year"])
    if len(g):
        hi = g.sort_values("growth_vs_last_year", ascending=False).head(3)
        names = _comma().join(
            f"{r.get('name', r.get('rep_id'))} ({r['growth_vs_last_year']:+.0%})"
            for _i, r in hi.iterrows()
        )
        out.append(
            _(
                "- Reps asked for the largest step up vs last year: {names}. Review these quotas "
                "with their managers before publishing."
            ).format(names=names)
        )
    zero = allocation[(allocation["target_amount"] == 0)]
    if len(zero):
        out.append(
            _(
                "- {n} rep(s) get no target under this split method (no positive revenue or value "
                "to weigh them by); use the `capacity` or `equal` method for new hires."
            ).format(n=len(zero))
        )
    return out


# --------------------------------------------------------------------------- summary
def achievement_curve(
    median: float, sigma: float, low: float = 0.8, high: float = 1.3, points: int = 51
) -> pd.DataFrame:
    """Probability of reaching targets from ``low`` to ``high`` x the forecast median.

    Columns ``target, probability`` (decreasing in target).
    """
    from salesnb.metrics.forecast import prob_at_least

    targets = np.linspace(low * median, high * median, points)
    return pd.DataFrame(
        {"target": targets, "probability": [prob_at_least(t, median, sigma) for t in targets]}
    )


def review_figures(
    period: Period, totals: dict, last_year: dict, last_year_note: str | None = None
) -> dict:
    """The period reviewed before the target: its revenue and the same period last year (None
    when the data does not cover it entirely — ``last_year_note`` says why).

    >>> from salesnb.model.periods import parse_period
    >>> r = review_figures(parse_period("2026-Q3"), {"revenue": 115.0}, {"revenue": 100.0})
    >>> r["period"], r["revenue"], r["last_year_revenue"]
    ('2026-Q3', 115.0, 100.0)
    """
    return dict(
        period=period.label,
        start=period.start,
        revenue=float(totals["revenue"]),
        last_year_revenue=None if last_year_note else float(last_year["revenue"]),
        last_year_note=last_year_note,
    )


def review_markdown(review: dict | None, currency: str = "USD") -> str:
    """One sentence on the reviewed period (or why there is none).

    >>> from salesnb.model.periods import parse_period
    >>> r = review_figures(parse_period("2026-Q3"), {"revenue": 1150.0}, {"revenue": 1000.0})
    >>> review_markdown(r)
    '2026-Q3 closed at **1.1k USD**, **+15.0%** vs the same period last year (1k USD).'
    """
    if review is None:
        return _("No period to review: the target is for the period given, which is still running.")
    period, amount = _period(review["period"]), _money(review["revenue"], currency)
    g = growth(review["revenue"], _nan(review["last_year_revenue"]))
    if _finite(g):
        return _(
            "{period} closed at **{amount}**, **{growth}** vs the same period last year "
            "({last_year})."
        ).format(
            period=period,
            amount=amount,
            growth=f"{g:+.1%}",
            last_year=_money(review["last_year_revenue"], currency),
        )
    why = review.get("last_year_note") or _("no net revenue in the same period last year")
    return _("{period} closed at **{amount}**; growth not computable ({why}).").format(
        period=period, amount=amount, why=why
    )


def review_against_target(
    review: dict | None,
    forecast=None,
    target_growth: float = 0.20,
    quota_total: float | None = None,
) -> dict:
    """The target the proposal rule would have set for the reviewed period, and the actual
    against it (and against the quota set for it, when there was one).

    The rule is :func:`target_proposal`'s without a hand-set amount: the same period a year
    before x (1 + ``target_growth``) when the data covers it, else the baseline forecast the
    study's backtest made for the reviewed period (``forecast``), else none. Keys
    ``review_target_total, review_target_basis, review_vs_target_pct`` (actual / target - 1)
    and ``review_quota_total, review_vs_quota_pct``; NaN where not computable.

    >>> from salesnb.model.periods import parse_period
    >>> r = review_figures(parse_period("2026-Q3"), {"revenue": 115.0}, {"revenue": 100.0})
    >>> f = review_against_target(r, quota_total=125.0)
    >>> f["review_target_total"], round(f["review_vs_target_pct"], 4), round(f["review_vs_quota_pct"], 2)
    (120.0, -0.0417, -0.08)
    """
    nan = float("nan")
    if review is None:
        return {}
    ly = _nan(review.get("last_year_revenue"))
    backtest = _review_forecast(forecast, review)
    target, basis = target_proposal(
        ly, review.get("last_year_note"), backtest if _finite(backtest) else None, target_growth
    )
    actual = float(review["revenue"])
    quota = float(quota_total) if _finite(quota_total) and quota_total > 0 else nan
    return dict(
        review_target_total=_nan(target),
        review_target_basis=basis,
        review_vs_target_pct=growth(actual, _nan(target)),
        review_quota_total=quota,
        review_vs_quota_pct=growth(actual, quota),
    )


def review_target_markdown(figures: dict, period: str, currency: str = "USD") -> str:
    """One or two sentences: the reviewed period against the target it would have had, and
    against its quota.

    >>> text = review_target_markdown({"review_target_total": 120.0, "review_target_basis": "the same period last year +20%",
    ...     "review_vs_target_pct": -0.0417, "review_quota_total": float("nan")}, "2026-Q3")
    >>> text.split("): ")[1]
    'the period closed **-4.2%** against it.'
    """
    if not figures:
        return ""
    t = figures.get("review_target_total")
    if _finite(t):
        out = _(
            "Under the same rule, the target for {period} would have been **{target}** "
            "({basis}): the period closed **{vs}** against it."
        ).format(
            period=_period(period),
            target=_money(t, currency),
            basis=figures["review_target_basis"],
            vs=_pct(figures["review_vs_target_pct"]),
        )
    else:
        out = _("No target can be reconstructed for {period}: {why}.").format(
            period=_period(period), why=figures.get("review_target_basis")
        )
    if _finite(figures.get("review_quota_total")):
        out += _(" Its quota was {quota}: **{vs}** against it.").format(
            quota=_money(figures["review_quota_total"], currency),
            vs=_pct(figures["review_vs_quota_pct"]),
        )
    return out


def target_markdown(summary: dict, currency: str = "USD") -> str:
    """The proposal in two or three lines: the target and its basis, the comparison with last
    year (or why none), the existing quota (or why none)."""
    s = summary
    period = _period(s["period"])
    if _finite(s.get("target_total")):
        out = [
            _("Proposed target for {period}: **{target}**, {basis}.").format(
                period=period, target=_money(s["target_total"], currency), basis=s["target_basis"]
            )
        ]
    else:
        out = [
            _("**No target proposed for {period}**: {why}.").format(
                period=period, why=s["target_basis"]
            )
        ]
    if s.get("last_year_note"):
        out.append(_("**Same period last year not used**: {why}.").format(why=s["last_year_note"]))
    elif _finite(s.get("target_growth_pct")):
        out.append(
            _("Same period last year: {amount} (target {growth}).").format(
                amount=_money(s["last_year_total"], currency), growth=_pct(s["target_growth_pct"])
            )
        )
    if _finite(s.get("existing_quota_total")):
        out.append(
            _("Existing quota: {amount}.").format(
                amount=_money(s["existing_quota_total"], currency)
            )
        )
    elif s.get("quota_note"):
        out.append(_sentence(s["quota_note"]))
    return "\n\n".join(out)


def odds_note(summary: dict) -> str | None:
    """Why the odds of the target (and its achievement curve) cannot be shown; None when they can."""
    if _finite(summary.get("prob_achieve")):
        return None
    if not _finite(summary.get("target_total")):
        return _("**No odds**: {why}.").format(why=summary.get("target_basis"))
    why = summary.get("interval_note") or _("no baseline forecast")
    return _("**No odds for the target**: {why}.").format(why=why)


def _round_small(x: float) -> float:
    return 0.0 if _finite(x) and abs(x) < 1e-9 else x


def _nan(x) -> float:
    return float(x) if _finite(x) else float("nan")


def target_summary(
    *,
    period,
    scope: str,
    target_total: float | None,
    last_year: dict,
    actual: dict | None,
    forecast,
    seasonal: pd.DataFrame | None,
    monthly: pd.Series,
    existing_quota_total: float | None = None,
    target_basis: str | None = None,
    last_year_note: str | None = None,
    forecast_note: str | None = None,
    quota_note: str | None = None,
    review: dict | None = None,
) -> dict:
    """Every figure the study reports, in one flat dict (headline keys included).

    ``period`` is the target period; ``forecast`` a :class:`salesnb.metrics.forecast.BaselineForecast`
    or None; ``last_year``/``actual`` come from ``period_totals`` (``actual`` None when the
    period is not fully in the data; ``last_year`` not used when ``last_year_note`` says it is
    not covered); ``seasonal`` the seasonal index or None; ``monthly`` the complete-month
    revenue series (for the trailing growth); ``review`` from :func:`review_figures` when the
    target follows a reviewed period. Figures that cannot be computed are NaN (or None).
    """
    start = pd.Timestamp(period.start)
    hist = monthly[monthly.index < start]
    last12 = hist.iloc[-12:].sum() if len(hist) >= 24 else np.nan
    prev12 = hist.iloc[-24:-12].sum() if len(hist) >= 24 else np.nan
    months = pd.date_range(start, pd.Timestamp(period.end) - pd.offsets.MonthBegin(1), freq="MS")
    target = _nan(target_total)
    ly = float(last_year["revenue"]) if last_year_note is None else float("nan")
    actual_total = float(actual["revenue"]) if actual else float("nan")
    s = dict(
        period=period.label,
        target_period=period.label,
        plan_period=period.label,
        scope=scope,
        period_start=str(period.start),
        period_end=str(period.last_day),
        target_total=target,
        target_basis=target_basis,
        last_year_total=ly,
        last_year_note=last_year_note,
        forecast_note=forecast_note,
        quota_note=quota_note,
        actual_total=actual_total,
        target_growth_pct=growth(target, ly),
        orders_change_pct=growth(target, ly),
        trailing_growth=growth(last12, prev12),
        history_months=len(hist),
        plan_target_total=target,
    )
    if forecast is not None:
        chosen = forecast.backtest[forecast.backtest["model"] == forecast.best_model]
        errors = chosen["total_error_pct"].abs().dropna()
        s.update(
            forecast_total=forecast.total,
            forecast_low=forecast.low,
            forecast_high=forecast.high,
            interval_level=forecast.level,
            forecast_sigma=forecast.sigma,
            interval_note=forecast.interval_note,
            best_model=forecast.best_model,
            model_label=forecast.model_label,
            forecast_method=forecast.method,
            backtest_error_pct=float(errors.mean()) if len(errors) else float("nan"),
            backtest_smape=float(chosen["smape"].mean()) if len(chosen) else float("nan"),
            prob_achieve=forecast.prob_at_least(target) if _finite(target) else float("nan"),
            plan_prob_achieve=forecast.prob_at_least(target) if _finite(target) else float("nan"),
            # a target set at the forecast (rounded to the cent) is 0 %, not -0.0000001 %
            target_vs_forecast_pct=_round_small(growth(target, forecast.total)),
            forecast_error_pct=growth(forecast.total, actual_total),
            history_months=len(forecast.history),
        )
    else:
        s.update(
            forecast_total=float("nan"),
            forecast_low=float("nan"),
            forecast_high=float("nan"),
            prob_achieve=float("nan"),
            best_model=None,
            forecast_method="none",
            interval_note=forecast_note,
        )
    if seasonal is not None and seasonal["seasonal_index"].notna().any():
        idx = seasonal.set_index("month_of_year")["seasonal_index"]
        pm_ = peak_month(seasonal)
        in_period = idx.reindex(months.month).dropna()
        s.update(
            peak_month=pm_,
            peak_index=float(idx.loc[pm_]),
            period_seasonal_index=float(in_period.mean()) if len(in_period) else float("nan"),
        )
    else:
        s.update(peak_month=None, peak_index=float("nan"), period_seasonal_index=float("nan"))
    if review is not None:
        s.update(review_summary(review, forecast))
    else:
        s["yoy_growth"] = growth(actual_total, ly)
    if _finite(existing_quota_total) and existing_quota_total > 0:
        s["existing_quota_total"] = float(existing_quota_total)
        s["prob_quota"] = (
            forecast.prob_at_least(existing_quota_total) if forecast is not None else float("nan")
        )
    return s


def review_summary(review: dict | None, forecast=None) -> dict:
    """The reviewed period's figures of the summary (``review_period, review_total,
    review_last_year_total, yoy_growth, review_forecast_error_pct`` ...); empty without one.

    >>> from salesnb.model.periods import parse_period
    >>> r = review_figures(parse_period("2026-Q3"), {"revenue": 115.0}, {"revenue": 100.0})
    >>> round(review_summary(r)["yoy_growth"], 4)
    0.15
    """
    if review is None:
        return {}
    return dict(
        review_period=review["period"],
        review_total=float(review["revenue"]),
        review_last_year_total=_nan(review["last_year_revenue"]),
        review_last_year_note=review.get("last_year_note"),
        yoy_growth=growth(review["revenue"], _nan(review["last_year_revenue"])),
        review_forecast_error_pct=_review_error(forecast, review),
    )


def _review_row(forecast, review: dict) -> pd.DataFrame | None:
    """The baseline's backtest row on the reviewed period (None when there is none).

    The first backtest origin leaves exactly the forecast horizon to test, which is the
    reviewed period when the target follows it directly."""
    if forecast is None or forecast.backtest.empty:
        return None
    bt = forecast.backtest
    row = bt[(bt["model"] == forecast.best_model) & (bt["origin"] == pd.Timestamp(review["start"]))]
    if row.empty or not len(forecast.period_months):
        return None
    if len(forecast.monthly) != len(forecast.period_months):
        return None  # the horizon reaches past the reviewed period: not the same months
    return row


def _review_forecast(forecast, review: dict) -> float:
    """What the baseline forecast the reviewed period at in its backtest (NaN: no such origin)."""
    row = _review_row(forecast, review)
    return float("nan") if row is None else float(row["forecast_total"].iat[0])


def _review_error(forecast, review: dict) -> float:
    """How far off the baseline's backtest was on the reviewed period (forecast / actual - 1)."""
    row = _review_row(forecast, review)
    if row is None:
        return float("nan")
    return growth(float(row["forecast_total"].iat[0]), float(row["actual_total"].iat[0]))


HEADLINE_KEYS = (
    "target_period",
    "forecast_total",
    "forecast_low",
    "forecast_high",
    "forecast_method",
    "target_total",
    "prob_achieve",
    "best_model",
    "peak_month",
    "yoy_growth",
    "review_total",
    "last_year_total",
    "actual_total",
    "target_vs_forecast_pct",
    "backtest_error_pct",
    "existing_quota_total",
    "prob_quota",
    "interval_level",
    "plan_period",
    "plan_target_total",
    "plan_prob_achieve",
    "review_target_total",
    "review_vs_target_pct",
    "review_quota_total",
    "review_vs_quota_pct",
)


def headline_figures(summary: dict) -> dict:
    """The flat headline keys of the study (figures that cannot be computed are left out).

    >>> headline_figures({"target_total": 120.0, "prob_achieve": float("nan"), "peak_month": None})
    {'target_total': 120.0}
    """
    out = {}
    for k in HEADLINE_KEYS:
        v = summary.get(k)
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            continue
        out[k] = v
    return out


__all__ = [
    "HEADLINE_KEYS",
    "SEASON_MONTHS",
    "allocate_or_note",
    "choose_plan_period",
    "reviewed_period",
    "scope_quota",
    "choose_target_period",
    "review_against_target",
    "review_summary",
    "review_target_markdown",
    "drivers_or_note",
    "odds_note",
    "review_markdown",
    "target_markdown",
    "quotas_for_period",
    "review_figures",
    "seasonality",
    "target_proposal",
    "existing_quota_total",
    "achievement_curve",
    "headline_figures",
    "target_summary",
    "METHOD_COLUMNS",
    "SPLIT_METHODS",
    "allocate_hierarchy",
    "allocate_target",
    "capacity_from_tenure",
    "compare_with_quota",
    "driver_requirements",
    "gap_to_last_year",
    "growth",
    "peak_month",
    "proposed_target",
    "rep_weights",
    "rollup",
    "seasonal_index",
    "smart_markdown",
    "smart_target",
    "split_cents",
    "what_to_do",
]
