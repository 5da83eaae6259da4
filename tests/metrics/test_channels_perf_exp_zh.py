"""The channels, performance (with commission plans) and experiments studies in Chinese: their
sentences with numbers, p-values written without scientific notation, reps named by name,
and each study's page run with ``salesnb report --lang zh-CN`` holding no English left
untranslated (and, run in English, no scientific notation on a page)."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from i18n_check import untranslated

from salesnb import i18n
from salesnb.metrics import channels as cm
from salesnb.metrics import experiments as em
from salesnb.metrics import incentives as inc
from salesnb.metrics import performance as pm

STUDIES = ("channels", "performance", "experiments")
CJK = re.compile(r"[\u3400-\u9fff]")
# a number in scientific notation (8.54e-82, 1E+05), as a page must never show one
SCIENTIFIC = re.compile(r"\b\d+(?:\.\d+)?[eE][+-]?\d+\b")


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def _pilot() -> dict:
    return {
        "pilot_rate": 0.171,
        "control_rate": 0.097,
        "uplift": 0.074,
        "uplift_low": 0.057,
        "uplift_high": 0.091,
        "p_value": 4.7e-18,
        "p_value_clustered": 5.1e-14,
        "revenue_uplift": 5113970.0,
        "revenue_p_value": 0.0037,
        "verdict": "roll out",
        "reason": "win rate +7.4% points, significant (p < 0.001)",
    }


def test_channel_tests_read_in_chinese_with_their_numbers(chinese):
    text = cm.significance_summary(
        {"statistic": 380.14, "p_value": 8.54e-82}, {"p_value": 0.0, "cramers_v": 0.0681}, "2025-Q3"
    )
    assert text == (
        "- 各渠道订单金额：Welch F = 380.14，p < 0.001\n"
        "- 与2025年第3季度相比的渠道结构变化：p < 0.001，Cramér's V = 0.068"
    )
    leaders = {
        "growing_channel": "Online",
        "growing_share_change": 0.032,
        "shrinking_channel": "Retail",
        "shrinking_share_change": -0.026,
    }
    summary = pd.DataFrame({"channel": ["Online"], "margin_pct": [float("nan")]})
    actions = cm.channel_actions(summary, leaders, {}, {}, {})
    assert actions == (
        "- **Online** 份额上升（同比 +3.2 个百分点），**Retail** 份额下降（-2.6 个百分点）："
        "将精力和预算向 Online 倾斜。"
    )
    assert untranslated(f"<p>{text}</p><p>{actions}</p>") == []


def test_performance_and_pilot_sentences_read_in_chinese(chinese):
    f = pm.scope_figures(90.0, 120.0, 60.0)
    assert (
        pm.scope_markdown(f)
        == "收入 **90 USD**，目标 **120** → 达成率 **75.0%**；同比 **+50.0%**。"
    )
    plan = inc.Plan("flat", 0.05)
    assert inc.payout_markdown(plan, 500.0, 10_000.0) == (
        "**flat**：统一 5.0%；退货追回佣金\n\n总支付 **500 USD** = 净收入的 **5.00%**。"
    )
    text = em.describe_pilot(_pilot(), "Value selling", "rep", "2026-01-01")
    assert text.startswith(
        "**Value selling**（以销售代表为单位，自 2026年1月1日 起）：赢单率 17.1% vs 9.7% → "
        "**+7.4 个百分点**（95% 置信区间 +5.7% 至 +9.1%），p < 0.001（聚类检验 p < 0.001）"
    ), text
    assert "结论：**推广**" in text
    assert not SCIENTIFIC.search(text)


def test_p_values_never_in_scientific_notation_in_english():
    text = em.describe_pilot(_pilot(), "Value selling", "rep", "2026-01-01")
    assert "p < 0.001 (clustered p < 0.001)" in text and "(Welch p = 0.0037)" in text
    summary = cm.significance_summary(
        {"statistic": 380.14, "p_value": 8.54e-82}, {"p_value": 0.0, "cramers_v": 0.07}, "2025-Q3"
    )
    assert "Welch F = 380.14, p < 0.001" in summary and "2025-Q3: p < 0.001" in summary
    assert not SCIENTIFIC.search(text + summary) and not CJK.search(text + summary)


def test_actions_name_reps_by_name_with_the_id_only_for_namesakes():
    card = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3"],
            "name": ["Marco Hughes", "Lena Baker", "Marco Hughes"],
            "attainment": [0.5, 0.9, 0.95],
        }
    )
    funnel = pd.DataFrame({"rep_id": ["R2", "R1"], "status": ["watch", "coach"]})
    text = pm.performance_actions(card, funnel)
    assert "- **1** rep(s) below 70% of target (Marco Hughes (R1))" in text
    assert "Coach on deal conversion: Marco Hughes (R1) " in text
    assert "Watch next period: Lena Baker (outside 95 %" in text
    assert not re.search(r"\bR2\b", text)
