"""The targets study (with its landing forecast) and the market study in Chinese: their sentences
with numbers (amounts in 万 / 亿, periods as 2026年第3季度), and each study's page run with
``salesnb report --lang zh-CN`` holding no English left untranslated."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from bs4 import BeautifulSoup
from i18n_check import data_values, untranslated

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


# ------------------------------------------------------------------ each study's page in Chinese
@pytest.fixture(scope="module")
def chinese_report(demo_warehouse, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("targets-market-zh")
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV_VAR}
    cmd = [sys.executable, "-m", "salesnb.cli", "report", "--source", str(demo_warehouse)]
    cmd += [a for s in STUDIES for a in ("--only", s)] + ["--workers", "1", "--out", str(out)]
    cmd += ["--lang", "zh-CN"]
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


def _values(warehouse: Path) -> set[str]:
    from salesnb.sources import connect

    src = connect(str(warehouse))
    try:
        return data_values(src)
    finally:
        src.close()


@pytest.mark.slow
@pytest.mark.xdist_group("zh-targets")
@pytest.mark.parametrize("study", STUDIES)
def test_study_page_reads_in_chinese(chinese_report, demo_warehouse, study):
    html = (chinese_report / f"{study}.html").read_text(encoding="utf-8")
    assert "行动建议" in html and "2026年" in html
    doc = BeautifulSoup(html, "html.parser")
    for banner in doc.select("div.salesnb-banner"):  # the report's words: its own tests check them
        banner.decompose()
    assert untranslated(str(doc), _values(demo_warehouse)) == []
