"""After-sales service metrics on tiny frames with answers worked out by hand."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from salesnb.metrics import service as sm


def tickets():
    # priority, first response h, resolution h, csat
    return pd.DataFrame(
        {
            "priority": ["Urgent", "Urgent", "High", "Low", "Low", "Odd"],
            "category": ["Billing", "Defect", "Defect", "Billing", "How-to", "How-to"],
            "first_response_hours": [3.0, 5.0, 8.0, 50.0, np.nan, 30.0],
            "resolution_hours": [10.0, 20.0, 30.0, 40.0, np.nan, 60.0],
            "csat": [5.0, 4.0, 4.0, 2.0, np.nan, 3.0],
        }
    )


def test_sla_breaches_by_hand():
    t = sm.sla_table(tickets())
    # Urgent 4h: 3 ok, 5 late; High 8h: exactly 8 is on time; Low 48h: 50 late, no response = late;
    # unknown priority falls back to 24h: 30 late.
    assert t["breached"].tolist() == [False, True, False, True, True, True]
    assert t["sla_hours"].tolist() == [4.0, 4.0, 8.0, 48.0, 48.0, 24.0]
    custom = sm.sla_table(tickets(), sla_hours={"Urgent": 6.0}, fallback_hours=100.0)
    assert custom["breached"].tolist() == [False, False, False, False, True, False]


def test_service_summary_overall_and_by_category():
    overall = sm.service_summary(tickets())
    assert overall["tickets"].iloc[0] == 6
    assert overall["breach_rate"].iloc[0] == pytest.approx(4 / 6)
    assert overall["median_resolution_hours"].iloc[0] == 30.0  # of 10, 20, 30, 40, 60
    assert overall["csat_avg"].iloc[0] == pytest.approx(18 / 5)
    assert overall["open_tickets"].iloc[0] == 1
    by = sm.service_summary(tickets(), by="category").set_index("category")
    assert by.loc["How-to", "breach_rate"] == 1.0  # worst first
    assert sm.service_summary(tickets(), by="category")["category"].iloc[0] == "How-to"
    assert by.loc["Defect", "breach_rate"] == 0.5


def test_nps_by_hand():
    r = sm.nps(pd.Series([10, 9, 9, 8, 7, 6, 3, 0, 10, 5]))
    # promoters 4/10, detractors 4/10 -> 0 points
    assert r["nps"] == 0.0 and r["responses"] == 10
    r2 = sm.nps(pd.Series([10, 10, 10, 9]))
    # all promoters: no spread for the normal interval; Wilson on (score + 100) / 200 = 4 of 4
    z = 1.959963984540054
    wilson_low = (1 + z**2 / 8 - z * math.sqrt(z**2 / 64)) / (1 + z**2 / 4)
    assert r2["nps"] == 100.0 and r2["high"] == 100.0
    assert r2["low"] == pytest.approx(200 * wilson_low - 100)
    assert math.isnan(sm.nps(pd.Series([], dtype=float))["nps"])
    # interval: p=0.5, d=0.25 -> var = 0.75 - 0.0625 = 0.6875; se = 100*sqrt(.6875/4)
    r3 = sm.nps(pd.Series([10, 9, 0, 7]))
    assert r3["nps"] == 25.0
    assert r3["nps"] - r3["low"] == pytest.approx(1.96 * 100 * math.sqrt(0.6875 / 4))
    assert r3["high"] == 100.0  # 25 + 81.3 clipped to the scale


def test_nps_interval_stays_in_range_and_has_width_at_the_extremes():
    passives = sm.nps(pd.Series([7, 8, 7]))
    assert passives["nps"] == 0.0 and passives["low"] < 0 < passives["high"]
    assert passives["low"] == pytest.approx(-passives["high"])
    detractors = sm.nps(pd.Series([0]))
    assert detractors["nps"] == -100.0 and detractors["low"] == -100.0
    assert detractors["high"] > -100.0
    # 9 promoters and 1 passive: the normal interval would pass 100
    near = sm.nps(pd.Series([10] * 9 + [8]))
    assert near["nps"] == 90.0 and near["high"] == 100.0 and near["low"] < 90.0


def test_breach_rate_interval_is_wilson_and_not_empty_at_zero_or_one():
    t = pd.DataFrame(
        {
            "priority": ["High"] * 4,
            "first_response_hours": [1.0, 2.0, 3.0, 4.0],  # none late: 0 of 4 breached
            "resolution_hours": [5.0] * 4,
            "csat": [5.0] * 4,
        }
    )
    row = sm.service_summary(t).iloc[0]
    z = 1.959963984540054
    assert row["breach_rate"] == 0.0 and row["breach_low"] == 0.0
    # Wilson upper bound for 0 of n: z^2 / (n + z^2)
    assert row["breach_high"] == pytest.approx(z**2 / (4 + z**2))
    late = sm.service_summary(t.assign(first_response_hours=20.0)).iloc[0]
    assert late["breach_rate"] == 1.0 and late["breach_high"] == 1.0
    assert late["breach_low"] == pytest.approx(4 / (4 + z**2))


def test_csat_drivers_that_cannot_be_estimated_are_named():
    few = pd.DataFrame({"csat": [1.0, 5.0], "resolution_hours": [1.0, 2.0], "breached": False})
    gaps = sm.csat_driver_gaps(few)
    assert set(gaps) == {"each extra day to resolve", "a breached first response"}
    assert "only 2 tickets" in gaps["each extra day to resolve"]
    assert sm.csat_drivers(few).empty
    flat = pd.DataFrame({"csat": [4.0] * 12, "resolution_hours": range(12), "breached": False})
    assert set(sm.csat_driver_gaps(flat).values()) == {"every rated ticket has the same CSAT score"}
    # every ticket breached: the breach effect is not testable, resolution time still is
    d = pd.DataFrame(
        {"csat": [5.0, 4, 4, 3, 3, 2, 2, 1, 1, 1, 2, 5], "resolution_hours": 24.0 * np.arange(12)}
    ).assign(breached=True)
    assert sm.csat_driver_gaps(d) == {
        "a breached first response": "every ticket breached its first-response SLA"
    }
    out = sm.csat_drivers(d)
    assert out["driver"].tolist() == ["each extra day to resolve"]
    slope = np.polyfit(np.arange(12), d["csat"], 1)[0]  # OLS on one regressor = the LS line
    assert out["effect"].iloc[0] == pytest.approx(slope)


def test_service_headline_leaves_out_unknown_figures():
    t = tickets().assign(csat=np.nan, resolution_hours=np.nan)
    h = sm.service_headline(sm.service_summary(t), sm.service_summary(t, by="category"), None)
    assert "ticket_csat" not in h and "median_resolution_hours" not in h
    assert h["tickets"] == 6 and h["open_tickets"] == 6
    assert sm.service_headline(None, None, sm.nps(pd.Series([], dtype=float))) == {}
    text = sm.what_to_do(
        sm.service_summary(t), sm.service_summary(t, by="category"), pd.DataFrame(), pd.DataFrame()
    )
    assert "nan" not in text and "none resolved yet" in text


def test_nps_by_touchpoint_and_missing_columns():
    s = pd.DataFrame({"touchpoint": ["A", "A", "B"], "nps": [10, 0, 9], "csat": [5, 1, 4]})
    out = sm.nps_by(s, "touchpoint").set_index("touchpoint")
    assert out.loc["A", "nps"] == 0.0 and out.loc["B", "nps"] == 100.0
    assert out.loc["A", "csat_avg"] == 3.0
    with pytest.raises(ValueError, match="missing column"):
        sm.service_summary(pd.DataFrame({"priority": ["High"]}))


def test_csat_drivers_recovers_a_known_slope():
    rng = np.random.default_rng(0)
    days = rng.uniform(0, 10, 400)
    breached = rng.random(400) < 0.3
    csat = 4.5 - 0.2 * days - 0.5 * breached + rng.normal(0, 0.1, 400)
    d = pd.DataFrame({"csat": csat, "resolution_hours": days * 24, "breached": breached})
    out = sm.csat_drivers(d).set_index("driver")
    assert out.loc["each extra day to resolve", "effect"] == pytest.approx(-0.2, abs=0.02)
    assert out.loc["a breached first response", "effect"] == pytest.approx(-0.5, abs=0.05)


def test_service_study_on_demo(demo_report):
    """The service study publishes SLA and NPS figures that agree with an independent SQL count."""
    import duckdb

    figures = json.loads((demo_report / "service.json").read_text())
    manifest = json.loads((demo_report / "manifest.json").read_text())
    source = manifest["source"]
    period = manifest["period"]
    from salesnb.model.periods import parse_period

    p = parse_period(period)
    con = duckdb.connect(source, read_only=True)
    n, breached = con.execute(
        """select count(*), sum(case when first_response_at is null
               or epoch(first_response_at - opened_at) / 3600 > case priority
                  when 'Urgent' then 4 when 'High' then 8 when 'Medium' then 24 when 'Low' then 48 else 24 end
               then 1 else 0 end)
           from tickets where opened_at >= ? and opened_at < ?""",
        [p.start, p.end],
    ).fetchone()
    prom, det, total = con.execute(
        "select sum(case when nps >= 9 then 1 else 0 end), sum(case when nps <= 6 then 1 else 0 end), count(nps) "
        "from surveys where date >= ? and date < ?",
        [p.start, p.end],
    ).fetchone()
    con.close()
    assert figures["tickets"] == n
    assert figures["sla_breach_rate"] == pytest.approx(breached / n, abs=1e-6)
    assert figures["nps"] == pytest.approx(100 * (prom - det) / total, abs=1e-4)
