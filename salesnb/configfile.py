"""Typed YAML config files: one loader, one error style for every file a user writes.

Alert rules, commission plans and ingest mappings are YAML a sales-ops analyst edits by
hand. Each is described by a pydantic model; :func:`load` reads the file, validates it
against the model and, when something is wrong, raises :class:`~salesnb.errors.InputError`
with one line naming the file, the line and the field::

    alerts.yaml, line 3: item 2.op: Input should be '<', '<=', '>', '>=', '==' or '!='

The line numbers come from PyYAML's own node marks (``yaml.compose``), so the message
points at the line the user has to change, whatever the nesting.
"""

from __future__ import annotations

from pathlib import Path
from typing import TypeVar

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from salesnb.errors import InputError

M = TypeVar("M", bound=BaseModel)


class Strict(BaseModel):
    """Base for config models: unknown keys are refused (a typo is an error, not a no-op)."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


def _marks(node, path=(), out=None) -> dict[tuple, int]:
    """``{path: 1-based line}`` for every node of a composed YAML document."""
    out = {} if out is None else out
    out[path] = node.start_mark.line + 1
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


def _show(loc: tuple) -> str:
    out = ""
    for i, part in enumerate(loc):
        if isinstance(part, int):
            out += f"item {part + 1}" if i == 0 else f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out


def read_yaml(path: Path, what: str = "file"):
    """The parsed YAML of ``path`` and the line of each node (InputError on a bad file)."""
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise InputError(f"{path}: no such {what}") from None
    except UnicodeDecodeError:
        raise InputError(f"{path}: not UTF-8 text") from None
    try:
        data = yaml.safe_load(text)
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        line = f", line {mark.line + 1}" if mark is not None else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}{line}: not valid YAML ({problem})") from None
    return data, (_marks(node) if node is not None else {})


def validate(data, model: type[M], path: Path, marks: dict, wrap: str | None = None) -> M:
    """``model`` validated from ``data``; the first error as one line with file, line, field.

    ``wrap``: the name of a field the YAML's top level was wrapped into (a bare list of
    rules read as ``{"rules": [...]}``), left out of the location shown.
    """
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        err = exc.errors()[0]
        loc = _where(tuple(err["loc"]), wrap)
        line = None
        probe = loc
        while line is None and probe is not None:
            line = marks.get(probe)
            probe = probe[:-1] if probe else None
        at = f", line {line}" if line else ""
        field = _show(loc) or "(top level)"
        msg = err["msg"].removeprefix("Value error, ")
        extra = len(exc.errors()) - 1
        more = f" (and {extra} more problem{'s' if extra > 1 else ''})" if extra else ""
        raise InputError(f"{path}{at}: {field}: {msg}{more}") from None


def load(path: Path, model: type[M], what: str = "file", wrap: str | None = None) -> M:
    """Read ``path`` (YAML) into ``model``; see the module docstring for the error style."""
    data, marks = read_yaml(path, what)
    if wrap is not None and not (isinstance(data, dict) and wrap in data):
        data = {wrap: data if data is not None else []}
    return validate(data, model, Path(path), marks, wrap)
