"""What the platform pushes to 信易贷 partners, and queuing it (`enqueue_all`).

Payloads (documented in docs/exchange.md; money as decimal strings in yuan, dates ISO 8601):
- `product`: one financial product's current terms (`status` "live"), or its withdrawal (`status` "withdrawn"),
  subject `product:<id>`.
- `whitelist_entry`: one enterprise on a park's approved whitelist, only while the enterprise consents to share it
  (`ShareConsent`), subject `whitelist_entry:<whitelist id>:<USCC>`.
- `registration`: one pledge registration's facts, subject `registration:<registration number>`.

Queuing is idempotent per fact: the unique (partner, kind, subject key, payload digest) means an unchanged fact is
never queued twice for a partner, and a changed fact (a new digest) is. A newer fact replaces an older one still
waiting for its first attempt. The digest is the SHA-256 of the canonical JSON (sorted keys, no spaces, UTF-8).

A partner with a region (`region_code`) receives only what concerns it: registrations and whitelist entries of
enterprises registered in that region, products open to that region (or to the whole country).
"""

from __future__ import annotations

import datetime
import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Any

from django.db import transaction
from django.db.models import Exists, OuterRef, Prefetch

from ipledge.core.context import business_now
from ipledge.core.money import Money

from ..choices import MessageKind, OutboundStatus
from ..models import ExchangePartner, OutboundMessage, ShareConsent

CHUNK = 500


def canonical_json(payload: Any) -> bytes:
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def payload_digest(payload: Any) -> str:
    return hashlib.sha256(canonical_json(payload)).hexdigest()


def _money(value: Money | None) -> str | None:
    return None if value is None else f"{value.amount}"


def _date(value: datetime.date | datetime.datetime | None) -> str | None:
    if value is None:
        return None
    if isinstance(value, datetime.datetime):
        from django.utils import timezone

        return timezone.localdate(value).isoformat() if timezone.is_aware(value) else value.date().isoformat()
    return value.isoformat()


def region_prefix(code: str) -> str:
    """Significant digits of a region code: "110000" → "11", "320100" → "3201", "320115" → "320115"."""
    code = (code or "").strip()
    if not code:
        return ""
    if code.endswith("0000"):
        return code[:2]
    if code.endswith("00"):
        return code[:4]
    return code


def _regions_overlap(a: str, b: str) -> bool:
    pa, pb = region_prefix(a), region_prefix(b)
    return pa.startswith(pb) or pb.startswith(pa)


# ------------------------------------------------------------------------------------------------------ payloads


def product_payload(version: Any) -> dict[str, Any]:
    """A product version's terms as pushed; `status` is the product's ("live" or "withdrawn")."""
    from ipledge.market.choices import ProductStatus

    product = version.product
    bank = product.bank
    return {
        "product_id": product.pk,
        "product_code": product.code,
        "name": product.name,
        "bank_name": bank.name,
        "bank_code": bank.uscc or f"org-{bank.pk}",
        "summary": version.summary,
        "amount_min": _money(version.amount_min),
        "amount_max": _money(version.amount_max),
        "term_min_months": version.term_min_months,
        "term_max_months": version.term_max_months,
        "rate_kind": version.rate_kind,
        "rate_spread_bp": version.rate_spread_bp,
        "rate_fixed": None if version.rate_fixed is None else str(version.rate_fixed),
        "collateral_kinds": sorted(version.collateral_kinds or []),
        "region_codes": sorted(version.region_codes or []),
        "industry_sections": sorted(version.industry_sections or []),
        "size_classes": sorted(version.size_classes or []),
        "requires_whitelist": bool(version.requires_whitelist),
        "version": version.number,
        "status": "withdrawn" if product.status == ProductStatus.WITHDRAWN else "live",
    }


def whitelist_entry_payload(entry: Any) -> dict[str, Any]:
    """An enterprise's place on a park's approved whitelist."""
    version = entry.version
    whitelist = version.whitelist
    enterprise = entry.enterprise
    return {
        "uscc": enterprise.uscc,
        "enterprise_name": enterprise.name,
        "region_code": enterprise.region_code,
        "park_name": whitelist.park.name,
        "period": whitelist.period,
        "included": bool(entry.included),
        "score": None if entry.score is None else str(entry.score),
        "version": version.number,
        "approved_on": _date(version.decided_at),
    }


def registration_payload(registration: Any) -> dict[str, Any]:
    """A pledge registration's public facts (rights pledged, parties, secured claim)."""
    rights = [
        {"kind": pledged.ip_right.kind, "number": pledged.ip_right.number, "active": bool(pledged.is_active)}
        for pledged in registration.pledged_rights.all()
    ]
    rights.sort(key=lambda r: (r["kind"], r["number"]))
    pledgee = registration.pledgee
    return {
        "registration_no": registration.registration_no,
        "registered_on": _date(registration.registered_on),
        "performance_end": _date(registration.performance_end),
        "status": registration.status,
        "cancelled_on": _date(registration.cancelled_on),
        "cancellation_reason": registration.cancellation_reason,
        "pledgor_uscc": registration.pledgor.uscc,
        "pledgor_name": registration.pledgor.name,
        "region_code": registration.region_code,
        "pledgee_name": pledgee.name,
        "pledgee_code": pledgee.uscc or f"org-{pledgee.pk}",
        "claim_amount": _money(registration.claim_amount),
        "ip_rights": rights,
    }


# ------------------------------------------------------------------------------------------------------- facts


@dataclass(frozen=True)
class Fact:
    kind: str
    subject_key: str
    payload: dict[str, Any]
    digest: str
    region_code: str = ""  # the enterprise's region (whitelist entries, registrations)
    product_regions: tuple[str, ...] = ()  # a product's regions; empty = national
    only_if_known: bool = False  # a withdrawal or an exclusion: only to partners that got the subject before


def _fact(kind: str, key: str, payload: dict[str, Any], **extra: Any) -> Fact:
    return Fact(kind=kind, subject_key=key, payload=payload, digest=payload_digest(payload), **extra)


def product_facts() -> Iterator[Fact]:
    from ipledge.market.choices import ProductStatus
    from ipledge.market.models import Product

    products = (
        Product.objects.filter(status__in=[ProductStatus.LIVE, ProductStatus.WITHDRAWN], live_version__isnull=False)
        .select_related("bank", "live_version")
        .order_by("pk")
    )
    for product in products.iterator(chunk_size=CHUNK):
        version = product.live_version
        assert version is not None
        version.product = product  # already loaded with its bank
        yield _fact(
            MessageKind.PRODUCT,
            f"product:{product.pk}",
            product_payload(version),
            product_regions=tuple(version.region_codes or ()),
            only_if_known=product.status == ProductStatus.WITHDRAWN,
        )


def whitelist_facts() -> Iterator[Fact]:
    """Entries of approved whitelist versions whose enterprise has a live consent; nothing for the others."""
    from ipledge.screening.choices import VersionStatus
    from ipledge.screening.models import WhitelistEntry

    consenting = ShareConsent.objects.filter(enterprise_id=OuterRef("enterprise_id"), revoked_at__isnull=True)
    entries = (
        WhitelistEntry.objects.filter(version__status=VersionStatus.APPROVED)
        .filter(Exists(consenting))
        .select_related("enterprise", "version", "version__whitelist", "version__whitelist__park")
        .order_by("pk")
    )
    for entry in entries.iterator(chunk_size=CHUNK):
        whitelist = entry.version.whitelist
        yield _fact(
            MessageKind.WHITELIST_ENTRY,
            f"whitelist_entry:{whitelist.pk}:{entry.enterprise.uscc}",
            whitelist_entry_payload(entry),
            region_code=entry.enterprise.region_code,
            only_if_known=not entry.included,
        )


def registration_facts() -> Iterator[Fact]:
    from ipledge.registration.models import PledgedRight, PledgeRegistration

    registrations = (
        PledgeRegistration.objects.select_related("pledgor", "pledgee")
        .prefetch_related(Prefetch("pledged_rights", queryset=PledgedRight.objects.select_related("ip_right")))
        .order_by("pk")
    )
    for registration in registrations.iterator(chunk_size=CHUNK):
        yield _fact(
            MessageKind.REGISTRATION,
            f"registration:{registration.registration_no}",
            registration_payload(registration),
            region_code=registration.region_code,
        )


def _for_partner(partner: ExchangePartner, fact: Fact) -> bool:
    region = partner.region_code
    if not region:
        return True
    if fact.kind == MessageKind.PRODUCT:
        return not fact.product_regions or any(_regions_overlap(region, r) for r in fact.product_regions)
    return fact.region_code.startswith(region_prefix(region))


def _chunks(items: list[Any], size: int = CHUNK) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


def _queue(partner: ExchangePartner, kind: str, facts: list[Fact], *, now: datetime.datetime) -> tuple[int, int]:
    """Queue the partner's new or changed facts of one kind; answers (queued, superseded)."""
    known: dict[str, set[str]] = {}
    for key, digest in OutboundMessage.objects.filter(partner=partner, kind=kind).values_list(
        "subject_key", "payload_digest"
    ):
        known.setdefault(key, set()).add(digest)
    fresh = [
        f
        for f in facts
        if _for_partner(partner, f)
        and f.digest not in known.get(f.subject_key, ())
        and (not f.only_if_known or f.subject_key in known)
    ]
    if not fresh:
        return 0, 0
    superseded = 0
    changed = sorted({f.subject_key for f in fresh if f.subject_key in known})
    for chunk in _chunks(changed):
        deleted, _ = OutboundMessage.objects.filter(
            partner=partner, kind=kind, subject_key__in=chunk, status=OutboundStatus.PENDING, attempts=0
        ).delete()
        superseded += deleted
    rows = [
        OutboundMessage(
            partner=partner,
            kind=kind,
            subject_key=f.subject_key,
            payload=f.payload,
            payload_digest=f.digest,
            status=OutboundStatus.PENDING,
            next_attempt_at=now,
        )
        for f in fresh
    ]
    OutboundMessage.objects.bulk_create(rows, batch_size=CHUNK, ignore_conflicts=True)
    return len(rows), superseded


FLAGS = (
    (MessageKind.PRODUCT, "push_products", product_facts),
    (MessageKind.WHITELIST_ENTRY, "push_whitelist", whitelist_facts),
    (MessageKind.REGISTRATION, "push_registrations", registration_facts),
)


def enqueue_all(*, partner: ExchangePartner | None = None, now: datetime.datetime | None = None) -> dict[str, int]:
    """Queue every new or changed fact for every active partner (or the one given, active or not).

    Answers counts per message kind, plus `superseded` (older pending messages a newer fact replaced) and
    `partners`. Each fact's payload and digest is computed once, whatever the number of partners."""
    now = now or business_now()
    active = ExchangePartner.objects.filter(is_active=True).order_by("pk")
    partners = [partner] if partner is not None else list(active)
    counts: dict[str, int] = {str(kind): 0 for kind, _, _ in FLAGS}
    counts["superseded"] = 0
    counts["partners"] = len(partners)
    for kind, flag, source in FLAGS:
        receivers = [p for p in partners if getattr(p, flag)]
        if not receivers:
            continue
        facts = list(source())
        for receiver in receivers:
            with transaction.atomic():
                queued, superseded = _queue(receiver, str(kind), facts, now=now)
            counts[str(kind)] += queued
            counts["superseded"] += superseded
    return counts


def withdraw_unsent_whitelist(*, enterprise: Any) -> int:
    """Drop the enterprise's whitelist messages not yet delivered (after its consent was revoked); answers how many."""
    deleted, _ = (
        OutboundMessage.objects.filter(kind=MessageKind.WHITELIST_ENTRY, subject_key__endswith=f":{enterprise.uscc}")
        .exclude(status=OutboundStatus.DELIVERED)
        .delete()
    )
    return deleted
