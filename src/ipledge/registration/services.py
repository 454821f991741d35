"""Pledge registration services (质押登记): file, confirm, examine, decide, cancel.

State machine of a filing:
    draft → awaiting_pledgor (bank or agency filed) → submitted (pledgor confirmed; examination clock starts)
    submitted → registered | refused | correction_requested → submitted (corrected) …; open filings → withdrawn
Each transition is a conditional update on (pk, status, version), so two examiners or a withdrawal racing a
decision cannot both win; each writes its audit event in the same transaction.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from decimal import Decimal
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, models, transaction

from ipledge.core import uploads
from ipledge.core.audit import audited_create, audited_update, record_event, save_validated, snapshot
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.registry.models import Enterprise, IPRight

from .choices import (
    OPEN_FILING_STATUSES,
    CalendarDayKind,
    Channel,
    Decision,
    FilingStatus,
    FilingType,
    RegistrationStatus,
    Severity,
)
from .engine.examination import FilingFacts, Finding, ItemFacts, OwnerFacts, RightFacts, examine
from .engine.examination import _check_term as check_term
from .engine.workdays import WorkingCalendar
from .models import (
    CalendarDay,
    ExaminationFinding,
    FilingDocument,
    FilingItem,
    PledgedRight,
    PledgeFiling,
    PledgeRegistration,
    RegistrationSequence,
)

FILER_KINDS = frozenset({OrganisationKind.BANK, OrganisationKind.PATENT_AGENCY})
DEFAULT_EXAMINATION_DAYS: dict[str, int] = {Channel.ONLINE: 3, Channel.WINDOW: 5, Channel.POST: 7}


def _error(field: str, message: str, code: str) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code)})


def calendar() -> WorkingCalendar:
    """The examination calendar as the IP office keeps it (holidays and make-up working days in the database)."""
    days = list(CalendarDay.objects.values_list("day", "kind"))
    return WorkingCalendar(
        holidays=[day for day, kind in days if kind == CalendarDayKind.HOLIDAY],
        makeup_workdays=[day for day, kind in days if kind == CalendarDayKind.WORKDAY],
    )


@transaction.atomic
def calendar_day_set(*, day: datetime.date, kind: str, name: str, acting_user: User, source: str = "") -> CalendarDay:
    """Add or correct one day of the calendar (a holiday or a make-up working day), audited."""
    if not _may_edit_calendar(acting_user, Action.ADD if existing_day(day) is None else Action.CHANGE):
        raise PermissionDenied("only national or provincial IP office administrators keep the calendar")
    existing = existing_day(day)
    if existing is not None:
        return audited_update(
            instance=existing,
            data={"kind": kind, "name": name, "source": source},
            acting_user=acting_user,
            action="calendar_day.update",
        )
    return audited_create(
        instance=CalendarDay(day=day, kind=kind, name=name, source=source),
        acting_user=acting_user,
        action="calendar_day.create",
    )


@transaction.atomic
def calendar_day_remove(*, calendar_day: CalendarDay, acting_user: User) -> None:
    if not _may_edit_calendar(acting_user, Action.DELETE):
        raise PermissionDenied("only national or provincial IP office administrators keep the calendar")
    record_event(
        acting_user=acting_user, action="calendar_day.delete", instance=calendar_day, old=snapshot(calendar_day)
    )
    calendar_day.delete()


def existing_day(day: datetime.date) -> CalendarDay | None:
    return CalendarDay.objects.filter(day=day).first()


def _may_edit_calendar(user: User, action: str) -> bool:
    scope = scope_for(user)
    return scope is not None and scope.may(action) and CalendarDay.scope_q(scope, action) is not None


def examination_days(channel: str) -> int:
    configured: dict[str, int] = {
        **DEFAULT_EXAMINATION_DAYS,
        **getattr(settings, "IPLEDGE_EXAMINATION_WORKING_DAYS", {}),
    }
    return int(configured.get(channel, 5))


def _transition(filing: PledgeFiling, *, expected: Sequence[str], **changes: Any) -> None:
    """Move a filing on only if nobody moved it first (status and version unchanged since we read it)."""
    updated = PledgeFiling.objects.filter(pk=filing.pk, status__in=list(expected), version=filing.version).update(
        version=models.F("version") + 1, **changes
    )
    if updated != 1:
        raise _error("status", "该申请的状态已被他人更改，请刷新后重试。", "stale")
    filing.refresh_from_db()


# Filing


@transaction.atomic
def filing_create(
    *,
    pledgor: Enterprise,
    pledgee: Organisation,
    items: Sequence[dict[str, Any]],
    acting_user: User,
    claim_kind: str = "loan",
    claim_amount: Money | None = None,
    performance_start: datetime.date | None = None,
    performance_end: datetime.date | None = None,
    guarantee_scope: str = "",
    contract_no: str = "",
    has_valuation: bool = False,
    declarations: Sequence[str] = (),
    channel: str = Channel.ONLINE,
) -> PledgeFiling:
    """A bank (or a patent agency for it) files a registration on behalf of pledgor and pledgee.

    `items`: dicts with `ip_right` and optionally `co_owner_consent`, `licence_revenue`, `licence_contract_ref`.
    The filing waits for the pledgor's confirmation before it reaches examination.
    """
    org = acting_user.organisation
    if org is None or org.kind not in FILER_KINDS:
        raise PermissionDenied("only banks and patent agencies file pledge registrations")
    if pledgee.kind != OrganisationKind.BANK:
        raise _error("pledgee", "质权人必须是银行。", "pledgee_kind")
    if org.kind == OrganisationKind.BANK and not pledgee.tree_path.startswith(org.tree_path):
        raise _error("pledgee", "银行只能以本行或下级机构作为质权人提交申请。", "pledgee_scope")
    if not items:
        raise _error("items", "至少需要一项出质的知识产权。", "required")
    rights = [item["ip_right"] for item in items]
    if len({r.pk for r in rights}) != len(rights):
        raise _error("items", "同一申请中不能重复列出同一项知识产权。", "duplicate_item")
    from ipledge.registry.licensing import current_licence_exists

    for item in items:
        ref = str(item.get("licence_contract_ref", "")).strip()
        if item.get("licence_revenue") and not current_licence_exists(
            right=item["ip_right"], record_no=ref, on=business_date()
        ):
            raise _error(
                "items",
                f"{item['ip_right'].number}：许可收益权出质须引用该知识产权已备案且在许可期限内的许可合同"
                f"（备案号“{ref}”未找到）。",
                "licence_contract_not_recorded",
            )
    filing = PledgeFiling(
        filing_type=FilingType.REGISTRATION,
        status=FilingStatus.AWAITING_PLEDGOR,
        channel=channel,
        pledgor=pledgor,
        pledgee=pledgee,
        filed_by_org=org,
        filed_by=acting_user if acting_user.pk else None,
        claim_kind=claim_kind,
        claim_amount=claim_amount,  # type: ignore[misc]
        performance_start=performance_start,
        performance_end=performance_end,
        guarantee_scope=guarantee_scope,
        contract_no=contract_no,
        has_valuation=has_valuation,
        declarations=sorted(set(declarations)),
        region_code=pledgor.region_code,
    )
    save_validated(filing)
    FilingItem.objects.bulk_create(
        [
            FilingItem(
                filing=filing,
                ip_right=item["ip_right"],
                co_owner_consent=bool(item.get("co_owner_consent", False)),
                licence_revenue=bool(item.get("licence_revenue", False)),
                licence_contract_ref=str(item.get("licence_contract_ref", "")),
            )
            for item in items
        ]
    )
    record_event(
        acting_user=acting_user,
        action="pledge_filing.create",
        instance=filing,
        new={**snapshot(filing), "items": [r.number for r in rights]},
    )
    return filing


@transaction.atomic
def filing_confirm(*, filing: PledgeFiling, acting_user: User) -> PledgeFiling:
    """The pledgor confirms in its own account; the filing reaches examination and its clock starts."""
    if acting_user.organisation_id is None or filing.pledgor.organisation_id != acting_user.organisation_id:
        raise PermissionDenied("only the pledgor confirms its filing")
    today = business_date()
    _transition(
        filing,
        expected=[FilingStatus.AWAITING_PLEDGOR],
        status=FilingStatus.SUBMITTED,
        pledgor_confirmed_at=business_now(),
        pledgor_confirmed_by=acting_user if acting_user.pk else None,
        submitted_on=today,
        due_on=calendar().add_working_days(today, examination_days(filing.channel)),
    )
    findings = filing_examine(filing=filing)
    record_event(
        acting_user=acting_user,
        action="pledge_filing.confirm",
        instance=filing,
        new={"status": filing.status, "due_on": filing.due_on, "findings": [f.rule for f in findings]},
    )
    return filing


# Examination


def right_facts(right: IPRight, *, exclude_filing: PledgeFiling | None = None) -> RightFacts:
    active = right.pledges.filter(is_active=True).select_related("registration").first()
    pending = FilingItem.objects.filter(
        ip_right=right,
        filing__status__in=[FilingStatus.SUBMITTED, FilingStatus.CORRECTION_REQUESTED],
        filing__filing_type=FilingType.REGISTRATION,
    )
    if exclude_filing is not None:
        pending = pending.exclude(filing=exclude_filing)
    return RightFacts(
        right_id=right.pk,
        kind=right.kind,
        number=right.number,
        title=right.title,
        patent_type=right.patent_type,
        legal_status=right.legal_status,
        filing_date=right.filing_date,
        grant_date=right.grant_date,
        term_end=right.term_end,
        annual_fee_paid_until=right.annual_fee_paid_until,
        owners=tuple(
            OwnerFacts(
                enterprise_id=o.enterprise_id,
                name=o.enterprise.name if o.enterprise else o.holder_name,
                share=Decimal(o.share),
            )
            for o in right.owners.select_related("enterprise")
        ),
        nice_classes=tuple(int(c) for c in (right.nice_classes or [])),
        suspended=right.suspended,
        preserved=right.preserved,
        invalidation_pending=right.invalidation_pending,
        active_pledge_no=active.registration.registration_no if active else None,
        pending_filing_ids=tuple(sorted(pending.values_list("filing_id", flat=True))),
    )


def filing_facts(filing: PledgeFiling) -> FilingFacts:
    items = list(filing.items.select_related("ip_right"))
    in_filing = {item.ip_right_id for item in items}
    other_marks = IPRight.objects.filter(
        kind="trademark", owners__enterprise=filing.pledgor, legal_status="valid"
    ).exclude(pk__in=in_filing)
    return FilingFacts(
        filing_id=filing.pk,
        pledgor_enterprise_id=filing.pledgor_id,
        pledgor_name=filing.pledgor.name,
        pledgee_name=filing.pledgee.name,
        claim_kind=filing.claim_kind,
        claim_amount=filing.claim_amount.amount if filing.claim_amount is not None else None,
        performance_start=filing.performance_start,
        performance_end=filing.performance_end,
        guarantee_scope=filing.guarantee_scope,
        filed_on=filing.submitted_on or business_date(),
        items=tuple(
            ItemFacts(
                right=right_facts(item.ip_right, exclude_filing=filing),
                co_owner_consent=item.co_owner_consent,
                licence_revenue=item.licence_revenue,
                licence_contract_ref=item.licence_contract_ref,
            )
            for item in items
        ),
        declarations=frozenset(filing.declarations or ()),
        documents=frozenset(filing.documents.values_list("doc_type", flat=True)),
        has_valuation=filing.has_valuation,
        other_marks_of_pledgor=tuple(right_facts(m) for m in other_marks),
    )


def filing_examine(*, filing: PledgeFiling) -> list[Finding]:
    """Run the examination engine and keep its findings on the filing (replacing the previous run's)."""
    findings = examine(filing_facts(filing))
    filing.findings.all().delete()
    ExaminationFinding.objects.bulk_create(
        [
            ExaminationFinding(
                filing=filing,
                ip_right_id=f.right_id,
                rule=f.rule,
                severity=f.severity,
                message=f.message,
                message_en=f.message_en,
                citation=f.citation[:255],
            )
            for f in findings
        ]
    )
    return findings


# Decisions


def next_registration_no(*, on: datetime.date) -> str:
    """The next registration number in the configured opaque format (default like Y2026980000123)."""
    template = getattr(settings, "IPLEDGE_REGISTRATION_NO_FORMAT", "Y{year}98{serial:07d}")
    prefix = template.split("{serial", 1)[0].format(year=on.year)
    try:
        with transaction.atomic():
            RegistrationSequence.objects.get_or_create(prefix=prefix)
    except IntegrityError:
        pass  # a concurrent transaction created the counter row first; lock it below
    sequence = RegistrationSequence.objects.select_for_update().get(prefix=prefix)
    sequence.last_serial += 1
    sequence.save(update_fields=["last_serial"])
    return str(template.format(year=on.year, serial=sequence.last_serial))


@transaction.atomic
def filing_decide(
    *,
    filing: PledgeFiling,
    decision: str,
    acting_user: User,
    note: str = "",
    correction_working_days: int = 10,
) -> PledgeFiling:
    """The examiner registers, requests a correction (补正) or refuses, with reasons."""
    scope_ok = PledgeFiling.objects.restrict(acting_user, Action.APPROVE).filter(pk=filing.pk).exists()
    if not scope_ok or acting_user.organisation is None or acting_user.organisation.kind != OrganisationKind.IP_OFFICE:
        raise PermissionDenied("only the examining IP office decides")
    if filing.status != FilingStatus.SUBMITTED:
        raise _error("status", "只有待审查的申请可以作出决定。", "not_submitted")
    now = business_now()
    today = business_date()
    turnaround = calendar().working_days_between(filing.submitted_on or today, today)
    if decision == Decision.REQUEST_CORRECTION:
        if not note.strip():
            raise _error("note", "要求补正时必须说明需要补正的内容。", "required")
        _transition(
            filing,
            expected=[FilingStatus.SUBMITTED],
            status=FilingStatus.CORRECTION_REQUESTED,
            decision_note=note,
            correction_due_on=calendar().add_working_days(today, correction_working_days),
        )
    elif decision == Decision.REFUSE:
        if not note.strip():
            raise _error("note", "不予登记时必须说明理由。", "required")
        _transition(
            filing,
            expected=[FilingStatus.SUBMITTED],
            status=FilingStatus.REFUSED,
            decision_note=note,
            decided_at=now,
            decided_by=acting_user if acting_user.pk else None,
            turnaround_working_days=turnaround,
        )
    elif decision == Decision.REGISTER:
        _register(filing, acting_user=acting_user, note=note, turnaround=turnaround)
    else:
        raise _error("decision", "审查决定无效。", "choice")
    record_event(
        acting_user=acting_user,
        action=f"pledge_filing.{decision}",
        instance=filing,
        new={"status": filing.status, "note": note, "turnaround_working_days": filing.turnaround_working_days},
    )
    return filing


def _register(filing: PledgeFiling, *, acting_user: User, note: str, turnaround: int) -> None:
    # Lock the rights (in a fixed order, so two registrations cannot deadlock) before re-examining: a
    # concurrent registration of the same right then waits, and afterwards this one sees the active pledge.
    right_ids = sorted(filing.items.values_list("ip_right_id", flat=True))
    list(IPRight.objects.select_for_update().filter(pk__in=right_ids).order_by("pk").values_list("pk", flat=True))
    # Cancellations are examined on their own ground (the registration is active and the filer is its
    # pledgee, checked when filed); the engine's grounds are those of creating a pledge.
    findings = filing_examine(filing=filing) if filing.filing_type == FilingType.REGISTRATION else []
    refusals = [f for f in findings if f.severity == Severity.REFUSE]
    if refusals:
        raise ValidationError([ValidationError(f"{f.message}（{f.citation}）", code=f.rule) for f in refusals])
    today = business_date()
    if filing.filing_type == FilingType.REGISTRATION:
        registration = PledgeRegistration(
            registration_no=next_registration_no(on=today),
            filing=filing,
            pledgor=filing.pledgor,
            pledgee=filing.pledgee,
            registered_on=today,
            claim_amount=filing.claim_amount,
            performance_end=filing.performance_end,
            region_code=filing.region_code,
        )
        save_validated(registration)
        try:
            with transaction.atomic():
                PledgedRight.objects.bulk_create(
                    [
                        PledgedRight(
                            registration=registration, ip_right=item.ip_right, licence_revenue=item.licence_revenue
                        )
                        for item in filing.items.select_related("ip_right")
                    ]
                )
        except IntegrityError as exc:
            # Another examiner registered a pledge on one of these rights a moment ago: refuse with the reason.
            raise _error("items", "该知识产权已处于质押期间，不能重复质押。", "already_pledged") from exc
        record_event(
            acting_user=acting_user,
            action="pledge_registration.create",
            instance=registration,
            new=snapshot(registration),
        )
    elif filing.filing_type == FilingType.CANCELLATION:
        cancelled = filing.registration
        assert cancelled is not None
        updated = PledgeRegistration.objects.filter(pk=cancelled.pk, status=RegistrationStatus.ACTIVE).update(
            status=RegistrationStatus.CANCELLED, cancelled_on=today, cancellation_reason=filing.cancellation_reason
        )
        if updated != 1:
            raise _error("registration", "该质押登记已注销。", "already_cancelled")
        cancelled.pledged_rights.filter(is_active=True).update(is_active=False, released_on=today)
        record_event(
            acting_user=acting_user,
            action="pledge_registration.cancel",
            instance=cancelled,
            new={"cancelled_on": today, "reason": filing.cancellation_reason},
        )
    elif filing.filing_type == FilingType.CHANGE:
        _apply_change(filing, acting_user=acting_user)
    _transition(
        filing,
        expected=[FilingStatus.SUBMITTED],
        status=FilingStatus.REGISTERED,
        decision_note=note,
        decided_at=business_now(),
        decided_by=acting_user if acting_user.pk else None,
        turnaround_working_days=turnaround,
    )


@transaction.atomic
def cancellation_file(
    *, registration: PledgeRegistration, reason: str, acting_user: User, channel: str = Channel.ONLINE
) -> PledgeFiling:
    """The pledgee files the cancellation (注销) of a registered pledge; it goes straight to examination."""
    org = acting_user.organisation
    if org is None or org.kind != OrganisationKind.BANK or not registration.pledgee.tree_path.startswith(org.tree_path):
        raise PermissionDenied("only the pledgee files a cancellation")
    if registration.status != RegistrationStatus.ACTIVE:
        raise _error("registration", "该质押登记已注销。", "already_cancelled")
    today = business_date()
    filing = PledgeFiling(
        filing_type=FilingType.CANCELLATION,
        status=FilingStatus.SUBMITTED,
        channel=channel,
        pledgor=registration.pledgor,
        pledgee=registration.pledgee,
        filed_by_org=org,
        filed_by=acting_user if acting_user.pk else None,
        registration=registration,
        cancellation_reason=reason,
        submitted_on=today,
        due_on=calendar().add_working_days(today, examination_days(channel)),
        region_code=registration.region_code,
    )
    save_validated(filing)
    record_event(acting_user=acting_user, action="pledge_filing.cancellation", instance=filing, new=snapshot(filing))
    return filing


# Change (变更登记)


def change_term_findings(*, registration: PledgeRegistration, performance_end: datetime.date) -> list[Finding]:
    """The engine's term ground (`term_before_performance_end`) for a new performance end against every right
    still pledged under the registration: a refusal for patents and copyrights, a warning for trademarks."""
    original = registration.filing
    facts = FilingFacts(
        filing_id=original.pk,
        pledgor_enterprise_id=registration.pledgor_id,
        pledgor_name=registration.pledgor.name,
        pledgee_name=registration.pledgee.name,
        claim_kind=original.claim_kind,
        claim_amount=None,
        performance_start=original.performance_start,
        performance_end=performance_end,
        guarantee_scope=original.guarantee_scope,
        filed_on=business_date(),
        items=(),
    )
    findings: list[Finding] = []
    for pledged in registration.pledged_rights.filter(is_active=True).select_related("ip_right").order_by("pk"):
        findings.extend(check_term(facts, right_facts(pledged.ip_right)))
    return findings


def _term_refusal(findings: Sequence[Finding]) -> ValidationError | None:
    refusals = [f for f in findings if f.severity == Severity.REFUSE]
    if not refusals:
        return None
    return ValidationError(
        {"performance_end": [ValidationError(f"{f.message}（{f.citation}）", code=f.rule) for f in refusals]}
    )


@transaction.atomic
def change_file(
    *,
    registration: PledgeRegistration,
    acting_user: User,
    change_description: str,
    claim_amount: Money | None = None,
    performance_end: datetime.date | None = None,
    channel: str = Channel.ONLINE,
) -> PledgeFiling:
    """The pledgee files a change (变更登记) of a registered pledge: a new secured amount and/or a new end of the
    debtor's performance period. It goes straight to examination, like a cancellation; the change agreement
    (变更协议) is uploaded to the filing with `document_add`. `None` leaves a value as registered."""
    org = acting_user.organisation
    # The role must allow changing the registration (operators and admins, not viewers) within the pledgee's tree.
    reachable = PledgeRegistration.objects.restrict(acting_user, Action.CHANGE).filter(pk=registration.pk).exists()
    if (
        org is None
        or org.kind != OrganisationKind.BANK
        or not reachable
        or not registration.pledgee.tree_path.startswith(org.tree_path)
    ):
        raise PermissionDenied("only the pledgee files a change")
    if registration.status != RegistrationStatus.ACTIVE:
        raise _error("registration", "该质押登记已注销，不能办理变更。", "already_cancelled")
    description = change_description.strip()
    if not description:
        raise _error("change_description", "请说明变更事项。", "required")
    if claim_amount is not None and claim_amount.fen <= 0:
        raise _error("claim_amount", "被担保债权数额必须大于0。", "positive")
    if claim_amount is not None and claim_amount == registration.claim_amount:
        claim_amount = None
    if performance_end is not None and performance_end == registration.performance_end:
        performance_end = None
    if claim_amount is None and performance_end is None:
        raise _error("claim_amount", "至少须变更被担保债权数额或债务履行期限止中的一项。", "no_change")
    if performance_end is not None:
        start = registration.filing.performance_start
        if start is not None and performance_end < start:
            raise _error("performance_end", "债务履行期限止不能早于履行期限起。", "date_order")
        refusal = _term_refusal(change_term_findings(registration=registration, performance_end=performance_end))
        if refusal is not None:
            raise refusal
    pending = PledgeFiling.objects.filter(
        registration=registration,
        filing_type__in=[FilingType.CHANGE, FilingType.CANCELLATION],
        status__in=list(OPEN_FILING_STATUSES),
    )
    if pending.exists():
        raise _error("registration", "该质押登记已有办理中的变更或注销申请。", "follow_up_pending")
    today = business_date()
    filing = PledgeFiling(
        filing_type=FilingType.CHANGE,
        status=FilingStatus.SUBMITTED,
        channel=channel,
        pledgor=registration.pledgor,
        pledgee=registration.pledgee,
        filed_by_org=org,
        filed_by=acting_user if acting_user.pk else None,
        registration=registration,
        claim_amount=claim_amount,  # type: ignore[misc]
        performance_end=performance_end,
        change_description=description,
        submitted_on=today,
        due_on=calendar().add_working_days(today, examination_days(channel)),
        region_code=registration.region_code,
    )
    save_validated(filing)
    record_event(
        acting_user=acting_user,
        action="pledge_filing.change",
        instance=filing,
        old={"claim_amount": registration.claim_amount, "performance_end": registration.performance_end},
        new={
            "claim_amount": claim_amount if claim_amount is not None else registration.claim_amount,
            "performance_end": performance_end if performance_end is not None else registration.performance_end,
        },
        extra={"registration": registration.registration_no, "change_description": description},
    )
    return filing


def _apply_change(filing: PledgeFiling, *, acting_user: User) -> None:
    """Register a change: the new values replace the registered ones, on an active registration only."""
    registration = filing.registration
    assert registration is not None
    changes: dict[str, Any] = {}
    if filing.claim_amount is not None:
        changes["claim_amount"] = filing.claim_amount
    if filing.performance_end is not None:
        changes["performance_end"] = filing.performance_end
        # The register may have moved since filing (a term corrected): examine the term again at decision.
        refusal = _term_refusal(change_term_findings(registration=registration, performance_end=filing.performance_end))
        if refusal is not None:
            raise refusal
    current = PledgeRegistration.objects.select_for_update().get(pk=registration.pk)
    old = {name: getattr(current, name) for name in changes}
    updated = PledgeRegistration.objects.filter(pk=registration.pk, status=RegistrationStatus.ACTIVE).update(**changes)
    if updated != 1:
        raise _error("registration", "该质押登记已注销，不能办理变更。", "already_cancelled")
    current.refresh_from_db()
    record_event(
        acting_user=acting_user,
        action="pledge_registration.change",
        instance=current,
        old=old,
        new={name: getattr(current, name) for name in changes},
        extra={"filing": filing.pk, "change_description": filing.change_description},
    )


RESUBMIT_FIELDS = (
    "claim_kind",
    "claim_amount",
    "performance_start",
    "performance_end",
    "guarantee_scope",
    "contract_no",
    "has_valuation",
    "declarations",
)


@transaction.atomic
def filing_resubmit(*, filing: PledgeFiling, acting_user: User, changes: dict[str, Any] | None = None) -> PledgeFiling:
    """The filer cures the defects (补正) and resubmits: the examination clock restarts from today.

    The examination time limit runs from the day the defects are fully cured (domain.md §1.4), so
    `submitted_on` and `due_on` are set afresh and the engine examines the corrected filing again. Corrected
    documents are uploaded with `document_add` before resubmitting.
    """
    org = acting_user.organisation
    if org is None or not filing.filed_by_org.tree_path.startswith(org.tree_path):
        raise PermissionDenied("only the filer resubmits a filing")
    if filing.status != FilingStatus.CORRECTION_REQUESTED:
        raise _error("status", "只有待补正的申请可以重新提交。", "not_correction_requested")
    today = business_date()
    if filing.correction_due_on is not None and today > filing.correction_due_on:
        raise _error("status", "补正期限已过，申请视为撤回。", "correction_overdue")
    changes = {k: v for k, v in (changes or {}).items() if k in RESUBMIT_FIELDS}
    before = snapshot(filing, fields=list(changes))
    for name, value in changes.items():
        setattr(filing, name, sorted(set(value)) if name == "declarations" else value)
    filing.full_clean(validate_constraints=False)
    updates = {name: getattr(filing, name) for name in changes}
    _transition(
        filing,
        expected=[FilingStatus.CORRECTION_REQUESTED],
        status=FilingStatus.SUBMITTED,
        submitted_on=today,
        due_on=calendar().add_working_days(today, examination_days(filing.channel)),
        correction_due_on=None,
        **updates,
    )
    findings = filing_examine(filing=filing)
    record_event(
        acting_user=acting_user,
        action="pledge_filing.resubmit",
        instance=filing,
        old=before,
        new={**snapshot(filing, fields=list(changes)), "findings": [f.rule for f in findings]},
    )
    return filing


@transaction.atomic
def corrections_expire(*, today: datetime.date | None = None) -> int:
    """Filings whose correction deadline passed without a resubmission are deemed withdrawn (视为撤回)."""
    today = today or business_date()
    overdue = list(
        PledgeFiling.objects.select_for_update().filter(
            status=FilingStatus.CORRECTION_REQUESTED, correction_due_on__lt=today
        )
    )
    for filing in overdue:
        _transition(filing, expected=[FilingStatus.CORRECTION_REQUESTED], status=FilingStatus.WITHDRAWN)
        record_event(
            acting_user=None,
            action="pledge_filing.correction_overdue",
            instance=filing,
            new={"status": filing.status, "correction_due_on": filing.correction_due_on},
        )
    return len(overdue)


@transaction.atomic
def filing_withdraw(*, filing: PledgeFiling, acting_user: User) -> PledgeFiling:
    if not PledgeFiling.objects.restrict(acting_user, Action.CHANGE).filter(pk=filing.pk).exists():
        raise PermissionDenied("not your filing")
    _transition(filing, expected=list(OPEN_FILING_STATUSES), status=FilingStatus.WITHDRAWN)
    record_event(
        acting_user=acting_user, action="pledge_filing.withdraw", instance=filing, new={"status": filing.status}
    )
    return filing


def public_registration_lookup(*, number: str) -> list[dict[str, Any]]:
    """The announcement record (公告) of registrations by right number or registration number, for anyone.

    This read deliberately bypasses `restrict()`: it returns only the fields the gazette publishes
    (pledgor, pledgee, main IPC, right number, grant date, registration date) plus status.
    """
    needle = number.strip().upper()
    if not needle:
        return []
    rows = (
        PledgedRight.objects.filter(models.Q(ip_right__number=needle) | models.Q(registration__registration_no=needle))
        .select_related("registration__pledgor", "registration__pledgee", "ip_right")
        .order_by("-registration__registered_on")[:50]
    )
    return [
        {
            "registration_no": r.registration.registration_no,
            "pledgor": r.registration.pledgor.name,
            "pledgee": r.registration.pledgee.name,
            "main_ipc": r.ip_right.main_ipc,
            "right_number": r.ip_right.number,
            "right_kind": r.ip_right.kind,
            "grant_date": r.ip_right.grant_date,
            "registered_on": r.registration.registered_on,
            "status": r.registration.status if r.is_active or r.registration.status != "active" else "released",
            "cancelled_on": r.registration.cancelled_on,
        }
        for r in rows
    ]


# Documents

MAX_DOCUMENT_BYTES = uploads.DOCUMENT.max_bytes
# Names a client may give an accepted document; the type itself is decided by the content (ipledge.core.uploads).
EXTENSIONS = {
    ".pdf": "application/pdf",
    ".jpg": "image/jpeg",
    ".jpeg": "image/jpeg",
    ".png": "image/png",
    ".docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
}


@transaction.atomic
def document_add(
    *, filing: PledgeFiling, doc_type: str, filename: str, content: bytes, acting_user: User
) -> FilingDocument:
    """Attach a document (contract, IDs, consents…) after the upload checks of ``ipledge.core.uploads`` (size, type
    by content, archive safety); stored under its digest, the client's name kept as display text only."""
    import hashlib
    from pathlib import PurePath

    from django.core.files.base import ContentFile

    if filing.status not in OPEN_FILING_STATUSES:
        raise _error("file", "已结束的申请不能再上传材料。", "closed")
    if not content:
        raise _error("file", "文件为空。", "empty")
    suffix = PurePath(uploads.display_name(filename)).suffix.lower()
    if suffix not in EXTENSIONS:  # the name can only refuse, the type is decided by the content
        raise _error("file", "只接受 PDF、JPG、PNG 或 DOCX 文件。", "file_type")
    try:
        checked = uploads.check(content, filename=filename, policy=uploads.DOCUMENT)
    except uploads.UploadRefused as exc:
        if exc.rule in ("file_type", "file_format"):
            # The name claims an accepted type the content is not: say so rather than "type not accepted".
            raise _error("file", "文件内容与扩展名不符。", "content_mismatch") from exc
        raise
    digest = hashlib.sha256(content).hexdigest()
    document = FilingDocument(
        filing=filing,
        doc_type=doc_type,
        original_name=checked.display_name,
        content_type=checked.content_type,
        size=len(content),
        sha256=digest,
        uploaded_by=acting_user if acting_user.pk else None,
    )
    # Stored under a name of our own (the digest), never the uploaded path, so no traversal is possible.
    document.file.save(f"{digest}{checked.extension}", ContentFile(content), save=False)
    save_validated(document)
    record_event(
        acting_user=acting_user,
        action="pledge_filing.document_add",
        instance=filing,
        new={"doc_type": doc_type, "name": document.original_name, "sha256": digest},
    )
    return document
