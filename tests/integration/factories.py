"""Integration rows for the permission and endpoint matrices: a partner with delivered and dead messages, inbound
messages with the credit data and loan outcomes they carried, consents and bulk transfers on both sides."""

from __future__ import annotations

import datetime
from decimal import Decimal

from ipledge.integration.choices import (
    BulkDirection,
    BulkStatus,
    InboundStatus,
    LoanOutcomeKind,
    MessageKind,
    OutboundStatus,
)
from ipledge.integration.models import (
    BulkTransfer,
    ExchangePartner,
    InboundMessage,
    OutboundMessage,
    PartnerCreditReport,
    PartnerLoanOutcome,
    ShareConsent,
)
from tests.world import World

NOW = datetime.datetime(2026, 3, 2, 9, 0, tzinfo=datetime.UTC)


def add_integration(w: World) -> World:
    partner = ExchangePartner.objects.create(
        code="xyd-bj",
        name="北京信易贷平台",
        base_url="https://127.0.0.1:9/exchange",
        key_id="xyd-bj-key",
        secret="s" * 40,
        region_code="110000",
    )
    OutboundMessage.objects.create(
        partner=partner,
        kind=MessageKind.PRODUCT,
        subject_key="product:1",
        payload={"code": "P1"},
        payload_digest="a" * 64,
        status=OutboundStatus.DELIVERED,
        attempts=1,
        next_attempt_at=NOW,
        delivered_at=NOW,
    )
    OutboundMessage.objects.create(
        partner=partner,
        kind=MessageKind.REGISTRATION,
        subject_key="registration:1",
        payload={"number": "R1"},
        payload_digest="b" * 64,
        status=OutboundStatus.DEAD,
        attempts=6,
        next_attempt_at=NOW,
        dead_at=NOW,
        last_error="HTTP 503",
    )
    for index, (enterprise, org) in enumerate((("e1", "ent1"), ("e2", "ent2")), start=1):
        e = w.enterprises[enterprise]
        credit = InboundMessage.objects.create(
            partner=partner,
            message_id=f"credit-{index}",
            kind=MessageKind.CREDIT_DATA,
            payload={"uscc": e.uscc},
            status=InboundStatus.APPLIED,
        )
        outcome = InboundMessage.objects.create(
            partner=partner,
            message_id=f"loan-{index}",
            kind=MessageKind.LOAN_OUTCOME,
            payload={"uscc": e.uscc},
            status=InboundStatus.APPLIED,
        )
        PartnerCreditReport.objects.create(
            partner=partner,
            enterprise=e,
            as_of=NOW.date(),
            tax_rating="A",
            social_insurance_headcount=40,
            message=credit,
        )
        PartnerLoanOutcome.objects.create(
            partner=partner,
            enterprise=e,
            external_ref=f"XYD-{index}",
            lender_name="某银行",
            outcome=LoanOutcomeKind.GRANTED,
            amount=Decimal("1000000.00"),
            occurred_on=NOW.date(),
            message=outcome,
        )
        ShareConsent.objects.create(enterprise=e, enterprise_org=w.orgs[org], region_code=e.region_code, granted_at=NOW)
    for key in ("ipo_bj", "bank2"):
        BulkTransfer.objects.create(
            direction=BulkDirection.EXPORT,
            entity="enterprises",
            file_format="csv",
            file_name="enterprises.csv",
            status=BulkStatus.EXPORTED,
            rows_total=2,
            organisation=w.orgs[key],
            created_by=w.user(key),
        )
    return w


def add_national_and_jiangsu_partners(w: World) -> World:
    """Two more partners for the permission matrix: a national one (watched by national bodies only) and a Jiangsu
    one, each with a queued and a received message, so a regional watcher sees some partners and not others."""
    for code, region in (("xyd-cn", ""), ("xyd-js", "320000")):
        partner = ExchangePartner.objects.create(
            code=code,
            name=f"{code} 信易贷平台",
            base_url="https://127.0.0.1:9/exchange",
            key_id=f"{code}-key",
            secret="t" * 40,
            region_code=region,
        )
        OutboundMessage.objects.create(
            partner=partner,
            kind=MessageKind.PRODUCT,
            subject_key="product:1",
            payload={"code": "P1"},
            payload_digest=("c" if region else "d") * 64,
            next_attempt_at=NOW,
        )
        InboundMessage.objects.create(
            partner=partner,
            message_id=f"{code}-credit-1",
            kind=MessageKind.CREDIT_DATA,
            payload={"uscc": w.enterprises["e2"].uscc},
            status=InboundStatus.APPLIED,
        )
    return w
