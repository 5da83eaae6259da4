"""Reading a folder for drafting: every file and sheet, its layout sniffed, each column
profiled.

Files are read with the ingest readers (:mod:`salesnb.sources.ingest.readers`), so
encodings, sheets and bad lines behave as they will at ingest; large text files are
sampled (their first ``SAMPLE_BYTES``). Layout: delimiters (also runs of blanks), title
lines above the header, files without a header line. Each column gets a
:class:`ColumnProfile`: its kind (numbers, dates with their formats, true/false, text),
uniqueness, its values when they are few, and the value set they belong to.
"""

from __future__ import annotations

import contextlib
import csv
import re
import shutil
import tempfile
import warnings
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesnb.errors import InputError
from salesnb.model.validate import DATE_FORMATS, FALSE_WORDS, TRUE_WORDS, coerce_column
from salesnb.sources.ingest.readers import (
    CSV_EXTS,
    EXCEL_EXTS,
    PARQUET_EXTS,
    _sniff_delimiter,
    _workbook,
    detect_encoding,
    excel_sheets,
    read_csv,
    read_excel,
    read_parquet,
)
from salesnb.sources.mapdraft.words import _CJK, _LOST, _VOCAB, _WON, norm_header

TEXT_EXTS = {".txt", ".dat"}  # read as text tables when they look like one
SAMPLE_BYTES = 8 << 20  # text files larger than this are sampled (their head only)
PROFILE_ROWS = 20_000  # rows profiled per file


@dataclass
class ColumnProfile:
    """What the rows read say about one source column."""

    name: str
    position: int
    norm: str
    rows: int
    filled: int
    distinct: int
    unique: bool
    kind: str  # empty, bool, int, float, date, datetime, text
    text: pd.Series  # the values as text (missing: NA)
    formats: list[str] = field(default_factory=list)  # date formats covering text dates
    ambiguous: str | None = None  # e.g. "month-first or day-first"
    values: list[str] | None = None  # every distinct value, most frequent first (small sets)
    vocab: str | None = None
    vocab_hits: list[str] = field(default_factory=list)
    zero_padded: bool = False
    name_like: bool = False  # values look like names of people or things, not codes
    max: float | None = None
    integral: bool = False

    def examples(self, k: int = 3) -> str:
        vals = self.values or list(dict.fromkeys(self.text.dropna().head(200)))
        return ", ".join(_short(v) for v in vals[:k])


@dataclass
class SourceFile:
    """One file (or Excel sheet) as read for drafting."""

    path: Path
    sheet: str | None
    df: pd.DataFrame
    rows_read: int
    truncated: bool = False
    header_row: int = 1
    delimiter: str | None = None
    headerless: bool = False
    first_line: list[str] = field(default_factory=list)
    profiles: list[ColumnProfile] = field(default_factory=list)

    @property
    def label(self) -> str:
        return f"{self.path.name}[{self.sheet}]" if self.sheet else self.path.name

    def profile(self, name: str) -> ColumnProfile:
        for p in self.profiles:
            if p.name == name:
                return p
        raise KeyError(name)


@contextlib.contextmanager
def _head_copy(path: Path) -> Iterator[tuple[Path, bool]]:
    """``path`` itself, or a copy of its first SAMPLE_BYTES (cut at a line end) when larger."""
    if path.stat().st_size <= SAMPLE_BYTES:
        yield path, False
        return
    with open(path, "rb") as fh:
        head = fh.read(SAMPLE_BYTES)
    head = head[: head.rfind(b"\n") + 1] or head
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-map-"))
    try:
        copy = tmp / path.name
        copy.write_bytes(head)
        yield copy, True
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


_NUMBER_LIKE = re.compile(r"^[+-]?[$€£¥]?\(?\d[\d,]*(\.\d+)?\)?%?$")
_DATE_LIKE = re.compile(r"^(\d{4}[-/.年]\d{1,2}[-/.月]\d{1,2}|\d{1,2}[-/.]\d{1,2}[-/.]\d{2,4})")


def _looks_like_data(v) -> bool:
    s = str(v).strip()
    return bool(s) and bool(_NUMBER_LIKE.match(s) or _DATE_LIKE.match(s))


def _headerless(fields: list) -> bool:
    """A first line that is all numbers and dates is data, not a header."""
    filled = [f for f in fields if str(f).strip()]
    return len(fields) >= 2 and bool(filled) and all(_looks_like_data(f) for f in filled)


def _split(line: str, delim: str) -> list[str]:
    if delim == "whitespace":
        return line.split()
    return next(csv.reader([line], delimiter=delim), [])


def _read_text(path: Path, notes: list[str]) -> SourceFile | None:
    """A CSV-like file; None for a .txt that is not a table (noted)."""
    with _head_copy(path) as (p, truncated):
        enc = detect_encoding(p)
        with open(p, "rb") as fh:
            head = fh.read(1 << 16)
        text = head.decode(enc, errors="ignore").lstrip("\ufeff")
        lines = [ln for ln in text.splitlines() if ln.strip()]
        if len(head) == 1 << 16 and len(lines) > 1:
            lines = lines[:-1]  # maybe cut in the middle
        lines = lines[:200]
        if not lines:
            raise InputError(
                f"{path.name}: the file is empty (expected a header line and data rows)"
            )
        if path.suffix.lower() == ".tsv":
            delim = "\t"
        else:
            delim = _sniff_delimiter(lines[0])
            if lines[0].count(delim) == 0:
                n = len(lines[0].split())
                rest = [len(ln.split()) for ln in lines[1:21]]
                if n >= 2 and (not rest or sum(k == n for k in rest) >= 0.8 * len(rest)):
                    delim = "whitespace"
        counts = [len(_split(ln, delim)) for ln in lines]
        mode = Counter(counts[1:] or counts).most_common(1)[0][0]
        header_row = 1
        if counts[0] < mode:  # title lines above the header
            for i, k in enumerate(counts[:10]):
                if k == mode:
                    header_row = i + 1
                    break
        if mode < 2 and path.suffix.lower() in TEXT_EXTS:
            notes.append(f"{path.name}: not used (text without columns)")
            return None
        first = _split(lines[header_row - 1], delim)
        if _headerless(first):
            body = p.read_text(encoding=enc, errors="replace").lstrip("\ufeff").splitlines()
            rows = [_split(ln, delim) for ln in body if ln.strip()]
            n = len(first)
            rows = [r for r in rows if len(r) == n][: PROFILE_ROWS * 5]
            df = pd.DataFrame(rows, columns=[f"column_{i + 1}" for i in range(n)], dtype="str")
            return SourceFile(
                path,
                None,
                df,
                len(df),
                truncated,
                header_row,
                "whitespace" if delim == "whitespace" else None,
                headerless=True,
                first_line=first,
            )
        raw = read_csv(p, None, "whitespace" if delim == "whitespace" else None, header_row)
        return SourceFile(
            path,
            None,
            raw.df,
            len(raw.df),
            truncated,
            header_row,
            "whitespace" if delim == "whitespace" else None,
        )


def _read_sheets(path: Path, notes: list[str]) -> list[SourceFile]:
    out = []
    for sheet in excel_sheets(path):
        try:
            raw = read_excel(path, sheet)
        except InputError:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                peek = _workbook(path).parse(sheet_name=sheet, header=None, nrows=5)
            if peek.dropna(how="all").shape[0] <= 1:
                notes.append(f"{path.name}[{sheet}]: not used (empty sheet)")
                continue
            raise
        header_row = 1
        unnamed = sum(str(c).startswith("Unnamed:") for c in raw.df.columns)
        if unnamed > len(raw.df.columns) / 2:  # title rows above the header
            for h in range(2, 7):
                try:
                    r = read_excel(path, sheet, h)
                except InputError:
                    continue
                if (
                    sum(str(c).startswith("Unnamed:") for c in r.df.columns)
                    <= len(r.df.columns) / 4
                ):
                    raw, header_row = r, h
                    break
        sf = SourceFile(path, sheet, raw.df, len(raw.df), header_row=header_row)
        if _headerless(list(raw.df.columns)):
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                df = _workbook(path).parse(sheet_name=sheet, header=None, dtype=object)
            df = df.dropna(how="all").reset_index(drop=True)
            sf.first_line = [str(c) for c in df.iloc[0]]
            df.columns = [f"column_{i + 1}" for i in range(df.shape[1])]
            sf.df, sf.rows_read, sf.headerless = df, len(df), True
        out.append(sf)
    return out


def read_folder(folder: Path) -> tuple[list[SourceFile], list[str]]:
    """Every data file (and sheet) of ``folder``, profiled; and notes on files not used."""
    if not folder.is_dir():
        raise InputError(
            f"{folder}: no such folder (expected a folder of CSV, Excel or Parquet files)"
        )
    notes: list[str] = []
    files: list[SourceFile] = []
    for p in sorted(folder.iterdir()):
        if p.is_file() and not p.name.startswith((".", "~$")):
            files.extend(_read_file(p, notes))
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to map)")
    for sf in files:
        sf.profiles = [_profile(sf.df[c], c, i) for i, c in enumerate(sf.df.columns)]
    prose = [sf for sf in files if _is_prose(sf)]
    notes += [f"{sf.path.name}: not used (words, not a table of values)" for sf in prose]
    files = [sf for sf in files if sf not in prose]
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to map)")
    return files, notes


def _read_file(p: Path, notes: list[str]) -> list[SourceFile]:
    """The tables of one file (every sheet of a workbook); a note when it is not used."""
    ext = p.suffix.lower()
    if ext in EXCEL_EXTS:
        return _read_sheets(p, notes)
    if ext in PARQUET_EXTS:
        raw = read_parquet(p)
        return [SourceFile(p, None, raw.df, len(raw.df))]
    if ext in CSV_EXTS:
        sf = _read_text(p, notes)
        return [sf] if sf is not None else []
    if ext in TEXT_EXTS:  # read only when it turns out to be a text table
        try:
            sf = _read_text(p, notes)
        except InputError as exc:
            notes.append(f"{p.name}: not used ({str(exc).split(': ', 1)[-1]})")
            return []
        return [sf] if sf is not None else []
    notes.append(f"{p.name}: not used (not a CSV, Excel, Parquet or text table)")
    return []


def _is_prose(sf: SourceFile) -> bool:
    """A .txt/.dat split on blanks whose columns are all words: prose, not a table."""
    return (
        sf.path.suffix.lower() in TEXT_EXTS
        and sf.delimiter == "whitespace"
        and all(p.kind in ("text", "empty") for p in sf.profiles)
    )


def _rows(n: int) -> str:
    return f"{n:,} row" + ("" if n == 1 else "s")


def _short(v, n: int = 24) -> str:
    s = " ".join(str(v).split())
    return s if len(s) <= n else s[: n - 1] + "…"


def _date_cover(text: pd.Series) -> tuple[list[str], float, str | None]:
    """The formats (ingest's list, best first) that together read ``text``; share read."""
    sample = text.dropna()
    sample = sample if len(sample) <= 2000 else sample.sample(2000, random_state=0)
    if sample.empty:
        return [], 0.0, None
    hits = {}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for fmt in DATE_FORMATS:
            ok = pd.to_datetime(sample, format=fmt, errors="coerce").notna()
            if ok.any():
                hits[fmt] = ok
    ranked = sorted(hits, key=lambda f: (-int(hits[f].sum()), DATE_FORMATS.index(f)))
    chosen: list[str] = []
    covered = pd.Series(False, index=sample.index)
    for fmt in ranked:
        new = hits[fmt] & ~covered
        if new.sum() >= max(1, 0.01 * len(sample)):
            chosen.append(fmt)
            covered |= hits[fmt]
    ambiguous = None
    if chosen:
        pairs = {("%m/%d/%Y", "%d/%m/%Y"), ("%m/%d/%y", "%d/%m/%y")}
        for us, eu in pairs:
            if us in hits and eu in hits and hits[us].sum() == hits[eu].sum() == len(sample):
                ambiguous = f"every value reads both month-first and day-first ({us} or {eu})"
    return chosen, float(covered.mean()), ambiguous


def _profile(raw: pd.Series, name, position: int) -> ColumnProfile:
    """What the rows read say about one source column (kind, uniqueness, values, value set)."""
    raw = raw.head(PROFILE_ROWS * 5).reset_index(drop=True)
    text_all = coerce_column(raw, "str").values
    text_all = text_all.where(text_all.notna() & (text_all.str.strip() != ""), None)
    filled_all = text_all.dropna()
    unique = len(filled_all) == len(text_all) and filled_all.is_unique
    sample_raw = raw.head(PROFILE_ROWS)
    present = text_all.head(PROFILE_ROWS).dropna()
    counts = filled_all.value_counts()
    prof = ColumnProfile(
        name=str(name),
        position=position,
        norm=norm_header(name),
        rows=len(raw),
        filled=len(filled_all),
        distinct=int(counts.size),
        unique=bool(unique),
        kind="empty",
        text=text_all,
    )
    if present.empty:
        return prof
    if counts.size <= 40:
        prof.values = [str(v) for v in counts.index]
    _kind_from_type(prof, sample_raw, present)
    if prof.kind == "empty":
        _kind_from_text(prof, sample_raw, present)
    if prof.kind in ("text", "bool") and prof.values:
        best = _vocab(prof.values)
        if best:
            prof.vocab, prof.vocab_hits = best
    if prof.kind == "text":
        prof.name_like = _name_like(present)
    return prof


def _holds_dates(sample_raw: pd.Series) -> bool:
    """Whether the column holds date or timestamp objects (as Excel and Parquet give them)."""
    if pd.api.types.is_datetime64_any_dtype(sample_raw.dtype):
        return True
    if sample_raw.dtype == object:
        kind = pd.api.types.infer_dtype(sample_raw, skipna=True)
        return kind in ("datetime", "datetime64", "date")
    return False


def _kind_from_type(prof: ColumnProfile, sample_raw: pd.Series, present: pd.Series) -> None:
    """The kind the values' own type or shape says: true/false, dates, or compact dates (8 digits)."""
    low = present.str.lower()
    if pd.api.types.is_bool_dtype(sample_raw.dtype) or (
        set(low) <= (TRUE_WORDS | FALSE_WORDS) and not set(low) <= {"0", "1"}
    ):
        prof.kind = "bool"
    elif _holds_dates(sample_raw):
        dates = pd.to_datetime(sample_raw.dropna(), errors="coerce")
        has_time = bool((dates.dropna() != dates.dropna().dt.normalize()).any())
        prof.kind = "datetime" if has_time else "date"
    elif present.str.fullmatch(r"\d+").all() and present.str.len().eq(8).all():
        # 19970101: a compact date, or a number
        ok = pd.to_datetime(present, format="%Y%m%d", errors="coerce")
        if ok.notna().mean() >= 0.95:
            prof.kind, prof.formats = "date", ["%Y%m%d"]
        else:
            prof.kind, prof.integral = "int", True


def _kind_from_text(prof: ColumnProfile, sample_raw: pd.Series, present: pd.Series) -> None:
    """The kind the text says: numbers (as ingest reads them), dates in ingest's formats, text."""
    num = coerce_column(sample_raw, "float")
    good = num.values.notna() & ~num.bad
    if good.sum() >= 0.95 * len(present):
        vals = num.values.dropna()
        prof.integral = bool((vals == vals.round()).all())
        prof.kind = "int" if prof.integral else "float"
        prof.max = float(vals.max()) if len(vals) else None
        prof.zero_padded = bool(
            (present.str.len() > 1).all() and present.str.match(r"0\d").mean() > 0.2
        )
        return
    formats, share, ambiguous = _date_cover(present)
    if share < 0.9:
        prof.kind = "text"
        return
    sample_dates = pd.Series(
        pd.to_datetime(present.head(500), format=formats[0], errors="coerce")
    ).dropna()
    has_time = bool((sample_dates != sample_dates.dt.normalize()).any())
    prof.kind = "datetime" if has_time else "date"
    prof.formats, prof.ambiguous = formats, ambiguous


def _vocab(values: list[str]) -> tuple[str, list[str]] | None:
    """The value set most of ``values`` belong to, with the values that do; None if none.

    >>> _vocab(["Won", "Lost", "Engaging"])
    ('status', ['Won', 'Lost', 'Engaging'])
    """
    vals = [v.strip().lower() for v in values]
    best = None
    for vocab, words in _VOCAB.items():
        hits = [v for v, lv in zip(values, vals, strict=True) if lv in words]
        if vocab == "status" and not any(v in _WON | _LOST for v in vals):
            continue
        if len(hits) >= max(2, 0.5 * len(vals)) and (best is None or len(hits) > len(best[1])):
            best = (vocab, hits)
    return best


def _name_like(present: pd.Series) -> bool:
    """Values that read as names of people or things (words, few digits), not codes."""
    sample = present.head(200)
    wordy = sample.str.contains(r"[a-z]") | sample.str.contains(_CJK)
    return bool(wordy.mean() >= 0.8 and sample.str.contains(r"\d").mean() <= 0.5)
