"""Whitelist-area test states (授信白名单): a Beijing baseline published through the service on the small test card,
and park P1 filled with enterprises whose credit records are built straight through the ORM (a `CreditImport`
batch and its `CreditRecord` rows), so these tests stand without the records importer.

Scores on `factories.SMALL_CARD` (base 40; invention patents 0 / 1–4 / ≥5 → 0 / 15 / 30; 高新技术企业 → 20):
- E1 (world): one invention patent, high-tech → 75, passes everything;
- E1b (world): no patent, not high-tech → 40, below the baseline's 50;
- "dishonest": high-tech, on the dishonest-debtor list → 60 but excluded;
- "serious": high-tech, on the serious-violation list → excluded;
- "tax_d": high-tech, latest tax rating D → excluded;
- "repaired": high-tech, a dishonest record removed before the screening date → 60, included;
- "park_only": high-tech, no patent → 60: passes the baseline (50), fails a park minimum of 65 only.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from ipledge.core.choices import Role
from ipledge.core.models import Region
from ipledge.core.synthetic import make_uscc
from ipledge.registry.models import Enterprise
from ipledge.registry.services import enterprise_create
from ipledge.screening.choices import CriteriaLevel, FileFormat, ImportStatus, MatchStatus, RecordKind
from ipledge.screening.models import CreditImport, CreditRecord, Criteria, Scorecard
from ipledge.screening.services import whitelists as services
from tests.screening.factories import PERIOD, add_scorecard
from tests.world import World

TODAY = datetime.date(2026, 3, 2)
AS_OF = datetime.date(2026, 3, 1)
JOINED = datetime.date(2024, 1, 1)

BASELINE_EXCLUSIONS: list[dict[str, Any]] = [
    {"rule": "dishonest"},
    {"rule": "serious_violation"},
    {"rule": "tax_rating", "params": {"ratings": ["D"]}},
]


@dataclass
class ScreeningWorld:
    scorecard: Scorecard
    baseline: Criteria
    ents: dict[str, Enterprise] = field(default_factory=dict)


def add_record(
    w: World,
    enterprise: Enterprise,
    kind: str,
    listed_on: datetime.date,
    *,
    tax_rating: str = "",
    removed_on: datetime.date | None = None,
) -> CreditRecord:
    batch = CreditImport.objects.create(
        organisation=w.orgs["ipo_bj"],
        kind=kind,
        file_name=f"{kind}.csv",
        file_format=FileFormat.CSV,
        sha256="0" * 64,
        status=ImportStatus.COMMITTED,
        rows_total=1,
        rows_matched=1,
    )
    return CreditRecord.objects.create(
        kind=kind,
        batch=batch,
        source_key=f"{kind}-{enterprise.uscc}-{listed_on.isoformat()}",
        subject_name=enterprise.name,
        subject_uscc=enterprise.uscc,
        enterprise=enterprise,
        match_status=MatchStatus.USCC,
        region_code=enterprise.region_code,
        listed_on=listed_on,
        removed_on=removed_on,
        tax_rating=tax_rating,
        rating_year=listed_on.year - 1 if tax_rating else None,
        category="测试",
    )


def member(
    w: World, key: str, name: str, serial: int, *, high_tech: bool = True, joined: datetime.date = JOINED
) -> Enterprise:
    return enterprise_create(
        uscc=make_uscc(region_code="110108", serial=serial),
        name=name,
        industry_section="C",
        employees=50,
        is_high_tech=high_tech,
        park=w.parks["p1"],
        joined_on=joined,
        acting_user=None,
    )


def publish_baseline(w: World, *, scorecard: Scorecard | None = None, min_score: str = "50") -> Criteria:
    scorecard = scorecard or add_scorecard(w)
    user = w.user("ipo_bj", Role.ADMIN)
    criteria = services.criteria_create(
        owner=w.orgs["ipo_bj"],
        level=CriteriaLevel.BASELINE,
        region=Region.objects.get(code="110000"),
        period=PERIOD,
        name="北京市2026年度授信白名单基准标准",
        scorecard=scorecard,
        min_score=Decimal(min_score),
        exclusions=BASELINE_EXCLUSIONS,
        acting_user=user,
    )
    return services.criteria_publish(criteria=criteria, acting_user=user)


def publish_park_criteria(w: World, *, min_score: str = "65", **extra: Any) -> Criteria:
    user = w.user("park1", Role.ADMIN)
    criteria = services.criteria_create(
        owner=w.orgs["park1"],
        level=CriteriaLevel.PARK,
        region=None,
        park=w.parks["p1"],
        period=PERIOD,
        name="海淀园2026年度细化标准",
        min_score=Decimal(min_score),
        exclusions=extra.pop("exclusions", BASELINE_EXCLUSIONS),
        acting_user=user,
        **extra,
    )
    return services.criteria_publish(criteria=criteria, acting_user=user)


def screening_world(w: World) -> ScreeningWorld:
    """The published Beijing baseline and park P1's enterprises with their credit records (see the module doc)."""
    sw = ScreeningWorld(scorecard=add_scorecard(w), baseline=None)  # type: ignore[arg-type]
    sw.baseline = publish_baseline(w, scorecard=sw.scorecard)
    sw.ents["e1"] = w.enterprises["e1"]
    sw.ents["e1b"] = w.enterprises["e1b"]
    sw.ents["dishonest"] = member(w, "dishonest", "北京失信测试有限公司", 3001)
    sw.ents["serious"] = member(w, "serious", "北京严重违法测试有限公司", 3002)
    sw.ents["tax_d"] = member(w, "tax_d", "北京纳税D级测试有限公司", 3003)
    sw.ents["repaired"] = member(w, "repaired", "北京信用修复测试有限公司", 3004)
    sw.ents["park_only"] = member(w, "park_only", "北京园区从严测试有限公司", 3005)
    add_record(w, sw.ents["dishonest"], RecordKind.DISHONEST, datetime.date(2025, 6, 1))
    add_record(w, sw.ents["serious"], RecordKind.SERIOUS_VIOLATION, datetime.date(2025, 9, 1))
    add_record(w, sw.ents["tax_d"], RecordKind.TAX_RATING, datetime.date(2025, 4, 1), tax_rating="D")
    add_record(
        w,
        sw.ents["repaired"],
        RecordKind.DISHONEST,
        datetime.date(2024, 6, 1),
        removed_on=datetime.date(2025, 1, 10),
    )
    return sw
