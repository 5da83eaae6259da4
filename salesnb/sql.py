"""SQL text written by hand: the one way to quote an identifier (DuckDB dialect).

Values are never pasted into SQL text (they are bound as parameters or Ibis literals);
table and column names can not be bound, so they are quoted here, in one place.
"""

from __future__ import annotations


def quote_ident(name) -> str:
    """``name`` as a quoted SQL identifier: in double quotes, inner double quotes doubled.

    >>> quote_ident("Order ID"), quote_ident('a"b')
    ('"Order ID"', '"a""b"')
    """
    return '"' + str(name).replace('"', '""') + '"'
