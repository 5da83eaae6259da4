"""Alert rules: a YAML list of conditions on headline figures (``default.yaml`` beside this
module), evaluated on a report run's figures and on the executive dashboard's alike.

A rule's ``message`` stays as written in the rules and in ``alerts.json``; where people read
it (the index, the dashboards' alert panel, notifications) it is shown through
:func:`message_text`, in the run's language: the bundled rules' messages are in the
translation catalogs (``salesnb.i18n`` extracts them from ``alerts/*.yaml``); a message of
the user's own rules file is shown as written."""

from __future__ import annotations

import operator
from pathlib import Path
from typing import Literal

from salesnb import configfile
from salesnb.configfile import Strict
from salesnb.i18n import _

DEFAULT_ALERTS = Path(__file__).resolve().parent / "default.yaml"


OPS = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}


class AlertRule(Strict):
    """One rule: fires when ``<study>.<key> <op> <value>`` holds on the run's figures."""

    study: str
    key: str
    op: Literal["<", "<=", ">", ">=", "==", "!="]
    value: float | int | str | bool
    message: str = ""


class AlertRules(Strict):
    rules: list[AlertRule] = []


def load_alert_rules(path: Path | None = None) -> list[dict]:
    """Rules ``{study, key, op, value, message}`` from YAML (the bundled rules by default).

    The file is a list of rules (or ``rules:`` holding one); a wrong rule stops with one line
    naming the file, the line and the field (:mod:`salesnb.configfile`).
    """
    path = Path(path) if path else DEFAULT_ALERTS
    rules = configfile.load(path, AlertRules, what="alert rules file", wrap="rules").rules
    return [
        {
            "study": r.study,
            "key": r.key,
            "op": r.op,
            "value": r.value,
            "message": r.message or f"{r.study}.{r.key} {r.op} {r.value}",
        }
        for r in rules
    ]


def message_text(rule: dict) -> str:
    """A rule's (or an evaluated alert's) message as people read it: in the run's language
    when the catalogs translate it (the bundled rules' messages), else as written.

    >>> message_text({"message": "Company attainment below 80% of target"})
    'Company attainment below 80% of target'
    """
    message = str(rule.get("message") or "")
    return _(message) if message else message


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
