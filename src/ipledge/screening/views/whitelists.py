"""Whitelist pages (授信白名单): criteria (the province's baseline and the parks' refinements), screening a park into a
versioned whitelist, the park's overrides, submission and the province's approval (maker-checker), enterprises'
applications, and an enterprise's own status ("why am I in or out").

Views are thin: reads start from `restrict()` (another organisation's object answers 404 exactly like a missing
one), every write runs one service of `ipledge.screening.services.whitelists`; a `ValidationError` is shown next to
the field it names or as a message, a `PermissionDenied` answers 403. Panels offer only the actions valid for the
object's state and the user's role; the services check both again.
"""

from __future__ import annotations

from typing import Any

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import path, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from django_tables2 import RequestConfig

from ipledge.core.choices import AdminLevel, OrganisationKind
from ipledge.core.context_processors import can
from ipledge.core.forms import attach_errors
from ipledge.core.models import Organisation
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import scoped_get
from ipledge.core.views import AuthenticatedRequest
from ipledge.registry.views import history_context

from .. import selectors_whitelists as selectors
from ..choices import ApplicationStatus, CriteriaLevel, CriteriaStatus, VersionStatus
from ..engine.spec import CriteriaSpec
from ..forms_whitelists import (
    ApplicationFilterForm,
    ApplicationForm,
    CriteriaFilterForm,
    CriteriaForm,
    DecisionForm,
    EntryFilterForm,
    OverrideForm,
    RescreenForm,
    ScreenForm,
    repeated_rules,
)
from ..models import Criteria, Whitelist, WhitelistApplication, WhitelistEntry, WhitelistVersion
from ..services import whitelists as services
from ..tables_whitelists import (
    VERSION_BADGES,
    ApplicationTable,
    CriteriaTable,
    VersionTable,
    WhitelistTable,
)

PER_PAGE = 25
ENTRIES_PER_PAGE = 50


def _paged(request: AuthenticatedRequest, table: Any) -> Any:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return table


def _flash(request: AuthenticatedRequest, exc: ValidationError) -> None:
    for message in exc.messages:
        messages.error(request, message)


# ---------------------------------------------------------------------------
# Criteria (筛选标准)
# ---------------------------------------------------------------------------


def _criteria_level(user: Any, requested: str | None) -> str | None:
    """IP offices write baselines, park administrations their parks' criteria; the platform chooses."""
    scope = scope_for(user)
    if scope is None:
        return None
    if scope.is_platform:
        return requested if requested in CriteriaLevel.values else CriteriaLevel.BASELINE
    if scope.kind == OrganisationKind.IP_OFFICE:
        return CriteriaLevel.BASELINE
    if scope.kind == OrganisationKind.PARK_ADMIN:
        return CriteriaLevel.PARK
    return None


def criteria_list(request: AuthenticatedRequest) -> HttpResponse:
    form = CriteriaFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    table = _paged(request, CriteriaTable(selectors.criteria_list(user=request.user, filters=filters)))
    return render(
        request,
        "screening/whitelists/criteria_list.html",
        {"table": table, "filter": {"form": form}, "can_create": can(request.user, Criteria, Action.ADD)},
    )


def _criteria_owner(user: Any, level: str, form: CriteriaForm) -> Organisation | None:
    org: Organisation | None = user.organisation
    if org is not None:
        return org
    data = form.cleaned_data
    if level == CriteriaLevel.PARK:
        return data["park"].administering_org  # type: ignore[no-any-return]
    region = data["region"]
    return (
        Organisation.objects.filter(
            kind=OrganisationKind.IP_OFFICE,
            region=region,
            admin_level__in=[AdminLevel.PROVINCIAL, AdminLevel.NATIONAL],
        )
        .order_by("pk")
        .first()
    )


def criteria_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, Criteria, Action.ADD):
        raise Http404
    level = _criteria_level(user, request.GET.get("level") or request.POST.get("level"))
    if level is None:
        raise Http404
    form = CriteriaForm(request.POST or None, user=user, level=level)
    if request.method == "POST" and form.is_valid():
        owner = _criteria_owner(user, level, form)
        try:
            if owner is None:
                raise ValidationError({"region": _("该地区没有可制定基准标准的省级知识产权管理部门。")})
            with transaction.atomic():
                criteria = services.criteria_create(owner=owner, level=level, acting_user=user, **form.service_kwargs())
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("筛选标准草稿已保存。核对无误后请发布。"))
            return redirect("screening:criteria_detail", criteria.pk)
    return render(
        request,
        "screening/whitelists/criteria_form.html",
        {"form": form, "level": level, "level_label": CriteriaLevel(level).label, "criteria": None},
    )


def criteria_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    criteria = scoped_get(Criteria, user=user, pk=pk)
    may_change = selectors.may_change_criteria(user, criteria)
    comparison = selectors.criteria_comparison(criteria)
    refinements = (
        selectors.criteria_list(user=user).filter(baseline=criteria)
        if criteria.level == CriteriaLevel.BASELINE
        else None
    )
    return render(
        request,
        "screening/whitelists/criteria_detail.html",
        {
            "criteria": criteria,
            "exclusions": selectors.exclusion_rows(criteria),
            "sizes": selectors.sizes_text(criteria.allowed_sizes or []),
            "comparison": comparison,
            "loosened": [row for row in comparison if row["verdict"] == "loosens"],
            "refinements": refinements,
            "can_edit": may_change and criteria.status == CriteriaStatus.DRAFT,
            **history_context(user, criteria),
        },
    )


def criteria_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    criteria = scoped_get(Criteria, user=user, pk=pk, action=Action.CHANGE)
    level = str(criteria.level)
    editable = criteria.status == CriteriaStatus.DRAFT and not repeated_rules(criteria)
    form = CriteriaForm(
        request.POST if request.method == "POST" and editable else None,
        user=user,
        level=level,
        initial=CriteriaForm.initial_from(criteria),
    )
    if level == CriteriaLevel.BASELINE:
        form.fields["region"].disabled = True
        form.fields["region"].required = False
    else:
        form.fields["park"].disabled = True
        form.fields["park"].required = False
    if request.method == "POST" and editable and form.is_valid():
        data = form.service_kwargs()
        data.pop("region", None)
        data.pop("park", None)
        try:
            with transaction.atomic():
                services.criteria_update(criteria=criteria, data=data, acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("筛选标准草稿已更新。"))
            return redirect("screening:criteria_detail", criteria.pk)
    return render(
        request,
        "screening/whitelists/criteria_form.html",
        {
            "form": form,
            "level": level,
            "level_label": criteria.get_level_display(),
            "criteria": criteria,
            "editable": editable,
            "repeated": [selectors.rule_label(r) for r in repeated_rules(criteria)],
        },
    )


@require_POST
def criteria_publish(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    criteria = scoped_get(Criteria, user=user, pk=pk, action=Action.CHANGE)
    try:
        with transaction.atomic():
            services.criteria_publish(criteria=criteria, acting_user=user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        if criteria.level == CriteriaLevel.BASELINE:
            messages.success(request, _("基准标准已发布；同一地区本期此前发布的基准标准已停用。"))
        else:
            messages.success(request, _("园区细化标准已发布。"))
    return redirect("screening:criteria_detail", criteria.pk)


# ---------------------------------------------------------------------------
# Whitelists and screening (白名单与筛选)
# ---------------------------------------------------------------------------


def whitelist_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    queue = selectors.approval_queue(user=user)
    queue_table = VersionTable(queue, prefix="queue-") if queue.exists() else None
    if queue_table is not None:
        RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(queue_table)
    filters = {"period": request.GET.get("period", ""), "q": request.GET.get("q", "")}
    table = _paged(request, WhitelistTable(selectors.whitelist_list(user=user, filters=filters)))
    return render(
        request,
        "screening/whitelists/whitelist_list.html",
        {
            "table": table,
            "queue_table": queue_table,
            "can_screen": selectors.screenable_parks(user=user).exists(),
        },
    )


def screen_park(request: AuthenticatedRequest) -> HttpResponse:
    """ "Screen my park for period X": the park's administration picks the park, the period and the date."""
    user = request.user
    if not can(user, Whitelist, Action.ADD):
        raise Http404
    parks = selectors.screenable_parks(user=user)
    form = ScreenForm(request.POST or None, parks=parks)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            with transaction.atomic():
                version = services.whitelist_screen(
                    park=data["park"], period=data["period"], as_of=data.get("as_of"), acting_user=user
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            return _screened(request, version)
    return render(request, "screening/whitelists/screen_form.html", {"form": form})


def _screened(request: AuthenticatedRequest, version: WhitelistVersion) -> HttpResponse:
    messages.success(
        request,
        _("筛选完成：第 %(number)s 版草稿，筛选企业 %(candidates)s 家，纳入 %(included)s 家。")
        % {"number": version.number, "candidates": version.candidates, "included": version.included},
    )
    return redirect("screening:version_detail", version.pk)


def whitelist_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    whitelist = scoped_get(Whitelist, user=user, pk=pk)
    versions = selectors.versions_of(user=user, whitelist=whitelist)
    table = _paged(request, VersionTable(versions, exclude=("park", "period")))
    current = whitelist.current_version
    current_visible = current is not None and versions.filter(pk=current.pk).exists()
    return render(
        request,
        "screening/whitelists/whitelist_detail.html",
        {
            "whitelist": whitelist,
            "table": table,
            "current": current if current_visible else None,
            "can_screen": selectors.may_screen(user, whitelist),
            "open_version": versions.filter(status__in=[VersionStatus.DRAFT, VersionStatus.SUBMITTED]).first(),
            "screen_form": RescreenForm(),
            "baseline_visible": Criteria.objects.restrict(user).filter(pk=whitelist.baseline_id).exists(),
            "criteria_visible": whitelist.criteria_id is not None
            and Criteria.objects.restrict(user).filter(pk=whitelist.criteria_id).exists(),
        },
    )


@require_POST
def whitelist_screen(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    whitelist = scoped_get(Whitelist, user=user, pk=pk, action=Action.CHANGE)
    form = RescreenForm(request.POST)
    as_of = form.cleaned_data.get("as_of") if form.is_valid() else None
    try:
        with transaction.atomic():
            version = services.whitelist_screen(
                park=whitelist.park, period=whitelist.period, as_of=as_of, acting_user=user
            )
    except ValidationError as exc:
        _flash(request, exc)
        return redirect("screening:whitelist_detail", whitelist.pk)
    return _screened(request, version)


# ---------------------------------------------------------------------------
# Versions (白名单版本)
# ---------------------------------------------------------------------------


def _diff_rows(items: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [{**item, "why": selectors.reasons(item.get("reasons"))} for item in items]


def _version_context(
    request: AuthenticatedRequest, version: WhitelistVersion, forms: dict[str, Any] | None = None
) -> dict[str, Any]:
    user = request.user
    filter_form = EntryFilterForm(request.GET or None)
    entries = selectors.version_entries(user=user, version=version, **filter_form.filters())
    page = Paginator(entries, ENTRIES_PER_PAGE).get_page(request.GET.get("page"))
    may_change = selectors.may_act_on_version(user, version, Action.CHANGE)
    may_approve = selectors.may_act_on_version(user, version, Action.APPROVE)
    is_draft = version.status == VersionStatus.DRAFT
    rows = []
    for entry in page.object_list:
        why = selectors.reasons(entry.reasons)
        rows.append(
            {
                "entry": entry,
                "why": why,
                "points": selectors.point_rows(entry),
                "can_add": is_draft and may_change and not entry.included and services.passes_baseline(entry.reasons),
                "can_remove": is_draft and may_change and entry.included,
            }
        )
    diff = version.diff or {}
    forms = forms or {}
    submitter = version.submitted_by_id is not None and version.submitted_by_id == user.pk
    query = request.GET.copy()
    query.pop("page", None)
    return {
        "version": version,
        "whitelist": version.whitelist,
        "status_css": VERSION_BADGES.get(str(version.status), ""),
        "summary": selectors.version_summary(version),
        "rules": CriteriaSpec.from_json(version.rules or {}),
        "rule_rows": [
            {"label": selectors.rule_label(r.rule), "text": selectors.exclusion_text(r)}
            for r in CriteriaSpec.from_json(version.rules or {}).exclusions
        ],
        "filter": {"form": filter_form},
        "page": page,
        "rows": rows,
        "query": query.urlencode(),
        "diff": {
            "added": _diff_rows(diff.get("added") or []),
            "removed": _diff_rows(diff.get("removed") or []),
            "unchanged": diff.get("unchanged", 0),
        },
        "can_submit": is_draft and may_change,
        "can_decide": version.status == VersionStatus.SUBMITTED and may_approve and not submitter,
        "submitter_waiting": version.status == VersionStatus.SUBMITTED and submitter,
        "can_rescreen": version.status in (VersionStatus.DRAFT, VersionStatus.RETURNED)
        and selectors.may_screen(user, version.whitelist),
        "approve_form": forms.get("approve") or DecisionForm(prefix="approve"),
        "return_form": forms.get("return") or DecisionForm(prefix="return", note_required=True),
        "override_form": forms.get("override"),
        "override_entry": forms.get("override_entry"),
        "whitelist_visible": Whitelist.objects.restrict(user).filter(pk=version.whitelist_id).exists(),
    }


def version_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    version = scoped_get(WhitelistVersion, user=request.user, pk=pk)
    return render(request, "screening/whitelists/version_detail.html", _version_context(request, version))


@require_POST
def version_submit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    version = scoped_get(WhitelistVersion, user=user, pk=pk, action=Action.CHANGE)
    try:
        with transaction.atomic():
            services.version_submit(version=version, acting_user=user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("已报送省级知识产权管理部门审核。"))
    return redirect("screening:version_detail", version.pk)


def _decide(request: AuthenticatedRequest, pk: int, name: str) -> HttpResponse:
    user = request.user
    version = scoped_get(WhitelistVersion, user=user, pk=pk, action=Action.APPROVE)
    form = DecisionForm(request.POST, prefix=name, note_required=name == "return")
    if form.is_valid():
        note = form.cleaned_data.get("note") or ""
        try:
            with transaction.atomic():
                if name == "approve":
                    services.version_approve(version=version, note=note, acting_user=user)
                else:
                    services.version_return(version=version, note=note, acting_user=user)
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            if name == "approve":
                messages.success(request, _("已批准：该版本成为现行白名单，企业申请已答复。"))
            else:
                messages.success(request, _("已退回园区，园区可重新筛选后再次报送。"))
            return redirect("screening:version_detail", version.pk)
    version = scoped_get(WhitelistVersion, user=user, pk=pk)
    context = _version_context(request, version, {name: form})
    return render(request, "screening/whitelists/version_detail.html", context)


@require_POST
def version_approve(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "approve")


@require_POST
def version_return(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    return _decide(request, pk, "return")


@require_POST
def entry_override(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    entry = scoped_get(WhitelistEntry, user=user, pk=pk, action=Action.CHANGE)
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            with transaction.atomic():
                entry = services.entry_override(
                    entry=entry,
                    include=form.cleaned_data["include"],
                    note=form.cleaned_data["note"],
                    acting_user=user,
                )
        except ValidationError as exc:
            _flash(request, exc)
        else:
            text = _("已纳入 %(name)s。") if entry.included else _("已调出 %(name)s。")
            messages.success(request, text % {"name": entry.enterprise.name})
    else:
        for message in form.errors.get("note", []):
            messages.error(request, str(message))
    return redirect(reverse("screening:version_detail", args=[entry.version_id]) + f"#entry-{entry.pk}")


# ---------------------------------------------------------------------------
# Applications (自主申报) and an enterprise's own status
# ---------------------------------------------------------------------------


def application_list(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    form = ApplicationFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    table = _paged(request, ApplicationTable(selectors.application_list(user=user, filters=filters)))
    return render(
        request,
        "screening/whitelists/application_list.html",
        {
            "table": table,
            "filter": {"form": form},
            "can_apply": can(user, WhitelistApplication, Action.ADD),
        },
    )


def application_create(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, WhitelistApplication, Action.ADD):
        raise Http404
    enterprise = getattr(user.organisation, "enterprise", None) if user.organisation is not None else None
    parks = selectors.applicable_parks(user=user)
    form = ApplicationForm(request.POST or None, parks=parks)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            if enterprise is None:
                raise ValidationError({"park": _("您的机构未关联企业，不能申请。")})
            with transaction.atomic():
                services.application_submit(
                    enterprise=enterprise,
                    park=data["park"],
                    period=data["period"],
                    statement=data.get("statement") or "",
                    acting_user=user,
                )
        except ValidationError as exc:
            attach_errors(form, exc)
        else:
            messages.success(request, _("申请已提交，园区下次筛选时将一并考虑。"))
            return redirect("screening:application_list")
    return render(request, "screening/whitelists/application_form.html", {"form": form, "enterprise": enterprise})


@require_POST
def application_withdraw(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    application = scoped_get(WhitelistApplication, user=user, pk=pk, action=Action.CHANGE)
    try:
        with transaction.atomic():
            services.application_withdraw(application=application, acting_user=user)
    except ValidationError as exc:
        _flash(request, exc)
    else:
        messages.success(request, _("申请已撤回。"))
    return redirect("screening:application_list")


def my_status(request: AuthenticatedRequest) -> HttpResponse:
    """The enterprise sees, per park and period, whether it is in the approved whitelist and why."""
    user = request.user
    scope = scope_for(user)
    if scope is None or scope.kind != OrganisationKind.ENTERPRISE:
        raise Http404
    rows = selectors.my_status(user=user)
    for row in rows:
        row.points = selectors.point_rows(row.entry) if row.entry is not None else []  # type: ignore[attr-defined]
    return render(
        request,
        "screening/whitelists/my_status.html",
        {
            "rows": rows,
            "entries": selectors.my_entries(user=user),
            "pending": [r for r in rows if r.state == "pending"],
            "can_apply": can(user, WhitelistApplication, Action.ADD),
            "pending_status": ApplicationStatus.PENDING,
        },
    )


urlpatterns = [
    path("criteria/", criteria_list, name="criteria_list"),
    path("criteria/new/", criteria_create, name="criteria_create"),
    path("criteria/<int:pk>/", criteria_detail, name="criteria_detail"),
    path("criteria/<int:pk>/edit/", criteria_edit, name="criteria_edit"),
    path("criteria/<int:pk>/publish/", criteria_publish, name="criteria_publish"),
    path("whitelists/", whitelist_list, name="whitelist_list"),
    path("whitelists/screen/", screen_park, name="screen_park"),
    path("whitelists/<int:pk>/", whitelist_detail, name="whitelist_detail"),
    path("whitelists/<int:pk>/screen/", whitelist_screen, name="whitelist_screen"),
    path("versions/<int:pk>/", version_detail, name="version_detail"),
    path("versions/<int:pk>/submit/", version_submit, name="version_submit"),
    path("versions/<int:pk>/approve/", version_approve, name="version_approve"),
    path("versions/<int:pk>/return/", version_return, name="version_return"),
    path("entries/<int:pk>/override/", entry_override, name="entry_override"),
    path("applications/", application_list, name="application_list"),
    path("applications/new/", application_create, name="application_create"),
    path("applications/<int:pk>/withdraw/", application_withdraw, name="application_withdraw"),
    path("my/", my_status, name="my_status"),
]
