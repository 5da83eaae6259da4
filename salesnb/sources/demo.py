"""The demo company: a deterministic sales department with known truths planted in it.

``build(out, seed, orders, end)`` writes an embedded DuckDB warehouse holding every
table of :data:`salesnb.model.schema.TABLES` (canonical column names and types) and a
``truths.json`` beside it: the planted facts of ``docs/TRUTHS.md`` that the studies
must recover. Same seed and size, same table contents: every random draw comes from
a numpy ``Generator`` seeded from ``seed`` (one independent stream per table, so the
opportunities do not change when ``--orders`` does), and nothing reads the clock.

The shape (defaults): 2023-10-01 .. 2026-09-30, about 60 reps in 8 teams across the
regions North / South / East / West, 20,000 customers, 200 products in 6 categories,
``orders`` order lines (1,000,000), 30,000 opportunities with their stage history,
60,000 leads, tickets, surveys, quarterly market sizes, a training and a pilot.

How each truth is planted (the study that must find it in brackets):

- seasonality [targets]: expected revenue per month follows a monthly index peaking
  in November (+40 %);
- growth [targets]: expected revenue grows 15 %/year, so any period's revenue is
  1.15 x the same period a year before (a month's line quota is divided by the expected
  value of a line that month, so product launches and customer churn do not bend it);
- channel overtake [channels]: Online's share of Mid-Market/SMB orders rises and
  Retail's falls with a step between the 6th and 7th quarter (2025-Q1 -> 2025-Q2);
- bottleneck [funnel]: Proposal has the lowest stage-to-next conversion and the
  longest dwell. Stage history rows are the stages a deal entered; won deals enter
  ``Closed``; a lost deal stops at the stage it was lost in (``opportunities.stage``
  is that stage, ``status`` = lost, ``close_date`` when it was lost);
- competitor [market]: Northwind takes most of the lost Enterprise deals that went
  to a competitor (and has the largest Enterprise ``competitor_sales``);
- elasticity [market]: quantity ~ Poisson(lambda_product x segment x (1 - discount)^-1.5),
  discount independent of everything else, ``unit_price`` = list price;
- training [experiments]: half of the reps (random) trained in "Consultative Selling"
  15 months before the end sell +12 %: their revenue weight within the region is
  multiplied by 1.12 from that date and the region's revenue share rises with it, so
  the untrained reps keep their expected revenue relative to one another;
- pilot [experiments]: "Value selling" from 9 months before the end, reps split at
  random; pilot reps' deals created from the start win 8 points more often;
- whales [customers]: six Enterprise customers carry a large order weight; the
  top-10 share of the default period is measured from the data written;
- discount breaches [performance]: a few won deals per quarter carry a discount above
  their rep role's authority (``schema.DEFAULT_DISCOUNT_AUTHORITY``); the count and ids
  of those closed in the default period are measured from the data written.
- forecast call styles [deals]: every rep submits a call each Monday for the quarter under
  way (``forecast_calls``), built from the rep's own won amount that quarter: won so far
  plus the rest times a style factor and a noise that shrinks as the quarter ends. Two
  reps sandbag (factor 0.6: the quarter ends above their commit), two over-promise (1.5)
  and the rest are accurate (1.0); drawn from their own random stream, so every other
  table is the same with or without them.

Sampling noise is kept low on purpose so the truths hold at the 200k-line test size:
customers, products and regions are drawn by systematic sampling, and orders are dealt
to reps so each rep's monthly revenue is its weight's share (times a 5 % month noise).

Order lines are generated month by month in pieces of at most ``CHUNK_LINES`` lines
and appended to DuckDB, so ``--orders 50000000`` runs in bounded memory.
"""

from __future__ import annotations

import heapq
import json
import os
import time
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa

from salesnb.model.periods import last_complete_quarter, parse_period
from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY, DUCKDB_TYPES, TABLES

CHUNK_LINES = 1_000_000

REGIONS = ("North", "South", "East", "West")
SEGMENTS = ("Enterprise", "Mid-Market", "SMB")
CHANNELS = ("Direct", "Partner", "Online", "Retail")
CATEGORIES = ("Hardware", "Software", "Services", "Accessories", "Consumables", "Networking")
STAGES = ("Prospecting", "Qualification", "Proposal", "Negotiation", "Closed")
COMPETITORS = ("Northwind", "Contoso", "Globex", "Initech", "Fabrikam")
INDUSTRIES = (
    "Manufacturing",
    "Retail",
    "Healthcare",
    "Finance",
    "Technology",
    "Education",
    "Logistics",
    "Energy",
    "Public Sector",
)
SOURCES = ("Inbound", "Outbound", "Partner", "Event", "Referral")
LOSS_REASONS = ("Price", "Competitor", "Features", "No decision", "Timing")
TRAINING_PROGRAM = "Consultative Selling"
PILOT_NAME = "Value selling"

# Share of customers per region, and of revenue before the training.
REGION_SHARE = np.array([0.28, 0.24, 0.26, 0.22])

# Countries per region with their share of the region's customers. Customers in China
# carry Chinese names so UTF-8 is exercised end to end.
COUNTRIES = ("United States", "Canada", "Mexico", "China", "United Kingdom")
REGION_COUNTRIES = {
    "North": {"United States": 0.85, "Canada": 0.15},
    "South": {"United States": 0.85, "Mexico": 0.15},
    "East": {"United States": 0.90, "China": 0.10},
    "West": {"United States": 0.90, "United Kingdom": 0.10},
}

# Planted parameters (docs/TRUTHS.md).
SEASON = np.array([0.86, 0.84, 1.00, 0.95, 0.97, 1.00, 0.90, 0.88, 1.00, 1.10, 1.40, 1.15])
PEAK_MONTH = int(np.argmax(SEASON)) + 1  # 11
GROWTH_PER_YEAR = 0.15
ELASTICITY = -1.5
TRAINING_UPLIFT = 0.12
PILOT_UPLIFT = 0.08
# Deals still open at the end are mostly slow, won-bound ones, so among the pilot's
# closed deals the measured uplift comes out ~7 % below the one planted in the win
# probability (mean of 30 seeds: 0.0743 for 0.08). Plant it that much larger so the
# measurement the studies make (won / closed) recovers 0.08.
PILOT_CENSORING = 1.076
OVERTAKE_QUARTER_INDEX = 6  # 0-based quarter of the data (2025-Q2 for the default span)

# Funnel: conversion from each stage to the next, and median dwell (days) in it.
CONVERSION = np.array([0.72, 0.66, 0.40, 0.74])
DWELL_MEDIAN_DAYS = np.array([6.0, 11.0, 28.0, 13.0])

# Forecast calls: the factor on the part of the quarter not yet won, per planted style,
# the number of reps of each non-accurate style, and the noise of an early call.
CALL_STYLE_FACTOR = {"sandbagger": 0.6, "over-promiser": 1.5, "accurate": 1.0}
CALL_STYLE_REPS = {"sandbagger": 2, "over-promiser": 2}
CALL_NOISE = 0.25

# Share of lost deals that went to a competitor, and which one, per segment.
COMPETITOR_SHARE = {
    "Enterprise": [0.62, 0.14, 0.10, 0.09, 0.05],
    "Mid-Market": [0.14, 0.33, 0.26, 0.15, 0.12],
    "SMB": [0.07, 0.13, 0.32, 0.22, 0.26],
}
COMPETITOR_REASON_P = [0.30, 0.30, 0.15, 0.15, 0.10]  # LOSS_REASONS; first three name a competitor


def _systematic(rng: np.random.Generator, weights: np.ndarray, n: int) -> np.ndarray:
    """``n`` draws of indices with probability proportional to ``weights``, stratified.

    Systematic sampling (one uniform offset, evenly spaced points on the cumulative
    weights, then shuffled) gives every index within one draw of its expected count, so
    monthly revenue, channel and rep totals carry far less sampling noise than with
    independent draws and the planted effects show up clearly even in a small demo.
    """
    cum = np.cumsum(weights, dtype=np.float64)
    points = (rng.random() + np.arange(n)) / n * cum[-1]
    idx = np.searchsorted(cum, points, side="right").clip(0, len(weights) - 1)
    return rng.permutation(idx)


def _deal(values: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Assign items (largest first) to the bin least filled relative to its weight.

    Weighted longest-processing-time dealing: every bin ends up with almost exactly its
    weight's share of the total value. A heap keeps it at O(n log bins).
    """
    out = np.empty(len(values), np.int64)
    if len(values) == 0:
        return out
    heap = [(0.0, b) for b in range(len(weights))]
    inv = (1.0 / np.asarray(weights, dtype=np.float64)).tolist()
    fill = [0.0] * len(weights)
    order = np.argsort(-values, kind="stable")
    vals = values[order].tolist()
    assigned = [0] * len(values)
    pop, push = heapq.heappop, heapq.heappush
    for k, v in enumerate(vals):
        _, b = pop(heap)
        assigned[k] = b
        fill[b] += v
        push(heap, (fill[b] * inv[b], b))
    out[order] = assigned
    return out


def _sub_rngs(seed: int) -> dict[str, np.random.Generator]:
    names = (
        "reps",
        "customers",
        "products",
        "orders",
        "opportunities",
        "leads",
        "tickets",
        "surveys",
        "market",
        "targets",
        "pilots",
        # appended last: SeedSequence children are numbered, so the streams above keep
        # their draws and adding a table changes no other table
        "forecast_calls",
    )
    seqs = np.random.SeedSequence(seed).spawn(len(names))
    return {n: np.random.default_rng(s) for n, s in zip(names, seqs, strict=True)}


def _day(d) -> int:
    """Days since 1970-01-01."""
    return int(np.datetime64(pd.Timestamp(d).date(), "D").astype(np.int64))


def _quarter_number(days: np.ndarray) -> np.ndarray:
    """year * 4 + quarter - 1 of each day (days since 1970-01-01)."""
    months = np.asarray(days).astype("datetime64[D]").astype("datetime64[M]").astype(np.int64)
    return months // 3  # months since 1970-01 -> quarters since 1970-Q1


def _months_back(first_of_month: date, months: int) -> date:
    ts = pd.Timestamp(first_of_month) - pd.DateOffset(months=months)
    return ts.date()


class _Calendar:
    """The months of the demo span with their planted order-line weight."""

    def __init__(self, end: str):
        end_ts = pd.Timestamp(end).normalize()
        start_ts = end_ts - pd.DateOffset(years=3) + pd.Timedelta(days=1)
        self.start, self.end = _day(start_ts), _day(end_ts)  # inclusive
        after_end = (end_ts + pd.Timedelta(days=1)).date()
        after_month = date(after_end.year, after_end.month, 1)
        if after_end.day != 1:  # end inside a month: anchor on the next month start
            after_month = (pd.Timestamp(after_month) + pd.DateOffset(months=1)).date()
        self.training_day = _day(_months_back(after_month, 15))
        self.pilot_day = _day(_months_back(after_month, 9))
        months = pd.period_range(start_ts.to_period("M"), end_ts.to_period("M"), freq="M")
        lo, hi, weights, moy = [], [], [], []
        for p in months:
            a = max(_day(p.start_time), self.start)
            b = min(_day(p.end_time.normalize()), self.end)
            full = p.days_in_month
            mid_years = ((a + b) / 2 - self.start) / 365.25
            w = SEASON[p.month - 1] * (1 + GROWTH_PER_YEAR) ** mid_years * (b - a + 1) / full
            lo.append(a)
            hi.append(b)
            weights.append(w)
            moy.append(p.month)
        self.lo, self.hi = np.array(lo), np.array(hi)
        self.weights = np.array(weights)
        self.month_of_year = np.array(moy)
        q0 = pd.Timestamp(start_ts).to_period("Q")
        self.quarter_index = np.array(
            [(pd.Period(p, freq="Q") - q0).n for p in months.to_timestamp()]
        )
        self.n_quarters = int(self.quarter_index.max()) + 1
        self.overtake_quarter = str(q0 + OVERTAKE_QUARTER_INDEX).replace("Q", "-Q")
        self.default_period = last_complete_quarter(end_ts.date())

    def line_quota(self, total: int, line_value: np.ndarray | None = None) -> np.ndarray:
        """Lines per month: largest-remainder rounding of the planted weights (revenue),
        divided by the expected value of a line in each month when given."""
        w = self.weights if line_value is None else self.weights / line_value
        share = w / w.sum() * total
        base = np.floor(share).astype(np.int64)
        rest = total - base.sum()
        order = np.argsort(-(share - base), kind="stable")
        base[order[:rest]] += 1
        return base


# --------------------------------------------------------------------------- dimensions

_FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Lena",
    "Marco",
    "Priya",
    "Diego",
)
_LAST = (
    "Anders",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Martin",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quint",
    "Rossi",
    "Smith",
    "Tanaka",
    "Usman",
    "Varga",
    "Wang",
    "Young",
    "Zhang",
)
_CO_A = (
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Summit",
    "Cedar",
    "Harbor",
    "Iron",
    "Pioneer",
    "Golden",
    "Rapid",
    "Clear",
    "Prime",
    "Atlas",
    "Maple",
    "Vertex",
    "Oak",
    "Lumen",
)
_CO_B = (
    "River",
    "Peak",
    "Bridge",
    "Field",
    "Stone",
    "Wave",
    "Point",
    "Gate",
    "Ridge",
    "Works",
    "Line",
    "Path",
    "Forge",
    "Valley",
    "Crest",
    "Bay",
)
_CO_C = ("Inc", "LLC", "Corp", "Group", "Partners", "Co", "Ltd", "Holdings")
_CN_A = ("华东", "江南", "长城", "东方", "华夏", "金桥", "新华", "海天", "中联", "远航")
_CN_B = ("贸易", "科技", "制造", "物流", "电子", "实业", "商贸")


def _reps(rng: np.random.Generator, cal: _Calendar) -> pd.DataFrame:
    rows = []
    n = 0
    team_sizes = [8, 7, 8, 7, 8, 7, 8, 7]
    for t, size in enumerate(team_sizes):
        region = REGIONS[t // 2]
        team = f"{region} {'AB'[t % 2]}"
        manager_id = None
        for k in range(size):
            n += 1
            rep_id = f"R{n:03d}"
            role = "manager" if k == 0 else ("senior" if k <= 2 else "rep")
            if k == 0:
                manager_id = rep_id
            rows.append((rep_id, team, region, None if k == 0 else manager_id, role))
    df = pd.DataFrame(rows, columns=["rep_id", "team", "region", "manager_id", "role"])
    first = rng.integers(0, len(_FIRST), len(df))
    last = rng.integers(0, len(_LAST), len(df))
    df.insert(1, "name", [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(first, last, strict=True)])
    hire = cal.start - rng.integers(60, 3000, len(df))
    df.insert(5, "hire_date", hire.astype("datetime64[D]"))
    base = rng.lognormal(0.0, 0.25, len(df))
    role_w = df["role"].map({"manager": 0.5, "senior": 1.3, "rep": 1.0}).to_numpy()
    df["weight"] = base * role_w
    # Half of the reps, chosen at random, get the training; an independent random half
    # goes into the pilot group.
    trained = np.zeros(len(df), bool)
    trained[rng.permutation(len(df))[: len(df) // 2]] = True
    df["trained"] = trained
    pilot = np.zeros(len(df), bool)
    pilot[rng.permutation(len(df))[: len(df) // 2]] = True
    df["pilot"] = pilot
    return df


def _customers(
    rng: np.random.Generator, cal: _Calendar, reps: pd.DataFrame, n: int = 20_000
) -> pd.DataFrame:
    seg = rng.choice(3, n, p=[0.10, 0.30, 0.60])
    region = rng.choice(4, n, p=REGION_SHARE)
    country = np.zeros(n, np.int64)
    for r, name in enumerate(REGIONS):
        opts = REGION_COUNTRIES[name]
        idx = np.flatnonzero(region == r)
        codes = [COUNTRIES.index(c) for c in opts]
        country[idx] = rng.choice(codes, len(idx), p=list(opts.values()))
    a = rng.integers(0, len(_CO_A), n)
    b = rng.integers(0, len(_CO_B), n)
    c = rng.integers(0, len(_CO_C), n)
    ca = rng.integers(0, len(_CN_A), n)
    cb = rng.integers(0, len(_CN_B), n)
    cn = COUNTRIES.index("China")
    names = [
        f"{_CN_A[ca[i]]}{_CN_B[cb[i]]}有限公司"
        if country[i] == cn
        else f"{_CO_A[a[i]]} {_CO_B[b[i]]} {_CO_C[c[i]]}"
        for i in range(n)
    ]
    industry = rng.integers(0, len(INDUSTRIES), n)
    # A little over half were customers before the demo starts; the rest arrive over it.
    before = rng.random(n) < 0.55
    created = np.where(
        before,
        cal.start - rng.integers(1, 4 * 365, n),
        rng.integers(cal.start, cal.end - 30, n),
    )
    lifetime = rng.exponential(6 * 365, n)
    churn = created + lifetime.astype(np.int64) + 90
    weight = rng.lognormal(0.0, 1.0, n) * np.array([6.0, 2.5, 1.0])[seg]
    # Whales: six old Enterprise accounts that never churn and buy a lot.
    ent = np.flatnonzero((seg == 0) & before)
    whales = ent[rng.permutation(len(ent))[:6]]
    weight[whales] = np.array([700.0, 560.0, 470.0, 400.0, 330.0, 280.0])
    churn[whales] = cal.end + 10_000
    owner = np.empty(n, dtype=object)
    sellers = reps[reps["role"] != "manager"]
    for r, name in enumerate(REGIONS):
        idx = np.flatnonzero(region == r)
        ids = sellers.loc[sellers["region"] == name, "rep_id"].to_numpy()
        owner[idx] = ids[rng.integers(0, len(ids), len(idx))]
    return pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(n)],
            "name": names,
            "segment": np.array(SEGMENTS)[seg],
            "industry": np.array(INDUSTRIES)[industry],
            "region": np.array(REGIONS)[region],
            "country": np.array(COUNTRIES)[country],
            "created_date": created.astype("datetime64[D]"),
            "owner_rep_id": owner.astype(str),
            # generator-only columns
            "seg": seg,
            "reg": region,
            "ctry": country,
            "created": created,
            "churn": churn,
            "weight": weight,
        }
    )


def _products(rng: np.random.Generator, cal: _Calendar, n: int = 200) -> pd.DataFrame:
    cat = np.arange(n) % len(CATEGORIES)
    cat_price = np.array([900.0, 400.0, 1500.0, 45.0, 18.0, 650.0])
    list_price = np.round(cat_price[cat] * rng.lognormal(0.0, 0.45, n), 2)
    unit_cost = np.round(list_price * rng.uniform(0.35, 0.7, n), 2)
    # Bulk items sell in larger quantities; lambda >= 5 keeps zero draws rare.
    lam = np.array([6.0, 8.0, 5.0, 20.0, 30.0, 7.0])[cat] * rng.uniform(0.8, 1.3, n)
    launched_late = rng.random(n) < 0.10
    launch = np.where(
        launched_late,
        rng.integers(cal.start, cal.end - 120, n),
        cal.start - rng.integers(100, 2500, n),
    )
    popularity = rng.lognormal(0.0, 0.7, n) * np.where(launched_late, 0.5, 1.0)
    return pd.DataFrame(
        {
            "product_id": [f"P{i + 1:04d}" for i in range(n)],
            "name": [f"{CATEGORIES[c]} {chr(65 + i % 26)}{100 + i}" for i, c in enumerate(cat)],
            "category": np.array(CATEGORIES)[cat],
            "list_price": list_price,
            "unit_cost": unit_cost,
            "launch_date": launch.astype("datetime64[D]"),
            "is_green": rng.random(n) < 0.2,
            "lam": lam,
            "launch": launch,
            "popularity": popularity,
        }
    )


# --------------------------------------------------------------------------- orders


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


class _OrderGenerator:
    def __init__(self, rng, cal, reps, customers, products):
        self.rng, self.cal = rng, cal
        self.channel_p = _channel_probs(cal)
        self.rep_region = reps["region"].map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
        self.rep_weight = reps["weight"].to_numpy()
        self.rep_trained = reps["trained"].to_numpy()
        # numpy copies of the columns used per piece (pandas column access is not free)
        self.c = {
            k: customers[k].to_numpy() for k in ("created", "churn", "reg", "seg", "ctry", "weight")
        }
        self.p = {
            k: products[k].to_numpy()
            for k in ("launch", "popularity", "list_price", "unit_cost", "lam")
        }
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

    def piece(self, month: int, n_lines: int) -> pa.Table:
        """One chunk of ``n_lines`` order lines in ``month``: orders, then their lines and reps."""
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
        rep = self._order_reps(rep_w, reg, lines["net_amount"], sizes)
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
        discount = np.where(rng.random(n_lines) < 0.45, 0.0, rng.integers(1, 31, n_lines) / 100.0)
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
            t = gen.piece(month, n)
            buffer.append(t)
            buffered += n
            total += n
            remaining -= n
            if buffered >= chunk_lines:
                flush()
    flush()
    return total


# --------------------------------------------------------------------------- opportunities


def _existing_customers(
    rng, cal: _Calendar, customers: pd.DataFrame, days: np.ndarray, weights: np.ndarray
) -> np.ndarray:
    """For each day, a customer (by ``weights``) created before that day's month."""
    created = customers["created"].to_numpy()
    month = np.searchsorted(cal.lo, days, side="right") - 1
    cust = np.empty(len(days), np.int64)
    for m in np.unique(month):
        sel = np.flatnonzero(month == m)
        ok = np.flatnonzero(created < cal.lo[m])
        cust[sel] = ok[rng.choice(len(ok), len(sel), p=weights[ok] / weights[ok].sum())]
    return cust


def _opportunities(
    rng,
    cal: _Calendar,
    reps: pd.DataFrame,
    customers: pd.DataFrame,
    products: pd.DataFrame,
    n: int = 30_000,
):
    """The CRM's opportunities and their stage history, with the pilot and breaches planted."""
    created = _opportunity_created(rng, cal, n)
    # Customer: one already created, Enterprise accounts see more deals.
    seg_w = np.array([4.0, 2.0, 1.0])[customers["seg"].to_numpy()]
    cust = _existing_customers(rng, cal, customers, created, seg_w)
    seg = customers["seg"].to_numpy()[cust]
    rep = _opportunity_reps(rng, reps, customers["reg"].to_numpy()[cust])
    prod = _opportunity_products(rng, cal, products, created)
    pilot = reps["pilot"].to_numpy()[rep] & (created >= cal.pilot_day)
    entered, reached, dwell = _stage_entries(rng, pilot, created)
    entered, close, status, stage = _close_and_status(cal, entered, reached, dwell)
    lost = status == "lost"
    reason, comp = _loss_reasons(rng, seg, lost)
    discount = _opportunity_discounts(rng, reps["role"].to_numpy()[rep], status, close)
    qty = np.ceil(rng.lognormal(np.log(np.array([40.0, 12.0, 4.0])[seg]), 0.6))
    amount = np.round(products["list_price"].to_numpy()[prod] * qty * (1 - discount), 2)
    source = rng.choice(len(SOURCES), n, p=[0.35, 0.25, 0.15, 0.15, 0.10])
    opps = pd.DataFrame(
        {
            "opportunity_id": [f"OP{i + 1:06d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "rep_id": reps["rep_id"].to_numpy()[rep],
            "product_id": products["product_id"].to_numpy()[prod],
            "created_date": created.astype("datetime64[D]"),
            "close_date": close.astype("datetime64[D]"),
            "amount": amount,
            "stage": stage,
            "status": status.astype(str),
            "loss_reason": pd.Series(
                np.where(lost, np.array(LOSS_REASONS)[reason], None), dtype="str"
            ),
            "competitor": pd.Series(
                np.where(comp >= 0, np.array(COMPETITORS)[comp.clip(0)], None), dtype="str"
            ),
            "source": np.array(SOURCES)[source],
            "discount": discount,
        }
    )
    return opps, _stage_history(opps, entered)


def _opportunity_created(rng, cal: _Calendar, n: int) -> np.ndarray:
    """Sorted creation days: uniform over the span with the same 15 %/year growth."""
    span = cal.end - cal.start + 1
    g = np.log1p(GROWTH_PER_YEAR) / 365.25
    u = rng.random(n)
    created = cal.start + np.floor(np.log1p(u * np.expm1(g * span)) / g).astype(np.int64)
    return np.sort(created)


def _opportunity_reps(rng, reps: pd.DataFrame, reg: np.ndarray) -> np.ndarray:
    """Rep of each deal: one of its customer's region, managers at 0.3 the weight of a rep."""
    rep_region = reps["region"].map({r: i for i, r in enumerate(REGIONS)}).to_numpy()
    rep_w = np.where(reps["role"].to_numpy() == "manager", 0.3, 1.0)
    rep = np.empty(len(reg), np.int64)
    for r in range(len(REGIONS)):
        m = np.flatnonzero(reg == r)
        idx = np.flatnonzero(rep_region == r)
        rep[m] = idx[rng.choice(len(idx), len(m), p=rep_w[idx] / rep_w[idx].sum())]
    return rep


def _opportunity_products(rng, cal: _Calendar, products: pd.DataFrame, created) -> np.ndarray:
    """Product of each deal: any, redrawn among the launched-before-the-data ones if not out yet."""
    live = products["launch"].to_numpy()
    prod = rng.integers(0, len(products), len(created))
    late = live[prod] > created
    prod[late] = rng.choice(np.flatnonzero(live < cal.start), late.sum())
    return prod


def _stage_entries(rng, pilot: np.ndarray, created: np.ndarray):
    """Uncensored stage entry days, stages passed (0..4) and dwell days per stage.

    The pilot multiplies each conversion by k so the win probability rises by PILOT_UPLIFT.
    """
    n = len(created)
    p_win = float(np.prod(CONVERSION))
    k = ((p_win + PILOT_UPLIFT * PILOT_CENSORING) / p_win) ** (1 / len(CONVERSION))
    conv = np.where(pilot[:, None], CONVERSION * k, CONVERSION)
    passed = rng.random((n, 4)) < conv
    reached = np.cumprod(passed, axis=1).sum(axis=1)  # stages passed (0..4)
    dwell = np.maximum(1, np.round(rng.lognormal(np.log(DWELL_MEDIAN_DAYS), 0.55, (n, 4))))
    entered = np.full((n, 5), -1, np.int64)
    entered[:, 0] = created
    for s in range(4):
        go = reached > s
        entered[go, s + 1] = entered[go, s] + dwell[go, s].astype(np.int64)
    return entered, reached, dwell


def _close_and_status(cal: _Calendar, entered, reached, dwell):
    """Censor at the data's end; close day, status and stage (open deals get an expected close)."""
    n = len(reached)
    won = reached == 4
    lost_close = entered[np.arange(n), np.minimum(reached, 3)] + dwell[
        np.arange(n), np.minimum(reached, 3)
    ].astype(np.int64)
    close = np.where(won, entered[:, 4], lost_close)
    # Censor at the end of the data: later stage entries did not happen yet.
    future = entered > cal.end
    entered[future] = -1
    status = np.where(won, "won", "lost").astype(object)
    open_ = close > cal.end
    status[open_] = "open"
    cur = (entered >= 0).sum(axis=1) - 1  # index of the last stage entered
    stage_idx = np.where(open_, cur, np.where(won, 4, reached))
    stage = np.array(STAGES)[stage_idx]
    # Expected close of open deals: the median remaining path, at least a week out.
    remaining = np.array([DWELL_MEDIAN_DAYS[s:].sum() for s in range(5)] + [0.0])
    exp_close = np.maximum(
        entered[np.arange(n), cur] + remaining[cur].astype(np.int64), cal.end + 7
    )
    close = np.where(open_, exp_close, close)
    return entered, close, status, stage


def _loss_reasons(rng, seg: np.ndarray, lost: np.ndarray):
    """Loss reason of every deal, and competitor (-1 = none) of deals lost to one."""
    n = len(seg)
    reason = rng.choice(len(LOSS_REASONS), n, p=COMPETITOR_REASON_P)
    comp = np.full(n, -1)
    for s, name in enumerate(SEGMENTS):
        m = seg == s
        comp[m] = rng.choice(len(COMPETITORS), m.sum(), p=COMPETITOR_SHARE[name])
    return reason, np.where(lost & (reason < 3), comp, -1)


def _opportunity_discounts(rng, role: np.ndarray, status: np.ndarray, close: np.ndarray):
    """Discount within the rep role's authority, except 3-6 won deals per quarter that breach it."""
    auth = np.array([DEFAULT_DISCOUNT_AUTHORITY[r] for r in role])
    discount = np.round(auth * rng.beta(1.2, 2.5, len(role)), 2)
    close_q = _quarter_number(close)
    breach = np.zeros(len(role), bool)
    won_closed = np.flatnonzero(status == "won")
    for q in sorted(set(close_q[won_closed])):
        cand = won_closed[close_q[won_closed] == q]
        k_b = min(len(cand), int(rng.integers(3, 7)))
        breach[rng.choice(cand, k_b, replace=False)] = True
    discount[breach] = np.round(auth[breach] + rng.uniform(0.03, 0.12, breach.sum()), 2)
    return discount


def _stage_history(opps: pd.DataFrame, entered: np.ndarray) -> pd.DataFrame:
    """One row per stage a deal entered (censored entries are -1 and left out)."""
    oi, si = np.nonzero(entered >= 0)
    return pd.DataFrame(
        {
            "opportunity_id": opps["opportunity_id"].to_numpy()[oi],
            "stage": np.array(STAGES)[si],
            "entered_date": entered[oi, si].astype("datetime64[D]"),
        }
    )


def _leads(rng, cal: _Calendar, opps: pd.DataFrame, n: int = 60_000) -> pd.DataFrame:
    n_conv = min(len(opps), int(n * 0.35))
    conv = np.sort(rng.choice(len(opps), n_conv, replace=False))
    opp_created = opps["created_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    conv_created = np.maximum(cal.start, opp_created[conv] - rng.integers(0, 22, n_conv))
    n_other = n - n_conv
    other_created = rng.integers(cal.start, cal.end + 1, n_other)
    created = np.concatenate([conv_created, other_created])
    src_other = np.array(SOURCES)[rng.choice(len(SOURCES), n_other, p=[0.4, 0.3, 0.1, 0.12, 0.08])]
    source = np.concatenate([opps["source"].to_numpy()[conv].astype(str), src_other])
    channel = np.array(CHANNELS)[rng.choice(4, n, p=[0.35, 0.2, 0.35, 0.1])]
    conv_id = np.concatenate(
        [
            opps["opportunity_id"].to_numpy()[conv].astype(object),
            np.full(n_other, None, dtype=object),
        ]
    )
    order = np.argsort(created, kind="stable")
    return pd.DataFrame(
        {
            "lead_id": [f"L{i + 1:06d}" for i in range(n)],
            "created_date": created[order].astype("datetime64[D]"),
            "source": source[order],
            "channel": channel[order],
            "converted_opportunity_id": pd.Series(conv_id[order], dtype="str"),
        }
    )


# --------------------------------------------------------------------------- service, feedback


def _tickets(
    rng, cal: _Calendar, customers: pd.DataFrame, products: pd.DataFrame, n: int = 12_000
) -> pd.DataFrame:
    opened = rng.integers(cal.start * 86400, (cal.end + 1) * 86400, n)
    opened.sort()
    cust = _existing_customers(
        rng, cal, customers, opened // 86400, customers["weight"].to_numpy() ** 0.5
    )
    prod = rng.integers(0, len(products), n)
    priorities = np.array(["Low", "Medium", "High", "Urgent"])
    pri = rng.choice(4, n, p=[0.4, 0.35, 0.2, 0.05])
    resp_h = rng.lognormal(np.log(np.array([24.0, 10.0, 4.0, 1.0])[pri]), 0.8)
    first = opened + (resp_h * 3600).astype(np.int64)
    res_h = resp_h + rng.lognormal(np.log(np.array([72.0, 48.0, 24.0, 8.0])[pri]), 0.9)
    resolved = opened + (res_h * 3600).astype(np.int64)
    end_s = (cal.end + 1) * 86400
    first_ts = pd.Series(first.astype("datetime64[s]")).where(first < end_s)
    resolved_ts = pd.Series(resolved.astype("datetime64[s]")).where(resolved < end_s)
    csat = np.clip(
        np.round(4.7 - 0.45 * np.log(res_h / 24.0).clip(0) + rng.normal(0, 0.7, n)), 1, 5
    )
    answered = (rng.random(n) < 0.55) & (resolved < end_s)
    cats = np.array(["Billing", "Delivery", "Defect", "Installation", "How-to"])
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i + 1:06d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "product_id": products["product_id"].to_numpy()[prod],
            "opened_at": opened.astype("datetime64[s]"),
            "first_response_at": first_ts,
            "resolved_at": resolved_ts,
            "category": cats[rng.choice(5, n, p=[0.2, 0.25, 0.2, 0.15, 0.2])],
            "priority": priorities[pri],
            "csat": np.where(answered, csat, np.nan),
        }
    )


def _surveys(rng, cal: _Calendar, customers: pd.DataFrame, n: int = 8_000) -> pd.DataFrame:
    day = np.sort(rng.integers(cal.start, cal.end + 1, n))
    cust = _existing_customers(rng, cal, customers, day, customers["weight"].to_numpy() ** 0.5)
    seg = customers["seg"].to_numpy()[cust]
    latent = rng.normal(np.array([7.6, 7.2, 6.8])[seg], 2.0)
    nps = np.clip(np.round(latent), 0, 10)
    csat = np.clip(np.round(1 + latent / 2.5 + rng.normal(0, 0.5, n)), 1, 5)
    touch = np.array(["Purchase", "Support", "Onboarding", "Renewal"])[rng.choice(4, n)]
    en = np.array(
        [
            "",
            "Great service",
            "Delivery was late",
            "Too expensive",
            "Helpful account manager",
            "Product works as promised",
        ]
    )
    cn_comments = np.array(["", "服务很好", "交货太慢", "价格偏高"])
    is_cn = customers["country"].to_numpy()[cust] == "China"
    comment = np.where(is_cn, cn_comments[rng.integers(0, 4, n)], en[rng.integers(0, 6, n)])
    return pd.DataFrame(
        {
            "response_id": [f"S{i + 1:06d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "date": day.astype("datetime64[D]"),
            "nps": nps,
            "csat": csat,
            "touchpoint": touch,
            "comment": pd.Series(np.where(comment == "", None, comment), dtype="str"),
        }
    )


def _call_styles(rng, reps: pd.DataFrame) -> dict[str, str]:
    """The planted forecasting style of each rep (managers are always accurate)."""
    cand = rng.permutation(reps.loc[reps["role"] != "manager", "rep_id"].to_numpy())
    style = dict.fromkeys(reps["rep_id"], "accurate")
    i = 0
    for name, k in CALL_STYLE_REPS.items():
        for rep_id in cand[i : i + k]:
            style[rep_id] = name
        i += k
    return style


def _forecast_calls(
    rng, cal: _Calendar, reps: pd.DataFrame, opps: pd.DataFrame, style: dict[str, str]
) -> pd.DataFrame:
    """Weekly calls per rep and quarter, from the rep's own won deals in that quarter.

    On each Monday ``d`` of a quarter a rep commits the amount won so far plus the rest of
    the quarter's actual won amount times the rep's style factor and a log-normal noise
    whose spread falls to zero at the quarter's end; best case adds a quarter to a half of
    that rest again.
    """
    won = opps[opps["status"] == "won"]
    close = won["close_date"].to_numpy().astype("datetime64[D]").astype(np.int64)
    rep_of = won["rep_id"].to_numpy()
    amount = won["amount"].to_numpy()
    rows = []
    start, end = (
        pd.Timestamp(np.datetime64(cal.start, "D")),
        pd.Timestamp(np.datetime64(cal.end, "D")),
    )
    for q in pd.period_range(start.to_period("Q"), end.to_period("Q"), freq="Q"):
        q0, q1 = _day(q.start_time), _day(q.end_time.normalize()) + 1  # [q0, q1)
        mondays = [
            _day(d) for d in pd.date_range(q.start_time, q.end_time.normalize(), freq="W-MON")
        ]
        label = f"{q.year}-Q{q.quarter}"
        in_q = (close >= q0) & (close < q1)
        for rep_id in reps["rep_id"]:
            mine = in_q & (rep_of == rep_id)
            actual = float(amount[mine].sum())
            factor = CALL_STYLE_FACTOR[style[rep_id]]
            for d in mondays:
                so_far = float(amount[mine & (close <= d)].sum())
                rest = actual - so_far
                left = (q1 - d) / (q1 - q0)
                view = rest * factor * float(np.exp(rng.normal(0.0, CALL_NOISE * left)))
                upside = rest * factor * float(rng.uniform(0.25, 0.5))
                rows.append(
                    (rep_id, label, d, round(so_far + view, 0), round(so_far + view + upside, 0))
                )
    df = pd.DataFrame(rows, columns=["rep_id", "period", "as_of", "commit", "best_case"])
    df["as_of"] = df["as_of"].to_numpy().astype("datetime64[D]")
    return df


# --------------------------------------------------------------------------- DuckDB


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_tables(con) -> None:
    for t in TABLES.values():
        cols = ", ".join(f"{_q(c.name)} {DUCKDB_TYPES[c.type]}" for c in t.columns)
        con.execute(f"CREATE TABLE {_q(t.name)} ({cols})")


def _insert_frame(con, table: str, df: pd.DataFrame) -> None:
    cols = TABLES[table].column_names
    con.register("_frame", df[[c for c in cols if c in df.columns]])
    select = ", ".join(_q(c) if c in df.columns else "NULL" for c in cols)
    con.execute(f"INSERT INTO {_q(table)} SELECT {select} FROM _frame")
    con.unregister("_frame")


def _targets(con, rng, cal: _Calendar, reps: pd.DataFrame) -> pd.DataFrame:
    """Quarterly quotas: the region's revenue x the rep's expected share x 1.1 x noise."""
    reg_q = con.execute(
        "SELECT region, year(order_date) AS y, quarter(order_date) AS q, sum(net_amount) AS rev "
        "FROM orders GROUP BY ALL ORDER BY region, y, q"
    ).df()
    reg_q["period"] = reg_q["y"].astype(str) + "-Q" + reg_q["q"].astype(str)
    rows = []
    for _, rq in reg_q.iterrows():
        p = parse_period(rq["period"])
        after = _day(p.start) >= cal.training_day
        in_region = reps[reps["region"] == rq["region"]]
        w = in_region["weight"] * np.where(in_region["trained"] & after, 1 + TRAINING_UPLIFT, 1.0)
        expected = rq["rev"] * w / w.sum()
        noise = rng.lognormal(0.0, 0.08, len(in_region))
        for rep_id, v in zip(in_region["rep_id"], expected * 1.1 * noise, strict=True):
            rows.append((rq["period"], rep_id, round(float(v), -2)))
    rep_t = pd.DataFrame(rows, columns=["period", "rep_id", "target_amount"])
    rep_t = rep_t.merge(reps[["rep_id", "team", "region"]], on="rep_id")
    out = [rep_t.assign(level="rep", key=rep_t["rep_id"])]
    for level, col in (("team", "team"), ("region", "region")):
        g = rep_t.groupby(["period", col], as_index=False)["target_amount"].sum()
        out.append(g.assign(level=level, key=g[col]))
    g = rep_t.groupby("period", as_index=False)["target_amount"].sum()
    out.append(g.assign(level="company", key="all"))
    res = pd.concat(out, ignore_index=True)[["period", "level", "key", "target_amount"]]
    return res.sort_values(["period", "level", "key"], kind="stable").reset_index(drop=True)


def _market(con, rng, cal: _Calendar) -> pd.DataFrame:
    """Market size per quarter x region x country x segment, and competitors' sales.

    Our share of each cell starts at a segment level and rises because we grow 15 %/year
    and the market 6 %; Northwind is the largest competitor in Enterprise.
    """
    ours = con.execute(
        "SELECT year(o.order_date) AS y, quarter(o.order_date) AS q, o.region, o.country, "
        "c.segment, sum(o.net_amount) AS rev FROM orders o JOIN customers c USING (customer_id) "
        "GROUP BY ALL ORDER BY y, q, o.region, o.country, c.segment"
    ).df()
    ours["period"] = ours["y"].astype(str) + "-Q" + ours["q"].astype(str)
    t_years = (ours["y"] + (ours["q"] - 1) / 4) - (ours["y"].min() + (ours["q"].iloc[0] - 1) / 4)
    share0 = ours["segment"].map({"Enterprise": 0.10, "Mid-Market": 0.16, "SMB": 0.08})
    share = share0 * ((1 + GROWTH_PER_YEAR) / 1.06) ** t_years
    size = ours["rev"].clip(lower=1000.0) / share * rng.lognormal(0, 0.03, len(ours))
    comp_share = {
        "Enterprise": [0.34, 0.16, 0.12, 0.10, 0.08],
        "Mid-Market": [0.12, 0.24, 0.20, 0.14, 0.10],
        "SMB": [0.06, 0.12, 0.22, 0.16, 0.18],
    }
    rows = []
    for i, r in ours.iterrows():
        rest = size[i] - max(r["rev"], 0.0)
        for j, comp in enumerate(COMPETITORS):
            v = rest * comp_share[r["segment"]][j] * rng.lognormal(0, 0.05)
            rows.append(
                (
                    r["period"],
                    r["region"],
                    r["country"],
                    r["segment"],
                    round(size[i], -2),
                    comp,
                    round(v, -2),
                )
            )
    return pd.DataFrame(rows, columns=TABLES["market"].column_names)


def _top10_share(con, period) -> float:
    return float(
        con.execute(
            "WITH c AS (SELECT customer_id, sum(net_amount) AS rev FROM orders "
            "WHERE order_date >= ? AND order_date < ? GROUP BY customer_id) "
            "SELECT (SELECT sum(rev) FROM (SELECT rev FROM c ORDER BY rev DESC, customer_id LIMIT 10))"
            " / sum(rev) FROM c",
            [period.start, period.end],
        ).fetchone()[0]
    )


def _breaches(opps: pd.DataFrame, reps: pd.DataFrame, period) -> list[str]:
    o = opps.merge(reps[["rep_id", "role"]], on="rep_id")
    auth = o["role"].map(DEFAULT_DISCOUNT_AUTHORITY)
    close = pd.to_datetime(o["close_date"])
    m = (
        (o["status"] == "won")
        & (o["discount"] > auth)
        & (close >= pd.Timestamp(period.start))
        & (close < pd.Timestamp(period.end))
    )
    return sorted(o.loc[m, "opportunity_id"].tolist())


def _truths(
    cal: _Calendar, top10: float, breach_ids: list[str], styles: dict[str, str]
) -> list[dict]:
    def t(name, study, key, value, tol):
        return {"name": name, "study": study, "key": key, "value": value, "tolerance": tol}

    return [
        t("seasonal_peak_month", "targets", "peak_month", PEAK_MONTH, 0),
        t("yearly_growth", "targets", "yoy_growth", GROWTH_PER_YEAR, 0.03),
        t("channel_overtake", "channels", "overtake_quarter", cal.overtake_quarter, None),
        t("channel_overtaker", "channels", "overtake_channel", "Online", None),
        t("channel_overtaken", "channels", "overtaken_channel", "Retail", None),
        t("bottleneck_stage", "funnel", "bottleneck_stage", "Proposal", None),
        t("dominant_competitor", "market", "dominant_competitor", "Northwind", None),
        t(
            "dominant_competitor_segment",
            "market",
            "dominant_competitor_segment",
            "Enterprise",
            None,
        ),
        t("price_elasticity", "market", "price_elasticity", ELASTICITY, 0.3),
        t("training_uplift", "experiments", "training_uplift_pct", TRAINING_UPLIFT, 0.05),
        t("pilot_uplift", "experiments", "pilot_win_rate_uplift", PILOT_UPLIFT, 0.04),
        t("top10_share", "customers", "top10_share", round(top10, 6), 0.005),
        {
            **t("discount_breaches", "performance", "discount_breaches", len(breach_ids), 0),
            "ids": breach_ids,
        },
        t(
            "sandbagger_reps",
            "deals",
            "sandbagger_reps",
            ", ".join(sorted(r for r, v in styles.items() if v == "sandbagger")),
            None,
        ),
        t(
            "over_promiser_reps",
            "deals",
            "over_promiser_reps",
            ", ".join(sorted(r for r, v in styles.items() if v == "over-promiser")),
            None,
        ),
    ]


def build(
    out: Path | str = "data/demo.duckdb",
    seed: int = 42,
    orders: int = 1_000_000,
    end: str = "2026-09-30",
    chunk_lines: int = CHUNK_LINES,
) -> dict:
    """Write the demo warehouse to ``out`` and ``truths.json`` beside it; return a summary.

    The warehouse is written to a temporary file in the same folder and moved into
    place only when complete, so a reader never sees half a warehouse.

    Example (200,000 order lines, a few seconds)::

        build("/tmp/demo/demo.duckdb", seed=7, orders=200_000)["rows"]["orders"]  # 200000
    """
    import duckdb

    if orders < 1000:
        raise ValueError("orders: the demo needs at least 1,000 order lines")
    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    cal = _Calendar(end)
    rngs = _sub_rngs(seed)
    reps = _reps(rngs["reps"], cal)
    customers = _customers(rngs["customers"], cal, reps)
    products = _products(rngs["products"], cal)
    opps, history = _opportunities(rngs["opportunities"], cal, reps, customers, products)
    leads = _leads(rngs["leads"], cal, opps)
    tickets = _tickets(rngs["tickets"], cal, customers, products)
    surveys = _surveys(rngs["surveys"], cal, customers)
    trained = reps[reps["trained"]]
    trainings = pd.DataFrame(
        {
            "rep_id": trained["rep_id"],
            "program": TRAINING_PROGRAM,
            "date": np.datetime64(cal.training_day, "D"),
        }
    )
    pilots = pd.DataFrame(
        {
            "pilot": PILOT_NAME,
            "unit_type": "rep",
            "unit_id": reps["rep_id"],
            "group": np.where(reps["pilot"], "pilot", "control"),
            "start_date": np.datetime64(cal.pilot_day, "D"),
            "end_date": pd.NaT,
        }
    )
    styles = _call_styles(rngs["forecast_calls"], reps)
    calls = _forecast_calls(rngs["forecast_calls"], cal, reps, opps, styles)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET threads = 2")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET memory_limit = '3GB'")
        con.execute("SET preserve_insertion_order = true")
        _create_tables(con)
        for name, df in (
            ("reps", reps),
            ("customers", customers),
            ("products", products),
            ("opportunities", opps),
            ("stage_history", history),
            ("leads", leads),
            ("tickets", tickets),
            ("surveys", surveys),
            ("trainings", trainings),
            ("pilots", pilots),
            ("forecast_calls", calls),
        ):
            _insert_frame(con, name, df)
        gen = _OrderGenerator(rngs["orders"], cal, reps, customers, products)
        line_value = np.array([gen.expected_line_value(m) for m in range(len(cal.lo))])
        _write_orders(con, gen, cal.line_quota(orders, line_value), chunk_lines)
        _insert_frame(con, "targets", _targets(con, rngs["targets"], cal, reps))
        _insert_frame(con, "market", _market(con, rngs["market"], cal))
        period = cal.default_period
        top10 = _top10_share(con, period)
        breach_ids = _breaches(opps, reps, period)
        rows = {t: con.execute(f"SELECT count(*) FROM {_q(t)}").fetchone()[0] for t in TABLES}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, out)
    truths = _truths(cal, top10, breach_ids, styles)
    tmp_truths = out.parent / f".truths.json.{os.getpid()}.tmp"
    tmp_truths.write_text(json.dumps(truths, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_truths, out.parent / "truths.json")
    return {
        "path": str(out),
        "truths": str(out.parent / "truths.json"),
        "seed": seed,
        "period": period.label,
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }
