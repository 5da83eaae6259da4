"""Publishing a run atomically: staging folder, index page, JSON files, the swap into place.

The index page (:func:`write_index`) reads top-down as a manager acts on it: the period's
actions across all studies, ranked (:func:`salesnb.report.actions.rank_actions`), each with
its study, the people and accounts it names, the amount at stake and a link to the evidence;
then the actions still open from earlier periods (the warehouse's action register:
:mod:`salesnb.report.register`); then the alerts that fired; then each study's headline figures with business names and the
change since the last period (:mod:`salesnb.report.headlines`); then the files. Every word
the page shows is in :data:`TEXT` (and the figure names in the headline registry), marked
for the translation catalogs and shown in the run's language (:func:`salesnb.i18n._`); the
template holds none. In Chinese the periods, days, study titles, reasons and alert messages
are written in Chinese too; ``manifest.json`` and ``alerts.json`` keep them in English.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

import pandas as pd

from salesnb.alerts import message_text
from salesnb.fileio import atomic_write_text
from salesnb.formatting import MISSING, headline, short_money
from salesnb.i18n import DEFAULT_LANGUAGE, N_, _, date_label, language, period_label
from salesnb.report import headlines
from salesnb.report.actions import named_file, rank_actions, what_to_do_anchor
from salesnb.report.export import strip_network_refs
from salesnb.report.kernels import _pid_alive
from salesnb.report.plan import reason_text
from salesnb.study import source_name

TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "templates"


_WORK_DIR = re.compile(r"^\.(staging|old)-(?P<period>.+)-(?P<pid>\d+)$")


def clean_stale(reports: Path) -> list[Path]:
    """Remove staging / set-aside folders left by runs that died; restore a set-aside report
    when a run died between its two renames (so the last good report is never lost)."""
    removed = []
    if not reports.is_dir():
        return removed
    for p in sorted(reports.iterdir()):
        m = _WORK_DIR.match(p.name)
        if not m or not p.is_dir() or _pid_alive(int(m["pid"])) and int(m["pid"]) != os.getpid():
            continue
        final = reports / m["period"]
        if p.name.startswith(".old-") and not final.exists():
            os.rename(p, final)
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return rc == 0


def publish(staging: Path, final: Path) -> None:
    """Swap ``staging`` into ``final``: the old report stays in place until the new one replaces it."""
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        if _renameat2_exchange(staging, final):
            shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old report
            return
        os.rename(final, old)
    os.rename(staging, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


# Every word of the index page, in one place (``{name}`` fields are filled by the page).
TEXT = {
    "title": N_("Sales report {period}"),
    "period_line": N_("{start} to {end} (exclusive)"),
    "period_line_why": N_("{start} to {end} (exclusive) ({reason})"),
    "filters": N_("Filters: region {region}, team {team}, channel {channel}"),
    "all": N_("all"),
    "as_of": N_("as of {day}"),
    "currency": N_("amounts in {currency}"),
    "parameters": N_("parameters:"),
    "actions": N_("What to do first"),
    "actions_intro": N_(
        "The actions of every study, largest amount at stake first, then those of the "
        "studies whose alerts fired. Each is also a row of {file}, for task import."
    ),
    "no_actions": N_("No study proposed an action for this period."),
    "more_actions": N_("{n} more actions"),
    "earlier": N_("Still open from earlier periods"),
    "earlier_intro": N_(
        "Actions of earlier reports that are neither done nor dropped, kept in the warehouse's "
        "action register: close one with {command}."
    ),
    "register_command": "salesnb actions --done ID",
    "col_id": N_("ID"),
    "col_since": N_("Open since"),
    "col_again": N_("This period"),
    "raised_again": N_("raised again"),
    "not_raised": N_("not raised"),
    "col_rank": "#",
    "col_action": N_("Action"),
    "col_people": N_("People and accounts"),
    "col_amount": N_("At stake"),
    "col_owner": N_("Owner"),
    "col_due": N_("Due"),
    "col_source": N_("From"),
    "evidence_section": N_("the evidence"),
    "alerted": N_("alert"),
    "alerts": N_("Alerts ({n} fired)"),
    "no_alerts_fired": N_("No alert fired."),
    "no_alert_rules": N_("No alert rules."),
    "not_run": N_("the study has no figures in this run"),
    "no_such_figure": N_("the study did not give this figure"),
    "not_comparable": N_("not comparable"),
    "other_rules": N_("{n} other rules (not fired or not evaluated)"),
    "col_status": N_("Status"),
    "col_alert": N_("Alert"),
    "col_value": N_("Value"),
    "col_threshold": N_("Threshold"),
    "col_study": N_("Study"),
    "studies": N_("Studies"),
    "col_time": N_("Time"),
    "col_figures": N_("Headline figures"),
    "col_change": N_("Change"),
    "col_files": N_("Files"),
    "seconds": N_("{s} s"),
    "period_of": N_("period {period}: {reason}"),
    "no_figures": N_("No headline figure for this period."),
    "no_comparison": N_("no earlier figure to compare with"),
    "more_figures": N_("… {n} more in"),
    "sections_skipped": N_("Sections skipped: {sections}"),
    "files": N_("Files written by the studies"),
    "file_workbook": N_("(every table, one sheet each)"),
    "file_actions": N_("(the actions, for task import)"),
    "run": N_("About this run"),
    "run_source": N_("Source"),
    "run_fingerprint": N_("Data fingerprint"),
    "run_version": "salesnb",
    "run_time": N_("Run"),
    "run_duration": N_("{started}, {seconds} s on {workers} worker(s)"),
    "run_files": N_("Raw figures and run log"),
    "status": {
        "ok": N_("ok"),
        "failed": N_("failed"),
        "skipped": N_("skipped"),
        "alert": N_("fired"),
        "not evaluated": N_("not evaluated"),
    },
    "file_kind": {"html": N_("page"), "json": N_("figures"), "notebook": N_("notebook")},
}
TOP_ACTIONS = 10  # shown in full; the rest wait in a collapsed list
RAW_FIGURES = 8  # figures shown for a study the headline registry does not know


def _translated(text):
    """:data:`TEXT` (or one of its values) in the run's language."""
    if isinstance(text, dict):
        return {k: _translated(v) for k, v in text.items()}
    return _(text)


def _day(day) -> str:
    """A day of the page's prose: as given (ISO) in English, ``2026年9月30日`` in Chinese."""
    if not day or language() == DEFAULT_LANGUAGE:
        return day
    try:
        return date_label(day)
    except ValueError:
        return day


def _action_rows(actions, manifest: dict, alerts: list[dict], folder: Path) -> list[dict]:
    """The ranked actions as the index shows them."""
    if actions is None or actions.empty:
        return []
    studies = {s["id"]: s for s in manifest["studies"]}
    files = [*manifest.get("artefacts", []), *manifest.get("report_files", [])]
    currency = manifest["parameters"]["common"].get("currency") or ""
    fired = {a["study"] for a in alerts if a["status"] == "alert"}
    anchors: dict[str, str | None] = {}
    rows = []
    for i, a in enumerate(rank_actions(actions, fired).to_dict("records"), start=1):
        s = studies.get(a["study"], {"id": a["study"], "title": a["study"], "files": {}})
        page = s["files"].get("html")
        if page and page not in anchors:
            anchors[page] = what_to_do_anchor(folder / page)
        evidence = named_file(a["action"], files)
        section = f"{page}#{anchors[page]}" if page and anchors.get(page) else page
        people = a.get("people")
        rows.append(
            {
                "rank": i,
                "action": a["action"],
                "study": _(s["title"]),
                "study_href": page,
                "alerted": a["study"] in fired,
                "people": people if isinstance(people, str) and people else MISSING,
                "amount": short_money(a["amount_at_stake"], currency),
                "owner": a["owner"] if isinstance(a["owner"], str) else MISSING,
                "due": a["due"] if isinstance(a["due"], str) else MISSING,
                "evidence_href": evidence or section,
                "evidence": evidence or _(TEXT["evidence_section"]),
            }
        )
    return rows


def _earlier_rows(earlier, manifest: dict) -> list[dict]:
    """The action register's entries still open from earlier periods, as the index shows them
    (:func:`salesnb.report.register_rules.still_open_earlier`)."""
    titles = {s["id"]: s["title"] for s in manifest["studies"]}
    return [
        {
            "id": e["id"],
            "action": e["action"],
            "people": e.get("people") or MISSING,
            "amount": short_money(e.get("amount"), e.get("currency") or ""),
            "owner": e.get("owner") or MISSING,
            "since": period_label(e["period"]),
            "first_seen": _day(str(e["first_seen"])) if e.get("first_seen") else "",
            "again": _(TEXT["raised_again"] if e.get("raised_again") else TEXT["not_raised"]),
            "study": _(titles.get(e["study"], e["study"])),
        }
        for e in earlier or []
    ]


def _alert_rows(alerts: list[dict], manifest: dict) -> list[dict]:
    """The alerts as the index shows them: figures in their units, studies by title."""
    studies = {s["id"]: s for s in manifest["studies"]}
    currency = manifest["parameters"]["common"].get("currency") or ""
    rows = []
    for a in alerts:
        s = studies.get(a["study"], {"title": a["study"], "files": {}})

        def text(v, a=a):
            return headlines.figure_text(a["study"], a["key"], v, currency)

        rows.append(
            {
                "status": a["status"],
                "message": message_text(a),
                "rule": f"{a['study']}.{a['key']} {a['op']} {a['value']}",
                "study": _(s["title"]),
                "study_href": s["files"].get("html"),
                "value": text(a["actual"]) if a.get("actual") is not None else MISSING,
                "reason": _not_evaluated(a, s) if a["status"] == "not evaluated" else None,
                "threshold": f"{a['op']} {text(a['value'])}",
            }
        )
    order = {"alert": 0, "not evaluated": 1, "ok": 2}
    return sorted(rows, key=lambda r: order.get(r["status"], 3))


def _not_evaluated(alert: dict, study: dict) -> str:
    """Why a rule was not evaluated, in words (the rule's raw reason stays in alerts.json)."""
    if study.get("status") != "ok":
        return _(TEXT["not_run"])
    if alert.get("actual") is None:
        return _(TEXT["no_such_figure"])
    return _(TEXT["not_comparable"])


def _study_rows(manifest: dict, reports: Path | None) -> list[dict]:
    """Each study with its headline figures: the registry's, or its first raw ones."""
    currency = manifest["parameters"]["common"].get("currency") or ""
    rows = []
    for s in manifest["studies"]:
        figures = s.get("headline") or {}
        prior = headlines.previous_figures(reports, manifest, s) if figures else None
        shown = headlines.study_figures(s["id"], figures, currency, prior, s.get("period") or "")
        raw = sorted((k, v) for k, v in figures.items() if k != "skipped_sections")
        rows.append(
            {
                "s": s,
                "figures": shown,
                "raw": [(k, headline(v, k)) for k, v in raw[:RAW_FIGURES]],
                "raw_more": max(0, len(raw) - RAW_FIGURES),
            }
        )
    return rows


def write_index(
    staging: Path,
    manifest: dict,
    alerts: list[dict],
    actions: pd.DataFrame | None = None,
    reports: Path | None = None,
    earlier=None,
) -> None:
    """Write ``index.html`` in ``staging``: the ranked ``actions`` (``actions.csv``'s rows),
    the ``alerts``, each study of ``manifest`` with its headline figures, compared with
    the previous period's report in ``reports`` (the folder the run publishes into) when
    there is one. ``earlier``: the action register's entries still open from earlier
    periods (:mod:`salesnb.report.register`)."""
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"])
    )
    ranked = _action_rows(actions, manifest, alerts, staging)
    alert_rows = _alert_rows(alerts, manifest)
    open_rows = _earlier_rows(earlier, manifest)
    page = env.get_template("index.html.j2").render(
        m=manifest,
        t=_translated(TEXT),
        lang="zh" if language() == "zh-CN" else "en",
        period=period_label(manifest["period"]),
        day=_day,
        title=_,
        reason=reason_text,
        period_label=period_label,
        source_name=source_name,
        actions=ranked[:TOP_ACTIONS],
        more_actions=ranked[TOP_ACTIONS:],
        earlier=open_rows[:TOP_ACTIONS],
        more_earlier=open_rows[TOP_ACTIONS:],
        fired=[a for a in alert_rows if a["status"] == "alert"],
        other_alerts=[a for a in alert_rows if a["status"] != "alert"],
        studies=_study_rows(manifest, reports),
    )
    (staging / "index.html").write_text(strip_network_refs(page), encoding="utf-8")


def _write_json(path: Path, data) -> None:
    """Write ``data`` as JSON, atomically (the manifest is rewritten in a published report
    once the notifications are sent)."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
