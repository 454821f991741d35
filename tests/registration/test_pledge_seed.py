"""Demo pledge history goes through the real services: examined, audited, consistent registrations."""

import pytest

from ipledge.core.models import AuditEvent
from ipledge.registration.choices import FilingStatus
from ipledge.registration.models import PledgedRight, PledgeFiling, PledgeRegistration
from ipledge.registration.seeding import seed_pledges
from ipledge.registry.seeding import seed_database

pytestmark = pytest.mark.django_db


def test_seeded_pledges_are_examined_registered_and_audited():
    seed_database(scale="tiny", seed=7)
    report = seed_pledges(count=30, seed=7)
    assert report.filings == PledgeFiling.objects.filter(filing_type="registration").count() > 0
    registered = PledgeFiling.objects.filter(filing_type="registration", status=FilingStatus.REGISTERED)
    assert registered.count() == report.registered == PledgeRegistration.objects.count()
    for filing in registered:
        assert not filing.findings.filter(severity="refuse").exists()
        assert filing.created_registration.registered_on == filing.decided_at.date()
        assert filing.submitted_on <= filing.created_registration.registered_on
    # one active pledge per right, and cancelled registrations released their rights
    assert PledgedRight.objects.filter(is_active=True, registration__status="cancelled").count() == 0
    assert AuditEvent.objects.filter(action="pledge_filing.register").count() == report.registered + report.cancelled
