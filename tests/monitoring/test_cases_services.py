"""Typical-case workflow (典型案例): nomination → review → selection → publication, maker-checker, withdrawal,
version guard, validation and audit."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.monitoring.choices import CaseCategory, CaseStatus
from ipledge.monitoring.models import TypicalCase
from ipledge.monitoring.services import cases as services
from tests.monitoring.factories_cases import TITLES, add_cases, case, nominate, review

pytestmark = pytest.mark.django_db


def _codes(exc: ValidationError) -> dict[str, list[str]]:
    return {name: [e.code or "" for e in errors] for name, errors in exc.error_dict.items()}


def test_full_workflow_from_nomination_to_publication(world) -> None:  # type: ignore[no-untyped-def]
    nominated = nominate(world, "park1", title="海淀园案例", park=world.parks["p1"])
    assert nominated.status == CaseStatus.NOMINATED
    assert nominated.region_code == "110108"
    assert nominated.nominated_by_org == world.orgs["park1"]
    reviewer = world.user("ipo_bj", Role.REVIEWER)
    scored = review(world, nominated, "ipo_bj", score=90)
    assert scored.status == CaseStatus.UNDER_REVIEW and scored.review_score == 90 and scored.reviewer == reviewer
    selected = services.case_decide(case=scored, select=True, acting_user=reviewer)
    assert selected.status == CaseStatus.SELECTED
    published = services.case_publish(case=selected, acting_user=reviewer)
    published.refresh_from_db()
    assert published.status == CaseStatus.PUBLISHED and published.published_on is not None
    assert published.version == 5
    actions = list(
        AuditEvent.objects.filter(object_type="monitoring.typicalcase", object_id=str(published.pk))
        .order_by("pk")
        .values_list("action", flat=True)
    )
    assert actions == [
        "typical_case.nominate",
        "typical_case.review_open",
        "typical_case.review_score",
        "typical_case.select",
        "typical_case.publish",
    ]


def test_reviewer_is_never_the_nominator(world) -> None:  # type: ignore[no-untyped-def]
    admin = world.user("ipo_bj", Role.ADMIN)  # an admin both nominates and approves by role
    nominated = services.case_create(
        year=2025,
        title="北京市局自荐案例",
        category=CaseCategory.RISK_SHARING,
        summary="摘要",
        practice="做法",
        results="成效",
        park=world.parks["p1"],
        acting_user=admin,
    )
    with pytest.raises(ValidationError) as exc:
        services.case_review_open(case=nominated, acting_user=admin)
    assert _codes(exc.value) == {"reviewer": ["maker_is_checker"]}
    opened = services.case_review_open(case=nominated, acting_user=world.user("ipo_bj", Role.REVIEWER))
    with pytest.raises(ValidationError):
        services.case_review_score(case=opened, score=80, note="好", acting_user=admin)


def test_only_an_ip_office_covering_the_case_reviews(world) -> None:  # type: ignore[no-untyped-def]
    nominated = nominate(world, "park1", title="海淀园案例", park=world.parks["p1"])
    for outsider in ("ipo_js", "bank1", "park1", "reg_bj"):
        with pytest.raises(PermissionDenied):
            services.case_review_open(case=nominated, acting_user=world.user(outsider, Role.ADMIN))
    services.case_review_open(case=nominated, acting_user=world.user("cnipa", Role.REVIEWER))
    # A city office nominates but does not select: that is the province's.
    jiangsu = nominate(world, "park2", title="江宁案例", park=world.parks["p2"])
    with pytest.raises(PermissionDenied):
        services.case_review_open(case=jiangsu, acting_user=world.user("ipo_nj", Role.REVIEWER))
    assert services.may_review(world.user("ipo_js", Role.REVIEWER), jiangsu)


def test_decision_needs_a_score_and_rejection_a_note(world) -> None:  # type: ignore[no-untyped-def]
    reviewer = world.user("ipo_js", Role.REVIEWER)
    nominated = nominate(world, "park2", title="江宁案例", park=world.parks["p2"])
    opened = services.case_review_open(case=nominated, acting_user=reviewer)
    with pytest.raises(ValidationError) as exc:
        services.case_decide(case=opened, select=True, acting_user=reviewer)
    assert _codes(exc.value) == {"score": ["not_scored"]}
    with pytest.raises(ValidationError) as exc:
        services.case_review_score(case=opened, score=101, note="", acting_user=reviewer)
    assert _codes(exc.value) == {"score": ["range"], "note": ["required"]}
    scored = services.case_review_score(case=opened, score=55, note="一般", acting_user=reviewer)
    with pytest.raises(ValidationError) as exc:
        services.case_decide(case=scored, select=False, acting_user=reviewer)
    assert _codes(exc.value) == {"note": ["required"]}
    rejected = services.case_decide(case=scored, select=False, note="成效不突出", acting_user=reviewer)
    assert rejected.status == CaseStatus.REJECTED
    with pytest.raises(ValidationError) as exc:
        services.case_publish(case=rejected, acting_user=reviewer)
    assert _codes(exc.value) == {"status": ["invalid_state"]}


def test_withdraw_only_by_the_nominator_before_review(world) -> None:  # type: ignore[no-untyped-def]
    nominated = nominate(world, "park1", title="海淀园案例", park=world.parks["p1"])
    with pytest.raises(PermissionDenied):
        services.case_withdraw(case=nominated, acting_user=world.user("ipo_bj", Role.ADMIN))
    withdrawn = services.case_withdraw(case=nominated, acting_user=world.user("park1"), note="材料不全")
    assert withdrawn.status == CaseStatus.WITHDRAWN
    second = nominate(world, "park1", title="海淀园案例二", park=world.parks["p1"])
    services.case_review_open(case=second, acting_user=world.user("ipo_bj", Role.REVIEWER))
    with pytest.raises(ValidationError) as exc:
        services.case_withdraw(case=second, acting_user=world.user("park1"))
    assert _codes(exc.value) == {"status": ["invalid_state"]}


def test_links_must_be_within_the_nominators_reach(world) -> None:  # type: ignore[no-untyped-def]
    # bank2 does no business with E2 in this world, so it cannot name it; nor a park outside an IP office's region.
    with pytest.raises(ValidationError) as exc:
        nominate(world, "bank2", title="越权关联", enterprise=world.enterprises["e2"])
    assert _codes(exc.value) == {"enterprise": ["not_found"]}
    with pytest.raises(ValidationError) as exc:
        nominate(world, "ipo_bj", title="跨省推荐", park=world.parks["p2"])
    assert _codes(exc.value) == {"park": ["outside_region"]}
    with pytest.raises(ValidationError) as exc:
        nominate(world, "park1", title="非银行", bank=world.orgs["park2"])
    assert _codes(exc.value) == {"bank": ["not_bank"]}
    linked = nominate(world, "ipo_js", title="江苏企业案例", enterprise=world.enterprises["e2"])
    assert linked.region_code == world.enterprises["e2"].region_code


def test_enterprises_and_read_only_bodies_cannot_nominate(world) -> None:  # type: ignore[no-untyped-def]
    for key in ("ent1", "reg_bj"):
        with pytest.raises(PermissionDenied):
            nominate(world, key, title="不可推荐", role=Role.ADMIN)
    assert not TypicalCase.objects.exists()


def test_required_fields_and_year_range(world) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValidationError) as exc:
        services.case_create(
            year=1999,
            title=" ",
            category="nonsense",
            summary="",
            practice="x",
            results="y",
            park=world.parks["p1"],
            acting_user=world.user("park1"),
        )
    assert _codes(exc.value) == {
        "title": ["required"],
        "summary": ["required"],
        "category": ["invalid_choice"],
        "year": ["range"],
    }
    assert not TypicalCase.objects.exists()


def test_update_rules_and_version_guard(world) -> None:  # type: ignore[no-untyped-def]
    nominated = nominate(world, "park1", title="海淀园案例", park=world.parks["p1"])
    updated = services.case_update(
        case=nominated, values={"title": "海淀园案例（修订）"}, acting_user=world.user("park1"), expected_version=1
    )
    assert updated.title == "海淀园案例（修订）" and updated.version == 2
    with pytest.raises(ValidationError) as exc:
        services.case_update(
            case=nominated, values={"title": "旧版本覆盖"}, acting_user=world.user("park1"), expected_version=1
        )
    assert _codes(exc.value) == {"version": ["stale"]}
    opened = services.case_review_open(case=updated, acting_user=world.user("ipo_bj", Role.REVIEWER))
    with pytest.raises(ValidationError) as exc:
        services.case_update(case=opened, values={"title": "评审中修改"}, acting_user=world.user("park1"))
    assert _codes(exc.value) == {"status": ["invalid_state"]}
    polished = services.case_update(
        case=opened, values={"summary": "经评审润色的摘要"}, acting_user=world.user("ipo_bj", Role.ADMIN)
    )
    assert polished.summary == "经评审润色的摘要"
    with pytest.raises(ValidationError) as exc:
        services.case_update(case=opened, values={"park": None}, acting_user=world.user("ipo_bj", Role.ADMIN))
    assert "park" in exc.value.error_dict


def test_add_cases_factory(world) -> None:  # type: ignore[no-untyped-def]
    add_cases(world)
    assert {key: case(key).status for key in TITLES} == {
        "bj_nominated": CaseStatus.NOMINATED,
        "js_published": CaseStatus.PUBLISHED,
        "js_review": CaseStatus.UNDER_REVIEW,
        "bj_rejected": CaseStatus.REJECTED,
    }
