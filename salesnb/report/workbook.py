"""``tables.xlsx``: every CSV of a report as one formatted Excel sheet.

After the studies have run, the report folder holds the tables they publish (call lists,
allocations, payouts ...) as CSV files. :func:`write_workbook` puts each of them on its own
sheet of one workbook that a manager opens with a double click:

- one sheet per CSV, in file-name order, named after the file (``deals-scored``), cut to
  Excel's 31 characters and made unique (Excel compares sheet names ignoring case);
- the header row bold, frozen and with a filter; column widths from the content (a Chinese
  character counts as two);
- numbers stored as numbers, formatted by what the column holds, decided from its name and
  values: a share or rate (name with ``rate``, ``pct``, ``share``, ``probability``,
  ``attainment``, ``growth``, ``uplift``, ``discount``, ``mape``, ``bias``; every value
  within +-5, i.e. a fraction) as ``0.0%``; whole numbers as ``#,##0``; other numbers
  (amounts) as ``#,##0.00``. Excel keeps the full value, only the display is rounded;
- ISO dates (``2026-10-09``) stored as dates (``yyyy-mm-dd``); ids (``*_id``), numbers with
  a leading zero and everything else stay text -- never a formula, even when a cell starts
  with ``=``;
- at most Excel's 1,048,575 data rows per sheet; the CSV keeps every row.

Why XlsxWriter (and not openpyxl, which salesnb uses to *read* Excel exports): it is a
write-only library built for formatted output, it is actively maintained, and it writes the
same bytes for the same tables (fixed time stamps inside the zip and a fixed creation date
here), so a report re-run on the same data gives the same ``tables.xlsx``, like its CSVs.
"""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from pathlib import Path

import pandas as pd

from salesnb.fileio import atomic_replace
from salesnb.i18n import _

WORKBOOK_NAME = "tables.xlsx"
MAX_ROWS = 1_048_575  # Excel's 1,048,576 rows, less the header
# A fixed creation date: the same CSVs give the same bytes.
CREATED = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)

_SHARE_WORDS = frozenset(
    {"rate", "pct", "percent", "share", "probability", "attainment", "growth", "uplift"}
    | {"discount", "mape", "bias"}
)
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}[ T]\d{2}:\d{2}(:\d{2}(\.\d+)?)?$")
_LEADING_ZERO = re.compile(r"^-?0\d")
_BAD_SHEET_CHARS = re.compile(r"[\[\]:*?/\\]")
_FORMATS = {
    "percent": "0.0%",
    "integer": "#,##0",
    "amount": "#,##0.00",
    "date": "yyyy-mm-dd",
    "datetime": "yyyy-mm-dd hh:mm",
}


def column_kind(name: str, values: pd.Series) -> str:
    """How a CSV column is stored and shown: ``text``, ``date``, ``datetime``, ``percent``,
    ``integer`` or ``amount`` (rules in the module docstring). ``values``: the column as
    text, empty cells as ``""``.

    >>> s = lambda *v: pd.Series(list(v))
    >>> column_kind("win_rate", s("0.25", "", "1")), column_kind("amount", s("1200.5", "3"))
    ('percent', 'amount')
    >>> column_kind("rep_id", s("12", "13")), column_kind("close_date", s("2026-07-20"))
    ('text', 'date')
    >>> column_kind("share", s("35.5")), column_kind("code", s("007")), column_kind("n", s("4", "5"))
    ('amount', 'text', 'integer')
    """
    # plain Python over the values: most columns fail a test on their first value
    filled = [v for v in values.tolist() if v != ""]
    lower = name.strip().lower()
    if not filled or lower == "id" or lower.endswith(("_id", " id", "_code")):
        return "text"
    if all(_DATE.fullmatch(v) for v in filled):
        return "date"
    if all(_DATETIME.fullmatch(v) for v in filled):
        return "datetime"
    if any(_LEADING_ZERO.match(v) for v in filled):
        return "text"
    numbers = pd.to_numeric(pd.Series(filled, dtype=object), errors="coerce")
    if numbers.isna().any():
        return "text"
    words = set(re.split(r"[^a-z]+", lower))
    if words & _SHARE_WORDS and numbers.abs().max() <= 5:
        return "percent"
    return "integer" if (numbers == numbers.round()).all() else "amount"


def sheet_names(stems: list[str]) -> list[str]:
    """One valid, unique Excel sheet name per file name (31 characters, no ``[]:*?/\\``,
    unique ignoring case, not Excel's reserved ``History``).

    >>> sheet_names(["deals-scored", "a" * 40, "a" * 40, "x:y", "History"])
    ['deals-scored', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa', 'aaaaaaaaaaaaaaaaaaaaaaaaaaaaa~2', 'x_y', 'History_']
    """
    taken: set[str] = set()
    out = []
    for stem in stems:
        base = _BAD_SHEET_CHARS.sub("_", stem).strip("'") or "table"
        if base.lower() == "history":
            base += "_"
        name, n = base[:31], 1
        while name.lower() in taken:
            n += 1
            suffix = f"~{n}"
            name = base[: 31 - len(suffix)] + suffix
        taken.add(name.lower())
        out.append(name)
    return out


def _text_width(text: str) -> int:
    """Characters Excel needs to show ``text``: East Asian wide characters take two."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def _width(header: str, values: pd.Series, kind: str) -> float:
    """A column width (in characters) from the header and the values as they will show."""
    sample = values.iloc[:5000]
    filled = sample[sample != ""]
    if kind in ("date", "datetime"):
        longest = len(_FORMATS[kind])
    elif kind in ("percent", "integer", "amount") and not filled.empty:
        top = pd.to_numeric(filled).abs().max()
        shown = {"percent": f"-{top:.1%}", "integer": f"-{top:,.0f}", "amount": f"-{top:,.2f}"}
        longest = len(shown[kind])
    else:
        longest = max((_text_width(v) for v in filled), default=0)
    return float(min(max(_text_width(header) + 2, longest + 1, 6), 60))


def _read(path: Path) -> pd.DataFrame:
    """A published CSV as text cells (BOM or not); empty cells are ``""``."""
    return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")


def _write_sheet(wb, ws, table: pd.DataFrame, header_fmt) -> None:
    kinds = [column_kind(str(c), table[c]) for c in table.columns]
    formats = [wb.add_format({"num_format": _FORMATS[k]}) if k in _FORMATS else None for k in kinds]
    for j, col in enumerate(table.columns):
        ws.write_string(0, j, str(col), header_fmt)
        ws.set_column(j, j, _width(str(col), table[col], kinds[j]))
    rows = min(len(table), MAX_ROWS)
    for j, col in enumerate(table.columns):
        kind, fmt = kinds[j], formats[j]
        cells = enumerate(table[col].iloc[:rows].tolist(), start=1)  # a list: fast to walk
        if kind in ("percent", "integer", "amount"):
            for i, raw in cells:
                if raw != "":
                    ws.write_number(i, j, float(raw), fmt)
        elif kind in ("date", "datetime"):
            parse = dt.date.fromisoformat if kind == "date" else dt.datetime.fromisoformat
            for i, raw in cells:
                if raw != "":
                    ws.write_datetime(i, j, parse(raw), fmt)
        else:  # text, never a formula (strings_to_formulas is off)
            for i, raw in cells:
                if raw != "":
                    ws.write_string(i, j, raw)
    ws.freeze_panes(1, 0)
    if len(table.columns):
        ws.autofilter(0, 0, min(len(table), MAX_ROWS), len(table.columns) - 1)


def write_workbook(folder: Path, name: str = WORKBOOK_NAME) -> Path | None:
    """Write ``<folder>/<name>`` with one formatted sheet per ``*.csv`` of ``folder`` and
    return its path; None (and no file) when the folder holds no CSV.

    A CSV that cannot be read gets a sheet saying why, so every CSV still has its sheet.
    """
    import xlsxwriter

    folder = Path(folder)
    csvs = sorted(p for p in folder.glob("*.csv") if p.is_file() and not p.name.startswith("."))
    if not csvs:
        return None
    path = folder / name
    options = {
        "in_memory": True,  # fixed time stamps inside the zip
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    with atomic_replace(path) as tmp:
        wb = xlsxwriter.Workbook(str(tmp), options)
        wb.set_properties({"title": "salesnb report tables", "created": CREATED})
        header_fmt = wb.add_format({"bold": True, "bottom": 1})
        for csv, sheet in zip(csvs, sheet_names([p.stem for p in csvs]), strict=True):
            ws = wb.add_worksheet(sheet)
            try:
                table = _read(csv)
            except (UnicodeDecodeError, pd.errors.ParserError, pd.errors.EmptyDataError) as exc:
                why = _("{file} could not be read: {error}").format(file=csv.name, error=exc)
                ws.write_string(0, 0, why)
                continue
            _write_sheet(wb, ws, table, header_fmt)
        wb.close()
    return path
