"""The streaming ingest's side of the quarantine: source lines, raw rows and row numbers.

DuckDB's reader loads the rows; the few rows that are quarantined (or loaded with a value
left empty) are read back here as the text they have in the file, with the same reader as
the in-memory ingest (pyarrow, streamed block by block, so memory stays bounded), to write
the quarantine's ``raw`` JSON and ``row_number`` exactly as the in-memory ingest does.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from salesnb.errors import InputError
from salesnb.sources.ingest.accounting import line_qrow  # noqa: F401  (checks.py: R.line_qrow)
from salesnb.sources.ingest.readers import bad_line


@dataclass
class SourceFile:
    """One CSV file feeding a table, as the streaming ingest reads it."""

    path: Path
    table: str
    header: list[str]  # column names as in the file
    delimiter: str
    columns: dict[str, str] = field(default_factory=dict)  # canonical -> header name
    start: int = 0  # rowid of its first row in the incoming table
    rows: int = 0  # rows loaded (lines that parsed)
    bad_lines: list[tuple[int | None, str, str]] = field(default_factory=list)
    header_row: int = 1

    @property
    def label(self) -> str:
        return self.path.name

    def numbers(self, positions) -> np.ndarray:
        """The row number a spreadsheet shows (header = 1) of rows at ``positions``.

        Good rows take the numbers between the lines that did not parse, as in
        :func:`salesnb.sources.ingest.readers.read_csv`.
        """
        bad = np.asarray(sorted({b[0] for b in self.bad_lines if b[0] is not None}), dtype="int64")
        pos = np.asarray(positions, dtype="int64")
        first = self.header_row + 1
        number = first + pos
        if not len(bad):
            return number
        while True:  # each bad line at or before a row pushes it one further
            moved = first + pos + np.searchsorted(bad, number, side="right")
            if np.array_equal(moved, number):
                return number
            number = moved


def _csv_options(f: SourceFile, bad: list | None):
    import pyarrow as pa
    import pyarrow.csv as pacsv

    def on_bad(row):
        if bad is not None:
            bad.append(bad_line(row))
        return "skip"

    ropts = pacsv.ReadOptions(
        use_threads=True, encoding="utf8", skip_rows=f.header_row - 1, block_size=1 << 24
    )
    popts = pacsv.ParseOptions(
        delimiter=f.delimiter, newlines_in_values=True, invalid_row_handler=on_bad
    )
    convert = pacsv.ConvertOptions(
        column_types={n: pa.string() for n in f.header},
        strings_can_be_null=False,
        quoted_strings_can_be_null=False,
        null_values=[],
    )
    return ropts, popts, convert


def _stream(f: SourceFile, bad: list | None):
    import pyarrow.csv as pacsv

    ropts, popts, convert = _csv_options(f, bad)
    try:
        yield from pacsv.open_csv(
            f.path, read_options=ropts, parse_options=popts, convert_options=convert
        )
    except Exception as exc:
        msg = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{f.label}: cannot be read as CSV ({msg})") from exc


def scan_bad_lines(f: SourceFile) -> tuple[int, list[tuple[int | None, str, str]]]:
    """Rows that parse and the lines that do not (wrong number of fields), streamed."""
    bad: list[tuple[int | None, str, str]] = []
    good = 0
    for batch in _stream(f, bad):
        good += batch.num_rows
    return good, bad


def raw_rows(f: SourceFile, positions) -> dict[int, dict[str, str]]:
    """The rows at ``positions`` (among the rows that parse) as the file has them."""
    want = np.unique(np.asarray(positions, dtype="int64"))
    out: dict[int, dict[str, str]] = {}
    if not len(want):
        return out
    offset = 0
    for batch in _stream(f, None):
        n = batch.num_rows
        lo, hi = np.searchsorted(want, [offset, offset + n])
        if hi > lo:
            cols = [batch.column(i) for i in range(batch.num_columns)]
            for p in want[lo:hi]:
                i = int(p - offset)
                out[int(p)] = {
                    name: cols[k][i].as_py() for k, name in enumerate(batch.schema.names)
                }
        offset += n
        if offset > want[-1]:
            break
    return out


def raw_json(row: dict | None) -> str:
    """The quarantine's ``raw``: the source row as JSON text (cells as in the file)."""
    return json.dumps({str(k): v for k, v in (row or {}).items()}, ensure_ascii=False, default=str)


def qrow(table: str, label: str, number: int, row: dict | None, items, severity: str) -> dict:
    """The quarantine row of a row read: its columns, reasons and raw text."""
    columns = list(dict.fromkeys(c for c, _ in items))
    return dict(
        table_name=table,
        source_file=label,
        row_number=int(number),
        column_name=", ".join(columns),
        reason="; ".join(dict.fromkeys(r for _, r in items)),
        raw=raw_json(row),
        severity=severity,
    )
