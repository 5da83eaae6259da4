"""Reporting periods: ``2026-Q3``, ``2026-09`` or ``2026``.

A :class:`Period` is a half-open date range ``[start, end)`` with a label, so
"same period last year" and "months in the period" are one call each.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

import pandas as pd

from salesnb.errors import ParameterError

_Q = re.compile(r"^(\d{4})-?Q([1-4])$", re.I)
_M = re.compile(r"^(\d{4})-(\d{2})$")
_Y = re.compile(r"^(\d{4})$")


@dataclass(frozen=True)
class Period:
    label: str
    kind: str  # "quarter" | "month" | "year"
    start: date
    end: date  # exclusive

    @property
    def last_day(self) -> date:
        return (pd.Timestamp(self.end) - pd.Timedelta(days=1)).date()

    @property
    def months(self) -> int:
        return {"quarter": 3, "month": 1, "year": 12}[self.kind]

    def shift_years(self, years: int) -> Period:
        s = pd.Timestamp(self.start) + pd.DateOffset(years=years)
        return parse_period(_label(self.kind, s))

    def previous(self) -> Period:
        s = pd.Timestamp(self.start) - pd.DateOffset(months=self.months)
        return parse_period(_label(self.kind, s))

    def next(self) -> Period:
        return parse_period(_label(self.kind, pd.Timestamp(self.end)))

    def __str__(self) -> str:
        return self.label


def _label(kind: str, ts: pd.Timestamp) -> str:
    if kind == "quarter":
        return f"{ts.year}-Q{(ts.month - 1) // 3 + 1}"
    if kind == "month":
        return f"{ts.year}-{ts.month:02d}"
    return f"{ts.year}"


def parse_period(text: str) -> Period:
    """Parse ``2026-Q3`` / ``2026-09`` / ``2026`` into a :class:`Period`.

    >>> parse_period("2026-Q3").start, parse_period("2026-Q3").end
    (datetime.date(2026, 7, 1), datetime.date(2026, 10, 1))
    """
    text = str(text).strip()
    if m := _Q.match(text):
        y, q = int(m[1]), int(m[2])
        s = date(y, 3 * q - 2, 1)
        e = date(y + 1, 1, 1) if q == 4 else date(y, 3 * q + 1, 1)
        return Period(f"{y}-Q{q}", "quarter", s, e)
    if m := _M.match(text):
        y, mo = int(m[1]), int(m[2])
        if not 1 <= mo <= 12:
            raise ParameterError(f"period '{text}': month must be 01..12")
        e = date(y + 1, 1, 1) if mo == 12 else date(y, mo + 1, 1)
        return Period(f"{y}-{mo:02d}", "month", date(y, mo, 1), e)
    if m := _Y.match(text):
        y = int(m[1])
        return Period(f"{y}", "year", date(y, 1, 1), date(y + 1, 1, 1))
    raise ParameterError(
        f"period '{text}': expected a quarter (2026-Q3), a month (2026-09) or a year (2026)"
    )


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
