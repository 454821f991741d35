"""Every entity offices exchange as spreadsheets: its columns and the restricted queryset its rows come from.

A column reads one value from a row (a dotted attribute path, ``get_x_display`` included, or a callable taking the
row and the user). Querysets start from ``Model.objects.restrict(user, Action.VIEW)`` with the joins the columns
follow, so an export of 50,000 rows runs a handful of queries. Personal data of enterprises (the legal
representative's ID number, the contact phone) is masked exactly as the pages mask it (``ipledge.core.privacy``).
"""

import datetime
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db.models import Model, Prefetch, QuerySet

from ipledge.compensation.models import Claim
from ipledge.core import privacy
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.disposal.models import DisposalCase
from ipledge.lending.models import Loan
from ipledge.market.models import Demand, Product
from ipledge.monitoring.models import EnterpriseFinancials, MeasureEntry
from ipledge.portal.models import Policy
from ipledge.registration.models import PledgeRegistration
from ipledge.registry.models import Enterprise, IPRight, IPRightOwner, Park
from ipledge.screening.models import WhitelistEntry
from ipledge.valuation.models import Valuation

TEXT, DATE, MONEY, INT, DECIMAL, BOOL = "text", "date", "money", "int", "decimal", "bool"

Getter = Callable[[Any, Any], Any]


@dataclass(frozen=True)
class Column:
    """One exported column: its Chinese header, how to read it from a row, and its type."""

    label: str
    source: str | Getter
    kind: str = TEXT

    def value(self, row: Any, user: Any) -> Any:
        if callable(self.source):
            raw = self.source(row, user)
        else:
            raw = row
            for part in self.source.split("."):
                if raw is None:
                    break
                raw = getattr(raw, part)
                if callable(raw):
                    raw = raw()
        return normalise(raw, self.kind)


def normalise(raw: Any, kind: str) -> Any:
    """A cell value as exported: money an exact Decimal (yuan, two places), dates ISO dates, booleans 是/否."""
    if raw is None or raw == "":
        return None
    if isinstance(raw, Money):
        return raw.amount
    if kind == BOOL or isinstance(raw, bool):
        return "是" if raw else "否"
    if isinstance(raw, datetime.datetime):
        return raw.date() if kind == DATE else raw.replace(microsecond=0)
    if isinstance(raw, list | tuple):
        return ";".join(str(v) for v in raw)
    if isinstance(raw, Decimal | int | float | datetime.date):
        return raw
    return str(raw)


@dataclass(frozen=True)
class Entity:
    key: str
    label: str
    model: type[Model]
    columns: tuple[Column, ...]
    queryset: Callable[[Any], QuerySet[Any]]
    importable: bool = False

    def rows(self, user: Any) -> QuerySet[Any]:
        return self.queryset(user)

    @property
    def headers(self) -> list[str]:
        return [c.label for c in self.columns]


def _visible(model: type[Model], user: Any) -> QuerySet[Any]:
    return model.objects.restrict(user, Action.VIEW)  # type: ignore[attr-defined,no-any-return]


def _masked(field: str, mask: Callable[[str | None], str]) -> Getter:
    def read(enterprise: Any, user: Any) -> str:
        value = getattr(enterprise, field) or ""
        return value if privacy.sees_personal_data(user, enterprise) else mask(value)

    return read


def _owner_usccs(right: Any, user: Any) -> str:
    return ";".join(o.enterprise.uscc for o in right.owner_rows if o.enterprise_id is not None)


def _owner_shares(right: Any, user: Any) -> str:
    owners = [o for o in right.owner_rows if o.enterprise_id is not None]
    owners += [o for o in right.owner_rows if o.enterprise_id is None]
    return ";".join(format(o.share.normalize(), "f") for o in owners)


def _other_holders(right: Any, user: Any) -> str:
    return ";".join(o.holder_name for o in right.owner_rows if o.enterprise_id is None)


def _ip_rights(user: Any) -> QuerySet[Any]:
    owners = IPRightOwner.objects.select_related("enterprise").order_by("pk")
    return _visible(IPRight, user).prefetch_related(Prefetch("owners", queryset=owners, to_attr="owner_rows"))


def _nice(right: Any, user: Any) -> str:
    return ",".join(str(c) for c in right.nice_classes or [])


ENTITIES: tuple[Entity, ...] = (
    Entity(
        "parks",
        "园区",
        Park,
        (
            Column("园区名称", "name"),
            Column("级别", "get_level_display"),
            Column("类型", "get_kind_display"),
            Column("地区代码", "region.code"),
            Column("所在地区", "region.name"),
            Column("管理机构", "administering_org.name"),
            Column("重点园区", "is_key_park", BOOL),
            Column("统计代码", "nbs_code"),
        ),
        lambda user: _visible(Park, user).select_related("region", "administering_org").order_by("pk"),
    ),
    Entity(
        "enterprises",
        "企业",
        Enterprise,
        (
            Column("统一社会信用代码", "uscc"),
            Column("企业名称", "name"),
            Column("行业门类", "industry_section"),
            Column("行业大类", "industry_division"),
            Column("从业人员", "employees", INT),
            Column("营业收入（元）", "revenue", MONEY),
            Column("资产总额（元）", "total_assets", MONEY),
            Column("成立日期", "established_on", DATE),
            Column("高新技术企业", "is_high_tech", BOOL),
            Column("专精特新", "is_specialised", BOOL),
            Column("地区代码", "region_code"),
            Column("企业规模", "get_size_class_display"),
            Column("法定代表人", "legal_representative"),
            Column("法定代表人身份证号", _masked("legal_representative_id_number", privacy.mask_id_number)),
            Column("联系电话", _masked("contact_phone", privacy.mask_phone)),
        ),
        lambda user: _visible(Enterprise, user).order_by("pk"),
        importable=True,
    ),
    Entity(
        "ip_rights",
        "知识产权",
        IPRight,
        (
            Column("类型", "get_kind_display"),
            Column("号码", "number"),
            Column("名称", "title"),
            Column("申请日", "filing_date", DATE),
            Column("授权日", "grant_date", DATE),
            Column("有效期起", "valid_from", DATE),
            Column("有效期止", "term_end", DATE),
            Column("法律状态", "get_legal_status_display"),
            Column("主分类号", "main_ipc"),
            Column("权利要求数", "claims_count", INT),
            Column("尼斯分类", _nice),
            Column("权利人统一社会信用代码", _owner_usccs),
            Column("份额", _owner_shares),
            Column("其他权利人", _other_holders),
            Column("年费缴至", "annual_fee_paid_until", DATE),
        ),
        lambda user: _ip_rights(user).order_by("pk"),
        importable=True,
    ),
    Entity(
        "registrations",
        "质押登记",
        PledgeRegistration,
        (
            Column("登记号", "registration_no"),
            Column("出质人", "pledgor.name"),
            Column("出质人统一社会信用代码", "pledgor.uscc"),
            Column("质权人", "pledgee.name"),
            Column("登记日期", "registered_on", DATE),
            Column("主债权金额（元）", "claim_amount", MONEY),
            Column("债务履行期限届满日", "performance_end", DATE),
            Column("状态", "get_status_display"),
            Column("注销日期", "cancelled_on", DATE),
            Column("地区代码", "region_code"),
        ),
        lambda user: _visible(PledgeRegistration, user).select_related("pledgor", "pledgee").order_by("pk"),
    ),
    Entity(
        "loans",
        "贷款",
        Loan,
        (
            Column("贷款编号", "reference"),
            Column("借款企业", "borrower.name"),
            Column("借款企业统一社会信用代码", "borrower.uscc"),
            Column("贷款银行", "bank.name"),
            Column("园区", "park.name"),
            Column("状态", "get_status_display"),
            Column("合同编号", "contract_no"),
            Column("贷款本金（元）", "principal", MONEY),
            Column("期限（月）", "term_months", INT),
            Column("年利率", "annual_rate", DECIMAL),
            Column("首次放款日", "first_disbursed_on", DATE),
            Column("到期日", "maturity_date", DATE),
            Column("累计放款（元）", "disbursed_amount", MONEY),
            Column("未偿本金（元）", "outstanding_principal", MONEY),
            Column("五级分类", "get_classification_display"),
            Column("逾期天数", "days_past_due", INT),
            Column("知识产权质押", "is_ip_pledge", BOOL),
            Column("质押登记号", "pledge_registration.registration_no"),
            Column("地区代码", "region_code"),
        ),
        lambda user: (
            _visible(Loan, user).select_related("borrower", "bank", "park", "pledge_registration").order_by("pk")
        ),
    ),
    Entity(
        "valuations",
        "价值评估",
        Valuation,
        (
            Column("知识产权号码", "ip_right.number"),
            Column("知识产权名称", "ip_right.title"),
            Column("企业", "enterprise.name"),
            Column("版本", "version", INT),
            Column("评估基准日", "valuation_date", DATE),
            Column("有效期至", "valid_until", DATE),
            Column("状态", "get_status_display"),
            Column("评估方法", "get_method_display"),
            Column("评分", "score", DECIMAL),
            Column("等级", "grade"),
            Column("评估值P50（元）", "p50", MONEY),
            Column("质押率", "pledge_rate", DECIMAL),
            Column("可贷额度（元）", "loan_ceiling", MONEY),
            Column("评估机构", "agency.name"),
            Column("地区代码", "region_code"),
        ),
        lambda user: _visible(Valuation, user).select_related("ip_right", "enterprise", "agency").order_by("pk"),
    ),
    Entity(
        "products",
        "金融产品",
        Product,
        (
            Column("产品编码", "code"),
            Column("产品名称", "name"),
            Column("银行", "bank.name"),
            Column("状态", "get_status_display"),
            Column("生效版本", "live_version.number", INT),
            Column("金额下限（元）", "live_version.amount_min", MONEY),
            Column("金额上限（元）", "live_version.amount_max", MONEY),
            Column("期限下限（月）", "live_version.term_min_months", INT),
            Column("期限上限（月）", "live_version.term_max_months", INT),
            Column("利率方式", "live_version.get_rate_kind_display"),
            Column("LPR加点（基点）", "live_version.rate_spread_bp", INT),
            Column("固定利率", "live_version.rate_fixed", DECIMAL),
            Column("适用地区", "live_version.region_codes"),
            Column("需白名单", "live_version.requires_whitelist", BOOL),
            Column("产品简介", "live_version.summary"),
        ),
        lambda user: _visible(Product, user).select_related("bank", "live_version").order_by("pk"),
    ),
    Entity(
        "demands",
        "融资需求",
        Demand,
        (
            Column("需求编号", "reference"),
            Column("企业", "enterprise.name"),
            Column("统一社会信用代码", "enterprise.uscc"),
            Column("园区", "park.name"),
            Column("需求金额（元）", "amount", MONEY),
            Column("期限（月）", "term_months", INT),
            Column("用途", "get_purpose_display"),
            Column("状态", "get_status_display"),
            Column("有效期至", "expires_on", DATE),
            Column("发布日期", "created_at", DATE),
            Column("地区代码", "region_code"),
        ),
        lambda user: _visible(Demand, user).select_related("enterprise", "park").order_by("pk"),
    ),
    Entity(
        "whitelist_entries",
        "白名单企业",
        WhitelistEntry,
        (
            Column("园区", "version.whitelist.park.name"),
            Column("期次", "version.whitelist.period"),
            Column("版本", "version.number", INT),
            Column("版本状态", "version.get_status_display"),
            Column("企业", "enterprise.name"),
            Column("统一社会信用代码", "enterprise.uscc"),
            Column("纳入", "included", BOOL),
            Column("来源", "get_source_display"),
            Column("得分", "score", DECIMAL),
            Column("园区意见", "park_note"),
        ),
        lambda user: (
            _visible(WhitelistEntry, user).select_related("version__whitelist__park", "enterprise").order_by("pk")
        ),
    ),
    Entity(
        "claims",
        "风险补偿申请",
        Claim,
        (
            Column("申请编号", "reference"),
            Column("贷款编号", "loan.reference"),
            Column("借款企业", "loan.borrower.name"),
            Column("贷款银行", "loan.bank.name"),
            Column("风险补偿资金池", "fund.name"),
            Column("状态", "get_status_display"),
            Column("不良认定日", "npl_on", DATE),
            Column("逾期天数", "days_past_due", INT),
            Column("未偿本金（元）", "outstanding_principal", MONEY),
            Column("欠息（元）", "unpaid_interest", MONEY),
            Column("风险敞口（元）", "exposure", MONEY),
            Column("补偿金额（元）", "advance_total", MONEY),
            Column("追偿回收（元）", "recoveries_total", MONEY),
            Column("最终损失（元）", "final_loss", MONEY),
            Column("申请日期", "filed_on", DATE),
            Column("批准日期", "approved_on", DATE),
        ),
        lambda user: _visible(Claim, user).select_related("loan__borrower", "loan__bank", "fund").order_by("pk"),
    ),
    Entity(
        "disposal_cases",
        "质物处置",
        DisposalCase,
        (
            Column("案件编号", "reference"),
            Column("贷款编号", "loan.reference"),
            Column("质权银行", "bank.name"),
            Column("出质人", "pledgor.name"),
            Column("质押登记号", "registration.registration_no"),
            Column("状态", "get_status_display"),
            Column("处置方式", "get_route_display"),
            Column("立案日期", "opened_on", DATE),
            Column("成交价（元）", "sale_price", MONEY),
            Column("成交日期", "sold_on", DATE),
            Column("处置费用（元）", "costs", MONEY),
            Column("结案日期", "closed_on", DATE),
            Column("地区代码", "region_code"),
        ),
        lambda user: (
            _visible(DisposalCase, user).select_related("loan", "bank", "pledgor", "registration").order_by("pk")
        ),
    ),
    Entity(
        "policies",
        "政策",
        Policy,
        (
            Column("政策名称", "title"),
            Column("发文机关", "issuing_body"),
            Column("文号", "document_number"),
            Column("政策类型", "get_kind_display"),
            Column("地区代码", "region_code"),
            Column("园区", "park.name"),
            Column("发布日期", "issued_on", DATE),
            Column("生效日期", "effective_from", DATE),
            Column("失效日期", "effective_until", DATE),
            Column("状态", "get_status_display"),
            Column("原文链接", "source_url"),
            Column("适用企业规模", "size_classes"),
            Column("适用行业门类", "industry_sections"),
            Column("摘要", "summary"),
            Column("正文", "body"),
        ),
        lambda user: _visible(Policy, user).select_related("park").order_by("pk"),
        importable=True,
    ),
    Entity(
        "measures",
        "工作措施",
        MeasureEntry,
        (
            Column("措施名称", "title"),
            Column("实施单位", "issuing_body"),
            Column("文号", "document_no"),
            Column("措施类别", "get_category_display"),
            Column("地区代码", "region_code"),
            Column("园区", "park.name"),
            Column("实施日期", "started_on", DATE),
            Column("截止日期", "ended_on", DATE),
            Column("状态", "get_status_display"),
            Column("主要内容", "description"),
            Column("取得成效", "results"),
            Column("公开", "is_public", BOOL),
            Column("填报单位", "owner_org.name"),
        ),
        lambda user: _visible(MeasureEntry, user).select_related("park", "owner_org").order_by("pk"),
        importable=True,
    ),
    Entity(
        "financials",
        "企业年度经营数据",
        EnterpriseFinancials,
        (
            Column("统一社会信用代码", "enterprise.uscc"),
            Column("企业名称", "enterprise.name"),
            Column("年度", "year", INT),
            Column("研发投入（元）", "rd_spending", MONEY),
            Column("营业收入（元）", "revenue", MONEY),
            Column("从业人员", "employees", INT),
            Column("有效专利数", "patents_held", INT),
            Column("已实施专利数", "patents_implemented", INT),
            Column("数据来源", "get_source_display"),
            Column("地区代码", "region_code"),
        ),
        lambda user: _visible(EnterpriseFinancials, user).select_related("enterprise").order_by("pk"),
        importable=True,
    ),
)

BY_KEY: dict[str, Entity] = {e.key: e for e in ENTITIES}


def get(key: str) -> Entity | None:
    return BY_KEY.get(key)


def may_add(user: Any, model: type[Model]) -> bool:
    """Whether the user may add *some* row of this model (role allows it and the model grants an add scope)."""
    scope = scope_for(user)
    if scope is None or not scope.may(Action.ADD):
        return False
    return scope.is_platform or model.scope_q(scope, str(Action.ADD)) is not None  # type: ignore[attr-defined]


def may_export(user: Any) -> bool:
    """Any signed-in user of an organisation (or the platform) may export what it can see."""
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or scope.organisation_id is not None)
