"""Deals and orders, one business: won deals become the orders of the accounts that won them.

Half of each segment's order revenue (``NEW_BUSINESS_SHARE``) is new business: a won
deal is booked as orders of its account worth its amount, spread over the
``DELIVERY_DAYS`` after its close date. The other half is run-rate repeat business: the
accounts' usual orders, with no deal behind them.

How, so that every planted truth of the order lines stays as it was: the order generator
draws its orders exactly as before (region, segment, channel, products, quantities,
discounts, rep, date), and a delivery only re-addresses whole orders of the deal
account's region and segment to that account (an account of the same segment draws lines
of the same kind). Deal amounts are scaled, per segment, so that the deals won from the
``RAMP_MONTHS``-th month on (the CRM starts empty with the data) are worth
``NEW_BUSINESS_SHARE`` of the segment's planned order revenue over those months, and
follow the season of their close month, as the orders do. The orders of a won deal are
still credited to the reps of the region by their weights (which plant the training
effect), not to the rep who won it.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.sources.demo.common import (
    DEAL_ACCOUNT_KEPT_DAYS,
    DELIVERY_DAYS,
    NEW_BUSINESS_SHARE,
    RAMP_MONTHS,
    SEASON,
    _Calendar,
)
from salesnb.sources.demo.orders import NET_PER_LIST, RETURN_SHARE, _OrderGenerator

# A deal whose account's region and segment had too few orders in its window keeps
# booking the rest for this many days more; what is left after that is not delivered.
CARRY_DAYS = 90
# A deal owing less than this share of its amount is done (a rounding rest, not booked).
DONE_SHARE = 0.02
# The last order of a booking is the closest fit among this many of the orders on offer.
FIT_AMONG = 256


def _days(values) -> np.ndarray:
    return np.asarray(values).astype("datetime64[D]").astype(np.int64)


def _won(opps: pd.DataFrame, cal: _Calendar) -> np.ndarray:
    """Row numbers of the deals won by the end of the data."""
    close = _days(opps["close_date"])
    return np.flatnonzero((opps["status"].to_numpy() == "won") & (close <= cal.end))


def _account_rows(opps: pd.DataFrame, customers: pd.DataFrame) -> np.ndarray:
    """Row of each deal's account in ``customers``."""
    return pd.Index(customers["customer_id"]).get_indexer(opps["customer_id"].to_numpy())


def keep_deal_accounts(customers: pd.DataFrame, opps: pd.DataFrame, cal: _Calendar) -> None:
    """An account that wins a deal stays a customer a while after it (it takes the deal's orders).

    Moves the generator-only ``churn`` day of those accounts in place.
    """
    won = _won(opps, cal)
    rows = _account_rows(opps, customers)[won]
    churn = customers["churn"].to_numpy().copy()
    np.maximum.at(churn, rows, _days(opps["close_date"])[won] + DEAL_ACCOUNT_KEPT_DAYS)
    customers["churn"] = churn


def planned_revenue(gen: _OrderGenerator, quota: np.ndarray, line_value: np.ndarray) -> np.ndarray:
    """Expected net order revenue per month and segment: ``[month, segment]``."""
    # line discounts raise the quantity more than they cut the price (NET_PER_LIST); return
    # orders are as large as sales, and negative
    net = NET_PER_LIST * (1.0 - 2.0 * RETURN_SHARE)
    shares = np.array([gen.segment_shares(m) for m in range(len(quota))])
    return (quota * line_value * net)[:, None] * shares


def deal_amounts(
    opps: pd.DataFrame, customers: pd.DataFrame, cal: _Calendar, plan: np.ndarray
) -> np.ndarray:
    """The deals' amounts scaled to the order revenue (see the module docstring).

    ``plan``: :func:`planned_revenue`. Every deal of a segment is scaled alike (won, lost
    or open), times the seasonal index of its close month (expected close when open).
    """
    close = _days(opps["close_date"])
    month_of_year = close.astype("datetime64[D]").astype("datetime64[M]").astype(np.int64) % 12
    base = opps["amount"].to_numpy() * SEASON[month_of_year]
    seg = customers["seg"].to_numpy()[_account_rows(opps, customers)]
    counted = np.zeros(len(opps), bool)
    won = _won(opps, cal)
    counted[won[close[won] >= cal.lo[RAMP_MONTHS]]] = True
    scale = np.ones(plan.shape[1])
    for g in range(plan.shape[1]):
        won_value = base[counted & (seg == g)].sum()
        if won_value > 0:
            scale[g] = NEW_BUSINESS_SHARE * plan[RAMP_MONTHS:, g].sum() / won_value
    return np.round(base * scale[seg], 2)


def one_business(
    rngs: dict, cal: _Calendar, reps, customers, products, opps: pd.DataFrame, orders: int
) -> tuple[_OrderGenerator, np.ndarray]:
    """Tie the deals to the orders: deal accounts stay customers, deal amounts are scaled to
    the planned order revenue, and the order generator books the won deals.

    Sets ``opps["amount"]`` and the customers' ``churn`` in place; returns the order
    generator and the order lines per month.
    """
    keep_deal_accounts(customers, opps, cal)
    gen = _OrderGenerator(rngs["orders"], cal, reps, customers, products)
    line_value = np.array([gen.expected_line_value(m) for m in range(len(cal.lo))])
    quota = cal.line_quota(orders, line_value)
    opps["amount"] = deal_amounts(opps, customers, cal, planned_revenue(gen, quota, line_value))
    gen.deliveries = _Deliveries(rngs["deliveries"], cal, opps, customers)
    return gen, quota


def _pick(values: np.ndarray, owed: float) -> np.ndarray:
    """Which of the orders (``values``, in the order offered) book closest to ``owed``.

    The first ones while they stay under it, then the one order, among the next
    ``FIT_AMONG``, that brings the sum closest to it (none when stopping short is closer).
    """
    cum = np.cumsum(values)
    k = int(np.searchsorted(cum, owed))
    picked = np.arange(k)
    if k == len(values):
        return picked
    rest = owed - (cum[k - 1] if k else 0.0)
    j = k + int(np.argmin(np.abs(values[k : k + FIT_AMONG] - rest)))
    return np.append(picked, j) if abs(values[j] - rest) < rest else picked


class _Deliveries:
    """The won deals still to book as orders, and the booking of each piece of orders."""

    def __init__(self, rng, cal: _Calendar, opps: pd.DataFrame, customers: pd.DataFrame):
        won = _won(opps, cal)
        close = _days(opps["close_date"])
        won = won[np.argsort(close[won], kind="stable")]  # older deals book first
        rows = _account_rows(opps, customers)[won]
        self.rng, self.cal = rng, cal
        self.account = rows
        self.reg = customers["reg"].to_numpy()[rows]
        self.seg = customers["seg"].to_numpy()[rows]
        self.start = close[won]
        self.amount = opps["amount"].to_numpy()[won].astype(np.float64)
        self.owed = np.zeros(len(won))

    def book(self, month, share, day, reg, seg, value, keep) -> np.ndarray:
        """The deal account each order of a piece goes to (-1: it keeps its customer).

        A deal owes its amount pro rata over the days of its window in ``month`` (times
        the piece's ``share`` of the month) and takes orders of its region and segment
        dated on or after its close, offered in random order, those that bring it closest
        to what it owes (:func:`_pick`). Orders marked in ``keep`` (returns, the whales'
        orders) are not taken.
        """
        lo, hi = self.cal.lo[month], self.cal.hi[month]
        end = self.start + DELIVERY_DAYS
        overlap = np.clip(np.minimum(hi + 1, end) - np.maximum(lo, self.start), 0, None)
        self.owed += self.amount * overlap / DELIVERY_DAYS * share
        due = np.flatnonzero(
            (self.owed > DONE_SHARE * self.amount) & (self.start <= hi) & (lo < end + CARRY_DAYS)
        )
        out = np.full(len(day), -1, np.int64)
        if len(due) == 0:
            return out
        pool = self.rng.permutation(len(day))
        pool = pool[~keep[pool] & (value[pool] > 0)]
        cells: dict[tuple[int, int], tuple[np.ndarray, np.ndarray, np.ndarray]] = {}
        for j in due:
            key = (int(self.reg[j]), int(self.seg[j]))
            if key not in cells:
                sel = pool[(reg[pool] == key[0]) & (seg[pool] == key[1])]
                cells[key] = (sel, day[sel], np.zeros(len(sel), bool))
            sel, sel_day, taken = cells[key]
            free = np.flatnonzero(~taken & (sel_day >= self.start[j]))
            got = free[_pick(value[sel[free]], self.owed[j])]
            taken[got] = True
            out[sel[got]] = self.account[j]
            self.owed[j] -= value[sel[got]].sum()
        return out
