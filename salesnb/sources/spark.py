"""The warehouse on Apache Spark: ``--source spark:DIR``.

``DIR`` holds the canonical tables as ``<table>.parquet`` (``salesnb export --source SRC
--to DIR``, :func:`salesnb.sources.export.to_parquet`); each becomes a temporary view of
a SparkSession, queried through Ibis's PySpark backend like any other engine.

Which Spark runs the queries, by the standard Spark settings:

- ``SPARK_REMOTE=sc://host:15002``: a Spark Connect server (``DIR`` is read by the
  server, so it must be a path the server sees);
- else ``spark.master`` from ``$SPARK_CONF_DIR/spark-defaults.conf`` (or
  ``$SPARK_HOME/conf``), ``--master`` in ``PYSPARK_SUBMIT_ARGS`` or ``MASTER``;
- else Spark inside this process on ``local[2]`` (:data:`DEFAULT_MASTER`), with few
  shuffle partitions and a JVM tuned to start quickly (:data:`LOCAL_JAVA_OPTIONS`).

Sessions read and show timestamps in UTC, as the other engines do. The local JVM's own
log lines go to ``<tmp>/salesnb-spark-<pid>.log``, not into a study's output.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import tempfile
from pathlib import Path

from salesnb.errors import InputError
from salesnb.model.schema import TABLES

DEFAULT_MASTER = "local[2]"
# a shuffle into Spark's default 200 partitions costs more than a small local query
LOCAL_SHUFFLE_PARTITIONS = "2"
# each study's kernel starts its own local JVM: the quick compiler and a serial collector
# start it in about half the time (a few seconds of queries never reach the optimising one)
LOCAL_JAVA_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"


def _conf_dir() -> Path | None:
    if os.environ.get("SPARK_CONF_DIR"):
        return Path(os.environ["SPARK_CONF_DIR"])
    home = os.environ.get("SPARK_HOME")
    if not home:
        try:
            from pyspark.find_spark_home import _find_spark_home

            home = _find_spark_home()
        except Exception:  # no Spark home: no defaults file
            return None
    return Path(home) / "conf"


def configured_master() -> str | None:
    """The ``spark.master`` the standard settings name, else None."""
    args = shlex.split(os.environ.get("PYSPARK_SUBMIT_ARGS", ""))
    if "--master" in args[:-1]:
        return args[args.index("--master") + 1]
    if os.environ.get("MASTER"):
        return os.environ["MASTER"]
    conf = _conf_dir()
    defaults = conf / "spark-defaults.conf" if conf else None
    if defaults is None or not defaults.is_file():
        return None
    for line in defaults.read_text(encoding="utf-8", errors="replace").splitlines():
        parts = line.split(None, 1)
        if len(parts) == 2 and parts[0] == "spark.master":
            return parts[1].strip()
    return None


@contextlib.contextmanager
def _jvm_log():
    """The JVM started here inherits this file as its stderr (Spark's start-up warnings
    would otherwise land in a notebook's output, which captures the process's stderr)."""
    log = Path(tempfile.gettempdir()) / f"salesnb-spark-{os.getpid()}.log"
    saved = os.dup(2)
    try:
        with log.open("ab") as f:
            os.dup2(f.fileno(), 2)
            yield
    finally:
        os.dup2(saved, 2)
        os.close(saved)


def session():
    """The SparkSession the settings above describe."""
    from pyspark.sql import SparkSession

    builder = SparkSession.builder.appName("salesnb").config("spark.sql.session.timeZone", "UTC")
    remote = os.environ.get("SPARK_REMOTE")
    if remote:
        return builder.remote(remote).getOrCreate()
    master = configured_master()
    if master is None:
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.master(DEFAULT_MASTER)
            .config("spark.sql.shuffle.partitions", LOCAL_SHUFFLE_PARTITIONS)
            .config("spark.driver.extraJavaOptions", LOCAL_JAVA_OPTIONS)
            .config("spark.ui.enabled", "false")
        )
    builder = (
        builder.config("spark.ui.showConsoleProgress", "false")
        .config("spark.sql.execution.arrow.pyspark.enabled", "true")
        # Spark's default is ./spark-warehouse: not in the reports folder
        .config("spark.sql.warehouse.dir", str(Path(tempfile.gettempdir()) / "salesnb-spark"))
    )
    with _jvm_log():
        spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel("ERROR")
    return spark


def connect_spark(folder: str) -> tuple[object, str]:
    """(Ibis backend, description) for the Parquet folder ``folder``."""
    import ibis

    if folder.startswith("//"):  # spark:///data/pq, written like a URL
        folder = "/" + folder.lstrip("/")
    path = Path(folder).expanduser()
    files = {name: path / f"{name}.parquet" for name in TABLES}
    files = {name: f for name, f in files.items() if f.exists()}
    if not files:
        raise InputError(
            f"{path}: no <table>.parquet files to read on Spark "
            "(write them with `salesnb export --source SRC --to DIR`)"
        )
    try:
        import pyspark  # noqa: F401
    except ImportError:
        raise InputError(
            f"spark:{path}: Spark is not installed (pip install 'salesnb[spark]'; it needs Java 17)"
        ) from None
    try:
        spark = session()
        con = ibis.pyspark.connect(spark)
        for name, f in files.items():
            spark.read.parquet(str(f.resolve())).createOrReplaceTempView(name)
    except Exception as exc:
        text = str(exc).strip()
        raise InputError(
            f"spark:{path}: cannot open on Spark ({text.splitlines()[0] if text else type(exc).__name__})"
        ) from exc
    # the description re-opens the same views (a report's kernels, the dashboards)
    return con, f"spark:{path.resolve()}"
