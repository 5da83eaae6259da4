"""``run_report``: plan, execute in parallel, publish; what ``salesnb report`` calls."""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import logging
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from salesnb import __version__, config
from salesnb.alerts import evaluate_alerts, load_alert_rules, message_text
from salesnb.errors import ParameterError
from salesnb.i18n import _, period_label
from salesnb.model.periods import fiscal_year_start
from salesnb.report.actions import collect_actions, top_actions, write_actions
from salesnb.report.execute import (
    USUAL_COST,
    _last_durations,
    _Progress,
    _run_job,
    default_workers,
)
from salesnb.report.export import _prewarm
from salesnb.report.kernels import _kernel_mode, _stop_server_now, warm_kernels
from salesnb.report.notify import outcome_line, report_link, send
from salesnb.report.plan import Job, plan_report
from salesnb.report.publish import _write_json, clean_stale, publish, write_index
from salesnb.report.register import prepare as prepare_register
from salesnb.report.workbook import write_workbook


def run_report(
    source=None,
    period=None,
    only=None,
    params_kv=(),
    params_file=None,
    out=None,
    workers=None,
    alerts_file=None,
    fail_on_alert=False,
    stream=None,
    notify=(),
    report_url=None,
) -> int:
    """Run the studies and publish ``<out>/<period>/``. Returns the exit code:
    0 all studies ok or skipped (and no alert when ``fail_on_alert``), 1 otherwise.
    Raises ParameterError / InputError before anything runs when a parameter is wrong.
    ``notify``: Apprise URLs told about the published report (``salesnb.report.notify``);
    ``report_url``: where the reports folder is served, for the link they get."""
    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    if workers and int(workers) < 1:
        raise ParameterError("workers must be at least 1")
    # The kernel server imports the analysis stack (seconds of CPU) on the other core while
    # the parameters are checked; it is stopped on the way out, whatever happens.
    pool = contextlib.ExitStack()
    pool.enter_context(warm_kernels())
    try:
        threading.Thread(target=_prewarm, daemon=True).start()
        rules = load_alert_rules(alerts_file)
        plan = plan_report(source, period, only, params_kv, params_file)
        # kernels run in the staging folder: they read the fiscal year from the run, not cwd
        os.environ["SALESNB_FISCAL_YEAR_START"] = str(fiscal_year_start())
        workers = int(workers) if workers else default_workers()

        reports = Path(out) if out else config.reports_dir()
        staging = _staging(reports, plan.period.label)
    except BaseException:
        _stop_server_now()
        pool.close()
        raise

    runnable = _longest_first(plan, reports)
    if not runnable:
        _stop_server_now()
        pool.close()
    progress = _Progress(plan.jobs, stream)
    for j in runnable:  # + the cell papermill injects
        # the cells counted from the JSON: papermill reads and validates the notebook anyway
        progress.add(j, len(json.loads(j.study.path.read_text(encoding="utf-8"))["cells"]) + 1)
    kernel_mode = "plain python3"
    # Parameters are checked above against our own parser; papermill's warnings about them
    # (and its INFO chatter) would only bury the one line per study a log reader needs.
    try:
        with pool, progress, _quiet_papermill():
            kernel_mode = _kernel_mode()
            _execute(plan, runnable, staging, workers, progress)
        finished = dt.datetime.now(dt.UTC)
        figures = {j.study.id: j.headline for j in plan.jobs if j.status == "ok"}
        alert_results = evaluate_alerts(rules, figures)
        fired = [a for a in alert_results if a["status"] == "alert"]
        manifest = _manifest(plan, staging, started, finished, t0, workers, kernel_mode)
        manifest["alerts_fired"] = len(fired)
        actions, register = _write_report_files(plan, staging, manifest)
        _write_json(staging / "alerts.json", {"period": plan.period.label, "alerts": alert_results})
        write_index(staging, manifest, alert_results, actions, reports, earlier=register.earlier)
        _write_json(staging / "manifest.json", manifest)
        publish(staging, reports / plan.period.label)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise

    failed = [j for j in plan.jobs if j.status == "failed"]
    if notify:  # after publishing: the link works, and a failed delivery changes nothing
        _notify(plan, notify, report_url, fired, actions, manifest, reports, stream or sys.stderr)
    _print_outcome(plan, fired, failed, reports / plan.period.label, stream or sys.stderr, register)
    if failed or (fail_on_alert and fired):
        return 1
    return 0


@contextlib.contextmanager
def _quiet_papermill():
    """papermill's INFO chatter and parameter warnings (checked before) only bury the one
    line per study a log reader needs."""
    pm_log = logging.getLogger("papermill")
    level = pm_log.level
    pm_log.setLevel(logging.ERROR)
    try:
        yield
    finally:
        pm_log.setLevel(level)


def _staging(reports: Path, label: str) -> Path:
    """A fresh staging folder for this run, after cleaning what dead runs left behind."""
    reports.mkdir(parents=True, exist_ok=True)
    clean_stale(reports)
    staging = reports / f".staging-{label}-{os.getpid()}"
    if staging.exists():
        shutil.rmtree(staging)
    staging.mkdir()
    return staging


def _longest_first(plan, reports: Path) -> list[Job]:
    """The jobs to run, longest first (by the last published run, else by the usual cost),
    so no long study starts last."""
    last = _last_durations(reports) or USUAL_COST
    return sorted(
        (j for j in plan.jobs if j.status == "pending"),
        key=lambda j: -last.get(j.study.id, float("inf")),
    )


def _execute(plan, runnable: list[Job], staging: Path, workers: int, progress) -> None:
    for j in plan.jobs:
        if j.status == "skipped":
            progress.add(j, 1)
            progress.finished(j)

    def run(job: Job):
        progress.started(job)
        _run_job(job, staging, on_cell=lambda i, job=job: progress.cell(job, i))
        progress.finished(job)

    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="study") as ex:
        list(ex.map(run, runnable))


def _manifest(plan, staging: Path, started, finished, t0: float, workers: int, kernels: str):
    """``manifest.json``: what ran, on what, with which parameters, and how each study ended."""
    failed = any(j.status == "failed" for j in plan.jobs)
    produced = {f for j in plan.jobs for f in j.files.values()}
    artefacts = sorted(
        p.name
        for p in staging.iterdir()
        if p.is_file() and p.name not in produced and not p.name.startswith(".")
    )
    return {
        "salesnb_version": __version__,
        "period": plan.period.label,
        "period_start": str(plan.period.start),
        "period_end_exclusive": str(plan.period.end),
        "period_reason": plan.period_reason,
        "source": plan.source_description,
        "fingerprint": plan.fingerprint,
        "tables": plan.tables,
        "parameters": {
            "common": {**{"period": plan.period.label}, **plan.common},
            "given": plan.given,
        },
        "started_at": started.isoformat(timespec="seconds"),
        "finished_at": finished.isoformat(timespec="seconds"),
        "duration_s": round(time.monotonic() - t0, 2),
        "workers": workers,
        "kernels": kernels,
        "status": "failed" if failed else "ok",
        "alerts_fired": 0,
        "artefacts": artefacts,
        "studies": [
            {
                "id": j.study.id,
                "title": j.study.title,
                "notebook": j.study.notebook,
                "status": j.status,
                "reason": j.reason,
                "duration_s": j.duration_s,
                "period": j.period,
                "period_reason": j.period_reason,
                "parameters": {k: v for k, v in j.parameters.items() if k != "output_dir"},
                "files": j.files,
                "headline": j.headline,
            }
            for j in plan.jobs
        ],
    }


def _write_report_files(plan, staging: Path, manifest: dict):
    """``actions.csv`` and ``tables.xlsx`` (every CSV, actions too) beside the studies' files;
    returns the actions and the warehouse's action register matched with them (read now,
    saved once the report is published: :mod:`salesnb.report.register`)."""
    actions = collect_actions(plan.jobs, staging, plan.period.end, source=plan.source)
    manifest["report_files"] = [write_actions(staging, actions).name]
    manifest["report_files"] += [write_workbook(staging).name]
    manifest["notifications"] = []
    return actions, prepare_register(plan, actions)


def _notify(plan, targets, report_url, fired, actions, manifest: dict, reports: Path, stream):
    """Tell ``targets`` about the published report; record each delivery in its
    ``manifest.json`` and print one line per delivery."""
    final = reports / plan.period.label
    link = report_link(final, report_url, plan.period.label)
    currency = str(plan.common.get("currency") or "")
    manifest["notifications"] = send(
        targets,
        plan.period.label,
        fired,
        top_actions(actions, alerted={a["study"] for a in fired}),
        link,
        currency,
    )
    _write_json(final / "manifest.json", manifest)
    for r in manifest["notifications"]:
        print(outcome_line(r), file=stream)


def _print_outcome(plan, fired: list, failed: list, final: Path, stream, register=None) -> None:
    """The run's last lines: the action register's (saved now, after publishing: it never
    fails the run), each fired alert, then one summary line."""
    if register is not None:
        register.save(stream)
    for a in fired:
        print(
            _("alert {rule}={actual} ({op} {value}): {message}").format(
                rule=f"{a['study']}.{a['key']}",
                actual=a["actual"],
                op=a["op"],
                value=a["value"],
                message=message_text(a),
            ),
            file=stream,
        )
    summary = _(
        "report {period}: {ok} ok, {failed} failed, {skipped} skipped, {alerts} alert(s) -> {index}"
    )
    print(
        summary.format(
            period=period_label(plan.period.label),
            ok=sum(j.status == "ok" for j in plan.jobs),
            failed=len(failed),
            skipped=sum(j.status == "skipped" for j in plan.jobs),
            alerts=len(fired),
            index=final / "index.html",
        ),
        file=stream,
    )
