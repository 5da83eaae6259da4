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
    clause_sep,
    esc,
    fmt_day,
    fmt_money,
    fmt_number,
    fmt_pct,
    fmt_times,
    kpi_html,
    message_html,
    scope_text,
    svg_html,
)
from salesnb.formatting import count
from salesnb.i18n import N_, _, language, period_label
from salesnb.metrics.names import FIGURE_NAMES as NAMES
from salesnb.model.filters import Filters
from salesnb.plots import color_for
from salesnb.plots.svg import svg_bar_chart, svg_column_chart


class ExecutiveBoard(Board):
    """Headline KPIs, revenue vs target, funnel, channel mix and alerts for the panel's filters."""

    TITLE = N_("Executive dashboard")
    INTRO = N_(
        "Revenue against target, where a running period will land (the targets study's landing "
        "forecast), pipeline coverage, the funnel, the channel mix and the current alerts, for "
        "the period, region, team and channel picked below."
    )

    def build(self) -> None:
        from salesnb import alerts

        # read once: parsing the YAML takes longer than the figures
        self.rules = alerts.load_alert_rules()
        self.reread()
        self.section(
            "headline",
            self.headline,
            caption=(
                "",
                N_(
                    "How far is revenue from target, where will the period end, and is there enough "
                    "pipeline?"
                ),
            ),
        )
        self.section(
            "revenue",
            self.revenue_chart,
            memo=True,
            caption=("", N_("Is revenue on the target pace month by month?")),
        )
        self.section(
            "funnel",
            self.funnel_chart,
            memo=True,
            caption=("", N_("Where do deals drop out of the funnel?")),
        )
        self.section(
            "channels",
            self.channel_chart,
            memo=True,
            caption=("", N_("Which channels bring the revenue?")),
        )
        self.section(
            "alerts",
            self.alerts,
            caption=(
                N_("What needs attention now"),
                N_("The alerts computed from the figures above."),
            ),
        )
        self.redraw()

    def reread(self) -> None:
        """The cubes of ``src`` (as known on ``as_of``), built while Voilà preheats the kernel;
        other periods' pipeline and flow on first use."""
        self.reader = open_reader(self.src, self.as_of, [self.panel.period.label])

    def forget_words(self) -> None:
        """A landing that could not be made says why (``landing_note``) in the language it was
        computed in: compute those figures again; every other figure is kept."""
        self._cache = {
            k: v
            for k, v in self._cache.items()
            if not (isinstance(v, dict) and v.get("landing_note"))
        }

    def figures(self, f: Filters) -> dict:
        # the day each period is seen at: as_of, else the end of the data (figures_from)
        return self.cached(("exec", f), lambda: figures_from(self.reader, f, as_of=self.as_of))

    def headline(self, f: Filters) -> str:
        x, cur = self.figures(f), self.currency
        tiles = [
            kpi_html(
                "revenue",
                _(NAMES["revenue_total"]),
                x["revenue"],
                fmt_money(x["revenue"], cur),
                _("{period}, {scope}").format(
                    period=period_label(x["period"]), scope=scope_text(f)
                ),
            ),
            kpi_html(
                "target",
                _(NAMES["target_total"]),
                x["target"],
                fmt_money(x["target"], cur),
                _("no target for a channel") if f.channel else "",
            ),
            kpi_html(
                "attainment",
                _(NAMES["attainment_company"]),
                x["attainment"],
                fmt_pct(x["attainment"]),
                _("revenue / target"),
            ),
            kpi_html(
                "forecast",
                _(NAMES["landing"]),
                x["forecast"],
                fmt_money(x["forecast"], cur),
                landing_line(x, cur),
            ),
            kpi_html(
                "pipeline_coverage",
                _(NAMES["pipeline_coverage"]),
                x["pipeline_coverage"],
                fmt_times(x["pipeline_coverage"]),
                _("{amount} open on {day} vs {basis}").format(
                    amount=fmt_money(x["open_pipeline"], cur),
                    day=fmt_day(x["as_of"]),
                    basis=basis_text(x["coverage_basis"]),
                ),
            ),
            kpi_html(
                "win_rate",
                _(NAMES["win_rate"]),
                x["win_rate"],
                fmt_pct(x["win_rate"]),
                _("{won} won / {lost} lost").format(
                    won=x["deals_won"] or 0, lost=x["deals_lost"] or 0
                ),
            ),
        ]
        return f'<div class="snb-kpis">{"".join(tiles)}</div>'

    def revenue_chart(self, f: Filters) -> str:
        x, cur = self.figures(f), self.currency
        monthly = self.reader.monthly_revenue(f)
        months = pd.date_range(f.start, pd.Timestamp(f.end) - pd.Timedelta(days=1), freq="MS")
        values = monthly.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        att = (
            _("{share} of target").format(share=fmt_pct(x["attainment"]))
            if x["attainment"] is not None
            else _("no target set")
        )
        svg = svg_column_chart(
            [m.strftime("%Y-%m") for m in months],
            [float(v) for v in values.values],
            title=_("{period}: {amount} booked, {attainment}").format(
                period=period_label(x["period"]),
                amount=fmt_money(x["revenue"], cur),
                attainment=att,
            ),
            y_label=_("Revenue ({currency})").format(currency=cur),
            reference=x["target"] / len(months) if x["target"] else None,
            reference_label=_("target pace per month"),
            bar_label=_("revenue"),
        )
        return svg_html(svg, "revenue", _("monthly revenue against the target pace"))

    def funnel_chart(self, f: Filters) -> str:
        steps = funnel_steps_from(self.reader, f)
        if steps.empty:
            return message_html(
                _("No deal history (opportunities with stage_history) for these filters."),
                "funnel",
            )
        conv = steps["step_conversion"].iloc[1:]
        names = [step_name(s) for s in steps["step"]]
        title = _("From first stage to won, step by step")
        if conv.notna().any():
            i = int(conv.idxmin())
            title = _("Most deals are lost between {before} and {after} ({share} go on)").format(
                before=names[i - 1], after=names[i], share=f"{conv[i]:.0%}"
            )
        labels = [
            count(n)
            + ("  " + _("({share} of previous)").format(share=f"{c:.0%}") if pd.notna(c) else "")
            for n, c in zip(steps["count"], steps["step_conversion"], strict=True)
        ]
        svg = svg_bar_chart(
            names,
            [float(n) for n in steps["count"]],
            title=title,
            x_label=_("Deals (created up to the period end; won = closed in the period)"),
            value_labels=labels,
        )
        return svg_html(svg, "funnel", _("deals entering each stage, then won"))

    def channel_chart(self, f: Filters) -> str:
        df = channel_mix_from(self.reader, f)
        if df.empty:
            return message_html(_("No revenue in this period for these filters."), "channels")
        growth = df["growth"][0]
        lead = {"channel": df["channel"][0], "share": f"{df['share'][0]:.0%}"}
        if pd.notna(growth):
            title = _("{channel} leads with {share} of revenue, {growth} on last year").format(
                growth=f"{growth:+.0%}", **lead
            )
        else:
            title = _("{channel} leads with {share} of revenue").format(**lead)
        svg = svg_bar_chart(
            [str(c) for c in df["channel"]],
            [float(s) for s in df["share"]],
            title=title,
            x_label=_("Share of revenue (%)"),
            tick=lambda v: f"{v:.0%}",
            colors=[color_for(c) for c in df["channel"]],
        )
        return svg_html(svg, "channels", _("share of revenue by channel"))

    def alerts(self, f: Filters) -> str:
        items = current_alerts(self.figures(f), self.rules)
        if not items:
            none = esc(_("No alerts for these filters."))
            return f'<div class="snb-ok" data-alerts="0">{none}</div>'
        scope, sep = scope_text(f), clause_sep()
        body = "".join(
            f'<div class="snb-alert" data-alert="{esc(a["key"])}">{esc(alert_text(a))} '
            f"({esc(a['key'])} = {esc(fmt_number(a['actual'], a['key']))}{sep}{esc(scope)})</div>"
            for a in items
        )
        return f'<div data-alerts="{len(items)}">{body}</div>'


def basis_text(basis: str | None) -> str:
    """What pipeline coverage is measured against (``coverage_basis``, as
    :func:`salesnb.metrics.funnel.coverage_against` names it) in the page's language."""
    if not basis:
        return "–"
    if basis.startswith("target "):
        return _("target {period}").format(period=period_label(basis.removeprefix("target ")))
    if basis == "won amount in scope":
        return _("won amount in scope")
    return basis


def method_text(method: str | None) -> str:
    """How the landing was made (``landing_method``: a method's or a combination rule's name,
    as :attr:`salesnb.metrics.landing.Landing.method` gives it) in the page's language."""
    from salesnb.metrics.landing import METHOD_LABELS, RULE_SHORT

    if not method or language() == "en":
        return method or ""
    for label in (*METHOD_LABELS.values(), *RULE_SHORT.values()):
        if method in (label, label.lower()):
            return _(label)
    return method


def alert_text(alert: dict) -> str:
    """An alert rule's message as people read it (the bundled rules' are in the catalogs)."""
    from salesnb import alerts

    if hasattr(alerts, "message_text"):
        return alerts.message_text(alert)
    return str(alert["message"])


def step_name(step) -> str:
    """A funnel step as shown: the data's stage name, or the final step (won) in words."""
    return _("Won") if str(step) == "Won" else str(step)


def landing_line(x: dict, currency: str) -> str:
    """The line under the landing card: the interval and the gap to target while the period
    runs, else why there is no landing."""
    day = fmt_day(x["as_of"])
    if x["landing_state"] == "not started":
        return _("the period has not started")
    if x["landing_state"] == "complete":
        return _("period complete: the revenue booked (data to {day})").format(day=day)
    if x["forecast"] is None or x["landing_low"] is None:
        why = x["landing_note"] or _("no method has the data to forecast")
        return _("{why}; data to {day}").format(why=why, day=day)
    level = x["landing_interval_level"] or 0.8
    parts = [
        _("{level}: {low} – {high}").format(
            level=f"{level:.0%}",
            low=fmt_money(x["landing_low"], currency),
            high=fmt_money(x["landing_high"], currency),
        ),
    ]
    if x["gap_to_target"] is not None:
        sign = "+" if x["gap_to_target"] >= 0 else "−"
        gap = sign + fmt_money(abs(x["gap_to_target"]), currency)
        parts.append(_("{gap} vs target").format(gap=gap))
    parts.append(
        _("{method}; data to {day}").format(method=method_text(x["landing_method"]), day=day)
    )
    return clause_sep().join(parts)


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
