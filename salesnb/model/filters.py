"""Row filters shared by every query: a period and optional region, team and channel."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from salesnb.model.periods import Period


@dataclass(frozen=True)
class Filters:
    """Row filters shared by every query: a period and optional dimension values."""

    start: date | None = None
    end: date | None = None  # exclusive
    region: str | None = None
    team: str | None = None
    channel: str | None = None

    def with_period(self, period: Period) -> Filters:
        return Filters(period.start, period.end, self.region, self.team, self.channel)

    def without_period(self) -> Filters:
        return Filters(None, None, self.region, self.team, self.channel)

    def describe(self) -> str:
        parts = [f"{k}={v}" for k in ("region", "team", "channel") if (v := getattr(self, k))]
        return ", ".join(parts) or "all regions, teams and channels"
