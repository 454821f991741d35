"""Consultation API (政策咨询) and the public FAQ (常见问题).

Reads start from `restrict(user, "view")`: an enterprise sees its own consultations, an office those routed to it;
another's answers 404. Asking is for enterprise users (403 otherwise); answering for the office it was routed to
(a consultation the caller may only read answers 403, one it cannot see 404). Service errors name the field and the
rule (400: `required`, `max_length`, `stale`, `invalid_status`, `not_published`, `names_enterprise` …). The FAQ needs
no login and shows only the reworded question and the answer. Schema names carry the prefix `Consult…`.
"""

import datetime
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import QuerySet
from django.http import Http404, HttpRequest
from ninja import Field, Path, Query, Router, Schema, Status
from ninja.pagination import paginate

from ipledge.core.apikit import MAX_ID, ApiError, Paginated, caller, error_responses, require, resolve
from ipledge.core.schemas import InputSchema
from ipledge.core.scoping import Action

from .. import selectors_consultations as selectors
from ..choices import PolicyStatus
from ..models import Consultation, Policy
from ..services import consultations as services

router = Router(tags=["portal"])

WRITE_ERRORS = error_responses(400, 403, 404)
READ_ERRORS = error_responses(403, 404)
ConsultationId = Path(..., ge=1, le=MAX_ID)


class ConsultOut(Schema):
    id: int
    reference: str
    enterprise_id: int
    enterprise_name: str
    policy_id: int | None
    region_code: str
    subject: str
    question: str
    routed_to_id: int
    routed_to_name: str
    status: str
    status_label: str
    answer: str
    answered_at: datetime.datetime | None
    is_public: bool
    faq_question: str
    published_at: datetime.datetime | None
    created_at: datetime.datetime
    version: int

    @staticmethod
    def resolve_enterprise_name(obj: Consultation) -> str:
        return obj.enterprise.name

    @staticmethod
    def resolve_routed_to_name(obj: Consultation) -> str:
        return obj.routed_to.name

    @staticmethod
    def resolve_status_label(obj: Consultation) -> str:
        return str(obj.get_status_display())


class ConsultFilter(Schema):
    status: str | None = Field(None, pattern=r"^(open|answered|closed)$", description="open, answered or closed")
    q: str | None = Field(None, max_length=100, description="Words in the subject or question, or the reference")


class ConsultCreateIn(InputSchema):
    subject: str = Field(..., max_length=200)
    question: str = Field(..., max_length=4000)
    policy_id: int | None = Field(None, ge=1, le=MAX_ID, description="A published policy the question is about")


class ConsultAnswerIn(InputSchema):
    answer: str = Field(..., max_length=8000)
    publish: bool = Field(False, description="Publish the answer in the public FAQ (needs `faq_question`)")
    faq_question: str = Field("", max_length=300, description="The question as the FAQ shows it, without the asker")
    version: int | None = Field(None, ge=1, description="The version you saw; an older one is refused as stale.")


class ConsultFaqOut(Schema):
    """Only public fields: never the asker."""

    id: int
    question: str
    answer: str
    published_at: datetime.datetime | None
    policy_id: int | None
    policy_title: str
    policy_kind: str

    @staticmethod
    def resolve_question(obj: Consultation) -> str:
        return obj.faq_question

    @staticmethod
    def resolve_policy_id(obj: Consultation) -> int | None:
        return obj.policy_id if _public_policy(obj) else None

    @staticmethod
    def resolve_policy_title(obj: Consultation) -> str:
        return obj.policy.title if _public_policy(obj) and obj.policy is not None else ""

    @staticmethod
    def resolve_policy_kind(obj: Consultation) -> str:
        return obj.policy.kind if _public_policy(obj) and obj.policy is not None else ""


def _public_policy(obj: Consultation) -> bool:
    return obj.policy is not None and obj.policy.status == PolicyStatus.PUBLISHED


class ConsultFaqFilter(Schema):
    q: str | None = Field(None, max_length=100, description="Words in the question or answer")
    kind: str | None = Field(None, max_length=24, description="The linked policy's kind, e.g. risk_compensation")


def _consultation(user: Any, pk: int) -> Consultation:
    require(user, Consultation, Action.VIEW)
    try:
        return selectors.consultation_get(user=user, pk=pk)
    except Consultation.DoesNotExist as exc:
        raise Http404(Consultation._meta.verbose_name) from exc


@router.get(
    "/portal/consultations",
    response={200: list[ConsultOut], **error_responses(403)},
    summary="Policy consultations (政策咨询): an enterprise's own, an office's queue; filter by status, q",
)
@paginate(Paginated)
def consultation_list(request: HttpRequest, filters: Query[ConsultFilter]) -> QuerySet[Consultation]:
    user = caller(request)
    require(user, Consultation, Action.VIEW)
    return selectors.consultation_list(user=user, filters=filters.model_dump())


@router.post(
    "/portal/consultations",
    response={201: ConsultOut, **WRITE_ERRORS},
    summary="Ask a policy question (an enterprise user); routed to the policy's owner or the local IP office",
)
def consultation_create(request: HttpRequest, payload: ConsultCreateIn) -> Status[Consultation]:
    user = caller(request)
    require(user, Consultation, Action.ADD)
    policy = None
    if payload.policy_id is not None:
        policy = resolve(
            Policy, user=user, action=Action.VIEW, field="policy_id", label_en="Policy", pk=payload.policy_id
        )
    try:
        consultation = services.consultation_create(
            actor=user, subject=payload.subject, question=payload.question, policy=policy
        )
    except PermissionDenied as exc:
        raise ApiError(403, "forbidden", str(exc), "Only enterprise users may ask.") from exc
    except ValidationError as exc:
        if hasattr(exc, "error_dict") and "policy" in exc.error_dict:
            exc.error_dict["policy_id"] = exc.error_dict.pop("policy")
        raise
    return Status(201, selectors.consultation_get(user=user, pk=consultation.pk))


@router.get(
    "/portal/consultations/{consultation_id}",
    response={200: ConsultOut, **READ_ERRORS},
    summary="One consultation",
)
def consultation_detail(request: HttpRequest, consultation_id: int = ConsultationId) -> Consultation:
    return _consultation(caller(request), consultation_id)


@router.post(
    "/portal/consultations/{consultation_id}/answer",
    response={200: ConsultOut, **WRITE_ERRORS},
    summary="Answer (or correct the answer) as the office it was routed to; optionally publish it in the FAQ",
)
def consultation_answer(
    request: HttpRequest, payload: ConsultAnswerIn, consultation_id: int = ConsultationId
) -> Consultation:
    user = caller(request)
    consultation = _consultation(user, consultation_id)
    require(user, Consultation, Action.CHANGE)
    services.consultation_answer(
        actor=user,
        consultation=consultation,
        answer=payload.answer,
        publish=payload.publish,
        faq_question=payload.faq_question,
        expected_version=payload.version,
    )
    return _consultation(user, consultation_id)


@router.get(
    "/portal/faq",
    auth=None,
    response={200: list[ConsultFaqOut], **error_responses()},
    summary="The public FAQ (常见问题, no login): published answers with the reworded questions",
)
@paginate(Paginated)
def faq_list(request: HttpRequest, filters: Query[ConsultFaqFilter]) -> QuerySet[Consultation]:
    return selectors.public_faq(q=filters.q or "", kind=filters.kind or "")
