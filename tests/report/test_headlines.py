"""The headline registry: every key it names is in a real report's JSON (so it cannot drift
from the studies), every study has its figures, and a change is shown with the arrow of its
sign, the colour of its direction, and against a previous report only when comparable."""

from __future__ import annotations

import json

import pytest

from salesnb import formatting, studies
from salesnb.report import headlines
from salesnb.report.headlines import (
    DOWN,
    PRIOR_REPORT,
    REGISTRY,
    UNITS,
    UP,
    Change,
    Figure,
    previous_figures,
    study_figures,
    value_text,
)


def test_every_study_has_two_or_three_headline_figures_with_known_units():
    assert set(REGISTRY) == set(studies.STUDIES)
    for sid, figures in REGISTRY.items():
        assert 2 <= len(figures) <= 3, sid
        assert len({f.key for f in figures}) == len(figures), sid
        for f in figures:
            assert f.unit in UNITS and f.good in (-1, 0, 1), (sid, f)
            assert "_" not in f.name.format_map(dict.fromkeys(headlines.placeholders(f), "x"))
            if isinstance(f.change, Change):
                assert f.change.kind in ("relative", "points"), (sid, f)
                assert f.change.basis in headlines.BASIS, (sid, f)
            else:
                assert f.change == PRIOR_REPORT, (sid, f)


def test_every_registry_key_is_in_the_demo_reports_json(demo_report):
    manifest = json.loads((demo_report / "manifest.json").read_text())
    ran = {s["id"] for s in manifest["studies"] if s["status"] == "ok"}
    assert ran == set(REGISTRY), "every study runs on the demo"
    for sid, figures in REGISTRY.items():
        found = json.loads((demo_report / f"{sid}.json").read_text())
        for f in figures:
            assert f.key in found, f"{sid}.json has no {f.key}: the registry has drifted"
            if isinstance(f.change, Change):
                assert f.change.key in found, f"{sid}.json has no {f.change.key}"
            for name in headlines.placeholders(f):
                assert name == "period" or name in found, f"{sid}.json has no {name} ({f.name})"
        shown = study_figures(sid, found, "USD", period=manifest["period"])
        assert [s["key"] for s in shown] == [f.key for f in figures]
        for s in shown:
            assert formatting.MISSING not in s["name"] and s["value"] != formatting.MISSING, s


@pytest.mark.parametrize(
    ("unit", "value", "text"),
    [
        ("money", 992929920.12, "993M USD"),
        ("count", 1208, "1,208"),
        ("percent", 0.181726, "18.2%"),
        ("points", 0.074008, "+7.4 pp"),
        ("change", 0.118075, "+11.8%"),
        ("ratio", 4.952476, "5.0x"),
        ("days", 65.0, "65 days"),
        ("hours", 66.145, "2.8 days"),
        ("score", -12.942989, "-12.9"),
    ],
)
def test_units_use_the_house_formats_and_never_show_nan(unit, value, text):
    assert value_text(unit, value, "USD") == text
    for missing in (None, float("nan"), float("inf")):
        assert value_text(unit, missing, "USD") == formatting.MISSING


FIG = Figure("win_rate", "Win rate", "percent", +1)
COST = Figure("cost", "Cost", "money", -1)
CARRIED = Figure("revenue", "Revenue of {period}", "money", +1, Change("growth"))


def one(figure: Figure, figures: dict, prior=None) -> dict:
    reg = {"s": [figure]}
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(headlines, "REGISTRY", reg)
        (shown,) = study_figures("s", figures, "USD", prior, period="2026-Q3")
    return shown


def prior(**figures) -> dict:
    return {"period": "2026-Q2", "currency": "USD", "figures": figures}


def test_a_change_carried_in_the_json_gets_the_arrow_of_its_sign_and_the_colour_of_its_direction():
    up = one(CARRIED, {"revenue": 698e6, "growth": 0.15})
    assert up["name"] == "Revenue of 2026-Q3" and up["value"] == "698M USD"
    assert up["change"] | {"was": None} == {
        "arrow": UP,
        "direction": "up",
        "tone": "good",
        "text": "+15.0%",
        "basis": "vs same period last year",
        "was": None,
    }
    down = one(CARRIED, {"revenue": 698e6, "growth": -0.04})["change"]
    assert (down["arrow"], down["tone"], down["text"]) == (DOWN, "bad", "-4.0%")
    flat = one(CARRIED, {"revenue": 698e6, "growth": 0.00001})["change"]
    assert (flat["arrow"], flat["text"]) == ("", headlines.NO_CHANGE)
    # no change carried: the previous report, else no comparison
    fallback = one(CARRIED, {"revenue": 698e6, "growth": None}, prior(revenue=700e6))["change"]
    assert (fallback["arrow"], fallback["text"], fallback["basis"]) == (DOWN, "-0.3%", "vs 2026-Q2")
    none = one(CARRIED, {"revenue": 698e6})["change"]
    assert (none["arrow"], none["text"], none["direction"]) == ("", formatting.MISSING, "none")


def test_against_the_previous_report_shares_move_in_points_amounts_in_percent():
    better = one(FIG, {"win_rate": 0.20}, prior(win_rate=0.18))["change"]
    assert (better["arrow"], better["tone"], better["text"]) == (UP, "good", "+2.0 pp")
    assert better["was"] == "2026-Q2: 18.0%"
    costlier = one(COST, {"cost": 120.0}, prior(cost=100.0))["change"]
    assert (costlier["arrow"], costlier["tone"], costlier["text"]) == (UP, "bad", "+20.0%")
    cheaper = one(COST, {"cost": 80.0}, prior(cost=100.0))["change"]
    assert (cheaper["arrow"], cheaper["tone"]) == (DOWN, "good")
    from_zero = one(COST, {"cost": 5000.0}, prior(cost=0))["change"]
    assert (from_zero["arrow"], from_zero["text"]) == (UP, "+5k USD")
    missing_before = one(FIG, {"win_rate": 0.2}, prior(win_rate=None))["change"]
    assert missing_before["text"] == formatting.MISSING and not missing_before["arrow"]


def _publish(reports, label, period, common=None, status="ok", figures=None):
    folder = reports / label
    folder.mkdir(parents=True)
    manifest = {
        "period": label,
        "parameters": {"common": {"region": "", "team": "", "channel": "", "currency": "USD"}},
        "studies": [
            {"id": "funnel", "period": period, "status": status, "files": {"json": "funnel.json"}}
        ],
    }
    manifest["parameters"]["common"].update(common or {})
    (folder / "manifest.json").write_text(json.dumps(manifest))
    (folder / "funnel.json").write_text(json.dumps(figures or {"win_rate": 0.18}))
    return manifest


@pytest.mark.parametrize(
    ("label", "period", "common", "status", "found"),
    [
        ("2026-Q2", "2026-Q2", {}, "ok", True),
        ("2026-Q2", "2026-Q2", {"region": "North"}, "ok", False),  # another scope
        ("2026-Q2", "2026-Q2", {"currency": "EUR"}, "ok", False),  # another currency
        ("2026-Q2", "2026-Q2", {"as_of": "2026-05-15"}, "ok", False),  # partial quarter
        ("2026-Q2", "2026-Q2", {"as_of": "2026-07-02"}, "ok", True),  # complete by then
        ("2026-Q2", "2026-Q2", {}, "failed", False),
        ("2026-Q2", "2026-Q1", {}, "ok", False),  # that run reported another period
        ("2026-Q1", "2026-Q1", {}, "ok", False),  # not the previous period
    ],
)
def test_the_previous_report_is_used_only_when_comparable(
    tmp_path, label, period, common, status, found
):
    _publish(tmp_path, label, period, common, status)
    now = {
        "period": "2026-Q3",
        "parameters": {"common": {"region": "", "team": "", "channel": "", "currency": "USD"}},
    }
    entry = {"id": "funnel", "period": "2026-Q3"}
    got = previous_figures(tmp_path, now, entry)
    assert (got is not None) == found
    if found:
        assert got == {"period": "2026-Q2", "currency": "USD", "figures": {"win_rate": 0.18}}


def test_no_previous_report_for_a_period_without_one(tmp_path):
    now = {"period": "all", "parameters": {"common": {}}}
    assert previous_figures(tmp_path, now, {"id": "funnel", "period": "all"}) is None
    assert previous_figures(None, now, {"id": "funnel", "period": "2026-Q3"}) is None
