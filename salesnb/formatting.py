"""How figures are written for people: one rule per kind of figure, used everywhere.

The report index, the dashboards, chart ticks, tables and the narrative text of the studies
all call these functions, so one figure reads the same wherever it appears.

Rules shared by every function:

- A value that cannot be shown as a number -- ``None``, NaN, ``pd.NA``, ``NaT``, plus or
  minus infinity -- prints as ``missing``: an em dash (:data:`MISSING`) unless the caller
  says otherwise (tables pass :data:`NOT_COMPUTABLE`, ``"n/a"``; sentences pass words such
  as ``"not computable"``). Never ``nan`` or ``inf``.
- Text given where a number was expected is shown as it is.
- A minus sign is a plain ``-`` before the number (``-1.2M USD``); a value that rounds to
  zero is never shown as ``-0``.
- A currency is an ISO code after the number, one space apart (``1,234 USD``); no code, no
  space.
- Thousands are separated by a comma; the decimal mark is a point.
- In Chinese (:func:`salesnb.i18n.language` is ``zh-CN``) short amounts count in 万 (10^4)
  and 亿 (10^8), as Chinese readers do (``6.9亿 USD``, ``177万``), days are ``天``, a multiple
  is ``倍`` and percentage points ``个百分点``; everything else is as in English.
"""

from __future__ import annotations

import datetime as _dt
import math
import numbers
from decimal import Decimal

from salesnb.i18n import language

MISSING = "—"  # em dash: a figure that does not exist or cannot be computed
NOT_COMPUTABLE = "n/a"  # the same in tables, where a dash reads as a zero

# headline keys (``win_rate``, ``revenue_growth_pct`` ...) whose values are fractions
_SHARE_WORDS = ("pct", "rate", "share", "growth", "uplift", "attainment")


def _real(x) -> float | None:
    """``x`` as a finite float; None when it is missing or not a number."""
    if isinstance(x, numbers.Real | Decimal):
        v = float(x)
        return v if math.isfinite(v) else None
    return None


def _absent(x) -> bool:
    """Whether ``x`` is a missing value (None, NaN, NA, NaT, inf), as opposed to text."""
    if x is None:
        return True
    if isinstance(x, numbers.Real | Decimal):
        return not math.isfinite(float(x))
    try:
        return bool(x != x)  # NaN and NaT are not equal to themselves
    except TypeError:  # pd.NA: its comparisons are NA, which has no truth value
        return True


def _not_a_number(x, missing: str) -> str:
    return missing if _absent(x) else str(x)


def _no_minus_zero(text: str, plus: bool = False) -> str:
    """``-0``, ``-0.0%`` -> ``0``, ``0.0%`` (``+0.0%`` when ``plus``)."""
    if text.startswith("-") and not any(c in "123456789" for c in text):
        return ("+" if plus else "") + text[1:]
    return text


def _with_currency(text: str, currency: str | None) -> str:
    return f"{text} {currency}" if currency else text


def money(x, currency: str | None = "", decimals: int = 0, missing: str = MISSING) -> str:
    """An amount in full: thousands separated, whole units unless ``decimals``, the currency
    code after it. For sentences and tables where the exact amount matters.

    >>> money(1234567.8, "USD"), money(-1234.4), money(0.5, "EUR", decimals=2)
    ('1,234,568 USD', '-1,234', '0.50 EUR')
    >>> money(float("nan"), "USD"), money(None, missing="not computable")
    ('—', 'not computable')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    return _with_currency(_no_minus_zero(f"{v:,.{decimals}f}"), currency)


_UNITS = ((1e9, "B"), (1e6, "M"), (1e3, "k"), (1.0, ""))
_UNITS_ZH = ((1e12, "万亿"), (1e8, "亿"), (1e4, "万"), (1.0, ""))


def _chinese() -> bool:
    return language() == "zh-CN"


def short_money(x, currency: str | None = "", missing: str = MISSING) -> str:
    """An amount in a few characters, for KPI tiles, chart ticks and headlines.

    From a thousand up: ``k``, ``M`` or ``B`` with one decimal below 100 of the unit (a
    ``.0`` dropped) and none from 100: 1.2M, 350k, 2k, 1.5k, 320M. Below a thousand: whole
    units. The currency code, when given, follows after a space.

    >>> [short_money(v) for v in (1234567.8, 350_000, 2_000, 1_500, 320e6, 2.5e9, 12, 999_960)]
    ['1.2M', '350k', '2k', '1.5k', '320M', '2.5B', '12', '1M']
    >>> short_money(-48_250, "USD"), short_money(-0.3), short_money(float("inf"))
    ('-48.2k USD', '0', '—')

    In Chinese the units are 万 and 亿, with two decimals below 10 of the unit (6.98亿 reads as
    precisely as 698M), else the same rule (9,999.6万 is 1亿).
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    units = _UNITS_ZH if _chinese() else _UNITS
    step = 10_000 if _chinese() else 1000
    a = abs(v)
    i = next((k for k, (size, _) in enumerate(units) if a >= size), len(units) - 1)
    while True:
        size, unit = units[i]
        m = a / size
        if unit == "" or m >= 99.95:
            text = f"{m:.0f}"
        elif units is _UNITS_ZH and m < 9.995:  # 6.98亿: as many digits as 698M
            text = f"{m:.2f}".rstrip("0").removesuffix(".")
        else:
            text = f"{m:.1f}".removesuffix(".0")
        if float(text) < step or i == 0:  # 999,960 is 1M, not 1000k
            break
        i -= 1
    text = _no_minus_zero(("-" if v < 0 else "") + text + unit)
    return _with_currency(text, currency)


def count(x, missing: str = MISSING) -> str:
    """A number of things (orders, deals, customers): whole, thousands separated.

    >>> count(1234567), count(12.0), count(-3), count(None)
    ('1,234,567', '12', '-3', '—')
    """
    v = _real(x)
    return _not_a_number(x, missing) if v is None else _no_minus_zero(f"{v:,.0f}")


def number(x, decimals: int = 2, missing: str = MISSING) -> str:
    """A plain figure with a fixed number of decimals, thousands separated.

    >>> number(1234.5), number(0.12345, 3), number(float("nan"), missing="n/a")
    ('1,234.50', '0.123', 'n/a')
    """
    v = _real(x)
    return _not_a_number(x, missing) if v is None else _no_minus_zero(f"{v:,.{decimals}f}")


def percent(x, decimals: int = 1, missing: str = MISSING) -> str:
    """A share or rate given as a fraction (0.25 is 25 %): ``25.0%``; one decimal by default.

    >>> percent(0.25), percent(1.234), percent(0.0567, 0), percent(-0.0001), percent(None)
    ('25.0%', '123.4%', '6%', '0.0%', '—')
    """
    v = _real(x)
    return _not_a_number(x, missing) if v is None else _no_minus_zero(f"{v:.{decimals}%}")


def change(x, decimals: int = 1, missing: str = MISSING) -> str:
    """A relative change given as a fraction (growth, uplift, gap to target), always signed:
    ``+12.3%``, ``-4.0%``; a change that rounds to nothing is ``+0.0%``.

    >>> change(0.123), change(-0.04), change(-0.0004), change(0.2, 0), change(float("inf"))
    ('+12.3%', '-4.0%', '+0.0%', '+20%', '—')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    return _no_minus_zero(f"{v:+.{decimals}%}", plus=True)


def points(x, decimals: int = 1, missing: str = MISSING) -> str:
    """A difference between two shares, in percentage points, always signed: 0.021 (the
    share went from 40 % to 42.1 %) is ``+2.1 pp``.

    >>> points(0.021), points(-0.105), points(0.0), points(None)
    ('+2.1 pp', '-10.5 pp', '+0.0 pp', '—')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    text = _no_minus_zero(f"{v * 100:+.{decimals}f}", plus=True)
    return text + (" 个百分点" if _chinese() else " pp")


def ratio(x, decimals: int = 1, missing: str = MISSING) -> str:
    """A multiple (pipeline coverage, lift): ``2.6x``; one decimal by default.

    >>> ratio(2.63), ratio(0.8), ratio(3, 2), ratio(float("nan"))
    ('2.6x', '0.8x', '3.00x', '—')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    return _no_minus_zero(f"{v:,.{decimals}f}") + ("倍" if _chinese() else "x")


def days(x, decimals: int = 0, missing: str = MISSING) -> str:
    """A duration in days (cycle time, age of a deal): ``34 days``, ``1 day``; whole days
    unless ``decimals``.

    >>> days(34.4), days(1), days(2.25, 1), days(None)
    ('34 days', '1 day', '2.2 days', '—')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    text = _no_minus_zero(f"{v:,.{decimals}f}")
    if _chinese():
        return f"{text} 天"
    return f"{text} {'day' if text == '1' else 'days'}"


def p_value(x, missing: str = MISSING) -> str:
    """A test's p-value as people read it, with its relation: ``p < 0.001`` below a
    thousandth (never scientific notation), else ``p = 0.034`` (two significant digits,
    three decimals at most).

    >>> p_value(8.54e-82), p_value(0.0342), p_value(0.5), p_value(0.0012), p_value(None)
    ('p < 0.001', 'p = 0.034', 'p = 0.5', 'p = 0.0012', '—')
    """
    v = _real(x)
    if v is None:
        return _not_a_number(x, missing)
    if v < 0.001:
        return "p < 0.001"
    text = f"{v:.2g}"
    if "e" in text:  # cannot happen above 0.001, but never print one
        text = f"{v:.4f}"
    return f"p = {text}"


def headline(value, key: str = "", missing: str = MISSING) -> str:
    """A headline figure whose kind is known only from its name (the report index, alerts).

    - a key naming a share (``pct``, ``rate``, ``share``, ``growth``, ``uplift``,
      ``attainment``) with a value within +-5: :func:`percent`;
    - a whole number: :func:`count`;
    - from 100 up: two decimals, thousands separated (:func:`number`);
    - below 100: three significant digits;
    - True / False: ``yes`` / ``no``; text as it is; missing values: ``missing``.

    >>> [headline(v, k) for k, v in (("win_rate", 0.312), ("orders", 1520), ("revenue", 1234.567),
    ...                              ("cv", 0.12345), ("growth_pct", float("nan")), ("ok", True))]
    ['31.2%', '1,520', '1,234.57', '0.123', '—', 'yes']
    """
    if isinstance(value, bool):
        if _chinese():
            return "是" if value else "否"
        return "yes" if value else "no"
    v = _real(value)
    if v is None:
        return _not_a_number(value, missing)
    if any(w in key for w in _SHARE_WORDS) and abs(v) <= 5:
        return percent(v)
    if float(v).is_integer():
        return count(v)
    return number(v, 2) if abs(v) >= 100 else _no_minus_zero(f"{v:.3g}")


def value_text(v, missing: str = MISSING) -> str:
    """A data value quoted back in a message about that value (a quarantine reason): text
    in quotes, a whole number without ``.0`` and without separators (as it is in the file),
    a date (or midnight timestamp) as an ISO date.

    >>> value_text("abc"), value_text(3.0), value_text(2.5), value_text(float("nan"))
    ("'abc'", '3', '2.5', '—')
    >>> import datetime as dt
    >>> value_text(dt.datetime(2026, 3, 1)), value_text(dt.datetime(2026, 3, 1, 9, 30))
    ('2026-03-01', '2026-03-01T09:30:00')
    """
    if isinstance(v, str):
        return repr(v)
    if _absent(v):
        return missing
    if isinstance(v, float) and v == int(v):
        return str(int(v))
    if isinstance(v, _dt.datetime):
        midnight = (v.hour, v.minute, v.second, v.microsecond) == (0, 0, 0, 0)
        return v.date().isoformat() if midnight else v.isoformat()
    return str(v)
