"""Where data comes from.

- :mod:`salesnb.sources.connection`: :class:`Source`, one read connection over the
  warehouse (a DuckDB file or any engine Ibis reaches), and :func:`connect`;
- :mod:`salesnb.sources.ingest`: ``salesnb ingest``, a folder of exports loaded into the
  canonical model (the mapping reference is its docstring);
- :mod:`salesnb.sources.mapdraft`: ``salesnb map``, a first draft of a mapping for a
  folder nobody has described yet.

Studies, queries and dashboards import ``from salesnb.sources import Source, connect``;
the ingest and the draft are imported as modules (``from salesnb.sources import ingest``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from salesnb.sources.connection import Source, connect

__all__ = ["Source", "connect"]


def __getattr__(name: str):
    # Imported on first use, so `salesnb ingest` and `salesnb map` do not load Ibis.
    if name in __all__:
        from salesnb.sources import connection

        return getattr(connection, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
