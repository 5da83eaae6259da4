"""Data-quality charts: rows accepted vs quarantined, rows per month, months covered by each
table, key resolution; and the one way the study's tables are shown (:func:`styled`)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.i18n import N_, _, language
from salesnb.metrics.quality import share_text
from salesnb.plots import PALETTE, new_ax, pct_axis

ACCEPTED, QUARANTINED, GAP = PALETTE[0], PALETTE[3], PALETTE[3]


def acceptance_bars(acc: pd.DataFrame, ax=None):
    """Accepted and quarantined rows per table (``metrics.quality.acceptance`` output), log
    scale. Without a quarantine record (``quarantined`` missing) only accepted rows are drawn."""
    ax = new_ax(ax, figsize=(8, 0.45 * max(len(acc), 3) + 1))
    y = np.arange(len(acc))
    recorded = bool(acc["quarantined"].notna().all())
    quarantined = acc["quarantined"].fillna(0).astype("int64")
    has_q = (quarantined > 0).to_numpy()
    ax.barh(
        y - 0.2 * has_q.any(),
        acc["accepted"].clip(lower=1),
        height=0.4,
        color=ACCEPTED,
        label=_("accepted"),
    )
    if (
        has_q.any()
    ):  # a zero has no place on a log axis: only tables with quarantined rows get a bar
        ax.barh(
            y[has_q] + 0.2,
            quarantined[has_q],
            height=0.4,
            color=QUARANTINED,
            label=_("quarantined"),
        )
    ax.set_yticks(y, acc["table"])
    ax.invert_yaxis()
    ax.set_xscale("log")
    ax.set_xlim(left=0.8)
    ax.set_xlabel(_("Rows (log scale)"))
    ax.legend(loc="lower right", fontsize=9)
    q = int(quarantined.sum())
    if not recorded:
        title = _("{rows} rows in {tables} table(s); no quarantine record").format(
            rows=f"{int(acc['accepted'].sum()):,}", tables=len(acc)
        )
    elif q:
        title = _("{rows} rows quarantined across {tables} table(s)").format(
            rows=f"{q:,}", tables=int(has_q.sum())
        )
    else:
        title = _("Every loaded row of {tables} table(s) was accepted").format(tables=len(acc))
    ax.set_title(title)
    return ax


def monthly_coverage(monthly: pd.DataFrame, gaps: list[str], ax=None, what: str = "Order lines"):
    """Rows per month of one table (``queries.quality.monthly_rows``); months without data
    shaded. ``what`` names the rows on the axis and in the title ("Order lines", "Leads")."""
    ax = new_ax(ax, figsize=(9, 3.5))
    months = (
        pd.period_range(
            pd.Period(monthly["month"].min(), "M"), pd.Period(monthly["month"].max(), "M"), freq="M"
        )
        if len(monthly)
        else pd.PeriodIndex([], freq="M")
    )
    counts = monthly.assign(p=pd.to_datetime(monthly["month"]).dt.to_period("M")).set_index("p")[
        "rows"
    ]
    values = counts.reindex(months, fill_value=0)
    x = np.arange(len(months))
    ax.bar(x, values.to_numpy(), color=ACCEPTED, width=0.85)
    missing = set(gaps)
    for i, m in enumerate(months):
        if str(m) in missing:
            ax.axvspan(i - 0.5, i + 0.5, color=GAP, alpha=0.25)
    step = max(1, len(x) // 12)
    ax.set_xticks(x[::step], [str(m) for m in months[::step]], rotation=45, ha="right")
    ax.set_xlabel(_("Month"))
    ax.set_ylabel(what)
    noun = what.lower()
    ax.set_title(
        _("{n} month(s) without {noun} (shaded)").format(n=len(gaps), noun=noun)
        if gaps
        else _("{what} cover every month from {first} to {last}").format(
            what=what, first=months[0], last=months[-1]
        )
        if len(months)
        else _("No dated {noun}").format(noun=noun)
    )
    return ax


def coverage_strips(monthly: pd.DataFrame, ax=None):
    """Which months each table holds rows in (``queries.quality.monthly_rows_by_table``): one
    strip per table over the warehouse's months, months with rows filled, gaps inside a
    table's own range in the alert colour."""
    tables = list(dict.fromkeys(monthly["table"]))
    ax = new_ax(ax, figsize=(9, 0.45 * max(len(tables), 2) + 1.4))
    if not tables:
        ax.set_axis_off()
        ax.set_title(_("No table has dated rows"))
        return ax
    period = pd.to_datetime(monthly["month"]).dt.to_period("M")
    lo, hi = period.min(), period.max()
    months = pd.period_range(lo, hi, freq="M")
    pos = {m: i for i, m in enumerate(months)}
    gap_tables: dict[str, int] = {}
    for y, t in enumerate(tables):
        mine = set(period[(monthly["table"] == t).to_numpy() & (monthly["rows"] > 0).to_numpy()])
        if not mine:
            continue
        first, last = min(mine), max(mine)
        filled = [(pos[m] - 0.5, 1) for m in sorted(mine)]
        gaps = [(pos[m] - 0.5, 1) for m in pd.period_range(first, last, freq="M") if m not in mine]
        if gaps:
            gap_tables[t] = len(gaps)
        ax.broken_barh(filled, (y - 0.35, 0.7), color=ACCEPTED)
        if gaps:
            ax.broken_barh(gaps, (y - 0.35, 0.7), color=GAP)
    ax.set_yticks(np.arange(len(tables)), tables)
    ax.set_ylim(len(tables) - 0.5, -0.5)
    step = max(1, len(months) // 12)
    ticks = np.arange(len(months))[::step]
    ax.set_xticks(ticks, [str(months[i]) for i in ticks], rotation=45, ha="right")
    ax.set_xlim(-0.5, len(months) - 0.5)
    ax.set_xlabel(_("Month"))
    ax.grid(False)
    ax.set_title(
        _("Months without rows (red): ")
        + ", ".join(f"{t} ({n})" for t, n in list(gap_tables.items())[:4])
        + (" …" if len(gap_tables) > 4 else "")
        if gap_tables
        else _("Every table has rows in each month of its range ({first} to {last})").format(
            first=lo, last=hi
        )
    )
    return ax


def fk_resolution(fk: pd.DataFrame, min_resolved: float = 0.99, ax=None):
    """Share of each foreign key's values that resolve (``metrics.quality.fk_rates`` output;
    keys with no value filled are left out)."""
    fk = fk.loc[fk["resolved_pct"].notna()]  # a key with no value filled has no share to draw
    ax = new_ax(ax, figsize=(8, 0.45 * max(len(fk), 3) + 1))
    labels = [
        f"{t}.{c} → {p}" for t, c, p in zip(fk["table"], fk["column"], fk["parent"], strict=True)
    ]
    colors = [ACCEPTED if v >= min_resolved else QUARANTINED for v in fk["resolved_pct"]]
    y = np.arange(len(fk))
    ax.barh(y, fk["resolved_pct"], color=colors)
    ax.axvline(min_resolved, color="grey", ls="--", lw=1)
    ax.set_yticks(y, labels)
    ax.invert_yaxis()
    ax.set_xlim(0, 1.0)
    ax.set_xlabel(_("Values found in the parent table (%)"))
    pct_axis(ax, "x")
    weak = int((fk["resolved_pct"] < min_resolved).sum())
    ax.set_title(
        _("{n} key(s) resolve below {limit}").format(n=weak, limit=f"{min_resolved:.0%}")
        if weak
        else _("All {n} keys resolve at {limit} or better").format(
            n=len(fk), limit=f"{min_resolved:.0%}"
        )
    )
    return ax


#: Readable headers of the study's tables, shown instead of the column names on a page that
#: is not in English (the English page keeps the column names, which the CSVs also use).
HEADERS = {
    "table": N_("Table"),
    "accepted": N_("Accepted"),
    "quarantined": N_("Quarantined"),
    "rows_in": N_("Rows read"),
    "quarantined_pct": N_("Quarantined share"),
    "loaded_with_warning": N_("Loaded with a warning"),
    "column": N_("Column"),
    "reason": N_("Reason"),
    "severity": N_("Severity"),
    "rows": N_("Rows"),
    "files": N_("Files"),
    "source_file": N_("Source file"),
    "line": N_("Line"),
    "value": N_("Value"),
    "date_min": N_("First date"),
    "date_max": N_("Last date"),
    "undated": N_("Undated rows"),
    "first_month": N_("First month"),
    "last_month": N_("Last month"),
    "months": N_("Months"),
    "months_with_data": N_("Months with rows"),
    "months_without_data": N_("Months without rows"),
    "gaps": N_("Months missing"),
    "parent": N_("Parent table"),
    "filled": N_("Filled"),
    "filled_pct": N_("Filled share"),
    "resolved": N_("Resolved"),
    "resolved_pct": N_("Resolved share"),
    "unresolved": N_("Unresolved rows"),
    "unresolved_values": N_("Unresolved values"),
    "key": N_("Key"),
    "repeated_keys": N_("Repeated keys"),
    "duplicate_rows": N_("Duplicate rows"),
    "empty_key_rows": N_("Rows without a key"),
    "rule": N_("Rule"),
    "result": N_("Result"),
}

#: The impossible-sequence rules (``queries.quality.SEQUENCE_CHECKS``) as a page shows them.
RULES = (
    N_("deal won before it was created (close_date before created_date)"),
    N_("negative cycle time: a lost or open deal whose close_date is before its created_date"),
    N_("ticket resolved before it was opened (resolved_at before opened_at)"),
    N_("ticket answered before it was opened (first_response_at before opened_at)"),
    N_("lead converted to an opportunity that is not in opportunities"),
    N_("stage entered before its deal was created (entered_date before created_date)"),
)


def _localise(st, frame: pd.DataFrame):
    """Readable headers in the page's language; on a page not in English, the rules
    translated and key columns shown as code."""
    if language() != "en":
        if "key" in frame.columns:  # key columns are identifiers, shown as code
            st = st.format(
                lambda v: f"<code>{v}</code>" if isinstance(v, str) else v, subset=["key"]
            )
        if "rule" in frame.columns:
            st = st.format(lambda v: _(v) if isinstance(v, str) else v, subset=["rule"])
    labels = [_(HEADERS[c]) if c in HEADERS else c for c in frame.columns]
    return st.relabel_index(labels, axis="columns")


def _midnights(col: pd.Series) -> bool:
    """A timestamp column that only holds days (an engine's DATE read into pandas)."""
    if not pd.api.types.is_datetime64_any_dtype(col.dtype):
        return False
    d = col.dropna()
    return bool(len(d)) and bool((d == d.dt.normalize()).all())


def styled(
    frame: pd.DataFrame,
    pct=(),
    counts=(),
    days=(),
    missing: dict | None = None,
    decimals: int = 1,
):
    """A table for the page: no index, ``pct`` columns as percentages, ``counts`` with
    thousands separators, ``days`` (and any timestamp column holding only days) as
    ``YYYY-MM-DD``. A missing value reads as the text ``missing[column]`` (default "not
    computed"), never ``nan``; a share never rounds a few rows away (``share_text``)."""
    missing = missing or {}
    st = frame.style.hide(axis="index")
    for c in frame.columns:
        na = missing.get(c, _("not computed"))
        if c in pct:
            st = st.format(lambda v: share_text(v, decimals), subset=[c], na_rep=na)
        elif c in counts:
            st = st.format("{:,.0f}", subset=[c], na_rep=na)
        elif c in days or _midnights(frame[c]):
            st = st.format(lambda v: pd.Timestamp(v).strftime("%Y-%m-%d"), subset=[c], na_rep=na)
        else:
            st = st.format(na_rep=na, subset=[c])
    return _localise(st, frame)
