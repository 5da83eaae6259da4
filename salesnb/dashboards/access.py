"""Who may see the dashboards: the server's secret, and signed links that pin the filters.

``salesnb dashboard`` bound to anything but the loopback address refuses to start without a
secret (:func:`require_secret`). The secret comes from the environment
(``SALESNB_DASHBOARD_TOKEN``) or from a file (``--token-file``, passed to the server process as
``SALESNB_DASHBOARD_TOKEN_FILE``), never from the command line, where every user of the machine
could read it in the process list. With a secret, a viewer either signs in with it (the login
page, :mod:`salesnb.dashboards.gate`) or comes with a signed link.

A signed link (``salesnb dashboard link --team "North A" --expires 30d``) is an ordinary board
address whose filters are pinned: ``.../team.ipynb?team=North%20A&expires=1798761600&sig=...``.
``sig`` is an HMAC-SHA256, keyed by the secret, over the board's name and every parameter of
the address except ``sig`` and ``lang`` (the page's language is the viewer's choice); changing,
adding or removing any other parameter, or passing ``expires``, makes the server refuse the
link. The board reads the pinned filters from the address like any other (:func:`link_pins`)
and locks them (:meth:`salesnb.dashboards.boards.Board.apply_url`).

Why the standard library's :mod:`hmac` and not ``itsdangerous``: a link needs one primitive,
HMAC-SHA256 over a canonical text with a constant-time comparison, which :mod:`hmac` is;
``itsdangerous`` would add a dependency whose serializers pack the payload into an opaque token,
while the boards read their filters from readable URL parameters (what a manager sees in the
address bar is what is pinned), so only its ``Signer`` (the same HMAC) would be used.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import ipaddress
import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import parse_qsl, quote, urlencode

from salesnb.errors import SalesnbError
from salesnb.i18n import N_, _

ENV_TOKEN = "SALESNB_DASHBOARD_TOKEN"
ENV_TOKEN_FILE = "SALESNB_DASHBOARD_TOKEN_FILE"
ENV_TOKEN_FD = "SALESNB_DASHBOARD_TOKEN_FD"  # serve -> Voilà: a pipe holding the secret
ENV_URL = "SALESNB_DASHBOARD_URL"  # where the dashboards are served, for `dashboard link`
MIN_SECRET_CHARS = 16
PINNABLE = ("team", "region")  # the filters a link can pin
SIG, EXPIRES = "sig", "expires"
FREE_PARAMETERS = ("lang",)  # not signed: a viewer may switch the page's language
BOARDS = ("team", "executive")
DEFAULT_BOARD = "team"
DEFAULT_EXPIRES = "30d"
_KEY_LABEL = b"salesnb dashboard link v1"

# why a link is refused (the page the viewer gets says it in their language)
REASONS = {
    "tampered": N_(
        "This link was changed after it was issued (its filters or its signature do not "
        "match). Open the link exactly as you received it, or ask for a new one."
    ),
    "expired": N_("This link expired on {date}. Ask whoever sent it for a new one."),
    "malformed": N_(
        "This link is incomplete (a parameter is missing or given twice). Open the link "
        "exactly as you received it, or ask for a new one."
    ),
}


class AccessError(SalesnbError):
    """The dashboards' secret is missing, unreadable or too weak, or a link cannot be made."""


@dataclass(frozen=True)
class Verdict:
    """What the server decides about a signed link: ``ok``, or the ``reason`` it is refused
    (a key of :data:`REASONS`); ``pins`` the filters it pins, ``expires`` its end (UTC)."""

    ok: bool
    reason: str = ""
    pins: dict = field(default_factory=dict)
    expires: dt.datetime | None = None

    def message(self) -> str:
        """The refusal in the language in use ("" for a valid link)."""
        if self.ok:
            return ""
        day = self.expires.strftime("%Y-%m-%d %H:%M UTC") if self.expires else ""
        return _(REASONS[self.reason]).format(date=day)


def read_secret(token_file: str | Path | None = None, environ=None) -> str | None:
    """The dashboards' secret: the file ``token_file`` (else ``$SALESNB_DASHBOARD_TOKEN_FILE``),
    else ``$SALESNB_DASHBOARD_TOKEN``; None when none is given. Surrounding blanks (a file's
    final newline) are not part of it. :class:`AccessError` naming the file when it cannot be
    read, and when the secret is shorter than :data:`MIN_SECRET_CHARS`."""
    env = os.environ if environ is None else environ
    path = token_file or env.get(ENV_TOKEN_FILE) or None
    if path:
        try:
            secret = Path(path).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            reason = getattr(exc, "strerror", None) or str(exc)
            raise AccessError(
                _("{file}: cannot read the dashboard token ({reason})").format(
                    file=path, reason=reason
                )
            ) from None
        where = str(path)
    else:
        secret = (env.get(ENV_TOKEN) or "").strip()
        where = ENV_TOKEN
    if not secret:
        if path:
            raise AccessError(_("{file}: the dashboard token file is empty").format(file=path))
        return None
    if len(secret) < MIN_SECRET_CHARS:
        raise AccessError(
            _(
                "{where}: the dashboard token is {n} characters long; use at least {min} "
                "(for example: python -c 'import secrets; print(secrets.token_urlsafe(32))')"
            ).format(where=where, n=len(secret), min=MIN_SECRET_CHARS)
        )
    return secret


def secret_pipe(secret: str) -> int:
    """A pipe's reading end holding ``secret`` (the writing end closed): how ``serve`` hands
    the secret to the Voilà process, so it is in no environment a kernel inherits."""
    read_fd, write_fd = os.pipe()
    try:
        os.write(write_fd, secret.encode("utf-8"))  # far below a pipe's buffer
    finally:
        os.close(write_fd)
    return read_fd


def secret_from_pipe(environ=None) -> str | None:
    """The secret ``serve`` put in a pipe (``$SALESNB_DASHBOARD_TOKEN_FD``), read once and the
    pipe closed; else :func:`read_secret` (Voilà started by hand with the environment)."""
    env = os.environ if environ is None else environ
    fd = env.pop(ENV_TOKEN_FD, None)
    if fd is None:
        return read_secret(None, env)
    chunks = []
    with os.fdopen(int(fd), "rb") as pipe:
        while chunk := pipe.read(4096):
            chunks.append(chunk)
    return b"".join(chunks).decode("utf-8").strip() or None


def is_loopback(host: str) -> bool:
    """Whether ``host`` is reachable only from this machine (127.0.0.1, ::1, localhost).

    >>> is_loopback("127.0.0.1"), is_loopback("localhost"), is_loopback("0.0.0.0")
    (True, True, False)
    """
    text = str(host).strip().strip("[]")
    if text.lower() == "localhost":
        return True
    try:
        return ipaddress.ip_address(text).is_loopback
    except ValueError:  # a host name or "" (every address): reachable from elsewhere
        return False


def require_secret(host: str, secret: str | None) -> None:
    """:class:`AccessError` (one line) when serving on ``host`` needs a secret and there is
    none: any address but the loopback one."""
    if secret or is_loopback(host):
        return
    raise AccessError(
        _(
            "refusing to serve the dashboards on {host} without authentication: set "
            "{env} to a secret of at least {min} characters, or pass --token-file FILE "
            "(never the secret itself on the command line)"
        ).format(host=host or "0.0.0.0", env=ENV_TOKEN, min=MIN_SECRET_CHARS)
    )


def parse_expiry(text: str, now: dt.datetime | None = None) -> dt.datetime:
    """When a link given ``--expires`` ends: ``30d``, ``12h``, ``2w`` from ``now``, or the end
    of a day ``2027-01-31`` (UTC). :class:`AccessError` otherwise.

    >>> now = dt.datetime(2026, 12, 1, tzinfo=dt.UTC)
    >>> parse_expiry("30d", now).date(), parse_expiry("2027-01-31", now).isoformat()
    (datetime.date(2026, 12, 31), '2027-02-01T00:00:00+00:00')
    """
    now = now or dt.datetime.now(dt.UTC)
    value = str(text).strip().lower()
    m = re.fullmatch(r"(\d+)\s*([hdw])", value)
    if m:
        n, unit = int(m.group(1)), m.group(2)
        delta = {"h": dt.timedelta(hours=n), "d": dt.timedelta(days=n), "w": dt.timedelta(weeks=n)}
        end = now + delta[unit]
    else:
        try:
            day = dt.date.fromisoformat(value)
        except ValueError:
            raise AccessError(
                _(
                    "--expires {value}: expected a duration such as 30d, 12h or 2w, or a day "
                    "YYYY-MM-DD"
                ).format(value=repr(str(text)[:40]))
            ) from None
        end = dt.datetime.combine(day + dt.timedelta(days=1), dt.time(), dt.UTC)
    if end <= now:
        raise AccessError(
            _("--expires {value}: that is already past").format(value=repr(str(text)[:40]))
        )
    return end


def _key(secret: str) -> bytes:
    # links are signed with a key derived from the secret, never with the login secret itself
    return hmac.new(secret.encode("utf-8"), _KEY_LABEL, hashlib.sha256).digest()


def _signature(secret: str, board: str, params: list[tuple[str, str]]) -> str:
    """HMAC-SHA256 over the board and the sorted, decoded parameters (so ``+`` or ``%20`` in the
    address make no difference), base64url without padding."""
    text = "\n".join([board, *(f"{k}={v}" for k, v in sorted(params))])
    mac = hmac.new(_key(secret), text.encode("utf-8"), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).rstrip(b"=").decode("ascii")


def board_name(path: str) -> str:
    """The board a page path shows: ``/voila/render/team.ipynb`` -> ``team``."""
    name = str(path).rstrip("/").rsplit("/", 1)[-1]
    return name[: -len(".ipynb")] if name.endswith(".ipynb") else name


def sign(secret: str, board: str, pins: dict, expires: dt.datetime) -> str:
    """The query string of a signed link to ``board`` pinning ``pins`` until ``expires``."""
    if board not in BOARDS:
        raise AccessError(
            _("unknown board {board}; known boards: {known}").format(
                board=repr(board), known=", ".join(BOARDS)
            )
        )
    unknown = set(pins) - set(PINNABLE)
    given = {k: str(v) for k, v in pins.items() if str(v or "").strip()}
    if unknown or not given:
        raise AccessError(_("a link pins a team or a region: pass --team or --region"))
    params = [(k, given[k]) for k in PINNABLE if k in given]
    params.append((EXPIRES, str(int(expires.timestamp()))))
    params.append((SIG, _signature(secret, board, params)))
    return urlencode(params, quote_via=quote)


def make_link(
    secret: str,
    base_url: str,
    pins: dict,
    expires: dt.datetime,
    board: str = DEFAULT_BOARD,
) -> str:
    """The full signed address of ``board`` on the server at ``base_url``."""
    base = str(base_url).rstrip("/")
    return f"{base}/voila/render/{quote(board)}.ipynb?{sign(secret, board, pins, expires)}"


def is_signed(query_string: str | None) -> bool:
    """Whether a page address carries a link signature (or its expiry)."""
    names = {k for k, _v in parse_qsl(query_string or "", keep_blank_values=True)}
    return SIG in names or EXPIRES in names


def check(secret: str, board: str, query_string: str, now: dt.datetime | None = None) -> Verdict:
    """Whether a signed page address is valid now: the signature first (an edited link is
    ``tampered`` whatever its expiry says), then the expiry."""
    pairs = parse_qsl(query_string or "", keep_blank_values=True)
    names = [k for k, _v in pairs]
    if names.count(SIG) != 1 or names.count(EXPIRES) != 1 or len(set(names)) != len(names):
        return Verdict(False, "malformed")
    signed = [(k, v) for k, v in pairs if k not in (SIG, *FREE_PARAMETERS)]
    given = dict(pairs)[SIG]
    if not hmac.compare_digest(given.encode("utf-8"), _signature(secret, board, signed).encode()):
        return Verdict(False, "tampered")
    values = dict(signed)
    try:
        end = dt.datetime.fromtimestamp(int(values[EXPIRES]), dt.UTC)
    except (ValueError, OverflowError, OSError):
        return Verdict(False, "malformed")
    pins = {k: values[k] for k in PINNABLE if k in values}
    if not pins:
        return Verdict(False, "malformed", expires=end)
    if (now or dt.datetime.now(dt.UTC)) >= end:
        return Verdict(False, "expired", pins, end)
    return Verdict(True, "", pins, end)


def link_pins(query_string: str | None) -> dict[str, str]:
    """The filters a signed page address pins (``{"team": "North A"}``); ``{}`` for an address
    without a signature. The server has checked the signature before the page is drawn
    (:mod:`salesnb.dashboards.gate`), so a board only reads what is pinned.

    >>> link_pins("team=North%20A&expires=1&sig=x&lang=zh-CN"), link_pins("team=North%20A")
    ({'team': 'North A'}, {})
    """
    if not is_signed(query_string):
        return {}
    values = dict(parse_qsl(query_string or "", keep_blank_values=True))
    return {k: values[k] for k in PINNABLE if values.get(k)}


def signed_link(
    team: str | None = None,
    region: str | None = None,
    expires: str = DEFAULT_EXPIRES,
    board: str = DEFAULT_BOARD,
    url: str | None = None,
    token_file: str | Path | None = None,
    source: str | None = None,
    now: dt.datetime | None = None,
) -> str:
    """What ``salesnb dashboard link`` prints: a signed link to ``board`` pinning ``team``
    and/or ``region``, with the secret the server uses; the team and region must be known to
    the warehouse (``source``, default the configured one). :class:`AccessError` or
    :class:`~salesnb.errors.ParameterError` (one line) otherwise."""
    from salesnb.queries.warehouse import check_filters
    from salesnb.sources import connect

    secret = read_secret(token_file)
    if not secret:
        raise AccessError(
            _(
                "no dashboard token to sign the link with: set {env} (as for the server) or "
                "pass --token-file FILE"
            ).format(env=ENV_TOKEN)
        )
    pins = {k: str(v).strip() for k, v in (("team", team), ("region", region)) if v}
    end = parse_expiry(expires, now)
    if pins:
        src = connect(source or None)
        try:
            check_filters(src, pins.get("region"), pins.get("team"), None)
        finally:
            src.close()
    base = url or os.environ.get(ENV_URL) or "http://127.0.0.1:8866"
    return make_link(secret, base, pins, end, board)
