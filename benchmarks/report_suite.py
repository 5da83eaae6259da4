"""Wall time of the full report suite against a floor measured in the same run.

Suite: ``salesnb.report.run_report`` on the default demo company (``data/demo.duckdb``,
built with ``salesnb demo`` when absent), every study, one worker per core.
Floor: the same number of bare notebooks (a parameters cell and one trivial cell) through
papermill's ``execute_notebook`` with the same number of worker processes: what running that
many notebooks costs before any study does any work.

After ``--warmup`` uncounted pairs (default 1: the first run of anything on a fresh
machine reads the installation from disk), both are run ``--repeat`` times (default 5),
alternating suite and floor so that a busy moment on the machine falls on both alike; the
ratio is of the two medians. One pair says more about the machine than about salesnb: on
this 2-core VM the same suite takes 9.3-12.3 s, and a floor 4.8-8.5 s, partly because
stock papermill kernels now and then stall ~3 s at start-up (one or two of the 11 bare
notebooks in about half the floor runs; the suite's kernels do not, see ``report``). The
fastest pair is printed too, for a ratio free of those stalls.

Prints every run, the medians and, last, ``ratio=<median suite / median floor>`` (target: <= 2.0).

    python benchmarks/report_suite.py [--source data/demo.duckdb] [--workers N] [--repeat N]
                                      [--warmup N] [--only STUDY ...]
"""

from __future__ import annotations

import argparse
import compileall
import io
import json
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from salesnb import config, report


def _bare_notebook(path: Path) -> None:
    import nbformat

    params = nbformat.v4.new_code_cell(
        'source: str = ""  # warehouse\noutput_dir: str = ""  # output'
    )
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(cells=[params, nbformat.v4.new_code_cell("x = 1")])
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(path))


def _run_bare(args) -> float:
    src, out, source = args
    import papermill as pm

    t = time.perf_counter()
    pm.execute_notebook(
        src,
        out,
        parameters={"source": source, "output_dir": str(Path(out).parent)},
        kernel_name="python3",
        progress_bar=False,
    )
    return time.perf_counter() - t


def floor(n: int, workers: int, source: str, tmp: Path) -> float:
    nb = tmp / "bare.ipynb"
    _bare_notebook(nb)
    jobs = [(str(nb), str(tmp / f"bare-{i}.ipynb"), source) for i in range(n)]
    t = time.perf_counter()
    with ProcessPoolExecutor(max_workers=workers) as ex:
        list(ex.map(_run_bare, jobs))
    return time.perf_counter() - t


def suite(source: str, workers: int, tmp: Path, only=None) -> tuple[float, dict]:
    out = tmp / "reports"
    t = time.perf_counter()
    report.run_report(source=source, out=out, workers=workers, stream=io.StringIO(), only=only)
    elapsed = time.perf_counter() - t
    manifest = json.loads(next(out.glob("*/manifest.json")).read_text())
    return elapsed, manifest


def main(argv=None) -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(config.DATA_DIR / "demo.duckdb"))
    ap.add_argument("--workers", type=int, default=report.default_workers())
    ap.add_argument("--repeat", type=int, default=5, help="pairs of runs (median taken)")
    ap.add_argument(
        "--warmup", type=int, default=1, help="pairs run first and not counted (cold caches)"
    )
    ap.add_argument(
        "--only",
        nargs="+",
        help="these studies only (e.g. the studies an older commit had, to compare like with like)",
    )
    args = ap.parse_args(argv)
    # salesnb as pip installs it: compiled. An editable install on a machine that sets
    # PYTHONDONTWRITEBYTECODE (as this one does) would compile the package in every process
    # of every run; the floor's papermill and ipykernel come compiled.
    compileall.compile_dir(Path(report.__file__).parents[1], quiet=1)
    source = Path(args.source)
    if not source.exists():
        print(f"building the demo company at {source} ...", flush=True)
        subprocess.run(
            [sys.executable, "-m", "salesnb.cli", "demo", "--out", str(source)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    suites, floors = [], []
    for i in range(-max(0, args.warmup), max(1, args.repeat)):
        with tempfile.TemporaryDirectory(prefix="salesnb-bench-") as d:
            tmp = Path(d)
            s_run, manifest = suite(str(source.resolve()), args.workers, tmp, args.only)
            ran = [s for s in manifest["studies"] if s["status"] != "skipped"]
            f_run = floor(len(ran), args.workers, str(source.resolve()), tmp)
        if i < 0:
            print(f"warm-up: suite {s_run:.2f} s, floor {f_run:.2f} s (not counted)", flush=True)
            continue
        suites.append(s_run)
        floors.append(f_run)
        print(f"run {i + 1}: suite {s_run:.2f} s, floor {f_run:.2f} s", flush=True)
    suite_s, floor_s = statistics.median(suites), statistics.median(floors)
    counts = {
        k: sum(s["status"] == k for s in manifest["studies"]) for k in ("ok", "failed", "skipped")
    }
    print(
        f"source: {source} ({manifest['fingerprint']}), period {manifest['period']}, workers {args.workers}, "
        f"kernels {manifest['kernels']}"
    )
    for s in manifest["studies"]:
        print(
            f"  {s['id']:<14} {s['status']:<8} {s['duration_s'] if s['duration_s'] is not None else '-'}"
        )
    print(
        f"suite: {len(ran)} studies ({counts['ok']} ok, {counts['failed']} failed, "
        f"{counts['skipped']} skipped) in {suite_s:.2f} s (median of {len(suites)})"
    )
    print(
        f"floor: {len(ran)} bare notebooks through papermill in {floor_s:.2f} s "
        f"(median of {len(floors)})"
    )
    print(
        f"fastest runs: suite {min(suites):.2f} s, floor {min(floors):.2f} s "
        f"(ratio of the fastest {min(suites) / min(floors):.2f})"
    )
    print(f"ratio={suite_s / floor_s:.2f}")


if __name__ == "__main__":
    main()
