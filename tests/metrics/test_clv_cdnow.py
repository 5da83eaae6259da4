"""BG/NBD + Gamma-Gamma against the published CDNOW figures (Fader, Hardie & Lee 2005; Fader &
Hardie 2013), and the CLV study on the CDNOW transactions imported through the declared mapping."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from salesnb.metrics.customers import fit_clv

pytestmark = pytest.mark.realdata


def sig3(value: float) -> float:
    return float(f"{value:.3g}")


@pytest.fixture(scope="module")
def cdnow_summary(shared_data) -> pd.DataFrame:
    raw = pd.read_csv(shared_data / "cdnow" / "cdnow_customers_summary_with_transactions.csv")
    return raw.rename(columns={"x": "frequency", "t_x": "recency", "zbar": "monetary_value"})


@pytest.fixture(scope="module")
def cdnow_model(cdnow_summary):
    return fit_clv(cdnow_summary)


def test_cdnow_summary_is_the_published_sample(cdnow_summary):
    assert len(cdnow_summary) == 2357
    assert int((cdnow_summary["frequency"] > 0).sum()) == 946
    assert cdnow_summary["T"].max() == pytest.approx(38.86)


def test_bgnbd_reproduces_published_parameters(cdnow_model):
    published = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}
    for name, value in published.items():
        assert sig3(cdnow_model.params[name]) == sig3(value), name
    assert cdnow_model.loglik == pytest.approx(-9582.4, abs=0.05)
    assert cdnow_model.n_customers == 2357


def test_gamma_gamma_reproduces_published_parameters(cdnow_model):
    published = {"p": 6.25, "q": 3.74, "gamma": 15.44}
    for name, value in published.items():
        assert sig3(cdnow_model.params[name]) == sig3(value), name
    assert cdnow_model.n_repeat == 946


def test_worked_example_conditional_purchases(cdnow_model):
    # Hardie's spreadsheet: x=2, t_x=30.43, T=38.86 -> 1.226 purchases in the next 39 weeks
    expected = cdnow_model.conditional_expected_purchases(39, 2, 30.43, 38.86)
    assert float(expected) == pytest.approx(1.226, abs=5e-4)


def test_unconditional_expected_purchases(cdnow_model):
    got = cdnow_model.expected_purchases([1, 3, 32, 78])
    np.testing.assert_allclose(got, [0.0532, 0.1506, 1.0437, 1.8576], rtol=1e-3)


def test_conditional_expected_average_profit_first_ten(cdnow_model, cdnow_summary):
    head = cdnow_summary.head(10)
    got = cdnow_model.expected_average_value(head["frequency"], head["monetary_value"])
    np.testing.assert_allclose(
        got, [24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17], atol=0.011
    )


def test_probability_alive_is_lower_for_a_long_silence(cdnow_model):
    # same frequency, last purchase long ago vs recently: the long-silent one is less likely alive
    quiet, recent = cdnow_model.probability_alive([3, 3], [5.0, 37.0], [38.86, 38.86])
    assert quiet < 0.5 < recent <= 1.0


def test_extreme_spenders_still_fit_and_keep_their_rank(cdnow_summary):
    whales = cdnow_summary.copy()
    idx = whales.index[whales["frequency"] > 0][:3]
    whales.loc[idx, "monetary_value"] = 1e6
    model = fit_clv(whales)
    # the purchase model does not look at spend: unchanged
    assert sig3(model.params["r"]) == 0.243 and sig3(model.params["b"]) == 2.43
    assert all(math.isfinite(v) and v > 0 for v in model.params.values())
    value = model.expected_average_value(whales["frequency"], whales["monetary_value"])
    # a whale's expected spend shrinks towards the mean but stays in its own league
    assert (value[idx] > 1e5).all() and (value[idx] < 1e6).all()
    assert np.median(value) < 100


def test_cdnow_transactions_through_mapping_and_report(shared_data, tmp_path):
    """CDNOW_master.txt imported with salesnb/mappings/cdnow.yaml, then `report --only customers`."""
    from salesnb import config, report
    from salesnb.sources import ingest

    mapping = config.MAPPINGS_DIR / "cdnow.yaml"
    assert mapping.exists()
    folder = tmp_path / "cdnow"
    folder.mkdir()
    (folder / "CDNOW_master.txt").symlink_to(shared_data / "cdnow" / "CDNOW_master.txt")
    wh = tmp_path / "cdnow.duckdb"
    result = ingest.ingest(folder, into=wh, mapping=str(mapping))
    counts = result.as_json()
    assert "orders" in json.dumps(counts)
    out = tmp_path / "reports"
    code = report.run_report(
        source=str(wh), period="1998-Q2", only=["customers"], out=out, workers=1
    )
    assert code == 0
    figures = json.loads(next(out.glob("*/customers.json")).read_text())
    # the 23,570 customers of the 1997-Q1 cohort, less the 68 whose only transactions are
    # $0 (not purchases for customer_summary)
    assert figures["customers_total"] == 23570 - 68
    assert 0 < figures["bgnbd_r"] < 5 and figures["clv_total"] > 0
    assert figures["at_risk_customers"] > 0
