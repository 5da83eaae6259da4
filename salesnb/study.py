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

What a page shows goes through the catalogs (``salesnb.i18n``, area ``study``): notes of
skipped sections, the header line (:meth:`StudyContext.header`, which names the warehouse,
never its path); what ``<study>.json`` records stays in English (machine-readable).
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
from salesnb.i18n import N_, _, language, period_label
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

# what the headline-figures table of a page calls its one column
_VALUE = N_("value")
TOP_ROWS = 15  # a long table shows this many rows on the page; its CSV has all of them
_CUT = N_("The first {shown} of {total} rows; all of them in [{file}]({file}).")


def source_name(description: str) -> str:
    """The warehouse as a page names it: its file name, or for a URL its scheme and database
    name (no host, user or password) — never a path on the machine that ran the report.

    >>> source_name("/work/main/data/demo.duckdb"), source_name("duckdb:///tmp/x/sales.duckdb")
    ('demo.duckdb', 'sales.duckdb')
    >>> source_name("postgres://user:secret@db.example.com:5432/sales?sslmode=require")
    'postgres: sales'
    >>> source_name("C:\\\\data\\\\shop.duckdb")
    'shop.duckdb'
    """
    from urllib.parse import urlsplit

    text = str(description or "").strip()
    if "://" in text and not text.startswith("duckdb://"):
        url = urlsplit(text)
        database = url.path.strip("/").split("/", 1)[0]  # snowflake://…/database/schema
        return f"{url.scheme}: {database}" if database else url.scheme
    name = text.removeprefix("duckdb://").replace("\\", "/").rstrip("/").rsplit("/", 1)[-1]
    return name or text


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
        # <study>.json records it in English; the page says it in the run's language
        reason = (
            f"table{'s' if len(missing) > 1 else ''} {', '.join(missing)} not in this warehouse"
        )
        self.skipped[what] = reason
        self.note(skipped_note(what, missing))
        return False

    def skip(self, section: str, reason: str) -> None:
        """Replace a section that cannot be computed by a one-line note, and record it in
        ``skipped_sections`` of ``<study>.json`` (what is missing, what would fill it)."""
        self.skipped[section] = reason
        self.note(not_computed_note(section, reason))

    def header(self, against=None) -> str:
        """The page's first line (markdown): the period (``against`` a prior period, when
        given), the scope and the warehouse's name (:func:`source_name`, never its path)."""
        from salesnb.metrics.targets import scope_text

        values = dict(
            period=period_label(str(self.period)),
            scope=scope_text(self.filters.describe()),
            source=source_name(self.src.description),
        )
        if against is None:
            return _("**{period}** · {scope} · source `{source}`").format(**values)
        return _("**{period}** against **{prior}** · {scope} · source `{source}`").format(
            prior=period_label(str(against)), **values
        )

    def figures_table(self) -> pd.DataFrame:
        """The headline figures as the page shows them: one ``value`` column (its header in the
        page's language), one row per key of ``<study>.json``."""
        frame = pd.Series(self.figures, name="value", dtype=object).to_frame()
        return frame if language() == "en" else frame.rename(columns={"value": _(_VALUE)})

    def note(self, markdown: str) -> None:
        try:
            from IPython.display import Markdown, display

            display(Markdown(markdown))
        except ImportError:  # outside Jupyter
            print(markdown)

    def long_table(self, frame: pd.DataFrame, name: str, view, rows: int = TOP_ROWS, csv=None):
        """Show a table a manager reads top-down: its first ``rows`` rows on the page (sort
        ``frame`` first: the page shows its head), the whole of it in the CSV ``name``,
        linked under the table when rows were left out.

        ``view``: how the page formats the rows shown (a function of a frame, returning
        what ``display`` takes: a Styler); ``csv``: the frame the CSV holds when it is not
        ``frame`` itself (the ids the page shows as names, say). Returns nothing: a cell
        ending with it shows the table, not a value.
        """
        self.write_csv(frame if csv is None else csv, name)
        try:
            from IPython.display import display
        except ImportError:  # outside Jupyter
            display = print
        if len(frame):  # an empty table says nothing the sentence above it does not
            display(view(frame.head(rows)))
        if len(frame) > rows:
            self.note(_(_CUT).format(shown=rows, total=len(frame), file=name))

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


def skipped_note(section: str, tables) -> str:
    """The note of a section skipped for want of ``tables`` (markdown, in the page's language;
    ``section``: a ``N_``-marked name, or table names).

    >>> skipped_note("Survey feedback", ["surveys"])
    '**Skipped: Survey feedback** — table surveys not in this warehouse.'
    """
    names = ", ".join(tables) if language() == "en" else "、".join(tables)
    if len(tables) > 1:
        reason = _("tables {tables} not in this warehouse").format(tables=names)
    else:
        reason = _("table {table} not in this warehouse").format(table=names)
    return _("**Skipped: {section}** — {reason}.").format(section=_(section), reason=reason)


def not_computed_note(section: str, reason: str) -> str:
    """The note of a section that cannot be computed (markdown, in the page's language).
    ``section`` and ``reason`` are shown translated when the catalogs hold them (``N_``-marked
    by the caller), as given otherwise.

    >>> not_computed_note("Discount policy", "needs a discount column")
    '**Not computed: Discount policy** — needs a discount column.'
    """
    return _("**Not computed: {section}** — {reason}.").format(section=_(section), reason=_(reason))


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
    "source_name",
    "skipped_note",
    "not_computed_note",
]
