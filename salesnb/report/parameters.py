"""The parameters cell: the typed ``name: type = default  # help`` lines every study opens with.

Why not only ``papermill.inspect_notebook``: papermill reads the same lines with a regular
expression that splits at the first ``#``, so a default holding a hash (``mark: str =
"#1"  # help``) loses its value into the help text, and a line that is not a typed literal
is silently ignored rather than refused. The runner must refuse such a cell before any study
runs, so the lines are parsed here with Python's own ``ast`` and ``tokenize``; a test
(``tests/report/test_report.py``) checks that on every study notebook this parser and papermill's
inspection agree on every name, type, default and help text.
"""

from __future__ import annotations

import ast
import io
import math
import re
import tokenize
from dataclasses import dataclass
from pathlib import Path

from salesnb import studies
from salesnb.errors import InputError, ParameterError

TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list[str]": list}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: object
    help: str

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


def parameters_cell(nb) -> tuple[int, str]:
    """Index and source of the one cell tagged ``parameters`` (InputError when not exactly one)."""
    found = [
        (i, c)
        for i, c in enumerate(nb.cells)
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(found) != 1:
        raise InputError(f"expected exactly one cell tagged 'parameters', found {len(found)}")
    i, cell = found[0]
    return i, cell.source


def parse_parameters(source: str, where: str = "parameters cell") -> list[Parameter]:
    """Parse ``name: type = default  # help`` lines (literals only) into :class:`Parameter`.

    >>> parse_parameters('region: str = ""  # one region, empty for all')[0].help
    'one region, empty for all'
    """
    out: list[Parameter] = []
    for lineno, line in enumerate(source.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        code, comment = _split_comment(line)
        try:
            node = ast.parse(code.strip()).body[0]
        except (SyntaxError, IndexError) as exc:
            raise InputError(
                f"{where}, line {lineno}: not Python ({exc.__class__.__name__})"
            ) from None
        if (
            not isinstance(node, ast.AnnAssign)
            or not isinstance(node.target, ast.Name)
            or node.value is None
        ):
            raise InputError(
                f"{where}, line {lineno}: expected 'name: type = default  # help', got {line!r}"
            )
        type_name = ast.unparse(node.annotation)
        if type_name not in TYPES:
            raise InputError(
                f"{where}, line {lineno}: type {type_name!r} is not one of {', '.join(TYPES)}"
            )
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise InputError(
                f"{where}, line {lineno}: the default of {node.target.id} is not a literal"
            ) from None
        if comment is None:
            raise InputError(f"{where}, line {lineno}: {node.target.id} has no '# help' comment")
        out.append(Parameter(node.target.id, type_name, default, comment))
    return out


def _split_comment(line: str) -> tuple[str, str | None]:
    """Split a line into code and the text of its trailing comment (tokenize knows about strings)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return line[: tok.start[1]], tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return line, None


def notebook_parameters(path: Path) -> list[Parameter]:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    try:
        _, source = parameters_cell(nb)
    except InputError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    return parse_parameters(source, where=f"{path.name} parameters cell")


def describe_studies() -> list[dict]:
    """Every registered study with the parameters its notebook declares (backs ``salesnb studies``)."""
    rows = []
    for s in studies.STUDIES.values():
        present = s.path.exists()
        params = [p.as_dict() for p in notebook_parameters(s.path)] if present else []
        rows.append(
            {
                "id": s.id,
                "title": s.title,
                "notebook": s.notebook,
                "needs": list(s.needs),
                "needs_one_of": list(s.needs_one_of),
                "uses": list(s.uses),
                "available": present,
                "parameters": params,
            }
        )
    return rows


def _as_str(value, bad):
    if isinstance(value, (dict, list)):
        raise bad("a text value")
    text = str(value)
    if _CONTROL_CHARS.search(text):
        raise bad("a single line of text")
    return text


def _as_bool(value, bad):
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise bad("true or false")


def _as_int(value, bad):
    if isinstance(value, bool):
        raise bad("a whole number")
    if isinstance(value, int):
        return value
    try:
        return int(str(value).strip())
    except ValueError:
        raise bad("a whole number") from None


def _as_float(value, bad):
    if isinstance(value, bool):
        raise bad("a number")
    try:
        out = float(value) if isinstance(value, (int, float)) else float(str(value).strip())
    except ValueError:
        raise bad("a number") from None
    if not math.isfinite(out):
        raise bad("a finite number")
    return out


_COERCERS = {"str": _as_str, "bool": _as_bool, "int": _as_int, "float": _as_float}


def coerce(value, type_name: str, name: str):
    """Coerce a command-line or YAML value to the declared type (ParameterError naming ``name``).

    >>> coerce("3", "int", "top_n"), coerce("yes", "bool", "x"), coerce("a, b", "list[str]", "x")
    (3, True, ['a', 'b'])
    """

    def bad(expected):
        return ParameterError(f"parameter {name}: {str(value)[:60]!r} is not {expected}")

    if type_name == "list[str]":
        items = value if isinstance(value, list) else str(value).split(",")
        return [coerce(v, "str", name).strip() for v in items if str(v).strip()]
    if type_name not in _COERCERS:  # pragma: no cover - parse_parameters admits only TYPES
        raise bad(type_name)
    return _COERCERS[type_name](value, bad)
