"""Warm kernels: a fork server that imports the analysis stack once.

Starting a python3 kernel and importing pandas / ibis / matplotlib / statsmodels costs
~2.5 s of CPU per study, more than most studies spend computing. A fork server imports
that stack once; each study gets a fresh kernel forked from it (a new process: no state
is shared between studies), started by jupyter_client through a provisioner that asks
the server instead of spawning `python -m ipykernel_launcher`. The server exits when
the run ends or dies (its stdin is a pipe from the run), and its kernels follow it
(ipykernel's parent poller), so a killed run leaves no kernels behind.

This is the only module of salesnb that touches private APIs of jupyter_client, nbconvert,
matplotlib and matplotlib-inline (listed in ``PRIVATE_APIS``); the releases it was written
against are pinned with upper bounds in pyproject.toml, and ``tests/report/
test_private_apis.py`` checks each one still exists with the arguments used here.
"""

from __future__ import annotations

import contextlib
import gc
import json
import math
import os
import shutil
import sys
import threading
import time
from pathlib import Path

KERNEL_NAME = "python3"

# Every private name used below: (module, attribute path). A test checks each one exists.
PRIVATE_APIS = (
    ("jupyter_client.manager", "AsyncKernelManager._async_pre_start_kernel"),
    ("jupyter_client.manager", "AsyncKernelManager._async_finish_shutdown"),
    ("jupyter_client.manager", "AsyncKernelManager._ip_default"),
    ("jupyter_client.asynchronous", "AsyncKernelClient._handle_kernel_info_reply"),
    ("jupyter_client.asynchronous", "AsyncKernelClient._async_is_alive"),
    ("nbconvert", "HTMLExporter._init_resources"),
    ("nbconvert", "HTMLExporter._nb_metadata"),
    ("matplotlib.pyplot", "_draw_all_if_interactive"),
    ("matplotlib.figure", "Figure._suptitle"),
    ("matplotlib_inline.backend_inline", "_fetch_figure_metadata"),
)


ENGINE_NAME = "salesnb"
from salesnb.report.preload import PRELOAD, PRELOAD_PACKAGES  # noqa: E402

_SERVER: dict = {}  # {"socket": path, "proc": Popen} while warm_kernels() is active
_KERNEL_TMP: dict = {}


def _kernel_mode() -> str:
    return "forked from a warm server" if _SERVER.get("socket") else "plain python3"


@contextlib.contextmanager
def warm_kernels():
    """Run a kernel fork server for the duration of the block (no-op when disabled or unavailable)."""
    import subprocess
    import tempfile

    if os.environ.get("SALESNB_WARM_KERNELS", "1") == "0" or not hasattr(os, "fork") or _SERVER:
        yield
        return
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-k-"))
    sock = tmp / "fork.sock"
    env = dict(
        os.environ,
        MPLBACKEND=os.environ.get("MPLBACKEND", "module://matplotlib_inline.backend_inline"),
    )
    proc = subprocess.Popen(
        [sys.executable, "-m", "salesnb.report._forkserver", str(sock)],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        env=env,
    )
    _SERVER.update(socket=str(sock), proc=proc)
    try:
        yield
    finally:
        _SERVER.clear()
        with contextlib.suppress(Exception):
            proc.stdin.close()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def _stop_server_now() -> None:
    """Kill a server no study will use (it would only answer its pipe after importing everything)."""
    proc = _SERVER.get("proc")
    if proc is not None:
        with contextlib.suppress(Exception):
            proc.kill()


def _fork_server(sock_path: str) -> None:
    """The server loop: bind first (clients queue while the stack imports), preload, fork on request."""
    import importlib
    import select
    import signal
    import socket

    lsock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    lsock.bind(sock_path)
    lsock.listen(64)
    import pkgutil

    # Study kernels run unattended: no debugger. ipykernel then skips debugpy (~0.07 s of
    # import on the way to the first kernel) and the set-up of a debugger in every kernel.
    sys.modules.setdefault("debugpy", None)
    import ipykernel.kernelapp  # noqa: F401 - preloaded for the children

    for mod in PRELOAD:
        with contextlib.suppress(Exception):  # a missing optional module only costs speed
            importlib.import_module(mod)
    for pkg in PRELOAD_PACKAGES:
        with contextlib.suppress(Exception):
            for info in pkgutil.iter_modules(importlib.import_module(pkg).__path__, pkg + "."):
                with contextlib.suppress(Exception):
                    importlib.import_module(info.name)
    with contextlib.suppress(Exception):  # first-use costs every kernel would pay again
        _warm_up()
    # Everything the server holds is shared by its kernels; frozen, their garbage collections
    # skip it (and do not copy its pages by touching it).
    gc.freeze()
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)  # children are reaped automatically
    stdin = sys.stdin.buffer
    while True:
        ready, _, _ = select.select([lsock, stdin], [], [])
        if stdin in ready and not os.read(stdin.fileno(), 4096):
            # the run ended or died; exit without tearing down the imported stack (~1 s that
            # the run would spend waiting): the server holds no file or state to flush
            os._exit(0)
        if lsock not in ready:
            continue
        conn, _ = lsock.accept()
        with conn:  # the server's copy; the kernel answers on its own copy
            request = json.loads(conn.makefile("rb").readline())
            pid = os.fork()
            if pid == 0:
                lsock.close()
                _kernel_child(request, conn)  # never returns


def _warm_up() -> None:
    """Pay once, in the server, what the first chart, query and table of every study cost.

    A chart in the house style loads the fonts (the CJK fallback included) and fills
    matplotlib's text caches; compiling a typical grouped query fills Ibis' and sqlglot's
    caches; a styled table compiles pandas' templates. ~0.1 s per kernel otherwise. Nothing
    is opened (no database, no file) and the matplotlib settings are restored afterwards.
    """
    import ibis
    import matplotlib
    import pandas as pd
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    from salesnb import plots

    with matplotlib.rc_context():
        plots.use_house_style()
        fig = Figure(figsize=(8, 4))
        FigureCanvasAgg(fig)
        ax = fig.add_subplot()
        ax.bar(["North", "South"], [1.5e6, 2.5e6], label="revenue")
        ax.plot([0, 1], [2e6, 2.2e6], marker="o", label="target")
        plots.money_axis(ax)
        ax.set_title("Warm-up 华东 " + "%")
        ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))
        plots.figure_svg(fig)  # the way study charts are drawn
    t = ibis.table({"d": "date", "k": "string", "v": "float64", "n": "int64"}, name="t")
    f = t.filter((t.d >= ibis.literal(pd.Timestamp("2026-01-01").date())) & (t.k == "x"))
    f = f.mutate(m=f.d.truncate("M"))
    ibis.to_sql(f.group_by(["m", "k"]).aggregate(v=f.v.sum(), n=f.n.nunique()), dialect="duckdb")
    pd.DataFrame({"a": [1.0], "b": ["x"]}).style.format({"a": "{:,.1f}"}).to_html()


def _kernel_child(request: dict, conn) -> None:
    """Become a kernel; send the pid back once its sockets are bound.

    Answering only then matters: a client that connects before the kernel has bound its
    sockets is retried by ZeroMQ 0.1 s later, its first kernel_info status messages are lost
    and jupyter_client waits 0.2 s more for IOPub before it asks again.
    """
    import signal

    code = 1
    try:
        os.setsid()  # its own process group: interrupts and kills reach the kernel and its children
        signal.signal(signal.SIGCHLD, signal.SIG_DFL)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(request["env"])
        sys.argv = ["ipykernel_launcher", *request["argv"]]
        from ipykernel.kernelapp import IPKernelApp

        # exit with the server (ipykernel read JPY_PARENT_PID when the server imported it)
        app = IPKernelApp.instance(parent_handle=os.getppid())
        # No input history: a study kernel is never asked for it, and parallel kernels would
        # otherwise take turns writing one SQLite file after every cell.
        app.initialize([*request["argv"], "--HistoryManager.enabled=False"])
        _inline_charts(app.shell)
        with contextlib.suppress(OSError):  # the run gave up waiting: the kernel is not used
            conn.sendall(json.dumps({"pid": os.getpid()}).encode() + b"\n")
        conn.close()
        app.start()
        code = 0
    finally:
        os._exit(code)


def _inline_charts(shell) -> None:
    """Set up inline charts in a forked kernel, each figure drawn once when it is shown.

    What importing the inline backend does in a plain kernel, done here because the server
    imported that backend before any shell existed. Then pyplot's own post-execute redraw of
    every open figure is dropped: the inline backend renders and closes each figure right
    after it, so that redraw only doubled the drawing work of every chart.
    """
    backend = "module://matplotlib_inline.backend_inline"
    if os.environ.get("MPLBACKEND") != backend:
        return
    with contextlib.suppress(Exception):  # charts then start the ordinary way, on first use
        import matplotlib.pyplot as plt
        from IPython.core.pylabtools import activate_matplotlib
        from matplotlib_inline.backend_inline import configure_inline_support

        activate_matplotlib(backend)
        configure_inline_support(shell, backend)
        with contextlib.suppress(ValueError):
            shell.events.unregister("post_execute", plt._draw_all_if_interactive)
        _chart_alt_text()


def _chart_alt_text() -> None:
    """Give every inline chart its title(s) as alternative text in the output metadata
    (``alt``), which the report template writes on the image."""
    from matplotlib_inline import backend_inline

    stock = backend_inline._fetch_figure_metadata

    def with_alt(fig):
        meta = dict(stock(fig) or {})
        titles = [fig._suptitle.get_text()] if getattr(fig, "_suptitle", None) else []
        titles += [ax.get_title() for ax in fig.axes if ax.get_title()]
        meta["alt"] = "; ".join(t for t in titles if t) or "Chart"
        return meta

    backend_inline._fetch_figure_metadata = with_alt


class _ForeignProcess:
    """Popen-like handle on a kernel forked by the server (not our child: poll by pid)."""

    stdin = stdout = stderr = None

    def __init__(self, pid: int):
        self.pid = pid
        self.returncode = None

    def poll(self):
        if self.returncode is None and not _pid_alive(self.pid):
            self.returncode = 0
        return self.returncode

    def wait(self, timeout=None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while self.poll() is None:
            if deadline is not None and time.monotonic() > deadline:
                import subprocess

                raise subprocess.TimeoutExpired("kernel", timeout)
            time.sleep(0.05)
        return self.returncode

    def send_signal(self, signum):
        with contextlib.suppress(ProcessLookupError):
            os.kill(self.pid, signum)

    def kill(self):
        import signal

        self.send_signal(signal.SIGKILL)

    def terminate(self):
        import signal

        self.send_signal(signal.SIGTERM)


def _ask_server(sock_path: str, request: dict) -> int:
    import socket

    with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as s:
        s.settimeout(120)
        for _ in range(200):  # the server binds within milliseconds of starting
            try:
                s.connect(sock_path)
                break
            except (FileNotFoundError, ConnectionRefusedError):
                time.sleep(0.02)
        s.sendall(json.dumps(request).encode() + b"\n")
        return int(json.loads(s.makefile("rb").readline())["pid"])


_ENGINE_LOCK = threading.Lock()


def _provisioner_class():
    """A jupyter_client provisioner that asks the fork server for the kernel process."""
    import asyncio

    from jupyter_client.provisioning import LocalProvisioner

    class ForkProvisioner(LocalProvisioner):
        async def launch_kernel(self, cmd, **kwargs):
            sock, server = _SERVER.get("socket"), _SERVER.get("proc")
            if not sock or "ipykernel_launcher" not in cmd or server.poll() is not None:
                return await super().launch_kernel(cmd, **kwargs)
            cwd = str(kwargs.get("cwd") or os.getcwd())
            request = {
                "argv": cmd[cmd.index("ipykernel_launcher") + 1 :],
                "cwd": cwd,
                "env": dict(kwargs.get("env") or os.environ),
            }
            try:
                pid = await asyncio.to_thread(_ask_server, sock, request)
            except (OSError, ValueError):  # the server or the new kernel died: start it
                return await super().launch_kernel(cmd, **kwargs)  # the ordinary way
            self.process = _ForeignProcess(pid)
            self.pid = self.pgid = pid
            self.cwd = cwd
            return self.connection_info

    return ForkProvisioner


def _client_class():
    """A kernel client whose readiness wait ends with the kernel_info request's own 'idle'."""
    from queue import Empty

    from jupyter_client.asynchronous import AsyncKernelClient

    class StudyKernelClient(AsyncKernelClient):
        async def wait_for_ready(self, timeout=None):
            """jupyter_client's wait for a new kernel, without its closing wait for 0.2 s of
            IOPub silence (0.2 s more on every study): the kernel_info request is done, and
            IOPub known to be connected, when the request's own 'idle' status arrives."""
            deadline = time.monotonic() + (math.inf if timeout is None else timeout)
            while True:
                self.kernel_info()
                try:
                    reply = await self.shell_channel.get_msg(timeout=1)
                except Empty:
                    reply = None
                if reply is not None and reply["msg_type"] == "kernel_info_reply":
                    request_id = reply["parent_header"].get("msg_id")
                    idle = False
                    with contextlib.suppress(Empty):  # IOPub not connected yet: ask again
                        while not idle:
                            msg = await self.iopub_channel.get_msg(timeout=0.2)
                            idle = (
                                msg["msg_type"] == "status"
                                and msg["content"].get("execution_state") == "idle"
                                and msg["parent_header"].get("msg_id") == request_id
                            )
                    if idle:
                        self._handle_kernel_info_reply(reply)
                        return
                if not await self._async_is_alive():
                    raise RuntimeError("Kernel died before replying to kernel_info")
                if time.monotonic() > deadline:
                    raise RuntimeError(f"Kernel didn't respond in {timeout:.0f} seconds")

    return StudyKernelClient


def _manager_class(ipc_dir: Path):
    """A kernel manager on IPC sockets, with the provisioner and client above."""
    import uuid

    from jupyter_client.manager import AsyncKernelManager
    from traitlets import default

    ForkProvisioner = _provisioner_class()
    StudyKernelClient = _client_class()

    class StudyKernelManager(AsyncKernelManager):
        # IPC sockets: no TCP port races between kernels started at the same moment
        transport = "ipc"

        def _ip_default(self):
            return str(ipc_dir / uuid.uuid4().hex[:12])

        @default("client_factory")
        def _study_client(self):
            return StudyKernelClient

        async def _async_finish_shutdown(self, waittime=None, pollinterval=0.1, restart=False):
            # a kernel exits within milliseconds of its shutdown reply; polling every 0.1 s
            # added most of that interval to every study
            await super()._async_finish_shutdown(waittime, pollinterval=0.01, restart=restart)

        async def _async_pre_start_kernel(self, **kw):
            if self.provisioner is None:
                self.kernel_id = self.kernel_id or kw.pop("kernel_id", str(uuid.uuid4()))
                self.provisioner = ForkProvisioner(
                    kernel_id=self.kernel_id, kernel_spec=self.kernel_spec, parent=self
                )
            return await super()._async_pre_start_kernel(**kw)

    return StudyKernelManager


def _engine_class(StudyKernelManager):
    """papermill's nbclient engine with a per-cell callback and a failsafe save."""
    from papermill.engines import NBClientEngine
    from papermill.iorw import write_ipynb

    class StudyEngine(NBClientEngine):
        @classmethod
        def execute_managed_notebook(
            cls,
            nb_man,
            kernel_name,
            on_cell=None,
            failsafe_path=None,
            kernel_cwd=None,
            **kwargs,
        ):
            if on_cell is not None:
                complete = nb_man.cell_complete

                def cell_complete(cell, cell_index=None, **kw):
                    complete(cell, cell_index=cell_index, **kw)
                    with contextlib.suppress(Exception):
                        on_cell(cell_index or 0)

                nb_man.cell_complete = cell_complete
            kwargs.setdefault("kernel_manager_class", StudyKernelManager)
            if kernel_cwd:
                kwargs.setdefault("resources", {"metadata": {"path": kernel_cwd}})
            try:
                return super().execute_managed_notebook(nb_man, kernel_name, **kwargs)
            except BaseException:
                if failsafe_path:  # papermill saves on a cell error, not when the kernel dies
                    with contextlib.suppress(Exception):
                        nb_man.notebook_complete()
                        write_ipynb(nb_man.nb, failsafe_path)
                raise

    return StudyEngine


def _register_engine() -> None:
    """Register the papermill engine (idempotent): IPC kernels, warm when the server runs,
    a per-cell callback for progress, the partial notebook saved when a kernel dies."""
    with _ENGINE_LOCK:
        if _KERNEL_TMP.get("engine"):
            return
        import atexit
        import tempfile

        from papermill.engines import papermill_engines

        ipc_dir = Path(tempfile.mkdtemp(prefix="salesnb-ipc-"))
        atexit.register(shutil.rmtree, ipc_dir, True)
        papermill_engines.register(ENGINE_NAME, _engine_class(_manager_class(ipc_dir)))
        _KERNEL_TMP.update(engine=True, ipc_dir=ipc_dir)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def study_exporter_class():
    """nbconvert's HTMLExporter without its BeautifulSoup pass over the rendered page.

    Its ``from_notebook_node`` re-parses the whole page (inlined CSS and charts) only to add
    generic alt texts and tabindex attributes (~40% of the export); this subclass repeats
    the filter set-up it does first (private ``_init_resources`` and ``_nb_metadata``) and
    returns the page as rendered.
    """
    from nbconvert import HTMLExporter
    from nbconvert.exporters.templateexporter import TemplateExporter
    from nbconvert.filters.highlight import Highlight2HTML
    from nbconvert.filters.widgetsdatatypefilter import WidgetsDataTypeFilter

    class StudyExporter(HTMLExporter):
        def from_notebook_node(self, nb, resources=None, **kw):
            lang = nb.metadata.get("language_info", {})
            lexer = lang.get("pygments_lexer", lang.get("name"))
            resources = self._init_resources(resources)
            self.register_filter(
                "highlight_code", Highlight2HTML(pygments_lexer=lexer, parent=self)
            )
            self.register_filter(
                "filter_data_type",
                WidgetsDataTypeFilter(
                    notebook_metadata=self._nb_metadata, parent=self, resources=resources
                ),
            )
            return TemplateExporter.from_notebook_node(self, nb, resources, **kw)

    return StudyExporter
