"""The 公共服务 and 数据交换 navigation sections: each organisation kind is offered the pages it may use, and each
offered page opens for it (an entry that answers 403 or 404 would be a dead link)."""

from __future__ import annotations

import pytest
from django.test import Client

from ipledge.core.choices import Role
from ipledge.core.context_processors import exchange_section, public_services_section

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    ("org", "services", "exchange"),
    [
        (
            "ipo_bj",
            [
                "portal:home",
                "portal:policy_list",
                "portal:service_queue",
                "portal:consultation_list",
                "portal:policy_manage",
            ],
            [
                "integration:partner_list",
                "integration:outbound_list",
                "integration:inbound_list",
                "integration:credit_reports",
                "integration:bulk_index",
            ],
        ),
        (
            "park1",
            [
                "portal:home",
                "portal:policy_list",
                "portal:service_queue",
                "portal:consultation_list",
                "portal:policy_manage",
            ],
            ["integration:bulk_index"],
        ),
        (
            "ent1",
            ["portal:home", "portal:policy_list", "portal:my_service_centre", "portal:consultation_list"],
            ["integration:consent", "integration:credit_reports", "integration:bulk_index"],
        ),
        ("bank1", ["portal:home", "portal:policy_list"], ["integration:bulk_index"]),
    ],
)
def test_each_kind_is_offered_its_pages_and_they_open(world, org, services, exchange) -> None:  # type: ignore[no-untyped-def]
    user = world.user(org, Role.ADMIN)
    offered_services = public_services_section(user).items
    offered_exchange = exchange_section(user).items
    assert [i.url_name for i in offered_services] == services
    assert [i.url_name for i in offered_exchange] == exchange
    client = Client()
    client.force_login(user)
    for item in [*offered_services, *offered_exchange]:
        response = client.get(item.url, follow=True)
        assert response.status_code == 200, (item.url_name, response.status_code)
