"""Change filings (变更登记): the pledgee files new values, the examiner registers them, the registration carries
them with the audit old → new; other banks, viewers and runs past a patent's term are refused."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.registration.choices import Decision, DocumentType, FilingStatus, FilingType, RegistrationStatus
from ipledge.registration.models import PledgeFiling, PledgeRegistration
from ipledge.registration.services import change_file, document_add, filing_decide
from ipledge.registry.models import IPRight
from tests.api_helpers import assert_error, send, session_client
from tests.world import PDF_BYTES, World, add_pledges

pytestmark = pytest.mark.django_db


@pytest.fixture
def pledged(world: World) -> World:
    return add_pledges(world)


def _registration(w: World) -> PledgeRegistration:
    return PledgeRegistration.objects.get(filing=w.filings["f1"])


def test_bank_files_change_examiner_registers_and_the_registration_carries_the_new_values(pledged):
    w = pledged
    registration = _registration(w)
    old_end = registration.performance_end
    assert old_end is not None
    new_end = old_end + datetime.timedelta(days=365)
    bank = w.user("bank1_sub")
    filing = change_file(
        registration=registration,
        acting_user=bank,
        claim_amount=Money("8000000.00"),
        performance_end=new_end,
        change_description="依据变更协议增加主债权并延长履行期限",
    )
    assert filing.filing_type == FilingType.CHANGE and filing.status == FilingStatus.SUBMITTED
    assert filing.registration == registration and filing.due_on is not None and filing.submitted_on is not None
    assert filing.claim_amount == Money("8000000.00") and filing.performance_end == new_end
    document_add(
        filing=filing, doc_type=DocumentType.CONTRACT, filename="变更协议.pdf", content=PDF_BYTES, acting_user=bank
    )
    registration.refresh_from_db()
    assert registration.claim_amount == Money("5000000")  # nothing applies before the decision
    assert AuditEvent.objects.filter(action="pledge_filing.change", object_id=str(filing.pk)).exists()

    filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=w.user("ipo_bj", Role.REVIEWER))
    filing.refresh_from_db()
    registration.refresh_from_db()
    assert filing.status == FilingStatus.REGISTERED and filing.turnaround_working_days is not None
    assert registration.claim_amount == Money("8000000.00") and registration.performance_end == new_end
    assert registration.status == RegistrationStatus.ACTIVE
    event = AuditEvent.objects.get(action="pledge_registration.change", object_id=str(registration.pk))
    assert event.changes["fields"] == {
        "claim_amount": {"old": "5000000.00", "new": "8000000.00"},
        "performance_end": {"old": old_end.isoformat(), "new": new_end.isoformat()},
    }
    assert event.changes["extra"]["filing"] == filing.pk


def test_change_of_one_value_leaves_the_other_as_registered(pledged):
    w = pledged
    registration = _registration(w)
    old_end = registration.performance_end
    filing = change_file(
        registration=registration,
        acting_user=w.user("bank1_sub"),
        claim_amount=Money("6000000"),
        change_description="增加主债权",
    )
    filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=w.user("ipo_bj", Role.REVIEWER))
    registration.refresh_from_db()
    assert registration.claim_amount == Money("6000000") and registration.performance_end == old_end


def test_change_needs_a_new_value_and_a_description(pledged):
    w = pledged
    registration = _registration(w)
    bank = w.user("bank1_sub")
    with pytest.raises(ValidationError) as exc:
        change_file(
            registration=registration,
            acting_user=bank,
            claim_amount=registration.claim_amount,  # the registered value: no change
            change_description="无变化",
        )
    assert exc.value.error_dict["claim_amount"][0].code == "no_change"
    with pytest.raises(ValidationError) as exc:
        change_file(registration=registration, acting_user=bank, claim_amount=Money("1"), change_description="  ")
    assert exc.value.error_dict["change_description"][0].code == "required"
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()


def test_second_open_follow_up_is_refused(pledged):
    w = pledged
    registration = _registration(w)
    bank = w.user("bank1_sub")
    change_file(registration=registration, acting_user=bank, claim_amount=Money("6000000"), change_description="a")
    with pytest.raises(ValidationError) as exc:
        change_file(registration=registration, acting_user=bank, claim_amount=Money("7000000"), change_description="b")
    assert exc.value.error_dict["registration"][0].code == "follow_up_pending"


def test_change_past_the_patent_term_is_refused_with_the_rule(pledged):
    w = pledged
    registration = _registration(w)
    term_end = IPRight.objects.get(pk=w.rights["r1"].pk).term_end
    assert term_end is not None
    with pytest.raises(ValidationError) as exc:
        change_file(
            registration=registration,
            acting_user=w.user("bank1_sub"),
            performance_end=term_end + datetime.timedelta(days=1),
            change_description="展期",
        )
    assert [e.code for e in exc.value.error_dict["performance_end"]] == ["term_before_performance_end"]
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()


def test_term_is_examined_again_when_deciding(pledged):
    """The register may change between filing and decision: the examiner's register is refused then."""
    w = pledged
    registration = _registration(w)
    assert registration.performance_end is not None
    new_end = registration.performance_end + datetime.timedelta(days=400)
    filing = change_file(
        registration=registration, acting_user=w.user("bank1_sub"), performance_end=new_end, change_description="展期"
    )
    # A correction of the register moves the patent's term before the new end (e.g. a term-end entry corrected).
    IPRight.objects.filter(pk=w.rights["r1"].pk).update(term_end=new_end - datetime.timedelta(days=1))
    with pytest.raises(ValidationError) as exc:
        filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=w.user("ipo_bj", Role.REVIEWER))
    assert [e.code for e in exc.value.error_dict["performance_end"]] == ["term_before_performance_end"]
    filing.refresh_from_db()
    registration.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED and registration.performance_end != new_end
    assert not AuditEvent.objects.filter(action="pledge_registration.change").exists()


def test_change_of_a_cancelled_registration_is_refused_at_decision(pledged):
    from ipledge.registration.services import cancellation_file

    w = pledged
    registration = _registration(w)
    reviewer = w.user("ipo_bj", Role.REVIEWER)
    change = change_file(
        registration=registration, acting_user=w.user("bank1_sub"), claim_amount=Money("1"), change_description="x"
    )
    # A cancellation filed on paper at the window while the change waits (the service does not see the UI's guard).
    PledgeFiling.objects.filter(pk=change.pk).update(status=FilingStatus.CORRECTION_REQUESTED)
    cancel = cancellation_file(registration=registration, reason="repaid", acting_user=w.user("bank1_sub"))
    filing_decide(filing=cancel, decision=Decision.REGISTER, acting_user=reviewer)
    PledgeFiling.objects.filter(pk=change.pk).update(status=FilingStatus.SUBMITTED)
    change.refresh_from_db()
    with pytest.raises(ValidationError) as exc:
        filing_decide(filing=change, decision=Decision.REGISTER, acting_user=reviewer)
    assert exc.value.error_dict["registration"][0].code == "already_cancelled"


@pytest.mark.parametrize(
    ("org", "role"),
    [("bank2", Role.OPERATOR), ("bank1_br2", Role.OPERATOR), ("bank1_sub", Role.VIEWER), ("ent1", Role.OPERATOR)],
)
def test_only_the_pledgee_operators_file_a_change(pledged, org, role):
    w = pledged
    with pytest.raises(PermissionDenied):
        change_file(
            registration=_registration(w),
            acting_user=w.user(org, role),
            claim_amount=Money("6000000"),
            change_description="x",
        )
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()


def test_head_office_of_the_pledgee_files_a_change(pledged):
    w = pledged
    filing = change_file(
        registration=_registration(w), acting_user=w.user("bank1"), claim_amount=Money("6"), change_description="x"
    )
    assert filing.filed_by_org == w.orgs["bank1"]


# Pages


def test_change_through_the_pages(client, pledged):
    w = pledged
    registration = _registration(w)
    assert registration.performance_end is not None
    new_end = registration.performance_end + datetime.timedelta(days=100)
    client.force_login(w.user("bank1_sub"))
    page = client.get(reverse("registration:registration_detail", args=[registration.pk]))
    assert page.status_code == 200 and b'class="change-form"' in page.content
    response = client.post(
        reverse("registration:registration_change", args=[registration.pk]),
        {"claim_amount": "7500000.00", "performance_end": new_end.isoformat(), "change_description": "展期并增额"},
    )
    filing = PledgeFiling.objects.get(filing_type=FilingType.CHANGE)
    assert response.status_code == 302 and response["Location"] == reverse(
        "registration:filing_detail", args=[filing.pk]
    )
    upload = client.post(
        reverse("registration:document_upload", args=[filing.pk]),
        {"doc_type": DocumentType.CONTRACT, "file": SimpleUploadedFile("变更协议.pdf", PDF_BYTES)},
    )
    assert upload.status_code == 302 and filing.documents.count() == 1
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk])).content.decode()
    assert "5,000,000.00" in detail and "7,500,000.00" in detail and new_end.isoformat() in detail
    # The form is hidden while the change is open.
    again = client.get(reverse("registration:registration_detail", args=[registration.pk]))
    assert b'class="change-form"' not in again.content

    client.force_login(w.user("ipo_bj", Role.REVIEWER))
    queue = client.get(reverse("registration:examination_queue")).content.decode()
    assert reverse("registration:filing_detail", args=[filing.pk]) in queue
    decided = client.post(reverse("registration:filing_decide", args=[filing.pk]), {"decision": "register"})
    assert decided.status_code == 302
    registration.refresh_from_db()
    assert registration.claim_amount == Money(Decimal("7500000.00")) and registration.performance_end == new_end
    # After registration the filing still shows what was registered before (old → new).
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk])).content.decode()
    assert "5,000,000.00" in detail and "7,500,000.00" in detail


def test_change_page_errors_name_the_field(client, pledged):
    w = pledged
    registration = _registration(w)
    client.force_login(w.user("bank1_sub"))
    url = reverse("registration:registration_change", args=[registration.pk])
    empty = client.post(url, {"change_description": "x"})
    assert empty.status_code == 200 and "至少须变更" in empty.content.decode()
    term_end = IPRight.objects.get(pk=w.rights["r1"].pk).term_end
    assert term_end is not None
    late = client.post(
        url, {"performance_end": (term_end + datetime.timedelta(days=10)).isoformat(), "change_description": "x"}
    )
    assert late.status_code == 200 and "保护期届满日" in late.content.decode()
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()


@pytest.mark.parametrize(("org", "role"), [("bank2", Role.OPERATOR), ("bank1_sub", Role.VIEWER)])
def test_change_page_answers_404_to_others(client, pledged, org, role):
    w = pledged
    registration = _registration(w)
    client.force_login(w.user(org, role))
    response = client.post(
        reverse("registration:registration_change", args=[registration.pk]),
        {"claim_amount": "6000000", "change_description": "x"},
    )
    assert response.status_code == 404
    if org == "bank1_sub":
        page = client.get(reverse("registration:registration_detail", args=[registration.pk]))
        assert page.status_code == 200 and b'class="change-form"' not in page.content
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()


# API


def test_change_through_the_api(pledged):
    w = pledged
    registration = _registration(w)
    bank = session_client(w.user("bank1_sub"))
    response = send(
        bank,
        "post",
        f"/pledge-registrations/{registration.pk}/changes",
        {"claim_amount": "6500000.00", "change_description": "增额"},
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert body["filing_type"] == "change" and body["status"] == "submitted"
    assert body["claim_amount"] == "6500000.00" and body["registration_id"] == registration.pk
    assert body["change_description"] == "增额"
    examiner = session_client(w.user("ipo_bj", Role.REVIEWER))
    decided = send(examiner, "post", f"/pledge-filings/{body['id']}/decision", {"decision": "register"})
    assert decided.status_code == 200, decided.content
    shown = send(bank, "get", f"/pledge-registrations/{registration.pk}")
    assert shown.json()["claim_amount"] == "6500000.00"


def test_change_api_refusals(pledged):
    w = pledged
    registration = _registration(w)
    path = f"/pledge-registrations/{registration.pk}/changes"
    other_bank = send(session_client(w.user("bank2")), "post", path, {"claim_amount": "1", "change_description": "x"})
    assert other_bank.status_code == 404
    viewer = send(
        session_client(w.user("bank1_sub", Role.VIEWER)), "post", path, {"claim_amount": "1", "change_description": "x"}
    )
    assert viewer.status_code == 403
    term_end = IPRight.objects.get(pk=w.rights["r1"].pk).term_end
    assert term_end is not None
    late = send(
        session_client(w.user("bank1_sub")),
        "post",
        path,
        {"performance_end": (term_end + datetime.timedelta(days=1)).isoformat(), "change_description": "x"},
    )
    assert_error(late, 400, rule="term_before_performance_end", field="performance_end")
    assert not PledgeFiling.objects.filter(filing_type=FilingType.CHANGE).exists()
