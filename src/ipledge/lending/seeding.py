"""Synthetic loans (贷款演示数据) for the demo and for the national benchmark (`ipledge seed_loans`).

Scales (``LOAN_SCALES``): ``tiny`` (tests), ``demo`` (a loan for most pledge registrations of `ipledge
seed_pledges`, plus loans dated before and after the pledge history), ``province`` (30,000 loans) and ``national``
(300,000 loans, about 3 million repayments). When the registry is empty it is seeded first with
`ipledge.registry.seeding.seed_database` at a reduced size (``province``: 20,000 enterprises, ``national``: 200,000
enterprises with 400,000 IP rights, 400 parks and 200 bank trees) rather than the 5-million-right registry seed.

What a seeded loan looks like
-----------------------------
* Borrower, bank and park: for a pledge registration, the pledgor, the pledgee (a bank office) and the pledgor's
  park; otherwise an enterprise that owns an IP right and a bank office of its province. Principal ≈ the
  registration's claim amount (or log-normal, mostly ¥1–10 m), terms 6–36 months, monthly or quarterly, equal
  instalments, equal principal, interest-only with bullet (most IP-pledge loans) or a custom two-step plan; fixed
  rates or 1-year LPR plus a spread, repriced yearly from the real `LprQuote` history.
* Schedules come from `engine.schedule.build_schedules`; each instalment due on or before the loan's "paid until"
  date is paid by one repayment on its due date (some a few days late, with penalty interest at rate × 1.5 for the
  days late), so instalment paid columns, repayment parts and the ``allocation`` JSON agree by construction.
* Behaviour: most loans perform (and close at maturity); about one in ten still running stops paying at a date
  chosen so that the close of business finds it 关注, 次级 or 可疑 by days past due; ~1.5% are defaulted (已违约,
  credit-impaired); an eighth of matured bullet loans are renewed (续贷): repay-then-renew, or 无还本续贷 where a
  ``renewal_rollover`` transaction on the old loan settles its principal and the new loan is disbursed the same day;
  ~4% of the loans without a registration are applications still in the pipeline, or declined or withdrawn.
  Loans of registrations cancelled as repaid always perform and mature before the cancellation.
* Classification history: `ClassificationChange` rows at the day each days-past-due threshold was crossed
  (> 7, > 90, > 270, > 360 days), and the loan's class, days past due and "since" date as of ``LOAN_SEED_AS_OF``.
  `ipledge close_of_business` run afterwards reclassifies with the full rule engine.
* Collateral (the registration's pledged rights, or one right of the borrower) with appraised values (pledge rate
  25–60%), yearly implementation reports (实施情况, T3) for patents, guarantees / insurance / risk-compensation
  covers on about a quarter of the loans, investment links (投贷联动) on a few, an annual credit plan
  (单列信贷计划) per bank office and year close to what it lent, and bank-wide NPL reports per office and year end.

How rows are written, and why
-----------------------------
Per-row services would take hours at national scale, so rows are generated as column frames (Python for the
per-loan draw, Polars for everything per instalment and per transaction) and inserted directly: PostgreSQL ``COPY``
through psycopg 3, elsewhere ``executemany`` in batches. Ids are assigned here (after the current maximum) and the
PostgreSQL sequences are moved past them. From ``BULK_LOAD_LOANS`` loans on PostgreSQL, the tables' foreign keys and
plain indexes are dropped for the load and re-created (so validated) before the same transaction commits, and the
tables are analysed afterwards. Every check constraint of the models is enforced by the database on
these inserts; the invariants the constraints cannot express (outstanding = disbursed − principal repaid,
repayment parts = allocation lines = instalment paid columns) hold by construction and are checked by
``tests/lending/test_loan_seed.py``. One ``AuditEvent`` (``seed.loans``) records each run with its counts, scale and
seed; loan history rows (simple-history) are written at the tiny and demo scales only. Loans are generated in
chunks of ``CHUNK`` so memory stays flat; the same seed, scale and data give the same loans.
"""

from __future__ import annotations

import bisect
import datetime
import io
import json
import random
import time
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

import polars as pl
from django.db import connection, models, transaction
from django.utils import timezone

from ipledge.core.audit import record_event
from ipledge.core.choices import OrganisationKind, Role
from ipledge.core.models import Organisation, User
from ipledge.registration.choices import RegistrationStatus
from ipledge.registration.models import PledgedRight, PledgeRegistration
from ipledge.registration.monitoring import add_months
from ipledge.registry.models import Enterprise, IPRightOwner, ParkMembership

from .choices import (
    ClassificationSource,
    CoverKind,
    DueDiligenceItem,
    ImplementationStatus,
    InvestmentTermKind,
    LoanClass,
    LoanOrigin,
    LoanStatus,
    LprTenor,
    RateType,
    RenewalKind,
    RepaymentMethod,
    TransactionKind,
)
from .engine.schedule import ScheduleTerms, build_schedules
from .models import (
    BankNplReport,
    ClassificationChange,
    CreditPlan,
    ImplementationReport,
    Instalment,
    InvestmentLink,
    Loan,
    LoanCollateral,
    LoanCover,
    LoanTransaction,
    LprQuote,
)

__all__ = ["LOAN_SCALES", "LOAN_SEED_AS_OF", "LoanScale", "LoanSeedReport", "seed_loans"]

# Fixed, so that the same seed gives the same loans whatever the calendar says; close to the demo's "today".
LOAN_SEED_AS_OF = datetime.date(2026, 11, 20)
FIRST_DISBURSEMENT = datetime.date(2023, 1, 3)
LAST_DISBURSEMENT = datetime.date(2026, 10, 30)
CHUNK = 50_000
BULK_LOAD_LOANS = 10_000  # from this many loans, PostgreSQL foreign keys are re-validated once after the load

# Days-past-due thresholds of the 2023 rules (金融资产风险分类办法): crossing one moves the loan down a class.
DPD_STEPS: tuple[tuple[int, str, str], ...] = (
    (8, LoanClass.SPECIAL_MENTION, "dpd_gt_7"),
    (91, LoanClass.SUBSTANDARD, "dpd_gt_90"),
    (271, LoanClass.DOUBTFUL, "dpd_gt_270"),
    (361, LoanClass.LOSS, "dpd_gt_360"),
)
NPL_REPORT_DAYS = (
    datetime.date(2023, 12, 31),
    datetime.date(2024, 12, 31),
    datetime.date(2025, 12, 31),
    datetime.date(2026, 9, 30),
)
PLAN_YEARS = (2023, 2024, 2025, 2026)


@dataclass(frozen=True)
class LoanScale:
    name: str
    loans: int  # loans in all (demo: at least one per chosen registration, plus extras up to this number)
    registry_scale: str  # registry scale seeded first when there are no enterprises
    registry_overrides: tuple[tuple[str, int], ...] = ()
    history: bool = False  # simple-history rows for the loans


LOAN_SCALES: dict[str, LoanScale] = {
    "tiny": LoanScale("tiny", 150, "tiny", history=True),
    "demo": LoanScale("demo", 720, "demo", history=True),
    "province": LoanScale("province", 30_000, "province", (("enterprises", 20_000), ("ip_rights", 60_000))),
    "national": LoanScale("national", 300_000, "national", (("enterprises", 200_000), ("ip_rights", 400_000))),
}


@dataclass
class LoanSeedReport:
    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    registry_seconds: float = 0.0


# ---------------------------------------------------------------------------
# What the seed draws from: banks, borrowers, rights, providers, LPR
# ---------------------------------------------------------------------------


@dataclass(frozen=True)
class _Bank:
    id: int
    root_id: int
    province: str
    operator_id: int | None
    reviewer_id: int | None


@dataclass
class _Registration:
    id: int
    pledgor_id: int
    pledgee_id: int
    registered_on: datetime.date
    claim_fen: int | None
    performance_end: datetime.date | None
    cancelled_on: datetime.date | None
    rights: list[tuple[int, str]]  # (ip right id, kind)


class _Context:
    """Everything read once from the database before drawing."""

    def __init__(self, *, as_of: datetime.date) -> None:
        self.as_of = as_of
        users: dict[tuple[int, str], int] = {}
        for org_id, role, user_id in (
            User.objects.filter(organisation__kind=OrganisationKind.BANK, role__in=[Role.OPERATOR, Role.REVIEWER])
            .order_by("id")
            .values_list("organisation_id", "role", "id")
        ):
            users.setdefault((org_id, role), user_id)
        self.banks: dict[int, _Bank] = {}
        self.banks_by_province: dict[str, list[_Bank]] = defaultdict(list)
        for org_id, tree_path, code in (
            Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True)
            .order_by("id")
            .values_list("id", "tree_path", "region__code")
        ):
            bank = _Bank(
                id=org_id,
                root_id=int(tree_path.strip("/").split("/")[0]) if tree_path else org_id,
                province=(code or "")[:2],
                operator_id=users.get((org_id, Role.OPERATOR)),
                reviewer_id=users.get((org_id, Role.REVIEWER)),
            )
            self.banks[org_id] = bank
            self.banks_by_province[bank.province].append(bank)
        self.all_banks = list(self.banks.values())
        self.providers: dict[tuple[str, str], list[tuple[int, str]]] = defaultdict(list)
        self.valuers: dict[str, list[str]] = defaultdict(list)
        for org_id, kind, name, code in (
            Organisation.objects.filter(
                kind__in=[
                    OrganisationKind.GUARANTOR,
                    OrganisationKind.INSURER,
                    OrganisationKind.FUND_MANAGER,
                    OrganisationKind.VALUER,
                ]
            )
            .order_by("id")
            .values_list("id", "kind", "name", "region__code")
        ):
            province = (code or "")[:2]
            if kind == OrganisationKind.VALUER:
                self.valuers[province].append(name)
            else:
                self.providers[(kind, province)].append((org_id, name))
        self.region: dict[int, str] = dict(Enterprise.objects.values_list("id", "region_code"))
        self.park: dict[int, int] = {}
        for enterprise_id, park_id in ParkMembership.objects.order_by("id").values_list("enterprise_id", "park_id"):
            self.park.setdefault(enterprise_id, park_id)
        # One right per owning enterprise (a patent when it has one) for loans without a pledge registration.
        self.right: dict[int, tuple[int, str]] = {}
        for enterprise_id, right_id, kind in (
            IPRightOwner.objects.filter(enterprise__isnull=False)
            .order_by("right_id")
            .values_list("enterprise_id", "right_id", "right__kind")
        ):
            known = self.right.get(enterprise_id)
            if known is None or (known[1] != "patent" and kind == "patent"):
                self.right[enterprise_id] = (right_id, kind)
        self.borrowers = sorted(e for e in self.right if e in self.region)
        self.lpr: dict[str, tuple[list[datetime.date], list[Decimal]]] = {}
        for tenor in LprTenor.values:
            quotes = list(
                LprQuote.objects.filter(tenor=tenor).order_by("effective_on").values_list("effective_on", "rate")
            )
            self.lpr[tenor] = ([d for d, _r in quotes], [Decimal(r) for _d, r in quotes])

    def lpr_on(self, day: datetime.date, tenor: str = LprTenor.ONE_YEAR) -> Decimal:
        days, rates = self.lpr[tenor]
        if not days:
            return Decimal("0.0345")
        return rates[max(0, bisect.bisect_right(days, day) - 1)]

    def registrations(self) -> list[_Registration]:
        rights: dict[int, list[tuple[int, str]]] = defaultdict(list)
        for registration_id, right_id, kind in PledgedRight.objects.order_by("id").values_list(
            "registration_id", "ip_right_id", "ip_right__kind"
        ):
            rights[registration_id].append((right_id, kind))
        found = []
        for row in PledgeRegistration.objects.order_by("id").values(
            "id",
            "pledgor_id",
            "pledgee_id",
            "registered_on",
            "claim_amount",
            "performance_end",
            "status",
            "cancelled_on",
        ):
            if row["pledgee_id"] not in self.banks or row["registered_on"] >= self.as_of:
                continue
            claim = row["claim_amount"]
            found.append(
                _Registration(
                    id=row["id"],
                    pledgor_id=row["pledgor_id"],
                    pledgee_id=row["pledgee_id"],
                    registered_on=row["registered_on"],
                    claim_fen=claim.fen if claim is not None else None,
                    performance_end=row["performance_end"],
                    cancelled_on=row["cancelled_on"] if row["status"] == RegistrationStatus.CANCELLED else None,
                    rights=rights.get(row["id"], []),
                )
            )
        return found


# ---------------------------------------------------------------------------
# Drawing loans (one Python object per loan; everything per instalment is done in Polars)
# ---------------------------------------------------------------------------

PERFORMING, LATE, DEFAULTED, PIPELINE = "performing", "late", "defaulted", "pipeline"
PIPELINE_STATES = (
    (LoanStatus.SUBMITTED, 3),
    (LoanStatus.DUE_DILIGENCE, 3),
    (LoanStatus.PENDING_APPROVAL, 2),
    (LoanStatus.APPROVED, 1),
    (LoanStatus.CONTRACTED, 1),
    (LoanStatus.REJECTED, 1),
    (LoanStatus.WITHDRAWN, 1),
)
PURPOSES = ("研发投入", "购置生产设备", "补充流动资金", "技术改造", "专利产业化", "扩大产能", "新产品试制")
COVER_PROVIDERS: dict[str, str] = {
    CoverKind.GUARANTEE: OrganisationKind.GUARANTOR,
    CoverKind.INSURANCE: OrganisationKind.INSURER,
    CoverKind.RISK_COMPENSATION: OrganisationKind.FUND_MANAGER,
}
INVESTORS = ("科创天使投资基金", "产业投资基金", "创业投资有限公司", "科技成果转化基金")


@dataclass
class _Draft:
    id: int
    borrower_id: int
    bank: _Bank
    start: datetime.date  # application date for pipeline loans, first disbursement otherwise
    principal_fen: int
    term_months: int
    behaviour: str = PERFORMING
    registration_id: int | None = None
    rights: list[tuple[int, str]] = field(default_factory=list)
    method: str = RepaymentMethod.INTEREST_ONLY_BULLET
    interval: int = 1
    grace_months: int = 0
    rate_type: str = RateType.FIXED
    rate: Decimal = Decimal("0.04")
    spread_bp: int | None = None
    resets: tuple[tuple[datetime.date, Decimal], ...] = ()
    custom: tuple[tuple[datetime.date, int], ...] = ()
    maturity: datetime.date = LOAN_SEED_AS_OF
    paid_until: datetime.date = LOAN_SEED_AS_OF
    late_payer: bool = False
    status: int = LoanStatus.ACTIVE  # for pipeline loans
    origin: str = LoanOrigin.DIRECT
    renewal_of_id: int | None = None
    renewal_kind: str = ""
    renewed_by: str = ""  # RenewalKind of the loan that replaces this one at maturity
    ltv: float = 0.4
    purpose: str = ""


class _Drawer:
    def __init__(self, ctx: _Context, *, seed: int, first_id: int) -> None:
        self.ctx = ctx
        self.rng = random.Random(f"loans-{seed}")
        self.next_id = first_id
        self.around_registrations = False

    def _take_id(self) -> int:
        self.next_id += 1
        return self.next_id - 1

    def _bank_for(self, borrower_id: int) -> _Bank:
        near = self.ctx.banks_by_province.get(self.ctx.region.get(borrower_id, "")[:2])
        return self.rng.choice(near or self.ctx.all_banks)

    def _start_day(self) -> datetime.date:
        span = (LAST_DISBURSEMENT - FIRST_DISBURSEMENT).days
        if self.around_registrations and self.rng.random() < 0.85:
            # The demo's pledge history covers 2024–2025: loans without a registration fill 2023 and 2026.
            if self.rng.random() < 0.5:
                return FIRST_DISBURSEMENT + datetime.timedelta(days=self.rng.randrange(360))
            return datetime.date(2026, 1, 5) + datetime.timedelta(
                days=self.rng.randrange((LAST_DISBURSEMENT - datetime.date(2026, 1, 5)).days)
            )
        # More lending in later years (the programme grows), uniform within the window otherwise.
        return FIRST_DISBURSEMENT + datetime.timedelta(days=int(span * self.rng.random() ** 0.8))

    def _amount_fen(self) -> int:
        wan = min(5000, max(50, round(self.rng.lognormvariate(6.0, 0.8), -1)))  # mostly ¥1–10 m
        return int(wan) * 10_000 * 100

    def registration_loan(self, reg: _Registration) -> _Draft:
        rng = self.rng
        start = min(reg.registered_on + datetime.timedelta(days=rng.randint(1, 12)), self.ctx.as_of)
        months = 12
        if reg.performance_end is not None:
            months = round((reg.performance_end - reg.registered_on).days / 30.44)
        term = min((6, 12, 18, 24, 36), key=lambda m: abs(m - months))
        if reg.cancelled_on is not None:  # cancelled as repaid: the loan matured by then
            start = min(start, add_months(reg.cancelled_on, -term) - datetime.timedelta(days=rng.randint(0, 3)))
        claim = reg.claim_fen or self._amount_fen()
        principal = max(1_000_000, claim // 1_000_000 * 1_000_000)  # whole ¥10,000 within the claim
        draft = _Draft(
            id=self._take_id(),
            borrower_id=reg.pledgor_id,
            bank=self.ctx.banks[reg.pledgee_id],
            start=start,
            principal_fen=principal,
            term_months=term,
            registration_id=reg.id,
            rights=reg.rights,
        )
        cancelled = reg.cancelled_on is not None
        self._terms(draft, forced_performing=cancelled, renewable=not cancelled)
        return draft

    def free_loan(self) -> _Draft | None:
        if not self.ctx.borrowers:
            return None
        rng = self.rng
        borrower = rng.choice(self.ctx.borrowers)
        draft = _Draft(
            id=self._take_id(),
            borrower_id=borrower,
            bank=self._bank_for(borrower),
            start=self._start_day(),
            principal_fen=self._amount_fen(),
            term_months=rng.choices((6, 12, 18, 24, 36), weights=(10, 45, 10, 25, 10))[0],
            rights=[self.ctx.right[borrower]],
            origin=LoanOrigin.DEMAND if rng.random() < 0.3 else LoanOrigin.DIRECT,
        )
        if rng.random() < 0.04:
            draft.behaviour = PIPELINE
            draft.start = self.ctx.as_of - datetime.timedelta(days=rng.randint(1, 60))
            draft.status = rng.choices([s for s, _w in PIPELINE_STATES], weights=[w for _s, w in PIPELINE_STATES])[0]
            draft.purpose = rng.choice(PURPOSES)
            return draft
        self._terms(draft, forced_performing=False)
        return draft

    def renewal(self, old: _Draft) -> _Draft:
        rng = self.rng
        kind = old.renewed_by
        start = old.maturity if kind == RenewalKind.NO_PRINCIPAL_REPAYMENT else old.maturity + datetime.timedelta(1)
        draft = _Draft(
            id=self._take_id(),
            borrower_id=old.borrower_id,
            bank=old.bank,
            start=start,
            principal_fen=old.principal_fen,
            term_months=12,
            registration_id=old.registration_id,
            rights=old.rights,
            origin=LoanOrigin.RENEWAL,
            renewal_of_id=old.id,
            renewal_kind=kind,
        )
        self._terms(draft, forced_performing=rng.random() < 0.8, method=RepaymentMethod.INTEREST_ONLY_BULLET)
        return draft

    def _terms(self, d: _Draft, *, forced_performing: bool, method: str | None = None, renewable: bool = True) -> None:
        rng, ctx = self.rng, self.ctx
        d.purpose = rng.choice(PURPOSES)
        d.method = (
            method
            or rng.choices(
                (
                    RepaymentMethod.INTEREST_ONLY_BULLET,
                    RepaymentMethod.EQUAL_INSTALMENT,
                    RepaymentMethod.EQUAL_PRINCIPAL,
                    RepaymentMethod.CUSTOM,
                ),
                weights=(45, 30, 20, 5),
            )[0]
        )
        d.interval = 3 if rng.random() < 0.15 else 1
        d.maturity = add_months(d.start, d.term_months)
        if d.method in (RepaymentMethod.EQUAL_INSTALMENT, RepaymentMethod.EQUAL_PRINCIPAL) and rng.random() < 0.1:
            d.grace_months = 3
        if d.method == RepaymentMethod.CUSTOM:
            first = d.principal_fen * 3 // 10 // 100 * 100
            d.custom = ((add_months(d.start, d.term_months // 2), first), (d.maturity, d.principal_fen - first))
        lpr = ctx.lpr_on(d.start)
        spread = rng.choice((-20, -10, 0, 15, 30, 45, 60, 80, 100, 130, 160))
        if rng.random() < 0.45:
            d.rate_type, d.spread_bp = RateType.LPR, spread
            resets = []
            for year in range(1, d.term_months // 12 + 1):
                day = add_months(d.start, 12 * year)
                if day < d.maturity:
                    resets.append((day, ctx.lpr_on(min(day, ctx.as_of)) + Decimal(spread) / 10_000))
            d.resets = tuple(resets)
        d.rate = lpr + Decimal(spread) / 10_000
        d.ltv = rng.uniform(0.25, 0.6)
        d.late_payer = rng.random() < 0.15 and not forced_performing
        d.paid_until = ctx.as_of
        roll = rng.random()
        if not forced_performing and roll < 0.11:
            # Stops paying on a day chosen for the class the close of business should find: 关注, 次级 or 可疑.
            band = rng.random()
            dpd = rng.randint(12, 85) if band < 0.5 else rng.randint(95, 260) if band < 0.8 else rng.randint(280, 355)
            stop = ctx.as_of - datetime.timedelta(days=dpd + 1)
            if d.start <= stop < d.maturity:
                d.behaviour, d.paid_until = LATE, stop
        elif not forced_performing and roll < 0.125:
            stop = ctx.as_of - datetime.timedelta(days=rng.randint(200, 480))
            if d.start <= stop < d.maturity:
                d.behaviour, d.paid_until = DEFAULTED, stop
        elif renewable and d.method == RepaymentMethod.INTEREST_ONLY_BULLET and d.maturity < ctx.as_of and roll < 0.25:
            d.renewed_by = rng.choice((RenewalKind.REPAY_THEN_RENEW, RenewalKind.NO_PRINCIPAL_REPAYMENT))
            d.late_payer = False  # settled on the maturity date, when the renewal takes over

    def schedule_terms(self, d: _Draft) -> ScheduleTerms:
        return ScheduleTerms(
            principal_fen=d.principal_fen,
            start=d.start,
            maturity=d.maturity,
            interval_months=d.interval,
            method=d.method,
            annual_rate=d.rate,
            grace_until=add_months(d.start, d.grace_months) if d.grace_months else None,
            rate_resets=d.resets,
            custom_principal=d.custom,
        )


# ---------------------------------------------------------------------------
# Writing frames: COPY on PostgreSQL, executemany elsewhere
# ---------------------------------------------------------------------------


def _polars_type(f: models.Field) -> Any:
    internal = f.get_internal_type()
    if isinstance(f, models.BooleanField):
        return pl.Boolean
    if internal in ("DateField",):
        return pl.Date
    if isinstance(f, models.ForeignKey) or internal in (
        "AutoField",
        "BigAutoField",
        "BigIntegerField",
        "IntegerField",
        "PositiveIntegerField",
        "PositiveSmallIntegerField",
        "SmallIntegerField",
    ):
        return pl.Int64
    return pl.String  # text, JSON, decimals (as exact strings) and datetimes (pre-formatted)


class _Writer:
    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.now = self.timestamp(timezone.now())
        self.counts: dict[str, int] = defaultdict(int)
        self.suspended: list[tuple[str, str, str]] = []  # foreign keys dropped for a bulk load (PostgreSQL)
        self.suspended_indexes: list[tuple[str, str]] = []  # and plain indexes

    def timestamp(self, moment: datetime.datetime) -> str:
        utc = moment.astimezone(datetime.UTC)
        return utc.strftime("%Y-%m-%d %H:%M:%S") + ("+00" if self.postgres else "")

    def next_id(self, model: type[models.Model]) -> int:
        with connection.cursor() as cursor:
            cursor.execute(f"SELECT MAX(id) FROM {connection.ops.quote_name(model._meta.db_table)}")
            row = cursor.fetchone()
        return (row[0] or 0) + 1 if row else 1

    def _complete(self, model: type[models.Model], frame: pl.DataFrame) -> tuple[list[str], pl.DataFrame]:
        """The frame with every concrete column, defaults filled in, typed as the writer expects."""
        columns: list[str] = []
        exprs: list[pl.Expr] = []
        for f in model._meta.concrete_fields:
            column = f.column
            columns.append(column)
            dtype = _polars_type(f)
            value = self._default(model, f, dtype)
            if column not in frame.columns:
                exprs.append(pl.lit(value, dtype=dtype).alias(column))
            elif f.null or value is None:
                exprs.append(pl.col(column).cast(dtype))
            else:  # rows that leave a NOT NULL column out (e.g. pipeline loans) get the model default
                exprs.append(pl.col(column).cast(dtype).fill_null(pl.lit(value, dtype=dtype)))
        return columns, frame.select(exprs)

    def _default(self, model: type[models.Model], f: models.Field, dtype: Any) -> Any:
        if getattr(f, "auto_now", False) or getattr(f, "auto_now_add", False):
            return self.now
        if not f.has_default():  # blank text is "", as Django stores it; other columns must come with the frame
            return "" if f.empty_strings_allowed and not f.null and dtype == pl.String else None
        value = f.get_default()
        if isinstance(f, models.JSONField):
            return json.dumps(value)
        if value is not None and dtype == pl.Int64:
            return int(f.get_prep_value(value))
        if value is not None and dtype == pl.String:
            return str(value)
        return value

    def insert(self, model: type[models.Model], frame: pl.DataFrame, *, label: str | None = None) -> None:
        if frame.height == 0:
            return
        columns, frame = self._complete(model, frame)
        table = connection.ops.quote_name(model._meta.db_table)
        names = ", ".join(connection.ops.quote_name(c) for c in columns)
        with connection.cursor() as cursor:
            if self.postgres:
                sql = f"COPY {table} ({names}) FROM STDIN (FORMAT csv, NULL '\\N')"
                raw = cursor.cursor  # the psycopg 3 cursor under Django's wrapper
                for start in range(0, frame.height, 200_000):
                    buffer = io.BytesIO()
                    frame.slice(start, 200_000).write_csv(buffer, include_header=False, null_value="\\N")
                    with raw.copy(sql) as copy:
                        copy.write(buffer.getvalue())
            else:
                sql = f"INSERT INTO {table} ({names}) VALUES ({', '.join(['%s'] * len(columns))})"
                for start in range(0, frame.height, 20_000):
                    rows = frame.slice(start, 20_000).with_columns(pl.col(pl.Date).cast(pl.String)).rows()
                    cursor.executemany(sql, rows)
        self.counts[label or model._meta.model_name or ""] += frame.height

    def suspend_foreign_keys(self, models_written: Iterable[type[models.Model]]) -> None:
        """PostgreSQL bulk load: drop the tables' foreign keys and plain indexes now, re-create them in `finish`.

        Django's foreign keys are DEFERRABLE INITIALLY DEFERRED, so every copied row queues a per-row check that runs
        at commit (millions of index probes with row locks); re-adding a key validates all rows in one join instead,
        and building an index once is cheaper than maintaining it row by row (PostgreSQL manual, "Populating a
        Database"). Primary keys and unique constraints stay. All of it is one transaction: a failure restores them.
        """
        if not self.postgres:
            return
        tables = [m._meta.db_table for m in models_written]
        quote = connection.ops.quote_name
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT conrelid::regclass::text, conname, pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE contype = 'f' AND conrelid::regclass::text = ANY(%s) ORDER BY 1, 2",
                [tables],
            )
            self.suspended = cursor.fetchall()
            for table, name, _definition in self.suspended:
                cursor.execute(f"ALTER TABLE {quote(table)} DROP CONSTRAINT {quote(name)}")
            cursor.execute(
                "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema() "
                "AND tablename = ANY(%s) AND indexname NOT IN (SELECT conname FROM pg_constraint) ORDER BY 1",
                [tables],
            )
            self.suspended_indexes = cursor.fetchall()
            for name, _definition in self.suspended_indexes:
                cursor.execute(f"DROP INDEX {quote(name)}")

    def finish(self, models_written: Iterable[type[models.Model]]) -> None:
        if not self.postgres:
            return  # SQLite's AUTOINCREMENT follows explicit ids by itself
        with connection.cursor() as cursor:
            for _name, definition in self.suspended_indexes:
                cursor.execute(definition)
            for table, name, definition in self.suspended:
                cursor.execute(
                    f"ALTER TABLE {connection.ops.quote_name(table)} ADD CONSTRAINT "
                    f"{connection.ops.quote_name(name)} {definition}"
                )
            self.suspended, self.suspended_indexes = [], []
            for model in models_written:
                table = model._meta.db_table
                cursor.execute(
                    f"SELECT setval(pg_get_serial_sequence(%s, 'id'), COALESCE((SELECT MAX(id) FROM "
                    f"{connection.ops.quote_name(table)}), 1))",
                    [table],
                )


# ---------------------------------------------------------------------------
# One chunk of loans: schedules → instalments, transactions, loan balances and classes
# ---------------------------------------------------------------------------


def _yuan(column: str) -> pl.Expr:
    """Fen as a "123.45" string (the allocation JSON's money format)."""
    fen = pl.col(column)
    return pl.concat_str([(fen // 100).cast(pl.String), pl.lit("."), (fen % 100).cast(pl.String).str.zfill(2)])


def _allocation(number: str, principal: str, interest: str, penalty: str) -> pl.Expr:
    return pl.concat_str(
        [
            pl.lit('[{"number": '),
            pl.col(number).cast(pl.String),
            pl.lit(', "principal": "'),
            _yuan(principal),
            pl.lit('", "interest": "'),
            _yuan(interest),
            pl.lit('", "penalty": "'),
            _yuan(penalty),
            pl.lit('"}]'),
        ]
    )


@dataclass
class _Ids:
    instalment: int
    transaction: int
    collateral: int
    report: int
    cover: int
    investment: int
    change: int


@dataclass
class _Totals:
    """Per bank office and year: what was lent (for the credit plans)."""

    lent: dict[tuple[int, int], int] = field(default_factory=lambda: defaultdict(int))
    clients: dict[tuple[int, int], set[int]] = field(default_factory=lambda: defaultdict(set))


def _instalment_frame(drafts: list[_Draft], drawer: _Drawer, as_of: datetime.date) -> pl.DataFrame:
    schedule = build_schedules([drawer.schedule_terms(d) for d in drafts])
    behaviour = pl.DataFrame(
        {
            "loan_index": list(range(len(drafts))),
            "loan_id": [d.id for d in drafts],
            "paid_until": [d.paid_until for d in drafts],
            "late_payer": [d.late_payer for d in drafts],
            "rolled_over": [d.renewed_by == RenewalKind.NO_PRINCIPAL_REPAYMENT for d in drafts],
            # The loan's own rate in millionths, for penalty interest on late instalments.
            "rate_micro": [int(d.rate * 1_000_000) for d in drafts],
        },
        schema_overrides={"loan_index": pl.Int64, "paid_until": pl.Date},
    )
    frame = schedule.join(behaviour, on="loan_index", how="left")
    salt = pl.col("loan_id") * 7 + pl.col("number").cast(pl.Int64) * 13
    days_to_as_of = (pl.lit(as_of) - pl.col("due_date")).dt.total_days()
    late_days = (
        pl.when(pl.col("late_payer") & (salt % 10 < 3))
        .then(pl.min_horizontal((salt % 6) + 1, days_to_as_of))
        .otherwise(0)
    )
    paid = pl.col("due_date") <= pl.col("paid_until")
    last = pl.col("number") == pl.col("number").max().over("loan_id")
    frame = frame.with_columns(paid=paid, late_days=pl.when(paid).then(late_days).otherwise(0), is_last=last)
    # Penalty (罚息) for the days late: (principal + interest) × rate × 1.5 × days / 360, half-up to the fen.
    denominator = 360 * 1_000_000 * 2
    numerator = (pl.col("principal_fen") + pl.col("interest_fen")) * pl.col("rate_micro") * 3 * pl.col("late_days")
    return frame.with_columns(
        principal_paid=pl.when(pl.col("paid")).then(pl.col("principal_fen")).otherwise(0),
        interest_paid=pl.when(pl.col("paid")).then(pl.col("interest_fen")).otherwise(0),
        penalty_paid=pl.when(pl.col("paid")).then((2 * numerator + denominator) // (2 * denominator)).otherwise(0),
        settled_on=pl.when(pl.col("paid")).then(pl.col("due_date") + pl.duration(days=pl.col("late_days"))),
        rolled=pl.col("rolled_over") & pl.col("is_last") & pl.col("paid"),
    )


def _transaction_frames(frame: pl.DataFrame, drafts: list[_Draft], first_id: int) -> pl.DataFrame:
    """Disbursements, one repayment per paid instalment, and the rollovers of 无还本续贷."""
    disbursements = pl.DataFrame(
        {
            "loan_id": [d.id for d in drafts],
            "kind": [TransactionKind.DISBURSEMENT] * len(drafts),
            "value_date": [d.start for d in drafts],
            "amount": [d.principal_fen for d in drafts],
            "principal_part": [0] * len(drafts),
            "interest_part": [0] * len(drafts),
            "penalty_part": [0] * len(drafts),
            "allocation": ["[]"] * len(drafts),
            "note": ["续贷放款" if d.renewal_of_id else "" for d in drafts],
            "posted_by_id": [d.bank.operator_id for d in drafts],
            "sort": [0] * len(drafts),
        },
        schema_overrides={"value_date": pl.Date, "posted_by_id": pl.Int64},
    )
    paid = frame.filter(pl.col("paid"))
    repay_principal = pl.when(pl.col("rolled")).then(0).otherwise(pl.col("principal_paid"))
    repayments = (
        paid.with_columns(principal_part=repay_principal)
        .with_columns(amount=pl.col("principal_part") + pl.col("interest_paid") + pl.col("penalty_paid"))
        .filter(pl.col("amount") > 0)
        .select(
            "loan_id",
            kind=pl.lit(TransactionKind.REPAYMENT),
            value_date="settled_on",
            amount="amount",
            principal_part="principal_part",
            interest_part="interest_paid",
            penalty_part="penalty_paid",
            allocation=_allocation("number", "principal_part", "interest_paid", "penalty_paid"),
            note=pl.lit(""),
            posted_by_id=pl.lit(None, dtype=pl.Int64),
            sort=pl.col("number").cast(pl.Int64),
        )
    )
    rollovers = (
        paid.filter(pl.col("rolled"))
        .with_columns(zero=pl.lit(0, dtype=pl.Int64))
        .select(
            "loan_id",
            kind=pl.lit(TransactionKind.RENEWAL_ROLLOVER),
            value_date="due_date",
            amount="principal_paid",
            principal_part="principal_paid",
            interest_part="zero",
            penalty_part="zero",
            allocation=_allocation("number", "principal_paid", "zero", "zero"),
            note=pl.lit("无还本续贷转贷"),
            posted_by_id=pl.lit(None, dtype=pl.Int64),
            sort=pl.lit(10_000, dtype=pl.Int64),
        )
    )
    operators = pl.DataFrame(
        {"loan_id": [d.id for d in drafts], "operator": [d.bank.operator_id for d in drafts]},
        schema_overrides={"operator": pl.Int64},
    )
    out = (
        pl.concat([disbursements, repayments, rollovers], how="vertical_relaxed")
        .join(operators, on="loan_id", how="left")
        .with_columns(posted_by_id=pl.coalesce("posted_by_id", "operator"))
        .sort("loan_id", "value_date", "sort")
        .drop("operator", "sort")
    )
    return out.with_columns(id=pl.int_range(first_id, first_id + out.height, dtype=pl.Int64))


def _class_for(dpd: int) -> tuple[str, list[tuple[int, str, str]]]:
    steps = [step for step in DPD_STEPS if dpd >= step[0]]
    return (steps[-1][1] if steps else LoanClass.NORMAL), steps


class _Seeder:
    def __init__(self, scale: LoanScale, *, seed: int, as_of: datetime.date, log: Callable[[str], None]) -> None:
        self.scale, self.seed, self.as_of, self.say = scale, seed, as_of, log
        self.ctx = _Context(as_of=as_of)
        self.writer = _Writer()
        self.drawer = _Drawer(self.ctx, seed=seed, first_id=self.writer.next_id(Loan))
        self.rng = random.Random(f"loan-extras-{seed}")
        self.ids = _Ids(
            instalment=self.writer.next_id(Instalment),
            transaction=self.writer.next_id(LoanTransaction),
            collateral=self.writer.next_id(LoanCollateral),
            report=self.writer.next_id(ImplementationReport),
            cover=self.writer.next_id(LoanCover),
            investment=self.writer.next_id(InvestmentLink),
            change=self.writer.next_id(ClassificationChange),
        )
        self.totals = _Totals()
        self.loan_ids: list[int] = []

    # Drawing, chunk by chunk

    def drafts(self) -> Iterable[list[_Draft]]:
        chunk: list[_Draft] = []
        total = 0
        registrations = self.ctx.registrations() if self.scale.name in ("tiny", "demo") else []
        self.drawer.around_registrations = bool(registrations)
        queue: list[_Draft] = []
        for reg in registrations:
            if total >= self.scale.loans:
                break
            share = 0.9 if reg.cancelled_on else 0.85
            if self.drawer.rng.random() < share and reg.pledgor_id in self.ctx.region:
                queue.append(self.drawer.registration_loan(reg))
                total += 1
        while True:
            while not queue and total < self.scale.loans:
                draft = self.drawer.free_loan()
                if draft is None:
                    break
                queue.append(draft)
                total += 1
            if not queue:
                break
            draft = queue.pop(0)
            chunk.append(draft)
            if draft.renewed_by and total < self.scale.loans:
                queue.insert(0, self.drawer.renewal(draft))
                total += 1
            elif draft.renewed_by:
                draft.renewed_by = ""
            if len(chunk) >= CHUNK and not queue:
                yield chunk
                chunk = []
        if chunk:
            yield chunk

    # Writing one chunk

    def write_chunk(self, drafts: list[_Draft]) -> None:
        live = [d for d in drafts if d.behaviour != PIPELINE]
        frame = _instalment_frame(live, self.drawer, self.as_of) if live else None
        summary: dict[int, tuple[int, datetime.date | None, datetime.date | None, datetime.date]] = {}
        if frame is not None:
            frame = frame.with_columns(id=pl.int_range(self.ids.instalment, self.ids.instalment + frame.height))
            self.ids.instalment += frame.height
            per_loan = frame.group_by("loan_id").agg(
                repaid=pl.col("principal_paid").sum(),
                last_settled=pl.col("settled_on").max(),
                first_unpaid=pl.col("due_date").filter(~pl.col("paid") & (pl.col("due_date") < self.as_of)).min(),
                maturity=pl.col("due_date").max(),
            )
            for loan_id, repaid, last_settled, first_unpaid, maturity in per_loan.iter_rows():
                summary[loan_id] = (repaid, last_settled, first_unpaid, maturity)
        loans, changes = self._loan_rows(drafts, summary)
        self.writer.insert(Loan, pl.DataFrame(loans, infer_schema_length=None))
        if frame is not None:
            self.writer.insert(
                Instalment,
                frame.select(
                    "id",
                    "loan_id",
                    "number",
                    "period_start",
                    "due_date",
                    annual_rate=pl.col("annual_rate").cast(pl.String),
                    principal_due="principal_fen",
                    interest_due="interest_fen",
                    principal_paid="principal_paid",
                    interest_paid="interest_paid",
                    penalty_paid="penalty_paid",
                    settled_on="settled_on",
                ),
            )
            txns = _transaction_frames(frame, live, self.ids.transaction)
            self.ids.transaction += txns.height
            self.writer.insert(LoanTransaction, txns)
            self.writer.counts["repayments"] += txns.filter(pl.col("kind") == TransactionKind.REPAYMENT).height
        if changes:
            self.writer.insert(ClassificationChange, pl.DataFrame(changes, infer_schema_length=None))
        self._collateral_and_covers(live)
        self.loan_ids.extend(d.id for d in drafts)

    def _loan_rows(
        self, drafts: list[_Draft], summary: dict[int, tuple[int, Any, Any, datetime.date]]
    ) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
        as_of, rng, ts = self.as_of, self.rng, self.writer.timestamp
        renewed = {d.renewal_of_id: d for d in drafts if d.renewal_of_id}
        loans: list[dict[str, Any]] = []
        changes: list[dict[str, Any]] = []
        demo = self.scale.history
        for d in drafts:
            row: dict[str, Any] = {
                "id": d.id,
                "reference": f"DK{d.start:%Y}{d.id:08d}",
                "origin": d.origin,
                "borrower_id": d.borrower_id,
                "bank_id": d.bank.id,
                "park_id": self.ctx.park.get(d.borrower_id),
                "region_code": self.ctx.region.get(d.borrower_id, ""),
                "purpose": d.purpose,
                "requested_amount": d.principal_fen,
                "requested_term_months": d.term_months,
                "is_ip_pledge": True,
                "created_by_id": d.bank.operator_id,
            }
            applied = d.start - datetime.timedelta(days=rng.randint(20, 45))
            row["created_at"] = row["updated_at"] = ts(_at(applied if d.behaviour != PIPELINE else d.start, 9))
            if d.behaviour == PIPELINE:
                row.update(self._pipeline_fields(d, demo))
                loans.append(row)
                continue
            repaid, last_settled, first_unpaid, maturity = summary[d.id]
            outstanding = d.principal_fen - repaid
            dpd = (as_of - first_unpaid).days if first_unpaid is not None else 0
            klass, steps = _class_for(dpd) if outstanding else (LoanClass.NORMAL, [])
            status = LoanStatus.ACTIVE
            closed_on = defaulted_on = None
            if outstanding == 0:
                status = LoanStatus.CLOSED_BY_RENEWAL if d.id in renewed else LoanStatus.CLOSED
                closed_on = last_settled
            elif d.behaviour == DEFAULTED and first_unpaid is not None:
                status = LoanStatus.DEFAULTED
                defaulted_on = min(as_of, first_unpaid + datetime.timedelta(days=90))
            approved = d.start - datetime.timedelta(days=rng.randint(3, 10))
            since = d.start
            previous: str = LoanClass.NORMAL
            for days, to_class, reason in steps:
                day = first_unpaid + datetime.timedelta(days=days)
                changes.append(
                    {
                        "id": self.ids.change,
                        "loan_id": d.id,
                        "business_day": day,
                        "from_class": previous,
                        "to_class": to_class,
                        "source": ClassificationSource.ENGINE,
                        "days_past_due": days,
                        "reasons": json.dumps([reason]),
                        "note": "",
                        "created_at": ts(_at(day, 23)),
                    }
                )
                self.ids.change += 1
                previous, since = to_class, day
            row.update(
                {
                    "status": status,
                    "principal": d.principal_fen,
                    "term_months": d.term_months,
                    "rate_type": d.rate_type,
                    "annual_rate": f"{d.rate:.6f}",
                    "lpr_tenor": LprTenor.ONE_YEAR if d.rate_type == RateType.LPR else "",
                    "lpr_spread_bp": d.spread_bp,
                    "repricing_months": 12 if d.rate_type == RateType.LPR else None,
                    "repayment_method": d.method,
                    "repayment_interval_months": d.interval,
                    "grace_months": d.grace_months,
                    "custom_schedule": json.dumps(
                        [
                            {"due_date": day.isoformat(), "principal": f"{fen // 100}.{fen % 100:02d}"}
                            for day, fen in d.custom
                        ],
                        ensure_ascii=False,
                    ),
                    "due_diligence": json.dumps(_due_diligence(approved, d) if demo else {}, ensure_ascii=False),
                    "prepared_by_id": d.bank.operator_id,
                    "prepared_at": ts(_at(approved - datetime.timedelta(days=2), 15)),
                    "approved_by_id": d.bank.reviewer_id if d.bank.reviewer_id != d.bank.operator_id else None,
                    "approved_at": ts(_at(approved, 11)),
                    "decision_note": "同意。",
                    "contract_no": f"JK{d.start:%Y%m%d}{d.id:06d}",
                    "contract_signed_on": max(approved, d.start - datetime.timedelta(days=2)),
                    "pledge_registration_id": d.registration_id,
                    "first_disbursed_on": d.start,
                    "maturity_date": maturity,
                    "closed_on": closed_on,
                    "defaulted_on": defaulted_on,
                    "renewal_of_id": d.renewal_of_id,
                    "renewal_kind": d.renewal_kind,
                    "disbursed_amount": d.principal_fen,
                    "outstanding_principal": outstanding,
                    "classification": klass,
                    "classification_since": since,
                    "days_past_due": dpd if outstanding else 0,
                    "classified_on": as_of if outstanding else closed_on,
                    "credit_impaired": status == LoanStatus.DEFAULTED,
                    "expected_loss_ratio": "0.6000" if status == LoanStatus.DEFAULTED else None,
                    "refinanced_by_new_loan": False,
                }
            )
            loans.append(row)
            self.totals.lent[(d.bank.id, d.start.year)] += d.principal_fen
            self.totals.clients[(d.bank.id, d.start.year)].add(d.borrower_id)
        return loans, changes

    def _pipeline_fields(self, d: _Draft, demo: bool) -> dict[str, Any]:
        fields: dict[str, Any] = {"status": d.status}
        later = d.status not in (LoanStatus.SUBMITTED, LoanStatus.WITHDRAWN)
        if later:
            fields["due_diligence"] = json.dumps(_due_diligence(d.start, d) if demo else {}, ensure_ascii=False)
        if d.status in (LoanStatus.PENDING_APPROVAL, LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.REJECTED):
            fields.update(
                principal=d.principal_fen,
                term_months=d.term_months,
                annual_rate=f"{self.ctx.lpr_on(d.start) + Decimal('0.005'):.6f}",
                prepared_by_id=d.bank.operator_id,
                prepared_at=self.writer.timestamp(_at(d.start + datetime.timedelta(days=1), 15)),
            )
        if d.status in (LoanStatus.APPROVED, LoanStatus.CONTRACTED, LoanStatus.REJECTED):
            fields.update(
                approved_by_id=d.bank.reviewer_id if d.bank.reviewer_id != d.bank.operator_id else None,
                approved_at=self.writer.timestamp(_at(d.start + datetime.timedelta(days=2), 11)),
                decision_note="同意。" if d.status != LoanStatus.REJECTED else "还款来源不足，不予批准。",
            )
        if d.status == LoanStatus.CONTRACTED:
            fields.update(
                contract_no=f"JK{d.start:%Y%m%d}{d.id:06d}", contract_signed_on=d.start + datetime.timedelta(3)
            )
        return fields

    def _collateral_and_covers(self, drafts: list[_Draft]) -> None:
        rng, ctx, ids = self.rng, self.ctx, self.ids
        collateral: list[dict[str, Any]] = []
        reports: list[dict[str, Any]] = []
        covers: list[dict[str, Any]] = []
        investments: list[dict[str, Any]] = []
        statuses = list(ImplementationStatus.values)
        for d in drafts:
            province = ctx.region.get(d.borrower_id, "")[:2]
            valuers = (
                ctx.valuers.get(province)
                or [v for names in ctx.valuers.values() for v in names]
                or ["资产评估有限公司"]
            )
            appraised_on = d.start - datetime.timedelta(days=rng.randint(15, 40))
            share = d.principal_fen / max(1, len(d.rights)) / d.ltv
            for right_id, kind in d.rights:
                collateral.append(
                    {
                        "id": ids.collateral,
                        "loan_id": d.id,
                        "ip_right_id": right_id,
                        "appraised_value": int(share) // 100 * 100,
                        "appraised_on": appraised_on,
                        "valuer_name": rng.choice(valuers),
                    }
                )
                if kind == "patent":
                    status = rng.choices(statuses, weights=(60, 15, 5, 20))[0]
                    day = d.start
                    while day <= self.as_of:
                        reports.append(
                            {"id": ids.report, "collateral_id": ids.collateral, "reported_on": day, "status": status}
                        )
                        ids.report += 1
                        if status == ImplementationStatus.NOT_IMPLEMENTED and rng.random() < 0.4:
                            status = ImplementationStatus.SELF_USE
                        day = add_months(day, 12)
                ids.collateral += 1
            if rng.random() < 0.25:
                kind = rng.choices(CoverKind.values, weights=(50, 25, 25))[0]
                org_kind = COVER_PROVIDERS[kind]
                found: list[tuple[int | None, str]] = [*ctx.providers.get((org_kind, province), [])]
                found = found or [(None, "知识产权质押融资风险补偿资金")]
                provider_id, name = rng.choice(found)
                ratio = {"guarantee": (50, 90), "insurance": (60, 80), "risk_compensation": (30, 50)}[kind]
                covers.append(
                    {
                        "id": ids.cover,
                        "loan_id": d.id,
                        "kind": kind,
                        "provider_id": provider_id,
                        "provider_name": name[:128],
                        "cover_ratio": f"{rng.randrange(ratio[0], ratio[1] + 1, 5) / 100:.4f}",
                        "policy_no": f"BZ{d.start:%Y}{d.id:07d}",
                        "valid_until": d.maturity,
                    }
                )
                ids.cover += 1
            if rng.random() < 0.03:
                term_kind = rng.choice(InvestmentTermKind.values)
                investments.append(
                    {
                        "id": ids.investment,
                        "loan_id": d.id,
                        "investor_name": f"{rng.choice(('华创', '中科', '同创', '金沙江'))}{rng.choice(INVESTORS)}",
                        "term_kind": term_kind,
                        "amount": d.principal_fen // 100 * rng.randint(20, 100) if term_kind != "option" else None,
                        "equity_ratio": f"{rng.randint(1, 8) / 100:.4f}",
                        "exercise_deadline": add_months(d.maturity, 12),
                        "terms": "贷款存续期内投资机构可按约定估值认购借款企业新增注册资本。",
                    }
                )
                ids.investment += 1
        self.writer.insert(LoanCollateral, pl.DataFrame(collateral, infer_schema_length=None))
        self.writer.insert(ImplementationReport, pl.DataFrame(reports, infer_schema_length=None))
        self.writer.insert(LoanCover, pl.DataFrame(covers, infer_schema_length=None))
        self.writer.insert(InvestmentLink, pl.DataFrame(investments, infer_schema_length=None))

    def bank_reports(self) -> None:
        """Credit plans near what each office lent (some over, some under) and bank-wide NPL ratios."""
        rng = self.rng
        plans: list[dict[str, Any]] = []
        reports: list[dict[str, Any]] = []
        existing_plans = set(CreditPlan.objects.values_list("bank_id", "year"))
        existing_reports = set(BankNplReport.objects.values_list("bank_id", "as_of"))
        for bank in self.ctx.all_banks:
            base = rng.uniform(0.006, 0.02)
            for year in PLAN_YEARS:
                if (bank.id, year) in existing_plans:
                    continue
                lent = self.totals.lent.get((bank.id, year), 0)
                clients = len(self.totals.clients.get((bank.id, year), ()))
                planned = max(5_000_000_000, int(lent * rng.uniform(0.8, 1.3)) // 1_000_000_00 * 1_000_000_00)
                plans.append(
                    {
                        "bank_id": bank.id,
                        "year": year,
                        "planned_amount": planned,
                        "planned_clients": max(10, round(clients * rng.uniform(0.8, 1.3))),
                        "note": f"{year}年知识产权质押融资单列信贷计划",
                    }
                )
            for day in NPL_REPORT_DAYS:
                if (bank.id, day) not in existing_reports:
                    ratio = max(0.003, base + rng.uniform(-0.003, 0.003))
                    reports.append({"bank_id": bank.id, "as_of": day, "npl_ratio": f"{ratio:.6f}"})
        first_plan, first_report = self.writer.next_id(CreditPlan), self.writer.next_id(BankNplReport)
        if plans:
            self.writer.insert(
                CreditPlan, pl.DataFrame(plans).with_columns(id=pl.int_range(first_plan, first_plan + len(plans)))
            )
        if reports:
            self.writer.insert(
                BankNplReport,
                pl.DataFrame(reports).with_columns(id=pl.int_range(first_report, first_report + len(reports))),
            )


def _at(day: datetime.date, hour: int) -> datetime.datetime:
    return datetime.datetime.combine(day, datetime.time(hour, 0), tzinfo=timezone.get_default_timezone())


def _due_diligence(day: datetime.date, d: _Draft) -> dict[str, dict[str, Any]]:
    return {
        item: {
            "done": True,
            "note": "",
            "by": d.bank.operator_id,
            "at": f"{day - datetime.timedelta(days=5)}T10:00:00+08:00",
        }
        for item in DueDiligenceItem.values
    }


def _seed_registry(scale: LoanScale, seed: int, say: Callable[[str], None]) -> float:
    from ipledge.registry.seeding import seed_database

    started = time.perf_counter()
    say(f"registry is empty: seeding scale {scale.registry_scale} {dict(scale.registry_overrides)} first")
    overrides: dict[str, Any] = dict(scale.registry_overrides)
    seed_database(scale=scale.registry_scale, seed=seed, log=say, **overrides)
    return time.perf_counter() - started


def seed_loans(
    *,
    scale: str | LoanScale = "demo",
    seed: int = 42,
    as_of: datetime.date = LOAN_SEED_AS_OF,
    log: Callable[[str], None] | None = None,
) -> LoanSeedReport:
    """Add synthetic loans with their schedules, transactions, collateral and history (see the module docstring)."""
    started = time.perf_counter()
    chosen = LOAN_SCALES[scale] if isinstance(scale, str) else scale
    say = log or (lambda _msg: None)
    report = LoanSeedReport(scale=chosen.name, seed=seed)
    if not Enterprise.objects.exists():
        report.registry_seconds = _seed_registry(chosen, seed, say)
    seeder = _Seeder(chosen, seed=seed, as_of=as_of, log=say)
    written = (
        Loan,
        Instalment,
        LoanTransaction,
        LoanCollateral,
        ImplementationReport,
        LoanCover,
        InvestmentLink,
        ClassificationChange,
        CreditPlan,
        BankNplReport,
    )
    with transaction.atomic():
        if chosen.loans >= BULK_LOAD_LOANS:
            seeder.writer.suspend_foreign_keys(written)
        for chunk in seeder.drafts():
            seeder.write_chunk(chunk)
            say(
                f"loans {seeder.writer.counts['loan']:,}, repayments {seeder.writer.counts['repayments']:,} "
                f"({time.perf_counter() - started:.1f}s)"
            )
        seeder.bank_reports()
        seeder.writer.finish(written)
        if chosen.history and seeder.loan_ids:
            Loan.history.bulk_history_create(  # type: ignore[attr-defined]
                list(Loan.objects.filter(pk__in=seeder.loan_ids).order_by("pk")), default_change_reason="seed"
            )
        counts = {
            name: seeder.writer.counts[name]
            for name in (
                "loan",
                "instalment",
                "loantransaction",
                "repayments",
                "loancollateral",
                "implementationreport",
                "loancover",
                "investmentlink",
                "classificationchange",
                "creditplan",
                "banknplreport",
            )
        }
        record_event(
            acting_user=None,
            action="seed.loans",
            object_type="lending.loan",
            object_repr=f"{counts['loan']} × 贷款",
            extra={"scale": chosen.name, "seed": seed, "as_of": as_of, **counts},
        )
    if chosen.loans >= BULK_LOAD_LOANS and seeder.writer.postgres:
        # Planner statistics for the freshly loaded tables (PostgreSQL manual: "Run ANALYZE Afterwards").
        with connection.cursor() as cursor:
            for model in written:
                cursor.execute(f"ANALYZE {connection.ops.quote_name(model._meta.db_table)}")
    report.counts = counts
    report.seconds = time.perf_counter() - started
    return report
