"""django-tables2 tables of the registry lists (sortable, paginated by the view)."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import django_tables2 as tables
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _

from ipledge.core.money import Money

from .forms import region_full_name
from .models import Enterprise, IPRight, Park
from .rules import INDUSTRY_SECTIONS

TABLE_ATTRS = {"class": "table table-sm table-hover align-middle mb-0"}


def format_share(share: Decimal) -> str:
    """60.00 → "60", 33.50 → "33.5"."""
    text = f"{share:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


class ParkTable(tables.Table):
    name = tables.LinkColumn("registry:park_detail", args=[tables.A("pk")], verbose_name=_("园区名称"))
    level = tables.Column(verbose_name=_("级别"))
    kind = tables.Column(verbose_name=_("类型"))
    region = tables.Column(verbose_name=_("所在地区"), order_by=("region__code",))
    administering_org = tables.Column(verbose_name=_("管理机构"), order_by=("administering_org__name",))
    is_key_park = tables.BooleanColumn(verbose_name=_("重点/示范"))

    class Meta:
        model = Park
        fields = ("name", "level", "kind", "region", "administering_org", "is_key_park")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的园区。")

    def render_region(self, value: Any) -> str:
        return region_full_name(value)


class EnterpriseTable(tables.Table):
    name = tables.LinkColumn("registry:enterprise_detail", args=[tables.A("pk")], verbose_name=_("企业名称"))
    uscc = tables.Column(verbose_name=_("统一社会信用代码"))
    registration_region = tables.Column(verbose_name=_("登记地"), order_by=("region_code",))
    industry_section = tables.Column(verbose_name=_("行业门类"))
    size_class = tables.Column(verbose_name=_("企业规模"))
    employees = tables.Column(verbose_name=_("从业人员"), attrs={"td": {"class": "text-end"}})
    revenue = tables.Column(verbose_name=_("营业收入（元）"), attrs={"td": {"class": "text-end text-nowrap"}})
    flags = tables.Column(verbose_name=_("资质"), empty_values=(), orderable=False)

    class Meta:
        model = Enterprise
        fields = (
            "name",
            "uscc",
            "registration_region",
            "industry_section",
            "size_class",
            "employees",
            "revenue",
            "flags",
        )
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的企业。")

    def render_registration_region(self, value: Any) -> str:
        return region_full_name(value)

    def render_uscc(self, value: str) -> str:
        return format_html("<code>{}</code>", value)

    def render_industry_section(self, value: str) -> str:
        return f"{value} {INDUSTRY_SECTIONS.get(value, '')}"

    def render_revenue(self, value: Money) -> str:
        return f"{value.amount:,.2f}"

    def render_flags(self, record: Enterprise) -> str:
        badges = []
        if record.is_high_tech:
            badges.append(("text-bg-primary", _("高新")))
        if record.is_specialised:
            badges.append(("text-bg-success", _("专精特新")))
        return format_html_join(" ", '<span class="badge {}">{}</span>', badges) if badges else "—"


class IPRightTable(tables.Table):
    number = tables.LinkColumn("registry:ipright_detail", args=[tables.A("pk")], verbose_name=_("号码"))
    title = tables.Column(verbose_name=_("名称"))
    kind = tables.Column(verbose_name=_("类型"))
    patent_type = tables.Column(verbose_name=_("专利类型"))
    legal_status = tables.Column(verbose_name=_("法律状态"))
    filing_date = tables.DateColumn(verbose_name=_("申请日"), format="Y-m-d")
    term_end = tables.DateColumn(verbose_name=_("有效期止"), format="Y-m-d")
    owners = tables.Column(verbose_name=_("权利人"), empty_values=(), orderable=False)

    class Meta:
        model = IPRight
        fields = ("number", "title", "kind", "patent_type", "legal_status", "filing_date", "term_end", "owners")
        attrs = TABLE_ATTRS
        empty_text = _("没有符合条件的知识产权。")

    def render_legal_status(self, value: str, record: IPRight) -> str:
        css = (
            "text-bg-success"
            if record.legal_status == "valid"
            else ("text-bg-info" if record.legal_status == "pending" else "text-bg-secondary")
        )
        return format_html('<span class="badge {}">{}</span>', css, value)

    def render_owners(self, record: IPRight) -> str:
        return format_html_join(
            "、",
            "{}（{}%）",
            (
                (o.enterprise.name if o.enterprise else o.holder_name, format_share(o.share))
                for o in record.owners.all()
            ),
        )
