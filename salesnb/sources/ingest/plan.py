"""Planning an ingest: which files of the folder feed which canonical tables."""

from __future__ import annotations

import fnmatch
from pathlib import Path

from salesnb.errors import InputError
from salesnb.model.schema import TABLES
from salesnb.sources.ingest.mapping import Mapping, SourceSpec
from salesnb.sources.ingest.readers import DATA_EXTS, EXCEL_EXTS, _norm, excel_sheets


def _data_files(folder: Path) -> list[Path]:
    return sorted(
        p
        for p in folder.iterdir()
        if p.is_file() and not p.name.startswith((".", "~$")) and p.suffix.lower() in DATA_EXTS
    )


def _table_for_stem(stem: str) -> str | None:
    s = _norm(stem)
    for t in sorted(TABLES, key=len, reverse=True):
        if s == t or s.startswith(t + "_"):
            return t
    return None


def plan_canonical(folder: Path) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    """Sources of a folder whose files are named after canonical tables."""
    plan: list[tuple[Path, SourceSpec]] = []
    files = _data_files(folder)
    if not files:
        raise InputError(f"{folder}: no CSV, Excel or Parquet files found (nothing to load)")
    for p in files:
        table = _table_for_stem(p.stem)
        if p.suffix.lower() in EXCEL_EXTS:
            sheets = excel_sheets(p)
            if table is not None:
                named = [s for s in sheets if _norm(s) == table]
                plan.append((p, SourceSpec(table, p.name, sheet=named[0] if named else sheets[0])))
                continue
            per_sheet = [(s, _table_for_stem(s)) for s in sheets]
            per_sheet = [(s, t) for s, t in per_sheet if t]
            if per_sheet:
                plan.extend((p, SourceSpec(t, p.name, sheet=s)) for s, t in per_sheet)
                continue
        if table is None:
            raise InputError(
                f"{p.name}: unknown table '{p.stem}' (name files after a canonical table: "
                f"{', '.join(TABLES)}; or pass --mapping)"
            )
        plan.append((p, SourceSpec(table, p.name)))
    return plan, []


def plan_mapping(folder: Path, m: Mapping) -> tuple[list[tuple[Path, SourceSpec]], list[str]]:
    plan = []
    used: set[Path] = set()
    names = sorted(p.name for p in folder.iterdir() if p.is_file())
    for spec in m.sources:
        paths = _match(folder, spec.file, names)
        if not paths:
            if spec.optional:
                continue
            raise InputError(
                f"{folder / spec.file}: file not found ({m.where()} reads table {spec.table} from it; "
                f"files here: {', '.join(names) or 'none'})"
            )
        for p in paths:
            plan.append((p, spec))
            used.add(p)
    for spec in m.lookups.values():
        used.update(_match(folder, spec.file, names))
    ignored = [n for n in names if folder / n not in used and not n.startswith(".")]
    return plan, ignored


def _match(folder: Path, pattern: str, names: list[str]) -> list[Path]:
    hits = [n for n in names if fnmatch.fnmatchcase(n, pattern)]
    if not hits:
        hits = [n for n in names if fnmatch.fnmatch(n.lower(), pattern.lower())]
    return [folder / n for n in sorted(hits)]
