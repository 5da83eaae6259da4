"""Data-quality metrics: acceptance, coverage in time, key resolution, suspicious values.

Pure functions over the small frames :mod:`salesnb.queries.quality` returns. Thresholds
(the IQR multiplier, the key resolution a report can trust, the quarantine share that
deserves a look) are arguments with documented defaults.
"""

from __future__ import annotations

import pandas as pd

from salesnb.metrics import require_columns
from salesnb.schema import TABLES

FK_HEADLINE = {  # (table, column) -> headline key
    ("orders", "customer_id"): "fk_orders_customers_pct",
    ("orders", "rep_id"): "fk_orders_reps_pct",
    ("orders", "product_id"): "fk_orders_products_pct",
    ("opportunities", "rep_id"): "fk_opportunities_reps_pct",
    ("opportunities", "customer_id"): "fk_opportunities_customers_pct",
}


def optional_tables() -> list[str]:
    """The canonical tables a warehouse may lack (every table but the required ones)."""
    return [t.name for t in TABLES.values() if not t.required]


def acceptance(rows: pd.DataFrame, quarantine: pd.DataFrame) -> pd.DataFrame:
    """Accepted and quarantined rows per table.

    ``rows``: ``table, rows`` (accepted rows in the warehouse); ``quarantine``: ``table, rows``
    (quarantined rows, any extra columns such as reason are summed over). Returns
    ``table, accepted, quarantined, rows_in, quarantined_pct`` with every table of either frame.

    >>> acceptance(pd.DataFrame({"table": ["orders"], "rows": [98]}),
    ...            pd.DataFrame({"table": ["orders"], "rows": [2]})).iloc[0].to_dict()
    {'table': 'orders', 'accepted': 98, 'quarantined': 2, 'rows_in': 100, 'quarantined_pct': 0.02}
    """
    require_columns(rows, ["table", "rows"], "rows")
    require_columns(quarantine, ["table", "rows"], "quarantine")
    acc = rows.groupby("table", sort=False)["rows"].sum().rename("accepted")
    qua = quarantine.groupby("table", sort=False)["rows"].sum().rename("quarantined")
    out = pd.concat([acc, qua], axis=1).fillna(0).astype("int64").reset_index(names="table")
    out["rows_in"] = out["accepted"] + out["quarantined"]
    out["quarantined_pct"] = (out["quarantined"] / out["rows_in"].where(out["rows_in"] > 0)).fillna(
        0.0
    )
    return out[["table", "accepted", "quarantined", "rows_in", "quarantined_pct"]]


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
    return [str(p) for p in every if p not in set(seen)]


def fk_rates(fk: pd.DataFrame) -> pd.DataFrame:
    """Share of foreign-key values that are filled and that resolve to a parent row.

    ``fk``: ``table, column, parent, rows, filled, resolved``. Adds ``filled_pct``
    (filled / rows), ``resolved_pct`` (resolved / filled; 1.0 when nothing is filled, since
    no value points nowhere) and ``unresolved`` (filled - resolved).

    >>> fk_rates(pd.DataFrame({"table": ["orders"], "column": ["customer_id"], "parent": ["customers"],
    ...     "rows": [10], "filled": [8], "resolved": [6]}))[["filled_pct", "resolved_pct", "unresolved"]].iloc[0].tolist()
    [0.8, 0.75, 2.0]
    """
    require_columns(fk, ["table", "column", "parent", "rows", "filled", "resolved"], "fk")
    out = fk.copy()
    out["filled_pct"] = (out["filled"] / out["rows"].where(out["rows"] > 0)).fillna(0.0)
    out["resolved_pct"] = (out["resolved"] / out["filled"].where(out["filled"] > 0)).fillna(1.0)
    out["unresolved"] = (out["filled"] - out["resolved"]).astype("float64")
    return out


def iqr_bounds(q1: float, q3: float, k: float = 1.5) -> tuple[float, float]:
    """Tukey fences ``(q1 - k*IQR, q3 + k*IQR)``; values outside are outliers.

    >>> iqr_bounds(10.0, 30.0)
    (-20.0, 60.0)
    """
    iqr = q3 - q1
    return (q1 - k * iqr, q3 + k * iqr)


def headline_figures(
    acc: pd.DataFrame,
    dates: pd.DataFrame,
    gaps: list[str],
    fk: pd.DataFrame,
    checks: dict,
    outliers: int | None,
    tables_missing: list[str],
) -> dict:
    """The flat figures of the data-quality study (``data-quality.json``).

    ``acc`` from :func:`acceptance`, ``dates`` with ``table, date_min, date_max``, ``gaps`` from
    :func:`months_without_data` on orders, ``fk`` from :func:`fk_rates`, ``checks`` the
    suspicious-line counts (``rows, negative_unflagged, discount_over, zero_price``).
    """
    out: dict = {
        "tables_present": int(len(acc.loc[acc["accepted"] > 0])),
        "tables_missing": ", ".join(tables_missing),
    }
    orders = acc.loc[acc["table"] == "orders"]
    out["orders_rows"] = int(orders["accepted"].sum())
    out["quarantined_rows"] = int(acc["quarantined"].sum())
    total_in = int(acc["rows_in"].sum())
    out["quarantined_pct"] = out["quarantined_rows"] / total_in if total_in else 0.0
    od = dates.loc[dates["table"] == "orders"]
    if len(od):
        out["date_min"] = str(pd.Timestamp(od["date_min"].iloc[0]).date())
        out["date_max"] = str(pd.Timestamp(od["date_max"].iloc[0]).date())
    out["months_without_orders"] = len(gaps)
    for _, r in fk.iterrows():
        key = FK_HEADLINE.get((r["table"], r["column"]))
        if key:
            out[key] = float(r["resolved_pct"])
    rows = checks.get("rows") or 0
    for k in ("negative_unflagged", "discount_over", "zero_price"):
        if checks.get(k) is not None:
            out[k if k != "discount_over" else "discount_over_limit"] = int(checks[k])
    if outliers is not None:
        out["net_amount_outliers"] = int(outliers)
        out["net_amount_outliers_pct"] = outliers / rows if rows else 0.0
    return out


def suspicious_lines_text(
    checks: dict,
    outliers: int,
    low: float,
    high: float,
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
    """
    rows = checks.get("rows") or 0
    out = [
        f"{checks.get('negative_amount') or 0:,} lines with a negative net amount, "
        f"**{checks.get('negative_unflagged') or 0:,} not flagged as a return**"
    ]
    if checks.get("discount_over") is not None:
        out.append(f"{checks['discount_over']:,} lines discounted more than {max_discount:.0%}")
    if checks.get("zero_price") is not None:
        out.append(f"{checks['zero_price']:,} lines with a zero unit price")
    share = outliers / rows if rows else 0.0
    unit = f" {currency}" if currency else ""
    out.append(
        f"{outliers:,} lines ({share:.1%}) outside the IQR fences {low:,.0f} .. {high:,.0f}{unit}"
    )
    return "\n".join(f"- {b}" for b in out)


def quality_actions(
    fig: dict,
    min_resolved: float = 0.99,
    max_quarantined: float = 0.01,
    max_outlier_share: float = 0.05,
    max_discount: float = 0.5,
) -> str:
    """Markdown bullets saying what to fix first, from :func:`headline_figures` output."""
    bullets = []
    q = fig.get("quarantined_pct") or 0.0
    if q > max_quarantined:
        bullets.append(
            f"**{fig['quarantined_rows']:,} rows ({q:.1%}) were quarantined** — fix them at the "
            "source (see the reasons table) and re-ingest; figures exclude them."
        )
    bad_keys = sorted(
        (k, v) for k, v in fig.items() if k.startswith("fk_") and v is not None and v < min_resolved
    )
    for k, v in bad_keys:
        what = k.removeprefix("fk_").removesuffix("_pct").replace("_", " → ", 1)
        bullets.append(
            f"Only **{v:.1%}** of {what} keys resolve: load the missing master data, or per-"
            f"{what.split(' → ')[1].rstrip('s')} figures will undercount."
        )
    if fig.get("months_without_orders"):
        bullets.append(
            f"**{fig['months_without_orders']} month(s) without orders** between {fig.get('date_min')} "
            f"and {fig.get('date_max')}: check the export before trusting trends and seasonality."
        )
    if fig.get("negative_unflagged"):
        bullets.append(
            f"**{fig['negative_unflagged']:,} negative lines are not flagged as returns**: mark them "
            "`is_return` or correct the amounts."
        )
    if fig.get("discount_over_limit"):
        bullets.append(
            f"**{fig['discount_over_limit']:,} lines carry a discount above {max_discount:.0%}**: confirm they are "
            "real (clearance, errors in the discount unit?)."
        )
    if fig.get("zero_price"):
        bullets.append(
            f"**{fig['zero_price']:,} lines have a zero unit price**: free goods or missing prices?"
        )
    share = fig.get("net_amount_outliers_pct") or 0.0
    if share > max_outlier_share:
        bullets.append(
            f"{share:.1%} of lines are outliers by the IQR rule: a long tail of large orders is normal; "
            "look at the largest before reading averages."
        )
    if not bullets:
        bullets.append(
            "No data problem needs action: keys resolve, nothing was quarantined above "
            f"{max_quarantined:.0%}, and orders cover every month."
        )
    return "\n".join(f"- {b}" for b in bullets)
