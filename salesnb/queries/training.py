"""Engine-side reads for the training-needs section of the experiments study.

One small frame per call: the closed deals (one row each, a few columns) that the skill
metrics of :mod:`salesnb.metrics.training` are computed from, and the order of the stages.
Filters (region / team / channel) are applied exactly as in :mod:`salesnb.queries`.
"""

from __future__ import annotations

from datetime import date

import pandas as pd

from salesnb.queries import CLOSED_STATUSES, deal_status, filtered_opportunities
from salesnb.sources import Source

__all__ = ["closed_deal_history", "closed_deal_rows", "stage_sequence"]

EPOCH = date(1900, 1, 1)


def closed_deal_rows(src: Source, filters=None, start=None, end=None) -> pd.DataFrame:
    """Deals closed (won or lost, :func:`salesnb.queries.deal_status`) in ``[start, end)``.

    Columns: ``opportunity_id, rep_id, created_date, close_date, status`` (lower case),
    ``stage`` (where a lost deal was lost), ``amount`` and ``discount`` (NaN when the
    warehouse has none).
    """
    op = filtered_opportunities(src, filters, date_col="close_date", start=start, end=end)
    st = deal_status(op)
    op = op.filter(st.isin(CLOSED_STATUSES))
    cols = {
        "opportunity_id": op.opportunity_id,
        "rep_id": op.rep_id,
        "created_date": op.created_date,
        "close_date": op.close_date,
        "status": deal_status(op),
    }
    for c in ("stage", "amount", "discount"):
        if c in op.columns:
            cols[c] = op[c]
    df = op.select(**cols).execute()
    for c in ("stage", "amount", "discount"):
        if c not in df.columns:
            df[c] = None if c == "stage" else float("nan")
    for c in ("amount", "discount"):
        df[c] = df[c].astype("float64")
    for c in ("created_date", "close_date"):
        df[c] = pd.to_datetime(df[c])
    df = df[df["rep_id"].notna()]
    return df.sort_values("opportunity_id").reset_index(drop=True)


def closed_deal_history(src: Source, filters=None, end=None) -> pd.DataFrame:
    """:func:`closed_deal_rows` of every deal closed before ``end`` (default: the end of the
    filters' period), however long ago: the history the programmes' effects are measured on."""
    end = end if end is not None else (filters.end if filters is not None else None)
    return closed_deal_rows(src, filters, start=EPOCH, end=end)


def stage_sequence(src: Source, filters=None) -> list[str]:
    """The stages in the order deals go through them (the funnel's rule:
    :func:`salesnb.queries.funnel.stage_flow` over all history, ordered by the mean position
    of each stage in a deal's history); ``[]`` without ``stage_history``."""
    if not src.has("stage_history"):
        return []
    from salesnb.queries.funnel import stage_flow

    flow = stage_flow(src, filters)
    if flow.empty:
        return []
    ranks = flow.groupby("stage")["mean_rank"].first().sort_values(kind="stable")
    return [str(s) for s in ranks.index]
