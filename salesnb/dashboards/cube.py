"""Small cubes: what a dashboard redraw reads, aggregated by the engine once per kernel.

:class:`CubeReader` answers the questions of :class:`~salesnb.dashboards.figures.LiveReader`
from a few small pandas frames, so a filter change sums a few thousand rows in memory instead
of running ~10 queries. :func:`open_reader` picks it when its numbers equal the library's.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from datetime import date

import ibis
import numpy as np
import pandas as pd

from salesnb.dashboards.boards import server_log
from salesnb.dashboards.figures import LiveReader
from salesnb.errors import ModelError
from salesnb.metrics import performance as perf
from salesnb.model.filters import Filters
from salesnb.model.periods import Period, as_of_day, parse_period
from salesnb.queries import funnel as qfun
from salesnb.queries import performance as qperf
from salesnb.queries.warehouse import data_end
from salesnb.sources import Source


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
            frame[self.day_col] = pd.to_datetime(frame[self.day_col])
        # sorted by day, a date range is a slice found by binary search (missing days last);
        # then by the other dimensions, so that sums add the rows in the same order whatever
        # order the engine returned them in (DuckDB, PostgreSQL and Spark differ)
        order = [d for d in ([self.day_col] if self.day_col else []) + self.dims if d]
        order = list(dict.fromkeys(order))
        if order:
            frame = frame.sort_values(order, kind="stable", na_position="last")
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
# the same rep attributes as named by queries.funnel's `by=` (its OPP_JOINS)
OPP_BY = {"rep_region": "rep_region", "rep_team": "team"}


class CubeReader:
    """The questions of ``LiveReader``, answered from small cubes built once per kernel.

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

    Every rule comes from the queries, never re-written here: closed deals are
    ``queries.funnel.closed_deal_counts`` grouped by close day and the rep's attributes; won
    deals' discounts are ``queries.performance.won_deals_with_discount``; the open pipeline and
    the stage flow are the expressions of ``queries.funnel.open_pipeline`` / ``stage_flow``
    (``open_pipeline_counts``, ``history_as_of``, ``stage_flow_counts``) asked of several days
    in one query, and summed back by ``stage_flow_frame``. Targets are resolved in memory
    (a query per filter change would cost ~65 ms a redraw) by the one rule,
    ``metrics.performance.scope_target``, over the targets and reps read once; the day the
    pipeline is seen at is ``model.periods.as_of_day`` of ``as_of`` and the end of the data.

    Built on ``src.at(day)`` (a board with ``as_of``), every cube holds only what was known
    that day: each query is an Ibis expression over ``src.table(...)``, which is the snapshot,
    the SQL compiled once and rerun for other days included (only the frame of days it
    joins is read from the raw connection).
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
        self._reps = qperf.reps_frame(src) if self._has["reps"] else None
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
        """Cubes give the library's numbers only when rep attributes join without duplicates,
        opportunities have no columns of their own named like the rep attributes the
        closed-deal query groups by, and deals are filtered through their rep: a mapping that
        gives opportunities their own ``region`` or ``channel`` filters on those
        (``queries.filtered_opportunities``), which the cubes do not hold."""
        if not src.has("orders") or (src.has("reps") and not _unique_reps(src)):
            return False
        own = (*OPP_BY.values(), "region", "channel")
        return not any(src.has_column("opportunities", c) for c in own)

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
        """``queries.funnel.closed_deal_counts`` by close day and the rep's region and team."""
        joinable = self._has["reps"] and self.src.has_column("opportunities", "rep_id")
        dims = [d for d, col in OPP_DIMS.items() if joinable and self.src.has_column("reps", col)]
        # from date.min: a deal without a close date falls in no period, so it is left out here
        by = ["close_date", *(OPP_BY[d] for d in dims)]
        df = qfun.closed_deal_counts(self.src, by=by, start=date.min)
        df = df.rename(columns={"close_date": "day", **{OPP_BY[d]: d for d in dims}})
        self.closed = Cube(df[["day", *dims, "closed", "won", "won_amount"]], ["day", *dims])

    def _build_discounts(self) -> None:
        """``queries.performance.won_deals_with_discount`` over all history (one row per won
        deal), with the rep's region and team."""
        won = qperf.won_deals_with_discount(self.src)
        reps = self.src.table("reps")
        cols = {d: reps[col].cast("string") for d, col in OPP_DIMS.items() if col in reps.columns}
        attrs = reps.select(rep_id=reps.rep_id, **cols).execute()
        df = won.merge(attrs, on="rep_id", how="left").assign(day=lambda d: d["close_date"])
        self.discounts = Cube(df, ["day", *cols])

    def _pipeline_day(self, period: Period) -> date:
        """The day ``figures_from`` sees ``period`` at (the end of the data asked only if
        needed)."""
        return as_of_day(period, self._as_of, None if self._as_of else self.data_end())

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
        """``queries.funnel.open_pipeline`` on several days at once (its own query expression,
        ``open_pipeline_counts``), by the rep's region and team."""
        src = self.src

        def build(days_t):
            op = src.table("opportunities").cross_join(days_t.select(__as_of=days_t.day))
            op, added = _join_rep_dims(src, op, OPP_DIMS)
            expr = qfun.open_pipeline_counts(src, op, "__as_of", days_t, by=["__as_of", *added])
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
        """``queries.funnel.stage_flow`` for several period ends at once (its own expressions,
        ``history_as_of`` and ``stage_flow_counts``), by the rep's region and team."""
        src = self.src

        def build(days_t):
            op = src.table("opportunities").cross_join(days_t.select(__e=days_t.day))
            op, added = _join_rep_dims(src, op, OPP_DIMS)
            entries = qfun.history_as_of(src, op, "__e", keep=added)
            return qfun.stage_flow_counts(entries, by=["__e", *added]), added

        df, added = self._run("flow", build, ends)
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
        return perf.scope_target(self._targets, period, filters, self._reps)

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
        return int(len(perf.discount_breaches(rows)))

    def stage_flow(self, filters: Filters) -> pd.DataFrame:
        end = filters.end
        if end not in self._flow:
            self._flow.update(self._build_flow({end}))
        rows = self._flow[end].select(**self._opp(filters))
        counts = rows.groupby(["stage", "next_stage", "status"], dropna=False, as_index=False)[
            ["deals", "rank_sum"]
        ].sum()
        return qfun.stage_flow_frame(counts)


def open_reader(src: Source, as_of: date | None, periods=()) -> LiveReader | CubeReader:
    """The board's reader: small cubes (prepared for ``periods``) when they can be built, else
    the live queries."""
    try:
        if CubeReader.usable(src):
            return CubeReader(src, as_of=as_of, periods=list(periods))
    except Exception:  # the live queries still work; say why in the server log
        server_log().exception("dashboard: cubes could not be built, querying live instead")
    return LiveReader(src)
