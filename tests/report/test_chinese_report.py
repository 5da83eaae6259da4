"""The whole report in Chinese (issue 12, item 3): ``salesnb report --lang zh-CN`` on the demo.

Every study runs, and no page (the index and each study's) has a sentence left in English
(tests/i18n_check.py: runs of three or more English words, once the data's own values --
names, stages, channels, what customers wrote -- are taken out); the pages say
``<html lang="zh">`` and write large amounts in 万 / 亿. The English report is the default
and is checked everywhere else.
"""

from __future__ import annotations

import json
import re

import pytest
from i18n_check import untranslated

from salesnb import i18n, studies

pytestmark = [pytest.mark.slow, pytest.mark.xdist_group("report-zh-full")]


@pytest.fixture(scope="module")
def chinese_report(demo_report_zh):
    return demo_report_zh


@pytest.fixture(scope="module")
def values(demo_values):
    return demo_values


def test_every_study_runs_in_chinese(chinese_report):
    manifest = json.loads((chinese_report / "manifest.json").read_text(encoding="utf-8"))
    assert {s["id"]: s["status"] for s in manifest["studies"]} == {
        s["id"]: "ok" for s in manifest["studies"]
    }
    assert len(manifest["studies"]) == len(studies.STUDIES)


def test_no_page_has_a_sentence_left_in_english(chinese_report, values):
    pages = sorted(chinese_report.glob("*.html"))
    assert len(pages) == len(studies.STUDIES) + 1  # the index and every study
    left = {}
    for page in pages:
        html = page.read_text(encoding="utf-8")
        assert '<html lang="zh"' in html, page.name
        found = untranslated(html, values)
        if found:
            left[page.name] = found[:10]
    assert not left, f"English left on the Chinese pages: {left}"


def test_chinese_amounts_and_periods(chinese_report):
    index = (chinese_report / "index.html").read_text(encoding="utf-8")
    period = json.loads((chinese_report / "manifest.json").read_text())["period"]
    assert i18n.period_label(period, "zh-CN") in index and "季度" in index
    assert re.search(r"\d(\.\d+)?亿 USD", index), "large amounts in 亿"
    targets = (chinese_report / "targets.html").read_text(encoding="utf-8")
    assert re.search(r"\d(\.\d+)?(万|亿) USD", targets)
