"""The project's front door: environment.yml matches pyproject.toml, ``make`` lists the
routine tasks, the README starts with the two commands."""

from __future__ import annotations

import re
import subprocess
import tomllib
from pathlib import Path

import yaml

from salesnb import config

ROOT = config.PROJECT_ROOT


def _bounds(specs: list[str], where: str) -> dict[str, str]:
    """{package[extras]: lower bound}; every requirement must carry a ``>=`` lower bound."""
    from packaging.requirements import Requirement
    from packaging.utils import canonicalize_name

    out = {}
    for spec in specs:
        req = Requirement(spec)
        lower = [s.version for s in req.specifier if s.operator == ">="]
        assert len(lower) == 1, f"{where}: {spec!r} needs exactly one lower bound (>=)"
        extras = f"[{','.join(sorted(req.extras))}]" if req.extras else ""
        out[canonicalize_name(req.name) + extras] = lower[0]
    return out


def test_environment_yml_lists_the_same_packages_and_lower_bounds_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _bounds(
        project["dependencies"] + project["optional-dependencies"]["dev"], "pyproject.toml"
    )
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _bounds(pip, "environment.yml") == wanted
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace(" ", "") == "python" + project["requires-python"].replace(" ", "")


def test_make_alone_lists_the_routine_targets():
    proc = subprocess.run(
        ["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stderr
    listed = dict(re.findall(r"^\s*make (\S+)\s+(.+)$", proc.stdout, re.M))
    for target in ("setup", "demo", "report", "dashboard", "lab", "test", "lint", "bench"):
        assert target in listed, f"`make` does not list {target}"
        assert len(listed[target].split()) >= 3, f"{target} needs a one-line help"


def test_readme_starts_with_the_two_commands():
    text = (ROOT / "README.md").read_text()
    first_block = re.search(r"```\w*\n(.*?)```", text, re.S)
    assert first_block, "README has no command block"
    assert text[: first_block.start()].count("\n") < 15, "the two commands must come first"
    commands = [
        ln.split("#")[0].strip()
        for ln in first_block.group(1).splitlines()
        if ln.split("#")[0].strip()
    ]
    assert commands == ["make report", "make test"]


def test_the_layers_of_the_design_hold():
    """The import-linter contract in pyproject.toml: no module imports from a layer above."""
    import shutil
    import sys
    from pathlib import Path

    exe = shutil.which("lint-imports", path=str(Path(sys.executable).parent))
    assert exe, "import-linter is a dev dependency (make setup installs it)"
    run = subprocess.run([exe], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout[-3000:]


def test_package_modules_stay_small_and_simple():
    """One room per job: no module of the runner, the dashboards, the sources or the model over
    about 500 lines (the study areas in queries/, metrics/ and plots/ keep one module per
    business area); ruff's complexity limits hold everywhere in the package."""
    import shutil
    import sys
    from pathlib import Path

    big = {
        str(p.relative_to(ROOT)): n
        for folder in ("report", "dashboards", "sources", "model", "alerts")
        for p in (ROOT / "salesnb" / folder).rglob("*.py")
        if (n := len(p.read_text(encoding="utf-8").splitlines())) > 550
    }
    assert not big, big
    exe = shutil.which("ruff", path=str(Path(sys.executable).parent))
    run = subprocess.run(
        [exe, "check", "salesnb", "--select", "C901,PLR0915", "--output-format", "concise"],
        cwd=ROOT,
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stdout[-3000:]


def test_tests_mirror_the_package_layout():
    """tests/<package>/ holds the tests of salesnb/<package>/: a reader finds a module's tests
    where the module is (the studies' end-to-end tests and the project checks stay at the top)."""
    tests = Path(__file__).resolve().parent
    package = tests.parent / "salesnb"
    subpackages = {p.parent.name for p in package.glob("*/__init__.py")}
    folders = {p.name for p in tests.iterdir() if p.is_dir() and any(p.glob("test_*.py"))}
    assert folders <= subpackages, folders - subpackages
    for name in ("dashboards", "metrics", "model", "queries", "report", "sources", "plots"):
        assert name in folders, f"salesnb/{name}/ has no tests/{name}/"
