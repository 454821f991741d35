"""Delivery of queued outbound messages to 信易贷 partners (docs/exchange.md §5–6): retries with exponential backoff
and the dead-letter queue (死信队列).

Rules decided here:
- `deliver_due` takes the messages that are pending or retrying and due, each locked on its own (skip-locked where
  the database can, so two workers never send the same row at once), and POSTs it to `{base_url}/v1/messages`.
  A 2xx answer with a valid response signature delivers it.
- A retryable failure (connection, timeout, 408, 429, 5xx) schedules the next attempt after
  60 s × 2^(attempts−1), capped at 6 h, with a ±10 % jitter derived from the message id (deterministic, so a
  test or an operator can tell when the next attempt will be). After the partner's `max_attempts` the message is
  dead. Anything else (4xx, a bad response signature, a redirect, TLS failure) is dead at once.
- Each attempt is recorded on the row (attempts, last status code, last error); each dead-lettering writes one
  audit event. Deliveries themselves are many and are not audited one by one.
- Only platform operators requeue a message (dead or retrying → pending, attempts reset), audited.
"""

from __future__ import annotations

import datetime
import hashlib
import logging
import uuid
from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection, transaction
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.audit import audited_update, record_event
from ipledge.core.context import business_now
from ipledge.core.models import User
from ipledge.core.scoping import Action

from ..choices import OutboundStatus
from ..client import ExchangeClient, ExchangeError
from ..models import ExchangePartner, OutboundMessage

SCHEMA_VERSION = 1
MESSAGES_PATH = "/v1/messages"
BACKOFF_BASE_SECONDS = 60
BACKOFF_CAP_SECONDS = 6 * 3600
JITTER = 0.10
DUE_STATUSES = (OutboundStatus.PENDING, OutboundStatus.RETRYING)
MAX_ERROR = 2000

logger = logging.getLogger(__name__)


@dataclass
class DeliveryReport:
    picked: int = 0
    delivered: int = 0
    retrying: int = 0
    dead: int = 0
    skipped: int = 0  # locked by another worker or no longer due
    errors: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, int]:
        return {
            "picked": self.picked,
            "delivered": self.delivered,
            "retrying": self.retrying,
            "dead": self.dead,
            "skipped": self.skipped,
        }


def backoff_seconds(message_id: uuid.UUID | str, attempts: int) -> float:
    """Seconds to wait after the `attempts`-th failed attempt: 60 × 2^(attempts−1) capped at 6 h, ±10 % jitter."""
    base = min(BACKOFF_BASE_SECONDS * 2 ** max(attempts - 1, 0), BACKOFF_CAP_SECONDS)
    digest = hashlib.sha256(f"{message_id}:{attempts}".encode()).digest()
    fraction = int.from_bytes(digest[:4], "big") / 0xFFFFFFFF  # 0 … 1
    return float(base) * (1 - JITTER + 2 * JITTER * fraction)


def message_body(message: OutboundMessage, *, sent_at: datetime.datetime) -> dict[str, object]:
    return {
        "message_id": str(message.message_id),
        "kind": message.kind,
        "schema_version": SCHEMA_VERSION,
        "sent_at": sent_at.isoformat(),
        "payload": message.payload,
    }


def _locking(qs: QuerySet[OutboundMessage]) -> QuerySet[OutboundMessage]:
    features = connection.features
    if not features.has_select_for_update:
        return qs
    kwargs: dict[str, object] = {}
    if features.has_select_for_update_skip_locked:
        kwargs["skip_locked"] = True
    if features.has_select_for_update_of:
        kwargs["of"] = ("self",)
    return qs.select_for_update(**kwargs)  # type: ignore[arg-type]


def _dead(message: OutboundMessage, *, now: datetime.datetime, error: str) -> None:
    message.status = OutboundStatus.DEAD
    message.dead_at = now
    message.last_error = error[:MAX_ERROR]
    message.save(update_fields=["status", "dead_at", "last_error", "attempts", "last_status_code", "updated_at"])
    record_event(
        acting_user=None,
        action="outboundmessage.dead",
        instance=message,
        extra={
            "message_id": message.message_id,
            "partner": message.partner.code,
            "kind": message.kind,
            "attempts": message.attempts,
            "status_code": message.last_status_code,
            "error": message.last_error,
        },
    )


def _attempt(message: OutboundMessage, *, now: datetime.datetime, report: DeliveryReport) -> None:
    partner = message.partner
    message.attempts += 1
    try:
        client = ExchangeClient.for_partner(partner)
        response = client.post_json(
            MESSAGES_PATH, message_body(message, sent_at=now), idempotency_key=str(message.message_id)
        )
    except Exception as unexpected:  # noqa: BLE001 - one broken message must not stop the batch
        exc = (
            unexpected
            if isinstance(unexpected, ExchangeError)
            else ExchangeError(f"unexpected error: {unexpected!r}", retryable=True, reason="unexpected")
        )
        if not isinstance(unexpected, ExchangeError):
            logger.exception("exchange delivery of %s failed unexpectedly", message.message_id)
        message.last_status_code = exc.status
        error = str(exc)
        report.errors.append(f"{message.message_id}: {error}")
        if exc.retryable and message.attempts < partner.max_attempts:
            message.status = OutboundStatus.RETRYING
            message.last_error = error[:MAX_ERROR]
            message.next_attempt_at = now + datetime.timedelta(
                seconds=backoff_seconds(message.message_id, message.attempts)
            )
            message.save(
                update_fields=[
                    "status",
                    "attempts",
                    "last_status_code",
                    "last_error",
                    "next_attempt_at",
                    "updated_at",
                ]
            )
            report.retrying += 1
        else:
            if exc.retryable:
                error = f"{error} (after {message.attempts} attempts)"
            _dead(message, now=now, error=error)
            logger.warning("exchange message %s to %s dead: %s", message.message_id, partner.code, error)
            report.dead += 1
        return
    message.status = OutboundStatus.DELIVERED
    message.delivered_at = now
    message.last_status_code = response.status
    message.last_error = ""
    message.save(update_fields=["status", "attempts", "delivered_at", "last_status_code", "last_error", "updated_at"])
    report.delivered += 1


def deliver_due(
    *, now: datetime.datetime | None = None, limit: int = 100, partner: ExchangePartner | None = None
) -> DeliveryReport:
    """Send up to `limit` due messages of active partners (of `partner` only, when given); each row is locked and
    updated in its own transaction."""
    now = now or business_now()
    report = DeliveryReport()
    due = OutboundMessage.objects.filter(status__in=DUE_STATUSES, next_attempt_at__lte=now, partner__is_active=True)
    if partner is not None:
        due = due.filter(partner=partner)
    ids = list(due.order_by("next_attempt_at", "pk").values_list("pk", flat=True)[:limit])
    for pk in ids:
        report.picked += 1
        with transaction.atomic():
            message = _locking(due.filter(pk=pk)).first()
            if message is None:
                report.skipped += 1
                continue
            message.partner  # noqa: B018 - load the partner inside the lock for the client and the audit event
            _attempt(message, now=now, report=report)
    return report


def requeue(*, actor: User, message: OutboundMessage) -> OutboundMessage:
    """A dead (or retrying) message back to pending, due now, attempts reset; platform operators only."""
    with transaction.atomic():
        locked = (
            OutboundMessage.objects.restrict(actor, Action.CHANGE)
            .select_for_update(of=("self",))
            .filter(pk=message.pk)
            .first()
        )
        if locked is None:
            raise PermissionDenied(_("只有平台运维人员可以重新投递消息。"))
        if locked.status not in (OutboundStatus.DEAD, OutboundStatus.RETRYING):
            raise ValidationError(
                {
                    "status": ValidationError(
                        _("消息当前状态为“%(status)s”，只有死信或重试中的消息可以重新投递。"),
                        code="not_dead",
                        params={"status": locked.get_status_display()},
                    )
                }
            )
        audited_update(
            instance=locked,
            data={
                "status": OutboundStatus.PENDING,
                "attempts": 0,
                "next_attempt_at": business_now(),
                "dead_at": None,
                "last_error": "",
                "last_status_code": None,
            },
            acting_user=actor,
            action="outboundmessage.requeue",
        )
        return locked
