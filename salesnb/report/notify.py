"""Sending a finished report's news to the people who act on it.

``salesnb report --notify URL`` (repeatable, or ``SALESNB_NOTIFY`` with URLs separated by
spaces or commas) sends one message per URL once the report is published: the period, the
alerts that fired (message and value), the lead actions of the studies
(:func:`salesnb.report.actions.top_actions`) and a link to ``index.html`` -- its path, or
``<--report-url>/<period>/index.html`` when the reports folder is served over HTTP.

Delivery goes through `Apprise <https://github.com/caronc/apprise>`_, a maintained library
with one URL form per service, instead of a client per service. The ones departments use:

=====================  ===========================================================
email (SMTP)           ``mailto://user:password@smtp.example.com:587?to=sales@example.com``
                       (``mailtos://`` for TLS; ``?from=`` sets the sender)
DingTalk 钉钉          ``dingtalk://TOKEN`` or ``dingtalk://SECRET@TOKEN``
Feishu / Lark 飞书     ``feishu://TOKEN``, ``lark://TOKEN``
WeCom 企业微信         ``wecombot://KEY`` (a group robot)
Slack                  ``slack://TokenA/TokenB/TokenC``
Microsoft Teams        ``workflows://HOST:PORT/WORKFLOW/SIGNATURE`` (Power Automate)
generic JSON webhook   ``json://host:port/path`` (``jsons://`` for HTTPS); Apprise posts
                       ``{"title": ..., "message": ..., "type": ...}``
=====================  ===========================================================

A delivery that fails is reported (one line per delivery in the run's output, and
``notifications: [{target, ok, error}]`` in ``manifest.json``) and never fails the report.
Passwords, tokens and keys in the URLs are masked (:func:`mask`) wherever a target is shown.
No network is used unless a URL is given.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable
from pathlib import Path
from urllib.parse import quote, unquote, urlsplit, urlunsplit

from salesnb.alerts import message_text
from salesnb.formatting import headline
from salesnb.i18n import _, period_label, plural

ENV_VAR = "SALESNB_NOTIFY"
TOP_ACTIONS = 5

# a query key naming a secret: its value is masked
_SECRET_KEY = re.compile(r"token|secret|pass|key|auth|sig|cred|session|cookie", re.I)
# a long run of letters and digits (webhook tokens, keys): masked
_TOKEN = re.compile(
    r"(?<![A-Za-z0-9_-])(?=[A-Za-z0-9_-]*\d)(?=[A-Za-z0-9_-]*[A-Za-z])[A-Za-z0-9_-]{12,}"
)
# where one URL ends in SALESNB_NOTIFY: spaces, or a comma before the next scheme://
_SPLIT = re.compile(r"\s+|,\s*(?=[A-Za-z][A-Za-z0-9+.-]*://)")


def targets_from_env(value: str | None) -> list[str]:
    """The URLs of ``SALESNB_NOTIFY``: separated by spaces or commas (a comma inside a URL,
    as in ``?to=a@x.com,b@x.com``, stays in it).

    >>> targets_from_env("mailto://h?to=a@x.com,b@x.com, json://h/p  slack://a/b/c")
    ['mailto://h?to=a@x.com,b@x.com', 'json://h/p', 'slack://a/b/c']
    """
    return [t for t in _SPLIT.split(value or "") if t.strip(" ,")]


def _mask_tokens(text: str) -> str:
    return _TOKEN.sub(lambda m: m[0][:2] + "****", text)


def mask(url: str) -> str:
    """``url`` with its secrets replaced by ``****``: the password, the values of query keys
    that name a secret (token, key, secret, password, auth ...) and long runs of letters and
    digits (webhook tokens), of which the first two characters are kept.

    >>> mask("mailto://me:hunter2@smtp.example.com:587?to=sales@example.com")
    'mailto://me:****@smtp.example.com:587?to=sales@example.com'
    >>> mask("dingtalk://SEC0123456789abcdef@abcdef0123456789abcdef")
    'dingtalk://SE****@ab****'
    >>> mask("json://127.0.0.1:8080/hook?+X-Token=abc&format=text")
    'json://127.0.0.1:8080/hook?+X-Token=****&format=text'
    """
    try:
        parts = urlsplit(url)
        netloc = parts.netloc
        if "@" in netloc:
            userinfo, host = netloc.rsplit("@", 1)
            user, colon, _ = userinfo.partition(":")
            netloc = f"{user}{':****' if colon else ''}@{host}"
        pairs = [p.partition("=") for p in parts.query.split("&")] if parts.query else []
        query = "&".join(
            k + eq + ("****" if eq and _SECRET_KEY.search(unquote(k)) else v) for k, eq, v in pairs
        )
        masked = urlunsplit((parts.scheme, netloc, parts.path, query, ""))
    except ValueError:
        masked = url.split("://", 1)[0] + "://****"
    return _mask_tokens(masked)


def report_link(final: Path, report_url: str | None, period_label: str) -> str:
    """Where the message points: ``<report_url>/<period>/index.html`` when the reports
    folder is served over HTTP, else the path of ``index.html``.

    >>> report_link(Path("/srv/reports/2026-Q3"), "https://bi.example.com/reports/", "2026-Q3")
    'https://bi.example.com/reports/2026-Q3/index.html'
    """
    if report_url:
        return f"{report_url.rstrip('/')}/{quote(period_label)}/index.html"
    return str(Path(final).resolve() / "index.html")


def _alert_line(a: dict) -> str:
    shown = headline(a.get("actual"), str(a.get("key", "")))
    limit = headline(a.get("value"), str(a.get("key", "")))
    rule = f"{a.get('study')}.{a.get('key')}"
    return _("- {message}: {rule} = {value} ({op} {limit})").format(
        message=message_text(a), rule=rule, value=shown, op=a.get("op"), limit=limit
    )


def _action_line(a: dict, currency: str) -> str:
    at_stake = a.get("amount_at_stake")
    fields = {"study": a["study"], "action": a["action"], "owner": a["owner"], "due": a["due"]}
    if not at_stake:
        return _("- [{study}] {action} (owner: {owner}; due {due})").format(**fields)
    amount = f"{headline(at_stake)}{' ' + currency if currency else ''}"
    return _("- [{study}] {action} (owner: {owner}; at stake {amount}; due {due})").format(
        amount=amount, **fields
    )


def message(
    period: str, alerts: list[dict], actions: list[dict], link: str, currency: str = ""
) -> tuple[str, str]:
    """The title and plain-text body sent to every target, in the run's language.

    >>> title, body = message("2026-Q3", [{"study": "funnel", "key": "win_rate", "op": "<",
    ...     "value": 0.2, "actual": 0.18, "message": "Win rate below 20%"}], [], "/r/index.html")
    >>> title
    'salesnb report 2026-Q3: 1 alert fired'
    >>> print(body)
    Sales report 2026-Q3 is published.
    <BLANKLINE>
    Alerts fired (1):
    - Win rate below 20%: funnel.win_rate = 18.0% (< 20.0%)
    <BLANKLINE>
    Report: /r/index.html
    """
    n = len(alerts)
    shown = period_label(period)
    if n:
        title = plural(
            n,
            "salesnb report {period}: {n} alert fired",
            "salesnb report {period}: {n} alerts fired",
        ).format(period=shown, n=n)
    else:
        title = _("salesnb report {period}: no alerts fired").format(period=shown)
    lines = [_("Sales report {period} is published.").format(period=shown), ""]
    if alerts:
        lines += [_("Alerts fired ({n}):").format(n=n), *(_alert_line(a) for a in alerts), ""]
    else:
        lines += [_("No alert fired."), ""]
    if actions:
        lines += [_("Top actions:"), *(_action_line(a, currency) for a in actions), ""]
    lines.append(_("Report: {link}").format(link=link))
    return title, "\n".join(lines)


class _Captured(logging.Handler):
    """Apprise's own log lines for one delivery: its warnings say why a delivery failed."""

    def __init__(self):
        super().__init__(logging.DEBUG)
        self.problems: list[str] = []
        self.details: list[str] = []

    def emit(self, record: logging.LogRecord) -> None:
        text = record.getMessage()
        if record.levelno >= logging.WARNING:
            self.problems.append(text)
        elif "exception" in text.lower() or "errno" in text.lower():
            self.details.append(text)

    def error(self) -> str:
        detail = ""
        if self.details:
            errno = re.search(r"\[Errno [^\]]+\][^'\")]*", self.details[-1])
            detail = errno[0].strip() if errno else self.details[-1][:200]
        text = "; ".join(dict.fromkeys(p.rstrip(". ") for p in self.problems)) or "not delivered"
        return _mask_tokens(f"{text} ({detail})" if detail else text)


def _send_one(url: str, title: str, body: str) -> dict:
    import apprise

    log = logging.getLogger("apprise")
    handler, level, propagate = _Captured(), log.level, log.propagate
    log.addHandler(handler)
    log.setLevel(logging.DEBUG)
    log.propagate = False  # the run prints one line per delivery, not apprise's own
    try:
        sender = apprise.Apprise()
        if not sender.add(url):
            return {
                "target": mask(url),
                "ok": False,
                "error": "not a notification URL Apprise knows",
            }
        ok = bool(sender.notify(body=body, title=title, body_format=apprise.NotifyFormat.TEXT))
        return {"target": mask(url), "ok": ok, "error": None if ok else handler.error()}
    except Exception as exc:  # a delivery never fails the report
        return {
            "target": mask(url),
            "ok": False,
            "error": _mask_tokens(f"{type(exc).__name__}: {exc}"),
        }
    finally:
        log.removeHandler(handler)
        log.setLevel(level)
        log.propagate = propagate


def send(
    targets: Iterable[str],
    period: str,
    alerts: list[dict],
    actions: list[dict],
    link: str,
    currency: str = "",
) -> list[dict]:
    """Send the report's message to every target, one after the other; one result per
    target: ``{"target": masked URL, "ok": bool, "error": None or why}``. Never raises."""
    title, body = message(period, alerts, actions, link, currency)
    return [_send_one(url, title, body) for url in targets if str(url).strip()]


def outcome_line(result: dict) -> str:
    """The run's line for one delivery.

    >>> outcome_line({"target": "json://h/p", "ok": False, "error": "refused"})
    'notify json://h/p: FAILED (refused)'
    """
    if result["ok"]:
        return _("notify {target}: sent").format(target=result["target"])
    return _("notify {target}: FAILED ({error})").format(
        target=result["target"], error=result["error"]
    )
