"""The business names of the figures a manager meets in more than one place.

The index and each study page's summary (:mod:`salesnb.report.headlines`), the dashboards'
cards (:mod:`salesnb.dashboards.executive_board`) and the notifications show the same figure;
one name each, defined here, so that "Attainment of target" on the index is not "Attainment"
on the dashboard. Names are marked for the catalogs and shown with ``_()``.
"""

from __future__ import annotations

from salesnb.i18n import N_

# key of <study>.json (performance, funnel, targets) -> the figure's business name
FIGURE_NAMES = {
    "revenue_total": N_("Revenue"),
    "target_total": N_("Target"),
    "attainment_company": N_("Attainment of target"),
    "win_rate": N_("Win rate"),
    "pipeline_coverage": N_("Pipeline coverage"),
    "open_pipeline": N_("Open pipeline"),
    "landing": N_("Landing forecast"),
}
