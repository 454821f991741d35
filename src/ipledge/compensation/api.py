"""Risk-compensation API (风险补偿基金, M2–M4): funds and their figures, contributions, schemes and their versions
(maker-checker), enrolment of loans (入池), claims from filing through the advance payment (先行按比例拨付) to
clearing (清算), recoveries, payment instructions, the fund's journal, stress tests and alerts.

Conventions as in the lending API: reads start from `restrict(user, "view")` (another organisation's fund, claim,
payment … answers 404 like a missing one); references in a body are resolved within the caller's reach (else 400
`not_found` naming the field); the services decide who may act (their `PermissionDenied` answers 403, their
`ValidationError` 400 naming the field and the rule, e.g. `maker_is_checker`). A fund's books (figures, balances)
are read by its manager, its sponsors and the government of its region; other organisations that see the fund
get 403 there. Every write is taken by a named officer (the records name who filed, reviewed, approved, paid, and
the maker-checker rules compare people), so a row written with an API key records no user: its audit event names the key.

Writes that move money are idempotent: recoveries and contributions take an `Idempotency-Key` header (or
`idempotency_key` in the body); the same key again answers the original record with `Idempotent-Replayed: true`
and nothing is posted twice. Marking an instruction paid again with the same bank reference answers the payment
the same way.
"""

from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Prefetch, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from ninja import Path, Query, Router, Status
from ninja.pagination import paginate

from ipledge.core.apikit import (
    MAX_ID,
    ApiError,
    Paginated,
    caller,
    error_responses,
    forbidden,
    idempotency_key,
    organisation_or_400,
    region_or_400,
    renamed_fields,
    require,
    resolve,
)
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.core.selectors import scoped_get
from ipledge.lending.models import Loan

from . import ledger, selectors, services
from .choices import PaymentStatus
from .models import (
    Claim,
    Enrolment,
    Fund,
    FundAlert,
    JournalEntry,
    Payment,
    Recovery,
    Scheme,
    SchemeVersion,
    StressRun,
)
from .schemas import (
    AdvancePreviewOut,
    CompensationClaimDetailOut,
    CompensationClaimFilter,
    CompensationClaimIn,
    CompensationClaimOut,
    CompensationNoteIn,
    CompensationPaymentFilter,
    CompensationPaymentOut,
    CompensationReasonIn,
    ContributionIn,
    EnrolmentFilter,
    EnrolmentIn,
    EnrolmentOut,
    FundAlertFilter,
    FundAlertOut,
    FundDetailOut,
    FundFiguresOut,
    FundFilter,
    FundIn,
    FundOut,
    FundPatch,
    JournalEntryFilter,
    JournalEntryOut,
    PaymentPaidIn,
    RecoveryIn,
    RecoveryOut,
    SchemeIn,
    SchemeOut,
    SchemeVersionFilter,
    SchemeVersionIn,
    SchemeVersionOut,
    StressRunIn,
    StressRunOut,
    caps_out,
)

router = Router(tags=["compensation"])

WRITE_ERRORS = error_responses(400, 403, 404, 409)
READ_ERRORS = error_responses(403, 404)
FundId = Path(..., ge=1, le=MAX_ID)
VersionId = Path(..., ge=1, le=MAX_ID)
ClaimId = Path(..., ge=1, le=MAX_ID)
IDEMPOTENCY_HEADER = {
    "parameters": [
        {
            "in": "header",
            "name": "Idempotency-Key",
            "required": False,
            "schema": {"type": "string", "maxLength": 64},
            "description": "The same key again answers the original record (header `Idempotent-Replayed: true`) "
            "and moves no money; overrides `idempotency_key` in the body.",
        }
    ]
}


def _money(value: str | None) -> Money | None:
    return None if value is None else Money(Decimal(value))


def _decimal(value: str | None) -> Decimal | None:
    return None if value is None else Decimal(value)


# ---------------------------------------------------------------------------
# Funds
# ---------------------------------------------------------------------------


def _fund(request: HttpRequest, fund_id: int) -> Fund:
    """The fund within the caller's view scope (404 otherwise); the services then check the action."""
    user = caller(request)
    require(user, Fund, Action.VIEW)
    return scoped_get(Fund, user=user, pk=fund_id)


def _fund_to_manage(request: HttpRequest, fund_id: int) -> Fund:
    """The fund, when the caller manages it: checked before references in the body are resolved."""
    fund = _fund(request, fund_id)
    if not selectors.may_manage(fund, caller(request)):
        raise forbidden("只有基金管理机构的经办人员可以执行此操作。", "Only the fund manager's officers may do this.")
    return fund


def _fund_detail(request: HttpRequest, fund_id: int) -> Fund:
    user = caller(request)
    fund = selectors.fund_list(user=user).prefetch_related("sponsors").get(pk=fund_id)
    versions = list(selectors.scheme_versions(user=user, fund=fund))
    schemes = list(Scheme.objects.restrict(user, Action.VIEW).filter(fund=fund).order_by("code"))
    for scheme in schemes:
        scheme.visible_versions = [v for v in versions if v.scheme_id == scheme.pk]  # type: ignore[attr-defined]
    fund.visible_schemes = schemes  # type: ignore[attr-defined]
    return fund


@router.get(
    "/compensation/funds",
    response={200: list[FundOut], **error_responses(403)},
    summary="Risk-compensation funds within your reach (managers, sponsors, supervisors; banks and other sharing "
    "parties see the open funds)",
)
@paginate(Paginated)
def fund_list(request: HttpRequest, filters: Query[FundFilter]) -> QuerySet[Fund]:
    user = caller(request)
    require(user, Fund, Action.VIEW)
    qs = selectors.fund_list(user=user).prefetch_related("sponsors")
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.q:
        qs = qs.filter(Q(code__icontains=filters.q) | Q(name__icontains=filters.q))
    return qs


@router.post(
    "/compensation/funds",
    response={201: FundDetailOut, **WRITE_ERRORS},
    summary="Create a fund (its manager's officers)",
)
def fund_create(request: HttpRequest, payload: FundIn) -> Status[Fund]:
    user = caller(request)
    require(user, Fund, Action.ADD)
    manager = (
        resolve(Organisation, user=user, action=Action.VIEW, field="manager_id", pk=payload.manager_id)
        if payload.manager_id is not None
        else getattr(user, "organisation", None)
    )
    if manager is None:
        raise ApiError(400, "required", "请指定基金管理机构。", "Name the fund manager.", field="manager_id")
    region = region_or_400(payload.region_code, "region_code")
    sponsors = list(Organisation.objects.filter(pk__in=payload.sponsor_ids))
    missing = sorted(set(payload.sponsor_ids) - {s.pk for s in sponsors})
    if missing:
        raise ApiError(
            400,
            "not_found",
            f"出资方不存在：{', '.join(map(str, missing))}。",
            f"Sponsors do not exist: {', '.join(map(str, missing))}.",
            field="sponsor_ids",
        )
    fund = services.fund_create(
        code=payload.code,
        name=payload.name,
        manager=manager,
        region=region,
        capital=Money(Decimal(payload.capital)),
        leverage_cap=Decimal(payload.leverage_cap),
        established_on=payload.established_on,
        sponsors=sponsors,
        liability_capped=payload.liability_capped,
        expires_on=payload.expires_on,
        idle_days=payload.idle_days,
        idle_utilisation=Decimal(payload.idle_utilisation),
        acting_user=user,
    )
    return Status(201, _fund_detail(request, fund.pk))


@router.get(
    "/compensation/funds/{fund_id}",
    response={200: FundDetailOut, **READ_ERRORS},
    summary="One fund with its schemes and their versions",
)
def fund_detail(request: HttpRequest, fund_id: int = FundId) -> Fund:
    fund = _fund(request, fund_id)
    return _fund_detail(request, fund.pk)


@router.patch(
    "/compensation/funds/{fund_id}",
    response={200: FundDetailOut, **WRITE_ERRORS},
    summary="Change a fund's size, leverage cap, status or idle-alert settings (its manager)",
)
def fund_update(request: HttpRequest, payload: FundPatch, fund_id: int = FundId) -> Fund:
    fund = _fund(request, fund_id)
    user = caller(request)
    data: dict[str, Any] = payload.model_dump(exclude_unset=True)
    for name, value in data.items():
        if value is None and name != "expires_on":
            raise ApiError(400, "required", "此字段不能为空。", "This field cannot be null.", field=name)
    if "capital" in data:
        data["capital"] = _money(data["capital"])
    for name in ("leverage_cap", "idle_utilisation"):
        if name in data:
            data[name] = _decimal(data[name])
    if "status" in data:
        data["status"] = str(data["status"])
    services.fund_update(fund=fund, data=data, acting_user=user)
    return _fund_detail(request, fund.pk)


@router.get(
    "/compensation/funds/{fund_id}/figures",
    response={200: FundFiguresOut, **READ_ERRORS},
    summary="A fund's monitoring figures (balance, coverage, leverage, claims, losses, idleness) for its books readers",
)
def fund_figures(request: HttpRequest, fund_id: int = FundId) -> dict[str, Any]:
    user = caller(request)
    fund = _fund(request, fund_id)
    if not selectors.may_read_books(fund, user):
        raise forbidden(
            "只有基金管理机构、出资方和所在地区的主管部门可以查看基金账目。",
            "Only the fund's manager, sponsors and supervisors read its books.",
        )
    figures = selectors.fund_figures(fund)
    data: dict[str, Any] = dict(figures.__dict__)
    for name, value in data.items():
        if isinstance(value, Money):
            data[name] = f"{value.amount:.2f}"
        elif isinstance(value, Decimal):
            data[name] = f"{value:.4f}"
    return data


@router.post(
    "/compensation/funds/{fund_id}/contributions",
    response={201: CompensationPaymentOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_HEADER,
    summary="Record a sponsor's capital paid into the fund (出资到账), idempotent with an Idempotency-Key",
)
def contribution_create(
    request: HttpRequest, response: HttpResponse, payload: ContributionIn, fund_id: int = FundId
) -> Status[Payment]:
    fund = _fund_to_manage(request, fund_id)
    user = caller(request)
    sponsor = organisation_or_400(payload.sponsor_id, "sponsor_id", "出资方", "Sponsor")
    assert sponsor is not None
    key = idempotency_key(request, payload.idempotency_key)
    replayed = bool(key) and Payment.objects.filter(fund=fund, idempotency_key=key).exists()
    try:
        payment = services.contribution_record(
            fund=fund,
            sponsor=sponsor,
            amount=Money(Decimal(payload.amount)),
            paid_on=payload.paid_on,
            idempotency_key=key,
            reference=payload.reference,
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"sponsor": "sponsor_id"}) from exc
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, _payment(payment.pk))


# ---------------------------------------------------------------------------
# Schemes and their versions (maker-checker)
# ---------------------------------------------------------------------------


def _version(request: HttpRequest, version_id: int) -> SchemeVersion:
    user = caller(request)
    require(user, SchemeVersion, Action.VIEW)
    return scoped_get(SchemeVersion, user=user, pk=version_id)


def _reload_version(version: SchemeVersion) -> SchemeVersion:
    return SchemeVersion.objects.select_related("scheme", "prepared_by", "approved_by").get(pk=version.pk)


@router.post(
    "/compensation/schemes",
    response={201: SchemeOut, **WRITE_ERRORS},
    summary="Create a compensation scheme (补偿方案) of a fund; its rules are drafted as versions",
)
def scheme_create(request: HttpRequest, payload: SchemeIn) -> Status[Scheme]:
    user = caller(request)
    require(user, Scheme, Action.ADD)
    fund = resolve(Fund, user=user, action=Action.VIEW, field="fund_id", label_en="fund", pk=payload.fund_id)
    if Scheme.objects.filter(fund=fund, code=payload.code.strip()).exists():
        raise ApiError(
            409, "unique", "该基金下已有相同编号的方案。", "The fund already has a scheme with this code.", field="code"
        )
    scheme = services.scheme_create(fund=fund, code=payload.code, name=payload.name, acting_user=user)
    scheme.visible_versions = []  # type: ignore[attr-defined]
    return Status(201, scheme)


@router.get(
    "/compensation/scheme-versions",
    response={200: list[SchemeVersionOut], **error_responses(403)},
    summary="Scheme versions of the funds within your reach, newest first",
)
@paginate(Paginated)
def scheme_version_list(request: HttpRequest, filters: Query[SchemeVersionFilter]) -> QuerySet[SchemeVersion]:
    user = caller(request)
    require(user, SchemeVersion, Action.VIEW)
    qs = SchemeVersion.objects.restrict(user, Action.VIEW).select_related("scheme", "prepared_by", "approved_by")
    if filters.fund_id:
        qs = qs.filter(scheme__fund_id=filters.fund_id)
    if filters.scheme_id:
        qs = qs.filter(scheme_id=filters.scheme_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs.order_by("scheme__fund__code", "scheme__code", "-number")  # type: ignore[no-any-return]


@router.post(
    "/compensation/scheme-versions",
    response={201: SchemeVersionOut, **WRITE_ERRORS},
    summary="Draft a new version of a scheme's rules (eligibility, loss sharing, caps, claim conditions)",
)
def scheme_version_draft(request: HttpRequest, payload: SchemeVersionIn) -> Status[SchemeVersion]:
    user = caller(request)
    require(user, SchemeVersion, Action.ADD)
    scheme = resolve(Scheme, user=user, action=Action.VIEW, field="scheme_id", label_en="scheme", pk=payload.scheme_id)
    rules: dict[str, Any] = payload.model_dump(exclude={"scheme_id", "sharing_tiers"}, exclude_unset=True)
    rules["effective_from"] = payload.effective_from
    rules["sharing_tiers"] = [tier.model_dump() for tier in payload.sharing_tiers]
    for name in ("min_ip_share", "advance_ratio"):
        if name in rules:
            rules[name] = _decimal(rules[name])
    for name in ("max_principal", "cap_per_loan", "cap_per_enterprise", "cap_per_year"):
        if name in rules:
            rules[name] = _money(rules[name])
    for name in ("sharing_mode", "trigger"):
        if name in rules:
            rules[name] = str(rules[name])
    if "enterprise_sizes" in rules:
        rules["enterprise_sizes"] = [str(size) for size in rules["enterprise_sizes"]]
    version = services.scheme_version_draft(scheme=scheme, rules=rules, acting_user=user)
    return Status(201, _reload_version(version))


@router.post(
    "/compensation/scheme-versions/{version_id}/submit",
    response={200: SchemeVersionOut, **WRITE_ERRORS},
    summary="Submit a draft version for approval (maker)",
)
def scheme_version_submit(request: HttpRequest, version_id: int = VersionId) -> SchemeVersion:
    version = _version(request, version_id)
    services.scheme_version_submit(version=version, acting_user=caller(request))
    return _reload_version(version)


@router.post(
    "/compensation/scheme-versions/{version_id}/approve",
    response={200: SchemeVersionOut, **WRITE_ERRORS},
    summary="Publish a pending version (checker, never its maker); the previous version ends the day before",
)
def scheme_version_approve(request: HttpRequest, version_id: int = VersionId) -> SchemeVersion:
    version = _version(request, version_id)
    services.scheme_version_approve(version=version, acting_user=caller(request))
    return _reload_version(version)


@router.post(
    "/compensation/scheme-versions/{version_id}/reject",
    response={200: SchemeVersionOut, **WRITE_ERRORS},
    summary="Return a pending version to draft with a reason",
)
def scheme_version_reject(
    request: HttpRequest, payload: CompensationNoteIn, version_id: int = VersionId
) -> SchemeVersion:
    version = _version(request, version_id)
    services.scheme_version_reject(version=version, note=payload.note, acting_user=caller(request))
    return _reload_version(version)


# ---------------------------------------------------------------------------
# Enrolment (入池)
# ---------------------------------------------------------------------------

ENROLMENT_FIELDS = {
    "loan": "loan_id",
    "scheme": "scheme_id",
    "insurer": "insurer_id",
    "guarantor": "guarantor_id",
    "valuer": "valuer_id",
}


def _enrolments(user: Any) -> QuerySet[Enrolment]:
    return selectors.enrolment_list(user=user).select_related("insurer", "guarantor", "valuer")


@router.get(
    "/compensation/enrolments",
    response={200: list[EnrolmentOut], **error_responses(403)},
    summary="Loans enrolled in a fund's pool (入池贷款) within your reach",
)
@paginate(Paginated)
def enrolment_list(request: HttpRequest, filters: Query[EnrolmentFilter]) -> QuerySet[Enrolment]:
    user = caller(request)
    require(user, Enrolment, Action.VIEW)
    qs = _enrolments(user)
    if filters.fund_id:
        qs = qs.filter(fund_id=filters.fund_id)
    if filters.loan_id:
        qs = qs.filter(loan_id=filters.loan_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    return qs


@router.post(
    "/compensation/enrolments",
    response={201: EnrolmentOut, **WRITE_ERRORS},
    summary="The lending bank enrols a loan (入池) under the scheme version in force when the loan was made",
)
def enrolment_create(request: HttpRequest, payload: EnrolmentIn) -> Status[Enrolment]:
    user = caller(request)
    require(user, Enrolment, Action.ADD)
    loan = resolve(Loan, user=user, action=Action.VIEW, field="loan_id", label_en="loan", pk=payload.loan_id)
    scheme = resolve(Scheme, user=user, action=Action.VIEW, field="scheme_id", label_en="scheme", pk=payload.scheme_id)
    try:
        enrolment = services.enrolment_create(
            loan=loan,
            scheme=scheme,
            ip_share=Decimal(payload.ip_share),
            insurer=organisation_or_400(payload.insurer_id, "insurer_id", "保险机构", "Insurer"),
            guarantor=organisation_or_400(payload.guarantor_id, "guarantor_id", "担保机构", "Guarantor"),
            valuer=organisation_or_400(payload.valuer_id, "valuer_id", "评估机构", "Valuer"),
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, ENROLMENT_FIELDS) from exc
    return Status(201, _enrolments(user).get(pk=enrolment.pk))


@router.post(
    "/compensation/enrolments/{enrolment_id}/release",
    response={200: EnrolmentOut, **WRITE_ERRORS},
    summary="Take a loan out of the pool (出池) before any claim: repaid, renewed or withdrawn by its bank",
)
def enrolment_release(
    request: HttpRequest, payload: CompensationReasonIn, enrolment_id: int = Path(..., ge=1, le=MAX_ID)
) -> Enrolment:
    user = caller(request)
    require(user, Enrolment, Action.VIEW)
    enrolment = scoped_get(Enrolment, user=user, pk=enrolment_id)
    user = caller(request)
    services.enrolment_release(enrolment=enrolment, reason=payload.reason, acting_user=user)
    return _enrolments(user).get(pk=enrolment.pk)


# ---------------------------------------------------------------------------
# Claims
# ---------------------------------------------------------------------------


def _claims(user: Any) -> QuerySet[Claim]:
    return selectors.claim_list(user=user).select_related("filed_by", "reviewed_by", "approved_by")


def _claim(request: HttpRequest, claim_id: int) -> Claim:
    user = caller(request)
    require(user, Claim, Action.VIEW)
    return scoped_get(Claim, user=user, pk=claim_id)


def _visible_payments(user: Any) -> QuerySet[Payment]:
    return selectors.payment_list(user=user).order_by("instructed_on", "pk")


def _claim_detail(request: HttpRequest, claim_id: int) -> Claim:
    """The claim with its terms, the payments the caller may see, its recoveries and the ledger positions."""
    user = caller(request)
    claim = (
        _claims(user)
        .prefetch_related(Prefetch("recoveries", queryset=Recovery.objects.select_related("recorded_by")))
        .get(pk=claim_id)
    )
    claim.visible_payments = list(_visible_payments(user).filter(claim=claim))  # type: ignore[attr-defined]
    positions = ledger.claim_positions(claim)
    parties = Organisation.objects.in_bulk({party for _, _, party in positions if party is not None})
    claim.position_rows = [  # type: ignore[attr-defined]
        {
            "account_kind": kind,
            "role": role,
            "party": None if party is None else {"id": party, "name": parties[party].name},
            "amount": f"{Money.from_fen(fen).amount:.2f}",
        }
        for (kind, role, party), fen in sorted(
            positions.items(), key=lambda item: (item[0][0], item[0][1], item[0][2] or 0)
        )
    ]
    claim.show_balance = selectors.may_read_books(claim.fund, user)  # type: ignore[attr-defined]
    return claim


@router.get(
    "/compensation/claims",
    response={200: list[CompensationClaimOut], **error_responses(403)},
    summary="Compensation claims (代偿申请) within your reach",
)
@paginate(Paginated)
def claim_list(request: HttpRequest, filters: Query[CompensationClaimFilter]) -> QuerySet[Claim]:
    user = caller(request)
    require(user, Claim, Action.VIEW)
    qs = _claims(user)
    if filters.fund_id:
        qs = qs.filter(fund_id=filters.fund_id)
    if filters.loan_id:
        qs = qs.filter(loan_id=filters.loan_id)
    if filters.status is not None:
        qs = qs.filter(status=filters.status)
    return qs


@router.post(
    "/compensation/claims",
    response={201: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="The lending bank files a claim on an enrolled loan that met the scheme's trigger",
)
def claim_file(request: HttpRequest, payload: CompensationClaimIn) -> Status[Claim]:
    user = caller(request)
    require(user, Claim, Action.ADD)
    enrolment = resolve(
        Enrolment, user=user, action=Action.VIEW, field="enrolment_id", label_en="enrolment", pk=payload.enrolment_id
    )
    try:
        claim = services.claim_file(
            enrolment=enrolment,
            collection_efforts=payload.collection_efforts,
            unpaid_interest=_money(payload.unpaid_interest),
            acting_user=user,
        )
    except ValidationError as exc:
        raise renamed_fields(exc, {"enrolment": "enrolment_id"}) from exc
    return Status(201, _claim_detail(request, claim.pk))


@router.get(
    "/compensation/claims/{claim_id}",
    response={200: CompensationClaimDetailOut, **READ_ERRORS},
    summary="One claim with its frozen terms, payments, recoveries and ledger positions",
)
def claim_detail(request: HttpRequest, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    return _claim_detail(request, claim.pk)


@router.post(
    "/compensation/claims/{claim_id}/review",
    response={200: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="The fund's operator checks the file and recommends it (初审)",
)
def claim_review(request: HttpRequest, payload: CompensationNoteIn, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    services.claim_review(claim=claim, note=payload.note, acting_user=caller(request))
    return _claim_detail(request, claim.pk)


@router.post(
    "/compensation/claims/{claim_id}/approve",
    response={200: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="A fund reviewer (never the claim's reviewer) approves: the fund pays its share in advance at once and "
    "the insurer / guarantor / valuer are instructed to pay theirs",
)
def claim_approve(request: HttpRequest, payload: CompensationNoteIn, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    services.claim_approve(claim=claim, note=payload.note, acting_user=caller(request))
    return _claim_detail(request, claim.pk)


@router.post(
    "/compensation/claims/{claim_id}/reject",
    response={200: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="The fund rejects a filed or reviewed claim, with a reason; the loan returns to the pool",
)
def claim_reject(request: HttpRequest, payload: CompensationNoteIn, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    services.claim_reject(claim=claim, note=payload.note, acting_user=caller(request))
    return _claim_detail(request, claim.pk)


@router.post(
    "/compensation/claims/{claim_id}/withdraw",
    response={200: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="The bank withdraws a filed or reviewed claim; the loan returns to the pool",
)
def claim_withdraw(request: HttpRequest, payload: CompensationNoteIn, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    services.claim_withdraw(claim=claim, note=payload.note, acting_user=caller(request))
    return _claim_detail(request, claim.pk)


@router.post(
    "/compensation/claims/{claim_id}/clear",
    response={200: CompensationClaimDetailOut, **WRITE_ERRORS},
    summary="Clearing (清算) after disposal: the final loss is shared by the frozen terms and true-up instructions "
    "are issued; the claim is cleared once they are paid",
)
def claim_clear(request: HttpRequest, payload: CompensationNoteIn, claim_id: int = ClaimId) -> Claim:
    claim = _claim(request, claim_id)
    services.claim_clear(claim=claim, note=payload.note, acting_user=caller(request))
    return _claim_detail(request, claim.pk)


@router.get(
    "/compensation/claims/{claim_id}/advance-preview",
    response={200: AdvancePreviewOut, **READ_ERRORS},
    summary="What approving the claim now would pay each party (nothing is written)",
)
def claim_advance_preview(request: HttpRequest, claim_id: int = ClaimId) -> dict[str, Any]:
    user = caller(request)
    claim = _claim(request, claim_id)
    preview = services.preview_advance(claim)
    fen = {role: f"{Money.from_fen(int(v)).amount:.2f}" for role, v in preview.get("shares_fen", {}).items()}
    return {
        "error": preview.get("error"),
        "tier_index": preview.get("tier_index"),
        "ratios": preview.get("ratios", {}),
        "shares": fen,
        "advance": {role: f"{Money.from_fen(int(v)).amount:.2f}" for role, v in preview.get("advance", {}).items()},
        "capped": f"{Money.from_fen(int(preview.get('capped_fen', 0))).amount:.2f}",
        "cap_reason": preview.get("cap_reason"),
        "caps": caps_out(preview["caps"], show_balance=selectors.may_read_books(claim.fund, user))
        if "caps" in preview
        else None,
    }


@router.post(
    "/compensation/claims/{claim_id}/recoveries",
    response={201: RecoveryOut, **WRITE_ERRORS},
    openapi_extra=IDEMPOTENCY_HEADER,
    summary="Record money recovered after the advance (disposal net of costs, repayment …), idempotent with a key",
)
def recovery_create(
    request: HttpRequest, response: HttpResponse, payload: RecoveryIn, claim_id: int = ClaimId
) -> Status[Recovery]:
    claim = _claim(request, claim_id)
    user = caller(request)
    key = idempotency_key(request, payload.idempotency_key)
    replayed = bool(key) and Recovery.objects.filter(claim=claim, idempotency_key=key).exists()
    recovery = services.recovery_record(
        claim=claim,
        kind=payload.kind,
        value_date=payload.value_date,
        gross_amount=Money(Decimal(payload.gross_amount)),
        costs=Money(Decimal(payload.costs)),
        source_reference=payload.source_reference,
        note=payload.note,
        idempotency_key=key,
        acting_user=user,
    )
    if replayed:
        response["Idempotent-Replayed"] = "true"
    return Status(201, Recovery.objects.select_related("recorded_by").get(pk=recovery.pk))


# ---------------------------------------------------------------------------
# Payments and the journal
# ---------------------------------------------------------------------------


def _payment(payment_id: int) -> Payment:
    return Payment.objects.select_related("claim", "payer", "payee").get(pk=payment_id)


@router.get(
    "/compensation/payments",
    response={200: list[CompensationPaymentOut], **error_responses(403)},
    summary="Payment instructions (划款指令): all of a fund's for its books readers, else those you pay or receive",
)
@paginate(Paginated)
def payment_list(request: HttpRequest, filters: Query[CompensationPaymentFilter]) -> QuerySet[Payment]:
    user = caller(request)
    require(user, Payment, Action.VIEW)
    qs = selectors.payment_list(user=user)
    if filters.fund_id:
        qs = qs.filter(fund_id=filters.fund_id)
    if filters.claim_id:
        qs = qs.filter(claim_id=filters.claim_id)
    if filters.status:
        qs = qs.filter(status=filters.status)
    if filters.purpose:
        qs = qs.filter(purpose=filters.purpose)
    return qs


@router.post(
    "/compensation/payments/{payment_id}/paid",
    response={200: CompensationPaymentOut, **WRITE_ERRORS},
    summary="The payer (or the fund manager) confirms an instruction was paid; its journal entry is posted once",
)
def payment_paid(
    request: HttpRequest, response: HttpResponse, payload: PaymentPaidIn, payment_id: int = Path(..., ge=1, le=MAX_ID)
) -> Payment:
    user = caller(request)
    require(user, Payment, Action.VIEW)
    payment = scoped_get(Payment, user=user, pk=payment_id)
    user = caller(request)
    if not Payment.objects.restrict(user, Action.CHANGE).filter(pk=payment.pk).exists():
        raise forbidden(
            "只有付款方或基金管理机构可以确认支付。", "Only the payer or the fund manager confirms a payment."
        )
    if payment.status == PaymentStatus.PAID and payment.reference == payload.reference.strip():
        response["Idempotent-Replayed"] = "true"
        return _payment(payment.pk)
    services.payment_mark_paid(payment=payment, paid_on=payload.paid_on, reference=payload.reference, acting_user=user)
    return _payment(payment.pk)


def _entries(user: Any) -> QuerySet[JournalEntry]:
    return selectors.entry_list(user=user).select_related("reversed_by")  # lines with their accounts prefetched


@router.get(
    "/compensation/entries",
    response={200: list[JournalEntryOut], **error_responses(403)},
    summary="The fund's journal (记账凭证) with its lines: all entries for its books readers, else those touching "
    "your own accounts",
)
@paginate(Paginated)
def entry_list(request: HttpRequest, filters: Query[JournalEntryFilter]) -> QuerySet[JournalEntry]:
    user = caller(request)
    require(user, JournalEntry, Action.VIEW)
    qs = _entries(user)
    if filters.fund_id:
        qs = qs.filter(fund_id=filters.fund_id)
    if filters.claim_id:
        qs = qs.filter(claim_id=filters.claim_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    return qs


@router.post(
    "/compensation/entries/{entry_id}/reverse",
    response={201: JournalEntryOut, **WRITE_ERRORS},
    summary="Reverse a payment or contribution posted in error (fund reviewer), with a reason; answers the reversal",
)
def entry_reverse(
    request: HttpRequest, payload: CompensationReasonIn, entry_id: int = Path(..., ge=1, le=MAX_ID)
) -> Status[JournalEntry]:
    user = caller(request)
    require(user, JournalEntry, Action.VIEW)
    entry = scoped_get(JournalEntry, user=user, pk=entry_id)
    user = caller(request)
    reversal = services.entry_reverse(entry=entry, reason=payload.reason, acting_user=user)
    return Status(201, _entries(user).get(pk=reversal.pk))


# ---------------------------------------------------------------------------
# Stress tests and alerts
# ---------------------------------------------------------------------------


@router.get(
    "/compensation/funds/{fund_id}/stress-runs",
    response={200: list[StressRunOut], **READ_ERRORS},
    summary="A fund's adequacy stress tests, newest first (its books readers)",
)
@paginate(Paginated)
def stress_run_list(request: HttpRequest, fund_id: int = FundId) -> QuerySet[StressRun]:
    user = caller(request)
    fund = _fund(request, fund_id)
    return selectors.stress_runs(user=user, fund=fund).select_related("requested_by")


@router.post(
    "/compensation/funds/{fund_id}/stress-runs",
    response={201: StressRunOut, **WRITE_ERRORS},
    summary="Queue a Monte Carlo adequacy stress test of the fund's pool (a background task runs it)",
)
def stress_run_create(request: HttpRequest, payload: StressRunIn, fund_id: int = FundId) -> Status[StressRun]:
    fund = _fund(request, fund_id)
    user = caller(request)
    overrides = {
        name: Decimal(value)
        for name, value in (
            ("recovery_mean", payload.recovery_mean),
            ("recovery_sd", payload.recovery_sd),
            ("correlation", payload.correlation),
        )
        if value is not None
    }
    run = services.stress_run_request(fund=fund, simulations=payload.simulations, overrides=overrides, acting_user=user)
    return Status(201, StressRun.objects.select_related("requested_by").get(pk=run.pk))


@router.get(
    "/compensation/stress-runs/{run_id}",
    response={200: StressRunOut, **READ_ERRORS},
    summary="One stress test: its status and, when done, the payout distribution per horizon",
)
def stress_run_detail(request: HttpRequest, run_id: int = Path(..., ge=1, le=MAX_ID)) -> StressRun:
    user = caller(request)
    require(user, StressRun, Action.VIEW)
    return scoped_get(StressRun, user=user, pk=run_id)


@router.get(
    "/compensation/alerts",
    response={200: list[FundAlertOut], **error_responses(403)},
    summary="Alerts to a fund's manager and sponsors: idle capital, leverage near its cap, low balance",
)
@paginate(Paginated)
def alert_list(request: HttpRequest, filters: Query[FundAlertFilter]) -> QuerySet[FundAlert]:
    user = caller(request)
    require(user, FundAlert, Action.VIEW)
    qs = selectors.alert_list(user=user)
    if filters.fund_id:
        qs = qs.filter(fund_id=filters.fund_id)
    if filters.kind:
        qs = qs.filter(kind=filters.kind)
    if filters.open is not None:
        qs = qs.filter(resolved_on__isnull=filters.open)
    return qs
