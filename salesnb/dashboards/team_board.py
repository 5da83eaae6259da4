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
from salesnb.i18n import N_, _, language, month_label
from salesnb.model.filters import Filters
from salesnb.plots.svg import svg_column_chart
from salesnb.sources import Source

# the scorecard's column headers ("Revenue ({currency})" is formatted where shown)
SCORECARD_LABELS = {
    "name": N_("Rep"),
    "team": N_("Team"),
    "revenue": N_("Revenue ({currency})"),
    "attainment": N_("Attainment"),
    "win_rate": N_("Win rate"),
    "closed": N_("Deals closed"),
    "cycle_days": N_("Cycle (mean)"),
    "discount_compliance": N_("Discount compliance"),
}
# the headers of a rep's open deals
DEAL_LABELS = {
    "opportunity_id": N_("Open deal"),
    "stage": N_("Stage"),
    "amount": N_("Amount"),
    "age_days": N_("Age"),
}


def _month(day) -> str:
    """A month in a chart title: ``2026-07`` in English, ``2026年7月`` in Chinese."""
    return f"{day:%Y-%m}" if language() == "en" else month_label(day)


def _count(x) -> str:
    """A number of deals; the house mark for a missing figure when there is none."""
    return fmt_pct(None) if x is None or pd.isna(x) else f"{int(x):,}"


class TeamBoard(Board):
    """A scorecard per rep for the panel's filters, and the picked rep up close."""

    TITLE = N_("Team dashboard")
    INTRO = N_(
        "A scorecard per rep — revenue, attainment, win rate, cycle time, discount compliance — "
        "and a drill-down into one rep, for the period, region, team and channel picked below."
    )
    URL_EXAMPLE = "?team=Alpha&rep=R007"
    URL_HINT = N_(
        "Filters given in the page address ({example}) preset the panel; any change redraws "
        "the scorecard and the rep detail."
    )

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
        self.section(
            "scorecard",
            self.scorecard,
            caption=(
                "",
                N_(
                    "How does each rep do on revenue, attainment, win rate, cycle time and "
                    "discount compliance?"
                ),
            ),
        )
        self.section(
            "rep",
            self.detail,
            caption=(
                N_("One rep up close"),
                N_(
                    "Pick a rep: their figures, monthly revenue over the last year and their "
                    "largest open deals."
                ),
            ),
        )
        self.redraw()
        self.rep_widget = w.VBox([self.captions["rep"], self.picker, self.sections["rep"]])

    def relabel(self) -> None:
        """As :meth:`Board.relabel`, and the rep picker's label."""
        super().relabel()
        if getattr(self, "picker", None) is not None:
            from salesnb.widgets import LABELS

            self.picker.description = _(LABELS["rep"])

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
                    _("Link parameter ignored: rep {rep} is not in the current filters.").format(
                        rep=repr(values["rep"])
                    ),
                    "url",
                )
        return values

    def card(self, f: Filters) -> pd.DataFrame:
        return self.cached(("card", f), lambda: rep_scorecard(self.src, f))

    def scorecard(self, f: Filters) -> str:
        df = self.card(f)
        self._refresh_picker(df)
        if df.empty:
            return message_html(_("No reps match these filters."), "scorecard")
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
        labels = {k: _(v).format(currency=cur) for k, v in SCORECARD_LABELS.items()}
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
            return message_html(_("Pick a rep to see their detail."), "rep")
        df = self.card(f)
        row = df[df["rep_id"] == rep_id]
        if row.empty:
            return message_html(_("This rep is not in the current filters."), "rep")
        r, cur = row.iloc[0], self.currency
        d = self.cached(
            ("rep", f, rep_id), lambda: rep_detail(self.src, f, rep_id, as_of=self.as_of)
        )
        tiles = "".join(
            [
                kpi_html(
                    "rep_revenue",
                    _("Revenue"),
                    r["revenue"],
                    fmt_money(r["revenue"], cur),
                    str(r["name"] or rep_id),
                ),
                kpi_html(
                    "rep_attainment",
                    _("Attainment"),
                    r["attainment"],
                    fmt_pct(r["attainment"]),
                    _("no target for a channel")
                    if f.channel
                    else _("target {amount}").format(amount=fmt_money(r["target"], cur)),
                ),
                kpi_html(
                    "rep_win_rate",
                    _("Win rate"),
                    r["win_rate"],
                    fmt_pct(r["win_rate"]),
                    _("{won} won of {closed} closed").format(won=r["won"], closed=r["closed"]),
                ),
                kpi_html(
                    "rep_cycle_days",
                    _("Cycle time"),
                    r["cycle_days"],
                    fmt_days(r["cycle_days"]),
                    _("mean, deals closed won or lost"),
                ),
                kpi_html(
                    "rep_discount_compliance",
                    _("Discount compliance"),
                    r["discount_compliance"],
                    fmt_pct(r["discount_compliance"]),
                    _("{breaches} of {priced} won deals above authority").format(
                        breaches=r["discount_breaches"], priced=r["won_deals_priced"]
                    ),
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
            title = _("{rep}: best month {month} ({amount})").format(
                rep=who, month=_month(best["month"]), amount=fmt_money(best["revenue"], cur)
            )
        else:
            title = _("{rep}: no orders in the last 12 months").format(rep=who)
        end = pd.Timestamp(f.end)
        months = pd.date_range(
            end - pd.DateOffset(months=12), end - pd.Timedelta(days=1), freq="MS"
        )
        values = m.set_index("month")["revenue"].reindex(months, fill_value=0.0)
        svg = svg_column_chart(
            [t.strftime("%Y-%m") for t in months],
            [float(v) for v in values.values],
            title=title,
            y_label=_("Revenue ({currency})").format(currency=cur),
            height=240,
        )
        return svg_html(svg, "rep-trend", _("monthly revenue of the rep"))

    def _deals_table(self, deals: pd.DataFrame) -> str:
        if not len(deals):
            none = esc(_("No open deals."))
            return f"<p>{none}</p>"
        return table_html(
            deals,
            {
                "opportunity_id": str,
                "stage": str,
                "amount": lambda v: fmt_money(v, self.currency),
                "age_days": fmt_days,
            },
            labels={k: _(v) for k, v in DEAL_LABELS.items()},
        )

    def _redraw_detail(self) -> None:
        if self._picking:
            return
        try:
            self.sections["rep"].value = self.detail(self.filters)
        except SalesnbError as exc:
            self.sections["rep"].value = message_html(str(exc), "rep")
        except Exception:
            server_log().exception("dashboard team: rep detail failed")
            self.sections["rep"].value = message_html(_(FRIENDLY_FAILURE), "rep")


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
