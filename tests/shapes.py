"""Warehouses of other shapes, derived from the demo company by a few SQL statements.

Real exports rarely look like the demo: a CRM export has no orders, a small team has one
rep, a young company has one month of history, a returns-heavy quarter nets below zero.
Each shape here is a copy of a (small) demo warehouse changed the way such an export would
be; ``tests/test_shapes.py`` runs the whole report on each and checks that no study fails
on valid data. ``python tests/shapes.py DEMO OUT [SHAPE ...]`` runs them by hand and prints
one line per study.

A shape is ``(sql statements, report period or None)``; ``{keep}`` lists are tables kept.
"""

from __future__ import annotations

import re
import shutil
import sys
from html.parser import HTMLParser
from pathlib import Path

from salesnb.model.schema import TABLES  # noqa: E402

ALL_TABLES = tuple(TABLES)


def keep(*tables: str) -> list[str]:
    return [f"DROP TABLE {t}" for t in ALL_TABLES if t not in tables]


def drop_columns(table: str, *cols: str) -> list[str]:
    return [f"ALTER TABLE {table} DROP COLUMN {c}" for c in cols]


# The demo ends 2026-09-30; its last complete quarter is 2026-Q3.
SHAPES: dict[str, tuple[list[str], str | None]] = {
    # any subset of the canonical tables
    "crm_only": (keep("opportunities", "stage_history", "reps"), None),
    "leads_and_deals": (keep("leads", "opportunities"), None),
    "orders_only": (keep("orders"), None),
    "orders_customers": (keep("orders", "customers"), None),
    "service_only": (keep("tickets", "surveys", "customers"), None),
    "surveys_only": (keep("surveys"), None),
    "reps_orders_trainings": (keep("orders", "reps", "trainings"), None),
    "master_data_only": (keep("customers", "products", "reps", "targets", "market"), None),
    # deal outcomes
    "all_won": (["UPDATE opportunities SET status = 'won', stage = 'Won'"], None),
    "all_lost": (["UPDATE opportunities SET status = 'lost', stage = 'Lost'"], None),
    "no_closed_deal": (
        [
            "UPDATE opportunities SET status = 'open', stage = 'Proposal', "
            "close_date = NULL, loss_reason = NULL"
        ],
        None,
    ),
    # one of everything
    "one_rep": (
        [
            "UPDATE orders SET rep_id = 'R001'",
            "UPDATE opportunities SET rep_id = 'R001'",
            "UPDATE customers SET owner_rep_id = 'R001'",
            "DELETE FROM trainings WHERE rep_id <> 'R001'",
            "DELETE FROM reps WHERE rep_id <> 'R001'",
            "UPDATE reps SET manager_id = NULL",
            "DELETE FROM targets WHERE level = 'rep' AND key <> 'R001'",
        ],
        None,
    ),
    "one_team_one_region": (
        [
            "UPDATE reps SET team = 'Team A', region = 'North'",
            "UPDATE orders SET region = 'North'",
            "UPDATE customers SET region = 'North'",
            "UPDATE market SET region = 'North'",
        ],
        None,
    ),
    "one_channel": (
        ["UPDATE orders SET channel = 'Direct'", "UPDATE leads SET channel = 'Direct'"],
        None,
    ),
    "one_product": (
        [
            "DELETE FROM products WHERE product_id <> (SELECT min(product_id) FROM products)",
            "UPDATE orders SET product_id = (SELECT min(product_id) FROM products)",
            "UPDATE opportunities SET product_id = (SELECT min(product_id) FROM products)",
            "UPDATE tickets SET product_id = (SELECT min(product_id) FROM products)",
        ],
        None,
    ),
    # short histories
    "eight_months": (
        [
            "DELETE FROM orders WHERE order_date < DATE '2026-02-01'",
            "DELETE FROM opportunities WHERE created_date < DATE '2026-02-01'",
            "DELETE FROM leads WHERE created_date < DATE '2026-02-01'",
            "DELETE FROM stage_history WHERE opportunity_id NOT IN "
            "(SELECT opportunity_id FROM opportunities)",
        ],
        None,
    ),
    "one_month": (
        [
            "DELETE FROM orders WHERE order_date < DATE '2026-09-01'",
            "DELETE FROM opportunities WHERE created_date < DATE '2026-09-01' "
            "OR close_date < DATE '2026-09-01'",
            "DELETE FROM leads WHERE created_date < DATE '2026-09-01'",
            "DELETE FROM stage_history WHERE opportunity_id NOT IN "
            "(SELECT opportunity_id FROM opportunities)",
            "DELETE FROM tickets WHERE opened_at < TIMESTAMP '2026-09-01'",
            "DELETE FROM surveys WHERE date < DATE '2026-09-01'",
        ],
        "2026-09",
    ),
    "one_day": (
        [
            "DELETE FROM orders WHERE order_date <> DATE '2026-09-30'",
            "DELETE FROM opportunities WHERE created_date < DATE '2026-09-01' "
            "OR close_date < DATE '2026-09-01'",
            "UPDATE opportunities SET created_date = DATE '2026-09-30', "
            "close_date = CASE WHEN close_date IS NULL THEN NULL ELSE DATE '2026-09-30' END",
            "DELETE FROM leads WHERE created_date <> DATE '2026-09-30'",
            "DELETE FROM stage_history WHERE opportunity_id NOT IN "
            "(SELECT opportunity_id FROM opportunities)",
            "UPDATE stage_history SET entered_date = DATE '2026-09-30'",
        ],
        None,
    ),
    # a period with no rows at all
    "empty_period": ([], "2021-Q1"),
    # returns larger than sales in the period: net revenue below zero
    "negative_totals": (
        [
            "UPDATE orders SET quantity = -abs(quantity), net_amount = -abs(net_amount) * 3, "
            "is_return = TRUE WHERE order_date >= DATE '2026-07-01'"
        ],
        None,
    ),
    "zero_totals": (
        ["UPDATE orders SET net_amount = 0, unit_price = 0 WHERE order_date >= DATE '2026-07-01'"],
        None,
    ),
    # optional columns absent
    "no_optional_columns": (
        drop_columns("orders", "cost", "discount", "currency", "unit_price")
        + drop_columns("products", "unit_cost")
        + drop_columns("opportunities", "discount", "competitor", "loss_reason")
        + ["DROP TABLE stage_history"],
        None,
    ),
    # a range and the whole history
    "range_period": ([], "2025-Q3..2026-Q2"),
    "all_history": ([], "all"),
    "fiscal_range": ([], "FY2025-Q3..FY2026-Q2"),
}


class _Text(HTMLParser):
    """Visible text of a page (scripts, styles and SVG charts left out)."""

    def __init__(self):
        super().__init__()
        self.parts, self._skip = [], 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "svg"):
            self._skip += 1

    def handle_endtag(self, tag):
        if tag in ("script", "style", "svg") and self._skip:
            self._skip -= 1

    def handle_data(self, data):
        if not self._skip:
            self.parts.append(data)


# a figure that could not be computed, shown as if it were one
NOT_A_NUMBER = re.compile(r"(?<![\w.])(nan|NaN|inf|-inf|NaT)(?![\w])")


def visible_text(html: str) -> str:
    p = _Text()
    p.feed(html)
    return " ".join(p.parts)


def build_shape(demo: Path, out: Path, name: str) -> tuple[Path, str | None]:
    """Copy ``demo`` to ``out/<name>.duckdb`` and apply the shape; return (path, period)."""
    import duckdb

    statements, period = SHAPES[name]
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.duckdb"
    path.unlink(missing_ok=True)
    shutil.copyfile(demo, path)
    con = duckdb.connect(str(path))
    try:
        for sql in statements:
            con.execute(sql)
        con.execute("CHECKPOINT")
    finally:
        con.close()
    return path, period


if __name__ == "__main__":
    import json

    from salesnb import report

    demo, out, *names = sys.argv[1:]
    for name in names or SHAPES:
        path, period = build_shape(Path(demo), Path(out), name)
        try:
            code = report.run_report(source=str(path), period=period, out=Path(out) / f"r-{name}")
        except Exception as exc:  # noqa: BLE001 - a harness: print and go on
            print(f"SHAPE {name}: run error {type(exc).__name__}: {exc}", flush=True)
            continue
        rep = Path(out) / f"r-{name}"
        pub = [p for p in rep.iterdir() if p.is_dir() and not p.name.startswith(".")]
        man = json.loads((sorted(pub)[-1] / "manifest.json").read_text())
        folder = sorted(pub)[-1]
        for s in man["studies"]:
            if s["status"] != "ok":
                print(f"SHAPE {name}: {s['id']} {s['status']}: {(s['reason'] or '')[:300]}")
                continue
            page = visible_text((folder / s["files"]["html"]).read_text(encoding="utf-8"))
            for m in NOT_A_NUMBER.finditer(page):
                around = page[max(0, m.start() - 80) : m.end() + 40].replace("\n", " ")
                print(f"SHAPE {name}: {s['id']} page shows {m[0]!r}: ...{around}...")
        print(f"SHAPE {name}: exit {code}", flush=True)
