"""Demo data: anomalies (异常线索). Plants one instance of each anomaly pattern the demo records do not already show,
then runs one scan that finds them.

The plants are direct changes to demo rows (a lapsed term, an inflated appraisal, a December rush …): the records
of a real deployment arrive through their apps' services, but an anomaly is by nature something those services would
not have let through. Every planted row is named in the seed log, and the inserted ones carry 【演示异常】 in a text
field. A rule already found in the demo data gets no plant, so running the seed again plants nothing new and the
scan only refreshes the findings.
"""

from __future__ import annotations

import datetime
import random
from collections.abc import Callable
from typing import Any

import polars as pl
from django.db import transaction

from .anomalies import load_frames, scan_run
from .engine import anomalies as engine

PLANT_LABEL = "【演示异常】"
PLANTED_VALUER = f"{PLANT_LABEL}浮夸资产评估事务所"


def _say(stdout: Any, text: str) -> None:
    if stdout is not None:
        stdout.write(f"  anomalies: {text}\n" if not hasattr(stdout, "style") else f"  anomalies: {text}")


def _pick(rng: random.Random, rows: list[Any]) -> Any:
    return rows[rng.randrange(len(rows))] if rows else None


def _live_loans() -> Any:
    from ipledge.lending.models import Loan

    return Loan.objects.filter(status__in=engine.LIVE_LOAN_STATUSES, first_disbursed_on__isnull=False).order_by("pk")


def _plant_term_overrun(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.registration.models import PledgedRight
    from ipledge.registry.models import IPRight

    candidates = list(
        PledgedRight.objects.filter(
            is_active=True,
            registration__status="active",
            registration__performance_end__gt=today + datetime.timedelta(days=90),
        ).select_related("registration", "ip_right")[:200]
    )
    pledged = _pick(rng, candidates)
    if pledged is None:
        return None
    end = pledged.registration.performance_end - datetime.timedelta(days=45)
    IPRight.objects.filter(pk=pledged.ip_right_id).update(term_end=end)
    return f"term_overrun: {pledged.ip_right.number} term_end → {end}"


def _plant_valuations(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.core.money import Money
    from ipledge.lending.models import LoanCollateral

    rows = list(
        LoanCollateral.objects.filter(appraised_value__isnull=False, ip_right__kind="patent")
        .exclude(valuer_name=PLANTED_VALUER)
        .order_by("pk")[:400]
    )
    if len(rows) < 10:
        return None
    values = sorted(r.appraised_value.fen for r in rows)
    median_fen = values[len(values) // 2]
    chosen = rng.sample(rows, 3)
    for row in chosen:
        # 80× the median: far past a modified z of 3.5 on the log scale whatever the peers' spread in the demo.
        LoanCollateral.objects.filter(pk=row.pk).update(
            appraised_value=Money.from_fen(median_fen * 80), valuer_name=PLANTED_VALUER
        )
    return f"valuation_outlier + outlier_valuer: 3 appraisals of loans {[r.loan_id for r in chosen]} at 80× the median"


def _plant_compensation(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.compensation.models import Claim
    from ipledge.registration.models import PledgeRegistration

    claim = _pick(rng, list(Claim.objects.filter(loan__pledge_registration__isnull=False).select_related("loan")))
    if claim is None:
        return None
    PledgeRegistration.objects.filter(pk=claim.loan.pledge_registration_id).update(
        registered_on=claim.npl_on + datetime.timedelta(days=3)
    )
    return f"compensation_abuse: claim {claim.reference}'s pledge registered 3 days after the loan became NPL"


def _plant_transfer(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.registration.models import PledgedRight
    from ipledge.registry.models import LicenceContract

    candidates = list(
        PledgedRight.objects.filter(
            is_active=True,
            registration__status="active",
            registration__registered_on__lt=today - datetime.timedelta(days=90),
        ).select_related("registration", "ip_right")[:200]
    )
    pledged = _pick(rng, candidates)
    if pledged is None:
        return None
    recorded = pledged.registration.registered_on + datetime.timedelta(days=60)
    LicenceContract.objects.get_or_create(
        record_no="DEMO-X-0001",
        defaults={
            "ip_right": pledged.ip_right,
            "licensee_name": f"{PLANT_LABEL}某被许可企业",
            "licence_kind": "exclusive",
            "start_on": recorded,
            "end_on": recorded + datetime.timedelta(days=3 * 365),
            "recorded_on": recorded,
            "royalty_terms": f"{PLANT_LABEL}质押期间未经质权人同意的独占许可",
            "pledgee_consent": False,
        },
    )
    return f"transfer_without_consent: exclusive licence DEMO-X-0001 on pledged {pledged.ip_right.number}"


def _plant_classification(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.lending.models import Loan

    loan = _pick(rng, list(_live_loans().filter(status=300)[:300]))
    if loan is None:
        return None
    Loan.objects.filter(pk=loan.pk).update(days_past_due=120, classification="normal")
    return f"classification_inconsistent: {loan.reference} 120 days past due, still normal"


def _plant_year_end(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.registration.models import PledgeRegistration

    year = today.year - 1
    regs = f.registrations.filter(pl.col("park_id").is_not_null() & (pl.col("registered_on").dt.year() == year))
    if regs.is_empty():
        return None
    by_park = regs.group_by("park_id").len().sort(["len", "park_id"], descending=[True, False])
    park_id, count = by_park.row(0)
    if count < engine.YEAR_END_MIN_REGISTRATIONS:
        return None
    funded = set(f.loans["pledge_registration_id"].drop_nulls().to_list())
    ids = regs.filter(pl.col("park_id") == park_id).sort("registration_id")["registration_id"].to_list()
    ids.sort(key=lambda pk: (pk in funded, pk))  # registrations without a loan first: no side effects on loans
    moved = ids[: max(1, int(count * 0.4))]
    PledgeRegistration.objects.filter(pk__in=moved).update(registered_on=datetime.date(year, 12, 28))
    return f"year_end_spike: {len(moved)} of park {park_id}'s {count} registrations of {year} moved to 28 December"


def _plant_round_numbers(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.core.money import Money
    from ipledge.registration.models import PledgeRegistration

    counts = f.registrations.group_by("pledgee_id").len().filter(pl.col("len") >= engine.ROUND_MIN_AMOUNTS)
    if counts.is_empty():
        return None
    bank_id = counts.sort(["len", "pledgee_id"])["pledgee_id"][0]
    rows = PledgeRegistration.objects.filter(pledgee_id=bank_id, claim_amount__isnull=False)
    for pk, amount in rows.values_list("pk", "claim_amount"):
        millions = max(1, round(amount.fen / engine.ROUND_UNIT_FEN))
        PledgeRegistration.objects.filter(pk=pk).update(claim_amount=Money.from_fen(millions * engine.ROUND_UNIT_FEN))
    return f"round_numbers: every registered amount of pledgee {bank_id} rounded to ¥1,000,000"


def _plant_contract_reuse(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.lending.models import Loan

    loans = list(_live_loans().exclude(contract_no="")[:300])
    if len(loans) < 2:
        return None
    first = _pick(rng, loans)
    second = _pick(rng, [loan for loan in loans if loan.borrower_id != first.borrower_id])
    if second is None:
        return None
    Loan.objects.filter(pk=second.pk).update(contract_no=first.contract_no)
    return f"contract_reuse: {second.reference} given {first.reference}'s contract number {first.contract_no}"


def _plant_shell(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.core.money import Money
    from ipledge.registry.models import Enterprise

    loan = _pick(rng, list(_live_loans().filter(principal__gte=Money.from_fen(engine.SHELL_LARGE_LOAN_FEN))[:300]))
    if loan is None:
        return None
    Enterprise.objects.filter(pk=loan.borrower_id).update(
        established_on=loan.first_disbursed_on - datetime.timedelta(days=150), employees=0
    )
    return f"shell_borrower: borrower of {loan.reference} founded 150 days before the loan, no staff"


def _plant_duplicate(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.lending.models import LoanCollateral

    loans = list(_live_loans()[:300])
    first = _pick(rng, loans)
    other = _pick(rng, [loan for loan in loans if first is not None and loan.bank_id != first.bank_id])
    collateral = first.collateral.first() if first is not None else None
    if other is None or collateral is None:
        return None
    LoanCollateral.objects.create(
        loan=other, ip_right=collateral.ip_right, appraised_value=collateral.appraised_value, valuer_name=PLANT_LABEL
    )
    return f"duplicate_pledge: {collateral.ip_right.number} also secures {other.reference}"


def _plant_zombie(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.registration.models import PledgedRight
    from ipledge.registry.models import IPRight

    pledged = _pick(rng, list(PledgedRight.objects.filter(is_active=True, registration__status="active")[:200]))
    if pledged is None:
        return None
    IPRight.objects.filter(pk=pledged.ip_right_id).update(legal_status="lapsed")
    return f"zombie_collateral: pledged right #{pledged.ip_right_id} lapsed"


def _plant_ltv(f: engine.ScanFrames, rng: random.Random, today: datetime.date) -> str | None:
    from ipledge.core.money import Money
    from ipledge.lending.models import Loan

    loan = _pick(
        rng, [loan for loan in _live_loans()[:300] if loan.collateral.filter(appraised_value__isnull=False).exists()]
    )
    if loan is None:
        return None
    appraised = sum(c.appraised_value.fen for c in loan.collateral.all() if c.appraised_value is not None)
    Loan.objects.filter(pk=loan.pk).update(principal=Money.from_fen(appraised * 12 // 10))
    return f"ltv_outlier: {loan.reference} principal raised to 120 % of its collateral"


PLANTS: dict[str, Callable[[engine.ScanFrames, random.Random, datetime.date], str | None]] = {
    "term_overrun": _plant_term_overrun,
    "valuation_outlier": _plant_valuations,
    "outlier_valuer": _plant_valuations,
    "compensation_abuse": _plant_compensation,
    "transfer_without_consent": _plant_transfer,
    "classification_inconsistent": _plant_classification,
    "year_end_spike": _plant_year_end,
    "round_numbers": _plant_round_numbers,
    "contract_reuse": _plant_contract_reuse,
    "shell_borrower": _plant_shell,
    "duplicate_pledge": _plant_duplicate,
    "zombie_collateral": _plant_zombie,
    "ltv_outlier": _plant_ltv,
}


UNPAID_LEFT = 3  # pledged rights left with lapsed fees, found by the scan as they would be in real data


def _next_anniversary(day: datetime.date, after: datetime.date) -> datetime.date:
    year = day.year
    while True:
        year += 1
        try:
            moved = day.replace(year=year)
        except ValueError:  # 29 February
            moved = day.replace(year=year, day=28)
        if moved >= after:
            return moved


def _pay_pledged_fees(rng: random.Random, today: datetime.date) -> int:
    """The registry seed dates its fee payments from its own fixed as-of day, so by the demo's today most pledged
    patents look unpaid beyond the grace period: hundreds of zombie-collateral findings that no pledgor would let
    happen while the registration monitor reminds them. The pledgors of live pledges pay up to the next anniversary,
    all but a few, which stay as natural findings."""
    from ipledge.registry.models import IPRight

    cutoff = today - datetime.timedelta(days=engine.FEE_GRACE_DAYS)
    rights = list(
        IPRight.objects.filter(
            pledges__is_active=True, pledges__registration__status="active", annual_fee_paid_until__lt=cutoff
        )
        .distinct()
        .order_by("pk")
    )
    rng.shuffle(rights)
    paying = rights[UNPAID_LEFT:]
    for right in paying:
        right.annual_fee_paid_until = _next_anniversary(right.annual_fee_paid_until, today)
    IPRight.objects.bulk_update(paying, ["annual_fee_paid_until"])
    return len(paying)


def seed_anomalies(*, rng: random.Random, today: datetime.date, stdout: Any = None) -> dict[str, int]:
    """Plant the patterns the demo lacks, then scan. Counts: planted patterns, findings raised by the scan."""
    planted = 0
    with transaction.atomic():
        paid = _pay_pledged_fees(rng, today)
        if paid:
            _say(stdout, f"{paid} pledged rights had their annual fees paid to the next anniversary")
        found = engine.run_rules(load_frames(), as_of=today)
        done: set[Callable[..., Any]] = set()
        for rule, plant in PLANTS.items():
            if found.get(rule) or plant in done:
                continue
            done.add(plant)
            note = plant(load_frames(), rng, today)
            if note:
                planted += 1
                _say(stdout, f"planted {note}")
            else:
                _say(stdout, f"no demo record fits a {rule} plant")
    scan = scan_run(as_of=today)
    new = sum(c.get("new", 0) for c in scan.counts.values())
    missing = [rule for rule, c in scan.counts.items() if not c.get("found")]
    if missing:
        _say(stdout, f"rules with no finding in the demo: {', '.join(missing)}")
    return {"anomaly patterns planted": planted, "anomaly findings": new}
