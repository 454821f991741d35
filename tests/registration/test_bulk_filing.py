"""Bulk filing (集中代办): a whole .xlsx validated before anything is written, then one filing per group."""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registration.bulk import BULK_COLUMNS, bulk_errors_workbook, bulk_file, bulk_template
from ipledge.registration.choices import FilingStatus
from ipledge.registration.models import PledgeFiling
from ipledge.registry.choices import IPKind
from ipledge.registry.services import ip_right_create, ip_right_update
from tests.api_helpers import API, assert_error, session_client
from tests.world import World

pytestmark = pytest.mark.django_db

HEADERS = [
    "出质人统一社会信用代码",
    "质权人机构编号",
    "债权种类",
    "被担保债权数额（元）",
    "履行期限起",
    "履行期限止",
    "担保范围",
    "合同编号",
    "权利类型",
    "权利号码",
    "共有人已同意",
    "申请组号",
]


def _xlsx(rows: list[list[Any]], headers: list[str] = HEADERS) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def _p2(world: World) -> Any:
    return ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2021, type_digit=2, serial=4000004),
        title="一种传感器封装结构",
        filing_date=datetime.date(2021, 2, 3),
        grant_date=datetime.date(2021, 9, 7),
        annual_fee_paid_until=timezone.localdate() + datetime.timedelta(days=365),
        owners=[{"enterprise": world.enterprises["e1"], "share": Decimal(100)}],
        acting_user=None,
    )


def _row(world: World, ent: str, pledgee: str, kind: str, number: str, group: str, **over: Any) -> list[Any]:
    today = timezone.localdate()
    values = {
        "uscc": world.enterprises[ent].uscc,
        "pledgee": str(world.orgs[pledgee].pk),
        "claim_kind": "借款合同债权",
        "amount": "3000000.00",
        "start": today.isoformat(),
        "end": (today + datetime.timedelta(days=365)).isoformat(),
        "scope": "主债权及利息",
        "contract": f"HT-{group}",
        "kind": kind,
        "number": number,
        "consent": "否",
        "group": group,
    }
    values.update(over)
    return list(values.values())


def _good_rows(world: World) -> list[list[Any]]:
    p2 = _p2(world)
    return [
        _row(world, "e1", "bank1_br2", "专利", world.rights["r1"].number, "A"),
        _row(world, "e1", "bank1_br2", "专利", p2.number, "A"),
        _row(world, "e1b", "bank1_br2", "商标", world.rights["r1b"].number, "B"),
    ]


def test_template_has_the_chinese_headers_in_order():
    sheet = openpyxl.load_workbook(io.BytesIO(bulk_template())).worksheets[0]
    headers = [str(c.value).rstrip("*") for c in sheet[1]]
    assert headers == HEADERS == [c.label for c in BULK_COLUMNS]


def test_good_file_creates_one_filing_per_group_awaiting_the_pledgor(world):
    for key in ("r1",):
        ip_right_update(
            right=world.rights[key],
            data={"annual_fee_paid_until": timezone.localdate() + datetime.timedelta(days=365)},
            acting_user=None,
        )
    result = bulk_file(filename="batch.xlsx", content=_xlsx(_good_rows(world)), acting_user=world.user("agency"))
    assert result.ok, result.errors
    assert result.rows == 3 and result.created == 2 and len(result.filing_ids) == 2
    filings = PledgeFiling.objects.filter(pk__in=result.filing_ids).order_by("pk")
    assert [f.status for f in filings] == [FilingStatus.AWAITING_PLEDGOR] * 2
    bundle, single = filings
    assert bundle.pledgor == world.enterprises["e1"] and bundle.items.count() == 2
    assert bundle.pledgee == world.orgs["bank1_br2"] and bundle.filed_by_org == world.orgs["agency"]
    assert bundle.claim_amount is not None and bundle.claim_amount.amount == Decimal("3000000.00")
    assert bundle.contract_no == "HT-A" and bundle.claim_kind == "loan"
    assert single.pledgor == world.enterprises["e1b"] and single.items.get().ip_right == world.rights["r1b"]
    for filing in filings:
        assert AuditEvent.objects.filter(action="pledge_filing.create", object_id=str(filing.pk)).exists()
    summary = AuditEvent.objects.get(action="pledge_filing.bulk")
    assert summary.changes["extra"]["created"] == 2


def test_bad_file_reports_every_cell_and_writes_nothing(world):
    rows = _good_rows(world)
    unknown = make_uscc(region_code="110108", serial=987654)
    rows[0][0] = unknown  # a valid code of no registered enterprise
    number = world.rights["r1b"].number
    rows[2][9] = make_patent_number(year=2019, type_digit=1, serial=1000001)[:-1] + (
        "0" if world.rights["r1"].number[-1] != "0" else "1"
    )  # wrong check digit
    rows[2][8] = "专利"
    rows[1][3] = "1000.005"  # three decimals
    rows.append(_row(world, "e1", "bank2", "商标", number, "C", end="2020-01-01", start="2021-01-01"))
    result = bulk_file(filename="batch.xlsx", content=_xlsx(rows), acting_user=world.user("agency"))
    assert not result.ok
    found = {(e.row, e.column, e.rule) for e in result.errors}
    assert (2, "出质人统一社会信用代码", "not_found") in found
    assert (3, "被担保债权数额（元）", "decimal_places") in found
    assert (4, "权利号码", "checksum") in found
    assert (5, "履行期限止", "date_order") in found
    assert (5, "出质人统一社会信用代码", "group_inconsistent") not in found  # its own group: nothing to compare
    assert not PledgeFiling.objects.exists()
    assert not AuditEvent.objects.filter(action__startswith="pledge_filing").exists()
    report = openpyxl.load_workbook(io.BytesIO(bulk_errors_workbook(result))).worksheets[0]
    assert [c.value for c in report[1]] == ["行号", "列名", "值", "规则", "说明"]
    assert report.max_row == len(result.errors) + 1


def test_group_rows_must_agree_and_rights_appear_once(world):
    rows = _good_rows(world)
    rows[1][3] = "4000000"  # same group A, another amount
    rows.append(_row(world, "e1", "bank1_br2", "专利", world.rights["r1"].number, "D"))
    result = bulk_file(filename="batch.xlsx", content=_xlsx(rows), acting_user=world.user("agency"))
    found = {(e.row, e.column, e.rule) for e in result.errors}
    assert (3, "被担保债权数额（元）", "group_inconsistent") in found
    assert (5, "权利号码", "duplicate_item") in found
    assert not PledgeFiling.objects.exists()


def test_bank_may_name_only_its_own_tree_as_pledgee(world):
    rows = [_row(world, "e1", "bank2", "专利", world.rights["r1"].number, "A")]
    result = bulk_file(filename="b.xlsx", content=_xlsx(rows), acting_user=world.user("bank1_sub"))
    assert {(e.row, e.column, e.rule) for e in result.errors} == {(2, "质权人机构编号", "not_found")}
    # A unit above the filer is not its to name either; a unit below it is.
    rows = [_row(world, "e1", "bank1", "专利", world.rights["r1"].number, "A")]
    result = bulk_file(filename="b.xlsx", content=_xlsx(rows), acting_user=world.user("bank1_sub"))
    assert {(e.row, e.column, e.rule) for e in result.errors} == {(2, "质权人机构编号", "not_found")}
    rows = [_row(world, "e1", "park1", "专利", world.rights["r1"].number, "A")]
    result = bulk_file(filename="b.xlsx", content=_xlsx(rows), acting_user=world.user("agency"))
    assert {(e.row, e.column, e.rule) for e in result.errors} == {(2, "质权人机构编号", "not_found")}
    assert not PledgeFiling.objects.exists()
    rows = [_row(world, "e1", "bank1_sub", "专利", world.rights["r1"].number, "A")]
    result = bulk_file(filename="b.xlsx", content=_xlsx(rows), acting_user=world.user("bank1_br"))
    assert result.ok and PledgeFiling.objects.get().pledgee == world.orgs["bank1_sub"]


def test_header_and_file_errors(world):
    result = bulk_file(
        filename="b.xlsx", content=_xlsx([], headers=["出质人", "颜色"]), acting_user=world.user("agency")
    )
    assert {e.rule for e in result.errors} >= {"unknown_column", "missing_column"}
    result = bulk_file(filename="b.xlsx", content=b"not a workbook", acting_user=world.user("agency"))
    assert [e.rule for e in result.errors] == ["file_format"]
    result = bulk_file(filename="b.xlsx", content=_xlsx([]), acting_user=world.user("agency"))
    assert [e.rule for e in result.errors] == ["empty_file"]


@pytest.mark.parametrize(("org", "role"), [("ent1", Role.OPERATOR), ("park1", Role.ADMIN), ("agency", Role.VIEWER)])
def test_only_bank_and_agency_staff_bulk_file(world, org, role):
    content = _xlsx([_row(world, "e1", "bank1_br2", "专利", world.rights["r1"].number, "A")])
    with pytest.raises(PermissionDenied):
        bulk_file(filename="b.xlsx", content=content, acting_user=world.user(org, role))
    response = session_client(world.user(org, role)).post(
        f"{API}/pledge-filings/bulk", {"file": SimpleUploadedFile("b.xlsx", content)}
    )
    assert_error(response, 403)
    assert not PledgeFiling.objects.exists()


def test_bulk_through_the_api(world):
    agency = session_client(world.user("agency"))
    template = agency.get(f"{API}/pledge-filings/bulk/template")
    assert template.status_code == 200 and template.content.startswith(b"PK\x03\x04")
    good = _xlsx(_good_rows(world))
    response = agency.post(f"{API}/pledge-filings/bulk", {"file": SimpleUploadedFile("batch.xlsx", good)})
    assert response.status_code == 201, response.content.decode()
    body = response.json()
    assert body["created"] == 2 and body["rows"] == 3
    assert set(body["filing_ids"]) == set(PledgeFiling.objects.values_list("pk", flat=True))
    rows = [_row(world, "e1", "bank1_br2", "专利", world.rights["r1"].number, "C", amount="1000.005")]
    bad = agency.post(f"{API}/pledge-filings/bulk", {"file": SimpleUploadedFile("bad.xlsx", _xlsx(rows))})
    assert_error(bad, 400, field="rows.2.被担保债权数额（元）", rule="decimal_places")
    assert PledgeFiling.objects.count() == 2
