"""Banking-area test states (白名单推送与意向性授信额度), built on `factories.approved_whitelist`:

- `approved_p2(world)`: park P2's 2026 whitelist approved by the Jiangsu office, E2 included;
- `more_whitelisted(world, approved, n)`: n further enterprises of P1, each holding a valid invention patent in
  H01L 27/ and a registered trademark, included in P1's current version;
- `add_banking(world)`: the rows the banking scoping tests (and the permission matrix) need — subscriptions of
  bank1_sub (P1), bank1_br2 (region Jiangsu, then cancelled) and bank2 (P2); bank1_br's patent-cluster line for P1
  and bank2's brand line for P2; allocations to E1 and E2; bank1_br's grant to E1 drawn on E1's allocation (it
  reaches P1's list through its sub-branch's subscription) and bank2's refusal of E2."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal

from django.utils import timezone

from ipledge.core.context import as_of
from ipledge.core.models import Region
from ipledge.core.money import Money
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registry.choices import IPKind
from ipledge.registry.models import Enterprise
from ipledge.registry.services import enterprise_create, ip_right_create
from ipledge.screening.choices import DecisionOutcome, EntrySource, LineBasis, VersionStatus
from ipledge.screening.models import (
    CreditDecision,
    IntendedCreditLine,
    LineAllocation,
    Subscription,
    Whitelist,
    WhitelistEntry,
    WhitelistVersion,
)
from ipledge.screening.services import banking
from tests.screening.factories import PERIOD, Approved, add_baseline, approved_whitelist
from tests.world import World

TODAY = datetime.date(2026, 3, 2)  # inside the lines' period; the whitelists were approved on 2026-01-05


def approved_p2(w: World) -> Approved:
    """Park P2's 2026 whitelist, version 1 approved by ipo_js's reviewer: E2 in (score 82)."""
    baseline = add_baseline(w, region="320000")
    park = w.parks["p2"]
    whitelist = Whitelist.objects.create(park=park, period=PERIOD, baseline=baseline, region_code=park.region.code)
    version = WhitelistVersion.objects.create(
        whitelist=whitelist,
        number=1,
        status=VersionStatus.APPROVED,
        as_of=datetime.date(2026, 1, 5),
        scorecard=baseline.scorecard,
        candidates=1,
        included=1,
        prepared_by=w.user("park2"),
        submitted_by=w.user("park2"),
        submitted_at=timezone.now(),
        decided_by=w.user("ipo_js", "reviewer"),
        decided_at=timezone.now(),
    )
    whitelist.current_version = version
    whitelist.save(update_fields=["current_version"])
    included = WhitelistEntry.objects.create(
        version=version,
        enterprise=w.enterprises["e2"],
        included=True,
        source=EntrySource.SCREENED,
        score=Decimal("82.00"),
        points={"invention_patents": 30.0, "is_high_tech": 0.0},
        values={"invention_patents": "≥5", "is_high_tech": "否"},
        reasons=["passed"],
    )
    return Approved(baseline=baseline, whitelist=whitelist, version=version, included=included, excluded=included)


def more_whitelisted(w: World, approved: Approved, n: int, *, start: int = 0) -> list[WhitelistEntry]:
    """n more P1 enterprises, each with a valid H01L 27/ invention patent and a trademark, included in the version."""
    entries = []
    for i in range(start, start + n):
        enterprise: Enterprise = enterprise_create(
            uscc=make_uscc(region_code="110108", serial=5000 + i),
            name=f"北京集群企业{i:02d}有限公司",
            industry_section="C",
            employees=50,
            park=w.parks["p1"],
            joined_on=datetime.date(2022, 1, 1),
            acting_user=None,
        )
        ip_right_create(
            kind=IPKind.PATENT,
            number=make_patent_number(year=2020, type_digit=1, serial=3000000 + i),
            title=f"一种图像传感器结构{i}",
            patent_type="invention",
            filing_date=datetime.date(2020, 4, 1),
            grant_date=datetime.date(2022, 4, 1),
            main_ipc=f"H01L 27/{100 + i}",
            owners=[{"enterprise": enterprise}],
            acting_user=None,
        )
        ip_right_create(
            kind=IPKind.TRADEMARK,
            number=str(51000000 + i),
            title=f"集群{i}",
            grant_date=datetime.date(2021, 1, 1),
            valid_from=datetime.date(2021, 1, 1),
            term_end=datetime.date(2031, 1, 1),
            nice_classes=[9],
            owners=[{"enterprise": enterprise}],
            acting_user=None,
        )
        entries.append(
            WhitelistEntry.objects.create(
                version=approved.version,
                enterprise=enterprise,
                included=True,
                score=Decimal("70.00"),
                points={"invention_patents": 15.0, "is_high_tech": 0.0},
                values={"invention_patents": "1–4", "is_high_tech": "否"},
                reasons=["passed"],
            )
        )
    return entries


def add_trademark(w: World, key: str, number: str = "52000001") -> None:
    w.rights[f"{key}_tm"] = ip_right_create(
        kind=IPKind.TRADEMARK,
        number=number,
        title="测试品牌",
        grant_date=datetime.date(2021, 1, 1),
        valid_from=datetime.date(2021, 1, 1),
        term_end=datetime.date(2031, 1, 1),
        nice_classes=[9],
        owners=[{"enterprise": w.enterprises[key]}],
        acting_user=None,
    )


def cluster_line(
    w: World, *, bank: str = "bank1", amount: str = "10000000", group: str = "H01L 27/"
) -> IntendedCreditLine:
    with as_of(TODAY):
        return banking.line_create(
            bank=w.orgs[bank],
            park=w.parks["p1"],
            basis=LineBasis.PATENT_CLUSTER,
            ipc_group=group,
            amount=Money(amount),
            valid_from=datetime.date(2026, 1, 1),
            valid_to=datetime.date(2026, 12, 31),
            conditions="集群内白名单企业，单户不超过 200 万元",
            acting_user=w.user(bank),
        )


@dataclass
class Banking:
    p1: Approved
    p2: Approved
    subscriptions: list[Subscription]
    lines: list[IntendedCreditLine]
    allocations: list[LineAllocation]
    decisions: list[CreditDecision]


def add_banking(w: World, *, p1: Approved | None = None, p2: Approved | None = None) -> Banking:
    """Pass `p1` / `p2` when the world already has the parks' approved whitelists (e.g. the permission matrix's)."""
    p1 = p1 or approved_whitelist(w)
    p2 = p2 or approved_p2(w)
    add_trademark(w, "e2", "52000002")
    subs = [
        banking.subscription_create(bank=w.orgs["bank1_sub"], park=w.parks["p1"], acting_user=w.user("bank1_sub")),
        banking.subscription_create(
            bank=w.orgs["bank1_br2"], region=Region.objects.get(code="320000"), acting_user=w.user("bank1_br2")
        ),
        banking.subscription_create(bank=w.orgs["bank2"], park=w.parks["p2"], acting_user=w.user("bank2")),
    ]
    banking.subscription_cancel(subscription=subs[1], acting_user=w.user("bank1_br2"))
    line1 = cluster_line(w, bank="bank1_br")
    with as_of(TODAY):
        line2 = banking.line_create(
            bank=w.orgs["bank2"],
            park=w.parks["p2"],
            basis=LineBasis.REGIONAL_BRAND,
            brand="江宁智造",
            amount=Money("5000000"),
            valid_from=datetime.date(2026, 1, 1),
            valid_to=datetime.date(2026, 12, 31),
            acting_user=w.user("bank2"),
        )
        a1 = banking.allocation_create(
            line=line1, entry=p1.included, amount=Money("2000000"), acting_user=w.user("park1")
        )
        a2 = banking.allocation_create(
            line=line2, entry=p2.included, amount=Money("1000000"), acting_user=w.user("park2")
        )
        d1 = banking.decision_record(
            entry=p1.included,
            outcome=DecisionOutcome.GRANTED,
            amount=Money("1500000"),
            term_months=12,
            renewal_without_repayment=True,
            allocation=a1,
            acting_user=w.user("bank1_br"),
        )
        d2 = banking.decision_record(
            entry=p2.included, outcome=DecisionOutcome.DECLINED, note="暂不符合", acting_user=w.user("bank2")
        )
    return Banking(p1=p1, p2=p2, subscriptions=subs, lines=[line1, line2], allocations=[a1, a2], decisions=[d1, d2])
