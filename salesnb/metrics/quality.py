"""Data-quality metrics: acceptance, coverage in time, key resolution, impossible sequences,
suspicious values.

Pure functions over the small frames :mod:`salesnb.queries.quality` returns. Thresholds
(the IQR multiplier, the key resolution a report can trust, the quarantine share that
deserves a look) are arguments with documented defaults.

A figure that cannot be computed (no orders table, a check whose tables are absent, a key
with no value filled) is *missing*, never zero: frames carry ``NaN`` / ``<NA>`` and a text
column saying why, and :func:`headline_figures` leaves the key out.
"""

from __future__ import annotations

import math

import pandas as pd

from salesnb.i18n import N_, _, language, plural
from salesnb.metrics import require_columns
from salesnb.model.schema import TABLES

FK_HEADLINE = {  # (table, column) -> headline key
    ("orders", "customer_id"): "fk_orders_customers_pct",
    ("orders", "rep_id"): "fk_orders_reps_pct",
    ("orders", "product_id"): "fk_orders_products_pct",
    ("opportunities", "rep_id"): "fk_opportunities_reps_pct",
    ("opportunities", "customer_id"): "fk_opportunities_customers_pct",
}


def tables_line(tables, missing) -> str:
    """The tables loaded and the canonical ones not loaded, to follow the page's header line.

    >>> tables_line(["orders", "customers"], [])
    ' · tables: orders, customers · not loaded: none'
    """

    def names(ts) -> str:  # table names are identifiers: code on a page not in English
        return ", ".join(ts if language() == "en" else [f"`{t}`" for t in ts]) or _("none")

    return _(" · tables: {tables} · not loaded: {missing}").format(
        tables=names(tables), missing=names(missing)
    )


def canonical_tables() -> list[str]:
    """Every table of the canonical model, in model order.

    >>> canonical_tables()[:3]
    ['orders', 'customers', 'products']
    """
    return list(TABLES)


def optional_tables() -> list[str]:
    """The canonical tables the model marks optional (every table but the required ones).

    >>> "orders" in optional_tables(), "leads" in optional_tables()
    (False, True)
    """
    return [t.name for t in TABLES.values() if not t.required]


def acceptance(rows: pd.DataFrame, quarantine: pd.DataFrame | None) -> pd.DataFrame:
    """Accepted and quarantined rows per table.

    ``rows``: ``table, rows`` (accepted rows in the warehouse); ``quarantine``: ``table, rows``
    and optionally ``severity`` (quarantine lines; other columns such as reason are summed
    over), or None when the warehouse keeps no quarantine (not loaded by ``salesnb ingest``):
    what was rejected is then unknown, not zero. A line of severity ``warning`` is a row that
    was loaded with a value left empty: it counts in ``loaded_with_warning``, not as
    quarantined. Quarantine lines of tables outside the model (a mapping's lookup files) are
    left out. Returns ``table, accepted, quarantined, rows_in, quarantined_pct,
    loaded_with_warning``; the counts are ``<NA>`` and ``quarantined_pct`` NaN when unknown,
    and ``quarantined_pct`` is NaN for a table with no row in at all.

    >>> q = pd.DataFrame({"table": ["orders", "orders", "lookup:returns"], "rows": [2, 5, 1],
    ...                   "severity": ["error", "warning", "error"]})
    >>> acceptance(pd.DataFrame({"table": ["orders"], "rows": [98]}), q).iloc[0].to_dict()
    {'table': 'orders', 'accepted': 98, 'quarantined': 2, 'rows_in': 100, 'quarantined_pct': 0.02, 'loaded_with_warning': 5}
    >>> acceptance(pd.DataFrame({"table": ["leads"], "rows": [7]}), None)["quarantined"].tolist()
    [<NA>]
    """
    require_columns(rows, ["table", "rows"], "rows")
    known = quarantine is not None
    if known:
        require_columns(quarantine, ["table", "rows"], "quarantine")
        quarantine = quarantine.loc[
            quarantine["table"].isin(TABLES) | quarantine["table"].isin(rows["table"])
        ]
    else:
        quarantine = pd.DataFrame(
            {"table": pd.Series(dtype="str"), "rows": pd.Series(dtype="int64")}
        )
    warned = (
        quarantine["severity"].astype("str").str.lower().eq("warning")
        if "severity" in quarantine.columns
        else pd.Series(False, index=quarantine.index)
    )
    acc = rows.groupby("table", sort=False)["rows"].sum().rename("accepted")
    qua = quarantine.loc[~warned].groupby("table", sort=False)["rows"].sum().rename("quarantined")
    warn = quarantine.loc[warned].groupby("table", sort=False)["rows"].sum()
    out = pd.concat([acc, qua, warn.rename("loaded_with_warning")], axis=1)
    out = out.fillna(0).astype("int64").reset_index(names="table")
    if not known:
        for c in ("quarantined", "loaded_with_warning"):
            out[c] = pd.array([pd.NA] * len(out), dtype="Int64")
    out["rows_in"] = out["accepted"] + out["quarantined"]
    pct = out["quarantined"].astype("Float64") / out["rows_in"].where(out["rows_in"] > 0)
    out["quarantined_pct"] = pct.astype("float64")
    cols = ["table", "accepted", "quarantined", "rows_in", "quarantined_pct"]
    return out[cols + ["loaded_with_warning"]]


def months_without_data(
    monthly: pd.DataFrame, start=None, end=None, month_col: str = "month", rows_col: str = "rows"
) -> list[str]:
    """Calendar months (``YYYY-MM``) with no rows between the first and last month
    (or ``start``..``end`` inclusive when given).

    >>> m = pd.DataFrame({"month": pd.to_datetime(["2024-01-01", "2024-03-01"]), "rows": [5, 2]})
    >>> months_without_data(m)
    ['2024-02']
    """
    require_columns(monthly, [month_col, rows_col], "monthly")
    seen = pd.to_datetime(monthly.loc[monthly[rows_col] > 0, month_col]).dt.to_period("M")
    if start is None and seen.empty:
        return []
    lo = pd.Period(pd.Timestamp(start), "M") if start is not None else seen.min()
    hi = pd.Period(pd.Timestamp(end), "M") if end is not None else seen.max()
    every = pd.period_range(lo, hi, freq="M")
    seen = set(seen)
    return [str(p) for p in every if p not in seen]


def coverage_by_table(monthly: pd.DataFrame, show: int = 6) -> pd.DataFrame:
    """Months covered by each table, and the months without rows between its first and last.

    ``monthly``: ``table, month, rows`` (``queries.quality.monthly_rows_by_table``). Returns
    ``table, first_month, last_month, months, months_with_data, months_without_data, gaps``
    (``gaps``: the first ``show`` missing months as text, "none" when there is none).

    >>> m = pd.DataFrame({"table": ["leads"] * 3, "rows": [4, 1, 2],
    ...                   "month": pd.to_datetime(["2024-01-01", "2024-02-01", "2024-05-01"])})
    >>> coverage_by_table(m).to_dict("records")[0]["gaps"]
    '2024-03, 2024-04'
    >>> coverage_by_table(m)[["months", "months_with_data", "months_without_data"]].iloc[0].tolist()
    [5, 3, 2]
    """
    require_columns(monthly, ["table", "month", "rows"], "monthly")
    rows = []
    for table, g in monthly.groupby("table", sort=False):
        gaps = months_without_data(g)
        seen = pd.to_datetime(g.loc[g["rows"] > 0, "month"]).dt.to_period("M")
        if seen.empty:
            continue
        shown = ", ".join(gaps[:show]) + (f" … (+{len(gaps) - show})" if len(gaps) > show else "")
        rows.append(
            {
                "table": table,
                "first_month": str(seen.min()),
                "last_month": str(seen.max()),
                "months": int((seen.max() - seen.min()).n + 1),
                "months_with_data": int(seen.nunique()),
                "months_without_data": len(gaps),
                "gaps": shown or _("none"),
            }
        )
    cols = [
        "table",
        "first_month",
        "last_month",
        "months",
        "months_with_data",
        "months_without_data",
        "gaps",
    ]
    return pd.DataFrame(rows, columns=cols)


def fk_rates(fk: pd.DataFrame) -> pd.DataFrame:
    """Share of foreign-key values that are filled and that resolve to a parent row.

    ``fk``: ``table, column, parent, rows, filled, resolved``. Adds ``filled_pct``
    (filled / rows), ``resolved_pct`` (resolved / filled) and ``unresolved`` (filled -
    resolved). A share over nothing (no row, no value filled) is NaN: it cannot be computed.

    >>> fk_rates(pd.DataFrame({"table": ["orders"], "column": ["customer_id"], "parent": ["customers"],
    ...     "rows": [10], "filled": [8], "resolved": [6]}))[["filled_pct", "resolved_pct", "unresolved"]].iloc[0].tolist()
    [0.8, 0.75, 2.0]
    """
    require_columns(fk, ["table", "column", "parent", "rows", "filled", "resolved"], "fk")
    out = fk.copy()
    out["filled_pct"] = out["filled"] / out["rows"].where(out["rows"] > 0)
    out["resolved_pct"] = out["resolved"] / out["filled"].where(out["filled"] > 0)
    out["unresolved"] = (out["filled"] - out["resolved"]).astype("float64")
    first = ["table", "column", "parent", "rows", "filled", "filled_pct", "resolved"]
    first += ["resolved_pct", "unresolved"]
    return out[first + [c for c in out.columns if c not in first]]


def fk_not_checked(tables) -> pd.DataFrame:
    """Foreign keys of the model that cannot be checked on a warehouse holding ``tables``:
    the child table is there but its parent is not. Returns ``table, column, parent, reason``.

    >>> fk_not_checked(["leads"]).to_dict("records")
    [{'table': 'leads', 'column': 'converted_opportunity_id', 'parent': 'opportunities', 'reason': 'no opportunities table'}]
    """
    tables = set(tables)
    rows = [
        {
            "table": child,
            "column": col,
            "parent": parent,
            "reason": _("no {table} table").format(table=parent),
        }
        for child, spec in TABLES.items()
        if child in tables
        for col, (parent, _pcol) in spec.foreign_keys.items()
        if parent not in tables
    ]
    return pd.DataFrame(rows, columns=["table", "column", "parent", "reason"])


def sequence_results(seq: pd.DataFrame) -> pd.DataFrame:
    """Impossible-sequence counts with their share and a sentence for the page.

    ``seq``: ``check, checked, violations, not_run`` (``queries.quality.impossible_sequences``;
    ``not_run`` is "" for a check that ran). Adds ``violations_pct`` (violations / checked;
    NaN when not run or nothing to check) and ``result``.

    >>> s = pd.DataFrame({"check": ["a", "b", "c"], "checked": pd.array([200, 0, None], "Int64"),
    ...     "violations": pd.array([3, 0, None], "Int64"), "not_run": ["", "", "no tickets table"]})
    >>> sequence_results(s)["result"].tolist()
    ['3 of 200 rows (1.5%)', 'no row has both dates or keys filled', 'not run: no tickets table']
    """
    require_columns(seq, ["check", "checked", "violations", "not_run"], "seq")
    out = seq.copy()
    checked = pd.to_numeric(out["checked"], errors="coerce").astype("float64")
    bad = pd.to_numeric(out["violations"], errors="coerce").astype("float64")
    out["violations_pct"] = bad / checked.where(checked > 0)

    def say(why, n, k, pct):
        if why:
            return _("not run: {why}").format(why=why)
        if not n or math.isnan(n):
            return _("no row has both dates or keys filled")
        if not k:
            return _("none of {rows}").format(rows=_rows(n))
        return _("{k} of {rows} ({share})").format(
            k=f"{k:,.0f}", rows=_rows(n), share=share_text(pct)
        )

    out["result"] = [
        say(w, n, k, p)
        for w, n, k, p in zip(out["not_run"], checked, bad, out["violations_pct"], strict=True)
    ]
    return out


def iqr_bounds(q1: float, q3: float, k: float = 1.5) -> tuple[float, float]:
    """Tukey fences ``(q1 - k*IQR, q3 + k*IQR)``; values outside are outliers.

    >>> iqr_bounds(10.0, 30.0)
    (-20.0, 60.0)
    """
    iqr = q3 - q1
    return (q1 - k * iqr, q3 + k * iqr)


def share_text(share, decimals: int = 1) -> str:
    """A share as a percentage that never rounds a few rows away: ``<0.1%`` rather than
    ``0.0%`` for a non-zero share, ``>99.9%`` rather than ``100.0%`` for one short of all.

    >>> share_text(0.00012), share_text(0.0), share_text(0.99996), share_text(1.0), share_text(0.25)
    ('<0.1%', '0.0%', '>99.9%', '100.0%', '25.0%')
    """
    text = f"{share:.{decimals}%}"
    step = 10.0 ** -(decimals + 2)
    if 0 < share < step / 2 or (0 < share and text == f"{0:.{decimals}%}"):
        return f"<{step:.{decimals}%}"
    if share < 1 and text == f"{1:.{decimals}%}":
        return f">{1 - step:.{decimals}%}"
    return text


def _rows(n) -> str:
    """``1 row``, ``1,200 rows``."""
    return plural(n, "{n} row", "{n} rows").format(n=f"{n:,.0f}")


def _day(v) -> str | None:
    return None if v is None or pd.isna(v) else str(pd.Timestamp(v).date())


def headline_figures(
    acc: pd.DataFrame,
    dates: pd.DataFrame,
    gaps: list[str] | None,
    fk: pd.DataFrame,
    checks: dict | None,
    outliers: int | None,
    tables_missing: list[str],
    *,
    coverage: pd.DataFrame | None = None,
    dups: pd.DataFrame | None = None,
    sequences: pd.DataFrame | None = None,
) -> dict:
    """The flat figures of the data-quality study (``data-quality.json``).

    ``acc`` from :func:`acceptance`, ``dates`` with ``table, date_min, date_max``, ``gaps``
    from :func:`months_without_data` on orders (None without orders), ``fk`` from
    :func:`fk_rates`, ``checks`` the suspicious-line counts (``rows, negative_unflagged,
    discount_over, zero_price``; None without orders), ``coverage`` from
    :func:`coverage_by_table`, ``dups`` from ``queries.quality.duplicate_keys`` and
    ``sequences`` from ``queries.quality.impossible_sequences``. A figure that cannot be
    computed is left out, never written as 0.

    >>> acc = acceptance(pd.DataFrame({"table": ["leads"], "rows": [9]}),
    ...                  pd.DataFrame({"table": ["leads"], "rows": [1]}))
    >>> seq = pd.DataFrame({"check": ["won_before_created", "resolved_before_opened"],
    ...     "checked": pd.array([50, None], "Int64"), "violations": pd.array([2, None], "Int64"),
    ...     "not_run": ["", "no tickets table"]})
    >>> f = headline_figures(acc, pd.DataFrame(columns=["table", "date_min", "date_max"]), None,
    ...     fk_rates(pd.DataFrame(columns=["table", "column", "parent", "rows", "filled", "resolved"])),
    ...     None, None, ["orders"], sequences=seq)
    >>> f["quarantined_pct"], f["impossible_sequences"], "orders_rows" in f, "resolved_before_opened" in f
    (0.1, 2, False, False)
    """
    require_columns(acc, ["table", "accepted", "quarantined", "rows_in"], "acc")
    require_columns(dates, ["table", "date_min", "date_max"], "dates")
    out: dict = {}
    out.update(_table_figures(acc, tables_missing))
    out.update(_quarantine_figures(acc))
    out.update(_date_range_figures(dates))
    out.update(_coverage_figures(dates, coverage))
    if gaps is not None:
        out["months_without_orders"] = len(gaps)
    out.update(_fk_figures(fk))
    if dups is not None and len(dups):
        out["duplicate_key_rows"] = int(dups["duplicate_rows"].sum())
    out.update(_sequence_figures(sequences))
    out.update(_order_line_figures(checks, outliers))
    return out


def _table_figures(acc: pd.DataFrame, tables_missing: list[str]) -> dict:
    """Tables with accepted rows, tables missing, rows accepted; order rows only if loaded."""
    out: dict = {
        "tables_present": int(len(acc.loc[acc["accepted"] > 0])),
        "tables_missing": ", ".join(tables_missing),
        "rows_total": int(acc["accepted"].sum()),
    }
    if (acc["table"] == "orders").any():
        out["orders_rows"] = int(acc.loc[acc["table"] == "orders", "accepted"].sum())
    return out


def _quarantine_figures(acc: pd.DataFrame) -> dict:
    """Quarantined rows and share, and rows loaded with a warning; none when no quarantine is kept."""
    out: dict = {}
    if not acc["quarantined"].notna().all():  # no quarantine kept, what was rejected is unknown
        return out
    out["quarantined_rows"] = int(acc["quarantined"].sum())
    total_in = int(acc["rows_in"].sum())
    if total_in:
        out["quarantined_pct"] = out["quarantined_rows"] / total_in
    if "loaded_with_warning" in acc.columns:
        out["rows_loaded_with_warning"] = int(acc["loaded_with_warning"].sum())
    return out


def _date_range_figures(dates: pd.DataFrame) -> dict:
    """First and last order day, when the orders table has dates."""
    od = dates.loc[(dates["table"] == "orders") & dates["date_min"].notna()]
    if not len(od):
        return {}
    return {"date_min": _day(od["date_min"].iloc[0]), "date_max": _day(od["date_max"].iloc[0])}


def _coverage_figures(dates: pd.DataFrame, coverage: pd.DataFrame | None) -> dict:
    """Date span of the tables covered month by month and their months without rows."""
    out: dict = {}
    if coverage is None or not len(coverage):
        return out
    flow = dates.loc[dates["table"].isin(coverage["table"]) & dates["date_min"].notna()]
    if len(flow):
        out["data_from"] = _day(flow["date_min"].min())
        out["data_to"] = _day(flow["date_max"].max())
    out["months_without_data"] = int(coverage["months_without_data"].sum())
    return out


def _fk_figures(fk: pd.DataFrame) -> dict:
    """Keys checked, unresolved rows, and the resolved share of each headline key (when known)."""
    out: dict = {}
    if len(fk):
        out["fk_keys_checked"] = int(len(fk))
        out["fk_unresolved_rows"] = int(fk["unresolved"].sum())
    for _i, r in fk.iterrows():
        key = FK_HEADLINE.get((r["table"], r["column"]))
        if key and not pd.isna(r["resolved_pct"]):
            out[key] = float(r["resolved_pct"])
    return out


def _sequence_figures(sequences: pd.DataFrame | None) -> dict:
    """Sequence checks run, their total violations and each check's count (only checks that ran)."""
    out: dict = {}
    if sequences is None:
        return out
    ran = sequences.loc[sequences["not_run"] == ""]
    out["sequence_checks_run"] = int(len(ran))
    if len(ran):
        out["impossible_sequences"] = int(ran["violations"].sum())
    for name, n in zip(ran["check"], ran["violations"], strict=True):
        out[name] = int(n)
    return out


def _order_line_figures(checks: dict | None, outliers: int | None) -> dict:
    """Suspicious order-line counts that were computed, and outliers when there are lines."""
    out: dict = {}
    if checks is None:
        return out
    rows = checks.get("rows") or 0
    for k in ("negative_unflagged", "discount_over", "zero_price"):
        if checks.get(k) is not None:
            out[k if k != "discount_over" else "discount_over_limit"] = int(checks[k])
    if outliers is not None and rows:
        out["net_amount_outliers"] = int(outliers)
        out["net_amount_outliers_pct"] = outliers / rows
    return out


def suspicious_lines_text(
    checks: dict,
    outliers: int | None,
    low: float | None,
    high: float | None,
    max_discount: float = 0.5,
    currency: str = "",
) -> str:
    """Markdown bullets describing the suspicious order lines counted by the query layer.

    >>> print(suspicious_lines_text({"rows": 100, "negative_amount": 3, "negative_unflagged": 1,
    ...     "discount_over": 2, "zero_price": 0}, 5, -10.0, 90.0))
    - 3 lines with a negative net amount, **1 not flagged as a return**
    - 2 lines discounted more than 50%
    - 0 lines with a zero unit price
    - 5 lines (5.0%) outside the IQR fences -10 .. 90
    >>> print(suspicious_lines_text({"rows": 0}, None, None, None))
    - the orders table holds no line: order-line checks not run
    """
    rows = checks.get("rows") or 0
    if not rows:
        return _("- the orders table holds no line: order-line checks not run")
    out = [
        _("{n} lines with a negative net amount, **{unflagged} not flagged as a return**").format(
            n=f"{checks.get('negative_amount') or 0:,}",
            unflagged=f"{checks.get('negative_unflagged') or 0:,}",
        )
    ]
    if checks.get("discount_over") is not None:
        out.append(
            _("{n} lines discounted more than {limit}").format(
                n=f"{checks['discount_over']:,}", limit=f"{max_discount:.0%}"
            )
        )
    else:
        out.append(_("no discount column: discounts not checked"))
    if checks.get("zero_price") is not None:
        out.append(_("{n} lines with a zero unit price").format(n=f"{checks['zero_price']:,}"))
    else:
        out.append(_("no unit_price column: zero prices not checked"))
    if outliers is None or low is None or high is None:
        out.append(_("no line has a net amount: outliers not checked"))
    else:
        unit = f" {currency}" if currency else ""
        out.append(
            _("{n} lines ({share}) outside the IQR fences {low} .. {high}{unit}").format(
                n=f"{outliers:,}",
                share=f"{outliers / rows:.1%}",
                low=f"{low:,.0f}",
                high=f"{high:,.0f}",
                unit=unit,
            )
        )
    return "\n".join(f"- {b}" for b in out)


def quality_actions(
    fig: dict,
    min_resolved: float = 0.99,
    max_quarantined: float = 0.01,
    max_outlier_share: float = 0.05,
    max_discount: float = 0.5,
) -> str:
    """Markdown bullets saying what to fix first, from :func:`headline_figures` output.

    >>> print(quality_actions({"quarantined_pct": 0.0, "impossible_sequences": 4,
    ...     "resolved_before_opened": 4, "sequence_checks_run": 2}))
    - **4 rows break an impossible sequence** (4 resolved before opened): correct the dates at the source; durations and cycle times computed on them are wrong.
    - Order-line checks not run: no orders table.
    """
    bullets = [
        *_quarantine_bullets(fig, max_quarantined),
        *_key_bullets(fig, min_resolved),
        *_sequence_bullets(fig),
        *_coverage_bullets(fig),
        *_order_line_bullets(fig, max_discount, max_outlier_share),
    ]
    if not bullets:
        bullets.append(_all_clear_bullet(fig, max_quarantined))
    # what could not be checked, so that a clean page is not read as a clean warehouse
    bullets.extend(_not_checked_bullets(fig))
    return "\n".join(f"- {b}" for b in bullets)


def _quarantine_bullets(fig: dict, max_quarantined: float) -> list[str]:
    """Quarantined share above ``max_quarantined``; any row loaded with a value left empty."""
    out = []
    q = fig.get("quarantined_pct") or 0.0
    if q > max_quarantined:
        out.append(
            _(
                "**{rows} ({share}) were quarantined** — fix them at the "
                "source (see the reasons table) and re-ingest; figures exclude them."
            ).format(rows=_rows(fig["quarantined_rows"]), share=share_text(q))
        )
    if fig.get("rows_loaded_with_warning"):
        out.append(
            _(
                "**{rows} loaded with a value left empty** "
                "(a link that does not resolve, a value outside its list): see the quarantine lines "
                "of severity warning, and fix the source or the mapping."
            ).format(rows=_rows(fig["rows_loaded_with_warning"]))
        )
    return out


def _key_bullets(fig: dict, min_resolved: float) -> list[str]:
    """Each headline key resolving below ``min_resolved`` (by name), then any duplicate key rows."""
    out = []
    bad_keys = sorted(
        (k, v)
        for k, v in fig.items()
        if k.startswith("fk_") and k.endswith("_pct") and v is not None and v < min_resolved
    )
    for k, v in bad_keys:
        what = k.removeprefix("fk_").removesuffix("_pct").replace("_", " → ", 1)
        out.append(
            _(
                "Only **{share}** of {what} keys resolve: load the missing master data, or per-"
                "{unit} figures will undercount."
            ).format(share=f"{v:.1%}", what=what, unit=what.split(" → ")[1].rstrip("s"))
        )
    if fig.get("duplicate_key_rows"):
        out.append(
            _(
                "**{rows} repeat a key** already held by another row: "
                "totals count them twice; remove the duplicates at the source."
            ).format(rows=_rows(fig["duplicate_key_rows"]))
        )
    return out


_SEQUENCE_NAMES = (
    "won_before_created",
    "negative_cycle_time",
    "resolved_before_opened",
    "responded_before_opened",
    "lead_converted_to_missing_deal",
    "stage_before_deal_created",
)


# the impossible sequences as a sentence names them
_SEQUENCE_LABELS = {
    "won_before_created": N_("won before created"),
    "negative_cycle_time": N_("negative cycle time"),
    "resolved_before_opened": N_("resolved before opened"),
    "responded_before_opened": N_("responded before opened"),
    "lead_converted_to_missing_deal": N_("lead converted to missing deal"),
    "stage_before_deal_created": N_("stage before deal created"),
}


def _sequence_bullets(fig: dict) -> list[str]:
    """Any impossible sequence found, with the count of each check that found some."""
    if not fig.get("impossible_sequences"):
        return []
    parts = [f"{fig[n]:,} {_(_SEQUENCE_LABELS[n])}" for n in _SEQUENCE_NAMES if fig.get(n)]
    return [
        _(
            "**{rows} break an impossible sequence** "
            "({parts}): correct the dates at the source; durations and cycle times "
            "computed on them are wrong."
        ).format(rows=_rows(fig["impossible_sequences"]), parts=", ".join(parts))
    ]


def _coverage_bullets(fig: dict) -> list[str]:
    """Months without orders; failing that, months without rows inside a table's range."""
    if fig.get("months_without_orders"):
        return [
            _(
                "**{n} month(s) without orders** between {first} "
                "and {last}: check the export before trusting trends and seasonality."
            ).format(
                n=fig["months_without_orders"], first=fig.get("date_min"), last=fig.get("date_max")
            )
        ]
    if fig.get("months_without_data"):
        return [
            _(
                "**{n} month(s) without rows** inside a table's date range "
                "(see the coverage table): check the export before trusting trends."
            ).format(n=fig["months_without_data"])
        ]
    return []


def _order_line_bullets(fig: dict, max_discount: float, max_outlier_share: float) -> list[str]:
    """Unflagged negatives, discounts over ``max_discount``, zero prices, outliers over the share."""
    out = []
    if fig.get("negative_unflagged"):
        out.append(
            _(
                "**{n} negative lines are not flagged as returns**: mark them "
                "`is_return` or correct the amounts."
            ).format(n=f"{fig['negative_unflagged']:,}")
        )
    if fig.get("discount_over_limit"):
        out.append(
            _(
                "**{n} lines carry a discount above {limit}**: confirm they are "
                "real (clearance, errors in the discount unit?)."
            ).format(n=f"{fig['discount_over_limit']:,}", limit=f"{max_discount:.0%}")
        )
    if fig.get("zero_price"):
        out.append(
            _("**{n} lines have a zero unit price**: free goods or missing prices?").format(
                n=f"{fig['zero_price']:,}"
            )
        )
    share = fig.get("net_amount_outliers_pct") or 0.0
    if share > max_outlier_share:
        out.append(
            _(
                "{share} of lines are outliers by the IQR rule: a long tail of large orders is normal; "
                "look at the largest before reading averages."
            ).format(share=f"{share:.1%}")
        )
    return out


def _all_clear_bullet(fig: dict, max_quarantined: float) -> str:
    """No problem found: name the checks that ran clean, or say none could run."""
    found = []
    if "quarantined_pct" in fig:  # no quarantine kept: nothing to say about rejected rows
        found.append(
            _("nothing was quarantined above {limit}").format(limit=f"{max_quarantined:.0%}")
        )
    if fig.get("fk_keys_checked"):
        found.insert(0, _("keys resolve"))
    if fig.get("sequence_checks_run"):
        found.append(_("no impossible sequence was found"))
    if "months_without_orders" in fig:
        found.append(_("orders cover every month"))
    elif "months_without_data" in fig:
        found.append(_("every table covers each month of its range"))
    if not found:
        return _("No check that could run on these tables found a problem.")
    text = ", ".join(found[:-1]) + (_(" and ") if len(found) > 1 else "") + found[-1]
    return _("No data problem needs action: {checks}.").format(checks=text)


def _not_checked_bullets(fig: dict) -> list[str]:
    """Checks that could not run (no sequence-check tables, no orders table)."""
    out = []
    if fig.get("sequence_checks_run") == 0:
        out.append(
            _(
                "Impossible sequences not checked: they need opportunities, tickets, or leads with "
                "opportunities, and none is loaded."
            )
        )
    if "orders_rows" not in fig:
        out.append(_("Order-line checks not run: no orders table."))
    return out
