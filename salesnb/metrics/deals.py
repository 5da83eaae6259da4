"""Deals one by one: the win probability of each open deal, stuck deals, the page's figures.

Pure functions over the deal-level frames of :mod:`salesnb.queries.deals` (one row per
deal, one per stage entry), all already cut at ``as_of``. The reps' forecast calls against
outcomes and pipeline forecasts are in :mod:`salesnb.metrics.deal_calls`.

How the win model learns without peeking (and why it is written by hand):

- **Snapshots, not final rows.** A closed deal's recorded stage is where it ended, which is
  the outcome itself. So the model learns from *snapshots*: every deal open on a grid of
  dates (every ``snapshot_days`` back from ``as_of``), described as it stood that day (stage
  held, days in that stage, age, amount, discount, source, segment, product, competitor, and
  the rep's and the account's win rates over deals closed *before* that day), labelled with
  how it ended. A deal open on several grid dates gives several rows; confidence intervals
  treat a deal as one cluster.
- **Resolution horizon.** Labels are read on a fixed day; deals that close slowly are still
  open then, so snapshots taken just before it would over-represent quick deals. Snapshots
  stop one horizon (the 90th percentile of the sales cycle) before the day labels are read.
- **Time-based hold-out.** The model and the stage baseline are trained on deals closed
  before a cut date (``as_of`` minus ``holdout_days``) and scored on snapshots taken after it,
  whose deals therefore closed after it.
- **Fields recorded at close.** A field filled on lost deals and (almost) never on won ones
  (in the demo, ``competitor`` is only recorded when a deal is lost to one) is written when
  the deal ends, not known while it is open: it is left out of the model and the page says so.
- **The fit.** statsmodels' GLM Binomial (logit link) with a small ridge penalty on
  standardised features, solved by Newton steps on the model's own ``loglike``, ``score``
  and ``hessian`` (statsmodels' formulas through its Binomial family, without building the
  GLM: :class:`_BinomialLikelihood`): ``GLM.fit_regularized`` returns no standard errors,
  and the driver table needs intervals. Intervals are the cluster-robust sandwich at the penalised solution
  (bread: penalised information; meat: per-deal score sums). The penalty keeps a rep who won
  every deal, or a stage nobody left, from sending a coefficient to infinity.
- **AUC** is the Mann-Whitney statistic (average ranks for ties), written here because
  scikit-learn is not a dependency; **Brier** is the mean squared error of the probability.

The stage baseline is the CRM convention: a fixed probability per stage, the win rate of the
deals that passed each stage (``win_from_stage`` of :func:`salesnb.metrics.funnel.stage_conversion`,
the funnel study's own rule), estimated on the same training window.
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd
from scipy.special import expit
from scipy.stats import norm, rankdata

from salesnb.formatting import count, money, percent
from salesnb.i18n import N_, _, date_label, language, plural
from salesnb.metrics import require_columns
from salesnb.model.people import named_reps, rep_names  # noqa: F401  (dm.named_reps in the notebook)

if TYPE_CHECKING:  # the calls study takes a WinStudy: its module imports this one
    from salesnb.metrics.deal_calls import CallStudy

WON, LOST, OPEN = "won", "lost", "open"
NONE_LEVEL, OTHER_LEVEL = "(none)", "(other)"

#: numeric model features and how the page names them (per one standard deviation)
NUMERIC_FEATURES = {
    "log_days_in_stage": N_("days in stage (log)"),
    "log_age_days": N_("deal age (log days)"),
    "log_amount": N_("amount (log)"),
    "discount": N_("discount"),
    "rep_win_rate": N_("rep's prior win rate"),
    "account_win_rate": N_("account's prior win rate"),
    "log_account_deals": N_("account's prior closed deals (log)"),
}
#: categorical model features and how the page names them
CATEGORICAL_FEATURES = {
    "stage": N_("stage"),
    "source": N_("source"),
    "segment": N_("segment"),
    "product_group": N_("product"),
    "competitor": N_("competitor"),
}
#: the two ways of giving a deal its win probability (table cells, chart legends)
METHOD_NAMES = (
    N_("Win model"),
    N_("Stage baseline"),
    N_("Stage baseline (fixed probability per stage)"),
)
#: what today's win probabilities come from (``win_probability_basis``; English in the JSON)
BASES = (
    N_("the win model"),
    N_("the stage baseline"),
    N_("the company's win rate"),
    N_("nothing (no deal has closed)"),
)
#: the styles of forecast calls (``call_style``; table cells, chart legends)
STYLES = (N_("sandbagger"), N_("over-promiser"), N_("accurate"), N_("unknown"))


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _gap() -> str:
    """What separates two sentences: a space in English, nothing in Chinese."""
    return " " if language() == "en" else ""


def _ts(d) -> pd.Timestamp:
    return pd.Timestamp(d).normalize()


def auc(y, p) -> float:
    """Area under the ROC curve: the chance a won deal scores above a lost one (ties count half).

    The Mann-Whitney U statistic over average ranks; NaN unless both outcomes occur.

    >>> auc([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8])
    0.75
    >>> auc([0, 1, 0, 1], [0.2, 0.2, 0.2, 0.2])  # a constant score cannot rank: one half
    0.5
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    pos, neg = int((y == 1).sum()), int((y == 0).sum())
    if not pos or not neg:
        return float("nan")
    ranks = rankdata(p)
    return float((ranks[y == 1].sum() - pos * (pos + 1) / 2) / (pos * neg))


def brier(y, p) -> float:
    """Brier score: mean squared gap between the probability and the outcome (0 = perfect).

    >>> brier([1, 0, 1, 0], [0.9, 0.2, 0.6, 0.5])
    0.115
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    if not ok.any():
        return float("nan")
    return float(round(np.mean((p[ok] - y[ok]) ** 2), 12))


def calibration_table(y, p, bins: int = 10) -> pd.DataFrame:
    """Predicted against observed win rate in ``bins`` equal-count groups (deciles by default).

    Groups follow the rank of the probability (ties split by position), so a score with few
    distinct values still gives equal groups. Returns ``bin, deals, predicted, observed``.

    >>> calibration_table([0, 0, 1, 1], [0.1, 0.2, 0.7, 0.9], bins=2).values.tolist()
    [[1.0, 2.0, 0.15000000000000002, 0.0], [2.0, 2.0, 0.8, 1.0]]
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    cols = ["bin", "deals", "predicted", "observed"]
    if not len(y):
        return pd.DataFrame(columns=cols)
    order = np.argsort(p, kind="stable")
    group = np.empty(len(p), dtype=int)
    group[order] = np.arange(len(p)) * min(bins, len(p)) // len(p)
    df = pd.DataFrame({"bin": group + 1, "y": y, "p": p})
    out = df.groupby("bin").agg(
        deals=("y", "size"), predicted=("p", "mean"), observed=("y", "mean")
    )
    return out.reset_index().astype(float)[cols]


def snapshot_dates(as_of, first, step_days: int = 28) -> list[pd.Timestamp]:
    """Dates every ``step_days`` back from ``as_of`` (included) down to ``first``, ascending.

    >>> [str(d.date()) for d in snapshot_dates("2026-03-31", "2026-02-01", 28)]
    ['2026-02-03', '2026-03-03', '2026-03-31']
    """
    if step_days < 1:
        raise ValueError("snapshot_days must be at least 1")
    end, first = _ts(as_of), _ts(first)
    if first > end:
        return []
    n = (end - first).days // step_days
    return [end - pd.Timedelta(days=step_days * k) for k in range(n, -1, -1)]


def _created(deals: pd.DataFrame, history: pd.DataFrame) -> pd.Series:
    """Created date, or the first stage entry for a deal exported without one."""
    created = pd.to_datetime(deals["created_date"])
    if created.isna().any() and len(history):
        first = history.groupby("opportunity_id")["entered_date"].min()
        created = created.fillna(deals["opportunity_id"].map(first))
    return created


def open_on(deals: pd.DataFrame, day, history: pd.DataFrame | None = None) -> pd.Series:
    """Mask of deals open at the end of ``day``: created by then and not closed by then.

    >>> d = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "status": ["won", "open", "lost"],
    ...                   "created_date": pd.to_datetime(["2026-01-01", "2026-01-05", "2026-03-01"]),
    ...                   "close_date": pd.to_datetime(["2026-02-01", None, "2026-03-09"])})
    >>> open_on(d, "2026-01-31").tolist()
    [True, True, False]
    """
    t = _ts(day)
    hist = history if history is not None else pd.DataFrame(columns=["opportunity_id"])
    created = _created(deals, hist)
    close = pd.to_datetime(deals["close_date"])
    status = deals["status"].astype(str)
    return ((created <= t) & (close.isna() | (close > t)) & status.isin([WON, LOST, OPEN])).fillna(
        False
    )


def deal_snapshots(deals: pd.DataFrame, history: pd.DataFrame, dates) -> pd.DataFrame:
    """One row per deal open on each date, as it stood that day.

    ``deals``: a :func:`~salesnb.queries.deals.deal_table` frame; ``history``: stage entries
    (``opportunity_id, stage, entered_date``, may be empty). Returns the deal's own columns
    (its ``stage`` renamed ``recorded_stage``) with ``ref_date, stage, stage_entered,
    days_in_stage, age_days``. ``stage`` is the stage held on ``ref_date`` according to the
    stage history; without one it is unknown (None), and so are the days in stage: a closed
    deal's recorded stage is where it ended, which would give its outcome away.
    """
    require_columns(
        deals, ["opportunity_id", "created_date", "close_date", "status"], "deal_snapshots"
    )
    d = deals.assign(created_date=_created(deals, history))
    d = d[d["created_date"].notna() & d["status"].isin([WON, LOST, OPEN])]
    d = d.rename(columns={"stage": "recorded_stage"})
    cols = list(d.columns) + ["ref_date", "stage", "stage_entered", "days_in_stage", "age_days"]
    ids = _text(d["opportunity_id"])
    by_id = np.argsort(ids, kind="stable")  # rows come out by date, then deal
    created = d["created_date"].to_numpy()[by_id]
    close = pd.to_datetime(d["close_date"]).to_numpy()[by_id]
    days = sorted({_ts(x) for x in dates})
    picked = [
        by_id[(created <= tv) & (np.isnat(close) | (close > tv))]
        for tv in (np.datetime64(t) for t in days)
    ]
    at = np.concatenate(picked) if picked else np.array([], dtype=np.intp)
    if not len(at):
        return pd.DataFrame(columns=cols)
    rows = d.iloc[at].reset_index(drop=True)
    ref = np.repeat(np.array(days, dtype="datetime64[ns]"), [len(p) for p in picked])
    rows["ref_date"] = ref
    rows["opportunity_id"] = pd.Series(ids[at], dtype=object)
    if len(history):
        stage, rows["stage_entered"] = _stage_held(ids, at, ref, history)
        rows["stage"] = pd.Series(stage, dtype=object)
        rows["days_in_stage"] = (rows["ref_date"] - rows["stage_entered"]).dt.days.astype(float)
    else:
        rows["stage"] = None
        rows["stage_entered"] = pd.NaT
        rows["days_in_stage"] = np.nan
    rows["age_days"] = (rows["ref_date"] - rows["created_date"]).dt.days.astype(float)
    return rows[cols]


def _stage_held(ids: np.ndarray, at: np.ndarray, days: np.ndarray, history: pd.DataFrame) -> tuple:
    """The stage deal ``ids[at]`` held on each of ``days`` and the day it entered it (NaN / NaT: none).

    The last stage entry of the deal on or before the day; of entries on the same day, the
    last in ``history``'s order. Entries are sorted once by deal and date; each (deal, day)
    is one binary search.
    """
    entered = pd.to_datetime(history["entered_date"]).to_numpy("datetime64[ns]")
    codes = pd.factorize(np.concatenate([ids, _text(history["opportunity_id"])]))[0]
    row_id, h_id = codes[: len(ids)][at], codes[len(ids) :]
    when = np.unique(entered)  # one integer per (deal, date), ordered by deal then date
    span = len(when) + 1
    h_at = h_id * span + np.searchsorted(when, entered)
    order = np.argsort(h_at, kind="stable")
    # the entry before the first one of the deal entered after the day
    after = row_id * span + np.searchsorted(when, days, side="right")
    last = np.searchsorted(h_at[order], after) - 1
    found = last >= 0
    found[found] = h_id[order[last[found]]] == row_id[found]
    stage = np.full(len(at), np.nan, dtype=object)
    stage[found] = history["stage"].astype(object).to_numpy()[order[last[found]]]
    since = np.full(len(at), np.datetime64("NaT"), dtype="datetime64[ns]")
    since[found] = entered[order[last[found]]]
    return stage, since


def _text(s: pd.Series) -> np.ndarray:
    """``s.astype(str)`` as Python strings in an object array (text passes as it is)."""
    values = s.to_numpy(object)
    if pd.api.types.infer_dtype(values, skipna=False) == "string":
        return values
    return s.astype(str).to_numpy(object)


def _closed_before(ev: dict, keys: np.ndarray | None, *days: np.ndarray) -> list[tuple]:
    """Won and closed counts of each key over events (arrays ``key, close_date, won``) before each day.

    One ``(won, closed)`` pair of arrays per array of ``days`` (aligned with ``keys``; None
    counts every event). ``won`` is 1 or 0, so the counts are whole numbers, exact in any
    order of summation. The days are taken in order, each adding the events closed since
    the one before to a running count per key, which its rows then read. A missing key
    counts nothing.
    """
    size, n_ev = (len(days[0]) if days else 0), len(ev["won"])
    if not n_ev or not size:
        return [(np.zeros(size), np.zeros(size)) for _ in days]
    if keys is None:
        ev_key, key = np.zeros(n_ev, dtype=np.intp), np.zeros(size, dtype=np.intp)
    else:
        codes = pd.factorize(np.concatenate([ev["key"], np.asarray(keys, object)]))[0]
        ev_key, key = codes[:n_ev], codes[n_ev:]
    n_keys = int(max(ev_key.max(), key.max())) + 1
    mine = ev_key >= 0
    closed = ev["close_date"][mine]
    by_date = np.argsort(closed, kind="stable")
    closed, ev_key = closed[by_date], ev_key[mine][by_date]
    ev_won = ev["won"][mine][by_date]
    return [_running_counts(closed, ev_key, ev_won, key, day, n_keys) for day in days]


def _running_counts(closed, ev_key, ev_won, key, day, n_keys: int) -> tuple:
    """:func:`_closed_before` for one array of days; the events sorted by close date."""
    day = np.asarray(day, dtype="datetime64[ns]")
    which, uniq = pd.factorize(day)
    rows = np.argsort(which, kind="stable")  # the rows of each distinct day, together
    bounds = np.concatenate([[0], np.cumsum(np.bincount(which, minlength=len(uniq)))])
    won_by_key, n_by_key = np.zeros(n_keys), np.zeros(n_keys)
    won, n = np.zeros(len(day)), np.zeros(len(day))
    start = 0
    for j in np.argsort(uniq, kind="stable"):
        stop = int(np.searchsorted(closed, uniq[j], side="left"))  # closed before the day
        if stop > start:
            won_by_key += np.bincount(ev_key[start:stop], ev_won[start:stop], minlength=n_keys)
            n_by_key += np.bincount(ev_key[start:stop], minlength=n_keys)
            start = stop
        r = rows[bounds[j] : bounds[j + 1]]
        r = r[key[r] >= 0]
        won[r], n[r] = won_by_key[key[r]], n_by_key[key[r]]
    return won, n


def prior_win_rates(
    rows: pd.DataFrame,
    deals: pd.DataFrame,
    key: str,
    prior_weight: float = 10.0,
    window_days: int | None = None,
) -> pd.DataFrame:
    """Win rate of each row's ``key`` (rep_id, customer_id) over deals closed before its ``ref_date``.

    Shrunk toward the company's win rate over the same days: ``(won + w x p0) / (closed + w)``
    with ``w = prior_weight`` pseudo-deals, so a rep with two wins out of two is not a 100 %
    rep. Only deals closed strictly before the row's own reference date count (and, with
    ``window_days``, no earlier than that many days before it). Returns ``rate, closed``
    aligned with ``rows`` (``rate`` NaN when nothing had closed yet).

    >>> d = pd.DataFrame({"rep_id": ["a", "a", "b"], "status": ["won", "lost", "won"],
    ...                   "close_date": pd.to_datetime(["2026-01-05", "2026-01-06", "2026-01-07"])})
    >>> r = pd.DataFrame({"rep_id": ["a", "a"], "ref_date": pd.to_datetime(["2026-01-06", "2026-02-01"])})
    >>> prior_win_rates(r, d, "rep_id", prior_weight=0).values.tolist()
    [[1.0, 1.0], [0.5, 2.0]]
    >>> prior_win_rates(r, d, "rep_id", prior_weight=0, window_days=20).values.tolist()
    [[1.0, 1.0], [nan, 0.0]]
    """
    require_columns(rows, [key, "ref_date"], "prior_win_rates(rows)")
    require_columns(deals, [key, "status", "close_date"], "prior_win_rates(deals)")
    closed = deals[deals["status"].isin([WON, LOST]) & deals["close_date"].notna()]
    out = pd.DataFrame(index=rows.index, data={"rate": np.nan, "closed": 0.0})
    if closed.empty or rows.empty:
        return out
    ev = {
        "close_date": pd.to_datetime(closed["close_date"]).to_numpy("datetime64[ns]"),
        "won": (closed["status"] == WON).to_numpy(float),
        "key": closed[key].to_numpy(object),
    }
    ref = pd.to_datetime(rows["ref_date"]).astype("datetime64[ns]").to_numpy()
    keys = rows[key].astype(object).to_numpy()
    days = [ref] if window_days is None else [ref, ref - np.timedelta64(int(window_days), "D")]
    everyone, per_key = _closed_before(ev, None, *days), _closed_before(ev, keys, *days)
    (all_won, all_n), (won, n) = everyone[0], per_key[0]
    if window_days is not None:  # less those closed before the window opened
        all_won, all_n = all_won - everyone[1][0], all_n - everyone[1][1]
        won, n = won - per_key[1][0], n - per_key[1][1]
    w = float(prior_weight)
    with np.errstate(invalid="ignore", divide="ignore"):
        p0 = np.where(all_n > 0, all_won / all_n, np.nan)
        rate = (won + w * p0) / (n + w) if w > 0 else np.where(n > 0, won / n, p0)
    out["rate"] = rate
    out["closed"] = n
    return out


def add_features(
    rows: pd.DataFrame,
    deals: pd.DataFrame,
    prior_weight: float = 10.0,
    rep_window_days: int | None = None,
) -> pd.DataFrame:
    """Snapshot rows with the model's feature columns (see ``NUMERIC_FEATURES``).

    Logs are ``log1p`` of days and amounts; prior win rates come from
    :func:`prior_win_rates`. Categorical features keep their raw values (``None`` when absent).
    """
    out = rows.copy(deep=False)  # copy-on-write: the columns set here leave ``rows`` as it is
    out["log_days_in_stage"] = np.log1p(out["days_in_stage"].astype(float).clip(lower=0))
    out["log_age_days"] = np.log1p(out["age_days"].astype(float).clip(lower=0))
    out["log_amount"] = np.log1p(out["amount"].astype(float).clip(lower=0))
    out["discount"] = out["discount"].astype(float)
    rep = prior_win_rates(out, deals, "rep_id", prior_weight, rep_window_days)
    acct = prior_win_rates(out, deals, "customer_id", prior_weight)
    out["rep_win_rate"] = rep["rate"].to_numpy()
    out["account_win_rate"] = acct["rate"].to_numpy()
    out["log_account_deals"] = np.log1p(acct["closed"].to_numpy())
    return out


def labelled(rows: pd.DataFrame, closed_by, dates=None) -> pd.DataFrame:
    """Rows whose deal was won or lost on or before ``closed_by``, with ``won`` = 1 / 0.

    ``dates``: only the snapshots taken on these dates (None: all).
    """
    c = pd.to_datetime(rows["close_date"])
    keep = rows["status"].isin([WON, LOST]) & c.notna() & (c <= _ts(closed_by))
    if dates is not None:
        keep &= rows["ref_date"].isin(dates)
    out = rows[keep]
    return out.assign(won=(out["status"] == WON).astype(int))


def resolution_days(deals: pd.DataFrame, closed_by, q: float = 0.9, floor: int = 7) -> int:
    """Days within which ``q`` of the deals of either outcome closed (created -> close), at least ``floor``.

    The larger of the won deals' and the lost deals' ``q`` quantile, over deals closed by
    ``closed_by``: won deals usually take longer, and snapshots that stop this long before
    labels are read leave few deals of either kind still open.

    >>> d = pd.DataFrame({"status": ["won"] * 4 + ["lost"], "created_date": pd.to_datetime(["2026-01-01"] * 5),
    ...                   "close_date": pd.to_datetime(["2026-01-11", "2026-01-21", "2026-01-31", "2026-02-10", "2026-01-03"])})
    >>> resolution_days(d, "2026-12-31")
    37
    """
    c = pd.to_datetime(deals["close_date"])
    ok = deals["status"].isin([WON, LOST]) & c.notna() & (c <= _ts(closed_by))
    cycle = (c - pd.to_datetime(deals["created_date"])).dt.days
    found = [
        float(np.quantile(v.to_numpy(float), q))
        for status in (WON, LOST)
        if len(v := cycle[ok & (deals["status"] == status)].dropna())
    ]
    return max(floor, math.ceil(max(found))) if found else floor


@dataclass(frozen=True)
class HoldoutPlan:
    """Which snapshot dates train and which test, and when labels are read."""

    as_of: pd.Timestamp
    cut: pd.Timestamp  # train on deals closed before it, test on snapshots from it
    horizon_days: int  # snapshots stop this long before labels are read
    train_dates: list  # for the hold-out model (labels: closed before the cut)
    holdout_dates: list  # scored by both, labels: closed by as_of
    final_dates: list  # for the model that scores today's pipeline (labels: closed by as_of)

    def describe(self) -> str:
        """One sentence for the page."""
        n = len(self.holdout_dates)
        return plural(
            n,
            "Hold-out: models trained on deals closed before **{cut}** and scored on every deal "
            "open on {n} date from then on, whose outcome was known by {as_of}. Snapshots stop "
            "{days} days before the day their outcome is read (90 % of won and of lost deals "
            "close within that many days of being created), so slow deals are not missing from "
            "them.",
            "Hold-out: models trained on deals closed before **{cut}** and scored on every deal "
            "open on {n} dates from then on, whose outcome was known by {as_of}. Snapshots stop "
            "{days} days before the day their outcome is read (90 % of won and of lost deals "
            "close within that many days of being created), so slow deals are not missing from "
            "them.",
        ).format(cut=_day(self.cut), n=n, as_of=_day(self.as_of), days=self.horizon_days)


def holdout_plan(
    deals: pd.DataFrame, as_of, holdout_days: int = 180, snapshot_days: int = 28
) -> HoldoutPlan:
    """The snapshot grid (every ``snapshot_days`` back from ``as_of``) split at ``as_of - holdout_days``."""
    t = _ts(as_of)
    cut = t - pd.Timedelta(days=int(holdout_days))
    closed = deals[deals["status"].isin([WON, LOST]) & deals["close_date"].notna()]
    before_cut = closed[pd.to_datetime(closed["close_date"]) < cut]
    h = resolution_days(before_cut if len(before_cut) else closed, t)
    created = pd.to_datetime(deals["created_date"]).dropna()
    first = created.min() if len(created) and len(closed) else t  # nothing closed: no training
    grid = snapshot_dates(t, first, snapshot_days)
    train = [d for d in grid if d <= cut - pd.Timedelta(days=h)]
    hold = [d for d in grid if cut <= d <= t - pd.Timedelta(days=h)]
    if not hold:  # a hold-out shorter than the horizon: its first snapshot at least
        hold = [d for d in grid if d >= cut][:1]
    final = [d for d in grid if d <= t - pd.Timedelta(days=h)]
    return HoldoutPlan(t, cut, h, train, hold, final)


#: model features read straight from an exported deal field, and that field: the ones a CRM
#: may fill in only when the deal ends (features built here from dates are known by design)
EXPORTED_FIELDS = {
    "log_amount": "amount",
    "discount": "discount",
    "source": "source",
    "segment": "segment",
    "product_group": "product_group",
    "competitor": "competitor",
}


def _filled(s: pd.Series) -> pd.Series:
    """A value is there: not missing, not blank text, not a zero amount."""
    if pd.api.types.is_numeric_dtype(s):
        return s.notna() & (s != 0)
    codes, labels = _level_codes(s)
    filled = np.array([v != NONE_LEVEL and bool(v.strip()) for v in labels], dtype=bool)
    return pd.Series(filled[codes], index=s.index, dtype=bool)


def recorded_at_close(
    labelled_rows: pd.DataFrame,
    columns: Sequence[str],
    rare: float = 0.01,
    common: float = 0.05,
) -> dict[str, str]:
    """Features whose deal field is filled on one outcome and (almost) never on the other.

    Such a field is written when a deal ends, not known while it is open: the demo records
    a competitor only on deals lost to one, a CRM export may carry an amount only for won
    deals (0 for lost ones). Measured per deal on labelled training rows, on the exported
    field behind each feature (:data:`EXPORTED_FIELDS`; missing, blank and 0 count as not
    filled): filled on less than ``rare`` of one outcome's deals and at least ``common`` of
    the other's, the feature is left out. Returns ``{feature: reason}``.

    >>> r = pd.DataFrame({"opportunity_id": list("abcd"), "won": [1, 1, 0, 0],
    ...                   "competitor": [None, None, "X", None], "source": ["W", "E", "W", "E"],
    ...                   "amount": [10.0, 20.0, 0.0, 0.0]})
    >>> for k, v in recorded_at_close(r, ["competitor", "source", "log_amount"]).items(): print(k, "-", v)
    competitor - competitor filled on 50% of lost deals and 0% of won ones: recorded when a deal ends, not known while it is open
    log_amount - amount filled on 100% of won deals and 0% of lost ones: recorded when a deal ends, not known while it is open
    """
    out = {}
    per = labelled_rows.drop_duplicates("opportunity_id")
    won = per["won"] == 1
    for feature in columns:
        col = EXPORTED_FIELDS.get(feature)
        if col is None or col not in per.columns:
            continue
        filled = _filled(per[col])
        fw = float(filled[won].mean()) if won.any() else 0.0
        fl = float(filled[~won].mean()) if (~won).any() else 0.0
        if min(fw, fl) < rare and max(fw, fl) >= common:
            message = (
                _(
                    "{field} filled on {high} of lost deals and {low} of won ones: recorded "
                    "when a deal ends, not known while it is open"
                )
                if fl > fw
                else _(
                    "{field} filled on {high} of won deals and {low} of lost ones: recorded "
                    "when a deal ends, not known while it is open"
                )
            )
            out[feature] = message.format(
                field=col, high=f"{max(fw, fl):.0%}", low=f"{min(fw, fl):.0%}"
            )
    return out


@dataclass
class FeatureSpec:
    """How training rows become a design matrix: means and spreads, category levels."""

    numeric: dict = field(default_factory=dict)  # name -> (mean, sd)
    categorical: dict = field(default_factory=dict)  # name -> (levels, reference)

    def columns(self) -> list[str]:
        names = ["const"] + list(self.numeric)
        for col, (levels, ref) in self.categorical.items():
            names += [f"{col}={lv}" for lv in levels if lv != ref]
        return names

    def labels(self, translated: bool = False) -> list[str]:
        """The coefficients as a page names them; ``translated``: in the page's language
        (otherwise in English, as ``<study>.json`` records the top driver)."""
        tr = _ if translated else (lambda s: s)
        numeric = tr(N_("{feature} (+1 SD)"))
        level = tr(N_("{feature}: {level} (vs {reference})"))
        names = [tr(N_("intercept"))] + [
            numeric.format(feature=tr(NUMERIC_FEATURES.get(c, c))) for c in self.numeric
        ]
        for col, (levels, ref) in self.categorical.items():
            what = tr(CATEGORICAL_FEATURES.get(col, col))
            names += [
                level.format(feature=what, level=lv, reference=ref) for lv in levels if lv != ref
            ]
        return names


def _level_codes(s: pd.Series) -> tuple[np.ndarray, np.ndarray]:
    """Category labels as codes into a label array: ``labels[codes]`` is :func:`_levels`.

    Text values are labelled by their distinct values only (a column of tens of thousands of
    rows holds a handful); any other value by its ``str``. ``(none)`` for a missing value.
    """
    values = s.astype(object).to_numpy()
    codes, uniques = pd.factorize(values)  # missing: -1, the label appended last
    if not all(isinstance(u, str) for u in uniques):  # numbers, dates: their text
        text = [NONE_LEVEL if v is None or v != v else str(v) for v in values]
        codes, uniques = pd.factorize(np.array(text, dtype=object))
    labels = np.empty(len(uniques) + 1, dtype=object)
    labels[:-1] = uniques
    labels[-1] = NONE_LEVEL
    return codes, labels


def _levels(s: pd.Series) -> pd.Series:
    """Category labels as text, ``(none)`` for a missing value."""
    codes, labels = _level_codes(s)
    return pd.Series(labels[codes], index=s.index, dtype=object)


def fit_spec(
    rows: pd.DataFrame,
    numeric: Sequence[str],
    categorical: Sequence[str],
    min_level_rows: int = 30,
    max_levels: int = 12,
    codes: dict | None = None,
) -> FeatureSpec:
    """Feature spec from training rows: numeric columns with a spread, categories with 2+ levels.

    A level seen on fewer than ``min_level_rows`` rows, or beyond the ``max_levels`` most
    frequent (a product id with hundreds of values), joins ``(other)``; the most frequent
    level is the reference. Constant or empty columns are left out. ``codes``: the
    categories' :func:`_level_codes` when already computed (``{column: (codes, labels)}``).
    """
    codes = codes or {}
    spec = FeatureSpec()
    for c in numeric:
        if c not in rows.columns:
            continue
        v = rows[c].astype(float)
        if v.notna().sum() < 2:
            continue
        sd = float(v.std())
        if not sd > 1e-12:
            continue
        spec.numeric[c] = (float(v.mean()), sd)
    for c in categorical:
        if c not in rows.columns:
            continue
        found, labels = codes[c] if c in codes else _level_codes(rows[c])
        counts = pd.Series(labels[found], dtype=object).value_counts()
        keep = counts[counts >= min_level_rows].sort_values(ascending=False, kind="stable")
        keep = keep.iloc[:max_levels]
        levels = sorted(keep.index)
        if len(keep) < len(counts):
            levels.append(OTHER_LEVEL)
        if len(levels) < 2:
            continue
        ref = keep.sort_values(ascending=False, kind="stable").index[0] if len(keep) else levels[0]
        spec.categorical[c] = (levels, ref)
    return spec


def design_matrix(spec: FeatureSpec, rows: pd.DataFrame, codes: dict | None = None) -> np.ndarray:
    """The design matrix of ``rows`` under ``spec`` (missing numbers take the training mean).

    ``codes``: as for :func:`fit_spec`.
    """
    codes = codes or {}
    n = len(rows)
    cols = [np.ones(n)]
    for c, (mean, sd) in spec.numeric.items():
        v = rows[c].astype(float).to_numpy() if c in rows.columns else np.full(n, np.nan)
        cols.append(np.where(np.isnan(v), 0.0, (v - mean) / sd))
    for c, (levels, ref) in spec.categorical.items():
        col = rows[c] if c in rows.columns else pd.Series([None] * n, dtype=object)
        found, labels = codes[c] if c in codes else _level_codes(col)
        if OTHER_LEVEL in levels:
            labels = np.array([v if v in levels else OTHER_LEVEL for v in labels], dtype=object)
        cols += [(labels == level)[found].astype(float) for level in levels if level != ref]
    return np.column_stack(cols)


class _BinomialLikelihood:
    """Log-likelihood, score and Hessian of statsmodels' GLM Binomial (logit link) of ``y`` on ``x``.

    The same formulas, in the same order, as ``GLM(y, x, family=Binomial())`` with unit
    weights and scale 1 (its ``loglike``, ``score``, ``score_obs`` and observed ``hessian``),
    through the family's own link and variance functions: the numbers are GLM's to the last
    bit. Two things are not repeated: GLM's set-up computes the rank of ``x`` (an SVD of
    every row), which the Newton steps never read, and each of its methods recomputes the
    probabilities; here those of the last coefficients asked for are kept.
    """

    def __init__(self, y: np.ndarray, x: np.ndarray):
        from statsmodels.genmod.families import Binomial

        self.family = Binomial()
        self.y, self.x = y, x
        self.weights = np.ones(len(y))  # GLM's frequency and variance weights
        self._key, self._at = None, {}

    def _terms(self, beta: np.ndarray) -> dict:
        """Probabilities (GLM ``predict``: no offset) at ``beta``, and what is derived from them."""
        key = np.asarray(beta, dtype=float).tobytes()
        if key != self._key:
            self._key = key
            self._at = {"mu": self.family.fitted(np.dot(self.x, beta) + 0.0 + 0.0)}
        return self._at

    def _term(self, beta: np.ndarray, name: str) -> np.ndarray:
        """``deriv`` (of the link), ``var`` (variance) or ``score_factor`` at ``beta``, computed once."""
        at = self._terms(beta)
        if name not in at:
            fam, mu = self.family, at["mu"]
            if name == "score_factor":
                at[name] = (self.y - mu) / self._term(beta, "deriv") / self._term(beta, "var")
            else:
                at[name] = fam.link.deriv(mu) if name == "deriv" else fam.variance(mu)
        return at[name]

    def loglike(self, beta: np.ndarray) -> float:
        mu = self._terms(beta)["mu"]
        return self.family.loglike(self.y, mu, self.weights, self.weights, 1.0)

    def score(self, beta: np.ndarray) -> np.ndarray:
        return np.dot(self._term(beta, "score_factor"), self.x)

    def score_obs(self, beta: np.ndarray) -> np.ndarray:
        return self._term(beta, "score_factor")[:, None] * self.x

    def hessian(self, beta: np.ndarray) -> np.ndarray:
        """The observed Hessian (for the logit link it equals the expected one, up to rounding)."""
        fam, mu = self.family, self._terms(beta)["mu"]
        deriv, var = self._term(beta, "deriv"), self._term(beta, "var")
        eim_factor = 1 / (deriv**2 * var)
        tmp = var * fam.link.deriv2(mu)
        tmp += fam.variance.deriv(mu) * deriv
        factor = eim_factor * (1 + self._term(beta, "score_factor") * tmp)
        weighted = np.empty_like(self.x, dtype=float)
        np.multiply(self.x.T, factor, out=weighted.T)
        return -weighted.T.dot(self.x)


@dataclass
class WinModel:
    """A fitted win-probability model (see the module docstring)."""

    spec: FeatureSpec
    params: np.ndarray
    cov: np.ndarray
    rows: int
    deals: int
    won: int
    l2_penalty: float
    left_out: dict = field(default_factory=dict)  # feature -> why it is not in the model

    def predict(self, rows: pd.DataFrame) -> np.ndarray:
        """Win probability of each row."""
        if not len(rows):
            return np.array([], dtype=float)
        return expit(design_matrix(self.spec, rows) @ self.params)


def model_gap(train: pd.DataFrame, min_closed: int = 30, min_per_outcome: int = 5) -> str | None:
    """Why no win model can be fitted on labelled rows ``train`` (None when one can).

    >>> model_gap(pd.DataFrame({"opportunity_id": ["a", "b"], "won": [1, 1]}), min_closed=2)
    'every deal that closed in the training window was won: nothing tells a winner from a loser'
    """
    if train.empty:
        return _("no deal closed in the training window, so there is nothing to learn from")
    per = train.drop_duplicates("opportunity_id")
    won, n = int(per["won"].sum()), len(per)
    if n - won == 0:
        return _(
            "every deal that closed in the training window was won: nothing tells a winner "
            "from a loser"
        )
    if won == 0:
        return _(
            "every deal that closed in the training window was lost: nothing tells a winner "
            "from a loser"
        )
    if n < min_closed:
        return _(
            "only {n} deals closed in the training window (the model needs {needed}, "
            "parameter min_closed_deals)"
        ).format(n=n, needed=min_closed)
    if min(won, n - won) < min_per_outcome:
        few = (
            _(
                "only {n} won deals in the training window (the model needs {needed} of each "
                "outcome)"
            )
            if won < n - won
            else _(
                "only {n} lost deals in the training window (the model needs {needed} of each "
                "outcome)"
            )
        )
        return few.format(n=min(won, n - won), needed=min_per_outcome)
    return None


def fit_win_model(
    train: pd.DataFrame,
    l2_penalty: float = 1.0,
    numeric: Sequence[str] | None = None,
    categorical: Sequence[str] | None = None,
    min_level_rows: int = 30,
    max_iter: int = 100,
    unpenalized: Sequence[str] = ("stage",),
) -> WinModel:
    """Penalised logistic regression of ``won`` on the snapshot features of ``train``.

    ``train``: labelled snapshot rows (:func:`labelled` after :func:`add_features`).
    ``l2_penalty``: ridge penalty on the standardised coefficients (the intercept is free);
    1.0 is a little: a standard-normal prior on each log-odds coefficient.
    """
    require_columns(train, ["opportunity_id", "won"], "fit_win_model")
    numeric = list(NUMERIC_FEATURES) if numeric is None else list(numeric)
    categorical = list(CATEGORICAL_FEATURES) if categorical is None else list(categorical)
    per = train.drop_duplicates("opportunity_id")
    left_out = recorded_at_close(per, categorical + numeric)
    categorical = [c for c in categorical if c not in left_out]
    codes = {c: _level_codes(train[c]) for c in categorical if c in train.columns}
    spec = fit_spec(
        train, [c for c in numeric if c not in left_out], categorical, min_level_rows, codes=codes
    )
    x = design_matrix(spec, train, codes)
    y = train["won"].to_numpy(float)
    k = x.shape[1]
    pen = np.full(k, float(l2_penalty))
    free = tuple(f"{c}=" for c in unpenalized)
    pen[
        [i for i, name in enumerate(spec.columns()) if name == "const" or name.startswith(free)]
    ] = 0.0
    b = np.zeros(k)
    b[0] = math.log(y.mean() / (1 - y.mean()))
    with warnings.catch_warnings(), np.errstate(all="ignore"):
        warnings.simplefilter("ignore")
        glm = _BinomialLikelihood(y, x)

        def objective(beta):
            return glm.loglike(beta) - 0.5 * float(np.sum(pen * beta**2))

        f = objective(b)
        for _ in range(max_iter):
            g = glm.score(b) - pen * b
            info = -glm.hessian(b) + np.diag(pen)
            step = np.linalg.solve(info + 1e-10 * np.eye(k), g)
            t = 1.0
            while t > 1e-6:
                cand = b + t * step
                fc = objective(cand)
                if np.isfinite(fc) and fc >= f - 1e-10:
                    break
                t /= 2
            b, f_old, f = cand, f, fc
            if np.max(np.abs(t * step)) < 1e-8 or abs(f - f_old) < 1e-10:
                break
        info = -glm.hessian(b) + np.diag(pen)
        bread = np.linalg.pinv(info)
        scores = glm.score_obs(b)
    groups = pd.factorize(train["opportunity_id"])[0]
    n_groups = int(groups.max()) + 1
    # per-deal score sums, row by row in order (as np.add.at would, faster)
    meat_sum = np.column_stack(
        [np.bincount(groups, weights=scores[:, j], minlength=n_groups) for j in range(k)]
    )
    adj = n_groups / (n_groups - 1) if n_groups > 1 else 1.0
    cov = bread @ (meat_sum.T @ meat_sum) * adj @ bread
    return WinModel(
        spec=spec,
        params=b,
        cov=cov,
        rows=len(train),
        deals=len(per),
        won=int(per["won"].sum()),
        l2_penalty=float(l2_penalty),
        left_out=left_out,
    )


#: ridge penalties tried by ``l2_penalty="auto"`` (the largest all but removes the non-stage features)
PENALTY_GRID = (1.0, 10.0, 100.0, 1_000.0, 10_000.0, 100_000.0)


def log_loss(y, p) -> float:
    """Mean negative log-likelihood of the outcomes under the probabilities (lower is better).

    >>> round(log_loss([1, 0], [0.8, 0.4]), 4)
    0.367
    """
    y = np.asarray(y, dtype=float)
    p = np.clip(np.asarray(p, dtype=float), 1e-12, 1 - 1e-12)
    return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))


def parse_penalty(value) -> float | None:
    """``"auto"`` (None: choose by validation) or a non-negative number.

    >>> parse_penalty("auto") is None, parse_penalty("2.5"), parse_penalty(3)
    (True, 2.5, 3.0)
    """
    if isinstance(value, str) and value.strip().lower() in ("", "auto"):
        return None
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise ValueError(f"l2_penalty must be 'auto' or a number, not {value!r}") from None
    if not v >= 0:
        raise ValueError(f"l2_penalty must be 0 or more, not {value!r}")
    return v


def tuned_win_model(
    train: pd.DataFrame,
    rows: pd.DataFrame,
    inner_cut,
    horizon_days: int,
    penalty=None,
    min_closed: int = 30,
    default_penalty: float = 1.0,
) -> tuple[WinModel, pd.DataFrame]:
    """A win model fitted on ``train``, its ridge penalty chosen on time.

    ``train``: labelled training snapshots; ``rows``: every snapshot row (features). With
    ``penalty`` None each penalty of :data:`PENALTY_GRID` is fitted on the snapshots taken
    at least ``horizon_days`` before ``inner_cut`` of deals closed before it, and scored (log
    loss) on the training snapshots from ``inner_cut`` on — the hold-out's shape one step
    earlier. The best (the larger on a tie) is refitted on all of ``train``. Returns the model
    and the validation table (``l2_penalty, log_loss``; empty when the penalty was given, or
    when the earlier window cannot validate and ``default_penalty`` is used).
    """
    cut = _ts(inner_cut)
    ref = pd.to_datetime(rows["ref_date"])
    table = pd.DataFrame(columns=["l2_penalty", "log_loss"])
    chosen = penalty
    if chosen is None:
        val = train[pd.to_datetime(train["ref_date"]) >= cut]
        early = ref <= cut - pd.Timedelta(days=int(horizon_days))
        # no validation snapshot with both outcomes (often): no earlier rows to gather either
        both = val["won"].nunique() == 2
        fit_rows = labelled(rows[early], cut - pd.Timedelta(days=1)) if both else None
        if both and model_gap(fit_rows, min_closed) is None:
            scores = [
                (lam, log_loss(val["won"], fit_win_model(fit_rows, lam).predict(val)))
                for lam in PENALTY_GRID
            ]
            table = pd.DataFrame(scores, columns=["l2_penalty", "log_loss"])
            best = table["log_loss"].min()
            chosen = float(table.loc[table["log_loss"] <= best + 1e-9, "l2_penalty"].max())
        else:
            chosen = default_penalty
    return fit_win_model(train, chosen), table


def driver_table(
    model: WinModel, top: int = 12, alpha: float = 0.05, translated: bool = False
) -> pd.DataFrame:
    """The largest effects on the odds of winning, with cluster-robust confidence intervals.

    Returns ``driver, coefficient, ci_low, ci_high, odds_ratio, or_low, or_high`` (log-odds
    per +1 SD of a number, or for a category against its reference level), the ``top``
    largest in absolute size, largest first. ``translated``: drivers named in the page's
    language (:meth:`FeatureSpec.labels`).
    """
    se = np.sqrt(np.clip(np.diag(model.cov), 0, None))
    z = norm.ppf(1 - alpha / 2)
    df = pd.DataFrame(
        {
            "driver": model.spec.labels(translated),
            "coefficient": model.params,
            "ci_low": model.params - z * se,
            "ci_high": model.params + z * se,
        }
    ).iloc[1:]
    df["odds_ratio"] = np.exp(df["coefficient"])
    df["or_low"] = np.exp(df["ci_low"])
    df["or_high"] = np.exp(df["ci_high"])
    df = df.reindex(df["coefficient"].abs().sort_values(ascending=False, kind="stable").index)
    return df.head(top).reset_index(drop=True)


def stage_probabilities(conversion: pd.DataFrame | None) -> dict:
    """``{stage: win rate of deals that passed it}`` from a funnel ``stage_conversion`` table."""
    if conversion is None or conversion.empty:
        return {}
    c = conversion.dropna(subset=["win_from_stage"])
    return dict(zip(c["stage"].astype(str), c["win_from_stage"].astype(float), strict=True))


def stage_baseline(rows: pd.DataFrame, probabilities: dict, default: float) -> np.ndarray:
    """The CRM convention: each row gets its stage's fixed probability (``default`` otherwise).

    >>> stage_baseline(pd.DataFrame({"stage": ["A", "B", None]}), {"A": 0.2}, 0.1).tolist()
    [0.2, 0.1, 0.1]
    """

    def one(s) -> float:
        return probabilities.get(str(s), default) if s is not None else default

    st = rows["stage"].astype(object).to_numpy()
    codes, uniques = pd.factorize(st)
    if not all(isinstance(u, str) for u in uniques):  # numbers as stages: value by value
        return np.array([one(s) for s in st], dtype=float)
    out = np.array([one(u) for u in uniques] + [np.nan], dtype=float)[codes]
    for i in np.flatnonzero(codes < 0):  # missing: None, or a NaN read as "nan"
        out[i] = one(st[i])
    return out


def overall_win_rate(deals: pd.DataFrame, closed_by) -> float:
    """Won over closed deals closed on or before ``closed_by`` (NaN when none)."""
    c = pd.to_datetime(deals["close_date"])
    ok = deals["status"].isin([WON, LOST]) & c.notna() & (c <= _ts(closed_by))
    n = int(ok.sum())
    return float((deals.loc[ok, "status"] == WON).sum() / n) if n else float("nan")


def compare_on_holdout(y, model_p, baseline_p) -> pd.DataFrame:
    """AUC and Brier score of the model and of the stage baseline on the same hold-out rows.

    Returns ``method, auc, brier`` (model first; a method without scores gets NaN).
    """
    rows = []
    for name, p in (
        ("Win model", model_p),
        ("Stage baseline (fixed probability per stage)", baseline_p),
    ):
        if p is None:
            rows.append((name, float("nan"), float("nan")))
        else:
            rows.append((name, auc(y, p), brier(y, p)))
    return pd.DataFrame(rows, columns=["method", "auc", "brier"])


def calibration_both(y, model_p, baseline_p, bins: int = 10) -> pd.DataFrame:
    """:func:`calibration_table` for each method, stacked with a ``method`` column."""
    parts = []
    for name, p in (("Win model", model_p), ("Stage baseline", baseline_p)):
        if p is not None:
            parts.append(calibration_table(y, p, bins).assign(method=name))
    if not parts:
        return pd.DataFrame(columns=["bin", "deals", "predicted", "observed", "method"])
    return pd.concat(parts, ignore_index=True)


def describe_margin(comparison: pd.DataFrame) -> str:
    """A sentence on how far the model beats (or trails) the stage baseline on the hold-out.

    >>> c = pd.DataFrame({"method": ["m", "s"], "auc": [0.80, 0.75], "brier": [0.10, 0.12]})
    >>> describe_margin(c)
    'On the hold-out the win model ranks deals better than the fixed stage probabilities: AUC 0.800 vs 0.750 (+0.050), Brier score 0.1000 vs 0.1200 (lower is better).'
    """
    (ma, mb), (sa, sb) = comparison[["auc", "brier"]].to_numpy()
    if any(pd.isna(v) for v in (ma, sa)):
        return _("The hold-out cannot compare the two: one of them has no score.")
    diff = ma - sa
    sentence = (
        _(
            "On the hold-out the win model ranks deals better than the fixed stage "
            "probabilities: AUC {model_auc} vs {stage_auc} ({diff}), Brier score {model_brier} "
            "vs {stage_brier} (lower is better)."
        )
        if diff > 0.0005
        else _(
            "On the hold-out the win model ranks deals worse than the fixed stage "
            "probabilities: AUC {model_auc} vs {stage_auc} ({diff}), Brier score {model_brier} "
            "vs {stage_brier} (lower is better)."
        )
        if diff < -0.0005
        else _(
            "On the hold-out the win model ranks deals as well as the fixed stage "
            "probabilities: AUC {model_auc} vs {stage_auc} ({diff}), Brier score {model_brier} "
            "vs {stage_brier} (lower is better)."
        )
    )
    return sentence.format(
        model_auc=f"{ma:.3f}",
        stage_auc=f"{sa:.3f}",
        diff=f"{diff:+.3f}",
        model_brier=f"{mb:.4f}",
        stage_brier=f"{sb:.4f}",
    )


def _auc_of_draws(y, p):
    """:func:`auc` of resamples, given how many times each row was drawn (one resample a row).

    No row is repeated: a distinct score's average rank in a resample is the draws of the
    lower scores plus half its own draws, plus one half. Every rank is a multiple of one
    half, so the sums are exact: the same numbers as :func:`auc` of the repeated rows.
    """
    y = np.asarray(y, dtype=float)
    p = np.asarray(p, dtype=float)
    ok = ~(np.isnan(y) | np.isnan(p))
    y, p = y[ok], p[ok]
    tie = np.unique(p, return_inverse=True)[1].reshape(-1)  # rank among the distinct scores
    by_score = np.argsort(tie, kind="stable")
    ends = np.cumsum(np.bincount(tie, minlength=int(tie.max()) + 1 if len(tie) else 0))
    won, lost = y == 1, y == 0

    def of(draws: np.ndarray) -> np.ndarray:
        w = draws[:, ok]
        pos, neg = w[:, won].sum(axis=1), w[:, lost].sum(axis=1)
        below = np.zeros((len(w), w.shape[1] + 1), dtype=w.dtype)
        np.cumsum(w[:, by_score], axis=1, out=below[:, 1:])
        below = below[:, np.concatenate([[0], ends])]  # draws below each distinct score, and all
        drawn = np.diff(below, axis=1)
        mean_rank = below[:, :-1] + (drawn + 1) / 2
        rank_sum = (w[:, won] * mean_rank[:, tie[won]]).sum(axis=1)
        with np.errstate(invalid="ignore", divide="ignore"):
            out = (rank_sum - pos * (pos + 1) / 2) / (pos * neg)
        return np.where((pos > 0) & (neg > 0), out, np.nan)

    return of


def auc_difference_interval(
    y, p_model, p_base, groups, n_boot: int = 400, alpha: float = 0.05, seed: int = 0
) -> tuple[float, float]:
    """Bootstrap interval of ``auc(y, p_model) - auc(y, p_base)``, resampling whole deals.

    A deal scored on several snapshot dates is one draw (its rows travel together), so the
    interval is not narrowed by counting a deal twice. Seeded: the same data, the same interval.
    """
    g = pd.factorize(pd.Series(groups).astype(str))[0]
    n_groups = int(g.max()) + 1 if len(g) else 0
    if n_groups < 2:
        return float("nan"), float("nan")
    rng = np.random.default_rng(seed)
    draws = np.array(  # one row per resample: how often each row was drawn
        [
            np.bincount(rng.integers(0, n_groups, n_groups), minlength=n_groups)[g]
            for _ in range(n_boot)
        ]
    ).reshape(n_boot, len(g))
    d = _auc_of_draws(y, p_model)(draws) - _auc_of_draws(y, p_base)(draws)
    diffs = d[~np.isnan(d)]
    if not len(diffs):
        return float("nan"), float("nan")
    lo, hi = np.quantile(diffs, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def median_remaining_days(train: pd.DataFrame) -> tuple[dict, float]:
    """Median days from a snapshot to the deal's close, per stage held that day, and overall.

    ``train``: labelled snapshot rows. Returns ``({stage: days}, overall_days)`` (NaN when empty).
    """
    if train.empty:
        return {}, float("nan")
    rem = (pd.to_datetime(train["close_date"]) - pd.to_datetime(train["ref_date"])).dt.days
    df = pd.DataFrame({"stage": _levels(train["stage"]), "rem": rem.astype(float)})
    per = df.groupby("stage")["rem"].median()
    return {str(k): float(v) for k, v in per.items()}, float(df["rem"].median())


def scored_deals(
    today: pd.DataFrame,
    probability,
    remaining: dict,
    overall_remaining: float,
    as_of,
) -> pd.DataFrame:
    """The open pipeline with a win probability and an expected close date per deal.

    ``today``: snapshot rows on ``as_of``. Expected close = ``as_of`` + the median days
    deals in the same stage took from a snapshot to their close (all stages when the stage
    has no history). Returns ``opportunity_id, rep_id, customer_id, stage, amount,
    days_in_stage, win_probability, expected_close_date``, by expected value (largest first).
    """
    cols = [
        "opportunity_id",
        "rep_id",
        "customer_id",
        "stage",
        "amount",
        "days_in_stage",
        "win_probability",
        "expected_close_date",
    ]
    if today.empty:
        return pd.DataFrame(columns=cols)
    out = today.copy()
    out["win_probability"] = np.asarray(probability, dtype=float)
    days = [remaining.get(s, overall_remaining) for s in _levels(out["stage"])]
    days = pd.to_timedelta(np.round(np.asarray(days, dtype=float)), unit="D")
    out["expected_close_date"] = (_ts(as_of) + days).normalize()
    shown = out["stage"].astype(object)
    if "recorded_stage" in out.columns:  # no stage history: the deal's recorded stage
        shown = shown.where(shown.notna(), out["recorded_stage"].astype(object))
    out["stage"] = shown.where(shown.notna(), NONE_LEVEL)
    ev = out["amount"].fillna(0.0) * out["win_probability"].fillna(0.0)
    out = out.assign(__ev=ev).sort_values(["__ev", "opportunity_id"], ascending=[False, True])
    return out[cols].reset_index(drop=True)


@dataclass
class WinStudy:
    """Everything the win-probability section shows (see :func:`win_study`)."""

    plan: HoldoutPlan
    holdout: pd.DataFrame  # labelled hold-out snapshots with model_p and stage_p
    comparison: pd.DataFrame  # method, auc, brier (empty when the hold-out cannot compare)
    calibration: pd.DataFrame
    margin_interval: tuple  # bootstrap interval of the AUC difference (NaN when not computed)
    eval_model: WinModel | None
    eval_gap: str | None  # why no hold-out model (None when there is one)
    holdout_gap: str | None  # why the hold-out scores nothing (None when it scores something)
    missing: dict  # method -> why it has no hold-out score
    model: WinModel | None  # the model that scores today's pipeline
    gap: str | None
    stage_probabilities_cut: dict
    default_cut: float
    stage_probabilities: dict
    default: float
    scored: pd.DataFrame
    basis: str  # what today's probabilities come from
    # won deals' days from a snapshot to their close, before the cut (:func:`closing_share`)
    won_remaining_cut: dict = field(default_factory=dict)
    closed_deals: int = 0  # deals closed by as_of
    min_closed: int = 30
    tuning: pd.DataFrame | None = None  # penalty validation of the model for today's pipeline
    eval_tuning: pd.DataFrame | None = None  # ... and of the hold-out model

    @property
    def margin(self) -> float:
        """Model AUC minus stage-baseline AUC on the hold-out (NaN when not both)."""
        if self.comparison.empty:
            return float("nan")
        return float(self.comparison["auc"].iloc[0] - self.comparison["auc"].iloc[1])

    def probabilities(self, rows: pd.DataFrame, holdout: bool = False) -> dict:
        """``{"model": p or None, "stage_weighted": p or None}`` for snapshot rows.

        ``holdout=True`` uses what was known at the cut (for forecasts made after it).
        """
        model = self.eval_model if holdout else self.model
        probs = self.stage_probabilities_cut if holdout else self.stage_probabilities
        default = self.default_cut if holdout else self.default
        return {
            "model": model.predict(rows) if model is not None else None,
            "stage_weighted": stage_baseline(rows, probs, default) if probs else None,
        }


def _holdout_gaps(hold, eval_gap, has_model: bool, probs_cut: dict, history, cut, t) -> tuple:
    """Why the hold-out scores nothing (or None), and why a method has no hold-out score."""
    missing = {}
    if not has_model:
        missing["Win model"] = _("no model could be trained before the cut: {why}").format(
            why=eval_gap
        )
    if not probs_cut:
        missing["Stage baseline"] = (
            _("the stage baseline needs the stage history (which stage each deal passed)")
            if history.empty
            else _("no deal closed before the cut, so no stage has a win rate yet")
        )
    if hold.empty:
        why = _("no deal open after the cut ({cut}) had closed by {day}")
        return why.format(cut=_day(cut), day=_day(t)), missing
    if hold["won"].nunique() < 2:
        if hold["won"].iloc[0]:
            return _("every hold-out deal was won: AUC needs both outcomes"), missing
        return _("every hold-out deal was lost: AUC needs both outcomes"), missing
    if len(missing) == 2:
        return ("; " if language() == "en" else "；").join(missing.values()), missing
    return None, missing


def _score_holdout(hold: pd.DataFrame, has_model: bool, has_stage: bool, both: bool) -> tuple:
    """Comparison, calibration and the AUC-margin interval on the hold-out rows."""
    model_p = hold["model_p"] if has_model else None
    stage_p = hold["stage_p"] if has_stage else None
    interval = (float("nan"), float("nan"))
    if both:
        interval = auc_difference_interval(
            hold["won"], hold["model_p"], hold["stage_p"], hold["opportunity_id"]
        )
    return (
        compare_on_holdout(hold["won"], model_p, stage_p),
        calibration_both(hold["won"], model_p, stage_p),
        interval,
    )


def _today_probabilities(today, model, probs: dict, default: float) -> tuple:
    """Win probabilities of today's open deals and what they come from (best source first)."""
    if model is not None:
        return model.predict(today), "the win model"
    if probs:
        return stage_baseline(today, probs, default), "the stage baseline"
    if not math.isnan(default):
        return np.full(len(today), default), "the company's win rate"
    return np.full(len(today), np.nan), "nothing (no deal has closed)"


def win_study(
    deals: pd.DataFrame,
    history: pd.DataFrame,
    plan: HoldoutPlan,
    conversion_cut: pd.DataFrame | None = None,
    conversion_now: pd.DataFrame | None = None,
    l2_penalty="auto",
    min_closed: int = 30,
    prior_weight: float = 10.0,
    rep_window_days: int | None = 180,
) -> WinStudy:
    """Fit, test and apply the win model; compare it with the stage baseline.

    ``conversion_cut`` / ``conversion_now``: the funnel's ``stage_conversion`` of deals
    closed before the cut / by ``as_of`` (None without a stage history: no baseline).
    """
    t, cut = plan.as_of, plan.cut
    dates = sorted(set(plan.train_dates) | set(plan.holdout_dates) | set(plan.final_dates) | {t})
    rows = add_features(deal_snapshots(deals, history, dates), deals, prior_weight, rep_window_days)
    day_before_cut = cut - pd.Timedelta(days=1)
    train = labelled(rows, day_before_cut, plan.train_dates)
    hold = labelled(rows, t, plan.holdout_dates)
    probs_cut = stage_probabilities(conversion_cut)
    default_cut = overall_win_rate(deals, day_before_cut)
    penalty = parse_penalty(l2_penalty)
    eval_gap = model_gap(train, min_closed)
    eval_model = eval_tuning = None
    if not eval_gap:
        inner_cut = cut - (t - cut)  # the hold-out's shape, one step earlier
        eval_model, eval_tuning = tuned_win_model(
            train, rows, inner_cut, plan.horizon_days, penalty, min_closed
        )
    hold = hold.assign(
        model_p=eval_model.predict(hold) if eval_model is not None else np.nan,
        stage_p=stage_baseline(hold, probs_cut, default_cut) if probs_cut else np.nan,
    )
    holdout_gap, missing = _holdout_gaps(
        hold, eval_gap, eval_model is not None, probs_cut, history, cut, t
    )
    comparison = pd.DataFrame(columns=["method", "auc", "brier"])
    calibration = calibration_both([], None, None)
    interval = (float("nan"), float("nan"))
    if holdout_gap is None:
        comparison, calibration, interval = _score_holdout(
            hold, eval_model is not None, bool(probs_cut), not missing
        )
    final = labelled(rows, t, plan.final_dates)
    gap = model_gap(final, min_closed)
    model = tuning = None
    if not gap:
        model, tuning = tuned_win_model(final, rows, cut, plan.horizon_days, penalty, min_closed)
    probs_now = stage_probabilities(conversion_now)
    default_now = overall_win_rate(deals, t)
    today = rows[(rows["ref_date"] == t) & (rows["status"] == OPEN)]
    p_today, basis = _today_probabilities(today, model, probs_now, default_now)
    remaining, overall = median_remaining_days(final)
    return WinStudy(
        plan=plan,
        holdout=hold,
        comparison=comparison,
        calibration=calibration,
        margin_interval=interval,
        eval_model=eval_model,
        eval_gap=eval_gap,
        holdout_gap=holdout_gap,
        missing={} if holdout_gap else missing,
        model=model,
        gap=gap,
        stage_probabilities_cut=probs_cut,
        default_cut=default_cut,
        stage_probabilities=probs_now,
        default=default_now,
        scored=scored_deals(today, p_today, remaining, overall, t),
        basis=basis,
        won_remaining_cut=won_remaining_days(train),
        closed_deals=int(deals["status"].isin([WON, LOST]).sum()),
        min_closed=min_closed,
        tuning=tuning,
        eval_tuning=eval_tuning,
    )


def stage_dwell(deals: pd.DataFrame, history: pd.DataFrame) -> pd.DataFrame:
    """Days each closed deal spent in each stage it entered: until the next stage, or its close.

    Returns ``opportunity_id, stage, close_date, dwell_days``.

    >>> d = pd.DataFrame({"opportunity_id": ["a"], "status": ["won"], "close_date": pd.to_datetime(["2026-01-30"])})
    >>> h = pd.DataFrame({"opportunity_id": ["a", "a"], "stage": ["P", "Q"],
    ...                   "entered_date": pd.to_datetime(["2026-01-01", "2026-01-11"])})
    >>> stage_dwell(d, h)[["stage", "dwell_days"]].values.tolist()
    [['P', 10.0], ['Q', 19.0]]
    """
    cols = ["opportunity_id", "stage", "close_date", "dwell_days"]
    closed = deals[deals["status"].isin([WON, LOST]) & deals["close_date"].notna()]
    if closed.empty or history.empty:
        return pd.DataFrame(columns=cols)
    h = history.merge(closed[["opportunity_id", "close_date", "status"]], on="opportunity_id")
    h = h.sort_values(["opportunity_id", "entered_date", "stage"], kind="stable")
    # the deal's next entry: the next row, when it is the same deal's (each deal's rows together)
    ids, entered = h["opportunity_id"].to_numpy(object), h["entered_date"].to_numpy()
    nxt = np.full(len(h), np.datetime64("NaT"), dtype=entered.dtype)
    same = ids[1:] == ids[:-1]
    nxt[:-1][same] = entered[1:][same]
    nxt = pd.Series(nxt, index=h.index)
    end = nxt.fillna(pd.to_datetime(h["close_date"]))
    h["dwell_days"] = (end - h["entered_date"]).dt.days.astype(float)
    # a won deal's last entry on its close date is the "won" marker, not a stage worked in
    marker = nxt.isna() & (h["status"] == WON) & (h["entered_date"] == h["close_date"])
    h = h[(h["dwell_days"] >= 0) & ~marker]
    return h[cols].reset_index(drop=True)


def stuck_thresholds(dwell: pd.DataFrame, as_of, months: int = 12, q: float = 0.8) -> pd.DataFrame:
    """The ``q`` quantile of days spent in each stage by deals closed in the ``months`` before ``as_of``.

    Deals closed in ``(as_of - months, as_of]``. Returns ``stage, closed_deals, p80_days``
    (the column keeps its name whatever ``q``).

    >>> dw = pd.DataFrame({"stage": ["A"] * 5, "close_date": pd.to_datetime(["2026-03-01"] * 5),
    ...                    "dwell_days": [1.0, 2.0, 3.0, 4.0, 5.0]})
    >>> stuck_thresholds(dw, "2026-06-30").values.tolist()
    [['A', 5, 4.2]]
    """
    t = _ts(as_of)
    lo = t - pd.DateOffset(months=int(months))
    c = pd.to_datetime(dwell["close_date"])
    w = dwell[(c > lo) & (c <= t)]
    cols = ["stage", "closed_deals", "p80_days"]
    if w.empty:
        return pd.DataFrame(columns=cols)
    g = w.groupby("stage")["dwell_days"]
    out = pd.DataFrame(
        {"closed_deals": g.size(), "p80_days": g.quantile(q).astype(float).round(6)}
    ).reset_index()
    out["closed_deals"] = out["closed_deals"].astype(int)
    return out[cols]


def stuck_deals(scored: pd.DataFrame, thresholds: pd.DataFrame) -> pd.DataFrame:
    """Open deals in their stage for longer than the threshold of that stage, largest amount first.

    ``scored``: :func:`scored_deals`; ``thresholds``: :func:`stuck_thresholds`. A stage with
    no threshold (no closed deal passed it in the window) flags nobody. Returns
    ``opportunity_id, rep_id, stage, days_in_stage, p80_days, amount, win_probability``.

    >>> s = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "rep_id": ["r"] * 3, "stage": ["A", "A", "B"],
    ...                   "days_in_stage": [9.0, 3.0, 50.0], "amount": [10.0, 99.0, 5.0], "win_probability": [0.1] * 3})
    >>> stuck_deals(s, pd.DataFrame({"stage": ["A"], "closed_deals": [5], "p80_days": [4.2]})).opportunity_id.tolist()
    ['a']
    """
    cols = [
        "opportunity_id",
        "rep_id",
        "stage",
        "days_in_stage",
        "p80_days",
        "amount",
        "win_probability",
    ]
    if scored.empty or thresholds.empty:
        return pd.DataFrame(columns=cols)
    m = scored.merge(thresholds[["stage", "p80_days"]], on="stage", how="inner")
    m = m[m["days_in_stage"].notna() & (m["days_in_stage"] > m["p80_days"])]
    m = m.sort_values(
        ["amount", "days_in_stage", "opportunity_id"],
        ascending=[False, False, True],
        na_position="last",
    )
    return m[cols].reset_index(drop=True)


def won_remaining_days(train: pd.DataFrame) -> dict:
    """Days from a snapshot to the close of won deals, sorted, per stage held (``"*"``: all).

    ``train``: labelled snapshot rows. Feeds :func:`closing_share`.
    """
    won = train[train["won"] == 1]
    days = (pd.to_datetime(won["close_date"]) - pd.to_datetime(won["ref_date"])).dt.days
    out = {"*": np.sort(days.to_numpy(float))}
    for stage, d in days.groupby(_levels(won["stage"]).to_numpy()):
        out[str(stage)] = np.sort(d.to_numpy(float))
    return out


def closing_share(won_remaining: dict, stages, days_left) -> np.ndarray:
    """Share of won deals in each row's stage that closed within ``days_left`` days of a snapshot.

    The chance a deal that will be won is won *within the period*; a stage without history
    uses all stages, and no history at all gives 1 (the whole pipeline counts).

    >>> closing_share({"*": np.array([5.0, 10, 20, 40]), "A": np.array([30.0, 60])}, ["A", "B"], 30)
    array([0.5 , 0.75])
    """
    codes, labels = _level_codes(pd.Series(list(stages), dtype=object))
    left = np.broadcast_to(np.asarray(days_left, dtype=float), codes.shape)
    out = np.ones(len(codes))
    for i in np.unique(codes):  # one search per stage over all its rows
        arr = won_remaining.get(labels[i])
        if arr is None or not len(arr):
            arr = won_remaining.get("*")
        if arr is not None and len(arr):
            mine = codes == i
            out[mine] = np.searchsorted(arr, left[mine], side="right") / len(arr)
    return out


def styles_of(board: pd.DataFrame, style: str) -> str:
    """Comma-separated rep ids of one call style (``none`` when nobody has it), for
    ``<study>.json`` (ids, in English).

    >>> styles_of(pd.DataFrame({"rep_id": ["b", "a"], "style": ["sandbagger"] * 2}), "sandbagger")
    'a, b'
    """
    ids = sorted(board.loc[board["style"] == style, "rep_id"].astype(str))
    return ", ".join(ids) if ids else "none"


def _pct(x) -> str:
    return percent(x, decimals=0)


def _names(who: pd.DataFrame, names: dict, limit: int = 5) -> str:
    def one(rep, rep_id, bias) -> str:
        shown = names.get(str(rep_id), rep)
        if shown == f"{rep} ({rep_id})":  # a namesake: the id beside the bias
            return f"{rep} ({rep_id}, {bias:+.0%})"
        return f"{shown} ({bias:+.0%})"

    shown = [
        one(r, i, b) for r, i, b in zip(who["rep"], who["rep_id"], who["calls_bias"], strict=True)
    ][:limit]
    more = len(who) - len(shown)
    if more <= 0:
        return _comma().join(shown)
    return _("{names} and {n} more").format(names=_comma().join(shown), n=more)


def _known(*xs) -> bool:
    return all(x is not None and not pd.isna(x) for x in xs)


def _model_actions(figures: dict) -> list[str]:
    """Use the model or the stage percentages, or say the deal fields predict nothing."""
    ma, sa = figures.get("win_model_auc"), figures.get("stage_baseline_auc")
    low = figures.get("win_model_auc_margin_low")
    if _known(ma, sa) and _known(low) and low > 0:
        return [
            _(
                "Rank and forecast deals with the deal-level win probabilities (AUC {model} "
                "against {stage} for fixed stage percentages on the hold-out): "
                "`deals-scored.csv` lists them."
            ).format(model=f"{ma:.3f}", stage=f"{sa:.3f}")
        ]
    if _known(ma, sa):
        return [
            _(
                "Keep the stage percentages as the forecast rule for now: the deal-level model "
                "(AUC {model} against {stage}) is not clearly better on the hold-out, so on "
                "this data the stage says nearly all there is to say. Record what is known early "
                "about each deal (competitor, decision date, champion) so the model has more to "
                "learn from."
            ).format(model=f"{ma:.3f}", stage=f"{sa:.3f}")
        ]
    if _known(ma) and ma < 0.6:
        return [
            _(
                "Nothing recorded on a deal before it closes predicts how it ends here (hold-out "
                "AUC {auc}, 0.5 is a coin): record each deal's stage changes, competitor and "
                "decision date as they happen, then run this study again."
            ).format(auc=f"{ma:.2f}")
        ]
    return []


STYLE_ADVICE = {
    "sandbagger": N_(
        "Sandbaggers: {names} — their calls run under what they close: lift their commits "
        "toward their pipeline when rolling up."
    ),
    "over-promiser": N_(
        "Over-promisers: {names} — their calls run over what they close: haircut their "
        "commits and inspect their late-stage deals."
    ),
}
#: the pipeline forecasts the calls are compared with, as the actions name them
PIPELINES = {
    "stage_weighted_mape": N_("the stage-weighted pipeline"),
    "model_mape": N_("the win-model pipeline"),
}


def _call_actions(figures: dict, board: pd.DataFrame | None, names: dict) -> list[str]:
    """Who to correct in the roll-up, and whether calls or the pipeline forecast better."""
    out = []
    for style, advice in STYLE_ADVICE.items():
        who = board[board["style"] == style] if board is not None and len(board) else []
        if len(who):
            out.append(_(advice).format(names=_names(who, names)))
    cm = figures.get("calls_mape")
    others = {what: figures.get(key) for key, what in PIPELINES.items()}
    others = {k: v for k, v in others.items() if _known(v)}
    if not (_known(cm) and others):
        return out
    best = min(others, key=others.get)
    if cm <= others[best]:
        out.append(
            _(
                "On the same dates the reps' calls missed the outcome least ({calls} mean "
                "absolute error, {best} {best_error}): roll up from the calls, corrected "
                "for the styles above, and use the pipeline as a check."
            ).format(calls=_pct(cm), best=_(best), best_error=_pct(others[best]))
        )
    else:
        out.append(
            _(
                "On the same dates {best} missed the outcome less than the reps' calls "
                "({best_error} against {calls} mean absolute error): challenge calls "
                "that stray far from it."
            ).format(calls=_pct(cm), best=_(best), best_error=_pct(others[best]))
        )
    return out


def deals_actions(
    figures: dict,
    stuck: pd.DataFrame | None = None,
    board: pd.DataFrame | None = None,
    scored: pd.DataFrame | None = None,
    currency: str = "",
    low_probability: float = 0.10,
    has_history: bool = True,
    reps: pd.DataFrame | None = None,
) -> str:
    """'What to do' bullets (markdown) from the deals study's numbers.

    The model is recommended over stage percentages only when the lower end of the
    bootstrap interval of its AUC margin (``win_model_auc_margin_low``) is above zero.
    Reps are named by name (:func:`rep_names` of ``reps``, else of ``board``).
    """
    out = []
    if stuck is not None and len(stuck):
        ids = _comma().join(str(x) for x in stuck["opportunity_id"].head(3))
        out.append(
            _(
                "Review the **{n} stuck deals** ({amount}) in this week's pipeline call, biggest "
                "first ({ids}): agree a next step and a date for each, or close them as lost."
            ).format(
                n=count(len(stuck)), amount=money(figures.get("stuck_amount", 0), currency), ids=ids
            )
        )
    out += _model_actions(figures)
    out += _call_actions(figures, board, rep_names(reps if reps is not None else board))
    if figures.get("win_probability_basis") == "the win model" and scored is not None:
        weak = scored[scored["win_probability"] < low_probability]
        if len(weak):
            out.append(
                _(
                    "{n} open deals have under a {share} chance of being won ({amount}): qualify "
                    "them out or requalify them before counting them as pipeline."
                ).format(
                    n=count(len(weak)),
                    share=f"{low_probability:.0%}",
                    amount=money(weak["amount"].fillna(0).sum(), currency),
                )
            )
    if not has_history:
        out.append(
            _(
                "Export the stage history (the day each deal entered each stage): it gives the "
                "stage baseline, days in stage and the stuck-deal list."
            )
        )
    if not out:
        out.append(_("Not enough closed deals or calls to recommend anything yet."))
    return "\n".join(f"- {x}" for x in out)


def conversion_or_none(flow: pd.DataFrame | None) -> pd.DataFrame | None:
    """The funnel's stage conversion of a stage flow, or None when the flow is empty."""
    from salesnb.metrics.funnel import stage_conversion

    if flow is None or flow.empty:
        return None
    conv = stage_conversion(flow)
    return conv if len(conv) else None


def describe_deals(deals: pd.DataFrame, history: pd.DataFrame, as_of) -> str:
    """Markdown: how many deals the study sees on ``as_of`` and in what state.

    >>> d = pd.DataFrame({"opportunity_id": list("abcd"), "status": ["won", "lost", "open", "undated"],
    ...                   "created_date": pd.to_datetime(["2026-01-01"] * 4)})
    >>> print(describe_deals(d, pd.DataFrame(), "2026-09-30"))
    **4** deals created by **2026-09-30**: 1 won and 1 lost by then, **1 open** on that day. 1 deal marked won or lost without a close date cannot be placed in time and is left out. No stage history: stages and days in stage are unknown.
    """
    n = deals["status"].value_counts()
    won, lost, open_, undated = (int(n.get(k, 0)) for k in (WON, LOST, OPEN, "undated"))
    text = _(
        "**{n}** deals created by **{day}**: {won} won and {lost} lost by then, **{open} open** "
        "on that day."
    ).format(
        n=count(len(deals)), day=_day(as_of), won=count(won), lost=count(lost), open=count(open_)
    )
    if undated:
        text += _gap() + plural(
            undated,
            "{n} deal marked won or lost without a close date cannot be placed in time and is "
            "left out.",
            "{n} deals marked won or lost without a close date cannot be placed in time and are "
            "left out.",
        ).format(n=count(undated))
    undated_open = int(
        (
            deals["created_date"].isna()
            & ~deals["opportunity_id"].isin(history.get("opportunity_id", []))
        ).sum()
    )
    if undated_open:
        text += _gap() + plural(
            undated_open,
            "{n} deal without a created date (nor a stage entry) cannot be placed in time and "
            "is left out of the model and the scored list.",
            "{n} deals without a created date (nor a stage entry) cannot be placed in time and "
            "are left out of the model and the scored list.",
        ).format(n=count(undated_open))
    if history.empty:
        text += _gap() + _("No stage history: stages and days in stage are unknown.")
    else:
        text += _gap() + _("Stage history: {n} stage entries up to that day.").format(
            n=count(len(history))
        )
    return text


def _fmt_num(x, spec: str = ".3f") -> str:
    return format(x, spec) if x is not None and not pd.isna(x) else "–"


def _holdout_lines(win: WinStudy) -> list[str]:
    """The hold-out result: the margin with its interval, or each method's score and gap."""
    if win.holdout_gap:
        return [_("**Not computed: the hold-out comparison** — {why}.").format(why=win.holdout_gap)]
    if win.missing:
        lines = [
            _("On the hold-out **{method}**: AUC {auc}, Brier score {brier}.").format(
                method=_(r["method"]), auc=f"{r['auc']:.3f}", brier=f"{r['brier']:.4f}"
            )
            for _i, r in win.comparison.dropna(subset=["auc"]).iterrows()
        ]
        missing = {
            "Win model": N_("**Not computed on the hold-out: win model** — {why}."),
            "Stage baseline": N_("**Not computed on the hold-out: stage baseline** — {why}."),
        }
        return lines + [_(missing[method]).format(why=why) for method, why in win.missing.items()]
    n_rows, n_deals = len(win.holdout), win.holdout["opportunity_id"].nunique()
    lo, hi = win.margin_interval
    snapshots = plural(n_rows, "{n} snapshot", "{n} snapshots").format(n=count(n_rows))
    deals = plural(n_deals, "{n} deal", "{n} deals").format(n=count(n_deals))
    over = _("Over {snapshots} of {deals}; the AUC margin is **{margin}**").format(
        snapshots=snapshots, deals=deals, margin=f"{win.margin:+.3f}"
    )
    text = describe_margin(win.comparison) + _gap() + over
    if pd.isna(lo):
        return [text + _(".")]
    interval = (
        _(" (95 % bootstrap interval over deals {low} to {high}, so it is not clearly above zero).")
        if lo <= 0
        else _(" (95 % bootstrap interval over deals {low} to {high}).")
    )
    return [text + interval.format(low=f"{lo:+.3f}", high=f"{hi:+.3f}")]


def _model_lines(win: WinStudy) -> list[str]:
    """What the model left out and which penalty the validation chose."""
    lines = []
    model_auc = win.comparison["auc"].iloc[0] if len(win.comparison) else float("nan")
    if _known(model_auc) and model_auc >= 0.99:
        lines.append(
            _(
                "**Check the data: a hold-out AUC of {auc} is too good to be true.** It "
                "usually means a deal field is filled in (or changed) only when the deal ends; "
                "find which one and leave it out of the export."
            ).format(auc=f"{model_auc:.3f}")
        )
    model = win.model or win.eval_model
    for col, why in (model.left_out if model is not None else {}).items():
        name = CATEGORICAL_FEATURES.get(col, NUMERIC_FEATURES.get(col, col))
        lines.append(
            _("Left out of the model: **{feature}** — {why}.").format(feature=_(name), why=why)
        )
    tuned = [
        (what, m.l2_penalty)
        for what, m, t in (
            (N_("{penalty} for the hold-out model"), win.eval_model, win.eval_tuning),
            (N_("{penalty} for the model for today's pipeline"), win.model, win.tuning),
        )
        if m is not None and t is not None and len(t)
    ]
    if tuned:
        lines.append(
            _(
                "Ridge penalty on the features besides the stage, chosen by the log loss on the "
                "same-length window just before each model's own cut: {penalties}. A large "
                "penalty means those features did not improve the predictions there: the model "
                "then stays close to what the stage alone says (the average win rate when there "
                "is no stage history)."
            ).format(
                penalties=("; " if language() == "en" else "；").join(
                    _(what).format(penalty=count(lam)) for what, lam in tuned
                )
            )
        )
    return lines


def describe_win_study(win: WinStudy) -> str:
    """Markdown: the hold-out, the margin of the model over the stage baseline, what is left out."""
    lines = [] if win.holdout.empty and not win.plan.train_dates else [win.plan.describe()]
    lines += _holdout_lines(win) + _model_lines(win)
    if win.gap:
        lines.append(_("**No win model for today's pipeline** — {why}.").format(why=win.gap))
    lines.append(
        _("Win probabilities of today's open deals come from **{basis}**.").format(
            basis=_(win.basis)
        )
    )
    if win.model is None and win.closed_deals < win.min_closed:
        lines.append(
            plural(
                win.closed_deals,
                "They rest on only {n} closed deal: read them as rough.",
                "They rest on only {n} closed deals: read them as rough.",
            ).format(n=count(win.closed_deals))
        )
    return "\n\n".join(lines)


def describe_scored(scored: pd.DataFrame, currency: str = "") -> str:
    """Markdown: the open pipeline and its expected value.

    >>> s = pd.DataFrame({"amount": [100.0, 300.0], "win_probability": [0.5, 0.1]})
    >>> describe_scored(s, "EUR")
    '**2** open deals worth **400 EUR**; expected to win **80 EUR** (sum of win probability x amount).'
    """
    if scored.empty:
        return _("**No open deal** on this day: nothing to score.")
    n = count(len(scored))
    if scored["win_probability"].isna().all():
        return _("**{n}** open deals; no win probability (no deal has closed yet).").format(n=n)
    if scored["amount"].isna().all():
        return _(
            "**{n}** open deals; none carries an amount yet, so there is no "
            "expected value to add up (the probabilities are in the list)."
        ).format(n=n)
    amount = float(scored["amount"].fillna(0.0).sum())
    ev = float((scored["amount"].fillna(0.0) * scored["win_probability"].fillna(0.0)).sum())
    return (
        _(
            "**{n}** open deals worth **{amount}**; expected to win **{expected}** "
            "(sum of win probability x amount)."
        )
        .format(n=n, amount=money(amount, currency), expected=money(ev, currency))
        .replace("  ", " ")
    )


def describe_stuck_rule(q: float = 0.8, months: int = 12) -> str:
    """The stuck-deal definition, as stated on the page.

    >>> describe_stuck_rule()
    'An open deal is **stuck** when it has been in its current stage longer than the **80th percentile** of the days that deals closed in the preceding **12 months** spent in that stage.'
    """
    return _(
        "An open deal is **stuck** when it has been in its current stage longer than the "
        "**{q}th percentile** of the days that deals closed in the preceding "
        "**{months} months** spent in that stage."
    ).format(q=f"{q * 100:.0f}", months=months)


def describe_stuck(stuck: pd.DataFrame, thresholds: pd.DataFrame, currency: str = "") -> str:
    """Markdown: how many open deals are stuck and for how much."""
    if thresholds.empty:
        return _(
            "**Not computed: stuck deals** — no deal closed in the window, so no stage has a "
            "usual time yet."
        )
    if stuck.empty:
        return _("**No stuck deal**: every open deal is within its stage's usual time.")
    return (
        _(
            "**{n} stuck deals** worth **{amount}** (amount at risk = the whole deal), listed "
            "biggest first in `deals-stuck.csv`."
        )
        .format(n=count(len(stuck)), amount=money(stuck["amount"].fillna(0).sum(), currency))
        .replace("  ", " ")
    )


def headline_figures(
    win: WinStudy, calls: CallStudy | None = None, stuck: pd.DataFrame | None = None
) -> dict:
    """The study's headline figures (NaN where a figure cannot be computed)."""

    def get(i: int, col: str) -> float:
        c = win.comparison
        return float(c[col].iloc[i]) if len(c) > i else float("nan")

    scored = win.scored
    amount = scored["amount"].fillna(0.0)
    out = {
        "win_model_auc": get(0, "auc"),
        "win_model_brier": get(0, "brier"),
        "stage_baseline_auc": get(1, "auc"),
        "stage_baseline_brier": get(1, "brier"),
        "win_model_auc_margin": win.margin,
        "win_model_auc_margin_low": win.margin_interval[0],
        "win_model_auc_margin_high": win.margin_interval[1],
        "holdout_snapshots": len(win.holdout) if win.holdout_gap is None else None,
        "open_deals": len(scored),
        "open_pipeline": float(amount.sum()) if scored["amount"].notna().any() else float("nan"),
        "expected_pipeline": float((amount * scored["win_probability"]).sum())
        if scored["amount"].notna().any() and scored["win_probability"].notna().any()
        else float("nan"),
        "win_probability_basis": win.basis,
    }
    if win.model is not None:
        d = driver_table(win.model, top=1)
        if len(d):
            out["top_driver"] = str(d["driver"].iloc[0])
    if calls is not None and not calls.outcomes.empty:
        board = calls.board
        out.update(
            calls_mape=calls.mape("calls"),
            stage_weighted_mape=calls.mape("stage_weighted"),
            model_mape=calls.mape("model"),
            sandbagger_reps=styles_of(board, "sandbagger") if len(board) else None,
            over_promiser_reps=styles_of(board, "over-promiser") if len(board) else None,
        )
    if stuck is not None:
        out.update(stuck_deals=len(stuck), stuck_amount=float(stuck["amount"].fillna(0.0).sum()))
    return out


def header_line(period, as_of, scope: str, source: str) -> str:
    """The page's first line: the period, the as-of day, the scope (``Filters.describe()``)
    and the source.

    >>> from salesnb.model.periods import parse_period
    >>> header_line(parse_period("2026-Q3"), "2026-09-30", "region=EMEA", "demo.duckdb")
    '**2026-Q3** · as of **2026-09-30** · region=EMEA · source `demo.duckdb`'
    """
    from salesnb.i18n import period_label
    from salesnb.metrics.targets import scope_text

    return _("**{period}** · as of **{day}** · {scope} · source `{source}`").format(
        period=period_label(str(period)), day=_day(as_of), scope=scope_text(scope), source=source
    )
