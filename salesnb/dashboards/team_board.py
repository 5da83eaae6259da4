"""The team board: a scorecard per rep and a drill-down into one rep.

The rep picker lives beside the drill-down section, so :class:`TeamBoard` shows the two
together (:meth:`TeamBoard.show`) and takes a ``rep=`` URL parameter on top of the filters
(:meth:`TeamBoard.apply_url`).
"""

from __future__ import annotations

from collections.abc import Mapping

import pandas as pd

from salesnb.dashboards.boards import FRIENDLY_FAILURE, Board, server_log
from salesnb.dashboards.figures import rep_detail, rep_ids, rep_scorecard
from salesnb.dashboards.layout import (
    esc,
    fmt_days,
    fmt_money,
    fmt_pct,
    kpi_html,
    message_html,
    svg_html,
    table_html,
)
from salesnb.errors import SalesnbError
from salesnb.model.filters import Filters
from salesnb.plots.svg import svg_column_chart
from salesnb.sources import Source


def _count(x) -> str:
    """A number of deals; the house mark for a missing figure when there is none."""
    return fmt_pct(None) if x is None or pd.isna(x) else f"{int(x):,}"


class TeamBoard(Board):
    """A scorecard per rep for the panel's filters, and the picked rep up close."""

    def __init__(
        self, name: str, src: Source | None, panel=None, currency: str = "", rep: str = ""
    ):
        super().__init__(name, src, panel, currency)
        self.wanted_rep = rep or None  # from the parameters or the URL, until it is in scope
        self._picking = False

    def build(self) -> None:
        import ipywidgets as w

        from salesnb.widgets import rep_picker

        self.picker = rep_picker([], None)
        self.picker.observe(lambda _c: self._redraw_detail(), names="value")
        self.section("scorecard", self.scorecard)
        self.section("rep", self.detail)
        self.redraw()
        self.rep_widget = w.VBox([self.picker, self.sections["rep"]])

    def show(self, name: str | None = None):
        """As :meth:`Board.show`; ``"rep"`` is the rep picker above the rep's detail."""
        if name == "rep" and self.src is not None:
            return self.rep_widget
        return super().show(name)

    def apply_url(self, extra: Mapping[str, list[str]] | None = None) -> dict[str, str]:
        """As :meth:`Board.apply_url`, plus ``rep=`` (a rep_id) picking the rep to drill into."""
        if self.src is None:
            return super().apply_url(extra)
        values = super().apply_url(extra={**(extra or {}), "rep": rep_ids(self.src)})
        if values.get("rep"):
            self.wanted_rep = values["rep"]
            ids = [o[1] for o in self.picker.options]
            if values["rep"] in ids:
                self.picker.value = values["rep"]
            else:
                self.fail(
                    f"Link parameter ignored: rep {values['rep']!r} is not in the current filters.",
                    "url",
                )
        return values

    def card(self, f: Filters) -> pd.DataFrame:
        return self.cached(("card", f), lambda: rep_scorecard(self.src, f))

    def scorecard(self, f: Filters) -> str:
        df = self.card(f)
        self._refresh_picker(df)
        if df.empty:
            return message_html("No reps match these filters.", "scorecard")
        cur = self.currency
        formats = {
            "name": str,
            "team": str,
            "revenue": lambda v: fmt_money(v, cur),
            "attainment": fmt_pct,
            "win_rate": fmt_pct,
            "closed": _count,
            "cycle_days": fmt_days,
            "discount_compliance": fmt_pct,
        }
        labels = {
            "name": "Rep",
            "team": "Team",
            "revenue": f"Revenue ({cur})",
            "attainment": "Attainment",
            "win_rate": "Win rate",
            "closed": "Deals closed",
            "cycle_days": "Cycle (mean)",
            "discount_compliance": "Discount compliance",
        }
        return table_html(df, formats, key_col="rep_id", labels=labels)

    def _refresh_picker(self, df: pd.DataFrame) -> None:
        """The picker offers the reps of the scorecard; the wanted rep stays picked if in scope."""
        options = [(f"{r.name or r.rep_id} ({r.rep_id})", str(r.rep_id)) for r in df.itertuples()]
        wanted = self.picker.value or self.wanted_rep
        ids = [o[1] for o in options]
        if list(self.picker.options) != options:
            self._picking = True
            try:
                self.picker.options = options
                self.picker.value = wanted if wanted in ids else (ids[0] if ids else None)
            finally:
                self._picking = False

    def detail(self, f: Filters) -> str:
        rep_id = self.picker.value
        if not rep_id:
            return message_html("Pick a rep to see their detail.", "rep")
        df = self.card(f)
        row = df[df["rep_id"] == rep_id]
        if row.empty:
            return message_html("This rep is not in the current filters.", "rep")
        r, cur = row.iloc[0], self.currency
        d = self.cached(
            ("rep", f, rep_id), lambda: rep_detail(self.src, f, rep_id, as_of=self.as_of)
        )
        tiles = "".join(
            [
                kpi_html(
                    "rep_revenue",
                    "Revenue",
                    r["revenue"],
                    fmt_money(r["revenue"], cur),
                    str(r["name"] or rep_id),
                ),
                kpi_html(
                    "rep_attainment",
                    "Attainment",
                    r["attainment"],
                    fmt_pct(r["attainment"]),
                    "no target for a channel"
                    if f.channel
                    else f"target {fmt_money(r['target'], cur)}",
                ),
                kpi_html(
                    "rep_win_rate",
                    "Win rate",
                    r["win_rate"],
                    fmt_pct(r["win_rate"]),
                    f"{r['won']} won of {r['closed']} closed",
                ),
                kpi_html(
                    "rep_cycle_days",
                    "Cycle time",
                    r["cycle_days"],
                    fmt_days(r["cycle_days"]),
                    "mean, deals closed won or lost",
                ),
                kpi_html(
                    "rep_discount_compliance",
                    "Discount compliance",
                    r["discount_compliance"],
                    fmt_pct(r["discount_compliance"]),
                    f"{r['discount_breaches']} of {r['won_deals_priced']} won deals above authority",
                ),
            ]
        )
        return (
            f'<div class="snb-kpis" data-rep="{esc(rep_id)}">{tiles}</div>'
            f"{self._trend_chart(f, r, rep_id, d['monthly'])}{self._deals_table(d['open_deals'])}"
        )

    def _trend_chart(self, f: Filters, r, rep_id: str, m: pd.DataFrame) -> str:
        cur, who = self.currency, str(r["name"] or rep_id)
        if len(m):
            best = m.loc[m["revenue"].idxmax()]
            title = f"{who}: best month {best['month']:%Y-%m} ({fmt_money(best['revenue'], cur)})"
        else:
            title = f"{who}: no orders in the last 12 months"
        end = pd.Timestamp(f.end)
        months = pd.date_range(
            end - pd.DateOffset(months=12), end - pd.Timedelta(days=1), freq="MS"
        )
        values = m.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        svg = svg_column_chart(
            [t.strftime("%Y-%m") for t in months],
            [float(v) for v in values.values],
            title=title,
            y_label=f"Revenue ({cur})",
            height=240,
        )
        return svg_html(svg, "rep-trend", "monthly revenue of the rep")

    def _deals_table(self, deals: pd.DataFrame) -> str:
        if not len(deals):
            return "<p>No open deals.</p>"
        return table_html(
            deals,
            {
                "opportunity_id": str,
                "stage": str,
                "amount": lambda v: fmt_money(v, self.currency),
                "age_days": fmt_days,
            },
            labels={
                "opportunity_id": "Open deal",
                "stage": "Stage",
                "amount": "Amount",
                "age_days": "Age",
            },
        )

    def _redraw_detail(self) -> None:
        if self._picking:
            return
        try:
            self.sections["rep"].value = self.detail(self.panel.filters)
        except SalesnbError as exc:
            self.sections["rep"].value = message_html(str(exc), "rep")
        except Exception:
            server_log().exception("dashboard team: rep detail failed")
            self.sections["rep"].value = message_html(FRIENDLY_FAILURE, "rep")


def team(
    source: str = "",
    period: str = "",
    as_of: str = "",
    region: str = "",
    team: str = "",
    channel: str = "",
    currency: str = "",
    rep: str = "",
) -> TeamBoard:
    """The team board for these parameters (the notebook's parameters cell)."""
    return TeamBoard.open("team", source, period, as_of, region, team, channel, currency, rep=rep)
