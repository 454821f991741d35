"""Whitelist services (授信白名单): the province's baseline published and replaced, a park's criteria that may tighten
but never loosen it, screening park P1 into a draft (exclusions from credit records, a park-only failure, every
candidate and an applicant considered), the park's overrides, submission and the province's approval with
maker-checker, the diff between versions, applications answered, and what an enterprise sees of itself."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent, Region
from ipledge.core.scoping import Action
from ipledge.registry.services import membership_end
from ipledge.screening.choices import (
    ApplicationStatus,
    CriteriaLevel,
    CriteriaStatus,
    EntrySource,
    VersionStatus,
)
from ipledge.screening.models import Criteria, Whitelist, WhitelistApplication, WhitelistEntry, WhitelistVersion
from ipledge.screening.selectors_whitelists import approval_queue, my_status, version_entries
from ipledge.screening.services import whitelists as services
from tests.screening.factories import PERIOD, add_scorecard
from tests.screening.factories_whitelists import (
    AS_OF,
    BASELINE_EXCLUSIONS,
    TODAY,
    ScreeningWorld,
    member,
    publish_baseline,
    publish_park_criteria,
    screening_world,
)
from tests.world import World

pytestmark = pytest.mark.django_db


def errors_of(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {field: [e.code or "" for e in errors] for field, errors in exc.value.error_dict.items()}


def entries(version: WhitelistVersion) -> dict[str, WhitelistEntry]:
    return {e.enterprise.name: e for e in version.entries.select_related("enterprise")}


def by_ent(version: WhitelistVersion, sw: ScreeningWorld) -> dict[str, WhitelistEntry]:
    found = {e.enterprise_id: e for e in version.entries.all()}
    return {key: found[ent.pk] for key, ent in sw.ents.items() if ent.pk in found}


def screen(w: World, **kwargs: Any) -> WhitelistVersion:
    with as_of(TODAY):
        return services.whitelist_screen(
            park=w.parks["p1"], period=PERIOD, as_of=kwargs.pop("as_of", AS_OF), acting_user=w.user("park1"), **kwargs
        )


# ---------------------------------------------------------------------------
# Criteria
# ---------------------------------------------------------------------------


def test_baseline_publish_retires_the_previous_one(world: World) -> None:
    first = publish_baseline(world)
    assert first.status == CriteriaStatus.PUBLISHED and first.published_by == world.user("ipo_bj", Role.ADMIN)
    assert first.exclusions[2] == {
        "rule": "tax_rating",
        "effective_from": None,
        "effective_to": None,
        "params": {"ratings": ["D"]},
    }
    second = publish_baseline(world, scorecard=first.scorecard, min_score="55")
    first.refresh_from_db()
    assert (first.status, second.status) == (CriteriaStatus.RETIRED, CriteriaStatus.PUBLISHED)
    assert services.baseline_for(region=world.parks["p1"].region, period=PERIOD) == second
    assert AuditEvent.objects.filter(action="criteria.retire", object_id=str(first.pk)).exists()
    # A published criteria is never edited again.
    with pytest.raises(ValidationError) as exc:
        services.criteria_update(criteria=second, data={"min_score": 60}, acting_user=world.user("ipo_bj"))
    assert errors_of(exc) == {"status": ["not_draft"]}


def test_baseline_owner_and_region_rules(world: World) -> None:
    card = add_scorecard(world)
    beijing = Region.objects.get(code="110000")
    common: dict[str, Any] = {
        "level": CriteriaLevel.BASELINE,
        "period": PERIOD,
        "name": "基准",
        "scorecard": card,
        "min_score": 50,
    }
    # Jiangsu's office cannot make Beijing's baseline; a municipal office makes none; a park makes no baseline.
    with pytest.raises(ValidationError) as exc:
        services.criteria_create(owner=world.orgs["ipo_js"], region=beijing, acting_user=world.user("ipo_js"), **common)
    assert errors_of(exc) == {"region": ["out_of_jurisdiction"]}
    with pytest.raises(ValidationError) as exc:
        services.criteria_create(
            owner=world.orgs["ipo_nj"],
            region=Region.objects.get(code="320100"),
            acting_user=world.user("ipo_nj"),
            **common,
        )
    assert errors_of(exc) == {"owner": ["baseline_owner"]}
    with pytest.raises(PermissionDenied):  # another organisation's name on it
        services.criteria_create(owner=world.orgs["ipo_bj"], region=beijing, acting_user=world.user("ipo_js"), **common)
    with pytest.raises(ValidationError) as exc:
        services.criteria_create(
            owner=world.orgs["ipo_bj"],
            region=beijing,
            acting_user=world.user("ipo_bj"),
            **{**common, "period": "2026-1"},
        )
    assert errors_of(exc) == {"period": ["period_format"]}
    with pytest.raises(ValidationError) as exc:
        services.criteria_create(
            owner=world.orgs["ipo_bj"],
            region=beijing,
            acting_user=world.user("ipo_bj"),
            **{**common, "exclusions": [{"rule": "bankrupt"}, {"rule": "penalties", "params": {"max_count": 2}}]},
        )
    codes = errors_of(exc)["exclusions"]
    assert "unknown_rule" in codes and "missing_param" in codes
    # The national office may make one for any province.
    national = services.criteria_create(
        owner=world.orgs["cnipa"], region=Region.objects.get(code="320000"), acting_user=world.user("cnipa"), **common
    )
    assert national.status == CriteriaStatus.DRAFT


def test_park_criteria_need_a_published_baseline_and_its_scorecard(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        publish_park_criteria(world)
    assert errors_of(exc) == {"baseline": ["no_baseline"]}
    baseline = publish_baseline(world)
    with pytest.raises(ValidationError) as exc:
        publish_park_criteria(world, scorecard=add_scorecard(world))
    assert errors_of(exc) == {"scorecard": ["scorecard_mismatch"]}
    with pytest.raises(ValidationError) as exc:  # only its own park
        services.criteria_create(
            owner=world.orgs["park1"],
            level=CriteriaLevel.PARK,
            region=None,
            park=world.parks["p2"],
            period=PERIOD,
            name="x",
            min_score=60,
            acting_user=world.user("park1"),
        )
    assert errors_of(exc) == {"park": ["not_own_park"]}
    park = publish_park_criteria(world)
    assert (park.baseline, park.scorecard, park.region) == (baseline, baseline.scorecard, world.parks["p1"].region)


LOOSENINGS: list[tuple[dict[str, Any], str, str]] = [
    ({"min_score": "45"}, "min_score", "looser_min_score"),
    ({"min_invention_patents": 0}, "min_invention_patents", "looser_min_invention_patents"),
    ({"require_high_tech_or_specialised": False}, "require_high_tech_or_specialised", "dropped_high_tech_requirement"),
    ({"allowed_sizes": []}, "allowed_sizes", "sizes_unrestricted"),
    ({"allowed_sizes": ["small", "medium"]}, "allowed_sizes", "sizes_not_subset"),
    ({"exclusions": BASELINE_EXCLUSIONS[:2]}, "exclusions", "missing_exclusion"),
    (
        {"exclusions": [*BASELINE_EXCLUSIONS[:2], {"rule": "tax_rating", "params": {"ratings": ["C"]}}]},
        "exclusions",
        "looser_exclusion_params",
    ),
    (
        {"exclusions": [*BASELINE_EXCLUSIONS[:2], {**BASELINE_EXCLUSIONS[2], "effective_from": "2026-06-01"}]},
        "exclusions",
        "exclusion_dates_not_covered",
    ),
]


@pytest.mark.parametrize(("change", "field", "code"), LOOSENINGS, ids=[c for _, _, c in LOOSENINGS])
def test_park_criteria_that_loosen_are_refused(world: World, change: dict[str, Any], field: str, code: str) -> None:
    baseline = publish_baseline(world)
    # A stricter baseline for this test: patents, the high-tech flag and sizes restricted too.
    Criteria.objects.filter(pk=baseline.pk).update(
        min_invention_patents=1, require_high_tech_or_specialised=True, allowed_sizes=["small", "micro"]
    )
    strict = {
        "min_score": "60",
        "min_invention_patents": 2,
        "require_high_tech_or_specialised": True,
        "allowed_sizes": ["small"],
        "exclusions": BASELINE_EXCLUSIONS,
    }
    user = world.user("park1", Role.ADMIN)
    draft = services.criteria_create(
        owner=world.orgs["park1"],
        level=CriteriaLevel.PARK,
        region=None,
        park=world.parks["p1"],
        period=PERIOD,
        name="海淀园细化标准",
        acting_user=user,
        **{**strict, **change},
    )
    with pytest.raises(ValidationError) as exc:
        services.criteria_publish(criteria=draft, acting_user=user)
    errors = exc.value.error_dict
    assert list(errors) == [field], errors
    assert [e.code for e in errors[field]] == [code]
    message = errors[field][0].messages[0]
    assert "从严" in message and ("不能放宽" in message or "不能取消" in message or "缺少" in message), message
    draft.refresh_from_db()
    assert draft.status == CriteriaStatus.DRAFT
    # Fixing the field lets it through: tightening (and keeping) everything is accepted.
    services.criteria_update(criteria=draft, data={k: strict[k] for k in change}, acting_user=user)
    assert services.criteria_publish(criteria=draft, acting_user=user).status == CriteriaStatus.PUBLISHED


def test_park_criteria_that_tighten_are_accepted_and_replace_the_parks_earlier_ones(world: World) -> None:
    publish_baseline(world)
    first = publish_park_criteria(
        world,
        min_score="65",
        min_invention_patents=1,
        require_high_tech_or_specialised=True,
        allowed_sizes=["small", "micro"],
        exclusions=[
            *BASELINE_EXCLUSIONS[:2],
            {"rule": "tax_rating", "params": {"ratings": ["C", "D"]}},
            {"rule": "abnormal", "effective_from": "2026-01-01"},
            {"rule": "penalties", "params": {"max_count": 1, "within_days": 730}},
        ],
    )
    assert first.status == CriteriaStatus.PUBLISHED
    second = publish_park_criteria(world, min_score="70")
    first.refresh_from_db()
    assert (first.status, second.status) == (CriteriaStatus.RETIRED, CriteriaStatus.PUBLISHED)
    # Park criteria published on a baseline that was replaced since may not be published any more.
    draft = services.criteria_create(
        owner=world.orgs["park1"],
        level=CriteriaLevel.PARK,
        region=None,
        park=world.parks["p1"],
        period=PERIOD,
        name="草稿",
        min_score=70,
        exclusions=BASELINE_EXCLUSIONS,
        acting_user=world.user("park1"),
    )
    publish_baseline(world, scorecard=second.scorecard, min_score="52")
    with pytest.raises(ValidationError) as exc:
        services.criteria_publish(criteria=draft, acting_user=world.user("park1"))
    assert errors_of(exc) == {"baseline": ["baseline_not_current"]}


# ---------------------------------------------------------------------------
# Screening
# ---------------------------------------------------------------------------


def test_screen_without_a_baseline_names_the_rule(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        screen(world)
    assert errors_of(exc) == {"period": ["no_baseline"]}
    assert not Whitelist.objects.exists()


def test_screening_a_park(world: World) -> None:
    sw = screening_world(world)
    publish_park_criteria(world, min_score="65")
    outsider = member(world, "late", "北京晚入园测试有限公司", 3010, joined=datetime.date(2026, 3, 2))
    with as_of(TODAY):  # a member since today applies; on the screening date it was not a member yet
        services.application_submit(
            enterprise=outsider, park=world.parks["p1"], period=PERIOD, acting_user=None, statement="请求纳入"
        )
    sw.ents["late"] = outsider
    version = screen(world)
    got = by_ent(version, sw)
    # Every candidate has an entry: the seven members on 2026-03-01 and the applicant.
    assert set(got) == set(sw.ents) and version.candidates == 8
    assert (version.status, version.number, version.as_of, version.previous) == (VersionStatus.DRAFT, 1, AS_OF, None)
    assert got["e1"].included and got["e1"].reasons == ["passed"] and got["e1"].score == Decimal("75.00")
    assert got["e1"].points == {"invention_patents": 15.0, "is_high_tech": 20.0}
    assert got["e1"].values["is_high_tech"] == "是"
    assert not got["e1b"].included and got["e1b"].reasons == ["below_min_score"]
    assert got["dishonest"].reasons[0] == "exclusion:dishonest" and not got["dishonest"].included
    assert got["dishonest"].score == Decimal("60.00")  # excluded enterprises are scored too
    assert got["serious"].reasons[0] == "exclusion:serious_violation"
    assert "exclusion:tax_rating" in got["tax_d"].reasons and "tax_rating:D" in got["tax_d"].reasons
    # The repaired record no longer counts; the park's minimum of 65 is what keeps it out, and it is marked so.
    assert got["repaired"].reasons == ["park:below_min_score"]
    assert got["park_only"].reasons == ["park:below_min_score"] and services.passes_baseline(got["park_only"].reasons)
    assert not services.passes_baseline(got["dishonest"].reasons)
    assert "park:below_min_score" in got["dishonest"].reasons  # its park-only failure is listed after the baseline's
    assert got["late"].source == EntrySource.APPLIED and got["late"].reasons == ["park:below_min_score"]
    assert got["e1"].source == EntrySource.SCREENED
    assert version.included == 1
    assert version.rules["min_score"] == 65.0 and len(version.rules["exclusions"]) == 3
    assert version.diff == {
        "added": [{"enterprise_id": sw.ents["e1"].pk, "name": sw.ents["e1"].name, "reasons": ["passed"]}],
        "removed": [],
        "unchanged": 0,
    }
    whitelist = version.whitelist
    assert (whitelist.baseline, whitelist.criteria.min_score, whitelist.region_code) == (  # type: ignore[union-attr]
        sw.baseline,
        Decimal("65.00"),
        "110108",
    )
    event = AuditEvent.objects.get(action="whitelist_version.screen")
    assert event.changes["extra"]["candidates"] == 8 and event.changes["extra"]["included"] == 1
    assert event.actor == world.user("park1")

    # Re-screening the open draft replaces its entries (no second version).
    again = screen(world)
    assert again.pk == version.pk and again.number == 1 and again.entries.count() == 8
    assert WhitelistVersion.objects.count() == 1


def test_only_the_parks_administration_screens(world: World) -> None:
    screening_world(world)
    for user in (world.user("park2"), world.user("ipo_bj"), world.user("park1", Role.VIEWER), world.user("ent1")):
        with pytest.raises(PermissionDenied), as_of(TODAY):
            services.whitelist_screen(park=world.parks["p1"], period=PERIOD, acting_user=user)
    version = services.whitelist_screen(park=world.parks["p1"], period=PERIOD, as_of=AS_OF, acting_user=None)
    assert version.prepared_by is None and version.candidates == 7


def test_members_who_left_are_not_candidates(world: World) -> None:
    sw = screening_world(world)
    membership = sw.ents["serious"].memberships.get()
    membership_end(membership=membership, left_on=datetime.date(2026, 2, 1), acting_user=world.user("park1"))
    version = screen(world)
    assert sw.ents["serious"].pk not in {e.enterprise_id for e in version.entries.all()}
    assert version.candidates == 6


# ---------------------------------------------------------------------------
# Overrides
# ---------------------------------------------------------------------------


def test_override_rules(world: World) -> None:
    sw = screening_world(world)
    publish_park_criteria(world, min_score="65")
    version = screen(world)
    got = by_ent(version, sw)
    park = world.user("park1")

    # The park puts in an enterprise that fails only its own tightening…
    entry = services.entry_override(entry=got["park_only"], include=True, note="园区重点培育企业", acting_user=park)
    assert entry.included and entry.source == EntrySource.PARK_ADDED and entry.park_note == "园区重点培育企业"
    assert entry.reasons == ["park:below_min_score", services.REASON_ADDED_BY_PARK]
    version.refresh_from_db()
    assert version.included == 2 and {a["enterprise_id"] for a in version.diff["added"]} == {
        sw.ents["e1"].pk,
        sw.ents["park_only"].pk,
    }
    # … never one that fails the baseline …
    with pytest.raises(ValidationError) as exc:
        services.entry_override(entry=got["dishonest"], include=True, note="x", acting_user=park)
    assert errors_of(exc) == {"include": ["fails_baseline"]}
    with pytest.raises(ValidationError) as exc:
        services.entry_override(entry=got["e1b"], include=True, note="x", acting_user=park)
    assert errors_of(exc) == {"include": ["fails_baseline"]}
    # … and takes out any enterprise, with a note.
    with pytest.raises(ValidationError) as exc:
        services.entry_override(entry=got["e1"], include=False, note="  ", acting_user=park)
    assert errors_of(exc) == {"note": ["required"]}
    entry = services.entry_override(entry=got["e1"], include=False, note="拟迁出园区", acting_user=park)
    assert not entry.included and entry.reasons == [services.REASON_REMOVED_BY_PARK]
    assert entry.source == EntrySource.SCREENED
    with pytest.raises(ValidationError) as exc:
        services.entry_override(entry=entry, include=False, note="again", acting_user=park)
    assert errors_of(exc) == {"include": ["no_change"]}
    # Put back, it is as screened again.
    entry = services.entry_override(entry=entry, include=True, note="迁出计划取消", acting_user=park)
    assert entry.included and entry.reasons == ["passed"] and entry.source == EntrySource.SCREENED
    # Taking the park's own pick out again restores its screening source and failures.
    entry = services.entry_override(entry=got["park_only"], include=False, note="复核后调出", acting_user=park)
    assert entry.source == EntrySource.SCREENED
    assert entry.reasons == ["park:below_min_score", services.REASON_REMOVED_BY_PARK]
    assert AuditEvent.objects.filter(action="whitelist_entry.override").count() == 4
    # Only the park's administration overrides, and only on a draft.
    for user in (world.user("ipo_bj", Role.ADMIN), world.user("park2")):
        with pytest.raises(PermissionDenied):
            services.entry_override(entry=got["e1"], include=False, note="x", acting_user=user)
    services.version_submit(version=version, acting_user=park)
    with pytest.raises(ValidationError) as exc:
        services.entry_override(entry=got["e1"], include=False, note="x", acting_user=park)
    assert errors_of(exc) == {"status": ["invalid_state"]}


# ---------------------------------------------------------------------------
# Submission, approval, diff, applications
# ---------------------------------------------------------------------------


def test_submit_approve_supersede_and_diff(world: World) -> None:
    sw = screening_world(world)
    park, park_admin = world.user("park1"), world.user("park1", Role.ADMIN)
    reviewer = world.user("ipo_bj", Role.REVIEWER)
    with as_of(TODAY):
        application = services.application_submit(
            enterprise=world.enterprises["e1"], park=world.parks["p1"], period=PERIOD, acting_user=world.user("ent1")
        )
        refused = services.application_submit(
            enterprise=world.enterprises["e1b"], park=world.parks["p1"], period=PERIOD, acting_user=None
        )
    v1 = screen(world)
    assert by_ent(v1, sw)["e1"].source == EntrySource.APPLIED
    # The enterprise sees nothing of the draft.
    assert not WhitelistEntry.objects.restrict(world.user("ent1")).exists()
    assert my_status(user=world.user("ent1"))[0].state == "pending"

    services.version_submit(version=v1, acting_user=park)
    v1.refresh_from_db()
    assert (v1.status, v1.submitted_by) == (VersionStatus.SUBMITTED, park)
    with pytest.raises(ValidationError) as exc:  # no re-screening while the province has it
        screen(world)
    assert errors_of(exc) == {"status": ["submitted_pending"]}
    assert list(approval_queue(user=reviewer)) == [v1]
    assert not approval_queue(user=world.user("ipo_js", Role.REVIEWER)).exists()
    assert not approval_queue(user=park_admin).exists()

    # Who may not approve: the park itself (even its admin), Jiangsu's office, an operator of Beijing's office.
    for user in (park_admin, world.user("ipo_js", Role.REVIEWER), world.user("ipo_bj")):
        with pytest.raises(PermissionDenied):
            services.version_approve(version=v1, acting_user=user)
    assert (
        not WhitelistVersion.objects.restrict(world.user("ipo_js", Role.REVIEWER), Action.VIEW)
        .filter(pk=v1.pk)
        .exists()
    )

    with as_of(TODAY):
        services.version_approve(version=v1, note="同意", acting_user=reviewer)
    v1.refresh_from_db()
    assert (v1.status, v1.decided_by, v1.decision_note) == (VersionStatus.APPROVED, reviewer, "同意")
    assert v1.whitelist.current_version == v1
    application.refresh_from_db()
    refused.refresh_from_db()
    assert (application.status, application.answered_in, application.answer) == (
        ApplicationStatus.INCLUDED,
        v1,
        ["passed"],
    )
    assert (refused.status, refused.answer) == (ApplicationStatus.NOT_INCLUDED, ["below_min_score"])

    # The enterprise now sees its own entry, and only its own.
    own = WhitelistEntry.objects.restrict(world.user("ent1"))
    assert list(own.values_list("enterprise_id", flat=True)) == [world.enterprises["e1"].pk]
    status = my_status(user=world.user("ent1"))
    assert [(s.state, s.application) for s in status] == [("in", application)]
    assert [r.code for r in status[0].reasons] == ["passed"]

    # Next round: the dishonest record is repaired and a park criteria of 55 is published; e1 leaves the park.
    from ipledge.screening.models import CreditRecord

    CreditRecord.objects.filter(enterprise=sw.ents["dishonest"]).update(removed_on=datetime.date(2026, 3, 5))
    membership_end(
        membership=world.enterprises["e1"].memberships.get(), left_on=datetime.date(2026, 3, 10), acting_user=park
    )
    publish_park_criteria(world, min_score="55")
    v2 = screen(world, as_of=datetime.date(2026, 3, 20))
    assert (v2.number, v2.previous, v2.status) == (2, v1, VersionStatus.DRAFT)
    added = {a["enterprise_id"]: a for a in v2.diff["added"]}
    removed = {r["enterprise_id"]: r for r in v2.diff["removed"]}
    assert set(added) == {sw.ents["dishonest"].pk}
    assert added[sw.ents["dishonest"].pk]["reasons"] == ["passed"]
    assert removed == {
        sw.ents["e1"].pk: {
            "enterprise_id": sw.ents["e1"].pk,
            "name": sw.ents["e1"].name,
            "reasons": [services.REASON_NOT_CANDIDATE],
        }
    }
    assert v2.diff["unchanged"] == 2  # "repaired" and "park_only" (60) pass a park minimum of 55 too
    # Returned by the province, screened again into a new draft, approved: v1 superseded.
    services.version_submit(version=v2, acting_user=park)
    with pytest.raises(ValidationError) as exc:
        services.version_return(version=v2, note="", acting_user=reviewer)
    assert errors_of(exc) == {"note": ["required"]}
    services.version_return(version=v2, note="请核实迁出企业", acting_user=reviewer)
    v2.refresh_from_db()
    assert v2.status == VersionStatus.RETURNED and v2.decision_note == "请核实迁出企业"
    v3 = screen(world, as_of=datetime.date(2026, 3, 20))
    assert (v3.number, v3.previous) == (3, v1)
    services.version_submit(version=v3, acting_user=park_admin)
    services.version_approve(version=v3, acting_user=world.user("ipo_bj", Role.ADMIN))
    v1.refresh_from_db()
    v3.refresh_from_db()
    assert (v1.status, v3.status) == (VersionStatus.SUPERSEDED, VersionStatus.APPROVED)
    assert Whitelist.objects.get().current_version == v3
    # ent1 is no longer in the current version: its status shows nothing current.
    assert my_status(user=world.user("ent1"))[0].entry is None


def test_maker_checker(world: World) -> None:
    screening_world(world)
    version = screen(world)
    # The platform submits, then tries to approve: the submitter never decides.
    platform = world.user("cnipa", Role.ADMIN)
    platform.is_superuser = True
    platform.save(update_fields=["is_superuser"])
    platform = type(platform).objects.get(pk=platform.pk)
    services.version_submit(version=version, acting_user=platform)
    with pytest.raises(ValidationError) as exc:
        services.version_approve(version=version, acting_user=platform)
    assert errors_of(exc) == {"decided_by": ["maker_is_checker"]}
    with pytest.raises(ValidationError) as exc:
        services.version_return(version=version, note="x", acting_user=platform)
    assert errors_of(exc) == {"decided_by": ["maker_is_checker"]}
    # A draft is not decided; an approved one is not approved twice.
    services.version_approve(version=version, acting_user=world.user("ipo_bj", Role.REVIEWER))
    with pytest.raises(ValidationError) as exc:
        services.version_approve(version=version, acting_user=world.user("ipo_bj", Role.REVIEWER))
    assert errors_of(exc) == {"status": ["invalid_state"]}


def test_applications(world: World) -> None:
    screening_world(world)
    ent1 = world.user("ent1")
    with as_of(TODAY):
        with pytest.raises(ValidationError) as exc:  # E1 is not a member of P2
            services.application_submit(
                enterprise=world.enterprises["e1"], park=world.parks["p2"], period=PERIOD, acting_user=ent1
            )
        assert errors_of(exc) == {"park": ["not_member"]}
        with pytest.raises(PermissionDenied):  # another enterprise's user, or the park, does not apply for it
            services.application_submit(
                enterprise=world.enterprises["e1"],
                park=world.parks["p1"],
                period=PERIOD,
                acting_user=world.user("ent2"),
            )
        with pytest.raises(PermissionDenied):
            services.application_submit(
                enterprise=world.enterprises["e1"],
                park=world.parks["p1"],
                period=PERIOD,
                acting_user=world.user("park1"),
            )
        application = services.application_submit(
            enterprise=world.enterprises["e1"],
            park=world.parks["p1"],
            period=PERIOD,
            statement="说明",
            acting_user=ent1,
        )
        assert (application.status, application.region_code, application.submitted_by) == (
            ApplicationStatus.PENDING,
            "110108",
            ent1,
        )
        with pytest.raises(ValidationError) as exc:
            services.application_submit(
                enterprise=world.enterprises["e1"], park=world.parks["p1"], period=PERIOD, acting_user=ent1
            )
        assert errors_of(exc) == {"period": ["unique"]}
        withdrawn = services.application_withdraw(application=application, acting_user=ent1)
        assert withdrawn.status == ApplicationStatus.WITHDRAWN
        with pytest.raises(ValidationError) as exc:
            services.application_withdraw(application=withdrawn, acting_user=ent1)
        assert errors_of(exc) == {"status": ["invalid_state"]}
        # After withdrawing, it may apply again; once included it need not.
        again = services.application_submit(
            enterprise=world.enterprises["e1"], park=world.parks["p1"], period=PERIOD, acting_user=ent1
        )
    version = screen(world)
    services.version_submit(version=version, acting_user=world.user("park1"))
    services.version_approve(version=version, acting_user=world.user("ipo_bj", Role.REVIEWER))
    again.refresh_from_db()
    assert again.status == ApplicationStatus.INCLUDED
    with pytest.raises(ValidationError):  # an answered application is not withdrawn
        services.application_withdraw(application=again, acting_user=ent1)
    WhitelistApplication.objects.filter(pk=again.pk).update(status=ApplicationStatus.WITHDRAWN)
    with as_of(TODAY), pytest.raises(ValidationError) as exc:
        services.application_submit(
            enterprise=world.enterprises["e1"], park=world.parks["p1"], period=PERIOD, acting_user=ent1
        )
    assert errors_of(exc) == {"period": ["already_included"]}


def test_entries_visible_by_role(world: World) -> None:
    screening_world(world)
    version = screen(world)
    park_entries = version_entries(user=world.user("park1", Role.VIEWER), version=version)
    assert park_entries.count() == 7
    assert version_entries(user=world.user("park1"), version=version, included=False).count() == 4
    assert version_entries(user=world.user("park1"), version=version, q="失信").count() == 1
    assert version_entries(user=world.user("ipo_bj", Role.VIEWER), version=version).count() == 7
    assert not version_entries(user=world.user("ipo_js"), version=version).exists()
    assert not version_entries(user=world.user("park2"), version=version).exists()


def test_baseline_on_the_default_expert_card_screens(world: World) -> None:
    """Without a card named, the baseline takes the platform's expert card, and a screen on it decomposes every
    score into the card's characteristics."""
    user = world.user("ipo_bj", Role.ADMIN)
    baseline = services.criteria_create(
        owner=world.orgs["ipo_bj"],
        level=CriteriaLevel.BASELINE,
        region=Region.objects.get(code="110000"),
        period=PERIOD,
        name="北京市基准标准（专家评分卡）",
        min_score=0,
        exclusions=BASELINE_EXCLUSIONS,
        acting_user=user,
    )
    assert baseline.scorecard.method == "expert" and baseline.scorecard.owner is None
    services.criteria_publish(criteria=baseline, acting_user=user)
    version = screen(world)
    card = services.scorecard_spec(baseline.scorecard)
    names = [c.name for c in card.characteristics]
    for entry in version.entries.all():
        # jsonb keeps no key order (PostgreSQL): the page orders points by the card, so compare as sets
        assert set(entry.points) == set(names) and entry.score is not None
        total = card.base_points + sum(entry.points.values())
        assert abs(float(entry.score) - total) < 0.01
    assert version.candidates == 2 and version.included == 2
