"""Every study notebook keeps the contract, and every executed study passes nbval.

Contract: committed without outputs; exactly one ``parameters`` cell whose lines read
``name: type = default  # help`` (literals only), the shared parameters first and in order;
the next code cell opens the study under its registry id; papermill itself can read the
parameters (``papermill --help-notebook``); the study ends with "What to do" and ``ctx.save()``.

nbval runs on the executed copies the ``demo_report`` fixture published (so it checks the
notebooks as run on the small demo company, outputs included).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys

import nbformat
import pytest

from salesnb import config, report, studies

NOTEBOOKS = sorted(config.NOTEBOOK_DIR.glob("[0-9][0-9]-*.ipynb"))
BY_FILE = {s.notebook: s for s in studies.STUDIES.values()}
LINE = re.compile(
    r"^(?P<name>[a-z_][a-z0-9_]*): (?P<type>str|int|float|bool|list\[str\]) = (?P<default>\S.*?)  # (?P<help>\S.*)$"
)
SANITIZE = r"""[timestamps]
regex: \d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}:\d{2}(\.\d+)?([+-]\d{2}:\d{2}|Z)?
replace: TIMESTAMP

[durations]
regex: \b\d+(\.\d+)? ?(s|ms|seconds)\b
replace: DURATION

[paths]
regex: (/[\w.@+-]+)+/(reports|demo|staging)[\w./@+-]*
replace: PATH
"""


def _code_cells(nb):
    return [c for c in nb.cells if c.cell_type == "code"]


def test_there_are_study_notebooks_and_each_is_registered():
    assert NOTEBOOKS, f"no study notebooks in {config.NOTEBOOK_DIR}"
    for path in NOTEBOOKS:
        assert path.name in BY_FILE, f"{path.name} is not in salesnb.studies.STUDIES"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_contract(path):
    nb = nbformat.read(str(path), as_version=4)
    nbformat.validate(nb)
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    for i, cell in enumerate(_code_cells(nb)):
        assert cell.outputs == [], f"{path.name}: code cell {i} has committed outputs"
        assert cell.execution_count is None, f"{path.name}: code cell {i} has an execution count"

    tagged = [i for i, c in enumerate(nb.cells) if "parameters" in c.metadata.get("tags", [])]
    assert len(tagged) == 1, f"{path.name}: {len(tagged)} cells tagged parameters"
    source = nb.cells[tagged[0]].source
    lines = [ln for ln in source.splitlines() if ln.strip()]
    for ln in lines:
        assert LINE.match(ln), (
            f"{path.name}: parameter line does not read 'name: type = default  # help': {ln!r}"
        )
    params = report.parse_parameters(source, where=path.name)  # literals only
    names = [p.name for p in params]
    shared = list(studies.COMMON_PARAMETERS)
    assert names[: len(shared)] == shared, (
        f"{path.name}: shared parameters must come first, in order"
    )
    assert all(p.type == "str" and p.default == "" for p in params[: len(shared)])
    assert len(set(names)) == len(names)

    # papermill reads the same parameters (papermill --help-notebook, its unknown-parameter check)
    from papermill.inspection import _infer_parameters
    from papermill.iorw import load_notebook_node

    assert [p.name for p in _infer_parameters(load_notebook_node(str(path)))] == names, (
        f"{path.name}: papermill cannot parse every parameter line (keep '=' out of help text?)"
    )

    study = BY_FILE[path.name]
    opener = next(c for c in nb.cells[tagged[0] + 1 :] if c.cell_type == "code").source
    assert f'study.open("{study.id}"' in opener, (
        f"{path.name}: first code cell must open study {study.id!r}"
    )
    for name in shared:
        assert re.search(rf"\b{name}={name}\b", opener), (
            f"{path.name}: study.open must receive {name}={name}"
        )
    headings = [c.source for c in nb.cells if c.cell_type == "markdown"]
    assert any(re.match(r"#+ What to do", h) for h in headings), (
        f"{path.name}: no 'What to do' section"
    )
    assert "ctx.save()" in _code_cells(nb)[-1].source, (
        f"{path.name}: the last code cell must call ctx.save()"
    )


@pytest.mark.slow
def test_executed_studies_pass_nbval(demo_report, tmp_path):
    """nbval (lax) over every executed study of the demo report, on copies writing into tmp."""
    manifest = json.loads((demo_report / "manifest.json").read_text())
    statuses = {s["id"]: s for s in manifest["studies"]}
    copies, code_cells = [], 0
    out = tmp_path / "out"
    for path in NOTEBOOKS:
        sid = BY_FILE[path.name].id
        entry = statuses[sid]
        assert entry["status"] == "ok", f"{sid} did not run cleanly on the demo: {entry['reason']}"
        nb = nbformat.read(str(demo_report / f"{sid}.ipynb"), as_version=4)
        cells = _code_cells(nb)
        # an executed notebook without stored outputs would pass nbval trivially
        with_output = [c for c in cells if c.outputs]
        assert len(with_output) >= len(cells) // 2, (
            f"{sid}: only {len(with_output)}/{len(cells)} cells have outputs"
        )
        shown = {k for c in cells for o in c.outputs for k in o.get("data", {})}
        assert shown & {"image/svg+xml", "image/png", "text/html", "text/markdown"}, (
            f"{sid}: shows no chart, table or text"
        )
        assert not [o for c in cells for o in c.outputs if o.output_type == "error"]
        # a warning printed into a manager's report (pandas, statsmodels, matplotlib) is a defect
        stderr = [o.text for c in cells for o in c.outputs if o.get("name") == "stderr"]
        assert not stderr, f"{sid} printed to stderr: {stderr[0][:300]}"
        injected = next(c for c in nb.cells if "injected-parameters" in c.metadata.get("tags", []))
        injected.source = re.sub(r'output_dir = ".*"', f'output_dir = "{out}"', injected.source)
        copy = tmp_path / f"{sid}.ipynb"
        nbformat.write(nb, str(copy))
        copies.append(copy)
        code_cells += sum(1 for c in cells if c.source.strip())
    sanitize = tmp_path / "sanitize.cfg"
    sanitize.write_text(SANITIZE)
    args = [
        sys.executable,
        "-m",
        "pytest",
        "--nbval-lax",
        "--nbval-current-env",
        "-p",
        "no:cacheprovider",
        "--nbval-sanitize-with",
        str(sanitize),
        "-q",
        "-o",
        "addopts=",
        "--rootdir",
        str(tmp_path),
    ]
    if len(copies) > 1:
        args += ["-n", "2", "--dist", "loadfile"]
    proc = subprocess.run(
        args + [str(c) for c in copies], cwd=tmp_path, capture_output=True, text=True, timeout=1800
    )
    tail = (proc.stdout + proc.stderr)[-4000:]
    assert proc.returncode == 0, tail
    passed = re.search(r"(\d+) passed", proc.stdout)
    assert passed and int(passed.group(1)) >= code_cells, tail
    for copy in copies:  # the re-executed studies wrote their figures again
        assert (out / f"{copy.stem}.json").exists()
