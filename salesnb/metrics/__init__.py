"""Metrics: pure functions, pandas in, pandas/number out, one module per business area."""

from __future__ import annotations

from salesnb.model.columns import require_columns

__all__ = ["require_columns"]
