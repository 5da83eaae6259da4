"""The accounting of an ingest: every row read is accepted, quarantined or filtered.

:class:`IngestResult` holds the counts per table and per lookup and prints the summary;
:func:`account_table` checks one table's rows against the rules (pandera, in
:mod:`salesnb.model.validate`) and writes a quarantine row for each one not loaded, asserting
``rows_in == accepted + quarantined + filtered``; :func:`read_lookup` does the same for a
lookup (``rows_in == accepted + malformed``).
"""

from __future__ import annotations

import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.model.validate import PANDAS_DTYPES, check_frame
from salesnb.sources.ingest.build import Piece, apply_null_values, null_markers
from salesnb.sources.ingest.expressions import _Context
from salesnb.sources.ingest.mapping import Mapping, SourceSpec
from salesnb.sources.ingest.plan import _match
from salesnb.sources.ingest.readers import RawFile, _Reader
from salesnb.sources.ingest.write import _existing_keys


@dataclass
class IngestResult:
    """What an ingest did: per-table counts, files read and ignored, quarantine reasons.

    ``tables``: per table ``rows_in``, ``accepted``, ``quarantined``; ``filtered`` (rows
    skipped by ``where:``) for tables with a row filter; ``warnings`` (rows loaded with a
    value left empty) when there are some. ``lookups``: per lookup ``rows_in``,
    ``accepted``, ``malformed`` (lines that did not parse), ``files``, ``missing``.
    """

    folder: str
    into: str
    mapping: str | None
    append: bool
    tables: dict[str, dict] = field(default_factory=dict)
    files: dict[str, list[str]] = field(default_factory=dict)  # table -> file labels
    ignored_files: list[str] = field(default_factory=list)
    ignored_columns: dict[str, list[str]] = field(default_factory=dict)
    reasons: Counter = field(default_factory=Counter)  # (table, reason) -> rows
    warnings: Counter = field(default_factory=Counter)  # (table, reason) -> rows kept
    lookups: dict[str, dict] = field(default_factory=dict)
    lost_lookup_lines: list[tuple[str, str, int | None]] = field(default_factory=list)
    blanked_by_absent: dict[str, list[str]] = field(default_factory=dict)  # lookup -> table.col
    seconds: float = 0.0

    def as_json(self) -> dict:
        out: dict = {"tables": {}}
        for t, c in self.tables.items():
            row = {k: c[k] for k in ("rows_in", "accepted", "quarantined")}
            for k in ("filtered", "warnings"):
                if k in c:
                    row[k] = c[k]
            out["tables"][t] = row
        if self.lookups:
            out["lookups"] = {
                name: {k: c[k] for k in ("rows_in", "accepted", "malformed", "files", "missing")}
                for name, c in self.lookups.items()
            }
        return out

    def summary(self) -> str:
        """The report printed after an ingest: one line per table, then what needs a look."""
        mode = "appended to" if self.append else "loaded into"
        how = f"mapping {self.mapping}" if self.mapping else "canonical file names"
        lines = [f"{self.folder} {mode} {self.into} ({how}, {self.seconds:.1f}s)"]
        lines += self._table_lines()
        if self.reasons:
            lines.append("  quarantined rows (see table quarantine):")
            lines += _most_common_lines(self.reasons, "problem")
        if self.warnings:
            lines.append(
                "  values left empty, rows loaded (see table quarantine, severity warning):"
            )
            lines += _most_common_lines(self.warnings, "warning")
        if self.lookups:
            lines.append("  lookups (read by expressions, not loaded):")
            lines += [self._lookup_line(name, c) for name, c in self.lookups.items()]
        if self.ignored_files:
            lines.append(f"  files not used: {', '.join(self.ignored_files)}")
        for f, cols in self.ignored_columns.items():
            if cols:
                lines.append(f"  columns not used in {f}: {', '.join(map(str, cols))}")
        if self.lost_lookup_lines:
            # Always the last line: lookup lines are lost silently otherwise.
            lines.append(self._lost_lines_warning())
        return "\n".join(lines)

    def _table_lines(self) -> list[str]:
        """The table of counts: a header, then one line per table (``filtered`` if any)."""
        has_filter = any("filtered" in c for c in self.tables.values())
        fcol = f" {'filtered':>10}" if has_filter else ""
        lines = [
            f"  {'table':<14} {'rows in':>10} {'accepted':>10} {'quarantined':>12}{fcol}  files"
        ]
        for t, c in self.tables.items():
            fval = f" {c.get('filtered', 0):>10,}" if has_filter else ""
            lines.append(
                f"  {t:<14} {c['rows_in']:>10,} {c['accepted']:>10,} {c['quarantined']:>12,}{fval}  "
                + ", ".join(dict.fromkeys(self.files.get(t, [])))
            )
        return lines

    def _lookup_line(self, name: str, c: dict) -> str:
        """One lookup's line: its counts and files, or that its optional file is absent."""
        if c["missing"]:
            cols = self.blanked_by_absent.get(name) or []
            return f"    {name:<12} {c['file']} not found (optional)" + (
                f": left empty: {', '.join(cols)}" if cols else ""
            )
        k = c["malformed"]
        bad = f", {k:,} malformed line{'s' if k != 1 else ''}" if k else ""
        return (
            f"    {name:<12} {c['rows_in']:,} rows in, {c['accepted']:,} read{bad}  "
            + ", ".join(c["files"])
        )

    def _lost_lines_warning(self) -> str:
        """The closing warning that malformed lookup lines were not read (first five named)."""
        where = [f"{label} line {n}" for _l, label, n in self.lost_lookup_lines[:5]]
        more = len(self.lost_lookup_lines) - len(where)
        k = len(self.lost_lookup_lines)
        return (
            f"  LOOKUP LINES LOST: {k:,} malformed line{'s' if k != 1 else ''} of lookup files "
            f"{'were' if k != 1 else 'was'} not read ({', '.join(where)}"
            + (f" and {more:,} more" if more else "")
            + "); expressions did not see them: fix the file (see table quarantine)"
        )


def _most_common_lines(counter: Counter, kind: str) -> list[str]:
    """The ten most frequent (table, reason) pairs with their rows, then how many more kinds."""
    lines = [f"    {t}: {r} ({k:,} rows)" for (t, r), k in counter.most_common(10)]
    if len(counter) > 10:
        lines.append(f"    ... and {len(counter) - 10} more kinds of {kind}")
    return lines


def _generic(reason: str) -> str:
    """A quarantine reason without the row's own value, for counting kinds of problem."""
    r = re.sub(r" \(got .*?\)", "", reason)
    r = re.sub(r"= \(.*?\)", "", r)
    r = re.sub(r"^(\w+): .*? is not ", r"\1 is not ", r)
    r = re.sub(r"line has \d+ fields, the header has (\d+)", r"line does not have \1 fields", r)
    return r.strip()


def _raw_json(raw: RawFile, pos: int) -> str:
    row = raw.df.iloc[pos]
    d = {}
    for k, v in row.items():
        if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT or v is pd.NA:
            d[str(k)] = None
        elif isinstance(v, (np.integer,)):
            d[str(k)] = int(v)
        elif isinstance(v, (np.floating, float)):
            d[str(k)] = float(v)
        elif isinstance(v, (int, bool, str)):
            d[str(k)] = v
        else:
            d[str(k)] = str(v)
    return json.dumps(d, ensure_ascii=False, default=str)


def _qrow(
    table: str, p: Piece, pos: int, items: list[tuple[str, str]], severity: str = "error"
) -> dict:
    columns = list(dict.fromkeys(c for c, _ in items))
    return dict(
        table_name=table,
        source_file=p.raw.label,
        row_number=int(p.raw.row_numbers[pos]),
        column_name=", ".join(columns),
        reason="; ".join(dict.fromkeys(r for _, r in items)),
        raw=_raw_json(p.raw, pos),
        severity=severity,
    )


def _is_optional_link(t, column: str, reason: str) -> bool:
    """A foreign-key failure on an optional column (the value can be left empty)."""
    if column not in t.foreign_keys or t.column(column).required:
        return False
    parent, pcol = t.foreign_keys[column]
    return reason.startswith(f"{column} not found in {parent}.{pcol}")


def line_qrow(table_name: str, label: str, number: int, reason: str, text: str) -> dict:
    """The quarantine row of a source line that did not parse."""
    return dict(
        table_name=table_name,
        source_file=label,
        row_number=number,
        column_name=None,
        reason=reason,
        raw=json.dumps({"line": text}, ensure_ascii=False),
        severity="error",
    )


def read_lookup(
    folder: Path,
    name: str,
    spec: SourceSpec,
    m: Mapping,
    reader: _Reader,
    ctx: _Context,
    result: IngestResult,
    quarantine: list[dict],
) -> None:
    """Read one lookup, with the accounting of a table: rows in = read + malformed lines."""
    paths = _match(folder, spec.file, ctx.files)
    entry = dict(file=spec.file, files=[], rows_in=0, accepted=0, malformed=0, missing=not paths)
    result.lookups[name] = entry
    if not paths:
        if spec.optional:
            ctx.absent.add(name)
            return
        raise InputError(
            f"{folder / spec.file}: file not found ({m.where()} uses it as lookup '{name}'; "
            "add optional: true to the lookup if the file may be absent)"
        )
    frames = []
    for path in paths:
        raw = reader.read(path, spec)
        entry["files"].append(raw.label)
        frames.append(apply_null_values(raw.df, null_markers(spec, m)))
        entry["accepted"] += len(raw.df)
        entry["malformed"] += len(raw.bad_lines)
        entry["rows_in"] += len(raw.df) + len(raw.bad_lines)
        for number, reason, text in raw.bad_lines:
            quarantine.append(
                line_qrow(f"lookup:{name}", raw.label, number, f"lookup {name}: {reason}", text)
            )
            result.lost_lookup_lines.append((name, raw.label, number))
    assert entry["rows_in"] == entry["accepted"] + entry["malformed"], (name, entry)
    ctx.lookups[name] = pd.concat(frames, ignore_index=True)


def account_table(
    table: str,
    parts: list[Piece],
    columns: list[str],
    accepted: dict[str, pd.DataFrame],
    *,
    con,
    present: set[str],
    append: bool,
    quarantine: list[dict],
    result: IngestResult,
) -> None:
    """Check the rows of ``table`` built from its sources (``parts``) against the rules.

    The rows kept go to ``accepted[table]`` (``columns`` of it), one quarantine row per row
    not loaded (and per row loaded with a value left empty) to ``quarantine``, the counts
    to ``result``. Foreign keys are checked against the parents in ``accepted`` and, with
    ``append``, those already in the warehouse (``con``, tables ``present``).
    """
    t = TABLES[table]
    frame = _stacked(parts, columns, t)
    parent_keys = _parent_keys(t, columns, accepted, con, present, append)
    existing = _existing_keys(con, table, list(t.key)) if append and table in present else None
    problems = check_frame(
        table, frame[columns], unique=True, parent_keys=parent_keys, existing_keys=existing
    )
    link_warnings = _optional_links_blanked(t, frame, problems)
    bad_idx = np.array(sorted(problems), dtype="int64")
    ok = np.ones(len(frame), dtype=bool)
    if len(bad_idx):
        ok[bad_idx] = False
    accepted[table] = frame.loc[ok, columns].reset_index(drop=True)
    # Quarantine: lines that did not parse, values that did not coerce, rule failures.
    q_count = _quarantine_read_failures(table, parts, quarantine, result)
    q_count += _quarantine_rule_failures(table, parts, frame, bad_idx, problems, quarantine, result)
    # Warnings of rows that were loaded: one quarantine line each, severity warning.
    kept = _kept_warnings(parts, frame, bad_idx, link_warnings)
    for (k, pos), items in sorted(kept.items()):  # file order
        quarantine.append(_qrow(table, parts[k], pos, items, severity="warning"))
        for _c, r in items:
            result.warnings[(table, _generic(r))] += 1
    rows_in = sum(len(p.frame) + len(p.raw.bad_lines) + p.filtered for p in parts)
    filtered = sum(p.filtered for p in parts)
    counts = {"rows_in": rows_in, "accepted": len(accepted[table]), "quarantined": q_count}
    if any(p.row_filter for p in parts):
        counts["filtered"] = filtered
    if kept:
        counts["warnings"] = len(kept)
    result.tables[table] = counts
    assert rows_in == len(accepted[table]) + q_count + filtered, (
        table,
        rows_in,
        len(accepted[table]),
        q_count,
        filtered,
    )


def _stacked(parts: list[Piece], columns: list[str], t) -> pd.DataFrame:
    """The rows of every piece that built without failure, tagged ``__piece``, typed."""
    frames = []
    for k, p in enumerate(parts):
        f = p.frame[~p.frame["__pos"].isin(list(p.failures))] if p.failures else p.frame
        frames.append(f.assign(__piece=k))
    frame = (
        pd.concat(frames, ignore_index=True)
        if len(frames) > 1
        else frames[0].assign(__piece=0).reset_index(drop=True)
    )
    for c in columns:
        frame[c] = frame[c].astype(PANDAS_DTYPES[t.column(c).type])
    return frame


def _parent_keys(t, columns, accepted, con, present: set[str], append: bool) -> dict:
    """Per foreign-key column, the parent keys it may take (accepted now, or in the warehouse)."""
    parent_keys = {}
    for col, (parent, pcol) in t.foreign_keys.items():
        if col not in columns:
            continue
        keys = None
        if parent in accepted:
            keys = pd.Index(accepted[parent][pcol].dropna().unique())
            if append and parent in present:
                old = _existing_keys(con, parent, [pcol])
                if old is not None:
                    keys = keys.append(old).unique()
        elif parent in present:
            keys = _existing_keys(con, parent, [pcol])
        if keys is not None:
            parent_keys[col] = keys
    return parent_keys


def _optional_links_blanked(t, frame: pd.DataFrame, problems: dict) -> dict:
    """Rows whose only problems are optional links: the links left empty, the row kept.

    Such rows leave ``problems`` (both changed in place); returns their warnings by row.
    Any other problem quarantines the row.
    """
    link_warnings: dict[int, list[tuple[str, str]]] = {}
    for idx in list(problems):
        items = problems[idx]
        links = [(c, r) for c, r in items if _is_optional_link(t, c, r)]
        if links and len(links) == len(items):
            for c, _r in links:
                frame.loc[frame.index[idx], c] = None
            link_warnings[idx] = links
            del problems[idx]
    return link_warnings


def _quarantine_read_failures(
    table: str, parts: list[Piece], quarantine: list[dict], result: IngestResult
) -> int:
    """Quarantine the lines that did not parse and the rows that did not build; their count."""
    q_count = 0
    for p in parts:
        for number, reason, text in p.raw.bad_lines:
            quarantine.append(line_qrow(table, p.raw.label, number, reason, text))
            result.reasons[(table, _generic(reason))] += 1
            q_count += 1
        for pos, items in sorted(p.failures.items()):
            quarantine.append(_qrow(table, p, pos, items + p.warnings.get(pos, [])))
            for _c, r in items:
                result.reasons[(table, _generic(r))] += 1
            q_count += 1
    return q_count


def _quarantine_rule_failures(
    table: str,
    parts: list[Piece],
    frame: pd.DataFrame,
    bad_idx: np.ndarray,
    problems: dict,
    quarantine: list[dict],
    result: IngestResult,
) -> int:
    """Quarantine the rows (``bad_idx`` of ``frame``) that broke a rule; their count."""
    for idx in bad_idx:
        k = int(frame["__piece"].iat[idx])
        pos = int(frame["__pos"].iat[idx])
        items = problems[idx] + parts[k].warnings.get(pos, [])
        quarantine.append(_qrow(table, parts[k], pos, items))
        for _c, r in problems[idx]:
            result.reasons[(table, _generic(r))] += 1
    return len(bad_idx)


def _kept_warnings(
    parts: list[Piece], frame: pd.DataFrame, bad_idx: np.ndarray, link_warnings: dict
) -> dict[tuple[int, int], list[tuple[str, str]]]:
    """Warnings of the rows that were loaded, by (piece, position): values left empty."""

    def at(idx) -> tuple[int, int]:
        return int(frame["__piece"].iat[idx]), int(frame["__pos"].iat[idx])

    failed = {at(i) for i in bad_idx}
    kept: dict[tuple[int, int], list[tuple[str, str]]] = {}
    for k, p in enumerate(parts):
        for pos, items in p.warnings.items():
            if pos not in p.failures and (k, pos) not in failed:
                kept.setdefault((k, pos), []).extend(items)
    for idx, items in link_warnings.items():
        kept.setdefault(at(idx), []).extend(items)
    return kept
