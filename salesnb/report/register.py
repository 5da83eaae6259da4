"""The action register: the report's actions kept in the warehouse and followed up.

Each run of ``salesnb report`` records the actions it raised (the rows of ``actions.csv``) in
the warehouse's ``actions`` table; the next run matches them by id, marks as done those whose
condition the data shows cleared (:func:`~salesnb.report.register_rules.cleared`), and the
index lists the actions still open from earlier periods. ``salesnb actions`` lists the
register and closes entries by hand.

One entry per subject an action names (a deal, a rep, a customer), else one per action; its
``id`` is stable from run to run (study, kind of action, subject, scope: never the sentence,
whose numbers change). What an entry is, its id and when the data shows it done are the rules
of :mod:`salesnb.report.register_rules`.

Columns of the ``actions`` table (:data:`COLUMNS`): ``id``; ``scope`` (``region=East``,
``lang=zh-CN``; empty for the whole company in English); ``period`` (the report period that
first raised it) and ``last_period`` (the latest that did); ``study``, ``kind``, ``subject``;
``action`` (the latest wording), ``owner``, ``people``, ``amount`` (at stake, in
``currency``), ``due``; ``status`` (``open``, ``done`` or ``dropped``); ``first_seen`` and
``last_seen`` (the days, UTC, of the first and the latest run that raised it); ``closed_on``
and ``reason`` (why its status last changed: :data:`REASONS`).

The register is written by the report's own process after the studies ran (they open the
warehouse read-only), with one short read-write connection, after the report is published; a
warehouse that cannot be written (read-only, or held by another program) leaves the report as
it is and says so in one line. It never changes a study's numbers: the studies have run before
it is read, and ``actions`` is not a table of the model. ``SALESNB_ACTION_REGISTER=off`` turns
it off for a run.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import os
from dataclasses import dataclass, field

import pandas as pd

from salesnb.i18n import N_, _
from salesnb.report.register_rules import (
    COLUMNS,
    DONE,
    DROPPED,
    OPEN,
    REASONS,
    STATUSES,
    Run,
    entries,
    known_subjects,
    normalised,
    period_bounds,
    reconcile,
    scope_of,
    still_open_earlier,
)

__all__ = ["COLUMNS", "DONE", "DROPPED", "OPEN", "REASONS", "STATUSES", "TABLE", "Register"]
__all__ += ["list_register", "prepare", "print_register", "read_register", "set_status"]
__all__ += ["status_line", "write_register"]

TABLE = "actions"
ENV_VAR = "SALESNB_ACTION_REGISTER"


def read_register(src) -> pd.DataFrame:
    """The ``actions`` table of the open warehouse ``src`` (empty when it has none)."""
    if TABLE not in set(src.con.list_tables()):
        return normalised(None)
    return normalised(src.con.table(TABLE).execute())


_SQL_TYPES = {"string": "VARCHAR", "float64": "DOUBLE PRECISION", "date": "DATE"}
_PARAM_MARKS = {"duckdb": "?", "postgres": "%s"}  # the DB-API paramstyle of each engine


def write_register(src, table: pd.DataFrame) -> None:
    """Replace the ``actions`` table of ``src`` (open read-write) by ``table``, in one
    transaction, values bound as parameters. DuckDB and PostgreSQL warehouses; another
    engine is an InputError."""
    from salesnb.errors import InputError
    from salesnb.sql import quote_ident

    engine = getattr(src.con, "name", "")
    if engine not in _PARAM_MARKS:
        raise InputError(
            f"{_shown(src.description)}: the action register is kept in DuckDB or PostgreSQL "
            f"warehouses, not {engine or 'this engine'}"
        )
    frame = normalised(table)
    rows = [tuple(r) for r in frame.itertuples(index=False, name=None)]
    name = quote_ident(TABLE)
    ddl = ", ".join(f"{quote_ident(c)} {_SQL_TYPES[t]}" for c, t in COLUMNS.items())
    marks = ", ".join([_PARAM_MARKS[engine]] * len(COLUMNS))
    cur = src.con.con.cursor()
    try:
        cur.execute("BEGIN")
        cur.execute(f"DROP TABLE IF EXISTS {name}")
        cur.execute(f"CREATE TABLE {name} ({ddl})")
        if rows and engine == "duckdb":  # a scan of the frame: executemany takes seconds
            cur.register("salesnb_register_rows", frame)
            cast = ", ".join(
                f"CAST({quote_ident(c)} AS {_SQL_TYPES[t]})" for c, t in COLUMNS.items()
            )
            cur.execute(f"INSERT INTO {name} SELECT {cast} FROM salesnb_register_rows")
            cur.unregister("salesnb_register_rows")
        elif rows:
            cur.executemany(f"INSERT INTO {name} VALUES ({marks})", rows)
        cur.execute("COMMIT")
    except BaseException:
        with contextlib.suppress(Exception):
            cur.execute("ROLLBACK")
        raise
    finally:
        with contextlib.suppress(Exception):
            cur.close()


def deal_states(src, ids) -> dict:
    """Deal id -> ``{"status": open/won/lost, "amount": ...}`` (status by
    :func:`salesnb.queries.deal_status`) of the deals ``ids`` in ``src`` (a Source, seen as of
    its ``as_of``)."""
    from salesnb.queries import deal_status

    ids = sorted({str(i) for i in ids})
    if not ids or not src.has("opportunities"):
        return {}
    op = src.table("opportunities")
    key = op.opportunity_id.cast("string")
    amount = op.amount.cast("float64") if "amount" in op.columns else None
    got = op.filter(key.isin(ids)).select(id=key, status=deal_status(op), amount=amount).execute()
    return {
        r["id"]: {"status": r["status"], "amount": None if pd.isna(r["amount"]) else r["amount"]}
        for r in got.to_dict("records")
    }


def _today() -> dt.date:
    return dt.datetime.now(dt.UTC).date()


def _off() -> bool:
    return os.environ.get(ENV_VAR, "").strip().lower() in ("0", "off", "no", "false")


def _deal_ids(*frames) -> set:
    return {
        s.partition(":")[2]
        for f in frames
        for s in f["subject"].dropna()
        if str(s).startswith("deal:")
    }


@dataclass
class Register:
    """A run's register update: read and matched before the index is written
    (:func:`prepare`), saved after the report is published (:meth:`save`)."""

    source: str | None = None
    run: Run | None = None
    raised: pd.DataFrame = field(default_factory=pd.DataFrame)
    deals: dict = field(default_factory=dict)
    earlier: list = field(default_factory=list)  # still open from earlier periods, for the index
    error: str | None = None

    def save(self, stream) -> pd.DataFrame | None:
        """Write the update (re-read and re-matched inside the write, so a ``salesnb actions``
        change made meanwhile is kept); print one line saying what it holds, or why it could
        not be written. Never raises. Returns the saved table."""
        if self.run is None and self.error is None:  # turned off
            return None
        if self.error is None:
            try:
                table, before = self._write()
            except Exception as exc:  # the report is published: the register never fails it
                self.error = _first_line(exc)
        if self.error is not None:
            line = _("action register not updated in {source}: {reason}")
            print(line.format(source=_shown(self.source), reason=self.error), file=stream)
            return None
        mine = table[table["scope"].fillna("") == self.run.scope]
        was_open = set(before.loc[before["status"] == OPEN, "id"])
        line = _(
            "action register: {open} open ({earlier} from earlier periods), {done} marked done "
            "by the data -> salesnb actions --source {source}"
        )
        done = mine[(mine["status"] == DONE) & mine["id"].isin(was_open)]
        print(
            line.format(
                open=int((mine["status"] == OPEN).sum()),
                earlier=len(self.earlier),
                done=len(done),
                source=_shown(self.source),
            ),
            file=stream,
        )
        return table

    def _write(self):
        src = _writable(self.source)
        try:
            before = read_register(src)
            table = reconcile(before, self.raised, self.run, self.deals)
            write_register(src, table)
        finally:
            src.close()
        return table, before


_LOCK_WAITS = (0.2, 0.5, 1.0, 2.0)  # seconds; DuckDB lets one process write, or many read


def _writable(source):
    """``source`` opened read-write for the register's one write. A DuckDB file that other
    programs are reading (a report's studies, a dashboard's kernels) refuses a writer: try
    again a few times (about 4 s), then raise the engine's error."""
    import time

    from salesnb.errors import InputError
    from salesnb.sources import connect

    for wait in _LOCK_WAITS:
        try:
            return connect(source, read_only=False)
        except InputError as exc:
            if "lock" not in str(exc).lower():
                raise
        time.sleep(wait)
    return connect(source, read_only=False)


def _first_line(exc: BaseException) -> str:
    """An error in one line: a salesnb error's message, else its type and first line."""
    from salesnb.errors import SalesnbError

    text = (str(exc).strip().splitlines() or [""])[0]
    return text if isinstance(exc, SalesnbError) and text else f"{type(exc).__name__}: {text}"


def prepare(plan, actions: pd.DataFrame, day: dt.date | None = None) -> Register:
    """Match the actions a report run raised with the warehouse's register (read-only here):
    what :meth:`Register.save` will write, and the entries still open from earlier periods
    (``.earlier``). Never raises: a register that cannot be read is an ``error``, said in
    one line by ``save``. ``SALESNB_ACTION_REGISTER=off``: nothing is read or written."""
    from salesnb.sources import connect

    if _off():
        return Register()
    reg = Register(source=plan.source)
    if str(plan.source).startswith("spark:"):  # Parquet files read as temporary views
        reg.error = _("a spark: folder is read-only; keep the register in DuckDB or PostgreSQL")
        return reg
    try:
        run = Run(
            period=plan.period.label,
            day=day or _today(),
            scope=scope_of(plan.common),
            studies=frozenset(j.study.id for j in plan.jobs if j.status == "ok"),
        )
        src = connect(plan.source)
        try:
            current = read_register(src)
            texts = list(actions["action"]) if len(actions) else []
            known = known_subjects(src, texts) if texts else pd.DataFrame()
            ids = _deal_ids(current[current["status"] == OPEN])
            ids |= set(known.loc[known["kind"] == "deal", "id"]) if len(known) else set()
            found = deal_states(src.at(plan.common.get("as_of") or None), ids)
        finally:
            src.close()
        currency = str(plan.common.get("currency") or "")
        raised = entries(actions, known, run.scope, currency, found)
        deals = {k: v["status"] for k, v in found.items()}
        table = reconcile(current, raised, run, deals)
    except Exception as exc:  # the register never fails the report
        reg.error = _first_line(exc)
        return reg
    reg.run, reg.raised, reg.deals = run, raised, deals
    reg.earlier = still_open_earlier(table, run, raised["id"])
    return reg


def list_register(source, every: bool = False) -> pd.DataFrame:
    """The register of the warehouse ``source``: the open entries (``every``: all of them),
    oldest period first, then the largest amount at stake."""
    from salesnb.sources import connect

    src = connect(source)
    try:
        table = read_register(src)
    finally:
        src.close()
    if not every:
        table = table[table["status"] == OPEN]
    since = [(period_bounds(p) or (dt.date.max,))[0] for p in table["period"]]
    amount = [-(a or 0.0) for a in table["amount"]]
    order = sorted(range(len(table)), key=lambda i: (since[i], amount[i], table["id"].iloc[i]))
    return table.iloc[order].reset_index(drop=True)


def set_status(source, entry: str, status: str, day: dt.date | None = None) -> dict:
    """Set the status of the register entry ``entry`` (its id) to ``status`` by hand; returns
    the entry. An unknown id is an InputError naming the warehouse."""
    from salesnb.errors import InputError, ParameterError

    if status not in STATUSES:
        raise ParameterError(f"status {status!r}: expected one of {', '.join(STATUSES)}")
    src = _writable(source)
    try:
        table = read_register(src)
        hit = table.index[table["id"].str.lower() == str(entry).strip().lower()]
        if not len(hit):
            raise InputError(
                _("{source}: no action {id} in the register (salesnb actions lists them)").format(
                    source=_shown(src.description), id=entry
                )
            )
        closed = None if status == OPEN else (day or _today())
        table.loc[hit[0], ["status", "closed_on", "reason"]] = [status, closed, "by-hand"]
        write_register(src, table)
    finally:
        src.close()
    return table.loc[hit[0]].to_dict()


_HEADERS = {
    "id": N_("ID"),
    "status": N_("Status"),
    "period": N_("Open since"),
    "study": N_("Study"),
    "action": N_("Action"),
    "people": N_("People and accounts"),
    "amount": N_("At stake"),
    "owner": N_("Owner"),
    "due": N_("Due"),
    "scope": N_("Scope"),  # shown when the register holds several (filters, languages)
}
_STATUS_TEXT = {OPEN: N_("open"), DONE: N_("done"), DROPPED: N_("dropped")}


def print_register(table: pd.DataFrame, source, every: bool = False, file=None) -> None:
    """Show ``table`` (:func:`list_register`) as a table in the terminal; one line when it
    is empty."""
    from rich.console import Console
    from rich.table import Table

    from salesnb.formatting import MISSING, short_money
    from salesnb.i18n import period_label

    console = Console(file=file, soft_wrap=False)
    if table.empty:
        empty = (
            _("No action in the register of {source}.")
            if every
            else _("No open action in the register of {source}.")
        )
        console.print(empty.format(source=_shown(source)), markup=False, highlight=False)
        return
    several = table["scope"].fillna("").nunique() > 1
    columns = [c for c in _HEADERS if (every or c != "status") and (several or c != "scope")]
    grid = Table(header_style="bold")
    for c in columns:
        grid.add_column(_(_HEADERS[c]), justify="right" if c == "amount" else "left",
                        overflow="fold", no_wrap=c in ("id", "amount", "due"))  # fmt: skip
    for e in table.to_dict("records"):
        text = {
            "id": e["id"],
            "status": _status_text(e),
            "period": period_label(e["period"]) if e.get("period") else MISSING,
            "amount": short_money(e.get("amount"), e.get("currency") or ""),
        }
        grid.add_row(*(str(text.get(c, e.get(c) or MISSING)) for c in columns))
    console.print(grid, markup=False, highlight=False)


def _status_text(entry: dict) -> str:
    """``open``, or ``done (the deal is won, 2026-10-02)``: the status, why and since when."""
    status = _(_STATUS_TEXT.get(entry["status"], entry["status"] or ""))
    why = [_(REASONS[entry["reason"]])] if entry.get("reason") in REASONS else []
    why += [str(entry["closed_on"])] if entry.get("closed_on") else []
    return f"{status} ({', '.join(why)})" if why and entry["status"] != OPEN else status


def status_line(entry: dict) -> str:
    """One line saying an entry's new status: ``3fa2c1d0: done (Review the ...)``."""
    status = _(_STATUS_TEXT.get(entry["status"], entry["status"]))
    return _("{id}: {status} ({action})").format(
        id=entry["id"], status=status, action=entry.get("action") or ""
    )


def _shown(source) -> str:
    """``source`` as messages show it: a URL's password masked."""
    from urllib.parse import urlsplit

    text = str(source)
    try:
        parts = urlsplit(text)
    except ValueError:
        return text
    if "://" not in text or not parts.password:
        return text
    return text.replace(f":{parts.password}@", ":***@", 1)
