"""Filters given in a dashboard's page URL (``.../executive.ipynb?region=East``).

They are validated like report parameters; an invalid value is dropped with a sentence for
people saying what is accepted, and the dashboard keeps its default. Besides the filters,
``as_of=2026-08-15`` shows the warehouse as known at the end of that day (as the report's
``--as-of``), and ``lang=zh-CN`` (or ``en``) the page in that language.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from datetime import date
from urllib.parse import parse_qs

import pandas as pd

from salesnb import i18n
from salesnb.dashboards.access import EXPIRES, SIG
from salesnb.errors import ParameterError
from salesnb.i18n import _
from salesnb.model.periods import parse_period
from salesnb.queries.warehouse import FILTER_COLUMNS, known_values
from salesnb.sources import Source

URL_FILTERS = ("period", "region", "team", "channel")  # the filter panel's
URL_PARAMETERS = (*URL_FILTERS, "as_of", "lang")


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
            _("{name} {value} is not a day; expected YYYY-MM-DD (2026-08-15) or today").format(
                name=name, value=repr(text[:40])
            )
        )
    return day.date()


def parse_language(value: str) -> str:
    """A page language given in the URL (``zh-CN``, ``zh``, ``en``) as one of
    :data:`salesnb.i18n.LANGUAGES`; :class:`ParameterError` naming those otherwise.

    >>> parse_language("zh_cn"), parse_language("en")
    ('zh-CN', 'en')
    """
    try:
        return i18n.normalise(value) or ""
    except i18n.LanguageError:
        raise ParameterError(
            _("unknown language {value}; known languages: {known}").format(
                value=repr(str(value)[:40]), known=", ".join(i18n.LANGUAGES)
            )
        ) from None


def url_language(query_string: str | None) -> str | None:
    """The language a page URL asks for (``lang=zh-CN``), None when it names none or one
    salesnb does not speak (:func:`url_parameters` reports that one).

    >>> url_language("region=East&lang=zh-CN"), url_language("lang=fr"), url_language("")
    ('zh-CN', None, None)
    """
    given = parse_qs(query_string or "", keep_blank_values=True).get("lang")
    if not given:
        return None
    try:
        return parse_language(given[-1].strip()) or None
    except ParameterError:
        return None


def check_filter(src: Source, name: str, value: str) -> None:
    """:class:`ParameterError` for a region, team or channel no table knows, listing the known
    ones in the page's language (the English is
    :func:`salesnb.queries.warehouse.check_filters`'s)."""
    known = known_values(src)[name]
    if str(value) in known:
        return
    tables = [t for t in FILTER_COLUMNS[name] if src.has_column(t, name)]
    shown = ", ".join(known[:30]) or _("(none in this warehouse)")
    if len(known) > 30:
        shown = _("{shown} (+{n} more)").format(shown=shown, n=len(known) - 30)
    given = repr(str(value)[:60])
    if tables:
        text = _("unknown {name} {value}; known values in {tables}: {shown}").format(
            name=name, value=given, tables=", ".join(tables), shown=shown
        )
    else:
        text = _("unknown {name} {value}; known values: {shown}").format(
            name=name, value=given, shown=shown
        )
    raise ParameterError(text)


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
    Voilà's own parameters (``voila-template``, ``theme``...) and a signed link's ``sig`` and
    ``expires`` (checked by the server: :mod:`salesnb.dashboards.access`) are ignored.
    """
    values: dict[str, str] = {}
    problems: list[str] = []
    extra = dict(extra or {})
    parsed = parse_qs(query_string or "", keep_blank_values=True)
    names = list(allowed) + list(extra)
    for name, given in parsed.items():
        if name in ("template", "theme", "token", SIG, EXPIRES) or name.startswith("voila"):
            continue
        if name not in names:
            problems.append(
                _("unknown URL parameter {name}; known parameters: {known}").format(
                    name=repr(name[:40]), known=", ".join(names)
                )
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
            elif name == "lang":
                values[name] = parse_language(value)
            elif name in extra:
                if value not in extra[name]:
                    shown = ", ".join(extra[name][:30]) or _("(none)")
                    raise ParameterError(
                        _("unknown {name} {value}; known values: {shown}").format(
                            name=name, value=repr(value[:60]), shown=shown
                        )
                    )
                values[name] = value
            else:
                check_filter(src, name, value)
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
