"""Accuracy of the target-setting forecaster against seasonal naive and ETS, same run.

Real monthly series, all offline:
- Superstore (shared data): monthly sales in total, per category, region and segment (48 months);
- statsmodels datasets: euro-area electrical equipment orders (elec_equip, monthly),
  Mauna Loa CO2 (weekly, averaged to months), El Nino sea temperatures (monthly).

For every series, rolling origins (training >= 24 months) forecast 1..18 months ahead with
``salesnb.metrics.forecast.forecast_next`` (backtest-chosen model: the forecaster the targets study
uses), plain seasonal naive and plain ETS. sMAPE is averaged per horizon over all series and
origins where that horizon is observed, then over horizons 1-18. Prints the ratios
``ratio_vs_snaive`` and ``ratio_vs_ets`` (below 1 = the forecaster is more accurate).

Run: ``.venv/bin/python benchmarks/forecast_accuracy.py [--quick]``
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from salesnb import config  # noqa: E402
from salesnb.metrics import forecast as F  # noqa: E402

H = 18
MIN_TRAIN = 24
MAX_TRAIN = 120  # a sales department forecasts from its last ten years at most


def superstore_series() -> dict[str, pd.Series]:
    path = config.shared_data_dir() / "superstore" / "superstore_orders.csv"
    if not path.exists():
        print(f"(superstore not found at {path}; skipped)")
        return {}
    df = pd.read_csv(path, usecols=["Order Date", "Sales", "Category", "Region", "Segment"])
    df["month"] = pd.to_datetime(df["Order Date"]).dt.to_period("M").dt.to_timestamp()
    out = {
        "superstore/total": F.monthly_series(
            df.groupby("month", as_index=False)["Sales"].sum(), value_col="Sales"
        )
    }
    for dim in ("Category", "Region", "Segment"):
        for name, g in df.groupby(dim):
            out[f"superstore/{dim.lower()}={name}"] = F.monthly_series(
                g.groupby("month", as_index=False)["Sales"].sum(), value_col="Sales"
            )
    return out


def statsmodels_series() -> dict[str, pd.Series]:
    from statsmodels.datasets import co2, elec_equip, elnino

    out = {}
    e = elec_equip.load().data.iloc[:, 0]
    out["elec_equip"] = pd.Series(
        e.to_numpy(), pd.date_range(e.index[0], periods=len(e), freq="MS")
    )
    c = co2.load().data["co2"].resample("MS").mean().interpolate()
    out["co2"] = c.asfreq("MS")
    n = elnino.load().data
    vals = n.drop(columns="YEAR").to_numpy().ravel()
    out["elnino"] = pd.Series(
        vals, pd.date_range(f"{int(n.YEAR.iloc[0])}-01-01", periods=len(vals), freq="MS")
    )
    return out


def origins_for(n: int, quick: bool) -> list[int]:
    if n <= 60:  # short business series: every third month from two years on
        return list(range(MIN_TRAIN, n - 2, 3 if not quick else 6))
    k = 4 if quick else 8  # long series: the last k origins, 6 months apart, full horizon
    return [n - H - 6 * i for i in range(k)][::-1]


def main(quick: bool = False) -> None:
    series = {**superstore_series(), **statsmodels_series()}
    rows = []
    picks: dict[str, int] = {}
    t0 = time.perf_counter()
    for name, y in series.items():
        for cut in origins_for(len(y), quick):
            train = y.iloc[max(0, cut - MAX_TRAIN) : cut]
            actual = y.iloc[cut : cut + H].to_numpy()
            h = len(actual)
            # the forecaster = forecast_next: the backtest-chosen model's forecast; the
            # candidates come from the same fit so snaive / ETS / combo cost nothing extra
            chosen = F.choose_model(F.rolling_backtest(train, H))
            models = F.forecast_models(train, H)
            fc = {
                "forecaster": models[chosen].to_numpy()[:h],
                "snaive": models["snaive"].to_numpy()[:h],
                "ets": models["ets"].to_numpy()[:h],
                "combo": models["combo"].to_numpy()[:h],
            }
            picks[chosen] = picks.get(chosen, 0) + 1
            for model, f in fc.items():
                for k in range(h):
                    rows.append((name, cut, k + 1, model, F.smape(actual[k : k + 1], f[k : k + 1])))
    res = pd.DataFrame(rows, columns=["series", "origin", "horizon", "model", "smape"])
    per_h = res.pivot_table(index="horizon", columns="model", values="smape", aggfunc="mean")
    per_series = res.pivot_table(index="series", columns="model", values="smape", aggfunc="mean")
    pd.set_option("display.width", 140)
    print(
        f"{len(series)} series, {res.groupby(['series', 'origin']).ngroups} origins, "
        f"{time.perf_counter() - t0:.0f}s"
    )
    print("\nsMAPE per series (mean over origins and horizons):")
    print(per_series.round(4).to_string())
    print("\nsMAPE per horizon (mean over series and origins):")
    print(per_h.round(4).to_string())
    overall = per_h.mean()
    print(
        "\noverall sMAPE (mean over horizons 1-18): "
        + ", ".join(f"{m}={overall[m]:.4f}" for m in ("forecaster", "snaive", "ets"))
    )
    print(f"ratio_vs_snaive={overall['forecaster'] / overall['snaive']:.3f}")
    print(f"ratio_vs_ets={overall['forecaster'] / overall['ets']:.3f}")
    print(f"combination alone: ratio_vs_snaive={overall['combo'] / overall['snaive']:.3f}")
    print(
        "models chosen by the backtest: " + ", ".join(f"{k}={v}" for k, v in sorted(picks.items()))
    )
    wins = (per_series["forecaster"] < per_series["snaive"]).sum()
    print(f"series where the forecaster beats seasonal naive: {wins}/{len(per_series)}")


if __name__ == "__main__":
    main(quick="--quick" in sys.argv)
