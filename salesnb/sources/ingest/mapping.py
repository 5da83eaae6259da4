"""The mapping: a YAML file saying which file feeds which canonical table, and how.

:func:`load_mapping` reads and checks one (named, or a path) into a :class:`Mapping` of
:class:`SourceSpec`; every mistake is an :class:`~salesnb.errors.InputError` naming the
mapping, the table and the key. The keys are described in the docstring of
:mod:`salesnb.sources.ingest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb import config
from salesnb.errors import InputError
from salesnb.model.schema import TABLES

MAPPING_KEYS = {
    "name",
    "description",
    "source_folder",
    "encoding",
    "delimiter",
    "date_formats",
    "null_values",
    "currency",
    "lookups",
    "tables",
}
SOURCE_KEYS = {
    "file",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "columns",
    "constants",
    "derive",
    "values",
    "date_formats",
    "distinct",
    "optional",
    "where",
    "null_values",
    "description",
    "notes",
}
LOOKUP_KEYS = {
    "file",
    "sheet",
    "header_row",
    "encoding",
    "delimiter",
    "optional",
    "null_values",
    "description",
    "notes",
}


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 surprise that ``Yes``/``No``/``On`` are booleans."""


_Loader.yaml_implicit_resolvers = {
    k: [r for r in v if r[0] != "tag:yaml.org,2002:bool"]
    for k, v in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


@dataclass
class SourceSpec:
    """One file (or sheet) feeding one canonical table."""

    table: str
    file: str
    sheet: str | None = None
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    columns: dict[str, str] | None = None  # None: canonical headers, matched automatically
    constants: dict = field(default_factory=dict)
    derive: dict[str, str] = field(default_factory=dict)
    values: dict[str, dict] = field(default_factory=dict)
    date_formats: dict[str, list[str]] = field(default_factory=dict)
    distinct: bool | list[str] = False
    optional: bool = False
    where: str | None = None  # SQL boolean expression: rows for which it is not true are skipped
    null_values: list[str] | None = None  # None: the mapping's list


@dataclass
class Mapping:
    name: str
    path: Path | None
    sources: list[SourceSpec]
    description: str = ""
    source_folder: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    date_formats: list[str] | None = None
    null_values: list[str] = field(default_factory=list)
    lookups: dict[str, SourceSpec] = field(default_factory=dict)
    currency: str | None = None  # the whole export's currency when no column carries one

    def where(self) -> str:
        return f"mapping {self.name}" + (f" ({self.path})" if self.path else "")


def available_mappings() -> list[str]:
    return sorted(p.stem for p in config.MAPPINGS_DIR.glob("*.yaml"))


def resolve_mapping_path(spec: str | Path) -> Path:
    """``maven-crm`` -> salesnb/mappings/maven-crm.yaml; a path is taken as it is."""
    p = Path(spec)
    if p.suffix.lower() in (".yaml", ".yml") or p.exists() or "/" in str(spec):
        if not p.is_file():
            raise InputError(f"{p}: mapping file not found")
        return p
    named = config.MAPPINGS_DIR / f"{spec}.yaml"
    if not named.is_file():
        raise InputError(
            f"mapping '{spec}': no such named mapping (available: {', '.join(available_mappings())}; "
            "or give a path to a YAML file)"
        )
    return named


def _as_formats(v, where: str) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise InputError(
        f"{where}: date_formats must be a format string or a list of them (e.g. '%Y-%m-%d')"
    )


def _as_null_values(v, where: str) -> list[str] | None:
    """``null_values:`` as a list of markers (text; numbers allowed, e.g. -999)."""
    if v is None:
        raise InputError(
            f"{where}: null_values: write the markers as a list of quoted texts, e.g. "
            'null_values: ["NULL", "N/A", "-"] (YAML reads a bare NULL as nothing)'
        )
    if isinstance(v, (str, int, float)) and not isinstance(v, bool):
        v = [v]
    # In a list, YAML's null (a bare NULL, null or ~) can only mean the text NULL.
    v = ["NULL" if x is None else x for x in v] if isinstance(v, list) else v
    if not isinstance(v, list) or not all(
        isinstance(x, (str, int, float)) and not isinstance(x, bool) for x in v
    ):
        raise InputError(
            f"{where}: null_values must be a list of texts that mean 'no value' "
            '(e.g. ["NULL", "N/A", "-"])'
        )
    return [str(x).strip() for x in v]


def _as_bool(v, where: str) -> bool:
    if isinstance(v, bool):
        return v
    raise InputError(f"{where} must be true or false (got {v!r})")


def _as_currency(v, where: str) -> str | None:
    if v is None:
        return None
    code = str(v).strip().upper()
    if not re.fullmatch(r"[A-Z]{3}", code):
        raise InputError(f"{where}: currency: {str(v)[:20]!r} is not a 3-letter code like BRL")
    return code


def load_mapping(spec: str | Path) -> Mapping:
    """Read and check a mapping (named or a file). Raises InputError on any mistake."""
    path = resolve_mapping_path(spec)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=_Loader)
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise InputError(f"{path}: not a readable YAML mapping ({first})") from exc
    name = (doc or {}).get("name") if isinstance(doc, dict) else None
    where = f"mapping {name or path.stem} ({path})"
    if not isinstance(doc, dict) or not isinstance(doc.get("tables"), dict) or not doc["tables"]:
        raise InputError(f"{where}: expected a 'tables:' section mapping canonical tables to files")
    unknown = set(doc) - MAPPING_KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key '{sorted(unknown)[0]}' (expected {', '.join(sorted(MAPPING_KEYS))})"
        )
    m = Mapping(
        name=str(name or path.stem),
        path=path,
        sources=[],
        description=str(doc.get("description") or ""),
        source_folder=doc.get("source_folder"),
        encoding=doc.get("encoding"),
        delimiter=doc.get("delimiter"),
        date_formats=_as_formats(doc["date_formats"], where) if doc.get("date_formats") else None,
        null_values=_as_null_values(doc["null_values"], where) if "null_values" in doc else [],
        currency=_as_currency(doc.get("currency"), where),
    )
    lookups = doc.get("lookups") or {}
    if not isinstance(lookups, dict):
        raise InputError(
            f"{where}: lookups: must map names to files (e.g. returns: {{file: r.csv}})"
        )
    for lname, lspec in lookups.items():
        if not isinstance(lspec, dict) or "file" not in lspec:
            raise InputError(f"{where}: lookup '{lname}' needs a 'file:'")
        if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(lname)) or lname == "src":
            raise InputError(
                f"{where}: lookup name '{lname}' must be a plain identifier other than src"
            )
        unknown = set(lspec) - LOOKUP_KEYS
        if unknown:
            raise InputError(
                f"{where}: lookup {lname}: unknown key '{sorted(unknown)[0]}' "
                f"(expected {', '.join(sorted(LOOKUP_KEYS))})"
            )
        m.lookups[str(lname)] = SourceSpec(
            table="",
            file=str(lspec["file"]),
            sheet=lspec.get("sheet"),
            header_row=int(lspec.get("header_row", 1)),
            encoding=lspec.get("encoding"),
            delimiter=lspec.get("delimiter"),
            optional=_as_bool(lspec.get("optional", False), f"{where}: lookup {lname}: optional"),
            null_values=_as_null_values(lspec["null_values"], f"{where}: lookup {lname}")
            if "null_values" in lspec
            else None,
        )
    for table, specs in doc["tables"].items():
        if table not in TABLES:
            raise InputError(
                f"{where}: unknown table '{table}' (canonical tables: {', '.join(TABLES)})"
            )
        for i, s in enumerate(specs if isinstance(specs, list) else [specs]):
            m.sources.append(
                _parse_source(
                    table,
                    s,
                    f"{where}: table {table}"
                    + (f" source {i + 1}" if isinstance(specs, list) else ""),
                )
            )
    return m


def _parse_source(table: str, s, where: str) -> SourceSpec:
    """One source of ``table`` checked and read from its YAML; InputError on any mistake."""
    _check_source_keys(s, where)
    t = TABLES[table]
    columns = {str(k): str(v) for k, v in (s.get("columns") or {}).items()}
    constants = dict(s.get("constants") or {})
    derive = {str(k): str(v) for k, v in (s.get("derive") or {}).items()}
    values = s.get("values") or {}
    _check_sections(
        table, where, columns=columns, constants=constants, derive=derive, values=values
    )
    _check_given_once(columns, constants, derive, where)
    for c, e in derive.items():
        if _has_two_statements(e):
            raise InputError(f"{where}: derive {c}: one expression only (no ';')")
    row_filter = _row_filter(s.get("where"), where)
    supplied = set(columns) | set(constants) | set(derive)
    for c in t.required_columns:
        if c not in supplied:
            raise InputError(
                f"{where}: required column '{c}' of {table} is not mapped (add it under columns:, constants: or derive:)"
            )
    for c, vm in values.items():
        if not isinstance(vm, dict):
            raise InputError(f"{where}: values: '{c}' must map source values to canonical values")
    date_formats = _source_date_formats(s.get("date_formats") or {}, t, where)
    distinct = _checked_distinct(s.get("distinct", False), supplied, where)
    return SourceSpec(
        table=table,
        file=str(s["file"]),
        sheet=None if s.get("sheet") is None else str(s["sheet"]),
        header_row=int(s.get("header_row", 1)),
        encoding=s.get("encoding"),
        delimiter=s.get("delimiter"),
        columns=columns,
        constants=constants,
        derive=derive,
        values={str(k): {str(a): b for a, b in v.items()} for k, v in values.items()},
        date_formats=date_formats,
        distinct=distinct,
        optional=bool(s.get("optional", False)),
        where=row_filter.strip() if row_filter else None,
        null_values=_as_null_values(s["null_values"], where) if "null_values" in s else None,
    )


def _check_source_keys(s, where: str) -> None:
    """A source is a mapping with a ``file:`` and only the known keys."""
    if not isinstance(s, dict) or "file" not in s:
        raise InputError(
            f"{where}: each source needs 'file:' (a file name or pattern in the folder)"
        )
    unknown = set(s) - SOURCE_KEYS
    if unknown:
        raise InputError(
            f"{where}: unknown key '{sorted(unknown)[0]}' (expected {', '.join(sorted(SOURCE_KEYS))})"
        )


def _check_sections(table: str, where: str, **sections) -> None:
    """Every column named under ``columns:``, ``constants:``, ``derive:``, ``values:`` is the table's."""
    t = TABLES[table]
    for section, cols in sections.items():
        for c in cols:
            if c not in t.column_names:
                raise InputError(
                    f"{where}: {section}: '{c}' is not a column of {table} (columns: {', '.join(t.column_names)})"
                )


def _check_given_once(columns: dict, constants: dict, derive: dict, where: str) -> None:
    """No canonical column is given in two of ``columns:``, ``constants:`` and ``derive:``."""
    for c in columns:
        if c in constants or c in derive:
            raise InputError(f"{where}: column '{c}' is given twice (columns and constants/derive)")
    for c in constants:
        if c in derive:
            raise InputError(f"{where}: column '{c}' is given twice (constants and derive)")


def _has_two_statements(expr: str) -> bool:
    """Whether an expression holds a ``;`` outside a quoted ``';'``."""
    return ";" in expr.replace("';'", "")


def _row_filter(row_filter, where: str):
    """The ``where:`` condition as given (None when absent); an error unless it is one condition."""
    if row_filter is None:
        return None
    if not isinstance(row_filter, str) or not row_filter.strip():
        raise InputError(
            f"{where}: where: must be one SQL condition over the source columns "
            """(e.g. where: '"Region" <> ''Test'' ')"""
        )
    if _has_two_statements(row_filter):
        raise InputError(f"{where}: where: one expression only (no ';')")
    return row_filter


def _source_date_formats(dfmt, t, where: str) -> dict[str, list[str]]:
    """A source's ``date_formats:``: one format or list for every date column, or per column."""
    if isinstance(dfmt, (str, list)):
        fmts = _as_formats(dfmt, where)
        return {c.name: fmts for c in t.columns if c.type in ("date", "datetime")}
    if isinstance(dfmt, dict):
        return {str(k): _as_formats(v, where) for k, v in dfmt.items()}
    raise InputError(f"{where}: date_formats must be a format, a list or a column: format map")


def _checked_distinct(distinct, supplied: set[str], where: str):
    """``distinct:`` as given; a list may name only mapped columns."""
    if isinstance(distinct, list):
        bad = [c for c in distinct if c not in supplied]
        if bad:
            raise InputError(f"{where}: distinct: '{bad[0]}' is not a mapped column")
    return distinct
