"""The registration notice (质押登记通知书) as a Word document, filled from a docxtpl template.

The layout lives in `templates_docx/registration_notice.docx` (built by `build_notice_template.py` next to it), so
an office can restyle the notice in Word without touching code; this module only gathers the facts. The text is
Chinese whatever the UI language: the notice is an official document of a Chinese office.
"""

from __future__ import annotations

import datetime
import io
from pathlib import Path
from typing import Any

from django.utils import translation

from ipledge.registry.choices import IPKind

from .choices import ClaimKind
from .models import PledgeRegistration

TEMPLATE = Path(__file__).resolve().parent / "templates_docx" / "registration_notice.docx"

# Title and legal basis by the kinds of rights pledged (a bundle mixing kinds gets the general wording).
_TITLES: dict[str, tuple[str, str, str]] = {
    IPKind.PATENT: ("专利权质押登记通知书", "专利权", "《专利权质押登记办法》（国家知识产权局公告第461号）"),
    IPKind.TRADEMARK: (
        "注册商标专用权质权登记通知书",
        "注册商标专用权",
        "《注册商标专用权质押登记程序规定》（国家知识产权局公告第358号）",
    ),
    IPKind.COPYRIGHT: ("著作权质权登记通知书", "著作权", "《著作权质权登记办法》（国家版权局令第8号）"),
}
_GENERAL = (
    "知识产权质押登记通知书",
    "知识产权",
    "《专利权质押登记办法》《注册商标专用权质押登记程序规定》《著作权质权登记办法》",
)


def _date(value: datetime.date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else "—"


def notice_context(registration: PledgeRegistration) -> dict[str, Any]:
    """The facts printed on the notice, as strings."""
    filing = registration.filing
    rights = [
        pledged.ip_right
        for pledged in registration.pledged_rights.select_related("ip_right").order_by("ip_right__kind", "pk")
    ]
    kinds = {right.kind for right in rights}
    title, kind_label, legal_basis = _TITLES.get(next(iter(kinds)), _GENERAL) if len(kinds) == 1 else _GENERAL
    office = filing.decided_by.organisation if filing.decided_by and filing.decided_by.organisation else None
    with translation.override("zh-hans"):
        claim_kind = str(ClaimKind(filing.claim_kind).label) if filing.claim_kind in ClaimKind.values else ""
        right_rows = [
            {
                "kind": str(IPKind(right.kind).label),
                "number": right.number,
                "title": right.title,
                "filing_date": _date(right.filing_date),
                "grant_date": _date(right.grant_date),
            }
            for right in rights
        ]
    amount = registration.claim_amount
    return {
        "title": title,
        "kind_label": kind_label,
        "legal_basis": f"登记依据：{legal_basis}。",
        "registration_no": registration.registration_no,
        "registered_on": _date(registration.registered_on),
        "pledgor_name": registration.pledgor.name,
        "pledgor_uscc": registration.pledgor.uscc,
        "pledgee_name": registration.pledgee.name,
        "claim_kind": claim_kind or "—",
        "claim_amount": f"{amount.amount:,.2f}" if amount is not None else "—",
        "performance_start": _date(filing.performance_start),
        "performance_end": _date(registration.performance_end),
        "guarantee_scope": filing.guarantee_scope or "—",
        "rights": right_rows,
        "office_name": office.name if office is not None else "知识产权质押登记机关",
        "issued_on": _date(filing.decided_at.date() if filing.decided_at else registration.registered_on),
    }


def registration_notice_docx(registration: PledgeRegistration) -> bytes:
    """The notice of a registered pledge as .docx bytes."""
    from docxtpl import DocxTemplate  # type: ignore[import-untyped]

    document = DocxTemplate(str(TEMPLATE))
    document.render(notice_context(registration), autoescape=True)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
