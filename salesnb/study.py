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
from salesnb.periods import Period, last_complete_quarter, parse_period
from salesnb.source import Source, connect


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


def known_values(src: Source) -> dict[str, list[str]]:
    """Distinct regions, teams and channels in the warehouse (for validation and widgets)."""
    out: dict[str, list[str]] = {"region": [], "team": [], "channel": []}
    if src.has("orders"):
        o = src.table("orders")
        for col in ("region", "channel"):
            if col in o.columns:
                vals = o.select(col).distinct()[col].execute()
                out[col] = sorted(str(v) for v in vals.dropna())
    if src.has("reps") and "team" in src.columns("reps"):
        vals = src.table("reps").select("team").distinct()["team"].execute()
        out["team"] = sorted(str(v) for v in vals.dropna())
    if src.has("reps") and "region" in src.columns("reps") and not out["region"]:
        vals = src.table("reps").select("region").distinct()["region"].execute()
        out["region"] = sorted(str(v) for v in vals.dropna())
    return out


def check_filters(src: Source, region=None, team=None, channel=None) -> None:
    """Raise :class:`ParameterError` for a value the data does not know, listing the known ones."""
    known = None
    for name, value in (("region", region), ("team", team), ("channel", channel)):
        if value in (None, "", "all"):
            continue
        known = known or known_values(src)
        if str(value) not in known[name]:
            shown = ", ".join(known[name][:30]) or "(none in this warehouse)"
            raise ParameterError(f"unknown {name} {str(value)[:60]!r}; known values: {shown}")


def default_period(src: Source, as_of=None) -> Period:
    """The latest complete quarter of order data (up to ``as_of`` when given).

    A CRM export without orders uses the opportunities' last close date instead.
    """
    if as_of:
        return last_complete_quarter(pd.Timestamp(as_of))
    if src.has("orders"):
        mx = src.table("orders").order_date.max().execute()
    elif src.has_column("opportunities", "close_date"):
        mx = src.table("opportunities").close_date.max().execute()
    else:
        raise ParameterError("no orders or dated opportunities in this warehouse: pass a period")
    if mx is None or (isinstance(mx, float) and math.isnan(mx)):
        raise ParameterError("no dated rows in this warehouse: pass a period")
    return last_complete_quarter(mx)


def resolve_period(src: Source, period: str | None, as_of=None) -> Period:
    return parse_period(period) if period else default_period(src, as_of)


def _clean(v):
    if isinstance(v, (np.integer,)):
        return int(v)
    if isinstance(v, (np.floating, float)):
        v = float(v)
        return None if math.isnan(v) or math.isinf(v) else round(v, 6)
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
        tmp = path.with_suffix(".json.tmp")
        tmp.write_text(
            json.dumps(out, indent=2, sort_keys=True, ensure_ascii=False), encoding="utf-8"
        )
        tmp.replace(path)
        return path


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
    p = resolve_period(src, period or None, as_of or None)
    f = Filters(p.start, p.end, region or None, team or None, channel or None)
    out = Path(output_dir) if output_dir else Path.cwd()
    cur = currency or default_currency(src)
    return StudyContext(study, src, p, f, pd.Timestamp(as_of).date() if as_of else None, cur, out)


def default_currency(src: Source) -> str:
    """The most frequent currency in orders, or USD when orders carry none."""
    import ibis

    if src.has_column("orders", "currency"):
        top = (
            src.table("orders")
            .group_by("currency")
            .aggregate(n=ibis._.count())
            .order_by(ibis.desc("n"))
            .limit(1)
            .execute()
        )
        if len(top) and isinstance(top["currency"].iloc[0], str):
            return top["currency"].iloc[0]
    return "USD"


__all__ = [
    "open",
    "StudyContext",
    "Filters",
    "check_filters",
    "known_values",
    "default_currency",
    "config",
]
