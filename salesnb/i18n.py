"""Languages: the language of a run, its gettext catalogs, and dates in that language.

salesnb writes for people in English (``en``, the default) or in Chinese (``zh-CN``). The
language of a run is, first to last: what the caller sets (``salesnb report --lang``,
``salesnb dashboard --lang``, a dashboard's ``?lang=``, :func:`set_language`), else the
``SALESNB_LANG`` environment variable, else English. A report's study kernels inherit it
through ``SALESNB_LANG``.

Every user-facing sentence, heading, chart title, axis and table header goes through
:func:`_` (``gettext``; :func:`N_` marks a constant translated later where it is shown):
the English text is the message id; a language other than English
looks it up in its catalogs, ``salesnb/locale/<lang>/LC_MESSAGES/*.po`` (gettext PO files,
one per area of the product so that areas are translated independently; Babel reads them
and extracts the message ids: ``make messages``). A message with values names them
(``_("{n} deals lost").format(n=...)``) so that a translation can put them in its own order.
Never call ``_()`` inside an f-string (the extractor cannot see it there), and never pass it
a text built at run time (it cannot be in a catalog): translate the template, then format.

Category values from the data (stage names, channels, regions, people) are never translated:
they are shown as the data spells them.

Written on Babel rather than on the standard library's ``gettext`` module alone: Babel reads
the PO files directly (no compiled ``.mo`` files to keep in step), extracts the catalogs'
message ids from the sources (``pybabel extract``), and knows the CLDR date patterns
(``2026年9月``) and number symbols of each locale.
"""

from __future__ import annotations

import datetime as _dt
import os
from functools import cache
from pathlib import Path

LANGUAGES = ("en", "zh-CN")
DEFAULT_LANGUAGE = "en"
ENV_VAR = "SALESNB_LANG"
LOCALE_DIR = Path(__file__).resolve().parent / "locale"
# the Babel / gettext locale of each language
_LOCALES = {"en": "en", "zh-CN": "zh_CN"}
_ALIASES = {"zh": "zh-CN", "zh_cn": "zh-CN", "zh-cn": "zh-CN", "zh_CN": "zh-CN", "cn": "zh-CN"}

_chosen: str | None = None


class LanguageError(ValueError):
    """A language salesnb does not speak (the message names the ones it does)."""


def normalise(lang: str | None) -> str | None:
    """``lang`` as one of :data:`LANGUAGES` (``zh``, ``zh_CN`` -> ``zh-CN``); None when empty.

    >>> normalise("zh_CN"), normalise("EN"), normalise("")
    ('zh-CN', 'en', None)
    """
    if lang is None or not str(lang).strip():
        return None
    text = str(lang).strip()
    for known in LANGUAGES:
        if text.lower() == known.lower():
            return known
    if text in _ALIASES or text.lower() in _ALIASES:
        return _ALIASES.get(text, _ALIASES.get(text.lower()))
    raise LanguageError(f"unknown language {text!r}; salesnb speaks {', '.join(LANGUAGES)}")


def set_language(lang: str | None) -> str:
    """Use ``lang`` from now on in this process (None or empty: back to ``SALESNB_LANG`` or
    English); returns the language in use."""
    global _chosen
    _chosen = normalise(lang)
    return language()


def language() -> str:
    """The language in use: the one set, else ``SALESNB_LANG``, else English."""
    if _chosen is not None:
        return _chosen
    return normalise(os.environ.get(ENV_VAR)) or DEFAULT_LANGUAGE


def locale_name(lang: str | None = None) -> str:
    """The Babel locale of ``lang`` (default: the language in use): ``zh_CN``, ``en``."""
    return _LOCALES[normalise(lang) or language()]


@cache
def catalog(lang: str) -> dict[str, str]:
    """Message id -> translation of every PO file of ``lang`` (translated, not fuzzy entries
    only); empty for English. Two files giving one id two translations is an error."""
    lang = normalise(lang) or DEFAULT_LANGUAGE
    if lang == DEFAULT_LANGUAGE:
        return {}
    from babel.messages.pofile import read_po

    out: dict[str, str] = {}
    folder = LOCALE_DIR / _LOCALES[lang] / "LC_MESSAGES"
    for po in sorted(folder.glob("*.po")):
        with po.open("rb") as fh:
            for msg in read_po(fh, locale=_LOCALES[lang]):
                if not msg.id or not msg.string or msg.fuzzy or isinstance(msg.id, tuple):
                    continue
                if out.get(msg.id, msg.string) != msg.string:
                    raise LanguageError(f"{po.name}: {msg.id!r} is translated twice, differently")
                out[msg.id] = msg.string
    return out


def _(message: str) -> str:
    """``message`` in the language in use (itself in English, or when not yet translated).

    >>> _("Win rate")
    'Win rate'
    """
    lang = language()
    if lang == DEFAULT_LANGUAGE:
        return message
    return catalog(lang).get(message, message)


gettext = _


def N_(message: str) -> str:  # noqa: N802 - the gettext convention
    """Mark ``message`` for the catalogs without translating it now (a constant translated
    where it is shown, with :func:`_`)."""
    return message


def plural(n: int, one: str, other: str) -> str:
    """``one`` or ``other`` by ``n`` (English plurals; Chinese has one form, the catalog's).

    >>> plural(1, "{n} deal", "{n} deals").format(n=1), plural(3, "{n} deal", "{n} deals")
    ('1 deal', '{n} deals')
    """
    return _(one) if n == 1 else _(other)


def month_label(day, lang: str | None = None) -> str:
    """A month as people write it: ``September 2026``, ``2026年9月``.

    >>> month_label(_dt.date(2026, 9, 1), "en"), month_label(_dt.date(2026, 9, 1), "zh-CN")
    ('September 2026', '2026年9月')
    """
    from babel.dates import format_date

    d = day if isinstance(day, _dt.date) else _dt.date.fromisoformat(str(day)[:10])
    pattern = "y年M月" if locale_name(lang) == "zh_CN" else "MMMM y"
    return format_date(d, pattern, locale=locale_name(lang))


def date_label(day, lang: str | None = None) -> str:
    """A day as people write it: ``30 September 2026``, ``2026年9月30日``.

    >>> date_label("2026-09-30", "en"), date_label("2026-09-30", "zh-CN")
    ('30 September 2026', '2026年9月30日')
    """
    from babel.dates import format_date

    d = day if isinstance(day, _dt.date) else _dt.date.fromisoformat(str(day)[:10])
    pattern = "y年M月d日" if locale_name(lang) == "zh_CN" else "d MMMM y"
    return format_date(d, pattern, locale=locale_name(lang))


def period_label(label: str, lang: str | None = None) -> str:
    """A period's label (``2026-Q3``, ``2026-09``, ``2026``, ``H1``, ranges) in the language:
    unchanged in English; ``2026年第3季度``, ``2026年9月``, ``2026年`` in Chinese.

    >>> period_label("2026-Q3", "zh-CN"), period_label("2026-09", "zh-CN"), period_label("2026-Q3", "en")
    ('2026年第3季度', '2026年9月', '2026-Q3')
    >>> period_label("2025-Q4..2026-Q1", "zh-CN"), period_label("FY2026-Q1", "zh-CN")
    ('2025年第4季度 至 2026年第1季度', 'FY2026年第1季度')
    """
    if locale_name(lang) != "zh_CN":
        return label
    if ".." in label:
        a, b = label.split("..", 1)
        return f"{period_label(a, lang)} 至 {period_label(b, lang)}"
    import re

    m = re.fullmatch(r"(FY)?(\d{4})(?:-(Q[1-4]|H[12]|\d{2}))?", label)
    if not m:
        return label
    fy, year, part = m.groups()
    head = f"{fy or ''}{year}年"
    if part is None:
        return head
    if part.startswith("Q"):
        return f"{head}第{part[1]}季度"
    if part.startswith("H"):
        return f"{head}{'上' if part == 'H1' else '下'}半年"
    return f"{head}{int(part)}月"


# --------------------------------------------------------------------------- catalogs
KEYWORDS = {"_": None, "gettext": None, "N_": None, "plural": (2, 3)}  # plural(n, one, other)
SOURCES = ("salesnb", "notebooks")  # below the project root: where the messages are


def extract_notebook(fileobj, keywords, comment_tags, options):
    """Babel extraction method for ``.ipynb`` files: every markdown cell is one message
    (translated whole when the page is exported), and the ``_()`` calls of code cells.
    Yields ``(lineno, funcname, message, comments)`` as Babel's extractors do; the line is
    the cell's number."""
    import json

    from babel.messages.extract import extract_python

    cells = json.loads(fileobj.read().decode("utf-8")).get("cells", [])
    for i, cell in enumerate(cells, start=1):
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown" and source.strip():
            yield i, None, source.strip(), [f"markdown cell {i}"]
        elif cell.get("cell_type") == "code" and "_(" in source:
            import io

            for _line, func, msg, comments in extract_python(
                io.BytesIO(source.encode("utf-8")), keywords, comment_tags, options
            ):
                yield i, func, msg, comments


def extract_alert_rules(fileobj, keywords, comment_tags, options):
    """Babel extraction method for alert rule files (``salesnb/alerts/*.yaml``): the
    ``message`` of every rule (a list of rules, or ``rules:`` holding one), shown translated
    on the index, the dashboards and in notifications. The line is the rule's number."""
    import yaml

    data = yaml.safe_load(fileobj.read().decode("utf-8")) or []
    rules = data.get("rules", []) if isinstance(data, dict) else data
    for i, rule in enumerate(rules if isinstance(rules, list) else [], start=1):
        message = rule.get("message") if isinstance(rule, dict) else None
        if isinstance(message, str) and message.strip():
            yield i, None, message, [f"alert rule {i}"]


def _method(f: Path):
    """The extraction method of a source file (None: it holds no messages)."""
    if f.suffix == ".yaml" and f.parent.name == "alerts":
        return extract_alert_rules
    return {".py": "python", ".ipynb": extract_notebook}.get(f.suffix)


def messages(root: Path, paths=None) -> dict[str, list[str]]:
    """Message id -> where it is (``file:line``) for every message of ``paths`` (files or
    folders below ``root``; default :data:`SOURCES`): Babel's Python extractor for ``.py``,
    :func:`extract_notebook` for ``.ipynb``, :func:`extract_alert_rules` for the alert rule
    files (``alerts/*.yaml``)."""
    from babel.messages.extract import extract

    out: dict[str, list[str]] = {}
    files: list[Path] = []
    for p in paths or SOURCES:
        p = root / p
        files += sorted(p.rglob("*")) if p.is_dir() else [p]
    for f in files:
        method = _method(f)
        if method is None or ".ipynb_checkpoints" in f.parts:
            continue
        with f.open("rb") as fh:
            for lineno, msg, _comments, _ctx in extract(method, fh, KEYWORDS):
                for m in msg if isinstance(msg, tuple) else (msg,):
                    if m:
                        out.setdefault(m, []).append(f"{f.relative_to(root)}:{lineno}")
    return out


def missing(root: Path, lang: str = "zh-CN", paths=None) -> dict[str, list[str]]:
    """The messages of ``paths`` that no catalog of ``lang`` translates."""
    catalog.cache_clear()
    known = catalog(lang)
    return {m: where for m, where in messages(root, paths).items() if m not in known}


def add_to_catalog(area: str, entries: dict[str, list[str]], lang: str = "zh-CN") -> Path:
    """Append ``entries`` (message id -> locations) untranslated (empty ``msgstr``) to the
    catalog ``<lang>/LC_MESSAGES/<area>.po``, created when absent; returns its path."""
    from babel.messages.catalog import Catalog
    from babel.messages.pofile import read_po, write_po

    path = LOCALE_DIR / _LOCALES[lang] / "LC_MESSAGES" / f"{area}.po"
    if path.exists():
        with path.open("rb") as fh:
            cat = read_po(fh, locale=_LOCALES[lang])
    else:
        path.parent.mkdir(parents=True, exist_ok=True)
        cat = Catalog(locale=_LOCALES[lang], project="salesnb", fuzzy=False)
    for msg, where in entries.items():
        if msg not in cat:
            locs = [(w.rsplit(":", 1)[0], int(w.rsplit(":", 1)[1])) for w in where]
            cat.add(msg, "", locations=locs)
    with path.open("wb") as fh:
        write_po(fh, cat, width=100, omit_header=False, sort_output=False)
    return path


def fill_catalog(area: str, translations: dict[str, str], lang: str = "zh-CN") -> list[str]:
    """Set the translations of ``translations`` (message id -> text) in ``<area>.po``, adding
    the messages it lacks; returns the ids whose placeholders (``{name}``) differ from the
    translation's (not written)."""
    import string

    from babel.messages.pofile import read_po, write_po

    path = LOCALE_DIR / _LOCALES[lang] / "LC_MESSAGES" / f"{area}.po"
    if not path.exists():
        add_to_catalog(area, {}, lang)
    with path.open("rb") as fh:
        cat = read_po(fh, locale=_LOCALES[lang])

    def fields(text: str) -> set:
        try:
            return {f for _t, f, _s, _c in string.Formatter().parse(text) if f is not None}
        except ValueError:
            return {"<unbalanced braces>"}

    bad = []
    for msgid, text in translations.items():
        if fields(msgid) != fields(text):
            bad.append(msgid)
            continue
        if msgid in cat:
            cat[msgid].string = text
        else:
            cat.add(msgid, text)
    with path.open("wb") as fh:
        write_po(fh, cat, width=100, sort_output=False)
    catalog.cache_clear()
    return bad


def main(argv=None) -> int:
    """``python -m salesnb.i18n missing [PATH ...] [--add AREA]``: the messages no Chinese
    catalog translates yet (with where they are); ``--add AREA`` appends them, untranslated,
    to ``salesnb/locale/zh_CN/LC_MESSAGES/AREA.po`` for a translator to fill in.
    ``python -m salesnb.i18n fill AREA FILE.json``: set the translations of a JSON object
    (English message -> Chinese) in ``AREA.po``."""
    import argparse

    parser = argparse.ArgumentParser(prog="python -m salesnb.i18n")
    parser.add_argument("command", choices=["missing", "fill"])
    parser.add_argument("paths", nargs="*", help="files or folders (default: salesnb notebooks)")
    parser.add_argument("--add", metavar="AREA", help="append them to the catalog AREA.po")
    args = parser.parse_args(argv)
    root = Path(__file__).resolve().parent.parent
    if args.command == "fill":  # fill AREA FILE.json: {"English": "中文", ...}
        import json

        area, file = args.paths
        bad = fill_catalog(area, json.loads(Path(file).read_text(encoding="utf-8")))
        for msgid in bad:
            print(f"not written, its placeholders differ: {msgid!r}")
        return 1 if bad else 0
    todo = missing(root, "zh-CN", args.paths or None)
    for msg, where in todo.items():
        print(f"{', '.join(where)}: {msg!r}")
    if args.add and todo:
        print(f"added {len(todo)} message(s) to {add_to_catalog(args.add, todo)}")
    print(f"{len(todo)} message(s) without a zh-CN translation")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
