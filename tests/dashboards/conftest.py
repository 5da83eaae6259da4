"""Fixtures of the dashboards' browser tests: one Chromium per module, a fresh page per test,
the demo warehouse read directly for the figures a page must show."""

from __future__ import annotations

import pytest
from dashboard_pages import Viewer, chromium_browser

from salesnb.sources import connect


@pytest.fixture(scope="module")
def browser(chromium):
    with chromium_browser(chromium) as b:
        yield b


@pytest.fixture
def viewer(browser):
    v = Viewer(browser)
    yield v
    v.close()


@pytest.fixture(scope="module")
def src(demo_warehouse):
    s = connect(demo_warehouse)
    yield s
    s.close()
