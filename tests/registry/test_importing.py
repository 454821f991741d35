"""Bulk import of enterprises and IP rights: whole-file validation, all-or-nothing writes, idempotent re-import."""

from __future__ import annotations

import datetime
import io
import zipfile
from decimal import Decimal

import openpyxl
import pytest
from django.core.exceptions import PermissionDenied
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registry import importing
from ipledge.registry.importing import errors_workbook, import_registry_file, template_workbook
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, ParkMembership
from ipledge.registry.services import enterprise_update, ip_right_update

pytestmark = pytest.mark.django_db

ENT_HEADER = [
    "统一社会信用代码",
    "企业名称",
    "行业门类",
    "行业大类",
    "从业人员",
    "营业收入（元）",
    "资产总额（元）",
    "成立日期",
    "高新技术企业",
    "专精特新",
    "入园日期",
]
U1 = make_uscc(region_code="110108", serial=50001)
U2 = make_uscc(region_code="110105", serial=50002)
U3 = make_uscc(region_code="110108", serial=50003)
GOOD_ENTERPRISES = [
    [U1, "北京星河芯片有限公司", "C", "39", 85, "12000000.50", "20000000", "2016-05-04", "是", "否", "2023-03-01"],
    [U2, "北京云图软件有限公司", "I", "65", 40, "6000000", "", "2019/6/8", "否", "是", ""],
    [U3, "北京量子检测技术有限公司", "M", "", 12, "", "", "2020年1月15日", "", "", ""],
]
P1 = make_patent_number(year=2021, type_digit=1, serial=3000001)
P2 = make_patent_number(year=2022, type_digit=2, serial=3000002)
P3 = make_patent_number(year=2023, type_digit=3, serial=3000003)
IP_HEADER = [
    "类型",
    "号码",
    "名称",
    "申请日",
    "授权日",
    "法律状态",
    "主分类号",
    "权利要求数",
    "尼斯分类",
    "权利人统一社会信用代码",
    "份额",
    "其他权利人",
]


def xlsx(rows: list[list[object]]) -> bytes:
    workbook = openpyxl.Workbook()
    sheet = workbook.active
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    workbook.save(buffer)
    return buffer.getvalue()


def csv_bytes(rows: list[list[object]], encoding: str = "utf-8-sig") -> bytes:
    lines = [",".join("" if v is None else str(v) for v in row) for row in rows]
    return ("\r\n".join(lines) + "\r\n").encode(encoding)


def ip_rows(world) -> list[list[object]]:
    e1, e1b = world.enterprises["e1"].uscc, world.enterprises["e1b"].uscc
    return [
        IP_HEADER,
        ["专利", P1, "一种存算一体芯片", "2021-03-02", "2023-08-15", "有效", "G06N3/063", 12, "", e1, "", ""],
        [
            "patent",
            P2,
            "一种散热装置",
            datetime.date(2022, 4, 1),
            datetime.date(2022, 11, 8),
            "",
            "",
            6,
            "",
            f"{e1};{e1b}",
            "60;40",
            "",
        ],
        ["专利", P3, "芯片封装壳体", "2023-01-05", "2023-06-30", "有效", "", "", "", e1b, "70;30", "清华大学"],
        ["商标", "第55667788号", "星河", "2020-01-10", "2021-02-14", "有效", "", "", "9, 42", e1, "", ""],
        ["著作权", "2022SR0456789", "星河设备管理系统V1.0", "2022-05-01", "2022-06-20", "", "", "", "", e1b, "", ""],
    ]


def counts() -> tuple[int, int, int, int, int]:
    return (
        Enterprise.objects.count(),
        IPRight.objects.count(),
        IPRightOwner.objects.count(),
        ParkMembership.objects.count(),
        AuditEvent.objects.count(),
    )


# Good files


def test_enterprises_xlsx_creates_rows_memberships_and_audit_events(world):
    user = world.user("park1")
    before = AuditEvent.objects.count()
    result = import_registry_file(
        kind="enterprises",
        filename="企业.xlsx",
        content=xlsx([ENT_HEADER, *GOOD_ENTERPRISES]),
        acting_user=user,
        park=world.parks["p1"],
    )
    assert result.ok, result.errors
    assert (result.rows, result.created, result.updated, result.unchanged) == (3, 3, 0, 0)
    e = Enterprise.objects.get(uscc=U1)
    assert e.revenue == Money("12000000.50") and e.total_assets == Money("20000000")
    assert e.established_on == datetime.date(2016, 5, 4) and e.is_high_tech and not e.is_specialised
    assert e.region_code == "110108" and e.size_class == "small"
    assert ParkMembership.objects.get(enterprise=e).joined_on == datetime.date(2023, 3, 1)
    assert Enterprise.objects.get(uscc=U2).established_on == datetime.date(2019, 6, 8)
    assert Enterprise.objects.get(uscc=U3).established_on == datetime.date(2020, 1, 15)
    # Everything imported is visible to the importing park's users.
    assert Enterprise.objects.restrict(user, "view").filter(uscc__in=[U1, U2, U3]).count() == 3
    events = AuditEvent.objects.filter(pk__gt=0).order_by("id")[before:]
    actions = [ev.action for ev in events]
    assert actions.count("enterprise.create") == 3
    assert actions.count("park_membership.create") == 3
    summary = AuditEvent.objects.get(action="registry.import")
    assert summary.changes["extra"]["created"] == 3 and summary.changes["extra"]["filename"] == "企业.xlsx"
    assert summary.actor == user


@pytest.mark.parametrize("encoding", ["utf-8-sig", "utf-8", "gb18030"])
def test_enterprises_csv_with_english_headers_in_any_encoding(world, encoding):
    header = [
        "uscc",
        "name",
        "industry_section",
        "industry_division",
        "employees",
        "revenue",
        "total_assets",
        "established_on",
        "is_high_tech",
        "is_specialised",
        "joined_on",
    ]
    content = csv_bytes([header, *GOOD_ENTERPRISES], encoding=encoding)
    result = import_registry_file(
        kind="enterprises",
        filename="enterprises.csv",
        content=content,
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert result.ok, result.errors
    assert result.created == 3
    assert Enterprise.objects.get(uscc=U2).name == "北京云图软件有限公司"


def test_ip_rights_xlsx_creates_rights_with_owners(world):
    before = AuditEvent.objects.filter(action="ip_right.create").count()
    result = import_registry_file(
        kind="ip_rights", filename="ip.xlsx", content=xlsx(ip_rows(world)), acting_user=world.user("park1")
    )
    assert result.ok, result.errors
    assert result.created == 5
    invention = IPRight.objects.get(number=P1)
    assert invention.patent_type == "invention" and invention.term_end == datetime.date(2041, 3, 1)
    assert invention.valid_from == datetime.date(2023, 8, 15)
    co_owned = IPRight.objects.get(number=P2)
    assert sorted((o.enterprise.uscc, o.share) for o in co_owned.owners.all()) == sorted(
        [(world.enterprises["e1"].uscc, Decimal("60")), (world.enterprises["e1b"].uscc, Decimal("40"))]
    )
    with_holder = IPRight.objects.get(number=P3)
    assert {(o.holder_name, o.share) for o in with_holder.owners.all()} == {
        ("", Decimal(70)),
        ("清华大学", Decimal(30)),
    }
    assert IPRight.objects.get(number="55667788").nice_classes == [9, 42]
    assert IPRight.objects.get(number="2022SR0456789").work_kind == "software"
    assert AuditEvent.objects.filter(action="ip_right.create").count() == before + 5


def test_equal_split_default_adds_up_to_100(world):
    rows = [
        IP_HEADER,
        [
            "专利",
            P1,
            "一种方法",
            "2021-03-02",
            "",
            "审查中",
            "",
            "",
            "",
            f"{world.enterprises['e1'].uscc};{world.enterprises['e1b'].uscc}",
            "",
            "甲大学",
        ],
    ]
    result = import_registry_file(
        kind="ip_rights", filename="ip.csv", content=csv_bytes(rows), acting_user=world.user("park1")
    )
    assert result.ok, result.errors
    shares = sorted(o.share for o in IPRight.objects.get(number=P1).owners.all())
    assert sum(shares) == 100 and shares == [Decimal("33.33"), Decimal("33.33"), Decimal("33.34")]


# Bad files: every error named, nothing written


def test_bad_enterprise_file_reports_every_error_and_writes_nothing(world):
    bad_checksum = U1[:-1] + ("0" if U1[-1] != "0" else "1")
    rows = [
        ENT_HEADER,
        GOOD_ENTERPRISES[0],
        [bad_checksum, "校验错误公司", "C", "", 10, "", "", "", "", "", ""],  # row 3
        [U2, "日期错误公司", "C", "", 10, "", "", "2021-13-45", "", "", ""],  # row 4
        [U1, "重复公司", "C", "", 10, "", "", "", "", "", ""],  # row 5
        [9.1110108e17, "Excel数字公司", "C", "", 10, "", "", "", "", "", ""],  # row 6
        [U3, "金额公司", "Z", "", -3, "100.123", "", "", "也许", "", ""],  # row 7
    ]
    before = counts()
    result = import_registry_file(
        kind="enterprises",
        filename="bad.xlsx",
        content=xlsx(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert not result.ok
    assert counts() == before
    found = {(e.row, e.column, e.rule) for e in result.errors}
    assert (3, "统一社会信用代码", "checksum") in found
    assert (4, "成立日期", "date") in found
    assert (5, "统一社会信用代码", "duplicate_in_file") in found
    assert (6, "统一社会信用代码", "format") in found
    assert {
        (7, "行业门类", "industry_section"),
        (7, "从业人员", "min_value"),
        (7, "营业收入（元）", "decimal_places"),
        (7, "高新技术企业", "boolean"),
    } <= found
    excel = next(e for e in result.errors if e.row == 6)
    assert "数字" in excel.message and "文本" in excel.message and excel.value.startswith("9.11101")
    assert next(e for e in result.errors if e.row == 3).value == bad_checksum
    assert next(e for e in result.errors if e.row == 5).message == "与第2行的统一社会信用代码重复。"
    assert [e.row for e in result.errors] == sorted(e.row for e in result.errors)


def test_float_money_cells_are_taken_exactly_or_refused(world):
    rows = [ENT_HEADER[:6], [U1, "甲公司", "C", "", 10, 1234567.5], [U2, "乙公司", "C", "", 10, 1234.567]]
    result = import_registry_file(
        kind="enterprises",
        filename="m.xlsx",
        content=xlsx(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [(e.row, e.rule) for e in result.errors] == [(3, "decimal_places")]
    rows.pop()
    result = import_registry_file(
        kind="enterprises",
        filename="m.xlsx",
        content=xlsx(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert result.ok and Enterprise.objects.get(uscc=U1).revenue == Money("1234567.50")


def test_bad_ip_file_unknown_owners_and_bad_numbers_write_nothing(world):
    stranger = make_uscc(region_code="110108", serial=99999)  # valid, never registered
    other_park = world.enterprises["e2"].uscc  # registered, but in park P2: not park1's to change
    bad_patent = P1[:-1] + ("0" if P1[-1] != "0" else "1")
    rows = [
        IP_HEADER,
        ["专利", P1, "甲", "2021-03-02", "", "", "", "", "", stranger, "", ""],
        ["专利", P2, "乙", "2022-04-01", "", "", "", "", "", other_park, "", ""],
        ["专利", bad_patent, "丙", "2021-03-02", "", "", "", "", "", world.enterprises["e1"].uscc, "", ""],
        ["专利", P3, "丁", "2023-01-05", "2022-01-01", "", "", "", "", world.enterprises["e1"].uscc, "50;60", "某大学"],
        ["软件", "X1", "戊", "", "", "", "", "", "", world.enterprises["e1"].uscc, "", ""],
    ]
    before = counts()
    result = import_registry_file(
        kind="ip_rights", filename="bad.xlsx", content=xlsx(rows), acting_user=world.user("park1")
    )
    assert counts() == before
    found = {(e.row, e.column, e.rule) for e in result.errors}
    assert (2, "权利人统一社会信用代码", "unknown_owner") in found
    assert (3, "权利人统一社会信用代码", "unknown_owner") in found
    assert (4, "号码", "checksum") in found
    assert (5, "授权日", "date_order") in found
    assert (5, "份额", "share_total") in found
    assert (6, "类型", "ip_kind") in found
    unknown = next(e for e in result.errors if e.row == 2)
    assert unknown.value == stranger and stranger in unknown.message


def test_refusal_in_the_write_phase_rolls_back_every_row(world):
    # Passes cell checks, but the patent's computed term (2041) ends before the given start: only the model's
    # constraint sees it, after the first row has been written; the whole import must still come to nothing.
    header = ["类型", "号码", "名称", "申请日", "有效期起", "权利人统一社会信用代码"]
    owner = world.enterprises["e1"].uscc
    rows = [header, ["专利", P1, "甲", "2021-03-02", "", owner], ["专利", P2, "乙", "2022-04-01", "2050-01-01", owner]]
    before = counts()
    result = import_registry_file(
        kind="ip_rights", filename="ip.csv", content=csv_bytes(rows), acting_user=world.user("park1")
    )
    assert [(e.row, e.rule, e.message) for e in result.errors] == [(3, "constraint", "有效期止不能早于有效期起。")]
    assert (result.created, result.updated, result.unchanged) == (0, 0, 0)
    assert counts() == before


def test_missing_and_unknown_headers_are_one_error_each_on_row_1(world):
    rows = [["企业名称", "行业门类", "电话"], ["甲公司", "C", "010-1234"]]
    result = import_registry_file(
        kind="enterprises",
        filename="h.csv",
        content=csv_bytes(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert {(e.row, e.rule) for e in result.errors} == {(1, "unknown_column"), (1, "missing_column")}
    missing = next(e for e in result.errors if e.rule == "missing_column")
    assert "统一社会信用代码" in missing.message


def test_required_cells(world):
    rows = [ENT_HEADER[:3], [U1, "", "C"]]
    result = import_registry_file(
        kind="enterprises",
        filename="r.csv",
        content=csv_bytes(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [(e.row, e.column, e.rule) for e in result.errors] == [(2, "企业名称", "required")]


def test_division_must_belong_to_section(world):
    rows = [ENT_HEADER[:4], [U1, "甲公司", "I", "39"]]
    result = import_registry_file(
        kind="enterprises",
        filename="d.csv",
        content=csv_bytes(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [(e.column, e.rule) for e in result.errors] == [("行业大类", "industry_division")]


# Re-import is idempotent


def test_reimport_same_enterprise_file_changes_nothing(world):
    content = xlsx([ENT_HEADER, *GOOD_ENTERPRISES])
    kwargs = {
        "kind": "enterprises",
        "filename": "e.xlsx",
        "content": content,
        "acting_user": world.user("park1"),
        "park": world.parks["p1"],
    }
    assert import_registry_file(**kwargs).created == 3
    before = counts()
    last_event = AuditEvent.objects.order_by("-id").first().pk
    again = import_registry_file(**kwargs)
    assert again.ok and (again.created, again.updated, again.unchanged) == (0, 0, 3)
    after = counts()
    assert after[:4] == before[:4]
    assert list(AuditEvent.objects.filter(pk__gt=last_event).values_list("action", flat=True)) == ["registry.import"]


def test_reimport_with_one_change_updates_one_row(world):
    kwargs = {
        "kind": "enterprises",
        "filename": "e.xlsx",
        "acting_user": world.user("park1"),
        "park": world.parks["p1"],
    }
    import_registry_file(content=xlsx([ENT_HEADER, *GOOD_ENTERPRISES]), **kwargs)
    changed = [list(r) for r in GOOD_ENTERPRISES]
    changed[1][4] = 400  # employees of U2
    last_event = AuditEvent.objects.order_by("-id").first().pk
    result = import_registry_file(content=xlsx([ENT_HEADER, *changed]), **kwargs)
    assert (result.created, result.updated, result.unchanged) == (0, 1, 2)
    actions = list(AuditEvent.objects.filter(pk__gt=last_event).order_by("id").values_list("action", flat=True))
    assert actions == ["enterprise.update", "registry.import"]
    assert Enterprise.objects.get(uscc=U2).employees == 400


def test_reimport_same_ip_file_changes_nothing(world):
    content = xlsx(ip_rows(world))
    kwargs = {"kind": "ip_rights", "filename": "ip.xlsx", "content": content, "acting_user": world.user("park1")}
    assert import_registry_file(**kwargs).created == 5
    before = counts()
    last_event = AuditEvent.objects.order_by("-id").first().pk
    again = import_registry_file(**kwargs)
    assert again.ok, again.errors
    assert (again.created, again.updated, again.unchanged) == (0, 0, 5)
    assert counts()[:4] == before[:4]
    assert list(AuditEvent.objects.filter(pk__gt=last_event).values_list("action", flat=True)) == ["registry.import"]


def test_reimport_cannot_silently_change_owners(world):
    rows = ip_rows(world)[:2]
    import_registry_file(kind="ip_rights", filename="ip.csv", content=csv_bytes(rows), acting_user=world.user("park1"))
    rows[1][9] = world.enterprises["e1b"].uscc
    result = import_registry_file(
        kind="ip_rights", filename="ip.csv", content=csv_bytes(rows), acting_user=world.user("park1")
    )
    assert [e.rule for e in result.errors] == ["owners_changed"]


def test_update_services_neither_save_nor_audit_unchanged_values(world):
    """The contract the importer relies on when a changed-looking row turns out to be unchanged."""
    e1 = Enterprise.objects.get(pk=world.enterprises["e1"].pk)
    r1 = IPRight.objects.get(pk=world.rights["r1"].pk)
    before_events, e_stamp, r_stamp = AuditEvent.objects.count(), e1.updated_at, r1.updated_at
    enterprise_update(
        enterprise=e1,
        data={"name": e1.name, "revenue": Money("35000000"), "employees": 120},
        acting_user=world.user("park1"),
    )
    # A patent's term end is derived from its filing date: a typed-in value is recomputed, so nothing changes.
    ip_right_update(
        right=r1, data={"title": r1.title, "term_end": datetime.date(2050, 1, 1)}, acting_user=world.user("park1")
    )
    assert AuditEvent.objects.count() == before_events
    assert Enterprise.objects.get(pk=e1.pk).updated_at == e_stamp
    assert IPRight.objects.get(pk=r1.pk).updated_at == r_stamp
    enterprise_update(enterprise=e1, data={"employees": 121}, acting_user=world.user("park1"))
    assert AuditEvent.objects.count() == before_events + 1


# Permissions


def test_park2_operator_cannot_import_into_park1(world):
    content = xlsx([ENT_HEADER, *GOOD_ENTERPRISES])
    before = counts()
    with pytest.raises(PermissionDenied):
        import_registry_file(
            kind="enterprises",
            filename="e.xlsx",
            content=content,
            acting_user=world.user("park2"),
            park=world.parks["p1"],
        )
    assert counts() == before


@pytest.mark.parametrize(
    "org_key, role",
    [("park1", "viewer"), ("park1", "reviewer"), ("bank1", "operator"), ("reg_bj", "admin"), ("ent1", "operator")],
)
def test_users_who_may_not_add_enterprises_are_refused(world, org_key, role):
    with pytest.raises(PermissionDenied):
        import_registry_file(
            kind="enterprises",
            filename="e.xlsx",
            content=xlsx([ENT_HEADER, *GOOD_ENTERPRISES]),
            acting_user=world.user(org_key, role),
            park=world.parks["p1"],
        )


def test_park_admin_must_name_a_park(world):
    with pytest.raises(PermissionDenied):
        import_registry_file(
            kind="enterprises",
            filename="e.xlsx",
            content=xlsx([ENT_HEADER, *GOOD_ENTERPRISES]),
            acting_user=world.user("park1"),
        )


def test_existing_enterprise_elsewhere_is_not_permitted_without_leaking(world):
    e2 = world.enterprises["e2"]
    rows = [ENT_HEADER[:3], [e2.uscc, "改名公司", "C"]]
    before = counts()
    result = import_registry_file(
        kind="enterprises",
        filename="e.csv",
        content=csv_bytes(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [(e.row, e.rule) for e in result.errors] == [(2, "not_permitted")]
    assert e2.name not in result.errors[0].message
    assert counts() == before
    assert Enterprise.objects.get(pk=e2.pk).name == "南京光谱材料有限公司"


def test_ip_office_imports_in_its_jurisdiction_only_without_a_park(world):
    nanjing = make_uscc(region_code="320115", serial=70001)
    rows = [ENT_HEADER[:3], [U1, "北京甲公司", "C"], [nanjing, "南京乙公司", "C"]]
    result = import_registry_file(
        kind="enterprises", filename="e.csv", content=csv_bytes(rows), acting_user=world.user("ipo_bj")
    )
    assert [(e.row, e.rule) for e in result.errors] == [(3, "not_permitted")]
    result = import_registry_file(
        kind="enterprises", filename="e.csv", content=csv_bytes(rows[:2]), acting_user=world.user("ipo_bj")
    )
    assert result.ok and result.created == 1


def test_existing_enterprise_joins_the_park_on_import(world):
    e1b = world.enterprises["e1b"]
    rows = [ENT_HEADER[:3], [e1b.uscc, e1b.name, "C"]]
    # ipo_bj may change e1b (registered in Beijing) and may change park P1 (in Beijing); e1b is already a member.
    result = import_registry_file(
        kind="enterprises",
        filename="e.csv",
        content=csv_bytes(rows),
        acting_user=world.user("ipo_bj"),
        park=world.parks["p1"],
    )
    assert (result.updated, result.unchanged) == (0, 1)


# Bounds


def test_oversized_files_and_zip_bombs_are_refused(world, monkeypatch):
    content = xlsx([ENT_HEADER, *GOOD_ENTERPRISES])
    user, park = world.user("park1"), world.parks["p1"]
    monkeypatch.setattr(importing, "MAX_BYTES", 1000)
    result = import_registry_file(kind="enterprises", filename="e.xlsx", content=content, acting_user=user, park=park)
    assert [e.rule for e in result.errors] == ["file_too_large"]
    monkeypatch.setattr(importing, "MAX_BYTES", 20 * 1024 * 1024)

    bomb = io.BytesIO()
    with zipfile.ZipFile(bomb, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (3 * 1024 * 1024))
    monkeypatch.setattr(importing, "MAX_UNCOMPRESSED_BYTES", 2 * 1024 * 1024)
    result = import_registry_file(
        kind="enterprises", filename="bomb.xlsx", content=bomb.getvalue(), acting_user=user, park=park
    )
    assert [e.rule for e in result.errors] == ["file_too_large"]
    assert len(bomb.getvalue()) < 100_000  # small on disk, large inflated

    monkeypatch.setattr(importing, "MAX_ROWS", 2)
    result = import_registry_file(kind="enterprises", filename="e.xlsx", content=content, acting_user=user, park=park)
    assert [e.rule for e in result.errors] == ["file_too_large"]
    assert Enterprise.objects.filter(uscc__in=[U1, U2, U3]).count() == 0


def test_not_a_workbook(world):
    result = import_registry_file(
        kind="enterprises",
        filename="e.xlsx",
        content=b"PK\x03\x04garbage",
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [e.rule for e in result.errors] == ["file_format"]
    result = import_registry_file(
        kind="enterprises",
        filename="e.xls",
        content=b"\xd0\xcf\x11\xe0",
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert [e.rule for e in result.errors] == ["file_format"]


# Workbooks


def test_errors_workbook_lists_the_errors(world):
    rows = [ENT_HEADER[:3], ['=HYPERLINK("x")', "甲", "C"], [U1, "乙", "Q9"]]
    result = import_registry_file(
        kind="enterprises",
        filename="e.csv",
        content=csv_bytes(rows),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    sheet = openpyxl.load_workbook(io.BytesIO(errors_workbook(result))).worksheets[0]
    values = [list(r) for r in sheet.iter_rows(values_only=True)]
    assert values[0] == ["行号", "列名", "值", "规则", "说明"]
    assert len(values) == 1 + len(result.errors) == 3
    # The echoed value is neutralised (ipledge.core.exports): text, never a formula.
    assert values[1][:4] == [2, "统一社会信用代码", '\'=HYPERLINK("x")', "length"]
    assert values[2][:4] == [3, "行业门类", "Q9", "industry_section"]
    assert sheet.cell(row=2, column=3).data_type == "s"  # stored as text, never a formula


@pytest.mark.parametrize("kind", ["enterprises", "ip_rights"])
def test_template_has_header_and_example(kind):
    sheet = openpyxl.load_workbook(io.BytesIO(template_workbook(kind))).worksheets[0]
    header, example = list(sheet.iter_rows(values_only=True))[:2]
    labels = [c.label for c in importing.COLUMNS[kind]]
    assert [h.rstrip("*") for h in header] == labels
    assert any(example)


def test_enterprise_template_imports_as_is(world):
    result = import_registry_file(
        kind="enterprises",
        filename="template.xlsx",
        content=template_workbook("enterprises"),
        acting_user=world.user("park1"),
        park=world.parks["p1"],
    )
    assert result.ok, result.errors
    assert result.created == 1


# Management command


def test_import_command_success_and_errors(world, tmp_path):
    good = tmp_path / "good.xlsx"
    good.write_bytes(xlsx([ENT_HEADER, *GOOD_ENTERPRISES]))
    out = io.StringIO()
    call_command(
        "import_registry",
        "--kind",
        "enterprises",
        "--user",
        "park1_operator",
        "--park",
        str(world.parks["p1"].pk),
        str(good),
        stdout=out,
    )
    assert "created 3" in out.getvalue()

    bad = tmp_path / "bad.csv"
    bad.write_bytes(csv_bytes([ENT_HEADER[:3], ["123", "甲", "C"]]))
    out = io.StringIO()
    with pytest.raises(CommandError) as excinfo:
        call_command(
            "import_registry",
            "--kind",
            "enterprises",
            "--user",
            "park1_operator",
            "--park",
            str(world.parks["p1"].pk),
            str(bad),
            stdout=out,
        )
    assert excinfo.value.returncode == 1
    assert "2\t统一社会信用代码\t123\tlength" in out.getvalue()
    report = tmp_path / "bad.csv.errors.xlsx"
    assert report.exists()
    assert openpyxl.load_workbook(report).worksheets[0].cell(row=2, column=4).value == "length"

    with pytest.raises(CommandError):
        call_command(
            "import_registry",
            "--kind",
            "enterprises",
            "--user",
            "park2_operator",
            "--park",
            str(world.parks["p1"].pk),
            str(good),
            stdout=io.StringIO(),
        )
