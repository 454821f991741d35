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
