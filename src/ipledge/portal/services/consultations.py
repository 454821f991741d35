"""Policy consultations (政策咨询) and the public FAQ (常见问题).

Rules decided here:
- An enterprise user asks for its own enterprise (the enterprise whose platform account is the user's organisation):
  subject, question and optionally a published policy it is about.
- Routing (`route_office`): a named policy goes to its owner organisation; otherwise to the IP office of the
  enterprise's city when the platform has one, else of its province, else the national IP office.
- The reference is `ZX<year><6 digits>` (ZX2026000123), numbered per year of the business date.
- The office it was routed to (or the IP office of the region, `Consultation.scope_q` change) answers while the
  consultation is open or answered (an answer may be corrected); it may publish the answer in the FAQ with a reworded
  question (`faq_question`, required: the FAQ never shows the asker), unpublish it, and close the consultation.
- Every write locks the row, checks `expected_version` (code "stale"), bumps the version and writes an audit event in
  the same transaction. The platform has no notification mechanism, so none is sent. Closing takes a published
  answer out of the FAQ (the table allows only answered consultations to be public).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import insert_validated, record_event, snapshot
from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date, business_now
from ipledge.core.models import Organisation, User
from ipledge.core.scoping import Action
from ipledge.registry.models import Enterprise

from ..choices import ConsultationStatus, PolicyStatus
from ..models import Consultation, Policy

REFERENCE_PREFIX = "ZX"
REFERENCE_ATTEMPTS = 50
MAX_SUBJECT = 200
MAX_QUESTION = 4000
MAX_ANSWER = 8000
MAX_FAQ_QUESTION = 300


def _error(field: str, message: Any, code: str, params: dict[str, Any] | None = None) -> ValidationError:
    return ValidationError({field: ValidationError(message, code=code, params=params)})


def _actor(user: User | None) -> User | None:
    """The user to store on a row: an API key's principal is unsaved and is stored as None."""
    return user if user is not None and user.pk else None


def _text(value: str, *, field: str, max_length: int, required: bool = True) -> str:
    value = (value or "").strip()
    if required and not value:
        raise _error(field, _("此项为必填项。"), "required")
    if len(value) > max_length:
        raise _error(field, _("不能超过 %(max)s 字。"), "max_length", {"max": max_length})
    return value


# ---------------------------------------------------------------------------------------------------------- routing


def _ip_office(region_code: str) -> Organisation | None:
    return (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, is_active=True, region__code=region_code)
        .order_by("pk")
        .first()
    )


def route_office(*, enterprise: Enterprise, policy: Policy | None = None) -> Organisation | None:
    """The office that answers: the policy's owner, else the IP office of the enterprise's city, its province, or the
    national IP office."""
    if policy is not None:
        return policy.owner_org
    code = enterprise.region_code or ""
    if len(code) == 6:
        for candidate in (code[:4] + "00", code[:2] + "0000"):
            office = _ip_office(candidate)
            if office is not None:
                return office
    return (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, is_active=True, admin_level=AdminLevel.NATIONAL)
        .order_by("pk")
        .first()
    )


def asker_enterprise(user: User) -> Enterprise | None:
    """The enterprise a user asks for: the one whose platform account is the user's organisation."""
    organisation_id = getattr(user, "organisation_id", None)
    if organisation_id is None:
        return None
    return Enterprise.objects.filter(organisation_id=organisation_id).first()


# ------------------------------------------------------------------------------------------------------- references


def next_reference(year: int) -> str:
    """The next free reference of the year: ZX2026000123."""
    prefix = f"{REFERENCE_PREFIX}{year}"
    last = (
        Consultation.objects.filter(reference__startswith=prefix, reference__regex=rf"^{prefix}[0-9]{{6}}$")
        .order_by("-reference")
        .values_list("reference", flat=True)
        .first()
    )
    serial = int(last[len(prefix) :]) + 1 if last else 1
    return f"{prefix}{serial:06d}"


def _insert_with_reference(consultation: Consultation, year: int) -> Consultation:
    for _attempt in range(REFERENCE_ATTEMPTS):
        consultation.reference = next_reference(year)
        try:
            with transaction.atomic():
                insert_validated(consultation)
        except ValidationError as exc:
            if "reference" not in getattr(exc, "error_dict", {}):
                raise
        except IntegrityError:
            if not Consultation.objects.filter(reference=consultation.reference).exists():
                raise
        else:
            return consultation
        consultation.pk = None
        consultation._state.adding = True
    raise _error("reference", _("咨询编号生成冲突，请重试。"), "reference_conflict")


# ----------------------------------------------------------------------------------------------------------- writes


@transaction.atomic
def consultation_create(
    *,
    actor: User,
    subject: str,
    question: str,
    policy: Policy | None = None,
    today: datetime.date | None = None,
) -> Consultation:
    """An enterprise user asks a policy question; it is routed to the responsible office."""
    if not _may_add(actor):
        raise PermissionDenied(_("只有企业用户可以提交政策咨询。"))
    enterprise = asker_enterprise(actor)
    if enterprise is None or enterprise.organisation is None:
        raise _error("enterprise", _("您的账户未关联企业，不能提交政策咨询。"), "no_enterprise")
    subject = _text(subject, field="subject", max_length=MAX_SUBJECT)
    question = _text(question, field="question", max_length=MAX_QUESTION)
    if policy is not None and policy.status != PolicyStatus.PUBLISHED:
        raise _error("policy", _("只能就已发布的政策提问。"), "not_published")
    office = route_office(enterprise=enterprise, policy=policy)
    if office is None:
        raise _error("routed_to", _("平台上没有可答复该咨询的知识产权局。"), "no_office")
    consultation = Consultation(
        enterprise=enterprise,
        enterprise_org=enterprise.organisation,
        policy=policy,
        region_code=enterprise.region_code,
        subject=subject,
        question=question,
        routed_to=office,
        asked_by=_actor(actor),
    )
    _insert_with_reference(consultation, (today or business_date()).year)
    record_event(acting_user=actor, action="consultation.create", instance=consultation, new=snapshot(consultation))
    return consultation


def _may_add(actor: User) -> bool:
    from ipledge.core.scoping import scope_for

    scope = scope_for(actor)
    return scope is not None and scope.may(Action.ADD) and Consultation.scope_q(scope, Action.ADD) is not None


def _locked(consultation: Consultation, actor: User) -> Consultation:
    locked = (
        Consultation.objects.restrict(actor, Action.CHANGE)
        .select_for_update(of=("self",))
        .filter(pk=consultation.pk)
        .first()
    )
    if locked is None:
        raise PermissionDenied(_("只有咨询所转交的单位可以办理该咨询。"))
    return locked


def _check_version(consultation: Consultation, expected_version: int | None) -> None:
    if expected_version is not None and expected_version != consultation.version:
        raise _error(
            "version",
            _("该咨询已被他人修改（当前版本 %(current)s），请刷新后重试。"),
            "stale",
            {"current": consultation.version},
        )


def _check_status(consultation: Consultation, allowed: tuple[str, ...]) -> None:
    if consultation.status not in allowed:
        raise _error(
            "status",
            _("咨询当前状态为“%(status)s”，不能执行此操作。"),
            "invalid_status",
            {"status": consultation.get_status_display()},
        )


def _write(consultation: Consultation, *, actor: User, action: str, changes: dict[str, Any]) -> Consultation:
    old = {k: getattr(consultation, k) for k in changes} | {"version": consultation.version}
    updated = Consultation.objects.filter(pk=consultation.pk, version=consultation.version).update(
        **changes, version=consultation.version + 1, updated_at=business_now()
    )
    if updated != 1:
        raise _error("version", _("该咨询已被他人修改，请刷新后重试。"), "stale", {"current": consultation.version})
    consultation.refresh_from_db()
    new = {k: getattr(consultation, k) for k in changes} | {"version": consultation.version}
    record_event(acting_user=actor, action=f"consultation.{action}", instance=consultation, old=old, new=new)
    return consultation


@transaction.atomic
def consultation_answer(
    *,
    actor: User,
    consultation: Consultation,
    answer: str,
    publish: bool = False,
    faq_question: str = "",
    expected_version: int | None = None,
) -> Consultation:
    """The office answers (or corrects its answer); it may publish it in the FAQ with a reworded question."""
    consultation = _locked(consultation, actor)
    _check_version(consultation, expected_version)
    _check_status(consultation, (ConsultationStatus.OPEN, ConsultationStatus.ANSWERED))
    answer = _text(answer, field="answer", max_length=MAX_ANSWER)
    changes: dict[str, Any] = {
        "answer": answer,
        "status": ConsultationStatus.ANSWERED,
        "answered_by": _actor(actor),
        "answered_at": business_now(),
    }
    if publish:
        changes.update(_publication(consultation, faq_question))
    return _write(consultation, actor=actor, action="answer", changes=changes)


def _publication(consultation: Consultation, faq_question: str) -> dict[str, Any]:
    faq_question = _text(faq_question, field="faq_question", max_length=MAX_FAQ_QUESTION)
    name = consultation.enterprise.name
    if name and name in faq_question:
        raise _error("faq_question", _("公开的问题表述不能包含咨询企业的名称。"), "names_enterprise")
    return {"is_public": True, "faq_question": faq_question, "published_at": business_now()}


@transaction.atomic
def consultation_publish(
    *,
    actor: User,
    consultation: Consultation,
    publish: bool,
    faq_question: str = "",
    expected_version: int | None = None,
) -> Consultation:
    """Publish an answered consultation in the FAQ (with the reworded question), or take it out again."""
    consultation = _locked(consultation, actor)
    _check_version(consultation, expected_version)
    if publish:
        _check_status(consultation, (ConsultationStatus.ANSWERED,))
        changes = _publication(consultation, faq_question or consultation.faq_question)
        return _write(consultation, actor=actor, action="publish", changes=changes)
    if not consultation.is_public:
        raise _error("is_public", _("该咨询未公开。"), "not_public")
    return _write(consultation, actor=actor, action="unpublish", changes={"is_public": False, "published_at": None})


@transaction.atomic
def consultation_close(*, actor: User, consultation: Consultation, expected_version: int | None = None) -> Consultation:
    """Close the consultation (no further answer); a published answer leaves the FAQ (only answered ones are public)."""
    consultation = _locked(consultation, actor)
    _check_version(consultation, expected_version)
    _check_status(consultation, (ConsultationStatus.OPEN, ConsultationStatus.ANSWERED))
    changes: dict[str, Any] = {"status": ConsultationStatus.CLOSED}
    if consultation.is_public:
        # The table requires a public row to be answered: closing takes it out of the FAQ.
        changes.update({"is_public": False, "published_at": None})
    return _write(consultation, actor=actor, action="close", changes=changes)
