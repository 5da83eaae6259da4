"""Planning a run: everything that can be checked before a study starts (source, period,
filters, parameters), and which period each study reports on and why.

The reasons (why a period, why a study was skipped) are kept in English in ``manifest.json``;
:func:`reason_text` writes them in the run's language where people read them (the index,
the study pages' banner)."""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field
from pathlib import Path

import yaml

from salesnb import config, studies
from salesnb.errors import InputError, ParameterError
from salesnb.i18n import DEFAULT_LANGUAGE, N_, _, date_label, language, period_label
from salesnb.model.periods import last_complete_quarter
from salesnb.report.parameters import Parameter, coerce, notebook_parameters

# Parameters the runner decides for every study; a user sets them through run_report's own options.
RUNNER_PARAMETERS = ("source", "output_dir")
_CURRENCY = re.compile(r"^[A-Z]{3}$")


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
    period: object  # salesnb.model.periods.Period
    common: dict
    jobs: list[Job]
    fingerprint: str
    tables: list[str]
    given: dict
    period_reason: str = ""


# Every reason a plan gives (and the warehouse's reasons for a default period,
# salesnb.queries.warehouse.default_period_why, and a study's missing tables,
# salesnb.studies.Study.missing), as templates: :func:`reason_text` recognises a reason by its
# template and writes it in the run's language. More specific templates first.
REASONS = (
    N_("given (all: {start} to {end})"),
    N_("given ({period})"),
    N_("last quarter complete on {day} (as_of)"),
    N_("last complete quarter with data in {tables} (data to {day})"),
    N_("whole history ({start} to {end}): no complete quarter with data in {tables}"),
    N_("no dated rows in this warehouse: the last complete quarter"),
    N_("default: the period most studies use"),
    N_("no dated rows in {tables}: pass a period"),
    N_("no rows of {tables} in {period} ({spans})"),
    N_("notebook notebooks/{notebook} not found"),
    N_("none of the tables {tables} is in this warehouse"),
    N_("tables {tables} not in this warehouse"),
    N_("table {tables} not in this warehouse"),
)
# the parts of "no rows of ... (<spans>)": one per table, separated by "; "
_SPAN = N_("{table} from {start} to {end}")
_NO_DATED_ROWS = N_("no dated rows")
_DATE_TEXT = re.compile(r"^\d{4}-\d{2}-\d{2}$")
# the warehouse's tables as a reason names them in prose (a table not listed keeps its name)
TABLE_NAMES = {
    "orders": N_("orders"),
    "opportunities": N_("opportunities"),
    "leads": N_("leads"),
    "stage_history": N_("stage history"),
    "tickets": N_("tickets"),
    "surveys": N_("surveys"),
    "trainings": N_("trainings"),
    "pilots": N_("pilots"),
    "customers": N_("customers"),
    "products": N_("products"),
    "reps": N_("reps"),
    "targets": N_("targets"),
    "market": N_("market"),
    "fx_rates": N_("exchange rates"),
}


def _template_pattern(template: str) -> re.Pattern:
    """A regular expression matching the texts ``template`` gives, one group per field."""
    parts = re.split(r"\{(\w+)\}", template)
    rx = "".join(re.escape(p) if i % 2 == 0 else f"(?P<{p}>.+?)" for i, p in enumerate(parts))
    return re.compile(rx, re.S)


_REASON_PATTERNS = [(t, _template_pattern(t)) for t in REASONS]
_SPAN_PATTERN = _template_pattern(_SPAN)


def _field_text(name: str, value: str) -> str:
    """A field of a reason in the run's language: days and periods as people write them,
    table names as they are."""
    if name in ("day", "start", "end") and _DATE_TEXT.match(value):
        return date_label(value)
    if name == "period":
        return period_label(value)
    if name == "spans":
        return "；".join(_span_text(p) for p in value.split("; "))
    if name in ("tables", "table"):
        names = value.split(", ")
        return "、".join(_(TABLE_NAMES[t]) if t in TABLE_NAMES else t for t in names)
    return value


def _span_text(text: str) -> str:
    if text == _NO_DATED_ROWS:
        return _(_NO_DATED_ROWS)
    m = _SPAN_PATTERN.fullmatch(text)
    if not m:
        return text
    return _(_SPAN).format(**{k: _field_text(k, v) for k, v in m.groupdict().items()})


def reason_text(reason: str | None) -> str:
    """A plan's reason (``Job.period_reason``, ``Job.reason``, the run's period reason) in the
    run's language: unchanged in English, and when it is none of :data:`REASONS`.

    >>> reason_text("last complete quarter with data in orders (data to 2026-10-09)")
    'last complete quarter with data in orders (data to 2026-10-09)'
    """
    if not reason or language() == DEFAULT_LANGUAGE:
        return reason or ""
    for template, pattern in _REASON_PATTERNS:
        m = pattern.fullmatch(reason)
        if m:
            fields = {k: _field_text(k, v) for k, v in m.groupdict().items()}
            return _(template).format(**fields)
    return reason


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
        from salesnb.queries.warehouse import date_span, rows_in_period

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


def _select(only) -> list:
    if not only:
        return list(studies.STUDIES.values())
    unknown = [s for s in only if s not in studies.STUDIES]
    if unknown:
        raise ParameterError(f"unknown study {unknown[0]!r}; studies: {', '.join(studies.STUDIES)}")
    return [studies.STUDIES[s] for s in dict.fromkeys(only)]


def _check_declared(given: dict, declared: dict[str, list[Parameter]]) -> None:
    """Every given parameter is shared or declared by a selected study's parameters cell."""
    shared = set(studies.COMMON_PARAMETERS)
    own_names = {p.name for ps in declared.values() for p in ps} - shared
    for key in given:
        if key in shared or key in own_names:
            continue
        listing = "; ".join(
            f"{sid}: {', '.join(p.name for p in ps if p.name not in shared) or '-'}"
            for sid, ps in declared.items()
        )
        raise ParameterError(
            f"unknown parameter {key!r}: no selected study declares it. Shared parameters: "
            f"{', '.join(p for p in studies.COMMON_PARAMETERS if p not in RUNNER_PARAMETERS)}; "
            f"study parameters: {listing or 'none'}"
        )


def _check_plans(given: dict) -> None:
    """A commission plan named in the parameters (``plan``, ``compare_plan`` of the performance
    study) is read now: a bad plan file stops the run with its one line (file, line, field)
    before any study starts, instead of failing one study's page."""
    from salesnb.metrics.incentives import load_plan

    for key in ("plan", "compare_plan"):
        if isinstance(given.get(key), str) and given[key].strip():
            load_plan(given[key].strip())


def _common(given: dict) -> dict:
    """The shared parameters (as_of, region, team, channel, currency), checked and normalised."""
    common = {}
    for key in ("as_of", "region", "team", "channel", "currency"):
        value = given.get(key)
        common[key] = coerce(value, "str", key).strip() if value is not None else ""
    if common["as_of"].lower() == "today":  # a scheduled run steering the running period
        common["as_of"] = str(dt.date.today())
    if common["as_of"]:
        try:
            common["as_of"] = str(dt.date.fromisoformat(common["as_of"]))
        except ValueError:
            raise ParameterError(
                f"parameter as_of: {common['as_of'][:40]!r} is not a date (YYYY-MM-DD or today)"
            ) from None
    if common["currency"] and not _CURRENCY.match(common["currency"]):
        raise ParameterError(
            f"parameter currency: {common['currency'][:40]!r} is not a 3-letter code like EUR"
        )
    return common


def _periods(src, period, as_of, selected) -> tuple[object, str, dict]:
    """The run's period and why; and, without a given period, each study's own (period, why)."""
    from salesnb.queries.warehouse import default_period_why, resolve_period

    if period:
        label = coerce(period, "str", "period")
        p = resolve_period(src, label, as_of)
        given_all = label.strip().lower() == "all"
        why = f"given (all: {p.start} to {p.last_day})" if given_all else f"given ({label})"
        return p, why, {}
    # each study reports on the last complete quarter with data in its own tables
    per_study: dict[str, tuple[object, str]] = {}
    for s in selected:
        if s.missing(src.tables):
            continue
        try:
            per_study[s.id] = default_period_why(src, as_of, s.dated_tables)
        except ParameterError as exc:
            per_study[s.id] = (None, str(exc))
    found = [v[0] for v in per_study.values() if v[0] is not None]
    if not found:
        try:
            return (*default_period_why(src, as_of), per_study)
        except ParameterError:  # master data only: studies without dated tables still run
            p = last_complete_quarter(as_of or dt.date.today())
            return p, "no dated rows in this warehouse: the last complete quarter", per_study
    # the run is named after the period most studies use (the latest on a tie)
    p = max(found, key=lambda q: (found.count(q), q.end))
    return p, "default: the period most studies use", per_study


def _job(s, declared, tables, src_rows, job_period, why, run_params, given) -> Job:
    job = Job(s)
    job.period_reason = why
    if s.id not in declared:
        job.status, job.reason = "skipped", f"notebook notebooks/{s.notebook} not found"
    elif missing := s.missing(tables):
        job.status, job.reason = "skipped", missing
    elif job_period is None:
        job.status, job.reason = "skipped", why
    elif empty := _no_rows(src_rows, s, job_period):
        job.period = job_period.label
        job.status, job.reason = "skipped", empty
    else:
        job.period = job_period.label
        types = {q.name: q.type for q in declared[s.id]}
        params = {"source": run_params["source"], "period": job_period.label, **run_params}
        for key, value in given.items():
            if key in types and key not in studies.COMMON_PARAMETERS:
                params[key] = coerce(value, types[key], key)
        job.parameters = params
    return job


def plan_report(source=None, period=None, only=None, params_kv=(), params_file=None) -> Plan:
    """Check everything that can be checked before a study runs; raise ParameterError/InputError."""
    from salesnb.queries.warehouse import check_filters, default_currency
    from salesnb.sources import connect

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

    selected = _select(only)
    declared = {s.id: notebook_parameters(s.path) for s in selected if s.path.exists()}
    _check_declared(given, declared)
    _check_plans(given)
    common = _common(given)

    whole = connect(source)
    # studies see the warehouse as known on as_of (salesnb.sources.snapshot); so does the plan
    src = whole.at(common["as_of"] or None)
    try:
        check_filters(
            src, common["region"] or None, common["team"] or None, common["channel"] or None
        )
        p, why, per_study = _periods(src, period, common["as_of"] or None, selected)
        # decided once for the run (and shown in the manifest), not once per study
        common["currency"] = common["currency"] or default_currency(src)
        fingerprint = whole.fingerprint()
        tables = list(src.tables)
        src_rows = _RowCounter(src)
        for s in selected:
            jp = per_study.get(s.id, (p, why))[0]
            if jp is not None and not s.missing(tables):
                src_rows.count(s, jp)
    finally:
        whole.close()
    if str(source).startswith("spark:"):  # spark:DIR, with DIR made absolute for the kernels
        abs_source = whole.description
    elif "://" in str(source):
        abs_source = str(source)
    else:
        abs_source = str(Path(source).expanduser().resolve())
    run_params = {"source": abs_source, **common}
    jobs = []
    for s in selected:
        job_period, job_why = per_study.get(s.id, (p, why))
        if job_period is None and not s.needs_rows_in_period:  # describes the whole warehouse
            job_period, job_why = p, why
        jobs.append(_job(s, declared, tables, src_rows, job_period, job_why, run_params, given))
    return Plan(abs_source, str(source), p, common, jobs, fingerprint, tables, dict(given), why)
