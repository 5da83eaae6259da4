"""Where things live. Paths are decided here and nowhere else.

Environment overrides:
- ``SALESNB_SOURCE``: default warehouse path or connection URL
  (default ``data/demo.duckdb`` under the project root).
- ``SALESNB_SHARED_DATA``: the folder of real public datasets used by tests
  and examples (default ``../shared/data`` next to the project).
- ``SALESNB_REPORTS``: where ``salesnb report`` publishes (default ``reports/``).
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
PROJECT_ROOT = PACKAGE_DIR.parent
NOTEBOOK_DIR = PROJECT_ROOT / "notebooks"
DASHBOARD_DIR = NOTEBOOK_DIR / "dashboards"
MAPPINGS_DIR = PACKAGE_DIR / "mappings"
DATA_DIR = PROJECT_ROOT / "data"


def default_source() -> str:
    """The warehouse studies read when no ``source`` is given."""
    return os.environ.get("SALESNB_SOURCE", str(DATA_DIR / "demo.duckdb"))


def shared_data_dir() -> Path:
    """The folder holding ``maven_crm/``, ``superstore/`` and ``cdnow/``."""
    return Path(os.environ.get("SALESNB_SHARED_DATA", PROJECT_ROOT.parent / "shared" / "data"))


def reports_dir() -> Path:
    return Path(os.environ.get("SALESNB_REPORTS", PROJECT_ROOT / "reports"))


# Headless Debian chromium on a closed network (browser tests and the dashboard benchmark):
# without the background-networking flags it keeps dialling Google and being refused.
CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
