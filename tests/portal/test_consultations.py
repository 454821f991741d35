"""Policy consultations (政策咨询): routing, answering, FAQ publication, permissions and the version guard."""

from __future__ import annotations

import datetime
import re
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.test import Client
from django.urls import reverse

from ipledge.core.audit import AuditEvent
from ipledge.core.choices import Role
from ipledge.core.models import Region
from ipledge.portal.choices import ConsultationStatus, PolicyKind, PolicyStatus
from ipledge.portal.models import Consultation, Policy
from ipledge.portal.services import consultations as services
from ipledge.registry.models import Enterprise

pytestmark = pytest.mark.django_db

DAY = datetime.date(2026, 1, 5)


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def policy(w: Any, owner: str, *, region: str = "110000", status: str = PolicyStatus.PUBLISHED, **kw: Any) -> Policy:
    return Policy.objects.create(
        title=kw.pop("title", "知识产权质押融资贴息办法"),
        issuing_body=w.orgs[owner].name,
        kind=kw.pop("kind", PolicyKind.INTEREST_DISCOUNT),
        region=Region.objects.get(code=region),
        region_code=region,
        issued_on=DAY,
        effective_from=DAY,
        body="贴息。",
        status=status,
        owner_org=w.orgs[owner],
        **kw,
    )


def ask(w: Any, who: str = "ent1", **kw: Any) -> Consultation:
    return services.consultation_create(
        actor=w.user(who), subject=kw.pop("subject", "贴息比例"), question=kw.pop("question", "贴息按什么比例？"), **kw
    )


def test_routing_policy_owner_city_province_national(world) -> None:  # type: ignore[no-untyped-def]
    park_policy = policy(world, "park1")
    assert ask(world, policy=park_policy).routed_to == world.orgs["park1"]
    # Beijing has no city office on the platform: the provincial office answers.
    assert ask(world).routed_to == world.orgs["ipo_bj"]
    # Nanjing has a municipal office: it answers before the Jiangsu provincial office.
    assert ask(world, "ent2").routed_to == world.orgs["ipo_nj"]
    # A province without any office on the platform: the national office.
    assert services.route_office(enterprise=Enterprise(region_code="440305")) == world.orgs["cnipa"]


def test_create_reference_region_and_audit(world) -> None:  # type: ignore[no-untyped-def]
    first, second = ask(world), ask(world, "ent2")
    assert re.fullmatch(r"ZX\d{4}\d{6}", first.reference)
    assert int(second.reference[-6:]) == int(first.reference[-6:]) + 1
    assert first.enterprise == world.enterprises["e1"] and first.region_code == world.enterprises["e1"].region_code
    assert first.status == ConsultationStatus.OPEN and first.asked_by == world.user("ent1")
    assert AuditEvent.objects.filter(action="consultation.create", object_id=str(first.pk)).exists()


def test_create_refuses_bad_input_and_non_enterprises(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        ask(world, subject="  ")
    assert exc.value.error_dict["subject"][0].code == "required"
    draft = policy(world, "ipo_bj", status=PolicyStatus.DRAFT, title="草稿政策")
    with pytest.raises(ValidationError) as exc:
        ask(world, policy=draft)
    assert exc.value.error_dict["policy"][0].code == "not_published"
    with pytest.raises(PermissionDenied):
        ask(world, "bank1")
    with pytest.raises(PermissionDenied):  # a viewer of the enterprise may not ask
        services.consultation_create(actor=world.user("ent1", Role.VIEWER), subject="s", question="q")


def test_answer_publish_and_faq_hides_the_enterprise(world) -> None:  # type: ignore[no-untyped-def]
    published = ask(world, subject="北京智芯的贴息问题", question="北京智芯科技有限公司能否申请贴息？")
    hidden = ask(world, subject="未公开的问题", question="仅答复不公开")
    open_one = ask(world, subject="尚未答复", question="尚未答复的问题内容")
    office = world.user("ipo_bj")
    with pytest.raises(ValidationError) as exc:
        services.consultation_answer(actor=office, consultation=published, answer="可以。", publish=True)
    assert exc.value.error_dict["faq_question"][0].code == "required"
    with pytest.raises(ValidationError) as exc:
        services.consultation_answer(
            actor=office,
            consultation=published,
            answer="可以。",
            publish=True,
            faq_question="北京智芯科技有限公司能否贴息？",
        )
    assert exc.value.error_dict["faq_question"][0].code == "names_enterprise"
    done = services.consultation_answer(
        actor=office, consultation=published, answer="可以申请贴息。", publish=True, faq_question="企业能否申请贴息？"
    )
    assert done.status == ConsultationStatus.ANSWERED and done.is_public and done.version == 2
    services.consultation_answer(actor=office, consultation=hidden, answer="仅答复")
    page = Client().get(reverse("portal:faq"))  # anonymous
    html = page.content.decode()
    assert page.status_code == 200
    assert "企业能否申请贴息？" in html and "可以申请贴息。" in html
    assert "北京智芯" not in html and "智芯" not in html
    assert "仅答复" not in html and open_one.question not in html
    assert "企业能否申请贴息？" not in Client().get(reverse("portal:faq"), {"q": "担保"}).content.decode()
    assert "企业能否申请贴息？" in Client().get(reverse("portal:faq"), {"q": "贴息"}).content.decode()
    # Unpublishing takes it out again.
    services.consultation_publish(actor=office, consultation=done, publish=False)
    assert "企业能否申请贴息？" not in Client().get(reverse("portal:faq")).content.decode()


def test_faq_groups_by_policy_kind(world) -> None:  # type: ignore[no-untyped-def]
    risk = policy(world, "ipo_bj", kind=PolicyKind.RISK_COMPENSATION, title="风险补偿办法")
    c1 = ask(world, policy=risk)
    c2 = ask(world)
    for c, wording in ((c1, "风险补偿怎么申请？"), (c2, "一般性问题？")):
        services.consultation_answer(
            actor=_office_user(world, c),
            consultation=c,
            answer="答复内容",
            publish=True,
            faq_question=wording,
        )
    groups = Client().get(reverse("portal:faq")).context["groups"]
    assert [g["kind"] for g in groups] == [PolicyKind.RISK_COMPENSATION, ""]
    assert groups[0]["entries"][0]["question"] == "风险补偿怎么申请？"


def _office_user(w: Any, c: Consultation) -> Any:
    key = next(k for k, org in w.orgs.items() if org.pk == c.routed_to_id)
    return w.user(key)


def test_stale_version_and_status_rules(world) -> None:  # type: ignore[no-untyped-def]
    c = ask(world)
    office = world.user("ipo_bj")
    services.consultation_answer(actor=office, consultation=c, answer="第一次答复", expected_version=1)
    with pytest.raises(ValidationError) as exc:
        services.consultation_answer(actor=office, consultation=c, answer="旧页面的答复", expected_version=1)
    assert exc.value.error_dict["version"][0].code == "stale"
    c.refresh_from_db()
    assert c.answer == "第一次答复"
    services.consultation_close(actor=office, consultation=c, expected_version=2)
    with pytest.raises(ValidationError) as exc:
        services.consultation_answer(actor=office, consultation=c, answer="再次答复")
    assert exc.value.error_dict["status"][0].code == "invalid_status"


def test_permissions_pages(world) -> None:  # type: ignore[no-untyped-def]
    c = ask(world)
    detail = reverse("portal:consultation_detail", args=[c.pk])
    assert client_for(world.user("ent1")).get(detail).status_code == 200
    assert client_for(world.user("ent2")).get(detail).status_code == 404  # another enterprise's
    assert client_for(world.user("bank1")).get(detail).status_code == 404
    # The bank cannot answer; nor can the Jiangsu office; the answer is unchanged.
    for who in ("bank1", "ipo_js", "ent1"):
        response = client_for(world.user(who)).post(
            reverse("portal:consultation_answer", args=[c.pk]), {"answer": "越权答复", "version": 1}
        )
        assert response.status_code == 404, who
    with pytest.raises(PermissionDenied):
        services.consultation_answer(actor=world.user("bank1"), consultation=c, answer="越权")
    c.refresh_from_db()
    assert c.status == ConsultationStatus.OPEN and c.answer == ""
    # The office answers through the page; the detail shows the answer form only to it.
    office = client_for(world.user("ipo_bj"))
    page = office.get(detail).content.decode()
    assert "consultation-answer-form" in page
    assert "consultation-answer-form" not in client_for(world.user("ent1")).get(detail).content.decode()
    office.post(reverse("portal:consultation_answer", args=[c.pk]), {"answer": "页面答复", "version": 1})
    c.refresh_from_db()
    assert c.answer == "页面答复" and c.version == 2
    # A stale page shows the error naming the version and changes nothing.
    response = office.post(
        reverse("portal:consultation_answer", args=[c.pk]), {"answer": "旧页面", "version": 1}, follow=True
    )
    assert "版本" in response.content.decode()
    c.refresh_from_db()
    assert c.answer == "页面答复"


def test_list_and_create_pages(world) -> None:  # type: ignore[no-untyped-def]
    ent = client_for(world.user("ent1"))
    response = ent.post(reverse("portal:consultation_create"), {"subject": "登记时限", "question": "多久办结？"})
    c = Consultation.objects.get(subject="登记时限")
    assert response.status_code == 302 and response["Location"] == reverse("portal:consultation_detail", args=[c.pk])
    bad = ent.post(reverse("portal:consultation_create"), {"subject": "", "question": "q"})
    assert bad.status_code == 200 and bad.context["form"].errors.get("subject")
    ask(world, "ent2", subject="江苏企业的问题")
    listed = ent.get(reverse("portal:consultation_list")).content.decode()
    assert "登记时限" in listed and "江苏企业的问题" not in listed
    queue = client_for(world.user("ipo_nj")).get(reverse("portal:consultation_list"), {"status": "open"})
    assert "江苏企业的问题" in queue.content.decode() and "登记时限" not in queue.content.decode()
    assert client_for(world.user("bank1")).get(reverse("portal:consultation_create")).status_code == 404


def test_api(world) -> None:  # type: ignore[no-untyped-def]
    ent = client_for(world.user("ent1"))
    created = ent.post(
        "/api/v1/portal/consultations",
        {"subject": "API 提问", "question": "问题正文"},
        content_type="application/json",
    )
    assert created.status_code == 201, created.content
    body = created.json()
    assert body["routed_to_id"] == world.orgs["ipo_bj"].pk and body["status"] == "open"
    cid = body["id"]
    assert ent.get(f"/api/v1/portal/consultations/{cid}").status_code == 200
    assert client_for(world.user("ent2")).get(f"/api/v1/portal/consultations/{cid}").status_code == 404
    denied = client_for(world.user("bank1")).post(
        f"/api/v1/portal/consultations/{cid}/answer", {"answer": "x"}, content_type="application/json"
    )
    assert denied.status_code in (403, 404)
    office = client_for(world.user("ipo_bj"))
    missing = office.post(
        f"/api/v1/portal/consultations/{cid}/answer",
        {"answer": "答复", "publish": True},
        content_type="application/json",
    )
    assert missing.status_code == 400 and missing.json()["errors"][0]["field"] == "faq_question"
    answered = office.post(
        f"/api/v1/portal/consultations/{cid}/answer",
        {"answer": "答复", "publish": True, "faq_question": "公开的问题？", "version": 1},
        content_type="application/json",
    )
    assert answered.status_code == 200 and answered.json()["is_public"] is True
    stale = office.post(
        f"/api/v1/portal/consultations/{cid}/answer",
        {"answer": "旧", "version": 1},
        content_type="application/json",
    )
    assert stale.status_code == 400 and stale.json()["errors"][0]["rule"] == "stale"
    faq = Client().get("/api/v1/portal/faq")
    assert faq.status_code == 200
    items = faq.json()["items"]
    assert [i["question"] for i in items] == ["公开的问题？"] and "enterprise_name" not in items[0]
    listed = ent.get("/api/v1/portal/consultations", {"status": "answered"}).json()["items"]
    assert [i["id"] for i in listed] == [cid]
