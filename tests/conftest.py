"""Shared fixtures.

- ``demo_warehouse``: a small demo company (same generator as ``salesnb demo``,
  fewer order lines), built once per test run and shared by xdist workers.
- ``demo_report``: ``salesnb report`` run once on it; planted-truth tests read
  the studies' own ``<study>.json`` from there. ``demo_report_zh``: the same in Chinese;
  ``demo_values``: the demo's own words (never translated).
- ``shared_data``: ../shared/data (``SALESNB_SHARED_DATA``); tests that need it
  skip with the reason on a machine without it and fail in CI (``CI=true``).
- ``chromium``: path of Debian's chromium, same skip/fail rule.
"""

from __future__ import annotations

import fcntl
import json
import os
import shutil
from contextlib import contextmanager
from pathlib import Path

import pytest

from salesnb import config

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")
# A report keeps its actions in the warehouse it reads (salesnb.report.register). The tests
# share one demo warehouse across workers: only the register's own tests (on copies) write.
os.environ.setdefault("SALESNB_ACTION_REGISTER", "off")
TEST_DEMO_ORDERS = int(os.environ.get("SALESNB_TEST_ORDERS", "200000"))
TEST_DEMO_SEED = 7


def need(condition: bool, reason: str) -> None:
    """Skip with ``reason`` when ``condition`` is false; in CI fail instead."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"required in CI: {reason}")
    pytest.skip(reason)


@contextmanager
def _locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.with_suffix(".lock"), "w") as fh:
        fcntl.flock(fh, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(fh, fcntl.LOCK_UN)


@pytest.fixture(scope="session")
def shared_root(tmp_path_factory) -> Path:
    """A folder shared by all xdist workers of this run."""
    base = tmp_path_factory.getbasetemp()
    root = base.parent if os.environ.get("PYTEST_XDIST_WORKER") else base
    return root / "shared"


@pytest.fixture(scope="session")
def demo_warehouse(shared_root) -> Path:
    from salesnb.sources import demo

    path = shared_root / "demo" / "demo.duckdb"
    with _locked(path):
        if not (path.parent / "truths.json").exists():
            demo.build(out=path, seed=TEST_DEMO_SEED, orders=TEST_DEMO_ORDERS)
    return path


SHAPE_DEMO_ORDERS = 30_000


@pytest.fixture(scope="session")
def shape_demo(shared_root) -> Path:
    """A 30,000-line demo from which tests derive warehouses of other shapes (tests/shapes.py)."""
    from salesnb.sources import demo

    path = shared_root / "shape-demo" / "demo.duckdb"
    with _locked(path):
        if not (path.parent / "truths.json").exists():
            demo.build(out=path, seed=7, orders=SHAPE_DEMO_ORDERS)
    return path


@pytest.fixture(scope="session")
def demo_truths(demo_warehouse) -> list[dict]:
    return json.loads((demo_warehouse.parent / "truths.json").read_text())


@pytest.fixture(scope="session")
def demo_report(demo_warehouse, shared_root) -> Path:
    """The published report folder (``<out>/<period>/``) of a full run on the demo."""
    from salesnb import report

    out = shared_root / "reports"
    done = shared_root / "reports.done"
    with _locked(out):
        if not done.exists():
            if out.exists():
                shutil.rmtree(out)
            code = report.run_report(source=str(demo_warehouse), out=out, workers=2)
            done.write_text(str(code))
    published = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(published) == 1, f"expected one period folder in {out}, found {published}"
    return published[0]


@pytest.fixture(scope="session")
def demo_report_zh(demo_warehouse, shared_root) -> Path:
    """The same full run in Chinese (``salesnb report --lang zh-CN``), once per test run."""
    from salesnb import i18n, report

    out = shared_root / "reports-zh"
    done = shared_root / "reports-zh.done"
    with _locked(out):
        if not done.exists():
            if out.exists():
                shutil.rmtree(out)
            before = os.environ.get(i18n.ENV_VAR)
            os.environ[i18n.ENV_VAR] = i18n.set_language("zh-CN")  # as `--lang zh-CN` does
            try:
                code = report.run_report(source=str(demo_warehouse), out=out, workers=2)
            finally:
                i18n.set_language(None)
                if before is None:
                    os.environ.pop(i18n.ENV_VAR, None)
                else:
                    os.environ[i18n.ENV_VAR] = before
            done.write_text(str(code))
    published = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(published) == 1, f"expected one period folder in {out}, found {published}"
    return published[0]


@pytest.fixture(scope="session")
def demo_values(demo_warehouse) -> set[str]:
    """The demo's own words (names, stages, channels, comments): never translated."""
    from i18n_check import data_values

    from salesnb.sources import connect

    src = connect(demo_warehouse)
    try:
        return data_values(src)
    finally:
        src.close()


@pytest.fixture(scope="session")
def shared_data() -> Path:
    root = config.shared_data_dir()
    need(root.is_dir(), f"real datasets not found at {root} (set SALESNB_SHARED_DATA)")
    return root


@pytest.fixture(scope="session")
def chromium() -> str:
    path = shutil.which("chromium") or (
        "/usr/bin/chromium" if Path("/usr/bin/chromium").exists() else None
    )
    need(path is not None, "Debian chromium is not installed (apt-get install chromium)")
    return path


# the dashboards' browser tests: one Chromium per module, a fresh page per test, the demo
# warehouse read directly for the figures a page must show (tests/dashboard_pages.py)
@pytest.fixture(scope="module")
def browser(chromium):
    from dashboard_pages import chromium_browser

    with chromium_browser(chromium) as b:
        yield b


@pytest.fixture
def viewer(browser):
    from dashboard_pages import Viewer

    v = Viewer(browser)
    yield v
    v.close()


@pytest.fixture(scope="module")
def src(demo_warehouse):
    from salesnb.sources import connect

    s = connect(demo_warehouse)
    yield s
    s.close()


def check_truths(report_dir: Path, truths: list[dict], study: str) -> dict:
    """Assert every planted truth of ``study`` is recovered in its published ``<study>.json``.

    Strings must match; numbers must lie within the truth's tolerance. Returns the figures.
    """
    mine = [t for t in truths if t["study"] == study]
    assert mine, f"the demo plants no truth for study {study}"
    found = json.loads((report_dir / f"{study}.json").read_text())
    for t in mine:
        assert t["key"] in found, f"{study}.json lacks {t['key']} (truth {t['name']})"
        if t["tolerance"] is None:
            assert found[t["key"]] == t["value"], (t["name"], found[t["key"]], t["value"])
        else:
            assert abs(found[t["key"]] - t["value"]) <= t["tolerance"], (
                t["name"],
                found[t["key"]],
                t["value"],
            )
    return found
