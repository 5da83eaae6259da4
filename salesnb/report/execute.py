"""Executing one study with papermill, and the progress lines / bars of a run."""

from __future__ import annotations

import html
import json
import os
import re
import sys
import threading
import time
from pathlib import Path

from salesnb.i18n import N_, _, period_label
from salesnb.report.export import _export_html
from salesnb.report.kernels import ENGINE_NAME, KERNEL_NAME, _register_engine
from salesnb.report.plan import Job, reason_text

# A cell that runs longer than this is stuck, not slow: the study is failed and the run goes on.
CELL_TIMEOUT_S = int(os.environ.get("SALESNB_CELL_TIMEOUT", "1800"))


def _run_job(job: Job, staging: Path, on_cell=None) -> None:
    """Execute one study into ``staging``; never raises (the outcome is recorded on ``job``)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    nb_out = staging / f"{job.study.id}.ipynb"
    t0 = time.monotonic()
    try:
        pm.execute_notebook(
            str(job.study.path),
            str(nb_out),
            parameters={**job.parameters, "output_dir": str(staging)},
            kernel_name=KERNEL_NAME,
            engine_name=ENGINE_NAME,
            progress_bar=False,
            request_save_on_cell_execute=False,
            log_output=False,
            execution_timeout=CELL_TIMEOUT_S,
            start_timeout=120,
            cwd=None,  # the kernel is started in `staging` (cwd is per process; studies run in threads)
            kernel_cwd=str(staging),
            on_cell=on_cell,
            failsafe_path=str(nb_out),
        )
        job.status = "ok"
    except PapermillExecutionError as exc:
        job.status = "failed"
        job.reason = f"cell {exc.exec_count}: {exc.ename}: {_one_line(exc.evalue)}"
    except Exception as exc:  # kernel died, timed out, could not start: still publish the rest
        job.status = "failed"
        job.reason = f"{type(exc).__name__}: {_one_line(str(exc))}"
    job.duration_s = round(time.monotonic() - t0, 2)

    result = staging / f"{job.study.id}.json"
    if result.exists():
        try:
            job.headline = json.loads(result.read_text(encoding="utf-8"))
            job.files["json"] = result.name
        except ValueError:
            job.status, job.reason = "failed", f"{result.name} is not valid JSON"
    elif job.status == "ok":
        job.status = "failed"
        job.reason = f"the notebook finished without writing {result.name} (ctx.save() not reached)"
    if nb_out.exists():
        job.files["notebook"] = nb_out.name
        banner = _banner(job)
        try:
            summary = summary_html(job, nb_out) if job.status == "ok" else ""
            _export_html(
                nb_out, staging / f"{job.study.id}.html", _(job.study.title), banner, summary
            )
            job.files["html"] = f"{job.study.id}.html"
        except Exception as exc:  # an unexportable notebook is still published as .ipynb
            job.status = "failed"
            job.reason = (job.reason + "; " if job.reason else "") + f"HTML export failed: {exc}"


SUMMARY_TITLE = N_("In short")
SUMMARY_ACTIONS = N_("What to do")
SUMMARY_EVIDENCE = N_("The evidence follows below; the full tables are in the CSV files.")


def summary_html(job: Job, notebook: Path) -> str:
    """The top of a study page: its headline figures with business names and changes (the
    index's registry, :func:`salesnb.report.headlines.study_figures`) and its "What to do"
    actions (the bullets of the page's own section, :func:`salesnb.report.actions.notebook_actions`),
    so the page reads conclusions first, then the evidence. Empty when the study has neither."""
    from salesnb.report.actions import notebook_actions
    from salesnb.report.headlines import study_figures

    figures = study_figures(
        job.study.id,
        job.headline or {},
        str(job.parameters.get("currency") or ""),
        period=str(job.parameters.get("period") or ""),
    )
    actions = notebook_actions(notebook)
    if not figures and not actions:
        return ""
    parts = [
        f'<section class="salesnb-summary" id="summary"><h2>{html.escape(_(SUMMARY_TITLE))}</h2>'
    ]
    if figures:
        parts.append('<dl class="salesnb-figures">')
        for f in figures:
            ch = f["change"]
            arrow = html.escape(ch.get("arrow") or "")
            text = html.escape(" ".join(x for x in (ch.get("text"), ch.get("basis")) if x))
            tone = html.escape(ch.get("tone") or "neutral")
            parts.append(
                f'<div><dt>{html.escape(f["name"])}</dt><dd data-key="{html.escape(f["key"])}">'
                f"{html.escape(f['value'])}"
                + (
                    f' <span class="salesnb-{tone}">{arrow} {text}</span>'
                    if ch.get("direction") not in (None, "none")
                    else ""
                )
                + "</dd></div>"
            )
        parts.append("</dl>")
    if actions:
        parts.append(f"<h3>{html.escape(_(SUMMARY_ACTIONS))}</h3><ul>")
        parts += [f"<li>{html.escape(a)}</li>" for a in actions]
        parts.append("</ul>")
    parts.append(f'<p class="salesnb-note">{html.escape(_(SUMMARY_EVIDENCE))}</p></section>')
    return "".join(parts)


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))  # ANSI colours from tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


# the banner's words for each parameter shown (N_: translated when the banner is built)
_BANNER_NAMES = {
    "region": N_("region"),
    "team": N_("team"),
    "channel": N_("channel"),
    "as_of": N_("as of"),
    "currency": N_("currency"),
}


def _banner(job: Job) -> str:
    p = job.parameters
    why = reason_text(job.period_reason) if job.period_reason else ""
    period = _("period {period} ({why})").format(
        period=period_label(str(p.get("period", ""))), why=why
    )
    bits = [period] + [_(name) + " " + str(p[k]) for k, name in _BANNER_NAMES.items() if p.get(k)]
    state = ""
    if job.status != "ok":
        status = html.escape(_(job.status).upper())
        state = f" — <strong>{status}</strong>: " + html.escape(job.reason or "")
    back = html.escape(_("← all studies"))
    title = html.escape(_(job.study.title))
    return f'<a href="index.html">{back}</a> · {title} · {html.escape(", ".join(bits))}{state}'


class _Progress:
    """A rich progress bar per study on a terminal; plain ``study <id> <status> <s>`` lines otherwise."""

    def __init__(self, jobs: list[Job], stream=None):
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) and not os.environ.get(
            "CI"
        )
        self.lock = threading.Lock()
        self.tasks, self.totals = {}, {}
        self.progress = None
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.fields[study]:<14}"),
                BarColumn(),
                TextColumn("{task.fields[state]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
            )

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def add(self, job: Job, cells: int):
        self.totals[job.study.id] = max(cells, 1)
        if self.progress:
            self.tasks[job.study.id] = self.progress.add_task(
                "", total=max(cells, 1), study=job.study.id, state="waiting", start=False
            )

    def started(self, job: Job):
        if self.progress:
            tid = self.tasks[job.study.id]
            self.progress.start_task(tid)
            self.progress.update(tid, state="running")

    def cell(self, job: Job, index: int):
        if self.progress:
            self.progress.update(self.tasks[job.study.id], completed=index + 1)

    def finished(self, job: Job):
        dur = f"{job.duration_s:.1f}s" if job.duration_s is not None else "-"
        if self.progress and job.study.id in self.tasks:
            tid = self.tasks[job.study.id]
            self.progress.update(
                tid, completed=self.totals[job.study.id], state=f"{job.status} {dur}"
            )
            self.progress.stop_task(tid)
            if job.status != "ok" and job.reason:
                self.progress.console.print(
                    f"{job.study.id} {job.status}: {job.reason}", markup=False, highlight=False
                )
            return
        with self.lock:
            line = f"study {job.study.id} {job.status} {dur}"
            if job.status != "ok" and job.reason:
                line += f" ({job.reason})"
            print(line, file=self.stream, flush=True)


def _last_durations(reports: Path) -> dict[str, float]:
    """Study durations of the most recently published report in ``reports`` ({} when none)."""
    manifests = sorted(
        (p for p in reports.glob("*/manifest.json") if not p.parent.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    if not manifests:
        return {}
    try:
        data = json.loads(manifests[-1].read_text(encoding="utf-8"))
        return {s["id"]: float(s["duration_s"]) for s in data["studies"] if s.get("duration_s")}
    except (ValueError, KeyError, TypeError):
        return {}


# Relative cost of each study on the demo company, for the order of a first run (no published
# report to take durations from): the long ones start first.
USUAL_COST = {
    "customers": 9.0,
    "targets": 7.0,
    "performance": 5.0,
    "data-quality": 5.0,
    "market": 4.5,
    "funnel": 4.0,
    "experiments": 3.5,
    "channels": 3.0,
    "service": 2.0,
    "expansion": 1.5,
    "risk": 1.0,
}


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)
