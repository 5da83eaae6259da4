"""HTML for the dashboards' widgets: KPI tiles, messages, tables, charts as images.

Every value that comes from data is escaped. Each number is written twice: formatted for
people, and raw in a ``data-value`` attribute (``<span data-kpi="revenue" data-value="...">``)
so the browser tests read exactly what the figures functions returned.
"""

from __future__ import annotations

import base64
import html
import math
from collections.abc import Callable, Mapping

import pandas as pd

from salesnb.formatting import days, headline, percent, ratio, short_money
from salesnb.i18n import N_, _, date_label, language
from salesnb.model.filters import Filters
from salesnb.plots import PALETTE

_RED, _YELLOW, _GREEN = PALETTE[3], PALETTE[5], PALETTE[2]
STYLE = f"""<style>
.snb-kpis{{display:flex;flex-wrap:wrap;gap:12px;margin:8px 0}}
.snb-kpi{{border:1px solid #ddd;border-radius:6px;padding:8px 14px;min-width:150px;background:#fafafa}}
.snb-kpi-label{{font-size:12px;color:#555}}.snb-kpi-value{{font-size:22px;font-weight:600}}
.snb-kpi-sub{{font-size:11px;color:#777}}
.snb-message{{border-left:4px solid {_RED};background:#fdf0f0;padding:8px 12px;margin:6px 0}}
.snb-alert{{border-left:4px solid {_YELLOW};background:#fffbe8;padding:6px 12px;margin:4px 0}}
.snb-ok{{color:{_GREEN}}}
.snb-caption h2{{font-size:18px;margin:14px 0 4px}}.snb-caption p{{margin:6px 0}}
.snb-title h1{{font-size:24px;margin:4px 0 6px}}.snb-title p{{margin:4px 0;max-width:60em}}
table.snb-table{{border-collapse:collapse;font-size:13px}}
table.snb-table th,table.snb-table td{{padding:4px 8px;border-bottom:1px solid #eee;text-align:right}}
table.snb-table th:first-child,table.snb-table td:first-child{{text-align:left}}
</style>"""


def esc(v) -> str:
    return html.escape(str(v), quote=True)


# The house formats (salesnb.formatting) under the names the boards use; missing is "—".
fmt_money = short_money  # KPI amounts: 1.5M USD, 320k USD
fmt_pct = percent  # 31.2%
fmt_times = ratio  # 2.6x
fmt_days = days  # 34 days
fmt_number = headline  # a figure known by its key (alerts)


# the filters a scope names, as people read them (values are the data's: never translated)
SCOPE_NAMES = {"region": N_("region"), "team": N_("team"), "channel": N_("channel")}


def list_sep() -> str:
    """The separator of a list or of clauses in a line: ``, `` in English, ``，`` in Chinese."""
    return "，" if language() == "zh-CN" else ", "


def clause_sep() -> str:
    """The separator of clauses in a line: ``; `` in English, ``；`` in Chinese."""
    return "；" if language() == "zh-CN" else "; "


def fmt_day(day) -> str:
    """A day in a line of text: ISO (``2026-09-20``) in English, ``2026年9月20日`` in Chinese."""
    if day in (None, "") or language() == "en":
        return str(day)
    return date_label(day)


def scope_text(f: Filters) -> str:
    """The filters of ``f`` in words: ``region=East, team=Alpha``, else every region, team
    and channel (the English is :meth:`Filters.describe`'s)."""
    parts = [
        _(SCOPE_NAMES[k]) + "=" + str(v)
        for k in ("region", "team", "channel")
        if (v := getattr(f, k))
    ]
    return list_sep().join(parts) or _("all regions, teams and channels")


def caption_html(heading: str = "", text: str = "") -> str:
    """A section's heading and its one-line question or explanation (already translated)."""
    head = f"<h2>{esc(heading)}</h2>" if heading else ""
    body = f"<p>{esc(text)}</p>" if text else ""
    return f'<div class="snb-caption">{head}{body}</div>'


def _data_value(x) -> str:
    if x is None or (isinstance(x, float) and (math.isnan(x) or math.isinf(x))):
        return ""
    return repr(round(float(x), 6))


def kpi_html(key: str, label: str, value, text: str, sub: str = "") -> str:
    return (
        f'<div class="snb-kpi"><div class="snb-kpi-label">{esc(label)}</div>'
        f'<div class="snb-kpi-value"><span data-kpi="{esc(key)}" data-value="{esc(_data_value(value))}">'
        f'{esc(text)}</span></div><div class="snb-kpi-sub">{esc(sub)}</div></div>'
    )


def message_html(text: str, problem: str = "") -> str:
    return f'<div class="snb-message" role="alert" data-problem="{esc(problem)}">{esc(text)}</div>'


def svg_html(svg: str, name: str, alt: str) -> str:
    """An SVG document (:mod:`salesnb.plots.svg`) as an inline image (a data URL: no file, no
    network, no script)."""
    data = base64.b64encode(svg.encode("utf-8")).decode("ascii")
    return (
        f'<img data-chart="{esc(name)}" alt="{esc(alt)}" src="data:image/svg+xml;base64,{data}"/>'
    )


def table_html(
    df: pd.DataFrame,
    formats: Mapping[str, Callable],
    key_col: str | None = None,
    labels: Mapping[str, str] | None = None,
) -> str:
    """The columns named in ``formats`` (each shown through its formatter), one row per record;
    ``key_col`` marks each row (``data-rep-id="r1"``)."""
    labels = labels or {}
    cols = list(formats)
    head = "".join(f"<th>{esc(labels.get(c, c))}</th>" for c in cols)
    rows = []
    for rec in df.to_dict("records"):
        attr = f' data-{esc(key_col.replace("_", "-"))}="{esc(rec[key_col])}"' if key_col else ""
        cells = "".join(
            f'<td data-col="{esc(c)}" data-value="{esc(_cell_value(rec[c]))}">{esc(formats[c](rec[c]))}</td>'
            for c in cols
        )
        rows.append(f"<tr{attr}>{cells}</tr>")
    return f'<table class="snb-table"><thead><tr>{head}</tr></thead><tbody>{"".join(rows)}</tbody></table>'


def _cell_value(v) -> str:
    if isinstance(v, (int, float)) and not isinstance(v, bool):
        return _data_value(v)
    return "" if v is None or (isinstance(v, float) and math.isnan(v)) else str(v)
