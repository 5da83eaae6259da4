"""The mapping: a YAML file saying which file feeds which canonical table, and how.

:func:`load_mapping` reads and checks one (named, or a path) into a :class:`Mapping` of
:class:`SourceSpec`. The file is described by pydantic models (:class:`MappingFile`,
:class:`SourceFile`, :class:`LookupFile`) read through :mod:`salesnb.configfile`, so every
mistake is one :class:`~salesnb.errors.InputError` line naming the file, the line and the
key, like every config file a user writes. The keys are described in the docstring of
:mod:`salesnb.sources.ingest`.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Annotated, Any

import yaml
from pydantic import BeforeValidator, ConfigDict, Field, field_validator, model_validator

from salesnb import config, configfile
from salesnb.configfile import FieldError, Strict
from salesnb.errors import InputError
from salesnb.model.schema import TABLES


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


# ---- the YAML, as typed models (salesnb.configfile: one error style) -------------------

_FORMATS_HELP = "must be a format string or a list of them (e.g. '%Y-%m-%d')"
_NULLS_HELP = 'must be a list of texts that mean \'no value\' (e.g. ["NULL", "N/A", "-"])'


def _as_formats(v) -> list[str]:
    if isinstance(v, str):
        return [v]
    if isinstance(v, list) and all(isinstance(x, str) for x in v):
        return list(v)
    raise ValueError(_FORMATS_HELP)


def _as_null_values(v) -> list[str]:
    """``null_values:`` as a list of markers (text; numbers allowed, e.g. -999)."""
    if v is None:
        raise ValueError(
            'write the markers as a list of quoted texts, e.g. null_values: ["NULL", "N/A", "-"] '
            "(YAML reads a bare NULL as nothing)"
        )
    if isinstance(v, str | int | float) and not isinstance(v, bool):
        v = [v]
    # In a list, YAML's null (a bare NULL, null or ~) can only mean the text NULL.
    v = ["NULL" if x is None else x for x in v] if isinstance(v, list) else v
    if not isinstance(v, list) or not all(
        isinstance(x, str | int | float) and not isinstance(x, bool) for x in v
    ):
        raise ValueError(_NULLS_HELP)
    return [str(x).strip() for x in v]


def _as_bool(v) -> bool:
    if isinstance(v, bool):
        return v
    raise ValueError(f"must be true or false (got {v!r})")


def _as_text_map(v):
    """A ``column: text`` map; numbers and booleans written as values are taken as text."""
    if not v:
        return {}
    if isinstance(v, dict):
        return {k: str(x) if isinstance(x, str | int | float | bool) else x for k, x in v.items()}
    return v  # pydantic says what is wrong


NullValues = Annotated[list[str], BeforeValidator(_as_null_values)]
YesNo = Annotated[bool, BeforeValidator(_as_bool)]
TextMap = Annotated[dict[str, str], BeforeValidator(_as_text_map)]


class _Part(Strict):
    """Mapping sections: unknown keys refused; text kept as written (a tab delimiter, a
    header with a trailing blank); a number where text is expected is read as text."""

    model_config = ConfigDict(str_strip_whitespace=False, coerce_numbers_to_str=True)


class LookupFile(_Part):
    """One entry of ``lookups:``: a file (or sheet) expressions may query by name."""

    file: str
    sheet: str | None = None
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    optional: YesNo = False
    null_values: NullValues = None  # None: the mapping's list
    description: Any = None
    notes: Any = None

    @model_validator(mode="before")
    @classmethod
    def _needs_file(cls, v):
        if not isinstance(v, dict) or "file" not in v:
            raise ValueError("a lookup needs a 'file:' (a file name or pattern in the folder)")
        return v


class SourceFile(_Part):
    """One source of a table under ``tables:`` (the keys: :mod:`salesnb.sources.ingest`)."""

    file: str
    sheet: str | None = None
    header_row: int = 1
    encoding: str | None = None
    delimiter: str | None = None
    columns: TextMap = {}
    constants: dict[str, Any] = {}
    derive: TextMap = {}
    values: dict[str, dict[str, Any]] = {}
    # one list for every date column, or per column
    date_formats: list[str] | dict[str, list[str]] = {}
    distinct: bool | list[str] = False
    optional: YesNo = False
    where: str | None = None
    null_values: NullValues = None  # None: the mapping's list
    description: Any = None
    notes: Any = None

    @model_validator(mode="before")
    @classmethod
    def _needs_file(cls, v):
        if not isinstance(v, dict) or "file" not in v:
            raise ValueError("each source needs 'file:' (a file name or pattern in the folder)")
        return v

    @field_validator("constants", mode="before")
    @classmethod
    def _constants(cls, v):
        return v or {}

    @field_validator("values", mode="before")
    @classmethod
    def _values(cls, v):
        if not v:
            return {}
        if not isinstance(v, dict):
            raise ValueError("must map canonical columns to {source value: canonical value}")
        for c, vm in v.items():
            if not isinstance(vm, dict):
                raise FieldError((c,), f"'{c}' must map source values to canonical values")
        return {k: {str(a): b for a, b in vm.items()} for k, vm in v.items()}

    @field_validator("date_formats", mode="before")
    @classmethod
    def _date_formats(cls, v):
        if not v:
            return {}
        if isinstance(v, str | list):
            return _as_formats(v)
        if isinstance(v, dict):
            out = {}
            for k, x in v.items():
                try:
                    out[str(k)] = _as_formats(x)
                except ValueError:
                    raise FieldError((k,), _FORMATS_HELP) from None
            return out
        raise ValueError("must be a format, a list or a column: format map")

    @field_validator("distinct", mode="before")
    @classmethod
    def _distinct(cls, v):
        if isinstance(v, bool) or (isinstance(v, list) and all(isinstance(x, str) for x in v)):
            return v
        raise ValueError("must be true, false or a list of mapped canonical columns")

    @field_validator("where", mode="before")
    @classmethod
    def _where(cls, v):
        if v is None:
            return None
        if not isinstance(v, str) or not v.strip():
            raise ValueError(
                "must be one SQL condition over the source columns "
                """(e.g. where: '"Region" <> ''Test'' ')"""
            )
        if _has_two_statements(v):
            raise ValueError("one expression only (no ';')")
        return v.strip()

    @model_validator(mode="after")
    def _consistent(self):
        """Each canonical column given once; expressions single; distinct names mapped ones."""
        for section in ("constants", "derive"):
            for c in getattr(self, section):
                if c in self.columns or (section == "derive" and c in self.constants):
                    other = "columns" if c in self.columns else "constants"
                    raise FieldError(
                        (section, c), f"column '{c}' is given twice ({other}: and {section}:)"
                    )
        for c, e in self.derive.items():
            if _has_two_statements(e):
                raise FieldError(("derive", c), "one expression only (no ';')")
        if isinstance(self.distinct, list):
            for i, c in enumerate(self.distinct):
                if c not in self.supplied:
                    raise FieldError(("distinct", i), f"'{c}' is not a mapped column")
        return self

    @property
    def supplied(self) -> set[str]:
        return set(self.columns) | set(self.constants) | set(self.derive)

    def check_for(self, table: str) -> None:
        """The checks that need the table: its columns only, every required one supplied."""
        t = TABLES[table]
        for section in ("columns", "constants", "derive", "values"):
            for c in getattr(self, section):
                if c not in t.column_names:
                    raise FieldError(
                        (section, c),
                        f"'{c}' is not a column of {table} (columns: {', '.join(t.column_names)})",
                    )
        for c in t.required_columns:
            if c not in self.supplied:
                raise FieldError(
                    (),
                    f"required column '{c}' of {table} is not mapped "
                    "(add it under columns:, constants: or derive:)",
                )

    def spec(self, table: str) -> SourceSpec:
        t = TABLES[table]
        dfmt = self.date_formats
        if isinstance(dfmt, list):
            dfmt = {c.name: dfmt for c in t.columns if c.type in ("date", "datetime")}
        return SourceSpec(
            table=table,
            file=self.file,
            sheet=self.sheet,
            header_row=self.header_row,
            encoding=self.encoding,
            delimiter=self.delimiter,
            columns=dict(self.columns),
            constants=dict(self.constants),
            derive=dict(self.derive),
            values={k: dict(v) for k, v in self.values.items()},
            date_formats=dict(dfmt),
            distinct=self.distinct,
            optional=self.optional,
            where=self.where,
            null_values=self.null_values,
        )


class MappingFile(_Part):
    """A whole mapping file."""

    name: str | None = None
    description: Any = None
    source_folder: str | None = None
    encoding: str | None = None
    delimiter: str | None = None
    date_formats: list[str] | None = None
    null_values: NullValues = []
    currency: str | None = None
    lookups: dict[str, LookupFile] = {}
    tables: dict[str, list[SourceFile]] = Field(None, validate_default=True)

    @model_validator(mode="before")
    @classmethod
    def _a_mapping(cls, v):
        if not isinstance(v, dict):
            raise ValueError("expected a 'tables:' section mapping canonical tables to files")
        return v

    @field_validator("date_formats", mode="before")
    @classmethod
    def _date_formats(cls, v):
        return _as_formats(v) if v else None

    @field_validator("currency", mode="before")
    @classmethod
    def _currency(cls, v):
        if v is None:
            return None
        code = str(v).strip().upper()
        if not re.fullmatch(r"[A-Z]{3}", code):
            raise ValueError(f"{str(v)[:20]!r} is not a 3-letter code like BRL")
        return code

    @field_validator("lookups", mode="before")
    @classmethod
    def _lookups(cls, v):
        if not v:
            return {}
        if not isinstance(v, dict):
            raise ValueError("must map names to files (e.g. returns: {file: r.csv})")
        for name in v:
            if not re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", str(name)) or name == "src":
                raise FieldError(
                    (name,), f"lookup name '{name}' must be a plain identifier other than src"
                )
        return v

    @field_validator("tables", mode="before")
    @classmethod
    def _tables(cls, v):
        if not isinstance(v, dict) or not v:
            raise ValueError("expected a 'tables:' section mapping canonical tables to files")
        for table in v:
            if table not in TABLES:
                raise FieldError(
                    (table,), f"unknown table '{table}' (canonical tables: {', '.join(TABLES)})"
                )
        return {k: s if isinstance(s, list) else [s] for k, s in v.items()}

    @model_validator(mode="after")
    def _sources_fit_their_tables(self):
        for table, sources in self.tables.items():
            for i, src in enumerate(sources):
                try:
                    src.check_for(table)
                except FieldError as exc:
                    raise FieldError(("tables", table, i) + exc.loc, str(exc)) from None
        return self

    def mapping(self, path: Path) -> Mapping:
        return Mapping(
            name=str(self.name or path.stem),
            path=path,
            sources=[src.spec(t) for t, sources in self.tables.items() for src in sources],
            description=str(self.description or ""),
            source_folder=self.source_folder,
            encoding=self.encoding,
            delimiter=self.delimiter,
            date_formats=self.date_formats,
            null_values=list(self.null_values),
            lookups={
                str(name): SourceSpec(
                    table="",
                    file=lk.file,
                    sheet=lk.sheet,
                    header_row=lk.header_row,
                    encoding=lk.encoding,
                    delimiter=lk.delimiter,
                    optional=lk.optional,
                    null_values=lk.null_values,
                )
                for name, lk in self.lookups.items()
            },
            currency=self.currency,
        )


def load_mapping(spec: str | Path) -> Mapping:
    """Read and check a mapping (named or a file). Raises InputError on any mistake, one line
    naming the file, the line and the key (:mod:`salesnb.configfile`)::

        my-crm.yaml, line 12: tables.orders.columns.ordr_id: 'ordr_id' is not a column of orders (...)
    """
    path = resolve_mapping_path(spec)
    return configfile.load(path, MappingFile, what="mapping file", loader=_Loader).mapping(path)


def _has_two_statements(expr: str) -> bool:
    """Whether an expression holds a ``;`` outside a quoted ``';'``."""
    return ";" in expr.replace("';'", "")
