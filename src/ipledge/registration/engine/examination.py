"""Examination engine of pledge registration (质押登记审查): every automatable refusal ground, each citing its rule.

The engine takes plain facts (frozen dataclasses built by the services from the registry) and returns findings.
It has no Django imports, so it runs the same for one filing in a request and for many in a batch.

Sources are those of `shared/research/domain.md` §1.2–2.4:

* patents: 专利权质押登记办法（2021，国家知识产权局公告第461号）; its refusal grounds (不予登记情形) as listed by
  the Wuxi IP protection centre (wxjkippc.org.cn), numbered 1–12 in domain.md §1.5;
* trademarks: 注册商标专用权质押登记程序规定（2020，国家知识产权局公告第358号）;
* copyright: 著作权质权登记办法（2010，国家版权局令第8号）; its refusal grounds are recalled, not retrieved;
* IC layout designs: 集成电路布图设计保护条例（2001） has no pledge provision, so there is no registration route.

Citations marked "[unconfirmed]" rest on domain.md statements that were not seen in an official text; they must
be checked before the rule is relied on as law. Rules marked "平台规则" are platform policy (issue 3 / requirement
M6), not a statutory ground.

Design decisions:

* Filing-level rules come first (contract, documents, empty bundle), then each item in filing order, each under
  its own kind's rules, in a fixed rule order: the output is deterministic.
* A right that is not in force (not granted, terminated, invalidated) is reported for that, and the checks that
  presume a live right (annual fee, term against the performance period) are skipped for it.
* Licence-revenue items (许可收益权) need a recorded licence contract and are checked under their right's
  ownership and status rules only: the pledged collateral is the revenue, not the right itself.
"""

from __future__ import annotations

import difflib
import unicodedata
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal

# --- vocabulary -------------------------------------------------------------------------------------------------

REFUSE = "refuse"
WARN = "warn"

PATENT = "patent"
TRADEMARK = "trademark"
COPYRIGHT = "copyright"
IC_LAYOUT = "ic_layout"
KINDS = (PATENT, TRADEMARK, COPYRIGHT, IC_LAYOUT)
FILING = "filing"  # pseudo-kind of filing-level rules

UTILITY_MODEL_TYPES = frozenset({"utility_model", "pct_utility_model"})

VALID = "valid"
PENDING = "pending"
INVALIDATED = "invalidated"
TERMINATED_STATUSES = frozenset({"lapsed", "expired", "abandoned", "revoked"})

DECLARATION_PENDING_INVALIDATION = "pending_invalidation"
DECLARATION_SAME_DAY_INVENTION = "same_day_invention"

DOC_CONTRACT = "contract"
DOC_IDENTITY = "identity"
DOC_COMMITMENT = "commitment"
DOC_CO_OWNER_CONSENT = "co_owner_consent"
DOC_VALUATION_REPORT = "valuation_report"
DOC_LICENCE_CONTRACT = "licence_contract"
DOC_POWER_OF_ATTORNEY = "power_of_attorney"

KIND_LABELS: dict[str, tuple[str, str]] = {
    PATENT: ("专利权", "patent"),
    TRADEMARK: ("注册商标专用权", "registered trademark"),
    COPYRIGHT: ("著作权", "copyright"),
    IC_LAYOUT: ("集成电路布图设计专有权", "IC layout design"),
}

STATUS_LABELS: dict[str, tuple[str, str]] = {
    "pending": ("审查中", "pending"),
    "valid": ("有效", "valid"),
    "lapsed": ("未缴年费终止", "lapsed for unpaid fees"),
    "expired": ("期限届满", "expired"),
    "invalidated": ("被宣告无效", "invalidated"),
    "abandoned": ("放弃", "abandoned"),
    "revoked": ("撤销", "revoked"),
}

MARK_SIMILARITY_THRESHOLD = 0.8


# --- facts and findings -----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class OwnerFacts:
    """One registered owner of a right, as recorded in the official register."""

    enterprise_id: int | None
    name: str
    share: Decimal


@dataclass(frozen=True)
class RightFacts:
    """The registry's facts about one IP right at the time of examination."""

    right_id: int
    kind: str  # "patent" | "trademark" | "copyright" | "ic_layout"
    number: str
    title: str
    patent_type: str  # "" or invention/utility_model/design/pct_invention/pct_utility_model
    legal_status: str  # pending/valid/lapsed/expired/invalidated/abandoned/revoked
    filing_date: date | None
    grant_date: date | None
    term_end: date | None
    annual_fee_paid_until: date | None
    owners: tuple[OwnerFacts, ...]
    nice_classes: tuple[int, ...] = ()
    suspended: bool = False  # ownership dispute, CNIPA proceedings suspended (中止)
    preserved: bool = False  # court preservation (保全) / trademark seized or frozen
    invalidation_pending: bool = False
    same_day_invention_filed: bool = False  # utility model whose applicant filed an invention the same day
    active_pledge_no: str | None = None  # registration number of a pledge currently in force on this right
    pending_filing_ids: tuple[int, ...] = ()  # other filings under examination for this right


@dataclass(frozen=True)
class ItemFacts:
    """One pledged item of a filing: a right, or the licence revenue (许可收益权) of a right."""

    right: RightFacts
    co_owner_consent: bool = False
    licence_revenue: bool = False
    licence_contract_ref: str = ""


@dataclass(frozen=True)
class FilingFacts:
    """A pledge-registration filing: the contract data, the documents and the bundle of items."""

    filing_id: int
    pledgor_enterprise_id: int
    pledgor_name: str
    pledgee_name: str
    claim_kind: str
    claim_amount: Decimal | None
    performance_start: date | None
    performance_end: date | None
    guarantee_scope: str
    filed_on: date
    items: tuple[ItemFacts, ...]
    declarations: frozenset[str] = frozenset()  # "pending_invalidation", "same_day_invention"
    documents: frozenset[str] = frozenset()  # "contract", "identity", "commitment", "co_owner_consent", ...
    has_valuation: bool = False
    other_marks_of_pledgor: tuple[RightFacts, ...] = ()  # pledgor's other registered trademarks


@dataclass(frozen=True)
class Finding:
    """One examination finding. `severity` is "refuse" (blocks registration) or "warn" (may proceed)."""

    rule: str
    severity: str
    right_id: int | None
    message: str
    message_en: str
    citation: str


@dataclass(frozen=True)
class RuleInfo:
    """Catalogue entry of a rule: titles, sources, default severity and the kinds it applies to.

    `citation` lists every source of the rule; `citations` holds the source per kind (or per "filing") and is
    what a finding cites. `severity` is the default: a few rules vary (see `severity_note`).
    """

    title: str
    title_en: str
    citation: str
    severity: str
    applies_to: tuple[str, ...]
    citations: tuple[tuple[str, str], ...] = field(default=(), repr=False)
    severity_note: str = ""

    def citation_for(self, kind: str) -> str:
        for key, text in self.citations:
            if key == kind:
                return text
        return self.citation


# --- the rule catalogue -----------------------------------------------------------------------------------------

_PAT = "专利权质押登记办法（2021）"
_WUXI = "无锡知识产权保护中心不予登记情形第{}项"
_TM = "注册商标专用权质押登记程序规定（2020）"
_CR = "著作权质权登记办法（2010）"
_M6 = "平台规则：同一权利仅一个有效质押（需求M6）"


def _wuxi(number: int) -> str:
    return _WUXI.format(number)


def _rule(
    title: str,
    title_en: str,
    severity: str,
    citations: Sequence[tuple[str, str]],
    severity_note: str = "",
) -> RuleInfo:
    joined = "；".join(f"{KIND_LABELS[k][0] if k in KIND_LABELS else '申请'}：{text}" for k, text in citations)
    if len(citations) == 1:
        joined = citations[0][1]
    return RuleInfo(
        title=title,
        title_en=title_en,
        citation=joined,
        severity=severity,
        applies_to=tuple(k for k, _ in citations),
        citations=tuple(citations),
        severity_note=severity_note,
    )


RULES: dict[str, RuleInfo] = {
    # filing level
    "contract_incomplete": _rule(
        "质押合同内容不完整",
        "Pledge contract incomplete",
        REFUSE,
        [
            (PATENT, f"{_PAT}第八条（条文措辞[unconfirmed]，内容依2010年办法[unconfirmed]）；{_wuxi(7)}"),
            (TRADEMARK, f"{_TM}第五条（被担保债权种类、数额及质押商标清单）"),
            (COPYRIGHT, f"{_CR}质权合同内容[unconfirmed]"),
        ],
    ),
    "documents_missing": _rule(
        "申请材料不齐",
        "Documents missing",
        REFUSE,
        [
            (PATENT, f"{_PAT}第七条"),
            (TRADEMARK, f"{_TM}第四条（承诺书依实务）"),
            (COPYRIGHT, f"{_CR}第六条"),
        ],
    ),
    "empty_bundle": _rule(
        "未列明出质权利",
        "No right listed in the filing",
        REFUSE,
        [(FILING, f"{_PAT}第八条（专利件数及各专利信息）[unconfirmed]；{_TM}第五条（质押商标清单）")],
    ),
    # item level, shared by several kinds
    "pledgor_not_owner": _rule(
        "出质人不是登记的权利人",
        "Pledgor is not the registered owner",
        REFUSE,
        [
            (PATENT, f"{_PAT}不予登记情形；{_wuxi(1)}"),
            (TRADEMARK, f"{_TM}不予登记情形（一）出质人名称与局记录不符且不能证明其为注册人"),
            (COPYRIGHT, f"{_CR}第十二条（出质人不是著作权人）[unconfirmed]"),
        ],
    ),
    "not_granted": _rule(
        "专利申请尚未授权",
        "Patent application not granted",
        REFUSE,
        [(PATENT, f"{_PAT}不予登记情形；{_wuxi(3)}")],
    ),
    "right_terminated": _rule(
        "权利已终止或期限届满",
        "Right terminated or expired",
        REFUSE,
        [
            (PATENT, f"{_PAT}不予登记情形；{_wuxi(2)}；专利法第四十二条、第四十四条"),
            (TRADEMARK, f"{_TM}不予登记情形（三）商标已被注销、撤销或期满未续展；商标法第三十九条、第四十条"),
            (COPYRIGHT, f"{_CR}第十二条（保护期届满）[unconfirmed]；著作权法第二十三条"),
        ],
    ),
    "invalidated": _rule(
        "专利权已被宣告无效",
        "Patent declared invalid",
        REFUSE,
        [(PATENT, f"{_PAT}不予登记情形；{_wuxi(2)}；专利法第四十七条")],
    ),
    "annual_fee_unpaid": _rule(
        "未按规定缴纳年费",
        "Annual fee not paid",
        REFUSE,
        [
            (
                PATENT,
                f"{_PAT}不予登记情形；{_wuxi(4)}；专利法实施细则（2023）第一百一十五条（滞纳期内按未缴处理：2009年旧规明文，2021年为平台口径）",
            )
        ],
    ),
    "suspended_or_preserved": _rule(
        "权属纠纷中止或被保全、查封、冻结",
        "Suspended for an ownership dispute, or preserved / seized / frozen",
        REFUSE,
        [
            (PATENT, f"{_PAT}不予登记情形；{_wuxi(5)}；专利法实施细则（2023）第一百零三至一百零五条"),
            (TRADEMARK, f"{_TM}不予登记情形（四）商标被查封、冻结[unconfirmed]"),
            (COPYRIGHT, f"{_CR}第十二条（著作权权属争议）[unconfirmed]"),
        ],
    ),
    "term_before_performance_end": _rule(
        "债务履行期限超过权利保护期",
        "Debtor's performance period runs past the right's term",
        REFUSE,
        [
            (PATENT, f"{_PAT}不予登记情形；{_wuxi(6)}"),
            (TRADEMARK, f"{_TM}第五条（质押商标期限）；商标法第四十条（续展）——提示"),
            (COPYRIGHT, f"{_CR}第十二条（债务履行期限超过著作权保护期）[unconfirmed]"),
        ],
        severity_note="warn for trademarks (renewable), refuse otherwise",
    ),
    "co_owner_consent_missing": _rule(
        "共有权利未经其他共有人同意",
        "Co-owned right without the other co-owners' consent",
        REFUSE,
        [
            (PATENT, f"{_PAT}第四条；{_wuxi(8)}"),
            (TRADEMARK, f"{_TM}第三条"),
            (COPYRIGHT, f"{_CR}第三条"),
        ],
    ),
    "already_pledged": _rule(
        "权利已出质且在质押期内",
        "Right already pledged and within its pledge period",
        REFUSE,
        [
            (PATENT, f"{_PAT}不予登记情形；{_wuxi(9)}"),
            (TRADEMARK, f"{_M6}；{_TM}不予登记情形（五）其他不符合出质条件"),
            (COPYRIGHT, f"{_M6}；{_CR}第十二条（其他）[unconfirmed]"),
        ],
    ),
    # A warning, not a refusal: ground 9 refuses a right "already pledged and within its pledge period"; rival
    # filings under examination are not yet pledges. The examiner sees them, and the first registered wins
    # (one active pledge per right is a database constraint), after which the others meet `already_pledged`.
    "pending_duplicate_filing": _rule(
        "同一专利权已有质押登记申请在审",
        "Another pledge filing for the same patent is under examination",
        WARN,
        [(PATENT, f"{_PAT}不予登记情形；{_wuxi(9)}（已被申请质押登记）；{_M6}")],
    ),
    "invalidation_pending_declaration": _rule(
        "专利权处于无效宣告程序中",
        "Invalidation proceedings pending",
        WARN,
        [(PATENT, f"{_PAT}不予登记情形；{_wuxi(11)}（告知后当事人声明仍要求办理的除外）")],
        severity_note="warn when the parties' declaration is recorded, refuse otherwise",
    ),
    "same_day_invention_declaration": _rule(
        "实用新型同日申请了发明专利",
        "Utility model with a same-day invention application",
        WARN,
        [
            (
                PATENT,
                f"{_PAT}不予登记情形；{_wuxi(10)}（告知后当事人声明仍要求办理的除外）；"
                "乌鲁木齐代办处《质押专利同日申请情况的声明》",
            )
        ],
        severity_note="warn when the parties' declaration is recorded, refuse otherwise",
    ),
    "marks_not_pledged_together": _rule(
        "相同或近似商标未一并质押",
        "Identical or similar marks not pledged together",
        REFUSE,
        [(TRADEMARK, f"{_TM}第三条（同一或类似商品/服务上相同或近似商标应一并质押）")],
    ),
    "licence_contract_missing": _rule(
        "许可收益权未引用已备案的许可合同",
        "Licence-revenue item without a recorded licence contract",
        REFUSE,
        [
            (PATENT, f"平台规则：许可收益权须引用已备案许可合同（issue 3）；{_PAT}第七条（其他材料）"),
            (TRADEMARK, "平台规则：许可收益权须引用已备案许可合同（issue 3）"),
            (COPYRIGHT, f"平台规则：许可收益权须引用已备案许可合同（issue 3）；{_CR}第六条（许可合同）"),
        ],
    ),
    "ic_layout_no_registration_route": _rule(
        "集成电路布图设计无质押登记途径",
        "No pledge-registration route for IC layout designs",
        REFUSE,
        [
            (
                IC_LAYOUT,
                "集成电路布图设计保护条例（2001）无质押条款（第二十二条仅规定转让登记）；"
                "民法典第四百四十条第（七）项；是否受理[unconfirmed]",
            )
        ],
    ),
}


# --- helpers ----------------------------------------------------------------------------------------------------


def _finding(
    rule: str, kind: str, right_id: int | None, message: str, message_en: str, *, severity: str = ""
) -> Finding:
    info = RULES[rule]
    return Finding(
        rule=rule,
        severity=severity or info.severity,
        right_id=right_id,
        message=message,
        message_en=message_en,
        citation=info.citation_for(kind),
    )


def _filing_citation(rule: str, kinds: Iterable[str]) -> str:
    """Citation of a filing-level rule: the sources for the kinds present, in catalogue order."""
    info = RULES[rule]
    present = set(kinds)
    parts = [text for key, text in info.citations if key in present]
    return "；".join(dict.fromkeys(parts)) if parts else info.citation


def normalise_name(name: str) -> str:
    """Name for comparison: NFKC (full-width to half-width), case-folded, without any whitespace."""
    return "".join(unicodedata.normalize("NFKC", name).casefold().split())


def marks_similar(a: str, b: str) -> bool:
    """Identical or similar trademark names: identical after normalising, one containing the other, or a
    difflib ratio ≥ 0.8 on the normalised names. Empty names are never similar."""
    na, nb = normalise_name(a), normalise_name(b)
    if not na or not nb:
        return False
    if na == nb or na in nb or nb in na:
        return True
    return difflib.SequenceMatcher(None, na, nb).ratio() >= MARK_SIMILARITY_THRESHOLD


def _label(right: RightFacts) -> tuple[str, str]:
    zh, en = KIND_LABELS.get(right.kind, (right.kind, right.kind))
    return f"{zh}{right.number}（{right.title}）", f"{en} {right.number} ({right.title})"


def _status(status: str) -> tuple[str, str]:
    return STATUS_LABELS.get(status, (status, status))


def _in_force(right: RightFacts, filed_on: date) -> bool:
    return right.legal_status == VALID and (right.term_end is None or right.term_end >= filed_on)


def _owner_names(right: RightFacts) -> str:
    return "、".join(o.name for o in right.owners) or "（无）"


def _owner_names_en(right: RightFacts) -> str:
    return ", ".join(o.name for o in right.owners) or "(none)"


# --- filing-level rules -----------------------------------------------------------------------------------------


def _check_contract(filing: FilingFacts) -> list[Finding]:
    missing: list[tuple[str, str]] = []
    if not filing.pledgor_name.strip():
        missing.append(("出质人名称", "pledgor's name"))
    if not filing.pledgee_name.strip():
        missing.append(("质权人名称", "pledgee's name"))
    if not filing.claim_kind.strip():
        missing.append(("被担保债权种类", "kind of secured claim"))
    if filing.claim_amount is None:
        missing.append(("被担保债权数额", "amount of secured claim"))
    elif filing.claim_amount <= 0:
        missing.append(("被担保债权数额（须大于零）", "amount of secured claim (must be > 0)"))
    if filing.performance_start is None:
        missing.append(("债务人履行债务的期限（起始日）", "debtor's performance period (start)"))
    if filing.performance_end is None:
        missing.append(("债务人履行债务的期限（届满日）", "debtor's performance period (end)"))
    if (
        filing.performance_start is not None
        and filing.performance_end is not None
        and filing.performance_start > filing.performance_end
    ):
        missing.append(("债务履行期限（起始日晚于届满日）", "performance period (start after end)"))
    if not filing.guarantee_scope.strip():
        missing.append(("质押担保的范围", "scope of the guarantee"))
    for position, item in enumerate(filing.items, start=1):
        if not item.right.number.strip():
            missing.append((f"第{position}项权利的号码", f"number of item {position}"))
        if not item.right.title.strip():
            missing.append((f"第{position}项权利的名称", f"name of item {position}"))
    # An empty bundle is reported by its own rule, `empty_bundle`, not repeated here.
    if not missing:
        return []
    return [
        Finding(
            rule="contract_incomplete",
            severity=RULES["contract_incomplete"].severity,
            right_id=None,
            message="质押合同缺少以下内容：" + "、".join(zh for zh, _ in missing) + "。",
            message_en="The pledge contract lacks: " + "; ".join(en for _, en in missing) + ".",
            citation=_filing_citation("contract_incomplete", (i.right.kind for i in filing.items)),
        )
    ]


def _check_documents(filing: FilingFacts) -> list[Finding]:
    docs = filing.documents
    missing: list[tuple[str, str]] = []
    if DOC_CONTRACT not in docs:
        missing.append(("质押合同", "pledge contract"))
    if DOC_IDENTITY not in docs and DOC_COMMITMENT not in docs:
        missing.append(("双方身份证明或承诺书", "identity documents of both parties, or a commitment letter"))
    if DOC_CO_OWNER_CONSENT not in docs and any(len(i.right.owners) > 1 for i in filing.items):
        missing.append(("共有人同意书", "co-owners' written consent"))
    if DOC_VALUATION_REPORT not in docs and filing.has_valuation:
        missing.append(("资产评估报告", "valuation report"))
    if DOC_LICENCE_CONTRACT not in docs and any(i.licence_revenue for i in filing.items):
        missing.append(("许可合同（许可收益权出质）", "licence contract (licence-revenue item)"))
    if not missing:
        return []
    return [
        Finding(
            rule="documents_missing",
            severity=RULES["documents_missing"].severity,
            right_id=None,
            message="申请材料缺少：" + "、".join(zh for zh, _ in missing) + "。",
            message_en="Missing documents: " + "; ".join(en for _, en in missing) + ".",
            citation=_filing_citation("documents_missing", (i.right.kind for i in filing.items)),
        )
    ]


def _check_bundle(filing: FilingFacts) -> list[Finding]:
    if filing.items:
        return []
    return [
        _finding(
            "empty_bundle",
            FILING,
            None,
            "申请未列明任何出质的权利。",
            "The filing lists no right to be pledged.",
        )
    ]


# --- item-level rules shared by the kinds -----------------------------------------------------------------------


def _check_owner(filing: FilingFacts, right: RightFacts) -> list[Finding]:
    label, label_en = _label(right)
    owner = next((o for o in right.owners if o.enterprise_id == filing.pledgor_enterprise_id), None)
    if owner is None:
        return [
            _finding(
                "pledgor_not_owner",
                right.kind,
                right.right_id,
                f"出质人“{filing.pledgor_name}”不是{label}登记的权利人（登记权利人：{_owner_names(right)}）。",
                f"The pledgor “{filing.pledgor_name}” is not a registered owner of {label_en} "
                f"(registered owners: {_owner_names_en(right)}).",
            )
        ]
    if normalise_name(owner.name) != normalise_name(filing.pledgor_name):
        return [
            _finding(
                "pledgor_not_owner",
                right.kind,
                right.right_id,
                f"出质人名称“{filing.pledgor_name}”与{label}登记的权利人名称“{owner.name}”不一致；"
                "请先办理著录项目变更或提交证明。",
                f"The pledgor's name “{filing.pledgor_name}” differs from the registered owner's name "
                f"“{owner.name}” of {label_en}; record the change of name first or prove the identity.",
            )
        ]
    return []


def _check_co_owners(item: ItemFacts) -> list[Finding]:
    right = item.right
    if len(right.owners) <= 1 or item.co_owner_consent:
        return []
    label, label_en = _label(right)
    return [
        _finding(
            "co_owner_consent_missing",
            right.kind,
            right.right_id,
            f"{label}为共有（{_owner_names(right)}），未记录其他共有人同意出质。",
            f"{label_en} is co-owned ({_owner_names_en(right)}) and the other co-owners' consent is not recorded.",
        )
    ]


def _check_already_pledged(right: RightFacts) -> list[Finding]:
    if not right.active_pledge_no:
        return []
    label, label_en = _label(right)
    return [
        _finding(
            "already_pledged",
            right.kind,
            right.right_id,
            f"{label}已办理质押登记（登记号 {right.active_pledge_no}），仍在质押期内。",
            f"{label_en} is already pledged (registration no. {right.active_pledge_no}) and within its pledge period.",
        )
    ]


def _check_suspended(right: RightFacts) -> list[Finding]:
    if not (right.suspended or right.preserved):
        return []
    label, label_en = _label(right)
    reasons: list[tuple[str, str]] = []
    if right.suspended:
        reasons.append(("因权属纠纷程序中止", "proceedings suspended for an ownership dispute"))
    if right.preserved:
        if right.kind == TRADEMARK:
            reasons.append(("被人民法院查封、冻结", "seized or frozen by a court"))
        else:
            reasons.append(("被采取财产保全措施", "under court preservation"))
    return [
        _finding(
            "suspended_or_preserved",
            right.kind,
            right.right_id,
            f"{label}" + "、".join(zh for zh, _ in reasons) + "，质押手续暂停办理。",
            f"{label_en}: " + "; ".join(en for _, en in reasons) + "; pledge procedures are suspended.",
        )
    ]


def _check_terminated(filing: FilingFacts, right: RightFacts) -> list[Finding]:
    """Status not valid (for trademarks and copyright) or term ended before the filing date."""
    label, label_en = _label(right)
    if right.legal_status != VALID:
        zh, en = _status(right.legal_status)
        return [
            _finding(
                "right_terminated",
                right.kind,
                right.right_id,
                f"{label}不在有效状态（法律状态：{zh}），不能出质。",
                f"{label_en} is not in force (legal status: {en}) and cannot be pledged.",
            )
        ]
    if right.term_end is not None and right.term_end < filing.filed_on:
        return [
            _finding(
                "right_terminated",
                right.kind,
                right.right_id,
                f"{label}的保护期已于{right.term_end.isoformat()}届满（申请日 {filing.filed_on.isoformat()}）。",
                f"The term of {label_en} ended on {right.term_end.isoformat()} "
                f"(filed on {filing.filed_on.isoformat()}).",
            )
        ]
    return []


def _check_term(filing: FilingFacts, right: RightFacts) -> list[Finding]:
    end = filing.performance_end
    if end is None or right.term_end is None or right.term_end >= end:
        return []
    label, label_en = _label(right)
    term, perf = right.term_end.isoformat(), end.isoformat()
    if right.kind == TRADEMARK:
        return [
            _finding(
                "term_before_performance_end",
                right.kind,
                right.right_id,
                f"{label}的注册有效期于{term}届满，早于债务履行期届满日{perf}；须在质押期内按期办理续展。",
                f"The registration of {label_en} expires on {term}, before the performance period ends on {perf}; "
                "it must be renewed in time during the pledge.",
                severity=WARN,
            )
        ]
    return [
        _finding(
            "term_before_performance_end",
            right.kind,
            right.right_id,
            f"债务履行期届满日{perf}晚于{label}的保护期届满日{term}。",
            f"The debtor's performance period ends on {perf}, after the term of {label_en} ends on {term}.",
        )
    ]


def _check_licence(item: ItemFacts) -> list[Finding]:
    if not item.licence_revenue or item.licence_contract_ref.strip():
        return []
    right = item.right
    label, label_en = _label(right)
    return [
        _finding(
            "licence_contract_missing",
            right.kind,
            right.right_id,
            f"{label}的许可收益权出质未引用已备案的许可合同。",
            f"The licence revenue of {label_en} is pledged without referencing a recorded licence contract.",
        )
    ]


# --- per kind ---------------------------------------------------------------------------------------------------


def _examine_patent(filing: FilingFacts, item: ItemFacts) -> list[Finding]:
    right = item.right
    label, label_en = _label(right)
    out: list[Finding] = []
    out += _check_licence(item)
    out += _check_owner(filing, right)

    in_force = False
    if right.legal_status == INVALIDATED:
        out.append(
            _finding(
                "invalidated",
                PATENT,
                right.right_id,
                f"{label}已被宣告无效，视为自始不存在。",
                f"{label_en} has been declared invalid and is deemed never to have existed.",
            )
        )
    elif right.legal_status == PENDING or right.grant_date is None:
        out.append(
            _finding(
                "not_granted",
                PATENT,
                right.right_id,
                f"{label}尚未授权公告，不能出质。",
                f"{label_en} has not been granted and cannot be pledged.",
            )
        )
    elif right.legal_status in TERMINATED_STATUSES or right.legal_status != VALID:
        zh, en = _status(right.legal_status)
        out.append(
            _finding(
                "right_terminated",
                PATENT,
                right.right_id,
                f"{label}已终止（法律状态：{zh}）。",
                f"{label_en} has terminated (legal status: {en}).",
            )
        )
    elif right.term_end is not None and right.term_end < filing.filed_on:
        out.append(
            _finding(
                "right_terminated",
                PATENT,
                right.right_id,
                f"{label}的保护期已于{right.term_end.isoformat()}届满。",
                f"The term of {label_en} ended on {right.term_end.isoformat()}.",
            )
        )
    else:
        in_force = True

    if in_force:
        paid = right.annual_fee_paid_until
        if paid is None or paid < filing.filed_on:
            paid_zh = paid.isoformat() if paid else "（无缴费记录）"
            paid_en = paid.isoformat() if paid else "(no payment recorded)"
            out.append(
                _finding(
                    "annual_fee_unpaid",
                    PATENT,
                    right.right_id,
                    f"{label}的年费缴纳至{paid_zh}，未覆盖申请日{filing.filed_on.isoformat()}；"
                    "处于6个月滞纳期内的专利，出质时亦按未缴纳年费处理，请先补缴年费及滞纳金。",
                    f"The annual fee of {label_en} is paid until {paid_en}, which does not cover the filing date "
                    f"{filing.filed_on.isoformat()}; a patent in its 6-month grace period counts as unpaid for "
                    "pledging: pay the fee and the late surcharge first.",
                )
            )
    out += _check_suspended(right)
    if item.licence_revenue:
        return out  # licence revenue: ownership and status rules only

    if in_force:
        out += _check_term(filing, right)
    out += _check_co_owners(item)
    out += _check_already_pledged(right)

    others = tuple(sorted(set(right.pending_filing_ids) - {filing.filing_id}))
    if others:
        ids = "、".join(str(i) for i in others)
        out.append(
            _finding(
                "pending_duplicate_filing",
                PATENT,
                right.right_id,
                f"{label}已有其他质押登记申请在审（申请编号 {ids}）。",
                f"Other pledge filings for {label_en} are under examination (filing ids {', '.join(map(str, others))}).",
            )
        )

    if right.invalidation_pending and right.legal_status != INVALIDATED:
        declared = DECLARATION_PENDING_INVALIDATION in filing.declarations
        if declared:
            out.append(
                _finding(
                    "invalidation_pending_declaration",
                    PATENT,
                    right.right_id,
                    f"{label}处于无效宣告程序中；当事人已知悉并声明仍要求办理质押登记。",
                    f"Invalidation proceedings against {label_en} are pending; the parties were told and declared "
                    "they still wish to proceed.",
                    severity=WARN,
                )
            )
        else:
            out.append(
                _finding(
                    "invalidation_pending_declaration",
                    PATENT,
                    right.right_id,
                    f"{label}处于无效宣告程序中；如当事人知悉后仍要求办理，须记录其声明后方可继续。",
                    f"Invalidation proceedings against {label_en} are pending; if the parties still wish to proceed "
                    "once told, record their declaration to continue.",
                    severity=REFUSE,
                )
            )

    if right.same_day_invention_filed and right.patent_type in UTILITY_MODEL_TYPES:
        declared = DECLARATION_SAME_DAY_INVENTION in filing.declarations
        if declared:
            out.append(
                _finding(
                    "same_day_invention_declaration",
                    PATENT,
                    right.right_id,
                    f"{label}为实用新型，申请人同日就同样的发明创造申请了发明专利；当事人已提交同日申请情况的声明。",
                    f"{label_en} is a utility model whose applicant filed an invention application for the same "
                    "invention on the same day; the parties' declaration is recorded.",
                    severity=WARN,
                )
            )
        else:
            out.append(
                _finding(
                    "same_day_invention_declaration",
                    PATENT,
                    right.right_id,
                    f"{label}为实用新型，申请人同日就同样的发明创造申请了发明专利；"
                    "如当事人知悉后仍要求办理，须记录《质押专利同日申请情况的声明》后方可继续。",
                    f"{label_en} is a utility model whose applicant filed an invention application for the same "
                    "invention on the same day; if the parties still wish to proceed once told, record their "
                    "declaration on the same-day application to continue.",
                    severity=REFUSE,
                )
            )
    return out


def _unpledged_similar_marks(filing: FilingFacts, right: RightFacts) -> list[RightFacts]:
    """The pledgor's other registered marks, not in the filing, similar in name and sharing a Nice class."""
    in_filing_ids = {i.right.right_id for i in filing.items}
    in_filing_numbers = {i.right.number.strip() for i in filing.items}
    classes = set(right.nice_classes)
    found: dict[int, RightFacts] = {}
    for other in filing.other_marks_of_pledgor:
        if other.right_id in in_filing_ids or other.number.strip() in in_filing_numbers:
            continue
        if other.legal_status != VALID:
            continue  # only registered marks in force must be pledged together
        if not classes.intersection(other.nice_classes):
            continue
        if marks_similar(right.title, other.title):
            found.setdefault(other.right_id, other)
    return list(found.values())


def _examine_trademark(filing: FilingFacts, item: ItemFacts) -> list[Finding]:
    right = item.right
    out: list[Finding] = []
    out += _check_licence(item)
    out += _check_owner(filing, right)
    terminated = _check_terminated(filing, right)
    out += terminated
    out += _check_suspended(right)
    if item.licence_revenue:
        return out
    if not terminated:
        out += _check_term(filing, right)
    out += _check_co_owners(item)
    out += _check_already_pledged(right)
    similar = _unpledged_similar_marks(filing, right)
    if similar:
        label, label_en = _label(right)
        numbers = "、".join(f"{m.number}（{m.title}）" for m in similar)
        numbers_en = ", ".join(f"{m.number} ({m.title})" for m in similar)
        out.append(
            _finding(
                "marks_not_pledged_together",
                TRADEMARK,
                right.right_id,
                f"出质人在同一或类似商品/服务上注册的与{label}相同或近似的商标未一并质押：{numbers}。",
                f"The pledgor's identical or similar marks registered for the same or similar goods/services as "
                f"{label_en} are not pledged together: {numbers_en}.",
            )
        )
    return out


def _examine_copyright(filing: FilingFacts, item: ItemFacts) -> list[Finding]:
    right = item.right
    out: list[Finding] = []
    out += _check_licence(item)
    out += _check_owner(filing, right)
    terminated = _check_terminated(filing, right)
    out += terminated
    out += _check_suspended(right)
    if item.licence_revenue:
        return out
    if not terminated:
        out += _check_term(filing, right)
    out += _check_co_owners(item)
    out += _check_already_pledged(right)
    return out


def _examine_ic_layout(filing: FilingFacts, item: ItemFacts) -> list[Finding]:
    label, label_en = _label(item.right)
    return [
        _finding(
            "ic_layout_no_registration_route",
            IC_LAYOUT,
            item.right.right_id,
            f"{label}：集成电路布图设计专有权没有质押登记的规定（《集成电路布图设计保护条例》无质押条款），"
            "本申请途径不能办理其质押，请在本申请之外另行处理。",
            f"{label_en}: there is no pledge-registration rule for IC layout designs (the 2001 regulations have no "
            "pledge provision); this filing route cannot register the pledge, which must be handled outside it.",
        )
    ]


def _examine_unknown(filing: FilingFacts, item: ItemFacts) -> list[Finding]:
    raise ValueError(f"unknown right kind {item.right.kind!r} (right {item.right.right_id})")


_BY_KIND = {
    PATENT: _examine_patent,
    TRADEMARK: _examine_trademark,
    COPYRIGHT: _examine_copyright,
    IC_LAYOUT: _examine_ic_layout,
}


# --- entry points -----------------------------------------------------------------------------------------------


def examine(filing: FilingFacts) -> list[Finding]:
    """Run every automatable rule: filing-level rules first, then each item in filing order."""
    findings: list[Finding] = []
    findings += _check_contract(filing)
    findings += _check_documents(filing)
    findings += _check_bundle(filing)
    for item in filing.items:
        findings += _BY_KIND.get(item.right.kind, _examine_unknown)(filing, item)
    return findings


def blocking(findings: Iterable[Finding]) -> bool:
    """True when any finding refuses registration."""
    return any(f.severity == REFUSE for f in findings)


__all__ = [
    "COPYRIGHT",
    "FILING",
    "IC_LAYOUT",
    "KINDS",
    "PATENT",
    "REFUSE",
    "RULES",
    "TRADEMARK",
    "WARN",
    "FilingFacts",
    "Finding",
    "ItemFacts",
    "OwnerFacts",
    "RightFacts",
    "RuleInfo",
    "blocking",
    "examine",
    "marks_similar",
    "normalise_name",
]
