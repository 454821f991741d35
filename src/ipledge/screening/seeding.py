"""Demo credit screening (授信白名单), written through the services so every row is what a user would have made.

Per province with a provincial IP office:
- credit records: synthetic files in the official layouts (tax credit ratings for most enterprises, administrative
  penalties, dishonest-debtor and abnormal-operation entries, a few serious violations), imported by the office;
  some records name their subject only by a variant of its name (full-width brackets, legal form dropped, one
  character changed) so that the matcher resolves some and sends the rest to the review queue;
- the baseline criteria for the year, published by the office; the first park of the province tightens them;
- enterprises with their own login apply to their park; every park is screened and submitted; the province approves
  all but the last park (left awaiting approval); the first park is screened again after a new penalty, so its
  draft shows a diff against the approved list;
- banks: each branch subscribes to its province, each tech sub-branch to the parks of its county; they decide on
  part of the delivered entries (grants with 无还本续贷 on some, refusals); a branch grants the first approved park an
  intended credit line around the park's most common IPC main group, and the park allocates it to whitelisted
  holders of such patents, one allocation drawn on by a grant.

Randomness is seeded; `seed_screening --seed N` on the same registry gives the same screening.
"""

from __future__ import annotations

import csv
import datetime
import io
import random
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import transaction

from ipledge.core.choices import AdminLevel, BankTier, OrganisationKind, Role
from ipledge.core.context import business_date
from ipledge.core.models import Organisation, User
from ipledge.core.money import Money
from ipledge.registry.choices import IPKind, LegalStatus
from ipledge.registry.models import Enterprise, IPRightOwner, Park, ParkMembership

from .choices import CriteriaLevel, DecisionOutcome, LineBasis, RecordKind, VersionStatus
from .models import WhitelistEntry
from .services import banking, records, scorecards, whitelists

MIN_SCORE = Decimal("55")  # the expert card reads 60 as 20:1 good:bad odds; 55 admits about one in two SMEs
PARK_MIN_SCORE = Decimal("60")


@dataclass
class ScreeningSeedReport:
    seed: int
    counts: Counter[str] = field(default_factory=Counter)
    seconds: float = 0.0


class _People:
    def __init__(self) -> None:
        self.ids: dict[tuple[int, str], User] = {}
        for user in (
            User.objects.filter(is_active=True, organisation__isnull=False)
            .select_related("organisation__region")
            .order_by("id")
        ):
            assert user.organisation_id is not None
            self.ids.setdefault((user.organisation_id, user.role), user)

    def get(self, org: Organisation, role: str = Role.OPERATOR) -> User | None:
        return self.ids.get((org.pk, role))


def _csv(header: list[str], rows: list[list[str]]) -> bytes:
    out = io.StringIO()
    writer = csv.writer(out)
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue().encode("utf-8")


def _name_variant(name: str, rng: random.Random) -> str:
    """How registers outside the market regulator often spell a company: brackets, legal form, one character."""
    choice = rng.random()
    if choice < 0.4:
        return name.replace("(", "（").replace(")", "）") + ("" if name.endswith("公司") else "")
    if choice < 0.75:
        return name.removesuffix("有限公司").removesuffix("股份") or name
    chars = list(name)
    i = rng.randrange(len(chars) // 2, max(len(chars) // 2 + 1, len(chars) - 4))
    chars[i] = "新" if chars[i] != "新" else "兴"
    return "".join(chars)


def _day_between(rng: random.Random, start: datetime.date, end: datetime.date) -> datetime.date:
    return start + datetime.timedelta(days=rng.randrange(max(1, (end - start).days)))


class _Province:
    def __init__(self, office: Organisation, people: _People, rng: random.Random, today: datetime.date) -> None:
        assert office.region is not None
        self.office = office
        self.prefix = office.region.prefix
        self.region_name = office.region.name
        self.people = people
        self.rng = rng
        self.today = today
        self.enterprises = list(
            Enterprise.objects.filter(region_code__startswith=self.prefix).order_by("pk").only("pk", "uscc", "name")
        )
        self.parks = list(Park.objects.filter(region__code__startswith=self.prefix).order_by("pk"))

    @property
    def operator(self) -> User:
        user = self.people.get(self.office) or self.people.get(self.office, Role.ADMIN)
        assert user is not None, f"{self.office} has no operator"
        return user

    def reviewer(self) -> User:
        user = self.people.get(self.office, Role.REVIEWER) or self.people.get(self.office, Role.ADMIN)
        assert user is not None, f"{self.office} has no reviewer"
        return user

    def import_records(self, counts: Counter[str]) -> None:
        rng, today = self.rng, self.today
        files: dict[str, bytes] = {}
        rated = [e for e in self.enterprises if rng.random() < 0.6]
        ratings = rng.choices("ABMCD", weights=(35, 40, 12, 8, 5), k=len(rated))
        files[RecordKind.TAX_RATING] = _csv(
            ["纳税人名称", "统一社会信用代码", "纳税信用级别", "评价年度"],
            [[e.name, e.uscc, r, str(today.year - 1)] for e, r in zip(rated, ratings, strict=True)],
        )
        penalties = []
        for n, e in enumerate(e for e in self.enterprises if rng.random() < 0.08):
            decided = _day_between(rng, today - datetime.timedelta(days=4 * 365), today)
            penalties.append(
                [
                    f"{self.region_name[:1]}市监罚〔{decided.year}〕{n + 1:04d}号",
                    rng.choice(["虚假宣传", "未按规定公示年度报告", "产品质量不合格", "违反安全生产规定"]),
                    rng.choice(["警告", "罚款"]),
                    f"{self.region_name}市场监督管理局",
                    decided.isoformat(),
                    e.name,
                    e.uscc,
                ]
            )
        files[RecordKind.PENALTY] = _csv(
            [
                "行政处罚决定书文号",
                "违法行为类型",
                "处罚种类",
                "作出行政处罚决定机关名称",
                "作出行政处罚决定日期",
                "企业名称",
                "统一社会信用代码",
            ],
            penalties,
        )
        dishonest = []
        for n, e in enumerate(e for e in self.enterprises if rng.random() < 0.025):
            listed = _day_between(rng, today - datetime.timedelta(days=3 * 365), today)
            by_name_only = n % 2 == 1
            removed = _day_between(rng, listed, today).isoformat() if rng.random() < 0.3 else ""
            dishonest.append(
                [
                    _name_variant(e.name, rng) if by_name_only else e.name,
                    "" if by_name_only else e.uscc,
                    f"{self.region_name}第一中级人民法院",
                    f"({listed.year}){self.prefix}执{n + 1}号",
                    "有履行能力而拒不履行生效法律文书确定义务",
                    "全部未履行",
                    listed.isoformat(),
                    removed,
                ]
            )
        files[RecordKind.DISHONEST] = _csv(
            [
                "被执行人姓名/名称",
                "统一社会信用代码",
                "执行法院",
                "案号",
                "失信被执行人行为具体情形",
                "被执行人的履行情况",
                "发布时间",
                "移出日期",
            ],
            dishonest,
        )
        abnormal = []
        for e in (e for e in self.enterprises if rng.random() < 0.03):
            listed = _day_between(rng, today - datetime.timedelta(days=3 * 365), today)
            removed = _day_between(rng, listed, today).isoformat() if rng.random() < 0.5 else ""
            abnormal.append(
                [
                    e.name,
                    e.uscc,
                    "未依照规定期限公示年度报告",
                    listed.isoformat(),
                    f"{self.region_name}市场监督管理局",
                    removed,
                ]
            )
        files[RecordKind.ABNORMAL] = _csv(
            ["企业名称", "统一社会信用代码", "列入经营异常名录原因", "列入日期", "作出决定机关(列入)", "移出日期"],
            abnormal,
        )
        serious = [
            [
                e.name,
                e.uscc,
                "提交虚假材料取得公司登记",
                _day_between(rng, today - datetime.timedelta(days=700), today).isoformat(),
            ]
            for e in self.enterprises
            if rng.random() < 0.005
        ]
        files[RecordKind.SERIOUS_VIOLATION] = _csv(
            ["企业名称", "统一社会信用代码", "列入严重违法失信名单原因", "列入日期"], serious
        )
        for kind, content in files.items():
            if content.count(b"\n") <= 1:
                continue
            batch = records.credit_import(
                organisation=self.office,
                kind=kind,
                file_name=f"{self.prefix}-{kind}-{today.year}.csv",
                content=content,
                acting_user=self.operator,
            )
            assert batch.status == "committed", batch.errors[:3]
            counts["credit_imports"] += 1
            counts["credit_records"] += batch.rows_total
            counts["records_pending_review"] += batch.rows_review


BASELINE_EXCLUSIONS: list[dict[str, Any]] = [
    {"rule": "dishonest"},
    {"rule": "serious_violation"},
    {"rule": "abnormal"},
    {"rule": "tax_rating", "params": {"ratings": ["D"]}},
    {"rule": "penalties", "params": {"max_count": 2, "within_days": 1095}},
]
PARK_EXCLUSIONS: list[dict[str, Any]] = [
    *BASELINE_EXCLUSIONS[:3],
    {"rule": "tax_rating", "params": {"ratings": ["C", "D"]}},
    {"rule": "penalties", "params": {"max_count": 1, "within_days": 1095}},
]


def _park_admin_user(people: _People, park: Park, role: str = Role.OPERATOR) -> User | None:
    return people.get(park.administering_org, role) if park.administering_org else None


def _top_ipc_group(enterprise_ids: list[int]) -> tuple[str, set[int]]:
    """The IPC main group most of these enterprises hold a valid patent in, and who holds one."""
    holders: dict[str, set[int]] = defaultdict(set)
    for enterprise_id, main_ipc in IPRightOwner.objects.filter(
        enterprise_id__in=enterprise_ids,
        right__kind=IPKind.PATENT,
        right__legal_status=LegalStatus.VALID,
    ).values_list("enterprise_id", "right__main_ipc"):
        try:
            group = banking.normalise_ipc_group((main_ipc or "").split("/")[0] + "/")
        except ValueError:
            continue
        holders[group].add(enterprise_id)
    if not holders:
        return "", set()
    group = max(sorted(holders), key=lambda g: len(holders[g]))
    return group, holders[group]


def seed_screening(*, seed: int = 42, log: Callable[[str], None] | None = None) -> ScreeningSeedReport:
    """Seed everything described in the module docstring, in one transaction (all or nothing)."""
    with transaction.atomic():
        return _seed(seed=seed, log=log)


def _seed(*, seed: int, log: Callable[[str], None] | None) -> ScreeningSeedReport:
    started = time.perf_counter()
    say = log or (lambda _msg: None)
    rng = random.Random(f"screening-{seed}")
    today = business_date()
    period = str(today.year)
    report = ScreeningSeedReport(seed=seed)
    counts = report.counts
    people = _People()
    card = scorecards.scorecard_default()
    offices: dict[str, Organisation] = {}
    for office in (
        Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL, region__isnull=False, is_active=True
        )
        .select_related("region")
        .order_by("region__code")
    ):
        assert office.region is not None
        offices.setdefault(office.region.prefix, office)
    approved_parks: list[tuple[_Province, Park]] = []
    for prefix, office in offices.items():
        province = _Province(office, people, rng, today)
        if not province.parks:
            continue
        province.import_records(counts)
        say(f"{province.region_name}: {counts['credit_records']:,} credit records so far")
        baseline = whitelists.criteria_create(
            owner=office,
            level=CriteriaLevel.BASELINE,
            region=office.region,
            period=period,
            name=f"{province.region_name}知识产权质押融资授信白名单基准标准（{period}年）",
            min_score=MIN_SCORE,
            scorecard=card,
            exclusions=BASELINE_EXCLUSIONS,
            note="省级基准：失信、严重违法、经营异常、纳税信用 D 级一票否决；近三年行政处罚超过 2 次排除。",
            acting_user=province.operator,
        )
        baseline = whitelists.criteria_publish(criteria=baseline, acting_user=province.operator)
        counts["baselines"] += 1
        first = province.parks[0]
        park_user = _park_admin_user(people, first)
        if park_user is not None:
            refined = whitelists.criteria_create(
                owner=first.administering_org,
                level=CriteriaLevel.PARK,
                park=first,
                baseline=baseline,
                period=period,
                name=f"{first.name}授信白名单细化标准（{period}年）",
                min_score=PARK_MIN_SCORE,
                scorecard=card,
                exclusions=PARK_EXCLUSIONS,
                min_invention_patents=1,
                note="园区细化：纳税信用 C 级亦排除，近三年处罚不超过 1 次，至少持有 1 件有效发明专利。",
                acting_user=park_user,
            )
            whitelists.criteria_publish(criteria=refined, acting_user=park_user)
            counts["park_criteria"] += 1
        for park in province.parks:
            for membership in ParkMembership.objects.filter(
                park=park, enterprise__organisation__isnull=False, left_on__isnull=True
            ).select_related("enterprise__organisation")[:2]:
                applicant = people.get(membership.enterprise.organisation)  # type: ignore[arg-type]
                if applicant is None:
                    continue
                whitelists.application_submit(
                    enterprise=membership.enterprise,
                    park=park,
                    period=period,
                    statement="本企业持有多件有效发明专利，近三年无失信记录，申请纳入园区授信白名单。",
                    acting_user=applicant,
                )
                counts["applications"] += 1
        for i, park in enumerate(province.parks):
            operator = _park_admin_user(people, park)
            if operator is None:
                continue
            version = whitelists.whitelist_screen(park=park, period=period, acting_user=operator)
            counts["versions_screened"] += 1
            whitelists.version_submit(version=version, acting_user=operator)
            if i == len(province.parks) - 1 and len(province.parks) > 1:
                counts["versions_awaiting_approval"] += 1
                continue
            whitelists.version_approve(version=version, acting_user=province.reviewer(), note="同意纳入。")
            counts["versions_approved"] += 1
            counts["entries_included"] += version.entries.filter(included=True).count()
            approved_parks.append((province, park))
            say(f"{park.name}: {version.included} of {version.candidates} enterprises on the approved list")
        # A fresh court listing for the best-scored enterprise of the first park's list, and the park screens again:
        # its draft shows what would leave the list, and why.
        first_entry = (
            WhitelistEntry.objects.filter(
                version__whitelist__park=first, version__status=VersionStatus.APPROVED, included=True
            )
            .select_related("enterprise")
            .order_by("-score")
            .first()
        )
        if first_entry is not None and park_user is not None:
            e = first_entry.enterprise
            listed = today - datetime.timedelta(days=3)
            fresh = _csv(
                ["被执行人姓名/名称", "统一社会信用代码", "执行法院", "案号", "被执行人的履行情况", "发布时间"],
                [[e.name, e.uscc, "人民法院", f"({listed.year}){prefix}执恢1号", "全部未履行", listed.isoformat()]],
            )
            records.credit_import(
                organisation=office,
                kind=RecordKind.DISHONEST,
                file_name=f"{prefix}-dishonest-supplement.csv",
                content=fresh,
                acting_user=province.operator,
            )
            whitelists.whitelist_screen(park=first, period=period, acting_user=park_user)
            counts["versions_rescreened"] += 1
    _seed_banks(approved_parks, people, rng, today, counts, say)
    report.seconds = time.perf_counter() - started
    return report


def _seed_banks(
    approved_parks: list[tuple[_Province, Park]],
    people: _People,
    rng: random.Random,
    today: datetime.date,
    counts: Counter[str],
    say: Callable[[str], None],
) -> None:
    banks = list(
        Organisation.objects.filter(kind=OrganisationKind.BANK, is_active=True, region__isnull=False)
        .select_related("region")
        .order_by("tree_path")
    )
    provinces = {province.prefix for province, _park in approved_parks}
    first_park_of: dict[str, Park] = {}
    for province, park in approved_parks:
        first_park_of.setdefault(province.prefix, park)
    for bank in banks:
        assert bank.region is not None
        operator = people.get(bank)
        if operator is None:
            continue
        prefix = bank.region.code[:2]
        if bank.bank_tier == BankTier.BRANCH and prefix in provinces:
            province_region = bank.region if bank.region.code.endswith("0000") else bank.region.parent
            while province_region is not None and not province_region.code.endswith("0000"):
                province_region = province_region.parent
            banking.subscription_create(bank=bank, region=province_region, acting_user=operator)
            counts["subscriptions"] += 1
        elif bank.bank_tier == BankTier.TECH_SUB_BRANCH:
            for park in Park.objects.filter(region=bank.region):
                banking.subscription_create(bank=bank, park=park, acting_user=operator)
                counts["subscriptions"] += 1
        else:
            continue
        entries = list(
            WhitelistEntry.objects.restrict(operator, "view")
            .filter(included=True, version__status=VersionStatus.APPROVED)
            .select_related("enterprise")
            .order_by("pk")
        )
        for entry in entries:
            if rng.random() > 0.3:
                continue
            if rng.random() < 0.15:
                banking.decision_record(
                    entry=entry, outcome=DecisionOutcome.DECLINED, note="经营现金流不足", acting_user=operator
                )
                counts["decisions_declined"] += 1
                continue
            banking.decision_record(
                entry=entry,
                outcome=DecisionOutcome.GRANTED,
                amount=Money(Decimal(rng.choice([100, 200, 300, 500, 800, 1000])) * 10_000),
                term_months=rng.choice([12, 12, 24, 36]),
                renewal_without_repayment=rng.random() < 0.25,
                acting_user=operator,
            )
            counts["decisions_granted"] += 1
        line_park = first_park_of.get(prefix)
        if bank.bank_tier != BankTier.BRANCH or line_park is None or counts[f"line_{prefix}"]:
            continue
        _seed_line(bank, operator, line_park, people, rng, today, counts, say)
        counts[f"line_{prefix}"] += 1
    for key in [k for k in counts if k.startswith("line_")]:
        del counts[key]


def _seed_line(
    bank: Organisation,
    operator: User,
    park: Park,
    people: _People,
    rng: random.Random,
    today: datetime.date,
    counts: Counter[str],
    say: Callable[[str], None],
) -> None:
    included = list(
        WhitelistEntry.objects.filter(
            version__whitelist__park=park, version__status=VersionStatus.APPROVED, included=True
        ).order_by("-score")
    )
    group, holders = _top_ipc_group([e.enterprise_id for e in included])
    if not group:
        return
    line = banking.line_create(
        bank=bank,
        park=park,
        basis=LineBasis.PATENT_CLUSTER,
        ipc_group=group,
        amount=Money("50000000.00"),
        valid_from=datetime.date(today.year, 1, 1),
        valid_to=datetime.date(today.year, 12, 31),
        conditions="园区白名单内持有该 IPC 组有效发明专利的企业；单户不超过 500 万元；知识产权质押，可叠加政策性担保。",
        acting_user=operator,
    )
    counts["credit_lines"] += 1
    park_user = _park_admin_user(people, park)
    if park_user is None:
        return
    allocations = []
    for entry in [e for e in included if e.enterprise_id in holders][:5]:
        allocations.append(
            banking.allocation_create(
                line=line,
                entry=entry,
                amount=Money(Decimal(rng.choice([200, 300, 500])) * 10_000),
                note="园区推荐",
                acting_user=park_user,
            )
        )
        counts["allocations"] += 1
    if allocations:
        first = allocations[0]
        banking.decision_record(
            entry=first.entry,
            outcome=DecisionOutcome.GRANTED,
            amount=Money(first.amount.amount / 2),
            term_months=12,
            allocation=first,
            acting_user=operator,
        )
        counts["decisions_on_allocations"] += 1
    say(f"{bank.name} → {park.name}: line {group} of ¥50,000,000, {len(allocations)} allocations")
