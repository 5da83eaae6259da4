"""Publishing a run atomically: staging folder, index page, JSON files, the swap into place."""

from __future__ import annotations

import json
import os
import re
import shutil
import sys
from pathlib import Path

from salesnb.fileio import atomic_write_text
from salesnb.formatting import headline
from salesnb.report.export import strip_network_refs
from salesnb.report.kernels import _pid_alive

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


def write_index(staging: Path, manifest: dict, alerts: list[dict]) -> None:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["fmt"] = lambda v, k="": headline(v, k)
    page = env.get_template("index.html.j2").render(m=manifest, alerts=alerts, max_figures=8)
    (staging / "index.html").write_text(strip_network_refs(page), encoding="utf-8")


def _write_json(path: Path, data) -> None:
    """Write ``data`` as JSON, atomically (the manifest is rewritten in a published report
    once the notifications are sent)."""
    atomic_write_text(path, json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n")
