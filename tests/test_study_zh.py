"""The notebooks' facade (salesnb.study) in Chinese: the notes of skipped and not-computed
sections, the page's header line (the warehouse's name, never its path) and the headline
figures' table; ``<study>.json`` keeps its English reasons."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from salesnb import i18n, study
from salesnb.i18n import N_
from salesnb.model.filters import Filters
from salesnb.model.periods import parse_period


class _Source:
    """A warehouse with only an orders table (what the facade asks of a source)."""

    description = "/tmp/some/where/shop.duckdb"

    def missing(self, tables):
        return [t for t in tables if t != "orders"]


def _ctx(tmp_path: Path) -> study.StudyContext:
    p = parse_period("2026-Q3")
    f = Filters(p.start, p.end, None, None, None)
    ctx = study.StudyContext("service", _Source(), p, f, None, "USD", tmp_path)
    ctx.shown = []
    ctx.note = ctx.shown.append  # what the page would show
    return ctx


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def test_notes_read_in_chinese_and_json_keeps_english(chinese, tmp_path):
    ctx = _ctx(tmp_path)
    assert not ctx.require("surveys", section=N_("Survey feedback"))
    assert not ctx.require("tickets", "surveys")
    ctx.skip(N_("Tickets and SLA"), N_("orders carry no rep_id; orders.rep_id would fill it"))
    assert ctx.shown == [
        "**已跳过：调查反馈** — 数据仓库中没有surveys表。",
        "**已跳过：tickets, surveys** — 数据仓库中没有tickets、surveys表。",
        "**未计算：工单与 SLA** — 订单没有 rep_id；有 orders.rep_id 即可填充。",
    ]
    saved = json.loads(ctx.save().read_text(encoding="utf-8"))
    assert saved["skipped_sections"] == (
        "Survey feedback: table surveys not in this warehouse; "
        "tickets, surveys: tables tickets, surveys not in this warehouse; "
        "Tickets and SLA: orders carry no rep_id; orders.rep_id would fill it"
    )


def test_notes_unchanged_in_english(tmp_path):
    ctx = _ctx(tmp_path)
    ctx.require("tickets", "surveys")
    ctx.skip("Discount policy", "needs a discount column")
    assert ctx.shown == [
        "**Skipped: tickets, surveys** — tables tickets, surveys not in this warehouse.",
        "**Not computed: Discount policy** — needs a discount column.",
    ]


def test_header_names_the_warehouse_never_its_path(tmp_path):
    ctx = _ctx(tmp_path)
    assert ctx.header() == "**2026-Q3** · all regions, teams and channels · source `shop.duckdb`"
    assert ctx.header(against=ctx.prior).startswith("**2026-Q3** against **2025-Q3** · ")
    i18n.set_language("zh-CN")
    try:
        assert ctx.header(against=ctx.prior) == (
            "**2026年第3季度** 对比 **2025年第3季度** · 全部区域、团队和渠道 · 数据源 `shop.duckdb`"
        )
        ctx.headline(tickets=3)
        assert list(ctx.figures_table().columns) == ["数值"]
    finally:
        i18n.set_language(None)
    assert list(ctx.figures_table().columns) == ["value"]


@pytest.mark.parametrize(
    "description, name",
    [
        ("/work/main/data/demo.duckdb", "demo.duckdb"),
        ("duckdb:///tmp/x/sales.duckdb", "sales.duckdb"),
        ("postgres://ana:s3cret@db.internal:5432/sales", "postgres: sales"),
        ("snowflake://u:p@acct/db/schema?warehouse=wh", "snowflake: db"),
        ("C:\\data\\shop.duckdb", "shop.duckdb"),
    ],
)
def test_source_name_has_no_path_or_credentials(description, name):
    shown = study.source_name(description)
    assert shown == name
    assert "/" not in shown.replace("://", "") and "s3cret" not in shown and "ana" not in shown
