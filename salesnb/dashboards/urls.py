"""Filters given in a dashboard's page URL (``.../executive.ipynb?region=East``).

They are validated like report parameters; an invalid value is dropped with a sentence for
people saying what is accepted, and the dashboard keeps its default. Besides the filters,
``as_of=2026-08-15`` shows the warehouse as known at the end of that day (as the report's
``--as-of``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from urllib.parse import parse_qs

import pandas as pd

from salesnb.errors import ParameterError
from salesnb.model.periods import parse_period
from salesnb.queries.warehouse import check_filters
from salesnb.sources import Source

URL_FILTERS = ("period", "region", "team", "channel")  # the filter panel's
URL_PARAMETERS = (*URL_FILTERS, "as_of")


def parse_day(value: str, name: str = "as_of") -> date:
    """A day given as ``YYYY-MM-DD`` (or ``today``); :class:`ParameterError` naming ``name``
    otherwise.

    >>> parse_day("2026-08-15"), parse_day(" 2026-08-15 ") == parse_day("2026-08-15")
    (datetime.date(2026, 8, 15), True)
    """
    text = str(value).strip()
    if text.lower() == "today":
        return date.today()
    try:  # a timestamp of that day is still the day
        day = pd.Timestamp(text)
    except (ValueError, TypeError):
        day = pd.NaT
    if pd.isna(day):
        raise ParameterError(
            f"{name} {text[:40]!r} is not a day; expected YYYY-MM-DD (2026-08-15) or today"
        )
    return day.date()


def url_parameters(
    query_string: str | None,
    src: Source,
    allowed=URL_PARAMETERS,
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
            elif name == "as_of":
                values[name] = parse_day(value).isoformat()
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
