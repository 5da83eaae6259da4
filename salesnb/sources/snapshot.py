"""The warehouse as it was known on a day: the one rule behind every ``as_of``.

``Source.at(day)`` returns a view of the warehouse in which every canonical table shows only
what had happened by the end of ``day``. A study run with ``as_of`` reads nothing else, so its
output is identical to the same study on a warehouse from which every later row was deleted
and every later event undone (``tests/sources/test_as_of.py`` checks that identity for every study).

The rule, table by table (a row without the date it is judged by is kept):

- ``orders``: lines with ``order_date`` after the day are gone.
- ``customers`` (``created_date``), ``products`` (``launch_date``), ``reps`` (``hire_date``),
  ``leads`` (``created_date``), ``surveys`` and ``trainings`` (``date``), ``pilots``
  (``start_date``), ``forecast_calls`` (``as_of``): rows dated after the day are gone.
- ``opportunities``: deals created after the day are gone; a deal closed after the day is
  **open** on the day — ``status`` ``open``, no ``close_date``, no ``loss_reason`` nor
  ``competitor`` (both recorded when a deal is lost: the deals study finds them empty on open
  and won deals of the demo and of real CRM exports) — and, when
  ``stage_history`` exists, its ``stage`` is the last stage it had entered by the day.
- ``stage_history``: entries after the day are gone (so are those of deals created after it).
- ``leads.converted_opportunity_id``: blank when that deal was created after the day.
- ``tickets``: opened after the day are gone; a first response or a resolution after the day
  had not happened (blank), nor had the satisfaction score given at resolution.
- ``pilots.end_date`` after the day: the pilot was still running (blank).
- ``targets`` and ``market`` are stated per period, set or published in advance: kept.

Written here rather than taken from a library: "as known on a day" (bitemporal views) is what
warehouses such as dbt snapshots record at load time; a sales export only carries the event
dates, so the view is rebuilt from them.
"""

from __future__ import annotations

import datetime as dt

import ibis

from salesnb.model import schema

# table -> the date column a row is judged by (rows after the day are gone)
ROW_DATE = schema.ROW_DATE
# table -> columns of later events, blank when the event came after the day
LATER_EVENTS = {
    "tickets": ("first_response_at", "resolved_at"),
    "pilots": ("end_date",),
}


def _after(col, day: dt.date):
    """``col`` is after the end of ``day`` (a date column, or a timestamp one)."""
    if col.type().is_timestamp():
        return col >= ibis.literal(dt.datetime.combine(day + dt.timedelta(days=1), dt.time()))
    return col > ibis.literal(day)


def _blank(col):
    return ibis.null().cast(col.type())


def snapshot(name: str, t: ibis.Table, day: dt.date, raw) -> ibis.Table:
    """``t`` (the canonical table ``name``) as known at the end of ``day``; ``raw(name)`` gives
    another table of the warehouse unfiltered (deals and stages look each other up)."""
    cols = set(t.columns)
    date_col = ROW_DATE.get(name)
    if date_col in cols:
        t = t.filter(t[date_col].isnull() | ~_after(t[date_col], day))
    later = {c: t[c] for c in LATER_EVENTS.get(name, ()) if c in cols}
    if later:
        t = t.mutate(
            **{c: ibis.ifelse(_after(col, day), _blank(col), col) for c, col in later.items()}
        )
        if name == "tickets" and "csat" in cols and "resolved_at" in cols:
            t = t.mutate(csat=ibis.ifelse(t.resolved_at.isnull(), _blank(t.csat), t.csat))
    if name == "opportunities":
        t = _open_deals(t, day, raw)
    elif name == "stage_history":
        t = _known_deals(t, day, raw)
    elif name == "leads" and "converted_opportunity_id" in cols:
        t = _known_conversions(t, day, raw)
    return t


def _open_deals(t: ibis.Table, day: dt.date, raw) -> ibis.Table:
    cols = set(t.columns)
    if "close_date" not in cols:
        return t
    late = t.close_date.notnull() & _after(t.close_date, day)
    changes = {"close_date": ibis.ifelse(late, _blank(t.close_date), t.close_date)}
    if "status" in cols:
        changes["status"] = ibis.ifelse(late, ibis.literal("open"), t.status.cast("string"))
    for outcome in ("loss_reason", "competitor"):
        if outcome in cols:
            changes[outcome] = ibis.ifelse(late, _blank(t[outcome]), t[outcome])
    history = raw("stage_history")
    if history is None or "stage" not in cols:
        return t.mutate(**changes)
    columns = t.columns
    t = t.mutate(__late=late, **changes)
    h = history.filter(~_after(history.entered_date, day))
    # the stage entered last by the day (ties: the later-named stage, a fixed order)
    last = (
        h.mutate(
            __rank=ibis.row_number().over(
                group_by=h.opportunity_id, order_by=[ibis.desc(h.entered_date), ibis.desc(h.stage)]
            )
        )
        .filter(lambda x: x["__rank"] == 0)
        .select(__oid=h.opportunity_id, __stage=h.stage)
    )
    j = t.left_join(last, t.opportunity_id == last["__oid"])
    fixed = j["__late"] & j["__stage"].notnull()
    return j.mutate(stage=ibis.ifelse(fixed, j["__stage"], j.stage)).select(columns)


def _known_deals(t: ibis.Table, day: dt.date, raw) -> ibis.Table:
    deals = raw("opportunities")
    if deals is None or "created_date" not in deals.columns:
        return t
    later = deals.filter(deals.created_date.notnull() & _after(deals.created_date, day))
    return t.filter(~t.opportunity_id.isin(later.opportunity_id))


def _known_conversions(t: ibis.Table, day: dt.date, raw) -> ibis.Table:
    deals = raw("opportunities")
    if deals is None or "created_date" not in deals.columns:
        return t
    later = deals.filter(deals.created_date.notnull() & _after(deals.created_date, day))
    c = t.converted_opportunity_id
    return t.mutate(
        converted_opportunity_id=ibis.ifelse(c.isin(later.opportunity_id), _blank(c), c)
    )
