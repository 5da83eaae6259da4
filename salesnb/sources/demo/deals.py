"""The demo's CRM: opportunities with their stage history, leads, and weekly forecast calls."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY
from salesnb.sources.demo.common import (
    CALL_NOISE,
    CALL_STYLE_FACTOR,
    CALL_STYLE_REPS,
    CHANNELS,
    COMPETITOR_REASON_P,
    COMPETITOR_SHARE,
    COMPETITORS,
    CONVERSION,
    DEAL_VALUE,
    DWELL_MEDIAN_DAYS,
    GROWTH_PER_YEAR,
    LOSS_REASONS,
    NEGOTIATION_DISCOUNT_CUT,
    PILOT_CENSORING,
    PILOT_UPLIFT,
    REGIONS,
    SEGMENTS,
    SOURCE_SHARE,
    SOURCE_WIN_FACTOR,
    SOURCES,
    STAGES,
    _Calendar,
    _day,
    _existing_customers,
    _quarter_number,
)


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
    source = rng.choice(len(SOURCES), n, p=SOURCE_SHARE)
    entered, reached, dwell = _stage_entries(rng, pilot, SOURCE_WIN_FACTOR[source], created)
    entered, close, status, stage = _close_and_status(cal, entered, reached, dwell)
    lost = status == "lost"
    reason, comp = _loss_reasons(rng, seg, lost)
    discount = _opportunity_discounts(rng, reps["role"].to_numpy()[rep], status, close)
    # Units for about the segment's deal value, whatever the product's price: the amount
    # is list price x units x (1 - discount), scaled to the order revenue later (delivery).
    price = products["list_price"].to_numpy()[prod]
    qty = np.ceil(rng.lognormal(np.log(DEAL_VALUE[seg]), 0.6) / price)
    amount = np.round(price * qty * (1 - discount), 2)
    if "negotiation" in reps.columns:  # drawn after the amount: amounts stay as they were
        took = reps["negotiation"].to_numpy()[rep]
        discount = _negotiated(discount, took, reps["role"].to_numpy()[rep], close, cal)
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


def _stage_entries(rng, pilot: np.ndarray, win_factor: np.ndarray, created: np.ndarray):
    """Uncensored stage entry days, stages passed (0..4) and dwell days per stage.

    The pilot multiplies each conversion by k so the win probability rises by PILOT_UPLIFT;
    a deal's source multiplies it by ``win_factor`` (a fourth root of it at each stage).
    """
    n = len(created)
    p_win = float(np.prod(CONVERSION))
    k = ((p_win + PILOT_UPLIFT * PILOT_CENSORING) / p_win) ** (1 / len(CONVERSION))
    conv = np.where(pilot[:, None], CONVERSION * k, CONVERSION)
    conv = conv * (win_factor ** (1 / len(CONVERSION)))[:, None]
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


def _negotiators(rng, reps: pd.DataFrame) -> np.ndarray:
    """Who took the "Negotiation" programme: a random third of the reps, drawn from its own
    stream (``trainings``), so no other table's draws change."""
    took = np.zeros(len(reps), bool)
    took[rng.permutation(len(reps))[: len(reps) // 3]] = True
    return took


def _negotiated(discount, took, role, close, cal: _Calendar) -> np.ndarray:
    """The discounts after the "Negotiation" programme: deals its attendees close from its day
    on get ``NEGOTIATION_DISCOUNT_CUT`` less discount (relative), except the breaches, which
    stay above authority. No random draw, and the deal amounts are left as drawn, so only the
    ``discount`` of those deals differs from a demo without the programme."""
    breach = discount > np.array([DEFAULT_DISCOUNT_AUTHORITY[r] for r in role])
    cut = took & (close >= cal.negotiation_day) & ~breach
    out = discount.copy()
    # three decimals: at two, the cut would round away on the small discounts (0.01 -> 0.01)
    out[cut] = np.round(discount[cut] * (1 - NEGOTIATION_DISCOUNT_CUT), 3)
    return out


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
