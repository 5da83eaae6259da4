"""The house number formats (salesnb.formatting): the strings users read, and every place
that shows a figure using them."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from salesnb import formatting as F

MISSING_VALUES = [None, float("nan"), np.nan, math.inf, -math.inf, pd.NA, pd.NaT, np.float64("nan")]
ALL = [F.money, F.short_money, F.count, F.number, F.percent, F.change, F.points, F.ratio, F.days]


def test_short_money_is_one_rule_for_tiles_ticks_and_sentences():
    cases = {
        1_234_567.8: "1.2M",
        350_000: "350k",
        2_000: "2k",
        1_500: "1.5k",
        12_345: "12.3k",
        320_000_000: "320M",
        2.5e9: "2.5B",
        999: "999",
        12.4: "12",
        0: "0",
        999_960: "1M",  # not 1000k
        -48_250: "-48.2k",
        -0.3: "0",  # never -0
    }
    assert {x: F.short_money(x) for x in cases} == cases
    assert F.short_money(1_500_000, "USD") == "1.5M USD"  # the code after the figure
    assert F.short_money(-2_000_000, "EUR") == "-2M EUR"


def test_money_in_full_carries_its_currency_after_the_amount():
    assert F.money(1_234_567.8, "USD") == "1,234,568 USD"
    assert F.money(-1_234.4, "BRL") == "-1,234 BRL"
    assert F.money(1_234.5) == "1,234"  # no currency: no trailing space
    assert F.money(0.5, "EUR", decimals=2) == "0.50 EUR"
    assert F.money(-0.2, "USD") == "0 USD"


def test_shares_changes_points_ratios_days_counts():
    assert F.percent(0.3125) == "31.2%" and F.percent(1.5) == "150.0%"
    assert F.percent(0.0567, decimals=0) == "6%"
    assert F.change(0.123) == "+12.3%" and F.change(-0.04) == "-4.0%"
    assert F.change(-0.0004) == "+0.0%"  # a rounding difference is no change, not -0.0%
    assert F.points(0.021) == "+2.1 pp" and F.points(-0.105) == "-10.5 pp"
    assert F.ratio(2.63) == "2.6x" and F.ratio(0.8) == "0.8x"
    assert F.days(34.4) == "34 days" and F.days(1) == "1 day"
    assert F.count(1_234_567) == "1,234,567" and F.count(np.int64(12)) == "12"
    assert F.number(1234.5) == "1,234.50"


@pytest.mark.parametrize("fn", ALL, ids=lambda f: f.__name__)
@pytest.mark.parametrize("x", MISSING_VALUES, ids=repr)
def test_missing_is_a_dash_never_nan_or_inf(fn, x):
    assert fn(x) == F.MISSING == "—"
    assert fn(x, missing=F.NOT_COMPUTABLE) == "n/a"
    assert F.headline(x, "revenue") == "—"


def test_headline_reads_the_kind_of_figure_from_its_key():
    assert F.headline(0.312, "win_rate") == "31.2%"
    assert F.headline(1.08, "attainment_company") == "108.0%"
    assert F.headline(12.0, "attainment_company") == "12"  # not a share: above 5
    assert F.headline(1520, "orders") == "1,520"
    assert F.headline(1234.567, "revenue") == "1,234.57"
    assert F.headline(0.12345, "cv") == "0.123"
    assert F.headline(True, "ok") == "yes" and F.headline("text", "k") == "text"


def test_value_text_quotes_data_back_as_it_was_written():
    assert F.value_text("abc") == "'abc'"
    assert F.value_text(3.0) == "3" and F.value_text(1234.0) == "1234"  # no separators
    assert F.value_text(pd.Timestamp("2026-03-01")) == "2026-03-01"
    assert F.value_text(pd.NaT) == "—" and F.value_text(float("nan")) == "—"


def test_every_place_that_shows_a_figure_uses_the_house_rules():
    import matplotlib.pyplot as plt

    from salesnb import dashboards, plots
    from salesnb.dashboards import layout
    from salesnb.metrics import targets
    from salesnb.plots.performance import format_table

    # dashboards' KPI tiles
    assert dashboards.fmt_money(1_234_567.8, "USD") == "1.2M USD"
    assert layout.fmt_pct(float("nan")) == "—" and layout.fmt_times(2.63) == "2.6x"
    assert layout.fmt_days(12) == "12 days" and layout.fmt_number(0.31, "win_rate") == "31.0%"
    # chart ticks
    fig, ax = plt.subplots()
    plots.money_axis(ax, currency="EUR")
    tick = ax.yaxis.get_major_formatter()
    assert tick(1_234_567.8, 0) == "1.2M" and tick(350_000, 0) == "350k"
    plt.close(fig)
    # narrative text of the target study
    assert targets._money(1_234_567.8, "USD") == "1.2M USD"
    assert targets._money(float("nan"), "USD") == "not computable"
    # tables
    html = format_table(
        pd.DataFrame({"rep": ["a", "b"], "revenue": [1234.5, np.inf], "growth": [0.1, np.nan]}),
        money=["revenue"],
        signed_pct=["growth"],
    ).to_html()
    assert "1,234" in html and "+10.0%" in html and "n/a" in html
    assert "nan" not in html and "inf" not in html
