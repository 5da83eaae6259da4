"""Team performance: scorecards, fair ranking, coaching flags and discount compliance.

Pure functions over the small frames of ``salesnb.queries.performance``.

Targets for a period (:func:`resolve_targets`): a target row whose ``period``
label equals the report period is used as is. Otherwise targets of one
granularity are combined, preferring quarterly, then monthly, then yearly, then
half-year rows: each row contributes ``target_amount * (months of it inside the
period) / (months it spans)``. So a year or a range sums its quarter targets, a
month gets one third of its quarter's target (an even split: the plan says
nothing finer). When the targets of a level cover only some months of the period
(a range running past the last quarter planned), the target is not computable
(NaN, with the reason in ``target_basis``) rather than a part passed off as the whole.

Comparisons (:func:`ratio`, :func:`growth_rate`, :func:`coverage_note`): attainment,
growth and shares are None when their base is zero, negative or missing; a comparison
period the data covers only in part (a first year of six months used as "last year")
is not compared at all (:func:`coverage_note` says why).

Coaching (:func:`win_rate_funnel`): a funnel plot of win rate against the
number of deals closed. A rep is flagged only when the exact binomial tail
probability of winning so few deals at the team's pooled rate is below
0.1 % (outside the 99.8 % limit: "coach") or 2.5 % (outside 95 %: "watch");
a rep with few deals needs a much lower rate to be flagged, so noise is not
mistaken for a skill gap. The drawn limits use the normal approximation.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats

from salesnb.formatting import money
from salesnb.i18n import N_, _, date_label, language, period_label
from salesnb.metrics import require_columns
from salesnb.model.people import rep_label, rep_names
from salesnb.model.periods import Period, parse_period
from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY

_PREFERENCE = ("quarter", "month", "year", "half")


def _day(d) -> str:
    """A day in prose: ``2026-09-30`` in English, ``2026年9月30日`` in Chinese."""
    day = pd.Timestamp(d).date()
    return str(day) if language() == "en" else date_label(day)


def _comma() -> str:
    return ", " if language() == "en" else "、"


def _named(ids, names: dict) -> str:
    """Rep ids as a list of their names (:func:`rep_names`), in the page's language."""
    return _comma().join(rep_label(i, names) for i in ids)


# the readings of the fair ranking, the funnel statuses and the bases of territory potential
# (values of the tables; shown translated on the page)
READINGS = (
    N_("weak territory, not a weak rep"),
    N_("below target and below peers: coach"),
    N_("on target, helped by a strong territory"),
    N_("on track"),
    N_("no net revenue across the team: not comparable"),
    N_("no target"),
)
STATUSES = (N_("coach"), N_("watch"), N_("above"), N_("within"))
POTENTIAL_BASES = (
    N_("market size of the region / its reps"),
    N_("market size of region x segment, by accounts owned"),
    N_("region revenue per rep"),
)
_SAME_PERIOD = N_("the same period last year")


def _months_between(a, b) -> int:
    a, b = pd.Timestamp(a), pd.Timestamp(b)
    return max(0, (b.year - a.year) * 12 + b.month - a.month)


def _month_starts(start, end) -> set:
    """Month starts of the whole months in ``[start, end)``."""
    s = pd.Timestamp(start).to_period("M")
    n = _months_between(start, end)
    return {(s + i).start_time for i in range(n)}


# --------------------------------------------------------------------------- comparisons
def ratio(numerator, denominator) -> float | None:
    """``numerator / denominator``; None when either is missing or the denominator is not
    positive (attainment of no target, growth over no sales, a share of nothing).

    >>> ratio(90.0, 120.0), ratio(5.0, 0.0), ratio(5.0, -3.0), ratio(None, 2.0)
    (0.75, None, None, None)
    """
    try:
        a, b = float(numerator), float(denominator)
    except (TypeError, ValueError):
        return None
    if not (np.isfinite(a) and np.isfinite(b)) or b <= 0:
        return None
    return a / b


def growth_rate(current, previous) -> float | None:
    """``current / previous - 1``; None when ``previous`` is missing, zero or negative.

    >>> round(growth_rate(115.0, 100.0), 6), growth_rate(-50.0, 100.0), growth_rate(10.0, 0.0)
    (0.15, -1.5, None)
    """
    r = ratio(current, previous)
    return None if r is None else r - 1.0


def coverage_note(period: Period, first, last, what: str = _SAME_PERIOD) -> str | None:
    """Why ``period`` cannot serve as a comparison: None when the data (``first`` to ``last``,
    both included) covers it entirely, else a one-line reason.

    >>> from salesnb.model.periods import parse_period
    >>> coverage_note(parse_period("2025-Q3"), "2024-01-01", "2026-09-30") is None
    True
    >>> coverage_note(parse_period("2025"), "2025-07-01", "2026-09-30")
    'the same period last year (2025) is only partly in the data (50% of its days; orders start on 2025-07-01): not compared'
    >>> coverage_note(parse_period("2025-Q3"), "2026-02-01", "2026-09-30")
    'the same period last year (2025-Q3) has no data (orders run from 2026-02-01 to 2026-09-30): not compared'
    """
    what, label = _(what), period_label(period.label)
    if first is None or last is None or pd.isna(first) or pd.isna(last):
        return _("{what} ({period}) has no data: the orders carry no dates").format(
            what=what, period=label
        )
    first, last = pd.Timestamp(first).date(), pd.Timestamp(last).date()
    if first <= period.start and last >= period.last_day:
        return None
    lo, hi = max(first, period.start), min(last, period.last_day)
    covered = (hi - lo).days + 1 if hi >= lo else 0
    if covered <= 0:
        return _(
            "{what} ({period}) has no data (orders run from {first} to {last}): not compared"
        ).format(what=what, period=label, first=_day(first), last=_day(last))
    share = covered / period.days
    edge = (
        _("orders start on {day}").format(day=_day(first))
        if first > period.start
        else _("orders end on {day}").format(day=_day(last))
    )
    return _(
        "{what} ({period}) is only partly in the data ({share} of its days; {edge}): not compared"
    ).format(what=what, period=label, share=f"{share:.0%}", edge=edge)


def header_line(period: Period, scope: str, source: str, prior_note: str | None = None) -> str:
    """The page's first line: the period and its dates, the scope (``Filters.describe()``)
    and the source; then why there are no growth figures, when last year is not comparable.

    >>> header_line(parse_period("2026-Q3"), "region=EMEA", "demo.duckdb")
    '**2026-Q3** (2026-07-01 – 2026-09-30) · region=EMEA · source `demo.duckdb`'
    """
    from salesnb.metrics.targets import scope_text

    text = _("**{period}** ({start} – {end}) · {scope} · source `{source}`").format(
        period=period_label(period.label),
        start=_day(period.start),
        end=_day(period.last_day),
        scope=scope_text(scope),
        source=source,
    )
    if prior_note:
        text += "\n\n" + _("**No growth figures**: {why}.").format(why=prior_note)
    return text


# --------------------------------------------------------------------------- targets
def resolve_targets(
    targets: pd.DataFrame, period, level: str = "rep", whole_period: bool = False
) -> pd.DataFrame:
    """Target per key of ``level`` for the period (rule in the module docstring).

    ``targets``: period, level, key, target_amount; ``period`` a :class:`Period` or its
    label. Returns key, target, target_basis. With ``whole_period`` the target is NaN (not
    computable) when the targets cover only some months of the period; without it (the
    original behaviour, kept for existing callers) the months covered are summed and
    ``target_basis`` says how many.

    >>> t = pd.DataFrame({"period": ["2026-Q1", "2026-Q2", "2026-Q3", "2026-Q4"], "level": "rep",
    ...                   "key": "r1", "target_amount": [100.0, 100.0, 120.0, 80.0]})
    >>> resolve_targets(t, "2026", "rep")["target"].item(), resolve_targets(t, "2026-08")["target"].item()
    (400.0, 40.0)
    >>> r = resolve_targets(t, "2026-Q3..2027-Q2", whole_period=True)
    >>> r["target"].isna().item(), r["target_basis"].item()
    (True, 'quarter targets cover 6 of the 12 months of 2026-Q3..2027-Q2: not computable')
    >>> resolve_targets(t, "2026-Q3..2027-Q2")["target_basis"].item()
    'sum of quarter targets (they cover 6 of the 12 months of 2026-Q3..2027-Q2)'

    """
    require_columns(targets, ["period", "level", "key", "target_amount"], "targets")
    want = period if isinstance(period, Period) else parse_period(str(period))
    period_label = want.label
    t = targets[targets["level"].astype(str) == level]
    empty = pd.DataFrame(
        {
            "key": pd.Series(dtype="str"),
            "target": pd.Series(dtype="float64"),
            "target_basis": pd.Series(dtype="str"),
        }
    )
    if t.empty:
        return empty
    exact = t[t["period"].astype(str) == str(period_label)]
    if not exact.empty:
        out = exact.groupby("key", as_index=False)["target_amount"].sum()
        return out.rename(columns={"target_amount": "target"}).assign(target_basis="as set")
    rows = []
    for per, key, amount in t[["period", "key", "target_amount"]].itertuples(index=False):
        try:
            p = parse_period(per)
        except Exception:  # an unreadable label cannot be prorated; validation reports it
            continue
        if p.kind not in _PREFERENCE:
            continue
        lo, hi = max(p.start, want.start), min(p.end, want.end)
        inside = _months_between(lo, hi) if p.start < want.end and p.end > want.start else 0
        if inside:
            rows.append((p.kind, key, amount * inside / p.months, inside, p.months, lo, hi))
    if not rows:
        return empty
    df = pd.DataFrame(rows, columns=["kind", "key", "part", "inside", "span", "lo", "hi"])
    wanted = max(_months_between(want.start, want.end), 1)
    # the months each granularity covers (any key): the first one that covers the whole
    # period wins; with none complete, the best covered one, marked not computable
    covered = {
        k: len(set().union(*(_month_starts(a, b) for a, b in zip(g["lo"], g["hi"], strict=True))))
        for k, g in df.groupby("kind")
    }
    kinds = [k for k in _PREFERENCE if k in covered]
    kind = next((k for k in kinds if covered[k] >= wanted), max(kinds, key=lambda k: covered[k]))
    df = df[df["kind"] == kind]
    out = df.groupby("key", as_index=False).agg(target=("part", "sum"))
    part = f"{covered[kind]} of the {wanted} months of {period_label}"
    if covered[kind] < wanted and whole_period:
        basis = f"{kind} targets cover {part}: not computable"
        return out.assign(target=np.nan, target_basis=basis)
    basis = (
        f"sum of {kind} targets"
        if (df["inside"] == df["span"]).all()
        else f"prorated from {kind} targets"
    )
    if covered[kind] < wanted:
        basis += f" (they cover {part})"
    return out.assign(target_basis=basis)


def rep_scorecard(
    reps: pd.DataFrame,
    sales: pd.DataFrame,
    prior_sales: pd.DataFrame | None = None,
    targets: pd.DataFrame | None = None,
    new_customers: pd.DataFrame | None = None,
    deals: pd.DataFrame | None = None,
    surveys: pd.DataFrame | None = None,
) -> pd.DataFrame:
    """One row per rep: revenue, target, attainment, growth, new customers, win rate, cycle, discount, NPS.

    ``reps``: rep_id (+ name, team, region, role); ``sales``/``prior_sales``: rep_id, revenue
    (+ avg_discount); ``targets``: key (rep_id), target; ``new_customers``: rep_id,
    new_customers; ``deals``: rep_id, closed, won, cycle_days; ``surveys``: rep_id,
    responses, nps, csat. Optional inputs may be None; their columns are then NaN.
    Reps of ``reps`` with no sales get revenue 0; reps selling outside it are kept.
    """
    require_columns(reps, ["rep_id"], "reps")
    require_columns(sales, ["rep_id", "revenue"], "sales")
    info = [c for c in ("rep_id", "name", "team", "region", "role") if c in reps.columns]
    keep_sales = [c for c in ("rep_id", "revenue", "avg_discount") if c in sales.columns]
    card = reps[info].merge(sales[keep_sales], on="rep_id", how="outer")
    card["revenue"] = card["revenue"].fillna(0.0)
    if "avg_discount" not in card.columns:
        card["avg_discount"] = np.nan
    if targets is not None and not targets.empty:
        card = card.merge(
            targets[["key", "target"]].rename(columns={"key": "rep_id"}), on="rep_id", how="left"
        )
    else:
        card["target"] = np.nan
    card["attainment"] = card["revenue"] / card["target"].where(card["target"] > 0)
    if prior_sales is not None:
        prior = prior_sales[["rep_id", "revenue"]].rename(columns={"revenue": "revenue_prior"})
        card = card.merge(prior, on="rep_id", how="left")
    else:
        card["revenue_prior"] = np.nan
    card["growth"] = card["revenue"] / card["revenue_prior"].where(card["revenue_prior"] > 0) - 1
    if new_customers is not None:
        card = card.merge(new_customers[["rep_id", "new_customers"]], on="rep_id", how="left")
        card["new_customers"] = card["new_customers"].fillna(0).astype("int64")
    else:
        card["new_customers"] = np.nan
    if deals is not None:
        card = card.merge(deals[["rep_id", "closed", "won", "cycle_days"]], on="rep_id", how="left")
        card[["closed", "won"]] = card[["closed", "won"]].fillna(0).astype("int64")
        card["win_rate"] = card["won"] / card["closed"].where(card["closed"] > 0)
    else:
        card[["closed", "won", "cycle_days", "win_rate"]] = np.nan
    if surveys is not None and not surveys.empty:
        cols = [c for c in ("rep_id", "responses", "nps", "csat") if c in surveys.columns]
        card = card.merge(surveys[cols], on="rep_id", how="left")
    for c in ("responses", "nps", "csat"):
        if c not in card.columns:
            card[c] = np.nan
    return card.sort_values("rep_id").reset_index(drop=True)


def team_scorecard(card: pd.DataFrame, team_targets: pd.DataFrame | None = None) -> pd.DataFrame:
    """Roll a rep scorecard up to teams. ``team_targets``: key (team), target — when absent
    (or a team is missing) the team target is the sum of its reps' targets.

    Returns team, reps, revenue, target, attainment, revenue_prior, growth, new_customers,
    closed, won, win_rate, cycle_days (won-weighted), avg_discount (revenue-weighted), nps
    (response-weighted), csat.
    """
    require_columns(card, ["team", "rep_id", "revenue", "target"], "rep scorecard")
    c = card.copy()
    c["_disc_w"] = c["avg_discount"] * c["revenue"].clip(lower=0)
    c["_rev_w"] = c["revenue"].clip(lower=0).where(c["avg_discount"].notna(), 0.0)
    c["_cycle_w"] = c["cycle_days"] * c["won"]
    c["_won_w"] = c["won"].where(c["cycle_days"].notna(), 0)
    c["_nps_w"] = c["nps"] * c["responses"]
    c["_csat_w"] = c["csat"] * c["responses"]
    c["_resp_w"] = c["responses"].where(c["nps"].notna(), 0)
    g = (
        c.groupby("team", dropna=False)
        .agg(
            reps=("rep_id", "size"),
            revenue=("revenue", "sum"),
            rep_target=("target", lambda s: s.sum(min_count=1)),
            revenue_prior=("revenue_prior", lambda s: s.sum(min_count=1)),
            new_customers=("new_customers", "sum"),
            closed=("closed", "sum"),
            won=("won", "sum"),
            _cycle_w=("_cycle_w", "sum"),
            _won_w=("_won_w", "sum"),
            _disc_w=("_disc_w", "sum"),
            _rev_w=("_rev_w", "sum"),
            _nps_w=("_nps_w", "sum"),
            _csat_w=("_csat_w", "sum"),
            _resp_w=("_resp_w", "sum"),
            responses=("responses", "sum"),
        )
        .reset_index()
    )
    if team_targets is not None and not team_targets.empty:
        g = g.merge(
            team_targets[["key", "target"]].rename(columns={"key": "team"}), on="team", how="left"
        )
        g["target"] = g["target"].fillna(g["rep_target"])
    else:
        g["target"] = g["rep_target"]
    g["attainment"] = g["revenue"] / g["target"].where(g["target"] > 0)
    g["growth"] = g["revenue"] / g["revenue_prior"].where(g["revenue_prior"] > 0) - 1
    g["win_rate"] = g["won"] / g["closed"].where(g["closed"] > 0)
    g["cycle_days"] = g["_cycle_w"] / g["_won_w"].where(g["_won_w"] > 0)
    g["avg_discount"] = g["_disc_w"] / g["_rev_w"].where(g["_rev_w"] > 0)
    g["nps"] = g["_nps_w"] / g["_resp_w"].where(g["_resp_w"] > 0)
    g["csat"] = g["_csat_w"] / g["_resp_w"].where(g["_resp_w"] > 0)
    cols = [
        "team",
        "reps",
        "revenue",
        "target",
        "attainment",
        "revenue_prior",
        "growth",
        "new_customers",
        "closed",
        "won",
        "win_rate",
        "cycle_days",
        "avg_discount",
        "nps",
        "csat",
    ]
    return g[cols].sort_values("revenue", ascending=False).reset_index(drop=True)


def territory_potential(
    card: pd.DataFrame, market: pd.DataFrame | None = None, accounts: pd.DataFrame | None = None
) -> pd.DataFrame:
    """Sales potential of each rep's territory. Returns rep_id, potential, potential_basis.

    - With ``market`` (region, segment, market_size) and ``accounts`` (rep_id, segment,
      accounts owned): each region x segment market is shared among that region's reps in
      proportion to the accounts of the segment they own — assigned accounts, not sales, so
      potential does not echo performance.
    - With ``market`` only: the region's market split evenly among its reps.
    - Without market data: the region's revenue per rep (a weaker proxy).
    ``card``: rep_id, region, revenue.
    """
    require_columns(card, ["rep_id", "region", "revenue"], "rep scorecard")
    reps = card[["rep_id", "region"]].copy()
    n_in_region = reps.groupby("region")["rep_id"].transform("size")
    if market is not None and not market.empty:
        require_columns(market, ["region", "segment", "market_size"], "market")
        region_total = market.groupby("region")["market_size"].sum()
        even = reps["region"].map(region_total) / n_in_region
        out = reps.assign(potential=even, potential_basis="market size of the region / its reps")
        if accounts is not None and not accounts.empty:
            require_columns(accounts, ["rep_id", "segment", "accounts"], "accounts")
            a = accounts.merge(reps, on="rep_id", how="inner")
            a["share"] = a["accounts"] / a.groupby(["region", "segment"])["accounts"].transform(
                "sum"
            )
            a = a.merge(
                market[["region", "segment", "market_size"]], on=["region", "segment"], how="inner"
            )
            by_accounts = (a["share"] * a["market_size"]).groupby(a["rep_id"]).sum()
            has = out["rep_id"].isin(by_accounts.index)
            if has.any():
                out.loc[has, "potential"] = out.loc[has, "rep_id"].map(by_accounts).to_numpy()
                out.loc[has, "potential_basis"] = (
                    "market size of region x segment, by accounts owned"
                )
        return out[["rep_id", "potential", "potential_basis"]]
    region_rev = card.groupby("region")["revenue"].sum()
    pot = reps["region"].map(region_rev) / n_in_region
    return reps.assign(potential=pot, potential_basis="region revenue per rep")[
        ["rep_id", "potential", "potential_basis"]
    ]


def fair_ranking(
    card: pd.DataFrame, potential: pd.DataFrame, behind_share: float = 0.9
) -> pd.DataFrame:
    """Attainment next to territory potential.

    Returns rep_id, name, region, attainment, potential, potential_index (vs the median
    territory), penetration (revenue / potential), penetration_index (vs the median rep),
    rank_attainment, rank_penetration (1 = best) and reading. A rep is *behind* when their
    attainment is under ``behind_share`` x the median rep's; a rep behind but with
    above-median penetration reads "weak territory, not a weak rep", one behind on both
    "below target and below peers: coach".

    Indexes and penetration are NaN (not computable) where their base is not positive: a
    territory without potential, a median territory or rep at zero or below (a period where
    returns exceed sales). When the median rep's attainment is not positive, nobody can be
    behind their peers: those reps read "no net revenue across the team: not comparable".

    >>> card = pd.DataFrame({"rep_id": ["a", "b"], "region": "N", "revenue": [0.0, 0.0],
    ...                      "attainment": [0.0, 0.0]})
    >>> r = fair_ranking(card, pd.DataFrame({"rep_id": ["a", "b"], "potential": [0.0, 0.0]}))
    >>> bool(r["penetration"].isna().all()), r["reading"].unique().tolist()
    (True, ['no net revenue across the team: not comparable'])
    """
    require_columns(card, ["rep_id", "revenue", "attainment"], "rep scorecard")
    require_columns(potential, ["rep_id", "potential"], "potential")
    info = [c for c in ("rep_id", "name", "region", "revenue", "attainment") if c in card.columns]
    r = card[info].merge(potential[["rep_id", "potential"]], on="rep_id", how="left")

    def index(values: pd.Series) -> pd.Series:
        # against the median rep; nothing to compare with when the median is not positive
        med = values.median()
        return values.where(values >= 0) / med if np.isfinite(med) and med > 0 else values * np.nan

    r["potential_index"] = index(r["potential"].astype("float64"))
    r["penetration"] = r["revenue"] / r["potential"].where(r["potential"] > 0)
    r["penetration_index"] = index(r["penetration"].astype("float64"))
    r["rank_attainment"] = r["attainment"].rank(ascending=False, method="min")
    r["rank_penetration"] = r["penetration"].rank(ascending=False, method="min")
    # "behind" is relative to peers (10 % under the median rep), so a target set high for everyone
    # does not turn half the team into "weak territory" cases
    median_attainment = r["attainment"].median()
    below = r["attainment"] < behind_share * median_attainment
    strong = r["penetration_index"] >= 1.0
    r["reading"] = np.select(
        [
            below & strong,
            below & ~strong & r["penetration_index"].notna(),
            (r["attainment"] >= 1.0) & ~strong & r["penetration_index"].notna(),
        ],
        [
            "weak territory, not a weak rep",
            "below target and below peers: coach",
            "on target, helped by a strong territory",
        ],
        default="on track",
    )
    if not (np.isfinite(median_attainment) and median_attainment > 0):
        r["reading"] = "no net revenue across the team: not comparable"
    r.loc[r["attainment"].isna(), "reading"] = "no target"
    return r.sort_values(["rank_penetration", "rep_id"]).reset_index(drop=True)


def win_rate_funnel(
    deals: pd.DataFrame, closed_col: str = "closed", won_col: str = "won"
) -> pd.DataFrame:
    """Funnel-plot limits of win rate by deals closed, and who is really below peers.

    ``deals``: rep_id, closed, won. Returns rep_id, closed, won, win_rate, pooled_rate,
    lower95, upper95, lower998, upper998 (normal approximation, for drawing), p_below (exact
    binomial P(X <= won) at the pooled rate) and status: coach (p_below < 0.001), watch
    (< 0.025), above (P(X >= won) < 0.025) or within.
    """
    require_columns(deals, ["rep_id", closed_col, won_col], "deals")
    d = (
        deals[deals[closed_col] > 0][["rep_id", closed_col, won_col]]
        .rename(columns={closed_col: "closed", won_col: "won"})
        .copy()
    )
    if d.empty:
        return d.assign(win_rate=[], pooled_rate=[], status=[])
    p0 = d["won"].sum() / d["closed"].sum()
    se = np.sqrt(p0 * (1 - p0) / d["closed"])
    d["win_rate"] = d["won"] / d["closed"]
    d["pooled_rate"] = p0
    for name, z in (("95", stats.norm.ppf(0.975)), ("998", stats.norm.ppf(0.999))):
        d[f"lower{name}"] = (p0 - z * se).clip(lower=0)
        d[f"upper{name}"] = (p0 + z * se).clip(upper=1)
    d["p_below"] = stats.binom.cdf(d["won"], d["closed"], p0)
    p_above = stats.binom.sf(d["won"] - 1, d["closed"], p0)
    d["status"] = np.select(
        [d["p_below"] < 0.001, d["p_below"] < 0.025, p_above < 0.025],
        ["coach", "watch", "above"],
        default="within",
    )
    return d.sort_values("p_below").reset_index(drop=True)


def discount_breaches(
    deals: pd.DataFrame,
    authority: dict | None = None,
    role_col: str = "role",
    discount_col: str = "discount",
) -> pd.DataFrame:
    """Won deals whose discount exceeds the authority of the rep's role.

    ``deals``: opportunity_id, rep_id, role, discount (fraction 0..1). ``authority``: role ->
    maximum discount (default ``schema.DEFAULT_DISCOUNT_AUTHORITY``); a role not in it gets the
    smallest authority (unknown roles cannot approve more than a rep). Returns the breaching
    rows with ``authority`` and ``excess`` (discount - authority), largest excess first.

    >>> d = pd.DataFrame({"opportunity_id": ["a", "b", "c"], "rep_id": "r", "role": ["rep", "rep", "senior"],
    ...                   "discount": [0.10, 0.12, 0.15]})
    >>> discount_breaches(d)["opportunity_id"].tolist()
    ['b']
    """
    require_columns(deals, ["opportunity_id", role_col, discount_col], "won deals")
    auth = dict(DEFAULT_DISCOUNT_AUTHORITY if authority is None else authority)
    d = deals.copy()
    d["authority"] = d[role_col].map(auth).astype("float64").fillna(min(auth.values()))
    d["excess"] = d[discount_col].astype("float64") - d["authority"]
    # 1e-9 keeps a discount keyed in exactly at the limit (0.1 stored as 0.1000000001) compliant
    out = d[d["excess"] > 1e-9]
    return out.sort_values(["excess", "opportunity_id"], ascending=[False, True]).reset_index(
        drop=True
    )


NO_CHANNEL_TARGET = N_("targets are set per company, region, team and rep, never per channel")


def no_target_reason(filters=None) -> str | None:
    """Why no target applies to a filter set, or None when one does: a channel filter, since
    targets are set per company, region, team and rep, never per channel. Under a channel
    filter nothing is compared with a target: not the channel's revenue (attainment, pipeline
    coverage), not a rep's or a team's sales in that channel (their scorecards), in the
    studies and the dashboards alike.

    >>> from salesnb.model.filters import Filters
    >>> no_target_reason(Filters(region="East")) is None, no_target_reason(Filters(channel="Online"))
    (True, 'targets are set per company, region, team and rep, never per channel')
    """
    return (
        _(NO_CHANNEL_TARGET) if filters is not None and getattr(filters, "channel", None) else None
    )


def _sum_all(values: pd.Series) -> float | None:
    """The sum of the targets, None when there is none or one is not computable (NaN)."""
    total = values.sum(min_count=len(values)) if len(values) else np.nan
    return None if pd.isna(total) else float(total)


def _team_within_region(reps: pd.DataFrame, team: str, region: str) -> bool:
    """Every rep of ``team`` belongs to ``region`` (the region filter leaves the team whole)."""
    members = reps[reps["team"].astype(str) == str(team)]
    return bool((members["region"].astype(str) == str(region)).all())


def scope_target(
    targets: pd.DataFrame | None, period, filters=None, reps: pd.DataFrame | None = None
) -> float | None:
    """The target of the filtered scope for ``period``: the one rule behind attainment, the
    target pace and pipeline coverage, in the studies and the dashboards alike.

    - A channel filter has no target (:func:`no_target_reason`): targets are set per company,
      region, team and rep, never per channel.
    - Otherwise the most specific level the filters name: the team's target, else the
      region's, else the company's (every company row), for the period as
      :func:`resolve_targets` combines them; a target covering only part of the period is
      none.
    - A team filter with a region filter: the team's target when the team lies in the region
      (every rep of the team in ``reps`` has that region; assumed without ``reps``), else the
      sum of the targets of the team's reps in the region.
    - No target row for the scope at that level: the sum of the targets of the reps in scope
      (the ``reps`` whose team and region are the filters'), those that have one.
    - None when no target is set, or when one is not computable.

    ``targets``: period, level, key, target_amount (``queries.performance.targets_frame``);
    ``period``: a :class:`Period` or its label; ``filters``: a
    :class:`~salesnb.model.filters.Filters` (or None: the company); ``reps``: rep_id, team,
    region of every rep (``queries.performance.reps_frame``), or None.

    >>> from salesnb.model.filters import Filters
    >>> t = pd.DataFrame({"period": "2026-Q3", "level": ["company", "region", "rep", "rep"],
    ...                   "key": ["all", "N", "r1", "r2"], "target_amount": [100.0, 60.0, 25.0, 20.0]})
    >>> reps = pd.DataFrame({"rep_id": ["r1", "r2"], "team": ["A", "B"], "region": ["N", "S"]})
    >>> scope_target(t, "2026-Q3"), scope_target(t, "2026-Q3", Filters(region="N")), scope_target(t, "2026-09")
    (100.0, 60.0, 33.333333333333336)
    >>> scope_target(t, "2026-Q3", Filters(team="B"), reps), scope_target(t, "2026-Q3", Filters(channel="Web"))
    (20.0, None)
    """
    if targets is None or no_target_reason(filters):
        return None
    team = getattr(filters, "team", None) or None
    region = getattr(filters, "region", None) or None
    cut_team = (
        team is not None
        and region is not None
        and reps is not None
        and not _team_within_region(reps, team, region)
    )
    if not cut_team:
        level, key = ("team", team) if team else ("region", region) if region else ("company", None)
        resolved = resolve_targets(targets, period, level, whole_period=True)
        if key is not None:
            resolved = resolved[resolved["key"].astype(str) == str(key)]
        if not resolved.empty:
            return _sum_all(resolved["target"])
    if reps is None:
        return None
    members = reps
    for col, value in (("team", team), ("region", region)):
        if value is not None:
            members = members[members[col].astype(str) == str(value)]
    rep_targets = resolve_targets(targets, period, "rep", whole_period=True)
    rep_targets = rep_targets[rep_targets["key"].astype(str).isin(members["rep_id"].astype(str))]
    return _sum_all(rep_targets["target"])


def targets_note(resolved: pd.DataFrame | None, filters=None) -> str | None:
    """Why resolved targets (:func:`resolve_targets`) give no figure, or None when they do;
    first, why no target applies to the ``filters`` (:func:`no_target_reason`).

    >>> targets_note(None), targets_note(pd.DataFrame({"key": [], "target": []}))
    ('no targets table in this warehouse', 'no targets set for this period')
    """
    if why := no_target_reason(filters):
        return why
    if resolved is None:
        return _("no targets table in this warehouse")
    if resolved.empty:
        return _("no targets set for this period")
    if resolved["target"].isna().all():
        return str(resolved["target_basis"].iat[0])
    return None


def scope_figures(
    revenue: float,
    target: float | None,
    revenue_prior: float | None,
    prior_note: str | None = None,
    target_note: str | None = None,
) -> dict:
    """The scope's headline comparisons, each None when not computable, with the reason.

    Returns ``revenue_total, target_total, attainment_company, revenue_prior,
    revenue_growth, attainment_note, growth_note`` (notes None when the figure exists).

    >>> f = scope_figures(-50.0, 100.0, 0.0)
    >>> f["attainment_company"], f["revenue_growth"], f["growth_note"]
    (-0.5, None, 'no net revenue in the same period last year to grow from')
    """
    target = None if target is None or not np.isfinite(target) else float(target)
    prior = None if prior_note or revenue_prior is None else float(revenue_prior)
    attainment = ratio(revenue, target)
    growth = growth_rate(revenue, prior)
    if attainment is not None:
        attainment_note = None
    elif target is None:
        attainment_note = target_note or _("no target for this scope and period")
    else:
        attainment_note = _("the target is not positive")
    if growth is not None:
        growth_note = None
    elif prior_note:
        growth_note = prior_note
    else:
        growth_note = _("no net revenue in the same period last year to grow from")
    return dict(
        revenue_total=float(revenue),
        target_total=target,
        attainment_company=attainment,
        revenue_prior=prior,
        revenue_growth=growth,
        attainment_note=attainment_note,
        growth_note=growth_note,
    )


def scope_markdown(figures: dict, currency: str = "USD") -> str:
    """One sentence: revenue, target and attainment, growth; "not computable" with the reason.

    >>> print(scope_markdown(scope_figures(90.0, 120.0, 60.0)))
    Revenue **90 USD** against a target of **120** → attainment **75.0%**; vs the same period last year **+50.0%**.
    >>> print(scope_markdown(scope_figures(90.0, None, None, prior_note="no data last year")))
    Revenue **90 USD**; attainment not computable (no target for this scope and period); growth not computable (no data last year).
    """
    f = figures
    out = _("Revenue **{revenue}**").format(revenue=money(f["revenue_total"], currency))
    if f["attainment_company"] is not None:
        out += _(" against a target of **{target}** → attainment **{attainment}**").format(
            target=f"{f['target_total']:,.0f}", attainment=f"{f['attainment_company']:.1%}"
        )
    else:
        out += _("; attainment not computable ({why})").format(why=f["attainment_note"])
    if f["revenue_growth"] is not None:
        out += _("; vs the same period last year **{growth}**.").format(
            growth=f"{f['revenue_growth']:+.1%}"
        )
    else:
        out += _("; growth not computable ({why}).").format(why=f["growth_note"])
    return out


def performance_actions(
    card: pd.DataFrame,
    funnel: pd.DataFrame | None = None,
    breaches: pd.DataFrame | None = None,
    ranking: pd.DataFrame | None = None,
    plans: pd.DataFrame | None = None,
    attainment_company: float | None = None,
    low_attainment: float = 0.7,
) -> str:
    """The "What to do" bullets, computed from the study's numbers (markdown).

    Figures that are not computable (None / NaN) leave their bullet out.
    """
    names = rep_names(card)
    out = [
        *_team_attainment_bullets(attainment_company),
        *_low_attainment_bullets(card, low_attainment, names),
        *_weak_territory_bullets(ranking, names),
        *_win_rate_bullets(funnel, names),
        *_discount_breach_bullets(breaches, names),
        *_plan_comparison_bullets(plans),
    ]
    return "\n".join(out) or _("- Nothing stands out this period.")


def _team_attainment_bullets(attainment_company: float | None) -> list[str]:
    """The team's attainment and whether it is above or short of plan, when finite."""
    if attainment_company is None or not np.isfinite(attainment_company):
        return []
    share = f"{attainment_company:.0%}"
    if attainment_company >= 1:
        return [_("- The team is at **{share}** of target, above plan.").format(share=share)]
    return [_("- The team is at **{share}** of target, short of plan.").format(share=share)]


def _low_attainment_bullets(card: pd.DataFrame, low_attainment: float, names: dict) -> list[str]:
    """Reps below ``low_attainment`` of target, lowest first (at most 8 named)."""
    low = card[card["attainment"] < low_attainment]
    if not len(low):
        return []
    who = _named(low.sort_values("attainment")["rep_id"].astype(str).head(8), names)
    return [
        _(
            "- **{n}** rep(s) below {share} of target ({names}); before acting, check the fair "
            "ranking — some sit in weak territories."
        ).format(n=len(low), share=f"{low_attainment:.0%}", names=who)
    ]


def _weak_territory_bullets(ranking: pd.DataFrame | None, names: dict) -> list[str]:
    """Reps the fair ranking reads as a weak territory, not a weak rep (at most 6 named)."""
    if ranking is None or not len(ranking):
        return []
    weak_terr = ranking[ranking["reading"] == "weak territory, not a weak rep"]
    if not len(weak_terr):
        return []
    return [
        _(
            "- {names}: below target but above median penetration of their territory — revisit "
            "their targets, not their skills."
        ).format(names=_named(weak_terr["rep_id"].astype(str).head(6), names))
    ]


def _win_rate_bullets(funnel: pd.DataFrame | None, names: dict) -> list[str]:
    """Reps to coach (outside 99.8 %) and to watch (outside 95 %), or that none stands out."""
    if funnel is None or not len(funnel):
        return []
    out = []
    coach = funnel[funnel["status"] == "coach"]
    watch = funnel[funnel["status"] == "watch"]
    if len(coach):
        out.append(
            _(
                "- Coach on deal conversion: {names} (win rate outside the 99.8 % limit for "
                "their volume)."
            ).format(names=_named(coach["rep_id"].astype(str), names))
        )
    if len(watch):
        out.append(
            _("- Watch next period: {names} (outside 95 %, could still be noise).").format(
                names=_named(watch["rep_id"].astype(str).head(8), names)
            )
        )
    if not len(coach) and not len(watch):
        out.append(_("- No rep's win rate is statistically below peers: differences are noise."))
    return out


def _discount_breach_bullets(breaches: pd.DataFrame | None, names: dict) -> list[str]:
    """Won deals over discount authority and the top 3 reps by count, or that there were none."""
    if breaches is None:
        return []
    if not len(breaches):
        return [_("- No won deal exceeded its rep's discount authority.")]
    top = breaches.groupby("rep_id").size().sort_values(ascending=False)
    return [
        _(
            "- **{n}** won deal(s) exceeded discount authority; most by {names}. Enforce "
            "approval before close."
        ).format(n=len(breaches), names=_named(top.index.astype(str)[:3], names))
    ]


def _plan_comparison_bullets(plans: pd.DataFrame | None) -> list[str]:
    """The cheaper of the first two plans by expected payout, against the other."""
    if plans is None or len(plans) < 2:
        return []
    a, b = plans.iloc[0], plans.iloc[1]
    cheaper = a if a["expected_payout"] <= b["expected_payout"] else b
    other = b if cheaper is a else a
    p90 = f"{cheaper['p90_payout']:,.0f}", f"{other['p90_payout']:,.0f}"
    if np.isfinite(cheaper["cost_of_sales_pct"]) and np.isfinite(other["cost_of_sales_pct"]):
        text = _(
            "- Plan '{plan}' costs {cost} of revenue vs {other_cost} for '{other}' (90th "
            "percentile {p90} vs {other_p90})."
        ).format(
            cost=f"{cheaper['cost_of_sales_pct']:.1%}",
            other_cost=f"{other['cost_of_sales_pct']:.1%}",
            plan=cheaper["plan"],
            other=other["plan"],
            p90=p90[0],
            other_p90=p90[1],
        )
    else:  # no positive revenue: a share of it is not computable
        text = _(
            "- Plan '{plan}' pays {pay} vs {other_pay} for '{other}' (cost of sales not "
            "computable: no net revenue) (90th percentile {p90} vs {other_p90})."
        ).format(
            pay=f"{cheaper['expected_payout']:,.0f}",
            other_pay=f"{other['expected_payout']:,.0f}",
            plan=cheaper["plan"],
            other=other["plan"],
            p90=p90[0],
            other_p90=p90[1],
        )
    return [text]


def rep_attainment_history(
    rep_quarter: pd.DataFrame, targets: pd.DataFrame, quarter_col: str = "quarter"
) -> pd.DataFrame:
    """Quarterly attainment per rep: revenue of each quarter / the rep target set for it.

    ``rep_quarter``: rep_id, quarter (quarter start), revenue; ``targets``: period, level, key,
    target_amount. Quarters without a positive rep target are left out.
    Returns rep_id, period, revenue, target, attainment.
    """
    require_columns(rep_quarter, ["rep_id", quarter_col, "revenue"], "rep-quarter revenue")
    require_columns(targets, ["period", "level", "key", "target_amount"], "targets")
    q = pd.to_datetime(rep_quarter[quarter_col])
    h = rep_quarter.assign(period=q.dt.year.astype(str) + "-Q" + q.dt.quarter.astype(str))
    t = targets[targets["level"].astype(str) == "rep"][["period", "key", "target_amount"]]
    t = t.rename(columns={"key": "rep_id", "target_amount": "target"})
    h = h.merge(t, on=["rep_id", "period"], how="inner")
    h = h[h["target"] > 0]
    h["attainment"] = h["revenue"] / h["target"]
    return h[["rep_id", "period", "revenue", "target", "attainment"]].reset_index(drop=True)


__all__ = [
    "coverage_note",
    "growth_rate",
    "ratio",
    "scope_figures",
    "scope_markdown",
    "targets_note",
    "resolve_targets",
    "rep_attainment_history",
    "rep_scorecard",
    "team_scorecard",
    "territory_potential",
    "fair_ranking",
    "win_rate_funnel",
    "discount_breaches",
    "scope_target",
    "no_target_reason",
    "NO_CHANNEL_TARGET",
    "performance_actions",
    "rep_names",
]
