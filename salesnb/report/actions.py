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
``people``
    the reps and customers the bullet names, by name, comma-separated (``Felix Quint, Lena
    Baker``): each name (or id, shown as ``name (id)``) found in the bullet that is a rep's
    or a customer's in the warehouse (:func:`people_in`); empty when it names nobody.

Importing into Worktile or PingCode: both import tasks (Worktile "导入任务", PingCode
"导入工作项") from an Excel or CSV file whose first row names the columns, and their import
dialog maps each column to a task field: ``action`` -> 标题 (title), ``owner`` -> 负责人
(assignee), ``due`` -> 截止时间 (due date), ``study`` -> 标签 (tag), ``amount_at_stake``
-> 描述 (description) or a number field, and ``people`` -> 描述 or a text field (the reps
among them, when they are members, may go to 关注人 / followers), or left unmapped. Neither
vendor's current import template could be checked here, so the column names are salesnb's own (as the issue asked) and the mapping is
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
from salesnb.i18n import N_, _

ACTIONS_NAME = "actions.csv"
COLUMNS = ("study", "action", "owner", "amount_at_stake", "due", "people")
WHAT_TO_DO = "What to do"  # the heading every study ends with
# ... and as the Chinese pages write it (the notebooks' markdown stays English in the executed
# .ipynb; it is translated when the page is exported)
WHAT_TO_DO_ZH = "行动建议"
_WHAT_TO_DO_ANY = rf"(?:{WHAT_TO_DO}\b|{WHAT_TO_DO_ZH})"
PEOPLE_SEP = ", "

# Who acts on each study's "What to do" (a role; override with owners=).
DEFAULT_OWNERS = {
    "data-quality": N_("Sales operations"),
    "targets": N_("Head of sales"),
    "market": N_("Marketing manager"),
    "funnel": N_("Sales manager"),
    "channels": N_("Channel manager"),
    "customers": N_("Account manager"),
    "performance": N_("Sales manager"),
    "experiments": N_("Sales enablement"),
    "service": N_("Service manager"),
    "expansion": N_("Head of sales"),
    "risk": N_("Finance controller"),
    "deals": N_("Sales manager"),
    "sustainability": N_("Sustainability lead"),
}
FALLBACK_OWNER = N_("Sales manager")

_HEADING = re.compile(rf"^\s*#+\s*{_WHAT_TO_DO_ANY}", re.I | re.M)
_ANY_HEADING = re.compile(r"^\s*#+\s", re.M)
_BULLET = re.compile(r"^\s*[-*]\s+(.*\S)\s*$")
_UNITS = {"": 1.0, "k": 1e3, "M": 1e6, "B": 1e9, "万": 1e4, "亿": 1e8, "万亿": 1e12}


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
    >>> amount_at_stake("复核137个商机（1.2亿 USD），其中177万 USD 已停滞", "USD")
    120000000.0
    """
    if not currency:
        return None
    pattern = (  # a number not inside a word (a Chinese character may touch it), unit, currency
        r"(?:(?<![\w.,])|(?<=[\u3400-\u9fff]))(\d{1,3}(?:,\d{3})+|\d+)(\.\d+)?\s?(万亿|[kMB万亿]?)"
        rf"\s+{re.escape(currency)}\b"
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


_PEOPLE_TABLES = (("rep", "reps", "rep_id"), ("customer", "customers", "customer_id"))
_MIN_NAME = 3  # shorter names ("Al") would match inside ordinary words
_ID_LETTER = re.compile(r"[A-Za-z]")  # an id of digits only would match any number


def warehouse_people(source, texts) -> pd.DataFrame:
    """The reps and customers of the warehouse ``source`` (a path, URL or open
    ``salesnb.sources.Source``) whose name or id occurs in one of ``texts``: columns
    ``kind`` (rep / customer), ``id``, ``name`` (None when the table has no names) and
    ``namesakes`` (how many of that table's rows carry that name).

    The search runs in the engine (two small queries per table), so a warehouse of
    millions of customers is not loaded to find the few a bullet names; :func:`people_in`
    then keeps the whole-word matches of each bullet.
    """
    from salesnb.sources import Source, connect

    src = connect(source)
    try:
        frames = [
            _named(src, kind, table, id_col, "\n".join(str(t) for t in texts))
            for kind, table, id_col in _PEOPLE_TABLES
            if src.has(table) and id_col in src.columns(table)
        ]
    finally:
        if not isinstance(source, Source):
            src.close()
    if not frames:
        return pd.DataFrame(columns=["kind", "id", "name", "namesakes"])
    known = pd.concat(frames, ignore_index=True)
    return known.sort_values(["kind", "id"], kind="stable", ignore_index=True)


def _named(src, kind: str, table: str, id_col: str, text: str) -> pd.DataFrame:
    import ibis

    blob = ibis.literal(text)
    t = src.table(table)
    ids = t[id_col].cast("string")
    found = (ids.length() >= 2) & blob.contains(ids)
    if "name" not in t.columns:
        hits = t.filter(found).select(id=ids).distinct().execute()
        return hits.assign(kind=kind, name=None, namesakes=0)[["kind", "id", "name", "namesakes"]]
    names = t["name"].cast("string")
    found = found | ((names.length() >= _MIN_NAME) & blob.contains(names))
    hits = t.filter(found).select(id=ids, name=names).distinct().execute()
    shown = [n for n in hits["name"].dropna().unique()]
    counts = pd.DataFrame(columns=["name", "namesakes"])
    if shown:
        same = t.select(name=names).filter(lambda r: r["name"].isin(shown))
        counts = same.group_by("name").aggregate(namesakes=lambda r: r.count()).execute()
    hits = hits.merge(counts, on="name", how="left").assign(kind=kind)
    hits["namesakes"] = hits["namesakes"].fillna(0).astype(int)
    return hits[["kind", "id", "name", "namesakes"]]


def _spans(text: str, token) -> list[tuple[int, int]]:
    """Where ``token`` occurs in ``text`` as a whole word (letters or digits of the Latin
    alphabet on either side do not count; CJK names have no word boundaries)."""
    if not isinstance(token, str) or not token:
        return []
    left = "(?<![A-Za-z0-9])" if token[:1].isascii() and token[:1].isalnum() else ""
    right = "(?![A-Za-z0-9])" if token[-1:].isascii() and token[-1:].isalnum() else ""
    return [m.span() for m in re.finditer(left + re.escape(token) + right, text)]


def _outside(spans: list, taken: list) -> tuple[int, int] | None:
    """The first of ``spans`` that is not part of a longer one of ``taken`` ("Lena" inside
    "Lena Baker")."""
    for s, e in spans:
        if not any(s2 <= s and e <= e2 and e2 - s2 > e - s for s2, e2 in taken):
            return s, e
    return None


def people_in(text: str, known: pd.DataFrame) -> list[str]:
    """The people and accounts of ``known`` (from :func:`warehouse_people`) that ``text``
    names, in the order it names them, by name: ``name (id)`` when the bullet names them
    by id and not by name, or names one of several namesakes by id. A name found only
    inside a longer name is not a mention; a bare name whose namesake is shown with its id
    is not repeated.

    >>> known = pd.DataFrame({"kind": "rep", "id": ["R1", "R2", "R3", "R4", "C7"],
    ...                       "name": ["Lena Baker", "Ann Li", "Lena", "Ann Li", "金桥贸易"],
    ...                       "namesakes": [1, 2, 1, 2, 1]})
    >>> people_in("Coach Lena Baker (R1) and R2; call 金桥贸易 (not R10 or Anne Li)", known)
    ['Lena Baker', 'Ann Li (R2)', '金桥贸易']
    """
    rows = []
    for id_, name, namesakes in known[["id", "name", "namesakes"]].itertuples(index=False):
        name = name if isinstance(name, str) and len(name) >= _MIN_NAME else None
        usable_id = isinstance(id_, str) and _ID_LETTER.search(id_)
        rows.append(
            (id_, name, namesakes, _spans(text, name), _spans(text, id_) if usable_id else [])
        )
    taken = [sp for row in rows for sp in row[3]]
    spans: dict[str, tuple[int, int]] = {}
    for id_, name, namesakes, name_spans, id_spans in rows:
        by_name, by_id = _outside(name_spans, taken), (id_spans or [None])[0]
        if by_id is not None and (by_name is None or namesakes > 1):
            found = min(s for s in (by_id, by_name) if s), f"{name} ({id_})" if name else id_
        elif by_name is not None:
            found = by_name, name
        else:
            continue
        if found[1] not in spans or found[0] < spans[found[1]]:
            spans[found[1]] = found[0]
    with_id = {p.rsplit(" (", 1)[0] for p in spans if p.endswith(")")}
    return sorted((p for p in spans if p not in with_id), key=spans.get)


def collect_actions(
    jobs, folder: Path, period_end_exclusive, owners=None, source=None
) -> pd.DataFrame:
    """The actions of every study that ran (``status == "ok"``), in the order of ``jobs``
    (the report's study order), read from their executed notebooks in ``folder``; one row
    per bullet with :data:`COLUMNS`. ``source``: the warehouse whose reps and customers
    the bullets may name (``people``; left empty without one)."""
    owners = {**{k: _(v) for k, v in DEFAULT_OWNERS.items()}, **(owners or {})}
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
                    "owner": owners.get(job.study.id, _(FALLBACK_OWNER)),
                    "amount_at_stake": amount_at_stake(action, currency),
                    "due": due,
                    "people": "",
                }
            )
    actions = pd.DataFrame(rows, columns=list(COLUMNS))
    if source is not None and not actions.empty:
        known = warehouse_people(source, actions["action"])
        actions["people"] = [PEOPLE_SEP.join(people_in(a, known)) for a in actions["action"]]
    return actions


def write_actions(folder: Path, actions: pd.DataFrame, name: str = ACTIONS_NAME) -> Path:
    """Write ``actions`` as ``<folder>/<name>`` (UTF-8 with a byte-order mark, so Excel and
    the task imports read Chinese text right); returns the path."""
    text = actions.to_csv(index=False, lineterminator="\n", columns=list(COLUMNS))
    return atomic_write_text(Path(folder) / name, text, encoding="utf-8-sig")


def top_actions(actions: pd.DataFrame, n: int = 5, alerted=()) -> list[dict]:
    """The first ``n`` actions in the index's order (:func:`rank_actions`: largest amount at
    stake, then the studies whose alerts fired, then report order), as the notifications
    send them: one ranking wherever the actions are read.

    >>> a = pd.DataFrame({"study": ["x", "x", "y"], "action": ["a1", "a2", "b1"],
    ...                   "owner": "o", "amount_at_stake": [None, 9.0, 5.0], "due": "d"})
    >>> [r["action"] for r in top_actions(a, n=2)], [r["action"] for r in top_actions(a, 2, {"x"})]
    (['a2', 'b1'], ['a2', 'b1'])
    """
    if actions.empty:
        return []
    rows = rank_actions(actions, alerted).head(n).to_dict("records")
    return [{k: (None if pd.isna(v) else v) for k, v in r.items()} for r in rows]


def rank_actions(actions: pd.DataFrame, alerted=()) -> pd.DataFrame:
    """``actions`` in the order the index lists them: the largest amount at stake first,
    then the actions of the studies whose alerts fired (``alerted``), then report order
    (the order of ``actions``).

    >>> a = pd.DataFrame({"study": ["x", "y", "z", "y"], "action": ["a", "b", "c", "d"],
    ...                   "amount_at_stake": [None, None, 5.0, 9.0]})
    >>> list(rank_actions(a, alerted={"y"})["action"])
    ['d', 'c', 'b', 'a']
    """
    amount = pd.to_numeric(actions["amount_at_stake"], errors="coerce")
    keys = pd.DataFrame(
        {
            "no_amount": amount.isna(),
            "amount": -amount.fillna(0.0),
            "quiet": ~actions["study"].isin(set(alerted)),
            "order": range(len(actions)),
        },
        index=actions.index,
    )
    order = keys.sort_values(list(keys.columns), kind="stable").index
    return actions.loc[order].reset_index(drop=True)


_FILE_NAMED = re.compile(r"[\w.-]+\.(?:csv|xlsx)\b")


def named_file(text: str, files) -> str | None:
    """The first file of ``files`` (names in the report folder) that ``text`` names.

    >>> named_file("Call them (customers-at-risk.csv, 51 owners)", ["customers-at-risk.csv"])
    'customers-at-risk.csv'
    >>> named_file("Call them (gone.csv)", ["customers-at-risk.csv"]) is None
    True
    """
    files = set(files)
    return next((f for f in _FILE_NAMED.findall(text) if f in files), None)


_WHAT_TO_DO_ID = re.compile(rf"<h[1-6]\b[^>]*\bid=\"([^\"]+)\"[^>]*>\s*{_WHAT_TO_DO_ANY}", re.I)


def what_to_do_anchor(page: Path) -> str | None:
    """The ``id`` of the "What to do" heading of a study's HTML page (``What-to-do``), for
    a link straight to it; None when the page has none (or cannot be read)."""
    try:
        m = _WHAT_TO_DO_ID.search(Path(page).read_text(encoding="utf-8"))
    except OSError:
        return None
    return m[1] if m else None
