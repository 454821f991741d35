"""Screening test worlds built straight through the ORM, so that each area's tests stand without the others'
services: a minimal scorecard, a published Beijing baseline, and an approved whitelist for park P1 (E1 in, E1b out).

Area tests that exercise the services build their own states through them; these are the fixed starting points."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from ipledge.core.models import Region
from ipledge.screening.choices import CriteriaLevel, CriteriaStatus, EntrySource, ScorecardMethod, VersionStatus
from ipledge.screening.engine.spec import Bin, Characteristic, CriteriaSpec, ExclusionRule, ScorecardSpec
from ipledge.screening.models import Criteria, Scorecard, Whitelist, WhitelistEntry, WhitelistVersion
from tests.world import World

PERIOD = "2026"

SMALL_CARD = ScorecardSpec(
    method=ScorecardMethod.EXPERT,
    base_points=40.0,
    characteristics=(
        Characteristic(
            name="invention_patents",
            label="有效发明专利",
            kind="numeric",
            bins=(
                Bin(label="0", points=0.0, upper=1.0),
                Bin(label="1–4", points=15.0, lower=1.0, upper=5.0),
                Bin(label="≥5", points=30.0, lower=5.0),
            ),
        ),
        Characteristic(
            name="is_high_tech",
            label="高新技术企业",
            kind="flag",
            bins=(
                Bin(label="否", points=0.0, categories=("false",)),
                Bin(label="是", points=20.0, categories=("true",)),
            ),
        ),
    ),
    notes="test card",
)

BASELINE_RULES = CriteriaSpec(
    exclusions=(
        ExclusionRule(rule="dishonest"),
        ExclusionRule(rule="serious_violation"),
        ExclusionRule(rule="tax_rating", params={"ratings": ["D"]}),
    ),
    min_score=50.0,
)


def add_scorecard(w: World) -> Scorecard:
    return Scorecard.objects.create(
        name="测试评分卡", method=ScorecardMethod.EXPERT, definition=SMALL_CARD.to_json(), owner=w.orgs["ipo_bj"]
    )


def add_baseline(w: World, *, scorecard: Scorecard | None = None, region: str = "110000") -> Criteria:
    owner = w.orgs["ipo_bj"] if region.startswith("11") else w.orgs["ipo_js"]
    return Criteria.objects.create(
        name="北京市授信白名单基准标准",
        level=CriteriaLevel.BASELINE,
        owner=owner,
        region=Region.objects.get(code=region),
        period=PERIOD,
        status=CriteriaStatus.PUBLISHED,
        scorecard=scorecard or add_scorecard(w),
        min_score=Decimal("50.00"),
        exclusions=[rule.to_json() for rule in BASELINE_RULES.exclusions],
        published_at=timezone.now(),
    )


@dataclass
class Approved:
    baseline: Criteria
    whitelist: Whitelist
    version: WhitelistVersion
    included: WhitelistEntry  # E1
    excluded: WhitelistEntry  # E1b


def approved_whitelist(w: World) -> Approved:
    """Park P1's 2026 whitelist, version 1 approved by ipo_bj's reviewer: E1 in (score 75), E1b out (score 40)."""
    baseline = add_baseline(w)
    park = w.parks["p1"]
    whitelist = Whitelist.objects.create(park=park, period=PERIOD, baseline=baseline, region_code=park.region.code)
    version = WhitelistVersion.objects.create(
        whitelist=whitelist,
        number=1,
        status=VersionStatus.APPROVED,
        as_of=datetime.date(2026, 1, 5),
        scorecard=baseline.scorecard,
        rules=BASELINE_RULES.to_json(),
        candidates=2,
        included=1,
        prepared_by=w.user("park1"),
        submitted_by=w.user("park1"),
        submitted_at=timezone.now(),
        decided_by=w.user("ipo_bj", "reviewer"),
        decided_at=timezone.now(),
    )
    whitelist.current_version = version
    whitelist.save(update_fields=["current_version"])
    included = WhitelistEntry.objects.create(
        version=version,
        enterprise=w.enterprises["e1"],
        included=True,
        source=EntrySource.SCREENED,
        score=Decimal("75.00"),
        points={"invention_patents": 15.0, "is_high_tech": 20.0},
        values={"invention_patents": "1–4", "is_high_tech": "是"},
        reasons=["passed"],
    )
    excluded = WhitelistEntry.objects.create(
        version=version,
        enterprise=w.enterprises["e1b"],
        included=False,
        source=EntrySource.SCREENED,
        score=Decimal("40.00"),
        points={"invention_patents": 0.0, "is_high_tech": 0.0},
        values={"invention_patents": "0", "is_high_tech": "否"},
        reasons=["below_min_score"],
    )
    return Approved(baseline=baseline, whitelist=whitelist, version=version, included=included, excluded=excluded)


def add_screening(w: World) -> dict[str, object]:
    """Rows of every screening model on both sides (Beijing and Jiangsu), for the permission matrix and the endpoint
    matrix: imports by both provincial offices with matched and pending records, published and draft criteria, P1's
    approved whitelist and P2's draft, applications, subscriptions, a decision, and credit lines with an allocation."""
    from ipledge.core.money import Money
    from ipledge.screening.choices import (
        ApplicationStatus,
        DecisionOutcome,
        FileFormat,
        ImportStatus,
        LineBasis,
        MatchStatus,
        RecordKind,
    )
    from ipledge.screening.models import (
        CreditDecision,
        CreditImport,
        CreditRecord,
        IntendedCreditLine,
        LineAllocation,
        Subscription,
        WhitelistApplication,
    )

    approved = approved_whitelist(w)
    bj_import = CreditImport.objects.create(
        organisation=w.orgs["ipo_bj"],
        kind=RecordKind.PENALTY,
        file_name="bj.csv",
        file_format=FileFormat.CSV,
        sha256="0" * 64,
        status=ImportStatus.COMMITTED,
        rows_total=2,
        rows_matched=1,
        rows_review=1,
    )
    js_import = CreditImport.objects.create(
        organisation=w.orgs["ipo_js"],
        kind=RecordKind.DISHONEST,
        file_name="js.json",
        file_format=FileFormat.JSON,
        sha256="1" * 64,
        status=ImportStatus.COMMITTED,
        rows_total=1,
        rows_matched=1,
    )
    e1, e2 = w.enterprises["e1"], w.enterprises["e2"]
    CreditRecord.objects.create(
        kind=RecordKind.PENALTY,
        batch=bj_import,
        source_key="京海市监罚〔2025〕101号",
        subject_name=e1.name,
        subject_uscc=e1.uscc,
        enterprise=e1,
        match_status=MatchStatus.USCC,
        region_code=e1.region_code,
        reference="京海市监罚〔2025〕101号",
        authority="北京市海淀区市场监督管理局",
        listed_on=datetime.date(2025, 3, 1),
        expires_on=datetime.date(2028, 3, 1),
    )
    CreditRecord.objects.create(
        kind=RecordKind.PENALTY,
        batch=bj_import,
        source_key="京海市监罚〔2025〕102号",
        subject_name="北京智芯科技公司",
        match_status=MatchStatus.PENDING,
        candidates=[{"id": e1.pk, "name": e1.name, "score": 90.0}],
        reference="京海市监罚〔2025〕102号",
        listed_on=datetime.date(2025, 4, 1),
    )
    CreditRecord.objects.create(
        kind=RecordKind.DISHONEST,
        batch=js_import,
        source_key="(2025)苏0115执1号",
        subject_name=e2.name,
        subject_uscc=e2.uscc,
        enterprise=e2,
        match_status=MatchStatus.USCC,
        region_code=e2.region_code,
        reference="(2025)苏0115执1号",
        authority="南京市江宁区人民法院",
        listed_on=datetime.date(2025, 5, 1),
    )
    js_baseline = Criteria.objects.create(
        name="江苏省授信白名单基准标准（草稿）",
        level=CriteriaLevel.BASELINE,
        owner=w.orgs["ipo_js"],
        region=Region.objects.get(code="320000"),
        period=PERIOD,
        status=CriteriaStatus.DRAFT,
        scorecard=approved.baseline.scorecard,
        min_score=Decimal("55.00"),
    )
    Criteria.objects.create(
        name="海淀园细化标准（草稿）",
        level=CriteriaLevel.PARK,
        owner=w.orgs["park1"],
        region=w.parks["p1"].region,
        park=w.parks["p1"],
        baseline=approved.baseline,
        period=PERIOD,
        status=CriteriaStatus.DRAFT,
        scorecard=approved.baseline.scorecard,
        min_score=Decimal("60.00"),
    )
    p2 = w.parks["p2"]
    js_list = Whitelist.objects.create(park=p2, period=PERIOD, baseline=js_baseline, region_code=p2.region.code)
    js_draft = WhitelistVersion.objects.create(
        whitelist=js_list,
        number=1,
        as_of=datetime.date(2026, 1, 5),
        scorecard=approved.baseline.scorecard,
        candidates=1,
        included=1,
        prepared_by=w.user("park2"),
    )
    js_entry = WhitelistEntry.objects.create(version=js_draft, enterprise=e2, included=True, score=Decimal("66.00"))
    WhitelistApplication.objects.create(
        enterprise=e1, park=w.parks["p1"], period=PERIOD, status=ApplicationStatus.INCLUDED, region_code="110108"
    )
    WhitelistApplication.objects.create(enterprise=e2, park=p2, period=PERIOD, region_code="320115")
    Subscription.objects.create(bank=w.orgs["bank1_sub"], park=w.parks["p1"])
    Subscription.objects.create(bank=w.orgs["bank2"], region=Region.objects.get(code="320000"))
    line = IntendedCreditLine.objects.create(
        bank=w.orgs["bank1_sub"],
        park=w.parks["p1"],
        basis=LineBasis.PATENT_CLUSTER,
        ipc_group="H01L 27/",
        amount=Money("10000000.00"),
        allocated=Money("2000000.00"),
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2026, 12, 31),
        region_code="110108",
    )
    js_line = IntendedCreditLine.objects.create(
        bank=w.orgs["bank2"],
        park=p2,
        basis=LineBasis.REGIONAL_BRAND,
        brand="江宁光电",
        amount=Money("5000000.00"),
        allocated=Money("500000.00"),
        valid_from=datetime.date(2026, 1, 1),
        valid_to=datetime.date(2026, 12, 31),
        region_code="320115",
    )
    allocation = LineAllocation.objects.create(  # type: ignore[misc]
        line=line,
        enterprise=e1,
        entry=approved.included,
        amount=Money("2000000.00"),
        utilised=Money("1000000.00"),
        allocated_on=datetime.date(2026, 2, 1),
        region_code="110108",
    )
    LineAllocation.objects.create(  # type: ignore[misc]
        line=js_line,
        enterprise=e2,
        entry=js_entry,
        amount=Money("500000.00"),
        allocated_on=datetime.date(2026, 2, 1),
        region_code="320115",
    )
    CreditDecision.objects.create(  # type: ignore[misc]
        bank=w.orgs["bank1_sub"],
        entry=approved.included,
        enterprise=e1,
        outcome=DecisionOutcome.GRANTED,
        amount=Money("1000000.00"),
        term_months=12,
        renewal_without_repayment=True,
        allocation=allocation,
        decided_on=datetime.date(2026, 2, 10),
        region_code="110108",
    )
    CreditDecision.objects.create(
        bank=w.orgs["bank2"],
        entry=js_entry,
        enterprise=e2,
        outcome=DecisionOutcome.DECLINED,
        decided_on=datetime.date(2026, 2, 11),
        region_code="320115",
    )
    return {"approved": approved, "line": line, "allocation": allocation, "js_draft": js_draft}
