"""The financing-demand library (融资项目库) and the banks' answers to leads (线索反馈).

A demand is posted by the enterprise itself (企业发布), by the administration of a park the enterprise is currently
a member of on its behalf (园区代报), or from a survey answer (调查问卷). It offers some of the enterprise's IP rights
and names the banks it consents to share the demand with, or consents to every bank whose product matches.

Lifecycle: open (待匹配) → matched (已匹配, some live product fits) → in talks (洽谈中, a bank answered interested or
contacted) → financed (已获贷, linked to the enterprise's loan) / withdrawn (已撤回) / expired (已过期). Matching
(`ipledge.market.services.matching.demand_match`) moves open ⇄ matched; this module moves the rest. Every status
change is a guarded write: the row is locked (`select_for_update`) and its status checked again, so two officers
withdrawing and linking a loan at once cannot both succeed; an illegal transition is refused naming `status`.

Rules decided here:
- Amount > 0, term 1–360 months, purpose one of `DemandPurpose`; expiry defaults to today + 180 days and may not
  lie in the past.
- Offered rights must be registered to the enterprise (a registered owner, `IPRightOwner`) and legally valid today
  (法律状态有效, term not ended). Share banks must be bank organisations that are active.
- The reference is `XQ<year>-<6 digits>`, numbered per year of the business date.
- A demand can be edited only while open or matched (terms, rights, expiry); each edit bumps `version`, and an
  edit made against an older version (`expected_version`) is refused as stale. Every edit re-runs matching.
- A bank answers a lead only for an eligible match of a product of its own tree, on an active demand it can see;
  interested / contacted move open or matched demands to in talks, declined leaves the status as it is.
"""

from __future__ import annotations

import datetime
from collections.abc import Iterable, Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import insert_validated, record_event, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.lending.choices import LoanStatus
from ipledge.registry.choices import LegalStatus
from ipledge.registry.models import Enterprise, IPRight, Park

from ..choices import (
    ACTIVE_DEMAND_STATUSES,
    DemandPurpose,
    DemandSource,
    DemandStatus,
    LeadResponse,
    ProductStatus,
)
from ..models import Demand, DemandRight, DemandShare, Match, Product

DEFAULT_LIFETIME_DAYS = 180
MAX_TERM_MONTHS = 360
MAX_DESCRIPTION = 2000
REFERENCE_PREFIX = "XQ"
REFERENCE_ATTEMPTS = 50
EDITABLE_STATUSES = (DemandStatus.OPEN, DemandStatus.MATCHED)
ENGAGING_RESPONSES = (LeadResponse.INTERESTED, LeadResponse.CONTACTED)
# Loans that do not show the demand was met: applications not yet approved, withdrawn or rejected.
UNGRANTED_LOAN_STATUSES = (
    LoanStatus.DRAFT,
    LoanStatus.SUBMITTED,
    LoanStatus.DUE_DILIGENCE,
    LoanStatus.PENDING_APPROVAL,
    LoanStatus.WITHDRAWN,
    LoanStatus.REJECTED,
)


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


class _Errors:
    def __init__(self) -> None:
        self.items: dict[str, list[ValidationError]] = {}

    def add(self, field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> None:
        self.items.setdefault(field, []).append(ValidationError(message, code=code, params=params))

    def raise_any(self) -> None:
        if self.items:
            raise ValidationError(self.items)


# ---------------------------------------------------------------------------
# Who may post for which enterprise
# ---------------------------------------------------------------------------


def current_parks(enterprise: Enterprise) -> list[Park]:
    """The parks the enterprise is a current member of (入园, not left), earliest membership first."""
    return list(
        Park.objects.filter(memberships__enterprise=enterprise, memberships__left_on__isnull=True)
        .select_related("administering_org")
        .order_by("memberships__joined_on", "pk")
        .distinct()
    )


def postable_enterprises(user: Any) -> Any:
    """The enterprises a user may post demands for: its own enterprise, or a park administration's current member
    enterprises (a platform administrator: every enterprise)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return Enterprise.objects.none()
    if scope.is_platform:
        return Enterprise.objects.all()
    if scope.kind == OrganisationKind.ENTERPRISE:
        return Enterprise.objects.filter(organisation_id=scope.organisation_id)
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return Enterprise.objects.filter(
            memberships__left_on__isnull=True,
            memberships__park__administering_org__tree_path__startswith=scope.org_tree_path,
        ).distinct()
    return Enterprise.objects.none()


def _posting(user: User, enterprise: Enterprise, source: str, park: Park | None) -> tuple[str, Park | None]:
    """Check the acting user may post for the enterprise; return the source and park the demand records."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        raise PermissionDenied("your role may not post financing demands")
    if source not in DemandSource.values:
        raise _error("source", _("需求来源无效。"), "choice")
    parks = current_parks(enterprise)
    if scope.is_platform:
        allowed = parks
    elif scope.kind == OrganisationKind.ENTERPRISE:
        if enterprise.organisation_id != scope.organisation_id:
            raise PermissionDenied("an enterprise posts demands only for itself")
        if source == DemandSource.PARK:
            raise _error("source", _("企业自行发布的需求不能标记为园区代报。"), "source_not_allowed")
        allowed = parks
    elif scope.kind == OrganisationKind.PARK_ADMIN:
        allowed = [
            p
            for p in parks
            if p.administering_org is not None and p.administering_org.tree_path.startswith(scope.org_tree_path)
        ]
        if not allowed:
            raise _error("enterprise", _("该企业不是本园区的在园企业，不能代为发布需求。"), "not_park_member")
        if source == DemandSource.ENTERPRISE:
            source = DemandSource.PARK
        if park is None:
            park = allowed[0]
    elif scope.kind == OrganisationKind.IP_OFFICE and source == DemandSource.SURVEY:
        region = scope.region_q("region_code")
        if region is None or not Enterprise.objects.filter(region, pk=enterprise.pk).exists():
            raise PermissionDenied("an IP office records survey demands only for enterprises of its region")
        allowed = parks
    else:
        raise PermissionDenied("only an enterprise or its park posts financing demands")
    if park is not None and park.pk not in {p.pk for p in allowed}:
        raise _error("park", _("所选园区不是该企业当前所在的园区。"), "not_park_member")
    if park is None and source != DemandSource.PARK and parks:
        park = parks[0]
    return source, park


# ---------------------------------------------------------------------------
# Validation
# ---------------------------------------------------------------------------


def _check_terms(
    errors: _Errors,
    *,
    amount: Money | None,
    term_months: int | None,
    purpose: str | None,
    description: str | None,
    expires_on: datetime.date | None,
    today: datetime.date,
) -> None:
    if amount is not None and (not isinstance(amount, Money) or amount.fen <= 0):
        errors.add("amount", _("融资金额须大于零。"), "positive")
    if term_months is not None and not 1 <= int(term_months) <= MAX_TERM_MONTHS:
        errors.add("term_months", _("融资期限须在1至360个月之间。"), "range")
    if purpose is not None and purpose not in DemandPurpose.values:
        errors.add("purpose", _("资金用途无效。"), "choice")
    if description is not None and len(description) > MAX_DESCRIPTION:
        errors.add("description", _("需求说明不能超过%(max)s个字符。"), "max_length", {"max": MAX_DESCRIPTION})
    if expires_on is not None and expires_on < today:
        errors.add("expires_on", _("有效期不能早于今天。"), "past")


def _unique_ids(values: Iterable[Any]) -> list[int]:
    seen: list[int] = []
    for value in values:
        pk = int(value.pk if hasattr(value, "pk") else value)
        if pk not in seen:
            seen.append(pk)
    return seen


def _check_rights(
    errors: _Errors, enterprise: Enterprise, right_ids: Sequence[int], today: datetime.date
) -> list[IPRight]:
    """The offered rights, each registered to the enterprise and legally valid today."""
    ids = _unique_ids(right_ids)
    if not ids:
        return []
    found = {r.pk: r for r in IPRight.objects.filter(pk__in=ids)}
    owned = set(IPRight.objects.filter(pk__in=ids, owners__enterprise_id=enterprise.pk).values_list("pk", flat=True))
    rights: list[IPRight] = []
    for pk in ids:
        right = found.get(pk)
        if right is None or pk not in owned:
            label = right.number if right is not None else str(pk)
            errors.add(
                "right_ids",
                _("知识产权 %(number)s 不属于该企业，不能列为拟质押物。"),
                "not_owner",
                {"number": label},
            )
            continue
        if right.legal_status != LegalStatus.VALID:
            errors.add(
                "right_ids",
                _("知识产权 %(number)s 的法律状态为“%(status)s”，只能提供有效的知识产权。"),
                "not_valid",
                {"number": right.number, "status": right.get_legal_status_display()},
            )
            continue
        if right.term_end is not None and right.term_end < today:
            errors.add(
                "right_ids",
                _("知识产权 %(number)s 的保护期已于 %(end)s 届满。"),
                "term_ended",
                {"number": right.number, "end": right.term_end.isoformat()},
            )
            continue
        rights.append(right)
    return rights


def _check_banks(errors: _Errors, bank_ids: Sequence[int]) -> list[Organisation]:
    ids = _unique_ids(bank_ids)
    if not ids:
        return []
    found = {o.pk: o for o in Organisation.objects.filter(pk__in=ids)}
    banks: list[Organisation] = []
    for pk in ids:
        org = found.get(pk)
        if org is None or org.kind != OrganisationKind.BANK:
            errors.add(
                "share_bank_ids",
                _("“%(name)s”不是银行，不能作为推送对象。"),
                "not_bank",
                {"name": org.name if org is not None else pk},
            )
        elif not org.is_active:
            errors.add("share_bank_ids", _("银行“%(name)s”已停用。"), "inactive", {"name": org.name})
        else:
            banks.append(org)
    return banks


# ---------------------------------------------------------------------------
# References
# ---------------------------------------------------------------------------


def next_reference(year: int) -> str:
    """The next free reference of the year: XQ2026-000123 (the highest of the year plus one)."""
    prefix = f"{REFERENCE_PREFIX}{year}-"
    last = (
        Demand.objects.filter(reference__startswith=prefix, reference__regex=rf"^{prefix}[0-9]{{6}}$")
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _insert_with_reference(demand: Demand, year: int) -> Demand:
    """Insert under the next free reference; a concurrent insert that took the same one makes us read the (now
    committed) highest again and take the next (the unique index decides the race)."""
    for _attempt in range(REFERENCE_ATTEMPTS):
        demand.reference = next_reference(year)
        try:
            with transaction.atomic():
                insert_validated(demand)
        except ValidationError as exc:
            if "reference" not in getattr(exc, "error_dict", {}):
                raise
        except IntegrityError:
            if not Demand.objects.filter(reference=demand.reference).exists():
                raise
        else:
            return demand
        demand.pk = None
        demand._state.adding = True
    raise _error("reference", _("需求编号生成冲突，请重试。"), "reference_conflict")


def _rematch(demand: Demand) -> list[Match]:
    from ipledge.market.services.matching import demand_match

    return demand_match(demand=demand)


# ---------------------------------------------------------------------------
# Create, update
# ---------------------------------------------------------------------------


@transaction.atomic
def demand_create(
    *,
    enterprise: Enterprise,
    amount: Money,
    term_months: int,
    purpose: str,
    description: str = "",
    right_ids: Sequence[int] = (),
    share_bank_ids: Sequence[int] = (),
    share_with_matching_banks: bool = False,
    expires_on: datetime.date | None = None,
    source: str = DemandSource.ENTERPRISE,
    park: Park | None = None,
    acting_user: User,
) -> Demand:
    """Post a demand for the enterprise (by the enterprise, its park, or from a survey answer), then match it."""
    source, park = _posting(acting_user, enterprise, source, park)
    today = business_date()
    description = (description or "").strip()
    expires_on = expires_on or today + datetime.timedelta(days=DEFAULT_LIFETIME_DAYS)
    errors = _Errors()
    _check_terms(
        errors,
        amount=amount,
        term_months=term_months,
        purpose=purpose,
        description=description,
        expires_on=expires_on,
        today=today,
    )
    rights = _check_rights(errors, enterprise, right_ids, today)
    banks = _check_banks(errors, share_bank_ids)
    errors.raise_any()
    demand = Demand(  # type: ignore[misc]
        enterprise=enterprise,
        park=park,
        region_code=enterprise.region_code,
        source=source,
        amount=amount,
        term_months=int(term_months),
        purpose=purpose,
        description=description,
        share_with_matching_banks=bool(share_with_matching_banks),
        expires_on=expires_on,
        created_by=_actor(acting_user),
    )
    _insert_with_reference(demand, today.year)
    DemandRight.objects.bulk_create([DemandRight(demand=demand, ip_right=r) for r in rights])
    DemandShare.objects.bulk_create([DemandShare(demand=demand, bank=b) for b in banks])
    record_event(
        acting_user=acting_user,
        action="demand.create",
        instance=demand,
        new=snapshot(demand),
        extra={"rights": [r.pk for r in rights], "share_banks": [b.pk for b in banks]},
    )
    _rematch(demand)
    demand.refresh_from_db()
    return demand


def _require(user: User, demand: Demand, action: str, what: str) -> None:
    if not Demand.objects.restrict(user, action).filter(pk=demand.pk).exists():
        raise PermissionDenied(f"only the enterprise or its park may {what}")


def _is_lending_bank(user: User, demand: Demand, loan: Any) -> bool:
    """The bank that made the loan (or an office above it) may record it on a demand the enterprise shared with it:
    the lead became a loan, which the bank knows first (e.g. at a matchmaking event)."""
    scope = scope_for(user)
    return (
        scope is not None
        and scope.kind == OrganisationKind.BANK
        and scope.may(Action.CHANGE)
        and loan.bank.tree_path.startswith(scope.org_tree_path)
        and Demand.objects.restrict(user, Action.VIEW).filter(pk=demand.pk).exists()
    )


def _lock(demand: Demand) -> Demand:
    return Demand.objects.select_for_update().get(pk=demand.pk)


def _refuse_transition(demand: Demand, to: str) -> ValidationError:
    return _error(
        "status",
        _("需求当前状态为“%(status)s”，不能%(action)s。"),
        "invalid_transition",
        {"status": demand.get_status_display(), "action": TRANSITION_WORDS.get(to, to)},
    )


TRANSITION_WORDS: dict[str, Any] = {
    "update": _("修改"),
    DemandStatus.WITHDRAWN: _("撤回"),
    DemandStatus.FINANCED: _("标记为已获贷"),
    DemandStatus.EXPIRED: _("到期关闭"),
    "share": _("修改推送授权"),
    "rematch": _("重新匹配"),
    "respond": _("反馈线索"),
}


@transaction.atomic
def demand_update(
    *,
    demand: Demand,
    acting_user: User,
    amount: Money | None = None,
    term_months: int | None = None,
    purpose: str | None = None,
    description: str | None = None,
    right_ids: Sequence[int] | None = None,
    expires_on: datetime.date | None = None,
    expected_version: int | None = None,
) -> Demand:
    """Edit an open or matched demand (only the fields given); bumps `version` and re-runs matching."""
    _require(acting_user, demand, Action.CHANGE, "edit a demand")
    demand = _lock(demand)
    if demand.status not in EDITABLE_STATUSES:
        raise _refuse_transition(demand, "update")
    if expected_version is not None and expected_version != demand.version:
        raise _error(
            "version",
            _("该需求已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": demand.version},
        )
    today = business_date()
    if description is not None:
        description = description.strip()
    errors = _Errors()
    _check_terms(
        errors,
        amount=amount,
        term_months=term_months,
        purpose=purpose,
        description=description,
        expires_on=expires_on,
        today=today,
    )
    rights = _check_rights(errors, demand.enterprise, right_ids, today) if right_ids is not None else None
    errors.raise_any()
    before = snapshot(demand)
    old_rights = sorted(demand.rights.values_list("ip_right_id", flat=True))
    for name, value in (
        ("amount", amount),
        ("term_months", term_months),
        ("purpose", purpose),
        ("description", description),
        ("expires_on", expires_on),
    ):
        if value is not None:
            setattr(demand, name, value)
    new_rights = old_rights
    if rights is not None:
        new_rights = sorted(r.pk for r in rights)
        if new_rights != old_rights:
            DemandRight.objects.filter(demand=demand).exclude(ip_right_id__in=new_rights).delete()
            DemandRight.objects.bulk_create(
                [DemandRight(demand=demand, ip_right=r) for r in rights if r.pk not in old_rights]
            )
    after = snapshot(demand)
    changed = [k for k in after if before.get(k) != after.get(k)]
    if not changed and new_rights == old_rights:
        return demand
    demand.version += 1
    demand.save()
    record_event(
        acting_user=acting_user,
        action="demand.update",
        instance=demand,
        old={**{k: before[k] for k in changed}, "version": demand.version - 1, "rights": old_rights},
        new={**{k: after[k] for k in changed}, "version": demand.version, "rights": new_rights},
    )
    _rematch(demand)
    demand.refresh_from_db()
    return demand


def _close(
    demand: Demand, *, to: str, acting_user: User | None, action: str, extra: dict[str, Any] | None = None, **data: Any
) -> Demand:
    """Move a locked active demand to a closed status (conditional on it still being active)."""
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        raise _refuse_transition(demand, to)
    before = snapshot(demand)
    demand.status = to
    demand.closed_on = business_date()
    for name, value in data.items():
        setattr(demand, name, value)
    demand.save()
    after = snapshot(demand)
    record_event(
        acting_user=acting_user,
        action=action,
        instance=demand,
        old={k: before[k] for k in after if before.get(k) != after[k]},
        new={k: after[k] for k in after if before.get(k) != after[k]},
        extra=extra,
    )
    return demand


@transaction.atomic
def demand_withdraw(*, demand: Demand, acting_user: User, note: str = "") -> Demand:
    """The enterprise (or its park) withdraws an active demand (open, matched or in talks)."""
    _require(acting_user, demand, Action.CHANGE, "withdraw a demand")
    demand = _lock(demand)
    return _close(
        demand,
        to=DemandStatus.WITHDRAWN,
        acting_user=acting_user,
        action="demand.withdraw",
        extra={"note": note.strip()} if note.strip() else None,
    )


@transaction.atomic
def demand_link_loan(*, demand: Demand, loan: Any, acting_user: User) -> Demand:
    """The demand was met: link the enterprise's loan (approved or beyond) and close the demand as financed."""
    from ipledge.lending.models import Loan

    loan = Loan.objects.select_related("bank").get(pk=loan.pk)
    if not _is_lending_bank(acting_user, demand, loan):
        _require(acting_user, demand, Action.CHANGE, "record the loan of a demand")
    demand = _lock(demand)
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        raise _refuse_transition(demand, DemandStatus.FINANCED)
    if loan.borrower_id != demand.enterprise_id:
        raise _error("loan", _("贷款 %(ref)s 的借款企业不是本需求的企业。"), "other_borrower", {"ref": loan.reference})
    if loan.status in UNGRANTED_LOAN_STATUSES:
        raise _error(
            "loan",
            _("贷款 %(ref)s 的状态为“%(status)s”，尚未获批，不能作为需求的对应贷款。"),
            "loan_not_granted",
            {"ref": loan.reference, "status": loan.get_status_display()},
        )
    if Demand.objects.filter(loan=loan).exclude(pk=demand.pk).exists():
        raise _error("loan", _("贷款 %(ref)s 已关联其他融资需求。"), "loan_taken", {"ref": loan.reference})
    return _close(
        demand,
        to=DemandStatus.FINANCED,
        acting_user=acting_user,
        action="demand.link_loan",
        extra={"loan": loan.reference, "bank": loan.bank.name},
        loan=loan,
    )


def demands_expire(*, today: datetime.date | None = None) -> int:
    """The scheduled job: every active demand past its expiry date becomes expired (audited, no acting user)."""
    today = today or business_date()
    expired = 0
    stale = Demand.objects.filter(status__in=ACTIVE_DEMAND_STATUSES, expires_on__lt=today)
    for pk in stale.order_by("pk").values_list("pk", flat=True):
        with transaction.atomic():
            demand = Demand.objects.select_for_update().get(pk=pk)
            if demand.status not in ACTIVE_DEMAND_STATUSES or demand.expires_on >= today:
                continue  # withdrawn, financed or extended meanwhile
            before = snapshot(demand, ["status", "closed_on"])
            demand.status = DemandStatus.EXPIRED
            demand.closed_on = today
            demand.save(update_fields=["status", "closed_on", "updated_at"])
            record_event(
                acting_user=None,
                action="demand.expire",
                instance=demand,
                old=before,
                new=snapshot(demand, ["status", "closed_on"]),
            )
            expired += 1
    return expired


@transaction.atomic
def demand_shares_set(
    *, demand: Demand, bank_ids: Sequence[int], share_with_matching_banks: bool, acting_user: User
) -> Demand:
    """Replace the sharing consent (授权推送): the chosen banks, and whether every bank whose product matches may
    see the demand. Answers banks already gave are kept."""
    _require(acting_user, demand, Action.CHANGE, "change the sharing of a demand")
    demand = _lock(demand)
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        raise _refuse_transition(demand, "share")
    errors = _Errors()
    banks = _check_banks(errors, bank_ids)
    errors.raise_any()
    old = sorted(demand.shares.values_list("bank_id", flat=True))
    new = sorted(b.pk for b in banks)
    old_flag = demand.share_with_matching_banks
    if old == new and old_flag == bool(share_with_matching_banks):
        return demand
    DemandShare.objects.filter(demand=demand).exclude(bank_id__in=new).delete()
    DemandShare.objects.bulk_create([DemandShare(demand=demand, bank=b) for b in banks if b.pk not in old])
    demand.share_with_matching_banks = bool(share_with_matching_banks)
    demand.save(update_fields=["share_with_matching_banks", "updated_at"])
    record_event(
        acting_user=acting_user,
        action="demand.shares_set",
        instance=demand,
        old={"share_banks": old, "share_with_matching_banks": old_flag},
        new={"share_banks": new, "share_with_matching_banks": demand.share_with_matching_banks},
    )
    return demand


@transaction.atomic
def demand_rematch(*, demand: Demand, acting_user: User) -> list[Match]:
    """Match an active demand again against every live product (the 重新匹配 button); returns the ranked matches."""
    _require(acting_user, demand, Action.CHANGE, "re-match a demand")
    demand = _lock(demand)
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        raise _refuse_transition(demand, "rematch")
    matches = _rematch(demand)
    demand.refresh_from_db()
    record_event(
        acting_user=acting_user,
        action="demand.rematch",
        instance=demand,
        extra={
            "eligible": sum(1 for m in matches if m.eligible),
            "products": len(matches),
            "status": demand.status,
        },
    )
    return matches


# ---------------------------------------------------------------------------
# Leads (线索)
# ---------------------------------------------------------------------------


def may_respond(user: Any) -> bool:
    """A bank officer whose role may change rows (what `lead_respond` accepts), or a platform administrator."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.CHANGE):
        return False
    return scope.is_platform or scope.kind == OrganisationKind.BANK


@transaction.atomic
def lead_respond(*, match: Match, response: str, note: str = "", acting_user: User) -> Match:
    """A bank answers a lead: interested (有意向) or contacted (已联系) move the demand to in talks; declined (不予
    受理) keeps its status. Only eligible matches of the bank tree's products on active demands it can see."""
    if not may_respond(acting_user):
        raise PermissionDenied("only a bank officer answers leads")
    if not Match.objects.restrict(acting_user, Action.CHANGE).filter(pk=match.pk).exists():
        raise PermissionDenied("only the bank of the product (or a bank above it) answers this lead")
    errors = _Errors()
    if response not in (LeadResponse.INTERESTED, LeadResponse.CONTACTED, LeadResponse.DECLINED):
        errors.add("response", _("反馈无效，应为“有意向”“已联系”或“不予受理”。"), "choice")
    note = (note or "").strip()
    if len(note) > MAX_DESCRIPTION:
        errors.add("note", _("反馈说明不能超过%(max)s个字符。"), "max_length", {"max": MAX_DESCRIPTION})
    errors.raise_any()
    # Lock order: demand before match (as matching does), so answers and re-matching cannot deadlock.
    demand = Demand.objects.select_for_update().get(pk=match.demand_id)
    match = Match.objects.select_for_update().get(pk=match.pk)
    if not match.eligible:
        raise _error("match", _("该产品已不符合本需求的准入条件，不能反馈。"), "not_eligible")
    if not Product.objects.filter(pk=match.product_id, status=ProductStatus.LIVE).exists():
        raise _error("match", _("该产品已下架，不能反馈。"), "product_withdrawn")
    if demand.status not in ACTIVE_DEMAND_STATUSES:
        raise _refuse_transition(demand, "respond")
    before = snapshot(match, ["response", "response_note", "responded_by", "responded_at"])
    match.response = response
    match.response_note = note
    match.responded_by = _actor(acting_user)
    match.responded_at = business_now()
    match.save(update_fields=["response", "response_note", "responded_by", "responded_at"])
    record_event(
        acting_user=acting_user,
        action="match.respond",
        instance=match,
        region_code=demand.region_code,
        old=before,
        new=snapshot(match, ["response", "response_note", "responded_by", "responded_at"]),
        extra={"demand": demand.reference, "product": match.product_id},
    )
    if response in ENGAGING_RESPONSES and demand.status in EDITABLE_STATUSES:
        # The demand row is locked above, so this check-and-set cannot race another answer or a withdrawal.
        old_status = demand.status
        demand.status = DemandStatus.IN_TALKS
        demand.save(update_fields=["status", "updated_at"])
        record_event(
            acting_user=acting_user,
            action="demand.in_talks",
            instance=demand,
            old={"status": old_status},
            new={"status": demand.status},
            extra={"match": match.pk, "response": response},
        )
    return match


__all__ = [
    "DEFAULT_LIFETIME_DAYS",
    "current_parks",
    "demand_create",
    "demand_link_loan",
    "demand_rematch",
    "demand_shares_set",
    "demand_update",
    "demand_withdraw",
    "demands_expire",
    "lead_respond",
    "may_respond",
    "next_reference",
    "postable_enterprises",
]
