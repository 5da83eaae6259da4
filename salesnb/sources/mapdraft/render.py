"""Writing the draft as YAML: the format ``salesnb ingest --mapping`` reads, with a comment
on every guess, ``# TODO <column>:`` lines for what is left to do, and commented-out stubs
for the files that fit no table.
"""

from __future__ import annotations

import json
import re
import textwrap
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import yaml

from salesnb.sources.ingest.mapping import _Loader
from salesnb.sources.mapdraft.propose import Proposal
from salesnb.sources.mapdraft.score import MIN_SCORE, _name_match, _type_fit
from salesnb.sources.mapdraft.sniff import ColumnProfile, _rows, _short
from salesnb.sources.mapdraft.words import synonyms
from salesnb.sql import quote_ident


@dataclass
class Todo:
    line: int
    table: str
    column: str
    source: str = ""  # the file (label or pattern) of the source the line belongs to


_PLAIN = re.compile(r"^[^\s#'\"\[\]{},&*!|>%@`?:\-][^#]*$")


def yaml_scalar(v) -> str:
    """``v`` as a YAML scalar that reads back as the same value (plain when safe).

    >>> yaml_scalar("Order ID"), yaml_scalar("Yes"), yaml_scalar("2024"), yaml_scalar("a: b")
    ('Order ID', '"Yes"', '"2024"', '"a: b"')
    """
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, int | float):
        return repr(v)
    s = str(v)
    if (
        _PLAIN.match(s)
        and ": " not in s
        and not s.endswith((":", " "))
        and yaml.safe_load(s) == s
        and yaml.load(s, Loader=_Loader) == s
    ):
        return s
    return json.dumps(s, ensure_ascii=False)


def _single_quoted(expr: str) -> str:
    return "'" + expr.replace("'", "''") + "'"


def _width(s: str) -> int:
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in s)


def _pad(s: str, width: int = 38) -> str:
    return s + " " * max(width - _width(s), 0)


def _comment_text(s: str) -> str:
    return " ".join(str(s).split())


class _Out:
    """Lines of YAML being written, numbered as they are added."""

    def __init__(self):
        self.lines: list[str] = []

    def add(self, line: str = "") -> int:
        self.lines.append(line.rstrip())
        return len(self.lines)

    def comment(self, text: str, indent: int = 0, width: int = 96) -> None:
        for ln in textwrap.wrap(_comment_text(text), width - indent - 2) or [""]:
            self.add(" " * indent + "# " + ln)


class _SourceOut:
    """The YAML lines of one source being written, each with the column it leaves to do."""

    def __init__(self, indent: int, first_prefix: str = ""):
        self.out: list[tuple[str, str | None]] = []
        self.ind = " " * indent
        self.first_prefix = first_prefix

    def line(self, text: str, todo: str | None = None) -> None:
        self.out.append((text, todo))

    def pair(self, key: str, value: str, note: str = "", level: int = 0) -> None:
        """``key: value`` at ``level`` below the source, with ``note`` as a comment."""
        self.line(_with_note(self.ind + "  " * level + f"{key}: {value}", note))

    def first(self, key: str, value: str, note: str = "") -> None:
        """The source's first key, after ``first_prefix`` (``- `` in a list of sources)."""
        if self.first_prefix:
            self.line(_with_note(self.ind[:-2] + self.first_prefix + f"{key}: {value}", note))
        else:
            self.pair(key, value, note)


def _with_note(body: str, note: str) -> str:
    """A YAML line with ``note`` as a comment lined up on the right (none when empty)."""
    return _pad(body) + "  # " + _comment_text(note) if note else body


def _source_lines(
    pr: Proposal, indent: int, first_prefix: str = ""
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The YAML lines of one source, each with the column it leaves to do (TODO) or None."""
    w = _SourceOut(indent, first_prefix)
    sf = pr.file
    w.first("file", yaml_scalar(pr.file_pattern or sf.path.name), _file_note(pr))
    if sf.sheet:
        w.pair("sheet", yaml_scalar(sf.sheet))
    if sf.header_row != 1:
        w.pair("header_row", str(sf.header_row), "the rows above it are titles")
    if sf.delimiter:
        w.pair("delimiter", sf.delimiter, "fields are separated by runs of blanks")
    sections = _sections(pr)
    w.pair("columns", "")
    for c in sections["columns"]:
        w.pair(c, yaml_scalar(pr.guesses[c].value), _column_note(pr, c), 1)
    for c in pr.missing():
        if c not in sections["constants"] and c not in sections["derive"]:
            w.line(_todo_line(pr, c, w.ind), c)
    for c, (x, reason) in pr.dropped.items():
        w.line(f"{w.ind}  # {c}: {yaml_scalar(x.value)}   # left out: {_comment_text(reason)}")
    _fixed_lines(w, pr, sections)
    _values_lines(w, pr)
    fmts = _date_formats(pr, sections["columns"])
    if fmts:
        w.pair("date_formats", "")
        for c, f in fmts.items():
            w.pair(c, _formats_value(f), "the date formats found in the rows read", 1)
    unused = _unused_columns(pr)
    return w.out, (["not used: " + ", ".join(unused)] if unused else [])


def _file_note(pr: Proposal) -> str:
    """The comment on the ``file:`` line: the rows read, or that a glob reads several files."""
    if pr.file_pattern:
        return "files with the same columns, names differing only in digits"
    sf = pr.file
    return f"{_rows(sf.rows_read)} read" + (" (the head of a large file)" if sf.truncated else "")


def _sections(pr: Proposal) -> dict[str, list[str]]:
    """The guessed columns under ``columns:``, ``constants:`` and ``derive:``, in table order."""
    sections: dict[str, list[str]] = {"columns": [], "constants": [], "derive": []}
    for c in pr.t.column_names:
        if c in pr.guesses:
            sections[pr.guesses[c].how].append(c)
    return sections


def _guess_note(x) -> str:
    """Why a guess was made and how sure it is."""
    return f"{x.why}; confidence {x.confidence} ({x.score:.2f})"


def _column_note(pr: Proposal, c: str) -> str:
    """The comment on a ``columns:`` line: the guess, extra notes, ambiguous date formats."""
    x = pr.guesses[c]
    note = _guess_note(x)
    if c in pr.notes:
        note += f"; {pr.notes[c]}"
    p = pr.file.profile(str(x.value))
    if p.ambiguous:
        note += f"; {p.ambiguous}: check date_formats"
    return note


def _todo_line(pr: Proposal, c: str, ind: str) -> str:
    """The ``# TODO <column>:`` line of a required column nothing was found for."""
    hint = pr.todo_hints.get(c) or _todo_hint(pr, c)
    return (
        f"{ind}  # TODO {c}: <source column>   # required column '{c}' of {pr.t.name} is not "
        f"mapped: {_comment_text(hint)} (or give it under constants: or derive:)"
    )


def _fixed_lines(w: _SourceOut, pr: Proposal, sections: dict[str, list[str]]) -> None:
    """The ``constants:`` and ``derive:`` sections (expressions single-quoted)."""
    for sec in ("constants", "derive"):
        if not sections[sec]:
            continue
        w.pair(sec, "")
        for c in sections[sec]:
            x = pr.guesses[c]
            value = _single_quoted(str(x.value)) if sec == "derive" else yaml_scalar(x.value)
            w.pair(c, value, _guess_note(x), 1)


def _values_lines(w: _SourceOut, pr: Proposal) -> None:
    """The ``values:`` section: one map per column, with its note."""
    if not pr.values:
        return
    w.pair("values", "")
    for c, vm in pr.values.items():
        w.pair(c, "", pr.value_notes.get(c, ""), 1)
        for k, v in vm.items():
            w.pair(yaml_scalar(k), yaml_scalar(v), "", 2)


def _date_formats(pr: Proposal, columns: list[str]) -> dict[str, list[str]]:
    """The date formats found for each date column read from the file."""
    sf, t, g = pr.file, pr.t, pr.guesses
    return {
        c: sf.profile(str(g[c].value)).formats
        for c in columns
        if t.column(c).type in ("date", "datetime") and sf.profile(str(g[c].value)).formats
    }


def _formats_value(f: list[str]) -> str:
    """One format as a scalar, several as a flow list.

    >>> _formats_value(["%Y-%m-%d"]), _formats_value(["%m/%d/%Y", "%Y-%m-%d"])
    ('"%Y-%m-%d"', '["%m/%d/%Y", "%Y-%m-%d"]')
    """
    return yaml_scalar(f[0]) if len(f) == 1 else "[" + ", ".join(yaml_scalar(x) for x in f) + "]"


def _unused_columns(pr: Proposal) -> list[str]:
    """Source columns no guess reads, by name or inside an expression."""
    sf, g = pr.file, pr.guesses
    used = pr.source_columns() | {
        p.name
        for p in sf.profiles
        if any(quote_ident(p.name) in str(x.value) for x in g.values() if x.how == "derive")
    }
    return [p.name for p in sf.profiles if p.name not in used]


def _todo_hint(pr: Proposal, column: str) -> str:
    """Why a required column is empty: the near misses, if any."""
    t = pr.t
    near = []
    for p in pr.file.profiles:
        best = 0.0
        for syn in synonyms(t.name, column):
            best = max(best, _name_match(p.norm, syn)[0])
        if best >= MIN_SCORE and p.name not in pr.source_columns():
            fit, why = _type_fit(t.column(column).type, column, p)
            near.append(
                f"'{p.name}' has the name, but its values are {why} (e.g. {p.examples(2)})"
                if fit < 1
                else f"'{p.name}'?"
            )
    if near:
        return "; ".join(near[:2])
    return "no column looks like it"


def _render(
    folder: Path, name: str, active: list[Proposal], stubs, notes
) -> tuple[str, list[Todo], list[tuple[int, str]], list[tuple[str, str]]]:
    """The draft's YAML text, its TODO lines, the lines of its stubs, the duplicate files."""
    out = _Out()
    _header_comments(out, folder, active, notes)
    out.add(f"name: {yaml_scalar(name)}")
    out.add(f"description: {yaml_scalar(f'draft mapping for {folder.name} (salesnb map)')}")
    out.add("")
    out.add("tables:")
    if not active:
        out.add("  # TODO tables: no file looked like a canonical table; finish a stub below")
    todos = _tables(out, active)
    stub_lines: list[tuple[int, str]] = []
    duplicates: list[tuple[str, str]] = []
    active_tables = {p.table for p in active}
    if stubs:
        out.add("")
        out.add("  " + "# " + "-" * 86)
        out.comment("Files not mapped: each has a commented-out stub with its best guess.", 2)
        out.comment("To load one, uncomment its lines (delete '# ') and finish them.", 2)
    for pr, why in stubs:
        out.add("")
        if why.startswith("same:"):
            out.add(
                f"  # {pr.file.label}: same columns and rows as {why[5:]} (mapped above), not read again"
            )
            duplicates.append((pr.file.label, why[5:]))
            continue
        stub_lines.append((_stub(out, pr, why, active_tables), pr.file.label))
    return "\n".join(out.lines) + "\n", todos, stub_lines, duplicates


def _header_comments(out: _Out, folder: Path, active: list[Proposal], notes) -> None:
    """The comments that open the draft: what it is, what TODO lines mean, what was read."""
    out.comment(
        f"Draft mapping for {folder.name}/, written by `salesnb map` from the files' headers and "
        "values. Review it before use: every guess says why it was made and how sure it is "
        "(confidence high / medium / low)."
    )
    out.add("#")
    out.comment(
        "Lines '# TODO <column>:' are required columns nothing was found for. Until each is "
        "filled (a source column under columns:, a fixed value under constants:, or an SQL "
        'expression under derive:), `salesnb ingest --mapping` stops with "required column '
        "'<column>' of <table> is not mapped\", naming the column of the TODO line to finish."
    )
    out.comment(
        "The format is described in the docstring of salesnb/sources/ingest/__init__.py; "
        "salesnb/mappings/*.yaml are worked examples."
    )
    out.add("#")
    read = ", ".join(
        f"{p.file_pattern} (files)"
        if p.file_pattern
        else f"{p.file.label} ({_rows(p.file.rows_read)})"
        for p in active
    )
    if read:
        out.comment(f"Mapped: {read}.")
    for n in notes:
        out.comment(n)


def _tables(out: _Out, active: list[Proposal]) -> list[Todo]:
    """The ``tables:`` entries, one per table (a list when several files feed it); the TODOs."""
    todos: list[Todo] = []
    by_table: dict[str, list[Proposal]] = {}
    for pr in active:
        by_table.setdefault(pr.table, []).append(pr)
    for table, prs in by_table.items():
        out.add(f"  {table}:")
        for k, pr in enumerate(prs):
            src = pr.file_pattern or pr.file.label
            indent = 6 if len(prs) > 1 else 4
            out.comment(_source_head(pr, k, len(prs)), 4)
            lines, tail = _source_lines(pr, indent, "- " if len(prs) > 1 else "")
            for text, todo in lines:
                n = out.add(text)
                if todo:
                    todos.append(Todo(n, table, todo, src))
            for tl in tail:
                out.comment(tl, indent)
    return todos


def _source_head(pr: Proposal, k: int, count: int) -> str:
    """The comment above a source: its file, table, confidence, reasons and the next best."""
    src = pr.file_pattern or pr.file.label
    head = f"{src} -> {pr.table} (confidence {pr.score:.2f}): " + "; ".join(pr.why)
    if pr.runner_up:
        head += f"; next best: {pr.runner_up[0]} ({pr.runner_up[1]:.2f})"
    if count > 1:
        head = f"source {k + 1}: " + head
    return head


def _stub(out: _Out, pr: Proposal, why: str, active_tables: set[str]) -> int:
    """A commented-out stub for a file not mapped; the number of its first line."""
    sf = pr.file
    if why == "headerless":
        first = _headerless_head(out, pr)
    else:
        cols = ", ".join(p.name for p in sf.profiles)
        first = out.add(f"  # {sf.label} ({_rows(sf.rows_read)}; columns: {_short(cols, 200)})")
        out.comment(
            f"no canonical table fits well: best guess {pr.table} ({pr.score:.2f}: "
            + "; ".join(pr.why)
            + ")",
            2,
        )
        if _looks_like_returns(sf):
            out.comment(
                "It looks like a list of returned orders: declare it under lookups: and "
                "derive orders.returned from it (see salesnb/mappings/superstore.yaml).",
                2,
            )
    if pr.table in active_tables:
        out.comment(
            f"{pr.table} is already mapped above: to read this file too, make {pr.table}: "
            "a list of sources (each starting with '- file:')",
            2,
        )
    lines, tail = _source_lines(pr, 4)
    out.add(f"  # {pr.table}:")
    for text, _todo in lines:
        out.add("  # " + text[2:])
    for tl in tail:
        out.comment(tl, 4)
    return first


def _headerless_head(out: _Out, pr: Proposal) -> int:
    """The head of a stub for a file without a header line: how to add one, columns by position."""
    sf = pr.file
    first = out.add(
        f"  # {sf.label}: no header line; its first line is data: {' '.join(_short(x, 16) for x in sf.first_line)}"
    )
    out.comment(
        "ingest reads the first line of a file as its headers, so add a header line to "
        "a copy of this file (ingest never edits files), e.g.: "
        + (" " if sf.delimiter else ",").join(p.name for p in sf.profiles),
        2,
    )
    guesses = "; ".join(
        f"{p.name} (e.g. {p.examples(2)}): {_positional(pr, p)}" for p in sf.profiles
    )
    out.comment(f"By position: {guesses}.", 2)
    return first


def _looks_like_returns(sf) -> bool:
    """A file with a returned column and an order id: a list of returned orders."""
    norms = {p.norm for p in sf.profiles}
    return bool(norms & {"returned", "return", "退货"}) and any(
        p.norm in ("order id", "订单号", "订单编号") for p in sf.profiles
    )


def _positional(pr: Proposal, p: ColumnProfile) -> str:
    hit = [c for c, g in pr.guesses.items() if g.how == "columns" and g.value == p.name]
    kind = {
        "int": "whole numbers",
        "float": "numbers",
        "date": "dates",
        "datetime": "timestamps",
    }.get(p.kind, p.kind)
    extra = ", zero-padded" if p.zero_padded else ""
    extra += f", {p.distinct:,} distinct" if p.kind in ("int", "text") else ""
    return f"{kind}{extra}" + (f" -> {hit[0]}?" if hit else "")
