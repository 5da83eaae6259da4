"""The rules of :mod:`salesnb.model.validate` written as DuckDB SQL, for the streaming ingest.

:mod:`salesnb.sources.ingest.engine` reads a CSV file with DuckDB's own reader (every cell
as text) and types it in the same statement with the expressions built here; the checks
that need several rows (unique keys, foreign keys) and the row rules run afterwards as SQL
over the table written. The expressions follow :func:`salesnb.model.validate.coerce_column`
value for value: empty cells and the words of ``NULL_WORDS`` are missing (outside text
columns), numbers may carry thousands separators, currency marks, ``%`` or accounting
brackets, dates are read in the formats that fit the column, whole numbers must be whole,
dates fall in 1900..2200.

Only constants of the model (date formats, null and boolean words, closed sets) are ever
written into the SQL text; no value read from a file is.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesnb.model.schema import TABLES
from salesnb.model.validate import _RANGE_RULES
from salesnb.model.values import (
    _CURRENCY_RE,
    _THOUSANDS_RE,
    DATE_FORMATS,
    FALSE_WORDS,
    NULL_WORDS,
    TRUE_WORDS,
)
from salesnb.sql import quote_ident

_NUMBER = r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$"
_BLANKS = " \t\r\n\u00a0"


def lit(text: str) -> str:
    """A constant of the model as an SQL string literal (never a value read from a file)."""
    return "'" + str(text).replace("'", "''") + "'"


def _words(words) -> str:
    return ", ".join(lit(w) for w in sorted(words))


def macros() -> list[str]:
    """Temporary macros the typed expressions call (created once per connection)."""
    return [
        f"CREATE OR REPLACE TEMP MACRO sn_trim(x) AS trim(x, {lit(_BLANKS)})",
        f"CREATE OR REPLACE TEMP MACRO sn_missing(t) AS (t IS NULL OR lower(t) IN ({_words(NULL_WORDS)}))",
        # The clean-up of salesnb.model.validate._parse_number, for values that are not
        # plain numbers: blanks, currency marks, (accounting) negatives, %, thousands.
        "CREATE OR REPLACE TEMP MACRO sn_num_a(t) AS regexp_replace("
        f"regexp_replace(replace(replace(t, chr(160), ''), ' ', ''), {lit(_CURRENCY_RE)}, '', 'g'),"
        r" '^\((.*)\)$', '-\1')",
        "CREATE OR REPLACE TEMP MACRO sn_num_b(t) AS CASE WHEN regexp_matches("
        f"regexp_replace(t, '%$', ''), {lit(_THOUSANDS_RE)}) THEN replace(regexp_replace(t, '%$', ''), ',', '')"
        " ELSE regexp_replace(t, '%$', '') END",
        f"CREATE OR REPLACE TEMP MACRO sn_num_c(t, u) AS CASE WHEN regexp_matches(u, {lit(_NUMBER)}) "
        "THEN TRY_CAST(u AS DOUBLE) / CASE WHEN ends_with(t, '%') THEN 100.0 ELSE 1.0 END END",
        "CREATE OR REPLACE TEMP MACRO sn_num_slow(t) AS sn_num_c(sn_num_a(t), sn_num_b(sn_num_a(t)))",
        "CREATE OR REPLACE TEMP MACRO sn_num(t) AS CASE WHEN sn_missing(t) THEN NULL ELSE sn_num_slow(t) END",
        "CREATE OR REPLACE TEMP MACRO sn_whole(v) AS "
        "CASE WHEN isfinite(v) AND v = round(v) THEN TRY_CAST(round(v) AS BIGINT) END",
    ]


def date_value(t: str, formats: list[str]) -> str:
    """A timestamp from the text ``t``: the column's formats in order, then ISO 8601."""
    tries = [f"try_strptime({t}, {lit(f)})" for f in formats]
    tries.append(f"TRY_CAST({t} AS TIMESTAMP)")
    return ", ".join(tries)


@dataclass
class Typed:
    """How one canonical column is read from a text column, fast first.

    ``middle`` (None: not needed) is computed once per row from the text, as the column
    ``alias``; ``value`` reads the text and ``alias``. ``unread`` is true where the fast
    reading found nothing in a cell that is not empty: such a cell is kept and read again
    by ``slow`` (SQL over ``{r}``, the text), the whole rules, where ``slow_unread`` says
    whether it still does not read. ``outside``: a closed-set value that is not a member
    (the value is left empty).
    """

    value: str
    middle: str | None = None
    unread: str | None = None
    slow: str | None = None
    slow_unread: str | None = None
    outside: str | None = None


def typed(table: str, column: str, raw: str | None, formats: list[str], alias: str) -> Typed:
    """How ``table.column`` is read from the text column ``raw`` (None: the file lacks it)."""
    from salesnb.model.schema import DUCKDB_TYPES
    from salesnb.sources.ingest.build import CLOSED_SETS

    col = TABLES[table].column(column)
    if raw is None:
        return Typed(f"CAST(NULL AS {DUCKDB_TYPES[col.type]})")
    x, a = raw, alias
    missing = "NOT sn_missing(sn_trim({r})) AND ({v}) IS NULL"
    if col.type == "str":
        allowed = CLOSED_SETS.get((table, column))
        if allowed is None:
            return Typed(text_value(x))
        low = f"lower({text_value(x)})"
        cases = " ".join(f"WHEN {lit(m.lower())} THEN {lit(m)}" for m in allowed)
        outside = f"({low} IS NOT NULL AND {low} NOT IN ({_words(m.lower() for m in allowed)}))"
        return Typed(f"CASE {low} {cases} END", outside=outside)
    if col.type in ("int", "float"):
        # Whole numbers too are read as DOUBLE first, as by the rules (a cast to BIGINT
        # would round 2.5 to 3 instead of refusing it).
        middle = f"CASE WHEN contains({x}, '_') THEN NULL ELSE TRY_CAST({x} AS DOUBLE) END"
        value = f"sn_whole({a})" if col.type == "int" else f"CASE WHEN isfinite({a}) THEN {a} END"
        slow = "sn_num(sn_trim({r}))"
        if col.type == "int":
            slow = f"sn_whole({slow})"
    elif col.type in ("date", "datetime"):
        middle = f"try_strptime({x}, {lit(formats[0])})" if formats else "CAST(NULL AS TIMESTAMP)"
        value = _in_range(a, col.type)
        slow = _in_range(f"coalesce({date_value('sn_trim({r})', formats)})", col.type)
    elif col.type == "bool":
        middle = f"CASE {x} WHEN 'true' THEN true WHEN 'false' THEN false END"
        value = a
        low = "lower(sn_trim({r}))"
        slow = (
            f"CASE WHEN {low} IN ({_words(TRUE_WORDS)}) THEN true "
            f"WHEN {low} IN ({_words(FALSE_WORDS)}) THEN false END"
        )
        missing = "NOT (sn_missing(sn_trim({r})) AND sn_trim({r}) <> '0') AND ({v}) IS NULL"
    else:
        raise ValueError(f"unknown logical type {col.type!r}")
    return Typed(
        value,
        middle=middle,
        unread=f"({x} IS NOT NULL AND ({value}) IS NULL)",
        slow=slow,
        slow_unread=missing.replace("{v}", slow),
    )


def _in_range(v: str, ltype: str) -> str:
    inside = f"CASE WHEN {v} BETWEEN TIMESTAMP '1900-01-01' AND TIMESTAMP '2200-12-31' THEN {v} END"
    return f"CAST({inside} AS DATE)" if ltype == "date" else inside


def text_value(x: str) -> str:
    """Text as the model keeps it: blanks around it removed, an empty cell missing.

    Most cells have no blank at either end: those are kept as they are, uncopied."""
    edge = " OR ".join(
        f"{fn}({x}, {lit(ch)})" for fn in ("starts_with", "ends_with") for ch in (" ", "\t")
    )
    return f"CASE WHEN {x} = '' THEN NULL WHEN {edge} THEN nullif(sn_trim({x}), '') ELSE {x} END"


def format_probe(raw: str) -> str:
    """Per date format, how many of a sample's values it reads (the column's ranking)."""
    x = f"sn_trim({raw})"
    return ", ".join(
        f"count(try_strptime({x}, {lit(f)}))" + f" AS f{i}" for i, f in enumerate(DATE_FORMATS)
    )


def rank_formats(counts: list[int]) -> list[str]:
    """The formats that read some of the sample, most values first (ties: model order)."""
    ranked = sorted((-n, i) for i, n in enumerate(counts) if n)
    return [DATE_FORMATS[i] for _n, i in ranked]


def row_rules(table: str, columns: list[str]) -> list[tuple[str, str, str]]:
    """The row rules of ``table`` as (column blamed, SQL true when broken, message).

    Messages are those of :func:`salesnb.model.validate.check_frame`; the value is added
    by the caller (``(got …)``).
    """
    t = TABLES[table]
    rules: list[tuple[str, str, str]] = []
    present = set(columns)
    for c in t.columns:
        if c.name not in present:
            continue
        q = quote_ident(c.name)
        if c.required:
            rules.append((c.name, f"{q} IS NULL", "is empty (required)"))
        if c.type in ("int", "float"):
            rules.append((c.name, f"NOT isfinite({q})", "must be a finite number"))
        for check in _RANGE_RULES.get((table, c.name), []):
            sql = _RANGE_SQL.get((table, c.name))
            if sql is not None:
                rules.append((c.name, f"{q} IS NOT NULL AND NOT ({sql.format(q=q)})", check.error))
    if table == "orders":
        ret = "coalesce(is_return, false)" if "is_return" in present else "false"
        for c, msg in (
            ("quantity", "quantity must be > 0 unless the line is a return"),
            ("net_amount", "net_amount may be negative only on a return line"),
        ):
            if c in present:
                op = ">" if c == "quantity" else ">="
                rules.append(
                    (c, f"{c} IS NOT NULL AND NOT ({c} {op} 0) AND NOT {ret}", "wide:" + msg)
                )
    return rules


# The range rules of salesnb.model.validate (pandera checks) as SQL; closed sets are
# enforced while typing (a value outside the set never reaches the rules).
_RANGE_SQL = {
    ("orders", "discount"): "{q} BETWEEN 0 AND 1",
    ("opportunities", "discount"): "{q} BETWEEN 0 AND 1",
    ("surveys", "nps"): "{q} BETWEEN 0 AND 10",
    ("surveys", "csat"): "{q} BETWEEN 1 AND 5",
}
