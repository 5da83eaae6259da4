"""The targets study (with its landing forecast) and the market study in Chinese: their sentences
with numbers (amounts in 万 / 亿, periods as 2026年第3季度), and each study's page run with
``salesnb report --lang zh-CN`` holding no English left untranslated."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from i18n_check import untranslated

from salesnb import i18n
from salesnb.metrics import landing as ld
from salesnb.metrics import market as mm
from salesnb.metrics import targets as tm
from salesnb.model.periods import parse_period

STUDIES = ("targets", "market")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def _running_quarter() -> ld.LandingStudy:
    """2026-Q3 as of 15 August: 10M a day to date, no pipeline, no monthly history."""
    days = pd.date_range("2026-07-01", "2026-08-15", freq="D")
    inputs = ld.LandingInputs(
        pd.Series(1e7, days), pd.Series(dtype="float64", index=pd.DatetimeIndex([])), days[0]
    )
    return ld.landing_study(parse_period("2026-Q3"), "2026-08-15", inputs)


def test_landing_sentence_reads_in_chinese_with_its_numbers(chinese):
    study = _running_quarter()
    text = ld.landing_markdown(study, "USD", 1.2e9, "quota")
    assert text.startswith("**2026年第3季度预计落地于 9.2亿 USD**（80% 区间 "), text
    assert "期初至今 4.6亿 USD（截至 2026年8月15日，第 46 天，共 92 天）" in text
    assert "距配额 12亿 USD 还差 2.8亿 USD" in text
    assert "在途商机方法需要商机表" in text  # the note on the missing method
    assert not re.search(r"\d(\.\d)?[kMB] USD", text)
    assert untranslated(f"<p>{text}</p>") == []
    (action,) = ld.landing_actions(ld.headline_figures(study, quota=1.2e9), "USD")
    assert action.startswith("- **2026年第3季度预计落地于 9.2亿 USD**") and "距配额还差" in action


def test_landing_sentence_unchanged_in_english():
    text = ld.landing_markdown(_running_quarter(), "USD", 1.2e9, "quota")
    assert text.startswith("**2026-Q3 lands at 920M USD** (80% interval ")
    assert "460M USD to date (day 46 of 92, as of 2026-08-15)" in text
    assert "That is 280M USD short of the quota of 1.2B USD" in text
    assert not CJK.search(text)


def test_target_and_market_sentences_read_in_chinese(chinese):
    review = tm.review_figures(parse_period("2026-Q3"), {"revenue": 1.15e9}, {"revenue": 1e9})
    assert tm.review_markdown(review) == (
        "2026年第3季度收于 **11.5亿 USD**，较去年同期（10亿 USD）**+15.0%**。"
    )
    assert tm.plan_line(parse_period("2026-Q4"), "手动设定", tm.ALL_SCOPE, "USD") == (
        "**计划期间 2026年第4季度**（2026年10月1日 – 2026年12月31日）· 手动设定 · "
        "全部区域、团队和渠道 · 货币 USD"
    )
    assert mm.revenue_sentence("2026-Q3", 1500.0, 1200.0, "EUR") == (
        "2026年第3季度净收入：**1,500.00 EUR**（一年前同期：1,200.00）。"
    )
