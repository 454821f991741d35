"""Scorecards-area test states: credit records, loans and training populations written straight through the ORM,
so that feature and training tests state exactly the dates they are about.

- `add_record(w, enterprise, kind, listed_on, …)`: one matched (or not) credit record in an import batch of ipo_bj;
- `add_loan(w, enterprise, started, bad_on=…)`: a disbursed loan of bank1_sub, non-performing from `bad_on`
  (a classification change to substandard) when given;
- `training_population(w, n, seed)`: n enterprises in Beijing with loans started in 2024, whose outcome depends on
  their features (more invention patents and a clean tax record: fewer bads), enough for `scorecard_train`."""

from __future__ import annotations

import datetime
import random
from decimal import Decimal

from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.lending.choices import ClassificationSource, LoanClass, LoanStatus
from ipledge.lending.models import ClassificationChange, Loan
from ipledge.registry.choices import IPKind, PatentType, SizeClass
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner
from ipledge.screening.choices import FileFormat, ImportStatus, MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord
from tests.world import World

_counter = {"n": 0}


def _next() -> int:
    _counter["n"] += 1
    return _counter["n"]


def credit_batch(w: World, kind: str) -> CreditImport:
    return CreditImport.objects.create(
        organisation=w.orgs["ipo_bj"],
        kind=kind,
        file_name=f"{kind}.csv",
        file_format=FileFormat.CSV,
        sha256="0" * 64,
        status=ImportStatus.COMMITTED,
    )


def add_record(
    w: World,
    enterprise: Enterprise | None,
    kind: str,
    listed_on: datetime.date,
    *,
    removed_on: datetime.date | None = None,
    expires_on: datetime.date | None = None,
    tax_rating: str = "",
    rating_year: int | None = None,
    match_status: str = MatchStatus.USCC,
) -> CreditRecord:
    matched = match_status in (MatchStatus.USCC, MatchStatus.EXACT_NAME, MatchStatus.FUZZY, MatchStatus.CONFIRMED)
    return CreditRecord.objects.create(
        kind=kind,
        batch=credit_batch(w, kind),
        source_key=f"K{_next()}",
        subject_name=enterprise.name if enterprise else "某公司",
        subject_uscc=enterprise.uscc if enterprise else "",
        enterprise=enterprise if matched else None,
        match_status=match_status,
        region_code=enterprise.region_code if enterprise else "",
        listed_on=listed_on,
        removed_on=removed_on,
        expires_on=expires_on,
        tax_rating=tax_rating,
        rating_year=rating_year,
    )


def add_loan(
    w: World,
    enterprise: Enterprise,
    started: datetime.date,
    *,
    bad_on: datetime.date | None = None,
    status: int = LoanStatus.ACTIVE,
    classification: str = LoanClass.NORMAL,
) -> Loan:
    loan = Loan.objects.create(
        reference=f"T{_next():08d}",
        status=status,
        borrower=enterprise,
        bank=w.orgs["bank1_sub"],
        region_code=enterprise.region_code,
        requested_amount=Money("1000000"),
        requested_term_months=12,
        principal=Money("1000000"),
        term_months=12,
        first_disbursed_on=started,
        disbursed_amount=Money("1000000"),
        outstanding_principal=Money("1000000"),
        classification=classification,
    )
    if bad_on is not None:
        ClassificationChange.objects.create(
            loan=loan,
            business_day=bad_on,
            from_class=LoanClass.SPECIAL_MENTION,
            to_class=LoanClass.SUBSTANDARD,
            source=ClassificationSource.ENGINE,
            days_past_due=91,
        )
    return loan


def add_invention(
    enterprise: Enterprise, *, granted: datetime.date = datetime.date(2021, 6, 1), **data: object
) -> IPRight:
    serial = 5_000_000 + _next()
    right = IPRight.objects.create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2019, type_digit=1, serial=serial),
        title=f"一种测试方法{serial}",
        patent_type=PatentType.INVENTION,
        filing_date=datetime.date(2019, 1, 1),
        grant_date=granted,
        term_end=datetime.date(2039, 1, 1),
        **data,
    )
    IPRightOwner.objects.create(right=right, enterprise=enterprise, share=Decimal(100))
    return right


def training_population(w: World, n: int = 420, seed: int = 7) -> list[Loan]:
    """n Beijing enterprises with one loan each, started 2024-03-01; bad with a probability that falls with their
    invention patents and rises with a C or D tax rating listed before the loan."""
    rng = random.Random(seed)
    sizes = [SizeClass.SMALL, SizeClass.MEDIUM, SizeClass.MICRO]
    started = datetime.date(2024, 3, 1)
    enterprises = Enterprise.objects.bulk_create(
        [
            Enterprise(
                uscc=make_uscc(region_code="110108", serial=700_000 + i),
                name=f"训练样本企业{i}",
                region_code="110108",
                industry_section=rng.choice("CIMF"),
                established_on=datetime.date(2024 - rng.randint(1, 20), 1, 1),
                size_class=rng.choice(sizes),
                is_high_tech=rng.random() < 0.3,
            )
            for i in range(n)
        ]
    )
    batch = credit_batch(w, RecordKind.TAX_RATING)
    rights: list[IPRight] = []
    owners: list[tuple[int, int]] = []
    records: list[CreditRecord] = []
    loans: list[Loan] = []
    bads: list[bool] = []
    for i, enterprise in enumerate(enterprises):
        patents = rng.choice([0, 0, 1, 2, 4, 8])
        rating = rng.choices(["A", "B", "M", "C", "D"], weights=[3, 4, 1, 1, 1])[0]
        for _ in range(patents):
            serial = 6_000_000 + len(rights)
            rights.append(
                IPRight(
                    kind=IPKind.PATENT,
                    number=make_patent_number(year=2019, type_digit=1, serial=serial),
                    title=f"训练专利{serial}",
                    patent_type=PatentType.INVENTION,
                    grant_date=datetime.date(2021, 1, 1),
                    term_end=datetime.date(2039, 1, 1),
                )
            )
            owners.append((len(rights) - 1, i))
        records.append(
            CreditRecord(
                kind=RecordKind.TAX_RATING,
                batch=batch,
                source_key=f"TR{seed}-{i}",
                subject_name=enterprise.name,
                subject_uscc=enterprise.uscc,
                enterprise=enterprise,
                match_status=MatchStatus.USCC,
                region_code="110108",
                listed_on=datetime.date(2023, 4, 1),
                tax_rating=rating,
                rating_year=2022,
            )
        )
        risk = 0.45 if rating in ("C", "D") else 0.08
        risk *= 0.4 if patents >= 2 else 1.0
        bads.append(rng.random() < risk)
        loans.append(
            Loan(
                reference=f"TR{seed}-{i:05d}",
                status=LoanStatus.ACTIVE,
                borrower=enterprise,
                bank=w.orgs["bank1_sub"],
                region_code="110108",
                requested_amount=Money("1000000"),
                requested_term_months=12,
                principal=Money("1000000"),
                term_months=12,
                first_disbursed_on=started,
                disbursed_amount=Money("1000000"),
                outstanding_principal=Money("1000000"),
            )
        )
    created = IPRight.objects.bulk_create(rights)
    IPRightOwner.objects.bulk_create(
        [IPRightOwner(right=created[r], enterprise=enterprises[e], share=Decimal(100)) for r, e in owners]
    )
    CreditRecord.objects.bulk_create(records)
    loans = Loan.objects.bulk_create(loans)
    ClassificationChange.objects.bulk_create(
        [
            ClassificationChange(
                loan=loan,
                business_day=datetime.date(2024, 9, 1),
                from_class=LoanClass.SPECIAL_MENTION,
                to_class=LoanClass.SUBSTANDARD,
                source=ClassificationSource.ENGINE,
            )
            for loan, bad in zip(loans, bads, strict=True)
            if bad
        ]
    )
    return loans
