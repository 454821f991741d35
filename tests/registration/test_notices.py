"""The registration notice (.docx): generated from the template for a registered pledge."""

from __future__ import annotations

import io

import pytest
from docx import Document

from ipledge.registration.notices import registration_notice_docx
from tests.world import add_pledges

pytestmark = pytest.mark.django_db


def _text(content: bytes) -> str:
    document = Document(io.BytesIO(content))
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return "\n".join(parts)


def test_notice_names_the_registration_pledgor_and_right(world):
    add_pledges(world)
    registration = world.filings["f1"].created_registration
    content = registration_notice_docx(registration)
    assert content.startswith(b"PK\x03\x04")
    text = _text(content)
    assert registration.registration_no in text
    assert world.enterprises["e1"].name in text
    assert world.enterprises["e1"].uscc in text
    assert world.rights["r1"].number in text
    assert world.rights["r1"].title in text
    assert "北京银行中关村科技支行" in text
    assert "5,000,000.00" in text
    assert "第四百四十四条" in text
    assert "专利权质押登记通知书" in text
    assert "北京市知识产权局" in text  # the examining office issues it
    assert "{{" not in text and "{%" not in text  # every tag was filled
    rights_table = Document(io.BytesIO(content)).tables[-1]
    assert [cell.text for cell in rights_table.rows[1].cells][1:3] == ["专利", world.rights["r1"].number]
    assert len(rights_table.rows) == 2  # the heading and one row per pledged right


def test_notice_escapes_text_from_the_filing(world):
    add_pledges(world)
    registration = world.filings["f1"].created_registration
    filing = registration.filing
    filing.guarantee_scope = "本金 & 利息 <全部>"
    filing.save(update_fields=["guarantee_scope"])
    text = _text(registration_notice_docx(registration))
    assert "本金 & 利息 <全部>" in text
