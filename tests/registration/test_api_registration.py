"""Pledge registration through the API: a bank files a bundle, the enterprise confirms, the examiner registers,
the public query shows it; scope, refusals and the one error shape."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_patent_number
from ipledge.registration.choices import FilingStatus
from ipledge.registration.models import PledgedRight, PledgeFiling
from ipledge.registry.choices import IPKind
from ipledge.registry.services import ip_right_create
from tests.api_helpers import API, assert_error, get, send, session_client
from tests.world import PDF_BYTES, World, add_pledges

pytestmark = pytest.mark.django_db


def _bundle(world: World) -> dict[str, Any]:
    """Two patents and a trademark of e1, annual fees paid for a year."""
    today = timezone.localdate()
    paid = today + datetime.timedelta(days=365)
    owners = [{"enterprise": world.enterprises["e1"], "share": Decimal(100)}]
    p1 = ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2020, type_digit=1, serial=3000001),
        title="一种图像降噪方法",
        filing_date=datetime.date(2020, 4, 1),
        grant_date=datetime.date(2022, 5, 10),
        main_ipc="G06T5/00",
        annual_fee_paid_until=paid,
        owners=owners,
        acting_user=None,
    )
    p2 = ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2021, type_digit=2, serial=3000002),
        title="一种传感器封装结构",
        filing_date=datetime.date(2021, 2, 3),
        grant_date=datetime.date(2021, 9, 7),
        annual_fee_paid_until=paid,
        owners=owners,
        acting_user=None,
    )
    tm = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="40123457",
        title="智芯",
        grant_date=datetime.date(2021, 3, 14),
        valid_from=datetime.date(2021, 3, 14),
        term_end=datetime.date(2031, 3, 13),
        nice_classes=[9],
        owners=owners,
        acting_user=None,
    )
    return {"p1": p1, "p2": p2, "tm": tm}


def _payload(world: World, rights: list[Any], **overrides: Any) -> dict[str, Any]:
    today = timezone.localdate()
    body = {
        "pledgor_uscc": world.enterprises["e1"].uscc,
        "pledgee_id": world.orgs["bank1_sub"].pk,
        "claim_kind": "loan",
        "claim_amount": "8000000.00",
        "performance_start": today.isoformat(),
        "performance_end": (today + datetime.timedelta(days=365)).isoformat(),
        "guarantee_scope": "主债权及利息、违约金、实现质权的费用",
        "contract_no": "ZY-2026-001",
        "items": [{"kind": r.kind, "number": r.number} for r in rights],
    }
    body.update(overrides)
    return body


def _upload(client: Client, filing_id: int, doc_type: str, *, name: str | None = None, content: bytes = PDF_BYTES):
    return client.post(
        f"{API}/pledge-filings/{filing_id}/documents",
        {"doc_type": doc_type, "file": SimpleUploadedFile(name or f"{doc_type}.pdf", content)},
    )


def _file_with_documents(client: Client, body: dict[str, Any]) -> dict[str, Any]:
    response = send(client, "post", "/pledge-filings", body)
    assert response.status_code == 201, response.content.decode()
    filing = response.json()
    for doc_type in ("contract", "identity"):
        uploaded = _upload(client, filing["id"], doc_type)
        assert uploaded.status_code == 201, uploaded.content.decode()
    return filing


def test_bundle_goes_from_filing_to_registration_and_public_query(world):
    rights = _bundle(world)
    bank = session_client(world.user("bank1_sub"))
    filing = _file_with_documents(bank, _payload(world, list(rights.values())))
    assert filing["status"] == FilingStatus.AWAITING_PLEDGOR
    assert filing["claim_amount"] == "8000000.00"
    assert filing["pledgor"]["uscc"] == world.enterprises["e1"].uscc
    assert sorted(i["number"] for i in filing["items"]) == sorted(r.number for r in rights.values())

    detail = get(bank, f"/pledge-filings/{filing['id']}").json()
    assert sorted(d["doc_type"] for d in detail["documents"]) == ["contract", "identity"]
    doc = detail["documents"][0]
    download = bank.get(f"{API}/pledge-filings/{filing['id']}/documents/{doc['id']}")
    assert download.status_code == 200 and download.content == PDF_BYTES
    assert download["Content-Type"] == "application/pdf"
    assert_error(get(session_client(world.user("bank2")), f"/pledge-filings/{filing['id']}/documents/{doc['id']}"), 404)

    # The bank cannot confirm for the enterprise; the enterprise can.
    assert_error(send(bank, "post", f"/pledge-filings/{filing['id']}/confirm"), 403, rule="forbidden")
    confirmed = send(session_client(world.user("ent1")), "post", f"/pledge-filings/{filing['id']}/confirm")
    assert confirmed.status_code == 200, confirmed.content.decode()
    confirmed_body = confirmed.json()
    assert confirmed_body["status"] == FilingStatus.SUBMITTED and confirmed_body["due_on"]
    assert not [f for f in confirmed_body["findings"] if f["severity"] == "refuse"], confirmed_body["findings"]
    for finding in confirmed_body["findings"]:
        assert set(finding) == {"ip_right_id", "rule", "severity", "message", "message_en", "citation"}

    # An IP-office operator may not decide; the reviewer registers.
    operator = session_client(world.user("ipo_bj"))
    assert_error(send(operator, "post", f"/pledge-filings/{filing['id']}/decision", {"decision": "register"}), 403)
    examiner = session_client(world.user("ipo_bj", Role.REVIEWER))
    decided = send(examiner, "post", f"/pledge-filings/{filing['id']}/decision", {"decision": "register"})
    assert decided.status_code == 200, decided.content.decode()
    decided_body = decided.json()
    assert decided_body["status"] == FilingStatus.REGISTERED
    registration_no = decided_body["registration_no"]
    registration_id = decided_body["registration_id"]
    assert registration_no.startswith(f"Y{timezone.localdate().year}98")

    listed = get(bank, "/pledge-registrations").json()
    assert [r["registration_no"] for r in listed["items"]] == [registration_no]
    assert len(listed["items"][0]["rights"]) == 3
    assert get(session_client(world.user("bank2")), "/pledge-registrations").json()["count"] == 0
    assert_error(get(session_client(world.user("bank2")), f"/pledge-registrations/{registration_id}"), 404)
    assert_error(get(session_client(world.user("bank2")), f"/pledge-filings/{filing['id']}"), 404)
    assert get(bank, f"/pledge-registrations/{registration_id}").json()["status"] == "active"

    notice = bank.get(f"{API}/pledge-registrations/{registration_id}/notice.docx")
    assert notice.status_code == 200 and notice.content.startswith(b"PK\x03\x04")
    assert "attachment" in notice["Content-Disposition"]

    # Anyone, without logging in, sees exactly the announcement fields.
    public = Client().get(f"{API}/public/pledges", {"number": rights["p1"].number})
    assert public.status_code == 200, public.content.decode()
    [record] = public.json()
    assert set(record) == {
        "registration_no",
        "pledgor",
        "pledgee",
        "main_ipc",
        "right_number",
        "right_kind",
        "grant_date",
        "registered_on",
        "status",
        "cancelled_on",
    }
    assert record["registration_no"] == registration_no and record["main_ipc"] == "G06T5/00"
    assert record["pledgor"] == world.enterprises["e1"].name and record["status"] == "active"
    assert len(Client().get(f"{API}/public/pledges", {"number": registration_no}).json()) == 3
    assert Client().get(f"{API}/public/pledges", {"number": "Y0000000000000"}).json() == []
    assert_error(Client().get(f"{API}/public/pledges"), 422, field="number", rule="missing")
    # Everything else still needs a login.
    assert_error(Client().get(f"{API}/pledge-registrations"), 401)

    # A second pledge of the same patent by another bank is refused with the rule named.
    bank2 = session_client(world.user("bank1_br2"))
    second = _file_with_documents(bank2, _payload(world, [rights["p1"]], pledgee_id=world.orgs["bank1_br2"].pk))
    confirmed = send(session_client(world.user("ent1")), "post", f"/pledge-filings/{second['id']}/confirm").json()
    assert "already_pledged" in {f["rule"] for f in confirmed["findings"]}
    refused = send(examiner, "post", f"/pledge-filings/{second['id']}/decision", {"decision": "register"})
    assert_error(refused, 400, rule="already_pledged")
    assert PledgedRight.objects.filter(ip_right=rights["p1"], is_active=True).count() == 1

    # Cancellation: only the pledgee files it; the examiner registers it; the right is released.
    assert_error(
        send(bank2, "post", f"/pledge-registrations/{registration_id}/cancellation", {"reason": "repaid"}), 404
    )
    cancel = send(bank, "post", f"/pledge-registrations/{registration_id}/cancellation", {"reason": "repaid"})
    assert cancel.status_code == 201, cancel.content.decode()
    cancel_body = cancel.json()
    assert cancel_body["filing_type"] == "cancellation" and cancel_body["status"] == FilingStatus.SUBMITTED
    assert cancel_body["registration_no"] == registration_no
    done = send(examiner, "post", f"/pledge-filings/{cancel_body['id']}/decision", {"decision": "register"})
    assert done.status_code == 200, done.content.decode()
    assert get(bank, f"/pledge-registrations/{registration_id}").json()["status"] == "cancelled"
    assert not PledgedRight.objects.filter(ip_right=rights["p1"], is_active=True).exists()
    assert {r["status"] for r in Client().get(f"{API}/public/pledges", {"number": registration_no}).json()} == {
        "cancelled"
    }
    again = send(bank, "post", f"/pledge-registrations/{registration_id}/cancellation", {"reason": "repaid"})
    assert_error(again, 400, field="registration", rule="already_cancelled")
    actions = set(AuditEvent.objects.filter(object_id=str(filing["id"])).values_list("action", flat=True))
    assert {"pledge_filing.create", "pledge_filing.document_add", "pledge_filing.confirm"} <= actions


def test_filing_errors_name_the_field_and_rule(world):
    rights = _bundle(world)
    bank = session_client(world.user("bank1_sub"))
    bad_uscc = world.enterprises["e1"].uscc[:-1] + ("0" if world.enterprises["e1"].uscc[-1] != "0" else "1")
    assert_error(
        send(bank, "post", "/pledge-filings", _payload(world, [rights["p1"]], pledgor_uscc=bad_uscc)),
        400,
        field="pledgor_uscc",
    )
    unknown_patent = make_patent_number(year=2019, type_digit=1, serial=7777777)
    body = _payload(world, [rights["p1"]])
    body["items"].append({"kind": "patent", "number": unknown_patent})
    assert_error(send(bank, "post", "/pledge-filings", body), 400, field="items.1.number", rule="not_found")
    wrong_digit = rights["p2"].number[:-1] + ("0" if rights["p2"].number[-1] != "0" else "1")
    body = _payload(world, [rights["p1"]])
    body["items"].append({"kind": "patent", "number": wrong_digit})
    assert_error(send(bank, "post", "/pledge-filings", body), 400, field="items.1.number")
    # A bank of another tree is outside the filer's reach: not found, like a missing one.
    body = _payload(world, [rights["p1"]], pledgee_id=world.orgs["bank2"].pk)
    assert_error(send(bank, "post", "/pledge-filings", body), 400, field="pledgee_id", rule="not_found")
    body = _payload(world, [rights["p1"]], pledgee_id=10**12)
    assert_error(send(bank, "post", "/pledge-filings", body), 400, field="pledgee_id", rule="not_found")
    # Schema errors: money with three decimals, an unknown field.
    assert_error(
        send(bank, "post", "/pledge-filings", _payload(world, [rights["p1"]], claim_amount="1.005")),
        422,
        field="claim_amount",
    )
    assert_error(
        send(bank, "post", "/pledge-filings", _payload(world, [rights["p1"]], colour="red")),
        422,
        rule="extra_forbidden",
    )
    # The model's own rule: the performance period ends after it starts.
    today = timezone.localdate()
    body = _payload(world, [rights["p1"]], performance_end=(today - datetime.timedelta(days=1)).isoformat())
    assert_error(send(bank, "post", "/pledge-filings", body), 400)
    # Enterprises and viewers do not file.
    assert_error(
        send(session_client(world.user("ent1")), "post", "/pledge-filings", _payload(world, [rights["p1"]])),
        403,
        rule="forbidden",
    )
    assert_error(
        send(
            session_client(world.user("bank1_sub", Role.VIEWER)),
            "post",
            "/pledge-filings",
            _payload(world, [rights["p1"]]),
        ),
        403,
    )
    assert not PledgeFiling.objects.exists()


def test_agency_files_for_a_bank_and_documents_are_checked(world):
    rights = _bundle(world)
    agency = session_client(world.user("agency"))
    body = _payload(world, [rights["tm"]], pledgee_id=world.orgs["bank1_br2"].pk)
    created = send(agency, "post", "/pledge-filings", body)
    assert created.status_code == 201, created.content.decode()
    filing_id = created.json()["id"]
    assert created.json()["filed_by_org"]["id"] == world.orgs["agency"].pk
    # The pledgee bank sees the filing; a bank of another tree does not.
    assert get(session_client(world.user("bank1_br2")), f"/pledge-filings/{filing_id}").status_code == 200
    assert_error(get(session_client(world.user("bank2")), f"/pledge-filings/{filing_id}"), 404)
    assert_error(
        _upload(agency, filing_id, "contract", name="contract.pdf", content=b"MZ\x90\x00"),
        400,
        field="file",
        rule="content_mismatch",
    )
    assert_error(_upload(agency, filing_id, "contract", name="contract.exe"), 400, field="file", rule="file_type")
    assert_error(_upload(agency, filing_id, "nonsense"), 422, field="doc_type")
    assert_error(_upload(session_client(world.user("bank2")), filing_id, "contract"), 404)
    listed = get(agency, "/pledge-filings", {"status": "awaiting_pledgor"}).json()
    assert [f["id"] for f in listed["items"]] == [filing_id]
    assert get(agency, "/pledge-filings", {"status": "registered"}).json()["count"] == 0
    withdrawn = send(agency, "post", f"/pledge-filings/{filing_id}/withdraw")
    assert withdrawn.status_code == 200 and withdrawn.json()["status"] == FilingStatus.WITHDRAWN
    assert_error(send(agency, "post", f"/pledge-filings/{filing_id}/withdraw"), 400, field="status", rule="stale")


def test_examiner_requests_correction_and_refuses_with_reasons(world):
    add_pledges(world)
    f2 = world.filings["f2"]
    send(session_client(world.user("ent2")), "post", f"/pledge-filings/{f2.pk}/confirm")
    examiner = session_client(world.user("ipo_js", Role.REVIEWER))
    assert_error(
        send(examiner, "post", f"/pledge-filings/{f2.pk}/decision", {"decision": "refuse"}),
        400,
        field="note",
        rule="required",
    )
    assert_error(
        send(examiner, "post", f"/pledge-filings/{f2.pk}/decision", {"decision": "approve"}), 422, field="decision"
    )
    # The Beijing office does not reach a Jiangsu filing at all.
    bj = session_client(world.user("ipo_bj", Role.REVIEWER))
    assert_error(send(bj, "post", f"/pledge-filings/{f2.pk}/decision", {"decision": "register"}), 404)
    response = send(
        examiner,
        "post",
        f"/pledge-filings/{f2.pk}/decision",
        {"decision": "request_correction", "note": "请补充身份证明"},
    )
    assert response.status_code == 200, response.content.decode()
    assert response.json()["status"] == FilingStatus.CORRECTION_REQUESTED and response.json()["correction_due_on"]
    # The registered pledge of add_pledges shows in its bank's list, with its filing.
    bank = session_client(world.user("bank1_sub"))
    registration = world.filings["f1"].created_registration
    assert get(bank, "/pledge-registrations", {"status": "active"}).json()["items"][0]["id"] == registration.pk
    assert get(bank, "/pledge-registrations", {"status": "cancelled"}).json()["count"] == 0
    assert get(bank, "/pledge-filings", {"filing_type": "registration"}).json()["count"] == 1


# Every route naming a filing, document or registration answers 404 (not 403) for someone who may do the action in
# general but not on this object: (method, path, username, body).
CROSS_TENANT = [
    ("get", "/pledge-filings/{filing}", "bank2_operator", None),
    ("post", "/pledge-filings/{filing}/confirm", "ent2_operator", None),
    ("post", "/pledge-filings/{filing}/documents", "bank2_operator", "upload"),
    ("get", "/pledge-filings/{filing}/documents/{document}", "bank2_operator", None),
    ("post", "/pledge-filings/{filing}/decision", "ipo_js_reviewer", {"decision": "register"}),
    ("post", "/pledge-filings/{filing}/withdraw", "bank2_operator", None),
    ("post", "/pledge-filings/{filing}/resubmit", "bank2_operator", {}),
    ("get", "/pledge-registrations/{registration}", "bank2_operator", None),
    ("post", "/pledge-registrations/{registration}/cancellation", "bank2_operator", {"reason": "repaid"}),
    ("get", "/pledge-registrations/{registration}/notice.docx", "ent2_operator", None),
    (
        "post",
        "/pledge-registrations/{registration}/changes",
        "bank2_operator",
        {"claim_amount": "1", "change_description": "x"},
    ),
]


@pytest.mark.parametrize(("method", "path", "username", "body"), CROSS_TENANT)
def test_other_organisations_filings_answer_404(world, method, path, username, body):
    add_pledges(world)
    f1 = world.filings["f1"]
    url = path.format(filing=f1.pk, document=f1.documents.first().pk, registration=f1.created_registration.pk)
    client = session_client(world.users[username])
    if body == "upload":
        response = client.post(f"{API}{url}", {"doc_type": "other", "file": SimpleUploadedFile("x.pdf", PDF_BYTES)})
    elif method == "get":
        response = get(client, url)
    else:
        response = send(client, method, url, body)
    assert_error(response, 404, field=None, rule="not_found")


def test_cross_tenant_table_covers_every_registration_route_with_an_object_id(client):
    schema = client.get(f"{API}/openapi.json").json()
    routes = {
        (method, path.removeprefix(API))
        for path, operations in schema["paths"].items()
        if "{" in path and path.startswith((f"{API}/pledge-", f"{API}/public/"))
        for method in operations
    }
    expected = {
        (
            m,
            p.replace("{filing}", "{filing_id}")
            .replace("{document}", "{document_id}")
            .replace("{registration}", "{registration_id}"),
        )
        for m, p, *_ in CROSS_TENANT
    }
    assert routes == expected
