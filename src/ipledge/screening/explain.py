"""Screening results in words (筛选结果说明): reason codes, points per characteristic, criteria violations and the
expert card's documented reasons, for the whitelist, bank and scorecard pages and the API.

Source strings are zh-hans (gettext_lazy); the English catalogue comes later. Codes the engine emits:
"exclusion:<rule>", "tax_rating:<rating>", "penalties:<count>", the `REASON_*` codes of `engine.spec`, and any other
code is shown as it is (never an error on a page).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from django.utils.functional import Promise
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from .engine import rules
from .engine.scorecard import UNBINNED
from .engine.spec import (
    REASON_BELOW_MIN_SCORE,
    REASON_FEW_INVENTION_PATENTS,
    REASON_NOT_HIGH_TECH,
    REASON_PASSED,
    REASON_SIZE_NOT_ALLOWED,
    RULE_ABNORMAL,
    RULE_DISHONEST,
    RULE_PENALTIES,
    RULE_SERIOUS_VIOLATION,
    RULE_TAX_RATING,
    ScorecardSpec,
)

RULE_LABELS: dict[str, Promise] = {
    RULE_DISHONEST: _("失信被执行人"),
    RULE_SERIOUS_VIOLATION: _("严重违法失信名单"),
    RULE_ABNORMAL: _("经营异常名录"),
    RULE_TAX_RATING: _("纳税信用等级"),
    RULE_PENALTIES: _("行政处罚次数"),
}

EXCLUSION_TEXT: dict[str, Promise] = {
    RULE_DISHONEST: _("硬性排除：列入失信被执行人名单（在列）"),
    RULE_SERIOUS_VIOLATION: _("硬性排除：列入严重违法失信名单（在列）"),
    RULE_ABNORMAL: _("硬性排除：列入经营异常名录（在列）"),
    RULE_TAX_RATING: _("硬性排除：纳税信用等级不符合要求"),
    RULE_PENALTIES: _("硬性排除：行政处罚次数超过上限"),
}

REASON_TEXT: dict[str, Promise] = {
    REASON_PASSED: _("符合全部筛选条件"),
    REASON_BELOW_MIN_SCORE: _("评分低于最低评分"),
    REASON_FEW_INVENTION_PATENTS: _("有效发明专利数少于要求"),
    REASON_NOT_HIGH_TECH: _("既非高新技术企业，也非专精特新企业"),
    REASON_SIZE_NOT_ALLOWED: _("企业规模不在准入范围内"),
}

# Labels of the characteristics the engine knows (a card's own label wins when it has one).
CHARACTERISTIC_LABELS: dict[str, Promise] = {
    "valuation_grade": _("知识产权评估等级"),
    "invention_patents": _("有效发明专利"),
    "innovation_score": _("企业创新能力评分"),
    "penalties_3y": _("近三年行政处罚"),
    "tax_rating": _("纳税信用等级"),
    "prior_bad_loans": _("历史不良贷款"),
    "prior_loans": _("历史贷款笔数"),
    "size_class": _("企业规模"),
    "age_years": _("成立年限"),
    "industry_section": _("行业门类"),
    "is_high_tech": _("高新技术企业"),
    "is_specialised": _("专精特新企业"),
    "asset_turnover": _("总资产周转率"),
    "revenue_yuan": _("营业收入"),
}

# Why the expert card weighs each characteristic as it does (the table of `engine.expert`, in short).
CHARACTERISTIC_RATIONALE: dict[str, Promise] = {
    "valuation_grade": _(
        "按质押率政策：A 级及以上取满额质押率，BBB 为 0.9 倍、BB 为 0.75 倍、B 为 0.5 倍，CCC 及以下不可质押；"
        "得分随质物对银行的价值递减。未评估计 0 分。"
    ),
    "invention_patents": _(
        "行动方案要求以知识产权为核心指标评价企业创新能力；发明专利是可质押的核心资产（质押率上限最高）。"
        "分段递减，因为数量只是价值的粗略代理。"
    ),
    "innovation_score": _("平台以知识产权为核心的企业创新能力评价；与发明专利部分重复，权重较小。未评价计 0 分。"),
    "penalties_3y": _(
        "风险补偿资金通常要求近三年无不良信用记录；一次处罚较常见、影响小，多次处罚说明存在持续问题。"
        "只计仍在公示期内、未经信用修复的处罚。"
    ),
    "tax_rating": _(
        "纳税信用是信易贷平台最先共享的信用信息；D 级通常为硬性排除，在不设该排除时仍重扣分。M 级为新设立纳税人。未评级计 0 分。"
    ),
    "prior_bad_loans": _(
        "不良贷款记录是最强的信用信号：按 2023 年风险分类办法，债务人一笔债权不良会牵连其他债权（交叉违约）。"
    ),
    "size_class": _("规模代表还款能力；行动方案服务中小企业，大型企业得分不高于小型企业。"),
    "age_years": _("风险补偿资金要求一定经营年限（如成立满一年）；新设企业违约率较高（平台默认取值）。"),
    "industry_section": _(
        "行动方案面向高新技术企业和科技型中小企业；制造业、信息技术和科技服务业专利密集，高价值专利多属战略性新兴产业。"
    ),
    "is_high_tech": _("高新技术企业认定本身要求拥有核心自主知识产权和研发投入。"),
    "is_specialised": _("专精特新企业是园区重点服务的细分领域科技型中小企业。"),
    "asset_turnover": _(
        "营业收入与资产之比反映还款来源；只有部分企业提供财务数据，权重较小；未提供计 0 分，不奖不罚。"
    ),
}

VIOLATION_TEXT: dict[str, Promise] = {
    rules.LOOSER_MIN_SCORE: _("最低评分 %(park)s 低于基准标准的 %(baseline)s，园区只能从严不能放宽。"),
    rules.LOOSER_MIN_PATENTS: _("最少有效发明专利数 %(park)s 低于基准标准的 %(baseline)s，园区只能从严不能放宽。"),
    rules.DROPPED_REQUIREMENT: _("基准标准要求高新技术企业或专精特新企业，园区标准不能取消。"),
    rules.SIZES_UNRESTRICTED: _("基准标准限定了企业规模（%(baseline)s），园区标准不能改为不限。"),
    rules.SIZES_NOT_SUBSET: _("园区标准的企业规模 %(extra)s 不在基准标准允许的范围（%(baseline)s）内。"),
    rules.UNKNOWN_SIZE: _("企业规模“%(value)s”无效，应为：%(expected)s。"),
    rules.MISSING_EXCLUSION: _("园区标准缺少基准标准的硬性排除条件“%(rule_label)s”。"),
    rules.LOOSER_EXCLUSION: _(
        "园区标准的硬性排除条件“%(rule_label)s”比基准标准宽松（基准参数：%(baseline_params)s）。"
    ),
    rules.EXCLUSION_DATES: _("园区标准的硬性排除条件“%(rule_label)s”未覆盖基准标准的生效期间（%(from)s 至 %(to)s）。"),
    rules.NOT_A_LIST: _("应为列表。"),
    rules.NOT_AN_OBJECT: _("每条规则应为对象。"),
    rules.UNKNOWN_KEY: _("不认识的字段“%(key)s”。"),
    rules.UNKNOWN_RULE: _("规则“%(value)s”无效，应为：%(expected)s。"),
    rules.INVALID_DATE: _("日期“%(value)s”无效，应为 YYYY-MM-DD。"),
    rules.DATES_REVERSED: _("失效日期 %(to)s 早于生效日期 %(from)s。"),
    rules.INVALID_PARAMS: _("规则“%(rule_label)s”的参数 %(param)s 取值“%(value)s”无效，应为：%(expected)s。"),
    rules.UNKNOWN_PARAM: _("规则“%(rule_label)s”不接受参数 %(param)s。"),
    rules.MISSING_PARAM: _("规则“%(rule_label)s”缺少参数 %(param)s。"),
}

METHOD_TEXT: dict[str, Promise] = {
    "expert": _(
        "专家权重：每项特征分箱并给定分值，依据见各项说明；缺失数据计 0 分，不奖不罚。"
        "分值设计与训练评分卡同一量纲（60 分约对应好坏比 20:1，每增加 10 分好坏比翻倍），但未经贷款表现校准。"
    ),
    "logistic": _(
        "逻辑回归：以平台自身贷款表现（曾被分类为次级及以下或违约为“坏”）为目标，各特征用 optbinning 最优分箱并转换为 WoE，"
        "拟合逻辑回归后按 PDO 刻度换算分值：分值 = −因子 × 系数 × WoE，基础分 = 偏移 − 因子 × 截距。"
        "60 分对应好坏比 20:1，每增加 10 分好坏比翻倍。验证指标在留出样本上计算。"
    ),
}


def _render(template: Promise | str, params: Mapping[str, Any]) -> str:
    text = str(template)
    try:
        return text % {k: _param_text(v) for k, v in params.items()}
    except (KeyError, TypeError, ValueError):
        return text


def _param_text(value: Any) -> str:
    if isinstance(value, list | tuple):
        return "、".join(str(v) for v in value) or "—"
    if isinstance(value, dict):
        return "，".join(f"{k}={v}" for k, v in value.items()) or "—"
    if value is None:
        return gettext("不限")
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def rule_label(rule: str) -> str:
    label = RULE_LABELS.get(rule)
    return str(label) if label is not None else rule


def describe_reason(code: str) -> str:
    """One reason code in words (the code itself when it is not one of ours)."""
    code = str(code)
    if code in REASON_TEXT:
        return str(REASON_TEXT[code])
    head, _sep, param = code.partition(":")
    if head == "exclusion" and param in EXCLUSION_TEXT:
        return str(EXCLUSION_TEXT[param])
    if head == "tax_rating" and param:
        return gettext("纳税信用等级为 %(rating)s") % {"rating": param}
    if head == "penalties" and param:
        return gettext("期间内行政处罚 %(count)s 次") % {"count": param}
    return code


def describe_violation(violation: rules.Violation) -> str:
    """A criteria violation (`engine.rules.Violation`) in words."""
    params = dict(violation.message_params)
    if "rule" in params:
        params.setdefault("rule_label", rule_label(str(params["rule"])))
    template = VIOLATION_TEXT.get(violation.code)
    if template is None:
        return f"{violation.field}: {violation.code}"
    return _render(template, params)


def characteristic_label(name: str, card_label: str = "") -> str:
    if card_label:
        return card_label
    label = CHARACTERISTIC_LABELS.get(name)
    return str(label) if label is not None else name


def describe_points(
    card: ScorecardSpec | Mapping[str, Any], points: Mapping[str, Any], values: Mapping[str, Any]
) -> list[dict[str, Any]]:
    """The rows of a "why" table: one per characteristic of the card, in its order — `name`, `label`, `value` (the
    bin the enterprise fell in), `points` (float), `rationale` (the expert card's documented reason, else "")
    and `unbinned` (its value fell in no bin of the card). `points` and `values` are keyed by characteristic name,
    as stored on whitelist entries; a characteristic missing from them shows 0 points and no value."""
    spec = card if isinstance(card, ScorecardSpec) else ScorecardSpec.from_json(dict(card))
    expert = spec.method == "expert"
    rows: list[dict[str, Any]] = []
    for c in spec.characteristics:
        value = values.get(c.name)
        raw = points.get(c.name)
        try:
            amount = float(raw) if raw is not None else 0.0
        except (TypeError, ValueError):
            amount = 0.0
        rationale = CHARACTERISTIC_RATIONALE.get(c.name) if expert else None
        rows.append(
            {
                "name": c.name,
                "label": characteristic_label(c.name, c.label),
                "value": "" if value is None else str(value),
                "points": amount,
                "rationale": str(rationale) if rationale is not None else "",
                "unbinned": value == UNBINNED,
            }
        )
    return rows


def describe_card(spec: ScorecardSpec) -> list[dict[str, Any]]:
    """Every characteristic with its bins and points, for the model card: `name`, `label`, `kind`, `rationale`,
    `bins` [{label, points, missing}], `min_points`, `max_points`."""
    out = []
    expert = spec.method == "expert"
    for c in spec.characteristics:
        rationale = CHARACTERISTIC_RATIONALE.get(c.name) if expert else None
        pts = [b.points for b in c.bins] or [0.0]
        out.append(
            {
                "name": c.name,
                "label": characteristic_label(c.name, c.label),
                "kind": c.kind,
                "rationale": str(rationale) if rationale is not None else "",
                "bins": [{"label": b.label, "points": b.points, "missing": b.missing} for b in c.bins],
                "min_points": min(pts),
                "max_points": max(pts),
            }
        )
    return out


def method_text(method: str) -> str:
    text = METHOD_TEXT.get(method)
    return str(text) if text is not None else method
