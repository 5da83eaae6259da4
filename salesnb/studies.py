"""The study registry: which notebooks ``salesnb report`` runs and what each needs.

A study is one parameterized notebook in ``notebooks/``. ``needs`` are the
tables without which the study cannot say anything (it is published as
``skipped`` with the reason); ``needs_one_of``, when set, are tables of which
at least one must be present (a service study with neither tickets nor
surveys has nothing to report); ``uses`` are optional tables that add sections.
Parameters are read from the notebook's own ``parameters`` cell, so the
notebook stays the single source of its defaults.
"""

from __future__ import annotations

from dataclasses import dataclass

from salesnb import config


@dataclass(frozen=True)
class Study:
    id: str
    notebook: str
    title: str
    needs: tuple[str, ...]
    uses: tuple[str, ...] = ()
    needs_one_of: tuple[str, ...] = ()
    period_tables: tuple[str, ...] = ()  # dated tables the default period must hold data in
    # False: the study describes the whole warehouse and runs even on a period without rows
    needs_rows_in_period: bool = True

    @property
    def dated_tables(self) -> tuple[str, ...]:
        """Tables whose dates decide this study's default period (when none is given)."""
        return self.period_tables or self.needs + self.needs_one_of

    def missing(self, tables) -> str | None:
        """Why this study cannot run on a warehouse holding ``tables`` (None when it can)."""
        tables = set(tables)
        if lacking := [t for t in self.needs if t not in tables]:
            s = "s" if len(lacking) > 1 else ""
            return f"table{s} {', '.join(lacking)} not in this warehouse"
        if self.needs_one_of and not tables & set(self.needs_one_of):
            return f"none of the tables {', '.join(self.needs_one_of)} is in this warehouse"
        return None

    @property
    def path(self):
        return config.NOTEBOOK_DIR / self.notebook


STUDIES: dict[str, Study] = {
    s.id: s
    for s in [
        Study(
            "data-quality",
            "00-data-quality.ipynb",
            "Data quality",
            (),
            (
                "customers",
                "products",
                "reps",
                "targets",
                "leads",
                "opportunities",
                "stage_history",
                "tickets",
                "surveys",
                "market",
                "trainings",
                "pilots",
                "orders",
            ),
            period_tables=("orders", "opportunities", "leads", "tickets", "surveys"),
            needs_rows_in_period=False,
        ),
        Study("targets", "01-targets.ipynb", "Target setting", ("orders",), ("reps", "targets")),
        Study(
            "market",
            "02-market.ipynb",
            "Market & competitors",
            ("orders",),
            ("market", "opportunities", "customers", "products"),
        ),
        Study(
            "funnel",
            "03-funnel.ipynb",
            "Funnel & sales process",
            ("opportunities",),
            ("leads", "stage_history", "reps", "targets"),
            period_tables=("opportunities", "leads"),
        ),
        Study("channels", "04-channels.ipynb", "Channels", ("orders",), ("customers",)),
        Study(
            "customers",
            "05-customers.ipynb",
            "Customers: RFM, cohorts, CLV, churn",
            ("orders",),
            ("customers", "products", "reps"),
        ),
        Study(
            "performance",
            "06-performance.ipynb",
            "Team performance & incentives",
            ("orders", "reps"),
            ("targets", "opportunities", "surveys", "customers", "market"),
        ),
        Study(
            "experiments",
            "07-experiments.ipynb",
            "Training effect & pilots",
            ("orders", "reps"),
            ("trainings", "pilots", "opportunities"),
            needs_one_of=("trainings", "pilots"),
            period_tables=("orders",),
        ),
        Study(
            "service",
            "08-service.ipynb",
            "After-sales service & customer feedback",
            (),
            ("tickets", "surveys", "customers", "reps"),
            needs_one_of=("tickets", "surveys"),
        ),
        Study("expansion", "09-expansion.ipynb", "Global expansion", ("orders",), ("market",)),
        Study(
            "risk",
            "10-risk.ipynb",
            "Risk & compliance",
            ("orders",),
            ("opportunities", "reps", "products", "customers"),
        ),
        Study(
            "deals",
            "11-deals.ipynb",
            "Deals: win probability, forecast calls, stuck deals",
            ("opportunities",),
            ("stage_history", "forecast_calls", "reps", "customers", "products"),
            period_tables=("opportunities",),
        ),
        Study(
            "sustainability",
            "12-sustainability.ipynb",
            "Sustainability",
            ("orders", "products"),
            ("reps",),
            period_tables=("orders",),
        ),
    ]
}

# Parameters every study shares, in the order they appear in each parameters cell.
COMMON_PARAMETERS = (
    "source",
    "period",
    "as_of",
    "region",
    "team",
    "channel",
    "currency",
    "output_dir",
)
