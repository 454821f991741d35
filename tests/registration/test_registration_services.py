"""Pledge registration services: filing → pledgor confirmation → examination → decision → cancellation."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.registration.choices import CancellationReason, Decision, DocumentType, FilingStatus
from ipledge.registration.models import PledgedRight, PledgeRegistration
from ipledge.registration.services import (
    cancellation_file,
    document_add,
    filing_confirm,
    filing_create,
    filing_decide,
    filing_withdraw,
    public_registration_lookup,
)
from ipledge.registry.services import ip_right_update
from tests.world import PDF_BYTES, add_pledges

pytestmark = pytest.mark.django_db


def _terms() -> dict:
    today = timezone.localdate()
    return {
        "claim_amount": Money("3000000"),
        "performance_start": today,
        "performance_end": today + datetime.timedelta(days=365),
        "guarantee_scope": "主债权及利息",
    }


def test_registered_pledge_has_number_announcement_and_audit(world):
    add_pledges(world)
    f1 = world.filings["f1"]
    f1.refresh_from_db()
    assert f1.status == FilingStatus.REGISTERED
    registration = f1.created_registration
    assert registration.registration_no.startswith(f"Y{timezone.localdate().year}98")
    assert len(registration.registration_no) == 14
    assert PledgedRight.objects.get(registration=registration).ip_right == world.rights["r1"]
    actions = set(AuditEvent.objects.filter(object_id=str(f1.pk)).values_list("action", flat=True))
    assert {"pledge_filing.create", "pledge_filing.confirm", "pledge_filing.register"} <= actions
    [row] = public_registration_lookup(number=world.rights["r1"].number)
    assert set(row) >= {"pledgor", "pledgee", "main_ipc", "right_number", "grant_date", "registered_on"}
    assert row["pledgee"] == "北京银行中关村科技支行"
    assert (
        public_registration_lookup(number=registration.registration_no)[0]["right_number"] == world.rights["r1"].number
    )


def test_second_pledge_of_a_pledged_right_is_refused_with_the_rule(world):
    add_pledges(world)
    filing = filing_create(
        pledgor=world.enterprises["e1"],
        pledgee=world.orgs["bank1_br2"],
        items=[{"ip_right": world.rights["r1"]}],
        acting_user=world.user("bank1_br2"),
        **_terms(),
    )
    document_add(
        filing=filing,
        doc_type=DocumentType.CONTRACT,
        filename="c.pdf",
        content=PDF_BYTES,
        acting_user=world.user("bank1_br2"),
    )
    document_add(
        filing=filing,
        doc_type=DocumentType.IDENTITY,
        filename="id.pdf",
        content=PDF_BYTES,
        acting_user=world.user("bank1_br2"),
    )
    filing_confirm(filing=filing, acting_user=world.user("ent1"))
    assert "already_pledged" in set(filing.findings.values_list("rule", flat=True))
    with pytest.raises(ValidationError) as excinfo:
        filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=world.user("ipo_bj", Role.REVIEWER))
    assert "already_pledged" in [e.code for e in excinfo.value.error_list]
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED
    assert PledgedRight.objects.filter(ip_right=world.rights["r1"], is_active=True).count() == 1


def test_only_the_pledgor_confirms_and_only_the_examining_office_decides(world):
    add_pledges(world)
    f2 = world.filings["f2"]
    with pytest.raises(PermissionDenied):
        filing_confirm(filing=f2, acting_user=world.user("ent1"))
    filing_confirm(filing=f2, acting_user=world.user("ent2"))
    with pytest.raises(PermissionDenied):
        filing_decide(filing=f2, decision=Decision.REGISTER, acting_user=world.user("ipo_bj", Role.REVIEWER))
    with pytest.raises(PermissionDenied):
        filing_decide(filing=f2, decision=Decision.REGISTER, acting_user=world.user("ipo_js", Role.OPERATOR))
    filing_decide(filing=f2, decision=Decision.REGISTER, acting_user=world.user("ipo_js", Role.REVIEWER))
    f2.refresh_from_db()
    assert f2.status == FilingStatus.REGISTERED
    assert f2.turnaround_working_days == 0
    assert f2.due_on is not None and f2.due_on > f2.submitted_on


def test_correction_then_refusal_need_reasons(world):
    add_pledges(world)
    f2 = world.filings["f2"]
    filing_confirm(filing=f2, acting_user=world.user("ent2"))
    examiner = world.user("ipo_js", Role.REVIEWER)
    with pytest.raises(ValidationError):
        filing_decide(filing=f2, decision=Decision.REFUSE, acting_user=examiner)
    filing_decide(filing=f2, decision=Decision.REQUEST_CORRECTION, note="请补充身份证明", acting_user=examiner)
    f2.refresh_from_db()
    assert f2.status == FilingStatus.CORRECTION_REQUESTED and f2.correction_due_on is not None


def test_bank_cannot_file_for_another_banks_pledgee(world):
    with pytest.raises(ValidationError) as excinfo:
        filing_create(
            pledgor=world.enterprises["e1"],
            pledgee=world.orgs["bank2"],
            items=[{"ip_right": world.rights["r1"]}],
            acting_user=world.user("bank1"),
            **_terms(),
        )
    assert "pledgee" in excinfo.value.message_dict
    with pytest.raises(PermissionDenied):
        filing_create(
            pledgor=world.enterprises["e1"],
            pledgee=world.orgs["bank1"],
            items=[{"ip_right": world.rights["r1"]}],
            acting_user=world.user("park1"),
            **_terms(),
        )


def test_cancellation_releases_the_right_for_a_new_pledge(world):
    add_pledges(world)
    registration = world.filings["f1"].created_registration
    cancel = cancellation_file(
        registration=registration, reason=CancellationReason.REPAID, acting_user=world.user("bank1_sub")
    )
    filing_decide(filing=cancel, decision=Decision.REGISTER, acting_user=world.user("ipo_bj", Role.REVIEWER))
    registration.refresh_from_db()
    assert registration.status == "cancelled" and registration.cancelled_on == timezone.localdate()
    assert not PledgedRight.objects.filter(ip_right=world.rights["r1"], is_active=True).exists()
    assert public_registration_lookup(number=registration.registration_no)[0]["status"] == "cancelled"


def test_withdraw_only_open_filings(world):
    add_pledges(world)
    f2 = world.filings["f2"]
    filing_withdraw(filing=f2, acting_user=world.user("bank2"))
    f2.refresh_from_db()
    assert f2.status == FilingStatus.WITHDRAWN
    with pytest.raises(ValidationError):
        filing_withdraw(filing=f2, acting_user=world.user("bank2"))


@pytest.mark.parametrize(
    ("filename", "content", "rule"),
    [
        ("contract.pdf", b"MZ\x90\x00 not a pdf", "content_mismatch"),
        ("contract.exe", b"MZ", "file_type"),
        ("contract.pdf", b"", "empty"),
        ("../../etc/passwd.pdf", PDF_BYTES, None),
    ],
)
def test_document_checks(world, filename, content, rule):
    add_pledges(world)
    f2 = world.filings["f2"]
    if rule is None:
        document = document_add(
            filing=f2, doc_type=DocumentType.OTHER, filename=filename, content=content, acting_user=world.user("bank2")
        )
        assert document.original_name == "passwd.pdf"
        assert ".." not in document.file.name and document.file.name.startswith("filings/")
        return
    with pytest.raises(ValidationError) as excinfo:
        document_add(
            filing=f2,
            doc_type=DocumentType.CONTRACT,
            filename=filename,
            content=content,
            acting_user=world.user("bank2"),
        )
    assert excinfo.value.message_dict["file"] and excinfo.value.error_dict["file"][0].code == rule


def test_lapsed_patent_is_refused_with_its_rule(world):
    ip_right_update(right=world.rights["r1"], data={"legal_status": "lapsed"}, acting_user=None)
    filing = filing_create(
        pledgor=world.enterprises["e1"],
        pledgee=world.orgs["bank1"],
        items=[{"ip_right": world.rights["r1"]}],
        acting_user=world.user("bank1"),
        **_terms(),
    )
    filing_confirm(filing=filing, acting_user=world.user("ent1"))
    assert "right_terminated" in set(filing.findings.values_list("rule", flat=True))
    assert not PledgeRegistration.objects.exists()


def test_registration_numbers_are_sequential(world):
    from ipledge.registration.services import next_registration_no

    day = datetime.date(2026, 3, 1)
    assert next_registration_no(on=day) == "Y2026980000001"
    assert next_registration_no(on=day) == "Y2026980000002"
    assert next_registration_no(on=datetime.date(2027, 1, 4)) == "Y2027980000001"
