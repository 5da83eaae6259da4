"""The house chart style: fixed colours, money axes, Chinese text that renders."""

from __future__ import annotations

import warnings

import matplotlib
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
from conftest import need  # noqa: E402

from salesnb import plots  # noqa: E402


def test_channel_and_region_colours_are_fixed_and_distinct():
    assert plots.color_for("Online") == plots.color_for("Online") == plots.PALETTE[0]
    channels = ["Direct", "Partner", "Online", "Retail"]
    assert len({plots.color_for(c) for c in channels}) == 4
    # an unknown name gets the same colour in every process (hash of the name, not of the object)
    assert plots.color_for("Marketplace-7") == plots.color_for("Marketplace-7")
    assert plots.palette_for(["Retail"]) == {"Retail": plots.PALETTE[1]}


def test_money_axis_labels_units():
    fig, ax = plt.subplots()
    ax.bar(["a", "b"], [1_500_000, 2_000])
    plots.money_axis(ax, currency="EUR")
    fig.canvas.draw()
    assert ax.get_ylabel() == "Revenue (EUR)"
    fmt = ax.yaxis.get_major_formatter()
    assert fmt(1_500_000, 0) == "1.5M" and fmt(2_000, 0) == "2k" and fmt(12, 0) == "12"
    plt.close(fig)


def test_chinese_names_render_with_a_cjk_font():
    need(
        plots.cjk_font() is not None,
        "no CJK font installed (Debian: apt-get install fonts-noto-cjk)",
    )
    plots.use_house_style()
    fig, ax = plt.subplots()
    ax.bar(["华东贸易有限公司", "华南"], [3, 4])
    ax.set_title("华东贸易有限公司 leads the East")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        fig.canvas.draw()
    missing = [str(w.message) for w in caught if "missing from font" in str(w.message)]
    assert missing == []
    plt.close(fig)


def test_svg_charts_keep_text_as_text_and_are_reproducible():
    import io

    import numpy as np
    import pandas as pd

    from salesnb.plots import customers as pc

    plots.use_house_style()

    def svg(make) -> str:
        fig, ax = plt.subplots()
        make(ax)
        buf = io.StringIO()
        fig.savefig(buf, format="svg", bbox_inches="tight", metadata={"Date": None})
        plt.close(fig)
        return buf.getvalue()

    def bars(ax):
        ax.bar(["North", "South"], [1, 2])
        ax.set_title("South sells twice North")

    first, second = svg(bars), svg(bars)
    assert first == second  # no date, ids salted with a constant
    assert ">South sells twice North</text>" in first  # searchable text, not glyph outlines
    # a cloud of thousands of customers is one embedded image, not thousands of SVG elements
    rng = np.random.default_rng(1)
    pred = pd.DataFrame(
        {
            "frequency": rng.integers(1, 9, 5000),
            "revenue": rng.lognormal(8, 1, 5000),
            "probability_alive": rng.random(5000),
        }
    )
    cloud = svg(lambda ax: pc.clv_scatter(pred, ax=ax))
    assert "<image" in cloud and cloud.count("<use") < 100 and len(cloud) < 400_000


def test_one_pass_svg_crops_like_savefig_tight():
    import io
    import re

    plots.use_house_style()
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.bar(["North", "South", "华东"], [1_500_000, 2_000_000, 900_000], label="revenue")
    plots.money_axis(ax)
    ax.set_title("South sells most")
    ax.legend(loc="upper left", bbox_to_anchor=(1.0, 1.0))  # outside the axes: must stay in
    ours = plots.figure_svg(fig)
    ref = io.StringIO()
    fig.savefig(ref, format="svg", bbox_inches="tight", metadata={"Date": None})
    plt.close(fig)

    def size(svg):
        root = re.search(r"<svg\b[^>]*>", svg).group(0)
        return [float(re.search(rf'{a}="([\d.]+)pt"', root).group(1)) for a in ("width", "height")]

    assert size(ours) == pytest.approx(size(ref.getvalue()), abs=0.5)
    for text in ("South sells most", "revenue", "Revenue (USD)", "2M", "1.5M"):
        assert f">{text}</text>" in ours
    empty = plt.figure()
    assert plots.figure_svg(empty) is None  # an empty figure shows nothing
    plt.close(empty)


@pytest.mark.parametrize("label", ["{}", "months since the first purchase {}"])
def test_customer_heatmaps_turn_labels_like_seaborn_without_its_full_draw(label):
    # seaborn draws the whole figure to see whether tick labels overlap; the customers charts
    # only lay it out: the same labels turn (long ones here), the same SVG comes out, and
    # the figure keeps its own canvas
    import numpy as np
    import pandas as pd
    import seaborn as sns

    from salesnb.plots import customers as pc

    plots.use_house_style()
    m = pd.DataFrame(
        np.arange(4 * 13).reshape(4, 13) / 100,
        index=list("abcd"),
        columns=[label.format(i) for i in range(13)],
    )

    def draw(heatmap):
        fig, ax = plt.subplots(figsize=(10, 4))
        canvas = fig.canvas
        heatmap(m, ax)
        assert fig.canvas is canvas
        turned = ax.get_xticklabels()[0].get_rotation()
        svg = plots.figure_svg(fig)
        plt.close(fig)
        return turned, svg

    ours = draw(lambda d, ax: pc._heatmap(d, ax, cmap="viridis", annot=True))
    assert ours == draw(lambda d, ax: sns.heatmap(d, ax=ax, cmap="viridis", annot=True))
    assert ours[0] == (0.0 if label == "{}" else 90.0)


def test_reps_are_labelled_by_name_and_namesakes_by_id_too():
    import pandas as pd

    from salesnb.plots import performance as pp

    card = pd.DataFrame(
        {
            "rep_id": ["R1", "R2", "R3", "R4"],
            "name": ["Ana Li", "Bo Chen", "Ana Li", None],
            "attainment": [0.5, 1.2, 0.9, 0.8],
        }
    )
    assert pp.rep_labels(card).tolist() == ["Ana Li (R1)", "Bo Chen", "Ana Li (R3)", "R4"]
    ax = pp.attainment_bars(card)
    shown = [t.get_text() for t in ax.get_yticklabels()]
    assert shown == ["Ana Li (R1)", "R4", "Ana Li (R3)", "Bo Chen"]  # sorted by attainment
    assert ax.get_title() == "1 of 4 reps below 70% of target"
    plt.close(ax.figure)
