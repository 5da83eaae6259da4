"""The project's front door: environment.yml matches pyproject.toml, ``make`` lists the
routine tasks, the README starts with the two commands."""

from __future__ import annotations

import re
import subprocess
import tomllib

import yaml

from salesnb import config

ROOT = config.PROJECT_ROOT
SPEC = re.compile(r"^\s*(?P<name>[A-Za-z0-9_.\-]+(\[[A-Za-z0-9_,\-]+\])?)\s*>=\s*(?P<lower>[0-9][0-9a-zA-Z.]*)\s*$")


def _bounds(specs: list[str], where: str) -> dict[str, str]:
    out = {}
    for spec in specs:
        m = SPEC.match(spec)
        assert m, f"{where}: {spec!r} should read 'package>=lower' (a lower bound, nothing else)"
        out[m["name"].lower().replace("_", "-")] = m["lower"]
    return out


def test_environment_yml_lists_the_same_packages_and_lower_bounds_as_pyproject():
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = _bounds(project["dependencies"] + project["optional-dependencies"]["dev"], "pyproject.toml")
    env = yaml.safe_load((ROOT / "environment.yml").read_text())
    pip = next(d["pip"] for d in env["dependencies"] if isinstance(d, dict) and "pip" in d)
    assert _bounds(pip, "environment.yml") == wanted
    python = next(d for d in env["dependencies"] if isinstance(d, str) and d.startswith("python"))
    assert python.replace(" ", "") == "python" + project["requires-python"].replace(" ", "")


def test_make_alone_lists_the_routine_targets():
    proc = subprocess.run(["make", "--no-print-directory"], cwd=ROOT, capture_output=True, text=True, timeout=60)
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
    commands = [ln.split("#")[0].strip() for ln in first_block.group(1).splitlines() if ln.split("#")[0].strip()]
    assert commands == ["make report", "make test"]
