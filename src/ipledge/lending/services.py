"""Loan lifecycle services (贷款全流程): apply, due diligence, maker-checker approval, contract, pledge, disburse,
repay, reverse, renew (续贷), default, and the bank-level plans and reports.

State machine of a loan (`LoanStatus`):
    submitted → due_diligence → pending_approval → approved → contracted → active (→ defaulted)
    active → closed (paid off; files the pledge cancellation) | closed_by_renewal (无还本续贷)
    submitted / due_diligence / pending_approval (→ approved / contracted for the bank) → withdrawn; pending → rejected
Each transition is a conditional update on (pk, status, version), so two officers racing cannot both win; each
writes its audit event in the same transaction.

Rules decided here (documented for the UI and the API):
- The approved principal may not exceed the requested amount (`principal` rule `exceeds_requested`): a bank lends
  less than asked, never more without a new application.
- Repayments and disbursements are posted in value-date order and reversed newest first, so the schedule and the
  balances can always be replayed from the transactions.
- A prepayment (beyond what is due on the value date) first pays the interest accrued on the current period
  (actual/360), then principal; the remaining schedule is rebuilt with the same maturity (lower instalments).
- Renewal of a non-performing loan (次级 or worse) is refused (`renewal_non_performing`): that is restructuring,
  not renewal. 无还本续贷 rolls only principal: interest and penalty must be paid up to the renewal day. Renewal is
  a credit decision and needs the approving role (reviewer or admin) of the lending bank's tree.
- An LPR-linked rate is fixed at the first disbursement (that day's quote + spread) and moves on each repricing date
  (`lpr_reprice_due`, to be run daily by the close of business); rebuilds in between use the rate in force.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from collections.abc import Sequence
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from ipledge.core.audit import audited_create, audited_update, record_event, save_validated, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registration.choices import CancellationReason, RegistrationStatus
from ipledge.registration.models import PledgeRegistration
from ipledge.registration.monitoring import add_months
from ipledge.registry.models import Enterprise, IPRight, Park

from .choices import (
    LIVE_STATUSES,
    NON_PERFORMING_CLASSES,
    CoverKind,
    DueDiligenceItem,
    ImplementationStatus,
    InvestmentTermKind,
    LoanOrigin,
    LoanStatus,
    LprTenor,
    RateType,
    RenewalKind,
    RepaymentMethod,
    TransactionKind,
)
from .models import (
    BankNplReport,
    CreditPlan,
    ImplementationReport,
    Instalment,
    InvestmentLink,
    Loan,
    LoanCollateral,
    LoanCover,
    LoanTransaction,
    LprQuote,
)

date_ = datetime.date
MAX_TERM_MONTHS = 120
REFERENCE_ATTEMPTS = 8
# Before approval the borrower may still withdraw its own application; the bank may until the first disbursement.
BORROWER_WITHDRAWABLE = frozenset({LoanStatus.SUBMITTED, LoanStatus.DUE_DILIGENCE, LoanStatus.PENDING_APPROVAL})
BANK_WITHDRAWABLE = BORROWER_WITHDRAWABLE | {LoanStatus.APPROVED, LoanStatus.CONTRACTED}
MONEY_KINDS = (TransactionKind.DISBURSEMENT, TransactionKind.REPAYMENT)
# Engine field names → the service / API field the user typed.
ENGINE_FIELDS = {
    "principal_fen": "principal",
    "maturity": "term_months",
    "interval_months": "repayment_interval_months",
    "grace_until": "grace_months",
    "custom_principal": "custom_schedule",
    "method": "repayment_method",
    "rate_resets": "repricing_months",
}


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


# ---------------------------------------------------------------------------
# Who may do what
# ---------------------------------------------------------------------------


def _is_bank_officer(loan: Loan, user: User, action: str) -> bool:
    """A user of a bank whose tree contains the loan's bank, with a role allowing `action`."""
    scope = scope_for(user)
    if scope is None:
        return False
    if not scope.is_platform and scope.kind != OrganisationKind.BANK:
        return False
    return bool(Loan.objects.restrict(user, action).filter(pk=loan.pk).exists())


def _require_bank(loan: Loan, user: User, action: str) -> None:
    if not _is_bank_officer(loan, user, action):
        raise PermissionDenied("only the lending bank's officers may do this")


def _is_borrower(loan: Loan, user: User) -> bool:
    scope = scope_for(user)
    return (
        scope is not None
        and scope.kind == OrganisationKind.ENTERPRISE
        and scope.may(Action.CHANGE)
        and loan.borrower.organisation_id is not None
        and loan.borrower.organisation_id == scope.organisation_id
    )


def _may_act_for_bank(user: User, bank: Organisation, action: str) -> bool:
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return False
    if scope.is_platform:
        return True
    return scope.kind == OrganisationKind.BANK and bank.tree_path.startswith(scope.org_tree_path)


# ---------------------------------------------------------------------------
# Transitions and references
# ---------------------------------------------------------------------------


def _transition(loan: Loan, *, expected: Sequence[int], **changes: Any) -> None:
    """Move a loan on only if nobody moved it first (status and version unchanged since we read it)."""
    updated = Loan.objects.filter(pk=loan.pk, status__in=list(expected), version=loan.version).update(
        version=models.F("version") + 1, **changes
    )
    if updated != 1:
        current = Loan.objects.filter(pk=loan.pk).values_list("status", flat=True).first()
        if current is not None and current not in expected:
            raise _error(
                "status",
                f"贷款当前状态为“{LoanStatus(current).label}”，不能执行此操作。",
                "invalid_status",
            )
        raise _error("status", "该贷款已被他人更改，请刷新后重试。", "stale")
    loan.refresh_from_db()


def _require_status(loan: Loan, allowed: Sequence[int]) -> None:
    if loan.status not in allowed:
        raise _error("status", f"贷款当前状态为“{loan.get_status_display()}”，不能执行此操作。", "invalid_status")


def _lock(loan: Loan) -> Loan:
    """Re-read the loan under a row lock: money movements on one loan are serialised."""
    locked = Loan.objects.select_for_update().get(pk=loan.pk)
    loan.refresh_from_db()
    return locked


def _next_reference(bank: Organisation, on: datetime.date) -> str:
    prefix = f"DK{on.year}{bank.pk % 10000:04d}"
    last = (
        Loan.objects.filter(reference__startswith=prefix, reference__regex=rf"^{prefix}[0-9]{{6}}$")
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _insert_with_reference(loan: Loan, *, on: datetime.date) -> Loan:
    """Save a new loan under the next free reference; a concurrent insert of the same one retries with the next.

    The unique index on `reference` decides the race: the loser's savepoint rolls back and it reads the (now
    committed) maximum again.
    """
    for _attempt in range(REFERENCE_ATTEMPTS):
        loan.reference = _next_reference(loan.bank, on)
        try:
            with transaction.atomic():
                save_validated(loan)
            return loan
        except ValidationError as exc:
            if "reference" not in getattr(exc, "error_dict", {}):
                raise
            loan.pk = None
            loan._state.adding = True
        except IntegrityError:
            loan.pk = None
            loan._state.adding = True
    raise _error("reference", "贷款编号分配冲突，请重试。", "reference_conflict")


# ---------------------------------------------------------------------------
# Application and due diligence
# ---------------------------------------------------------------------------


@transaction.atomic
def loan_apply(
    *,
    borrower: Enterprise,
    bank: Organisation,
    requested_amount: Money,
    requested_term_months: int,
    acting_user: User,
    purpose: str = "",
    park: Park | None = None,
    origin: str = LoanOrigin.DIRECT,
) -> Loan:
    """An enterprise applies to a bank (or the bank records the application for it); status SUBMITTED."""
    scope = scope_for(acting_user)
    own_application = (
        scope is not None
        and scope.kind == OrganisationKind.ENTERPRISE
        and scope.may(Action.ADD)
        and borrower.organisation_id is not None
        and borrower.organisation_id == scope.organisation_id
    )
    if not own_application and not _may_act_for_bank(acting_user, bank, Action.ADD):
        raise PermissionDenied("only the borrower or the lending bank records an application")
    if bank.kind != OrganisationKind.BANK:
        raise _error("bank", "贷款机构必须是银行。", "bank_kind")
    if requested_amount.fen <= 0:
        raise _error("requested_amount", "申请金额必须大于零。", "positive")
    if not 1 <= requested_term_months <= MAX_TERM_MONTHS:
        raise _error("requested_term_months", f"申请期限必须在 1 至 {MAX_TERM_MONTHS} 个月之间。", "term_range")
    if origin == LoanOrigin.RENEWAL:
        raise _error("origin", "续贷请通过续贷操作办理。", "origin_renewal")
    if park is None:
        membership = borrower.memberships.filter(left_on__isnull=True).select_related("park").first()
        park = membership.park if membership is not None else None
    today = business_date()
    loan = Loan(  # type: ignore[misc]
        status=LoanStatus.SUBMITTED,
        origin=origin,
        borrower=borrower,
        bank=bank,
        park=park,
        region_code=borrower.region_code,
        purpose=purpose,
        requested_amount=requested_amount,
        requested_term_months=requested_term_months,
        created_by=acting_user if acting_user.pk else None,
    )
    _insert_with_reference(loan, on=today)
    record_event(acting_user=acting_user, action="loan.apply", instance=loan, new=snapshot(loan))
    return loan


@transaction.atomic
def loan_withdraw(*, loan: Loan, reason: str, acting_user: User) -> Loan:
    """The borrower withdraws before approval; the bank may withdraw (at the borrower's request) until disbursed."""
    if _is_borrower(loan, acting_user):
        allowed = BORROWER_WITHDRAWABLE
    elif _is_bank_officer(loan, acting_user, Action.CHANGE):
        allowed = BANK_WITHDRAWABLE
    else:
        raise PermissionDenied("only the borrower or the lending bank withdraws an application")
    if not reason.strip():
        raise _error("reason", "撤回申请必须说明原因。", "required")
    _require_status(loan, list(allowed))
    old = loan.status
    _transition(loan, expected=list(allowed), status=LoanStatus.WITHDRAWN, decision_note=reason.strip())
    record_event(
        acting_user=acting_user,
        action="loan.withdraw",
        instance=loan,
        old={"status": old},
        new={"status": loan.status},
        extra={"reason": reason},
    )
    return loan


def _empty_checklist() -> dict[str, dict[str, Any]]:
    return {item: {"done": False, "note": "", "by": None, "at": None} for item in DueDiligenceItem.values}


@transaction.atomic
def loan_due_diligence_start(*, loan: Loan, acting_user: User) -> Loan:
    """The bank opens its due-diligence checklist (尽职调查); every item starts undone."""
    _require_bank(loan, acting_user, Action.CHANGE)
    _require_status(loan, [LoanStatus.SUBMITTED])
    checklist = {**_empty_checklist(), **(loan.due_diligence or {})}
    _transition(loan, expected=[LoanStatus.SUBMITTED], status=LoanStatus.DUE_DILIGENCE, due_diligence=checklist)
    record_event(acting_user=acting_user, action="loan.due_diligence_start", instance=loan, new={"status": loan.status})
    return loan


@transaction.atomic
def loan_due_diligence_record(*, loan: Loan, item: str, done: bool, acting_user: User, note: str = "") -> Loan:
    """Answer one checklist item, with who and when; starting the checklist first if needed."""
    _require_bank(loan, acting_user, Action.CHANGE)
    if item not in DueDiligenceItem.values:
        raise _error("item", f"尽职调查事项“{item}”不存在。", "choice")
    if done is False and not note.strip():
        raise _error("note", "未完成的事项请说明原因。", "required")
    if loan.status == LoanStatus.SUBMITTED:
        loan_due_diligence_start(loan=loan, acting_user=acting_user)
    _require_status(loan, [LoanStatus.DUE_DILIGENCE])
    checklist = {**_empty_checklist(), **(loan.due_diligence or {})}
    before = dict(checklist[item])
    checklist[item] = {
        "done": bool(done),
        "note": note.strip(),
        "by": acting_user.get_username(),
        "at": business_now().isoformat(),
    }
    _transition(loan, expected=[LoanStatus.DUE_DILIGENCE], due_diligence=checklist)
    record_event(
        acting_user=acting_user,
        action="loan.due_diligence_record",
        instance=loan,
        old={item: before},
        new={item: checklist[item]},
    )
    return loan


def missing_due_diligence(loan: Loan) -> list[str]:
    checklist = loan.due_diligence or {}
    return [item for item in DueDiligenceItem.values if not (checklist.get(item) or {}).get("done")]


# ---------------------------------------------------------------------------
# Terms, schedules and approval
# ---------------------------------------------------------------------------


def lpr_rate_on(*, tenor: str, day: datetime.date) -> Decimal:
    """The LPR of a tenor in force on a day (the latest quote effective on or before it)."""
    if tenor not in LprTenor.values:
        raise _error("lpr_tenor", "LPR期限品种无效。", "choice")
    quote = LprQuote.objects.filter(tenor=tenor, effective_on__lte=day).order_by("-effective_on").first()
    if quote is None:
        raise _error("lpr_tenor", f"{day.isoformat()} 前没有 {tenor} LPR 报价。", "lpr_missing")
    return Decimal(quote.rate)


def _repricing_date(loan: Loan, day: datetime.date) -> datetime.date:
    """The date whose LPR sets an LPR-linked loan's rate on `day`: the first disbursement, or the latest repricing
    date (every `repricing_months` from it) on or before `day`. Before disbursement: `day` itself."""
    anchor = loan.first_disbursed_on
    if anchor is None or day <= anchor:
        return day
    if not loan.repricing_months:
        return anchor
    reference, k = anchor, 1
    while (following := add_months(anchor, k * loan.repricing_months)) <= day:
        reference, k = following, k + 1
    return reference


def _rate_on(loan: Loan, day: datetime.date) -> Decimal:
    """The contract rate in force on `day` (LPR-linked: the quote on the repricing date + the spread)."""
    if loan.rate_type == RateType.LPR:
        spread = Decimal(loan.lpr_spread_bp or 0) / Decimal(10000)
        return lpr_rate_on(tenor=loan.lpr_tenor, day=_repricing_date(loan, day)) + spread
    assert loan.annual_rate is not None
    return Decimal(loan.annual_rate)


def _rate_resets(loan: Loan, start: datetime.date, maturity: datetime.date) -> tuple[tuple[date_, Decimal], ...]:
    """LPR repricing dates after `start` whose quote is already published (later ones keep the current rate)."""
    if loan.rate_type != RateType.LPR or not loan.repricing_months or loan.first_disbursed_on is None:
        return ()
    anchor = loan.first_disbursed_on
    today = business_date()
    resets: list[tuple[datetime.date, Decimal]] = []
    k = 1
    while (day := add_months(anchor, k * loan.repricing_months)) < maturity and day <= today:
        if day > start:
            resets.append((day, _rate_on(loan, day)))
        k += 1
    return tuple(resets)


def _custom_plan(loan: Loan, *, principal_fen: int, start: datetime.date) -> tuple[tuple[date_, int], ...]:
    """The custom principal plan still ahead of `start`, scaled to the balance to amortise (tranches, prepayments)."""
    entries = sorted(
        (datetime.date.fromisoformat(str(e["due_date"])), Money(str(e["principal"])).fen)
        for e in (loan.custom_schedule or [])
    )
    ahead = [(day, fen) for day, fen in entries if day > start]
    if not ahead:
        raise _error("custom_schedule", "自定义还款计划中没有晚于起息日的还款日期。", "custom_no_dates")
    if sum(fen for _, fen in ahead) == principal_fen:
        return tuple(ahead)
    parts = Money.from_fen(principal_fen).allocate([fen for _, fen in ahead])
    return tuple((day, part.fen) for (day, _), part in zip(ahead, parts, strict=True))


def _schedule_terms(
    loan: Loan, *, principal_fen: int, start: datetime.date, maturity: datetime.date, first_number: int = 1
) -> Any:
    from .engine.schedule import ScheduleTerms

    anchor_source = loan.first_disbursed_on or start
    grace_until = add_months(anchor_source, loan.grace_months) if loan.grace_months else None
    custom: tuple[tuple[date_, int], ...] = ()
    if loan.repayment_method == RepaymentMethod.CUSTOM:
        custom = _custom_plan(loan, principal_fen=principal_fen, start=start)
    return ScheduleTerms(
        principal_fen=principal_fen,
        start=start,
        maturity=maturity,
        interval_months=loan.repayment_interval_months,
        method=loan.repayment_method,
        annual_rate=_rate_on(loan, start),
        anchor_day=anchor_source.day,
        grace_until=grace_until if grace_until is not None and grace_until > start else None,
        rate_resets=_rate_resets(loan, start, maturity),
        custom_principal=custom,
        first_number=first_number,
    )


def _build(terms: Any) -> list[Any]:
    from .engine.schedule import ScheduleError, build_schedule

    try:
        return build_schedule(terms)
    except ScheduleError as exc:
        field = ENGINE_FIELDS.get(str(getattr(exc, "field", "")), str(getattr(exc, "field", "")) or "principal")
        raise _error(field, str(getattr(exc, "message", exc)), str(getattr(exc, "code", "schedule"))) from exc


def _maturity(loan: Loan, start: datetime.date) -> datetime.date:
    if loan.repayment_method == RepaymentMethod.CUSTOM and loan.custom_schedule:
        return max(datetime.date.fromisoformat(str(e["due_date"])) for e in loan.custom_schedule)
    assert loan.term_months is not None
    return add_months(start, loan.term_months)


def _validate_custom(
    custom_schedule: list[dict[str, str]], principal: Money, today: datetime.date
) -> list[dict[str, str]]:
    cleaned: list[dict[str, str]] = []
    total = 0
    for i, entry in enumerate(custom_schedule):
        try:
            day = datetime.date.fromisoformat(str(entry["due_date"]))
            amount = Money(str(entry["principal"]).replace(",", ""))
        except (KeyError, ValueError, ArithmeticError) as exc:
            raise _error(
                "custom_schedule", f"第 {i + 1} 行应为 {{due_date: YYYY-MM-DD, principal: 金额}}。", "custom_format"
            ) from exc
        if amount.fen <= 0:
            raise _error("custom_schedule", f"第 {i + 1} 行还本金额必须大于零。", "custom_positive")
        if day <= today:
            raise _error("custom_schedule", f"第 {i + 1} 行还款日期必须晚于今天。", "custom_past_date")
        total += amount.fen
        cleaned.append({"due_date": day.isoformat(), "principal": f"{amount.amount:.2f}"})
    if len({e["due_date"] for e in cleaned}) != len(cleaned):
        raise _error("custom_schedule", "自定义还款计划的日期不能重复。", "custom_duplicate_date")
    if total != principal.fen:
        raise _error(
            "custom_schedule",
            f"自定义还款计划合计 {Money.from_fen(total)} 元，须等于批准金额 {principal} 元。",
            "custom_sum",
        )
    return sorted(cleaned, key=lambda e: e["due_date"])


@transaction.atomic
def loan_submit_for_approval(
    *,
    loan: Loan,
    principal: Money,
    term_months: int,
    repayment_method: str,
    acting_user: User,
    rate_type: str = RateType.FIXED,
    annual_rate: Decimal | None = None,
    lpr_tenor: str = "",
    lpr_spread_bp: int | None = None,
    repricing_months: int | None = None,
    repayment_interval_months: int = 1,
    grace_months: int = 0,
    penalty_markup: Decimal = Decimal("0.5"),
    custom_schedule: list[dict[str, str]] | None = None,
) -> Loan:
    """The officer (maker) proposes the terms once the checklist is complete; a trial schedule proves them."""
    _require_bank(loan, acting_user, Action.CHANGE)
    _require_status(loan, [LoanStatus.DUE_DILIGENCE])
    missing = missing_due_diligence(loan)
    if missing:
        labels = "、".join(str(DueDiligenceItem(m).label) for m in missing)
        raise _error("due_diligence", f"尽职调查尚未完成：{labels}。", "due_diligence_incomplete")
    today = business_date()
    if principal.fen <= 0:
        raise _error("principal", "批准金额必须大于零。", "positive")
    if principal > loan.requested_amount:
        raise _error("principal", f"批准金额不能超过申请金额 {loan.requested_amount} 元。", "exceeds_requested")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise _error("term_months", f"贷款期限必须在 1 至 {MAX_TERM_MONTHS} 个月之间。", "term_range")
    if repayment_method not in RepaymentMethod.values:
        raise _error("repayment_method", "还款方式无效。", "choice")
    if not 1 <= repayment_interval_months <= term_months:
        raise _error("repayment_interval_months", "还款间隔必须在 1 个月与贷款期限之间。", "interval_range")
    if not 0 <= grace_months < term_months:
        raise _error("grace_months", "宽限期必须小于贷款期限。", "grace_range")
    if not Decimal(0) <= penalty_markup <= Decimal(1):
        raise _error("penalty_markup", "罚息上浮比例必须在 0 与 1 之间（如 0.5 表示上浮 50%）。", "range")
    terms: dict[str, Any] = {
        "principal": principal,
        "term_months": term_months,
        "repayment_method": repayment_method,
        "rate_type": rate_type,
        "repayment_interval_months": repayment_interval_months,
        "grace_months": grace_months,
        "penalty_markup": penalty_markup,
        "custom_schedule": [],
        "lpr_tenor": "",
        "lpr_spread_bp": None,
        "repricing_months": None,
    }
    if rate_type == RateType.FIXED:
        if annual_rate is None:
            raise _error("annual_rate", "固定利率贷款必须填写年利率。", "required")
        if not Decimal(0) < annual_rate < Decimal(1):
            raise _error("annual_rate", "年利率必须在 0 与 1 之间（如 0.0385）。", "rate_range")
        terms["annual_rate"] = annual_rate
    elif rate_type == RateType.LPR:
        if not lpr_tenor:
            raise _error("lpr_tenor", "LPR浮动利率贷款必须选择LPR期限品种。", "required")
        if lpr_spread_bp is None:
            raise _error("lpr_spread_bp", "LPR浮动利率贷款必须填写加点（基点）。", "required")
        if repricing_months is not None and not 1 <= repricing_months <= MAX_TERM_MONTHS:
            raise _error("repricing_months", "重定价周期必须在 1 至 120 个月之间。", "range")
        rate = lpr_rate_on(tenor=lpr_tenor, day=today) + Decimal(lpr_spread_bp) / Decimal(10000)
        if not Decimal(0) < rate < Decimal(1):
            raise _error("lpr_spread_bp", "LPR加点后的利率必须在 0 与 1 之间。", "rate_range")
        terms.update(
            annual_rate=rate, lpr_tenor=lpr_tenor, lpr_spread_bp=lpr_spread_bp, repricing_months=repricing_months
        )
    else:
        raise _error("rate_type", "利率类型无效。", "choice")
    if repayment_method == RepaymentMethod.CUSTOM:
        if not custom_schedule:
            raise _error("custom_schedule", "自定义还款方式必须提供还本计划。", "required")
        terms["custom_schedule"] = _validate_custom(custom_schedule, principal, today)
    for name, value in terms.items():
        setattr(loan, name, value)
    # A trial schedule from today proves the terms can be amortised (the engine refuses impossible ones).
    maturity = _maturity(loan, today)
    if maturity <= today:
        raise _error("term_months", "到期日必须晚于今天。", "maturity_past")
    _build(_schedule_terms(loan, principal_fen=principal.fen, start=today, maturity=maturity))
    before = {"status": loan.status}
    _transition(
        loan,
        expected=[LoanStatus.DUE_DILIGENCE],
        status=LoanStatus.PENDING_APPROVAL,
        prepared_by=acting_user if acting_user.pk else None,
        prepared_at=business_now(),
        **terms,
    )
    record_event(
        acting_user=acting_user,
        action="loan.submit_for_approval",
        instance=loan,
        old=before,
        new={"status": loan.status, **terms},
    )
    return loan


@transaction.atomic
def loan_approve(*, loan: Loan, acting_user: User, note: str = "") -> Loan:
    """The checker approves; never the maker (审贷分离, also a database constraint)."""
    _require_bank(loan, acting_user, Action.APPROVE)
    _require_status(loan, [LoanStatus.PENDING_APPROVAL])
    if loan.prepared_by_id is not None and loan.prepared_by_id == acting_user.pk:
        raise _error("approved_by", "审批人不能是提交审批的同一人（审贷分离）。", "maker_is_checker")
    _transition(
        loan,
        expected=[LoanStatus.PENDING_APPROVAL],
        status=LoanStatus.APPROVED,
        approved_by=acting_user if acting_user.pk else None,
        approved_at=business_now(),
        decision_note=note,
    )
    record_event(
        acting_user=acting_user, action="loan.approve", instance=loan, new={"status": loan.status, "note": note}
    )
    return loan


@transaction.atomic
def loan_reject(*, loan: Loan, acting_user: User, note: str) -> Loan:
    _require_bank(loan, acting_user, Action.APPROVE)
    if not note.strip():
        raise _error("note", "拒绝贷款必须说明理由。", "required")
    allowed = [LoanStatus.SUBMITTED, LoanStatus.DUE_DILIGENCE, LoanStatus.PENDING_APPROVAL]
    _require_status(loan, allowed)
    if loan.prepared_by_id is not None and loan.prepared_by_id == acting_user.pk:
        raise _error("approved_by", "审批人不能是提交审批的同一人（审贷分离）。", "maker_is_checker")
    _transition(
        loan,
        expected=allowed,
        status=LoanStatus.REJECTED,
        approved_by=acting_user if loan.prepared_by_id and acting_user.pk else None,
        approved_at=business_now(),
        decision_note=note.strip(),
    )
    record_event(
        acting_user=acting_user, action="loan.reject", instance=loan, new={"status": loan.status, "note": note}
    )
    return loan


@transaction.atomic
def loan_contract_sign(*, loan: Loan, contract_no: str, signed_on: datetime.date, acting_user: User) -> Loan:
    _require_bank(loan, acting_user, Action.CHANGE)
    _require_status(loan, [LoanStatus.APPROVED])
    contract_no = contract_no.strip()
    if not contract_no:
        raise _error("contract_no", "请填写借款合同编号。", "required")
    if signed_on > business_date():
        raise _error("signed_on", "合同签订日不能晚于今天。", "future_date")
    if loan.approved_at is not None and signed_on < loan.approved_at.date():
        raise _error("signed_on", "合同签订日不能早于审批日。", "before_approval")
    _transition(
        loan,
        expected=[LoanStatus.APPROVED],
        status=LoanStatus.CONTRACTED,
        contract_no=contract_no,
        contract_signed_on=signed_on,
    )
    record_event(
        acting_user=acting_user,
        action="loan.contract_sign",
        instance=loan,
        new={"status": loan.status, "contract_no": contract_no, "contract_signed_on": signed_on},
    )
    return loan


# ---------------------------------------------------------------------------
# Collateral, covers, investments
# ---------------------------------------------------------------------------

PLEDGE_LINKABLE = frozenset({LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.ACTIVE})


@transaction.atomic
def loan_pledge_link(*, loan: Loan, registration: PledgeRegistration, acting_user: User) -> Loan:
    """Link the registered pledge securing the loan; its pledged rights become the loan's collateral."""
    _require_bank(loan, acting_user, Action.CHANGE)
    _require_status(loan, list(PLEDGE_LINKABLE))
    if registration.status != RegistrationStatus.ACTIVE:
        raise _error("registration", "只能关联有效的质押登记。", "registration_inactive")
    if registration.pledgor_id != loan.borrower_id:
        raise _error("registration", "质押登记的出质人必须是借款企业。", "pledgor_mismatch")
    pledgee_path = registration.pledgee.tree_path
    bank_path = loan.bank.tree_path
    if not (pledgee_path.startswith(bank_path) or bank_path.startswith(pledgee_path)):
        raise _error("registration", "质押登记的质权人必须是贷款银行本身、其下级或上级机构。", "pledgee_mismatch")
    old = loan.pledge_registration_id
    _transition(loan, expected=list(PLEDGE_LINKABLE), pledge_registration=registration, is_ip_pledge=True)
    existing = set(loan.collateral.values_list("ip_right_id", flat=True))
    rights = registration.pledged_rights.filter(is_active=True).values_list("ip_right_id", flat=True)
    LoanCollateral.objects.bulk_create(
        [LoanCollateral(loan=loan, ip_right_id=right_id) for right_id in rights if right_id not in existing]
    )
    record_event(
        acting_user=acting_user,
        action="loan.pledge_link",
        instance=loan,
        old={"pledge_registration": old},
        new={"pledge_registration": registration.pk},
        extra={"registration_no": registration.registration_no},
    )
    return loan


@transaction.atomic
def collateral_add(
    *,
    loan: Loan,
    ip_right: IPRight,
    acting_user: User,
    appraised_value: Money | None = None,
    appraised_on: datetime.date | None = None,
    valuer_name: str = "",
) -> LoanCollateral:
    """Add a right as collateral, or record its appraisal when it is already there (pledge rate 质押率)."""
    _require_bank(loan, acting_user, Action.CHANGE)
    if appraised_value is not None and appraised_value.fen <= 0:
        raise _error("appraised_value", "评估价值必须大于零。", "positive")
    if appraised_value is not None and appraised_on is None:
        raise _error("appraised_on", "填写评估价值时须填写评估基准日。", "required")
    existing = loan.collateral.filter(ip_right=ip_right).first()
    if existing is not None:
        data: dict[str, Any] = {}
        if appraised_value is not None:
            data.update(appraised_value=appraised_value, appraised_on=appraised_on)
        if valuer_name:
            data["valuer_name"] = valuer_name
        return audited_update(instance=existing, data=data, acting_user=acting_user, action="loan_collateral.update")
    if not ip_right.owners.filter(enterprise=loan.borrower).exists():
        raise _error("ip_right", "质押物必须是借款企业（共有）的知识产权。", "not_borrowers_right")
    return audited_create(
        instance=LoanCollateral(  # type: ignore[misc]
            loan=loan,
            ip_right=ip_right,
            appraised_value=appraised_value,
            appraised_on=appraised_on,
            valuer_name=valuer_name,
        ),
        acting_user=acting_user,
        action="loan_collateral.create",
    )


@transaction.atomic
def implementation_report_add(
    *, collateral: LoanCollateral, status: str, reported_on: datetime.date, acting_user: User, note: str = ""
) -> ImplementationReport:
    """A dated report of whether a pledged patent is implemented (实施情况, T3); by the bank or the borrower."""
    loan = collateral.loan
    if not (_is_bank_officer(loan, acting_user, Action.CHANGE) or _is_borrower(loan, acting_user)):
        raise PermissionDenied("only the lending bank or the borrower reports implementation")
    if status not in ImplementationStatus.values:
        raise _error("status", "实施情况无效。", "choice")
    if reported_on > business_date():
        raise _error("reported_on", "报告日不能晚于今天。", "future_date")
    return audited_create(
        instance=ImplementationReport(
            collateral=collateral,
            status=status,
            reported_on=reported_on,
            note=note,
            reported_by=acting_user if acting_user.pk else None,
        ),
        acting_user=acting_user,
        action="implementation_report.create",
    )


@transaction.atomic
def cover_add(
    *,
    loan: Loan,
    kind: str,
    provider_name: str,
    cover_ratio: Decimal,
    acting_user: User,
    provider: Organisation | None = None,
    policy_no: str = "",
    valid_until: datetime.date | None = None,
) -> LoanCover:
    """Attach a guarantee, insurance or risk-compensation cover with the share of loss it bears."""
    _require_bank(loan, acting_user, Action.CHANGE)
    if kind not in CoverKind.values:
        raise _error("kind", "增信方式无效。", "choice")
    if not Decimal(0) < cover_ratio <= Decimal(1):
        raise _error("cover_ratio", "分担比例必须大于 0 且不超过 1。", "range")
    if provider is not None:
        provider_name = provider_name or provider.name
    if not provider_name.strip():
        raise _error("provider_name", "请填写增信机构名称。", "required")
    current = sum((Decimal(c) for c in loan.covers.values_list("cover_ratio", flat=True)), Decimal(0))
    if current + cover_ratio > Decimal(1):
        raise _error("cover_ratio", f"各项增信分担比例合计不能超过 1（已有 {current}）。", "total_exceeds_one")
    return audited_create(
        instance=LoanCover(
            loan=loan,
            kind=kind,
            provider=provider,
            provider_name=provider_name.strip(),
            cover_ratio=cover_ratio,
            policy_no=policy_no,
            valid_until=valid_until,
        ),
        acting_user=acting_user,
        action="loan_cover.create",
    )


@transaction.atomic
def investment_link_add(
    *,
    loan: Loan,
    investor_name: str,
    term_kind: str,
    acting_user: User,
    investor: Organisation | None = None,
    amount: Money | None = None,
    equity_ratio: Decimal | None = None,
    exercise_deadline: datetime.date | None = None,
    terms: str = "",
) -> InvestmentLink:
    """Record an investor alongside the loan (投贷联动, W3) with its option or equity terms."""
    _require_bank(loan, acting_user, Action.CHANGE)
    if term_kind not in InvestmentTermKind.values:
        raise _error("term_kind", "联动方式无效。", "choice")
    if investor is not None:
        investor_name = investor_name or investor.name
    if not investor_name.strip():
        raise _error("investor_name", "请填写投资机构名称。", "required")
    if amount is not None and amount.fen <= 0:
        raise _error("amount", "投资金额必须大于零。", "positive")
    if equity_ratio is not None and not Decimal(0) < equity_ratio <= Decimal(1):
        raise _error("equity_ratio", "股权比例必须大于 0 且不超过 1。", "range")
    if term_kind == InvestmentTermKind.OPTION and exercise_deadline is None:
        raise _error("exercise_deadline", "认股选择权须填写行权期限。", "required")
    return audited_create(
        instance=InvestmentLink(  # type: ignore[misc]
            loan=loan,
            investor=investor,
            investor_name=investor_name.strip(),
            term_kind=term_kind,
            amount=amount,
            equity_ratio=equity_ratio,
            exercise_deadline=exercise_deadline,
            terms=terms,
        ),
        acting_user=acting_user,
        action="investment_link.create",
    )


# ---------------------------------------------------------------------------
# Schedule state (the instalments as the arrears engine sees them)
# ---------------------------------------------------------------------------


def penalty_rate(loan: Loan) -> Decimal:
    """Penalty interest rate (罚息利率) = contract rate × (1 + markup)."""
    return Decimal(loan.annual_rate or 0) * (Decimal(1) + Decimal(loan.penalty_markup))


def payment_history(loan: Loan) -> dict[int, list[tuple[date_, int]]]:
    """Per instalment number: (value date, fen of principal + interest) applied by non-reversed repayments."""
    history: dict[int, list[tuple[date_, int]]] = defaultdict(list)
    repayments = loan.transactions.filter(
        kind__in=[TransactionKind.REPAYMENT, TransactionKind.RENEWAL_ROLLOVER], reversed_at__isnull=True
    ).order_by("value_date", "pk")
    for tx in repayments:
        for line in tx.allocation or []:
            if line.get("number") is None:
                continue
            fen = Money(str(line.get("principal", "0"))).fen + Money(str(line.get("interest", "0"))).fen
            if fen:
                history[int(line["number"])].append((tx.value_date, fen))
    return history


def instalment_states(loan: Loan, instalments: Sequence[Instalment] | None = None) -> list[Any]:
    from .engine.arrears import InstalmentState

    rows = list(instalments) if instalments is not None else list(loan.instalments.order_by("number"))
    history = payment_history(loan)
    return [
        InstalmentState(
            number=i.number,
            due_date=i.due_date,
            principal_due_fen=i.principal_due.fen,
            interest_due_fen=i.interest_due.fen,
            principal_paid_fen=i.principal_paid.fen,
            interest_paid_fen=i.interest_paid.fen,
            penalty_paid_fen=i.penalty_paid.fen,
            payments=tuple(history.get(i.number, ())),
        )
        for i in rows
    ]


def _unpaid_principal(rows: Sequence[Instalment]) -> int:
    return sum(i.principal_due.fen - i.principal_paid.fen for i in rows)


def accrued_interest_fen(instalments: Sequence[Instalment], *, on: datetime.date) -> tuple[int, Instalment | None]:
    """Interest of the current period (the first instalment due after `on`) earned up to `on`, actual/360.

    It is what the current instalment charges minus what its balance still earns from `on` to its due date: exact
    however many tranches or prepayments fell inside the period, since each rebuild carries the part before it.
    """
    future = [i for i in instalments if i.due_date > on]
    if not future:
        return 0, None
    current = future[0]
    balance = _unpaid_principal(future)
    remaining = _round_fen(
        Decimal(balance) * Decimal(current.annual_rate) * Decimal((current.due_date - on).days) / Decimal(360)
    )
    carried = current.interest_due.fen - remaining
    return max(0, min(carried, current.interest_due.fen)), current


def _rebuild(loan: Loan, *, on: datetime.date, carried: int, current_paid: tuple[int, int] | None = None) -> None:
    """Rebuild the instalments due after `on` from the loan's outstanding principal, keeping those due by then.

    The current period keeps its start and the interest earned before `on` (`carried`), plus what was already paid
    on it early (`current_paid`: principal, interest — prepayments); later periods are amortised afresh to the same
    maturity, numbered on from the kept ones.
    """
    rows = list(Instalment.objects.filter(loan=loan).order_by("number"))
    kept = [i for i in rows if i.due_date <= on]
    future = [i for i in rows if i.due_date > on]
    current = future[0] if future else None
    paid_principal, paid_interest = current_paid or (
        (current.principal_paid.fen, current.interest_paid.fen) if current is not None else (0, 0)
    )
    # Principal paid early on the current period is no longer outstanding but stays on its instalment.
    balance = loan.outstanding_principal.fen - _unpaid_principal(kept)
    Instalment.objects.filter(pk__in=[i.pk for i in future]).delete()
    first_number = len(kept) + 1
    period_start = current.period_start if current is not None else on
    new_rows: list[Instalment] = []
    if balance > 0:
        assert loan.maturity_date is not None
        if loan.maturity_date <= on:
            raise _error("value_date", "交易日已到或超过贷款到期日，不能重新生成还款计划。", "after_maturity")
        terms = _schedule_terms(
            loan, principal_fen=balance, start=on, maturity=loan.maturity_date, first_number=first_number
        )
        for k, s in enumerate(_build(terms)):
            first = k == 0
            new_rows.append(
                Instalment(  # type: ignore[misc]
                    loan=loan,
                    number=s.number,
                    period_start=period_start if first else s.period_start,
                    due_date=s.due_date,
                    annual_rate=s.annual_rate,
                    principal_due=Money.from_fen(s.principal_fen + (paid_principal if first else 0)),
                    interest_due=Money.from_fen(s.interest_fen + (carried if first else 0)),
                    principal_paid=Money.from_fen(paid_principal if first else 0),
                    interest_paid=Money.from_fen(paid_interest if first else 0),
                )
            )
    elif current is not None and (paid_principal or carried):
        # Paid off early: the current period ends with what was earned and paid; nothing follows it.
        settled = paid_interest >= carried
        new_rows.append(
            Instalment(  # type: ignore[misc]
                loan=loan,
                number=first_number,
                period_start=period_start,
                due_date=current.due_date,
                annual_rate=current.annual_rate,
                principal_due=Money.from_fen(paid_principal),
                interest_due=Money.from_fen(max(carried, paid_interest)),
                principal_paid=Money.from_fen(paid_principal),
                interest_paid=Money.from_fen(paid_interest),
                settled_on=on if settled else None,
            )
        )
    Instalment.objects.bulk_create(new_rows)


# ---------------------------------------------------------------------------
# Money movements
# ---------------------------------------------------------------------------


def _replay(loan: Loan, *, key: str, kind: str, amount: Money, value_date: datetime.date) -> LoanTransaction | None:
    """The transaction already posted under this idempotency key, if any (the same request sent again)."""
    if not key:
        return None
    existing = LoanTransaction.objects.filter(loan=loan, idempotency_key=key).first()
    if existing is None:
        return None
    if existing.kind != kind or existing.amount != amount or existing.value_date != value_date:
        raise _error(
            "idempotency_key",
            "该幂等键已用于本笔贷款的另一笔不同交易（类型、金额或日期不同）。",
            "idempotency_mismatch",
        )
    return existing


def _check_value_date(loan: Loan, value_date: datetime.date) -> None:
    if value_date > business_date():
        raise _error("value_date", "交易日不能晚于今天。", "future_date")
    last = (
        loan.transactions.filter(kind__in=MONEY_KINDS, reversed_at__isnull=True)
        .order_by("-value_date")
        .values_list("value_date", flat=True)
        .first()
    )
    if last is not None and value_date < last:
        raise _error(
            "value_date", f"交易日不能早于最近一笔交易日 {last.isoformat()}（请先冲正后续交易）。", "value_date_order"
        )


def _post(
    loan: Loan, *, key: str, kind: str, amount: Money, value_date: datetime.date, acting_user: User, **fields: Any
) -> LoanTransaction:
    """Insert the transaction; a concurrent request with the same idempotency key makes this one fail and roll back."""
    tx = LoanTransaction(  # type: ignore[misc]
        loan=loan,
        kind=kind,
        value_date=value_date,
        amount=amount,
        idempotency_key=key,
        posted_by=acting_user if acting_user.pk else None,
        **fields,
    )
    save_validated(tx)
    return tx


def _idempotent(run: Any, *, loan: Loan, key: str, kind: str, amount: Money, value_date: date_) -> LoanTransaction:
    """Run a posting; if another request with the same key won the race, answer with its transaction instead."""
    try:
        with transaction.atomic():
            return run()  # type: ignore[no-any-return]
    except (IntegrityError, ValidationError):
        winner = _replay(loan, key=key, kind=kind, amount=amount, value_date=value_date) if key else None
        if winner is None:
            raise
        return winner


def loan_disburse(
    *, loan: Loan, amount: Money, value_date: datetime.date, acting_user: User, idempotency_key: str = ""
) -> LoanTransaction:
    """Lend a tranche (放款). The first sets the maturity; each rebuilds the unpaid schedule from the new balance."""
    with transaction.atomic():
        _require_bank(loan, acting_user, Action.CHANGE)
        key = idempotency_key.strip()
        _lock(loan)
        replay = _replay(loan, key=key, kind=TransactionKind.DISBURSEMENT, amount=amount, value_date=value_date)
        if replay is not None:
            return replay
        return _idempotent(
            lambda: _disburse(loan, amount=amount, value_date=value_date, key=key, acting_user=acting_user),
            loan=loan,
            key=key,
            kind=TransactionKind.DISBURSEMENT,
            amount=amount,
            value_date=value_date,
        )


def _disburse(loan: Loan, *, amount: Money, value_date: datetime.date, key: str, acting_user: User) -> LoanTransaction:
    _require_status(loan, [LoanStatus.CONTRACTED, LoanStatus.ACTIVE])
    if amount.fen <= 0:
        raise _error("amount", "放款金额必须大于零。", "positive")
    assert loan.principal is not None
    available = loan.principal - loan.disbursed_amount
    if amount > available:
        raise _error("amount", f"累计放款不能超过批准金额：本次最多可放 {available} 元。", "exceeds_principal")
    if loan.is_ip_pledge and (
        loan.pledge_registration is None or loan.pledge_registration.status != RegistrationStatus.ACTIVE
    ):
        raise _error(
            "pledge_registration",
            "知识产权质押贷款须先关联有效的质押登记方可放款（质权自办理出质登记时设立，《民法典》第444条）。",
            "pledge_required",
        )
    _check_value_date(loan, value_date)
    if loan.contract_signed_on is not None and value_date < loan.contract_signed_on:
        raise _error("value_date", "放款日不能早于合同签订日。", "before_contract")
    first = loan.first_disbursed_on is None
    if not first and loan.maturity_date is not None and value_date >= loan.maturity_date:
        raise _error("value_date", "放款日必须早于贷款到期日。", "after_maturity")
    carried, _ = accrued_interest_fen(list(loan.instalments.order_by("number")), on=value_date)
    old = snapshot(loan, fields=["status", "disbursed_amount", "outstanding_principal", "maturity_date"])
    changes: dict[str, Any] = {
        "status": LoanStatus.ACTIVE,
        "disbursed_amount": loan.disbursed_amount + amount,
        "outstanding_principal": loan.outstanding_principal + amount,
    }
    if first:
        loan.first_disbursed_on = value_date
        changes.update(first_disbursed_on=value_date, maturity_date=_maturity(loan, value_date))
        if loan.rate_type == RateType.LPR:
            # The LPR-linked rate is fixed at disbursement (the quote of that day), not at approval.
            changes["annual_rate"] = _rate_on(loan, value_date)
    tx = _post(
        loan,
        key=key,
        kind=TransactionKind.DISBURSEMENT,
        amount=amount,
        value_date=value_date,
        acting_user=acting_user,
        principal_part=amount,
    )
    _transition(loan, expected=[LoanStatus.CONTRACTED, LoanStatus.ACTIVE], **changes)
    _rebuild(loan, on=value_date, carried=carried)
    record_event(
        acting_user=acting_user,
        action="loan.disburse",
        instance=loan,
        old=old,
        new=snapshot(loan, fields=["status", "disbursed_amount", "outstanding_principal", "maturity_date"]),
        extra={"transaction": tx.pk, "amount": amount, "value_date": value_date, "idempotency_key": key},
    )
    return tx


def payoff_fen(loan: Loan, *, on: datetime.date) -> int:
    """Everything to pay to settle the loan on `on`: principal, interest due and accrued, penalty."""
    from .selectors import loan_position

    return loan_position(loan, as_of=on).payoff_amount.fen


def loan_repay(
    *, loan: Loan, amount: Money, value_date: datetime.date, acting_user: User, idempotency_key: str = ""
) -> LoanTransaction:
    """Post a repayment (还款): penalty, interest, principal of overdue instalments oldest first, then what is due
    on the value date; the rest prepays principal. Paying everything closes the loan and files the pledge
    cancellation (注销登记) when the acting officer may."""
    with transaction.atomic():
        _require_bank(loan, acting_user, Action.CHANGE)
        key = idempotency_key.strip()
        _lock(loan)
        replay = _replay(loan, key=key, kind=TransactionKind.REPAYMENT, amount=amount, value_date=value_date)
        if replay is not None:
            return replay
        return _idempotent(
            lambda: _repay(loan, amount=amount, value_date=value_date, key=key, acting_user=acting_user),
            loan=loan,
            key=key,
            kind=TransactionKind.REPAYMENT,
            amount=amount,
            value_date=value_date,
        )


def _repay(
    loan: Loan,
    *,
    amount: Money,
    value_date: datetime.date,
    key: str,
    acting_user: User,
    file_cancellation: bool = True,
) -> LoanTransaction:
    from .engine.arrears import allocate_payment

    _require_status(loan, list(LIVE_STATUSES))
    if amount.fen <= 0:
        raise _error("amount", "还款金额必须大于零。", "positive")
    _check_value_date(loan, value_date)
    if loan.first_disbursed_on is not None and value_date < loan.first_disbursed_on:
        raise _error("value_date", "还款日不能早于首次放款日。", "before_disbursement")
    payoff = payoff_fen(loan, on=value_date)
    if amount.fen > payoff:
        raise _error(
            "amount",
            f"还款金额超过 {value_date.isoformat()} 的结清金额 {Money.from_fen(payoff)} 元。",
            "exceeds_payoff",
        )
    rows = list(loan.instalments.order_by("number"))
    carried, current = accrued_interest_fen(rows, on=value_date)
    allocation = allocate_payment(
        instalment_states(loan, rows), amount_fen=amount.fen, value_date=value_date, penalty_rate=penalty_rate(loan)
    )
    by_number = {i.number: i for i in rows}
    lines: list[dict[str, Any]] = []
    principal = interest = penalty = 0
    for line in allocation.lines:
        inst = by_number[line.number]
        inst.principal_paid = inst.principal_paid + Money.from_fen(line.principal_fen)
        inst.interest_paid = inst.interest_paid + Money.from_fen(line.interest_fen)
        inst.penalty_paid = inst.penalty_paid + Money.from_fen(line.penalty_fen)
        if inst.principal_paid == inst.principal_due and inst.interest_paid == inst.interest_due:
            inst.settled_on = inst.settled_on or value_date
        inst.save(update_fields=["principal_paid", "interest_paid", "penalty_paid", "settled_on"])
        principal += line.principal_fen
        interest += line.interest_fen
        penalty += line.penalty_fen
        lines.append(_line(line.number, line.principal_fen, line.interest_fen, line.penalty_fen))
    prepayment = allocation.prepayment_fen
    prepaid_principal = 0
    if prepayment:
        assert current is not None
        accrued_unpaid = max(0, carried - current.interest_paid.fen)
        prepaid_interest = min(prepayment, accrued_unpaid)
        prepaid_principal = prepayment - prepaid_interest
        interest += prepaid_interest
        principal += prepaid_principal
        lines.append(_line(current.number, prepaid_principal, prepaid_interest, 0, prepayment=True))
    old = snapshot(loan, fields=["status", "outstanding_principal", "closed_on"])
    outstanding = loan.outstanding_principal - Money.from_fen(principal)
    tx = _post(
        loan,
        key=key,
        kind=TransactionKind.REPAYMENT,
        amount=amount,
        value_date=value_date,
        acting_user=acting_user,
        principal_part=Money.from_fen(principal),
        interest_part=Money.from_fen(interest),
        penalty_part=Money.from_fen(penalty),
        allocation=lines,
    )
    _transition(loan, expected=list(LIVE_STATUSES), outstanding_principal=outstanding)
    if prepayment:
        assert current is not None
        _rebuild(
            loan,
            on=value_date,
            carried=carried,
            current_paid=(
                current.principal_paid.fen + prepaid_principal,
                current.interest_paid.fen + (prepayment - prepaid_principal),
            ),
        )
    outcome: dict[str, Any] = {}
    if outstanding.fen == 0 and not _has_unpaid(loan):
        outcome = _close(loan, on=value_date, acting_user=acting_user, file_cancellation=file_cancellation)
        tx.note = outcome["note"][:255]
        tx.save(update_fields=["note"])
    record_event(
        acting_user=acting_user,
        action="loan.repay",
        instance=loan,
        old=old,
        new=snapshot(loan, fields=["status", "outstanding_principal", "closed_on"]),
        extra={
            "transaction": tx.pk,
            "amount": amount,
            "value_date": value_date,
            "principal": Money.from_fen(principal),
            "interest": Money.from_fen(interest),
            "penalty": Money.from_fen(penalty),
            "prepayment": Money.from_fen(prepayment),
            "idempotency_key": key,
            **outcome,
        },
    )
    return tx


def _line(number: int, principal: int, interest: int, penalty: int, *, prepayment: bool = False) -> dict[str, Any]:
    line: dict[str, Any] = {
        "number": number,
        "principal": str(Money.from_fen(principal).amount),
        "interest": str(Money.from_fen(interest).amount),
        "penalty": str(Money.from_fen(penalty).amount),
    }
    if prepayment:
        line["prepayment"] = True
    return line


def _has_unpaid(loan: Loan) -> bool:
    return loan.instalments.filter(
        models.Q(principal_paid__lt=models.F("principal_due")) | models.Q(interest_paid__lt=models.F("interest_due"))
    ).exists()


def _close(loan: Loan, *, on: datetime.date, acting_user: User, file_cancellation: bool) -> dict[str, Any]:
    """Close a paid-off loan; file the pledge cancellation unless another live loan still relies on the pledge."""
    _transition(loan, expected=list(LIVE_STATUSES), status=LoanStatus.CLOSED, closed_on=on)
    outcome: dict[str, Any] = {"closed": True, "pledge_cancellation": "none", "note": "已结清。"}
    registration = loan.pledge_registration
    if registration is None or not file_cancellation:
        return outcome
    from ipledge.registration.services import cancellation_file

    others = Loan.objects.filter(pledge_registration=registration).exclude(pk=loan.pk)
    if others.exclude(
        status__in=[LoanStatus.CLOSED, LoanStatus.CLOSED_BY_RENEWAL, LoanStatus.WITHDRAWN, LoanStatus.REJECTED]
    ).exists():
        return {**outcome, "pledge_cancellation": "still_securing", "note": "已结清；质押登记仍担保其他贷款，未注销。"}
    if registration.status != RegistrationStatus.ACTIVE:
        return {**outcome, "pledge_cancellation": "already_cancelled", "note": "已结清；质押登记已注销。"}
    try:
        with transaction.atomic():
            filing = cancellation_file(
                registration=registration, reason=CancellationReason.REPAID, acting_user=acting_user
            )
    except (PermissionDenied, ValidationError) as exc:
        return {
            **outcome,
            "pledge_cancellation": "not_filed",
            "pledge_cancellation_reason": str(exc),
            "note": f"已结清；质押注销登记未能由本机构提交，请由质权人 {registration.pledgee.name} 办理。",
        }
    return {
        **outcome,
        "pledge_cancellation": "filed",
        "pledge_cancellation_filing": filing.pk,
        "note": f"已结清；已提交质押注销登记申请（登记号 {registration.registration_no}）。",
    }


@transaction.atomic
def loan_transaction_reverse(*, transaction: LoanTransaction, reason: str, acting_user: User) -> LoanTransaction:  # noqa: PLR0912
    """Reverse (冲正) a disbursement or repayment, newest first; it stays on the loan, flagged, never deleted."""
    tx = transaction
    loan = tx.loan
    _require_bank(loan, acting_user, Action.CHANGE)
    _lock(loan)
    tx.refresh_from_db()
    if not reason.strip():
        raise _error("reason", "冲正必须说明原因。", "required")
    if tx.reversed_at is not None:
        raise _error("transaction", "该交易已冲正。", "already_reversed")
    if tx.kind not in MONEY_KINDS:
        raise _error("transaction", "只能冲正放款或还款交易。", "not_reversible")
    _require_status(loan, [*LIVE_STATUSES, LoanStatus.CLOSED])
    later = (
        loan.transactions.filter(kind__in=MONEY_KINDS, reversed_at__isnull=True)
        .filter(models.Q(value_date__gt=tx.value_date) | models.Q(value_date=tx.value_date, pk__gt=tx.pk))
        .order_by("value_date", "pk")
        .first()
    )
    if later is not None:
        raise _error(
            "transaction",
            f"须先冲正其后的{later.get_kind_display()}（{later.value_date.isoformat()}，{later.amount} 元）。",
            "later_transaction",
        )
    rows = list(loan.instalments.order_by("number"))
    carried, _ = accrued_interest_fen(rows, on=tx.value_date)
    old = snapshot(loan, fields=["status", "disbursed_amount", "outstanding_principal", "closed_on"])
    changes: dict[str, Any] = {}
    rebuild = False
    if tx.kind == TransactionKind.REPAYMENT:
        by_number = {i.number: i for i in rows}
        for line in tx.allocation or []:
            inst = by_number.get(int(line["number"]))
            if inst is None:
                raise _error("transaction", "还款计划已变更，无法冲正该笔还款。", "schedule_changed")
            inst.principal_paid = inst.principal_paid - Money(str(line["principal"]))
            inst.interest_paid = inst.interest_paid - Money(str(line["interest"]))
            inst.penalty_paid = inst.penalty_paid - Money(str(line["penalty"]))
            inst.settled_on = None
            inst.save(update_fields=["principal_paid", "interest_paid", "penalty_paid", "settled_on"])
            rebuild = rebuild or bool(line.get("prepayment"))
        changes["outstanding_principal"] = loan.outstanding_principal + tx.principal_part
        if loan.status == LoanStatus.CLOSED:
            changes.update(status=LoanStatus.ACTIVE, closed_on=None)
    else:
        if loan.status == LoanStatus.CLOSED:
            raise _error("transaction", "已结清贷款须先冲正结清还款。", "later_transaction")
        changes.update(
            disbursed_amount=loan.disbursed_amount - tx.amount,
            outstanding_principal=loan.outstanding_principal - tx.amount,
        )
        if changes["disbursed_amount"].fen == 0:
            changes.update(status=LoanStatus.CONTRACTED, first_disbursed_on=None, maturity_date=None)
        else:
            rebuild = True
    _transition(loan, expected=[*LIVE_STATUSES, LoanStatus.CLOSED], **changes)
    if loan.status == LoanStatus.CONTRACTED:
        loan.instalments.all().delete()
    elif rebuild:
        _rebuild(loan, on=tx.value_date, carried=carried)
    updated = LoanTransaction.objects.filter(pk=tx.pk, reversed_at__isnull=True).update(
        reversed_at=business_now(), reversed_by=acting_user if acting_user.pk else None, reversal_reason=reason.strip()
    )
    if updated != 1:
        raise _error("transaction", "该交易已冲正。", "already_reversed")
    tx.refresh_from_db()
    record_event(
        acting_user=acting_user,
        action="loan.transaction_reverse",
        instance=loan,
        old=old,
        new=snapshot(loan, fields=["status", "disbursed_amount", "outstanding_principal", "closed_on"]),
        extra={"transaction": tx.pk, "kind": tx.kind, "amount": tx.amount, "reason": reason},
    )
    return tx


# ---------------------------------------------------------------------------
# LPR repricing (重定价)
# ---------------------------------------------------------------------------


def is_repricing_day(loan: Loan, day: datetime.date) -> bool:
    if loan.rate_type != RateType.LPR or not loan.repricing_months or loan.first_disbursed_on is None:
        return False
    if loan.maturity_date is None or day >= loan.maturity_date or day <= loan.first_disbursed_on:
        return False
    return _repricing_date(loan, day) == day


@transaction.atomic
def loan_lpr_reprice(*, loan: Loan, on: datetime.date, acting_user: User | None = None) -> bool:
    """Reprice an LPR-linked loan on one of its repricing dates: the periods from `on` bear the LPR of that day plus
    the spread. Answers whether the rate changed. Run daily (by the close of business) on the repricing day itself,
    so the new rate applies from its effective date exactly."""
    _lock(loan)
    if loan.status not in LIVE_STATUSES or not is_repricing_day(loan, on):
        return False
    rate = _rate_on(loan, on)
    if loan.annual_rate is not None and Decimal(loan.annual_rate) == rate:
        return False
    old = loan.annual_rate
    carried, _ = accrued_interest_fen(list(loan.instalments.order_by("number")), on=on)
    _transition(loan, expected=list(LIVE_STATUSES), annual_rate=rate)
    _rebuild(loan, on=on, carried=carried)
    record_event(
        acting_user=acting_user,
        action="loan.lpr_reprice",
        instance=loan,
        old={"annual_rate": old},
        new={"annual_rate": rate},
        extra={"on": on, "lpr_tenor": loan.lpr_tenor, "lpr_spread_bp": loan.lpr_spread_bp},
    )
    return True


def lpr_reprice_due(*, business_day: datetime.date, acting_user: User | None = None) -> int:
    """Reprice every live LPR-linked loan whose repricing date is `business_day`; answers how many changed rate."""
    candidates = Loan.objects.filter(
        status__in=list(LIVE_STATUSES), rate_type=RateType.LPR, repricing_months__isnull=False
    ).filter(first_disbursed_on__lt=business_day, maturity_date__gt=business_day)
    changed = 0
    for loan in candidates.iterator():
        if is_repricing_day(loan, business_day) and loan_lpr_reprice(
            loan=loan, on=business_day, acting_user=acting_user
        ):
            changed += 1
    return changed


# ---------------------------------------------------------------------------
# Renewal, default
# ---------------------------------------------------------------------------


@transaction.atomic
def loan_renew(
    *,
    loan: Loan,
    kind: str,
    principal: Money,
    term_months: int,
    annual_rate: Decimal,
    repayment_method: str,
    acting_user: User,
    contract_no: str = "",
) -> Loan:
    """Renew a loan (续贷) as a new loan keeping the pledge.

    `repay_then_renew` (还本续贷): the old loan is repaid in full today (or already was) and the new one disbursed.
    `no_principal_repayment` (无还本续贷): the old loan's outstanding principal is rolled into the new loan without
    the borrower repaying it first; interest and penalty must be paid up to today, nothing may be overdue.
    Renewal is a credit decision: it needs the approving role (审批) in the lending bank's tree.
    """
    _require_bank(loan, acting_user, Action.APPROVE)
    _lock(loan)
    if kind not in RenewalKind.values:
        raise _error("kind", "续贷方式无效。", "choice")
    if loan.classification in NON_PERFORMING_CLASSES:
        raise _error(
            "kind",
            f"不良贷款（当前分类：{loan.get_classification_display()}）不得续贷，应按重组办理。",
            "renewal_non_performing",
        )
    if Loan.objects.filter(renewal_of=loan).exists():
        raise _error("kind", "该贷款已办理过续贷。", "already_renewed")
    if not 1 <= term_months <= MAX_TERM_MONTHS:
        raise _error("term_months", f"贷款期限必须在 1 至 {MAX_TERM_MONTHS} 个月之间。", "term_range")
    if not Decimal(0) < annual_rate < Decimal(1):
        raise _error("annual_rate", "年利率必须在 0 与 1 之间（如 0.0385）。", "rate_range")
    if repayment_method not in RepaymentMethod.values or repayment_method == RepaymentMethod.CUSTOM:
        raise _error("repayment_method", "续贷的还款方式须为等额本息、等额本金或按期付息到期还本。", "choice")
    today = business_date()
    if kind == RenewalKind.NO_PRINCIPAL_REPAYMENT:
        _require_status(loan, [LoanStatus.ACTIVE])
        rolled = _roll_over(loan, principal=principal, on=today, acting_user=acting_user)
    else:
        _require_status(loan, [LoanStatus.ACTIVE, LoanStatus.CLOSED])
        if principal.fen <= 0:
            raise _error("principal", "续贷金额必须大于零。", "positive")
        if loan.status == LoanStatus.ACTIVE:
            payoff = payoff_fen(loan, on=today)
            _repay(
                loan,
                amount=Money.from_fen(payoff),
                value_date=today,
                key=f"renewal-{loan.pk}",
                acting_user=acting_user,
                file_cancellation=False,
            )
            loan.refresh_from_db()
        rolled = None
    new = _renewal_loan(
        loan,
        kind=kind,
        principal=principal,
        term_months=term_months,
        annual_rate=annual_rate,
        repayment_method=repayment_method,
        contract_no=contract_no or f"{loan.contract_no}-续",
        on=today,
        acting_user=acting_user,
    )
    tx_kind = TransactionKind.RENEWAL_ROLLOVER if rolled is not None else TransactionKind.DISBURSEMENT
    tx = _post(
        new,
        key="",
        kind=tx_kind,
        amount=principal,
        value_date=today,
        acting_user=acting_user,
        principal_part=principal,
        note=f"续贷自 {loan.reference}",
    )
    _rebuild(new, on=today, carried=0)
    record_event(
        acting_user=acting_user,
        action="loan.renew",
        instance=new,
        new=snapshot(new),
        extra={"renewal_of": loan.reference, "kind": kind, "transaction": tx.pk},
    )
    return new


def _roll_over(loan: Loan, *, principal: Money, on: datetime.date, acting_user: User) -> LoanTransaction:
    """Close the old loan by rolling its principal into the renewal (RENEWAL_ROLLOVER on the old side)."""
    from .selectors import loan_position

    position = loan_position(loan, as_of=on)
    if position.overdue_principal.fen or position.overdue_interest.fen or position.penalty_due.fen:
        raise _error(
            "kind",
            f"无还本续贷须先结清逾期本息和罚息（逾期本金 {position.overdue_principal} 元、逾期利息 "
            f"{position.overdue_interest} 元、罚息 {position.penalty_due} 元）。",
            "overdue_outstanding",
        )
    interest_to_date = position.interest_due_today.fen + position.accrued_interest.fen
    if interest_to_date:
        raise _error(
            "kind",
            f"无还本续贷须先支付截至今日的利息 {Money.from_fen(interest_to_date)} 元。",
            "interest_outstanding",
        )
    if principal != loan.outstanding_principal:
        raise _error(
            "principal",
            f"无还本续贷金额须等于原贷款余额 {loan.outstanding_principal} 元。",
            "rollover_amount",
        )
    rows = list(loan.instalments.order_by("number"))
    carried, current = accrued_interest_fen(rows, on=on)
    lines: list[dict[str, Any]] = []
    for inst in rows:
        unpaid = inst.principal_due.fen - inst.principal_paid.fen
        if inst.due_date <= on and unpaid:
            inst.principal_paid = inst.principal_due
            inst.settled_on = on
            inst.save(update_fields=["principal_paid", "settled_on"])
            lines.append(_line(inst.number, unpaid, 0, 0))
    rolled_future = _unpaid_principal([i for i in rows if i.due_date > on])
    tx = _post(
        loan,
        key=f"rollover-{loan.pk}",
        kind=TransactionKind.RENEWAL_ROLLOVER,
        amount=loan.outstanding_principal,
        value_date=on,
        acting_user=acting_user,
        principal_part=loan.outstanding_principal,
        allocation=lines + ([_line(current.number, rolled_future, 0, 0, prepayment=True)] if current else []),
    )
    old = snapshot(loan, fields=["status", "outstanding_principal", "closed_on"])
    _transition(
        loan,
        expected=[LoanStatus.ACTIVE],
        status=LoanStatus.CLOSED_BY_RENEWAL,
        outstanding_principal=Money(0),
        closed_on=on,
    )
    if current is not None:
        _rebuild(
            loan,
            on=on,
            carried=carried,
            current_paid=(current.principal_paid.fen + rolled_future, current.interest_paid.fen),
        )
    record_event(
        acting_user=acting_user,
        action="loan.rollover",
        instance=loan,
        old=old,
        new=snapshot(loan, fields=["status", "outstanding_principal", "closed_on"]),
        extra={"transaction": tx.pk, "amount": tx.amount},
    )
    return tx


def _renewal_loan(
    old: Loan,
    *,
    kind: str,
    principal: Money,
    term_months: int,
    annual_rate: Decimal,
    repayment_method: str,
    contract_no: str,
    on: datetime.date,
    acting_user: User,
) -> Loan:
    registration = old.pledge_registration
    if registration is not None and registration.status != RegistrationStatus.ACTIVE:
        registration = None
    new = Loan(  # type: ignore[misc]
        status=LoanStatus.ACTIVE,
        origin=LoanOrigin.RENEWAL,
        borrower=old.borrower,
        bank=old.bank,
        park=old.park,
        region_code=old.region_code,
        purpose=old.purpose,
        requested_amount=principal,
        requested_term_months=term_months,
        principal=principal,
        term_months=term_months,
        rate_type=RateType.FIXED,
        annual_rate=annual_rate,
        repayment_method=repayment_method,
        repayment_interval_months=old.repayment_interval_months,
        penalty_markup=old.penalty_markup,
        due_diligence=old.due_diligence,
        approved_by=acting_user if acting_user.pk else None,
        approved_at=business_now(),
        decision_note=f"续贷（{RenewalKind(kind).label}）自 {old.reference}",
        contract_no=contract_no[:64],
        contract_signed_on=on,
        pledge_registration=registration,
        is_ip_pledge=old.is_ip_pledge,
        first_disbursed_on=on,
        maturity_date=add_months(on, term_months),
        renewal_of=old,
        renewal_kind=kind,
        disbursed_amount=principal,
        outstanding_principal=principal,
        classification=old.classification,
        classification_since=on,
        created_by=acting_user if acting_user.pk else None,
    )
    _insert_with_reference(new, on=on)
    LoanCollateral.objects.bulk_create(
        [
            LoanCollateral(
                loan=new,
                ip_right_id=c.ip_right_id,
                appraised_value=c.appraised_value,
                appraised_on=c.appraised_on,
                valuer_name=c.valuer_name,
            )
            for c in old.collateral.all()
        ]
    )
    return new


@transaction.atomic
def loan_default(*, loan: Loan, on: datetime.date, reason: str, acting_user: User) -> Loan:
    """Declare the loan in default (违约); risk compensation and disposal take over from here."""
    _require_bank(loan, acting_user, Action.CHANGE)
    if not reason.strip():
        raise _error("reason", "认定违约必须说明原因。", "required")
    if on > business_date():
        raise _error("on", "违约日不能晚于今天。", "future_date")
    _require_status(loan, [LoanStatus.ACTIVE])
    if loan.first_disbursed_on is not None and on < loan.first_disbursed_on:
        raise _error("on", "违约日不能早于首次放款日。", "before_disbursement")
    _transition(loan, expected=[LoanStatus.ACTIVE], status=LoanStatus.DEFAULTED, defaulted_on=on, decision_note=reason)
    record_event(
        acting_user=acting_user,
        action="loan.default",
        instance=loan,
        new={"status": loan.status, "defaulted_on": on},
        extra={"reason": reason},
    )
    return loan


# ---------------------------------------------------------------------------
# Bank-level plans and reports
# ---------------------------------------------------------------------------


def _require_bank_report(user: User, bank: Organisation, action: str) -> None:
    if bank.kind != OrganisationKind.BANK:
        raise _error("bank", "只能为银行填报。", "bank_kind")
    if not _may_act_for_bank(user, bank, action):
        raise PermissionDenied("only the bank's own tree keeps its plans and reports")


@transaction.atomic
def credit_plan_set(
    *, bank: Organisation, year: int, planned_amount: Money, planned_clients: int, acting_user: User, note: str = ""
) -> CreditPlan:
    """Create or update a bank's annual separate credit plan (单列信贷计划), one per bank and year."""
    existing = CreditPlan.objects.select_for_update().filter(bank=bank, year=year).first()
    _require_bank_report(acting_user, bank, Action.CHANGE if existing else Action.ADD)
    if planned_amount.fen <= 0:
        raise _error("planned_amount", "计划投放金额必须大于零。", "positive")
    if planned_clients < 0:
        raise _error("planned_clients", "计划服务户数不能为负。", "range")
    data = {"planned_amount": planned_amount, "planned_clients": planned_clients, "note": note}
    if existing is not None:
        return audited_update(instance=existing, data=data, acting_user=acting_user, action="credit_plan.update")
    return audited_create(
        instance=CreditPlan(bank=bank, year=year, **data), acting_user=acting_user, action="credit_plan.create"
    )


@transaction.atomic
def npl_report_set(*, bank: Organisation, as_of: datetime.date, npl_ratio: Decimal, acting_user: User) -> BankNplReport:
    """Record (or correct) the bank-wide NPL ratio for a date, against which the IP-pledge ratio is compared."""
    existing = BankNplReport.objects.select_for_update().filter(bank=bank, as_of=as_of).first()
    _require_bank_report(acting_user, bank, Action.CHANGE if existing else Action.ADD)
    if not Decimal(0) <= npl_ratio <= Decimal(1):
        raise _error("npl_ratio", "不良率必须在 0 与 1 之间（如 0.0135）。", "range")
    if as_of > business_date():
        raise _error("as_of", "统计日不能晚于今天。", "future_date")
    if existing is not None:
        return audited_update(
            instance=existing, data={"npl_ratio": npl_ratio}, acting_user=acting_user, action="npl_report.update"
        )
    return audited_create(
        instance=BankNplReport(bank=bank, as_of=as_of, npl_ratio=npl_ratio),
        acting_user=acting_user,
        action="npl_report.create",
    )
