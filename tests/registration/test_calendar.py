"""The examination calendar lives in the database: seeded from the State Council notices, kept by IP offices."""

import datetime

import pytest
from django.core.exceptions import PermissionDenied
from django.test import Client
from django.urls import reverse

from ipledge.core.choices import Role
from ipledge.core.models import AuditEvent
from ipledge.registration.models import CalendarDay
from ipledge.registration.services import calendar, calendar_day_remove, calendar_day_set

pytestmark = pytest.mark.django_db


def test_calendar_is_seeded_from_the_notices():
    cal = calendar()
    assert not cal.is_working_day(datetime.date(2024, 10, 1))  # National Day
    assert cal.is_working_day(datetime.date(2024, 9, 29))  # Sunday make-up working day
    assert cal.add_working_days(datetime.date(2024, 9, 30), 1) == datetime.date(2024, 10, 8)


def test_an_added_holiday_moves_the_deadlines(world):
    admin = world.user("ipo_bj", Role.ADMIN)
    monday = datetime.date(2027, 3, 1)
    assert calendar().add_working_days(monday - datetime.timedelta(days=3), 1) == monday
    calendar_day_set(day=monday, kind="holiday", name="测试假日", acting_user=admin)
    assert calendar().add_working_days(monday - datetime.timedelta(days=3), 1) == monday + datetime.timedelta(days=1)
    assert AuditEvent.objects.filter(action="calendar_day.create").count() == 1
    day = CalendarDay.objects.get(day=monday)
    calendar_day_remove(calendar_day=day, acting_user=admin)
    assert calendar().is_working_day(monday)
    assert AuditEvent.objects.filter(action="calendar_day.delete").count() == 1


@pytest.mark.parametrize("user_key", [("ipo_nj", Role.ADMIN), ("ipo_bj", Role.OPERATOR), ("bank1", Role.ADMIN)])
def test_only_national_or_provincial_office_admins_keep_it(world, user_key):
    with pytest.raises(PermissionDenied):
        calendar_day_set(day=datetime.date(2027, 5, 3), kind="holiday", name="x", acting_user=world.user(*user_key))


def test_calendar_page(world):
    admin = Client()
    admin.force_login(world.user("ipo_js", Role.ADMIN))
    page = admin.get(reverse("registration:calendar"), {"year": 2024})
    assert page.status_code == 200 and "国庆节" in page.content.decode()
    response = admin.post(reverse("registration:calendar"), {"day": "2027-01-01", "kind": "holiday", "name": "元旦"})
    assert response.status_code == 302
    assert CalendarDay.objects.get(day=datetime.date(2027, 1, 1)).name == "元旦"
    viewer = Client()
    viewer.force_login(world.user("ipo_js", Role.VIEWER))
    assert viewer.get(reverse("registration:calendar")).status_code == 200
    assert (
        viewer.post(reverse("registration:calendar"), {"day": "2027-01-02", "kind": "holiday", "name": "x"}).status_code
        == 404
    )
    day = CalendarDay.objects.get(day=datetime.date(2027, 1, 1))
    assert viewer.post(reverse("registration:calendar_remove", args=[day.pk])).status_code == 404
    bank = Client()
    bank.force_login(world.user("bank1"))
    assert bank.get(reverse("registration:calendar")).status_code == 404
