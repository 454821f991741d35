"""The 行动监测 navigation section: each organisation kind is offered the monitoring pages it may use, and each
offered page opens for it."""

from __future__ import annotations

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.context_processors import monitoring_section

pytestmark = pytest.mark.django_db


def _offered(user) -> list[str]:  # type: ignore[no-untyped-def]
    return [item.url_name for item in monitoring_section(user).items]


@pytest.mark.parametrize(
    ("org", "expected"),
    [
        (
            "ipo_bj",
            [
                "monitoring:targets",
                "monitoring:findings",
                "monitoring:plans",
                "monitoring:key_parks",
                "monitoring:impact",
                "monitoring:measures",
                "monitoring:reports",
                "monitoring:cases",
                "showcase:index",
            ],
        ),
        (
            "park1",
            ["monitoring:targets", "monitoring:impact", "monitoring:measures", "monitoring:cases", "showcase:index"],
        ),
        ("ent1", ["monitoring:financials", "showcase:index"]),
        ("bank1", ["monitoring:cases", "showcase:index"]),
    ],
)
def test_each_kind_is_offered_its_pages_and_they_open(world, org: str, expected: list[str]) -> None:  # type: ignore[no-untyped-def]
    user = world.user(org, Role.ADMIN)
    offered = _offered(user)
    assert offered == expected
    client = Client()
    client.force_login(user)
    for item in monitoring_section(user).items:
        response = client.get(item.url)
        assert response.status_code == 200, (item.url_name, response.status_code)


def test_the_dashboard_shows_the_section_to_an_official(world) -> None:  # type: ignore[no-untyped-def]
    client = Client()
    client.force_login(world.user("ipo_js", Role.VIEWER))
    page = client.get("/").content.decode()
    assert "行动监测" in page and "/monitoring/targets/" in page and "/monitoring/findings/" in page
