"""Scorecard pages (评分卡): the list, each card's model card (method, bins and points, metrics, the documented
reasons), training and activation for the IP offices, and one enterprise's score broken down per characteristic.

Views are thin: reads start from `restrict()` (scorecards are published to every signed-in user; an enterprise is
shown to whoever may see it in the registry, else 404), every write runs one service of
`ipledge.screening.services.scorecards`, whose `ValidationError` is shown as a message and whose `PermissionDenied`
answers 403.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponse
from django.shortcuts import redirect, render
from django.urls import URLPattern, path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from ipledge.core.context import business_date
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.models import Enterprise
from ipledge.registry.views import history_context

from .. import explain
from ..engine.scorecard import scale
from ..forms_scorecards import ScoreQueryForm, TrainForm
from ..models import Scorecard
from ..selectors_scorecards import scorecard_list as list_cards
from ..selectors_scorecards import scorecard_spec
from ..services import scorecards as services
from ..tables_scorecards import ScorecardTable

PER_PAGE = 25


def _flash(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def scorecard_list(request: AuthenticatedRequest) -> HttpResponse:
    services.scorecard_default()  # the platform default exists from the first visit on
    table = ScorecardTable(list_cards(user=request.user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    may_train = services.may_train(request.user)
    return render(
        request,
        "screening/scorecards/list.html",
        {
            "table": table,
            "may_train": may_train,
            "train_form": TrainForm() if may_train else None,
            "min_loans": services.MIN_TRAINING_LOANS,
            "min_bads": services.MIN_TRAINING_BADS,
        },
    )


def scorecard_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    card = scoped_get(Scorecard, user=request.user, pk=pk)
    spec = scorecard_spec(card)
    metrics = card.metrics if isinstance(card.metrics, dict) else {}
    sc = metrics.get("scale") or scale()
    context: dict[str, Any] = {
        "card": card,
        "spec": spec,
        "characteristics": explain.describe_card(spec),
        "method_text": explain.method_text(card.method),
        "metrics": metrics,
        "scale": sc,
        "holdout": {k: metrics.get(k) for k in ("auc", "gini", "ks", "n", "bads", "bad_rate", "n_test", "bads_test")},
        "dropped": [explain.characteristic_label(n) for n in metrics.get("dropped") or ()],
        "may_manage": services.may_manage(request.user, card),
        "may_train": services.may_train(request.user),
        "min_auc": services.MIN_USEFUL_AUC,
        **history_context(request.user, card),
    }
    return render(request, "screening/scorecards/detail.html", context)


@require_POST
def scorecard_train(request: AuthenticatedRequest) -> HttpResponse:
    if not services.may_train(request.user):
        raise PermissionDenied
    form = TrainForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, str(error))
        return redirect("screening:scorecard_list")
    try:
        card = services.scorecard_train(acting_user=request.user, name=form.cleaned_data["name"])
    except ValidationError as exc:
        _flash(request, exc)
        return redirect("screening:scorecard_list")
    messages.success(request, _("评分卡已训练完成，请查看验证指标后决定是否启用。"))
    return redirect("screening:scorecard_detail", card.pk)


def _toggle(request: AuthenticatedRequest, pk: int, *, activate: bool) -> HttpResponse:
    card = scoped_get(Scorecard, user=request.user, pk=pk)
    if not services.may_manage(request.user, card):
        raise PermissionDenied
    try:
        if activate:
            services.scorecard_activate(scorecard=card, acting_user=request.user)
            messages.success(request, _("评分卡已启用，新建筛选标准可以选用。"))
        else:
            services.scorecard_deactivate(scorecard=card, acting_user=request.user)
            messages.success(request, _("评分卡已停用；已发布的筛选标准继续使用原评分卡。"))
    except ValidationError as exc:
        _flash(request, exc)
    return redirect("screening:scorecard_detail", card.pk)


@require_POST
def scorecard_activate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, activate=True)


@require_POST
def scorecard_deactivate(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _toggle(request, pk, activate=False)


def enterprise_score(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    enterprise = scoped_get(Enterprise, user=request.user, pk=pk)
    form = ScoreQueryForm(request.GET or None, user=request.user)
    card = None
    day = business_date()
    if form.is_valid():
        card = form.cleaned_data.get("scorecard")
        day = form.cleaned_data.get("as_of") or day
    result = services.score_for_viewer(enterprise=enterprise, user=request.user, card=card, as_of=day)
    return render(
        request,
        "screening/scorecards/enterprise_score.html",
        {"enterprise": enterprise, "form": form, "result": result},
    )


urlpatterns: list[URLPattern] = [
    path("scorecards/", scorecard_list, name="scorecard_list"),
    path("scorecards/train/", scorecard_train, name="scorecard_train"),
    path("scorecards/<int:pk>/", scorecard_detail, name="scorecard_detail"),
    path("scorecards/<int:pk>/activate/", scorecard_activate, name="scorecard_activate"),
    path("scorecards/<int:pk>/deactivate/", scorecard_deactivate, name="scorecard_deactivate"),
    path("enterprises/<int:pk>/score/", enterprise_score, name="enterprise_score"),
]
