"""The board every dashboard is built on: a filter panel, a status line and named HTML sections.

A filter change redraws every section (the KPI tiles first). A failing section shows a short
message, never a traceback; the details go to the server log (the kernel's original stderr,
which is the Voilà process's terminal). URL parameters (``?region=East``) preset the filters
after being validated like report parameters. With ``as_of`` (a parameter, or ``?as_of=`` in
the URL) a board reads ``src.at(as_of)``: every figure is as known at the end of that day,
only data dated on or before it (issue 11). ``?lang=zh-CN`` (or ``en``) in the URL sets the
page's language (:func:`salesnb.i18n.set_language` in the kernel) before anything is drawn for
the viewer; without it the page speaks the server's language (``SALESNB_LANG``, which
``salesnb dashboard --lang`` sets). The boards themselves are subclasses:
:class:`~salesnb.dashboards.executive_board.ExecutiveBoard`,
:class:`~salesnb.dashboards.team_board.TeamBoard`.
"""

from __future__ import annotations

import dataclasses
import io
import logging
import os
import sys
from collections.abc import Callable, Mapping

from salesnb import i18n
from salesnb.dashboards.access import link_pins
from salesnb.dashboards.figures import current_period, period_choices
from salesnb.dashboards.layout import STYLE, caption_html, esc, message_html
from salesnb.dashboards.urls import (
    URL_FILTERS,
    parse_day,
    request_query_string,
    url_language,
    url_parameters,
)
from salesnb.errors import SalesnbError
from salesnb.i18n import N_, _
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period
from salesnb.queries.warehouse import check_filters, known_values
from salesnb.sources import Source, connect

# one logger for every dashboard module; its name predates the package (log filters use it)
log = logging.getLogger("salesnb.dashboard")

FRIENDLY_FAILURE = N_(
    "This part of the dashboard could not be drawn. The details are in the server log."
)
# how a page's address presets the panel (shown under the title)
URL_HINT = N_(
    "Filters given in the page address ({example}) preset the panel; any change redraws "
    "every chart and table."
)


def server_log() -> logging.Logger:
    """Send dashboard log records to the server's terminal, never to the viewer's page.

    In a kernel ``sys.stderr`` is forwarded to the page; its ``fileno()`` is a copy of the
    original stderr (the Voilà process's), so writing there reaches only the server log.
    """
    if not any(getattr(h, "_salesnb", False) for h in log.handlers):
        try:
            fd = os.dup(sys.stderr.fileno())
            stream = open(fd, "w", buffering=1, encoding="utf-8", errors="replace")  # noqa: SIM115
        except (OSError, ValueError, io.UnsupportedOperation):
            stream = sys.__stderr__
        handler = logging.StreamHandler(stream)
        handler._salesnb = True
        handler.setFormatter(
            logging.Formatter("[%(levelname).1s %(asctime)s %(name)s] %(message)s")
        )
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False
    return log


def quiet(src: Source) -> Source:
    """Turn off DuckDB's progress bar: in a kernel it is a widget, and a slow query would put it
    on the viewer's page (in the output of whichever cell started the query)."""
    if getattr(src.con, "name", "") == "duckdb":
        try:
            src.con.con.execute("SET enable_progress_bar = false")
        except Exception:  # an older engine without the setting shows no bar either
            pass
    return src


class Board:
    """A dashboard: a filter panel, a status line and named HTML sections redrawn together.

    :meth:`open` connects and builds the panel, then calls :meth:`build`, where a subclass
    adds its sections. ``src`` is None when setup failed; the status line then says why.
    ``src`` is the warehouse as known at the end of ``as_of`` (``Source.at``; all of it when
    ``as_of`` is None): a subclass reads nothing else.

    ``TITLE``, ``INTRO`` and ``URL_EXAMPLE`` (the subclass's, marked with ``N_``) head the
    page; each section may have a caption (a heading and a question), drawn in the page's
    language (:meth:`relabel` redraws them when ``?lang=`` changes it).
    """

    TITLE = ""
    INTRO = ""
    URL_EXAMPLE = "?region=East&period=2026-Q2"
    URL_HINT = URL_HINT

    def __init__(self, name: str, src: Source | None, panel=None, currency: str = ""):
        import ipywidgets as w

        self.name = name
        self.src = src
        self.panel = panel
        self.currency = currency
        self.as_of = None
        self.status = w.HTML(value="")
        self.status.add_class("snb-status")
        self.header = w.HTML(value=STYLE)
        self.header.add_class("snb-header")
        self.sections: dict[str, w.HTML] = {}
        self.captions: dict[str, w.HTML] = {}
        self._caption_texts: dict[str, tuple[str, str]] = {}
        self._renderers: dict[str, Callable[[Filters], str]] = {}
        self._problems: list[str] = []
        self._cache: dict = {}
        self.redraws = 0
        self.url_values: dict[str, str] = {}
        self.pins: dict[str, str] = {}  # filters a signed link pins (lock_pins)
        self.relabel()
        if panel is not None:
            panel.on_change(lambda _f: self.redraw())

    def header_html(self) -> str:
        """The page's title, what it shows and how a link presets it, in the page's language."""
        if not self.TITLE:
            return STYLE
        title, intro = esc(_(self.TITLE)), esc(_(self.INTRO)) if self.INTRO else ""
        hint = esc(_(self.URL_HINT)).format(example=f"<code>{esc(self.URL_EXAMPLE)}</code>")
        intro = f"<p>{intro}</p>" if intro else ""
        return f'{STYLE}<div class="snb-title"><h1>{title}</h1>{intro}<p>{hint}</p></div>'

    def relabel(self) -> None:
        """Write every fixed text of the page again in the language in use: the title, the
        captions and the filter panel's labels (the sections are redrawn by :meth:`redraw`)."""
        self.header.value = self.header_html()
        for name, (heading, text) in self._caption_texts.items():
            self.captions[name].value = caption_html(
                _(heading) if heading else "", _(text) if text else ""
            )
        if self.panel is not None:
            self.panel.relabel()
            self.lock_pins()

    def speak(self, lang: str | None) -> bool:
        """Use ``lang`` on this page from now on (None: keep the language in use); returns
        whether the language changed (the caller redraws). The cached numbers stay (drawn
        sections are kept per language); :meth:`forget_words` drops what holds words."""
        if not lang:
            return False
        before = i18n.language()
        if i18n.set_language(lang) == before:
            return False
        self.forget_words()
        self.relabel()
        return True

    def forget_words(self) -> None:
        """Drop the cached figures that carry words written in the language they were computed
        in (nothing by default: the numbers do not change with the language)."""

    @classmethod
    def open(
        cls,
        name: str,
        source: str = "",
        period: str = "",
        as_of: str = "",
        region: str = "",
        team: str = "",
        channel: str = "",
        currency: str = "",
        **options,
    ) -> Board:
        """Connect, build the filter panel and the sections; a setup error gives a board that
        shows the message and has no sections. ``options`` go to the subclass's constructor."""
        from salesnb.queries.warehouse import default_currency
        from salesnb.widgets import FilterPanel

        server_log()
        try:
            day = parse_day(as_of) if str(as_of).strip() else None
            # as known at the end of as_of: only data dated on or before it (sources.snapshot)
            src = quiet(connect(source or None)).at(day)
            choices = period_choices(src)
            default = parse_period(period).label if period else current_period(src).label
            check_filters(src, region or None, team or None, channel or None)
            panel = FilterPanel(choices, known_values(src), default, region, team, channel)
            board = cls(name, src, panel, currency or default_currency(src), **options)
            board.as_of = day
        except SalesnbError as exc:
            board = cls(name, None, **options)
            board.fail(str(exc), "setup")
            return board
        except Exception:
            server_log().exception("dashboard %s could not start", name)
            board = cls(name, None, **options)
            board.fail(_(FRIENDLY_FAILURE), "setup")
            return board
        board.build()
        return board

    def build(self) -> None:
        """Add the board's sections and draw them (each board its own; called by :meth:`open`)."""

    def reread(self) -> None:
        """Read again what the board holds from ``src`` (after :meth:`see_as_of`); nothing by
        default: a board that keeps no reader computes from ``src`` on each redraw."""

    def see_as_of(self, day) -> bool:
        """Show the warehouse as known at the end of ``day`` (None or "": all of it): ``src``
        becomes ``src.at(day)``, cached figures are dropped and :meth:`reread` is called.
        Returns whether the day changed (the caller redraws)."""
        day = parse_day(day) if day not in (None, "") else None
        if self.src is None or day == self.as_of:
            return False
        self.src = self.src.at(day)
        self.as_of = day
        self._cache.clear()
        self.reread()
        return True

    def section(
        self,
        name: str,
        render: Callable[[Filters], str],
        memo: bool = False,
        caption: tuple[str, str] = ("", ""),
    ):
        """Add a section drawn by ``render(filters) -> html``; ``memo``: keep its HTML per filter set
        (charts take far longer to draw than their numbers take to compute). ``caption``: its
        heading and question (``N_``-marked English, shown above it in the page's language)."""
        import ipywidgets as w

        if memo:
            self._renderers[name] = lambda f: self.cached(
                ("html", name, f, i18n.language()), lambda: render(f)
            )
        else:
            self._renderers[name] = render
        self.sections[name] = w.HTML(value="")
        self.sections[name].add_class(f"snb-section-{name}")
        if any(caption):
            self._caption_texts[name] = caption
            self.captions[name] = w.HTML(value="")
            self.captions[name].add_class(f"snb-caption-{name}")
            self.relabel()
        return self.sections[name]

    def cached(self, key, compute):
        """Memoize a computation per filter set (a viewer flipping filters back is instant)."""
        if key not in self._cache:
            if len(self._cache) > 64:
                self._cache.clear()
            self._cache[key] = compute()
        return self._cache[key]

    def fail(self, text: str, problem: str = "") -> None:
        self._problems.append(message_html(text, problem))
        self.status.value = "".join(self._problems)

    @property
    def filters(self) -> Filters:
        """The panel's filters, with what a signed link pins put back whatever the panel says
        (a viewer's browser could send any value for a dropdown)."""
        f = self.panel.filters
        return dataclasses.replace(f, **self.pins) if self.pins else f

    def lock_pins(self) -> None:
        """Show the pinned filters as fixed: their dropdown offers only the pinned value (no
        redraw here: the caller redraws once)."""
        if not self.pins or self.panel is None:
            return
        holding, self.panel._holding = self.panel._holding, True
        try:
            for name, value in self.pins.items():
                dd = self.panel.dropdowns[name]
                if list(dd.options) != [(value, value)]:
                    dd.options = [(value, value)]
                dd.value, dd.disabled = value, True
        finally:
            self.panel._holding = holding

    def pin(self, pins: Mapping[str, str]) -> None:
        """Pin filters for this page (a signed link's: :func:`~salesnb.dashboards.access.link_pins`),
        a value no table knows included (the page then shows nothing, never another team)."""
        self.pins = dict(pins)
        self.lock_pins()

    def redraw(self) -> None:
        """Redraw every section for the panel's current filters; errors become short messages."""
        if self.panel is None:
            return
        try:
            filters = self.filters
        except SalesnbError as exc:
            self.fail(str(exc))
            return
        for name, render in self._renderers.items():
            try:
                self.sections[name].value = render(filters)
            except SalesnbError as exc:
                self.sections[name].value = message_html(str(exc), name)
            except Exception:
                server_log().exception(
                    "dashboard %s: section %s failed for %s", self.name, name, filters
                )
                self.sections[name].value = message_html(_(FRIENDLY_FAILURE), name)
        self.redraws += 1

    def apply_url(self, extra: Mapping[str, list[str]] | None = None) -> dict[str, str]:
        """Preset the language and the filters from the page URL (validated); problems become
        friendly messages (in the page's language: ``lang`` is applied first)."""
        try:
            qs = request_query_string()
            new_lang = self.speak(url_language(qs))
            if self.src is None or self.panel is None:
                return {}
            pins = link_pins(qs)
            values, problems = url_parameters(qs, self.src, extra=extra)
            for p in problems:
                self.fail(_("Link parameter ignored: {problem}.").format(problem=p), "url")
            filters = {k: v for k, v in values.items() if k in URL_FILTERS and k not in pins}
            if pins:
                self.pin(pins)
                new_lang = True  # redraw for the pinned filters even when nothing else changed
            self.url_values = values
            new_day = "as_of" in values and self.see_as_of(values["as_of"])
            if new_day and "period" not in filters:  # the quarter running that day
                filters["period"] = current_period(self.src).label
            if not self.panel.set(**filters) and (new_day or new_lang):
                self.redraw()
            return values
        except Exception:
            server_log().exception("dashboard %s: URL parameters could not be applied", self.name)
            self.fail(_(FRIENDLY_FAILURE), "url")
            return {}

    def show(self, name: str | None = None):
        """The widget to display: the title, the panel and the status line, or one section
        (under its caption when it has one)."""
        import ipywidgets as w

        if name is None:
            parts = [self.header, self.status]
            if self.panel is not None:
                parts.insert(1, self.panel.widget)
            return w.VBox(parts)
        if name in self.sections and name in self.captions:
            return w.VBox([self.captions[name], self.sections[name]])
        return self.sections.get(name) or w.HTML(value="")
