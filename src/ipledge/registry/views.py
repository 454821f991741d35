"""Registry pages: parks, enterprises and IP rights (list, detail, create, edit) and the bulk import.

Reads come from the registry selectors (which start from `restrict()`), single objects from `scoped_get` (404
outside the scope), writes from the registry services. A create page the user's scope cannot add to answers 404;
after a write the object must still be within the user's scope, or the transaction is rolled back.
"""

from __future__ import annotations

import base64
import importlib
import logging
import secrets
from collections.abc import Callable, Iterable
from decimal import Decimal
from types import ModuleType
from typing import Any, TypeVar

from django import forms
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models, transaction
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import pgettext_lazy
from django.views.decorators.http import require_GET
from django_tables2 import RequestConfig

from ipledge.core import privacy
from ipledge.core.choices import OrganisationKind
from ipledge.core.context_processors import can
from ipledge.core.forms import attach_errors
from ipledge.core.money import Money
from ipledge.core.scoping import Action, scope_for
from ipledge.core.selectors import object_history, scoped_get
from ipledge.core.tables import change_rows, is_creation
from ipledge.core.views import AuthenticatedRequest

from .filtersets import EnterpriseFilterSet, IPRightFilterSet, ParkFilterSet
from .forms import EnterpriseForm, ImportForm, IPRightForm, LicenceContractForm, ParkForm, ip_kind, region_full_name
from .licensing import licence_list, licence_record
from .models import Enterprise, IPRight, LicenceContract, Park
from .rules import INDUSTRY_SECTIONS, size_class
from .selectors import enterprise_list, ip_right_list, membership_list, park_list
from .services import (
    enterprise_create,
    enterprise_update,
    ip_right_create,
    ip_right_update,
    park_create,
    park_update,
)
from .tables import EnterpriseTable, IPRightTable, ParkTable, format_share

logger = logging.getLogger(__name__)

PER_PAGE = 25
HISTORY_LIMIT = 50
IMPORT_ERRORS_SHOWN = 100
IMPORT_SESSION_KEY = "registry_import_errors"
IMPORT_WORKBOOK_MAX_BYTES = 5 * 1024 * 1024
IMPORT_KINDS = {"enterprises": pgettext_lazy("nav", "企业"), "ip_rights": pgettext_lazy("nav", "知识产权")}

M = TypeVar("M", bound=models.Model)


class OutOfScopeError(Exception):
    """The object just written is outside the acting user's scope: roll the write back (NetBox's re-check)."""


def save_with_service(
    form: forms.BaseForm,
    user: Any,
    model: type[M],
    write: Callable[[], M],
    must_reach: Iterable[str] = (Action.VIEW,),
    field_map: dict[str, str] | None = None,
) -> M | None:
    """Run a service write in a transaction, re-check the result is within the user's scope, map errors to fields.

    Returns the object, or None with the errors attached to the form (and nothing written).
    """
    try:
        with transaction.atomic():
            obj = write()
            for action in must_reach:
                if not model.objects.restrict(user, action).filter(pk=obj.pk).exists():  # type: ignore[attr-defined]
                    raise OutOfScopeError
    except ValidationError as exc:
        attach_errors(form, exc, field_map)
        return None
    except OutOfScopeError:
        form.add_error(None, _("保存后的记录将不在您的权限范围内，本次操作已撤销。"))
        return None
    return obj


def history_context(user: Any, instance: models.Model) -> dict[str, Any]:
    events = list(object_history(user=user, instance=instance)[: HISTORY_LIMIT + 1])
    cache: dict[Any, str] = {}
    return {
        "history": [
            {"event": event, "rows": change_rows(event, cache), "created": is_creation(event)}
            for event in events[:HISTORY_LIMIT]
        ],
        "history_truncated": len(events) > HISTORY_LIMIT,
    }


def may_reach(model: type[models.Model], user: Any, pk: Any, action: str) -> bool:
    return model.objects.restrict(user, action).filter(pk=pk).exists()  # type: ignore[attr-defined]


def _list_page(request: AuthenticatedRequest, template: str, table: Any, filterset: Any, **extra: Any) -> HttpResponse:
    RequestConfig(request, paginate={"per_page": PER_PAGE}).configure(table)
    return render(request, template, {"table": table, "filter": filterset, **extra})


# Parks


def park_list_view(request: AuthenticatedRequest) -> HttpResponse:
    queryset = park_list(user=request.user)
    filterset = ParkFilterSet(request.GET or None, queryset=queryset)
    return _list_page(
        request,
        "registry/park_list.html",
        ParkTable(filterset.qs),
        filterset,
        can_add=can(request.user, Park, Action.ADD),
    )


def park_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    park = scoped_get(Park, user=user, pk=pk)
    current = park.memberships.filter(left_on__isnull=True).values("enterprise_id")
    enterprises = enterprise_list(user=user).filter(pk__in=current)
    return render(
        request,
        "registry/park_detail.html",
        {
            "park": park,
            "region_name": region_full_name(park.region),
            "can_see_enterprises": can(user, Enterprise),
            "enterprise_count": enterprises.count(),
            "enterprises": list(enterprises.order_by("name")[:20]),
            "can_change": may_reach(Park, user, park.pk, Action.CHANGE),
            "can_add_enterprise": can(user, Enterprise, Action.ADD) and may_reach(Park, user, park.pk, Action.CHANGE),
            **history_context(user, park),
        },
    )


def park_create_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, Park, Action.ADD):
        raise Http404
    form = ParkForm(request.POST or None, user=user)
    if request.method == "POST" and form.is_valid():
        park = save_with_service(
            form,
            user,
            Park,
            lambda: park_create(acting_user=user, **form.service_data()),
            must_reach=(Action.VIEW, Action.CHANGE),
        )
        if park is not None:
            messages.success(request, _("园区“%(name)s”已登记。") % {"name": park.name})
            return redirect("registry:park_detail", park.pk)
    return render(request, "registry/park_form.html", {"form": form})


def park_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    park = scoped_get(Park, user=user, pk=pk, action=Action.CHANGE)
    form = ParkForm(request.POST or None, instance=park, user=user)
    if request.method == "POST" and form.is_valid():
        target = Park.objects.get(pk=park.pk)
        saved = save_with_service(
            form,
            user,
            Park,
            lambda: park_update(park=target, data=form.service_data(), acting_user=user),
            must_reach=(Action.VIEW, Action.CHANGE),
        )
        if saved is not None:
            messages.success(request, _("园区信息已保存。"))
            return redirect("registry:park_detail", park.pk)
    return render(request, "registry/park_form.html", {"form": form, "object": park})


# Enterprises


def size_class_reason(enterprise: Enterprise) -> str:
    """Why the enterprise has its size class (the rule's own explanation, recomputed from the stored figures)."""

    def wan(value: Money | None) -> Decimal | None:
        return value.amount / 10000 if isinstance(value, Money) else None

    try:
        result = size_class(
            industry_section=enterprise.industry_section,
            industry_division=enterprise.industry_division or None,
            employees=enterprise.employees,
            revenue_wan=wan(enterprise.revenue),
            assets_wan=wan(enterprise.total_assets),
        )
    except ValueError as exc:
        return str(exc)
    return result.reason


def enterprise_list_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, Enterprise):
        raise Http404
    queryset = enterprise_list(user=user)
    filterset = EnterpriseFilterSet(request.GET or None, queryset=queryset, parks=park_list(user=user))
    return _list_page(
        request,
        "registry/enterprise_list.html",
        EnterpriseTable(filterset.qs),
        filterset,
        can_add=can(user, Enterprise, Action.ADD),
    )


def enterprise_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    enterprise = scoped_get(Enterprise, user=user, pk=pk)
    rights = ip_right_list(user=user).filter(owners__enterprise=enterprise).order_by("kind", "number")
    can_change = may_reach(Enterprise, user, enterprise.pk, Action.CHANGE)
    return render(
        request,
        "registry/enterprise_detail.html",
        {
            "enterprise": enterprise,
            "personal": privacy.personal_data(user, enterprise),
            "region_name": region_full_name(enterprise.registration_region),
            "industry_section_name": INDUSTRY_SECTIONS.get(enterprise.industry_section, ""),
            "size_reason": size_class_reason(enterprise),
            "memberships": list(membership_list(user=user).filter(enterprise=enterprise)),
            "right_count": rights.count(),
            "rights": list(rights[:50]),
            "can_change": can_change,
            "can_add_right": can_change and can(user, IPRight, Action.ADD),
            **history_context(user, enterprise),
        },
    )


def enterprise_create_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, Enterprise, Action.ADD):
        raise Http404
    initial = {}
    if request.GET.get("park"):
        initial["park"] = Park.objects.restrict(user, Action.CHANGE).filter(pk=request.GET["park"]).first()
    form = EnterpriseForm(request.POST or None, user=user, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        enterprise = save_with_service(
            form,
            user,
            Enterprise,
            lambda: enterprise_create(
                uscc=data["uscc"],
                park=data.get("park"),
                joined_on=data.get("joined_on"),
                acting_user=user,
                **form.service_data(),
            ),
        )
        if enterprise is not None:
            messages.success(request, _("企业“%(name)s”已登记。") % {"name": enterprise.name})
            return redirect("registry:enterprise_detail", enterprise.pk)
    return render(request, "registry/enterprise_form.html", {"form": form})


def enterprise_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    enterprise = scoped_get(Enterprise, user=user, pk=pk, action=Action.CHANGE)
    form = EnterpriseForm(request.POST or None, instance=enterprise, user=user)
    if request.method == "POST" and form.is_valid():
        target = Enterprise.objects.get(pk=enterprise.pk)
        saved = save_with_service(
            form,
            user,
            Enterprise,
            lambda: enterprise_update(enterprise=target, data=form.service_data(), acting_user=user),
        )
        if saved is not None:
            messages.success(request, _("企业信息已保存。"))
            return redirect("registry:enterprise_detail", enterprise.pk)
    return render(request, "registry/enterprise_form.html", {"form": form, "object": enterprise})


# IP rights


def ipright_list_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, IPRight):
        raise Http404
    filterset = IPRightFilterSet(request.GET or None, queryset=ip_right_list(user=user))
    return _list_page(
        request,
        "registry/ipright_list.html",
        IPRightTable(filterset.qs),
        filterset,
        can_add=can(user, IPRight, Action.ADD),
    )


def ipright_detail(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    right = scoped_get(IPRight, user=user, pk=pk)
    owners = list(right.owners.select_related("enterprise"))
    enterprise_ids = [o.enterprise_id for o in owners if o.enterprise_id]
    visible = set(enterprise_list(user=user).filter(pk__in=enterprise_ids).values_list("pk", flat=True))
    return render(
        request,
        "registry/ipright_detail.html",
        {
            "right": right,
            "owners": [
                {"owner": o, "share": format_share(o.share), "linked": o.enterprise_id in visible} for o in owners
            ],
            "share_total": format_share(sum((o.share for o in owners), Decimal(0))),
            "can_change": may_reach(IPRight, user, right.pk, Action.CHANGE),
            "licences": list(licence_list(user=user, right=right)),
            "is_pledged": right.pledges.filter(is_active=True).exists(),  # type: ignore[attr-defined]
            **history_context(user, right),
        },
    )


def _ipright_form_context(form: IPRightForm, **extra: Any) -> dict[str, Any]:
    return {"form": form, "kind": form.kind, **extra}


def ipright_create_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    if not can(user, IPRight, Action.ADD):
        raise Http404
    kind = ip_kind(request.POST.get("kind") if request.method == "POST" else request.GET.get("kind"))
    owners = Enterprise.objects.restrict(user, Action.CHANGE)
    initial: dict[str, Any] = {"kind": kind}
    if request.GET.get("enterprise", "").isdigit():
        chosen = owners.filter(pk=request.GET["enterprise"]).first()
        if chosen is not None:
            initial["owner_enterprise"] = chosen.uscc
    form = IPRightForm(request.POST or None, user=user, kind=kind, owners=owners, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.service_data()
        number, title = data.pop("number"), data.pop("title")
        right = save_with_service(
            form,
            user,
            IPRight,
            lambda: ip_right_create(
                kind=form.kind, number=number, title=title, owners=form.owners(), acting_user=user, **data
            ),
            field_map={"owners": "owner_share", "share": "owner_share", "holder_name": "co_owner_name"},
        )
        if right is not None:
            messages.success(request, _("知识产权“%(number)s”已登记。") % {"number": right.number})
            return redirect("registry:ipright_detail", right.pk)
    return render(request, "registry/ipright_form.html", _ipright_form_context(form))


@require_GET
def ipright_kind_fields(request: AuthenticatedRequest) -> HttpResponse:
    """The kind-specific part of the create form (swapped in by htmx when the kind selector changes)."""
    if not can(request.user, IPRight, Action.ADD):
        raise Http404
    form = IPRightForm(user=request.user, kind=ip_kind(request.GET.get("kind")), owners=Enterprise.objects.none())
    return render(request, "registry/partials/ipright_kind_fields.html", _ipright_form_context(form))


def ipright_edit(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    user = request.user
    right = scoped_get(IPRight, user=user, pk=pk, action=Action.CHANGE)
    form = IPRightForm(request.POST or None, instance=right, user=user, kind=right.kind)
    if request.method == "POST" and form.is_valid():
        target = IPRight.objects.get(pk=right.pk)
        saved = save_with_service(
            form, user, IPRight, lambda: ip_right_update(right=target, data=form.service_data(), acting_user=user)
        )
        if saved is not None:
            messages.success(request, _("知识产权信息已保存。"))
            return redirect("registry:ipright_detail", right.pk)
    return render(request, "registry/ipright_form.html", _ipright_form_context(form, object=right))


# Licence contracts


def licence_create_view(request: AuthenticatedRequest, pk: int) -> HttpResponse:
    """Record a licence contract (许可合同备案) of a right the user may change."""
    user = request.user
    right = scoped_get(IPRight, user=user, pk=pk, action=Action.CHANGE)
    form = LicenceContractForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        target = IPRight.objects.get(pk=right.pk)
        licence = save_with_service(
            form,
            user,
            LicenceContract,
            lambda: licence_record(right=target, acting_user=user, **form.service_data()),
            field_map={"right": "pledgee_consent"},
        )
        if licence is not None:
            messages.success(request, _("许可合同“%(record_no)s”已备案。") % {"record_no": licence.record_no})
            return redirect("registry:ipright_detail", right.pk)
    return render(
        request,
        "registry/licence_form.html",
        {"form": form, "right": right, "is_pledged": right.pledges.filter(is_active=True).exists()},  # type: ignore[attr-defined]
    )


# Bulk import


def _import_kinds(user: Any) -> list[tuple[str, Any]]:
    kinds = []
    if can(user, Enterprise, Action.ADD):
        kinds.append(("enterprises", IMPORT_KINDS["enterprises"]))
    if can(user, IPRight, Action.ADD):
        kinds.append(("ip_rights", IMPORT_KINDS["ip_rights"]))
    return kinds


def _importing() -> ModuleType | None:
    """The import engine (`ipledge.registry.importing`), looked up at call time; None while it is missing."""
    try:
        return importlib.import_module("ipledge.registry.importing")
    except ImportError:
        logger.exception("ipledge.registry.importing is not available")
        return None


XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


def _xlsx_response(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    response["Cache-Control"] = "no-store"
    return response


def import_view(request: AuthenticatedRequest) -> HttpResponse:
    user = request.user
    kinds = _import_kinds(user)
    if not kinds:
        raise Http404
    scope = scope_for(user)
    park_required = scope is not None and scope.kind == OrganisationKind.PARK_ADMIN
    parks = Park.objects.restrict(user, Action.CHANGE).order_by("name")
    form = ImportForm(request.POST or None, request.FILES or None, kinds=kinds, parks=parks)
    context: dict[str, Any] = {"form": form, "kinds": kinds, "park_required": park_required}
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        importing = _importing()
        if data["kind"] == "enterprises" and park_required and data.get("park") is None:
            form.add_error("park", _("园区管委会导入企业时须选择入驻园区。"))
        elif importing is None:
            form.add_error(None, _("批量导入功能暂不可用，请稍后再试或联系平台管理员。"))
        else:
            upload = data["file"]
            try:
                result = importing.import_registry_file(
                    kind=data["kind"],
                    filename=upload.name,
                    content=upload.read(),
                    acting_user=user,
                    park=data.get("park"),
                )
            except PermissionDenied as exc:
                form.add_error(None, str(exc) or _("无权执行此导入。"))
                return render(request, "registry/import.html", context)
            context["result"] = result
            context["kind_label"] = IMPORT_KINDS.get(data["kind"], data["kind"])
            if not result.ok:
                context["errors"] = list(result.errors[:IMPORT_ERRORS_SHOWN])
                context["error_count"] = len(result.errors)
                workbook = importing.errors_workbook(result)
                if len(workbook) <= IMPORT_WORKBOOK_MAX_BYTES:
                    token = secrets.token_urlsafe(16)
                    # One error workbook per session: a new import replaces the last one.
                    request.session[IMPORT_SESSION_KEY] = {
                        "token": token,
                        "kind": data["kind"],
                        "data": base64.b64encode(workbook).decode("ascii"),
                    }
                    context["error_token"] = token
    return render(request, "registry/import.html", context)


@require_GET
def import_template(request: AuthenticatedRequest, kind: str) -> HttpResponse:
    if kind not in dict(_import_kinds(request.user)):
        raise Http404
    importing = _importing()
    if importing is None:
        raise Http404
    return _xlsx_response(importing.template_workbook(kind), f"ipledge-{kind}-template.xlsx")


@require_GET
def import_errors(request: AuthenticatedRequest, token: str) -> HttpResponse:
    stored = request.session.get(IMPORT_SESSION_KEY)
    if not stored or not secrets.compare_digest(str(stored.get("token", "")), token):
        raise Http404
    return _xlsx_response(base64.b64decode(stored["data"]), f"ipledge-{stored['kind']}-errors.xlsx")
