"""Forms of the anomaly pages: the findings filter, the case actions and the bulletin."""

from __future__ import annotations

from typing import Any

import django_filters as filters
from django import forms
from django.db.models import Q, QuerySet
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import User
from ipledge.registry.filtersets import StyledFilterSet

from .choices import ACTIVE_FINDING_STATUSES, AnomalyRule, FindingSeverity, FindingStatus
from .models import Finding

STATE_CHOICES = [("active", _("未办结")), ("closed", _("已办结"))]


class FindingFilterSet(StyledFilterSet):
    q = filters.CharFilter(label=_("标题/对象"), method="filter_q")
    rule = filters.ChoiceFilter(label=_("规则"), choices=AnomalyRule.choices, empty_label=_("全部"))
    severity = filters.ChoiceFilter(label=_("严重程度"), choices=FindingSeverity.choices, empty_label=_("全部"))
    status = filters.ChoiceFilter(label=_("状态"), choices=FindingStatus.choices, empty_label=_("全部"))
    state = filters.ChoiceFilter(label=_("办理"), choices=STATE_CHOICES, method="filter_state", empty_label=_("全部"))
    region = filters.CharFilter(label=_("地区代码"), method="filter_region")

    class Meta:
        model = Finding
        fields = ["q", "rule", "severity", "status", "state", "region"]

    def filter_q(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        value = value.strip()
        if not value:
            return queryset
        return queryset.filter(
            Q(title__icontains=value) | Q(enterprise__name__icontains=value) | Q(institution__name__icontains=value)
        )

    def filter_state(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        if value == "active":
            return queryset.filter(status__in=ACTIVE_FINDING_STATUSES)
        if value == "closed":
            return queryset.exclude(status__in=ACTIVE_FINDING_STATUSES)
        return queryset

    def filter_region(self, queryset: QuerySet[Finding], name: str, value: str) -> QuerySet[Finding]:
        # A province or city code matches the codes under it: 320000 → 32, 320100 → 3201.
        value = value.strip()
        if not value.isdigit():
            return queryset
        prefix = value.rstrip("0") or value
        return queryset.filter(region_code__startswith=prefix)


class VersionedForm(BootstrapMixin, forms.Form):
    version = forms.IntegerField(widget=forms.HiddenInput, required=False)


class AssignForm(VersionedForm):
    assignee = forms.ModelChoiceField(label=_("核查人"), queryset=User.objects.none())
    due_on = forms.DateField(label=_("核查期限"), widget=DateInput)
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, assignees: list[User], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["assignee"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = User.objects.filter(pk__in=[u.pk for u in assignees]).order_by("username")
        field.label_from_instance = lambda u: f"{u.get_full_name() or u.username}（{u.organisation}）"  # type: ignore[method-assign,assignment]


class NoteForm(VersionedForm):
    note = forms.CharField(label=_("核查记录"), widget=forms.Textarea(attrs={"rows": 3}))


class StartForm(VersionedForm):
    note = forms.CharField(label=_("说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))


class DecideForm(VersionedForm):
    decision = forms.ChoiceField(
        label=_("认定"),
        choices=[("confirm", _("确认异常")), ("dismiss", _("排除（非异常）"))],
        widget=forms.RadioSelect,
    )
    note = forms.CharField(label=_("认定意见"), widget=forms.Textarea(attrs={"rows": 3}))


class BulletinForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("通报标题"), max_length=200)
    body = forms.CharField(label=_("通报正文"), widget=forms.Textarea(attrs={"rows": 6}))
    issued_on = forms.DateField(label=_("通报日期"), widget=DateInput, required=False)
    findings = forms.ModelMultipleChoiceField(
        label=_("已确认的线索"), queryset=Finding.objects.none(), widget=forms.CheckboxSelectMultiple
    )

    def __init__(self, *args: Any, confirmed: QuerySet[Finding], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["findings"]
        assert isinstance(field, forms.ModelMultipleChoiceField)
        field.queryset = confirmed
        field.label_from_instance = lambda f: f"#{f.pk} {f.get_rule_display()}：{f.title}"  # type: ignore[method-assign,assignment]


class ScanForm(BootstrapMixin, forms.Form):
    as_of = forms.DateField(label=_("数据截止日"), widget=DateInput, required=False)
