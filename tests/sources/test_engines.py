"""The same warehouse on DuckDB, PostgreSQL and Spark gives the same figures (issue 14).

A small demo is built into DuckDB, copied into a real PostgreSQL server
(``salesnb.sources.export.to_postgres``) and exported as Parquet for Spark
(``salesnb export``, read with ``--source spark:DIR`` on ``local[2]``); the real report
runs on each, and every study's ``<study>.json`` (and the alerts) must be equal: exactly
for counts and texts, within a relative 1e-9 for floats. PostgreSQL runs twice: its
figures are the same run after run. The DuckDB figures themselves are checked against
the demo's planted truths by the studies' own tests; here the engines must agree.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from conftest import need
from servers import postgres  # noqa: F401 (a fixture)

from salesnb import config, report
from salesnb.sources import connect, demo, export

ENGINE_ORDERS = 20_000
ENGINE_SEED = 7
# Spark starts a JVM in every study's kernel (about 10 s each on this 2-core machine, more
# under load), so CI compares the studies whose queries needed rewriting for Spark or
# PostgreSQL (row order, boolean sums, the float literal); SALESNB_TEST_SPARK_ALL=1 runs
# all of them (all equal when last run: see the README).
SPARK_STUDIES = ("funnel", "market", "performance", "experiments", "service", "data-quality")

pytestmark = pytest.mark.slow


def _published(out: Path) -> Path:
    folders = [p for p in out.iterdir() if p.is_dir() and not p.name.startswith(".")]
    assert len(folders) == 1, folders
    return folders[0]


def _run(source: str, out: Path, only=None) -> Path:
    code = report.run_report(source=source, out=out, workers=2, only=only)
    folder = _published(out)
    manifest = json.loads((folder / "manifest.json").read_text())
    failed = {s["id"]: s.get("reason") for s in manifest["studies"] if s["status"] != "ok"}
    assert not failed, f"{source}: studies failed: {failed}"
    assert code in (0, 1), code
    return folder


def _figures(folder: Path) -> dict[str, object]:
    """Every ``<study>.json`` and ``alerts.json`` of a published report."""
    return {
        p.name: json.loads(p.read_text())
        for p in sorted(folder.glob("*.json"))
        if p.name != "manifest.json"
    }


def _differences(a, b, where: str = "") -> list[str]:
    """Where ``a`` and ``b`` differ: floats by more than a relative 1e-9, anything else at all."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [f"{where}.{k}: only on one side" for k in sorted(set(a) ^ set(b))]
        for k in sorted(set(a) & set(b)):
            out += _differences(a[k], b[k], f"{where}.{k}")
        return out
    if isinstance(a, list) and isinstance(b, list):
        if len(a) != len(b):
            return [f"{where}: {len(a)} items vs {len(b)}"]
        return [
            d
            for i, (x, y) in enumerate(zip(a, b, strict=True))
            for d in _differences(x, y, f"{where}[{i}]")
        ]
    floats = (float, int)
    if isinstance(a, float) or isinstance(b, float):
        if (
            isinstance(a, floats)
            and isinstance(b, floats)
            and not isinstance(a, bool)
            and not isinstance(b, bool)
            and math.isclose(a, b, rel_tol=1e-9, abs_tol=0.0)
        ):
            return []
        return [f"{where}: {a!r} vs {b!r}"]
    return [] if a == b and type(a) is type(b) else [f"{where}: {a!r} vs {b!r}"]


def assert_same_figures(reference: Path, other: Path, engine: str, only=None) -> None:
    ref, got = _figures(reference), _figures(other)
    if only:  # a partial run: its studies (its alerts are those of its studies only)
        ref = {k: v for k, v in ref.items() if k.removesuffix(".json") in only}
        got = {k: v for k, v in got.items() if k != "alerts.json"}
    assert sorted(ref) == sorted(got), f"{engine}: other studies published"
    assert len(ref) >= (len(only) if only else 10), sorted(ref)
    diffs = [d for name in ref for d in _differences(ref[name], got[name], name)]
    assert not diffs, f"{engine} differs from DuckDB:\n" + "\n".join(diffs[:40])


@pytest.fixture(scope="module")
def engine_demo(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("engines") / "demo.duckdb"
    demo.build(out=path, seed=ENGINE_SEED, orders=ENGINE_ORDERS)
    return path


@pytest.fixture(scope="module")
def duckdb_report(engine_demo, tmp_path_factory) -> Path:
    return _run(str(engine_demo), tmp_path_factory.mktemp("report-duckdb"))


@pytest.fixture(scope="module")
def postgres_source(postgres, engine_demo) -> str:  # noqa: F811
    url = postgres.create("engines")
    export.to_postgres(engine_demo, url)
    return url


def test_the_postgresql_copy_holds_the_same_rows_and_values(engine_demo, postgres_source):
    duck, pg = connect(engine_demo), connect(postgres_source)
    try:
        assert pg.tables == duck.tables
        assert sorted(pg.con.list_tables()) == sorted(duck.con.list_tables())
        for name in duck.tables:
            a, b = duck.table(name), pg.table(name)
            assert b.count().execute() == a.count().execute(), name
            assert b.schema() == a.schema(), name
        o_duck, o_pg = duck.table("orders"), pg.table("orders")
        # every float of the file arrives bit for bit: sums of squares agree to the last place
        for col in ("net_amount", "discount", "unit_price"):
            got = (o_pg[col] * o_pg[col]).sum().execute()
            want = (o_duck[col] * o_duck[col]).sum().execute()
            assert math.isclose(got, want, rel_tol=1e-12), col
        assert pg.fingerprint() == duck.fingerprint()
    finally:
        duck.close()
        pg.close()


def test_every_study_gives_the_same_figures_on_postgresql_run_after_run(
    duckdb_report, postgres_source, tmp_path
):
    first = _run(postgres_source, tmp_path / "pg-1")
    assert_same_figures(duckdb_report, first, "PostgreSQL")
    second = _run(postgres_source, tmp_path / "pg-2")
    assert _figures(second) == _figures(first), "PostgreSQL: a second run changed a figure"


def _spark_ready() -> bool:
    try:
        import pyspark  # noqa: F401
    except ImportError:
        return False
    return bool(
        os.environ.get("SPARK_REMOTE") or os.environ.get("JAVA_HOME") or shutil.which("java")
    )


def test_every_study_gives_the_same_figures_on_spark(duckdb_report, engine_demo, tmp_path):
    need(_spark_ready(), "Spark needs pyspark and a Java runtime (Debian: openjdk-17-jre-headless)")
    parquet = tmp_path / "parquet"
    proc = subprocess.run(
        [
            sys.executable,
            "-m",
            "salesnb.cli",
            "export",
            "--source",
            str(engine_demo),
            "--to",
            str(parquet),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        cwd=config.PROJECT_ROOT,
    )
    assert proc.returncode == 0, proc.stderr
    rows = json.loads(proc.stdout)["rows"]
    assert rows["orders"] == ENGINE_ORDERS
    assert sorted(p.stem for p in parquet.glob("*.parquet")) == sorted(rows)
    only = None if os.environ.get("SALESNB_TEST_SPARK_ALL") else list(SPARK_STUDIES)
    folder = _run(f"spark:{parquet}", tmp_path / "spark", only=only)
    assert_same_figures(duckdb_report, folder, "Spark", only=only)
    # Spark's own start-up chatter stays out of the pages
    for page in folder.glob("*.html"):
        text = page.read_text(encoding="utf-8")
        assert "log4j" not in text and "WARN Utils" not in text, page.name


def _cli(*args: str, timeout: int = 600) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=config.PROJECT_ROOT,
    )


def test_demo_and_report_on_postgresql_from_the_command_line(postgres, tmp_path):  # noqa: F811
    url = postgres.create("cli")
    made = _cli("demo", "--out", url, "--orders", "5000", "--seed", "3")
    assert made.returncode == 0, made.stderr
    summary = json.loads(made.stdout)
    assert summary["rows"]["orders"] == 5000
    assert {t["name"] for t in summary["truths"]} >= {"bottleneck_stage", "top10_share"}
    src = connect(url)
    try:
        assert src.table("orders").count().execute() == 5000
        assert src.table("reps").count().execute() == summary["rows"]["reps"]
    finally:
        src.close()
    ran = _cli(
        "report", "--source", url, "--out", str(tmp_path / "r"), "--only", "funnel", "service"
    )
    assert ran.returncode in (0, 1), ran.stderr
    folder = _published(tmp_path / "r")
    funnel = json.loads((folder / "funnel.json").read_text())
    assert funnel["bottleneck_stage"] == "Proposal"
    assert json.loads((folder / "manifest.json").read_text())["source"] == url
    # an unreachable server: one line naming it, no traceback
    bad = _cli("report", "--source", postgres.url("no_such_db"), "--out", str(tmp_path / "x"))
    assert bad.returncode == 2
    assert "no_such_db" in bad.stderr and "Traceback" not in bad.stderr
    assert len(bad.stderr.strip().splitlines()) == 1


def test_ingest_into_postgresql_accounts_for_every_row_all_or_nothing(postgres, tmp_path):  # noqa: F811
    url = postgres.create("ingest")
    folder = Path(__file__).parents[1] / "data" / "ingest" / "canonical"
    first = _cli("ingest", str(folder), "--into", url, "--json")
    assert first.returncode == 0, first.stderr
    counts = json.loads(first.stdout)["tables"]
    src = connect(url)
    try:
        for table, c in counts.items():
            assert c["rows_in"] == c["accepted"] + c["quarantined"]
            assert src.table(table).count().execute() == c["accepted"], table
    finally:
        src.close()
    # the same export again, appended: every row is already there, so all are quarantined
    again = _cli("ingest", str(folder), "--into", url, "--append", "--json")
    assert again.returncode == 0, again.stderr
    for table, c in json.loads(again.stdout)["tables"].items():
        assert c["accepted"] == 0 and c["quarantined"] == c["rows_in"] == counts[table]["rows_in"]
    src = connect(url)
    try:
        quarantined = src.table("quarantine").count().execute()
        assert quarantined >= sum(c["rows_in"] for c in counts.values())
    finally:
        src.close()
    # a broken folder: one line, and the database as it was
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "orders.csv").write_text("order_id,order_date\nO1,2024-01-01\n", encoding="utf-8")
    failed = _cli("ingest", str(bad), "--into", url)
    assert failed.returncode == 2, failed.stderr
    assert "orders.csv" in failed.stderr and "Traceback" not in failed.stderr
    src = connect(url)
    try:
        assert src.table("orders").count().execute() == counts["orders"]["accepted"]
        assert src.table("quarantine").count().execute() == quarantined
    finally:
        src.close()


def test_which_spark_comes_from_the_standard_spark_settings(tmp_path, monkeypatch):
    from salesnb.sources import spark

    for var in ("PYSPARK_SUBMIT_ARGS", "MASTER", "SPARK_HOME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("SPARK_CONF_DIR", str(tmp_path))
    assert spark.configured_master() is None  # nothing set: local[2] in the process
    (tmp_path / "spark-defaults.conf").write_text(
        "# a cluster\nspark.executor.memory 4g\nspark.master   spark://head:7077\n"
    )
    assert spark.configured_master() == "spark://head:7077"
    monkeypatch.setenv("PYSPARK_SUBMIT_ARGS", "--master local[4] pyspark-shell")
    assert spark.configured_master() == "local[4]"
