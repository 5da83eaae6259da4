"""The demo's support tickets and customer surveys."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.sources.demo.common import _Calendar, _existing_customers


def _tickets(
    rng, cal: _Calendar, customers: pd.DataFrame, products: pd.DataFrame, n: int = 12_000
) -> pd.DataFrame:
    opened = rng.integers(cal.start * 86400, (cal.end + 1) * 86400, n)
    opened.sort()
    cust = _existing_customers(
        rng, cal, customers, opened // 86400, customers["weight"].to_numpy() ** 0.5
    )
    prod = rng.integers(0, len(products), n)
    priorities = np.array(["Low", "Medium", "High", "Urgent"])
    pri = rng.choice(4, n, p=[0.4, 0.35, 0.2, 0.05])
    resp_h = rng.lognormal(np.log(np.array([24.0, 10.0, 4.0, 1.0])[pri]), 0.8)
    first = opened + (resp_h * 3600).astype(np.int64)
    res_h = resp_h + rng.lognormal(np.log(np.array([72.0, 48.0, 24.0, 8.0])[pri]), 0.9)
    resolved = opened + (res_h * 3600).astype(np.int64)
    end_s = (cal.end + 1) * 86400
    first_ts = pd.Series(first.astype("datetime64[s]")).where(first < end_s)
    resolved_ts = pd.Series(resolved.astype("datetime64[s]")).where(resolved < end_s)
    csat = np.clip(
        np.round(4.7 - 0.45 * np.log(res_h / 24.0).clip(0) + rng.normal(0, 0.7, n)), 1, 5
    )
    answered = (rng.random(n) < 0.55) & (resolved < end_s)
    cats = np.array(["Billing", "Delivery", "Defect", "Installation", "How-to"])
    return pd.DataFrame(
        {
            "ticket_id": [f"T{i + 1:06d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "product_id": products["product_id"].to_numpy()[prod],
            "opened_at": opened.astype("datetime64[s]"),
            "first_response_at": first_ts,
            "resolved_at": resolved_ts,
            "category": cats[rng.choice(5, n, p=[0.2, 0.25, 0.2, 0.15, 0.2])],
            "priority": priorities[pri],
            "csat": np.where(answered, csat, np.nan),
        }
    )


def _surveys(rng, cal: _Calendar, customers: pd.DataFrame, n: int = 8_000) -> pd.DataFrame:
    day = np.sort(rng.integers(cal.start, cal.end + 1, n))
    cust = _existing_customers(rng, cal, customers, day, customers["weight"].to_numpy() ** 0.5)
    seg = customers["seg"].to_numpy()[cust]
    latent = rng.normal(np.array([7.6, 7.2, 6.8])[seg], 2.0)
    nps = np.clip(np.round(latent), 0, 10)
    csat = np.clip(np.round(1 + latent / 2.5 + rng.normal(0, 0.5, n)), 1, 5)
    touch = np.array(["Purchase", "Support", "Onboarding", "Renewal"])[rng.choice(4, n)]
    en = np.array(
        [
            "",
            "Great service",
            "Delivery was late",
            "Too expensive",
            "Helpful account manager",
            "Product works as promised",
        ]
    )
    cn_comments = np.array(["", "服务很好", "交货太慢", "价格偏高"])
    is_cn = customers["country"].to_numpy()[cust] == "China"
    comment = np.where(is_cn, cn_comments[rng.integers(0, 4, n)], en[rng.integers(0, 6, n)])
    return pd.DataFrame(
        {
            "response_id": [f"S{i + 1:06d}" for i in range(n)],
            "customer_id": customers["customer_id"].to_numpy()[cust],
            "date": day.astype("datetime64[D]"),
            "nps": nps,
            "csat": csat,
            "touchpoint": touch,
            "comment": pd.Series(np.where(comment == "", None, comment), dtype="str"),
        }
    )
