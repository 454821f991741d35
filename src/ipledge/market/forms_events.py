"""Forms of the matchmaking-event pages (银企对接活动): the event, registration of a bank or an enterprise, a manual
meeting, and a meeting's outcome. The services check every rule again; these forms parse the input and offer the
choices within the user's reach."""

from __future__ import annotations

import datetime
from decimal import Decimal
from typing import Any

from django import forms
from django.db.models import QuerySet
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin, DateInput
from ipledge.core.models import Organisation
from ipledge.core.money import Money
from ipledge.registry.models import Park

from .choices import EventStatus, MeetingOutcome, MeetingStatus
from .models import Demand, EventParticipant, MatchmakingEvent

WHEN_CHOICES = (
    ("", _("即将举办与往期")),
    ("upcoming", _("即将举办")),
    ("past", _("往期活动")),
    ("all", _("全部（按日期倒序）")),
)


class TimeInput(forms.TimeInput):
    input_type = "time"

    def __init__(self, attrs: dict[str, Any] | None = None) -> None:
        super().__init__(attrs=attrs, format="%H:%M")


def money_or_none(value: Decimal | None) -> Money | None:
    return None if value is None else Money(value)


class EventFilterForm(BootstrapMixin, forms.Form):
    when = forms.ChoiceField(label=_("时间"), choices=WHEN_CHOICES, required=False)
    status = forms.ChoiceField(label=_("状态"), choices=[("", _("全部")), *EventStatus.choices], required=False)

    def values(self) -> tuple[str, str]:
        """(when, status): when is "" (upcoming and past, two lists), "upcoming", "past" or "all" (one list)."""
        if not self.is_bound or not self.is_valid():
            return "", ""
        return self.cleaned_data.get("when") or "", self.cleaned_data.get("status") or ""


class EventForm(BootstrapMixin, forms.Form):
    title = forms.CharField(label=_("活动名称"), max_length=160)
    theme = forms.CharField(label=_("主题"), max_length=200, required=False)
    description = forms.CharField(label=_("活动介绍"), required=False, widget=forms.Textarea(attrs={"rows": 3}))
    park = forms.ModelChoiceField(label=_("举办园区"), queryset=Park.objects.none(), required=False)
    place = forms.CharField(label=_("地点"), max_length=200)
    event_date = forms.DateField(label=_("活动日期"), widget=DateInput())
    starts_at = forms.TimeField(label=_("开始时间"), widget=TimeInput(), initial=datetime.time(9, 0))
    slot_minutes = forms.IntegerField(label=_("每场时长（分钟）"), min_value=5, max_value=240, initial=20)
    slot_count = forms.IntegerField(label=_("场次数"), min_value=1, max_value=48, initial=9)
    registration_closes_on = forms.DateField(label=_("报名截止"), widget=DateInput())

    def __init__(self, *args: Any, parks: QuerySet[Park], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["park"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = parks

    @classmethod
    def initial_from(cls, event: MatchmakingEvent) -> dict[str, Any]:
        return {
            "title": event.title,
            "theme": event.theme,
            "description": event.description,
            "park": event.park_id,
            "place": event.place,
            "event_date": event.event_date,
            "starts_at": event.starts_at,
            "slot_minutes": event.slot_minutes,
            "slot_count": event.slot_count,
            "registration_closes_on": event.registration_closes_on,
        }


class OrganisationChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, org: Organisation) -> str:  # type: ignore[override]
        return str(org.name)


class DemandChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, demand: Demand) -> str:  # type: ignore[override]
        return gettext("%(ref)s · %(amount)s 元 · %(months)s 个月") % {
            "ref": demand.reference,
            "amount": f"{demand.amount.amount:,.2f}",
            "months": demand.term_months,
        }


class BankRegistrationForm(BootstrapMixin, forms.Form):
    organisation = OrganisationChoiceField(label=_("参会银行"), queryset=Organisation.objects.none())
    desks = forms.IntegerField(label=_("洽谈台数"), min_value=1, max_value=20, initial=1)
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)

    def __init__(self, *args: Any, organisations: QuerySet[Organisation], **kwargs: Any) -> None:
        kwargs.setdefault("prefix", "bank")
        super().__init__(*args, **kwargs)
        field = self.fields["organisation"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = organisations
        if organisations.count() == 1:
            field.initial = organisations.first()


class EnterpriseRegistrationForm(BootstrapMixin, forms.Form):
    organisation = OrganisationChoiceField(label=_("参会企业"), queryset=Organisation.objects.none())
    demand = DemandChoiceField(
        label=_("拟洽谈需求"),
        queryset=Demand.objects.none(),
        required=False,
        help_text=_("可选：选择一项融资需求，平台按该需求匹配银行；不选则按全部有效需求匹配"),
    )
    contact_name = forms.CharField(label=_("联系人"), max_length=64, required=False)

    def __init__(
        self, *args: Any, organisations: QuerySet[Organisation], demands: QuerySet[Demand], **kwargs: Any
    ) -> None:
        kwargs.setdefault("prefix", "enterprise")
        super().__init__(*args, **kwargs)
        org = self.fields["organisation"]
        demand = self.fields["demand"]
        assert isinstance(org, forms.ModelChoiceField) and isinstance(demand, forms.ModelChoiceField)
        org.queryset = organisations
        demand.queryset = demands
        if organisations.count() == 1:
            org.initial = organisations.first()


class ParticipantChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, p: EventParticipant) -> str:  # type: ignore[override]
        if p.kind == "bank" and p.desks > 1:
            return gettext("%(name)s（%(desks)s 个洽谈台）") % {"name": p.organisation.name, "desks": p.desks}
        return str(p.organisation.name)


class MeetingAddForm(BootstrapMixin, forms.Form):
    bank_participant = ParticipantChoiceField(label=_("银行"), queryset=EventParticipant.objects.none())
    desk = forms.IntegerField(label=_("洽谈台"), min_value=1, max_value=20, initial=1)
    enterprise_participant = ParticipantChoiceField(label=_("企业"), queryset=EventParticipant.objects.none())
    slot = forms.TypedChoiceField(label=_("场次"), coerce=int, choices=())

    def __init__(
        self,
        *args: Any,
        event: MatchmakingEvent,
        banks: QuerySet[EventParticipant],
        enterprises: QuerySet[EventParticipant],
        **kwargs: Any,
    ) -> None:
        super().__init__(*args, **kwargs)
        bank = self.fields["bank_participant"]
        ent = self.fields["enterprise_participant"]
        assert isinstance(bank, forms.ModelChoiceField) and isinstance(ent, forms.ModelChoiceField)
        bank.queryset = banks
        ent.queryset = enterprises
        slot = self.fields["slot"]
        assert isinstance(slot, forms.TypedChoiceField)
        slot.choices = [
            (n, gettext("第%(n)s场 %(time)s") % {"n": n, "time": event.slot_start(n).strftime("%H:%M")})
            for n in range(1, event.slot_count + 1)
        ]


class LoanChoiceField(forms.ModelChoiceField):  # type: ignore[type-arg]
    def label_from_instance(self, loan: Any) -> str:  # type: ignore[override]
        amount = loan.principal if loan.principal is not None else loan.requested_amount
        return gettext("%(ref)s · %(bank)s · %(amount)s 元 · %(status)s") % {
            "ref": loan.reference,
            "bank": loan.bank.name,
            "amount": f"{amount.amount:,.2f}",
            "status": loan.get_status_display(),
        }


class OutcomeForm(BootstrapMixin, forms.Form):
    status = forms.ChoiceField(
        label=_("是否会谈"),
        choices=[(MeetingStatus.HELD, MeetingStatus.HELD.label), (MeetingStatus.NO_SHOW, MeetingStatus.NO_SHOW.label)],
        widget=forms.RadioSelect,
        initial=MeetingStatus.HELD,
    )
    outcome = forms.ChoiceField(label=_("洽谈结果"), choices=MeetingOutcome.choices, required=False)
    intended_amount = forms.DecimalField(
        label=_("意向金额（元）"), required=False, min_value=Decimal("0.01"), max_digits=15, decimal_places=2
    )
    follow_up_on = forms.DateField(label=_("跟进日期"), required=False, widget=DateInput())
    loan = LoanChoiceField(
        label=_("形成贷款"),
        queryset=None,
        required=False,
        help_text=_("结果为已放款时选择该企业在本行（或下级机构）获批的贷款"),
    )
    note = forms.CharField(label=_("结果说明"), required=False, widget=forms.Textarea(attrs={"rows": 2}))

    def __init__(self, *args: Any, loans: QuerySet[Any], **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        field = self.fields["loan"]
        assert isinstance(field, forms.ModelChoiceField)
        field.queryset = loans
        self.fields["status"].widget.attrs.pop("class", None)
