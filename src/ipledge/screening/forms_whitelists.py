"""Forms of the whitelist pages (授信白名单): criteria (hard exclusions as checkboxes with their effective dates and
parameters, never raw JSON), screening a park, the park's overrides, the province's decision, and applications.

Forms coerce input and narrow choices to what the user reaches; the services decide the rest and write it."""

from __future__ import annotations

from collections import Counter
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Region
from ipledge.core.scoping import scope_for
from ipledge.registry.choices import SizeClass
from ipledge.registry.models import Park

from .choices import ApplicationStatus, CriteriaLevel, CriteriaStatus, EntrySource, TaxRating
from .engine.spec import RULE_PENALTIES, RULE_TAX_RATING, RULES
from .models import Criteria, Scorecard
from .selectors_whitelists import rule_label

PERIOD_HELP = _("年度（如 2027）、半年度（如 2027H1）或季度（如 2027Q3）")
DEFAULT_PENALTY_DAYS = 1095


def period_field(**kwargs: Any) -> forms.CharField:
    return forms.CharField(label=_("白名单期间"), max_length=16, help_text=PERIOD_HELP, **kwargs)


class CriteriaForm(BootstrapMixin, forms.Form):
    """Baseline criteria (an IP office) or a park's refinement (a park administration)."""

    name = forms.CharField(label=_("名称"), max_length=128)
    period = period_field()
    region = forms.ModelChoiceField(label=_("适用地区"), queryset=Region.objects.none(), required=False)
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none(), required=False)
    scorecard = forms.ModelChoiceField(
        label=_("评分卡"),
        queryset=Scorecard.objects.none(),
        required=False,
        help_text=_("留空使用平台现行的专家评分卡。"),
    )
    min_score = forms.DecimalField(
        label=_("最低评分"),
        max_digits=6,
        decimal_places=2,
        min_value=0,
        widget=forms.NumberInput(attrs={"step": "0.01", "min": "0"}),
    )
    min_invention_patents = forms.IntegerField(label=_("最少有效发明专利数"), min_value=0, max_value=32767, initial=0)
    require_high_tech_or_specialised = forms.BooleanField(label=_("须为高新技术企业或专精特新企业"), required=False)
    allowed_sizes = forms.MultipleChoiceField(
        label=_("企业规模"),
        choices=SizeClass.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        help_text=_("不勾选表示不限规模。"),
    )
    tax_rating_ratings = forms.MultipleChoiceField(
        label=_("排除的纳税信用等级"),
        choices=TaxRating.choices,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        initial=[TaxRating.D],
    )
    penalties_max_count = forms.IntegerField(label=_("最多行政处罚次数"), min_value=0, required=False, initial=2)
    penalties_within_days = forms.IntegerField(
        label=_("统计期间（日）"), min_value=1, max_value=3650, required=False, initial=DEFAULT_PENALTY_DAYS
    )
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 3}))

    def __init__(self, *args: Any, user: Any, level: str, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.level = level
        for name in ("allowed_sizes", "tax_rating_ratings"):
            self.fields[name].widget.attrs["class"] = "form-check-input"
        for rule in RULES:
            self.fields[f"{rule}_on"] = forms.BooleanField(label=rule_label(rule), required=False)
            self.fields[f"{rule}_from"] = forms.DateField(label=_("生效日"), required=False, widget=DateInput())
            self.fields[f"{rule}_to"] = forms.DateField(label=_("失效日"), required=False, widget=DateInput())
            self.fields[f"{rule}_from"].widget.attrs["class"] = "form-control form-control-sm"
            self.fields[f"{rule}_to"].widget.attrs["class"] = "form-control form-control-sm"
            self.fields[f"{rule}_on"].widget.attrs["class"] = "form-check-input"
        if level == CriteriaLevel.BASELINE:
            self.fields["region"].required = True
            self.fields["region"].queryset = jurisdiction_regions(user)  # type: ignore[attr-defined]
            self.fields["scorecard"].queryset = Scorecard.objects.restrict(user).filter(is_active=True)  # type: ignore[attr-defined]
            del self.fields["park"]
        else:
            self.fields["park"].required = True
            self.fields["park"].queryset = administered_parks(user)  # type: ignore[attr-defined]
            del self.fields["region"]
            del self.fields["scorecard"]

    def rule_rows(self) -> list[dict[str, Any]]:
        """The exclusion rows of the template: one per rule with its switch, dates and parameter fields."""
        rows = []
        for rule in RULES:
            params = []
            if rule == RULE_TAX_RATING:
                params = [self["tax_rating_ratings"]]
            elif rule == RULE_PENALTIES:
                params = [self["penalties_max_count"], self["penalties_within_days"]]
            rows.append(
                {
                    "rule": rule,
                    "on": self[f"{rule}_on"],
                    "start": self[f"{rule}_from"],
                    "end": self[f"{rule}_to"],
                    "params": params,
                }
            )
        return rows

    def clean(self) -> dict[str, Any]:
        data = super().clean() or {}
        exclusions = []
        for rule in RULES:
            if not data.get(f"{rule}_on"):
                continue
            start, end = data.get(f"{rule}_from"), data.get(f"{rule}_to")
            if start and end and end < start:
                self.add_error(f"{rule}_to", _("失效日不能早于生效日。"))
                continue
            params: dict[str, Any] = {}
            if rule == RULE_TAX_RATING:
                ratings = data.get("tax_rating_ratings") or []
                if not ratings:
                    self.add_error("tax_rating_ratings", _("启用纳税信用等级排除时，请至少选择一个等级。"))
                    continue
                params = {"ratings": [r for r in TaxRating.values if r in ratings]}
            if rule == RULE_PENALTIES:
                count, days = data.get("penalties_max_count"), data.get("penalties_within_days")
                if count is None or days is None:
                    self.add_error("penalties_max_count", _("启用行政处罚排除时，请填写次数和统计期间。"))
                    continue
                params = {"max_count": count, "within_days": days}
            exclusions.append(
                {
                    "rule": rule,
                    "effective_from": start.isoformat() if start else None,
                    "effective_to": end.isoformat() if end else None,
                    "params": params,
                }
            )
        data["exclusions"] = exclusions
        return data

    @staticmethod
    def initial_from(criteria: Criteria) -> dict[str, Any]:
        initial: dict[str, Any] = {
            "name": criteria.name,
            "period": criteria.period,
            "region": criteria.region_id,
            "park": criteria.park_id,
            "scorecard": criteria.scorecard_id,
            "min_score": criteria.min_score,
            "min_invention_patents": criteria.min_invention_patents,
            "require_high_tech_or_specialised": criteria.require_high_tech_or_specialised,
            "allowed_sizes": list(criteria.allowed_sizes or []),
            "note": criteria.note,
        }
        for raw in criteria.exclusions or []:
            rule = raw.get("rule")
            initial[f"{rule}_on"] = True
            initial[f"{rule}_from"] = raw.get("effective_from") or None
            initial[f"{rule}_to"] = raw.get("effective_to") or None
            params = raw.get("params") or {}
            if rule == RULE_TAX_RATING:
                initial["tax_rating_ratings"] = list(params.get("ratings") or [])
            if rule == RULE_PENALTIES:
                initial["penalties_max_count"] = params.get("max_count")
                initial["penalties_within_days"] = params.get("within_days")
        return initial

    def service_kwargs(self) -> dict[str, Any]:
        data = self.cleaned_data
        kwargs = {
            "name": data["name"],
            "period": data["period"],
            "min_score": data["min_score"],
            "min_invention_patents": data.get("min_invention_patents") or 0,
            "require_high_tech_or_specialised": bool(data.get("require_high_tech_or_specialised")),
            "allowed_sizes": list(data.get("allowed_sizes") or []),
            "exclusions": data["exclusions"],
            "note": data.get("note") or "",
        }
        if self.level == CriteriaLevel.BASELINE:
            kwargs["region"] = data["region"]
            kwargs["scorecard"] = data.get("scorecard")
        else:
            kwargs["park"] = data["park"]
        return kwargs


def repeated_rules(criteria: Criteria) -> list[str]:
    """Rules that appear more than once (different effective periods, set through the API); the form edits one
    row per rule, so such criteria are edited through the API only."""
    counts = Counter(str(r.get("rule")) for r in criteria.exclusions or [])
    return [rule for rule, n in counts.items() if n > 1]


def jurisdiction_regions(user: Any) -> QuerySet[Region]:
    """Provinces and cities within the user's IP office's jurisdiction (all provinces for a national office)."""
    scope = scope_for(user)
    if scope is None:
        return Region.objects.none()
    if scope.is_platform or scope.admin_level == AdminLevel.NATIONAL:
        return Region.objects.filter(level="province")
    if scope.kind != OrganisationKind.IP_OFFICE or scope.region_prefix is None:
        return Region.objects.none()
    return Region.objects.filter(prefix__startswith=scope.region_prefix, level__in=["province", "city"])


def administered_parks(user: Any) -> QuerySet[Park]:
    scope = scope_for(user)
    if scope is None:
        return Park.objects.none()
    if scope.is_platform:
        return Park.objects.order_by("name")
    if scope.kind != OrganisationKind.PARK_ADMIN:
        return Park.objects.none()
    return Park.objects.filter(administering_org__tree_path__startswith=scope.org_tree_path).order_by("name")


class CriteriaFilterForm(BootstrapMixin, forms.Form):
    level = forms.ChoiceField(label=_("层级"), choices=[("", _("全部")), *CriteriaLevel.choices], required=False)
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), *CriteriaStatus.choices], required=False)
    period = forms.CharField(label=_("白名单期间"), max_length=16, required=False)
    q = forms.CharField(label=_("名称"), max_length=64, required=False)


class ScreenForm(BootstrapMixin, forms.Form):
    """Screen a park for a period (the "screen my park" entry point)."""

    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none())
    period = period_field()
    as_of = forms.DateField(
        label=_("筛选基准日"),
        required=False,
        widget=DateInput(),
        help_text=_("留空为今天；以该日的园区在册企业和信用记录为准。"),
    )

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["park"].queryset = parks  # type: ignore[attr-defined]
        if parks.count() == 1:
            self.fields["park"].initial = parks.first()


class RescreenForm(BootstrapMixin, forms.Form):
    as_of = forms.DateField(label=_("筛选基准日"), required=False, widget=DateInput(), help_text=_("留空为今天。"))


class OverrideForm(BootstrapMixin, forms.Form):
    include = forms.TypedChoiceField(
        label=_("调整"),
        choices=[("1", _("纳入")), ("0", _("调出"))],
        coerce=lambda v: v == "1",
        widget=forms.HiddenInput,
    )
    note = forms.CharField(label=_("园区意见"), max_length=255)


class DecisionForm(BootstrapMixin, forms.Form):
    note = forms.CharField(label=_("审核意见"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, note_required: bool = False, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["note"].required = note_required


class EntryFilterForm(BootstrapMixin, forms.Form):
    included = forms.ChoiceField(
        label=_("结果"), choices=[("", _("全部")), ("in", _("纳入")), ("out", _("未纳入"))], required=False
    )
    source = forms.ChoiceField(label=_("来源"), choices=[("", _("全部")), *EntrySource.choices], required=False)
    q = forms.CharField(label=_("企业名称或信用代码"), max_length=64, required=False)

    def filters(self) -> dict[str, Any]:
        if not self.is_valid():
            return {}
        data = self.cleaned_data
        included = {"in": True, "out": False}.get(data.get("included") or "")
        return {"included": included, "source": data.get("source") or None, "q": data.get("q") or None}


class ApplicationForm(BootstrapMixin, forms.Form):
    park = forms.ModelChoiceField(label=_("园区"), queryset=Park.objects.none())
    period = period_field(initial=lambda: str(business_date().year))
    statement = forms.CharField(
        label=_("申请说明"),
        required=False,
        max_length=2000,
        widget=forms.Textarea(attrs={"rows": 4}),
        help_text=_("可说明企业的知识产权、经营和融资需求等情况。"),
    )

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["park"].queryset = parks  # type: ignore[attr-defined]
        if parks.count() == 1:
            self.fields["park"].initial = parks.first()


class ApplicationFilterForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), *ApplicationStatus.choices], required=False)
    period = forms.CharField(label=_("白名单期间"), max_length=16, required=False)
