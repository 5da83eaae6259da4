"""``actions.csv``: the "What to do" bullets of every study, one task per row.

Each study ends with a "What to do" section whose bullets are computed from its numbers
(``funnel_actions``, ``what_to_do`` ... in ``salesnb.metrics``); the executed notebook is
the record of what they said. :func:`collect_actions` reads them back from the executed
notebooks of the studies that ran, and :func:`write_actions` writes them as a CSV that a
task tool imports, so the actions become tasks. Columns:

``study``
    the study id (``funnel``); import it as the task's tag or list.
``action``
    the bullet as plain text (markdown emphasis removed); the task's title.
``owner``
    who acts on it: the role that owns the study's area (:data:`DEFAULT_OWNERS`, override
    with ``owners=``); the task's assignee.
``amount_at_stake``
    the largest amount the bullet names in the study's currency (``1,766,419 USD``,
    ``11.6M USD``) as a plain number; empty when it names none.
``due``
    ``YYYY-MM-DD``: the last day of the first month after the report's period (for 2026-Q3
    the 31st of October 2026), so the actions are done before the next report.

Importing into Worktile or PingCode: both import tasks (Worktile "导入任务", PingCode
"导入工作项") from an Excel or CSV file whose first row names the columns, and their import
dialog maps each column to a task field: ``action`` -> 标题 (title), ``owner`` -> 负责人
(assignee), ``due`` -> 截止时间 (due date), ``study`` -> 标签 (tag) and ``amount_at_stake``
-> 描述 (description) or a number field. Neither vendor's current import template could be
checked here, so the column names are salesnb's own (as the issue asked) and the mapping is
made once in the dialog; the file is what both accept: UTF-8 with a byte-order mark, one
row per task, ISO dates, plain numbers. An owner that is not a member's name is left
unassigned by the import; put people's names in ``owners=`` to assign tasks.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path

import pandas as pd

from salesnb.fileio import atomic_write_text

ACTIONS_NAME = "actions.csv"
COLUMNS = ("study", "action", "owner", "amount_at_stake", "due")

# Who acts on each study's "What to do" (a role; override with owners=).
DEFAULT_OWNERS = {
    "data-quality": "Sales operations",
    "targets": "Head of sales",
    "market": "Marketing manager",
    "funnel": "Sales manager",
    "channels": "Channel manager",
    "customers": "Account manager",
    "performance": "Sales manager",
    "experiments": "Sales enablement",
    "service": "Service manager",
    "expansion": "Head of sales",
    "risk": "Finance controller",
    "deals": "Sales manager",
}
FALLBACK_OWNER = "Sales manager"

_HEADING = re.compile(r"^\s*#+\s*What to do\b", re.I | re.M)
_ANY_HEADING = re.compile(r"^\s*#+\s", re.M)
_BULLET = re.compile(r"^\s*[-*]\s+(.*\S)\s*$")
_UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9}


def plain(markdown: str) -> str:
    """A bullet's markdown as plain text: emphasis, code marks and link targets dropped.

    >>> plain("Call the **179** customers (`customers-at-risk.csv`); see [the list](x.csv).")
    'Call the 179 customers (customers-at-risk.csv); see the list.'
    """
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", markdown)
    text = re.sub(r"(\*\*|__|`)", "", text)
    return re.sub(r"\s+", " ", text).strip()


def amount_at_stake(text: str, currency: str) -> float | None:
    """The largest amount ``text`` names in ``currency`` (``1,766,419 USD``, ``11.6M USD``).

    >>> amount_at_stake("Review 137 deals (1,766,419 USD) before 188M USD slips", "USD")
    188000000.0
    >>> amount_at_stake("Worth 48.2k EUR", "EUR"), amount_at_stake("5 deals", "USD")
    (48200.0, None)
    """
    if not currency:
        return None
    pattern = (
        rf"(?<![\w.,])(\d{{1,3}}(?:,\d{{3}})+|\d+)(\.\d+)?\s?([kMB]?)\s+{re.escape(currency)}\b"
    )
    found = [
        float(whole.replace(",", "") + (dec or "")) * _UNITS[unit]
        for whole, dec, unit in re.findall(pattern, text)
    ]
    return round(max(found), 2) if found else None


def due_date(period_end_exclusive: dt.date) -> dt.date:
    """The last day of the first month after the period (the period's exclusive end).

    >>> due_date(dt.date(2026, 10, 1)), due_date(dt.date(2027, 1, 1))
    (datetime.date(2026, 10, 31), datetime.date(2027, 1, 31))
    """
    start = period_end_exclusive.replace(day=1)
    next_month = (start + dt.timedelta(days=32)).replace(day=1)
    return next_month - dt.timedelta(days=1)


def _markdown_outputs(cell: dict) -> list[str]:
    out = []
    for o in cell.get("outputs", []):
        data = o.get("data", {})
        text = data.get("text/markdown")
        if text is None and o.get("output_type") == "stream":
            text = o.get("text")
        if text is not None:
            out.append("".join(text) if isinstance(text, list) else text)
    return out


def notebook_actions(notebook: Path) -> list[str]:
    """The bullets shown under the "What to do" heading of an executed notebook, in order,
    as plain text; ``[]`` when it has no such section (or the file cannot be read)."""
    try:
        cells = json.loads(Path(notebook).read_text(encoding="utf-8"))["cells"]
    except (OSError, ValueError, KeyError):
        return []
    bullets: list[str] = []
    inside = False
    for cell in cells:
        source = "".join(cell.get("source", ""))
        if cell.get("cell_type") == "markdown":
            if _HEADING.search(source):
                inside = True
            elif _ANY_HEADING.search(source):
                inside = False
            continue
        if inside and cell.get("cell_type") == "code":
            for text in _markdown_outputs(cell):
                for line in text.splitlines():
                    m = _BULLET.match(line)
                    if m:
                        bullets.append(plain(m[1]))
    return bullets


def collect_actions(jobs, folder: Path, period_end_exclusive, owners=None) -> pd.DataFrame:
    """The actions of every study that ran (``status == "ok"``), in the order of ``jobs``
    (the report's study order), read from their executed notebooks in ``folder``; one row
    per bullet with :data:`COLUMNS`."""
    owners = {**DEFAULT_OWNERS, **(owners or {})}
    due = due_date(pd.Timestamp(period_end_exclusive).date()).isoformat()
    rows = []
    for job in jobs:
        name = job.files.get("notebook")
        if job.status != "ok" or not name:
            continue
        currency = str(job.parameters.get("currency") or "")
        for action in notebook_actions(Path(folder) / name):
            rows.append(
                {
                    "study": job.study.id,
                    "action": action,
                    "owner": owners.get(job.study.id, FALLBACK_OWNER),
                    "amount_at_stake": amount_at_stake(action, currency),
                    "due": due,
                }
            )
    return pd.DataFrame(rows, columns=list(COLUMNS))


def write_actions(folder: Path, actions: pd.DataFrame, name: str = ACTIONS_NAME) -> Path:
    """Write ``actions`` as ``<folder>/<name>`` (UTF-8 with a byte-order mark, so Excel and
    the task imports read Chinese text right); returns the path."""
    text = actions.to_csv(index=False, lineterminator="\n", columns=list(COLUMNS))
    return atomic_write_text(Path(folder) / name, text, encoding="utf-8-sig")


def top_actions(actions: pd.DataFrame, n: int = 5) -> list[dict]:
    """The lead action of each study (its first bullet), largest amount at stake first, then
    in report order; at most ``n``.

    >>> a = pd.DataFrame({"study": ["x", "x", "y"], "action": ["a1", "a2", "b1"],
    ...                   "owner": "o", "amount_at_stake": [None, 9.0, 5.0], "due": "d"})
    >>> [r["action"] for r in top_actions(a)]
    ['b1', 'a1']
    """
    if actions.empty:
        return []
    lead = actions.drop_duplicates("study", keep="first").reset_index(drop=True)
    lead = lead.assign(_order=range(len(lead)), _amount=lead["amount_at_stake"].fillna(-1.0))
    lead = lead.sort_values(["_amount", "_order"], ascending=[False, True], kind="stable")
    rows = lead.drop(columns=["_order", "_amount"]).head(n).to_dict("records")
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]
