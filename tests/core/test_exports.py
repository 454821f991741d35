"""Exports (ipledge.core.exports): no cell of any xlsx or csv export comes out as a formula or with a raw formula
prefix; numbers stay numbers. Every export of every app is driven with hostile names."""

from __future__ import annotations

import csv
import datetime
import io
import re
from decimal import Decimal
from pathlib import Path
from typing import Any

import openpyxl
import polars as pl
import pytest

from ipledge.core import exports
from ipledge.core.exports import neutralise, restore

HOSTILE = ['=HYPERLINK("http://x","y")', "+1", "-1+1", "@SUM(A1)", "\t=1", " =1+1", "\r=cmd|' /C calc'!A0"]
SRC = Path(__file__).resolve().parents[2] / "src" / "ipledge"


def cells(content: bytes) -> list[tuple[str, Any, str]]:
    """(sheet, value, data type) of every non-empty cell, formulas kept as formulas (not evaluated)."""
    book = openpyxl.load_workbook(io.BytesIO(content))
    return [
        (sheet.title, cell.value, cell.data_type)
        for sheet in book.worksheets
        for row in sheet.iter_rows()
        for cell in row
        if cell.value is not None
    ]


def _norm(value: Any) -> Any:
    # XML turns a carriage return into a line feed (or _x000D_) on the way through the file.
    return value.replace("_x000D_", "\n").replace("\r", "\n") if isinstance(value, str) else value


def assert_no_formula(content: bytes, *, every: bool = True) -> list[Any]:
    found = cells(content)
    for sheet, value, data_type in found:
        assert data_type != "f", (sheet, value)
        if isinstance(value, str):
            stripped = value.lstrip()
            assert not stripped.startswith(("=", "+", "-", "@")), (sheet, value)
            assert not value.startswith(("\t", "\r")), (sheet, value)
    values = [_norm(v) for _s, v, _t in found]
    present = [text for text in HOSTILE if _norm("'" + text) in values]  # present, neutralised
    assert present == HOSTILE if every else present, (present, values)
    return values


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+1", "'+1"),
        ("-1+1", "'-1+1"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("  =1", "'  =1"),
        ("\n@x", "'\n@x"),
        ("正常文本", "正常文本"),
        ("a=b", "a=b"),
        ("", ""),
        ("'=1", "'=1"),  # already neutral: not prefixed twice
        (-1, -1),
        (Decimal("-2.50"), Decimal("-2.50")),
        (1.5, 1.5),
        (None, None),
    ],
)
def test_neutralise(value, expected):
    assert neutralise(value) == expected


@pytest.mark.parametrize(
    "value", ["=1+1", "+8613800000000", "-5%", "@SUM(A1)", "\t=1", "  =1", "正常文本", "", 7, None]
)
def test_restore_undoes_neutralise(value):
    assert restore(neutralise(value)) == value


def test_restore_leaves_an_ordinary_apostrophe():
    assert restore("'quoted'") == "'quoted'"
    # Text that already began with an apostrophe before a formula sign is exported as is and comes back without the
    # apostrophe: the one ambiguity, and harmless (stored as text, neutralised again on the next export).
    assert restore("'=1") == "=1"


def test_the_market_modules_use_the_central_neutralise():
    from ipledge.market import export_events, export_surveys

    assert export_events.neutralise is neutralise and export_surveys.neutralise is neutralise


def test_every_workbook_in_the_code_is_made_by_the_safe_factory():
    """A new export cannot forget: xlsxwriter.Workbook is created only in core/exports.py, and csv.writer only
    where no user-facing export is written (the screening seed builds import files)."""
    offenders = []
    for path in SRC.rglob("*.py"):
        text = path.read_text(encoding="utf-8")
        rel = path.relative_to(SRC).as_posix()
        if re.search(r"xlsxwriter\.Workbook\(|openpyxl\.Workbook\(|\bWorkbook\(", text) and rel != "core/exports.py":
            offenders.append(rel)
        if "csv.writer(" in text and rel not in ("core/exports.py", "screening/seeding.py"):
            offenders.append(rel)
    assert offenders == []


def test_the_factory_neutralises_every_write_method_and_keeps_numbers():
    buffer = io.BytesIO()
    book = exports.workbook(buffer, {"strings_to_formulas": True, "strings_to_urls": True})  # cannot re-enable
    sheet = book.add_worksheet("t")
    sheet.write_row(0, 0, HOSTILE)
    for col, text in enumerate(HOSTILE):
        sheet.write(1, col, text)
        sheet.write_string(2, col, text)
    sheet.write_column(3, 0, [-1, 2.5, Decimal("3.25")])
    sheet.write(6, 0, "http://example.com")
    book.close()
    values = assert_no_formula(buffer.getvalue())
    assert [v for v in values if isinstance(v, int | float)] == [-1, 2.5, 3.25]
    assert "http://example.com" in values


def test_csv_rows_are_neutralised():
    text = exports.csv_text([["名称", "数量"], *[[h, -3] for h in HOSTILE]])
    rows = list(csv.reader(io.StringIO(text)))
    assert [r[0] for r in rows[1:]] == ["'" + h for h in HOSTILE]
    assert {r[1] for r in rows[1:]} == {"-3"}  # a number is not text: it stays a number


# --------------------------------------------------------------------------------------------------- each export


@pytest.mark.django_db
def test_registry_and_bulk_filing_error_workbooks(world):
    from ipledge.registration.bulk import bulk_errors_workbook, bulk_file, bulk_template
    from ipledge.registry.importing import errors_workbook, import_registry_file, template_workbook

    rows = [["统一社会信用代码", "企业名称", "行业门类"], *[[h, h, "C"] for h in HOSTILE]]
    content = "\n".join(",".join(f'"{c}"' for c in r) for r in rows).encode()
    result = import_registry_file(
        kind="enterprises", filename="e.csv", content=content, acting_user=world.user("park1"), park=world.parks["p1"]
    )
    assert result.errors
    assert_no_formula(errors_workbook(result), every=False)
    bulk = bulk_file(filename="b.csv", content=content, acting_user=world.user("agency"))
    assert bulk.errors
    values = [v for _s, v, _t in cells(bulk_errors_workbook(bulk))]
    assert not [v for v in values if isinstance(v, str) and v.lstrip()[:1] in tuple("=+-@")], values
    for template in (template_workbook("enterprises"), template_workbook("ip_rights"), bulk_template()):
        assert all(t != "f" for _s, _v, t in cells(template))


def test_lending_workbooks():
    from ipledge.lending.indicators import tables_workbook
    from ipledge.lending.views import _workbook

    assert_no_formula(_workbook("贷款", ["借款人", "金额"], [[h, Decimal("-1.00")] for h in HOSTILE]))
    table = pl.DataFrame({"bank_name": HOSTILE, "loan_count": list(range(len(HOSTILE)))})
    values = assert_no_formula(tables_workbook({"by_bank": table}, subtitle="=1"))
    assert 0 in values and 6 in values


def test_screening_whitelist_workbook(monkeypatch):
    from ipledge.screening import export_banking

    width = len(export_banking.headers())
    hostile_rows = [[h] * width for h in HOSTILE]
    rows = iter(hostile_rows)
    monkeypatch.setattr(
        export_banking, "_row", lambda _entry: [v if i not in (7, 11, 12) else None for i, v in enumerate(next(rows))]
    )
    assert_no_formula(export_banking.whitelist_workbook([object()] * len(HOSTILE)))


def test_market_event_and_survey_writers():
    from ipledge.market import export_events

    buffer = io.BytesIO()
    book = exports.workbook(buffer)
    sheet = book.add_worksheet("x")
    for row, text in enumerate(HOSTILE):
        export_events._write(sheet, row, [text, row, datetime.date(2026, 1, 1)], {})
    book.close()
    assert_no_formula(buffer.getvalue())


@pytest.mark.django_db
def test_market_product_template_and_import_errors():
    from ipledge.market.importing import parse_product_template, template_workbook

    assert all(t != "f" for _s, _v, t in cells(template_workbook()))
    rows = "产品编号,产品名称\n" + "\n".join(f'"{h}","{h}"' for h in HOSTILE)
    result = parse_product_template("p.csv", rows.encode())
    assert result.errors  # the file is refused; its echo is the page's, HTML-escaped, not a spreadsheet
