"""Commission plans, payout statements and what-if simulation of incentive cost.

A plan is declared in YAML (``salesnb/plans/<name>.yaml``) and read with
:func:`load_plan` — the one function here that reads a file (a configuration
file, never data). Everything else is pure: pandas in, pandas out.

The payout formula, per rep and period (reproducible by hand)
----------------------------------------------------------------
Inputs per rep: ``S`` = sales (net_amount of the period's non-return lines),
``R`` = returns (minus net_amount of the period's return lines, a positive
number), ``T`` = the rep's target for the period (may be missing).

1. Attainment for the plan ``a = S / T`` (gross sales, because returns are
   settled by the clawback in step 3, not by lowering the tier).
2. Commission ``C``: marginal bands like a tax table. The plan's ``base_rate``
   applies to attainment from 0 to the first tier's ``from``; each tier's
   ``rate`` applies from its ``from`` up to the next tier's ``from``; tiers
   starting at or above 1.0 are the accelerators. Nothing is earned on
   attainment beyond ``cap_attainment``::

       C = T * sum_k rate_k * max(0, min(a, upper_k, cap_attainment) - lower_k)

   A rep with no target (missing or <= 0) earns ``base_rate * S``: no tiers,
   no accelerators (there is nothing to attain).
3. Clawback ``K = r * R`` with the rep's effective rate this period
   ``r = C / S`` (``base_rate`` when ``S`` is 0): returned revenue gives back
   commission at the rate it earned. ``K`` is 0 when ``clawback`` is false.
4. Spiffs ``P``: for each spiff and rep, over the rep's lines of the spiff's
   ``category`` (or ``product_id``):
   ``max(0, per_unit * (units sold - units returned) + pct_of_revenue * (sales - returns))``.
5. ``due = C - K + P``, then ``min(due, cap_amount)`` when the plan has a
   ``cap_amount``. The payout is ``max(0, due)``; a negative ``due`` (a
   clawback larger than the period's commission) is paid 0 and reported as
   ``carry_forward`` (negative: owed back, deducted next period).

Example: T = 100,000, S = 120,000, R = 6,000 under the standard plan
(3 % to 50 %, 5 % to 100 %, 8 % above): C = 0.03*50,000 + 0.05*50,000 +
0.08*20,000 = 5,600; r = 5,600/120,000; K = 280; payout = 5,320 (+ spiffs).

What-if simulation
------------------
:func:`simulate_payouts` draws each rep's period sales as the current sales
times a mean-one lognormal multiplier ``exp(N(-s^2/2, s))``, where ``s`` is
the spread of rep quarterly attainment history (:func:`attainment_spread`:
the pooled standard deviation of log attainment around each rep's own mean),
independently across reps. Returns and spiffs scale with sales. The plan's
formula is applied vectorised to every draw; the generator is seeded so a run
is reproducible. The Gini coefficient (0 = everyone paid the same, 1 = one
rep takes all) is written by hand (a few numpy lines, sorted-rank formula)
because neither scipy nor statsmodels ships one.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import pandas as pd
from pydantic import AfterValidator, ConfigDict, Field, model_validator

from salesnb import configfile
from salesnb.configfile import FieldError, Strict
from salesnb.errors import InputError
from salesnb.formatting import money
from salesnb.i18n import _, language
from salesnb.metrics import require_columns

PLANS_DIR = Path(__file__).resolve().parent.parent / "plans"


@dataclass(frozen=True)
class Tier:
    start: float  # attainment where this band begins (1.0 = 100 % of target)
    rate: float


@dataclass(frozen=True)
class Spiff:
    per_unit: float = 0.0
    pct_of_revenue: float = 0.0
    category: str | None = None
    product_id: str | None = None

    @property
    def label(self) -> str:
        what = (
            _("category {category}").format(category=self.category)
            if self.category
            else _("product {product}").format(product=self.product_id)
        )
        parts = []
        if self.per_unit:
            parts.append(_("{amount} per unit").format(amount=f"{self.per_unit:g}"))
        if self.pct_of_revenue:
            parts.append(_("{pct} of revenue").format(pct=f"{self.pct_of_revenue:.1%}"))
        return _("{what}: {parts}").format(what=what, parts=" + ".join(parts))


@dataclass(frozen=True)
class Plan:
    name: str
    base_rate: float
    tiers: tuple[Tier, ...] = ()
    cap_attainment: float | None = None
    cap_amount: float | None = None
    clawback: bool = True
    spiffs: tuple[Spiff, ...] = ()
    description: str = ""

    def bands(self) -> list[tuple[float, float, float]]:
        """(lower, upper, rate) attainment bands, the last one ending at the cap (or inf)."""
        starts = [0.0] + [t.start for t in self.tiers]
        rates = [self.base_rate] + [t.rate for t in self.tiers]
        cap = self.cap_attainment if self.cap_attainment is not None else np.inf
        uppers = starts[1:] + [np.inf]
        return [
            (lo, min(up, cap), r)
            for lo, up, r in zip(starts, uppers, rates, strict=True)
            if lo < cap
        ]

    def describe(self) -> str:
        base = f"{self.base_rate:.1%}"
        parts = [
            _("{rate} up to {start}").format(rate=base, start=f"{self.tiers[0].start:.0%}")
            if self.tiers
            else _("{rate} flat").format(rate=base)
        ]
        for i, t in enumerate(self.tiers):
            rate, start = f"{t.rate:.1%}", f"{t.start:.0%}"
            parts.append(
                _("{rate} from {start} to {end}").format(
                    rate=rate, start=start, end=f"{self.tiers[i + 1].start:.0%}"
                )
                if i + 1 < len(self.tiers)
                else _("{rate} from {start}").format(rate=rate, start=start)
            )
        if self.cap_attainment is not None:
            parts.append(_("nothing beyond {cap}").format(cap=f"{self.cap_attainment:.0%}"))
        if self.cap_amount is not None:
            parts.append(_("payout capped at {cap}").format(cap=money(self.cap_amount)))
        if self.clawback:
            parts.append(_("returns clawed back"))
        parts += [_("spiff {spiff}").format(spiff=s.label) for s in self.spiffs]
        sep = "; " if language() == "en" else "；"
        return _("**{plan}**: {terms}").format(plan=self.name, terms=sep.join(parts))


def _rate(v: float) -> float:
    if not 0 <= v <= 1:
        raise ValueError(f"must be a fraction of revenue between 0 and 1 (0.05 is 5 %), got {v:g}")
    return v


Rate = Annotated[float, AfterValidator(_rate)]


class _TierFile(Strict):
    start: float = Field(alias="from", gt=0)  # attainment where the band begins (1.0 = 100 %)
    rate: Rate


class _SpiffFile(Strict):
    model_config = ConfigDict(coerce_numbers_to_str=True)  # product_id: 1001 is an id

    category: str | None = None
    product_id: str | None = None
    per_unit: float | None = Field(None, ge=0)
    pct_of_revenue: Rate | None = None

    @model_validator(mode="after")
    def _says_what_it_pays_on(self):
        if not (self.category or self.product_id):
            raise ValueError("a spiff needs 'category' or 'product_id'")
        return self


class PlanFile(Strict):
    """A commission plan as written in YAML (``salesnb/plans/*.yaml``; the keys and the
    formula: this module's docstring). Tiers are listed by increasing ``from``."""

    model_config = ConfigDict(coerce_numbers_to_str=True)

    name: str = "plan"
    description: str | None = None
    base_rate: Rate
    tiers: list[_TierFile] | None = None
    cap_attainment: float | None = Field(None, gt=0)
    cap_amount: float | None = Field(None, ge=0)
    clawback: bool = True
    spiffs: list[_SpiffFile] | None = None

    @model_validator(mode="after")
    def _tiers_in_order(self):
        tiers = self.tiers or []
        for i in range(1, len(tiers)):
            if tiers[i].start <= tiers[i - 1].start:
                raise FieldError(
                    ("tiers", i, "from"),
                    f"{tiers[i].start:g} is not above the tier before it "
                    f"({tiers[i - 1].start:g}): list the tiers by increasing 'from'",
                )
        return self

    def plan(self) -> Plan:
        return Plan(
            name=self.name,
            base_rate=self.base_rate,
            tiers=tuple(Tier(t.start, t.rate) for t in self.tiers or ()),
            cap_attainment=self.cap_attainment,
            cap_amount=self.cap_amount,
            clawback=self.clawback,
            spiffs=tuple(
                Spiff(s.per_unit or 0.0, s.pct_of_revenue or 0.0, s.category, s.product_id)
                for s in self.spiffs or ()
            ),
            description=self.description or "",
        )


def plan_from_dict(d: dict) -> Plan:
    """Build a :class:`Plan` from a YAML-shaped dict; an InputError names the bad field.

    >>> plan_from_dict({"name": "x", "base_rate": 0.05, "tiers": [{"from": 1.0, "rate": -0.1}]})
    Traceback (most recent call last):
    ...
    salesnb.errors.InputError: commission plan 'x': tiers[0].rate: must be a fraction of revenue between 0 and 1 (0.05 is 5 %), got -0.1
    """
    where = f"commission plan {str(d.get('name', '?')) if isinstance(d, dict) else '?'!r}"
    return configfile.validate(d, PlanFile, where, {}).plan()


def load_plan(name_or_path: str | Path) -> Plan:
    """Read a plan: a name in ``salesnb/plans/`` (``"standard"``) or a path to a YAML file.

    A mistake stops with one line naming the file, the line and the field
    (:mod:`salesnb.configfile`), e.g. ``my-plan.yaml, line 7: tiers[1].from: ...``.
    """
    p = Path(name_or_path)
    if not p.suffix:
        p = PLANS_DIR / f"{name_or_path}.yaml"
    if not p.exists():
        known = ", ".join(sorted(x.stem for x in PLANS_DIR.glob("*.yaml")))
        raise InputError(f"commission plan {str(name_or_path)!r} not found; known plans: {known}")
    return configfile.load(p, PlanFile, what="commission plan").plan()


def tiered_commission(sales, target, plan: Plan) -> np.ndarray:
    """Commission ``C`` of step 2 for arrays of sales and targets (broadcasting; vectorised).

    >>> p = Plan("p", 0.03, (Tier(0.5, 0.05), Tier(1.0, 0.08)), cap_attainment=2.0)
    >>> float(tiered_commission(120_000, 100_000, p))
    5600.0
    """
    sales = np.asarray(sales, dtype="float64")
    target = np.asarray(target, dtype="float64")
    has_target = np.isfinite(target) & (target > 0)
    safe_t = np.where(has_target, target, 1.0)
    att = np.where(has_target, sales / safe_t, 0.0)
    tiered = np.zeros(np.broadcast(sales, target).shape)
    for lo, up, rate in plan.bands():
        tiered = tiered + rate * safe_t * np.clip(np.minimum(att, up) - lo, 0.0, None)
    return np.where(has_target, tiered, plan.base_rate * np.clip(sales, 0.0, None))


def spiff_amounts(lines: pd.DataFrame, plan: Plan) -> pd.DataFrame:
    """Spiffs per rep (step 4). ``lines``: rep_id, product_id, category, sales, returns,
    units_sold, units_returned. Returns rep_id, spiffs."""
    require_columns(
        lines, ["rep_id", "sales", "returns", "units_sold", "units_returned"], "commission lines"
    )
    reps = pd.Index(lines["rep_id"].unique(), name="rep_id")
    total = pd.Series(0.0, index=reps)
    for s in plan.spiffs:
        if s.category is not None:
            col = (
                lines["category"]
                if "category" in lines.columns
                else pd.Series(pd.NA, index=lines.index)
            )
            match = col.astype("str") == str(s.category)
        else:
            match = lines["product_id"].astype("str") == str(s.product_id)
        sub = lines[match.fillna(False).to_numpy(dtype=bool)]
        g = sub.groupby("rep_id")[["sales", "returns", "units_sold", "units_returned"]].sum()
        amount = (
            s.per_unit * (g["units_sold"] - g["units_returned"])
            + s.pct_of_revenue * (g["sales"] - g["returns"])
        ).clip(lower=0.0)
        total = total.add(amount, fill_value=0.0)
    return total.rename("spiffs").reset_index()


def payout_statement(
    lines: pd.DataFrame,
    targets: pd.DataFrame,
    plan: Plan,
    reps: pd.DataFrame | None = None,
    target_col: str = "target",
) -> pd.DataFrame:
    """One row per rep: the plan applied to the period (formula in the module docstring).

    ``lines``: rep_id, product_id, category, sales, returns, units_sold, units_returned
    (from ``queries.performance.commission_lines``); ``targets``: rep_id and ``target_col``;
    ``reps`` (optional): rep_id, name, ... — reps without sales still get a row.

    Returns rep_id, (name), target, sales, returns, attainment, commission, effective_rate,
    clawback, spiffs, due, payout, carry_forward. Payouts sum to the plan's total cost.

    >>> lines = pd.DataFrame({"rep_id": ["a"], "product_id": ["p"], "category": ["X"],
    ...     "sales": [120_000.0], "returns": [6_000.0], "units_sold": [10.0], "units_returned": [0.0]})
    >>> p = Plan("p", 0.03, (Tier(0.5, 0.05), Tier(1.0, 0.08)), cap_attainment=2.0)
    >>> payout_statement(lines, pd.DataFrame({"rep_id": ["a"], "target": [100_000.0]}), p)["payout"].item()
    5320.0
    """
    require_columns(
        lines, ["rep_id", "sales", "returns", "units_sold", "units_returned"], "commission lines"
    )
    require_columns(targets, ["rep_id", target_col], "targets")
    per = lines.groupby("rep_id", as_index=False)[["sales", "returns"]].sum()
    if reps is not None:
        require_columns(reps, ["rep_id"], "reps")
        keep = [c for c in ("rep_id", "name", "team") if c in reps.columns]
        per = reps[keep].merge(per, on="rep_id", how="outer")
    per[["sales", "returns"]] = per[["sales", "returns"]].fillna(0.0)
    t = targets[["rep_id", target_col]].rename(columns={target_col: "target"})
    out = per.merge(t, on="rep_id", how="left")
    out["attainment"] = out["sales"] / out["target"].where(out["target"] > 0)
    out["commission"] = tiered_commission(out["sales"], out["target"], plan)
    out["effective_rate"] = np.where(
        out["sales"] > 0, out["commission"] / out["sales"].where(out["sales"] > 0), plan.base_rate
    )
    out["clawback"] = out["effective_rate"] * out["returns"] if plan.clawback else 0.0
    out = out.merge(spiff_amounts(lines, plan), on="rep_id", how="left")
    out["spiffs"] = out["spiffs"].fillna(0.0)
    due = out["commission"] - out["clawback"] + out["spiffs"]
    if plan.cap_amount is not None:
        due = due.clip(upper=plan.cap_amount)
    out["due"] = due
    out["payout"] = due.clip(lower=0.0)
    out["carry_forward"] = due.clip(upper=0.0)
    return out.sort_values("rep_id").reset_index(drop=True)


def gini(values, axis: int = -1) -> np.ndarray | float:
    """Gini coefficient of non-negative amounts along ``axis`` (0 equal .. 1 concentrated).

    NaN when nothing is paid at all: an empty pot is neither equal nor unequal.

    >>> round(float(gini([1, 1, 1, 1])), 6), round(float(gini([0, 0, 0, 4])), 6)
    (0.0, 0.75)
    >>> bool(np.isnan(gini([0, 0, 0])))
    True
    """
    x = np.sort(np.clip(np.asarray(values, dtype="float64"), 0, None), axis=axis)
    n = x.shape[axis]
    ranks = np.arange(1, n + 1, dtype="float64")
    shape = [1] * x.ndim
    shape[axis] = n
    total = x.sum(axis=axis)
    weighted = (x * ranks.reshape(shape)).sum(axis=axis)
    with np.errstate(invalid="ignore", divide="ignore"):
        g = 2 * weighted / (n * total) - (n + 1) / n
    return np.where(total > 0, g, np.nan)


def attainment_spread(
    history: pd.DataFrame,
    rep_col: str = "rep_id",
    attainment_col: str = "attainment",
    default: float = 0.2,
    min_points: int = 6,
) -> float:
    """Spread ``s`` of rep quarterly attainment: pooled SD of log attainment around each rep's mean.

    ``history``: one row per rep and past quarter with a positive attainment. Falls back to
    ``default`` with fewer than ``min_points`` usable deviations.
    """
    require_columns(history, [rep_col, attainment_col], "attainment history")
    h = history[history[attainment_col] > 0]
    logs = np.log(h[attainment_col].astype("float64"))
    dev = logs - logs.groupby(h[rep_col]).transform("mean")
    counts = h.groupby(rep_col)[attainment_col].transform("size")
    dof = int(len(h) - h[rep_col].nunique())
    if dof < min_points or not (counts > 1).any():
        return float(default)
    return float(np.sqrt((dev**2).sum() / dof))


def simulate_payouts(
    statement: pd.DataFrame, plan: Plan, spread: float, n_sims: int = 10_000, seed: int = 42
) -> dict:
    """Monte Carlo of one plan's cost over the reps of a payout statement.

    Returns a dict: ``expected_payout``, ``p90_payout`` (90th percentile of the total),
    ``cost_of_sales_pct`` (expected payout / expected revenue; NaN when the revenue is not
    positive), ``gini`` (mean across draws of the Gini of rep payouts; NaN when no draw pays
    anyone), ``totals`` (array of simulated totals) and ``per_rep`` (frame: rep_id,
    expected_payout, p90_payout).
    """
    require_columns(
        statement, ["rep_id", "sales", "returns", "target", "spiffs"], "payout statement"
    )
    rng = np.random.default_rng(seed)
    n = len(statement)
    mult = np.exp(rng.normal(-0.5 * spread**2, spread, size=(n_sims, n)))
    sales = statement["sales"].to_numpy(dtype="float64") * mult
    returns = statement["returns"].to_numpy(dtype="float64") * mult
    target = statement["target"].to_numpy(dtype="float64")
    commission = tiered_commission(sales, target[None, :], plan)
    with np.errstate(invalid="ignore", divide="ignore"):
        rate = np.where(sales > 0, commission / np.where(sales > 0, sales, 1.0), plan.base_rate)
    clawback = rate * returns if plan.clawback else 0.0
    due = commission - clawback + statement["spiffs"].to_numpy(dtype="float64") * mult
    if plan.cap_amount is not None:
        due = np.minimum(due, plan.cap_amount)
    pay = np.clip(due, 0.0, None)
    totals = pay.sum(axis=1)
    revenue = (sales - returns).sum(axis=1)
    ginis = gini(pay, axis=1)
    return {
        "plan": plan.name,
        "expected_payout": float(totals.mean()),
        "p90_payout": float(np.quantile(totals, 0.9)),
        # a share of no (or negative) revenue is not computable: NaN, never a 0 or an inf
        "cost_of_sales_pct": float(totals.mean() / revenue.mean())
        if revenue.mean() > 0
        else float("nan"),
        # draws where nobody is paid have no Gini; NaN when no draw pays anyone
        "gini": float(np.mean(ginis[np.isfinite(ginis)])) if np.isfinite(ginis).any() else np.nan,
        "totals": totals,
        "per_rep": pd.DataFrame(
            {
                "rep_id": statement["rep_id"].to_numpy(),
                "expected_payout": pay.mean(axis=0),
                "p90_payout": np.quantile(pay, 0.9, axis=0),
            }
        ),
    }


def payout_markdown(
    plan: Plan, payout_total: float, revenue_total: float, currency: str = "USD"
) -> str:
    """The plan in words and what it pays in the period, as a share of net revenue when
    there is positive revenue to share (else "not computable" and why).

    >>> p = Plan("flat", 0.05)
    >>> print(payout_markdown(p, 500.0, 10_000.0))
    **flat**: 5.0% flat; returns clawed back
    <BLANKLINE>
    Total payout **500 USD** = **5.00%** of net revenue.
    >>> payout_markdown(p, 0.0, -2_000.0).splitlines()[-1]
    'Total payout **0 USD**; as a share of revenue not computable (net revenue is -2,000: returns exceed sales).'
    """
    head = plan.describe() + "\n\n"
    total = money(payout_total, currency)
    if revenue_total > 0:
        return head + _("Total payout **{total}** = **{share}** of net revenue.").format(
            total=total, share=f"{payout_total / revenue_total:.2%}"
        )
    why = (
        _("no net revenue")
        if revenue_total == 0
        else _("net revenue is {revenue}: returns exceed sales").format(
            revenue=money(revenue_total)
        )
    )
    return head + _(
        "Total payout **{total}**; as a share of revenue not computable ({why})."
    ).format(total=total, why=why)


def compare_plans(results: list[dict]) -> pd.DataFrame:
    """One row per simulated plan: plan, expected_payout, p90_payout, cost_of_sales_pct, gini."""
    cols = ["plan", "expected_payout", "p90_payout", "cost_of_sales_pct", "gini"]
    return pd.DataFrame([{k: r[k] for k in cols} for r in results], columns=cols)


__all__ = [
    "Plan",
    "Tier",
    "Spiff",
    "plan_from_dict",
    "load_plan",
    "tiered_commission",
    "spiff_amounts",
    "payout_statement",
    "gini",
    "attainment_spread",
    "simulate_payouts",
    "payout_markdown",
    "compare_plans",
]
