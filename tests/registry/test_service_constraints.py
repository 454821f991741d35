"""Table constraints are enforced by the database and reported as named field errors, with nothing written."""

import datetime

import pytest
from django.core.exceptions import ValidationError

from ipledge.core.models import AuditEvent
from ipledge.core.synthetic import make_patent_number
from ipledge.registry.choices import IPKind
from ipledge.registry.models import IPRight, ParkMembership
from ipledge.registry.services import ip_right_create, ip_right_update, membership_end

pytestmark = pytest.mark.django_db


def test_grant_before_filing_is_refused_by_its_rule(world):
    events = AuditEvent.objects.count()
    number = make_patent_number(year=2021, type_digit=1, serial=7777777)
    with pytest.raises(ValidationError) as excinfo:
        ip_right_create(
            kind=IPKind.PATENT,
            number=number,
            title="时间倒置",
            filing_date=datetime.date(2021, 5, 1),
            grant_date=datetime.date(2020, 1, 1),
            owners=[{"enterprise": world.enterprises["e1"]}],
            acting_user=world.user("park1"),
        )
    assert "授权日不能早于申请日。" in str(excinfo.value)
    assert not IPRight.objects.filter(number=number).exists()
    assert AuditEvent.objects.count() == events


def test_update_breaking_a_check_constraint_keeps_the_stored_row(world):
    right = world.rights["r1"]
    with pytest.raises(ValidationError) as excinfo:
        ip_right_update(right=right, data={"grant_date": datetime.date(2018, 1, 1)}, acting_user=world.user("park1"))
    assert "授权日不能早于申请日。" in str(excinfo.value)
    assert IPRight.objects.get(pk=right.pk).grant_date == datetime.date(2021, 6, 8)


def test_membership_cannot_end_before_it_began(world):
    membership = ParkMembership.objects.filter(enterprise=world.enterprises["e1"]).get()
    with pytest.raises(ValidationError) as excinfo:
        membership_end(membership=membership, left_on=datetime.date(2021, 1, 1), acting_user=world.user("park1"))
    assert "离园日期不能早于入园日期。" in str(excinfo.value)
    assert ParkMembership.objects.get(pk=membership.pk).left_on is None


def test_duplicate_number_is_a_field_error(world):
    with pytest.raises(ValidationError) as excinfo:
        ip_right_create(
            kind=IPKind.PATENT,
            number=world.rights["r1"].number,
            title="重复",
            owners=[{"enterprise": world.enterprises["e1"]}],
            acting_user=world.user("park1"),
        )
    assert excinfo.value.message_dict["number"] == ["该号码的知识产权已登记。"]
