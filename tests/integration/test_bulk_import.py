"""Bulk import: all or nothing, header and cell errors named by row and column, upserts by natural key, refusals."""

import csv
import io

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ipledge.core.models import AuditEvent
from ipledge.integration.models import BulkTransfer
from ipledge.integration.services.bulk import bulk_export, bulk_import, may_import, template
from ipledge.monitoring.models import EnterpriseFinancials, MeasureEntry
from ipledge.registry.models import Enterprise, IPRight
from tests.world import World

pytestmark = pytest.mark.django_db

FIN_HEADER = "统一社会信用代码,年度,研发投入（元）,营业收入（元）,从业人员,有效专利数,已实施专利数"


def csv_file(text: str, name: str = "data.csv") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, ("\ufeff" + text).encode("utf-8"), content_type="text/csv")


def test_round_trip_enterprises_export_edit_import(world: World) -> None:
    user = world.user("ipo_bj")
    export, _ = bulk_export(actor=user, entity_key="enterprises", file_format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    uscc_col, employees_col = headers.index("统一社会信用代码"), headers.index("从业人员")
    target = world.enterprises["e1"]
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) >= 2
    edited = next(r for r in rows if r[uscc_col].value == target.uscc)
    edited[employees_col].value = 4321
    out = io.BytesIO()
    book.save(out)
    upload = SimpleUploadedFile("企业.xlsx", out.getvalue())

    outcome, transfer = bulk_import(actor=user, entity_key="enterprises", upload=upload)

    assert outcome.errors == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, len(rows) - 1)
    target.refresh_from_db()
    assert target.employees == 4321
    assert transfer.status == "applied" and transfer.rows_updated == 1 and len(transfer.sha256) == 64
    assert AuditEvent.objects.filter(action="bulk.import", object_id=str(transfer.pk)).exists()
    assert AuditEvent.objects.filter(action__startswith="enterprise.", object_id=str(target.pk)).exists()


def test_csv_export_imports_back_unchanged(world: World) -> None:
    user = world.user("ipo_bj")
    export, _ = bulk_export(actor=user, entity_key="enterprises", file_format="csv")
    outcome, _ = bulk_import(actor=user, entity_key="enterprises", upload=SimpleUploadedFile("e.csv", export.content))
    assert outcome.errors == [] and outcome.updated == 0 and outcome.unchanged == outcome.rows > 0


def test_round_trip_ip_rights_export_edit_import(world: World) -> None:
    user = world.user("ipo_bj")
    export, _ = bulk_export(actor=user, entity_key="ip_rights", file_format="xlsx")
    book = openpyxl.load_workbook(io.BytesIO(export.content))
    sheet = book.worksheets[0]
    headers = [c.value for c in sheet[1]]
    number_col, title_col = headers.index("号码"), headers.index("名称")
    rows = list(sheet.iter_rows(min_row=2))
    assert len(rows) >= 2
    target = IPRight.objects.get(number=rows[0][number_col].value)
    rows[0][title_col].value = "一种改进的质押物估值装置"
    out = io.BytesIO()
    book.save(out)

    outcome, transfer = bulk_import(
        actor=user, entity_key="ip_rights", upload=SimpleUploadedFile("知识产权.xlsx", out.getvalue())
    )

    assert outcome.errors == []
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, len(rows) - 1)
    target.refresh_from_db()
    assert target.title == "一种改进的质押物估值装置"
    assert transfer.status == "applied" and transfer.rows_updated == 1
    assert AuditEvent.objects.filter(action="ip_right.update", object_id=str(target.pk)).exists()


def test_ip_rights_csv_export_imports_back_unchanged(world: World) -> None:
    user = world.user("ipo_bj")
    export, _ = bulk_export(actor=user, entity_key="ip_rights", file_format="csv")
    before = list(IPRight.objects.order_by("pk").values())
    outcome, _ = bulk_import(actor=user, entity_key="ip_rights", upload=SimpleUploadedFile("r.csv", export.content))
    assert outcome.errors == [] and outcome.updated == 0 and outcome.unchanged == outcome.rows > 0
    assert list(IPRight.objects.order_by("pk").values()) == before


def test_text_the_export_neutralised_imports_back_as_it_was(world: World) -> None:
    user = world.user("ipo_bj")
    target = world.enterprises["e1"]
    Enterprise.objects.filter(pk=target.pk).update(name='=HYPERLINK("x")光谱材料有限公司')
    for file_format in ("xlsx", "csv"):
        export, _ = bulk_export(actor=user, entity_key="enterprises", file_format=file_format)
        upload = SimpleUploadedFile(f"e.{file_format}", export.content)
        outcome, _ = bulk_import(actor=user, entity_key="enterprises", upload=upload)
        assert outcome.errors == [] and outcome.updated == 0, file_format
        target.refresh_from_db()
        assert target.name == '=HYPERLINK("x")光谱材料有限公司', file_format


def test_one_bad_row_writes_nothing_and_names_row_and_column(world: World) -> None:
    e1, e1b = world.enterprises["e1"], world.enterprises["e1b"]
    text = f"{FIN_HEADER}\n{e1.uscc},2024,100000.00,5000000,50,10,5\n{e1b.uscc},1899,1,1,1,1,1\n"

    outcome, transfer = bulk_import(actor=world.user("ipo_bj"), entity_key="financials", upload=csv_file(text))

    assert not outcome.ok
    assert [(e.row, e.column, e.rule) for e in outcome.errors] == [(3, "年度", "year_range")]
    assert EnterpriseFinancials.objects.count() == 0
    assert transfer.status == "rejected" and transfer.errors[0]["row"] == 3
    assert AuditEvent.objects.filter(action="bulk.import", object_id=str(transfer.pk)).exists()


def test_cell_errors_are_all_named_before_anything_is_written(world: World) -> None:
    e1 = world.enterprises["e1"]
    text = f"{FIN_HEADER}\n{e1.uscc},2024,abc,,,,\n123,2023,,,,,\n{e1.uscc},2024,1,,,,\n"
    outcome, _ = bulk_import(actor=world.user("ipo_bj"), entity_key="financials", upload=csv_file(text))
    found = {(e.row, e.column, e.rule) for e in outcome.errors}
    assert (2, "研发投入（元）", "decimal") in found
    assert any(row == 3 and column == "统一社会信用代码" for row, column, _rule in found)
    assert (4, "统一社会信用代码", "duplicate_in_file") not in found  # row 2 failed, so row 4 is not a duplicate
    assert EnterpriseFinancials.objects.count() == 0


def test_financials_upsert_counts_created_updated_unchanged(world: World) -> None:
    user = world.user("ipo_bj")
    e1, e1b = world.enterprises["e1"], world.enterprises["e1b"]
    first = f"{FIN_HEADER}\n{e1.uscc},2024,100000.00,5000000,50,10,5\n{e1b.uscc},2024,,,20,,\n"
    outcome, _ = bulk_import(actor=user, entity_key="financials", upload=csv_file(first))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (2, 0, 0)
    second = f"{FIN_HEADER}\n{e1.uscc},2024,100000.00,5000000,50,10,5\n{e1b.uscc},2024,,,21,,\n"
    outcome, _ = bulk_import(actor=user, entity_key="financials", upload=csv_file(second))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 1, 1)
    assert EnterpriseFinancials.objects.get(enterprise=e1b, year=2024).employees == 21


def test_wrong_header_names_the_column(world: World) -> None:
    text = "统一社会信用代码,年份,研发投入（元）\n"
    outcome, _ = bulk_import(actor=world.user("ipo_bj"), entity_key="financials", upload=csv_file(text))
    errors = {(e.row, e.column, e.rule) for e in outcome.errors}
    assert (1, "年份", "unknown_column") in errors
    assert (1, "年度", "missing_column") in errors


def test_bad_file_type_is_refused_by_the_upload_checks(world: World) -> None:
    pdf = SimpleUploadedFile("data.csv", b"%PDF-1.4\n%fake\n")
    outcome, transfer = bulk_import(actor=world.user("ipo_bj"), entity_key="financials", upload=pdf)
    assert [(e.row, e.column, e.rule) for e in outcome.errors] == [(0, "file", "file_type")]
    assert transfer.status == "rejected"
    fake_xlsx = SimpleUploadedFile("data.xlsx", b"just text")
    outcome, _ = bulk_import(actor=world.user("ipo_bj"), entity_key="enterprises", upload=fake_xlsx)
    assert outcome.errors[0].rule == "file_format"


def test_measures_import_creates_then_leaves_unchanged(world: World) -> None:
    header = "措施名称,实施单位,措施类别,地区代码,实施日期,主要内容,状态"
    text = f"{header}\n设立风险补偿资金池,北京市知识产权局,风险补偿,110000,2025-03-01,出资设立资金池。,实施中\n"
    user = world.user("ipo_bj")
    outcome, _ = bulk_import(actor=user, entity_key="measures", upload=csv_file(text))
    assert outcome.errors == [] and outcome.created == 1
    outcome, _ = bulk_import(actor=user, entity_key="measures", upload=csv_file(text))
    assert (outcome.created, outcome.updated, outcome.unchanged) == (0, 0, 1)
    assert MeasureEntry.objects.get().owner_org == world.orgs["ipo_bj"]
    bad = text.replace("110000", "320000")  # outside Beijing's jurisdiction: the service refuses, nothing written
    outcome, _ = bulk_import(
        actor=user, entity_key="measures", upload=csv_file(bad.replace("2025-03-01", "2025-04-01"))
    )
    assert [(e.row, e.column) for e in outcome.errors] == [(2, "地区代码")]
    assert MeasureEntry.objects.count() == 1


def test_bank_may_not_import_enterprises(world: World) -> None:
    bank = world.user("bank1")
    assert not may_import(bank, "enterprises")
    assert may_import(world.user("ipo_bj"), "enterprises")
    client = Client()
    client.force_login(bank)
    assert client.get(reverse("integration:bulk_import", args=["enterprises"])).status_code == 404
    assert client.post(reverse("integration:bulk_import", args=["enterprises"]), {}).status_code == 404
    assert client.get(reverse("integration:bulk_template", args=["enterprises", "xlsx"])).status_code == 404
    assert client.get(reverse("integration:bulk_import", args=["loans"])).status_code == 404  # not importable
    assert BulkTransfer.objects.count() == 0


def test_import_page_shows_counts_or_the_error_table(world: World) -> None:
    client = Client()
    client.force_login(world.user("ipo_bj"))
    url = reverse("integration:bulk_import", args=["financials"])
    assert client.get(url).status_code == 200
    e1 = world.enterprises["e1"]
    bad = csv_file(f"{FIN_HEADER}\n{e1.uscc},2024,-5,,,,\n")
    response = client.post(url, {"file": bad})
    assert response.status_code == 400
    assert "bulk-error" in response.content.decode() and "研发投入（元）" in response.content.decode()
    good = csv_file(f"{FIN_HEADER}\n{e1.uscc},2024,5,,,,\n")
    response = client.post(url, {"file": good})
    assert response.status_code == 200 and "bulk-applied" in response.content.decode()
    assert EnterpriseFinancials.objects.filter(enterprise=e1, year=2024).exists()


def test_templates_have_header_example_and_notes(world: World) -> None:
    for entity in ("enterprises", "ip_rights", "financials", "measures"):
        content, name = template(entity_key=entity, file_format="xlsx")
        book = openpyxl.load_workbook(io.BytesIO(content))
        assert book.sheetnames[1] == "说明", entity
        assert book.worksheets[0].max_row == 2, entity
        content, name = template(entity_key=entity, file_format="csv")
        rows = list(csv.reader(io.StringIO(content.decode("utf-8-sig"))))
        assert len(rows) == 2 and name.endswith(".csv")
    client = Client()
    client.force_login(world.user("ipo_bj"))
    response = client.get(reverse("integration:bulk_template", args=["measures", "xlsx"]))
    assert response.status_code == 200 and "attachment" in response["Content-Disposition"]


def test_template_filled_in_imports(world: World) -> None:
    content, _ = template(entity_key="measures", file_format="csv")
    outcome, _ = bulk_import(
        actor=world.user("ipo_js"), entity_key="measures", upload=SimpleUploadedFile("m.csv", content)
    )
    assert outcome.errors == [] and outcome.created == 1


def test_enterprise_rows_outside_reach_are_refused(world: World) -> None:
    export, _ = bulk_export(actor=world.user("ipo_bj"), entity_key="enterprises", file_format="csv")
    outcome, _ = bulk_import(
        actor=world.user("ipo_js"), entity_key="enterprises", upload=SimpleUploadedFile("e.csv", export.content)
    )
    assert not outcome.ok and all(e.row >= 2 for e in outcome.errors)
    assert Enterprise.objects.count() == 3
