"""Filters given in a dashboard's page URL (``.../executive.ipynb?region=East``).

They are validated like report parameters; an invalid value is dropped with a sentence for
people saying what is accepted, and the dashboard keeps its default.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from urllib.parse import parse_qs

from salesnb.errors import ParameterError
from salesnb.model.periods import parse_period
from salesnb.queries.warehouse import check_filters
from salesnb.sources import Source

URL_FILTERS = ("period", "region", "team", "channel")


def url_parameters(
    query_string: str | None,
    src: Source,
    allowed=URL_FILTERS,
    extra: Mapping[str, list[str]] | None = None,
) -> tuple[dict[str, str], list[str]]:
    """Validate filters given in the page URL (``region=East&period=2026-Q2``).

    Returns (valid values, problems). Each problem is one sentence for people naming the
    parameter and what is accepted; an invalid value is dropped (the dashboard keeps its
    default). ``extra`` maps further parameter names to their known values (e.g. ``rep``).
    Voilà's own parameters (``voila-template``, ``theme``...) are ignored.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    extra = dict(extra or {})
    parsed = parse_qs(query_string or "", keep_blank_values=True)
    names = list(allowed) + list(extra)
    for name, given in parsed.items():
        if name in ("template", "theme", "token") or name.startswith("voila"):
            continue
        if name not in names:
            problems.append(
                f"unknown URL parameter {name[:40]!r}; known parameters: {', '.join(names)}"
            )
            continue
        value = given[-1].strip()
        if value in ("", "all", "All"):
            values[name] = ""
            continue
        try:
            if name == "period":
                values[name] = parse_period(value).label
            elif name in extra:
                if value not in extra[name]:
                    shown = ", ".join(extra[name][:30]) or "(none)"
                    raise ParameterError(f"unknown {name} {value[:60]!r}; known values: {shown}")
                values[name] = value
            else:
                check_filters(src, **{name: value})
                values[name] = value
        except ParameterError as exc:
            problems.append(str(exc))
    return values, problems


def request_query_string() -> str:
    """The page URL's query string in a Voilà kernel ("" in JupyterLab or papermill).

    A preheated kernel runs the notebook before any viewer asks for it, so the query string
    does not exist yet: ``voila.utils.wait_for_request`` blocks until Voilà hands the
    kernel to a request and puts the request's details into the environment. In a normal
    (not preheated) kernel Voilà sets ``QUERY_STRING`` at start and the wait returns at once.
    """
    if os.environ.get("VOILA_PREHEAT") == "True":
        from voila.utils import wait_for_request

        wait_for_request()
    return os.environ.get("QUERY_STRING", "")
