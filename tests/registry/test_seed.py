"""The synthetic-data seeder: deterministic, valid identifiers, every organisation kind, audited batches."""

from __future__ import annotations

import copy
import io
from collections import Counter
from decimal import Decimal

import pytest
from django.contrib.auth.hashers import check_password
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import transaction
from django.db.models import Count, Sum

from ipledge.core.choices import BankTier, OrganisationKind, Role
from ipledge.core.identifiers import VALIDATORS
from ipledge.core.models import AuditEvent, Organisation, User
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, Park, ParkMembership
from ipledge.registry.seeding import DEMO_PASSWORD, SCALES, SEED_AS_OF, demo_login_rows, seed_database
from ipledge.registry.services import IP_NUMBER_VALIDATOR, _derive_enterprise, _derive_ip_right

pytestmark = pytest.mark.django_db


@pytest.fixture
def tiny(db):
    return seed_database(scale="tiny", seed=42)


def snapshot_of_seed(seed: int) -> tuple[list[str], list[str], list[str], list[str]]:
    """Seed inside a transaction that is rolled back, and return what identifies the data."""
    with transaction.atomic():
        seed_database(scale="tiny", seed=seed)
        result = (
            list(Enterprise.objects.order_by("id").values_list("uscc", flat=True)),
            list(IPRight.objects.order_by("id").values_list("number", flat=True)),
            list(User.objects.order_by("id").values_list("username", flat=True)),
            list(Enterprise.objects.order_by("id").values_list("name", flat=True)),
        )
        transaction.set_rollback(True)
    return result


def test_same_seed_same_data_other_seed_other_data():
    first = snapshot_of_seed(42)
    assert Enterprise.objects.count() == 0  # rolled back
    second = snapshot_of_seed(42)
    assert first == second
    assert len(first[0]) == SCALES["tiny"].enterprises and len(first[1]) == SCALES["tiny"].ip_rights
    other = snapshot_of_seed(7)
    assert other[0] != first[0] and other[3] != first[3]
    assert other[2] == first[2]  # the demo usernames do not depend on the seed


def test_every_identifier_validates_and_is_canonical(tiny):
    usccs = list(Enterprise.objects.values_list("uscc", flat=True))
    assert len(usccs) == len(set(usccs)) == 50
    for uscc in usccs:
        result = VALIDATORS["uscc"](uscc)
        assert result.valid and result.canonical == uscc, (uscc, result)
    kinds = Counter()
    for kind, number in IPRight.objects.values_list("kind", "number"):
        kinds[kind] += 1
        result = VALIDATORS[IP_NUMBER_VALIDATOR[IPKind(kind)]](number)
        assert result.valid and result.canonical == number, (kind, number, result)
    assert kinds[IPKind.PATENT] > kinds[IPKind.TRADEMARK] > 0 and kinds[IPKind.COPYRIGHT] > 0


def test_every_organisation_kind_and_role(tiny):
    kinds = set(Organisation.objects.values_list("kind", flat=True))
    assert kinds == set(OrganisationKind.values)
    assert Organisation.objects.filter(kind=OrganisationKind.BANK, bank_tier=BankTier.HEAD_OFFICE).count() >= 2
    assert Organisation.objects.filter(kind=OrganisationKind.BANK, bank_tier=BankTier.TECH_SUB_BRANCH).count() >= 2
    assert (
        Park.objects.count() >= 2
        and Park.objects.filter(administering_org__isnull=False).count() == Park.objects.count()
    )
    per_org = Counter(User.objects.values_list("organisation_id", "role"))
    assert set(per_org.values()) == {1}
    assert len(per_org) == 4 * Organisation.objects.count()
    assert set(Role.values) == {role for _org, role in per_org}
    # A handful of enterprises log in, and they are the enterprise's own organisation.
    linked = Enterprise.objects.filter(organisation__isnull=False)
    assert linked.count() == SCALES["tiny"].enterprise_logins
    assert all(e.organisation.kind == OrganisationKind.ENTERPRISE and e.organisation.uscc == e.uscc for e in linked)


def test_demo_password_and_logins(tiny):
    user = User.objects.get(username="ipo_bj_admin")
    assert user.check_password(DEMO_PASSWORD)
    assert check_password(DEMO_PASSWORD, User.objects.get(username="park_1_operator").password)
    rows = demo_login_rows()
    assert len(rows) == tiny.logins == User.objects.count()
    assert rows[0][:2] == ("cnipa_admin", "国家知识产权局")
    out = io.StringIO()
    call_command("demo_logins", stdout=out)
    text = out.getvalue()
    assert "cnipa_admin" in text and DEMO_PASSWORD in text and "park_1_operator" in text and "ent_1_admin" in text
    out = io.StringIO()
    call_command("demo_logins", "--all", stdout=out)
    assert len(out.getvalue().splitlines()) == 2 + len(rows)


def test_seeded_users_are_scoped_like_any_other(tiny):
    park_user = User.objects.get(username="park_1_operator")
    park = Park.objects.get(administering_org=park_user.organisation)
    members = set(ParkMembership.objects.filter(park=park).values_list("enterprise_id", flat=True))
    assert members
    assert set(Enterprise.objects.restrict(park_user, "view").values_list("id", flat=True)) == members
    ent_user = User.objects.get(username="ent_1_operator")
    assert Enterprise.objects.restrict(ent_user, "view").count() == 1


def test_derived_fields_match_the_services(tiny):
    for enterprise in Enterprise.objects.all():
        again = copy.copy(enterprise)
        _derive_enterprise(again)
        assert (again.region_code, again.registration_region_id, again.size_class) == (
            enterprise.region_code,
            enterprise.registration_region_id,
            enterprise.size_class,
        )
    for right in IPRight.objects.filter(kind=IPKind.PATENT):
        again = copy.copy(right)
        _derive_ip_right(again)
        assert (again.patent_type, again.term_end, again.valid_from) == (
            right.patent_type,
            right.term_end,
            right.valid_from,
        )


def test_legal_status_is_consistent_with_dates(tiny):
    for right in IPRight.objects.all():
        if right.legal_status == LegalStatus.EXPIRED:
            assert right.term_end is not None and right.term_end < SEED_AS_OF
        if right.legal_status == LegalStatus.VALID:
            assert right.grant_date is not None and right.grant_date <= SEED_AS_OF
            assert right.term_end is None or right.term_end >= SEED_AS_OF
        if right.legal_status == LegalStatus.PENDING:
            assert right.grant_date is None
        if right.grant_date and right.filing_date:
            assert right.grant_date >= right.filing_date


def test_shares_add_up_and_every_right_has_an_enterprise_owner(tiny):
    totals = IPRightOwner.objects.values("right").annotate(total=Sum("share"), n=Count("id"))
    assert {t["total"] for t in totals} == {Decimal(100)}
    assert totals.count() == IPRight.objects.count()
    assert not IPRight.objects.exclude(owners__enterprise__isnull=False).exists()


def test_bulk_writes_are_audited_per_batch(tiny):
    events = AuditEvent.objects.filter(action="seed.bulk_create")
    by_model = Counter()
    for event in events:
        extra = event.changes["extra"]
        by_model[extra["model"]] += extra["count"]
        assert extra["last_id"] - extra["first_id"] + 1 >= extra["count"]
    assert by_model == {
        "registry.enterprise": Enterprise.objects.count(),
        "registry.parkmembership": ParkMembership.objects.count(),
        "registry.ipright": IPRight.objects.count(),
        "registry.iprightowner": IPRightOwner.objects.count(),
    }
    # Organisations, users and parks went through the services, one event each.
    assert AuditEvent.objects.filter(action="organisation.create").count() == Organisation.objects.count()
    assert AuditEvent.objects.filter(action="user.create").count() == User.objects.count()
    assert AuditEvent.objects.filter(action="park.create").count() == Park.objects.count()
    assert AuditEvent.objects.filter(action="seed.complete").count() == 1
    # Demo-sized seeds keep row history for the bulk rows too.
    assert Enterprise.history.count() == Enterprise.objects.count()


def test_small_batches_write_many_audited_batches():
    report = seed_database(scale="tiny", seed=1, batch_size=20)
    assert report.counts["enterprises"] == 50 and report.counts["ip_rights"] == 250
    assert AuditEvent.objects.filter(action="seed.bulk_create", object_type="registry.enterprise").count() == 3
    assert AuditEvent.objects.filter(action="seed.bulk_create", object_type="registry.ipright").count() >= 250 // 20


def test_demo_scale_shape_with_fewer_rows():
    report = seed_database(scale="demo", enterprises=200, ip_rights=1000)
    assert report.counts["enterprises"] == 200 and report.counts["ip_rights"] == 1000
    assert Park.objects.count() == 6
    provinces = Counter(code[:2] for code in Park.objects.values_list("region__code", flat=True))
    assert provinces == {"11": 3, "32": 3}
    assert Park.objects.filter(is_key_park=True).count() == 6  # the first three of each province (O2)
    heads = Organisation.objects.filter(kind=OrganisationKind.BANK, bank_tier=BankTier.HEAD_OFFICE)
    assert heads.count() == 4
    for head in heads:
        tiers = set(
            Organisation.objects.filter(tree_path__startswith=head.tree_path).values_list("bank_tier", flat=True)
        )
        assert tiers == {BankTier.HEAD_OFFICE, BankTier.BRANCH, BankTier.TECH_SUB_BRANCH}
    assert Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, admin_level="national").count() == 1
    assert Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, admin_level="provincial").count() == 2


def test_scales_match_the_architecture_table():
    demo, province, national = SCALES["demo"], SCALES["province"], SCALES["national"]
    assert (len(demo.provinces), demo.parks, demo.banks, demo.enterprises, demo.ip_rights) == (2, 6, 4, 2000, 10000)
    assert (len(province.provinces), province.parks, province.banks, province.enterprises, province.ip_rights) == (
        1,
        60,
        40,
        50_000,
        500_000,
    )
    assert (len(national.provinces), national.parks, national.banks, national.enterprises, national.ip_rights) == (
        31,
        400,
        200,
        500_000,
        5_000_000,
    )


def test_seed_command_and_if_empty(db):
    out = io.StringIO()
    call_command("seed", "--scale", "tiny", stdout=out)
    assert "Seeded scale tiny" in out.getvalue() and DEMO_PASSWORD in out.getvalue()
    count = Enterprise.objects.count()
    out = io.StringIO()
    call_command("seed", "--scale", "tiny", "--if-empty", stdout=out)
    assert "nothing seeded" in out.getvalue()
    assert Enterprise.objects.count() == count
    with pytest.raises(CommandError):
        call_command("seed", "--scale", "tiny", stdout=io.StringIO())
