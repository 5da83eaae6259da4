"""Where a running period will land: period-to-date plus the expected remainder, three ways.

For a period running on day ``d`` the landing is ``period_to_date + remainder``, where the
remainder (the days after ``d`` up to the period's last day) comes from three methods shown
side by side:

- ``run_rate`` -- **run rate with seasonality**: the period-to-date scaled by the weight of
  the days left over the weight of the days gone. A day's weight is its month's seasonal
  index (:func:`salesnb.metrics.targets.seasonality`, from the complete months before the
  period; without a year of history, the month's number of days) times its weekday's share
  of that month (:func:`weekday_factors`: the last 52 weeks before the period), so a quiet
  weekend or a November peak is not extrapolated flat;
- ``pipeline`` -- **the open pipeline weighted by win probabilities**: each deal open on
  ``d`` counts its amount x its win probability (the deals study's model,
  :func:`salesnb.metrics.deals.fit_win_model`, trained on what was known when the period
  started: the last half-year of snapshots) x the share of won deals in its stage that
  closed within the days left (:func:`salesnb.metrics.deals.closing_share`, the expected
  close date as a distribution), plus the deals not yet created that will be won before
  the period ends (the last year's won deals, each counting its amount x the days left
  beyond its sales cycle / 365, :func:`new_deal_value`). Won
  deal amounts are turned into order revenue by the last year's ratio of the two
  (:func:`revenue_per_won`): a department whose orders come only from deals has a ratio
  near 1, one that also sells online has a larger one;
- ``statistical`` -- **the statistical forecast of the remaining months**: the baseline's
  combination of models (:mod:`salesnb.metrics.forecast`: ETS, Theta and SARIMA with a year
  of history, the non-seasonal combination with 3-11 months, the naive run rate with fewer)
  fitted once on the complete months before the period (for the running period, the
  study's own baseline forecast when it is for the same months); the current month counts
  by the weekday share of its days left.

The combination and its interval come from a **backtest**: for each of the last 8 quarters
(:func:`backtest_quarters`), as of its 15th, 45th and 75th day, each method's landing is set
against the quarter's actual total, the pipeline seen as it stood that day (deals created
later left out, deals closed later still open, stage entries after the day ignored: the
deals study's own snapshots). Three combination rules are scored leave-one-quarter-out --
the mean of the methods, the best method at that point of the quarter, and inverse-error
weights (1 / the mean squared error at that point, Bates & Granger) -- and the one with the
lowest mean absolute error over the 24 points is used (:func:`combine`); that error is
``landing_mape``. The 80 % interval spreads the remainder log-normally with the root mean
square log error the chosen rule made on the remainder at the nearest point of the quarter
(a period that is not a quarter uses the point at the same fraction of its length), so it
never reaches below the period-to-date while the remainder is positive. Without a backtest
(no quarter covered from its first day) the landing is the mean of the methods with a 15 %
spread.

Written here rather than taken from a library: no forecasting library combines a
period-to-date with a pipeline and a time-series forecast, and a landing backtest needs the
pipeline as it stood on past days, which only the deals study's snapshots give. The win model
is fitted with the deals study's default penalty (not its tuned one) on the last half-year of
snapshots 56 days apart (at most 2,000 rows, whole deals drawn at random), once per quarter:
the backtest stays within a few seconds whatever the size of the CRM.

Example::

    >>> w = pd.Series(1.0, pd.date_range("2026-07-01", periods=10, freq="D"))
    >>> run_rate_remainder(40.0, w, "2026-07-04")
    60.0
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

import numpy as np
import pandas as pd
from scipy import stats

from salesnb.errors import FitError
from salesnb.formatting import change, percent, short_money
from salesnb.i18n import N_, _, date_label, language, period_label
from salesnb.metrics import deals as dm
from salesnb.metrics import forecast as fcm
from salesnb.metrics.targets import seasonality
from salesnb.model.periods import Period, parse_period, quarter_of

METHODS = ("run_rate", "pipeline", "statistical")
METHOD_LABELS = {
    "run_rate": N_("Run rate with seasonality"),
    "pipeline": N_("Open pipeline x win probability"),
    "statistical": N_("Statistical forecast of the remaining months"),
}
METHOD_SHORT = {
    "run_rate": N_("Run rate"),
    "pipeline": N_("Pipeline"),
    "statistical": N_("Statistical"),
}
RULE_SHORT = {
    "equal": N_("mean of the methods"),
    "best": N_("best method"),
    "inverse_error": N_("inverse-error weights"),
}
RULES = ("equal", "best", "inverse_error")
RULE_LABELS = {
    "equal": N_("the mean of the methods"),
    "best": N_("the method with the lowest backtest error at that point of the period"),
    "inverse_error": N_("inverse-error weights (1 / mean squared backtest error at that point)"),
}
# what a landing is measured against (:func:`landing_target`), named in sentences and charts
TARGET_BASES = (N_("quota"), N_("proposed target"), N_("target"))
CHECKPOINT_DAYS = (15, 45, 75)  # days into the quarter the backtest forecasts from
BACKTEST_QUARTERS = 8
QUARTER_DAYS = 91
TRAIN_DAYS = 182  # the win model learns from the last half-year of snapshots before the period
YEAR_DAYS = 365  # revenue per won amount and the deals yet to come are read over a year
SNAPSHOT_DAYS = 56  # ... taken this many days apart (twice the deals study's grid: half the rows)
WIN_PENALTY = 1.0  # the deals study's default ridge penalty
PRIOR_WEIGHT = 10.0  # ... its pseudo-deals behind a rep's or an account's prior win rate
REP_WINDOW_DAYS = 180  # ... and the days a rep's prior win rate looks back
MAX_TRAIN_ROWS = 2000  # snapshot rows a win model is fitted on (whole deals drawn, seeded)
DEFAULT_SIGMA = 0.15  # no backtest: the forecast module's wide, honest default
MIN_SIGMA = 0.02
MIN_SIGMA_POINTS = 3


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d).normalize()


def _finite(x) -> bool:
    try:
        return x is not None and bool(np.isfinite(float(x)))
    except (TypeError, ValueError):
        return False


# --------------------------------------------------------------------------- day weights
def weekday_factors(daily: pd.Series, before, weeks: int = 52, min_days: int = 28) -> np.ndarray:
    """Revenue of each weekday (Monday first) over the average weekday, from the ``weeks``
    weeks of ``daily`` before ``before``; ones with under ``min_days`` days of history or a
    weekday at or below zero (returns exceeding sales say nothing about weekdays).

    >>> idx = pd.date_range("2026-01-05", periods=28, freq="D")
    >>> y = pd.Series([3.0 if d.day_of_week < 5 else 1.0 for d in idx], idx)
    >>> weekday_factors(y, "2026-02-02").round(3).tolist()
    [1.235, 1.235, 1.235, 1.235, 1.235, 0.412, 0.412]
    """
    b = _ts(before)
    hist = daily[(daily.index < b) & (daily.index >= b - pd.Timedelta(weeks=weeks))]
    if len(hist) < min_days:
        return np.ones(7)
    by = hist.groupby(hist.index.day_of_week).mean().reindex(range(7))
    if by.isna().any() or (by <= 0).any():
        return np.ones(7)
    return (by / by.mean()).to_numpy(dtype="float64")


def day_shares(start, end, weekday: np.ndarray) -> pd.Series:
    """Each day's share of its calendar month from the weekday factors, for days in
    ``[start, end)`` (a month's days sum to 1 over the whole month).

    >>> s = day_shares("2026-07-01", "2026-08-01", np.ones(7))
    >>> len(s), round(float(s.sum()), 6)
    (31, 1.0)
    """
    s, e = _ts(start), _ts(end)
    first = s.to_period("M").to_timestamp()
    last = (e - pd.Timedelta(days=1)).to_period("M").to_timestamp(how="end").normalize()
    days = pd.date_range(first, last, freq="D")
    f = np.asarray(weekday, dtype="float64")[days.day_of_week]
    total = pd.Series(f).groupby(days.to_period("M")).transform("sum").to_numpy()
    share = pd.Series(np.divide(f, total, out=np.zeros_like(f), where=total > 0), index=days)
    return share[(share.index >= s) & (share.index < e)]


def season_factors(days: pd.DatetimeIndex, season: pd.DataFrame | None) -> np.ndarray:
    """Each day's month weight: its seasonal index, or without a season (or a month without
    one) its number of days over an average month's, so a 30-day month weighs less than a
    31-day one."""
    by_days = (days.days_in_month / (365.25 / 12)).to_numpy(dtype="float64")
    if season is None:
        return by_days
    idx = season.set_index("month_of_year")["seasonal_index"].reindex(days.month).to_numpy()
    return np.where(np.isfinite(idx), idx, by_days)


# --------------------------------------------------------------------------- the three methods
def run_rate_remainder(ptd: float, weights: pd.Series, day) -> float:
    """The period-to-date times the weight of the days after ``day`` over the weight of the
    days up to it (plain day counts when the days gone weigh nothing)."""
    d = _ts(day)
    gone = float(weights[weights.index <= d].sum())
    left = float(weights[weights.index > d].sum())
    if gone <= 0:
        gone = float((weights.index <= d).sum())
        left = float((weights.index > d).sum())
    return float(ptd) * left / gone if gone > 0 else float("nan")


def statistical_remainder(month_forecast: pd.Series | None, shares: pd.Series, day) -> float:
    """The sum over the days after ``day`` of their month's forecast x the day's share of it.

    >>> f = pd.Series([310.0], pd.DatetimeIndex(["2026-07-01"]))
    >>> statistical_remainder(f, day_shares("2026-07-01", "2026-08-01", np.ones(7)), "2026-07-21")
    100.0
    """
    if month_forecast is None:
        return float("nan")
    left = shares[shares.index > _ts(day)]
    f = month_forecast.reindex(left.index.to_period("M").to_timestamp())
    if f.isna().any():
        return float("nan")
    return round(float((f.to_numpy() * left.to_numpy()).sum()), 6)


def statistical_months(monthly: pd.Series, start, end, first_day=None) -> tuple:
    """Monthly forecast of ``[start, end)`` from the complete months before ``start`` and its
    method (``combo``, ``combo_ns`` or ``naive``); ``(None, why)`` when there is none."""
    s, e = _ts(start), _ts(end)
    hist = monthly[monthly.index < s]
    months = pd.date_range(s, e - pd.offsets.MonthBegin(1), freq="MS")
    if hist.empty:
        return None, _("no complete month of revenue before {day}").format(day=_day(s))
    try:
        if len(hist) < fcm.MIN_MONTHS:
            out, how = fcm.naive_forecast(hist, s, e, first_day).monthly["naive"], "naive"
        else:
            how = "combo" if len(hist) >= fcm.SEASON else "combo_ns"
            h = len(pd.date_range(hist.index[-1] + pd.offsets.MonthBegin(1), months[-1], freq="MS"))
            out = fcm.forecast_models(hist, h, (how,))[how]
    except (FitError, ValueError, np.linalg.LinAlgError) as exc:
        return None, _("the models could not be fitted ({error})").format(error=exc)
    out = out.reindex(months)
    return (out, how) if out.notna().all() else (None, _("the forecast does not reach the period"))


def revenue_per_won(daily: pd.Series, deals: pd.DataFrame, day, days: int = YEAR_DAYS) -> float:
    """Order revenue per unit of won deal amount over the ``days`` up to ``day`` (NaN when
    no deal was won then).

    >>> d = pd.DataFrame({"status": ["won", "lost"], "amount": [10.0, 99.0],
    ...                   "close_date": pd.to_datetime(["2026-06-01", "2026-06-02"])})
    >>> revenue_per_won(pd.Series(5.0, pd.date_range("2026-06-01", periods=6)), d, "2026-06-06")
    3.0
    """
    d = _ts(day)
    lo = d - pd.Timedelta(days=days - 1)
    rev = float(daily[(daily.index >= lo) & (daily.index <= d)].sum())
    close = pd.to_datetime(deals["close_date"])
    won = deals[(deals["status"] == dm.WON) & (close >= lo) & (close <= d)]
    amount = float(won["amount"].fillna(0.0).sum())
    return rev / amount if amount > 0 else float("nan")


def new_deal_value(
    deals: pd.DataFrame, day, days_left: int, days: int = YEAR_DAYS, first_created=None
) -> float:
    """Expected won amount of deals created after ``day`` and won within ``days_left`` days
    of it: each deal won in the ``days`` before counts its amount x max(0, days_left - its
    sales cycle in days) / ``days`` (the chance a deal like it, created on a random day, is
    created and closed inside the window), ``days`` shortened to the history there is (from
    ``first_created``, default the first deal of ``deals``).

    >>> d = pd.DataFrame({"status": ["won", "won", "lost"], "amount": [365.0, 730.0, 1.0],
    ...                   "created_date": pd.to_datetime(["2026-01-01", "2026-03-01", "2025-01-01"]),
    ...                   "close_date": pd.to_datetime(["2026-01-11", "2026-03-31", "2025-02-01"])})
    >>> new_deal_value(d, "2026-06-30", 40)  # (365 x 30 + 730 x 10) / 365
    50.0
    """
    d = _ts(day)
    created = pd.to_datetime(deals["created_date"])
    first = created.min() if first_created is None else pd.Timestamp(first_created)
    span = min(days, (d - first).days + 1) if pd.notna(first) else 0
    if span <= 0 or days_left <= 0:
        return 0.0
    close = pd.to_datetime(deals["close_date"])
    won = (deals["status"] == dm.WON) & (close > d - pd.Timedelta(days=span)) & (close <= d)
    cycle = (close[won] - created[won]).dt.days.clip(lower=0)
    inside = (days_left - cycle).clip(lower=0).fillna(0.0)
    return float((deals.loc[won, "amount"].fillna(0.0) * inside).sum() / span)


@dataclass
class WinBasis:
    """Win probabilities as they could be known when a period started."""

    model: dm.WinModel | None
    default: float  # company win rate over the deals closed before the period (NaN: none)
    won_remaining: dict  # won deals' days from a snapshot to their close (closing_share)
    basis: str

    def probability(self, rows: pd.DataFrame) -> np.ndarray | None:
        if self.model is not None:
            return self.model.predict(rows)
        if _finite(self.default):
            return np.full(len(rows), float(self.default))
        return None


def sample_deals(rows: pd.DataFrame, max_rows: int, seed: int = 0) -> pd.DataFrame:
    """At most about ``max_rows`` snapshot rows, whole deals drawn at random (seeded: the same
    rows every run), in their original order; all of them when there are fewer.

    >>> r = pd.DataFrame({"opportunity_id": list("aabbccdd"), "x": range(8)})
    >>> len(sample_deals(r, 4)), len(sample_deals(r, 100))
    (4, 8)
    """
    if len(rows) <= max_rows:
        return rows
    ids = pd.unique(rows["opportunity_id"])
    order = np.random.default_rng(seed).permutation(len(ids))
    per = rows.groupby("opportunity_id", sort=False).size().reindex(ids[order]).to_numpy()
    keep = ids[order][: max(int(np.searchsorted(np.cumsum(per), max_rows, side="right")), 1)]
    return rows[rows["opportunity_id"].isin(keep)]


def win_basis(
    rows: pd.DataFrame,
    deals: pd.DataFrame,
    start,
    horizon_days: int,
    train_days: int = TRAIN_DAYS,
    min_closed: int = 30,
) -> WinBasis:
    """The deals study's win model trained when the period started on ``start``: snapshots of
    the ``train_days`` before ``start - horizon_days`` labelled with deals closed before
    ``start`` (the company's win rate when no model can be fitted)."""
    cut = _ts(start) - pd.Timedelta(days=1)
    hi = cut - pd.Timedelta(days=horizon_days)
    window = rows[
        (rows["ref_date"] <= hi) & (rows["ref_date"] > hi - pd.Timedelta(days=train_days))
    ]
    train = dm.labelled(window, cut) if len(window) else window.assign(won=0).iloc[:0]
    default = dm.overall_win_rate(deals, cut)
    remaining = dm.won_remaining_days(train) if len(train) else {}
    gap = dm.model_gap(train, min_closed)
    if gap is None:
        try:
            model = dm.fit_win_model(sample_deals(train, MAX_TRAIN_ROWS), WIN_PENALTY)
            why = _("the win model (trained on {n} deals closed before {day})").format(
                n=f"{model.deals:,}", day=_day(start)
            )
            return WinBasis(model, default, remaining, why)
        except (np.linalg.LinAlgError, ValueError) as exc:
            gap = _("the model could not be fitted ({error})").format(error=exc)
    if _finite(default):
        return WinBasis(
            None, default, remaining, _("the company's win rate ({why})").format(why=gap)
        )
    return WinBasis(None, default, remaining, _("nothing ({why})").format(why=gap))


# --------------------------------------------------------------------------- one period
@dataclass
class LandingInputs:
    """What every landing reads: revenue per day and complete months (both up to the day the
    study is as of), the first day with orders, and the deals study's frames (or None)."""

    daily: pd.Series
    monthly: pd.Series
    first_day: pd.Timestamp
    deals: pd.DataFrame | None = None
    history: pd.DataFrame | None = None
    pipeline_rows: pd.DataFrame | None = None  # snapshot rows with features (all dates needed)
    horizons: dict = field(default_factory=dict)  # period start -> resolution days
    train_dates: frozenset = frozenset()  # the snapshot grid the win model learns from
    won: pd.DataFrame | None = None  # the won deals (revenue per won amount, new deals)


def _open_deals(inputs: LandingInputs, win: WinBasis | None, days) -> tuple:
    """The deals open on each of ``days`` (snapshot rows) and their win probabilities, scored
    in one call; ``(None, None)`` without a pipeline or a way to score it."""
    if win is None or inputs.deals is None or inputs.pipeline_rows is None:
        return None, None
    rows = inputs.pipeline_rows[inputs.pipeline_rows["ref_date"].isin([_ts(d) for d in days])]
    p = win.probability(rows) if len(rows) else np.array([])
    return (rows, p) if p is not None else (None, None)


def _pipeline_remainder(inputs: LandingInputs, win, day, days_left: int, scored: tuple) -> tuple:
    """(remainder, open deals, their expected won value) on ``day`` from :func:`_open_deals`'
    rows and probabilities; NaN remainder when the pipeline cannot say."""
    all_rows, all_p = scored
    if all_rows is None:
        return float("nan"), 0, float("nan")
    on_day = (all_rows["ref_date"] == _ts(day)).to_numpy()
    rows, p = all_rows[on_day], all_p[on_day]
    won = inputs.won if inputs.won is not None else inputs.deals
    k = revenue_per_won(inputs.daily, won, day)
    if not _finite(k):
        return float("nan"), len(rows), float("nan")
    share = 0.0
    if len(rows):  # one closing share per stage, not per deal
        stages = rows["stage"].astype(object).where(rows["stage"].notna(), None)
        uniq = pd.unique(stages)
        per = dict(zip(uniq, dm.closing_share(win.won_remaining, uniq, days_left), strict=True))
        share = stages.map(per).to_numpy(dtype="float64")
    expected_open = float((rows["amount"].fillna(0.0).to_numpy() * p * share).sum())
    new = new_deal_value(won, day, days_left, first_created=inputs.deals["created_date"].min())
    return k * (expected_open + new), len(rows), expected_open


def baseline_months(baseline, start, end) -> tuple:
    """The statistical method's months from the study's own baseline forecast when it was
    made for the same months from the same history (its ``combo``, ``combo_ns`` or ``naive``
    column: what :func:`statistical_months` would fit again); ``(None, None)`` otherwise."""
    months = pd.date_range(_ts(start), _ts(end) - pd.offsets.MonthBegin(1), freq="MS")
    if baseline is None or not len(baseline.period_months):
        return None, None
    if not baseline.period_months.equals(months):
        return None, None
    how = next((c for c in ("combo", "combo_ns", "naive") if c in baseline.monthly.columns), None)
    return (baseline.monthly[how].reindex(months), how) if how else (None, None)


def period_points(
    inputs: LandingInputs, start, end, days, win: WinBasis | None = None, baseline=None
) -> list:
    """Each method's remainder for a period ``[start, end)`` as of each of ``days``: one dict
    per day (``period_start, as_of, day_of_period, days_left, period_to_date, open_deals,
    remainder_<method>``, and how the statistical forecast and the win probabilities were made).
    ``baseline``: the study's baseline forecast of the same months, reused when it fits
    (:func:`baseline_months`) instead of fitting the models again."""
    s, e = _ts(start), _ts(end)
    monthly = inputs.monthly[inputs.monthly.index < s]
    season = seasonality(monthly)[0] if len(monthly) else None
    shares = day_shares(s, e, weekday_factors(inputs.daily, s))
    weights = shares * season_factors(shares.index, season)
    month_fc, stat_how = baseline_months(baseline, s, e)
    if month_fc is None:
        month_fc, stat_how = statistical_months(inputs.monthly, s, e, inputs.first_day)
    scored = _open_deals(inputs, win, days)
    out = []
    for day in days:
        d = _ts(day)
        ptd = float(inputs.daily[(inputs.daily.index >= s) & (inputs.daily.index <= d)].sum())
        days_left = (e - d).days - 1
        pipe, n_open, expected_open = _pipeline_remainder(inputs, win, d, days_left, scored)
        out.append(
            dict(
                period_start=s,
                as_of=d,
                day_of_period=(d - s).days + 1,
                days_left=days_left,
                period_to_date=ptd,
                remainder_run_rate=run_rate_remainder(ptd, weights, d),
                remainder_pipeline=pipe,
                remainder_statistical=statistical_remainder(month_fc, shares, d),
                open_deals=n_open,
                expected_open_won=expected_open,
                statistical_method=stat_how if month_fc is not None else None,
                statistical_note=None if month_fc is not None else stat_how,
                win_basis=win.basis if win is not None else None,
                seasonal=season is not None,
            )
        )
    return out


# --------------------------------------------------------------------------- backtest
def backtest_quarters(as_of, first_day, n: int = BACKTEST_QUARTERS, like: Period | None = None):
    """The last ``n`` quarters complete on ``as_of`` that the data covers from their first day
    (the fiscal quarters of ``like`` when it is one, else calendar quarters), oldest first.

    >>> [q.label for q in backtest_quarters("2026-08-15", "2025-10-01")]
    ['2025-Q4', '2026-Q1', '2026-Q2']
    """
    day = _ts(as_of).date()
    q = like if like is not None and like.kind == "quarter" else parse_period(quarter_of(day))
    while q.last_day > day:
        q = q.previous()
    out = []
    first = _ts(first_day).date()
    while len(out) < n and q.start >= first:
        out.append(q)
        q = q.previous()
    return out[::-1]


def checkpoint_days(start, checkpoints=CHECKPOINT_DAYS) -> list[pd.Timestamp]:
    """The days of a quarter the backtest forecasts from (the 15th day is start + 14)."""
    return [_ts(start) + pd.Timedelta(days=c - 1) for c in checkpoints]


def _snapshot_dates(origins, horizons: dict, anchor, first, train_days: int) -> list:
    """The snapshot grid (every ``SNAPSHOT_DAYS`` back from ``anchor``) within the training
    windows the period starts in ``origins`` need."""
    grid = dm.snapshot_dates(anchor, first, SNAPSHOT_DAYS)
    keep = set()
    for o in origins:
        hi = _ts(o) - pd.Timedelta(days=1 + horizons[_ts(o)])
        keep |= {g for g in grid if hi - pd.Timedelta(days=train_days) < g <= hi}
    return sorted(keep)


def prepare_pipeline(inputs: LandingInputs, origins, days, anchor) -> LandingInputs:
    """Add the deals study's snapshot rows (with features) on every day the landings need:
    the training grid of each period start in ``origins`` and the ``days`` forecast from."""
    if inputs.deals is None or inputs.deals.empty:
        return inputs
    deals, history = inputs.deals, inputs.history
    closed = deals[deals["status"].isin([dm.WON, dm.LOST]) & deals["close_date"].notna()]
    horizons = {}
    for o in origins:
        cut = _ts(o) - pd.Timedelta(days=1)
        before = closed[pd.to_datetime(closed["close_date"]) <= cut]
        horizons[_ts(o)] = dm.resolution_days(before, cut) if len(before) else 7
    created = pd.to_datetime(deals["created_date"]).dropna()
    first = created.min() if len(created) else _ts(anchor)
    grid = _snapshot_dates(origins, horizons, anchor, first, TRAIN_DAYS)
    dates = grid + [_ts(d) for d in days]
    snaps = dm.deal_snapshots(deals, history, sorted(set(dates)))
    rows = dm.add_features(snaps, deals, PRIOR_WEIGHT, REP_WINDOW_DAYS) if len(snaps) else None
    won = deals[deals["status"] == dm.WON][["status", "created_date", "close_date", "amount"]]
    return replace(
        inputs, pipeline_rows=rows, horizons=horizons, won=won, train_dates=frozenset(grid)
    )


def landing_backtest(inputs: LandingInputs, quarters, checkpoints=CHECKPOINT_DAYS) -> pd.DataFrame:
    """Each method's landing for each quarter as of each checkpoint day, with the actual total.

    Returns one row per quarter x checkpoint: ``quarter, checkpoint`` (day of the quarter),
    the columns of :func:`period_points`, ``actual_total`` and ``landing_<method>``
    (period-to-date + remainder). Empty without quarters.
    """
    rows = []
    for q in quarters:
        s = _ts(q.start)
        win = _win_for(inputs, s)
        pts = period_points(inputs, q.start, q.end, checkpoint_days(s, checkpoints), win)
        actual = float(
            inputs.daily[(inputs.daily.index >= s) & (inputs.daily.index < _ts(q.end))].sum()
        )
        for c, p in zip(checkpoints, pts, strict=True):
            rows.append(dict(quarter=q.label, checkpoint=int(c), **p, actual_total=actual))
    bt = pd.DataFrame(rows)
    if bt.empty:
        return bt
    for m in METHODS:
        bt[f"landing_{m}"] = bt["period_to_date"] + bt[f"remainder_{m}"]
    return bt


def _win_for(inputs: LandingInputs, start) -> WinBasis | None:
    if inputs.pipeline_rows is None or inputs.deals is None:
        return None
    h = inputs.horizons.get(_ts(start), 7)
    rows = inputs.pipeline_rows
    if inputs.train_dates:  # the grid only: the days forecast from are not training snapshots
        rows = rows[rows["ref_date"].isin(inputs.train_dates)]
    return win_basis(rows, inputs.deals, start, h)


# --------------------------------------------------------------------------- combination
def _errors(frame: pd.DataFrame) -> pd.DataFrame:
    """Landing / actual - 1 per method (NaN where the actual is not positive)."""
    actual = frame["actual_total"].where(frame["actual_total"] > 0)
    return pd.DataFrame({m: frame[f"landing_{m}"] / actual - 1 for m in METHODS}, index=frame.index)


def rule_weights(errors: pd.DataFrame, available, rule: str) -> dict:
    """Weights of the ``available`` methods under a combination ``rule``, from the landing
    errors (``errors``: one column per method) of earlier forecasts at the same point.

    ``equal``: the same weight each; ``best``: all on the method with the lowest mean absolute
    error; ``inverse_error``: 1 / mean squared error, normalised. A rule without scores for any
    available method falls back to ``equal``.

    >>> e = pd.DataFrame({"run_rate": [0.1, -0.1], "pipeline": [0.2, 0.2], "statistical": [0.0, 0.0]})
    >>> rule_weights(e, ["run_rate", "pipeline"], "inverse_error")
    {'run_rate': 0.8, 'pipeline': 0.2}
    >>> rule_weights(e, ["run_rate", "pipeline"], "best")
    {'run_rate': 1.0, 'pipeline': 0.0}
    """
    available = list(available)
    if not available:
        return {}
    scores = {}
    for m in available:
        col = errors[m].dropna() if m in errors else pd.Series(dtype="float64")
        if len(col):
            scores[m] = (
                float((col**2).mean()) if rule == "inverse_error" else float(col.abs().mean())
            )
    if rule == "equal" or not scores:
        return {m: 1.0 / len(available) for m in available}
    if rule == "best":
        best = min(scores, key=lambda m: (scores[m], METHODS.index(m)))
        return {m: float(m == best) for m in available}
    exact = [m for m in scores if scores[m] == 0]  # a method never wrong takes it all
    inv = {m: float(m in exact) for m in exact} or {m: 1.0 / scores[m] for m in scores}
    total = sum(inv.values())
    return {m: round(inv.get(m, 0.0) / total, 12) for m in available}


def _combined(row: pd.Series, weights: dict) -> float:
    if not weights:
        return float("nan")
    return float(sum(w * row[f"remainder_{m}"] for m, w in weights.items() if w))


def _available(row: pd.Series) -> list:
    return [m for m in METHODS if _finite(row[f"remainder_{m}"])]


def _loqo(bt: pd.DataFrame, errors: pd.DataFrame, rule: str) -> pd.Series:
    """Each point's combined remainder, weighted from the other quarters at the same point."""
    out = pd.Series(np.nan, index=bt.index)
    for i, row in bt.iterrows():
        others = (bt["checkpoint"] == row["checkpoint"]) & (bt["quarter"] != row["quarter"])
        out[i] = _combined(row, rule_weights(errors[others], _available(row), rule))
    return out


def _mape(landing: pd.Series, actual: pd.Series) -> float:
    ok = (actual > 0) & landing.notna()
    return float((landing[ok] / actual[ok] - 1).abs().mean()) if ok.any() else float("nan")


def _sigmas(bt: pd.DataFrame, combined: pd.Series, checkpoints) -> dict:
    """Root mean square log error of the combined remainder per checkpoint (pooled, or the
    default, with under ``MIN_SIGMA_POINTS`` points)."""
    actual_rem = bt["actual_total"] - bt["period_to_date"]
    ok = (actual_rem > 0) & (combined > 0)
    logs = np.log(actual_rem[ok] / combined[ok])
    pooled = (
        max(float(np.sqrt((logs**2).mean())), MIN_SIGMA)
        if len(logs) >= MIN_SIGMA_POINTS
        else DEFAULT_SIGMA
    )
    out = {}
    for c in checkpoints:
        at = logs[bt.loc[logs.index, "checkpoint"] == c]
        out[int(c)] = (
            max(float(np.sqrt((at**2).mean())), MIN_SIGMA)
            if len(at) >= MIN_SIGMA_POINTS
            else pooled
        )
    return out


@dataclass
class Combination:
    """The combination rule the backtest chose and what it measured."""

    rule: str
    backtest: pd.DataFrame  # landing_backtest + landing_combined (leave-one-quarter-out), error_pct
    rule_mape: dict  # rule -> leave-one-quarter-out mean absolute % error
    sigmas: dict  # checkpoint -> log-scale spread of the remainder
    checkpoints: tuple = CHECKPOINT_DAYS

    @property
    def mape(self) -> float:
        return self.rule_mape.get(self.rule, float("nan"))

    @property
    def label(self) -> str:
        return RULE_LABELS[self.rule]

    def weights(self, checkpoint: int, available) -> dict:
        """The rule's weights at a checkpoint, from every backtest quarter."""
        bt = self.backtest
        return rule_weights(_errors(bt)[bt["checkpoint"] == checkpoint], available, self.rule)

    def method_errors(self) -> pd.DataFrame:
        """Mean absolute % error per checkpoint of each method and of the combination
        (``checkpoint, <method>..., combined, points``), with an ``all`` row."""
        bt = self.backtest
        errs = _errors(bt).assign(combined=bt["error_pct"]).abs()
        by = errs.groupby(bt["checkpoint"]).mean()
        by.loc["all"] = errs.mean()
        by[_("points")] = list(bt.groupby("checkpoint").size()) + [len(bt)]
        by.index = [_("day {n}").format(n=c) if c != "all" else _("all points") for c in by.index]
        short = {m: _(METHOD_SHORT[m]) for m in METHODS} | {"combined": _("Combined")}
        return by.rename(columns=short).rename_axis(_("as of")).reset_index()


def combine(bt: pd.DataFrame, checkpoints=CHECKPOINT_DAYS) -> Combination | None:
    """Score the combination rules leave-one-quarter-out on the backtest and keep the one
    with the lowest mean absolute % error (ties: the simpler rule, in ``RULES`` order).
    None when the backtest has no point with a positive actual total."""
    if bt.empty or not (bt["actual_total"] > 0).any():
        return None
    errors = _errors(bt)
    combos = {r: _loqo(bt, errors, r) for r in RULES}
    scores = {r: _mape(bt["period_to_date"] + c, bt["actual_total"]) for r, c in combos.items()}
    finite = {r: v for r, v in scores.items() if _finite(v)}
    if not finite:
        return None
    rule = min(finite, key=lambda r: (round(finite[r], 12), RULES.index(r)))
    out = bt.copy()
    out["landing_combined"] = out["period_to_date"] + combos[rule]
    actual = out["actual_total"].where(out["actual_total"] > 0)
    out["error_pct"] = out["landing_combined"] / actual - 1
    return Combination(
        rule, out, scores, _sigmas(bt, combos[rule], checkpoints), tuple(checkpoints)
    )


# --------------------------------------------------------------------------- the landing
@dataclass
class Landing:
    """Where a running period lands: period-to-date + the combined remainder, with an interval."""

    period: Period
    point: dict  # period_points row of the day
    weights: dict  # method -> weight (0 for a method left out)
    rule: str
    checkpoint: int
    sigma: float
    level: float = 0.8

    @property
    def period_to_date(self) -> float:
        return float(self.point["period_to_date"])

    @property
    def remainder(self) -> float:
        return _combined(pd.Series(self.point), self.weights)

    @property
    def total(self) -> float:
        return self.period_to_date + self.remainder

    def _bounds(self) -> tuple[float, float]:
        z = float(stats.norm.ppf(0.5 + self.level / 2))
        r = self.remainder
        a, b = r * math.exp(-z * self.sigma), r * math.exp(z * self.sigma)
        return self.period_to_date + min(a, b), self.period_to_date + max(a, b)

    @property
    def low(self) -> float:
        return self._bounds()[0]

    @property
    def high(self) -> float:
        return self._bounds()[1]

    @property
    def method(self) -> str:
        used = [m for m, w in self.weights.items() if w > 0]
        if self.rule == "best" or len(used) == 1:
            return METHOD_LABELS[used[0]].lower() if used else "none"
        return RULE_SHORT[self.rule]

    def prob_at_least(self, target: float) -> float:
        """P(the period total reaches ``target``): the remainder log-normal around its forecast."""
        need = float(target) - self.period_to_date
        if need <= 0:
            return 1.0
        return fcm.prob_at_least(need, self.remainder, self.sigma)

    def table(self) -> pd.DataFrame:
        """One row per method and the combination: ``method, remainder, landing, weight``."""
        rows = [
            dict(
                method=_(METHOD_LABELS[m]),
                remainder=self.point[f"remainder_{m}"],
                landing=self.period_to_date + self.point[f"remainder_{m}"],
                weight=self.weights.get(m, 0.0),
            )
            for m in METHODS
        ]
        rows.append(
            dict(method=_("Combined"), remainder=self.remainder, landing=self.total, weight=1.0)
        )
        return pd.DataFrame(rows)


def nearest_checkpoint(day_of_period: int, period_days: int, checkpoints=CHECKPOINT_DAYS) -> int:
    """The backtest checkpoint at the same fraction of a quarter as ``day_of_period`` is of
    the period.

    >>> nearest_checkpoint(46, 92), nearest_checkpoint(10, 30), nearest_checkpoint(300, 365)
    (45, 45, 75)
    """
    frac = day_of_period / max(period_days, 1)
    return min(checkpoints, key=lambda c: abs(c / QUARTER_DAYS - frac))


def landing_for(point: dict, period: Period, combo: Combination | None, level: float = 0.8):
    """The landing of a running period from its :func:`period_points` row and the backtest's
    combination (the mean of the methods and the default spread without one). None when no
    method gives a remainder."""
    row = pd.Series(point)
    available = _available(row)
    if not available:
        return None
    cp = nearest_checkpoint(int(point["day_of_period"]), period.days)
    if combo is None:
        weights, rule, sigma = (
            rule_weights(pd.DataFrame(), available, "equal"),
            "equal",
            DEFAULT_SIGMA,
        )
    else:
        weights, rule, sigma = combo.weights(cp, available), combo.rule, combo.sigmas[cp]
    weights = {m: float(weights.get(m, 0.0)) for m in METHODS}
    return Landing(period, point, weights, rule, cp, sigma, level)


# --------------------------------------------------------------------------- the study's call
@dataclass
class LandingStudy:
    """The landing section: the running period's landing (None when no period is running)
    and the backtest that chose its combination."""

    period: Period  # the period planned
    as_of: pd.Timestamp
    running: bool
    landing: Landing | None
    combination: Combination | None
    backtest: pd.DataFrame
    quarters: list
    notes: list = field(default_factory=list)

    @property
    def mape(self) -> float:
        return self.combination.mape if self.combination is not None else float("nan")


def known_to(data_last, as_of=None) -> pd.Timestamp | None:
    """The last day the study knows: the last order date, or ``as_of`` when that is earlier.

    >>> str(known_to("2026-09-30", "2026-08-15").date()), known_to(None)
    ('2026-08-15', None)
    """
    if data_last is None or pd.isna(data_last):
        return None
    last = _ts(data_last)
    return min(last, _ts(as_of)) if as_of is not None else last


def running_day(period: Period, known_to) -> pd.Timestamp | None:
    """The day a period is running on (the last day with data, ``known_to``), or None when
    it has not started or is over by then.

    >>> from salesnb.model.periods import parse_period
    >>> q3 = parse_period("2026-Q3")
    >>> running_day(q3, "2026-08-15").date(), running_day(q3, "2026-09-30"), running_day(q3, "2026-06-30")
    (datetime.date(2026, 8, 15), None, None)
    """
    if known_to is None or period.kind == "all":
        return None
    d = _ts(known_to)
    return d if period.start <= d.date() < period.last_day else None


def landing_study(
    period: Period,
    known_to,
    inputs: LandingInputs,
    quarters: int = BACKTEST_QUARTERS,
    level: float = 0.8,
    baseline=None,
) -> LandingStudy:
    """The landing of ``period`` when it is running on ``known_to`` and the backtest over the
    last ``quarters`` quarters complete by then (:func:`landing_backtest`, :func:`combine`).
    ``baseline``: the study's baseline forecast of ``period`` (its models are not refitted)."""
    day = running_day(period, known_to)
    as_of = _ts(known_to)
    qs = backtest_quarters(as_of, inputs.first_day, quarters, like=period)
    origins = [_ts(q.start) for q in qs] + ([_ts(period.start)] if day is not None else [])
    days = [d for q in qs for d in checkpoint_days(q.start)] + ([day] if day is not None else [])
    inputs = prepare_pipeline(inputs, origins, days, as_of)
    bt = landing_backtest(inputs, qs)
    combo = combine(bt)
    landing = None
    if day is not None:
        win = _win_for(inputs, period.start)
        point = period_points(inputs, period.start, period.end, [day], win, baseline)[0]
        landing = landing_for(point, period, combo, level)
    notes = _method_notes(inputs, bt, landing)
    return LandingStudy(period, as_of, day is not None, landing, combo, bt, qs, notes)


def landing_inputs(src, filters, known_to, monthly=None, first=None) -> LandingInputs:
    """What the landing of a scope reads, as the targets study and the executive dashboard
    both read it: revenue per day from ``first`` (default: the first order) to ``known_to``,
    the complete months (``monthly``: default the scope's monthly revenue through
    ``known_to``), and the deals and stage entries as known at ``known_to``.
    ``filters``' period is ignored (the landing reads the whole history)."""
    from salesnb.queries import targets as qt  # queries sit below metrics (layers)

    if first is None:
        first = qt.data_span(src)[0]
    if monthly is None:
        monthly = qt.complete_months(fcm.monthly_series(qt.monthly_revenue(src, filters)), known_to)
    return LandingInputs(
        qt.daily_revenue(src, filters, first, known_to),
        monthly,
        first,
        *(qt.pipeline_frames(src, filters, known_to) or (None, None)),
    )


def scope_landing(src, filters, period: Period, as_of=None, target=None) -> dict:
    """The landing headline figures (:func:`headline_figures`: ``period_to_date,
    landing_forecast, landing_low, landing_high, landing_method, gap_to_target``...) of
    ``period`` for the scope of ``filters`` on the warehouse ``src``, known to the last order
    date or ``as_of`` when earlier (:func:`known_to`), against ``target``; ``{}`` when the
    period is not running then or nothing is known. The same composition as the targets
    study's (:func:`landing_inputs`, :func:`landing_study` with the default backtest and 80 %
    interval), so the executive dashboard shows the study's figures."""
    from salesnb.queries import targets as qt

    first, last = qt.data_span(src)
    day = known_to(last, as_of)
    if first is None or running_day(period, day) is None:
        return {}
    study = landing_study(period, day, landing_inputs(src, filters, day, first=first))
    return headline_figures(study, quota=target)


def _method_notes(inputs: LandingInputs, bt: pd.DataFrame, landing: Landing | None) -> list:
    """Why a method is missing from the landing or the backtest (one line each)."""
    notes = []
    if inputs.deals is None:
        notes.append(
            _("the open pipeline method needs the opportunities table, not in this warehouse")
        )
    elif landing is not None and not _finite(landing.point["remainder_pipeline"]):
        notes.append(
            _(
                "the open pipeline method is not computable: no deal was won in the last year to "
                "turn won amounts into order revenue, or no deal had closed to give a win "
                "probability"
            )
        )
    if landing is not None and landing.point.get("statistical_note"):
        notes.append(
            _("the statistical forecast is not computable: {why}").format(
                why=landing.point["statistical_note"]
            )
        )
    return notes


# --------------------------------------------------------------------------- words
def _money(x, currency: str) -> str:
    return short_money(x, currency, missing=_("not computable"))


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _semicolon() -> str:
    return "; " if language() == "en" else "；"


def _stop() -> str:
    return "." if language() == "en" else "。"


def _sentence(note: str) -> str:
    """A note as a sentence: its first letter capitalised, a full stop (。 in Chinese)."""
    if language() == "en":
        return f"{note[0].upper()}{note[1:]}."
    return f"{note}。"


def landing_markdown(
    study: LandingStudy, currency: str = "USD", target=None, target_basis: str = "target"
) -> str:
    """The landing in two or three sentences (or why no period is running); with a ``target``
    for the period (:func:`landing_target`), the gap to it and the chance of reaching it."""
    if study.landing is None:
        if study.running:
            return _("**No landing for {period}**: no method gives a remainder ({why}).").format(
                period=period_label(str(study.period)), why=_semicolon().join(study.notes)
            )
        text = (
            _(
                "**No period running on {day}**: the period planned, {period} ({start} – {end}), "
                "has not started then, so there is no landing to forecast. Below: how accurate "
                "the landing forecast has been, for when one runs."
            )
            if study.period.start > study.as_of.date()
            else _(
                "**No period running on {day}**: the period planned, {period} ({start} – {end}), "
                "is not running then, so there is no landing to forecast. Below: how accurate "
                "the landing forecast has been, for when one runs."
            )
        )
        return text.format(
            day=_day(study.as_of),
            period=period_label(str(study.period)),
            start=_day(study.period.start),
            end=_day(study.period.last_day),
        )
    ld = study.landing
    p = ld.point
    out = [
        _(
            "**{period} lands at {total}** ({level} interval {low} – {high}): {to_date} to date "
            "(day {day} of {days}, as of {as_of}) plus an expected {remainder} in the "
            "{days_left} days left."
        ).format(
            period=period_label(str(study.period)),
            total=_money(ld.total, currency),
            level=f"{ld.level:.0%}",
            low=_money(ld.low, currency),
            high=_money(ld.high, currency),
            to_date=_money(ld.period_to_date, currency),
            day=p["day_of_period"],
            days=study.period.days,
            as_of=_day(study.as_of),
            remainder=_money(ld.remainder, currency),
            days_left=p["days_left"],
        )
        + _gap_sentence(ld, target, target_basis, currency),
        _combination_sentence(ld, study.combination is not None),
    ]
    if p.get("win_basis") and _finite(p["remainder_pipeline"]):
        out[-1] += _("; win probabilities from {basis}").format(basis=p["win_basis"])
    out[-1] += _stop()
    out += [f"- {_sentence(n)}" for n in study.notes]
    return "\n\n".join(out)


def _combination_sentence(ld: Landing, backtested: bool) -> str:
    """Which methods the landing rests on, and why."""
    used = {m: w for m, w in ld.weights.items() if w > 0}
    if not backtested:
        return _("Combination: the mean of the methods (no backtest to choose a rule from)")
    why = _("the combination rule the backtest below chose")
    if len(used) == 1:
        (m,) = used
        what = (
            _("the best method at this point of the period")
            if ld.rule == "best"
            else _("the only method")
        )
        return _("Combination: the {method} alone, {what} ({why})").format(
            method=_(METHOD_LABELS[m]).lower(), what=what, why=why
        )
    parts = _comma().join(f"{_(METHOD_SHORT[m]).lower()} {w:.0%}" for m, w in used.items())
    return _("Combination: the {rule} — {parts} ({why})").format(
        rule=_(RULE_SHORT[ld.rule]), parts=parts, why=why
    )


def _chance(p: float) -> str:
    """A probability in words a manager reads (no "0 %" for a tiny one).

    >>> _chance(1e-9), _chance(0.4), _chance(0.9999)
    ('under 1%', '40%', 'over 99%')
    """
    if p < 0.005:
        return _("under 1%")
    if p > 0.995:
        return _("over 99%")
    return percent(p, decimals=0)


def _gap_sentence(ld: Landing, target, basis: str, currency: str) -> str:
    if not (_finite(target) and target > 0):
        return ""
    gap = ld.total - float(target)
    text = (
        _(" That is {gap} short of the {basis} of {target}; the chance of reaching it is {chance}.")
        if gap < 0
        else _(
            " That is {gap} above the {basis} of {target}; the chance of reaching it is {chance}."
        )
    )
    return text.format(
        gap=_money(abs(gap), currency),
        basis=_(basis),
        target=_money(target, currency),
        chance=_chance(ld.prob_at_least(float(target))),
    )


def backtest_markdown(study: LandingStudy) -> str:
    """What the backtest measured and which rule it chose (or why there is none)."""
    c = study.combination
    if c is None:
        return _(
            "**No landing backtest**: no quarter complete by {day} is covered by the data from "
            "its first day. A full quarter of orders (and its predecessors for the models) would "
            "fill it; meanwhile the landing is the mean of the methods with a ±{sigma} spread."
        ).format(day=_day(study.as_of), sigma=f"{DEFAULT_SIGMA:.0%}")
    others = _comma().join(
        f"{_(RULE_SHORT[r])} {percent(v)}" for r, v in c.rule_mape.items() if r != c.rule
    )
    return _(
        "Backtest over {n} quarter(s) ({first} – {last}), as of day {days}: **landing error "
        "{mape}** (mean absolute, {points} points), each point combined with weights from the "
        "other quarters only. The combination rule is **{rule}**, the lowest error of the three "
        "rules tried ({others})."
    ).format(
        n=len(study.quarters),
        first=period_label(str(study.quarters[0])),
        last=period_label(str(study.quarters[-1])),
        days=_comma().join(str(x) for x in c.checkpoints),
        mape=percent(c.mape),
        points=len(c.backtest),
        rule=_(c.label),
        others=others,
    )


def backtest_pivot(combo: Combination) -> pd.DataFrame:
    """Combined landing error per quarter (rows) and checkpoint day (columns)."""
    bt = combo.backtest
    pv = bt.pivot(index="quarter", columns="checkpoint", values="error_pct")
    pv.columns = [_("day {n}").format(n=c) for c in pv.columns]
    return pv.reset_index().rename(columns={"quarter": _("quarter")})


def landing_target(quota: float | None = None, proposed: float | None = None) -> tuple:
    """The target a landing is measured against: the quota set for the period when there is
    one, else the target the study proposes; ``(amount, basis)``, ``(None, None)`` without.

    >>> landing_target(None, 120.0), landing_target(100.0, 120.0)
    ((120.0, 'proposed target'), (100.0, 'quota'))
    """
    if _finite(quota) and quota > 0:
        return float(quota), "quota"
    if _finite(proposed) and proposed > 0:
        return float(proposed), "proposed target"
    return None, None


def headline_figures(study: LandingStudy, quota=None, proposed=None) -> dict:
    """The landing's headline keys: ``period_to_date, landing_forecast, landing_low,
    landing_high, landing_method, gap_to_target`` (landing - the quota, else the proposed
    target: :func:`landing_target`) while a period runs; ``landing_mape`` and ``landing_rule``
    (the combination rule chosen) when the backtest has points. Figures that cannot be
    computed are left out."""
    target, target_basis = landing_target(quota, proposed)
    out = {}
    if _finite(study.mape):
        out["landing_mape"] = study.mape
        out["landing_rule"] = RULE_SHORT[study.combination.rule]
    ld = study.landing
    if ld is None:
        return out
    out.update(
        landing_period=study.period.label,
        landing_as_of=str(study.as_of.date()),
        period_to_date=ld.period_to_date,
        landing_forecast=ld.total,
        landing_low=ld.low,
        landing_high=ld.high,
        landing_method=ld.method,
        landing_interval_level=ld.level,
    )
    for m in METHODS:
        if _finite(ld.point[f"remainder_{m}"]):
            out[f"landing_{m}"] = ld.period_to_date + ld.point[f"remainder_{m}"]
    if _finite(target) and target > 0:
        out.update(
            gap_to_target=ld.total - float(target),
            landing_target=float(target),
            landing_target_basis=target_basis,
            landing_prob_target=ld.prob_at_least(float(target)),
        )
    return {
        k: v for k, v in out.items() if v is not None and (not isinstance(v, float) or _finite(v))
    }


def landing_actions(figures: dict, currency: str = "USD") -> list[str]:
    """What-to-do bullets from :func:`headline_figures`."""
    if "landing_forecast" not in figures:
        return []
    f = figures
    head = _("- **{period} is landing at {total}** ({low} – {high})").format(
        period=period_label(str(f["landing_period"])),
        total=_money(f["landing_forecast"], currency),
        low=_money(f["landing_low"], currency),
        high=_money(f["landing_high"], currency),
    )
    if "gap_to_target" not in f:
        return [head + _("; no target to compare it with.")]
    gap, p = f["gap_to_target"], f["landing_prob_target"]
    basis = _(f.get("landing_target_basis") or "target")
    if gap < 0:
        return [
            _(
                "{head}, {gap} short of its {basis} ({change}; {chance} chance of reaching it). "
                "Close the gap with the deals expected to close soonest, or reset expectations "
                "now rather than at quarter end."
            ).format(
                head=head,
                gap=_money(abs(gap), currency),
                basis=basis,
                change=change(gap / f["landing_target"]),
                chance=_chance(p),
            )
        ]
    return [
        _(
            "{head}, {gap} above its {basis} ({chance} chance of reaching it): keep the pace."
        ).format(head=head, gap=_money(abs(gap), currency), basis=basis, chance=_chance(p))
    ]


__all__ = [
    "BACKTEST_QUARTERS",
    "CHECKPOINT_DAYS",
    "Combination",
    "Landing",
    "LandingInputs",
    "LandingStudy",
    "METHODS",
    "METHOD_LABELS",
    "METHOD_SHORT",
    "RULES",
    "RULE_LABELS",
    "RULE_SHORT",
    "WinBasis",
    "backtest_markdown",
    "backtest_pivot",
    "backtest_quarters",
    "baseline_months",
    "checkpoint_days",
    "combine",
    "day_shares",
    "headline_figures",
    "known_to",
    "landing_actions",
    "landing_backtest",
    "landing_for",
    "landing_markdown",
    "landing_study",
    "landing_target",
    "nearest_checkpoint",
    "new_deal_value",
    "period_points",
    "prepare_pipeline",
    "revenue_per_won",
    "rule_weights",
    "sample_deals",
    "run_rate_remainder",
    "running_day",
    "season_factors",
    "statistical_months",
    "statistical_remainder",
    "weekday_factors",
    "win_basis",
]
