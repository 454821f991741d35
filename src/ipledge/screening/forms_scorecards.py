"""Scorecard forms (评分卡): the name of a card to train, and the card and day an enterprise's score is shown for."""

from __future__ import annotations

from typing import Any

from django import forms
from django.utils.translation import gettext_lazy as _

from ipledge.core.forms import BootstrapMixin, DateInput

from .models import Scorecard
from .selectors_scorecards import scorecard_list


class TrainForm(BootstrapMixin, forms.Form):
    name = forms.CharField(
        label=_("评分卡名称"),
        max_length=128,
        help_text=_("如：江苏省 2027 年逻辑回归评分卡"),
    )


class ScoreQueryForm(BootstrapMixin, forms.Form):
    scorecard = forms.ModelChoiceField(
        label=_("评分卡"), queryset=Scorecard.objects.none(), required=False, empty_label=_("本机构启用的评分卡")
    )
    as_of = forms.DateField(label=_("评分基准日"), required=False, widget=DateInput())

    def __init__(self, *args: Any, user: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self.fields["scorecard"].queryset = scorecard_list(user=user)  # type: ignore[attr-defined]
