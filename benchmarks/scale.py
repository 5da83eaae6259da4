"""Scale: demo build, ingest and the report suite at growing numbers of order lines.

For each size (``--sizes``, default ``1M 10M 50M`` order lines; ``20K`` style sizes for a
quick run):

1. ``salesnb demo --orders N`` builds the demo warehouse;
2. every canonical table of it is exported as a canonical CSV file (``COPY ... (HEADER)``,
   the export the ingest tests round-trip);
3. ``salesnb ingest EXPORT --into W`` loads it back (the streaming path for such sizes);
4. DuckDB alone reads the same files: ``CREATE TABLE t AS SELECT * FROM read_csv(file)``
   for each file into a new DuckDB file (what loading them with DuckDB's own reader and
   its type sniffing costs, without any checks), in one process;
5. ``salesnb report --source W`` runs the report suite on the ingested warehouse.

Every step runs as its own process; its wall time, CPU time (user + system) and peak
resident memory (``ru_maxrss`` from ``os.wait4``: the largest process) are measured, and
with psutil the peak of the sum over the process and all its descendants (the report's
kernels), sampled every 0.2 s (``tree_mb``; the table shows it when larger). ``ratio`` is the ingest's
throughput over DuckDB's (``read_csv`` wall time / ingest wall time; target >= 0.5); on a
shared machine the CPU ratio says the same with less noise. Prints one table at the end
(also written as JSON with ``--json``).

    python benchmarks/scale.py [--sizes 1M 10M 50M] [--work DIR] [--no-report] [--keep]

``--engines [N]`` measures the engines instead, in one run: the demo of ``N`` order lines
(default 20K) on DuckDB, copied into a PostgreSQL server started for the run (the
distribution's ``postgresql`` package, as the tests start it: ``tests/servers.py``) and
exported as Parquet for Spark (``spark:DIR``, local[2] unless the standard Spark settings
say otherwise); ``salesnb report`` on each, with the wall and CPU time of each against
DuckDB's (``ratio``: engine / DuckDB).

    python benchmarks/scale.py --engines [20K]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SALESNB = [sys.executable, "-m", "salesnb.cli"]

_BARE = """
import sys, duckdb
from pathlib import Path
con = duckdb.connect(sys.argv[1])
con.execute('SET enable_progress_bar = false')
for f in sorted(Path(sys.argv[2]).glob('*.csv')):
    con.execute(f"CREATE TABLE {f.stem} AS SELECT * FROM read_csv('{f}')")
con.execute('CHECKPOINT')
con.close()
"""

_EXPORT = """
import sys, duckdb
from salesnb.model.schema import TABLES
con = duckdb.connect(sys.argv[1], read_only=True)
con.execute('SET enable_progress_bar = false')
have = {r[0] for r in con.execute('SELECT table_name FROM information_schema.tables').fetchall()}
for t in TABLES:
    if t in have:
        con.execute(f"COPY {t} TO '{sys.argv[2]}/{t}.csv' (HEADER)")
"""


def size(text: str) -> int:
    """``1M`` -> 1_000_000, ``20K`` -> 20_000, ``500`` -> 500."""
    t = text.strip().upper()
    mult = {"K": 1_000, "M": 1_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if mult > 1 else t) * mult)


def measure(cmd: list[str], env: dict | None = None) -> dict:
    """Run ``cmd``; its wall time, CPU time and peak memory (MB), and whether it worked."""
    start = time.perf_counter()
    proc = subprocess.Popen(
        cmd,
        cwd=ROOT,
        env={**os.environ, **(env or {})},
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
    )
    tree = _TreeMemory(proc.pid)
    tree.start()
    out = proc.stdout.read() if proc.stdout else b""
    _pid, status, ru = os.wait4(proc.pid, 0)
    tree.stop.set()
    tree.join()
    wall = time.perf_counter() - start
    code = os.waitstatus_to_exitcode(status)
    if code != 0:
        print(out.decode(errors="replace")[-2000:], file=sys.stderr)
    return {
        "wall_s": round(wall, 2),
        "cpu_s": round(ru.ru_utime + ru.ru_stime, 2),
        "peak_mb": round(ru.ru_maxrss / 1024),
        "tree_mb": round(tree.peak / 2**20) if tree.peak else None,
        "ok": code == 0,
    }


class _TreeMemory(threading.Thread):
    """Samples the resident memory of a process and all its descendants (kernels, fork
    servers) every 0.2 s; ``peak`` is the largest sum seen (psutil, when installed)."""

    def __init__(self, pid: int):
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0, threading.Event()

    def run(self) -> None:
        try:
            import psutil
        except ImportError:
            return
        while not self.stop.wait(0.2):
            try:
                root = psutil.Process(self.pid)
                procs = [root, *root.children(recursive=True)]
            except psutil.Error:
                continue
            total = 0
            for p in procs:
                try:
                    total += p.memory_info().rss
                except psutil.Error:
                    pass
            self.peak = max(self.peak, total)


def _step(row: dict, name: str, figures: dict) -> None:
    """Keep a step's figures and print them at once (a long run can be read as it goes)."""
    row[name] = figures
    print(f"  {name}: {json.dumps(figures)}", flush=True)


def run_size(n: int, work: Path, report: bool) -> dict:
    folder = work / f"orders_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    demo, export = folder / "demo.duckdb", folder / "export"
    export.mkdir()
    row: dict = {"orders": n}
    _step(row, "demo", measure(SALESNB + ["demo", "--out", str(demo), "--orders", str(n)]))
    subprocess.run([sys.executable, "-c", _EXPORT, str(demo), str(export)], check=True, cwd=ROOT)
    row["export_mb"] = round(sum(p.stat().st_size for p in export.iterdir()) / 2**20)
    _step(
        row,
        "ingest",
        measure(SALESNB + ["ingest", str(export), "--into", str(folder / "ingested.duckdb")]),
    )
    _step(
        row,
        "read_csv",
        measure([sys.executable, "-c", _BARE, str(folder / "bare.duckdb"), str(export)]),
    )
    row["ratio"] = round(row["read_csv"]["wall_s"] / max(row["ingest"]["wall_s"], 1e-9), 2)
    row["cpu_ratio"] = round(row["read_csv"]["cpu_s"] / max(row["ingest"]["cpu_s"], 1e-9), 2)
    print(f"  ratio: {row['ratio']} (cpu {row['cpu_ratio']})", flush=True)
    if report:
        _step(
            row,
            "report",
            measure(
                SALESNB
                + [
                    "report",
                    "--source",
                    str(folder / "ingested.duckdb"),
                    "--out",
                    str(folder / "reports"),
                ]
            ),
        )
    return row


def table(rows: list[dict]) -> str:
    head = (
        f"{'orders':>11} {'csv MB':>7} | {'demo s':>7} {'MB':>6} | {'ingest s':>8} {'cpu s':>6} "
        f"{'MB':>6} | {'read_csv s':>10} {'cpu s':>6} {'MB':>6} | {'ratio':>5} {'cpu':>5} | "
        f"{'report s':>8} {'MB':>6}"
    )
    lines = [head, "-" * len(head)]
    for r in rows:
        rep = r.get("report") or {}

        def cell(m, key, w):
            if not m:
                return f"{'-':>{w}}"
            v = m[key]
            if key == "peak_mb" and (m.get("tree_mb") or 0) > v:
                v = m["tree_mb"]
            return f"{v:>{w}}" + ("" if m.get("ok", True) else "!")

        lines.append(
            f"{r['orders']:>11,} {r['export_mb']:>7} | {cell(r['demo'], 'wall_s', 7)} "
            f"{cell(r['demo'], 'peak_mb', 6)} | {cell(r['ingest'], 'wall_s', 8)} "
            f"{cell(r['ingest'], 'cpu_s', 6)} {cell(r['ingest'], 'peak_mb', 6)} | "
            f"{cell(r['read_csv'], 'wall_s', 10)} {cell(r['read_csv'], 'cpu_s', 6)} "
            f"{cell(r['read_csv'], 'peak_mb', 6)} | {r['ratio']:>5} {r['cpu_ratio']:>5} | "
            f"{cell(rep, 'wall_s', 8)} {cell(rep, 'peak_mb', 6)}"
        )
    lines.append(
        "ratio: read_csv wall / ingest wall (ingest throughput over DuckDB's; target >= 0.5)"
    )
    lines.append("! after a figure: that step failed (its output is printed above)")
    return "\n".join(lines)


def run_engines(n: int, work: Path) -> list[dict]:
    """The report suite on DuckDB, PostgreSQL and Spark for the same demo (see the module
    docstring); one row per engine, ``ratio`` against DuckDB."""
    sys.path.insert(0, str(ROOT / "tests"))
    from servers import postgres_server  # the tests' own throw-away cluster

    from salesnb.sources import export

    folder = work / f"engines_{n}"
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    wh = folder / "demo.duckdb"
    built = measure([*SALESNB, "demo", "--out", str(wh), "--orders", str(n)])
    assert built["ok"], "the demo did not build"
    rows = []
    with postgres_server() as pg:
        url = pg.create("salesnb_bench")
        export.to_postgres(wh, url)
        parquet = folder / "parquet"
        assert measure([*SALESNB, "export", "--source", str(wh), "--to", str(parquet)])["ok"]
        for engine, source in (
            ("duckdb", str(wh)),
            ("postgresql", url),
            ("spark", f"spark:{parquet}"),
        ):
            out = folder / f"reports-{engine}"
            fig = measure([*SALESNB, "report", "--source", source, "--out", str(out)])
            rows.append({"engine": engine, **fig})
            print(f"  {engine}: {json.dumps(fig)}", flush=True)
    base = rows[0]
    for r in rows:
        r["ratio_wall"] = round(r["wall_s"] / base["wall_s"], 2)
        r["ratio_cpu"] = round(r["cpu_s"] / base["cpu_s"], 2) if base["cpu_s"] else None
    return rows


def engines_table(rows: list[dict], n: int) -> str:
    lines = [
        f"report suite, demo of {n:,} order lines",
        "| engine | report (wall, CPU) | ratio to DuckDB (wall / CPU) | ok |",
        "| --- | ---: | ---: | --- |",
    ]
    for r in rows:
        lines.append(
            f"| {r['engine']} | {r['wall_s']} s, {r['cpu_s']} s | "
            f"{r['ratio_wall']} / {r['ratio_cpu']} | {'yes' if r['ok'] else 'NO'} |"
        )
    return "\n".join(lines)


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument(
        "--engines",
        nargs="?",
        const="20K",
        metavar="N",
        help="the report suite on DuckDB, PostgreSQL and Spark (demo of N order lines)",
    )
    ap.add_argument("--sizes", nargs="+", default=["1M", "10M", "50M"])
    ap.add_argument("--work", type=Path, default=Path("/tmp/salesnb-scale"))
    ap.add_argument("--no-report", action="store_true", help="skip the report suite")
    ap.add_argument("--keep", action="store_true", help="keep the warehouses and exports")
    ap.add_argument("--json", type=Path, help="also write the figures as JSON here")
    args = ap.parse_args(argv)
    if args.engines:
        n = size(args.engines)
        found = run_engines(n, args.work)
        print(engines_table(found, n))
        if not args.keep:
            shutil.rmtree(args.work / f"engines_{n}", ignore_errors=True)
        return 0 if all(r["ok"] for r in found) else 1
    rows = []
    for s in args.sizes:
        n = size(s)
        print(f"== {n:,} order lines", flush=True)
        row = run_size(n, args.work, not args.no_report)
        print(json.dumps(row), flush=True)
        rows.append(row)
        if not args.keep:
            shutil.rmtree(args.work / f"orders_{n}", ignore_errors=True)
    print(table(rows))
    if args.json:
        args.json.write_text(json.dumps(rows, indent=1))
    return 0 if all(r["ingest"]["ok"] and r["demo"]["ok"] for r in rows) else 1


if __name__ == "__main__":
    sys.exit(main())
