"""Command-line mistakes get click's usage error (exit 2), never 'internal error' (exit 3)."""

from __future__ import annotations

import subprocess
import sys

import pytest


def run(*args):
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *args], capture_output=True, text=True, timeout=300
    )


def test_unknown_option_is_a_usage_error_with_a_suggestion():
    r = run("report", "--perod", "2026-Q3")
    assert r.returncode == 2
    assert "Usage: salesnb report" in r.stderr
    assert "--perod" in r.stderr and "--period" in r.stderr  # click's suggestion
    assert "internal error" not in r.stderr and "Traceback" not in r.stderr


@pytest.mark.parametrize(
    "args, says",
    [
        (["reportt"], "Did you mean 'report'"),
        (["ingest"], "Missing argument"),
        (["map", "--bogus", "x"], "No such option: --bogus"),
    ],
)
def test_other_usage_mistakes_exit_2(args, says):
    r = run(*args)
    assert r.returncode == 2, r.stderr
    assert "Usage: salesnb" in r.stderr and says in r.stderr
    assert "internal error" not in r.stderr
