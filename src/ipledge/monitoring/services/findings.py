"""The case (核查) of an anomaly finding (异常线索): assign → investigate → notes → confirm or dismiss → report in a
bulletin (通报).

Rules decided here:
- Only an IP office (知识产权局) works cases, inside its region (`Finding.scope_q`): operators and admins assign,
  investigate and write notes (change); reviewers and admins decide and issue bulletins (approve).
- The assignee is a user of an IP office whose region covers the finding (someone who could work it), and the due
  date (核查期限) is not in the past. An open or assigned finding may be (re)assigned.
- Investigation starts from assigned; notes are taken while the case is active; confirm or dismiss from assigned or
  investigating, each with a note (认定意见). A dismissal is remembered by fingerprint and evidence digest (see
  `monitoring.anomalies`).
- A bulletin covers findings a reviewer confirmed, issued by an IP-office operator of their region (the maker of the
  notice is not the checker of the finding); they become reported.
- Every step is a `FindingEvent` and an audit event in one transaction; each change bumps `version` under a
  conditional update, and `expected_version` refuses an edit made on an older page.
"""

from __future__ import annotations

import datetime
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import User
from ipledge.core.scoping import Action, scope_for

from ..choices import FindingEventKind, FindingStatus
from ..models import Bulletin, Finding, FindingEvent

MAX_NOTE = 4000


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    return user if user is not None and user.pk else None


def _locked(finding: Finding, acting_user: User, action: str) -> Finding:
    """The finding, locked, if the user may act on it; a finding out of reach is 'missing' to them."""
    locked = Finding.objects.restrict(acting_user, action).select_for_update(of=("self",)).filter(pk=finding.pk).first()
    if locked is None:
        raise PermissionDenied(_("只有辖区内的知识产权局可以办理异常线索核查。"))
    return locked


def _check_version(finding: Finding, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != finding.version:
        raise _error(
            "version",
            _("该线索已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": finding.version},
        )


def _check_status(finding: Finding, allowed: Sequence[str]) -> None:
    if finding.status not in allowed:
        raise _error(
            "status",
            _("线索当前状态为“%(status)s”，不能执行此操作。"),
            "invalid_status",
            {"status": finding.get_status_display()},
        )


def _note(note: str, *, required: bool) -> str:
    note = (note or "").strip()
    if required and not note:
        raise _error("note", _("请填写说明。"), "required")
    if len(note) > MAX_NOTE:
        raise _error("note", _("说明不能超过 %(max)s 字。"), "max_length", {"max": MAX_NOTE})
    return note


def _transition(
    finding: Finding,
    *,
    acting_user: User,
    kind: str,
    to_status: str | None,
    note: str = "",
    fields: dict[str, Any] | None = None,
) -> Finding:
    """Write the change under the version guard, with its case event and its audit event."""
    from_status = finding.status
    changes = dict(fields or {})
    if to_status is not None:
        changes["status"] = to_status
    updated = Finding.objects.filter(pk=finding.pk, version=finding.version).update(
        **changes, version=finding.version + 1, updated_at=business_now()
    )
    if updated != 1:  # a concurrent writer got there first (the row lock makes this rare)
        raise _error("version", _("该线索已被他人修改，请刷新后重试。"), "stale", {"current": finding.version})
    FindingEvent.objects.create(
        finding=finding,
        kind=kind,
        from_status=from_status if to_status is not None else "",
        to_status=to_status or "",
        note=note,
        actor=_actor(acting_user),
    )
    old = {"status": from_status, "version": finding.version}
    finding.refresh_from_db()
    record_event(
        acting_user=acting_user,
        action=f"finding.{kind}",
        instance=finding,
        old=old,
        new={
            "status": finding.status,
            "version": finding.version,
            **{k: v for k, v in changes.items() if k != "status"},
        },
        extra={"note": note} if note else None,
    )
    return finding


def assignable_users(finding: Finding) -> Any:
    """Users who could work the finding: active users of IP offices whose region covers it and whose role may change
    it."""
    candidates = User.objects.filter(is_active=True, organisation__kind=OrganisationKind.IP_OFFICE).select_related(
        "organisation"
    )
    return [u for u in candidates if Finding.objects.restrict(u, Action.CHANGE).filter(pk=finding.pk).exists()]


@transaction.atomic
def finding_assign(
    *,
    finding: Finding,
    assignee: User,
    due_on: datetime.date,
    note: str = "",
    expected_version: int | None = None,
    acting_user: User,
) -> Finding:
    """Assign the case to an IP-office user of the finding's region, with a due date (核查期限)."""
    finding = _locked(finding, acting_user, Action.CHANGE)
    _check_version(finding, expected_version)
    _check_status(finding, (FindingStatus.OPEN, FindingStatus.ASSIGNED))
    note = _note(note, required=False)
    scope = scope_for(assignee)
    if (
        not assignee.is_active
        or scope is None
        or scope.kind != OrganisationKind.IP_OFFICE
        or not Finding.objects.restrict(assignee, Action.CHANGE).filter(pk=finding.pk).exists()
    ):
        raise _error("assignee", _("核查人须为线索所在地区知识产权局的在职经办人员。"), "assignee_out_of_region")
    if due_on < business_date():
        raise _error("due_on", _("核查期限不能早于今天。"), "due_in_past")
    return _transition(
        finding,
        acting_user=acting_user,
        kind=FindingEventKind.ASSIGNED,
        to_status=FindingStatus.ASSIGNED,
        note=note or f"→ {assignee.get_full_name() or assignee.username}，{due_on:%Y-%m-%d}",
        fields={"assignee": assignee, "assigned_at": business_now(), "due_on": due_on},
    )


@transaction.atomic
def finding_start_investigation(
    *, finding: Finding, note: str = "", expected_version: int | None = None, acting_user: User
) -> Finding:
    finding = _locked(finding, acting_user, Action.CHANGE)
    _check_version(finding, expected_version)
    _check_status(finding, (FindingStatus.ASSIGNED,))
    return _transition(
        finding,
        acting_user=acting_user,
        kind=FindingEventKind.INVESTIGATING,
        to_status=FindingStatus.INVESTIGATING,
        note=_note(note, required=False),
    )


@transaction.atomic
def finding_note(*, finding: Finding, note: str, expected_version: int | None = None, acting_user: User) -> Finding:
    """A note in the case file (核查记录) while the case is active."""
    finding = _locked(finding, acting_user, Action.CHANGE)
    _check_version(finding, expected_version)
    _check_status(
        finding, (FindingStatus.OPEN, FindingStatus.ASSIGNED, FindingStatus.INVESTIGATING, FindingStatus.CONFIRMED)
    )
    return _transition(
        finding, acting_user=acting_user, kind=FindingEventKind.NOTE, to_status=None, note=_note(note, required=True)
    )


@transaction.atomic
def finding_decide(
    *, finding: Finding, confirm: bool, note: str, expected_version: int | None = None, acting_user: User
) -> Finding:
    """Confirm (确认) or dismiss (排除) the finding, with the reasons (认定意见)."""
    finding = _locked(finding, acting_user, Action.APPROVE)
    _check_version(finding, expected_version)
    _check_status(finding, (FindingStatus.ASSIGNED, FindingStatus.INVESTIGATING))
    note = _note(note, required=True)
    return _transition(
        finding,
        acting_user=acting_user,
        kind=FindingEventKind.CONFIRMED if confirm else FindingEventKind.DISMISSED,
        to_status=FindingStatus.CONFIRMED if confirm else FindingStatus.DISMISSED,
        note=note,
        fields={"decided_by": _actor(acting_user), "decided_at": business_now(), "decision_note": note},
    )


def _next_bulletin_number(year: int) -> str:
    prefix = f"TB{year}-"
    last = (
        Bulletin.objects.filter(number__startswith=prefix).order_by("-number").values_list("number", flat=True).first()
    )
    serial = int(last.removeprefix(prefix)) + 1 if last else 1
    return f"{prefix}{serial:04d}"


@transaction.atomic
def bulletin_issue(
    *,
    findings: Sequence[Finding],
    title: str,
    body: str,
    issued_on: datetime.date | None = None,
    acting_user: User,
) -> Bulletin:
    """Issue a bulletin (通报) on confirmed findings of the issuer's region; the findings become reported."""
    scope = scope_for(acting_user)
    if scope is None or scope.kind != OrganisationKind.IP_OFFICE or not scope.may(Action.ADD):
        raise PermissionDenied(_("只有知识产权局的经办人员可以发布通报。"))
    title, body = (title or "").strip(), (body or "").strip()
    if not title:
        raise _error("title", _("请填写通报标题。"), "required")
    if len(title) > 200:
        raise _error("title", _("标题不能超过 %(max)s 字。"), "max_length", {"max": 200})
    if not body:
        raise _error("body", _("请填写通报正文。"), "required")
    if not findings:
        raise _error("findings", _("请至少选择一条已确认的线索。"), "required")
    issued_on = issued_on or business_date()
    if issued_on > business_date():
        raise _error("issued_on", _("通报日期不能晚于今天。"), "future")
    pks = sorted({f.pk for f in findings})
    locked = list(
        Finding.objects.restrict(acting_user, Action.CHANGE).select_for_update(of=("self",)).filter(pk__in=pks)
    )
    if len(locked) != len(pks):
        raise _error("findings", _("所选线索不存在或不在本辖区。"), "not_found")
    not_confirmed = [f.pk for f in locked if f.status != FindingStatus.CONFIRMED]
    if not_confirmed:
        raise _error(
            "findings",
            _("只能通报已确认的线索（#%(ids)s 未确认）。"),
            "not_confirmed",
            {"ids": "、#".join(map(str, not_confirmed))},
        )
    organisation = acting_user.organisation
    region_code = organisation.region.code if organisation is not None and organisation.region else ""
    bulletin = Bulletin.objects.create(
        number=_next_bulletin_number(issued_on.year),
        title=title,
        body=body,
        region_code=region_code,
        issued_by=organisation,
        issued_on=issued_on,
        created_by=_actor(acting_user),
    )
    record_event(
        acting_user=acting_user,
        action="bulletin.issue",
        instance=bulletin,
        new={"number": bulletin.number, "title": title, "findings": pks, "issued_on": issued_on},
    )
    for finding in locked:
        _transition(
            finding,
            acting_user=acting_user,
            kind=FindingEventKind.REPORTED,
            to_status=FindingStatus.REPORTED,
            note=f"{bulletin.number} {title}",
            fields={"bulletin": bulletin},
        )
    return bulletin
