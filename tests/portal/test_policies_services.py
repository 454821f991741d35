"""Policy library services: who may issue and change, region and park rules, codes, dates, versions, audit,
attachments; and `applicable_policies` (region containment, park, size class, industry section, validity)."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from ipledge.core.models import AuditEvent
from ipledge.portal import selectors_policies as selectors
from ipledge.portal.choices import PolicyStatus
from ipledge.portal.models import Policy, PolicyAttachment
from ipledge.portal.services import policies as services
from tests.portal.factories_policies import DAY, PDF_BYTES, make_policy, region

pytestmark = pytest.mark.django_db


def _codes(exc: pytest.ExceptionInfo[ValidationError], field: str) -> set[str]:
    return {e.code for e in exc.value.error_dict[field]}  # type: ignore[misc]


def test_bank_and_enterprise_cannot_create(world) -> None:  # type: ignore[no-untyped-def]
    for key in ("bank1", "ent1"):
        with pytest.raises(PermissionDenied):
            make_policy(world, key)
    assert not Policy.objects.exists()


def test_create_is_a_draft_owned_and_audited(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world, publish=False)
    assert policy.status == PolicyStatus.DRAFT
    assert policy.owner_org == world.orgs["ipo_bj"]
    assert policy.region_code == "110000"
    assert " 贴息 " in policy.search_text
    assert AuditEvent.objects.filter(action="policy.create", object_id=str(policy.pk)).exists()


def test_region_must_be_within_own(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        make_policy(world, "ipo_bj", region=region("320000"))
    assert _codes(exc, "region") == {"outside_region"}
    with pytest.raises(ValidationError) as exc:
        make_policy(world, "ipo_js", region=None)
    assert _codes(exc, "region") == {"required"}
    national = make_policy(world, "cnipa", region=None)
    assert national.region_code == ""
    city = make_policy(world, "ipo_js", region=region("320100"))
    assert city.region_code == "320100"


def test_park_rules(world) -> None:  # type: ignore[no-untyped-def]
    p1, p2 = world.parks["p1"], world.parks["p2"]
    own = make_policy(world, "park1", region=None, park=p1)
    assert own.region_code == "110108"
    with pytest.raises(ValidationError) as exc:
        make_policy(world, "park1", region=None, park=p2)
    assert _codes(exc, "park") == {"not_own_park"}
    with pytest.raises(ValidationError) as exc:
        make_policy(world, "park1", region=None)
    assert _codes(exc, "park") == {"required"}
    with pytest.raises(ValidationError) as exc:
        make_policy(world, "ipo_bj", park=p2)
    assert "outside_region" in _codes(exc, "park")
    assert make_policy(world, "ipo_js", park=p2).park == p2


def test_codes_and_dates(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        make_policy(
            world,
            size_classes=["tiny"],
            industry_sections=["Z"],
            effective_from=DAY,
            effective_until=DAY - datetime.timedelta(days=1),
            issued_on=DAY,
        )
    assert _codes(exc, "size_classes") == {"invalid_choice"}
    assert _codes(exc, "industry_sections") == {"invalid_choice"}
    assert _codes(exc, "effective_until") == {"before_start"}
    with pytest.raises(ValidationError) as exc:
        make_policy(world, issued_on=DAY, effective_from=DAY - datetime.timedelta(days=1))
    assert _codes(exc, "effective_from") == {"before_issue"}


def test_document_number_unique_per_body(world) -> None:  # type: ignore[no-untyped-def]
    make_policy(world, document_number="京知发〔2026〕1号")
    with pytest.raises(ValidationError) as exc:
        make_policy(world, document_number="京知发〔2026〕1号")
    assert _codes(exc, "document_number") == {"unique"}


def test_only_owner_changes(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    with pytest.raises(PermissionDenied):
        services.policy_update(actor=world.user("ipo_js"), policy=policy, values={"title": "x"}, expected_version=2)
    with pytest.raises(PermissionDenied):
        services.policy_withdraw(actor=world.user("bank1"), policy=policy, expected_version=2)


def test_stale_version(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    assert policy.version == 2
    services.policy_update(actor=world.user("ipo_bj"), policy=policy, values={"title": "新标题"}, expected_version=2)
    with pytest.raises(ValidationError) as exc:
        services.policy_update(
            actor=world.user("ipo_bj"), policy=policy, values={"title": "又一标题"}, expected_version=2
        )
    assert _codes(exc, "version") == {"stale"}
    assert Policy.objects.get(pk=policy.pk).title == "新标题"


def test_publish_withdraw_cycle(world) -> None:  # type: ignore[no-untyped-def]
    actor = world.user("ipo_bj")
    policy = make_policy(world, publish=False)
    assert not selectors.public_policies().filter(pk=policy.pk).exists()
    policy = services.policy_publish(actor=actor, policy=policy, expected_version=1)
    assert selectors.public_policies().filter(pk=policy.pk).exists() and policy.published_at is not None
    with pytest.raises(ValidationError) as exc:
        services.policy_publish(actor=actor, policy=policy, expected_version=None)
    assert _codes(exc, "status") == {"invalid_state"}
    policy = services.policy_withdraw(actor=actor, policy=policy, expected_version=2, reason="已被新政策替代")
    assert policy.status == PolicyStatus.WITHDRAWN
    assert not selectors.public_policies().filter(pk=policy.pk).exists()
    assert AuditEvent.objects.filter(action="policy.withdraw", object_id=str(policy.pk)).exists()


def test_attachment_add_and_remove(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    actor = world.user("ipo_bj")
    attachment = services.attachment_add(
        actor=actor, policy=policy, upload=SimpleUploadedFile("原文.pdf", PDF_BYTES, content_type="application/pdf")
    )
    assert attachment.content_type == "application/pdf" and attachment.name == "原文.pdf"
    assert attachment.file.read() == PDF_BYTES
    with pytest.raises(PermissionDenied):
        services.attachment_remove(actor=world.user("ipo_js"), attachment=attachment)
    services.attachment_remove(actor=actor, attachment=attachment)
    assert not PolicyAttachment.objects.exists()
    assert AuditEvent.objects.filter(action="policy.attachment_remove").exists()


def test_attachment_refused_for_bad_type(world) -> None:  # type: ignore[no-untyped-def]
    policy = make_policy(world)
    upload = SimpleUploadedFile("evil.pdf", b"MZ\x90\x00 not a pdf at all", content_type="application/pdf")
    with pytest.raises(ValidationError) as exc:
        services.attachment_add(actor=world.user("ipo_bj"), policy=policy, upload=upload)
    assert "file" in exc.value.error_dict
    assert not PolicyAttachment.objects.exists()


def _applicable(world, **kwargs):  # type: ignore[no-untyped-def]
    criteria = {"region_code": "110108", "park": None, "size_class": "small", "industry_section": "C"} | kwargs
    return set(selectors.applicable_policies(**criteria, today=DAY))


def test_applicable_region_containment(world) -> None:  # type: ignore[no-untyped-def]
    national = make_policy(world, "cnipa", region=None)
    beijing = make_policy(world, "ipo_bj")
    haidian = make_policy(world, "ipo_bj", region=region("110108"))
    jiangsu = make_policy(world, "ipo_js")
    nanjing = make_policy(world, "ipo_js", region=region("320100"))
    assert _applicable(world) == {national, beijing, haidian}
    assert _applicable(world, region_code="320115") == {national, jiangsu, nanjing}
    assert jiangsu not in _applicable(world, region_code="110105")


def test_applicable_park_size_industry_validity(world) -> None:  # type: ignore[no-untyped-def]
    p1 = world.parks["p1"]
    park_policy = make_policy(world, "park1", region=None, park=p1)
    small_only = make_policy(world, size_classes=["small", "micro"])
    large_only = make_policy(world, size_classes=["large"])
    tech_only = make_policy(world, industry_sections=["I", "M"])
    expired = make_policy(
        world,
        issued_on=datetime.date(2020, 1, 1),
        effective_from=datetime.date(2020, 1, 1),
        effective_until=datetime.date(2022, 12, 31),
    )
    future = make_policy(world, issued_on=DAY, effective_from=DAY + datetime.timedelta(days=10))
    draft = make_policy(world, publish=False)
    found = _applicable(world)
    assert small_only in found
    assert not {park_policy, large_only, tech_only, expired, future, draft} & found
    in_park = _applicable(world, park=p1, industry_section="I")
    assert {park_policy, small_only, tech_only} <= in_park
    assert park_policy not in _applicable(world, park=world.parks["p2"], region_code="320115")
    reasons = selectors.applicability_reasons(
        park_policy, region_code="110108", park=p1, size_class="small", industry_section="I"
    )
    assert any(p1.name in r for r in reasons)


def test_seed_policies_is_idempotent(world) -> None:  # type: ignore[no-untyped-def]
    from ipledge.portal.seeding_policies import seed_policies

    created = seed_policies(today=DAY)
    assert created >= 20
    assert seed_policies(today=DAY) == 0
    plan = Policy.objects.get(document_number="国知发运字〔2021〕17号")
    assert plan.region_code == "" and plan.status == PolicyStatus.PUBLISHED
    assert not plan.body.startswith("【演示】")
    assert Policy.objects.filter(status=PolicyStatus.DRAFT).count() >= 1
    assert Policy.objects.filter(park__isnull=False).exists()
    assert Policy.objects.filter(region_code="320100").exists()  # the Nanjing office's
    assert all(p.body.startswith("【演示】") for p in Policy.objects.exclude(pk=plan.pk))
    haidian = set(
        selectors.applicable_policies(
            region_code="110108", park=world.parks["p1"], size_class="small", industry_section="C", today=DAY
        )
    )
    assert len(haidian) >= 5 and plan not in haidian
