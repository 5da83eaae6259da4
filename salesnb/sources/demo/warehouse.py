"""The demo warehouse written: tables, the targets and market sized on the orders, the truths."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import numpy as np
import pandas as pd

from salesnb.model.periods import parse_period
from salesnb.model.schema import DEFAULT_DISCOUNT_AUTHORITY, DUCKDB_TYPES, TABLES
from salesnb.sources.demo.common import (
    CHUNK_LINES,
    COMPETITORS,
    ELASTICITY,
    GROWTH_PER_YEAR,
    NEGOTIATION_DISCOUNT_CUT,
    NEGOTIATION_PROGRAM,
    PEAK_MONTH,
    PILOT_NAME,
    PILOT_UPLIFT,
    TRAINING_PROGRAM,
    TRAINING_UPLIFT,
    _Calendar,
    _day,
    _sub_rngs,
)
from salesnb.sources.demo.deals import (
    _call_styles,
    _forecast_calls,
    _leads,
    _negotiators,
    _opportunities,
)
from salesnb.sources.demo.delivery import one_business
from salesnb.sources.demo.dimensions import _customers, _products, _reps
from salesnb.sources.demo.orders import _write_orders, green_truths
from salesnb.sources.demo.service import _surveys, _tickets


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def _create_tables(con) -> None:
    for t in TABLES.values():
        cols = ", ".join(f"{_q(c.name)} {DUCKDB_TYPES[c.type]}" for c in t.columns)
        con.execute(f"CREATE TABLE {_q(t.name)} ({cols})")


def _insert_frame(con, table: str, df: pd.DataFrame) -> None:
    cols = TABLES[table].column_names
    con.register("_frame", df[[c for c in cols if c in df.columns]])
    select = ", ".join(_q(c) if c in df.columns else "NULL" for c in cols)
    con.execute(f"INSERT INTO {_q(table)} SELECT {select} FROM _frame")
    con.unregister("_frame")


def _targets(con, rng, cal: _Calendar, reps: pd.DataFrame) -> pd.DataFrame:
    """Quarterly quotas: the region's revenue x the rep's expected share x 1.1 x noise."""
    reg_q = con.execute(
        "SELECT region, year(order_date) AS y, quarter(order_date) AS q, sum(net_amount) AS rev "
        "FROM orders GROUP BY ALL ORDER BY region, y, q"
    ).df()
    reg_q["period"] = reg_q["y"].astype(str) + "-Q" + reg_q["q"].astype(str)
    rows = []
    for _, rq in reg_q.iterrows():
        p = parse_period(rq["period"])
        after = _day(p.start) >= cal.training_day
        in_region = reps[reps["region"] == rq["region"]]
        w = in_region["weight"] * np.where(in_region["trained"] & after, 1 + TRAINING_UPLIFT, 1.0)
        expected = rq["rev"] * w / w.sum()
        noise = rng.lognormal(0.0, 0.08, len(in_region))
        for rep_id, v in zip(in_region["rep_id"], expected * 1.1 * noise, strict=True):
            rows.append((rq["period"], rep_id, round(float(v), -2)))
    rep_t = pd.DataFrame(rows, columns=["period", "rep_id", "target_amount"])
    rep_t = rep_t.merge(reps[["rep_id", "team", "region"]], on="rep_id")
    out = [rep_t.assign(level="rep", key=rep_t["rep_id"])]
    for level, col in (("team", "team"), ("region", "region")):
        g = rep_t.groupby(["period", col], as_index=False)["target_amount"].sum()
        out.append(g.assign(level=level, key=g[col]))
    g = rep_t.groupby("period", as_index=False)["target_amount"].sum()
    out.append(g.assign(level="company", key="all"))
    res = pd.concat(out, ignore_index=True)[["period", "level", "key", "target_amount"]]
    return res.sort_values(["period", "level", "key"], kind="stable").reset_index(drop=True)


def _market(con, rng, cal: _Calendar) -> pd.DataFrame:
    """Market size per quarter x region x country x segment, and competitors' sales.

    Our share of each cell starts at a segment level and rises because we grow 15 %/year
    and the market 6 %; Northwind is the largest competitor in Enterprise.
    """
    ours = con.execute(
        "SELECT year(o.order_date) AS y, quarter(o.order_date) AS q, o.region, o.country, "
        "c.segment, sum(o.net_amount) AS rev FROM orders o JOIN customers c USING (customer_id) "
        "GROUP BY ALL ORDER BY y, q, o.region, o.country, c.segment"
    ).df()
    ours["period"] = ours["y"].astype(str) + "-Q" + ours["q"].astype(str)
    t_years = (ours["y"] + (ours["q"] - 1) / 4) - (ours["y"].min() + (ours["q"].iloc[0] - 1) / 4)
    share0 = ours["segment"].map({"Enterprise": 0.10, "Mid-Market": 0.16, "SMB": 0.08})
    share = share0 * ((1 + GROWTH_PER_YEAR) / 1.06) ** t_years
    size = ours["rev"].clip(lower=1000.0) / share * rng.lognormal(0, 0.03, len(ours))
    comp_share = {
        "Enterprise": [0.34, 0.16, 0.12, 0.10, 0.08],
        "Mid-Market": [0.12, 0.24, 0.20, 0.14, 0.10],
        "SMB": [0.06, 0.12, 0.22, 0.16, 0.18],
    }
    rows = []
    for i, r in ours.iterrows():
        rest = size[i] - max(r["rev"], 0.0)
        for j, comp in enumerate(COMPETITORS):
            v = rest * comp_share[r["segment"]][j] * rng.lognormal(0, 0.05)
            rows.append(
                (
                    r["period"],
                    r["region"],
                    r["country"],
                    r["segment"],
                    round(size[i], -2),
                    comp,
                    round(v, -2),
                )
            )
    return pd.DataFrame(rows, columns=TABLES["market"].column_names)


def _top10_share(con, period) -> float:
    return float(
        con.execute(
            "WITH c AS (SELECT customer_id, sum(net_amount) AS rev FROM orders "
            "WHERE order_date >= ? AND order_date < ? GROUP BY customer_id) "
            "SELECT (SELECT sum(rev) FROM (SELECT rev FROM c ORDER BY rev DESC, customer_id LIMIT 10))"
            " / sum(rev) FROM c",
            [period.start, period.end],
        ).fetchone()[0]
    )


def _breaches(opps: pd.DataFrame, reps: pd.DataFrame, period) -> list[str]:
    o = opps.merge(reps[["rep_id", "role"]], on="rep_id")
    auth = o["role"].map(DEFAULT_DISCOUNT_AUTHORITY)
    close = pd.to_datetime(o["close_date"])
    m = (
        (o["status"] == "won")
        & (o["discount"] > auth)
        & (close >= pd.Timestamp(period.start))
        & (close < pd.Timestamp(period.end))
    )
    return sorted(o.loc[m, "opportunity_id"].tolist())


def _truths(
    cal: _Calendar, top10: float, breach_ids: list[str], styles: dict[str, str]
) -> list[dict]:
    def t(name, study, key, value, tol):
        return {"name": name, "study": study, "key": key, "value": value, "tolerance": tol}

    return [
        t("seasonal_peak_month", "targets", "peak_month", PEAK_MONTH, 0),
        t("yearly_growth", "targets", "yoy_growth", GROWTH_PER_YEAR, 0.03),
        t("channel_overtake", "channels", "overtake_quarter", cal.overtake_quarter, None),
        t("channel_overtaker", "channels", "overtake_channel", "Online", None),
        t("channel_overtaken", "channels", "overtaken_channel", "Retail", None),
        t("bottleneck_stage", "funnel", "bottleneck_stage", "Proposal", None),
        t("dominant_competitor", "market", "dominant_competitor", "Northwind", None),
        t(
            "dominant_competitor_segment",
            "market",
            "dominant_competitor_segment",
            "Enterprise",
            None,
        ),
        t("price_elasticity", "market", "price_elasticity", ELASTICITY, 0.3),
        t("training_uplift", "experiments", "training_uplift_pct", TRAINING_UPLIFT, 0.05),
        t("pilot_uplift", "experiments", "pilot_win_rate_uplift", PILOT_UPLIFT, 0.04),
        t(
            "negotiation_discount_programme",
            "experiments",
            "training_programme_discount",
            NEGOTIATION_PROGRAM,
            None,
        ),
        t(
            "negotiation_discount_cut",
            "experiments",
            "training_effect_discount",
            -NEGOTIATION_DISCOUNT_CUT,
            0.05,
        ),
        t("top10_share", "customers", "top10_share", round(top10, 6), 0.005),
        {
            **t("discount_breaches", "performance", "discount_breaches", len(breach_ids), 0),
            "ids": breach_ids,
        },
        t(
            "sandbagger_reps",
            "deals",
            "sandbagger_reps",
            ", ".join(sorted(r for r, v in styles.items() if v == "sandbagger")),
            None,
        ),
        t(
            "over_promiser_reps",
            "deals",
            "over_promiser_reps",
            ", ".join(sorted(r for r, v in styles.items() if v == "over-promiser")),
            None,
        ),
        *green_truths(),
    ]


def _experiments(cal: _Calendar, reps: pd.DataFrame) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The ``trainings`` and ``pilots`` tables: who was trained in what (the "Negotiation"
    attendees after the first programme's rows), and the pilot's two groups."""
    trained = reps[reps["trained"]]
    trainings = pd.DataFrame(
        {
            "rep_id": trained["rep_id"],
            "program": TRAINING_PROGRAM,
            "date": np.datetime64(cal.training_day, "D"),
        }
    )
    if "negotiation" in reps.columns:
        took = reps[reps["negotiation"]]
        trainings = pd.concat(
            [
                trainings,
                pd.DataFrame(
                    {
                        "rep_id": took["rep_id"],
                        "program": NEGOTIATION_PROGRAM,
                        "date": np.datetime64(cal.negotiation_day, "D"),
                    }
                ),
            ],
            ignore_index=True,
        )
    pilots = pd.DataFrame(
        {
            "pilot": PILOT_NAME,
            "unit_type": "rep",
            "unit_id": reps["rep_id"],
            "group": np.where(reps["pilot"], "pilot", "control"),
            "start_date": np.datetime64(cal.pilot_day, "D"),
            "end_date": pd.NaT,
        }
    )
    return trainings, pilots


def build(
    out: Path | str = "data/demo.duckdb",
    seed: int = 42,
    orders: int = 1_000_000,
    end: str = "2026-09-30",
    chunk_lines: int = CHUNK_LINES,
) -> dict:
    """Write the demo warehouse to ``out`` and ``truths.json`` beside it; return a summary.

    The warehouse is written to a temporary file in the same folder and moved into
    place only when complete, so a reader never sees half a warehouse.

    Example (200,000 order lines, a few seconds)::

        build("/tmp/demo/demo.duckdb", seed=7, orders=200_000)["rows"]["orders"]  # 200000
    """
    import duckdb

    from salesnb.sources.export import is_postgres_url

    if is_postgres_url(out):
        return _build_postgres(str(out), seed, orders, end, chunk_lines)
    if orders < 1000:
        raise ValueError("orders: the demo needs at least 1,000 order lines")
    t0 = time.perf_counter()
    out = Path(out)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(f".{out.name}.{os.getpid()}.tmp")
    for p in (tmp, tmp.with_name(tmp.name + ".wal")):
        p.unlink(missing_ok=True)
    cal = _Calendar(end)
    rngs = _sub_rngs(seed)
    reps = _reps(rngs["reps"], cal)
    reps["negotiation"] = _negotiators(rngs["trainings"], reps)
    customers = _customers(rngs["customers"], cal, reps)
    products = _products(rngs["products"], cal)
    opps, history = _opportunities(rngs["opportunities"], cal, reps, customers, products)
    gen, quota = one_business(rngs, cal, reps, customers, products, opps, orders)
    leads = _leads(rngs["leads"], cal, opps)
    tickets = _tickets(rngs["tickets"], cal, customers, products)
    surveys = _surveys(rngs["surveys"], cal, customers)
    trainings, pilots = _experiments(cal, reps)
    styles = _call_styles(rngs["forecast_calls"], reps)
    calls = _forecast_calls(rngs["forecast_calls"], cal, reps, opps, styles)
    con = duckdb.connect(str(tmp))
    try:
        con.execute("SET threads = 2")
        con.execute("SET enable_progress_bar = false")
        con.execute("SET memory_limit = '3GB'")
        con.execute("SET preserve_insertion_order = true")
        _create_tables(con)
        for name, df in (
            ("reps", reps),
            ("customers", customers),
            ("products", products),
            ("opportunities", opps),
            ("stage_history", history),
            ("leads", leads),
            ("tickets", tickets),
            ("surveys", surveys),
            ("trainings", trainings),
            ("pilots", pilots),
            ("forecast_calls", calls),
        ):
            _insert_frame(con, name, df)
        _write_orders(con, gen, quota, chunk_lines)
        _insert_frame(con, "targets", _targets(con, rngs["targets"], cal, reps))
        _insert_frame(con, "market", _market(con, rngs["market"], cal))
        period = cal.default_period
        top10 = _top10_share(con, period)
        breach_ids = _breaches(opps, reps, period)
        rows = {t: con.execute(f"SELECT count(*) FROM {_q(t)}").fetchone()[0] for t in TABLES}
        con.execute("CHECKPOINT")
    finally:
        con.close()
    os.replace(tmp, out)
    truths = _truths(cal, top10, breach_ids, styles)
    tmp_truths = out.parent / f".truths.json.{os.getpid()}.tmp"
    tmp_truths.write_text(json.dumps(truths, indent=2, ensure_ascii=False), encoding="utf-8")
    os.replace(tmp_truths, out.parent / "truths.json")
    return {
        "path": str(out),
        "truths": str(out.parent / "truths.json"),
        "seed": seed,
        "period": period.label,
        "rows": rows,
        "seconds": round(time.perf_counter() - t0, 2),
    }


def _build_postgres(url: str, seed: int, orders: int, end: str, chunk_lines: int) -> dict:
    """The demo written to a PostgreSQL database: built as a DuckDB file in a temporary
    folder, then copied in one transaction (:func:`salesnb.sources.export.to_postgres`).
    The truths are in the summary (there is no folder beside a database to hold them)."""
    import shutil
    import tempfile

    from salesnb.sources.connection import public_url
    from salesnb.sources.export import to_postgres

    t0 = time.perf_counter()
    tmp = Path(tempfile.mkdtemp(prefix="salesnb-demo-"))
    try:
        summary = build(tmp / "demo.duckdb", seed, orders, end, chunk_lines)
        to_postgres(tmp / "demo.duckdb", url)
        truths = json.loads((tmp / "truths.json").read_text(encoding="utf-8"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)
    return {
        **summary,
        "path": public_url(url),
        "truths": truths,
        "seconds": round(time.perf_counter() - t0, 2),
    }
