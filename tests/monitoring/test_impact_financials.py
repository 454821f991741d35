"""Yearly enterprise figures (企业年度经营数据): validation naming the field and rule, who may enter and correct
them, scoping of reads, the pages and the API."""

from __future__ import annotations

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from ipledge.core.context import as_of
from ipledge.core.money import Money
from ipledge.core.scoping import Action
from ipledge.monitoring.choices import FinancialsSource
from ipledge.monitoring.models import EnterpriseFinancials
from ipledge.monitoring.services.financials import financials_create, financials_update
from tests.api_helpers import assert_error, get, send, session_client
from tests.monitoring.factories_impact import TODAY, add_impact, row
from tests.world import World

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def _codes(exc: pytest.ExceptionInfo[ValidationError]) -> dict[str, list[str]]:
    return {field: [e.code for e in errors] for field, errors in exc.value.error_dict.items()}


def test_rules_name_the_field(world: World) -> None:
    user, e1 = world.user("ent1"), world.enterprises["e1"]
    cases = [
        (1999, {"revenue": Money("1")}, "year", "year_range"),
        (2027, {"revenue": Money("1")}, "year", "year_range"),
        (2024, {"revenue": Money("-1")}, "revenue", "negative"),
        (2024, {"employees": -3}, "employees", "negative"),
        (2024, {"patents_held": 2, "patents_implemented": 3}, "patents_implemented", "implemented_gt_held"),
        (2024, {}, "__all__", "no_figures"),
        (2024, {"profit": 1}, "profit", "not_editable"),
    ]
    for year, figures, field, code in cases:
        with pytest.raises(ValidationError) as exc:
            financials_create(enterprise=e1, year=year, figures=figures, acting_user=user)
        assert code in _codes(exc).get(field, []), (field, code, _codes(exc))
    financials_create(enterprise=e1, year=2024, figures={"employees": 120}, acting_user=user)
    with pytest.raises(ValidationError) as exc:
        financials_create(enterprise=e1, year=2024, figures={"employees": 121}, acting_user=user)
    assert "duplicate" in _codes(exc)["year"]
    assert EnterpriseFinancials.objects.count() == 1


def test_who_may_enter_and_correct(world: World) -> None:
    add_impact(world)
    e1, e2 = world.enterprises["e1"], world.enterprises["e2"]
    for user, enterprise in [("ent1", e2), ("ipo_js", e1), ("park1", e1), ("reg_bj", e1), ("bank1", e1)]:
        with pytest.raises(PermissionDenied):
            financials_create(enterprise=enterprise, year=2023, figures={"employees": 1}, acting_user=world.user(user))
    # The Beijing office enters a figure for an enterprise of its region; a viewer of the enterprise cannot.
    financials_create(enterprise=e1, year=2023, figures={"employees": 99}, acting_user=world.user("ipo_bj"))
    with pytest.raises(PermissionDenied):
        financials_create(enterprise=e1, year=2022, figures={"employees": 1}, acting_user=world.user("ent1", "viewer"))
    with pytest.raises(PermissionDenied):
        financials_update(financials=row(world, "e2"), figures={"employees": 1}, acting_user=world.user("ent1"))
    first = row(world, "e1")
    updated = financials_update(
        financials=first,
        figures={"employees": 130, "rd_spending": None},
        expected_updated_at=first.updated_at,
        acting_user=world.user("ent1"),
    )
    assert updated.employees == 130 and updated.rd_spending is None and updated.revenue == Money("36000000")
    assert updated.source == FinancialsSource.REPORT
    with pytest.raises(ValidationError) as exc:
        financials_update(
            financials=first,
            figures={"employees": 1},
            expected_updated_at=first.updated_at,
            acting_user=world.user("ent1"),
        )
    assert "stale" in _codes(exc)["updated_at"]
    with pytest.raises(ValidationError) as exc:
        financials_update(financials=first, figures={"patents_implemented": 4}, acting_user=world.user("ent1"))
    assert "implemented_gt_held" in _codes(exc)["patents_implemented"]  # held is 3 on the stored row


def test_reads_are_scoped(world: World) -> None:
    add_impact(world)
    seen = {
        user: set(
            EnterpriseFinancials.objects.restrict(world.user(user), Action.VIEW).values_list(
                "enterprise__name", flat=True
            )
        )
        for user in ("ent1", "ipo_bj", "ipo_js", "park1", "bank1", "cnipa")
    }
    e1, e1b, e2 = (world.enterprises[k].name for k in ("e1", "e1b", "e2"))
    assert seen["ent1"] == {e1}
    assert seen["ipo_bj"] == {e1, e1b}
    assert seen["ipo_js"] == {e2}
    assert seen["park1"] == {e1, e1b}
    assert seen["bank1"] == set()
    assert seen["cnipa"] == {e1, e1b, e2}


def test_pages(world: World) -> None:
    add_impact(world)
    ent = session_client(world.user("ent1"))
    page = ent.get(reverse("monitoring:financials"))
    assert page.status_code == 200
    body = page.content.decode()
    assert world.enterprises["e1"].name in body and world.enterprises["e2"].name not in body
    # The enterprise enters 2025 through the form.
    form = ent.get(reverse("monitoring:financials_create"))
    assert form.status_code == 200 and "csrf" in form.content.decode()
    posted = ent.post(
        reverse("monitoring:financials_create"),
        {"enterprise": world.enterprises["e1"].pk, "year": 2025, "revenue": "40000000", "employees": "131"},
    )
    assert posted.status_code == 302, posted.content.decode()
    assert row(world, "e1", 2025).revenue == Money("40000000")
    bad = ent.post(
        reverse("monitoring:financials_create"),
        {"enterprise": world.enterprises["e1"].pk, "year": 2023, "patents_held": "1", "patents_implemented": "2"},
    )
    assert bad.status_code == 200 and "已实施专利数不能超过有效专利数" in bad.content.decode()
    # Someone else's row answers 404 (edit); the edit of its own row saves.
    assert ent.get(reverse("monitoring:financials_edit", args=[row(world, "e2").pk])).status_code == 404
    own = row(world, "e1")
    edited = ent.post(
        reverse("monitoring:financials_edit", args=[own.pk]),
        {"revenue": "37000000", "employees": "126", "patents_held": "3", "updated_at": own.updated_at.isoformat()},
    )
    assert edited.status_code == 302
    assert row(world, "e1").revenue == Money("37000000") and row(world, "e1").rd_spending is None
    stale = ent.post(
        reverse("monitoring:financials_edit", args=[own.pk]),
        {"revenue": "1", "updated_at": own.updated_at.isoformat()},
    )
    assert stale.status_code == 200 and "已被他人修改" in stale.content.decode()
    # A bank reads no figures: the list answers 404, and so does entry.
    bank = session_client(world.user("bank1"))
    assert bank.get(reverse("monitoring:financials")).status_code == 404
    assert bank.get(reverse("monitoring:financials_create")).status_code == 404


def test_api(world: World) -> None:
    add_impact(world)
    ent = session_client(world.user("ent1"))
    listing = get(ent, "/monitoring/financials").json()
    assert [r["enterprise"]["name"] for r in listing["items"]] == [world.enterprises["e1"].name]
    assert listing["items"][0]["revenue"] == "36000000.00"
    created = send(ent, "post", "/monitoring/financials", {"year": 2025, "revenue": "41000000.00", "employees": 140})
    assert created.status_code == 201, created.content
    out = created.json()
    assert out["source"] == "report" and out["enterprise"]["id"] == world.enterprises["e1"].pk
    assert_error(
        send(ent, "post", "/monitoring/financials", {"year": 2025, "employees": 1}), 400, field="year", rule="duplicate"
    )
    assert_error(
        send(ent, "post", "/monitoring/financials", {"year": 2023, "patents_held": 1, "patents_implemented": 2}),
        400,
        field="patents_implemented",
        rule="implemented_gt_held",
    )
    other = row(world, "e2").pk
    assert_error(get(ent, f"/monitoring/financials/{other}"), 404)
    assert_error(send(ent, "patch", f"/monitoring/financials/{other}", {"employees": 1}), 404)
    patched = send(
        ent, "patch", f"/monitoring/financials/{out['id']}", {"employees": 141, "updated_at": out["updated_at"]}
    )
    assert patched.status_code == 200, patched.content
    assert patched.json()["employees"] == 141 and patched.json()["revenue"] == "41000000.00"
    assert_error(
        send(ent, "patch", f"/monitoring/financials/{out['id']}", {"employees": 2, "updated_at": out["updated_at"]}),
        400,
        field="updated_at",
        rule="stale",
    )
    office = session_client(world.user("ipo_bj"))
    created = send(
        office,
        "post",
        "/monitoring/financials",
        {"enterprise_id": world.enterprises["e1b"].pk, "year": 2025, "employees": 47},
    )
    assert created.status_code == 201, created.content
    # An enterprise outside the office's region is not even resolvable.
    assert_error(
        send(
            office,
            "post",
            "/monitoring/financials",
            {"enterprise_id": world.enterprises["e2"].pk, "year": 2025, "employees": 1},
        ),
        400,
        field="enterprise_id",
    )
    # A viewer reads but may not write; a bank may not even read.
    viewer = session_client(world.user("ent1", "viewer"))
    assert get(viewer, "/monitoring/financials").status_code == 200
    assert_error(send(viewer, "post", "/monitoring/financials", {"year": 2022, "employees": 1}), 403)
    assert_error(get(session_client(world.user("bank1")), "/monitoring/financials"), 403)
