"""Pledge registration pages: a bank files a bundle through the form, the enterprise confirms, the examiner
registers from the queue; scoping (404 outside), document downloads, and the public announcement query."""

from __future__ import annotations

import datetime
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registration.choices import DocumentType, FilingStatus
from ipledge.registration.models import FilingDocument, PledgeFiling, PledgeRegistration
from ipledge.registry.models import IPRight
from ipledge.registry.services import ip_right_create, ip_right_update
from tests.world import PDF_BYTES, add_pledges

pytestmark = pytest.mark.django_db


def login(client: Client, world, org: str, role: str = Role.OPERATOR):  # type: ignore[no-untyped-def]
    user = world.user(org, role)
    client.force_login(user)
    return user


def bundle_rights(world) -> list[IPRight]:  # type: ignore[no-untyped-def]
    """e1's patent r1, a second patent and a trademark of e1, all in force with the annual fee paid ahead."""
    paid = timezone.localdate() + datetime.timedelta(days=365)
    ip_right_update(right=world.rights["r1"], data={"annual_fee_paid_until": paid}, acting_user=None)
    owners = [{"enterprise": world.enterprises["e1"], "share": Decimal(100)}]
    patent = ip_right_create(
        kind="patent",
        number=make_patent_number(year=2020, type_digit=1, serial=1234567),
        title="一种图像降噪电路",
        filing_date=datetime.date(2020, 4, 1),
        grant_date=datetime.date(2022, 5, 6),
        main_ipc="H04N5/357",
        annual_fee_paid_until=paid,
        owners=owners,
        acting_user=None,
    )
    mark = ip_right_create(
        kind="trademark",
        number="41234567",
        title="智芯",
        grant_date=datetime.date(2021, 3, 14),
        valid_from=datetime.date(2021, 3, 14),
        term_end=datetime.date(2031, 3, 13),
        nice_classes=[9],
        owners=owners,
        acting_user=None,
    )
    return [IPRight.objects.get(pk=world.rights["r1"].pk), patent, mark]


def filing_post(world, rights: list[IPRight], **overrides: str) -> dict[str, str]:  # type: ignore[no-untyped-def]
    today = timezone.localdate()
    data = {
        "pledgor_uscc": world.enterprises["e1"].uscc,
        "pledgee": str(world.orgs["bank1_sub"].pk),
        "claim_kind": "loan",
        "claim_amount": "5000000.00",
        "performance_start": today.isoformat(),
        "performance_end": (today + datetime.timedelta(days=365)).isoformat(),
        "guarantee_scope": "主债权及利息、违约金和实现质权的费用",
        "contract_no": "ZY-2026-001",
        "channel": "online",
        "items-TOTAL_FORMS": "3",
        "items-INITIAL_FORMS": "0",
        "items-MIN_NUM_FORMS": "0",
        "items-MAX_NUM_FORMS": "10",
    }
    for i, right in enumerate(rights):
        data[f"items-{i}-kind"] = right.kind
        data[f"items-{i}-number"] = right.number
    for i in range(len(rights), 3):
        data[f"items-{i}-kind"] = "patent"
        data[f"items-{i}-number"] = ""
    data.update(overrides)
    return data


def upload(client: Client, filing: PledgeFiling, doc_type: str, name: str = "doc.pdf", content: bytes = PDF_BYTES):
    return client.post(
        reverse("registration:document_upload", args=[filing.pk]),
        {"doc_type": doc_type, "file": SimpleUploadedFile(name, content, content_type="application/pdf")},
    )


def test_bundle_goes_from_form_to_registration(client, world):
    rights = bundle_rights(world)
    login(client, world, "bank1_sub")
    page = client.get(reverse("registration:filing_create"))
    assert page.status_code == 200
    assert "集成电路布图设计目前没有法定的质押登记途径" in page.content.decode()
    pledgees = set(page.context["form"].fields["pledgee"].queryset.values_list("pk", flat=True))
    assert pledgees == {world.orgs["bank1_sub"].pk}  # its own organisation only: nothing above or beside it

    response = client.post(reverse("registration:filing_create"), filing_post(world, rights))
    filing = PledgeFiling.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("registration:filing_detail", args=[filing.pk])
    assert filing.status == FilingStatus.AWAITING_PLEDGOR
    assert sorted(filing.items.values_list("ip_right__number", flat=True)) == sorted(r.number for r in rights)
    assert filing.claim_amount is not None and filing.claim_amount.amount == Decimal("5000000.00")
    for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY):
        assert upload(client, filing, doc_type, f"{doc_type}.pdf").status_code == 302
    assert filing.documents.count() == 2
    # The bank cannot confirm on the enterprise's behalf.
    assert client.post(reverse("registration:filing_confirm", args=[filing.pk])).status_code == 404

    login(client, world, "ent1")
    waiting = client.get(reverse("registration:awaiting_confirmation"))
    assert [row.record.pk for row in waiting.context["table"].paginated_rows] == [filing.pk]
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk]))
    assert detail.context["can_confirm"] and not detail.context["can_decide"]
    assert client.post(reverse("registration:filing_confirm", args=[filing.pk])).status_code == 302
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED and filing.due_on is not None

    login(client, world, "ipo_bj", Role.REVIEWER)
    queue = client.get(reverse("registration:examination_queue"))
    assert queue.status_code == 200
    [row] = list(queue.context["table"].paginated_rows)
    assert row.record.pk == filing.pk and row.record.refusals == 0
    assert row.get_cell("days_left")  # working days left, rendered as a badge
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk]))
    assert detail.context["can_decide"]
    response = client.post(reverse("registration:filing_decide", args=[filing.pk]), {"decision": "register"})
    assert response.status_code == 302
    filing.refresh_from_db()
    assert filing.status == FilingStatus.REGISTERED
    registration = PledgeRegistration.objects.get(filing=filing)
    assert registration.pledged_rights.count() == 3
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk]))
    assert reverse("registration:registration_detail", args=[registration.pk]) in detail.content.decode()

    # The pledgee sees the registration, downloads the notice and may file the cancellation.
    login(client, world, "bank1_sub")
    page = client.get(reverse("registration:registration_detail", args=[registration.pk]))
    assert page.status_code == 200 and page.context["can_cancel"]
    notice = client.get(reverse("registration:registration_notice", args=[registration.pk]))
    assert notice.status_code == 200
    assert notice["Content-Disposition"].startswith("attachment")
    assert notice.content[:2] == b"PK"
    response = client.post(reverse("registration:registration_cancel", args=[registration.pk]), {"reason": "repaid"})
    cancellation = PledgeFiling.objects.get(filing_type="cancellation")
    assert response.status_code == 302 and cancellation.registration == registration
    assert cancellation.status == FilingStatus.SUBMITTED


def test_form_names_the_wrong_right_number_and_unknown_uscc(client, world):
    rights = bundle_rights(world)
    login(client, world, "bank1_sub")
    body, check = rights[1].number.split(".")
    wrong = f"{body}.{(int(check) + 1) % 10 if check != 'X' else 0}"
    unknown = make_uscc(region_code="110108", serial=987654)
    data = filing_post(world, rights[:2], pledgor_uscc=unknown, **{"items-1-number": wrong})
    response = client.post(reverse("registration:filing_create"), data)
    assert response.status_code == 200
    assert not PledgeFiling.objects.exists()
    form = response.context["form"]
    assert "平台登记簿中没有该统一社会信用代码的企业" in " ".join(form.errors["pledgor_uscc"])
    formset = response.context["formset"]
    assert not formset.forms[0].errors  # the right row that was correct carries no error
    assert "校验" in " ".join(formset.forms[1].errors["number"])  # the wrong row names the check-digit rule
    html = response.content.decode()
    assert 'data-field="items-1-number"' in html  # shown next to the row's number field
    assert wrong in html  # what the user typed is kept

    # A well-formed number that is not in the registry is named too.
    missing = make_patent_number(year=2018, type_digit=1, serial=7654321)
    data = filing_post(world, rights[:1], **{"items-0-number": missing})
    response = client.post(reverse("registration:filing_create"), data)
    assert "登记簿中没有号码为" in " ".join(response.context["formset"].forms[0].errors["number"])
    # An empty bundle is refused by name.
    response = client.post(reverse("registration:filing_create"), filing_post(world, []))
    assert "至少需要一项出质的知识产权" in response.content.decode()
    assert not PledgeFiling.objects.exists()


def test_add_row_keeps_input_without_errors(client, world):
    rights = bundle_rights(world)
    login(client, world, "bank1_sub")
    data = filing_post(world, rights[:1], add_row="1", claim_amount="")
    response = client.post(reverse("registration:filing_create"), data)
    assert response.status_code == 200
    assert response.context["formset"].total_form_count() == 4
    html = response.content.decode()
    assert rights[0].number in html and "invalid-feedback" not in html
    assert not PledgeFiling.objects.exists()


def test_refusing_findings_are_shown_and_block_registration(client, world):
    """A filing without documents is refused by the engine; the examiner sees the rule and cannot register."""
    rights = bundle_rights(world)
    login(client, world, "bank1_sub")
    client.post(reverse("registration:filing_create"), filing_post(world, rights[:1]))
    filing = PledgeFiling.objects.get()
    login(client, world, "ent1")
    client.post(reverse("registration:filing_confirm", args=[filing.pk]))
    login(client, world, "ipo_bj", Role.REVIEWER)
    [row] = list(client.get(reverse("registration:examination_queue")).context["table"].paginated_rows)
    assert row.record.refusals >= 1
    response = client.post(reverse("registration:filing_decide", args=[filing.pk]), {"decision": "register"})
    assert response.status_code == 200
    assert any("申请材料缺少" in e for e in response.context["decision_errors"])
    assert 'data-rule="documents_missing"' in response.content.decode()
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED
    # Refusing needs a reason, named on the note field.
    response = client.post(reverse("registration:filing_decide", args=[filing.pk]), {"decision": "refuse"})
    assert "不予登记时必须说明理由" in " ".join(response.context["decision_form"].errors["note"])
    response = client.post(
        reverse("registration:filing_decide", args=[filing.pk]), {"decision": "refuse", "note": "材料不全"}
    )
    filing.refresh_from_db()
    assert response.status_code == 302 and filing.status == FilingStatus.REFUSED


def test_ic_layout_is_refused_with_its_rule(client, world):
    bundle_rights(world)
    ic = ip_right_create(
        kind="ic_layout",
        number="BS.215012345",
        title="低功耗图像传感芯片布图",
        grant_date=datetime.date(2022, 1, 10),
        owners=[{"enterprise": world.enterprises["e1"], "share": Decimal(100)}],
        acting_user=None,
    )
    login(client, world, "bank1_sub")
    response = client.post(reverse("registration:filing_create"), filing_post(world, [ic]))
    filing = PledgeFiling.objects.get()
    assert response.status_code == 302
    login(client, world, "ent1")
    client.post(reverse("registration:filing_confirm", args=[filing.pk]))
    detail = client.get(reverse("registration:filing_detail", args=[filing.pk]))
    assert 'data-rule="ic_layout_no_registration_route"' in detail.content.decode()


def test_other_organisations_get_404(client, world):
    add_pledges(world)
    f1 = world.filings["f1"]
    registration = PledgeRegistration.objects.get(filing=f1)
    document = FilingDocument.objects.filter(filing=f1).first()
    assert document is not None
    detail = reverse("registration:filing_detail", args=[f1.pk])
    download = reverse("registration:document_download", args=[document.pk])
    for org in ("bank1_sub", "bank1", "ent1", "ipo_bj"):
        login(client, world, org, Role.VIEWER)
        assert client.get(detail).status_code == 200, org
    login(client, world, "ent1")
    response = client.get(download)
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    assert b"".join(response.streaming_content) == PDF_BYTES
    for org in ("bank2", "ent2", "bank1_br2", "ipo_js"):
        login(client, world, org)
        assert client.get(detail).status_code == 404, org
        assert client.get(download).status_code == 404, org
        assert client.get(reverse("registration:registration_detail", args=[registration.pk])).status_code == 404
        assert client.get(reverse("registration:registration_notice", args=[registration.pk])).status_code == 404
        listed = client.get(reverse("registration:filing_list")).context["table"].paginated_rows
        assert f1.pk not in [row.record.pk for row in listed]
    client.logout()
    assert client.get(download).status_code == 302  # to the login page
    # Documents are never reachable under a public media URL.
    assert document.file.url not in client.get(detail).content.decode()


def test_viewer_and_non_examiners_cannot_decide_or_file(client, world):
    add_pledges(world)
    f2 = world.filings["f2"]
    login(client, world, "ent2")
    client.post(reverse("registration:filing_confirm", args=[f2.pk]))
    f2.refresh_from_db()
    assert f2.status == FilingStatus.SUBMITTED
    decide = reverse("registration:filing_decide", args=[f2.pk])
    login(client, world, "ipo_js", Role.VIEWER)
    assert client.get(reverse("registration:filing_detail", args=[f2.pk])).context["can_decide"] is False
    assert client.post(decide, {"decision": "register"}).status_code == 404
    assert client.get(reverse("registration:examination_queue")).status_code == 404
    login(client, world, "bank2", Role.ADMIN)  # may approve in its own bank, but is no examiner
    assert client.post(decide, {"decision": "register"}).status_code == 404
    f2.refresh_from_db()
    assert f2.status == FilingStatus.SUBMITTED
    for org, role in (("ent1", Role.OPERATOR), ("ipo_bj", Role.REVIEWER), ("bank1_sub", Role.VIEWER)):
        login(client, world, org, role)
        assert client.get(reverse("registration:filing_create")).status_code == 404, (org, role)


def test_public_query_shows_only_announcement_fields_without_login(client, world):
    add_pledges(world)
    r1 = world.rights["r1"]
    registration = PledgeRegistration.objects.get(filing=world.filings["f1"])
    response = client.get(reverse("registration:public_query"), {"number": r1.number})
    assert response.status_code == 200
    html = response.content.decode()
    for text in (
        registration.registration_no,
        "北京智芯科技有限公司",
        "北京银行中关村科技支行",
        r1.number,
        "H01L27/146",
    ):
        assert text in html
    assert "5,000,000" not in html and "5000000" not in html  # the claim amount is not published
    assert "主债权及利息" not in html  # nor the guarantee scope
    assert world.enterprises["e1"].uscc not in html
    by_no = client.get(reverse("registration:public_query"), {"number": registration.registration_no})
    assert r1.number in by_no.content.decode()
    none = client.get(reverse("registration:public_query"), {"number": "ZL000"})
    assert "没有查到该号码的质押登记" in none.content.decode()
    login_page = client.get(reverse("login"))
    assert reverse("registration:public_query") in login_page.content.decode()


def test_alert_inbox_marks_read_within_the_organisation(client, world):
    from ipledge.registration.models import Alert

    add_pledges(world)
    registration = PledgeRegistration.objects.get(filing=world.filings["f1"])
    alert = Alert.objects.create(
        organisation=world.orgs["bank1_sub"],
        ip_right=world.rights["r1"],
        registration=registration,
        kind="lapsed",
        severity="critical",
        message="专利权因未缴年费终止。",
        created_on=timezone.localdate(),
    )
    login(client, world, "bank1_sub")
    page = client.get(reverse("registration:alerts"))
    assert [row.record.pk for row in page.context["table"].paginated_rows] == [alert.pk]
    assert registration.registration_no in page.content.decode()
    login(client, world, "bank2")
    assert not list(client.get(reverse("registration:alerts")).context["table"].paginated_rows)
    assert client.post(reverse("registration:alert_read", args=[alert.pk])).status_code == 404
    login(client, world, "bank1_sub", Role.VIEWER)
    assert client.post(reverse("registration:alert_read", args=[alert.pk])).status_code == 404
    login(client, world, "bank1_sub")
    assert client.post(reverse("registration:alert_read", args=[alert.pk])).status_code == 302
    alert.refresh_from_db()
    assert alert.read_at is not None
    assert not list(client.get(reverse("registration:alerts")).context["table"].paginated_rows)
    assert len(list(client.get(reverse("registration:alerts"), {"show": "all"}).context["table"].paginated_rows)) == 1


def test_turnaround_figures_for_offices_only(client, world):
    add_pledges(world)
    today = timezone.localdate()
    period = {"date_from": today.replace(month=1, day=1).isoformat(), "date_to": today.isoformat()}
    login(client, world, "ipo_bj", Role.VIEWER)
    response = client.get(reverse("registration:figures"), period)
    assert response.status_code == 200
    rows = response.context["rows"]
    beijing = next(r for r in rows if r.region_code == "11")
    assert (beijing.filings, beijing.registered) == (1, 1)
    assert "北京" in response.content.decode()
    bad = client.get(
        reverse("registration:figures"), {**period, "date_from": today.isoformat(), "date_to": "2000-01-01"}
    )
    assert bad.context["rows"] is None and "截止日期不能早于起始日期" in bad.content.decode()
    for org in ("bank1_sub", "ent1"):
        login(client, world, org)
        assert client.get(reverse("registration:figures")).status_code == 404
