"""What 信易贷 partners send us (docs/exchange.md §7): enterprise credit data and loan outcomes, pushed to
`/exchange/v1/messages` or pulled from the partner.

Rules decided here:
- Receiving is idempotent on (partner, message id): a message seen before is answered with what was recorded then
  and never applied again; the same message id with a different kind or payload is refused (`message_id_reused`).
- A payload with a missing or malformed field is refused with a field error naming it (nothing is recorded, so
  the partner may correct and resend it under the same message id). A well-formed message about an enterprise we
  do not know (USCC) is recorded as rejected with its reason, and not applied.
- credit_data sets the partner's report for the enterprise and day (a later message for the same day corrects
  it); loan_outcome records one outcome per (partner, loan reference, outcome).
- The `InboundMessage` row is the journal of what arrived; a pull writes one audit event with its counts.
"""

from __future__ import annotations

import datetime
import re
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any
from urllib.parse import urlencode

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import record_event
from ipledge.core.context import business_now
from ipledge.core.models import User
from ipledge.registry.models import Enterprise

from ..choices import InboundStatus, LoanOutcomeKind, MessageKind
from ..client import ExchangeClient, ExchangeError
from ..models import ExchangePartner, InboundMessage, PartnerCreditReport, PartnerLoanOutcome

INBOUND_KINDS = (MessageKind.CREDIT_DATA, MessageKind.LOAN_OUTCOME)
TAX_RATINGS = ("A", "B", "M", "C", "D")
USCC_RE = re.compile(r"^[0-9A-HJ-NPQRTUWXY]{18}$")
MAX_MESSAGE_ID = 64
MAX_PAGES = 50
PULL_PATHS: dict[str, str] = {MessageKind.CREDIT_DATA: "/v1/credit-data", MessageKind.LOAN_OUTCOME: "/v1/loan-outcomes"}


def _error(name: str, message: Any, code: str) -> ValidationError:
    return ValidationError({name: ValidationError(message, code=code)})


class _Fields:
    """Collects field errors of one payload so the answer names every bad field at once."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.payload = payload
        self.errors: dict[str, ValidationError] = {}

    def fail(self, name: str, message: Any, code: str) -> None:
        self.errors.setdefault(name, ValidationError(message, code=code))

    def text(self, name: str, *, required: bool = True, max_length: int = 128) -> str:
        value = self.payload.get(name)
        if value is None or value == "":
            if required:
                self.fail(name, _("必填。"), "required")
            return ""
        if not isinstance(value, str):
            self.fail(name, _("须为字符串。"), "invalid")
            return ""
        if len(value) > max_length:
            self.fail(name, _("过长（最多 %(n)s 个字符）。") % {"n": max_length}, "max_length")
            return ""
        return value.strip()

    def date(self, name: str) -> datetime.date | None:
        raw = self.text(name, max_length=10)
        if not raw:
            return None
        try:
            return datetime.date.fromisoformat(raw)
        except ValueError:
            self.fail(name, _("日期格式须为 YYYY-MM-DD。"), "invalid")
            return None

    def boolean(self, name: str) -> bool:
        value = self.payload.get(name, False)
        if not isinstance(value, bool):
            self.fail(name, _("须为 true 或 false。"), "invalid")
            return False
        return value

    def count(self, name: str) -> int | None:
        value = self.payload.get(name)
        if value is None:
            return None
        if isinstance(value, bool) or not isinstance(value, int) or value < 0:
            self.fail(name, _("须为非负整数。"), "invalid")
            return None
        return value

    def money(self, name: str) -> Decimal | None:
        value = self.payload.get(name)
        if value is None or value == "":
            return None
        if isinstance(value, bool) or not isinstance(value, str | int):
            self.fail(name, _('金额须为十进制字符串，如 "1000000.00"。'), "invalid")
            return None
        try:
            amount = Decimal(str(value))
        except InvalidOperation:
            self.fail(name, _('金额须为十进制字符串，如 "1000000.00"。'), "invalid")
            return None
        if not amount.is_finite() or amount < 0 or amount != amount.quantize(Decimal("0.01")):
            self.fail(name, _("金额须为非负数，最多两位小数。"), "invalid")
            return None
        return amount

    def check(self) -> None:
        if self.errors:
            raise ValidationError(dict(self.errors))


def _uscc(fields: _Fields) -> str:
    value = fields.text("uscc", max_length=18).upper()
    if value and not USCC_RE.match(value):
        fields.fail("uscc", _("统一社会信用代码格式不正确。"), "invalid")
    return value


def _validate(kind: str, payload: dict[str, Any]) -> dict[str, Any]:
    """The cleaned fields of one payload, or a ValidationError naming each bad field."""
    f = _Fields(payload)
    clean: dict[str, Any] = {"uscc": _uscc(f)}
    if kind == MessageKind.CREDIT_DATA:
        clean["as_of"] = f.date("as_of")
        rating = f.text("tax_rating", required=False, max_length=1).upper()
        if rating and rating not in TAX_RATINGS:
            f.fail("tax_rating", _("纳税信用等级须为 A、B、M、C、D 之一。"), "invalid_choice")
        clean["tax_rating"] = rating
        clean["social_insurance_headcount"] = f.count("social_insurance_headcount")
        clean["tax_arrears"] = f.boolean("tax_arrears")
        clean["utility_arrears"] = f.boolean("utility_arrears")
        data = payload.get("data", {})
        if not isinstance(data, dict):
            f.fail("data", _("须为对象。"), "invalid")
            data = {}
        clean["data"] = data
    else:
        clean["external_ref"] = f.text("loan_ref", max_length=64)
        clean["lender_name"] = f.text("lender_name", max_length=128)
        outcome = f.text("outcome", max_length=12)
        if outcome and outcome not in LoanOutcomeKind.values:
            f.fail("outcome", _("结果须为 %(v)s 之一。") % {"v": ", ".join(LoanOutcomeKind.values)}, "invalid_choice")
        clean["outcome"] = outcome
        clean["amount"] = f.money("amount")
        clean["occurred_on"] = f.date("occurred_on")
        clean["is_ip_pledge"] = f.boolean("is_ip_pledge")
    f.check()
    return clean


def _apply(message: InboundMessage, clean: dict[str, Any]) -> None:
    enterprise = Enterprise.objects.filter(uscc=clean["uscc"]).first()
    if enterprise is None:
        message.status = InboundStatus.REJECTED
        message.result = {"reason": "unknown_uscc", "detail": f"no enterprise with USCC {clean['uscc']}"}
        message.save(update_fields=["status", "result"])
        return
    if message.kind == MessageKind.CREDIT_DATA:
        report, created = PartnerCreditReport.objects.update_or_create(
            partner=message.partner,
            enterprise=enterprise,
            as_of=clean["as_of"],
            defaults={
                "tax_rating": clean["tax_rating"],
                "social_insurance_headcount": clean["social_insurance_headcount"],
                "tax_arrears": clean["tax_arrears"],
                "utility_arrears": clean["utility_arrears"],
                "data": clean["data"],
                "message": message,
            },
        )
        message.result = {"credit_report": report.pk, "created": created, "enterprise": enterprise.pk}
    else:
        outcome, created = PartnerLoanOutcome.objects.update_or_create(
            partner=message.partner,
            external_ref=clean["external_ref"],
            outcome=clean["outcome"],
            defaults={
                "enterprise": enterprise,
                "lender_name": clean["lender_name"],
                "amount": clean["amount"],
                "occurred_on": clean["occurred_on"],
                "is_ip_pledge": clean["is_ip_pledge"],
                "message": message,
            },
        )
        message.result = {"loan_outcome": outcome.pk, "created": created, "enterprise": enterprise.pk}
    message.status = InboundStatus.APPLIED
    message.save(update_fields=["status", "result"])


def _same(existing: InboundMessage, kind: str, payload: dict[str, Any]) -> InboundMessage:
    if existing.kind != kind or existing.payload != payload:
        raise _error("message_id", _("该消息编号已用于内容不同的消息。"), "message_id_reused")
    return existing


def receive(*, partner: ExchangePartner, message_id: str, kind: str, payload: Any) -> tuple[InboundMessage, bool]:
    """Record and apply one message from a partner; (the message, whether it was new)."""
    if not isinstance(message_id, str) or not message_id.strip():
        raise _error("message_id", _("必填。"), "required")
    message_id = message_id.strip()
    if len(message_id) > MAX_MESSAGE_ID:
        raise _error("message_id", _("消息编号过长（最多 64 个字符）。"), "max_length")
    if kind not in INBOUND_KINDS:
        raise _error("kind", _("不接收该类型的消息。"), "unsupported_kind")
    if not isinstance(payload, dict):
        raise _error("payload", _("须为对象。"), "invalid")
    existing = InboundMessage.objects.filter(partner=partner, message_id=message_id).first()
    if existing is not None:
        return _same(existing, kind, payload), False
    clean = _validate(kind, payload)
    try:
        with transaction.atomic():
            message = InboundMessage.objects.create(
                partner=partner, message_id=message_id, kind=kind, payload=payload, status=InboundStatus.APPLIED
            )
            _apply(message, clean)
            # The partner's system is the actor: no person of ours acted, so the event names the partner instead.
            record_event(
                acting_user=None,
                action="inboundmessage.receive",
                instance=message,
                extra={
                    "partner": partner.code,
                    "message_id": message_id,
                    "kind": kind,
                    "status": message.status,
                    "result": message.result,
                },
            )
    except IntegrityError:
        # A concurrent delivery of the same message won the race: answer what it recorded.
        existing = InboundMessage.objects.filter(partner=partner, message_id=message_id).first()
        if existing is None:
            raise
        return _same(existing, kind, payload), False
    return message, True


@dataclass
class PullReport:
    fetched: int = 0
    applied: int = 0
    rejected: int = 0
    duplicates: int = 0
    invalid: int = 0
    errors: list[str] = field(default_factory=list)
    pulled_until: datetime.datetime | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "fetched": self.fetched,
            "applied": self.applied,
            "rejected": self.rejected,
            "duplicates": self.duplicates,
            "invalid": self.invalid,
            "errors": list(self.errors),
            "pulled_until": self.pulled_until.isoformat() if self.pulled_until else None,
        }


def _pull_kind(client: ExchangeClient, kind: str, since: str, partner: ExchangePartner, report: PullReport) -> bool:
    cursor: str | None = None
    for _page in range(MAX_PAGES):
        query = {"since": since} if cursor is None else {"since": since, "cursor": cursor}
        try:
            data = client.get_json(f"{PULL_PATHS[kind]}?{urlencode(query)}")
        except ExchangeError as exc:
            report.errors.append(f"{kind}: {exc}")
            return False
        items = data.get("items") if isinstance(data, dict) else None
        if not isinstance(items, list):
            report.errors.append(f"{kind}: response has no items list")
            return False
        for item in items:
            report.fetched += 1
            if not isinstance(item, dict):
                report.invalid += 1
                continue
            try:
                message, created = receive(
                    partner=partner,
                    message_id=item.get("message_id"),  # type: ignore[arg-type]
                    kind=kind,
                    payload=item.get("payload"),
                )
            except ValidationError as exc:
                report.invalid += 1
                report.errors.append(f"{kind} {item.get('message_id')!r}: {exc.messages}")
                continue
            if not created:
                report.duplicates += 1
            elif message.status == InboundStatus.APPLIED:
                report.applied += 1
            else:
                report.rejected += 1
        cursor = data.get("next")
        if not cursor:
            return True
    report.errors.append(f"{kind}: stopped after {MAX_PAGES} pages")
    return False


def pull(*, partner: ExchangePartner, actor: User | None = None) -> PullReport:
    """Fetch credit data and loan outcomes changed since the last complete pull and apply each through `receive`.

    `pulled_until` moves to the time the pull started only when both lists were read to the end, so nothing is
    missed after a failure (what was already received is deduplicated by message id)."""
    started = business_now()
    since = (partner.pulled_until or datetime.datetime(2000, 1, 1, tzinfo=datetime.UTC)).isoformat()
    report = PullReport()
    try:
        client = ExchangeClient.for_partner(partner)
    except ExchangeError as exc:
        report.errors.append(str(exc))
        return report
    complete = all([_pull_kind(client, kind, since, partner, report) for kind in INBOUND_KINDS])
    with transaction.atomic():
        if complete:
            ExchangePartner.objects.filter(pk=partner.pk).update(pulled_until=started)
            partner.pulled_until = started
            report.pulled_until = started
        record_event(
            acting_user=actor,
            action="exchangepartner.pull",
            instance=partner,
            extra={**report.as_dict(), "since": since, "complete": complete},
        )
    return report
