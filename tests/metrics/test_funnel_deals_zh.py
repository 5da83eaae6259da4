"""The funnel and deals studies in Chinese: their sentences with numbers, reps named by name
(the id only beside a namesake), every message of both studies in the catalogs, and each
study's page run with ``salesnb report --lang zh-CN`` holding no English left untranslated."""

from __future__ import annotations

import re
from pathlib import Path

import pandas as pd
import pytest
from i18n_check import untranslated

from salesnb import i18n
from salesnb.metrics import deals as dm
from salesnb.metrics import funnel as fm
from salesnb.plots.funnel import table_view

STUDIES = ("funnel", "deals")
FILES = (
    "salesnb/metrics/funnel.py",
    "salesnb/metrics/deals.py",
    "salesnb/metrics/deal_calls.py",
    "salesnb/plots/funnel.py",
    "salesnb/plots/deals.py",
    "notebooks/03-funnel.ipynb",
    "notebooks/11-deals.ipynb",
)
CJK = re.compile(r"[\u3400-\u9fff]")
ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def _board() -> pd.DataFrame:
    """Three reps' forecast-call styles; two of them share a name."""
    return pd.DataFrame(
        {
            "rep_id": ["R034", "R059", "R002"],
            "rep": ["Marco Hughes", "Liam Anders", "Marco Hughes"],
            "calls_bias": [-0.17, -0.19, 0.26],
            "style": ["sandbagger", "sandbagger", "over-promiser"],
        }
    )


def test_funnel_sentences_read_in_chinese_with_their_numbers(chinese):
    assert fm.win_summary(87, 294, 1_234_567.0, "USD") == (
        "- 已关闭商机：**294**（赢单 87，丢单 207）\n"
        "- 赢单率：**29.6%**（95% Wilson 区间 24.7% 至 35.0%）\n"
        "- 赢单金额：**1,234,567 USD**（平均每单 14,190）"
    )
    cov = fm.coverage_against(3e8, 1e8, 0.0, target_label="2026-Q4")
    lines = fm.pipeline_lines(2000.0, None, cov, "USD")
    assert lines == "- 管道速度：**每天 2,000 USD**\n- 管道覆盖率：**3.00倍**（2026年第4季度目标）"
    assert cov["basis"] == "target 2026-Q4"  # <study>.json keeps it in English
    assert untranslated(f"<p>{lines}</p>") == []


def test_deals_actions_name_reps_by_name_in_chinese(chinese):
    text = dm.deals_actions({}, board=_board())
    assert "保守提报者：Marco Hughes (R034, -17%)、Liam Anders (-19%)——" in text
    assert "过度承诺者：Marco Hughes (R002, +26%)——" in text
    assert untranslated(f"<p>{text}</p>", {"Marco Hughes", "Liam Anders"}) == []


def test_english_names_reps_and_keeps_its_words():
    text = dm.deals_actions({}, board=_board())
    assert "- Sandbaggers: Marco Hughes (R034, -17%), Liam Anders (-19%) — their calls" in text
    assert not CJK.search(text)
    scored = pd.DataFrame({"opportunity_id": ["o1"], "rep_id": ["R059"], "amount": [5.0]})
    shown = dm.named_reps(scored, _board()[["rep_id", "rep"]])
    assert shown.to_dict("list") == {
        "opportunity_id": ["o1"],
        "rep": ["Liam Anders"],
        "amount": [5.0],
    }
    assert fm.win_summary(4, 4, 1000.0, "EUR").startswith("- Closed deals: **4** (won 4, lost 0)")


def test_tables_have_readable_chinese_headers_and_words(chinese):
    frame = pd.DataFrame({"method": ["Win model"], "auc": [0.66], "brier": [0.2]})
    html = table_view(frame).format({"auc": "{:.3f}"}).to_html()
    assert "方法" in html and "赢单模型" in html and "Brier 分数" in html
    assert "Win model" not in html
