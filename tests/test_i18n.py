"""Languages (issue 12, item 3): the catalogs cover the messages, Chinese formats, --lang.

Every message of the package and of the notebooks (what ``_()``, ``N_()`` and ``plural()``
mark, every markdown cell, the alert rules' messages) must be in the Chinese catalogs: the
test fails on any message without a translation (with where it is), and on a translation
that drops or renames a placeholder. The whole Chinese report is read for English left over
in tests/report/test_chinese_report.py.
"""

from __future__ import annotations

import os
import string
import subprocess
import sys

import pytest
from babel.messages.pofile import read_po

from salesnb import config, formatting, i18n

TRANSLATED = i18n.SOURCES  # the whole package and every notebook


@pytest.fixture
def chinese():
    i18n.set_language("zh-CN")
    yield
    i18n.set_language(None)


def test_every_message_of_the_translated_parts_is_in_the_catalog():
    todo = i18n.missing(config.PROJECT_ROOT, "zh-CN", TRANSLATED)
    assert not todo, "messages without a zh-CN translation:\n" + "\n".join(
        f"{', '.join(where)}: {msg!r}" for msg, where in todo.items()
    )


def _fields(text: str) -> set:
    return {f for _t, f, _s, _c in string.Formatter().parse(text) if f is not None}


def test_translations_keep_their_placeholders():
    folder = i18n.LOCALE_DIR / "zh_CN" / "LC_MESSAGES"
    files = sorted(folder.glob("*.po"))
    assert files, "no Chinese catalog"
    for po in files:
        with po.open("rb") as fh:
            for msg in read_po(fh, locale="zh_CN"):
                if msg.id and msg.string and "{" in msg.id + msg.string:
                    assert _fields(msg.id) == _fields(msg.string), (po.name, msg.id, msg.string)
    # and the catalogs load: no message translated twice, differently
    i18n.catalog.cache_clear()
    assert i18n.catalog("zh-CN")["← all studies"] == "← 全部分析"


def test_language_choice(monkeypatch):
    monkeypatch.delenv(i18n.ENV_VAR, raising=False)
    assert i18n.set_language(None) == "en"
    monkeypatch.setenv(i18n.ENV_VAR, "zh_CN")
    assert i18n.language() == "zh-CN"
    assert i18n.set_language("en") == "en"  # what the caller sets wins over the environment
    i18n.set_language(None)
    with pytest.raises(i18n.LanguageError, match="salesnb speaks en, zh-CN"):
        i18n.normalise("fr")


def test_chinese_amounts_days_and_dates(chinese):
    assert formatting.short_money(692_240_379, "USD") == "6.92亿 USD"
    assert formatting.short_money(698_000_000) == "6.98亿"
    assert formatting.short_money(1_766_419) == "177万"
    assert formatting.short_money(48_250) == "4.83万"
    assert formatting.short_money(5_212_000_000) == "52.1亿"
    assert formatting.short_money(999_960_000) == "10亿"
    assert formatting.short_money(9_999.6e4) == "1亿"  # not 10000万
    assert formatting.days(34) == "34 天" and formatting.ratio(2.63) == "2.6倍"
    assert formatting.points(0.021) == "+2.1 个百分点"
    assert i18n.month_label("2026-09-30") == "2026年9月"
    assert i18n.date_label("2026-09-30") == "2026年9月30日"
    assert i18n.period_label("2026-Q3") == "2026年第3季度"
    assert i18n.period_label("2026-H2") == "2026年下半年"
    # in English nothing changes
    i18n.set_language("en")
    assert formatting.short_money(692_240_379, "USD") == "692M USD"
    assert i18n.period_label("2026-Q3") == "2026-Q3"


def test_an_unknown_language_stops_with_one_line(tmp_path):
    for args, env in (
        (["report", "--lang", "fr"], {}),
        (["dashboard", "--lang", "klingon"], {}),
        (["report"], {i18n.ENV_VAR: "fr"}),
    ):
        proc = subprocess.run(
            [sys.executable, "-m", "salesnb.cli", *args, "--out", str(tmp_path)]
            if args[0] == "report"
            else [sys.executable, "-m", "salesnb.cli", *args],
            capture_output=True,
            text=True,
            cwd=config.PROJECT_ROOT,
            env={**os.environ, **env},
            timeout=120,
        )
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "salesnb speaks en, zh-CN" in lines[0], proc.stderr
