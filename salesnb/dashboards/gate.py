"""The door of the dashboard server: Jupyter Server's identity provider, as Voilà uses it.

Voilà runs on Jupyter Server, whose pages and kernel sockets ask an *identity provider* who
the viewer is (``Voila.identity_provider_class``); a page answered "nobody" redirects to the
login page, a kernel socket is refused. ``salesnb dashboard`` with a secret
(:mod:`salesnb.dashboards.access`) runs Voilà with :class:`SalesnbIdentityProvider`:

- a viewer signs in on the login page with the secret (or a script sends it in an
  ``Authorization: token ...`` header, never in the address): they see every board;
- a signed link opens its board with its filters pinned (the board locks them), and lets that
  page talk to its kernel; with only a link, the list of boards or a board without a valid
  signature leads to the login page;
- an edited, tampered or expired link leads to a page saying so (HTTP 403), never to data.

``salesnb dashboard`` hands the secret to Voilà through a pipe (``SALESNB_DASHBOARD_TOKEN_FD``),
read once at start: it is in no environment, so the kernels (which inherit the server's
environment) never hold it.
"""

from __future__ import annotations

import datetime as dt
import html
import os
from urllib.parse import parse_qsl, urlsplit

from jupyter_server.auth.decorator import allow_unauthenticated
from jupyter_server.auth.identity import IdentityProvider, User
from jupyter_server.base.handlers import JupyterHandler

from salesnb import i18n
from salesnb.dashboards import access
from salesnb.i18n import N_, _

LINK_USER = "salesnb-link"  # the identity of a viewer who came with a signed link
# pages (as opposed to the kernel sockets and static files a page uses); relative to base_url
PAGE_PREFIXES = ("voila/render", "voila/tree", "voila/api/contents")

TEXTS = {
    "title": N_("Sales dashboards: sign in"),
    "intro": N_(
        "These dashboards are private. Sign in with the access token you were given, or open "
        "the signed link you received."
    ),
    "token": N_("Access token"),
    "submit": N_("Sign in"),
    "wrong": N_("That token is not right. Try again, or ask whoever runs the dashboards."),
    "refused": N_("This link cannot be opened"),
    "other": N_("If you have the access token, you can sign in instead:"),
    "signed_out": N_("You are signed out."),
}

STYLE = (
    "body{font-family:system-ui,sans-serif;max-width:36rem;margin:4rem auto;padding:0 1rem;"
    "color:#222}h1{font-size:1.4rem}.snb-refused{border-left:4px solid #b42318;"
    "padding:.5rem 1rem;background:#fef3f2}.snb-wrong{color:#b42318}"
    "input{font-size:1rem;padding:.4rem;width:100%;box-sizing:border-box;margin:.3rem 0 .8rem}"
    "button{font-size:1rem;padding:.4rem 1.2rem}"
)


def page_path(handler) -> str:
    """The request's path below the server's base URL, without slashes at either end."""
    base = str(handler.settings.get("base_url", "/") or "/")
    path = handler.request.path
    if path.startswith(base):
        path = path[len(base) :]
    return path.strip("/")


def is_page(path: str) -> bool:
    """Whether ``path`` (from :func:`page_path`) is a page: the list of boards or a board."""
    return path == "" or path.startswith(PAGE_PREFIXES)


def render_board(path: str) -> str | None:
    """The board a ``voila/render/...`` path draws, else None."""
    if not path.startswith("voila/render/"):
        return None
    return access.board_name(path)


class SalesnbIdentityProvider(IdentityProvider):
    """Sign-in with the server's secret, or a signed link for one board with pinned filters."""

    def __init__(self, **kwargs):
        # Voilà passes its own token ("" without --token) and login page: ours replace them
        kwargs.pop("token", None)
        kwargs.pop("login_handler_class", None)
        super().__init__(**kwargs)
        self.secret = access.secret_from_pipe()
        if not self.secret:
            raise access.AccessError(
                _("the dashboard server was started without a token ({env})").format(
                    env=access.ENV_TOKEN
                )
            )
        for name in (access.ENV_TOKEN, access.ENV_TOKEN_FILE):
            os.environ.pop(name, None)  # Voilà started by hand: kernels started from now on
        self.token = self.secret
        self.login_handler_class = LoginHandler
        self.logout_handler_class = LogoutHandler

    @property
    def auth_enabled(self) -> bool:
        return True

    def get_token(self, handler) -> str | None:
        """The secret from an ``Authorization: token ...`` header only: an address with the
        secret in it would end up in browser histories and proxy logs."""
        m = self.auth_header_pat.match(handler.request.headers.get("Authorization", ""))
        return m.group(2) if m else None

    def set_link_cookie(self, handler, user: User, expires: dt.datetime) -> None:
        """The session of a link's viewer (its page's kernel socket) ends with the link."""
        options = {"httponly": True, "path": handler.base_url, "expires": expires}
        if self.secure_cookie or handler.request.protocol == "https":
            options["secure"] = True
        handler.set_secure_cookie(
            self.get_cookie_name(handler), self.user_to_cookie(user), **options
        )

    async def get_user(self, handler) -> User | None:
        path = page_path(handler)
        board = render_board(path)
        if board is not None and access.is_signed(handler.request.query):
            verdict = access.check(self.secret, board, handler.request.query)
            if not verdict.ok:
                return None  # the login page says why (LoginHandler reads `next`)
            user = await super().get_user(handler)
            if user is not None and user.username != LINK_USER:
                return user  # signed in already: keep the full session
            user = User(LINK_USER, name="link " + ", ".join(verdict.pins.values()))
            self.set_link_cookie(handler, user, verdict.expires)
            return user
        user = await super().get_user(handler)
        if user is not None and user.username == LINK_USER and is_page(path):
            return None  # a link opens its own board only
        return user


def _same_site(target: str, base: str) -> str:
    """``target`` when it is a path on this server, else the server's base URL."""
    parts = urlsplit(target or "")
    if parts.scheme or parts.netloc or not target.startswith("/") or target.startswith("//"):
        return base
    return target


def _verdict_for(secret: str, target: str) -> access.Verdict | None:
    """The verdict on the signed link the viewer was sent away from, if it was one."""
    parts = urlsplit(target or "")
    path = parts.path.strip("/")
    if "voila/render/" not in path or not access.is_signed(parts.query):
        return None
    board = access.board_name(path)
    return access.check(secret, board, parts.query, dt.datetime.now(dt.UTC))


def _lang_of(target: str) -> str | None:
    """The language the page the viewer asked for was to speak (``?lang=``), if any."""
    given = dict(parse_qsl(urlsplit(target or "").query)).get("lang")
    try:
        return i18n.normalise(given) if given else None
    except i18n.LanguageError:
        return None


class _PageHandler(JupyterHandler):
    """A small self-contained page (no script, no external file) in the viewer's language."""

    def page(self, body: str, status: int = 200, lang: str | None = None) -> None:
        self.set_status(status)
        self.set_header("Content-Type", "text/html; charset=utf-8")
        self.set_header("Cache-Control", "no-store")
        self.set_header("X-Frame-Options", "DENY")
        code = "zh-CN" if (lang or i18n.language()) == "zh-CN" else "en"
        title = html.escape(_(TEXTS["title"]))
        self.finish(
            f'<!doctype html><html lang="{code}"><head><meta charset="utf-8">'
            f'<meta name="viewport" content="width=device-width"><title>{title}</title>'
            f"<style>{STYLE}</style></head><body>{body}</body></html>"
        )

    def form(self, target: str, wrong: bool = False) -> str:
        action = html.escape(self.base_url.rstrip("/") + "/login", quote=True)
        wrong_html = f'<p class="snb-wrong">{html.escape(_(TEXTS["wrong"]))}</p>' if wrong else ""
        return (
            f'<form class="snb-login" method="post" action="{action}">{wrong_html}'
            f"{self.xsrf_form_html()}"
            f'<input type="hidden" name="next" value="{html.escape(target, quote=True)}">'
            f'<label for="snb-token">{html.escape(_(TEXTS["token"]))}</label>'
            f'<input id="snb-token" type="password" name="password" autocomplete="current-password"'
            f' autofocus><button type="submit">{html.escape(_(TEXTS["submit"]))}</button></form>'
        )


class LoginHandler(_PageHandler):
    """The login page; after a refused signed link, the page saying why."""

    def _speaking(self, target: str):
        before = i18n.language()
        i18n.set_language(_lang_of(target) or before)
        return before

    @allow_unauthenticated
    def get(self) -> None:
        target = _same_site(self.get_argument("next", ""), self.base_url)
        before = self._speaking(target)
        try:
            verdict = _verdict_for(self.identity_provider.secret, target)
            if verdict is not None and not verdict.ok:
                body = (
                    f"<h1>{html.escape(_(TEXTS['refused']))}</h1>"
                    f'<p class="snb-refused" data-reason="{verdict.reason}">'
                    f"{html.escape(verdict.message())}</p>"
                    f"<p>{html.escape(_(TEXTS['other']))}</p>{self.form(self.base_url)}"
                )
                self.page(body, 403)
                return
            body = (
                f"<h1>{html.escape(_(TEXTS['title']))}</h1>"
                f"<p>{html.escape(_(TEXTS['intro']))}</p>{self.form(target)}"
            )
            self.page(body)
        finally:
            i18n.set_language(before)

    @allow_unauthenticated
    def post(self) -> None:
        import hmac

        target = _same_site(self.get_argument("next", ""), self.base_url)
        typed = self.get_argument("password", default="")
        secret = self.identity_provider.secret
        if typed and hmac.compare_digest(typed.encode("utf-8"), secret.encode("utf-8")):
            user = self.identity_provider.generate_anonymous_user(self)
            self.identity_provider.set_login_cookie(self, user)
            self.redirect(target)
            return
        before = self._speaking(target)
        try:
            self.log.warning("dashboard sign-in refused from %s", self.request.remote_ip)
            body = f"<h1>{html.escape(_(TEXTS['title']))}</h1>{self.form(target, wrong=True)}"
            self.page(body, 403)
        finally:
            i18n.set_language(before)


class LogoutHandler(_PageHandler):
    """Sign out: the session cookie goes, the login form comes back."""

    @allow_unauthenticated
    def get(self) -> None:
        self.identity_provider.clear_login_cookie(self)
        body = (
            f"<h1>{html.escape(_(TEXTS['title']))}</h1>"
            f"<p>{html.escape(_(TEXTS['signed_out']))}</p>{self.form(self.base_url)}"
        )
        self.page(body)
