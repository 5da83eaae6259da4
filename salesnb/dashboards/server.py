"""Serving the dashboards: Voilà over ``notebooks/dashboards``.

Preheated kernels, idle-kernel culling, hidden code and no tracebacks, bound to 127.0.0.1
unless told otherwise. The warehouse reaches every notebook through ``SALESNB_SOURCE`` (see
:func:`salesnb.config.default_source`) and the language through ``SALESNB_LANG`` (the
language of the process that serves: ``salesnb dashboard --lang zh-CN``; a page's
``?lang=`` overrides it for that page); the Voilà configuration and the offline template live
in ``salesnb/voila`` (:data:`VOILA_CONFIG_DIR`).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
from pathlib import Path

from salesnb import config, i18n
from salesnb.dashboards import access
from salesnb.i18n import _
from salesnb.sources import connect

VOILA_CONFIG_DIR = config.PACKAGE_DIR / "voila"
DEFAULT_PORT = 8866
DEFAULT_POOL_SIZE = 2  # preheated kernels per dashboard: two viewers at once get a ~1 s page
# `salesnb dashboard --viewers N`: N preheated kernels per dashboard, so N viewers arriving
# together each get a kernel that has already run the notebook (one started on demand takes
# ~5 CPU-seconds: ten of them on 2 cores kept the last viewer waiting ~50 s).
# A used kernel is replaced REFILL_DELAY_SECONDS later (Voilà's fill_delay, 1 s by default):
# starting replacements at once would take the CPU from the viewers just served.
REFILL_DELAY_SECONDS = 30
DEFAULT_CULL_IDLE_SECONDS = 600  # an idle viewer kernel holds ~290 MB; free it after 10 min
DEFAULT_CULL_INTERVAL_SECONDS = 60
IDENTITY_PROVIDER = "salesnb.dashboards.gate.SalesnbIdentityProvider"


def voila_command(
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    pool_size: int = DEFAULT_POOL_SIZE,
    cull_idle_seconds: int = DEFAULT_CULL_IDLE_SECONDS,
    cull_interval_seconds: int = DEFAULT_CULL_INTERVAL_SECONDS,
    notebooks: Path | None = None,
    preheat: bool = True,
    auth: bool = False,
    refill_delay_seconds: float = REFILL_DELAY_SECONDS,
) -> list[str]:
    """The Voilà command line ``serve`` runs (also used by the benchmark).

    ``preheat=False`` starts each viewer's kernel on request instead of keeping ``pool_size``
    preheated (a test opening a few pages once starts no kernel it does not use); with it,
    ``pool_size`` kernels per dashboard wait for viewers (``salesnb dashboard --viewers``), and a
    used one is replaced ``refill_delay_seconds`` later. ``auth``:
    viewers sign in or come with a signed link (:mod:`salesnb.dashboards.gate`); the secret
    reaches Voilà through its environment (:func:`voila_env`), never this command line."""
    gate = [f"--Voila.identity_provider_class={IDENTITY_PROVIDER}"] if auth else []
    refill = [f"--VoilaKernelManager.fill_delay={float(refill_delay_seconds):g}"] if preheat else []
    return [
        sys.executable,
        "-m",
        "voila",
        str(notebooks or config.DASHBOARD_DIR),
        "--no-browser",
        f"--port={int(port)}",
        "--Voila.port_retries=0",  # the asked port or a clear failure, never a surprise port
        f"--Voila.ip={host}",
        f"--preheat_kernel={bool(preheat)}",
        f"--pool_size={int(pool_size) if preheat else 0}",
        "--show_tracebacks=False",
        "--strip_sources=True",
        "--template=salesnb",  # lab without CDN links: salesnb/voila/share/voila/templates/salesnb
        f"--MappingKernelManager.cull_idle_timeout={int(cull_idle_seconds)}",
        f"--MappingKernelManager.cull_interval={int(cull_interval_seconds)}",
        f"--Voila.config_file_paths={VOILA_CONFIG_DIR}",
        *refill,
        *gate,
    ]


def voila_env(source: str, host: str = "127.0.0.1") -> dict[str, str]:
    """Environment for the Voilà process; its kernels inherit it (``serve`` hands the
    dashboards' secret over in a pipe instead)."""
    env = dict(os.environ)
    env["SALESNB_SOURCE"] = source  # every dashboard notebook reads the warehouse from here
    # the server's language (set_language / --lang, else SALESNB_LANG): every kernel speaks it
    env[i18n.ENV_VAR] = i18n.language()
    # Preheated kernels ask the server for the viewer's request on VOILA_APP_IP (default 127.0.0.1).
    env["VOILA_APP_IP"] = "127.0.0.1" if host in ("", "0.0.0.0", "::", "localhost") else host
    # The salesnb template lives in our own data dir, found through JUPYTER_PATH.
    share = str(VOILA_CONFIG_DIR / "share")
    env["JUPYTER_PATH"] = os.pathsep.join(p for p in (share, env.get("JUPYTER_PATH", "")) if p)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def serve(
    source: str | None = None,
    port: int = DEFAULT_PORT,
    host: str = "127.0.0.1",
    pool_size: int = DEFAULT_POOL_SIZE,
    token_file: str | Path | None = None,
) -> int:
    """Serve ``notebooks/dashboards`` with Voilà until interrupted; returns the exit code.

    With a secret (``$SALESNB_DASHBOARD_TOKEN`` or ``token_file``) viewers sign in or come with
    a signed link; without one, only the loopback address is served
    (:func:`salesnb.dashboards.access.require_secret` raises otherwise, before anything starts).
    """
    secret = access.read_secret(token_file)
    access.require_secret(host, secret)
    src = connect(source or None)  # fails early with a clear message when the warehouse is missing
    resolved = str(src.path.resolve()) if src.path is not None else src.description
    src.close()
    env = voila_env(resolved, host)
    cmd = voila_command(
        port=port, host=host, pool_size=pool_size, preheat=pool_size > 0, auth=bool(secret)
    )
    who = _("sign-in or a signed link required") if secret else _("no sign-in: this machine only")
    print(
        _("salesnb: serving dashboards on {url} (source {source}; {access}); Ctrl-C stops").format(
            url=f"http://{host}:{port}/", source=resolved, access=who
        ),
        file=sys.stderr,
        flush=True,
    )
    fds: tuple[int, ...] = ()
    if secret:  # in a pipe, not the environment the kernels inherit
        for name in (access.ENV_TOKEN, access.ENV_TOKEN_FILE):
            env.pop(name, None)
        fds = (access.secret_pipe(secret),)
        env[access.ENV_TOKEN_FD] = str(fds[0])
    try:
        proc = subprocess.Popen(cmd, env=env, cwd=str(config.PROJECT_ROOT), pass_fds=fds)
    finally:
        for fd in fds:
            os.close(fd)

    def stop(signum, _frame):
        # A service manager (or a test) stops us with SIGTERM: take Voilà and its kernels along.
        if proc.poll() is None:
            proc.send_signal(signum)

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        return proc.wait()
    except KeyboardInterrupt:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
        return 130
    finally:
        signal.signal(signal.SIGTERM, previous)
        if proc.poll() is None:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
