"""The report runner: parameters checked up front, studies run in parallel, a failing study
published as failed while the others publish, atomic publishing (a killed run leaves the last
good report byte-for-byte), offline HTML, index / manifest / alerts contents.

Studies here are tiny notebooks written into a temporary folder and registered by
monkeypatching ``salesnb.studies.STUDIES`` and ``config.NOTEBOOK_DIR``, over a tiny warehouse
whose every number is known.
"""

from __future__ import annotations

import io
import json
import os
import re
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import duckdb
import nbformat
import pytest

from salesnb import __version__, config, report, studies
from salesnb.errors import InputError, ParameterError
from salesnb.sources import connect

SHARED = [
    ("source", "warehouse path or URL"),
    ("period", "2026-Q3, 2026-09 or 2026"),
    ("as_of", "as-of date"),
    ("region", "only this region"),
    ("team", "only this team"),
    ("channel", "only this channel"),
    ("currency", "currency label"),
    ("output_dir", "where <study>.json goes"),
]
OPEN = (
    'from salesnb import study\nctx = study.open("{id}", source=source, period=period, as_of=as_of, '
    "region=region, team=team, channel=channel, currency=currency, output_dir=output_dir)"
)
NETWORK_REF = re.compile(r"<(script|link|img)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//", re.I)


def write_study(folder: Path, name: str, study_id: str, body: str, own: str = "") -> None:
    """A study notebook honouring the contract: parameters cell, study.open, body, ctx.save()."""
    lines = [f'{n}: str = ""  # {h}' for n, h in SHARED] + ([own] if own else [])
    params = nbformat.v4.new_code_cell("\n".join(lines))
    params.metadata["tags"] = ["parameters"]
    nb = nbformat.v4.new_notebook(
        cells=[
            nbformat.v4.new_markdown_cell(f"# {study_id}"),
            params,
            nbformat.v4.new_code_cell(OPEN.format(id=study_id)),
            nbformat.v4.new_markdown_cell("What the next cell answers."),
            nbformat.v4.new_code_cell(textwrap.dedent(body).strip()),
            nbformat.v4.new_code_cell("ctx.save();"),
        ]
    )
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    nbformat.write(nb, str(folder / name))


ALPHA = """
from salesnb import plots
plots.use_house_style()
ax = plots.new_ax()
ax.bar(["North", "South"], [1, 2])
ax.set_title("South sells twice North")
ctx.headline(rows=ctx.src.table("orders").count().execute(), n=n, share_pct=0.25)
ctx.artifact("alpha_calls.csv").write_text("customer_id\\nC1\\n")
"""
BETA = 'raise ValueError("planted failure in beta")'
GAMMA = "ctx.headline(x=1.5, period_label=ctx.period.label)"


def registry(*items) -> dict:
    return {s.id: s for s in (studies.Study(i, nb, i.title(), needs) for i, nb, needs in items)}


@pytest.fixture(scope="module")
def tiny_wh(tmp_path_factory) -> Path:
    """48 order lines in 2024 (4 per month, the last on the 31st of December), 2 regions, 2 channels, 3 customers, 2 reps."""
    path = tmp_path_factory.mktemp("wh") / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute("""
        CREATE TABLE orders AS SELECT
          'O' || i AS order_id, 1 AS line_no,
          DATE '2024-02-01' + INTERVAL (i // 4) MONTH - INTERVAL (1 + 7 * (i % 4)) DAY AS order_date,
          'C' || (i % 3) AS customer_id, 'R' || (i % 2) AS rep_id, 'P1' AS product_id,
          CASE WHEN i % 2 = 0 THEN 'Online' ELSE 'Retail' END AS channel,
          CASE WHEN i % 4 < 2 THEN 'North' ELSE 'South' END AS region, 'US' AS country,
          1.0 AS quantity, 100.0 AS unit_price, 0.0 AS discount, 100.0 AS net_amount, 'USD' AS currency
        FROM range(48) t(i);
        ALTER TABLE orders ALTER order_date TYPE DATE;
        CREATE TABLE customers AS SELECT 'C' || i AS customer_id, 'Name ' || i AS name FROM range(3) t(i);
        CREATE TABLE reps AS SELECT 'R' || i AS rep_id, 'Rep ' || i AS name,
          CASE WHEN i = 0 THEN 'Alpha' ELSE 'Beta' END AS team, 'North' AS region, 'rep' AS role
        FROM range(2) t(i);
    """)
    con.close()
    return path


@pytest.fixture(scope="module")
def nb_dir(tmp_path_factory) -> Path:
    d = tmp_path_factory.mktemp("notebooks")
    write_study(d, "a.ipynb", "alpha", ALPHA, own="n: int = 3  # how many")
    write_study(d, "b.ipynb", "beta", BETA)
    write_study(d, "c.ipynb", "gamma", GAMMA)
    return d


REG = registry(
    ("alpha", "a.ipynb", ("orders",)),
    ("beta", "b.ipynb", ("orders",)),
    ("gamma", "c.ipynb", ("orders",)),
    ("delta", "missing.ipynb", ("orders",)),
    ("eps", "c.ipynb", ("tickets",)),
)


@pytest.fixture(scope="module")
def run(tiny_wh, nb_dir, tmp_path_factory):
    """One run of the fake suite: alpha ok, beta fails, gamma ok, delta/eps skipped."""
    out = tmp_path_factory.mktemp("reports")
    rules = out.parent / "rules.yaml"
    rules.write_text(
        "- {study: alpha, key: rows, op: '>', value: 40, message: More than 40 order lines}\n"
        "- {study: alpha, key: n, op: '<', value: 5, message: n below 5}\n"
        "- {study: alpha, key: no_such_key, op: '<', value: 1, message: never evaluated}\n"
        "- {study: beta, key: x, op: '<', value: 1, message: beta failed}\n"
    )
    stream = io.StringIO()
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(studies, "STUDIES", REG)
        mp.setattr(config, "NOTEBOOK_DIR", nb_dir)
        code = report.run_report(
            source=str(tiny_wh),
            out=out,
            params_kv=["n=7"],
            workers=2,
            alerts_file=rules,
            stream=stream,
        )
    published = out / "2024-Q4"
    return {"code": code, "out": out, "dir": published, "log": stream.getvalue(), "wh": tiny_wh}


def test_a_study_needing_one_of_several_tables_is_skipped_only_without_all_of_them():
    service = studies.STUDIES["service"]
    assert service.missing({"orders", "tickets"}) is None
    assert service.missing({"surveys"}) is None
    assert service.missing({"orders", "opportunities"}) == (
        "none of the tables tickets, surveys is in this warehouse"
    )
    experiments = studies.STUDIES["experiments"]
    assert experiments.missing({"orders", "pilots"}) == "table reps not in this warehouse"
    assert experiments.missing({"orders", "reps"}).startswith("none of the tables trainings")


def manifest(run) -> dict:
    return json.loads((run["dir"] / "manifest.json").read_text())


def by_id(run) -> dict:
    return {s["id"]: s for s in manifest(run)["studies"]}


def test_failing_study_is_published_as_failed_and_the_others_still_publish(run):
    assert run["code"] == 1
    s = by_id(run)
    assert {k: v["status"] for k, v in s.items()} == {
        "alpha": "ok",
        "beta": "failed",
        "gamma": "ok",
        "delta": "skipped",
        "eps": "skipped",
    }
    assert "ValueError: planted failure in beta" in s["beta"]["reason"]
    assert "missing.ipynb not found" in s["delta"]["reason"]
    assert "tickets not in this warehouse" in s["eps"]["reason"]
    d = run["dir"]
    # the failed study's partial notebook and its HTML (with the traceback) are published
    assert (d / "beta.ipynb").exists()
    assert "planted failure in beta" in (d / "beta.html").read_text()
    # the others are complete: notebook, HTML, figures, and the artefact alpha wrote
    for sid in ("alpha", "gamma"):
        assert {(d / f).exists() for f in (f"{sid}.ipynb", f"{sid}.html", f"{sid}.json")} == {True}
    assert (d / "alpha_calls.csv").read_text() == "customer_id\nC1\n"
    assert manifest(run)["artefacts"] == ["alpha_calls.csv"]
    assert not [p for p in run["out"].iterdir() if p.name.startswith(".")], "staging left behind"


def test_parameters_reach_the_studies_typed_and_the_period_is_the_last_complete_quarter(run):
    alpha = json.loads((run["dir"] / "alpha.json").read_text())
    assert alpha == {"n": 7, "rows": 48, "share_pct": 0.25}  # -p n=7 arrived as an int
    assert json.loads((run["dir"] / "gamma.json").read_text())["period_label"] == "2024-Q4"
    s = by_id(run)
    assert s["alpha"]["parameters"]["n"] == 7
    assert s["alpha"]["parameters"]["currency"] == "USD"
    assert s["alpha"]["parameters"]["source"] == str(run["wh"].resolve())
    assert "n" not in s["gamma"]["parameters"]  # only studies declaring n receive it
    nb = nbformat.read(str(run["dir"] / "gamma.ipynb"), as_version=4)
    injected = next(
        c.source for c in nb.cells if "injected-parameters" in c.metadata.get("tags", [])
    )
    assert re.search(
        r'output_dir = ".*/\.staging-2024-Q4-\d+"', injected
    )  # written beside the report
    assert f'source = "{run["wh"].resolve()}"' in injected


def test_manifest_records_fingerprint_version_timings_and_status(run):
    m = manifest(run)
    src = connect(run["wh"])
    try:
        assert m["fingerprint"] == src.fingerprint()
    finally:
        src.close()
    assert m["salesnb_version"] == __version__
    assert (m["period"], m["period_start"], m["period_end_exclusive"]) == (
        "2024-Q4",
        "2024-10-01",
        "2025-01-01",
    )
    assert m["status"] == "failed" and m["workers"] == 2
    assert m["parameters"]["given"] == {"n": "7"}
    # the run decides the currency once (the orders' own) and every study gets it
    assert m["parameters"]["common"]["currency"] == "USD"
    s = by_id(run)
    assert all(s[k]["duration_s"] > 0 for k in ("alpha", "beta", "gamma"))
    assert s["delta"]["duration_s"] is None
    assert s["alpha"]["files"] == {
        "html": "alpha.html",
        "json": "alpha.json",
        "notebook": "alpha.ipynb",
    }


def test_index_links_every_study_with_status_time_and_figures(run):
    page = (run["dir"] / "index.html").read_text()
    for sid in ("alpha", "beta", "gamma"):
        assert f'href="{sid}.html"' in page
    rows = dict(re.findall(r'<tr class="study-row" id="study-([\w-]+)">(.*?)</tr>', page, re.S))
    assert set(rows) == {"alpha", "beta", "gamma", "delta", "eps"}
    assert 'class="status ok"' in rows["alpha"] and "rows: <b>48</b>" in rows["alpha"]
    assert "share_pct: <b>25.0%</b>" in rows["alpha"]
    assert re.search(r"\d+\.\d s", rows["alpha"])
    assert 'class="status failed"' in rows["beta"] and "planted failure in beta" in rows["beta"]
    assert 'class="status skipped"' in rows["delta"] and "not found" in rows["delta"]
    assert 'href="alpha_calls.csv"' in page


def test_alerts_fire_on_headline_figures_and_absent_keys_are_not_evaluated(run):
    alerts = {
        a["message"]: a for a in json.loads((run["dir"] / "alerts.json").read_text())["alerts"]
    }
    assert alerts["More than 40 order lines"]["status"] == "alert"
    assert alerts["More than 40 order lines"]["actual"] == 48
    assert alerts["n below 5"]["status"] == "ok"
    assert alerts["never evaluated"]["status"] == "not evaluated"
    assert alerts["beta failed"]["status"] == "not evaluated"  # a failed study has no figures
    page = (run["dir"] / "index.html").read_text()
    assert "Alerts (1 fired)" in page and "More than 40 order lines" in page
    assert "alert alpha.rows=48" in run["log"]


def test_html_is_offline_code_hidden_images_inline(run):
    pages = sorted(run["dir"].glob("*.html"))
    assert {p.name for p in pages} == {"index.html", "alpha.html", "beta.html", "gamma.html"}
    for p in pages:
        text = p.read_text()
        assert not NETWORK_REF.findall(text), f"{p.name} fetches from the network"
    alpha = (run["dir"] / "alpha.html").read_text()
    assert "data:image/svg+xml;base64," in alpha  # the chart is inside the page
    # every image says what it shows: the chart's title is its alternative text
    alts = re.findall(r"<img\b[^>]*?\balt=\"([^\"]*)\"", alpha)
    assert alts == ["South sells twice North"]
    assert len(re.findall(r"<img\b", alpha)) == len(alts)
    assert "plots.new_ax()" not in alpha  # code hidden by default
    assert 'href="index.html"' in alpha


def test_plain_progress_lines_in_a_log(run):
    lines = [ln for ln in run["log"].splitlines() if ln.startswith("study ")]
    got = {
        m[1]: m[2]
        for ln in lines
        if (m := re.match(r"^study ([\w-]+) (ok|failed|skipped) (\d+\.\ds|-)", ln))
    }
    assert got == {
        "alpha": "ok",
        "beta": "failed",
        "gamma": "ok",
        "delta": "skipped",
        "eps": "skipped",
    }


def test_studies_run_in_parallel(tiny_wh, tmp_path, monkeypatch):
    """Two studies that each wait for the other's flag can only both finish when run side by side."""
    body = """
    import time
    ctx.artifact("{me}.flag").write_text("here")
    deadline = time.monotonic() + 90
    while not (ctx.output_dir / "{other}.flag").exists():
        if time.monotonic() > deadline:
            raise RuntimeError("{other} never ran alongside {me}")
        time.sleep(0.05)
    ctx.headline(met=1)
    """
    write_study(tmp_path, "l.ipynb", "left", body.format(me="left", other="right"))
    write_study(tmp_path, "r.ipynb", "right", body.format(me="right", other="left"))
    monkeypatch.setattr(
        studies,
        "STUDIES",
        registry(("left", "l.ipynb", ("orders",)), ("right", "r.ipynb", ("orders",))),
    )
    monkeypatch.setattr(config, "NOTEBOOK_DIR", tmp_path)
    code = report.run_report(
        source=str(tiny_wh), out=tmp_path / "rep", workers=2, stream=io.StringIO()
    )
    statuses = {
        s["id"]: (s["status"], s["reason"])
        for s in manifest({"dir": tmp_path / "rep" / "2024-Q4"})["studies"]
    }
    assert statuses == {"left": ("ok", None), "right": ("ok", None)}
    assert code == 0


@pytest.mark.parametrize(
    ("kv", "expected"),
    [
        (["nope=1"], r"unknown parameter 'nope'.*alpha: n"),
        (
            ["region=Atlantis"],
            r"unknown region 'Atlantis'; known values in orders, reps: North, South",
        ),
        (["team=Gamma"], r"unknown team 'Gamma'; known values in reps: Alpha, Beta"),
        (["n=seven"], r"parameter n: 'seven' is not a whole number"),
        (["as_of=yesterday"], r"as_of: 'yesterday' is not a date"),
        (["currency=dollars"], r"currency: 'dollars' is not a 3-letter code"),
        (["output_dir=/tmp/x"], r"output_dir is set by the runner"),
        (["novalue"], r"expected KEY=VALUE"),
    ],
)
def test_parameters_are_checked_before_any_study_runs(
    kv, expected, tiny_wh, nb_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(studies, "STUDIES", REG)
    monkeypatch.setattr(config, "NOTEBOOK_DIR", nb_dir)
    with pytest.raises(ParameterError, match=expected):
        report.run_report(
            source=str(tiny_wh), out=tmp_path / "rep", params_kv=kv, stream=io.StringIO()
        )
    assert not (tmp_path / "rep").exists() or not list((tmp_path / "rep").iterdir())


def test_bad_period_and_unknown_study_are_rejected(tiny_wh, nb_dir, monkeypatch):
    monkeypatch.setattr(studies, "STUDIES", REG)
    monkeypatch.setattr(config, "NOTEBOOK_DIR", nb_dir)
    with pytest.raises(ParameterError, match="expected a quarter"):
        report.plan_report(source=str(tiny_wh), period="Q3-2024")
    with pytest.raises(ParameterError, match="unknown study 'zeta'; studies: alpha, beta"):
        report.plan_report(source=str(tiny_wh), only=["zeta"])
    plan = report.plan_report(source=str(tiny_wh), period="2024-06", only=["gamma"])
    assert plan.period.label == "2024-06" and [j.study.id for j in plan.jobs] == ["gamma"]


def test_hostile_values_are_rejected_and_the_data_is_untouched(
    tiny_wh, nb_dir, tmp_path, monkeypatch
):
    monkeypatch.setattr(studies, "STUDIES", REG)
    monkeypatch.setattr(config, "NOTEBOOK_DIR", nb_dir)
    hostile = "'; DROP TABLE orders; --"
    for key in ("region", "team", "channel"):
        with pytest.raises(ParameterError, match=f"unknown {key}"):
            report.run_report(source=str(tiny_wh), out=tmp_path, params_kv=[f"{key}={hostile}"])
    with pytest.raises(ParameterError):
        report.run_report(source=str(tiny_wh), out=tmp_path, period=hostile)
    with pytest.raises(ParameterError, match="single line"):
        report.coerce("x\nimport os", "str", "label")
    con = duckdb.connect(str(tiny_wh), read_only=True)
    assert con.execute("SELECT count(*) FROM orders").fetchone() == (48,)
    con.close()


def test_params_file_and_type_coercion(tmp_path):
    assert report.coerce("7", "int", "n") == 7 and report.coerce(7, "float", "x") == 7.0
    assert [report.coerce(v, "bool", "b") for v in ("yes", "0", True, "FALSE")] == [
        True,
        False,
        True,
        False,
    ]
    assert report.coerce("North, South", "list[str]", "r") == ["North", "South"]
    for value, typ in (("1.5", "int"), ("true", "int"), ("nan", "float"), ("maybe", "bool")):
        with pytest.raises(ParameterError):
            report.coerce(value, typ, "p")
    f = tmp_path / "p.yaml"
    f.write_text("n: 4\nregion: North\n")
    assert report._read_params(["n=5"], f) == {"n": "5", "region": "North"}  # -p wins over the file
    f.write_text("- not a mapping\n")
    with pytest.raises(InputError, match="KEY: VALUE"):
        report._read_params([], f)


def test_parse_parameters_cell():
    params = report.parse_parameters(
        'source: str = ""  # warehouse\n'
        "\n"
        "alpha: float = 0.05  # significance level\n"
        'mark: str = "#1 = best"  # a hash and an equals sign inside the default\n'
        "top_n: int = 10  # how many; 0 = all\n"
    )
    assert [p.as_dict() for p in params] == [
        {"name": "source", "type": "str", "default": "", "help": "warehouse"},
        {"name": "alpha", "type": "float", "default": 0.05, "help": "significance level"},
        {
            "name": "mark",
            "type": "str",
            "default": "#1 = best",
            "help": "a hash and an equals sign inside the default",
        },
        {"name": "top_n", "type": "int", "default": 10, "help": "how many; 0 = all"},
    ]
    for bad, why in (
        ("x = 1  # untyped", "expected 'name: type = default"),
        ("x: int = 1", "no '# help' comment"),
        ("x: int = len('ab')  # call", "not a literal"),
        ("x: dict = {}  # mapping", "type 'dict' is not one of"),
    ):
        with pytest.raises(InputError, match=why):
            report.parse_parameters(bad)


def test_describe_studies_lists_the_registry_with_parameters():
    rows = {r["id"]: r for r in report.describe_studies()}
    assert list(rows) == list(studies.STUDIES)
    dq = rows["data-quality"]
    assert dq["available"] and dq["needs"] == [] and dq["notebook"] == "00-data-quality.ipynb"
    names = [p["name"] for p in dq["parameters"]]
    assert names[: len(studies.COMMON_PARAMETERS)] == list(studies.COMMON_PARAMETERS)
    assert {"name": "max_discount", "type": "float", "default": 0.5}.items() <= dq["parameters"][
        8
    ].items()
    for r in rows.values():
        assert r["available"] == (config.NOTEBOOK_DIR / r["notebook"]).exists()


def test_bundled_alert_rules_parse_and_bad_rules_are_named(tmp_path):
    rules = report.load_alert_rules()
    keys = {(r["study"], r["key"], r["op"], r["value"]) for r in rules}
    assert ("performance", "attainment_company", "<", 0.8) in keys
    assert ("funnel", "pipeline_coverage", "<", 3.0) in keys
    assert ("service", "sla_breach_rate", ">", 0.05) in keys
    assert ("performance", "discount_breaches", ">", 0) in keys
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "# my rules\n- {study: a, key: b, op: '<', value: 1}\n- {study: a, key: b, op: '=<', value: 1}\n"
    )
    with pytest.raises(InputError, match=r"bad.yaml, line 3: item 2.op: Input should be '<'"):
        report.load_alert_rules(bad)
    bad.write_text("- {study: a, key: b, op: '<', valu: 1}\n")
    with pytest.raises(InputError, match=r"bad.yaml, line 1: item 1.value: Field required"):
        report.load_alert_rules(bad)
    res = report.evaluate_alerts(
        [{"study": "a", "key": "k", "op": ">", "value": 0, "message": "m"}], {"a": {"k": "text"}}
    )
    assert res[0]["status"] == "not evaluated" and "cannot be compared" in res[0]["reason"]


def test_publish_swaps_and_stale_work_folders_are_cleaned(tmp_path):
    final, staging = tmp_path / "2024-Q4", tmp_path / ".staging-2024-Q4-1"
    final.mkdir()
    (final / "index.html").write_text("old")
    staging.mkdir()
    (staging / "index.html").write_text("new")
    report.publish(staging, final)
    assert (final / "index.html").read_text() == "new"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-Q4"]
    # a run killed between its two renames: the set-aside report comes back
    dead = _dead_pid()
    (tmp_path / f".staging-2024-Q3-{dead}").mkdir()
    os.rename(final, tmp_path / f".old-2024-Q4-{dead}")
    report.clean_stale(tmp_path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["2024-Q4"]
    assert (final / "index.html").read_text() == "new"


def _dead_pid() -> int:
    p = subprocess.Popen([sys.executable, "-c", "pass"])
    p.wait()
    return p.pid


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(folder)): p.read_bytes() for p in sorted(folder.rglob("*")) if p.is_file()
    }


def test_a_run_killed_mid_way_leaves_the_last_good_report_in_place(tiny_wh, tmp_path, monkeypatch):
    nbs = tmp_path / "nbs"
    nbs.mkdir()
    write_study(nbs, "c.ipynb", "gamma", GAMMA)
    write_study(
        nbs,
        "s.ipynb",
        "slow",
        "import os, time\n"
        'ctx.artifact("started.flag").write_text(str(os.getpid()))\ntime.sleep(300)',
    )
    out = tmp_path / "reports"
    monkeypatch.setattr(studies, "STUDIES", registry(("gamma", "c.ipynb", ("orders",))))
    monkeypatch.setattr(config, "NOTEBOOK_DIR", nbs)
    assert report.run_report(source=str(tiny_wh), out=out, workers=1, stream=io.StringIO()) == 0
    good = _snapshot(out / "2024-Q4")
    assert "index.html" in good and "gamma.json" in good

    script = tmp_path / "run.py"
    script.write_text(
        textwrap.dedent(f"""
        import sys
        from pathlib import Path
        from salesnb import config, studies
        config.NOTEBOOK_DIR = Path({str(nbs)!r})
        studies.STUDIES = {{s.id: s for s in [studies.Study("gamma", "c.ipynb", "Gamma", ("orders",)),
                                              studies.Study("slow", "s.ipynb", "Slow", ("orders",))]}}
        from salesnb.cli import main
        sys.exit(main(["report", "--source", {str(tiny_wh)!r}, "--out", {str(out)!r}, "--workers", "2"]))
    """)
    )
    proc = subprocess.Popen(
        [sys.executable, str(script)],
        start_new_session=True,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while not list(out.glob(".staging-*/started.flag")):
            assert proc.poll() is None, "the run ended before the slow study started"
            assert time.monotonic() < deadline, "the slow study never started"
            time.sleep(0.1)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    assert _snapshot(out / "2024-Q4") == good  # byte-for-byte the last good report
    kernel = int(next(out.glob(".staging-*/started.flag")).read_text())
    deadline = time.monotonic() + 60
    while report._pid_alive(kernel) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert not report._pid_alive(kernel), "the killed run's kernel is still running"

    assert list(out.glob(".staging-*")), "the killed run's staging folder should still be there"

    assert report.run_report(source=str(tiny_wh), out=out, workers=1, stream=io.StringIO()) == 0
    assert sorted(p.name for p in out.iterdir()) == ["2024-Q4"]  # stale staging cleaned


def test_cli_turns_a_parameter_error_into_one_line(tiny_wh, capsys):
    from salesnb.cli import main

    code = main(["report", "--source", str(tiny_wh), "-p", "region=Atlantis"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2
    assert err == ["salesnb: unknown region 'Atlantis'; known values in orders, reps: North, South"]


def test_cli_studies_lists_parameters(capsys):
    from salesnb.cli import main

    assert main(["studies", "--json"]) == 0
    rows = json.loads(capsys.readouterr().out)
    assert [r["id"] for r in rows] == list(studies.STUDIES)


def test_the_parameters_parser_agrees_with_papermill_on_every_study():
    """Our strict parser and papermill's own inspection read every study's cell the same."""
    import ast

    import papermill as pm

    for s in studies.STUDIES.values():
        ours = report.notebook_parameters(s.path)
        theirs = pm.inspect_notebook(str(s.path))
        assert [p.name for p in ours] == list(theirs), s.id
        for p in ours:
            t = theirs[p.name]
            assert (p.type, p.default, p.help) == (
                t["inferred_type_name"],
                ast.literal_eval(t["default"]),
                t["help"],
            ), (s.id, p.name)


def test_config_files_name_the_file_line_and_field(tmp_path):
    """One error style for every YAML a user writes (configfile.load)."""
    from typing import Literal

    from salesnb import configfile

    class Tier(configfile.Strict):
        rate: float

    class Plan(configfile.Strict):
        name: str
        kind: Literal["flat", "tiered"]
        tiers: list[Tier] = []

    f = tmp_path / "plan.yaml"
    f.write_text("name: x\nkind: tiered\ntiers:\n  - {rate: 0.1}\n  - {rate: lots}\n")
    with pytest.raises(InputError, match=r"plan.yaml, line 5: tiers\[1\].rate: Input should be"):
        configfile.load(f, Plan)
    f.write_text("name: x\nkind: flat\ncolour: red\n")
    with pytest.raises(InputError, match=r"plan.yaml, line 3: colour: unknown key \(expected"):
        configfile.load(f, Plan)
    f.write_text("name: [x\n")
    with pytest.raises(InputError, match=r"plan.yaml, line 2: not valid YAML"):
        configfile.load(f, Plan)
    with pytest.raises(InputError, match="no such file"):
        configfile.load(tmp_path / "none.yaml", Plan)
    f.write_text("name: ok\nkind: flat\n")
    assert configfile.load(f, Plan).kind == "flat"
