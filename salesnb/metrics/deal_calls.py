"""Forecast calls against outcomes: do the reps' commits come true, and does the pipeline do better?

Pure functions over the frames of :mod:`salesnb.queries.deals` (forecast calls, deals, stage
entries), all already cut at ``as_of``, and the :class:`~salesnb.metrics.deals.WinStudy` of
the same data.

- **Outcome of a call**: what the rep won in the call's period (deals closed in it), and what
  they had won by the day of the call. Error = (commit - won in the period) / won in the
  period; a period the rep won nothing in has no percentage error.
- **Style**: a rep whose average error passes a threshold either way, with the median call
  erring the same way, is a sandbagger (under) or an over-promiser (over).
- **Pipeline forecasts**, made on the day of each call since the hold-out cut with what was
  known at the cut (stage probabilities and win model trained on deals closed before it):
  won so far in the period + each open deal's probability x amount x the share of won deals
  in its stage that closed within the days left in the period
  (:func:`~salesnb.metrics.deals.closing_share`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from salesnb.formatting import count
from salesnb.i18n import N_, _, language
from salesnb.metrics import require_columns
from salesnb.metrics.deals import (
    WON,
    WinStudy,
    _day,
    _pct,
    _ts,
    add_features,
    closing_share,
    deal_snapshots,
)
from salesnb.model.periods import parse_period


def call_outcomes(calls: pd.DataFrame, deals: pd.DataFrame, as_of) -> pd.DataFrame:
    """Each call next to what happened: the rep's won amount in the period, and won by the call.

    Keeps calls for periods over by ``as_of`` (a period still running has no outcome yet)
    whose label parses. Returns the calls with ``period_start, period_end, actual,
    won_to_date, error_pct`` (``(commit - actual) / actual``; NaN when nothing was won).
    """
    require_columns(calls, ["rep_id", "period", "as_of", "commit"], "call_outcomes")
    t = _ts(as_of)
    spans = {}
    for label in calls["period"].dropna().unique():
        try:
            p = parse_period(str(label))
        except Exception:  # an unreadable label: the call cannot be placed
            continue
        spans[label] = (pd.Timestamp(p.start), pd.Timestamp(p.end))
    out = calls[calls["period"].isin(list(spans))].copy()
    out["period_start"] = out["period"].map(lambda x: spans[x][0])
    out["period_end"] = out["period"].map(lambda x: spans[x][1])
    out = out[(out["period_end"] <= t + pd.Timedelta(days=1)) & out["rep_id"].notna()]
    cols = list(calls.columns) + [
        "period_start",
        "period_end",
        "actual",
        "won_to_date",
        "error_pct",
    ]
    if out.empty:
        return pd.DataFrame(columns=cols)
    won = deals[(deals["status"] == WON) & deals["close_date"].notna() & deals["rep_id"].notna()]
    close = pd.to_datetime(won["close_date"]).astype("datetime64[ns]").to_numpy()
    amount = won["amount"].fillna(0.0).to_numpy(float)
    rep_of = won["rep_id"].astype(str).to_numpy()
    start = out["period_start"].astype("datetime64[ns]").to_numpy()
    end = out["period_end"].astype("datetime64[ns]").to_numpy()
    day = pd.to_datetime(out["as_of"]).astype("datetime64[ns]").to_numpy()
    last = np.minimum(
        day + np.timedelta64(1, "D"), end
    )  # won to date: closed on or before the call
    actual = np.zeros(len(out))
    to_date = np.zeros(len(out))
    call_rep = out["rep_id"].astype(str).to_numpy()
    for i, mine in _rows_by_key(call_rep, rep_of):  # each rep's calls and won deals
        if not len(i) or not len(mine):
            continue
        order = np.argsort(close[mine], kind="stable")
        c, cum = close[mine][order], np.concatenate([[0.0], np.cumsum(amount[mine][order])])
        lo = np.searchsorted(c, start[i], side="left")
        actual[i] = cum[np.searchsorted(c, end[i], side="left")] - cum[lo]
        to_date[i] = np.maximum(cum[np.searchsorted(c, last[i], side="left")] - cum[lo], 0.0)
    out["actual"] = actual
    out["won_to_date"] = to_date
    out["error_pct"] = (out["commit"] - out["actual"]) / out["actual"].where(out["actual"] > 0)
    return out[cols].reset_index(drop=True)


def _rows_by_key(*keys: np.ndarray) -> list[tuple]:
    """For each distinct value across the key arrays, the positions holding it in each, in order."""
    codes = pd.factorize(np.concatenate(keys), use_na_sentinel=False)[0]
    n = int(codes.max()) + 1 if len(codes) else 0
    groups, at = [], 0
    for k in keys:
        c = codes[at : at + len(k)]
        at += len(k)
        groups.append(
            np.split(np.argsort(c, kind="stable"), np.cumsum(np.bincount(c, minlength=n))[:-1])
        )
    return list(zip(*groups, strict=True))


def mape(forecast, actual) -> float:
    """Mean absolute percentage error over rows with a positive actual (NaN when none).

    >>> mape([110, 80, 5], [100, 100, 0])
    0.15
    """
    f = np.asarray(forecast, dtype=float)
    a = np.asarray(actual, dtype=float)
    ok = (a > 0) & ~np.isnan(f)
    if not ok.any():
        return float("nan")
    return float(round(np.mean(np.abs(f[ok] - a[ok]) / a[ok]), 12))


def call_style(bias: float, median_error: float, threshold: float = 0.10) -> str:
    """``sandbagger`` (calls consistently under the outcome), ``over-promiser`` (over) or ``accurate``.

    Consistent: the mean error passes ``threshold`` and the median call errs the same way.

    >>> call_style(-0.2, -0.15), call_style(0.25, 0.2), call_style(0.25, -0.01), call_style(0.02, 0.0)
    ('sandbagger', 'over-promiser', 'accurate', 'accurate')
    """
    if pd.isna(bias) or pd.isna(median_error):
        return "unknown"
    if bias <= -threshold and median_error < 0:
        return "sandbagger"
    if bias >= threshold and median_error > 0:
        return "over-promiser"
    return "accurate"


def call_leaderboard(
    outcomes: pd.DataFrame, reps: pd.DataFrame | None = None, threshold: float = 0.10
) -> pd.DataFrame:
    """Per rep over the whole history: calls, periods, MAPE, bias and style of the commits.

    ``outcomes``: :func:`call_outcomes` (calls for periods with nothing won are left out of
    the percentages). ``reps`` (optional): ``rep_id, rep, team``. Returns ``rep_id, rep,
    team, calls, periods, calls_mape, calls_bias, median_error, style``, most accurate first.
    """
    cols = [
        "rep_id",
        "rep",
        "team",
        "calls",
        "periods",
        "calls_mape",
        "calls_bias",
        "median_error",
        "style",
    ]
    o = outcomes[outcomes["error_pct"].notna()]
    if o.empty:
        return pd.DataFrame(columns=cols)
    g = o.groupby("rep_id")
    out = pd.DataFrame(
        {
            "calls": g.size(),
            "periods": g["period"].nunique(),
            "calls_mape": g["error_pct"].apply(lambda e: float(np.mean(np.abs(e)))),
            "calls_bias": g["error_pct"].mean(),
            "median_error": g["error_pct"].median(),
        }
    ).reset_index()
    out["style"] = [
        call_style(b, m, threshold)
        for b, m in zip(out["calls_bias"], out["median_error"], strict=True)
    ]
    if reps is not None and len(reps):
        out = out.merge(reps[["rep_id", "rep", "team"]], on="rep_id", how="left")
    if "rep" not in out.columns:
        out["rep"] = out["rep_id"]
        out["team"] = None
    out["rep"] = out["rep"].where(out["rep"].notna(), out["rep_id"])
    return out.sort_values(["calls_mape", "rep_id"]).reset_index(drop=True)[cols]


def pipeline_forecasts(
    rows: pd.DataFrame, probability, calls: pd.DataFrame, won_remaining: dict | None = None
) -> pd.DataFrame:
    """Expected won value of each rep's open deals for each call: probability x amount, summed.

    ``rows``: snapshot rows (``rep_id, ref_date, stage, amount``) with ``probability``
    aligned; ``calls``: the ``as_of, period_end`` pairs to forecast. With ``won_remaining``
    (:func:`won_remaining_days`) each deal also counts only by the chance it closes before
    the period ends (:func:`closing_share`); without it the whole open pipeline counts.
    Returns ``rep_id, as_of, period_end, expected_open``.
    """
    return pipeline_forecasts_of(rows, {"": probability}, calls, won_remaining)[""]


def pipeline_forecasts_of(
    rows: pd.DataFrame, probabilities: dict, calls: pd.DataFrame, won_remaining: dict | None = None
) -> dict:
    """:func:`pipeline_forecasts` of each of ``{name: probability}``, sharing the rows' closing shares."""
    cols = ["rep_id", "as_of", "period_end", "expected_open"]
    if rows.empty or calls.empty:
        return {k: pd.DataFrame(columns=cols) for k in probabilities}
    ref = pd.to_datetime(rows["ref_date"]).to_numpy()
    pairs = calls[["as_of", "period_end"]].drop_duplicates()
    day, end = pd.to_datetime(pairs["as_of"]), pd.to_datetime(pairs["period_end"])
    picked = [np.flatnonzero(ref == np.datetime64(d)) for d in day]  # the rows of each call date
    pair = np.repeat(np.arange(len(picked)), [len(p) for p in picked])
    at = np.concatenate(picked)
    if not len(at):
        return {k: pd.DataFrame(columns=cols) for k in probabilities}
    share = 1.0
    if won_remaining is not None:
        left = ((end - day).dt.days - 1).to_numpy()  # closes on or before the period's last day
        share = closing_share(won_remaining, rows["stage"].to_numpy(object)[at], left[pair])
    amount, rep = rows["amount"].fillna(0.0).to_numpy(float), rows["rep_id"].to_numpy()[at]
    out = {}
    for k, p in probabilities.items():
        ev = amount * np.asarray(p, dtype=float)
        part = pd.DataFrame({"pair": pair, "rep_id": rep, "ev": ev[at] * share})
        # one sum per call date and rep, over that date's rows in order (as date by date)
        part = part[part["rep_id"].notna()].groupby(["pair", "rep_id"], as_index=False)["ev"].sum()
        part = part.assign(
            as_of=day.iloc[part["pair"]].to_numpy(), period_end=end.iloc[part["pair"]].to_numpy()
        )
        out[k] = part.rename(columns={"ev": "expected_open"})[cols].reset_index(drop=True)
    return out


def forecast_comparison(outcomes: pd.DataFrame, forecasts: dict) -> pd.DataFrame:
    """Calls and pipeline forecasts made on the same dates, each against the outcome.

    ``outcomes``: :func:`call_outcomes` rows to compare; ``forecasts``: ``{name:
    pipeline_forecasts frame}``. A method's forecast = won to date + expected value of the
    rep's open deals that day. Returns the outcomes with one ``<name>_forecast`` column each.
    """
    out = outcomes.copy()
    keys = ["rep_id", "as_of", "period_end"]
    out["as_of"] = pd.to_datetime(out["as_of"])
    out["period_end"] = pd.to_datetime(out["period_end"])
    for name, f in forecasts.items():
        if f is None:
            continue
        f = f.assign(as_of=pd.to_datetime(f["as_of"]), period_end=pd.to_datetime(f["period_end"]))
        m = out[keys].merge(f, on=keys, how="left")
        out[f"{name}_forecast"] = (
            out["won_to_date"].to_numpy() + m["expected_open"].fillna(0.0).to_numpy()
        )
    return out


def method_errors(comparison: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """MAPE and bias of each method (``commit`` or ``<name>_forecast`` columns) on the same rows.

    Returns ``method, calls, mape, bias`` over rows with a positive actual.
    """
    ok = comparison[comparison["actual"] > 0]
    rows = []
    for m in methods:
        col = "commit" if m == "calls" else f"{m}_forecast"
        if col not in ok.columns:
            continue
        err = (ok[col] - ok["actual"]) / ok["actual"]
        rows.append(
            (
                m,
                len(ok),
                mape(ok[col], ok["actual"]),
                float(err.mean()) if len(ok) else float("nan"),
            )
        )
    return pd.DataFrame(rows, columns=["method", "calls", "mape", "bias"])


def rep_method_errors(comparison: pd.DataFrame, methods: Sequence[str]) -> pd.DataFrame:
    """Per rep, the MAPE of each method on the compared calls: ``rep_id, <method>_mape_holdout``."""
    ok = comparison[comparison["actual"] > 0]
    out = pd.DataFrame({"rep_id": sorted(ok["rep_id"].unique())})
    rep, actual = ok["rep_id"].to_numpy(), ok["actual"].to_numpy(float)
    mine = [rep == r for r in out["rep_id"]]  # each rep's calls, in order
    for m in methods:
        col = "commit" if m == "calls" else f"{m}_forecast"
        if col not in ok.columns:
            continue
        f = ok[col].to_numpy(float)
        out[f"{m}_mape_holdout"] = np.array([mape(f[i], actual[i]) for i in mine], dtype=float)
    return out


@dataclass
class CallStudy:
    """Forecast calls against outcomes (see :func:`call_study`)."""

    outcomes: pd.DataFrame  # every call of a finished period, with its outcome
    board: pd.DataFrame  # per rep: history columns and hold-out columns
    comparison: pd.DataFrame  # hold-out calls with the pipeline forecasts of the same day
    errors: pd.DataFrame  # method, calls, mape, bias on the compared calls
    gap: str | None  # why nothing could be compared (None when something was)

    def mape(self, method: str) -> float:
        e = self.errors[self.errors["method"] == method]
        return float(e["mape"].iloc[0]) if len(e) else float("nan")


METHODS = ("calls", "stage_weighted", "model")


def call_study(
    calls: pd.DataFrame,
    deals: pd.DataFrame,
    history: pd.DataFrame,
    win: WinStudy,
    reps: pd.DataFrame | None = None,
    threshold: float = 0.10,
    prior_weight: float = 10.0,
    rep_window_days: int | None = 180,
    in_period: bool = True,
) -> CallStudy:
    """Calls against outcomes over the history, and against pipeline forecasts after the cut.

    The stage-weighted and model forecasts of a call date use what was known at the hold-out
    cut (stage probabilities and model trained on deals closed before it) and the pipeline
    as it stood that day, so calls made after the cut are compared out of sample. A
    forecast = won so far in the period + the sum over the rep's open deals of probability
    x amount, each deal weighted (``in_period``) by the share of won deals in its stage that
    closed within the days left in the period (``in_period=False``: the whole pipeline,
    which counts next period's deals too).
    """
    t, cut = win.plan.as_of, win.plan.cut
    outcomes = call_outcomes(calls, deals, t)
    board = call_leaderboard(outcomes, reps, threshold)
    empty = pd.DataFrame(columns=["method", "calls", "mape", "bias"])
    if outcomes.empty:
        gap = _("no call is for a period that had ended by {day}").format(day=_day(t))
        return CallStudy(outcomes, board, outcomes, empty, gap)
    late = outcomes[(pd.to_datetime(outcomes["as_of"]) >= cut) & (outcomes["actual"] > 0)]
    if late.empty:
        gap = _(
            "no call made since the hold-out cut ({cut}) is for a finished period with a won deal"
        ).format(cut=_day(cut))
        return CallStudy(outcomes, board, late, empty, gap)
    dates = sorted(pd.to_datetime(late["as_of"]).unique())
    rows = add_features(deal_snapshots(deals, history, dates), deals, prior_weight, rep_window_days)
    probs = win.probabilities(rows, holdout=True)
    remaining = win.won_remaining_cut if in_period else None
    probs = {k: p for k, p in probs.items() if p is not None}
    forecasts = pipeline_forecasts_of(rows, probs, late, remaining)
    comparison = forecast_comparison(late, forecasts)
    methods = [m for m in METHODS if m == "calls" or m in forecasts]
    errors = method_errors(comparison, methods)
    per_rep = rep_method_errors(comparison, methods)
    board = board.merge(per_rep, on="rep_id", how="left") if len(board) else board
    return CallStudy(outcomes, board, comparison, errors, None)


def describe_calls(calls: CallStudy, threshold: float = 0.10) -> str:
    """Markdown: how the calls were compared and the styles found."""
    if calls.outcomes.empty:
        return _("**Not computed: forecast accuracy** — {why}.").format(why=calls.gap)
    o = calls.outcomes
    scored = o[o["error_pct"].notna()]
    lines = [
        _(
            "{calls} calls by {reps} reps for periods that have ended ({scored} for a period in "
            "which the rep won something: percentage errors need an outcome above zero). "
            "Error = (commit - won in the period) / won in the period. A rep whose average "
            "error is below -{threshold} with most calls under the outcome is a **sandbagger**; "
            "above +{threshold} with most calls over it, an **over-promiser**; the rest are "
            "**accurate**."
        ).format(
            calls=count(len(o)),
            reps=count(o["rep_id"].nunique()),
            scored=count(len(scored)),
            threshold=f"{threshold:.0%}",
        )
    ]
    if calls.gap:
        lines.append(
            _("**Not computed: calls against pipeline forecasts** — {why}.").format(why=calls.gap)
        )
    elif len(calls.errors):
        e = calls.errors.set_index("method")["mape"]
        parts = [_("calls {error}").format(error=_pct(e.get("calls")))]
        if "stage_weighted" in e:
            parts.append(
                _("stage-weighted pipeline {error}").format(error=_pct(e.get("stage_weighted")))
            )
        if "model" in e:
            parts.append(_("win-model pipeline {error}").format(error=_pct(e.get("model"))))
        lines.append(
            _(
                "On the {n} calls made since the hold-out cut, each forecast was made with what "
                "was known that day (pipeline forecast = won so far + each open deal's "
                "probability x amount x the chance a won deal in its stage closes before the "
                "period ends). Mean absolute error: {errors}."
            ).format(
                n=count(int(calls.errors["calls"].iloc[0])),
                errors=(", " if language() == "en" else "，").join(parts),
            )
        )
    return "\n\n".join(lines)


#: the forecast methods compared with the reps' calls, as the page names them
METHOD_LABELS = {
    "calls": N_("Reps' calls (commit)"),
    "stage_weighted": N_("Stage-weighted pipeline"),
    "model": N_("Win-model pipeline"),
}


def errors_for_page(errors: pd.DataFrame) -> pd.DataFrame:
    """The methods' errors as the page shows them: each method by its name on a page not in
    English (by its code in English, as in ``<study>.json``)."""
    if language() == "en" or "method" not in errors.columns:
        return errors
    return errors.assign(method=[_(METHOD_LABELS.get(m, m)) for m in errors["method"]])
