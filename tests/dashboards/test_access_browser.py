"""Only who belongs, in a real browser: ``salesnb dashboard`` with a token, probed by headless
Debian Chromium without the token, with it, with a signed link and with edited, expired or
tampered links (tests/dashboard_pages.py: network cut off except the local server).

The figures a signed link shows are checked against the warehouse: its reps are the team's
(``reps`` table, by SQL) and their revenue sums to the team's orders (SQL).
"""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
import urllib.error
import urllib.request
from urllib.parse import quote

import pytest
from dashboard_pages import (
    ARTIFACTS,
    WAIT_MS,
    Viewer,
    free_port,
    stop_server,
    wait_until_serving,
)

from salesnb import config, dashboards
from salesnb.dashboards import access
from salesnb.model.filters import Filters
from salesnb.queries.warehouse import known_values

pytestmark = [pytest.mark.browser, pytest.mark.xdist_group("dashboard-access")]

SECRET = "browser-test-secret-0123456789"
TEAM = "North A"


@pytest.fixture(scope="module")
def server(demo_warehouse, chromium, tmp_path_factory):
    """``salesnb dashboard`` on the loopback address with a token file: sign-in required."""
    ARTIFACTS.mkdir(exist_ok=True)
    token = tmp_path_factory.mktemp("token") / "dashboard.token"
    token.write_text(SECRET + "\n")
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESNB_DASHBOARD")}
    cmd = [sys.executable, "-m", "salesnb.cli", "dashboard", "--source", str(demo_warehouse)]
    cmd += ["--port", str(port), "--token-file", str(token)]
    log = open(ARTIFACTS / "dashboard-access-server.log", "w")  # noqa: SIM115 - stop_server
    proc = subprocess.Popen(
        cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(config.PROJECT_ROOT), env=env
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_until_serving(proc, base, log)  # "/" answers with the login page
        yield base
    finally:
        stop_server(proc, log)


def _link(server, board="team", pins=None, days=7.0):
    end = dt.datetime.now(dt.UTC) + dt.timedelta(days=days)
    return access.make_link(SECRET, server, pins or {"team": TEAM}, end, board)


def _no_data(v: Viewer) -> None:
    """The page holds no figure, chart, table or widget: only words and a form."""
    html = v.page.content()
    for mark in ("data-kpi", "data-chart", "data-rep-id", "snb-section", "jupyter-widgets"):
        assert mark not in html, mark
    assert v.page.locator("script").count() == 0
    assert v.external == []


def _login_page(v: Viewer) -> None:
    assert v.page.locator("form.snb-login input[type=password]").count() == 1
    assert "/login" in v.page.url
    _no_data(v)


def test_without_the_token_a_viewer_gets_the_login_page_never_data(server, viewer):
    for path in ("/", "/voila/render/executive.ipynb", "/voila/render/team.ipynb?team=East%20A"):
        viewer.page.goto(server + path, timeout=WAIT_MS)
        _login_page(viewer)
    viewer.shot("login")
    # what a script gets without a token: the contents listing and kernels are closed too
    for path in ("/voila/api/contents/", "/api/kernels/00000000-0000-0000-0000-000000000000"):
        with pytest.raises(urllib.error.HTTPError) as err:
            urllib.request.urlopen(server + path, timeout=30)
        assert err.value.code in (403, 404), path
    # a wrong token is refused with the form again
    viewer.page.fill("input[type=password]", "not-the-token-at-all")
    viewer.page.click("button[type=submit]")
    viewer.page.wait_for_selector(".snb-wrong", timeout=WAIT_MS)
    _login_page(viewer)


def test_with_the_token_the_viewer_sees_every_figure(server, viewer, src):
    viewer.page.goto(server + "/voila/render/executive.ipynb", timeout=WAIT_MS)
    _login_page(viewer)
    viewer.page.fill("input[type=password]", SECRET)
    viewer.page.click("button[type=submit]")
    viewer.page.wait_for_url(re.compile(r".*/voila/render/executive\.ipynb$"), timeout=WAIT_MS)
    viewer.ready('[data-kpi="revenue"]')
    period = dashboards.current_period(src)
    want = dashboards.executive_figures(src, Filters(period.start, period.end))
    assert viewer.kpis()["revenue"] == pytest.approx(want["revenue"], rel=1e-6)
    assert viewer.page.locator("img[data-chart]").count() == 3
    viewer.assert_clean()
    # a script may send the token in a header (never in the address)
    req = urllib.request.Request(
        server + "/voila/api/contents/", headers={"Authorization": f"token {SECRET}"}
    )
    with urllib.request.urlopen(req, timeout=30) as r:
        assert "/login" not in r.url and "team.ipynb" in r.read().decode()


def _team_truth(src, period) -> tuple[set[str], float]:
    """The team's reps and its revenue in the period, by SQL on the warehouse."""
    con = src.con.con  # the DuckDB connection under Ibis
    reps = {r[0] for r in con.execute("select rep_id from reps where team = ?", [TEAM]).fetchall()}
    (revenue,) = con.execute(
        "select coalesce(sum(o.net_amount), 0) from orders o join reps r using (rep_id) "
        "where r.team = ? and o.order_date >= ? and o.order_date < ?",
        [TEAM, period.start, period.end],
    ).fetchone()
    return reps, float(revenue)


def test_a_signed_link_shows_its_team_only(server, viewer, src):
    period = dashboards.current_period(src)
    reps, revenue = _team_truth(src, period)
    v = viewer.open(_link(server), ready="tr[data-rep-id]")
    rows = v.page.eval_on_selector_all(
        "tr[data-rep-id]",
        "rows => rows.map(r => [r.dataset.repId, r.querySelector('[data-col=team]').textContent,"
        " r.querySelector('[data-col=revenue]').dataset.value])",
    )
    assert rows and {r[0] for r in rows} <= reps
    assert {r[1] for r in rows} == {TEAM}
    assert sum(float(r[2]) for r in rows) == pytest.approx(revenue, rel=1e-6)
    # the team filter is locked to the team; no other team's name is anywhere on the page
    team_select = v.page.locator(".snb-filter-team select")
    assert team_select.is_disabled()
    options = team_select.locator("option").all_inner_texts()
    assert [o.replace("\xa0", " ") for o in options] == [TEAM]  # widgets show nbsp for spaces
    others = [t for t in known_values(src)["team"] if t != TEAM]
    html = v.page.content().replace("\xa0", " ").replace("&nbsp;", " ")
    assert not [t for t in others if t in html]
    v.assert_clean()
    v.shot("signed-link")
    # with only the link, the list of boards and the other board lead to the login page
    for path in (
        "/",
        "/voila/render/executive.ipynb",
        f"/voila/render/team.ipynb?team={quote(TEAM)}",
    ):
        v.page.goto(server + path, timeout=WAIT_MS)
        _login_page(v)


def test_a_signed_link_to_the_executive_board_counts_the_team_only(server, viewer, src):
    period = dashboards.current_period(src)
    want = dashboards.executive_figures(src, Filters(period.start, period.end, team=TEAM))
    v = viewer.open(_link(server, "executive") + "&lang=zh-CN")  # the language is free
    assert v.kpis()["revenue"] == pytest.approx(want["revenue"], rel=1e-6)
    v.assert_clean()


def _refused(v: Viewer, reason: str) -> str:
    v.page.wait_for_selector(".snb-refused", timeout=WAIT_MS)
    assert v.page.get_attribute(".snb-refused", "data-reason") == reason
    _no_data(v)
    return v.page.inner_text(".snb-refused")


@pytest.mark.parametrize(
    "edit",
    [
        lambda u: u.replace("team=North%20A", "team=North%20B"),  # another team
        lambda u: u.replace("team=North%20A&", ""),  # the pin removed
        lambda u: u + "&region=East",  # a filter added
        lambda u: u + "&rep=R001",
        lambda u: re.sub(r"expires=\d+", "expires=4102444800", u),  # made to last to 2100
        lambda u: u.replace("team.ipynb", "executive.ipynb"),  # another board
        lambda u: u[:-3] + ("AAA" if not u.endswith("AAA") else "BBB"),  # signature tampered
    ],
    ids=["other-team", "pin-removed", "region-added", "rep-added", "expiry", "board", "sig"],
)
def test_an_edited_or_tampered_link_is_refused_with_a_clear_page(server, viewer, edit):
    url = edit(_link(server))
    response = viewer.page.goto(url, timeout=WAIT_MS)
    assert response.status == 403
    text = _refused(viewer, "tampered")
    assert "changed after it was issued" in text


def test_an_expired_link_is_refused_in_the_viewers_language(server, viewer):
    end = dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)
    url = access.make_link(SECRET, server, {"team": TEAM}, end)
    viewer.page.goto(url, timeout=WAIT_MS)
    assert end.strftime("%Y-%m-%d") in _refused(viewer, "expired")
    viewer.shot("expired-link")
    viewer.page.goto(url + "&lang=zh-CN", timeout=WAIT_MS)
    text = _refused(viewer, "expired")
    assert re.search(r"[\u4e00-\u9fff]", text) and "expired" not in text
