"""Disposal services (质物处置): open a case from a defaulted loan, value the rights afresh, choose and approve the
route, run the auction (register, confirm deposits, bid, close), record a negotiated sale or an acquisition, take the
payment, transfer the rights and cancel the pledge, distribute the proceeds, credit licence income, feed the history.

Case state machine (`CaseStatus`):
    opened → route_proposed (bank operator) → route_approved (another bank officer with the approving role)
    → in_progress (listed in an auction; licensing) → sold (auction closed with a winner, or a sale recorded)
    → paid (the buyer paid the balance) → transferred (rights pass to the buyer, cancellation filed)
    → distributed (waterfall posted; the claim gets its recovery) → closed.
    An auction that ends without a bid puts the case back to route_approved, to be relisted or re-routed.

Rules decided here:
- A case opens only for a loan that defaulted or is non-performing (次级 or worse), with its pledged rights.
- Bids are serialised by a row lock on the lot: each accepted bid gets the next sequence number and must reach the
  reserve (first bid) or beat the current price by the increment; a bid in the last `extension_minutes` pushes the
  lot's end to that many minutes after it (anti-sniping, 延时竞价). A refused bid is an error, never a lost row.
- The pledgor and the pledgee bank may not bid. Deposits: the winner's is applied to the price, the others' refunded.
- The proceeds waterfall: costs → bank principal → bank interest → surplus to the pledgor; when a risk-compensation
  claim on the loan was paid in advance, the net proceeds are recorded on it as a recovery (idempotently), and the
  fund is repaid through the claim's clearing; the waterfall shows that return as a step of its own.
- Every sale is recorded as a market comparable (valuation's market approach) with the price spread over the rights
  by their prior values.
"""

from __future__ import annotations

import datetime
import secrets
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from ipledge.core.audit import audited_create, audited_update, record_event, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import NON_PERFORMING_CLASSES, LoanStatus
from ipledge.lending.models import Loan
from ipledge.registration.choices import CancellationReason, RegistrationStatus
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight
from ipledge.registry.services import ip_right_transfer

from .choices import (
    SALE_ROUTES,
    CaseStatus,
    DepositStatus,
    LotStatus,
    ProceedsSource,
    ProceedsStep,
    Route,
    SessionStatus,
)
from .engine import auction as auction_rules
from .engine import waterfall
from .models import AuctionSession, Bid, BidderRegistration, CaseRight, DisposalCase, LicenceIncome, Lot, ProceedsEntry

REFERENCE_ATTEMPTS = 8


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _now() -> datetime.datetime:
    return timezone.now()


def _require_bank(case_or_loan: DisposalCase | Loan, user: User, action: str = Action.CHANGE) -> None:
    scope = scope_for(user)
    if scope is None or not (scope.is_platform or scope.kind == OrganisationKind.BANK):
        raise PermissionDenied("only the pledgee bank's officers may do this")
    model = DisposalCase if isinstance(case_or_loan, DisposalCase) else Loan
    if not model.objects.restrict(user, action).filter(pk=case_or_loan.pk).exists():
        raise PermissionDenied("only the pledgee bank's officers may do this")


def _require_platform(session: AuctionSession, user: User) -> None:
    if not AuctionSession.objects.restrict(user, Action.CHANGE).filter(pk=session.pk).exists():
        raise PermissionDenied("only the disposal platform running the session may do this")


def _lock(case: DisposalCase, expected: set[int]) -> DisposalCase:
    locked = DisposalCase.objects.select_for_update().get(pk=case.pk)
    if locked.status not in expected:
        raise _error("status", f"处置案件当前状态为“{locked.get_status_display()}”，不能执行此操作。", "invalid_state")
    return locked


def _set(case: DisposalCase, *, action: str, acting_user: User | None, **changes: Any) -> DisposalCase:
    before = snapshot(case, changes.keys())
    for name, value in changes.items():
        setattr(case, name, value)
    case.version += 1
    case.save()
    record_event(acting_user=acting_user, action=action, instance=case, old=before, new=snapshot(case, changes.keys()))
    return case


# ---------------------------------------------------------------------------
# Cases
# ---------------------------------------------------------------------------


def _latest_value(right: IPRight) -> tuple[Money | None, int | None]:
    from ipledge.valuation.models import Valuation

    latest = Valuation.objects.filter(ip_right=right).order_by("-pk").first()
    if latest is None:
        return None, None
    return latest.p50, latest.pk


@transaction.atomic
def case_open(*, loan: Loan, acting_user: User, note: str = "") -> DisposalCase:
    """The pledgee bank opens a case on a defaulted or non-performing loan, with every right it holds in pledge."""
    _require_bank(loan, acting_user)
    loan = Loan.objects.select_for_update().get(pk=loan.pk)
    if loan.status != LoanStatus.DEFAULTED and loan.classification not in NON_PERFORMING_CLASSES:
        raise _error("loan", "只有已违约或不良（次级及以下）的贷款可以启动质物处置。", "not_defaulted")
    registration = loan.pledge_registration
    rights = list(loan.collateral.select_related("ip_right").all())
    if registration is None or registration.status != RegistrationStatus.ACTIVE or not rights:
        raise _error("loan", "该贷款没有有效的知识产权质押登记，无法处置质物。", "no_pledge")
    today = business_date()
    case = DisposalCase(
        loan=loan,
        bank=loan.bank,
        pledgor=loan.borrower,
        registration=registration,
        region_code=loan.region_code,
        opened_on=today,
        note=note.strip(),
        opened_by=_actor(acting_user),
    )
    for _attempt in range(REFERENCE_ATTEMPTS):
        case.reference = f"CZ{today:%Y%m%d}{secrets.token_hex(3).upper()}"
        if not DisposalCase.objects.filter(reference=case.reference).exists():
            break
    try:
        audited_create(instance=case, acting_user=acting_user, action="disposal_case.open")
    except IntegrityError as exc:
        raise _error("loan", "该贷款已有未结案的处置案件。", "unique") from exc
    for collateral in rights:
        value, valuation_id = _latest_value(collateral.ip_right)
        if value is None:  # no platform valuation: the appraisal the bank lent against
            value = collateral.appraised_value
        CaseRight.objects.create(
            case=case, ip_right=collateral.ip_right, prior_value=value, prior_valuation_id=valuation_id
        )
    return case


@transaction.atomic
def case_revalue(*, case: DisposalCase, acting_user: User, agency: Organisation | None = None) -> DisposalCase:
    """A fresh machine valuation (机评) of every right in the case, for the reserve price."""
    from ipledge.valuation.services import valuation_run

    _require_bank(case, acting_user)
    _lock(case, {CaseStatus.OPENED, CaseStatus.ROUTE_PROPOSED, CaseStatus.ROUTE_APPROVED})
    for item in case.rights.select_related("ip_right"):
        valuation = valuation_run(ip_right=item.ip_right, acting_user=acting_user, agency=agency, holder=case.pledgor)
        item.fresh_value, item.fresh_valuation_id = valuation.p50, valuation.pk
        item.save(update_fields=["fresh_value", "fresh_valuation_id"])
    record_event(acting_user=acting_user, action="disposal_case.revalue", instance=case)
    return case


@transaction.atomic
def case_propose_route(
    *, case: DisposalCase, route: str, acting_user: User, platform: Organisation | None = None, note: str = ""
) -> DisposalCase:
    _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.OPENED, CaseStatus.ROUTE_PROPOSED, CaseStatus.ROUTE_APPROVED})
    if route not in Route.values:
        raise _error("route", "处置方式无效。", "choice")
    if route == Route.AUCTION and (platform is None or platform.kind != OrganisationKind.DISPOSAL_PLATFORM):
        raise _error("platform", "网络拍卖须指定知识产权交易/处置平台。", "required")
    if route == Route.ACQUISITION and platform is None:
        raise _error("platform", "第三方收储须指定收储机构。", "required")
    return _set(
        case,
        action="disposal_case.propose_route",
        acting_user=acting_user,
        status=CaseStatus.ROUTE_PROPOSED,
        route=route,
        platform=platform,
        route_note=note.strip(),
        proposed_by=_actor(acting_user),
        approved_by=None,
        route_approved_on=None,
    )


@transaction.atomic
def case_approve_route(*, case: DisposalCase, acting_user: User) -> DisposalCase:
    _require_bank(case, acting_user, Action.APPROVE)
    case = _lock(case, {CaseStatus.ROUTE_PROPOSED})
    if case.proposed_by_id == (acting_user.pk or None):
        raise _error("approved_by", "审批人不能是方案提出人（审批分离）。", "maker_is_checker")
    status = CaseStatus.IN_PROGRESS if case.route == Route.LICENSING else CaseStatus.ROUTE_APPROVED
    return _set(
        case,
        action="disposal_case.approve_route",
        acting_user=acting_user,
        status=status,
        approved_by=_actor(acting_user),
        route_approved_on=business_date(),
    )


# ---------------------------------------------------------------------------
# Auctions
# ---------------------------------------------------------------------------


@transaction.atomic
def session_create(
    *,
    platform: Organisation,
    title: str,
    starts_at: datetime.datetime,
    ends_at: datetime.datetime,
    acting_user: User,
    extension_minutes: int = 5,
) -> AuctionSession:
    scope = scope_for(acting_user)
    if scope is None or not scope.may(Action.ADD) or platform.kind != OrganisationKind.DISPOSAL_PLATFORM:
        raise PermissionDenied("only a disposal platform opens auction sessions")
    if not scope.is_platform and not platform.tree_path.startswith(scope.org_tree_path):
        raise PermissionDenied("a platform opens its own sessions only")
    if ends_at <= starts_at:
        raise _error("ends_at", "结束时间必须晚于开始时间。", "order")
    if extension_minutes > 60:
        raise _error("extension_minutes", "延时周期不能超过 60 分钟。", "range")
    session = AuctionSession(
        platform=platform,
        title=title.strip(),
        starts_at=starts_at,
        ends_at=ends_at,
        extension_minutes=extension_minutes,
        created_by=_actor(acting_user),
    )
    return audited_create(instance=session, acting_user=acting_user, action="auction_session.create")


@transaction.atomic
def lot_list(
    *,
    session: AuctionSession,
    case: DisposalCase,
    reserve_price: Money,
    deposit: Money,
    increment: Money,
    acting_user: User,
) -> Lot:
    """The platform lists an approved auction case as a lot of one of its sessions (集中拍卖: many cases, one session)."""
    _require_platform(session, acting_user)
    case = _lock(case, {CaseStatus.ROUTE_APPROVED})
    if case.route != Route.AUCTION or case.platform_id != session.platform_id:
        raise _error("case", "该案件未确定由本平台网络拍卖。", "route")
    if session.status != SessionStatus.SCHEDULED or session.ends_at <= _now():
        raise _error("session", "该场次已结束或取消。", "session_closed")
    if reserve_price.fen <= 0 or increment.fen <= 0 or deposit.fen < 0:
        raise _error("reserve_price", "保留价和加价幅度必须大于零，保证金不能为负。", "range")
    number = session.lots.count() + 1
    lot = Lot(  # type: ignore[misc]
        session=session,
        case=case,
        number=number,
        reserve_price=reserve_price,
        deposit=deposit,
        increment=increment,
        ends_at=session.ends_at,
    )
    audited_create(instance=lot, acting_user=acting_user, action="lot.list")
    _set(case, action="disposal_case.listed", acting_user=acting_user, status=CaseStatus.IN_PROGRESS)
    return lot


@transaction.atomic
def bidder_register(*, lot: Lot, acting_user: User) -> BidderRegistration:
    """An organisation signs up to bid (竞买登记); the pledgor and the pledgee bank may not."""
    scope = scope_for(acting_user)
    if scope is None or not scope.may(Action.ADD) or acting_user.organisation is None:
        raise PermissionDenied("your role cannot sign up to bid")
    org = acting_user.organisation
    if lot.status != LotStatus.LISTED or lot.ends_at <= _now():
        raise _error("lot", "该标的已结束拍卖。", "lot_closed")
    case = lot.case
    if case.bank.tree_path.startswith(org.tree_path) or org.tree_path.startswith(case.bank.tree_path):
        raise _error("lot", "质权人不能参与竞买。", "pledgee")
    if case.pledgor.organisation_id == org.pk:
        raise _error("lot", "出质人不能参与竞买。", "pledgor")
    registration = BidderRegistration(
        lot=lot, bidder=org, alias=f"{lot.bidders.count() + 1:04d}", registered_by=_actor(acting_user)
    )
    try:
        return audited_create(instance=registration, acting_user=acting_user, action="bidder.register")
    except ValidationError:
        raise
    except IntegrityError as exc:
        raise _error("lot", "已登记竞买该标的。", "unique") from exc


@transaction.atomic
def deposit_confirm(
    *, registration: BidderRegistration, acting_user: User, paid_on: datetime.date | None = None
) -> BidderRegistration:
    _require_platform(registration.lot.session, acting_user)
    registration = BidderRegistration.objects.select_for_update().get(pk=registration.pk)
    if registration.deposit_status != DepositStatus.PENDING:
        raise _error("deposit_status", "保证金已确认。", "invalid_state")
    return audited_update(
        instance=registration,
        data={"deposit_status": DepositStatus.PAID, "deposit_paid_on": paid_on or business_date()},
        acting_user=acting_user,
        action="bidder.deposit_paid",
    )


@transaction.atomic
def bid_place(*, lot: Lot, amount: Money, acting_user: User, now: datetime.datetime | None = None) -> Bid:
    """Place a bid. The lot row is locked, so concurrent bids are taken one after the other in a total order."""
    org = acting_user.organisation
    if org is None or not (scope_for(acting_user) and scope_for(acting_user).may(Action.ADD)):  # type: ignore[union-attr]
        raise PermissionDenied("your role cannot bid")
    now = now or _now()
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    registration = BidderRegistration.objects.filter(lot=lot, bidder=org).first()
    if registration is None:
        raise _error("lot", "请先登记竞买并缴纳保证金。", "not_registered")
    if registration.deposit_status != DepositStatus.PAID:
        raise _error("lot", "保证金到账后才能出价。", "deposit_unpaid")
    if lot.status != LotStatus.LISTED or now < lot.session.starts_at:
        raise _error("lot", "该标的不在竞价时间内。", "not_open")
    if now >= lot.ends_at:
        raise _error("lot", "竞价已结束。", "ended")
    minimum = auction_rules.minimum_bid_fen(
        reserve_fen=lot.reserve_price.fen,
        increment_fen=lot.increment.fen,
        current_fen=lot.current_price.fen if lot.current_price is not None else None,
    )
    if amount.fen < minimum:
        raise _error("amount", f"出价须不低于 {Money.from_fen(minimum)} 元。", "too_low")
    sequence = lot.bid_count + 1
    bid = Bid(  # type: ignore[misc]
        lot=lot,
        registration=registration,
        sequence=sequence,
        amount=amount,
        placed_at=now,
        placed_by=_actor(acting_user),
    )
    bid.save()
    window = datetime.timedelta(minutes=lot.session.extension_minutes)
    ends_at = auction_rules.extended_end(ends_at=lot.ends_at, placed_at=now, window=window)
    Lot.objects.filter(pk=lot.pk).update(current_price=amount, bid_count=sequence, ends_at=ends_at)
    record_event(
        acting_user=acting_user,
        action="bid.place",
        instance=bid,
        new={"amount": amount, "sequence": sequence, "ends_at": ends_at, "extended": ends_at != lot.ends_at},
    )
    return bid


@transaction.atomic
def lot_close(*, lot: Lot, acting_user: User | None = None, now: datetime.datetime | None = None) -> Lot:
    """After the end: the highest bid wins; the winner's deposit is applied, the others' refunded; no bid: unsold."""
    now = now or _now()
    if acting_user is not None:
        _require_platform(lot.session, acting_user)
    lot = Lot.objects.select_for_update().get(pk=lot.pk)
    if lot.status != LotStatus.LISTED:
        raise _error("status", "该标的已结束。", "invalid_state")
    if now < lot.ends_at:
        raise _error("ends_at", "竞价尚未结束。", "not_ended")
    case = _lock(lot.case, {CaseStatus.IN_PROGRESS})
    top = lot.bids.order_by("-sequence").first()
    for registration in lot.bidders.select_for_update():
        won = top is not None and registration.pk == top.registration_id
        if registration.deposit_status == DepositStatus.PAID:
            registration.deposit_status = DepositStatus.APPLIED if won else DepositStatus.REFUNDED
            registration.save(update_fields=["deposit_status"])
    if top is None:
        lot = audited_update(
            instance=lot,
            data={"status": LotStatus.UNSOLD, "closed_at": now},
            acting_user=acting_user,
            action="lot.unsold",
        )
        _set(case, action="disposal_case.unsold", acting_user=acting_user, status=CaseStatus.ROUTE_APPROVED)
        return lot
    lot = audited_update(
        instance=lot,
        data={"status": LotStatus.SOLD, "winner": top.registration, "closed_at": now},
        acting_user=acting_user,
        action="lot.sold",
    )
    _sold(case, buyer=top.registration.bidder, price=top.amount, acting_user=acting_user)
    return lot


def close_due_lots(*, now: datetime.datetime | None = None) -> dict[str, int]:
    """The scheduled job: close every listed lot whose end has passed."""
    now = now or _now()
    counts = {"sold": 0, "unsold": 0}
    for lot in Lot.objects.filter(status=LotStatus.LISTED, ends_at__lte=now).order_by("pk"):
        closed = lot_close(lot=lot, now=now)
        counts[str(closed.status)] += 1
    for session in AuctionSession.objects.filter(status=SessionStatus.SCHEDULED, ends_at__lte=now):
        if not session.lots.filter(status=LotStatus.LISTED).exists():
            audited_update(
                instance=session,
                data={"status": SessionStatus.CLOSED},
                acting_user=None,
                action="auction_session.close",
            )
    return counts


def _sold(case: DisposalCase, *, buyer: Organisation, price: Money, acting_user: User | None) -> DisposalCase:
    return _set(
        case,
        action="disposal_case.sold",
        acting_user=acting_user,
        status=CaseStatus.SOLD,
        buyer=buyer,
        sale_price=price,
        sold_on=business_date(),
    )


@transaction.atomic
def sale_record(*, case: DisposalCase, buyer: Organisation, price: Money, acting_user: User) -> DisposalCase:
    """A negotiated transfer (协议转让) or a third-party acquisition (第三方收储) at an agreed price."""
    _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.ROUTE_APPROVED})
    if case.route not in (Route.NEGOTIATED, Route.ACQUISITION):
        raise _error("route", "网络拍卖的成交由拍卖产生；许可运营不转让权利。", "route")
    if case.route == Route.ACQUISITION and buyer.pk != case.platform_id:
        raise _error("buyer", "第三方收储的买受人须为方案确定的收储机构。", "acquirer")
    if price.fen <= 0:
        raise _error("price", "成交价必须大于零。", "positive")
    if buyer.pk == case.bank_id or (case.pledgor.organisation_id and buyer.pk == case.pledgor.organisation_id):
        raise _error("buyer", "买受人不能是质权人或出质人。", "party")
    return _sold(case, buyer=buyer, price=price, acting_user=acting_user)


@transaction.atomic
def payment_confirm(*, case: DisposalCase, acting_user: User, paid_on: datetime.date | None = None) -> DisposalCase:
    """The buyer has paid the price (less the applied deposit): confirmed by the platform or the bank."""
    may_platform = (
        case.platform_id is not None
        and AuctionSession.objects.restrict(acting_user, Action.CHANGE).filter(platform_id=case.platform_id).exists()
    )
    if not may_platform:
        _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.SOLD})
    paid_on = paid_on or business_date()
    if paid_on > business_date() or (case.sold_on and paid_on < case.sold_on):
        raise _error("paid_on", "付款日须在成交日与今天之间。", "range")
    return _set(case, action="disposal_case.paid", acting_user=acting_user, status=CaseStatus.PAID, paid_on=paid_on)


def _buyer_enterprise(buyer: Organisation) -> Enterprise | None:
    return Enterprise.objects.filter(organisation=buyer).first()


@transaction.atomic
def case_transfer(*, case: DisposalCase, acting_user: User) -> DisposalCase:
    """The rights pass to the buyer; the bank files the pledge cancellation (质权已实现); the sale becomes a market
    comparable for each right, its price spread by the rights' prior values."""
    from ipledge.registration.services import cancellation_file
    from ipledge.valuation.choices import ComparableKind
    from ipledge.valuation.models import ComparableTransaction

    _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.PAID})
    assert case.buyer is not None and case.sale_price is not None
    today = business_date()
    enterprise = _buyer_enterprise(case.buyer)
    items = list(case.rights.select_related("ip_right"))
    weights = [max(item.prior_value.fen if item.prior_value else 0, 1) for item in items]
    shares = case.sale_price.allocate(weights)
    for item, share in zip(items, shares, strict=True):
        ip_right_transfer(
            right=item.ip_right,
            acting_user=acting_user,
            reason=f"质物处置 {case.reference}（{case.get_route_display()}）",
            to_enterprise=enterprise,
            to_name=case.buyer.name,
        )
        item.price_share = share
        item.save(update_fields=["price_share"])
        right = item.ip_right
        comparable = ComparableTransaction(  # type: ignore[misc]  # MoneyField takes Money
            ip_right=right,
            transaction_kind=ComparableKind.DISPOSAL,
            price=share,
            kind=right.kind,
            patent_type=right.patent_type,
            ipc_section=(right.main_ipc or "")[:1].upper(),
            transacted_on=case.sold_on or today,
            source=f"处置案件 {case.reference}",
            region_code=case.region_code,
            recorded_by_org=case.platform or case.bank,
        )
        audited_create(instance=comparable, acting_user=acting_user, action="comparable.disposal")
    filing = None
    registration = PledgeRegistration.objects.filter(pk=case.registration_id).first()
    if registration is not None and registration.status == RegistrationStatus.ACTIVE:
        filing = cancellation_file(
            registration=registration, reason=CancellationReason.ENFORCED, acting_user=acting_user
        )
    return _set(
        case,
        action="disposal_case.transfer",
        acting_user=acting_user,
        status=CaseStatus.TRANSFERRED,
        transferred_on=today,
        cancellation_filing=filing,
    )


# ---------------------------------------------------------------------------
# Proceeds
# ---------------------------------------------------------------------------


def _open_claim(case: DisposalCase) -> Any:
    from ipledge.compensation.choices import ClaimStatus
    from ipledge.compensation.models import Claim

    return Claim.objects.filter(loan=case.loan, status=ClaimStatus.ADVANCE_PAID).first()


def _fund_return_fen(claim: Any, recovery_fen: int) -> int:
    """What the claim's clearing will return to the fund once this recovery is counted (a preview)."""
    from ipledge.compensation.engine import clearing, sharing
    from ipledge.compensation.services import caps_from, paid_by_role

    terms = claim.terms
    rule = sharing.rule_from_data(terms["tiers"], mode=terms["mode"])
    paid = paid_by_role(claim)
    result = clearing.clear(
        exposure_fen=claim.exposure.fen,
        recoveries_fen=claim.recoveries_total.fen + recovery_fen,
        balance_fen=int(terms["balance_fen"]),
        paid_fen=paid,
        rule=rule,
        caps=caps_from(terms["caps"]),
    )
    return sum(t.fen for t in result.transfers if t.payer == "bank" and t.payee == "fund")


def _unpaid_interest_fen(loan: Loan) -> int:
    """Scheduled interest fallen due and not paid (penalty interest is left to the bank's own collection)."""
    today = business_date()
    return sum(
        max(i.interest_due.fen - i.interest_paid.fen, 0)
        for i in loan.instalments.filter(due_date__lte=today, settled_on__isnull=True)
    )


def _post_waterfall(
    case: DisposalCase,
    *,
    source: str,
    gross: Money,
    costs: Money,
    acting_user: User,
    licence_income: LicenceIncome | None = None,
    idempotency_key: str,
) -> waterfall.Steps:
    from ipledge.compensation.services import recovery_record

    loan = case.loan
    loan.refresh_from_db()
    already_principal = sum(e.amount.fen for e in case.entries.filter(step=ProceedsStep.BANK_PRINCIPAL))
    principal_due = max((loan.outstanding_principal.fen if loan.outstanding_principal else 0) - already_principal, 0)
    already_interest = sum(e.amount.fen for e in case.entries.filter(step=ProceedsStep.BANK_INTEREST))
    interest_due = max(_unpaid_interest_fen(loan) - already_interest, 0)
    steps = waterfall.distribute(
        gross_fen=gross.fen, costs_fen=costs.fen, principal_due_fen=principal_due, interest_due_fen=interest_due
    )
    today = business_date()
    proceeds = f"proceeds:{case.reference}"
    pledgor = case.pledgor.organisation
    rows = [
        (ProceedsStep.COSTS, steps.costs_fen, f"costs:{case.platform_id or case.bank_id}", case.platform or case.bank),
        (ProceedsStep.BANK_PRINCIPAL, steps.principal_fen, f"bank:{case.bank_id}", case.bank),
        (ProceedsStep.BANK_INTEREST, steps.interest_fen, f"bank:{case.bank_id}", case.bank),
        (ProceedsStep.SURPLUS, steps.surplus_fen, f"pledgor:{case.pledgor_id}", pledgor),
    ]
    claim = _open_claim(case)
    fund_return = 0
    if claim is not None and steps.bank_fen:
        fund_return = _fund_return_fen(claim, min(steps.bank_fen, claim.exposure.fen - claim.recoveries_total.fen))
        recovery_record(
            claim=claim,
            kind="disposal",
            value_date=today,
            gross_amount=Money.from_fen(steps.bank_fen),
            idempotency_key=idempotency_key,
            source_reference=case.reference,
            note=f"{ProceedsSource(source).label}：{gross} 元，费用 {costs} 元",
            acting_user=acting_user,
        )
    sequence = case.entries.count()
    for step, fen, account, payee in rows:
        if not fen:
            continue
        sequence += 1
        ProceedsEntry.objects.create(
            case=case,
            source=source,
            licence_income=licence_income,
            step=step,
            sequence=sequence,
            debit_account=account,
            credit_account=proceeds,
            payee=payee,
            amount=Money.from_fen(fen),
            posted_on=today,
            posted_by=_actor(acting_user),
        )
        after_bank = step == ProceedsStep.BANK_INTEREST or (
            step == ProceedsStep.BANK_PRINCIPAL and not steps.interest_fen
        )
        if after_bank and fund_return and claim is not None:
            sequence += 1
            ProceedsEntry.objects.create(
                case=case,
                source=source,
                licence_income=licence_income,
                step=ProceedsStep.COMPENSATION,
                sequence=sequence,
                debit_account=f"fund:{claim.fund_id}",
                credit_account=f"bank:{case.bank_id}",
                payee=claim.fund.manager,
                amount=Money.from_fen(fund_return),
                posted_on=today,
                posted_by=_actor(acting_user),
            )
    record_event(
        acting_user=acting_user,
        action="disposal_case.proceeds",
        instance=case,
        extra={"source": source, "gross": gross, "steps": steps.as_dict(), "fund_return_fen": fund_return},
    )
    return steps


@transaction.atomic
def proceeds_distribute(*, case: DisposalCase, costs: Money, acting_user: User) -> DisposalCase:
    """Run the sale price down the waterfall (once per case)."""
    _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.TRANSFERRED})
    assert case.sale_price is not None
    if costs.fen < 0 or costs.fen > case.sale_price.fen:
        raise _error("costs", "处置费用不能为负，也不能超过成交价。", "range")
    _post_waterfall(
        case,
        source=ProceedsSource.SALE,
        gross=case.sale_price,
        costs=costs,
        acting_user=acting_user,
        idempotency_key=f"disposal:{case.reference}",
    )
    return _set(
        case,
        action="disposal_case.distribute",
        acting_user=acting_user,
        status=CaseStatus.DISTRIBUTED,
        costs=costs,
        distributed_on=business_date(),
    )


@transaction.atomic
def licence_income_record(
    *,
    case: DisposalCase,
    licensee: str,
    amount: Money,
    received_on: datetime.date,
    idempotency_key: str,
    acting_user: User,
    costs: Money | None = None,
) -> LicenceIncome:
    """Licence income under 许可运营, credited down the same waterfall as it arrives (idempotent by key)."""
    _require_bank(case, acting_user)
    key = idempotency_key.strip()
    if not key:
        raise _error("idempotency_key", "请提供幂等键，以免重复登记。", "required")
    existing = LicenceIncome.objects.filter(case=case, idempotency_key=key).first()
    if existing is not None:
        if existing.amount != amount:
            raise _error("idempotency_key", "该幂等键已用于另一笔不同的收入。", "idempotency_mismatch")
        return existing
    case = _lock(case, {CaseStatus.IN_PROGRESS})
    if case.route != Route.LICENSING:
        raise _error("case", "只有许可运营的案件登记许可收入。", "route")
    costs = costs or Money(0)
    if amount.fen <= 0 or costs.fen < 0 or costs.fen > amount.fen:
        raise _error("amount", "收入必须大于零，费用不能为负也不能超过收入。", "range")
    if received_on > business_date():
        raise _error("received_on", "到账日不能晚于今天。", "future_date")
    if not licensee.strip():
        raise _error("licensee", "请填写被许可人。", "required")
    income = LicenceIncome(  # type: ignore[misc]
        case=case,
        licensee=licensee.strip(),
        received_on=received_on,
        amount=amount,
        costs=costs,
        idempotency_key=key,
        recorded_by=_actor(acting_user),
    )
    audited_create(instance=income, acting_user=acting_user, action="licence_income.record")
    _post_waterfall(
        case,
        source=ProceedsSource.LICENCE,
        gross=amount,
        costs=costs,
        acting_user=acting_user,
        licence_income=income,
        idempotency_key=f"licence:{case.reference}:{key}",
    )
    return income


@transaction.atomic
def case_close(*, case: DisposalCase, acting_user: User, note: str = "") -> DisposalCase:
    _require_bank(case, acting_user)
    case = _lock(case, {CaseStatus.DISTRIBUTED, CaseStatus.IN_PROGRESS})
    if case.status == CaseStatus.IN_PROGRESS and case.route != Route.LICENSING:
        raise _error("status", "拍卖或转让中的案件不能直接结案。", "invalid_state")
    return _set(
        case,
        action="disposal_case.close",
        acting_user=acting_user,
        status=CaseStatus.CLOSED,
        closed_on=business_date(),
        note=(case.note + ("\n" + note.strip() if note.strip() else "")).strip(),
    )


def disposal_history(*, region_prefix: str = "") -> list[dict[str, Any]]:
    """Sales against prior valuations and time to sale, for the valuation's market approach and the funds."""
    rows = []
    cases = DisposalCase.objects.filter(sale_price__isnull=False, region_code__startswith=region_prefix)
    for case in cases.prefetch_related("rights"):
        prior = sum((r.prior_value.fen for r in case.rights.all() if r.prior_value), 0)
        rows.append(
            {
                "case": case.reference,
                "route": case.route,
                "sale_price": case.sale_price,
                "prior_value": Money.from_fen(prior) if prior else None,
                "price_to_value": (Decimal(case.sale_price.fen) / Decimal(prior)).quantize(Decimal("0.0001"))
                if prior and case.sale_price
                else None,
                "days_to_sale": (case.sold_on - case.opened_on).days if case.sold_on else None,
            }
        )
    return rows


__all__ = [
    "SALE_ROUTES",
    "bid_place",
    "bidder_register",
    "case_approve_route",
    "case_close",
    "case_open",
    "case_propose_route",
    "case_revalue",
    "case_transfer",
    "close_due_lots",
    "deposit_confirm",
    "disposal_history",
    "licence_income_record",
    "lot_close",
    "lot_list",
    "payment_confirm",
    "proceeds_distribute",
    "sale_record",
    "session_create",
]
