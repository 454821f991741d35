"""Lending API (贷款): the loan lifecycle from application to closure, money movements, covers, collateral,
investments, classification overrides; bank credit plans, NPL reports and LPR quotes.

Conventions as in the registration API: reads start from `restrict(user, "view")` (another organisation's loan
answers 404 like a missing one); references in a body are resolved within the caller's reach (else 400 `not_found`
naming the field); the services decide who may act (their `PermissionDenied` answers 403, their `ValidationError`
400 naming the field and the rule).

Disbursements and repayments are idempotent: send an `Idempotency-Key` header (or `idempotency_key` in the body).
The same key again answers the original transaction with the same body and the header `Idempotent-Replayed: true`;
nothing is posted twice.
"""

import datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, QuerySet
from django.http import Http404, HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, require, resolve
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.registration.models import PledgeRegistration
from ipledge.registration.selectors import resolve_pledgor
from ipledge.registry.models import Enterprise, IPRight, Park

from . import classification, selectors, services
from .choices import DueDiligenceItem
from .models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    Instalment,
    Loan,
    LoanCollateral,
    LoanTransaction,
    LprQuote,
)
from .schemas import (
    BankReportFilter,
    ClassificationIn,
    CollateralIn,
    CollateralOut,
    ContractIn,
    CoverIn,
    CoverOut,
    CreditPlanIn,
    CreditPlanOut,
    DefaultIn,
    DueDiligenceIn,
    ImplementationIn,
    ImplementationOut,
    InvestmentIn,
    InvestmentOut,
    LoanDetailOut,
    LoanDetailQuery,
    LoanFilter,
    LoanIn,
    LoanOut,
    LprOut,
    LprQuery,
    MoneyMoveIn,
    NoteIn,
    NplReportIn,
    NplReportOut,
    PledgeIn,
    ReasonIn,
    RenewIn,
    RiskFlagsIn,
    SubmitIn,
    TransactionOut,
)

router = Router(tags=["lending"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
LoanId = Path(..., ge=1, le=MAX_ID)
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "The same key again answers the original transaction (header `Idempotent-Replayed: true`) "
            "and posts nothing; overrides `idempotency_key` in the body.",
        }
    ]
}


def _money(value: str | None) -> Money | None:
    return None if value is None else Money(Decimal(value))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


def _loan(request: HttpRequest, loan_id: int) -> Loan:
    """The loan within the caller's view scope (404 otherwise); the services then check the action."""
    user = caller(request)
    require(user, Loan, Action.VIEW)
    return scoped_get(Loan, user=user, pk=loan_id)


def _loan_to_change(request: HttpRequest, loan_id: int) -> Loan:
    """The loan, when the caller may also change it: checked before references in the body are resolved, so a
    reader learns "forbidden" (403) rather than which referenced objects exist."""
    loan = _loan(request, loan_id)
    if not Loan.objects.restrict(caller(request), Action.CHANGE).filter(pk=loan.pk).exists():
        raise ApiError(403, "forbidden", "您无权修改该贷款。", "You may not change this loan.")
    return loan


def _position(loan: Loan, on: datetime.date) -> dict[str, Any] | None:
    if loan.first_disbursed_on is None:
        return None
    position = selectors.loan_position(loan, as_of=on)
    return {
        name: (f"{value.amount:.2f}" if isinstance(value, Money) else value)
        for name, value in position.__dict__.items()
    }


def _detail(request: HttpRequest, loan_id: int, *, as_of: datetime.date | None = None) -> Loan:
    """The loan with everything the detail answer shows, prefetched; `position` on the day (default today)."""
    user = caller(request)
    loan = (
        selectors.loan_list(user=user)
        .select_related("prepared_by", "approved_by")
        .prefetch_related(
            Prefetch("instalments", queryset=Instalment.objects.order_by("number")),
            Prefetch("transactions", queryset=LoanTransaction.objects.order_by("value_date", "pk")),
            "covers",
            "investments",
            Prefetch(
                "collateral",
                queryset=LoanCollateral.objects.select_related("ip_right").prefetch_related("implementation_reports"),
            ),
            Prefetch("classification_changes", queryset=ClassificationChange.objects.order_by("business_day", "pk")),
        )
        .get(pk=loan_id)
    )
    loan.position = _position(loan, as_of or business_date())  # type: ignore[attr-defined]
    return loan


def _own_bank(user: Any, bank_id: int | None, *, field: str = "bank_id") -> Organisation:
    """The bank named in the body (within the caller's reach), or the caller's own bank."""
    bank: Organisation | None = (
        resolve(Organisation, user=user, action=Action.VIEW, field=field, pk=bank_id)
        if bank_id is not None
        else getattr(user, "organisation", None)
    )
    if bank is None:
        raise ApiError(400, "required", "请指定银行。", "Name the bank.", field=field)
    if bank.kind != OrganisationKind.BANK:
        raise ApiError(400, "bank_kind", "所选机构不是银行。", "The organisation is not a bank.", field=field)
    return bank


def _borrower(user: Any, payload: LoanIn) -> Enterprise:
    """The borrower by id (within the caller's reach) or by exact USCC (banks do not browse the registry)."""
    if payload.borrower_uscc:
        try:
            return resolve_pledgor(payload.borrower_uscc)
        except ValidationError as exc:
            raise ValidationError({"borrower_uscc": exc.error_dict["pledgor_uscc"]}) from exc
    if payload.borrower_id is None:
        raise ApiError(
            400,
            "required",
            "请指定借款企业（ID 或统一社会信用代码）。",
            "Name the borrower (id or USCC).",
            field="borrower_id",
        )
    return resolve(Enterprise, user=user, action=Action.VIEW, field="borrower_id", pk=payload.borrower_id)


# ---------------------------------------------------------------------------
# Loans
# ---------------------------------------------------------------------------


@router.get("/loans", response={200: list[LoanOut], **error_responses(403)}, summary="Loans within your scope")
@paginate(Paginated)
def loan_list(request: HttpRequest, filters: Query[LoanFilter]) -> QuerySet[Loan]:
    user = caller(request)
    require(user, Loan, Action.VIEW)
    return selectors.loan_list(
        user=user,
        filters={
            "status": filters.status,
            "classification": filters.classification,
            "bank": filters.bank_id,
            "borrower": filters.borrower_id,
            "park": filters.park_id,
            "origin": filters.origin,
            "q": filters.q,
        },
    )


@router.post(
    "/loans",
    response={201: LoanDetailOut, **WRITE_ERRORS},
    summary="Apply for a loan (the borrower for itself, or the bank recording an application)",
)
def loan_apply(request: HttpRequest, payload: LoanIn) -> Status[Loan]:
    user = caller(request)
    require(user, Loan, Action.VIEW)
    borrower = _borrower(user, payload)
    org = getattr(user, "organisation", None)
    if payload.bank_id is None and (org is None or org.kind != OrganisationKind.BANK):
        raise ApiError(400, "required", "请选择贷款银行。", "Choose the lending bank.", field="bank_id")
    bank = (
        Organisation.objects.filter(pk=payload.bank_id, kind=OrganisationKind.BANK).first()
        if payload.bank_id is not None
        else org
    )
    if bank is None:
        raise ApiError(400, "not_found", "贷款银行不存在。", "Bank does not exist.", field="bank_id")
    park = (
        resolve(Park, user=user, action=Action.VIEW, field="park_id", pk=payload.park_id)
        if payload.park_id is not None
        else None
    )
    loan = services.loan_apply(
        borrower=borrower,
        bank=bank,
        requested_amount=Money(Decimal(payload.requested_amount)),
        requested_term_months=payload.requested_term_months,
        purpose=payload.purpose,
        park=park,
        origin=payload.origin,
        acting_user=user,
    )
    return Status(201, _detail(request, loan.pk))


@router.get(
    "/loans/{loan_id}",
    response={200: LoanDetailOut, **READ_ERRORS},
    summary="One loan with its position, schedule, transactions, covers, collateral, investments and classification",
)
def loan_detail(request: HttpRequest, query: Query[LoanDetailQuery], loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    return _detail(request, loan.pk, as_of=query.as_of)


@router.post("/loans/{loan_id}/withdraw", response={200: LoanDetailOut, **WRITE_ERRORS}, summary="Withdraw")
def loan_withdraw(request: HttpRequest, payload: ReasonIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_withdraw(loan=loan, reason=payload.reason, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/due-diligence",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Start the due-diligence checklist (尽职调查)",
)
def due_diligence_start(request: HttpRequest, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_due_diligence_start(loan=loan, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/due-diligence/{item}",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Answer one due-diligence item",
)
def due_diligence_record(
    request: HttpRequest, payload: DueDiligenceIn, item: DueDiligenceItem, loan_id: int = LoanId
) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_due_diligence_record(
        loan=loan, item=item, done=payload.done, note=payload.note, acting_user=caller(request)
    )
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/submit",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Propose the terms for approval (maker); a trial schedule validates them",
)
def loan_submit(request: HttpRequest, payload: SubmitIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    principal = Money(Decimal(payload.principal))
    services.loan_submit_for_approval(
        loan=loan,
        principal=principal,
        term_months=payload.term_months,
        repayment_method=payload.repayment_method,
        rate_type=payload.rate_type,
        annual_rate=_decimal(payload.annual_rate),
        lpr_tenor=payload.lpr_tenor or "",
        lpr_spread_bp=payload.lpr_spread_bp,
        repricing_months=payload.repricing_months,
        repayment_interval_months=payload.repayment_interval_months,
        grace_months=payload.grace_months,
        penalty_markup=Decimal(payload.penalty_markup),
        custom_schedule=[
            {"due_date": row.due_date.isoformat(), "principal": row.principal} for row in payload.custom_schedule
        ]
        or None,
        acting_user=caller(request),
    )
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/approve",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Approve (checker; never the maker)",
)
def loan_approve(request: HttpRequest, payload: NoteIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_approve(loan=loan, note=payload.note, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post("/loans/{loan_id}/reject", response={200: LoanDetailOut, **WRITE_ERRORS}, summary="Reject with a reason")
def loan_reject(request: HttpRequest, payload: NoteIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_reject(loan=loan, note=payload.note, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post("/loans/{loan_id}/contract", response={200: LoanDetailOut, **WRITE_ERRORS}, summary="Sign the contract")
def loan_contract(request: HttpRequest, payload: ContractIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_contract_sign(
        loan=loan, contract_no=payload.contract_no, signed_on=payload.signed_on, acting_user=caller(request)
    )
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/pledge",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Link the active pledge registration securing the loan",
)
def loan_pledge(request: HttpRequest, payload: PledgeIn, loan_id: int = LoanId) -> Loan:
    user = caller(request)
    loan = _loan_to_change(request, loan_id)
    registration = resolve(
        PledgeRegistration,
        user=user,
        action=Action.VIEW,
        field="registration_id",
        label_en="pledge registration",
        pk=payload.registration_id,
    )
    services.loan_pledge_link(loan=loan, registration=registration, acting_user=user)
    return _detail(request, loan.pk)


def _money_move(
    request: HttpRequest, response: HttpResponse, payload: MoneyMoveIn, loan_id: int, *, kind: str
) -> Status[LoanTransaction]:
    user = caller(request)
    loan = _loan(request, loan_id)
    key = (request.headers.get("Idempotency-Key") or payload.idempotency_key or "").strip()
    if len(key) > 64:
        raise ApiError(
            400,
            "max_length",
            "幂等键不能超过64个字符。",
            "The idempotency key exceeds 64 characters.",
            field="idempotency_key",
        )
    replayed = bool(key) and LoanTransaction.objects.filter(loan=loan, idempotency_key=key).exists()
    run = services.loan_disburse if kind == "disburse" else services.loan_repay
    tx = run(
        loan=loan,
        amount=Money(Decimal(payload.amount)),
        value_date=payload.value_date,
        idempotency_key=key,
        acting_user=user,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, tx)


@router.post(
    "/loans/{loan_id}/disburse",
    response={201: TransactionOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_HEADER,
    summary="Disburse a tranche (idempotent with an Idempotency-Key)",
)
def loan_disburse(
    request: HttpRequest, response: HttpResponse, payload: MoneyMoveIn, loan_id: int = LoanId
) -> Status[LoanTransaction]:
    return _money_move(request, response, payload, loan_id, kind="disburse")


@router.post(
    "/loans/{loan_id}/repay",
    response={201: TransactionOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_HEADER,
    summary="Post a repayment (idempotent with an Idempotency-Key); paying off closes the loan",
)
def loan_repay(
    request: HttpRequest, response: HttpResponse, payload: MoneyMoveIn, loan_id: int = LoanId
) -> Status[LoanTransaction]:
    return _money_move(request, response, payload, loan_id, kind="repay")


@router.post(
    "/loans/{loan_id}/transactions/{transaction_id}/reverse",
    response={200: TransactionOut, **WRITE_ERRORS},
    summary="Reverse a disbursement or repayment (newest first), with a reason",
)
def transaction_reverse(
    request: HttpRequest,
    payload: ReasonIn,
    loan_id: int = LoanId,
    transaction_id: int = Path(..., ge=1, le=MAX_ID),
) -> LoanTransaction:
    loan = _loan(request, loan_id)
    tx = LoanTransaction.objects.filter(loan=loan, pk=transaction_id).first()
    if tx is None:
        raise Http404(LoanTransaction._meta.verbose_name)
    return services.loan_transaction_reverse(transaction=tx, reason=payload.reason, acting_user=caller(request))


@router.post(
    "/loans/{loan_id}/renew",
    response={201: LoanDetailOut, **WRITE_ERRORS},
    summary="Renew (续贷): repay-then-renew or no-principal-repayment rollover (无还本续贷); answers the new loan",
)
def loan_renew(request: HttpRequest, payload: RenewIn, loan_id: int = LoanId) -> Status[Loan]:
    loan = _loan(request, loan_id)
    new = services.loan_renew(
        loan=loan,
        kind=payload.kind,
        principal=Money(Decimal(payload.principal)),
        term_months=payload.term_months,
        annual_rate=Decimal(payload.annual_rate),
        repayment_method=payload.repayment_method,
        contract_no=payload.contract_no,
        acting_user=caller(request),
    )
    return Status(201, _detail(request, new.pk))


@router.post("/loans/{loan_id}/default", response={200: LoanDetailOut, **WRITE_ERRORS}, summary="Declare default")
def loan_default(request: HttpRequest, payload: DefaultIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    services.loan_default(loan=loan, on=payload.on, reason=payload.reason, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/covers",
    response={201: CoverOut, **WRITE_ERRORS},
    summary="Attach a guarantee, insurance or risk-compensation cover",
)
def cover_add(request: HttpRequest, payload: CoverIn, loan_id: int = LoanId) -> Status[Any]:
    user = caller(request)
    loan = _loan(request, loan_id)
    provider = Organisation.objects.filter(pk=payload.provider_id).first() if payload.provider_id is not None else None
    if payload.provider_id is not None and provider is None:
        raise ApiError(400, "not_found", "增信机构不存在。", "Provider does not exist.", field="provider_id")
    cover = services.cover_add(
        loan=loan,
        kind=payload.kind,
        provider=provider,
        provider_name=payload.provider_name,
        cover_ratio=Decimal(payload.cover_ratio),
        policy_no=payload.policy_no,
        valid_until=payload.valid_until,
        acting_user=user,
    )
    cover.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, cover)


@router.post(
    "/loans/{loan_id}/investments",
    response={201: InvestmentOut, **WRITE_ERRORS},
    summary="Record an investment link (投贷联动)",
)
def investment_add(request: HttpRequest, payload: InvestmentIn, loan_id: int = LoanId) -> Status[Any]:
    user = caller(request)
    loan = _loan(request, loan_id)
    investor = Organisation.objects.filter(pk=payload.investor_id).first() if payload.investor_id is not None else None
    if payload.investor_id is not None and investor is None:
        raise ApiError(400, "not_found", "投资机构不存在。", "Investor does not exist.", field="investor_id")
    link = services.investment_link_add(
        loan=loan,
        investor=investor,
        investor_name=payload.investor_name,
        term_kind=payload.term_kind,
        amount=_money(payload.amount),
        equity_ratio=_decimal(payload.equity_ratio),
        exercise_deadline=payload.exercise_deadline,
        terms=payload.terms,
        acting_user=user,
    )
    link.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, link)


@router.post(
    "/loans/{loan_id}/collateral",
    response={201: CollateralOut, **WRITE_ERRORS},
    summary="Add a right as collateral or record its appraisal",
)
def collateral_add(request: HttpRequest, payload: CollateralIn, loan_id: int = LoanId) -> Status[Any]:
    user = caller(request)
    loan = _loan_to_change(request, loan_id)
    right = resolve(IPRight, user=user, action=Action.VIEW, field="ip_right_id", pk=payload.ip_right_id)
    collateral = services.collateral_add(
        loan=loan,
        ip_right=right,
        appraised_value=_money(payload.appraised_value),
        appraised_on=payload.appraised_on,
        valuer_name=payload.valuer_name,
        acting_user=user,
    )
    collateral.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, collateral)


@router.post(
    "/collateral/{collateral_id}/implementation",
    response={201: ImplementationOut, **WRITE_ERRORS},
    summary="Report whether a pledged patent is implemented (T3)",
)
def implementation_add(
    request: HttpRequest, payload: ImplementationIn, collateral_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[Any]:
    user = caller(request)
    require(user, LoanCollateral, Action.VIEW)
    collateral = scoped_get(LoanCollateral, user=user, pk=collateral_id)
    report = services.implementation_report_add(
        collateral=collateral,
        status=payload.status,
        reported_on=payload.reported_on,
        note=payload.note,
        acting_user=user,
    )
    report.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, report)


# ---------------------------------------------------------------------------
# Classification (helper B's services)
# ---------------------------------------------------------------------------


@router.post(
    "/loans/{loan_id}/classification",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Set a manual classification (人工认定) with its reason",
)
def classification_override(request: HttpRequest, payload: ClassificationIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    classification.loan_classification_override(
        loan=loan, to_class=payload.to_class, reason=payload.reason, acting_user=caller(request)
    )
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/classification/clear",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Clear the manual classification",
)
def classification_clear(request: HttpRequest, payload: ReasonIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    classification.loan_classification_override_clear(loan=loan, reason=payload.reason, acting_user=caller(request))
    return _detail(request, loan.pk)


@router.post(
    "/loans/{loan_id}/risk-flags",
    response={200: LoanDetailOut, **WRITE_ERRORS},
    summary="Record the risk events the classification rules read",
)
def risk_flags(request: HttpRequest, payload: RiskFlagsIn, loan_id: int = LoanId) -> Loan:
    loan = _loan(request, loan_id)
    classification.loan_risk_flags_set(
        loan=loan,
        reason=payload.reason,
        funds_misused=payload.funds_misused,
        credit_impaired=payload.credit_impaired,
        refinanced_by_new_loan=payload.refinanced_by_new_loan,
        external_rating_downgraded=payload.external_rating_downgraded,
        expected_loss_ratio=_decimal(payload.expected_loss_ratio),
        restructured_on=payload.restructured_on,
        acting_user=caller(request),
    )
    return _detail(request, loan.pk)


# ---------------------------------------------------------------------------
# Bank plans, NPL reports, LPR
# ---------------------------------------------------------------------------


@router.get(
    "/lending/credit-plans",
    response={200: list[CreditPlanOut], **error_responses(403)},
    summary="Annual separate credit plans (单列信贷计划)",
)
@paginate(Paginated)
def credit_plan_list(request: HttpRequest, filters: Query[BankReportFilter]) -> QuerySet[CreditPlan]:
    user = caller(request)
    require(user, CreditPlan, Action.VIEW)
    qs = CreditPlan.objects.restrict(user, Action.VIEW).select_related("bank")
    if filters.bank_id:
        qs = qs.filter(bank_id=filters.bank_id)
    if filters.year:
        qs = qs.filter(year=filters.year)
    return qs  # type: ignore[no-any-return]


@router.post(
    "/lending/credit-plans",
    response={201: CreditPlanOut, **WRITE_ERRORS},
    summary="Set a bank's annual credit plan (creates or updates the one of that year)",
)
def credit_plan_set(request: HttpRequest, payload: CreditPlanIn) -> Status[Any]:
    user = caller(request)
    require(user, CreditPlan, Action.ADD)
    bank = _own_bank(user, payload.bank_id)
    plan = services.credit_plan_set(
        bank=bank,
        year=payload.year,
        planned_amount=Money(Decimal(payload.planned_amount)),
        planned_clients=payload.planned_clients,
        note=payload.note,
        acting_user=user,
    )
    plan.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, plan)


@router.get(
    "/lending/npl-reports",
    response={200: list[NplReportOut], **error_responses(403)},
    summary="Bank-wide NPL ratios reported by banks",
)
@paginate(Paginated)
def npl_report_list(request: HttpRequest, filters: Query[BankReportFilter]) -> QuerySet[BankNplReport]:
    user = caller(request)
    require(user, BankNplReport, Action.VIEW)
    qs = BankNplReport.objects.restrict(user, Action.VIEW).select_related("bank")
    if filters.bank_id:
        qs = qs.filter(bank_id=filters.bank_id)
    if filters.year:
        qs = qs.filter(as_of__year=filters.year)
    return qs  # type: ignore[no-any-return]


@router.post(
    "/lending/npl-reports",
    response={201: NplReportOut, **WRITE_ERRORS},
    summary="Report (or correct) the bank-wide NPL ratio on a date",
)
def npl_report_set(request: HttpRequest, payload: NplReportIn) -> Status[Any]:
    user = caller(request)
    require(user, BankNplReport, Action.ADD)
    bank = _own_bank(user, payload.bank_id)
    report = services.npl_report_set(
        bank=bank, as_of=payload.as_of, npl_ratio=Decimal(payload.npl_ratio), acting_user=user
    )
    report.refresh_from_db()  # decimals as stored (0.8 → 0.8000), the same as later reads
    return Status(201, report)


@router.get("/lending/lpr", response={200: LprOut, **error_responses()}, summary="LPR in force on a day, and history")
def lpr(request: HttpRequest, query: Query[LprQuery]) -> dict[str, Any]:
    on = query.on or business_date()
    quote = LprQuote.objects.filter(tenor=query.tenor, effective_on__lte=on).order_by("-effective_on").first()
    return {
        "tenor": query.tenor,
        "on": on,
        "rate": str(quote.rate) if quote is not None else None,
        "history": list(LprQuote.objects.filter(tenor=query.tenor).order_by("-effective_on")[:120]),
    }
