"""Dashboard speed: first rendered chart and filter-change redraw, against a bare Voilà notebook.

Both servers run in this process's run with the same Voilà settings (preheated kernels, same
template, same machine load), so the ratios say what salesnb adds on top of Voilà itself:

- first render: page request -> first chart visible (executive dashboard vs a notebook drawing
  one trivial matplotlib chart);
- redraw: dropdown change -> every chart redrawn (executive dashboard, region filter vs a
  notebook whose dropdown redraws its one chart);
- period change: the same, picking another period on the same dashboard page (the first visit
  to that period in the kernel, so its pipeline and stage-flow cubes are built on the spot).

Targets: first render <= 2 s with preheated kernels, redraw <= 300 ms. Absolute numbers
depend on the machine; the ratios are what to compare between runs.

    python benchmarks/dashboard.py [--source data/demo.duckdb] [--runs 5]
"""

from __future__ import annotations

import argparse
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat

from salesnb import config, dashboards

CHROMIUM = config.CHROMIUM
CHROMIUM_ARGS = config.CHROMIUM_ARGS
TARGET_FIRST_RENDER_S = 2.0
TARGET_REDRAW_S = 0.3

BARE_CODE = """\
import base64, io
import ipywidgets as w
from IPython.display import display
from matplotlib.figure import Figure


def chart(k):
    fig = Figure(figsize=(6, 3))
    ax = fig.add_subplot()
    ax.plot([1, 2, 3], [1, 3 * k, 2])
    ax.set_title(f"bare chart {k}")
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    return '<img data-chart="bare" src="data:image/png;base64,' + base64.b64encode(buf.getvalue()).decode() + '"/>'


pick = w.Dropdown(options=[1, 2, 3], value=1, description="k")
pick.add_class("bare-pick")
out = w.HTML(chart(1))
pick.observe(lambda c: setattr(out, "value", chart(c["new"])), names="value")
display(pick, out)
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    def __init__(self, name: str, notebooks: Path, source: str, log_dir: Path):
        self.name = name
        self.port = _free_port()
        self.log_path = log_dir / f"{name}.log"
        self.log = open(self.log_path, "w")  # noqa: SIM115 - closed in stop()
        cmd = dashboards.voila_command(port=self.port, notebooks=notebooks)
        self.proc = subprocess.Popen(
            cmd,
            env=dashboards.voila_env(source),
            stdout=self.log,
            stderr=subprocess.STDOUT,
            cwd=str(config.PROJECT_ROOT),
        )
        self.base = f"http://127.0.0.1:{self.port}"

    def pools_filled(self, notebook: str) -> int:
        return self.log_path.read_text(errors="replace").count(
            f"Kernel pool of {notebook} is filled"
        )

    def wait_pool(self, notebook: str, at_least: int, timeout: float = 300) -> None:
        deadline = time.monotonic() + timeout
        while self.pools_filled(notebook) < at_least:
            if self.proc.poll() is not None:
                raise SystemExit(f"{self.name} server exited: {self.log_path.read_text()[-2000:]}")
            if time.monotonic() > deadline:
                raise SystemExit(
                    f"{self.name}: kernel pool of {notebook} not refilled in {timeout:.0f} s"
                )
            time.sleep(0.2)

    def stop(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.log.close()


def _first_render(browser, url: str) -> tuple[float, object]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    t0 = time.perf_counter()
    page.goto(url, wait_until="commit", timeout=120_000)
    page.wait_for_selector("img[data-chart]", state="visible", timeout=120_000)
    return time.perf_counter() - t0, context


def _redraw(page, select: str, label: str) -> float:
    before = page.eval_on_selector_all("img[data-chart]", "els => els.map(e => e.src)")
    t0 = time.perf_counter()
    page.select_option(select, label=label)
    page.wait_for_function(
        "before => { const now = [...document.querySelectorAll('img[data-chart]')].map(e => e.src);"
        " return now.length === before.length && now.every((s, i) => s !== before[i]); }",
        arg=before,
        timeout=60_000,
        polling="raf",
    )
    return time.perf_counter() - t0


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--source", default=str(config.DATA_DIR / "demo.duckdb"))
    ap.add_argument("--runs", type=int, default=5)
    ap.add_argument(
        "--warmup",
        type=int,
        default=1,
        help="unmeasured rounds first (the first preheat run "
        "of a big warehouse can still be executing when Voilà reports the pool filled)",
    )
    args = ap.parse_args(argv)
    source = Path(args.source)
    if not source.exists():
        print(f"building the default demo company at {source} (salesnb demo)", flush=True)
        subprocess.run(
            [sys.executable, "-m", "salesnb.cli", "demo", "--out", str(source)],
            check=True,
            stdout=subprocess.DEVNULL,
        )
    if not Path(CHROMIUM).exists():
        raise SystemExit("Debian chromium is needed: apt-get install chromium")
    from playwright.sync_api import sync_playwright

    from salesnb.queries.warehouse import known_values
    from salesnb.sources import connect

    src = connect(source)
    regions = known_values(src)["region"]
    periods = dashboards.period_choices(src)
    src.close()
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-bench-"))
    bare_dir = tmp / "bare"
    bare_dir.mkdir()
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nb.cells = [nbformat.v4.new_code_cell(BARE_CODE)]
    nbformat.write(nb, bare_dir / "bare.ipynb")

    dash = Server("dashboard", config.DASHBOARD_DIR, str(source.resolve()), tmp)
    bare = Server("bare", bare_dir, str(source.resolve()), tmp)
    first = {"dashboard": [], "bare": []}
    redraw = {"dashboard": [], "bare": []}
    period_redraw: list[float] = []
    try:
        dash.wait_pool("executive.ipynb", 1)
        bare.wait_pool("bare.ipynb", 1)
        with sync_playwright() as p:
            browser = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
            for i in range(args.warmup + args.runs):
                # alternate, so load on the machine hits both sides alike; wait for a hot kernel each time
                for name, server, url, select, labels in (
                    (
                        "dashboard",
                        dash,
                        f"{dash.base}/voila/render/executive.ipynb",
                        ".snb-filter-region select",
                        regions,
                    ),
                    (
                        "bare",
                        bare,
                        f"{bare.base}/voila/render/bare.ipynb",
                        ".bare-pick select",
                        ["2", "3"],
                    ),
                ):
                    nb_name = url.rsplit("/", 1)[1]
                    server.wait_pool(nb_name, i + 1)
                    time.sleep(1.0)  # let the refilled kernel finish its preheat run
                    seconds, context = _first_render(browser, url)
                    page = context.pages[0]
                    time.sleep(0.5)
                    redrawn = _redraw(page, select, labels[i % len(labels)])
                    if name == "dashboard":
                        time.sleep(0.5)
                        other = periods[1 + i % max(len(periods) - 1, 1)]
                        period_seconds = _redraw(page, ".snb-filter-period select", other)
                    context.close()
                    if i >= args.warmup:
                        first[name].append(seconds)
                        redraw[name].append(redrawn)
                        if name == "dashboard":
                            period_redraw.append(period_seconds)
                if i < args.warmup:
                    print(f"warm-up round {i + 1} done", flush=True)
                    continue
                print(
                    f"run {i + 1 - args.warmup}: first render dashboard {first['dashboard'][-1]:.2f} s, bare "
                    f"{first['bare'][-1]:.2f} s; redraw dashboard {redraw['dashboard'][-1] * 1000:.0f} ms, "
                    f"bare {redraw['bare'][-1] * 1000:.0f} ms; period change dashboard "
                    f"{period_redraw[-1] * 1000:.0f} ms",
                    flush=True,
                )
            browser.close()
    finally:
        dash.stop()
        bare.stop()

    def med(xs):
        return statistics.median(xs)

    fr_d, fr_b = med(first["dashboard"]), med(first["bare"])
    rd_d, rd_b = med(redraw["dashboard"]), med(redraw["bare"])
    print(f"\nsource: {source} ({args.runs} runs, medians)")
    print(
        f"first rendered chart: dashboard {fr_d:.2f} s | bare Voilà {fr_b:.2f} s | ratio {fr_d / fr_b:.2f}x "
        f"| target <= {TARGET_FIRST_RENDER_S:.1f} s: {'met' if fr_d <= TARGET_FIRST_RENDER_S else 'NOT met'}"
    )
    print(
        f"filter change -> redraw: dashboard {rd_d * 1000:.0f} ms | bare Voilà {rd_b * 1000:.0f} ms | ratio "
        f"{rd_d / rd_b:.2f}x | target <= {TARGET_REDRAW_S * 1000:.0f} ms: "
        f"{'met' if rd_d <= TARGET_REDRAW_S else 'NOT met'}"
    )
    pr_d = med(period_redraw)
    print(
        f"period change -> redraw (first visit): dashboard {pr_d * 1000:.0f} ms | ratio to bare "
        f"redraw {pr_d / rd_b:.2f}x | target <= {TARGET_REDRAW_S * 1000:.0f} ms: "
        f"{'met' if pr_d <= TARGET_REDRAW_S else 'NOT met'}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
