"""Frame contracts shared by queries and metrics: the columns a function needs."""

from __future__ import annotations

from collections.abc import Iterable


def require_columns(frame, cols: Iterable[str], what: str = "frame") -> None:
    """Raise ``ValueError`` naming every column of ``cols`` that ``frame`` lacks.

    >>> import pandas as pd
    >>> require_columns(pd.DataFrame({"a": [1]}), ["a", "b"], "deals")
    Traceback (most recent call last):
    ...
    ValueError: deals: missing column(s) b
    """
    missing = [c for c in cols if c not in frame.columns]
    if missing:
        raise ValueError(f"{what}: missing column(s) {', '.join(missing)}")
