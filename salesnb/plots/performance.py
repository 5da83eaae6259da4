"""Charts of the performance & incentives study (house style; each returns its Axes)."""

from __future__ import annotations

from functools import partial

import numpy as np
import pandas as pd
from scipy import stats

from salesnb import formatting
from salesnb.formatting import NOT_COMPUTABLE
from salesnb.i18n import N_, _
from salesnb.model.people import rep_labels
from salesnb.plots import PALETTE, color_for, money_axis, new_ax, pct_axis

#: Readable headers of the study's tables (shown translated on a page not in English).
HEADERS = {
    "rep_id": N_("Rep ID"),
    "name": N_("Name"),
    "team": N_("Team"),
    "region": N_("Region"),
    "role": N_("Role"),
    "reps": N_("Reps"),
    "revenue": N_("Revenue"),
    "avg_discount": N_("Average discount"),
    "target": N_("Target"),
    "attainment": N_("Attainment"),
    "revenue_prior": N_("Revenue a year earlier"),
    "growth": N_("Growth"),
    "new_customers": N_("New customers"),
    "closed": N_("Deals closed"),
    "won": N_("Deals won"),
    "cycle_days": N_("Cycle (days)"),
    "win_rate": N_("Win rate"),
    "responses": N_("Survey responses"),
    "nps": N_("NPS"),
    "csat": N_("CSAT"),
    "potential": N_("Territory potential"),
    "potential_index": N_("Potential index"),
    "penetration": N_("Penetration"),
    "penetration_index": N_("Penetration index"),
    "rank_attainment": N_("Rank by attainment"),
    "rank_penetration": N_("Rank by penetration"),
    "reading": N_("Reading"),
    "pooled_rate": N_("Team win rate"),
    "lower95": N_("Lower 95% limit"),
    "upper95": N_("Upper 95% limit"),
    "lower998": N_("Lower 99.8% limit"),
    "upper998": N_("Upper 99.8% limit"),
    "p_below": N_("P(this low)"),
    "status": N_("Status"),
    "opportunity_id": N_("Deal ID"),
    "discount": N_("Discount"),
    "authority": N_("Authority"),
    "excess": N_("Excess"),
    "amount": N_("Amount"),
    "close_date": N_("Close date"),
    "customer_id": N_("Customer ID"),
    "sales": N_("Sales"),
    "returns": N_("Returns"),
    "commission": N_("Commission"),
    "clawback": N_("Clawback"),
    "spiffs": N_("Spiffs"),
    "due": N_("Due"),
    "payout": N_("Payout"),
    "carry_forward": N_("Carried forward"),
    "effective_rate": N_("Effective rate"),
    "plan": N_("Plan"),
    "expected_payout": N_("Expected payout"),
    "p90_payout": N_("90th percentile payout"),
    "cost_of_sales_pct": N_("Cost of sales"),
    "gini": N_("Gini"),
}
# columns whose text values are the study's words (readings, statuses), shown translated
_WORDS = ("reading", "status")


def localised(styler):
    """``styler`` with readable, translated headers and readings on a page not in English
    (unchanged in English)."""
    from salesnb.plots.targets import localise

    return localise(styler, HEADERS, values=_WORDS)


def _when(v, pattern: str) -> str:
    return NOT_COMPUTABLE if pd.isna(v) else pd.Timestamp(v).strftime(pattern)


def format_table(
    frame: pd.DataFrame,
    money=(),
    pct=(),
    signed_pct=(),
    counts=(),
    decimals: dict | None = None,
    note: str | None = None,
):
    """A frame as a styled table: money with thousands separators, shares as percentages,
    and every figure that cannot be computed (NaN) shown as "n/a", never as nan or inf.

    ``note`` (a caption under the title) says why a column can be n/a. Columns not named
    keep two decimals. Returns a pandas Styler (displayed as HTML in a notebook).

    >>> t = format_table(pd.DataFrame({"rep": ["a"], "revenue": [1234.5], "growth": [np.nan]}),
    ...                  money=["revenue"], signed_pct=["growth"])
    >>> "n/a" in t.to_html() and "1,234" in t.to_html() and "nan" not in t.to_html()
    True
    """
    cols = set(frame.columns)
    fmt = {}
    for names, show in (
        (money, partial(formatting.money, missing=NOT_COMPUTABLE)),
        (pct, partial(formatting.percent, missing=NOT_COMPUTABLE)),
        (signed_pct, partial(formatting.change, missing=NOT_COMPUTABLE)),
        (counts, partial(formatting.count, missing=NOT_COMPUTABLE)),
    ):
        fmt.update({c: show for c in names if c in cols})
    fmt.update(
        {
            c: partial(formatting.number, decimals=n, missing=NOT_COMPUTABLE)
            for c, n in (decimals or {}).items()
            if c in cols
        }
    )
    for c in frame.columns:  # a day is a day: no "00:00:00" after it
        if c not in fmt and pd.api.types.is_datetime64_any_dtype(frame[c]):
            days = frame[c].dropna()
            pattern = "%Y-%m-%d" if (days == days.dt.normalize()).all() else "%Y-%m-%d %H:%M"
            fmt[c] = partial(_when, pattern=pattern)
    shown = frame.replace([np.inf, -np.inf], np.nan)
    styler = shown.style.format(precision=2, na_rep=NOT_COMPUTABLE, thousands=",")
    styler = styler.format(fmt, na_rep=NOT_COMPUTABLE).hide(axis="index")
    # the caption explains n/a, so it is shown only where an n/a is
    return styler.set_caption(_(note)) if note and shown.isna().to_numpy().any() else styler


def breach_table(breaches: pd.DataFrame):
    """The won deals above their rep's discount authority, as the page shows them."""
    return localised(
        format_table(breaches, money=["amount"], pct=["discount", "authority", "excess"])
    )


def scorecard_table(card: pd.DataFrame):
    """The rep (or team) scorecard as a table; n/a where a figure has no base."""
    return localised(
        format_table(
            card,
            money=["revenue", "target", "revenue_prior", "sales", "returns"],
            pct=["attainment", "win_rate", "avg_discount"],
            signed_pct=["growth"],
            counts=["reps", "new_customers", "closed", "won", "responses", "cycle_days", "nps"],
            decimals={"csat": 2},
            note=N_(
                "n/a: not computable — no target (attainment), no or incomplete revenue the same "
                "period last year (growth), no closed deal (win rate, cycle), no survey (NPS, CSAT)."
            ),
        )
    )


def ranking_table(ranking: pd.DataFrame):
    """The fair ranking as a table; n/a where potential or penetration has no positive base."""
    return localised(
        format_table(
            ranking,
            money=["revenue", "potential"],
            pct=["attainment", "penetration"],
            decimals={"potential_index": 2, "penetration_index": 2},
            counts=["rank_attainment", "rank_penetration"],
            note=N_(
                "n/a: not computable — no target, no positive territory potential, or a median "
                "territory / rep at zero or below."
            ),
        )
    )


def funnel_table(funnel: pd.DataFrame):
    """Reps outside the funnel limits, as a table."""
    return localised(
        format_table(
            funnel,
            counts=["closed", "won"],
            pct=["win_rate", "pooled_rate", "lower95", "upper95", "lower998", "upper998"],
            decimals={"p_below": 4},
        )
    )


def payout_table(statement: pd.DataFrame):
    """The payout statement as a table (money to the cent)."""
    money = ["target", "sales", "returns", "commission", "clawback", "spiffs", "due", "payout"]
    return localised(
        format_table(
            statement,
            decimals={c: 2 for c in [*money, "carry_forward"]},
            pct=["attainment", "effective_rate"],
            note=N_("n/a: the rep has no target for the period (paid the base rate on sales)."),
        )
    )


def plans_table(comparison: pd.DataFrame):
    """The what-if comparison of plans as a table."""
    return localised(
        format_table(
            comparison,
            money=["expected_payout", "p90_payout"],
            pct=["cost_of_sales_pct"],
            decimals={"gini": 3},
            note=N_("n/a: cost of sales without positive net revenue, Gini when nobody is paid."),
        )
    )


def attainment_bars(
    card: pd.DataFrame, ax=None, threshold: float = 0.7, label_col: str | None = None
):
    """Attainment per rep, sorted, with 100 % and the low-attainment threshold marked.

    Bars are labelled by ``label_col``, by default the rep's name (see :func:`rep_labels`)."""
    d = card.dropna(subset=["attainment"]).sort_values("attainment")
    if label_col is None:
        d = d.assign(_label=rep_labels(d))
        label_col = "_label"
    ax = new_ax(ax, figsize=(8, max(3.0, 0.18 * len(d) + 1)))
    if d.empty:
        ax.set_title(_("No rep targets for this period"))
        return ax
    colors = np.where(
        d["attainment"] < threshold,
        PALETTE[3],
        np.where(d["attainment"] >= 1, PALETTE[2], PALETTE[0]),
    )
    ax.barh(d[label_col].astype(str), d["attainment"], color=colors)
    ax.axvline(1.0, color="black", lw=1)
    ax.axvline(threshold, color=PALETTE[3], lw=1, ls="--")
    below = int((d["attainment"] < threshold).sum())
    ax.set_title(
        _("{below} of {n} reps below {share} of target").format(
            below=below, n=len(d), share=f"{threshold:.0%}"
        )
    )
    ax.set_xlabel(_("Attainment (revenue / target)"))
    ax.set_ylabel("")
    ax.tick_params(axis="y", labelsize=7)
    pct_axis(ax, "x")
    return ax


def fair_ranking_scatter(ranking: pd.DataFrame, ax=None):
    """Attainment against territory potential (index vs the median territory), by reading."""
    ax = new_ax(ax)
    d = ranking.dropna(subset=["attainment", "potential_index"])
    for reading, g in d.groupby("reading"):
        ax.scatter(
            g["potential_index"], g["attainment"], label=_(reading), color=color_for(reading), s=30
        )
    ax.axhline(1.0, color="black", lw=0.8)
    ax.axvline(1.0, color="grey", lw=0.8, ls=":")
    n_weak = int((d["reading"] == "weak territory, not a weak rep").sum())
    ax.set_title(
        _("{n} rep(s) below target are in weak territories, not weak reps").format(n=n_weak)
        if n_weak
        else _("Attainment tracks territory potential")
    )
    ax.set_xlabel(_("Territory potential (1 = median territory)"))
    ax.set_ylabel(_("Attainment"))
    pct_axis(ax, "y")
    ax.legend(fontsize=8, loc="best")
    return ax


def win_rate_funnel_plot(funnel: pd.DataFrame, ax=None, names: dict | None = None):
    """Funnel plot: win rate by deals closed with 95 % and 99.8 % limits around the pooled rate.

    Reps flagged are marked by name (``names``: rep_id -> name, as
    :func:`salesnb.model.people.rep_names` gives; their id without it)."""
    ax = new_ax(ax)
    names = names or {}
    if funnel.empty:
        ax.set_title(_("No closed deals in this period"))
        return ax
    p0 = float(funnel["pooled_rate"].iloc[0])
    n = np.linspace(max(1, funnel["closed"].min() * 0.8), funnel["closed"].max() * 1.1, 200)
    se = np.sqrt(p0 * (1 - p0) / n)
    for z, ls in ((stats.norm.ppf(0.975), "--"), (stats.norm.ppf(0.999), ":")):
        ax.plot(n, np.clip(p0 - z * se, 0, 1), color="grey", ls=ls, lw=1)
        ax.plot(n, np.clip(p0 + z * se, 0, 1), color="grey", ls=ls, lw=1)
    ax.axhline(p0, color="black", lw=0.8)
    colors = (
        funnel["status"]
        .map({"coach": PALETTE[3], "watch": PALETTE[1], "above": PALETTE[2]})
        .fillna(PALETTE[0])
    )
    ax.scatter(funnel["closed"], funnel["win_rate"], c=list(colors), s=28, zorder=3)
    for _row, r in funnel[funnel["status"].isin(["coach", "watch"])].iterrows():
        ax.annotate(
            names.get(str(r["rep_id"]), str(r["rep_id"])),
            (r["closed"], r["win_rate"]),
            fontsize=8,
            xytext=(3, -8),
            textcoords="offset points",
        )
    n_coach = int((funnel["status"] == "coach").sum())
    ax.set_title(
        _("{n} rep(s) convert below peers beyond the 99.8 % limit").format(n=n_coach)
        if n_coach
        else _("No rep's win rate is outside the 99.8 % limit")
    )
    ax.set_xlabel(_("Deals closed in the period"))
    ax.set_ylabel(_("Win rate (won / closed)"))
    pct_axis(ax, "y")
    return ax


def payout_simulation(results: list[dict], ax=None, currency: str = "USD"):
    """Distribution of the simulated total payout of one or two plans."""
    ax = new_ax(ax)
    for i, r in enumerate(results):
        ax.hist(r["totals"], bins=50, alpha=0.55, color=PALETTE[i], label=f"{r['plan']}")
        ax.axvline(r["p90_payout"], color=PALETTE[i], ls="--", lw=1)
    if len(results) == 2:
        a, b = results
        hi = a if a["expected_payout"] > b["expected_payout"] else b
        lo = b if hi is a else a
        if lo["expected_payout"] > 0:
            more = formatting.change(hi["expected_payout"] / lo["expected_payout"] - 1, 0)
            ax.set_title(
                _("'{plan}' would cost {more} more than '{other}'").format(
                    plan=hi["plan"], more=more, other=lo["plan"]
                )
            )
        elif hi["expected_payout"] > 0:
            ax.set_title(_("Only '{plan}' would pay anything this period").format(plan=hi["plan"]))
        else:
            ax.set_title(_("Neither plan would pay anything this period"))
    elif results:
        cost, plan = results[0]["cost_of_sales_pct"], results[0]["plan"]
        ax.set_title(
            _("'{plan}' costs {share} of revenue").format(plan=plan, share=formatting.percent(cost))
            if np.isfinite(cost)
            else _("'{plan}' pays {amount} (no net revenue)").format(
                plan=plan, amount=formatting.money(results[0]["expected_payout"], currency)
            )
        )
    ax.set_xlabel(_("Total payout for the period"))
    ax.set_ylabel(_("Simulations"))
    money_axis(ax, "x", currency=currency)
    ax.legend(fontsize=8)
    return ax
