"""The ``salesnb`` command line (typer).

Every command turns a :class:`salesnb.errors.SalesnbError` into one line on
stderr and exit code 2; an unexpected error is also one line (exit 3) unless
``SALESNB_DEBUG=1`` asks for the traceback. Work is done by the library
modules; this file only parses options and prints.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Annotated

import typer

from salesnb.errors import SalesnbError

app = typer.Typer(
    add_completion=False,
    no_args_is_help=True,
    help="salesnb: run a sales department on its own data (demo, ingest, validate, report, dashboard).",
    pretty_exceptions_enable=False,
)


@app.command()
def demo(
    out: Annotated[
        str, typer.Option(help="warehouse file to write, or a postgresql:// URL")
    ] = "data/demo.duckdb",
    seed: Annotated[int, typer.Option(help="random seed; same seed, same company")] = 42,
    orders: Annotated[int, typer.Option(help="number of order lines")] = 1_000_000,
):
    """Build the deterministic demo company (DuckDB warehouse + truths.json beside it)."""
    from salesnb.sources import demo as demo_mod

    summary = demo_mod.build(out=out, seed=seed, orders=orders)
    typer.echo(json.dumps(summary, indent=2, default=str))


@app.command()
def ingest(
    folder: Annotated[Path, typer.Argument(help="folder of CSV / Excel / Parquet files")],
    into: Annotated[
        str,
        typer.Option("--into", help="warehouse file (DuckDB) or postgresql:// URL to load into"),
    ],
    mapping: Annotated[
        str | None, typer.Option(help="named mapping (maven-crm, superstore) or a YAML file")
    ] = None,
    append: Annotated[
        bool, typer.Option("--append", help="add rows instead of replacing the tables")
    ] = False,
    as_json: Annotated[bool, typer.Option("--json", help="print the row counts as JSON")] = False,
):
    """Load a folder of exports into the warehouse; every row accepted or quarantined."""
    from salesnb.sources import export as export_mod
    from salesnb.sources import ingest as ingest_mod

    if export_mod.is_postgres_url(into):
        result = export_mod.ingest_postgres(folder, into, mapping=mapping, append=append)
    else:
        result = ingest_mod.ingest(folder, into=Path(into), mapping=mapping, append=append)
    if as_json:
        typer.echo(json.dumps(result.as_json()))
    else:
        typer.echo(result.summary())


@app.command()
def export(
    to: Annotated[Path, typer.Option("--to", help="folder to write <table>.parquet files into")],
    source: Annotated[str | None, typer.Option(help="warehouse path or connection URL")] = None,
):
    """Write the canonical tables as Parquet (read them on Spark with --source spark:DIR)."""
    from salesnb.sources import export as export_mod

    rows = export_mod.to_parquet(source, to)
    typer.echo(json.dumps({"folder": str(to), "rows": rows}, indent=2))


@app.command("map")
def map_(
    folder: Annotated[Path, typer.Argument(help="folder of CSV / Excel / Parquet exports")],
    out: Annotated[
        Path | None, typer.Option("--out", "-o", help="YAML file to write (default: stdout)")
    ] = None,
    force: Annotated[
        bool, typer.Option("--force", help="overwrite an existing --out file")
    ] = False,
):
    """Draft a mapping for an unknown folder of exports: review it, finish its TODO lines, then ingest --mapping."""
    from salesnb.errors import InputError
    from salesnb.fileio import atomic_write_text
    from salesnb.sources import mapdraft

    if out is not None and out.exists() and not force:
        raise InputError(
            f"{out}: already exists (a finished mapping?); pass --force to overwrite it"
        )
    draft = mapdraft.draft_mapping(folder)
    if out is None:
        typer.echo(draft.text, nl=False)
        typer.echo(draft.summary("the mapping above"), err=True)
        return
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        atomic_write_text(out, draft.text)
    except OSError as exc:
        raise InputError(f"{out}: cannot write the draft ({exc.strerror or exc})") from exc
    typer.echo(draft.summary(str(out)), err=True)


@app.command()
def validate(
    warehouse: Annotated[Path, typer.Argument(help="warehouse file to re-check")],
    as_json: Annotated[bool, typer.Option("--json", help="print the problems as JSON")] = False,
):
    """Re-check a warehouse against the model; exit 1 when there are problems."""
    from salesnb.queries import validation as validate_mod

    report = validate_mod.validate_warehouse(warehouse)
    typer.echo(json.dumps(report.as_json(), indent=2) if as_json else report.summary())
    raise typer.Exit(1 if report.problems else 0)


@app.command()
def studies(as_json: Annotated[bool, typer.Option("--json")] = False):
    """List the studies, their parameters and the tables each needs."""
    from salesnb import report as report_mod

    rows = report_mod.describe_studies()
    if as_json:
        typer.echo(json.dumps(rows, indent=2))
        return
    for r in rows:
        typer.echo(f"{r['id']:<14} {r['title']}  ({r['notebook']})")
        needs = ", ".join(r["needs"]) or "-"
        if r["needs_one_of"]:
            needs += f"; one of: {', '.join(r['needs_one_of'])}"
        typer.echo(f"    needs: {needs}; uses: {', '.join(r['uses']) or '-'}")
        for p in r["parameters"]:
            typer.echo(f"    {p['name']}: {p['type']} = {p['default']!r}  # {p['help']}")


LANG_OPTION = typer.Option(
    "--lang",
    help="language of the pages, charts and messages: en or zh-CN (default: $SALESNB_LANG, else en)",
)


def _use_language(lang: str | None) -> None:
    """Speak ``lang`` (else ``$SALESNB_LANG``) in this process and in the kernels it starts
    (they inherit ``SALESNB_LANG``); an unknown language stops with one line."""
    from salesnb import i18n

    try:
        chosen = i18n.set_language(lang)
    except i18n.LanguageError as exc:
        typer.echo(f"salesnb: {exc}", err=True)
        raise typer.Exit(2) from None
    os.environ[i18n.ENV_VAR] = chosen


@app.command("actions")
def actions_(
    source: Annotated[str | None, typer.Option(help="warehouse path or connection URL")] = None,
    done: Annotated[
        str | None, typer.Option("--done", metavar="ID", help="mark this action done")
    ] = None,
    drop: Annotated[
        str | None, typer.Option("--drop", metavar="ID", help="drop this action (will not be done)")
    ] = None,
    every: Annotated[
        bool, typer.Option("--all", help="list the done and dropped actions too")
    ] = False,
    lang: Annotated[str | None, LANG_OPTION] = None,
):
    """List the actions still open in the warehouse's action register (kept by salesnb report)."""
    from salesnb.report import register

    _use_language(lang)
    for entry, status in ((done, register.DONE), (drop, register.DROPPED)):
        if entry:
            typer.echo(register.status_line(register.set_status(source, entry, status)))
    if not (done or drop):
        register.print_register(register.list_register(source, every), source, every)


@app.command()
def report(
    source: Annotated[str | None, typer.Option(help="warehouse path or connection URL")] = None,
    period: Annotated[
        str | None, typer.Option(help="2026-Q3, 2026-09 or 2026 (default: last complete quarter)")
    ] = None,
    as_of: Annotated[
        str | None,
        typer.Option(
            "--as-of",
            help="evaluate as known on this day (YYYY-MM-DD or today): later rows are ignored",
        ),
    ] = None,
    only: Annotated[
        list[str] | None, typer.Option(help="run only these studies: --only funnel customers")
    ] = None,
    param: Annotated[
        list[str] | None, typer.Option("-p", "--param", help="KEY=VALUE study parameter")
    ] = None,
    params: Annotated[Path | None, typer.Option(help="YAML file of parameters")] = None,
    out: Annotated[Path | None, typer.Option(help="reports folder (default reports/)")] = None,
    workers: Annotated[
        int | None, typer.Option(help="parallel studies (default: one per core)")
    ] = None,
    alerts: Annotated[
        Path | None, typer.Option(help="alert rules YAML (default: the bundled rules)")
    ] = None,
    fail_on_alert: Annotated[
        bool, typer.Option("--fail-on-alert", help="exit 1 when an alert fires")
    ] = False,
    notify: Annotated[
        list[str] | None,
        typer.Option(
            "--notify",
            metavar="URL",
            help="send the fired alerts, top actions and the link to this Apprise URL "
            "(mailto://, dingtalk://, feishu://, wecombot://, slack://, workflows://, json://); "
            "repeatable; default: $SALESNB_NOTIFY (URLs separated by spaces or commas)",
        ),
    ] = None,
    report_url: Annotated[
        str | None,
        typer.Option(
            "--report-url",
            envvar="SALESNB_REPORT_URL",
            help="where the reports folder is served (https://.../reports): the link sent",
        ),
    ] = None,
    per: Annotated[
        str | None,
        typer.Option(
            "--per",
            metavar="team",
            help="one report per team, each in its own folder <out>/teams/<team>/ "
            "(filtered to that team: give each team lead their folder)",
        ),
    ] = None,
    lang: Annotated[str | None, LANG_OPTION] = None,
):
    """Run the studies with papermill and publish HTML, notebooks, JSON and an index."""
    from salesnb import report as report_mod
    from salesnb.report import notify as notify_mod

    _use_language(lang)

    common = dict(
        source=source,
        period=period,
        only=only or None,
        params_kv=[*(param or []), *([f"as_of={as_of}"] if as_of else [])],
        params_file=params,
        out=out,
        workers=workers,
        alerts_file=alerts,
        fail_on_alert=fail_on_alert,
    )
    if per is not None:
        from salesnb.report.per_team import run_per_team

        raise typer.Exit(run_per_team(per, notify=notify, **common))
    code = report_mod.run_report(
        notify=notify or notify_mod.targets_from_env(os.environ.get(notify_mod.ENV_VAR)),
        report_url=report_url,
        **common,
    )
    raise typer.Exit(code)


dashboard_app = typer.Typer(
    help="Serve the manager dashboards with Voilà; `salesnb dashboard link` prints a signed link.",
    pretty_exceptions_enable=False,
)
app.add_typer(dashboard_app, name="dashboard")


@dashboard_app.callback(invoke_without_command=True)
def dashboard(
    ctx: typer.Context,
    source: Annotated[str | None, typer.Option(help="warehouse path or connection URL")] = None,
    port: Annotated[int, typer.Option(help="port to serve on")] = 8866,
    host: Annotated[
        str,
        typer.Option(
            help="address to bind (default loopback only; any other needs "
            "$SALESNB_DASHBOARD_TOKEN or --token-file)"
        ),
    ] = "127.0.0.1",
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file",
            help="file holding the viewers' access token (default: $SALESNB_DASHBOARD_TOKEN); "
            "never the token itself on the command line",
        ),
    ] = None,
    viewers: Annotated[
        int,
        typer.Option(
            min=0,
            help="viewers who may open a dashboard at the same moment: that many kernels per "
            "dashboard run it in advance (~0.3 GB each; 0 starts each viewer's on request)",
        ),
    ] = 2,
    lang: Annotated[str | None, LANG_OPTION] = None,
):
    """Serve the manager dashboards with Voilà (sign-in required off this machine)."""
    if ctx.invoked_subcommand is not None:
        return
    from salesnb import dashboards as dashboard_mod

    _use_language(lang)

    raise typer.Exit(
        dashboard_mod.serve(
            source=source, port=port, host=host, token_file=token_file, pool_size=viewers
        )
    )


@dashboard_app.command("link")
def dashboard_link(
    team: Annotated[str | None, typer.Option(help="the team the link shows (pinned)")] = None,
    region: Annotated[str | None, typer.Option(help="the region the link shows (pinned)")] = None,
    expires: Annotated[
        str, typer.Option(help="how long it works (30d, 12h, 2w) or its last day (YYYY-MM-DD)")
    ] = "30d",
    board: Annotated[str, typer.Option(help="the board: team or executive")] = "team",
    url: Annotated[
        str | None,
        typer.Option(
            "--url",
            envvar="SALESNB_DASHBOARD_URL",
            help="where the dashboards are served (default http://127.0.0.1:8866)",
        ),
    ] = None,
    token_file: Annotated[
        Path | None,
        typer.Option(
            "--token-file", help="the server's token file (default: $SALESNB_DASHBOARD_TOKEN)"
        ),
    ] = None,
    source: Annotated[
        str | None, typer.Option(help="warehouse whose teams and regions are checked")
    ] = None,
):
    """Print a signed link showing one team (or region) only, until it expires."""
    from salesnb.dashboards import access

    typer.echo(
        access.signed_link(
            team=team,
            region=region,
            expires=expires,
            board=board,
            url=url,
            token_file=token_file,
            source=source,
        )
    )


def _spread_only(argv: list[str]) -> list[str]:
    """Let ``--only funnel customers`` mean ``--only funnel --only customers`` (as documented)."""
    out: list[str] = []
    i = 0
    while i < len(argv):
        out.append(argv[i])
        if argv[i] == "--only":
            j = i + 1
            if j < len(argv):
                out.append(argv[j])
                j += 1
            while j < len(argv) and not argv[j].startswith("-"):
                out.extend(["--only", argv[j]])
                j += 1
            i = j
            continue
        i += 1
    return out


def _usage_exit(exc: BaseException) -> int | None:
    """A command-line mistake (unknown option or command, missing argument...) shown the way
    click shows it: usage line, hint and error, with click's own suggestion; its exit code.

    Typer 0.29+ raises exceptions from its vendored copy of click (``typer._click``), which
    are not ``click.exceptions.ClickException``; both share ``show()`` and ``exit_code``.
    """
    kinds: list[type] = [typer.TyperException]
    try:
        import click

        kinds.append(click.exceptions.ClickException)
    except ImportError:  # typer no longer needs click itself
        pass
    if isinstance(exc, tuple(kinds)) and callable(getattr(exc, "show", None)):
        exc.show()
        return int(getattr(exc, "exit_code", 2))
    return None


def main(argv: list[str] | None = None) -> int:
    argv = _spread_only(list(sys.argv[1:] if argv is None else argv))
    try:
        rv = app(args=argv, prog_name="salesnb", standalone_mode=False)
        if isinstance(rv, int) and rv:
            return rv
    except SalesnbError as exc:
        print(f"salesnb: {exc}", file=sys.stderr)
        return exc.exit_code
    except typer.Exit as exc:
        return exc.exit_code
    except SystemExit as exc:
        return exc.code if isinstance(exc.code, int) else 0
    except KeyboardInterrupt:
        print("salesnb: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # the one place an unexpected error is caught
        code = _usage_exit(exc)
        if code is not None:
            return code
        if os.environ.get("SALESNB_DEBUG"):
            raise
        if type(exc).__name__ == "Abort":  # click's or typer's (vendored click) Abort
            return 1
        print(
            f"salesnb: internal error: {type(exc).__name__}: {exc} (SALESNB_DEBUG=1 shows the traceback)",
            file=sys.stderr,
        )
        return 3
    return 0


if __name__ == "__main__":
    sys.exit(main())
