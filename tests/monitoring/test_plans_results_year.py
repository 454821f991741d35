"""The key-park check evaluates designations on the latest year that has registrations: a designation year without
any yet would otherwise show every park at -100 %."""

from __future__ import annotations

import pytest

from ipledge.core.choices import Role
from ipledge.core.context import business_date
from ipledge.monitoring.selectors_plans import figures_year, key_park_check
from ipledge.registration.models import PledgeRegistration
from tests.monitoring.factories_targets import add_targets

pytestmark = pytest.mark.django_db


def test_results_fall_back_to_the_latest_year_with_registrations(world) -> None:  # type: ignore[no-untyped-def]
    add_targets(world)
    official = world.user("ipo_bj", Role.VIEWER)
    latest = PledgeRegistration.objects.order_by("-registered_on").first().registered_on.year  # type: ignore[union-attr]
    this_year = business_date().year
    assert latest < this_year  # the factory registers in earlier years only
    assert figures_year(official, this_year) == latest
    assert figures_year(official, latest - 1) == latest - 1
    checks = key_park_check(user=official, year=this_year)
    assert checks and all(check.results_year == latest for check in checks)
