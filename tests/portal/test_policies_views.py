"""Policy library pages: public list, detail, attachments and 哪些政策适用于我 without login; management pages for
issuers only; another organisation's policy and drafts answer 404."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import reverse

from ipledge.portal.choices import PolicyStatus
from ipledge.portal.models import Policy, PolicyAttachment
from ipledge.portal.services import policies as services
from tests.portal.factories_policies import PDF_BYTES, make_policy

pytestmark = pytest.mark.django_db


def client_for(user: Any) -> Client:
    client = Client()
    client.force_login(user)
    return client


def test_public_list_works_anonymously_and_hides_drafts(world) -> None:  # type: ignore[no-untyped-def]
    make_policy(world, title="知识产权质押融资风险补偿办法", body="设立风险补偿资金。")
    make_policy(world, title="尚未发布的贴息草稿", publish=False)
    response = Client().get(reverse("portal:policy_list"))
    assert response.status_code == 200
    html = response.content.decode()
    assert "知识产权质押融资风险补偿办法" in html
    assert "尚未发布的贴息草稿" not in html


def test_public_search_highlights_and_filters(world) -> None:  # type: ignore[no-untyped-def]
    make_policy(world, title="知识产权质押融资风险补偿办法", body="设立风险补偿资金。")
    make_policy(world, "ipo_js", title="江苏省专利转化计划", body="支持专利转让。")
    response = Client().get(reverse("portal:policy_list"), {"q": "风险补偿"})
    html = response.content.decode()
    assert "<mark>风险</mark>" in html
    assert "江苏省专利转化计划" not in html
    response = Client().get(reverse("portal:policy_list"), {"region": "320000", "validity": "valid"})
    html = response.content.decode()
    assert "江苏省专利转化计划" in html and "风险补偿办法" not in html


def test_search_text_is_escaped(world) -> None:  # type: ignore[no-untyped-def]
    make_policy(world, title="<b>贴息</b>办法", body="贴息。")
    html = Client().get(reverse("portal:policy_list"), {"q": "贴息"}).content.decode()
    assert "<b>" not in html and "&lt;b&gt;" in html


def test_draft_is_404_publicly_and_to_others(world) -> None:  # type: ignore[no-untyped-def]
    draft = make_policy(world, publish=False)
    url = reverse("portal:policy_detail", args=[draft.pk])
    assert Client().get(url).status_code == 404
    assert client_for(world.user("ipo_js")).get(url).status_code == 404
    assert client_for(world.user("ipo_bj")).get(url).status_code == 200


def test_published_detail_public(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world, body="第一段。\n第二段：风险补偿。")
    response = Client().get(reverse("portal:policy_detail", args=[policy.pk]))
    assert response.status_code == 200
    assert "第二段：风险补偿。" in response.content.decode()


def test_other_office_cannot_edit(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    js = client_for(world.user("ipo_js"))
    assert js.get(reverse("portal:policy_edit", args=[policy.pk])).status_code == 404
    assert js.post(reverse("portal:policy_withdraw", args=[policy.pk])).status_code == 404
    assert Policy.objects.get(pk=policy.pk).status == PolicyStatus.PUBLISHED


def test_bank_has_no_management(world) -> None:  # type: ignore[no-untyped-def]
    bank = client_for(world.user("bank1"))
    assert bank.get(reverse("portal:policy_create")).status_code == 404
    assert bank.get(reverse("portal:policy_manage")).status_code == 404


def test_create_edit_publish_through_pages(world) -> None:  # type: ignore[no-untyped-def]
    client = client_for(world.user("ipo_bj"))
    from ipledge.core.models import Region

    response = client.post(
        reverse("portal:policy_create"),
        {
            "title": "北京市知识产权评估费补助办法",
            "issuing_body": "北京市知识产权局",
            "document_number": "京知发〔2026〕9号",
            "kind": "valuation_support",
            "region": Region.objects.get(code="110000").pk,
            "issued_on": "2026-03-01",
            "effective_from": "2026-03-01",
            "summary": "评估费补助。",
            "body": "对质押融资发生的评估费给予50%补助。",
            "size_classes": ["small", "micro"],
            "industry_sections": ["C"],
        },
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    policy = Policy.objects.get(document_number="京知发〔2026〕9号")
    assert policy.status == PolicyStatus.DRAFT and policy.size_classes == ["micro", "small"]
    assert client.get(reverse("portal:policy_manage")).content.decode().count("北京市知识产权评估费补助办法") >= 1
    response = client.post(reverse("portal:policy_publish", args=[policy.pk]), {"version": policy.version})
    assert response.status_code == 302
    assert Policy.objects.get(pk=policy.pk).status == PolicyStatus.PUBLISHED


def test_create_shows_field_error(world) -> None:  # type: ignore[no-untyped-def]
    from ipledge.core.models import Region

    client = client_for(world.user("ipo_bj"))
    response = client.post(
        reverse("portal:policy_create"),
        {
            "title": "日期错误的政策",
            "issuing_body": "北京市知识产权局",
            "kind": "subsidy",
            "region": Region.objects.get(code="110000").pk,
            "issued_on": "2026-03-01",
            "effective_from": "2026-03-05",
            "effective_until": "2026-03-02",
            "body": "正文。",
        },
    )
    assert response.status_code == 200
    assert 'data-field="effective_until"' in response.content.decode()
    assert not Policy.objects.exists()


def test_attachment_upload_download_and_bad_type(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    client = client_for(world.user("ipo_bj"))
    url = reverse("portal:policy_attachment_add", args=[policy.pk])
    bad = SimpleUploadedFile("a.pdf", b"GIF89a not allowed", content_type="application/pdf")
    assert client.post(url, {"file": bad}).status_code == 302
    assert not PolicyAttachment.objects.exists()
    good = SimpleUploadedFile("原文.pdf", PDF_BYTES, content_type="application/pdf")
    client.post(url, {"file": good})
    attachment = PolicyAttachment.objects.get()
    download = Client().get(reverse("portal:policy_attachment", args=[policy.pk, attachment.pk]))
    assert download.status_code == 200 and download["Content-Type"] == "application/pdf"
    assert b"".join(download.streaming_content) == PDF_BYTES
    services.policy_withdraw(actor=world.user("ipo_bj"), policy=policy, expected_version=None)
    assert Client().get(reverse("portal:policy_attachment", args=[policy.pk, attachment.pk])).status_code == 404
    assert client.get(reverse("portal:policy_attachment", args=[policy.pk, attachment.pk])).status_code == 200


def test_policy_for_me_anonymous_and_prefilled(world) -> None:  # type: ignore[no-untyped-def]
    beijing = make_policy(world, title="北京市贴息办法")
    make_policy(world, "ipo_js", title="江苏省贴息办法")
    response = Client().get(reverse("portal:policy_for_me"), {"region": "110108"})
    html = response.content.decode()
    assert response.status_code == 200 and "北京市贴息办法" in html and "江苏省贴息办法" not in html
    assert "policy-reasons" in html
    html = client_for(world.user("ent2")).get(reverse("portal:policy_for_me")).content.decode()
    assert "江苏省贴息办法" in html and "北京市贴息办法" not in html
    assert Client().get(reverse("portal:policy_for_me")).status_code == 200
    del beijing
