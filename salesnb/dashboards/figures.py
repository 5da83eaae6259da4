"""The numbers each dashboard card shows, for one filter set (pure reads, no widgets).

:func:`executive_figures` (revenue, target, attainment, landing forecast, pipeline
coverage, win rate, discount breaches), :func:`funnel_steps`, :func:`channel_mix`,
:func:`current_alerts`, :func:`rep_scorecard`, :func:`rep_detail`. Tests compare them with
independent queries; the dashboards show exactly these numbers.

Each executive figure is read through a *reader*: :class:`LiveReader` asks the engine every
time (the studies' queries); :class:`salesnb.dashboards.cube.CubeReader` answers the same
questions from small cubes held in memory. :func:`figures_from` is the one composition both
share, so both give the same numbers by construction (the tests compare them).

The numbers come from the functions the studies use (``salesnb.queries``, ``queries.funnel``,
``queries.performance``, ``metrics.funnel``, ``metrics.performance``, ``metrics.channels``, the
report's alert rules); this module only composes them. Definitions:

- *attainment* = revenue in the period / target of the filtered scope
  (:func:`salesnb.metrics.performance.scope_target`, as the performance study; no target
  exists for a channel, so it is then blank).
- *landing forecast* (``forecast``) = where a running period lands, by the targets study's
  rule and composition (:func:`salesnb.metrics.landing.scope_landing`: period-to-date + the
  remainder from the run rate with seasonality, the open pipeline x win probabilities and
  the statistical forecast, combined by the rule the 8-quarter backtest chose, with its 80 %
  interval and the gap to the scope's target). It is computed from the engine for each
  filter set seen (a few seconds: a backtest is fitted), only while the period runs; once
  the period is complete it is the revenue; before the period starts there is none.
- *pipeline coverage*, *win rate*: as the funnel study (see :func:`executive_figures`).
- *as of*: the day a running period is seen at is
  :func:`salesnb.model.periods.as_of_day` of the board's ``as_of`` and the end of the data
  (:func:`salesnb.queries.warehouse.data_end`), as in the funnel study.
- *discount compliance* = share of won deals closed in the period whose discount is within the
  authority of the rep's role (``schema.DEFAULT_DISCOUNT_AUTHORITY``).
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import ibis
import pandas as pd

from salesnb import queries
from salesnb.errors import FitError, ModelError, ParameterError
from salesnb.i18n import _
from salesnb.metrics import channels as chan
from salesnb.metrics import funnel as fun
from salesnb.metrics import landing
from salesnb.metrics import performance as perf
from salesnb.model.filters import Filters
from salesnb.model.periods import Period, as_of_day, parse_period, quarter_of
from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY
from salesnb.queries import funnel as qfun
from salesnb.queries import performance as qperf
from salesnb.queries.warehouse import data_end
from salesnb.sources import Source


# -- periods ------------------------------------------------------------------------------------
def current_period(src: Source) -> Period:
    """The quarter holding the end of the data (:func:`salesnb.queries.warehouse.data_end`):
    what a manager opens the dashboard for."""
    end = data_end(src)
    if end is None:
        raise ParameterError(_("the warehouse holds no dated row: nothing to show"))
    return parse_period(quarter_of(end))


def period_choices(src: Source) -> list[str]:
    """Quarters with orders (latest first), then the years."""
    o = src.table("orders")
    row = o.aggregate(lo=o.order_date.min(), hi=o.order_date.max()).execute().iloc[0]
    if pd.isna(row["lo"]):
        return []
    lo, hi = pd.Timestamp(row["lo"]), pd.Timestamp(row["hi"])
    quarters = pd.period_range(lo, hi, freq="Q")
    labels = [f"{p.year}-Q{p.quarter}" for p in reversed(quarters)]
    years = [str(y) for y in range(hi.year, lo.year - 1, -1)]
    return labels + years


def _period_of(filters: Filters) -> Period:
    """The month, quarter or year a filter set covers (a dashboard shows one of those)."""
    if filters.start is None or filters.end is None:
        raise ParameterError(_("a dashboard needs a period"))
    for kind_label in (
        quarter_of(filters.start),
        str(filters.start.year),
        f"{filters.start.year}-{filters.start.month:02d}",
    ):
        p = parse_period(kind_label)
        if p.start == filters.start and p.end == filters.end:
            return p
    raise ParameterError(
        _("{start}..{end} is not a month, quarter or year").format(
            start=filters.start, end=filters.end
        )
    )


# -- targets and forecast -----------------------------------------------------------------------
def target_for(src: Source, period: Period, filters: Filters) -> float | None:
    """The target of the filtered scope for ``period``
    (:func:`salesnb.metrics.performance.scope_target`; None when not set or not applicable)."""
    targets = qperf.targets_frame(src) if src.has("targets") else None
    reps = qperf.reps_frame(src) if targets is not None and src.has("reps") else None
    return perf.scope_target(targets, period, filters, reps)


def landing_figures(src: Source, filters: Filters, as_of: date | None, target) -> dict:
    """The landing of the filters' period as the targets study computes it
    (:func:`salesnb.metrics.landing.scope_landing`); ``{}`` when it is not running."""
    return landing.scope_landing(src, filters, _period_of(filters), as_of, target)


def _forecast(reader, filters: Filters, period: Period, as_of: date, raw_as_of, revenue, target):
    """``(forecast, landing figures)``: the revenue once the period is complete, nothing before
    it starts, the landing while it runs (``landing_state`` says which)."""
    if as_of >= period.last_day:
        return revenue, {"landing_state": "complete"}
    if as_of < period.start:
        return None, {"landing_state": "not started"}
    try:
        figures = landing_figures(reader.src, filters, raw_as_of, target)
    except (ModelError, FitError, ValueError) as exc:  # the other cards still show
        return None, {"landing_state": "running", "landing_note": str(exc)}
    return figures.get("landing_forecast"), {"landing_state": "running", **figures}


def _ratio(num, den):
    if num is None or den is None or not den or (isinstance(den, float) and math.isnan(den)):
        return None
    return float(num) / float(den)


def _none_if_nan(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


# the landing's figures an executive board shows beside ``forecast`` (None when not running)
LANDING_KEYS = (
    "landing_state",
    "period_to_date",
    "landing_low",
    "landing_high",
    "landing_method",
    "landing_interval_level",
    "gap_to_target",
    "landing_prob_target",
    "landing_mape",
    "landing_note",
)


# -- the live reader ----------------------------------------------------------------------------
class LiveReader:
    """What the dashboard figures read, asked of the engine each time (the studies' queries).

    :class:`~salesnb.dashboards.cube.CubeReader` answers the same questions from small cubes
    held in memory; the figures functions take either.
    """

    def __init__(self, src: Source):
        self.src = src

    def data_end(self) -> date | None:
        return data_end(self.src)

    def has(self, *tables: str) -> bool:
        return self.src.has(*tables)

    def has_discounts(self) -> bool:
        return self.src.has("reps") and self.src.has_column("opportunities", "discount")

    def total_revenue(self, filters: Filters, end: date | None = None) -> float:
        return queries.total_revenue(self.src, filters, end=end)

    def monthly_revenue(self, filters: Filters) -> pd.DataFrame:
        return queries.revenue_by(self.src, filters, by=["month"], distinct=False)[
            ["month", "revenue"]
        ]

    def revenue_by_channel(self, filters: Filters) -> pd.DataFrame:
        return queries.revenue_by(self.src, filters, by=["channel"])

    def target(self, period: Period, filters: Filters) -> float | None:
        return target_for(self.src, period, filters)

    def closed_deals(self, filters: Filters) -> tuple[int, int, float]:
        """(won, closed, won amount) of deals closed in the period."""
        closed = qfun.closed_deal_counts(self.src, filters)
        return (
            int(closed["won"].iloc[0]),
            int(closed["closed"].iloc[0]),
            float(closed["won_amount"].iloc[0]),
        )

    def open_pipeline(self, filters: Filters, as_of: date) -> pd.DataFrame:
        return qfun.open_pipeline(self.src, filters, as_of=as_of)

    def discount_breaches(self, filters: Filters) -> int:
        return int(len(perf.discount_breaches(qperf.won_deals_with_discount(self.src, filters))))

    def stage_flow(self, filters: Filters) -> pd.DataFrame:
        return qfun.stage_flow(self.src, filters, end=filters.end)


# -- executive figures --------------------------------------------------------------------------
def executive_figures(src: Source, filters: Filters, as_of: date | None = None) -> dict:
    """Headline figures of the executive dashboard for one filter set.

    Keys: ``period, as_of, revenue, target, attainment, forecast, forecast_attainment,
    closed_deals, deals_won, deals_lost, won_amount, win_rate, open_pipeline, coverage_target,
    pipeline_coverage, coverage_basis, discount_breaches``. Missing inputs (no targets, no
    opportunities, a channel filter) give None for the figures that need them.

    Win rate, open pipeline and coverage follow the funnel study (``queries.funnel`` +
    ``metrics.funnel``): open deals on the day the period is seen at
    (:func:`salesnb.model.periods.as_of_day` of ``as_of`` and the end of the data) valued
    (missing amounts at the average won deal) over the target still to win
    (:func:`salesnb.metrics.funnel.coverage_period`: this period's target minus won amount
    while the period runs, the next period's target once it is complete; the won amount when
    there is no target).
    """
    return figures_from(LiveReader(src), filters, as_of)


def figures_from(reader, filters: Filters, as_of: date | None = None) -> dict:
    """:func:`executive_figures` read through a :class:`LiveReader` or a ``CubeReader``."""
    period = _period_of(filters)
    raw_as_of = as_of
    as_of = as_of_day(period, as_of, reader.data_end() if as_of is None else None)
    revenue = reader.total_revenue(filters)
    target = reader.target(period, filters)
    forecast, land = _forecast(reader, filters, period, as_of, raw_as_of, revenue, target)
    out = {
        "period": period.label,
        "as_of": as_of.isoformat(),
        "revenue": revenue,
        "target": target,
        "attainment": _ratio(revenue, target),
        "forecast": forecast,
        "forecast_attainment": _ratio(forecast, target),
        **{k: land.get(k) for k in LANDING_KEYS},
        "closed_deals": None,
        "deals_won": None,
        "deals_lost": None,
        "won_amount": None,
        "win_rate": None,
        "open_pipeline": None,
        "coverage_target": None,
        "pipeline_coverage": None,
        "coverage_basis": None,
        "discount_breaches": None,
    }
    if reader.has("opportunities"):
        won, n_closed, won_amount = reader.closed_deals(filters)
        avg_won = won_amount / won if won else math.nan
        open_value = float(
            fun.value_open_pipeline(reader.open_pipeline(filters, as_of), avg_won)["value"].sum()
        )
        target_period, in_progress = fun.coverage_period(period, as_of)
        cov_target = reader.target(target_period, filters)
        coverage = fun.coverage_against(
            open_value, cov_target, won_amount, in_progress, target_period.label
        )
        out.update(
            closed_deals=n_closed,
            deals_won=won,
            deals_lost=n_closed - won,
            won_amount=won_amount,
            win_rate=_none_if_nan(fun.win_rate(won, n_closed)),
            open_pipeline=open_value,
            coverage_target=cov_target,
            pipeline_coverage=_none_if_nan(coverage["coverage"]),
            coverage_basis=coverage["basis"],
        )
        if reader.has_discounts():
            out["discount_breaches"] = reader.discount_breaches(filters)
    return out


def monthly_revenue(src: Source, filters: Filters) -> pd.DataFrame:
    """Revenue per month of the period (columns ``month, revenue``)."""
    return LiveReader(src).monthly_revenue(filters)


def channel_mix(src: Source, filters: Filters) -> pd.DataFrame:
    """Revenue, share and growth per channel (``metrics.channels.channel_summary``), largest
    first."""
    return channel_mix_from(LiveReader(src), filters)


def channel_mix_from(reader, filters: Filters) -> pd.DataFrame:
    """:func:`channel_mix` read through a reader (a ``CubeReader`` gives the revenue columns
    only: ``channel, revenue, share, prior_revenue, growth, prior_share, share_change``)."""
    now = reader.revenue_by_channel(filters)
    prior = reader.revenue_by_channel(filters.with_period(_period_of(filters).shift_years(-1)))
    mix = chan.channel_summary(now, prior)
    dropped = getattr(reader, "missing_channel_columns", ())
    return mix[[c for c in mix.columns if c not in dropped]]


def funnel_steps(src: Source, filters: Filters) -> pd.DataFrame:
    """Deals entering each working stage, then won (``step, count, step_conversion``).

    As the funnel study: the stage flow of deals created up to the period end
    (``queries.funnel.stage_flow`` + ``metrics.funnel.stage_conversion``) and, from the same
    deals, those won (``metrics.funnel.flow_won``), so every step converts from the one
    before. Empty without opportunities and stage_history.
    """
    return funnel_steps_from(LiveReader(src), filters)


def funnel_steps_from(reader, filters: Filters) -> pd.DataFrame:
    """:func:`funnel_steps` read through a :class:`LiveReader` or a ``CubeReader``."""
    if not reader.has("opportunities", "stage_history"):
        return pd.DataFrame(columns=["step", "count", "step_conversion"])
    flow = reader.stage_flow(filters)
    if flow.empty:
        return pd.DataFrame(columns=["step", "count", "step_conversion"])
    conversion = fun.stage_conversion(flow)
    return fun.funnel_counts(conversion, won=fun.flow_won(flow), won_scope="stages")


# -- alerts ---------------------------------------------------------------------------------------
ALERT_FIGURES = {  # dashboard figure -> (study, key) of the report's alert rules
    "attainment": ("performance", "attainment_company"),
    "pipeline_coverage": ("funnel", "pipeline_coverage"),
    "discount_breaches": ("performance", "discount_breaches"),
}


def current_alerts(figures: Mapping, rules: list[dict] | None = None) -> list[dict]:
    """The report's alert rules (``salesnb/alerts/default.yaml``) that fire on these figures.

    Each result is the rule with ``actual`` and ``status == "alert"``; rules about studies or
    keys the dashboard does not compute are left out.
    """
    from salesnb import alerts

    rules = alerts.load_alert_rules() if rules is None else rules
    by_study: dict[str, dict] = {}
    for fig_key, (study_id, key) in ALERT_FIGURES.items():
        by_study.setdefault(study_id, {})[key] = figures.get(fig_key)
    return [r for r in alerts.evaluate_alerts(rules, by_study) if r["status"] == "alert"]


# -- team figures -------------------------------------------------------------------------------
SCORECARD_COLUMNS = [
    "rep_id",
    "name",
    "team",
    "region",
    "revenue",
    "target",
    "attainment",
    "closed",
    "won",
    "win_rate",
    "cycle_days",
    "won_deals_priced",
    "discount_breaches",
    "discount_compliance",
]


def rep_scorecard(
    src: Source, filters: Filters, authority: Mapping[str, float] = DEFAULT_DISCOUNT_AUTHORITY
) -> pd.DataFrame:
    """One row per rep in scope, built with the performance study's queries and metrics.

    Columns: ``rep_id, name, team, region, revenue`` (orders in the period and filters),
    ``target, attainment`` (rep targets; none under a channel filter:
    :func:`salesnb.metrics.performance.no_target_reason`),
    ``closed, won, win_rate`` and ``cycle_days`` (mean days
    from creation to close of deals closed in the period, won or lost), ``won_deals_priced,
    discount_breaches,
    discount_compliance`` (share of won deals with a discount within ``authority[role]``).
    Reps are those of the team filter (and of the region filter, by the rep's region) plus any
    rep with sales in the filters. Sorted by revenue, largest first.
    """
    if not src.has("reps"):
        raise ParameterError(_("the team dashboard needs the reps table"))
    period = _period_of(filters)
    reps = qperf.reps_frame(src, filters)
    sales = qperf.rep_sales(src, filters)
    if filters.region:
        reps = reps[
            (reps["region"].astype(str) == filters.region) | reps["rep_id"].isin(sales["rep_id"])
        ]
    targets = None
    if src.has("targets") and not perf.no_target_reason(filters):
        targets = perf.resolve_targets(
            qperf.targets_frame(src, levels=("rep",)), period, "rep", whole_period=True
        )
    deals = qperf.closed_deals_by_rep(src, filters) if src.has("opportunities") else None
    card = perf.rep_scorecard(reps, sales, targets=targets, deals=deals)
    card = card[card["rep_id"].isin(reps["rep_id"])]
    card["won_deals_priced"] = 0
    card["discount_breaches"] = 0
    if src.has("opportunities") and src.has_column("opportunities", "discount"):
        won = qperf.won_deals_with_discount(src, filters)
        won = won[won["discount"].notna()]
        priced = won.groupby("rep_id").size()
        breaches = perf.discount_breaches(won, authority=dict(authority)).groupby("rep_id").size()
        card["won_deals_priced"] = card["rep_id"].map(priced).fillna(0).astype("int64")
        card["discount_breaches"] = card["rep_id"].map(breaches).fillna(0).astype("int64")
    priced_n = card["won_deals_priced"].where(card["won_deals_priced"] > 0)
    card["discount_compliance"] = 1 - card["discount_breaches"] / priced_n
    card = card.sort_values(["revenue", "rep_id"], ascending=[False, True]).reset_index(drop=True)
    return card[SCORECARD_COLUMNS]


def rep_detail(
    src: Source, filters: Filters, rep_id: str, months: int = 12, as_of: date | None = None
) -> dict:
    """One rep: monthly revenue over the ``months`` ending with the period, and open deals now.

    Returns ``{"monthly": DataFrame[month, revenue], "open_deals": DataFrame[opportunity_id,
    stage, amount, age_days]}`` (open deals on the day the period is seen at,
    :func:`salesnb.model.periods.as_of_day` of ``as_of`` and the end of the data; top 10 by
    amount).
    """
    period = _period_of(filters)
    start = (pd.Timestamp(period.end) - pd.DateOffset(months=months)).date()
    o = queries.filtered_orders(src, filters, start=start, end=period.end)
    o = o.filter(o.rep_id == ibis.literal(str(rep_id)))
    o = o.mutate(month=o.order_date.cast("date").truncate("M"))
    monthly = o.group_by("month").aggregate(revenue=o.net_amount.sum()).execute()
    monthly["month"] = pd.to_datetime(monthly["month"])
    monthly["revenue"] = monthly["revenue"].astype("float64")
    monthly = monthly.sort_values("month").reset_index(drop=True)
    open_deals = pd.DataFrame(columns=["opportunity_id", "stage", "amount", "age_days"])
    if src.has("opportunities"):
        day = as_of_day(period, as_of, data_end(src))
        snap = queries.pipeline_snapshot(
            src, day, Filters(region=filters.region, team=filters.team)
        )
        snap = snap[snap["rep_id"].astype(str) == str(rep_id)]
        cols = [c for c in ("opportunity_id", "stage", "amount", "age_days") if c in snap.columns]
        open_deals = (
            snap.sort_values("amount", ascending=False).head(10)[cols].reset_index(drop=True)
        )
    return {"monthly": monthly, "open_deals": open_deals}


def rep_ids(src: Source) -> list[str]:
    """Every rep_id in the reps table (the values a ``rep=`` URL parameter may take)."""
    return queries.distinct_values(src, "reps", "rep_id")
