"""The study contract, as seen from inside a notebook.

A study notebook starts with its ``parameters`` cell and then::

    ctx = study.open("funnel", source=source, period=period, as_of=as_of,
                     region=region, team=team, channel=channel,
                     currency=currency, output_dir=output_dir)

``ctx`` holds the connection (``ctx.src``), the resolved period
(``ctx.period``, ``ctx.prior``), the filters (``ctx.filters``) and collects the
headline figures (``ctx.headline(win_rate=0.63)``) that ``ctx.save()`` writes
to ``<output_dir>/<study>.json`` — the flat figures tests, alerts and the
index read. ``ctx.require("tickets")`` shows a visible note and records a
skipped section when an optional table is absent, instead of failing.
"""

from __future__ import annotations

import json
import math
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb import config
from salesnb.errors import ParameterError
from salesnb.fileio import atomic_write_text
from salesnb.periods import Period, last_complete_quarter, parse_period, span_period
from salesnb.sources import Source, connect


@dataclass(frozen=True)
class Filters:
    """Row filters shared by every query: a period and optional dimension values."""

    start: date | None = None
    end: date | None = None  # exclusive
    region: str | None = None
    team: str | None = None
    channel: str | None = None

    def with_period(self, period: Period) -> Filters:
        return Filters(period.start, period.end, self.region, self.team, self.channel)

    def without_period(self) -> Filters:
        return Filters(None, None, self.region, self.team, self.channel)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k in ("region", "team", "channel") if (v := getattr(self, k))]
        return ", ".join(parts) or "all regions, teams and channels"


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
    """First and last date of ``table``'s period column (None when it has no dated row)."""
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


def _clean(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        if math.isnan(v) or math.isinf(v):
            return None
        # six decimals, but a tiny p-value keeps its six significant digits instead of 0.0
        return round(v, 6) if abs(v) >= 1e-6 or v == 0 else float(f"{v:.6g}")
    if isinstance(v, (np.bool_,)):
        return bool(v)
    if isinstance(v, (pd.Timestamp, date)):
        return str(pd.Timestamp(v).date())
    return v


@dataclass
class StudyContext:
    study: str
    src: Source
    period: Period
    filters: Filters
    as_of: date | None
    currency: str
    output_dir: Path
    figures: dict = field(default_factory=dict)
    skipped: dict = field(default_factory=dict)

    @property
    def prior(self) -> Period:
        """The same period one year earlier."""
        return self.period.shift_years(-1)

    def headline(self, **figures) -> None:
        """Record headline figures (flat keys; numbers or short strings)."""
        for k, v in figures.items():
            self.figures[k] = _clean(v)

    def require(self, *tables: str, section: str | None = None) -> bool:
        """True when all ``tables`` are present; otherwise show a note and record a skipped section."""
        missing = self.src.missing(tables)
        if not missing:
            return True
        what = section or ", ".join(tables)
        reason = (
            f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in this warehouse"
        )
        self.skipped[what] = reason
        self.note(f"**Skipped: {what}** — {reason}.")
        return False

    def skip(self, section: str, reason: str) -> None:
        """Replace a section that cannot be computed by a one-line note, and record it in
        ``skipped_sections`` of ``<study>.json`` (what is missing, what would fill it)."""
        self.skipped[section] = reason
        self.note(f"**Not computed: {section}** — {reason}.")

    def note(self, markdown: str) -> None:
        try:
            from IPython.display import Markdown, display

            display(Markdown(markdown))
        except ImportError:  # outside Jupyter
            print(markdown)

    def artifact(self, name: str) -> Path:
        """Path for a file published beside the report (CSV call lists, allocations)."""
        self.output_dir.mkdir(parents=True, exist_ok=True)
        return self.output_dir / name

    def save(self) -> Path:
        """Write ``<output_dir>/<study>.json`` with the headline figures."""
        out = dict(self.figures)
        if self.skipped:
            out["skipped_sections"] = "; ".join(f"{k}: {v}" for k, v in self.skipped.items())
        path = self.artifact(f"{self.study}.json")
        return atomic_write_text(
            path, json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False)
        )


def open(  # noqa: A001 - reads as study.open(...) in notebooks
    study: str,
    source: str = "",
    period: str = "",
    as_of: str = "",
    region: str = "",
    team: str = "",
    channel: str = "",
    currency: str = "",
    output_dir: str = "",
) -> StudyContext:
    """Open a study: connect, validate filters, resolve the period. See module docstring."""
    src = connect(source or None)
    check_filters(src, region or None, team or None, channel or None)
    from salesnb.studies import STUDIES

    known = STUDIES.get(study)
    p = resolve_period(src, period or None, as_of or None, known.dated_tables if known else None)
    f = Filters(p.start, p.end, region or None, team or None, channel or None)
    out = Path(output_dir) if output_dir else Path.cwd()
    cur = currency or default_currency(src)
    return StudyContext(study, src, p, f, pd.Timestamp(as_of).date() if as_of else None, cur, out)


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


__all__ = [
    "open",
    "StudyContext",
    "Filters",
    "check_filters",
    "known_values",
    "default_currency",
    "config",
]
