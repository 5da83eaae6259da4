"""Finding English left on a page meant to be Chinese (a test helper).

:func:`untranslated` reads a page's visible text (not its style, scripts or inline images) and
returns the runs of three or more English words left in it, once the values that come from the
data are taken out: people's, customers' and products' names, stage names, channels, regions,
teams, sources, file names and codes (shown as the data spells them, by design).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser

from salesnb.sources import Source

# three or more words of Latin letters in a row (a sentence or a phrase left in English)
ENGLISH_RUN = re.compile(r"[A-Za-z][A-Za-z'’]*(?:[ \t,;:/()-]+[A-Za-z][A-Za-z'’]*){2,}")
# file names, ids, keys, URLs, e-mail addresses: data or plumbing, not prose
_NOT_PROSE = re.compile(
    r"[\w.-]+\.(?:csv|xlsx|json|html|ipynb|duckdb|yaml)\b|https?://\S+|\S+@\S+|\b\w+_\w+\b"
)
_SKIP_TAGS = {"style", "script", "head", "title", "code", "pre"}


class _Text(HTMLParser):
    def __init__(self, skip=_SKIP_TAGS):
        super().__init__(convert_charrefs=True)
        self.skip = skip
        self.depth = 0
        self.parts: list[str] = []

    def handle_starttag(self, tag, attrs):
        if tag in self.skip:
            self.depth += 1

    def handle_endtag(self, tag):
        if tag in self.skip and self.depth:
            self.depth -= 1

    def handle_data(self, data):
        if not self.depth and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str, skip=_SKIP_TAGS) -> list[str]:
    """The text nodes a reader sees (style, script, code and the head left out; ``skip``:
    the tags whose text is left out)."""
    p = _Text(skip)
    p.feed(html)
    return p.parts


DATA_VALUES_SQL = {
    "reps": ("name", "team", "region"),
    "customers": ("name", "segment", "industry", "country", "region"),
    "products": ("name", "category", "subcategory", "family"),
    "opportunities": ("stage", "source", "loss_reason", "competitor", "status"),
    "orders": ("channel", "region", "country", "currency"),
    "leads": ("channel", "source", "status"),
    "tickets": ("category", "priority", "channel", "status"),
    "trainings": ("programme", "program", "name"),
    "pilots": ("name", "pilot", "variant"),
    "stage_history": ("stage",),
    "surveys": ("comment", "touchpoint"),  # what customers wrote, in their words
}


def data_values(src: Source) -> set[str]:
    """Every text value of the warehouse's descriptive columns (names, stages, channels...)."""
    out: set[str] = set()
    for table, cols in DATA_VALUES_SQL.items():
        if not src.has(table):
            continue
        t = src.table(table)
        for c in cols:
            if c in t.columns:
                vals = t.select(c).distinct().limit(50_000).execute()[c]
                out |= {str(v) for v in vals if isinstance(v, str) and v.strip()}
    return out


def untranslated(html: str, values: set[str] = frozenset(), allow=()) -> list[str]:
    """English runs of three or more words left on a page, after removing the data
    ``values`` (longest first) and the phrases in ``allow``."""
    found = []
    removable = sorted({*values, *allow}, key=len, reverse=True)
    for text in visible_text(html):
        t = _NOT_PROSE.sub(" ", text)
        for v in removable:
            if v in t:
                t = t.replace(v, " ")
        found += [m.group(0) for m in ENGLISH_RUN.finditer(t)]
    return found
