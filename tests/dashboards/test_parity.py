"""Parity: the dashboards' cards show the report's numbers (issue 13, item 5).

``salesnb report`` runs the funnel and performance studies on the small demo company for the
default filters, one region, one channel, and the current quarter as of a day inside it (a
running period: ``--period Q --as-of D``); the executive and team dashboards are opened in
headless Debian Chromium with the same filters (URL parameters, ``as_of`` among them), and every
figure on a card
that has a counterpart in the studies' ``<study>.json`` is read from the page's text, parsed
and compared at the precision shown (half a unit of the last digit), then its raw value
(``data-value``) at the JSON's six decimals.

Executive board: revenue, target, attainment, pipeline coverage and win rate (the cards), the
open pipeline and coverage basis, deals won and lost (the cards' lines), the fired alerts and
the discount breaches they quote. Team board: its scorecard adds up to the studies' figures —
the reps listed, their revenue, the deals they closed, the win rate and mean cycle time over
those deals, and the reps below 70 % of target. A channel has no target: neither the report
nor the boards compare its sales with one (``metrics.performance.scope_target``).

Eight page loads in all, made at once; the reports run while the server starts.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
from datetime import timedelta
from urllib.parse import urlencode

import pytest
from dashboard_pages import (
    WAIT_MS,
    Viewer,
    chromium_browser,
    start_server,
    stop_server,
    wait_until_serving,
)

from salesnb import config
from salesnb.dashboards import ALERT_FIGURES, URL_FILTERS, current_period
from salesnb.metrics.names import FIGURE_NAMES
from salesnb.model.filters import Filters
from salesnb.queries.warehouse import known_values
from salesnb.report import headlines
from salesnb.sources import connect

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.xdist_group("dashboard-browser")]

STUDIES = ("funnel", "performance")
VIEWS = ("default", "region", "channel", "running")
BOARDS = ("executive", "team")
LOW_ATTAINMENT = 0.7  # the performance study's default `low_attainment` (reps_below_70pct)

# executive card -> (study, key) of the same figure in <study>.json
EXECUTIVE_CARDS = {
    "revenue": ("performance", "revenue_total"),
    "target": ("performance", "target_total"),
    "attainment": ("performance", "attainment_company"),
    "pipeline_coverage": ("funnel", "pipeline_coverage"),
    "win_rate": ("funnel", "win_rate"),
}
# what the page shows: every KPI (value text, raw value, the line under it), the alerts, the
# scorecard rows and the filter panel's choices
READ_PAGE = """() => {
  const kpis = {};
  for (const e of document.querySelectorAll('[data-kpi]')) {
    const tile = e.closest('.snb-kpi');
    kpis[e.dataset.kpi] = {text: e.innerText, value: e.dataset.value,
                           label: tile ? tile.querySelector('.snb-kpi-label').textContent : '',
                           sub: tile ? tile.querySelector('.snb-kpi-sub').innerText : ''};
  }
  const alerts = [...document.querySelectorAll('[data-alert]')]
    .map(e => ({key: e.dataset.alert, text: e.innerText}));
  const rows = [...document.querySelectorAll('tr[data-rep-id]')].map(r => Object.fromEntries(
    [...r.querySelectorAll('td[data-col]')].map(td => [td.dataset.col,
                                                       {text: td.innerText, value: td.dataset.value}])));
  const picked = {};
  for (const name of ['period', 'region', 'team', 'channel']) {
    const s = document.querySelector('.snb-filter-' + name + ' select');
    picked[name] = s && s.selectedOptions.length ? s.selectedOptions[0].text : null;
  }
  return {kpis, alerts, rows, picked, alertsShown: !!document.querySelector('[data-alerts]')};
}"""


# -- reading numbers as people see them ---------------------------------------------------------
SCALE = {"": 1.0, "k": 1e3, "K": 1e3, "M": 1e6, "B": 1e9}
NUMBER = re.compile(
    r"(?P<sign>[-−]?)(?P<digits>\d[\d,]*(?:\.(?P<decimals>\d+))?)\s?(?P<scale>[kKMB]?)"
    r"(?P<unit>%|x\b|\s?days?\b|\s?d\b)?"
)


def shown(text: str) -> tuple[float, float] | None:
    """The number a card shows and half a unit of its last digit (its display precision):
    ``"1.25M USD"`` -> (1250000.0, 5000.0), ``"18.8%"`` -> (0.188, 0.0005), ``"2.4x"``,
    ``"37 days"``; None for a figure shown as missing (no digit: a dash, "n/a")."""
    m = NUMBER.search(text)
    if m is None:
        return None
    scale = SCALE[m["scale"]] * (0.01 if m["unit"] == "%" else 1.0)
    value = float(m["digits"].replace(",", "")) * scale * (-1 if m["sign"] else 1)
    return value, 0.5 * 10.0 ** -len(m["decimals"] or "") * scale


def test_shown_reads_the_house_formats():
    assert shown("131.88M USD") == pytest.approx((131.88e6, 0.005e6))
    assert shown("132M USD") == pytest.approx((132e6, 0.5e6))
    assert shown("350k") == pytest.approx((350e3, 500.0))
    assert shown("18.8%") == pytest.approx((0.188, 0.0005))
    assert shown("2.38x") == pytest.approx((2.38, 0.005))
    assert shown("37 days") == pytest.approx((37.0, 0.5))
    assert shown("-1,234") == pytest.approx((-1234.0, 0.5))
    assert shown("—") is None and shown("–") is None and shown("n/a") is None


def assert_shown_equals(text: str, raw: str | None, want, what: str) -> None:
    """A figure shown as ``text`` (raw value ``raw``) is the report's ``want`` at the
    precision shown, and at the JSON's six decimals."""
    got = shown(text)
    if want is None:
        assert got is None, f"{what}: the page shows {text!r}, the report has no figure"
        return
    assert got is not None, f"{what}: the page shows {text!r}, the report has {want}"
    value, half = got
    assert abs(value - want) <= half + 1e-6 * max(1.0, abs(want)), (
        f"{what}: the page shows {text!r}, the report has {want}"
    )
    if raw not in (None, ""):
        assert float(raw) == pytest.approx(want, rel=1e-9, abs=1e-6), (
            f"{what}: the page's value {raw}, the report's {want}"
        )


# -- the runs -------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def views(demo_warehouse) -> dict[str, dict[str, str]]:
    """Each view's parameters: filters, and for the running view a period and a day in it."""
    src = connect(demo_warehouse)
    known = known_values(src)
    quarter = current_period(src)  # the report's default period too (see below)
    src.close()
    return {
        "default": {},
        "region": {"region": known["region"][0]},
        "channel": {"channel": known["channel"][0]},
        "running": {
            "period": quarter.label,
            "as_of": (quarter.start + timedelta(days=45)).isoformat(),
        },
    }


def _filters(view_params: dict[str, str]) -> dict[str, str]:
    return {k: v for k, v in view_params.items() if k in URL_FILTERS and k != "period"}


@pytest.fixture(scope="module")
def runs(demo_warehouse, chromium, views, tmp_path_factory):
    """The reports of every view and the pages of both boards for each: ``(reports, pages)``.

    The four reports run while the dashboard server starts; then the eight pages are requested
    at once. The server keeps no preheated kernels: each page runs its notebook on request, so
    six kernels in all (a preheated pool would start as many again to refill itself; the
    preheated path, URL parameters included, is tests/dashboards/test_dashboard_browser.py's).
    """
    out = tmp_path_factory.mktemp("parity")
    proc, base, log = start_server(demo_warehouse, "dashboard-parity-server.log", preheat=False)
    try:
        reports = _run_reports(demo_warehouse, views, out)
        wait_until_serving(proc, base, log)
        periods = {r["period"] for r in reports.values()}
        assert len(periods) == 1, f"the reports cover different periods: {periods}"
        with chromium_browser(chromium) as browser:
            pages = _read_pages(browser, base, views, periods.pop())
    finally:
        stop_server(proc, log)
    return reports, pages


def _studies(view: str) -> tuple[str, ...]:
    """The studies a view's report runs: the targets study's landing too for a running period."""
    return (*STUDIES, "targets") if view == "running" else STUDIES


def _run_reports(source, views, out) -> dict[str, dict]:
    procs = {}
    for view, given in views.items():
        params = [a for k, v in given.items() if k != "period" for a in ("-p", f"{k}={v}")]
        cmd = [sys.executable, "-m", "salesnb.cli", "report", "--source", str(source)]
        cmd += ["--only", *_studies(view), "--out", str(out / view), *params]
        if "period" in given:
            cmd += ["--period", given["period"]]
        log = open(out / f"{view}.log", "w")  # noqa: SIM115 - closed below
        procs[view] = (
            subprocess.Popen(
                cmd, stdout=log, stderr=subprocess.STDOUT, cwd=str(config.PROJECT_ROOT)
            ),
            log,
        )
    reports = {}
    for view, (proc, log) in procs.items():
        code = proc.wait(timeout=600)
        log.close()
        text = (out / f"{view}.log").read_text()
        assert code == 0, f"salesnb report ({view}) exited with {code}: {text[-2000:]}"
        (folder,) = [p for p in (out / view).iterdir() if p.is_dir() and not p.name.startswith(".")]
        manifest = json.loads((folder / "manifest.json").read_text())
        reports[view] = {
            "period": manifest["period"],
            "alerts": json.loads((folder / "alerts.json").read_text())["alerts"],
            **{s: json.loads((folder / f"{s}.json").read_text()) for s in _studies(view)},
        }
    return reports


def _read_pages(browser, base, views, period) -> dict[tuple[str, str], dict]:
    opened = {}
    try:
        for view, given in views.items():
            # the default view is the page as opened without parameters
            query = urlencode({"period": period, **given}) if given else ""
            for board in BOARDS:
                v = Viewer(browser)
                v.open(
                    f"{base}/voila/render/{board}.ipynb" + (f"?{query}" if query else ""),
                    wait=False,
                )
                opened[view, board] = v
        pages = {}
        for (view, board), v in opened.items():
            if board == "executive":
                v.ready("[data-alerts]")
            else:
                v.ready("[data-kpi='rep_revenue']")
            v.page.wait_for_selector("[data-kpi]", timeout=WAIT_MS)
            v.assert_clean()
            pages[view, board] = v.page.evaluate(READ_PAGE)
            v.shot(f"parity-{board}-{view}")
        return pages
    finally:
        for v in opened.values():
            v.close()


@pytest.fixture(scope="module")
def reports(runs):
    return runs[0]


@pytest.fixture(scope="module")
def pages(runs):
    return runs[1]


def _study(reports, view, study):
    return reports[view][study]


# -- the comparisons ------------------------------------------------------------------------------
@pytest.mark.parametrize("view", VIEWS)
def test_pages_show_the_filters_of_the_report(reports, pages, views, view):
    period = reports[view]["period"]
    for board in BOARDS:
        picked = pages[view, board]["picked"]
        # the demo ends on a quarter's last day: the report's default period (the last complete
        # quarter) is the dashboards' (the quarter of the end of the data)
        assert picked["period"] == period, (board, picked)
        for name, value in _filters(views[view]).items():
            assert picked[name] == value, (board, picked)
    revenue_line = pages[view, "executive"]["kpis"]["revenue"]["sub"]
    want = Filters(**_filters(views[view])).describe()
    assert revenue_line == f"{period}, {want}"


@pytest.mark.parametrize("view", VIEWS)
def test_executive_cards_equal_the_report(reports, pages, views, view):
    kpis = pages[view, "executive"]["kpis"]
    for card, (study, key) in EXECUTIVE_CARDS.items():
        shown_card = kpis[card]
        want = _study(reports, view, study).get(key)
        assert_shown_equals(shown_card["text"], shown_card["value"], want, f"{view}: {card}")
        # one voice: the card is named as the index and the study page name the figure
        named = [f.name for f in headlines.REGISTRY.get(study, ()) if f.key == key]
        assert shown_card["label"] == (named[0] if named else FIGURE_NAMES[key]), (card, named)
    funnel = _study(reports, view, "funnel")
    # "15.2M USD open on 2026-09-30 vs won amount in scope"
    line = kpis["pipeline_coverage"]["sub"]
    amount, _, rest = line.partition(" open on ")
    assert_shown_equals(amount, None, funnel["open_pipeline"], f"{view}: open pipeline")
    if "as_of" in views[view]:  # a running period is seen on the day given, in both
        assert rest.startswith(f"{views[view]['as_of']} vs "), line
    if "coverage_basis" in funnel:  # absent when the report cannot say what coverage is against
        assert rest.split(" vs ", 1)[1] == funnel["coverage_basis"], line
    # "567 won / 2,448 lost"
    won, lost = (int(n.replace(",", "")) for n in re.findall(r"\d[\d,]*", kpis["win_rate"]["sub"]))
    assert (won, won + lost) == (funnel["won_deals"], funnel["closed_deals"]), kpis["win_rate"]


@pytest.mark.parametrize("view", VIEWS)
def test_landing_card_is_the_targets_studys(reports, pages, views, view):
    """While the period runs, the landing card is the targets study's landing of the same
    scope (forecast, 80 % interval, gap to the quota); once complete, the revenue booked."""
    card = pages[view, "executive"]["kpis"]["forecast"]
    if "as_of" not in views[view]:
        want = _study(reports, view, "performance")["revenue_total"]
        assert_shown_equals(card["text"], card["value"], want, f"{view}: landing (complete)")
        assert card["sub"].startswith("period complete"), card
        return
    targets = _study(reports, view, "targets")
    assert targets["landing_period"] == reports[view]["period"]
    assert targets["landing_as_of"] == views[view]["as_of"]
    assert_shown_equals(card["text"], card["value"], targets["landing_forecast"], "landing")
    # "80%: 671.8M USD – 713.9M USD; −12.3M USD vs target; combined ...; data to 2026-08-15"
    low, high = card["sub"].split(";")[0].split(": ", 1)[1].split(" – ")
    assert_shown_equals(low, None, targets["landing_low"], "landing low")
    assert_shown_equals(high, None, targets["landing_high"], "landing high")
    gap = card["sub"].split(";")[1].strip()
    assert gap.endswith(" vs target"), card
    assert_shown_equals(gap.replace("+", ""), None, targets["gap_to_target"], "gap to target")


@pytest.mark.parametrize("view", VIEWS)
def test_executive_alerts_are_the_reports(reports, pages, views, view):
    page = pages[view, "executive"]
    assert page["alertsShown"]
    on_board = {(s, k) for s, k in ALERT_FIGURES.values()}
    fired = {
        (a["study"], a["key"])
        for a in reports[view]["alerts"]
        if a["status"] == "alert" and (a["study"], a["key"]) in on_board
    }
    shown_alerts = {a["key"]: a["text"] for a in page["alerts"]}
    assert {(s, k) for s, k in on_board if k in shown_alerts} == fired
    if "discount_breaches" in shown_alerts:  # "... (discount_breaches = 5; all regions ...)"
        n = re.search(r"discount_breaches = ([\d,]+)", shown_alerts["discount_breaches"])
        assert (
            int(n[1].replace(",", "")) == _study(reports, view, "performance")["discount_breaches"]
        )


def _column(rows, col) -> list[tuple[float, float] | None]:
    return [shown(r[col]["text"]) for r in rows]


@pytest.mark.parametrize("view", VIEWS)
def test_team_scorecard_adds_up_to_the_report(reports, pages, views, view):
    rows = pages[view, "team"]["rows"]
    perf, funnel = _study(reports, view, "performance"), _study(reports, view, "funnel")
    assert len(rows) == perf["reps"]
    # revenue: every order in scope is a rep's, so the column adds up to the scope's revenue
    revenue = _column(rows, "revenue")
    total, slack = sum(v for v, _ in revenue), sum(h for _, h in revenue)
    assert abs(total - perf["revenue_total"]) <= slack + 1e-6 * perf["revenue_total"]
    raw = sum(float(r["revenue"]["value"]) for r in rows)
    assert raw == pytest.approx(perf["revenue_total"], rel=1e-9, abs=1e-6)
    # deals closed, and the win rate and mean cycle time over them (weighted by deals closed)
    closed = [int(r["closed"]["text"].replace(",", "")) for r in rows]
    assert sum(closed) == funnel["closed_deals"]
    for col, key in (("win_rate", "win_rate"), ("cycle_days", "mean_cycle_days")):
        pairs = [(s, n) for s, n in zip(_column(rows, col), closed, strict=True) if n]
        assert all(s is not None for s, _ in pairs), f"{col}: a rep with closed deals shows none"
        pooled = sum(s[0] * n for s, n in pairs) / sum(n for _, n in pairs)
        half = max(s[1] for s, _ in pairs)  # a weighted mean of rounded values
        assert abs(pooled - funnel[key]) <= half + 1e-6, f"{view}: {col} {pooled} vs {funnel[key]}"
    if "channel" in views[view]:  # no rep target is compared with one channel's sales
        assert all(s is None for s in _column(rows, "attainment"))
    # reps below 70 % of target; a rep shown at 70.0 % may be either side
    attainment = [s for s in _column(rows, "attainment") if s is not None]
    below = sum(v + h < LOW_ATTAINMENT for v, h in attainment)
    edge = sum(abs(v - LOW_ATTAINMENT) <= h for v, h in attainment)
    assert below <= (perf.get("reps_below_70pct") or 0) <= below + edge


def test_the_report_sets_no_target_for_a_channel(reports):
    perf = _study(reports, "channel", "performance")
    assert perf.get("attainment_company") is None and perf.get("target_total") is None
    assert not perf.get("reps_below_70pct")
    fired = {a["key"] for a in reports["channel"]["alerts"] if a["status"] == "alert"}
    assert "attainment_company" not in fired
