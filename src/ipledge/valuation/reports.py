"""The valuation report (知识产权价值评估报告) as a Word document, in Chinese whatever the UI language.

Built with python-docx from the stored valuation alone (inputs, figures, policy and assumptions are all on the row),
so a report printed years later reads exactly as the one issued. The report says what the figures are (an
indicator-based estimate with a range) and what they are not (a statutory appraisal unless signed off by the agency).
"""

from __future__ import annotations

import datetime
import io
from decimal import Decimal
from typing import Any

from django.utils import translation
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money
from ipledge.registry.choices import IPKind, PatentType

from . import engine_bridge as bridge
from .choices import Scenario, ValuationStatus
from .models import Valuation

GATE_TEXT = {
    "not_granted": _("尚未授权"),
    "lapsed": _("权利已终止（未缴年费）"),
    "expired": _("保护期已届满"),
    "invalidated": _("已被宣告无效"),
    "abandoned": _("权利人已放弃"),
    "revoked": _("已被撤销"),
    "status_unknown": _("法律状态不明"),
    "fee_unpaid": _("年费未按期缴纳（宽限期内视为未缴）"),
    "suspended": _("权属纠纷中止程序"),
    "preserved": _("被采取财产保全措施"),
    "invalidation_pending": _("无效宣告请求审查中（价值打折）"),
    "co_owned": _("共有权利（价值打折）"),
}
PLEDGE_REASON_TEXT = {
    "gate_failed": _("法律状态不满足质押条件"),
    "already_pledged": _("该权利已在质押期内"),
    "type_not_accepted": _("质押率政策不接受该类型"),
    "remaining_term_unknown": _("剩余保护期不明"),
    "remaining_term_short": _("剩余保护期短于质押率政策要求"),
    "grade_too_low": _("评级低于质押率政策要求"),
    "no_value": _("评估价值为零"),
    "grade_haircut": _("按评级下调质押率"),
}


def _date(value: datetime.date | None) -> str:
    return f"{value.year}年{value.month}月{value.day}日" if value else "—"


def _yuan(value: Money | None) -> str:
    return "—" if value is None else f"¥{value.amount:,.2f}"


def _pct(value: Decimal | float | None) -> str:
    return "—" if value is None else f"{Decimal(str(value)) * 100:.1f}%"


def gate_text(code: str) -> str:
    return str(GATE_TEXT.get(code, code))


def pledge_reason_text(code: str) -> str:
    return str(PLEDGE_REASON_TEXT.get(code, code))


def report_context(valuation: Valuation) -> dict[str, Any]:
    """The facts of the report as strings, in Chinese whatever the UI language (an official document)."""
    with translation.override("zh-hans"):
        return _report_context(valuation)


def _report_context(valuation: Valuation) -> dict[str, Any]:
    labels = bridge.indicator_labels(valuation.scenario)
    with translation.override("zh-hans"):
        if valuation.ip_right_id:
            right = valuation.ip_right
            assert right is not None
            kind = str(IPKind(right.kind).label)
            if right.kind == IPKind.PATENT and right.patent_type in PatentType.values:
                kind = f"{PatentType(right.patent_type).label}专利"
            subject = [("评估对象", f"{right.title}（{kind}，{right.number}）")]
        else:
            assert valuation.bundle is not None
            subject = [
                (
                    "评估对象",
                    f"知识产权组合「{valuation.bundle.name}」，共 {len(valuation.details.get('members', []))} 项",
                )
            ]
        scenario = (
            str(Scenario(valuation.scenario).label) if valuation.scenario in Scenario.values else valuation.scenario
        )
        status = str(ValuationStatus(valuation.status).label)
    rows = [
        ("报告编号", f"PV-{valuation.pk:08d}-v{valuation.version}"),
        *subject,
        ("权利人", valuation.enterprise.name if valuation.enterprise else "—"),
        ("评估目的", f"{scenario}"),
        ("评估基准日", _date(valuation.valuation_date)),
        ("报告有效期至", _date(valuation.valid_until)),
        ("委托机构", valuation.requested_by_org.name if valuation.requested_by_org else "—"),
        ("评估机构", valuation.agency.name if valuation.agency else "平台机评（未经评估机构签发）"),
        ("状态", status),
    ]
    contributions = [
        (labels.get(key, (key, key))[0], f"{float(value):.2f}")
        for key, value in sorted(valuation.contributions.items(), key=lambda kv: -float(kv[1]))
    ]
    return {
        "title": "知识产权价值评估报告",
        "basics": rows,
        "score": f"{valuation.score:.2f}",
        "grade": valuation.grade,
        "completeness": _pct(valuation.completeness),
        "gates": [gate_text(code) for code in valuation.gates],
        "contributions": contributions,
        "approaches": [
            ("收益法（许可费节省法/分成率）", _yuan(valuation.value_income)),
            ("成本法（重置成本扣除贬值）", _yuan(valuation.value_cost)),
            ("市场法（平台可比交易）", _yuan(valuation.value_market)),
        ],
        "range": (_yuan(valuation.p10), _yuan(valuation.p50), _yuan(valuation.p90)),
        "pledge_rate": _pct(valuation.pledge_rate),
        "loan_ceiling": _yuan(valuation.loan_ceiling),
        "pledge_reasons": [pledge_reason_text(code) for code in valuation.pledge_reasons],
        "policy_name": valuation.policy_name,
        "members": valuation.details.get("members", []),
        "bundle": valuation.details.get("bundle", {}),
        "prepared": (valuation.prepared_by, valuation.prepared_at, valuation.prepared_note),
        "signed": (valuation.signed_off_by, valuation.signed_off_at, valuation.review_note),
        "ml": valuation.ml_probability,
    }


def valuation_report_docx(valuation: Valuation) -> bytes:
    from docx import Document  # type: ignore[import-untyped]
    from docx.enum.text import WD_ALIGN_PARAGRAPH  # type: ignore[import-untyped]
    from docx.oxml.ns import qn  # type: ignore[import-untyped]
    from docx.shared import Pt  # type: ignore[import-untyped]

    ctx = report_context(valuation)
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "SimSun"
    style.font.size = Pt(10.5)
    style.element.rPr.rFonts.set(qn("w:eastAsia"), "宋体")

    heading = document.add_heading(ctx["title"], level=0)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER

    def table(rows: list[tuple[str, ...]], header: tuple[str, ...] | None = None) -> None:
        width = len(header or rows[0]) if (header or rows) else 2
        grid = document.add_table(rows=0, cols=width)
        grid.style = "Table Grid"
        if header:
            cells = grid.add_row().cells
            for cell, text in zip(cells, header, strict=True):
                cell.text = text
                for run in cell.paragraphs[0].runs:
                    run.bold = True
        for row in rows:
            cells = grid.add_row().cells
            for cell, text in zip(cells, row, strict=True):
                cell.text = str(text)

    document.add_heading("一、基本信息", level=1)
    table(ctx["basics"])

    document.add_heading("二、价值度评价（指标模型）", level=1)
    document.add_paragraph(
        f"价值度评分 {ctx['score']} 分（满分 100），评级 {ctx['grade']}；数据完整度 {ctx['completeness']}。"
        "评分按法律、技术、经济三个维度的指标加权得出，计数类指标在同一技术领域（IPC 部）与申请年份内标准化；"
        "法律状态问题作为门槛与调整系数处理，不计入加分。"
    )
    if ctx["gates"]:
        document.add_paragraph("法律门槛与调整：" + "；".join(ctx["gates"]) + "。")
    if ctx["contributions"]:
        table(ctx["contributions"], header=("指标", "对评分的贡献（分）"))

    document.add_heading("三、价值区间", level=1)
    table(ctx["approaches"], header=("评估方法", "结果"))
    p10, p50, p90 = ctx["range"]
    document.add_paragraph(
        f"综合各方法，评估价值区间为 {p10}（P10）至 {p90}（P90），中位数 {p50}（P50）。"
        "知识产权价值呈对数正态偏态分布，区间宽度反映数据完整度与各方法之间的差异；请勿以单一数值替代区间使用。"
    )
    if ctx["ml"] is not None:
        document.add_paragraph(f"学习模型校验：显示价值（维持）概率 {ctx['ml'] * 100:.1f}%。")

    if ctx["members"]:
        document.add_heading("四、组合明细", level=1)
        table(
            [
                (
                    m["number"],
                    f"{m['score']:.2f}",
                    m["grade"],
                    _yuan(Money.from_fen(m["p50_fen"])),
                    _yuan(Money.from_fen(m["loan_ceiling_fen"])),
                )
                for m in ctx["members"]
            ],
            header=("编号", "评分", "评级", "P50", "贷款上限"),
        )
        bundle = ctx["bundle"]
        if bundle:
            document.add_paragraph(
                f"重叠折扣后合计；价值集中度（赫芬达尔指数）{float(bundle.get('hhi') or 0):.3f}，"
                f"最大单项占比 {float(bundle.get('largest_share') or 0) * 100:.1f}%。"
            )

    document.add_heading("五、质押建议", level=1)
    document.add_paragraph(
        f"依据「{ctx['policy_name']}」，建议质押率 {ctx['pledge_rate']}，建议贷款上限 {ctx['loan_ceiling']}"
        "（质押率 × 价值区间下限 P10，取整到元）。"
    )
    if ctx["pledge_reasons"]:
        document.add_paragraph("说明：" + "；".join(ctx["pledge_reasons"]) + "。")

    document.add_heading("六、声明", level=1)
    document.add_paragraph(
        "本报告由平台智能化知识产权评估工具根据登记簿、法律状态、许可与转让记录等数据生成，"
        "参数与质押率政策随报告保存。未经评估机构签发的报告仅供参考，不构成资产评估报告；"
        f"报告自评估基准日起至 {_date(valuation.valid_until)} 有效。"
    )
    prepared_by, prepared_at, prepared_note = ctx["prepared"]
    signed_by, signed_at, review_note = ctx["signed"]
    if prepared_by is not None:
        document.add_paragraph(
            f"评估人：{prepared_by}（{_date(prepared_at.date() if prepared_at else None)}）。评估意见：{prepared_note}"
        )
    if signed_by is not None:
        document.add_paragraph(
            f"复核人：{signed_by}（{_date(signed_at.date() if signed_at else None)}）。复核意见：{review_note or '同意'}"
        )
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()
