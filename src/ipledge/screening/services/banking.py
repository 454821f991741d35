"""Delivery of approved whitelists to banks (白名单推送) and park intended credit lines (意向性授信额度, W4).

Subscriptions (白名单订阅): a bank officer subscribes its own bank (or a bank below it) to one park's whitelists or to
every park of a region; `WhitelistEntry.objects.restrict(user)` then delivers the included entries of the approved
versions of those whitelists, and nothing else (never an excluded enterprise, never a draft).

Credit decisions (授信决定): a bank records, for an entry it receives, a grant (amount, term in months, and the renewal
without principal repayment flag, 无还本续贷) or a refusal. A grant may draw on a park allocation of one of its own
lines: the allocation's `utilised` goes up by a conditional UPDATE (`utilised + x <= amount`), so two grants racing
for the same allocation can never overdraw it.

Intended credit lines: a bank grants a park a line around a patent cluster (an IPC subclass or main group) or a
regional brand (区域品牌), for an amount and a period. The park's administration allocates it to enterprises of its
current approved whitelist; `allocated` goes up by a conditional UPDATE (`allocated + x <= amount`) backed by the
check constraint `allocated <= amount`, so over-allocation is impossible even under concurrent allocations.

Rules decided here:
- IPC groups are stored canonically: a subclass `H01L` or a main group `H01L 21/` (input may be `h01l21`, `H01L 21/00`,
  full-width characters…). A subgroup (`H01L 21/02`) is refused: IPC subgroups nest by their dot level, not by their
  number, so a subgroup cannot be matched by prefix. A right falls in the group when its main IPC (主分类号) has the
  same subclass and, for a main group, the same main group number, whatever its spacing (`H01L27/146`, `H01L 27/146`).
- A patent-cluster line is allocated only to an enterprise holding, as a registered owner, a valid patent (法律状态
  有效, term not ended) whose main IPC falls in the group. A regional-brand line needs a valid registered trademark
  owned by the enterprise: the regional mark itself is usually a collective mark owned by an association, so the
  enterprise's own registered brand is what shows it trades under the cluster; the brand's name is not matched.
- `allocated` on a line is what was set aside and not returned: the amounts of the active allocations plus what was
  drawn on the released ones (a release returns only the unused part). Withdrawing a line releases every active
  allocation (their drawn part stays drawn) and closes the line; expiry (`lines_expire`) closes it and leaves the
  allocations as they were at the end of the period, for the record. Neither an expired nor a withdrawn line can be
  allocated or drawn on.
- A decision draws only on an active allocation of the same enterprise, on an active line of the deciding bank or a
  bank below it (the lines the bank sees), and only when the decision date lies in the line's period.
- Lock order is always line before allocation (release, withdrawal), and a grant touches only the allocation row, so
  concurrent writers cannot deadlock.
"""

from __future__ import annotations

import datetime
import re
import unicodedata
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_create, audited_update, record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import IPRight, Park

from ..choices import AllocationStatus, DecisionOutcome, LineBasis, LineStatus, VersionStatus
from ..models import (
    CreditDecision,
    IntendedCreditLine,
    LineAllocation,
    Subscription,
    WhitelistEntry,
)

MAX_TERM_MONTHS = 360

# A subclass (H01L) optionally followed by a main group (21) and "/" with zeros only (21/ or 21/00 name the group).
_IPC_GROUP = re.compile(r"^([A-H])(\d{2})([A-Z])(?:(\d{1,4})(?:/(\d*))?)?$")
# The leading part of a right's main IPC: subclass and main group (H01L27/146 → H01L, 27).
_IPC_MAIN = re.compile(r"^([A-H])(\d{2})([A-Z])0*(\d{1,4})?")


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _in_tree(org: Organisation | None, root_path: str) -> bool:
    return org is not None and org.tree_path.startswith(root_path)


def _compact(text: str) -> str:
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text or "")).upper()


# ---------------------------------------------------------------------------
# IPC groups
# ---------------------------------------------------------------------------


def normalise_ipc_group(text: str) -> str:
    """`h01l21`, `H01L 21/00`, `Ｈ０１Ｌ　２１／` → `H01L 21/`; `H01L` → `H01L`. ValueError for anything else."""
    found = _IPC_GROUP.match(_compact(text))
    if found is None:
        raise ValueError("not an IPC subclass or main group")
    section, klass, subclass, group, subgroup = found.groups()
    if group is None:
        return f"{section}{klass}{subclass}"
    if subgroup and int(subgroup) != 0:
        raise ValueError("an IPC subgroup")
    return f"{section}{klass}{subclass} {int(group)}/"


def ipc_in_group(main_ipc: str, group: str) -> bool:
    """Whether a right's main IPC falls in a canonical group (`H01L` or `H01L 21/`)."""
    right = _IPC_MAIN.match(_compact(main_ipc))
    wanted = _IPC_MAIN.match(_compact(group))
    if right is None or wanted is None:
        return False
    if right.group(1, 2, 3) != wanted.group(1, 2, 3):
        return False
    if wanted.group(4) is None:
        return True
    return right.group(4) is not None and int(right.group(4)) == int(wanted.group(4))


# ---------------------------------------------------------------------------
# Subscriptions
# ---------------------------------------------------------------------------


def _require_bank_officer(user: User, bank: Organisation, action: str, what: str) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        raise PermissionDenied(f"your role may not {what}")
    if scope.is_platform:
        return
    if scope.kind != OrganisationKind.BANK or not bank.tree_path.startswith(scope.org_tree_path):
        raise PermissionDenied(f"only officers of the bank (or of a bank above it) may {what}")


@transaction.atomic
def subscription_create(
    *, bank: Organisation, park: Park | None = None, region: Region | None = None, acting_user: User
) -> Subscription:
    """A bank receives the approved whitelists of one park, or of every park in a region (and below it)."""
    _require_bank_officer(acting_user, bank, Action.ADD, "subscribe a bank to whitelists")
    if bank.kind != OrganisationKind.BANK:
        raise _error("bank", _("订阅机构必须是银行。"), "not_bank")
    if park is None and region is None:
        raise _error("park", _("请选择要订阅的园区或地区。"), "required")
    if park is not None and region is not None:
        raise _error("region", _("一个订阅只能指定一个园区或一个地区，不能同时指定。"), "park_or_region")
    active = Subscription.objects.filter(bank=bank, is_active=True)
    if park is not None and active.filter(park=park).exists():
        raise _error("park", _("该银行已订阅该园区的白名单。"), "unique")
    if region is not None and active.filter(region=region).exists():
        raise _error("region", _("该银行已订阅该地区的白名单。"), "unique")
    subscription = Subscription(bank=bank, park=park, region=region, created_by=_actor(acting_user))
    return audited_create(instance=subscription, acting_user=acting_user, action="subscription.create")


@transaction.atomic
def subscription_cancel(*, subscription: Subscription, acting_user: User) -> Subscription:
    if not Subscription.objects.restrict(acting_user, Action.CHANGE).filter(pk=subscription.pk).exists():
        raise PermissionDenied("only officers of the subscribing bank may cancel its subscription")
    subscription = Subscription.objects.select_for_update().get(pk=subscription.pk)
    if not subscription.is_active:
        raise _error("is_active", _("该订阅已取消。"), "invalid_state")
    return audited_update(
        instance=subscription, data={"is_active": False}, acting_user=acting_user, action="subscription.cancel"
    )


# ---------------------------------------------------------------------------
# Credit decisions
# ---------------------------------------------------------------------------


def _deciding_bank(user: User) -> Organisation:
    scope = scope_for(user)
    org = getattr(user, "organisation", None)
    if scope is None or org is None or scope.kind != OrganisationKind.BANK:
        raise PermissionDenied("only a bank records credit decisions")
    if not scope.may(Action.ADD):
        raise PermissionDenied("your role may not record credit decisions")
    return org  # type: ignore[no-any-return]


def _check_decision_shape(
    *, outcome: str, amount: Money | None, term_months: int | None, renewal: bool, allocation: Any
) -> None:
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: Any, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    if outcome not in DecisionOutcome.values:
        add("outcome", _("决定无效，应为“授信”或“不予授信”。"), "choice")
    elif outcome == DecisionOutcome.GRANTED:
        if amount is None:
            add("amount", _("授信须填写授信金额。"), "required")
        elif amount.fen <= 0:
            add("amount", _("授信金额必须大于零。"), "positive")
        if term_months is None:
            add("term_months", _("授信须填写授信期限（月）。"), "required")
        elif not 1 <= term_months <= MAX_TERM_MONTHS:
            add("term_months", _("授信期限应在 1 至 360 个月之间。"), "range")
    else:
        if amount is not None:
            add("amount", _("不予授信时不能填写授信金额。"), "not_allowed")
        if term_months is not None:
            add("term_months", _("不予授信时不能填写授信期限。"), "not_allowed")
        if allocation is not None:
            add("allocation", _("不予授信时不能占用意向额度。"), "not_allowed")
        if renewal:
            add("renewal_without_repayment", _("只有授信时才能标记无还本续贷。"), "renewal_needs_grant")
    if errors:
        raise ValidationError(errors)


def _check_allocation_for(
    allocation: LineAllocation, *, user: User, bank: Organisation, entry: WhitelistEntry, decided_on: datetime.date
) -> LineAllocation:
    allocation = LineAllocation.objects.select_related("line", "line__bank").get(pk=allocation.pk)
    line = allocation.line
    visible = LineAllocation.objects.restrict(user, Action.VIEW).filter(pk=allocation.pk).exists()
    if not visible or not _in_tree(line.bank, bank.tree_path):
        raise _error("allocation", _("只能占用本行（或下级机构）意向性授信额度下的分配。"), "other_bank")
    if allocation.enterprise_id != entry.enterprise_id:
        raise _error("allocation", _("该额度分配属于其他企业，不能用于本企业的授信。"), "other_enterprise")
    if allocation.status != AllocationStatus.ACTIVE:
        raise _error("allocation", _("该额度分配已释放。"), "released")
    if line.status != LineStatus.ACTIVE:
        raise _error(
            "allocation",
            _("该额度分配所属的意向额度%(status)s，不能再占用。"),
            "line_inactive",
            {"status": line.get_status_display()},
        )
    if not line.valid_from <= decided_on <= line.valid_to:
        raise _error(
            "allocation",
            _("决定日不在意向额度的有效期（%(start)s 至 %(end)s）内。"),
            "line_not_valid",
            {"start": line.valid_from.isoformat(), "end": line.valid_to.isoformat()},
        )
    return allocation


def _exceeds_allocation(allocation: LineAllocation) -> ValidationError:
    fresh = LineAllocation.objects.get(pk=allocation.pk)
    if fresh.status != AllocationStatus.ACTIVE:
        return _error("allocation", _("该额度分配已释放。"), "released")
    remaining = fresh.amount - fresh.utilised
    return _error(
        "amount",
        _("授信金额超过该额度分配的剩余可用额度（剩余 %(remaining)s 元）。"),
        "exceeds_remaining",
        {"remaining": f"{remaining.amount:,.2f}"},
    )


@transaction.atomic
def decision_record(
    *,
    entry: WhitelistEntry,
    outcome: str,
    amount: Money | None = None,
    term_months: int | None = None,
    renewal_without_repayment: bool = False,
    allocation: LineAllocation | None = None,
    decided_on: datetime.date | None = None,
    note: str = "",
    acting_user: User,
) -> CreditDecision:
    """A bank's decision on an entry it receives: a grant (amount, term, 无还本续贷 flag, optionally drawn on a park
    allocation of its own lines) or a refusal."""
    bank = _deciding_bank(acting_user)
    reachable = WhitelistEntry.objects.restrict(acting_user, Action.VIEW).filter(pk=entry.pk, included=True)
    if not reachable.exists():
        raise _error("entry", _("该企业不在您订阅的已批准白名单中。"), "not_found")
    entry = WhitelistEntry.objects.select_related("version", "version__whitelist", "enterprise").get(pk=entry.pk)
    if entry.version.status != VersionStatus.APPROVED:
        raise _error("entry", _("该条目所在的白名单版本已被新版本取代，请对现行版本中的条目作出决定。"), "superseded")
    today = business_date()
    decided_on = decided_on or today
    if decided_on > today:
        raise _error("decided_on", _("决定日不能晚于今天。"), "future")
    _check_decision_shape(
        outcome=outcome,
        amount=amount,
        term_months=term_months,
        renewal=renewal_without_repayment,
        allocation=allocation,
    )
    if allocation is not None:
        assert amount is not None
        allocation = _check_allocation_for(allocation, user=acting_user, bank=bank, entry=entry, decided_on=decided_on)
        before = allocation.utilised
        drawn = LineAllocation.objects.filter(
            pk=allocation.pk, status=AllocationStatus.ACTIVE, utilised__lte=F("amount") - amount.fen
        ).update(utilised=F("utilised") + amount.fen)
        if drawn != 1:
            raise _exceeds_allocation(allocation)
        allocation.refresh_from_db()
        record_event(
            acting_user=acting_user,
            action="line_allocation.draw",
            instance=allocation,
            old={"utilised": before},
            new={"utilised": allocation.utilised},
            extra={"amount": amount},
        )
    decision = CreditDecision(  # type: ignore[misc]
        bank=bank,
        entry=entry,
        enterprise=entry.enterprise,
        outcome=outcome,
        amount=amount if outcome == DecisionOutcome.GRANTED else None,
        term_months=term_months if outcome == DecisionOutcome.GRANTED else None,
        renewal_without_repayment=renewal_without_repayment,
        allocation=allocation,
        decided_on=decided_on,
        note=note.strip(),
        region_code=entry.version.whitelist.region_code,
        decided_by=_actor(acting_user),
    )
    return audited_create(instance=decision, acting_user=acting_user, action="credit_decision.record")


# ---------------------------------------------------------------------------
# Intended credit lines
# ---------------------------------------------------------------------------


@transaction.atomic
def line_create(
    *,
    bank: Organisation,
    park: Park,
    basis: str,
    amount: Money,
    valid_from: datetime.date,
    valid_to: datetime.date,
    ipc_group: str = "",
    brand: str = "",
    conditions: str = "",
    acting_user: User,
) -> IntendedCreditLine:
    """A bank grants a park an intended credit line (意向性授信额度) around a patent cluster or a regional brand."""
    _require_bank_officer(acting_user, bank, Action.ADD, "grant intended credit lines")
    if bank.kind != OrganisationKind.BANK:
        raise _error("bank", _("授信机构必须是银行。"), "not_bank")
    errors: dict[str, list[ValidationError]] = {}

    def add(field: str, message: Any, code: str) -> None:
        errors.setdefault(field, []).append(ValidationError(message, code=code))

    group, brand = ipc_group.strip(), " ".join(brand.split())
    if basis == LineBasis.PATENT_CLUSTER:
        if not group:
            add("ipc_group", _("产业专利集群额度须填写 IPC 组。"), "required")
        else:
            try:
                group = normalise_ipc_group(group)
            except ValueError:
                add(
                    "ipc_group",
                    _("IPC 组格式不正确：请填写小类（如 H01L）或大组（如 H01L 21/），不支持小组。"),
                    "ipc_format",
                )
        if brand:
            add("brand", _("产业专利集群额度不填写区域品牌。"), "not_allowed")
    elif basis == LineBasis.REGIONAL_BRAND:
        if not brand:
            add("brand", _("区域商标品牌额度须填写品牌名称。"), "required")
        elif len(brand) > 128:
            add("brand", _("品牌名称不能超过 128 个字符。"), "max_length")
        if group:
            add("ipc_group", _("区域商标品牌额度不填写 IPC 组。"), "not_allowed")
    else:
        add("basis", _("授信依据无效，应为产业专利集群或区域商标品牌。"), "choice")
    if amount.fen <= 0:
        add("amount", _("意向额度必须大于零。"), "positive")
    if valid_to < valid_from:
        add("valid_to", _("有效期止不能早于有效期起。"), "order")
    elif valid_to < business_date():
        add("valid_to", _("有效期止不能早于今天。"), "past")
    if errors:
        raise ValidationError(errors)
    line = IntendedCreditLine(  # type: ignore[misc]
        bank=bank,
        park=park,
        basis=basis,
        ipc_group=group if basis == LineBasis.PATENT_CLUSTER else "",
        brand=brand if basis == LineBasis.REGIONAL_BRAND else "",
        amount=amount,
        valid_from=valid_from,
        valid_to=valid_to,
        conditions=conditions.strip(),
        region_code=park.region.code,
        created_by=_actor(acting_user),
    )
    return audited_create(instance=line, acting_user=acting_user, action="intended_credit_line.create")


def _release_locked(
    allocation: LineAllocation, line: IntendedCreditLine, *, acting_user: User | None, action: str
) -> LineAllocation:
    """Release an allocation whose line row the caller has locked: the unused part goes back to the line."""
    allocation = LineAllocation.objects.select_for_update().get(pk=allocation.pk)
    if allocation.status != AllocationStatus.ACTIVE:
        raise _error("status", _("该额度分配已释放。"), "invalid_state")
    unused = allocation.amount - allocation.utilised
    IntendedCreditLine.objects.filter(pk=line.pk).update(
        allocated=F("allocated") - unused.fen, updated_at=timezone.now()
    )
    audited_update(
        instance=allocation,
        data={"status": AllocationStatus.RELEASED, "released_on": business_date()},
        acting_user=acting_user,
        action=action,
    )
    record_event(
        acting_user=acting_user,
        action="intended_credit_line.release",
        instance=line,
        old={"allocated": line.allocated},
        new={"allocated": line.allocated - unused},
        extra={"allocation": allocation.pk, "returned": unused},
    )
    line.allocated = line.allocated - unused
    return allocation


@transaction.atomic
def line_withdraw(*, line: IntendedCreditLine, acting_user: User) -> IntendedCreditLine:
    """The bank withdraws its line: every active allocation is released (what the bank already drew on stays
    drawn), and the line can no longer be allocated or drawn on."""
    if not IntendedCreditLine.objects.restrict(acting_user, Action.CHANGE).filter(pk=line.pk).exists():
        raise PermissionDenied("only officers of the granting bank may withdraw its line")
    line = IntendedCreditLine.objects.select_for_update().get(pk=line.pk)
    if line.status != LineStatus.ACTIVE:
        raise _error(
            "status",
            _("该意向额度%(status)s，不能撤销。"),
            "invalid_state",
            {"status": line.get_status_display()},
        )
    for allocation in line.allocations.filter(status=AllocationStatus.ACTIVE).order_by("pk"):
        _release_locked(allocation, line, acting_user=acting_user, action="line_allocation.release_on_withdrawal")
    line.refresh_from_db()
    return audited_update(
        instance=line,
        data={"status": LineStatus.WITHDRAWN},
        acting_user=acting_user,
        action="intended_credit_line.withdraw",
    )


def lines_expire(*, today: datetime.date | None = None) -> int:
    """The scheduled job: every active line past its last valid day becomes expired (audited, no acting user)."""
    today = today or business_date()
    expired = 0
    for pk in IntendedCreditLine.objects.filter(status=LineStatus.ACTIVE, valid_to__lt=today).values_list(
        "pk", flat=True
    ):
        with transaction.atomic():
            line = IntendedCreditLine.objects.select_for_update().get(pk=pk)
            if line.status != LineStatus.ACTIVE or line.valid_to >= today:
                continue  # withdrawn, or extended, meanwhile
            audited_update(
                instance=line,
                data={"status": LineStatus.EXPIRED},
                acting_user=None,
                action="intended_credit_line.expire",
            )
            expired += 1
    return expired


# ---------------------------------------------------------------------------
# Allocations
# ---------------------------------------------------------------------------


def require_park_officer(user: User, line: IntendedCreditLine, action: str) -> None:
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        raise PermissionDenied("your role may not allocate intended credit lines")
    if scope.is_platform:
        return
    admin = line.park.administering_org
    if scope.kind != OrganisationKind.PARK_ADMIN or not _in_tree(admin, scope.org_tree_path):
        raise PermissionDenied("only the park's administration allocates its intended credit lines")


def _holds_matching_right(line: IntendedCreditLine, entry: WhitelistEntry, today: datetime.date) -> bool:
    rights = IPRight.objects.filter(owners__enterprise_id=entry.enterprise_id, legal_status=LegalStatus.VALID).filter(
        Q(term_end__isnull=True) | Q(term_end__gte=today)
    )
    if line.basis == LineBasis.REGIONAL_BRAND:
        return rights.filter(kind=IPKind.TRADEMARK).exists()
    subclass = line.ipc_group.split(" ")[0]
    candidates = rights.filter(kind=IPKind.PATENT, main_ipc__istartswith=subclass[:1]).values_list(
        "main_ipc", flat=True
    )
    return any(ipc_in_group(main_ipc, line.ipc_group) for main_ipc in candidates)


def _line_usable_today(line: IntendedCreditLine, today: datetime.date, field: str = "line") -> None:
    if line.status != LineStatus.ACTIVE:
        raise _error(
            field, _("该意向额度%(status)s，不能再分配。"), "line_inactive", {"status": line.get_status_display()}
        )
    if not line.valid_from <= today <= line.valid_to:
        raise _error(
            field,
            _("今天不在意向额度的有效期（%(start)s 至 %(end)s）内。"),
            "line_not_valid",
            {"start": line.valid_from.isoformat(), "end": line.valid_to.isoformat()},
        )


def _exceeds_line(line: IntendedCreditLine) -> ValidationError:
    fresh = IntendedCreditLine.objects.get(pk=line.pk)
    if fresh.status != LineStatus.ACTIVE:
        return _error(
            "line", _("该意向额度%(status)s，不能再分配。"), "line_inactive", {"status": fresh.get_status_display()}
        )
    remaining = fresh.amount - fresh.allocated
    return _error(
        "amount",
        _("分配额度超过意向额度的剩余可分配额度（剩余 %(remaining)s 元）。"),
        "exceeds_remaining",
        {"remaining": f"{remaining.amount:,.2f}"},
    )


@transaction.atomic
def allocation_create(
    *, line: IntendedCreditLine, entry: WhitelistEntry, amount: Money, note: str = "", acting_user: User
) -> LineAllocation:
    """The park's administration sets part of a line aside for an enterprise of its current approved whitelist."""
    line = IntendedCreditLine.objects.select_related("park", "park__administering_org").get(pk=line.pk)
    require_park_officer(acting_user, line, Action.ADD)
    today = business_date()
    _line_usable_today(line, today)
    entry = WhitelistEntry.objects.select_related("version", "version__whitelist", "enterprise").get(pk=entry.pk)
    whitelist = entry.version.whitelist
    if whitelist.park_id != line.park_id:
        raise _error("entry", _("该企业不在本园区的白名单中。"), "other_park")
    if (
        not entry.included
        or entry.version.status != VersionStatus.APPROVED
        or whitelist.current_version_id != entry.version_id
    ):
        raise _error("entry", _("只能分配给本园区现行已批准白名单中纳入的企业。"), "not_current")
    if amount.fen <= 0:
        raise _error("amount", _("分配额度必须大于零。"), "positive")
    if not _holds_matching_right(line, entry, today):
        if line.basis == LineBasis.PATENT_CLUSTER:
            raise _error(
                "entry",
                _("该企业没有主分类号属于 %(group)s 的有效专利，不能分配该产业专利集群额度。"),
                "ipc_mismatch",
                {"group": line.ipc_group},
            )
        raise _error("entry", _("该企业没有有效的注册商标，不能分配该区域品牌额度。"), "no_trademark")
    if LineAllocation.objects.filter(
        line=line, enterprise_id=entry.enterprise_id, status=AllocationStatus.ACTIVE
    ).exists():
        raise _error("entry", _("该企业在此额度下已有有效分配。"), "unique")
    before = line.allocated
    taken = IntendedCreditLine.objects.filter(
        pk=line.pk, status=LineStatus.ACTIVE, allocated__lte=F("amount") - amount.fen
    ).update(allocated=F("allocated") + amount.fen, updated_at=timezone.now())
    if taken != 1:
        raise _exceeds_line(line)
    line.refresh_from_db()
    allocation = LineAllocation(  # type: ignore[misc]
        line=line,
        enterprise=entry.enterprise,
        entry=entry,
        amount=amount,
        allocated_on=today,
        note=note.strip(),
        region_code=line.region_code,
        allocated_by=_actor(acting_user),
    )
    audited_create(instance=allocation, acting_user=acting_user, action="line_allocation.create")
    record_event(
        acting_user=acting_user,
        action="intended_credit_line.allocate",
        instance=line,
        old={"allocated": before},
        new={"allocated": line.allocated},
        extra={"allocation": allocation.pk, "enterprise": entry.enterprise_id, "amount": amount},
    )
    return allocation


@transaction.atomic
def allocation_release(*, allocation: LineAllocation, acting_user: User) -> LineAllocation:
    """The park returns the unused part of an allocation to the line (what the bank drew on stays drawn)."""
    allocation = LineAllocation.objects.select_related("line", "line__park", "line__park__administering_org").get(
        pk=allocation.pk
    )
    require_park_officer(acting_user, allocation.line, Action.CHANGE)
    line = IntendedCreditLine.objects.select_for_update().get(pk=allocation.line_id)
    return _release_locked(allocation, line, acting_user=acting_user, action="line_allocation.release")
