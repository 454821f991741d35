"""Reads of the consultation pages and API (政策咨询) and of the public FAQ (常见问题).

Signed-in reads start from `restrict()`: an enterprise sees its own consultations, an office the ones routed to it
(and a government body those of its region); anything else answers 404 like a missing one. The FAQ is public and
selects explicitly only published answers, and exposes only the reworded question and the answer (never the asker).
"""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet

from ipledge.core.models import User
from ipledge.core.scoping import Action

from .choices import ConsultationStatus, PolicyKind, PolicyStatus
from .models import Consultation

FAQ_FIELDS = ("pk", "faq_question", "answer", "published_at", "policy_id", "policy__title", "policy__kind")


def consultation_list(*, user: User, filters: dict[str, Any] | None = None) -> QuerySet[Consultation]:
    qs = Consultation.objects.restrict(user, Action.VIEW).select_related("enterprise", "policy", "routed_to")
    filters = filters or {}
    status = filters.get("status")
    if status in ConsultationStatus.values:
        qs = qs.filter(status=status)
    q = (filters.get("q") or "").strip()
    if q:
        qs = qs.filter(Q(subject__icontains=q) | Q(question__icontains=q) | Q(reference__iexact=q))
    return qs


def consultation_get(*, user: User, pk: int, action: str = Action.VIEW) -> Consultation:
    """The consultation if the user may reach it for the action; `Consultation.DoesNotExist` otherwise."""
    return (
        Consultation.objects.restrict(user, action)
        .select_related("enterprise", "policy", "routed_to", "answered_by", "asked_by")
        .get(pk=pk)
    )


def may(user: User, consultation: Consultation, action: str) -> bool:
    return Consultation.objects.restrict(user, action).filter(pk=consultation.pk).exists()


def public_faq(*, q: str = "", kind: str = "") -> QuerySet[Consultation]:
    """Published answers only; `q` searches the public question and answer, `kind` the linked policy's kind."""
    qs = Consultation.objects.filter(is_public=True, status=ConsultationStatus.ANSWERED).select_related("policy")
    q = (q or "").strip()
    if q:
        for word in q.split()[:5]:
            qs = qs.filter(Q(faq_question__icontains=word) | Q(answer__icontains=word))
    if kind in PolicyKind.values:
        qs = qs.filter(policy__kind=kind)
    return qs.order_by("-published_at", "-pk")


def faq_entries(qs: QuerySet[Consultation]) -> list[dict[str, Any]]:
    """Only the public fields of each FAQ entry: the asker never leaves this module."""
    return [
        {
            "id": c.pk,
            "question": c.faq_question,
            "answer": c.answer,
            "published_at": c.published_at,
            "policy_id": c.policy_id if c.policy is not None and c.policy.status == PolicyStatus.PUBLISHED else None,
            "policy_title": c.policy.title
            if c.policy is not None and c.policy.status == PolicyStatus.PUBLISHED
            else "",
            "policy_kind": c.policy.kind if c.policy is not None and c.policy.status == PolicyStatus.PUBLISHED else "",
        }
        for c in qs
    ]


def faq_groups(entries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Entries grouped by the linked policy's kind (in the order of `PolicyKind`), general questions last."""
    labels = dict(PolicyKind.choices)
    groups: dict[str, list[dict[str, Any]]] = {}
    for entry in entries:
        groups.setdefault(entry["policy_kind"] or "", []).append(entry)
    ordered = [k for k in PolicyKind.values if k in groups] + ([""] if "" in groups else [])
    return [{"kind": k, "label": labels.get(k, ""), "entries": groups[k]} for k in ordered]
