"""Real servers for tests: a throw-away PostgreSQL cluster on 127.0.0.1.

``postgres_server()`` runs the distribution's PostgreSQL (``/usr/lib/postgresql/<v>/bin``,
the ``postgresql`` package ``.ci/run`` installs, or ``initdb`` on the PATH) in a temporary
data folder on a free port, with trust authentication for loopback only, and removes it
afterwards. ``initdb`` refuses to run as root, so as root the server runs as the
``postgres`` user (``runuser``). Tests use the ``postgres`` fixture below, which skips
with the reason outside CI when no server binary exists and fails in CI (``need``).
"""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from conftest import need

USER = "salesnb"


def postgres_bin() -> Path | None:
    """The folder of the newest installed PostgreSQL server binaries, else None."""
    dirs = sorted(
        Path("/usr/lib/postgresql").glob("*/bin"),
        key=lambda p: int(p.parent.name) if p.parent.name.isdigit() else 0,
        reverse=True,
    )
    on_path = shutil.which("initdb")
    candidates = [*dirs, *([Path(on_path).parent] if on_path else [])]
    return next(
        (d for d in candidates if (d / "initdb").exists() and (d / "pg_ctl").exists()), None
    )


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class PostgresServer:
    """A running cluster: ``url(db)`` for a database, ``create(db)`` makes a fresh one."""

    def __init__(self, port: int):
        self.port = port

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://{USER}@127.0.0.1:{self.port}/{database}"

    def create(self, database: str) -> str:
        import psycopg

        with psycopg.connect(self.url(), autocommit=True) as con:
            con.execute(f'DROP DATABASE IF EXISTS "{database}"')
            con.execute(f'CREATE DATABASE "{database}"')
        return self.url(database)


@contextmanager
def postgres_server() -> Iterator[PostgresServer]:
    """Start a PostgreSQL cluster; stop and delete it on exit."""
    bindir = postgres_bin()
    assert bindir is not None, "no PostgreSQL server binaries"
    as_root = os.geteuid() == 0
    run_as = ["runuser", "-u", "postgres", "--"] if as_root else []
    # not under pytest's tmp folder: as root that is private to root, and postgres must enter it
    base = Path(tempfile.mkdtemp(prefix="salesnb-pg-"))
    if as_root:
        shutil.chown(base, "postgres")
    data = base / "data"
    port = _free_port()
    pg_ctl = [*run_as, str(bindir / "pg_ctl"), "-D", str(data)]
    try:
        subprocess.run(
            [*run_as, str(bindir / "initdb"), "-D", str(data), "-U", USER, "--auth=trust",
             "-E", "UTF8", "--locale=C.UTF-8"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        options = (
            f"-p {port} -k {base} -c listen_addresses=127.0.0.1 -c fsync=off "
            "-c synchronous_commit=off -c full_page_writes=off"
        )
        subprocess.run(
            [*pg_ctl, "-o", options, "-l", str(base / "server.log"), "-w", "-t", "60", "start"],
            check=True, capture_output=True, timeout=120,
        )  # fmt: skip
        yield PostgresServer(port)
    finally:
        subprocess.run([*pg_ctl, "-m", "immediate", "stop"], capture_output=True, timeout=60)
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def postgres() -> Iterator[PostgresServer]:
    """A real PostgreSQL server for this test module."""
    need(
        postgres_bin() is not None,
        "no PostgreSQL server installed (Debian: apt-get install postgresql)",
    )
    need(
        os.geteuid() != 0 or shutil.which("runuser") is not None,
        "running as root without runuser to start PostgreSQL as postgres",
    )
    with postgres_server() as server:
        yield server
