"""Engine-side aggregations for the funnel study (opportunities, stage_history, leads).

Every function returns a small frame of counts (per group, per stage, per cycle length);
deal-level rows stay in the engine. The expressions behind the pipeline and the stage flow
(:func:`open_on`, :func:`open_pipeline_counts`, :func:`history_as_of`,
:func:`stage_flow_counts`) are public too: the dashboards' cube asks them of several days in
one query instead of writing its own. Status values are compared lower-cased, so ``Won`` and
``won`` both count. Dates are bound as Ibis literals, never pasted into SQL.
"""

from __future__ import annotations

from collections.abc import Sequence

import ibis
import pandas as pd

from salesnb.queries import (
    CLOSED_STATUSES,
    OPEN,
    _date,
    deal_status,
    filtered_opportunities,
    in_order,
)
from salesnb.sources import Source

OPP_JOINS = {
    "rep": ("reps", "rep_id", "name"),
    "team": ("reps", "rep_id", "team"),
    "rep_region": ("reps", "rep_id", "region"),
    "segment": ("customers", "customer_id", "segment"),
    "industry": ("customers", "customer_id", "industry"),
}


_status = deal_status  # the rule lives in salesnb.queries


def _with_dims(src: Source, op: ibis.Table, by: Sequence[str]) -> ibis.Table:
    """Add grouping columns: opportunity columns, ``created_month``, or joined rep / customer fields."""
    for dim in by:
        if dim in op.columns:
            continue
        if dim == "created_month":
            op = op.mutate(created_month=op.created_date.cast("date").truncate("M"))
            continue
        table, key, col = OPP_JOINS[dim]
        if dim == "rep" and key in op.columns and not src.has_column(table, col):
            op = op.mutate(rep=op[key].cast("string"))  # no rep names: the rep id names the rep
            continue
        if not src.has_column(table, col) or key not in op.columns:
            op = op.mutate(**{dim: ibis.literal(None, "string")})
            continue
        other = src.table(table).select(**{"__k": key, dim: src.table(table)[col].cast("string")})
        op = op.left_join(other, op[key] == other["__k"]).drop("__k")
        if dim == "rep":  # a rep without a name is still a rep
            op = op.mutate(rep=op.rep.fill_null(op.rep_id.cast("string")))
    return op


def closed_deal_counts(
    src: Source, filters=None, by: Sequence[str] = (), start=None, end=None
) -> pd.DataFrame:
    """Deals closed (won or lost) with ``close_date`` in ``[start, end)`` (default: the filters' period).

    Pass ``start=date(1900,1,1)`` and ``end=None`` semantics through the filters to cover all history.
    Returns ``*by, closed, won, lost, won_amount, closed_amount``; ``won_amount`` sums ``amount``
    of won deals (0 when amounts are missing). ``rep`` is the rep's name, or its id when the
    warehouse has no rep names.
    """
    by = list(by)
    op = filtered_opportunities(src, filters, date_col="close_date", start=start, end=end)
    st = _status(op)
    op = op.mutate(__st=st).filter(lambda t: t["__st"].isin(["won", "lost"]))
    op = _with_dims(src, op, by)
    has_amount = "amount" in op.columns
    amt = op.amount.cast("float64") if has_amount else ibis.literal(0.0)
    aggs = dict(
        closed=op.count(),
        won=(op["__st"] == "won").sum(),
        lost=(op["__st"] == "lost").sum(),
        won_amount=ibis.ifelse(op["__st"] == "won", amt, 0.0).sum(),
        closed_amount=amt.sum(),
    )
    df = (op.group_by(by).aggregate(**aggs) if by else op.aggregate(**aggs)).execute()
    for c in ("closed", "won", "lost"):
        df[c] = df[c].fillna(0).astype("int64")
    for c in ("won_amount", "closed_amount"):
        df[c] = df[c].astype("float64").fillna(0.0)
    for dim in by:
        if dim == "created_month":
            df[dim] = pd.to_datetime(df[dim])
    return df.sort_values(by).reset_index(drop=True) if by else df


def close_date_range(src: Source, filters=None) -> tuple:
    """First and last close date of closed deals (None, None when there are none)."""
    op = filtered_opportunities(src, filters)
    op = op.filter(_status(op).isin(["won", "lost"]))
    r = op.aggregate(first=op.close_date.min(), last=op.close_date.max()).execute()
    first, last = r["first"].iloc[0], r["last"].iloc[0]
    return (
        None if pd.isna(first) else pd.Timestamp(first),
        None if pd.isna(last) else pd.Timestamp(last),
    )


def cycle_day_histogram(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Histogram of created -> close days of deals closed in ``[start, end)``.

    The one cycle-time rule: a deal's cycle is the days from ``created_date`` to
    ``close_date`` of a closed deal, won or lost (the funnel page, the rep scorecards of the
    performance study and the team dashboard all use it).

    Returns ``cycle_days, status, deals`` (deals without a created date are left out).
    """
    op = filtered_opportunities(src, filters, date_col="close_date", start=start, end=end)
    op = op.mutate(__st=_status(op))
    op = op.filter(op["__st"].isin(["won", "lost"]) & op.created_date.notnull())
    op = op.mutate(
        cycle_days=op.close_date.cast("date").delta(op.created_date.cast("date"), unit="day")
    )
    df = op.group_by(["cycle_days", "__st"]).aggregate(deals=op.count()).execute()
    df = df.rename(columns={"__st": "status"})
    df["cycle_days"] = df["cycle_days"].astype("float64")
    df["deals"] = df["deals"].astype("int64")
    return df.sort_values(["cycle_days", "status"]).reset_index(drop=True)


def open_on(op: ibis.Table, day) -> ibis.BooleanValue:
    """The one rule for a deal open on ``day``: created by then (or without a created date) and
    not closed by then (no close date and status open, or a close date after ``day``).

    ``day`` is a date value, or a date column of ``op`` (several days in one query: the
    dashboards' cube).
    """
    st = _status(op)
    created_ok = op.created_date.isnull() | (op.created_date <= day)
    not_closed = (op.close_date.isnull() & (st == OPEN)) | (op.close_date > day)
    return created_ok & not_closed


def _day_of(op: ibis.Table, day):
    """``day`` as an engine value: a column of ``op`` when named, else a date literal."""
    return op[day] if isinstance(day, str) else _date(day)


def _with_stage_on(src: Source, op: ibis.Table, day, days: ibis.Table | None) -> ibis.Table:
    """``op`` with ``stage`` the stage each deal held on its day (the last one entered by then;
    its current stage when stage_history has none), as text, ``(no stage)`` when unknown."""
    if src.has("stage_history"):
        sh = src.table("stage_history")
        keys = ["opportunity_id"]
        if days is None:
            sh = sh.filter(sh.entered_date <= _date(day))
        else:  # one stage per deal and day
            sh = sh.cross_join(days.select(__d=days.day))
            sh = sh.filter(sh.entered_date <= sh["__d"])
            keys.append("__d")
        last = sh.group_by(keys).aggregate(__stage_then=sh.stage.argmax(sh.entered_date))
        last = last.rename(__oid="opportunity_id")
        on = op.opportunity_id == last["__oid"]
        if days is not None:
            on = on & (op[day] == last["__d"])
        op = op.left_join(last, on).drop("__oid", *(["__d"] if days is not None else []))
        op = op.mutate(stage=op["__stage_then"].fill_null(op.stage.cast("string")))
    return op.mutate(stage=op.stage.cast("string").fill_null("(no stage)"))


def open_pipeline_counts(
    src: Source, op: ibis.Table, day, days: ibis.Table | None = None, by: Sequence[str] = ()
) -> ibis.Table:
    """The query of :func:`open_pipeline` on opportunities ``op`` (filtered by the caller):
    ``*by, stage, deals, amount, with_amount`` of the deals open on ``day``.

    ``day`` is a date; or, to ask several days in one query, the name of a column of ``op``
    holding each row's day, ``days`` the table of those days (column ``day``) and ``by``
    naming that column (the dashboards' cube crosses opportunities with the days).
    """
    op = op.filter(open_on(op, _day_of(op, day)))
    amount = op.amount.cast("float64") if "amount" in op.columns else None
    op = op.mutate(__amt=amount if amount is not None else ibis.literal(None, "float64"))
    op = _with_stage_on(src, op, day, days)
    return op.group_by([*by, "stage"]).aggregate(
        deals=op.count(), amount=op["__amt"].sum(), with_amount=op["__amt"].count()
    )


def open_pipeline(src: Source, filters=None, as_of=None) -> pd.DataFrame:
    """Open deals on ``as_of`` per stage (the stage held that day when stage_history exists).

    Returns ``stage, deals, amount, with_amount`` (amount sums deals that carry one).
    """
    df = open_pipeline_counts(src, filtered_opportunities(src, filters), as_of).execute()
    df["deals"] = df["deals"].astype("int64")
    df["with_amount"] = df["with_amount"].astype("int64")
    df["amount"] = df["amount"].astype("float64").fillna(0.0)
    return df.sort_values("stage").reset_index(drop=True)


def history_as_of(src: Source, op: ibis.Table, end, keep: Sequence[str] = ()) -> ibis.Table:
    """Stage entries before ``end`` of the deals of ``op`` created before it, with the deal's
    status on ``end`` (``__status``), the next stage entered before ``end``, the entry's
    ``position`` in the deal's history and ``dwell_days``.

    ``end`` (exclusive) is a date, None (all history), or the name of a column of ``op``
    holding each row's end (several ends in one query: the dashboards' cube); that column and
    the columns named in ``keep`` are carried onto each entry.
    """
    per_row = isinstance(end, str)
    e = _day_of(op, end)
    if end is not None:
        op = op.filter(op.created_date < e)
    st = _status(op)
    closed_by_end = op.close_date.notnull() & ((op.close_date < e) if end is not None else True)
    status_then = ibis.ifelse(st.isin(list(CLOSED_STATUSES)) & closed_by_end, st, OPEN)
    carried = [*keep, *([end] if per_row and end not in keep else [])]
    deals = op.select(
        *carried,
        __oid=op.opportunity_id,
        __status=status_then,
        __close=op.close_date.cast("date"),
    )
    sh = src.table("stage_history")
    if end is not None and not per_row:
        sh = sh.filter(sh.entered_date < e)
    sh = sh.inner_join(deals, sh.opportunity_id == deals["__oid"]).drop("__oid")
    if per_row:
        sh = sh.filter(sh.entered_date < sh[end])
    w = ibis.window(
        group_by=[sh.opportunity_id, *([sh[end]] if per_row else [])],
        order_by=[sh.entered_date, sh.stage],
    )
    sh = sh.mutate(
        next_stage=sh.stage.lead().over(w),
        next_entered=sh.entered_date.lead().over(w),
        position=ibis.row_number().over(w),
    )
    # the last stage's dwell runs to the close date for a closed deal; open deals have none yet
    end_of_stage = ibis.coalesce(
        sh.next_entered.cast("date"),
        ibis.ifelse(sh["__status"] != OPEN, sh["__close"], ibis.null("date")),
    )
    return sh.mutate(dwell_days=end_of_stage.delta(sh.entered_date.cast("date"), unit="day"))


def stage_flow_counts(sh: ibis.Table, by: Sequence[str] = ()) -> ibis.Table:
    """``*by, stage, next_stage, status, deals, rank_sum`` of :func:`history_as_of` entries
    (``rank_sum`` adds up positions, so counts of several groups can be summed)."""
    return (
        sh.group_by([*by, "stage", "next_stage", "__status"])
        .aggregate(deals=sh.count(), rank_sum=sh.position.sum())
        .rename(status="__status")
    )


def stage_flow_frame(counts: pd.DataFrame) -> pd.DataFrame:
    """:func:`stage_flow_counts` (summed over any other groups) -> the frame of
    :func:`stage_flow`: ``rank_sum`` becomes the stage's ``mean_rank``, which orders stages."""
    df = counts.copy()
    df["deals"] = df["deals"].astype("int64")
    tot = df.groupby("stage")[["rank_sum", "deals"]].transform("sum")
    df["mean_rank"] = tot["rank_sum"].astype(float) / tot["deals"]
    df["next_stage"] = df["next_stage"].astype(object).where(df["next_stage"].notna(), None)
    return in_order(df.drop(columns="rank_sum"), ["mean_rank", "stage", "next_stage"])


def stage_flow(src: Source, filters=None, end=None) -> pd.DataFrame:
    """Where deals go from each stage: ``stage, next_stage, status, deals, mean_rank``.

    Covers deals created before ``end`` (all history when None), their stage entries before
    ``end``, and their status on ``end``. ``mean_rank`` is the stage's mean position in a deal's
    history, used to order stages.
    """
    sh = history_as_of(src, filtered_opportunities(src, filters), end)
    return stage_flow_frame(stage_flow_counts(sh).execute())


def stage_dwell(src: Source, filters=None, end=None) -> pd.DataFrame:
    """Days spent in each stage (until the next stage, or the close for the last one).

    Returns ``stage, deals, median_dwell_days, mean_dwell_days, p90_dwell_days``.
    """
    sh = history_as_of(src, filtered_opportunities(src, filters), end)
    sh = sh.filter(sh.dwell_days.notnull())
    df = (
        sh.group_by("stage")
        .aggregate(
            deals=sh.count(),
            median_dwell_days=sh.dwell_days.median(),
            mean_dwell_days=sh.dwell_days.mean(),
            p90_dwell_days=sh.dwell_days.quantile(0.9),
        )
        .execute()
    )
    for c in ("median_dwell_days", "mean_dwell_days", "p90_dwell_days"):
        df[c] = df[c].astype("float64")
    df["deals"] = df["deals"].astype("int64")
    return df.sort_values("stage").reset_index(drop=True)


def creation_cohorts(src: Source, filters=None, end=None) -> pd.DataFrame:
    """Deals per creation month (created before ``end``) with their status on ``end``.

    Returns ``cohort_month, deals, won, lost, open, won_amount``.
    """
    e = _date(end)
    op = filtered_opportunities(src, filters)
    op = op.filter(op.created_date.notnull())
    if end is not None:
        op = op.filter(op.created_date < e)
    st = _status(op)
    closed_by_end = op.close_date.notnull() & ((op.close_date < e) if end is not None else True)
    op = op.mutate(
        __st=ibis.ifelse(st.isin(["won", "lost"]) & closed_by_end, st, "open"),
        cohort_month=op.created_date.cast("date").truncate("M"),
    )
    amt = op.amount.cast("float64") if "amount" in op.columns else ibis.literal(0.0)
    df = (
        op.group_by("cohort_month")
        .aggregate(
            deals=op.count(),
            won=(op["__st"] == "won").sum(),
            lost=(op["__st"] == "lost").sum(),
            open=(op["__st"] == "open").sum(),
            won_amount=ibis.ifelse(op["__st"] == "won", amt, 0.0).sum(),
        )
        .execute()
    )
    for c in ("deals", "won", "lost", "open"):
        df[c] = df[c].astype("int64")
    df["won_amount"] = df["won_amount"].astype("float64").fillna(0.0)
    df["cohort_month"] = pd.to_datetime(df["cohort_month"]).dt.strftime("%Y-%m")
    return df.sort_values("cohort_month").reset_index(drop=True)


def lead_counts(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Leads created in ``[start, end)`` per source: ``source, leads, converted``.

    Leads carry no rep, so only the channel filter applies to them.
    """
    f = filters
    s = start if start is not None else (f.start if f else None)
    e = end if end is not None else (f.end if f else None)
    ld = src.table("leads")
    if s is not None:
        ld = ld.filter(ld.created_date >= _date(s))
    if e is not None:
        ld = ld.filter(ld.created_date < _date(e))
    if f is not None and f.channel and "channel" in ld.columns:
        ld = ld.filter(ld.channel == ibis.literal(str(f.channel)))
    src_col = (
        ld.source.cast("string").fill_null("(unknown)")
        if "source" in ld.columns
        else ibis.literal("(all)")
    )
    conv = (
        ld.converted_opportunity_id.notnull().ifelse(1, 0)
        if "converted_opportunity_id" in ld.columns
        else ibis.literal(0)
    )
    ld = ld.mutate(source=src_col, __conv=conv)
    df = ld.group_by("source").aggregate(leads=ld.count(), converted=ld["__conv"].sum()).execute()
    df["leads"] = df["leads"].astype("int64")
    df["converted"] = df["converted"].fillna(0).astype("int64")
    return df.sort_values("source").reset_index(drop=True)


def closed_deal_scope(src: Source, filters) -> dict:
    """Which close dates the closed-deal metrics cover: the period, or all history when the period has none.

    A CRM export often covers an older date range than the report period; then the study
    still reports on every closed deal and says so. Returns ``start, end`` (end exclusive),
    ``as_of`` (last day covered), ``label`` and ``note`` (empty when the period is used).
    """
    n = closed_deal_counts(src, filters)["closed"].iloc[0] if filters is not None else 0
    if filters is not None and n > 0:
        return dict(
            start=filters.start,
            end=filters.end,
            label="period",
            note="",
            as_of=(pd.Timestamp(filters.end) - pd.Timedelta(days=1)).date(),
        )
    first, last = close_date_range(src, filters)
    if first is None:
        return dict(
            start=None,
            end=None,
            label="none",
            note="No closed deals at all in this warehouse.",
            as_of=None,
        )
    end = (last + pd.Timedelta(days=1)).date()
    note = (
        f"No deals closed in the report period; closed-deal figures cover **all closed deals** "
        f"({first.date()} .. {last.date()})."
    )
    return dict(start=first.date(), end=end, label="all history", note=note, as_of=last.date())
