"""Core pages: the landing dashboard per organisation kind, the audit log, API keys and users.

Views are thin: reads come from selectors that start from `restrict()`, writes go through services, and a page
the user's scope cannot reach answers 404 exactly like a missing one.
"""

from __future__ import annotations

import datetime
import secrets
from collections.abc import Iterable
from typing import Any

from django.contrib import messages
from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import ValidationError
from django.db import models, transaction
from django.db.models import Count, F, Q
from django.db.models.functions import Substr
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, pgettext
from django.views.decorators.http import require_POST
from django.views.i18n import set_language
from django_tables2 import RequestConfig

from ipledge.registry.choices import IPKind, LegalStatus, ParkLevel, SizeClass
from ipledge.registry.models import Enterprise, IPRight
from ipledge.registry.selectors import enterprise_list, ip_right_list, park_list

from .choices import OrganisationKind
from .context_processors import can, is_admin
from .forms import ApiCallFilterForm, ApiKeyForm, AuditFilterForm, UserCreateForm, attach_errors
from .models import ApiCall, ApiKey, AuditEvent, Organisation, User
from .scoping import Action, Scope, scope_for
from .selectors import api_call_list, api_key_list, audit_event_list, organisation_list, scoped_get, user_list
from .services import api_key_create, api_key_revoke, user_create
from .tables import ApiCallTable, ApiKeyTable, AuditTable, UserTable


class AuthenticatedRequest(HttpRequest):
    """A request that passed LoginRequiredMiddleware: `user` is one of our users."""

    user: User


PER_PAGE = 25
EXPIRY_WINDOW_DAYS = 365
ENDED_STATUSES = (
    LegalStatus.LAPSED,
    LegalStatus.EXPIRED,
    LegalStatus.INVALIDATED,
    LegalStatus.ABANDONED,
    LegalStatus.REVOKED,
)

# Modules each kind of organisation will use once the later domains land (shown as a plain note, no data).
COMING_MODULES: dict[str, list[Any]] = {
    OrganisationKind.BANK: [
        gettext_lazy("金融产品发布"),
        gettext_lazy("融资需求对接与撮合"),
        gettext_lazy("授信白名单"),
        gettext_lazy("质押登记"),
        gettext_lazy("贷款登记、还款与风险分类"),
        gettext_lazy("风险补偿申请"),
    ],
    OrganisationKind.INSURER: [gettext_lazy("保险产品"), gettext_lazy("风险分担与理赔")],
    OrganisationKind.GUARANTOR: [gettext_lazy("担保业务"), gettext_lazy("风险分担与代偿")],
    OrganisationKind.VALUER: [gettext_lazy("知识产权价值评估"), gettext_lazy("评估报告管理")],
    OrganisationKind.FUND_MANAGER: [gettext_lazy("风险补偿资金池"), gettext_lazy("补偿申请审核与清算")],
    OrganisationKind.DISPOSAL_PLATFORM: [gettext_lazy("质物处置：拍卖、收储与运营"), gettext_lazy("处置收益分配")],
    OrganisationKind.PATENT_AGENCY: [gettext_lazy("专利服务"), gettext_lazy("质押登记代办")],
}


# Dashboard


def _counts(
    qs: models.QuerySet[Any], field: str, choices: Iterable[tuple[str, Any]], blank_label: Any = None
) -> list[dict[str, Any]]:
    """Counts per choice (zeros included) of an already-restricted queryset."""
    found = dict(qs.order_by().values_list(field).annotate(n=Count("pk")))
    rows = [{"value": value, "label": str(label), "count": found.get(value, 0)} for value, label in choices]
    if blank_label is not None and found.get(""):
        rows.append({"value": "", "label": str(blank_label), "count": found[""]})
    return rows


def _bar(rows: list[dict[str, Any]], name: Any) -> dict[str, Any]:
    return {"name": str(name), "labels": [r["label"] for r in rows], "values": [r["count"] for r in rows]}


def _government_dashboard(user: Any, scope: Scope) -> dict[str, Any]:
    parks = park_list(user=user)
    if not scope.is_platform:
        region_q = scope.region_q("region__code")
        parks = parks.filter(region_q) if region_q is not None else parks.none()
    enterprises = enterprise_list(user=user)
    rights = ip_right_list(user=user)
    rights_by_kind = _counts(rights, "kind", IPKind.choices)
    national = scope.is_platform or scope.region_prefix == ""
    organisation = user.organisation
    region_name = organisation.region.full_name if organisation and organisation.region_id else ""
    context: dict[str, Any] = {
        "template": "core/dashboard_government.html",
        "jurisdiction": _("全国") if national else region_name,
        "park_count": parks.count(),
        "parks_by_level": _counts(parks, "level", ParkLevel.choices),
        "key_park_count": parks.filter(is_key_park=True).count(),
        "can_see_enterprises": can(user, Enterprise),
        "can_see_rights": can(user, IPRight),
        "enterprise_count": enterprises.count(),
        "high_tech_count": enterprises.filter(is_high_tech=True).count(),
        "specialised_count": enterprises.filter(is_specialised=True).count(),
        "right_count": sum(r["count"] for r in rights_by_kind),
        "valid_right_count": rights.filter(legal_status=LegalStatus.VALID).count(),
        "rights_by_kind": rights_by_kind,
        "national": national,
    }
    chart: dict[str, Any] = {"rights_by_kind": _bar(rights_by_kind, pgettext("nav", "知识产权"))}
    if national:
        per_province = (
            enterprises.exclude(region_code="")
            .order_by()
            .annotate(province=Substr("region_code", 1, 2))
            .values_list("province")
            .annotate(n=Count("pk"))
        )
        chart["provinces"] = {"name": _("企业数"), "data": [{"code": f"{p}0000", "value": n} for p, n in per_province]}
    context["chart"] = chart
    return context


def _park_dashboard(user: Any, scope: Scope) -> dict[str, Any]:
    today = timezone.localdate()
    my_parks = (
        park_list(user=user)
        .filter(administering_org__tree_path__startswith=scope.org_tree_path)
        .annotate(current_members=Count("memberships", filter=Q(memberships__left_on__isnull=True)))
    )
    enterprises = enterprise_list(user=user)
    rights = ip_right_list(user=user)
    sizes = _counts(enterprises, "size_class", SizeClass.choices, blank_label=_("未划型"))
    rights_by_kind = _counts(rights, "kind", IPKind.choices)
    expiring = rights.filter(
        legal_status=LegalStatus.VALID,
        term_end__gte=today,
        term_end__lte=today + datetime.timedelta(days=EXPIRY_WINDOW_DAYS),
    ).order_by("term_end")
    return {
        "template": "core/dashboard_park.html",
        "parks": list(my_parks),
        "enterprise_count": enterprises.count(),
        "high_tech_count": enterprises.filter(is_high_tech=True).count(),
        "specialised_count": enterprises.filter(is_specialised=True).count(),
        "sizes": sizes,
        "rights_by_kind": rights_by_kind,
        "right_count": sum(r["count"] for r in rights_by_kind),
        "expiring_count": expiring.count(),
        "expiring": list(expiring[:20]),
        "chart": {
            "rights_by_kind": _bar(rights_by_kind, pgettext("nav", "知识产权")),
            "sizes": _bar(sizes, _("企业数")),
        },
    }


def _enterprise_dashboard(user: Any, scope: Scope) -> dict[str, Any]:
    today = timezone.localdate()
    horizon = today + datetime.timedelta(days=EXPIRY_WINDOW_DAYS)
    profile = (
        enterprise_list(user=user).filter(organisation_id=scope.organisation_id).first()
        if scope.organisation_id is not None
        else None
    )
    rights = list(ip_right_list(user=user).order_by(F("term_end").asc(nulls_last=True), "number")[:200])
    warnings = []
    for right in rights:
        if right.legal_status in ENDED_STATUSES:
            warnings.append(
                {
                    "level": "danger",
                    "right": right,
                    "text": _("法律状态为“%(status)s”，权利已终止。") % {"status": right.get_legal_status_display()},
                }
            )
        elif right.legal_status == LegalStatus.VALID and right.term_end and right.term_end < today:
            warnings.append(
                {
                    "level": "danger",
                    "right": right,
                    "text": _("有效期已于 %(date)s 届满。") % {"date": right.term_end.isoformat()},
                }
            )
        elif right.legal_status == LegalStatus.VALID and right.term_end and right.term_end <= horizon:
            warnings.append(
                {
                    "level": "warning",
                    "right": right,
                    "text": _("有效期将于 %(date)s 届满（%(days)s 天后）。")
                    % {"date": right.term_end.isoformat(), "days": (right.term_end - today).days},
                }
            )
        if (
            right.kind == IPKind.PATENT
            and right.legal_status == LegalStatus.VALID
            and right.annual_fee_paid_until
            and right.annual_fee_paid_until < today
        ):
            warnings.append(
                {
                    "level": "warning",
                    "right": right,
                    "text": _("年费仅缴至 %(date)s，请及时缴纳以免权利终止。")
                    % {"date": right.annual_fee_paid_until.isoformat()},
                }
            )
    size_reason = ""
    if profile is not None:
        from ipledge.registry.views import size_class_reason

        size_reason = size_class_reason(profile)
    return {
        "template": "core/dashboard_enterprise.html",
        "profile": profile,
        "size_reason": size_reason,
        "memberships": list(profile.memberships.select_related("park")) if profile else [],
        "rights": rights,
        "warnings": warnings,
    }


def _organisation_dashboard(user: Any, scope: Scope) -> dict[str, Any]:
    tree = list(organisation_list(user=user).filter(tree_path__startswith=scope.org_tree_path))
    base_depth = scope.org_tree_path.count("/")
    for org in tree:
        org.depth = org.tree_path.count("/") - base_depth  # type: ignore[attr-defined]
    return {
        "template": "core/dashboard_organisation.html",
        "tree": tree,
        "users": list(user_list(user=user).filter(organisation__tree_path__startswith=scope.org_tree_path)[:100]),
        "sees_all_users": is_admin(user),
        "coming_modules": COMING_MODULES.get(scope.kind or "", []),
    }


@login_not_required
def dashboard(request: AuthenticatedRequest) -> HttpResponse:
    if not request.user.is_authenticated:
        return redirect("portal:home")  # an anonymous visitor at "/" lands on the public portal
    user = request.user
    scope = scope_for(user)
    if scope is None:
        raise Http404
    if scope.is_platform or scope.is_government:
        context = _government_dashboard(user, scope)
    elif scope.kind == OrganisationKind.PARK_ADMIN:
        context = _park_dashboard(user, scope)
    elif scope.kind == OrganisationKind.ENTERPRISE:
        context = _enterprise_dashboard(user, scope)
    else:
        context = _organisation_dashboard(user, scope)
    return render(request, context["template"], context)


# Audit log


def audit_log(request: AuthenticatedRequest) -> HttpResponse:
    if not can(request.user, AuditEvent):
        raise Http404
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    table = AuditTable(audit_event_list(user=request.user, filters=filters))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "core/audit_log.html", {"form": form, "table": table})


# API keys


def api_keys(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, ApiKey):
        raise Http404
    organisation = user.organisation
    form = ApiKeyForm(request.POST or None) if organisation is not None else None
    if request.method == "POST":
        if form is None or organisation is None:
            raise Http404
        if form.is_valid():
            try:
                key, secret = api_key_create(
                    organisation=organisation,
                    name=form.cleaned_data["name"],
                    role=form.cleaned_data["role"],
                    actions=form.cleaned_data["actions"],
                    rate_limit_per_minute=form.cleaned_data["rate_limit_per_minute"],
                    expires_at=form.expires_at(),
                    acting_user=user,
                )
            except ValidationError as exc:
                attach_errors(form, exc, {"expires_at": "expires_on"})
            else:
                response = render(request, "core/api_key_created.html", {"key": key, "secret": secret})
                response["Cache-Control"] = "no-store"
                return response
    table = ApiKeyTable(api_key_list(user=user))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "core/api_keys.html", {"form": form, "table": table})


@require_POST
def api_key_revoke_view(request: AuthenticatedRequest, pk: str) -> HttpResponse:
    key = scoped_get(ApiKey, user=request.user, pk=pk, action=Action.CHANGE)
    if key.revoked_at is None:
        api_key_revoke(key=key, acting_user=request.user)
        messages.success(request, _("API 密钥“%(name)s”已吊销。") % {"name": key.name})
    return redirect("api_keys")


def api_calls(request: AuthenticatedRequest) -> HttpResponse:
    """The organisation's API call log (its keys' calls and its people's), for its administrators."""
    user = request.user
    if not can(user, ApiCall):
        raise Http404
    form = ApiCallFilterForm(request.GET or None, keys=api_key_list(user=user).order_by("name"))
    table = ApiCallTable(api_call_list(user=user, filters=form.filters()))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "core/api_calls.html", {"form": form, "table": table})


# Users


def users(request: AuthenticatedRequest) -> HttpResponse:
    if not is_admin(request.user):
        raise Http404
    table = UserTable(user_list(user=request.user).order_by("organisation__tree_path", "username"))
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, "core/users.html", {"table": table, "can_add": can(request.user, User, Action.ADD)})


class OutOfScopeError(Exception):
    """A just-created object is not visible to its creator: roll back (NetBox re-checks the same way)."""


def user_create_view(request: AuthenticatedRequest) -> HttpResponse:
    acting = request.user
    if not is_admin(acting) or not can(acting, User, Action.ADD):
        raise Http404
    organisations = Organisation.objects.restrict(acting, Action.CHANGE).order_by("tree_path")
    form = UserCreateForm(request.POST or None, organisations=organisations)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        password = data["password"] or secrets.token_urlsafe(12)
        try:
            with transaction.atomic():
                created = user_create(
                    username=data["username"],
                    organisation=data["organisation"],
                    role=data["role"],
                    password=password,
                    display_name=data["display_name"],
                    email=data["email"],
                    acting_user=acting,
                )  # type: ignore[arg-type]
                if not user_list(user=acting).filter(pk=created.pk).exists():
                    raise OutOfScopeError
        except ValidationError as exc:
            attach_errors(form, exc)
        except OutOfScopeError:
            form.add_error("organisation", _("所选机构不在您的管理范围内。"))
        else:
            response = render(
                request,
                "core/user_created.html",
                {"created": created, "password": password if not data["password"] else None},
            )
            response["Cache-Control"] = "no-store"
            return response
    return render(request, "core/user_form.html", {"form": form})


# Language switch for the login page (Django's set_language needs a login under LoginRequiredMiddleware).
set_language_public = login_not_required(set_language)
