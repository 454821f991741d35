"""Demand services: posting (enterprise, park on behalf, validation naming the field and rule, rights ownership and
validity, banks), references, matching on posting, edits with version, withdrawal, loan link, expiry, sharing
consent and illegal transitions."""

from __future__ import annotations

import datetime

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from ipledge.core.choices import Role
from ipledge.core.context import as_of
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.lending.choices import LoanStatus
from ipledge.market.choices import DemandPurpose, DemandSource, DemandStatus, LeadResponse
from ipledge.market.models import Demand, DemandShare, Match
from ipledge.market.services import demands as services
from ipledge.registry.choices import LegalStatus
from ipledge.registry.models import IPRight
from tests.market.factories_demands import granted_loan, post, two_products
from tests.world import World

pytestmark = pytest.mark.django_db

TODAY = datetime.date(2026, 3, 2)


def codes(exc: ValidationError, field: str) -> list[str]:
    return [e.code or "" for e in exc.error_dict[field]]


@pytest.fixture(autouse=True)
def _today():  # type: ignore[no-untyped-def]
    with as_of(TODAY):
        yield


def test_enterprise_posts_a_demand_that_is_matched_at_once(world: World) -> None:
    fits, misses = two_products(world)
    demand = post(world)
    assert demand.reference == "XQ2026-000001"
    assert demand.status == DemandStatus.MATCHED and demand.matched_at is not None
    assert demand.source == DemandSource.ENTERPRISE and demand.park == world.parks["p1"]
    assert demand.region_code == "110108" and demand.expires_on == TODAY + datetime.timedelta(days=180)
    assert list(demand.rights.values_list("ip_right_id", flat=True)) == [world.rights["r1"].pk]
    good = Match.objects.get(demand=demand, product=fits)
    bad = Match.objects.get(demand=demand, product=misses)
    assert good.eligible and good.rank == 1 and not bad.eligible and bad.rank is None
    event = AuditEvent.objects.get(action="demand.create", object_id=str(demand.pk))
    assert event.changes["extra"]["rights"] == [world.rights["r1"].pk]
    assert post(world).reference == "XQ2026-000002"


def test_without_products_the_demand_stays_open(world: World) -> None:
    demand = post(world)
    assert demand.status == DemandStatus.OPEN and not demand.matches.exists()


def test_validation_names_each_field_and_rule(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        services.demand_create(
            enterprise=world.enterprises["e1"],
            amount=Money(0),
            term_months=361,
            purpose="gambling",
            expires_on=TODAY - datetime.timedelta(days=1),
            share_bank_ids=[world.orgs["ipo_bj"].pk],
            right_ids=[world.rights["r2"].pk],
            acting_user=world.user("ent1"),
        )
    exc = caught.value
    assert codes(exc, "amount") == ["positive"]
    assert codes(exc, "term_months") == ["range"]
    assert codes(exc, "purpose") == ["choice"]
    assert codes(exc, "expires_on") == ["past"]
    assert codes(exc, "share_bank_ids") == ["not_bank"]
    assert codes(exc, "right_ids") == ["not_owner"]
    assert "不属于该企业" in exc.error_dict["right_ids"][0].message % exc.error_dict["right_ids"][0].params
    assert not Demand.objects.exists()


def test_offered_rights_must_be_valid_and_in_term(world: World) -> None:
    IPRight.objects.filter(pk=world.rights["r1"].pk).update(legal_status=LegalStatus.LAPSED)
    with pytest.raises(ValidationError) as caught:
        post(world)
    assert codes(caught.value, "right_ids") == ["not_valid"]
    IPRight.objects.filter(pk=world.rights["r1"].pk).update(
        legal_status=LegalStatus.VALID, term_end=TODAY - datetime.timedelta(days=1)
    )
    with pytest.raises(ValidationError) as caught:
        post(world)
    assert codes(caught.value, "right_ids") == ["term_ended"]


def test_another_enterprise_cannot_post_and_a_bank_cannot_post(world: World) -> None:
    with pytest.raises(PermissionDenied):
        post(world, user=world.user("ent2"))
    with pytest.raises(PermissionDenied):
        post(world, user=world.user("bank1"))
    with pytest.raises(PermissionDenied):
        post(world, user=world.user("ent1", Role.VIEWER))
    with pytest.raises(ValidationError) as caught:
        post(world, source=DemandSource.PARK)
    assert codes(caught.value, "source") == ["source_not_allowed"]


def test_park_posts_on_behalf_of_a_member_only(world: World) -> None:
    demand = post(world, user=world.user("park1"))
    assert demand.source == DemandSource.PARK and demand.park == world.parks["p1"]
    assert demand.created_by == world.user("park1")
    with pytest.raises(ValidationError) as caught:
        post(world, user=world.user("park1"), enterprise="e2", rights=("r2",))
    assert codes(caught.value, "enterprise") == ["not_park_member"]
    with pytest.raises(ValidationError) as caught:
        post(world, user=world.user("park1"), park=world.parks["p2"])
    assert codes(caught.value, "park") == ["not_park_member"]
    # A former member is no longer a member.
    world.enterprises["e1"].memberships.update(left_on=TODAY)
    with pytest.raises(ValidationError) as caught:
        post(world, user=world.user("park1"))
    assert codes(caught.value, "enterprise") == ["not_park_member"]


def test_update_bumps_version_rematches_and_refuses_stale_edits(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    updated = services.demand_update(
        demand=demand, amount=Money("20000000"), expected_version=1, acting_user=world.user("ent1")
    )
    assert updated.version == 2 and updated.amount == Money("20000000")
    # 20M is above the product's 10M maximum: no eligible product, back to open.
    assert updated.status == DemandStatus.OPEN
    assert not Match.objects.get(demand=demand, product=fits).eligible
    with pytest.raises(ValidationError) as caught:
        services.demand_update(demand=demand, term_months=24, expected_version=1, acting_user=world.user("ent1"))
    assert codes(caught.value, "version") == ["stale"]
    with pytest.raises(ValidationError) as caught:
        services.demand_update(demand=demand, term_months=0, acting_user=world.user("ent1"))
    assert codes(caught.value, "term_months") == ["range"]
    with pytest.raises(PermissionDenied):
        services.demand_update(demand=demand, term_months=24, acting_user=world.user("ent2"))
    event = AuditEvent.objects.get(action="demand.update", object_id=str(demand.pk))
    assert event.changes["fields"]["version"] == {"old": 1, "new": 2}


def test_rights_can_be_dropped_on_update(world: World) -> None:
    demand = post(world)
    services.demand_update(demand=demand, right_ids=[], acting_user=world.user("park1"))
    demand.refresh_from_db()
    assert not demand.rights.exists() and demand.version == 2


def test_withdraw_then_every_change_is_refused(world: World) -> None:
    demand = post(world)
    services.demand_withdraw(demand=demand, note="已通过其他渠道融资", acting_user=world.user("ent1"))
    demand.refresh_from_db()
    assert demand.status == DemandStatus.WITHDRAWN and demand.closed_on == TODAY
    for call in (
        lambda: services.demand_withdraw(demand=demand, acting_user=world.user("ent1")),
        lambda: services.demand_update(demand=demand, term_months=6, acting_user=world.user("ent1")),
        lambda: services.demand_link_loan(demand=demand, loan=granted_loan(world), acting_user=world.user("ent1")),
        lambda: services.demand_rematch(demand=demand, acting_user=world.user("ent1")),
        lambda: services.demand_shares_set(
            demand=demand, bank_ids=[], share_with_matching_banks=False, acting_user=world.user("ent1")
        ),
    ):
        with pytest.raises(ValidationError) as caught:
            call()
        assert codes(caught.value, "status") == ["invalid_transition"]
        assert "已撤回" in str(
            caught.value.error_dict["status"][0].message % caught.value.error_dict["status"][0].params
        )


def test_link_loan_needs_the_enterprises_granted_loan(world: World) -> None:
    demand = post(world)
    with pytest.raises(ValidationError) as caught:
        services.demand_link_loan(
            demand=demand, loan=granted_loan(world, "e2", "bank2"), acting_user=world.user("ent1")
        )
    assert codes(caught.value, "loan") == ["other_borrower"]
    with pytest.raises(ValidationError) as caught:
        services.demand_link_loan(
            demand=demand, loan=granted_loan(world, status=LoanStatus.SUBMITTED), acting_user=world.user("ent1")
        )
    assert codes(caught.value, "loan") == ["loan_not_granted"]
    loan = granted_loan(world)
    services.demand_link_loan(demand=demand, loan=loan, acting_user=world.user("ent1"))
    demand.refresh_from_db()
    assert demand.status == DemandStatus.FINANCED and demand.loan == loan and demand.closed_on == TODAY
    other = post(world)
    with pytest.raises(ValidationError) as caught:
        services.demand_link_loan(demand=other, loan=loan, acting_user=world.user("ent1"))
    assert codes(caught.value, "loan") == ["loan_taken"]


def test_the_lending_bank_records_its_loan_on_a_demand_shared_with_it(world: World) -> None:
    """A lead became a loan: the bank that lent (or an office above it) may say so on the demand it was shown; a bank
    that did not lend, a bank the demand was not shared with and a read-only role may not."""
    demand = post(world, share_with_matching_banks=False, banks=("bank1_sub",))
    loan = granted_loan(world, "e1", "bank1_sub")
    with pytest.raises(PermissionDenied):  # shown the demand, but the loan is another bank's
        services.demand_link_loan(
            demand=demand, loan=granted_loan(world, "e1", "bank2"), acting_user=world.user("bank1_sub")
        )
    with pytest.raises(PermissionDenied):  # lent by a bank below it, but the demand was not shared with bank2 at all
        services.demand_link_loan(demand=demand, loan=loan, acting_user=world.user("bank2"))
    with pytest.raises(PermissionDenied):  # a viewer of the lending bank reads but does not write
        services.demand_link_loan(demand=demand, loan=loan, acting_user=world.user("bank1_sub", Role.VIEWER))
    services.demand_link_loan(demand=demand, loan=loan, acting_user=world.user("bank1_sub"))
    demand.refresh_from_db()
    assert demand.status == DemandStatus.FINANCED and demand.loan == loan


def test_demands_expire_past_their_date_only(world: World) -> None:
    soon = post(world, expires_on=TODAY + datetime.timedelta(days=3))
    later = post(world)
    done = post(world)
    services.demand_withdraw(demand=done, acting_user=world.user("ent1"))
    assert services.demands_expire(today=TODAY + datetime.timedelta(days=3)) == 0
    assert services.demands_expire(today=TODAY + datetime.timedelta(days=4)) == 1
    soon.refresh_from_db()
    later.refresh_from_db()
    done.refresh_from_db()
    assert soon.status == DemandStatus.EXPIRED and soon.closed_on == TODAY + datetime.timedelta(days=4)
    assert later.status == DemandStatus.OPEN and done.status == DemandStatus.WITHDRAWN
    assert AuditEvent.objects.get(action="demand.expire").actor_name == "system"


def test_shares_replace_the_consent(world: World) -> None:
    demand = post(world, share_with_matching_banks=False, banks=("bank1",))
    assert set(DemandShare.objects.filter(demand=demand).values_list("bank__name", flat=True)) == {"北京银行"}
    services.demand_shares_set(
        demand=demand, bank_ids=[world.orgs["bank2"].pk], share_with_matching_banks=True, acting_user=world.user("ent1")
    )
    demand.refresh_from_db()
    assert demand.share_with_matching_banks
    assert list(demand.shares.values_list("bank_id", flat=True)) == [world.orgs["bank2"].pk]
    with pytest.raises(ValidationError) as caught:
        services.demand_shares_set(
            demand=demand,
            bank_ids=[world.orgs["ent2"].pk],
            share_with_matching_banks=False,
            acting_user=world.user("ent1"),
        )
    assert codes(caught.value, "share_bank_ids") == ["not_bank"]
    with pytest.raises(PermissionDenied):
        services.demand_shares_set(
            demand=demand, bank_ids=[], share_with_matching_banks=False, acting_user=world.user("bank2")
        )


def test_rematch_is_audited_and_keeps_the_bank_answer(world: World) -> None:
    fits, _ = two_products(world)
    demand = post(world)
    match = Match.objects.get(demand=demand, product=fits)
    services.lead_respond(
        match=match, response=LeadResponse.CONTACTED, note="已电话联系", acting_user=world.user("bank1_sub")
    )
    matches = services.demand_rematch(demand=demand, acting_user=world.user("ent1"))
    assert [m.product_id for m in matches if m.eligible] == [fits.pk]
    match.refresh_from_db()
    assert match.response == LeadResponse.CONTACTED and match.response_note == "已电话联系"
    assert AuditEvent.objects.filter(action="demand.rematch").count() == 1


def test_purpose_choices_cover_every_value(world: World) -> None:
    for purpose in DemandPurpose.values:
        post(world, purpose=purpose)
    assert Demand.objects.count() == len(DemandPurpose.values)


def test_survey_demands_by_the_office_of_the_region_only(world: World) -> None:
    demand = post(world, user=world.user("ipo_bj"), source=DemandSource.SURVEY, rights=())
    assert demand.source == DemandSource.SURVEY and demand.park == world.parks["p1"]
    with pytest.raises(PermissionDenied):
        post(world, user=world.user("ipo_bj"), rights=())  # an office posts survey answers only
    with pytest.raises(PermissionDenied):
        post(world, user=world.user("ipo_js"), source=DemandSource.SURVEY, rights=())
    survey = post(world, source=DemandSource.SURVEY)  # the enterprise answering a survey itself
    assert survey.source == DemandSource.SURVEY and survey.created_by == world.user("ent1")
