"""Customer lifetime value: the BG/NBD purchase model and the Gamma-Gamma spend model.

Purpose: from one row per customer (``frequency`` = repeat purchases, ``recency`` = time from
first to last purchase, ``T`` = time from first purchase to the end of observation,
``monetary_value`` = mean value of the repeat purchases; the *lifetimes* convention) predict
how many purchases each customer will make over a horizon, the probability the customer is
still "alive", and the discounted value of those purchases.

Models (maximum likelihood):

- BG/NBD (Fader, Hardie & Lee 2005, "Counting your customers the easy way"): while alive a
  customer buys at rate lambda ~ Gamma(r, alpha); after every purchase the customer drops out
  with probability p ~ Beta(a, b).
- Gamma-Gamma (Fader, Hardie & Lee 2005, "RFM and CLV"; Fader & Hardie 2013 note 025): the
  value of each purchase is Gamma(p, nu) with nu ~ Gamma(q, gamma) per customer; fitted on
  the customers with at least one repeat purchase.

Why written by hand with scipy rather than a library: *lifetimes* has been unmaintained since
2020 (it breaks on current pandas/numpy releases), and *pymc-marketing* pulls in PyMC, PyTensor
and a compiler toolchain for what is a four-parameter likelihood. The likelihoods below are a
few lines of ``gammaln`` / ``hyp2f1`` each, vectorised in numpy, and optimised with
``scipy.optimize.minimize`` (L-BFGS-B) on log-parameters so every parameter stays positive.
They reproduce the published CDNOW estimates (see tests/metrics/test_clv_cdnow.py).

Time units: the model is fitted in whatever unit ``recency`` and ``T`` are given in, and every
horizon passed to a prediction is in that same unit. ``salesnb.queries.customer_summary``
returns days; :func:`summary_in_weeks` converts days to weeks (the unit of the published CDNOW
figures, and a unit in which purchase rates are of order 0.01-1, which keeps the optimiser
well scaled). :data:`WEEKS_PER_MONTH` converts a horizon in months to weeks.

Example (with a weekly summary such as CDNOW's, see tests/metrics/test_clv_cdnow.py)::

    model = fit_clv(summary_weeks)
    model.params["r"], model.loglik
    model.predict(summary_weeks, clv_months=12)
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from scipy.optimize import minimize
from scipy.special import digamma, gammaln, hyp2f1

from salesnb.errors import FitError
from salesnb.i18n import N_, _
from salesnb.metrics import require_columns

DAYS_PER_WEEK = 7.0
WEEKS_PER_MONTH = 365.25 / 12 / DAYS_PER_WEEK  # 4.348 weeks in an average month

BGNBD_PARAMS = ("r", "alpha", "a", "b")
GG_PARAMS = ("p", "q", "gamma")
# log-parameters are kept within exp(+-LOG_BOUND); a fit that ends on that wall has not settled
LOG_BOUND = 12.0


def _require(frame, cols) -> None:
    require_columns(frame, cols, "customer summary")


def summary_in_weeks(summary: pd.DataFrame, recency_col="recency", T_col="T") -> pd.DataFrame:
    """A copy of a customer summary in days with ``recency`` and ``T`` converted to weeks."""
    _require(summary, [recency_col, T_col])
    out = summary.copy()
    out[recency_col] = out[recency_col].astype("float64") / DAYS_PER_WEEK
    out[T_col] = out[T_col].astype("float64") / DAYS_PER_WEEK
    return out


# --------------------------------------------------------------------------- BG/NBD
def bgnbd_loglik_terms(params, x, t_x, T) -> np.ndarray:
    """Per-customer BG/NBD log-likelihood (Fader, Hardie & Lee 2005, eq. 6)."""
    r, alpha, a, b = params
    x = np.asarray(x, dtype="float64")
    t_x = np.asarray(t_x, dtype="float64")
    T = np.asarray(T, dtype="float64")
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    repeat = x > 0
    # log(b + x - 1) only matters where x > 0; guard the x == 0 rows against log(b - 1 < 0)
    a4 = np.log(a) - np.log(b + np.maximum(x, 1.0) - 1.0) - (r + x) * np.log(alpha + t_x)
    return a1 + a2 + np.where(repeat, np.logaddexp(a3, a4), a3)


def bgnbd_neg_ll_grad(theta, x, t_x, T, w):
    """Weighted negative BG/NBD log-likelihood and its gradient in log-parameters."""
    r, alpha, a, b = np.exp(theta)
    repeat = x > 0
    a1 = gammaln(r + x) - gammaln(r) + r * np.log(alpha)
    a2 = gammaln(a + b) + gammaln(b + x) - gammaln(b) - gammaln(a + b + x)
    a3 = -(r + x) * np.log(alpha + T)
    bx1 = b + np.maximum(x, 1.0) - 1.0
    a4 = np.log(a) - np.log(bx1) - (r + x) * np.log(alpha + t_x)
    tail = np.where(repeat, np.logaddexp(a3, a4), a3)
    w3 = np.exp(a3 - tail)
    w4 = np.exp(np.where(repeat, a4 - tail, -np.inf))
    ll = a1 + a2 + tail
    d_r = (
        digamma(r + x)
        - digamma(r)
        + np.log(alpha)
        - w3 * np.log(alpha + T)
        - w4 * np.log(alpha + t_x)
    )
    d_alpha = r / alpha - w3 * (r + x) / (alpha + T) - w4 * (r + x) / (alpha + t_x)
    d_a = digamma(a + b) - digamma(a + b + x) + w4 / a
    d_b = digamma(a + b) + digamma(b + x) - digamma(b) - digamma(a + b + x) - w4 / bx1
    grad = np.array(
        [_wsum(w, d_r) * r, _wsum(w, d_alpha) * alpha, _wsum(w, d_a) * a, _wsum(w, d_b) * b]
    )
    return -_wsum(w, ll), -grad


def _bgnbd_start(x, T, w) -> np.ndarray:
    # The purchase rate of a customer is about x / T; a Gamma with shape 0.5 and that mean is a
    # start close to what retail data fits (CDNOW: r=0.24, alpha=4.4 weeks), and a=1, b=3 says
    # "a repeat purchase ends a relationship one time in four".
    rate = max(float(np.sum(w * x) / np.sum(w * T)), 1e-4)
    r = 0.5
    return np.log([r, r / rate, 1.0, 3.0])


def _wsum(w, values) -> float:
    # np.sum, not a BLAS dot: on a busy machine a multi-threaded dot of a few thousand numbers
    # can cost 100x more than the arithmetic.
    return float(np.sum(w * values))


def _compress(cols: list[np.ndarray]) -> tuple[list[np.ndarray], np.ndarray]:
    """Unique rows of the given columns and how many customers share each (speeds up the fit)."""
    stacked = np.column_stack(cols)
    uniq, counts = np.unique(stacked, axis=0, return_counts=True)
    return [uniq[:, i] for i in range(uniq.shape[1])], counts.astype("float64")


def _minimise(neg_ll_grad, start, names, what: str, penalizer: float):
    """Minimise a negative log-likelihood over log-parameters.

    ``neg_ll_grad(theta)`` returns the value and its gradient with respect to ``theta``
    (analytic, so the optimiser converges tightly and fast: the answer does not depend on how
    many iterations it took, and last-bit differences in the inputs cannot move a figure).
    """

    def objective(theta):
        value, grad = neg_ll_grad(theta)
        if penalizer:
            value += penalizer * float(np.sum(np.exp(2 * theta)))
            grad = grad + penalizer * 2 * np.exp(2 * theta)
        if not np.isfinite(value) or not np.isfinite(grad).all():
            return 1e300, np.zeros_like(theta)
        return value, grad

    bounds = [(-LOG_BOUND, LOG_BOUND)] * len(start)
    res = minimize(
        objective,
        start,
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options=dict(ftol=1e-13, gtol=1e-7, maxiter=2000),
    )
    if not res.success or not np.isfinite(res.fun) or res.fun >= 1e299:
        # L-BFGS-B can stop on an imprecise line search near a flat optimum; a
        # derivative-free polish from its end point settles those cases.
        res2 = minimize(
            lambda t: objective(t)[0],
            res.x,
            method="Nelder-Mead",
            options=dict(maxiter=4000, xatol=1e-9, fatol=1e-10),
        )
        if res2.fun <= res.fun:
            res = res2
        if not np.isfinite(res.fun) or res.fun >= 1e299:
            raise FitError(
                _(
                    "the {what} could not be fitted: the likelihood is not finite "
                    "anywhere the optimiser looked (check for negative or missing values)"
                ).format(what=_(what))
            )
    at_wall = [n for n, v in zip(names, res.x, strict=True) if abs(v) >= LOG_BOUND - 1e-3]
    if at_wall:
        raise FitError(
            _(
                "the {what} did not settle: parameter(s) {names} ran to the edge of "
                "the allowed range; there is too little or too uniform purchase history to fit it "
                "(try more customers or a longer history, or a small penalizer such as 0.001)"
            ).format(what=_(what), names=", ".join(at_wall))
        )
    return res


# --------------------------------------------------------------------------- Gamma-Gamma
def gamma_gamma_loglik_terms(params, x, mean_value) -> np.ndarray:
    """Per-customer Gamma-Gamma log-likelihood of the mean repeat value (x > 0 only)."""
    p, q, gamma = params
    px = p * x
    return (
        gammaln(px + q)
        - gammaln(px)
        - gammaln(q)
        + q * np.log(gamma)
        + (px - 1) * np.log(mean_value)
        + px * np.log(x)
        - (px + q) * np.log(gamma + x * mean_value)
    )


@dataclass
class ClvModel:
    """A fitted BG/NBD + Gamma-Gamma model.

    ``params``: ``r, alpha, a, b`` (BG/NBD) and ``p, q, gamma`` (Gamma-Gamma; NaN when there
    was no spend model). ``loglik``: BG/NBD log-likelihood; ``gg_loglik``: Gamma-Gamma one.
    Times are in the unit of the fitted summary (weeks for salesnb studies).
    """

    params: dict
    loglik: float
    gg_loglik: float
    n_customers: int
    n_repeat: int
    time_unit: str = "weeks"
    columns: dict = field(default_factory=dict)

    # -- purchases ---------------------------------------------------------
    def expected_purchases(self, t) -> np.ndarray:
        """Unconditional expected purchases of a new customer in ``(0, t]`` (FHL 2005 eq. 7)."""
        r, alpha, a, b = (self.params[k] for k in BGNBD_PARAMS)
        t = np.asarray(t, dtype="float64")
        z = t / (alpha + t)
        return (a + b - 1) / (a - 1) * (1 - (alpha / (alpha + t)) ** r * hyp2f1(r, b, a + b - 1, z))

    def probability_alive(self, frequency, recency, T) -> np.ndarray:
        """P(customer still active | x, t_x, T) (FHL 2005 note: 1 for x == 0 under BG/NBD)."""
        r, alpha, a, b = (self.params[k] for k in BGNBD_PARAMS)
        x = np.asarray(frequency, dtype="float64")
        t_x = np.asarray(recency, dtype="float64")
        T = np.asarray(T, dtype="float64")
        log_ratio = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        odds = np.where(x > 0, a / (b + np.maximum(x, 1.0) - 1) * np.exp(log_ratio), 0.0)
        return 1.0 / (1.0 + odds)

    def conditional_expected_purchases(self, t, frequency, recency, T) -> np.ndarray:
        """Expected purchases in ``(T, T + t]`` given each customer's history (FHL 2005 eq. 10)."""
        r, alpha, a, b = (self.params[k] for k in BGNBD_PARAMS)
        x = np.asarray(frequency, dtype="float64")
        T = np.asarray(T, dtype="float64")
        t = np.asarray(t, dtype="float64")
        z = t / (alpha + T + t)
        head = (a + b + x - 1) / (a - 1)
        tail = 1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * hyp2f1(
            r + x, b + x, a + b + x - 1, z
        )
        return head * tail * self.probability_alive(x, recency, T)

    # -- spend -------------------------------------------------------------
    def expected_average_value(self, frequency, monetary_value) -> np.ndarray:
        """Expected value of a future purchase: shrinks each customer's mean to the population's.

        Customers with no repeat purchase get the population mean ``p * gamma / (q - 1)``.
        """
        p, q, gamma = (self.params[k] for k in GG_PARAMS)
        x = np.asarray(frequency, dtype="float64")
        m = np.where(x > 0, np.asarray(monetary_value, dtype="float64"), 0.0)
        return (gamma + x * m) * p / (p * x + q - 1)

    # -- value -------------------------------------------------------------
    def customer_value(
        self,
        frequency,
        recency,
        T,
        monetary_value,
        clv_months: int = 12,
        discount_rate: float = 0.10,
        weeks_per_month: float = WEEKS_PER_MONTH,
    ):
        """Discounted value of each customer's purchases over the next ``clv_months``.

        ``discount_rate`` is annual; each month's expected purchases are discounted at the
        equivalent monthly rate. ``weeks_per_month`` converts months into the model's time unit
        (pass ``365.25/12`` for a model fitted in days).
        """
        if clv_months < 0:
            raise ValueError("clv_months must be zero or more")
        monthly = (1.0 + discount_rate) ** (1.0 / 12.0) - 1.0
        value_per_purchase = self.expected_average_value(frequency, monetary_value)
        x = np.asarray(frequency, dtype="float64")
        total = np.zeros_like(x)
        previous = np.zeros_like(x)
        for month in range(1, int(clv_months) + 1):
            cumulative = self.conditional_expected_purchases(month * weeks_per_month, x, recency, T)
            total += (cumulative - previous) / (1.0 + monthly) ** month
            previous = cumulative
        return total * value_per_purchase

    def predict(
        self,
        summary: pd.DataFrame,
        clv_months: int = 12,
        discount_rate: float = 0.10,
        weeks_per_month: float = WEEKS_PER_MONTH,
    ) -> pd.DataFrame:
        """Per customer: ``expected_purchases``, ``probability_alive``, ``expected_value`` and ``clv``.

        ``summary`` uses the column names the model was fitted with; other columns pass through.
        ``expected_purchases`` is over the ``clv_months`` horizon (undiscounted).
        """
        c = self.columns or dict(
            frequency="frequency", recency="recency", T="T", monetary_value="monetary_value"
        )
        _require(summary, [c["frequency"], c["recency"], c["T"], c["monetary_value"]])
        x = summary[c["frequency"]].to_numpy("float64")
        t_x = summary[c["recency"]].to_numpy("float64")
        T = summary[c["T"]].to_numpy("float64")
        m = summary[c["monetary_value"]].to_numpy("float64")
        out = summary.copy()
        out["expected_purchases"] = self.conditional_expected_purchases(
            clv_months * weeks_per_month, x, t_x, T
        )
        out["probability_alive"] = self.probability_alive(x, t_x, T)
        out["expected_value"] = self.expected_average_value(x, m)
        out["clv"] = self.customer_value(x, t_x, T, m, clv_months, discount_rate, weeks_per_month)
        return out


def fit_bgnbd(frequency, recency, T, penalizer: float = 0.0) -> tuple[dict, float]:
    """Maximum-likelihood BG/NBD parameters ``{r, alpha, a, b}`` and the log-likelihood."""
    x = np.asarray(frequency, dtype="float64")
    t_x = np.asarray(recency, dtype="float64")
    T = np.asarray(T, dtype="float64")
    if len(x) == 0:
        raise FitError(_("the purchase model needs at least one customer; the summary is empty"))
    if not (np.isfinite(x).all() and np.isfinite(t_x).all() and np.isfinite(T).all()):
        raise FitError(
            _("the purchase model needs finite frequency, recency and T for every customer")
        )
    if (x < 0).any() or (t_x < 0).any() or (t_x > T + 1e-9).any():
        raise FitError(
            _("the purchase model needs frequency >= 0 and 0 <= recency <= T for every customer")
        )
    if not (x > 0).any():
        raise FitError(
            _(
                "none of the {n} customers made a repeat purchase, so the purchase model "
                "(BG/NBD) cannot tell how often customers come back; lifetime value needs repeat buyers"
            ).format(n=len(x))
        )
    if (T <= 0).all():
        raise FitError(
            _("every customer's first purchase is on the last day observed: no history to fit")
        )
    (xu, tu, Tu), w = _compress([x, t_x, T])

    res = _minimise(
        lambda th: bgnbd_neg_ll_grad(th, xu, tu, Tu, w),
        _bgnbd_start(xu, Tu, w),
        BGNBD_PARAMS,
        N_("purchase model (BG/NBD)"),
        penalizer,
    )
    params = dict(zip(BGNBD_PARAMS, map(float, np.exp(res.x)), strict=True))
    return params, float(_wsum(w, bgnbd_loglik_terms(np.exp(res.x), xu, tu, Tu)))


def fit_gamma_gamma(frequency, monetary_value, penalizer: float = 0.0) -> tuple[dict, float]:
    """Maximum-likelihood Gamma-Gamma ``{p, q, gamma}`` on customers with a repeat purchase.

    Customers with ``frequency == 0`` or ``monetary_value <= 0`` (nothing to learn from, or
    refunds) are left out of the fit. ``q`` is kept above 1 so that the mean spend exists.
    """
    x = np.asarray(frequency, dtype="float64")
    m = np.asarray(monetary_value, dtype="float64")
    keep = (x > 0) & np.isfinite(m) & (m > 0)
    if keep.sum() < 2:
        raise FitError(
            _(
                "the spend model (Gamma-Gamma) needs at least 2 customers with a repeat purchase of "
                "positive value; found {n}"
            ).format(n=int(keep.sum()))
        )
    (xu, mu), w = _compress([x[keep], m[keep]])
    scale = float(np.average(mu, weights=w))  # fit in units of the mean spend: well-scaled

    ms = mu / scale
    log_m, log_x = np.log(ms), np.log(xu)

    def neg_ll_scaled(theta):
        p, q_minus_1, g = np.exp(theta)
        q = 1.0 + q_minus_1
        px = p * xu
        ll = gamma_gamma_loglik_terms((p, q, g), xu, ms)
        log_gxm = np.log(g + xu * ms)
        d_p = xu * (digamma(px + q) - digamma(px) + log_m + log_x - log_gxm)
        d_q = digamma(px + q) - digamma(q) + np.log(g) - log_gxm
        d_g = q / g - (px + q) / (g + xu * ms)
        grad = np.array([_wsum(w, d_p) * p, _wsum(w, d_q) * q_minus_1, _wsum(w, d_g) * g])
        return -float(_wsum(w, ll)), -grad

    # Start: spend per purchase varies about 1/sqrt(p) around a customer's mean; p = 4 and a
    # q of 3 (q - 1 = 2) put the population mean spend, p * gamma / (q - 1), at the sample mean.
    start = np.log([4.0, 2.0, 0.5])
    res = _minimise(
        neg_ll_scaled, start, ("p", "q", "gamma"), N_("spend model (Gamma-Gamma)"), penalizer
    )
    p, q_minus_1, g = np.exp(res.x)
    params = {"p": float(p), "q": float(1.0 + q_minus_1), "gamma": float(g * scale)}
    ll = float(
        _wsum(w, gamma_gamma_loglik_terms((params["p"], params["q"], params["gamma"]), xu, mu))
    )
    return params, ll


def fit_clv(
    summary: pd.DataFrame,
    *,
    frequency_col: str = "frequency",
    recency_col: str = "recency",
    T_col: str = "T",
    monetary_col: str = "monetary_value",
    penalizer: float = 0.0,
    time_unit: str = "weeks",
) -> ClvModel:
    """Fit BG/NBD (purchases) and Gamma-Gamma (spend) to one row per customer.

    Columns (lifetimes convention, all in one time unit, weeks recommended):
    ``frequency`` repeat purchases, ``recency`` first-to-last purchase, ``T`` first purchase to
    end of observation, ``monetary_value`` mean value of the repeat purchases (0 when none).
    Raises :class:`~salesnb.errors.FitError` with a plain message when the data cannot carry
    the model (no repeat buyers, too little history). ``penalizer`` adds an L2 penalty on the
    parameters (0 = plain maximum likelihood).

    Example::

        m = fit_clv(pd.DataFrame({"frequency": [2, 1, 0], "recency": [30.4, 1.7, 0],
                                  "T": [38.9, 38.9, 38.9], "monetary_value": [22.4, 11.8, 0]}))
    """
    _require(summary, [frequency_col, recency_col, T_col, monetary_col])
    x = summary[frequency_col].to_numpy("float64")
    bg, ll = fit_bgnbd(
        x,
        summary[recency_col].to_numpy("float64"),
        summary[T_col].to_numpy("float64"),
        penalizer=penalizer,
    )
    gg, gg_ll = fit_gamma_gamma(x, summary[monetary_col].to_numpy("float64"), penalizer=penalizer)
    return ClvModel(
        params={**bg, **gg},
        loglik=ll,
        gg_loglik=gg_ll,
        n_customers=int(len(x)),
        n_repeat=int((x > 0).sum()),
        time_unit=time_unit,
        columns=dict(
            frequency=frequency_col, recency=recency_col, T=T_col, monetary_value=monetary_col
        ),
    )


__all__ = [
    "ClvModel",
    "fit_clv",
    "fit_bgnbd",
    "fit_gamma_gamma",
    "summary_in_weeks",
    "bgnbd_loglik_terms",
    "gamma_gamma_loglik_terms",
    "WEEKS_PER_MONTH",
    "DAYS_PER_WEEK",
]
