"""The rules of the action register (:mod:`salesnb.report.register`): what an entry is, its
id, and when the data shows it done.

Entries and ids. An action that names deals, reps or customers of the warehouse (``Review the
stuck deals ... (OP027882, OP020099)``, ``Coach Felix Quint, Lena Baker``) gives one entry per
subject it names (:func:`entries`); an action that names none is one entry about the study's
area. An entry's ``id`` (:func:`entry_id`) is a short hash of the report's scope (its filters
and language: :func:`scope_of`), the study, the action's *kind* and the subject
(``deal:OP027882``, ``rep:R002``, or empty): never of the sentence, whose numbers change from
run to run. The kind (:func:`kind_of`) is the sentence with its numbers, amounts, units,
plural endings and subjects taken out: ``Review the 252 stuck deals (232.8M USD) ...
(OP027882, ...)`` and ``Review the 251 stuck deals (231.9M USD) ... (OP020099, ...)`` are the
same kind.

Matching (:func:`reconcile`) and closing (:func:`cleared`) are pure functions of the register,
the run's entries and the deals' statuses: the same inputs give the same register.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import re
from dataclasses import dataclass

import pandas as pd

from salesnb.i18n import N_, language

OPEN, DONE, DROPPED = "open", "done", "dropped"
STATUSES = (OPEN, DONE, DROPPED)
COLUMNS = {  # name -> engine type
    "id": "string",
    "scope": "string",
    "period": "string",
    "last_period": "string",
    "study": "string",
    "kind": "string",
    "subject": "string",
    "action": "string",
    "owner": "string",
    "people": "string",
    "amount": "float64",
    "currency": "string",
    "due": "string",
    "status": "string",
    "first_seen": "date",
    "last_seen": "date",
    "closed_on": "date",
    "reason": "string",
}
_DATES = ("first_seen", "last_seen", "closed_on")
# the columns of a run's entries (:func:`entries`): the register's, less its history
_ENTRY_COLUMNS = tuple(c for c in COLUMNS if c not in ("period", "last_period", "status"))
_ENTRY_COLUMNS = tuple(c for c in _ENTRY_COLUMNS if c not in (*_DATES, "reason"))
# Why an entry's status last changed (``reason``), as ``salesnb actions`` and the index say it.
REASONS = {
    "deal-won": N_("the deal is won"),
    "deal-lost": N_("the deal is lost"),
    "not-raised": N_("the study no longer raises it"),
    "by-hand": N_("set by hand"),
    "raised-again": N_("raised again"),
}
_NUMBER = re.compile(r"[+\-−]?\d[\d,.]*(?:\s?(?:万亿|万|亿|[kMBx%])(?![A-Za-z]))?")
_WORD = re.compile(r"[^\W\d_]+")


def kind_of(text: str, spans=()) -> str:
    """The kind of an action: a slug of its first words and a hash of its wording without
    numbers, amounts, units, plural endings and the subjects at ``spans`` (``(start, end)``).

    >>> a = kind_of("Review the 252 stuck deals (232.8M USD) first (OP1, OP2)", [(47, 50), (52, 55)])
    >>> b = kind_of("Review the 1 stuck deal (48k USD) first (OP7)", [(41, 44)])
    >>> a == b, a[:-7]
    (True, 'review-the-stuck-deal')
    >>> kind_of("Fix Proposal first") == kind_of("Fix Negotiation first")
    False
    """
    chars = list(text)
    for s, e in spans:
        chars[s:e] = [" "] * (e - s)
    bare = _NUMBER.sub(" ", "".join(chars)).lower()
    words = [w[:-1] if len(w) > 3 and w.endswith("s") else w for w in _WORD.findall(bare)]
    digest = hashlib.sha1(" ".join(words).encode("utf-8")).hexdigest()[:6]
    slug = "-".join([w for w in words if w.isascii()][:4])
    return f"{slug}-{digest}" if slug else digest


def entry_id(scope: str, study: str, kind: str, subject: str) -> str:
    """The stable id of a register entry: 8 hex digits of its scope, study, kind and subject.

    >>> entry_id("", "deals", "review-abc123", "deal:OP1") == entry_id("", "deals", "review-abc123", "deal:OP1")
    True
    >>> len(entry_id("", "deals", "review-abc123", "deal:OP1"))
    8
    """
    key = "|".join((scope, study, kind, subject))
    return hashlib.sha1(key.encode("utf-8")).hexdigest()[:8]


def scope_of(common: dict, lang: str | None = None) -> str:
    """The scope of a report's actions: its filters and (when not English) its language, whose
    sentences are other sentences.

    >>> scope_of({"region": "East", "team": "", "channel": None}, "en"), scope_of({}, "zh-CN")
    ('region=East', 'lang=zh-CN')
    """
    parts = [f"{k}={common[k]}" for k in ("region", "team", "channel") if common.get(k)]
    lang = lang or language()
    if lang != "en":
        parts.append(f"lang={lang}")
    return "; ".join(parts)


def _whole_words(text: str, token) -> list[tuple[int, int]]:
    from salesnb.report.actions import _spans

    return _spans(text, token)


def subjects_in(text: str, known: pd.DataFrame) -> list[tuple[str, str, list]]:
    """The subjects ``text`` names, in order: ``(subject, label, spans)`` with ``subject`` as
    ``kind:id`` (``deal:OP1``, ``rep:R002``) — a name that several share, named without its
    id, is ``kind:name`` —, ``label`` as people read it (the name, ``name (id)`` for a name
    several share, a deal's id) and ``spans`` where ``text`` names it. ``known``: columns
    ``kind``, ``id``, ``name``, ``namesakes`` (:func:`known_subjects`).

    >>> known = pd.DataFrame({"kind": ["rep", "rep", "rep", "deal"], "id": ["R1", "R2", "R3", "OP9"],
    ...                       "name": ["Ann Li", "Ann Li", "Lena Baker", None], "namesakes": [2, 2, 1, 0]})
    >>> [s[:2] for s in subjects_in("Coach Ann Li (R2) and Lena Baker on OP9; Ann Lin", known)]
    [('rep:R2', 'Ann Li (R2)'), ('rep:R3', 'Lena Baker'), ('deal:OP9', 'OP9')]
    """
    rows = []
    for kind, id_, name, namesakes in known[["kind", "id", "name", "namesakes"]].itertuples(
        index=False
    ):
        name = name if isinstance(name, str) and len(name) >= 3 else None
        usable_id = isinstance(id_, str) and re.search(r"[A-Za-z]", id_)
        rows.append(
            (kind, id_, name, namesakes, _whole_words(text, name) if name else [],
             _whole_words(text, id_) if usable_id else [])
        )  # fmt: skip
    taken = [sp for r in rows for sp in r[4]]

    def alone(sp):  # not part of a longer name ("Lena" inside "Lena Baker")
        return not any(s <= sp[0] and sp[1] <= e and e - s > sp[1] - sp[0] for s, e in taken)

    found: dict[str, list] = {}
    labels: dict[str, str] = {}
    by_id_names = set()
    for kind, id_, name, namesakes, name_spans, id_spans in rows:
        name_spans = [sp for sp in name_spans if alone(sp)]
        if not name_spans and not id_spans:
            continue
        if id_spans or (namesakes or 0) <= 1:
            key = f"{kind}:{id_}"
            labels[key] = (name if (namesakes or 0) <= 1 else f"{name} ({id_})") if name else id_
            if id_spans and name:
                by_id_names.add((kind, name))
        else:
            key = f"{kind}:{name}"
            labels[key] = name
        found.setdefault(key, []).extend(name_spans + id_spans)
    shown_with_id = {f"{kind}:{name}" for kind, name in by_id_names}
    out = [(k, labels[k], sorted(set(v))) for k, v in found.items() if k not in shown_with_id]
    return sorted(out, key=lambda s: s[2][0])


def known_subjects(src, texts) -> pd.DataFrame:
    """The reps, customers and deals of the warehouse ``src`` (an open Source) that ``texts``
    name: :func:`~salesnb.report.actions.warehouse_people` plus ``deal`` rows (by id)."""
    from salesnb.report.actions import _named, warehouse_people

    known = warehouse_people(src, texts)
    if src.has("opportunities") and "opportunity_id" in src.columns("opportunities"):
        blob = "\n".join(str(t) for t in texts)
        deals = _named(src, "deal", "opportunities", "opportunity_id", blob)
        known = pd.concat([known, deals], ignore_index=True) if len(deals) else known
    return known


def entries(
    actions: pd.DataFrame, known: pd.DataFrame, scope: str, currency: str = "", deals=None
) -> pd.DataFrame:
    """The register entries of a run's ``actions`` (``actions.csv``'s rows): one per subject
    an action names, else one per action; columns ``id``, ``scope``, ``study``, ``kind``,
    ``subject``, ``action``, ``owner``, ``people`` (who the entry is about: the subject, else
    the action's people), ``amount`` (a deal's own amount, from ``deals``: id -> ``{"amount":
    ...}``; else the action's amount at stake), ``currency``, ``due``. An id raised twice in
    one run (two sentences of one kind) is kept once, the first."""
    rows = []
    for a in actions.to_dict("records"):
        text = str(a["action"])
        subjects = subjects_in(text, known) if len(known) else []
        kind = kind_of(text, [sp for _s, _l, spans in subjects for sp in spans])
        amount = pd.to_numeric(a.get("amount_at_stake"), errors="coerce")
        amount = None if pd.isna(amount) else float(amount)
        for subject, label in [s[:2] for s in subjects] or [("", a.get("people") or None)]:
            deal = (
                (deals or {}).get(subject.removeprefix("deal:")) if subject[:5] == "deal:" else None
            )
            rows.append(
                {
                    "id": entry_id(scope, a["study"], kind, subject),
                    "scope": scope,
                    "study": a["study"],
                    "kind": kind,
                    "subject": subject,
                    "action": text,
                    "owner": a.get("owner") if isinstance(a.get("owner"), str) else None,
                    "people": label,
                    "amount": deal["amount"] if deal and deal.get("amount") is not None else amount,
                    "currency": currency or None,
                    "due": a.get("due") if isinstance(a.get("due"), str) else None,
                }
            )
    frame = pd.DataFrame(rows, columns=list(_ENTRY_COLUMNS))
    return frame.drop_duplicates("id", keep="first", ignore_index=True)


@dataclass(frozen=True)
class Run:
    """What :func:`reconcile` needs to know of a report run."""

    period: str  # the report's period label
    day: dt.date  # the day (UTC) of the run
    scope: str = ""
    studies: frozenset = frozenset()  # the studies that ran ok


def period_bounds(label) -> tuple[dt.date, dt.date] | None:
    from salesnb.model.periods import parse_period

    try:
        p = parse_period(str(label))
    except Exception:  # a label salesnb cannot compare (a day, 'all'): never "earlier"
        return None
    return p.start, p.end


def _not_earlier(run_period: str, than: str) -> bool:
    """Whether the period ``run_period`` ends no earlier than ``than`` does."""
    a, b = period_bounds(run_period), period_bounds(than)
    return a is not None and b is not None and a[1] >= b[1]


def cleared(entry: dict, run: Run, raised_kinds: set, deals: dict) -> str | None:
    """Why the data shows the open ``entry``'s condition cleared (a :data:`REASONS` key), or
    None: it stays open. Conservative; per subject:

    - a **deal** (``deal:OP1``: a stuck deal, an unlikely one): cleared when the warehouse, as
      the run sees it (``--as-of``), has the deal won or lost (``deals``: id -> status), in
      any scope and whichever studies ran;
    - any subject (a deal, a **rep** to coach or watch, a **customer**, or none: an action
      about the study's area): cleared when its study ran again (``run.studies``) in the same
      scope for a period ending no earlier than the last one that raised it, and raised no
      action of that kind at all (``raised_kinds``: ``(study, kind)`` pairs of the run) — the
      rule that produced it no longer fires for anyone (the rep's attainment recovered, the
      stage stopped being the bottleneck). A subject missing from a list the study still
      raises stays open: such lists name only the first few (the three biggest deals, the five
      weakest reps), so leaving one proves nothing.

    >>> run = Run("2026-Q3", dt.date(2026, 10, 2), "", frozenset({"deals"}))
    >>> e = {"subject": "deal:OP1", "study": "deals", "kind": "k", "scope": "", "last_period": "2026-Q3"}
    >>> cleared(e, run, {("deals", "k")}, {"OP1": "won"}), cleared(e, run, {("deals", "k")}, {"OP1": "open"})
    ('deal-won', None)
    >>> cleared({**e, "subject": "rep:R1"}, run, set(), {}), cleared({**e, "last_period": "2026-Q4"}, run, set(), {})
    ('not-raised', None)
    """
    kind, _sep, key = str(entry.get("subject") or "").partition(":")
    if kind == "deal" and deals.get(key) in ("won", "lost"):
        return f"deal-{deals[key]}"
    if (entry.get("scope") or "") != run.scope or entry.get("study") not in run.studies:
        return None
    if not _not_earlier(run.period, entry.get("last_period") or entry.get("period")):
        return None
    if (entry.get("study"), entry.get("kind")) in raised_kinds:
        return None
    return "not-raised"


def reconcile(register: pd.DataFrame, raised: pd.DataFrame, run: Run, deals: dict):
    """The register after ``run`` raised ``raised`` (:func:`entries`): entries raised again
    take the new wording, amount and ``last_seen``/``last_period`` (``first_seen`` and
    ``period`` stay); an entry closed by the data (not by hand) that is raised again is open
    again; new entries are open; open entries not raised are closed when :func:`cleared`
    says so. Entries closed by hand (``salesnb actions --done/--drop``) stay as they are.
    ``deals``: deal id -> status as the run sees the warehouse."""
    table = {r["id"]: r for r in normalised(register).to_dict("records")}
    for new in raised.to_dict("records"):
        old = table.get(new["id"])
        if old is None:
            table[new["id"]] = {
                **{c: None for c in COLUMNS},
                **new,
                "period": run.period,
                "last_period": run.period,
                "status": OPEN,
                "first_seen": run.day,
                "last_seen": run.day,
            }
            continue
        later = _not_earlier(run.period, old.get("last_period") or run.period)
        old.update({k: v for k, v in new.items() if k not in ("id",)})
        old["last_seen"] = max(d for d in (old.get("last_seen"), run.day) if d is not None)
        old["last_period"] = run.period if later else old.get("last_period")
        if old.get("status") == DONE and old.get("reason") != "by-hand":
            old.update(status=OPEN, closed_on=None, reason="raised-again")
    raised_ids = set(raised["id"])
    raised_kinds = set(zip(raised["study"], raised["kind"], strict=True))
    for entry in table.values():
        if entry.get("status") != OPEN or entry["id"] in raised_ids:
            continue
        why = cleared(entry, run, raised_kinds, deals)
        if why:
            entry.update(status=DONE, closed_on=run.day, reason=why)
    return normalised(pd.DataFrame(list(table.values()), columns=list(COLUMNS)))


def normalised(frame: pd.DataFrame | None) -> pd.DataFrame:
    """``frame`` with every column of :data:`COLUMNS`, in order, dates as ``datetime.date``
    and missing values as None."""
    frame = pd.DataFrame(columns=list(COLUMNS)) if frame is None else frame.copy()
    for c in COLUMNS:
        if c not in frame.columns:
            frame[c] = None
    frame = frame[list(COLUMNS)].astype(object)
    for c in _DATES:
        frame[c] = [None if v is None or pd.isna(v) else pd.Timestamp(v).date() for v in frame[c]]
    frame["amount"] = [None if v is None or pd.isna(v) else float(v) for v in frame["amount"]]
    return frame.where(frame.notna(), None).reset_index(drop=True)


def still_open_earlier(table: pd.DataFrame, run: Run, raised_ids=()) -> list[dict]:
    """The open entries of ``run``'s scope first raised for a period that starts before
    ``run``'s, each with ``raised_again`` (this run raised it too): oldest first, then those
    this run did not raise again (nothing else on the page recalls them), then the largest
    amount at stake."""
    here = period_bounds(run.period)
    if here is None or table.empty:
        return []
    rows = []
    for e in table.to_dict("records"):
        since = period_bounds(e.get("period"))
        if e["status"] != OPEN or (e.get("scope") or "") != run.scope:
            continue
        if since is None or since[0] >= here[0]:
            continue
        rows.append({**e, "raised_again": e["id"] in set(raised_ids), "_since": since[0]})
    rows.sort(key=lambda r: (r["_since"], r["raised_again"], -(r["amount"] or 0.0), r["id"]))
    return [{k: v for k, v in r.items() if k != "_since"} for r in rows]
