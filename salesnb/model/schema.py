"""The canonical sales data model (DESIGN.md), as data.

Each table lists its columns with a logical type, which columns are required,
its key and its foreign keys. Validation (``salesnb.model.validate``), ingest, the
demo generator and the query layer all read this one description, so a column
is renamed in one place.

Logical types: ``str``, ``int``, ``float``, ``date`` (calendar day),
``datetime`` (timestamp), ``bool``.
"""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    required: bool = True
    doc: str = ""


@dataclass(frozen=True)
class Table:
    name: str
    grain: str
    columns: tuple[Column, ...]
    key: tuple[str, ...]
    foreign_keys: dict[str, tuple[str, str]] = field(default_factory=dict)
    required: bool = False  # is the table itself required in a warehouse

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def required_columns(self) -> list[str]:
        return [c.name for c in self.columns if c.required]

    def column(self, name: str) -> Column:
        for c in self.columns:
            if c.name == name:
                return c
        raise KeyError(name)


def _c(name: str, type_: str, required: bool = True, doc: str = "") -> Column:
    return Column(name, type_, required, doc)


# How each logical column type is stored in the DuckDB warehouse (demo and ingest alike).
DUCKDB_TYPES = {
    "str": "VARCHAR",
    "int": "BIGINT",
    "float": "DOUBLE",
    "date": "DATE",
    "datetime": "TIMESTAMP",
    "bool": "BOOLEAN",
}

TABLES: dict[str, Table] = {
    t.name: t
    for t in [
        Table(
            "orders",
            "order line",
            (
                _c("order_id", "str"),
                _c("line_no", "int"),
                _c("order_date", "date"),
                _c("customer_id", "str"),
                _c("rep_id", "str", False),
                _c("product_id", "str", False),
                _c("channel", "str", False),
                _c("region", "str", False),
                _c("country", "str", False),
                _c("quantity", "float", doc="negative only on a return line"),
                _c("unit_price", "float", False),
                _c("discount", "float", False, "fraction of list, 0..1"),
                _c("net_amount", "float", doc="revenue of the line after discount"),
                _c("currency", "str", False),
                _c("cost", "float", False, "cost of goods; margin = net_amount - cost"),
                _c("is_return", "bool", False, "a return line (quantity and amount negative)"),
                _c(
                    "returned",
                    "bool",
                    False,
                    "the order was later returned, as flagged by an export's returns list; "
                    "the line keeps its booked (positive) amounts",
                ),
            ),
            key=("order_id", "line_no"),
            foreign_keys={
                "customer_id": ("customers", "customer_id"),
                "rep_id": ("reps", "rep_id"),
                "product_id": ("products", "product_id"),
            },
            required=True,
        ),
        Table(
            "customers",
            "account",
            (
                _c("customer_id", "str"),
                _c("name", "str", False),
                _c("segment", "str", False),
                _c("industry", "str", False),
                _c("region", "str", False),
                _c("country", "str", False),
                _c("created_date", "date", False),
                _c("owner_rep_id", "str", False),
            ),
            key=("customer_id",),
            foreign_keys={"owner_rep_id": ("reps", "rep_id")},
        ),
        Table(
            "products",
            "SKU",
            (
                _c("product_id", "str"),
                _c("name", "str", False),
                _c("category", "str", False),
                _c("list_price", "float", False),
                _c("unit_cost", "float", False),
                _c("launch_date", "date", False),
                _c("is_green", "bool", False),
                _c("co2_kg_per_unit", "float", False, "emissions per unit sold, kg CO2e"),
            ),
            key=("product_id",),
        ),
        Table(
            "reps",
            "salesperson",
            (
                _c("rep_id", "str"),
                _c("name", "str", False),
                _c("team", "str", False),
                _c("region", "str", False),
                _c("manager_id", "str", False),
                _c("hire_date", "date", False),
                _c(
                    "role",
                    "str",
                    False,
                    "rep / senior / manager / director: sets discount authority",
                ),
            ),
            key=("rep_id",),
        ),
        Table(
            "targets",
            "quota",
            (
                _c("period", "str", doc="2026-Q3, 2026-09 or 2026"),
                _c("level", "str", doc="company / region / team / rep"),
                _c("key", "str", doc="the region, team or rep_id; 'all' for company"),
                _c("target_amount", "float"),
            ),
            key=("period", "level", "key"),
        ),
        Table(
            "leads",
            "lead",
            (
                _c("lead_id", "str"),
                _c("created_date", "date"),
                _c("source", "str", False),
                _c("channel", "str", False),
                _c("converted_opportunity_id", "str", False),
            ),
            key=("lead_id",),
            foreign_keys={"converted_opportunity_id": ("opportunities", "opportunity_id")},
        ),
        Table(
            "opportunities",
            "deal",
            (
                _c("opportunity_id", "str"),
                _c("customer_id", "str", False),
                _c("rep_id", "str", False),
                _c("product_id", "str", False),
                _c("created_date", "date", False),
                _c("close_date", "date", False),
                _c("amount", "float", False),
                _c("stage", "str"),
                _c("status", "str", doc="open / won / lost"),
                _c("loss_reason", "str", False),
                _c("competitor", "str", False),
                _c("source", "str", False),
                _c("discount", "float", False, "discount granted on the deal, 0..1"),
            ),
            key=("opportunity_id",),
            foreign_keys={
                "customer_id": ("customers", "customer_id"),
                "rep_id": ("reps", "rep_id"),
                "product_id": ("products", "product_id"),
            },
        ),
        Table(
            "stage_history",
            "deal x stage",
            (
                _c("opportunity_id", "str"),
                _c("stage", "str"),
                _c("entered_date", "date"),
            ),
            key=("opportunity_id", "stage"),
            foreign_keys={"opportunity_id": ("opportunities", "opportunity_id")},
        ),
        Table(
            "tickets",
            "after-sales case",
            (
                _c("ticket_id", "str"),
                _c("customer_id", "str", False),
                _c("product_id", "str", False),
                _c("opened_at", "datetime"),
                _c("first_response_at", "datetime", False),
                _c("resolved_at", "datetime", False),
                _c("category", "str", False),
                _c("priority", "str", False),
                _c("csat", "float", False),
            ),
            key=("ticket_id",),
            foreign_keys={"customer_id": ("customers", "customer_id")},
        ),
        Table(
            "surveys",
            "feedback",
            (
                _c("response_id", "str"),
                _c("customer_id", "str", False),
                _c("date", "date"),
                _c("nps", "float", False, "0..10"),
                _c("csat", "float", False, "1..5"),
                _c("touchpoint", "str", False),
                _c("comment", "str", False),
            ),
            key=("response_id",),
            foreign_keys={"customer_id": ("customers", "customer_id")},
        ),
        Table(
            "market",
            "market size",
            (
                _c("period", "str"),
                _c("region", "str", False),
                _c("country", "str", False),
                _c("segment", "str", False),
                _c("market_size", "float", False),
                _c("competitor", "str", False),
                _c("competitor_sales", "float", False),
            ),
            key=("period", "region", "country", "segment", "competitor"),
        ),
        Table(
            "trainings",
            "rep x program",
            (
                _c("rep_id", "str"),
                _c("program", "str"),
                _c("date", "date"),
            ),
            key=("rep_id", "program"),
            foreign_keys={"rep_id": ("reps", "rep_id")},
        ),
        Table(
            "pilots",
            "unit in a pilot",
            (
                _c("pilot", "str", doc="name of the sales approach tried"),
                _c("unit_type", "str", doc="rep / customer / region"),
                _c("unit_id", "str"),
                _c("group", "str", doc="pilot / control"),
                _c("start_date", "date"),
                _c("end_date", "date", False),
            ),
            key=("pilot", "unit_type", "unit_id"),
        ),
        Table(
            "forecast_calls",
            "rep x week",
            (
                _c("rep_id", "str"),
                _c("period", "str", doc="the period the call is for: 2026-Q3, 2026-09 or 2026"),
                _c("as_of", "date", doc="the day the rep submitted the call"),
                _c("commit", "float", doc="amount the rep commits to win in the period"),
                _c("best_case", "float", False, "amount won if every likely deal lands"),
            ),
            key=("rep_id", "period", "as_of"),
            foreign_keys={"rep_id": ("reps", "rep_id")},
        ),
    ]
}

TABLE_ORDER = list(TABLES)  # parents before children where it matters for display

# The date that places a row of each table in time: the day it came to be known (a deal's
# creation, a ticket's opening, a rep's hire). The warehouse as known on a day keeps the rows
# dated by then (salesnb.sources.snapshot); data quality reports each table's range of it.
ROW_DATE = {
    "orders": "order_date",
    "customers": "created_date",
    "products": "launch_date",
    "reps": "hire_date",
    "leads": "created_date",
    "opportunities": "created_date",
    "stage_history": "entered_date",
    "tickets": "opened_at",
    "surveys": "date",
    "trainings": "date",
    "pilots": "start_date",
    "forecast_calls": "as_of",
}

OPPORTUNITY_STATUSES = ("open", "won", "lost")
TARGET_LEVELS = ("company", "region", "team", "rep")

# Discount authority per rep role (fraction of list price). Business rule as data:
# override by passing ``authority=`` to the functions that use it.
DEFAULT_DISCOUNT_AUTHORITY = {"rep": 0.10, "senior": 0.20, "manager": 0.30, "director": 0.40}
