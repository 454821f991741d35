"""Demo policy consultations (政策咨询) and park service requests (一站式服务中心), written through the services.

About twenty consultations by the demo enterprises (those with a platform account): most about a published policy of
their region (routed to its owner), the rest general (routed to the local IP office); two thirds answered by the
office, most of those published in the FAQ with a reworded question, one closed, the rest open. About fifteen service
requests by member enterprises to their parks in every state (submitted, accepted, completed, rejected).

Runs after the policies are seeded; a second run adds nothing (rows are found by enterprise and subject).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, User
from ipledge.registry.models import Enterprise, ParkMembership

from .choices import ConsultationStatus, PolicyStatus, ServiceRequestKind, ServiceRequestStatus
from .models import Consultation, Policy, ServiceRequest
from .services import consultations as consult_services
from .services import service_requests as request_services
from .services.consultations import route_office

CONSULTATIONS = 20
SERVICE_REQUESTS = 15

# (subject, question, FAQ wording, answer)
QUESTIONS: list[tuple[str, str, str, str]] = [
    (
        "风险补偿的申请条件",
        "我公司以发明专利质押获得银行贷款，请问是否可以申请风险补偿？需要满足哪些条件？",
        "企业以专利质押取得的贷款，合作银行可否申请风险补偿？",
        "风险补偿由合作银行在贷款发生损失后申请，企业无需单独申请。贷款须为在平台登记的知识产权质押贷款，"
        "且质押登记在有效期内。",
    ),
    (
        "贴息比例如何计算",
        "我们去年获得了一笔300万元的知识产权质押贷款，贴息按什么比例计算？是否有上限？",
        "知识产权质押贷款贴息的比例和上限是多少？",
        "贴息按贷款实际支付利息的50%给予补助，单户企业年度贴息额不超过50万元，具体以当年申报通知为准。",
    ),
    (
        "评估费补助申报时间",
        "评估费补助什么时候可以申报？需要提交哪些材料？",
        "评估费补助何时申报，需要哪些材料？",
        "评估费补助每年集中申报一次，一般在第二季度。需提交评估报告、评估费发票及贷款合同复印件。",
    ),
    (
        "商标能否质押融资",
        "我公司只有注册商标，没有专利，能否办理质押融资？",
        "只有注册商标的企业能否办理知识产权质押融资？",
        "可以。注册商标专用权可以出质，质押登记在平台在线办理，多家合作银行提供商标质押产品。",
    ),
    (
        "质押登记办理时限",
        "质押登记提交后多长时间能办结？",
        "知识产权质押登记的办理时限是多久？",
        "材料齐全的在线申请一般在3个工作日内办结；需要补正的，自补正材料提交之日起重新计算。",
    ),
    (
        "共有专利出质",
        "我们和高校共有一件专利，出质需要高校同意吗？",
        "共有专利出质是否需要其他共有人同意？",
        "需要。共有专利出质须取得全体共有人的书面同意，并在登记时一并提交。",
    ),
    (
        "小微企业担保费补助",
        "担保费补助对企业规模有要求吗？",
        "担保费补助是否仅限小微企业？",
        "担保费补助面向中小微企业，大型企业不在补助范围内。",
    ),
]


def _user(org: Organisation | None, *roles: str) -> User | None:
    if org is None:
        return None
    for role in roles:
        user = User.objects.filter(organisation=org, role=role, is_active=True).order_by("pk").first()
        if user is not None:
            return user
    return None


def _policy_for(enterprise: Enterprise, index: int) -> Policy | None:
    code = enterprise.region_code or ""
    candidates = list(
        Policy.objects.filter(status=PolicyStatus.PUBLISHED)
        .filter(region_code__in=["", code[:2] + "0000", code[:4] + "00", code])
        .order_by("pk")[:10]
    )
    return candidates[index % len(candidates)] if candidates else None


def _seed_consultations(today: datetime.date) -> dict[str, int]:
    counts = {"consultations": 0, "answered": 0, "published": 0}
    enterprises = list(Enterprise.objects.filter(organisation__isnull=False).order_by("pk")[:10])
    if not enterprises:
        return counts
    for i in range(CONSULTATIONS):
        enterprise = enterprises[i % len(enterprises)]
        subject, question, faq_question, answer = QUESTIONS[i % len(QUESTIONS)]
        if Consultation.objects.filter(enterprise=enterprise, subject=subject).exists():
            continue
        asker = _user(enterprise.organisation, Role.OPERATOR, Role.ADMIN)
        if asker is None:
            continue
        policy = _policy_for(enterprise, i) if i % 3 != 2 else None
        if route_office(enterprise=enterprise, policy=policy) is None:
            continue
        day = today - datetime.timedelta(days=60 - 2 * i)
        with as_of(day):
            consultation = consult_services.consultation_create(
                actor=asker, subject=subject, question=question, policy=policy, today=day
            )
        counts["consultations"] += 1
        if i % 3 == 0 and i % 2 == 1:
            continue  # left open
        if i % 4 == 3:
            continue  # left open
        office_user = _user(consultation.routed_to, Role.OPERATOR, Role.ADMIN)
        if office_user is None:
            continue
        with as_of(day + datetime.timedelta(days=3)):
            consultation = consult_services.consultation_answer(
                actor=office_user,
                consultation=consultation,
                answer=answer,
                publish=i % 5 != 4,
                faq_question=faq_question,
            )
            counts["answered"] += 1
            counts["published"] += int(consultation.is_public)
            if i == 10:
                consult_services.consultation_close(actor=office_user, consultation=consultation)
    return counts


REQUESTS: list[tuple[str, str, str]] = [
    (ServiceRequestKind.VALUATION, "申请专利价值评估辅导", "拟以3件发明专利质押融资，请园区协助对接评估机构。"),
    (ServiceRequestKind.FINANCING, "500万元流动资金需求", "希望园区推荐合作银行的知识产权质押产品。"),
    (ServiceRequestKind.FILING, "质押登记材料咨询", "请园区服务站协助核对质押登记材料。"),
    (ServiceRequestKind.POLICY, "申报贴息政策", "去年已获质押贷款，请协助办理贴息申报。"),
    (ServiceRequestKind.OTHER, "参加银企对接活动", "希望报名下一期银企对接会。"),
]
# The state each request ends in, in turn.
OUTCOMES = (
    ServiceRequestStatus.SUBMITTED,
    ServiceRequestStatus.ACCEPTED,
    ServiceRequestStatus.COMPLETED,
    ServiceRequestStatus.SUBMITTED,
    ServiceRequestStatus.REJECTED,
)


def _seed_requests(today: datetime.date) -> dict[str, int]:
    counts = {"service_requests": 0}
    memberships = list(
        ParkMembership.objects.filter(left_on__isnull=True, enterprise__organisation__isnull=False)
        .select_related("park", "park__region", "park__administering_org", "enterprise")
        .order_by("park_id", "enterprise_id")[:SERVICE_REQUESTS]
    )
    for i in range(SERVICE_REQUESTS):
        if not memberships:
            break
        membership = memberships[i % len(memberships)]
        kind, subject, detail = REQUESTS[i % len(REQUESTS)]
        if ServiceRequest.objects.filter(
            enterprise=membership.enterprise, park=membership.park, subject=subject
        ).exists():
            continue
        asker = _user(membership.enterprise.organisation, Role.OPERATOR, Role.ADMIN)
        if asker is None:
            continue
        day = today - datetime.timedelta(days=30 - i)
        with as_of(day):
            created = request_services.service_request_create(
                actor=asker, park=membership.park, kind=kind, subject=subject, detail=detail, today=day
            )
        counts["service_requests"] += 1
        outcome = OUTCOMES[i % len(OUTCOMES)]
        staff = _user(membership.park.administering_org, Role.OPERATOR, Role.ADMIN)
        if staff is None or outcome == ServiceRequestStatus.SUBMITTED:
            continue
        with as_of(day + datetime.timedelta(days=1)):
            if outcome == ServiceRequestStatus.REJECTED:
                request_services.service_request_reject(
                    actor=staff, request=created, response="该事项不属于园区服务范围，请直接联系知识产权局。"
                )
                continue
            created = request_services.service_request_accept(actor=staff, request=created)
            if outcome == ServiceRequestStatus.COMPLETED:
                request_services.service_request_complete(
                    actor=staff, request=created, response="已协助办理完毕，请在平台查看进度。"
                )
    return counts


@transaction.atomic
def seed_consultations(*, today: datetime.date) -> dict[str, Any]:
    """Seed the demo consultations and service requests (idempotent); the counts of what was added."""
    counts: dict[str, Any] = {}
    counts.update(_seed_consultations(today))
    counts.update(_seed_requests(today))
    counts["open_consultations"] = Consultation.objects.filter(status=ConsultationStatus.OPEN).count()
    return counts
