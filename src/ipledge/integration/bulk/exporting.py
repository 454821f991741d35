"""An entity's visible rows as an xlsx workbook or a UTF-8 (BOM) CSV file.

Rows are read in chunks (``iterator(chunk_size=2000)``) so a large table never sits in memory as model instances;
the file itself is built in memory because its SHA-256 is recorded with the transfer. Every string cell is
neutralised against formula injection (``ipledge.core.exports``). Money is written exactly: in CSV as the decimal
string in yuan with two places, in xlsx as a number with the ``0.00`` format; dates as ISO dates.
"""

import datetime
import io
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from ipledge.core import exports

from .registry import MONEY, Entity

CHUNK = 2000
XLSX, CSV = "xlsx", "csv"
FORMATS = (XLSX, CSV)
CONTENT_TYPES = {
    XLSX: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    CSV: "text/csv; charset=utf-8",
}
BOM = "\ufeff"


@dataclass(frozen=True)
class ExportFile:
    content: bytes
    file_name: str
    file_format: str
    rows: int

    @property
    def content_type(self) -> str:
        return CONTENT_TYPES[self.file_format]


def rows(entity: Entity, user: Any) -> Iterator[list[Any]]:
    for obj in entity.rows(user).iterator(chunk_size=CHUNK):
        yield [column.value(obj, user) for column in entity.columns]


def _csv_cell(value: Any, kind: str) -> Any:
    if value is None:
        return ""
    if kind == MONEY and isinstance(value, Decimal):
        return format(value.quantize(Decimal("0.01")), "f")
    if isinstance(value, Decimal):
        return format(value, "f")
    if isinstance(value, datetime.datetime | datetime.date):
        return value.isoformat()
    return value


def csv_bytes(headers: list[str], body: Iterator[list[Any]], kinds: list[str]) -> tuple[bytes, int]:
    count = 0

    def lines() -> Iterator[list[Any]]:
        nonlocal count
        yield headers
        for row in body:
            count += 1
            yield [_csv_cell(v, k) for v, k in zip(row, kinds, strict=True)]

    text = BOM + exports.csv_text(lines())
    return text.encode("utf-8"), count


def xlsx_bytes(sheet_name: str, headers: list[str], body: Iterator[list[Any]], kinds: list[str]) -> tuple[bytes, int]:
    buffer = io.BytesIO()
    book = exports.workbook(buffer)
    sheet = book.add_worksheet(sheet_name[:31])
    bold = book.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1})
    money = book.add_format({"num_format": "0.00"})
    date = book.add_format({"num_format": "yyyy-mm-dd"})
    stamp = book.add_format({"num_format": "yyyy-mm-dd hh:mm:ss"})
    for col, title in enumerate(headers):
        sheet.write_string(0, col, title, bold)
        sheet.set_column(col, col, max(12, len(title) * 2 + 2))
    count = 0
    for count, row in enumerate(body, start=1):
        for col, value in enumerate(row):
            if value is None:
                continue
            if isinstance(value, datetime.datetime):
                sheet.write_datetime(count, col, value.replace(tzinfo=None), stamp)
            elif isinstance(value, datetime.date):
                sheet.write_datetime(count, col, datetime.datetime.combine(value, datetime.time()), date)
            elif isinstance(value, Decimal):
                # A yuan amount has at most 15 significant digits here, so the float is exact to the fen.
                sheet.write_number(count, col, float(value), money if kinds[col] == MONEY else None)
            elif isinstance(value, int | float) and not isinstance(value, bool):
                sheet.write_number(count, col, value)
            else:
                sheet.write_string(count, col, str(value))
    sheet.freeze_panes(1, 0)
    book.close()
    return buffer.getvalue(), count


def export(entity: Entity, user: Any, file_format: str, *, today: datetime.date) -> ExportFile:
    if file_format not in FORMATS:
        raise ValueError(f"format must be one of {FORMATS}")
    kinds = [c.kind for c in entity.columns]
    if file_format == CSV:
        content, count = csv_bytes(entity.headers, rows(entity, user), kinds)
    else:
        content, count = xlsx_bytes(entity.label, entity.headers, rows(entity, user), kinds)
    name = f"{entity.label}-{today.isoformat()}.{file_format}"
    return ExportFile(content=content, file_name=name, file_format=file_format, rows=count)
