"""Run every study with papermill and publish one report folder per period.

``run_report`` is what ``salesnb report`` calls:

1. **check** the parameters before any study runs: the source opens, the
   period parses, region / team / channel are values the data knows, every
   ``-p KEY=VALUE`` is declared by a selected study's ``parameters`` cell and
   is coerced to the declared type, the alert rules parse;
2. **run** the selected studies in parallel (one worker per core by default)
   through papermill's Python API into a staging folder
   ``<reports>/.staging-<period>-<pid>/``; a study that fails is published as
   failed with its partially executed notebook and does not stop the others;
   a study whose notebook or needed tables are missing is ``skipped``;
3. **export** each executed notebook to a self-contained HTML page (code
   hidden, images inline, no script or stylesheet fetched from the network);
4. **publish** ``index.html``, ``manifest.json`` and ``alerts.json`` and swap
   the staging folder into ``<reports>/<period>/`` with renames, so a crash
   never leaves a half-written folder where the last good report was.

Kernels are forked from a server that imported the analysis stack once
(see "warm kernels" below), which removes most of the per-study start-up
cost; ``SALESNB_WARM_KERNELS=0`` starts plain ``python3`` kernels instead.
"""

from __future__ import annotations

import ast
import contextlib
import datetime as dt
import gc
import html
import io
import json
import math
import operator
import os
import re
import shutil
import sys
import threading
import time
import tokenize
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb import __version__, config, studies
from salesnb.errors import InputError, ParameterError, SalesnbError

KERNEL_NAME = "python3"
TEMPLATES_DIR = Path(__file__).resolve().parent / "templates"
DEFAULT_ALERTS = Path(__file__).resolve().parent / "alerts" / "default.yaml"
# A cell that runs longer than this is stuck, not slow: the study is failed and the run goes on.
CELL_TIMEOUT_S = int(os.environ.get("SALESNB_CELL_TIMEOUT", "1800"))
# Parameters the runner decides for every study; a user sets them through run_report's own options.
RUNNER_PARAMETERS = ("source", "output_dir")
TYPES = {"str": str, "int": int, "float": float, "bool": bool, "list[str]": list}
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


def _skip_iri_grammar() -> None:
    """Keep jsonschema from building its IRI grammars in this process (~0.9 s of CPU).

    nbformat validates notebooks with jsonschema, whose format checkers import
    ``rfc3987_syntax`` when it is installed (``jsonschema[format-nongpl]``, pulled in by
    Jupyter); that module compiles ~35 Earley parsers at import, and no notebook schema
    uses the ``iri`` formats they check (python-jsonschema/jsonschema#1428, still eager in
    4.26). Marking the module absent makes jsonschema skip those two checkers, as it does
    wherever the package is not installed. Only this process is affected, and only when
    jsonschema has not been imported yet.
    """
    if "jsonschema._format" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


_skip_iri_grammar()


# --------------------------------------------------------------------------- parameters cell


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: object
    help: str

    def as_dict(self) -> dict:
        return {"name": self.name, "type": self.type, "default": self.default, "help": self.help}


def parameters_cell(nb) -> tuple[int, str]:
    """Index and source of the one cell tagged ``parameters`` (InputError when not exactly one)."""
    found = [
        (i, c)
        for i, c in enumerate(nb.cells)
        if "parameters" in c.get("metadata", {}).get("tags", [])
    ]
    if len(found) != 1:
        raise InputError(f"expected exactly one cell tagged 'parameters', found {len(found)}")
    i, cell = found[0]
    return i, cell.source


def parse_parameters(source: str, where: str = "parameters cell") -> list[Parameter]:
    """Parse ``name: type = default  # help`` lines (literals only) into :class:`Parameter`.

    >>> parse_parameters('region: str = ""  # one region, empty for all')[0].help
    'one region, empty for all'
    """
    out: list[Parameter] = []
    for lineno, line in enumerate(source.splitlines(), 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        code, comment = _split_comment(line)
        try:
            node = ast.parse(code.strip()).body[0]
        except (SyntaxError, IndexError) as exc:
            raise InputError(
                f"{where}, line {lineno}: not Python ({exc.__class__.__name__})"
            ) from None
        if (
            not isinstance(node, ast.AnnAssign)
            or not isinstance(node.target, ast.Name)
            or node.value is None
        ):
            raise InputError(
                f"{where}, line {lineno}: expected 'name: type = default  # help', got {line!r}"
            )
        type_name = ast.unparse(node.annotation)
        if type_name not in TYPES:
            raise InputError(
                f"{where}, line {lineno}: type {type_name!r} is not one of {', '.join(TYPES)}"
            )
        try:
            default = ast.literal_eval(node.value)
        except ValueError:
            raise InputError(
                f"{where}, line {lineno}: the default of {node.target.id} is not a literal"
            ) from None
        if comment is None:
            raise InputError(f"{where}, line {lineno}: {node.target.id} has no '# help' comment")
        out.append(Parameter(node.target.id, type_name, default, comment))
    return out


def _split_comment(line: str) -> tuple[str, str | None]:
    """Split a line into code and the text of its trailing comment (tokenize knows about strings)."""
    try:
        for tok in tokenize.generate_tokens(io.StringIO(line).readline):
            if tok.type == tokenize.COMMENT:
                return line[: tok.start[1]], tok.string.lstrip("#").strip()
    except (tokenize.TokenError, IndentationError):
        pass
    return line, None


def notebook_parameters(path: Path) -> list[Parameter]:
    import nbformat

    nb = nbformat.read(str(path), as_version=4)
    try:
        _, source = parameters_cell(nb)
    except InputError as exc:
        raise InputError(f"{path.name}: {exc}") from None
    return parse_parameters(source, where=f"{path.name} parameters cell")


def describe_studies() -> list[dict]:
    """Every registered study with the parameters its notebook declares (backs ``salesnb studies``)."""
    rows = []
    for s in studies.STUDIES.values():
        present = s.path.exists()
        params = [p.as_dict() for p in notebook_parameters(s.path)] if present else []
        rows.append(
            {
                "id": s.id,
                "title": s.title,
                "notebook": s.notebook,
                "needs": list(s.needs),
                "needs_one_of": list(s.needs_one_of),
                "uses": list(s.uses),
                "available": present,
                "parameters": params,
            }
        )
    return rows


def coerce(value, type_name: str, name: str):
    """Coerce a command-line or YAML value to the declared type (ParameterError naming ``name``)."""

    def bad(expected):
        return ParameterError(f"parameter {name}: {str(value)[:60]!r} is not {expected}")

    if type_name == "str":
        if isinstance(value, (dict, list)):
            raise bad("a text value")
        text = str(value)
        if _CONTROL_CHARS.search(text):
            raise bad("a single line of text")
        return text
    if type_name == "bool":
        if isinstance(value, bool):
            return value
        text = str(value).strip().lower()
        if text in ("1", "true", "yes", "on"):
            return True
        if text in ("0", "false", "no", "off"):
            return False
        raise bad("true or false")
    if type_name == "int":
        if isinstance(value, bool):
            raise bad("a whole number")
        if isinstance(value, int):
            return value
        try:
            return int(str(value).strip())
        except ValueError:
            raise bad("a whole number") from None
    if type_name == "float":
        if isinstance(value, bool):
            raise bad("a number")
        try:
            out = float(str(value).strip()) if not isinstance(value, (int, float)) else float(value)
        except ValueError:
            raise bad("a number") from None
        if not math.isfinite(out):
            raise bad("a finite number")
        return out
    if type_name == "list[str]":
        items = value if isinstance(value, list) else [v for v in str(value).split(",")]
        return [coerce(v, "str", name).strip() for v in items if str(v).strip()]
    raise bad(type_name)  # pragma: no cover - parse_parameters admits only TYPES


# --------------------------------------------------------------------------- alerts


OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


def load_alert_rules(path: Path | None = None) -> list[dict]:
    """Rules ``{study, key, op, value, message}`` from YAML (the bundled rules by default)."""
    path = Path(path) if path else DEFAULT_ALERTS
    try:
        rules = yaml.safe_load(path.read_text(encoding="utf-8")) or []
    except FileNotFoundError:
        raise InputError(f"{path}: no such alert rules file") from None
    except yaml.YAMLError as exc:
        raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
    if isinstance(rules, dict) and "rules" in rules:
        rules = rules["rules"]
    if not isinstance(rules, list):
        raise InputError(f"{path}: expected a list of rules")
    out = []
    for i, r in enumerate(rules, 1):
        if not isinstance(r, dict) or not {"study", "key", "op", "value"} <= set(r):
            raise InputError(f"{path}: rule {i} needs study, key, op and value")
        if r["op"] not in OPS:
            raise InputError(f"{path}: rule {i}: op {r['op']!r} is not one of {' '.join(OPS)}")
        out.append(
            {
                "study": str(r["study"]),
                "key": str(r["key"]),
                "op": r["op"],
                "value": r["value"],
                "message": str(
                    r.get("message") or f"{r['study']}.{r['key']} {r['op']} {r['value']}"
                ),
            }
        )
    return out


def evaluate_alerts(rules: list[dict], figures: dict[str, dict]) -> list[dict]:
    """Evaluate rules on ``figures`` ({study: headline dict}); each result has a ``status``.

    ``alert`` when the condition holds, ``ok`` when it does not, ``not evaluated``
    (with the reason) when the study did not run or its figures lack the key.
    """
    results = []
    for r in rules:
        res = dict(r, actual=None, status="not evaluated", reason=None)
        heads = figures.get(r["study"])
        if heads is None:
            res["reason"] = f"study {r['study']} has no figures in this run"
        elif heads.get(r["key"]) is None:
            res["reason"] = f"{r['study']} has no {r['key']}"
        else:
            actual = heads[r["key"]]
            res["actual"] = actual
            try:
                fired = OPS[r["op"]](actual, r["value"])
            except TypeError:
                res["reason"] = f"{r['key']}={actual!r} cannot be compared with {r['value']!r}"
            else:
                res["status"] = "alert" if fired else "ok"
        results.append(res)
    return results


# --------------------------------------------------------------------------- planning


@dataclass
class Job:
    study: studies.Study
    parameters: dict = field(default_factory=dict)
    status: str = "pending"  # ok | failed | skipped
    reason: str | None = None
    period: str = ""  # the period this study reports on
    period_reason: str = ""  # why that period (given, or the default and what decided it)
    duration_s: float | None = None
    headline: dict = field(default_factory=dict)
    files: dict = field(default_factory=dict)


@dataclass
class Plan:
    source: str
    source_description: str
    period: object  # salesnb.periods.Period
    common: dict
    jobs: list[Job]
    fingerprint: str
    tables: list[str]
    given: dict
    period_reason: str = ""


def _read_params(params_kv, params_file) -> dict:
    given: dict = {}
    if params_file:
        path = Path(params_file)
        try:
            data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
        except FileNotFoundError:
            raise InputError(f"{path}: no such parameters file") from None
        except yaml.YAMLError as exc:
            raise InputError(f"{path}: not valid YAML ({str(exc).splitlines()[0]})") from None
        if not isinstance(data, dict):
            raise InputError(f"{path}: expected KEY: VALUE lines")
        given.update({str(k): v for k, v in data.items()})
    for kv in params_kv or []:
        key, sep, value = str(kv).partition("=")
        if not sep or not key.strip():
            raise ParameterError(f"-p {kv!r}: expected KEY=VALUE")
        given[key.strip()] = value
    return given


class _RowCounter:
    """Rows per (table, period) of the studies' dated tables, counted once while connected."""

    def __init__(self, src):
        self.src, self.counts, self.spans = src, {}, {}

    def count(self, study, period) -> None:
        from salesnb.study import date_span, rows_in_period

        tables = [t for t in study.dated_tables if (t, period.label) not in self.counts]
        for t, n in rows_in_period(self.src, period, tables).items():
            self.counts[(t, period.label)] = n
            self.spans[t] = date_span(self.src, t)


def _no_rows(rows: _RowCounter, study, period) -> str | None:
    """Why ``study`` has nothing to say about ``period`` (None when one of its tables has rows)."""
    seen = {
        t: rows.counts[(t, period.label)]
        for t in study.dated_tables
        if (t, period.label) in rows.counts
    }
    if not seen or any(seen.values()):
        return None
    spans = "; ".join(
        f"{t} from {rows.spans[t][0]} to {rows.spans[t][1]}" for t in seen if rows.spans.get(t)
    )
    return f"no rows of {', '.join(seen)} in {period.label} ({spans or 'no dated rows'})"


def plan_report(source=None, period=None, only=None, params_kv=(), params_file=None) -> Plan:
    """Check everything that can be checked before a study runs; raise ParameterError/InputError."""
    from salesnb.source import connect
    from salesnb.study import check_filters, default_currency, default_period_why, resolve_period

    given = _read_params(params_kv, params_file)
    for key in RUNNER_PARAMETERS:
        if key in given and key != "source":
            raise ParameterError(
                f"parameter {key} is set by the runner; use --out for the reports folder"
            )
    source = source or given.pop("source", None) or config.default_source()
    given.pop("source", None)
    if period is None and "period" in given:
        period = given.pop("period")
    given.pop("period", None)

    selected = list(studies.STUDIES.values())
    if only:
        unknown = [s for s in only if s not in studies.STUDIES]
        if unknown:
            raise ParameterError(
                f"unknown study {unknown[0]!r}; studies: {', '.join(studies.STUDIES)}"
            )
        selected = [studies.STUDIES[s] for s in dict.fromkeys(only)]

    declared: dict[str, list[Parameter]] = {
        s.id: notebook_parameters(s.path) for s in selected if s.path.exists()
    }
    own_names = {p.name for ps in declared.values() for p in ps} - set(studies.COMMON_PARAMETERS)
    for key in given:
        if key not in studies.COMMON_PARAMETERS and key not in own_names:
            listing = "; ".join(
                f"{sid}: {', '.join(p.name for p in ps if p.name not in studies.COMMON_PARAMETERS) or '-'}"
                for sid, ps in declared.items()
            )
            raise ParameterError(
                f"unknown parameter {key!r}: no selected study declares it. Shared parameters: "
                f"{', '.join(p for p in studies.COMMON_PARAMETERS if p not in RUNNER_PARAMETERS)}; "
                f"study parameters: {listing or 'none'}"
            )

    common = {}
    for key in ("as_of", "region", "team", "channel", "currency"):
        common[key] = (
            coerce(given.get(key, ""), "str", key).strip() if given.get(key) is not None else ""
        )
    if common["as_of"]:
        try:
            common["as_of"] = str(dt.date.fromisoformat(common["as_of"]))
        except ValueError:
            raise ParameterError(
                f"parameter as_of: {common['as_of'][:40]!r} is not a date (YYYY-MM-DD)"
            ) from None
    if common["currency"] and not _CURRENCY.match(common["currency"]):
        raise ParameterError(
            f"parameter currency: {common['currency'][:40]!r} is not a 3-letter code like EUR"
        )

    src = connect(source)
    try:
        check_filters(
            src, common["region"] or None, common["team"] or None, common["channel"] or None
        )
        per_study: dict[str, tuple[object, str]] = {}
        if period:
            label = coerce(period, "str", "period")
            p = resolve_period(src, label, common["as_of"] or None)
            why = (
                f"given ({label})"
                if label.strip().lower() != "all"
                else (f"given (all: {p.start} to {p.last_day})")
            )
        else:
            # each study reports on the last complete quarter with data in its own tables
            for s in selected:
                if s.missing(src.tables):
                    continue
                try:
                    per_study[s.id] = default_period_why(
                        src, common["as_of"] or None, s.dated_tables
                    )
                except ParameterError as exc:
                    per_study[s.id] = (None, str(exc))
            found = [v[0] for v in per_study.values() if v[0] is not None]
            if found:
                # the run is named after the period most studies use (the latest on a tie)
                p = max(found, key=lambda q: (found.count(q), q.end))
                why = "default: the period most studies use"
            else:
                p, why = default_period_why(src, common["as_of"] or None)
        # decided once for the run (and shown in the manifest), not once per study
        common["currency"] = common["currency"] or default_currency(src)
        fingerprint = src.fingerprint()
        tables = list(src.tables)
        src_rows = _RowCounter(src)
        for s in selected:
            jp = per_study.get(s.id, (p, why))[0]
            if jp is not None and not s.missing(tables):
                src_rows.count(s, jp)
    finally:
        src.close()
    abs_source = (
        str(Path(source).expanduser().resolve()) if "://" not in str(source) else str(source)
    )

    jobs = []
    for s in selected:
        job = Job(s)
        job_period, job.period_reason = per_study.get(s.id, (p, why))
        if s.id not in declared:
            job.status, job.reason = "skipped", f"notebook notebooks/{s.notebook} not found"
        elif missing := s.missing(tables):
            job.status, job.reason = "skipped", missing
        elif job_period is None:
            job.status, job.reason = "skipped", job.period_reason
        elif empty := _no_rows(src_rows, s, job_period):
            job.period = job_period.label
            job.status, job.reason = "skipped", empty
        else:
            job.period = job_period.label
            types = {q.name: q.type for q in declared[s.id]}
            params = {"source": abs_source, "period": job_period.label, **common}
            for key, value in given.items():
                if key in types and key not in studies.COMMON_PARAMETERS:
                    params[key] = coerce(value, types[key], key)
            job.parameters = params
        jobs.append(job)
    shown_given = {k: v for k, v in given.items()}
    return Plan(abs_source, str(source), p, common, jobs, fingerprint, tables, shown_given, why)


# --------------------------------------------------------------------------- execution


_EXPORTERS = threading.local()


def _exporter():
    """One HTML exporter per thread: building one compiles the templates (~0.2 s), and
    exporters are not shared across threads.

    nbconvert's HTMLExporter re-parses the page it rendered with BeautifulSoup (the inlined
    JupyterLab CSS and every chart included) only to add a generic alt text to images and
    tabindex attributes: about 40% of the export's CPU. The study template writes the chart
    titles as alt text itself, so the page is taken as rendered.
    """
    exporter = getattr(_EXPORTERS, "html", None)
    if exporter is None:
        from nbconvert import HTMLExporter
        from nbconvert.exporters.templateexporter import TemplateExporter
        from nbconvert.filters.highlight import Highlight2HTML
        from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

        class StudyExporter(HTMLExporter):
            def from_notebook_node(self, nb, resources=None, **kw):
                lang = nb.metadata.get("language_info", {})
                lexer = lang.get("pygments_lexer", lang.get("name"))
                resources = self._init_resources(resources)
                self.register_filter(
                    "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
                )
                self.register_filter(
                    "filter_data_type",
                    WidgetsDataTypeFilter(
                        notebook_metadata=self._nb_metadata, parent=self, resources=resources
                    ),
                )
                return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

        exporter = _EXPORTERS.html = StudyExporter(
            template_name="lab",
            extra_template_paths=[str(TEMPLATES_DIR)],
            template_file="study.html.j2",
            exclude_input=True,
            exclude_input_prompt=True,
            exclude_output_prompt=True,
            embed_images=True,
        )
    return exporter


def _export_html(nb_path: Path, html_path: Path, title: str, banner: str) -> None:
    """Self-contained HTML of an executed notebook: code hidden, images inline, nothing fetched."""
    import nbformat

    nb = nbformat.read(str(nb_path), as_version=4)
    nb.metadata["title"] = title
    nb.metadata.pop("widgets", None)  # widget state would pull the widget manager from a CDN
    body, _ = _exporter().from_notebook_node(nb, resources={"salesnb_banner": banner})
    html_path.write_text(strip_network_refs(body), encoding="utf-8")


def _prewarm() -> None:
    """Import papermill / nbconvert while the first kernels start, not after the first study;
    then export a tiny notebook: the first export imports the Markdown and highlighting stack
    (~0.5 s of CPU, better spent while the kernel server is still importing than later,
    when every core runs a study)."""
    with contextlib.suppress(Exception):
        import nbconvert  # noqa: F401
        import papermill  # noqa: F401

        _register_engine()

        import nbformat

        v4 = nbformat.v4
        table = "<table><tr><th>a&nbsp;b</th></tr><tr><td>1&amp;2</td></tr></table>"
        cell = v4.new_code_cell(
            "x",
            outputs=[
                v4.new_output("stream", name="stdout", text="x\n"),
                v4.new_output("display_data", {"text/markdown": "**x**", "text/plain": "x"}),
                v4.new_output("execute_result", {"text/html": table, "text/plain": "x"}),
            ],
        )
        nb = v4.new_notebook(cells=[v4.new_markdown_cell("# x\n\n*x* `x`"), cell])
        nb.metadata["kernelspec"] = {
            "name": KERNEL_NAME,
            "display_name": "Python 3",
            "language": "python",
        }
        _exporter().from_notebook_node(nb, resources={"salesnb_banner": ""})


_NETWORK_REF = re.compile(
    r"<(script|link|img|iframe)\b[^>]*\b(src|href)\s*=\s*[\"']?(https?:)?//[^>]*>(\s*</\1>)?", re.I
)


def strip_network_refs(text: str) -> str:
    """Remove any element that would fetch a script, stylesheet or image from the network."""
    return _NETWORK_REF.sub("", text)


def _run_job(job: Job, staging: Path, on_cell=None) -> None:
    """Execute one study into ``staging``; never raises (the outcome is recorded on ``job``)."""
    import papermill as pm
    from papermill.exceptions import PapermillExecutionError

    _register_engine()
    nb_out = staging / f"{job.study.id}.ipynb"
    t0 = time.monotonic()
    try:
        pm.execute_notebook(
            str(job.study.path),
            str(nb_out),
            parameters={**job.parameters, "output_dir": str(staging)},
            kernel_name=KERNEL_NAME,
            engine_name=ENGINE_NAME,
            progress_bar=False,
            request_save_on_cell_execute=False,
            log_output=False,
            execution_timeout=CELL_TIMEOUT_S,
            start_timeout=120,
            cwd=None,  # the kernel is started in `staging` (cwd is per process; studies run in threads)
            kernel_cwd=str(staging),
            on_cell=on_cell,
            failsafe_path=str(nb_out),
        )
        job.status = "ok"
    except PapermillExecutionError as exc:
        job.status = "failed"
        job.reason = f"cell {exc.exec_count}: {exc.ename}: {_one_line(exc.evalue)}"
    except Exception as exc:  # kernel died, timed out, could not start: still publish the rest
        job.status = "failed"
        job.reason = f"{type(exc).__name__}: {_one_line(str(exc))}"
    job.duration_s = round(time.monotonic() - t0, 2)

    result = staging / f"{job.study.id}.json"
    if result.exists():
        try:
            job.headline = json.loads(result.read_text(encoding="utf-8"))
            job.files["json"] = result.name
        except ValueError:
            job.status, job.reason = "failed", f"{result.name} is not valid JSON"
    elif job.status == "ok":
        job.status = "failed"
        job.reason = f"the notebook finished without writing {result.name} (ctx.save() not reached)"
    if nb_out.exists():
        job.files["notebook"] = nb_out.name
        banner = _banner(job)
        try:
            _export_html(nb_out, staging / f"{job.study.id}.html", job.study.title, banner)
            job.files["html"] = f"{job.study.id}.html"
        except Exception as exc:  # an unexportable notebook is still published as .ipynb
            job.status = "failed"
            job.reason = (job.reason + "; " if job.reason else "") + f"HTML export failed: {exc}"


def _one_line(text: str, limit: int = 300) -> str:
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(text))  # ANSI colours from tracebacks
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _banner(job: Job) -> str:
    p = job.parameters
    bits = [f"period {p.get('period', '')} ({job.period_reason})"] + [
        f"{k} {p[k]}" for k in ("region", "team", "channel", "as_of", "currency") if p.get(k)
    ]
    state = (
        ""
        if job.status == "ok"
        else f" — <strong>{html.escape(job.status.upper())}</strong>: "
        + html.escape(job.reason or "")
    )
    return (
        f'<a href="index.html">← all studies</a> · {html.escape(job.study.title)} · '
        f"{html.escape(', '.join(bits))}{state}"
    )


class _Progress:
    """A rich progress bar per study on a terminal; plain ``study <id> <status> <s>`` lines otherwise."""

    def __init__(self, jobs: list[Job], stream=None):
        self.stream = stream or sys.stderr
        self.live = bool(getattr(self.stream, "isatty", lambda: False)()) and not os.environ.get(
            "CI"
        )
        self.lock = threading.Lock()
        self.tasks, self.totals = {}, {}
        self.progress = None
        if self.live:
            from rich.console import Console
            from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn

            self.progress = Progress(
                TextColumn("{task.fields[study]:<14}"),
                BarColumn(),
                TextColumn("{task.fields[state]}"),
                TimeElapsedColumn(),
                console=Console(file=self.stream),
            )

    def __enter__(self):
        if self.progress:
            self.progress.start()
        return self

    def __exit__(self, *exc):
        if self.progress:
            self.progress.stop()

    def add(self, job: Job, cells: int):
        self.totals[job.study.id] = max(cells, 1)
        if self.progress:
            self.tasks[job.study.id] = self.progress.add_task(
                "", total=max(cells, 1), study=job.study.id, state="waiting", start=False
            )

    def started(self, job: Job):
        if self.progress:
            tid = self.tasks[job.study.id]
            self.progress.start_task(tid)
            self.progress.update(tid, state="running")

    def cell(self, job: Job, index: int):
        if self.progress:
            self.progress.update(self.tasks[job.study.id], completed=index + 1)

    def finished(self, job: Job):
        dur = f"{job.duration_s:.1f}s" if job.duration_s is not None else "-"
        if self.progress and job.study.id in self.tasks:
            tid = self.tasks[job.study.id]
            self.progress.update(
                tid, completed=self.totals[job.study.id], state=f"{job.status} {dur}"
            )
            self.progress.stop_task(tid)
            if job.status != "ok" and job.reason:
                self.progress.console.print(
                    f"{job.study.id} {job.status}: {job.reason}", markup=False, highlight=False
                )
            return
        with self.lock:
            line = f"study {job.study.id} {job.status} {dur}"
            if job.status != "ok" and job.reason:
                line += f" ({job.reason})"
            print(line, file=self.stream, flush=True)


def _last_durations(reports: Path) -> dict[str, float]:
    """Study durations of the most recently published report in ``reports`` ({} when none)."""
    manifests = sorted(
        (p for p in reports.glob("*/manifest.json") if not p.parent.name.startswith(".")),
        key=lambda p: p.stat().st_mtime,
    )
    if not manifests:
        return {}
    try:
        data = json.loads(manifests[-1].read_text(encoding="utf-8"))
        return {s["id"]: float(s["duration_s"]) for s in data["studies"] if s.get("duration_s")}
    except (ValueError, KeyError, TypeError):
        return {}


# Relative cost of each study on the demo company, for the order of a first run (no published
# report to take durations from): the long ones start first.
USUAL_COST = {
    "customers": 9.0,
    "targets": 7.0,
    "performance": 5.0,
    "data-quality": 5.0,
    "market": 4.5,
    "funnel": 4.0,
    "experiments": 3.5,
    "channels": 3.0,
    "service": 2.0,
    "expansion": 1.5,
    "risk": 1.0,
}


def default_workers() -> int:
    return max(1, os.cpu_count() or 1)


# --------------------------------------------------------------------------- warm kernels
#
# Starting a python3 kernel and importing pandas / ibis / matplotlib / statsmodels costs
# ~2.5 s of CPU per study, more than most studies spend computing. A fork server imports
# that stack once; each study gets a fresh kernel forked from it (a new process: no state
# is shared between studies), started by jupyter_client through a provisioner that asks
# the server instead of spawning `python -m ipykernel_launcher`. The server exits when
# the run ends or dies (its stdin is a pipe from the run), and its kernels follow it
# (ipykernel's parent poller), so a killed run leaves no kernels behind.

ENGINE_NAME = "salesnb"
PRELOAD = (
    # what IPKernelApp.initialize imports in each kernel
    "ipykernel.ipkernel",
    "ipykernel.zmqshell",
    "ipykernel.debugger",  # without debugpy (see _fork_server): only the module
    "IPython.core.completerlib",
    "IPython.extensions.storemagic",
    "IPython.core.debugger",
    "IPython.core.oinspect",
    "tornado.platform.asyncio",
    "sqlite3",
    "numpy",
    "pandas",
    "pyarrow",
    "duckdb",
    "ibis",
    "ibis.backends.duckdb",
    "scipy.stats",
    # the statsmodels parts the studies use (statsmodels.api would import every model family)
    "statsmodels.stats.proportion",
    "statsmodels.stats.power",
    "statsmodels.stats.oneway",
    "statsmodels.stats.contingency_tables",
    "statsmodels.tsa.statespace.sarimax",
    "statsmodels.tsa.forecasting.theta",
    "statsmodels.tsa.exponential_smoothing.ets",
    "statsmodels.tsa.seasonal",
    "matplotlib.pyplot",
    "seaborn",
    "IPython.display",
    "IPython.core.pylabtools",
    # imported before a shell exists, it leaves the kernel set-up to _inline_charts
    "matplotlib_inline.backend_inline",
    "pandas.io.formats.style",  # builds its HTML templates at import (tables shown with .style)
    "statsmodels.formula.api",
    "salesnb.study",
    "salesnb.queries",
    "salesnb.forecast",
    "salesnb.clv",
)
# Every module of these packages is preloaded too. salesnb.plots leaves the backend unpicked
# (MPLBACKEND names it); each kernel sets up inline charts itself (_inline_charts).
PRELOAD_PACKAGES = ("salesnb.metrics", "salesnb.queries", "salesnb.plots")
_SERVER: dict = {}  # {"socket": path, "proc": Popen} while warm_kernels() is active
_KERNEL_TMP: dict = {}


def _kernel_mode() -> str:
    return "forked from a warm server" if _SERVER.get("socket") else "plain python3"


@contextlib.contextmanager
def warm_kernels():
    """Run a kernel fork server for the duration of the block (no-op when disabled or unavailable)."""
    import subprocess
    import tempfile

    if os.environ.get("SALESNB_WARM_KERNELS", "1") == "0" or not hasattr(os, "fork") or _SERVER:
        yield
        return
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-k-"))
    sock = tmp / "fork.sock"
    env = dict(
        os.environ,
        MPLBACKEND=os.environ.get("MPLBACKEND", "module://matplotlib_inline.backend_inline"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "salesnb.report", "--fork-server", str(sock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    _SERVER.update(socket=str(sock), proc=proc)
    try:
        yield
    finally:
        _SERVER.clear()
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_server_now() -> None:
    """Kill a server no study will use (it would only answer its pipe after importing everything)."""
    proc = _SERVER.get("proc")
    if proc is not None:
        with contextlib.suppress(Exception):
            proc.kill()


def _fork_server(sock_path: str) -> None:
    """The server loop: bind first (clients queue while the stack imports), preload, fork on request."""
    import importlib
    import select
    import signal
    import socket

    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sock_path)
    lsock.listen(64)
    import pkgutil

    # Study kernels run unattended: no debugger. ipykernel then skips debugpy (~0.07 s of
    # import on the way to the first kernel) and the set-up of a debugger in every kernel.
    sys.modules.setdefault("debugpy", None)
    import ipykernel.kernelapp  # noqa: F401 - preloaded for the children

    for mod in PRELOAD:
        with contextlib.suppress(Exception):  # a missing optional module only costs speed
            importlib.import_module(mod)
    for pkg in PRELOAD_PACKAGES:
        with contextlib.suppress(Exception):
            for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__, pkg + "."):
                with contextlib.suppress(Exception):
                    importlib.import_module(info.name)
    with contextlib.suppress(Exception):  # first-use costs every kernel would pay again
        _warm_up()
    # Everything the server holds is shared by its kernels; frozen, their garbage collections
    # skip it (and do not copy its pages by touching it).
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([lsock, stdin], [], [])
        if stdin in ready and not os.read(stdin.fileno(), 4096):
            # the run ended or died; exit without tearing down the imported stack (~1 s that
            # the run would spend waiting): the server holds no file or state to flush
            os._exit(0)
        if lsock not in ready:
            continue
        conn, _ = lsock.accept()
        with conn:  # the server's copy; the kernel answers on its own copy
            request = json.loads(conn.makefile("rb").readline())
            pid = os.fork()
            if pid == 0:
                lsock.close()
                _kernel_child(request, conn)  # never returns


def _warm_up() -> None:
    """Pay once, in the server, what the first chart, query and table of every study cost.

    A chart in the house style loads the fonts (the CJK fallback included) and fills
    matplotlib's text caches; compiling a typical grouped query fills Ibis' and sqlglot's
    caches; a styled table compiles pandas' templates. ~0.1 s per kernel otherwise. Nothing
    is opened (no database, no file) and the matplotlib settings are restored afterwards.
    """
    import ibis
    import matplotlib
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from salesnb import plots

    with matplotlib.rc_context():
        plots.use_house_style()
        fig = Figure(figsize=(8, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.bar(["North", "South"], [1.5e6, 2.5e6], label="revenue")
        ax.plot([0, 1], [2e6, 2.2e6], marker="o", label="target")
        plots.money_axis(ax)
        ax.set_title("Warm-up 华东 " + "%")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plots.figure_svg(fig)  # the way study charts are drawn
    t = ibis.table({"d": "date", "k": "string", "v": "float64", "n": "int64"}, name="t")
    f = t.filter((t.d >= ibis.literal(pd.Timestamp("2026-01-01").date())) & (t.k == "x"))
    f = f.mutate(m=f.d.truncate("M"))
    ibis.to_sql(f.group_by(["m", "k"]).aggregate(v=f.v.sum(), n=f.n.nunique()), dialect="duckdb")
    pd.DataFrame({"a": [1.0], "b": ["x"]}).style.format({"a": "{:,.1f}"}).to_html()


def _kernel_child(request: dict, conn) -> None:
    """Become a kernel; send the pid back once its sockets are bound.

    Answering only then matters: a client that connects before the kernel has bound its
    sockets is retried by ZeroMQ 0.1 s later, its first kernel_info status messages are lost
    and jupyter_client waits 0.2 s more for IOPub before it asks again.
    """
    import signal

    code = 1
    try:
        os.setsid()  # its own process group: interrupts and kills reach the kernel and its children
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        # exit with the server (ipykernel read JPY_PARENT_PID when the server imported it)
        app = IPKernelApp.instance(parent_handle=os.getppid())
        # No input history: a study kernel is never asked for it, and parallel kernels would
        # otherwise take turns writing one SQLite file after every cell.
        app.initialize([*request["argv"], "--HistoryManager.enabled=False"])
        _inline_charts(app.shell)
        with contextlib.suppress(OSError):  # the run gave up waiting: the kernel is not used
            conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        conn.close()
        app.start()
        code = 0
    finally:
        os._exit(code)


def _inline_charts(shell) -> None:
    """Set up inline charts in a forked kernel, each figure drawn once when it is shown.

    What importing the inline backend does in a plain kernel, done here because the server
    imported that backend before any shell existed. Then pyplot's own post-execute redraw of
    every open figure is dropped: the inline backend renders and closes each figure right
    after it, so that redraw only doubled the drawing work of every chart.
    """
    backend = "module://matplotlib_inline.backend_inline"
    if os.environ.get("MPLBACKEND") != backend:
        return
    with contextlib.suppress(Exception):  # charts then start the ordinary way, on first use
        import matplotlib.pyplot as plt
        from IPython.core.pylabtools import activate_matplotlib
        from matplotlib_inline.backend_inline import configure_inline_support

        activate_matplotlib(backend)
        configure_inline_support(shell, backend)
        with contextlib.suppress(ValueError):
            shell.events.unregister("post_execute", plt._draw_all_if_interactive)
        _chart_alt_text()


def _chart_alt_text() -> None:
    """Give every inline chart its title(s) as alternative text in the output metadata
    (``alt``), which the report template writes on the image."""
    from matplotlib_inline import backend_inline

    stock = backend_inline._fetch_figure_metadata

    def with_alt(fig):
        meta = dict(stock(fig) or {})
        titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
        titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
        meta["alt"] = "; ".join(t for t in titles if t) or "Chart"
        return meta

    backend_inline._fetch_figure_metadata = with_alt


class _ForeignProcess:
    """Popen-like handle on a kernel forked by the server (not our child: poll by pid)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None and not _pid_alive(self.pid):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self):
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self):
        import signal

        self.send_signal(signal.SIGTERM)


def _ask_server(sock_path: str, request: dict) -> int:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        for _ in range(200):  # the server binds within milliseconds of starting
            try:
                s.connect(sock_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.02)
        s.sendall(json.dumps(request).encode() + b"\n")
        return int(json.loads(s.makefile("rb").readline())["pid"])


_ENGINE_LOCK = threading.Lock()


def _register_engine() -> None:
    """Register the papermill engine (idempotent): IPC kernels, warm when the server runs,
    a per-cell callback for progress, the partial notebook saved when a kernel dies."""
    with _ENGINE_LOCK:
        if _KERNEL_TMP.get("engine"):
            return
        import asyncio
        import tempfile
        import uuid
        from queue import Empty

        from jupyter_client.asynchronous import AsyncKernelClient
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.provisioning import LocalProvisioner
        from papermill.engines import NBClientEngine, papermill_engines
        from papermill.iorw import write_ipynb
        from traitlets import default

        ipc_dir = Path(tempfile.mkdtemp(prefix="salesnb-ipc-"))

        class ForkProvisioner(LocalProvisioner):
            async def launch_kernel(self, cmd, **kwargs):
                sock, server = _SERVER.get("socket"), _SERVER.get("proc")
                if not sock or "ipykernel_launcher" not in cmd or server.poll() is not None:
                    return await super().launch_kernel(cmd, **kwargs)
                cwd = str(kwargs.get("cwd") or os.getcwd())
                request = {
                    "argv": cmd[cmd.index("ipykernel_launcher") + 1 :],
                    "cwd": cwd,
                    "env": dict(kwargs.get("env") or os.environ),
                }
                try:
                    pid = await asyncio.to_thread(_ask_server, sock, request)
                except (OSError, ValueError):  # the server or the new kernel died: start it
                    return await super().launch_kernel(cmd, **kwargs)  # the ordinary way
                self.process = _ForeignProcess(pid)
                self.pid = self.pgid = pid
                self.cwd = cwd
                return self.connection_info

        class StudyKernelClient(AsyncKernelClient):
            async def wait_for_ready(self, timeout=None):
                """jupyter_client's wait for a new kernel, without its closing wait for 0.2 s of
                IOPub silence (0.2 s more on every study): the kernel_info request is done, and
                IOPub known to be connected, when the request's own 'idle' status arrives."""
                deadline = time.monotonic() + (math.inf if timeout is None else timeout)
                while True:
                    self.kernel_info()
                    try:
                        reply = await self.shell_channel.get_msg(timeout=1)
                    except Empty:
                        reply = None
                    if reply is not None and reply["msg_type"] == "kernel_info_reply":
                        request_id = reply["parent_header"].get("msg_id")
                        idle = False
                        with contextlib.suppress(Empty):  # IOPub not connected yet: ask again
                            while not idle:
                                msg = await self.iopub_channel.get_msg(timeout=0.2)
                                idle = (
                                    msg["msg_type"] == "status"
                                    and msg["content"].get("execution_state") == "idle"
                                    and msg["parent_header"].get("msg_id") == request_id
                                )
                        if idle:
                            self._handle_kernel_info_reply(reply)
                            return
                    if not await self._async_is_alive():
                        raise RuntimeError("Kernel died before replying to kernel_info")
                    if time.monotonic() > deadline:
                        raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

        class StudyKernelManager(AsyncKernelManager):
            # IPC sockets: no TCP port races between kernels started at the same moment
            transport = "ipc"

            def _ip_default(self):
                return str(ipc_dir / uuid.uuid4().hex[:12])

            @default("client_factory")
            def _study_client(self):
                return StudyKernelClient

            async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
                # a kernel exits within milliseconds of its shutdown reply; polling every 0.1 s
                # added most of that interval to every study
                await super()._async_finish_shutdown(waittime, pollinterval=0.01, restart=restart)

            async def _async_pre_start_kernel(self, **kw):
                if self.provisioner is None:
                    self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                    self.provisioner = ForkProvisioner(
                        kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
                    )
                return await super()._async_pre_start_kernel(**kw)

        class StudyEngine(NBClientEngine):
            @classmethod
            def execute_managed_notebook(
                cls,
                nb_man,
                kernel_name,
                on_cell=None,
                failsafe_path=None,
                kernel_cwd=None,
                **kwargs,
            ):
                if on_cell is not None:
                    complete = nb_man.cell_complete

                    def cell_complete(cell, cell_index=None, **kw):
                        complete(cell, cell_index=cell_index, **kw)
                        with contextlib.suppress(Exception):
                            on_cell(cell_index or 0)

                    nb_man.cell_complete = cell_complete
                kwargs.setdefault("kernel_manager_class", StudyKernelManager)
                if kernel_cwd:
                    kwargs.setdefault("resources", {"metadata": {"path": kernel_cwd}})
                try:
                    return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
                except BaseException:
                    if failsafe_path:  # papermill saves on a cell error, not when the kernel dies
                        with contextlib.suppress(Exception):
                            nb_man.notebook_complete()
                            write_ipynb(nb_man.nb, failsafe_path)
                    raise

        import atexit

        atexit.register(shutil.rmtree, ipc_dir, True)
        papermill_engines.register(ENGINE_NAME, StudyEngine)
        _KERNEL_TMP.update(engine=True, ipc_dir=ipc_dir)


# --------------------------------------------------------------------------- publishing


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


_WORK_DIR = re.compile(r"^\.(staging|old)-(?P<period>.+)-(?P<pid>\d+)$")


def clean_stale(reports: Path) -> list[Path]:
    """Remove staging / set-aside folders left by runs that died; restore a set-aside report
    when a run died between its two renames (so the last good report is never lost)."""
    removed = []
    if not reports.is_dir():
        return removed
    for p in sorted(reports.iterdir()):
        m = _WORK_DIR.match(p.name)
        if not m or not p.is_dir() or _pid_alive(int(m["pid"])) and int(m["pid"]) != os.getpid():
            continue
        final = reports / m["period"]
        if p.name.startswith(".old-") and not final.exists():
            os.rename(p, final)
            continue
        shutil.rmtree(p, ignore_errors=True)
        removed.append(p)
    return removed


def _renameat2_exchange(a: Path, b: Path) -> bool:
    """Atomically exchange two paths (Linux renameat2 RENAME_EXCHANGE); False when unsupported."""
    if not sys.platform.startswith("linux"):
        return False
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        fn = libc.renameat2
    except (OSError, AttributeError):
        return False
    at_fdcwd, rename_exchange = -100, 2
    rc = fn(at_fdcwd, os.fsencode(str(a)), at_fdcwd, os.fsencode(str(b)), rename_exchange)
    return rc == 0


def publish(staging: Path, final: Path) -> None:
    """Swap ``staging`` into ``final``: the old report stays in place until the new one replaces it."""
    old = final.parent / f".old-{final.name}-{os.getpid()}"
    if final.exists():
        if _renameat2_exchange(staging, final):
            shutil.rmtree(staging, ignore_errors=True)  # staging now holds the old report
            return
        os.rename(final, old)
    os.rename(staging, final)
    if old.exists():
        shutil.rmtree(old, ignore_errors=True)


def _fmt(key: str, value) -> str:
    if isinstance(value, bool) or value is None:
        return str(value)
    if isinstance(value, (int, float)):
        if (
            any(w in key for w in ("pct", "rate", "share", "growth", "uplift", "attainment"))
            and abs(value) <= 5
        ):
            return f"{value:.1%}"
        if isinstance(value, int) or float(value).is_integer():
            return f"{value:,.0f}"
        return f"{value:,.2f}" if abs(value) >= 100 else f"{value:.3g}"
    return str(value)


def write_index(staging: Path, manifest: dict, alerts: list[dict]) -> None:
    from jinja2 import Environment, FileSystemLoader, select_autoescape

    env = Environment(
        loader=FileSystemLoader(str(TEMPLATES_DIR)), autoescape=select_autoescape(["html", "j2"])
    )
    env.filters["fmt"] = lambda v, k="": _fmt(k, v)
    page = env.get_template("index.html.j2").render(m=manifest, alerts=alerts, max_figures=8)
    (staging / "index.html").write_text(strip_network_refs(page), encoding="utf-8")


def _write_json(path: Path, data) -> None:
    path.write_text(
        json.dumps(data, indent=2, ensure_ascii=False, default=str) + "\n", encoding="utf-8"
    )


# --------------------------------------------------------------------------- the run


def run_report(
    source=None,
    period=None,
    only=None,
    params_kv=(),
    params_file=None,
    out=None,
    workers=None,
    alerts_file=None,
    fail_on_alert=False,
    stream=None,
) -> int:
    """Run the studies and publish ``<out>/<period>/``. Returns the exit code:
    0 all studies ok or skipped (and no alert when ``fail_on_alert``), 1 otherwise.
    Raises ParameterError / InputError before anything runs when a parameter is wrong."""
    import nbformat

    started = dt.datetime.now(dt.UTC)
    t0 = time.monotonic()
    if workers and int(workers) < 1:
        raise ParameterError("workers must be at least 1")
    # The kernel server imports the analysis stack (seconds of CPU) on the other core while
    # the parameters are checked; it is stopped on the way out, whatever happens.
    pool = contextlib.ExitStack()
    pool.enter_context(warm_kernels())
    try:
        threading.Thread(target=_prewarm, daemon=True).start()
        rules = load_alert_rules(alerts_file)
        plan = plan_report(source, period, only, params_kv, params_file)
        workers = int(workers) if workers else default_workers()

        reports = Path(out) if out else config.reports_dir()
        reports.mkdir(parents=True, exist_ok=True)
        clean_stale(reports)
        staging = reports / f".staging-{plan.period.label}-{os.getpid()}"
        if staging.exists():
            shutil.rmtree(staging)
        staging.mkdir()
    except BaseException:
        _stop_server_now()
        pool.close()
        raise

    # Longest studies first (by the last published run, else by the usual cost), so no long
    # study starts last.
    last = _last_durations(reports) or USUAL_COST
    runnable = sorted(
        (j for j in plan.jobs if j.status == "pending"),
        key=lambda j: -last.get(j.study.id, float("inf")),
    )
    if not runnable:
        _stop_server_now()
        pool.close()
    progress = _Progress(plan.jobs, stream)
    for j in runnable:
        nb = nbformat.read(str(j.study.path), as_version=4)
        progress.add(j, len(nb.cells) + 1)  # + the cell papermill injects
    kernel_mode = "plain python3"
    # Parameters are checked above against our own parser; papermill's warnings about them
    # (and its INFO chatter) would only bury the one line per study a log reader needs.
    import logging

    pm_log = logging.getLogger("papermill")
    pm_level = pm_log.level
    pm_log.setLevel(logging.ERROR)
    try:
        with pool, progress:
            kernel_mode = _kernel_mode()
            for j in plan.jobs:
                if j.status == "skipped":
                    progress.add(j, 1)
                    progress.finished(j)

            def run(job: Job):
                progress.started(job)
                _run_job(job, staging, on_cell=lambda i, job=job: progress.cell(job, i))
                progress.finished(job)

            with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="study") as ex:
                list(ex.map(run, runnable))

        finished = dt.datetime.now(dt.UTC)
        figures = {j.study.id: j.headline for j in plan.jobs if j.status == "ok"}
        alert_results = evaluate_alerts(rules, figures)
        fired = [a for a in alert_results if a["status"] == "alert"]
        failed = [j for j in plan.jobs if j.status == "failed"]
        produced = {f for j in plan.jobs for f in j.files.values()}
        artefacts = sorted(
            p.name
            for p in staging.iterdir()
            if p.is_file() and p.name not in produced and not p.name.startswith(".")
        )
        manifest = {
            "salesnb_version": __version__,
            "period": plan.period.label,
            "period_start": str(plan.period.start),
            "period_end_exclusive": str(plan.period.end),
            "period_reason": plan.period_reason,
            "source": plan.source_description,
            "fingerprint": plan.fingerprint,
            "tables": plan.tables,
            "parameters": {
                "common": {**{"period": plan.period.label}, **plan.common},
                "given": plan.given,
            },
            "started_at": started.isoformat(timespec="seconds"),
            "finished_at": finished.isoformat(timespec="seconds"),
            "duration_s": round(time.monotonic() - t0, 2),
            "workers": workers,
            "kernels": kernel_mode,
            "status": "failed" if failed else "ok",
            "alerts_fired": len(fired),
            "artefacts": artefacts,
            "studies": [
                {
                    "id": j.study.id,
                    "title": j.study.title,
                    "notebook": j.study.notebook,
                    "status": j.status,
                    "reason": j.reason,
                    "duration_s": j.duration_s,
                    "period": j.period,
                    "period_reason": j.period_reason,
                    "parameters": {k: v for k, v in j.parameters.items() if k != "output_dir"},
                    "files": j.files,
                    "headline": j.headline,
                }
                for j in plan.jobs
            ],
        }
        _write_json(staging / "alerts.json", {"period": plan.period.label, "alerts": alert_results})
        write_index(staging, manifest, alert_results)
        _write_json(staging / "manifest.json", manifest)
        publish(staging, reports / plan.period.label)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    finally:
        pm_log.setLevel(pm_level)

    stream = stream or sys.stderr
    final = reports / plan.period.label
    for a in fired:
        print(
            f"alert {a['study']}.{a['key']}={a['actual']} ({a['op']} {a['value']}): {a['message']}",
            file=stream,
        )
    print(
        f"report {plan.period.label}: {sum(j.status == 'ok' for j in plan.jobs)} ok, {len(failed)} failed, "
        f"{sum(j.status == 'skipped' for j in plan.jobs)} skipped, {len(fired)} alert(s) -> "
        f"{final / 'index.html'}",
        file=stream,
    )
    if failed or (fail_on_alert and fired):
        return 1
    return 0


__all__ = [
    "run_report",
    "describe_studies",
    "plan_report",
    "parse_parameters",
    "coerce",
    "load_alert_rules",
    "evaluate_alerts",
    "publish",
    "clean_stale",
    "strip_network_refs",
    "SalesnbError",
]


if __name__ == "__main__" and sys.argv[1:2] == ["--fork-server"]:
    _fork_server(sys.argv[2])
