"""The filter panel every dashboard shares (ipywidgets).

One row of dropdowns — period, region, team, channel — whose choices come
from the warehouse (:func:`salesnb.queries.warehouse.known_values`). A change calls every
registered callback once with the new :class:`~salesnb.model.filters.Filters`; setting
several values at once (:meth:`FilterPanel.set`, used for URL parameters)
also fires the callbacks only once, so a dashboard redraws once per change.

Example::

    panel = FilterPanel(src, period="2026-Q3", region="East")
    panel.on_change(lambda filters: print(filters.describe()))
    display(panel.widget)
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

import ipywidgets as w

from salesnb.i18n import N_, _
from salesnb.model.filters import Filters
from salesnb.model.periods import Period, parse_period

ALL = N_("All")
FILTER_NAMES = ("period", "region", "team", "channel")
# each dropdown's label (shown in the language in use: FilterPanel.relabel)
LABELS = {
    "period": N_("Period"),
    "region": N_("Region"),
    "team": N_("Team"),
    "channel": N_("Channel"),
    "rep": N_("Rep"),
}


def _options(values: Sequence[str]) -> list[tuple[str, str]]:
    # The empty string means "no filter", the same convention as the parameters cell.
    # The values are the data's (never translated); only "All" is a word of ours.
    return [(_(ALL), "")] + [(str(v), str(v)) for v in values]


class FilterPanel:
    """Period / region / team / channel dropdowns with one change callback per change."""

    def __init__(
        self,
        periods: Sequence[str],
        known: dict[str, list[str]],
        period: str,
        region: str = "",
        team: str = "",
        channel: str = "",
    ):
        self.known = {k: list(known.get(k, [])) for k in ("region", "team", "channel")}
        layout = w.Layout(width="auto", margin="2px 12px 2px 0")
        style = {"description_width": "initial"}
        periods = list(periods)
        if period and period not in periods:
            periods = [period, *periods]
        self.dropdowns: dict[str, w.Dropdown] = {
            "period": w.Dropdown(
                options=periods,
                value=period or (periods[0] if periods else None),
                description=_(LABELS["period"]),
                layout=layout,
                style=style,
            ),
        }
        for name, value in (("region", region), ("team", team), ("channel", channel)):
            self.dropdowns[name] = w.Dropdown(
                options=_options(self.known[name]),
                value=value if value in self.known[name] else "",
                description=_(LABELS[name]),
                layout=layout,
                style=style,
                disabled=not self.known[name],
            )
        for name, dd in self.dropdowns.items():
            dd.add_class(f"snb-filter-{name}")
            dd.observe(self._changed, names="value")
        self.widget = w.HBox(list(self.dropdowns.values()), layout=w.Layout(flex_flow="row wrap"))
        self.widget.add_class("snb-filters")
        self._callbacks: list[Callable[[Filters], None]] = []
        self._holding = False

    # -- state ---------------------------------------------------------------------------------
    @property
    def period(self) -> Period:
        return parse_period(self.dropdowns["period"].value)

    @property
    def values(self) -> dict[str, str]:
        return {name: dd.value or "" for name, dd in self.dropdowns.items()}

    @property
    def filters(self) -> Filters:
        v = self.values
        p = self.period
        return Filters(p.start, p.end, v["region"] or None, v["team"] or None, v["channel"] or None)

    def relabel(self) -> None:
        """Write the labels and the "All" choices again in the language in use (after
        :func:`salesnb.i18n.set_language`); values and callbacks are untouched."""
        self._holding = True
        try:
            for name, dd in self.dropdowns.items():
                dd.description = _(LABELS[name])
                if name in self.known:
                    value = dd.value
                    options = _options(self.known[name])
                    if list(dd.options) != options:
                        dd.options = options
                        dd.value = value
        finally:
            self._holding = False

    # -- changes -------------------------------------------------------------------------------
    def on_change(self, callback: Callable[[Filters], None]) -> None:
        self._callbacks.append(callback)

    def set(self, **values: str) -> bool:
        """Set several filters at once (one callback round). Returns True when anything changed.

        A period not among the choices is added (any valid period label is accepted);
        region/team/channel must be known values or "" (validate before calling).
        """
        unknown = set(values) - set(FILTER_NAMES)
        if unknown:
            raise ValueError(f"unknown filter(s): {', '.join(sorted(unknown))}")
        before = self.values
        self._holding = True
        try:
            for name, value in values.items():
                dd = self.dropdowns[name]
                if name == "period":
                    label = parse_period(value).label
                    if label not in dd.options:
                        dd.options = [label, *dd.options]
                    dd.value = label
                else:
                    dd.value = value or ""
        finally:
            self._holding = False
        changed = self.values != before
        if changed:
            self._fire()
        return changed

    def _changed(self, _change) -> None:
        if not self._holding:
            self._fire()

    def _fire(self) -> None:
        f = self.filters
        for cb in self._callbacks:
            cb(f)


def rep_picker(reps: Sequence[tuple[str, str]], value: str | None = None) -> w.Dropdown:
    """A dropdown of (label, rep_id) pairs for drilling into one rep."""
    options = list(reps)
    ids = [r for _, r in options]
    dd = w.Dropdown(
        options=options,
        value=value if value in ids else (ids[0] if ids else None),
        description=_(LABELS["rep"]),
        layout=w.Layout(width="max-content", min_width="320px"),
        style={"description_width": "initial"},
    )
    dd.add_class("snb-rep-picker")
    return dd
