"""Role-aware navigation and the top bar's identity, for every template rendered with a request.

What is shown follows the same rules as the data: an entry appears only when `restrict(user, action)` could
possibly return something for the user, i.e. the role allows the action (`Scope.may`) and the model's `scope_q`
does not rule the organisation kind out. No query runs here beyond loading the user's organisation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.http import HttpRequest
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import pgettext_lazy

from .choices import Role
from .scoping import Action, scope_for


def can(user: Any, model: Any, action: str = Action.VIEW) -> bool:
    """Whether `model.objects.restrict(user, action)` could return anything at all for this user."""
    scope = scope_for(user)
    if scope is None or not scope.may(action):
        return False
    if scope.is_platform:
        return True
    return model.scope_q(scope, str(action)) is not None


def is_admin(user: Any) -> bool:
    scope = scope_for(user)
    return scope is not None and (scope.is_platform or (scope.role == Role.ADMIN and scope.organisation_id is not None))


@dataclass
class NavItem:
    label: Any
    url_name: str
    icon: str
    prefixes: tuple[str, ...] = ()  # other url names (prefixes) under this entry
    active: bool = False

    @property
    def url(self) -> str:
        return reverse(self.url_name)


@dataclass
class NavSection:
    label: Any
    items: list[NavItem] = field(default_factory=list)


def build_navigation(user: Any, current: str = "") -> list[NavSection]:
    from ipledge.registry.models import Enterprise, IPRight, Park

    from .models import ApiCall, ApiKey, AuditEvent

    sections = [NavSection(_("概览"), [NavItem(_("工作台"), "dashboard", "speedometer2")])]
    registry = NavSection(_("登记簿"))
    if can(user, Park):
        registry.items.append(
            NavItem(pgettext_lazy("nav", "园区"), "registry:park_list", "buildings", ("registry:park_",))
        )
    if can(user, Enterprise):
        registry.items.append(
            NavItem(pgettext_lazy("nav", "企业"), "registry:enterprise_list", "briefcase", ("registry:enterprise_",))
        )
    if can(user, IPRight):
        registry.items.append(
            NavItem(
                pgettext_lazy("nav", "知识产权"), "registry:ipright_list", "file-earmark-text", ("registry:ipright_",)
            )
        )
    if can(user, Enterprise, Action.ADD) or can(user, IPRight, Action.ADD):
        registry.items.append(NavItem(_("批量导入"), "registry:import", "upload", ("registry:import_",)))
    if registry.items:
        sections.append(registry)
    pledges = pledge_section(user)
    if pledges.items:
        sections.append(pledges)
    loans = lending_section(user)
    if loans.items:
        sections.append(loans)
    valuation = valuation_section(user)
    if valuation.items:
        sections.append(valuation)
    compensation = compensation_section(user)
    if compensation.items:
        sections.append(compensation)
    disposal = disposal_section(user)
    if disposal.items:
        sections.append(disposal)
    screening = screening_section(user)
    if screening.items:
        sections.append(screening)
    market = market_section(user)
    if market.items:
        sections.append(market)
    monitoring = monitoring_section(user)
    if monitoring.items:
        sections.append(monitoring)
    services = public_services_section(user)
    if services.items:
        sections.append(services)
    exchange = exchange_section(user)
    if exchange.items:
        sections.append(exchange)
    system = NavSection(_("管理"))
    if can(user, AuditEvent):
        system.items.append(NavItem(_("审计日志"), "audit_log", "journal-text"))
    if is_admin(user):
        system.items.append(NavItem(pgettext_lazy("nav", "用户"), "users", "people", ("user_",)))
    if can(user, ApiKey):
        system.items.append(NavItem(_("API 密钥"), "api_keys", "key", ("api_key_",)))
    if can(user, ApiCall):
        system.items.append(NavItem(_("API 调用记录"), "api_calls", "activity"))
    if system.items:
        sections.append(system)
    for section in sections:
        for item in section.items:
            item.active = current == item.url_name or any(current.startswith(p) for p in item.prefixes)
    return sections


def pledge_section(user: Any) -> NavSection:
    """质押登记: filing for banks and agencies, confirmation for enterprises, the workbench for IP offices."""
    from ipledge.registration.models import PledgeFiling, PledgeRegistration

    from .choices import OrganisationKind

    section = NavSection(_("质押登记"))
    scope = scope_for(user)
    kind = scope.kind if scope is not None else None
    is_platform = scope is not None and scope.is_platform
    filing_prefixes = ("registration:filing_detail", "registration:document_")
    if kind in (OrganisationKind.BANK, OrganisationKind.PATENT_AGENCY) and can(user, PledgeFiling, Action.ADD):
        section.items.append(NavItem(_("新建申请"), "registration:filing_create", "plus-square"))
        section.items.append(
            NavItem(_("批量申请"), "registration:bulk_filing", "file-earmark-spreadsheet", ("registration:bulk_",))
        )
    if kind == OrganisationKind.ENTERPRISE and can(user, PledgeFiling):
        section.items.append(NavItem(_("待确认"), "registration:awaiting_confirmation", "hourglass-split"))
    if kind == OrganisationKind.IP_OFFICE and can(user, PledgeFiling, Action.APPROVE):
        section.items.append(NavItem(_("审查工作台"), "registration:examination_queue", "clipboard-check"))
    if can(user, PledgeFiling):
        section.items.append(NavItem(_("申请列表"), "registration:filing_list", "card-list", filing_prefixes))
    if can(user, PledgeRegistration):
        section.items.append(
            NavItem(_("质押登记"), "registration:registration_list", "patch-check", ("registration:registration_",))
        )
    if _has_monitoring():
        from ipledge.registration.models import Alert

        if kind in (OrganisationKind.BANK, OrganisationKind.ENTERPRISE) and can(user, Alert):
            section.items.append(NavItem(_("监测提醒"), "registration:alerts", "bell", ("registration:alert_",)))
        if (kind in (OrganisationKind.IP_OFFICE, OrganisationKind.FINANCIAL_REGULATOR) or is_platform) and can(
            user, PledgeFiling
        ):
            section.items.append(NavItem(_("办理时效"), "registration:figures", "bar-chart"))
    if kind == OrganisationKind.IP_OFFICE or is_platform:
        section.items.append(NavItem(_("节假日安排"), "registration:calendar", "calendar3", ("registration:calendar",)))
    section.items.append(NavItem(_("公示查询"), "registration:public_query", "search"))
    return section


# The indicator dashboards' entry (built by the indicators module) under /lending/indicators/.
INDICATORS_URL_NAME = "lending_indicators:dashboard"


def lending_section(user: Any) -> NavSection:
    """贷款: the loan list, a new application (banks and enterprises), credit plans and NPL reports (banks, read by
    regulators and IP offices) and the indicator dashboards."""
    from ipledge.lending.models import BankNplReport, CreditPlan, Loan

    from .choices import OrganisationKind

    section = NavSection(_("贷款"))
    scope = scope_for(user)
    kind = scope.kind if scope is not None else None
    if can(user, Loan):
        section.items.append(
            NavItem(
                _("贷款列表"),
                "lending:loan_list",
                "cash-coin",
                ("lending:loan_detail", "lending:loan_audit", "lending:loan_export"),
            )
        )
    if kind in (OrganisationKind.BANK, OrganisationKind.ENTERPRISE) and scope is not None and scope.may(Action.ADD):
        section.items.append(NavItem(_("新建贷款申请"), "lending:loan_apply", "plus-square"))
    reports_kinds = (OrganisationKind.BANK, OrganisationKind.FINANCIAL_REGULATOR, OrganisationKind.IP_OFFICE)
    if (kind in reports_kinds or (scope is not None and scope.is_platform)) and can(user, CreditPlan):
        section.items.append(NavItem(_("单列信贷计划"), "lending:credit_plans", "calendar-check"))
    if (kind in reports_kinds or (scope is not None and scope.is_platform)) and can(user, BankNplReport):
        section.items.append(NavItem(_("全行不良率"), "lending:npl_reports", "percent"))
    if can(user, Loan) and _resolves(INDICATORS_URL_NAME):
        section.items.append(NavItem(_("指标看板"), INDICATORS_URL_NAME, "bar-chart-line", ("lending_indicators:",)))
    return section


def valuation_section(user: Any) -> NavSection:
    """评估: valuations (and bundles) for whoever reaches rights or valuations, batch revaluation for parks and IP
    offices, the pledge-rate policy for banks, and the method and model card for everyone."""
    from ipledge.valuation.models import RevaluationBatch, Valuation

    from .choices import OrganisationKind

    section = NavSection(_("价值评估"))
    scope = scope_for(user)
    if scope is None:
        return section
    kind = scope.kind
    if can(user, Valuation):
        section.items.append(
            NavItem(
                _("评估列表"),
                "valuation:list",
                "graph-up-arrow",
                ("valuation:detail", "valuation:right", "valuation:bundle_", "valuation:report"),
            )
        )
    if (kind in (OrganisationKind.PARK_ADMIN, OrganisationKind.IP_OFFICE) or scope.is_platform) and can(
        user, RevaluationBatch
    ):
        section.items.append(NavItem(_("批量评估"), "valuation:batches", "collection-play", ("valuation:batch_",)))
    if kind == OrganisationKind.BANK:
        section.items.append(NavItem(_("质押率政策"), "valuation:policy", "sliders"))
    if section.items:
        section.items.append(NavItem(_("评估方法"), "valuation:model", "diagram-3"))
    return section


def compensation_section(user: Any) -> NavSection:
    """风险补偿: the funds (managers, sponsors, supervisors and the parties that share a loss), enrolled loans and a
    new enrolment for banks, claims, and the payment instructions between the parties."""
    from ipledge.compensation.models import Claim, Enrolment, Fund, Payment

    from .choices import OrganisationKind

    section = NavSection(_("风险补偿"))
    scope = scope_for(user)
    if scope is None or scope.kind in (OrganisationKind.ENTERPRISE, OrganisationKind.PATENT_AGENCY):
        return section
    kind = scope.kind
    if can(user, Fund):
        section.items.append(
            NavItem(
                _("补偿基金"),
                "compensation:fund_list",
                "safe",
                (
                    "compensation:fund_",
                    "compensation:scheme_",
                    "compensation:version_",
                    "compensation:stress_",
                    "compensation:contribution",
                    "compensation:entry_",
                ),
            )
        )
    if can(user, Enrolment):
        enrolment_pages = (
            "compensation:enrolment_detail",
            "compensation:enrolment_claim",
            "compensation:enrolment_release",
        )
        section.items.append(NavItem(_("入池贷款"), "compensation:enrolment_list", "inboxes", enrolment_pages))
    if (kind == OrganisationKind.BANK or scope.is_platform) and can(user, Enrolment, Action.CHANGE):
        section.items.append(NavItem(_("申请入池"), "compensation:enrolment_create", "box-arrow-in-down"))
    if can(user, Claim):
        section.items.append(
            NavItem(_("代偿申请"), "compensation:claim_list", "shield-exclamation", ("compensation:claim_",))
        )
    if can(user, Payment):
        section.items.append(
            NavItem(_("划款指令"), "compensation:payment_list", "cash-stack", ("compensation:payment_",))
        )
    return section


def disposal_section(user: Any) -> NavSection:
    """质物处置: the cases (banks, the parties and the supervisors who read them), opening a case from a defaulted
    loan for banks, the auction sessions every signed-in organisation may browse, and the public listing."""
    from ipledge.disposal.models import AuctionSession, DisposalCase

    from .choices import OrganisationKind

    section = NavSection(_("质物处置"))
    scope = scope_for(user)
    if scope is None:
        return section
    if can(user, DisposalCase):
        section.items.append(NavItem(_("处置案件"), "disposal:case_list", "hammer", ("disposal:case_",)))
    if (scope.kind == OrganisationKind.BANK or scope.is_platform) and can(user, DisposalCase, Action.ADD):
        section.items.append(NavItem(_("立案处置"), "disposal:open", "folder-plus"))
    if can(user, AuctionSession):
        section.items.append(
            NavItem(
                _("拍卖场次"),
                "disposal:session_list",
                "megaphone",
                ("disposal:session_", "disposal:lot_", "disposal:registration_"),
            )
        )
    if section.items:
        section.items.append(NavItem(_("拍卖公示"), "disposal:public_auctions", "broadcast"))
    return section


def screening_section(user: Any) -> NavSection:
    """授信白名单: whitelists and criteria for parks and IP offices, credit records for the offices, an
    enterprise's own status and applications, and the bank's delivered list, subscriptions, decisions and lines."""
    from ipledge.screening.models import (
        CreditDecision,
        CreditImport,
        CreditRecord,
        IntendedCreditLine,
        Subscription,
        Whitelist,
        WhitelistApplication,
    )

    from .choices import OrganisationKind

    section = NavSection(_("授信白名单"))
    scope = scope_for(user)
    if scope is None:
        return section
    kind = scope.kind
    if kind == OrganisationKind.BANK:
        section.items.append(NavItem(_("白名单企业"), "screening:bank_whitelist", "list-check", ("screening:bank_",)))
        if can(user, Subscription):
            section.items.append(
                NavItem(_("白名单订阅"), "screening:subscription_list", "bell", ("screening:subscription_",))
            )
    elif can(user, Whitelist):
        section.items.append(
            NavItem(
                _("授信白名单"),
                "screening:whitelist_list",
                "list-check",
                ("screening:whitelist_", "screening:version_", "screening:entry_override", "screening:screen_park"),
            )
        )
    if kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN) or scope.is_platform:
        section.items.append(NavItem(_("筛选标准"), "screening:criteria_list", "sliders", ("screening:criteria_",)))
    if kind == OrganisationKind.ENTERPRISE:
        section.items.append(NavItem(_("我的白名单状态"), "screening:my_status", "patch-check"))
    if can(user, WhitelistApplication) and kind != OrganisationKind.BANK:
        section.items.append(
            NavItem(_("白名单申请"), "screening:application_list", "envelope-paper", ("screening:application_",))
        )
    if can(user, CreditDecision):
        section.items.append(
            NavItem(_("授信决定"), "screening:decision_list", "check2-square", ("screening:decision_",))
        )
    if can(user, IntendedCreditLine):
        section.items.append(
            NavItem(
                _("意向性授信额度"),
                "screening:line_list",
                "diagram-3",
                ("screening:line_", "screening:allocation_"),
            )
        )
    if can(user, CreditRecord) and kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN, None):
        section.items.append(
            NavItem(_("信用记录"), "screening:record_list", "shield-exclamation", ("screening:record_",))
        )
    if can(user, CreditImport):
        section.items.append(NavItem(_("信用记录导入"), "screening:import_list", "upload", ("screening:import_",)))
    if (kind == OrganisationKind.IP_OFFICE or scope.is_platform) and can(user, CreditRecord, Action.CHANGE):
        section.items.append(NavItem(_("匹配复核"), "screening:review_queue", "person-check"))
    section.items.append(NavItem(_("评分卡"), "screening:scorecard_list", "calculator", ("screening:scorecard_",)))
    return section


def market_section(user: Any) -> NavSection:
    """产品与需求对接: the product library for everyone, a bank's approvals and leads, the demand library for
    enterprises, parks, offices and the banks it is shared with, a park's unmet demands, surveys to organise or to
    answer, and matchmaking events."""
    from ipledge.market.models import Demand, Match, MatchmakingEvent, Product, SurveyCampaign, SurveyTarget

    from .choices import OrganisationKind

    section = NavSection(_("产品与需求对接"))
    scope = scope_for(user)
    if scope is None:
        return section
    kind = scope.kind
    if can(user, Product):
        section.items.append(
            NavItem(
                _("金融产品库"),
                "market:product_list",
                "bank",
                ("market:product_detail", "market:product_create", "market:product_version_", "market:product_import"),
            )
        )
    if kind == OrganisationKind.BANK and can(user, Product, Action.APPROVE):
        section.items.append(NavItem(_("产品审批"), "market:product_approvals", "check2-circle"))
    if can(user, Demand) and kind != OrganisationKind.BANK:
        section.items.append(NavItem(_("融资需求库"), "market:demand_list", "briefcase", ("market:demand_",)))
    if kind == OrganisationKind.BANK and can(user, Match):
        section.items.append(NavItem(_("需求线索"), "market:lead_list", "lightning", ("market:lead_",)))
    if kind == OrganisationKind.PARK_ADMIN and can(user, Demand):
        section.items.append(NavItem(_("待满足需求"), "market:park_unmet", "hourglass-split"))
    organises = kind in (OrganisationKind.IP_OFFICE, OrganisationKind.PARK_ADMIN) or scope.is_platform
    if organises and can(user, SurveyCampaign):
        section.items.append(
            NavItem(
                _("常态化调查"),
                "market:survey_list",
                "clipboard-data",
                (
                    "market:survey_detail",
                    "market:survey_create",
                    "market:survey_edit",
                    "market:survey_results",
                    "market:survey_targets",
                    "market:survey_question_",
                    "market:survey_response_",
                ),
            )
        )
    if kind in (OrganisationKind.ENTERPRISE, OrganisationKind.BANK) and can(user, SurveyTarget):
        section.items.append(NavItem(_("我的调查"), "market:survey_mine", "ui-checks", ("market:survey_respond",)))
    if can(user, MatchmakingEvent):
        section.items.append(NavItem(_("银企对接活动"), "market:event_list", "calendar-event", ("market:event_",)))
    return section


def _resolves(url_name: str) -> bool:
    from django.urls import NoReverseMatch

    try:
        reverse(url_name)
    except NoReverseMatch:
        return False
    return True


def _has_monitoring() -> bool:
    import importlib.util

    return importlib.util.find_spec("ipledge.registration.monitoring") is not None


def navigation(request: HttpRequest) -> dict[str, Any]:
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    match = getattr(request, "resolver_match", None)
    current = match.view_name if match is not None else ""
    organisation = user.organisation
    return {
        "nav": build_navigation(user, current),
        "current_organisation": organisation,
        "current_role_label": user.get_role_display() if not user.is_superuser else _("平台管理员"),
    }


def monitoring_section(user: Any) -> NavSection:
    """行动监测: the 百园万企 targets for officials and parks, anomaly findings and bulletins, provincial plans with
    their task ledgers and reminders, key parks, the impact of financing, measures and reports, typical cases; an
    enterprise reaches its yearly figures (for the impact analysis) and the public showcase."""
    from ipledge.monitoring.models import (
        EnterpriseFinancials,
        Finding,
        GeneratedReport,
        KeyParkDesignation,
        MeasureEntry,
        PlanTask,
        ProvincialPlan,
        TypicalCase,
    )

    from .choices import GOVERNMENT_KINDS, OrganisationKind

    section = NavSection(_("行动监测"))
    scope = scope_for(user)
    if scope is None:
        return section
    kind = scope.kind
    official = kind in GOVERNMENT_KINDS or scope.is_platform
    if official or kind == OrganisationKind.PARK_ADMIN:
        section.items.append(NavItem(_("百园万企目标"), "monitoring:targets", "bullseye", ("monitoring:targets_",)))
    if can(user, Finding):
        section.items.append(
            NavItem(
                _("异常线索"),
                "monitoring:findings",
                "exclamation-octagon",
                ("monitoring:finding_", "monitoring:scan", "monitoring:bulletin"),
            )
        )
    # Others reach the ledger only when they own a task in it (a bank or park named as 责任单位).
    if (official and can(user, ProvincialPlan)) or PlanTask.objects.restrict(user).exists():
        section.items.append(
            NavItem(
                _("行动方案与台账"),
                "monitoring:plans",
                "list-check",
                ("monitoring:plan_", "monitoring:task_", "monitoring:reminder"),
            )
        )
    if official and can(user, KeyParkDesignation):
        section.items.append(NavItem(_("重点园区"), "monitoring:key_parks", "star", ("monitoring:key_park_",)))
    if official or kind == OrganisationKind.PARK_ADMIN:
        section.items.append(NavItem(_("融资成效"), "monitoring:impact", "graph-up-arrow", ("monitoring:impact_",)))
    if can(user, EnterpriseFinancials) and kind == OrganisationKind.ENTERPRISE:
        section.items.append(
            NavItem(_("年度经营数据"), "monitoring:financials", "cash-stack", ("monitoring:financials_",))
        )
    if can(user, MeasureEntry) and (official or kind == OrganisationKind.PARK_ADMIN):
        section.items.append(
            NavItem(_("工作措施"), "monitoring:measures", "journal-bookmark", ("monitoring:measure_",))
        )
    if can(user, GeneratedReport):
        section.items.append(NavItem(_("统计报告"), "monitoring:reports", "file-earmark-text", ("monitoring:report_",)))
    if can(user, TypicalCase) and kind != OrganisationKind.ENTERPRISE:
        section.items.append(NavItem(_("典型案例"), "monitoring:cases", "award", ("monitoring:case_",)))
    section.items.append(NavItem(_("成效展示"), "showcase:index", "globe2"))
    return section


def public_services_section(user: Any) -> NavSection:
    """公共服务: the public portal and policy library for everyone; an enterprise's one-stop park service centre
    (一站式服务中心) and its policy questions; a park's queue of enterprise requests; the issuers' policy management
    and the offices' consultation queue."""
    from ipledge.portal.models import Consultation, Policy, ServiceRequest

    from .choices import GOVERNMENT_KINDS, OrganisationKind

    section = NavSection(_("公共服务"))
    scope = scope_for(user)
    if scope is None:
        return section
    kind = scope.kind
    section.items.append(NavItem(_("门户首页"), "portal:home", "house", ("portal:product_",)))
    section.items.append(
        NavItem(_("政策库"), "portal:policy_list", "book", ("portal:policy_detail", "portal:policy_for_me"))
    )
    if kind == OrganisationKind.ENTERPRISE:
        section.items.append(NavItem(_("一站式服务"), "portal:my_service_centre", "shop", ("portal:service_centre",)))
    if can(user, ServiceRequest, Action.CHANGE) or kind in GOVERNMENT_KINDS:
        section.items.append(
            NavItem(
                _("园区服务事项"), "portal:service_queue", "inbox", ("portal:service_request_", "portal:service_centre")
            )
        )
    if can(user, Consultation) and kind != OrganisationKind.BANK:
        section.items.append(
            NavItem(_("政策咨询"), "portal:consultation_list", "chat-left-text", ("portal:consultation_",))
        )
    if can(user, Policy, Action.ADD):
        section.items.append(
            NavItem(
                _("政策发布管理"),
                "portal:policy_manage",
                "journal-plus",
                ("portal:policy_create", "portal:policy_edit", "portal:policy_attachment"),
            )
        )
    return section


def exchange_section(user: Any) -> NavSection:
    """数据交换: platform operators run the 信易贷 exchange (partners, the outbound queue with its dead letters, what
    was received) and government bodies watch their region's partners read-only; an enterprise grants or revokes
    sharing and sees what partners sent about it; every organisation exchanges spreadsheets of what it may see."""
    from ipledge.integration.models import ExchangePartner, PartnerCreditReport, ShareConsent

    from .choices import OrganisationKind

    section = NavSection(_("数据交换"))
    scope = scope_for(user)
    if scope is None:
        return section
    if can(user, ExchangePartner):
        section.items.append(NavItem(_("信易贷对接"), "integration:partner_list", "plug", ("integration:partner_",)))
        section.items.append(
            NavItem(_("推送队列与死信"), "integration:outbound_list", "send", ("integration:outbound_",))
        )
        section.items.append(NavItem(_("接收消息"), "integration:inbound_list", "inbox", ("integration:inbound_",)))
    if scope.kind == OrganisationKind.ENTERPRISE and can(user, ShareConsent):
        section.items.append(
            NavItem(_("信息共享授权"), "integration:consent", "shield-check", ("integration:consent_",))
        )
    if can(user, PartnerCreditReport) and not scope.is_platform:
        section.items.append(NavItem(_("信易贷信用信息"), "integration:credit_reports", "clipboard-data"))
    if scope.organisation_id is not None or scope.is_platform:
        section.items.append(
            NavItem(_("批量导入导出"), "integration:bulk_index", "file-earmark-arrow-down", ("integration:bulk_",))
        )
    return section
