"""The demo company: a deterministic sales department with known truths planted in it.

``build(out, seed, orders, end)`` writes an embedded DuckDB warehouse holding every
table of :data:`salesnb.model.schema.TABLES` (canonical column names and types) and a
``truths.json`` beside it: the planted facts of ``docs/TRUTHS.md`` that the studies
must recover. Same seed and size, same table contents: every random draw comes from
a numpy ``Generator`` seeded from ``seed`` (one independent stream per table, so the
deals do not change when ``--orders`` does, except that their amounts are scaled to the
order revenue), and nothing reads the clock.

The shape (defaults): 2023-10-01 .. 2026-09-30, about 60 reps in 8 teams across the
regions North / South / East / West, 20,000 customers, 200 products in 6 categories,
``orders`` order lines (1,000,000), 30,000 opportunities with their stage history,
60,000 leads, tickets, surveys, quarterly market sizes, a training and a pilot.

How each truth is planted (the study that must find it in brackets):

- seasonality [targets]: expected revenue per month follows a monthly index peaking
  in November (+40 %);
- growth [targets]: expected revenue grows 15 %/year, so any period's revenue is
  1.15 x the same period a year before (a month's line quota is divided by the expected
  value of a line that month, so product launches and customer churn do not bend it);
- channel overtake [channels]: Online's share of Mid-Market/SMB orders rises and
  Retail's falls with a step between the 6th and 7th quarter (2025-Q1 -> 2025-Q2);
- bottleneck [funnel]: Proposal has the lowest stage-to-next conversion and the
  longest dwell. Stage history rows are the stages a deal entered; won deals enter
  ``Closed``; a lost deal stops at the stage it was lost in (``opportunities.stage``
  is that stage, ``status`` = lost, ``close_date`` when it was lost);
- competitor [market]: Northwind takes most of the lost Enterprise deals that went
  to a competitor (and has the largest Enterprise ``competitor_sales``);
- elasticity [market]: quantity ~ Poisson(lambda_product x segment x (1 - discount)^-1.5),
  discount independent of everything else, ``unit_price`` = list price;
- training [experiments]: half of the reps (random) trained in "Consultative Selling"
  15 months before the end sell +12 %: their revenue weight within the region is
  multiplied by 1.12 from that date and the region's revenue share rises with it, so
  the untrained reps keep their expected revenue relative to one another;
- negotiation [experiments]: an independent random third of the reps took "Negotiation"
  12 months before the end (a second programme in ``trainings``); the deals they close from
  then on carry 30 % less discount (``NEGOTIATION_DISCOUNT_CUT``; deals above authority keep
  theirs, amounts are unchanged). Nothing else moves, so the training-needs section must map
  discount gaps to it and to no other programme;
- pilot [experiments]: "Value selling" from 9 months before the end, reps split at
  random; pilot reps' deals created from the start win 8 points more often;
- whales [customers]: six Enterprise customers carry a large order weight; the
  top-10 share of the default period is measured from the data written;
- discount breaches [performance]: a few won deals per quarter carry a discount above
  their rep role's authority (``schema.DEFAULT_DISCOUNT_AUTHORITY``); the count and ids
  of those closed in the default period are measured from the data written.
- forecast call styles [deals]: every rep submits a call each Monday for the quarter under
  way (``forecast_calls``), built from the rep's own won amount that quarter: won so far
  plus the rest times a style factor and a noise that shrinks as the quarter ends. Two
  reps sandbag (factor 0.6: the quarter ends above their commit), two over-promise (1.5)
  and the rest are accurate (1.0); drawn from their own random stream, so every other
  table is the same with or without them.

Deals and orders are one business (:mod:`~salesnb.sources.demo.delivery`, and
``docs/TRUTHS.md``, "How deals and orders relate"): won deals are half of the order
revenue (``NEW_BUSINESS_SHARE``), each booked as orders of its account over the
``DELIVERY_DAYS`` after its close; the rest is run-rate repeat business. A won deal takes
about four months, and referral and partner deals are won more often than outbound ones
(``SOURCE_WIN_FACTOR``), so the open pipeline covers two to four times the quota still
to sell and a win model has more to go on than the stage.

Sampling noise is kept low on purpose so the truths hold at the 200k-line test size:
customers, products and regions are drawn by systematic sampling, and orders are dealt
to reps so each rep's monthly revenue is its weight's share (times a 5 % month noise).

Order lines are generated month by month in pieces of at most ``CHUNK_LINES`` lines
and appended to DuckDB, so ``--orders 50000000`` runs in bounded memory.

The package, by job: :mod:`~salesnb.sources.demo.common` (constants, random streams,
samplers, the calendar), :mod:`~salesnb.sources.demo.dimensions` (reps, customers,
products), :mod:`~salesnb.sources.demo.orders` (order lines),
:mod:`~salesnb.sources.demo.deals` (opportunities, stage history, leads, forecast calls),
:mod:`~salesnb.sources.demo.delivery` (won deals booked as orders, deal amounts),
:mod:`~salesnb.sources.demo.service` (tickets, surveys) and
:mod:`~salesnb.sources.demo.warehouse` (the DuckDB file, targets, market, truths and
:func:`build`).
"""

from __future__ import annotations

from salesnb.sources.demo.common import (
    CATEGORIES,
    CHANNELS,
    CHUNK_LINES,
    COMPETITORS,
    COUNTRIES,
    DELIVERY_DAYS,
    ELASTICITY,
    GROWTH_PER_YEAR,
    INDUSTRIES,
    LOSS_REASONS,
    NEW_BUSINESS_SHARE,
    PEAK_MONTH,
    PILOT_NAME,
    PILOT_UPLIFT,
    REGIONS,
    SEASON,
    SEGMENTS,
    SOURCES,
    STAGES,
    TRAINING_PROGRAM,
    TRAINING_UPLIFT,
)
from salesnb.sources.demo.warehouse import build

__all__ = [
    "CATEGORIES",
    "CHANNELS",
    "CHUNK_LINES",
    "COMPETITORS",
    "COUNTRIES",
    "DELIVERY_DAYS",
    "ELASTICITY",
    "GROWTH_PER_YEAR",
    "INDUSTRIES",
    "LOSS_REASONS",
    "NEW_BUSINESS_SHARE",
    "PEAK_MONTH",
    "PILOT_NAME",
    "PILOT_UPLIFT",
    "REGIONS",
    "SEASON",
    "SEGMENTS",
    "SOURCES",
    "STAGES",
    "TRAINING_PROGRAM",
    "TRAINING_UPLIFT",
    "build",
]
