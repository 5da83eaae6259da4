"""The executive board: headline KPIs, revenue against the target pace, funnel, channel mix,
alerts.

Its figures are read through a :class:`~salesnb.dashboards.cube.CubeReader` built while Voilà
preheats the kernel, so a filter change redraws in milliseconds.
"""

from __future__ import annotations

import pandas as pd

from salesnb.dashboards.boards import Board
from salesnb.dashboards.cube import open_reader
from salesnb.dashboards.figures import (
    channel_mix_from,
    current_alerts,
    figures_from,
    funnel_steps_from,
)
from salesnb.dashboards.layout import (
    esc,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_times,
    kpi_html,
    message_html,
    svg_html,
)
from salesnb.model.filters import Filters
from salesnb.plots import color_for
from salesnb.plots.svg import svg_bar_chart, svg_column_chart


class ExecutiveBoard(Board):
    """Headline KPIs, revenue vs target, funnel, channel mix and alerts for the panel's filters."""

    def build(self) -> None:
        from salesnb import alerts

        # read once: parsing the YAML takes longer than the figures
        self.rules = alerts.load_alert_rules()
        self.reread()
        self.section("headline", self.headline)
        self.section("revenue", self.revenue_chart, memo=True)
        self.section("funnel", self.funnel_chart, memo=True)
        self.section("channels", self.channel_chart, memo=True)
        self.section("alerts", self.alerts)
        self.redraw()

    def reread(self) -> None:
        """The cubes of ``src`` (as known on ``as_of``), built while Voilà preheats the kernel;
        other periods' pipeline and flow on first use."""
        self.reader = open_reader(self.src, self.as_of, [self.panel.period.label])

    def figures(self, f: Filters) -> dict:
        # the day each period is seen at: as_of, else the end of the data (figures_from)
        return self.cached(("exec", f), lambda: figures_from(self.reader, f, as_of=self.as_of))

    def headline(self, f: Filters) -> str:
        x, cur = self.figures(f), self.currency
        tiles = [
            kpi_html(
                "revenue",
                "Revenue",
                x["revenue"],
                fmt_money(x["revenue"], cur),
                f"{x['period']}, {f.describe()}",
            ),
            kpi_html(
                "target",
                "Target",
                x["target"],
                fmt_money(x["target"], cur),
                "no target for a channel" if f.channel else "",
            ),
            kpi_html(
                "attainment",
                "Attainment",
                x["attainment"],
                fmt_pct(x["attainment"]),
                "revenue / target",
            ),
            kpi_html(
                "forecast",
                "Landing forecast",
                x["forecast"],
                fmt_money(x["forecast"], cur),
                landing_line(x, cur),
            ),
            kpi_html(
                "pipeline_coverage",
                "Pipeline coverage",
                x["pipeline_coverage"],
                fmt_times(x["pipeline_coverage"]),
                f"{fmt_money(x['open_pipeline'], cur)} open on {x['as_of']} vs {x['coverage_basis'] or '–'}",
            ),
            kpi_html(
                "win_rate",
                "Win rate",
                x["win_rate"],
                fmt_pct(x["win_rate"]),
                f"{x['deals_won'] or 0} won / {x['deals_lost'] or 0} lost",
            ),
        ]
        return f'<div class="snb-kpis">{"".join(tiles)}</div>'

    def revenue_chart(self, f: Filters) -> str:
        x, cur = self.figures(f), self.currency
        monthly = self.reader.monthly_revenue(f)
        months = pd.date_range(f.start, pd.Timestamp(f.end) - pd.Timedelta(days=1), freq="MS")
        values = monthly.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        att = (
            fmt_pct(x["attainment"]) + " of target"
            if x["attainment"] is not None
            else "no target set"
        )
        svg = svg_column_chart(
            [m.strftime("%Y-%m") for m in months],
            [float(v) for v in values.values],
            title=f"{x['period']}: {fmt_money(x['revenue'], cur)} booked, {att}",
            y_label=f"Revenue ({cur})",
            reference=x["target"] / len(months) if x["target"] else None,
            reference_label="target pace per month",
            bar_label="revenue",
        )
        return svg_html(svg, "revenue", "monthly revenue against the target pace")

    def funnel_chart(self, f: Filters) -> str:
        steps = funnel_steps_from(self.reader, f)
        if steps.empty:
            return message_html(
                "No deal history (opportunities with stage_history) for these filters.", "funnel"
            )
        conv = steps["step_conversion"].iloc[1:]
        title = "From first stage to won, step by step"
        if conv.notna().any():
            i = int(conv.idxmin())
            title = (
                f"Most deals are lost between {steps['step'][i - 1]} and {steps['step'][i]} "
                f"({conv[i]:.0%} go on)"
            )
        labels = [
            f"{n:,.0f}" + (f"  ({c:.0%} of previous)" if pd.notna(c) else "")
            for n, c in zip(steps["count"], steps["step_conversion"], strict=True)
        ]
        svg = svg_bar_chart(
            [str(s) for s in steps["step"]],
            [float(n) for n in steps["count"]],
            title=title,
            x_label="Deals (created up to the period end; won = closed in the period)",
            value_labels=labels,
        )
        return svg_html(svg, "funnel", "deals entering each stage, then won")

    def channel_chart(self, f: Filters) -> str:
        df = channel_mix_from(self.reader, f)
        if df.empty:
            return message_html("No revenue in this period for these filters.", "channels")
        growth = df["growth"][0]
        yoy = f", {growth:+.0%} on last year" if pd.notna(growth) else ""
        svg = svg_bar_chart(
            [str(c) for c in df["channel"]],
            [float(s) for s in df["share"]],
            title=f"{df['channel'][0]} leads with {df['share'][0]:.0%} of revenue{yoy}",
            x_label="Share of revenue (%)",
            tick=lambda v: f"{v:.0%}",
            colors=[color_for(c) for c in df["channel"]],
        )
        return svg_html(svg, "channels", "share of revenue by channel")

    def alerts(self, f: Filters) -> str:
        items = current_alerts(self.figures(f), self.rules)
        if not items:
            return '<div class="snb-ok" data-alerts="0">No alerts for these filters.</div>'
        scope = f.describe()
        body = "".join(
            f'<div class="snb-alert" data-alert="{esc(a["key"])}">{esc(a["message"])} '
            f"({esc(a['key'])} = {esc(fmt_number(a['actual'], a['key']))}; {esc(scope)})</div>"
            for a in items
        )
        return f'<div data-alerts="{len(items)}">{body}</div>'


def landing_line(x: dict, currency: str) -> str:
    """The line under the landing card: the interval and the gap to target while the period
    runs, else why there is no landing."""
    if x["landing_state"] == "not started":
        return "the period has not started"
    if x["landing_state"] == "complete":
        return f"period complete: the revenue booked (data to {x['as_of']})"
    if x["forecast"] is None or x["landing_low"] is None:
        why = x["landing_note"] or "no method has the data to forecast"
        return f"{why}; data to {x['as_of']}"
    level = x["landing_interval_level"] or 0.8
    parts = [
        f"{level:.0%}: {fmt_money(x['landing_low'], currency)} – "
        f"{fmt_money(x['landing_high'], currency)}",
    ]
    if x["gap_to_target"] is not None:
        sign = "+" if x["gap_to_target"] >= 0 else "−"
        parts.append(f"{sign}{fmt_money(abs(x['gap_to_target']), currency)} vs target")
    parts.append(f"{x['landing_method']}; data to {x['as_of']}")
    return "; ".join(parts)


def executive(
    source: str = "",
    period: str = "",
    as_of: str = "",
    region: str = "",
    team: str = "",
    channel: str = "",
    currency: str = "",
) -> ExecutiveBoard:
    """The executive board for these parameters (the notebook's parameters cell)."""
    return ExecutiveBoard.open("executive", source, period, as_of, region, team, channel, currency)
