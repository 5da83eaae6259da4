"""Sustainability: how much of our revenue comes from green products, where, and the path to a target.

Pure functions over the frames of :func:`salesnb.queries.sustainability.green_revenue_by`
(``*by, revenue, green_revenue, co2_kg``). The green share is green revenue over net revenue
(left empty when net revenue is zero or negative); the emissions intensity is kg CO2e per
1,000 of revenue in the report's currency; the target path is a straight line from last
year's share to the target share in the target period.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb import formatting as fmt
from salesnb.i18n import _, period_label
from salesnb.model.periods import Period

PER = 1000.0  # emissions intensity: kg CO2e per PER of revenue


def with_shares(frame: pd.DataFrame) -> pd.DataFrame:
    """``frame`` with ``green_share`` and ``emissions_intensity`` (kg CO2e per 1,000 of revenue).

    >>> f = pd.DataFrame({"revenue": [200.0, 0.0], "green_revenue": [50.0, 0.0], "co2_kg": [4.0, None]})
    >>> with_shares(f)[["green_share", "emissions_intensity"]].values.tolist()
    [[0.25, 20.0], [nan, nan]]
    """
    t = frame.copy()
    rev = t["revenue"].where(t["revenue"] > 0)
    t["green_share"] = t["green_revenue"] / rev
    t["emissions_intensity"] = t["co2_kg"].astype("float64") / rev * PER
    return t


def change_table(current: pd.DataFrame, prior: pd.DataFrame | None, key: str) -> pd.DataFrame:
    """One row per ``key`` value: revenue, green share now and a year earlier, and the change
    in points (``green_share_change``); sorted by the change, largest rise first.

    >>> cur = pd.DataFrame({"region": ["A", "B"], "revenue": [100.0, 100.0], "green_revenue": [30.0, 10.0], "co2_kg": [1.0, 2.0]})
    >>> pri = pd.DataFrame({"region": ["A", "B"], "revenue": [100.0, 50.0], "green_revenue": [20.0, 5.0], "co2_kg": [1.0, 1.0]})
    >>> change_table(cur, pri, "region")[["region", "green_share_change"]].round(2).values.tolist()
    [['A', 0.1], ['B', 0.0]]
    """
    t = with_shares(current)
    if prior is not None and len(prior):
        p = with_shares(prior)[[key, "green_share"]].rename(
            columns={"green_share": "green_share_prior"}
        )
        t = t.merge(p, on=key, how="left")
    else:
        t["green_share_prior"] = np.nan
    t["green_share_change"] = t["green_share"] - t["green_share_prior"]
    cols = [key, "revenue", "green_revenue", "green_share", "green_share_prior"]
    cols += ["green_share_change", "emissions_intensity"]
    return (
        t[cols]
        .sort_values(["green_share_change", key], ascending=[False, True], na_position="last")
        .reset_index(drop=True)
    )


def quarterly(trend: pd.DataFrame, by: str | None = None) -> pd.DataFrame:
    """Green share per quarter (rows) of the company, or per ``by`` value (columns).

    ``trend``: ``quarter[, by], revenue, green_revenue, co2_kg``.
    """
    if by is None:
        t = trend.groupby("quarter", as_index=False)[["revenue", "green_revenue"]].sum()
        return with_shares(t.assign(co2_kg=np.nan)).set_index("quarter")[["green_share"]]
    t = with_shares(trend)
    return t.pivot_table(index="quarter", columns=by, values="green_share", aggfunc="first")


def _mid(period: Period) -> pd.Timestamp:
    start, end = pd.Timestamp(period.start), pd.Timestamp(period.end)
    return start + (end - start) / 2


def target_path(
    current: float,
    prior: float | None,
    period: Period,
    target: float,
    target_period: Period,
) -> dict:
    """Where the green share should be now on the straight line from last year's share to
    ``target`` in ``target_period``, and what it takes from here.

    Returns ``start`` / ``end`` (date, share) of the line, ``planned`` (its value in the middle
    of ``period``), ``gap`` (actual minus planned, in points: negative is behind) and
    ``needed_per_year`` (rise a year from now to the target). Without last year's share the
    line starts from this period's (no gap can be measured then).

    >>> from salesnb.model.periods import parse_period
    >>> p = target_path(0.25, 0.20, parse_period("2026"), 0.40, parse_period("2029"))
    >>> round(p["planned"], 3), round(p["gap"], 3), round(p["needed_per_year"], 3)
    (0.25, 0.0, 0.05)
    """
    now, goal = _mid(period), _mid(target_period)
    years_left = (goal - now).days / 365.25
    if prior is None or pd.isna(prior):
        start, planned = (now, current), current
    else:
        then = _mid(period.shift_years(-1))
        start = (then, prior)
        span = (goal - then).days
        planned = prior + (target - prior) * ((now - then).days / span) if span > 0 else target
    gap = current - planned if prior is not None and pd.notna(prior) else np.nan
    return {
        "start": start,
        "end": (goal, target),
        "planned": planned,
        "gap": gap,
        "needed_per_year": (target - current) / years_left if years_left > 0 else np.nan,
        "target": target,
        "target_period": target_period.label,
    }


def emissions_text(now: float, before: float | None) -> str:
    """The emissions intensity in a sentence (markdown), with last year's when known.

    >>> emissions_text(52.04, None)
    '**52.0** kg CO2e per 1,000 of revenue.'
    """
    if before is None or pd.isna(before):
        return _("**{now}** kg CO2e per 1,000 of revenue.").format(now=f"{now:,.1f}")
    return _("**{now}** kg CO2e per 1,000 of revenue ({before} a year earlier).").format(
        now=f"{now:,.1f}", before=f"{before:,.1f}"
    )


def riser(regions: pd.DataFrame) -> pd.Series | None:
    """The region whose green share rose most on last year (None when no change is known)."""
    known = regions.dropna(subset=["green_share_change"])
    if known.empty:
        return None
    return known.sort_values(["green_share_change", "region"], ascending=[False, True]).iloc[0]


def _lowest(table: pd.DataFrame, key: str, min_share: float = 0.05) -> pd.Series | None:
    """The ``key`` with the lowest green share among those with at least ``min_share`` of revenue."""
    total = table["revenue"].clip(lower=0).sum()
    big = table[(table["revenue"] >= min_share * total) & table["green_share"].notna()]
    if big.empty or total <= 0:
        return None
    return big.sort_values(["green_share", key]).iloc[0]


def what_to_do(
    share: float, path: dict | None, regions: pd.DataFrame, teams: pd.DataFrame | None = None
) -> str:
    """Markdown bullets for the sustainability decisions (in the page's language).

    >>> r = pd.DataFrame({"region": ["A"], "revenue": [1.0], "green_share": [0.2], "green_share_change": [0.1]})
    >>> print(what_to_do(0.2, None, r))
    - **20.0%** of revenue comes from green products.
    - **A** raised its green share by **+10.0 pp** on last year: find out what it did and take it to the other regions.
    """
    lines = [_("- **{share}** of revenue comes from green products.").format(share=f"{share:.1%}")]
    if path is not None and pd.notna(path.get("gap")):
        values = dict(
            gap=f"{abs(path['gap']) * 100:.1f}",
            target=f"{path['target']:.0%}",
            period=period_label(path["target_period"]),
            rise=f"{path['needed_per_year'] * 100:.1f}",
        )
        if path["gap"] < 0:
            lines.append(
                _(
                    "- Green share is **{gap} points behind** the path to {target} by {period}: "
                    "it must rise {rise} points a year from here."
                ).format(**values)
            )
        else:
            lines.append(
                _(
                    "- Green share is {gap} points ahead of the path to {target} by {period}; "
                    "{rise} points a year from here reach it."
                ).format(**values)
            )
    top = riser(regions)
    if top is not None and top["green_share_change"] > 0:
        lines.append(
            _(
                "- **{region}** raised its green share by **{change}** on last year: find out "
                "what it did and take it to the other regions."
            ).format(region=top["region"], change=fmt.points(top["green_share_change"]))
        )
    if teams is not None and len(teams) > 1 and (low := _lowest(teams, "team")) is not None:
        lines.append(
            _(
                "- Team **{team}** sells the least green ({share} of its revenue): put the green "
                "range into its next account plans."
            ).format(team=low["team"], share=f"{low['green_share']:.1%}")
        )
    return "\n".join(lines)


def sustainability_headline(total: pd.Series, prior_share, regions: pd.DataFrame, path) -> dict:
    """The study's headline figures; figures that cannot be computed are left out (never NaN).

    ``total``: one row of :func:`with_shares` for the whole scope; ``prior_share``: the same
    period last year's green share (None or NaN when unknown).

    >>> t = with_shares(pd.DataFrame({"revenue": [100.0], "green_revenue": [30.0], "co2_kg": [5.0]})).iloc[0]
    >>> r = pd.DataFrame({"region": ["A"], "green_share_change": [0.1]})
    >>> sustainability_headline(t, 0.2, r, None)
    {'green_share': 0.3, 'green_revenue': 30.0, 'emissions_intensity': 50.0, 'green_share_change': 0.09999999999999998, 'green_riser_region': 'A', 'green_riser_change': 0.1}
    """
    out = {}
    if pd.notna(total["green_share"]):
        out["green_share"] = float(total["green_share"])
        out["green_revenue"] = float(total["green_revenue"])
    if pd.notna(total["emissions_intensity"]):
        out["emissions_intensity"] = float(total["emissions_intensity"])
    if "green_share" in out and prior_share is not None and pd.notna(prior_share):
        out["green_share_change"] = out["green_share"] - float(prior_share)
    top = riser(regions)
    if top is not None:
        out["green_riser_region"] = str(top["region"])
        out["green_riser_change"] = float(top["green_share_change"])
    if path is not None:
        out["green_share_target"] = float(path["target"])
        out["green_target_period"] = str(path["target_period"])
        if pd.notna(path["gap"]):
            out["green_share_gap"] = float(path["gap"])
    return out
