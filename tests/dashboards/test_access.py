"""Who may see the dashboards: the server's secret, signed links, pinned filters (no browser).

The browser probes (login page, token, links) are in test_access_browser.py.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
import sys
from urllib.parse import parse_qsl, urlsplit

import duckdb
import pytest

from salesnb import config, dashboards
from salesnb.dashboards import access

SECRET = "s3cret-for-tests-0123456789"
NOW = dt.datetime(2026, 12, 1, 12, 0, tzinfo=dt.UTC)
LATER = NOW + dt.timedelta(days=30)


def _query(url: str) -> str:
    return urlsplit(url).query


def _with(query: str, **changes) -> str:
    """``query`` with parameters changed (None removes one), order kept."""
    from urllib.parse import quote, urlencode

    pairs = [(k, v) for k, v in parse_qsl(query) if k not in changes]
    pairs += [(k, v) for k, v in changes.items() if v is not None]
    return urlencode(pairs, quote_via=quote)


# --------------------------------------------------------------------------- signing
def test_a_signed_link_pins_its_filters_until_it_expires():
    url = access.make_link(SECRET, "http://dash:8866/", {"team": "North A"}, LATER)
    assert url.startswith("http://dash:8866/voila/render/team.ipynb?team=North%20A&")
    verdict = access.check(SECRET, "team", _query(url), NOW)
    assert verdict.ok and verdict.pins == {"team": "North A"} and verdict.expires == LATER
    assert access.link_pins(_query(url)) == {"team": "North A"}
    # the same link written with + for the space, or with a language added, is the same link
    plus = _query(url).replace("%20", "+")
    assert access.check(SECRET, "team", plus, NOW).ok
    assert access.check(SECRET, "team", _query(url) + "&lang=zh-CN", NOW).ok
    # past its end it is refused, and the refusal says when it ended
    late = access.check(SECRET, "team", _query(url), LATER + dt.timedelta(seconds=1))
    assert not late.ok and late.reason == "expired"
    assert LATER.strftime("%Y-%m-%d") in late.message()


@pytest.mark.parametrize(
    "changes",
    [
        {"team": "North B"},  # another team
        {"team": None},  # the pin removed
        {"region": "East"},  # a filter added
        {"rep": "R001"},  # a rep added
        {"period": "2026-Q1"},
        {"expires": str(int((LATER + dt.timedelta(days=365)).timestamp()))},  # made to last
    ],
)
def test_an_edited_link_is_refused(changes):
    query = access.sign(SECRET, "team", {"team": "North A"}, LATER)
    verdict = access.check(SECRET, "team", _with(query, **changes), NOW)
    assert not verdict.ok and verdict.reason == "tampered"
    assert "changed" in verdict.message()


def test_a_tampered_signature_or_another_board_or_secret_is_refused():
    query = access.sign(SECRET, "team", {"team": "North A"}, LATER)
    sig = dict(parse_qsl(query))["sig"]
    flipped = sig[:-1] + ("A" if sig[-1] != "A" else "B")
    assert access.check(SECRET, "team", _with(query, sig=flipped), NOW).reason == "tampered"
    assert access.check(SECRET, "executive", query, NOW).reason == "tampered"
    assert access.check(SECRET + "x", "team", query, NOW).reason == "tampered"
    assert access.check(SECRET, "team", query + "&sig=x", NOW).reason == "malformed"
    assert access.check(SECRET, "team", _with(query, sig=None), NOW).reason == "malformed"


def test_a_link_needs_a_pin_and_a_known_board():
    with pytest.raises(access.AccessError, match="--team or --region"):
        access.sign(SECRET, "team", {}, LATER)
    with pytest.raises(access.AccessError, match="known boards: team, executive"):
        access.sign(SECRET, "sales", {"team": "A"}, LATER)


@pytest.mark.parametrize(
    "text, days", [("30d", 30), ("12h", 0.5), ("2w", 14), ("2026-12-31", 30.5)]
)
def test_expiry(text, days):
    assert access.parse_expiry(text, NOW) == NOW + dt.timedelta(days=days)


@pytest.mark.parametrize("text", ["30", "3x", "2026-13-01", "2026-11-30", "0d"])
def test_bad_expiry_is_one_sentence(text):
    with pytest.raises(access.AccessError, match="--expires"):
        access.parse_expiry(text, NOW)


# --------------------------------------------------------------------------- the secret
def test_the_secret_comes_from_a_file_or_the_environment(tmp_path):
    f = tmp_path / "token"
    f.write_text(SECRET + "\n")
    assert access.read_secret(f, environ={}) == SECRET
    assert access.read_secret(None, environ={access.ENV_TOKEN_FILE: str(f)}) == SECRET
    assert access.read_secret(None, environ={access.ENV_TOKEN: f" {SECRET} "}) == SECRET
    assert access.read_secret(None, environ={}) is None
    with pytest.raises(access.AccessError, match="at least 16"):
        access.read_secret(None, environ={access.ENV_TOKEN: "short"})
    with pytest.raises(access.AccessError, match=str(tmp_path / "missing")):
        access.read_secret(tmp_path / "missing", environ={})
    (tmp_path / "empty").write_text("\n")
    with pytest.raises(access.AccessError, match="empty"):
        access.read_secret(tmp_path / "empty", environ={})


@pytest.mark.parametrize(
    "host, needed",
    [("127.0.0.1", False), ("localhost", False), ("::1", False), ("0.0.0.0", True),
     ("", True), ("192.168.1.20", True), ("dash.example.com", True)],
)  # fmt: skip
def test_only_loopback_is_served_without_a_secret(host, needed):
    if needed:
        with pytest.raises(access.AccessError, match=access.ENV_TOKEN):
            access.require_secret(host, None)
    else:
        access.require_secret(host, None)
    access.require_secret(host, SECRET)


def _salesnb(*args, env_extra=None, timeout=120):
    env = {k: v for k, v in os.environ.items() if not k.startswith("SALESNB_DASHBOARD")}
    env.update(env_extra or {})
    return subprocess.run(
        [sys.executable, "-m", "salesnb.cli", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=str(config.PROJECT_ROOT),
        timeout=timeout,
    )


def test_dashboard_on_all_addresses_without_a_secret_exits_with_one_line(tmp_path):
    r = _salesnb("dashboard", "--host", "0.0.0.0", "--source", str(tmp_path / "w.duckdb"))
    assert r.returncode != 0
    lines = r.stderr.strip().splitlines()
    assert len(lines) == 1, r.stderr
    assert "refusing to serve the dashboards on 0.0.0.0 without authentication" in lines[0]
    assert access.ENV_TOKEN in lines[0] and "--token-file" in lines[0]
    # a weak secret is refused the same way, naming where it came from
    weak = tmp_path / "weak"
    weak.write_text("1234")
    r = _salesnb("dashboard", "--host", "0.0.0.0", "--token-file", str(weak))
    assert r.returncode != 0 and len(r.stderr.strip().splitlines()) == 1
    assert str(weak) in r.stderr and "at least 16" in r.stderr


# --------------------------------------------------------------------------- tiny warehouse
@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    """Two teams: Alpha (rep r1, East) sold 150 in 2026-Q3, Beta (r2, West) 200."""
    path = tmp_path_factory.mktemp("access") / "tiny.duckdb"
    con = duckdb.connect(str(path))
    con.execute(
        """create table orders as select * from (values
 ('o1',1,date '2026-07-05','c1','r1','p1','Online','East','US',1.0,100.0,0.0,100.0,'USD'),
 ('o2',1,date '2026-08-10','c2','r1','p1','Retail','East','US',1.0,50.0,0.0,50.0,'USD'),
 ('o3',1,date '2026-09-20','c3','r2','p1','Online','West','US',1.0,200.0,0.0,200.0,'USD')
) t(order_id,line_no,order_date,customer_id,rep_id,product_id,channel,region,country,quantity,
    unit_price,discount,net_amount,currency)"""
    )
    con.execute(
        "create table reps as select * from (values "
        "('r1','Ann','Alpha','East',null,date '2020-01-01','rep'),"
        "('r2','Bob','Beta','West',null,date '2020-01-01','rep')) "
        "t(rep_id,name,team,region,manager_id,hire_date,role)"
    )
    con.close()
    return path


def test_dashboard_link_prints_a_link_the_server_accepts(tiny, tmp_path):
    token = tmp_path / "token"
    token.write_text(SECRET)
    r = _salesnb(
        "dashboard", "link", "--team", "Alpha", "--expires", "7d", "--source", str(tiny),
        "--token-file", str(token), "--url", "https://dash.example.com/sales",
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    url = r.stdout.strip()
    assert url.startswith("https://dash.example.com/sales/voila/render/team.ipynb?team=Alpha&")
    verdict = access.check(SECRET, "team", _query(url))
    assert verdict.ok and verdict.pins == {"team": "Alpha"}
    days = (verdict.expires - dt.datetime.now(dt.UTC)).total_seconds() / 86400
    assert 6.9 < days <= 7
    # an unknown team, no secret: one line each
    r = _salesnb("dashboard", "link", "--team", "Gamma", "--source", str(tiny),
                 env_extra={access.ENV_TOKEN: SECRET})  # fmt: skip
    assert r.returncode == 2 and "unknown team 'Gamma'" in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1
    r = _salesnb("dashboard", "link", "--team", "Alpha", "--source", str(tiny))
    assert r.returncode == 2 and access.ENV_TOKEN in r.stderr
    assert len(r.stderr.strip().splitlines()) == 1


def _rows(html: str) -> set[str]:
    import re

    return set(re.findall(r'data-rep-id="([^"]+)"', html))


def test_a_pinned_board_shows_its_team_whatever_the_panel_says(tiny, monkeypatch):
    query = access.sign(SECRET, "team", {"team": "Alpha"}, LATER)
    monkeypatch.setenv("QUERY_STRING", query + "&period=2026-Q3")  # period: not pinned
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    board = dashboards.team(source=str(tiny), period="2026-Q3")
    assert _rows(board.sections["scorecard"].value) == {"r1", "r2"}  # before the URL: all
    board.apply_url()
    assert board.filters.team == "Alpha"
    assert _rows(board.sections["scorecard"].value) == {"r1"}
    assert 'data-col="revenue" data-value="150.0"' in board.sections["scorecard"].value
    team = board.panel.dropdowns["team"]
    assert team.disabled and list(team.options) == [("Alpha", "Alpha")]
    # a browser sending another value for the dropdown changes nothing drawn
    team.options = [("Beta", "Beta")]
    team.value = "Beta"
    board.redraw()
    assert _rows(board.sections["scorecard"].value) == {"r1"}
    assert [o[1] for o in board.picker.options] == ["r1"]  # nor the rep picker
    # the language can change (not signed); the team stays locked
    board.speak("zh-CN")
    assert list(board.panel.dropdowns["team"].options) == [("Alpha", "Alpha")]
    board.speak("en")


def test_a_pinned_executive_board_counts_its_team_only(tiny, monkeypatch):
    query = access.sign(SECRET, "executive", {"team": "Beta"}, LATER)
    monkeypatch.setenv("QUERY_STRING", query)
    monkeypatch.delenv("VOILA_PREHEAT", raising=False)
    board = dashboards.executive(source=str(tiny), period="2026-Q3")
    board.apply_url()
    assert 'data-kpi="revenue" data-value="200.0"' in board.sections["headline"].value
    assert board.status.value == ""  # sig and expires are not "unknown parameters"
