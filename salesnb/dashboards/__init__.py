"""Manager dashboards: the numbers they show, the boards that draw them, the Voilà server.

One module per job:

- :mod:`~salesnb.dashboards.figures` — the numbers each card shows for one filter set (pure
  reads, no widgets): :func:`executive_figures`, :func:`funnel_steps`, :func:`channel_mix`,
  :func:`current_alerts`, :func:`rep_scorecard`, :func:`rep_detail`, and
  :class:`LiveReader`, which asks the engine each time (the studies' queries).
- :mod:`~salesnb.dashboards.cube` — :class:`CubeReader`: the same answers from small cubes the
  engine aggregates once per kernel (while Voilà preheats it).
- :mod:`~salesnb.dashboards.layout` — HTML for the widgets (KPI tiles, tables, messages,
  charts as images); the charts themselves are :mod:`salesnb.plots.svg`.
- :mod:`~salesnb.dashboards.urls` — filters (and the page's language, ``?lang=zh-CN``)
  preset in the page URL, validated.
- :mod:`~salesnb.dashboards.boards` — :class:`Board`: the filter panel
  (:mod:`salesnb.widgets`), a status line and named sections redrawn together;
  :mod:`~salesnb.dashboards.executive_board` and :mod:`~salesnb.dashboards.team_board` are
  the two boards (:func:`executive`, :func:`team`, which the notebooks in
  ``notebooks/dashboards`` call).
- :mod:`~salesnb.dashboards.server` — :func:`serve`: Voilà over ``notebooks/dashboards``.
- :mod:`~salesnb.dashboards.access` — who may see them: the server's secret and signed links
  that pin a team or region; :mod:`~salesnb.dashboards.gate` — the sign-in page and the
  identity provider Voilà (Jupyter Server) asks.
"""

from salesnb.dashboards.boards import FRIENDLY_FAILURE, Board, quiet, server_log
from salesnb.dashboards.cube import Cube, CubeReader, open_reader
from salesnb.dashboards.executive_board import ExecutiveBoard, executive
from salesnb.dashboards.figures import (
    ALERT_FIGURES,
    SCORECARD_COLUMNS,
    LiveReader,
    channel_mix,
    channel_mix_from,
    current_alerts,
    current_period,
    data_end,
    executive_figures,
    figures_from,
    funnel_steps,
    funnel_steps_from,
    landing_figures,
    monthly_revenue,
    period_choices,
    rep_detail,
    rep_ids,
    rep_scorecard,
    target_for,
)
from salesnb.dashboards.layout import (
    STYLE,
    esc,
    fmt_days,
    fmt_money,
    fmt_pct,
    fmt_times,
    kpi_html,
    message_html,
    svg_html,
    table_html,
)
from salesnb.dashboards.server import (
    DEFAULT_CULL_IDLE_SECONDS,
    DEFAULT_CULL_INTERVAL_SECONDS,
    DEFAULT_POOL_SIZE,
    DEFAULT_PORT,
    VOILA_CONFIG_DIR,
    serve,
    voila_command,
    voila_env,
)
from salesnb.dashboards.team_board import TeamBoard, team
from salesnb.dashboards.urls import (
    URL_FILTERS,
    URL_PARAMETERS,
    request_query_string,
    url_language,
    url_parameters,
)
from salesnb.plots.svg import nice_ticks, svg_bar_chart, svg_column_chart

__all__ = [
    "ALERT_FIGURES",
    "DEFAULT_CULL_IDLE_SECONDS",
    "DEFAULT_CULL_INTERVAL_SECONDS",
    "DEFAULT_POOL_SIZE",
    "DEFAULT_PORT",
    "FRIENDLY_FAILURE",
    "SCORECARD_COLUMNS",
    "STYLE",
    "URL_FILTERS",
    "URL_PARAMETERS",
    "VOILA_CONFIG_DIR",
    "Board",
    "Cube",
    "CubeReader",
    "ExecutiveBoard",
    "LiveReader",
    "TeamBoard",
    "channel_mix",
    "channel_mix_from",
    "current_alerts",
    "current_period",
    "data_end",
    "esc",
    "executive",
    "executive_figures",
    "figures_from",
    "fmt_days",
    "fmt_money",
    "fmt_pct",
    "fmt_times",
    "landing_figures",
    "funnel_steps",
    "funnel_steps_from",
    "kpi_html",
    "message_html",
    "monthly_revenue",
    "nice_ticks",
    "open_reader",
    "period_choices",
    "quiet",
    "rep_detail",
    "rep_ids",
    "rep_scorecard",
    "request_query_string",
    "serve",
    "server_log",
    "svg_bar_chart",
    "svg_column_chart",
    "svg_html",
    "table_html",
    "target_for",
    "team",
    "url_language",
    "url_parameters",
    "voila_command",
    "voila_env",
]
