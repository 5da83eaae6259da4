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


def _source_lines(
    pr: Proposal, indent: int, first_prefix: str = ""
) -> tuple[list[tuple[str, str | None]], list[str]]:
    """The YAML lines of one source, each with the column it leaves to do (TODO) or None."""
    out: list[tuple[str, str | None]] = []
    ind = " " * indent
    sf, t, g = pr.file, pr.t, pr.guesses

    def line(text: str, todo: str | None = None):
        out.append((text, todo))

    def pair(key: str, value: str, note: str = "", level: int = 0):
        body = ind + "  " * level + f"{key}: {value}"
        if note:
            body = _pad(body) + "  # " + _comment_text(note)
        line(body)

    file_value = pr.file_pattern or sf.path.name
    first = True

    def key_line(key, value, note=""):
        nonlocal first
        if first and first_prefix:
            body = ind[:-2] + first_prefix + f"{key}: {value}"
            if note:
                body = _pad(body) + "  # " + _comment_text(note)
            line(body)
        else:
            pair(key, value, note)
        first = False

    key_line(
        "file",
        yaml_scalar(file_value),
        f"{_rows(sf.rows_read)} read" + (" (the head of a large file)" if sf.truncated else "")
        if not pr.file_pattern
        else "files with the same columns, names differing only in digits",
    )
    if sf.sheet:
        pair("sheet", yaml_scalar(sf.sheet))
    if sf.header_row != 1:
        pair("header_row", str(sf.header_row), "the rows above it are titles")
    if sf.delimiter:
        pair("delimiter", sf.delimiter, "fields are separated by runs of blanks")
    sections = {"columns": [], "constants": [], "derive": []}
    for c in t.column_names:
        if c in g:
            sections[g[c].how].append(c)
    missing = pr.missing()
    pair("columns", "")
    for c in sections["columns"]:
        x = g[c]
        note = f"{x.why}; confidence {x.confidence} ({x.score:.2f})"
        if c in pr.notes:
            note += f"; {pr.notes[c]}"
        p = sf.profile(str(x.value))
        if p.ambiguous:
            note += f"; {p.ambiguous}: check date_formats"
        pair(c, yaml_scalar(x.value), note, 1)
    for c in missing:
        if c in sections["constants"] or c in sections["derive"]:
            continue
        hint = pr.todo_hints.get(c) or _todo_hint(pr, c)
        line(
            f"{ind}  # TODO {c}: <source column>   # required column '{c}' of {t.name} is not "
            f"mapped: {_comment_text(hint)} (or give it under constants: or derive:)",
            c,
        )
    for c, (x, reason) in pr.dropped.items():
        line(f"{ind}  # {c}: {yaml_scalar(x.value)}   # left out: {_comment_text(reason)}")
    for sec in ("constants", "derive"):
        if not sections[sec]:
            continue
        pair(sec, "")
        for c in sections[sec]:
            x = g[c]
            value = _single_quoted(str(x.value)) if sec == "derive" else yaml_scalar(x.value)
            pair(c, value, f"{x.why}; confidence {x.confidence} ({x.score:.2f})", 1)
    if pr.values:
        pair("values", "")
        for c, vm in pr.values.items():
            pair(c, "", pr.value_notes.get(c, ""), 1)
            for k, v in vm.items():
                pair(yaml_scalar(k), yaml_scalar(v), "", 2)
    fmts = {
        c: sf.profile(str(g[c].value)).formats
        for c in sections["columns"]
        if t.column(c).type in ("date", "datetime") and sf.profile(str(g[c].value)).formats
    }
    if fmts:
        pair("date_formats", "")
        for c, f in fmts.items():
            value = (
                yaml_scalar(f[0])
                if len(f) == 1
                else "[" + ", ".join(yaml_scalar(x) for x in f) + "]"
            )
            pair(c, value, "the date formats found in the rows read", 1)
    used = pr.source_columns() | {
        p.name
        for p in sf.profiles
        if any(quote_ident(p.name) in str(x.value) for x in g.values() if x.how == "derive")
    }
    unused = [p.name for p in sf.profiles if p.name not in used]
    notes = []
    if unused:
        notes.append("not used: " + ", ".join(unused))
    return out, notes


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
    out = _Out()
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
    out.add(f"name: {yaml_scalar(name)}")
    out.add(f"description: {yaml_scalar(f'draft mapping for {folder.name} (salesnb map)')}")
    out.add("")
    out.add("tables:")
    todos: list[Todo] = []
    if not active:
        out.add("  # TODO tables: no file looked like a canonical table; finish a stub below")
    by_table: dict[str, list[Proposal]] = {}
    for pr in active:
        by_table.setdefault(pr.table, []).append(pr)
    for table, prs in by_table.items():
        out.add(f"  {table}:")
        for k, pr in enumerate(prs):
            src = pr.file_pattern or pr.file.label
            head = f"{src} -> {table} (confidence {pr.score:.2f}): " + "; ".join(pr.why)
            if pr.runner_up:
                head += f"; next best: {pr.runner_up[0]} ({pr.runner_up[1]:.2f})"
            if len(prs) > 1:
                head = f"source {k + 1}: " + head
            indent = 6 if len(prs) > 1 else 4
            out.comment(head, 4)
            lines, tail = _source_lines(pr, indent, "- " if len(prs) > 1 else "")
            for text, todo in lines:
                n = out.add(text)
                if todo:
                    todos.append(Todo(n, table, todo, src))
            for tl in tail:
                out.comment(tl, indent)
    stub_lines: list[tuple[int, str]] = []
    duplicates: list[tuple[str, str]] = []
    active_tables = {p.table for p in active}
    if stubs:
        out.add("")
        out.add("  " + "# " + "-" * 86)
        out.comment("Files not mapped: each has a commented-out stub with its best guess.", 2)
        out.comment("To load one, uncomment its lines (delete '# ') and finish them.", 2)
    for pr, why in stubs:
        sf = pr.file
        out.add("")
        cols = ", ".join(p.name for p in sf.profiles)
        if why.startswith("same:"):
            out.add(
                f"  # {sf.label}: same columns and rows as {why[5:]} (mapped above), not read again"
            )
            duplicates.append((sf.label, why[5:]))
            continue
        if why == "headerless":
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
        else:
            first = out.add(f"  # {sf.label} ({_rows(sf.rows_read)}; columns: {_short(cols, 200)})")
            out.comment(
                f"no canonical table fits well: best guess {pr.table} ({pr.score:.2f}: "
                + "; ".join(pr.why)
                + ")",
                2,
            )
            if {p.norm for p in sf.profiles} & {"returned", "return", "退货"} and any(
                p.norm in ("order id", "订单号", "订单编号") for p in sf.profiles
            ):
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
        stub_lines.append((first, sf.label))
        lines, tail = _source_lines(pr, 4)
        out.add(f"  # {pr.table}:")
        for text, _todo in lines:
            out.add("  # " + text[2:])
        for tl in tail:
            out.comment(tl, 4)
    return "\n".join(out.lines) + "\n", todos, stub_lines, duplicates


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
