"""Demo policies for the policy library (政策工具箱和资源库), written through the services.

About 25 policies: the national action plan 《知识产权质押融资入园惠企行动方案（2021—2023年）》 (a summary of the real
document, 国知发运字〔2021〕17号; expired at the end of 2023), a few national service measures, and for each demo
province (found by its IP office) provincial risk-compensation, interest-discount, valuation-fee, insurance and
guarantee-fee policies, city or district policies where the demo has a local IP office, and park policies by the
park administrations. One provincial policy is expired, one is a draft (征求意见稿). Everything but the action plan is
invented for the demo: the body starts with 【演示】 and document numbers carry 演示.

Idempotent: nothing is added when policies exist. Organisations missing from the data are skipped.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field

from django.db import transaction

from ipledge.core.choices import AdminLevel, OrganisationKind, Role
from ipledge.core.context import as_of
from ipledge.core.models import Organisation, Region, User
from ipledge.registry.models import Park

from .models import Policy
from .services import policies as services

DEMO = "【演示】"

ACTION_PLAN_SUMMARY = (
    "国家知识产权局、中国银保监会、国家发展改革委联合组织开展知识产权质押融资入园惠企行动，聚焦产业园区，"
    "强化“政企银保服”联动，力争三年内实现质押融资惠及“百园万企”：到2023年底，100个以上产业园区的质押项目数和"
    "融资金额年增长20%以上，新增上万家中小微企业利用知识产权融资。"
)
ACTION_PLAN_BODY = """\
本条目为《知识产权质押融资入园惠企行动方案（2021—2023年）》的要点摘编，完整内容以原文为准。
一、总体要求。方案以缓解创新型中小微企业融资难、融资贵为目标，推动知识产权质押融资工作深入园区、企业和金融机构基层网点。行动目标是到2023年底，质押融资政策可及性和服务便利度大幅提升，被质押专利的实施率明显提高，100个以上产业园区的知识产权质押项目数和质押融资金额年度增长率在20%以上，新增上万家中小微企业利用知识产权实现融资。
二、措施优化行动。省级知识产权局会同有关部门对地市和国家级园区的质押融资措施调研摸底，形成政策工具箱和资源库；健全政府引导的风险分担和补偿机制，综合运用保险、担保、风险补偿等方式降低信贷风险，探索风险补偿前置模式；支持银行用好单列信贷计划和优化不良率考核等监管政策；树立正确的指标导向，不盲目追求质押专利数量，对虚构合同、数据异常等情况及时查处和通报。
三、模式创新行动。鼓励运用大数据、人工智能研发智能化评估工具；利用“信用中国”网站、知识产权质押信息平台等资源建立授信白名单筛选机制；探索“政银园投”合作，为园区白名单企业提供合理授信额度和续贷便利；鼓励专利、商标、著作权等打包质押，探索许可收益权出质；通过集中拍卖、第三方收储等方式创新质物处置。
四、服务提升行动。推动质押登记“一窗通办”并向园区延伸，扩大线上办理试点；鼓励有条件的园区建设知识产权金融服务中心，实现“一站式”服务；广泛开展银企对接活动，扩大金融产品供给，形成融资项目库和产品资源库；加快建设全国知识产权质押信息平台，与各地“信易贷”平台做好衔接。
五、组织实施。各地加强统筹协调，省级知识产权局牵头制定本省行动方案，每个省份选取3个以上园区作为重点打造示范标杆，加强宣传推广和统计监测，每年年底前向国家知识产权局报送年度工作总结；国家知识产权局按年度评选典型案例。"""


@dataclass
class _Spec:
    title: str
    kind: str
    summary: str
    paragraphs: list[str]
    document_number: str = ""
    issued: tuple[int, int, int] = (2024, 3, 1)
    until: tuple[int, int, int] | None = None
    size_classes: list[str] = field(default_factory=list)
    industry_sections: list[str] = field(default_factory=list)
    draft: bool = False
    issuing_body: str = ""


def _date(parts: tuple[int, int, int]) -> datetime.date:
    return datetime.date(*parts)


def _user(org: Organisation | None) -> User | None:
    if org is None:
        return None
    for role in (Role.OPERATOR, Role.ADMIN, Role.REVIEWER):
        user = User.objects.filter(organisation=org, role=role, is_active=True).order_by("pk").first()
        if user is not None:
            return user
    return None


def _short(name: str) -> str:
    for suffix in ("维吾尔自治区", "壮族自治区", "回族自治区", "自治区", "特别行政区", "省", "市"):
        if name.endswith(suffix) and len(name) > len(suffix):
            return name[: -len(suffix)]
    return name


def _provincial_specs(province: str, abbr: str, year: int) -> list[_Spec]:
    p = province
    return [
        _Spec(
            f"{p}知识产权质押融资风险补偿资金管理办法",
            "risk_compensation",
            f"{p}设立知识产权质押融资风险补偿资金，对合作银行发放的知识产权质押贷款形成的本金损失按比例给予补偿，"
            "单户企业贷款补偿上限500万元。",
            [
                f"为落实知识产权质押融资入园惠企行动，{p}设立知识产权质押融资风险补偿资金（以下简称补偿资金），"
                "由省知识产权局会同财政、金融监管部门管理，委托风险补偿基金管理机构运营。",
                "合作银行向省内科技型中小微企业发放、以专利权、商标专用权或著作权为主要担保方式的贷款，"
                "单笔不超过1000万元、期限不超过3年的，纳入补偿范围。贷款逾期90天以上形成不良的，"
                "补偿资金按本金损失的40%给予补偿，合作银行承担其余部分；引入保险或担保机构的，按约定比例分担。",
                "试行风险补偿前置：贷款形成不良后，可先行按比例拨付补偿金，待质物处置完毕后再行清算，处置收回资金按分担比例返还。",
                "合作银行应于每季度首月报送入库贷款、逾期及处置情况。对虚构合同、重复申领等行为，追回补偿资金并取消合作资格。",
            ],
            f"{abbr}知演〔{year - 2}〕1号",
            (year - 2, 4, 15),
            size_classes=["medium", "small", "micro"],
        ),
        _Spec(
            f"{p}知识产权质押融资贴息实施细则",
            "interest_discount",
            "对以知识产权质押方式获得贷款的中小微企业，按贷款市场报价利率（LPR）的50%给予贴息，单户每年最高50万元。",
            [
                "本细则适用于在本省注册、以知识产权质押方式获得银行贷款并按期还本付息的中小微企业。",
                "贴息标准为实际支付利息的50%，且贴息利率不超过同期一年期贷款市场报价利率的50%；单户企业年度贴息不超过50万元，"
                "同一笔贷款贴息期限不超过2年。纳入园区授信白名单的企业，贴息比例可提高至60%。",
                "企业于每年3月底前通过知识产权质押信息平台提交贴息申请，上传借款合同、质押登记通知书和付息凭证，"
                "经园区或所在地知识产权局初审、省知识产权局复核后拨付。",
            ],
            f"{abbr}知演〔{year - 1}〕5号",
            (year - 1, 2, 20),
            size_classes=["medium", "small", "micro"],
        ),
        _Spec(
            f"{p}知识产权评估费补助办法",
            "valuation_support",
            "企业办理知识产权质押融资发生的资产评估费，按实际支出的50%给予补助，单笔最高5万元。",
            [
                "为降低企业知识产权质押融资成本，对企业因质押融资委托资产评估机构出具评估报告所支付的评估费给予补助。",
                "补助比例为实际支付评估费的50%，单笔不超过5万元，同一企业每年不超过10万元。采用银行内部评估或智能评估工具、"
                "未发生评估费的，不予补助。",
                "申请时须提交评估委托合同、评估报告首页及付款凭证；评估报告须在质押登记前出具，且所评估的知识产权与质押登记一致。",
            ],
            f"{abbr}知演〔{year - 1}〕8号",
            (year - 1, 5, 10),
        ),
        _Spec(
            f"{p}知识产权质押融资保证保险保费补贴办法",
            "insurance",
            "企业投保知识产权质押融资保证保险的，按保费的60%给予补贴，单户每年最高20万元。",
            [
                "鼓励保险机构开发知识产权质押融资保证保险产品，与合作银行、风险补偿资金共同分担贷款风险。",
                "企业投保并获得贷款的，按实际缴纳保费的60%给予补贴，单户企业每年不超过20万元；保险费率不高于贷款本金的2%。",
                "保险机构应在发生赔付后30日内完成理赔，并向省知识产权局报送承保、理赔情况。",
            ],
            f"{abbr}知演〔{year - 1}〕11号",
            (year - 1, 7, 1),
            size_classes=["small", "micro"],
        ),
        _Spec(
            f"{p}知识产权质押融资担保费补助办法",
            "guarantee",
            "政府性融资担保机构为知识产权质押贷款提供担保、担保费率不高于1%的，按担保费的50%给予补助。",
            [
                "本办法支持政府性融资担保机构为科技型中小微企业的知识产权质押贷款提供担保增信。",
                "担保费率不高于1%的，按企业实际缴纳担保费的50%给予补助，单户每年不超过15万元；对首次获得知识产权质押贷款的企业，"
                "补助比例提高至80%。",
                "担保机构发生代偿的，可按规定申请风险补偿资金分担，代偿后应积极配合开展质物处置。",
            ],
            f"{abbr}知演〔{year}〕2号",
            (year, 1, 10),
            industry_sections=["C", "I", "M"],
        ),
        _Spec(
            f"{p}知识产权质押融资入园惠企行动实施方案",
            "service",
            f"落实国家三部门行动方案，{p}确定重点园区，推行质押登记“一窗通办”、园区一站式服务和银企对接常态化。",
            [
                f"为落实国家知识产权局、中国银保监会、国家发展改革委行动方案，结合{p}实际制定本实施方案。",
                "每个设区市至少选取1个园区作为重点园区，全省重点园区不少于3个，打造示范标杆；重点园区建设知识产权金融服务中心，"
                "提供政策咨询、评估对接、登记代办和融资产品推介等一站式服务。",
                "建立园区企业授信白名单，按季度更新并推送合作银行；每季度至少组织一次银企对接活动。",
                "各地每年12月底前报送年度工作总结和典型案例，省知识产权局按年度通报园区质押项目数和融资金额增长情况。",
            ],
            f"{abbr}知演〔{year - 2}〕9号",
            (year - 2, 9, 1),
        ),
        _Spec(
            f"{p}知识产权质押融资贴息暂行办法",
            "interest_discount",
            "已失效：由新的贴息实施细则替代。原办法按利息的30%给予贴息，单户每年最高30万元。",
            [
                "本办法为原贴息暂行办法，有效期届满后已由新的贴息实施细则替代，仅供查阅。",
                "原办法对以知识产权质押方式获得贷款的企业按实际支付利息的30%给予贴息，单户企业每年不超过30万元。",
            ],
            f"{abbr}知演〔2019〕6号",
            (2019, 6, 1),
            until=(2022, 12, 31),
        ),
        _Spec(
            f"{p}知识产权质押融资风险补偿前置拨付试点办法（征求意见稿）",
            "risk_compensation",
            "征求意见稿：贷款形成不良后先行拨付补偿金，质物处置后清算。",
            [
                "为缩短合作银行风险补偿周期，拟在重点园区开展风险补偿前置拨付试点。",
                "贷款逾期90天以上的，经合作银行申请，补偿资金先行按本金损失的30%拨付；质物处置完毕后按实际损失清算，多退少补。",
            ],
            draft=True,
            issued=(year, 11, 1),
        ),
    ]


def _local_spec(region: Region, year: int) -> list[_Spec]:
    place = region.name
    return [
        _Spec(
            f"{place}知识产权质押融资风险补偿资金池管理办法",
            "risk_compensation",
            f"{place}与合作银行共建知识产权质押融资风险补偿资金池，对本地企业的质押贷款损失按30%给予补偿。",
            [
                f"{place}安排专项资金设立知识产权质押融资风险补偿资金池，与省级补偿资金叠加使用，叠加后补偿比例不超过本金损失的70%。",
                "合作银行对资金池内企业的贷款利率上浮不超过LPR加100个基点，并对首贷企业给予续贷便利。",
                "资金池每年末结算一次，剩余资金滚存使用；资金长期闲置的，调整用于贴息和评估费补助。",
            ],
            issued=(year - 1, 3, 15),
            size_classes=["small", "micro"],
        ),
        _Spec(
            f"{place}知识产权质押融资专项扶持措施",
            "subsidy",
            f"{place}对首次获得知识产权质押贷款的企业一次性奖励2万元，对合作银行按新增质押贷款额给予奖励。",
            [
                "对首次以知识产权质押方式获得银行贷款、金额在100万元以上的企业，一次性给予2万元奖励。",
                "对年度新增知识产权质押贷款超过1亿元的合作银行网点，按新增额的0.5‰给予奖励，最高20万元。",
                "本措施与省级贴息、评估费补助可同时享受，同一事项不重复补助。",
            ],
            issued=(year, 2, 1),
        ),
    ]


def _park_spec(park: Park, year: int) -> list[_Spec]:
    return [
        _Spec(
            f"{park.name}知识产权质押融资入园惠企扶持办法",
            "subsidy",
            f"{park.name}对入园企业的知识产权质押贷款给予额外贴息和评估费补助，并提供一站式服务。",
            [
                f"本办法适用于在{park.name}注册并入园的科技型中小微企业。",
                "在省、市贴息基础上，园区对入园企业的知识产权质押贷款再给予实际利息20%的贴息，单户每年不超过20万元；"
                "评估费在上级补助后的剩余部分由园区全额承担。",
                "园区知识产权金融服务中心提供政策咨询、评估机构对接、质押登记代办和融资需求发布服务，受理后5个工作日内办结。",
            ],
            issued=(year - 1, 4, 1),
            size_classes=["medium", "small", "micro"],
        ),
        _Spec(
            f"{park.name}知识产权金融服务中心服务指南",
            "service",
            "园区一站式知识产权金融服务：评估申请、融资需求、质押登记代办、政策兑现。",
            [
                "服务中心设在园区政务服务大厅，工作日办公，也可通过本平台的园区服务中心在线提交服务事项。",
                "可办理事项：知识产权评估申请、融资需求登记、质押登记材料代办、贴息和补助政策兑现。",
                "服务中心每月组织一次银企对接会，发布合作银行的知识产权质押融资产品。",
            ],
            issued=(year - 1, 6, 1),
        ),
    ]


def _national_specs(year: int) -> list[_Spec]:
    return [
        _Spec(
            "专利权质押登记线上办理指南",
            "service",
            "银行业金融机构通过线上方式办理专利权质押登记的条件、流程和材料要求。",
            [
                "开通线上办理的银行业金融机构，可通过专利业务办理系统在线提交专利权质押登记申请，无需提交纸质材料。",
                "申请材料包括质押合同、出质人和质权人身份证明、专利权评估或价值说明等电子文件；材料齐全的，一般在1个工作日内办结。",
                "质押登记信息可通过全国知识产权质押信息平台查询。",
            ],
            f"国知演〔{year - 2}〕3号",
            (year - 2, 8, 1),
        ),
        _Spec(
            "知识产权质押融资授信白名单筛选指引",
            "credit_support",
            "依托信用数据和知识产权数据，建立上下联动、总分结合的园区企业授信白名单筛选机制。",
            [
                "白名单筛选以企业信用状况、知识产权数量质量、研发投入和经营情况为基础，由园区推荐、地方知识产权局会同发展改革部门审核。",
                "白名单按季度更新，向合作银行推送；银行对白名单企业优先授信，提供合理授信额度和续贷便利。",
                "存在严重失信记录或知识产权权属纠纷的企业不得纳入白名单。",
            ],
            f"国知演〔{year - 1}〕7号",
            (year - 1, 10, 1),
        ),
    ]


def _create(spec: _Spec, *, actor: User, region: Region | None, park: Park | None, today: datetime.date) -> Policy:
    issued = _date(spec.issued)
    if issued > today:
        issued = today
    body = "\n".join(spec.paragraphs)
    with as_of(issued):
        policy = services.policy_create(
            actor=actor,
            title=spec.title,
            kind=spec.kind,
            issuing_body=spec.issuing_body,
            document_number=spec.document_number,
            region=region,
            park=park,
            issued_on=issued,
            effective_from=issued,
            effective_until=_date(spec.until) if spec.until else None,
            summary=spec.summary,
            body=body if body.startswith("本条目") else DEMO + body,
            size_classes=spec.size_classes,
            industry_sections=spec.industry_sections,
        )
        if not spec.draft:
            policy = services.policy_publish(actor=actor, policy=policy, expected_version=policy.version)
    return policy


def _ip_office(code: str) -> Organisation | None:
    return (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, region__code=code, is_active=True)
        .order_by("pk")
        .first()
    )


@transaction.atomic
def seed_policies(*, today: datetime.date) -> int:
    """Create the demo policies; returns how many were created (0 when the library is not empty)."""
    if Policy.objects.exists():
        return 0
    year = today.year
    created = 0
    national = (
        Organisation.objects.filter(kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.NATIONAL, is_active=True)
        .order_by("pk")
        .first()
    )
    actor = _user(national)
    if actor is not None:
        plan = _Spec(
            "知识产权质押融资入园惠企行动方案（2021—2023年）",
            "service",
            ACTION_PLAN_SUMMARY,
            [ACTION_PLAN_BODY],
            "国知发运字〔2021〕17号",
            (2021, 6, 16),
            until=(2023, 12, 31),
            issuing_body="国家知识产权局、中国银保监会、国家发展改革委",
        )
        _create(plan, actor=actor, region=None, park=None, today=today)
        created += 1
        for spec in _national_specs(year):
            _create(spec, actor=actor, region=None, park=None, today=today)
            created += 1
    provinces = Region.objects.filter(level="province", code__in=_demo_provinces()).order_by("code")
    for province in provinces:
        office = _ip_office(province.code)
        actor = _user(office)
        if office is None or actor is None:
            continue
        for spec in _provincial_specs(province.name, _ABBR.get(province.code[:2], _short(province.name)), year):
            _create(spec, actor=actor, region=province, park=None, today=today)
            created += 1
        local = (
            Organisation.objects.filter(
                kind=OrganisationKind.IP_OFFICE,
                region__code__startswith=province.code[:2],
                is_active=True,
            )
            .exclude(region__code=province.code)
            .select_related("region")
            .order_by("region__code")
            .first()
        )
        local_actor = _user(local)
        if local is not None and local_actor is not None and local.region is not None:
            for spec in _local_spec(local.region, year):
                _create(spec, actor=local_actor, region=local.region, park=None, today=today)
                created += 1
        parks = Park.objects.filter(
            region__code__startswith=province.code[:2], administering_org__isnull=False
        ).order_by("-is_key_park", "region__code", "name")[:2]
        for park in parks:
            park_actor = _user(park.administering_org)
            if park_actor is None:
                continue
            for spec in _park_spec(park, year)[: 2 if park.is_key_park else 1]:
                _create(spec, actor=park_actor, region=None, park=park, today=today)
                created += 1
    return created


_ABBR = {"11": "京", "12": "津", "31": "沪", "32": "苏", "33": "浙", "44": "粤", "50": "渝", "51": "川", "37": "鲁"}


def _demo_provinces() -> list[str]:
    """Provinces that have a provincial IP office in the data (the demo has Beijing and Jiangsu)."""
    codes = (
        Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE, admin_level=AdminLevel.PROVINCIAL, region__isnull=False
        )
        .values_list("region__code", flat=True)
        .order_by("region__code")
    )
    return list(codes)[:6]
