"""Policies made through the services, for the policy library tests."""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from ipledge.core.models import Region
from ipledge.portal.models import Policy
from ipledge.portal.services import policies as services
from tests.world import World

DAY = datetime.date(2026, 3, 2)
PDF_BYTES = b"%PDF-1.4\n1 0 obj<<>>endobj\ntrailer<<>>\n%%EOF\n"


def region(code: str) -> Region:
    return Region.objects.get(code=code)


def make_policy(w: World, office: str = "ipo_bj", *, publish: bool = True, **values: Any) -> Policy:
    defaults: dict[str, Any] = {
        "title": "知识产权质押融资贴息办法",
        "kind": "interest_discount",
        "issued_on": DAY - datetime.timedelta(days=30),
        "effective_from": DAY - datetime.timedelta(days=30),
        "body": "对符合条件的企业给予贷款贴息支持。",
        "region": region("110000") if office == "ipo_bj" else region("320000") if office == "ipo_js" else None,
    }
    defaults.update(values)
    actor = w.user(office)
    with transaction.atomic():
        policy = services.policy_create(actor=actor, **defaults)
        if publish:
            policy = services.policy_publish(actor=actor, policy=policy, expected_version=policy.version)
    return policy
