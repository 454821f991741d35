"""Reading credit-record files (screening.importing): csv in UTF-8, UTF-8 with BOM and GB18030, a real xlsx, court
JSON with epoch-millisecond dates, every field name of the field dictionary, and the row-level errors (row number
as the user sees it, the file's own header, the rule)."""

from __future__ import annotations

import csv
import datetime
import io
import json
from pathlib import Path
from typing import Any

import pytest
import xlsxwriter

from ipledge.core.synthetic import make_uscc
from ipledge.screening.choices import FileFormat, RecordKind
from ipledge.screening.importing import (
    MAX_ERRORS,
    PENALTY_PUBLICITY_YEARS,
    ParseResult,
    parse_records,
    recognises,
)

TODAY = datetime.date(2026, 6, 1)
USCC_A = make_uscc(region_code="110108", serial=1001)
USCC_B = make_uscc(region_code="320115", serial=2001)


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]], *, date_column: int | None = None) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet("记录")
    date_format = workbook.add_format({"num_format": "yyyy-mm-dd"})
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if isinstance(value, datetime.date) and c == date_column:
                sheet.write_datetime(r, c, datetime.datetime.combine(value, datetime.time()), date_format)
            elif value is None:
                continue
            else:
                sheet.write(r, c, value)
    workbook.add_worksheet("说明").write(0, 0, "second sheet is ignored")
    workbook.close()
    return buffer.getvalue()


def parse(kind: str, name: str, content: bytes) -> ParseResult:
    return parse_records(kind, name, content, today=TODAY)


def errors(result: ParseResult) -> list[tuple[int, str, str]]:
    return [(e.row, e.field, e.rule) for e in result.errors]


PENALTY_HEADER = [
    "企业名称",
    "统一社会信用代码",
    "行政处罚决定书文号",
    "违法行为类型",
    "作出行政处罚决定机关名称",
    "作出行政处罚决定日期",
]
PENALTY_ROWS = [
    ["北京智芯科技有限公司", USCC_A, "京海市监罚〔2024〕1号", "虚假宣传", "北京市海淀区市场监督管理局", "2024-03-05"],
    ["北京微纳传感有限公司", "", "京海市监罚〔2024〕2号", "未按规定公示", "北京市海淀区市场监督管理局", "2024/3/6"],
    [
        "南京光谱材料有限公司",
        USCC_B,
        "宁江市监罚〔2024〕3号",
        "标签不合格",
        "南京市江宁区市场监督管理局",
        "2024年3月7日",
    ],
]


@pytest.mark.parametrize("encoding", ["utf-8", "utf-8-sig", "gb18030"])
def test_csv_in_each_encoding(encoding: str) -> None:
    result = parse(RecordKind.PENALTY, "penalties.csv", csv_bytes([PENALTY_HEADER, *PENALTY_ROWS], encoding))
    assert result.ok, result.errors
    assert result.file_format == FileFormat.CSV and result.rows_total == 3
    first, second, third = result.records
    assert (first.row, first.subject_uscc, first.reference) == (2, USCC_A, "京海市监罚〔2024〕1号")
    assert first.subject_name == "北京智芯科技有限公司" and first.category == "虚假宣传"
    assert [r.listed_on for r in result.records] == [
        datetime.date(2024, 3, 5),
        datetime.date(2024, 3, 6),
        datetime.date(2024, 3, 7),
    ]
    # Without a publicity end or repair date a penalty counts for the longest publicity period.
    assert first.expires_on == datetime.date(2024 + PENALTY_PUBLICITY_YEARS, 3, 5) and first.removed_on is None
    assert first.source_key == f"京海市监罚〔2024〕1号|{USCC_A}"
    assert second.subject_uscc == "" and second.source_key == "京海市监罚〔2024〕2号|北京微纳传感有限公司"
    assert third.raw["作出行政处罚决定日期"] == "2024年3月7日"


def test_penalty_publicity_end_and_repair_date() -> None:
    header = [*PENALTY_HEADER, "公示截止日期", "信用修复日期"]
    rows = [
        [*PENALTY_ROWS[0], "2024-12-05", ""],
        [*PENALTY_ROWS[1], "", "2024-09-01"],
    ]
    result = parse(RecordKind.PENALTY, "p.csv", csv_bytes([header, *rows]))
    assert result.ok, result.errors
    a, b = result.records
    assert (a.expires_on, a.removed_on) == (datetime.date(2024, 12, 5), None)
    assert (b.expires_on, b.removed_on) == (datetime.date(2027, 3, 6), datetime.date(2024, 9, 1))


def test_xlsx_first_sheet_with_date_cells() -> None:
    header = [
        "企业名称",
        "统一社会信用代码",
        "列入经营异常名录原因",
        "列入日期",
        "作出决定机关(列入)",
        "移出日期",
        "备注",
    ]
    rows = [
        ["北京智芯科技有限公司", USCC_A, "通过登记的住所无法联系", datetime.date(2023, 5, 10), "海淀分局", None, "x"],
        [None, None, None, None, None, None, None],  # blank rows are skipped but keep the numbering
        [
            "北京微纳传感有限公司",
            None,
            "未按规定公示年度报告",
            datetime.date(2022, 7, 1),
            "海淀分局",
            "2023-01-15",
            None,
        ],
    ]
    result = parse(RecordKind.ABNORMAL, "abnormal.xlsx", xlsx_bytes([header, *rows], date_column=3))
    assert result.ok, result.errors
    assert result.file_format == FileFormat.XLSX
    a, b = result.records
    assert (a.row, a.listed_on, a.authority, a.removed_on) == (2, datetime.date(2023, 5, 10), "海淀分局", None)
    assert (b.row, b.removed_on, b.subject_uscc) == (4, datetime.date(2023, 1, 15), "")
    assert a.source_key == f"{USCC_A}|2023-05-10|海淀分局"
    assert a.raw["列入日期"].startswith("2023-05-10") and a.raw["备注"] == "x"


def test_xlsx_errors_name_the_spreadsheet_row() -> None:
    header = ["企业名称", "列入日期", "作出决定机关", "移出日期"]
    rows = [
        ["北京智芯科技有限公司", "2023-05-10", "海淀分局", "2023-05-01"],
        ["北京微纳传感有限公司", "昨天", "海淀分局", ""],
    ]
    result = parse(RecordKind.SERIOUS_VIOLATION, "s.xlsx", xlsx_bytes([header, *rows]))
    assert errors(result) == [(2, "移出日期", "date_order"), (3, "列入日期", "date")]
    assert "列入日期" in result.errors[0].message and result.errors[0].message_en


COURT_JSON = {
    "result": [
        {
            "iname": "北京微纳传感有限公司",
            "cardNum": "7178****-X",
            "businessEntity": "张三",
            "courtName": "北京市海淀区人民法院",
            "areaName": "北京",
            "gistId": "(2022)京0108民初123号",
            "regDate": 1672502400000,
            "caseCode": "(2023)京0108执456号",
            "gistUnit": "北京市海淀区人民法院",
            "duty": "支付货款100万元",
            "performance": "全部未履行",
            "performedPart": "0",
            "unperformPart": "100万元",
            "disruptTypeName": "有履行能力而拒不履行生效法律文书确定义务",
            "publishDate": 1685548800000,
        },
        {
            "iname": "南京光谱材料有限公司",
            "cardNum": USCC_B,
            "courtName": "南京市江宁区人民法院",
            "caseCode": "(2023)苏0115执789号",
            "publishDate": "1690848000000",
        },
    ]
}


def test_court_json_with_epoch_millisecond_dates() -> None:
    result = parse(RecordKind.DISHONEST, "court.json", json.dumps(COURT_JSON, ensure_ascii=False).encode())
    assert result.ok, result.errors
    assert result.file_format == FileFormat.JSON
    a, b = result.records
    # 1685548800000 ms = 2023-06-01 00:00 Beijing time (2023-05-31 16:00 UTC).
    assert (a.row, a.listed_on, a.subject_uscc, a.authority) == (
        1,
        datetime.date(2023, 6, 1),
        "",
        "北京市海淀区人民法院",
    )
    assert a.category.startswith("有履行能力") and a.reference == "(2023)京0108执456号"
    assert a.raw["cardNum"] == "7178****-X" and a.raw["regDate"] == 1672502400000
    assert (b.row, b.subject_uscc, b.listed_on) == (2, USCC_B, datetime.date(2023, 8, 1))
    assert b.source_key == f"(2023)苏0115执789号|{USCC_B}"


@pytest.mark.parametrize(
    "wrap",
    [
        lambda items: items,
        lambda items: {"data": items},
        lambda items: {"list": items},
        lambda items: {"code": 0, "result": {"list": items, "total": len(items)}},
    ],
)
def test_json_shapes(wrap: Any) -> None:
    items = [{"entName": "北京智芯科技有限公司", "uniScid": USCC_A, "inDate": "2023-05-10", "inOrgan": "海淀分局"}]
    result = parse(RecordKind.ABNORMAL, "list.json", json.dumps(wrap(items), ensure_ascii=False).encode())
    assert result.ok, result.errors
    assert result.records[0].subject_uscc == USCC_A


def test_json_errors_name_the_key_and_position() -> None:
    items = [
        {"entName": "北京智芯科技有限公司", "uniScid": "91110108000010014X", "inDate": "2023-05-10"},
        "not an object",
        {"entName": "北京微纳传感有限公司"},
        {"entName": "南京光谱材料有限公司", "inDate": 20230510, "列入日期": "2023-05-10"},
    ]
    result = parse(RecordKind.ABNORMAL, "list.json", json.dumps(items, ensure_ascii=False).encode())
    assert errors(result) == [
        (1, "uniScid", "checksum"),
        (2, "", "not_object"),
        (3, "列入日期", "required"),
        (4, "inDate", "date"),
        (4, "列入日期", "duplicate_field"),
    ]
    assert not result.ok


def test_tax_ratings() -> None:
    header = ["纳税人名称", "纳税人识别号", "纳税信用级别", "评价年度"]
    rows = [
        ["北京智芯科技有限公司", USCC_A, "A", "2024"],
        ["北京微纳传感有限公司", "110108700000123", "m级", "2025年度"],
    ]
    result = parse(RecordKind.TAX_RATING, "tax.csv", csv_bytes([header, *rows]))
    assert result.ok, result.errors
    a, b = result.records
    assert (a.subject_uscc, a.tax_rating, a.rating_year, a.listed_on) == (USCC_A, "A", 2024, datetime.date(2025, 4, 30))
    assert (b.subject_uscc, b.tax_rating, b.rating_year) == ("", "M", 2025)
    assert b.raw["纳税人识别号"] == "110108700000123"
    assert a.source_key == f"{USCC_A}|2024" and b.source_key == "北京微纳传感有限公司|2025"
    json_rows = [{"entName": "南京光谱材料有限公司", "nsrsbh": USCC_B, "rating": "D", "year": 2024}]
    (c,) = parse(RecordKind.TAX_RATING, "tax.json", json.dumps(json_rows, ensure_ascii=False).encode()).records
    assert (c.subject_uscc, c.tax_rating) == (USCC_B, "D")


def test_tax_rating_errors() -> None:
    header = ["纳税人名称", "统一社会信用代码", "纳税信用级别", "评价年度"]
    rows = [
        ["北京智芯科技有限公司", USCC_A, "E", "2024"],
        ["北京微纳传感有限公司", "", "B", str(TODAY.year)],
        ["南京光谱材料有限公司", "", "B", "2013"],
        ["", "", "A", "2024"],
    ]
    result = parse(RecordKind.TAX_RATING, "tax.csv", csv_bytes([header, *rows]))
    assert errors(result) == [
        (2, "纳税信用级别", "rating"),
        (3, "评价年度", "year"),
        (4, "评价年度", "year"),
        (5, "纳税人名称", "required_subject"),
    ]


def test_bad_rows_are_all_reported() -> None:
    header = ["被执行人姓名/名称", "统一社会信用代码", "案号", "执行法院", "发布时间", "移出日期"]
    rows = [
        ["北京智芯科技有限公司", USCC_A, "(2023)京0108执1号", "海淀法院", "2023-06-01", ""],
        ["北京微纳传感有限公司", "91110108000010014X", "(2023)京0108执2号", "海淀法院", "2023-06-01", ""],
        ["北京智芯科技有限公司", USCC_A, "(2023)京0108执1号", "海淀法院", "2023-07-01", ""],
        ["南京光谱材料有限公司", "", "", "江宁法院", "2023-13-01", ""],
        ["北京微纳传感有限公司", "", "(2023)京0108执3号", "海淀法院", "2023-06-01", "2023-05-31"],
        ["北京微纳传感有限公司", "", "(2023)京0108执4号", "海淀法院", "1685548800000", "2023年6月2日"],
    ]
    result = parse(RecordKind.DISHONEST, "d.csv", csv_bytes([header, *rows]))
    assert errors(result) == [
        (3, "统一社会信用代码", "checksum"),
        (4, "案号", "duplicate"),
        (5, "发布时间", "date"),
        (5, "案号", "required"),
        (6, "移出日期", "date_order"),
    ]
    assert "第2行" in result.errors[1].message
    assert result.errors[0].message == "统一社会信用代码校验码错误（GB 32100-2015）"


def test_missing_and_doubled_columns_are_header_errors() -> None:
    result = parse(
        RecordKind.PENALTY, "p.csv", csv_bytes([["企业名称", "决定日期"], ["北京智芯科技有限公司", "2024-01-01"]])
    )
    assert errors(result) == [(1, "行政处罚决定书文号", "missing_column")]
    doubled = [["企业名称", "案号", "caseCode", "发布时间"], ["北京智芯科技有限公司", "1", "2", "2023-06-01"]]
    result = parse(RecordKind.DISHONEST, "d.csv", csv_bytes(doubled))
    assert errors(result) == [(1, "caseCode", "duplicate_column")]
    no_subject = [["案号", "发布时间"], ["(2023)京0108执1号", "2023-06-01"]]
    assert errors(parse(RecordKind.DISHONEST, "d.csv", csv_bytes(no_subject))) == [
        (1, "被执行人姓名/名称", "missing_column")
    ]


def test_headers_compare_loosely() -> None:
    rows = [["企业名称 ", "作出决定机关（列入）", " 列入日期*"], ["北京智芯科技有限公司", "海淀分局", "2023-05-10"]]
    result = parse(RecordKind.ABNORMAL, "a.csv", csv_bytes(rows))
    assert result.ok, result.errors
    assert result.records[0].authority == "海淀分局"


@pytest.mark.parametrize(
    ("name", "content", "rule"),
    [
        ("empty.csv", b"", "empty_file"),
        ("only-header.csv", "企业名称,列入日期\n".encode(), "no_rows"),
        ("bad.json", b'{"data": [', "file_format"),
        ("bad.json", b'{"rows": []}', "file_format"),
        ("bad.xlsx", b"PK\x03\x04not a zip", "file_format"),
        ("old.xls", b"\xd0\xcf\x11\xe0", "file_format"),
        ("latin.csv", "企业名称".encode("utf-16"), "encoding"),
    ],
)
def test_file_level_errors(name: str, content: bytes, rule: str) -> None:
    result = parse(RecordKind.ABNORMAL, name, content)
    assert [(e.row, e.rule) for e in result.errors] == [(0, rule)]
    assert result.records == [] or not result.ok


def test_format_is_sniffed_without_an_extension() -> None:
    items = [{"entName": "北京智芯科技有限公司", "inDate": "2023-05-10"}]
    assert parse(RecordKind.ABNORMAL, "upload", json.dumps(items).encode()).file_format == FileFormat.JSON
    workbook = xlsx_bytes([["企业名称", "列入日期"], ["北京智芯科技有限公司", "2023-05-10"]])
    assert parse(RecordKind.ABNORMAL, "upload", workbook).file_format == FileFormat.XLSX


def test_error_list_is_capped() -> None:
    rows = [["企业名称", "列入日期"], *(["北京智芯科技有限公司", "bad"] for _ in range(MAX_ERRORS + 10))]
    result = parse(RecordKind.ABNORMAL, "a.csv", csv_bytes(rows))
    assert len(result.errors) == MAX_ERRORS + 1 and result.errors[-1].rule == "too_many_errors"


# ------------------------------------------------------------------------------------------ the field dictionary

DICTIONARY_KINDS = {
    "失信被执行人": RecordKind.DISHONEST,
    "行政处罚": RecordKind.PENALTY,
    "经营异常名录": RecordKind.ABNORMAL,
    "严重违法失信名单": RecordKind.SERIOUS_VIOLATION,
}


def _names(cell: str) -> list[str]:
    return [part.strip() for chunk in cell.split(";") for part in chunk.split(" / ") if part.strip()]


def test_every_field_of_the_dictionary_is_recognised(shared_data: Path) -> None:
    """Each Chinese field name and JSON key of ../shared/data/credit_record_field_dictionary.csv is accepted as a
    header of its record kind (the serious-violation list reuses the abnormal list's keys)."""
    path = shared_data / "credit_record_field_dictionary.csv"
    with path.open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    assert rows
    unknown: list[str] = []
    keys_of: dict[str, list[str]] = {}
    checked = 0
    for row in rows:
        kind = DICTIONARY_KINDS[row["record_type"].split(" (")[0]]
        keys = row["field_key_seen_in_public_code"]
        keys_of.setdefault(kind, [])
        if keys.startswith("(same pattern as"):
            keys_of[kind].extend(keys_of[RecordKind.ABNORMAL])
            names = _names(row["field_zh"])
        else:
            names = [*_names(row["field_zh"]), *_names(keys)]
            keys_of[kind].extend(_names(keys))
        for name in names:
            checked += 1
            if not recognises(kind, name):
                unknown.append(f"{kind}: {name}")
    for key in keys_of[RecordKind.SERIOUS_VIOLATION]:
        checked += 1
        if not recognises(RecordKind.SERIOUS_VIOLATION, key):
            unknown.append(f"serious_violation: {key}")
    assert not unknown, unknown
    assert checked > 50


def test_blank_required_cell_is_named_by_the_files_header() -> None:
    rows = [
        ["iname", "caseCode", "publishDate"],
        ["北京智芯科技有限公司", "", "2023-06-01"],
        ["", "(2023)京0108执1号", "2023-06-01"],
    ]
    result = parse(RecordKind.DISHONEST, "d.csv", csv_bytes(rows))
    assert errors(result) == [(2, "caseCode", "required"), (3, "iname", "required_subject")]
