"""Correction (补正): the examiner asks, the filer cures and resubmits (clock restarts), or the deadline lapses."""

from __future__ import annotations

import datetime
import json

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.registration.choices import Decision, FilingStatus
from ipledge.registration.engine.workdays import WorkingCalendar
from ipledge.registration.services import corrections_expire, filing_confirm, filing_decide, filing_resubmit
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


@pytest.fixture
def correction(world):  # type: ignore[no-untyped-def]
    add_pledges(world)
    filing = world.filings["f2"]  # bank2 for e2's co-owned r2, awaiting the pledgor
    filing_confirm(filing=filing, acting_user=world.user("ent2"))
    filing_decide(
        filing=filing,
        decision=Decision.REQUEST_CORRECTION,
        note="履行期限有误",
        acting_user=world.user("ipo_js", Role.REVIEWER),
    )
    filing.refresh_from_db()
    assert filing.status == FilingStatus.CORRECTION_REQUESTED
    return filing


def test_resubmission_restarts_the_clock_and_is_examined_again(world, correction):
    later = WorkingCalendar.from_csv().add_working_days(correction.submitted_on, 3)
    new_end = correction.performance_end + datetime.timedelta(days=30)
    with as_of(later):
        filing_resubmit(filing=correction, acting_user=world.user("bank2"), changes={"performance_end": new_end})
    correction.refresh_from_db()
    assert correction.status == FilingStatus.SUBMITTED
    assert correction.submitted_on == later and correction.due_on > later
    assert correction.performance_end == new_end and correction.correction_due_on is None
    event = AuditEvent.objects.get(action="pledge_filing.resubmit", object_id=str(correction.pk))
    assert event.changes["fields"]["performance_end"]["new"] == new_end.isoformat()


def test_only_the_filer_resubmits_and_only_when_asked(world, correction):
    with pytest.raises(PermissionDenied):
        filing_resubmit(filing=correction, acting_user=world.user("bank1"))
    filing_resubmit(filing=correction, acting_user=world.user("bank2"))
    with pytest.raises(ValidationError) as excinfo:
        filing_resubmit(filing=correction, acting_user=world.user("bank2"))
    assert excinfo.value.error_dict["status"][0].code == "not_correction_requested"


def test_overdue_corrections_are_deemed_withdrawn(world, correction):
    assert corrections_expire(today=correction.correction_due_on) == 0
    after = correction.correction_due_on + datetime.timedelta(days=1)
    with as_of(after), pytest.raises(ValidationError):
        filing_resubmit(filing=correction, acting_user=world.user("bank2"))
    assert corrections_expire(today=after) == 1
    correction.refresh_from_db()
    assert correction.status == FilingStatus.WITHDRAWN
    assert AuditEvent.objects.filter(action="pledge_filing.correction_overdue").count() == 1


def test_resubmit_page_and_api(world, correction):
    client = Client()
    client.force_login(world.user("bank2"))
    page = client.get(reverse("registration:filing_detail", args=[correction.pk]))
    assert "提交补正" in page.content.decode()
    other = Client()
    other.force_login(world.user("bank1"))
    assert other.post(reverse("registration:filing_resubmit", args=[correction.pk])).status_code == 404
    response = client.post(
        f"/api/v1/pledge-filings/{correction.pk}/resubmit",
        json.dumps({"claim_amount": "6000000.00"}),
        content_type="application/json",
    )
    assert response.status_code == 200, response.content
    assert response.json()["status"] == "submitted"
    correction.refresh_from_db()
    assert str(correction.claim_amount.amount) == "6000000.00"


def test_resubmit_form_posts_corrected_data(world, correction):
    client = Client()
    client.force_login(world.user("bank2"))
    data = {
        "claim_amount": "4500000",
        "performance_start": correction.performance_start.isoformat(),
        "performance_end": correction.performance_end.isoformat(),
        "guarantee_scope": "主债权及利息",
        "contract_no": "ZY-FIX-1",
    }
    response = client.post(reverse("registration:filing_resubmit", args=[correction.pk]), data)
    assert response.status_code == 302
    correction.refresh_from_db()
    assert correction.status == FilingStatus.SUBMITTED and correction.contract_no == "ZY-FIX-1"
