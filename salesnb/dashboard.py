"""Manager dashboards: the numbers they show, the boards that draw them, the Voilà server.

Three parts:

1. **Figures per filter set** (pure reads, no widgets): :func:`executive_figures`
   (revenue, target, attainment, forecast to period end, pipeline coverage, win
   rate), :func:`funnel_steps`, :func:`channel_mix`, :func:`current_alerts`,
   :func:`rep_scorecard`, :func:`rep_detail`. Tests compare them with
   independent queries; the dashboards show exactly these numbers (each KPI is
   rendered as ``<span data-kpi="revenue" data-value="...">``).
   Each reads through a *reader*: :class:`LiveReader` asks the engine every time
   (the studies' queries); :class:`CubeReader`, which the executive board uses,
   answers the same questions from small cubes the engine aggregates once per
   kernel (while Voilà preheats it), so a filter change sums a few thousand rows
   in memory instead of running ~10 queries. ``figures_from(reader, ...)`` is the
   one composition both share; the tests check both readers give the same numbers.
2. **Boards** (:func:`executive`, :func:`team`): the shared filter panel
   (:mod:`salesnb.widgets`) plus one HTML widget per section; a filter change
   redraws every section, the KPI tiles first. Charts are small SVG documents drawn
   from the data in the house colours (:func:`svg_column_chart`, :func:`svg_bar_chart`;
   a matplotlib figure costs ~100 ms per chart and redraw). A failing section
   shows a short message, never a traceback; the details go to the server log (the kernel's original stderr,
   which is the Voilà process's terminal). URL parameters (``?region=East``)
   preset the filters after being validated like report parameters.
3. **The server** (:func:`serve`): Voilà over ``notebooks/dashboards`` with
   preheated kernels, idle-kernel culling, hidden code and no tracebacks, bound
   to 127.0.0.1 unless told otherwise. The warehouse reaches every notebook
   through ``SALESNB_SOURCE`` (see :func:`salesnb.config.default_source`).

The numbers come from the functions the studies use (``salesnb.queries``,
``queries.funnel``, ``queries.performance``, ``metrics.funnel``, ``metrics.performance``,
``metrics.channels``, the report's alert rules); this module only composes them.
Definitions:

- *attainment* = revenue in the period / target of the filtered scope (company,
  region or team, resolved as the performance study does; no target exists for
  a channel, so it is then blank).
- *forecast to period end* = revenue to date scaled by how much of last year's
  same period had been booked by the same day (falls back to the daily run rate
  when last year has no data); equals revenue once the period is complete.
  (Own method: the model forecasts of ``salesnb.forecast`` predict a period
  before it starts and take seconds to fit; a dashboard redraw needs milliseconds.)
- *pipeline coverage*, *win rate*: as the funnel study (see :func:`executive_figures`).
- *discount compliance* = share of won deals closed in the period whose discount
  is within the authority of the rep's role (``schema.DEFAULT_DISCOUNT_AUTHORITY``).
"""

from __future__ import annotations

import base64
import html
import io
import logging
import math
import os
import signal
import subprocess
import sys
from collections.abc import Callable, Mapping
from datetime import date
from pathlib import Path
from urllib.parse import parse_qs

import ibis
import numpy as np
import pandas as pd

from salesnb import config, queries
from salesnb.errors import ModelError, ParameterError, SalesnbError
from salesnb.metrics import channels as chan
from salesnb.metrics import funnel as fun
from salesnb.metrics import performance as perf
from salesnb.periods import Period, parse_period, quarter_of
from salesnb.plots import short_money
from salesnb.queries import funnel as qfun
from salesnb.queries import performance as qperf
from salesnb.schema import DEFAULT_DISCOUNT_AUTHORITY
from salesnb.source import Source, connect
from salesnb.study import Filters, check_filters, known_values

log = logging.getLogger("salesnb.dashboard")

VOILA_CONFIG_DIR = config.PACKAGE_DIR / "voila"
DEFAULT_PORT = 8866
DEFAULT_POOL_SIZE = 2  # preheated kernels per dashboard: two viewers at once get a ~1 s page
DEFAULT_CULL_IDLE_SECONDS = 600  # an idle viewer kernel holds ~290 MB; free it after 10 min
DEFAULT_CULL_INTERVAL_SECONDS = 60
URL_FILTERS = ("period", "region", "team", "channel")
FRIENDLY_FAILURE = (
    "This part of the dashboard could not be drawn. The details are in the server log."
)


# ================================================================================================
# Figures per filter set
# ================================================================================================
def data_end(src: Source) -> date | None:
    """The latest order date in the warehouse (the dashboards' "today")."""
    mx = src.table("orders").order_date.max().execute()
    return None if mx is None or pd.isna(mx) else pd.Timestamp(mx).date()


def current_period(src: Source) -> Period:
    """The quarter holding the latest order: what a manager opens the dashboard for."""
    end = data_end(src)
    if end is None:
        raise ParameterError("the orders table is empty: nothing to show")
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


def target_scope(filters: Filters) -> tuple[str, str] | None:
    """Which target row applies to a filter set: (level, key), or None (no channel targets)."""
    if filters.channel:
        return None
    if filters.team:
        return ("team", str(filters.team))
    if filters.region:
        return ("region", str(filters.region))
    return ("company", "all")


def target_for(src: Source, period: Period, filters: Filters) -> float | None:
    """The target of the filtered scope for ``period`` (None when not set or not applicable).

    Resolved like the performance study does (:func:`salesnb.metrics.performance.resolve_targets`:
    the period's own row, else its quarters / months summed or prorated).
    """
    scope = target_scope(filters)
    if scope is None or not src.has("targets"):
        return None
    level, key = scope
    frame = qperf.targets_frame(src, levels=(level,))
    resolved = perf.resolve_targets(frame, period.label, level)
    row = resolved[resolved["key"].astype(str) == key]
    if level == "company" and row.empty:
        row = resolved  # a company row keyed "company" or "" instead of "all"
    return float(row["target"].sum()) if len(row) else None


def forecast_to_period_end(
    src: Source, filters: Filters, period: Period, as_of: date, revenue_to_date: float
) -> float:
    """Revenue expected by the period end (see module docstring for the method)."""
    return _forecast(LiveReader(src), filters, period, as_of, revenue_to_date)


def _forecast(reader, filters: Filters, period: Period, as_of: date, revenue_to_date: float):
    if as_of >= period.last_day:
        return revenue_to_date
    if as_of < period.start:
        return 0.0
    prior = period.shift_years(-1)
    same_day = (pd.Timestamp(as_of) - pd.DateOffset(years=1)).date()
    prior_f = filters.with_period(prior)
    prior_total = reader.total_revenue(prior_f)
    prior_to_date = reader.total_revenue(
        prior_f, end=(pd.Timestamp(same_day) + pd.Timedelta(days=1)).date()
    )
    if prior_to_date > 0 and prior_total > 0:
        return revenue_to_date * prior_total / prior_to_date
    elapsed = (as_of - period.start).days + 1
    total = (period.end - period.start).days
    return revenue_to_date * total / elapsed


def _ratio(num, den):
    if num is None or den is None or not den or (isinstance(den, float) and math.isnan(den)):
        return None
    return float(num) / float(den)


class LiveReader:
    """What the dashboard figures read, asked of the engine each time (the studies' queries).

    :class:`CubeReader` answers the same questions from small cubes held in memory; the figures
    functions below take either, so both give the same numbers by construction and the tests
    compare them.
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

    def period_target(self, label: str, filters: Filters) -> float | None:
        return qfun.period_target(self.src, label, filters)

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


def executive_figures(src: Source, filters: Filters, as_of: date | None = None) -> dict:
    """Headline figures of the executive dashboard for one filter set.

    Keys: ``period, as_of, revenue, target, attainment, forecast, forecast_attainment,
    closed_deals, deals_won, deals_lost, won_amount, win_rate, open_pipeline, coverage_target,
    pipeline_coverage, coverage_basis, discount_breaches``. Missing inputs (no targets, no
    opportunities, a channel filter) give None for the figures that need them.

    Win rate, open pipeline and coverage follow the funnel study (``queries.funnel`` +
    ``metrics.funnel``): open deals on ``as_of`` valued (missing amounts at the average won
    deal) over the target still to win — this period's target minus won amount while the period
    runs, the next period's target once it is complete; the won amount when there is no target.
    """
    return figures_from(LiveReader(src), filters, as_of)


def figures_from(reader, filters: Filters, as_of: date | None = None) -> dict:
    """:func:`executive_figures` read through a :class:`LiveReader` or a :class:`CubeReader`."""
    period = _period_of(filters)
    end = reader.data_end() if as_of is None else as_of
    as_of = min(end, period.last_day) if end else period.last_day
    revenue = reader.total_revenue(filters)
    target = reader.target(period, filters)
    forecast = _forecast(reader, filters, period, as_of, revenue)
    out = {
        "period": period.label,
        "as_of": as_of.isoformat(),
        "revenue": revenue,
        "target": target,
        "attainment": _ratio(revenue, target),
        "forecast": forecast,
        "forecast_attainment": _ratio(forecast, target),
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
        in_progress = as_of < period.last_day
        target_period = period if in_progress else period.next()
        cov_target = reader.period_target(target_period.label, filters)
        remaining = (
            (cov_target - won_amount if in_progress else cov_target) if cov_target else won_amount
        )
        out.update(
            closed_deals=n_closed,
            deals_won=won,
            deals_lost=n_closed - won,
            won_amount=won_amount,
            win_rate=_none_if_nan(fun.win_rate(won, n_closed)),
            open_pipeline=open_value,
            coverage_target=cov_target,
            pipeline_coverage=_none_if_nan(fun.pipeline_coverage(open_value, remaining)),
            coverage_basis=f"target {target_period.label}" if cov_target else "won amount in scope",
        )
        if reader.has_discounts():
            out["discount_breaches"] = reader.discount_breaches(filters)
    return out


def _none_if_nan(x):
    return None if x is None or (isinstance(x, float) and math.isnan(x)) else float(x)


def _period_of(filters: Filters) -> Period:
    if filters.start is None or filters.end is None:
        raise ParameterError("a dashboard needs a period")
    for kind_label in (
        quarter_of(filters.start),
        str(filters.start.year),
        f"{filters.start.year}-{filters.start.month:02d}",
    ):
        p = parse_period(kind_label)
        if p.start == filters.start and p.end == filters.end:
            return p
    raise ParameterError(f"{filters.start}..{filters.end} is not a month, quarter or year")


def monthly_revenue(src: Source, filters: Filters) -> pd.DataFrame:
    """Revenue per month of the period (columns ``month, revenue``)."""
    return LiveReader(src).monthly_revenue(filters)


def channel_mix(src: Source, filters: Filters) -> pd.DataFrame:
    """Revenue, share and growth per channel (``metrics.channels.channel_summary``), largest
    first."""
    return channel_mix_from(LiveReader(src), filters)


def channel_mix_from(reader, filters: Filters) -> pd.DataFrame:
    """:func:`channel_mix` read through a reader (a :class:`CubeReader` gives the revenue columns
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
    """:func:`funnel_steps` read through a :class:`LiveReader` or a :class:`CubeReader`."""
    if not reader.has("opportunities", "stage_history"):
        return pd.DataFrame(columns=["step", "count", "step_conversion"])
    flow = reader.stage_flow(filters)
    if flow.empty:
        return pd.DataFrame(columns=["step", "count", "step_conversion"])
    conversion = fun.stage_conversion(flow)
    return fun.funnel_counts(conversion, won=fun.flow_won(flow), won_scope="stages")


# ================================================================================================
# Small cubes: what a redraw reads, aggregated by the engine once per kernel
# ================================================================================================
class Cube:
    """Additive measures (sums, counts) per combination of a few small dimensions.

    ``frame`` has one row per combination of ``dims`` (a day column among them) and measure
    columns that add up across rows, so summing the rows that match a filter gives the number
    the engine gives for that filter. ``select`` keeps the rows in ``[start, end)`` of
    ``day_col`` whose dimensions equal the given values; a dimension the cube does not carry is
    not filtered on (as the library queries skip a filter on a column the table lacks).

    >>> frame = pd.DataFrame({"day": pd.to_datetime(["2026-07-01", "2026-08-01"]),
    ...                       "region": ["East", "West"], "revenue": [1.0, 2.0]})
    >>> c = Cube(frame, ["day", "region"])
    >>> c.total("revenue", start=date(2026, 7, 1), end=date(2026, 10, 1), region="West")
    2.0
    """

    def __init__(self, frame: pd.DataFrame, dims, day_col: str | None = "day"):
        self.dims = list(dims)
        self.day_col = day_col if day_col in self.dims else None
        frame = frame.copy()
        for d in self.dims:
            if d != self.day_col:  # compare as text, as the queries compare with text literals
                frame[d] = [None if pd.isna(v) else str(v) for v in frame[d].astype(object)]
        if self.day_col is not None:
            # sorted by day, a date range is a slice found by binary search (missing days last)
            frame[self.day_col] = pd.to_datetime(frame[self.day_col])
            frame = frame.sort_values(self.day_col, kind="stable", na_position="last")
        self.frame = frame.reset_index(drop=True)
        self._days = self.frame[self.day_col].to_numpy("datetime64[ns]") if self.day_col else None
        self._masks: dict[tuple[str, str], np.ndarray] = {}

    def __len__(self) -> int:
        return len(self.frame)

    def _where(self, start, end, equals) -> tuple[int, int, np.ndarray | None]:
        lo, hi = 0, len(self.frame)
        if self._days is not None:
            if start is not None:
                lo = int(np.searchsorted(self._days, np.datetime64(pd.Timestamp(start)), "left"))
            if end is not None:
                hi = int(np.searchsorted(self._days, np.datetime64(pd.Timestamp(end)), "left"))
        mask = None
        for dim, value in equals.items():
            if value is None or value == "" or dim not in self.dims:
                continue
            key = (dim, str(value))
            if key not in self._masks:
                self._masks[key] = self.frame[dim].to_numpy(object) == key[1]
            m = self._masks[key][lo:hi]
            mask = m if mask is None else mask & m
        return lo, max(lo, hi), mask

    def select(self, start=None, end=None, **equals) -> pd.DataFrame:
        lo, hi, mask = self._where(start, end, equals)
        part = self.frame.iloc[lo:hi]
        return part if mask is None else part[mask]

    def total(self, measure: str, start=None, end=None, **equals) -> float:
        lo, hi, mask = self._where(start, end, equals)
        values = self.frame[measure].to_numpy("float64")[lo:hi]
        return float(np.nansum(values if mask is None else values[mask]))


def _unique_reps(src: Source) -> bool:
    """Rep attributes can be joined onto facts without duplicating rows (rep_id is a key)."""
    if not src.has("reps") or not src.has_column("reps", "rep_id"):
        return False
    r = src.table("reps")
    row = r.aggregate(n=r.count(), ids=r.rep_id.nunique()).execute().iloc[0]
    return int(row["n"]) == int(row["ids"])


def _join_rep_dims(
    src: Source, t: ibis.Table, wanted: Mapping[str, str]
) -> tuple[ibis.Table, list]:
    """Add rep attributes (``{"rep_team": "team"}``) to a fact table by ``rep_id``; the names of
    the columns added (only attributes the reps table has)."""
    if not src.has("reps") or "rep_id" not in t.columns:
        return t, []
    reps = src.table("reps")
    cols = {name: reps[col].cast("string") for name, col in wanted.items() if col in reps.columns}
    if not cols:
        return t, []
    r = reps.select(__rid=reps.rep_id, **cols)
    return t.left_join(r, t.rep_id == r["__rid"]).drop("__rid"), list(cols)


OPP_DIMS = {"rep_region": "region", "rep_team": "team"}  # filtered_opportunities: via the rep


class CubeReader:
    """The questions of :class:`LiveReader`, answered from small cubes built once per kernel.

    At start (in Voilà: while the kernel is preheated, before any viewer) the engine
    aggregates the whole history once into cubes of a few thousand rows — revenue by day x
    region x channel x team, closed deals and won-deal discounts by close day x the rep's
    region and team, the open pipeline and the stage flow at the end of ``periods`` — so a
    change of region, team or channel only sums small pandas frames. The pipeline and stage
    flow of another period are added on its first use (one query each, ~0.2 s on a million
    order lines); building them for every period up front doubles the kernel's start-up work,
    which on a busy 2-core server delays the first page more than it saves later. Same numbers
    as the library queries (sums added in another order may differ in the last bits); the tests
    compare the two readers on hand-made and demo warehouses.
    """

    missing_channel_columns = ("margin", "margin_pct", "orders", "customers", "aov")

    def __init__(self, src: Source, as_of: date | None = None, periods=()):
        self.src = src
        self._data_end: date | None = None  # asked of the engine only if needed
        self._as_of = as_of
        self._has = {
            t: src.has(t) for t in ("orders", "reps", "targets", "opportunities", "stage_history")
        }
        self._discounts = (
            self._has["reps"]
            and self._has["opportunities"]
            and src.has_column("opportunities", "discount")
        )
        self._build_orders()
        self._targets = qperf.targets_frame(src) if self._has["targets"] else None
        self._targets_text = self._targets_as_text() if self._has["targets"] else None
        self._pipeline: dict[date, Cube] = {}
        self._prepared: dict[str, tuple[str, list]] = {}  # compiled per-period queries
        self._flow: dict[date, Cube] = {}
        if self._has["opportunities"]:
            self._build_closed()
            if self._discounts:
                self._build_discounts()
            self.prepare([parse_period(p) for p in periods])

    @classmethod
    def usable(cls, src: Source) -> bool:
        """Cubes give the library's numbers only when rep attributes join without duplicates."""
        return src.has("orders") and (not src.has("reps") or _unique_reps(src))

    # -- building -------------------------------------------------------------------------------
    def _build_orders(self) -> None:
        o = self.src.table("orders")
        dims = {"day": o.order_date.cast("date")}
        for col in ("region", "channel"):
            if col in o.columns:
                dims[col] = o[col].cast("string")
        o = o.mutate(**dims)
        self._team_ok = self._has["reps"] and "rep_id" in o.columns
        added = []
        if self._team_ok:
            o, added = _join_rep_dims(self.src, o, {"__team": "team"})
        by = [*dims, *added]
        df = o.group_by(by).aggregate(revenue=o.net_amount.sum()).execute()
        df["revenue"] = df["revenue"].astype("float64")
        self.orders = Cube(
            df.rename(columns={"__team": "team"}), ["team" if d == "__team" else d for d in by]
        )

    def _build_closed(self) -> None:
        op = self.src.table("opportunities")
        op = op.mutate(__st=qfun._status(op))
        op = op.filter(op["__st"].isin(["won", "lost"]))
        amt = op.amount.cast("float64") if "amount" in op.columns else ibis.literal(0.0)
        op = op.mutate(day=op.close_date.cast("date"), __amt=amt)
        op, added = _join_rep_dims(self.src, op, OPP_DIMS)
        won = op["__st"] == "won"
        df = (
            op.group_by(["day", *added])
            .aggregate(
                closed=op.count(),
                won=won.cast("int64").sum(),
                won_amount=ibis.ifelse(won, op["__amt"], 0.0).sum(),
            )
            .execute()
        )
        for c in ("closed", "won"):
            df[c] = df[c].fillna(0).astype("int64")
        df["won_amount"] = df["won_amount"].astype("float64")
        self.closed = Cube(df, ["day", *added])

    def _build_discounts(self) -> None:
        op = self.src.table("opportunities")
        op = op.filter(op.status == "won")  # as queries.performance.won_deals_with_discount
        reps = self.src.table("reps")
        role = reps.role if "role" in reps.columns else ibis.null("string")
        r = reps.select(__rid2=reps.rep_id, role=role)
        op = op.left_join(r, op.rep_id == r["__rid2"]).drop("__rid2")
        op = op.mutate(day=op.close_date.cast("date"), discount=op.discount.cast("float64"))
        op, added = _join_rep_dims(self.src, op, OPP_DIMS)
        df = op.group_by(["day", "role", "discount", *added]).aggregate(deals=op.count()).execute()
        df["deals"] = df["deals"].astype("int64")
        df["discount"] = df["discount"].astype("float64")
        self.discounts = Cube(df, ["day", *added])

    def _targets_as_text(self) -> pd.DataFrame:
        t = self.src.table("targets")
        df = t.select(
            period=t.period.cast("string"),
            level=t.level.cast("string"),
            key=t.key.cast("string"),
            target_amount=t.target_amount.cast("float64"),
        ).execute()
        df["target_amount"] = df["target_amount"].astype("float64")
        return df

    def _pipeline_day(self, period: Period) -> date:
        end = self._as_of or self.data_end()
        return min(end, period.last_day) if end else period.last_day

    def prepare(self, periods) -> None:
        """Aggregate the pipeline and the stage flow for these periods (one query each)."""
        days, ends = self._missing(periods)
        if days:
            self._pipeline.update(self._build_pipeline(days))
        if ends:
            self._flow.update(self._build_flow(ends))

    def _missing(self, periods) -> tuple[set, set]:
        if not self._has["opportunities"]:
            return set(), set()
        days = {self._pipeline_day(p) for p in periods} - set(self._pipeline)
        ends = {p.end for p in periods} - set(self._flow) if self._has["stage_history"] else set()
        return days, ends

    def _run(self, kind: str, build, days) -> tuple[pd.DataFrame, list]:
        """Run the query ``build(days_table) -> (expr, added dims)`` for these days.

        On DuckDB the days are a registered data frame and the query is compiled once per
        kernel: a later period reuses the SQL with other days in the frame (building and
        compiling the Ibis expression takes three times longer than DuckDB takes to run it).
        No value is pasted into SQL text.
        """
        frame = pd.DataFrame({"day": pd.to_datetime(sorted(set(days)))})
        raw = self.src.con.con if getattr(self.src.con, "name", "") == "duckdb" else None
        if raw is None:
            t = ibis.memtable(frame)
            expr, added = build(t.mutate(day=t.day.cast("date")))
            return expr.execute(), added
        view = f"__salesnb_{kind}_days"
        raw.register(view, frame)
        if kind not in self._prepared:
            t = self.src.con.table(view)
            expr, added = build(t.mutate(day=t.day.cast("date")))
            self._prepared[kind] = (self.src.con.compile(expr), added)
        sql, added = self._prepared[kind]
        return raw.execute(sql).df(), added

    def _build_pipeline(self, days) -> dict:
        """``queries.funnel.open_pipeline`` on several days at once, by the rep's region and
        team."""
        src = self.src

        def build(days_t):
            op = src.table("opportunities").cross_join(days_t.select(__as_of=days_t.day))
            day = op["__as_of"]
            st = qfun._status(op)
            created_ok = op.created_date.isnull() | (op.created_date <= day)
            not_closed = (op.close_date.isnull() & (st == "open")) | (op.close_date > day)
            op = op.filter(created_ok & not_closed)
            has_amount = "amount" in op.columns
            op = op.mutate(
                __amt=op.amount.cast("float64") if has_amount else ibis.literal(None, "float64")
            )
            if self._has["stage_history"]:
                sh = src.table("stage_history").cross_join(days_t.select(__d=days_t.day))
                sh = sh.filter(sh.entered_date <= sh["__d"])
                last = sh.group_by(["opportunity_id", "__d"]).aggregate(
                    __stage_then=sh.stage.argmax(sh.entered_date)
                )
                last = last.rename(__oid="opportunity_id")
                op = op.left_join(
                    last, (op.opportunity_id == last["__oid"]) & (op["__as_of"] == last["__d"])
                ).drop("__oid", "__d")
                op = op.mutate(stage=op["__stage_then"].fill_null(op.stage.cast("string")))
            op = op.mutate(stage=op.stage.cast("string").fill_null("(no stage)"))
            op, added = _join_rep_dims(src, op, OPP_DIMS)
            expr = op.group_by(["__as_of", "stage", *added]).aggregate(
                deals=op.count(), amount=op["__amt"].sum(), with_amount=op["__amt"].count()
            )
            return expr, added

        df, added = self._run("pipeline", build, days)
        df["deals"] = df["deals"].astype("int64")
        df["with_amount"] = df["with_amount"].astype("int64")
        df["amount"] = df["amount"].astype("float64")
        df["__as_of"] = pd.to_datetime(df["__as_of"])
        return {
            d: Cube(df[df["__as_of"] == pd.Timestamp(d)].drop(columns="__as_of"), added, None)
            for d in days
        }

    def _build_flow(self, ends) -> dict:
        """``queries.funnel.stage_flow`` for several period ends at once, by the rep's region and
        team (the status of each deal and its stage entries as of each end).

        The stage entries before an end are a prefix of a deal's history ordered by entry date,
        so each entry's position and next stage are computed once over the whole history; for
        an end, the next stage counts only if it was entered before that end.
        """
        src = self.src

        def build(days_t):
            op = src.table("opportunities").cross_join(days_t.select(__e=days_t.day))
            e = op["__e"]
            op = op.filter(op.created_date < e)
            st = qfun._status(op)
            closed_by_end = op.close_date.notnull() & (op.close_date < e)
            op = op.mutate(
                __status=ibis.ifelse(st.isin(["won", "lost"]) & closed_by_end, st, "open")
            )
            op, added = _join_rep_dims(src, op, OPP_DIMS)
            deals = op.select("__e", "__status", *added, __oid=op.opportunity_id)
            sh = src.table("stage_history")
            sh = sh.filter(sh.entered_date.notnull())
            w = ibis.window(group_by=sh.opportunity_id, order_by=[sh.entered_date, sh.stage])
            sh = sh.mutate(
                __next=sh.stage.lead().over(w),
                __next_entered=sh.entered_date.lead().over(w),
                position=ibis.row_number().over(w),
            )
            sh = sh.inner_join(deals, sh.opportunity_id == deals["__oid"]).drop("__oid")
            sh = sh.filter(sh.entered_date < sh["__e"])
            sh = sh.mutate(
                next_stage=ibis.ifelse(sh["__next_entered"] < sh["__e"], sh["__next"], ibis.null())
            )
            expr = sh.group_by(["__e", "stage", "next_stage", "__status", *added]).aggregate(
                deals=sh.count(), rank_sum=sh.position.sum()
            )
            return expr, added

        df, added = self._run("flow", build, ends)
        df = df.rename(columns={"__status": "status"})
        df["deals"] = df["deals"].astype("int64")
        df["rank_sum"] = df["rank_sum"].astype("float64")
        df["__e"] = pd.to_datetime(df["__e"])
        return {
            e: Cube(df[df["__e"] == pd.Timestamp(e)].drop(columns="__e"), added, None) for e in ends
        }

    # -- the reader interface -------------------------------------------------------------------
    def data_end(self) -> date | None:
        if self._data_end is None:
            self._data_end = data_end(self.src)
        return self._data_end

    def has(self, *tables: str) -> bool:
        return all(self._has.get(t, False) or self.src.has(t) for t in tables)

    def has_discounts(self) -> bool:
        return self._discounts

    def _check_team(self, filters: Filters) -> None:
        if filters.team and "team" not in self.orders.dims:
            raise ModelError("a team filter needs the reps table and orders.rep_id")

    def _order_rows(self, filters: Filters, end=None) -> pd.DataFrame:
        self._check_team(filters)
        return self.orders.select(
            filters.start,
            end if end is not None else filters.end,
            region=filters.region,
            channel=filters.channel,
            team=filters.team,
        )

    def total_revenue(self, filters: Filters, end: date | None = None) -> float:
        self._check_team(filters)
        return self.orders.total(
            "revenue",
            filters.start,
            end if end is not None else filters.end,
            region=filters.region,
            channel=filters.channel,
            team=filters.team,
        )

    def monthly_revenue(self, filters: Filters) -> pd.DataFrame:
        rows = self._order_rows(filters)
        month = rows["day"].dt.to_period("M").dt.to_timestamp()
        df = rows.groupby(month)["revenue"].sum().rename_axis("month").reset_index()
        return df.sort_values("month").reset_index(drop=True)

    def revenue_by_channel(self, filters: Filters) -> pd.DataFrame:
        if "channel" not in self.orders.dims:
            raise ModelError("unknown dimension 'channel' for orders")
        rows = self._order_rows(filters)
        df = rows.groupby("channel", dropna=False)["revenue"].sum().reset_index()
        # distinct order and customer counts do not add up across cube cells: not shown
        return df.assign(orders=math.nan, customers=math.nan)

    def target(self, period: Period, filters: Filters) -> float | None:
        scope = target_scope(filters)
        if scope is None or self._targets is None:
            return None
        level, key = scope
        resolved = perf.resolve_targets(self._targets, period.label, level)
        row = resolved[resolved["key"].astype(str) == key]
        if level == "company" and row.empty:
            row = resolved
        return float(row["target"].sum()) if len(row) else None

    def period_target(self, label: str, filters: Filters) -> float | None:
        t = self._targets_text
        if t is None:
            return None
        level, key = "company", None
        if filters is not None and filters.team:
            level, key = "team", filters.team
        elif filters is not None and filters.region:
            level, key = "region", filters.region
        rows = t[(t["period"] == str(label)) & (t["level"] == level)]
        if key is not None:
            rows = rows[rows["key"] == str(key)]
        amounts = rows["target_amount"].dropna()
        return float(amounts.sum()) if len(amounts) else None

    def _opp(self, filters: Filters) -> dict:
        return {"rep_region": filters.region, "rep_team": filters.team}

    def closed_deals(self, filters: Filters) -> tuple[int, int, float]:
        scope = dict(start=filters.start, end=filters.end, **self._opp(filters))
        return (
            int(self.closed.total("won", **scope)),
            int(self.closed.total("closed", **scope)),
            self.closed.total("won_amount", **scope),
        )

    def open_pipeline(self, filters: Filters, as_of: date) -> pd.DataFrame:
        if as_of not in self._pipeline:
            self._pipeline.update(self._build_pipeline({as_of}))
        rows = self._pipeline[as_of].select(**self._opp(filters))
        df = rows.groupby("stage", as_index=False)[["deals", "amount", "with_amount"]].sum()
        return df.sort_values("stage").reset_index(drop=True)

    def discount_breaches(self, filters: Filters) -> int:
        rows = self.discounts.select(filters.start, filters.end, **self._opp(filters))
        rows = rows.reset_index(drop=True).assign(opportunity_id=lambda d: d.index.astype(str))
        return int(perf.discount_breaches(rows)["deals"].sum())

    def stage_flow(self, filters: Filters) -> pd.DataFrame:
        end = filters.end
        if end not in self._flow:
            self._flow.update(self._build_flow({end}))
        rows = self._flow[end].select(**self._opp(filters))
        df = rows.groupby(["stage", "next_stage", "status"], dropna=False, as_index=False)[
            ["deals", "rank_sum"]
        ].sum()
        # from here on exactly as queries.funnel.stage_flow
        df["deals"] = df["deals"].astype("int64")
        tot = df.groupby("stage")[["rank_sum", "deals"]].transform("sum")
        df["mean_rank"] = tot["rank_sum"].astype(float) / tot["deals"]
        df["next_stage"] = df["next_stage"].astype(object).where(df["next_stage"].notna(), None)
        return (
            df.drop(columns="rank_sum").sort_values(["mean_rank", "stage"]).reset_index(drop=True)
        )


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
    from salesnb import report

    rules = report.load_alert_rules() if rules is None else rules
    by_study: dict[str, dict] = {}
    for fig_key, (study_id, key) in ALERT_FIGURES.items():
        by_study.setdefault(study_id, {})[key] = figures.get(fig_key)
    return [r for r in report.evaluate_alerts(rules, by_study) if r["status"] == "alert"]


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
    ``target, attainment`` (rep targets), ``closed, won, win_rate`` and ``cycle_days`` (mean days
    from creation to close of deals won in the period), ``won_deals_priced, discount_breaches,
    discount_compliance`` (share of won deals with a discount within ``authority[role]``).
    Reps are those of the team filter (and of the region filter, by the rep's region) plus any
    rep with sales in the filters. Sorted by revenue, largest first.
    """
    if not src.has("reps"):
        raise ParameterError("the team dashboard needs the reps table")
    period = _period_of(filters)
    reps = qperf.reps_frame(src, filters)
    sales = qperf.rep_sales(src, filters)
    if filters.region:
        reps = reps[
            (reps["region"].astype(str) == filters.region) | reps["rep_id"].isin(sales["rep_id"])
        ]
    targets = None
    if src.has("targets"):
        targets = perf.resolve_targets(
            qperf.targets_frame(src, levels=("rep",)), period.label, "rep"
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


def rep_detail(src: Source, filters: Filters, rep_id: str, months: int = 12) -> dict:
    """One rep: monthly revenue over the ``months`` ending with the period, and open deals now.

    Returns ``{"monthly": DataFrame[month, revenue], "open_deals": DataFrame[opportunity_id,
    stage, amount, age_days]}`` (open deals on the period's last day or the data end, top 10 by
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
        end = data_end(src)
        day = min(end, period.last_day) if end else period.last_day
        snap = queries.pipeline_snapshot(
            src, day, Filters(region=filters.region, team=filters.team)
        )
        snap = snap[snap["rep_id"].astype(str) == str(rep_id)]
        cols = [c for c in ("opportunity_id", "stage", "amount", "age_days") if c in snap.columns]
        open_deals = (
            snap.sort_values("amount", ascending=False).head(10)[cols].reset_index(drop=True)
        )
    return {"monthly": monthly, "open_deals": open_deals}


# ================================================================================================
# URL parameters
# ================================================================================================
def url_parameters(
    query_string: str | None,
    src: Source,
    allowed=URL_FILTERS,
    extra: Mapping[str, list[str]] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Validate filters given in the page URL (``region=East&period=2026-Q2``).

    Returns (valid values, problems). Each problem is one sentence for people naming the
    parameter and what is accepted; an invalid value is dropped (the dashboard keeps its
    default). ``extra`` maps further parameter names to their known values (e.g. ``rep``).
    Voilà's own parameters (``voila-template``, ``theme``...) are ignored.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    extra = dict(extra or {})
    parsed = parse_qs(query_string or "", keep_blank_values=True)
    names = list(allowed) + list(extra)
    for name, given in parsed.items():
        if name in ("template", "theme", "token") or name.startswith("voila"):
            continue
        if name not in names:
            problems.append(
                f"unknown URL parameter {name[:40]!r}; known parameters: {', '.join(names)}"
            )
            continue
        value = given[-1].strip()
        if value in ("", "all", "All"):
            values[name] = ""
            continue
        try:
            if name == "period":
                values[name] = parse_period(value).label
            elif name in extra:
                if value not in extra[name]:
                    shown = ", ".join(extra[name][:30]) or "(none)"
                    raise ParameterError(f"unknown {name} {value[:60]!r}; known values: {shown}")
                values[name] = value
            else:
                check_filters(src, **{name: value})
                values[name] = value
        except ParameterError as exc:
            problems.append(str(exc))
    return values, problems


def request_query_string() -> str:
    """The page URL's query string in a Voilà kernel ("" in JupyterLab or papermill).

    A preheated kernel runs the notebook before any viewer asks for it, so the query string
    does not exist yet: ``voila.utils.wait_for_request`` blocks until Voilà hands the
    kernel to a request and puts the request's details into the environment. In a normal
    (not preheated) kernel Voilà sets ``QUERY_STRING`` at start and the wait returns at once.
    """
    if os.environ.get("VOILA_PREHEAT") == "True":
        from voila.utils import wait_for_request

        wait_for_request()
    return os.environ.get("QUERY_STRING", "")


# ================================================================================================
# Rendering helpers (HTML for widgets; every value from data is escaped)
# ================================================================================================
STYLE = """<style>
.snb-kpis{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}
.snb-kpi{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px;background:#fafafa}
.snb-kpi-label{font-size:12px;color:#555}.snb-kpi-value{font-size:22px;font-weight:600}
.snb-kpi-sub{font-size:11px;color:#777}
.snb-message{border-left:4px solid #E15759;background:#fdf0f0;padding:8px 12px;margin:6px 0}
.snb-alert{border-left:4px solid #EDC948;background:#fffbe8;padding:6px 12px;margin:4px 0}
.snb-ok{color:#59A14F}
table.snb-table{border-collapse:collapse;font-size:13px}
table.snb-table th,table.snb-table td{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}
table.snb-table th:first-child,table.snb-table td:first-child{text-align:left}
</style>"""


def esc(v) -> str:
    return html.escape(str(v), quote=True)


def fmt_money(x, currency: str = "") -> str:
    if x is None or (isinstance(x, float) and math.isnan(x)):
        return "–"
    a = abs(x)
    s = (
        f"{x / 1e9:.2f}B"
        if a >= 1e9
        else f"{x / 1e6:.2f}M"
        if a >= 1e6
        else f"{x / 1e3:.1f}k"
        if a >= 1e3
        else f"{x:.0f}"
    )
    return f"{s} {currency}".strip()


def fmt_pct(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.1%}"


def fmt_times(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.2f}x"


def fmt_days(x) -> str:
    return "–" if x is None or (isinstance(x, float) and math.isnan(x)) else f"{x:.0f} d"


def _data_value(x) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return ""
    return repr(round(float(x), 6))


def kpi_html(key: str, label: str, value, text: str, sub: str = "") -> str:
    return (
        f'<div class="snb-kpi"><div class="snb-kpi-label">{esc(label)}</div>'
        f'<div class="snb-kpi-value"><span data-kpi="{esc(key)}" data-value="{esc(_data_value(value))}">'
        f'{esc(text)}</span></div><div class="snb-kpi-sub">{esc(sub)}</div></div>'
    )


def message_html(text: str, problem: str = "") -> str:
    return f'<div class="snb-message" role="alert" data-problem="{esc(problem)}">{esc(text)}</div>'


# ---- charts as SVG ---------------------------------------------------------------------------------
# Redraws must take milliseconds; a matplotlib figure takes ~100 ms to draw and encode, so the
# dashboards draw their bar charts as small SVG documents in the house colours and fonts. They
# travel as <img> data URLs: no script can run inside, nothing is fetched, the page works offline.
FONT = "DejaVu Sans, Verdana, sans-serif"
BAR_BLUE = "#4E79A7"
TARGET_RED = "#E15759"
GRID = "#e6e6e6"
INK = "#262626"


_money_tick = short_money


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about ``n`` of them).

    >>> nice_ticks(47.3)
    [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    """
    if not top or top <= 0 or math.isnan(top):
        return [0.0, 1.0]
    raw = top / n
    mag = 10.0 ** math.floor(math.log10(raw))
    step = next(m * mag for m in (1, 2, 2.5, 5, 10) if m * mag >= raw)
    count = math.ceil(top / step - 1e-9)
    return [round(i * step, 10) for i in range(count + 1)]


def _text_width(text: str, size: float) -> float:
    return 0.62 * size * len(text)


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{FONT}" fill="{INK}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="{width / 2:.1f}" y="18" font-size="13" font-weight="bold" '
        f'text-anchor="middle">{esc(title)}</text>{"".join(body)}</svg>'
    )


def svg_column_chart(
    labels: list[str],
    values: list[float],
    title: str,
    y_label: str,
    tick=_money_tick,
    reference: float | None = None,
    reference_label: str = "",
    bar_label: str = "",
    color: str = BAR_BLUE,
    width: float = 600,
    height: float = 260,
) -> str:
    """Vertical bars (one per label) with a y axis, gridlines and an optional dashed reference
    line; returns the SVG document."""
    rotate = len(labels) > 6
    left, right, top, bottom = 74, 14, 48, 62 if rotate else 36
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for v in values if v is not None and not math.isnan(v)]
    ticks = nice_ticks(max([*finite, reference or 0.0, 0.0]))
    y_max = ticks[-1] or 1.0

    def y(v: float) -> float:
        return top + plot_h * (1 - max(v, 0.0) / y_max)

    body = []
    for t in ticks:
        body.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 6}" y="{y(t) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{esc(tick(t))}</text>'
        )
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        if v is not None and not math.isnan(v) and v > 0:
            body.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar_w:.1f}" '
                f'height="{top + plot_h - y(v):.1f}" fill="{color}"><title>{esc(label)}: '
                f"{esc(tick(v))}</title></rect>"
            )
        cx, ly = left + i * slot + slot / 2, top + plot_h + 15
        if rotate:
            body.append(
                f'<text x="{cx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="end" '
                f'transform="rotate(-45 {cx:.1f} {ly:.1f})">{esc(label)}</text>'
            )
        else:
            body.append(
                f'<text x="{cx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="middle">'
                f"{esc(label)}</text>"
            )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{top + plot_h:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="#999"/>'
    )
    legend = [(bar_label, f'<rect width="14" height="8" y="-7" fill="{color}"/>')]
    if reference is not None and not math.isnan(reference):
        ry = y(reference)
        body.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{ry:.1f}" y2="{ry:.1f}" '
            f'stroke="{TARGET_RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        legend.append(
            (
                reference_label,
                f'<line x1="0" x2="14" y1="-3" y2="-3" stroke="{TARGET_RED}" '
                f'stroke-width="1.5" stroke-dasharray="4 2"/>',
            )
        )
    legend = [(text, mark) for text, mark in legend if text]
    if len(legend) > 1:  # one row under the title, right-aligned
        lx = left + plot_w
        for text, mark in reversed(legend):
            lx -= _text_width(text, 10) + 30
            body.append(
                f'<g transform="translate({lx:.1f},{top - 8})">{mark}'
                f'<text x="20" y="0" font-size="10">{esc(text)}</text></g>'
            )
    cy = top + plot_h / 2
    body.append(
        f'<text x="14" y="{cy:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {cy:.1f})">{esc(y_label)}</text>'
    )
    return _svg(width, height, body, title)


def svg_bar_chart(
    labels: list[str],
    values: list[float],
    title: str,
    x_label: str,
    tick=lambda v: f"{v:,.0f}",
    value_labels: list[str] | None = None,
    colors: list[str] | None = None,
    width: float = 600,
) -> str:
    """Horizontal bars (first label on top) with an x axis and a text label after each bar;
    returns the SVG document."""
    row = 26
    left = min(max([_text_width(str(s), 11) for s in labels] + [40]) + 16, 220)
    right, top, bottom = 16, 30, 44
    value_labels = value_labels or [tick(v) for v in values]
    # room after the longest bar for its label
    label_room = max([_text_width(t, 10) for t in value_labels] + [0]) + 8
    plot_w = width - left - right - label_room
    height = top + bottom + row * max(len(labels), 1)
    finite = [v for v in values if v is not None and not math.isnan(v)]
    ticks = nice_ticks(max([*finite, 0.0]), n=4)
    x_max = ticks[-1] or 1.0

    def x(v: float) -> float:
        return left + plot_w * max(v, 0.0) / x_max

    body = []
    base = top + row * len(labels)
    for t in ticks:
        body.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{base}" stroke="{GRID}"/>'
            f'<text x="{x(t):.1f}" y="{base + 14}" font-size="11" text-anchor="middle">'
            f"{esc(tick(t))}</text>"
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y0 = top + i * row
        color = colors[i] if colors else BAR_BLUE
        v = 0.0 if v is None or math.isnan(v) else v
        body.append(
            f'<text x="{left - 6}" y="{y0 + row / 2 + 4:.1f}" font-size="11" '
            f'text-anchor="end">{esc(label)}</text>'
            f'<rect x="{left}" y="{y0 + 4}" width="{x(v) - left:.1f}" height="{row - 8}" '
            f'fill="{color}"><title>{esc(label)}: {esc(value_labels[i])}</title></rect>'
            f'<text x="{x(v) + 4:.1f}" y="{y0 + row / 2 + 4:.1f}" font-size="10">'
            f"{esc(value_labels[i])}</text>"
        )
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="#999"/>')
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" font-size="11" '
        f'text-anchor="middle">{esc(x_label)}</text>'
    )
    return _svg(width, height, body, title)


def svg_html(svg: str, name: str, alt: str) -> str:
    """An SVG document as an inline image (a data URL: no file, no network, no script)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img data-chart="{esc(name)}" alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}"/>'
    )


def table_html(
    df: pd.DataFrame,
    formats: Mapping[str, Callable],
    key_col: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    labels = labels or {}
    cols = list(formats)
    head = "".join(f"<th>{esc(labels.get(c, c))}</th>" for c in cols)
    rows = []
    for rec in df.to_dict("records"):
        attr = f' data-{esc(key_col.replace("_", "-"))}="{esc(rec[key_col])}"' if key_col else ""
        cells = "".join(
            f'<td data-col="{esc(c)}" data-value="{esc(_cell_value(rec[c]))}">{esc(formats[c](rec[c]))}</td>'
            for c in cols
        )
        rows.append(f"<tr{attr}>{cells}</tr>")
    return f'<table class="snb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _cell_value(v) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _data_value(v)
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)


# ================================================================================================
# Boards
# ================================================================================================
def _server_log() -> logging.Logger:
    """Send dashboard log records to the server's terminal, never to the viewer's page.

    In a kernel ``sys.stderr`` is forwarded to the page; its ``fileno()`` is a copy of the
    original stderr (the Voilà process's), so writing there reaches only the server log.
    """
    if not any(getattr(h, "_salesnb", False) for h in log.handlers):
        try:
            fd = os.dup(sys.stderr.fileno())
            stream = open(fd, "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
        except (OSError, ValueError, io.UnsupportedOperation):
            stream = sys.__stderr__
        handler = logging.StreamHandler(stream)
        handler._salesnb = True
        handler.setFormatter(
            logging.Formatter("[%(levelname).1s %(asctime)s %(name)s] %(message)s")
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


class Board:
    """A dashboard: a filter panel, a status line and named HTML sections redrawn together."""

    def __init__(self, name: str, src: Source | None, panel=None, currency: str = ""):
        import ipywidgets as w

        self.name = name
        self.src = src
        self.panel = panel
        self.currency = currency
        self.status = w.HTML(value="")
        self.status.add_class("snb-status")
        self.header = w.HTML(value=STYLE)
        self.sections: dict[str, w.HTML] = {}
        self._renderers: dict[str, Callable[[Filters], str]] = {}
        self._problems: list[str] = []
        self._cache: dict = {}
        self.redraws = 0
        if panel is not None:
            panel.on_change(lambda _f: self.redraw())

    def section(self, name: str, render: Callable[[Filters], str], memo: bool = False):
        """Add a section drawn by ``render(filters) -> html``; ``memo``: keep its HTML per filter set
        (charts take far longer to draw than their numbers take to compute)."""
        import ipywidgets as w

        if memo:
            self._renderers[name] = lambda f: self.cached(("html", name, f), lambda: render(f))
        else:
            self._renderers[name] = render
        self.sections[name] = w.HTML(value="")
        self.sections[name].add_class(f"snb-section-{name}")
        return self.sections[name]

    def cached(self, key, compute):
        """Memoize a computation per filter set (a viewer flipping filters back is instant)."""
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]

    def fail(self, text: str, problem: str = "") -> None:
        self._problems.append(message_html(text, problem))
        self.status.value = "".join(self._problems)

    def redraw(self) -> None:
        """Redraw every section for the panel's current filters; errors become short messages."""
        if self.panel is None:
            return
        try:
            filters = self.panel.filters
        except SalesnbError as exc:
            self.fail(str(exc))
            return
        for name, render in self._renderers.items():
            try:
                self.sections[name].value = render(filters)
            except SalesnbError as exc:
                self.sections[name].value = message_html(str(exc), name)
            except Exception:
                _server_log().exception(
                    "dashboard %s: section %s failed for %s", self.name, name, filters
                )
                self.sections[name].value = message_html(FRIENDLY_FAILURE, name)
        self.redraws += 1

    def apply_url(self, extra: Mapping[str, list[str]] | None = None) -> dict[str, str]:
        """Preset filters from the page URL (validated); problems become friendly messages."""
        try:
            qs = request_query_string()
            if self.src is None or self.panel is None:
                return {}
            values, problems = url_parameters(qs, self.src, extra=extra)
            for p in problems:
                self.fail(f"Link parameter ignored: {p}.", "url")
            filters = {k: v for k, v in values.items() if k in URL_FILTERS}
            self.url_values = values
            self.panel.set(**filters)
            return values
        except Exception:
            _server_log().exception("dashboard %s: URL parameters could not be applied", self.name)
            self.fail(FRIENDLY_FAILURE, "url")
            return {}

    def show(self, name: str | None = None):
        """The widget to display: the panel with the status line, or one section."""
        import ipywidgets as w

        if name is None:
            parts = [self.header, self.status]
            if self.panel is not None:
                parts.insert(1, self.panel.widget)
            return w.VBox(parts)
        return self.sections.get(name) or w.HTML(value="")


def _open_board(
    name: str,
    source: str,
    period: str,
    as_of: str,
    region: str,
    team: str,
    channel: str,
    currency: str,
):
    """Connect and build the filter panel; errors become a Board showing the message."""
    from salesnb.study import default_currency
    from salesnb.widgets import FilterPanel

    _server_log()
    try:
        src = quiet(connect(source or None))
        choices = period_choices(src)
        default = parse_period(period).label if period else current_period(src).label
        check_filters(src, region or None, team or None, channel or None)
        panel = FilterPanel(choices, known_values(src), default, region, team, channel)
        board = Board(name, src, panel, currency or default_currency(src))
        board.as_of = pd.Timestamp(as_of).date() if as_of else None
        return board
    except SalesnbError as exc:
        board = Board(name, None)
        board.fail(str(exc), "setup")
        return board
    except Exception:
        _server_log().exception("dashboard %s could not start", name)
        board = Board(name, None)
        board.fail(FRIENDLY_FAILURE, "setup")
        return board


# ---- executive ----------------------------------------------------------------------------------
def executive(
    source: str = "",
    period: str = "",
    as_of: str = "",
    region: str = "",
    team: str = "",
    channel: str = "",
    currency: str = "",
) -> Board:
    """The executive board: headline KPIs, revenue vs target, funnel, channel mix, alerts."""
    board = _open_board("executive", source, period, as_of, region, team, channel, currency)
    if board.src is None:
        return board
    src, cur = board.src, board.currency

    as_of = board.as_of or data_end(src)  # the data's last day does not change while a page is open
    from salesnb import report

    rules = report.load_alert_rules()  # read once: parsing the YAML takes longer than the figures
    # built while Voilà preheats the kernel; other periods' pipeline and flow on first use
    board.reader = reader = open_reader(src, as_of, [board.panel.period.label])

    def figs(f: Filters) -> dict:
        return board.cached(("exec", f), lambda: figures_from(reader, f, as_of=as_of))

    def headline(f: Filters) -> str:
        x = figs(f)
        tiles = [
            kpi_html(
                "revenue",
                "Revenue",
                x["revenue"],
                fmt_money(x["revenue"], cur),
                f"{x['period']}, {f.describe()}",
            ),
            kpi_html(
                "target",
                "Target",
                x["target"],
                fmt_money(x["target"], cur),
                "no target for a channel" if f.channel else "",
            ),
            kpi_html(
                "attainment",
                "Attainment",
                x["attainment"],
                fmt_pct(x["attainment"]),
                "revenue / target",
            ),
            kpi_html(
                "forecast",
                "Forecast to period end",
                x["forecast"],
                fmt_money(x["forecast"], cur),
                f"{fmt_pct(x['forecast_attainment'])} of target; data to {x['as_of']}",
            ),
            kpi_html(
                "pipeline_coverage",
                "Pipeline coverage",
                x["pipeline_coverage"],
                fmt_times(x["pipeline_coverage"]),
                f"{fmt_money(x['open_pipeline'], cur)} open on {x['as_of']} vs {x['coverage_basis'] or '–'}",
            ),
            kpi_html(
                "win_rate",
                "Win rate",
                x["win_rate"],
                fmt_pct(x["win_rate"]),
                f"{x['deals_won'] or 0} won / {x['deals_lost'] or 0} lost",
            ),
        ]
        return f'<div class="snb-kpis">{"".join(tiles)}</div>'

    def revenue_chart(f: Filters) -> str:
        x = figs(f)
        monthly = reader.monthly_revenue(f)
        months = pd.date_range(f.start, pd.Timestamp(f.end) - pd.Timedelta(days=1), freq="MS")
        values = monthly.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        att = (
            fmt_pct(x["attainment"]) + " of target"
            if x["attainment"] is not None
            else "no target set"
        )
        svg = svg_column_chart(
            [m.strftime("%Y-%m") for m in months],
            [float(v) for v in values.values],
            title=f"{x['period']}: {fmt_money(x['revenue'], cur)} booked, {att}",
            y_label=f"Revenue ({cur})",
            reference=x["target"] / len(months) if x["target"] else None,
            reference_label="target pace per month",
            bar_label="revenue",
        )
        return svg_html(svg, "revenue", "monthly revenue against the target pace")

    def funnel_chart(f: Filters) -> str:
        steps = funnel_steps_from(reader, f)
        if steps.empty:
            return message_html(
                "No deal history (opportunities with stage_history) for these filters.", "funnel"
            )
        conv = steps["step_conversion"].iloc[1:]
        title = "From first stage to won, step by step"
        if conv.notna().any():
            i = int(conv.idxmin())
            title = (
                f"Most deals are lost between {steps['step'][i - 1]} and {steps['step'][i]} "
                f"({conv[i]:.0%} go on)"
            )
        labels = [
            f"{n:,.0f}" + (f"  ({c:.0%} of previous)" if pd.notna(c) else "")
            for n, c in zip(steps["count"], steps["step_conversion"], strict=True)
        ]
        svg = svg_bar_chart(
            [str(s) for s in steps["step"]],
            [float(n) for n in steps["count"]],
            title=title,
            x_label="Deals (created up to the period end; won = closed in the period)",
            value_labels=labels,
        )
        return svg_html(svg, "funnel", "deals entering each stage, then won")

    def channel_chart(f: Filters) -> str:
        df = channel_mix_from(reader, f)
        if df.empty:
            return message_html("No revenue in this period for these filters.", "channels")
        from salesnb.plots import color_for

        growth = df["growth"][0]
        yoy = f", {growth:+.0%} on last year" if pd.notna(growth) else ""
        svg = svg_bar_chart(
            [str(c) for c in df["channel"]],
            [float(s) for s in df["share"]],
            title=f"{df['channel'][0]} leads with {df['share'][0]:.0%} of revenue{yoy}",
            x_label="Share of revenue (%)",
            tick=lambda v: f"{v:.0%}",
            colors=[color_for(c) for c in df["channel"]],
        )
        return svg_html(svg, "channels", "share of revenue by channel")

    def alerts(f: Filters) -> str:
        items = current_alerts(figs(f), rules)
        if not items:
            return '<div class="snb-ok" data-alerts="0">No alerts for these filters.</div>'
        scope = f.describe()
        body = "".join(
            f'<div class="snb-alert" data-alert="{esc(a["key"])}">{esc(a["message"])} '
            f"({esc(a['key'])} = {esc(_short_number(a['actual']))}; {esc(scope)})</div>"
            for a in items
        )
        return f'<div data-alerts="{len(items)}">{body}</div>'

    board.section("headline", headline)
    board.section("revenue", revenue_chart, memo=True)
    board.section("funnel", funnel_chart, memo=True)
    board.section("channels", channel_chart, memo=True)
    board.section("alerts", alerts)
    board.redraw()
    return board


def quiet(src: Source) -> Source:
    """Turn off DuckDB's progress bar: in a kernel it is a widget, and a slow query would put it
    on the viewer's page (in the output of whichever cell started the query)."""
    if getattr(src.con, "name", "") == "duckdb":
        try:
            src.con.con.execute("SET enable_progress_bar = false")
        except Exception:  # an older engine without the setting shows no bar either
            pass
    return src


def open_reader(src: Source, as_of: date | None, periods=()) -> LiveReader | CubeReader:
    """The board's reader: small cubes (prepared for ``periods``) when they can be built, else
    the live queries."""
    try:
        if CubeReader.usable(src):
            return CubeReader(src, as_of=as_of, periods=list(periods))
    except Exception:  # the live queries still work; say why in the server log
        _server_log().exception("dashboard: cubes could not be built, querying live instead")
    return LiveReader(src)


def _short_number(x) -> str:
    return f"{x:.3g}" if isinstance(x, float) else str(x)


# ---- team -----------------------------------------------------------------------------------------
def team(
    source: str = "",
    period: str = "",
    as_of: str = "",
    region: str = "",
    team: str = "",
    channel: str = "",
    currency: str = "",
    rep: str = "",
) -> Board:
    """The team board: a scorecard per rep and a drill-down into one rep."""
    import ipywidgets as w

    from salesnb.widgets import rep_picker

    board = _open_board("team", source, period, as_of, region, team, channel, currency)
    if board.src is None:
        return board
    src, cur = board.src, board.currency

    def card(f: Filters) -> pd.DataFrame:
        return board.cached(("card", f), lambda: rep_scorecard(src, f))

    def scorecard(f: Filters) -> str:
        df = card(f)
        _refresh_picker(df)
        if df.empty:
            return message_html("No reps match these filters.", "scorecard")
        formats = {
            "name": str,
            "team": str,
            "revenue": lambda v: fmt_money(v, cur),
            "attainment": fmt_pct,
            "win_rate": fmt_pct,
            "cycle_days": fmt_days,
            "discount_compliance": fmt_pct,
        }
        labels = {
            "name": "Rep",
            "team": "Team",
            "revenue": f"Revenue ({cur})",
            "attainment": "Attainment",
            "win_rate": "Win rate",
            "cycle_days": "Cycle (mean)",
            "discount_compliance": "Discount compliance",
        }
        return table_html(df, formats, key_col="rep_id", labels=labels)

    board.picker = rep_picker([], None)
    board.picker.observe(lambda _c: _redraw_detail(), names="value")

    def _refresh_picker(df: pd.DataFrame) -> None:
        options = [(f"{r.name or r.rep_id} ({r.rep_id})", str(r.rep_id)) for r in df.itertuples()]
        wanted = board.picker.value or getattr(board, "wanted_rep", None)
        ids = [o[1] for o in options]
        if [o for o in board.picker.options] != options:
            board._picking = True
            try:
                board.picker.options = options
                board.picker.value = wanted if wanted in ids else (ids[0] if ids else None)
            finally:
                board._picking = False

    def detail(f: Filters) -> str:
        rep_id = board.picker.value
        if not rep_id:
            return message_html("Pick a rep to see their detail.", "rep")
        df = card(f)
        row = df[df["rep_id"] == rep_id]
        if row.empty:
            return message_html("This rep is not in the current filters.", "rep")
        r = row.iloc[0]
        d = board.cached(("rep", f, rep_id), lambda: rep_detail(src, f, rep_id))
        tiles = "".join(
            [
                kpi_html(
                    "rep_revenue",
                    "Revenue",
                    r["revenue"],
                    fmt_money(r["revenue"], cur),
                    str(r["name"] or rep_id),
                ),
                kpi_html(
                    "rep_attainment",
                    "Attainment",
                    r["attainment"],
                    fmt_pct(r["attainment"]),
                    f"target {fmt_money(r['target'], cur)}",
                ),
                kpi_html(
                    "rep_win_rate",
                    "Win rate",
                    r["win_rate"],
                    fmt_pct(r["win_rate"]),
                    f"{r['won']} won of {r['closed']} closed",
                ),
                kpi_html(
                    "rep_cycle_days",
                    "Cycle time",
                    r["cycle_days"],
                    fmt_days(r["cycle_days"]),
                    "mean, won deals",
                ),
                kpi_html(
                    "rep_discount_compliance",
                    "Discount compliance",
                    r["discount_compliance"],
                    fmt_pct(r["discount_compliance"]),
                    f"{r['discount_breaches']} of {r['won_deals_priced']} won deals above authority",
                ),
            ]
        )
        m = d["monthly"]
        who = str(r["name"] or rep_id)
        if len(m):
            best = m.loc[m["revenue"].idxmax()]
            title = f"{who}: best month {best['month']:%Y-%m} ({fmt_money(best['revenue'], cur)})"
        else:
            title = f"{who}: no orders in the last 12 months"
        end = pd.Timestamp(f.end)
        months = pd.date_range(
            end - pd.DateOffset(months=12), end - pd.Timedelta(days=1), freq="MS"
        )
        values = m.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        svg = svg_column_chart(
            [t.strftime("%Y-%m") for t in months],
            [float(v) for v in values.values],
            title=title,
            y_label=f"Revenue ({cur})",
            height=240,
        )
        chart = svg_html(svg, "rep-trend", "monthly revenue of the rep")
        deals = d["open_deals"]
        deals_html = (
            table_html(
                deals,
                {
                    "opportunity_id": str,
                    "stage": str,
                    "amount": lambda v: fmt_money(v, cur),
                    "age_days": fmt_days,
                },
                labels={
                    "opportunity_id": "Open deal",
                    "stage": "Stage",
                    "amount": "Amount",
                    "age_days": "Age",
                },
            )
            if len(deals)
            else "<p>No open deals.</p>"
        )
        return f'<div class="snb-kpis" data-rep="{esc(rep_id)}">{tiles}</div>{chart}{deals_html}'

    def _redraw_detail():
        if getattr(board, "_picking", False):
            return
        try:
            board.sections["rep"].value = detail(board.panel.filters)
        except SalesnbError as exc:
            board.sections["rep"].value = message_html(str(exc), "rep")
        except Exception:
            _server_log().exception("dashboard team: rep detail failed")
            board.sections["rep"].value = message_html(FRIENDLY_FAILURE, "rep")

    board.wanted_rep = rep or None
    board.section("scorecard", scorecard)
    board.section("rep", detail)
    board.redraw()
    board.rep_widget = w.VBox([board.picker, board.sections["rep"]])
    orig_show = board.show

    def show(name=None):
        return board.rep_widget if name == "rep" else orig_show(name)

    board.show = show

    def apply_url():
        reps = rep_ids(src)
        values = Board.apply_url(board, extra={"rep": reps})
        if values.get("rep"):
            board.wanted_rep = values["rep"]
            ids = [o[1] for o in board.picker.options]
            if values["rep"] in ids:
                board.picker.value = values["rep"]
            else:
                board.fail(
                    f"Link parameter ignored: rep {values['rep']!r} is not in the current filters.",
                    "url",
                )
        return values

    board.apply_url = apply_url
    return board


def rep_ids(src: Source) -> list[str]:
    return queries.distinct_values(src, "reps", "rep_id")


# ================================================================================================
# Server
# ================================================================================================
def voila_command(
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    pool_size: int = DEFAULT_POOL_SIZE,
    cull_idle_seconds: int = DEFAULT_CULL_IDLE_SECONDS,
    cull_interval_seconds: int = DEFAULT_CULL_INTERVAL_SECONDS,
    notebooks: Path | None = None,
) -> list[str]:
    """The Voilà command line ``serve`` runs (also used by the benchmark)."""
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebooks or config.DASHBOARD_DIR),
        "--no-browser",
        f"--port={int(port)}",
        "--Voila.port_retries=0",  # the asked port or a clear failure, never a surprise port
        f"--Voila.ip={host}",
        "--preheat_kernel=True",
        f"--pool_size={int(pool_size)}",
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--template=salesnb",  # lab without CDN links: salesnb/voila/share/voila/templates/salesnb
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle_seconds)}",
        f"--MappingKernelManager.cull_interval={int(cull_interval_seconds)}",
        f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",
    ]


def voila_env(source: str, host: str = "127.0.0.1") -> dict[str, str]:
    """Environment for the Voilà process; its kernels inherit it."""
    env = dict(os.environ)
    env["SALESNB_SOURCE"] = source  # every dashboard notebook reads the warehouse from here
    # Preheated kernels ask the server for the viewer's request on VOILA_APP_IP (default 127.0.0.1).
    env["VOILA_APP_IP"] = "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host
    # The salesnb template lives in our own data dir, found through JUPYTER_PATH.
    share = str(VOILA_CONFIG_DIR / "share")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, env.get("JUPYTER_PATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def serve(
    source: str | None = None,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    pool_size: int = DEFAULT_POOL_SIZE,
) -> int:
    """Serve ``notebooks/dashboards`` with Voilà until interrupted; returns the exit code."""
    src = connect(source or None)  # fails early with a clear message when the warehouse is missing
    resolved = str(src.path.resolve()) if src.path is not None else src.description
    src.close()
    env = voila_env(resolved, host)
    cmd = voila_command(port=port, host=host, pool_size=pool_size)
    print(
        f"salesnb: serving dashboards on http://{host}:{port}/ (source {resolved}); Ctrl-C stops",
        file=sys.stderr,
        flush=True,
    )
    proc = subprocess.Popen(cmd, env=env, cwd=str(config.PROJECT_ROOT))

    def stop(signum, _frame):
        # A service manager (or a test) stops us with SIGTERM: take Voilà and its kernels along.
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
