"""`ipledge market expire-demands`: closes the active demands past their expiry date as of `--date`, prints the
count (or JSON), refuses a malformed date."""

from __future__ import annotations

import datetime
import io
import json

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from ipledge.core.context import as_of
from ipledge.market.choices import DemandStatus
from ipledge.market.models import Demand
from tests.market.factories_demands import post
from tests.world import World

pytestmark = pytest.mark.django_db


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("market", *args, stdout=out)
    return out.getvalue()


def test_expire_demands(world: World) -> None:
    with as_of(datetime.date(2026, 3, 2)):
        soon = post(world, expires_on=datetime.date(2026, 3, 10))
        later = post(world, expires_on=datetime.date(2026, 6, 30))
    assert "2026-03-10: 0 financing demands expired" in run("expire-demands", "--date", "2026-03-10")
    assert json.loads(run("expire-demands", "--date", "2026-03-11", "--json")) == {"date": "2026-03-11", "expired": 1}
    assert Demand.objects.get(pk=soon.pk).status == DemandStatus.EXPIRED
    assert Demand.objects.get(pk=later.pk).status == DemandStatus.OPEN
    assert "0 financing demands expired" in run("expire-demands", "--date", "2026-03-11")
    with pytest.raises(CommandError):
        run("expire-demands", "--date", "11/03/2026")
