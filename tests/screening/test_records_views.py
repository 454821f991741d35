"""Credit-record pages: upload through the form (a committed file and a rejected one with its row errors), the
record list with its filters, the record page, the import pages, and the review queue's confirm and reject buttons;
who gets 404 or 403."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.synthetic import make_uscc
from ipledge.registry.services import enterprise_create
from ipledge.screening.choices import ImportStatus, MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord
from tests.screening.factories_records import (
    ABNORMAL_HEADER,
    abnormal_rows,
    csv_bytes,
    penalty_rows,
    run_import,
    xlsx_bytes,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def client_for(world: World, org: str, role: str = Role.OPERATOR) -> Client:
    client = Client()
    client.force_login(world.user(org, role))
    return client


def text(response: Any) -> str:
    return str(response.content.decode())


def flashed(response: Any) -> list[str]:
    return [str(m) for m in response.context["messages"]] if response.context else []


def upload(client: Client, world: World, kind: str, name: str, content: bytes, org: str = "ipo_bj") -> Any:
    return client.post(
        reverse("screening:import_create"),
        {"organisation": world.orgs[org].pk, "kind": kind, "file": SimpleUploadedFile(name, content)},
        follow=True,
    )


def test_upload_xlsx_and_see_the_import(world: World) -> None:
    client = client_for(world, "ipo_bj")
    page = client.get(reverse("screening:import_create"))
    assert page.status_code == 200 and "案号" in text(page) and "纳税信用级别" in text(page)
    response = upload(client, world, RecordKind.PENALTY, "penalties.xlsx", xlsx_bytes(penalty_rows(world)))
    batch = CreditImport.objects.get()
    assert batch.status == ImportStatus.COMMITTED and batch.file_format == "xlsx"
    assert response.redirect_chain[-1][0] == reverse("screening:import_detail", args=[batch.pk])
    assert any("已导入 4 条记录" in m for m in flashed(response))
    body = text(response)
    assert "penalties.xlsx" in body and "京海市监罚〔2025〕101号" in body
    assert response.context["table"].paginator.count == 4
    listing = client.get(reverse("screening:import_list"))
    assert list(listing.context["table"].data.data) == [batch]


def test_rejected_upload_shows_the_row_errors(world: World) -> None:
    client = client_for(world, "ipo_bj")
    rows = penalty_rows(world)
    rows[2][5] = "2025-02-30"
    rows[4][1] = "91110105000090010X"
    response = upload(client, world, RecordKind.PENALTY, "bad.csv", csv_bytes(rows, "gb18030"))
    assert response.status_code == 200 and response.redirect_chain == []
    assert not CreditRecord.objects.exists()
    batch = CreditImport.objects.get()
    assert batch.status == ImportStatus.REJECTED
    body = text(response)
    assert 'class="import-error" data-row="3"' in body and 'data-row="5"' in body
    assert "作出行政处罚决定日期" in body and "checksum" in body and "日期不存在" in body
    detail = client.get(reverse("screening:import_detail", args=[batch.pk]))
    assert detail.status_code == 200 and "日期不存在" in text(detail)


def test_upload_form_errors(world: World) -> None:
    client = client_for(world, "ipo_bj")
    response = client.post(
        reverse("screening:import_create"),
        {
            "organisation": world.orgs["ipo_bj"].pk,
            "kind": RecordKind.PENALTY,
            "file": SimpleUploadedFile("a.pdf", b"x"),
        },
    )
    assert response.status_code == 200 and "file" in response.context["form"].errors
    other = client.post(
        reverse("screening:import_create"),
        {
            "organisation": world.orgs["ipo_js"].pk,  # not an office the user may import for
            "kind": RecordKind.PENALTY,
            "file": SimpleUploadedFile("a.csv", b"x"),
        },
    )
    assert "organisation" in other.context["form"].errors
    assert not CreditImport.objects.exists()


def test_who_may_open_the_import_pages(world: World) -> None:
    for org, role in (
        ("bank1", Role.OPERATOR),
        ("park1", Role.OPERATOR),
        ("ipo_bj", Role.VIEWER),
        ("ent1", Role.ADMIN),
    ):
        assert client_for(world, org, role).get(reverse("screening:import_create")).status_code == 404
    assert client_for(world, "bank1").get(reverse("screening:import_list")).status_code == 404
    assert client_for(world, "bank1").get(reverse("screening:review_queue")).status_code == 404
    assert client_for(world, "ipo_js").get(reverse("screening:import_create")).status_code == 200
    batch = run_import(world, RecordKind.PENALTY, csv_bytes(penalty_rows(world)))
    assert client_for(world, "ipo_js").get(reverse("screening:import_detail", args=[batch.pk])).status_code == 404
    assert (
        client_for(world, "ipo_bj", Role.VIEWER).get(reverse("screening:import_detail", args=[batch.pk])).status_code
        == 200
    )


def test_record_list_filters_and_detail(world: World) -> None:
    run_import(world, RecordKind.PENALTY, csv_bytes(penalty_rows(world)))
    run_import(world, RecordKind.ABNORMAL, csv_bytes(abnormal_rows(world, removed="2025-08-15")))
    client = client_for(world, "ipo_bj")
    url = reverse("screening:record_list")
    assert client.get(url).context["table"].paginator.count == 5
    assert client.get(url, {"kind": RecordKind.ABNORMAL}).context["table"].paginator.count == 1
    assert client.get(url, {"match_status": MatchStatus.UNMATCHED}).context["table"].paginator.count == 1
    in_force = client.get(url, {"in_force_on": "2025-09-01"}).context["table"].data.data
    assert {r.kind for r in in_force} == {RecordKind.PENALTY}  # the abnormal-list entry was removed on 15 Aug
    e1 = world.enterprises["e1"]
    assert client.get(url, {"q": e1.uscc}).context["table"].paginator.count == 1
    assert client.get(url, {"q": "微纳"}).context["table"].paginator.count == 2
    # A bank sees the records of its customers' enterprises only (bank1_sub has none before a pledge).
    assert client_for(world, "bank1").get(url).context["table"].paginator.count == 0
    ent = client_for(world, "ent1").get(url)
    assert [r.enterprise for r in ent.context["table"].data.data] == [e1]
    record = CreditRecord.objects.get(kind=RecordKind.ABNORMAL)
    detail = client.get(reverse("screening:record_detail", args=[record.pk]))
    body = text(detail)
    assert detail.status_code == 200 and "2025-08-15" in body and "record-not-in-force" in body
    assert "列入经营异常名录原因" in body and "未按规定公示年度报告" in body  # the raw fields
    assert client_for(world, "ipo_js").get(reverse("screening:record_detail", args=[record.pk])).status_code == 404
    assert client_for(world, "ent2").get(reverse("screening:record_detail", args=[record.pk])).status_code == 404


def _pending(world: World) -> CreditRecord:
    enterprise_create(
        uscc=make_uscc(region_code="110108", serial=3002),
        name="北京智芯科技股份有限公司",
        industry_section="I",
        acting_user=None,
    )
    rows = [ABNORMAL_HEADER, ["北京智芯科技有限公司", "", "未公示年报", "2025-05-02", "海淀分局", ""]]
    run_import(world, RecordKind.ABNORMAL, csv_bytes(rows))
    return CreditRecord.objects.get(match_status=MatchStatus.PENDING)


def test_review_queue_confirm(world: World) -> None:
    record = _pending(world)
    client = client_for(world, "ipo_bj")
    queue = client.get(reverse("screening:review_queue"))
    assert queue.status_code == 200 and list(queue.context["queue"]) == [record]
    body = text(queue)
    e1 = world.enterprises["e1"]
    assert f'data-enterprise="{e1.pk}"' in body and "北京智芯科技股份有限公司" in body
    response = client.post(
        reverse("screening:record_confirm", args=[record.pk]),
        {"enterprise": e1.pk, "next": reverse("screening:review_queue")},
        follow=True,
    )
    assert response.redirect_chain[-1][0] == reverse("screening:review_queue")
    assert any("已确认" in m for m in flashed(response))
    record.refresh_from_db()
    assert (record.match_status, record.enterprise) == (MatchStatus.CONFIRMED, e1)
    assert list(response.context["queue"]) == []
    again = client.post(reverse("screening:record_confirm", args=[record.pk]), {"enterprise": e1.pk}, follow=True)
    assert any("只有待复核或未匹配" in m for m in flashed(again))


def test_review_queue_reject_and_refusals(world: World) -> None:
    record = _pending(world)
    confirm = reverse("screening:record_confirm", args=[record.pk])
    reject = reverse("screening:record_reject", args=[record.pk])
    e1 = world.enterprises["e1"]
    # Another province's office: the record is out of sight.
    assert client_for(world, "ipo_js").post(confirm, {"enterprise": e1.pk}).status_code == 404
    assert client_for(world, "ipo_js").post(reject).status_code == 404
    # The office's reviewer role sees it but may not decide (no "change").
    assert client_for(world, "ipo_bj", Role.REVIEWER).post(confirm, {"enterprise": e1.pk}).status_code == 403
    assert client_for(world, "ipo_bj", Role.REVIEWER).post(reject).status_code == 403
    assert client_for(world, "ipo_bj").get(confirm).status_code == 405
    client = client_for(world, "ipo_bj")
    detail_url = reverse("screening:record_detail", args=[record.pk])
    detail = text(client.get(detail_url))
    assert "confirm-form" in detail and "reject-form" in detail and "manual-confirm" in detail
    seen_only = text(client_for(world, "ipo_bj", Role.REVIEWER).get(detail_url))
    assert (
        "confirm-form" not in seen_only and "reject-form" not in seen_only and "北京智芯科技股份有限公司" in seen_only
    )
    missing = client.post(confirm, {"enterprise": "999999"}, follow=True)
    assert any("请选择要匹配的企业" in m for m in flashed(missing))
    response = client.post(reject, {"next": "https://evil.example/"}, follow=True)
    assert response.redirect_chain[-1][0] == reverse("screening:record_detail", args=[record.pk])
    record.refresh_from_db()
    assert record.match_status == MatchStatus.UNMATCHED and record.reviewed_by == world.user("ipo_bj")
    assert "已驳回" in " ".join(flashed(response))
