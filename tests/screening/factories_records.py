"""Credit-record files for the records tests: csv / xlsx / JSON bytes and imports run through the service."""

from __future__ import annotations

import csv
import datetime
import io
import json
from typing import Any

import xlsxwriter

from ipledge.core.synthetic import make_uscc
from ipledge.screening.models import CreditImport
from ipledge.screening.services.records import credit_import
from tests.world import World

UNREGISTERED_USCC = make_uscc(region_code="110105", serial=9001)

PENALTY_HEADER = [
    "企业名称",
    "统一社会信用代码",
    "行政处罚决定书文号",
    "违法行为类型",
    "作出行政处罚决定机关名称",
    "作出行政处罚决定日期",
]
ABNORMAL_HEADER = ["企业名称", "统一社会信用代码", "列入经营异常名录原因", "列入日期", "作出决定机关(列入)", "移出日期"]


def csv_bytes(rows: list[list[Any]], encoding: str = "utf-8") -> bytes:
    buffer = io.StringIO()
    csv.writer(buffer).writerows(rows)
    return buffer.getvalue().encode(encoding)


def xlsx_bytes(rows: list[list[Any]]) -> bytes:
    buffer = io.BytesIO()
    workbook = xlsxwriter.Workbook(buffer, {"in_memory": True})
    sheet = workbook.add_worksheet()
    for r, row in enumerate(rows):
        for c, value in enumerate(row):
            if value is not None:
                sheet.write(r, c, value)
    workbook.close()
    return buffer.getvalue()


def json_bytes(data: Any) -> bytes:
    return json.dumps(data, ensure_ascii=False).encode()


def penalty_rows(w: World) -> list[list[Any]]:
    """E1 by USCC, E1b by its name only, E2 by USCC, and a firm the platform does not know (USCC unregistered)."""
    e1, e1b, e2 = w.enterprises["e1"], w.enterprises["e1b"], w.enterprises["e2"]
    return [
        PENALTY_HEADER,
        [e1.name, e1.uscc, "京海市监罚〔2025〕101号", "虚假宣传", "北京市海淀区市场监督管理局", "2025-03-05"],
        [
            e1b.name.replace("有限公司", "股份有限公司"),
            "",
            "京海市监罚〔2025〕102号",
            "未按规定公示",
            "海淀分局",
            "2025/3/6",
        ],
        [e2.name, e2.uscc, "宁江市监罚〔2025〕103号", "标签不合格", "江宁分局", "2025年3月7日"],
        ["北京朝阳某贸易有限公司", UNREGISTERED_USCC, "京朝市监罚〔2025〕104号", "无照经营", "朝阳分局", "2025-03-08"],
    ]


COURT_JSON = {
    "result": [
        {
            "iname": "北京微纳传感有限公司",
            "cardNum": "7178****-X",
            "courtName": "北京市海淀区人民法院",
            "caseCode": "(2023)京0108执456号",
            "disruptTypeName": "有履行能力而拒不履行生效法律文书确定义务",
            "publishDate": 1685548800000,
        },
        {
            "iname": "北京未登记贸易有限公司",
            "courtName": "北京市朝阳区人民法院",
            "caseCode": "(2023)京0105执789号",
            "publishDate": "1690848000000",
        },
    ]
}


def abnormal_rows(w: World, *, removed: str = "") -> list[list[Any]]:
    e1b = w.enterprises["e1b"]
    return [
        ABNORMAL_HEADER,
        [e1b.name, e1b.uscc, "未按规定公示年度报告", "2025-07-01", "海淀分局", removed],
    ]


def run_import(
    w: World,
    kind: str,
    content: bytes,
    *,
    file_name: str = "records.csv",
    org: str = "ipo_bj",
    user: str | None = "ipo_bj",
) -> CreditImport:
    return credit_import(
        organisation=w.orgs[org],
        kind=kind,
        file_name=file_name,
        content=content,
        acting_user=w.user(user) if user else None,
    )


def day(text: str) -> datetime.date:
    return datetime.date.fromisoformat(text)
