"""The command line: one line and exit 2 for a user's mistake, never a traceback."""

from __future__ import annotations

import subprocess
import sys

from salesnb.cli import _spread_only


def run(*args, cwd=None):
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        timeout=300,
    )


def test_only_takes_several_studies():
    assert _spread_only(["report", "--only", "funnel", "customers", "-p", "region=East"]) == [
        "report",
        "--only",
        "funnel",
        "--only",
        "customers",
        "-p",
        "region=East",
    ]
    assert _spread_only(["report", "--only", "funnel", "--out", "x"]) == [
        "report",
        "--only",
        "funnel",
        "--out",
        "x",
    ]


def test_unknown_study_is_one_line(demo_warehouse, tmp_path):
    r = run(
        "report",
        "--source",
        str(demo_warehouse),
        "--only",
        "funnel",
        "nosuch",
        "--out",
        str(tmp_path),
    )
    assert r.returncode == 2
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1 and "nosuch" in lines[0] and "Traceback" not in r.stderr
    assert not any(tmp_path.iterdir())  # nothing published


def test_missing_warehouse_is_one_line(tmp_path):
    r = run("report", "--source", str(tmp_path / "absent.duckdb"), "--out", str(tmp_path / "out"))
    assert r.returncode == 2
    assert r.stderr.count("\n") == 1 and "absent.duckdb" in r.stderr


def test_studies_lists_every_study_with_parameters():
    from salesnb.studies import STUDIES

    r = run("studies")
    assert r.returncode == 0
    for sid in STUDIES:
        assert sid in r.stdout
    assert "period: str = ''" in r.stdout
