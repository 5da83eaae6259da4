"""``salesnb validate``: re-check a warehouse already built.

The row rules of :mod:`salesnb.model.validate` run through the same pandera schema, batch by
batch, so a fact table never has to fit in memory; the whole-table rules (keys unique,
foreign keys resolve, no impossible sequence of dates) are counted in the engine by
:mod:`salesnb.queries.quality`, the very functions the data-quality study shows, so
``salesnb validate`` and the report agree.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

import pandas as pd

from salesnb.errors import InputError
from salesnb.model.schema import TABLES, Table
from salesnb.model.validate import check_frame, coerce_column, quiet_connect
from salesnb.sql import quote_ident


@dataclass
class ValidationReport:
    """Problems found in a warehouse, per table. ``problems`` empty means it passed."""

    path: str
    tables: dict[str, int] = field(default_factory=dict)  # table -> rows
    problems: list[dict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def add(self, table, column, check, rows, message, examples=()):
        self.problems.append(
            {
                "table": table,
                "column": column,
                "check": check,
                "rows": int(rows),
                "message": message,
                "examples": [str(e) for e in list(examples)[:5]],
            }
        )

    def as_json(self) -> dict:
        per = {
            t: {"rows": n, "problems": sum(1 for p in self.problems if p["table"] == t)}
            for t, n in self.tables.items()
        }
        return {
            "warehouse": self.path,
            "ok": not self.problems,
            "tables": per,
            "problems": self.problems,
            "notes": self.notes,
        }

    def summary(self) -> str:
        lines = [f"{self.path}: {len(self.tables)} tables checked"]
        for t, n in self.tables.items():
            mine = [p for p in self.problems if p["table"] == t]
            status = "ok" if not mine else f"{len(mine)} problem(s)"
            lines.append(f"  {t:<14} {n:>10,} rows  {status}")
            for p in mine:
                ex = f" e.g. {', '.join(p['examples'])}" if p["examples"] else ""
                lines.append(f"    - {p['column'] or '-'}: {p['message']} ({p['rows']:,} rows){ex}")
        for p in self.problems:
            if p["table"] not in self.tables:
                lines.append(f"  {p['table']}: {p['message']}")
        for n in self.notes:
            lines.append(f"  note: {n}")
        lines.append("OK" if not self.problems else f"{len(self.problems)} problem(s) found")
        return "\n".join(lines)


def validate_warehouse(path, batch_rows: int = 250_000) -> ValidationReport:
    """Re-check every canonical table of a DuckDB warehouse against the model.

    Row rules run through the pandera schemas batch by batch; key uniqueness and foreign
    keys run in DuckDB over the whole table. Returns a :class:`ValidationReport`.
    """

    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such warehouse")
    try:
        con = quiet_connect(str(path), read_only=True)
    except Exception as exc:
        raise InputError(f"{path}: not a readable DuckDB warehouse ({exc})") from exc
    report = ValidationReport(str(path))
    try:
        present = {
            r[0] for r in con.execute("SELECT table_name FROM information_schema.tables").fetchall()
        }
        tables = [t for t in TABLES if t in present]
        if not tables:
            report.add(
                "(warehouse)",
                None,
                "tables",
                0,
                "no canonical table found (expected at least one of " + ", ".join(TABLES) + ")",
            )
            return report
        if "orders" not in present:
            report.notes.append("orders is absent: order-based studies will say so and skip")
        for name in tables:
            _validate_table(con, report, TABLES[name], present, batch_rows)
        _validate_across_rows(con, report, path)
        if "quarantine" in present:
            n = con.execute("SELECT count(*) FROM quarantine").fetchone()[0]
            if n:
                report.notes.append(f"{n:,} rows were quarantined at ingest (table quarantine)")
    finally:
        con.close()
    return report


def _validate_table(con, report: ValidationReport, t: Table, present: set[str], batch_rows: int):
    cols = [
        r[0]
        for r in con.execute(
            "SELECT column_name FROM information_schema.columns WHERE table_name = ? ORDER BY ordinal_position",
            [t.name],
        ).fetchall()
    ]
    n = con.execute(f"SELECT count(*) FROM {quote_ident(t.name)}").fetchone()[0]
    report.tables[t.name] = int(n)
    missing = [c for c in t.required_columns if c not in cols]
    for c in missing:
        report.add(t.name, c, "required_column", n, f"required column {c} is missing")
    known = [c for c in t.column_names if c in cols]
    if missing or not known:
        return
    # Row rules, batch by batch, through the same pandera schema as ingest.
    counts: dict[tuple[str, str], list] = {}
    reader = con.execute(
        f"SELECT {', '.join(quote_ident(c) for c in known)} FROM {quote_ident(t.name)}"
    ).to_arrow_reader(batch_rows)
    offset = 0
    for batch in reader:
        raw = batch.to_pandas()
        raw.index = pd.RangeIndex(offset, offset + len(raw))
        offset += len(raw)
        frame = {}
        for c in known:
            co = coerce_column(raw[c], t.column(c).type)
            frame[c] = co.values
            bad = co.bad
            if bad.any():
                key = (c, f"{c} is not {co.expected}")
                rows = counts.setdefault(key, [0, []])
                rows[0] += int(bad.sum())
                rows[1].extend((raw.index[bad] + 1).tolist()[:5])
        df = pd.DataFrame(frame, index=raw.index)
        for idx, items in check_frame(t.name, df, unique=False).items():
            for col, reason in items:
                generic = re.sub(r" \(got .*\)$", "", reason)
                rows = counts.setdefault((col, generic), [0, []])
                rows[0] += 1
                if len(rows[1]) < 5:
                    rows[1].append(f"row {idx + 1}: {reason}")
    for (col, message), (k, ex) in counts.items():
        report.add(t.name, col, "row_rule", k, message, ex)


def _validate_across_rows(con, report: ValidationReport, path: Path) -> None:
    """Keys unique, foreign keys resolve, no impossible sequence: counted in the engine by
    :mod:`salesnb.queries.quality` over whole tables (one query per kind of rule)."""
    import ibis

    from salesnb.queries import quality as qq
    from salesnb.sources import Source

    src = Source(ibis.duckdb.from_connection(con), str(path), path)
    dups = qq.duplicate_keys(src)
    for r in dups.loc[dups["duplicate_rows"] > 0].itertuples():
        key = list(TABLES[r.table].key)
        ex = qq.duplicate_key_examples(src, r.table, limit=5)
        report.add(
            r.table,
            ",".join(key),
            "unique_key",
            r.duplicate_rows,
            f"key ({', '.join(key)}) is not unique: {r.repeated_keys:,} keys repeated",
            [json.dumps([str(v) for v in row], ensure_ascii=False) for row in ex[key].values],
        )
    fk = qq.fk_coverage(src)
    for r in fk.loc[fk["filled"] > fk["resolved"]].itertuples():
        pcol = TABLES[r.table].foreign_keys[r.column][1]
        ex = qq.fk_orphans(src, r.table, r.column, limit=5)
        report.add(
            r.table,
            r.column,
            "foreign_key",
            r.filled - r.resolved,
            f"{r.column} not found in {r.parent}.{pcol} ({r.unresolved_values:,} distinct values)",
            [str(v) for v in ex["value"]],
        )
    seq = qq.impossible_sequences(src)
    for r in seq.loc[seq["violations"].fillna(0) > 0].itertuples():
        check = qq.CHECKS_BY_NAME[r.check]
        if check.column in TABLES[check.table].foreign_keys:
            continue  # a key pointing nowhere: already reported above as a foreign_key problem
        ex = qq.sequence_examples(src, r.check, limit=5)
        report.add(
            r.table,
            check.column,
            "sequence",
            int(r.violations),
            f"{r.rule} ({r.check})",
            [_example(row) for row in ex.to_dict("records")],
        )


def _example(row: dict) -> str:
    """``OP1: created_date=2024-01-10 close_date=2024-01-05``: the row's key, then the rest."""

    def text(v) -> str:
        if isinstance(v, pd.Timestamp):
            return v.date().isoformat() if v == v.normalize() else v.isoformat()
        return "" if v is None or v is pd.NA or v is pd.NaT else str(v)

    (_key, first), *rest = row.items()
    return f"{text(first)}: " + " ".join(f"{k}={text(v)}" for k, v in rest)
