"""Accessibility of the public portal pages (公共服务门户): axe-core (vendored in tests/e2e/vendor, MPL-2.0) runs on
each public page in a desktop and a phone viewport; no violation of impact "serious" or "critical" may remain.

axe is injected with `page.evaluate` (the pages' CSP would refuse an added <script> tag), then `axe.run` checks
the whole document.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ipledge.market.choices import ProductStatus
from ipledge.market.models import Product
from ipledge.portal.choices import PolicyStatus
from ipledge.portal.models import Policy
from tests.market.factories import add_market
from tests.monitoring.factories_cases import add_cases
from tests.portal.factories import add_portal
from tests.world import add_pledges

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

AXE = (Path(__file__).parent / "vendor" / "axe.min.js").read_text(encoding="utf-8")
BLOCKING = ("serious", "critical")
VIEWPORTS = {
    "desktop": {"width": 1400, "height": 1000},
    "phone": {"width": 390, "height": 844},
}
RUN = """async () => {
  const result = await axe.run(document, {resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.slice(0, 5).map(n => ({target: n.target.join(" "), html: n.html.slice(0, 200)})),
  }));
}"""


def _pages(world: Any) -> dict[str, str]:
    product = Product.objects.filter(status=ProductStatus.LIVE).order_by("pk").first()
    policy = Policy.objects.filter(status=PolicyStatus.PUBLISHED).order_by("pk").first()
    assert product is not None and policy is not None
    return {
        "home": "/portal/",
        "product_list": "/portal/products/",
        "product_list_filtered": "/portal/products/?amount=50&term=12",
        "product_detail": f"/portal/products/{product.pk}/",
        "registration_query": "/public/pledges/?number=nothing-here",
        "policy_list": "/portal/policies/?q=风险补偿",
        "policy_detail": f"/portal/policies/{policy.pk}/",
        "policy_for_me": "/portal/policies/for-me/",
        "faq": "/portal/faq/",
        "showcase": "/showcase/",
    }


def axe_violations(page: Any) -> list[dict[str, Any]]:
    page.evaluate(AXE)
    violations: list[dict[str, Any]] = page.evaluate(RUN)
    return violations


@pytest.mark.parametrize("viewport", list(VIEWPORTS))
def test_public_portal_pages_have_no_serious_accessibility_violations(live_server, world, browser, viewport) -> None:  # type: ignore[no-untyped-def]
    add_pledges(world)
    add_market(world)
    add_portal(world)
    add_cases(world)
    context = browser.new_context(locale="zh-CN", viewport=VIEWPORTS[viewport])
    context.set_default_timeout(15_000)
    page = context.new_page()
    failures: dict[str, list[dict[str, Any]]] = {}
    for name, path in _pages(world).items():
        response = page.goto(f"{live_server.url}{path}")
        assert response is not None and response.status == 200, (name, path, response and response.status)
        blocking = [v for v in axe_violations(page) if v["impact"] in BLOCKING]
        if blocking:
            failures[f"{name} {path}"] = blocking
    context.close()
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)
