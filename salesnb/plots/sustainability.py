"""Charts and tables of the sustainability study."""

from __future__ import annotations

import pandas as pd

from salesnb import formatting as fmt
from salesnb.i18n import N_, _
from salesnb.plots import PALETTE, color_for, new_ax, pct_axis


def trend_chart(company: pd.DataFrame, regions: pd.DataFrame | None = None, path=None, ax=None):
    """Green share of revenue per quarter: the company (thick), each region (thin) and the
    straight path to the target (dashed, from :func:`salesnb.metrics.sustainability.target_path`)."""
    ax = new_ax(ax)
    if regions is not None:
        for name in regions.columns:
            ax.plot(regions.index, regions[name], color=color_for(name), linewidth=1, label=name)
    ax.plot(
        company.index, company["green_share"], color=PALETTE[0], linewidth=2.5, label=_("Company")
    )
    if path is not None:
        (x0, y0), (x1, y1) = path["start"], path["end"]
        ax.plot([x0, x1], [y0, y1], color="grey", linestyle="--", label=_("Path to the target"))
        ax.scatter([x1], [y1], color="grey", zorder=3)
    ax.set_title(_("Share of revenue from green products, by quarter"))
    ax.set_ylabel(_("Green share of revenue (%)"))
    pct_axis(ax, "y")
    ax.legend(loc="upper left", fontsize=8)
    return ax


def change_bars(regions: pd.DataFrame, ax=None):
    """Green share per region now and a year earlier (paired bars)."""
    ax = new_ax(ax)
    t = regions.sort_values("region").reset_index(drop=True)
    x = range(len(t))
    ax.bar(
        [i - 0.2 for i in x],
        t["green_share_prior"],
        width=0.4,
        color="lightgrey",
        label=_("Same period last year"),
    )
    ax.bar(
        [i + 0.2 for i in x],
        t["green_share"],
        width=0.4,
        color=[color_for(r) for r in t["region"]],
        label=_("This period"),
    )
    ax.set_xticks(list(x), [str(r) for r in t["region"]])
    ax.set_title(_("Green share by region, against last year"))
    ax.set_ylabel(_("Green share of revenue (%)"))
    pct_axis(ax, "y")
    ax.legend(fontsize=8)
    return ax


__all__ = ["trend_chart", "change_bars", "TABLE_FORMAT", "HEADERS", "table"]


#: Display formats of the study's tables.
TABLE_FORMAT = {
    **dict.fromkeys(("revenue", "green_revenue"), "{:,.0f}"),
    **dict.fromkeys(("green_share", "green_share_prior", "planned_share"), "{:.1%}"),
    "green_share_change": fmt.points,
    "emissions_intensity": "{:,.1f}",
}

#: Readable headers of the study's tables (on every page; the CSVs keep the column names).
HEADERS = {
    "region": N_("Region"),
    "team": N_("Team"),
    "rep": N_("Rep"),
    "revenue": N_("Revenue"),
    "green_revenue": N_("Revenue from green products"),
    "green_share": N_("Green share"),
    "green_share_prior": N_("Green share a year earlier"),
    "green_share_change": N_("Change (points)"),
    "emissions_intensity": N_("kg CO2e per 1,000 of revenue"),
}


def table(frame: pd.DataFrame, index: bool = False):
    """``frame`` as a page shows it: formatted (:data:`TABLE_FORMAT`), its empty columns left
    out, readable translated headers."""
    from salesnb.plots.targets import localise

    styler = frame.dropna(axis=1, how="all").style.format(TABLE_FORMAT, na_rep="–")
    return localise(styler if index else styler.hide(axis="index"), HEADERS)
