"""Reading exports: CSV (encodings, delimiters, bad lines), Excel sheets and Parquet.

Every reader returns a :class:`RawFile`: the source columns as read (CSV cells as text),
the row number a spreadsheet would show for each row, and the lines that did not parse.
Input files are only ever opened for reading.
"""

from __future__ import annotations

import codecs
import re
import warnings
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import InputError
from salesnb.sources.ingest.mapping import Mapping, SourceSpec

CSV_EXTS = {".csv", ".tsv"}
EXCEL_EXTS = {".xlsx", ".xlsm", ".xls"}
PARQUET_EXTS = {".parquet", ".pq"}
DATA_EXTS = CSV_EXTS | EXCEL_EXTS | PARQUET_EXTS


@dataclass
class RawFile:
    """A file (or sheet) as read: source columns, row numbers, and lines that did not parse."""

    label: str  # file name (+ [sheet]) shown in messages and the quarantine
    df: pd.DataFrame  # source columns, positional index
    row_numbers: np.ndarray  # the row as a spreadsheet shows it (header row = 1)
    bad_lines: list[tuple[int | None, str, str]] = field(
        default_factory=list
    )  # (row, reason, text)
    encoding: str | None = None


def _norm(name) -> str:
    return re.sub(r"[\s_\-.]+", "_", str(name).replace("\ufeff", "").strip().lower()).strip("_")


def detect_encoding(path: Path, declared: str | None = None) -> str:
    """The text encoding of a CSV file (``declared`` wins unless it is ``auto``)."""
    if declared and str(declared).lower() != "auto":
        try:
            codecs.lookup(declared)
        except LookupError:
            raise InputError(f"{path.name}: unknown encoding '{declared}' in the mapping") from None
        return str(declared)
    with open(path, "rb") as fh:
        head = fh.read(1 << 20)
    if not head.strip():
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if b"\x00" in head:
        raise InputError(
            f"{path.name}: not a text CSV file (it contains binary data; expected comma-separated text)"
        )
    if _decodes(path, "utf-8"):
        return "utf-8"
    import charset_normalizer

    matches = list(charset_normalizer.from_bytes(head))
    if not matches:
        raise InputError(
            f"{path.name}: not a text CSV file (cannot recognise its text encoding; set encoding: in a mapping)"
        )
    best = min(m.chaos for m in matches)
    tied = [m.encoding for m in matches if m.chaos <= best + 0.01]
    # Short Chinese samples are often also valid Korean/Japanese; GBK exports are the case
    # we are asked to handle, and GB18030 is its superset. Western text: prefer cp1252.
    preferred = [e for e in ("gb18030", "gbk", "gb2312", "cp1252") if e in tied]
    candidates = (
        (["gb18030"] if preferred and preferred[0].startswith("gb") else preferred)
        + tied
        + [m.encoding for m in matches]
    )
    for enc in dict.fromkeys(candidates):
        if _decodes(path, enc):
            return enc
    raise InputError(
        f"{path.name}: cannot decode the text (tried {', '.join(dict.fromkeys(candidates))}); set encoding: in a mapping"
    )


def _decodes(path: Path, encoding: str) -> bool:
    dec = codecs.getincrementaldecoder(encoding)(errors="strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(1 << 22):
                dec.decode(chunk)
            dec.decode(b"", final=True)
        return True
    except (UnicodeDecodeError, LookupError):
        return False


def _sniff_delimiter(first_line: str) -> str:
    counts = {d: first_line.count(d) for d in (",", ";", "\t", "|")}
    d = max(counts, key=counts.get)
    return d if counts[d] else ","


def read_csv(path: Path, encoding=None, delimiter=None, header_row: int = 1) -> RawFile:
    """Every column as text; lines with the wrong number of fields are kept aside."""
    import pyarrow as pa
    import pyarrow.csv as pacsv

    enc = detect_encoding(path, encoding)
    with open(path, "rb") as fh:
        head = fh.read(1 << 16)
    text = head.decode(enc, errors="ignore").lstrip("\ufeff")
    lines = [ln for ln in text.splitlines() if ln.strip()]
    skip = max(header_row - 1, 0)
    if len(lines) <= skip:
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    delim = delimiter or ("\t" if path.suffix.lower() == ".tsv" else _sniff_delimiter(lines[skip]))
    if delim == "whitespace":
        return _read_whitespace(path, enc, header_row)
    bad: list[tuple[int | None, str, str]] = []

    def on_bad(row):
        bad.append(bad_line(row))
        return "skip"

    pyenc = "utf8" if enc in ("utf-8", "utf-8-sig") else enc
    ropts = dict(use_threads=False, encoding=pyenc, skip_rows=skip, block_size=1 << 24)
    popts = pacsv.ParseOptions(delimiter=delim, newlines_in_values=True, invalid_row_handler=on_bad)
    try:
        reader = pacsv.open_csv(path, read_options=pacsv.ReadOptions(**ropts), parse_options=popts)
        names = list(reader.schema.names)
        reader.close() if hasattr(reader, "close") else None
        dupes = [n for n, k in Counter(names).items() if k > 1]
        if dupes:
            raise InputError(
                f"{path.name}: column '{dupes[0]}' appears more than once in the header"
            )
        convert = pacsv.ConvertOptions(
            column_types={n: pa.string() for n in names},
            strings_can_be_null=False,
            quoted_strings_can_be_null=False,
            null_values=[],
        )
        bad.clear()
        table = pacsv.read_csv(
            path,
            read_options=pacsv.ReadOptions(**ropts),
            parse_options=popts,
            convert_options=convert,
        )
    except InputError:
        raise
    except Exception as exc:  # pyarrow's own message says which line
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path.name}: cannot be read as CSV ({msg})") from exc
    df = table.to_pandas()
    df.columns = [str(c).replace("\ufeff", "").strip() for c in df.columns]
    if len(df) == 0 and not bad:
        raise InputError(f"{path.name}: has a header but no data rows (nothing to load)")
    # Rows are numbered as in a spreadsheet: header row, then data rows. pyarrow numbers the
    # lines it rejects the same way, so the good rows take the numbers in between.
    bad_numbers = np.asarray(sorted({b[0] for b in bad if b[0] is not None}), dtype="int64")
    candidates = np.arange(
        header_row + 1, header_row + 1 + len(df) + len(bad_numbers), dtype="int64"
    )
    numbers = candidates[~np.isin(candidates, bad_numbers)][: len(df)]
    return RawFile(path.name, df, np.asarray(numbers, dtype="int64"), bad, enc)


def _read_whitespace(path: Path, enc: str, header_row: int) -> RawFile:
    """Fields separated by runs of blanks (``delimiter: whitespace``), e.g. CDNOW_master.txt."""
    with open(path, encoding=enc, newline="") as fh:
        lines = fh.read().lstrip("\ufeff").splitlines()
    header = None
    rows, numbers, bad = [], [], []
    for number, line in enumerate(lines, start=1):
        if number < header_row or not line.strip():
            continue
        fields = line.split()
        if header is None:
            header = fields
            continue
        if len(fields) != len(header):
            reason = f"line has {len(fields)} fields, the header has {len(header)}"
            bad.append(
                (number, reason + (" (truncated line?)" if len(fields) < len(header) else ""), line)
            )
            continue
        rows.append(fields)
        numbers.append(number)
    if header is None:
        raise InputError(f"{path.name}: the file is empty (expected a header line and data rows)")
    dupes = [n for n, k in Counter(header).items() if k > 1]
    if dupes:
        raise InputError(f"{path.name}: column '{dupes[0]}' appears more than once in the header")
    if not rows and not bad:
        raise InputError(f"{path.name}: has a header but no data rows (nothing to load)")
    df = (
        pd.DataFrame(rows, columns=header, dtype="str")
        if rows
        else pd.DataFrame({h: pd.Series([], dtype="str") for h in header})
    )
    return RawFile(path.name, df, np.asarray(numbers, dtype="int64"), bad, enc)


_WORKBOOKS: dict[str, pd.ExcelFile] = {}


def _workbook(path: Path) -> pd.ExcelFile:
    """An open workbook, parsed once per ingest (xlrd parses every sheet on opening)."""
    key = str(path.resolve())
    if key not in _WORKBOOKS:
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                _WORKBOOKS[key] = pd.ExcelFile(path)
        except Exception as exc:
            msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise InputError(f"{path.name}: not a readable Excel workbook ({msg})") from exc
    return _WORKBOOKS[key]


def _close_workbooks() -> None:
    for wb in _WORKBOOKS.values():
        try:
            wb.close()
        except Exception:  # closing a read-only file is best effort
            pass
    _WORKBOOKS.clear()


def excel_sheets(path: Path) -> list[str]:
    return [str(s) for s in _workbook(path).sheet_names]


def read_excel(path: Path, sheet: str | None = None, header_row: int = 1) -> RawFile:
    sheets = excel_sheets(path)
    if not sheets:
        raise InputError(f"{path.name}: the workbook has no sheets")
    if sheet is None:
        use = sheets[0]
    else:
        match = [s for s in sheets if s == sheet] or [s for s in sheets if _norm(s) == _norm(sheet)]
        if not match:
            raise InputError(f"{path.name}: no sheet named '{sheet}' (sheets: {', '.join(sheets)})")
        use = match[0]
    label = f"{path.name}[{use}]"
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            df = _workbook(path).parse(sheet_name=use, dtype=object, header=header_row - 1)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{label}: cannot read the sheet ({msg})") from exc
    df.columns = [str(c).strip() for c in df.columns]
    numbers = np.arange(len(df), dtype="int64") + header_row + 1
    keep = ~df.isna().all(axis=1).to_numpy()
    df = df[keep].reset_index(drop=True)
    numbers = numbers[keep]
    if df.shape[1] == 0 or all(c.startswith("Unnamed:") for c in df.columns):
        raise InputError(f"{label}: the sheet is empty (expected a header row and data rows)")
    if len(df) == 0:
        raise InputError(f"{label}: has a header but no data rows (nothing to load)")
    return RawFile(label, df, numbers)


def read_parquet(path: Path) -> RawFile:
    import pyarrow.parquet as pq

    try:
        table = pq.read_table(path)
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path.name}: not a readable Parquet file ({msg})") from exc
    df = table.to_pandas(date_as_object=False)
    if len(df) == 0:
        raise InputError(f"{path.name}: has columns but no rows (nothing to load)")
    return RawFile(path.name, df, np.arange(1, len(df) + 1, dtype="int64"))


class _Reader:
    """Reads each (file, sheet) once, however many sources use it."""

    def __init__(self, mapping: Mapping | None):
        self.mapping = mapping
        self.cache: dict[tuple, RawFile] = {}

    def read(self, path: Path, spec: SourceSpec) -> RawFile:
        m = self.mapping
        enc = spec.encoding or (m.encoding if m else None)
        delim = spec.delimiter or (m.delimiter if m else None)
        key = (str(path), spec.sheet, spec.header_row, enc, delim)
        if key not in self.cache:
            ext = path.suffix.lower()
            if ext in EXCEL_EXTS:
                self.cache[key] = read_excel(path, spec.sheet, spec.header_row)
            elif ext in PARQUET_EXTS:
                self.cache[key] = read_parquet(path)
            else:
                self.cache[key] = read_csv(path, enc, delim, spec.header_row)
        return self.cache[key]


def bad_line(row) -> tuple[int | None, str, str]:
    """A line pyarrow's CSV reader skipped (its ``invalid_row_handler`` row): the line's
    number, why (field count against the header's) and its text, for the quarantine."""
    why = f"line has {row.actual_columns} fields, the header has {row.expected_columns}"
    if row.actual_columns < row.expected_columns:
        why += " (truncated line?)"
    return row.number, why, row.text
