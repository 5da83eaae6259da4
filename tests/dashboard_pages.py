"""The dashboards in a real browser, for the browser tests: a ``salesnb dashboard`` server and
pages of headless Debian Chromium with the network cut off (tests/dashboards/test_dashboard_browser.py,
tests/dashboards/test_parity.py).

Every page runs with the internet cut off except the local server: a request anywhere else is
aborted and recorded, so a test can assert there was none. Never ``playwright install``: the
browser is Debian's chromium (``config.CHROMIUM``).
"""

from __future__ import annotations

import importlib.util
import re
import socket
import subprocess
import sys
import time
import urllib.request
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import need

from salesnb import config, dashboards

CHROMIUM_ARGS = config.CHROMIUM_ARGS
ARTIFACTS = config.PROJECT_ROOT / "test-artifacts"
LOCAL = re.compile(r"^(https?|wss?)://(127\.0\.0\.1|localhost)(:\d+)?/")
WAIT_MS = (
    120_000  # a loaded 2-core CI box can take long to start kernels; this is not a timing test
)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(
    source: Path, log_name: str = "dashboard-server.log", preheat: bool = True
) -> tuple:
    """Start ``salesnb dashboard`` on ``source`` at a free port: ``(process, base URL, log)``.
    Returns at once; :func:`wait_until_serving` waits for it.

    ``preheat=False``: Voilà as ``salesnb dashboard`` runs it, but each page's kernel starts
    on request instead of from a preheated pool (which refills itself after every page).
    """
    ARTIFACTS.mkdir(exist_ok=True)
    port = free_port()
    if preheat:
        cmd = [sys.executable, "-m", "salesnb.cli", "dashboard", "--source", str(source)]
        cmd += ["--port", str(port)]
        env = None
    else:
        cmd = dashboards.voila_command(port=port, preheat=False)
        env = dashboards.voila_env(str(Path(source).resolve()))
    log = open(ARTIFACTS / log_name, "w")  # noqa: SIM115 - closed by stop_server
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(config.PROJECT_ROOT), env=env
    )
    return proc, f"http://127.0.0.1:{port}", log


def wait_until_serving(proc, base: str, log, timeout: float = 180) -> None:
    deadline = time.monotonic() + timeout
    while True:
        if proc.poll() is not None:
            log.close()
            pytest.fail(
                f"salesnb dashboard exited with {proc.returncode}: "
                f"{Path(log.name).read_text()[-2000:]}"
            )
        try:
            with urllib.request.urlopen(base + "/", timeout=5) as r:
                if r.status == 200:
                    return
        except OSError:
            pass
        if time.monotonic() > deadline:
            proc.kill()
            pytest.fail(f"salesnb dashboard did not answer within {timeout:.0f} s")
        time.sleep(0.5)


def stop_server(proc, log) -> None:
    proc.terminate()
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
    log.close()


@contextmanager
def dashboard_server(source: Path, log_name: str = "dashboard-server.log"):
    """A running ``salesnb dashboard`` on ``source``: yields its base URL."""
    proc, base, log = start_server(source, log_name)
    try:
        wait_until_serving(proc, base, log)
        yield base
    finally:
        stop_server(proc, log)


@contextmanager
def chromium_browser(chromium: str):
    """Debian's chromium through playwright (skips without playwright, fails in CI)."""
    need(
        importlib.util.find_spec("playwright") is not None,
        "playwright is not installed (pip install playwright; never `playwright install`)",
    )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=chromium, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()


class Viewer:
    """One browser page with the internet cut off, recording what it tried and what it showed."""

    def __init__(self, browser):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900})
        self.page = self.context.new_page()
        self.external: list[str] = []
        self.dialogs: list[str] = []
        self.page.route("**/*", self._route)
        self.page.on("dialog", self._dialog)

    def _route(self, route):
        url = route.request.url
        if LOCAL.match(url) or url.startswith(("data:", "blob:")):
            route.continue_()
        else:
            self.external.append(url)
            route.abort()

    def _dialog(self, dialog):
        self.dialogs.append(dialog.message)
        dialog.dismiss()

    def open(self, url: str, ready: str = '[data-kpi="revenue"]', wait: bool = True):
        self.page.goto(url, wait_until="commit" if not wait else "load", timeout=WAIT_MS)
        if wait:
            self.ready(ready)
        return self

    def ready(self, selector: str, timeout: int = WAIT_MS):
        self.page.wait_for_selector(selector, timeout=timeout)
        self.page.wait_for_selector("img[data-chart]", timeout=timeout)

    def kpis(self) -> dict[str, float | None]:
        pairs = self.page.eval_on_selector_all(
            "[data-kpi]", "els => els.map(e => [e.dataset.kpi, e.dataset.value])"
        )
        return {k: (float(v) if v else None) for k, v in pairs}

    def text(self) -> str:
        return self.page.inner_text("body")

    def shot(self, name: str) -> None:
        self.page.screenshot(path=str(ARTIFACTS / f"dashboard-{name}.png"), full_page=True)

    def assert_clean(self) -> None:
        """No code, no traceback, no internet request, no script run from a URL."""
        body = self.text()
        assert "Traceback" not in body and not re.search(r"\b\w+(Error|Exception)\b", body)
        for code in (
            "from salesnb import",
            "dashboards.executive(",
            "dashboards.team(",
            "board.show",
        ):
            assert code not in body
        assert self.external == [], f"tried to load from the internet: {self.external}"
        assert self.dialogs == []

    def close(self):
        self.context.close()
