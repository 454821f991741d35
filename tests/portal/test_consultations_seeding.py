"""The demo consultations and service requests: written through the services, in every state, idempotent."""

from __future__ import annotations

import datetime

import pytest

from ipledge.portal.choices import ConsultationStatus, ServiceRequestStatus
from ipledge.portal.models import Consultation, ServiceRequest
from ipledge.portal.seeding_consultations import seed_consultations

pytestmark = pytest.mark.django_db


def test_seed_is_idempotent_and_covers_the_states(world) -> None:  # type: ignore[no-untyped-def]
    today = datetime.date(2026, 3, 1)
    first = seed_consultations(today=today)
    assert first["consultations"] > 0 and first["service_requests"] > 0
    statuses = set(Consultation.objects.values_list("status", flat=True))
    assert statuses == {ConsultationStatus.OPEN, ConsultationStatus.ANSWERED, ConsultationStatus.CLOSED}
    public = Consultation.objects.filter(is_public=True)
    assert public.exists()
    for c in public:
        assert c.faq_question and c.enterprise.name not in c.faq_question
    assert set(ServiceRequest.objects.values_list("status", flat=True)) == set(ServiceRequestStatus.values)
    assert all(r.reference.startswith("FW2026") for r in ServiceRequest.objects.all())
    total = (Consultation.objects.count(), ServiceRequest.objects.count())
    second = seed_consultations(today=today)
    assert second["consultations"] == 0 and second["service_requests"] == 0
    assert (Consultation.objects.count(), ServiceRequest.objects.count()) == total
