"""Questions about the warehouse itself, shared by the studies, the report and the dashboards:
which filter values exist and in which tables, the date span of each fact table, the end of
the data (:func:`data_end`), the default period of a study and why, how many rows a period
holds, the reporting currency."""

from __future__ import annotations

from datetime import date

import pandas as pd

from salesnb.errors import ParameterError
from salesnb.model.periods import Period, last_complete_quarter, parse_period, span_period
from salesnb.sources import Source

# Where each filter's values can come from: every table that carries the column. A channel
# that appears only in leads.channel is a valid filter for the funnel study.
FILTER_COLUMNS: dict[str, tuple[str, ...]] = {
    "region": ("orders", "customers", "reps", "market"),
    "team": ("reps",),
    "channel": ("orders", "leads", "opportunities", "customers"),
}


def known_values(src: Source, where: bool = False) -> dict:
    """Distinct regions, teams and channels found in any table carrying the column.

    ``{"region": [...], "team": [...], "channel": [...]}`` sorted; with ``where=True``,
    ``{"region": {"East": ["customers", "orders"], ...}, ...}`` (the tables holding each value).
    """
    found: dict[str, dict[str, list[str]]] = {k: {} for k in FILTER_COLUMNS}
    for name, tables in FILTER_COLUMNS.items():
        for t in tables:
            if not src.has_column(t, name):
                continue
            vals = src.table(t).select(name).distinct()[name].execute()
            for v in vals.dropna():
                found[name].setdefault(str(v), []).append(t)
    if where:
        return {k: dict(sorted(v.items())) for k, v in found.items()}
    return {k: sorted(v) for k, v in found.items()}


def check_filters(src: Source, region=None, team=None, channel=None) -> None:
    """Raise :class:`ParameterError` for a value no table knows, listing the known ones."""
    known = None
    for name, value in (("region", region), ("team", team), ("channel", channel)):
        if value in (None, "", "all"):
            continue
        known = known or known_values(src)
        if str(value) not in known[name]:
            tables = [t for t in FILTER_COLUMNS[name] if src.has_column(t, name)]
            shown = ", ".join(known[name][:30]) or "(none in this warehouse)"
            more = f" (+{len(known[name]) - 30} more)" if len(known[name]) > 30 else ""
            found_in = f" in {', '.join(tables)}" if tables else ""
            raise ParameterError(
                f"unknown {name} {str(value)[:60]!r}; known values{found_in}: {shown}{more}"
            )


# The date that places a row of each fact table in a period (first present column wins).
PERIOD_DATES: dict[str, tuple[str, ...]] = {
    "orders": ("order_date",),
    # created_date: an open deal's close_date is an expected date, possibly in the future
    "opportunities": ("created_date", "close_date"),
    "leads": ("created_date",),
    "stage_history": ("entered_date",),
    "tickets": ("opened_at",),
    "surveys": ("date",),
    "trainings": ("date",),
    "pilots": ("start_date",),
}


def date_span(src: Source, table: str) -> tuple[date, date] | None:
    """First and last date of ``table``'s period column (None when it has no dated row).

    Asked once per connection: a report plans a dozen studies over the same tables, and a
    :class:`Source` reads one warehouse as it was when opened (or as of its day)."""
    memo = src.__dict__.setdefault("_date_spans", {})
    if table not in memo:
        memo[table] = _date_span(src, table)
    return memo[table]


def _date_span(src: Source, table: str) -> tuple[date, date] | None:
    for col in PERIOD_DATES.get(table, ()):
        if src.has_column(table, col):
            t = src.table(table)
            row = t.aggregate(lo=t[col].min(), hi=t[col].max()).execute()
            lo, hi = row["lo"].iloc[0], row["hi"].iloc[0]
            if pd.isna(lo) or pd.isna(hi):
                continue
            return pd.Timestamp(lo).date(), pd.Timestamp(hi).date()
    return None


def dated_tables(src: Source, tables=None) -> dict[str, tuple[date, date]]:
    """``{table: (first, last)}`` for the dated fact tables among ``tables`` (default: all)."""
    names = [t for t in (tables or PERIOD_DATES) if t in PERIOD_DATES and src.has(t)]
    return {t: span for t in names if (span := date_span(src, t)) is not None}


def data_end(src: Source) -> date | None:
    """The end of the data: the last day on which the warehouse records an event (None when
    it holds no dated row).

    The events are the fact tables' dates (:data:`PERIOD_DATES`: orders, deals created,
    leads, stage entries, tickets, surveys, trainings, pilots) and the close dates of closed
    (won or lost) deals; an open deal's close date is an expected one, not an event. This is
    the one "today" of a warehouse: with no ``as_of``, a running period is seen on this day
    (:func:`salesnb.model.periods.as_of_day`, in the funnel study and the dashboards) and the
    dashboards open on its quarter. Read through ``Source.at(day)`` (a study or a board with
    ``as_of``), it is never after that day.
    """
    from salesnb.queries import CLOSED_STATUSES, deal_status

    ends = [span[1] for span in dated_tables(src).values()]
    if src.has_column("opportunities", "close_date") and src.has_column("opportunities", "status"):
        op = src.table("opportunities")
        last = op.filter(deal_status(op).isin(list(CLOSED_STATUSES))).close_date.max().execute()
        if last is not None and not pd.isna(last):
            ends.append(pd.Timestamp(last).date())
    return max(ends) if ends else None


def rows_in_period(src: Source, period: Period, tables) -> dict[str, int]:
    """Rows of each dated table among ``tables`` that fall in ``period`` (absent tables left out)."""
    import ibis

    out = {}
    for t in tables:
        if t not in PERIOD_DATES or not src.has(t):
            continue
        col = next((c for c in PERIOD_DATES[t] if src.has_column(t, c)), None)
        if col is None:
            continue
        tab = src.table(t)
        d = tab[col].cast("date") if col.endswith("_at") else tab[col]
        n = tab.filter((d >= ibis.literal(period.start)) & (d < ibis.literal(period.end))).count()
        out[t] = int(n.execute())
    return out


def default_period_why(src: Source, as_of=None, tables=None) -> tuple[Period, str]:
    """The default period and the reason, as shown on the index and each study page.

    The last complete quarter that holds data in every dated table the study reads
    (``tables``; default: every table), so a leads-only export gets the last quarter with
    leads. With ``as_of``, the last quarter complete on that day. When no complete quarter
    holds data (a month of history, say), the whole history is used.
    """
    if as_of:
        p = last_complete_quarter(pd.Timestamp(as_of))
        return p, f"last quarter complete on {pd.Timestamp(as_of).date()} (as_of)"
    spans = dated_tables(src, tables)
    if not spans:
        names = ", ".join(t for t in (tables or PERIOD_DATES) if t in PERIOD_DATES)
        raise ParameterError(f"no dated rows in {names or 'this warehouse'}: pass a period")
    # the quarter must be complete in the table that ends first and begin after the one that
    # starts last, so that every table the study reads has data in it
    end_table = min(spans, key=lambda t: spans[t][1])
    last = spans[end_table][1]
    first = max(s[0] for s in spans.values())
    p = last_complete_quarter(last)
    names = ", ".join(sorted(spans))
    if p.end > first:
        return p, f"last complete quarter with data in {names} (data to {last})"
    lo = min(s[0] for s in spans.values())
    hi = max(s[1] for s in spans.values())
    return span_period(lo, hi), (
        f"whole history ({lo} to {hi}): no complete quarter with data in {names}"
    )


def default_period(src: Source, as_of=None, tables=None) -> Period:
    """The last complete quarter with data in ``tables`` (see :func:`default_period_why`)."""
    return default_period_why(src, as_of, tables)[0]


def resolve_period(src: Source, period: str | None, as_of=None, tables=None) -> Period:
    """A period label, ``all`` (the warehouse's whole history) or, when empty, the default."""
    if period and str(period).strip().lower() == "all":
        spans = dated_tables(src, tables) or dated_tables(src)
        if not spans:
            raise ParameterError("period all: no dated rows in this warehouse")
        return span_period(min(s[0] for s in spans.values()), max(s[1] for s in spans.values()))
    return parse_period(period) if period else default_period(src, as_of, tables)


CURRENCY_TABLES = ("orders", "opportunities", "fx_rates")


def default_currency(src: Source) -> str:
    """The reporting currency when none is given.

    The most frequent currency of the first table carrying a ``currency`` column (orders,
    then opportunities), else the ``currency`` the ingest mapping declared for the whole
    export (kept in the warehouse's ``salesnb_settings`` table), else USD.
    """
    import ibis

    for table in CURRENCY_TABLES[:2]:
        if src.has_column(table, "currency"):
            top = (
                src.table(table)
                .filter(src.table(table).currency.notnull())
                .group_by("currency")
                .aggregate(n=ibis._.count())
                .order_by([ibis.desc("n"), "currency"])
                .limit(1)
                .execute()
            )
            if len(top) and isinstance(top["currency"].iloc[0], str):
                return top["currency"].iloc[0]
    declared = warehouse_setting(src, "currency")
    return declared or "USD"


def warehouse_setting(src: Source, key: str) -> str | None:
    """A setting ingest stored with the data (``salesnb_settings``: key, value), or None."""
    if "salesnb_settings" not in set(src.con.list_tables()):
        return None
    t = src.table("salesnb_settings")
    rows = t.filter(t.key == key).select("value").execute()
    return str(rows["value"].iloc[0]) if len(rows) else None
