"""Each private Jupyter / matplotlib API the warm-kernel module relies on still exists, with
the arguments it is called with. A new release that drops one fails here, by name, rather
than as a slow or broken report run (salesnb/report/kernels.py, PRIVATE_APIS)."""

from __future__ import annotations

import importlib
import inspect

import pytest

from salesnb.report.kernels import PRIVATE_APIS


def _resolve(module: str, path: str):
    obj = importlib.import_module(module)
    for part in path.split("."):
        obj = getattr(obj, part)
    return obj


# Instance attributes, checked on a fresh instance.
ON_INSTANCES = {
    "HTMLExporter._nb_metadata": lambda: importlib.import_module("nbconvert").HTMLExporter(),
    "Figure._suptitle": lambda: importlib.import_module("matplotlib.figure").Figure(),
}
# Parameters each private callable is called with.
PARAMETERS = {
    "AsyncKernelManager._async_finish_shutdown": {"waittime", "pollinterval", "restart"},
    "AsyncKernelClient._handle_kernel_info_reply": {"msg"},
    "_fetch_figure_metadata": {"fig"},
}


@pytest.mark.parametrize("module, path", PRIVATE_APIS, ids=[p for _, p in PRIVATE_APIS])
def test_private_api_still_exists(module, path):
    if path in ON_INSTANCES:
        owner = ON_INSTANCES[path]()
        assert hasattr(owner, path.split(".")[-1]), f"{module}.{path} is gone"
        return
    obj = _resolve(module, path)
    assert callable(obj), f"{module}.{path} is no longer callable"
    if path in PARAMETERS:
        params = set(inspect.signature(obj).parameters)
        assert PARAMETERS[path] <= params, f"{module}.{path}{inspect.signature(obj)}"


def test_every_private_name_used_by_the_module_is_listed():
    """A private attribute used in kernels.py but missing from PRIVATE_APIS is a test gap."""
    import re
    from pathlib import Path

    import salesnb.report.kernels as k

    text = Path(k.__file__).read_text()
    used = set(re.findall(r"(?:super\(\)|self|plt|backend_inline|fig)\.(_[a-z][a-z_]+)\b", text))
    used -= {"_study_client"}  # our own attribute
    listed = {p.split(".")[-1] for _, p in PRIVATE_APIS}
    assert used <= listed, used - listed


def test_no_other_module_uses_a_private_jupyter_or_matplotlib_api():
    import re
    from pathlib import Path

    import salesnb

    pattern = re.compile(
        r"\b(?:fig|ax|plt|mpl|renderer|canvas|exporter|backend_inline|nbconvert|jupyter_client"
        r"|HTMLExporter|AsyncKernelManager|AsyncKernelClient)\._[a-z]"
    )
    root = Path(salesnb.__file__).parent
    offenders = [
        str(p.relative_to(root))
        for p in root.rglob("*.py")
        if p.name != "kernels.py" and pattern.search(p.read_text(encoding="utf-8"))
    ]
    assert not offenders, offenders
