"""A deterministic little world for tests: every organisation kind, two banks and two parks.

Layout (regions are real NBS codes):
- Beijing (110000): provincial IP office `ipo_bj`, regulator `reg_bj`, NDRC `ndrc_bj`; park P1 (Haidian, 110108)
  run by `park1`; enterprises E1 (member of P1, own login `ent1`) and E1b.
- Jiangsu (320000): IP office `ipo_js`, Nanjing municipal IP office `ipo_nj`; park P2 (Nanjing, 320115) run by
  `park2`; enterprise E2 (login `ent2`).
- Banks: `bank1` head office → `bank1_br` branch → `bank1_sub` 科技支行; `bank1_br2` a sibling branch;
  `bank2` another head office. National office `cnipa`. One of each remaining kind.
Every organisation has one user per role named `<org key>_<role>` with password `pass-<org key>`.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.utils import timezone

from ipledge.core.choices import AdminLevel, BankTier, OrganisationKind, Role
from ipledge.core.models import Organisation, Region, User
from ipledge.core.money import Money
from ipledge.core.regions import load_regions
from ipledge.core.services import organisation_create, user_create
from ipledge.core.synthetic import make_patent_number, make_uscc
from ipledge.registry.choices import IPKind, ParkKind, ParkLevel
from ipledge.registry.models import Enterprise, IPRight, Park
from ipledge.registry.services import enterprise_create, ip_right_create, park_create


@dataclass
class World:
    orgs: dict[str, Organisation] = field(default_factory=dict)
    users: dict[str, User] = field(default_factory=dict)
    parks: dict[str, Park] = field(default_factory=dict)
    enterprises: dict[str, Enterprise] = field(default_factory=dict)
    rights: dict[str, IPRight] = field(default_factory=dict)
    filings: dict[str, Any] = field(default_factory=dict)

    def user(self, org_key: str, role: str = Role.OPERATOR) -> User:
        return self.users[f"{org_key}_{role}"]


ORG_SPECS: list[tuple[str, str, str, dict[str, Any]]] = [
    # key, name, kind, extra
    ("cnipa", "国家知识产权局", OrganisationKind.IP_OFFICE, {"admin_level": AdminLevel.NATIONAL}),
    (
        "ipo_bj",
        "北京市知识产权局",
        OrganisationKind.IP_OFFICE,
        {"admin_level": AdminLevel.PROVINCIAL, "region": "110000"},
    ),
    (
        "ipo_js",
        "江苏省知识产权局",
        OrganisationKind.IP_OFFICE,
        {"admin_level": AdminLevel.PROVINCIAL, "region": "320000"},
    ),
    (
        "ipo_nj",
        "南京市知识产权局",
        OrganisationKind.IP_OFFICE,
        {"admin_level": AdminLevel.MUNICIPAL, "region": "320100", "parent": "ipo_js"},
    ),
    (
        "reg_bj",
        "北京金融监管局",
        OrganisationKind.FINANCIAL_REGULATOR,
        {"admin_level": AdminLevel.PROVINCIAL, "region": "110000"},
    ),
    (
        "ndrc_bj",
        "北京市发展和改革委员会",
        OrganisationKind.DEVELOPMENT_REFORM,
        {"admin_level": AdminLevel.PROVINCIAL, "region": "110000"},
    ),
    ("park1", "中关村科技园区海淀园管委会", OrganisationKind.PARK_ADMIN, {"region": "110108"}),
    ("park2", "南京江宁高新区管委会", OrganisationKind.PARK_ADMIN, {"region": "320115"}),
    ("ent1", "北京智芯科技有限公司", OrganisationKind.ENTERPRISE, {"region": "110108"}),
    ("ent2", "南京光谱材料有限公司", OrganisationKind.ENTERPRISE, {"region": "320115"}),
    ("bank1", "北京银行", OrganisationKind.BANK, {"region": "110000", "bank_tier": BankTier.HEAD_OFFICE}),
    (
        "bank1_br",
        "北京银行中关村分行",
        OrganisationKind.BANK,
        {"region": "110108", "bank_tier": BankTier.BRANCH, "parent": "bank1"},
    ),
    (
        "bank1_sub",
        "北京银行中关村科技支行",
        OrganisationKind.BANK,
        {"region": "110108", "bank_tier": BankTier.TECH_SUB_BRANCH, "parent": "bank1_br"},
    ),
    (
        "bank1_br2",
        "北京银行南京分行",
        OrganisationKind.BANK,
        {"region": "320100", "bank_tier": BankTier.BRANCH, "parent": "bank1"},
    ),
    ("bank2", "江苏银行", OrganisationKind.BANK, {"region": "320000", "bank_tier": BankTier.HEAD_OFFICE}),
    ("insurer", "人保财险北京分公司", OrganisationKind.INSURER, {"region": "110000"}),
    ("guarantor", "北京中关村科技融资担保有限公司", OrganisationKind.GUARANTOR, {"region": "110108"}),
    ("valuer", "北京中金浩资产评估有限责任公司", OrganisationKind.VALUER, {"region": "110000"}),
    ("fund", "北京市知识产权质押融资风险补偿资金管理中心", OrganisationKind.FUND_MANAGER, {"region": "110000"}),
    ("exchange", "北京知识产权交易中心", OrganisationKind.DISPOSAL_PLATFORM, {"region": "110000"}),
    ("agency", "北京集佳知识产权代理有限公司", OrganisationKind.PATENT_AGENCY, {"region": "110105"}),
]


def build_world() -> World:
    w = World()
    if not Region.objects.exists():
        # Transactional tests flush every table, including the regions the data migration loaded.
        load_regions(Region)
    regions = {
        r.code: r for r in Region.objects.filter(code__in=["110000", "110108", "110105", "320000", "320100", "320115"])
    }
    for key, name, kind, extra in ORG_SPECS:
        w.orgs[key] = organisation_create(
            name=name,
            kind=kind,
            acting_user=None,
            region=regions.get(extra.get("region", "")),
            parent=w.orgs.get(extra.get("parent", "")),
            admin_level=extra.get("admin_level", ""),
            bank_tier=extra.get("bank_tier", ""),
        )
        for role in Role.values:
            username = f"{key}_{role}"
            w.users[username] = user_create(
                username=username, organisation=w.orgs[key], role=role, password=f"pass-{key}", acting_user=None
            )
    w.parks["p1"] = park_create(
        name="中关村科技园区海淀园",
        level=ParkLevel.NATIONAL,
        kind=ParkKind.HITECH,
        region=regions["110108"],
        administering_org=w.orgs["park1"],
        is_key_park=True,
        acting_user=None,
    )
    w.parks["p2"] = park_create(
        name="南京江宁高新技术产业开发区",
        level=ParkLevel.NATIONAL,
        kind=ParkKind.HITECH,
        region=regions["320115"],
        administering_org=w.orgs["park2"],
        acting_user=None,
    )
    joined = datetime.date(2022, 1, 1)
    w.enterprises["e1"] = enterprise_create(
        uscc=make_uscc(region_code="110108", serial=1001),
        name="北京智芯科技有限公司",
        industry_section="I",
        industry_division="65",
        employees=120,
        revenue=Money("35000000"),
        total_assets=Money("50000000"),
        is_high_tech=True,
        organisation=w.orgs["ent1"],
        park=w.parks["p1"],
        joined_on=joined,
        acting_user=None,
    )
    w.enterprises["e1b"] = enterprise_create(
        uscc=make_uscc(region_code="110108", serial=1002),
        name="北京微纳传感有限公司",
        industry_section="C",
        employees=45,
        revenue=Money("8000000"),
        park=w.parks["p1"],
        joined_on=joined,
        acting_user=None,
    )
    w.enterprises["e2"] = enterprise_create(
        uscc=make_uscc(region_code="320115", serial=2001),
        name="南京光谱材料有限公司",
        industry_section="C",
        employees=300,
        revenue=Money("150000000"),
        is_specialised=True,
        organisation=w.orgs["ent2"],
        park=w.parks["p2"],
        joined_on=joined,
        acting_user=None,
    )
    w.rights["r1"] = ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2019, type_digit=1, serial=1000001),
        title="一种低功耗图像传感芯片",
        filing_date=datetime.date(2019, 3, 5),
        grant_date=datetime.date(2021, 6, 8),
        main_ipc="H01L27/146",
        claims_count=10,
        owners=[{"enterprise": w.enterprises["e1"], "share": Decimal(100)}],
        acting_user=None,
    )
    w.rights["r1b"] = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="30123456",
        title="微纳",
        grant_date=datetime.date(2020, 2, 14),
        valid_from=datetime.date(2020, 2, 14),
        term_end=datetime.date(2030, 2, 13),
        nice_classes=[9],
        owners=[{"enterprise": w.enterprises["e1b"]}],
        acting_user=None,
    )
    w.rights["r2"] = ip_right_create(
        kind=IPKind.PATENT,
        number=make_patent_number(year=2020, type_digit=2, serial=2000002),
        title="一种光谱检测装置",
        filing_date=datetime.date(2020, 7, 1),
        grant_date=datetime.date(2021, 1, 5),
        owners=[{"enterprise": w.enterprises["e2"], "share": Decimal(60)}, {"holder_name": "南京大学", "share": 40}],
        acting_user=None,
    )
    return w


PDF_BYTES = b"%PDF-1.4\n% ipledge test document\n"


def add_pledges(w: World) -> World:
    """Pledge filings in several states: one registered (e1's patent r1, pledgee bank1's tech sub-branch),
    one awaiting the pledgor (bank2 for e2's co-owned r2) and one filed by the patent agency (e1b's trademark)."""
    from ipledge.registration.choices import Decision, DocumentType
    from ipledge.registration.services import document_add, filing_confirm, filing_create, filing_decide
    from ipledge.registry.services import ip_right_update

    today = timezone.localdate()
    for key in ("r1", "r2"):
        ip_right_update(
            right=w.rights[key], data={"annual_fee_paid_until": today + datetime.timedelta(days=365)}, acting_user=None
        )
    common = {
        "claim_amount": Money("5000000"),
        "performance_start": today,
        "performance_end": today + datetime.timedelta(days=730),
        "guarantee_scope": "主债权及利息、违约金、实现质权的费用",
    }
    f1 = filing_create(
        pledgor=w.enterprises["e1"],
        pledgee=w.orgs["bank1_sub"],
        items=[{"ip_right": w.rights["r1"]}],
        acting_user=w.user("bank1_sub"),
        **common,
    )
    for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY):
        document_add(
            filing=f1, doc_type=doc_type, filename=f"{doc_type}.pdf", content=PDF_BYTES, acting_user=w.user("bank1_sub")
        )
    filing_confirm(filing=f1, acting_user=w.user("ent1"))
    filing_decide(filing=f1, decision=Decision.REGISTER, acting_user=w.user("ipo_bj", Role.REVIEWER))
    f2 = filing_create(
        pledgor=w.enterprises["e2"],
        pledgee=w.orgs["bank2"],
        items=[{"ip_right": w.rights["r2"], "co_owner_consent": True}],
        acting_user=w.user("bank2"),
        **common,
    )
    for doc_type in (DocumentType.CONTRACT, DocumentType.IDENTITY, DocumentType.CO_OWNER_CONSENT):
        document_add(
            filing=f2, doc_type=doc_type, filename=f"{doc_type}.pdf", content=PDF_BYTES, acting_user=w.user("bank2")
        )
    filing_create(
        pledgor=w.enterprises["e1b"],
        pledgee=w.orgs["bank1_br2"],
        items=[{"ip_right": w.rights["r1b"]}],
        acting_user=w.user("agency"),
        **common,
    )
    w.filings.update(f1=f1, f2=f2)
    return w


def add_valuations(w: World) -> World:
    """Valuation rows on both sides (Beijing e1, Jiangsu e2) made through the services: right valuations by the
    enterprise (assigned to the valuer), by bank1_sub and by bank2; a bundle; each head office's pledge-rate policy;
    comparables recorded by the exchange and the Jiangsu office; innovation scores; batches; and a (retired) learned
    model. Call after `add_loans` or `add_pledges`, which make e1 and e2 customers of the banks."""
    from ipledge.valuation import engine_bridge as bridge
    from ipledge.valuation import services
    from ipledge.valuation.models import ValuationModel

    services.valuation_run(ip_right=w.rights["r1"], acting_user=w.user("ent1"), agency=w.orgs["valuer"])
    services.valuation_run(ip_right=w.rights["r1"], acting_user=w.user("bank1_sub"))
    services.valuation_run(ip_right=w.rights["r2"], acting_user=w.user("bank2"))
    mark = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="40999001",
        title="智芯",
        grant_date=datetime.date(2021, 3, 14),
        valid_from=datetime.date(2021, 3, 14),
        term_end=datetime.date(2031, 3, 13),
        nice_classes=[9],
        owners=[{"enterprise": w.enterprises["e1"]}],
        acting_user=None,
    )
    w.rights["r1m"] = mark
    bundle = services.bundle_create(
        name="智芯组合", enterprise=w.enterprises["e1"], rights=[w.rights["r1"], mark], acting_user=w.user("ent1")
    )
    services.bundle_value(bundle=bundle, acting_user=w.user("ent1"))
    mark2 = ip_right_create(
        kind=IPKind.TRADEMARK,
        number="40999002",
        title="光谱",
        grant_date=datetime.date(2022, 5, 1),
        valid_from=datetime.date(2022, 5, 1),
        term_end=datetime.date(2032, 4, 30),
        nice_classes=[9],
        owners=[{"enterprise": w.enterprises["e2"]}],
        acting_user=None,
    )
    w.rights["r2m"] = mark2
    services.bundle_create(
        name="光谱组合", enterprise=w.enterprises["e2"], rights=[w.rights["r2"], mark2], acting_user=w.user("ent2")
    )
    rules = bridge.policy_rules(bridge.default_policy())
    for bank in ("bank1", "bank2"):
        services.pledge_policy_set(
            bank=w.orgs[bank], name=f"{w.orgs[bank].name}质押率政策", rules=rules, acting_user=w.user(bank, Role.ADMIN)
        )
    for recorder, region in (("exchange", "110000"), ("ipo_js", "320000")):
        services.comparable_record(
            transaction_kind="transfer",
            price=Money("800000"),
            transacted_on=datetime.date(2025, 3, 1),
            source="成交公告",
            kind=IPKind.PATENT,
            patent_type="invention",
            ipc_section="H",
            region_code=region,
            acting_user=w.user(recorder),
        )
    services.innovation_score_compute(enterprise=w.enterprises["e1"], acting_user=w.user("ent1"))
    services.innovation_score_compute(enterprise=w.enterprises["e2"], acting_user=w.user("ent2"))
    services.revaluation_batch_start(acting_user=w.user("park1"), park=w.parks["p1"])
    services.revaluation_batch_start(acting_user=w.user("ipo_js"), region=Region.objects.get(code="320000"))
    ValuationModel.objects.create(
        label="maintained", model_text="retired", card={"note": "matrix"}, training_rows=0, is_active=False
    )
    return w
