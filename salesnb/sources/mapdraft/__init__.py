"""``salesnb map DIR``: draft a YAML mapping for a folder of exports nobody has described yet.

The draft is written in exactly the format ``salesnb ingest --mapping`` reads (see the
docstring of :mod:`salesnb.sources.ingest`), with a comment on every guess saying why it
was made and how sure it is, so an analyst reviews a page of YAML instead of writing one.

How it guesses
--------------
1. **Read.** Every CSV/TSV/text, Excel (every sheet) and Parquet file is read with the same
   readers ingest uses (:func:`salesnb.sources.ingest.read_csv`, ``read_excel``,
   ``read_parquet``), so encodings (UTF-8, BOM, GB18030...), Excel sheets and bad lines
   behave as they will at ingest. Large text files are sampled: only their first few
   megabytes are read. The layout is sniffed first: fields separated by runs of blanks
   (``delimiter: whitespace``), title lines above the header (``header_row``), and files
   without a header line (a first line that is all numbers and dates).
2. **Profile** each source column on the rows read: numbers (thousands separators,
   currency marks and ``%`` as ingest reads them), dates (the ingest date formats; the
   formats that cover the column are written to ``date_formats`` so next month's export
   reads the same way), true/false, uniqueness, and the set of values when it is small.
3. **Score** every (canonical column, source column) pair by name: headers are
   normalised (case, ``_``/``-``/camelCase, units in brackets, abbreviations such as
   qty, amt, cust, No./#/code -> id) and compared with the canonical name and a list of
   usual CRM/ERP header words in English and Chinese (``sales_agent``/``owner``/销售员 ->
   rep, ``account``/客户 -> customer, ``close_value``/``Sales``/金额 -> amount, 下单日期 ->
   order date...): same word, a header that contains the word, or a near spelling
   (:mod:`difflib`). The type must fit (a date column must hold dates). Values can stand
   in for a name: a column holding Won/Lost/Engaging is a stage and status, one holding
   East/West/... a region, Online/Retail a channel, and so on.
4. **Assign** greedily, best score first, one source column per canonical column, with
   a few known reuses: the stage column also gives the status (with a value map to
   open/won/lost), an id column whose values are names also gives the name.
   ``line_no`` is derived when there is an order number (``row_number()`` per order, or
   the constant 1 when every order has one line), ``cost`` from a profit column.
5. **Choose a table per file**: how many required columns were found, how much of the
   file is used, whether the key is unique (a customers table has one row per customer)
   and whether the file or sheet name says it (pipeline -> opportunities, 客户 ->
   customers...). A file that fits no table well gets a commented-out stub with its best
   guess. Two files with the same columns and the same rows (an Excel sheet and its CSV
   export) are read once; files with the same columns and different rows are stacked
   (one ``file:`` glob when their names differ only in digits, e.g. monthly exports).
6. **Cross-check** foreign keys between the files: a value that matches a parent key only
   when case, spaces and punctuation are ignored (``GTXPro`` vs ``GTX Pro``) gets a value
   map; an optional reference whose values mostly resolve nowhere is left out with a
   comment, and other unresolved values get a warning on their line.

A required canonical column (``schema.Table.required_columns``) nothing was found for is
left out of the YAML and marked by a ``# TODO <column>:`` line in its table. The draft is
therefore valid YAML and ``salesnb ingest --mapping draft.yaml`` stops with ingest's own
one-line error ``required column '<column>' of <table> is not mapped``; the TODO line
carries the same words, and ``salesnb map`` prints the line number of every TODO.

Why it is hand-written: the inputs are a handful of headers and a sample of values per
file, and the output must be reviewable YAML with a reason on every line. Schema-matching
libraries (valentine and similar) match two databases to each other, need heavy
dependencies, and return scores without reasons; an LLM or a trained model would need
weights or a network this tool must not depend on. A synonym table plus
:func:`difflib.SequenceMatcher` (standard library) is small, deterministic, explainable,
and easy to extend with a department's own header words.
"""

from __future__ import annotations

import fnmatch
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb.model.schema import TABLES
from salesnb.sources.ingest.mapping import _Loader
from salesnb.sources.ingest.readers import _close_workbooks
from salesnb.sources.mapdraft.propose import Proposal, propose
from salesnb.sources.mapdraft.references import _check_references
from salesnb.sources.mapdraft.render import Todo, _render, yaml_scalar
from salesnb.sources.mapdraft.score import Guess, score_column
from salesnb.sources.mapdraft.sniff import ColumnProfile, SourceFile, read_folder
from salesnb.sources.mapdraft.words import norm_header, synonyms

__all__ = [
    "ColumnProfile",
    "Draft",
    "Guess",
    "Proposal",
    "SourceFile",
    "Todo",
    "draft_mapping",
    "norm_header",
    "propose",
    "read_folder",
    "score_column",
    "synonyms",
    "yaml_scalar",
]

ACTIVE_SCORE = 0.4  # a file whose best table scores below this gets a commented stub


@dataclass
class Draft:
    """A drafted mapping: its YAML text and what is left to do."""

    folder: Path
    text: str
    active: list[Proposal]
    stubs: list[tuple[int, str]]  # (line, file label) of commented stubs
    todos: list[Todo]
    notes: list[str]
    duplicates: list[tuple[str, str]] = field(default_factory=list)  # (file, same data as)

    def proposal(self, table: str) -> Proposal:
        return next(p for p in self.active if p.table == table)

    def summary(self, where: str = "stdout") -> str:
        lines = [f"salesnb map: {self.folder} -> {where}"]
        for p in self.active:
            src = p.file_pattern or p.file.label
            todo = [t for t in self.todos if t.table == p.table and t.source == src]
            state = (
                "to finish: " + ", ".join(f"{t.column} (line {t.line})" for t in todo)
                if todo
                else "complete"
            )
            lines.append(f"  {p.table:<14} <- {src}: {len(p.guesses)} columns guessed, {state}")
        for label, same in self.duplicates:
            lines.append(f"  not read: {label} (same columns and rows as {same})")
        for line, label in self.stubs:
            lines.append(f"  not mapped: {label} (commented-out stub at line {line})")
        if not self.active:
            lines.append("  no file looked like a canonical table: finish a stub by hand")
        if any(t.line for t in self.todos):
            lines.append(
                "  fill every '# TODO <column>:' line; until then ingest stops with "
                "\"required column '<column>' of <table> is not mapped\""
            )
        return "\n".join(lines)


def _same_data(a: SourceFile, b: SourceFile) -> bool:
    if [p.norm for p in a.profiles] != [p.norm for p in b.profiles] or a.rows_read != b.rows_read:
        return False
    for pa_, pb in zip(a.profiles, b.profiles, strict=True):
        if pa_.kind == "text":
            x, y = set(pa_.text.head(1000).dropna()), set(pb.text.head(1000).dropna())
            return bool(x) and len(x & y) >= 0.9 * len(x)
    return True


def _glob(names: list[str], all_names: list[str]) -> str | None:
    parts = [re.split(r"(\d+)", n) for n in names]
    if len({len(p) for p in parts}) != 1:
        return None
    out = []
    for i, segs in enumerate(zip(*parts, strict=True)):
        if i % 2 == 0:
            if len(set(segs)) != 1:
                return None
            out.append(re.sub(r"([\[\]?*])", r"[\1]", segs[0]))
        else:
            out.append(segs[0] if len(set(segs)) == 1 else "*")
    pattern = re.sub(r"\*+", "*", "".join(out))
    hits = {n for n in all_names if fnmatch.fnmatchcase(n, pattern)}
    return pattern if hits == set(names) else None


def draft_mapping(folder, name: str | None = None) -> Draft:
    """Read ``folder`` and draft a mapping for it; see the module docstring."""
    folder = Path(folder)
    try:
        files, notes = read_folder(folder)
    finally:
        _close_workbooks()
    all_names = sorted(p.name for p in folder.iterdir() if p.is_file())
    best: list[Proposal] = []
    for sf in files:
        props = sorted(
            (propose(sf, t) for t in TABLES),
            key=lambda p: (-p.score, list(TABLES).index(p.table)),
        )
        top = props[0]
        if len(props) > 1:
            top.runner_up = (props[1].table, props[1].score)
        best.append(top)
    active: list[Proposal] = []
    stubs: list[tuple[Proposal, str]] = []
    for pr in sorted(best, key=lambda p: (-p.score, p.file.label)):
        sf = pr.file
        if sf.headerless:
            stubs.append((propose(sf, "orders"), "headerless"))
            continue
        if pr.score < ACTIVE_SCORE:
            stubs.append((pr, "weak"))
            continue
        same = [a for a in active if a.table == pr.table and _same_data(a.file, sf)]
        if same:
            stubs.append((pr, f"same:{same[0].file.label}"))
            continue
        active.append(pr)
    # Files with the same columns for the same table: one glob when the names allow it.
    merged: list[Proposal] = []
    for pr in active:
        twins = [
            m
            for m in merged
            if m.table == pr.table
            and m.file.sheet is None
            and pr.file.sheet is None
            and [p.norm for p in m.file.profiles] == [p.norm for p in pr.file.profiles]
        ]
        if twins:
            group = [twins[0].file.path.name, pr.file.path.name]
            if twins[0].file_pattern:
                group = [n for n in all_names if fnmatch.fnmatchcase(n, twins[0].file_pattern)] + [
                    pr.file.path.name
                ]
            pattern = _glob(sorted(set(group)), all_names)
            if pattern:
                twins[0].file_pattern = pattern
                continue
        merged.append(pr)
    active = sorted(merged, key=lambda p: (list(TABLES).index(p.table), p.file.label))
    _check_references(active)
    text, todos, stub_lines, duplicates = _render(
        folder, name or f"{folder.name}-draft", active, stubs, notes
    )
    # The draft must be YAML ingest can read, whatever the headers held.
    yaml.load(text, Loader=_Loader)
    return Draft(folder, text, active, stub_lines, todos, notes, duplicates)
