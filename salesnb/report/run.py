"""``run_report``: plan, execute in parallel, publish; what ``salesnb report`` calls."""

from __future__ import annotations

import contextlib
import datetime as dt
import os
import shutil
import sys
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from salesnb import __version__, config
from salesnb.alerts import evaluate_alerts, load_alert_rules
from salesnb.errors import ParameterError
from salesnb.report.execute import (
    USUAL_COST,
    _last_durations,
    _Progress,
    _run_job,
    default_workers,
)
from salesnb.report.export import _prewarm
from salesnb.report.kernels import _kernel_mode, _stop_server_now, warm_kernels
from salesnb.report.plan import Job, plan_report
from salesnb.report.publish import _write_json, clean_stale, publish, write_index


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
) -> int:
    """Run the studies and publish ``<out>/<period>/``. Returns the exit code:
    0 all studies ok or skipped (and no alert when ``fail_on_alert``), 1 otherwise.
    Raises ParameterError / InputError before anything runs when a parameter is wrong."""
    import nbformat

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
        workers = int(workers) if workers else default_workers()

        reports = Path(out) if out else config.reports_dir()
        reports.mkdir(parents=True, exist_ok=True)
        clean_stale(reports)
        staging = reports / f".staging-{plan.period.label}-{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
    except BaseException:
        _stop_server_now()
        pool.close()
        raise

    # Longest studies first (by the last published run, else by the usual cost), so no long
    # study starts last.
    last = _last_durations(reports) or USUAL_COST
    runnable = sorted(
        (j for j in plan.jobs if j.status == "pending"),
        key=lambda j: -last.get(j.study.id, float("inf")),
    )
    if not runnable:
        _stop_server_now()
        pool.close()
    progress = _Progress(plan.jobs, stream)
    for j in runnable:
        nb = nbformat.read(str(j.study.path), as_version=4)
        progress.add(j, len(nb.cells) + 1)  # + the cell papermill injects
    kernel_mode = "plain python3"
    # Parameters are checked above against our own parser; papermill's warnings about them
    # (and its INFO chatter) would only bury the one line per study a log reader needs.
    import logging

    pm_log = logging.getLogger("papermill")
    pm_level = pm_log.level
    pm_log.setLevel(logging.ERROR)
    try:
        with pool, progress:
            kernel_mode = _kernel_mode()
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

        finished = dt.datetime.now(dt.UTC)
        figures = {j.study.id: j.headline for j in plan.jobs if j.status == "ok"}
        alert_results = evaluate_alerts(rules, figures)
        fired = [a for a in alert_results if a["status"] == "alert"]
        failed = [j for j in plan.jobs if j.status == "failed"]
        produced = {f for j in plan.jobs for f in j.files.values()}
        artefacts = sorted(
            p.name
            for p in staging.iterdir()
            if p.is_file() and p.name not in produced and not p.name.startswith(".")
        )
        manifest = {
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
            "kernels": kernel_mode,
            "status": "failed" if failed else "ok",
            "alerts_fired": len(fired),
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
        _write_json(staging / "alerts.json", {"period": plan.period.label, "alerts": alert_results})
        write_index(staging, manifest, alert_results)
        _write_json(staging / "manifest.json", manifest)
        publish(staging, reports / plan.period.label)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        pm_log.setLevel(pm_level)

    stream = stream or sys.stderr
    final = reports / plan.period.label
    for a in fired:
        print(
            f"alert {a['study']}.{a['key']}={a['actual']} ({a['op']} {a['value']}): {a['message']}",
            file=stream,
        )
    print(
        f"report {plan.period.label}: {sum(j.status == 'ok' for j in plan.jobs)} ok, {len(failed)} failed, "
        f"{sum(j.status == 'skipped' for j in plan.jobs)} skipped, {len(fired)} alert(s) -> "
        f"{final / 'index.html'}",
        file=stream,
    )
    if failed or (fail_on_alert and fired):
        return 1
    return 0
