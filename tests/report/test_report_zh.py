"""The report's own words in Chinese: the index page, the alert messages, the reasons a plan
gives, the notification and the run's last lines (``salesnb report --lang zh-CN``); and the
English index unchanged by the language machinery.

The index is checked on a report of two cheap studies run once in each language on the demo:
``service`` (an alert fires) and ``risk`` (amounts); the other alert rules are then "not
evaluated", so their reasons show too. The action bullets are the studies' own sentences
(each study's Chinese test checks its page); here the rest of the page must hold no English.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
import yaml
from bs4 import BeautifulSoup
from i18n_check import data_values, untranslated

from salesnb import i18n
from salesnb.alerts import DEFAULT_ALERTS, load_alert_rules, message_text
from salesnb.report import notify, plan
from salesnb.report.publish import write_index

STUDIES = ("service", "risk")
CJK = re.compile(r"[\u3400-\u9fff]")


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def test_every_bundled_alert_message_is_translated(chinese):
    rules = yaml.safe_load(DEFAULT_ALERTS.read_text(encoding="utf-8"))
    messages = [r["message"] for r in rules]
    root = i18n.LOCALE_DIR.parent.parent
    assert messages and set(messages) <= set(i18n.messages(root, ["salesnb/alerts"]))
    known = i18n.catalog("zh-CN")
    assert [m for m in messages if m not in known] == []
    for rule in load_alert_rules():
        shown = message_text(rule)
        assert CJK.search(shown) and shown == known[rule["message"]]
        assert untranslated(f"<p>{shown}</p>") == []


def test_alert_messages_stay_as_written_in_english_and_in_own_rules():
    assert [message_text(r) for r in load_alert_rules()] == [
        r["message"] for r in yaml.safe_load(DEFAULT_ALERTS.read_text(encoding="utf-8"))
    ]
    i18n.set_language("zh-CN")
    try:
        assert message_text({"message": "My own rule fired"}) == "My own rule fired"
    finally:
        i18n.set_language(None)


REASONS = [
    "given (2026-Q3)",
    "given (all: 2024-01-01 to 2026-10-09)",
    "last quarter complete on 2026-05-05 (as_of)",
    "last complete quarter with data in opportunities, orders (data to 2026-09-30)",
    "whole history (2026-01-01 to 2026-02-03): no complete quarter with data in orders",
    "no dated rows in this warehouse: the last complete quarter",
    "default: the period most studies use",
    "no dated rows in leads, tickets: pass a period",
    "no rows of leads, tickets in 2026-Q3 (leads from 2024-01-01 to 2025-12-31; no dated rows)",
    "notebook notebooks/05-customers.ipynb not found",
    "none of the tables tickets, surveys is in this warehouse",
    "tables leads, opportunities not in this warehouse",
    "table orders not in this warehouse",
]


def test_plan_reasons_read_in_chinese_and_stay_english_in_english(chinese):
    for reason in REASONS:
        shown = plan.reason_text(reason)
        assert CJK.search(shown), reason
        assert untranslated(f"<p>{shown}</p>") == [], (reason, shown)
    assert "2026年第3季度" in plan.reason_text("given (2026-Q3)")
    assert "2026年9月30日" in plan.reason_text(REASONS[3])
    i18n.set_language(None)
    assert [plan.reason_text(r) for r in REASONS] == REASONS


def test_notification_in_chinese(chinese):
    alert = {"study": "service", "key": "sla_breach_rate", "op": ">", "value": 0.05}
    alert |= {"actual": 0.18, "message": "More than 5% of tickets breached their SLA"}
    action = {"study": "risk", "action": "复核 6 笔折扣", "owner": "财务主管", "due": "2026-10-31"}
    title, body = notify.message("2026-Q3", [alert], [action | {"amount_at_stake": 3.5e6}], "x")
    assert title == "salesnb 报告 2026年第3季度：触发 1 条预警"
    assert "超过 5% 的工单 SLA 违约" in body and "涉及金额" in body
    assert untranslated("<p>" + body.replace("\n", "</p><p>") + "</p>") == []


# ------------------------------------------------------------------ a report in each language
def _run(warehouse: Path, out: Path, lang: str | None) -> Path:
    env = {k: v for k, v in os.environ.items() if k != i18n.ENV_VAR}
    cmd = [sys.executable, "-m", "salesnb.cli", "report", "--source", str(warehouse)]
    cmd += [a for s in STUDIES for a in ("--only", s)] + ["--workers", "1", "--out", str(out)]
    cmd += ["--lang", lang] if lang else []
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-2000:]
    (folder,) = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    return folder


@pytest.fixture(scope="module")
def reports(demo_warehouse, tmp_path_factory):
    tmp = tmp_path_factory.mktemp("report-zh")
    return {
        "zh": _run(demo_warehouse, tmp / "zh", "zh-CN"),
        "en": _run(demo_warehouse, tmp / "en", None),
        "warehouse": demo_warehouse,
    }


def _values(warehouse: Path) -> set[str]:
    from salesnb.sources import connect

    src = connect(str(warehouse))
    try:
        return data_values(src)
    finally:
        src.close()


@pytest.mark.slow
@pytest.mark.xdist_group("report-zh")
def test_chinese_index_reads_in_chinese(reports):
    folder = reports["zh"]
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="zh">' in html
    doc = BeautifulSoup(html, "html.parser")
    assert doc.select("tr.action-row"), "the two studies propose actions"
    for cell in doc.select("td.action"):  # the studies' sentences: their own tests check them
        cell.decompose()
    allow = [str(reports["warehouse"].parent), str(reports["warehouse"])]
    assert untranslated(str(doc), _values(reports["warehouse"]), allow) == []
    text = doc.get_text(" ")
    for words in ("销售报告 ", "优先行动", "负责人", "财务主管", "服务经理", "预警（触发 1 条）"):
        assert words in text, words
    assert "超过 5% 的工单 SLA 违约" in text  # the fired alert's message
    assert "本次运行中该分析没有数据" in text  # rules of the studies that did not run
    assert "关于本次运行" in text and "2026年第3季度" in text
    assert re.search(r"\d(\.\d)?[万亿] USD", text), "amounts in 万 / 亿"
    assert not re.search(r"\d(\.\d)?[kMB] USD", text)
    # the machine-readable files keep their English words
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    assert not CJK.search(json.dumps(manifest["studies"][0]["period_reason"]))
    alerts = json.loads((folder / "alerts.json").read_text(encoding="utf-8"))["alerts"]
    assert not any(CJK.search(a["message"]) for a in alerts)
    actions = pd.read_csv(folder / "actions.csv", encoding="utf-8-sig")
    assert list(actions.columns) == ["study", "action", "owner", "amount_at_stake", "due", "people"]
    assert set(actions["owner"]) <= {"服务经理", "财务主管"}


@pytest.mark.slow
@pytest.mark.xdist_group("report-zh")
def test_english_index_unchanged_by_the_language_machinery(reports, tmp_path):
    folder = reports["en"]
    html = (folder / "index.html").read_text(encoding="utf-8")
    assert '<html lang="en">' in html and not CJK.search(html)
    assert "Sales report 2026-Q3" in html and "What to do first" in html
    # written again in this process after a Chinese page: the same bytes
    copy = tmp_path / folder.name
    shutil.copytree(folder, copy)
    manifest = json.loads((folder / "manifest.json").read_text(encoding="utf-8"))
    alerts = json.loads((folder / "alerts.json").read_text(encoding="utf-8"))["alerts"]
    actions = pd.read_csv(folder / "actions.csv", encoding="utf-8-sig", dtype={"people": str})
    actions["people"] = actions["people"].fillna("")
    i18n.set_language("zh-CN")
    try:
        write_index(copy, manifest, alerts, actions, folder.parent)
        assert CJK.search((copy / "index.html").read_text(encoding="utf-8"))
    finally:
        i18n.set_language(None)
    write_index(copy, manifest, alerts, actions, folder.parent)
    assert (copy / "index.html").read_text(encoding="utf-8") == html


def test_what_to_do_is_found_in_english_and_chinese(tmp_path):
    from salesnb.report.actions import amount_at_stake, notebook_actions, what_to_do_anchor

    for heading in ("## What to do", "## 行动建议"):
        nb = {
            "cells": [
                {"cell_type": "markdown", "source": heading},
                {
                    "cell_type": "code",
                    "source": "show()",
                    "outputs": [{"output_type": "stream", "text": "- 复核 **6** 笔折扣\n"}],
                },
                {"cell_type": "markdown", "source": "## Appendix"},
            ]
        }
        path = tmp_path / "x.ipynb"
        path.write_text(json.dumps(nb), encoding="utf-8")
        assert notebook_actions(path) == ["复核 6 笔折扣"], heading
    page = tmp_path / "x.html"
    page.write_text('<h2 id="行动建议">行动建议<a class="anchor-link">¶</a></h2>', encoding="utf-8")
    assert what_to_do_anchor(page) == "行动建议"
    assert amount_at_stake("其中177万 USD 已停滞，另有 1.2亿 USD", "USD") == 1.2e8
