"""Tables of the risk & compliance study as a page shows them (the study draws no chart)."""

from __future__ import annotations

import pandas as pd

from salesnb.formatting import p_value
from salesnb.i18n import N_, _

#: Display formats of the study's tables: rates, scores, amounts; p-values as ``p < 0.001``
#: (never scientific notation), dates without a time of day, flags as words.
TABLE_FORMAT = {
    **dict.fromkeys(
        ("return_rate", "rate_low", "rate_high", "last_days_share", "calendar_share"), "{:.1%}"
    ),
    "p_high": p_value,
    "z": "{:.2f}",
    **dict.fromkeys(("sales", "returns", "revenue", "revenue_last_days"), "{:,.0f}"),
}

#: Display formats of the discount breaches' table.
BREACH_FORMAT = {
    "amount": "{:,.2f}",
    "discount": "{:.1%}",
    "authority": "{:.0%}",
    "excess": "{:+.1%}",
}

#: Readable headers of the study's tables, shown instead of the column names on a page that
#: is not in English (the English page keeps the column names, as the CSV does).
HEADERS = {
    "opportunity_id": N_("Deal ID"),
    "order_id": N_("Order ID"),
    "line_no": N_("Line"),
    "rep_id": N_("Rep ID"),
    "close_date": N_("Close date"),
    "order_date": N_("Order date"),
    "amount": N_("Amount"),
    "discount": N_("Discount"),
    "role": N_("Role"),
    "authority": N_("Authority"),
    "excess": N_("Above authority"),
    "category": N_("Category"),
    "lines": N_("Lines"),
    "return_lines": N_("Return lines"),
    "sales": N_("Sales"),
    "returns": N_("Returns"),
    "return_rate": N_("Return rate"),
    "rate_low": N_("Rate, 95% low"),
    "rate_high": N_("Rate, 95% high"),
    "p_high": N_("p-value"),
    "flag": N_("Flagged"),
    "revenue": N_("Revenue"),
    "revenue_last_days": N_("Revenue in the last days"),
    "last_days_share": N_("Share in the last days"),
    "z": N_("Robust z-score"),
    "calendar_share": N_("Share of the calendar"),
}


def _flag(v) -> str:
    """A flag as a word (``yes`` / ``no``; empty when the test could not be run)."""
    if v is None or v is pd.NA or (isinstance(v, float) and v != v):
        return "–"
    return _("yes") if bool(v) else _("no")


def _day(v) -> str:
    """A date without its time of day (``2026-07-28``)."""
    return "–" if pd.isna(v) else str(pd.Timestamp(v).date())


def table(frame: pd.DataFrame, formats: dict | None = None):
    """``frame`` as a page shows it: formatted (:data:`TABLE_FORMAT`, or ``formats``), flags
    as words and dates as days, the index hidden; on a page not in English, readable
    translated headers."""
    from salesnb.plots.targets import localise

    cols = list(frame.columns)
    fmt = {k: v for k, v in (TABLE_FORMAT if formats is None else formats).items() if k in cols}
    fmt.update({c: _flag for c in ("flag",) if c in cols})
    fmt.update({c: _day for c in cols if c.endswith("_date")})
    styler = frame.style.format(fmt, na_rep="–").hide(axis="index")
    return localise(styler, HEADERS)
