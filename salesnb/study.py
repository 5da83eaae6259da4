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
from salesnb.fileio import atomic_write_text
from salesnb.model.filters import Filters
from salesnb.model.periods import Period

# The facade re-exports what notebooks call as study.<name>; the rules live in queries.warehouse.
from salesnb.queries.warehouse import (  # noqa: E402
    check_filters,
    default_currency,
    known_values,
    resolve_period,
)
from salesnb.sources import Source, connect


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

    def write_csv(self, df: pd.DataFrame, name: str) -> Path:
        """Publish ``df`` as ``<output_dir>/<name>`` and return the path: a CSV that Excel
        opens right on any Windows, Chinese ones included (UTF-8 with a byte-order mark;
        without it Excel reads the file in the machine's code page), no index column,
        ``\\n`` line ends, so the same frame always gives the same bytes. The report also puts
        every such file in ``tables.xlsx`` (``salesnb.report.workbook``).

        >>> import tempfile
        >>> ctx = StudyContext("demo", None, None, None, None, "USD", Path(tempfile.mkdtemp()))
        >>> p = ctx.write_csv(pd.DataFrame({"客户": ["上海"], "amount": [1.5]}), "x.csv")
        >>> p.read_bytes()[:3] == b"\\xef\\xbb\\xbf", p.read_text(encoding="utf-8-sig")
        (True, '客户,amount\\n上海,1.5\\n')
        """
        text = df.to_csv(index=False, lineterminator="\n")
        return atomic_write_text(self.artifact(name), text, encoding="utf-8-sig")

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
    as_of = str(date.today()) if as_of.strip().lower() == "today" else as_of.strip()
    # with as_of, every table is read as known at the end of that day (salesnb.sources.snapshot)
    src = connect(source or None).at(as_of or None)
    check_filters(src, region or None, team or None, channel or None)
    from salesnb.studies import STUDIES

    known = STUDIES.get(study)
    p = resolve_period(src, period or None, as_of or None, known.dated_tables if known else None)
    f = Filters(p.start, p.end, region or None, team or None, channel or None)
    out = Path(output_dir) if output_dir else Path.cwd()
    cur = currency or default_currency(src)
    return StudyContext(study, src, p, f, pd.Timestamp(as_of).date() if as_of else None, cur, out)


__all__ = [
    "open",
    "StudyContext",
    "Filters",
    "check_filters",
    "known_values",
    "default_currency",
    "config",
]
