"""The service, expansion and risk studies in Chinese: their sentences with numbers, and each
study's page run with ``salesnb report --lang zh-CN`` holding no English left untranslated; in
English, their pages name the warehouse without its path, write p-values without scientific
notation and show no Python warning."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from i18n_check import untranslated

from salesnb import i18n
from salesnb.metrics import expansion as em
from salesnb.metrics import risk as rm
from salesnb.metrics import service as sm

STUDIES = ("service", "expansion", "risk")
# the files of the three studies and of the notebooks' facade, every message translated
TRANSLATED = (
    "salesnb/study.py",
    "salesnb/plots/__init__.py",
    "salesnb/metrics/service.py",
    "salesnb/metrics/expansion.py",
    "salesnb/metrics/risk.py",
    "salesnb/plots/service.py",
    "salesnb/plots/expansion.py",
    "salesnb/plots/risk.py",
    "notebooks/08-service.ipynb",
    "notebooks/09-expansion.ipynb",
    "notebooks/10-risk.ipynb",
)
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def _tickets(n: int = 40) -> pd.DataFrame:
    return pd.DataFrame(
        {
            "priority": ["High", "Low"] * (n // 2),
            "first_response_hours": [9.0, 3.0] * (n // 2),
            "resolution_hours": [24.0 * (1 + i % 5) for i in range(n)],
            "csat": [5.0 - (i % 5) for i in range(n)],
            "category": ["Billing", "Defect"] * (n // 2),
        }
    )


def test_service_sentences_read_in_chinese(chinese):
    t = sm.sla_table(_tickets())
    summary = sm.service_summary(t)
    by_cat = sm.service_summary(t, by="category")
    touch = pd.DataFrame({"touchpoint": ["Purchase"], "nps": [-22.0]})
    text = sm.what_to_do(summary, by_cat, touch, sm.csat_drivers(t))
    assert "的工单首次响应 SLA 违约（目标 ≤ 5%）" in text
    assert "先处理 **Billing** 类工单" in text or "先处理 **Defect** 类工单" in text
    assert "表现最差的触点是 **Purchase**（净推荐值 -22）" in text
    assert untranslated(f"<p>{text}</p>", {"Purchase", "Billing", "Defect"}) == []
    gaps = sm.csat_driver_gaps(t.assign(breached=True))
    assert gaps == {"首次响应 SLA 违约": "所有工单都违反了首次响应 SLA"}
    assert sm.nps_sentence({"nps": -13.2, "low": -19.4, "high": -7.1, "responses": 1649}) == (
        "净推荐值 **-13**（95% 区间 -19 .. -7），基于 1,649 份回复。"
    )


def test_expansion_and_risk_sentences_read_in_chinese(chinese):
    table = pd.DataFrame(
        {"country": ["A", "B"], "revenue_share": [0.9, 0.1], "growth": [0.1, -0.05]}
    )
    ranking = table.iloc[[1]].assign(market_share=0.2)
    text = em.what_to_do(table, ranking, "A")
    assert "- **10.0%** 的收入来自 A 以外。" in text
    assert "下一步扩张重点放在 **B**（增长 -5.0%，我们的市场份额 20.0%）" in text
    assert em.prorated_note({"2026-Q3": 1 / 3}, "2026-09").startswith(
        "2026年9月的市场规模按市场表折算：2026年第3季度的 33%"
    )
    b = pd.DataFrame({"rep_id": ["R1", "R1"], "excess": [0.05, 0.01], "amount": [10.0, 5.0]})
    text = rm.what_to_do(b, rm.breaches_by_rep(b), pd.DataFrame(), pd.DataFrame(), {"hhi": 2000})
    assert "**2** 个赢单商机超出其销售代表的折扣权限，先从 **R1** 开始（2 个赢单商机）" in text
    assert "客户集中度偏高（HHI 2000 > 1500）" in text
    assert rm.breach_count_line(1, "order lines", "2026-Q3") == (
        "2026年第3季度有 **1** 条订单行超出权限。"
    )
    assert rm.return_test_gap(
        pd.DataFrame({"rep_id": ["a"], "lines": [10], "return_lines": [1]})
    ) == ("只有一位销售代表有订单行")


def test_sentences_unchanged_in_english():
    b = pd.DataFrame({"rep_id": ["R1"], "excess": [0.05], "amount": [10.0]})
    text = rm.what_to_do(
        b, rm.breaches_by_rep(b), pd.DataFrame(), pd.DataFrame(), {}, unit="order lines"
    )
    assert text == (
        "- **1** order lines exceed their rep's discount authority; start with **R1** "
        "(1 order line). Require approval before quoting above authority."
    )
    assert rm.breach_count_line(2, "won deals", "2026-Q3") == (
        "**2** won deals above authority in 2026-Q3."
    )
    assert not CJK.search(
        sm.what_to_do(pd.DataFrame(), pd.DataFrame(), pd.DataFrame(), pd.DataFrame())
    )
