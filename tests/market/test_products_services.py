"""Product services: create, edit, submit, the bank's internal approval (maker-checker, supersede), rejection,
withdrawal, validation naming fields and rules, audit events, and who may do what."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, transaction

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.core.money import Money
from ipledge.market.choices import ProductStatus, ProductVersionStatus, RateKind
from ipledge.market.models import Product, ProductVersion
from ipledge.market.services import products as services
from ipledge.market.terms import ProductTerms, terms_from_version, validate_terms
from tests.market.factories_products import draft_product, live_product, open_version, submitted_product, terms
from tests.world import World

pytestmark = pytest.mark.django_db


def codes(exc: ValidationError) -> dict[str, set[str]]:
    return {name: {e.code or "" for e in errors} for name, errors in exc.error_dict.items()}


def test_create_makes_a_draft_product_with_version_one(world: World) -> None:
    product = draft_product(world)
    assert product.status == ProductStatus.DRAFT and product.live_version is None
    version = product.versions.get()
    assert version.number == 1 and version.status == ProductVersionStatus.DRAFT
    assert terms_from_version(version) == terms()
    assert version.created_by == world.user("bank1")
    actions = set(AuditEvent.objects.values_list("action", flat=True))
    assert {"product.create", "product_version.create"} <= actions


def test_terms_round_trip_through_the_version(world: World) -> None:
    wanted = terms(
        rate_kind=RateKind.FIXED,
        rate_spread_bp=None,
        rate_fixed=Decimal("4.35"),
        industry_sections=("C", "I"),
        size_classes=("small", "micro"),
        min_enterprise_age_years=2,
        requires_whitelist=True,
        max_recent_penalties=1,
        requires_guarantee=True,
        source_url="https://example.org/p",
    )
    product = draft_product(world, **wanted.__dict__)
    assert terms_from_version(product.versions.get()) == wanted


def test_approval_by_another_officer_puts_the_product_live(world: World) -> None:
    product = submitted_product(world)
    version = open_version(product)
    assert version.status == ProductVersionStatus.PENDING and version.submitted_by == world.user("bank1")
    services.product_version_approve(version=version, acting_user=world.user("bank1", Role.REVIEWER), note="同意")
    product.refresh_from_db()
    version.refresh_from_db()
    assert product.status == ProductStatus.LIVE and product.live_version == version
    assert version.status == ProductVersionStatus.APPROVED and version.decided_by == world.user("bank1", Role.REVIEWER)
    assert version.decision_note == "同意"
    assert AuditEvent.objects.filter(action="product_version.approve", object_id=str(version.pk)).exists()
    assert AuditEvent.objects.filter(action="product.publish", object_id=str(product.pk)).exists()


def test_submitter_cannot_approve_own_version(world: World) -> None:
    admin = world.user("bank1", Role.ADMIN)
    product = draft_product(world)
    services.product_version_submit(version=open_version(product), acting_user=admin)
    with pytest.raises(ValidationError) as caught:
        services.product_version_approve(version=open_version(product), acting_user=admin)
    assert codes(caught.value) == {"decided_by": {"maker_is_checker"}}
    assert open_version(product).status == ProductVersionStatus.PENDING


def test_database_refuses_an_approval_by_the_submitter(world: World) -> None:
    product = submitted_product(world)
    version = open_version(product)
    version.status = ProductVersionStatus.APPROVED
    version.decided_by = version.submitted_by
    with pytest.raises(IntegrityError), transaction.atomic():
        version.save()


@pytest.mark.parametrize(
    ("who", "role"),
    [("bank1", Role.OPERATOR), ("bank1", Role.VIEWER), ("bank2", Role.REVIEWER), ("bank1_br", Role.REVIEWER)],
)
def test_only_a_reviewer_of_the_bank_tree_approves(world: World, who: str, role: str) -> None:
    product = submitted_product(world)
    with pytest.raises(PermissionDenied):
        services.product_version_approve(version=open_version(product), acting_user=world.user(who, role))


def test_head_office_reviewer_approves_a_branch_product(world: World) -> None:
    product = submitted_product(world, "bank1_sub")
    services.product_version_approve(version=open_version(product), acting_user=world.user("bank1", Role.REVIEWER))
    product.refresh_from_db()
    assert product.status == ProductStatus.LIVE


def test_new_version_supersedes_the_live_one_on_approval(world: World) -> None:
    product = live_product(world)
    first = product.live_version
    assert first is not None
    second = services.product_version_draft(
        product=product, terms=terms(rate_spread_bp=90), acting_user=world.user("bank1")
    )
    assert second.number == 2
    product.refresh_from_db()
    assert product.live_version == first and product.status == ProductStatus.LIVE  # still in force meanwhile
    services.product_version_submit(version=second, acting_user=world.user("bank1"))
    services.product_version_approve(version=second, acting_user=world.user("bank1", Role.REVIEWER))
    first.refresh_from_db()
    product.refresh_from_db()
    assert first.status == ProductVersionStatus.SUPERSEDED
    assert product.live_version == second
    assert ProductVersion.objects.filter(product=product, status=ProductVersionStatus.APPROVED).count() == 1


def test_only_one_open_version_at_a_time(world: World) -> None:
    product = draft_product(world)
    with pytest.raises(ValidationError) as caught:
        services.product_version_draft(product=product, terms=terms(), acting_user=world.user("bank1"))
    assert codes(caught.value) == {"product": {"open_version_exists"}}


def test_reject_needs_a_note_and_allows_a_redraft(world: World) -> None:
    product = submitted_product(world)
    reviewer = world.user("bank1", Role.REVIEWER)
    with pytest.raises(ValidationError) as caught:
        services.product_version_reject(version=open_version(product), acting_user=reviewer, note=" ")
    assert codes(caught.value) == {"note": {"required"}}
    version = open_version(product)
    services.product_version_reject(version=version, acting_user=reviewer, note="质押率过高")
    version.refresh_from_db()
    assert version.status == ProductVersionStatus.REJECTED and version.decision_note == "质押率过高"
    redraft = services.product_version_draft(product=product, terms=terms(), acting_user=world.user("bank1"))
    assert redraft.number == 2 and redraft.status == ProductVersionStatus.DRAFT


def test_update_changes_only_a_draft(world: World) -> None:
    product = draft_product(world)
    version = open_version(product)
    services.product_version_update(
        version=version, terms=terms(amount_max=Money(30_000_000)), acting_user=world.user("bank1"), name="智权贷二代"
    )
    version.refresh_from_db()
    product.refresh_from_db()
    assert version.amount_max == Money(30_000_000) and product.name == "智权贷二代"
    event = AuditEvent.objects.get(action="product_version.update")
    assert event.changes["fields"]["amount_max"] == {"old": "20000000.00", "new": "30000000.00"}
    services.product_version_submit(version=version, acting_user=world.user("bank1"))
    with pytest.raises(ValidationError) as caught:
        services.product_version_update(version=version, terms=terms(), acting_user=world.user("bank1"))
    assert codes(caught.value) == {"status": {"invalid_state"}}


def test_withdraw_takes_a_live_product_off_and_approval_relaunches(world: World) -> None:
    product = live_product(world)
    services.product_withdraw(product=product, acting_user=world.user("bank1"), note="额度用完")
    product.refresh_from_db()
    assert product.status == ProductStatus.WITHDRAWN
    event = AuditEvent.objects.get(action="product.withdraw")
    assert event.changes["extra"]["note"] == "额度用完"
    assert not Product.objects.restrict(world.user("ent1"), "view").filter(pk=product.pk).exists()
    with pytest.raises(ValidationError):
        services.product_withdraw(product=product, acting_user=world.user("bank1"))
    again = services.product_version_draft(product=product, terms=terms(), acting_user=world.user("bank1"))
    services.product_version_submit(version=again, acting_user=world.user("bank1"))
    services.product_version_approve(version=again, acting_user=world.user("bank1", Role.ADMIN))
    product.refresh_from_db()
    assert product.status == ProductStatus.LIVE and product.live_version == again


@pytest.mark.parametrize(
    ("who", "role"), [("ent1", Role.OPERATOR), ("bank1", Role.REVIEWER), ("bank1", Role.VIEWER), ("bank2", Role.ADMIN)]
)
def test_who_may_not_create_for_bank1(world: World, who: str, role: str) -> None:
    with pytest.raises(PermissionDenied):
        services.product_create(
            bank=world.orgs["bank1"], code="X", name="X", terms=terms(), acting_user=world.user(who, role)
        )
    assert not Product.objects.exists()


def test_a_branch_cannot_create_for_its_head_office(world: World) -> None:
    with pytest.raises(PermissionDenied):
        services.product_create(
            bank=world.orgs["bank1"], code="X", name="X", terms=terms(), acting_user=world.user("bank1_br")
        )


def test_duplicate_code_and_blank_name_named_together(world: World) -> None:
    draft_product(world, code="A1")
    with pytest.raises(ValidationError) as caught:
        services.product_create(
            bank=world.orgs["bank1"], code="A1", name=" ", terms=terms(), acting_user=world.user("bank1")
        )
    assert codes(caught.value) == {"code": {"unique"}, "name": {"required"}}
    assert Product.objects.count() == 1


def test_another_bank_may_reuse_a_code(world: World) -> None:
    draft_product(world, code="A1")
    draft_product(world, "bank2", code="A1", region_codes=("320000",))
    assert Product.objects.filter(code="A1").count() == 2


def _fields(bad: ProductTerms) -> dict[str, set[str]]:
    with pytest.raises(ValidationError) as caught:
        validate_terms(bad)
    return codes(caught.value)


def test_validation_names_each_field_and_rule(world: World) -> None:
    bad = terms(
        collateral_kinds=("invention", "patent"),
        min_remaining_years={"invention": 31, "trademark": 2},
        pledge_rate_caps={"invention": Decimal("1.5")},
        amount_min=Money(5_000_000),
        amount_max=Money(1_000_000),
        term_min_months=24,
        term_max_months=12,
        rate_spread_bp=None,
        region_codes=("999999", "11", "1101", "abc"),
        industry_sections=("C", "Z"),
        size_classes=("giant",),
    )
    assert _fields(bad) == {
        "collateral_kinds": {"invalid_choice"},
        "min_remaining_years": {"out_of_range", "kind_not_accepted"},
        "pledge_rate_caps": {"out_of_range"},
        "amount_max": {"range"},
        "term_max_months": {"range"},
        "rate_spread_bp": {"required"},
        "region_codes": {"unknown_region"},
        "industry_sections": {"invalid_choice"},
        "size_classes": {"invalid_choice"},
    }


def test_validation_region_message_names_the_unknown_codes(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        validate_terms(terms(region_codes=("110000", "11", "3201", "999999", "abc")))
    (message,) = caught.value.message_dict["region_codes"]
    assert "999999" in message and "abc" in message and "3201" not in message


def test_validation_of_rates_and_caps(world: World) -> None:
    assert _fields(terms(rate_kind=RateKind.FIXED, rate_spread_bp=None, rate_fixed=None)) == {
        "rate_fixed": {"required"}
    }
    assert _fields(terms(rate_kind="floating")) == {"rate_kind": {"invalid_choice"}}
    assert _fields(terms(pledge_rate_caps={"invention": Decimal(0)})) == {"pledge_rate_caps": {"out_of_range"}}
    assert _fields(terms(collateral_kinds=(), min_remaining_years={}, pledge_rate_caps={})) == {
        "collateral_kinds": {"required"}
    }
    assert _fields(terms(amount_min=Money(0))) == {"amount_min": {"min_value"}}
    validate_terms(terms(pledge_rate_caps={"invention": Decimal(1)}))  # 100 % is allowed


def test_create_refuses_bad_terms_and_writes_nothing(world: World) -> None:
    with pytest.raises(ValidationError) as caught:
        draft_product(world, term_min_months=0)
    assert codes(caught.value) == {"term_min_months": {"out_of_range"}}
    assert not Product.objects.exists() and not ProductVersion.objects.exists()


def test_approval_recomputes_matches_and_withdrawal_drops_them(world: World, monkeypatch: pytest.MonkeyPatch) -> None:
    from ipledge.market.services import matching

    seen: list[tuple[int, str]] = []
    real = matching.product_match

    def spy(*, product: Product) -> int:
        seen.append((product.pk, product.status))
        return real(product=product)

    monkeypatch.setattr(matching, "product_match", spy)
    product = live_product(world)
    services.product_withdraw(product=product, acting_user=world.user("bank1"))
    assert seen == [(product.pk, ProductStatus.LIVE), (product.pk, ProductStatus.WITHDRAWN)]
