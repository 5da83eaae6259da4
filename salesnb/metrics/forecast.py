"""Baseline revenue forecasting from monthly history (target setting, dashboards, incentives).

The forecaster compares a few statsmodels models by a rolling-origin backtest and
forecasts with the combination of them, unless the backtest shows one model clearly
better (at most half the combination's error, :func:`choose_model`); the candidates are

- ``snaive``  seasonal naive: each month repeats the same month a year earlier;
- ``ets``     exponential smoothing (statsmodels ``ETSModel``: multiplicative error
  and season, damped additive trend);
- ``theta``   the Theta method (statsmodels ``ThetaModel``, the M3 competition winner);
- ``sarima``  the "airline" SARIMA(0,1,1)(0,1,1)12 on log revenue (statsmodels ``SARIMAX``);
- ``combo``   the mean of ``ets``, ``theta`` and ``sarima`` (combinations of
  forecasts beat single methods on the M3/M4 competitions).

Models that cannot be fitted on a short history (ETS and SARIMA need two full
years) fall back to the next simpler one, so a forecast always comes back.

Short histories (:func:`baseline_or_note` picks the method and says why on the page):

- under a year (3 to 11 complete months): no season can be told from a trend, so the
  candidates are non-seasonal (``SHORT_MODELS``): ``mean`` of the available months,
  ``drift`` (the last month plus the average monthly change), ``ses`` (ETS without
  trend or season) and ``combo_ns``, their mean; backtested the same way when the
  history allows one origin, and the interval never narrower than 15 %;
- one or two months (or a few days): a naive baseline, the run rate of the days
  observed scaled to the days of the period (:func:`naive_forecast`), without an
  interval — too little history to measure an error;
- nothing before the period: no forecast, a note saying what would fill it.

Uncertainty: the forecast of a period total is log-normal around the point
forecast. Its log-scale spread ``sigma`` is the larger of (a) the spread of the
period total in 1,000 seeded simulations of the SARIMA model and (b) the
root-mean-square log error of the chosen model's period totals in the backtest,
so the interval is never narrower than the errors the model actually made.
The log-normal and the sigma combination are written by hand because
statsmodels gives per-month intervals, not intervals of a multi-month sum.

Example (``frame`` has one row per month with ``month`` and ``revenue``)::

    y = monthly_series(frame, date_col="month", value_col="revenue")
    fc = baseline_forecast(y, start="2026-07-01", end="2026-10-01")
    fc.total, fc.low, fc.high, fc.best_model, fc.prob_at_least(1.2e8)
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable, Sequence
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np
import pandas as pd
from scipy import stats

from salesnb.errors import FitError
from salesnb.i18n import N_, _, date_label, language

SEASON = 12
MIN_MONTHS = 3  # fewest complete months a model is fitted on (below: the naive baseline)
COMBO_PARTS = ("ets", "theta", "sarima")
SHORT_COMBO_PARTS = ("mean", "drift", "ses")
COMBOS = {"combo": COMBO_PARTS, "combo_ns": SHORT_COMBO_PARTS}
DEFAULT_MODELS = ("snaive", "ets", "theta", "sarima", "combo")
SHORT_MODELS = ("mean", "drift", "ses", "combo_ns")  # under a year of history: no season
SHORT_MIN_SIGMA = 0.15  # no forecast from under a year is known to within 15 %
MODEL_LABELS = {
    "snaive": N_("Seasonal naive"),
    "ets": N_("Exponential smoothing (ETS)"),
    "theta": N_("Theta"),
    "sarima": N_("SARIMA (airline, log)"),
    "combo": N_("Combination (mean of ETS, Theta, SARIMA)"),
    "mean": N_("Mean of the available months"),
    "drift": N_("Drift (last month + average monthly change)"),
    "ses": N_("ETS without trend or season"),
    "combo_ns": N_("Combination (mean of the mean, drift and ETS without season)"),
    "naive": N_("Naive run rate (revenue per day observed x days in the period)"),
}


def _openblas_handles() -> list:
    """(get, set) thread-count functions of the OpenBLAS copies numpy and scipy bundle."""
    import ctypes
    import glob
    import os

    import scipy

    found = []
    for pkg in (np, scipy):
        libs = os.path.join(os.path.dirname(os.path.dirname(pkg.__file__)), f"{pkg.__name__}.libs")
        for path in glob.glob(os.path.join(libs, "*openblas*.so*")):
            try:
                lib = ctypes.CDLL(path)
            except OSError:
                continue
            for suffix in ("64_", "", "_64_"):
                get = getattr(lib, f"scipy_openblas_get_num_threads{suffix}", None)
                put = getattr(lib, f"scipy_openblas_set_num_threads{suffix}", None)
                if get is not None and put is not None:
                    found.append((get, put))
                    break
    return found


_BLAS = None


@contextmanager
def _single_thread_blas():
    # statsmodels' state-space filter makes thousands of tiny BLAS calls; with OpenBLAS
    # threads they ran 20x slower on a busy 2-core machine (measured: 0.3 s -> 7 s CPU per
    # SARIMA fit). threadpoolctl is not a dependency, so the bundled OpenBLAS is asked directly.
    global _BLAS
    if _BLAS is None:
        try:
            _BLAS = _openblas_handles()
        except Exception:  # noqa: BLE001 - no OpenBLAS found: run as is
            _BLAS = []
    before = []
    try:
        for get, put in _BLAS:
            before.append((put, int(get())))
            put(1)
    except Exception:  # noqa: BLE001
        pass
    try:
        yield
    finally:
        for put, n in before:
            try:
                put(n)
            except Exception:  # noqa: BLE001
                pass


@contextmanager
def _quiet():
    # statsmodels warns about convergence and short samples on every small fit;
    # the backtest, not the warnings, tells whether a model is any good.
    with warnings.catch_warnings(), _single_thread_blas():
        warnings.simplefilter("ignore")
        with np.errstate(all="ignore"):
            yield


def monthly_series(
    frame: pd.DataFrame, date_col: str = "month", value_col: str = "revenue", start=None, end=None
) -> pd.Series:
    """A gap-free month-start series (missing months are 0) from a month x value frame.

    ``start``/``end`` (end exclusive) extend or cut the range. Example::

        >>> monthly_series(pd.DataFrame({"month": ["2024-01-01", "2024-03-01"], "revenue": [1, 3]}))
        2024-01-01    1.0
        2024-02-01    0.0
        2024-03-01    3.0
        Freq: MS, Name: revenue, dtype: float64
    """
    missing = [c for c in (date_col, value_col) if c not in frame.columns]
    if missing:
        raise ValueError(f"monthly_series: missing column(s) {', '.join(missing)}")
    months = pd.to_datetime(frame[date_col]).dt.to_period("M").dt.to_timestamp()
    s = (
        pd.Series(frame[value_col].astype("float64").to_numpy(), index=months)
        .groupby(level=0)
        .sum()
    )
    if s.empty and start is None:
        return pd.Series([], dtype="float64", index=pd.DatetimeIndex([], freq="MS"), name=value_col)
    first = pd.Timestamp(start) if start is not None else s.index.min()
    last = (pd.Timestamp(end) - pd.offsets.MonthBegin(1)) if end is not None else s.index.max()
    idx = pd.date_range(first, last, freq="MS")
    out = s.reindex(idx, fill_value=0.0)
    out.index.freq = "MS"
    out.name = value_col
    return out


# --------------------------------------------------------------------------- models
def _positive(y: np.ndarray) -> bool:
    return bool(np.all(y > 0))


def snaive(y: np.ndarray, h: int) -> np.ndarray:
    """Seasonal naive: month t+k repeats month t+k-12 (the last value when under a year)."""
    y = np.asarray(y, dtype="float64")
    if len(y) < SEASON:
        return np.repeat(y[-1], h)
    last_year = y[-SEASON:]
    return np.array([last_year[i % SEASON] for i in range(h)])


def theta(y: np.ndarray, h: int) -> np.ndarray:
    from statsmodels.tsa.forecasting.theta import ThetaModel

    y = np.asarray(y, dtype="float64")
    seasonal = len(y) >= 2 * SEASON and _positive(y)
    with _quiet():
        res = ThetaModel(y, period=SEASON, deseasonalize=seasonal).fit()
        return np.asarray(res.forecast(h), dtype="float64")


def ets(y: np.ndarray, h: int) -> np.ndarray:
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(y, dtype="float64")
    if len(y) < 2 * SEASON or not _positive(y):
        return theta(y, h)
    with _quiet():
        res = ETSModel(
            y, error="mul", trend="add", damped_trend=True, seasonal="mul", seasonal_periods=SEASON
        ).fit(disp=False)
        out = np.asarray(res.forecast(h), dtype="float64")
    return out if np.all(np.isfinite(out)) else theta(y, h)


_LAST_SARIMA: list = []  # [(y bytes, fitted results)] of the last fit


def _sarima_fit(y: np.ndarray):
    from statsmodels.tsa.statespace.sarimax import SARIMAX

    # baseline_forecast fits the full history twice (forecast, then the simulated spread);
    # the fit is deterministic, so the second one reuses the first.
    key = np.asarray(y, dtype="float64").tobytes()
    if _LAST_SARIMA and _LAST_SARIMA[0][0] == key:
        return _LAST_SARIMA[0][1]
    with _quiet():
        res = SARIMAX(np.log(y), order=(0, 1, 1), seasonal_order=(0, 1, 1, SEASON)).fit(disp=False)
    _LAST_SARIMA[:] = [(key, res)]
    return res


def sarima(y: np.ndarray, h: int) -> np.ndarray:
    y = np.asarray(y, dtype="float64")
    if len(y) < 2 * SEASON + 2 or not _positive(y):
        return theta(y, h)
    res = _sarima_fit(y)
    with _quiet():
        out = np.exp(np.asarray(res.forecast(h), dtype="float64"))
    return out if np.all(np.isfinite(out)) else theta(y, h)


def mean_model(y: np.ndarray, h: int) -> np.ndarray:
    """Every future month at the mean of the available months.

    >>> mean_model(np.array([1.0, 2.0, 6.0]), 2).tolist()
    [3.0, 3.0]
    """
    y = np.asarray(y, dtype="float64")
    return np.repeat(float(np.mean(y)), h)


def drift(y: np.ndarray, h: int) -> np.ndarray:
    """Random walk with drift: the last month plus k times the average monthly change.

    >>> drift(np.array([10.0, 12.0, 14.0]), 2).tolist()
    [16.0, 18.0]
    """
    y = np.asarray(y, dtype="float64")
    step = (y[-1] - y[0]) / (len(y) - 1) if len(y) > 1 else 0.0
    return y[-1] + step * np.arange(1, h + 1)


def ses(y: np.ndarray, h: int) -> np.ndarray:
    """ETS without trend or season (simple exponential smoothing, additive errors: it also
    takes months at zero or below)."""
    from statsmodels.tsa.exponential_smoothing.ets import ETSModel

    y = np.asarray(y, dtype="float64")
    try:
        with _quiet():
            out = np.asarray(ETSModel(y, error="add", trend=None).fit(disp=False).forecast(h))
    except Exception:  # noqa: BLE001 - a degenerate series (constant): its level
        out = np.repeat(y[-1], h)
    return out if np.all(np.isfinite(out)) else np.repeat(y[-1], h)


MODELS: dict[str, Callable[[np.ndarray, int], np.ndarray]] = {
    "snaive": snaive,
    "ets": ets,
    "theta": theta,
    "sarima": sarima,
    "mean": mean_model,
    "drift": drift,
    "ses": ses,
}


_FORECASTS: dict = {}  # (model, history bytes, h) -> forecast, see _model_forecast
_FORECASTS_MAX = 256


def _model_forecast(model: str, values: np.ndarray, h: int) -> np.ndarray:
    """``MODELS[model](values, h)``, computed once per history and horizon in a process.

    The fits are deterministic, and one study asks for the same ones several times: the
    target study's baseline backtests from the months before each of the last quarters,
    and the landing backtest forecasts each of those quarters from the same months. A copy
    is returned, so a caller cannot alter what the next one gets.
    """
    key = (model, values.tobytes(), len(values), h)
    if key not in _FORECASTS:
        if len(_FORECASTS) >= _FORECASTS_MAX:
            _FORECASTS.clear()
        _FORECASTS[key] = np.asarray(MODELS[model](values, h), dtype="float64")
    return _FORECASTS[key].copy()


def forecast_models(
    y: pd.Series | np.ndarray, h: int, models: Sequence[str] = DEFAULT_MODELS
) -> pd.DataFrame:
    """Point forecasts of the next ``h`` months, one column per model (``combo`` included).

    With a month-start indexed ``y`` the result is indexed by the forecast months.
    """
    if h < 1:
        raise ValueError("forecast_models: horizon h must be at least 1")
    values = np.asarray(y, dtype="float64")
    if len(values) < MIN_MONTHS:
        raise FitError(
            f"cannot forecast from {len(values)} month(s) of history; need at least {MIN_MONTHS}"
        )
    need = set(models)
    for combo, parts in COMBOS.items():
        if combo in models:
            need |= set(parts)
    unknown = need - set(MODELS) - set(COMBOS)
    if unknown:
        raise ValueError(
            f"unknown forecast model(s): {', '.join(sorted(unknown))}; "
            f"known: {', '.join([*MODELS, *COMBOS])}"
        )
    got = {m: _model_forecast(m, values, h) for m in MODELS if m in need}
    for combo, parts in COMBOS.items():
        if combo in models:
            got[combo] = np.mean([got[m] for m in parts], axis=0)
    out = pd.DataFrame({m: got[m] for m in models})
    if isinstance(y, pd.Series) and isinstance(y.index, pd.DatetimeIndex) and len(y):
        out.index = pd.date_range(y.index[-1] + pd.offsets.MonthBegin(1), periods=h, freq="MS")
        out.index.name = "month"
    return out


# --------------------------------------------------------------------------- scoring
def smape(actual, forecast) -> float:
    """Symmetric MAPE in [0, 2]: mean of |F - A| / ((|A| + |F|) / 2); 0/0 counts as 0."""
    a = np.asarray(actual, dtype="float64")
    f = np.asarray(forecast, dtype="float64")
    den = (np.abs(a) + np.abs(f)) / 2
    err = np.where(den == 0, 0.0, np.abs(f - a) / np.where(den == 0, 1, den))
    return float(np.mean(err))


def rolling_backtest(
    y: pd.Series | np.ndarray,
    h: int,
    origins: int = 3,
    step: int | None = None,
    models: Sequence[str] = DEFAULT_MODELS,
    min_train: int = SEASON + 3,
) -> pd.DataFrame:
    """Refit at ``origins`` rolling cut-offs and score each model on the next ``h`` months.

    Origins are spaced ``step`` months apart (default ``h``), the last one leaves exactly
    ``h`` months to test. Returns one row per model x origin: ``model, origin`` (first
    month forecast, or its position), ``train_months, actual_total, forecast_total,
    total_error_pct`` (forecast / actual - 1) and ``smape`` of the monthly values.
    """
    values = np.asarray(y, dtype="float64")
    step = step or h
    rows = []
    for k in range(origins):
        cut = len(values) - h - k * step
        if cut < min_train:
            break
        actual = values[cut : cut + h]
        fc = forecast_models(values[:cut], h, models)
        origin = (
            y.index[cut]
            if isinstance(y, pd.Series) and isinstance(y.index, pd.DatetimeIndex)
            else cut
        )
        for m in models:
            total = float(fc[m].sum())
            act = float(actual.sum())
            rows.append(
                dict(
                    model=m,
                    origin=origin,
                    train_months=cut,
                    actual_total=act,
                    forecast_total=total,
                    # an error ratio needs positive actuals (a returns-heavy stretch has none)
                    total_error_pct=total / act - 1 if act > 0 else np.nan,
                    smape=smape(actual, fc[m].to_numpy()),
                )
            )
    return pd.DataFrame(
        rows,
        columns=[
            "model",
            "origin",
            "train_months",
            "actual_total",
            "forecast_total",
            "total_error_pct",
            "smape",
        ],
    )


def score_backtest(backtest: pd.DataFrame) -> pd.DataFrame:
    """Per model: mean monthly sMAPE, mean absolute error of the period total, origins; best first.

    Ties are broken in favour of the combination, then by the order of DEFAULT_MODELS.
    """
    if backtest.empty:
        return pd.DataFrame(columns=["model", "smape", "total_abs_error_pct", "origins"])
    g = backtest.assign(abs_total=backtest["total_error_pct"].abs()).groupby("model", sort=False)
    out = pd.DataFrame(
        {
            "smape": g["smape"].mean(),
            "total_abs_error_pct": g["abs_total"].mean(),
            "origins": g.size(),
        }
    ).reset_index()
    order = {
        m: i for i, m in enumerate(("combo",) + tuple(m for m in DEFAULT_MODELS if m != "combo"))
    }
    out["_tie"] = out["model"].map(order).fillna(len(order))
    out["smape"] = out["smape"].round(12)  # float noise must not decide a tie
    out = out.sort_values(["smape", "_tie"]).drop(columns="_tie").reset_index(drop=True)
    return out


SWITCH_MARGIN = 0.5


def choose_model(
    backtest: pd.DataFrame, default: str = "combo", switch_margin: float = SWITCH_MARGIN
) -> str:
    """The combination, unless one model's backtest sMAPE is clearly lower.

    A single model replaces ``default`` only when its mean backtest sMAPE is below
    ``(1 - switch_margin)`` x the default's (0.5: at most half its error); without the
    default among the models, the lowest error wins. Why: a backtest over 3 origins is
    a small sample and picking its winner is noisy; on benchmarks/forecast_accuracy.py
    always-pick-the-winner scored 0.883 of seasonal naive's sMAPE, this rule 0.856.
    """
    scores = score_backtest(backtest)
    if not len(scores):
        return default
    by_model = scores.set_index("model")["smape"]
    best = str(scores["model"].iloc[0])
    if default not in by_model.index or best == default:
        return best
    return best if by_model[best] < (1 - switch_margin) * by_model[default] else default


# --------------------------------------------------------------------------- distribution
def prob_at_least(target: float, median: float, sigma: float) -> float:
    """P(total >= target) for a log-normal total with this median and log-scale sigma."""
    if target <= 0:
        return 1.0
    if median <= 0:
        return 0.0
    if sigma <= 0:
        return 1.0 if median >= target else 0.0
    return float(stats.norm.sf((math.log(target) - math.log(median)) / sigma))


def lognormal_interval(median: float, sigma: float, level: float = 0.8) -> tuple[float, float]:
    """Central ``level`` interval of a log-normal total."""
    z = float(stats.norm.ppf(0.5 + level / 2))
    return median * math.exp(-z * sigma), median * math.exp(z * sigma)


def _simulated_sigma(
    values: np.ndarray, h: int, last: int, seed: int, repetitions: int = 1000
) -> float:
    """Log-scale spread of the sum of the last ``last`` of ``h`` simulated months (SARIMA)."""
    if len(values) < 2 * SEASON + 2 or not _positive(values):
        return float("nan")
    try:
        res = _sarima_fit(values)
        with _quiet():
            try:
                sims = res.simulate(
                    h, repetitions=repetitions, anchor="end", rng=np.random.default_rng(seed)
                )
            except TypeError:  # statsmodels < 0.15 names it random_state
                sims = res.simulate(
                    h,
                    repetitions=repetitions,
                    anchor="end",
                    random_state=np.random.default_rng(seed),
                )
        paths = np.exp(np.asarray(sims).reshape(h, -1))  # months x repetitions
        totals = paths[h - last :].sum(axis=0)
        totals = totals[np.isfinite(totals) & (totals > 0)]
        return float(np.std(np.log(totals))) if len(totals) > 10 else float("nan")
    except Exception:  # noqa: BLE001 - a failed simulation falls back to the backtest spread
        return float("nan")


@dataclass
class BaselineForecast:
    """The baseline forecast of one period total and how it was chosen."""

    history: pd.Series  # monthly history used (strictly before the forecast months)
    monthly: pd.DataFrame  # forecast months x models
    backtest: pd.DataFrame  # rolling_backtest rows
    scores: pd.DataFrame  # score_backtest
    best_model: str
    period_months: pd.DatetimeIndex  # the months whose sum is the period total
    sigma: float  # log-scale spread of the period total (NaN: no interval)
    level: float  # interval level of low/high
    method: str = "models"  # "models", "non-seasonal" (under a year) or "naive" (run rate)

    @property
    def point(self) -> pd.Series:
        """Monthly point forecast of the chosen model."""
        return self.monthly[self.best_model]

    @property
    def total(self) -> float:
        return float(self.point.loc[self.period_months].sum())

    @property
    def model_label(self) -> str:
        return MODEL_LABELS.get(self.best_model, self.best_model)

    @property
    def has_interval(self) -> bool:
        """An interval and probabilities exist: a measured spread around a positive total
        (a naive baseline has no spread; a total at or below zero has no log-normal)."""
        return bool(np.isfinite(self.sigma) and self.sigma > 0 and self.total > 0)

    @property
    def interval_note(self) -> str | None:
        """Why there is no interval (None when there is one)."""
        if self.has_interval:
            return None
        if self.method == "naive":
            return _("a naive run rate from under three months of history has no measured error")
        return _(
            "the baseline forecast is not positive (the history ends in months at zero or "
            "below: returns as large as sales)"
        )

    @property
    def low(self) -> float:
        if not self.has_interval:
            return float("nan")
        return lognormal_interval(self.total, self.sigma, self.level)[0]

    @property
    def high(self) -> float:
        if not self.has_interval:
            return float("nan")
        return lognormal_interval(self.total, self.sigma, self.level)[1]

    def prob_at_least(self, target: float) -> float:
        """Probability the period total reaches ``target`` under the forecast distribution
        (NaN without an interval: see :attr:`interval_note`)."""
        if not self.has_interval:
            return float("nan")
        return prob_at_least(target, self.total, self.sigma)

    def model_totals(self) -> pd.DataFrame:
        """Period total per model with its backtest errors; the chosen model flagged."""
        totals = self.monthly.loc[self.period_months].sum().rename("forecast_total")
        out = totals.to_frame().join(self.scores.set_index("model"), how="left")
        out["chosen"] = out.index == self.best_model
        out.index.name = "model"
        return out.reset_index()


def baseline_forecast(
    history: pd.Series,
    start,
    end,
    level: float = 0.8,
    origins: int = 3,
    models: Sequence[str] | None = None,
    seed: int = 0,
    min_sigma: float = 0.02,
) -> BaselineForecast:
    """Forecast the total of months ``[start, end)`` from a monthly ``history`` before ``start``.

    ``history`` is a month-start series (see :func:`monthly_series`); only months
    before ``start`` are used. The backtest uses the same horizon as the forecast
    (months from the end of history to ``end``) and ``origins`` cut-offs; the model
    chosen by :func:`choose_model`. ``min_sigma`` floors the log spread:
    no sales forecast is known to within 2 %. ``models`` defaults to ``DEFAULT_MODELS``
    with a year of history or more, else to the non-seasonal ``SHORT_MODELS`` (then
    backtested from ``MIN_MONTHS`` months of training, the spread floored at 15 %).
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    hist = history[history.index < start].astype("float64")
    if len(hist) < MIN_MONTHS:
        raise FitError(
            f"need at least {MIN_MONTHS} months of revenue before {start.date()} to forecast; "
            f"found {len(hist)}"
        )
    if end <= start:
        raise ValueError("baseline_forecast: end must be after start")
    short = len(hist) < SEASON
    if models is None:
        models = SHORT_MODELS if short else DEFAULT_MODELS
    default = next((c for c in COMBOS if c in models), "combo")
    if short:
        min_sigma = max(min_sigma, SHORT_MIN_SIGMA)
    first_fc = hist.index[-1] + pd.offsets.MonthBegin(1)
    months_all = pd.date_range(first_fc, end - pd.offsets.MonthBegin(1), freq="MS")
    period_months = pd.date_range(start, end - pd.offsets.MonthBegin(1), freq="MS")
    h = len(months_all)
    bt = rolling_backtest(
        hist,
        h,
        origins=origins,
        step=max(len(period_months), 1),
        models=models,
        min_train=MIN_MONTHS if short else SEASON + 3,
    )
    scores = score_backtest(bt)
    best = choose_model(bt, default=default)  # without a combination: the lowest error wins
    best = best if best in models else models[0]
    monthly = forecast_models(hist, h, models)
    monthly.index = months_all
    # backtest spread of the chosen model's totals (log ratio actual / forecast)
    chosen = bt[(bt["model"] == best) & (bt["actual_total"] > 0) & (bt["forecast_total"] > 0)]
    bt_sigma = (
        float(np.sqrt(np.mean(np.log(chosen["actual_total"] / chosen["forecast_total"]) ** 2)))
        if len(chosen)
        else float("nan")
    )
    sim_sigma = _simulated_sigma(hist.to_numpy(), h, len(period_months), seed)
    candidates = [s for s in (bt_sigma, sim_sigma) if np.isfinite(s)]
    sigma = max(candidates + [min_sigma]) if candidates else 0.15  # 15 %: a wide, honest default
    method = "non-seasonal" if short else "models"
    return BaselineForecast(hist, monthly, bt, scores, best, period_months, sigma, level, method)


def naive_forecast(
    history: pd.Series, start, end, first_day=None, level: float = 0.8
) -> BaselineForecast:
    """The naive baseline: revenue per day over the days observed before ``start``, times
    the days of each forecast month. No interval (``sigma`` NaN).

    ``history``: month-start series of complete months; ``first_day``: the first day with
    data (the first month counts from it, so one day of orders is one day, not a month).

    >>> y = pd.Series([300.0], pd.DatetimeIndex(["2026-09-01"], freq="MS"))
    >>> fc = naive_forecast(y, "2026-10-01", "2026-11-01", first_day="2026-09-30")
    >>> fc.total, fc.has_interval, fc.best_model
    (9300.0, False, 'naive')
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    hist = history[history.index < start].astype("float64")
    if hist.empty:
        raise FitError(f"no revenue before {start.date()} to forecast from")
    first = hist.index[0]
    if first_day is not None and pd.Timestamp(first_day) > first:
        first = pd.Timestamp(first_day).normalize()
    last = hist.index[-1] + pd.offsets.MonthEnd(0)
    days = max((last - first).days + 1, 1)
    rate = float(hist.sum()) / days
    first_fc = hist.index[-1] + pd.offsets.MonthBegin(1)
    months_all = pd.date_range(first_fc, end - pd.offsets.MonthBegin(1), freq="MS")
    period_months = pd.date_range(start, end - pd.offsets.MonthBegin(1), freq="MS")
    monthly = pd.DataFrame({"naive": rate * months_all.days_in_month.to_numpy()}, index=months_all)
    monthly.index.name = "month"
    bt = rolling_backtest(hist.iloc[:0], 1, origins=0)
    return BaselineForecast(
        hist, monthly, bt, score_backtest(bt), "naive", period_months, float("nan"), level, "naive"
    )


def history_days(history: pd.Series, start, first_day=None) -> int:
    """Days of data behind the months of ``history`` before ``start`` (from ``first_day``)."""
    hist = history[history.index < pd.Timestamp(start)]
    if hist.empty:
        return 0
    first = hist.index[0]
    if first_day is not None and pd.Timestamp(first_day) > first:
        first = pd.Timestamp(first_day).normalize()
    return max(((hist.index[-1] + pd.offsets.MonthEnd(0)) - first).days + 1, 0)


def backtest_note(fc: BaselineForecast | None) -> str | None:
    """Why a forecast has no backtest (None when it has one)."""
    if fc is not None and len(fc.backtest):
        return None
    if fc is None or fc.method == "naive":
        return _("**No backtest**: no fitted model to test (see the baseline above).")
    need = SEASON + 3 if fc.method == "models" else MIN_MONTHS
    return _(
        "**No backtest**: {n} months of history; a rolling origin needs the {h}-month horizon "
        "plus {need} months to train on. More history before the period would fill it."
    ).format(n=len(fc.history), h=len(fc.monthly), need=need)


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def baseline_or_note(
    history: pd.Series,
    start,
    end,
    first_day=None,
    level: float = 0.8,
    origins: int = 3,
    seed: int = 0,
) -> tuple[BaselineForecast | None, str | None]:
    """The baseline forecast the history allows, and a one-line note when it is not the full
    seasonal comparison (None then):

    - a year or more of complete months before ``start``: :func:`baseline_forecast`, no note;
    - 3 to 11 months: the non-seasonal models, with a note saying there is no seasonality;
    - 1 or 2 months: :func:`naive_forecast`, labelled as a naive baseline;
    - none: no forecast (None) and a note saying what would fill it.

    >>> y = pd.Series([5.0, 6.0], pd.date_range("2026-08-01", periods=2, freq="MS"))
    >>> fc, note = baseline_or_note(y, "2026-10-01", "2027-01-01")
    >>> fc.method, note.startswith("**Naive baseline")
    ('naive', True)
    >>> baseline_or_note(y, "2026-08-01", "2026-11-01")[0] is None
    True
    """
    start, end = pd.Timestamp(start), pd.Timestamp(end)
    hist = history[history.index < start]
    n = len(hist)
    if n == 0:
        return None, _(
            "**No baseline forecast**: no complete month of revenue before {day}. Orders from "
            "the months before the period would fill this ({fitted} for a fitted model, "
            "{season} for seasonality)."
        ).format(day=_day(start), fitted=MIN_MONTHS, season=SEASON)
    if n < MIN_MONTHS:
        days = history_days(history, start, first_day)
        fc = naive_forecast(history, start, end, first_day, level)
        return fc, _(
            "**Naive baseline, not a fitted model**: only {days} day(s) of revenue before {day}, "
            "so the baseline is their run rate scaled to the days of the period, without an "
            "interval or odds. {fitted} complete months before the period would allow fitted "
            "models; {season}, seasonality."
        ).format(days=days, day=_day(start), fitted=MIN_MONTHS, season=SEASON)
    fc = baseline_forecast(history, start, end, level=level, origins=origins, seed=seed)
    if n < SEASON:
        return fc, _(
            "**No seasonality**: {n} months of history before {day}, under the {season} needed "
            "to tell a seasonal month from a trend, so the baseline uses non-seasonal models "
            "(mean of the months, drift, ETS without season). A full year of orders would add "
            "the season."
        ).format(n=n, day=_day(start), season=SEASON)
    return fc, None


def forecast_next(
    y: pd.Series | np.ndarray, h: int, origins: int = 3, models: Sequence[str] = DEFAULT_MODELS
) -> np.ndarray:
    """The monthly forecast of the backtest-chosen model (what the benchmark scores)."""
    bt = rolling_backtest(y, h, origins=origins, models=models)
    best = choose_model(bt)
    return forecast_models(y, h, models)[best].to_numpy()


__all__ = [
    "BaselineForecast",
    "DEFAULT_MODELS",
    "MIN_MONTHS",
    "MODEL_LABELS",
    "SHORT_MODELS",
    "baseline_forecast",
    "backtest_note",
    "baseline_or_note",
    "drift",
    "history_days",
    "mean_model",
    "naive_forecast",
    "ses",
    "choose_model",
    "forecast_models",
    "forecast_next",
    "lognormal_interval",
    "monthly_series",
    "prob_at_least",
    "rolling_backtest",
    "score_backtest",
    "smape",
    "snaive",
    "ets",
    "theta",
    "sarima",
]
