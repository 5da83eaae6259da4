"""The customers and data-quality studies in Chinese: their sentences with numbers, and each
study's page run with ``salesnb report --lang zh-CN`` holding no English left untranslated; in
English, their pages name the warehouse without its path, write no number in scientific
notation and no date with a midnight time."""

from __future__ import annotations

import re

import pandas as pd
import pytest
from i18n_check import untranslated

from salesnb import i18n
from salesnb.metrics import customers as mc
from salesnb.metrics import quality as qm

STUDIES = ("customers", "data-quality")
# the files of the two studies, every message translated
TRANSLATED = (
    "salesnb/metrics/customers.py",
    "salesnb/metrics/clv.py",
    "salesnb/metrics/quality.py",
    "salesnb/plots/customers.py",
    "salesnb/plots/quality.py",
    "notebooks/05-customers.ipynb",
    "notebooks/00-data-quality.ipynb",
)
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def _segments() -> pd.DataFrame:
    return pd.DataFrame(
        {
            "segment": ["At risk", "New"],
            "customers": [12, 5],
            "revenue_share": [0.25, 0.01],
        }
    )


def test_customers_sentences_read_in_chinese(chinese):
    at_risk = pd.DataFrame({"past_value": [1000.0, 500.0], "owner_rep": ["Ana Li", "Bo Chen"]})
    text = mc.what_to_do(
        segments=_segments(),
        flows={"kept": 10, "gained": 2, "lost": 4},
        at_risk=at_risk,
        top10_share=0.31,
        month1_retention=0.12,
        currency="USD",
    )
    assert (
        "- **致电 2 位已沉寂的高价值客户**（`customers-at-risk.csv`，分属 2 位客户负责人）" in text
    )
    assert "**有流失风险**细分市场（12 位客户，占过去一年收入的 25%）" in text
    assert (
        "- 冠军客户：自上一期间以来保留 10 位，新增 2 位，流失 4 位——查明流失客户离开的原因。"
        in text
    )
    assert "- 只有 12% 的新客户在次月再次购买" in text
    assert "- 前 10 大客户贡献了 31% 的收入" in text
    assert untranslated(f"<p>{text}</p>", set()) == []
    assert mc.period_line("2026-Q3", "region=EMEA", "2026-Q2", "USD") == (
        "**期间 2026年第3季度**（region=EMEA）；变动与2026年第2季度相比；金额单位：USD。"
    )


def test_quality_sentences_read_in_chinese(chinese):
    text = qm.quality_actions(
        {
            "quarantined_pct": 0.0,
            "impossible_sequences": 4,
            "resolved_before_opened": 4,
            "sequence_checks_run": 2,
        }
    )
    assert "**4 行出现不可能的时间顺序**（4 开单前即解决）" in text
    assert "未运行订单行检查：没有订单表。" in text
    lines = qm.suspicious_lines_text(
        {
            "rows": 100,
            "negative_amount": 3,
            "negative_unflagged": 1,
            "discount_over": 2,
            "zero_price": 0,
        },
        5,
        -10.0,
        90.0,
        currency="USD",
    )
    assert "- 3 行净金额为负，**其中 1 行未标记为退货**" in lines
    assert "- 5 行（5.0%）落在 IQR 围栏 -10 .. 90 USD 之外" in lines
    assert untranslated(f"<p>{text}</p><p>{lines}</p>", set()) == []


def test_sentences_unchanged_in_english():
    assert mc.what_to_do(segments=_segments(), flows={"kept": 1, "gained": 2, "lost": 0}) == (
        "- Win back the **At risk** segment (12 customers, 25% of last year's revenue) before "
        "they lapse to Lost.\n"
        "- Onboard the 5 **New** customers: a second purchase in the first months is where "
        "retention is decided.\n"
        "- Champions: kept 1, gained 2, lost 0 since the prior period."
    )
    assert qm.tables_line(["orders"], []) == " · tables: orders · not loaded: none"
    assert not CJK.search(qm.quality_actions({}))
