"""A marketing-funnel export end to end: qualified leads and the deals won from them, no
orders, no lost deals, 18 months of history, a mapping written from the documentation.

Shaped like the public Olist marketing-funnel export (a leads file with first contact date
and origin; a closed-deals file with the lead id, the sales rep, the won date and a declared
revenue). The data is generated here with a fixed seed, so the lead conversion and the won
deals of any period are counted by hand (pandas) and compared with what the report publishes
over ``--period all``, over a range and over the default period.
"""

from __future__ import annotations

import json
import textwrap

import numpy as np
import pandas as pd
import pytest

from salesnb import report
from salesnb.sources import ingest

pytestmark = pytest.mark.slow

MAPPING = """
name: marketing-funnel
description: qualified leads and the deals closed from them (no orders, won deals only)
currency: BRL
lookups:
  deals:
    file: closed_deals.csv
  mql:
    file: qualified_leads.csv
tables:
  leads:
    file: qualified_leads.csv
    columns:
      lead_id: mql_id
      created_date: first_contact_date
      source: origin
      channel: origin
    derive:
      converted_opportunity_id: 'CASE WHEN "mql_id" IN (SELECT "mql_id" FROM deals) THEN "mql_id" END'
  opportunities:
    file: closed_deals.csv
    columns:
      opportunity_id: mql_id
      rep_id: sr_id
      close_date: won_date
      amount: declared_monthly_revenue
    derive:
      created_date: '(SELECT min(m."first_contact_date") FROM mql m WHERE m."mql_id" = src."mql_id")'
    constants:
      status: won
      stage: Won
"""


@pytest.fixture(scope="module")
def export(tmp_path_factory):
    rng = np.random.default_rng(11)
    folder = tmp_path_factory.mktemp("funnel_export")
    n = 900
    first = pd.Timestamp("2017-06-01") + pd.to_timedelta(rng.integers(0, 549, n), unit="D")
    leads = pd.DataFrame(
        {
            "mql_id": [f"{i:032x}" for i in rng.integers(0, 2**62, n)],
            "first_contact_date": first.strftime("%Y-%m-%d"),
            "landing_page_id": [f"lp{i % 7}" for i in range(n)],
            "origin": rng.choice(["organic_search", "paid_search", "social", "email"], n),
        }
    )
    won = leads.sample(frac=0.11, random_state=3).copy()
    won_date = pd.to_datetime(won["first_contact_date"]) + pd.to_timedelta(
        rng.integers(1, 90, len(won)), unit="D"
    )
    deals = pd.DataFrame(
        {
            "mql_id": won["mql_id"].to_numpy(),
            "seller_id": [f"s{i}" for i in range(len(won))],
            "sdr_id": rng.choice(["sdr1", "sdr2"], len(won)),
            "sr_id": rng.choice(["sr1", "sr2", "sr3"], len(won)),
            "won_date": won_date.dt.strftime("%Y-%m-%d %H:%M:%S").to_numpy(),
            "business_segment": "home_decor",
            "declared_monthly_revenue": rng.integers(0, 5, len(won)) * 1000.0,
        }
    )
    leads.to_csv(folder / "qualified_leads.csv", index=False)
    deals.to_csv(folder / "closed_deals.csv", index=False)
    (folder.parent / "funnel.yaml").write_text(textwrap.dedent(MAPPING))
    wh = folder.parent / "funnel.duckdb"
    result = ingest.ingest(folder, into=wh, mapping=folder.parent / "funnel.yaml")
    assert result.as_json()["tables"]["leads"]["accepted"] == n
    return wh, leads, deals


def _hand(leads, deals, start, end):
    created = pd.to_datetime(leads["first_contact_date"])
    inside = leads[(created >= start) & (created < end)]
    converted = inside["mql_id"].isin(deals["mql_id"]).sum()
    won = pd.to_datetime(deals["won_date"]).dt.normalize()
    won_in = deals[(won >= start) & (won < end)]
    return len(inside), int(converted), len(won_in), float(won_in["declared_monthly_revenue"].sum())


@pytest.mark.parametrize(
    "period, start, end",
    [
        ("all", "2017-06-01", "2019-03-01"),
        ("2017-10..2018-03", "2017-10-01", "2018-04-01"),
        ("2018-Q1..2018-Q2", "2018-01-01", "2018-07-01"),
    ],
)
def test_lead_conversion_and_won_deals_match_a_hand_count(export, tmp_path, period, start, end):
    wh, leads, deals = export
    code = report.run_report(
        source=str(wh), period=period, only=["funnel", "data-quality"], out=tmp_path
    )
    (folder,) = [p for p in tmp_path.iterdir() if p.is_dir() and not p.name.startswith(".")]
    manifest = json.loads((folder / "manifest.json").read_text())
    assert code == 0, [(s["id"], s["status"], s["reason"]) for s in manifest["studies"]]
    got = json.loads((folder / "funnel.json").read_text())
    start, end = (
        pd.Timestamp(manifest["period_start"]),
        pd.Timestamp(manifest["period_end_exclusive"]),
    )
    n_leads, n_conv, n_won, won_amount = _hand(leads, deals, start, end)
    assert got["lead_conversion"] == pytest.approx(n_conv / n_leads, abs=1e-6)
    assert got["won_deals"] == n_won
    assert got["won_amount"] == pytest.approx(won_amount)
    assert got["win_rate"] == pytest.approx(1.0)  # a won-only export: every closed deal won
    # no table carries a currency: the mapping's currency is the report's
    assert manifest["parameters"]["common"]["currency"] == "BRL"


def test_the_default_period_is_the_last_quarter_with_leads(export, tmp_path):
    wh, leads, _ = export
    plan = report.plan_report(source=str(wh), only=["funnel"])
    last_lead = pd.to_datetime(leads["first_contact_date"]).max()
    (job,) = plan.jobs
    assert job.period == "2018-Q3", (job.period, last_lead)  # leads run to late Nov 2018
    assert "leads" in job.period_reason
