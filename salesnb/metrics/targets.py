"""Target setting: seasonality, growth, the SMART target, its top-down split to regions, teams and reps.

Pure functions (pandas in, pandas/number out). The baseline forecast itself lives in
:mod:`salesnb.forecast`; this module turns it into a target and splits the target.

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

from salesnb.metrics import require_columns

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
MONTH_NAMES = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]


# --------------------------------------------------------------------------- seasonality & growth
def seasonal_index(monthly: pd.Series) -> pd.DataFrame:
    """Multiplicative seasonal index per month of year (mean 1), robust to the trend.

    ``monthly`` is a month-start indexed revenue series. With two years or more the index
    comes from statsmodels ``seasonal_decompose`` (ratio to a centred 12-month moving
    average); with less, from the ratio of each month to the mean of the months around it.
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
        # short history: ratio to the mean of a window of up to 12 neighbouring months
        trend = y.rolling(12, center=True, min_periods=6).mean()
        ratio = y / trend
    frame = pd.DataFrame({"month_of_year": y.index.month, "ratio": ratio.to_numpy()}).dropna()
    g = frame.groupby("month_of_year")["ratio"]
    out = pd.DataFrame({"seasonal_index": g.mean(), "months": g.size()}).reindex(range(1, 13))
    out["seasonal_index"] = out["seasonal_index"] / out["seasonal_index"].mean()
    out = out.reset_index().rename(columns={"index": "month_of_year"})
    out["months"] = out["months"].fillna(0).astype("int64")
    out.insert(1, "month_name", [MONTH_NAMES[m - 1] for m in out["month_of_year"]])
    return out


def peak_month(index: pd.DataFrame) -> int:
    """Month of year (1-12) with the highest seasonal index."""
    require_columns(index, ["month_of_year", "seasonal_index"], "peak_month")
    return int(index.loc[index["seasonal_index"].idxmax(), "month_of_year"])


def growth(current: float, previous: float) -> float:
    """current / previous - 1 (NaN when there is no previous revenue)."""
    if previous is None or not np.isfinite(previous) or previous <= 0:
        return float("nan")
    return float(current) / float(previous) - 1.0


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


def rollup(
    allocation: pd.DataFrame, level: str, value_cols: Sequence[str] = ("target_amount",)
) -> pd.DataFrame:
    """Sum an allocation to one level (region, team) — cents-exact for ``target_cents``."""
    require_columns(allocation, [level, *value_cols], "rollup")
    cols = list(
        dict.fromkeys([*value_cols, *(["target_cents"] if "target_cents" in allocation else [])])
    )
    out = allocation.groupby(level, sort=True)[cols].sum().reset_index()
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
) -> pd.DataFrame:
    """Per rep the weights every split method needs, from the reps table and rep x month revenue.

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


def existing_quota_total(
    quotas: pd.DataFrame,
    region: str | None = None,
    team: str | None = None,
    channel: str | None = None,
) -> float | None:
    """The existing quota for the scope studied: company, one region or one team (None otherwise).

    ``quotas`` holds the ``targets`` rows of the period (``level, key, target_amount``).
    Quotas are not set per channel, so a channel filter has no comparable quota.
    """
    require_columns(quotas, ["level", "key", "target_amount"], "existing_quota_total")
    if channel or (region and team):
        return None
    level, key = ("team", team) if team else ("region", region) if region else ("company", None)
    rows = quotas[quotas["level"].astype(str) == level]
    if key is not None:
        rows = rows[rows["key"].astype(str) == str(key)]
    total = float(rows["target_amount"].sum())
    return total if len(rows) and total > 0 else None


# --------------------------------------------------------------------------- SMART & advice
def driver_requirements(target: float, last_year: dict) -> pd.DataFrame:
    """What the target asks of the revenue drivers, against the same period last year.

    ``last_year`` holds ``revenue, orders, customers``. Revenue = orders x average order value
    = customers x revenue per customer; each row says how much one driver must grow when the
    other stays at last year's level. Columns: ``driver, last_year, needed, change_pct``.
    """
    rev = float(last_year.get("revenue", np.nan))
    rows = []
    for driver, count_key, value_name in (
        ("orders", "orders", "average order value"),
        ("customers", "customers", "revenue per customer"),
    ):
        n = float(last_year.get(count_key, np.nan) or np.nan)
        if not (np.isfinite(n) and n > 0 and np.isfinite(rev) and rev > 0):
            continue
        value = rev / n
        rows.append(
            dict(
                driver=f"{driver} (at last year's {value_name})",
                last_year=n,
                needed=target / value,
                change_pct=target / rev - 1,
            )
        )
        rows.append(
            dict(
                driver=f"{value_name} (at last year's {driver})",
                last_year=value,
                needed=target / n,
                change_pct=target / rev - 1,
            )
        )
    return pd.DataFrame(rows, columns=["driver", "last_year", "needed", "change_pct"])


def _money(x: float, currency: str) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    a = abs(x)
    if a >= 1e9:
        return f"{x / 1e9:,.2f}B {currency}"
    if a >= 1e6:
        return f"{x / 1e6:,.2f}M {currency}"
    if a >= 1e3:
        return f"{x / 1e3:,.1f}k {currency}"
    return f"{x:,.2f} {currency}"


def _pct(x: float, signed: bool = True) -> str:
    if x is None or not np.isfinite(x):
        return "n/a"
    return f"{x:+.1%}" if signed else f"{x:.0%}"


def smart_target(summary: dict, currency: str = "USD") -> pd.DataFrame:
    """The target stated in SMART terms, one row per criterion (``criterion, statement``).

    ``summary`` keys: period, scope, target_total, last_year_total, forecast_total,
    forecast_low, forecast_high, interval_level, best_model, backtest_error_pct,
    prob_achieve, trailing_growth, period_seasonal_index, peak_month, period_start,
    period_end, and optionally orders_change_pct.
    """
    s = summary
    lvl = s.get("interval_level", 0.8)
    rows = [
        (
            "Specific",
            f"Net revenue (order lines after discounts, returns netted) for {s['scope']} "
            f"in {s['period']}: **{_money(s['target_total'], currency)}**.",
        ),
        (
            "Measurable",
            f"Baseline: {_money(s['last_year_total'], currency)} in the same period last year; "
            f"the baseline forecast is {_money(s['forecast_total'], currency)} "
            f"({lvl:.0%} interval {_money(s['forecast_low'], currency)} – "
            f"{_money(s['forecast_high'], currency)}, model: {s['best_model']}, backtest error of "
            f"the period total ±{abs(s.get('backtest_error_pct', np.nan)):.1%}).",
        ),
        (
            "Achievable",
            f"Probability of reaching the target under the forecast distribution: "
            f"**{_pct(s['prob_achieve'], signed=False)}**; the target is "
            f"{_pct(s['target_total'] / s['forecast_total'] - 1)} vs the baseline forecast.",
        ),
        (
            "Relevant (drivers)",
            f"It rests on the trend (last 12 months {_pct(s['trailing_growth'])} vs the 12 "
            f"before), the season (period index {s['period_seasonal_index']:.2f}, peak month "
            f"{MONTH_NAMES[int(s['peak_month']) - 1]}) and on volume: at last year's average "
            f"order value it needs {_pct(s.get('orders_change_pct', np.nan))} orders.",
        ),
        (
            "Time-bound",
            f"{s['period']}: {s['period_start']} to {s['period_end']} inclusive; "
            f"tracked monthly against the forecast months.",
        ),
    ]
    return pd.DataFrame(rows, columns=["criterion", "statement"])


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
    proposal is flagged.
    """
    s = summary
    p = s["prob_achieve"]
    out = []
    if p < stretch_below:
        # the target that has a 50 % chance is the forecast median itself
        out.append(
            f"- **The target is a stretch**: only {p:.0%} chance of reaching "
            f"{_money(s['target_total'], currency)}. Either back it with named initiatives worth "
            f"{_money(s['target_total'] - s['forecast_total'], currency)} above the baseline, or set it "
            f"nearer the forecast ({_money(s['forecast_total'], currency)} is a 50/50 target)."
        )
    elif p > soft_above:
        out.append(
            f"- **The target is soft**: {p:.0%} chance of reaching it on the baseline alone. "
            f"Consider raising it toward the upper forecast bound "
            f"({_money(s['forecast_high'], currency)})."
        )
    else:
        out.append(
            f"- **The target is achievable with effort**: {p:.0%} chance under the baseline forecast. "
            f"Keep it and track it monthly against the forecast months."
        )
    quota = s.get("existing_quota_total")
    if quota is not None and np.isfinite(quota) and quota > 0:
        diff = quota / s["target_total"] - 1
        if abs(diff) > quota_tolerance:
            out.append(
                f"- The existing quota ({_money(quota, currency)}) is {_pct(diff)} vs this proposal; "
                f"its chance under the forecast is {s.get('prob_quota', float('nan')):.0%}. "
                f"Reconcile before the quota letters go out."
            )
        else:
            out.append(
                f"- The existing quota ({_money(quota, currency)}) agrees with this proposal "
                f"within {quota_tolerance:.0%}."
            )
    pm = int(s["peak_month"])
    out.append(
        f"- Plan capacity for **{MONTH_NAMES[pm - 1]}**, the seasonal peak "
        f"(index {s.get('peak_index', float('nan')):.2f}): stock, staffing and campaigns a month ahead."
    )
    actual = s.get("actual_total")
    if actual is not None and np.isfinite(actual) and actual > 0:
        err = s["forecast_total"] / actual - 1
        out.append(
            f"- Actuals for the period are in: {_money(actual, currency)} "
            f"({_pct(actual / s['target_total'] - 1)} vs target; the baseline was {_pct(err)} off)."
        )
    if allocation is not None and len(allocation) and "growth_vs_last_year" in allocation:
        g = allocation.dropna(subset=["growth_vs_last_year"])
        if len(g):
            hi = g.sort_values("growth_vs_last_year", ascending=False).head(3)
            names = ", ".join(
                f"{r.get('name', r.get('rep_id'))} ({r['growth_vs_last_year']:+.0%})"
                for _, r in hi.iterrows()
            )
            out.append(
                f"- Reps asked for the largest step up vs last year: {names}. Review these quotas "
                f"with their managers before publishing."
            )
        zero = allocation[(allocation["target_amount"] == 0)]
        if len(zero):
            out.append(
                f"- {len(zero)} rep(s) get no target under this split method (no history); "
                f"use the `capacity` or `equal` method for new hires."
            )
    return "\n".join(out)


# --------------------------------------------------------------------------- summary
def achievement_curve(
    median: float, sigma: float, low: float = 0.8, high: float = 1.3, points: int = 51
) -> pd.DataFrame:
    """Probability of reaching targets from ``low`` to ``high`` x the forecast median.

    Columns ``target, probability`` (decreasing in target).
    """
    from salesnb.forecast import prob_at_least

    targets = np.linspace(low * median, high * median, points)
    return pd.DataFrame(
        {"target": targets, "probability": [prob_at_least(t, median, sigma) for t in targets]}
    )


def target_summary(
    *,
    period,
    scope: str,
    target_total: float,
    last_year: dict,
    actual: dict | None,
    forecast,
    seasonal: pd.DataFrame,
    monthly: pd.Series,
    existing_quota_total: float | None = None,
) -> dict:
    """Every figure the study reports, in one flat dict (headline keys included).

    ``forecast`` is a :class:`salesnb.forecast.BaselineForecast`; ``last_year``/``actual`` come
    from ``period_totals`` (``actual`` None when the period is not fully in the data);
    ``monthly`` is the complete-month revenue series (for the trailing growth).
    """
    start = pd.Timestamp(period.start)
    hist = monthly[monthly.index < start]
    last12, prev12 = hist.iloc[-12:].sum(), hist.iloc[-24:-12].sum() if len(hist) >= 24 else np.nan
    months = pd.date_range(start, pd.Timestamp(period.end) - pd.offsets.MonthBegin(1), freq="MS")
    idx = seasonal.set_index("month_of_year")["seasonal_index"]
    chosen = forecast.backtest[forecast.backtest["model"] == forecast.best_model]
    actual_total = actual["revenue"] if actual else float("nan")
    pm = peak_month(seasonal)
    s = dict(
        period=period.label,
        scope=scope,
        period_start=str(period.start),
        period_end=str(period.last_day),
        target_total=float(target_total),
        last_year_total=float(last_year["revenue"]),
        forecast_total=forecast.total,
        forecast_low=forecast.low,
        forecast_high=forecast.high,
        interval_level=forecast.level,
        forecast_sigma=forecast.sigma,
        best_model=forecast.best_model,
        backtest_error_pct=float(chosen["total_error_pct"].abs().mean())
        if len(chosen)
        else float("nan"),
        backtest_smape=float(chosen["smape"].mean()) if len(chosen) else float("nan"),
        prob_achieve=forecast.prob_at_least(target_total),
        target_vs_forecast_pct=float(target_total) / forecast.total - 1
        if forecast.total > 0
        else float("nan"),
        target_growth_pct=growth(target_total, last_year["revenue"]),
        trailing_growth=growth(last12, prev12),
        peak_month=pm,
        peak_index=float(idx.loc[pm]),
        period_seasonal_index=float(idx.loc[months.month].mean()),
        actual_total=actual_total,
        yoy_growth=growth(actual_total, last_year["revenue"]),
        forecast_error_pct=forecast.total / actual_total - 1
        if actual_total and actual_total > 0
        else float("nan"),
        orders_change_pct=growth(target_total, last_year["revenue"]),
        history_months=len(forecast.history),
    )
    if (
        existing_quota_total is not None
        and np.isfinite(existing_quota_total)
        and existing_quota_total > 0
    ):
        s["existing_quota_total"] = float(existing_quota_total)
        s["prob_quota"] = forecast.prob_at_least(existing_quota_total)
    return s


HEADLINE_KEYS = (
    "forecast_total",
    "forecast_low",
    "forecast_high",
    "target_total",
    "prob_achieve",
    "best_model",
    "peak_month",
    "yoy_growth",
    "last_year_total",
    "actual_total",
    "target_vs_forecast_pct",
    "backtest_error_pct",
    "existing_quota_total",
    "prob_quota",
    "interval_level",
)


def headline_figures(summary: dict) -> dict:
    """The flat headline keys of the study (NaN-valued figures are left out)."""
    out = {}
    for k in HEADLINE_KEYS:
        v = summary.get(k)
        if v is None or (isinstance(v, float) and not np.isfinite(v)):
            continue
        out[k] = v
    return out


__all__ = [
    "HEADLINE_KEYS",
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
