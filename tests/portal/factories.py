"""Portal rows for the permission and endpoint matrices: policies (published, draft), attachments, consultations and
service requests on both sides of the world (Beijing / Jiangsu)."""

from __future__ import annotations

import datetime

from django.core.files.base import ContentFile

from ipledge.core.models import Region
from ipledge.portal.choices import ConsultationStatus, PolicyKind, PolicyStatus, ServiceRequestKind
from ipledge.portal.models import Consultation, Policy, PolicyAttachment, ServiceRequest
from tests.world import World

DAY = datetime.date(2026, 3, 2)
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def add_portal(w: World) -> World:
    regions = {r.code: r for r in Region.objects.filter(code__in=["110000", "320000"])}
    sides = (
        ("bj", "110000", "110108", "ipo_bj", "park1", "p1", "e1", "ent1"),
        ("js", "320000", "320115", "ipo_js", "park2", "p2", "e2", "ent2"),
    )
    for tag, province, local, office, park_org, park, enterprise, enterprise_org in sides:
        published = Policy.objects.create(
            title=f"{tag} 知识产权质押融资风险补偿办法",
            issuing_body=w.orgs[office].name,
            document_number=f"{tag}知发〔2026〕1号",
            kind=PolicyKind.RISK_COMPENSATION,
            region=regions[province],
            region_code=province,
            issued_on=DAY,
            effective_from=DAY,
            summary="风险补偿",
            body="对合作银行的知识产权质押贷款损失给予补偿。",
            search_text=" 知识产权 质押 融资 风险 补偿 ",
            status=PolicyStatus.PUBLISHED,
            owner_org=w.orgs[office],
        )
        draft = Policy.objects.create(
            title=f"{tag} 园区贴息办法（草稿）",
            issuing_body=w.orgs[park_org].name,
            kind=PolicyKind.INTEREST_DISCOUNT,
            region=regions[province],
            region_code=province,
            park=w.parks[park],
            issued_on=DAY,
            effective_from=DAY,
            body="贴息。",
            status=PolicyStatus.DRAFT,
            owner_org=w.orgs[park_org],
        )
        for policy in (published, draft):
            PolicyAttachment.objects.create(
                policy=policy,
                file=ContentFile(PDF_BYTES, name=f"{tag}-{policy.pk}.pdf"),
                name="原文.pdf",
                content_type="application/pdf",
                size=len(PDF_BYTES),
                sha256="0" * 64,
            )
        answered = Consultation.objects.create(
            reference=f"ZX-{tag}-1",
            enterprise=w.enterprises[enterprise],
            enterprise_org=w.orgs[enterprise_org],
            policy=published,
            region_code=local,
            subject="补偿比例",
            question="补偿比例是多少？",
            routed_to=w.orgs[office],
            status=ConsultationStatus.ANSWERED,
            answer="按办法第五条执行。",
            answered_at=datetime.datetime(2026, 3, 3, tzinfo=datetime.UTC),
            is_public=True,
            faq_question="风险补偿的比例是多少？",
        )
        Consultation.objects.create(
            reference=f"ZX-{tag}-2",
            enterprise=w.enterprises[enterprise],
            enterprise_org=w.orgs[enterprise_org],
            region_code=local,
            subject="申请材料",
            question="需要哪些材料？",
            routed_to=w.orgs[office],
        )
        assert answered.pk
        ServiceRequest.objects.create(
            reference=f"FW-{tag}-1",
            park=w.parks[park],
            enterprise=w.enterprises[enterprise],
            enterprise_org=w.orgs[enterprise_org],
            region_code=local,
            kind=ServiceRequestKind.VALUATION,
            subject="申请专利评估",
            detail="两件发明专利。",
        )
    # A national policy: CNIPA's, public once published.
    Policy.objects.create(
        title="知识产权质押融资入园惠企行动方案（2021—2023年）",
        issuing_body="国家知识产权局",
        kind=PolicyKind.CREDIT_SUPPORT,
        issued_on=datetime.date(2021, 6, 1),
        effective_from=datetime.date(2021, 6, 1),
        effective_until=datetime.date(2023, 12, 31),
        body="百园万企。",
        status=PolicyStatus.PUBLISHED,
        owner_org=w.orgs["cnipa"],
    )
    return w
