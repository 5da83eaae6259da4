"""One house style for every chart.

- Colours are fixed per channel and per region across all studies
  (:func:`color_for`), so "Online" is the same blue everywhere.
- Titles state the finding; axes carry units (:func:`money_axis`).
- Chinese (CJK) names render when a CJK font such as Noto Sans CJK is
  installed; the font is looked up, never downloaded.
- In a notebook, charts are shown as SVG with real text (:func:`use_house_style`):
  a third less CPU than PNG for the study's charts, a fifth of the bytes in a
  report, sharp at any zoom, and text a reader can search and copy. The text is
  set in the reader's own fonts (DejaVu Sans / the CJK font named first, then
  any sans-serif font); dense point clouds are embedded as images
  (``rasterized=True``) so a chart never carries thousands of SVG elements.

Plot functions live in area modules (``salesnb.plots.funnel`` ...), take the
data first and ``ax=None``, and return the Axes; they never call ``plt.show()``.
"""

from __future__ import annotations

import functools
import hashlib
import io
import re

import matplotlib

matplotlib.use("Agg") if matplotlib.get_backend().lower() in ("", "agg") else None

import matplotlib.pyplot as plt  # noqa: E402
import matplotlib.ticker as mticker  # noqa: E402
from matplotlib import font_manager  # noqa: E402

from salesnb.formatting import short_money  # noqa: E402  (tick labels; re-exported)
from salesnb.i18n import _  # noqa: E402

# Tableau-10 colour-blind-friendly order; fixed assignments for known names.
PALETTE = [
    "#4E79A7",
    "#F28E2B",
    "#59A14F",
    "#E15759",
    "#76B7B2",
    "#EDC948",
    "#B07AA1",
    "#FF9DA7",
    "#9C755F",
    "#BAB0AC",
]
FIXED = {
    # channels
    "Online": PALETTE[0],
    "Retail": PALETTE[1],
    "Partner": PALETTE[2],
    "Direct": PALETTE[3],
    "Marketplace": PALETTE[4],
    "Inside Sales": PALETTE[6],
    # regions
    "North": PALETTE[0],
    "South": PALETTE[1],
    "East": PALETTE[2],
    "West": PALETTE[3],
    "Central": PALETTE[4],
    "International": PALETTE[6],
}
CJK_FONTS = [
    "Noto Sans CJK SC",
    "Noto Sans CJK JP",
    "Noto Sans CJK TC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Zen Hei",
    "SimHei",
]


def color_for(name) -> str:
    """The fixed colour of a channel / region name (stable hash for unknown names)."""
    name = str(name)
    if name in FIXED:
        return FIXED[name]
    i = int(hashlib.md5(name.encode("utf-8")).hexdigest(), 16) % len(PALETTE)
    return PALETTE[i]


def palette_for(names) -> dict:
    return {n: color_for(n) for n in names}


@functools.cache
def cjk_font() -> str | None:
    """Name of an installed CJK font, or None.

    matplotlib caches its font list on first use; a CJK font installed after that (the usual
    order on a fresh machine: pip install, then apt-get install fonts-noto-cjk) is not in the
    cache, so the system font folders are looked through once more for CJK files.
    """
    installed = {f.name for f in font_manager.fontManager.ttflist}
    found = next((f for f in CJK_FONTS if f in installed), None)
    if found is None:
        for path in font_manager.findSystemFonts():
            if "CJK" in path or "cjk" in path:
                try:
                    font_manager.fontManager.addfont(path)
                except (OSError, RuntimeError, ValueError):  # an unreadable font file is skipped
                    continue
        installed = {f.name for f in font_manager.fontManager.ttflist}
        found = next((f for f in CJK_FONTS if f in installed), None)
    return found


def use_house_style() -> None:
    """Apply the house style (called by studies once; idempotent)."""
    import seaborn as sns

    sns.set_theme(style="whitegrid", context="notebook")
    # matplotlib falls back glyph by glyph along an explicit family list (not along the
    # generic "sans-serif" list), so Latin text keeps DejaVu and Chinese names use the CJK font.
    fonts = ["DejaVu Sans"]
    if cjk := cjk_font():
        fonts.append(cjk)
    plt.rcParams.update(
        {
            "font.family": fonts,
            "axes.titlesize": 12,
            "axes.titleweight": "bold",
            "figure.figsize": (8, 4),
            "figure.dpi": 100,
            "savefig.bbox": "tight",
            "axes.spines.top": False,
            "axes.spines.right": False,
            # Titles sit just above the axes, where matplotlib's automatic placement puts them
            # when nothing is drawn above the axes (house charts keep ticks and labels at the
            # bottom and left). Placing them automatically re-measures every tick label of the
            # y axis for each title at each draw: a fifth of the CPU of rendering a chart.
            "axes.titley": 1.0,
            # SVG output: text stays text, and ids are salted with a constant, not a random
            # value, so the same chart gives the same bytes
            "svg.fonttype": "none",
            "svg.hashsalt": "salesnb",
        }
    )
    _svg_in_notebooks()


def _svg_in_notebooks() -> None:
    """Show inline charts as SVG (see the module docstring) when running in IPython."""
    try:
        from IPython import get_ipython
        from IPython.core.pylabtools import select_figure_formats
        from matplotlib.figure import Figure
    except ImportError:
        return
    shell = get_ipython()
    if shell is None or "inline" not in matplotlib.get_backend():
        return
    # no creation date in the file: the same data gives the same report
    select_figure_formats(shell, {"svg"}, bbox_inches="tight", metadata={"Date": None})
    shell.display_formatter.formatters["image/svg+xml"].for_type(Figure, figure_svg)


_SVG_ROOT = re.compile(r"<svg\b[^>]*>")


def figure_svg(fig, pad_inches: float = 0.1) -> str | None:
    """The figure as SVG cropped to its content, like ``savefig(bbox_inches="tight")``.

    Why not savefig: a tight crop there costs a whole extra drawing pass (matplotlib lays the
    figure out once to measure it, then draws it), about 40% of a chart's CPU. Here the
    figure is drawn once at its own size, measured with the same renderer (whose text
    metrics are then cached), and the crop is written as the SVG's viewBox, over a white
    background that also covers what lies outside the figure (a legend placed beside the
    axes). Any failure falls back to savefig. ``None`` for an empty figure, like IPython.
    """
    if not fig.axes and not fig.lines and not fig.texts:
        return None
    try:
        from matplotlib.backends.backend_mixed import MixedModeRenderer
        from matplotlib.backends.backend_svg import RendererSVG

        buf = io.StringIO()
        dpi = fig.dpi
        width, height = fig.get_size_inches()
        try:
            fig.dpi = 72  # what the SVG backend draws at (1 unit = 1 pt)
            renderer = MixedModeRenderer(
                fig,
                width,
                height,
                dpi,
                RendererSVG(width * 72, height * 72, buf, image_dpi=dpi, metadata={"Date": None}),
            )
            fig.draw(renderer)
            renderer.finalize()
            box = fig.get_tightbbox(renderer).padded(pad_inches)
        finally:
            fig.dpi = dpi
        svg = buf.getvalue()
        root = _SVG_ROOT.search(svg)
        x0, y0 = box.x0 * 72, (height - box.y1) * 72
        w, h = box.width * 72, box.height * 72
        tag = root.group(0)
        for attr, value in (
            ("width", f"{w:.2f}pt"),
            ("height", f"{h:.2f}pt"),
            ("viewBox", f"{x0:.2f} {y0:.2f} {w:.2f} {h:.2f}"),
        ):
            tag, n = re.subn(rf'\b{attr}="[^"]*"', f'{attr}="{value}"', tag, count=1)
            if not n:
                raise ValueError(f"no {attr} on the SVG root")
        background = (
            f'<rect x="{x0:.2f}" y="{y0:.2f}" width="{w:.2f}" height="{h:.2f}" fill="#ffffff"/>'
        )
        return svg[: root.start()] + tag + background + svg[root.end() :]
    except Exception:
        out = io.StringIO()
        fig.savefig(out, format="svg", bbox_inches="tight", metadata={"Date": None})
        return out.getvalue()


def money_axis(ax, axis: str = "y", currency: str = "USD"):
    """Format an axis as money with k/M suffixes and the currency in the label."""
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.FuncFormatter(lambda x, _: short_money(x)))
    label = (ax.get_ylabel() if axis == "y" else ax.get_xlabel()) or _("Revenue")
    if currency not in label:
        label = f"{label} ({currency})"
    (ax.set_ylabel if axis == "y" else ax.set_xlabel)(label)
    return ax


def pct_axis(ax, axis: str = "y"):
    target = ax.yaxis if axis == "y" else ax.xaxis
    target.set_major_formatter(mticker.PercentFormatter(1.0))
    return ax


def new_ax(ax=None, figsize=None):
    if ax is None:
        _, ax = plt.subplots(figsize=figsize)
    return ax
