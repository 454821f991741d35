"""Measures (工作措施): who may record them and where, the validation of every field (each error naming its field and
rule, nothing half-written), updates and deletion with their audit events, and the reach of each organisation."""

from __future__ import annotations

import datetime
from typing import Any

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent, Region
from ipledge.core.scoping import Action
from ipledge.monitoring.choices import MeasureCategory, MeasureStatus
from ipledge.monitoring.models import MeasureEntry
from ipledge.monitoring.selectors_reports import MeasureFilters, measure_list
from ipledge.monitoring.services.measures import measure_create, measure_delete, measure_update
from tests.monitoring.factories_reports import add_reports
from tests.world import World

pytestmark = pytest.mark.django_db


def _values(**overrides: Any) -> dict[str, Any]:
    values: dict[str, Any] = {
        "region": Region.objects.get(code="320000"),
        "category": MeasureCategory.POLICY,
        "title": "江苏省知识产权质押融资行动方案",
        "issuing_body": "江苏省知识产权局",
        "started_on": datetime.date(2025, 4, 1),
        "description": "明确目标任务。",
    }
    values.update(overrides)
    return values


def _codes(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {name: [e.code or "" for e in errors] for name, errors in exc.value.error_dict.items()}


def test_ip_office_records_a_measure_of_its_province_with_an_audit_event(world: World) -> None:
    user = world.user("ipo_js")
    measure = measure_create(**_values(document_no="苏知发〔2025〕3号", is_public=True), acting_user=user)
    assert measure.region_code == "320000" and measure.owner_org == world.orgs["ipo_js"]
    assert measure.created_by == user and measure.status == MeasureStatus.ONGOING and measure.is_public
    event = AuditEvent.objects.get(action="measure.create", object_id=str(measure.pk))
    assert event.region_code == "320000" and event.actor == user


def test_every_bad_field_is_named_at_once_and_nothing_is_written(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        measure_create(
            **_values(
                title="  ",
                issuing_body="x" * 129,
                description="",
                category="bogus",
                started_on=datetime.date(2025, 5, 1),
                ended_on=datetime.date(2025, 4, 30),
            ),
            acting_user=world.user("ipo_js"),
        )
    codes = _codes(exc)
    assert codes["title"] == ["required"] and codes["issuing_body"] == ["max_length"]
    assert codes["description"] == ["required"] and codes["category"] == ["invalid_choice"]
    assert codes["ended_on"] == ["before_start"]
    assert "截止日期不能早于实施日期" in str(exc.value.error_dict["ended_on"][0].message)
    assert not MeasureEntry.objects.exists()


def test_completed_measure_needs_an_end_date(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        measure_create(**_values(status=MeasureStatus.COMPLETED), acting_user=world.user("ipo_js"))
    assert _codes(exc) == {"ended_on": ["required_when_completed"]}


def test_ip_office_cannot_record_outside_its_jurisdiction(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        measure_create(**_values(region=Region.objects.get(code="110000")), acting_user=world.user("ipo_js"))
    assert _codes(exc) == {"region": ["out_of_region"]}
    # The Nanjing office reaches Nanjing, not the whole province.
    with pytest.raises(ValidationError):
        measure_create(**_values(), acting_user=world.user("ipo_nj"))
    assert measure_create(**_values(region=Region.objects.get(code="320100")), acting_user=world.user("ipo_nj"))


def test_park_admin_records_only_its_own_parks_measures(world: World) -> None:
    user = world.user("park2")
    measure = measure_create(**_values(region=None, park=world.parks["p2"]), acting_user=user)
    assert measure.region_code == "320115" and measure.owner_org == world.orgs["park2"]
    with pytest.raises(ValidationError) as exc:
        measure_create(**_values(region=None, park=world.parks["p1"]), acting_user=user)
    assert _codes(exc) == {"park": ["not_own_park"]}
    with pytest.raises(ValidationError) as exc:
        measure_create(**_values(), acting_user=user)
    assert _codes(exc) == {"park": ["required"]}


def test_park_must_lie_in_the_named_region(world: World) -> None:
    with pytest.raises(ValidationError) as exc:
        measure_create(
            **_values(region=Region.objects.get(code="320100"), park=world.parks["p1"]), acting_user=world.user("cnipa")
        )
    assert _codes(exc) == {"park": ["park_outside_region"]}


@pytest.mark.parametrize("key", ["bank1", "ent1", "reg_bj", "valuer"])
def test_other_organisations_may_not_record_measures(world: World, key: str) -> None:
    with pytest.raises(PermissionDenied):
        measure_create(**_values(region=Region.objects.get(code="110000")), acting_user=world.user(key))


def test_viewer_may_not_record(world: World) -> None:
    with pytest.raises(PermissionDenied):
        measure_create(**_values(), acting_user=world.user("ipo_js", Role.VIEWER))


def test_update_changes_only_named_fields_and_audits(world: World) -> None:
    measure = measure_create(**_values(), acting_user=world.user("ipo_js"))
    updated = measure_update(
        measure=measure,
        data={
            "results": "新增质押贷款20亿元",
            "status": MeasureStatus.COMPLETED,
            "ended_on": datetime.date(2025, 12, 31),
        },
        acting_user=world.user("ipo_js"),
    )
    assert updated.results == "新增质押贷款20亿元" and updated.title == measure.title
    event = AuditEvent.objects.get(action="measure.update", object_id=str(measure.pk))
    assert set(event.changes["fields"]) == {"results", "status", "ended_on"}
    with pytest.raises(ValidationError) as exc:
        measure_update(measure=measure, data={"ended_on": datetime.date(2024, 1, 1)}, acting_user=world.user("ipo_js"))
    assert _codes(exc) == {"ended_on": ["before_start"]}
    measure.refresh_from_db()
    assert measure.ended_on == datetime.date(2025, 12, 31)


def test_other_province_cannot_change_or_delete(world: World) -> None:
    measure = measure_create(**_values(), acting_user=world.user("ipo_js"))
    with pytest.raises(PermissionDenied):
        measure_update(measure=measure, data={"title": "改"}, acting_user=world.user("ipo_bj"))
    with pytest.raises(PermissionDenied):
        measure_delete(measure=measure, acting_user=world.user("ipo_bj", Role.ADMIN))
    # An operator has no delete right; an admin of the filing office does.
    with pytest.raises(PermissionDenied):
        measure_delete(measure=measure, acting_user=world.user("ipo_js"))
    measure_delete(measure=measure, acting_user=world.user("ipo_js", Role.ADMIN))
    assert not MeasureEntry.objects.exists()
    assert AuditEvent.objects.filter(action="measure.delete", object_id=str(measure.pk)).exists()


def test_reach_public_own_region_and_parks(world: World) -> None:
    add_reports(world)
    m = world.__dict__["measures"]

    def seen(key: str, role: str = Role.OPERATOR) -> set[int]:
        return set(measure_list(user=world.user(key, role)).values_list("pk", flat=True))

    assert seen("ipo_bj") == {m["bj"].pk, m["p2"].pk}  # own region + the public park measure
    assert seen("ipo_js") == {m["p2"].pk, m["nj"].pk}
    assert seen("bank1") == {m["p2"].pk}  # public only
    assert seen("park2") == {m["p2"].pk}
    assert seen("cnipa") == {m["bj"].pk, m["p2"].pk, m["nj"].pk}
    assert set(MeasureEntry.objects.restrict(world.user("park2"), Action.CHANGE).values_list("pk", flat=True)) == {
        m["p2"].pk
    }
    assert set(measure_list(user=world.user("cnipa"), filters=MeasureFilters(region="32"))) == {m["p2"], m["nj"]}
    assert set(measure_list(user=world.user("cnipa"), filters=MeasureFilters(year=2024))) == set()
    assert set(measure_list(user=world.user("cnipa"), filters=MeasureFilters(category="subsidy"))) == {m["nj"]}
