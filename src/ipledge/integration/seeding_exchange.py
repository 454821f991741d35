"""Demo 信易贷 exchange: one partner, consents, a queue in realistic states, and what the partner sent back.

- Partner `xyd-demo` (全国中小企业融资综合信用服务平台（演示）) at `https://127.0.0.1:9/exchange`, an address where
  nothing listens: a delivery run on the demo turns what is still pending into retries and, after the last
  attempt, dead letters, as an unreachable partner would.
- Every second enterprise (by id) with an entry on an approved whitelist consents to share it.
- `enqueue_all` queues the products, the consented whitelist entries and the registrations; on the first run the
  queue is then put in the states a running exchange shows: most delivered, two retrying after HTTP 503, one dead
  letter after a refused connection, a few still pending.
- Credit data and loan outcomes for a few consenting enterprises arrive as inbound messages through
  `services.inbound.receive`, so they are applied exactly as a partner's push would be.
- A demo platform operator `platform_ops` (a superuser without an organisation, the seeded demo password) so the
  exchange's operator pages can be tried on the demo; `ipledge demo_logins` lists it.

A second run adds nothing (the partner by code, consents per enterprise, messages by digest and message id).
"""

from __future__ import annotations

import datetime
from typing import Any

from django.db import transaction

from .choices import MessageKind, OutboundStatus
from .models import ExchangePartner, OutboundMessage, ShareConsent

DEMO_CODE = "xyd-demo"
DEMO_OPERATOR = "platform_ops"
DEMO_SECRET = "demo-only-shared-secret-xyd-2026-do-not-use-in-production"
CREDIT_SAMPLES = 6
OUTCOME_SAMPLES = 4
RETRYING = 2
DEAD = 1
STILL_PENDING = 3


def _partner() -> ExchangePartner:
    partner, _ = ExchangePartner.objects.get_or_create(
        code=DEMO_CODE,
        defaults={
            "name": "全国中小企业融资综合信用服务平台（演示）",
            "base_url": "https://127.0.0.1:9/exchange",
            "key_id": "xyd-demo-key",
            "secret": DEMO_SECRET,
            "region_code": "",
            "max_attempts": 6,
        },
    )
    return partner


def _operator() -> bool:
    """The demo platform operator, with the demo users' password hash (answers whether it was created)."""
    from ipledge.core.audit import record_event
    from ipledge.core.choices import Role
    from ipledge.core.models import User

    anchor = User.objects.filter(username="cnipa_admin").only("password").first()
    if anchor is None or User.objects.filter(username=DEMO_OPERATOR).exists():
        return False  # no demo users to share a password with, or already there
    operator = User.objects.create(
        username=DEMO_OPERATOR,
        password=anchor.password,
        display_name="平台运营（演示）",
        role=Role.ADMIN,
        is_superuser=True,
        is_staff=True,
    )
    record_event(acting_user=None, action="seed.demo_operator", instance=operator, extra={"superuser": True})
    return True


def _consents(now: datetime.datetime) -> int:
    from ipledge.screening.choices import VersionStatus
    from ipledge.screening.models import WhitelistEntry

    enterprise_ids = sorted(
        set(
            WhitelistEntry.objects.filter(
                version__status=VersionStatus.APPROVED,
                included=True,
                enterprise__organisation__isnull=False,
            ).values_list("enterprise_id", flat=True)
        )
    )
    chosen = enterprise_ids[::2]
    known = set(ShareConsent.objects.filter(enterprise_id__in=chosen).values_list("enterprise_id", flat=True))
    from ipledge.registry.models import Enterprise

    rows = [
        ShareConsent(
            enterprise=e,
            enterprise_org_id=e.organisation_id,
            region_code=e.region_code,
            granted_at=now - datetime.timedelta(days=30 + index % 60),
        )
        for index, e in enumerate(
            Enterprise.objects.filter(pk__in=[pk for pk in chosen if pk not in known]).order_by("pk")
        )
    ]
    ShareConsent.objects.bulk_create(rows)
    return len(rows)


def _states(partner: ExchangePartner, now: datetime.datetime) -> dict[str, int]:
    """On the first run, the queue as a running exchange shows it; later runs leave it alone."""
    messages = OutboundMessage.objects.filter(partner=partner)
    if messages.exclude(status=OutboundStatus.PENDING).exists():
        return {}
    ids = list(messages.order_by("pk").values_list("pk", flat=True))
    if not ids:
        return {}
    dead_ids = ids[-DEAD:]
    retrying_ids = ids[-(DEAD + RETRYING) : -DEAD]
    pending_ids = ids[-(DEAD + RETRYING + STILL_PENDING) : -(DEAD + RETRYING)]
    delivered_ids = ids[: max(0, len(ids) - DEAD - RETRYING - STILL_PENDING)]
    delivered_at = now - datetime.timedelta(hours=2)
    OutboundMessage.objects.filter(pk__in=delivered_ids).update(
        status=OutboundStatus.DELIVERED,
        attempts=1,
        last_status_code=200,
        delivered_at=delivered_at,
        next_attempt_at=delivered_at,
    )
    OutboundMessage.objects.filter(pk__in=retrying_ids).update(
        status=OutboundStatus.RETRYING,
        attempts=2,
        last_status_code=503,
        last_error="HTTP 503 Service Unavailable: 对方平台维护中，请稍后重试",
        next_attempt_at=now + datetime.timedelta(minutes=8),
    )
    OutboundMessage.objects.filter(pk__in=dead_ids).update(
        status=OutboundStatus.DEAD,
        attempts=partner.max_attempts,
        last_status_code=None,
        last_error="ConnectionRefusedError: [Errno 111] Connection refused (https://127.0.0.1:9/exchange/v1/messages)",
        dead_at=now - datetime.timedelta(minutes=30),
        next_attempt_at=now - datetime.timedelta(minutes=30),
    )
    return {
        "delivered": len(delivered_ids),
        "pending": len(pending_ids),
        "retrying": len(retrying_ids),
        "dead": len(dead_ids),
    }


def _inbound(partner: ExchangePartner, now: datetime.datetime) -> dict[str, int]:
    from ipledge.registry.models import Enterprise

    from .services.inbound import receive

    enterprises = list(
        Enterprise.objects.filter(
            pk__in=ShareConsent.objects.filter(revoked_at__isnull=True).values("enterprise_id")
        ).order_by("pk")[:CREDIT_SAMPLES]
    )
    counts = {"credit_data": 0, "loan_outcome": 0}
    ratings = ("A", "B", "A", "M", "B", "C")
    as_of = (now - datetime.timedelta(days=3)).date()
    for index, enterprise in enumerate(enterprises):
        _, created = receive(
            partner=partner,
            message_id=f"demo-credit-{enterprise.uscc}-{as_of:%Y%m}",
            kind=MessageKind.CREDIT_DATA,
            payload={
                "uscc": enterprise.uscc,
                "as_of": as_of.isoformat(),
                "tax_rating": ratings[index % len(ratings)],
                "social_insurance_headcount": 20 + index * 17,
                "tax_arrears": index == 5,
                "utility_arrears": False,
                "data": {"provident_fund_headcount": 15 + index * 11},
            },
        )
        counts["credit_data"] += int(created)
    outcomes = ("granted", "granted", "repaid", "declined")
    amounts = ("3000000.00", "1500000.00", "800000.00", None)
    for index, enterprise in enumerate(enterprises[:OUTCOME_SAMPLES]):
        payload: dict[str, Any] = {
            "uscc": enterprise.uscc,
            "loan_ref": f"XYD-DEMO-{index + 1:04d}",
            "lender_name": ("北京银行中关村分行", "江苏银行南京分行", "中国建设银行苏州分行", "招商银行北京分行")[
                index
            ],
            "outcome": outcomes[index],
            "occurred_on": (now - datetime.timedelta(days=20 + index * 9)).date().isoformat(),
            "is_ip_pledge": index != 3,
        }
        if amounts[index] is not None:
            payload["amount"] = amounts[index]
        _, created = receive(
            partner=partner, message_id=f"demo-loan-{index + 1:04d}", kind=MessageKind.LOAN_OUTCOME, payload=payload
        )
        counts["loan_outcome"] += int(created)
    return counts


def seed_exchange(*, now: datetime.datetime) -> dict[str, Any]:
    """Seed the demo exchange (see the module docstring); answers what was added."""
    from .services.outbound import enqueue_all

    with transaction.atomic():
        operator = _operator()
        partner = _partner()
        consents = _consents(now)
    queued = enqueue_all(partner=partner, now=now)
    with transaction.atomic():
        states = _states(partner, now)
    inbound = _inbound(partner, now)
    return {
        "operator": int(operator),
        "partner": partner.code,
        "consents": consents,
        "queued": queued,
        "states": states,
        "inbound": inbound,
    }
