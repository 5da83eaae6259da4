"""`salesnb dashboard --viewers N`: the Voilà command line it starts (no server, no timing).

How long ten viewers wait is measured by ``benchmarks/dashboard.py`` (slowest of ten against
one viewer); here only that the option reaches Voilà as the pool it promises.
"""

from __future__ import annotations

import pytest
from typer.testing import CliRunner

from salesnb.cli import app
from salesnb.dashboards import server


class _FakeVoila:
    """Stands in for the Voilà process: records its command line, exits at once."""

    started: list[list[str]] = []

    def __init__(self, cmd, **_kwargs):
        _FakeVoila.started.append(list(cmd))

    def poll(self):
        return 0

    def wait(self, timeout=None):
        return 0


@pytest.fixture
def started(monkeypatch):
    _FakeVoila.started = []
    monkeypatch.setattr(server.subprocess, "Popen", _FakeVoila)
    for name in ("SALESNB_DASHBOARD_TOKEN", "SALESNB_DASHBOARD_TOKEN_FILE"):
        monkeypatch.delenv(name, raising=False)
    return _FakeVoila.started


@pytest.fixture
def warehouse(tmp_path):
    """The server only checks the warehouse opens; Voilà (faked here) would read it."""
    import duckdb

    path = tmp_path / "w.duckdb"
    duckdb.connect(str(path)).close()
    return path


def _flags(cmd: list[str]) -> dict[str, str]:
    return dict(a[2:].split("=", 1) for a in cmd if a.startswith("--") and "=" in a)


def _serve(*args: str):
    return CliRunner().invoke(app, ["dashboard", *args], catch_exceptions=False)


@pytest.mark.parametrize("viewers", [1, 10, 25])
def test_viewers_sets_the_preheated_pool(warehouse, started, viewers):
    r = _serve("--source", str(warehouse), "--viewers", str(viewers))
    assert r.exit_code == 0, r.output
    (cmd,) = started
    flags = _flags(cmd)
    assert flags["preheat_kernel"] == "True"
    assert int(flags["pool_size"]) == viewers
    # used kernels are replaced after a delay, not while the crowd is being served
    assert float(flags["VoilaKernelManager.fill_delay"]) == server.REFILL_DELAY_SECONDS > 1


def test_default_pool_and_no_pool(warehouse, started):
    assert _serve("--source", str(warehouse)).exit_code == 0
    assert int(_flags(started[-1])["pool_size"]) == server.DEFAULT_POOL_SIZE
    # --viewers 0: no idle kernels at all; each viewer's kernel starts on request
    assert _serve("--source", str(warehouse), "--viewers", "0").exit_code == 0
    flags = _flags(started[-1])
    assert flags["preheat_kernel"] == "False" and flags["pool_size"] == "0"
    assert "VoilaKernelManager.fill_delay" not in flags


def test_negative_viewers_is_refused_before_anything_starts(warehouse, started):
    r = CliRunner().invoke(app, ["dashboard", "--source", str(warehouse), "--viewers", "-1"])
    assert r.exit_code != 0
    assert "--viewers" in r.output
    assert started == []
