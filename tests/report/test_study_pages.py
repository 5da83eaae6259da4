"""Study pages read top-down (issue 12, item 2): conclusions and actions first, then the evidence.

On the full demo report, every study page opens (after the banner) with a summary: the
study's headline figures under their business names, equal to ``<study>.json`` as the index
shows them, and the page's own "What to do" actions, equal to its rows of ``actions.csv``.
"""

from __future__ import annotations

import json
import re
from html import unescape

import pandas as pd
import pytest
from i18n_check import visible_text

from salesnb.report import headlines


def _summary(page: str) -> str | None:
    m = re.search(r'<section class="salesnb-summary" id="summary">(.*?)</section>', page, re.S)
    return m.group(1) if m else None


def _texts(fragment: str, tag: str) -> list[str]:
    return [
        unescape(re.sub(r"<[^>]+>", "", t)).strip()
        for t in re.findall(rf"<{tag}[^>]*>(.*?)</{tag}>", fragment, re.S)
    ]


def test_every_page_opens_with_its_figures_and_actions(demo_report):
    manifest = json.loads((demo_report / "manifest.json").read_text())
    actions = pd.read_csv(demo_report / "actions.csv", encoding="utf-8-sig")
    pages = 0
    for s in manifest["studies"]:
        if s["status"] != "ok":
            continue
        page = (demo_report / f"{s['id']}.html").read_text(encoding="utf-8")
        summary = _summary(page)
        figures = json.loads((demo_report / f"{s['id']}.json").read_text())
        want = headlines.study_figures(
            s["id"], figures, s["parameters"].get("currency") or "", period=s.get("period") or ""
        )
        own = actions.loc[actions["study"] == s["id"], "action"].tolist()
        if not want and not own:
            assert summary is None, s["id"]
            continue
        pages += 1
        assert summary is not None, f"{s['id']}.html does not open with its summary"
        # before any of the notebook's own content
        body = page.index("<body")
        assert page.index('id="summary"') < page.index("jp-Cell", body), s["id"]
        assert _texts(summary, "dt") == [f["name"] for f in want or []], s["id"]
        shown = _texts(summary, "dd")
        assert len(shown) == len(want or []), s["id"]
        for text, f in zip(shown, want or [], strict=True):
            assert text.startswith(f["value"]), (s["id"], text, f["value"])
            if f["change"]["direction"] not in ("none", None):
                assert f["change"]["arrow"] in text and f["change"]["text"] in text
        assert _texts(summary, "li") == own, s["id"]
    assert pages >= 10  # the demo's studies all have figures or actions


@pytest.mark.parametrize("study", ["funnel", "customers"])
def test_summary_figures_are_the_json_values(demo_report, study):
    """The figures read the same as the index's (one voice): value text for value text."""
    index = (demo_report / "index.html").read_text(encoding="utf-8")
    page = (demo_report / f"{study}.html").read_text(encoding="utf-8")
    for name, value in zip(_texts(_summary(page), "dt"), _texts(_summary(page), "dd"), strict=True):
        assert name in unescape(index)
        assert value.split(" ")[0] in unescape(index), (study, name, value)


# what must never reach a page a manager reads (issue 12, item 2)
_PLUMBING = {
    "a path on the machine": re.compile(r"/(?:work|tmp|home|root|Users)/|[A-Z]:\\\\"),
    "an object repr": re.compile(r"PosixPath\(|WindowsPath\(|<[\w.]+ object at 0x|dtype: "),
    "a Python warning": re.compile(r"\b\w*Warning: |Traceback \(most recent call last\)"),
    "scientific notation": re.compile(r"(?<![\w.])\d(?:\.\d+)?e[+-]\d{1,3}\b"),
    "a missing value printed raw": re.compile(r"(?<![\w-])(?:nan|NaN|NaT|None|inf)(?![\w-])"),
    "a midnight time on a date": re.compile(r"\b\d{4}-\d{2}-\d{2}[ T]00:00:00\b"),
    "Chinese on an English page": re.compile(r"[\u4e00-\u9fff]"),
}


def _visible_body(page: str) -> str:
    body = page[page.index("<body") :]
    return "\n".join(visible_text(body, skip={"style", "script"}))  # code too


def test_no_page_shows_paths_reprs_warnings_or_raw_numbers(demo_report, demo_values):
    found = {}
    own_words = sorted((v for v in demo_values if re.search(r"[\u4e00-\u9fff]", v)), key=len)
    for page in sorted(demo_report.glob("*.html")):
        text = _visible_body(page.read_text(encoding="utf-8"))
        for v in reversed(own_words):  # what customers wrote in Chinese is data, not the page's
            text = text.replace(v, " ")
        for what, pattern in _PLUMBING.items():
            m = pattern.search(text)
            if m:
                found.setdefault(page.name, []).append(
                    f"{what}: …{text[max(0, m.start() - 60) : m.end() + 40]}…"
                )
    assert not found, found


def test_tables_have_readable_headers(demo_report):
    """No table on a page is headed by a raw column name (``win_rate``): headers are words."""
    raw = {}
    for page in sorted(demo_report.glob("*.html")):
        html = page.read_text(encoding="utf-8")
        body = html[html.index("<body") :]
        heads = {
            unescape(re.sub(r"<[^>]+>", "", h)).strip()
            for h in re.findall(r"<th\b[^>]*>(.*?)</th>", body, re.S)
        }
        snake = sorted(h for h in heads if re.fullmatch(r"[a-z]+(?:_[a-z0-9]+)+", h))
        if snake:
            raw[page.name] = snake
    assert not raw, raw


CUT_NOTE = re.compile(r"The first (\d+) of (\d+) rows; all of them in <a href=\"([^\"]+)\">", re.S)


def test_long_tables_show_their_top_rows_and_link_the_whole_csv(demo_report):
    """No page lists dozens of rows: a long table shows its first rows (study.TOP_ROWS) and
    links the CSV that holds every row (the demo has 60 reps: the rep tables are cut)."""
    from salesnb.study import TOP_ROWS

    cut = {}
    for page_path in sorted(demo_report.glob("*.html")):
        if page_path.name == "index.html":  # its actions beyond the first ten are folded away
            continue
        page = page_path.read_text(encoding="utf-8")
        for table in re.findall(r"<table.*?</table>", page, re.S):
            body = re.search(r"<tbody>(.*?)</tbody>", table, re.S)
            rows = len(re.findall(r"<tr", body.group(1) if body else table))
            assert rows <= TOP_ROWS + 5, f"{page_path.name}: a table of {rows} rows"
        for shown, total, href in CUT_NOTE.findall(page):
            csv = demo_report / unescape(href)
            assert csv.is_file(), f"{page_path.name} links {href}, which is not in the report"
            assert int(shown) == TOP_ROWS and int(total) > TOP_ROWS
            assert len(pd.read_csv(csv, encoding="utf-8-sig")) == int(total), href
            cut.setdefault(page_path.stem, []).append(href)
    # the tables with one row per rep (60 in the demo)
    assert {
        "funnel-win-rate-by-rep.csv",
        "forecast-leaderboard.csv",
        "performance-scorecard.csv",
        "performance-ranking.csv",
        "performance-payouts.csv",
        "targets-allocation.csv",
    } <= {h for hrefs in cut.values() for h in hrefs}, cut


def test_reps_are_named_the_same_way_on_every_page(demo_report, demo_warehouse):
    """A rep's win-rate row on the funnel page is their name (the id beside it only for a
    namesake), as the performance and deals pages name them; the CSV keeps the id."""
    import duckdb

    from salesnb.model.people import rep_names

    with duckdb.connect(str(demo_warehouse), read_only=True) as con:
        reps = con.sql("select rep_id, name from reps").df()
    names = rep_names(reps)
    page = (demo_report / "funnel.html").read_text(encoding="utf-8")
    rows = pd.read_csv(demo_report / "funnel-win-rate-by-rep.csv", encoding="utf-8-sig")
    table = next(
        t for t in re.findall(r"<table.*?</table>", page, re.S) if "Win rate" in t and ">Rep<" in t
    )
    first = [
        unescape(re.sub(r"<[^>]+>", "", c)).strip()
        for c in re.findall(r"<tr>\s*<td[^>]*>(.*?)</td>", table, re.S)
    ]
    assert first == [names.get(str(i), str(i)) for i in rows["rep_id"].head(len(first))]
    assert not any(re.fullmatch(r"R\d+", f) for f in first), first
