"""From a fund's pool to the stress-test engine: one Polars frame of the covered loans, then `engine.stress`.

The frame has, per enrolled loan still in the pool, the covered exposure now (outstanding principal × IP share
when only the IP share is covered), the fund's share for the tier the balance falls in, the loan's class, the
best grade among its pledged rights' latest valuations, and its remaining life. Recovery: when the fund has
cleared at least `MIN_HISTORY` claims, their observed mean recovery (applied recoveries ÷ exposure) replaces the
default assumption; otherwise the documented default is used (the disposal issue will feed this history).
"""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import polars as pl
from django.db.models import Sum

from ipledge.core.context import business_date
from ipledge.lending.models import LoanCollateral

from . import ledger
from .choices import ClaimStatus, EnrolmentStatus, SharingMode
from .engine import sharing
from .engine import stress as engine
from .models import Claim, Enrolment, Fund

ASSUMPTION_FIELDS = frozenset({"recovery_mean", "recovery_sd", "correlation"})
MIN_HISTORY = 5
PAID_OR_SETTLING = [ClaimStatus.ADVANCE_PAID, ClaimStatus.CLEARING, ClaimStatus.CLEARED]
GRADE_ORDER = ("AAA", "AA", "A", "BBB", "BB", "B", "CCC", "CC", "C")


def _latest_grades(loan_ids: list[int]) -> dict[int, str]:
    """The best grade among each loan's collateral's most recent valuations (empty when none was valued)."""
    try:
        from ipledge.valuation.models import Valuation
    except ImportError:  # pragma: no cover - valuation is installed everywhere today
        return {}
    rights: dict[int, list[int]] = {}
    for loan_id, right_id in LoanCollateral.objects.filter(loan_id__in=loan_ids).values_list("loan_id", "ip_right_id"):
        rights.setdefault(right_id, []).append(loan_id)
    best: dict[int, str] = {}
    seen: set[int] = set()
    for right_id, grade in (
        Valuation.objects.filter(ip_right_id__in=list(rights))
        .order_by("ip_right_id", "-pk")
        .values_list("ip_right_id", "grade")
    ):
        if right_id in seen:
            continue
        seen.add(right_id)
        for loan_id in rights[right_id]:
            current = best.get(loan_id)
            if grade in GRADE_ORDER and (current is None or GRADE_ORDER.index(grade) < GRADE_ORDER.index(current)):
                best[loan_id] = grade
    return best


def portfolio_frame(fund: Fund, *, today: datetime.date | None = None) -> pl.DataFrame:
    today = today or business_date()
    rows = list(
        # Loans in the pool, and those whose claim is filed but not yet paid (near-certain payouts): a claim paid
        # in advance is already out of the balance.
        Enrolment.objects.filter(fund=fund, status__in=[EnrolmentStatus.ACTIVE, EnrolmentStatus.CLAIMED])
        .exclude(claims__status__in=PAID_OR_SETTLING)
        .values_list(
            "loan_id",
            "ip_share",
            "covered_amount",
            "loan__outstanding_principal",
            "loan__classification",
            "loan__maturity_date",
            "scheme_version__sharing_tiers",
            "scheme_version__sharing_mode",
            "scheme_version__covers_ip_share_only",
        )
    )
    grades = _latest_grades([r[0] for r in rows]) if rows else {}
    rules: dict[str, sharing.SharingRule] = {}
    exposure, share, classes, grade_col, years_left = [], [], [], [], []
    for loan_id, ip_share, covered, outstanding, loan_class, maturity, tiers, mode, ip_only in rows:
        balance = ledger.as_fen(outstanding) or ledger.as_fen(covered)
        key = f"{mode}:{tiers!r}"
        rule = rules.get(key) or rules.setdefault(key, sharing.rule_from_data(tiers, mode=mode or SharingMode.WHOLE))
        base = int(Decimal(balance) * Decimal(ip_share)) if ip_only else balance
        last = rule.tiers[-1].up_to_fen
        split = sharing.split_loss(
            loss_fen=1_000_000, balance_fen=min(balance, last) if last is not None else balance, rule=rule
        )
        exposure.append(base)
        share.append(split.shares_fen.get("fund", 0) / 1_000_000)
        classes.append(loan_class or "normal")
        grade_col.append(grades.get(loan_id))
        years_left.append(max((maturity - today).days / 365.25, 0.0) if maturity else 1.0)
    return pl.DataFrame(
        {
            "exposure_fen": pl.Series(exposure, dtype=pl.Int64),
            "fund_share": pl.Series(share, dtype=pl.Float64),
            "loan_class": pl.Series(classes, dtype=pl.Utf8),
            "grade": pl.Series(grade_col, dtype=pl.Utf8),
            "years_left": pl.Series(years_left, dtype=pl.Float64),
        }
    )


def observed_recovery(fund: Fund) -> float | None:
    """Mean recovery over the fund's cleared claims, when there are enough of them to trust."""
    cleared = Claim.objects.filter(fund=fund, status=ClaimStatus.CLEARED)
    if cleared.count() < MIN_HISTORY:
        return None
    totals = cleared.aggregate(exposure=Sum("exposure"), recovered=Sum("recoveries_total"))
    exposure = ledger.as_fen(totals["exposure"])
    return ledger.as_fen(totals["recovered"]) / exposure if exposure else None


def run_for_fund(
    fund: Fund, *, simulations: int, overrides: dict[str, Any] | None = None, seed: int = 20211
) -> dict[str, Any]:
    overrides = dict(overrides or {})
    history = observed_recovery(fund)
    if history is not None and "recovery_mean" not in overrides:
        overrides["recovery_mean"] = min(max(history, 0.0), 0.99)
    assumptions = engine.load_assumptions(**overrides)
    portfolio = portfolio_frame(fund)
    result = engine.simulate(
        portfolio, fund_balance_fen=ledger.cash_fen(fund), simulations=simulations, seed=seed, assumptions=assumptions
    )
    data = result.to_dict()
    data["recovery_from_history"] = history is not None
    return data
