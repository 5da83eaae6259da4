"""Run every study with papermill and publish one report folder per period.

``run_report`` is what ``salesnb report`` calls:

1. **check** the parameters before any study runs: the source opens, the
   period parses, region / team / channel are values the data knows, every
   ``-p KEY=VALUE`` is declared by a selected study's ``parameters`` cell and
   is coerced to the declared type, the alert rules parse;
2. **run** the selected studies in parallel (one worker per core by default)
   through papermill's Python API into a staging folder
   ``<reports>/.staging-<period>-<pid>/``; a study that fails is published as
   failed with its partially executed notebook and does not stop the others;
   a study whose notebook or needed tables are missing is ``skipped``;
3. **export** each executed notebook to a self-contained HTML page (code
   hidden, images inline, no script or stylesheet fetched from the network);
4. **publish** ``index.html``, ``manifest.json`` and ``alerts.json`` and swap
   the staging folder into ``<reports>/<period>/`` with renames, so a crash
   never leaves a half-written folder where the last good report was.

Kernels are forked from a server that imported the analysis stack once
(see "warm kernels" below), which removes most of the per-study start-up
cost; ``SALESNB_WARM_KERNELS=0`` starts plain ``python3`` kernels instead.

The package, one module per job (data flows down this list):

- ``parameters``: the typed parameters cell every study opens with;
- ``alerts``: alert rules on headline figures;
- ``plan``: what is checked before a study runs, which period each study reports on;
- ``kernels``: the warm-kernel fork server (the only module using private Jupyter APIs);
- ``export``: executed notebook -> self-contained HTML;
- ``execute``: one study through papermill, progress lines;
- ``publish``: the index, the JSON files and the atomic swap into place;
- ``run``: ``run_report``, tying them together.
"""

from __future__ import annotations

import sys


def _skip_iri_grammar() -> None:
    """Keep jsonschema from building its IRI grammars in this process (~0.9 s of CPU).

    nbformat validates notebooks with jsonschema, whose format checkers import
    ``rfc3987_syntax`` when it is installed (``jsonschema[format-nongpl]``, pulled in by
    Jupyter); that module compiles ~35 Earley parsers at import, and no notebook schema
    uses the ``iri`` formats they check (python-jsonschema/jsonschema#1428, still eager in
    4.26). Marking the module absent makes jsonschema skip those two checkers, as it does
    wherever the package is not installed. Only this process is affected, and only when
    jsonschema has not been imported yet.
    """
    if "jsonschema._format" not in sys.modules:
        sys.modules.setdefault("rfc3987_syntax", None)


_skip_iri_grammar()


from salesnb.alerts import evaluate_alerts, load_alert_rules  # noqa: E402
from salesnb.errors import SalesnbError  # noqa: E402
from salesnb.report.execute import default_workers  # noqa: E402
from salesnb.report.export import strip_network_refs  # noqa: E402
from salesnb.report.kernels import _pid_alive  # noqa: E402
from salesnb.report.parameters import (  # noqa: E402
    Parameter,
    coerce,
    describe_studies,
    notebook_parameters,
    parse_parameters,
)
from salesnb.report.plan import Job, Plan, _read_params, plan_report  # noqa: E402
from salesnb.report.publish import clean_stale, publish  # noqa: E402
from salesnb.report.run import run_report  # noqa: E402

__all__ = [
    "run_report",
    "describe_studies",
    "plan_report",
    "parse_parameters",
    "notebook_parameters",
    "coerce",
    "load_alert_rules",
    "evaluate_alerts",
    "publish",
    "clean_stale",
    "strip_network_refs",
    "default_workers",
    "Parameter",
    "Job",
    "Plan",
    "SalesnbError",
    "_pid_alive",
    "_read_params",
]
