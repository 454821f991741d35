"""Demo valuations: comparables, valuations of the pledged rights through the real services, a few taken up and
signed off by the valuation agencies, a bundle, a bank's own pledge-rate policy and enterprise innovation scores.

Deterministic for a seed; run after `ipledge seed`, `seed_pledges` and `seed_loans` (`make demo` does).
"""

from __future__ import annotations

import datetime
import random
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import transaction

from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.context import as_of, business_date
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.registration.models import PledgedRight
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner
from ipledge.registry.services import ip_right_update

from . import engine_bridge as bridge
from . import services
from .choices import ComparableKind
from .models import ComparableTransaction, Valuation

COMPARABLES = 240
SIGNED_OFF = 12


@dataclass
class ValuationSeedReport:
    seconds: float = 0.0
    counts: dict[str, int] = field(default_factory=dict)


def _user(org: Organisation, role: str) -> User | None:
    return User.objects.filter(organisation=org, role=role, is_active=True).order_by("pk").first()


def _seed_comparables(rng: random.Random, recorder: User, *, today: datetime.date) -> int:
    """Completed transfers, licences and disposals with prices skewed like patent values (log-normal)."""
    rights = list(
        IPRight.objects.filter(kind=IPKind.PATENT, legal_status__in=[LegalStatus.VALID, LegalStatus.EXPIRED])
        .exclude(main_ipc="")
        .order_by("pk")
        .values_list("pk", "patent_type", "main_ipc")[:4000]
    )
    if not rights:
        return 0
    picks = rng.sample(rights, min(COMPARABLES, len(rights)))
    objs = []
    for right_id, patent_type, main_ipc in picks:
        invention = patent_type in ("invention", "pct_invention")
        median = 600_000 if invention else 150_000
        price = max(10_000, round(rng.lognormvariate(0, 0.9) * median, -3))
        objs.append(
            ComparableTransaction(  # type: ignore[misc]  # MoneyField takes Money
                ip_right_id=right_id,
                transaction_kind=rng.choices(
                    [ComparableKind.TRANSFER, ComparableKind.LICENCE, ComparableKind.DISPOSAL], [6, 3, 1]
                )[0],
                kind=IPKind.PATENT,
                patent_type=patent_type,
                ipc_section=main_ipc[:1],
                price=Money(Decimal(price)),
                score=Decimal(str(round(rng.uniform(25, 85), 2))),
                transacted_on=today - datetime.timedelta(days=rng.randint(30, 3 * 365)),
                source="演示数据：模拟的技术交易所成交记录",
                region_code=recorder.organisation.region.code if recorder.organisation.region_id else "",  # type: ignore[union-attr]
                recorded_by_org=recorder.organisation,
            )
        )
    with transaction.atomic():
        ComparableTransaction.objects.bulk_create(objs)
        record_event(
            acting_user=recorder,
            action="comparable.seed",
            object_type="valuation.comparabletransaction",
            extra={"count": len(objs)},
        )
    return len(objs)


def _pay_fees(rights: list[IPRight], *, today: datetime.date) -> None:
    """Pay each patent's annual fee to its next anniversary (never past its term), through the registry service."""
    for right in rights:
        right.refresh_from_db()
        if right.kind != IPKind.PATENT or right.filing_date is None:
            continue
        if right.annual_fee_paid_until is not None and right.annual_fee_paid_until >= today:
            continue
        anniversary = datetime.date(today.year + 1, right.filing_date.month, min(right.filing_date.day, 28))
        paid_until = min(anniversary - datetime.timedelta(days=1), right.term_end or anniversary)
        if paid_until < today:
            continue  # the term ends before a fee could be paid
        with transaction.atomic():
            ip_right_update(right=right, data={"annual_fee_paid_until": paid_until}, acting_user=None)


def seed_valuations(*, seed: int = 42, log: Callable[[str], None] | None = None) -> ValuationSeedReport:
    started = time.perf_counter()
    rng = random.Random(seed)
    report = ValuationSeedReport()
    today = business_date()
    say = log or (lambda _msg: None)

    exchange = Organisation.objects.filter(kind=OrganisationKind.DISPOSAL_PLATFORM).order_by("pk").first()
    recorder = _user(exchange, Role.OPERATOR) if exchange else None
    report.counts["comparables"] = _seed_comparables(rng, recorder, today=today) if recorder else 0
    say(f"comparables {report.counts['comparables']}")
    services.cohort_stats_refresh()

    banks = list(Organisation.objects.filter(kind=OrganisationKind.BANK, parent__isnull=True).order_by("pk"))
    if banks:
        admin = _user(banks[0], Role.ADMIN)
        if admin is not None:
            rules = bridge.policy_rules(bridge.default_policy())
            services.pledge_policy_set(
                bank=banks[0],
                name="本行知识产权质押率政策（2026 版）",
                rules=bridge.tighten_rules(rules),
                acting_user=admin,
            )
            report.counts["policies"] = 1

    # Rights of the pledgors valued by their pledgee banks' operators, as a credit officer would: the pledged
    # collateral (revalued for monitoring) and the other valid rights offered for a new loan. The holders pay this
    # year's annual fee first, as the banks' products require fees kept paid (a lapsed fee gates the value to 0).
    pledged = list(
        PledgedRight.objects.filter(is_active=True)
        .select_related("registration__pledgee", "registration__pledgor")
        .order_by("pk")[:60]
    )
    targets: list[tuple[IPRight, Organisation, Enterprise]] = [
        (p.ip_right, p.registration.pledgee, p.registration.pledgor) for p in pledged
    ]
    pledged_ids = set(PledgedRight.objects.filter(is_active=True).values_list("ip_right_id", flat=True))
    for item in pledged:
        others = (
            IPRight.objects.filter(owners__enterprise=item.registration.pledgor, legal_status=LegalStatus.VALID)
            .exclude(pk__in=pledged_ids)
            .order_by("pk")[:3]
        )
        targets.extend((right, item.registration.pledgee, item.registration.pledgor) for right in others)
    _pay_fees([t[0] for t in targets], today=today)
    agencies = list(Organisation.objects.filter(kind=OrganisationKind.VALUER).order_by("pk"))
    valued: list[Valuation] = []
    seen: set[int] = set()
    with as_of(today):
        for right, bank, pledgor in targets:
            operator = _user(bank, Role.OPERATOR)
            if operator is None or right.pk in seen:
                continue
            if not IPRight.objects.restrict(operator, "view").filter(pk=right.pk).exists():
                continue
            seen.add(right.pk)
            agency = rng.choice(agencies) if agencies and rng.random() < 0.3 else None
            right.refresh_from_db()
            valued.append(services.valuation_run(ip_right=right, acting_user=operator, agency=agency, holder=pledgor))
    report.counts["valuations"] = len(valued)
    say(f"valuations {len(valued)}")

    signed = 0
    for valuation in [v for v in valued if v.agency_id][:SIGNED_OFF]:
        agency = valuation.agency
        assert agency is not None
        maker, checker = _user(agency, Role.OPERATOR), _user(agency, Role.REVIEWER)
        if maker is None or checker is None:
            continue
        services.valuation_submit(
            valuation=valuation, acting_user=maker, note="已核对登记簿、年费与许可记录，同意机评结论。"
        )
        services.valuation_sign_off(valuation=valuation, acting_user=checker, approve=True, note="复核同意。")
        signed += 1
    report.counts["signed_off"] = signed

    # One bundle: an enterprise's patents and trademark, valued by the enterprise itself.
    bundles = 0
    for enterprise in Enterprise.objects.filter(organisation__isnull=False).order_by("pk")[:50]:
        owned = list(
            IPRight.objects.filter(
                owners__enterprise=enterprise,
                legal_status=LegalStatus.VALID,
                kind__in=[IPKind.PATENT, IPKind.TRADEMARK],
            ).order_by("kind", "pk")[:4]
        )
        kinds = {r.kind for r in owned}
        user = User.objects.filter(organisation_id=enterprise.organisation_id, role=Role.OPERATOR).first()
        if len(owned) >= 3 and kinds == {IPKind.PATENT, IPKind.TRADEMARK} and user is not None:
            _pay_fees(owned, today=today)
            bundle = services.bundle_create(
                name=f"{enterprise.name}核心专利与商标组合", enterprise=enterprise, rights=owned, acting_user=user
            )
            services.bundle_value(bundle=bundle, acting_user=user)
            bundles += 1
            break
    report.counts["bundles"] = bundles

    # Innovation scores of the pledgors, computed by their park administrations' view of them (IP office here).
    office = Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, admin_level="national").first()
    office_user = _user(office, Role.OPERATOR) or _user(office, Role.ADMIN) if office else None
    scored = 0
    if office_user is not None:
        pledgor_ids = (
            IPRightOwner.objects.filter(right_id__in=[v.ip_right_id for v in valued if v.ip_right_id])
            .values_list("enterprise_id", flat=True)
            .distinct()
        )
        for enterprise in Enterprise.objects.filter(pk__in=list(pledgor_ids)[:40]).order_by("pk"):
            services.innovation_score_compute(enterprise=enterprise, acting_user=office_user)
            scored += 1
    report.counts["innovation_scores"] = scored
    report.seconds = time.perf_counter() - started
    return report
