"""``salesnb report --per team``: each team's report in its own folder.

Every team of the warehouse gets a full run of the studies filtered to that team (the shared
``team`` parameter of every study, as ``-p team=...`` gives it) published atomically into
``<out>/teams/<folder>/<period>/``, so a team lead can be given their own folder (a web
server's or a file share's per-folder access) and never sees another team's numbers.
``<out>/teams/teams.json`` maps each team to its folder and says how its run ended (names and
folders only, no figure), for whoever sets up that access.
"""

from __future__ import annotations

import re
from pathlib import Path

from salesnb import config
from salesnb.errors import ParameterError
from salesnb.i18n import _

PER_CHOICES = ("team",)
TEAMS_DIR = "teams"


def team_folder(team: str) -> str:
    """The folder name of a team: lower case, runs of anything but letters and digits as one
    ``-`` (letters of any script are kept).

    >>> team_folder("North A"), team_folder(" Key Accounts / EMEA "), team_folder("华北一组")
    ('north-a', 'key-accounts-emea', '华北一组')
    """
    return re.sub(r"[\W_]+", "-", str(team)).strip("-").lower()


def team_folders(teams: list[str]) -> dict[str, str]:
    """Team -> folder; :class:`ParameterError` when two teams would share a folder or a team
    has no letter or digit to name one."""
    folders: dict[str, str] = {}
    for team in teams:
        folder = team_folder(team)
        if not folder:
            raise ParameterError(
                _("team {team}: no letter or digit to name its folder").format(team=repr(team))
            )
        clash = next((t for t, f in folders.items() if f == folder), None)
        if clash is not None:
            raise ParameterError(
                _("teams {a} and {b} would share the folder {folder}").format(
                    a=repr(clash), b=repr(team), folder=folder
                )
            )
        folders[team] = folder
    return folders


def _teams(source) -> list[str]:
    from salesnb.queries.warehouse import known_values
    from salesnb.sources import connect

    src = connect(source or None)
    try:
        return known_values(src)["team"]
    finally:
        src.close()


def run_per_team(per: str = "team", teams=None, params_kv=(), out=None, stream=None, **kw) -> int:
    """Run the report once per team (``teams``, default every team of the warehouse) into
    ``<out>/teams/<folder>/``; returns the worst exit code. ``kw`` are
    :func:`salesnb.report.run_report`'s (not ``notify``: one message per team to the same
    channels would bury the alerts; notify from each team's own run instead)."""
    import json
    import sys

    from salesnb.fileio import atomic_write_text
    from salesnb.report.run import run_report

    if per not in PER_CHOICES:
        raise ParameterError(
            _("--per {per}: reports can be split per {choices}").format(
                per=repr(per), choices=", ".join(PER_CHOICES)
            )
        )
    if any(str(p).split("=", 1)[0].strip() == "team" for p in params_kv):
        raise ParameterError(_("--per team runs every team: leave out -p team=..."))
    if kw.get("notify"):
        raise ParameterError(_("--per team does not send notifications: leave out --notify"))
    kw.pop("notify", None)
    teams = list(teams) if teams else _teams(kw.get("source"))
    if not teams:
        raise ParameterError(_("--per team: the warehouse has no team (reps.team is empty)"))
    folders = team_folders(teams)
    root = (Path(out) if out else config.reports_dir()) / TEAMS_DIR
    stream = stream or sys.stderr
    worst, ended = 0, []
    for team, folder in folders.items():
        print(_("team {team} -> {folder}").format(team=team, folder=root / folder), file=stream)
        code = run_report(
            params_kv=[*params_kv, f"team={team}"], out=root / folder, stream=stream, **kw
        )
        worst = max(worst, code)
        ended.append({"team": team, "folder": folder, "exit_code": code})
    atomic_write_text(
        root / "teams.json", json.dumps({"per": per, "teams": ended}, indent=2, ensure_ascii=False)
    )
    return worst
