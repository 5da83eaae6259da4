"""Alert rules: a YAML list of conditions on headline figures, evaluated after a run."""

from __future__ import annotations

import operator
from pathlib import Path

import yaml

from salesnb.errors import InputError

DEFAULT_ALERTS = Path(__file__).resolve().parent.parent / "alerts" / "default.yaml"


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
