"""Typical cases (典型案例) built through the services, for the case tests and the permission matrices.

`add_cases(w)` adds four cases in different states, each visible to some world users and not to others:
- `bj_nominated`: nominated by the Haidian park administration (park1) for park P1, waiting for review: seen by
  park1, the Beijing officials and CNIPA; not by banks, enterprises or Jiangsu.
- `js_published`: nominated by 江苏银行 (bank2) for park P2 and E2, reviewed, selected and published by the Jiangsu IP
  office: seen by everyone, on the public showcase too.
- `js_review`: nominated by the Nanjing IP office, under review with a score: seen by the Jiangsu officials.
- `bj_rejected`: nominated by bank1's sub-branch for E1, reviewed and not selected by the Beijing IP office.
"""

from __future__ import annotations

from ipledge.core.choices import Role
from ipledge.monitoring.choices import CaseCategory
from ipledge.monitoring.models import TypicalCase
from ipledge.monitoring.services import cases as services
from tests.world import World

YEAR = 2025


def nominate(w: World, org_key: str, *, title: str, role: str = Role.OPERATOR, **links: object) -> TypicalCase:
    return services.case_create(
        year=YEAR,
        title=title,
        category=CaseCategory.PRODUCT_INNOVATION,
        summary=f"{title}：以知识产权质押为纽带的融资服务。",
        practice="园区、银行和评估机构联合推出专利许可收益权质押产品，简化评估流程。",
        results="一年内为区内企业新增知识产权质押融资1.2亿元。",
        figures={"融资金额（万元）": "12000"},
        acting_user=w.user(org_key, role),
        **links,  # type: ignore[arg-type]
    )


def review(w: World, case: TypicalCase, office: str, *, score: int = 88) -> TypicalCase:
    reviewer = w.user(office, Role.REVIEWER)
    case = services.case_review_open(case=case, acting_user=reviewer)
    return services.case_review_score(case=case, score=score, note="做法可复制，成效明显。", acting_user=reviewer)


TITLES = {
    "bj_nominated": "海淀园专利池质押融资",
    "js_published": "江宁高新区“苏知贷”",
    "js_review": "南京市评估风险补偿联动",
    "bj_rejected": "中关村科技支行投贷联动",
}


def add_cases(w: World) -> World:
    nominate(w, "park1", title=TITLES["bj_nominated"], park=w.parks["p1"])
    published = nominate(w, "bank2", title=TITLES["js_published"], park=w.parks["p2"], bank=w.orgs["bank2"])
    published = review(w, published, "ipo_js", score=92)
    published = services.case_decide(case=published, select=True, acting_user=w.user("ipo_js", Role.REVIEWER))
    services.case_publish(case=published, acting_user=w.user("ipo_js", Role.REVIEWER))
    review(w, nominate(w, "ipo_nj", title=TITLES["js_review"], park=w.parks["p2"]), "ipo_js", score=75)
    rejected = review(w, nominate(w, "bank1_sub", title=TITLES["bj_rejected"]), "ipo_bj", score=60)
    services.case_decide(
        case=rejected, select=False, note="成效数据不足。", acting_user=w.user("ipo_bj", Role.REVIEWER)
    )
    return w


def case(key: str) -> TypicalCase:
    """One of the cases `add_cases` made, by its key in `TITLES`."""
    return TypicalCase.objects.get(title=TITLES[key])
