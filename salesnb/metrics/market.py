"""Market & competitor metrics: market share, growth-share of categories, competitor losses,
price elasticity and the segments to push or defend.

Pure functions over small frames from :mod:`salesnb.queries.market` and
:func:`salesnb.queries.revenue_by`.

Price elasticity is a Poisson GLM of quantity on log(net price / list price) with one fixed
effect per product, fitted on (product x discount bucket) cells with the number of order
lines as exposure: the cell's summed quantity is Poisson with mean
``lines x exp(product effect + elasticity x log price ratio)``, the same likelihood as the
line-level model, so aggregating in the engine loses nothing. The confidence interval uses
the Pearson chi-square scale (quasi-Poisson), so over-dispersed quantities widen it instead
of faking precision. Products seen at a single discount bucket carry no information on the
slope once their fixed effect is in the model and are dropped before the fit.

Written by hand rather than with statsmodels because statsmodels' GLM has no absorbed
(concentrated) fixed effects: one dummy per product makes the design cells x products and
took over a minute for 200 products. For a Poisson model the product effects have a closed
form given the slope, and the slope's variance is the inverse of the within-product
information sum(mu x (x - mu-weighted product mean of x)^2); tests check the result equals
statsmodels' GLM with product dummies and ``scale="X2"``.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from salesnb.errors import FitError
from salesnb.i18n import N_, _, date_label, language, period_label
from salesnb.metrics import require_columns
from salesnb.model.periods import parse_period

# --------------------------------------------------------------------------- last year


def period_coverage(period, first, last) -> float:
    """Share of the days of ``period`` (``start``/``end``, end exclusive) inside ``[first, last]``.

    ``first``/``last``: the first and last date holding data (``salesnb.queries.warehouse.date_span``).

    >>> from datetime import date
    >>> from salesnb.model.periods import parse_period
    >>> round(period_coverage(parse_period("2025-Q3"), date(2025, 8, 1), date(2026, 9, 30)), 3)
    0.663
    >>> period_coverage(parse_period("2025-Q3"), date(2026, 2, 1), date(2026, 9, 30))
    0.0
    """
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    lo = max(start, pd.Timestamp(first))
    hi = min(end, pd.Timestamp(last) + pd.Timedelta(days=1))
    days = (end - start).days
    return max((hi - lo).days, 0) / days if days > 0 else 0.0


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _semicolon() -> str:
    return "; " if language() == "en" else "；"


# the quadrants of the growth-share view and the segment actions (values of the tables; shown
# translated on the page)
QUADRANTS = (N_("star"), N_("cash cow"), N_("question mark"), N_("dog"), N_("new"))
ACTIONS = (N_("push"), N_("defend"), N_("maintain"))
# what a prior period's coverage is measured on (:func:`prior_gap`), named in its sentence
_WHAT = (N_("orders"),)


def prior_gap(prior, span, what: str = "orders") -> str | None:
    """Why ``prior`` (the same period a year earlier) cannot be compared with, or None.

    ``span``: ``(first, last)`` dates of ``what`` (None: no dated rows). A prior period only
    partly covered by the data (a first year of six months used as "last year") would
    understate last year and overstate growth, so it is not used: the sentence says what is
    missing and what would fill it.

    >>> from datetime import date
    >>> from salesnb.model.periods import parse_period
    >>> prior_gap(parse_period("2025-Q3"), (date(2023, 10, 1), date(2026, 9, 30))) is None
    True
    >>> prior_gap(parse_period("2025-Q3"), (date(2025, 8, 1), date(2026, 9, 30)))
    'Not compared with last year: 2025-Q3 (the same period a year earlier) is only 66% covered by orders, which start on 2025-08-01; a comparison needs orders from 2025-07-01.'
    """
    name = _(what)
    if span is None:
        return _("Not compared with last year: no dated {what}.").format(what=name)
    first, last = (pd.Timestamp(d).date() for d in span)
    cover = period_coverage(prior, first, last)
    if cover >= 1.0:
        return None
    need = _("a comparison needs {what} from {day}").format(what=name, day=_day(prior.start))
    if cover <= 0.0:
        return _(
            "Not compared with last year: {what} start on {first}, so {prior} (the same period "
            "a year earlier) has no data; {need}."
        ).format(what=name, first=_day(first), prior=period_label(prior.label), need=need)
    return _(
        "Not compared with last year: {prior} (the same period a year earlier) is only "
        "{cover}% covered by {what}, which start on {first}; {need}."
    ).format(
        prior=period_label(prior.label),
        cover=int(cover * 100),
        what=name,
        first=_day(first),
        need=need,
    )


def header_line(period, scope: str, source: str) -> str:
    """The page's first line: the period, the scope (``Filters.describe()``) and the source.

    >>> from salesnb.model.periods import parse_period
    >>> header_line(parse_period("2026-Q3"), "region=EMEA", "demo.duckdb")
    '**2026-Q3** · region=EMEA · source `demo.duckdb`'
    """
    from salesnb.metrics.targets import scope_text

    return _("**{period}** · {scope} · source `{source}`").format(
        period=period_label(str(period)), scope=scope_text(scope), source=source
    )


def elasticity_sentence(fit: dict, since) -> str:
    """The price elasticity with its interval and what it rests on (markdown).

    >>> elasticity_sentence({"elasticity": -1.5, "ci_low": -1.8, "ci_high": -1.2, "products": 1,
    ...                      "lines": 1200}, "2023-10-01")
    'Elasticity **-1.50** (95 % CI -1.80 .. -1.20), 1 product, 1,200 order lines since 2023-10-01.'
    """
    from salesnb.i18n import plural

    n = fit["products"]
    products = plural(n, "{n} product", "{n} products").format(n=n)
    return _(
        "Elasticity **{e}** (95 % CI {lo} .. {hi}), {products}, {lines} order lines since {day}."
    ).format(
        e=f"{fit['elasticity']:.2f}",
        lo=f"{fit['ci_low']:.2f}",
        hi=f"{fit['ci_high']:.2f}",
        products=products,
        lines=f"{fit['lines']:,}",
        day=_day(since),
    )


def growth_rate(now: float, before: float | None) -> float | None:
    """``now / before - 1``; None when there is no positive base to grow from.

    >>> growth_rate(115.0, 100.0), growth_rate(5.0, 0.0), growth_rate(5.0, None)
    (0.15, None, None)
    """
    if before is None or pd.isna(before) or before <= 0:
        return None
    return round(float(now) / float(before) - 1, 12)


def why_not_positive(total: float) -> str:
    """Why a net revenue of ``total`` (zero or below) cannot carry shares, in a few words.

    >>> why_not_positive(-5.0), why_not_positive(0.0)
    ('returns above sales', 'no net sales')
    """
    return _("returns above sales") if total < 0 else _("no net sales")


def revenue_sentence(
    label: str, total: float, prior_total: float | None, currency: str = "USD"
) -> str:
    """The period's net revenue, and last year's when it can be compared (markdown).

    >>> revenue_sentence("2026-Q3", 1500.0, None, "EUR")
    'Net revenue 2026-Q3: **1,500.00 EUR**.'
    """
    label = period_label(label)
    if prior_total is None:
        return _("Net revenue {period}: **{total} {currency}**.").format(
            period=label, total=f"{total:,.2f}", currency=currency
        )
    return _(
        "Net revenue {period}: **{total} {currency}** (same period a year earlier: {prior})."
    ).format(period=label, total=f"{total:,.2f}", currency=currency, prior=f"{prior_total:,.2f}")


# --------------------------------------------------------------------------- market share


def label_dates(dates: pd.Series, labels: Sequence[str]) -> pd.Series:
    """The period label (``2026-Q3``, ``2026-09`` or ``2026``) from ``labels`` containing each date.

    Lets our monthly revenue be matched to whatever grain the market table uses. Dates in
    no label get NaN.

    >>> label_dates(pd.Series(pd.to_datetime(["2026-08-01", "2025-01-01"])), ["2026-Q3"]).tolist()
    ['2026-Q3', nan]
    """
    out = pd.Series(np.nan, index=dates.index, dtype=object)
    d = pd.to_datetime(dates)
    for lab in sorted(set(map(str, labels))):
        p = parse_period(lab)
        out[(d >= pd.Timestamp(p.start)) & (d < pd.Timestamp(p.end))] = lab
    return out


def labels_within(labels: Sequence[str], start, end) -> list[str]:
    """The period labels whose whole range lies in ``[start, end)``.

    >>> labels_within(["2026-Q2", "2026-Q3", "2026-Q4"], pd.Timestamp("2026-07-01"), pd.Timestamp("2026-10-01"))
    ['2026-Q3']
    """
    out = []
    for lab in sorted(set(map(str, labels))):
        p = parse_period(lab)
        if pd.Timestamp(p.start) >= pd.Timestamp(start) and pd.Timestamp(p.end) <= pd.Timestamp(
            end
        ):
            out.append(lab)
    return out


def labels_covered(labels: Sequence[str], span, end=None) -> list[str]:
    """The period labels lying wholly inside ``span`` = (first, last) data dates, both included,
    and ending by ``end`` (exclusive; the study period's end, after which no revenue is read).

    A market period our orders only partly cover would show a share that is too low.

    >>> from datetime import date
    >>> labels_covered(["2026-Q1", "2026-Q2"], (date(2026, 2, 1), date(2026, 9, 30)))
    ['2026-Q2']
    >>> labels_covered(["2026-Q2", "2026-Q3"], (date(2026, 2, 1), date(2026, 9, 30)), date(2026, 7, 1))
    ['2026-Q2']
    """
    if span is None:
        return []
    stop = pd.Timestamp(span[1]) + pd.Timedelta(days=1)
    if end is not None:
        stop = min(stop, pd.Timestamp(end))
    return labels_within(labels, span[0], stop)


def market_share_table(
    ours: pd.DataFrame, market: pd.DataFrame, by: Sequence[str] = ("period",)
) -> pd.DataFrame:
    """Our revenue over market size per group (e.g. period x segment).

    ``ours``: ``*by, revenue``; ``market``: ``*by, market_size``. Groups are summed first.
    Returns ``*by, revenue, market_size, market_share`` (share NaN where the market is unknown).

    >>> o = pd.DataFrame({"period": ["2026-Q1", "2026-Q2"], "revenue": [10.0, 12.0]})
    >>> m = pd.DataFrame({"period": ["2026-Q1", "2026-Q2"], "market_size": [100.0, 100.0]})
    >>> market_share_table(o, m).market_share.tolist()
    [0.1, 0.12]
    """
    by = list(by)
    require_columns(ours, by + ["revenue"], "market_share_table(ours)")
    require_columns(market, by + ["market_size"], "market_share_table(market)")
    o = ours.groupby(by, as_index=False, dropna=False)["revenue"].sum()
    m = market.groupby(by, as_index=False, dropna=False)["market_size"].sum()
    out = m.merge(o, on=by, how="left")
    out["revenue"] = out["revenue"].fillna(0.0)
    # a negative net revenue (returns above sales) holds no share of a market
    out["market_share"] = out["revenue"].where(out["revenue"] >= 0) / out["market_size"].where(
        out["market_size"] > 0
    )
    return (
        out[by + ["revenue", "market_size", "market_share"]].sort_values(by).reset_index(drop=True)
    )


def market_share_in(table: pd.DataFrame, period) -> dict:
    """Our share of the market over the market-table periods lying wholly inside ``period``.

    ``table``: :func:`market_share_table` by ``period``. Returns ``labels`` (the market periods
    used), ``covered`` (share of ``period``'s days they span), and, when the market size is
    known and positive, ``market_size`` and ``market_share``.

    >>> from salesnb.model.periods import parse_period
    >>> t = pd.DataFrame({"period": ["2026-Q2", "2026-Q3"], "revenue": [5.0, 10.0], "market_size": [50.0, 100.0]})
    >>> r = market_share_in(t, parse_period("2026"))
    >>> r["market_share"], round(r["covered"], 3)
    (0.1, 0.501)
    >>> market_share_in(t, parse_period("2026-09"))["labels"]
    []
    """
    require_columns(table, ["period", "revenue", "market_size"], "market_share_in")
    labels = labels_within(table["period"], period.start, period.end)
    days = sum(parse_period(lab).days for lab in labels)
    out = {"labels": labels, "covered": days / period.days if period.days else 0.0}
    part = table[table["period"].isin(labels)]
    size, revenue = float(part["market_size"].sum()), float(part["revenue"].sum())
    out["revenue"] = revenue
    if labels and size > 0 and revenue >= 0:
        out.update(market_size=size, market_share=revenue / size)
    return out


def share_figures(table: pd.DataFrame, period, prior, prior_note: str | None = None):
    """Headline market size, share and share change, with a note for each figure left out.

    ``table``: :func:`market_share_table` by ``period``, restricted to the market periods our
    orders cover. The share change is given only when the market table covers the whole
    year-earlier period and ``prior_note`` (:func:`prior_gap`) is None. Returns
    ``(figures, notes)``.

    >>> from salesnb.model.periods import parse_period
    >>> t = pd.DataFrame({"period": ["2025-Q3", "2026-Q3"], "revenue": [8.0, 10.0], "market_size": [100.0, 100.0]})
    >>> figures, notes = share_figures(t, parse_period("2026-Q3"), parse_period("2025-Q3"))
    >>> round(figures["market_share_change"], 3), notes
    (0.02, [])
    >>> share_figures(t[1:], parse_period("2026-Q3"), parse_period("2025-Q3"))[1]
    ['Market share change not computed: the market table and our orders cover no market period inside 2025-Q3; market sizes for 2025-Q3 would fill it.']
    """
    figures, notes = {}, []
    now = market_share_in(table, period)
    label, prior_label = period_label(period.label), period_label(prior.label)
    if not now["labels"]:
        notes.append(
            _(
                "Market share not computed: the market table and our orders cover no market "
                "period inside {period}; market sizes for {period} would fill it."
            ).format(period=label)
        )
        return figures, notes
    if "market_share" not in now:
        why = (
            _("our net revenue there is {revenue} ({why})").format(
                revenue=f"{now['revenue']:,.2f}", why=why_not_positive(now["revenue"])
            )
            if now["revenue"] < 0
            else _("the market size is zero")
        )
        notes.append(
            _("Market share of {period} not computed: {why}.").format(period=label, why=why)
        )
        return figures, notes
    figures.update(market_size=now["market_size"], market_share=now["market_share"])
    if now["covered"] < 1:
        notes.append(
            _(
                "Market share of {period} is measured on {labels} only ({covered} of the "
                "period): the market table has no size for the rest."
            ).format(
                period=label,
                labels=_comma().join(period_label(x) for x in now["labels"]),
                covered=f"{now['covered']:.0%}",
            )
        )
    if prior_note:
        return figures, notes
    before = market_share_in(table, prior)
    if before["labels"] and before["covered"] >= 1 and "market_share" not in before:
        notes.append(
            _("Market share change not computed: no share for {period}.").format(period=prior_label)
        )
    elif "market_share" not in before or before["covered"] < 1:
        text = (
            _(
                "Market share change not computed: the market table covers only {covered} of "
                "{period}; market sizes for {period} would fill it."
            )
            if before["labels"]
            else _(
                "Market share change not computed: the market table and our orders cover no "
                "market period inside {period}; market sizes for {period} would fill it."
            )
        )
        notes.append(text.format(covered=f"{before['covered']:.0%}", period=prior_label))
    else:
        figures["market_share_change"] = now["market_share"] - before["market_share"]
    return figures, notes


def competitor_shares(
    competitors: pd.DataFrame, market: pd.DataFrame, by: Sequence[str] = ()
) -> pd.DataFrame:
    """Each competitor's sales over market size (per ``by`` group), largest first.

    ``competitors``: ``*by, competitor, competitor_sales``; ``market``: ``*by, market_size``.

    >>> c = pd.DataFrame({"competitor": ["N", "G"], "competitor_sales": [30.0, 10.0]})
    >>> competitor_shares(c, pd.DataFrame({"market_size": [100.0]})).share.tolist()
    [0.3, 0.1]
    """
    by = list(by)
    require_columns(competitors, by + ["competitor", "competitor_sales"], "competitor_shares")
    c = competitors.groupby(by + ["competitor"], as_index=False)["competitor_sales"].sum()
    if by:
        m = market.groupby(by, as_index=False)["market_size"].sum()
        c = c.merge(m, on=by, how="left")
    else:
        c["market_size"] = float(market["market_size"].sum())
    c["share"] = c["competitor_sales"] / c["market_size"].where(c["market_size"] > 0)
    return c.sort_values(by + ["share"], ascending=[True] * len(by) + [False]).reset_index(
        drop=True
    )


# --------------------------------------------------------------------------- growth-share


def growth_share(
    current: pd.DataFrame,
    prior: pd.DataFrame,
    key: str = "category",
    growth_threshold: float | None = None,
) -> pd.DataFrame:
    """A growth-share (BCG-style) view of product categories inside our own portfolio.

    x = the category's share of our revenue; y = its revenue growth vs the prior period.
    Splits: share above 1 / number of categories ("large"), growth above ``growth_threshold``
    (default: our total growth). Quadrants: star (large, growing), cash cow (large, slower),
    question mark (small, growing), dog (small, slower).

    >>> now = pd.DataFrame({"category": ["A", "B", "C", "D"], "revenue": [50.0, 30.0, 15.0, 5.0]})
    >>> old = pd.DataFrame({"category": ["A", "B", "C", "D"], "revenue": [40.0, 32.0, 10.0, 6.0]})
    >>> growth_share(now, old).set_index("category").quadrant.to_dict()
    {'A': 'star', 'B': 'cash cow', 'C': 'question mark', 'D': 'dog'}
    """
    require_columns(current, [key, "revenue"], "growth_share")
    require_columns(prior, [key, "revenue"], "growth_share(prior)")
    cur = current.groupby(key, as_index=False)["revenue"].sum()
    pr = (
        prior.groupby(key, as_index=False)["revenue"]
        .sum()
        .rename(columns={"revenue": "prior_revenue"})
    )
    out = cur.merge(pr, on=key, how="left")
    out["share"] = out["revenue"] / out["revenue"].sum()
    out["growth"] = out["revenue"] / out["prior_revenue"].where(out["prior_revenue"] > 0) - 1
    if growth_threshold is None:
        ptot = out["prior_revenue"].sum()
        growth_threshold = out["revenue"].sum() / ptot - 1 if ptot > 0 else 0.0
    large = out["share"] > 1.0 / len(out)
    fast = out["growth"] > growth_threshold
    out["quadrant"] = np.select(
        [large & fast, large & ~fast, ~large & fast], ["star", "cash cow", "question mark"], "dog"
    )
    out.loc[out["growth"].isna(), "quadrant"] = "new"
    out["growth_threshold"] = growth_threshold
    return out.sort_values("revenue", ascending=False).reset_index(drop=True)


def growth_share_gap(current: pd.DataFrame, key: str = "category") -> str | None:
    """Why a growth-share view of ``current`` (``<key>, revenue``) would mean nothing, or None.

    >>> growth_share_gap(pd.DataFrame({"category": ["Tools"], "revenue": [5.0]}))
    'only one product category (Tools) has sales; the view compares two or more'
    """
    require_columns(current, [key, "revenue"], "growth_share_gap")
    cats = current.groupby(key)["revenue"].sum()
    if len(cats) < 2:
        if len(cats):
            return _(
                "only one product category ({name}) has sales; the view compares two or more"
            ).format(name=cats.index[0])
        return _("only one product category has sales; the view compares two or more")
    if cats.sum() <= 0:
        return _(
            "net revenue of the period is {revenue} ({why}), so shares of it mean nothing"
        ).format(revenue=f"{cats.sum():,.2f}", why=why_not_positive(cats.sum()))
    return None


# --------------------------------------------------------------------------- competitors


def competitor_losses(
    lost: pd.DataFrame,
    won: pd.DataFrame | None = None,
    segment_col: str = "segment",
    competitor_col: str = "competitor",
) -> pd.DataFrame:
    """Whom we lose to, in which segment, and at what price gap.

    ``lost``: one row per (segment, competitor) with ``lost`` deals, ``mean_discount`` and
    ``mean_amount`` of those deals, ``price_losses`` (loss reason mentions price); rows with
    no competitor are losses to no-one named. ``won``: per segment ``won``,
    ``mean_discount``, ``mean_amount`` of won deals.
    Returns per segment x named competitor: ``lost, share_of_named`` (of the segment's losses to
    a named competitor), ``share_of_lost`` (of all its lost deals), ``price_loss_share``,
    ``discount_gap`` (won deals' mean discount minus these lost deals' — positive: we gave
    less discount where we lost) and ``price_gap_pct`` (our net price on lost deals vs won ones).

    >>> lost = pd.DataFrame({"segment": ["E", "E", "E"], "competitor": ["N", "G", None], "lost": [6, 2, 2],
    ...                      "mean_discount": [0.05, 0.1, 0.1], "mean_amount": [1.0, 1.0, 1.0], "price_losses": [3, 0, 0]})
    >>> t = competitor_losses(lost)
    >>> t[["competitor", "share_of_named", "share_of_lost"]].values.tolist()
    [['N', 0.75, 0.6], ['G', 0.25, 0.2]]
    """
    require_columns(lost, [segment_col, competitor_col, "lost"], "competitor_losses")
    df = lost.rename(columns={segment_col: "segment", competitor_col: "competitor"}).copy()
    df["segment"] = df["segment"].astype(object).where(df["segment"].notna(), "(unknown)")
    all_lost = df.groupby("segment")["lost"].sum()
    named = df[df["competitor"].notna() & (df["competitor"].astype(str).str.strip() != "")].copy()
    named_lost = named.groupby("segment")["lost"].sum()
    named["share_of_named"] = named["lost"] / named["segment"].map(named_lost)
    named["share_of_lost"] = named["lost"] / named["segment"].map(all_lost)
    named["price_loss_share"] = (
        (named["price_losses"] / named["lost"]) if "price_losses" in named else np.nan
    )
    if won is not None and len(won) and "mean_discount" in named:
        w = won.rename(columns={segment_col: "segment"}).set_index("segment")
        named["won_discount"] = (
            named["segment"].map(w["mean_discount"]) if "mean_discount" in w else np.nan
        )
        named["discount_gap"] = named["won_discount"] - named["mean_discount"]
        named["price_gap_pct"] = (1 - named["mean_discount"]) / (1 - named["won_discount"]) - 1
    else:
        named["discount_gap"] = named["price_gap_pct"] = np.nan
    return named.sort_values(["segment", "lost"], ascending=[True, False]).reset_index(drop=True)


def losses_note(lost: pd.DataFrame, months: int, has_competitor: bool = True) -> str:
    """Why :func:`competitor_losses` is empty, and what would fill it.

    >>> losses_note(pd.DataFrame({"lost": [3]}), 12, has_competitor=False)
    'No competitor named: opportunities carry no competitor column; one (opportunities.competitor) would say whom the 3 lost deals of the last 12 months went to.'
    """
    n = int(lost["lost"].sum()) if len(lost) else 0
    if n == 0:
        return _(
            "No deal was lost in the last {months} months: nothing to say about competitors."
        ).format(months=months)
    if not has_competitor:
        return _(
            "No competitor named: opportunities carry no competitor column; one "
            "(opportunities.competitor) would say whom the {n} lost deals of the last {months} "
            "months went to."
        ).format(n=f"{n:,}", months=months)
    return _(
        "None of the {n} deals lost in the last {months} months names a competitor "
        "(opportunities.competitor is empty)."
    ).format(n=f"{n:,}", months=months)


def dominant_competitor(losses: pd.DataFrame, min_lost: int = 20) -> dict:
    """The competitor with the highest share of lost deals (to named competitors) in one segment.

    Segments with fewer than ``min_lost`` such losses are ignored. Returns ``competitor,
    segment, share, lost`` (plus its price gap when known) or ``{}``.

    >>> t = pd.DataFrame({"segment": ["E", "E", "S"], "competitor": ["N", "G", "G"], "lost": [60, 40, 30],
    ...                   "share_of_named": [0.6, 0.4, 1.0]})
    >>> dominant_competitor(t, min_lost=50)["competitor"]
    'N'
    """
    require_columns(
        losses, ["segment", "competitor", "lost", "share_of_named"], "dominant_competitor"
    )
    seg_tot = losses.groupby("segment")["lost"].transform("sum")
    ok = losses[seg_tot >= min_lost]
    if ok.empty:
        return {}
    top = ok.sort_values(["share_of_named", "lost"], ascending=False).iloc[0]
    out = {
        "competitor": str(top["competitor"]),
        "segment": str(top["segment"]),
        "share": float(top["share_of_named"]),
        "lost": int(top["lost"]),
    }
    for k in ("price_gap_pct", "discount_gap", "price_loss_share"):
        if k in top and pd.notna(top[k]):
            out[k] = float(top[k])
    return out


# --------------------------------------------------------------------------- elasticity


def price_elasticity(
    cells: pd.DataFrame,
    product_col: str = "product_id",
    x_col: str = "log_price_ratio",
    quantity_col: str = "quantity",
    lines_col: str = "lines",
    alpha: float = 0.05,
    tol: float = 1e-10,
    max_iter: int = 100,
) -> dict:
    """Price elasticity of quantity with its confidence interval (Poisson GLM, product fixed effects).

    ``cells``: one row per (product, discount bucket) with the summed ``quantity``, the number
    of order ``lines`` and the mean ``log_price_ratio`` = log(net unit price / list price).
    Returns ``elasticity, ci_low, ci_high, std_error, p_value, dispersion, cells, products,
    lines``. Raises :class:`~salesnb.errors.FitError` when no product varies in price.

    The product effects are concentrated out (see the module docstring): same estimate and
    standard error as ``statsmodels`` GLM(Poisson) with one dummy per product and
    ``scale="X2"`` (checked in tests), in milliseconds instead of minutes for many products.

    >>> x = np.log([1.0, 0.8, 1.0, 0.8])
    >>> cells = pd.DataFrame({"product_id": ["a", "a", "b", "b"], "log_price_ratio": x, "lines": [100] * 4,
    ...                       "quantity": 100 * np.array([2.0, 2.0, 5.0, 5.0]) * np.exp(-1.5 * x)})
    >>> round(price_elasticity(cells)["elasticity"], 3)
    -1.5
    """
    from scipy.stats import norm

    require_columns(cells, [product_col, x_col, quantity_col, lines_col], "price_elasticity")
    c = cells[(cells[lines_col] > 0) & cells[x_col].notna() & np.isfinite(cells[x_col])]
    c = c[c.groupby(product_col)[x_col].transform("nunique") > 1]
    c = c[c.groupby(product_col)[quantity_col].transform("sum") > 0]
    if c.empty:
        raise FitError(_("price elasticity: no product was sold at more than one discount level"))
    g = pd.factorize(c[product_col])[0]
    x = c[x_col].to_numpy(float)
    y = c[quantity_col].to_numpy(float)
    exposure = c[lines_col].to_numpy(float)
    n_prod = int(g.max()) + 1
    y_sum = np.bincount(g, y, n_prod)
    beta = 0.0
    for _step in range(max_iter):
        # product effects that maximise the likelihood for this beta, in closed form
        base = exposure * np.exp(beta * x)
        a = np.log(y_sum / np.bincount(g, base, n_prod))
        mu = base * np.exp(a[g])
        x_bar = np.bincount(g, mu * x, n_prod) / np.bincount(g, mu, n_prod)
        xd = x - x_bar[g]
        info = float((mu * xd**2).sum())
        if info <= 0:
            raise FitError(_("price elasticity: prices do not vary within products"))
        step = float(((y - mu) * xd).sum()) / info
        beta += step
        if abs(step) < tol:
            break
    else:
        raise FitError(_("price elasticity: the Poisson model did not converge"))
    base = exposure * np.exp(beta * x)
    mu = base * np.exp(np.log(y_sum / np.bincount(g, base, n_prod))[g])
    x_bar = np.bincount(g, mu * x, n_prod) / np.bincount(g, mu, n_prod)
    info = float((mu * (x - x_bar[g]) ** 2).sum())
    dof = max(len(y) - n_prod - 1, 1)
    dispersion = float(((y - mu) ** 2 / mu).sum() / dof)  # Pearson chi2 / dof (quasi-Poisson)
    se = float(np.sqrt(dispersion / info))
    z = norm.ppf(1 - alpha / 2)
    return {
        "elasticity": beta,
        "ci_low": float(beta - z * se),
        "ci_high": float(beta + z * se),
        "std_error": se,
        "p_value": float(2 * norm.sf(abs(beta / se))) if se > 0 else 0.0,
        "dispersion": dispersion,
        "cells": int(len(y)),
        "products": n_prod,
        "lines": int(exposure.sum()),
    }


# --------------------------------------------------------------------------- strategy


def segment_growth(
    current: pd.DataFrame, prior: pd.DataFrame | None, key: str = "segment"
) -> pd.DataFrame:
    """Revenue per segment now and a year earlier: ``segment, revenue, prior_revenue, growth``.

    ``prior`` None: no comparable year-earlier period (growth left empty).

    >>> segment_growth(pd.DataFrame({"segment": ["E"], "revenue": [12.0]}),
    ...                pd.DataFrame({"segment": ["E"], "revenue": [10.0]})).growth.round(2).tolist()
    [0.2]
    """
    require_columns(current, [key, "revenue"], "segment_growth")
    if prior is None:
        prior = pd.DataFrame({key: pd.Series(dtype=object), "revenue": pd.Series(dtype=float)})
    require_columns(prior, [key, "revenue"], "segment_growth(prior)")
    cur = current.groupby(key, as_index=False)["revenue"].sum()
    pr = (
        prior.groupby(key, as_index=False)["revenue"]
        .sum()
        .rename(columns={"revenue": "prior_revenue"})
    )
    out = cur.merge(pr, on=key, how="left").rename(columns={key: "segment"})
    out["growth"] = out["revenue"] / out["prior_revenue"].where(out["prior_revenue"] > 0) - 1
    return out


def share_change(
    share_table: pd.DataFrame, now_periods, prior_periods, key: str = "segment"
) -> pd.Series:
    """Change in our market share (points) per ``key`` between two sets of period labels.

    ``share_table``: ``period, <key>, revenue, market_size`` (from :func:`market_share_table`).

    >>> t = pd.DataFrame({"period": ["2025", "2026"], "segment": ["E", "E"], "revenue": [10.0, 12.0],
    ...                   "market_size": [100.0, 100.0]})
    >>> round(float(share_change(t, ["2026"], ["2025"])["E"]), 3)
    0.02
    """
    require_columns(share_table, ["period", key, "revenue", "market_size"], "share_change")

    def share(labels):
        part = (
            share_table[share_table["period"].isin(list(labels))]
            .groupby(key)[["revenue", "market_size"]]
            .sum()
        )
        return part["revenue"] / part["market_size"].where(part["market_size"] > 0)

    return (share(now_periods) - share(prior_periods)).rename("share_change")


def segment_strategy(
    segments: pd.DataFrame, threats: pd.DataFrame | None = None, threat_share: float = 0.4
) -> pd.DataFrame:
    """Which segments to push and which to defend.

    ``segments``: ``segment, revenue, growth`` and optionally ``win_rate``, ``market_share``,
    ``share_change``. ``threats``: output of :func:`competitor_losses`.
    Rules (documented defaults): *defend* a segment where one competitor takes at least
    ``threat_share`` of the losses to named competitors, or where our market share fell;
    *push* a segment growing faster than the company that is not under threat; the rest:
    *maintain*. Rows come sorted by action (defend, maintain, push), then revenue.

    >>> s = pd.DataFrame({"segment": ["E", "M", "S"], "revenue": [5.0, 3.0, 2.0], "growth": [0.05, 0.3, 0.1]})
    >>> t = pd.DataFrame({"segment": ["E"], "competitor": ["N"], "share_of_named": [0.6]})
    >>> segment_strategy(s, t).set_index("segment").action.to_dict()
    {'E': 'defend', 'S': 'maintain', 'M': 'push'}
    """
    require_columns(segments, ["segment", "revenue", "growth"], "segment_strategy")
    out = segments.copy()
    known = out[out["growth"].notna() & (out["growth"] > -1)]
    tot_prior = (known["revenue"] / (1 + known["growth"])).sum()
    # the company's growth over the segments whose growth is known; none known: no push
    company_growth = known["revenue"].sum() / tot_prior - 1 if tot_prior > 0 else np.nan
    top_threat = {}
    if threats is not None and len(threats):
        t = threats.sort_values("share_of_named", ascending=False).drop_duplicates("segment")
        top_threat = {r.segment: (r.competitor, r.share_of_named) for r in t.itertuples()}
    actions, reasons = [], []
    for r in out.itertuples():
        comp = top_threat.get(r.segment)
        share_fell = getattr(r, "share_change", np.nan)
        if comp and comp[1] >= threat_share:
            actions.append("defend")
            reasons.append(
                _("{competitor} takes {share} of the deals we lose to competitors here").format(
                    competitor=comp[0], share=f"{comp[1]:.0%}"
                )
            )
        elif pd.notna(share_fell) and share_fell < 0:
            actions.append("defend")
            reasons.append(
                _("our market share fell {change} points").format(change=f"{share_fell:+.1%}")
            )
        elif pd.notna(r.growth) and pd.notna(company_growth) and r.growth > company_growth:
            actions.append("push")
            reasons.append(
                _("grows {growth} vs {company} for the company").format(
                    growth=f"{r.growth:+.1%}", company=f"{company_growth:+.1%}"
                )
            )
        elif pd.isna(r.growth):
            actions.append("maintain")
            reasons.append(_("no threat; growth unknown (no comparable revenue a year earlier)"))
        else:
            actions.append("maintain")
            reasons.append(_("no threat, growth at or below the company's"))
    out["action"], out["reason"] = actions, reasons
    return out.sort_values(["action", "revenue"], ascending=[True, False]).reset_index(drop=True)


def market_actions(
    figures: dict, strategy: pd.DataFrame | None = None, categories: pd.DataFrame | None = None
) -> str:
    """'What to do' bullets (markdown) from the market study's numbers."""
    out = []
    if strategy is not None and len(strategy):
        for action, verb in (("push", N_("Push: {items}.")), ("defend", N_("Defend: {items}."))):
            part = strategy[strategy["action"] == action]
            if len(part):
                items = _semicolon().join(
                    _("**{segment}** ({reason})").format(segment=r.segment, reason=r.reason)
                    for r in part.itertuples()
                )
                out.append(_(verb).format(items=items))
    comp = figures.get("dominant_competitor")
    if comp:
        gap = figures.get("dominant_competitor_price_gap_pct")
        gap_txt = (
            _(" Our net price on those lost deals was {gap} vs the deals we won there.").format(
                gap=f"{gap:+.1%}"
            )
            if gap is not None and not pd.isna(gap)
            else ""
        )
        out.append(
            _(
                "{competitor} wins {share} of the {segment} deals we lose to competitors: build a "
                "battle card against {competitor}.{gap}"
            ).format(
                competitor=comp,
                share=f"{figures.get('dominant_competitor_share', 0):.0%}",
                segment=figures.get("dominant_competitor_segment"),
                gap=gap_txt,
            )
        )
    e, lo, hi = (
        figures.get(k)
        for k in ("price_elasticity", "price_elasticity_low", "price_elasticity_high")
    )
    if e is not None and not pd.isna(e):
        if hi is not None and hi < -1:
            out.append(
                _(
                    "Demand is price-elastic ({e}, 95 % CI {lo} .. {hi}): a 1 % lower price sells "
                    "about {units} % more units; targeted discounts can pay if margins allow."
                ).format(e=f"{e:.2f}", lo=f"{lo:.2f}", hi=f"{hi:.2f}", units=f"{-e:.1f}")
            )
        elif lo is not None and lo > -1:
            out.append(
                _(
                    "Demand is price-inelastic ({e}, 95 % CI {lo} .. {hi}): discounts give away "
                    "margin; tighten discount authority."
                ).format(e=f"{e:.2f}", lo=f"{lo:.2f}", hi=f"{hi:.2f}")
            )
        else:
            out.append(
                _(
                    "Price elasticity {e} (95 % CI {lo} .. {hi}) is not clearly above or below "
                    "-1: test prices before changing discount policy."
                ).format(e=f"{e:.2f}", lo=f"{lo:.2f}", hi=f"{hi:.2f}")
            )
    if categories is not None and len(categories):
        stars = _comma().join(
            categories.loc[categories["quadrant"] == "star", "category"].astype(str)
        )
        dogs = _comma().join(
            categories.loc[categories["quadrant"] == "dog", "category"].astype(str)
        )
        if stars:
            out.append(_("Invest in star categories: {names}.").format(names=stars))
        if dogs:
            out.append(_("Review small, slow categories: {names}.").format(names=dogs))
    if not out:
        out.append(_("Not enough data to recommend anything yet."))
    return "\n".join(f"- {x}" for x in out)
