"""Reporting periods as departments name them.

Accepted labels (``parse_period``):

- calendar: ``2026-Q3`` (quarter), ``2026-09`` (month), ``2026-H1`` (half), ``2026`` (year);
- fiscal: ``FY2026``, ``FY2026-Q1``, ``FY2026-H2``, counted from the month set once in
  ``fiscal_year_start`` (``salesnb.yaml`` beside the project, or ``SALESNB_FISCAL_YEAR_START``;
  1 = January, the default). A fiscal year is named after the calendar year in which it
  **ends**: with ``fiscal_year_start: 4``, ``FY2026`` runs from April 2025 to March 2026 and
  ``FY2026-Q1`` is April–June 2025 (the convention of the US federal budget, Microsoft and
  Apple). With the default start of January, ``FY2026`` is the calendar year 2026;
- ranges of any two of these: ``2017-06..2018-12``, ``2025-Q3..2026-Q2``, ``2024..2025``
  (from the start of the first to the end of the second, both included);
- ``all``: the whole history in the warehouse (resolved against the data by
  ``salesnb.queries.warehouse.resolve_period``, which calls :func:`span_period`).

A :class:`Period` is a half-open date range ``[start, end)`` with a label, so
"same period last year" and "months in the period" are one call each. Written here
rather than taken from pandas' ``Period``: pandas has fiscal quarters (``Q-MAR``) but
no ranges, halves or a project-wide fiscal setting, and its fiscal-year naming differs
between frequencies.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

import pandas as pd

from salesnb.errors import ParameterError

_Q = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_H = re.compile(r"^(\d{4})-?H([12])$", re.I)
_M = re.compile(r"^(\d{4})-(\d{2})$")
_Y = re.compile(r"^(\d{4})$")
_FY = re.compile(r"^FY(\d{4})(?:-?(Q[1-4]|H[12]))?$", re.I)

_EXPECTED = (
    "expected a quarter (2026-Q3), a month (2026-09), a half (2026-H1), a year (2026), "
    "a fiscal period (FY2026, FY2026-Q1), a range (2025-Q3..2026-Q2) or all"
)


@lru_cache(maxsize=8)
def _settings_start(path: str) -> int | None:
    import yaml

    p = os.path.join(path, "salesnb.yaml")
    if not os.path.exists(p):
        return None
    try:
        data = yaml.safe_load(open(p, encoding="utf-8")) or {}
    except yaml.YAMLError as exc:
        raise ParameterError(f"{p}: not valid YAML ({str(exc).splitlines()[0]})") from None
    value = data.get("fiscal_year_start") if isinstance(data, dict) else None
    return None if value is None else _check_start(value, f"{p}: fiscal_year_start")


def _check_start(value, where: str) -> int:
    try:
        m = int(str(value).strip())
    except ValueError:
        m = 0
    if not 1 <= m <= 12:
        raise ParameterError(f"{where}: {str(value)[:20]!r} is not a month number 1..12")
    return m


def fiscal_year_start() -> int:
    """The month (1..12) the fiscal year starts in: ``SALESNB_FISCAL_YEAR_START``, else
    ``fiscal_year_start`` in the project's ``salesnb.yaml`` (current folder, then the
    project root), else 1."""
    env = os.environ.get("SALESNB_FISCAL_YEAR_START", "").strip()
    if env:
        return _check_start(env, "SALESNB_FISCAL_YEAR_START")
    from salesnb import config

    for folder in (os.getcwd(), str(config.PROJECT_ROOT)):
        start = _settings_start(folder)
        if start is not None:
            return start
    return 1


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # "quarter" | "month" | "half" | "year" | "range" | "all"
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return (pd.Timestamp(self.end) - pd.Timedelta(days=1)).date()

    @property
    def months(self) -> int:
        """Calendar months the period spans (a part month counts as one)."""
        s, e = pd.Timestamp(self.start), pd.Timestamp(self.last_day)
        return (e.year - s.year) * 12 + e.month - s.month + 1

    @property
    def days(self) -> int:
        return (self.end - self.start).days

    def _fiscal(self):
        """The FY label's parts when this is a single fiscal period (not a range), else None."""
        return _FY.match(self.label) if self.kind not in ("range", "all") else None

    def _shift_months(self, months: int) -> Period:
        s = (pd.Timestamp(self.start) + pd.DateOffset(months=months)).date()
        e = (pd.Timestamp(self.end) + pd.DateOffset(months=months)).date()
        if self.kind in ("range", "all") or self._fiscal():
            return Period(_range_label(s, e), "range", s, e)
        return parse_period(_label(self.kind, pd.Timestamp(s)))

    def shift_years(self, years: int) -> Period:
        if fy := self._fiscal():
            return parse_period(f"FY{int(fy[1]) + years}" + (f"-{fy[2]}" if fy[2] else ""))
        return self._shift_months(12 * years)

    def previous(self) -> Period:
        return _fy_step(self, -1) if self._fiscal() else self._shift_months(-self.months)

    def next(self) -> Period:
        return _fy_step(self, 1) if self._fiscal() else self._shift_months(self.months)

    def contains(self, d) -> bool:
        return self.start <= pd.Timestamp(d).date() < self.end

    def __str__(self) -> str:
        return self.label


def _fy_step(p: Period, step: int) -> Period:
    m = _FY.match(p.label)
    year, part = int(m[1]), (m[2] or "").upper()
    if not part:
        return parse_period(f"FY{year + step}")
    n, size = int(part[1]), 4 if part[0] == "Q" else 2
    n += step
    while n < 1:
        n, year = n + size, year - 1
    while n > size:
        n, year = n - size, year + 1
    return parse_period(f"FY{year}-{part[0]}{n}")


def _label(kind: str, ts: pd.Timestamp) -> str:
    if kind == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{ts.year}-{ts.month:02d}"
    if kind == "half":
        return f"{ts.year}-H{(ts.month - 1) // 6 + 1}"
    return f"{ts.year}"


def _range_label(start: date, end: date) -> str:
    """The shortest label for ``[start, end)`` made of whole months."""
    last = (pd.Timestamp(end) - pd.Timedelta(days=1)).date()
    if start.day != 1 or end.day != 1:
        return f"{start.isoformat()}..{last.isoformat()}"
    s, e = pd.Timestamp(start), pd.Timestamp(last)
    if (s.year, s.month) == (e.year, e.month):
        return _label("month", s)
    if s.month % 3 == 1 and e.month == s.month + 2 and s.year == e.year:
        return _label("quarter", s)
    if s.month == 1 and e.month == 12:
        return f"{s.year}" if s.year == e.year else f"{s.year}..{e.year}"
    if s.month % 3 == 1 and e.month % 3 == 0:
        return f"{_label('quarter', s)}..{_label('quarter', e)}"
    return f"{_label('month', s)}..{_label('month', e)}"


def _single(text: str) -> Period:
    if m := _Q.match(text):
        y, q = int(m[1]), int(m[2])
        s = date(y, 3 * q - 2, 1)
        e = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
        return Period(f"{y}-Q{q}", "quarter", s, e)
    if m := _H.match(text):
        y, h = int(m[1]), int(m[2])
        s = date(y, 6 * h - 5, 1)
        e = date(y + 1, 1, 1) if h == 2 else date(y, 7, 1)
        return Period(f"{y}-H{h}", "half", s, e)
    if m := _M.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ParameterError(f"period '{text}': month must be 01..12")
        e = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        return Period(f"{y}-{mo:02d}", "month", date(y, mo, 1), e)
    if m := _Y.match(text):
        y = int(m[1])
        return Period(f"{y}", "year", date(y, 1, 1), date(y + 1, 1, 1))
    if m := _FY.match(text):
        y, part = int(m[1]), (m[2] or "").upper()
        fs = fiscal_year_start()
        # FY<y> ends in calendar year y: it starts in y-1 unless the fiscal year is the calendar's
        fy_start = pd.Timestamp(date(y - 1 if fs > 1 else y, fs, 1))
        if not part:
            kind, s, n = "year", fy_start, 12
        else:
            size = 3 if part[0] == "Q" else 6
            kind = "quarter" if part[0] == "Q" else "half"
            s, n = fy_start + pd.DateOffset(months=size * (int(part[1]) - 1)), size
        e = s + pd.DateOffset(months=n)
        return Period(f"FY{y}" + (f"-{part}" if part else ""), kind, s.date(), e.date())
    try:
        d = date.fromisoformat(text)
    except ValueError:
        raise ParameterError(f"period '{text}': {_EXPECTED}") from None
    return Period(d.isoformat(), "day", d, (pd.Timestamp(d) + pd.Timedelta(days=1)).date())


def parse_period(text: str) -> Period:
    """Parse a period label (see the module docstring) into a :class:`Period`.

    >>> parse_period("2026-Q3").start, parse_period("2026-Q3").end
    (datetime.date(2026, 7, 1), datetime.date(2026, 10, 1))
    >>> p = parse_period("2017-06..2018-12"); p.start, p.end, p.months
    (datetime.date(2017, 6, 1), datetime.date(2019, 1, 1), 19)
    >>> parse_period("2025-Q3..2026-Q2").label
    '2025-Q3..2026-Q2'
    """
    text = str(text).strip()
    if text.lower() == "all":
        raise ParameterError(
            "period 'all' needs the warehouse's dates: use salesnb.queries.warehouse.resolve_period"
        )
    if ".." in text:
        a, _, b = text.partition("..")
        first, last = _single(a.strip()), _single(b.strip())
        if last.end <= first.start:
            raise ParameterError(f"period '{text}': the range ends before it starts")
        label = f"{first.label}..{last.label}"
        return Period(label, "range", first.start, last.end)
    p = _single(text)
    if p.kind == "day":
        raise ParameterError(f"period '{text}': {_EXPECTED}")
    return p


def span_period(first, last) -> Period:
    """The ``all`` period: whole months from the month of ``first`` to that of ``last``.

    Labelled as the range it is, so the label parses anywhere a period is expected.

    >>> p = span_period("2016-10-20", "2017-12-31"); p.label, p.months
    ('2016-Q4..2017-Q4', 15)
    """
    s = pd.Timestamp(first).to_period("M").start_time.date()
    e = (pd.Timestamp(last).to_period("M") + 1).start_time.date()
    return Period(_range_label(s, e), "all", s, e)


def as_of_day(period: Period, as_of=None, data_end=None) -> date:
    """The day a period's figures are as of — one rule for studies and dashboards.

    ``as_of`` when given (a day after the period means its last day); else the last day with
    data when the data ends inside the period; else the period's last day.

    >>> q3 = parse_period("2026-Q3")
    >>> as_of_day(q3), as_of_day(q3, data_end="2026-08-15"), as_of_day(q3, as_of="2026-07-02")
    (datetime.date(2026, 9, 30), datetime.date(2026, 8, 15), datetime.date(2026, 7, 2))
    >>> as_of_day(q3, as_of="2026-12-01")
    datetime.date(2026, 9, 30)
    """
    if as_of:
        return min(pd.Timestamp(as_of).date(), period.last_day)
    if data_end is not None and not pd.isna(data_end):
        return min(pd.Timestamp(data_end).date(), period.last_day)
    return period.last_day


def is_running(period: Period, day) -> bool:
    """Whether ``period`` is still running on ``day``: some of its days come after it.

    On the period's last day every day of it is in the data, so it is over (a closed period's
    pipeline coverage is measured against the next period's target, a running one's against
    what is left of its own).

    >>> q3 = parse_period("2026-Q3")
    >>> is_running(q3, date(2026, 9, 29)), is_running(q3, date(2026, 9, 30))
    (True, False)
    """
    return pd.Timestamp(day).date() < period.last_day


def quarter_of(d) -> str:
    ts = pd.Timestamp(d)
    return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"


def last_complete_quarter(max_date) -> Period:
    """The latest quarter fully covered by data ending on ``max_date``."""
    ts = pd.Timestamp(max_date)
    p = parse_period(quarter_of(ts))
    if ts.date() >= p.last_day:
        return p
    return p.previous()
