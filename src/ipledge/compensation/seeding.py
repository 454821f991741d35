"""Demo risk-compensation funds (风险补偿基金) for `ipledge seed_compensation`, on top of `seed` and `seed_loans`.

What is seeded, for each province with a provincial IP office
---------------------------------------------------------------
* **A fund** run by the province's fund-manager organisation (基金管理机构; created with one user per role when the
  registry seed has none, with the demo password when the other demo logins have it, so `ipledge demo_logins`
  lists them), sponsored by the province's IP office, capital paid in by two contributions (60 % when the fund is
  set up at the end of 2022, 40 % a year later), leverage cap 10×, liability capped at its balance (以其总额为限).
  Capital: ¥30–50 m at the demo scale; at the province scale ¥1.5–2 bn, in proportion to a province's 30,000 loans
  (Guangdong's 21 city funds hold ¥5.8 bn for ¥58 bn of loans, research/domain.md §4.1), so that the pool reaches
  its leverage cap, as real pools do.
* **Schemes** modelled on the published ones (domain.md §4.1, shared/data/ip_pledge_risk_compensation_schemes.csv),
  each drafted and submitted by the fund's operator and published by its reviewer (maker-checker):
  Jiangsu gets 苏知贷 (balance ≤ ¥10 m: fund 80 % / bank 20 %; ¥10–30 m: 50 / 50; principal only, SMEs, ≤ 36
  months, IP ≥ 50 % of the collateral); the other provinces a Shenzhen-style 1 : 1 and a Zhuhai-style bank 60 % /
  fund 40 % (with Wuhan's IP ≥ 50 % rule); every province a Zhongshan four-party 54 : 26 : 16 : 4 (fund, bank,
  insurer, valuer) where the province has an insurer and a valuer, and a Haikou-style scheme that covers only the
  IP share of combined-collateral loans. The main scheme has a second version from 2025 (claim window 365 days,
  a per-loan cap) and a third, for 2027 (advance 80 % of the fund's share), awaiting approval. Claims are triggered
  by the loan turning non-performing (Shenzhen, Beijing); the Beijing rule that the pledge be registered no later
  than that day applies to the Beijing fund's schemes only (the other schemes do not state it).
* **Enrolments** (入池) of a share of the province's IP-pledge loans disbursed since the schemes took effect (every
  loan the lending seed gave a risk-compensation cover, ``enrol_share`` of the others), each under a scheme drawn by
  weight, enrolled within 20 days of its first disbursement, released (出池) on the day a closed loan was settled.
* **Claims** (代偿) on the enrolled loans that are non-performing now (and meet the scheme's pledge precondition),
  filed by the lending bank's operator 3–15 days after the loan's non-performing date as the service reads it (the
  loan's ``classification_since``), then reviewed, approved (the fund's advance paid at once; the insurer and
  valuer pay theirs), recoveries recorded, cleared and the true-ups paid, each a few days or weeks after the last
  and none after today; the claims are spread over those stages (and a few rejected or withdrawn), so every stage
  is on screen. A claim whose advance the fund's balance could not pay in full waits at 已初审. Then the alert
  scan (`services.fund_alerts_scan`) and, at the demo scale, one stress test per fund.

How rows are written, and why
-----------------------------
Funds, contributions, schemes and their versions, claims, recoveries, payments, alerts and stress runs go through
the services, back-dated with `as_of(day)`; the claims' steps run in date order across all funds, so each approval
sees the fund's balance of that day. Enrolments are written in bulk: `services.enrolment_create` can only enrol a
loan that is live and performing *today* (the loan rows hold their state as of the seed date), so it could not
enrol the loans that have since been repaid or turned bad, and at the province scale its per-row audit would take
minutes. The bulk path applies the service's own rules: the version in force on the first disbursement
(`version_in_force`'s dates), `eligibility_problems`, the enrolment window, covered amount = principal × IP share
rounded half up, one risk-compensation `LoanCover` per enrolment at the fund's tier share with the loan's covers
adding up to at most 1 (a cover the lending seed already gave the loan is re-pointed to the fund), the leverage cap
(open covered principal ≤ capital × 10 at every enrolment, replayed in date order with the releases), and one open
enrolment per loan (a database constraint). `tests/compensation/test_seed_compensation.py` checks them. One
`AuditEvent` (``seed.compensation``) records each run with its counts; enrolment history rows are written at the
demo scale. A province whose fund (code ``<ABBR>-IPF``) exists already is left as it is. Deterministic for a seed,
a database and a business date, except the claim references (random by design).
"""

from __future__ import annotations

import datetime
import heapq
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal
from typing import Any

from django.contrib.auth.hashers import check_password
from django.core.exceptions import ValidationError
from django.db import transaction

from ipledge.core.audit import record_event
from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of, business_date
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.core.services import organisation_create, user_create
from ipledge.lending.choices import LIVE_STATUSES, NON_PERFORMING_CLASSES, CoverKind, LoanStatus
from ipledge.lending.models import Loan, LoanCover
from ipledge.registry.choices import SizeClass
from ipledge.registry.seeding import DEMO_PASSWORD, PROVINCE_ABBR

from . import services
from .choices import ClaimStatus, EnrolmentStatus, PartyRole, PaymentPurpose, PaymentStatus, SchemeStatus
from .engine import sharing
from .models import Claim, Enrolment, Fund, FundAlert, JournalEntry, Payment, Recovery, Scheme, SchemeVersion

__all__ = ["COMPENSATION_SCALES", "CompensationScale", "CompensationSeedReport", "seed_compensation"]

FUND_DAY = datetime.date(2022, 12, 20)  # funds set up; schemes drafted and published
SCHEMES_FROM = datetime.date(2023, 1, 1)  # first versions take effect (the lending seed's first loans: 2023-01-03)
SECOND_CONTRIBUTION_DAY = datetime.date(2024, 1, 10)
V2_DRAFTED, V2_APPROVED, V2_FROM = datetime.date(2024, 12, 12), datetime.date(2024, 12, 18), datetime.date(2025, 1, 1)
V3_DRAFTED, V3_FROM = datetime.date(2026, 11, 2), datetime.date(2027, 1, 1)
FUND_EXPIRES = datetime.date(2027, 12, 31)
LEVERAGE = Decimal(10)
ENROL_DELAY_DAYS = 20  # banks enrol within 20 days of the first disbursement (every window here is 30)
PLEDGE_BEFORE_NPL_PROVINCES = frozenset({"11"})  # Beijing 2025 notice (domain.md §4.2); others do not state it
SMES = [SizeClass.MEDIUM, SizeClass.SMALL, SizeClass.MICRO]
DISBURSED = (
    LoanStatus.ACTIVE,
    LoanStatus.DEFAULTED,
    LoanStatus.CLOSED,
    LoanStatus.CLOSED_BY_RENEWAL,
    LoanStatus.WRITTEN_OFF,
)


@dataclass(frozen=True)
class CompensationScale:
    name: str
    capital_wan: tuple[int, ...]  # the fund's capital is drawn from these (万元)
    enrol_share: float  # share of the eligible loans without a seeded risk-compensation cover that are enrolled
    history: bool  # enrolment history rows
    stress_runs: bool  # one stress test per fund


COMPENSATION_SCALES: dict[str, CompensationScale] = {
    "demo": CompensationScale("demo", (3_000, 3_500, 4_000, 4_500, 5_000), 0.6, history=True, stress_runs=True),
    "province": CompensationScale("province", (150_000, 180_000, 200_000), 0.5, history=False, stress_runs=False),
}


@dataclass(frozen=True)
class SchemeTemplate:
    code: str
    name: str
    tiers: list[dict[str, Any]]
    rules: dict[str, Any]
    weight: int
    ip_shares: tuple[str, ...] = ("1",)  # the bank's declared IP share of the collateral, drawn per loan
    parties: tuple[str, ...] = ()  # roles that need an organisation on the enrolment


def _tiers(*bands: tuple[str | None, dict[str, str]]) -> list[dict[str, Any]]:
    return [{"up_to": up_to, "shares": shares} for up_to, shares in bands]


SUZHIDAI = SchemeTemplate(
    "SZD",
    "苏知贷（按余额分档分担）",
    _tiers(("10000000.00", {"fund": "0.8", "bank": "0.2"}), ("30000000.00", {"fund": "0.5", "bank": "0.5"})),
    {
        "max_principal": Money("30000000.00"),
        "max_term_months": 36,
        "min_ip_share": Decimal("0.5"),
        "enterprise_sizes": SMES,
        "note": "参照江苏省苏知贷：贷款余额1000万元（含）以下基金承担本金损失的80%，1000万至3000万元承担50%；"
        "利息损失由银行承担。单户不超过3000万元，期限不超过3年，知识产权价值占担保物一半以上。",
    },
    weight=60,
    ip_shares=("1", "1", "1", "1", "0.8", "0.6"),
)
SHENZHEN = SchemeTemplate(
    "SZ",
    "深圳模式（基金与银行1:1分担）",
    _tiers((None, {"fund": "0.5", "bank": "0.5"})),
    {"note": "参照深圳：补偿节点前移至贷款进入不良，基金与银行按1:1分担本金损失。"},
    weight=50,
)
ZHONGSHAN = SchemeTemplate(
    "ZS",
    "中山模式（基金、银行、保险、评估四方分担）",
    _tiers((None, {"fund": "0.54", "bank": "0.26", "insurer": "0.16", "valuer": "0.04"})),
    {"note": "参照中山：基金、银行、保险机构、评估机构按54:26:16:4分担本金损失。"},
    weight=20,
    parties=(PartyRole.INSURER, PartyRole.VALUER),
)
ZHUHAI = SchemeTemplate(
    "ZH",
    "珠海模式（银行60%、基金40%）",
    _tiers((None, {"fund": "0.4", "bank": "0.6"})),
    {
        "min_ip_share": Decimal("0.5"),
        "enterprise_sizes": SMES,
        "note": "参照珠海分担比例（银行60%、基金40%）；参照武汉，知识产权须占担保物价值的50%以上，限中小企业。",
    },
    weight=15,
    ip_shares=("1", "1", "0.8", "0.6", "0.5"),
)
HAIKOU = SchemeTemplate(
    "HK",
    "海口模式（仅补偿知识产权对应部分）",
    _tiers((None, {"fund": "0.5", "bank": "0.5"})),
    {
        "covers_ip_share_only": True,
        "note": "参照海口：纯知识产权质押贷款全额计算，组合担保贷款只按知识产权占比计算代偿敞口，以基金余额为限；"
        "分担比例1:1为演示假设（海口通知未载明）。",
    },
    weight=15,
    ip_shares=("1", "0.9", "0.8", "0.7", "0.6", "0.5", "0.4"),
)
COMMON_RULES: dict[str, Any] = {
    "trigger": "non_performing",
    "requires_collection_evidence": True,
    "enrol_window_days": 30,
    "claim_window_days": 180,
}
V2_RULES: dict[str, Any] = {"claim_window_days": 365, "cap_per_loan": Money("8000000.00")}
V2_NOTE = "2025年版：申请时限延长至不良后365天；单笔代偿上限800万元。"
V3_RULES: dict[str, Any] = {
    "claim_window_days": 365,
    "cap_per_loan": Money("8000000.00"),
    "advance_ratio": Decimal("0.8"),
}
V3_NOTE = "2027年版（待审批）：先行拨付基金应分担部分的80%，其余在清算时结清。"

EFFORTS = (
    "已向借款人发出催收函并提起诉讼，申请财产保全。",
    "已起诉并申请强制执行，质押专利已申请司法拍卖。",
    "已多次上门催收，借款人停产；已向法院申请支付令。",
    "已申请仲裁并查封质押知识产权，正在委托交易中心挂牌处置。",
)
REJECT_NOTES = (
    "追偿材料不全：未提供起诉或申请执行的证明，请补充后重新申请。",
    "贷款资金用途与合同约定不符，不予代偿。",
)
CLAIM_CYCLE: tuple[str, ...] = (
    "cleared",
    "advance_paid",
    "clearing",
    "reviewed",
    "cleared",
    "filed",
    "advance_paid",
    "rejected",
    "cleared",
    "clearing",
    "advance_paid",
    "withdrawn",
    "cleared",
    "reviewed",
    "advance_paid",
    "filed",
)


@dataclass
class CompensationSeedReport:
    scale: str
    seed: int
    counts: dict[str, int] = field(default_factory=dict)
    seconds: float = 0.0
    enrol_seconds: float = 0.0
    claim_seconds: float = 0.0


# ---------------------------------------------------------------------------
# Organisations and users
# ---------------------------------------------------------------------------


class _People:
    """The users who act: the first active user of each (organisation, role), loaded once, fetched on demand."""

    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], int] = {}
        for org_id, role, user_id in (
            User.objects.filter(is_active=True, organisation__isnull=False)
            .order_by("id")
            .values_list("organisation_id", "role", "id")
        ):
            self.ids.setdefault((org_id, role), user_id)
        self.cache: dict[int, User] = {}

    def get(self, org_id: int, role: str = Role.OPERATOR) -> User | None:
        user_id = self.ids.get((org_id, role))
        if user_id is None:
            return None
        if user_id not in self.cache:
            self.cache[user_id] = User.objects.select_related("organisation__region").get(pk=user_id)
        return self.cache[user_id]

    def need(self, org_id: int, role: str = Role.OPERATOR) -> User:
        user = self.get(org_id, role)
        if user is None:
            raise LookupError(f"organisation {org_id} has no active {role}")
        return user


def _demo_password_hash() -> str | None:
    """The shared demo password hash when the registry seed's users still have it (see `demo_login_rows`)."""
    anchor = User.objects.filter(username="cnipa_admin").only("password").first()
    if anchor is not None and check_password(DEMO_PASSWORD, anchor.password):
        return anchor.password
    return None


def _ensure_manager(office: Organisation, abbr: str, people: _People, counts: Counter[str]) -> Organisation:
    """The province's fund manager, with a user in every role; created (demo logins included) when missing."""
    prefix = office.region.prefix if office.region else ""
    manager = (
        Organisation.objects.filter(
            kind=OrganisationKind.FUND_MANAGER, is_active=True, parent__isnull=True, region__code__startswith=prefix
        )
        .select_related("region")
        .order_by("pk")
        .first()
    )
    if manager is None:
        manager = organisation_create(
            name=f"{office.region.name if office.region else ''}知识产权质押融资风险补偿基金管理中心",
            kind=OrganisationKind.FUND_MANAGER,
            acting_user=None,
            region=office.region,
        )
        counts["organisations_created"] += 1
    missing = [role for role in Role.values if people.get(manager.pk, role) is None]
    if missing:
        demo_hash = _demo_password_hash()
        created = []
        for role in missing:
            username = f"fund_{abbr}_{role}"
            if User.objects.filter(username=username).exists():
                username = f"fund_{abbr}_{manager.pk}_{role}"
            user = user_create(
                username=username,
                organisation=manager,
                role=role,
                password=None,
                acting_user=None,
                display_name=f"{manager.name[:40]}{Role(role).label}",
            )
            created.append(user.pk)
            people.ids[(manager.pk, role)] = user.pk
        if demo_hash is not None:
            User.objects.filter(pk__in=created).update(password=demo_hash)
        counts["users_created"] += len(created)
    return manager


def _first_org(kind: str, prefix: str) -> Organisation | None:
    return (
        Organisation.objects.filter(kind=kind, is_active=True, region__code__startswith=prefix)
        .order_by("parent_id", "pk")
        .first()
    )


# ---------------------------------------------------------------------------
# Funds, contributions and schemes (services)
# ---------------------------------------------------------------------------


@dataclass
class _FundPlan:
    fund: Fund
    prefix: str
    operator: User
    reviewer: User
    templates: list[SchemeTemplate]
    schemes: dict[str, Scheme] = field(default_factory=dict)
    versions: dict[str, list[SchemeVersion]] = field(default_factory=dict)  # published, oldest first
    parties: dict[str, Organisation] = field(default_factory=dict)


def _publish(
    plan: _FundPlan, scheme: Scheme, rules: dict[str, Any], *, drafted: datetime.date, approved: datetime.date | None
) -> SchemeVersion:
    with as_of(drafted):
        version = services.scheme_version_draft(scheme=scheme, rules=rules, acting_user=plan.operator)
        version = services.scheme_version_submit(version=version, acting_user=plan.operator)
    if approved is not None:
        with as_of(approved):
            version = services.scheme_version_approve(version=version, acting_user=plan.reviewer)
    return version


def _create_fund(
    office: Organisation,
    prefix: str,
    people: _People,
    scale: CompensationScale,
    rng: random.Random,
    counts: Counter[str],
    today: datetime.date,
) -> _FundPlan:
    abbr = PROVINCE_ABBR.get(prefix, prefix)  # the fund's code is f"{abbr.upper()}-IPF"
    manager = _ensure_manager(office, abbr, people, counts)
    admin, operator, reviewer = (people.need(manager.pk, r) for r in (Role.ADMIN, Role.OPERATOR, Role.REVIEWER))
    region = office.region
    assert region is not None
    capital = Money(Decimal(rng.choice(scale.capital_wan)) * 10_000)
    with as_of(FUND_DAY):
        fund = services.fund_create(
            code=f"{abbr.upper()}-IPF",
            name=f"{region.name}知识产权质押融资风险补偿基金",
            manager=manager,
            region=region,
            capital=capital,
            leverage_cap=LEVERAGE,
            established_on=FUND_DAY,
            expires_on=FUND_EXPIRES,
            sponsors=[office],
            acting_user=admin,
        )
    first = Money.from_fen(capital.fen * 6 // 10)
    for n, (day, amount) in enumerate(
        ((FUND_DAY, first), (SECOND_CONTRIBUTION_DAY, Money.from_fen(capital.fen - first.fen))), start=1
    ):
        if day > today:
            continue
        with as_of(day):
            services.contribution_record(
                fund=fund,
                sponsor=office,
                amount=amount,
                paid_on=day,
                idempotency_key=f"{fund.code}:capital:{n}",
                acting_user=operator,
                reference=f"{region.name[:2]}财拨〔{day.year}〕{10 + n}号",
            )
        counts["contributions"] += 1
    insurer, valuer = _first_org(OrganisationKind.INSURER, prefix), _first_org(OrganisationKind.VALUER, prefix)
    main = SUZHIDAI if prefix == "32" else SHENZHEN
    templates = [main]
    if insurer is not None and valuer is not None:
        templates.append(ZHONGSHAN)
    if prefix != "32":
        templates.append(ZHUHAI)
    templates.append(HAIKOU)
    plan = _FundPlan(fund=fund, prefix=prefix, operator=operator, reviewer=reviewer, templates=templates)
    if insurer is not None and valuer is not None:
        plan.parties = {PartyRole.INSURER: insurer, PartyRole.VALUER: valuer}
    pledge_rule = {"pledge_before_npl": prefix in PLEDGE_BEFORE_NPL_PROVINCES}
    for template in templates:
        with as_of(FUND_DAY):
            scheme = services.scheme_create(fund=fund, code=template.code, name=template.name, acting_user=operator)
        rules = {**COMMON_RULES, **template.rules, **pledge_rule, "sharing_tiers": template.tiers}
        v1 = {**rules, "effective_from": SCHEMES_FROM}
        published = [_publish(plan, scheme, v1, drafted=FUND_DAY, approved=FUND_DAY)]
        if template is main and today >= V2_APPROVED:
            v2 = {**rules, **V2_RULES, "effective_from": V2_FROM, "note": f"{rules['note']}\n{V2_NOTE}"}
            published.append(_publish(plan, scheme, v2, drafted=V2_DRAFTED, approved=V2_APPROVED))
            if today >= V3_DRAFTED:
                v3 = {**rules, **V3_RULES, "effective_from": V3_FROM, "note": f"{rules['note']}\n{V3_NOTE}"}
                _publish(plan, scheme, v3, drafted=V3_DRAFTED, approved=None)
        plan.schemes[template.code] = scheme
        plan.versions[template.code] = list(
            SchemeVersion.objects.filter(pk__in=[v.pk for v in published])
            .select_related("scheme__fund__region")
            .order_by("effective_from")
        )
        counts["schemes"] += 1
        counts["scheme_versions_published"] += len(published)
    return plan


# ---------------------------------------------------------------------------
# Enrolments (bulk, with the service's rules)
# ---------------------------------------------------------------------------


def _in_force(versions: list[SchemeVersion], day: datetime.date) -> SchemeVersion | None:
    """`services.version_in_force` over the published versions already in memory."""
    found = None
    for version in versions:
        if version.effective_from <= day and (version.effective_to is None or version.effective_to >= day):
            found = version
    return found


def _round_fen(value: Decimal) -> int:
    return int(value.quantize(Decimal(1), rounding=ROUND_HALF_UP))


@dataclass
class _Draw:
    loan: Loan
    version: SchemeVersion
    template: SchemeTemplate
    ip_share: Decimal
    enrolled_on: datetime.date
    released_on: datetime.date | None
    covered_fen: int
    fund_share: Decimal
    relink_cover: LoanCover | None


def _release_day(loan: Loan) -> datetime.date | None:
    if loan.status in LIVE_STATUSES:
        return None
    if loan.status == LoanStatus.WRITTEN_OFF:
        return loan.written_off_on or loan.closed_on or loan.maturity_date
    return loan.closed_on or loan.maturity_date


class _Enroller:
    def __init__(self, rng: random.Random, scale: CompensationScale, today: datetime.date) -> None:
        self.rng, self.scale, self.today = rng, scale, today
        self.rules: dict[int, sharing.SharingRule] = {}
        self.skipped: Counter[str] = Counter()

    def _rule(self, version: SchemeVersion) -> sharing.SharingRule:
        if version.pk not in self.rules:
            self.rules[version.pk] = services.sharing_rule(version)
        return self.rules[version.pk]

    def _fund_share(self, version: SchemeVersion, principal_fen: int) -> Decimal:
        """The fund's share of the tier the principal falls in, as `services.enrolment_create` writes on the cover."""
        rule = self._rule(version)
        last = rule.tiers[-1].up_to_fen
        index = sharing.tier_for(rule, principal_fen) if last is None or principal_fen <= last else -1
        return Decimal(rule.tiers[index].shares[PartyRole.FUND])

    def draws(self, plan: _FundPlan, covers: dict[int, list[LoanCover]]) -> list[_Draw]:
        rng = self.rng
        loans = (
            Loan.objects.filter(
                is_ip_pledge=True,
                status__in=DISBURSED,
                first_disbursed_on__gte=SCHEMES_FROM,
                first_disbursed_on__lte=self.today,
                region_code__startswith=plan.prefix,
            )
            .select_related("borrower")
            .order_by("first_disbursed_on", "pk")
        )
        main = plan.templates[0]
        weights = [t.weight for t in plan.templates]
        found: list[_Draw] = []
        for loan in loans:
            existing = covers.get(loan.pk, [])
            seeded_rc = [c for c in existing if c.kind == CoverKind.RISK_COMPENSATION]
            if not seeded_rc and rng.random() >= self.scale.enrol_share:
                continue
            template = rng.choices(plan.templates, weights)[0]
            ip_share = Decimal(rng.choice(template.ip_shares))
            delay = rng.randint(0, ENROL_DELAY_DAYS)
            assert loan.first_disbursed_on is not None
            choice = self._eligible(plan, template, loan, ip_share)
            if choice is None and template is not main:
                template, ip_share = main, Decimal(1)
                choice = self._eligible(plan, template, loan, ip_share)
            if choice is None:
                self.skipped["ineligible"] += 1
                continue
            version = choice
            enrolled_on = min(loan.first_disbursed_on + datetime.timedelta(days=delay), self.today)
            released_on = _release_day(loan)
            if released_on is not None and released_on <= enrolled_on:
                self.skipped["settled_before_enrolment"] += 1
                continue
            principal = loan.principal or loan.requested_amount
            share = self._fund_share(version, principal.fen)
            relink = seeded_rc[0] if seeded_rc else None
            others = sum((c.cover_ratio for c in existing if c is not relink), Decimal(0))
            if others + share > 1:
                self.skipped["covers_above_one"] += 1
                continue
            found.append(
                _Draw(
                    loan=loan,
                    version=version,
                    template=template,
                    ip_share=ip_share,
                    enrolled_on=enrolled_on,
                    released_on=released_on,
                    covered_fen=_round_fen(Decimal(principal.fen) * ip_share),
                    fund_share=share,
                    relink_cover=relink,
                )
            )
        return found

    def _eligible(
        self, plan: _FundPlan, template: SchemeTemplate, loan: Loan, ip_share: Decimal
    ) -> SchemeVersion | None:
        assert loan.first_disbursed_on is not None
        version = _in_force(plan.versions[template.code], loan.first_disbursed_on)
        if version is None or (template.parties and not plan.parties):
            return None
        if services.eligibility_problems(version=version, loan=loan, ip_share=ip_share):
            return None
        return version

    def within_cap(self, plan: _FundPlan, draws: list[_Draw]) -> list[_Draw]:
        """Replay the enrolments and the releases in date order; a loan that would break the cap is not enrolled."""
        capacity = _round_fen(Decimal(plan.fund.capital.fen) * plan.fund.leverage_cap)
        open_fen = 0
        releases: list[tuple[datetime.date, int, int]] = []
        kept = []
        for n, draw in enumerate(sorted(draws, key=lambda d: (d.enrolled_on, d.loan.pk))):
            while releases and releases[0][0] < draw.enrolled_on:
                open_fen -= heapq.heappop(releases)[2]
            if open_fen + draw.covered_fen > capacity:
                self.skipped["leverage_cap"] += 1
                continue
            open_fen += draw.covered_fen
            if draw.released_on is not None:
                heapq.heappush(releases, (draw.released_on, n, draw.covered_fen))
            kept.append(draw)
        return kept


def _write_enrolments(
    plan: _FundPlan, draws: list[_Draw], people: _People, scale: CompensationScale, counts: Counter[str]
) -> list[Enrolment]:
    fund = plan.fund
    new_covers: list[LoanCover] = []
    relinked: list[LoanCover] = []
    for draw in draws:
        if draw.relink_cover is not None:
            cover = draw.relink_cover
            cover.provider, cover.provider_name, cover.cover_ratio = fund.manager, fund.name[:128], draw.fund_share
            relinked.append(cover)
        else:
            new_covers.append(
                LoanCover(
                    loan=draw.loan,
                    kind=CoverKind.RISK_COMPENSATION,
                    provider=fund.manager,
                    provider_name=fund.name[:128],
                    cover_ratio=draw.fund_share,
                )
            )
    LoanCover.objects.bulk_create(new_covers, batch_size=2000)
    LoanCover.objects.bulk_update(relinked, ["provider", "provider_name", "cover_ratio"], batch_size=2000)
    by_loan = {c.loan_id: c for c in [*new_covers, *relinked]}
    enrolments = []
    for draw in draws:
        loan = draw.loan
        parties = plan.parties if draw.template.parties else {}
        bank_user = people.get(loan.bank_id)
        enrolments.append(
            Enrolment(  # type: ignore[misc]  # MoneyField takes Money
                fund=fund,
                scheme_version=draw.version,
                loan=loan,
                borrower_id=loan.borrower_id,
                enrolled_on=draw.enrolled_on,
                status=EnrolmentStatus.RELEASED if draw.released_on else EnrolmentStatus.ACTIVE,
                released_on=draw.released_on,
                ip_share=draw.ip_share,
                covered_amount=Money.from_fen(draw.covered_fen),
                insurer=parties.get(PartyRole.INSURER),
                valuer=parties.get(PartyRole.VALUER),
                cover=by_loan[loan.pk],
                enrolled_by=bank_user,
            )
        )
    Enrolment.objects.bulk_create(enrolments, batch_size=2000)
    if scale.history and enrolments:
        Enrolment.history.bulk_history_create(enrolments, default_change_reason="seed")  # type: ignore[attr-defined]
    counts["enrolments"] += len(enrolments)
    counts["enrolments_released"] += sum(1 for d in draws if d.released_on)
    counts["covers_created"] += len(new_covers)
    counts["covers_relinked"] += len(relinked)
    return enrolments


# ---------------------------------------------------------------------------
# Claims (services, in date order across funds)
# ---------------------------------------------------------------------------


@dataclass
class _ClaimCase:
    enrolment: Enrolment
    plan: _FundPlan
    target: str
    claim: Claim | None = None
    stopped: bool = False


Step = tuple[datetime.date, int, int, str, dict[str, Any]]  # day, case, order, action, arguments


class _Claims:
    def __init__(self, rng: random.Random, people: _People, today: datetime.date, say: Callable[[str], None]) -> None:
        self.rng, self.people, self.today, self.say = rng, people, today, say
        self.cases: list[_ClaimCase] = []
        self.steps: list[Step] = []
        self.refused: Counter[str] = Counter()
        self.cycle = 0

    def _add(self, case_no: int, day: datetime.date, action: str, **kwargs: Any) -> bool:
        if day > self.today:
            return False
        self.steps.append((day, case_no, len(self.steps), action, kwargs))
        return True

    def plan(self, plan: _FundPlan, enrolments: list[Enrolment]) -> None:
        rng = self.rng
        candidates = []
        for enrolment in enrolments:
            loan = enrolment.loan
            if enrolment.status != EnrolmentStatus.ACTIVE or loan.status not in LIVE_STATUSES:
                continue
            if loan.classification not in NON_PERFORMING_CLASSES or loan.outstanding_principal.fen <= 0:
                continue
            if self.people.get(loan.bank_id) is None:
                continue  # no officer of the lending bank to file it
            npl_on = loan.classification_since
            if npl_on is None or npl_on > self.today:
                continue
            if enrolment.scheme_version.pledge_before_npl:
                registration = loan.pledge_registration
                if registration is None or registration.registered_on > npl_on:
                    continue  # the claim precondition fails: the loan stays in the pool, unclaimed
            candidates.append((npl_on, loan.pk, enrolment))
        candidates.sort(key=lambda c: (c[0], c[1]))
        for npl_on, _loan_id, enrolment in candidates:
            target = CLAIM_CYCLE[self.cycle % len(CLAIM_CYCLE)]
            self.cycle += 1
            window = enrolment.scheme_version.claim_window_days
            filed = min(npl_on + datetime.timedelta(days=rng.randint(3, 15)), self.today)
            if window is not None and (filed - npl_on).days > window:
                continue
            case_no = len(self.cases)
            self.cases.append(_ClaimCase(enrolment=enrolment, plan=plan, target=target))
            self._timeline(case_no, enrolment, filed, target)

    def _timeline(self, n: int, enrolment: Enrolment, filed: datetime.date, target: str) -> None:
        """The claim's steps after `filed`, each a few days to weeks after the last; steps after today are left out,
        and so are the steps after them. The dates are compressed (disposal within weeks, not the months it usually
        takes) because the seeded loans turned bad in the last months before the seed date."""
        rng = self.rng

        def later(day: datetime.date, low: int, high: int) -> datetime.date:
            return day + datetime.timedelta(days=rng.randint(low, high))

        self._add(n, filed, "file")
        if target == "filed":
            return
        if target == "withdrawn":
            self._add(n, later(filed, 3, 15), "withdraw")
            return
        reviewed = later(filed, 1, 5)
        if target == "rejected":
            self._add(n, reviewed, "reject")
            return
        if not self._add(n, reviewed, "review") or target == "reviewed":
            return
        approved = later(reviewed, 1, 5)
        if not self._add(n, approved, "approve"):
            return
        last = approved
        if enrolment.insurer_id or enrolment.valuer_id:
            last = later(approved, 2, 7)
            if not self._add(n, last, "pay_advances"):
                return
        recoveries = target != "advance_paid" or rng.random() < 0.6
        if recoveries:
            last = later(last, 10, 45)
            if not self._add(n, last, "recover", kind="disposal" if rng.random() < 0.7 else "repayment"):
                return
            if rng.random() < 0.3:
                last = later(last, 5, 20)
                if not self._add(n, last, "recover", kind="repayment"):
                    return
        if target == "advance_paid":
            return
        cleared = later(last, 3, 10) if recoveries else later(last, 20, 60)
        if not self._add(n, cleared, "clear") or target == "clearing":
            return
        self._add(n, later(cleared, 2, 7), "pay_true_ups")

    # -- execution ----------------------------------------------------------------------------------------------

    def run(self, counts: Counter[str]) -> None:
        self.steps.sort(key=lambda s: (s[0], s[2]))
        for number, (day, case_no, _order, action, kwargs) in enumerate(self.steps, start=1):
            case = self.cases[case_no]
            if case.stopped:
                continue
            try:
                with as_of(day):
                    getattr(self, f"_{action}")(case, day, **kwargs)
            except (ValidationError, LookupError) as exc:  # refused that day (or nobody to act): the claim stays
                case.stopped = True
                self.refused[action] += 1
                if sum(self.refused.values()) <= 5:
                    self.say(f"claim step {action} on {day} refused: {exc}")
            if number % 500 == 0:
                self.say(f"claim steps {number:,}/{len(self.steps):,}")
        counts.update({f"claim_steps_refused_{k}": v for k, v in self.refused.items()})

    def _bank_user(self, case: _ClaimCase) -> User:
        return self.people.need(case.enrolment.loan.bank_id)

    def _file(self, case: _ClaimCase, day: datetime.date) -> None:
        loan = case.enrolment.loan
        rate = loan.annual_rate or Decimal("0.04")
        days = min(loan.days_past_due, 360)
        interest = Money.from_fen(_round_fen(Decimal(loan.outstanding_principal.fen) * rate * days / 360))
        case.claim = services.claim_file(
            enrolment=case.enrolment,
            acting_user=self._bank_user(case),
            collection_efforts=self.rng.choice(EFFORTS),
            unpaid_interest=interest,
        )

    def _withdraw(self, case: _ClaimCase, day: datetime.date) -> None:
        assert case.claim is not None
        case.claim = services.claim_withdraw(
            claim=case.claim, acting_user=self._bank_user(case), note="借款人已筹资归还欠款，银行撤回申请。"
        )

    def _review(self, case: _ClaimCase, day: datetime.date) -> None:
        assert case.claim is not None
        case.claim = services.claim_review(
            claim=case.claim, acting_user=case.plan.operator, note="材料齐全，贷款已进入不良，同意提交审批。"
        )

    def _reject(self, case: _ClaimCase, day: datetime.date) -> None:
        assert case.claim is not None
        case.claim = services.claim_reject(
            claim=case.claim, acting_user=case.plan.operator, note=self.rng.choice(REJECT_NOTES)
        )

    def _approve(self, case: _ClaimCase, day: datetime.date) -> None:
        assert case.claim is not None
        preview = services.preview_advance(case.claim)
        if preview.get("cap_reason") == "fund_balance":
            case.stopped = True  # the balance cannot pay the fund's full share: the claim waits for new capital
            self.refused["approve_waiting_for_capital"] += 1
            return
        case.claim = services.claim_approve(claim=case.claim, acting_user=case.plan.reviewer, note="同意先行拨付。")

    def _pay(self, case: _ClaimCase, day: datetime.date, purpose: str) -> None:
        assert case.claim is not None
        for payment in Payment.objects.filter(
            claim=case.claim, purpose=purpose, status=PaymentStatus.INSTRUCTED
        ).order_by("pk"):
            fund_pays = payment.payer_role == PartyRole.FUND
            user = case.plan.operator if fund_pays else self.people.need(payment.payer_id)
            services.payment_mark_paid(
                payment=payment, acting_user=user, paid_on=day, reference=f"HX{day:%Y%m%d}{payment.pk:06d}"
            )
        case.claim.refresh_from_db()

    def _pay_advances(self, case: _ClaimCase, day: datetime.date) -> None:
        self._pay(case, day, PaymentPurpose.ADVANCE)

    def _pay_true_ups(self, case: _ClaimCase, day: datetime.date) -> None:
        self._pay(case, day, PaymentPurpose.TRUE_UP)

    def _recover(self, case: _ClaimCase, day: datetime.date, kind: str) -> None:
        claim = case.claim
        assert claim is not None
        remaining = claim.exposure.fen - claim.recoveries_total.fen
        if remaining <= 0:
            return
        rate = self.rng.triangular(0.05, 0.7, 0.3) if kind == "disposal" else self.rng.uniform(0.03, 0.15)
        gross = max(_round_fen(Decimal(claim.exposure.fen) * Decimal(str(round(rate, 4)))) // 100 * 100, 100)
        costs = gross * self.rng.randint(3, 10) // 100 // 100 * 100 if kind == "disposal" else 0
        services.recovery_record(
            claim=claim,
            kind=kind,
            value_date=day,
            gross_amount=Money.from_fen(gross),
            costs=Money.from_fen(costs),
            idempotency_key=f"seed:{claim.reference}:{day.isoformat()}:{kind}",
            acting_user=self._bank_user(case),
            source_reference=f"({day.year})执{self.rng.randint(100, 9999)}号" if kind == "disposal" else "",
            note="质押专利经交易中心公开挂牌转让" if kind == "disposal" else "借款人部分还款",
        )
        claim.refresh_from_db()

    def _clear(self, case: _ClaimCase, day: datetime.date) -> None:
        assert case.claim is not None
        case.claim = services.claim_clear(claim=case.claim, acting_user=case.plan.operator, note="处置完毕，清算。")


# ---------------------------------------------------------------------------
# The run
# ---------------------------------------------------------------------------


def _provincial_offices() -> list[tuple[str, Organisation]]:
    """One provincial IP office per province, in code order."""
    found: dict[str, Organisation] = {}
    for office in (
        Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE, is_active=True, admin_level=AdminLevel.PROVINCIAL, region__isnull=False
        )
        .select_related("region")
        .order_by("region__code", "pk")
    ):
        assert office.region is not None
        found.setdefault(office.region.code[:2], office)
    return sorted(found.items())


def seed_compensation(
    *, scale: str = "demo", seed: int = 42, log: Callable[[str], None] | None = None
) -> CompensationSeedReport:
    """Seed funds, schemes, enrolments, claims and alerts (see the module docstring); one transaction."""
    started = time.perf_counter()
    chosen = COMPENSATION_SCALES[scale]
    say = log or (lambda _msg: None)
    rng = random.Random(f"compensation-{seed}")
    today = business_date()
    report = CompensationSeedReport(scale=chosen.name, seed=seed)
    counts: Counter[str] = Counter()
    with transaction.atomic():
        people = _People()
        plans = []
        for prefix, office in _provincial_offices():
            if Fund.objects.filter(code=f"{PROVINCE_ABBR.get(prefix, prefix).upper()}-IPF").exists():
                say(f"province {prefix}: its fund exists already, left as it is")
                continue
            plan = _create_fund(office, prefix, people, chosen, rng, counts, today)
            plans.append(plan)
            say(f"fund {plan.fund.code}: capital {plan.fund.capital} yuan, schemes {', '.join(plan.schemes)}")
        counts["funds"] = len(plans)

        enrol_started = time.perf_counter()
        enroller = _Enroller(rng, chosen, today)
        claims = _Claims(rng, people, today, say)
        covers: dict[int, list[LoanCover]] = defaultdict(list)
        for cover in LoanCover.objects.order_by("pk"):
            covers[cover.loan_id].append(cover)
        for plan in plans:
            draws = enroller.within_cap(plan, enroller.draws(plan, covers))
            enrolments = _write_enrolments(plan, draws, people, chosen, counts)
            loaded = list(
                Enrolment.objects.filter(pk__in=[e.pk for e in enrolments])
                .select_related("loan__pledge_registration", "scheme_version")
                .order_by("pk")
            )
            claims.plan(plan, loaded)
            say(f"fund {plan.fund.code}: {len(enrolments):,} loans enrolled ({time.perf_counter() - started:.1f}s)")
        counts.update({f"enrolments_skipped_{k}": v for k, v in enroller.skipped.items()})
        report.enrol_seconds = time.perf_counter() - enrol_started

        claim_started = time.perf_counter()
        say(f"claims: {len(claims.cases):,} to file, {len(claims.steps):,} steps")
        claims.run(counts)
        report.claim_seconds = time.perf_counter() - claim_started

        funds = [plan.fund for plan in plans]
        scan = services.fund_alerts_scan(today=today)
        counts["alerts_raised"] = scan["raised"]
        if chosen.stress_runs:
            for plan in plans:
                run = services.stress_run_request(fund=plan.fund, acting_user=plan.operator, simulations=10_000)
                services.stress_run_execute(run.pk)
                counts["stress_runs"] += 1
        for status, _label in ClaimStatus.choices:
            n = Claim.objects.filter(fund__in=funds, status=status).count()
            if n:
                counts[f"claims_{ClaimStatus(status).name.lower()}"] = n
        counts["claims"] = Claim.objects.filter(fund__in=funds).count()
        counts["enrolments_open"] = Enrolment.objects.filter(
            fund__in=funds, status__in=[EnrolmentStatus.ACTIVE, EnrolmentStatus.CLAIMED]
        ).count()
        counts["recoveries"] = Recovery.objects.filter(claim__fund__in=funds).count()
        counts["payments"] = Payment.objects.filter(fund__in=funds).count()
        counts["payments_awaiting"] = Payment.objects.filter(fund__in=funds, status=PaymentStatus.INSTRUCTED).count()
        counts["journal_entries"] = JournalEntry.objects.filter(fund__in=funds).count()
        counts["alerts_open"] = FundAlert.objects.filter(fund__in=funds, resolved_on__isnull=True).count()
        counts["scheme_versions_pending"] = SchemeVersion.objects.filter(
            scheme__fund__in=funds, status__in=[SchemeStatus.DRAFT, SchemeStatus.PENDING]
        ).count()
        report.counts = dict(sorted(counts.items()))
        report.seconds = time.perf_counter() - started
        record_event(
            acting_user=None,
            action="seed.compensation",
            object_type="compensation.fund",
            object_repr=f"{len(funds)} × 风险补偿基金",
            extra={
                "scale": chosen.name,
                "seed": seed,
                "as_of": today,
                "seconds": round(report.seconds, 1),
                **report.counts,
            },
        )
    return report
