"""Repayment schedule engine (还款计划): pure functions, no Django.

Methods (`RepaymentMethod` values): equal instalments (等额本息), equal principal (等额本金), interest-only with a
bullet at maturity (按期付息、到期还本) and a custom principal plan (自定义还款计划).

Conventions, chosen once here so every caller gets the same figures:

* Day count actual/360. Interest of a period = opening balance × annual rate × actual days / 360, rounded
  ROUND_HALF_UP to the fen once per instalment. The arithmetic is exact (integers), so the only rounding is that one.
* Due dates lie on a grid of `interval_months` on `anchor_day` (clamped to month end: day 31 gives Feb 28/29, Apr 30)
  counted back from `maturity`, which is always the last due date. Counting back from maturity rather than forward
  from `start` keeps the loan's grid when the service rebuilds the remaining schedule from a mid-period date (partial
  prepayment, further tranche): the next due date stays the next grid date. For a fresh loan whose term is a whole
  number of intervals both directions give the same dates; otherwise the odd stub is the first period.
* Grace (宽限期, `grace_until`): instalments due on or before it carry interest only; principal amortises over the
  rest. For a custom plan the plan itself says when principal falls due, so it may not put principal in the grace.
* Rate resets (LPR 重定价): the rate in force on a day is the last reset effective on or before it (else
  `annual_rate`). An instalment reports the rate in force at its period start; when a reset falls inside a period the
  interest is split by days at each rate (still rounded once), so the borrower pays the new rate from its effective
  date. Equal instalments are re-levelled on the remaining balance and remaining instalments from the first period
  that starts at the new rate. Resets effective on or before `start` are ignored: `annual_rate` is the rate at start.
* Equal instalments: level payment from the periodic rate (annual × interval / 12), rounded half-up to the fen;
  interest follows actual days and principal is payment − interest (never negative); the last instalment takes the
  remaining balance so principal sums exactly. Equal principal spreads the balance by cumulative rounding
  (instalment k = round(B·k/n) − round(B·(k−1)/n)), so no instalment is more than one fen from B/n.
"""

from __future__ import annotations

import calendar
import datetime
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, localcontext
from functools import lru_cache

import polars as pl

EQUAL_INSTALMENT = "equal_instalment"
EQUAL_PRINCIPAL = "equal_principal"
INTEREST_ONLY_BULLET = "interest_only_bullet"
CUSTOM = "custom"
METHODS = frozenset({EQUAL_INSTALMENT, EQUAL_PRINCIPAL, INTEREST_ONLY_BULLET, CUSTOM})

DAYS_IN_YEAR = 360
_EPOCH_ORDINAL = datetime.date(1970, 1, 1).toordinal()


class ScheduleError(ValueError):
    """Invalid loan terms: `field` names the offending term, `code` the rule (snake_case), `message` is zh-hans."""

    def __init__(self, field: str, message: str, code: str) -> None:
        super().__init__(f"{field}: {message} ({code})")
        self.field = field
        self.message = message
        self.code = code

    def __reduce__(self) -> tuple[type[ScheduleError], tuple[str, str, str]]:
        return (ScheduleError, (self.field, self.message, self.code))  # picklable despite the custom __init__


@dataclass(frozen=True)
class ScheduleTerms:
    principal_fen: int  # amount to amortise (outstanding principal at `start`)
    start: datetime.date  # interest runs from here (disbursement or rebuild date)
    maturity: datetime.date  # last due date
    interval_months: int  # 1 monthly, 3 quarterly, …
    method: str  # RepaymentMethod value
    annual_rate: Decimal  # rate at start
    anchor_day: int | None = None  # day of month of due dates (default: start.day, clamped to month end)
    grace_until: datetime.date | None = None  # interest-only until this date (principal grace period)
    rate_resets: tuple[tuple[datetime.date, Decimal], ...] = ()  # LPR repricing: (effective date, new annual rate)
    custom_principal: tuple[tuple[datetime.date, int], ...] = ()  # CUSTOM: (due date, principal fen)
    first_number: int = 1


@dataclass(frozen=True)
class ScheduledInstalment:
    number: int
    period_start: datetime.date
    due_date: datetime.date
    annual_rate: Decimal
    principal_fen: int
    interest_fen: int


def round_half_up_div(numerator: int, denominator: int) -> int:
    """numerator / denominator rounded half-up, exactly, for numerator ≥ 0 and denominator > 0."""
    return (2 * numerator + denominator) // (2 * denominator)


# --- validation -----------------------------------------------------------------------------------------------


def _is_int(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _check_rate(value: object, field: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, Decimal | int):
        raise ScheduleError(field, "年利率必须是 Decimal（如 Decimal('0.0385')），不接受浮点数。", "rate_not_decimal")
    rate = Decimal(value)
    if not rate.is_finite():
        raise ScheduleError(field, "年利率必须是有限数值。", "rate_not_finite")
    if rate < 0:
        raise ScheduleError(field, "年利率不能为负数。", "negative_rate")
    if rate >= 1:
        raise ScheduleError(field, "年利率必须小于 1（如 0.0385 表示 3.85%）。", "rate_too_high")
    return rate


def _validate(terms: ScheduleTerms) -> None:
    if not _is_int(terms.principal_fen) or terms.principal_fen <= 0:
        raise ScheduleError("principal_fen", "本金必须为正整数（分）。", "principal_not_positive")
    if terms.maturity <= terms.start:
        raise ScheduleError("maturity", "到期日必须晚于起息日。", "maturity_not_after_start")
    if not _is_int(terms.interval_months) or terms.interval_months < 1:
        raise ScheduleError("interval_months", "还款间隔必须至少为 1 个月。", "interval_too_small")
    if terms.method not in METHODS:
        raise ScheduleError("method", f"未知的还款方式：{terms.method}。", "unknown_method")
    _check_rate(terms.annual_rate, "annual_rate")
    if terms.anchor_day is not None and (not _is_int(terms.anchor_day) or not 1 <= terms.anchor_day <= 31):
        raise ScheduleError("anchor_day", "还款日必须在 1 至 31 之间。", "invalid_anchor_day")
    if not _is_int(terms.first_number) or terms.first_number < 1:
        raise ScheduleError("first_number", "起始期数必须为正整数。", "invalid_first_number")
    if terms.grace_until is not None and terms.grace_until >= terms.maturity:
        raise ScheduleError("grace_until", "宽限期必须在到期日之前结束。", "grace_not_before_maturity")
    seen: set[datetime.date] = set()
    for day, rate in terms.rate_resets:
        _check_rate(rate, "rate_resets")
        if day in seen:
            raise ScheduleError("rate_resets", f"利率重定价日期重复：{day.isoformat()}。", "reset_dates_not_unique")
        seen.add(day)
    if terms.method == CUSTOM:
        _validate_custom(terms)
    elif terms.custom_principal:
        raise ScheduleError("custom_principal", "只有自定义还款方式才能提供自定义还款计划。", "custom_plan_unexpected")


def _validate_custom(terms: ScheduleTerms) -> None:
    plan = terms.custom_principal
    if not plan:
        raise ScheduleError("custom_principal", "自定义还款方式必须提供还款计划。", "custom_plan_missing")
    previous: datetime.date | None = None
    for day, fen in plan:
        if not _is_int(fen) or fen < 0:
            raise ScheduleError("custom_principal", "每期应还本金必须为非负整数（分）。", "custom_negative_principal")
        if not terms.start < day <= terms.maturity:
            raise ScheduleError(
                "custom_principal",
                f"还款日 {day.isoformat()} 必须晚于起息日且不晚于到期日。",
                "custom_date_out_of_range",
            )
        if previous is not None and day <= previous:
            raise ScheduleError("custom_principal", "还款日必须严格递增且不得重复。", "custom_dates_not_increasing")
        if terms.grace_until is not None and day <= terms.grace_until and fen:
            raise ScheduleError(
                "custom_principal", f"还款日 {day.isoformat()} 在宽限期内，不能安排本金。", "custom_principal_in_grace"
            )
        previous = day
    if plan[-1][0] != terms.maturity:
        raise ScheduleError("custom_principal", "自定义还款计划的最后一期必须在到期日。", "custom_last_not_maturity")
    total = sum(fen for _, fen in plan)
    if total != terms.principal_fen:
        raise ScheduleError(
            "custom_principal",
            f"自定义还款计划本金合计 {total} 分，与本金 {terms.principal_fen} 分不符。",
            "custom_sum_mismatch",
        )


# --- dates ----------------------------------------------------------------------------------------------------


def on_anchor(year: int, month: int, anchor_day: int) -> datetime.date:
    """The date in (year, month) on `anchor_day`, clamped to the month's last day."""
    return datetime.date(year, month, min(anchor_day, calendar.monthrange(year, month)[1]))


def shift_months(day: datetime.date, months: int, anchor_day: int | None = None) -> datetime.date:
    """`day` moved by `months` (may be negative), on `anchor_day` (default: day.day) clamped to month end."""
    index = day.year * 12 + day.month - 1 + months
    return on_anchor(index // 12, index % 12 + 1, anchor_day or day.day)


@lru_cache(maxsize=65536)
def due_dates(
    start: datetime.date, maturity: datetime.date, interval_months: int, anchor_day: int
) -> tuple[datetime.date, ...]:
    """Grid dates strictly between `start` and `maturity`, counted back from maturity, then maturity itself."""
    dates = [maturity]
    step = 1
    while True:
        day = shift_months(maturity, -step * interval_months, anchor_day)
        if day <= start:
            break
        if day < dates[-1]:
            dates.append(day)
        step += 1
    dates.reverse()
    return tuple(dates)


# --- rates ----------------------------------------------------------------------------------------------------


@lru_cache(maxsize=4096)
def _places(rate: Decimal) -> int:
    exponent = rate.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


@lru_cache(maxsize=4096)
def _level_factor(rate: Decimal, interval_months: int, periods: int) -> Decimal:
    """r / (1 − (1 + r)^−n) for the periodic rate r = annual × interval / 12 (annuity factor)."""
    with localcontext() as ctx:
        ctx.prec = 50
        r = rate * interval_months / 12
        return r / (1 - (1 + r) ** -periods)


def level_payment_fen(balance_fen: int, rate: Decimal, interval_months: int, periods: int) -> int:
    """Level payment (等额本息月供) on `balance_fen` over `periods` instalments, rounded half-up to the fen."""
    if rate == 0:
        return round_half_up_div(balance_fen, periods)
    with localcontext() as ctx:
        ctx.prec = 50
        return int((balance_fen * _level_factor(rate, interval_months, periods)).to_integral_value(ROUND_HALF_UP))


@lru_cache(maxsize=4096)
def _scaled(rate: Decimal, places: int) -> int:
    return int(rate.scaleb(places))


def _period_rates(
    annual_rate: Decimal,
    rate_resets: Sequence[tuple[datetime.date, Decimal]],
    start: datetime.date,
    dates: Sequence[datetime.date],
) -> tuple[list[Decimal], list[int], int]:
    """For the periods [start, dates[0]), [dates[0], dates[1]), …: the rate in force at each period's start, and
    Σ rate × days over the period as an exact integer at the common scale 10**places (returned third)."""
    start_rate = Decimal(annual_rate)
    starts = (start, *dates[:-1])
    resets = sorted((day, Decimal(rate)) for day, rate in rate_resets if start < day < dates[-1])
    places = max(_places(rate) for rate in [start_rate, *(rate for _, rate in resets)])
    value = _scaled(start_rate, places)
    if not resets:
        return (
            [start_rate] * len(dates),
            [value * (end - begin).days for begin, end in zip(starts, dates, strict=True)],
            10**places,
        )
    changes = [(day, rate, _scaled(rate, places)) for day, rate in resets]
    rates: list[Decimal] = []
    weighted: list[int] = []
    rate, cursor = start_rate, 0
    for begin, end in zip(starts, dates, strict=True):
        while cursor < len(changes) and changes[cursor][0] <= begin:
            _, rate, value = changes[cursor]
            cursor += 1
        rates.append(rate)
        total, mark = 0, begin
        while cursor < len(changes) and changes[cursor][0] < end:
            day, rate, next_value = changes[cursor]
            total += value * (day - mark).days
            mark, value = day, next_value
            cursor += 1
        weighted.append(total + value * (end - mark).days)
    return rates, weighted, 10**places


def period_interest_fen(
    balance_fen: int,
    begin: datetime.date,
    end: datetime.date,
    *,
    annual_rate: Decimal,
    rate_resets: Sequence[tuple[datetime.date, Decimal]] = (),
) -> int:
    """Interest on a constant balance over [begin, end), actual/360, rounded half-up once — the figure a schedule
    period would carry (e.g. interest accrued to a payoff or prepayment date). The rate on a day is the last reset
    effective on or before it, else `annual_rate`; resets inside the span split it by days."""
    if end <= begin:
        return 0
    earlier = [reset for reset in rate_resets if reset[0] <= begin]
    rate = max(earlier)[1] if earlier else annual_rate
    _, weighted, scale = _period_rates(rate, rate_resets, begin, (end,))
    return round_half_up_div(balance_fen * weighted[0], DAYS_IN_YEAR * scale)


# --- schedule -------------------------------------------------------------------------------------------------


def _principal_plan(terms: ScheduleTerms, dates: tuple[datetime.date, ...]) -> list[int] | None:
    """Fixed principal per instalment for the methods that do not depend on interest (None: equal instalments)."""
    n = len(dates)
    if terms.method == CUSTOM:
        return [fen for _, fen in terms.custom_principal]
    if terms.method == INTEREST_ONLY_BULLET:
        return [0] * (n - 1) + [terms.principal_fen]
    if terms.method == EQUAL_PRINCIPAL:
        grace = _grace_count(terms, dates)
        periods = n - grace
        balance = terms.principal_fen
        cumulative = [round_half_up_div(balance * k, periods) for k in range(periods + 1)]
        return [0] * grace + [cumulative[k + 1] - cumulative[k] for k in range(periods)]
    return None


def _grace_count(terms: ScheduleTerms, dates: tuple[datetime.date, ...]) -> int:
    """Number of leading interest-only instalments; the last instalment always amortises."""
    if terms.grace_until is None:
        return 0
    return min(sum(1 for day in dates if day <= terms.grace_until), len(dates) - 1)


def _compute(terms: ScheduleTerms) -> tuple[tuple[datetime.date, ...], list[Decimal], list[int], list[int]]:
    """(due dates, rate at each period start, principal fen, interest fen) — the core of both public builders."""
    _validate(terms)
    if terms.method == CUSTOM:
        dates = tuple(day for day, _ in terms.custom_principal)
    else:
        anchor = terms.anchor_day or terms.start.day
        dates = due_dates(terms.start, terms.maturity, terms.interval_months, anchor)
    rates, weighted, scale = _period_rates(terms.annual_rate, terms.rate_resets, terms.start, dates)
    plan = _principal_plan(terms, dates)
    grace = _grace_count(terms, dates) if plan is None else 0
    denominator = DAYS_IN_YEAR * scale
    n = len(dates)
    balance = terms.principal_fen
    principal: list[int] = []
    interest: list[int] = []
    payment = 0
    levelled_at: Decimal | None = None
    for index in range(n):
        # balance × Σ rate × days / 360, rounded half-up once (inlined round_half_up_div: this is the hot loop).
        charge = (2 * balance * weighted[index] + denominator) // (2 * denominator)
        if index == n - 1:
            part = balance
        elif plan is not None:
            part = plan[index]
        elif index < grace:
            part = 0
        else:
            rate = rates[index]
            if levelled_at is None or rate != levelled_at:
                payment = level_payment_fen(balance, rate, terms.interval_months, n - index)
                levelled_at = rate
            part = min(balance, max(0, payment - charge))
        principal.append(part)
        interest.append(charge)
        balance -= part
    return dates, rates, principal, interest


def build_schedule(terms: ScheduleTerms) -> list[ScheduledInstalment]:
    """The repayment schedule of `terms`; raises `ScheduleError` for invalid terms."""
    dates, rates, principal, interest = _compute(terms)
    starts = (terms.start, *dates[:-1])
    return [
        ScheduledInstalment(
            number=terms.first_number + i,
            period_start=starts[i],
            due_date=dates[i],
            annual_rate=rates[i],
            principal_fen=principal[i],
            interest_fen=interest[i],
        )
        for i in range(len(dates))
    ]


RATE_DTYPE = pl.Decimal(precision=9, scale=6)  # as Instalment.annual_rate


@lru_cache(maxsize=4096)
def _rate_text(rate: Decimal) -> str:
    return f"{rate:f}"  # positional notation: str() would give "5E-7", which Polars does not parse


SCHEDULE_FRAME_SCHEMA: dict[str, pl.DataType] = {
    "loan_index": pl.Int64(),
    "number": pl.Int32(),
    "period_start": pl.Date(),
    "due_date": pl.Date(),
    "annual_rate": RATE_DTYPE,
    "principal_fen": pl.Int64(),
    "interest_fen": pl.Int64(),
}


def build_schedules(terms: Sequence[ScheduleTerms]) -> pl.DataFrame:
    """Schedules of many loans as one frame (columns of `SCHEDULE_FRAME_SCHEMA`); `loan_index` is the position in
    `terms`. Raises `ScheduleError` (with the loan index in the message) on the first invalid terms."""
    loan_index: list[int] = []
    number: list[int] = []
    starts: list[int] = []
    dues: list[int] = []
    rate_text: list[str] = []
    principal: list[int] = []
    interest: list[int] = []
    epoch = _EPOCH_ORDINAL
    for i, t in enumerate(terms):
        try:
            dates, rates, parts, charges = _compute(t)
        except ScheduleError as exc:
            raise ScheduleError(exc.field, f"第 {i} 笔贷款：{exc.message}", exc.code) from exc
        n = len(dates)
        ordinals = [d.toordinal() - epoch for d in dates]
        loan_index.extend([i] * n)
        number.extend(range(t.first_number, t.first_number + n))
        starts.append(t.start.toordinal() - epoch)
        starts.extend(ordinals[:-1])
        dues.extend(ordinals)
        rate_text.extend(map(_rate_text, rates))
        principal.extend(parts)
        interest.extend(charges)
    return pl.DataFrame(
        {
            "loan_index": pl.Series(loan_index, dtype=pl.Int64),
            "number": pl.Series(number, dtype=pl.Int32),
            "period_start": pl.Series(starts, dtype=pl.Int32).cast(pl.Date),
            "due_date": pl.Series(dues, dtype=pl.Int32).cast(pl.Date),
            "annual_rate": pl.Series(rate_text, dtype=pl.String).str.to_decimal(scale=6).cast(RATE_DTYPE),
            "principal_fen": pl.Series(principal, dtype=pl.Int64),
            "interest_fen": pl.Series(interest, dtype=pl.Int64),
        }
    )
