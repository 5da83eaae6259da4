"""Bar and column charts drawn as small SVG documents, for pages that redraw in milliseconds.

Why written by hand: a dashboard redraws every chart on each filter change, and a matplotlib
figure takes ~100 ms to draw and encode; these charts take about a millisecond. They keep the
house style of :mod:`salesnb.plots`, so a dashboard and a report look alike:

- colours from the house :data:`~salesnb.plots.PALETTE` (bars in its first colour, a target
  line in its red; callers colour channels and regions with :func:`~salesnb.plots.color_for`);
- money tick labels from :func:`~salesnb.plots.short_money` (1.5M, 320M, 2k);
- tick values from matplotlib's ``MaxNLocator`` with the steps of the house charts' axes
  (1, 2, 2.5, 5, 10 times a power of ten), starting at 0 (:func:`nice_ticks`);
- text set in DejaVu Sans, as the house style sets it; in Chinese
  (:func:`salesnb.i18n.language`) Chinese characters fall back to Noto Sans CJK SC (installed
  with the CJK fonts) and count as wide when the layout measures a text.

Every word comes from the caller (titles, axis and legend labels, already in the page's
language); the only words of this module are the numbers of the ticks.

Every text is escaped; an SVG document carries no script and fetches nothing, so it can travel
as an ``<img>`` data URL (see :func:`salesnb.dashboards.layout.svg_html`).
"""

from __future__ import annotations

import html
import math
import unicodedata
from collections.abc import Callable

from matplotlib.ticker import MaxNLocator

from salesnb.i18n import language
from salesnb.plots import PALETTE, short_money

FONT = "DejaVu Sans, Verdana, sans-serif"
# Chinese pages: Latin text and digits as in English, Chinese characters in Noto Sans CJK
FONT_ZH = "DejaVu Sans, Noto Sans CJK SC, Noto Sans SC, Source Han Sans SC, sans-serif"
BAR_BLUE = PALETTE[0]
TARGET_RED = PALETTE[3]
GRID = "#e6e6e6"
AXIS = "#999"
INK = "#262626"
TICK_STEPS = [1, 2, 2.5, 5, 10]  # matplotlib's AutoLocator steps: the house charts' scale


def nice_ticks(top: float, n: int = 5) -> list[float]:
    """Round tick values from 0 to at least ``top`` (about ``n`` intervals).

    >>> nice_ticks(47.3)
    [0.0, 10.0, 20.0, 30.0, 40.0, 50.0]
    >>> nice_ticks(0)
    [0.0, 1.0]
    """
    if not top or top <= 0 or math.isnan(top):
        return [0.0, 1.0]
    ticks = MaxNLocator(nbins=n, steps=TICK_STEPS).tick_values(0.0, top)
    return [round(float(t), 10) for t in ticks]


def _esc(v) -> str:
    return html.escape(str(v), quote=True)


def _text_width(text: str, size: float) -> float:
    """About how wide ``text`` is set at ``size``: a Chinese (wide) character takes a whole em.

    >>> _text_width("abc", 10), _text_width("收入", 10)
    (18.6, 20.0)
    """
    wide = sum(1 for c in text if unicodedata.east_asian_width(c) in "WF")
    return 0.62 * size * (len(text) - wide) + size * wide


def _svg(width: float, height: float, body: list[str], title: str) -> str:
    font = FONT_ZH if language() == "zh-CN" else FONT
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width:.0f}" height="{height:.0f}" '
        f'viewBox="0 0 {width:.0f} {height:.0f}" font-family="{font}" fill="{INK}">'
        f'<rect width="100%" height="100%" fill="white"/>'
        f'<text x="{width / 2:.1f}" y="18" font-size="13" font-weight="bold" '
        f'text-anchor="middle">{_esc(title)}</text>{"".join(body)}</svg>'
    )


def svg_column_chart(
    labels: list[str],
    values: list[float],
    title: str,
    y_label: str,
    tick: Callable[[float], str] = short_money,
    reference: float | None = None,
    reference_label: str = "",
    bar_label: str = "",
    color: str = BAR_BLUE,
    width: float = 600,
    height: float = 260,
) -> str:
    """Vertical bars (one per label) with a y axis, gridlines and an optional dashed reference
    line (a target pace); returns the SVG document.

    >>> svg = svg_column_chart(["2026-07", "2026-08"], [120.0, 80.0], "July led", "Revenue (USD)")
    >>> svg.startswith("<svg") and "Revenue (USD)" in svg and ">100<" in svg
    True
    """
    rotate = len(labels) > 6
    left, right, top, bottom = 74, 14, 48, 62 if rotate else 36
    plot_w, plot_h = width - left - right, height - top - bottom
    finite = [v for v in values if v is not None and not math.isnan(v)]
    ticks = nice_ticks(max([*finite, reference or 0.0, 0.0]))
    y_max = ticks[-1] or 1.0

    def y(v: float) -> float:
        return top + plot_h * (1 - max(v, 0.0) / y_max)

    body = []
    for t in ticks:
        body.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{y(t):.1f}" y2="{y(t):.1f}" '
            f'stroke="{GRID}"/><text x="{left - 6}" y="{y(t) + 4:.1f}" font-size="11" '
            f'text-anchor="end">{_esc(tick(t))}</text>'
        )
    slot = plot_w / max(len(labels), 1)
    bar_w = slot * 0.7
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        x = left + i * slot + (slot - bar_w) / 2
        if v is not None and not math.isnan(v) and v > 0:
            body.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bar_w:.1f}" '
                f'height="{top + plot_h - y(v):.1f}" fill="{color}"><title>{_esc(label)}: '
                f"{_esc(tick(v))}</title></rect>"
            )
        cx, ly = left + i * slot + slot / 2, top + plot_h + 15
        if rotate:
            body.append(
                f'<text x="{cx:.1f}" y="{ly:.1f}" font-size="10" text-anchor="end" '
                f'transform="rotate(-45 {cx:.1f} {ly:.1f})">{_esc(label)}</text>'
            )
        else:
            body.append(
                f'<text x="{cx:.1f}" y="{ly:.1f}" font-size="11" text-anchor="middle">'
                f"{_esc(label)}</text>"
            )
    body.append(
        f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{top + plot_h:.1f}" '
        f'y2="{top + plot_h:.1f}" stroke="{AXIS}"/>'
    )
    legend = [(bar_label, f'<rect width="14" height="8" y="-7" fill="{color}"/>')]
    if reference is not None and not math.isnan(reference):
        ry = y(reference)
        body.append(
            f'<line x1="{left}" x2="{left + plot_w:.1f}" y1="{ry:.1f}" y2="{ry:.1f}" '
            f'stroke="{TARGET_RED}" stroke-width="1.5" stroke-dasharray="6 4"/>'
        )
        legend.append(
            (
                reference_label,
                f'<line x1="0" x2="14" y1="-3" y2="-3" stroke="{TARGET_RED}" '
                f'stroke-width="1.5" stroke-dasharray="4 2"/>',
            )
        )
    legend = [(text, mark) for text, mark in legend if text]
    if len(legend) > 1:  # one row under the title, right-aligned
        lx = left + plot_w
        for text, mark in reversed(legend):
            lx -= _text_width(text, 10) + 30
            body.append(
                f'<g transform="translate({lx:.1f},{top - 8})">{mark}'
                f'<text x="20" y="0" font-size="10">{_esc(text)}</text></g>'
            )
    cy = top + plot_h / 2
    body.append(
        f'<text x="14" y="{cy:.1f}" font-size="11" text-anchor="middle" '
        f'transform="rotate(-90 14 {cy:.1f})">{_esc(y_label)}</text>'
    )
    return _svg(width, height, body, title)


def svg_bar_chart(
    labels: list[str],
    values: list[float],
    title: str,
    x_label: str,
    tick: Callable[[float], str] = lambda v: f"{v:,.0f}",
    value_labels: list[str] | None = None,
    colors: list[str] | None = None,
    width: float = 600,
) -> str:
    """Horizontal bars (first label on top) with an x axis and a text label after each bar;
    returns the SVG document. ``colors``: one per bar (default: the house blue).

    >>> svg = svg_bar_chart(["Online", "Retail"], [0.75, 0.25], "Online leads", "Share (%)",
    ...                     tick=lambda v: f"{v:.0%}")
    >>> ">75%<" in svg and "Share (%)" in svg
    True
    """
    row = 26
    left = min(max([_text_width(str(s), 11) for s in labels] + [40]) + 16, 220)
    right, top, bottom = 16, 30, 44
    value_labels = value_labels or [tick(v) for v in values]
    # room after the longest bar for its label
    label_room = max([_text_width(t, 10) for t in value_labels] + [0]) + 8
    plot_w = width - left - right - label_room
    height = top + bottom + row * max(len(labels), 1)
    finite = [v for v in values if v is not None and not math.isnan(v)]
    ticks = nice_ticks(max([*finite, 0.0]), n=4)
    x_max = ticks[-1] or 1.0

    def x(v: float) -> float:
        return left + plot_w * max(v, 0.0) / x_max

    body = []
    base = top + row * len(labels)
    for t in ticks:
        body.append(
            f'<line x1="{x(t):.1f}" x2="{x(t):.1f}" y1="{top}" y2="{base}" stroke="{GRID}"/>'
            f'<text x="{x(t):.1f}" y="{base + 14}" font-size="11" text-anchor="middle">'
            f"{_esc(tick(t))}</text>"
        )
    for i, (label, v) in enumerate(zip(labels, values, strict=True)):
        y0 = top + i * row
        color = colors[i] if colors else BAR_BLUE
        v = 0.0 if v is None or math.isnan(v) else v
        body.append(
            f'<text x="{left - 6}" y="{y0 + row / 2 + 4:.1f}" font-size="11" '
            f'text-anchor="end">{_esc(label)}</text>'
            f'<rect x="{left}" y="{y0 + 4}" width="{x(v) - left:.1f}" height="{row - 8}" '
            f'fill="{color}"><title>{_esc(label)}: {_esc(value_labels[i])}</title></rect>'
            f'<text x="{x(v) + 4:.1f}" y="{y0 + row / 2 + 4:.1f}" font-size="10">'
            f"{_esc(value_labels[i])}</text>"
        )
    body.append(f'<line x1="{left}" x2="{left}" y1="{top}" y2="{base}" stroke="{AXIS}"/>')
    body.append(
        f'<text x="{left + plot_w / 2:.1f}" y="{height - 8}" font-size="11" '
        f'text-anchor="middle">{_esc(x_label)}</text>'
    )
    return _svg(width, height, body, title)
