"""The demo's order lines, generated month by month in pieces and appended to DuckDB."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa

from salesnb.model.schema import TABLES
from salesnb.sources.demo.common import (
    CHANNELS,
    COUNTRIES,
    ELASTICITY,
    OVERTAKE_QUARTER_INDEX,
    REGION_SHARE,
    REGIONS,
    TRAINING_UPLIFT,
    _Calendar,
    _day,
    _deal,
    _systematic,
)


def _channel_probs(cal: _Calendar) -> np.ndarray:
    """[quarter, channel] order shares for Mid-Market / SMB customers."""
    q = np.arange(cal.n_quarters)
    s = q - (OVERTAKE_QUARTER_INDEX - 0.5)
    step = np.sign(s) * 0.02  # the step makes the overtaking quarter unmistakable
    online = 0.23 + 0.015 * s + step
    retail = 0.23 - 0.015 * s - step
    online, retail = np.clip(online, 0.05, 0.45), np.clip(retail, 0.05, 0.45)
    rest = 1.0 - online - retail
    return np.column_stack([rest * 0.58, rest * 0.42, online, retail])


ENTERPRISE_CHANNELS = np.array([0.75, 0.25, 0.0, 0.0])
SEGMENT_QTY = np.array([2.5, 1.5, 1.0])
RETURN_SHARE = 0.01  # of orders
REP_MONTH_NOISE = 0.05  # lognormal sd of a rep's month-to-month revenue share
# Line discounts: none on this share of lines, else a whole percent from 1 to MAX_DISCOUNT_PCT.
NO_DISCOUNT_SHARE = 0.45
MAX_DISCOUNT_PCT = 30
# Expected net amount of a line over its amount at list price and the undiscounted
# quantity: quantity rises as (1 - discount)^ELASTICITY, the price falls as (1 - discount).
_PCTS = np.arange(1, MAX_DISCOUNT_PCT + 1) / 100.0
NET_PER_LIST = NO_DISCOUNT_SHARE + (1 - NO_DISCOUNT_SHARE) * float(
    np.mean((1 - _PCTS) ** (1 + ELASTICITY))
)
# The green plant [sustainability]: from GREEN_RAMP_MONTHS before the end, GREEN_REGION's share
# of revenue from green products (products.is_green) rises by GREEN_RISE_PER_YEAR a year (in
# points, linearly), so any period of the last year has GREEN_RISE_PER_YEAR more green share
# there than the same period a year before. Planted by selling, on that region's lines, the
# green product of the same category nearest in list price instead of a non-green one (same
# quantity and discount): revenue totals barely move and no random draw is added.
GREEN_REGION = "West"
GREEN_RISE_PER_YEAR = 0.10
GREEN_RAMP_MONTHS = 24


class _OrderGenerator:
    def __init__(self, rng, cal, reps, customers, products):
        self.rng, self.cal = rng, cal
        # won deals to book as orders of their accounts (delivery._Deliveries), or None;
        # set once the deal amounts are scaled to this generator's planned revenue
        self.deliveries = None
        self.channel_p = _channel_probs(cal)
        self.rep_region = reps["region"].map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
        self.rep_weight = reps["weight"].to_numpy()
        self.rep_trained = reps["trained"].to_numpy()
        # numpy copies of the columns used per piece (pandas column access is not free)
        self.c = {
            k: customers[k].to_numpy()
            for k in ("created", "churn", "reg", "seg", "ctry", "weight", "whale")
        }
        self.p = {
            k: products[k].to_numpy()
            for k in ("launch", "popularity", "list_price", "unit_cost", "lam", "is_green")
        }
        self.p["cat"] = pd.factorize(products["category"], sort=True)[0]
        self.green = _GreenPlant(cal, self.p)
        self.next_order = 1

    def _mix(self, month: int) -> tuple[np.ndarray, float]:
        """Order share per region, and the expected net amount of a line, in ``month``.

        A region's share of revenue is fixed (times the uplift of its trained reps), so
        its order share is divided by the value of its customers' orders (segment mix
        drifts as customers come and go); otherwise a region whose customer base shifts
        would move its reps' revenue and confound the training DiD. Monthly line quotas
        are divided by the expected line value, so revenue itself (not just the line
        count) follows the planted season x growth as products launch.
        """
        lo, hi = self.cal.lo[month], self.cal.hi[month]
        p = self.p
        pw = p["popularity"] * (p["launch"] <= lo)
        product_part = (pw * p["list_price"] * p["lam"]).sum() / pw.sum()
        c = self.c
        alive = (c["created"] < lo) & (c["churn"] > hi)
        seg_qty = np.empty(len(REGIONS))
        for r in range(len(REGIONS)):
            m = alive & (c["reg"] == r)
            w = c["weight"][m]
            seg_qty[r] = (w * SEGMENT_QTY[c["seg"][m]]).sum() / w.sum()
        revenue_share = REGION_SHARE * self._uplift(month)
        order_share = revenue_share / seg_qty
        order_share /= order_share.sum()
        return order_share, float(product_part * (order_share * seg_qty).sum())

    def expected_line_value(self, month: int) -> float:
        return self._mix(month)[1]

    def segment_shares(self, month: int) -> np.ndarray:
        """Expected share of ``month``'s revenue per segment (each region at its share, see _mix)."""
        lo, hi = self.cal.lo[month], self.cal.hi[month]
        c = self.c
        alive = (c["created"] < lo) & (c["churn"] > hi)
        revenue_share = REGION_SHARE * self._uplift(month)
        revenue_share = revenue_share / revenue_share.sum()
        out = np.zeros(len(SEGMENT_QTY))
        for r in range(len(REGIONS)):
            m = alive & (c["reg"] == r)
            seg = c["seg"][m]
            v = np.bincount(seg, weights=c["weight"][m] * SEGMENT_QTY[seg], minlength=len(out))
            out += revenue_share[r] * v / v.sum()
        return out

    def _uplift(self, month: int) -> np.ndarray:
        return np.array(
            [w.sum() / self.rep_weight[idx].sum() for idx, w in self._rep_weights(month)]
        )

    def _rep_weights(self, month: int):
        after = self.cal.lo[month] >= self.cal.training_day
        w = self.rep_weight * np.where(self.rep_trained & after, 1 + TRAINING_UPLIFT, 1.0)
        for r in range(len(REGIONS)):
            idx = np.flatnonzero(self.rep_region == r)
            yield idx, w[idx]

    def piece(self, month: int, n_lines: int, share: float = 1.0) -> pa.Table:
        """One chunk of ``n_lines`` order lines in ``month``: orders, then their lines and reps.

        ``share``: the piece's share of the month's lines (the share of the month's
        deliveries of won deals it books).
        """
        sizes = self._order_sizes(n_lines)
        n_orders = len(sizes)
        order_day = self._order_days(month, n_orders)
        # Region first (see _mix), then a customer of the region.
        rep_w = list(self._rep_weights(month))
        reg = _systematic(self.rng, self._mix(month)[0], n_orders)
        cust = self._order_customers(month, reg)
        seg = self.c["seg"][cust]
        channel = self._order_channels(month, seg)
        is_return_order = self._return_orders(n_orders)
        order_no = np.arange(self.next_order, self.next_order + n_orders)
        self.next_order += n_orders
        lines = self._lines(month, np.repeat(seg, sizes), np.repeat(is_return_order, sizes))
        self.green.plant(month, np.repeat(reg, sizes), lines)
        rep = self._order_reps(rep_w, reg, lines["net_amount"], sizes)
        if self.deliveries is not None:
            # Won deals take whole orders of their region and segment, which keep their lines;
            # returns and the whales' orders (run-rate business) stay where they are.
            value = np.bincount(
                np.repeat(np.arange(n_orders), sizes),
                weights=lines["net_amount"],
                minlength=n_orders,
            )
            keep = is_return_order | self.c["whale"][cust]
            to = self.deliveries.book(month, share, order_day, reg, seg, value, keep)
            cust = np.where(to >= 0, to, cust)
        orders = {
            "order_no": order_no,
            "order_day": order_day,
            "cust": cust,
            "rep": rep,
            "channel": channel,
            "region": reg,
            "country": self.c["ctry"][cust],
        }
        return _piece_table(orders, lines, sizes)

    def _order_sizes(self, n_lines: int) -> np.ndarray:
        """Lines per order: 1 + Poisson(1.8) until the quota is filled, the last one cut to fit."""
        sizes = 1 + self.rng.poisson(1.8, int(n_lines / 2.8 * 1.2) + 20)
        cum = np.cumsum(sizes)
        n_orders = int(np.searchsorted(cum, n_lines)) + 1
        sizes = sizes[:n_orders].copy()
        sizes[-1] -= cum[n_orders - 1] - n_lines
        return sizes

    def _order_days(self, month: int, n_orders: int) -> np.ndarray:
        """Order day within ``month``, weekends at 0.35 the weight of a weekday."""
        days = np.arange(self.cal.lo[month], self.cal.hi[month] + 1)
        dow = (days + 3) % 7  # 0 = Monday
        dw = np.where(dow >= 5, 0.35, 1.0)
        return self.rng.choice(days, n_orders, p=dw / dw.sum())

    def _order_customers(self, month: int, reg: np.ndarray) -> np.ndarray:
        """Customer of each order: one alive in ``month`` in the order's region, by weight."""
        c = self.c
        lo, hi = self.cal.lo[month], self.cal.hi[month]
        cust = np.empty(len(reg), np.int64)
        alive = (c["created"] < lo) & (c["churn"] > hi)
        for r in range(len(REGIONS)):
            m = np.flatnonzero(reg == r)
            active = np.flatnonzero(alive & (c["reg"] == r))
            cust[m] = active[_systematic(self.rng, c["weight"][active], len(m))]
        return cust

    def _order_channels(self, month: int, seg: np.ndarray) -> np.ndarray:
        """Channel: Enterprise buys direct or through partners; others by the quarter's mix."""
        u = self.rng.random(len(seg))
        cp = np.where(
            (seg == 0)[:, None], ENTERPRISE_CHANNELS, self.channel_p[self.cal.quarter_index[month]]
        )
        return (u[:, None] > np.cumsum(cp, axis=1)).sum(axis=1).clip(0, 3)

    def _return_orders(self, n_orders: int) -> np.ndarray:
        """Which orders are returns: RETURN_SHARE of them, drawn without replacement."""
        is_return_order = np.zeros(n_orders, bool)
        picked = self.rng.choice(n_orders, round(n_orders * RETURN_SHARE), replace=False)
        is_return_order[picked] = True
        return is_return_order

    def _lines(self, month: int, seg_l: np.ndarray, ret: np.ndarray) -> dict[str, np.ndarray]:
        """Product, discount, quantity and amounts of each line (returns negative)."""
        rng, p = self.rng, self.p
        n_lines = len(seg_l)
        live = np.flatnonzero(p["launch"] <= self.cal.lo[month])
        prod = live[_systematic(rng, p["popularity"][live], n_lines)]
        discount = np.where(
            rng.random(n_lines) < NO_DISCOUNT_SHARE,
            0.0,
            rng.integers(1, MAX_DISCOUNT_PCT + 1, n_lines) / 100.0,
        )
        lam = p["lam"][prod] * SEGMENT_QTY[seg_l] * (1 - discount) ** ELASTICITY
        qty = rng.poisson(lam)
        zero = qty == 0
        qty[zero] = rng.poisson(lam[zero])  # redraw the rare zeros once, then floor at 1
        qty = np.maximum(qty, 1).astype(np.float64)
        price = p["list_price"][prod]
        qty *= np.where(ret, -1.0, 1.0)
        return {
            "prod": prod,
            "quantity": qty,
            "unit_price": price,
            "discount": discount,
            "net_amount": np.round(qty * price * (1 - discount), 2),
            "cost": np.round(qty * p["unit_cost"][prod], 2),
            "is_return": ret,
        }

    def _order_reps(self, rep_w, reg: np.ndarray, net: np.ndarray, sizes: np.ndarray) -> np.ndarray:
        """Rep of each order: a rep of its region, dealt so revenue follows the reps' weights.

        Trained reps are weighted up after training. Orders are dealt out so that each
        rep's revenue in the month is its weight's share (with a little month-to-month
        noise): a rep-month's revenue then reflects the rep's weight and the training
        rather than which rep drew the large orders.
        """
        n_orders = len(sizes)
        order_value = np.bincount(
            np.repeat(np.arange(n_orders), sizes), weights=np.abs(net), minlength=n_orders
        )
        rep = np.empty(n_orders, np.int64)
        for r, (idx, w) in enumerate(rep_w):
            m = np.flatnonzero(reg == r)
            w_month = w * self.rng.lognormal(0.0, REP_MONTH_NOISE, len(w))
            rep[m] = idx[_deal(order_value[m], w_month)]
        return rep


def green_truths() -> list[dict]:
    """The green plant's truths, as ``truths.json`` states them (docs/TRUTHS.md): the region
    whose green share rose most on the same period last year, and by how much (points)."""

    def t(name, value, tol):
        return {
            "name": name,
            "study": "sustainability",
            "key": name,
            "value": value,
            "tolerance": tol,
        }

    return [
        t("green_riser_region", GREEN_REGION, None),
        t("green_riser_change", GREEN_RISE_PER_YEAR, 0.01),
    ]


class _GreenPlant:
    """The green plant (see GREEN_REGION): which lines of the region turn green, each month."""

    def __init__(self, cal: _Calendar, p: dict):
        self.cal, self.p = cal, p
        self.region = REGIONS.index(GREEN_REGION)
        after_end = pd.Timestamp("1970-01-01") + pd.Timedelta(days=int(cal.end) + 1)
        self.start = _day(after_end - pd.DateOffset(months=GREEN_RAMP_MONTHS))
        self.base = self._natural_share(int(np.searchsorted(cal.hi, self.start)))
        self._twins: dict[int, np.ndarray] = {}

    def _natural_share(self, month: int) -> float:
        """Expected share of a line's value from green products in ``month`` (no plant)."""
        p = self.p
        w = p["popularity"] * (p["launch"] <= self.cal.lo[month]) * p["list_price"] * p["lam"]
        return float((w * p["is_green"]).sum() / w.sum())

    def target(self, month: int) -> float | None:
        """The region's planted green share of revenue in ``month``; None before the ramp."""
        mid = (self.cal.lo[month] + self.cal.hi[month]) / 2
        if mid < self.start:
            return None
        return self.base + GREEN_RISE_PER_YEAR * (mid - self.start) / 365.25

    def twins(self, month: int) -> np.ndarray:
        """Per product, the live green product of its category nearest in list price (-1: none)."""
        if month not in self._twins:
            p = self.p
            live_green = np.flatnonzero(p["is_green"] & (p["launch"] <= self.cal.lo[month]))
            twin = np.full(len(p["cat"]), -1)
            for i in np.flatnonzero(~p["is_green"]):
                same = live_green[p["cat"][live_green] == p["cat"][i]]
                if len(same):
                    gap = np.abs(np.log(p["list_price"][same] / p["list_price"][i]))
                    twin[i] = same[int(np.argmin(gap))]
            self._twins[month] = twin
        return self._twins[month]

    def plant(self, month: int, reg_l: np.ndarray, lines: dict) -> None:
        """Turn the region's lines green, in their (random) order, until its share of the
        piece's revenue from green products reaches the month's target (in place)."""
        target = self.target(month)
        if target is None:
            return
        p, net, prod = self.p, lines["net_amount"], lines["prod"]
        mine = reg_l == self.region
        total = net[mine].sum()
        green = net[mine & p["is_green"][prod]].sum()
        twin = self.twins(month)[prod]
        cand = np.flatnonzero(mine & ~p["is_green"][prod] & (twin >= 0))
        if total <= 0 or not len(cand) or green >= target * total:
            return
        qty, disc = lines["quantity"][cand], lines["discount"][cand]
        new = np.round(qty * p["list_price"][twin[cand]] * (1 - disc), 2)
        share = (green + np.cumsum(new)) / (total + np.cumsum(new - net[cand]))
        hit = np.flatnonzero(share >= target)
        k = int(hit[0]) + 1 if len(hit) else len(cand)  # up to the first line that reaches it
        take, to = cand[:k], twin[cand[:k]]
        lines["prod"][take] = to
        lines["unit_price"][take] = p["list_price"][to]
        lines["net_amount"][take] = new[:k]
        lines["cost"][take] = np.round(qty[:k] * p["unit_cost"][to], 2)


def _coded(codes: np.ndarray, labels) -> pa.DictionaryArray:
    """A dictionary column of int8 ``codes`` into ``labels``."""
    return pa.DictionaryArray.from_arrays(pa.array(codes.astype(np.int8)), pa.array(labels))


def _piece_table(orders: dict, lines: dict, sizes: np.ndarray) -> pa.Table:
    """The piece as Arrow: order columns repeated on each of their lines, codes as dictionaries."""
    o = {k: np.repeat(v, sizes) for k, v in orders.items()}
    starts = np.cumsum(sizes) - sizes
    line_no = np.arange(len(lines["prod"])) - np.repeat(starts, sizes) + 1
    return pa.table(
        {
            "order_no": o["order_no"],
            "line_no": line_no,
            "order_day": pa.array(o["order_day"].astype(np.int32)).cast(pa.date32()),
            "cust": o["cust"],
            "rep": o["rep"],
            "prod": lines["prod"],
            "channel": _coded(o["channel"], CHANNELS),
            "region": _coded(o["region"], REGIONS),
            "country": _coded(o["country"], COUNTRIES),
            "quantity": lines["quantity"],
            "unit_price": lines["unit_price"],
            "discount": lines["discount"],
            "net_amount": lines["net_amount"],
            "cost": lines["cost"],
            "is_return": lines["is_return"],
        }
    )


# SQL expression per orders column, over the registered chunk; a column the schema gains
# later is written as NULL until the generator learns it.
_ORDER_EXPR = {
    "order_id": "printf('SO%09d', order_no)",
    "line_no": "line_no",
    "order_date": "order_day",
    "customer_id": "printf('C%05d', cust + 1)",
    "rep_id": "printf('R%03d', rep + 1)",
    "product_id": "printf('P%04d', prod + 1)",
    "channel": "channel::VARCHAR",
    "region": "region::VARCHAR",
    "country": "country::VARCHAR",
    "quantity": "quantity",
    "unit_price": "unit_price",
    "discount": "discount",
    "net_amount": "net_amount",
    "currency": "'USD'",
    "cost": "cost",
    "is_return": "is_return",
    # returns are booked as their own negative lines, never flagged on the sale
    "returned": "false",
}
_ORDERS_INSERT = (
    "INSERT INTO orders SELECT "
    + ", ".join(_ORDER_EXPR.get(c, "NULL") for c in TABLES["orders"].column_names)
    + " FROM _chunk"
)


def _write_orders(con, gen: _OrderGenerator, quota: np.ndarray, chunk_lines: int) -> int:
    buffer: list[pa.Table] = []
    buffered = 0
    total = 0

    def flush():
        nonlocal buffer, buffered
        if not buffer:
            return
        con.register("_chunk", pa.concat_tables(buffer))
        con.execute(_ORDERS_INSERT)
        con.unregister("_chunk")
        buffer, buffered = [], 0

    for month, lines in enumerate(quota):
        remaining = int(lines)
        while remaining > 0:
            n = min(remaining, chunk_lines)
            t = gen.piece(month, n, n / int(lines))
            buffer.append(t)
            buffered += n
            total += n
            remaining -= n
            if buffered >= chunk_lines:
                flush()
    flush()
    return total
