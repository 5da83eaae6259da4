"""The dashboards in Chinese: every word of both boards translated, the numbers unchanged.

The boards draw HTML strings per section (no Voilà, no browser needed): each test builds a
board on the demo company as a Voilà kernel would, with the page's query string in
``QUERY_STRING`` (``?lang=zh-CN``), and reads the sections' HTML. The charts are SVG
documents inside ``<img>`` data URLs: their texts are decoded and checked too.
"""

from __future__ import annotations

import base64
import re

import pytest
from i18n_check import data_values, untranslated

from salesnb import dashboards, i18n
from salesnb.model.filters import Filters
from salesnb.sources import connect


@pytest.fixture(autouse=True)
def english_again(monkeypatch):
    """Each test starts in English (no SALESNB_LANG) and leaves the process in it."""
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    i18n.set_language(None)
    yield
    i18n.set_language(None)


@pytest.fixture(scope="module")
def values(demo_warehouse):
    src = connect(demo_warehouse)
    yield data_values(src)
    src.close()


def _open(make, source, monkeypatch, query: str):
    monkeypatch.setenv("QUERY_STRING", query)
    board = make(source=str(source))
    board.apply_url()
    return board


def _page(board) -> str:
    """What a viewer reads: the title, the status line, every caption and section."""
    parts = [board.header.value, board.status.value]
    for name, section in board.sections.items():
        if name in board.captions:
            parts.append(board.captions[name].value)
        parts.append(section.value)
    return "\n".join(parts)


def _chart_texts(html: str) -> list[str]:
    """The texts of every chart of ``html`` (decoded from the images' data URLs)."""
    out = []
    for data in re.findall(r'src="data:image/svg\+xml;base64,([^"]+)"', html):
        svg = base64.b64decode(data).decode("utf-8")
        out += [t for t in re.findall(r">([^<>]+)</text>", svg)]
    return out


def _kpis(html: str) -> dict[str, str]:
    return dict(re.findall(r'data-kpi="([^"]+)" data-value="([^"]*)"', html))


def _cells(html: str) -> list[tuple[str, str]]:
    return re.findall(r'data-col="([^"]+)" data-value="([^"]*)"', html)


def test_executive_board_in_chinese(demo_warehouse, values, monkeypatch):
    english = _open(dashboards.executive, demo_warehouse, monkeypatch, "")
    english_page = _page(english)
    assert i18n.language() == "en"
    board = _open(dashboards.executive, demo_warehouse, monkeypatch, "lang=zh-CN")
    assert i18n.language() == "zh-CN" and board.status.value == ""
    page = _page(board)
    assert untranslated(page, values) == []
    charts = _chart_texts(page)
    assert len(charts) > 10
    assert untranslated("".join(f"<p>{t}</p>" for t in charts), values) == []
    assert "管理层仪表板" in page and "落地预测" in page and "达成率" in page
    assert "收入（" in "".join(charts)  # the revenue axis
    headline = board.sections["headline"].value
    assert re.search(r"\d(\.\d)?(万|亿) [A-Z]{3}<", headline)  # amounts in 万 / 亿
    assert " M " not in headline and "k USD" not in headline
    # the numbers are the English board's: only the words changed
    assert _kpis(headline) == _kpis(english.sections["headline"].value)
    assert _kpis(page) == _kpis(english_page)
    labels = [d.description for d in board.panel.dropdowns.values()]
    assert labels == ["期间", "区域", "团队", "渠道"]
    assert board.panel.dropdowns["region"].options[0] == ("全部", "")


def test_running_period_landing_in_chinese(demo_warehouse, values, monkeypatch):
    """Seen mid-quarter (``as_of``), the landing card gives its interval, gap and method."""
    from datetime import timedelta

    src = connect(demo_warehouse)
    period = dashboards.current_period(src)
    src.close()
    day = period.start + timedelta(days=45)
    board = _open(dashboards.executive, demo_warehouse, monkeypatch, f"as_of={day}&lang=zh-CN")
    headline = board.sections["headline"].value
    assert board.status.value == "" and "80% 区间" in headline
    assert f"数据截至 {day.year}年{day.month}月{day.day}日" in headline
    assert untranslated(_page(board), values) == []


def test_switching_language_keeps_the_numbers(demo_warehouse, monkeypatch):
    """A preheated kernel computed the figures in the server's language; ``?lang=`` redraws
    the words without computing them again, except a landing note (words of its own)."""
    monkeypatch.setenv("QUERY_STRING", "lang=zh-CN")
    board = dashboards.executive(source=str(demo_warehouse))
    kept = {k: v for k, v in board._cache.items() if k[0] == "exec"}
    board._cache[("exec", "noted")] = {"landing_note": "no complete month of revenue"}
    before = board.redraws
    board.apply_url()
    assert i18n.language() == "zh-CN" and board.redraws == before + 1
    assert all(board._cache[k] is v for k, v in kept.items())
    assert ("exec", "noted") not in board._cache
    assert "落地预测" in board.sections["headline"].value


def test_team_board_in_chinese(demo_warehouse, values, monkeypatch):
    english = _open(dashboards.team, demo_warehouse, monkeypatch, "")
    board = _open(dashboards.team, demo_warehouse, monkeypatch, "lang=zh-CN")
    page = _page(board)
    assert untranslated(page, values) == []
    assert untranslated("".join(f"<p>{t}</p>" for t in _chart_texts(page)), values) == []
    assert "<th>销售代表</th>" in page and "<th>赢单率</th>" in page and "单个销售代表详情" in page
    assert re.search(r"\d(万|亿) [A-Z]{3}<", board.sections["scorecard"].value)
    assert " 天<" in board.sections["scorecard"].value
    assert board.picker.description == "销售代表"
    # the same reps, the same raw numbers, the same drill-down
    assert _cells(board.sections["scorecard"].value) == _cells(english.sections["scorecard"].value)
    assert _kpis(board.sections["rep"].value) == _kpis(english.sections["rep"].value)


def test_lang_in_the_url_is_a_checked_link_parameter(demo_warehouse, monkeypatch):
    src = connect(demo_warehouse)
    try:
        assert dashboards.url_parameters("lang=zh-CN", src) == ({"lang": "zh-CN"}, [])
        assert dashboards.url_parameters("lang=zh_cn&region=", src) == (
            {"lang": "zh-CN", "region": ""},
            [],
        )
        values, problems = dashboards.url_parameters("lang=fr", src)
        assert values == {} and len(problems) == 1
        assert "'fr'" in problems[0] and "en, zh-CN" in problems[0]
    finally:
        src.close()
    assert dashboards.url_language("region=East&lang=zh-CN") == "zh-CN"
    assert dashboards.url_language("lang=fr") is None and dashboards.url_language("") is None


def test_unknown_language_is_reported_and_the_page_stays_english(demo_warehouse, monkeypatch):
    board = _open(dashboards.executive, demo_warehouse, monkeypatch, "lang=fr")
    assert i18n.language() == "en"
    assert "Link parameter ignored: unknown language" in board.status.value
    assert "&#x27;fr&#x27;" in board.status.value
    assert 'data-kpi="forecast"' in board.sections["headline"].value
    assert "Landing forecast" in board.sections["headline"].value


def test_english_page_in_a_chinese_server(demo_warehouse, monkeypatch):
    """``salesnb dashboard --lang zh-CN`` (SALESNB_LANG in every kernel); ``?lang=en`` on one
    page gives that page in English, messages included."""
    monkeypatch.setenv(i18n.ENV_VAR, "zh-CN")
    chinese = _open(dashboards.executive, demo_warehouse, monkeypatch, "region=Atlantis")
    assert "已忽略链接参数：未知的 region &#x27;Atlantis&#x27;" in chinese.status.value
    assert "管理层仪表板" in chinese.header.value
    board = _open(dashboards.executive, demo_warehouse, monkeypatch, "lang=en&region=Atlantis")
    assert i18n.language() == "en"
    assert "Link parameter ignored: unknown region" in board.status.value
    assert "Executive dashboard" in board.header.value
    assert "Period" == board.panel.dropdowns["period"].description


def test_the_server_passes_its_language_to_the_kernels(monkeypatch):
    i18n.set_language("zh-CN")
    assert dashboards.voila_env("/tmp/x.duckdb")[i18n.ENV_VAR] == "zh-CN"
    i18n.set_language("en")
    assert dashboards.voila_env("/tmp/x.duckdb")[i18n.ENV_VAR] == "en"


def test_chinese_charts_use_a_cjk_font():
    i18n.set_language("zh-CN")
    svg = dashboards.svg_column_chart(["2026-07"], [1.0], "收入", "收入（USD）")
    assert "Noto Sans CJK SC" in svg
    i18n.set_language("en")
    svg = dashboards.svg_column_chart(["2026-07"], [1.0], "Revenue", "Revenue (USD)")
    assert "CJK" not in svg


@pytest.mark.browser
@pytest.mark.xdist_group("dashboard-browser")
def test_chinese_page_in_a_real_browser(demo_warehouse, chromium, values):
    """``?lang=zh-CN`` through Voilà in Debian Chromium: the page reads Chinese (panel, title,
    tiles, captions), the numbers are the library's, no code and no internet."""
    from dashboard_pages import (
        Viewer,
        chromium_browser,
        start_server,
        stop_server,
        wait_until_serving,
    )

    proc, base, log = start_server(demo_warehouse, "dashboard-server-zh.log", preheat=False)
    try:
        wait_until_serving(proc, base, log)
        with chromium_browser(chromium) as browser:
            v = Viewer(browser)
            try:
                v.open(f"{base}/voila/render/executive.ipynb?lang=zh-CN")
                v.page.wait_for_selector("text=管理层仪表板", timeout=60_000)
                body = v.text()
                for words in ("落地预测", "达成率", "期间", "区域", "当前需要关注的事项"):
                    assert words in body, words
                html = v.page.content()
                assert untranslated(html, values) == []
                src = connect(demo_warehouse)
                period = dashboards.current_period(src)
                want = dashboards.executive_figures(src, Filters(period.start, period.end))
                src.close()
                assert v.kpis()["revenue"] == pytest.approx(want["revenue"], rel=1e-6)
                v.assert_clean()
                v.shot("executive-zh")
            finally:
                v.close()
    finally:
        stop_server(proc, log)
