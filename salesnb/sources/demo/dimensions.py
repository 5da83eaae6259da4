"""The demo's reps, customers and products (with the generator-only columns other tables use)."""

from __future__ import annotations

import numpy as np
import pandas as pd

from salesnb.sources.demo.common import (
    CATEGORIES,
    COUNTRIES,
    INDUSTRIES,
    REGION_COUNTRIES,
    REGION_SHARE,
    REGIONS,
    SEGMENTS,
    _Calendar,
)

_FIRST = (
    "Ava",
    "Ben",
    "Chloe",
    "Daniel",
    "Emma",
    "Felix",
    "Grace",
    "Hugo",
    "Isla",
    "Jack",
    "Kara",
    "Liam",
    "Maya",
    "Noah",
    "Olivia",
    "Paul",
    "Quinn",
    "Rosa",
    "Sam",
    "Tara",
    "Umar",
    "Vera",
    "Wei",
    "Xenia",
    "Yusuf",
    "Zoe",
    "Lena",
    "Marco",
    "Priya",
    "Diego",
)
_LAST = (
    "Anders",
    "Baker",
    "Chen",
    "Diaz",
    "Evans",
    "Fischer",
    "Garcia",
    "Hughes",
    "Ito",
    "Johnson",
    "Kim",
    "Lopez",
    "Martin",
    "Nguyen",
    "Okafor",
    "Patel",
    "Quint",
    "Rossi",
    "Smith",
    "Tanaka",
    "Usman",
    "Varga",
    "Wang",
    "Young",
    "Zhang",
)
_CO_A = (
    "Blue",
    "North",
    "Silver",
    "Bright",
    "Summit",
    "Cedar",
    "Harbor",
    "Iron",
    "Pioneer",
    "Golden",
    "Rapid",
    "Clear",
    "Prime",
    "Atlas",
    "Maple",
    "Vertex",
    "Oak",
    "Lumen",
)
_CO_B = (
    "River",
    "Peak",
    "Bridge",
    "Field",
    "Stone",
    "Wave",
    "Point",
    "Gate",
    "Ridge",
    "Works",
    "Line",
    "Path",
    "Forge",
    "Valley",
    "Crest",
    "Bay",
)
_CO_C = ("Inc", "LLC", "Corp", "Group", "Partners", "Co", "Ltd", "Holdings")
_CN_A = ("华东", "江南", "长城", "东方", "华夏", "金桥", "新华", "海天", "中联", "远航")
_CN_B = ("贸易", "科技", "制造", "物流", "电子", "实业", "商贸")


def _reps(rng: np.random.Generator, cal: _Calendar) -> pd.DataFrame:
    rows = []
    n = 0
    team_sizes = [8, 7, 8, 7, 8, 7, 8, 7]
    for t, size in enumerate(team_sizes):
        region = REGIONS[t // 2]
        team = f"{region} {'AB'[t % 2]}"
        manager_id = None
        for k in range(size):
            n += 1
            rep_id = f"R{n:03d}"
            role = "manager" if k == 0 else ("senior" if k <= 2 else "rep")
            if k == 0:
                manager_id = rep_id
            rows.append((rep_id, team, region, None if k == 0 else manager_id, role))
    df = pd.DataFrame(rows, columns=["rep_id", "team", "region", "manager_id", "role"])
    first = rng.integers(0, len(_FIRST), len(df))
    last = rng.integers(0, len(_LAST), len(df))
    df.insert(1, "name", [f"{_FIRST[a]} {_LAST[b]}" for a, b in zip(first, last, strict=True)])
    hire = cal.start - rng.integers(60, 3000, len(df))
    df.insert(5, "hire_date", hire.astype("datetime64[D]"))
    base = rng.lognormal(0.0, 0.25, len(df))
    role_w = df["role"].map({"manager": 0.5, "senior": 1.3, "rep": 1.0}).to_numpy()
    df["weight"] = base * role_w
    # Half of the reps, chosen at random, get the training; an independent random half
    # goes into the pilot group.
    trained = np.zeros(len(df), bool)
    trained[rng.permutation(len(df))[: len(df) // 2]] = True
    df["trained"] = trained
    pilot = np.zeros(len(df), bool)
    pilot[rng.permutation(len(df))[: len(df) // 2]] = True
    df["pilot"] = pilot
    return df


def _customers(
    rng: np.random.Generator, cal: _Calendar, reps: pd.DataFrame, n: int = 20_000
) -> pd.DataFrame:
    seg = rng.choice(3, n, p=[0.10, 0.30, 0.60])
    region = rng.choice(4, n, p=REGION_SHARE)
    country = np.zeros(n, np.int64)
    for r, name in enumerate(REGIONS):
        opts = REGION_COUNTRIES[name]
        idx = np.flatnonzero(region == r)
        codes = [COUNTRIES.index(c) for c in opts]
        country[idx] = rng.choice(codes, len(idx), p=list(opts.values()))
    a = rng.integers(0, len(_CO_A), n)
    b = rng.integers(0, len(_CO_B), n)
    c = rng.integers(0, len(_CO_C), n)
    ca = rng.integers(0, len(_CN_A), n)
    cb = rng.integers(0, len(_CN_B), n)
    cn = COUNTRIES.index("China")
    names = [
        f"{_CN_A[ca[i]]}{_CN_B[cb[i]]}有限公司"
        if country[i] == cn
        else f"{_CO_A[a[i]]} {_CO_B[b[i]]} {_CO_C[c[i]]}"
        for i in range(n)
    ]
    industry = rng.integers(0, len(INDUSTRIES), n)
    # A little over half were customers before the demo starts; the rest arrive over it.
    before = rng.random(n) < 0.55
    created = np.where(
        before,
        cal.start - rng.integers(1, 4 * 365, n),
        rng.integers(cal.start, cal.end - 30, n),
    )
    lifetime = rng.exponential(6 * 365, n)
    churn = created + lifetime.astype(np.int64) + 90
    weight = rng.lognormal(0.0, 1.0, n) * np.array([6.0, 2.5, 1.0])[seg]
    # Whales: six old Enterprise accounts that never churn and buy a lot.
    ent = np.flatnonzero((seg == 0) & before)
    whales = ent[rng.permutation(len(ent))[:6]]
    weight[whales] = np.array([700.0, 560.0, 470.0, 400.0, 330.0, 280.0])
    churn[whales] = cal.end + 10_000
    owner = np.empty(n, dtype=object)
    sellers = reps[reps["role"] != "manager"]
    for r, name in enumerate(REGIONS):
        idx = np.flatnonzero(region == r)
        ids = sellers.loc[sellers["region"] == name, "rep_id"].to_numpy()
        owner[idx] = ids[rng.integers(0, len(ids), len(idx))]
    return pd.DataFrame(
        {
            "customer_id": [f"C{i + 1:05d}" for i in range(n)],
            "name": names,
            "segment": np.array(SEGMENTS)[seg],
            "industry": np.array(INDUSTRIES)[industry],
            "region": np.array(REGIONS)[region],
            "country": np.array(COUNTRIES)[country],
            "created_date": created.astype("datetime64[D]"),
            "owner_rep_id": owner.astype(str),
            # generator-only columns
            "seg": seg,
            "reg": region,
            "ctry": country,
            "created": created,
            "churn": churn,
            "weight": weight,
            "whale": np.isin(np.arange(n), whales),
        }
    )


# Kg CO2e per unit sold, per category (CATEGORIES' order), and a green product's fraction of it.
CO2_KG_PER_UNIT = np.array([120.0, 2.0, 15.0, 4.0, 1.5, 60.0])
GREEN_CO2_FACTOR = 0.4


def _products(rng: np.random.Generator, cal: _Calendar, n: int = 200) -> pd.DataFrame:
    cat = np.arange(n) % len(CATEGORIES)
    cat_price = np.array([900.0, 400.0, 1500.0, 45.0, 18.0, 650.0])
    list_price = np.round(cat_price[cat] * rng.lognormal(0.0, 0.45, n), 2)
    unit_cost = np.round(list_price * rng.uniform(0.35, 0.7, n), 2)
    # Bulk items sell in larger quantities; lambda >= 5 keeps zero draws rare.
    lam = np.array([6.0, 8.0, 5.0, 20.0, 30.0, 7.0])[cat] * rng.uniform(0.8, 1.3, n)
    launched_late = rng.random(n) < 0.10
    launch = np.where(
        launched_late,
        rng.integers(cal.start, cal.end - 120, n),
        cal.start - rng.integers(100, 2500, n),
    )
    popularity = rng.lognormal(0.0, 0.7, n) * np.where(launched_late, 0.5, 1.0)
    is_green = rng.random(n) < 0.2
    # Emissions per unit sold (kg CO2e), no random draw: the category's footprint scaled with
    # the price within it; a green product emits GREEN_CO2_FACTOR of a non-green one's.
    co2 = CO2_KG_PER_UNIT[cat] * np.sqrt(list_price / cat_price[cat])
    co2 = np.round(co2 * np.where(is_green, GREEN_CO2_FACTOR, 1.0), 2)
    return pd.DataFrame(
        {
            "product_id": [f"P{i + 1:04d}" for i in range(n)],
            "name": [f"{CATEGORIES[c]} {chr(65 + i % 26)}{100 + i}" for i, c in enumerate(cat)],
            "category": np.array(CATEGORIES)[cat],
            "list_price": list_price,
            "unit_cost": unit_cost,
            "launch_date": launch.astype("datetime64[D]"),
            "is_green": is_green,
            "co2_kg_per_unit": co2,
            "lam": lam,
            "launch": launch,
            "popularity": popularity,
        }
    )
