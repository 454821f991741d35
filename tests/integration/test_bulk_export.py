"""Bulk export: every entity in both formats parses back with its headers and only the rows the user may see."""

import csv
import io

import openpyxl
import pytest
from django.test import Client
from django.urls import reverse

from ipledge.core.models import AuditEvent
from ipledge.integration.bulk import registry
from ipledge.integration.models import BulkTransfer
from ipledge.integration.services.bulk import bulk_export
from ipledge.registry.models import Enterprise
from tests.compensation.factories import add_compensation
from tests.disposal.factories import add_disposal
from tests.lending.factories import add_loans
from tests.market.factories import add_market
from tests.monitoring.factories import add_monitoring
from tests.portal.factories import add_portal
from tests.screening.factories import add_screening
from tests.world import World, add_valuations

pytestmark = pytest.mark.django_db

ID_NUMBER = "110101199003071234"


@pytest.fixture
def full(world: World) -> World:
    add_loans(world)
    add_valuations(world)
    add_compensation(world)
    add_disposal(world)
    add_screening(world)
    add_market(world)
    add_monitoring(world)
    add_portal(world)
    return world


def parse(content: bytes, file_format: str) -> tuple[list[str], list[list[object]]]:
    if file_format == "csv":
        assert content.startswith(b"\xef\xbb\xbf"), "CSV starts with a UTF-8 BOM so Excel reads Chinese"
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        return rows[0], [list(r) for r in rows[1:]]
    book = openpyxl.load_workbook(io.BytesIO(content), read_only=True)
    values = [list(r) for r in book.worksheets[0].iter_rows(values_only=True)]
    return [str(v) for v in values[0]], values[1:]


def column(headers: list[str], rows: list[list[object]], label: str) -> list[object]:
    index = headers.index(label)
    return [r[index] for r in rows]


def test_every_entity_exports_in_both_formats_within_scope(full: World) -> None:
    """One world for all the checks on the full data set (building it is the slow part)."""
    from ipledge.lending.models import Loan

    for file_format in ("xlsx", "csv"):
        for user_key in ("cnipa", "bank1", "park1"):
            user = full.user(user_key)
            for entity in registry.ENTITIES:
                export, transfer = bulk_export(actor=user, entity_key=entity.key, file_format=file_format)
                headers, rows = parse(export.content, file_format)
                assert headers == entity.headers, entity.key
                count = entity.rows(user).count()
                assert len(rows) == count == export.rows == transfer.rows_total, (user_key, entity.key)

    # every entity has rows for someone, so the exports above really carried data
    empty = [
        e.key
        for e in registry.ENTITIES
        if not any(e.rows(full.user(k)).exists() for k in ("cnipa", "bank1", "bank2", "park1", "ipo_bj", "ent1"))
    ]
    assert empty == []

    # bank1 never sees bank2's loans, and the other way round
    theirs = set(Loan.objects.filter(bank=full.orgs["bank2"]).values_list("reference", flat=True))
    assert theirs
    export, _ = bulk_export(actor=full.user("bank1"), entity_key="loans", file_format="csv")
    headers, rows = parse(export.content, "csv")
    references = set(column(headers, rows, "贷款编号"))
    assert references and not references & theirs
    export, _ = bulk_export(actor=full.user("bank2"), entity_key="loans", file_format="xlsx")
    headers, rows = parse(export.content, "xlsx")
    assert set(column(headers, rows, "贷款编号")) == theirs

    # money exact in yuan with two places, dates ISO
    export, _ = bulk_export(actor=full.user("bank2"), entity_key="loans", file_format="csv")
    headers, rows = parse(export.content, "csv")
    assert "600000.00" in column(headers, rows, "贷款本金（元）")
    disbursed = [str(d) for d in column(headers, rows, "首次放款日") if d]
    assert disbursed and all(len(d) == 10 and d[4] == "-" and d[7] == "-" for d in disbursed)


def test_ipo_js_never_sees_beijing_enterprises(world: World) -> None:
    export, _ = bulk_export(actor=world.user("ipo_js"), entity_key="enterprises", file_format="csv")
    headers, rows = parse(export.content, "csv")
    codes = set(column(headers, rows, "统一社会信用代码"))
    assert world.enterprises["e2"].uscc in codes
    assert world.enterprises["e1"].uscc not in codes
    assert world.enterprises["e1b"].uscc not in codes


def test_personal_data_masked_as_the_pages_mask_it(world: World) -> None:
    Enterprise.objects.filter(pk=world.enterprises["e1"].pk).update(
        legal_representative_id_number=ID_NUMBER, contact_phone="13812345678"
    )
    uscc = world.enterprises["e1"].uscc
    for user_key, id_number, phone in (
        ("ipo_bj", "110101********1234", "138****5678"),
        ("ent1", ID_NUMBER, "13812345678"),
    ):
        export, _ = bulk_export(actor=world.user(user_key), entity_key="enterprises", file_format="csv")
        headers, rows = parse(export.content, "csv")
        row = next(r for r in rows if r[headers.index("统一社会信用代码")] == uscc)
        assert row[headers.index("法定代表人身份证号")] == id_number, user_key
        assert row[headers.index("联系电话")] == phone, user_key


def test_export_page_downloads_and_records_an_audited_transfer(world: World) -> None:
    client = Client()
    client.force_login(world.user("ipo_bj"))
    response = client.get(reverse("integration:bulk_export", args=["enterprises"]) + "?format=csv")
    assert response.status_code == 200
    assert "attachment" in response["Content-Disposition"]
    transfer = BulkTransfer.objects.get()
    assert transfer.direction == "export" and transfer.entity == "enterprises" and len(transfer.sha256) == 64
    assert transfer.organisation == world.orgs["ipo_bj"] and transfer.created_by == world.user("ipo_bj")
    assert AuditEvent.objects.filter(action="bulk.export", object_id=str(transfer.pk)).exists()
    index = client.get(reverse("integration:bulk_index"))
    assert index.status_code == 200
    assert reverse("integration:bulk_transfer_detail", args=[transfer.pk]) in index.content.decode()
    assert client.get(reverse("integration:bulk_transfer_detail", args=[transfer.pk])).status_code == 200
    other = Client()
    other.force_login(world.user("bank2"))
    assert other.get(reverse("integration:bulk_transfer_detail", args=[transfer.pk])).status_code == 404
    assert client.get(reverse("integration:bulk_export", args=["nothing"])).status_code == 404
    assert client.get(reverse("integration:bulk_export", args=["loans"]) + "?format=pdf").status_code == 404
