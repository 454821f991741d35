"""Five-category classification (五级分类) on the database: the daily close of business (日终) and manual actions.

`close_of_business` classifies every live loan (放款后未结清) for a business day with the pure engine
(`engine/classification.py`): days past due and upgrade evidence come from the `Instalment` rows in SQL, the
cross-default shares per debtor from the whole live portfolio, and only changes are written. Each transition
leaves a `ClassificationChange` row and a `loan.classify` audit event; the run leaves one
`lending.close_of_business` event. Everything happens in one transaction, and running the same day again
changes nothing.

Days past due are measured from the paid amounts as they stand now; replaying an old business day after later
repayments therefore sees those repayments (the instalment rows keep no payment-by-payment history).

Manual actions (bank users): `loan_classification_override` (人工认定, a floor that can only make the class
worse; reviewers and administrators), `loan_classification_override_clear`, and `loan_risk_flags_set` (the event
flags the rules read; operators and administrators). Each recomputes the loan's class at once from the same
engine; a transition caused by a person is recorded with source `manual`. The debtor's other loans pick up a
cross-default consequence at the next close of business.
"""

from __future__ import annotations

import datetime
import time
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.db.models import F, Min, Q
from django.db.models.functions import Cast

from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for

from .choices import LIVE_STATUSES, NON_PERFORMING_CLASSES, ClassificationSource, LoanClass
from .engine import classification as engine
from .models import ClassificationChange, Instalment, Loan

# Loan columns the job reads, under the engine's fact names where they are facts.
_LOAN_COLUMNS: dict[str, str] = {
    "loan_id": "pk",
    "reference": "reference",
    "region_code": "region_code",
    "borrower_id": "borrower_id",
    "tree_path": "bank__tree_path",
    "outstanding_fen": "outstanding_fen_",
    "current_class": "classification",
    "classification_since": "classification_since",
    "stored_dpd": "days_past_due",
    "classified_on": "classified_on",
    "version": "version",
    "funds_misused": "funds_misused",
    "refinanced_by_new_loan": "refinanced_by_new_loan",
    "credit_impaired": "credit_impaired",
    "external_rating_downgraded": "external_rating_downgraded",
    "expected_loss_ratio": "expected_loss_ratio_",
    "restructure_observation_until": "restructure_observation_until",
    "manual_class": "manual_class",
}
_LOAN_SCHEMA: dict[str, Any] = {
    "loan_id": pl.Int64,
    "reference": pl.String,
    "region_code": pl.String,
    "borrower_id": pl.Int64,
    "tree_path": pl.String,
    "outstanding_fen": pl.Int64,
    "current_class": pl.String,
    "classification_since": pl.Date,
    "stored_dpd": pl.Int64,
    "classified_on": pl.Date,
    "version": pl.Int64,
    "funds_misused": pl.Boolean,
    "refinanced_by_new_loan": pl.Boolean,
    "credit_impaired": pl.Boolean,
    "external_rating_downgraded": pl.Boolean,
    "expected_loss_ratio": pl.Float64,
    "restructure_observation_until": pl.Date,
    "manual_class": pl.String,
}


@dataclass(frozen=True)
class CobSummary:
    """What one close of business did."""

    business_day: datetime.date
    loans_examined: int
    changes: dict[str, int] = field(default_factory=dict)  # "normal→special_mention": count
    days_past_due_updated: int = 0
    conflicts: int = 0  # loans changed by someone else during the run, left for the next run
    seconds: float = 0.0

    @property
    def transitions(self) -> int:
        return sum(self.changes.values())

    def as_dict(self) -> dict[str, Any]:
        return {
            "business_day": self.business_day.isoformat(),
            "loans_examined": self.loans_examined,
            "transitions": self.transitions,
            "changes": dict(sorted(self.changes.items())),
            "days_past_due_updated": self.days_past_due_updated,
            "conflicts": self.conflicts,
            "seconds": round(self.seconds, 3),
        }


def _error(field_name: str, message: str, code: str) -> ValidationError:
    return ValidationError({field_name: ValidationError(message, code=code)})


# --- loading the facts ------------------------------------------------------------------------------------------


def _loan_frame(loans: models.QuerySet[Loan]) -> pl.DataFrame:
    rows = loans.annotate(
        outstanding_fen_=Cast("outstanding_principal", models.BigIntegerField()),
        # A ratio, not money: the engine compares it with 0.5 and 0.9.
        expected_loss_ratio_=Cast("expected_loss_ratio", models.FloatField()),
    ).values_list(*_LOAN_COLUMNS.values())
    frame = pl.DataFrame(list(rows), schema=_LOAN_SCHEMA, orient="row")
    # tree_path is "/<head office id>/…/<branch id>/": the root of the tree is the legal entity (法人) that the
    # 10 % cross-default rule speaks of.
    return frame.with_columns(
        pl.col("tree_path").str.split("/").list.get(1).cast(pl.Int64).alias("head_office_id"),
        pl.col("manual_class").fill_null(""),
    ).drop("tree_path")


def _dpd_frame(loans: models.QuerySet[Loan], business_day: datetime.date) -> pl.DataFrame:
    """Days past due per loan: from the oldest instalment due before the day and not fully paid."""
    unpaid = (
        Instalment.objects.filter(loan_id__in=loans.values("pk"), due_date__lt=business_day)
        .filter(Q(principal_paid__lt=F("principal_due")) | Q(interest_paid__lt=F("interest_due")))
        .values("loan_id")
        .annotate(oldest=Min("due_date"))
        .values_list("loan_id", "oldest")
    )
    frame = pl.DataFrame(list(unpaid), schema={"loan_id": pl.Int64, "oldest": pl.Date}, orient="row")
    return frame.select(
        "loan_id", (pl.lit(business_day) - pl.col("oldest")).dt.total_days().cast(pl.Int64).alias("days_past_due")
    )


def _upgrade_evidence(loans: models.QuerySet[Loan], frame: pl.DataFrame, business_day: datetime.date) -> pl.DataFrame:
    """`arrears_cleared_on` and `periods_paid_on_time` for the loans now non-performing (the only ones that need it).

    The performing period starts at the later of the day the last late instalment was settled and the day the
    loan entered its current class; it counts the instalments due after that start and settled by their due date.
    Any instalment paid late moves the start past it, so the counted periods are consecutive by construction.
    """
    npl = frame.filter(pl.col("current_class").is_in(list(NON_PERFORMING_CLASSES)) & (pl.col("days_past_due") == 0))
    empty = pl.DataFrame(schema={"loan_id": pl.Int64, "arrears_cleared_on": pl.Date, "periods_paid_on_time": pl.Int64})
    if npl.is_empty():
        return empty
    rows = Instalment.objects.filter(
        loan_id__in=loans.filter(classification__in=list(NON_PERFORMING_CLASSES)).values("pk"),
        due_date__lte=business_day,
        settled_on__isnull=False,
    ).values_list("loan_id", "due_date", "settled_on")
    instalments = pl.DataFrame(
        list(rows), schema={"loan_id": pl.Int64, "due_date": pl.Date, "settled_on": pl.Date}, orient="row"
    )
    last_late = (
        instalments.filter(pl.col("settled_on") > pl.col("due_date"))
        .group_by("loan_id")
        .agg(pl.col("settled_on").max().alias("last_late_settled"))
    )
    start = (
        npl.select("loan_id", "classification_since")
        .join(last_late, on="loan_id", how="left")
        .select("loan_id", pl.max_horizontal("last_late_settled", "classification_since").alias("arrears_cleared_on"))
    )
    on_time = (
        instalments.join(start, on="loan_id")
        .filter((pl.col("due_date") > pl.col("arrears_cleared_on")) & (pl.col("settled_on") <= pl.col("due_date")))
        .group_by("loan_id")
        .agg(pl.len().cast(pl.Int64).alias("periods_paid_on_time"))
    )
    return start.join(on_time, on="loan_id", how="left").with_columns(pl.col("periods_paid_on_time").fill_null(0))


def classify_loans(loans: models.QuerySet[Loan], *, business_day: datetime.date) -> pl.DataFrame:
    """Facts and decision (`to_class`, `reasons`) for every loan of `loans`, one row per loan.

    Cross-default shares are taken over `loans`: pass all live loans, or all live loans of the debtors concerned.
    """
    frame = _loan_frame(loans)
    frame = (
        frame.join(_dpd_frame(loans, business_day), on="loan_id", how="left")
        .with_columns(pl.col("days_past_due").fill_null(0))
        .sort("loan_id")
    )
    frame = frame.join(_upgrade_evidence(loans, frame, business_day), on="loan_id", how="left").with_columns(
        pl.col("periods_paid_on_time").fill_null(0)
    )
    facts = engine.portfolio_facts(frame, business_day=business_day)
    return engine.classify_frame(facts, business_day=business_day)


def _live_loans() -> models.QuerySet[Loan]:
    return Loan.objects.filter(status__in=list(LIVE_STATUSES))


# --- writing ----------------------------------------------------------------------------------------------------


def _apply_transitions(
    rows: list[dict[str, Any]],
    *,
    business_day: datetime.date,
    source: str,
    acting_user: User | None,
    note: str = "",
) -> list[dict[str, Any]]:
    """Move each loan to its new class if nobody changed it since it was read; history rows and audit events.

    Returns the rows that moved; a loan changed concurrently (version or class no longer as read) is skipped.
    """
    moved = [
        row
        for row in rows
        if Loan.objects.filter(pk=row["loan_id"], version=row["version"], classification=row["current_class"]).update(
            classification=row["to_class"],
            classification_since=business_day,
            classification_source=source,
            days_past_due=row["days_past_due"],
            classified_on=business_day,
            version=F("version") + 1,
        )
        == 1
    ]
    changes = ClassificationChange.objects.bulk_create(
        [
            ClassificationChange(
                loan_id=row["loan_id"],
                business_day=business_day,
                from_class=row["current_class"],
                to_class=row["to_class"],
                source=source,
                days_past_due=row["days_past_due"],
                reasons=list(row["reasons"]),
                note=note,
                actor=acting_user if acting_user is not None and acting_user.pk else None,
            )
            for row in moved
        ],
        batch_size=1000,
    )
    for row, change in zip(moved, changes, strict=True):
        record_event(
            acting_user=acting_user,
            action="loan.classify",
            object_type=Loan._meta.label_lower,
            object_id=str(row["loan_id"]),
            object_repr=row["reference"],
            region_code=row["region_code"],
            old={"classification": row["current_class"]},
            new={"classification": row["to_class"]},
            extra={
                "business_day": business_day,
                "source": source,
                "days_past_due": row["days_past_due"],
                "reasons": change.reasons,
                "change_id": change.pk,
            },
        )
    return moved


def close_of_business(*, business_day: datetime.date, acting_user: User | None = None) -> CobSummary:
    """Classify every live loan for `business_day`; write days past due and the class transitions (日终批量)."""
    started = time.perf_counter()
    with transaction.atomic():
        decided = classify_loans(_live_loans(), business_day=business_day)
        moved = decided.filter(pl.col("to_class") != pl.col("current_class"))
        dpd_changed = decided.filter(
            (pl.col("to_class") == pl.col("current_class")) & (pl.col("days_past_due") != pl.col("stored_dpd"))
        )
        Loan.objects.bulk_update(
            [Loan(pk=pk, days_past_due=dpd) for pk, dpd in dpd_changed.select("loan_id", "days_past_due").iter_rows()],
            ["days_past_due"],
            batch_size=1000,
        )
        # classified_on moves for every loan examined: one statement, not one per loan.
        _live_loans().filter(Q(classified_on__isnull=True) | ~Q(classified_on=business_day)).update(
            classified_on=business_day
        )
        applied = _apply_transitions(
            moved.to_dicts(),
            business_day=business_day,
            source=ClassificationSource.ENGINE,
            acting_user=acting_user,
        )
        changes = Counter(f"{row['current_class']}→{row['to_class']}" for row in applied)
        conflicts = moved.height - len(applied)
        summary = CobSummary(
            business_day=business_day,
            loans_examined=decided.height,
            changes=dict(changes),
            days_past_due_updated=dpd_changed.height + moved.height,
            conflicts=conflicts,
            seconds=time.perf_counter() - started,
        )
        record_event(
            acting_user=acting_user,
            action="lending.close_of_business",
            object_type="lending.loan",
            object_repr=f"日终批量 {business_day.isoformat()}",
            extra=summary.as_dict(),
        )
    return summary


# --- manual actions ---------------------------------------------------------------------------------------------


def _require_bank_action(loan: Loan, user: User, action: str) -> None:
    scope = scope_for(user)
    is_bank = scope is not None and (scope.is_platform or scope.kind == OrganisationKind.BANK)
    if not is_bank or not Loan.objects.restrict(user, action).filter(pk=loan.pk).exists():
        raise PermissionDenied("only the lending bank acts on a loan's classification")


def _require_live(loan: Loan) -> None:
    if loan.status not in LIVE_STATUSES:
        raise _error("status", "只有已放款且未结清的贷款才进行五级分类。", "not_live")


def _require_reason(reason: str) -> str:
    reason = reason.strip()
    if not reason:
        raise _error("reason", "必须填写理由。", "required")
    return reason


def _update_loan(loan: Loan, **changes: Any) -> None:
    """Conditional update on the version read; a concurrent change makes the caller retry."""
    updated = Loan.objects.filter(pk=loan.pk, version=loan.version).update(version=F("version") + 1, **changes)
    if updated != 1:
        raise _error("version", "该贷款已被他人更改，请刷新后重试。", "stale")
    loan.refresh_from_db()


def _reclassify(loan: Loan, *, acting_user: User, note: str) -> None:
    """Recompute one loan now (cross-default over its debtor's live loans) and record a transition, if any."""
    day = business_date()
    decided = classify_loans(_live_loans().filter(borrower_id=loan.borrower_id), business_day=day)
    row = decided.filter(pl.col("loan_id") == loan.pk).to_dicts()[0]
    if row["to_class"] != row["current_class"]:
        if not _apply_transitions(
            [row], business_day=day, source=ClassificationSource.MANUAL, acting_user=acting_user, note=note
        ):
            raise _error("version", "该贷款已被他人更改，请刷新后重试。", "stale")
    else:
        Loan.objects.filter(pk=loan.pk).update(days_past_due=row["days_past_due"], classified_on=day)
    loan.refresh_from_db()


@transaction.atomic
def loan_classification_override(*, loan: Loan, to_class: str, reason: str, acting_user: User) -> Loan:
    """Set a manual class (人工认定) with its reason: a floor the rules cannot go below; reviewers or admins only."""
    _require_bank_action(loan, acting_user, Action.APPROVE)
    _require_live(loan)
    if to_class not in LoanClass.values:
        raise _error("to_class", "分类必须是正常、关注、次级、可疑或损失之一。", "invalid_choice")
    reason = _require_reason(reason)
    old = {"manual_class": loan.manual_class, "manual_class_reason": loan.manual_class_reason}
    _update_loan(loan, manual_class=to_class, manual_class_reason=reason)
    record_event(
        acting_user=acting_user,
        action="loan.classification_override",
        instance=loan,
        old=old,
        new={"manual_class": to_class, "manual_class_reason": reason},
    )
    _reclassify(loan, acting_user=acting_user, note=reason)
    return loan


@transaction.atomic
def loan_classification_override_clear(*, loan: Loan, reason: str, acting_user: User) -> Loan:
    """Remove the manual class; the rules decide again (a non-performing loan still needs the upgrade conditions)."""
    _require_bank_action(loan, acting_user, Action.APPROVE)
    _require_live(loan)
    reason = _require_reason(reason)
    if not loan.manual_class:
        raise _error("manual_class", "该贷款没有人工认定分类。", "no_override")
    old = {"manual_class": loan.manual_class, "manual_class_reason": loan.manual_class_reason}
    _update_loan(loan, manual_class="", manual_class_reason="")
    record_event(
        acting_user=acting_user,
        action="loan.classification_override_clear",
        instance=loan,
        old=old,
        new={"manual_class": "", "manual_class_reason": ""},
        extra={"reason": reason},
    )
    _reclassify(loan, acting_user=acting_user, note=reason)
    return loan


def restructure_observation_end(loan: Loan, restructured_on: datetime.date) -> datetime.date:
    """End of the observation period (重组观察期): at least one year and at least two repayment periods."""
    one_year = engine.add_months(restructured_on, 12)
    dues = list(
        loan.instalments.filter(due_date__gt=restructured_on)
        .order_by("due_date")
        .values_list("due_date", flat=True)[:2]
    )
    two_periods = (
        dues[1]
        if len(dues) == 2
        else engine.add_months(restructured_on, 2 * max(1, loan.repayment_interval_months or 1))
    )
    return max(one_year, two_periods)


@transaction.atomic
def loan_risk_flags_set(
    *,
    loan: Loan,
    acting_user: User,
    reason: str,
    funds_misused: bool | None = None,
    credit_impaired: bool | None = None,
    refinanced_by_new_loan: bool | None = None,
    external_rating_downgraded: bool | None = None,
    expected_loss_ratio: Decimal | None = None,
    restructured_on: datetime.date | None = None,
) -> Loan:
    """Record the events the classification rules read (挪用, 信用减值, 借新还旧, 评级下调, 预期损失, 重组).

    Arguments left as None keep their value. Setting `restructured_on` starts the observation period.
    """
    _require_bank_action(loan, acting_user, Action.CHANGE)
    _require_live(loan)
    reason = _require_reason(reason)
    changes: dict[str, Any] = {
        name: value
        for name, value in (
            ("funds_misused", funds_misused),
            ("credit_impaired", credit_impaired),
            ("refinanced_by_new_loan", refinanced_by_new_loan),
            ("external_rating_downgraded", external_rating_downgraded),
        )
        if value is not None
    }
    if expected_loss_ratio is not None:
        if not Decimal(0) <= expected_loss_ratio <= Decimal(1):
            raise _error("expected_loss_ratio", "预期信用损失率必须在 0 与 1 之间（如 0.5 表示 50%）。", "range")
        changes["expected_loss_ratio"] = expected_loss_ratio.quantize(Decimal("0.0001"))
    if restructured_on is not None:
        if restructured_on > business_date():
            raise _error("restructured_on", "重组日不能晚于当前业务日。", "future")
        changes["restructured_on"] = restructured_on
        changes["restructure_observation_until"] = restructure_observation_end(loan, restructured_on)
    if not changes:
        raise _error("reason", "没有需要更改的风险标识。", "nothing_to_change")
    old = {name: getattr(loan, name) for name in changes}
    _update_loan(loan, **changes)
    record_event(
        acting_user=acting_user,
        action="loan.risk_flags_set",
        instance=loan,
        old=old,
        new=changes,
        extra={"reason": reason},
    )
    _reclassify(loan, acting_user=acting_user, note=reason)
    return loan
