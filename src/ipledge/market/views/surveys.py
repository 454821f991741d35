"""Survey pages (常态化调查).

Organisers (IP offices, park administrations): the campaign list, creation, the builder (settings, questions added,
edited, deleted and reordered with htmx while a draft; publish / remind / close / repeat / delete), the targets page
(add by name, by park or by region; the list with answered / pending / reminded), results with charts and the xlsx
export. Respondents (enterprises, banks): 我的调查 (pending surveys with reminders, due date and an overdue flag;
answered ones) and the answer form generated from the typed questions, errors under the question.

Views are thin: reads through `selectors_surveys` (a campaign of another organiser, a draft seen by a target, a
survey the organisation is not a target of: 404), writes through `services.surveys` (a `ValidationError` is shown
next to the field or question it names, a `PermissionDenied` answers 403).
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import QuerySet
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context import business_date
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation, Region
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest

from .. import selectors_surveys as selectors
from ..choices import SurveyStatus
from ..export_surveys import XLSX, export_filename, response_workbook
from ..forms_surveys import AnswerForm, CampaignFilterForm, CampaignForm, QuestionForm, TargetForm, field_name
from ..models import SurveyCampaign, SurveyQuestion, SurveyTarget
from ..services import surveys as services
from ..tables_surveys import CampaignTable, TargetTable

PER_PAGE = 25


def _htmx(request: AuthenticatedRequest) -> bool:
    return bool(getattr(request, "htmx", False))


def _flash_errors(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


def _organisers(user: Any) -> QuerySet[Organisation]:
    """The organisations the user may organise surveys for: its own and those below it, of an organising kind."""
    scope = scope_for(user)
    orgs = Organisation.objects.filter(kind__in=services.ORGANISER_KINDS, is_active=True)
    if scope is None or not scope.may(Action.ADD):
        return orgs.none()
    if not scope.is_platform:
        orgs = orgs.filter(tree_path__startswith=scope.org_tree_path)
    return orgs.order_by("tree_path", "name")


def _actions(user: Any, campaign: SurveyCampaign) -> dict[str, bool]:
    change = selectors.may_change(user, campaign)
    status = campaign.status
    return {
        "can_edit": change and status != SurveyStatus.CLOSED,
        "can_build": change and status == SurveyStatus.DRAFT,
        "can_publish": change and status == SurveyStatus.DRAFT,
        "can_delete": change and status == SurveyStatus.DRAFT,
        "can_remind": change and status == SurveyStatus.OPEN,
        "can_close": change and status == SurveyStatus.OPEN,
        "can_repeat": change and status != SurveyStatus.DRAFT and campaign.recurrence != "once",
    }


# ---------------------------------------------------------------------------
# Organiser: list, create, settings
# ---------------------------------------------------------------------------


@require_GET
def survey_list(request: AuthenticatedRequest) -> HttpResponse:
    """调查管理: the campaigns the user's organisation runs. A respondent is sent to 我的调查."""
    user = request.user
    scope = scope_for(user)
    if scope is not None and not scope.is_platform and scope.kind not in services.ORGANISER_KINDS:
        return redirect("market:survey_mine")
    form = CampaignFilterForm(request.GET or None)
    table = CampaignTable(selectors.organiser_campaigns(user=user, filters=form.filters()))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(
        request,
        "market/surveys/list.html",
        {"table": table, "filter": {"form": form}, "can_create": services.may_organise(user)},
    )


def survey_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    organisers = _organisers(user)
    if not services.may_organise(user) or not organisers.exists():
        raise Http404
    form = CampaignForm(request.POST or None, organisers=organisers)
    if request.method == "POST" and form.is_valid():
        d = form.cleaned_data
        try:
            campaign = services.campaign_create(
                organiser=d["organiser"],
                title=d["title"],
                audience=d["audience"],
                period_label=d["period_label"],
                recurrence=d["recurrence"],
                opens_on=d["opens_on"],
                closes_on=d["closes_on"],
                reminder_every_days=d["reminder_every_days"],
                flows_into_library=bool(d.get("flows_into_library")),
                description=d.get("description") or "",
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("调查“%(title)s”已创建，请添加题目和调查对象。") % {"title": campaign.title})
            return redirect("market:survey_detail", campaign.pk)
    return render(request, "market/surveys/form.html", {"form": form, "campaign": None})


def survey_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    if not _actions(user, campaign)["can_edit"]:
        raise PermissionDenied
    form = CampaignForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.campaign_update(campaign=campaign, data=form.changes(campaign), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("调查设置已保存。"))
            return redirect("market:survey_detail", campaign.pk)
    return render(request, "market/surveys/form.html", {"form": form, "campaign": campaign})


# ---------------------------------------------------------------------------
# Organiser: the builder
# ---------------------------------------------------------------------------


def _builder_context(
    request: AuthenticatedRequest,
    campaign: SurveyCampaign,
    *,
    add_form: QuestionForm | None = None,
    editing: SurveyQuestion | None = None,
    edit_form: QuestionForm | None = None,
) -> dict[str, Any]:
    actions = _actions(request.user, campaign)
    return {
        "campaign": campaign,
        "questions": selectors.campaign_questions(campaign),
        "add_form": add_form or QuestionForm(prefix="new"),
        "editing": editing.pk if editing is not None else None,
        "edit_form": edit_form,
        "counts": selectors.target_counts(campaign),
        **actions,
    }


def _questions_response(
    request: AuthenticatedRequest,
    campaign: SurveyCampaign,
    *,
    add_form: QuestionForm | None = None,
    editing: SurveyQuestion | None = None,
    edit_form: QuestionForm | None = None,
    ok: bool = True,
) -> HttpResponse:
    """The questions part for htmx; otherwise the builder page (after a success, by redirect)."""
    if _htmx(request):
        context = _builder_context(request, campaign, add_form=add_form, editing=editing, edit_form=edit_form)
        return render(request, "market/surveys/partials/questions.html", context)
    if ok:
        return redirect("market:survey_detail", campaign.pk)
    context = _builder_context(request, campaign, add_form=add_form, editing=editing, edit_form=edit_form)
    return render(request, "market/surveys/detail.html", context)


@require_GET
def survey_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    campaign = selectors.organiser_campaign(user=request.user, pk=pk)
    return render(request, "market/surveys/detail.html", _builder_context(request, campaign))


@require_POST
def survey_question_add(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    form = QuestionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.question_add(campaign=campaign, acting_user=user, **form.values())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _questions_response(request, campaign)
    return _questions_response(request, campaign, add_form=form, ok=False)


def _question(user: Any, pk: int) -> SurveyQuestion:
    question = scoped_get(SurveyQuestion, user=user, pk=pk)
    selectors.changeable_campaign(user=user, pk=question.campaign_id)
    return question


def survey_question_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    question = _question(user, pk)
    campaign = selectors.organiser_campaign(user=user, pk=question.campaign_id)
    prefix = f"edit{question.pk}"
    if request.method != "POST":
        form = QuestionForm(question=question, prefix=prefix)
        return _questions_response(request, campaign, editing=question, edit_form=form, ok=False)
    form = QuestionForm(request.POST, question=question, prefix=prefix)
    if form.is_valid():
        try:
            services.question_update(question=question, data=form.values(), acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _questions_response(request, campaign)
    return _questions_response(request, campaign, editing=question, edit_form=form, ok=False)


@require_POST
def survey_question_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    question = _question(user, pk)
    campaign = selectors.organiser_campaign(user=user, pk=question.campaign_id)
    try:
        services.question_delete(question=question, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    return _questions_response(request, campaign)


@require_POST
def survey_question_move(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    question = _question(user, pk)
    campaign = selectors.organiser_campaign(user=user, pk=question.campaign_id)
    direction = request.POST.get("direction")
    position = question.position - 1 if direction == "up" else question.position + 1
    if request.POST.get("position", "").isdigit():
        position = int(request.POST["position"])
    try:
        services.question_move(question=question, position=position, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    return _questions_response(request, campaign)


# ---------------------------------------------------------------------------
# Organiser: targets
# ---------------------------------------------------------------------------


def _regions(organiser: Organisation) -> QuerySet[Region] | None:
    if organiser.kind != OrganisationKind.IP_OFFICE:
        return None
    regions = Region.objects.order_by("code")
    if organiser.admin_level == AdminLevel.NATIONAL:
        return regions.filter(level__in=["province", "city"])
    if not organiser.region_id:
        return regions.none()
    return regions.filter(code__startswith=organiser.region.prefix)  # type: ignore[union-attr]


def _target_form(campaign: SurveyCampaign, data: Any = None) -> TargetForm:
    organiser = campaign.organiser
    already = SurveyTarget.objects.filter(campaign=campaign).values("organisation_id")
    candidates = services.reach(organiser, campaign.audience).exclude(pk__in=already).order_by("name")
    is_bank = services.AUDIENCE_ORG_KIND[campaign.audience] == OrganisationKind.BANK
    return TargetForm(
        data,
        organisations=candidates,
        parks=None if is_bank else services.reachable_parks(organiser).order_by("name"),
        regions=_regions(organiser),
    )


def _targets_page(
    request: AuthenticatedRequest, campaign: SurveyCampaign, form: TargetForm | None = None
) -> HttpResponse:
    user = request.user
    actions = _actions(user, campaign)
    state = request.GET.get("state", "")
    table = TargetTable(selectors.campaign_targets(user=user, campaign=campaign, state=state))
    table.can_remove = actions["can_build"]  # type: ignore[attr-defined]
    RequestConfig(request, paginate={"per_page": 50}).configure(table)
    may_add = selectors.may_change(user, campaign) and campaign.status != SurveyStatus.CLOSED
    return render(
        request,
        "market/surveys/targets.html",
        {
            "campaign": campaign,
            "table": table,
            "form": (form or _target_form(campaign)) if may_add else None,
            "counts": selectors.target_counts(campaign),
            "state": state,
            "states": [(s, selectors.target_state_label(s)) for s in selectors.TARGET_STATE_LABELS],
            **actions,
        },
    )


def survey_targets(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.organiser_campaign(user=user, pk=pk)
    if request.method != "POST":
        return _targets_page(request, campaign)
    if not selectors.may_change(user, campaign):
        raise PermissionDenied
    form = _target_form(campaign, request.POST)
    if form.is_valid():
        d = form.cleaned_data
        try:
            added = services.targets_add(
                campaign=campaign,
                organisations=list(d.get("organisations") or []),
                park=d.get("park"),
                region=d.get("region"),
                acting_user=user,
            )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if added:
                messages.success(request, _("已添加 %(count)d 个调查对象。") % {"count": len(added)})
            else:
                messages.info(request, _("所选机构均已在调查对象中。"))
            return redirect("market:survey_targets", campaign.pk)
    return _targets_page(request, campaign, form)


@require_POST
def survey_target_remove(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    target = scoped_get(SurveyTarget, user=user, pk=pk)
    campaign = selectors.changeable_campaign(user=user, pk=target.campaign_id)
    try:
        services.target_remove(target=target, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, _("已移除调查对象“%(name)s”。") % {"name": target.organisation.name})
    return redirect("market:survey_targets", campaign.pk)


# ---------------------------------------------------------------------------
# Organiser: lifecycle
# ---------------------------------------------------------------------------


@require_POST
def survey_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    try:
        campaign = services.campaign_publish(campaign=campaign, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(
            request, _("调查已发布，%(count)d 个调查对象可在“我的调查”中答卷。") % {"count": campaign.targets.count()}
        )
    return redirect("market:survey_detail", campaign.pk)


@require_POST
def survey_remind(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    try:
        count = services.campaign_remind(campaign=campaign, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        if count:
            messages.success(request, _("已催办 %(count)d 个尚未答卷的调查对象。") % {"count": count})
        else:
            messages.info(
                request,
                _("没有需要催办的调查对象（未答卷的对象在 %(days)d 天内已发送或催办过）。")
                % {"days": campaign.reminder_every_days},
            )
    back = "market:survey_targets" if request.POST.get("next") == "targets" else "market:survey_detail"
    return redirect(back, pk)


@require_POST
def survey_close(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    try:
        services.campaign_close(campaign=campaign, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
    else:
        messages.success(request, _("调查已结束，不再接受答卷。"))
    return redirect("market:survey_detail", campaign.pk)


@require_POST
def survey_repeat(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    try:
        successor = services.campaign_repeat(campaign=campaign, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
        return redirect("market:survey_detail", campaign.pk)
    messages.success(
        request,
        _("已生成下一期（%(period)s）草稿，题目和调查对象沿用本期，请核对日期后发布。")
        % {"period": successor.period_label},
    )
    return redirect("market:survey_detail", successor.pk)


@require_POST
def survey_delete(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.changeable_campaign(user=user, pk=pk)
    try:
        services.campaign_delete(campaign=campaign, acting_user=user)
    except ValidationError as exc:
        _flash_errors(request, exc)
        return redirect("market:survey_detail", campaign.pk)
    messages.success(request, _("调查草稿已删除。"))
    return redirect("market:survey_list")


# ---------------------------------------------------------------------------
# Organiser: results and export
# ---------------------------------------------------------------------------


@require_GET
def survey_results(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    campaign = selectors.organiser_campaign(user=user, pk=pk)
    results = selectors.survey_results(campaign)
    return render(
        request,
        "market/surveys/results.html",
        {
            "campaign": campaign,
            "results": results,
            "charts": results.charts(),
            "counts": selectors.target_counts(campaign),
            "responses": selectors.response_list(user=user, campaign=campaign),
            **_actions(user, campaign),
        },
    )


@require_GET
def survey_export(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    campaign = selectors.organiser_campaign(user=request.user, pk=pk)
    response = HttpResponse(response_workbook(campaign), content_type=XLSX)
    response["Content-Disposition"] = f"attachment; filename*=UTF-8''{quote(export_filename(campaign))}"
    response["X-Content-Type-Options"] = "nosniff"
    return response


# ---------------------------------------------------------------------------
# Respondents
# ---------------------------------------------------------------------------


@require_GET
def survey_mine(request: AuthenticatedRequest) -> HttpResponse:
    """我的调查: the surveys the user's organisation is asked to answer."""
    mine = selectors.my_surveys(user=request.user)
    scope = scope_for(request.user)
    return render(
        request,
        "market/surveys/mine.html",
        {**mine, "may_answer": scope is not None and scope.may(Action.ADD)},
    )


def survey_respond(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    target = selectors.respondent_target(user=user, pk=pk)
    campaign = target.campaign
    questions = selectors.campaign_questions(campaign)
    scope = scope_for(user)
    may_answer = (
        scope is not None
        and scope.may(Action.ADD)
        and campaign.status == SurveyStatus.OPEN
        and target.responded_at is None
    )
    if request.method == "POST" and not may_answer:
        if target.responded_at is not None or campaign.status != SurveyStatus.OPEN:
            messages.error(request, _("该调查已答卷或已结束。"))
            return redirect("market:survey_mine")
        raise PermissionDenied
    form = AnswerForm(request.POST or None, questions=questions)
    if request.method == "POST" and form.is_valid():
        try:
            with transaction.atomic():
                response = services.response_submit(campaign=campaign, answers=form.answers(), acting_user=user)
        except ValidationError as exc:
            fields = {services.answer_field(q): field_name(q) for q in questions}
            attach_errors(form, exc, field_map=fields)
        else:
            text = _("答卷已提交，感谢参与“%(title)s”。") % {"title": campaign.title}
            if response.demand is not None:
                text += _("您填报的融资需求已进入融资项目库（编号 %(ref)s）。") % {"ref": response.demand.reference}
            if response.product is not None:
                text += _("已根据答卷生成产品草稿“%(name)s”，请在产品资源库中完善后提交审批。") % {
                    "name": response.product.name
                }
            messages.success(request, text)
            return redirect("market:survey_mine")
    response_id = (
        selectors.response_list(user=user, campaign=campaign)
        .filter(organisation_id=target.organisation_id)
        .values_list("pk", flat=True)
        .first()
    )
    return render(
        request,
        "market/surveys/respond.html",
        {
            "campaign": campaign,
            "target": target,
            "form": form,
            "may_answer": may_answer,
            "response_id": response_id,
            "overdue": target.responded_at is None and campaign.closes_on < business_date(),
        },
    )


@require_GET
def survey_response_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """One response: for the organiser and for the responding organisation."""
    response = selectors.response_detail(user=request.user, pk=pk)
    return render(
        request,
        "market/surveys/response_detail.html",
        {
            "response": response,
            "campaign": response.campaign,
            "rows": selectors.answer_rows(response),
            "is_organiser": selectors.is_organiser(request.user, response.campaign),
        },
    )


urlpatterns = [
    path("surveys/", survey_list, name="survey_list"),
    path("surveys/new/", survey_create, name="survey_create"),
    path("surveys/mine/", survey_mine, name="survey_mine"),
    path("surveys/<int:pk>/", survey_detail, name="survey_detail"),
    path("surveys/<int:pk>/edit/", survey_edit, name="survey_edit"),
    path("surveys/<int:pk>/delete/", survey_delete, name="survey_delete"),
    path("surveys/<int:pk>/questions/add/", survey_question_add, name="survey_question_add"),
    path("surveys/questions/<int:pk>/edit/", survey_question_edit, name="survey_question_edit"),
    path("surveys/questions/<int:pk>/delete/", survey_question_delete, name="survey_question_delete"),
    path("surveys/questions/<int:pk>/move/", survey_question_move, name="survey_question_move"),
    path("surveys/<int:pk>/targets/", survey_targets, name="survey_targets"),
    path("surveys/targets/<int:pk>/remove/", survey_target_remove, name="survey_target_remove"),
    path("surveys/<int:pk>/publish/", survey_publish, name="survey_publish"),
    path("surveys/<int:pk>/remind/", survey_remind, name="survey_remind"),
    path("surveys/<int:pk>/close/", survey_close, name="survey_close"),
    path("surveys/<int:pk>/repeat/", survey_repeat, name="survey_repeat"),
    path("surveys/<int:pk>/results/", survey_results, name="survey_results"),
    path("surveys/<int:pk>/export.xlsx", survey_export, name="survey_export"),
    path("surveys/<int:pk>/respond/", survey_respond, name="survey_respond"),
    path("surveys/responses/<int:pk>/", survey_response_detail, name="survey_response_detail"),
]
