"""Demo pledge history (质押登记演示数据): filings, registrations and cancellations through the real services.

Every step goes through the same services as the UI and API (`filing_create`, `document_add`, `filing_confirm`,
`filing_decide`, `cancellation_file`), so each filing is examined by the engine and audited; only the business
date is moved back (`ipledge.core.context.as_of`) to spread the history over the two years before the registry's
seed date. Deterministic for a given seed.

Pledgors need an account to confirm their filings, so each pledging enterprise without one gets an enterprise
organisation and a user without a usable password (the handful of demo enterprise logins are unaffected).
"""

from __future__ import annotations

import datetime
import random
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone

from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import User
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner
from ipledge.registry.services import enterprise_update, ip_right_update

from .choices import CancellationReason, Channel, Decision, DocumentType
from .models import PledgeFiling
from .services import calendar as services_calendar
from .services import cancellation_file, document_add, filing_confirm, filing_create, filing_decide

SEED_AS_OF = datetime.date(2026, 1, 1)
RECENT_FILINGS = 15
DOCUMENT = b"%PDF-1.4\n% ipledge demo document\n"


@dataclass
class PledgeSeedReport:
    filings: int = 0
    registered: int = 0
    cancelled: int = 0
    refused: int = 0
    corrections: int = 0
    awaiting_pledgor: int = 0
    submitted: int = 0
    counts: dict[str, int] = field(default_factory=dict)


def _operators() -> dict[str, list[User]]:
    """Bank operators by province prefix of their organisation."""
    by_province: dict[str, list[User]] = defaultdict(list)
    for user in User.objects.filter(organisation__kind=OrganisationKind.BANK, role=Role.OPERATOR).select_related(
        "organisation__region"
    ):
        prefix = user.organisation.region.code[:2] if user.organisation and user.organisation.region else ""
        by_province[prefix].append(user)
    return by_province


def _examiners() -> dict[str, User]:
    """The provincial IP office's reviewer per province prefix."""
    found: dict[str, User] = {}
    for user in User.objects.filter(
        organisation__kind=OrganisationKind.IP_OFFICE, organisation__admin_level="provincial", role=Role.REVIEWER
    ).select_related("organisation__region"):
        if user.organisation and user.organisation.region:
            found.setdefault(user.organisation.region.code[:2], user)
    return found


def _pledgor_user(enterprise: Enterprise) -> User:
    if enterprise.organisation_id is None:
        org = organisation_create(
            name=enterprise.name,
            kind=OrganisationKind.ENTERPRISE,
            region=enterprise.registration_region,
            uscc=enterprise.uscc,
            acting_user=None,
        )
        enterprise_update(enterprise=enterprise, data={"organisation": org}, acting_user=None)
        return user_create(
            username=f"pledgor_{enterprise.pk}", organisation=org, role=Role.OPERATOR, password=None, acting_user=None
        )
    user = User.objects.filter(organisation_id=enterprise.organisation_id, role__in=[Role.OPERATOR, Role.ADMIN]).first()
    if user is None:
        assert enterprise.organisation is not None
        user = user_create(
            username=f"pledgor_{enterprise.pk}",
            organisation=enterprise.organisation,
            role=Role.OPERATOR,
            password=None,
            acting_user=None,
        )
    return user


def _pay_annual_fees(rights: list[IPRight], *, today: datetime.date) -> None:
    """The registry was seeded as of SEED_AS_OF; recent filers have paid this year's fee (to the next anniversary)."""
    for right in rights:
        if (
            right.annual_fee_paid_until is not None
            and right.annual_fee_paid_until >= today
            or right.filing_date is None
        ):
            continue
        anniversary = datetime.date(today.year + 1, right.filing_date.month, min(right.filing_date.day, 28))
        paid_until = min(anniversary - datetime.timedelta(days=1), right.term_end or anniversary)
        with transaction.atomic():
            ip_right_update(right=right, data={"annual_fee_paid_until": paid_until}, acting_user=None)


def _candidate_rights(as_of_day: datetime.date) -> dict[int, list[IPRight]]:
    """Valid, granted, solely owned patents with years of term left, grouped by owner enterprise."""
    solely_owned = (
        IPRight.objects.filter(
            kind="patent",
            legal_status="valid",
            grant_date__lte=as_of_day - datetime.timedelta(days=760),
            term_end__gte=as_of_day + datetime.timedelta(days=4 * 365),
            annual_fee_paid_until__gte=as_of_day,
        )
        .annotate(n_owners=Count("owners"))
        .filter(n_owners=1)
        .values("pk")
    )
    owners = IPRightOwner.objects.filter(right_id__in=solely_owned, enterprise__isnull=False).order_by("right_id")
    by_enterprise: dict[int, list[int]] = defaultdict(list)
    for right_id, enterprise_id in owners.values_list("right_id", "enterprise_id"):
        by_enterprise[enterprise_id].append(right_id)
    loaded = IPRight.objects.in_bulk([pk for pks in by_enterprise.values() for pk in pks])
    return {e: [loaded[pk] for pk in pks] for e, pks in by_enterprise.items()}


def seed_pledges(*, count: int, seed: int = 42, as_of_day: datetime.date = SEED_AS_OF) -> PledgeSeedReport:
    """Create `count` filings with realistic outcomes over the two years before `as_of_day`."""
    rng = random.Random(f"pledges-{seed}")
    calendar = services_calendar()
    report = PledgeSeedReport()
    operators = _operators()
    examiners = _examiners()
    all_operators = [u for users in operators.values() for u in users]
    candidates = _candidate_rights(as_of_day)
    enterprises = Enterprise.objects.in_bulk(list(candidates))
    # Each enterprise's candidate rights are cut into bundles (mostly single rights, some of two or three), so an
    # enterprise with many patents may pledge more than once.
    plans: list[tuple[Enterprise, list[IPRight]]] = []
    for enterprise_id in sorted(candidates):
        enterprise = enterprises[enterprise_id]
        if enterprise.region_code[:2] not in examiners:
            continue
        rights = list(candidates[enterprise_id])
        while rights:
            size = rng.choice([1, 1, 1, 1, 2, 3])
            plans.append((enterprise, rights[:size]))
            rights = rights[size:]
    rng.shuffle(plans)
    if not all_operators or not plans:
        return report
    today = timezone.localdate()
    for index, (enterprise, bundle) in enumerate(plans[:count]):
        province = enterprise.region_code[:2]
        # The last few filings are recent and left with the examiner, so the demo's workbench has a queue.
        recent = index >= count - RECENT_FILINGS
        if recent:
            day = min(today, calendar.next_working_day(today - datetime.timedelta(days=rng.randint(2, 8))))
            _pay_annual_fees(bundle, today=today)
        else:
            day = calendar.next_working_day(as_of_day - datetime.timedelta(days=rng.randint(5, 730)))
        operator = rng.choice(operators.get(province) or all_operators)
        assert operator.organisation is not None
        amount = Decimal(max(50, round(rng.lognormvariate(6.2, 0.8)))) * 10_000  # mostly ¥1–10 m
        with transaction.atomic(), as_of(day):
            pledgor_user = _pledgor_user(enterprise)
            filing = filing_create(
                pledgor=enterprise,
                pledgee=operator.organisation,
                items=[{"ip_right": r} for r in bundle],
                acting_user=operator,
                claim_amount=Money(amount),
                performance_start=day,
                performance_end=day + datetime.timedelta(days=365 * rng.choice([1, 1, 2, 3])),
                guarantee_scope="主债权本金、利息、罚息、违约金及实现质权的费用",
                contract_no=f"ZY{day:%Y%m%d}{rng.randint(1000, 9999)}",
                channel=Channel.ONLINE if rng.random() < 0.9 else Channel.WINDOW,
            )
            for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY):
                document_add(
                    filing=filing, doc_type=doc_type, filename=f"{doc_type}.pdf", content=DOCUMENT, acting_user=operator
                )
        report.filings += 1
        roll = rng.random()
        if roll < 0.06 and not recent:
            report.awaiting_pledgor += 1
            continue
        confirm_day = calendar.add_working_days(day, rng.choice([0, 0, 1]))
        if recent:
            confirm_day = min(confirm_day, today)
        with transaction.atomic(), as_of(confirm_day):
            filing_confirm(filing=filing, acting_user=pledgor_user)
        decide_day = calendar.add_working_days(confirm_day, rng.choice([0, 1, 1, 2, 3, 5]))
        if recent or decide_day > as_of_day:
            report.submitted += 1
            continue
        examiner = examiners[province]
        with transaction.atomic(), as_of(decide_day):
            if roll < 0.10:
                filing_decide(
                    filing=filing,
                    decision=Decision.REQUEST_CORRECTION,
                    acting_user=examiner,
                    note="请补充质押合同中被担保债权的履行期限约定。",
                )
                report.corrections += 1
                continue
            if roll < 0.13 or filing.findings.filter(severity="refuse").exists():
                filing_decide(
                    filing=filing, decision=Decision.REFUSE, acting_user=examiner, note="质押合同不符合登记要求。"
                )
                report.refused += 1
                continue
            filing_decide(filing=filing, decision=Decision.REGISTER, acting_user=examiner)
        report.registered += 1
        filing.refresh_from_db()
        registration = filing.created_registration
        assert registration.performance_end is not None
        if rng.random() < 0.25 and registration.performance_end < as_of_day:
            cancel_day = calendar.next_working_day(registration.performance_end)
            with transaction.atomic(), as_of(cancel_day):
                cancel = cancellation_file(
                    registration=registration, reason=CancellationReason.REPAID, acting_user=operator
                )
                filing_decide(filing=cancel, decision=Decision.REGISTER, acting_user=examiner)
            report.cancelled += 1
    report.counts = {"filings": PledgeFiling.objects.count()}
    return report
