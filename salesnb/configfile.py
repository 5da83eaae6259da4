"""Typed YAML config files: one loader, one error style for every file a user writes.

Alert rules, commission plans and ingest mappings are YAML a sales-ops analyst edits by
hand. Each is described by a pydantic model; :func:`load` reads the file, validates it
against the model and, when something is wrong, raises :class:`~salesnb.errors.InputError`
with one line naming the file, the line and the field::

    alerts.yaml, line 3: item 2.op: Input should be '<', '<=', '>', '>=', '==' or '!='

The line numbers come from PyYAML's own node marks (``yaml.compose``), so the message
points at the line the user has to change, whatever the nesting. A key the model does not
know is reported as ``unknown key (expected one of: ...)``; a check that needs several
fields at once (a model validator) raises :class:`FieldError` to name the field it is
about.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from salesnb.errors import InputError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for config models: unknown keys are refused (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class FieldError(ValueError):
    """A problem found by a model's own validator at a field below the one it validates.

    ``raise FieldError(("tables", "orders", "columns", "foo"), "not a column of orders")``
    in a ``model_validator`` is reported like pydantic's own errors: with that field and
    its line (the location is relative to the model that raised it).
    """

    def __init__(self, loc: Sequence, message: str):
        super().__init__(message)
        self.loc = tuple(loc)


def _marks(node, path=(), out=None) -> dict[tuple, int]:
    """``{path: 1-based line}`` for every node of a composed YAML document."""
    out = {} if out is None else out
    out.setdefault(path, node.start_mark.line + 1)  # a key's own line, set by its parent
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            key = k.value
            out[path + (key,)] = k.start_mark.line + 1
            _marks(v, path + (key,), out)
    elif isinstance(node, yaml.SequenceNode):
        for i, v in enumerate(node.value):
            _marks(v, path + (i,), out)
    return out


def _where(loc: tuple, wrap: str | None) -> tuple:
    return loc[1:] if wrap and loc and loc[0] == wrap else loc


def _in_yaml(loc: tuple, marks: dict) -> tuple:
    """``loc`` without the list indexes the YAML does not have (one item a model reads as a
    list of one: ``tables.orders`` rather than ``tables.orders[0]``)."""
    out: tuple = ()
    for part in loc:
        if isinstance(part, int) and out in marks and out + (part,) not in marks:
            continue
        out += (part,)
    return out


def _unwrap(tp):
    """The type to walk into: ``Annotated[X, ...]`` and ``X | None`` are X; of a union, the
    first member that is a model, a list or a dict."""
    while True:
        origin = typing.get_origin(tp)
        if origin is typing.Annotated:
            tp = typing.get_args(tp)[0]
        elif origin in (typing.Union, types.UnionType):
            args = [a for a in typing.get_args(tp) if a is not type(None)]
            walkable = [a for a in args if _walkable(a)]
            tp = (walkable or args)[0]
        else:
            return tp


def _walkable(tp) -> bool:
    tp = _unwrap(tp)
    origin = typing.get_origin(tp) or tp
    return isinstance(origin, type) and (
        issubclass(origin, BaseModel | Mapping) or origin in (list, tuple)
    )


def _keys_at(model: type[BaseModel], path: tuple) -> list[str]:
    """The keys a YAML mapping may have at ``path`` in ``model`` (empty when not a model)."""
    tp = model
    for part in path:
        tp = _unwrap(tp)
        origin = typing.get_origin(tp) or tp
        if isinstance(tp, type) and issubclass(tp, BaseModel):
            field = next((f for n, f in tp.model_fields.items() if part in (n, f.alias)), None)
            if field is None:
                return []
            tp = field.annotation
        elif isinstance(origin, type) and issubclass(origin, Mapping):
            tp = typing.get_args(tp)[1] if typing.get_args(tp) else None
        elif origin in (list, tuple) and isinstance(part, int):
            tp = typing.get_args(tp)[0] if typing.get_args(tp) else None
        else:
            return []
    tp = _unwrap(tp)
    if isinstance(tp, type) and issubclass(tp, BaseModel):
        return [f.alias or n for n, f in tp.model_fields.items()]
    return []


def _show(loc: tuple) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"item {part + 1}" if i == 0 else f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path, what: str = "file", loader: type = yaml.SafeLoader):
    """The parsed YAML of ``path`` and the line of each node (InputError on a bad file).

    ``loader``: a ``yaml.SafeLoader`` subclass, for a file type that reads scalars its own
    way (the ingest mappings keep ``yes``/``no`` as text).
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        data = yaml.load(text, Loader=loader)  # a SafeLoader (subclass): no Python objects
        node = yaml.compose(text, Loader=loader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}{line}: not valid YAML ({problem})") from None
    return data, (_marks(node) if node is not None else {})


def _line(loc: tuple, marks: dict) -> int | None:
    """The line of ``loc``, or of the nearest enclosing node the YAML has (a missing key)."""
    probe: tuple | None = loc
    while probe is not None:
        if probe in marks:
            return marks[probe]
        probe = probe[:-1] if probe else None
    return None


def _problem(exc: ValidationError, model: type[BaseModel]) -> tuple[tuple, str, tuple]:
    """The location (as validated) and the message of the first error, in our words, and
    where to look: the same location, or the misspelt key of a missing one."""
    errors = exc.errors()
    err = errors[0]
    loc, msg = tuple(err["loc"]), err["msg"].removeprefix("Value error, ")
    cause = (err.get("ctx") or {}).get("error")
    if isinstance(cause, FieldError):
        loc, msg = loc + cause.loc, str(cause)
    elif err["type"] == "extra_forbidden":
        keys = _keys_at(model, loc[:-1])
        msg = "unknown key" + (f" (expected one of: {', '.join(keys)})" if keys else "")
    elif err["type"] == "missing":  # a typo shows as a missing key and an unknown one
        typo = next(
            (
                e["loc"][-1]
                for e in errors[1:]
                if e["type"] == "extra_forbidden" and tuple(e["loc"][:-1]) == loc[:-1]
            ),
            None,
        )
        if typo is not None:
            return loc, f"{msg} (is '{typo}' a misspelling of it?)", loc[:-1] + (typo,)
    return loc, msg, loc


def validate(data, model: type[M], path: Path | str, marks: dict, wrap: str | None = None) -> M:
    """``model`` validated from ``data``; the first error as one line with file, line, field.

    ``wrap``: the name of a field the YAML's top level was wrapped into (a bare list of
    rules read as ``{"rules": [...]}``), left out of the location shown.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        loc, msg, look = _problem(exc, model)
        loc = _in_yaml(_where(loc, wrap), marks)
        line = _line(_in_yaml(_where(look, wrap), marks), marks)
        at = f", line {line}" if line else ""
        field = _show(loc) or "(top level)"
        extra = len(exc.errors()) - (2 if look != loc else 1)  # a misspelt key is said
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise InputError(f"{path}{at}: {field}: {msg}{more}") from None


def load(
    path: Path,
    model: type[M],
    what: str = "file",
    wrap: str | None = None,
    loader: type = yaml.SafeLoader,
) -> M:
    """Read ``path`` (YAML) into ``model``; see the module docstring for the error style."""
    data, marks = read_yaml(path, what, loader)
    if wrap is not None and not (isinstance(data, dict) and wrap in data):
        data = {wrap: data if data is not None else []}
    return validate(data, model, Path(path), marks, wrap)
