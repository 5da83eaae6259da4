"""Metrics: pure functions, pandas in, pandas/number out, one module per business area."""
